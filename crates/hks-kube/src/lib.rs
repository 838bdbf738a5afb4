//! HKS's Kubernetes adapter: the only crate that talks to Kubernetes.
//!
//! The API server uses it through the [`Gateway`] trait:
//! - writes are server-side applies under one field manager ([`FIELD_MANAGER`]),
//!   so applying the same objects again is harmless and fields a user changed
//!   by hand are taken back (drift correction is a re-apply);
//! - reads (CronJobs, Jobs, pods) come from reflectors, one set per tenant
//!   cluster, watching only the tenant's objects ([`TenantCluster::selector`]:
//!   `app.kubernetes.io/managed-by=hks`, `hks.dev/installation=<id>` and
//!   `hks.dev/tenant=<name>`), keeping only what HKS reads of them (`trim`)
//!   and at most a bound of objects per kind
//!   ([`live::Settings::max_cached_objects`]), not from an apiserver round
//!   trip per request;
//! - logs and Run now go to the apiserver.
//!
//! [`live::KubeGateway`] is the real implementation; [`fake::FakeGateway`] is
//! an in-memory one for the API's tests, where it can also play an
//! unreachable cluster.

mod trim;

pub mod fake;
pub mod history;
pub mod live;

use async_trait::async_trait;
use futures::stream::BoxStream;
use hks_core::labels::{LABEL_INSTALLATION, LABEL_TENANT};
use hks_core::manifest::Start;
use hks_core::run::Run;
use hks_core::spec::RunOverrides;
use hks_core::tenant::ClusterConnection;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::Container;
use k8s_openapi::api::core::v1::{LimitRange, Namespace, Service};

/// The field manager of every server-side apply HKS makes.
pub const FIELD_MANAGER: &str = "hks";

/// The label selector of everything HKS creates.
pub const MANAGED_SELECTOR: &str = "app.kubernetes.io/managed-by=hks";

/// What can go wrong talking to a tenant's cluster.
///
/// A tenant controls what its apiserver answers, so only what is surely the
/// connection (refused, reset, timed out, a TLS handshake, a server error)
/// is `Unreachable`: an answer HKS cannot read is `BadAnswer`, settings or
/// credentials that cannot be used are `Misconfigured`.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// The apiserver did not answer (connection refused, timeout, TLS) or
    /// answered with a server error. Worth retrying later.
    #[error("the tenant's cluster is unreachable")]
    Unreachable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The apiserver answered with something that is not the HTTP or the
    /// JSON it should be: the tenant's cluster, not the network, is at fault.
    #[error("the tenant's cluster sent an answer HKS cannot read")]
    BadAnswer(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The connection settings are unusable (bad kubeconfig, missing vCluster Secret).
    #[error("the tenant's cluster connection is misconfigured: {0}")]
    Misconfigured(String),
    /// The apiserver refused the request (validation, admission, permissions).
    #[error("the cluster refused the request ({code} {reason})")]
    Rejected {
        code: u16,
        reason: String,
        message: String,
    },
    #[error("not found in the cluster")]
    NotFound,
    /// The tenant's cluster has more objects of one kind with HKS's labels
    /// (its own, or made to look so) than HKS's watch caches hold for a
    /// tenant: the watches are stopped and their caches dropped until it
    /// has fewer (tried again later). Reads that need the caches fail.
    #[error(
        "the tenant's cluster has more than {limit} objects of kind {kind} labelled as HKS's; HKS stopped watching it until there are fewer"
    )]
    TooManyObjects { kind: &'static str, limit: usize },
}

impl KubeError {
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Unreachable(_))
    }

    /// The apiserver did not accept HKS's credentials (401).
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, Self::Rejected { code: 401, .. })
    }
}

/// A Job HKS could not build from the CronJob the cluster has: the
/// cluster's object is refused as it is (the same words on every gateway).
impl From<hks_core::manifest::ManualJobError> for KubeError {
    fn from(e: hks_core::manifest::ManualJobError) -> Self {
        Self::Rejected {
            code: 0,
            reason: "Invalid".into(),
            message: e.to_string(),
        }
    }
}

