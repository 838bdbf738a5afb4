//! The run recorder: keeps every run of every CronJob, with the logs of its
//! finished attempts, in the store, so that they outlive Kubernetes' history
//! limits and cleanup.
//!
//! It is level-triggered: each pass reads every HKS run the tenant's watch
//! caches hold ([`hks_kube::Gateway::cluster_runs`]) and makes the store agree,
//! so a restart, duplicate events or a missed watch window all end in the same
//! records. HKS's finalizer ([`hks_core::manifest::FINALIZER_ARCHIVE`]) keeps a
//! run's Job and pods in the cluster until its pass has recorded the final
//! state and archived every attempt's log; the recorder then removes it.
//!
//! Besides, every few passes it compares each CronJob's schedule with the runs
//! that happened and records missed times, and applies the retention policy.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use hks_core::run::Run;
use hks_core::spec::ApplicationSpec;
use hks_kube::{ClusterRun, KubeError, RunObject, TenantCluster};
use hks_store::{Project, StoredLog};
use jiff::Timestamp;
use tracing::{debug, warn};

use hks_app::App;
use hks_app::tenancy::Scope;

pub use crate::pass::{Pass, PassError, Settings};

/// What the recorder remembers between passes, per tenant, to skip work
/// it has done: a run whose view is unchanged and that is recorded,
/// archived and released needs nothing.
#[derive(Debug, Default)]
pub struct Memory {
    /// Each tenant's, behind its own lock: tenants' parts of a pass run at
    /// once, and one given up at its time limit leaves what it had done.
    /// Only the tenants this replica owns: a tenant taken over (again)
    /// starts from nothing, since another replica worked on it meanwhile.
    tenants: HashMap<String, Arc<tokio::sync::Mutex<TenantMemory>>>,
    /// The ownership each tenant's memory was built under
    /// ([`hks_app::Ownership::generation`]).
    generations: HashMap<String, Option<u64>>,
}

impl Memory {
    /// The tenant's memory, new when this replica took the tenant (again)
    /// since it was built.
    fn of(&mut self, app: &App, tenant_id: &str) -> Arc<tokio::sync::Mutex<TenantMemory>> {
        let generation = app.ownership().generation(tenant_id);
        if self.generations.get(tenant_id) != Some(&generation) {
            self.tenants.remove(tenant_id);
            self.generations.insert(tenant_id.to_owned(), generation);
        }
        self.tenants
            .entry(tenant_id.to_owned())
            .or_default()
            .clone()
    }

    /// Forgets the tenants not in `scopes` (deleted, or not owned now).
    fn keep(&mut self, scopes: &[Scope]) {
        self.tenants
            .retain(|id, _| scopes.iter().any(|s| &s.tenant_id == id));
        self.generations
            .retain(|id, _| scopes.iter().any(|s| &s.tenant_id == id));
    }
}

#[derive(Debug, Default)]
pub struct TenantMemory {
    /// Whether the alerts of the tenant's runs that a crash left unraised
    /// were raised since this replica took the tenant.
    swept: bool,
    /// By (namespace, run name).
    done: HashMap<(String, String), Run>,
    view: Option<u64>,
    housekeeping: Option<Instant>,
    retention: Option<Instant>,
    /// Per CronJob (project id, name): the configuration it was checked
    /// under and the earliest time a scheduled run can be missed next, so
    /// that housekeeping reads the store only for CronJobs with something due.
    missed_due: HashMap<(String, String), (Timestamp, Timestamp)>,
}

/// Runs the recorder until the task is aborted. Every `settings.interval`
/// it starts a pass for each tenant whose previous pass has ended, at most
/// `settings.isolation.concurrency` at once, each under the tenant time
/// limit. Tenants are not passed over in lockstep: a tenant whose pass takes
/// long (a slow cluster, a flood of runs to record) delays its own next
/// pass only, while the others' runs are recorded, and their alerts raised,
/// pass after pass.
pub fn spawn(app: App, settings: Settings) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let settings = Arc::new(settings);
        let mut passes = Passes {
            slots: Arc::new(tokio::sync::Semaphore::new(
                settings.isolation.concurrency.max(1),
            )),
            running: tokio::task::JoinSet::new(),
            tenants: HashMap::new(),
        };
        let mut memory = Memory::default();
        let mut tick = tokio::time::interval(settings.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            passes.reap();
            if let Err(error) = passes.start(&app, &settings, &mut memory).await {
                warn!(%error, "Recorder pass failed.");
            }
        }
    })
}

