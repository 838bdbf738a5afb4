//! Where alert webhooks may point, through the API: saving a URL that names
//! a non-public address is a 400 on `webhook.url`, and a test delivery to a
//! denied target answers the same whether or not something listens there.
//! Receivers listen on loopback; public-looking names come from a fake
//! resolver, so no packet leaves the machine.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::http::{Method, StatusCode};
use futures::future::BoxFuture;
use hks_alerting::TargetPolicy;
use hks_alerting::target::Dns;
use hks_testkit::app::{Setup, TestApp};
use serde_json::{Value, json};

const SECRET: &str = "webhook-secret-of-target-tests";
const ALERTS: &str = "/api/v1/projects/shop/alerts";
const TEST: &str = "/api/v1/projects/shop/alerts/test";

/// Resolves names from a table: DNS an attacker controls.
#[derive(Debug)]
struct FakeDns(HashMap<String, Vec<IpAddr>>);

impl Dns for FakeDns {
    fn lookup<'a>(&'a self, host: &'a str) -> BoxFuture<'a, io::Result<Vec<IpAddr>>> {
        let found = self.0.get(host).cloned();
        Box::pin(async move { found.ok_or_else(|| io::Error::other("no such name")) })
    }
}

/// The API under a webhook policy, with a tenant and its project `shop`.
struct Targets {
    app: TestApp,
    token: String,
}

impl Targets {
    async fn new(targets: TargetPolicy) -> Self {
        let app = TestApp::build(Setup {
            webhook_targets: Some(targets),
            ..Setup::default()
        })
        .await;
        let token = app.tenant_with_project("acme", "shop").await.token;
        Self { app, token }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let r = self.app.call(method, path, Some(token), body).await;
        (r.status, r.try_json::<Value>().unwrap_or(Value::Null))
    }

    async fn put_webhook(&self, url: &str) -> (StatusCode, Value) {
        let body = json!({"rules": {"onFailure": true}, "webhook": {"url": url, "secret": SECRET}});
        self.call(Method::PUT, ALERTS, &self.token, Some(body))
            .await
    }

    /// A test delivery's answer, without its delivery id (new every time).
    async fn test_delivery(&self) -> (StatusCode, Value) {
        let (s, mut b) = self
            .call(Method::POST, TEST, &self.token, Some(json!({})))
            .await;
        if let Some(o) = b.as_object_mut() {
            assert!(o.remove("deliveryId").is_some(), "{b}");
        }
        (s, b)
    }
}

/// A port something listens on (its answers are 200), and one nobody does.
async fn open_and_closed_ports() -> (u16, u16) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let open = listener.local_addr().unwrap().port();
    let app = Router::new().fallback(|| async { StatusCode::OK });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    (open, closed)
}

#[tokio::test]
async fn saving_a_webhook_to_a_non_public_address_is_400_on_webhook_url() {
    let app = Targets::new(TargetPolicy::default()).await;
    for url in [
        "http://127.0.0.1:8080/healthz?token=hunter2",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://10.0.0.1/",
        "http://localhost/",
        "http://api.localhost:8080/",
        "http://[::ffff:127.0.0.1]/",
        "http://0/",
        "http://[fd00::1]/",
        "http://192.168.1.1/",
    ] {
        let (s, b) = app.put_webhook(url).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{url}: {b}");
        let problems = b["problems"].as_array().unwrap();
        assert_eq!(problems.len(), 1, "{url}: {b}");
        assert_eq!(problems[0]["field"], "webhook.url", "{url}");
        assert_eq!(problems[0]["code"], "invalid_url", "{url}");
        assert!(
            problems[0]["hint"]
                .as_str()
                .unwrap()
                .contains("--webhook-allow-cidr"),
            "{url}: {b}"
        );
        assert!(!b.to_string().contains("hunter2"), "{b}");
    }
    // The other refusals stay as they were, with the field named.
    for url in ["ftp://example.com/", "https://user:pass@example.com/"] {
        let (s, b) = app.put_webhook(url).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{url}: {b}");
        assert_eq!(b["problems"][0]["field"], "webhook.url", "{url}");
        assert!(!b.to_string().contains("pass@"), "{b}");
    }
    // Nothing was stored; public names and addresses are taken.
    let (_, b) = app.call(Method::GET, ALERTS, &app.token, None).await;
    assert_eq!(b["source"], "none");
    for url in ["https://hooks.example.com/hks", "http://8.8.8.8:8080/hook"] {
        let (s, b) = app.put_webhook(url).await;
        assert_eq!(s, StatusCode::OK, "{url}: {b}");
    }
}

#[tokio::test]
async fn an_installation_allows_ranges_and_only_those() {
    let app = Targets::new(TargetPolicy::allowing(["127.0.0.0/8".parse().unwrap()])).await;
    for url in ["http://127.0.0.1:8080/hook", "http://localhost:9/"] {
        let (s, b) = app.put_webhook(url).await;
        assert_eq!(s, StatusCode::OK, "{url}: {b}");
    }
    for url in [
        "http://[::1]/",
        "http://10.0.0.1/",
        "http://169.254.169.254/",
    ] {
        let (s, b) = app.put_webhook(url).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{url}: {b}");
        assert_eq!(b["problems"][0]["field"], "webhook.url", "{url}");
    }
}

/// The name is accepted when saved (names are not resolved then) and
/// resolves to loopback when sent: the test delivery refuses it, in the
/// same words whether the port is open or closed, and as for a name that
/// does not resolve at all. So does a loopback URL stored before URLs were
/// checked when saved.
#[tokio::test]
async fn a_test_delivery_to_a_denied_port_answers_the_same_with_and_without_a_listener() {
    let (open, closed) = open_and_closed_ports().await;
    let dns = FakeDns(HashMap::from([(
        "hooks.attacker.example".to_owned(),
        vec!["127.0.0.1".parse().unwrap()],
    )]));
    let app = Targets::new(TargetPolicy::default().with_dns(Arc::new(dns))).await;
    let mut answers = vec![];
    for url in [
        format!("http://hooks.attacker.example:{open}/"),
        format!("http://hooks.attacker.example:{closed}/"),
        format!("http://unknown.attacker.example:{open}/"),
    ] {
        let (s, b) = app.put_webhook(&url).await;
        assert_eq!(s, StatusCode::OK, "{url}: {b}");
        answers.push(app.test_delivery().await);
    }
    let project = app.app.state.store().tenant_by_name("acme").await.unwrap();
    let project = app
        .app
        .state
        .store()
        .project(&project.id, "shop")
        .await
        .unwrap();
    for port in [open, closed] {
        let legacy = hks_store::DestinationUpdate::Webhook(hks_store::WebhookUpdate {
            url: Some(format!("http://127.0.0.1:{port}/hook")),
            secret: Some(SECRET.to_owned().into()),
            ..Default::default()
        });
        app.app
            .state
            .store()
            .put_alert_settings(&project.id, None, &Default::default(), Some(&legacy))
            .await
            .unwrap();
        answers.push(app.test_delivery().await);
    }
    let expected = (
        StatusCode::OK,
        json!({"destination": "webhook", "delivered": false, "status": null, "error": hks_alerting::target::DENIED}),
    );
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(*answer, expected, "answer {i}");
    }
    let text = answers[0].1.to_string();
    for leak in [
        "127.0.0.1",
        &open.to_string(),
        &closed.to_string(),
        "os error",
    ] {
        assert!(!text.contains(leak), "{text}");
    }
}
