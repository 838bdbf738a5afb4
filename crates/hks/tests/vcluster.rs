//! HKS with its tenants in real vClusters (`dev/cluster/hksc vcluster`),
//! connected by reference (the kubeconfig in Secret `vc-<name>`): CronJobs
//! made through HKS exist and run only in the tenant's virtual cluster, their
//! pods run on the host under vCluster's translated names, Run now and logs
//! work through the virtual API, two tenants in two vClusters see only their
//! own, and a restart of a vCluster's control plane loses no run.
//!
//! The run-history test with Kubernetes' history limits of 0 and HKS killed
//! in between, in a vCluster too, is `history_cluster.rs`'s
//! `runs_and_logs_outlive_kubernetes_and_a_restart`.

use std::time::Duration;

use axum::http::StatusCode;
use hks_api::dto::{CronJobSummary, RunLogs};
use hks_controller::recorder;
use hks_core::run::{Run, RunResult, Trigger};
use hks_testkit::Vcluster;
use hks_testkit::app::{Setup, TestApp};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, ListParams};
use serde_json::json;

mod common;

use common::{client_of, wait};

/// HKS on the real gateway, its recorder passing every 300 ms and its
/// housekeeping (missed runs) every 2 s.
async fn hks() -> TestApp {
    let app = TestApp::build(Setup {
        live: true,
        ..Setup::default()
    })
    .await;
    app.start_recorder(recorder::Settings {
        interval: Duration::from_millis(300),
        housekeeping: Duration::from_secs(2),
        ..recorder::Settings::default()
    });
    app
}

/// A tenant in `vc` with a project: its token, the project's API path and
/// its namespace (in the virtual cluster).
async fn project_in(app: &TestApp, tenant: &str, vc: &Vcluster) -> (String, String, String) {
    let t = app.tenant_in_vcluster(tenant, vc).await;
    let p = app.project(&t.token, "work").await;
    (t.token, format!("/api/v1/projects/{}", p.name), p.namespace)
}

async fn runs(app: &TestApp, token: &str, base: &str, cronjob: &str) -> Vec<Run> {
    app.get(&format!("{base}/cronjobs/{cronjob}/runs"), token)
        .await
        .expect_json(StatusCode::OK)
}

async fn logs(app: &TestApp, token: &str, base: &str, cronjob: &str, run: &str) -> RunLogs {
    app.get(&format!("{base}/cronjobs/{cronjob}/runs/{run}/logs"), token)
        .await
        .expect_json(StatusCode::OK)
}

fn every_minute(command: &str) -> serde_json::Value {
    json!({
        "schedule": "* * * * *", "image": "hks.local/busybox:1",
        "command": {"argv": [command], "shell": true},
        "retries": 0, "startingDeadlineSeconds": 30,
        "successfulJobsHistoryLimit": 10, "failedJobsHistoryLimit": 10
    })
}

