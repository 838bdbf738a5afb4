//! Replicas sharing the background work (issue 14): two HKS replicas, each
//! an `App` on its own `Store` over one PostgreSQL database
//! (`hks_testkit::postgres`), sharing one fake cluster, with their tenant
//! ownership, recorder, reconciler, retirement and delivery worker running
//! as `hks serve` runs them. They split the tenants, never own one at the
//! same instant, and when one is killed (its tasks aborted, which ends its
//! lock connection) the other takes its tenants over within the ownership
//! interval, recording every run once, releasing every run and delivering
//! every alert once. On SQLite the one process owns every tenant.

#[allow(
    dead_code,
    reason = "this binary uses the harness's waits and settings only"
)]
mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use common::{CEILING, TestApp, minutes_ago, wait};
use hks_app::App;
use hks_app::ownership::{self, INSTALLATION, Ownership};
use hks_history::alerts::AlertRules;
use hks_kube::RunObject;
use hks_kube::fake::FakeGateway;
use hks_store::{
    Database, DeliveryState, DestinationUpdate, EncryptionKey, KeyRing, Store, WebhookUpdate,
};
use jiff::SignedDuration;
use secrecy::{ExposeSecret, SecretString};

/// How often ownership is balanced in these tests: the takeover bound.
const INTERVAL: Duration = Duration::from_millis(250);

/// One database and one fake cluster, with HKS's API over a store of its
/// own (as any replica's API would be) for seeding.
struct Installation {
    url: String,
    key: SecretString,
    api: TestApp,
    fake: Arc<FakeGateway>,
}

impl Installation {
    /// `None` after a visible skip (PostgreSQL missing, not required).
    async fn new() -> Option<Self> {
        let db = hks_testkit::postgres::database()?;
        let url = db.url();
        let key: SecretString = EncryptionKey::generate()
            .unwrap()
            .to_base64()
            .expose_secret()
            .to_owned()
            .into();
        let store = connect(&url, &key).await;
        let api = TestApp::build(hks_testkit::app::Setup {
            store: Some(store),
            ..hks_testkit::app::Setup::default()
        })
        .await;
        let fake = api.fake.clone();
        Some(Self {
            url,
            key,
            api,
            fake,
        })
    }

    /// A replica named `name`; with `loops`, its background work runs too
    /// (otherwise only its ownership passes).
    async fn replica(&self, name: &str, loops: bool) -> Replica {
        let store = connect(&self.url, &self.key).await;
        let ownership = Ownership::locks(name);
        let mut tasks = vec![ownership.spawn(
            store.clone(),
            ownership::Settings {
                interval: INTERVAL,
                pass_timeout: Duration::from_secs(3),
                cooldown: 3,
            },
        )];
        let app = App::new(store.clone(), self.fake.clone())
            .with_webhook_targets(hks_testkit::app::loopback())
            .with_ownership(ownership.clone());
        if loops {
            tasks.push(hks_controller::recorder::spawn(
                app.clone(),
                common::settings(),
            ));
            tasks.push(hks_controller::reconciler::spawn(
                app.clone(),
                Duration::from_millis(500),
                hks_controller::Isolation::default(),
            ));
            tasks.push(hks_controller::retirement::spawn(
                app.clone(),
                Duration::from_millis(500),
            ));
            tasks.push(
                hks_alerting::Worker::new(
                    store.clone(),
                    hks_alerting::Settings {
                        poll_interval: Duration::from_millis(50),
                        retry_base: Duration::from_millis(100),
                        timeout: Duration::from_secs(2),
                        targets: hks_testkit::app::loopback(),
                        ..hks_alerting::Settings::default()
                    },
                )
                .unwrap()
                .with_ownership(ownership.clone())
                .spawn(),
            );
        }
        Replica {
            ownership,
            _app: app,
            tasks,
        }
    }
}

async fn connect(url: &str, key: &SecretString) -> Store {
    let keys = KeyRing::new(
        EncryptionKey::from_base64(key.expose_secret()).unwrap(),
        vec![],
    );
    Store::connect(&Database::parse(url), keys).await.unwrap()
}

