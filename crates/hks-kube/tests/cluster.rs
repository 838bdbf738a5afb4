//! The Kubernetes adapter against the real local cluster (`dev/cluster`).
//! Each test works in its own namespace and deletes it afterwards.
//!
//! The cluster's admin kubeconfig is `HKS_KUBECONFIG`, which `./dev/test`
//! sets after starting the cluster (so in the suite they always run). Without
//! it these tests say so and pass, so that a plain `cargo test` works on a
//! machine without the cluster.

use std::future::Future;
use std::time::Duration;

use futures::FutureExt;
use hks_core::examples;
use hks_core::manifest::{self, Placement};
use hks_core::run::RunResult;
use hks_core::tenant::ClusterConnection;
use hks_kube::live::{KubeGateway, Settings};
use hks_kube::{Gateway, Kind, KubeError, LogOptions, Object, ObjectKey, TenantCluster};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{DeleteParams, PostParams};
use kube::{Api, Client};
use serde_json::json;

fn kubeconfig() -> Option<String> {
    let Ok(path) = std::env::var("HKS_KUBECONFIG") else {
        eprintln!(
            "skipped: HKS_KUBECONFIG is unset (./dev/test sets it after starting the cluster)"
        );
        return None;
    };
    let text = std::fs::read_to_string(&path);
    Some(text.unwrap_or_else(|e| panic!("HKS_KUBECONFIG={path}: {e}")))
}

fn connection(text: &str) -> ClusterConnection {
    serde_json::from_value(json!({"kind": "kubeconfig", "kubeconfig": text})).unwrap()
}

async fn admin_client(text: &str) -> Client {
    let kc = kube::config::Kubeconfig::from_yaml(text).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    Client::try_from(config).unwrap()
}

fn suffix() -> String {
    use std::hash::BuildHasher;
    let n = std::collections::hash_map::RandomState::new()
        .hash_one(jiff::Timestamp::now().as_nanosecond());
    format!("{:x}", n)[..8].to_owned()
}