#[tokio::test]
async fn a_cronjob_made_through_hks_runs_in_its_tenants_vcluster() {
    let Some(vc) = hks_testkit::vcluster("hks-a") else {
        return;
    };
    let virt = client_of(&vc.kubeconfig).await;
    let host = client_of(&vc.host_kubeconfig).await;
    let app = hks().await;
    let (token, base, ns) = project_in(&app, "in-vcluster", &vc).await;
    // A line of text and a byte that is not UTF-8.
    let r = app
        .post(
            &format!("{base}/cronjobs"),
            &token,
            json!({"name": "tick", "spec": every_minute("echo hello-from-the-vcluster; printf '\\377\\n'")}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r}");

    // The CronJob is in the virtual cluster; the host has not even the namespace.
    let cronjobs: Api<CronJob> = Api::namespaced(virt.clone(), &ns);
    assert!(cronjobs.get_opt("tick").await.unwrap().is_some());
    let host_namespaces: Api<Namespace> = Api::all(host.clone());
    assert!(
        host_namespaces.get_opt(&ns).await.unwrap().is_none(),
        "the tenant's namespace exists on the host"
    );

    // Run now, through the virtual API; its log through HKS.
    let manual: Run = app
        .post(&format!("{base}/cronjobs/tick/runs"), &token, json!({}))
        .await
        .expect_json(StatusCode::CREATED);
    wait("the manual run, succeeded", 180, async || {
        runs(&app, &token, &base, "tick")
            .await
            .into_iter()
            .find(|r| r.name == manual.name && r.result == RunResult::Succeeded)
    })
    .await;
    let log = wait("the manual run's log", 60, async || {
        let l = logs(&app, &token, &base, "tick", &manual.name).await;
        l.attempts
            .into_iter()
            .next()
            .filter(|a| a.log.contains("hello-from-the-vcluster"))
    })
    .await;
    assert!(log.log.contains('\u{FFFD}'), "{log:?}");

    // Run now with one-off overrides: this run's command and environment
    // reach the container; the run records them.
    let overridden: Run = app
        .post(
            &format!("{base}/cronjobs/tick/runs"),
            &token,
            json!({"command": {"argv": ["echo \"override:$GREETING\""], "shell": true},
                   "env": [{"name": "GREETING", "value": "hi-once"}], "timeoutSeconds": 60}),
        )
        .await
        .expect_json(StatusCode::CREATED);
    wait("the overridden run's log", 180, async || {
        let l = logs(&app, &token, &base, "tick", &overridden.name).await;
        l.attempts
            .first()
            .is_some_and(|a| a.log == "override:hi-once\n")
            .then_some(())
    })
    .await;
    let recorded = runs(&app, &token, &base, "tick")
        .await
        .into_iter()
        .find(|r| r.name == overridden.name)
        .unwrap();
    assert_eq!(recorded.overrides.unwrap().timeout_seconds, Some(60));

    // Cancel a run that would take five minutes: it ends as Cancelled
    // within 15 s, with who cancelled it, and no pod of it still runs.
    let long: Run = app
        .post(
            &format!("{base}/cronjobs/tick/runs"),
            &token,
            json!({"command": {"argv": ["echo started; sleep 300"], "shell": true}}),
        )
        .await
        .expect_json(StatusCode::CREATED);
    wait("the long run, running", 180, async || {
        runs(&app, &token, &base, "tick")
            .await
            .into_iter()
            .find(|r| r.name == long.name && r.result == RunResult::Running)
    })
    .await;
    let asked = std::time::Instant::now();
    let cancelled: Run = app
        .post(
            &format!("{base}/cronjobs/tick/runs/{}/cancel", long.name),
            &token,
            json!({}),
        )
        .await
        .expect_json(StatusCode::OK);
    assert!(cancelled.cancelled_by.is_some(), "{cancelled:?}");
    let virt_pods: Api<Pod> = Api::namespaced(virt.clone(), &ns);
    wait(
        "the cancelled run, ended with no pod running",
        15,
        async || {
            let run = runs(&app, &token, &base, "tick")
                .await
                .into_iter()
                .find(|r| r.name == long.name && r.result == RunResult::Cancelled)?;
            let pods = virt_pods
                .list(
                    &ListParams::default()
                        .labels(&format!("batch.kubernetes.io/job-name={}", long.name)),
                )
                .await
                .ok()?;
            let running = pods.items.iter().any(|p| {
                p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
                    && p.metadata.deletion_timestamp.is_none()
            });
            (!running).then_some(run)
        },
    )
    .await;
    eprintln!(
        "measure: cancel to Cancelled in {:.1} s",
        asked.elapsed().as_secs_f64()
    );
    let again = app
        .post(
            &format!("{base}/cronjobs/tick/runs/{}/cancel", long.name),
            &token,
            json!({}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{again}");

    // The Job exists only in the virtual cluster; its pod ran on the host
    // in the vCluster's namespace, under its translated name.
    let jobs: Api<Job> = Api::namespaced(virt.clone(), &ns);
    assert!(jobs.get_opt(&manual.name).await.unwrap().is_some());
    let pod = &log.pod;
    let host_pods: Api<Pod> = Api::namespaced(host.clone(), &vc.namespace);
    let translated = format!("{pod}-x-{ns}-x-{}", vc.name);
    assert!(
        host_pods.get_opt(&translated).await.unwrap().is_some(),
        "no host pod {translated}"
    );

    // The schedule fires in the virtual cluster, and HKS records the run
    // with its log.
    let scheduled = wait("a scheduled run, recorded with its log", 200, async || {
        let run = runs(&app, &token, &base, "tick")
            .await
            .into_iter()
            .find(|r| r.trigger == Trigger::Scheduled && r.result == RunResult::Succeeded)?;
        let l = logs(&app, &token, &base, "tick", &run.name).await;
        l.attempts
            .first()
            .is_some_and(|a| a.log.contains("hello-from-the-vcluster"))
            .then_some(run)
    })
    .await;
    assert!(jobs.get_opt(&scheduled.name).await.unwrap().is_some());
    let list: Vec<CronJobSummary> = app
        .get(&format!("{base}/cronjobs"), &token)
        .await
        .expect_json(StatusCode::OK);
    assert!(list[0].last_run.is_some(), "{list:?}");
    app.stop_recorder();
}

#[tokio::test]
async fn two_tenants_in_two_vclusters_see_only_their_own() {
    let Some(vc_a) = hks_testkit::vcluster("hks-a") else {
        return;
    };
    let Some(vc_b) = hks_testkit::vcluster("hks-b") else {
        return;
    };
    let app = hks().await;
    let (token_a, base_a, ns_a) = project_in(&app, "tenant-a", &vc_a).await;
    let (token_b, base_b, ns_b) = project_in(&app, "tenant-b", &vc_b).await;
    // The same project and CronJob names in both.
    assert_eq!(base_a, base_b);
    for (token, base, text) in [(&token_a, &base_a, "from-a"), (&token_b, &base_b, "from-b")] {
        let mut spec = every_minute(&format!("echo {text}"));
        spec["suspend"] = json!(true);
        let r = app
            .post(
                &format!("{base}/cronjobs"),
                token,
                json!({"name": "same", "spec": spec}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{r}");
    }
    let run_a: Run = app
        .post(&format!("{base_a}/cronjobs/same/runs"), &token_a, json!({}))
        .await
        .expect_json(StatusCode::CREATED);
    let run_b: Run = app
        .post(&format!("{base_b}/cronjobs/same/runs"), &token_b, json!({}))
        .await
        .expect_json(StatusCode::CREATED);

    // Through HKS: each tenant's runs and logs are its own.
    for (token, base, mine, theirs, text) in [
        (&token_a, &base_a, &run_a, &run_b, "from-a"),
        (&token_b, &base_b, &run_b, &run_a, "from-b"),
    ] {
        let log = wait("the tenant's run, with its log", 180, async || {
            let l = logs(&app, token, base, "same", &mine.name).await;
            l.attempts
                .into_iter()
                .next()
                .filter(|a| a.log.contains(text))
        })
        .await;
        assert!(
            !log.log
                .contains(if text == "from-a" { "from-b" } else { "from-a" })
        );
        let names: Vec<String> = runs(&app, token, base, "same")
            .await
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert!(!names.contains(&theirs.name), "{names:?}");
        let r = app
            .get(
                &format!("{base}/cronjobs/same/runs/{}/logs", theirs.name),
                token,
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{r}");
    }

    // With each vCluster's own kubeconfig: its tenant's namespace only.
    for (vc, mine, theirs) in [(&vc_a, &ns_a, &ns_b), (&vc_b, &ns_b, &ns_a)] {
        let client = client_of(&vc.kubeconfig).await;
        let cronjobs = Api::<CronJob>::all(client)
            .list(&ListParams::default())
            .await
            .unwrap();
        let namespaces: Vec<String> = cronjobs
            .items
            .iter()
            .filter_map(|c| c.metadata.namespace.clone())
            .collect();
        assert!(namespaces.contains(mine), "{}: {namespaces:?}", vc.name);
        assert!(!namespaces.contains(theirs), "{}: {namespaces:?}", vc.name);
    }
    app.stop_recorder();
}

/// The vCluster's control plane (its pod: API server, controller manager,
/// syncer, store) is deleted and made again by its StatefulSet while HKS
/// runs: HKS's watches recover (a Run now after the restart is recorded
/// with its log), and every Job the virtual cluster made is a run in HKS,
/// none of them recorded as missed.
#[tokio::test]
async fn a_restarted_vcluster_control_plane_loses_no_run() {
    let Some(vc) = hks_testkit::vcluster("hks-r") else {
        return;
    };
    let virt = client_of(&vc.kubeconfig).await;
    let app = hks().await;
    let (token, base, ns) = project_in(&app, "restarted", &vc).await;
    let r = app
        .post(
            &format!("{base}/cronjobs"),
            &token,
            json!({"name": "tick", "spec": every_minute("echo tick")}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r}");
    let first = wait("a first scheduled run, recorded", 200, async || {
        runs(&app, &token, &base, "tick")
            .await
            .into_iter()
            .find(|r| r.trigger == Trigger::Scheduled && r.result == RunResult::Succeeded)
    })
    .await;

    let restart = std::process::Command::new(hks_testkit::hksc())
        .args(["vcluster", "restart", &vc.name])
        .status()
        .unwrap();
    assert!(restart.success(), "hksc vcluster restart failed");
    let restarted = jiff::Timestamp::now();

    // The watches recovered: a run started now is recorded, with its log.
    let manual: Run = wait("Run now after the restart", 120, async || {
        let r = app
            .post(&format!("{base}/cronjobs/tick/runs"), &token, json!({}))
            .await;
        (r.status == StatusCode::CREATED).then(|| r.json())
    })
    .await;
    wait("the run after the restart, with its log", 180, async || {
        let l = logs(&app, &token, &base, "tick", &manual.name).await;
        l.attempts
            .first()
            .is_some_and(|a| a.log.contains("tick"))
            .then_some(())
    })
    .await;
    // And a scheduled one after it.
    wait(
        "a scheduled run after the restart, recorded",
        200,
        async || {
            runs(&app, &token, &base, "tick")
                .await
                .into_iter()
                .find(|r| {
                    r.trigger == Trigger::Scheduled
                        && r.result == RunResult::Succeeded
                        && r.scheduled_at.is_some_and(|t| t > restarted)
                })
        },
    )
    .await;

    // Every Job the virtual cluster has is a run in HKS, and none of
    // their times is recorded as missed.
    let jobs = Api::<Job>::namespaced(virt, &ns)
        .list(&ListParams::default())
        .await
        .unwrap();
    let recorded = wait("every Job recorded", 60, async || {
        let recorded = runs(&app, &token, &base, "tick").await;
        jobs.items
            .iter()
            .all(|j| {
                recorded
                    .iter()
                    .any(|r| Some(&r.name) == j.metadata.name.as_ref())
            })
            .then_some(recorded)
    })
    .await;
    let ran: Vec<_> = recorded
        .iter()
        .filter(|r| r.result != RunResult::Missed)
        .filter_map(|r| r.scheduled_at)
        .collect();
    for missed in recorded.iter().filter(|r| r.result == RunResult::Missed) {
        assert!(
            missed.scheduled_at.is_none_or(|t| !ran.contains(&t)),
            "a run that happened is recorded as missed: {missed:?}"
        );
    }
    assert!(
        recorded.iter().any(|r| r.name == first.name),
        "{recorded:#?}"
    );
    app.stop_recorder();
}
