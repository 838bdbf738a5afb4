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
use std::time::{Duration, Instant};

use hks_core::run::{Run, RunResult, missed_run};
use hks_core::spec::{ApplicationSpec, CronJobSpec};
use hks_history::alerts::Outcome;
use hks_history::retention::Retention;
use hks_kube::{ClusterRun, RunObject, TenantCluster};
use hks_store::{Application, Project, StoredLog};
use jiff::{SignedDuration, Timestamp};
use tracing::{debug, info, warn};

use crate::AppState;

/// How the recorder works.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Time between passes over each tenant's watch caches.
    pub interval: Duration,
    /// Time between checks for missed runs and long runs.
    pub housekeeping: Duration,
    /// Time between applications of the retention policy.
    pub retention_interval: Duration,
    /// The most log kept per attempt.
    pub log_cap_bytes: usize,
    /// Retention for CronJobs that set none.
    pub retention: Retention,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(1),
            housekeeping: Duration::from_secs(30),
            retention_interval: Duration::from_secs(600),
            log_cap_bytes: hks_history::archive::DEFAULT_CAP_BYTES,
            retention: Retention::default(),
        }
    }
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub runs_seen: usize,
    pub runs_written: usize,
    pub logs_archived: usize,
    pub released: usize,
    pub missed: usize,
    pub expired: usize,
    /// Runs whose recording failed in this pass (a later pass retries them).
    pub failed: usize,
}

/// What the recorder remembers between passes, to skip runs it has finished
/// with: a run whose view is unchanged and that is recorded, archived and
/// released needs nothing.
#[derive(Debug, Default)]
pub struct Memory {
    done: HashMap<(String, String, String), Run>,
    views: HashMap<String, u64>,
    housekeeping: HashMap<String, Instant>,
    retention: HashMap<String, Instant>,
    /// Per CronJob (project id, name): the configuration it was checked
    /// under and the earliest time a scheduled run can be missed next, so
    /// that housekeeping reads the store only for CronJobs with something due.
    missed_due: HashMap<(String, String), (Timestamp, Timestamp)>,
    swept: bool,
}

/// Runs the recorder until the task is aborted.
pub fn spawn(state: AppState, settings: Settings) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut memory = Memory::default();
        let mut tick = tokio::time::interval(settings.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match pass_all(&state, &settings, &mut memory).await {
                Ok(p) if p != Pass::default() => debug!(?p, "Recorded runs."),
                Ok(_) => {}
                Err(error) => warn!(%error, "Recorder pass failed."),
            }
        }
    })
}

