//! Reads that merge the run history (the store) with what the cluster shows
//! now: a run Kubernetes deleted is still listed, with its logs, and a run
//! the cluster still has is shown as the cluster has it.

use std::collections::{BTreeMap, HashMap};

use futures::stream::BoxStream;
use hks_core::run::{Run, sort_newest_first};
use hks_kube::{KubeError, LogOptions, Observed, TenantCluster};
use hks_store::{Project, StoredLog};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::tenancy::Scope;
use crate::{App, AppError};

#[derive(Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptLogView {
    pub pod: String,
    pub log: String,
    /// Served from HKS's run history: Kubernetes no longer has this attempt.
    pub archived: bool,
    /// HKS kept only the head and tail of a long log (the cut is marked in
    /// the text), or the response's total over all attempts cut this one short.
    pub truncated: bool,
}

/// The most runs a runs list shows.
pub const MAX_RUNS: u32 = 500;

/// Live runs over recorded ones (same Job name); recorded runs the cluster
/// no longer has are marked so. `live` is `None` when the cluster cannot be
/// seen: then every run is shown as recorded.
pub fn merge(recorded: Vec<Run>, live: Option<&[Run]>) -> Vec<Run> {
    let mut by_name: BTreeMap<String, Run> = BTreeMap::new();
    for mut r in recorded {
        if live.is_some() {
            r.in_cluster = false;
        }
        by_name.insert(r.name.clone(), r);
    }
    for r in live.unwrap_or_default() {
        by_name.insert(r.name.clone(), r.clone());
    }
    let mut runs: Vec<Run> = by_name.into_values().collect();
    sort_newest_first(&mut runs);
    runs
}

/// The newest of the live and recorded last runs of each CronJob (missed
/// runs are not executions and are left out of "last run").
pub fn last_runs(
    observed: Option<&Observed>,
    recorded: HashMap<String, Run>,
) -> HashMap<String, Run> {
    let mut out = recorded;
    if let Some(o) = observed {
        for v in out.values_mut() {
            v.in_cluster = false;
        }
        for (name, runs) in &o.runs {
            let Some(live) = runs.first() else { continue };
            let newer = out
                .get(name)
                .is_none_or(|r| (live.created_at, &live.name) >= (r.created_at, &r.name));
            if newer {
                out.insert(name.clone(), live.clone());
            }
        }
    }
    out
}

/// A CronJob's runs, newest first.
pub async fn runs(
    app: &App,
    scope: &Scope,
    project: &Project,
    cronjob: &str,
) -> Result<Vec<Run>, AppError> {
    let observed = crate::observe::project(app, scope, project, None).await?;
    let recorded = app.store().runs(&project.id, cronjob, MAX_RUNS).await?;
    let live = observed
        .as_ref()
        .map(|o| o.runs.get(cronjob).map(Vec::as_slice).unwrap_or_default());
    Ok(merge(recorded, live))
}

/// An archived attempt's log as a request asks for it, in at most `limit`
/// bytes (its `limitBytes`, or less when the response's total is nearly
/// spent). Without `tailLines` only the first `limit` bytes are ever
/// decompressed; with it the archive is, whole (it is at most the
/// installation's archive cap).
fn restore(log: &StoredLog, options: &LogOptions, limit: Option<usize>) -> AttemptLogView {
    let own = options.limit_bytes.and_then(|n| usize::try_from(n).ok());
    let tail_lines = options.tail_lines.and_then(|n| usize::try_from(n).ok());
    // One byte more than the limit says whether the limit cut the log.
    let restored = match tail_lines {
        Some(_) => hks_history::archive::restore(&log.gzip),
        None => hks_history::archive::restore_head(
            &log.gzip,
            limit.map_or(usize::MAX, |l| l.saturating_add(1)),
        ),
    };
    let (text, cut) = match restored {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let clipped = hks_history::archive::clip(&text, tail_lines, None);
            let longer = limit.is_some_and(|l| clipped.len() > l);
            let clipped = hks_history::archive::clip(clipped, None, limit);
            // Only a limit below the request's own is the total's cut.
            let by_total = limit.is_some_and(|l| own.is_none_or(|own| l < own));
            (clipped.to_owned(), by_total && longer)
        }
        Err(_) => (
            "[HKS: this archived log cannot be read]\n".to_owned(),
            false,
        ),
    };
    AttemptLogView {
        pod: log.pod.clone(),
        log: text,
        archived: true,
        truncated: log.truncated || cut,
    }
}

