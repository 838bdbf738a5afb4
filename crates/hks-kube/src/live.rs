//! The real [`Gateway`]: kube-rs clients and reflectors per tenant cluster.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;
use futures::{AsyncReadExt, StreamExt, TryStreamExt};
use hks_core::labels::{LABEL_APPLICATION, LABEL_INSTALLATION};
use hks_core::logtext::{self, LossyDecoder};
use hks_core::manifest::{Start, container_of_job, container_of_pod, started_job, with_overrides};
use hks_core::run::{Run, run, sort_newest_first};
use hks_core::spec::RunOverrides;
use hks_core::tenant::ClusterConnection;
use k8s_openapi::api::admissionregistration::v1::{
    MutatingAdmissionPolicy, MutatingAdmissionPolicyBinding,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Container, Event, LimitRange, Namespace, Pod, Secret, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{DeleteParams, ListParams, LogParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Config, Resource, ResourceExt};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use crate::{
    Applied, AttemptLog, CancelOutcome, ClusterRun, CronJobEvent, FIELD_MANAGER, Gateway, Kind,
    KubeError, LogOptions, LogTail, MANAGED_SELECTOR, Managed, Object, ObjectKey, Observed,
    ObservedCronJob, RunObject, TenantCluster, history, read_within_total,
};

/// Timeouts for talking to tenant clusters.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long to wait for a TCP/TLS connection: what "unreachable" means.
    pub connect_timeout: Duration,
    /// How long one request may take (not used for watches and followed logs).
    pub request_timeout: Duration,
    /// How long a read waits for the watch caches of a newly connected cluster.
    pub sync_timeout: Duration,
    /// How often a vCluster's Secret `vc-<name>` is read again (sooner when
    /// the vCluster refuses HKS's credentials): when its kubeconfig changed,
    /// the client and its watches are built anew from it.
    pub credentials_check: Duration,
    /// The most objects one watch cache of a tenant (its CronJobs, its
    /// Jobs, its pods) holds. A tenant can label any number of objects in
    /// its cluster as HKS's: when one of its watches would hold more, all
    /// its watches stop, their caches are dropped, and reads that need them
    /// fail with [`KubeError::TooManyObjects`] until, after
    /// `over_limit_retry`, the tenant is connected anew and has fewer.
    pub max_cached_objects: usize,
    /// How long a tenant whose watches went over `max_cached_objects`
    /// waits before they are started again (at its next use).
    pub over_limit_retry: Duration,
}

/// The default of [`Settings::max_cached_objects`].
pub const DEFAULT_MAX_CACHED_OBJECTS: usize = 20_000;

impl Default for Settings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(15),
            sync_timeout: Duration::from_secs(5),
            credentials_check: Duration::from_secs(60),
            max_cached_objects: DEFAULT_MAX_CACHED_OBJECTS,
            over_limit_retry: Duration::from_secs(60),
        }
    }
}

/// Connects to tenant clusters on first use and keeps one connection (and
/// one set of watches) per tenant until its connection settings change, or,
/// for a vCluster, until the kubeconfig in its Secret does.
#[derive(Debug, Default)]
pub struct KubeGateway {
    settings: Settings,
    tenants: Mutex<HashMap<String, Arc<Entry>>>,
}

#[derive(Debug)]
struct Entry {
    fingerprint: u64,
    connected: OnceCell<Arc<Connected>>,
}

struct Connected {
    /// For requests, with a request timeout.
    client: Client,
    /// For watches and followed logs, which stay open.
    stream_client: Client,
    cronjobs: Store<CronJob>,
    jobs: Store<Job>,
    pods: Store<Pod>,
    healthy: Arc<AtomicBool>,
    /// Counts the watch events applied to the caches: equal counts mean an
    /// unchanged view, which lets readers reuse what they derived from it.
    changes: Arc<AtomicU64>,
    tasks: Vec<JoinHandle<()>>,
    /// For a vCluster: a fingerprint of the kubeconfig its Secret held when
    /// this connection was made, and when the Secret was last read.
    secret: Option<u64>,
    checked: Mutex<std::time::Instant>,
    /// The cluster refused the credentials (401): the Secret is read again
    /// at the next use, whatever the time.
    refused: Arc<AtomicBool>,
    /// The bound on the caches, and whether a watch went over it.
    limit: Arc<Limit>,
}

/// The bound on the number of objects each of a tenant's watch caches
/// holds ([`Settings::max_cached_objects`]), shared by its watches.
#[derive(Debug)]
struct Limit {
    max: usize,
    /// Set once, when a watch would hold more than `max` objects: every
    /// watch of the tenant then stops and empties its cache, and the
    /// connection is made anew after [`Settings::over_limit_retry`].
    over: tokio::sync::watch::Sender<Option<Over>>,
}

/// Which watch went over the bound, and when.
#[derive(Debug, Clone, Copy)]
struct Over {
    kind: &'static str,
    at: std::time::Instant,
}

impl Limit {
    fn new(max: usize) -> Self {
        Self {
            max,
            over: tokio::sync::watch::Sender::new(None),
        }
    }

    fn over(&self) -> Option<Over> {
        *self.over.borrow()
    }

    /// Notes that the watch of `kind` would hold more than the bound: the
    /// first time, logged and counted (by kind only, a fixed set).
    fn exceeded(&self, kind: &'static str, tenant: &str) {
        let first = self.over.send_if_modified(|over| {
            let first = over.is_none();
            if first {
                *over = Some(Over {
                    kind,
                    at: std::time::Instant::now(),
                });
            }
            first
        });
        if first {
            metrics::counter!("hks_watch_cache_overflows_total", "kind" => kind).increment(1);
            warn!(tenant = %tenant, kind, limit = self.max, "A tenant's cluster has more HKS objects than a watch cache may hold: its watches stop and their caches are dropped until it has fewer.");
        }
    }

    /// `Ok` while the caches are within the bound.
    fn check(&self) -> Result<(), KubeError> {
        match self.over() {
            Some(over) => Err(KubeError::TooManyObjects {
                kind: over.kind,
                limit: self.max,
            }),
            None => Ok(()),
        }
    }
}

impl Connected {
    /// Whether a vCluster's Secret is due to be read again (and, if so,
    /// marks it read now, so that concurrent callers do not all read it).
    fn secret_due(&self, every: Duration) -> bool {
        if self.secret.is_none() {
            return false;
        }
        let mut checked = self.checked.lock().unwrap_or_else(|e| e.into_inner());
        let due = self.refused.swap(false, Ordering::Relaxed) || checked.elapsed() >= every;
        if due {
            *checked = std::time::Instant::now();
        }
        due
    }