impl From<kube::Error> for KubeError {
    fn from(e: kube::Error) -> Self {
        use kube::Error as E;
        let misconfigured = |why: &str| Self::Misconfigured(why.to_owned());
        match e {
            E::Api(status) if status.code == 404 => Self::NotFound,
            E::Api(status) if status.code >= 500 || status.code == 429 => {
                Self::Unreachable(Box::new(E::Api(status)))
            }
            E::Api(status) => Self::Rejected {
                code: status.code,
                reason: status.reason.clone(),
                message: status.message.clone(),
            },
            // What the apiserver sent cannot be read: its doing.
            E::SerdeError(_) | E::FromUtf8(_) | E::LinesCodecMaxLineLengthExceeded => {
                Self::BadAnswer(Box::new(e))
            }
            E::ReadEvents(ref io) if io.kind() == std::io::ErrorKind::InvalidData => {
                Self::BadAnswer(Box::new(e))
            }
            // The connection, unless hyper could not parse the answer.
            E::HyperError(_) | E::Service(_) if unparsable(&e) => Self::BadAnswer(Box::new(e)),
            E::HyperError(_) | E::Service(_) | E::ReadEvents(_) => Self::Unreachable(Box::new(e)),
            // Settings and credentials (the words are fixed: the source
            // could quote parts of a credential).
            E::InferKubeconfig(_) | E::InferConfig(_) => {
                misconfigured("the kubeconfig has no usable cluster or user")
            }
            E::Auth(_) => misconfigured("the credentials cannot be used"),
            E::RustlsTls(_) | E::TlsRequired => misconfigured("the TLS settings cannot be used"),
            E::ProxyProtocolUnsupported { .. } | E::ProxyProtocolDisabled { .. } => {
                misconfigured("the proxy settings cannot be used")
            }
            // A request HKS could not build (a name that cannot be in a URL, say).
            E::BuildRequest(_) | E::HttpError(_) => Self::Rejected {
                code: 0,
                reason: "Invalid".into(),
                message: "the request cannot be made".into(),
            },
            other => Self::Unreachable(Box::new(other)),
        }
    }
}

/// Whether a Job or pod belongs to HKS CronJob `cronjob` (its
/// `hks.dev/application` label): a run is found only under its own CronJob.
pub(crate) fn of_cronjob(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    cronjob: &str,
) -> bool {
    meta.labels
        .as_ref()
        .and_then(|l| l.get(hks_core::labels::LABEL_APPLICATION))
        .is_some_and(|a| a == cronjob)
}

/// Whether hyper failed to parse the answer (not HTTP, a bad status line
/// or header), somewhere in `e`'s sources.
fn unparsable(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(e) = next {
        if let Some(h) = e.downcast_ref::<hyper::Error>()
            && (h.is_parse() || h.is_parse_status())
        {
            return true;
        }
        next = e.source();
    }
    false
}

/// A tenant's cluster, as the API names it for the gateway.
#[derive(Debug, Clone, Copy)]
pub struct TenantCluster<'a> {
    /// The HKS installation's id: the value of
    /// [`hks_core::labels::LABEL_INSTALLATION`] on everything it creates,
    /// which the watches and listings select.
    pub installation: &'a str,
    pub tenant_id: &'a str,
    /// The tenant's name: the value of [`hks_core::labels::LABEL_TENANT`]
    /// on its objects, which the watches select.
    pub tenant_name: &'a str,
    pub connection: &'a ClusterConnection,
}

impl TenantCluster<'_> {
    /// The label selector of this tenant's objects: HKS's, this
    /// installation's and the tenant's (another tenant's, or another
    /// installation's tenant of the same name, on the same cluster are not).
    pub fn selector(&self) -> String {
        format!(
            "{MANAGED_SELECTOR},{}={},{}={}",
            LABEL_INSTALLATION, self.installation, LABEL_TENANT, self.tenant_name
        )
    }

    /// The label selector of the tenant's objects made before HKS labelled
    /// its installation: HKS's and the tenant's labels, and no
    /// installation's ([`Gateway::adopt`]).
    pub fn unlabelled_selector(&self) -> String {
        format!(
            "{MANAGED_SELECTOR},!{LABEL_INSTALLATION},{LABEL_TENANT}={}",
            self.tenant_name
        )
    }
}

/// An object HKS applies.
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "objects are built, applied and dropped; boxing buys nothing"
)]
pub enum Object {
    Namespace(Namespace),
    LimitRange(LimitRange),
    Deployment(Deployment),
    Service(Service),
    CronJob(CronJob),
}

