//! Tenants in the background loops: one tenant's cluster that never
//! answers, or that has more HKS objects than its watch caches hold, or one
//! tenant's store rows that cannot be read, hold up no other tenant. The reconciler and the recorder run as `hks serve` runs
//! them (over every tenant), on the fake cluster.

#[allow(dead_code, reason = "the harness is shared with the recorder's tests")]
mod common;

use std::time::{Duration, Instant};

use common::{Hks, Project, minutes_ago, settings};
use hks_controller::{Isolation, recorder};
use hks_kube::{Kind, ObjectKey};
use serde_json::json;

/// How long a pass may take in these tests: generous next to the tenant
/// time limit (1 s), far below a hanging tenant's forever.
const PASS_CEILING: Duration = Duration::from_secs(30);

fn isolated() -> recorder::Settings {
    recorder::Settings {
        isolation: Isolation {
            concurrency: 4,
            timeout: Duration::from_secs(1),
        },
        ..settings()
    }
}

/// Tenant `aaa` (listed first) and tenant `zzz`, each with CronJob
/// `report`; `zzz`'s CronJob was deleted by hand and it has a finished run
/// the store does not have yet. Returns both projects and `zzz`'s run.
async fn two_tenants(hks: &Hks) -> (Project, Project, String) {
    let a = hks.project("aaa").await;
    let z = hks.project("zzz").await;
    hks.cronjob(&a, "report", json!({})).await;
    hks.cronjob(&z, "report", json!({})).await;
    let (job, _) = hks.run_at(&z, "report", minutes_ago(2), 0, "done\n");
    hks.fake.remove(&z.tenant, &cronjob_key(&z));
    (a, z, job)
}

fn cronjob_key(p: &Project) -> ObjectKey {
    ObjectKey {
        kind: Kind::CronJob,
        namespace: Some(p.namespace.clone()),
        name: "report".into(),
    }
}

/// One reconciliation and one recorder pass over every tenant: each
/// finishes within [`PASS_CEILING`], with `aaa` counted as failed and
/// `zzz`'s CronJob back and its run recorded.
async fn the_other_tenant_is_served(hks: &Hks, z: &Project, job: &str) {
    let app = hks.state.app();
    let started = Instant::now();
    let r = tokio::time::timeout(
        PASS_CEILING,
        hks_controller::reconcile_with(app, hks.settings().isolation),
    )
    .await
    .expect("the reconciliation is not held up by one tenant")
    .expect("the tenants can be listed");
    eprintln!("reconciliation took {:?}", started.elapsed());
    assert_eq!(r.failed_tenants, 1, "{r:?}");
    assert!(
        hks.fake
            .objects(&z.tenant)
            .iter()
            .any(|o| o.key() == cronjob_key(z)),
        "zzz's CronJob is applied again"
    );

    let started = Instant::now();
    let p = tokio::time::timeout(
        PASS_CEILING,
        recorder::pass_all(app, hks.settings(), &mut recorder::Memory::default()),
    )
    .await
    .expect("the recorder's pass is not held up by one tenant")
    .expect("the tenants can be listed");
    eprintln!("recorder pass took {:?}", started.elapsed());
    assert_eq!(p.failed_tenants, 1, "{p:?}");
    let run = hks.state.store().run(&z.id, "report", job).await.unwrap();
    assert!(run.is_some(), "zzz's run is recorded");
}

#[tokio::test]
async fn a_tenant_cluster_that_never_answers_holds_up_no_other_tenant() {
    let hks = Hks::new(isolated()).await;
    let (a, z, job) = two_tenants(&hks).await;
    hks.fake.remove(&a.tenant, &cronjob_key(&a));
    hks.fake.set_hanging(&a.tenant, true);
    the_other_tenant_is_served(&hks, &z, &job).await;
    hks.fake.set_hanging(&a.tenant, false);
}

