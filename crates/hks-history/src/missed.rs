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
/// outage (the controller itself gives up past 100 missed times). Later
/// ones are not dropped: the next call goes on from [`Missed::examined_until`].
pub const LIMIT: usize = 1_000;

/// What one look at a schedule found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missed {
    /// The scheduled times that have no Job and can no longer start, oldest first.
    pub times: Vec<Timestamp>,
    /// When more than [`LIMIT`] fire times were due: the last one examined.
    /// The times after it are for the next call.
    pub examined_until: Option<Timestamp>,
}

/// The scheduled times in `(since, now]` that have no Job and can no longer
/// start, at most [`LIMIT`] of them examined. `ran`: the scheduled times of
/// the runs that happened since `since`, all of them.
pub fn missed_times(
    schedule: &Schedule,
    since: Timestamp,
    now: Timestamp,
    starting_deadline: Option<SignedDuration>,
    ran: &[Timestamp],
) -> Missed {
    let mut times: Vec<Timestamp> = schedule
        .fire_times(since)
        .take_while(|t| *t <= now)
        .take(LIMIT + 1)
        .collect();
    let examined_until = (times.len() > LIMIT).then(|| {
        times.truncate(LIMIT);
        times[LIMIT - 1]
    });
    let ran: std::collections::HashSet<&Timestamp> = ran.iter().collect();
    let mut out = Vec::new();
    for (i, t) in times.iter().enumerate() {
        if ran.contains(t) {
            continue;
        }
        let too_late = match starting_deadline {
            Some(deadline) => t.checked_add(deadline).is_ok_and(|end| end < now),
            None => i + 1 < times.len() || examined_until.is_some(),
        };
        if too_late {
            out.push(*t);
        }
    }
    Missed {
        times: out,
        examined_until,
    }
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
            missed_times(&schedule, since, now, deadline, &ran).times,
            [ts("2025-01-01T00:20:00Z")]
        );
        let now = ts("2025-01-01T00:43:00Z");
        assert_eq!(
            missed_times(&schedule, since, now, deadline, &ran)
                .times
                .len(),
            2
        );
        // Without a deadline only a superseded time counts as missed.
        assert_eq!(
            missed_times(&schedule, since, now, None, &ran).times,
            [ts("2025-01-01T00:20:00Z")]
        );
    }

    /// After a long outage nothing is dropped: a call examines at most
    /// LIMIT times and says where the next one goes on.
    #[test]
    fn a_long_outage_is_examined_in_steps_without_dropping_times() {
        let schedule = hks_schedule::check("* * * * *", "UTC").unwrap();
        let since = ts("2025-01-01T00:00:00Z");
        let now = ts("2025-01-02T12:00:00Z"); // 2,160 fire times
        let deadline = Some(SignedDuration::from_mins(1));
        // Every tenth minute ran.
        let ran: Vec<Timestamp> = schedule
            .fire_times(since)
            .take_while(|t| *t <= now)
            .step_by(10)
            .collect();
        let mut at = since;
        let mut missed = Vec::new();
        let mut calls = 0;
        loop {
            calls += 1;
            let m = missed_times(&schedule, at, now, deadline, &ran);
            missed.extend(m.times);
            match m.examined_until {
                Some(until) => at = until,
                None => break,
            }
        }
        assert_eq!(calls, 3);
        // 2,160 minutes in (since, now], 216 of them ran; the last two
        // (11:59 and 12:00) are still within their starting deadline.
        assert_eq!(missed.len(), 2160 - 216 - 2);
        assert!(missed.windows(2).all(|w| w[0] < w[1]), "no time twice");
        assert!(missed.iter().all(|t| !ran.contains(t)));
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