impl Object {
    pub fn key(&self) -> ObjectKey {
        let (kind, meta) = match self {
            Self::Namespace(o) => (Kind::Namespace, &o.metadata),
            Self::LimitRange(o) => (Kind::LimitRange, &o.metadata),
            Self::Deployment(o) => (Kind::Deployment, &o.metadata),
            Self::Service(o) => (Kind::Service, &o.metadata),
            Self::CronJob(o) => (Kind::CronJob, &o.metadata),
        };
        ObjectKey {
            kind,
            namespace: meta.namespace.clone(),
            name: meta.name.clone().unwrap_or_default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Namespace,
    LimitRange,
    Deployment,
    Service,
    CronJob,
}

/// Names an object to delete.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    pub kind: Kind,
    pub namespace: Option<String>,
    pub name: String,
}

/// An object as the apiserver answered an apply: its generation changes
/// whenever its spec does, by HKS or by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub key: ObjectKey,
    pub generation: Option<i64>,
}

/// What the cluster shows of one CronJob (from the reflector).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedCronJob {
    pub name: String,
    pub uid: Option<String>,
    /// `metadata.generation`: compared with what the last apply returned to
    /// notice edits made by hand.
    pub generation: Option<i64>,
    pub schedule: String,
    pub time_zone: Option<String>,
    pub suspend: bool,
    pub active: usize,
    pub last_schedule_time: Option<jiff::Timestamp>,
    pub last_successful_time: Option<jiff::Timestamp>,
}

/// Everything the cluster shows of one project's namespace: its CronJobs and
/// their runs, newest first.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub cronjobs: std::collections::BTreeMap<String, ObservedCronJob>,
    pub runs: std::collections::BTreeMap<String, Vec<Run>>,
    /// False when the watches are not currently connected: the data may be stale.
    pub fresh: bool,
}

/// What HKS labelled in a tenant's cluster, for the reconciler to compare
/// with the store: objects that HKS created and then could not record (a
/// failed insert, a crash in between) are found here.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Managed {
    /// Namespaces with their creation times.
    pub namespaces: Vec<(String, Option<jiff::Timestamp>)>,
    /// Deployments and Services.
    pub objects: Vec<ObjectKey>,
}

/// Options for reading a run's logs.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    /// Only this attempt (pod); all attempts when `None` (the latest when following).
    pub attempt: Option<String>,
    pub tail_lines: Option<i64>,
    /// At most this many bytes of each attempt.
    pub limit_bytes: Option<i64>,
    pub timestamps: bool,
    /// At most this many bytes of all attempts together, given to the
    /// newest attempts first (see [`read_within_total`]).
    pub total_bytes: Option<usize>,
}

/// The log of one attempt, as text: bytes that are not UTF-8 come out as U+FFFD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptLog {
    pub pod: String,
    pub log: String,
    /// [`LogOptions::total_bytes`], not the attempt's own limit, cut it short.
    pub cut: bool,
}

/// The end of an attempt's log ([`Gateway::attempt_log_tail`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogTail {
    /// At most the `keep_bytes` asked for, the last ones.
    pub bytes: Vec<u8>,
    /// Bytes the kubelet sent for the lines asked: more than `bytes` when
    /// those lines were longer than `keep_bytes`.
    pub sent: u64,
}

/// Keeps the last `keep` bytes of what is pushed, in at most twice that
/// memory, then moves its start to a character boundary.
#[derive(Debug, Default)]
pub struct TailKeeper {
    keep: usize,
    bytes: Vec<u8>,
    sent: u64,
}

impl TailKeeper {
    pub fn new(keep: usize) -> Self {
        Self {
            keep,
            ..Self::default()
        }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        self.sent += chunk.len() as u64;
        self.bytes.extend_from_slice(chunk);
        if self.bytes.len() > self.keep.saturating_mul(2) {
            let drop = self.bytes.len() - self.keep;
            self.bytes.drain(..drop);
        }
    }

    pub fn finish(mut self) -> LogTail {
        if self.bytes.len() > self.keep {
            let from = self.bytes.len() - self.keep;
            let from = hks_core::logtext::ceil_boundary(&self.bytes, from);
            self.bytes.drain(..from);
        }
        LogTail {
            bytes: self.bytes,
            sent: self.sent,
        }
    }
}

