//! The API on the development cluster: the acceptance journey, and the
//! reconciler with two tenants on one physical cluster. Skipped (with a
//! note) without a cluster, unless `HKS_KUBECONFIG` names one (as
//! `./dev/test` does).

use std::time::Duration;

use axum::http::StatusCode;
use hks_api::dto::{CronJobSummary, CronJobView, RunLogs};
use hks_core::run::{Run, RunResult, Trigger};
use serde_json::json;

use crate::common::{ADMIN, TestApp, eventually, pod_spec};

/// Polls `done` every half second until it holds; fails after `seconds`.
async fn wait_until(what: &str, seconds: u64, mut done: impl AsyncFnMut() -> bool) {
    eventually(
        what,
        Duration::from_secs(seconds),
        Duration::from_millis(500),
        async || done().await.then_some(()),
    )
    .await;
}

/// A client of the cluster `kubeconfig` names.
async fn client(kubeconfig: &str) -> kube::Client {
    let kc = kube::config::Kubeconfig::from_yaml(kubeconfig).unwrap();
    kube::Client::try_from(
        kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .unwrap(),
    )
    .unwrap()
}

/// The acceptance journey against the real local cluster: a CronJob from a
/// template with a command override, Run now, its result and log, suspend,
/// edit, drift corrected, delete.
#[tokio::test]
async fn journey_on_the_real_cluster() {
    let Some(kubeconfig) = hks_testkit::cluster() else {
        return;
    };
    let app = TestApp::on_cluster().await;
    let tenant = app.tenant_on("journey", &kubeconfig).await;
    let token = tenant.token;
    let project = format!("j{}", &tenant.id[..6]);
    let namespace = app.project(&token, &project).await.namespace;

    let result = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(journey(
        &app,
        &token,
        &project,
        &namespace,
        &kubeconfig,
    )))
    .await;
    let deleted = app
        .delete(&format!("/api/v1/projects/{project}"), &token)
        .await;
    // The namespace goes, runs and all: HKS's finalizers do not keep it.
    let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> =
        kube::Api::all(client(&kubeconfig).await);
    let mut gone = false;
    for _ in 0..240 {
        if namespaces.get_opt(&namespace).await.unwrap().is_none() {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(gone, "namespace {namespace} is still there after 120 s");
}

async fn journey(app: &TestApp, token: &str, project: &str, namespace: &str, kubeconfig: &str) {
    let base = format!("/api/v1/projects/{project}");
    let web = json!({"name": "web", "type": "stateless", "spec": {
        "image": "hks.local/busybox:1", "command": ["httpd", "-f", "-p", "8080", "-h", "/etc"], "port": 8080,
        "env": [{"name": "GREETING", "value": "hello"}]
    }});
    assert_eq!(
        app.post(&format!("{base}/applications"), token, web)
            .await
            .status,
        StatusCode::CREATED
    );
    let job = json!({"name": "report", "spec": {
        "schedule": "0 9 * * 1", "timeZone": "Europe/Berlin",
        "template": {"application": "web", "mode": "follow"},
        "command": {"argv": [concat!(
            "echo \"$GREETING from the report\"; ",
            "grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status; ",
            "test -e /var/run/secrets/kubernetes.io/serviceaccount/token && echo token || echo no-token; ",
            "exit 0"
        )], "shell": true}
    }});
    let r = app.post(&format!("{base}/cronjobs"), token, job).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r}");

    // In the cluster with the expected pod spec.
    let cronjobs: kube::Api<k8s_openapi::api::batch::v1::CronJob> =
        kube::Api::namespaced(client(kubeconfig).await, namespace);
    let cj = cronjobs.get("report").await.unwrap();
    let pod = pod_spec(&cj);
    assert_eq!(
        pod.containers[0].image.as_deref(),
        Some("hks.local/busybox:1")
    );
    assert_eq!(
        pod.containers[0].command.as_ref().unwrap()[..2],
        ["sh", "-c"]
    );
    assert_eq!(cj.spec.time_zone.as_deref(), Some("Europe/Berlin"));

    // Run now; the run succeeds with exit code 0, and its log is readable.
    let run: Run = app
        .post(&format!("{base}/cronjobs/report/runs"), token, json!({}))
        .await
        .expect_json(StatusCode::CREATED);
    let run_name = run.name;
    let mut last: Option<Run> = None;
    // Pod start-up on the single-node dev cluster can take a while when it is busy.
    for _ in 0..360 {
        last = app
            .get(&format!("{base}/cronjobs"), token)
            .await
            .json::<Vec<CronJobSummary>>()
            .into_iter()
            .next()
            .and_then(|c| c.last_run);
        if last
            .as_ref()
            .is_some_and(|r| r.result == RunResult::Succeeded)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let last = last.expect("a last run");
    assert_eq!(last.result, RunResult::Succeeded, "{last:?}");
    assert_eq!(last.exit_code, Some(0));
    assert_eq!(last.trigger, Trigger::Manual);
    let logs: RunLogs = app
        .get(
            &format!("{base}/cronjobs/report/runs/{run_name}/logs"),
            token,
        )
        .await
        .json();
    // Hardened by default: no capabilities, no privilege escalation, the
    // runtime's seccomp filter, no service account token.
    assert_eq!(
        logs.attempts[0].log,
        "hello from the report\nCapEff:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\nno-token\n"
    );
    hardened_namespace(kubeconfig, namespace, &run_name).await;

    // Suspend, edit the schedule: both reach the cluster.
    assert_eq!(
        app.post(&format!("{base}/cronjobs/report/suspend"), token, json!({}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        cronjobs.get("report").await.unwrap().spec.suspend,
        Some(true)
    );
    let mut spec = app
        .get(&format!("{base}/cronjobs/report"), token)
        .await
        .json::<CronJobView>()
        .spec;
    spec.schedule = hks_core::values::Schedule::parse("30 6 * * *").unwrap();
    assert_eq!(
        app.put(&format!("{base}/cronjobs/report"), token, json!(spec))
            .await
            .status,
        StatusCode::OK
    );
    let cj = cronjobs.get("report").await.unwrap();
    assert_eq!(
        (cj.spec.schedule.as_str(), cj.spec.suspend),
        ("30 6 * * *", Some(true))
    );

    // Deleted by hand: the reconciler puts it back.
    cronjobs
        .delete("report", &Default::default())
        .await
        .unwrap();
    wait_until("the CronJob deleted by hand gone", 120, async || {
        cronjobs.get_opt("report").await.unwrap().is_none()
    })
    .await;
    // The watch cache may lag behind the deletion: a later pass catches it.
    wait_until("the reconciler re-creating the CronJob", 300, async || {
        hks_controller::reconcile(app.state.app()).await.unwrap();
        cronjobs.get_opt("report").await.unwrap().is_some()
    })
    .await;
    assert_eq!(
        cronjobs.get("report").await.unwrap().spec.schedule,
        "30 6 * * *"
    );

    // Delete.
    assert_eq!(
        app.delete(&format!("{base}/cronjobs/report"), token)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert!(
        cronjobs
            .get_opt("report")
            .await
            .unwrap()
            .is_none_or(|c| c.metadata.deletion_timestamp.is_some())
    );
}

/// A project's namespace enforces Pod Security `baseline` and has a
/// LimitRange: the run (whose container states no resources) got the
/// default limits, and a pod beyond `baseline` is refused by admission.
async fn hardened_namespace(kubeconfig: &str, namespace: &str, run: &str) {
    use k8s_openapi::api::core::v1::{LimitRange, Namespace, Pod};
    let c = client(kubeconfig).await;
    let ns = kube::Api::<Namespace>::all(c.clone())
        .get(namespace)
        .await
        .unwrap();
    let labels = ns.metadata.labels.unwrap();
    assert_eq!(labels["pod-security.kubernetes.io/enforce"], "baseline");
    assert_eq!(labels["pod-security.kubernetes.io/warn"], "restricted");
    kube::Api::<LimitRange>::namespaced(c.clone(), namespace)
        .get(hks_core::manifest::LIMIT_RANGE)
        .await
        .unwrap();
    let pods = kube::Api::<Pod>::namespaced(c.clone(), namespace);
    let pod = pods
        .list(
            &kube::api::ListParams::default()
                .labels(&format!("batch.kubernetes.io/job-name={run}")),
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .next()
        .expect("the run's pod is kept until HKS archived it, or listed before");
    let limits = pod.spec.unwrap().containers[0]
        .resources
        .clone()
        .unwrap()
        .limits
        .unwrap();
    let (cpu, memory) = hks_core::manifest::DEFAULT_LIMITS;
    assert_eq!(limits["cpu"].0, cpu);
    assert_eq!(limits["memory"].0, memory);

    // (The apiserver already refuses `privileged: true` everywhere.)
    let privileged: Pod = serde_json::from_value(json!({
        "metadata": {"name": "sys-admin"},
        "spec": {"containers": [{"name": "c", "image": "hks.local/busybox:1",
            "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}]}
    }))
    .unwrap();
    match pods.create(&Default::default(), &privileged).await {
        Err(kube::Error::Api(e)) => {
            assert_eq!(e.code, 403, "{e:?}");
            assert!(e.message.contains("PodSecurity"), "{e:?}");
        }
        other => panic!("a pod adding SYS_ADMIN was not refused: {other:?}"),
    }
}

/// The reconciler and tenancy on the real cluster: two tenants on one
/// physical cluster, each with a project `shop` and a CronJob `report`.
/// A CronJob deleted by hand is re-created, one edited by hand (a new
/// generation) is put back, an HKS-labelled CronJob the store does not know
/// is removed; neither tenant sees the other's CronJobs or runs.
#[tokio::test]
async fn reconciler_and_tenants_on_the_real_cluster() {
    let Some(kubeconfig) = hks_testkit::cluster() else {
        return;
    };
    let app = TestApp::on_cluster().await;
    let client = client(&kubeconfig).await;
    let mut tenants = vec![];
    for name in ["rec-a", "rec-b"] {
        let token = app.tenant_on(name, &kubeconfig).await.token;
        let namespace = app.project(&token, "shop").await.namespace;
        tenants.push((token, namespace));
    }
    let result = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(
        reconciler_and_tenants(&app, &client, &tenants),
    ))
    .await;
    let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> =
        kube::Api::all(client.clone());
    for (token, namespace) in &tenants {
        let deleted = app.delete("/api/v1/projects/shop", token).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        wait_until("the project's namespace gone", 300, async || {
            namespaces.get_opt(namespace).await.unwrap().is_none()
        })
        .await;
    }
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

async fn reconciler_and_tenants(
    app: &TestApp,
    client: &kube::Client,
    tenants: &[(String, String)],
) {
    type CronJob = k8s_openapi::api::batch::v1::CronJob;
    let [(a, ns_a), (b, ns_b)] = tenants else {
        unreachable!()
    };
    assert_ne!(ns_a, ns_b, "one project name, two namespaces");
    let cronjob = |name: &str, text: &str| {
        json!({"name": name, "spec": {
            "schedule": "0 0 1 1 *", "image": "hks.local/busybox:1",
            "command": {"argv": [format!("echo {text}")], "shell": true}, "retries": 0
        }})
    };
    for (token, cronjobs) in [(a, &["report"][..]), (b, &["report", "other"][..])] {
        for name in cronjobs {
            app.cronjob(token, "shop", cronjob(name, name)).await;
        }
    }
    let api_a: kube::Api<CronJob> = kube::Api::namespaced(client.clone(), ns_a);
    let api_b: kube::Api<CronJob> = kube::Api::namespaced(client.clone(), ns_b);

    // Tenant A runs its CronJob; tenant B sees neither that run nor A's CronJobs.
    let run: Run = app
        .post("/api/v1/projects/shop/cronjobs/report/runs", a, json!({}))
        .await
        .expect_json(StatusCode::CREATED);
    let run = run.name;
    wait_until("tenant A's run to succeed", 300, async || {
        let runs = app
            .get("/api/v1/projects/shop/cronjobs/report/runs", a)
            .await;
        runs.try_json::<Vec<Run>>().is_some_and(|r| {
            r.iter()
                .any(|r| r.name == run && r.result == RunResult::Succeeded)
        })
    })
    .await;
    let names = |list: &[CronJobSummary]| -> Vec<String> {
        let mut n: Vec<String> = list.iter().map(|c| c.name.clone()).collect();
        n.sort();
        n
    };
    let list_a: Vec<CronJobSummary> = app.get("/api/v1/projects/shop/cronjobs", a).await.json();
    let list_b: Vec<CronJobSummary> = app.get("/api/v1/projects/shop/cronjobs", b).await.json();
    assert_eq!(names(&list_a), ["report"], "{list_a:?}");
    assert_eq!(names(&list_b), ["other", "report"], "{list_b:?}");
    assert!(list_b[1].last_run.is_none(), "{list_b:?}");
    let runs_b: Vec<Run> = app
        .get("/api/v1/projects/shop/cronjobs/report/runs", b)
        .await
        .expect_json(StatusCode::OK);
    assert!(runs_b.is_empty(), "tenant B sees no run of A's");
    let log = app
        .get(
            &format!("/api/v1/projects/shop/cronjobs/report/runs/{run}/logs"),
            b,
        )
        .await;
    assert_eq!(log.status, StatusCode::NOT_FOUND, "{log}");
    let own: RunLogs = app
        .get(
            &format!("/api/v1/projects/shop/cronjobs/report/runs/{run}/logs"),
            a,
        )
        .await
        .json();
    assert_eq!(own.attempts[0].log, "report\n", "{own:?}");

    // Edited by hand: a new generation, put back by the reconciler.
    let before = api_a.get("report").await.unwrap();
    api_a
        .patch(
            "report",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"spec": {"schedule": "5 5 5 5 *"}})),
        )
        .await
        .unwrap();
    let edited = api_a.get("report").await.unwrap();
    assert_ne!(edited.metadata.generation, before.metadata.generation);
    wait_until(
        "the reconciler restoring the edited CronJob",
        300,
        async || {
            hks_controller::reconcile(app.state.app()).await.unwrap();
            api_a.get("report").await.unwrap().spec.schedule == "0 0 1 1 *"
        },
    )
    .await;

    // Deleted by hand: re-created.
    api_b.delete("other", &Default::default()).await.unwrap();
    wait_until("the CronJob deleted by hand gone", 120, async || {
        api_b.get_opt("other").await.unwrap().is_none()
    })
    .await;
    wait_until(
        "the reconciler re-creating the deleted CronJob",
        300,
        async || {
            hks_controller::reconcile(app.state.app()).await.unwrap();
            api_b.get_opt("other").await.unwrap().is_some()
        },
    )
    .await;

    // An HKS-labelled CronJob that the store does not know: removed, and so
    // is one HKS made before it labelled its installation (adopted first).
    // One labelled as another installation's (its tenant has the same name
    // and, here, the same namespace) is not this installation's to remove,
    // nor to show. The tenants' own CronJobs stay.
    let installation = hks_core::labels::LABEL_INSTALLATION;
    let orphan = |name: &str, installation_label: Option<&str>| {
        let mut labels = before.metadata.labels.clone().unwrap();
        match installation_label {
            Some(value) => labels.insert(installation.to_owned(), value.to_owned()),
            None => labels.remove(installation),
        };
        let mut o = before.clone();
        o.metadata = kube::api::ObjectMeta {
            name: Some(name.into()),
            labels: Some(labels),
            ..Default::default()
        };
        o.status = None;
        o
    };
    assert_eq!(
        before.metadata.labels.as_ref().unwrap()[installation],
        app.state.app().installation()
    );
    for o in [
        orphan("orphan", Some(app.state.app().installation())),
        orphan("older", None),
        orphan("another-installations", Some("0123456789ab")),
    ] {
        api_a
            .create(&kube::api::PostParams::default(), &o)
            .await
            .unwrap();
    }
    let gone = async |name: &str| {
        api_a
            .get_opt(name)
            .await
            .unwrap()
            .is_none_or(|c| c.metadata.deletion_timestamp.is_some())
    };
    wait_until("the reconciler deleting the orphans", 300, async || {
        hks_controller::reconcile(app.state.app()).await.unwrap();
        gone("orphan").await && gone("older").await
    })
    .await;
    hks_controller::reconcile(app.state.app()).await.unwrap();
    let kept = api_a.get("another-installations").await.unwrap();
    assert!(kept.metadata.deletion_timestamp.is_none());
    assert_eq!(
        kept.metadata.labels.unwrap()[installation],
        "0123456789ab",
        "not adopted"
    );
    api_a
        .delete("another-installations", &Default::default())
        .await
        .unwrap();
    assert!(api_a.get_opt("report").await.unwrap().is_some());
    assert!(api_b.get_opt("report").await.unwrap().is_some());
    assert!(api_b.get_opt("other").await.unwrap().is_some());
    let list_a: Vec<CronJobSummary> = app.get("/api/v1/projects/shop/cronjobs", a).await.json();
    assert_eq!(names(&list_a), ["report"], "{list_a:?}");
}

/// Deleting a tenant stops everything it ran: its tokens at once, and in the
/// cluster its namespace (with an every-minute CronJob and a run whose pod
/// holds HKS's finalizer, which nobody would release otherwise) is deleted
/// by the retirement pass until it is gone.
#[tokio::test]
async fn a_deleted_tenant_stops_running_in_its_cluster() {
    use k8s_openapi::api::core::v1::{Namespace, Pod};
    let Some(kubeconfig) = hks_testkit::cluster() else {
        return;
    };
    let app = TestApp::on_cluster().await;
    let tenant = app.tenant_on("gone", &kubeconfig).await;
    let project = format!("g{}", &tenant.id[..6]);
    let namespace = app.project(&tenant.token, &project).await.namespace;
    let base = format!("/api/v1/projects/{project}");
    let job = json!({"name": "every-minute", "spec": {
        "schedule": "* * * * *", "image": "hks.local/busybox:1",
        "command": {"argv": ["sleep 600"], "shell": true}
    }});
    app.post(&format!("{base}/cronjobs"), &tenant.token, job)
        .await
        .expect_status(StatusCode::CREATED);
    let run: Run = app
        .post(
            &format!("{base}/cronjobs/every-minute/runs"),
            &tenant.token,
            json!({}),
        )
        .await
        .expect_json(StatusCode::CREATED);
    let c = client(&kubeconfig).await;
    let pods = kube::Api::<Pod>::namespaced(c.clone(), &namespace);
    let selector = format!("batch.kubernetes.io/job-name={}", run.name);
    wait_until("the run's pod", 120, async || {
        !pods
            .list(&kube::api::ListParams::default().labels(&selector))
            .await
            .unwrap()
            .items
            .is_empty()
    })
    .await;

    app.delete(&format!("/api/v1/admin/tenants/{}", tenant.name), ADMIN)
        .await
        .expect_status(StatusCode::NO_CONTENT);
    app.get(&format!("{base}/cronjobs"), &tenant.token)
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
    let namespaces = kube::Api::<Namespace>::all(c);
    wait_until("the deleted tenant's namespace gone", 300, async || {
        hks_controller::retirement::retire(app.state.app())
            .await
            .unwrap();
        namespaces.get_opt(&namespace).await.unwrap().is_none()
    })
    .await;
    let left = hks_controller::retirement::retire(app.state.app())
        .await
        .unwrap();
    assert_eq!(left, Default::default(), "nothing left to clean up");
}
