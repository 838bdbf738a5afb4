//! Alerts: the settings of a project and of a CronJob, the history of alerts
//! raised, and test deliveries.

use axum::http::StatusCode;
use hks_api::routes::alerts::{
    AlertSettingsView, AlertView, DeliveryStateView, SettingsSource, TestDeliveryView,
};
use serde_json::json;

use crate::common::{Setup, TestApp, WEBHOOK_SECRET, alert_settings, seeded};

#[tokio::test]
async fn alert_settings_history_and_test_deliveries() {
    let app = TestApp::new().await;
    let token = seeded(&app, "acme").await;
    // Every body answered, as clients get it: none may show the secret.
    let mut bodies = Vec::new();
    let project = "/api/v1/projects/shop/alerts";
    let own = "/api/v1/projects/shop/cronjobs/report/alerts";

    // Nothing set: no alerts.
    let r: AlertSettingsView = app.get(own, &token).await.expect_json(StatusCode::OK);
    assert_eq!(r.source, SettingsSource::None);

    // The project's default applies to the CronJob; the secret is write-only.
    let r = app.put(project, &token, alert_settings()).await;
    assert_eq!(r.status, StatusCode::OK, "{r}");
    // The webhook's shape exactly: a flag for the secret, never a field with it.
    assert_eq!(
        r.value()["webhook"],
        json!({"url": "http://127.0.0.1:9/…", "urlSet": true, "secretSet": true})
    );
    bodies.push(r.text);
    let r = app.get(own, &token).await;
    let view: AlertSettingsView = r.json();
    assert_eq!(view.source, SettingsSource::Project);
    assert_eq!(view.rules.consecutive_failures, Some(3));
    bodies.push(r.text);

    // The CronJob's own settings; a PUT without a secret keeps the stored one.
    let without_secret = json!({"rules": {"onMissed": true, "longerThanSeconds": 600},
        "webhook": {"url": "https://hooks.example.com/hks"}});
    let r = app.put(own, &token, without_secret.clone()).await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "a new webhook needs a secret"
    );
    assert_eq!(r.error().problems[0].field, "webhook.secret");
    assert_eq!(
        app.put(own, &token, alert_settings()).await.status,
        StatusCode::OK
    );
    let r = app.put(own, &token, without_secret).await;
    let view: AlertSettingsView = r.expect_json(StatusCode::OK);
    assert_eq!(view.source, SettingsSource::Cronjob);
    assert!(view.webhook.unwrap().secret_set);
    assert!(!view.rules.on_failure);
    bodies.push(r.text);
    let (tenant, store) = {
        let store = app.state.store();
        (store.tenant_by_name("acme").await.unwrap(), store.clone())
    };
    let p = store.project(&tenant.id, "shop").await.unwrap();
    let kept = store
        .alert_settings(&p.id, Some("report"))
        .await
        .unwrap()
        .unwrap();
    use secrecy::ExposeSecret;
    assert_eq!(
        kept.webhook().unwrap().secret.expose_secret(),
        WEBHOOK_SECRET
    );

    // Removing its own settings falls back to the project's.
    assert_eq!(app.delete(own, &token).await.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(own, &token)
            .await
            .json::<AlertSettingsView>()
            .source,
        SettingsSource::Project
    );
    assert_eq!(
        app.get("/api/v1/projects/shop/cronjobs/nope/alerts", &token)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Alerts raised by the recorder show in the history, newest first, with their delivery.
    let alerter = app.state.alerter();
    use hks_history::alerts::Outcome;
    let raised = alerter
        .run_finished(
            &p.id,
            "report",
            "report-1",
            Outcome::Failed,
            Some("BackoffLimitExceeded"),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(raised.len(), 1);
    alerter
        .run_finished(
            &p.id,
            "report",
            "report-2",
            Outcome::Succeeded,
            None,
            &[Outcome::Failed],
        )
        .await
        .unwrap();
    let r = app
        .get(
            "/api/v1/projects/shop/alerts/history?cronjob=report",
            &token,
        )
        .await;
    let history: Vec<AlertView> = r.expect_json(StatusCode::OK);
    let kinds: Vec<&str> = history.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(kinds, ["recovered", "failed"]);
    assert_eq!(
        history[1].summary,
        "Run report-1 failed (BackoffLimitExceeded)"
    );
    let delivery = history[1].delivery.as_ref().expect("a delivery");
    assert_eq!(delivery.state, DeliveryStateView::Pending);
    assert_eq!(delivery.attempts, 0);
    bodies.push(r.text);
    let history: Vec<AlertView> = app
        .get(
            "/api/v1/projects/shop/alerts/history?limit=1&offset=1",
            &token,
        )
        .await
        .json();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].kind, "failed");
    let r = app
        .get("/api/v1/projects/shop/alerts/history?limit=0", &token)
        .await;
    assert_eq!(
        r.expect_error(StatusCode::BAD_REQUEST).problems[0].field,
        "limit"
    );

    // A test delivery to a local receiver, and to none.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(|| async { StatusCode::NO_CONTENT }),
    );
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });
    let mut settings = alert_settings();
    settings["webhook"]["url"] = json!(url);
    assert_eq!(
        app.put(project, &token, settings).await.status,
        StatusCode::OK
    );
    let r = app
        .post(
            "/api/v1/projects/shop/alerts/test?cronjob=report",
            &token,
            json!({}),
        )
        .await;
    let delivery: TestDeliveryView = r.expect_json(StatusCode::OK);
    assert!(delivery.delivered);
    assert_eq!(delivery.status, Some(204));
    bodies.push(r.text);
    assert_eq!(
        app.delete(project, &token).await.status,
        StatusCode::NO_CONTENT
    );
    let r = app
        .post("/api/v1/projects/shop/alerts/test", &token, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(
        app.get(project, &token)
            .await
            .json::<AlertSettingsView>()
            .source,
        SettingsSource::None
    );

    for body in bodies {
        assert!(!body.contains(WEBHOOK_SECRET), "{body}");
    }
}

