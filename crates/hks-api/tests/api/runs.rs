//! Runs: Run now, the runs list, the last run in the CronJob list, and logs.

use axum::http::StatusCode;
use hks_api::dto::{
    AttemptLogView, CronJobSummary, MAX_LOG_LIMIT_BYTES, MAX_LOG_TAIL_LINES, MAX_LOG_TOTAL_BYTES,
    ProjectView, RunLogs,
};
use hks_core::run::{Run, RunResult, Trigger};
use serde_json::json;

use crate::common::{TestApp, report, seeded};

/// Run now, then see it in the runs and as the last run, with its log; a
/// run is only found under its own CronJob. (Split from
/// `cronjobs::cronjob_journey`, which had these steps in the middle.)
#[tokio::test]
async fn run_now_runs_and_logs() {
    let app = TestApp::new().await;
    let token = seeded(&app, "acme").await;

    let run: Run = app
        .post(
            "/api/v1/projects/shop/cronjobs/report/runs",
            &token,
            json!({}),
        )
        .await
        .expect_json(StatusCode::CREATED);
    assert_eq!(run.trigger, Trigger::Manual);
    assert_eq!(run.triggered_by.as_deref(), Some("acme/ci"));
    let name = run.name;
    let runs: Vec<Run> = app
        .get("/api/v1/projects/shop/cronjobs/report/runs", &token)
        .await
        .json();
    assert_eq!(runs[0].name, name);
    assert_eq!(runs[0].result, RunResult::Pending);
    // The cluster runs it: one attempt that fails, then one that succeeds.
    let tenant = app.tenant_id("acme").await;
    let namespace = app
        .get("/api/v1/projects/shop", &token)
        .await
        .json::<ProjectView>()
        .namespace;
    let now = jiff::Timestamp::now();
    let first = app.fake.start_attempt(&tenant, &namespace, &name, now);
    app.fake
        .end_attempt(&tenant, &namespace, &first, 1, "no database yet\n", now);
    let second = app.fake.start_attempt(&tenant, &namespace, &name, now);
    app.fake
        .end_attempt(&tenant, &namespace, &second, 0, "report: 3 rows\n", now);
    app.fake.end_run(&tenant, &namespace, &name, now);
    let list: Vec<CronJobSummary> = app
        .get("/api/v1/projects/shop/cronjobs", &token)
        .await
        .json();
    let last = list[0].last_run.as_ref().expect("a last run");
    assert_eq!(last.name, name);
    assert_eq!(last.result, RunResult::Succeeded);
    assert_eq!(last.exit_code, Some(0));
    assert_eq!(last.attempts.len(), 2);
    assert_eq!(last.attempts[0].exit_code, Some(1));
    let logs: RunLogs = app
        .get(
            &format!("/api/v1/projects/shop/cronjobs/report/runs/{name}/logs"),
            &token,
        )
        .await
        .expect_json(StatusCode::OK);
    let attempt = |pod: &str, log: &str| AttemptLogView {
        pod: pod.into(),
        log: log.into(),
        archived: false,
        truncated: false,
    };
    assert_eq!(
        logs.attempts,
        [
            attempt(&first, "no database yet\n"),
            attempt(&second, "report: 3 rows\n")
        ]
    );

    // A run is only found under its own CronJob.
    let mut second = report();
    second["name"] = json!("second");
    assert_eq!(
        app.post("/api/v1/projects/shop/cronjobs", &token, second)
            .await
            .status,
        StatusCode::CREATED
    );
    let r = app
        .get(
            &format!("/api/v1/projects/shop/cronjobs/second/runs/{name}/logs"),
            &token,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// `limitBytes` and `tailLines` have maximums (8 MiB, 100000 lines): more
/// is a 400 naming the parameter and the allowed range, as is less than 1;
/// the maximum itself is accepted.
#[tokio::test]
async fn log_parameters_are_bounded() {
    let app = TestApp::new().await;
    let token = seeded(&app, "acme").await;
    let logs = "/api/v1/projects/shop/cronjobs/report/runs/nope/logs";
    for (param, max) in [
        ("limitBytes", MAX_LOG_LIMIT_BYTES),
        ("tailLines", MAX_LOG_TAIL_LINES),
    ] {
        for bad in [0, -1, max + 1, i64::MAX] {
            for follow in [false, true] {
                let e = app
                    .get(&format!("{logs}?{param}={bad}&follow={follow}"), &token)
                    .await
                    .expect_error(StatusCode::BAD_REQUEST);
                assert_eq!(e.code, "invalid");
                assert_eq!(e.fields(), [param]);
                assert_eq!(e.problems[0].code, "out_of_range");
                assert_eq!(
                    e.problems[0].message,
                    format!("must be a number from 1 to {max}")
                );
            }
        }
        // The maximum is allowed: the unknown run is what is wrong then.
        app.get(&format!("{logs}?{param}={max}"), &token)
            .await
            .expect_error(StatusCode::NOT_FOUND);
    }
}

/// A run of many long attempts costs one request at most 16 MiB of log:
/// each attempt gets its `limitBytes`, the newest first, and the oldest
/// gets what is left, marked truncated.
#[tokio::test]
async fn the_logs_of_all_attempts_together_are_bounded() {
    let app = TestApp::new().await;
    let token = seeded(&app, "acme").await;
    let run: Run = app
        .post(
            "/api/v1/projects/shop/cronjobs/report/runs",
            &token,
            json!({}),
        )
        .await
        .expect_json(StatusCode::CREATED);
    let tenant = app.tenant_id("acme").await;
    let namespace = app
        .get("/api/v1/projects/shop", &token)
        .await
        .json::<ProjectView>()
        .namespace;
    let now = jiff::Timestamp::now();
    let mib = 1024 * 1024;
    let mut pods = vec![];
    for attempt in 0..3 {
        let pod = app.fake.start_attempt(&tenant, &namespace, &run.name, now);
        let mut log = format!("attempt {attempt}\n").into_bytes();
        log.resize(7 * mib, b'.');
        app.fake.end_attempt(&tenant, &namespace, &pod, 1, log, now);
        pods.push(pod);
    }
    let logs: RunLogs = app
        .get(
            &format!(
                "/api/v1/projects/shop/cronjobs/report/runs/{}/logs?limitBytes={MAX_LOG_LIMIT_BYTES}",
                run.name
            ),
            &token,
        )
        .await
        .expect_json(StatusCode::OK);
    let seen: Vec<(&str, usize, bool)> = logs
        .attempts
        .iter()
        .map(|a| (a.pod.as_str(), a.log.len(), a.truncated))
        .collect();
    assert_eq!(
        seen,
        [
            (pods[0].as_str(), 2 * mib, true),
            (pods[1].as_str(), 7 * mib, false),
            (pods[2].as_str(), 7 * mib, false),
        ]
    );
    assert!(logs.attempts[0].log.starts_with("attempt 0\n"));
    assert_eq!(
        logs.attempts.iter().map(|a| a.log.len()).sum::<usize>(),
        MAX_LOG_TOTAL_BYTES
    );
}
