//! Warnings: true things about a valid schedule that its author may not expect.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::expr::{CronField, STAR, values};
use crate::schedule::Schedule;
use crate::words::{join_and, month_name};
use crate::zone::days_in_month;

/// Runs closer together than this are "frequent".
const FREQUENT_SECONDS: i64 = 5 * 60;

/// A warning about a valid schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Warning {
    /// Stable machine-readable code.
    pub code: &'static str,
    pub message: String,
}

pub(crate) fn warnings(schedule: &Schedule, after: Timestamp) -> Vec<Warning> {
    let spec = schedule.spec();
    let mut out = Vec::new();
    let runs: Vec<Timestamp> = schedule.fire_times(after).take(61).collect();

    if let Some(gap) = runs
        .windows(2)
        .map(|w| w[1].as_second() - w[0].as_second())
        .min()
        && gap < FREQUENT_SECONDS
    {
        out.push(Warning {
            code: "frequent",
            message: format!(
                "This runs as often as every {}: each run starts a new pod, so runs this \
                     frequent cost cluster resources and can overlap; consider every 5 minutes \
                     or more, or a long-running Stateless application",
                plural(gap / 60, "minute")
            ),
        });
    }

    let year = SignedDuration::from_hours(366 * 24);
    match runs.as_slice() {
        [] => out.push(Warning {
            code: "rare",
            message: "This does not run in the next five years".into(),
        }),
        [first, rest @ ..] => {
            let far = |t: &Timestamp| t.duration_since(after) > year;
            if far(first)
                || rest
                    .first()
                    .is_some_and(|second| second.duration_since(*first) > year)
            {
                out.push(Warning {
                    code: "rare",
                    message: "This runs less than once a year (for example only on February 29)"
                        .into(),
                });
            }
        }
    }

    if !spec.days_anded() {
        out.push(Warning {
            code: "day_or",
            message: "Both day-of-month and day-of-week are set, so Kubernetes runs on days that \
                      match EITHER of them, not only days that match both"
                .into(),
        });
    }

    if spec.days_anded() && spec.dom & STAR == 0 {
        let months = values(spec.month, CronField::Month);
        let days = values(spec.dom, CronField::DayOfMonth);
        let short: Vec<String> = months
            .iter()
            .filter(|&&m| days.iter().any(|&d| d > days_in_month(2023, m)))
            .map(|&m| month_name(m).to_owned())
            .collect();
        let late: Vec<String> = days
            .iter()
            .filter(|&&d| d > 28)
            .map(u32::to_string)
            .collect();
        if !short.is_empty() {
            out.push(Warning {
                code: "short_months",
                message: format!(
                    "Day {} does not occur in every month: there is no run on it in {}",
                    join_and(&late),
                    join_and(&short)
                ),
            });
        }
    }

    for (field, period) in [(CronField::Minute, 60), (CronField::Hour, 24)] {
        let vals = values(spec.bits(field), field);
        if let [first, second, ..] = vals.as_slice() {
            let step = second - first;
            let stepped = vals.len() > 2 && vals.windows(2).all(|w| w[1] - w[0] == step);
            let last = *vals.last().unwrap_or(first);
            if stepped && period % step != 0 && last + step >= period {
                let wrap = period - last + first;
                out.push(Warning {
                    code: "uneven_step",
                    message: format!(
                        "A step of {step} does not divide {period}: the {field} restarts at \
                         {first} each {}, so the interval from {last} to {first} is {wrap}, not {step}",
                        if field == CronField::Minute { "hour" } else { "day" }
                    ),
                });
            }
        }
    }

    out.extend(dst_warning(schedule, after));
    out
}

/// A warning when, within the coming year, a wall time the schedule names
/// falls into a gap (skipped) or an overlap (run twice) of its zone.
fn dst_warning(schedule: &Schedule, after: Timestamp) -> Option<Warning> {
    let tz = schedule.zone().tz();
    let until = after
        .checked_add(SignedDuration::from_hours(366 * 24))
        .ok()?;
    let mut skipped = Vec::new();
    let mut repeated = Vec::new();
    for transition in tz.following(after).take_while(|t| t.timestamp() <= until) {
        let at = transition.timestamp();
        let old = tz.to_offset(at.checked_sub(SignedDuration::from_secs(1)).ok()?);
        let new = transition.offset();
        if old == new {
            continue;
        }
        let walls = crate::runs::matching_walls(schedule.spec(), at.as_second(), old, new);
        let Some(first) = walls.first() else { continue };
        let text = first.strftime("%Y-%m-%d %H:%M").to_string();
        if new.seconds() > old.seconds() {
            skipped.push(text);
        } else {
            repeated.push(text);
        }
    }
    if skipped.is_empty() && repeated.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    if !skipped.is_empty() {
        parts.push(format!(
            "skips {} (clocks jump forward)",
            join_and(&skipped)
        ));
    }
    if !repeated.is_empty() {
        parts.push(format!(
            "runs twice at {} (clocks go back)",
            join_and(&repeated)
        ));
    }
    Some(Warning {
        code: "dst",
        message: format!(
            "Daylight saving time in {}: in the coming year this schedule {}. Schedule outside \
             01:00-03:00 local time, or use UTC, to avoid this",
            schedule.zone().name(),
            parts.join(" and ")
        ),
    })
}

fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        unit.to_owned()
    } else {
        format!("{n} {unit}s")
    }
}
