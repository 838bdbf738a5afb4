//! Where webhooks go: deliveries and test deliveries reach only the
//! addresses the installation's target policy permits, through the
//! addresses HKS resolved and checked itself, without following redirects
//! or reading an endless answer. Every receiver listens on loopback (no
//! packet leaves the machine); public names are given by a fake resolver.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use futures::future::BoxFuture;
use hks_alerting::target::{DENIED, Dns};
use hks_alerting::{Alerter, Settings, TargetPolicy, TestDelivery, Worker};
use hks_history::alerts::{AlertRules, Outcome};
use hks_store::{DeliveryState, Store, WebhookUpdate};

const SECRET: &str = "a-webhook-secret-0123456789";

/// A receiver on `ip` (port 0: any) that answers every request with
/// `answer` and counts the requests.
async fn receiver(ip: &str, port: u16, answer: Router) -> (SocketAddr, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let app = answer.layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| {
            counted.fetch_add(1, Ordering::SeqCst);
            next.run(req)
        },
    ));
    let listener = tokio::net::TcpListener::bind((ip, port)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, hits)
}

fn answering(status: StatusCode) -> Router {
    Router::new().fallback(move || async move { status })
}

/// A port nobody listens on (any more).
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn loopback() -> TargetPolicy {
    TargetPolicy::allowing(["127.0.0.0/8".parse().unwrap()])
}

/// A store with a project whose webhook is `url`; the project's id.
async fn project_with_webhook(url: &str) -> (Store, String) {
    let store = Store::in_memory().await.unwrap();
    let cluster = serde_json::from_value(
        serde_json::json!({"kind": "kubeconfig", "kubeconfig": "apiVersion: v1\nkind: Config\n"}),
    )
    .unwrap();
    let t = store.create_tenant("acme", &cluster).await.unwrap();
    let p = store.create_project(&t.id, "shop").await.unwrap().id;
    store
        .put_alert_settings(
            &p,
            None,
            &AlertRules {
                on_failure: true,
                ..Default::default()
            },
            Some(&hks_store::DestinationUpdate::Webhook(WebhookUpdate {
                url: Some(url.to_owned()),
                secret: Some(SECRET.to_owned().into()),
                ..Default::default()
            })),
        )
        .await
        .unwrap();
    (store, p)
}

/// A test delivery to `url` under `targets`.
async fn test_delivery(url: &str, targets: TargetPolicy) -> TestDelivery {
    let (store, p) = project_with_webhook(url).await;
    Alerter::new(store)
        .with_targets(targets)
        .send_test(&p, "shop", None)
        .await
        .unwrap()
}

/// What a tenant sees of a test delivery (the delivery id differs each time).
fn seen(t: &TestDelivery) -> (bool, Option<u16>, Option<String>) {
    (t.delivered, t.status, t.error.clone())
}

fn refused() -> (bool, Option<u16>, Option<String>) {
    (false, None, Some(DENIED.to_owned()))
}

#[tokio::test]
async fn a_loopback_receiver_is_refused_by_default_and_reached_when_allowed() {
    let (addr, hits) = receiver("127.0.0.1", 0, answering(StatusCode::OK)).await;
    let url = format!("http://{addr}/hook?token=in-the-query");

    let t = test_delivery(&url, TargetPolicy::default()).await;
    assert_eq!(seen(&t), refused());
    assert!(!DENIED.contains("in-the-query") && !DENIED.contains("127."));
    // The delivery worker refuses it the same way, and records why.
    let (store, p) = project_with_webhook(&url).await;
    Alerter::new(store.clone())
        .run_finished(&p, "report", "report-1", Outcome::Failed, None, &[])
        .await
        .unwrap();
    let quick = Settings {
        retry_base: Duration::from_millis(10),
        ..Settings::default()
    };
    let worker = Worker::new(store.clone(), quick.clone()).unwrap();
    assert_eq!(worker.deliver_due().await.unwrap(), 1);
    let history = store.alert_history(&p, None, 10, 0).await.unwrap();
    let d = history[0].delivery.as_ref().unwrap();
    assert_eq!(d.state, DeliveryState::Pending, "retried later");
    assert_eq!(d.last_error.as_deref(), Some(DENIED));
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "nothing reached the receiver"
    );

    // Allowed by the installation: reached, by test and by the worker.
    let t = test_delivery(&url, loopback()).await;
    assert_eq!(seen(&t), (true, Some(200), None));
    let worker = Worker::new(
        store.clone(),
        Settings {
            targets: loopback(),
            ..quick
        },
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(worker.deliver_due().await.unwrap(), 1);
    let history = store.alert_history(&p, None, 10, 0).await.unwrap();
    assert_eq!(
        history[0].delivery.as_ref().unwrap().state,
        DeliveryState::Delivered
    );
    assert_eq!(hits.load(Ordering::SeqCst), 2);

    // Allowing 127.0.0.0/8 does not allow IPv6's loopback.
    let t = test_delivery(&format!("http://[::1]:{}/", addr.port()), loopback()).await;
    assert_eq!(seen(&t), refused());
}