    /// Notes a refusal of the credentials, so the next use checks for new ones.
    fn noted<T>(&self, r: Result<T, KubeError>) -> Result<T, KubeError> {
        if r.as_ref().is_err_and(KubeError::is_unauthorized) {
            self.refused.store(true, Ordering::Relaxed);
        }
        r
    }
}

impl std::fmt::Debug for Connected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connected")
            .field("healthy", &self.healthy.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Drop for Connected {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn fingerprint(c: &ClusterConnection) -> u64 {
    text_fingerprint(&c.to_stored().to_string())
}

fn text_fingerprint(text: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

async fn kubeconfig_config(
    text: &str,
    context: Option<&String>,
    what: &str,
) -> Result<Config, KubeError> {
    // Parse errors are not passed on: they could quote parts of the credentials.
    let kc = Kubeconfig::from_yaml(text)
        .map_err(|_| KubeError::Misconfigured(format!("the {what} cannot be parsed")))?;
    self_contained(&kc).map_err(|why| KubeError::Misconfigured(format!("the {what} {why}")))?;
    let options = KubeConfigOptions {
        context: context.cloned(),
        ..KubeConfigOptions::default()
    };
    Config::from_custom_kubeconfig(kc, &options)
        .await
        .map_err(|_| {
            KubeError::Misconfigured(format!("the {what} has no usable context, cluster or user"))
        })
}

/// Refuses kubeconfigs that would make HKS run a program (`exec`, auth
/// providers) or read its own files (paths to certificates, keys, tokens):
/// kubeconfigs come from outside (a vCluster's Secret is the tenant's), and
/// must carry their credentials inline.
fn self_contained(kc: &Kubeconfig) -> Result<(), &'static str> {
    for c in kc.clusters.iter().filter_map(|c| c.cluster.as_ref()) {
        if c.certificate_authority.is_some() {
            return Err(
                "refers to a certificate-authority file; embed certificate-authority-data instead",
            );
        }
        if c.proxy_url.is_some() {
            return Err("sets a proxy-url, which HKS does not use");
        }
    }
    for a in kc.auth_infos.iter().filter_map(|a| a.auth_info.as_ref()) {
        if a.exec.is_some() || a.auth_provider.is_some() {
            return Err(
                "uses an exec or auth-provider plugin; use a token or client certificate data",
            );
        }
        if a.client_certificate.is_some() || a.client_key.is_some() || a.token_file.is_some() {
            return Err(
                "refers to credential files; embed client-certificate-data/client-key-data or a token",
            );
        }
    }
    Ok(())
}

impl KubeGateway {
    pub fn new(settings: Settings) -> Self {
        Self {
            settings,
            tenants: Mutex::new(HashMap::new()),
        }
    }

    fn clients(&self, config: Config) -> Result<(Client, Client), KubeError> {
        let mut request = config.clone();
        request.connect_timeout = Some(self.settings.connect_timeout);
        request.read_timeout = Some(self.settings.request_timeout);
        request.write_timeout = Some(self.settings.request_timeout);
        let mut stream = config;
        stream.connect_timeout = Some(self.settings.connect_timeout);
        stream.read_timeout = None;
        let bad = |e: kube::Error| {
            KubeError::Misconfigured(format!(
                "no client can be built from the connection settings: {e}"
            ))
        };
        Ok((
            Client::try_from(request).map_err(bad)?,
            Client::try_from(stream).map_err(bad)?,
        ))
    }

    /// The cluster's configuration: straight from a kubeconfig, or from a
    /// vCluster's Secret `vc-<name>` on its host cluster (then with a
    /// fingerprint of the kubeconfig the Secret holds).
    async fn config(
        &self,
        connection: &ClusterConnection,
    ) -> Result<(Config, Option<u64>), KubeError> {
        match connection {
            ClusterConnection::Kubeconfig {
                kubeconfig,
                context,
            } => Ok((
                kubeconfig_config(kubeconfig.expose_secret(), context.as_ref(), "kubeconfig")
                    .await?,
                None,
            )),
            ClusterConnection::Vcluster {
                server,
                tls_server_name,
                ..
            } => {
                let text = self.vcluster_kubeconfig(connection).await?;
                let mut config = kubeconfig_config(&text, None, "vCluster kubeconfig").await?;
                if let Some(server) = server {
                    config.cluster_url = server.parse().map_err(|_| {
                        KubeError::Misconfigured("the vCluster server URL is invalid".into())
                    })?;
                }
                if let Some(n) = tls_server_name {
                    config.tls_server_name = Some(n.clone());
                }
                Ok((config, Some(text_fingerprint(&text))))
            }
        }
    }

    /// The kubeconfig in a vCluster's Secret `vc-<name>` on its host cluster
    /// (read anew on every call).
    async fn vcluster_kubeconfig(
        &self,
        connection: &ClusterConnection,
    ) -> Result<String, KubeError> {
        let ClusterConnection::Vcluster {
            host_kubeconfig,
            host_context,
            namespace,
            name,
            ..
        } = connection
        else {
            return Err(KubeError::Misconfigured("not a vCluster".into()));
        };
        let host = kubeconfig_config(
            host_kubeconfig.expose_secret(),
            host_context.as_ref(),
            "host kubeconfig",
        )
        .await?;
        let (host, _) = self.clients(host)?;
        let secret_name = format!("vc-{name}");
        let secret = Api::<Secret>::namespaced(host, namespace)
            .get(&secret_name)
            .await
            .map_err(|e| match KubeError::from(e) {
                KubeError::NotFound => KubeError::Misconfigured(format!(
                    "the host cluster has no Secret {secret_name} in namespace {namespace}"
                )),
                other => other,
            })?;
        let data = secret
            .data
            .and_then(|mut d| d.remove("config"))
            .ok_or_else(|| {
                KubeError::Misconfigured(format!("Secret {secret_name} has no key `config`"))
            })?;
        String::from_utf8(data.0).map_err(|_| {
            KubeError::Misconfigured(format!("Secret {secret_name} key `config` is not text"))
        })
    }

    /// The tenant's connection. A new one when its watches went over the
    /// bound longer than [`Settings::over_limit_retry`] ago (its caches are
    /// listed again, and hold what they should if the tenant now has fewer
    /// objects), or, for a vCluster whose Secret is due to be read again
    /// and now holds another kubeconfig (the old client and its watches go
    /// when their last user drops them).
    async fn connect(&self, cluster: TenantCluster<'_>) -> Result<Arc<Connected>, KubeError> {
        let mut c = self.connect_cached(cluster).await?;
        if c.limit
            .over()
            .is_some_and(|over| over.at.elapsed() >= self.settings.over_limit_retry)
        {
            debug!(tenant = %cluster.tenant_id, "Watching a tenant cluster again after it went over the bound.");
            self.reset(cluster.tenant_id, &c);
            c = self.connect_cached(cluster).await?;
        }
        if !c.secret_due(self.settings.credentials_check) {
            return Ok(c);
        }
        match self.vcluster_kubeconfig(cluster.connection).await {
            Ok(text) if Some(text_fingerprint(&text)) != c.secret => {
                debug!(tenant = %cluster.tenant_id, "The vCluster's kubeconfig changed: connecting anew.");
                self.reset(cluster.tenant_id, &c);
                self.connect_cached(cluster).await
            }
            Ok(_) => Ok(c),
            // The connection made before may still work; the next check
            // tries again.
            Err(error) => {
                debug!(%error, tenant = %cluster.tenant_id, "Cannot read the vCluster's Secret now.");
                Ok(c)
            }
        }
    }

    /// Forgets the tenant's connection `old`, unless another caller already
    /// replaced it.
    fn reset(&self, tenant_id: &str, old: &Arc<Connected>) {
        let mut tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = tenants.get_mut(tenant_id)
            && entry.connected.get().is_some_and(|c| Arc::ptr_eq(c, old))
        {
            *entry = Arc::new(Entry {
                fingerprint: entry.fingerprint,
                connected: OnceCell::new(),
            });
        }
    }

    async fn connect_cached(
        &self,
        cluster: TenantCluster<'_>,
    ) -> Result<Arc<Connected>, KubeError> {
        // The watches select by the installation and the tenant's name: a
        // new name, new watches.
        let fp = fingerprint(cluster.connection) ^ text_fingerprint(&cluster.selector());
        let entry = {
            let mut tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
            let entry = tenants
                .entry(cluster.tenant_id.to_owned())
                .or_insert_with(|| {
                    Arc::new(Entry {
                        fingerprint: fp,
                        connected: OnceCell::new(),
                    })
                });
            if entry.fingerprint != fp {
                *entry = Arc::new(Entry {
                    fingerprint: fp,
                    connected: OnceCell::new(),
                });
            }
            entry.clone()
        };
        let connected = entry
            .connected
            .get_or_try_init(|| async {
                let (config, secret) = self.config(cluster.connection).await?;
                let (client, stream_client) = self.clients(config)?;
                let healthy = Arc::new(AtomicBool::new(false));
                let refused = Arc::new(AtomicBool::new(false));
                let limit = Arc::new(Limit::new(self.settings.max_cached_objects));
                let selector = cluster.selector();
                // Each connection counts from its own base, so a reconnected
                // tenant never repeats a number an old view was stored under.
                static CONNECTIONS: AtomicU64 = AtomicU64::new(0);
                let changes = Arc::new(AtomicU64::new(
                    CONNECTIONS.fetch_add(1, Ordering::Relaxed) << 40,
                ));
                let (cronjobs, t1) = watch::<CronJob>(
                    stream_client.clone(),
                    &selector,
                    Shared {
                        healthy: healthy.clone(),
                        changes: changes.clone(),
                        refused: refused.clone(),
                        limit: limit.clone(),
                    },
                    cluster.tenant_id,
                );
                let (jobs, t2) = watch::<Job>(
                    stream_client.clone(),
                    &selector,
                    Shared {
                        healthy: healthy.clone(),
                        changes: changes.clone(),
                        refused: refused.clone(),
                        limit: limit.clone(),
                    },
                    cluster.tenant_id,
                );
                let (pods, t3) = watch::<Pod>(
                    stream_client.clone(),
                    &selector,
                    Shared {
                        healthy: healthy.clone(),
                        changes: changes.clone(),
                        refused: refused.clone(),
                        limit: limit.clone(),
                    },
                    cluster.tenant_id,
                );
                debug!(tenant = %cluster.tenant_id, "Connected to the tenant cluster.");
                // In the background: the watches and the first requests need not wait for it.
                let t4 = tokio::spawn(ensure_run_hold_policy(
                    client.clone(),
                    cluster.tenant_id.to_owned(),
                ));
                Ok::<_, KubeError>(Arc::new(Connected {
                    client,
                    stream_client,
                    cronjobs,
                    jobs,
                    pods,
                    healthy,
                    changes,
                    tasks: vec![t1, t2, t3, t4],
                    secret,
                    checked: Mutex::new(std::time::Instant::now()),
                    refused,
                    limit,
                }))
            })
            .await?;
        Ok(connected.clone())
    }

    /// Waits until the tenant's caches hold the cluster's objects: an error
    /// when they are not ready in time, or went over the bound (before or
    /// while they were listed).
    async fn synced(&self, c: &Connected) -> Result<(), KubeError> {
        c.limit.check()?;
        let ready = async {
            c.cronjobs.wait_until_ready().await.ok();
            c.jobs.wait_until_ready().await.ok();
            c.pods.wait_until_ready().await.ok();
        };
        tokio::time::timeout(self.settings.sync_timeout, ready)
            .await
            .map_err(|_| {
                KubeError::Unreachable("the watches of the tenant cluster have not synced".into())
            })?;
        c.limit.check()
    }

    /// The pods of `cronjob`'s run `run`, oldest first.
    async fn pods_of_run(
        c: &Connected,
        namespace: &str,
        cronjob: &str,
        run: &str,
    ) -> Result<Vec<Pod>, KubeError> {
        // The Job must be this CronJob's (HKS labels every Job of a CronJob).
        let job = Api::<Job>::namespaced(c.client.clone(), namespace)
            .get(run)
            .await?;
        if !crate::of_cronjob(&job.metadata, cronjob) {
            return Err(KubeError::NotFound);
        }
        let pods = Api::<Pod>::namespaced(c.client.clone(), namespace)
            .list(&ListParams::default().labels(&format!("batch.kubernetes.io/job-name={run}")))
            .await?;
        let mut pods = pods.items;
        pods.sort_by_key(|p| {
            (
                p.metadata.creation_timestamp.clone(),
                p.metadata.name.clone(),
            )
        });
        Ok(pods)
    }
}

/// What a tenant's watches share: whether they are connected, how many
/// events they applied, whether the cluster refused the credentials, and
/// the bound on their caches.
struct Shared {
    healthy: Arc<AtomicBool>,
    changes: Arc<AtomicU64>,
    refused: Arc<AtomicBool>,
    limit: Arc<Limit>,
}

/// Watches one kind of the tenant's HKS objects (`selector`) in every
/// namespace into a cache of at most [`Settings::max_cached_objects`]:
/// when it would hold more (in a listing, or as objects are added), or
/// another of the tenant's watches would, the watch stops and its cache is
/// emptied, so a tenant's cluster cannot make HKS's memory grow without
/// bound. Objects are counted as they arrive, so a listing stops at the
/// first object over the bound, not at its end.
fn watch<K>(
    client: Client,
    selector: &str,
    shared: Shared,
    tenant: &str,
) -> (Store<K>, JoinHandle<()>)
where
    K: Resource<DynamicType = ()>
        + k8s_openapi::Resource
        + crate::trim::Trim
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let (reader, mut writer) = reflector::store();
    let cache = reader.clone();
    let api: Api<K> = Api::all(client);
    let tenant = tenant.to_owned();
    let kind = <K as k8s_openapi::Resource>::KIND;
    let stream = watcher(api, watcher::Config::default().labels(selector))
        .default_backoff()
        // Managed fields and pod specs are most of an object's size and never read.
        .modify(K::trim);
    let Shared {
        healthy,
        changes,
        refused,
        limit,
    } = shared;
    let task = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        let mut over = limit.over.subscribe();
        // Objects of the listing in progress (buffered until it ends).
        let mut listed = 0_usize;
        while over.borrow_and_update().is_none() {
            let event = tokio::select! {
                event = stream.next() => event,
                // Another of the tenant's watches went over the bound.
                _ = over.changed() => continue,
            };
            let Some(event) = event else { break };
            match event {
                Ok(event) => {
                    writer.apply_watcher_event(&event);
                    let held = match &event {
                        watcher::Event::Init => {
                            listed = 0;
                            0
                        }
                        watcher::Event::InitApply(_) => {
                            listed += 1;
                            listed
                        }
                        _ => cache.len(),
                    };
                    if held > limit.max {
                        limit.exceeded(kind, &tenant);
                        break;
                    }
                    // Counted after the event was applied to the cache.
                    changes.fetch_add(1, Ordering::Release);
                    healthy.store(true, Ordering::Relaxed);
                }
                Err(error) => {
                    changes.fetch_add(1, Ordering::Release);
                    if unauthorized(&error) {
                        refused.store(true, Ordering::Relaxed);
                    }
                    if healthy.swap(false, Ordering::Relaxed) {
                        warn!(%error, tenant = %tenant, kind, "Lost the watch of a tenant cluster.");
                    }
                }
            }
        }
        // Over the bound: the watch ends (the stream is dropped with this
        // task's end) and the cache is emptied, listing buffer and all; the
        // empty cache counts as ready, so no reader waits for it.
        writer.apply_watcher_event(&watcher::Event::Init);
        writer.apply_watcher_event(&watcher::Event::InitDone);
        healthy.store(false, Ordering::Relaxed);
        changes.fetch_add(1, Ordering::Release);
    });
    (reader, task)
}