/// Reads the logs of `pods` (oldest first) within [`LogOptions::total_bytes`],
/// so that a run with many attempts costs no more than that: the newest
/// attempts are read first, each with its own `limit_bytes` or what is left
/// of the total, whichever is less. An attempt the total cut short is marked
/// [`AttemptLog::cut`]; one left with nothing is not read at all.
/// `read(pod, limit)` gives at most `limit` bytes of a pod's log.
pub async fn read_within_total<F>(
    pods: Vec<String>,
    options: &LogOptions,
    mut read: impl FnMut(String, Option<usize>) -> F,
) -> Result<Vec<AttemptLog>, KubeError>
where
    F: Future<Output = Result<Vec<u8>, KubeError>>,
{
    let own = options.limit_bytes.and_then(|l| usize::try_from(l).ok());
    let mut left = options.total_bytes;
    let mut out = Vec::with_capacity(pods.len());
    for pod in pods.into_iter().rev() {
        let limit = match (own, left) {
            (Some(own), Some(left)) => Some(own.min(left)),
            (own, left) => own.or(left),
        };
        let by_total = left.is_some_and(|left| own.is_none_or(|own| left < own));
        let bytes = if limit == Some(0) {
            Vec::new()
        } else {
            read(pod.clone(), limit).await?
        };
        let cut = by_total && limit.is_some_and(|l| bytes.len() >= l);
        if let Some(left) = &mut left {
            *left = left.saturating_sub(bytes.len());
        }
        let log = hks_core::logtext::lossy_head(&bytes, limit);
        out.push(AttemptLog { pod, log, cut });
    }
    out.reverse();
    Ok(out)
}

/// A Job or pod of a run, as the run history sees it: whether it carries
/// HKS's finalizer, and whether Kubernetes wants it gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunObjectState {
    pub name: String,
    /// Carries HKS's finalizer ([`hks_core::manifest::FINALIZER_ARCHIVE`]).
    pub has_finalizer: bool,
    /// Kubernetes wants it gone (`deletionTimestamp` is set).
    pub deleting: bool,
}

/// One pod of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPod {
    pub object: RunObjectState,
    /// Its container has ended (or, being deleted, never started): its log is complete.
    pub finished: bool,
}

/// One run as the cluster shows it: its Job (unless Kubernetes already
/// deleted it) and its pods.
#[derive(Debug, Clone)]
pub struct ClusterRun {
    pub namespace: String,
    /// The CronJob (HKS application) it belongs to.
    pub cronjob: String,
    /// Derived from the Job and pods, or from the pods alone.
    pub run: Run,
    pub job: Option<RunObjectState>,
    pub pods: Vec<RunPod>,
}

/// An event Kubernetes recorded about a CronJob (why a run did not start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronJobEvent {
    pub reason: String,
    pub message: String,
    pub last_seen: Option<jiff::Timestamp>,
}

/// What [`Gateway::cancel_run`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The cancel is asked: the run as it is now (its pods are stopping).
    Requested(Run),
    /// The run had ended already: nothing was changed.
    AlreadyEnded(Run),
}

/// Which kind of object [`Gateway::set_finalizer`] acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunObject {
    Job,
    Pod,
}

