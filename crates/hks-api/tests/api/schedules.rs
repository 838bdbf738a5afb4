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
