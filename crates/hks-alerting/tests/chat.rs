//! Alerts to Slack- and Teams-compatible incoming webhooks, end to end: the
//! worker posting to a local HTTP receiver on 127.0.0.1 (allowed by the
//! target policy, as an installation would with `--webhook-allow-cidr`),
//! under the same rules as signed webhooks: once per alert, retried with
//! backoff, 2xx delivered, no redirect followed, nothing sent where the
//! policy denies.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hks_alerting::{Alerter, Settings, TargetPolicy, Worker};
use hks_history::alerts::{AlertRules, Outcome};
use hks_history::webhook::{DELIVERY_HEADER, SIGNATURE_HEADER};
use hks_store::{DeliveryState, DestinationKind, DestinationUpdate, Store};
use serde_json::Value;

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Request {
    path: String,
    delivery: Option<String>,
    signed: bool,
    content_type: Option<String>,
    body: Value,
}

#[derive(Default)]
struct Seen {
    script: VecDeque<u16>,
    requests: Vec<Request>,
}

struct Receiver {
    seen: Arc<Mutex<Seen>>,
    base: String,
}

impl Receiver {
    /// Answers with `script` in order, then `answer` once it runs out.
    async fn start(script: &[u16]) -> Self {
        let seen = Arc::new(Mutex::new(Seen {
            script: script.iter().copied().collect(),
            ..Seen::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new().fallback(record).with_state(seen.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { seen, base }
    }

    fn requests(&self) -> Vec<Request> {
        self.seen.lock().unwrap().requests.clone()
    }
}

async fn record(
    State(seen): State<Arc<Mutex<Seen>>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, HeaderMap) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let mut seen = seen.lock().unwrap();
    seen.requests.push(Request {
        path: uri.to_string(),
        delivery: header(DELIVERY_HEADER),
        signed: headers.contains_key(SIGNATURE_HEADER),
        content_type: header("content-type"),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
    let status = StatusCode::from_u16(seen.script.pop_front().unwrap_or(200)).unwrap();
    let mut answer = HeaderMap::new();
    if status.is_redirection() {
        answer.insert("location", "/elsewhere".parse().unwrap());
    }
    (status, answer)
}

fn loopback() -> TargetPolicy {
    TargetPolicy::allowing(["127.0.0.0/8".parse().unwrap()])
}

fn fast(targets: TargetPolicy) -> Settings {
    Settings {
        poll_interval: Duration::from_millis(20),
        retry_base: Duration::from_millis(40),
        timeout: Duration::from_secs(2),
        targets,
        ..Settings::default()
    }
}

async fn project(destination: DestinationUpdate) -> (Store, String) {
    let store = Store::in_memory().await.unwrap();
    let cluster = serde_json::from_value(
        serde_json::json!({"kind": "kubeconfig", "kubeconfig": "apiVersion: v1\nkind: Config\n"}),
    )
    .unwrap();
    let t = store.create_tenant("acme", &cluster).await.unwrap();
    let p = store.create_project(&t.id, "shop").await.unwrap().id;
    let rules = AlertRules {
        on_failure: true,
        on_recovery: true,
        ..AlertRules::default()
    };
    store
        .put_alert_settings(&p, None, &rules, Some(&destination))
        .await
        .unwrap();
    (store, p)
}

async fn fail(store: &Store, p: &str, run: &str) {
    Alerter::new(store.clone())
        .run_finished(p, "report", run, Outcome::Failed, None, &[])
        .await
        .unwrap();
}

#[tokio::test]
async fn slack_gets_one_message_per_alert_unsigned_with_the_delivery_id() {
    let receiver = Receiver::start(&[]).await;
    let url = format!("{}/services/T00/B00/XXXX", receiver.base);
    let (store, p) = project(DestinationUpdate::Slack {
        url: Some(url.clone()),
        url_source: None,
    })
    .await;
    fail(&store, &p, "report-1").await;
    fail(&store, &p, "report-1").await;
    let worker = Worker::new(store.clone(), fast(loopback())).unwrap();
    assert_eq!(worker.deliver_due().await.unwrap(), 1);
    assert_eq!(worker.deliver_due().await.unwrap(), 0);

    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.path, "/services/T00/B00/XXXX");
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    // Slack checks no signature: the URL is the credential.
    assert!(!r.signed);
    assert_eq!(r.body["text"], "[HKS] shop/report: Run report-1 failed");
    assert_eq!(r.body["blocks"][0]["type"], "header");
    assert_eq!(
        r.body["blocks"][0]["text"]["text"],
        "Run failed: shop/report"
    );
    let history = store.alert_history(&p, None, 10, 0).await.unwrap();
    let d = history[0].delivery.as_ref().unwrap();
    assert_eq!(
        (d.kind, d.state, d.attempts, d.last_status),
        (
            DestinationKind::Slack,
            DeliveryState::Delivered,
            1,
            Some(200)
        )
    );
    assert_eq!(r.delivery.as_deref(), Some(d.id.as_str()));
}

/// Teams' Workflows answer 202 Accepted: delivered. A 500 before it is
/// retried with the same card.
#[tokio::test]
async fn teams_gets_an_adaptive_card_retried_until_accepted() {
    let receiver = Receiver::start(&[500, 202]).await;
    let url = format!(
        "{}/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=S1G",
        receiver.base
    );
    let (store, p) = project(DestinationUpdate::Teams {
        url: Some(url),
        url_source: None,
    })
    .await;
    let worker = hks_alerting::spawn(store.clone(), fast(loopback())).unwrap();
    fail(&store, &p, "report-1").await;
    let mut delivered = None;
    for _ in 0..500 {
        let h = store.alert_history(&p, None, 10, 0).await.unwrap();
        if let Some(d) = h.first().and_then(|r| r.delivery.clone())
            && d.state == DeliveryState::Delivered
        {
            delivered = Some(d);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    worker.abort();
    let d = delivered.expect("delivered within 10 s");
    assert_eq!(
        (d.kind, d.attempts, d.last_status),
        (DestinationKind::Teams, 2, Some(202))
    );
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2, "nothing more after the 202");
    assert_eq!(
        requests[0].body, requests[1].body,
        "the same card on every attempt"
    );
    assert!(
        requests
            .iter()
            .all(|r| r.delivery.as_deref() == Some(d.id.as_str()) && !r.signed)
    );
    let card = &requests[0].body;
    assert_eq!(card["type"], "message");
    assert_eq!(
        card["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(card["attachments"][0]["content"]["type"], "AdaptiveCard");
    assert!(requests[0].path.ends_with("&sig=S1G"));
}

/// A Slack or Teams URL goes where webhooks may go, no further: loopback
/// is refused unless the installation allows it, and a redirect is not
/// followed (a 3xx is not delivered).
#[tokio::test]
async fn slack_and_teams_urls_follow_the_target_rules() {
    let receiver = Receiver::start(&[302]).await;
    let (store, p) = project(DestinationUpdate::Slack {
        url: Some(format!("{}/services/x", receiver.base)),
        url_source: None,
    })
    .await;
    fail(&store, &p, "report-1").await;
    // The default policy: public addresses only.
    let worker = Worker::new(store.clone(), fast(TargetPolicy::default())).unwrap();
    assert_eq!(worker.deliver_due().await.unwrap(), 1);
    assert!(receiver.requests().is_empty(), "nothing sent to loopback");
    let d = store.alert_history(&p, None, 10, 0).await.unwrap()[0]
        .delivery
        .clone()
        .unwrap();
    assert_eq!(d.state, DeliveryState::Pending);
    assert_eq!(d.last_error.as_deref(), Some(hks_alerting::target::DENIED));

    // Allowed, the receiver redirects: not followed, not delivered.
    let (store, p) = project(DestinationUpdate::Teams {
        url: Some(format!("{}/teams", receiver.base)),
        url_source: None,
    })
    .await;
    fail(&store, &p, "report-1").await;
    let worker = Worker::new(store.clone(), fast(loopback())).unwrap();
    assert_eq!(worker.deliver_due().await.unwrap(), 1);
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].path, "/teams");
    let d = store.alert_history(&p, None, 10, 0).await.unwrap()[0]
        .delivery
        .clone()
        .unwrap();
    assert_eq!(
        (d.state, d.last_status, d.last_error.as_deref()),
        (
            DeliveryState::Pending,
            Some(302),
            Some("the receiver answered 302")
        )
    );
    // The saved URL is checked too.
    for url in [
        "http://127.0.0.1/x",
        "http://169.254.169.254/",
        "http://localhost/",
    ] {
        assert!(hks_alerting::check_webhook_url(url, &TargetPolicy::default()).is_err());
    }
}