/// The operations the API server needs from tenant clusters.
#[async_trait]
pub trait Gateway: Send + Sync + std::fmt::Debug + 'static {
    /// Server-side applies `objects`, in order, under [`FIELD_MANAGER`], and
    /// says which `metadata.generation` each one has now.
    async fn apply(
        &self,
        cluster: TenantCluster<'_>,
        objects: &[Object],
    ) -> Result<Vec<Applied>, KubeError>;

    /// Same as `apply` with `dryRun=All`: what the apiserver would accept.
    async fn dry_run(
        &self,
        cluster: TenantCluster<'_>,
        objects: &[Object],
    ) -> Result<(), KubeError>;

    /// Deletes an object and, in the background, what it owns; an object
    /// that is already gone is not an error.
    async fn delete(&self, cluster: TenantCluster<'_>, key: &ObjectKey) -> Result<(), KubeError>;

    /// The CronJobs and runs of a namespace, from the watch caches.
    async fn observe(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
    ) -> Result<Observed, KubeError>;

    /// What `observe` shows of one CronJob and its runs: a view of one
    /// CronJob should not cost more the more CronJobs its namespace has.
    async fn observe_cronjob(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
        name: &str,
    ) -> Result<Observed, KubeError> {
        let mut observed = self.observe(cluster, namespace).await?;
        observed.cronjobs.retain(|n, _| n == name);
        observed.runs.retain(|n, _| n == name);
        Ok(observed)
    }

    /// Run now: a Job from the CronJob's full jobTemplate, marked manual.
    async fn run_now(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
        cronjob: &str,
        triggered_by: &str,
    ) -> Result<Run, KubeError> {
        self.start_run(
            cluster,
            namespace,
            cronjob,
            triggered_by,
            &Start::Manual,
            &RunOverrides::default(),
        )
        .await
    }

    /// Starts a run of the CronJob as it is now in the cluster (read from
    /// the apiserver, not a cache): a Run now, re-run or backfill Job
    /// ([`hks_core::manifest::started_job`]) with one run's overrides,
    /// already validated ([`hks_core::manifest::with_overrides`]). A
    /// backfill of a time that already has its Job is `Rejected` with 409.
    async fn start_run(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
        cronjob: &str,
        triggered_by: &str,
        start: &Start,
        overrides: &RunOverrides,
    ) -> Result<Run, KubeError>;

    /// The container a run ran: from its Job, or, once Kubernetes deleted
    /// the Job, from one of its pods; `None` when neither is left. A run of
    /// another CronJob has none.
    async fn run_container(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
        cronjob: &str,
        run: &str,
    ) -> Result<Option<Container>, KubeError>;

    /// Lets a waiting (suspended) backfill run start: Kubernetes' Job
    /// controller creates its pods. A run of another CronJob is not found.
    async fn release_backfill(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
        cronjob: &str,
        run: &str,
    ) -> Result<(), KubeError>;

    /// Cancels a run that has not ended: marks who cancelled it and cuts
    /// its Job's time limit (`activeDeadlineSeconds`) to 1 second, so that
    /// Kubernetes' Job controller stops its pods (with their grace period)
    /// and fails the Job with `DeadlineExceeded`, which the run reads as
    /// `Cancelled`; the CronJob's history limits then apply as to any run.
    /// A run of another CronJob is not found; one that has ended is left
    /// as it is.
    async fn cancel_run(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
        cronjob: &str,
        run: &str,
        cancelled_by: &str,
    ) -> Result<CancelOutcome, KubeError>;

    /// The logs of a run's attempts (pods). A run of another CronJob is not found.
    async fn logs(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
        cronjob: &str,
        run: &str,
        options: &LogOptions,
    ) -> Result<Vec<AttemptLog>, KubeError>;

    /// Follows the log of one attempt (the latest by default) while it runs.
    async fn follow_logs(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
        cronjob: &str,
        run: &str,
        options: &LogOptions,
    ) -> Result<BoxStream<'static, Result<String, KubeError>>, KubeError>;

    /// Checks connection settings without connecting: the kubeconfig parses,
    /// has a usable context and is self-contained. `Misconfigured` says why not.
    async fn check_connection(&self, connection: &ClusterConnection) -> Result<(), KubeError>;

    /// A number that changes whenever the tenant's watch caches change, while
    /// they are connected and synced; `None` otherwise. Equal numbers mean
    /// [`Gateway::observe`] would answer the same, so its derivations can be reused.
    fn view_version(&self, tenant_id: &str) -> Option<u64>;

    /// Drops what is cached for a tenant (its connection changed or it was deleted).
    fn forget(&self, tenant_id: &str);

    /// What HKS labelled in the tenant's cluster, read from the apiserver
    /// (not the watch caches): the namespaces whose names start with
    /// `namespace_prefix`, and the Deployments and Services in them.
    async fn managed(
        &self,
        cluster: TenantCluster<'_>,
        namespace_prefix: &str,
    ) -> Result<Managed, KubeError>;

    /// Labels with this installation the tenant's objects that HKS made
    /// before it labelled installations (HKS's and the tenant's labels, no
    /// installation's), in the namespaces whose names start with
    /// `namespace_prefix` (the tenant's, whose names hold its id in this
    /// installation): namespaces, Deployments, Services, CronJobs, Jobs and
    /// pods. The watches and listings select the installation, so without
    /// it a run in flight at the upgrade would never be recorded (its pods
    /// held by HKS's finalizer for ever) and an orphan never removed. At
    /// most a page of each kind per call; answers how many were labelled.
    async fn adopt(
        &self,
        cluster: TenantCluster<'_>,
        namespace_prefix: &str,
    ) -> Result<usize, KubeError>;

    /// Cleans up namespaces HKS no longer manages, through `cluster`'s
    /// connection but without its caches (it may be a tenant's previous
    /// connection): deletes each namespace, and releases HKS's finalizer
    /// from every Job and pod in it, since nobody will record those runs.
    /// A namespace, Job or pod labelled as another installation's is left
    /// alone. Answers the namespaces still there (being deleted); empty
    /// once all are gone.
    async fn retire(
        &self,
        cluster: TenantCluster<'_>,
        namespaces: &[String],
    ) -> Result<Vec<String>, KubeError>;

    /// Every HKS run in the tenant's cluster, from the watch caches (for the
    /// run recorder).
    async fn cluster_runs(&self, cluster: TenantCluster<'_>) -> Result<Vec<ClusterRun>, KubeError>;

    /// The whole log of a finished attempt as the container wrote it (bytes,
    /// not necessarily UTF-8), up to `limit_bytes` and then without a
    /// character the limit split; `None` when the cluster no longer has it.
    async fn attempt_log(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
        pod: &str,
        limit_bytes: i64,
    ) -> Result<Option<Vec<u8>>, KubeError>;

    /// The end of a finished attempt's log: the kubelet's last `tail_lines`
    /// lines, read as a stream of which only the last `keep_bytes` bytes
    /// are kept (starting on a character boundary), so a long line costs
    /// no memory; `None` when the cluster no longer has it.
    async fn attempt_log_tail(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
        pod: &str,
        tail_lines: i64,
        keep_bytes: usize,
    ) -> Result<Option<LogTail>, KubeError>;

    /// Adds (`has_finalizer`) or removes HKS's finalizer
    /// ([`hks_core::manifest::FINALIZER_ARCHIVE`]) on a Job or pod. Adding is
    /// a no-op when it is there or the object is being deleted (when none
    /// can be added); removing lets Kubernetes delete the object.
    async fn set_finalizer(
        &self,
        cluster: TenantCluster<'_>,
        kind: RunObject,
        namespace: &str,
        name: &str,
        has_finalizer: bool,
    ) -> Result<(), KubeError>;

    /// The names of `cronjob`'s Jobs the cluster has now, read from the
    /// apiserver (not the watch caches, which lag after an outage): its
    /// Jobs, and the Jobs named by its pods whose Job is already gone (HKS's
    /// finalizer keeps those pods until their run is recorded).
    async fn cronjob_jobs(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
        cronjob: &str,
    ) -> Result<Vec<String>, KubeError>;

    /// The events Kubernetes recorded about a CronJob, newest last.
    async fn cronjob_events(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
        cronjob: &str,
    ) -> Result<Vec<CronJobEvent>, KubeError>;
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;

    #[test]
    fn a_tail_keeps_the_last_bytes_whole_characters_in_bounded_memory() {
        let log = "ab€😀\n".repeat(1000).into_bytes();
        for chunk in [1, 7, 64, 5000] {
            let mut tail = TailKeeper::new(100);
            for c in log.chunks(chunk) {
                tail.push(c);
                assert!(tail.bytes.len() <= 200 + chunk, "chunks of {chunk}");
            }
            let t = tail.finish();
            assert_eq!(t.sent, log.len() as u64);
            assert!(
                t.bytes.len() <= 100 && t.bytes.len() > 96,
                "{}",
                t.bytes.len()
            );
            assert!(log.ends_with(&t.bytes));
            assert!(std::str::from_utf8(&t.bytes).is_ok(), "chunks of {chunk}");
        }
        let short = TailKeeper::new(100);
        assert_eq!(short.finish().bytes, b"");
    }

    fn api(code: u16) -> kube::Error {
        kube::Error::Api(Box::new(kube::core::Status {
            code,
            reason: "Reason".into(),
            message: "message".into(),
            ..kube::core::Status::default()
        }))
    }

    fn io(kind: io::ErrorKind) -> io::Error {
        io::Error::new(kind, "fake")
    }

    #[test]
    fn api_statuses() {
        assert!(matches!(KubeError::from(api(404)), KubeError::NotFound));
        assert!(KubeError::from(api(500)).is_unreachable());
        assert!(KubeError::from(api(503)).is_unreachable());
        assert!(KubeError::from(api(429)).is_unreachable());
        let e = KubeError::from(api(401));
        assert!(e.is_unauthorized() && !e.is_unreachable(), "{e:?}");
        assert!(matches!(
            KubeError::from(api(422)),
            KubeError::Rejected { code: 422, .. }
        ));
    }

    #[test]
    fn connections_that_fail_are_unreachable() {
        for kind in [
            io::ErrorKind::ConnectionRefused,
            io::ErrorKind::ConnectionReset,
            io::ErrorKind::TimedOut,
        ] {
            assert!(
                KubeError::from(kube::Error::Service(Box::new(io(kind)))).is_unreachable(),
                "{kind:?}"
            );
            assert!(
                KubeError::from(kube::Error::ReadEvents(io(kind))).is_unreachable(),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn answers_that_cannot_be_read_are_bad_answers() {
        let serde = serde_json::from_str::<serde_json::Value>("{").unwrap_err();
        let utf8 = String::from_utf8(vec![0xff]).unwrap_err();
        for e in [
            kube::Error::SerdeError(serde),
            kube::Error::FromUtf8(utf8),
            kube::Error::LinesCodecMaxLineLengthExceeded,
            kube::Error::ReadEvents(io(io::ErrorKind::InvalidData)),
        ] {
            let what = e.to_string();
            assert!(
                matches!(KubeError::from(e), KubeError::BadAnswer(_)),
                "{what}"
            );
        }
    }

    #[test]
    fn settings_and_credentials_that_cannot_be_used_are_misconfigured() {
        let kubeconfig =
            kube::config::Kubeconfig::from_yaml("apiVersion: v1\nkind: Config\n").unwrap();
        let infer = futures::executor::block_on(kube::Config::from_custom_kubeconfig(
            kubeconfig,
            &kube::config::KubeConfigOptions::default(),
        ))
        .unwrap_err();
        for e in [
            kube::Error::InferKubeconfig(infer),
            kube::Error::Auth(kube::client::AuthError::ExecPluginFailed),
            kube::Error::RustlsTls(kube::client::RustlsTlsError::MissingCertificate),
            kube::Error::TlsRequired,
        ] {
            let what = e.to_string();
            assert!(
                matches!(KubeError::from(e), KubeError::Misconfigured(_)),
                "{what}"
            );
        }
    }

    #[test]
    fn requests_that_cannot_be_built_are_rejected_not_unreachable() {
        let e = KubeError::from(kube::Error::BuildRequest(
            kube::core::request::Error::Validation("bad".into()),
        ));
        assert!(matches!(e, KubeError::Rejected { code: 0, .. }), "{e:?}");
    }

    /// A loopback "apiserver" that answers `answer` to every connection
    /// (or closes it at once when empty); what reading from it fails with.
    async fn served(answer: &'static [u8]) -> KubeError {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buf = [0; 4096];
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(answer).await;
                let _ = socket.shutdown().await;
            }
        });
        let config = kube::Config::new(url.parse().unwrap());
        let client = kube::Client::try_from(config).unwrap();
        kube::Api::<k8s_openapi::api::core::v1::Namespace>::all(client)
            .get("x")
            .await
            .unwrap_err()
            .into()
    }

    #[tokio::test]
    async fn what_a_tenant_apiserver_answers_is_not_an_outage() {
        let e = served(b"SSH-2.0-OpenSSH_9.6\r\n\r\n").await;
        assert!(matches!(e, KubeError::BadAnswer(_)), "not HTTP: {e:?}");
        let e = served(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nnope!").await;
        assert!(matches!(e, KubeError::BadAnswer(_)), "not JSON: {e:?}");
        let e = served(b"").await;
        assert!(e.is_unreachable(), "closed without an answer: {e:?}");
    }
}