/// The lesser of two limits, `None` being none.
fn at_most(a: Option<usize>, b: Option<usize>) -> Option<usize> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The logs of a run's attempts: from the cluster while it has them, from
/// the history otherwise (and for attempts the cluster no longer has).
pub async fn logs(
    app: &App,
    cluster: TenantCluster<'_>,
    project: &Project,
    cronjob: &str,
    run: &str,
    options: &LogOptions,
) -> Result<Vec<AttemptLogView>, AppError> {
    let archived: Vec<StoredLog> = app
        .store()
        .run_logs(&project.id, cronjob, run)
        .await?
        .into_iter()
        .filter(|l| options.attempt.as_ref().is_none_or(|a| *a == l.pod))
        .collect();
    let live = app
        .gateway()
        .logs(cluster, &project.namespace, cronjob, run, options)
        .await;
    let own = options.limit_bytes.and_then(|n| usize::try_from(n).ok());
    match live {
        Ok(attempts) => {
            let mut left = options.total_bytes;
            for l in &attempts {
                if let Some(left) = &mut left {
                    *left = left.saturating_sub(l.log.len());
                }
            }
            let mut out: Vec<AttemptLogView> = attempts
                .into_iter()
                .map(|l| AttemptLogView {
                    pod: l.pod,
                    log: l.log,
                    archived: false,
                    truncated: l.cut,
                })
                .collect();
            // Attempts the cluster no longer has are older than those it
            // has: they get what the newer ones left of the total.
            for a in &archived {
                if !out.iter().any(|l| l.pod == a.pod) {
                    let view = restore(a, options, at_most(own, left));
                    if let Some(left) = &mut left {
                        *left = left.saturating_sub(view.log.len());
                    }
                    out.push(view);
                }
            }
            Ok(out)
        }
        Err(KubeError::NotFound | KubeError::Unreachable(_) | KubeError::BadAnswer(_))
            if !archived.is_empty() =>
        {
            let mut left = options.total_bytes;
            let mut out: Vec<AttemptLogView> = archived
                .iter()
                .rev()
                .map(|a| {
                    let view = restore(a, options, at_most(own, left));
                    if let Some(left) = &mut left {
                        *left = left.saturating_sub(view.log.len());
                    }
                    view
                })
                .collect();
            out.reverse();
            Ok(out)
        }
        Err(KubeError::NotFound) => {
            // A recorded run without archived logs (missed, or never started).
            match app.store().run(&project.id, cronjob, run).await? {
                Some(_) if options.attempt.is_none() => Ok(vec![]),
                _ => Err(AppError::NotFound("run")),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Follows a run's log; a run whose attempts are archived and gone from the
/// cluster gives its archived log at once.
pub async fn follow(
    app: &App,
    cluster: TenantCluster<'_>,
    project: &Project,
    cronjob: &str,
    run: &str,
    options: &LogOptions,
) -> Result<BoxStream<'static, Result<String, KubeError>>, AppError> {
    match app
        .gateway()
        .follow_logs(cluster, &project.namespace, cronjob, run, options)
        .await
    {
        Ok(s) => Ok(s),
        Err(KubeError::NotFound) => {
            let archived = app.store().run_logs(&project.id, cronjob, run).await?;
            let chosen = match &options.attempt {
                Some(a) => archived.iter().find(|l| l.pod == *a),
                None => archived.last(),
            }
            .ok_or(AppError::NotFound("run"))?;
            let own = options.limit_bytes.and_then(|n| usize::try_from(n).ok());
            let text = restore(chosen, options, own).log;
            Ok(Box::pin(futures::stream::once(async move { Ok(text) })))
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hks_core::run::{RunResult, Trigger};
    use jiff::Timestamp;

    fn r(name: &str, at: &str, result: RunResult) -> Run {
        Run {
            name: name.into(),
            uid: None,
            trigger: Trigger::Scheduled,
            triggered_by: None,
            scheduled_at: None,
            created_at: Some(at.parse::<Timestamp>().unwrap()),
            started_at: None,
            finished_at: None,
            duration_seconds: None,
            result,
            reason: None,
            message: None,
            exit_code: None,
            attempts: vec![],
            start_delay_seconds: None,
            start_delay: None,
            in_cluster: true,
            cancelled_by: None,
            overrides: None,
            rerun_of: None,
            backfilled_by: None,
        }
    }

    #[test]
    fn live_runs_win_and_gone_runs_are_marked() {
        let recorded = vec![
            r("b", "2025-01-01T00:02:00Z", RunResult::Running),
            r("a", "2025-01-01T00:01:00Z", RunResult::Succeeded),
        ];
        let live = [
            r("c", "2025-01-01T00:03:00Z", RunResult::Running),
            r("b", "2025-01-01T00:02:00Z", RunResult::Failed),
        ];
        let merged = merge(recorded, Some(&live));
        let view: Vec<_> = merged
            .iter()
            .map(|r| (r.name.as_str(), r.result, r.in_cluster))
            .collect();
        assert_eq!(
            view,
            [
                ("c", RunResult::Running, true),
                ("b", RunResult::Failed, true),
                ("a", RunResult::Succeeded, false),
            ]
        );
    }

    #[test]
    fn the_newest_last_run_wins() {
        let mut observed = Observed::default();
        observed.runs.insert(
            "job".into(),
            vec![r("old", "2025-01-01T00:01:00Z", RunResult::Succeeded)],
        );
        let recorded = HashMap::from([(
            "job".to_owned(),
            r("new", "2025-01-01T00:05:00Z", RunResult::Failed),
        )]);
        let last = last_runs(Some(&observed), recorded);
        assert_eq!(last["job"].name, "new");
        assert!(!last["job"].in_cluster);
    }
}