struct Replica {
    ownership: Ownership,
    _app: App,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Replica {
    /// The tenants (not the installation's own work) it owns now.
    fn tenants(&self) -> BTreeSet<String> {
        self.ownership
            .owned()
            .unwrap()
            .into_iter()
            .filter(|t| t != INSTALLATION)
            .collect()
    }

    /// Kills it as a crash would: every task aborted, so its lock
    /// connection (owned by the ownership task) is dropped and closed.
    async fn kill(mut self) {
        for t in &self.tasks {
            t.abort();
        }
        for t in std::mem::take(&mut self.tasks) {
            let _ = t.await;
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_split_ten_tenants_and_never_own_one_at_once() {
    let Some(hks) = Installation::new().await else {
        return;
    };
    let mut tenants = BTreeSet::new();
    for i in 0..10 {
        tenants.insert(
            hks.api
                .tenant_with_project(&format!("t{i}"), "shop")
                .await
                .tenant,
        );
    }
    // One replica alone takes every tenant.
    let a = hks.replica("replica-a", false).await;
    wait(
        "the first replica to own every tenant",
        CEILING,
        async || (a.tenants() == tenants).then_some(()),
    )
    .await;
    // A second one joins: they split the tenants, sampled every
    // millisecond while they do, never both owning one.
    let b = hks.replica("replica-b", false).await;
    let start = Instant::now();
    let mut samples = 0u64;
    let settled = loop {
        let (ta, tb) = (a.tenants(), b.tenants());
        samples += 1;
        let both: Vec<&String> = ta.intersection(&tb).collect();
        assert!(both.is_empty(), "both replicas own {both:?}");
        let all: BTreeSet<String> = ta.union(&tb).cloned().collect();
        if all == tenants && (4..=6).contains(&ta.len()) && (4..=6).contains(&tb.len()) {
            break (ta.len(), tb.len());
        }
        assert!(start.elapsed() < CEILING, "no split: {ta:?} {tb:?}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    // Stable: a few more passes change nothing, still never both.
    let until = Instant::now() + INTERVAL * 6;
    while Instant::now() < until {
        let (ta, tb) = (a.tenants(), b.tenants());
        samples += 1;
        assert!(ta.is_disjoint(&tb));
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let (ta, tb) = (a.tenants(), b.tenants());
    assert_eq!((ta.len(), tb.len()), (5, 5), "{ta:?} {tb:?}");
    // Exactly one of them does the installation's own work.
    assert!(a.ownership.owns(INSTALLATION) != b.ownership.owns(INSTALLATION));
    assert_eq!((a.ownership.replicas(), b.ownership.replicas()), (2, 2));
    eprintln!(
        "split {}/{} after {:?} ({samples} samples, never both owners)",
        settled.0,
        settled.1,
        start.elapsed()
    );

    // Tenants added are taken, deleted ones given up, by the next passes.
    for i in 10..12 {
        tenants.insert(
            hks.api
                .tenant_with_project(&format!("t{i}"), "shop")
                .await
                .tenant,
        );
    }
    let gone = tenants.pop_first().unwrap();
    hks.api.state.store().delete_tenant(&gone).await.unwrap();
    wait(
        "the added tenants owned, the deleted one by neither",
        CEILING,
        async || {
            let (ta, tb) = (a.tenants(), b.tenants());
            assert!(ta.is_disjoint(&tb));
            let all: BTreeSet<String> = ta.union(&tb).cloned().collect();
            (all == tenants).then_some(())
        },
    )
    .await;

    // The second one dies: the first takes everything back.
    b.kill().await;
    let killed = Instant::now();
    wait("the survivor to own every tenant", CEILING, async || {
        (a.tenants() == tenants && a.ownership.owns(INSTALLATION)).then_some(())
    })
    .await;
    eprintln!(
        "took every tenant over {:?} after the kill",
        killed.elapsed()
    );
}

/// A webhook receiver on 127.0.0.1 that records each request's delivery id.
#[derive(Clone, Default)]
struct Receiver {
    ids: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    async fn start() -> (Self, String) {
        let me = Self::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(hook))
            .with_state(me.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (me, url)
    }

    fn ids(&self) -> Vec<String> {
        self.ids.lock().unwrap().clone()
    }
}

async fn hook(State(me): State<Receiver>, headers: HeaderMap) -> StatusCode {
    let id = headers
        .get(hks_history::webhook::DELIVERY_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    me.ids.lock().unwrap().push(id);
    StatusCode::OK
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_replicas_tenant_is_taken_over_and_its_runs_recorded_released_and_alerted_once() {
    let Some(hks) = Installation::new().await else {
        return;
    };
    let (receiver, url) = Receiver::start().await;
    let store = hks.api.state.store().clone();
    let mut projects = Vec::new();
    for i in 0..4 {
        let p = hks.api.tenant_with_project(&format!("t{i}"), "shop").await;
        let spec = serde_json::json!({"schedule": "0 3 * * *", "image": "hks.local/busybox:1",
            "command": {"argv": ["/bin/report"]}});
        hks.api
            .cronjob(
                &p.token,
                &p.name,
                serde_json::json!({"name": "report", "spec": spec}),
            )
            .await;
        store
            .put_alert_settings(
                &p.id,
                Some("report"),
                &AlertRules {
                    on_failure: true,
                    ..AlertRules::default()
                },
                Some(&DestinationUpdate::Webhook(WebhookUpdate {
                    url: Some(url.clone()),
                    secret: Some("a-webhook-secret-0123456789".to_owned().into()),
                    ..WebhookUpdate::default()
                })),
            )
            .await
            .unwrap();
        projects.push(p);
    }
    let a = hks.replica("replica-a", true).await;
    let b = hks.replica("replica-b", true).await;
    wait("the replicas to split the tenants", CEILING, async || {
        let (ta, tb) = (a.tenants(), b.tenants());
        (ta.len() + tb.len() == 4 && !ta.is_empty() && !tb.is_empty()).then_some(())
    })
    .await;
    // The victim: the replica that owns the first tenant.
    let p = &projects[0];
    let (victim, survivor) = if a.ownership.owns(&p.tenant) {
        (a, b)
    } else {
        (b, a)
    };
    let (t, ns) = (p.tenant.as_str(), p.namespace.as_str());

    // Six runs start; the victim's recorder holds their Jobs.
    let mut jobs = Vec::new();
    for i in 0..6 {
        let at = minutes_ago(10 - i);
        let job = hks.fake.schedule_run(t, ns, "report", at);
        let pod = hks.fake.start_attempt(t, ns, &job, at);
        jobs.push((job, pod, at));
    }
    wait(
        "the victim's recorder to hold every Job",
        CEILING,
        async || {
            jobs.iter()
                .all(|(job, _, _)| hks.fake.has_finalizer(t, ns, RunObject::Job, job) == Some(true))
                .then_some(())
        },
    )
    .await;
    // Three fail just before the victim dies (it may be recording them as
    // it dies), three after.
    let fail = |(job, pod, at): &(String, String, jiff::Timestamp)| {
        let end = *at + SignedDuration::from_secs(10);
        hks.fake.end_attempt(t, ns, pod, 1, "boom\n", end);
        hks.fake.end_run(t, ns, job, end);
    };
    for j in &jobs[..3] {
        fail(j);
    }
    victim.kill().await;
    let killed = Instant::now();
    for j in &jobs[3..] {
        fail(j);
    }
    let took = wait(
        "the survivor to take the tenant over",
        CEILING,
        async || survivor.ownership.owns(t).then(|| killed.elapsed()),
    )
    .await;
    eprintln!("takeover after {took:?} (ownership interval {INTERVAL:?})");
    assert!(
        took < INTERVAL * 8,
        "the takeover took {took:?}, over the bound"
    );
    assert_eq!(survivor.tenants().len(), 4);

    // Every run recorded as failed, once, and released.
    wait("every run recorded and released", CEILING, async || {
        for (job, pod, _) in &jobs {
            let run = store.run(&p.id, "report", job).await.unwrap()?;
            (run.result == hks_core::run::RunResult::Failed).then_some(())?;
            (hks.fake.has_finalizer(t, ns, RunObject::Job, job) == Some(false)).then_some(())?;
            (hks.fake.has_finalizer(t, ns, RunObject::Pod, pod) == Some(false)).then_some(())?;
        }
        Some(())
    })
    .await;
    let runs = store.runs(&p.id, "report", 100).await.unwrap();
    let names: BTreeSet<&str> = runs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!((runs.len(), names.len()), (6, 6), "{names:?}");
    for (job, pod, _) in &jobs {
        let logs = store.run_logs(&p.id, "report", job).await.unwrap();
        assert_eq!(logs.len(), 1, "{job}'s log archived once");
        assert_eq!(&logs[0].pod, pod);
    }

    // One alert per failed run, each delivered, each received under one
    // delivery id (a request cut short by the kill is sent again with the
    // same id, for the receiver to drop).
    let history = wait("every alert delivered", CEILING, async || {
        let h = store.alert_history(&p.id, None, 100, 0).await.unwrap();
        (h.len() == 6
            && h.iter().all(|r| {
                r.delivery
                    .as_ref()
                    .is_some_and(|d| d.state == DeliveryState::Delivered)
            }))
        .then_some(h)
    })
    .await;
    let keys: BTreeSet<&str> = history.iter().map(|r| r.alert.key.as_str()).collect();
    assert_eq!(keys.len(), 6);
    let delivery_ids: BTreeSet<String> = history
        .iter()
        .filter_map(|r| r.delivery.as_ref().map(|d| d.id.clone()))
        .collect();
    let received = receiver.ids();
    let mut per_id: HashMap<&str, usize> = HashMap::new();
    for id in &received {
        *per_id.entry(id.as_str()).or_default() += 1;
    }
    let distinct: BTreeSet<String> = per_id.keys().map(|s| (*s).to_owned()).collect();
    assert_eq!(distinct, delivery_ids, "each alert received under its id");
    eprintln!(
        "{} alerts, {} requests received ({} distinct delivery ids)",
        history.len(),
        received.len(),
        distinct.len()
    );
}

#[tokio::test]
async fn on_sqlite_one_replica_owns_every_tenant() {
    let api = TestApp::new().await;
    let store = api.state.store().clone();
    let ownership = Ownership::for_store(&store, "solo");
    assert!(ownership.owns_all());
    // Its passes have nothing to do: the task ends at once.
    ownership
        .spawn(store.clone(), ownership::Settings::default())
        .await
        .unwrap();
    for i in 0..3 {
        let p = api.tenant_with_project(&format!("t{i}"), "shop").await;
        assert!(ownership.owns(&p.tenant));
        assert!(ownership.claim(&p.tenant).is_some());
    }
    assert!(ownership.owns(INSTALLATION));
    assert_eq!(ownership.owned(), None);
    // What `hks serve` builds by default owns every tenant too.
    assert!(api.state.app().ownership().owns_all());
}
