//! Many writers on one database file, through two `Store`s as two HKS
//! processes would: transactions that read and then write must wait for
//! each other, never fail with SQLITE_BUSY ("database is locked").

use hks_core::run::{Run, RunResult, Trigger};
use hks_core::tenant::ClusterConnection;
use hks_history::alerts::AlertRules;
use hks_store::{EncryptionKey, Store, WebhookUpdate};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_read_then_write_transactions_never_fail_with_busy() {
    let dir = std::env::temp_dir().join(format!(
        "hks-store-concurrency-{}",
        hks_store::new_token().unwrap().expose_secret()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("hks.db");
    let key = EncryptionKey::generate().unwrap();
    let key_text = key.to_base64();
    let first = Store::open(&path, key).await.unwrap();
    let second = Store::open(
        &path,
        EncryptionKey::from_base64(key_text.expose_secret()).unwrap(),
    )
    .await
    .unwrap();
    let cluster: ClusterConnection = serde_json::from_value(
        serde_json::json!({"kind": "kubeconfig", "kubeconfig": "apiVersion: v1"}),
    )
    .unwrap();
    let tenant = first.create_tenant("acme", &cluster).await.unwrap();
    let project = first.create_project(&tenant.id, "shop").await.unwrap();
    first
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
        let store = if task % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
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
            Ok::<_, hks_store::StoreError>(())
        });
    }
    let mut failures = Vec::new();
    while let Some(done) = tasks.join_next().await {
        if let Err(e) = done.unwrap() {
            failures.push(format!("{e}: {:?}", std::error::Error::source(&e)));
        }
    }
    assert!(failures.is_empty(), "writers failed: {failures:?}");
    assert_eq!(
        second.runs(&project.id, "job", 10_000).await.unwrap().len(),
        TASKS * OPERATIONS
    );
    first.close().await;
    second.close().await;
    std::fs::remove_dir_all(dir).unwrap();
}
