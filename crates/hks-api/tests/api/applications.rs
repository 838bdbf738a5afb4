//! Applications as what CronJobs are made from: Stateless templates they
//! follow or snapshot, and Functions they call.

use axum::http::StatusCode;
use hks_api::dto::CronJobView;
use hks_core::spec::{TemplateMode, TemplateRef};
use serde_json::json;

use crate::common::{TestApp, pod_spec, report, seeded, web};

/// The image of the container a snapshot CronJob keeps.
fn snapshot_image(view: &CronJobView) -> &str {
    let template = view.spec.template.as_ref().expect("a template");
    &template.snapshot.as_ref().expect("a snapshot").image
}

#[tokio::test]
async fn follow_and_snapshot_templates() {
    let app = TestApp::new().await;
    let token = seeded(&app, "acme").await;
    let mut snap = report();
    snap["name"] = json!("frozen");
    snap["spec"]["template"]["mode"] = json!("snapshot");
    let r: CronJobView = app
        .post("/api/v1/projects/shop/cronjobs", &token, snap)
        .await
        .expect_json(StatusCode::CREATED);
    assert_eq!(snapshot_image(&r), "ghcr.io/acme/web:1.4");
    assert_eq!(r.summary.template_mode, Some(TemplateMode::Snapshot));

    let mut newer = web();
    newer["spec"]["image"] = json!("ghcr.io/acme/web:2.0");
    let r = app
        .put(
            "/api/v1/projects/shop/applications/web",
            &token,
            json!({"type": "stateless", "spec": newer["spec"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r}");
    let image = |cj: k8s_openapi::api::batch::v1::CronJob| {
        pod_spec(&cj).containers[0].image.clone().unwrap()
    };
    assert_eq!(
        image(app.fake_cronjob("report").await.unwrap()),
        "ghcr.io/acme/web:2.0"
    );
    assert_eq!(
        image(app.fake_cronjob("frozen").await.unwrap()),
        "ghcr.io/acme/web:1.4"
    );

    // Suspending (an edit) keeps the snapshot, and a snapshot in the input is ignored.
    let r: CronJobView = app
        .post(
            "/api/v1/projects/shop/cronjobs/frozen/suspend",
            &token,
            json!({}),
        )
        .await
        .json();
    assert_eq!(r.container.as_ref().unwrap().image, "ghcr.io/acme/web:1.4");
    let mut spec = r.spec;
    let mut evil = spec.template.as_ref().unwrap().snapshot.clone().unwrap();
    evil.image = "evil:1".into();
    spec.template.as_mut().unwrap().snapshot = Some(evil);
    let r: CronJobView = app
        .put("/api/v1/projects/shop/cronjobs/frozen", &token, json!(spec))
        .await
        .expect_json(StatusCode::OK);
    assert_eq!(snapshot_image(&r), "ghcr.io/acme/web:1.4");
    // Switching to follow and back takes a new snapshot.
    let mut spec = r.spec;
    spec.template = Some(TemplateRef {
        application: hks_core::values::ApplicationName::parse("web").unwrap(),
        mode: TemplateMode::Follow,
        snapshot: None,
    });
    app.put("/api/v1/projects/shop/cronjobs/frozen", &token, json!(spec))
        .await;
    spec.template.as_mut().unwrap().mode = TemplateMode::Snapshot;
    let r: CronJobView = app
        .put("/api/v1/projects/shop/cronjobs/frozen", &token, json!(spec))
        .await
        .json();
    assert_eq!(snapshot_image(&r), "ghcr.io/acme/web:2.0");

    // The template of a following CronJob cannot be deleted.
    let r = app
        .delete("/api/v1/projects/shop/applications/web", &token)
        .await;
    assert!(
        r.expect_error(StatusCode::CONFLICT)
            .message
            .contains("report")
    );
    // Types cannot change.
    let r = app
        .put(
            "/api/v1/projects/shop/applications/report",
            &token,
            json!({"type": "stateless", "spec": web()["spec"]}),
        )
        .await;
    assert_eq!(
        r.expect_error(StatusCode::BAD_REQUEST).problems[0].field,
        "type"
    );
}

#[tokio::test]
async fn cronjobs_that_call_a_function() {
    let app = TestApp::new().await;
    let token = seeded(&app, "acme").await;
    let fnspec = json!({"endpoint": "http://greeter.ns.svc:8080/", "method": "POST",
        "tokenSecret": {"name": "greet-token", "key": "token"}});
    app.application(
        &token,
        "shop",
        json!({"name": "greet", "type": "function", "spec": fnspec}),
    )
    .await;

    // A Function that does not exist, or an application that is not one.
    for (name, code) in [("nope", "function_not_found"), ("web", "not_a_function")] {
        let r = app
            .post("/api/v1/projects/shop/cronjobs", &token, json!({"name": "wake", "spec": {"schedule": "@hourly", "function": {"name": name}}}))
            .await;
        let error = r.expect_error(StatusCode::BAD_REQUEST);
        assert_eq!(error.problems[0].field, "spec.function.name");
        assert_eq!(error.problems[0].code, code);
    }
    let r = app
        .post("/api/v1/projects/shop/cronjobs", &token, json!({"name": "wake", "spec": {"schedule": "@hourly", "image": "x", "function": {"name": "greet", "headers": [{"name": "Authorization", "value": "Bearer leaked"}]}}}))
        .await;
    assert_eq!(
        r.expect_error(StatusCode::BAD_REQUEST).fields(),
        ["spec.image", "spec.function.headers[0].name"]
    );

    let r: CronJobView = app
        .post("/api/v1/projects/shop/cronjobs", &token, json!({"name": "wake", "spec": {"schedule": "* * * * *", "retries": 0,
            "function": {"name": "greet", "method": "PUT", "headers": [{"name": "X-Source", "value": "hks"}], "body": "{}", "expect": ["200", "204"]}}}))
        .await
        .expect_json(StatusCode::CREATED);
    assert_eq!(r.summary.function.as_deref(), Some("greet"));
    assert_eq!(r.summary.template, None);
    let container = r.container.unwrap();
    assert_eq!(container.command, ["/bin/hks-invoke"]);
    assert_eq!(container.image, "hks.local/busybox:1");
    assert!(
        container
            .args
            .contains(&"--url=http://greeter.ns.svc:8080/".to_owned())
    );
    let cj = app.fake_cronjob("wake").await.expect("applied");
    let pod = pod_spec(&cj);
    assert_eq!(pod.restart_policy.as_deref(), Some("Never"));
    let args = pod.containers[0].args.clone().unwrap();
    assert!(args.contains(&"--method=PUT".to_owned()));
    assert!(args.contains(&"--expect=200,204".to_owned()));
    assert!(args.contains(&"--token-file=/var/run/secrets/hks.dev/function/token".to_owned()));

    // A new endpoint reaches the CronJobs that call the Function.
    let r = app
        .put("/api/v1/projects/shop/applications/greet", &token, json!({"type": "function", "spec": {"endpoint": "http://greeter2.ns.svc:8080/", "method": "POST"}}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r}");
    let cj = app.fake_cronjob("wake").await.unwrap();
    let pod = pod_spec(&cj);
    let args = pod.containers[0].args.clone().unwrap();
    assert!(
        args.contains(&"--url=http://greeter2.ns.svc:8080/".to_owned()),
        "{args:?}"
    );
    assert!(!args.iter().any(|a| a.starts_with("--token-file")));
    assert!(pod.volumes.is_none());

    // The Function cannot go while CronJobs call it.
    let r = app
        .delete("/api/v1/projects/shop/applications/greet", &token)
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{r}");
    assert_eq!(
        app.delete("/api/v1/projects/shop/cronjobs/wake", &token)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete("/api/v1/projects/shop/applications/greet", &token)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
}
