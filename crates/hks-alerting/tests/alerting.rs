//! Alerts end to end: the alerter over a real store, the worker delivering
//! to a local webhook receiver on 127.0.0.1 that checks every signature.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hks_alerting::{Alerter, Settings, TargetPolicy, Worker};
use hks_history::alerts::{AlertRules, Outcome};
use hks_history::webhook::{DELIVERY_HEADER, MAX_ATTEMPTS, SIGNATURE_HEADER, verify};
use hks_store::{AlertRecord, DeliveryState, EncryptionKey, Store, WebhookUpdate};
use jiff::{SignedDuration, Timestamp};
use secrecy::ExposeSecret;
use serde_json::Value;

const SECRET: &str = "a-webhook-secret-0123456789";

/// What the receiver saw.
#[derive(Debug, Default)]
struct Seen {
    /// Answers to give, in order; 200 once they run out.
    script: VecDeque<u16>,
    /// Every request with a valid signature: (delivery id, body).
    requests: Vec<(String, Value)>,
    bad_signatures: usize,
    /// How long each answer takes (none unless a test sets it).
    delay: Duration,
    /// Requests that arrived, answered yet or not.
    arrived: usize,
}

#[derive(Clone)]
struct Receiver {
    seen: Arc<Mutex<Seen>>,
    url: String,
}

impl Receiver {
    async fn start(script: &[u16]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve(listener, script)
    }

    /// The receiver on a listener already bound (for one that comes back on
    /// the address it was unreachable at).
    fn serve(listener: tokio::net::TcpListener, script: &[u16]) -> Self {
        let seen = Arc::new(Mutex::new(Seen {
            script: script.iter().copied().collect(),
            ..Default::default()
        }));
        let app = Router::new()
            .route("/hook", axum::routing::post(hook))
            .with_state(seen.clone());
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { seen, url }
    }

    fn requests(&self) -> Vec<(String, Value)> {
        self.seen.lock().unwrap().requests.clone()
    }

    fn bad_signatures(&self) -> usize {
        self.seen.lock().unwrap().bad_signatures
    }
}

