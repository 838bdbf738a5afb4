//! Alerts by email end to end: the alerter over a real store, the worker
//! sending through lettre over TCP to an SMTP receiver on 127.0.0.1
//! (`hks_testkit::smtp`), which records every message it takes.

use std::time::Duration;

use hks_alerting::{Alerter, Email, NO_SMTP, Settings, SmtpSettings, TargetPolicy, Worker};
use hks_history::alerts::{AlertRules, Outcome};
use hks_history::webhook::MAX_ATTEMPTS;
use hks_store::{AlertRecord, DeliveryState, DestinationKind, DestinationUpdate, Store};
use hks_testkit::smtp::{Answer, Message, Receiver};

const FROM: &str = "alerts@hks.example.com";
const TO: [&str; 2] = ["ops@example.com", "oncall@example.org"];

fn email(receiver: &Receiver) -> Email {
    Email::new(
        &SmtpSettings {
            url: receiver.url(),
            from: format!("HKS <{FROM}>"),
            username: None,
            password: None,
        },
        Duration::from_secs(5),
    )
    .unwrap()
}

fn fast(email: Option<Email>) -> Settings {
    Settings {
        poll_interval: Duration::from_millis(20),
        retry_base: Duration::from_millis(40),
        timeout: Duration::from_secs(5),
        concurrency: 8,
        targets: TargetPolicy::default(),
        email,
    }
}

/// A store with project `shop` whose default sends failures by email.
async fn project() -> (Store, String) {
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
                ..AlertRules::default()
            },
            Some(&DestinationUpdate::Email {
                to: TO.iter().map(|s| s.to_string()).collect(),
            }),
        )
        .await
        .unwrap();
    (store, p)
}

async fn fail(store: &Store, p: &str, run: &str) -> usize {
    Alerter::new(store.clone())
        .run_finished(
            p,
            "report",
            run,
            Outcome::Failed,
            Some("BackoffLimitExceeded"),
            &[],
        )
        .await
        .unwrap()
        .len()
}

