//! Housekeeping over the run history, every few recorder passes: scheduled
//! times that passed without a run are recorded as missed, long runs raise
//! alerts, and (less often) the retention policy deletes old runs and old
//! alerts with their deliveries.

use std::collections::{HashMap, HashSet};

use hks_app::App;
use hks_core::run::missed_run;
use hks_core::spec::{ApplicationSpec, CronJobSpec};
use hks_history::retention::Retention;
use hks_kube::TenantCluster;
use hks_store::{Application, Project};
use jiff::{SignedDuration, Timestamp};
use tracing::info;

use crate::pass::{Pass, PassError, Settings};

/// Missed runs, long runs and (when due) retention for one tenant's CronJobs.
pub(crate) async fn housekeeping(
    app: &App,
    cluster: TenantCluster<'_>,
    settings: &Settings,
    retention_due: bool,
    missed_due: &mut HashMap<(String, String), (Timestamp, Timestamp)>,
) -> Result<Pass, PassError> {
    let mut out = Pass::default();
    let now = Timestamp::now();
    for project in app.store().list_projects(cluster.tenant_id).await? {
        // Which CronJobs have something due, from their names and versions
        // alone: most have nothing due, and their specs are not read.
        let versions = app.store().cronjob_versions(&project.id).await?;
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
            app.store()
                .list_applications(&project.id, Some(hks_core::spec::ApplicationType::Cronjob))
                .await?
        } else {
            let mut apps = Vec::with_capacity(due.len());
            for (name, _) in &due {
                match app.store().application(&project.id, name).await {
                    Ok(a) => apps.push(a),
                    Err(hks_store::StoreError::NotFound) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            apps
        };
        for cronjob in &apps {
            let ApplicationSpec::Cronjob(spec) = &cronjob.spec else {
                continue;
            };
            let key = (project.id.clone(), cronjob.name.clone());
            let is_due = missed_due
                .get(&key)
                .is_none_or(|(version, due)| *version != cronjob.updated_at || *due <= now);
            if is_due {
                let (n, next) = missed(app, cluster, &project, cronjob, spec, now).await?;
                out.missed += n;
                missed_due.insert(key, (cronjob.updated_at, next));
            }
            if retention_due {
                out.expired += retain(app, settings, &project, &cronjob.name, spec, now).await?;
            }
        }
        if retention_due {
            out.alerts_expired += prune_alerts(app, settings, &project, now).await?;
        }
        long_runs(app, &project, now).await?;
    }
    Ok(out)
}

/// Forgets a project's alerts (and their deliveries) older than the
/// installation's history age, and all but the newest
/// `alerts_max_per_cronjob` of each CronJob; pending deliveries stay.
async fn prune_alerts(
    app: &App,
    settings: &Settings,
    project: &Project,
    now: Timestamp,
) -> Result<usize, PassError> {
    let before = settings.retention.max_age_days.and_then(|d| {
        now.checked_sub(SignedDuration::from_hours(24 * i64::from(d)))
            .ok()
    });
    let pruned = app
        .store()
        .prune_alerts(&project.id, before, Some(settings.alerts_max_per_cronjob))
        .await?;
    if pruned > 0 {
        info!(project = %project.name, alerts = pruned, "Forgot old alerts.");
    }
    Ok(pruned)
}

/// Raises the alerts of runs going on for longer than their CronJob allows
/// (once per run: the alert's key says which run).
async fn long_runs(app: &App, project: &Project, now: Timestamp) -> Result<(), PassError> {
    for (cronjob, run) in app.store().unfinished_runs(&project.id).await? {
        if let Some(started) = run.started_at {
            app.alerter()
                .run_running(&project.id, &cronjob, &run.name, started, now)
                .await?;
        }
    }
    Ok(())
}

/// Records the scheduled times since the last check that started no run
/// before their starting deadline passed.
async fn missed(
    app: &App,
    cluster: TenantCluster<'_>,
    project: &Project,
    cronjob: &Application,
    spec: &CronJobSpec,
    now: Timestamp,
) -> Result<(usize, Timestamp), PassError> {
    let store = app.store();
    let deadline = SignedDuration::from_secs(i64::from(spec.starting_deadline_seconds));
    // Times before the last change (creation, edit, resume) are not owed.
    let since = store
        .missed_checked_until(&project.id, &cronjob.name)
        .await?
        .map_or(cronjob.updated_at, |t| t.max(cronjob.updated_at));
    // Everything up to here is decided: later times may still start.
    let decided = now.checked_sub(deadline).unwrap_or(now).max(since);
    // Nothing can be missed before the next change of the configuration.
    let never = Timestamp::MAX;
    if spec.suspend {
        store
            .set_missed_checked_until(&project.id, &cronjob.name, now)
            .await?;
        return Ok((0, never));
    }
    let Some(schedule) = hks_core::schedule::of_cronjob(
        &spec.schedule,
        &spec.time_zone,
        &project.name,
        &cronjob.name,
    ) else {
        return Ok((0, never));
    };
    // Every run since the last check, however many: runs left out would
    // look missed.
    let ran = store
        .scheduled_times_since(&project.id, &cronjob.name, since)
        .await?;
    let found = hks_history::missed::missed_times(&schedule, since, now, Some(deadline), &ran);
    // After a long outage a check examines a bounded number of times and
    // the next one goes on from there: none is dropped.
    let decided = found.examined_until.map_or(decided, |u| u.min(decided));
    let mut times = found.times;
    let mut recorded = 0;
    if !times.is_empty() {
        // The store knows the runs the recorder has seen, through watch
        // caches that lag behind the cluster after an outage: a time whose
        // Job the cluster has is a run not recorded yet, not a missed one.
        // Without an answer from the cluster nothing is decided (the error
        // ends the pass, and the next one checks again).
        let jobs = app
            .gateway()
            .cronjob_jobs(cluster, &project.namespace, &cronjob.name)
            .await?;
        let ran: HashSet<Timestamp> = jobs
            .iter()
            .filter_map(|job| hks_history::missed::scheduled_time_from_job_name(&cronjob.name, job))
            .collect();
        times.retain(|t| !ran.contains(t));
    }
    if !times.is_empty() {
        let events = app
            .gateway()
            .cronjob_events(cluster, &project.namespace, &cronjob.name)
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
            let r = store.record_run(&project.id, &cronjob.name, &run).await?;
            if r.changed {
                recorded += 1;
                info!(project = %project.name, cronjob = %cronjob.name, scheduled = %t, "A scheduled run was missed.");
            }
            if r.needs_alerts {
                crate::alerts::raise(app, &project.id, &cronjob.name, &run).await?;
                crate::run_metrics::ended(&run);
            }
        }
    }
    store
        .set_missed_checked_until(&project.id, &cronjob.name, decided)
        .await?;
    // The next time after `decided` can be missed once its deadline passed
    // (at once when this check stopped short).
    let next = match found.examined_until {
        Some(_) => now,
        None => schedule
            .next_after(decided)
            .and_then(|t| t.checked_add(deadline).ok())
            .unwrap_or(never),
    };
    Ok((recorded, next))
}

