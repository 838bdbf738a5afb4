//! Previews that store and apply nothing: a schedule's next runs, and the
//! manifests of an application.

use axum::http::StatusCode;
use hks_api::dto::ManifestPreview;
use serde_json::json;

use crate::common::{TestApp, report, seeded};

#[tokio::test]
async fn schedule_preview_and_manifest_preview() {
    let app = TestApp::new().await;
    let token = seeded(&app, "acme").await;
    // `hks_schedule::Preview` is a serialise-only type of the schedule
    // engine: the preview is read as JSON.
    let r = app.post("/api/v1/schedules/preview", &token, json!({"schedule": "30 2 * * *", "timeZone": "America/New_York", "after": "2025-03-08T12:00:00Z", "count": 2})).await;
    assert_eq!(r.status, StatusCode::OK, "{r}");
    let preview = r.value();
    assert_eq!(preview["valid"], true);
    assert_eq!(preview["nextRuns"][0]["at"], "2025-03-10T06:30:00Z");
    let bad = app
        .post(
            "/api/v1/schedules/preview",
            &token,
            json!({"schedule": "0 0 * * 7"}),
        )
        .await
        .value();
    assert_eq!(bad["valid"], false);
    assert!(!bad["errors"].as_array().unwrap().is_empty());

    let m: ManifestPreview = app
        .post(
            "/api/v1/projects/shop/manifests",
            &token,
            json!({"name": "preview", "type": "cronjob", "spec": report()["spec"]}),
        )
        .await
        .expect_json(StatusCode::OK);
    assert_eq!(m.objects[0]["kind"], "CronJob");
    // Nothing applied.
    assert!(app.fake_cronjob("preview").await.is_none());
}

/// Issue 17: `H` takes a value from the project and the CronJob's name. The
/// CronJob in the cluster has the plain expression; the API shows both, and
/// the preview given the same project and name agrees with it.
#[tokio::test]
async fn a_spread_schedule_becomes_a_plain_one_chosen_from_the_name() {
    let app = TestApp::new().await;
    let token = seeded(&app, "acme").await;
    let mut specs = Vec::new();
    for name in ["spread-a", "spread-b", "spread-c", "spread-d"] {
        let r = app
            .post(
                "/api/v1/projects/shop/cronjobs",
                &token,
                json!({"name": name, "spec": {"schedule": "H H(1-5) * * *", "image": "busybox:1"}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{r}");
        let view = r.value();
        assert_eq!(view["schedule"], "H H(1-5) * * *");
        let plain = view["expandedSchedule"].as_str().unwrap().to_owned();
        let cluster = app.fake_cronjob(name).await.unwrap();
        assert_eq!(cluster.spec.schedule, plain, "{name}");
        let fields: Vec<u32> = plain
            .split(' ')
            .take(2)
            .map(|f| f.parse().unwrap())
            .collect();
        assert!(fields[0] < 60 && (1..=5).contains(&fields[1]), "{plain}");
        assert!(
            view["description"].as_str().unwrap().starts_with("At "),
            "{view}"
        );
        // The preview for the same project and name says the same.
        let preview = app
            .post(
                "/api/v1/schedules/preview",
                &token,
                json!({"schedule": "H H(1-5) * * *", "project": "shop", "name": name}),
            )
            .await
            .value();
        assert_eq!(preview["expandedSchedule"], plain.as_str(), "{preview}");
        assert_eq!(preview["description"], view["description"]);
        specs.push(plain);
    }
    // An edit that keeps the schedule keeps the values.
    let r = app
        .put(
            "/api/v1/projects/shop/cronjobs/spread-a",
            &token,
            json!({"schedule": "H H(1-5) * * *", "image": "busybox:1", "retries": 2}),
        )
        .await;
    assert_eq!(r.value()["expandedSchedule"], specs[0].as_str(), "{r}");
    // Four names, not all at the same time.
    specs.sort();
    specs.dedup();
    assert!(specs.len() > 1, "{specs:?}");
    // Without a name the preview cannot choose; H elsewhere is refused
    // with the field.
    let preview = app
        .post(
            "/api/v1/schedules/preview",
            &token,
            json!({"schedule": "H * * * *"}),
        )
        .await
        .value();
    assert_eq!(
        preview["errors"][0]["code"], "spread_needs_name",
        "{preview}"
    );
    let r = app
        .post(
            "/api/v1/projects/shop/cronjobs",
            &token,
            json!({"name": "bad", "spec": {"schedule": "0 0 H * *", "image": "busybox:1"}}),
        )
        .await;
    let error = r.expect_error(StatusCode::BAD_REQUEST);
    assert_eq!(error.problems[0].field, "spec.schedule", "{r}");
    assert_eq!(error.problems[0].code, "spread_field", "{r}");
    assert!(app.fake_cronjob("bad").await.is_none());
}
