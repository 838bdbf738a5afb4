//! The Kubernetes adapter against the real local cluster (`dev/cluster`).
//! Each test works in its own namespace and deletes it afterwards.
//!
//! The cluster's admin kubeconfig is `HKS_KUBECONFIG`, which `./dev/test`
//! sets after starting the cluster. Without it `hks_testkit`'s guard fails
//! them under CI and skips them visibly elsewhere.

use std::future::Future;
use std::time::Duration;

use futures::FutureExt;
use hks_core::examples;
use hks_core::labels::{LABEL_INSTALLATION, LABEL_JOB_NAME};
use hks_core::manifest::{self, Placement};
use hks_core::run::RunResult;
use hks_core::tenant::ClusterConnection;
use hks_kube::live::{KubeGateway, Settings};
use hks_kube::{Gateway, Kind, KubeError, LogOptions, Object, ObjectKey, TenantCluster};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Namespace, Pod, Secret};
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::{Api, Client};
use serde_json::json;

fn kubeconfig() -> Option<String> {
    hks_testkit::cluster()
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
    // No recorder runs here to release HKS's finalizers: release them, or
    // the namespace could never be deleted.
    Api::<k8s_openapi::api::batch::v1::CronJob>::namespaced(client.clone(), &name)
        .delete_collection(&DeleteParams::background(), &ListParams::default())
        .await
        .ok();
    release_finalizers(client, &name).await;
    api.delete(&name, &DeleteParams::background()).await.ok();
    tokio::time::sleep(Duration::from_secs(1)).await;
    release_finalizers(client, &name).await;
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

async fn release_finalizers(client: &Client, ns: &str) {
    use kube::api::{Patch, PatchParams};
    let jobs: Api<k8s_openapi::api::batch::v1::Job> = Api::namespaced(client.clone(), ns);
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(client.clone(), ns);
    for j in jobs
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default()
    {
        if let Some(p) = hks_kube::history::finalizer_patch(&j.metadata, false) {
            let name = j.metadata.name.unwrap_or_default();
            jobs.patch(&name, &PatchParams::default(), &Patch::Merge(&p))
                .await
                .ok();
        }
    }
    for o in pods
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default()
    {
        if let Some(p) = hks_kube::history::finalizer_patch(&o.metadata, false) {
            let name = o.metadata.name.unwrap_or_default();
            pods.patch(&name, &PatchParams::default(), &Patch::Merge(&p))
                .await
                .ok();
        }
    }
}

/// The installation the tests' gateways work for.
const INSTALLATION: &str = "7f3a9c21b0de";

fn placement(ns: &str) -> Placement {
    Placement {
        installation: INSTALLATION.to_owned(),
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
            installation: INSTALLATION,
            tenant_id: "golden",
            tenant_name: "acme",
            connection: &conn,
        };
        let p = placement(&ns);
        let (deployment, service) = manifest::stateless(&p, "web", &examples::web());
        let report = examples::report();
        let tick = examples::tick();
        let objects = vec![
            Object::Namespace(manifest::namespace(&p)),
            Object::LimitRange(manifest::limit_range(&p)),
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
            installation: INSTALLATION,
            tenant_id: "runs",
            tenant_name: "acme",
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

        // The CronJob and the run show up in the watch caches (which may
        // lag the apply by a moment when the cluster is busy) and the run
        // finishes (pod start-up on a busy machine can take minutes).
        let mut last = None;
        let mut listed = false;
        for _ in 0..600 {
            let observed = gw.observe(cluster, &ns).await.unwrap();
            listed = observed.cronjobs.contains_key("job");
            last = observed.runs.get("job").and_then(|r| r.first().cloned());
            if listed
                && last
                    .as_ref()
                    .is_some_and(|r| r.result == RunResult::Succeeded)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        assert!(listed, "the CronJob is in the watch cache");
        let last = last.expect("the run is listed");
        assert_eq!(last.result, RunResult::Succeeded, "{last:?}");
        assert_eq!(last.exit_code, Some(0));
        assert_eq!(last.triggered_by.as_deref(), Some("tests/ci"));
        assert_eq!(last.attempts.len(), 1);

        // One CronJob's view is its part of the namespace's view.
        let all = gw.observe(cluster, &ns).await.unwrap();
        let one = gw.observe_cronjob(cluster, &ns, "job").await.unwrap();
        assert_eq!(one.cronjobs.get("job"), all.cronjobs.get("job"));
        assert_eq!(one.runs.get("job"), all.runs.get("job"));
        assert_eq!((one.cronjobs.len(), one.runs.len()), (1, 1));
        let none = gw.observe_cronjob(cluster, &ns, "nope").await.unwrap();
        assert!(none.cronjobs.is_empty() && none.runs.is_empty());

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

/// The watch caches hold the tenant's objects only: a CronJob with HKS's
/// labels but another tenant's name (another tenant on the same cluster) is
/// not in them.
#[tokio::test]
async fn the_caches_hold_only_the_tenants_objects() {
    let Some(text) = kubeconfig() else { return };
    let client = admin_client(&text).await;
    let conn = connection(&text);
    let gw = KubeGateway::new(Settings::default());
    with_temp_ns(&client, |ns| async move {
        let cluster = TenantCluster {
            installation: INSTALLATION,
            tenant_id: "selector",
            tenant_name: "acme",
            connection: &conn,
        };
        let spec: hks_core::spec::CronJobSpec = serde_json::from_value(json!({
            "schedule": "0 0 1 1 *", "image": "hks.local/busybox:1", "suspend": true
        }))
        .unwrap();
        let runs = spec.resolve(None).unwrap();
        let theirs = Placement {
            tenant: "intruder".into(),
            ..placement(&ns)
        };
        // Theirs first: once ours is in the cache, theirs would be too.
        let objects = [
            Object::CronJob(manifest::cronjob(&theirs, "theirs", &spec, &runs)),
            Object::CronJob(manifest::cronjob(&placement(&ns), "mine", &spec, &runs)),
        ];
        gw.apply(cluster, &objects).await.unwrap();
        let ceiling = std::time::Instant::now() + Duration::from_secs(120);
        let observed = loop {
            let o = gw.observe(cluster, &ns).await;
            match o {
                Ok(o) if o.cronjobs.contains_key("mine") => break o,
                o => assert!(
                    std::time::Instant::now() < ceiling,
                    "ours never cached: {o:?}"
                ),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(
            observed.cronjobs.keys().collect::<Vec<_>>(),
            ["mine"],
            "another tenant's CronJob is not cached"
        );
    })
    .await;
}

/// `object` as HKS made it before it labelled installations: without the
/// installation's label anywhere (its own, its templates').
fn unlabelled<T: serde::Serialize + serde::de::DeserializeOwned>(object: &T) -> T {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::Object(labels)) = map.get_mut("labels") {
                    labels.remove(LABEL_INSTALLATION);
                }
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(object).unwrap();
    strip(&mut v);
    serde_json::from_value(v).unwrap()
}

/// A suspended Job (it makes no pods) from `cronjob`'s template, held by
/// HKS's finalizer as the recorder holds every run.
fn held_job(cronjob: &CronJob, name: &str) -> Job {
    let template = cronjob.spec.job_template.clone();
    Job {
        metadata: kube::api::ObjectMeta {
            name: Some(name.to_owned()),
            labels: template.metadata.and_then(|m| m.labels),
            finalizers: Some(vec![manifest::FINALIZER_ARCHIVE.to_owned()]),
            ..Default::default()
        },
        spec: Some(k8s_openapi::api::batch::v1::JobSpec {
            suspend: Some(true),
            ..template.spec.unwrap()
        }),
        status: None,
    }
}

/// Polls `check` every 200 ms until it answers `Some`; fails after 120 s.
async fn until<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let ceiling = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(t) = check().await {
            return t;
        }
        assert!(
            std::time::Instant::now() < ceiling,
            "{what}: not after 120 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Two installations of HKS share a cluster, each with a tenant `acme`
/// (staging and production, say), here even in one namespace: each one's
/// watches and listings hold only its own objects, so its reconciler can
/// neither see nor remove the other's. What HKS made before it labelled
/// installations (no installation label) is adopted by the installation
/// whose tenant's namespace it is in, and only that; retiring a namespace
/// releases that installation's runs and leaves another's held.
#[tokio::test]
async fn installations_sharing_a_cluster_keep_apart() {
    let Some(text) = kubeconfig() else { return };
    let client = admin_client(&text).await;
    let conn = connection(&text);
    // Two installations: two processes, each with its own gateway.
    let gw = KubeGateway::new(Settings::default());
    let other_gw = KubeGateway::new(Settings::default());
    let admin = client.clone();
    with_temp_ns(&client, |ns| async move {
        let ours = TenantCluster {
            installation: INSTALLATION,
            tenant_id: "inst-ours",
            tenant_name: "acme",
            connection: &conn,
        };
        let other = TenantCluster {
            installation: "0123456789ab",
            tenant_id: "inst-other",
            tenant_name: "acme",
            connection: &conn,
        };
        let spec: hks_core::spec::CronJobSpec = serde_json::from_value(json!({
            "schedule": "0 0 1 1 *", "image": "hks.local/busybox:1", "suspend": true
        }))
        .unwrap();
        let runs = spec.resolve(None).unwrap();
        let web: hks_core::spec::StatelessSpec = serde_json::from_value(
            json!({"image": "hks.local/busybox:1", "port": 8080, "replicas": 0}),
        )
        .unwrap();
        let mine = placement(&ns);
        let theirs = Placement {
            installation: other.installation.to_owned(),
            ..placement(&ns)
        };
        let objects = |p: &Placement, prefix: &str| {
            let (d, s) = manifest::stateless(p, &format!("{prefix}web"), &web);
            let cj = manifest::cronjob(p, &format!("{prefix}job"), &spec, &runs);
            (cj, d, s.unwrap())
        };
        let (their_cj, their_d, their_s) = objects(&theirs, "their-");
        let (my_cj, my_d, my_s) = objects(&mine, "my-");
        let (old_cj, old_d, _) = objects(&mine, "older-");
        let (old_cj, old_d) = (unlabelled(&old_cj), unlabelled(&old_d));
        other_gw
            .apply(
                other,
                &[
                    Object::CronJob(their_cj.clone()),
                    Object::Deployment(their_d),
                    Object::Service(their_s),
                ],
            )
            .await
            .unwrap();
        gw.apply(
            ours,
            &[Object::CronJob(old_cj.clone()), Object::Deployment(old_d)],
        )
        .await
        .unwrap();
        let jobs: Api<Job> = Api::namespaced(admin.clone(), &ns);
        for job in [
            held_job(&their_cj, "their-run"),
            held_job(&old_cj, "older-run"),
        ] {
            jobs.create(&PostParams::default(), &job).await.unwrap();
        }
        // The older run's attempt, as the Job controller made it from the
        // older template: held by HKS's finalizer, unlabelled. It asks for
        // a node there is not, so it never runs.
        let pods: Api<Pod> = Api::namespaced(admin.clone(), &ns);
        let mut pod_labels = old_cj
            .spec
            .job_template
            .spec
            .as_ref()
            .and_then(|s| s.template.metadata.as_ref())
            .and_then(|m| m.labels.clone())
            .unwrap();
        pod_labels.insert(LABEL_JOB_NAME.to_owned(), "older-run".to_owned());
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "older-run-1", "labels": pod_labels, "finalizers": [manifest::FINALIZER_ARCHIVE]},
            "spec": {"nodeSelector": {"hks.dev/nowhere": "true"},
                     "containers": [{"name": "c", "image": "hks.local/busybox:1"}]}
        }))
        .unwrap();
        pods.create(&PostParams::default(), &pod).await.unwrap();
        // Ours last: once it is cached, the others would be too.
        gw.apply(
            ours,
            &[
                Object::CronJob(my_cj),
                Object::Deployment(my_d),
                Object::Service(my_s),
            ],
        )
        .await
        .unwrap();

        let cached = async |gw: &KubeGateway, cluster: TenantCluster<'_>, name: &str| {
            let name = name.to_owned();
            until(&format!("{name} cached"), async || {
                gw.observe(cluster, &ns)
                    .await
                    .ok()
                    .filter(|o| o.cronjobs.contains_key(&name))
                    .map(|o| o.cronjobs.into_keys().collect::<Vec<_>>())
            })
            .await
        };
        assert_eq!(cached(&gw, ours, "my-job").await, ["my-job"]);
        assert_eq!(cached(&other_gw, other, "their-job").await, ["their-job"]);
        let listed = async |gw: &KubeGateway, cluster: TenantCluster<'_>| {
            let mut names: Vec<(Kind, String)> = gw
                .managed(cluster, &ns)
                .await
                .unwrap()
                .objects
                .into_iter()
                .map(|k| (k.kind, k.name))
                .collect();
            names.sort();
            names
        };
        let web_of = |name: &str| {
            vec![
                (Kind::Deployment, name.to_owned()),
                (Kind::Service, name.to_owned()),
            ]
        };
        assert_eq!(listed(&gw, ours).await, web_of("my-web"));
        assert_eq!(listed(&other_gw, other).await, web_of("their-web"));
        let run_names = async |gw: &KubeGateway, cluster: TenantCluster<'_>| {
            let mut names: Vec<String> = gw
                .cluster_runs(cluster)
                .await
                .unwrap()
                .into_iter()
                // Other tests' runs are of the same installation and tenant.
                .filter(|r| r.namespace == ns)
                .map(|r| r.run.name)
                .collect();
            names.sort();
            names
        };
        assert!(run_names(&gw, ours).await.is_empty(), "no run is ours yet");
        assert_eq!(run_names(&other_gw, other).await, ["their-run"]);

        // The older objects are ours (in our tenant's namespace): adopted,
        // then seen. Another installation's are left as they are.
        assert_eq!(
            gw.adopt(ours, &ns).await.unwrap(),
            4,
            "the older CronJob, Deployment, Job and pod"
        );
        assert_eq!(
            gw.adopt(ours, &ns).await.unwrap(),
            0,
            "nothing left to adopt"
        );
        assert_eq!(
            cached(&gw, ours, "older-job").await,
            ["my-job", "older-job"]
        );
        let mut expected = web_of("my-web");
        expected.push((Kind::Deployment, "older-web".to_owned()));
        expected.sort();
        assert_eq!(listed(&gw, ours).await, expected);
        // The run in flight at the upgrade is seen, its attempt with it, so
        // the recorder records it and releases it.
        until("the adopted run seen with its attempt", async || {
            let runs = gw.cluster_runs(ours).await.ok()?;
            let run = runs.iter().find(|r| r.namespace == ns)?;
            (run.run.name == "older-run" && run.pods.len() == 1).then_some(())
        })
        .await;
        assert_eq!(run_names(&gw, ours).await, ["older-run"]);
        assert_eq!(cached(&other_gw, other, "their-job").await, ["their-job"]);
        let label = |o: &kube::api::ObjectMeta| {
            o.labels
                .as_ref()
                .and_then(|l| l.get(LABEL_INSTALLATION))
                .cloned()
        };
        let cronjobs: Api<CronJob> = Api::namespaced(admin, &ns);
        let theirs_now = cronjobs.get("their-job").await.unwrap();
        assert_eq!(
            label(&theirs_now.metadata).as_deref(),
            Some(other.installation)
        );

        // Retiring the namespace releases our runs, not theirs.
        let remaining = gw.retire(ours, std::slice::from_ref(&ns)).await.unwrap();
        assert_eq!(remaining, std::slice::from_ref(&ns));
        let held = |j: &Job| {
            j.metadata
                .finalizers
                .iter()
                .flatten()
                .any(|f| f == manifest::FINALIZER_ARCHIVE)
        };
        assert!(
            !held(&jobs.get("older-run").await.unwrap()),
            "ours released"
        );
        let older_pod = pods.get("older-run-1").await.unwrap();
        assert!(
            !older_pod
                .metadata
                .finalizers
                .iter()
                .flatten()
                .any(|f| f == manifest::FINALIZER_ARCHIVE),
            "our pod released"
        );
        let their_run = jobs.get("their-run").await.unwrap();
        assert!(held(&their_run), "another installation's run stays held");
        assert_eq!(
            label(&their_run.metadata).as_deref(),
            Some(other.installation)
        );
    })
    .await;
}

