//! Many writers on one database, through two `Store`s as two HKS processes
//! (replicas) would, on SQLite (one file) and on PostgreSQL (one database):
//! transactions that read and then write must wait for each other, never
//! fail with SQLITE_BUSY ("database is locked"), and what the store
//! promises once (an alert raised once, a final run never reopened, a name
//! taken once, a delivery claimed by one replica, a counter) holds with
//! both replicas writing at once.

use hks_core::run::{Run, RunResult, Trigger};
use hks_core::tenant::ClusterConnection;
use hks_history::alerts::{Alert, AlertKind, AlertRules};
use hks_store::{
    Database, Destination, EncryptionKey, KeyRing, Store, StoreError, Webhook, WebhookUpdate,
};
use jiff::Timestamp;
use secrecy::ExposeSecret;

const TASKS: usize = 16;
const OPERATIONS: usize = 50;

fn run(name: &str, result: RunResult) -> Run {
    Run {
        name: name.into(),
        uid: None,
        trigger: Trigger::Scheduled,
        triggered_by: None,
        scheduled_at: None,
        created_at: Some("2025-01-01T00:00:00Z".parse().unwrap()),
        started_at: None,
        finished_at: None,
        duration_seconds: None,
        result,
        reason: None,
        message: None,
        exit_code: None,
        attempts: vec![],
        start_delay_seconds: None,
        start_delay: None,
        in_cluster: true,
        cancelled_by: None,
        overrides: None,
        rerun_of: None,
        backfilled_by: None,
    }
}

/// A database for one test, and two stores on it: two replicas.
struct Replicas {
    first: Store,
    second: Store,
    /// The SQLite file's directory, removed at the end.
    dir: Option<std::path::PathBuf>,
}

impl Replicas {
    /// `None` after a visible skip (PostgreSQL missing, not required).
    async fn new(postgres: bool) -> Option<Self> {
        let (database, dir) = if postgres {
            let db = hks_testkit::postgres::database()?;
            (Database::parse(&db.url()), None)
        } else {
            let dir = std::env::temp_dir().join(format!(
                "hks-store-concurrency-{}",
                hks_store::new_token().unwrap().expose_secret()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            (Database::Sqlite(dir.join("hks.db")), Some(dir))
        };
        let key = EncryptionKey::generate().unwrap().to_base64();
        let keys = || {
            KeyRing::new(
                EncryptionKey::from_base64(key.expose_secret()).unwrap(),
                vec![],
            )
        };
        // Both at once, as replicas that start together: the migrations
        // run once.
        let (first, second) = tokio::join!(
            Store::connect(&database, keys()),
            Store::connect(&database, keys())
        );
        Some(Self {
            first: first.unwrap(),
            second: second.unwrap(),
            dir,
        })
    }

    /// The first replica for even tasks, the second for odd ones.
    fn of(&self, task: usize) -> Store {
        if task.is_multiple_of(2) {
            self.first.clone()
        } else {
            self.second.clone()
        }
    }

    async fn close(self) {
        self.first.close().await;
        self.second.close().await;
        if let Some(dir) = self.dir {
            std::fs::remove_dir_all(dir).unwrap();
        }
    }
}

/// Runs a test on both backends: `name::sqlite` and `name::postgres`.
macro_rules! backends {
    ($(#[$attr:meta])* async fn $name:ident($r:ident) $body:block) => {
        $(#[$attr])*
        mod $name {
            use super::*;

            async fn body($r: &Replicas) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let r = Replicas::new(false).await.unwrap();
                body(&r).await;
                r.close().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(r) = Replicas::new(true).await {
                    body(&r).await;
                    r.close().await;
                }
            }
        }
    };
}

fn cluster() -> ClusterConnection {
    serde_json::from_value(
        serde_json::json!({"kind": "kubeconfig", "kubeconfig": "apiVersion: v1"}),
    )
    .unwrap()
}

/// Waits for every task; panics with the errors of those that failed.
async fn all_ok<T: 'static>(mut tasks: tokio::task::JoinSet<Result<T, StoreError>>) -> Vec<T> {
    let mut failures = Vec::new();
    let mut done = Vec::new();
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            Ok(v) => done.push(v),
            Err(e) => failures.push(format!("{e}: {:?}", std::error::Error::source(&e))),
        }
    }
    assert!(failures.is_empty(), "writers failed: {failures:?}");
    done
}