/// One pass over every tenant.
pub async fn pass_all(
    state: &AppState,
    settings: &Settings,
    memory: &mut Memory,
) -> Result<Pass, PassError> {
    let mut total = Pass::default();
    if !memory.swept {
        // Runs that ended while a crash came between recording them and
        // raising their alerts (their Jobs may be gone by now).
        for (project_id, cronjob, run) in state.store().runs_needing_alerts().await? {
            alerts_for(state, &project_id, &cronjob, &run).await?;
        }
        memory.swept = true;
    }
    for (tenant, conn) in crate::service::tenants_with_clusters(state).await? {
        let cluster = TenantCluster {
            tenant_id: &tenant.id,
            connection: &conn,
        };
        let housekeeping_due = memory
            .housekeeping
            .get(&tenant.id)
            .is_none_or(|at| at.elapsed() >= settings.housekeeping);
        let view = state.gateway().view_version(&tenant.id);
        let unchanged = view.is_some() && memory.views.get(&tenant.id) == view.as_ref();
        if !unchanged {
            match pass(state, cluster, settings, memory).await {
                Ok(p) => {
                    // A run that failed is retried even if the view stays as it is.
                    if let Some(v) = view.filter(|_| p.failed == 0) {
                        memory.views.insert(tenant.id.clone(), v);
                    }
                    add(&mut total, p);
                }
                Err(PassError::Kube(error)) => {
                    debug!(%error, tenant = %tenant.name, "Cannot record the tenant's runs now.");
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        // Only while the watches are connected: a run the recorder could not
        // see is not a missed run.
        if housekeeping_due && state.gateway().view_version(&tenant.id).is_some() {
            memory
                .housekeeping
                .insert(tenant.id.clone(), Instant::now());
            let retention_due = memory
                .retention
                .get(&tenant.id)
                .is_none_or(|at| at.elapsed() >= settings.retention_interval);
            if retention_due {
                memory.retention.insert(tenant.id.clone(), Instant::now());
            }
            match housekeeping(
                state,
                cluster,
                settings,
                retention_due,
                &mut memory.missed_due,
            )
            .await
            {
                Ok(p) => add(&mut total, p),
                Err(PassError::Kube(error)) => {
                    debug!(%error, tenant = %tenant.name, "Cannot check for missed runs now.");
                }
                Err(e) => return Err(e),
            }
        }
    }
    if total.runs_written + total.missed + total.expired > 0 {
        state.lists().wrote();
    }
    Ok(total)
}

fn add(total: &mut Pass, p: Pass) {
    total.runs_seen += p.runs_seen;
    total.runs_written += p.runs_written;
    total.logs_archived += p.logs_archived;
    total.released += p.released;
    total.missed += p.missed;
    total.expired += p.expired;
    total.failed += p.failed;
}

#[derive(Debug, thiserror::Error)]
pub enum PassError {
    #[error(transparent)]
    Kube(#[from] hks_kube::KubeError),
    #[error(transparent)]
    Store(#[from] hks_store::StoreError),
    #[error(transparent)]
    Alert(#[from] hks_alerting::AlertError),
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
        state: &AppState,
        namespace: &str,
    ) -> Result<Option<Project>, hks_store::StoreError> {
        if let Some(p) = self.projects.get(namespace) {
            return Ok(p.clone());
        }
        let p = state.store().project_by_namespace(namespace).await?;
        self.projects.insert(namespace.to_owned(), p.clone());
        Ok(p)
    }

    async fn has_cronjob(
        &mut self,
        state: &AppState,
        project: &Project,
        name: &str,
    ) -> Result<bool, hks_store::StoreError> {
        let key = (project.id.clone(), name.to_owned());
        if let Some(b) = self.cronjobs.get(&key) {
            return Ok(*b);
        }
        let b = match state.store().application(&project.id, name).await {
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
    state: &AppState,
    cluster: TenantCluster<'_>,
    settings: &Settings,
    memory: &mut Memory,
) -> Result<Pass, PassError> {
    let runs = state.gateway().cluster_runs(cluster).await?;
    let mut out = Pass::default();
    let mut owners = Owners::default();
    let mut seen = HashSet::new();
    // Only this tenant's namespaces: another tenant on the same cluster has
    // its own pass, and runs of another HKS installation are none of ours.
    let prefix = hks_core::tenant::tenant_namespace_prefix(cluster.tenant_id);
    for cr in runs
        .into_iter()
        .filter(|r| r.namespace.starts_with(&prefix))
    {
        let key = (
            cluster.tenant_id.to_owned(),
            cr.namespace.clone(),
            cr.run.name.clone(),
        );
        seen.insert(key.clone());
        out.runs_seen += 1;
        if memory.done.get(&key) == Some(&cr.run) {
            continue;
        }
        // One run's failure (an unreadable log, a store error) must not
        // keep the others from being recorded and released: it is logged,
        // counted, and retried by a later pass.
        match run_pass(state, cluster, settings, &mut owners, &cr, &mut out).await {
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
    memory
        .done
        .retain(|k, _| k.0 != cluster.tenant_id || seen.contains(k));
    Ok(out)
}

/// Records or releases one run; says whether it is finished with.
async fn run_pass(
    state: &AppState,
    cluster: TenantCluster<'_>,
    settings: &Settings,
    owners: &mut Owners,
    cr: &ClusterRun,
    out: &mut Pass,
) -> Result<bool, PassError> {
    let project = owners.project(state, &cr.namespace).await?;
    let owned = match &project {
        Some(p) => owners.has_cronjob(state, p, &cr.cronjob).await?,
        None => false,
    };
    match (project, owned) {
        (Some(project), true) => record(state, cluster, settings, &project, cr, out).await,
        // The project or CronJob was deleted in HKS: nothing to keep, so
        // nothing may hold the cluster's objects back.
        _ => release_all(state, cluster, cr, out).await,
    }
}

/// Records one run and archives its finished attempts' logs; says whether
/// the run is finished with (recorded final, archived, released).
async fn record(
    state: &AppState,
    cluster: TenantCluster<'_>,
    settings: &Settings,
    project: &Project,
    cr: &ClusterRun,
    out: &mut Pass,
) -> Result<bool, PassError> {
    let store = state.store();
    let mut run = cr.run.clone();
    if run.scheduled_at.is_none() && cr.job.is_none() {
        run.scheduled_at =
            hks_history::missed::scheduled_time_from_job_name(&cr.cronjob, &run.name);
    }
    // Held from its first sight, so Kubernetes cannot delete the run before
    // it is recorded; Run now Jobs are created with the finalizer.
    if let Some(job) = &cr.job
        && !job.held
        && !job.deleting
        && !run.result.is_final()
    {
        state
            .gateway()
            .set_held(cluster, RunObject::Job, &cr.namespace, &job.name, true)
            .await?;
    }
    let recorded = store.record_run(&project.id, &cr.cronjob, &run).await?;
    if recorded.changed {
        out.runs_written += 1;
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
        // Bytes, archived as the container wrote them.
        let log = state
            .gateway()
            .attempt_log(
                cluster,
                &cr.namespace,
                &pod.object.name,
                // Enough to keep the head and the tail of a capped log.
                i64::try_from(settings.log_cap_bytes.saturating_mul(8)).unwrap_or(i64::MAX),
            )
            .await?;
        let log = log.unwrap_or_else(|| {
            b"[HKS: this attempt's log was gone from the cluster before it could be archived]\n"
                .to_vec()
        });
        let a = hks_history::archive::archive(&log, settings.log_cap_bytes);
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
        alerts_for(state, &project.id, &cr.cronjob, &run).await?;
    }
    // Ended: every attempt's log is in the store, so Kubernetes may go on.
    let ended = run.result.is_final() || (cr.job.is_none() && cr.pods.iter().all(|p| p.finished));
    if !(ended && all_archived) {
        return Ok(false);
    }
    release_all(state, cluster, cr, out).await
}

/// Removes HKS's finalizer from a run's pods, then from its Job. Says
/// whether the cluster already showed nothing held: a release is only known
/// to have happened when a later pass sees it (a conflicting update leaves
/// the finalizer for that pass to remove).
async fn release_all(
    state: &AppState,
    cluster: TenantCluster<'_>,
    cr: &ClusterRun,
    out: &mut Pass,
) -> Result<bool, PassError> {
    let held = cr.pods.iter().any(|p| p.object.held) || cr.job.as_ref().is_some_and(|j| j.held);
    for pod in cr.pods.iter().filter(|p| p.object.held) {
        state
            .gateway()
            .set_held(
                cluster,
                RunObject::Pod,
                &cr.namespace,
                &pod.object.name,
                false,
            )
            .await?;
        out.released += 1;
    }
    if let Some(job) = cr.job.as_ref().filter(|j| j.held) {
        state
            .gateway()
            .set_held(cluster, RunObject::Job, &cr.namespace, &job.name, false)
            .await?;
        out.released += 1;
    }
    Ok(!held)
}

/// Raises the finished-run alerts of a final run, once: the alerts' keys
/// make raising idempotent, and the run is marked only after they are raised.
async fn alerts_for(
    state: &AppState,
    project_id: &str,
    cronjob: &str,
    run: &Run,
) -> Result<(), PassError> {
    let outcome = match run.result {
        RunResult::Succeeded => Some(Outcome::Succeeded),
        RunResult::Failed => Some(Outcome::Failed),
        _ => None,
    };
    if run.result == RunResult::Missed
        && let Some(scheduled) = run.scheduled_at
    {
        state
            .alerter()
            .missed(
                project_id,
                cronjob,
                scheduled,
                run.message.as_deref().unwrap_or_default(),
            )
            .await?;
    }
    if let Some(outcome) = outcome {
        let before = run
            .created_at
            .or(run.scheduled_at)
            .unwrap_or_else(Timestamp::now);
        let earlier: Vec<Outcome> = state
            .store()
            .earlier_results(project_id, cronjob, before, 100)
            .await?
            .into_iter()
            .map(|r| match r {
                RunResult::Succeeded => Outcome::Succeeded,
                _ => Outcome::Failed,
            })
            .collect();
        if outcome == Outcome::Failed {
            info!(project = %project_id, %cronjob, run = %run.name, reason = ?run.reason, "A run failed.");
        }
        state
            .alerter()
            .run_finished(
                project_id,
                cronjob,
                &run.name,
                outcome,
                run.reason.as_deref(),
                &earlier,
            )
            .await?;
    }
    state
        .store()
        .mark_alerted(project_id, cronjob, &run.name)
        .await?;
    Ok(())
}

/// Missed runs, long runs and (when due) retention for one tenant's CronJobs.
async fn housekeeping(
    state: &AppState,
    cluster: TenantCluster<'_>,
    settings: &Settings,
    retention_due: bool,
    missed_due: &mut HashMap<(String, String), (Timestamp, Timestamp)>,
) -> Result<Pass, PassError> {
    let mut out = Pass::default();
    let now = Timestamp::now();
    for project in state.store().list_projects(cluster.tenant_id).await? {
        // Which CronJobs have something due, from their names and versions
        // alone: most have nothing due, and their specs are not read.
        let versions = state.store().cronjob_versions(&project.id).await?;
        let due: Vec<&(String, Timestamp)> = versions
            .iter()
            .filter(|(name, version)| {
                missed_due
                    .get(&(project.id.clone(), name.clone()))
                    .is_none_or(|(v, due)| v != version || *due <= now)
            })
            .collect();
        let names: HashSet<&str> = versions.iter().map(|(n, _)| n.as_str()).collect();
        missed_due.retain(|(p, name), _| *p != project.id || names.contains(name.as_str()));
        let apps = if retention_due || due.len() > 32 {
            state
                .store()
                .list_applications(&project.id, Some(hks_core::spec::ApplicationType::Cronjob))
                .await?
        } else {
            let mut apps = Vec::with_capacity(due.len());
            for (name, _) in &due {
                match state.store().application(&project.id, name).await {
                    Ok(a) => apps.push(a),
                    Err(hks_store::StoreError::NotFound) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            apps
        };
        for app in &apps {
            let ApplicationSpec::Cronjob(spec) = &app.spec else {
                continue;
            };
            let key = (project.id.clone(), app.name.clone());
            let is_due = missed_due
                .get(&key)
                .is_none_or(|(version, due)| *version != app.updated_at || *due <= now);
            if is_due {
                let (n, next) = missed(state, cluster, &project, app, spec, now).await?;
                out.missed += n;
                missed_due.insert(key, (app.updated_at, next));
            }
            if retention_due {
                out.expired += retain(state, settings, &project, &app.name, spec, now).await?;
            }
        }
        long_runs(state, &project, now).await?;
    }
    Ok(out)
}

/// Raises the alerts of runs going on for longer than their CronJob allows
/// (once per run: the alert's key says which run).
async fn long_runs(state: &AppState, project: &Project, now: Timestamp) -> Result<(), PassError> {
    for (cronjob, run) in state.store().unfinished_runs(&project.id).await? {
        if let Some(started) = run.started_at {
            state
                .alerter()
                .run_running(&project.id, &cronjob, &run.name, started, now)
                .await?;
        }
    }
    Ok(())
}

/// Records the scheduled times since the last check that started no run
/// before their starting deadline passed.
async fn missed(
    state: &AppState,
    cluster: TenantCluster<'_>,
    project: &Project,
    app: &Application,
    spec: &CronJobSpec,
    now: Timestamp,
) -> Result<(usize, Timestamp), PassError> {
    let store = state.store();
    let deadline = SignedDuration::from_secs(i64::from(spec.starting_deadline_seconds));
    // Times before the last change (creation, edit, resume) are not owed.
    let since = store
        .missed_checked_until(&project.id, &app.name)
        .await?
        .map_or(app.updated_at, |t| t.max(app.updated_at));
    // Everything up to here is decided: later times may still start.
    let decided = now.checked_sub(deadline).unwrap_or(now).max(since);
    // Nothing can be missed before the next change of the configuration.
    let never = Timestamp::MAX;
    if spec.suspend {
        store
            .set_missed_checked_until(&project.id, &app.name, now)
            .await?;
        return Ok((0, never));
    }
    let Ok(schedule) = hks_schedule::check(&spec.schedule, &spec.time_zone) else {
        return Ok((0, never));
    };
    let ran: Vec<Timestamp> = store
        .runs(&project.id, &app.name, 500)
        .await?
        .iter()
        .filter_map(|r| r.scheduled_at)
        .collect();
    let times = hks_history::missed::missed_times(&schedule, since, now, Some(deadline), &ran);
    let mut recorded = 0;
    if !times.is_empty() {
        let events = state
            .gateway()
            .cronjob_events(cluster, &project.namespace, &app.name)
            .await
            .unwrap_or_default();
        for t in times.into_iter().filter(|t| *t <= decided) {
            let why = events.iter().rev().find(|e| {
                matches!(
                    e.reason.as_str(),
                    "JobAlreadyActive" | "MissSchedule" | "TooManyMissedTimes"
                ) && e.last_seen.is_none_or(|seen| seen >= t)
            });
            let message = match why {
                Some(e) => e.message.clone(),
                None => format!(
                    "No run started within the starting deadline ({} s); the CronJob controller or the cluster may have been down.",
                    spec.starting_deadline_seconds
                ),
            };
            let run = missed_run(t, why.map(|e| e.reason.clone()), message);
            let r = store.record_run(&project.id, &app.name, &run).await?;
            if r.changed {
                recorded += 1;
                info!(project = %project.name, cronjob = %app.name, scheduled = %t, "A scheduled run was missed.");
            }
            if r.needs_alerts {
                alerts_for(state, &project.id, &app.name, &run).await?;
            }
        }
    }
    store
        .set_missed_checked_until(&project.id, &app.name, decided)
        .await?;
    // The next time after `decided` can be missed once its deadline passed.
    let next = schedule
        .next_after(decided)
        .and_then(|t| t.checked_add(deadline).ok())
        .unwrap_or(never);
    Ok((recorded, next))
}

/// Forgets the runs the CronJob's retention (or the installation's) no
/// longer keeps.
async fn retain(
    state: &AppState,
    settings: &Settings,
    project: &Project,
    cronjob: &str,
    spec: &CronJobSpec,
    now: Timestamp,
) -> Result<usize, PassError> {
    let policy = spec
        .history_retention
        .map_or(settings.retention, |r| Retention {
            max_runs: r.max_runs.or(settings.retention.max_runs),
            max_age_days: r.max_age_days.or(settings.retention.max_age_days),
        });
    let ages = state.store().run_ages(&project.id, cronjob).await?;
    let expired = hks_history::retention::expired(policy, &ages, now);
    if !expired.is_empty() {
        state
            .store()
            .delete_runs(&project.id, cronjob, &expired)
            .await?;
    }
    Ok(expired.len())
}