/// The tenants' passes in flight, at most one per tenant.
struct Passes {
    /// Passes that may run at once.
    slots: Arc<tokio::sync::Semaphore>,
    running: tokio::task::JoinSet<()>,
    /// The tenant of each pass in flight.
    tenants: HashMap<tokio::task::Id, String>,
}

impl Passes {
    /// Forgets the passes that ended, so their tenants get the next.
    fn reap(&mut self) {
        while let Some(done) = self.running.try_join_next_with_id() {
            let id = match done {
                Ok((id, ())) => id,
                Err(error) => {
                    warn!(%error, "A tenant's recorder pass ended abnormally.");
                    error.id()
                }
            };
            self.tenants.remove(&id);
        }
    }

    /// Starts a pass for every tenant that has none in flight. Fails only
    /// when the tenants cannot be listed.
    async fn start(
        &mut self,
        app: &App,
        settings: &Arc<Settings>,
        memory: &mut Memory,
    ) -> Result<(), PassError> {
        let scopes = hks_app::tenancy::owned_tenants_with_clusters(app).await?;
        memory.keep(&scopes);
        for scope in scopes {
            if self.tenants.values().any(|t| *t == scope.tenant_id) {
                continue;
            }
            let tenant = scope.tenant_id.clone();
            let mine = memory.of(app, &tenant);
            let (app, settings, slots) = (app.clone(), settings.clone(), self.slots.clone());
            let task = self.running.spawn(async move {
                let Ok(_slot) = slots.acquire_owned().await else {
                    return;
                };
                let pass = crate::tenants::one(
                    "record",
                    settings.isolation.timeout,
                    app.ownership(),
                    &scope,
                    async { tenant_pass(&app, &scope, &settings, &mut *mine.lock().await).await },
                )
                .await;
                wrote(&app, &scope.tenant_id, pass.as_ref());
                if let Some(p) = pass.filter(|p| *p != Pass::default()) {
                    debug!(tenant = %scope.tenant_name, ?p, "Recorded runs.");
                }
            });
            self.tenants.insert(task.id(), tenant);
        }
        Ok(())
    }
}

/// Raises the alerts of the tenant's runs that ended while a crash came
/// between recording them and raising their alerts (their Jobs may be gone
/// by now), once after this replica took the tenant (at a start, or from a
/// replica that died). One that fails is retried by the next pass; the
/// others are raised.
async fn sweep(app: &App, tenant: &Scope, memory: &mut TenantMemory) -> Result<(), PassError> {
    if memory.swept {
        return Ok(());
    }
    let mut all = true;
    for (project_id, cronjob, run) in app
        .store()
        .runs_needing_alerts_of(&tenant.tenant_id)
        .await?
    {
        if let Err(error) = crate::alerts::raise(app, &project_id, &cronjob, &run).await {
            warn!(%error, project = %project_id, %cronjob, run = %run.name, "Cannot raise a run's alerts now.");
            all = false;
        }
    }
    memory.swept = all;
    Ok(())
}

/// Notes the tenant's writes for its cached reads: runs written, missed or
/// expired, or a pass that failed (it may have written some before).
fn wrote(app: &App, tenant_id: &str, pass: Option<&Pass>) {
    if pass.is_none_or(|p| p.runs_written + p.missed + p.expired > 0) {
        app.wrote(tenant_id);
    }
}

/// One pass over every tenant: tenants at once, each under
/// `settings.isolation`'s time limit; one tenant's failure (its cluster, its
/// store rows, its alerts, its time) is counted in `failed_tenants` and
/// does not keep the others' runs from being recorded. Fails only when the
/// tenants cannot be listed. (`spawn` does not wait for every tenant's
/// part before starting the next: it passes over each tenant on its own.)
pub async fn pass_all(
    app: &App,
    settings: &Settings,
    memory: &mut Memory,
) -> Result<Pass, PassError> {
    let mut total = Pass::default();
    let scopes = hks_app::tenancy::owned_tenants_with_clusters(app).await?;
    memory.keep(&scopes);
    let mine: HashMap<&str, Arc<tokio::sync::Mutex<TenantMemory>>> = scopes
        .iter()
        .map(|s| (s.tenant_id.as_str(), memory.of(app, &s.tenant_id)))
        .collect();
    let ownership = app.ownership();
    let results = crate::tenants::each("record", settings.isolation, ownership, &scopes, |scope| {
        let m = mine[scope.tenant_id.as_str()].clone();
        async move { tenant_pass(app, scope, settings, &mut *m.lock().await).await }
    })
    .await;
    for (scope, r) in scopes.iter().zip(results) {
        wrote(app, &scope.tenant_id, r.as_ref());
        match r {
            Some(p) => total.add(p),
            None => total.failed_tenants += 1,
        }
    }
    Ok(total)
}

