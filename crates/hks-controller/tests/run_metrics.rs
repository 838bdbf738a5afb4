//! The metrics of ended runs (issue 17). Alone in its own test binary: the
//! metrics recorder is global to a process, and other tests' runs would be
//! counted with this one's.

#[allow(dead_code, reason = "the harness is shared with the recorder's tests")]
mod common;

use std::time::Duration;

use common::{CEILING, Hks, minutes_ago, settings, wait};
use hks_core::run::RunResult;
use jiff::SignedDuration;
use serde_json::json;

/// Issue 17: a scheduled run records its start delay in two parts, and
/// once it ended the metrics have it: the start delay and duration
/// histograms and the count of runs by result, labelled by fixed values only.
#[tokio::test]
async fn a_scheduled_run_records_its_start_delay_and_the_metrics_count_it_once() {
    use hks_controller::run_metrics;
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(run_metrics::START_DELAY.into()),
            run_metrics::START_DELAY_BUCKETS,
        )
        .unwrap()
        .set_buckets_for_metric(
            Matcher::Full(run_metrics::DURATION.into()),
            run_metrics::DURATION_BUCKETS,
        )
        .unwrap()
        .install_recorder()
        .unwrap();
    let hks = Hks::new(settings()).await;
    hks.start();
    let p = hks.project("acme").await;
    hks.cronjob(&p, "report", json!({})).await;
    let (t, ns) = (&p.tenant, &p.namespace);
    // Scheduled at `at`, the Job at once, its container 4 s later, 6 s long.
    let at = minutes_ago(3);
    let job = hks.fake.schedule_run(t, ns, "report", at);
    let started = at + SignedDuration::from_secs(4);
    let pod = hks.fake.start_attempt(t, ns, &job, started);
    let ended = started + SignedDuration::from_secs(6);
    hks.fake.end_attempt(t, ns, &pod, 0, "ok\n", ended);
    hks.fake.end_run(t, ns, &job, ended);
    let run = wait("the run, recorded as ended", CEILING, async || {
        let runs = hks.runs(&p, "report").await;
        runs.into_iter()
            .find(|r| r.name == job && r.result == RunResult::Succeeded)
    })
    .await;
    assert_eq!(run.start_delay_seconds, Some(4));
    let delay = run.start_delay.unwrap();
    assert_eq!((delay.to_job_seconds, delay.to_container_seconds), (0, 4));
    // A few more passes see the same ended run: still counted once.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let text = handle.render();
    let line = |prefix: &str| {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        line(r#"hks_runs_total{result="succeeded",trigger="scheduled"}"#),
        "1"
    );
    assert_eq!(
        line(r#"hks_run_start_delay_seconds_bucket{part="to_container",le="3"}"#),
        "0"
    );
    assert_eq!(
        line(r#"hks_run_start_delay_seconds_bucket{part="to_container",le="5"}"#),
        "1"
    );
    assert_eq!(
        line(r#"hks_run_start_delay_seconds_sum{part="total"}"#),
        "4"
    );
    assert_eq!(
        line(r#"hks_run_duration_seconds_bucket{result="succeeded",le="10"}"#),
        "1"
    );
    // No label carries a tenant's or a CronJob's name.
    for name in ["acme", "report", &job] {
        assert!(
            !text
                .lines()
                .any(|l| l.starts_with("hks_run") && l.contains(name)),
            "{name} in\n{text}"
        );
    }
}
