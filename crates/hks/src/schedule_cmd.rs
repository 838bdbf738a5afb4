//! `hks schedule ...`: the schedule engine for people and scripts.
//!
//! Every subcommand prints the same JSON object with `--json` (the shape is in
//! the README); without it, text for people. A rejected schedule exits with 1.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use hks_schedule::{Preview, RunNote, preview_for};
use jiff::Timestamp;
use serde::Serialize;

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Validate a schedule and time zone as kube-apiserver does, with warnings.
    Check(Common),
    /// List the next fire times as the CronJob controller computes them.
    Next {
        #[command(flatten)]
        common: Common,
        /// How many runs to list (at most 100).
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=100))]
        count: u16,
    },
    /// Describe a schedule in plain English.
    Describe(Common),
}

#[derive(Debug, Args)]
pub struct Common {
    /// The cron expression: 5 fields or a descriptor such as @daily.
    schedule: String,
    /// The IANA time zone the schedule runs in.
    #[arg(long = "tz", default_value = "UTC")]
    time_zone: String,
    /// Read the schedule as of this instant (RFC 3339; defaults to now): the
    /// runs strictly after it, and warnings about the year after it.
    #[arg(long)]
    from: Option<Timestamp>,
    /// The CronJob as PROJECT/NAME: `H` in the schedule takes its values
    /// from it, as HKS chooses them for that CronJob.
    #[arg(long = "for", value_name = "PROJECT/NAME")]
    cronjob: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// The JSON printed by every subcommand: the preview plus the run instants.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Output<'a> {
    #[serde(flatten)]
    preview: &'a Preview,
    /// The next runs as RFC 3339 UTC instants (`next` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    runs: Option<Vec<String>>,
}

pub fn run(cmd: ScheduleCommand) -> ExitCode {
    let (common, count, is_next) = match cmd {
        ScheduleCommand::Check(c) => (c, 0, false),
        ScheduleCommand::Describe(c) => (c, 0, false),
        ScheduleCommand::Next { common, count } => (common, usize::from(count), true),
    };
    let from = common.from.unwrap_or_else(Timestamp::now);
    let identity = common.cronjob.as_deref().and_then(|c| {
        let (project, name) = c.split_once('/')?;
        Some(hks_core::schedule::spread_identity(project, name))
    });
    let preview = preview_for(
        &common.schedule,
        &common.time_zone,
        identity.as_deref(),
        from,
        count,
    );
    let runs = is_next.then(|| preview.next_runs.iter().map(|r| r.at.to_string()).collect());
    let mut out = std::io::stdout().lock();
    let written = if common.json {
        serde_json::to_writer_pretty(
            &mut out,
            &Output {
                preview: &preview,
                runs,
            },
        )
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out))
    } else {
        write_text(&mut out, &preview, is_next)
    };
    if written.is_err() {
        return ExitCode::from(2);
    }
    if preview.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn write_text(out: &mut impl Write, p: &Preview, is_next: bool) -> std::io::Result<()> {
    if !p.valid {
        for e in &p.errors {
            let input = match e.input {
                hks_schedule::Input::Schedule => "schedule",
                hks_schedule::Input::TimeZone => "time zone",
            };
            writeln!(out, "error: {input}: {}", e.message)?;
        }
        return Ok(());
    }
    if let Some(plain) = &p.expanded_schedule {
        writeln!(out, "runs as: {plain}")?;
    }
    if is_next {
        for run in &p.next_runs {
            match &run.note {
                Some(RunNote::Repeated { message, .. }) => {
                    writeln!(out, "{}  {}  ({message})", run.at, run.local)?
                }
                None => writeln!(out, "{}  {}", run.at, run.local)?,
            }
        }
        for s in &p.skipped {
            writeln!(out, "skipped: {}", s.message)?;
        }
    } else if let Some(description) = &p.description {
        writeln!(out, "{description}")?;
    }
    for w in &p.warnings {
        writeln!(out, "warning: {}", w.message)?;
    }
    Ok(())
}
