//! Kubernetes-exact cron schedules.
//!
//! A CronJob's `spec.schedule` is parsed by kube-apiserver with robfig/cron v3
//! `ParseStandard`, and the CronJob controller fires it by evaluating
//! `TZ=<spec.timeZone> <spec.schedule>` with robfig's `SpecSchedule.Next` on Go's
//! time arithmetic. This crate reproduces both, so that what HKS accepts and the
//! next runs it shows are the ones Kubernetes will use, and adds what people
//! need around them: errors that say how to fix the input, an English
//! description, presets, and warnings (DST, frequency, day-of-month OR
//! day-of-week). It performs no I/O apart from reading the system's time zone
//! database.
//!
//! The entry points are [`check`] (validate a schedule and a zone into a
//! [`Schedule`]) and [`preview`] (everything a schedule editor shows).

mod describe;
mod expr;
mod next;
mod preset;
mod runs;
mod schedule;
pub mod spread;
mod warnings;
mod words;
mod zone;

pub use expr::{CronField, ParseError, Quirk, Spec, SyntaxError};
pub use preset::{Preset, PresetError, Weekday};
pub use runs::{Run, RunNote, Skipped};
pub use schedule::Schedule;
pub use warnings::Warning;
pub use zone::{Zone, ZoneError};

use jiff::Timestamp;
use serde::Serialize;

/// The most runs a preview lists.
pub const MAX_PREVIEW_RUNS: usize = 100;

/// Which input a [`Problem`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Input {
    Schedule,
    TimeZone,
}

/// A reason a schedule or zone is not accepted, worded for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    pub input: Input,
    /// The cron field at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cron_field: Option<CronField>,
    /// Stable machine-readable code.
    pub code: ProblemCode,
    pub message: String,
    /// True when kube-apiserver would accept it and HKS refuses it on purpose.
    pub kubernetes_accepts: bool,
}

/// The stable machine-readable code of a [`Problem`]; on the wire, the
/// snake_case name (`field_count`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemCode {
    /// The schedule is empty.
    Empty,
    /// Six fields: Kubernetes schedules have no seconds field.
    SecondsField,
    /// Not five fields.
    FieldCount,
    /// An `@` descriptor other than the known ones.
    UnknownDescriptor,
    /// A field that does not parse.
    InvalidField,
    /// `@every`, which Kubernetes accepts and HKS refuses.
    EveryDescriptor,
    /// `*-5`-style ranges.
    StarRange,
    /// `+1` or `-1` numbers.
    SignedNumber,
    /// An empty element in a list (`1,,2`).
    EmptyListElement,
    /// A step that selects one value only.
    UselessStep,
    /// A date that never comes (30 February).
    NeverRuns,
    /// A `TZ=` or `CRON_TZ=` prefix.
    TimeZoneInSchedule,
    /// The time zone is empty.
    TimeZoneEmpty,
    /// The time zone is not a zone name.
    TimeZoneSyntax,
    /// `Local`, which depends on the controller's machine.
    TimeZoneLocal,
    /// No such zone in the time zone database.
    TimeZoneUnknown,
    /// `H` outside the minute and hour fields.
    SpreadField,
    /// `H` where no CronJob name is known to choose its value from.
    SpreadNeedsName,
}

impl ProblemCode {
    /// Every code.
    pub const ALL: [ProblemCode; 18] = [
        Self::Empty,
        Self::SecondsField,
        Self::FieldCount,
        Self::UnknownDescriptor,
        Self::InvalidField,
        Self::EveryDescriptor,
        Self::StarRange,
        Self::SignedNumber,
        Self::EmptyListElement,
        Self::UselessStep,
        Self::NeverRuns,
        Self::TimeZoneInSchedule,
        Self::TimeZoneEmpty,
        Self::TimeZoneSyntax,
        Self::TimeZoneLocal,
        Self::TimeZoneUnknown,
        Self::SpreadField,
        Self::SpreadNeedsName,
    ];