async fn hook(State(seen): State<Arc<Mutex<Seen>>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let delay = {
        let mut seen = seen.lock().unwrap();
        seen.arrived += 1;
        seen.delay
    };
    tokio::time::sleep(delay).await;
    let mut seen = seen.lock().unwrap();
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if verify(
        SECRET.as_bytes(),
        signature,
        &body,
        Timestamp::now(),
        SignedDuration::from_mins(5),
    )
    .is_err()
    {
        seen.bad_signatures += 1;
        return StatusCode::UNAUTHORIZED;
    }
    let id = headers
        .get(DELIVERY_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    seen.requests
        .push((id, serde_json::from_slice(&body).unwrap()));
    StatusCode::from_u16(seen.script.pop_front().unwrap_or(200)).unwrap()
}

fn fast() -> Settings {
    Settings {
        poll_interval: Duration::from_millis(20),
        retry_base: Duration::from_millis(40),
        timeout: Duration::from_secs(2),
        concurrency: 8,
        targets: loopback(),
        email: None,
    }
}

/// Public addresses and 127.0.0.0/8, where the receivers of these tests listen.
fn loopback() -> TargetPolicy {
    TargetPolicy::allowing(["127.0.0.0/8".parse().unwrap()])
}

async fn project(store: &Store) -> String {
    let cluster = serde_json::from_value(
        serde_json::json!({"kind": "kubeconfig", "kubeconfig": "apiVersion: v1\nkind: Config\n"}),
    )
    .unwrap();
    let t = store.create_tenant("acme", &cluster).await.unwrap();
    store.create_project(&t.id, "shop").await.unwrap().id
}

async fn configure(store: &Store, project_id: &str, cronjob: Option<&str>, url: &str) {
    let rules = AlertRules {
        on_failure: true,
        on_recovery: true,
        on_missed: true,
        longer_than_seconds: Some(60),
        consecutive_failures: None,
    };
    store
        .put_alert_settings(
            project_id,
            cronjob,
            &rules,
            Some(&hks_store::DestinationUpdate::Webhook(WebhookUpdate {
                url: Some(url.to_owned()),
                secret: Some(SECRET.to_owned().into()),
                ..Default::default()
            })),
        )
        .await
        .unwrap();
}

/// Waits until `done` holds for the project's alert history (10 s at most).
async fn wait_for(
    store: &Store,
    project_id: &str,
    done: impl Fn(&[AlertRecord]) -> bool,
) -> Vec<AlertRecord> {
    for _ in 0..500 {
        let h = store.alert_history(project_id, None, 100, 0).await.unwrap();
        if done(&h) {
            return h;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "timed out; history: {:?}",
        store.alert_history(project_id, None, 100, 0).await.unwrap()
    );
}

/// Waits until `done` holds, 60 s at most (it takes milliseconds).
async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let ceiling = std::time::Instant::now() + Duration::from_secs(60);
    while !done().await {
        assert!(
            std::time::Instant::now() < ceiling,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn all_in(state: DeliveryState) -> impl Fn(&[AlertRecord]) -> bool {
    move |h| {
        !h.is_empty()
            && h.iter()
                .all(|r| r.delivery.as_ref().is_some_and(|d| d.state == state))
    }
}

#[tokio::test]
async fn a_failure_alerts_once_and_the_next_success_recovers() {
    let store = Store::in_memory().await.unwrap();
    let p = project(&store).await;
    let receiver = Receiver::start(&[]).await;
    let alerter = Alerter::new(store.clone());
    // Without settings nothing is raised.
    let none = alerter
        .run_finished(&p, "report", "report-1", Outcome::Failed, None, &[])
        .await
        .unwrap();
    assert!(none.is_empty());

    configure(&store, &p, None, &receiver.url).await;
    let first = alerter
        .run_finished(
            &p,
            "report",
            "report-2",
            Outcome::Failed,
            Some("BackoffLimitExceeded"),
            &[Outcome::Failed],
        )
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].kind, "failed");
    // The same run again (a duplicate watch event, a restart): nothing new.
    let again = alerter
        .run_finished(
            &p,
            "report",
            "report-2",
            Outcome::Failed,
            Some("BackoffLimitExceeded"),
            &[Outcome::Failed],
        )
        .await
        .unwrap();
    assert!(again.is_empty());

    let worker = Worker::new(store.clone(), fast()).unwrap();
    assert_eq!(worker.deliver_due().await.unwrap(), 1);
    assert_eq!(worker.deliver_due().await.unwrap(), 0);

    let recovered = alerter
        .run_finished(
            &p,
            "report",
            "report-3",
            Outcome::Succeeded,
            None,
            &[Outcome::Failed, Outcome::Failed],
        )
        .await
        .unwrap();
    assert_eq!(recovered.len(), 1);
    assert_eq!(recovered[0].kind, "recovered");
    assert_eq!(worker.deliver_due().await.unwrap(), 1);

    let requests = receiver.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(receiver.bad_signatures(), 0);
    assert_ne!(requests[0].0, requests[1].0);
    let body = &requests[0].1;
    // The body is the receivers' contract.
    insta::assert_json_snapshot!(body, {".raisedAt" => "[time]"});
    assert_eq!(body["kind"], "failed");
    assert_eq!(body["key"], "failed:report-2");
    assert_eq!(body["project"], "shop");
    assert_eq!(body["cronjob"], "report");
    assert_eq!(body["run"], "report-2");
    assert_eq!(body["link"], "/projects/shop/cronjobs/report");
    assert_eq!(
        body["summary"],
        "Run report-2 failed (BackoffLimitExceeded)"
    );
    assert!(body["raisedAt"].is_string());
    assert_eq!(requests[1].1["kind"], "recovered");

    let history = store
        .alert_history(&p, Some("report"), 10, 0)
        .await
        .unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].alert.kind, "recovered", "newest first");
    let d = history[0].delivery.as_ref().unwrap();
    assert_eq!(d.id, requests[1].0);
    assert_eq!(
        (d.state, d.attempts, d.last_status),
        (DeliveryState::Delivered, 1, Some(200))
    );
}