/// A tenant whose cluster has more objects labelled as its own than a watch
/// cache may hold: its watches stop and their caches are dropped, its reads
/// that need them fail with `TooManyObjects` (not an outage, not a panic),
/// while another tenant on the same cluster and gateway goes on; with the
/// extra objects gone, it is watched again and its reads work.
#[tokio::test]
async fn a_tenant_over_the_cache_bound_is_stopped_alone_until_it_is_under() {
    let Some(text) = kubeconfig() else { return };
    let client = admin_client(&text).await;
    let conn = connection(&text);
    let gw = KubeGateway::new(Settings {
        max_cached_objects: 5,
        over_limit_retry: Duration::from_secs(1),
        ..Settings::default()
    });
    let admin = client.clone();
    with_temp_ns(&client, |ns| async move {
        // Names of their own: a leftover of another run in another
        // namespace would count too.
        let flooded_name = format!("flood-{}", suffix());
        let calm_name = format!("calm-{}", suffix());
        let flooded = TenantCluster {
            installation: INSTALLATION,
            tenant_id: "flooded",
            tenant_name: &flooded_name,
            connection: &conn,
        };
        let calm = TenantCluster {
            installation: INSTALLATION,
            tenant_id: "calm",
            tenant_name: &calm_name,
            connection: &conn,
        };
        let spec: hks_core::spec::CronJobSpec = serde_json::from_value(json!({
            "schedule": "0 0 1 1 *", "image": "hks.local/busybox:1", "suspend": true
        }))
        .unwrap();
        let runs = spec.resolve(None).unwrap();
        let of = |tenant: &str| Placement {
            tenant: tenant.to_owned(),
            ..placement(&ns)
        };
        let cronjobs: Api<CronJob> = Api::namespaced(admin, &ns);
        // The tenant's own doing: CronJobs made by hand with its labels.
        let create = async |tenant: &str, names: std::ops::Range<usize>| {
            for i in names {
                let cj = manifest::cronjob(&of(tenant), &format!("{tenant}-{i}"), &spec, &runs);
                cronjobs.create(&PostParams::default(), &cj).await.unwrap();
            }
        };
        create(&calm_name, 0..1).await;
        create(&flooded_name, 0..3).await;
        let seen = async |cluster: TenantCluster<'_>, count: usize| {
            until(
                &format!("{} CronJobs of {}", count, cluster.tenant_name),
                async || {
                    let o = gw.observe(cluster, &ns).await.ok()?;
                    (o.fresh && o.cronjobs.len() == count).then_some(())
                },
            )
            .await;
        };
        seen(flooded, 3).await;
        seen(calm, 1).await;

        // Over the bound: the flooded tenant's reads that need the caches fail.
        create(&flooded_name, 3..7).await;
        let error = until("the flooded tenant's watches stopped", async || {
            match gw.observe(flooded, &ns).await {
                Err(e @ KubeError::TooManyObjects { .. }) => Some(e),
                _ => None,
            }
        })
        .await;
        assert!(
            matches!(
                error,
                KubeError::TooManyObjects {
                    kind: "CronJob",
                    limit: 5
                }
            ),
            "{error:?}"
        );
        assert!(error.to_string().contains("more than 5"), "{error}");
        assert!(matches!(
            gw.cluster_runs(flooded).await,
            Err(KubeError::TooManyObjects { .. })
        ));
        assert!(matches!(
            gw.observe_cronjob(flooded, &ns, &format!("{flooded_name}-0"))
                .await,
            Err(KubeError::TooManyObjects { .. })
        ));
        assert_eq!(gw.view_version(flooded.tenant_id), None);
        // Tried again (a second later here): still too many.
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(matches!(
            gw.observe(flooded, &ns).await,
            Err(KubeError::TooManyObjects { .. })
        ));

        // The other tenant, on the same cluster and gateway, goes on.
        let o = gw.observe(calm, &ns).await.unwrap();
        assert!(o.fresh);
        assert_eq!(
            o.cronjobs.keys().collect::<Vec<_>>(),
            [&format!("{calm_name}-0")]
        );
        gw.cluster_runs(calm).await.unwrap();
        assert!(gw.view_version(calm.tenant_id).is_some());

        // Under the bound again: watched again, its reads work.
        for i in 3..7 {
            cronjobs
                .delete(&format!("{flooded_name}-{i}"), &DeleteParams::default())
                .await
                .unwrap();
        }
        seen(flooded, 3).await;
        gw.cluster_runs(flooded).await.unwrap();
        assert!(gw.view_version(flooded.tenant_id).is_some());
    })
    .await;
}

