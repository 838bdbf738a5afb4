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
    pub code: &'static str,
    pub message: String,
    /// True when kube-apiserver would accept it and HKS refuses it on purpose.
    pub kubernetes_accepts: bool,
}

impl Problem {
    fn from_parse(e: &ParseError) -> Problem {
        let (code, cron_field, kubernetes_accepts) = match e {
            ParseError::Syntax(s) => {
                let code = match s {
                    SyntaxError::Empty => "empty",
                    SyntaxError::Seconds => "seconds_field",
                    SyntaxError::FieldCount { .. } => "field_count",
                    SyntaxError::UnknownDescriptor { .. } => "unknown_descriptor",
                    SyntaxError::Field { .. } => "invalid_field",
                };
                (code, s.field(), false)
            }
            ParseError::Refused(q) => {
                let code = match q {
                    Quirk::Every => "every_descriptor",
                    Quirk::StarRange { .. } => "star_range",
                    Quirk::Sign { .. } => "signed_number",
                    Quirk::EmptyListElement { .. } => "empty_list_element",
                    Quirk::UselessStep { .. } => "useless_step",
                    Quirk::NeverRuns { .. } => "never_runs",
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
    let mut problems = Vec::new();
    if expr.contains("TZ") {
        problems.push(Problem {
            input: Input::Schedule,
            cron_field: None,
            code: "time_zone_in_schedule",
            message: "TZ= and CRON_TZ= are not allowed in Kubernetes schedules: remove the prefix \
                      and use the time zone setting instead"
                .into(),
            kubernetes_accepts: false,
        });
    }
    let spec = match expr::parse(expr) {
        Ok(spec) => Some(spec),
        Err(e) => {
            // A TZ prefix makes the rest unparseable; one message says it all.
            if problems.is_empty() {
                problems.push(Problem::from_parse(&e));
            }
            None
        }
    };
    let zone = match Zone::load(time_zone) {
        Ok(zone) => Some(zone),
        Err(e) => {
            problems.push(Problem {
                input: Input::TimeZone,
                cron_field: None,
                code: match e {
                    ZoneError::Empty => "time_zone_empty",
                    ZoneError::Syntax { .. } => "time_zone_syntax",
                    ZoneError::Local => "time_zone_local",
                    ZoneError::WrongCase { .. } | ZoneError::Unknown { .. } => "time_zone_unknown",
                },
                message: e.to_string(),
                kubernetes_accepts: false,
            });
            None
        }
    };
    match (spec, zone) {
        (Some(spec), Some(zone)) if problems.is_empty() => {
            Ok(Schedule::new(expr.to_owned(), spec, zone))
        }
        _ => Err(problems),
    }
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
    let mut preview = Preview {
        valid: false,
        schedule: expr.to_owned(),
        time_zone: time_zone.to_owned(),
        description: None,
        preset: None,
        next_runs: Vec::new(),
        skipped: Vec::new(),
        warnings: Vec::new(),
        errors: Vec::new(),
    };
    match check(expr, time_zone) {
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