/// Forgets the runs the CronJob's retention (or the installation's) no
/// longer keeps.
async fn retain(
    app: &App,
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
    let ages = app.store().run_ages(&project.id, cronjob).await?;
    let expired = hks_history::retention::expired(policy, &ages, now);
    if !expired.is_empty() {
        app.store()
            .delete_runs(&project.id, cronjob, &expired)
            .await?;
    }
    Ok(expired.len())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use hks_core::run::{Run, RunResult, Trigger};
    use hks_core::spec::ApplicationSpec;
    use hks_kube::fake::FakeGateway;
    use hks_store::Store;

    use super::*;

    fn every_minute() -> CronJobSpec {
        serde_json::from_value(serde_json::json!({
            "schedule": "* * * * *", "image": "busybox:1", "startingDeadlineSeconds": 10
        }))
        .unwrap()
    }

    struct Setup {
        store: Store,
        app: App,
        conn: hks_core::tenant::ClusterConnection,
        tenant: hks_store::Tenant,
        project: Project,
        spec: CronJobSpec,
        cronjob: Application,
        start: Timestamp,
    }

    /// A tenant, its project and a CronJob `every` (every minute, deadline
    /// 10 s) as if last edited at `start`, on the fake cluster.
    async fn setup() -> Setup {
        let store = Store::in_memory().await.unwrap();
        let app = App::new(store.clone(), Arc::new(FakeGateway::new()));
        let conn = serde_json::from_value(serde_json::json!({
            "kind": "kubeconfig", "kubeconfig": "apiVersion: v1\nkind: Config\n"
        }))
        .unwrap();
        let tenant = store.create_tenant("acme", &conn).await.unwrap();
        let project = store.create_project(&tenant.id, "shop").await.unwrap();
        let spec = every_minute();
        let mut cronjob = store
            .create_application(
                &project.id,
                "every",
                &ApplicationSpec::Cronjob(spec.clone()),
            )
            .await
            .unwrap();
        let start: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
        cronjob.updated_at = start;
        Setup {
            store,
            app,
            conn,
            tenant,
            project,
            spec,
            cronjob,
            start,
        }
    }

    /// Retention forgets old alerts and those beyond the count per CronJob,
    /// with their deliveries; a pass without retention due keeps them.
    #[tokio::test]
    async fn retention_prunes_alerts() {
        let Setup {
            store,
            app,
            conn,
            tenant,
            project,
            ..
        } = setup().await;
        let now = Timestamp::now();
        let old = now - SignedDuration::from_hours(24 * 31);
        for (i, at) in [old, old, now, now, now].into_iter().enumerate() {
            let alert = hks_history::alerts::Alert {
                key: format!("failed:every-{i}"),
                kind: hks_history::alerts::AlertKind::Failed,
                subject: format!("every-{i}"),
                summary: "failed".into(),
            };
            store
                .raise_alert(&project.id, "every", &alert, at, None)
                .await
                .unwrap();
        }
        let settings = Settings {
            retention: Retention {
                max_runs: Some(100),
                max_age_days: Some(30),
            },
            alerts_max_per_cronjob: 2,
            ..Settings::default()
        };
        let cluster = hks_kube::TenantCluster {
            installation: app.installation(),
            tenant_id: &tenant.id,
            tenant_name: &tenant.name,
            connection: &conn,
        };
        let subjects = || async {
            store
                .alert_history(&project.id, None, 10, 0)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.alert.subject)
                .collect::<Vec<_>>()
        };
        let pass = housekeeping(&app, cluster, &settings, false, &mut HashMap::new())
            .await
            .unwrap();
        assert_eq!(pass.alerts_expired, 0);
        assert_eq!(subjects().await.len(), 5);
        let pass = housekeeping(&app, cluster, &settings, true, &mut HashMap::new())
            .await
            .unwrap();
        assert_eq!(pass.alerts_expired, 3);
        assert_eq!(subjects().await, ["every-4", "every-3"]);
    }

    /// After a long outage a CronJob can have run far more often than the
    /// newest few hundred runs say: every run since the last check counts,
    /// so none of them is taken for missed.
    #[tokio::test]
    async fn more_runs_since_the_last_check_than_a_page_are_not_missed() {
        let Setup {
            store,
            app,
            conn,
            tenant,
            project,
            spec,
            cronjob,
            start,
        } = setup().await;
        // Edited at `start`, and ran every minute since, 700 times.
        let schedule = hks_schedule::check("* * * * *", "UTC").unwrap();
        let times: Vec<Timestamp> = schedule.fire_times(start).take(700).collect();
        for t in &times {
            let run = Run {
                name: format!("every-{}", t.as_second() / 60),
                uid: None,
                trigger: Trigger::Scheduled,
                triggered_by: None,
                scheduled_at: Some(*t),
                created_at: Some(*t + SignedDuration::from_secs(1)),
                started_at: None,
                finished_at: None,
                duration_seconds: None,
                result: RunResult::Succeeded,
                reason: None,
                message: None,
                exit_code: None,
                attempts: vec![],
                start_delay_seconds: None,
                start_delay: None,
                in_cluster: false,
                cancelled_by: None,
                overrides: None,
                rerun_of: None,
                backfilled_by: None,
            };
            store.record_run(&project.id, "every", &run).await.unwrap();
        }
        let now = times[699] + SignedDuration::from_mins(1);
        let cluster = hks_kube::TenantCluster {
            installation: app.installation(),
            tenant_id: &tenant.id,
            tenant_name: &tenant.name,
            connection: &conn,
        };
        let (recorded, _) = missed(&app, cluster, &project, &cronjob, &spec, now)
            .await
            .unwrap();
        assert_eq!(recorded, 0, "every scheduled time ran");
        let runs = store.runs(&project.id, "every", 1000).await.unwrap();
        assert!(runs.iter().all(|r| r.result != RunResult::Missed));
    }

    /// Fire times beyond what one check examines are checked by the next,
    /// none dropped.
    #[tokio::test]
    async fn a_long_outage_is_checked_in_steps() {
        let Setup {
            store: _,
            app,
            conn,
            tenant,
            project,
            spec,
            cronjob,
            start,
        } = setup().await;
        // 1,500 minutes without a run.
        let now = start + SignedDuration::from_mins(1500) + SignedDuration::from_secs(30);
        let cluster = hks_kube::TenantCluster {
            installation: app.installation(),
            tenant_id: &tenant.id,
            tenant_name: &tenant.name,
            connection: &conn,
        };
        let (first, next) = missed(&app, cluster, &project, &cronjob, &spec, now)
            .await
            .unwrap();
        assert_eq!(first, hks_history::missed::LIMIT);
        assert_eq!(next, now, "the rest is due at once");
        let (second, _) = missed(&app, cluster, &project, &cronjob, &spec, now)
            .await
            .unwrap();
        assert_eq!(
            first + second,
            1500,
            "every minute, none twice, none dropped"
        );
    }
}
