//! The public robfig/cron v3.0.1 vectors from the project's Kubernetes reference.

use hks_schedule::{RunNote, check, preview};
use jiff::Timestamp;

fn next(expr: &str, zone: &str, from: &str, count: usize) -> Vec<String> {
    let schedule = check(expr, zone).unwrap_or_else(|e| panic!("{expr}: {e:?}"));
    schedule
        .fire_times(from.parse::<Timestamp>().unwrap())
        .take(count)
        .map(|t| t.to_string())
        .collect()
}

const NEW_YEAR: &str = "2025-01-01T00:00:00Z";

#[test]
fn day_of_month_or_day_of_week() {
    let runs = next("0 0 1 * MON", "UTC", NEW_YEAR, 5);
    assert_eq!(
        runs,
        [
            "2025-01-06T00:00:00Z",
            "2025-01-13T00:00:00Z",
            "2025-01-20T00:00:00Z",
            "2025-01-27T00:00:00Z",
            "2025-02-01T00:00:00Z"
        ]
    );
    assert_eq!(
        next("0 0 */2 * MON", "UTC", NEW_YEAR, 3),
        [
            "2025-01-03T00:00:00Z",
            "2025-01-05T00:00:00Z",
            "2025-01-06T00:00:00Z"
        ]
    );
    assert_eq!(
        next("0 0 * * 1-5/2", "UTC", NEW_YEAR, 3),
        [
            "2025-01-03T00:00:00Z",
            "2025-01-06T00:00:00Z",
            "2025-01-08T00:00:00Z"
        ]
    );
}

#[test]
fn start_slash_step() {
    assert_eq!(
        next("5/15 * * * *", "UTC", NEW_YEAR, 3),
        [
            "2025-01-01T00:05:00Z",
            "2025-01-01T00:20:00Z",
            "2025-01-01T00:35:00Z"
        ]
    );
}

#[test]
fn spring_gap_is_skipped() {
    assert_eq!(
        next("30 2 * * *", "America/New_York", "2025-03-08T12:00:00Z", 1),
        ["2025-03-10T06:30:00Z"]
    );
    let p = preview(
        "30 2 * * *",
        "America/New_York",
        "2025-03-08T12:00:00Z".parse().unwrap(),
        1,
    );
    assert_eq!(p.skipped.len(), 1, "{p:?}");
    assert_eq!(p.skipped[0].wall_time, "2025-03-09T02:30");
}

#[test]
fn autumn_overlap_runs_twice() {
    assert_eq!(
        next("30 1 * * *", "America/New_York", "2025-11-01T12:00:00Z", 2),
        ["2025-11-02T05:30:00Z", "2025-11-02T06:30:00Z"]
    );
    let p = preview(
        "30 1 * * *",
        "America/New_York",
        "2025-11-01T12:00:00Z".parse().unwrap(),
        2,
    );
    let occurrences: Vec<u8> = p
        .next_runs
        .iter()
        .map(|r| match &r.note {
            Some(RunNote::Repeated { occurrence, .. }) => *occurrence,
            None => 0,
        })
        .collect();
    assert_eq!(occurrences, [1, 2]);
    assert_eq!(p.next_runs[0].local, "2025-11-02T01:30:00-04:00");
    assert_eq!(p.next_runs[1].local, "2025-11-02T01:30:00-05:00");
}

#[test]
fn weekdays_in_berlin() {
    assert_eq!(
        next("0 9 * * MON-FRI", "Europe/Berlin", NEW_YEAR, 3),
        [
            "2025-01-01T08:00:00Z",
            "2025-01-02T08:00:00Z",
            "2025-01-03T08:00:00Z"
        ]
    );
    let p = preview(
        "0 9 * * MON-FRI",
        "Europe/Berlin",
        NEW_YEAR.parse().unwrap(),
        1,
    );
    assert_eq!(
        p.description.as_deref(),
        Some("At 09:00, Monday through Friday (Europe/Berlin)")
    );
}

#[test]
fn public_errors() {
    for expr in [
        "0 0 * * 7",
        "0 0 L * *",
        "0 0 * * 5#2",
        "0 0 15W * *",
        "0 0 * * MONDAY",
        "0 12 * * * *",
        "0 0 * * 6-0",
        "*/0 * * * *",
        "0 24 * * *",
        "0 0 0 * *",
        "60 * * * *",
    ] {
        let problems = check(expr, "UTC").expect_err(expr);
        assert!(!problems[0].kubernetes_accepts, "{expr}");
    }
    let problems = check("CRON_TZ=UTC 0 0 * * *", "UTC").unwrap_err();
    assert_eq!(problems[0].code.as_str(), "time_zone_in_schedule");
    let problems = check("0 0 * * 7", "Mars/Base").unwrap_err();
    assert_eq!(problems.len(), 2, "both inputs are reported: {problems:?}");
}

#[test]
fn never_firing_schedule_has_no_next_run() {
    // Kubernetes accepts it; HKS refuses it, and robfig finds no time within five years.
    let problems = check("0 0 31 2 *", "UTC").unwrap_err();
    assert!(problems[0].kubernetes_accepts);
    assert_eq!(
        problems[0].message,
        "this schedule never runs: day 31 never occurs in February"
    );
}

/// The preset vectors shared with the console's tests (console/src/features/schedule).
#[test]
fn preset_vectors_shared_with_the_console() {
    #[derive(serde::Deserialize)]
    struct Vector {
        preset: hks_schedule::Preset,
        cron: String,
    }
    let vectors: Vec<Vector> =
        serde_json::from_str(include_str!("preset-vectors.json")).expect("vectors");
    for v in vectors {
        assert_eq!(v.preset.to_cron().as_deref(), Ok(v.cron.as_str()));
        let schedule = check(&v.cron, "UTC").expect("valid");
        assert_eq!(schedule.preset(), Some(v.preset), "{}", v.cron);
    }
}