/// Whether a watch failed because the cluster refused the credentials.
fn unauthorized(e: &watcher::Error) -> bool {
    match e {
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => matches!(e, kube::Error::Api(s) if s.code == 401),
        watcher::Error::WatchError(s) => s.code == 401,
        watcher::Error::NoResourceVersion => false,
    }
}

/// The CronJobs and runs of a namespace in the watch caches (`only` one
/// CronJob's, if given).
fn observed(c: &Connected, namespace: &str, only: Option<&str>) -> Observed {
    let in_ns = |m: &ObjectMeta| m.namespace.as_deref() == Some(namespace);
    let mut observed = Observed {
        fresh: c.healthy.load(Ordering::Relaxed),
        ..Observed::default()
    };
    // One CronJob is looked up, not searched for among all of them.
    let cronjobs = match only {
        Some(name) => c
            .cronjobs
            .get(&ObjectRef::new(name).within(namespace))
            .into_iter()
            .collect(),
        None => c.cronjobs.state(),
    };
    for cj in cronjobs.iter().filter(|o| in_ns(&o.metadata)) {
        let status = cj.status.as_ref();
        observed.cronjobs.insert(
            cj.name_any(),
            ObservedCronJob {
                name: cj.name_any(),
                uid: cj.metadata.uid.clone(),
                generation: cj.metadata.generation,
                schedule: cj.spec.schedule.clone(),
                time_zone: cj.spec.time_zone.clone(),
                suspend: cj.spec.suspend.unwrap_or(false),
                active: status.and_then(|s| s.active.as_ref()).map_or(0, Vec::len),
                last_schedule_time: status
                    .and_then(|s| s.last_schedule_time.as_ref())
                    .map(|t| t.0),
                last_successful_time: status
                    .and_then(|s| s.last_successful_time.as_ref())
                    .map(|t| t.0),
            },
        );
    }
    let pods = c.pods.state();
    let mut pods_by_job: HashMap<&str, Vec<&Pod>> = HashMap::new();
    for p in pods.iter().filter(|p| in_ns(&p.metadata)) {
        if let Some(job) = p.labels().get("batch.kubernetes.io/job-name") {
            pods_by_job.entry(job.as_str()).or_default().push(p);
        }
    }
    let mut runs: BTreeMap<String, Vec<Run>> = BTreeMap::new();
    for job in c.jobs.state().iter().filter(|j| in_ns(&j.metadata)) {
        let Some(app) = job.labels().get(LABEL_APPLICATION) else {
            continue;
        };
        if only.is_some_and(|name| name != app) {
            continue;
        }
        let job_pods = pods_by_job
            .get(job.name_any().as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        runs.entry(app.clone())
            .or_default()
            .push(run(job, job_pods));
    }
    for list in runs.values_mut() {
        sort_newest_first(list);
    }
    observed.runs = runs;
    observed
}

fn suffix() -> String {
    // Unique enough for a Job name: RandomState is seeded randomly per process
    // and the time makes each call differ.
    let mut n = std::collections::hash_map::RandomState::new()
        .hash_one(jiff::Timestamp::now().as_nanosecond());
    let alphabet = b"0123456789abcdefghijklmnopqrstuvwxyz";
    (0..8)
        .map(|_| {
            let c = alphabet[(n % 36) as usize] as char;
            n /= 36;
            c
        })
        .collect()
}

async fn apply_all(
    client: &Client,
    objects: &[Object],
    dry_run: bool,
) -> Result<Vec<Applied>, KubeError> {
    let mut pp = PatchParams::apply(FIELD_MANAGER).force();
    pp.dry_run = dry_run;
    let mut applied = Vec::with_capacity(objects.len());
    for o in objects {
        let key = o.key();
        let ns = key.namespace.as_deref().unwrap_or_default();
        let c = client.clone();
        let generation = match o {
            Object::Namespace(x) => apply_one(Api::all(c), &key.name, &pp, x).await?,
            Object::LimitRange(x) => apply_one(Api::namespaced(c, ns), &key.name, &pp, x).await?,
            Object::Deployment(x) => apply_one(Api::namespaced(c, ns), &key.name, &pp, x).await?,
            Object::Service(x) => apply_one(Api::namespaced(c, ns), &key.name, &pp, x).await?,
            Object::CronJob(x) => apply_one(Api::namespaced(c, ns), &key.name, &pp, x).await?,
        };
        applied.push(Applied { key, generation });
    }
    Ok(applied)
}

/// Applies [`hks_core::manifest::run_hold_policy`] to a tenant cluster, once
/// per connection. A cluster where it cannot be applied (credentials without
/// the right, a Kubernetes before 1.36) still works: the recorder adds the
/// finalizer to each Job it sees, as it always does, with the race that the
/// policy closes. So a failure is logged, not returned.
async fn ensure_run_hold_policy(client: Client, tenant: String) {
    let (policy, binding) = hks_core::manifest::run_hold_policy();
    let pp = PatchParams::apply(FIELD_MANAGER).force();
    let name = hks_core::manifest::RUN_HOLD_POLICY;
    let applied = async {
        apply_one(
            Api::<MutatingAdmissionPolicy>::all(client.clone()),
            name,
            &pp,
            &policy,
        )
        .await?;
        apply_one(
            Api::<MutatingAdmissionPolicyBinding>::all(client),
            name,
            &pp,
            &binding,
        )
        .await
    };
    match applied.await {
        Ok(_) => debug!(%tenant, "The run-hold admission policy is in place."),
        Err(error) => warn!(
            %tenant,
            error = %KubeError::from(error),
            "Cannot apply the run-hold admission policy: a run that ends before the recorder sees it may lose its log."
        ),
    }
}

/// Server-side applies one object; its generation as the apiserver answered.
async fn apply_one<K>(
    api: Api<K>,
    name: &str,
    pp: &PatchParams,
    object: &K,
) -> Result<Option<i64>, kube::Error>
where
    K: Resource + Clone + DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    Ok(api
        .patch(name, pp, &Patch::Apply(object))
        .await?
        .meta()
        .generation)
}