#[tokio::test]
async fn bad_alert_settings_are_400_with_field_paths() {
    let app = TestApp::new().await;
    let token = seeded(&app, "acme").await;
    let cases = [
        json!({"rules": {"consecutiveFailures": 1, "longerThanSeconds": 59},
            "webhook": {"url": "ftp://example.com/", "secret": "short"}}),
        json!({"rules": {"consecutiveFailures": 101},
            "webhook": {"url": "https://user:hunter2@example.com/hook", "secret": "0123456789abcdef"}}),
        json!({"rules": {}, "webhook": {"url": "not a url", "secret": "0123456789abcdef"}}),
        json!({"rules": {"onFailure": true, "onFailures": true}}),
        json!({"rules": {}, "webhook": {"url": "https://example.com/", "secret": "0123456789abcdef", "token": "x"}}),
        json!({"rules": {"longerThanSeconds": "ten"}}),
    ];
    let mut answers = vec![];
    for body in cases {
        let r = app
            .put("/api/v1/projects/shop/cronjobs/report/alerts", &token, body)
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r}");
        assert!(!r.text.contains("hunter2"), "{r}");
        // The snapshot is of the bodies as clients get them.
        answers.push(r.value());
    }
    insta::assert_json_snapshot!(answers);
    // Nothing was stored.
    assert_eq!(
        app.get("/api/v1/projects/shop/cronjobs/report/alerts", &token)
            .await
            .json::<AlertSettingsView>()
            .source,
        SettingsSource::None
    );
}

