//! The next fire time, exactly as the CronJob controller computes it.
//!
//! This is a port of robfig/cron v3.0.1 `SpecSchedule.Next` (MIT licence,
//! Copyright (C) 2012 Rob Figueiredo), which the controller calls on
//! `TZ=<spec.timeZone> <spec.schedule>`. It walks the calendar field by field in
//! the schedule's zone using Go's time arithmetic (see [`crate::zone`]), so its
//! answers around daylight-saving transitions are robfig's: a time in the
//! spring-forward gap is skipped, a time in the autumn overlap fires twice.

use crate::expr::{STAR, Spec};
use crate::zone::{Cursor, Fields};

/// How many steps `next` may take; far more than any real schedule needs within
/// robfig's five-year horizon, and a bound on work for hostile input.
const STEP_LIMIT: u32 = 10_000_000;

/// robfig's `SpecSchedule.Next(t)` for `t` in the whole second `unix` (any
/// fraction of it gives the same answer): the first fire time strictly after
/// it, or `None` when there is none within five years (robfig's zero time).
pub(crate) fn next(spec: &Spec, zone: &Cursor<'_>, unix: i64) -> Option<i64> {
    // Start at the earliest possible time (the upcoming second).
    let mut t = unix + 1;
    let mut added = false;
    let year_limit = zone.fields(t).year + 5;
    let mut steps = 0u32;
    let month_matches = |f: &Fields| spec.month & (1 << f.month) != 0;
    let hour_matches = |f: &Fields| spec.hour & (1 << f.hour) != 0;
    let minute_matches = |f: &Fields| spec.minute & (1 << f.minute) != 0;

    'wrap: loop {
        steps += 1;
        if steps > STEP_LIMIT {
            return None;
        }
        let mut f = zone.fields(t);
        if f.year > year_limit {
            return None;
        }

        while !month_matches(&f) {
            if !added {
                added = true;
                t = zone.date(f.year, i64::from(f.month), 1, 0, 0, 0);
                f = zone.fields(t);
            }
            // t.AddDate(0, 1, 0)
            t = zone.date(
                f.year,
                i64::from(f.month) + 1,
                i64::from(f.day),
                i64::from(f.hour),
                i64::from(f.minute),
                i64::from(f.second),
            );
            f = zone.fields(t);
            if f.month == 1 {
                continue 'wrap;
            }
        }

        while !day_matches(spec, &f) {
            if !added {
                added = true;
                t = zone.date(f.year, i64::from(f.month), i64::from(f.day), 0, 0, 0);
                f = zone.fields(t);
            }
            // t.AddDate(0, 0, 1)
            t = zone.date(
                f.year,
                i64::from(f.month),
                i64::from(f.day) + 1,
                i64::from(f.hour),
                i64::from(f.minute),
                i64::from(f.second),
            );
            f = zone.fields(t);
            // Midnight may not exist on a DST day: robfig moves to the nearest hour 0.
            if f.hour != 0 {
                if f.hour > 12 {
                    t += i64::from(24 - f.hour) * 3_600;
                } else {
                    t -= i64::from(f.hour) * 3_600;
                }
                f = zone.fields(t);
            }
            if f.day == 1 {
                continue 'wrap;
            }
            steps += 1;
            if steps > STEP_LIMIT {
                return None;
            }
        }

        while !hour_matches(&f) {
            if !added {
                added = true;
                t = zone.date(
                    f.year,
                    i64::from(f.month),
                    i64::from(f.day),
                    i64::from(f.hour),
                    0,
                    0,
                );
            }
            t += 3_600;
            f = zone.fields(t);
            if f.hour == 0 {
                continue 'wrap;
            }
        }

        while !minute_matches(&f) {
            if !added {
                added = true;
                t -= t.rem_euclid(60);
            }
            t += 60;
            f = zone.fields(t);
            if f.minute == 0 {
                continue 'wrap;
            }
        }

        // The seconds field of ParseStandard is always exactly 0.
        while f.second != 0 {
            if !added {
                added = true;
            }
            t += 1;
            f = zone.fields(t);
            if f.second == 0 {
                continue 'wrap;
            }
        }

        return Some(t);
    }
}

/// robfig's `dayMatches`: AND when either day field was a star, OR otherwise.
pub(crate) fn day_matches(spec: &Spec, f: &Fields) -> bool {
    let dom = spec.dom & (1 << f.day) != 0;
    let dow = spec.dow & (1 << f.weekday) != 0;
    if spec.dom & STAR != 0 || spec.dow & STAR != 0 {
        dom && dow
    } else {
        dom || dow
    }
}