/// Deletes one object in the background; one already gone is no error.
async fn delete_one<K>(api: Api<K>, name: &str) -> Result<(), KubeError>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    ignore_missing(
        api.delete(name, &DeleteParams::background())
            .await
            .map(drop),
    )
}

fn ignore_missing(r: Result<(), kube::Error>) -> Result<(), KubeError> {
    match r.map_err(KubeError::from) {
        Err(KubeError::NotFound) | Ok(()) => Ok(()),
        Err(e) => Err(e),
    }
}

#[async_trait]
impl Gateway for KubeGateway {
    async fn apply(
        &self,
        cluster: TenantCluster<'_>,
        objects: &[Object],
    ) -> Result<Vec<Applied>, KubeError> {
        let c = self.connect(cluster).await?;
        c.noted(apply_all(&c.client, objects, false).await)
    }

    async fn dry_run(
        &self,
        cluster: TenantCluster<'_>,
        objects: &[Object],
    ) -> Result<(), KubeError> {
        let c = self.connect(cluster).await?;
        c.noted(apply_all(&c.client, objects, true).await.map(drop))
    }

    async fn delete(&self, cluster: TenantCluster<'_>, key: &ObjectKey) -> Result<(), KubeError> {
        let c = self.connect(cluster).await?;
        let ns = key.namespace.as_deref().unwrap_or_default();
        let client = c.client.clone();
        match key.kind {
            Kind::Namespace => delete_one::<Namespace>(Api::all(client), &key.name).await,
            Kind::LimitRange => {
                delete_one::<LimitRange>(Api::namespaced(client, ns), &key.name).await
            }
            Kind::Deployment => {
                delete_one::<Deployment>(Api::namespaced(client, ns), &key.name).await
            }
            Kind::Service => delete_one::<Service>(Api::namespaced(client, ns), &key.name).await,
            Kind::CronJob => delete_one::<CronJob>(Api::namespaced(client, ns), &key.name).await,
        }
    }