backends! {
async fn concurrent_read_then_write_transactions_never_fail_with_busy(r) {
    let tenant = r.first.create_tenant("acme", &cluster()).await.unwrap();
    let project = r.first.create_project(&tenant.id, "shop").await.unwrap();
    r.first
        .put_alert_settings(
            &project.id,
            None,
            &AlertRules::default(),
            Some(&hks_store::DestinationUpdate::Webhook(WebhookUpdate {
                url: Some("https://hooks.example.com/hks".into()),
                secret: Some("0123456789abcdef".to_owned().into()),
                ..Default::default()
            })),
        )
        .await
        .unwrap();

    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..TASKS {
        let store = r.of(task);
        let project = project.id.clone();
        tasks.spawn(async move {
            for i in 0..OPERATIONS {
                // Each reads the row it is about to write: a run's record,
                // then the settings whose secret is kept.
                let name = format!("job-{task}-{i}");
                store
                    .record_run(&project, "job", &run(&name, RunResult::Running))
                    .await?;
                store
                    .record_run(&project, "job", &run(&name, RunResult::Succeeded))
                    .await?;
                store
                    .put_alert_settings(
                        &project,
                        None,
                        &AlertRules::default(),
                        Some(&hks_store::DestinationUpdate::Webhook(WebhookUpdate {
                            url: Some("https://hooks.example.com/hks".into()),
                            secret: None,
                            ..Default::default()
                        })),
                    )
                    .await?;
            }
            Ok::<_, StoreError>(())
        });
    }
    all_ok(tasks).await;
    assert_eq!(
        r.second.runs(&project.id, "job", 10_000).await.unwrap().len(),
        TASKS * OPERATIONS
    );
}
}

backends! {
/// The same alerts raised by both replicas at once (each recorder saw the
/// same failed runs): each is stored once, with one delivery, and each
/// delivery is claimed by one replica once.
async fn an_alert_raised_by_both_replicas_at_once_is_recorded_and_claimed_once(r) {
    const ALERTS: usize = 40;
    let tenant = r.first.create_tenant("acme", &cluster()).await.unwrap();
    let project = r.first.create_project(&tenant.id, "shop").await.unwrap();
    let hook = Destination::Webhook(Webhook {
        url: "https://hooks.example.com/hks".into(),
        secret: "0123456789abcdef".to_owned().into(),
    });
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..8 {
        let store = r.of(task);
        let (project, hook) = (project.id.clone(), hook.clone());
        tasks.spawn(async move {
            let mut raised = 0;
            for i in 0..ALERTS {
                let alert = Alert {
                    key: format!("failed:r-{i}"),
                    kind: AlertKind::Failed,
                    subject: format!("r-{i}"),
                    summary: format!("Run r-{i} failed"),
                };
                let at = Timestamp::now();
                if store.raise_alert(&project, "report", &alert, at, Some(&hook)).await?.is_some() {
                    raised += 1;
                }
            }
            Ok::<_, StoreError>(raised)
        });
    }
    let raised: usize = all_ok(tasks).await.into_iter().sum();
    assert_eq!(raised, ALERTS, "each alert is raised by exactly one call");
    let history = r.second.alert_history(&project.id, None, 1_000, 0).await.unwrap();
    assert_eq!(history.len(), ALERTS);
    assert!(history.iter().all(|a| a.delivery.is_some()));

    // Both replicas' delivery workers claim at once, a few at a time.
    let now = Timestamp::now();
    let lease = now.checked_add(jiff::SignedDuration::from_secs(60)).unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..8 {
        let store = r.of(task);
        tasks.spawn(async move {
            let mut claimed = Vec::new();
            loop {
                let jobs = store.claim_due_deliveries(now, lease, 3).await?;
                if jobs.is_empty() {
                    return Ok::<_, StoreError>(claimed);
                }
                claimed.extend(jobs.into_iter().map(|j| (j.id, j.attempt)));
            }
        });
    }
    let mut claimed: Vec<(String, u32)> = all_ok(tasks).await.into_iter().flatten().collect();
    assert!(claimed.iter().all(|(_, attempt)| *attempt == 1), "{claimed:?}");
    claimed.sort();
    claimed.dedup();
    assert_eq!(claimed.len(), ALERTS, "every delivery claimed once");
}
}

