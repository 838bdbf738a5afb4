//! Alert destinations besides the signed webhook, through the API: Slack
//! and Teams incoming webhooks (URLs that are credentials: sealed, shown as
//! scheme and host, checked against the installation's targets) and email
//! (addresses, through the installation's SMTP server, refused without
//! one). Receivers listen on 127.0.0.1: an HTTP one for Slack and Teams, an
//! SMTP one (`hks_testkit::smtp`) for email.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use hks_api::routes::alerts::{
    AlertSettingsView, AlertView, DestinationKindBody, SettingsSource, TestDeliveryView,
};
use hks_history::alerts::Outcome;
use hks_store::Destination;
use hks_testkit::smtp;
use serde_json::{Value, json};

use crate::common::{Setup, TestApp, WEBHOOK_SECRET, alert_settings, seeded};

const PROJECT: &str = "/api/v1/projects/shop/alerts";
const OWN: &str = "/api/v1/projects/shop/cronjobs/report/alerts";
const TEST: &str = "/api/v1/projects/shop/alerts/test";

/// HKS with the SMTP receiver as its installation's SMTP server.
async fn with_email(receiver: &smtp::Receiver) -> TestApp {
    let email = hks_alerting::Email::new(
        &hks_alerting::SmtpSettings {
            url: receiver.url(),
            from: "HKS <alerts@hks.example.com>".into(),
            username: None,
            password: None,
        },
        Duration::from_secs(5),
    )
    .unwrap();
    TestApp::build(Setup {
        email: Some(email),
        ..Setup::default()
    })
    .await
}

/// An HTTP receiver on 127.0.0.1 that records each request's path and
/// JSON body and answers 200; its base URL.
async fn http_receiver() -> (String, Arc<Mutex<Vec<(String, Value)>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let receiver =
        axum::Router::new().fallback(move |uri: axum::http::Uri, body: axum::body::Bytes| {
            let record = record.clone();
            async move {
                let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
                record.lock().unwrap().push((uri.to_string(), json));
                StatusCode::OK
            }
        });
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });
    (base, seen)
}

async fn stored(app: &TestApp, cronjob: Option<&str>) -> Option<Destination> {
    let store = app.state.store();
    let tenant = store.tenant_by_name("acme").await.unwrap();
    let p = store.project(&tenant.id, "shop").await.unwrap();
    store
        .alert_settings(&p.id, cronjob)
        .await
        .unwrap()
        .and_then(|s| s.destination)
}

