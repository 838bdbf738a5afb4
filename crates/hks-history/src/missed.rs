//! Missed runs: scheduled times that produced no Job.
//!
//! The CronJob controller names a scheduled Job `<cronjob>-<minutes since the
//! epoch>` and stamps it with the scheduled time, so comparing the schedule's
//! fire times with the scheduled times of the Jobs that exist says which times
//! ran. A time is missed once its starting deadline has passed without a Job
//! (the controller will not start it after that), or, with no deadline, once a
//! later fire time has passed (the controller only ever runs the latest).

use jiff::{SignedDuration, Timestamp};

use hks_schedule::Schedule;

/// The most fire times examined in one call, to bound the work after a long
/// outage (the controller itself gives up past 100 missed times).
const LIMIT: usize = 1_000;

/// The scheduled times in `(since, now]` that have no Job and can no longer
/// start, oldest first.
pub fn missed_times(
    schedule: &Schedule,
    since: Timestamp,
    now: Timestamp,
    starting_deadline: Option<SignedDuration>,
    ran: &[Timestamp],
) -> Vec<Timestamp> {
    let times: Vec<Timestamp> = schedule
        .fire_times(since)
        .take_while(|t| *t <= now)
        .take(LIMIT)
        .collect();
    let mut out = Vec::new();
    for (i, t) in times.iter().enumerate() {
        if ran.contains(t) {
            continue;
        }
        let too_late = match starting_deadline {
            Some(deadline) => t.checked_add(deadline).is_ok_and(|end| end < now),
            None => i + 1 < times.len(),
        };
        if too_late {
            out.push(*t);
        }
    }
    out
}

/// The scheduled time encoded in a scheduled Job's name (`<cronjob>-<minutes>`).
pub fn scheduled_time_from_job_name(cronjob: &str, job: &str) -> Option<Timestamp> {
    let minutes: i64 = job.strip_prefix(cronjob)?.strip_prefix('-')?.parse().ok()?;
    Timestamp::from_second(minutes.checked_mul(60)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn finds_times_without_jobs_after_the_deadline() {
        let schedule = hks_schedule::check("*/10 * * * *", "UTC").unwrap();
        let since = ts("2025-01-01T00:00:00Z");
        let now = ts("2025-01-01T00:41:00Z");
        let ran = [ts("2025-01-01T00:10:00Z"), ts("2025-01-01T00:30:00Z")];
        let deadline = Some(SignedDuration::from_mins(2));
        // 00:20 has no Job and its deadline passed; 00:40 may still start.
        assert_eq!(
            missed_times(&schedule, since, now, deadline, &ran),
            [ts("2025-01-01T00:20:00Z")]
        );
        let now = ts("2025-01-01T00:43:00Z");
        assert_eq!(missed_times(&schedule, since, now, deadline, &ran).len(), 2);
        // Without a deadline only a superseded time counts as missed.
        assert_eq!(
            missed_times(&schedule, since, now, None, &ran),
            [ts("2025-01-01T00:20:00Z")]
        );
    }

    #[test]
    fn job_names_carry_the_scheduled_minute() {
        assert_eq!(
            scheduled_time_from_job_name("backup", "backup-29000000"),
            Some(ts("2025-02-19T21:20:00Z"))
        );
        assert_eq!(
            scheduled_time_from_job_name("backup", "backup-manual-x"),
            None
        );
        assert_eq!(
            scheduled_time_from_job_name("backup", "other-29000000"),
            None
        );
    }
}