/// One tenant's part of a pass: its runs when its view changed, then
/// housekeeping when due.
async fn tenant_pass(
    app: &App,
    tenant: &Scope,
    settings: &Settings,
    memory: &mut TenantMemory,
) -> Result<Pass, PassError> {
    let mut total = Pass::default();
    sweep(app, tenant, memory).await?;
    let cluster = tenant.cluster();
    let housekeeping_due = memory
        .housekeeping
        .is_none_or(|at| at.elapsed() >= settings.housekeeping);
    let view = app.gateway().view_version(&tenant.tenant_id);
    let unchanged = view.is_some() && memory.view == view;
    if !unchanged {
        let p = pass(app, cluster, settings, memory).await?;
        // A run that failed is retried even if the view stays as it is.
        if let Some(v) = view.filter(|_| p.failed == 0) {
            memory.view = Some(v);
        }
        total.add(p);
    }
    // Only while the watches are connected: a run the recorder could not
    // see is not a missed run.
    if housekeeping_due && app.gateway().view_version(&tenant.tenant_id).is_some() {
        memory.housekeeping = Some(Instant::now());
        let retention_due = memory
            .retention
            .is_none_or(|at| at.elapsed() >= settings.retention_interval);
        if retention_due {
            memory.retention = Some(Instant::now());
        }
        total.add(
            crate::housekeeping::housekeeping(
                app,
                cluster,
                settings,
                retention_due,
                &mut memory.missed_due,
            )
            .await?,
        );
    }
    Ok(total)
}

/// Projects and CronJobs by namespace, looked up once per pass.
#[derive(Default)]
struct Owners {
    projects: HashMap<String, Option<Project>>,
    cronjobs: HashMap<(String, String), bool>,
}

impl Owners {
    async fn project(
        &mut self,
        app: &App,
        namespace: &str,
    ) -> Result<Option<Project>, hks_store::StoreError> {
        if let Some(p) = self.projects.get(namespace) {
            return Ok(p.clone());
        }
        let p = app.store().project_by_namespace(namespace).await?;
        self.projects.insert(namespace.to_owned(), p.clone());
        Ok(p)
    }

    async fn has_cronjob(
        &mut self,
        app: &App,
        project: &Project,
        name: &str,
    ) -> Result<bool, hks_store::StoreError> {
        let key = (project.id.clone(), name.to_owned());
        if let Some(b) = self.cronjobs.get(&key) {
            return Ok(*b);
        }
        let b = match app.store().application(&project.id, name).await {
            Ok(a) => matches!(a.spec, ApplicationSpec::Cronjob(_)),
            Err(hks_store::StoreError::NotFound) => false,
            Err(e) => return Err(e),
        };
        self.cronjobs.insert(key, b);
        Ok(b)
    }
}

/// Makes the store agree with one tenant cluster's runs.
pub async fn pass(
    app: &App,
    cluster: TenantCluster<'_>,
    settings: &Settings,
    memory: &mut TenantMemory,
) -> Result<Pass, PassError> {
    let runs = app.gateway().cluster_runs(cluster).await?;
    let mut out = Pass::default();
    let mut owners = Owners::default();
    let mut seen = HashSet::new();
    // Only this tenant's namespaces: another tenant on the same cluster has
    // its own pass, and runs of another HKS installation are none of ours.
    let prefix = hks_core::tenant::tenant_namespace_prefix(cluster.tenant_id);
    let runs: Vec<ClusterRun> = runs
        .into_iter()
        .filter(|r| r.namespace.starts_with(&prefix))
        .collect();
    crate::backfill::release(app, cluster, &runs).await;
    for cr in runs {
        let key = (cr.namespace.clone(), cr.run.name.clone());
        seen.insert(key.clone());
        out.runs_seen += 1;
        if memory.done.get(&key) == Some(&cr.run) {
            continue;
        }
        // One run's failure (an unreadable log, a store error) must not
        // keep the others from being recorded and released: it is logged,
        // counted, and retried by a later pass.
        match run_pass(app, cluster, settings, &mut owners, &cr, &mut out).await {
            Ok(true) => {
                memory.done.insert(key, cr.run);
            }
            Ok(false) => {
                memory.done.remove(&key);
            }
            Err(error) => {
                warn!(%error, namespace = %cr.namespace, run = %cr.run.name, "Failed to record a run.");
                out.failed += 1;
                memory.done.remove(&key);
            }
        }
    }
    memory.done.retain(|k, _| seen.contains(k));
    Ok(out)
}