/// A test delivery is no port scanner: to a denied address it answers the
/// same whether something listens there or not, and whether the address is
/// written out or is a name that resolves to it.
#[tokio::test]
async fn denied_targets_get_one_answer_whether_or_not_something_listens() {
    let (open, hits) = receiver("127.0.0.1", 0, answering(StatusCode::OK)).await;
    let closed = closed_port();
    for url in [
        format!("http://127.0.0.1:{}/", open.port()),
        format!("http://127.0.0.1:{closed}/"),
        format!("http://localhost:{}/", open.port()),
        format!("http://localhost:{closed}/"),
        format!("http://[::ffff:127.0.0.1]:{}/", open.port()),
        format!("http://2130706433:{}/", open.port()),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://10.0.0.1/".to_owned(),
        "http://[::]/".to_owned(),
        "http://0.0.0.0/".to_owned(),
    ] {
        let t = test_delivery(&url, TargetPolicy::default()).await;
        assert_eq!(seen(&t), refused(), "{url}");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0);

    // Where the installation does send, a failed connection is described in
    // fixed words: no address, no operating system error.
    let t = test_delivery(&format!("http://127.0.0.1:{closed}/"), loopback()).await;
    assert_eq!(
        seen(&t),
        (
            false,
            None,
            Some("could not connect to the receiver".to_owned())
        )
    );
}

/// Answers names from a table, counting the lookups: stands for DNS that
/// an attacker controls (a public-looking name that resolves to an
/// internal address).
#[derive(Debug, Default)]
struct FakeDns {
    names: HashMap<String, Vec<IpAddr>>,
    lookups: AtomicUsize,
}

impl Dns for FakeDns {
    fn lookup<'a>(&'a self, host: &'a str) -> BoxFuture<'a, io::Result<Vec<IpAddr>>> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let found = self.names.get(host).cloned();
        Box::pin(async move { found.ok_or_else(|| io::Error::other("no such name")) })
    }
}

#[tokio::test]
async fn a_name_is_resolved_once_and_only_permitted_addresses_are_connected_to() {
    // The receiver on 127.0.0.1 and a trap on 127.0.0.2, on the same port.
    let (addr, hits) = receiver("127.0.0.1", 0, answering(StatusCode::OK)).await;
    let (_, trap) = receiver("127.0.0.2", addr.port(), answering(StatusCode::OK)).await;
    let dns = Arc::new(FakeDns {
        names: HashMap::from([
            (
                "internal.example.com".to_owned(),
                vec!["127.0.0.1".parse().unwrap()],
            ),
            (
                "mixed.example.com".to_owned(),
                vec!["127.0.0.2".parse().unwrap(), "127.0.0.1".parse().unwrap()],
            ),
        ]),
        ..Default::default()
    });
    let port = addr.port();

    // By default, a name resolving to loopback is not connected to, and the
    // answer is the same as for a name that does not resolve at all.
    let public = TargetPolicy::default().with_dns(dns.clone());
    for name in [
        "internal.example.com",
        "mixed.example.com",
        "unknown.example.com",
    ] {
        let t = test_delivery(&format!("http://{name}:{port}/hook"), public.clone()).await;
        assert_eq!(seen(&t), refused(), "{name}");
    }
    assert_eq!(hits.load(Ordering::SeqCst) + trap.load(Ordering::SeqCst), 0);

    // Allowing only 127.0.0.1: the request goes to the address resolved and
    // checked (the name exists only in the fake resolver), never to the
    // denied address the same answer held.
    let one = TargetPolicy::allowing(["127.0.0.1/32".parse().unwrap()]).with_dns(dns.clone());
    let before = dns.lookups.load(Ordering::SeqCst);
    for name in ["internal.example.com", "mixed.example.com"] {
        let t = test_delivery(&format!("http://{name}:{port}/hook"), one.clone()).await;
        assert_eq!(seen(&t), (true, Some(200), None), "{name}");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert_eq!(trap.load(Ordering::SeqCst), 0);
    assert_eq!(
        dns.lookups.load(Ordering::SeqCst) - before,
        2,
        "one lookup per request: the addresses checked are the ones connected to"
    );
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let (elsewhere, followed) = receiver("127.0.0.1", 0, answering(StatusCode::OK)).await;
    let location = format!("http://{elsewhere}/hook");
    let redirecting = Router::new().fallback(move || {
        let location = location.clone();
        async move { (StatusCode::FOUND, [(header::LOCATION, location)]) }
    });
    let (addr, hits) = receiver("127.0.0.1", 0, redirecting).await;
    let t = test_delivery(&format!("http://{addr}/hook"), loopback()).await;
    assert_eq!(
        seen(&t),
        (
            false,
            Some(302),
            Some("the receiver answered 302".to_owned())
        )
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(followed.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_endless_answer_is_not_read_to_its_end() {
    let produced = Arc::new(AtomicUsize::new(0));
    let counter = produced.clone();
    let endless = Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
            let stream = futures::stream::repeat_with(move || {
                counter.fetch_add(chunk.len(), Ordering::SeqCst);
                Ok::<_, io::Error>(chunk.clone())
            });
            (StatusCode::OK, Body::from_stream(stream))
        }
    });
    let (addr, _) = receiver("127.0.0.1", 0, endless).await;
    let started = Instant::now();
    let t = test_delivery(&format!("http://{addr}/hook"), loopback()).await;
    assert_eq!(seen(&t), (true, Some(200), None));
    // Long before the request's timeout (10 s), and after little of the answer.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let produced = produced.load(Ordering::SeqCst);
    assert!(
        produced < 64 * 1024 * 1024,
        "{produced} bytes were produced"
    );
}
