//! An in-memory [`Gateway`] for tests: a small model of one cluster per
//! tenant, faithful in what HKS reads and writes, driven by the test in the
//! place of Kubernetes' controllers.
//!
//! What it models:
//! - **Applied objects** (Namespaces, Deployments, Services, CronJobs), each
//!   with a `metadata.generation` that goes up when its content changes, by
//!   an apply or by hand ([`FakeGateway::edit`], [`FakeGateway::remove`]).
//! - **Runs as real `Job` and `Pod` objects.** Run now builds its Job with
//!   [`hks_core::manifest::manual_job`] from the applied CronJob, as the live
//!   gateway does; the test plays the CronJob controller
//!   ([`FakeGateway::schedule_run`]: a Job named `<cronjob>-<minutes>`,
//!   stamped with its scheduled time, from the CronJob's `jobTemplate`,
//!   without HKS's finalizer) and the Job controller
//!   ([`FakeGateway::start_attempt`], [`FakeGateway::end_attempt`],
//!   [`FakeGateway::end_run`]: pods from the Job's template, so they carry the
//!   template's finalizers, Job conditions and times as Kubernetes sets
//!   them). Runs, `observe` and `cluster_runs` are derived from these objects
//!   by the same functions the live gateway uses ([`hks_core::run`],
//!   [`crate::recorded`]), so nothing about a run's result is made up here.
//! - **Each attempt's log**: the bytes the test gives, any size, served by
//!   `logs` (with the kubelet's `tailLines` and `limitBytes`) and
//!   `attempt_log` while the pod exists. [`FakeGateway::set_logs_unavailable`]
//!   makes log reads fail as when the kubelet does not answer.
//! - **Finalizers and deletion.** `set_finalizer` adds or removes HKS's finalizer
//!   ([`FINALIZER_ARCHIVE`]); pods also carry the Job controller's tracking
//!   finalizer until their attempt ends. Deleting an object that still has
//!   finalizers only sets its `deletionTimestamp`; it goes when the last one
//!   is removed. Deleting a Job ([`FakeGateway::delete_job`], as the CronJob
//!   controller's history cleanup does, in the background) then deletes its
//!   pods once the Job itself is gone: a held pod stays, with its log, until
//!   released; an unheld one disappears at once. Deleting a CronJob deletes
//!   the Jobs it owns; deleting a Namespace deletes everything in it.
//! - **CronJob events** ([`FakeGateway::add_event`]), the reasons of missed runs.
//! - **A view version**: a count of changes, bumped by every change as the
//!   live gateway counts watch events, so the run recorder's level-triggered
//!   pass and the list cache see each change; `None` while unreachable.
//!
//! [`FakeGateway::set_unreachable`] makes every call fail as if the
//! apiserver were down; [`FakeGateway::set_hanging`] makes one tenant's
//! calls wait without an answer, as a slow or hostile apiserver would;
//! [`FakeGateway::set_over_limit`] makes one tenant's reads of the watch
//! caches fail as when its cluster has more HKS objects than they hold.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use futures::stream::BoxStream;
use hks_core::labels::{
    ANNOTATION_SCHEDULED_TIMESTAMP, FINALIZER_ARCHIVE, LABEL_APPLICATION, LABEL_CONTROLLER_UID,
    LABEL_JOB_NAME,
};
use hks_core::logtext::{self, LossyDecoder};
use hks_core::manifest::{Start, container_of_job, container_of_pod, started_job};
use hks_core::run::{Run, RunResult, run, sort_newest_first};
use hks_core::spec::RunOverrides;
use jiff::Timestamp;
use k8s_openapi::api::batch::v1::{CronJob, Job, JobCondition, JobStatus};
use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStatus,
    Pod, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};

use crate::{
    Applied, CancelOutcome, ClusterRun, CronJobEvent, Gateway, KubeError, LogOptions, LogTail,
    Object, ObjectKey, Observed, ObservedCronJob, RunObject, TenantCluster, read_within_total,
};

/// The Job controller's finalizer on the pods it tracks.
const FINALIZER_JOB_TRACKING: &str = "batch.kubernetes.io/job-tracking";

/// A namespaced object of a tenant's cluster: (tenant id, namespace, name).
type Key = (String, String, String);

/// A Job condition that is true since `at`, as the Job controller sets it.
fn job_condition(
    kind: &str,
    reason: Option<&str>,
    message: Option<&str>,
    at: Timestamp,
) -> JobCondition {
    JobCondition {
        type_: kind.to_owned(),
        status: "True".into(),
        reason: reason.map(str::to_owned),
        message: message.map(str::to_owned),
        last_transition_time: time(at),
        last_probe_time: time(at),
    }
}

fn key(tenant_id: &str, namespace: &str, name: &str) -> Key {
    (tenant_id.to_owned(), namespace.to_owned(), name.to_owned())
}

#[derive(Debug, Default)]
pub struct FakeGateway {
    unreachable: AtomicBool,
    /// Tenants whose calls never get an answer ([`FakeGateway::set_hanging`]).
    hanging: Mutex<BTreeSet<String>>,
    /// Tenants whose watches went over the bound ([`FakeGateway::set_over_limit`]).
    over_limit: Mutex<BTreeSet<String>>,
    logs_unavailable: AtomicBool,
    applies: AtomicUsize,
    /// Counts changes, as the live gateway counts watch events.
    version: AtomicU64,
    cluster: Arc<Mutex<Cluster>>,
    /// Wakes followed logs on every change.
    changes: Arc<tokio::sync::Notify>,
    /// The namespaces `retire` was asked for, in order.
    retired: Mutex<Vec<String>>,
    /// Tenants whose watch caches lag ([`FakeGateway::set_caches_lagging`]):
    /// the Jobs and pods `cluster_runs` answers with, as they were.
    lagging: Mutex<BTreeMap<String, CachedRuns>>,
}

/// What a tenant's watch caches hold: its Jobs and pods.
type CachedRuns = (Vec<Arc<Job>>, Vec<Arc<Pod>>);

/// Everything the fake's clusters hold.
#[derive(Debug, Default)]
struct Cluster {
    /// Each applied object with its generation, bumped when its content changes.
    objects: BTreeMap<(String, ObjectKey), (Object, i64)>,
    jobs: BTreeMap<Key, Job>,
    pods: BTreeMap<Key, Pod>,
    /// The log of each pod whose container started, by the pod's key.
    logs: BTreeMap<Key, Vec<u8>>,
    /// Events by CronJob key, oldest first.
    events: BTreeMap<Key, Vec<CronJobEvent>>,
    /// How often each pod's whole log was read by `attempt_log`.
    log_reads: BTreeMap<Key, usize>,
    /// Pods whose log reads fail (their node's kubelet does not answer).
    unreadable: BTreeSet<Key>,
    /// For unique names and uids.
    serial: u64,
}

