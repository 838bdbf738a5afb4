//! Backfill: running past scheduled times late, on a user's request.
//!
//! Kubernetes' CronJob controller starts nothing for a time it missed by
//! more than `startingDeadlineSeconds`, and its proposal to catch up was
//! closed (kubernetes#79995). HKS lets the user name the times (or take the
//! missed ones it recorded) and starts one Job per time, named and
//! annotated as the controller would have done at that time. This module
//! decides which times a request may backfill; nothing here starts a run.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::problem::{Code, Invalid, Problems, index};

/// The most times one request backfills.
pub const MAX_TIMES: usize = 20;

/// How far back a time may be: a week. Older runs are rarely still worth
/// running, and a mistaken request cannot start months of runs.
pub const MAX_AGE: SignedDuration = SignedDuration::from_hours(7 * 24);

/// `POST .../cronjobs/{name}/backfill`: either the times, or the missed
/// runs HKS recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"missed": true}))]
pub struct BackfillRequest {
    /// Times the schedule fired at (RFC 3339 with an offset), in the past
    /// seven days; at most 20.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scheduled_times: Vec<String>,
    /// Backfill the missed runs HKS recorded in the past seven days that
    /// were not backfilled yet (at most 20, the oldest first).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub missed: bool,
}

/// What a backfill request started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackfillResult {
    /// The runs started, the oldest scheduled time first. With the `Forbid`
    /// or `Replace` concurrency policy all but one wait (`Suspended`) and
    /// start one at a time.
    pub runs: Vec<crate::run::Run>,
}

/// Checks a request's shape: one of `scheduledTimes` and `missed`.
pub fn check_shape(request: &BackfillRequest) -> Result<(), Invalid> {
    match (request.scheduled_times.is_empty(), request.missed) {
        (true, false) => Err(Invalid::one(
            "scheduledTimes",
            Code::Required,
            "name the scheduled times to run, or set missed to true for the missed runs",
        )),
        (false, true) => Err(Invalid::one(
            "missed",
            Code::ConflictingFields,
            "give either scheduledTimes or missed, not both",
        )),
        _ => Ok(()),
    }
}

/// The times of `request.scheduledTimes` that `schedule` may backfill at
/// `now`, oldest first; every problem with its index.
pub fn times(
    request: &BackfillRequest,
    schedule: &hks_schedule::Schedule,
    now: Timestamp,
) -> Result<Vec<Timestamp>, Invalid> {
    let mut p = Problems::new();
    if request.scheduled_times.len() > MAX_TIMES {
        p.push(
            "scheduledTimes",
            Code::OutOfRange,
            format!(
                "{} times given; one request backfills at most {MAX_TIMES}",
                request.scheduled_times.len()
            ),
            Some("send the rest in another request"),
        );
        return Err(p.finish().unwrap_err());
    }
    let oldest = now - MAX_AGE;
    let mut out: Vec<Timestamp> = Vec::new();
    for (i, text) in request.scheduled_times.iter().enumerate() {
        let field = index("scheduledTimes", i);
        let Ok(at) = text.trim().parse::<Timestamp>() else {
            p.push(
                field,
                Code::InvalidTime,
                format!("{text:?} is not an RFC 3339 time with an offset"),
                Some("write it as 2026-11-27T03:00:00Z or 2026-11-27T04:00:00+01:00"),
            );
            continue;
        };
        if at > now {
            p.push(
                field,
                Code::OutOfRange,
                format!("{at} is in the future: the schedule will run it"),
                None,
            );
        } else if at < oldest {
            p.push(
                field,
                Code::OutOfRange,
                format!("{at} is more than 7 days ago, the furthest HKS backfills"),
                Some("start an older time with Run now instead"),
            );
        } else if !fires_at(schedule, at) {
            let before = previous_fire(schedule, at);
            let after = schedule.next_after(at);
            let nearest = [before, after]
                .into_iter()
                .flatten()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(" and ");
            p.push(
                field,
                Code::NotAFireTime,
                format!(
                    "the schedule {:?} in {} does not fire at {at}",
                    schedule.expr(),
                    schedule.zone().name()
                ),
                (!nearest.is_empty())
                    .then(|| format!("the nearest times it fires at are {nearest}"))
                    .as_deref(),
            );
        } else if out.contains(&at) {
            p.push(
                field,
                Code::DuplicateTime,
                format!("{at} is listed twice"),
                None,
            );
        } else {
            out.push(at);
        }
    }
    p.finish()?;
    out.sort();
    Ok(out)
}