#[tokio::test]
async fn a_log_that_is_not_utf8_is_read_lossily_not_as_an_outage() {
    let Some(text) = kubeconfig() else { return };
    let client = admin_client(&text).await;
    let conn = connection(&text);
    let gw = KubeGateway::new(Settings::default());
    with_temp_ns(&client, |ns| async move {
        let cluster = TenantCluster {
            installation: INSTALLATION,
            tenant_id: "bytes",
            tenant_name: "acme",
            connection: &conn,
        };
        let p = placement(&ns);
        // \377 is no UTF-8; \342\202\254 is a euro sign, for cuts inside it.
        let spec: hks_core::spec::CronJobSpec = serde_json::from_value(json!({
            "schedule": "0 0 1 1 *", "image": "hks.local/busybox:1",
            "command": {"argv": ["printf 'before\\377after\\n\\342\\202\\254end\\n'"], "shell": true},
            "timeoutSeconds": 600, "retries": 0
        }))
        .unwrap();
        let cj = manifest::cronjob(&p, "bytes", &spec, &spec.resolve(None).unwrap());
        gw.apply(cluster, &[Object::CronJob(cj)]).await.unwrap();
        let run = gw.run_now(cluster, &ns, "bytes", "tests/ci").await.unwrap();
        wait_runs(&gw, cluster, &ns, "bytes", 600, |runs| {
            runs.first().is_some_and(|r| r.result == RunResult::Succeeded)
        })
        .await;

        let logs = gw
            .logs(cluster, &ns, "bytes", &run.name, &LogOptions::default())
            .await
            .unwrap();
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0].log, "before\u{fffd}after\n\u{20ac}end\n");
        let pod = logs[0].pod.clone();

        // A limit inside the euro sign cuts before it, not into U+FFFD.
        let cut = LogOptions {
            limit_bytes: Some(14),
            ..LogOptions::default()
        };
        let logs = gw.logs(cluster, &ns, "bytes", &run.name, &cut).await.unwrap();
        assert_eq!(logs[0].log, "before\u{fffd}after\n");

        // The archive gets the bytes as they were written.
        let whole = gw.attempt_log(cluster, &ns, &pod, 1 << 20).await.unwrap();
        assert_eq!(
            whole.as_deref(),
            Some(&b"before\xffafter\n\xe2\x82\xacend\n"[..])
        );
        let head = gw.attempt_log(cluster, &ns, &pod, 15).await.unwrap();
        assert_eq!(head.as_deref(), Some(&b"before\xffafter\n"[..]));

        // A followed log is text as well.
        use futures::TryStreamExt;
        let followed: String = gw
            .follow_logs(cluster, &ns, "bytes", &run.name, &LogOptions::default())
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(followed, "before\u{fffd}after\n\u{20ac}end\n");
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
        let cluster = TenantCluster { installation: INSTALLATION, tenant_id: "vc", tenant_name: "acme", connection: &conn };
        let p = placement(&ns);
        gw.dry_run(cluster, &[Object::Namespace(manifest::namespace(&p))]).await.expect("connected through the vCluster Secret");

        let missing: ClusterConnection = serde_json::from_value(json!({"kind": "vcluster", "hostKubeconfig": text, "namespace": ns, "name": "nope"})).unwrap();
        let err = gw.dry_run(TenantCluster { installation: INSTALLATION, tenant_id: "vc-missing", tenant_name: "acme", connection: &missing }, &[]).await.unwrap_err();
        assert!(matches!(err, KubeError::Misconfigured(ref m) if m.contains("vc-nope")), "{err:?}");
    })
    .await;
}