backends! {
/// A run recorded for the first time by both replicas at once, one seeing
/// it running and the other failed: it ends failed whatever the order (a
/// final run is never reopened), and its alerts are owed once.
async fn a_final_run_is_never_reopened_by_another_replica(r) {
    const RUNS: usize = 60;
    let tenant = r.first.create_tenant("acme", &cluster()).await.unwrap();
    let project = r.first.create_project(&tenant.id, "shop").await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..2 {
        let store = r.of(task);
        let project = project.id.clone();
        tasks.spawn(async move {
            for i in 0..RUNS {
                let result = if task == 0 { RunResult::Failed } else { RunResult::Running };
                store.record_run(&project, "job", &run(&format!("job-{i}"), result)).await?;
            }
            Ok::<_, StoreError>(())
        });
    }
    all_ok(tasks).await;
    let runs = r.first.runs(&project.id, "job", 1_000).await.unwrap();
    assert_eq!(runs.len(), RUNS);
    assert!(runs.iter().all(|r| r.result == RunResult::Failed), "a failed run was reopened");
    assert_eq!(r.second.runs_needing_alerts().await.unwrap().len(), RUNS);
}
}

backends! {
/// A name taken by both replicas at once is taken once (the other gets a
/// conflict), and counters bumped from both count every bump.
async fn names_are_taken_once_and_counters_count_every_writer(r) {
    const WRITERS: usize = 8;
    let tenant = r.first.create_tenant("acme", &cluster()).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..WRITERS {
        let store = r.of(task);
        let tenant = tenant.id.clone();
        tasks.spawn(async move {
            Ok::<_, StoreError>(match store.create_project(&tenant, "shop").await {
                Ok(_) => 1,
                Err(StoreError::Conflict { .. }) => 0,
                Err(e) => return Err(e),
            })
        });
    }
    assert_eq!(all_ok(tasks).await.into_iter().sum::<usize>(), 1);
    let project = r.second.project(&tenant.id, "shop").await.unwrap();

    let spec: hks_core::spec::ApplicationSpec = serde_json::from_value(serde_json::json!({
        "type": "cronjob", "spec": {"schedule": "@daily", "image": "busybox:1"}
    }))
    .unwrap();
    r.first.create_application(&project.id, "nightly", &spec).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..WRITERS {
        let store = r.of(task);
        let (project, spec) = (project.id.clone(), spec.clone());
        tasks.spawn(async move {
            for _ in 0..10 {
                store.update_application(&project, "nightly", &spec).await?;
            }
            Ok::<_, StoreError>(())
        });
    }
    all_ok(tasks).await;
    let app = r.first.application(&project.id, "nightly").await.unwrap();
    assert_eq!(app.generation, 1 + 10 * WRITERS as i64);

    // A tenant deleted while projects are created for it: every project
    // that exists at the deletion is queued for cleanup.
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..WRITERS {
        let store = r.of(task);
        let tenant = tenant.id.clone();
        tasks.spawn(async move {
            match store.create_project(&tenant, &format!("p{task}")).await {
                Ok(p) => Ok(Some(p.namespace)),
                // The tenant is gone already: a foreign key (PostgreSQL)
                // or an insert that found no tenant.
                Err(StoreError::Query(_)) => Ok(None),
                Err(e) => Err(e),
            }
        });
    }
    r.second.delete_tenant(&tenant.id).await.unwrap();
    let created: Vec<String> = all_ok(tasks).await.into_iter().flatten().collect();
    let queued = r.first.retirements().await.unwrap();
    let queued: Vec<&String> = queued.iter().flat_map(|q| &q.namespaces).collect();
    for ns in &created {
        assert!(
            queued.contains(&ns) || r.first.project_by_namespace(ns).await.unwrap().is_some(),
            "{ns} was created but neither queued for cleanup nor kept"
        );
    }
}
}

