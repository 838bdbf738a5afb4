//! Runs: Run now, the runs list, the last run in the CronJob list, and logs.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use futures::StreamExt;
use hks_api::HttpLimits;
use hks_api::dto::{
    AttemptLogView, CronJobSummary, MAX_LOG_LIMIT_BYTES, MAX_LOG_TAIL_LINES, MAX_LOG_TOTAL_BYTES,
    ProjectView, RunLogs,
};
use hks_core::run::{Run, RunResult, Trigger};
use serde_json::json;

use crate::common::{ADMIN, Setup, TestApp, report, request, seeded};

/// The namespace of the seeded project `shop`.
async fn shop_namespace(app: &TestApp, token: &str) -> String {
    app.get("/api/v1/projects/shop", token)
        .await
        .json::<ProjectView>()
        .namespace
}

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
    let namespace = shop_namespace(&app, &token).await;
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
    // The row's history strip: the run as a mark, from the cluster (the
    // recorder, which would store it, is not running here).
    assert_eq!(list[0].recent.len(), 1, "{list:?}");
    assert_eq!(list[0].recent[0].name, name);
    assert_eq!(list[0].recent[0].result, RunResult::Succeeded);
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
    let namespace = shop_namespace(&app, &token).await;
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

/// A tenant with a running attempt of a Run now of `report`: the tenant's
/// token and the run's logs path, where `follow=true` streams.
async fn running(app: &TestApp, tenant: &str) -> (String, String, Running) {
    let token = seeded(app, tenant).await;
    let run: Run = app
        .post(
            "/api/v1/projects/shop/cronjobs/report/runs",
            &token,
            json!({}),
        )
        .await
        .expect_json(StatusCode::CREATED);
    let id = app.tenant_id(tenant).await;
    let namespace = shop_namespace(app, &token).await;
    let pod = app
        .fake
        .start_attempt(&id, &namespace, &run.name, jiff::Timestamp::now());
    let path = format!(
        "/api/v1/projects/shop/cronjobs/report/runs/{}/logs",
        run.name
    );
    (
        token,
        path,
        Running {
            tenant: id,
            namespace,
            pod,
        },
    )
}

/// The attempt [`running`] started.
struct Running {
    tenant: String,
    namespace: String,
    pod: String,
}

/// `GET path?follow=true` with `token`: the response, its body unread.
async fn follow(app: &TestApp, path: &str, token: &str) -> axum::response::Response {
    use tower::ServiceExt;
    let req = request(
        Method::GET,
        &format!("{path}?follow=true"),
        Some(token),
        Body::empty(),
    );
    app.router.clone().oneshot(req).await.unwrap()
}

/// The next piece of a followed log, `None` when it ended.
async fn next(body: &mut BodyStream) -> Option<String> {
    let chunk = body.next().await?.unwrap();
    Some(String::from_utf8_lossy(&chunk).into_owned())
}

type BodyStream = axum::body::BodyDataStream;

/// How long a followed log may take to end once it must: generous, the
/// tests' re-check period being 100 ms.
const ENDS_WITHIN: Duration = Duration::from_secs(30);

/// Reads a followed log until it ends; fails when it has not after [`ENDS_WITHIN`].
async fn ends(body: &mut BodyStream) {
    tokio::time::timeout(ENDS_WITHIN, async { while next(body).await.is_some() {} })
        .await
        .expect("the followed log ended");
}

fn follow_limits() -> HttpLimits {
    HttpLimits {
        max_follows_per_tenant: 2,
        max_follows: 3,
        follow_recheck: Duration::from_millis(100),
        ..HttpLimits::default()
    }
}