/// `text` with its user's credentials replaced by bearer token `token`.
fn with_token(text: &str, token: &str) -> String {
    let mut kc = kube::config::Kubeconfig::from_yaml(text).unwrap();
    for a in &mut kc.auth_infos {
        a.auth_info = Some(kube::config::AuthInfo {
            token: Some(token.to_owned().into()),
            ..kube::config::AuthInfo::default()
        });
    }
    serde_yaml::to_string(&kc).unwrap()
}

/// A vCluster whose Secret `vc-<name>` is rotated (its kubeconfig replaced
/// by one with other credentials) is reached with the new credentials,
/// without a restart: the gateway reads the Secret again when the cluster
/// refuses the old ones (and on an interval).
#[tokio::test]
async fn a_rotated_vcluster_secret_is_used_without_a_restart() {
    let Some(text) = kubeconfig() else { return };
    let client = admin_client(&text).await;
    let gw = KubeGateway::new(Settings::default());
    let host = client.clone();
    with_temp_ns(&client, |ns| async move {
        use kube::api::{Patch, PatchParams};
        let secrets = Api::<Secret>::namespaced(host, &ns);
        let old = with_token(&text, "a-revoked-token");
        let secret: Secret = serde_json::from_value(
            json!({"metadata": {"name": "vc-rot"}, "stringData": {"config": old}}),
        )
        .unwrap();
        secrets
            .create(&PostParams::default(), &secret)
            .await
            .unwrap();
        let conn: ClusterConnection = serde_json::from_value(json!({
            "kind": "vcluster", "hostKubeconfig": text, "namespace": ns, "name": "rot"
        }))
        .unwrap();
        let tenant = format!("rot-{ns}");
        let cluster = TenantCluster {
            installation: INSTALLATION,
            tenant_id: &tenant,
            tenant_name: "acme",
            connection: &conn,
        };
        let objects = [Object::Namespace(manifest::namespace(&placement(&ns)))];
        let err = gw.dry_run(cluster, &objects).await.unwrap_err();
        assert!(
            err.is_unauthorized(),
            "the old credentials are refused: {err:?}"
        );

        // The vCluster's credentials are rotated.
        secrets
            .patch(
                "vc-rot",
                &PatchParams::default(),
                &Patch::Merge(json!({"stringData": {"config": text}})),
            )
            .await
            .unwrap();
        let ceiling = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            match gw.dry_run(cluster, &objects).await {
                Ok(()) => break,
                Err(e) => assert!(
                    std::time::Instant::now() < ceiling,
                    "still not connected with the new credentials: {e:?}"
                ),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
}

fn kubeconfig_for(server: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user:\n    token: not-a-secret\n"
    )
}

/// Asks a gateway with short timeouts to dry-run an object and to read the
/// watch caches of the cluster at `server`: both must be
/// `KubeError::Unreachable`. How long each took.
async fn unreachable_within(server: &str, settings: Settings) -> (Duration, Duration) {
    let text = kubeconfig_for(server);
    let conn = connection(&text);
    let gw = KubeGateway::new(settings);
    let cluster = TenantCluster {
        installation: INSTALLATION,
        tenant_id: "down",
        tenant_name: "acme",
        connection: &conn,
    };
    let started = std::time::Instant::now();
    let objects = [Object::Namespace(manifest::namespace(
        &examples::placement(),
    ))];
    let err = tokio::time::timeout(Duration::from_secs(120), gw.dry_run(cluster, &objects))
        .await
        .unwrap_or_else(|_| panic!("{server}: dry_run hangs"))
        .unwrap_err();
    assert!(err.is_unreachable(), "{server}: {err:?}");
    let dry_run = started.elapsed();
    let started = std::time::Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(120), gw.observe(cluster, "x"))
        .await
        .unwrap_or_else(|_| panic!("{server}: observe hangs"))
        .unwrap_err();
    assert!(err.is_unreachable(), "{server}: {err:?}");
    (dry_run, started.elapsed())
}

#[tokio::test]
async fn an_apiserver_that_refuses_connections_is_unreachable() {
    // Port 1 on loopback: nothing listens there; the connection is refused
    // at once.
    let (dry_run, observe) = unreachable_within(
        "https://127.0.0.1:1",
        Settings {
            connect_timeout: Duration::from_secs(1),
            ..Settings::default()
        },
    )
    .await;
    assert!(dry_run < Duration::from_secs(30), "{dry_run:?}");
    assert!(observe < Duration::from_secs(30), "{observe:?}");
}

#[tokio::test]
async fn an_apiserver_that_does_not_answer_is_unreachable() {
    // A server on loopback that accepts every connection and then never
    // sends a byte (nor closes): the TLS handshake waits forever unless the
    // gateway gives up.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            held.push(socket);
        }
    });
    let connect_timeout = Duration::from_secs(2);
    let (dry_run, observe) = unreachable_within(
        &format!("https://{address}"),
        Settings {
            connect_timeout,
            request_timeout: Duration::from_secs(4),
            sync_timeout: Duration::from_secs(3),
            ..Settings::default()
        },
    )
    .await;
    silent.abort();
    assert!(
        accepted.load(std::sync::atomic::Ordering::Relaxed) > 0,
        "the gateway connected to the silent server"
    );
    // It waited for the server (no early refusal), and gave up within its
    // timeouts (a generous margin for a busy machine).
    assert!(
        dry_run >= connect_timeout && dry_run < Duration::from_secs(30),
        "{dry_run:?}"
    );
    assert!(observe < Duration::from_secs(30), "{observe:?}");
}

