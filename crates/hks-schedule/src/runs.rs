//! Upcoming runs with their daylight-saving notes.
//!
//! Around a DST transition robfig's arithmetic (which the controller uses) skips
//! wall times in the spring-forward gap and fires wall times in the autumn
//! overlap twice. The runs themselves come from [`crate::next`]; this module
//! only explains them: it marks a run whose wall time occurs twice, and lists
//! the wall times the schedule names that fell into a gap.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, Offset};
use serde::Serialize;

use crate::expr::Spec;
use crate::next::day_matches;
use crate::schedule::Schedule;
use crate::zone::fields_of_local;

/// One upcoming run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    /// The instant, in UTC.
    pub at: Timestamp,
    /// The same instant in the schedule's zone, RFC 3339 with its offset.
    pub local: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<RunNote>,
}

/// Why a run deserves a second look.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum RunNote {
    /// The wall time occurs twice (clocks went back) and the schedule fires at both.
    Repeated { occurrence: u8, message: String },
}

/// A wall time the schedule names that does not exist (clocks jumped forward),
/// so Kubernetes does not run at it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    /// The local wall time, without offset (it has none).
    pub wall_time: String,
    pub message: String,
}

pub(crate) fn upcoming(
    schedule: &Schedule,
    after: Timestamp,
    count: usize,
) -> (Vec<Run>, Vec<Skipped>) {
    let tz = schedule.zone().tz();
    let mut runs = Vec::with_capacity(count);
    let mut skipped = Vec::new();
    let mut previous = after;
    for at in schedule.fire_times(after).take(count) {
        skipped.extend(gap_times(schedule.spec(), tz, previous, at));
        let zoned = at.to_zoned(tz.clone());
        let note = match tz.to_ambiguous_timestamp(zoned.datetime()).offset() {
            AmbiguousOffset::Fold { before, after } => {
                let occurrence = if zoned.offset() == before { 1 } else { 2 };
                Some(RunNote::Repeated {
                    occurrence,
                    message: format!(
                        "{} happens twice on this day (clocks go back from {} to {}): this is \
                         run {occurrence} of 2",
                        zoned.datetime().time().strftime("%H:%M"),
                        utc_offset(before),
                        utc_offset(after)
                    ),
                })
            }
            _ => None,
        };
        runs.push(Run {
            at,
            local: zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
            note,
        });
        previous = at;
    }
    (runs, skipped)
}

/// The wall times in `(from, to]`'s spring-forward gaps that the schedule names.
pub(crate) fn gap_times(
    spec: &Spec,
    tz: &jiff::tz::TimeZone,
    from: Timestamp,
    to: Timestamp,
) -> Vec<Skipped> {
    let mut out = Vec::new();
    for transition in tz.following(from).take_while(|t| t.timestamp() <= to) {
        let at = transition.timestamp();
        let Ok(before_instant) = at.checked_sub(jiff::SignedDuration::from_secs(1)) else {
            continue;
        };
        let old = tz.to_offset(before_instant);
        let new = transition.offset();
        if new.seconds() <= old.seconds() {
            continue;
        }
        for wall in matching_walls(spec, at.as_second(), old, new) {
            out.push(Skipped {
                wall_time: wall.strftime("%Y-%m-%dT%H:%M").to_string(),
                message: format!(
                    "{} does not exist in {} on this day (clocks jump from {} to {}), so \
                     Kubernetes skips this run",
                    wall.strftime("%Y-%m-%d %H:%M"),
                    tz.iana_name().unwrap_or("this zone"),
                    local_hm(at.as_second(), old),
                    local_hm(at.as_second(), new),
                ),
            });
        }
    }
    out
}

/// The wall-clock minutes between a transition's old and new local time that the
/// schedule names (a gap or an overlap, depending on the direction).
pub(crate) fn matching_walls(spec: &Spec, at: i64, old: Offset, new: Offset) -> Vec<DateTime> {
    let a = at + i64::from(old.seconds());
    let b = at + i64::from(new.seconds());
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    let mut out = Vec::new();
    let mut wall = lo + (60 - lo.rem_euclid(60)) % 60;
    while wall < hi {
        let f = fields_of_local(wall);
        let named = spec.month & (1 << f.month) != 0
            && day_matches(spec, &f)
            && spec.hour & (1 << f.hour) != 0
            && spec.minute & (1 << f.minute) != 0;
        if named {
            let (y, mo, d) = (f.year as i16, f.month as i8, f.day as i8);
            if let Ok(dt) = DateTime::new(y, mo, d, f.hour as i8, f.minute as i8, 0, 0) {
                out.push(dt);
            }
        }
        wall += 60;
    }
    out
}

fn local_hm(at: i64, offset: Offset) -> String {
    let f = fields_of_local(at + i64::from(offset.seconds()));
    format!("{:02}:{:02}", f.hour, f.minute)
}

/// "UTC-04:00", "UTC+05:30".
fn utc_offset(offset: Offset) -> String {
    let s = offset.seconds();
    let sign = if s < 0 { '-' } else { '+' };
    let s = s.unsigned_abs();
    format!("UTC{sign}{:02}:{:02}", s / 3_600, s % 3_600 / 60)
}