#[tokio::test]
async fn a_tenant_whose_store_rows_cannot_be_read_holds_up_no_other_tenant() {
    let dir = std::env::temp_dir().join(format!(
        "hks-isolation-{}-{}",
        std::process::id(),
        jiff::Timestamp::now().as_nanosecond()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("hks.db");
    let store = hks_store::Store::open(&file, hks_store::EncryptionKey::generate().unwrap())
        .await
        .unwrap();
    let hks = Hks::on_store(isolated(), store).await;
    let (a, z, job) = two_tenants(&hks).await;
    // `aaa`'s CronJob is stored as something that is not a spec: every
    // read of it fails.
    let raw = sqlx::SqlitePool::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    sqlx::query("UPDATE applications SET spec = '{' WHERE project_id = ?")
        .bind(&a.id)
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;
    the_other_tenant_is_served(&hks, &z, &job).await;
    drop(hks);
    std::fs::remove_dir_all(&dir).ok();
}

/// A tenant whose cluster has more HKS objects than its watch caches hold
/// (its watches stopped): the reconciler cannot compare its CronJobs with
/// the caches, so it applies them and deletes none; the recorder's part for
/// it fails (its runs wait, held by HKS's finalizer) while the other
/// tenant's run is recorded; once it is under the bound, its run is too.
#[tokio::test]
async fn a_tenant_over_the_cache_bound_holds_up_no_other_tenant() {
    let hks = Hks::new(isolated()).await;
    let (a, z, job) = two_tenants(&hks).await;
    let (a_job, _) = hks.run_at(&a, "report", minutes_ago(3), 0, "done\n");
    hks.fake.set_over_limit(&a.tenant, true);
    let app = hks.state.app();
    let r = hks_controller::reconcile_with(app, hks.settings().isolation)
        .await
        .unwrap();
    assert_eq!((r.failed_tenants, r.orphans_deleted), (0, 0), "{r:?}");
    for p in [&a, &z] {
        assert!(
            hks.fake
                .objects(&p.tenant)
                .iter()
                .any(|o| o.key() == cronjob_key(p)),
            "{}'s CronJob is there",
            p.tenant
        );
    }
    let mut memory = recorder::Memory::default();
    let p = recorder::pass_all(app, hks.settings(), &mut memory)
        .await
        .unwrap();
    assert_eq!(p.failed_tenants, 1, "{p:?}");
    let store = hks.state.store();
    assert!(store.run(&z.id, "report", &job).await.unwrap().is_some());
    assert!(store.run(&a.id, "report", &a_job).await.unwrap().is_none());

    hks.fake.set_over_limit(&a.tenant, false);
    let p = recorder::pass_all(app, hks.settings(), &mut memory)
        .await
        .unwrap();
    assert_eq!(p.failed_tenants, 0, "{p:?}");
    assert!(store.run(&a.id, "report", &a_job).await.unwrap().is_some());
}

/// The recorder as `hks serve` runs it, pass after pass: while tenant
/// `aaa`'s cluster never answers (its part of a pass is given up only at
/// the time limit, 20 s here), `zzz`'s runs are recorded, and its alerts
/// raised, within a few of its own passes, not once per time limit.
#[tokio::test]
async fn a_hanging_tenant_does_not_slow_the_other_tenants_passes() {
    let hks = Hks::new(recorder::Settings {
        isolation: Isolation {
            concurrency: 4,
            timeout: Duration::from_secs(20),
        },
        ..settings()
    })
    .await;
    let (a, z, job) = two_tenants(&hks).await;
    hks.cronjob(&z, "nightly", json!({})).await;
    hks.fake.set_hanging(&a.tenant, true);
    hks.start();
    let (store, zzz) = (hks.state.store().clone(), z.id.clone());
    let ceiling = Duration::from_secs(5);
    common::wait("zzz's first run recorded", ceiling, async || {
        store.run(&zzz, "report", &job).await.unwrap()
    })
    .await;
    // A run that ends after the first pass: the next passes of `zzz` do
    // not wait for `aaa`'s to be given up.
    let (later, _) = hks.run_at(&z, "nightly", minutes_ago(1), 1, "failed\n");
    let started = Instant::now();
    common::wait("zzz's later run recorded", ceiling, async || {
        store.run(&zzz, "nightly", &later).await.unwrap()
    })
    .await;
    eprintln!("the later run was recorded after {:?}", started.elapsed());
    hks.stop_recorder();
    hks.fake.set_hanging(&a.tenant, false);
}