    /// The code as it is written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::SecondsField => "seconds_field",
            Self::FieldCount => "field_count",
            Self::UnknownDescriptor => "unknown_descriptor",
            Self::InvalidField => "invalid_field",
            Self::EveryDescriptor => "every_descriptor",
            Self::StarRange => "star_range",
            Self::SignedNumber => "signed_number",
            Self::EmptyListElement => "empty_list_element",
            Self::UselessStep => "useless_step",
            Self::NeverRuns => "never_runs",
            Self::TimeZoneInSchedule => "time_zone_in_schedule",
            Self::TimeZoneEmpty => "time_zone_empty",
            Self::TimeZoneSyntax => "time_zone_syntax",
            Self::TimeZoneLocal => "time_zone_local",
            Self::TimeZoneUnknown => "time_zone_unknown",
            Self::SpreadField => "spread_field",
            Self::SpreadNeedsName => "spread_needs_name",
        }
    }
}

impl std::fmt::Display for ProblemCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Problem {
    fn from_parse(e: &ParseError) -> Problem {
        let (code, cron_field, kubernetes_accepts) = match e {
            ParseError::Syntax(s) => {
                let code = match s {
                    SyntaxError::Empty => ProblemCode::Empty,
                    SyntaxError::Seconds => ProblemCode::SecondsField,
                    SyntaxError::FieldCount { .. } => ProblemCode::FieldCount,
                    SyntaxError::UnknownDescriptor { .. } => ProblemCode::UnknownDescriptor,
                    SyntaxError::Field { .. } => ProblemCode::InvalidField,
                };
                (code, s.field(), false)
            }
            ParseError::Refused(q) => {
                let code = match q {
                    Quirk::Every => ProblemCode::EveryDescriptor,
                    Quirk::StarRange { .. } => ProblemCode::StarRange,
                    Quirk::Sign { .. } => ProblemCode::SignedNumber,
                    Quirk::EmptyListElement { .. } => ProblemCode::EmptyListElement,
                    Quirk::UselessStep { .. } => ProblemCode::UselessStep,
                    Quirk::NeverRuns { .. } => ProblemCode::NeverRuns,
                };
                (code, q.field(), true)
            }
        };
        Problem {
            input: Input::Schedule,
            cron_field,
            code,
            message: e.to_string(),
            kubernetes_accepts,
        }
    }
}

/// Validates a schedule and a time zone as kube-apiserver does (and refuses the
/// quirks listed in [`Quirk`]). Every problem found is returned, not just the first.
pub fn check(expr: &str, time_zone: &str) -> Result<Schedule, Vec<Problem>> {
    match (check_schedule(expr), check_time_zone(time_zone)) {
        (Ok(spec), Ok(zone)) => Ok(Schedule::new(expr.to_owned(), spec, zone)),
        (spec, zone) => Err(spec.err().into_iter().chain(zone.err()).collect()),
    }
}

/// Validates a schedule on its own (the part of [`check`] that is about the
/// expression): at most one problem, since the first one makes the rest of
/// the expression unreadable.
pub fn check_schedule(expr: &str) -> Result<Spec, Problem> {
    if expr.contains("TZ") {
        return Err(Problem {
            input: Input::Schedule,
            cron_field: None,
            code: ProblemCode::TimeZoneInSchedule,
            message: "TZ= and CRON_TZ= are not allowed in Kubernetes schedules: remove the prefix \
                      and use the time zone setting instead"
                .into(),
            kubernetes_accepts: false,
        });
    }
    expr::parse(expr).map_err(|e| Problem::from_parse(&e))
}

/// Validates a time zone on its own (the part of [`check`] that is about the zone).
pub fn check_time_zone(name: &str) -> Result<Zone, Problem> {
    Zone::load(name).map_err(|e| Problem {
        input: Input::TimeZone,
        cron_field: None,
        code: match e {
            ZoneError::Empty => ProblemCode::TimeZoneEmpty,
            ZoneError::Syntax { .. } => ProblemCode::TimeZoneSyntax,
            ZoneError::Local => ProblemCode::TimeZoneLocal,
            ZoneError::WrongCase { .. } | ZoneError::Unknown { .. } => ProblemCode::TimeZoneUnknown,
        },
        message: e.to_string(),
        kubernetes_accepts: false,
    })
}