#[tokio::test]
async fn slack_teams_and_email_destinations() {
    let mail = smtp::Receiver::start(&[]).await;
    let app = with_email(&mail).await;
    let token = seeded(&app, "acme").await;
    let (base, seen) = http_receiver().await;
    let mut bodies = Vec::new();

    // Slack: the URL is a credential, shown as scheme and host only.
    let slack = format!("{base}/services/T0K3N/B0T/S3CRET");
    let shown = format!("{base}/…");
    let r = app
        .put(
            PROJECT,
            &token,
            json!({"rules": {"onFailure": true}, "destination": {"kind": "slack", "url": slack}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r}");
    assert_eq!(
        r.value()["destination"],
        json!({"kind": "slack", "url": shown, "secretSet": false, "to": []})
    );
    assert_eq!(r.value()["webhook"], Value::Null);
    bodies.push(r.text);
    // Sent back as shown, it is kept.
    let r = app
        .put(
            PROJECT,
            &token,
            json!({"rules": {"onMissed": true}, "destination": {"kind": "slack", "url": shown}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r}");
    bodies.push(r.text);
    assert_eq!(
        stored(&app, None).await,
        Some(Destination::Slack { url: slack.clone() })
    );
    let r = app.post(TEST, &token, json!({})).await;
    let sent: TestDeliveryView = r.expect_json(StatusCode::OK);
    assert!(sent.delivered, "{sent:?}");
    bodies.push(r.text);
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].0, "/services/T0K3N/B0T/S3CRET");
        assert_eq!(
            seen[0].1["text"],
            "[HKS] shop: A test delivery from HKS: this receiver gets the alerts."
        );
    }

    // Teams cannot take Slack's URL by its shown form: a new kind needs a whole URL.
    let r = app
        .put(
            PROJECT,
            &token,
            json!({"rules": {}, "destination": {"kind": "teams", "url": shown}}),
        )
        .await;
    assert_eq!(
        r.expect_error(StatusCode::BAD_REQUEST).fields(),
        ["destination.url"]
    );
    let r = app
        .put(
            PROJECT,
            &token,
            json!({"rules": {}, "destination": {"kind": "teams"}}),
        )
        .await;
    let e = r.expect_error(StatusCode::BAD_REQUEST);
    assert_eq!(e.fields(), ["destination.url"]);
    assert_eq!(
        e.message_of("destination.url"),
        "a new Teams webhook needs a URL"
    );
    let teams = format!("{base}/workflows/x/triggers/manual/paths/invoke?sig=S1G");
    let r = app
        .put(
            PROJECT,
            &token,
            json!({"rules": {"onFailure": true}, "destination": {"kind": "teams", "url": teams}}),
        )
        .await;
    let view: AlertSettingsView = r.expect_json(StatusCode::OK);
    let d = view.destination.unwrap();
    assert_eq!(
        (d.kind, d.url.as_deref()),
        (DestinationKindBody::Teams, Some(shown.as_str()))
    );
    let r = app.post(TEST, &token, json!({})).await;
    assert!(r.expect_json::<TestDeliveryView>(StatusCode::OK).delivered);
    assert_eq!(
        seen.lock().unwrap()[1].1["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );

    // Email: the CronJob's own, to two addresses; a test goes out now.
    let r = app
        .put(
            OWN,
            &token,
            json!({"rules": {"onFailure": true},
                "destination": {"kind": "email", "to": ["ops@example.com", "oncall@example.org"]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r}");
    assert_eq!(
        r.value()["destination"],
        json!({"kind": "email", "url": null, "secretSet": false,
            "to": ["ops@example.com", "oncall@example.org"]})
    );
    let r = app
        .post(&format!("{TEST}?cronjob=report"), &token, json!({}))
        .await;
    let sent: TestDeliveryView = r.expect_json(StatusCode::OK);
    assert_eq!((sent.delivered, sent.status), (true, Some(250)));
    let messages = mail.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].to, ["ops@example.com", "oncall@example.org"]);
    assert_eq!(
        messages[0].header("Message-ID"),
        Some(format!("<{}@hks.example.com>", sent.delivery_id))
    );

    // An alert raised goes to the CronJob's email; the history says where.
    let store = app.state.store();
    let tenant = store.tenant_by_name("acme").await.unwrap();
    let p = store.project(&tenant.id, "shop").await.unwrap();
    app.state
        .alerter()
        .run_finished(&p.id, "report", "report-1", Outcome::Failed, None, &[])
        .await
        .unwrap();
    let history: Vec<AlertView> = app
        .get("/api/v1/projects/shop/alerts/history", &token)
        .await
        .expect_json(StatusCode::OK);
    let delivery = history[0].delivery.as_ref().unwrap();
    assert_eq!(delivery.destination, DestinationKindBody::Email);
    let r = app.get(OWN, &token).await;
    let view: AlertSettingsView = r.expect_json(StatusCode::OK);
    assert_eq!(view.source, SettingsSource::Cronjob);
    bodies.push(r.text);

    for body in &bodies {
        for secret in ["T0K3N", "S3CRET", "S1G"] {
            assert!(!body.contains(secret), "{body}");
        }
    }
}

/// Settings saved before other destinations, and clients that still send
/// `webhook`, read and work as before; the same webhook shows as a
/// `destination` of kind `webhook`, and can be kept through it.
#[tokio::test]
async fn the_webhook_field_and_a_webhook_destination_are_the_same() {
    let app = TestApp::new().await;
    let token = seeded(&app, "acme").await;
    let r = app.put(PROJECT, &token, alert_settings()).await;
    assert_eq!(r.status, StatusCode::OK, "{r}");
    let shown = "http://127.0.0.1:9/…";
    assert_eq!(
        r.value()["destination"],
        json!({"kind": "webhook", "url": shown, "secretSet": true, "to": []})
    );
    assert_eq!(
        r.value()["webhook"],
        json!({"url": shown, "urlSet": true, "secretSet": true})
    );
    // Kept through `destination`, URL and secret.
    let r = app
        .put(
            PROJECT,
            &token,
            json!({"rules": {}, "destination": {"kind": "webhook", "url": shown}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r}");
    match stored(&app, None).await {
        Some(Destination::Webhook(w)) => {
            use secrecy::ExposeSecret;
            assert_eq!(w.url, "http://127.0.0.1:9/hook");
            assert_eq!(w.secret.expose_secret(), WEBHOOK_SECRET);
        }
        other => panic!("{other:?}"),
    }
    // Both at once is refused.
    let mut both = alert_settings();
    both["destination"] = json!({"kind": "slack", "url": "https://hooks.slack.com/services/x"});
    let r = app.put(PROJECT, &token, both).await;
    assert_eq!(
        r.expect_error(StatusCode::BAD_REQUEST).fields(),
        ["webhook"]
    );
    // A change of kind drops the webhook's secret: back to a webhook needs a new one.
    let r = app
        .put(
            PROJECT,
            &token,
            json!({"rules": {}, "destination": {"kind": "slack", "url": "https://hooks.slack.com/services/x"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r}");
    let r = app
        .put(
            PROJECT,
            &token,
            json!({"rules": {}, "webhook": {"url": "https://hooks.example.com/hks"}}),
        )
        .await;
    assert_eq!(
        r.expect_error(StatusCode::BAD_REQUEST).fields(),
        ["webhook.secret"]
    );
}

/// Without an SMTP server, an email destination is refused on its kind,
/// with a hint; nothing is stored.
#[tokio::test]
async fn email_needs_the_installations_smtp_server() {
    let app = TestApp::new().await;
    let token = seeded(&app, "acme").await;
    let r = app
        .put(
            PROJECT,
            &token,
            json!({"rules": {}, "destination": {"kind": "email", "to": ["ops@example.com"]}}),
        )
        .await;
    let e = r.expect_error(StatusCode::BAD_REQUEST);
    assert_eq!(e.fields(), ["destination.kind"]);
    assert_eq!(e.problems[0].code, "email_not_configured");
    assert!(
        e.problems[0]
            .hint
            .as_deref()
            .unwrap_or_default()
            .contains("--smtp-url"),
        "{e:?}"
    );
    assert!(stored(&app, None).await.is_none());
}

#[tokio::test]
async fn bad_destinations_are_400_with_field_paths() {
    let mail = smtp::Receiver::start(&[]).await;
    let app = with_email(&mail).await;
    let token = seeded(&app, "acme").await;
    let many: Vec<String> = (0..21).map(|i| format!("ops{i}@example.com")).collect();
    let cases = [
        json!({"rules": {}, "destination": {"kind": "email"}}),
        json!({"rules": {}, "destination": {"kind": "email",
            "to": ["ops@example.com", "not an address", "OPS@example.com", "Ops <ops@example.org>"],
            "url": "https://hooks.example.com/x", "secret": "0123456789abcdef"}}),
        json!({"rules": {}, "destination": {"kind": "email", "to": many}}),
        json!({"rules": {}, "destination": {"kind": "slack", "url": "http://10.0.0.1/services/x",
            "secret": "0123456789abcdef", "to": ["ops@example.com"]}}),
        json!({"rules": {}, "destination": {"kind": "teams", "url": "https://user:hunter2@example.com/x"}}),
        json!({"rules": {}, "destination": {"kind": "webhook", "url": "https://hooks.example.com/x"}}),
        json!({"rules": {}, "destination": {"kind": "pagerduty", "url": "https://example.com/"}}),
        json!({"rules": {}, "destination": {"kind": "slack", "url": "https://hooks.slack.com/x", "channel": "#ops"}}),
    ];
    let mut answers = vec![];
    for body in cases {
        let r = app.put(OWN, &token, body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r}");
        assert!(!r.text.contains("hunter2"), "{r}");
        answers.push(r.value());
    }
    insta::assert_json_snapshot!(answers);
    assert!(stored(&app, Some("report")).await.is_none());
    assert!(mail.messages().is_empty());
}

/// A project file carries every kind of destination: export writes a
/// Slack webhook as a reference and email addresses as they are; applying
/// the file to another project (with the reference's value) gives the same
/// destinations, applying it again changes nothing and keeps them, and the
/// change is in the audit log without the URL. An email destination in a
/// file is checked like one set through the API.
#[tokio::test]
async fn project_files_carry_slack_teams_and_email_destinations() {
    let mail = smtp::Receiver::start(&[]).await;
    let app = with_email(&mail).await;
    let token = seeded(&app, "acme").await;
    let slack = "http://127.0.0.1:9/services/T0K3N/B0T/S3CRET";
    app.put(
        PROJECT,
        &token,
        json!({"rules": {"onFailure": true}, "destination": {"kind": "slack", "url": slack}}),
    )
    .await
    .expect_status(StatusCode::OK);
    app.put(
        OWN,
        &token,
        json!({"rules": {"onMissed": true}, "destination": {"kind": "email", "to": ["ops@example.com"]}}),
    )
    .await
    .expect_status(StatusCode::OK);

    let file = app.get("/api/v1/projects/shop/file", &token).await;
    file.expect_status(StatusCode::OK);
    let text = file.text;
    assert!(
        text.contains("  slack:\n    url:\n      fromEnv: HKS_ALERTS_SLACK_URL\n"),
        "{text}"
    );
    assert!(
        text.contains("      email:\n        to:\n        - ops@example.com\n"),
        "{text}"
    );
    assert!(!text.contains("S3CRET"), "{text}");

    // Applied to another project with the reference's value.
    app.project(&token, "copy").await;
    let r = app
        .post(
            "/api/v1/projects/copy/file",
            &token,
            json!({"content": text, "values": {"alerts.slack.url": slack}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r}");
    assert!(!r.text.contains("S3CRET"), "{r}");
    let store = app.state.store();
    let copy = app.project_id("acme", "copy").await;
    let project = store.alert_settings(&copy, None).await.unwrap().unwrap();
    assert_eq!(
        project.destination,
        Some(Destination::Slack { url: slack.into() })
    );
    let own = store
        .alert_settings(&copy, Some("report"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        own.destination,
        Some(Destination::Email {
            to: vec!["ops@example.com".into()]
        })
    );
    // Exported again: the same file; applied again without values: nothing changes.
    let again = app.get("/api/v1/projects/copy/file", &token).await;
    assert_eq!(again.text, text);
    let r = app
        .post(
            "/api/v1/projects/copy/file",
            &token,
            json!({"content": text}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r}");
    assert_eq!(r.value()["changes"], json!([]), "{r}");
    // Applied to the project it came from without values, the URL set
    // through the API is kept: only where it is read from is recorded.
    let r = app
        .post(
            "/api/v1/projects/shop/file",
            &token,
            json!({"content": text}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r}");
    assert_eq!(
        r.value()["changes"][0]["fields"][0]["path"],
        "alerts.slack.url",
        "{r}"
    );
    assert_eq!(
        stored(&app, None).await,
        Some(Destination::Slack { url: slack.into() })
    );

    // The apply is in the audit log, the URL only as changed.
    let audit = app
        .get("/api/v1/projects/copy/audit?action=alerts.update", &token)
        .await;
    assert_eq!(audit.status, StatusCode::OK, "{audit}");
    assert!(!audit.text.contains("S3CRET"), "{audit}");
    let entries = audit.value()["entries"].as_array().unwrap().clone();
    let targets: Vec<&str> = entries
        .iter()
        .map(|e| e["target"].as_str().unwrap())
        .collect();
    assert_eq!(targets, ["cronjob/report", "project/copy"], "{audit}");
    assert_eq!(entries[1]["actor"], "acme/ci", "{audit}");
    let fields: Vec<&str> = entries[1]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["rules.onFailure", "slack.url"], "{audit}");

    // Bad addresses and a second destination: each at its place; nothing changes.
    let bad = "version: 1\nalerts:\n  email: {to: [not-an-address, ops@example.com, OPS@example.com]}\n  teams: {url: {fromEnv: T}}\n";
    let r = app
        .post(
            "/api/v1/projects/shop/file",
            &token,
            json!({"content": bad, "values": {"alerts.teams.url": slack}}),
        )
        .await;
    let e = r.expect_error(StatusCode::BAD_REQUEST);
    let mut got: Vec<(String, String)> = e
        .problems
        .iter()
        .map(|p| (p.field.clone(), p.code.clone()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("alerts.email".to_owned(), "conflicting_fields".to_owned()),
            ("alerts.email.to[0]".to_owned(), "invalid_email".to_owned()),
            (
                "alerts.email.to[2]".to_owned(),
                "duplicate_email".to_owned()
            ),
        ],
        "{e:?}"
    );
    assert!(
        e.problems
            .iter()
            .all(|p| p.line == Some(3) || p.line == Some(4)),
        "{e:?}"
    );
    assert_eq!(
        stored(&app, None).await,
        Some(Destination::Slack { url: slack.into() })
    );
}

/// Without an SMTP server, a file's email destination is refused where it is.
#[tokio::test]
async fn a_files_email_destination_needs_the_installations_smtp_server() {
    let app = TestApp::new().await;
    let token = seeded(&app, "acme").await;
    let r = app
        .post(
            "/api/v1/projects/shop/file",
            &token,
            json!({"content": "version: 1\nalerts:\n  email: {to: [ops@example.com]}\n"}),
        )
        .await;
    let e = r.expect_error(StatusCode::BAD_REQUEST);
    assert_eq!(e.fields(), ["alerts.email"]);
    assert_eq!(e.problems[0].code, "email_not_configured");
    assert_eq!(e.problems[0].line, Some(3));
    assert!(stored(&app, None).await.is_none());
}