/// Whether `schedule` fires at `at` (a whole minute it selects).
pub fn fires_at(schedule: &hks_schedule::Schedule, at: Timestamp) -> bool {
    schedule.next_after(at - SignedDuration::from_secs(1)) == Some(at)
}

/// The last time before `at` that `schedule` fired at, looking back as far
/// as [`MAX_AGE`].
fn previous_fire(schedule: &hks_schedule::Schedule, at: Timestamp) -> Option<Timestamp> {
    schedule
        .fire_times(at - MAX_AGE)
        .take_while(|t| *t < at)
        .last()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hourly() -> hks_schedule::Schedule {
        hks_schedule::check("0 * * * *", "Europe/Berlin").unwrap()
    }

    fn now() -> Timestamp {
        "2026-11-27T12:30:00Z".parse().unwrap()
    }

    fn request(times: &[&str]) -> BackfillRequest {
        BackfillRequest {
            scheduled_times: times.iter().map(|t| (*t).to_owned()).collect(),
            missed: false,
        }
    }

    #[test]
    fn times_the_schedule_fired_at_are_taken_oldest_first() {
        let got = times(
            &request(&["2026-11-27T11:00:00Z", "2026-11-27T10:00:00+01:00"]),
            &hourly(),
            now(),
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                "2026-11-27T09:00:00Z".parse::<Timestamp>().unwrap(),
                "2026-11-27T11:00:00Z".parse().unwrap()
            ]
        );
    }

    #[test]
    fn every_bad_time_is_reported_with_its_index() {
        let err = times(
            &request(&[
                "yesterday",
                "2026-11-27T13:00:00Z",
                "2026-11-01T10:00:00Z",
                "2026-11-27T11:30:00Z",
                "2026-11-27T11:00:00Z",
                "2026-11-27T12:00:00+01:00",
            ]),
            &hourly(),
            now(),
        )
        .unwrap_err();
        let found: Vec<(&str, Code)> = err
            .problems
            .iter()
            .map(|p| (p.field.as_str(), p.code))
            .collect();
        assert_eq!(
            found,
            vec![
                ("scheduledTimes[0]", Code::InvalidTime),
                ("scheduledTimes[1]", Code::OutOfRange),
                ("scheduledTimes[2]", Code::OutOfRange),
                ("scheduledTimes[3]", Code::NotAFireTime),
                ("scheduledTimes[5]", Code::DuplicateTime),
            ]
        );
        let hint = err.problems[3].hint.as_deref().unwrap();
        assert!(
            hint.contains("2026-11-27T11:00:00Z and 2026-11-27T12:00:00Z"),
            "{hint}"
        );
    }

    #[test]
    fn a_request_names_times_or_missed_runs() {
        assert_eq!(
            check_shape(&BackfillRequest::default())
                .unwrap_err()
                .problems[0]
                .field,
            "scheduledTimes"
        );
        let both = BackfillRequest {
            missed: true,
            ..request(&["2026-11-27T11:00:00Z"])
        };
        assert_eq!(
            check_shape(&both).unwrap_err().problems[0].code,
            Code::ConflictingFields
        );
        let many: Vec<String> = (0..21).map(|_| "2026-11-27T11:00:00Z".to_owned()).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            times(&request(&refs), &hourly(), now())
                .unwrap_err()
                .problems[0]
                .code,
            Code::OutOfRange
        );
    }

    #[test]
    fn a_time_zone_with_daylight_saving_is_followed() {
        // 02:30 in Berlin on the last Sunday of March does not exist, so a
        // daily 02:30 fires at 03:00 local (01:00 UTC) that day, as Go's cron does.
        let daily = hks_schedule::check("30 2 * * *", "Europe/Berlin").unwrap();
        let now: Timestamp = "2026-03-30T00:00:00Z".parse().unwrap();
        let fired: Vec<Timestamp> = daily
            .fire_times("2026-03-28T12:00:00Z".parse().unwrap())
            .take_while(|t| *t < now)
            .collect();
        for t in &fired {
            assert!(fires_at(&daily, *t), "{t}");
        }
        assert!(!fires_at(&daily, "2026-03-29T00:30:00Z".parse().unwrap()));
    }
}
