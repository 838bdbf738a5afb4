//! Run control on the real cluster: a re-run of a run whose Job was
//! deleted has the command that run had (not the CronJob's new one), and a
//! backfill of two past times under `Forbid` makes two runs with those
//! scheduled times, the second starting only after the first ended. The
//! same with the fake cluster, and bad input, are in
//! `crates/hks-controller/tests/run_control.rs`; overrides and cancel in a
//! vCluster in `vcluster.rs`.

use std::time::Duration;

use axum::http::StatusCode;
use hks_api::dto::RunLogs;
use hks_controller::recorder;
use hks_core::backfill::BackfillResult;
use hks_core::run::{Run, RunResult, Trigger};
use hks_testkit::app::{Setup, TestApp};
use jiff::Timestamp;
use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, DeleteParams};
use serde_json::json;

mod common;

use common::{client_of, wait};

async fn runs(app: &TestApp, token: &str, base: &str, cronjob: &str) -> Vec<Run> {
    app.get(&format!("{base}/cronjobs/{cronjob}/runs"), token)
        .await
        .expect_json(StatusCode::OK)
}

async fn run(app: &TestApp, token: &str, base: &str, cronjob: &str, name: &str) -> Option<Run> {
    runs(app, token, base, cronjob)
        .await
        .into_iter()
        .find(|r| r.name == name)
}

async fn log(app: &TestApp, token: &str, base: &str, cronjob: &str, run: &str) -> String {
    let logs: RunLogs = app
        .get(&format!("{base}/cronjobs/{cronjob}/runs/{run}/logs"), token)
        .await
        .expect_json(StatusCode::OK);
    logs.attempts.into_iter().map(|a| a.log).collect()
}

#[tokio::test]
async fn a_rerun_after_its_job_was_deleted_runs_the_same_command_and_a_backfill_honours_forbid() {
    let Some(kubeconfig) = hks_testkit::cluster() else {
        return;
    };
    let kube = client_of(&kubeconfig).await;
    let app = TestApp::build(Setup {
        live: true,
        ..Setup::default()
    })
    .await;
    app.start_recorder(recorder::Settings {
        interval: Duration::from_millis(300),
        ..recorder::Settings::default()
    });
    let tenant = app.tenant_on("run-control", &kubeconfig).await;
    let token = tenant.token;
    let project = app.project(&token, "ops").await;
    let base = format!("/api/v1/projects/{}", project.name);
    // Every minute but suspended: Kubernetes starts nothing by itself, so
    // every past minute is a time that never ran.
    let spec = |command: &str| {
        json!({"schedule": "* * * * *", "image": "hks.local/busybox:1", "suspend": true,
               "command": {"argv": [command], "shell": true}, "retries": 0,
               "concurrencyPolicy": "Forbid"})
    };
    app.cronjob(
        &token,
        &project.name,
        json!({"name": "task", "spec": spec("echo \"v1:$STAGE\"; sleep 3")}),
    )
    .await;

    // A run with an override; recorded, then its Job deleted.
    let first: Run = app
        .post(
            &format!("{base}/cronjobs/task/runs"),
            &token,
            json!({"env": [{"name": "STAGE", "value": "once"}]}),
        )
        .await
        .expect_json(StatusCode::CREATED);
    wait("the first run, succeeded", 180, async || {
        run(&app, &token, &base, "task", &first.name)
            .await
            .filter(|r| r.result == RunResult::Succeeded)
    })
    .await;
    wait("the first run's log", 60, async || {
        (log(&app, &token, &base, "task", &first.name).await == "v1:once\n").then_some(())
    })
    .await;
    let jobs: Api<Job> = Api::namespaced(kube.clone(), &project.namespace);
    jobs.delete(&first.name, &DeleteParams::background())
        .await
        .unwrap();
    wait("the first run, kept by HKS only", 120, async || {
        run(&app, &token, &base, "task", &first.name)
            .await
            .filter(|r| !r.in_cluster)
    })
    .await;
    // The CronJob's command changes; the re-run keeps the old one and the override.
    let edit = app
        .put(
            &format!("{base}/cronjobs/task"),
            &token,
            spec("echo \"v2:$STAGE\""),
        )
        .await;
    assert_eq!(edit.status, StatusCode::OK, "{edit}");
    let rerun: Run = app
        .post(
            &format!("{base}/cronjobs/task/runs/{}/rerun", first.name),
            &token,
            json!({}),
        )
        .await
        .expect_json(StatusCode::CREATED);
    assert_eq!(rerun.trigger, Trigger::Rerun);
    wait(
        "the re-run's log, with the first run's command",
        180,
        async || (log(&app, &token, &base, "task", &rerun.name).await == "v1:once\n").then_some(()),
    )
    .await;
    let listed = run(&app, &token, &base, "task", &rerun.name).await.unwrap();
    assert_eq!(listed.rerun_of.as_deref(), Some(first.name.as_str()));

    // Backfill two past minutes under Forbid: both start, one at a time.
    let edit = app
        .put(
            &format!("{base}/cronjobs/task"),
            &token,
            spec("echo \"backfilled\"; sleep 5"),
        )
        .await;
    assert_eq!(edit.status, StatusCode::OK, "{edit}");
    let minute = Timestamp::now().as_second().div_euclid(60) * 60;
    let times: Vec<Timestamp> = [3, 2]
        .iter()
        .map(|m| Timestamp::from_second(minute - m * 60).unwrap())
        .collect();
    let started: BackfillResult = app
        .post(
            &format!("{base}/cronjobs/task/backfill"),
            &token,
            json!({"scheduledTimes": [times[1].to_string(), times[0].to_string()]}),
        )
        .await
        .expect_json(StatusCode::OK);
    assert_eq!(started.runs.len(), 2, "{started:?}");
    let ended = |r: &Run| r.result.is_final().then_some(r.clone());
    let mut done = Vec::new();
    for (r, at) in started.runs.iter().zip(&times) {
        assert_eq!(r.trigger, Trigger::Backfill);
        assert_eq!(r.scheduled_at, Some(*at));
        let finished = wait("a backfilled run, ended", 180, async || {
            run(&app, &token, &base, "task", &r.name)
                .await
                .and_then(|r| ended(&r))
        })
        .await;
        assert_eq!(finished.result, RunResult::Succeeded, "{finished:?}");
        assert_eq!(finished.scheduled_at, Some(*at));
        done.push(finished);
    }
    let first_end = done[0].finished_at.unwrap();
    let second_start = done[1].started_at.unwrap();
    assert!(
        second_start >= first_end,
        "Forbid: the second backfilled run started at {second_start}, before the first ended at {first_end}"
    );
    // The Jobs carry the scheduled time as the CronJob controller writes it.
    let job = jobs.get(&started.runs[0].name).await.unwrap();
    let annotation =
        &job.metadata.annotations.unwrap()["batch.kubernetes.io/cronjob-scheduled-timestamp"];
    assert_eq!(annotation.parse::<Timestamp>().unwrap(), times[0]);
    app.stop_recorder();
}