fn has_finalizer(meta: &ObjectMeta) -> bool {
    meta.finalizers
        .as_ref()
        .is_some_and(|f| f.iter().any(|f| f == FINALIZER_ARCHIVE))
}

fn cronjob_uid(name: &str) -> String {
    format!("uid-{name}")
}

fn time(t: Timestamp) -> Option<Time> {
    Some(Time(t))
}

/// The kubelet's `tailLines`, then `limitBytes`: over bytes, so a limit may
/// split a character, as the kubelet's does.
fn clip<'a>(log: &'a [u8], options: &LogOptions) -> &'a [u8] {
    let mut out = log;
    if let Some(n) = options.tail_lines.and_then(|n| usize::try_from(n).ok()) {
        let body = out.strip_suffix(b"\n").unwrap_or(out);
        let start = if n == 0 {
            out.len()
        } else {
            body.iter()
                .enumerate()
                .rev()
                .filter(|(_, b)| **b == b'\n')
                .nth(n - 1)
                .map_or(0, |(i, _)| i + 1)
        };
        out = &out[start..];
    }
    head(out, options.limit_bytes)
}

/// At most `limit` bytes from the start.
fn head(log: &[u8], limit: Option<i64>) -> &[u8] {
    match limit.and_then(|l| usize::try_from(l).ok()) {
        Some(limit) if log.len() > limit => &log[..limit],
        _ => log,
    }
}

/// The pod's container is running: its log may grow.
fn running(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none()
        && pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
}

fn limit(options: &LogOptions) -> Option<usize> {
    options.limit_bytes.and_then(|l| usize::try_from(l).ok())
}

impl Cluster {
    fn serial(&mut self) -> u64 {
        self.serial += 1;
        self.serial
    }

    fn cronjob(&self, tenant_id: &str, namespace: &str, name: &str) -> Option<CronJob> {
        let key = ObjectKey {
            kind: crate::Kind::CronJob,
            namespace: Some(namespace.to_owned()),
            name: name.to_owned(),
        };
        match self.objects.get(&(tenant_id.to_owned(), key)) {
            Some((Object::CronJob(cj), _)) => {
                let mut cj = cj.clone();
                cj.metadata.uid = Some(cronjob_uid(name));
                Some(cj)
            }
            _ => None,
        }
    }

    /// The pods of a Job, oldest first.
    fn pods_of(&self, k: &Key) -> Vec<(Key, &Pod)> {
        let mut pods: Vec<(Key, &Pod)> = self
            .pods
            .iter()
            .filter(|((t, ns, _), p)| {
                *t == k.0
                    && *ns == k.1
                    && p.metadata
                        .labels
                        .as_ref()
                        .and_then(|l| l.get(LABEL_JOB_NAME))
                        == Some(&k.2)
            })
            .map(|(k, p)| (k.clone(), p))
            .collect();
        pods.sort_by_key(|(_, p)| {
            (
                p.metadata.creation_timestamp.as_ref().map(|t| t.0),
                p.metadata.name.clone(),
            )
        });
        pods
    }

    /// Deletes a pod: it goes at once unless a finalizer keeps it; a pod
    /// still running is stopped (the kubelet's SIGTERM).
    fn delete_pod(&mut self, k: &Key) {
        let Some(pod) = self.pods.get_mut(k) else {
            return;
        };
        if pod.metadata.finalizers.as_ref().is_none_or(Vec::is_empty) {
            self.pods.remove(k);
            self.logs.remove(k);
            return;
        }
        if pod.metadata.deletion_timestamp.is_none() {
            pod.metadata.deletion_timestamp = time(Timestamp::now());
            if pod_phase(pod) == Some("Running") {
                terminate(pod, 143, Timestamp::now());
            }
        }
    }

    /// Deletes a Job in the background: it goes at once unless a finalizer
    /// keeps it; once it is gone, its pods are deleted.
    fn delete_job(&mut self, k: &Key) {
        let Some(job) = self.jobs.get_mut(k) else {
            return;
        };
        if job.metadata.finalizers.as_ref().is_none_or(Vec::is_empty) {
            self.jobs.remove(k);
            let pods: Vec<Key> = self.pods_of(k).into_iter().map(|(k, _)| k).collect();
            for p in pods {
                self.delete_pod(&p);
            }
        } else if job.metadata.deletion_timestamp.is_none() {
            job.metadata.deletion_timestamp = time(Timestamp::now());
        }
    }

    /// Removes a finalizer; an object being deleted goes with its last one.
    fn drop_finalizer(&mut self, kind: RunObject, k: &Key, finalizer: &str) -> bool {
        let meta = match kind {
            RunObject::Job => self.jobs.get_mut(k).map(|j| &mut j.metadata),
            RunObject::Pod => self.pods.get_mut(k).map(|p| &mut p.metadata),
        };
        let Some(meta) = meta else { return false };
        let Some(list) = meta.finalizers.as_mut() else {
            return false;
        };
        let before = list.len();
        list.retain(|f| f != finalizer);
        if list.len() == before {
            return false;
        }
        if list.is_empty() && meta.deletion_timestamp.is_some() {
            match kind {
                RunObject::Job => self.delete_job(k),
                RunObject::Pod => self.delete_pod(k),
            }
        }
        true
    }

    fn job_mut(&mut self, k: &Key) -> &mut Job {
        self.jobs
            .get_mut(k)
            .unwrap_or_else(|| panic!("the fake cluster has no Job {k:?}"))
    }
}

fn pod_phase(pod: &Pod) -> Option<&str> {
    pod.status.as_ref()?.phase.as_deref()
}

/// The container of `pod` ends with `exit_code` at `at`.
fn terminate(pod: &mut Pod, exit_code: i32, at: Timestamp) {
    let status = pod.status.get_or_insert_with(PodStatus::default);
    let started = status.start_time.clone();
    status.phase = Some(
        if exit_code == 0 {
            "Succeeded"
        } else {
            "Failed"
        }
        .into(),
    );
    for c in status.container_statuses.iter_mut().flatten() {
        c.ready = false;
        c.state = Some(ContainerState {
            terminated: Some(ContainerStateTerminated {
                exit_code,
                reason: Some(if exit_code == 0 { "Completed" } else { "Error" }.into()),
                started_at: started.clone(),
                finished_at: time(at),
                ..ContainerStateTerminated::default()
            }),
            ..ContainerState::default()
        });
    }
    if let Some(f) = pod.metadata.finalizers.as_mut() {
        f.retain(|f| f != FINALIZER_JOB_TRACKING);
    }
}

impl FakeGateway {
    pub fn new() -> Self {
        Self::default()
    }

