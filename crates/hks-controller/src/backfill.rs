//! The backfill step: lets a waiting backfill run start once none of its
//! CronJob's runs is going, so that a backfill under `Forbid` or `Replace`
//! runs its times one at a time, the oldest first
//! (`hks_app::run_control::backfill` creates them suspended). HKS only
//! lifts `spec.suspend`; Kubernetes' Job controller starts the pods. The
//! state is the cluster's (which Jobs are suspended), so a restart or a
//! second pass changes nothing twice.

use std::collections::BTreeMap;

use hks_app::App;
use hks_core::run::{RunResult, Trigger};
use hks_kube::{ClusterRun, TenantCluster};
use tracing::{info, warn};

/// The waiting backfill runs that may start now, as (namespace, CronJob,
/// run): for each CronJob with no run pending or running, its waiting
/// backfill run of the oldest scheduled time.
pub fn to_release(runs: &[ClusterRun]) -> Vec<(&str, &str, &str)> {
    let mut by_cronjob: BTreeMap<(&str, &str), Vec<&ClusterRun>> = BTreeMap::new();
    for cr in runs {
        by_cronjob
            .entry((cr.namespace.as_str(), cr.cronjob.as_str()))
            .or_default()
            .push(cr);
    }
    by_cronjob
        .into_iter()
        .filter(|(_, runs)| {
            !runs
                .iter()
                .any(|cr| matches!(cr.run.result, RunResult::Pending | RunResult::Running))
        })
        .filter_map(|((ns, cronjob), runs)| {
            runs.into_iter()
                .filter(|cr| {
                    cr.job.is_some()
                        && cr.run.trigger == Trigger::Backfill
                        && cr.run.result == RunResult::Suspended
                })
                .min_by_key(|cr| (cr.run.scheduled_at, cr.run.name.as_str()))
                .map(|cr| (ns, cronjob, cr.run.name.as_str()))
        })
        .collect()
}

/// Releases what [`to_release`] picks; a failure is logged and retried by
/// the next pass.
pub async fn release(app: &App, cluster: TenantCluster<'_>, runs: &[ClusterRun]) -> usize {
    let mut released = 0;
    for (namespace, cronjob, run) in to_release(runs) {
        match app
            .gateway()
            .release_backfill(cluster, namespace, cronjob, run)
            .await
        {
            Ok(()) => {
                released += 1;
                info!(%namespace, %cronjob, %run, "Started a waiting backfill run.");
            }
            Err(error) => {
                warn!(%error, %namespace, %cronjob, %run, "Failed to start a waiting backfill run.")
            }
        }
    }
    released
}

#[cfg(test)]
mod tests {
    use super::*;
    use hks_core::run::missed_run;
    use hks_kube::RunObjectState;
    use jiff::Timestamp;

    fn cluster_run(
        cronjob: &str,
        name: &str,
        trigger: Trigger,
        result: RunResult,
        minute: i64,
    ) -> ClusterRun {
        let at = Timestamp::from_second(1_800_000_000 + minute * 60).unwrap();
        let mut run = missed_run(at, None, String::new());
        run.name = name.to_owned();
        run.trigger = trigger;
        run.result = result;
        ClusterRun {
            namespace: "hks-t-p".into(),
            cronjob: cronjob.into(),
            run,
            job: Some(RunObjectState {
                name: name.into(),
                has_finalizer: true,
                deleting: false,
            }),
            pods: vec![],
        }
    }

    #[test]
    fn the_oldest_waiting_backfill_starts_when_nothing_else_runs() {
        use RunResult::*;
        use Trigger::*;
        let runs = vec![
            cluster_run("a", "a-3", Backfill, Suspended, 3),
            cluster_run("a", "a-1", Backfill, Suspended, 1),
            cluster_run("a", "a-0", Scheduled, Succeeded, 0),
            // b: a scheduled run is going, so its backfill waits.
            cluster_run("b", "b-1", Backfill, Suspended, 1),
            cluster_run("b", "b-9", Scheduled, Running, 9),
            // c: a released backfill has not started its pod yet.
            cluster_run("c", "c-1", Backfill, Pending, 1),
            cluster_run("c", "c-2", Backfill, Suspended, 2),
        ];
        assert_eq!(to_release(&runs), vec![("hks-t-p", "a", "a-1")]);
    }
}