    async fn observe(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
    ) -> Result<Observed, KubeError> {
        let c = self.connect(cluster).await?;
        self.synced(&c).await?;
        Ok(observed(&c, namespace, None))
    }

    async fn observe_cronjob(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
        name: &str,
    ) -> Result<Observed, KubeError> {
        let c = self.connect(cluster).await?;
        self.synced(&c).await?;
        Ok(observed(&c, namespace, Some(name)))
    }

    async fn start_run(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
        cronjob: &str,
        triggered_by: &str,
        start: &Start,
        overrides: &RunOverrides,
    ) -> Result<Run, KubeError> {
        let c = self.connect(cluster).await?;
        // The CronJob is read from the apiserver, not the cache, so that the
        // Job copies the template as it is now.
        let cj = Api::<CronJob>::namespaced(c.client.clone(), namespace)
            .get(cronjob)
            .await?;
        let job = started_job(&cj, cluster.installation, triggered_by, start, &suffix())?;
        let job = with_overrides(job, overrides);
        let created = Api::<Job>::namespaced(c.client.clone(), namespace)
            .create(&PostParams::default(), &job)
            .await?;
        Ok(run(&created, &[]))
    }

    async fn run_container(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
        cronjob: &str,
        run_name: &str,
    ) -> Result<Option<Container>, KubeError> {
        let c = self.connect(cluster).await?;
        match Api::<Job>::namespaced(c.client.clone(), namespace)
            .get_opt(run_name)
            .await?
        {
            Some(job) if crate::of_cronjob(&job.metadata, cronjob) => {
                return Ok(container_of_job(&job));
            }
            Some(_) => return Ok(None),
            None => {}
        }
        let pods = Api::<Pod>::namespaced(c.client.clone(), namespace)
            .list(
                &ListParams::default().labels(&format!("batch.kubernetes.io/job-name={run_name}")),
            )
            .await?;
        Ok(pods
            .items
            .iter()
            .find(|p| crate::of_cronjob(&p.metadata, cronjob))
            .and_then(container_of_pod))
    }