backends! {
/// A replica claims only the deliveries of the tenants it owns: the other
/// tenant's wait for its own owner, and no tenant's are claimed twice.
async fn deliveries_are_claimed_by_the_owner_of_their_tenant(r) {
    let hook = Destination::Webhook(Webhook {
        url: "https://hooks.example.com/hks".into(),
        secret: "0123456789abcdef".to_owned().into(),
    });
    let mut tenants = Vec::new();
    for name in ["acme", "globex"] {
        let tenant = r.first.create_tenant(name, &cluster()).await.unwrap();
        let project = r.first.create_project(&tenant.id, "shop").await.unwrap();
        for i in 0..3 {
            let alert = Alert {
                key: format!("failed:r-{i}"),
                kind: AlertKind::Failed,
                subject: format!("r-{i}"),
                summary: format!("Run r-{i} failed"),
            };
            r.first
                .raise_alert(&project.id, "report", &alert, Timestamp::now(), Some(&hook))
                .await
                .unwrap();
        }
        tenants.push(tenant.id);
    }
    let now = Timestamp::now();
    let lease = now.checked_add(jiff::SignedDuration::from_secs(60)).unwrap();
    // Owning nothing claims nothing.
    assert!(r.first.claim_due_deliveries_of(Some(&[]), now, lease, 10).await.unwrap().is_empty());
    let first = r.first.claim_due_deliveries_of(Some(&tenants[..1]), now, lease, 10).await.unwrap();
    let second = r.second.claim_due_deliveries_of(Some(&tenants[1..]), now, lease, 10).await.unwrap();
    assert_eq!((first.len(), second.len()), (3, 3));
    assert!(first.iter().all(|j| j.tenant_id == tenants[0]));
    assert!(second.iter().all(|j| j.tenant_id == tenants[1]));
    assert!(r.first.claim_due_deliveries(now, lease, 10).await.unwrap().is_empty());
}
}

/// The tenants' locks (PostgreSQL): one holder at a time, the replicas
/// alive counted by their presence locks, and everything a replica held
/// freed the moment its connection ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_locks_have_one_holder_and_end_with_their_connection() {
    let Some(r) = Replicas::new(true).await else {
        return;
    };
    let key = hks_store::locks::tenant_key("tenant-1");
    let mut a = r.first.lock_session("a").await.unwrap();
    let mut b = r.second.lock_session("b").await.unwrap();
    let holders = a.holders().await.unwrap();
    assert_eq!(holders.replicas, 2);
    assert!(holders.held.is_empty());
    assert!(a.try_lock(key).await.unwrap());
    assert!(!b.try_lock(key).await.unwrap(), "held by the other replica");
    assert!(b.holders().await.unwrap().held.contains(&key));
    // The holder's connection ends (as when its process dies).
    a.close().await;
    // The server ends the session as soon as it reads the end of the
    // connection: a moment, not a timeout.
    let mut holders = b.holders().await.unwrap();
    for _ in 0..100 {
        if holders.replicas == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        holders = b.holders().await.unwrap();
    }
    assert_eq!(holders.replicas, 1);
    assert!(!holders.held.contains(&key));
    assert!(
        b.try_lock(key).await.unwrap(),
        "free once its holder is gone"
    );
    b.unlock(key).await.unwrap();
    assert!(b.holders().await.unwrap().held.is_empty());
    b.close().await;
    r.close().await;
}

#[tokio::test]
async fn sqlite_has_no_tenant_locks() {
    let store = Store::in_memory().await.unwrap();
    assert!(store.lock_session("solo").await.is_err());
    let ownership = hks_store::ownership::Ownership::for_store(&store, "solo");
    assert!(ownership.owns_all() && ownership.owns("any tenant"));
}