    /// The namespaces retired so far, in order.
    pub fn retired(&self) -> Vec<String> {
        self.retired
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn cluster(&self) -> MutexGuard<'_, Cluster> {
        self.cluster.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn changed(&self) {
        self.version.fetch_add(1, Ordering::AcqRel);
        self.changes.notify_waiters();
    }

    /// The running attempt `pod` writes `bytes` to its log (a followed
    /// log gets them at once).
    ///
    /// # Panics
    /// When the pod's container has not started.
    pub fn write_log(&self, tenant_id: &str, namespace: &str, pod: &str, bytes: &[u8]) {
        let pk = key(tenant_id, namespace, pod);
        self.cluster()
            .logs
            .get_mut(&pk)
            .unwrap_or_else(|| panic!("the fake cluster has no started pod {pk:?}"))
            .extend_from_slice(bytes);
        self.changed();
    }

    /// From now on every call fails as if the apiserver were down (or works again).
    /// From now until called with `false`, the tenant's watch caches
    /// (what [`Gateway::cluster_runs`] reads) keep what the cluster holds
    /// now, as after an outage before the watches caught up; direct reads
    /// (like [`Gateway::cronjob_jobs`]) see the cluster as it is.
    pub fn set_caches_lagging(&self, tenant_id: &str, lagging: bool) {
        let now = lagging.then(|| self.cached_runs(tenant_id));
        let mut map = self.lagging.lock().unwrap_or_else(|e| e.into_inner());
        match now {
            Some(runs) => {
                map.insert(tenant_id.to_owned(), runs);
            }
            None => {
                map.remove(tenant_id);
            }
        }
        drop(map);
        self.changed();
    }

    fn cached_runs(&self, tenant_id: &str) -> CachedRuns {
        let c = self.cluster();
        let mine = |(t, _, _): &&Key| *t == tenant_id;
        let jobs = c
            .jobs
            .iter()
            .filter(|(k, _)| mine(k))
            .map(|(_, j)| Arc::new(j.clone()))
            .collect();
        let pods = c
            .pods
            .iter()
            .filter(|(k, _)| mine(k))
            .map(|(_, p)| Arc::new(p.clone()))
            .collect();
        (jobs, pods)
    }

    pub fn set_unreachable(&self, down: bool) {
        self.unreachable.store(down, Ordering::SeqCst);
    }

    /// From now on every call about this tenant's cluster waits, without
    /// an answer, until this is called again with `false`, as a tenant
    /// apiserver that accepts connections and never answers; other
    /// tenants' calls are answered as before.
    pub fn set_hanging(&self, tenant_id: &str, hangs: bool) {
        let mut hanging = self.hanging.lock().unwrap_or_else(|e| e.into_inner());
        if hangs {
            hanging.insert(tenant_id.to_owned());
        } else {
            hanging.remove(tenant_id);
        }
    }

    /// From now on this tenant's reads of the watch caches (`observe`,
    /// `cluster_runs`, `set_finalizer`) fail with
    /// [`KubeError::TooManyObjects`] and its view version is `None`, as the
    /// live gateway's while the tenant's cluster has more HKS objects than
    /// a cache holds (or work again); its other calls, and other tenants',
    /// work as before.
    pub fn set_over_limit(&self, tenant_id: &str, over: bool) {
        let mut set = self.over_limit.lock().unwrap_or_else(|e| e.into_inner());
        if over {
            set.insert(tenant_id.to_owned());
        } else {
            set.remove(tenant_id);
        }
    }

    /// What a read of a tenant's watch caches goes through: [`FakeGateway::enter`],
    /// then the bound ([`FakeGateway::set_over_limit`]).
    async fn cached(&self, tenant_id: &str) -> Result<(), KubeError> {
        self.enter(tenant_id).await?;
        if self.is_over_limit(tenant_id) {
            return Err(KubeError::TooManyObjects {
                kind: "CronJob",
                limit: 20_000,
            });
        }
        Ok(())
    }

    fn is_over_limit(&self, tenant_id: &str) -> bool {
        self.over_limit
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(tenant_id)
    }

    /// From now on reading a log fails as when the kubelet does not answer
    /// (or works again); everything else works.
    pub fn set_logs_unavailable(&self, unavailable: bool) {
        self.logs_unavailable.store(unavailable, Ordering::SeqCst);
    }

    /// From now on reading this one pod's log fails as when its node's
    /// kubelet does not answer (or works again); other pods' logs work.
    pub fn set_log_unreadable(
        &self,
        tenant_id: &str,
        namespace: &str,
        pod: &str,
        unreadable: bool,
    ) {
        let k = key(tenant_id, namespace, pod);
        let mut c = self.cluster();
        if unreadable {
            c.unreadable.insert(k);
        } else {
            c.unreadable.remove(&k);
        }
    }

    /// The objects applied to a tenant's cluster.
    pub fn objects(&self, tenant_id: &str) -> Vec<Object> {
        self.cluster()
            .objects
            .iter()
            .filter(|((t, _), _)| t == tenant_id)
            .map(|(_, (o, _))| o.clone())
            .collect()
    }

    /// How many objects were applied so far.
    pub fn applies(&self) -> usize {
        self.applies.load(Ordering::SeqCst)
    }

    /// Changes an object as someone with kubectl would (its generation goes up).
    pub fn edit(&self, tenant_id: &str, key: &ObjectKey, change: impl FnOnce(&mut Object)) {
        let mut cluster = self.cluster();
        if let Some((o, generation)) = cluster
            .objects
            .get_mut(&(tenant_id.to_owned(), key.clone()))
        {
            change(o);
            *generation += 1;
            self.changed();
        }
    }

    /// Removes an object as if someone deleted it by hand.
    pub fn remove(&self, tenant_id: &str, key: &ObjectKey) {
        if self
            .cluster()
            .objects
            .remove(&(tenant_id.to_owned(), key.clone()))
            .is_some()
        {
            self.changed();
        }
    }

    /// The CronJob controller starts the run scheduled for `at`: a Job named
    /// `<cronjob>-<minutes since the epoch>`, created at `at` from the
    /// CronJob's `jobTemplate`, owned by the CronJob and stamped with the
    /// scheduled time. Like the controller, it does not add HKS's finalizer
    /// to the Job (the recorder does; the pod template has it). Returns the
    /// Job's name.
    ///
    /// # Panics
    /// When the CronJob was not applied.
    pub fn schedule_run(
        &self,
        tenant_id: &str,
        namespace: &str,
        cronjob: &str,
        at: Timestamp,
    ) -> String {
        let mut cluster = self.cluster();
        let cj = cluster
            .cronjob(tenant_id, namespace, cronjob)
            .unwrap_or_else(|| panic!("the fake cluster has no CronJob {namespace}/{cronjob}"));
        let name = format!("{cronjob}-{}", at.as_second().div_euclid(60));
        let template = cj.spec.job_template;
        let meta = template.metadata.unwrap_or_default();
        let serial = cluster.serial();
        let mut annotations = meta.annotations.unwrap_or_default();
        annotations.insert(ANNOTATION_SCHEDULED_TIMESTAMP.to_owned(), at.to_string());
        let job = Job {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(namespace.to_owned()),
                uid: Some(format!("uid-job-{serial}")),
                creation_timestamp: time(at),
                labels: meta.labels,
                annotations: Some(annotations),
                owner_references: Some(vec![OwnerReference {
                    api_version: "batch/v1".into(),
                    kind: "CronJob".into(),
                    name: cronjob.to_owned(),
                    uid: cronjob_uid(cronjob),
                    controller: Some(true),
                    block_owner_deletion: Some(true),
                }]),
                ..ObjectMeta::default()
            },
            spec: template.spec,
            status: None,
        };
        cluster.jobs.insert(key(tenant_id, namespace, &name), job);
        self.changed();
        name
    }

