//! The one place the domain core asks whether a schedule and time zone are
//! acceptable. Field names in the returned problems are relative to the
//! CronJob spec (`schedule`, `timeZone`).
//!
//! Interim: the schedule engine (`hks-schedule`) is being written on main.
//! Until it lands, this module applies the structural rules of
//! kube-apiserver that need no cron parser (five fields or a descriptor, no
//! `TZ=`, a loadable IANA zone that is not `Local`). Once `hks_schedule::check`
//! exists, this function delegates to it and nothing else changes.

use crate::problem::{Invalid, Problems};

pub fn check(schedule: &str, time_zone: &str) -> Result<(), Invalid> {
    let mut p = Problems::new();
    let s = schedule.trim();
    if s.is_empty() {
        p.push(
            "schedule",
            "empty_schedule",
            "the schedule must not be empty",
            Some("for example `0 3 * * *` (every day at 03:00) or `@hourly`"),
        );
    } else if s.contains("TZ") {
        p.push(
            "schedule",
            "time_zone_in_schedule",
            "Kubernetes rejects `TZ=` and `CRON_TZ=` in schedules",
            Some("remove it and set `timeZone` instead"),
        );
    } else if let Some(descriptor) = s.strip_prefix('@') {
        let known = [
            "yearly", "annually", "monthly", "weekly", "daily", "midnight", "hourly",
        ];
        if !known.contains(&descriptor) && !descriptor.starts_with("every ") {
            p.push(
                "schedule",
                "unknown_descriptor",
                format!("'@{descriptor}' is not a schedule descriptor"),
                Some("use @yearly, @monthly, @weekly, @daily, @hourly or five cron fields"),
            );
        }
    } else {
        let n = s.split_whitespace().count();
        if n != 5 {
            p.push(
                "schedule",
                "wrong_field_count",
                format!("a schedule has exactly 5 fields (minute hour day-of-month month day-of-week); this one has {n}"),
                (n == 6).then_some("Kubernetes has no seconds field: drop the first field"),
            );
        }
    }
    let zone_ok = !time_zone.is_empty()
        && time_zone != "Local"
        && time_zone.split('/').all(|c| {
            !c.is_empty()
                && c.len() <= 14
                && c != "."
                && c != ".."
                && !c.starts_with('-')
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b))
        })
        && jiff::tz::TimeZone::get(time_zone).is_ok();
    if !zone_ok {
        p.push(
            "timeZone",
            "unknown_time_zone",
            format!("'{time_zone}' is not an IANA time zone"),
            Some("use a zone name like Europe/Berlin, America/New_York or UTC"),
        );
    }
    p.finish()
}
