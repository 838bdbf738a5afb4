//! Metrics of finished runs (issue 17), recorded once per run when the
//! recorder first stores it as ended: how late scheduled runs start, how
//! long runs take, and how many end how. Every label has a fixed set of
//! values (result, trigger, the delay's part), never a tenant's or a
//! CronJob's name, so the series stay bounded whatever tenants do.

use hks_core::run::{Run, RunResult, Trigger};

/// Histogram: from the scheduled time to the first container's start, and
/// its two parts (`part`: `total`, `to_job`, `to_container`).
pub const START_DELAY: &str = "hks_run_start_delay_seconds";
/// Histogram: from a run's start to its end, by `result`.
pub const DURATION: &str = "hks_run_duration_seconds";
/// Counter: runs that ended, by `result` and `trigger`.
pub const RUNS: &str = "hks_runs_total";

/// The bucket bounds of [`START_DELAY`], in seconds.
pub const START_DELAY_BUCKETS: &[f64] = &[
    0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];
/// The bucket bounds of [`DURATION`], in seconds.
pub const DURATION_BUCKETS: &[f64] = &[
    1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 21600.0,
];

/// Records the metrics of a run that has just ended.
pub fn ended(run: &Run) {
    let result = match run.result {
        RunResult::Pending => "pending",
        RunResult::Running => "running",
        RunResult::Succeeded => "succeeded",
        RunResult::Failed => "failed",
        RunResult::Suspended => "suspended",
        RunResult::Missed => "missed",
        RunResult::Cancelled => "cancelled",
    };
    let trigger = match run.trigger {
        Trigger::Scheduled => "scheduled",
        Trigger::Manual => "manual",
        Trigger::Rerun => "rerun",
        Trigger::Backfill => "backfill",
    };
    metrics::counter!(RUNS, "result" => result, "trigger" => trigger).increment(1);
    if let Some(seconds) = run.duration_seconds {
        metrics::histogram!(DURATION, "result" => result).record(seconds as f64);
    }
    if let (Some(total), Some(parts)) = (run.start_delay_seconds, run.start_delay) {
        for (part, seconds) in [
            ("total", total),
            ("to_job", parts.to_job_seconds),
            ("to_container", parts.to_container_seconds),
        ] {
            metrics::histogram!(START_DELAY, "part" => part).record(seconds as f64);
        }
    }
}