/// Records or releases one run; says whether it is finished with.
async fn run_pass(
    app: &App,
    cluster: TenantCluster<'_>,
    settings: &Settings,
    owners: &mut Owners,
    cr: &ClusterRun,
    out: &mut Pass,
) -> Result<bool, PassError> {
    let project = owners.project(app, &cr.namespace).await?;
    let owned = match &project {
        Some(p) => owners.has_cronjob(app, p, &cr.cronjob).await?,
        None => false,
    };
    match (project, owned) {
        (Some(project), true) => record(app, cluster, settings, &project, cr, out).await,
        // The project or CronJob was deleted in HKS: nothing to keep, so
        // nothing may hold the cluster's objects back.
        _ => release_all(app, cluster, cr, out).await,
    }
}

/// Records one run and archives its finished attempts' logs; says whether
/// the run is finished with (recorded final, archived, released).
async fn record(
    app: &App,
    cluster: TenantCluster<'_>,
    settings: &Settings,
    project: &Project,
    cr: &ClusterRun,
    out: &mut Pass,
) -> Result<bool, PassError> {
    let store = app.store();
    let mut run = cr.run.clone();
    if run.scheduled_at.is_none() && cr.job.is_none() {
        run.scheduled_at =
            hks_history::missed::scheduled_time_from_job_name(&cr.cronjob, &run.name);
    }
    // Held from its first sight, so Kubernetes cannot delete the run before
    // it is recorded; Run now Jobs are created with the finalizer.
    if let Some(job) = &cr.job
        && !job.has_finalizer
        && !job.deleting
        && !run.result.is_final()
    {
        app.gateway()
            .set_finalizer(cluster, RunObject::Job, &cr.namespace, &job.name, true)
            .await?;
    }
    let recorded = store.record_run(&project.id, &cr.cronjob, &run).await?;
    if recorded.changed {
        out.runs_written += 1;
    }
    if recorded.needs_container {
        keep_container(app, cluster, project, cr).await?;
    }
    let archived: BTreeSet<String> = store
        .archived_pods(&project.id, &cr.cronjob, &run.name)
        .await?
        .into_iter()
        .collect();
    let mut all_archived = true;
    for pod in &cr.pods {
        if archived.contains(&pod.object.name) {
            continue;
        }
        if !pod.finished {
            all_archived = false;
            continue;
        }
        let a = archive(app, cluster, settings, &cr.namespace, &pod.object.name).await?;
        store
            .archive_log(
                &project.id,
                &cr.cronjob,
                &run.name,
                &StoredLog {
                    pod: pod.object.name.clone(),
                    gzip: a.gzip,
                    original_bytes: i64::try_from(a.original_bytes).unwrap_or(i64::MAX),
                    truncated: a.truncated,
                },
            )
            .await?;
        out.logs_archived += 1;
    }
    if recorded.needs_alerts {
        crate::alerts::raise(app, &project.id, &cr.cronjob, &run).await?;
        // Once per run: the alerts raised, it no longer needs them.
        crate::run_metrics::ended(&run);
    }
    // Ended: every attempt's log is in the store, so Kubernetes may go on.
    let ended = run.result.is_final() || (cr.job.is_none() && cr.pods.iter().all(|p| p.finished));
    if !(ended && all_archived) {
        return Ok(false);
    }
    release_all(app, cluster, cr, out).await
}

