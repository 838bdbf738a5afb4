//! Retention: which recorded runs to forget.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// How much history to keep: the newest `max_runs`, and none older than
/// `max_age_days`. Either may be absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Retention {
    pub max_runs: Option<u32>,
    pub max_age_days: Option<u32>,
}

impl Default for Retention {
    /// The installation default: 100 runs, 30 days.
    fn default() -> Self {
        Retention {
            max_runs: Some(100),
            max_age_days: Some(30),
        }
    }
}

/// Given runs as (id, finished at) newest first, the ids to delete. Runs still
/// going (no finish time) are never deleted.
pub fn expired(
    policy: Retention,
    runs: &[(String, Option<Timestamp>)],
    now: Timestamp,
) -> Vec<&str> {
    let cutoff = policy.max_age_days.and_then(|d| {
        now.checked_sub(SignedDuration::from_hours(24 * i64::from(d)))
            .ok()
    });
    let mut kept = 0u32;
    let mut out = Vec::new();
    for (id, finished) in runs {
        let Some(finished) = finished else { continue };
        let too_old = cutoff.is_some_and(|c| *finished < c);
        let too_many = policy.max_runs.is_some_and(|m| kept >= m);
        if too_old || too_many {
            out.push(id.as_str());
        } else {
            kept += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_within_age() {
        let now: Timestamp = "2025-02-01T00:00:00Z".parse().unwrap();
        let day = |d: i64| Some(now.checked_sub(SignedDuration::from_hours(24 * d)).unwrap());
        let runs = vec![
            ("running".to_owned(), None),
            ("a".to_owned(), day(1)),
            ("b".to_owned(), day(2)),
            ("c".to_owned(), day(3)),
            ("old".to_owned(), day(40)),
        ];
        let policy = Retention {
            max_runs: Some(2),
            max_age_days: Some(30),
        };
        assert_eq!(expired(policy, &runs, now), ["c", "old"]);
        assert_eq!(
            expired(
                Retention {
                    max_runs: None,
                    max_age_days: None
                },
                &runs,
                now
            ),
            Vec::<&str>::new()
        );
    }
}