#[tokio::test]
async fn long_runs_and_missed_runs_alert_once_and_own_settings_win() {
    let store = Store::in_memory().await.unwrap();
    let p = project(&store).await;
    let receiver = Receiver::start(&[]).await;
    configure(&store, &p, None, &receiver.url).await;
    // The CronJob's own settings, without a webhook: alerts are recorded, not sent.
    store
        .put_alert_settings(
            &p,
            Some("quiet"),
            &AlertRules {
                on_missed: true,
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    let alerter = Alerter::new(store.clone());
    let now = Timestamp::now();
    let started = now - SignedDuration::from_secs(61);
    let long = alerter
        .run_running(&p, "report", "report-1", started, now)
        .await
        .unwrap();
    assert_eq!(long.len(), 1);
    assert_eq!(long[0].kind, "longRunning");
    assert!(
        alerter
            .run_running(&p, "report", "report-1", started, now)
            .await
            .unwrap()
            .is_empty()
    );
    let scheduled: Timestamp = "2025-01-01T09:00:00Z".parse().unwrap();
    let missed = alerter
        .missed(&p, "report", scheduled, "the cluster was unreachable")
        .await
        .unwrap();
    assert_eq!(missed.len(), 1);
    assert!(
        alerter
            .missed(&p, "report", scheduled, "the cluster was unreachable")
            .await
            .unwrap()
            .is_empty()
    );
    // `quiet` has its own rules: no long-run alert, and no delivery for its missed run.
    assert!(
        alerter
            .run_running(&p, "quiet", "quiet-1", started, now)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        alerter
            .missed(&p, "quiet", scheduled, "x")
            .await
            .unwrap()
            .len(),
        1
    );
    let worker = Worker::new(store.clone(), fast()).unwrap();
    assert_eq!(worker.deliver_due().await.unwrap(), 2);
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2);
    let missed_body = requests
        .iter()
        .find(|(_, b)| b["kind"] == "missed")
        .unwrap();
    assert_eq!(missed_body.1["run"], Value::Null);
    let history = store.alert_history(&p, Some("quiet"), 10, 0).await.unwrap();
    assert_eq!(history.len(), 1);
    assert!(history[0].delivery.is_none());
}

#[tokio::test]
async fn a_failing_receiver_gets_it_on_the_third_attempt() {
    let store = Store::in_memory().await.unwrap();
    let p = project(&store).await;
    let receiver = Receiver::start(&[500, 500, 200]).await;
    configure(&store, &p, None, &receiver.url).await;
    let worker = hks_alerting::spawn(store.clone(), fast()).unwrap();
    Alerter::new(store.clone())
        .run_finished(&p, "report", "report-1", Outcome::Failed, None, &[])
        .await
        .unwrap();
    let history = wait_for(&store, &p, all_in(DeliveryState::Delivered)).await;
    worker.abort();
    let d = history[0].delivery.as_ref().unwrap();
    assert_eq!((d.attempts, d.last_status), (3, Some(200)));
    assert!(d.last_error.is_none());
    let requests = receiver.requests();
    assert_eq!(requests.len(), 3);
    // Every attempt carries the same delivery id, so the receiver can drop duplicates.
    assert!(requests.iter().all(|(id, _)| *id == d.id));
    assert_eq!(
        requests[0].1, requests[2].1,
        "the body is the same on every attempt"
    );
}

/// A receiver that takes its time with one delivery holds up no other:
/// deliveries are sent at once (a bounded number), each under its own
/// timeout, and one that is due while another is in flight goes out.
#[tokio::test]
async fn a_slow_receiver_holds_up_no_other_delivery() {
    let store = Store::in_memory().await.unwrap();
    let p = project(&store).await;
    let slow = Receiver::start(&[]).await;
    // Far longer than any test waits: it answers only when the test is over.
    slow.seen.lock().unwrap().delay = Duration::from_secs(600);
    let quick = Receiver::start(&[]).await;
    configure(&store, &p, Some("slow"), &slow.url).await;
    configure(&store, &p, Some("fast"), &quick.url).await;
    let worker = hks_alerting::spawn(
        store.clone(),
        Settings {
            timeout: Duration::from_secs(600),
            ..fast()
        },
    )
    .unwrap();
    let alerter = Alerter::new(store.clone());
    alerter
        .run_finished(&p, "slow", "slow-1", Outcome::Failed, None, &[])
        .await
        .unwrap();
    until("the slow receiver to have the request", async || {
        slow.seen.lock().unwrap().arrived == 1
    })
    .await;
    alerter
        .run_finished(&p, "fast", "fast-1", Outcome::Failed, None, &[])
        .await
        .unwrap();
    until(
        "the other delivery while the slow one is in flight",
        async || {
            let h = store.alert_history(&p, Some("fast"), 10, 0).await.unwrap();
            all_in(DeliveryState::Delivered)(&h)
        },
    )
    .await;
    assert_eq!(quick.requests().len(), 1);
    assert!(
        slow.requests().is_empty(),
        "the slow one is still in flight"
    );
    worker.abort();
}

#[tokio::test]
async fn an_unreachable_receiver_fails_after_the_last_attempt() {
    let store = Store::in_memory().await.unwrap();
    let p = project(&store).await;
    // A port that nobody listens on any more.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/hook?token=in-the-query");
    configure(&store, &p, None, &url).await;
    let worker = hks_alerting::spawn(store.clone(), fast()).unwrap();
    Alerter::new(store.clone())
        .run_finished(&p, "report", "report-1", Outcome::Failed, None, &[])
        .await
        .unwrap();
    let history = wait_for(&store, &p, all_in(DeliveryState::Failed)).await;
    worker.abort();
    let d = history[0].delivery.as_ref().unwrap();
    assert_eq!(d.attempts, MAX_ATTEMPTS);
    assert_eq!(d.last_status, None);
    assert!(d.next_attempt_at.is_none());
    let error = d.last_error.as_deref().unwrap();
    assert!(error.contains("onnect"), "{error}");
    assert!(!error.contains(&port.to_string()), "{error}");
    assert!(!error.contains("in-the-query"), "{error}");
}

/// The receiver is down (nothing listens) while several alerts are raised
/// and retried, then comes back on the same address before the schedule
/// ends: each alert reaches it exactly once, with the attempts it took.
#[tokio::test]
async fn a_receiver_that_comes_back_gets_each_alert_once() {
    let store = Store::in_memory().await.unwrap();
    let p = project(&store).await;
    let address = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    configure(&store, &p, None, &format!("http://{address}/hook")).await;
    let worker = hks_alerting::spawn(store.clone(), fast()).unwrap();
    let alerter = Alerter::new(store.clone());
    for run in ["run-a", "run-b", "run-c"] {
        alerter
            .run_finished(&p, "report", run, Outcome::Failed, None, &[])
            .await
            .unwrap();
    }
    // Down until every delivery is on its second attempt (the first was
    // refused; attempts are counted when claimed).
    wait_for(&store, &p, |h| {
        h.len() == 3
            && h.iter().all(|r| {
                r.delivery
                    .as_ref()
                    .is_some_and(|d| d.attempts >= 2 && d.state == DeliveryState::Pending)
            })
    })
    .await;
    let receiver = Receiver::serve(tokio::net::TcpListener::bind(address).await.unwrap(), &[]);
    let history = wait_for(&store, &p, all_in(DeliveryState::Delivered)).await;
    // Later polls send nothing more.
    tokio::time::sleep(Duration::from_millis(500)).await;
    worker.abort();
    let mut keys: Vec<String> = receiver
        .requests()
        .iter()
        .map(|(_, b)| b["key"].as_str().unwrap().to_owned())
        .collect();
    keys.sort();
    assert_eq!(keys, ["failed:run-a", "failed:run-b", "failed:run-c"]);
    for r in &history {
        let d = r.delivery.as_ref().unwrap();
        assert!(d.attempts >= 2 && d.attempts <= MAX_ATTEMPTS, "{d:?}");
        assert_eq!(d.last_status, Some(200));
    }
}

#[tokio::test]
async fn a_restart_delivers_what_was_pending_and_nothing_twice() {
    let dir = std::env::temp_dir().join(format!(
        "hks-alerting-test-{}-{}",
        std::process::id(),
        Timestamp::now().as_nanosecond()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("hks.db");
    let key = EncryptionKey::generate().unwrap();
    let key_text = key.to_base64();
    let receiver = Receiver::start(&[]).await;
    let p;
    {
        let store = Store::open(&path, key).await.unwrap();
        p = project(&store).await;
        configure(&store, &p, None, &receiver.url).await;
        let alerter = Alerter::new(store.clone());
        let failed = |run: &'static str| {
            let alerter = alerter.clone();
            let p = p.clone();
            async move {
                alerter
                    .run_finished(&p, "report", run, Outcome::Failed, None, &[])
                    .await
                    .unwrap()
            }
        };
        failed("run-a").await;
        let worker = Worker::new(store.clone(), fast()).unwrap();
        assert_eq!(worker.deliver_due().await.unwrap(), 1);
        // B is claimed for its first attempt, and HKS dies before sending it.
        failed("run-b").await;
        let now = Timestamp::now();
        let claimed = store
            .claim_due_deliveries(now, now + SignedDuration::from_millis(300), 10)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        // C is raised and never picked up.
        failed("run-c").await;
    }
    let store = Store::open(
        &path,
        EncryptionKey::from_base64(key_text.expose_secret()).unwrap(),
    )
    .await
    .unwrap();
    let worker = hks_alerting::spawn(store.clone(), fast()).unwrap();
    let history = wait_for(&store, &p, all_in(DeliveryState::Delivered)).await;
    worker.abort();
    let requests = receiver.requests();
    let keys: Vec<&str> = requests
        .iter()
        .map(|(_, b)| b["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys.len(), 3, "{keys:?}");
    for key in ["failed:run-a", "failed:run-b", "failed:run-c"] {
        assert_eq!(keys.iter().filter(|k| **k == key).count(), 1, "{key}");
    }
    let b = history
        .iter()
        .find(|r| r.alert.key == "failed:run-b")
        .unwrap();
    assert_eq!(b.delivery.as_ref().unwrap().attempts, 2);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn the_secret_is_never_stored_in_plaintext() {
    let dir = std::env::temp_dir().join(format!(
        "hks-alerting-secret-{}-{}",
        std::process::id(),
        Timestamp::now().as_nanosecond()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("hks.db");
    let store = Store::open(&path, EncryptionKey::generate().unwrap())
        .await
        .unwrap();
    let p = project(&store).await;
    configure(&store, &p, None, "http://127.0.0.1:9/hook").await;
    configure(&store, &p, Some("report"), "http://127.0.0.1:9/hook").await;
    Alerter::new(store.clone())
        .run_finished(&p, "report", "report-1", Outcome::Failed, None, &[])
        .await
        .unwrap();
    let mut found = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()));
        found += usize::from(
            bytes
                .windows(b"failed:report-1".len())
                .any(|w| w == b"failed:report-1"),
        );
    }
    // The alert itself is there in the clear, so the search looked at the right bytes.
    assert!(found > 0);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_test_delivery_reports_how_the_receiver_answered() {
    let store = Store::in_memory().await.unwrap();
    let p = project(&store).await;
    let alerter = Alerter::new(store.clone()).with_targets(loopback());
    assert!(matches!(
        alerter.send_test(&p, "shop", None).await,
        Err(hks_alerting::AlertError::NoDestination)
    ));
    let receiver = Receiver::start(&[503]).await;
    configure(&store, &p, None, &receiver.url).await;
    let refused = alerter.send_test(&p, "shop", Some("report")).await.unwrap();
    assert!(!refused.delivered);
    assert_eq!(refused.status, Some(503));
    let ok = alerter.send_test(&p, "shop", None).await.unwrap();
    assert!(ok.delivered);
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].1["kind"], "test");
    assert_eq!(requests[0].1["link"], "/projects/shop/cronjobs/report");
    assert_eq!(requests[1].1["link"], "/projects/shop");
    // Nothing is stored for a test.
    assert!(
        store
            .alert_history(&p, None, 10, 0)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Two workers (as two HKS processes: each its own connection to the same
/// database file) deliver the same due deliveries at the same time: each
/// attempt goes out once, so a delivery id reaches the receiver once per
/// attempt the store recorded (once, unless the receiver refused it), and
/// nothing arrives again after the claims' lease.
#[tokio::test]
async fn two_workers_at_once_send_each_attempt_once() {
    let dir = std::env::temp_dir().join(format!(
        "hks-alerting-two-{}-{}",
        std::process::id(),
        Timestamp::now().as_nanosecond()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("hks.db");
    let key = EncryptionKey::generate().unwrap();
    let key_text = key.to_base64();
    let open = async || {
        Store::open(
            &path,
            EncryptionKey::from_base64(key_text.expose_secret()).unwrap(),
        )
        .await
        .unwrap()
    };
    let store = Store::open(&path, key).await.unwrap();
    // The first 6 requests are refused (retried later, same id); each
    // answer takes 50 ms, so both workers have requests in flight at once.
    let receiver = Receiver::start(&[500; 6]).await;
    receiver.seen.lock().unwrap().delay = Duration::from_millis(50);
    let p = project(&store).await;
    configure(&store, &p, None, &receiver.url).await;
    let alerter = Alerter::new(store.clone());
    const ALERTS: usize = 40;
    for i in 0..ALERTS {
        let raised = alerter
            .run_finished(
                &p,
                "report",
                &format!("run-{i}"),
                Outcome::Failed,
                None,
                &[],
            )
            .await
            .unwrap();
        assert_eq!(raised.len(), 1);
    }

    let settings = Settings {
        concurrency: 4,
        ..fast()
    };
    let lease = settings.timeout + settings.retry_base;
    let workers = [
        Worker::new(open().await, settings.clone()).unwrap(),
        Worker::new(open().await, settings).unwrap(),
    ];
    // Both poll until everything is delivered, counting the attempts each made.
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let run = |worker: Worker| {
        let done = done.clone();
        tokio::spawn(async move {
            let mut made = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                made += worker.deliver_due().await.unwrap();
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            made
        })
    };
    let [one, two] = workers;
    let (one, two) = (run(one), run(two));
    let history = {
        let mut history = vec![];
        for _ in 0..6000 {
            history = store.alert_history(&p, None, 100, 0).await.unwrap();
            if history.len() == ALERTS && all_in(DeliveryState::Delivered)(&history) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        history
    };
    assert!(
        all_in(DeliveryState::Delivered)(&history),
        "not all delivered after 2 minutes: {history:#?}"
    );
    // Keep both workers polling for twice the lease: an attempt claimed
    // twice, or re-sent when its claim ran out, would arrive now.
    tokio::time::sleep(2 * lease).await;
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let (one, two) = (one.await.unwrap(), two.await.unwrap());

    let requests = receiver.requests();
    assert_eq!(receiver.bad_signatures(), 0);
    let attempts: u32 = history
        .iter()
        .map(|r| r.delivery.as_ref().unwrap().attempts)
        .sum();
    assert_eq!(
        requests.len(),
        ALERTS + 6,
        "every alert once, the 6 refused ones once more"
    );
    assert_eq!(attempts as usize, requests.len(), "{history:#?}");
    assert_eq!(
        one + two,
        requests.len(),
        "attempts made by the two workers"
    );
    assert!(
        one > 0 && two > 0,
        "both workers delivered: {one} and {two}"
    );
    for record in &history {
        let d = record.delivery.as_ref().unwrap();
        let sent = requests.iter().filter(|(id, _)| *id == d.id).count();
        assert_eq!(sent, d.attempts as usize, "{record:?}");
        assert!(
            requests
                .iter()
                .filter(|(id, _)| *id == d.id)
                .all(|(_, body)| body["key"] == record.alert.key.as_str()),
            "{record:?}"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}