/// Stores the container a run ran, for a re-run once Kubernetes deleted
/// its Job and the CronJob changed. Read once per run (the store says when
/// it has it); a run whose Job and pods are gone already has none to keep.
async fn keep_container(
    app: &App,
    cluster: TenantCluster<'_>,
    project: &Project,
    cr: &ClusterRun,
) -> Result<(), PassError> {
    let container = match app
        .gateway()
        .run_container(cluster, &cr.namespace, &cr.cronjob, &cr.run.name)
        .await
    {
        Ok(Some(c)) => c,
        Ok(None) | Err(KubeError::NotFound) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let json = serde_json::to_string(&container).unwrap_or_default();
    app.store()
        .set_run_container(&project.id, &cr.cronjob, &cr.run.name, &json)
        .await?;
    Ok(())
}

/// How much of an attempt's log the recorder reads whole: the cap. A
/// longer log's end is read apart, so a pass never reads, decodes or
/// compresses more than about one and a half caps per attempt, and stays
/// well within its tenant's time limit however long the log is.
fn read_limit(settings: &Settings) -> usize {
    settings.log_cap_bytes
}

/// A finished attempt's log, capped and compressed. The bytes are archived
/// as the container wrote them. A log longer than [`read_limit`] is not
/// read whole: its end is asked for apart (the kubelet's last lines, kept
/// to half the cap), so the archive keeps its real beginning and its real end.
async fn archive(
    app: &App,
    cluster: TenantCluster<'_>,
    settings: &Settings,
    namespace: &str,
    pod: &str,
) -> Result<hks_history::archive::Archived, PassError> {
    let gateway = app.gateway();
    let limit = read_limit(settings);
    let head = gateway
        .attempt_log(
            cluster,
            namespace,
            pod,
            i64::try_from(limit).unwrap_or(i64::MAX),
        )
        .await?;
    let Some(head) = head else {
        let gone =
            b"[HKS: this attempt's log was gone from the cluster before it could be archived]\n";
        return Ok(hks_history::archive::archive(gone, settings.log_cap_bytes));
    };
    // The read stops at the limit, less a character the limit split.
    if head.len() + 3 < limit {
        return Ok(hks_history::archive::archive(&head, settings.log_cap_bytes));
    }
    let keep = settings.log_cap_bytes / 2;
    // The kubelet gives the end by lines, not bytes: as many lines as the
    // head's average length says fill `keep`, more when they did not.
    let newlines = head.iter().filter(|b| **b == b'\n').count().max(1);
    let mut lines = (keep.saturating_mul(newlines) / head.len()).max(16) * 2;
    let mut tail = None;
    for _ in 0..8 {
        let Some(read) = gateway
            .attempt_log_tail(
                cluster,
                namespace,
                pod,
                i64::try_from(lines).unwrap_or(i64::MAX),
                keep,
            )
            .await?
        else {
            break;
        };
        let enough = read.sent >= keep as u64;
        let fewer = tail
            .as_ref()
            .is_some_and(|t: &hks_kube::LogTail| read.sent <= t.sent);
        tail = Some(read);
        // Enough bytes, or no more lines to be had.
        if enough || fewer {
            break;
        }
        lines = lines.saturating_mul(4);
    }
    Ok(match tail {
        Some(tail) => {
            hks_history::archive::archive_ends(&head, &tail.bytes, settings.log_cap_bytes)
        }
        // Gone since the head was read: the head is what there is.
        None => hks_history::archive::archive(&head, settings.log_cap_bytes),
    })
}

/// Removes HKS's finalizer from a run's pods, then from its Job. Says
/// whether the cluster already showed nothing held: a release is only known
/// to have happened when a later pass sees it (a conflicting update leaves
/// the finalizer for that pass to remove).
async fn release_all(
    app: &App,
    cluster: TenantCluster<'_>,
    cr: &ClusterRun,
    out: &mut Pass,
) -> Result<bool, PassError> {
    let held = cr.pods.iter().any(|p| p.object.has_finalizer)
        || cr.job.as_ref().is_some_and(|j| j.has_finalizer);
    for pod in cr.pods.iter().filter(|p| p.object.has_finalizer) {
        app.gateway()
            .set_finalizer(
                cluster,
                RunObject::Pod,
                &cr.namespace,
                &pod.object.name,
                false,
            )
            .await?;
        out.released += 1;
    }
    if let Some(job) = cr.job.as_ref().filter(|j| j.has_finalizer) {
        app.gateway()
            .set_finalizer(cluster, RunObject::Job, &cr.namespace, &job.name, false)
            .await?;
        out.released += 1;
    }
    Ok(!held)
}