/// Followed logs are capped per tenant and in all: one more is a 429 with
/// the JSON error shape and Retry-After; one that ends makes room.
#[tokio::test]
async fn followed_logs_are_capped_per_tenant_and_in_all() {
    let app = TestApp::build(Setup {
        limits: follow_limits(),
        ..Setup::default()
    })
    .await;
    let (acme, acme_logs, _) = running(&app, "acme").await;
    let (beta, beta_logs, _) = running(&app, "beta").await;
    let mut open = vec![];
    for _ in 0..2 {
        let r = follow(&app, &acme_logs, &acme).await;
        assert_eq!(r.status(), StatusCode::OK);
        open.push(r);
    }
    let refused = async |r: axum::response::Response| {
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(r.headers().contains_key("retry-after"), "{r:?}");
        let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        let e: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(e["code"], "too_many_requests", "{e}");
        assert!(e["message"].is_string(), "{e}");
    };
    // The tenant's third.
    refused(follow(&app, &acme_logs, &acme).await).await;
    // Refused before anything is read: also a follow of nothing that exists.
    let nothing = "/api/v1/projects/none/cronjobs/none/runs/none/logs";
    refused(follow(&app, nothing, &acme).await).await;
    // Another tenant may follow, up to the total of 3.
    let r = follow(&app, &beta_logs, &beta).await;
    assert_eq!(r.status(), StatusCode::OK);
    open.push(r);
    refused(follow(&app, &beta_logs, &beta).await).await;
    // Logs not followed are not counted.
    app.get(&acme_logs, &acme)
        .await
        .expect_status(StatusCode::OK);
    // A client that leaves makes room.
    drop(open.remove(0));
    let r = follow(&app, &acme_logs, &acme).await;
    assert_eq!(r.status(), StatusCode::OK);
}

/// A followed log ends when its token is revoked, while the attempt goes
/// on; another token's follow goes on.
#[tokio::test]
async fn a_followed_log_ends_when_its_token_is_revoked() {
    let app = TestApp::build(Setup {
        limits: follow_limits(),
        ..Setup::default()
    })
    .await;
    let (token, logs, attempt) = running(&app, "acme").await;
    let viewer = app.token("acme", "viewer").await;
    let write = |text: &str| {
        app.fake.write_log(
            &attempt.tenant,
            &attempt.namespace,
            &attempt.pod,
            text.as_bytes(),
        );
    };
    write("started\n");
    let mut revoked = follow(&app, &logs, &viewer)
        .await
        .into_body()
        .into_data_stream();
    let mut kept = follow(&app, &logs, &token)
        .await
        .into_body()
        .into_data_stream();
    assert_eq!(next(&mut revoked).await.as_deref(), Some("started\n"));
    assert_eq!(next(&mut kept).await.as_deref(), Some("started\n"));

    app.delete("/api/v1/admin/tenants/acme/tokens/viewer", ADMIN)
        .await
        .expect_status(StatusCode::NO_CONTENT);
    ends(&mut revoked).await;
    write("more\n");
    assert_eq!(next(&mut kept).await.as_deref(), Some("more\n"));
}

/// Deleting a tenant ends its followed logs.
#[tokio::test]
async fn a_followed_log_ends_when_its_tenant_is_deleted() {
    let app = TestApp::build(Setup {
        limits: follow_limits(),
        ..Setup::default()
    })
    .await;
    let (token, logs, _) = running(&app, "acme").await;
    let mut body = follow(&app, &logs, &token)
        .await
        .into_body()
        .into_data_stream();
    app.delete("/api/v1/admin/tenants/acme", ADMIN)
        .await
        .expect_status(StatusCode::NO_CONTENT);
    ends(&mut body).await;
}

/// A shutdown ends every followed log (a graceful shutdown waits for open
/// responses).
#[tokio::test]
async fn followed_logs_end_when_the_server_shuts_down() {
    let app = TestApp::build(Setup {
        limits: HttpLimits {
            // Not the re-check: the shutdown ends it.
            follow_recheck: Duration::from_secs(3600),
            ..follow_limits()
        },
        ..Setup::default()
    })
    .await;
    let (token, logs, _) = running(&app, "acme").await;
    let mut body = follow(&app, &logs, &token)
        .await
        .into_body()
        .into_data_stream();
    app.state.shut_down();
    ends(&mut body).await;
}

