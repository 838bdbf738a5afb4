//! Alert rules and their evaluation.
//!
//! Every alert has a key that names what it is about (`failed:<run>`,
//! `recovered:<run>`, `missed:<time>` ...). The store keeps the keys of alerts
//! already raised, so duplicate watch events, a restart or a replay of history
//! raise each alert exactly once.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// Which alerts a CronJob (or a whole project) wants.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlertRules {
    /// Alert on every failed run.
    #[serde(default)]
    pub on_failure: bool,
    /// Alert when this many runs in a row have failed (once per streak).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive_failures: Option<u32>,
    /// Alert when a scheduled run did not start.
    #[serde(default)]
    pub on_missed: bool,
    /// Alert when a run is still going after this many seconds (once per run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longer_than_seconds: Option<u32>,
    /// Alert on the first success after a failure that raised an alert.
    #[serde(default)]
    pub on_recovery: bool,
}

/// How a finished run ended, as far as alerts care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Succeeded,
    Failed,
}

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AlertKind {
    Failed,
    ConsecutiveFailures,
    Missed,
    LongRunning,
    Recovered,
}

/// An alert to raise, identified by its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// Unique per CronJob: what makes raising it idempotent.
    pub key: String,
    pub kind: AlertKind,
    /// The run it is about (a Job name), or the missed time.
    pub subject: String,
    pub summary: String,
}

/// The alerts raised when `run` finished with `outcome`, given the outcomes of
/// the CronJob's earlier finished runs, oldest first.
pub fn on_finished(
    rules: &AlertRules,
    earlier: &[Outcome],
    run: &str,
    outcome: Outcome,
    reason: Option<&str>,
) -> Vec<Alert> {
    let mut alerts = Vec::new();
    let streak_before = earlier
        .iter()
        .rev()
        .take_while(|o| **o == Outcome::Failed)
        .count() as u32;
    match outcome {
        Outcome::Failed => {
            let why = reason.map(|r| format!(" ({r})")).unwrap_or_default();
            if rules.on_failure {
                alerts.push(Alert {
                    key: format!("failed:{run}"),
                    kind: AlertKind::Failed,
                    subject: run.to_owned(),
                    summary: format!("Run {run} failed{why}"),
                });
            }
            if let Some(n) = rules.consecutive_failures.filter(|n| *n > 0)
                && streak_before + 1 == n
            {
                alerts.push(Alert {
                    key: format!("streak:{run}"),
                    kind: AlertKind::ConsecutiveFailures,
                    subject: run.to_owned(),
                    summary: format!("{n} runs in a row have failed, the last {run}{why}"),
                });
            }
        }
        Outcome::Succeeded => {
            if rules.on_recovery && streak_before > 0 && failure_alerted(rules, streak_before) {
                alerts.push(Alert {
                    key: format!("recovered:{run}"),
                    kind: AlertKind::Recovered,
                    subject: run.to_owned(),
                    summary: format!(
                        "Run {run} succeeded after {}",
                        plural(streak_before, "failed run")
                    ),
                });
            }
        }
    }
    alerts
}

/// Whether a failure streak of this length raised an alert under these rules
/// (recovery is only worth telling when the failure was told).
fn failure_alerted(rules: &AlertRules, streak: u32) -> bool {
    rules.on_failure
        || rules
            .consecutive_failures
            .is_some_and(|n| n > 0 && streak >= n)
}

/// The alert for a run still going after the limit, if it is due.
pub fn long_running(
    rules: &AlertRules,
    run: &str,
    started: Timestamp,
    now: Timestamp,
) -> Option<Alert> {
    let limit = rules.longer_than_seconds?;
    let running = now.duration_since(started);
    (running > SignedDuration::from_secs(i64::from(limit))).then(|| Alert {
        key: format!("long:{run}"),
        kind: AlertKind::LongRunning,
        subject: run.to_owned(),
        summary: format!("Run {run} has been running for more than {limit} s"),
    })
}

/// The alert for a missed scheduled time.
pub fn missed(rules: &AlertRules, scheduled: Timestamp, why: &str) -> Option<Alert> {
    rules.on_missed.then(|| Alert {
        key: format!("missed:{}", scheduled.as_second()),
        kind: AlertKind::Missed,
        subject: scheduled.to_string(),
        summary: format!("The run scheduled for {scheduled} did not start: {why}"),
    })
}

fn plural(n: u32, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Outcome::*;

    fn all() -> AlertRules {
        AlertRules {
            on_failure: true,
            consecutive_failures: Some(3),
            on_missed: true,
            longer_than_seconds: Some(60),
            on_recovery: true,
        }
    }

    #[test]
    fn a_failure_then_a_success_is_one_failure_and_one_recovery() {
        let rules = AlertRules {
            on_failure: true,
            on_recovery: true,
            ..Default::default()
        };
        let first = on_finished(
            &rules,
            &[Succeeded],
            "job-1",
            Failed,
            Some("BackoffLimitExceeded"),
        );
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].key, "failed:job-1");
        assert_eq!(first[0].summary, "Run job-1 failed (BackoffLimitExceeded)");
        let second = on_finished(&rules, &[Succeeded, Failed], "job-2", Succeeded, None);
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].kind, AlertKind::Recovered);
        assert!(on_finished(&rules, &[Failed, Succeeded], "job-3", Succeeded, None).is_empty());
    }

    #[test]
    fn a_streak_alerts_once_when_it_reaches_the_threshold() {
        let rules = AlertRules {
            consecutive_failures: Some(3),
            on_recovery: true,
            ..Default::default()
        };
        assert!(on_finished(&rules, &[], "a", Failed, None).is_empty());
        assert!(on_finished(&rules, &[Failed], "b", Failed, None).is_empty());
        assert_eq!(
            on_finished(&rules, &[Failed, Failed], "c", Failed, None)[0].kind,
            AlertKind::ConsecutiveFailures
        );
        assert!(on_finished(&rules, &[Failed, Failed, Failed], "d", Failed, None).is_empty());
        // Two failures never alerted, so their end is no recovery to announce.
        assert!(on_finished(&rules, &[Failed, Failed], "e", Succeeded, None).is_empty());
        assert_eq!(
            on_finished(&rules, &[Failed, Failed, Failed], "f", Succeeded, None).len(),
            1
        );
    }

    #[test]
    fn long_runs_and_missed_runs() {
        let start: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
        let later: Timestamp = "2025-01-01T00:01:01Z".parse().unwrap();
        assert!(long_running(&all(), "r", start, start).is_none());
        assert_eq!(
            long_running(&all(), "r", start, later).unwrap().key,
            "long:r"
        );
        assert_eq!(
            missed(&all(), start, "the cluster was unreachable")
                .unwrap()
                .key,
            "missed:1735689600"
        );
        assert!(missed(&AlertRules::default(), start, "x").is_none());
    }
}
