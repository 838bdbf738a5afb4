//! Schedule engine benchmarks; `tools/robfig-oracle/bench_test.go` runs the same
//! operations on robfig/cron for comparison on the same machine.

use criterion::{Criterion, criterion_group, criterion_main};
use hks_schedule::check;
use jiff::Timestamp;
use std::hint::black_box;

/// (name, schedule, zone, start): a weekday job, a frequent one, one across a
/// DST gap, and a sparse one that makes robfig walk the calendar.
const CASES: [(&str, &str, &str, &str); 4] = [
    (
        "weekdays",
        "0 9 * * MON-FRI",
        "Europe/Berlin",
        "2025-01-01T00:00:00Z",
    ),
    ("every-15m", "*/15 * * * *", "UTC", "2025-01-01T00:00:00Z"),
    (
        "dst-gap",
        "30 2 * * *",
        "America/New_York",
        "2025-03-05T12:00:00Z",
    ),
    (
        "leap-day",
        "0 0 29 2 *",
        "Australia/Sydney",
        "2025-01-01T00:00:00Z",
    ),
];

fn benches(c: &mut Criterion) {
    for (name, expr, zone, start) in CASES {
        let from: Timestamp = start.parse().expect("start");
        c.bench_function(&format!("check/{name}"), |b| {
            b.iter(|| check(black_box(expr), black_box(zone)).expect("valid"))
        });
        let schedule = check(expr, zone).expect("valid");
        c.bench_function(&format!("next10/{name}"), |b| {
            b.iter(|| schedule.fire_times(black_box(from)).take(10).count())
        });
        c.bench_function(&format!("describe/{name}"), |b| {
            b.iter(|| black_box(&schedule).describe())
        });
    }
}

criterion_group! {
    name = schedule;
    config = Criterion::default().sample_size(30).warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2));
    targets = benches
}
criterion_main!(schedule);