    /// The Job controller starts an attempt of `job` at `at`: a pod from the
    /// Job's pod template (its labels and finalizers, HKS's among them) with
    /// the Job controller's labels and tracking finalizer, running. Returns
    /// the pod's name.
    ///
    /// # Panics
    /// When the Job does not exist.
    pub fn start_attempt(
        &self,
        tenant_id: &str,
        namespace: &str,
        job: &str,
        at: Timestamp,
    ) -> String {
        let mut cluster = self.cluster();
        let k = key(tenant_id, namespace, job);
        let attempt = cluster.pods_of(&k).len() + 1;
        let j = cluster.job_mut(&k);
        let uid = j.metadata.uid.clone().unwrap_or_default();
        let template = j
            .spec
            .as_ref()
            .map(|s| s.template.clone())
            .unwrap_or_default();
        let status = j.status.get_or_insert_with(JobStatus::default);
        status.start_time.get_or_insert(Time(at));
        status.active = Some(1);
        let meta = template.metadata.unwrap_or_default();
        let mut labels = meta.labels.unwrap_or_default();
        for (k, v) in [
            (LABEL_JOB_NAME, job),
            ("job-name", job),
            (LABEL_CONTROLLER_UID, &uid),
            ("controller-uid", &uid),
        ] {
            labels.insert(k.to_owned(), v.to_owned());
        }
        let mut finalizers = meta.finalizers.unwrap_or_default();
        finalizers.push(FINALIZER_JOB_TRACKING.to_owned());
        let name = format!("{job}-a{attempt}");
        let pod_spec = template.spec.clone().unwrap_or_default();
        let containers = template
            .spec
            .unwrap_or_default()
            .containers
            .into_iter()
            .map(|c| ContainerStatus {
                name: c.name,
                image: c.image.unwrap_or_default(),
                ready: true,
                state: Some(ContainerState {
                    running: Some(ContainerStateRunning {
                        started_at: time(at),
                    }),
                    ..ContainerState::default()
                }),
                ..ContainerStatus::default()
            })
            .collect();
        let pod = Pod {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(namespace.to_owned()),
                creation_timestamp: time(at),
                labels: Some(labels),
                finalizers: Some(finalizers),
                owner_references: Some(vec![OwnerReference {
                    api_version: "batch/v1".into(),
                    kind: "Job".into(),
                    name: job.to_owned(),
                    uid,
                    controller: Some(true),
                    block_owner_deletion: Some(true),
                }]),
                ..ObjectMeta::default()
            },
            spec: Some(pod_spec),
            status: Some(PodStatus {
                phase: Some("Running".into()),
                start_time: time(at),
                container_statuses: Some(containers),
                ..PodStatus::default()
            }),
        };
        let pk = key(tenant_id, namespace, &name);
        cluster.pods.insert(pk.clone(), pod);
        cluster.logs.insert(pk, Vec::new());
        self.changed();
        name
    }

    /// The attempt `pod` ends at `at` with `exit_code` (Succeeded for 0,
    /// Failed otherwise) after logging `log`; the Job controller counts it
    /// and drops its tracking finalizer.
    ///
    /// # Panics
    /// When the pod does not exist.
    pub fn end_attempt(
        &self,
        tenant_id: &str,
        namespace: &str,
        pod: &str,
        exit_code: i32,
        log: impl Into<Vec<u8>>,
        at: Timestamp,
    ) {
        let mut cluster = self.cluster();
        let pk = key(tenant_id, namespace, pod);
        let p = cluster
            .pods
            .get_mut(&pk)
            .unwrap_or_else(|| panic!("the fake cluster has no pod {pk:?}"));
        terminate(p, exit_code, at);
        let job = p
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(LABEL_JOB_NAME))
            .cloned()
            .unwrap_or_default();
        cluster.logs.insert(pk, log.into());
        if let Some(j) = cluster.jobs.get_mut(&key(tenant_id, namespace, &job)) {
            let status = j.status.get_or_insert_with(JobStatus::default);
            status.active = Some(0);
            let count = if exit_code == 0 {
                &mut status.succeeded
            } else {
                &mut status.failed
            };
            *count = Some(count.unwrap_or(0) + 1);
        }
        self.changed();
    }

    /// The Job controller ends the run at `at`: complete when its last
    /// attempt succeeded, else failed (`BackoffLimitExceeded`).
    ///
    /// # Panics
    /// When the Job does not exist.
    pub fn end_run(&self, tenant_id: &str, namespace: &str, job: &str, at: Timestamp) {
        let mut cluster = self.cluster();
        let k = key(tenant_id, namespace, job);
        let succeeded = cluster
            .pods_of(&k)
            .last()
            .is_some_and(|(_, p)| pod_phase(p) == Some("Succeeded"));
        let condition = |kind: &str, reason: Option<&str>, message: Option<&str>| {
            job_condition(kind, reason, message, at)
        };
        let status = cluster
            .job_mut(&k)
            .status
            .get_or_insert_with(JobStatus::default);
        status.active = Some(0);
        if succeeded {
            status.completion_time = time(at);
            status.conditions = Some(vec![
                condition("SuccessCriteriaMet", Some("CompletionsReached"), None),
                condition("Complete", Some("CompletionsReached"), None),
            ]);
        } else {
            let message = "Job has reached the specified backoff limit";
            status.conditions = Some(vec![
                condition("FailureTarget", Some("BackoffLimitExceeded"), Some(message)),
                condition("Failed", Some("BackoffLimitExceeded"), Some(message)),
            ]);
        }
        self.changed();
    }

    /// A whole run now: one attempt that logs `log` and exits with
    /// `exit_code`, and the run's end. Returns the attempt's pod name.
    pub fn finish_run(
        &self,
        tenant_id: &str,
        namespace: &str,
        job: &str,
        exit_code: i32,
        log: impl Into<Vec<u8>>,
    ) -> String {
        let now = Timestamp::now();
        let pod = self.start_attempt(tenant_id, namespace, job, now);
        self.end_attempt(tenant_id, namespace, &pod, exit_code, log, now);
        self.end_run(tenant_id, namespace, job, now);
        pod
    }

    /// Deletes a Job as the CronJob controller's history cleanup does (in the
    /// background): a Job HKS holds stays, being deleted, until released;
    /// once it is gone its pods are deleted, and of those a held one stays
    /// with its log until released, an unheld one disappears.
    pub fn delete_job(&self, tenant_id: &str, namespace: &str, job: &str) {
        self.cluster().delete_job(&key(tenant_id, namespace, job));
        self.changed();
    }

    /// Kubernetes records an event about a CronJob (for example
    /// `JobAlreadyActive` when a scheduled time did not start a run).
    pub fn add_event(&self, tenant_id: &str, namespace: &str, cronjob: &str, event: CronJobEvent) {
        self.cluster()
            .events
            .entry(key(tenant_id, namespace, cronjob))
            .or_default()
            .push(event);
    }

    /// A Job as the cluster has it now.
    pub fn job(&self, tenant_id: &str, namespace: &str, name: &str) -> Option<Job> {
        self.cluster()
            .jobs
            .get(&key(tenant_id, namespace, name))
            .cloned()
    }

    /// A pod as the cluster has it now.
    pub fn pod(&self, tenant_id: &str, namespace: &str, name: &str) -> Option<Pod> {
        self.cluster()
            .pods
            .get(&key(tenant_id, namespace, name))
            .cloned()
    }

    /// Whether a Job or pod carries HKS's finalizer; `None` when it is gone.
    pub fn has_finalizer(
        &self,
        tenant_id: &str,
        namespace: &str,
        kind: RunObject,
        name: &str,
    ) -> Option<bool> {
        let cluster = self.cluster();
        let k = key(tenant_id, namespace, name);
        match kind {
            RunObject::Job => cluster.jobs.get(&k).map(|j| has_finalizer(&j.metadata)),
            RunObject::Pod => cluster.pods.get(&k).map(|p| has_finalizer(&p.metadata)),
        }
    }

    /// How often a pod's whole log was read for archiving (`attempt_log`),
    /// answered or not.
    pub fn log_reads(&self, tenant_id: &str, namespace: &str, pod: &str) -> usize {
        self.cluster()
            .log_reads
            .get(&key(tenant_id, namespace, pod))
            .copied()
            .unwrap_or(0)
    }

    /// What every call about a tenant's cluster goes through: it waits while
    /// the tenant's apiserver hangs, then fails if the cluster is down.
    async fn enter(&self, tenant_id: &str) -> Result<(), KubeError> {
        while self.is_hanging(tenant_id) {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        self.check()
    }

    fn is_hanging(&self, tenant_id: &str) -> bool {
        self.hanging
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(tenant_id)
    }

    fn check(&self) -> Result<(), KubeError> {
        if self.unreachable.load(Ordering::SeqCst) {
            Err(KubeError::Unreachable("connection refused (fake)".into()))
        } else {
            Ok(())
        }
    }

    fn check_logs(&self) -> Result<(), KubeError> {
        self.check()?;
        if self.logs_unavailable.load(Ordering::SeqCst) {
            Err(KubeError::Unreachable(
                "the kubelet does not answer (fake)".into(),
            ))
        } else {
            Ok(())
        }
    }

    /// The pods of `cronjob`'s run `run` with their logs, oldest first; a
    /// run that is gone, or another CronJob's, is not found.
    fn run_logs(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
        cronjob: &str,
        run: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, KubeError> {
        let c = self.cluster();
        let k = key(cluster.tenant_id, namespace, run);
        let job = c.jobs.get(&k).ok_or(KubeError::NotFound)?;
        if !crate::of_cronjob(&job.metadata, cronjob) {
            return Err(KubeError::NotFound);
        }
        Ok(c.pods_of(&k)
            .into_iter()
            .map(|(pk, p)| {
                (
                    p.metadata.name.clone().unwrap_or_default(),
                    // A container that has not started has no log yet.
                    c.logs.get(&pk).cloned().unwrap_or_default(),
                )
            })
            .collect())
    }
}

#[async_trait]
impl Gateway for FakeGateway {
    async fn apply(
        &self,
        cluster: TenantCluster<'_>,
        objects: &[Object],
    ) -> Result<Vec<Applied>, KubeError> {
        self.enter(cluster.tenant_id).await?;
        let mut c = self.cluster();
        let mut applied = vec![];
        for o in objects {
            self.applies.fetch_add(1, Ordering::SeqCst);
            let key = o.key();
            let entry = c
                .objects
                .entry((cluster.tenant_id.to_owned(), key.clone()))
                .or_insert_with(|| (o.clone(), 0));
            if entry.1 == 0 || entry.0 != *o {
                *entry = (o.clone(), entry.1 + 1);
                self.changed();
            }
            applied.push(Applied {
                key,
                generation: Some(entry.1),
            });
        }
        Ok(applied)
    }

    async fn dry_run(
        &self,
        cluster: TenantCluster<'_>,
        _objects: &[Object],
    ) -> Result<(), KubeError> {
        self.enter(cluster.tenant_id).await
    }

    async fn delete(&self, cluster: TenantCluster<'_>, key: &ObjectKey) -> Result<(), KubeError> {
        self.enter(cluster.tenant_id).await?;
        let mut c = self.cluster();
        let tenant = cluster.tenant_id;
        c.objects.remove(&(tenant.to_owned(), key.clone()));
        let doomed: Vec<Key> = match (key.kind, key.namespace.as_deref()) {
            // Garbage collection: the Jobs the CronJob owns (Run now Jobs too).
            (crate::Kind::CronJob, Some(ns)) => c
                .jobs
                .iter()
                .filter(|((t, n, _), j)| {
                    t == tenant
                        && n == ns
                        && j.metadata
                            .owner_references
                            .iter()
                            .flatten()
                            .any(|o| o.kind == "CronJob" && o.uid == cronjob_uid(&key.name))
                })
                .map(|(k, _)| k.clone())
                .collect(),
            // The namespace controller: everything in it.
            (crate::Kind::Namespace, _) => {
                let ns = key.name.as_str();
                c.objects
                    .retain(|(t, k), _| !(t == tenant && k.namespace.as_deref() == Some(ns)));
                let in_ns = |(t, n, _): &Key| t == tenant && n == ns;
                let pods: Vec<Key> = c.pods.keys().filter(|k| in_ns(k)).cloned().collect();
                for p in pods {
                    c.delete_pod(&p);
                }
                c.jobs.keys().filter(|k| in_ns(k)).cloned().collect()
            }
            _ => vec![],
        };
        for j in doomed {
            c.delete_job(&j);
        }
        self.changed();
        Ok(())
    }

    async fn observe(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
    ) -> Result<Observed, KubeError> {
        self.cached(cluster.tenant_id).await?;
        let c = self.cluster();
        let mut observed = Observed {
            fresh: true,
            ..Observed::default()
        };
        let mut runs: BTreeMap<String, Vec<Run>> = BTreeMap::new();
        // What the CronJob controller keeps in each CronJob's status, from
        // the Jobs it created (Run now Jobs are not its own).
        let mut status: BTreeMap<String, (usize, Option<Timestamp>, Option<Timestamp>)> =
            BTreeMap::new();
        for (k, job) in c
            .jobs
            .iter()
            .filter(|((t, ns, _), _)| t == cluster.tenant_id && ns == namespace)
        {
            let Some(app) = job
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(LABEL_APPLICATION))
            else {
                continue;
            };
            let pods: Vec<&Pod> = c.pods_of(k).into_iter().map(|(_, p)| p).collect();
            let r = run(job, &pods);
            let controlled = job
                .metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| o.controller == Some(true) && o.kind == "CronJob");
            if controlled {
                let s = status.entry(app.clone()).or_default();
                s.0 += usize::from(!r.result.is_final());
                s.1 = s.1.max(r.scheduled_at);
                if r.result == RunResult::Succeeded {
                    s.2 = s.2.max(r.finished_at);
                }
            }
            runs.entry(app.clone()).or_default().push(r);
        }
        for list in runs.values_mut() {
            sort_newest_first(list);
        }
        for ((t, key), (o, generation)) in c.objects.iter() {
            if let (true, Some(ns), Object::CronJob(cj)) =
                (t == cluster.tenant_id, &key.namespace, o)
                && ns == namespace
            {
                let (active, last_schedule_time, last_successful_time) =
                    status.get(&key.name).copied().unwrap_or_default();
                observed.cronjobs.insert(
                    key.name.clone(),
                    ObservedCronJob {
                        name: key.name.clone(),
                        uid: Some(cronjob_uid(&key.name)),
                        generation: Some(*generation),
                        schedule: cj.spec.schedule.clone(),
                        time_zone: cj.spec.time_zone.clone(),
                        suspend: cj.spec.suspend.unwrap_or(false),
                        active,
                        last_schedule_time,
                        last_successful_time,
                    },
                );
            }
        }
        observed.runs = runs;
        Ok(observed)
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
        self.enter(cluster.tenant_id).await?;
        let mut c = self.cluster();
        let cj = c
            .cronjob(cluster.tenant_id, namespace, cronjob)
            .ok_or(KubeError::NotFound)?;
        let serial = c.serial();
        let mut job = started_job(
            &cj,
            cluster.installation,
            triggered_by,
            start,
            &serial.to_string(),
        )?;
        job = hks_core::manifest::with_overrides(job, overrides);
        job.metadata.uid = Some(format!("uid-job-{serial}"));
        job.metadata.creation_timestamp = time(Timestamp::now());
        let name = job.metadata.name.clone().unwrap_or_default();
        let k = key(cluster.tenant_id, namespace, &name);
        if c.jobs.contains_key(&k) {
            return Err(KubeError::Rejected {
                code: 409,
                reason: "AlreadyExists".into(),
                message: format!("jobs.batch \"{name}\" already exists"),
            });
        }
        let created = run(&job, &[]);
        c.jobs.insert(k, job);
        self.changed();
        Ok(created)
    }

    async fn run_container(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
        cronjob: &str,
        run_name: &str,
    ) -> Result<Option<Container>, KubeError> {
        self.enter(cluster.tenant_id).await?;
        let c = self.cluster();
        let k = key(cluster.tenant_id, namespace, run_name);
        if let Some(job) = c.jobs.get(&k) {
            return Ok(crate::of_cronjob(&job.metadata, cronjob)
                .then(|| container_of_job(job))
                .flatten());
        }
        Ok(c.pods_of(&k)
            .into_iter()
            .map(|(_, p)| p)
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
        self.enter(cluster.tenant_id).await?;
        let mut c = self.cluster();
        let job = c
            .jobs
            .get_mut(&key(cluster.tenant_id, namespace, run_name))
            .ok_or(KubeError::NotFound)?;
        if !crate::of_cronjob(&job.metadata, cronjob) {
            return Err(KubeError::NotFound);
        }
        if let Some(spec) = job.spec.as_mut() {
            spec.suspend = Some(false);
        }
        drop(c);
        self.changed();
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
        self.enter(cluster.tenant_id).await?;
        let now = Timestamp::now();
        let mut c = self.cluster();
        let k = key(cluster.tenant_id, namespace, run_name);
        let job = c.jobs.get_mut(&k).ok_or(KubeError::NotFound)?;
        if !crate::of_cronjob(&job.metadata, cronjob) {
            return Err(KubeError::NotFound);
        }
        let before = run(job, &[]);
        if before.result.is_final() {
            return Ok(CancelOutcome::AlreadyEnded(before));
        }
        job.metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(
                hks_core::labels::ANNOTATION_CANCELLED_BY.to_owned(),
                cancelled_by.to_owned(),
            );
        if let Some(spec) = job.spec.as_mut() {
            spec.active_deadline_seconds = Some(1);
        }
        // As the Job controller does a second later: the deadline is past.
        let message = "Job was active longer than specified deadline";
        let condition =
            |kind: &str| job_condition(kind, Some("DeadlineExceeded"), Some(message), now);
        let status = job.status.get_or_insert_with(JobStatus::default);
        status.active = Some(0);
        status.conditions = Some(vec![condition("FailureTarget"), condition("Failed")]);
        let requested = run(job, &[]);
        drop(c);
        self.changed();
        Ok(CancelOutcome::Requested(requested))
    }

    async fn logs(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
        cronjob: &str,
        run: &str,
        options: &LogOptions,
    ) -> Result<Vec<crate::AttemptLog>, KubeError> {
        self.enter(cluster.tenant_id).await?;
        let pods = self.run_logs(cluster, namespace, cronjob, run)?;
        self.check_logs()?;
        let (names, logs): (Vec<String>, Vec<Vec<u8>>) = pods
            .into_iter()
            .filter(|(pod, _)| options.attempt.as_ref().is_none_or(|a| a == pod))
            .unzip();
        if options.attempt.is_some() && names.is_empty() {
            return Err(KubeError::NotFound);
        }
        read_within_total(names.clone(), options, |pod, limit| {
            let i = names.iter().position(|n| *n == pod).unwrap_or_default();
            let limited = LogOptions {
                limit_bytes: limit.and_then(|l| i64::try_from(l).ok()),
                ..options.clone()
            };
            let bytes = clip(&logs[i], &limited).to_vec();
            async move { Ok(bytes) }
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
        self.enter(cluster.tenant_id).await?;
        let pods = self.run_logs(cluster, namespace, cronjob, run)?;
        self.check_logs()?;
        let (pod, log) = match &options.attempt {
            Some(a) => pods.into_iter().find(|(pod, _)| pod == a),
            None => pods.into_iter().last(),
        }
        .ok_or(KubeError::NotFound)?;
        let pk = key(cluster.tenant_id, namespace, &pod);
        if !self.cluster().pods.get(&pk).is_some_and(running) {
            let log = logtext::lossy_head(clip(&log, options), limit(options));
            return Ok(Box::pin(futures::stream::once(async move { Ok(log) })));
        }
        // A running attempt: its log from the start, then what it writes
        // as it writes it, until it ends (or `limitBytes` is reached).
        let shared = self.cluster.clone();
        let changes = self.changes.clone();
        let limit = limit(options).unwrap_or(usize::MAX);
        let state = (0_usize, LossyDecoder::default());
        Ok(Box::pin(futures::stream::unfold(
            state,
            move |(sent, mut decoder)| {
                let (shared, changes, pk) = (shared.clone(), changes.clone(), pk.clone());
                async move {
                    loop {
                        let notified = changes.notified();
                        tokio::pin!(notified);
                        notified.as_mut().enable();
                        let (new, running) = {
                            let c = shared.lock().unwrap_or_else(|e| e.into_inner());
                            let log = c.logs.get(&pk).map(Vec::as_slice).unwrap_or_default();
                            let end = log.len().min(limit);
                            let new = log[sent.min(end)..end].to_vec();
                            (new, c.pods.get(&pk).is_some_and(running))
                        };
                        if !new.is_empty() {
                            let text = decoder.push(&new);
                            return Some((Ok(text), (sent + new.len(), decoder)));
                        }
                        if !running || sent >= limit {
                            return None;
                        }
                        notified.await;
                    }
                }
            },
        )))
    }

    async fn check_connection(
        &self,
        _connection: &hks_core::tenant::ClusterConnection,
    ) -> Result<(), KubeError> {
        Ok(())
    }

    fn view_version(&self, tenant_id: &str) -> Option<u64> {
        (!self.unreachable.load(Ordering::SeqCst) && !self.is_over_limit(tenant_id))
            .then(|| self.version.load(Ordering::Acquire))
    }

    fn forget(&self, _tenant_id: &str) {}

    async fn managed(
        &self,
        cluster: TenantCluster<'_>,
        namespace_prefix: &str,
    ) -> Result<crate::Managed, KubeError> {
        self.check()?;
        let c = self.cluster();
        let mut out = crate::Managed::default();
        for (t, key) in c.objects.keys() {
            if t != cluster.tenant_id {
                continue;
            }
            let ns = key.namespace.as_deref().unwrap_or(&key.name);
            if !ns.starts_with(namespace_prefix) {
                continue;
            }
            match key.kind {
                // The fake keeps no creation times.
                crate::Kind::Namespace => out.namespaces.push((key.name.clone(), None)),
                crate::Kind::Deployment | crate::Kind::Service => out.objects.push(key.clone()),
                _ => {}
            }
        }
        Ok(out)
    }

    /// The fake keeps no labels apart from its objects: nothing to adopt.
    async fn adopt(
        &self,
        cluster: TenantCluster<'_>,
        _namespace_prefix: &str,
    ) -> Result<usize, KubeError> {
        self.enter(cluster.tenant_id).await?;
        Ok(0)
    }

    /// The fake's namespace controller and garbage collector act at once, and
    /// its finalizers are released with the objects: every namespace is gone.
    async fn retire(
        &self,
        cluster: TenantCluster<'_>,
        namespaces: &[String],
    ) -> Result<Vec<String>, KubeError> {
        for ns in namespaces {
            let key = ObjectKey {
                kind: crate::Kind::Namespace,
                namespace: None,
                name: ns.clone(),
            };
            self.delete(cluster, &key).await?;
        }
        self.retired
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(namespaces.iter().cloned());
        Ok(vec![])
    }

    async fn cluster_runs(&self, cluster: TenantCluster<'_>) -> Result<Vec<ClusterRun>, KubeError> {
        self.cached(cluster.tenant_id).await?;
        let lagging = self
            .lagging
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(cluster.tenant_id)
            .cloned();
        let (jobs, pods) = lagging.unwrap_or_else(|| self.cached_runs(cluster.tenant_id));
        Ok(crate::history::cluster_runs(&jobs, &pods))
    }

    async fn attempt_log(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
        pod: &str,
        limit_bytes: i64,
    ) -> Result<Option<Vec<u8>>, KubeError> {
        self.enter(cluster.tenant_id).await?;
        let k = key(cluster.tenant_id, namespace, pod);
        let mut c = self.cluster();
        *c.log_reads.entry(k.clone()).or_default() += 1;
        drop(c);
        self.check_logs()?;
        let c = self.cluster();
        if c.unreadable.contains(&k) {
            return Err(KubeError::Unreachable(
                "the pod's kubelet does not answer (fake)".into(),
            ));
        }
        // A pod that is gone, or whose container never started, has none.
        Ok(c.logs.get(&k).map(|log| {
            // As the live gateway: a log as long as the limit may have been cut.
            let cut = head(log, Some(limit_bytes));
            logtext::limited(cut, usize::try_from(limit_bytes).ok()).to_vec()
        }))
    }

    async fn attempt_log_tail(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
        pod: &str,
        tail_lines: i64,
        keep_bytes: usize,
    ) -> Result<Option<LogTail>, KubeError> {
        self.check_logs()?;
        let k = key(cluster.tenant_id, namespace, pod);
        let c = self.cluster();
        if c.unreadable.contains(&k) {
            return Err(KubeError::Unreachable(
                "the pod's kubelet does not answer (fake)".into(),
            ));
        }
        Ok(c.logs.get(&k).map(|log| {
            let lines = LogOptions {
                tail_lines: Some(tail_lines),
                ..LogOptions::default()
            };
            let mut tail = crate::TailKeeper::new(keep_bytes);
            // In pieces, as the kubelet streams it.
            for chunk in clip(log, &lines).chunks(64 * 1024) {
                tail.push(chunk);
            }
            tail.finish()
        }))
    }

    async fn set_finalizer(
        &self,
        cluster: TenantCluster<'_>,
        kind: RunObject,
        namespace: &str,
        name: &str,
        has_finalizer: bool,
    ) -> Result<(), KubeError> {
        self.cached(cluster.tenant_id).await?;
        let mut c = self.cluster();
        let k = key(cluster.tenant_id, namespace, name);
        let changed = if has_finalizer {
            let meta = match kind {
                RunObject::Job => c.jobs.get_mut(&k).map(|j| &mut j.metadata),
                RunObject::Pod => c.pods.get_mut(&k).map(|p| &mut p.metadata),
            };
            match meta {
                // No finalizer can be added to an object being deleted.
                Some(meta) if meta.deletion_timestamp.is_none() && !self::has_finalizer(meta) => {
                    meta.finalizers
                        .get_or_insert_with(Vec::new)
                        .push(FINALIZER_ARCHIVE.to_owned());
                    true
                }
                _ => false,
            }
        } else {
            c.drop_finalizer(kind, &k, FINALIZER_ARCHIVE)
        };
        if changed {
            self.changed();
        }
        Ok(())
    }

    async fn cronjob_jobs(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
        cronjob: &str,
    ) -> Result<Vec<String>, KubeError> {
        self.enter(cluster.tenant_id).await?;
        let c = self.cluster();
        let here = |(t, ns, _): &Key| t == cluster.tenant_id && ns == namespace;
        let mut names: Vec<String> = c
            .jobs
            .iter()
            .filter(|(k, j)| here(k) && crate::of_cronjob(&j.metadata, cronjob))
            .map(|((_, _, name), _)| name.clone())
            .chain(
                c.pods
                    .iter()
                    .filter(|(k, p)| here(k) && crate::of_cronjob(&p.metadata, cronjob))
                    .filter_map(|(_, p)| {
                        p.metadata
                            .labels
                            .as_ref()?
                            .get("batch.kubernetes.io/job-name")
                            .cloned()
                    }),
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
        self.enter(cluster.tenant_id).await?;
        let mut events = self
            .cluster()
            .events
            .get(&key(cluster.tenant_id, namespace, cronjob))
            .cloned()
            .unwrap_or_default();
        events.sort_by_key(|e| e.last_seen);
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hks_core::tenant::ClusterConnection;
    use serde_json::json;

    const T: &str = "t1";
    const NS: &str = "hks-t1-shop";

    fn connection() -> ClusterConnection {
        serde_json::from_value(
            json!({"kind": "kubeconfig", "kubeconfig": "apiVersion: v1\nkind: Config\n"}),
        )
        .unwrap()
    }

    /// A fake with CronJob `report`, whose pod template carries HKS's finalizer.
    async fn fake() -> FakeGateway {
        let labels =
            json!({"hks.dev/application": "report", "app.kubernetes.io/managed-by": "hks"});
        let cj: CronJob = serde_json::from_value(json!({
            "metadata": {"name": "report", "namespace": NS},
            "spec": {"schedule": "0 3 * * *", "jobTemplate": {
                "metadata": {"labels": labels},
                "spec": {"template": {
                    "metadata": {"labels": labels, "finalizers": [FINALIZER_ARCHIVE]},
                    "spec": {"containers": [{"name": "report", "image": "busybox"}]}}}}}
        }))
        .unwrap();
        let fake = FakeGateway::new();
        let conn = connection();
        let cluster = TenantCluster {
            installation: "inst",
            tenant_id: T,
            tenant_name: "acme",
            connection: &conn,
        };
        fake.apply(cluster, &[Object::CronJob(cj)]).await.unwrap();
        fake
    }

    #[tokio::test]
    async fn history_cleanup_keeps_held_pods_with_their_logs_until_released() {
        let fake = fake().await;
        let conn = connection();
        let cluster = TenantCluster {
            installation: "inst",
            tenant_id: T,
            tenant_name: "acme",
            connection: &conn,
        };
        let at: Timestamp = "2025-01-01T03:00:00Z".parse().unwrap();
        let job = fake.schedule_run(T, NS, "report", at);
        assert_eq!(job, format!("report-{}", at.as_second() / 60));
        assert_eq!(fake.has_finalizer(T, NS, RunObject::Job, &job), Some(false));
        let pod = fake.start_attempt(T, NS, &job, at);
        assert_eq!(fake.has_finalizer(T, NS, RunObject::Pod, &pod), Some(true));
        fake.end_attempt(T, NS, &pod, 0, "done\n", at);
        fake.end_run(T, NS, &job, at);
        let runs = fake.cluster_runs(cluster).await.unwrap();
        assert_eq!(runs[0].run.result, RunResult::Succeeded);
        assert_eq!(runs[0].run.scheduled_at, Some(at));

        // The Job is not held: it goes; its held pod stays, with its log.
        let before = fake.view_version(T);
        fake.delete_job(T, NS, &job);
        assert_ne!(fake.view_version(T), before);
        assert!(fake.job(T, NS, &job).is_none());
        let kept = fake.pod(T, NS, &pod).expect("held pod kept");
        assert!(kept.metadata.deletion_timestamp.is_some());
        assert_eq!(
            fake.attempt_log(cluster, NS, &pod, 1 << 20).await.unwrap(),
            Some(b"done\n".to_vec())
        );
        let runs = fake.cluster_runs(cluster).await.unwrap();
        assert!(runs[0].job.is_none() && !runs[0].run.in_cluster);

        // Released, it goes with its log.
        fake.set_finalizer(cluster, RunObject::Pod, NS, &pod, false)
            .await
            .unwrap();
        assert!(fake.pod(T, NS, &pod).is_none());
        assert_eq!(
            fake.attempt_log(cluster, NS, &pod, 1 << 20).await.unwrap(),
            None
        );
        assert!(fake.cluster_runs(cluster).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_held_job_stays_until_released_and_unheld_pods_go_with_it() {
        let fake = fake().await;
        let conn = connection();
        let cluster = TenantCluster {
            installation: "inst",
            tenant_id: T,
            tenant_name: "acme",
            connection: &conn,
        };
        let run = fake.run_now(cluster, NS, "report", "ci").await.unwrap();
        assert_eq!(run.result, RunResult::Pending);
        assert_eq!(
            fake.has_finalizer(T, NS, RunObject::Job, &run.name),
            Some(true)
        );
        let pod = fake.finish_run(T, NS, &run.name, 2, "boom\n");
        fake.set_finalizer(cluster, RunObject::Pod, NS, &pod, false)
            .await
            .unwrap();
        fake.delete_job(T, NS, &run.name);
        assert!(
            fake.job(T, NS, &run.name)
                .unwrap()
                .metadata
                .deletion_timestamp
                .is_some()
        );
        assert!(fake.pod(T, NS, &pod).is_some(), "pods wait for their Job");
        fake.set_finalizer(cluster, RunObject::Job, NS, &run.name, false)
            .await
            .unwrap();
        assert!(fake.job(T, NS, &run.name).is_none());
        assert!(fake.pod(T, NS, &pod).is_none());
    }
}
