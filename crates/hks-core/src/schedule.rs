//! The one place the domain core asks the schedule engine (`hks-schedule`)
//! whether a schedule and time zone are acceptable, and turns its problems
//! into field-path problems relative to the CronJob spec (`schedule`,
//! `timeZone`). Quirks Kubernetes accepts but HKS refuses (`*-5`, `+1`, a
//! date that never comes) are refused here too: they never do what the user
//! meant.

use hks_schedule::{Input, ProblemCode};

use crate::problem::{Code, Invalid, Problem};

/// The identity a CronJob's `H` takes its values from: its project and name
/// (see `hks_schedule::spread`), so the values stay as they are across
/// edits, restarts and re-creation of the same project and name.
pub fn spread_identity(project: &str, cronjob: &str) -> String {
    format!("{project}/{cronjob}")
}

/// The plain expression Kubernetes gets for CronJob `cronjob` of `project`:
/// its schedule with any `H` replaced, trimmed. (A schedule that does not
/// expand is returned as written; validation refuses it before it gets here.)
pub fn kubernetes_schedule(schedule: &str, project: &str, cronjob: &str) -> String {
    hks_schedule::spread::expand(schedule, &spread_identity(project, cronjob))
        .unwrap_or_else(|_| schedule.trim().to_owned())
}

/// A CronJob's schedule as Kubernetes fires it, when it is valid.
pub fn of_cronjob(
    schedule: &str,
    time_zone: &str,
    project: &str,
    cronjob: &str,
) -> Option<hks_schedule::Schedule> {
    hks_schedule::check(&kubernetes_schedule(schedule, project, cronjob), time_zone).ok()
}

/// Whether an `H` in `schedule` expands, whatever the CronJob; the plain
/// expression of some CronJob when it does (any one: what is valid does not
/// depend on the values chosen).
fn expand_any(schedule: &str) -> Result<String, Problem> {
    hks_schedule::spread::expand(schedule, "").map_err(problem)
}

/// Checks a schedule and its time zone; `Ok` carries the parsed schedule
/// (of some CronJob when it uses `H`: use [`of_cronjob`] for a given one's).
pub fn check(schedule: &str, time_zone: &str) -> Result<hks_schedule::Schedule, Invalid> {
    let plain = match expand_any(schedule) {
        Ok(plain) => plain,
        Err(p) => {
            let zone = hks_schedule::check_time_zone(time_zone).err().map(problem);
            return Err(Invalid {
                problems: std::iter::once(p).chain(zone).collect(),
            });
        }
    };
    hks_schedule::check(&plain, time_zone).map_err(|problems| Invalid {
        problems: problems.into_iter().map(problem).collect(),
    })
}

/// Checks a schedule on its own, with the same problem [`check`] reports.
pub fn check_schedule(schedule: &str) -> Result<(), Invalid> {
    let plain = expand_any(schedule).map_err(|p| Invalid { problems: vec![p] })?;
    hks_schedule::check_schedule(&plain)
        .map(drop)
        .map_err(|p| Invalid {
            problems: vec![problem(p)],
        })
}

/// Checks a time zone on its own, with the same problem [`check`] reports.
pub fn check_time_zone(time_zone: &str) -> Result<(), Invalid> {
    hks_schedule::check_time_zone(time_zone)
        .map(drop)
        .map_err(|p| Invalid {
            problems: vec![problem(p)],
        })
}

fn problem(p: hks_schedule::Problem) -> Problem {
    Problem {
        field: match p.input {
            Input::Schedule => "schedule".into(),
            Input::TimeZone => "timeZone".into(),
        },
        code: code(p.code),
        message: p.message,
        hint: Some(match (p.input, p.cron_field) {
            (Input::Schedule, Some(field)) => format!("look at the {field} field (the fields are minute hour day-of-month month day-of-week)"),
            (Input::Schedule, None) => "use five fields (minute hour day-of-month month day-of-week), like `0 3 * * *`, or @hourly, @daily, @weekly, @monthly".into(),
            (Input::TimeZone, _) => "use an IANA zone name like Europe/Berlin, America/New_York or UTC".into(),
        }),
        line: None,
        column: None,
    }
}

/// The API's code for a problem of the schedule engine's. A match, not a
/// lookup by name, so that a code the engine adds cannot pass unnoticed.
fn code(c: ProblemCode) -> Code {
    match c {
        ProblemCode::Empty => Code::Empty,
        ProblemCode::SecondsField => Code::SecondsField,
        ProblemCode::FieldCount => Code::FieldCount,
        ProblemCode::UnknownDescriptor => Code::UnknownDescriptor,
        ProblemCode::InvalidField => Code::InvalidField,
        ProblemCode::EveryDescriptor => Code::EveryDescriptor,
        ProblemCode::StarRange => Code::StarRange,
        ProblemCode::SignedNumber => Code::SignedNumber,
        ProblemCode::EmptyListElement => Code::EmptyListElement,
        ProblemCode::UselessStep => Code::UselessStep,
        ProblemCode::NeverRuns => Code::NeverRuns,
        ProblemCode::TimeZoneInSchedule => Code::TimeZoneInSchedule,
        ProblemCode::TimeZoneEmpty => Code::TimeZoneEmpty,
        ProblemCode::TimeZoneSyntax => Code::TimeZoneSyntax,
        ProblemCode::TimeZoneLocal => Code::TimeZoneLocal,
        ProblemCode::TimeZoneUnknown => Code::TimeZoneUnknown,
        ProblemCode::SpreadField => Code::SpreadField,
        ProblemCode::SpreadNeedsName => Code::SpreadNeedsName,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The API says what the engine says: every code of the engine's keeps
    /// its wire string.
    #[test]
    fn engine_codes_keep_their_strings() {
        for c in ProblemCode::ALL {
            assert_eq!(code(c).as_str(), c.as_str());
        }
    }
}
