//! Projects, and what a tenant can reach: only its own.

use axum::http::{Method, StatusCode};
use hks_api::dto::ProjectView;
use hks_core::run::Run;
use serde_json::{Value, json};

use crate::common::{TestApp, alert_settings, report, seeded, web};

#[tokio::test]
async fn another_tenants_token_sees_nothing() {
    let app = TestApp::new().await;
    let owner = seeded(&app, "acme").await;
    let run: Run = app
        .post(
            "/api/v1/projects/shop/cronjobs/report/runs",
            &owner,
            json!({}),
        )
        .await
        .json();
    let run = run.name;
    let other = app.tenant("globex").await.token;
    let p = "/api/v1/projects/shop";
    let calls: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, p.into(), None),
        (Method::DELETE, p.into(), None),
        (Method::GET, format!("{p}/applications"), None),
        (Method::POST, format!("{p}/applications"), Some(web())),
        (Method::GET, format!("{p}/applications/web"), None),
        (
            Method::PUT,
            format!("{p}/applications/web"),
            Some(json!({"type": "stateless", "spec": web()["spec"]})),
        ),
        (Method::DELETE, format!("{p}/applications/web"), None),
        (Method::POST, format!("{p}/manifests"), Some(web())),
        (Method::GET, format!("{p}/cronjobs"), None),
        (Method::POST, format!("{p}/cronjobs"), Some(report())),
        (Method::GET, format!("{p}/cronjobs/report"), None),
        (
            Method::PUT,
            format!("{p}/cronjobs/report"),
            Some(report()["spec"].clone()),
        ),
        (Method::DELETE, format!("{p}/cronjobs/report"), None),
        (Method::POST, format!("{p}/cronjobs/report/suspend"), None),
        (Method::POST, format!("{p}/cronjobs/report/resume"), None),
        (Method::GET, format!("{p}/cronjobs/report/runs"), None),
        (Method::POST, format!("{p}/cronjobs/report/runs"), None),
        (
            Method::GET,
            format!("{p}/cronjobs/report/runs/{run}/logs"),
            None,
        ),
        (Method::GET, format!("{p}/alerts"), None),
        (Method::PUT, format!("{p}/alerts"), Some(alert_settings())),
        (Method::DELETE, format!("{p}/alerts"), None),
        (Method::GET, format!("{p}/alerts/history"), None),
        (Method::POST, format!("{p}/alerts/test"), None),
        (Method::GET, format!("{p}/cronjobs/report/alerts"), None),
        (
            Method::PUT,
            format!("{p}/cronjobs/report/alerts"),
            Some(alert_settings()),
        ),
        (Method::DELETE, format!("{p}/cronjobs/report/alerts"), None),
    ];
    for (method, path, body) in calls {
        let r = app.call(method.clone(), &path, Some(&other), body).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{method} {path}: {r}");
        assert!(!r.text.contains("acme"));
    }
    // The other tenant's own project list is empty, and the owner still has everything.
    let projects: Vec<ProjectView> = app.get("/api/v1/projects", &other).await.json();
    assert!(projects.is_empty(), "{projects:?}");
    assert_eq!(
        app.get("/api/v1/projects/shop/cronjobs/report", &owner)
            .await
            .status,
        StatusCode::OK
    );
    // Two tenants may use the same project name: their namespaces differ.
    app.project(&other, "shop").await;
    let namespace = async |token: &str| {
        app.get("/api/v1/projects/shop", token)
            .await
            .json::<ProjectView>()
            .namespace
    };
    assert_ne!(namespace(&owner).await, namespace(&other).await);
}