// ---- CronJobs that call a Function (issue 7) ----

/// Deploys `name` from the demo function image (it logs every request with
/// all its headers and answers `STATUS`) behind a Service on port 8080, and
/// waits until the Service routes to it. With `replicas: 0` the Service has
/// no endpoints: an unreachable Function inside the cluster.
async fn deploy_function(
    gw: &KubeGateway,
    cluster: TenantCluster<'_>,
    p: &Placement,
    name: &str,
    env: serde_json::Value,
    replicas: u32,
) -> hks_core::spec::FunctionSpec {
    let spec: hks_core::spec::StatelessSpec = serde_json::from_value(json!({
        "image": "hks.local/demo-function:1", "port": 8080, "env": env, "replicas": replicas
    }))
    .unwrap();
    let (d, s) = manifest::stateless(p, name, &spec);
    gw.apply(
        cluster,
        &[Object::Deployment(d), Object::Service(s.unwrap())],
    )
    .await
    .unwrap();
    if replicas > 0 {
        wait_until_served(&p.namespace, name).await;
    }
    serde_json::from_value(json!({
        "endpoint": format!("http://{name}.{}.svc.cluster.local:8080/hook", p.namespace),
        "method": "POST"
    }))
    .unwrap()
}

/// Waits until the Service `name` routes to a ready pod: the pod's Ready
/// condition is not enough. The EndpointSlice controller then adds the pod to
/// the Service's endpoints, and kube-proxy programs them at its next sync
/// (at most once a second); until then the ClusterIP REJECTs connections
/// ("no route to host"). A call made in that window fails its first attempt
/// without reaching the Function: that was this file's flake on fresh
/// machines, where the first call came within milliseconds of Ready. The test
/// runs on the node, so it reads kube-proxy's rules there (the node cannot
/// connect to a ClusterIP itself: the containment routes the service range
/// nowhere): a DNAT to an endpoint, and no "has no endpoints" REJECT.
async fn wait_until_served(ns: &str, name: &str) {
    let service = format!("{ns}/{name}:");
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    loop {
        let nat = iptables_save("nat");
        let filter = iptables_save("filter");
        let routed = nat
            .lines()
            .any(|l| l.contains(&service) && l.contains("-j DNAT"));
        let rejected = filter
            .lines()
            .any(|l| l.contains(&service) && l.contains("has no endpoints"));
        if routed && !rejected {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "kube-proxy never routed {ns}/{name} to its pod (DNAT rule: {routed}, REJECT rule: {rejected})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn iptables_save(table: &str) -> String {
    let out = std::process::Command::new("iptables-save")
        .args(["-t", table])
        .output()
        .expect("iptables-save (the tests run on the cluster's node, as root)");
    assert!(
        out.status.success(),
        "iptables-save -t {table}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The Function's own log (every request it received) once `done` holds
/// for it, or after two minutes: the container runtime writes log lines
/// asynchronously, so a request the Function has answered can reach its log
/// a moment later (longer on a busy machine).
async fn function_log_until(
    client: &Client,
    ns: &str,
    name: &str,
    done: impl Fn(&str) -> bool,
) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let log = function_log(client, ns, name).await;
        if done(&log) || std::time::Instant::now() > deadline {
            return log;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

async fn function_log(client: &Client, ns: &str, name: &str) -> String {
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let lp = ListParams::default().labels(&format!("hks.dev/application={name}"));
    let mut log = String::new();
    for pod in pods.list(&lp).await.unwrap().items {
        let n = pod.metadata.name.unwrap();
        log.push_str(&pods.logs(&n, &Default::default()).await.unwrap());
    }
    log
}

fn function_cronjob(
    p: &Placement,
    name: &str,
    function: &hks_core::spec::FunctionSpec,
    spec: serde_json::Value,
) -> Object {
    let spec: hks_core::spec::CronJobSpec = serde_json::from_value(spec).unwrap();
    let inv = spec.function.as_ref().unwrap().resolve(
        function,
        "hks.local/busybox:1",
        Default::default(),
    );
    Object::CronJob(manifest::function_cronjob(p, name, &spec, &inv))
}

/// Waits until `pred` holds for the runs of `cronjob` (newest first).
async fn wait_runs(
    gw: &KubeGateway,
    cluster: TenantCluster<'_>,
    ns: &str,
    cronjob: &str,
    seconds: u64,
    pred: impl Fn(&[hks_core::run::Run]) -> bool,
) -> Vec<hks_core::run::Run> {
    let mut runs = vec![];
    for _ in 0..seconds * 2 {
        runs = gw
            .observe(cluster, ns)
            .await
            .unwrap()
            .runs
            .get(cronjob)
            .cloned()
            .unwrap_or_default();
        if pred(&runs) {
            return runs;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("runs of {cronjob} after {seconds} s: {runs:#?}");
}

async fn run_log(
    gw: &KubeGateway,
    cluster: TenantCluster<'_>,
    ns: &str,
    cj: &str,
    run: &str,
) -> String {
    gw.logs(cluster, ns, cj, run, &LogOptions::default())
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.log)
        .collect()
}

#[tokio::test]
async fn a_function_is_called_on_schedule_and_by_run_now() {
    let Some(text) = kubeconfig() else { return };
    let client = admin_client(&text).await;
    let conn = connection(&text);
    let gw = KubeGateway::new(Settings::default());
    let host = client.clone();
    with_temp_ns(&client, |ns| async move {
        let client = host;
        let cluster = TenantCluster { installation: INSTALLATION, tenant_id: "fn-ok", tenant_name: "acme", connection: &conn };
        let p = placement(&ns);
        // The token reaches the Function from a mounted Secret; it is in
        // neither the CronJob nor the run's log.
        let token = format!("test-token-{}", suffix());
        let secret: Secret = serde_json::from_value(json!({"metadata": {"name": "fn-token"}, "stringData": {"token": token}})).unwrap();
        Api::<Secret>::namespaced(client.clone(), &ns).create(&PostParams::default(), &secret).await.unwrap();
        let mut function = deploy_function(&gw, cluster, &p, "fn", json!([]), 1).await;
        function.token_secret = Some(hks_core::spec::SecretKeyRef { name: "fn-token".into(), key: "token".into() });
        let cj = function_cronjob(&p, "call", &function, json!({
            "schedule": "* * * * *", "timeoutSeconds": 120, "retries": 0,
            "function": {"name": "fn", "headers": [{"name": "X-Source", "value": "hks-test"}], "body": "{\"n\":1}",
                "requestTimeoutSeconds": 10, "retries": 0}
        }));
        let Object::CronJob(manifest) = &cj else { unreachable!() };
        assert!(!serde_json::to_string(manifest).unwrap().contains(&token));
        gw.apply(cluster, &[cj]).await.unwrap();

        let started = std::time::Instant::now();
        let manual = gw.run_now(cluster, &ns, "call", "tests/ci").await.unwrap();
        let runs = wait_runs(&gw, cluster, &ns, "call", 300, |runs| {
            let ok = |t| runs.iter().any(|r| r.trigger == t && r.result == RunResult::Succeeded);
            ok(hks_core::run::Trigger::Manual) && ok(hks_core::run::Trigger::Scheduled)
        })
        .await;
        eprintln!("a manual and a scheduled run succeeded after {:?}", started.elapsed());

        let succeeded: Vec<_> = runs.iter().filter(|r| r.result == RunResult::Succeeded).collect();
        let log = function_log_until(&client, &ns, "fn", |log| {
            succeeded
                .iter()
                .all(|r| log.contains(&format!("header X-Hks-Execution-Id: {}\n", r.name)))
        })
        .await;
        for run in &succeeded {
            assert!(
                log.contains(&format!("header X-Hks-Execution-Id: {}\n", run.name)),
                "the Function's log shows run {}: {log}",
                run.name
            );
            let own = run_log(&gw, cluster, &ns, "call", &run.name).await;
            assert!(own.contains("status 200 OK, latency"), "{own}");
            assert!(own.contains(&format!("(execution id {})", run.name)), "{own}");
            assert!(!own.contains(&token), "the token is not in the run's log");
        }
        assert!(runs.iter().any(|r| r.name == manual.name));
        assert!(log.contains("request POST /hook"), "{log}");
        assert!(log.contains("header X-Source: hks-test"), "{log}");
        // The demo function logs a credential by its length only.
        assert!(
            log.contains(&format!("header Authorization: Bearer [redacted, {} bytes]", token.len())),
            "the token was sent: {log}"
        );
        assert!(!log.contains(&token));
    })
    .await;
}

#[tokio::test]
async fn a_function_answering_500_fails_the_run() {
    let Some(text) = kubeconfig() else { return };
    let client = admin_client(&text).await;
    let conn = connection(&text);
    let gw = KubeGateway::new(Settings::default());
    let host = client.clone();
    with_temp_ns(&client, |ns| async move {
        let client = host;
        let cluster = TenantCluster { installation: INSTALLATION, tenant_id: "fn-500", tenant_name: "acme", connection: &conn };
        let p = placement(&ns);
        let function = deploy_function(&gw, cluster, &p, "broken", json!([{"name": "STATUS", "value": "500"}]), 1).await;
        gw.apply(cluster, &[function_cronjob(&p, "call", &function, json!({
            "schedule": "0 0 1 1 *", "timeoutSeconds": 60, "retries": 0,
            "function": {"name": "broken", "requestTimeoutSeconds": 5, "retries": 1, "backoffSeconds": 1}
        }))]).await.unwrap();
        let run = gw.run_now(cluster, &ns, "call", "tests/ci").await.unwrap();
        let runs = wait_runs(&gw, cluster, &ns, "call", 300, |runs| {
            runs.iter().any(|r| r.name == run.name && r.result == RunResult::Failed)
        })
        .await;
        let failed = runs.iter().find(|r| r.name == run.name).unwrap();
        assert_eq!(failed.exit_code, Some(1), "{failed:?}");
        let own = run_log(&gw, cluster, &ns, "call", &run.name).await;
        assert!(own.contains("status 500 Internal Server Error"), "{own}");
        assert!(own.contains("failed: status 500 does not meet 2xx"), "{own}");
        // One retry inside the run: the Function saw the same execution id twice.
        let id = format!("header X-Hks-Execution-Id: {}\n", run.name);
        let log = function_log_until(&client, &ns, "broken", |log| log.matches(&id).count() >= 2).await;
        assert_eq!(log.matches(&id).count(), 2, "FUNCTION LOG:\n{log}\nRUN LOG:\n{own}");
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_function_fails_within_the_timeout() {
    let Some(text) = kubeconfig() else { return };
    let client = admin_client(&text).await;
    let conn = connection(&text);
    let gw = KubeGateway::new(Settings::default());
    let host = client.clone();
    with_temp_ns(&client, |ns| async move {
        let client = host;
        let cluster = TenantCluster { installation: INSTALLATION, tenant_id: "fn-down", tenant_name: "acme", connection: &conn };
        let p = placement(&ns);
        // A Service without ready endpoints, inside the cluster.
        let function = deploy_function(&gw, cluster, &p, "gone", json!([]), 0).await;
        gw.apply(cluster, &[function_cronjob(&p, "call", &function, json!({
            "schedule": "0 0 1 1 *", "timeoutSeconds": 60, "retries": 0,
            "function": {"name": "gone", "requestTimeoutSeconds": 3, "retries": 1, "backoffSeconds": 1}
        }))]).await.unwrap();
        let run = gw.run_now(cluster, &ns, "call", "tests/ci").await.unwrap();
        wait_runs(&gw, cluster, &ns, "call", 300, |runs| {
            runs.iter().any(|r| r.name == run.name && r.result == RunResult::Failed)
        })
        .await;
        let own = run_log(&gw, cluster, &ns, "call", &run.name).await;
        assert!(own.contains("no response"), "{own}");
        assert!(own.contains("attempt 2/2"), "{own}");
        // Two attempts of at most 3 s and one wait of 1 s: 7 s at most,
        // measured from the container's start to its end (the pod's
        // scheduling and start-up are not the client's doing). The
        // kubelet's times have whole seconds; 5 s more for that and for
        // starting the program on a busy machine.
        let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
        let lp = ListParams::default().labels(&format!("batch.kubernetes.io/job-name={}", run.name));
        let pods = pods.list(&lp).await.unwrap().items;
        assert_eq!(pods.len(), 1, "one attempt (retries: 0): {pods:#?}");
        let terminated = pods[0]
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .and_then(|c| c.first())
            .and_then(|c| c.state.as_ref())
            .and_then(|s| s.terminated.clone())
            .unwrap_or_else(|| panic!("the container has terminated: {:#?}", pods[0].status));
        let (start, end) = (terminated.started_at.clone().unwrap().0, terminated.finished_at.clone().unwrap().0);
        let took = end.duration_since(start);
        eprintln!("the unreachable Function's client ran {took:#}: {own}");
        assert_eq!(terminated.exit_code, 1, "{terminated:?}");
        assert!(took <= jiff::SignedDuration::from_secs(12), "the client ran {took:#}: {own}");
    })
    .await;
}
