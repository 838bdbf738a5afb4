//! The one place the domain core asks the schedule engine (`hks-schedule`)
//! whether a schedule and time zone are acceptable, and turns its problems
//! into field-path problems relative to the CronJob spec (`schedule`,
//! `timeZone`). Quirks Kubernetes accepts but HKS refuses (`*-5`, `+1`, a
//! date that never comes) are refused here too: they never do what the user
//! meant.

use hks_schedule::{Input, ProblemCode};

use crate::problem::{Code, Invalid, Problem};

/// Checks a schedule and its time zone; `Ok` carries the parsed schedule.
pub fn check(schedule: &str, time_zone: &str) -> Result<hks_schedule::Schedule, Invalid> {
    hks_schedule::check(schedule, time_zone).map_err(|problems| Invalid {
        problems: problems.into_iter().map(problem).collect(),
    })
}

/// Checks a schedule on its own, with the same problem [`check`] reports.
pub fn check_schedule(schedule: &str) -> Result<(), Invalid> {
    hks_schedule::check_schedule(schedule)
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