/// A webhook URL is often a credential: the API shows its scheme and host
/// only, a PUT that sends that back (or no URL) keeps the stored one, and
/// deliveries still go to the whole URL; the database file has it sealed.
#[tokio::test]
async fn webhook_urls_are_never_shown_and_kept_when_sent_back() {
    use secrecy::ExposeSecret;
    let dir = std::env::temp_dir().join(format!(
        "hks-api-webhook-urls-{}",
        hks_store::new_token().unwrap().expose_secret()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let store = hks_store::Store::open(
        &dir.join("hks.db"),
        hks_store::EncryptionKey::generate().unwrap(),
    )
    .await
    .unwrap();
    let app = TestApp::build(Setup {
        store: Some(store.clone()),
        ..Setup::default()
    })
    .await;
    let token = seeded(&app, "acme").await;
    let project = "/api/v1/projects/shop/alerts";
    let own = "/api/v1/projects/shop/cronjobs/report/alerts";

    // A receiver that records the path and query of every request.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let record = seen.clone();
    let receiver = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let record = record.clone();
        async move {
            record.lock().unwrap().push(uri.to_string());
            StatusCode::NO_CONTENT
        }
    });
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });
    let url = format!("http://127.0.0.1:{port}/hook/T0K3N-IN-PATH?sig=Q5ecret");
    let shown = format!("http://127.0.0.1:{port}/…");
    let stored_url = || async {
        let tenant = store.tenant_by_name("acme").await.unwrap();
        let p = store.project(&tenant.id, "shop").await.unwrap();
        store
            .alert_settings(&p.id, None)
            .await
            .unwrap()
            .and_then(|s| s.webhook().map(|w| w.url.clone()))
    };
    let mut bodies = Vec::new();

    let mut settings = alert_settings();
    settings["webhook"]["url"] = json!(url);
    let r = app.put(project, &token, settings).await;
    assert_eq!(r.status, StatusCode::OK, "{r}");
    assert_eq!(
        r.value()["webhook"],
        json!({"url": shown, "urlSet": true, "secretSet": true})
    );
    bodies.push(r.text);
    for path in [project, own] {
        let r = app.get(path, &token).await;
        assert_eq!(r.value()["webhook"]["url"], json!(shown), "{r}");
        bodies.push(r.text);
    }

    // Other fields change; the URL sent back as shown, or left out, stays.
    let r = app
        .put(
            project,
            &token,
            json!({"rules": {"onMissed": true}, "webhook": {"url": shown}}),
        )
        .await;
    let view: AlertSettingsView = r.expect_json(StatusCode::OK);
    assert!(view.rules.on_missed && !view.rules.on_failure);
    bodies.push(r.text);
    assert_eq!(stored_url().await.as_deref(), Some(url.as_str()));
    let r = app
        .put(
            project,
            &token,
            json!({"rules": {"onFailure": true}, "webhook": {}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r}");
    bodies.push(r.text);
    assert_eq!(stored_url().await.as_deref(), Some(url.as_str()));

    // Deliveries go to the whole URL.
    let r = app
        .post(&format!("{project}/test"), &token, json!({}))
        .await;
    let delivery: TestDeliveryView = r.expect_json(StatusCode::OK);
    assert!(delivery.delivered, "{delivery:?}");
    bodies.push(r.text);
    assert_eq!(*seen.lock().unwrap(), ["/hook/T0K3N-IN-PATH?sig=Q5ecret"]);

    // A CronJob without a webhook of its own cannot take the project's
    // shown form for a URL; nor can a new webhook leave its URL out.
    let r = app
        .put(
            own,
            &token,
            json!({"rules": {}, "webhook": {"url": shown, "secret": WEBHOOK_SECRET}}),
        )
        .await;
    assert_eq!(
        r.expect_error(StatusCode::BAD_REQUEST).fields(),
        ["webhook.url"]
    );
    let r = app
        .put(
            own,
            &token,
            json!({"rules": {}, "webhook": {"secret": WEBHOOK_SECRET}}),
        )
        .await;
    assert_eq!(
        r.expect_error(StatusCode::BAD_REQUEST).fields(),
        ["webhook.url"]
    );

    // A new URL replaces it, checked against the installation's targets.
    let r = app
        .put(
            project,
            &token,
            json!({"rules": {}, "webhook": {"url": "http://10.0.0.1/hook"}}),
        )
        .await;
    assert_eq!(
        r.expect_error(StatusCode::BAD_REQUEST).fields(),
        ["webhook.url"]
    );
    let other = format!("http://127.0.0.1:{port}/other/S3CRET2");
    let r = app
        .put(
            project,
            &token,
            json!({"rules": {}, "webhook": {"url": other}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r}");
    bodies.push(r.text);
    assert_eq!(stored_url().await, Some(other));

    for body in &bodies {
        for secret in ["T0K3N", "Q5ecret", "S3CRET2", WEBHOOK_SECRET] {
            assert!(!body.contains(secret), "{body}");
        }
    }
    // Nor is it in the database file (or its WAL) in clear.
    drop(app);
    store.close().await;
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    for secret in ["T0K3N", "Q5ecret", "S3CRET2"] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} is in the database file"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}