/// Run now with one-off overrides: the Job has them, the run records them,
/// and the CronJob itself is unchanged; invalid overrides are a 400 with
/// field paths and start nothing; no body is a plain Run now.
#[tokio::test]
async fn run_now_with_overrides() {
    let app = TestApp::new().await;
    let token = seeded(&app, "acme").await;
    let tenant = app.tenant_id("acme").await;
    let namespace = shop_namespace(&app, &token).await;
    let path = "/api/v1/projects/shop/cronjobs/report/runs";

    let bad = app
        .post(
            path,
            &token,
            json!({"command": {"argv": []}, "env": [{"name": "A B", "value": "x"}], "timeoutSeconds": 0}),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.fields(),
        ["command.argv", "env[0].name", "timeoutSeconds"],
        "{bad:?}"
    );
    let unknown = app
        .post(path, &token, json!({"comand": {"argv": ["x"]}}))
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert_eq!(unknown.fields(), ["comand"], "{unknown:?}");
    let runs: Vec<Run> = app.get(path, &token).await.json();
    assert!(
        runs.is_empty(),
        "an invalid request started a run: {runs:?}"
    );

    let overrides = json!({
        "command": {"argv": ["echo \"$GREETING\""], "shell": true},
        "env": [{"name": "GREETING", "value": "hello once"}, {"name": "TOKEN", "secret": {"name": "api", "key": "token"}}],
        "timeoutSeconds": 120
    });
    let run: Run = app
        .post(path, &token, overrides.clone())
        .await
        .expect_json(StatusCode::CREATED);
    assert_eq!(
        serde_json::to_value(run.overrides.as_ref().unwrap()).unwrap(),
        overrides
    );
    let job = app.fake.job(&tenant, &namespace, &run.name).unwrap();
    let spec = job.spec.unwrap();
    assert_eq!(spec.active_deadline_seconds, Some(120));
    let container = &spec.template.spec.unwrap().containers[0];
    assert_eq!(
        container.command.clone().unwrap(),
        ["sh", "-c", "echo \"$GREETING\""]
    );
    let env = container.env.clone().unwrap();
    let token_var = env.iter().find(|v| v.name == "TOKEN").unwrap();
    assert!(token_var.value.is_none() && token_var.value_from.is_some());
    // Recorded: the runs list shows them.
    let runs: Vec<Run> = app.get(path, &token).await.json();
    assert_eq!(runs[0].overrides, run.overrides);
    // The CronJob is as it was.
    let cronjob = app.fake_cronjob("report").await.unwrap();
    let template = crate::common::pod_spec(&cronjob);
    assert_eq!(
        template.containers[0].command.clone().unwrap_or_default(),
        ["/app/report", "--since", "24h"]
    );

    // No body at all: Run now as configured.
    let r = app
        .call(Method::POST, path, Some(&token), None)
        .await
        .expect_json::<Run>(StatusCode::CREATED);
    assert_eq!(r.overrides, None);
}

/// Cancel: a running run ends as Cancelled with who cancelled it; a run that
/// has ended is a 409 that says so; an unknown run is a 404.
#[tokio::test]
async fn cancel_a_run() {
    let app = TestApp::new().await;
    let token = seeded(&app, "acme").await;
    let tenant = app.tenant_id("acme").await;
    let namespace = shop_namespace(&app, &token).await;
    let base = "/api/v1/projects/shop/cronjobs/report/runs";
    let run: Run = app
        .post(base, &token, json!({}))
        .await
        .expect_json(StatusCode::CREATED);
    app.fake
        .start_attempt(&tenant, &namespace, &run.name, jiff::Timestamp::now());

    let cancelled: Run = app
        .post(&format!("{base}/{}/cancel", run.name), &token, json!({}))
        .await
        .expect_json(StatusCode::OK);
    assert_eq!(cancelled.result, RunResult::Cancelled);
    assert_eq!(cancelled.cancelled_by.as_deref(), Some("acme/ci"));
    let job = app.fake.job(&tenant, &namespace, &run.name).unwrap();
    assert_eq!(job.spec.unwrap().active_deadline_seconds, Some(1));
    let runs: Vec<Run> = app.get(base, &token).await.json();
    assert_eq!(runs[0].result, RunResult::Cancelled);

    let again = app
        .post(&format!("{base}/{}/cancel", run.name), &token, json!({}))
        .await
        .expect_error(StatusCode::CONFLICT);
    assert!(again.message.contains("already ended"), "{again:?}");
    let done: Run = app
        .post(base, &token, json!({}))
        .await
        .expect_json(StatusCode::CREATED);
    app.fake
        .finish_run(&tenant, &namespace, &done.name, 0, "ok\n");
    let ended = app
        .post(&format!("{base}/{}/cancel", done.name), &token, json!({}))
        .await
        .expect_error(StatusCode::CONFLICT);
    assert!(ended.message.contains("Succeeded"), "{ended:?}");
    app.post(&format!("{base}/no-such-run/cancel"), &token, json!({}))
        .await
        .expect_error(StatusCode::NOT_FOUND);
}
