//! Each tenant's budgets (issue 13): beyond its changes or its run starts
//! a minute, a request is 429 `too_many_requests` with `Retry-After` and a
//! message that says which budget; it changes nothing, reads and previews
//! are not counted, and another tenant keeps its own budget.

use axum::http::StatusCode;
use hks_app::{Rate, TenantRates};
use hks_testkit::app::{Setup, TestApp};
use serde_json::{Value, json};

use crate::common::seeded;

const RUNS: &str = "/api/v1/projects/shop/cronjobs/report/runs";

async fn with_rates(rates: TenantRates) -> TestApp {
    TestApp::build(Setup {
        rates: Some(rates),
        ..Setup::default()
    })
    .await
}

fn cronjob(name: &str) -> Value {
    json!({"name": name, "spec": {"schedule": "0 3 * * *", "image": "busybox:1.36", "command": {"argv": ["true"]}}})
}

/// The `Retry-After` of a 429, in seconds.
fn retry_after(r: &hks_testkit::app::Reply) -> u64 {
    r.header("retry-after").unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_tenant_beyond_its_changes_a_minute_gets_429_and_nothing_changes() {
    let app = with_rates(TenantRates {
        writes: Rate {
            per_minute: 1,
            burst: 5,
        },
        run_starts: Rate::UNLIMITED,
    })
    .await;
    // Three changes: the project, `web` and `report`.
    let token = seeded(&app, "acme").await;
    for name in ["one", "two"] {
        app.post("/api/v1/projects/shop/cronjobs", &token, cronjob(name))
            .await
            .expect_status(StatusCode::CREATED);
    }
    let r = app
        .post("/api/v1/projects/shop/cronjobs", &token, cronjob("three"))
        .await;
    assert_eq!(r.header("content-type"), Some("application/json"), "{r}");
    let wait = retry_after(&r);
    let e = r.expect_error(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(e.code, "too_many_requests");
    assert!(
        e.message.contains("changes") && e.message.contains("1 a minute"),
        "{e:?}"
    );
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    // Nothing was created; edits and deletes are changes too.
    let list = app
        .get("/api/v1/projects/shop/cronjobs", &token)
        .await
        .value();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["one", "report", "two"]);
    app.delete("/api/v1/projects/shop/cronjobs/one", &token)
        .await
        .expect_error(StatusCode::TOO_MANY_REQUESTS);
    // Reads and previews are not changes.
    for _ in 0..20 {
        app.get("/api/v1/projects/shop/cronjobs", &token)
            .await
            .expect_status(StatusCode::OK);
    }
    app.post(
        "/api/v1/schedules/preview",
        &token,
        json!({"schedule": "0 3 * * *"}),
    )
    .await
    .expect_status(StatusCode::OK);
    // Another tenant has its own budget.
    let other = app.tenant("beta").await.token;
    app.project(&other, "shop").await;
    app.post("/api/v1/projects/shop/cronjobs", &other, cronjob("one"))
        .await
        .expect_status(StatusCode::CREATED);
}

#[tokio::test]
async fn run_starts_have_their_own_budget() {
    let app = with_rates(TenantRates {
        writes: Rate::UNLIMITED,
        run_starts: Rate {
            per_minute: 1,
            burst: 2,
        },
    })
    .await;
    let token = seeded(&app, "acme").await;
    for _ in 0..2 {
        app.post(RUNS, &token, json!({}))
            .await
            .expect_status(StatusCode::CREATED);
    }
    let r = app.post(RUNS, &token, json!({})).await;
    assert!(retry_after(&r) >= 1);
    let e = r.expect_error(StatusCode::TOO_MANY_REQUESTS);
    assert!(e.message.contains("run starts"), "{e:?}");
    // No third run; other changes go on.
    let runs = app.get(RUNS, &token).await.value();
    assert_eq!(runs.as_array().unwrap().len(), 2, "{runs}");
    app.post(
        "/api/v1/projects/shop/cronjobs/report/suspend",
        &token,
        json!({}),
    )
    .await
    .expect_status(StatusCode::OK);
}