/// Waits until `done` holds for the project's alert history (20 s at most).
async fn wait_for(
    store: &Store,
    p: &str,
    done: impl Fn(&[AlertRecord]) -> bool,
) -> Vec<AlertRecord> {
    for _ in 0..1000 {
        let h = store.alert_history(p, None, 100, 0).await.unwrap();
        if done(&h) {
            return h;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "timed out: {:?}",
        store.alert_history(p, None, 100, 0).await.unwrap()
    );
}

fn all_in(state: DeliveryState) -> impl Fn(&[AlertRecord]) -> bool {
    move |h| {
        !h.is_empty()
            && h.iter()
                .all(|r| r.delivery.as_ref().is_some_and(|d| d.state == state))
    }
}

fn message_id(m: &Message) -> String {
    m.header("Message-ID").unwrap()
}

#[tokio::test]
async fn one_message_per_alert_with_its_subject_body_and_message_id() {
    let (store, p) = project().await;
    let receiver = Receiver::start(&[]).await;
    assert_eq!(fail(&store, &p, "report-1").await, 1);
    // The same failure told again (a duplicate watch event, a restart).
    assert_eq!(fail(&store, &p, "report-1").await, 0);
    let worker = Worker::new(store.clone(), fast(Some(email(&receiver)))).unwrap();
    assert_eq!(worker.deliver_due().await.unwrap(), 1);
    // Delivered: nothing is sent again.
    assert_eq!(worker.deliver_due().await.unwrap(), 0);
    assert_eq!(fail(&store, &p, "report-1").await, 0);
    assert_eq!(worker.deliver_due().await.unwrap(), 0);

    let messages = receiver.messages();
    assert_eq!(messages.len(), 1, "{messages:#?}");
    let m = &messages[0];
    assert_eq!(m.from, FROM);
    assert_eq!(m.to, TO);
    assert_eq!(
        m.header("Subject").as_deref(),
        Some("[HKS] shop/report: Run report-1 failed (BackoffLimitExceeded)")
    );
    assert_eq!(
        m.header("To").as_deref(),
        Some("ops@example.com, oncall@example.org")
    );
    assert_eq!(
        m.header("Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    let history = store.alert_history(&p, None, 10, 0).await.unwrap();
    let d = history[0].delivery.as_ref().unwrap();
    assert_eq!(
        (d.kind, d.state, d.attempts, d.last_status),
        (
            DestinationKind::Email,
            DeliveryState::Delivered,
            1,
            Some(250)
        )
    );
    // The Message-ID is the delivery's: the same on every attempt of it.
    assert_eq!(message_id(m), format!("<{}@hks.example.com>", d.id));
    assert_eq!(m.header("X-HKS-Delivery"), Some(d.id.clone()));
    let body = m.body();
    assert!(
        body.starts_with("Run report-1 failed (BackoffLimitExceeded)\r\n"),
        "{body}"
    );
    for line in [
        "CronJob: report",
        "Run:     report-1",
        "Alert:   failed:report-1",
        "Console: /projects/shop/cronjobs/report",
    ] {
        assert!(body.contains(line), "{line} in {body}");
    }

    // Another alert is another message, with its own Message-ID.
    assert_eq!(fail(&store, &p, "report-2").await, 1);
    assert_eq!(worker.deliver_due().await.unwrap(), 1);
    let messages = receiver.messages();
    assert_eq!(messages.len(), 2);
    assert_ne!(message_id(&messages[0]), message_id(&messages[1]));
}

/// A server that refuses a message (451, try later) gets it again on the
/// next attempt, once, and no more after it took it.
#[tokio::test]
async fn a_refused_message_is_retried_and_sent_once_it_is_taken() {
    let (store, p) = project().await;
    let receiver = Receiver::start(&[Answer::Refuse(451), Answer::Refuse(554)]).await;
    let worker = hks_alerting::spawn(store.clone(), fast(Some(email(&receiver)))).unwrap();
    fail(&store, &p, "report-1").await;
    let history = wait_for(&store, &p, all_in(DeliveryState::Delivered)).await;
    let d = history[0].delivery.as_ref().unwrap();
    assert_eq!((d.attempts, d.last_status), (3, Some(250)));
    // Later polls send nothing more.
    tokio::time::sleep(Duration::from_millis(400)).await;
    worker.abort();
    assert_eq!(receiver.messages().len(), 1);
    assert_eq!(receiver.connections(), 3);
}

/// The server takes the message and the connection breaks before its
/// answer: HKS cannot know, and sends it again. SMTP has no idempotency
/// key, so the recipients get two copies; they are the same message, with
/// the same Message-ID, which mail systems can tell as one.
#[tokio::test]
async fn an_uncertain_send_is_sent_again_as_the_same_message() {
    let (store, p) = project().await;
    let receiver = Receiver::start(&[Answer::TakeAndHangUp]).await;
    let worker = hks_alerting::spawn(store.clone(), fast(Some(email(&receiver)))).unwrap();
    fail(&store, &p, "report-1").await;
    let history = wait_for(&store, &p, all_in(DeliveryState::Delivered)).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    worker.abort();
    let d = history[0].delivery.as_ref().unwrap();
    assert_eq!(d.attempts, 2);
    let messages = receiver.messages();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0], messages[1], "the same bytes both times");
    assert_eq!(
        message_id(&messages[0]),
        format!("<{}@hks.example.com>", d.id)
    );
}

/// An installation that names no SMTP server (any more) fails email
/// deliveries after the last attempt, saying why.
#[tokio::test]
async fn without_an_smtp_server_an_email_delivery_fails_saying_so() {
    let (store, p) = project().await;
    let worker = hks_alerting::spawn(store.clone(), fast(None)).unwrap();
    fail(&store, &p, "report-1").await;
    let history = wait_for(&store, &p, all_in(DeliveryState::Failed)).await;
    worker.abort();
    let d = history[0].delivery.as_ref().unwrap();
    assert_eq!(d.attempts, MAX_ATTEMPTS);
    assert_eq!(d.last_error.as_deref(), Some(NO_SMTP));
}

/// A server that does not listen: retried, then given up, in fixed words.
#[tokio::test]
async fn an_unreachable_smtp_server_is_retried_then_given_up() {
    let (store, p) = project().await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let email = Email::new(
        &SmtpSettings {
            url: format!("smtp://127.0.0.1:{port}"),
            from: FROM.into(),
            username: None,
            password: None,
        },
        Duration::from_secs(2),
    )
    .unwrap();
    let worker = hks_alerting::spawn(store.clone(), fast(Some(email))).unwrap();
    fail(&store, &p, "report-1").await;
    let history = wait_for(&store, &p, all_in(DeliveryState::Failed)).await;
    worker.abort();
    let d = history[0].delivery.as_ref().unwrap();
    assert_eq!((d.attempts, d.last_status), (MAX_ATTEMPTS, None));
    assert_eq!(
        d.last_error.as_deref(),
        Some("could not reach the installation's SMTP server")
    );
}

#[tokio::test]
async fn a_test_email_is_sent_now_and_nothing_is_stored() {
    let (store, p) = project().await;
    let receiver = Receiver::start(&[Answer::Refuse(550)]).await;
    let alerter = Alerter::new(store.clone()).with_email(Some(email(&receiver)));
    let refused = alerter.send_test(&p, "shop", None).await.unwrap();
    assert!(!refused.delivered);
    assert_eq!(refused.status, Some(550));
    assert_eq!(
        refused.error.as_deref(),
        Some("the SMTP server answered 550")
    );
    let sent = alerter.send_test(&p, "shop", Some("report")).await.unwrap();
    assert!(sent.delivered, "{sent:?}");
    assert_eq!(sent.status, Some(250));
    let messages = receiver.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(
        messages[0].header("Subject").as_deref(),
        Some("[HKS] shop/report: A test delivery from HKS: this receiver gets the alerts.")
    );
    assert_eq!(
        message_id(&messages[0]),
        format!("<{}@hks.example.com>", sent.delivery_id)
    );
    assert!(
        store
            .alert_history(&p, None, 10, 0)
            .await
            .unwrap()
            .is_empty()
    );
    // Without an SMTP server, a test says so.
    let none = Alerter::new(store.clone())
        .send_test(&p, "shop", None)
        .await
        .unwrap();
    assert_eq!(none.error.as_deref(), Some(NO_SMTP));
}