    async fn release_backfill(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
        cronjob: &str,
        run_name: &str,
    ) -> Result<(), KubeError> {
        let c = self.connect(cluster).await?;
        let api = Api::<Job>::namespaced(c.client.clone(), namespace);
        let job = api.get(run_name).await?;
        if !crate::of_cronjob(&job.metadata, cronjob) {
            return Err(KubeError::NotFound);
        }
        let patch = serde_json::json!({"spec": {"suspend": false}});
        api.patch(run_name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        Ok(())
    }

    async fn cancel_run(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
        cronjob: &str,
        run_name: &str,
        cancelled_by: &str,
    ) -> Result<CancelOutcome, KubeError> {
        let c = self.connect(cluster).await?;
        let api = Api::<Job>::namespaced(c.client.clone(), namespace);
        let job = api.get(run_name).await?;
        if !crate::of_cronjob(&job.metadata, cronjob) {
            return Err(KubeError::NotFound);
        }
        let now = run(&job, &[]);
        if now.result.is_final() {
            return Ok(CancelOutcome::AlreadyEnded(now));
        }
        let patch = serde_json::json!({
            "metadata": {"annotations": {hks_core::labels::ANNOTATION_CANCELLED_BY: cancelled_by}},
            "spec": {"activeDeadlineSeconds": 1},
        });
        let patched = api
            .patch(run_name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        Ok(CancelOutcome::Requested(run(&patched, &[])))
    }

    async fn logs(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
        cronjob: &str,
        run: &str,
        options: &LogOptions,
    ) -> Result<Vec<AttemptLog>, KubeError> {
        let c = self.connect(cluster).await?;
        let pods = Self::pods_of_run(&c, namespace, cronjob, run).await?;
        let api = Api::<Pod>::namespaced(c.client.clone(), namespace);
        let names: Vec<String> = pods
            .iter()
            .map(ResourceExt::name_any)
            .filter(|name| options.attempt.as_ref().is_none_or(|a| a == name))
            .collect();
        if options.attempt.is_some() && names.is_empty() {
            return Err(KubeError::NotFound);
        }
        read_within_total(names, options, |name, limit| {
            let params = LogParams {
                tail_lines: options.tail_lines,
                limit_bytes: limit.and_then(|l| i64::try_from(l).ok()),
                timestamps: options.timestamps,
                ..LogParams::default()
            };
            let api = api.clone();
            async move {
                match read_log(&api, &name, &params, limit).await {
                    Ok(bytes) => Ok(bytes),
                    // A container that has not started has no log yet.
                    Err(kube::Error::Api(s)) if s.code == 400 => Ok(Vec::new()),
                    Err(e) => Err(e.into()),
                }
            }
        })
        .await
    }

    async fn follow_logs(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
        cronjob: &str,
        run: &str,
        options: &LogOptions,
    ) -> Result<BoxStream<'static, Result<String, KubeError>>, KubeError> {
        let c = self.connect(cluster).await?;
        let pods = Self::pods_of_run(&c, namespace, cronjob, run).await?;
        let pod = match &options.attempt {
            Some(a) => pods.iter().find(|p| p.metadata.name.as_ref() == Some(a)),
            None => pods.last(),
        }
        .ok_or(KubeError::NotFound)?;
        let params = LogParams {
            follow: true,
            tail_lines: options.tail_lines,
            limit_bytes: options.limit_bytes,
            timestamps: options.timestamps,
            ..LogParams::default()
        };
        let reader = Api::<Pod>::namespaced(c.stream_client.clone(), namespace)
            .log_stream(&pod.name_any(), &params)
            .await?;
        let limit = options.limit_bytes.and_then(|l| usize::try_from(l).ok());
        Ok(Box::pin(follow_text(reader, limit)))
    }

    async fn check_connection(&self, connection: &ClusterConnection) -> Result<(), KubeError> {
        match connection {
            ClusterConnection::Kubeconfig {
                kubeconfig,
                context,
            } => {
                kubeconfig_config(kubeconfig.expose_secret(), context.as_ref(), "kubeconfig").await
            }
            ClusterConnection::Vcluster {
                host_kubeconfig,
                host_context,
                ..
            } => {
                kubeconfig_config(
                    host_kubeconfig.expose_secret(),
                    host_context.as_ref(),
                    "host kubeconfig",
                )
                .await
            }
        }
        .map(drop)
    }

    fn view_version(&self, tenant_id: &str) -> Option<u64> {
        let tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        let connected = tenants.get(tenant_id)?.connected.get()?.clone();
        drop(tenants);
        // Every event counts, the end of the initial listing included, so a
        // view derived before the caches were complete never matches later.
        (connected.healthy.load(Ordering::Relaxed) && connected.limit.over().is_none())
            .then(|| connected.changes.load(Ordering::Acquire))
    }

    fn forget(&self, tenant_id: &str) {
        self.tenants
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(tenant_id);
    }

    async fn managed(
        &self,
        cluster: TenantCluster<'_>,
        namespace_prefix: &str,
    ) -> Result<Managed, KubeError> {
        let c = self.connect(cluster).await?;
        let lp = ListParams::default().labels(&cluster.selector());
        let mine = |ns: Option<&str>| ns.is_some_and(|n| n.starts_with(namespace_prefix));
        let mut out = Managed::default();
        for n in Api::<Namespace>::all(c.client.clone())
            .list_metadata(&lp)
            .await?
        {
            let name = n.name_any();
            if mine(Some(&name)) {
                out.namespaces
                    .push((name, n.metadata.creation_timestamp.map(|t| t.0)));
            }
        }
        let deployments = Api::<Deployment>::all(c.client.clone())
            .list_metadata(&lp)
            .await?;
        let services = Api::<Service>::all(c.client.clone())
            .list_metadata(&lp)
            .await?;
        let metas = (deployments
            .items
            .into_iter()
            .map(|o| (Kind::Deployment, o.metadata)))
        .chain(
            services
                .items
                .into_iter()
                .map(|o| (Kind::Service, o.metadata)),
        );
        for (kind, meta) in metas {
            if mine(meta.namespace.as_deref()) {
                out.objects.push(ObjectKey {
                    kind,
                    namespace: meta.namespace,
                    name: meta.name.unwrap_or_default(),
                });
            }
        }
        Ok(out)
    }

    async fn retire(
        &self,
        cluster: TenantCluster<'_>,
        namespaces: &[String],
    ) -> Result<Vec<String>, KubeError> {
        let (config, _) = self.config(cluster.connection).await?;
        let (client, _) = self.clients(config)?;
        let mut remaining = Vec::new();
        for ns in namespaces {
            let api = Api::<Namespace>::all(client.clone());
            let Some(namespace) = api.get_opt(ns).await? else {
                continue;
            };
            if !ours(&namespace.metadata, cluster.installation) {
                warn!(tenant = %cluster.tenant_id, namespace = %ns, "Not cleaning up a namespace another HKS installation labelled.");
                continue;
            }
            if namespace.metadata.deletion_timestamp.is_none() {
                delete_one::<Namespace>(api, ns).await?;
            }
            release_all::<Job>(&client, ns, cluster.installation).await?;
            release_all::<Pod>(&client, ns, cluster.installation).await?;
            remaining.push(ns.clone());
        }
        Ok(remaining)
    }

    async fn adopt(
        &self,
        cluster: TenantCluster<'_>,
        namespace_prefix: &str,
    ) -> Result<usize, KubeError> {
        let c = self.connect(cluster).await?;
        let client = &c.client;
        let to = Adoption {
            selector: cluster.unlabelled_selector(),
            prefix: namespace_prefix,
            installation: cluster.installation,
        };
        let mut adopted = 0;
        adopted += to
            .adopt(Api::<Namespace>::all(client.clone()), |_| {
                Api::all(client.clone())
            })
            .await?;
        adopted += to
            .adopt(Api::<Deployment>::all(client.clone()), |ns| {
                Api::namespaced(client.clone(), ns)
            })
            .await?;
        adopted += to
            .adopt(Api::<Service>::all(client.clone()), |ns| {
                Api::namespaced(client.clone(), ns)
            })
            .await?;
        adopted += to
            .adopt(Api::<CronJob>::all(client.clone()), |ns| {
                Api::namespaced(client.clone(), ns)
            })
            .await?;
        adopted += to
            .adopt(Api::<Job>::all(client.clone()), |ns| {
                Api::namespaced(client.clone(), ns)
            })
            .await?;
        adopted += to
            .adopt(Api::<Pod>::all(client.clone()), |ns| {
                Api::namespaced(client.clone(), ns)
            })
            .await?;
        Ok(adopted)
    }

    async fn cluster_runs(&self, cluster: TenantCluster<'_>) -> Result<Vec<ClusterRun>, KubeError> {
        let c = self.connect(cluster).await?;
        self.synced(&c).await?;
        Ok(history::cluster_runs(&c.jobs.state(), &c.pods.state()))
    }

    async fn attempt_log(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
        pod: &str,
        limit_bytes: i64,
    ) -> Result<Option<Vec<u8>>, KubeError> {
        let c = self.connect(cluster).await?;
        let params = LogParams {
            limit_bytes: Some(limit_bytes),
            ..LogParams::default()
        };
        let limit = usize::try_from(limit_bytes).ok();
        match read_log(
            &Api::namespaced(c.client.clone(), namespace),
            pod,
            &params,
            limit,
        )
        .await
        {
            Ok(mut bytes) => {
                let keep = logtext::limited(&bytes, limit).len();
                bytes.truncate(keep);
                Ok(Some(bytes))
            }
            // The pod, or its container, is gone.
            Err(kube::Error::Api(s)) if s.code == 400 || s.code == 404 => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn attempt_log_tail(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
        pod: &str,
        tail_lines: i64,
        keep_bytes: usize,
    ) -> Result<Option<LogTail>, KubeError> {
        let c = self.connect(cluster).await?;
        let params = LogParams {
            tail_lines: Some(tail_lines),
            ..LogParams::default()
        };
        let api = Api::<Pod>::namespaced(c.client.clone(), namespace);
        let reader = match api.log_stream(pod, &params).await {
            Ok(reader) => reader,
            // The pod, or its container, is gone.
            Err(kube::Error::Api(s)) if s.code == 400 || s.code == 404 => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let mut reader = Box::pin(reader);
        let mut tail = crate::TailKeeper::new(keep_bytes);
        let mut buf = vec![0; 64 * 1024];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) => return Ok(Some(tail.finish())),
                Ok(n) => tail.push(&buf[..n]),
                Err(e) => return Err(KubeError::Unreachable(Box::new(e))),
            }
        }
    }

    async fn set_finalizer(
        &self,
        cluster: TenantCluster<'_>,
        kind: RunObject,
        namespace: &str,
        name: &str,
        has_finalizer: bool,
    ) -> Result<(), KubeError> {
        let c = self.connect(cluster).await?;
        // It acts on what the caches hold.
        c.limit.check()?;
        match kind {
            RunObject::Job => {
                set_finalizer(&c.jobs, &c.client, namespace, name, has_finalizer).await
            }
            RunObject::Pod => {
                set_finalizer(&c.pods, &c.client, namespace, name, has_finalizer).await
            }
        }
    }

    async fn cronjob_jobs(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
        cronjob: &str,
    ) -> Result<Vec<String>, KubeError> {
        let c = self.connect(cluster).await?;
        let selector = format!("{},{LABEL_APPLICATION}={cronjob}", cluster.selector());
        let params = ListParams::default().labels(&selector);
        let jobs = Api::<Job>::namespaced(c.client.clone(), namespace)
            .list_metadata(&params)
            .await?;
        let pods = Api::<Pod>::namespaced(c.client.clone(), namespace)
            .list_metadata(&params)
            .await?;
        let mut names: Vec<String> = jobs
            .items
            .into_iter()
            .filter_map(|j| j.metadata.name)
            .chain(
                pods.items
                    .into_iter()
                    .filter_map(|p| p.metadata.labels?.remove("batch.kubernetes.io/job-name")),
            )
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    async fn cronjob_events(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
        cronjob: &str,
    ) -> Result<Vec<CronJobEvent>, KubeError> {
        let c = self.connect(cluster).await?;
        let events = Api::<Event>::namespaced(c.client.clone(), namespace)
            .list(&ListParams::default().fields(&format!(
                "involvedObject.kind=CronJob,involvedObject.name={cronjob}"
            )))
            .await?;
        let mut out: Vec<CronJobEvent> = events
            .items
            .into_iter()
            .map(|e| CronJobEvent {
                reason: e.reason.unwrap_or_default(),
                message: e.message.unwrap_or_default(),
                last_seen: e.last_timestamp.map(|t| t.0).or(e.event_time.map(|t| t.0)),
            })
            .collect();
        out.sort_by_key(|e| e.last_seen);
        Ok(out)
    }
}

/// Adds or removes HKS's finalizer on the cached object, guarded by its
/// resourceVersion: a conflict, a vanished object or a refused addition (the
/// object is being deleted) leaves it for the recorder's next pass.
async fn set_finalizer<K>(
    cache: &Store<K>,
    client: &Client,
    namespace: &str,
    name: &str,
    present: bool,
) -> Result<(), KubeError>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let Some(object) = cache.get(&ObjectRef::new(name).within(namespace)) else {
        return Ok(());
    };
    let Some(patch) = history::finalizer_patch(object.meta(), present) else {
        return Ok(());
    };
    match Api::<K>::namespaced(client.clone(), namespace)
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if matches!(s.code, 404 | 409 | 422) => {
            debug!(%name, code = s.code, "Finalizer change left for the next pass.");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Whether an object is this installation's: it carries its label, or none
/// (it was made before HKS labelled installations).
fn ours(meta: &ObjectMeta, installation: &str) -> bool {
    meta.labels
        .as_ref()
        .and_then(|l| l.get(LABEL_INSTALLATION))
        .is_none_or(|i| i == installation)
}

/// How many objects of one kind [`Gateway::adopt`] labels in one call: a
/// tenant with more has the rest labelled by the next calls.
const ADOPT_PAGE: u32 = 500;

/// What [`Gateway::adopt`] labels, and with what.
struct Adoption<'a> {
    /// [`TenantCluster::unlabelled_selector`].
    selector: String,
    /// The tenant's namespaces start with it.
    prefix: &'a str,
    installation: &'a str,
}

impl Adoption<'_> {
    /// Labels a page of the objects of kind `K` that `all` lists (across
    /// namespaces), each through `api(its namespace)`.
    async fn adopt<K>(&self, all: Api<K>, api: impl Fn(&str) -> Api<K>) -> Result<usize, KubeError>
    where
        K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
    {
        let listed = all
            .list_metadata(
                &ListParams::default()
                    .labels(&self.selector)
                    .limit(ADOPT_PAGE),
            )
            .await?;
        let patch = serde_json::json!({
            "metadata": {"labels": {LABEL_INSTALLATION: self.installation}}
        });
        let mut adopted = 0;
        // A tenant's apiserver need not honour the limit.
        for o in listed.items.iter().take(ADOPT_PAGE as usize) {
            let (Some(name), namespace) = (&o.metadata.name, o.metadata.namespace.as_deref())
            else {
                continue;
            };
            // A namespace is its own; any other object is in one.
            if !namespace.unwrap_or(name).starts_with(self.prefix) {
                continue;
            }
            match api(namespace.unwrap_or_default())
                .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => adopted += 1,
                // Gone since the list: nothing to adopt.
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(adopted)
    }
}

/// Removes HKS's finalizer from every HKS object of kind `K` in `namespace`
/// but another installation's, read from the apiserver (not a cache: the
/// connection may be one HKS no longer watches).
async fn release_all<K>(
    client: &Client,
    namespace: &str,
    installation: &str,
) -> Result<(), KubeError>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let api = Api::<K>::namespaced(client.clone(), namespace);
    let held = api
        .list(&ListParams::default().labels(MANAGED_SELECTOR))
        .await?;
    for object in held
        .items
        .into_iter()
        .filter(|o| ours(o.meta(), installation))
    {
        let Some(patch) = history::finalizer_patch(object.meta(), false) else {
            continue;
        };
        match api
            .patch(
                &object.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
        {
            // Gone, or changed since the list: the next pass sees it again.
            Err(kube::Error::Api(s)) if matches!(s.code, 404 | 409) => {}
            other => drop(other?),
        }
    }
    Ok(())
}

/// Reads a log as the container wrote it: `Api::logs` decodes it as UTF-8
/// and fails on the first byte that is not, which is the run's output, not
/// an outage. At most `limit` bytes are read, whatever the tenant's
/// apiserver sends (it need not honour `limitBytes`).
async fn read_log(
    api: &Api<Pod>,
    pod: &str,
    params: &LogParams,
    limit: Option<usize>,
) -> Result<Vec<u8>, kube::Error> {
    let reader = api.log_stream(pod, params).await?;
    let limit = limit.map_or(u64::MAX, |l| u64::try_from(l).unwrap_or(u64::MAX));
    let mut reader = Box::pin(reader.take(limit));
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .await
        .map_err(kube::Error::ReadEvents)?;
    Ok(bytes)
}

/// A followed log as text, chunk by chunk as the kubelet sends it (not line
/// by line, so a long line without a newline is not buffered); invalid bytes
/// come out as U+FFFD and a character split between chunks is kept whole
/// (one the kubelet's `limitBytes` cut is left out).
fn follow_text(
    reader: impl futures::AsyncBufRead + Send + 'static,
    limit: Option<usize>,
) -> impl futures::Stream<Item = Result<String, KubeError>> + Send + 'static {
    let state = (Box::pin(reader), LossyDecoder::default(), 0_usize, false);
    futures::stream::unfold(
        state,
        move |(mut reader, mut decoder, read, ended)| async move {
            if ended {
                return None;
            }
            let mut buf = vec![0; 16 * 1024];
            let (item, read, ended) = match reader.read(&mut buf).await {
                Ok(0) if limit.is_some_and(|l| read >= l) => (Ok(String::new()), read, true),
                Ok(0) => (Ok(decoder.finish()), read, true),
                Ok(n) => (Ok(decoder.push(&buf[..n])), read + n, false),
                Err(e) => (Err(KubeError::Unreachable(Box::new(e))), read, true),
            };
            Some((item, (reader, decoder, read, ended)))
        },
    )
    .try_filter(|text| futures::future::ready(!text.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kc(user: &str) -> Kubeconfig {
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:6443\n\
             contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user:\n{user}"
        );
        Kubeconfig::from_yaml(&text).unwrap()
    }

    #[test]
    fn kubeconfigs_must_be_self_contained() {
        assert!(self_contained(&kc("    token: abc\n")).is_ok());
        assert!(
            self_contained(&kc(
                "    client-certificate-data: YQ==\n    client-key-data: YQ==\n"
            ))
            .is_ok()
        );
        assert!(self_contained(&kc("    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /bin/sh\n")).is_err());
        assert!(self_contained(&kc("    tokenFile: /etc/shadow\n")).is_err());
        assert!(
            self_contained(&kc(
                "    client-certificate: /etc/cert\n    client-key: /etc/key\n"
            ))
            .is_err()
        );
    }

    /// The bound is noted once, with the kind that went over first, and
    /// from then on every read that needs the caches is refused with it.
    #[tokio::test]
    async fn a_bound_once_exceeded_refuses_reads_with_the_first_kind() {
        let limit = Limit::new(5);
        assert!(limit.check().is_ok());
        let mut stopped = limit.over.subscribe();
        limit.exceeded("Pod", "t1");
        limit.exceeded("CronJob", "t1");
        stopped.changed().await.unwrap();
        assert!(matches!(
            limit.check(),
            Err(KubeError::TooManyObjects {
                kind: "Pod",
                limit: 5
            })
        ));
        assert_eq!(limit.over().unwrap().kind, "Pod");
    }

    /// A followed log passes on what the container wrote at once, in
    /// pieces of at most the read buffer: a line without a newline is never
    /// held back, however long.
    #[tokio::test]
    async fn a_followed_line_without_newline_is_passed_on_in_pieces() {
        let (tx, rx) = futures::channel::mpsc::unbounded::<std::io::Result<Vec<u8>>>();
        tx.unbounded_send(Ok(vec![b'x'; 100 * 1024])).unwrap();
        tx.unbounded_send(Ok("é".as_bytes()[..1].to_vec())).unwrap();
        // The sender stays: the container is still running.
        let mut text = Box::pin(follow_text(rx.into_async_read(), None));
        let mut got = String::new();
        // A generous ceiling: it takes microseconds, and never ends if held back.
        tokio::time::timeout(Duration::from_secs(60), async {
            while got.len() < 100 * 1024 {
                let piece = text.next().await.unwrap().unwrap();
                assert!(piece.len() <= 16 * 1024, "{} bytes at once", piece.len());
                got.push_str(&piece);
            }
        })
        .await
        .expect("the line passed on before it ended");
        assert_eq!(got, "x".repeat(100 * 1024));
        tx.unbounded_send(Ok("é".as_bytes()[1..].to_vec())).unwrap();
        assert_eq!(text.next().await.unwrap().unwrap(), "é");
    }
}