/// Runs `test` with a fresh namespace, deleting it afterwards even if the test panics.
async fn with_temp_ns<F, Fut>(client: &Client, test: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()>,
{
    let name = format!("hks-test-{}", suffix());
    let ns: Namespace = serde_json::from_value(
        json!({"metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "hks"}}}),
    )
    .unwrap();
    let api: Api<Namespace> = Api::all(client.clone());
    api.create(&PostParams::default(), &ns).await.unwrap();
    let result = std::panic::AssertUnwindSafe(test(name.clone()))
        .catch_unwind()
        .await;
    api.delete(&name, &DeleteParams::background()).await.ok();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

fn placement(ns: &str) -> Placement {
    Placement {
        namespace: ns.to_owned(),
        ..examples::placement()
    }
}

#[tokio::test]
async fn the_apiserver_accepts_every_golden_manifest() {
    let Some(text) = kubeconfig() else { return };
    let client = admin_client(&text).await;
    let conn = connection(&text);
    let gw = KubeGateway::new(Settings::default());
    with_temp_ns(&client, |ns| async move {
        let cluster = TenantCluster {
            tenant_id: "golden",
            connection: &conn,
        };
        let p = placement(&ns);
        let (deployment, service) = manifest::stateless(&p, "web", &examples::web());
        let report = examples::report();
        let tick = examples::tick();
        let objects = vec![
            Object::Namespace(manifest::namespace(&p)),
            Object::Deployment(deployment),
            Object::Service(service.unwrap()),
            Object::CronJob(manifest::cronjob(
                &p,
                "nightly-report",
                &report,
                &report.resolve(Some(&examples::web())).unwrap(),
            )),
            Object::CronJob(manifest::cronjob(
                &p,
                "tick",
                &tick,
                &tick.resolve(None).unwrap(),
            )),
            Object::CronJob(manifest::function_cronjob(
                &p,
                "wake",
                &examples::wake(),
                &examples::wake().function.unwrap().resolve(
                    &examples::greet(),
                    "hks.local/busybox:1",
                    Default::default(),
                ),
            )),
            // The longest name a CronJob may have.
            Object::CronJob(manifest::cronjob(
                &p,
                &"a".repeat(52),
                &tick,
                &tick.resolve(None).unwrap(),
            )),
        ];
        gw.dry_run(cluster, &objects)
            .await
            .expect("the apiserver accepts the golden manifests");
    })
    .await;
}

#[tokio::test]
async fn apply_run_now_runs_and_logs() {
    let Some(text) = kubeconfig() else { return };
    let client = admin_client(&text).await;
    let conn = connection(&text);
    let gw = KubeGateway::new(Settings::default());
    with_temp_ns(&client, |ns| async move {
        let cluster = TenantCluster {
            tenant_id: "runs",
            connection: &conn,
        };
        let p = placement(&ns);
        let spec: hks_core::spec::CronJobSpec = serde_json::from_value(json!({
            "schedule": "0 0 1 1 *", "image": "hks.local/busybox:1",
            "command": {"argv": ["echo \"run $HKS_GREETING\"; exit 0"], "shell": true},
            "env": [{"name": "HKS_GREETING", "value": "hello"}],
            "timeoutSeconds": 120, "retries": 0
        }))
        .unwrap();
        let cj = manifest::cronjob(&p, "job", &spec, &spec.resolve(None).unwrap());
        gw.apply(cluster, &[Object::CronJob(cj.clone())])
            .await
            .unwrap();
        // Applying the same object again changes nothing and is accepted.
        gw.apply(cluster, &[Object::CronJob(cj)]).await.unwrap();

        let run = gw.run_now(cluster, &ns, "job", "tests/ci").await.unwrap();
        assert!(run.name.starts_with("job-m") && run.name.len() <= 63);
        assert_eq!(run.trigger, hks_core::run::Trigger::Manual);

        // The run shows up in the watch caches and finishes.
        let mut last = None;
        for _ in 0..120 {
            let observed = gw.observe(cluster, &ns).await.unwrap();
            assert!(observed.cronjobs.contains_key("job"));
            last = observed.runs.get("job").and_then(|r| r.first().cloned());
            if last
                .as_ref()
                .is_some_and(|r| r.result == RunResult::Succeeded)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let last = last.expect("the run is listed");
        assert_eq!(last.result, RunResult::Succeeded, "{last:?}");
        assert_eq!(last.exit_code, Some(0));
        assert_eq!(last.triggered_by.as_deref(), Some("tests/ci"));
        assert_eq!(last.attempts.len(), 1);

        let logs = gw
            .logs(cluster, &ns, "job", &run.name, &LogOptions::default())
            .await
            .unwrap();
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0].log, "run hello\n");
        assert!(matches!(
            gw.logs(cluster, &ns, "job", "job-nope", &LogOptions::default())
                .await,
            Err(KubeError::NotFound)
        ));

        gw.delete(
            cluster,
            &ObjectKey {
                kind: Kind::CronJob,
                namespace: Some(ns.clone()),
                name: "job".into(),
            },
        )
        .await
        .unwrap();
        // Deleting again is not an error.
        gw.delete(
            cluster,
            &ObjectKey {
                kind: Kind::CronJob,
                namespace: Some(ns.clone()),
                name: "job".into(),
            },
        )
        .await
        .unwrap();
    })
    .await;
}

#[tokio::test]
async fn vcluster_connections_read_the_vc_secret() {
    let Some(text) = kubeconfig() else { return };
    let client = admin_client(&text).await;
    let gw = KubeGateway::new(Settings::default());
    let host = client.clone();
    with_temp_ns(&client, |ns| async move {
        // A stand-in vCluster: its Secret holds a kubeconfig for this same cluster.
        let secret: Secret = serde_json::from_value(json!({"metadata": {"name": "vc-team"}, "stringData": {"config": text}})).unwrap();
        Api::<Secret>::namespaced(host, &ns).create(&PostParams::default(), &secret).await.unwrap();
        let server = kube::config::Kubeconfig::from_yaml(&text).unwrap().clusters[0].cluster.as_ref().unwrap().server.clone().unwrap();
        let conn: ClusterConnection = serde_json::from_value(json!({
            "kind": "vcluster", "hostKubeconfig": text, "namespace": ns, "name": "team", "server": server
        }))
        .unwrap();
        let cluster = TenantCluster { tenant_id: "vc", connection: &conn };
        let p = placement(&ns);
        gw.dry_run(cluster, &[Object::Namespace(manifest::namespace(&p))]).await.expect("connected through the vCluster Secret");

        let missing: ClusterConnection = serde_json::from_value(json!({"kind": "vcluster", "hostKubeconfig": text, "namespace": ns, "name": "nope"})).unwrap();
        let err = gw.dry_run(TenantCluster { tenant_id: "vc-missing", connection: &missing }, &[]).await.unwrap_err();
        assert!(matches!(err, KubeError::Misconfigured(ref m) if m.contains("vc-nope")), "{err:?}");
    })
    .await;
}

#[tokio::test]
async fn an_apiserver_that_does_not_answer_is_unreachable() {
    // Port 1 on loopback: nothing listens there.
    let text = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user:\n    token: not-a-secret\n";
    let conn = connection(text);
    let gw = KubeGateway::new(Settings {
        connect_timeout: Duration::from_secs(1),
        ..Settings::default()
    });
    let started = std::time::Instant::now();
    let err = gw
        .dry_run(
            TenantCluster {
                tenant_id: "down",
                connection: &conn,
            },
            &[Object::Namespace(manifest::namespace(
                &examples::placement(),
            ))],
        )
        .await
        .unwrap_err();
    assert!(err.is_unreachable(), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let err = gw
        .observe(
            TenantCluster {
                tenant_id: "down",
                connection: &conn,
            },
            "x",
        )
        .await
        .unwrap_err();
    assert!(err.is_unreachable(), "{err:?}");
}