// What a schedule means to a person. These methods are here rather than in
// `schedule` because they call the modules that take a `Schedule` (`runs`,
// `warnings`): there, those modules would import `schedule` and be imported
// back.
impl Schedule {
    /// The next `count` runs after `after`, each with its local time and any
    /// daylight-saving note, and the scheduled wall times skipped on the way.
    pub fn upcoming(&self, after: Timestamp, count: usize) -> (Vec<Run>, Vec<Skipped>) {
        runs::upcoming(self, after, count)
    }

    /// An English description, e.g. "At 09:00, Monday through Friday (Europe/Berlin)".
    pub fn describe(&self) -> String {
        format!(
            "{} ({})",
            describe::describe(self.spec()),
            self.zone().name()
        )
    }

    /// The preset this schedule is, if a preset can express it.
    pub fn preset(&self) -> Option<Preset> {
        Preset::recognise(self.spec())
    }

    /// Things worth knowing that are not errors.
    pub fn warnings(&self, after: Timestamp) -> Vec<Warning> {
        warnings::warnings(self, after)
    }
}

/// Everything a schedule editor shows about a schedule and zone.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    pub valid: bool,
    pub schedule: String,
    /// When the schedule uses `H`: the plain expression Kubernetes gets,
    /// with the values chosen from the CronJob's identity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expanded_schedule: Option<String>,
    pub time_zone: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preset: Option<Preset>,
    pub next_runs: Vec<Run>,
    pub skipped: Vec<Skipped>,
    pub warnings: Vec<Warning>,
    pub errors: Vec<Problem>,
}

/// Checks a schedule and zone and, when valid, describes it and lists its next
/// `count` runs (at most [`MAX_PREVIEW_RUNS`]) after `after`.
pub fn preview(expr: &str, time_zone: &str, after: Timestamp, count: usize) -> Preview {
    preview_for(expr, time_zone, None, after, count)
}

/// [`preview`] of a CronJob's schedule: `H` in it takes its values from
/// `identity` (see [`spread`]); without one, `H` is a problem.
pub fn preview_for(
    expr: &str,
    time_zone: &str,
    identity: Option<&str>,
    after: Timestamp,
    count: usize,
) -> Preview {
    let mut preview = Preview {
        valid: false,
        schedule: expr.to_owned(),
        expanded_schedule: None,
        time_zone: time_zone.to_owned(),
        description: None,
        preset: None,
        next_runs: Vec::new(),
        skipped: Vec::new(),
        warnings: Vec::new(),
        errors: Vec::new(),
    };
    let plain = if spread::has_spread(expr) {
        match identity.map(|id| spread::expand(expr, id)) {
            Some(Ok(plain)) => {
                preview.expanded_schedule = Some(plain.clone());
                plain
            }
            Some(Err(problem)) => {
                preview.errors = vec![problem];
                preview.errors.extend(check_time_zone(time_zone).err());
                return preview;
            }
            None => {
                preview.errors = vec![Problem {
                    input: Input::Schedule,
                    cron_field: None,
                    code: ProblemCode::SpreadNeedsName,
                    message: "H takes its value from the CronJob's project and name: without \
                              them HKS cannot say when it runs"
                        .into(),
                    kubernetes_accepts: false,
                }];
                preview.errors.extend(check_time_zone(time_zone).err());
                return preview;
            }
        }
    } else {
        expr.to_owned()
    };
    match check(&plain, time_zone) {
        Ok(schedule) => {
            let (runs, skipped) = schedule.upcoming(after, count.min(MAX_PREVIEW_RUNS));
            preview.valid = true;
            preview.description = Some(schedule.describe());
            preview.preset = schedule.preset();
            preview.next_runs = runs;
            preview.skipped = skipped;
            preview.warnings = schedule.warnings(after);
        }
        Err(errors) => preview.errors = errors,
    }
    preview
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each code is written on the wire as `as_str` says, and no two share a string.
    #[test]
    fn problem_codes_are_written_as_declared() {
        let mut seen = std::collections::HashSet::new();
        for code in ProblemCode::ALL {
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::Value::from(code.as_str())
            );
            assert!(seen.insert(code.as_str()), "{code:?}");
        }
    }
}
