//! Run control with the recorder running (the harness of `recorder.rs`):
//! a re-run repeats the container its run had after Kubernetes deleted the
//! Job and the CronJob changed; a backfill of missed times under `Forbid`
//! starts them one at a time, the oldest first, and marks the missed runs;
//! bad backfill input starts nothing. The real cluster's side of the same
//! is in `crates/hks/tests/run_control_cluster.rs`.

mod common;

use axum::http::StatusCode;
use common::{CEILING, Hks, minutes_ago, settings, wait};
use hks_core::backfill::BackfillResult;
use hks_core::run::{Run, RunResult, Trigger, missed_run, missed_run_name};
use hks_kube::RunObject;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

/// The first container's command in the fake cluster's Job `name`.
fn job_command(hks: &Hks, p: &common::Project, name: &str) -> Vec<String> {
    let job = hks
        .fake
        .job(&p.tenant, &p.namespace, name)
        .unwrap_or_else(|| panic!("no Job {name}"));
    job.spec.unwrap().template.spec.unwrap().containers[0]
        .command
        .clone()
        .unwrap_or_default()
}

#[tokio::test]
async fn a_rerun_repeats_the_container_its_run_had_after_the_job_and_the_cronjob_changed() {
    let hks = Hks::new(settings()).await;
    hks.start();
    let p = hks.project("acme").await;
    hks.cronjob(&p, "report", json!({})).await;

    // A scheduled run ends and is recorded; Kubernetes then deletes its Job.
    let (job, pod) = hks.run_at(&p, "report", minutes_ago(5), 0, "v1\n");
    wait("the run released", CEILING, async || {
        (hks.has_finalizer(&p, RunObject::Pod, &pod) == Some(false)
            && hks.has_finalizer(&p, RunObject::Job, &job) == Some(false))
        .then_some(())
    })
    .await;
    hks.fake.delete_job(&p.tenant, &p.namespace, &job);
    // The CronJob changes its command afterwards.
    let edit = hks
        .put(
            &format!("{}/cronjobs/report", p.base),
            &p.token,
            json!({"schedule": "0 3 * * *", "image": "hks.local/busybox:1",
                   "command": {"argv": ["/bin/report", "--v2"]}}),
        )
        .await;
    assert_eq!(edit.status, StatusCode::OK, "{edit}");

    let rerun: Run = hks
        .post(
            &format!("{}/cronjobs/report/runs/{job}/rerun", p.base),
            &p.token,
            json!({}),
        )
        .await
        .expect_json(StatusCode::CREATED);
    assert_eq!(rerun.trigger, Trigger::Rerun);
    assert_eq!(rerun.rerun_of.as_deref(), Some(job.as_str()));
    assert_eq!(rerun.triggered_by.as_deref(), Some("acme/ci"));
    assert_eq!(job_command(&hks, &p, &rerun.name), ["/bin/report"]);
    // Run now takes the CronJob as it is now.
    let now: Run = hks
        .post(
            &format!("{}/cronjobs/report/runs", p.base),
            &p.token,
            json!({}),
        )
        .await
        .expect_json(StatusCode::CREATED);
    assert_eq!(job_command(&hks, &p, &now.name), ["/bin/report", "--v2"]);
    // A re-run of the re-run, before the recorder stored its container:
    // read from its Job.
    let again: Run = hks
        .post(
            &format!("{}/cronjobs/report/runs/{}/rerun", p.base, rerun.name),
            &p.token,
            json!({}),
        )
        .await
        .expect_json(StatusCode::CREATED);
    assert_eq!(job_command(&hks, &p, &again.name), ["/bin/report"]);
    let runs = hks.runs(&p, "report").await;
    let listed = runs.iter().find(|r| r.name == rerun.name).unwrap();
    assert_eq!(listed.trigger, Trigger::Rerun);
    assert_eq!(listed.rerun_of.as_deref(), Some(job.as_str()));

    // A missed time never ran; an unknown run is not found.
    let missed = missed_run(minutes_ago(60), None, "skipped".into());
    hks.state
        .store()
        .record_run(&p.id, "report", &missed)
        .await
        .unwrap();
    let e = hks
        .post(
            &format!("{}/cronjobs/report/runs/{}/rerun", p.base, missed.name),
            &p.token,
            json!({}),
        )
        .await
        .expect_error(StatusCode::CONFLICT);
    assert!(e.message.contains("backfill"), "{e:?}");
    hks.post(
        &format!("{}/cronjobs/report/runs/nothing-1/rerun", p.base),
        &p.token,
        json!({}),
    )
    .await
    .expect_error(StatusCode::NOT_FOUND);
}

/// The last `n` whole hours before now, oldest first.
fn past_hours(n: i64) -> Vec<Timestamp> {
    let now = Timestamp::now().as_second();
    let hour = now - now.rem_euclid(3600);
    (0..n)
        .rev()
        .map(|i| Timestamp::from_second(hour - i * 3600).unwrap())
        .collect()
}

#[tokio::test]
async fn a_backfill_of_missed_times_runs_them_one_at_a_time_under_forbid() {
    let hks = Hks::new(settings()).await;
    hks.start();
    let p = hks.project("acme").await;
    hks.cronjob(
        &p,
        "hourly",
        json!({"schedule": "0 * * * *", "concurrencyPolicy": "Forbid"}),
    )
    .await;
    let base = format!("{}/cronjobs/hourly", p.base);
    // Two hours were missed (the cluster was down); a third ran.
    let hours = past_hours(4);
    let store = hks.state.store();
    for at in &hours[..2] {
        let m = missed_run(*at, Some("Outage".into()), "missed".into());
        store.record_run(&p.id, "hourly", &m).await.unwrap();
    }
    let (ran, _) = hks.run_at(&p, "hourly", hours[2], 0, "ok\n");

    // Bad input: every problem with its path, and nothing started.
    let bad = hks
        .post(
            &format!("{base}/backfill"),
            &p.token,
            json!({"scheduledTimes": ["soon", (hours[0] + SignedDuration::from_mins(30)).to_string(),
                   (Timestamp::now() + SignedDuration::from_hours(2)).to_string()]}),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.fields(),
        [
            "scheduledTimes[0]",
            "scheduledTimes[1]",
            "scheduledTimes[2]"
        ],
        "{bad:?}"
    );
    wait("the scheduled run recorded", CEILING, async || {
        hks.runs(&p, "hourly")
            .await
            .iter()
            .any(|r| r.name == ran && r.result == RunResult::Succeeded)
            .then_some(())
    })
    .await;
    let twice = hks
        .post(
            &format!("{base}/backfill"),
            &p.token,
            json!({"scheduledTimes": [hours[2].to_string()]}),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert!(
        twice.message_of("scheduledTimes[0]").contains(&ran),
        "{twice:?}"
    );
    assert!(
        hks.runs(&p, "hourly")
            .await
            .iter()
            .all(|r| r.trigger != Trigger::Backfill)
    );

    let result: BackfillResult = hks
        .post(
            &format!("{base}/backfill"),
            &p.token,
            json!({"missed": true}),
        )
        .await
        .expect_json(StatusCode::OK);
    let names: Vec<&str> = result.runs.iter().map(|r| r.name.as_str()).collect();
    // Named as the CronJob controller names the Job of a time.
    let expected: Vec<String> = hours[..2]
        .iter()
        .map(|t| format!("hourly-{}", t.as_second() / 60))
        .collect();
    assert_eq!(names, expected);
    for (run, at) in result.runs.iter().zip(&hours) {
        assert_eq!(run.trigger, Trigger::Backfill);
        assert_eq!(run.scheduled_at, Some(*at));
    }

    // The oldest starts; the other waits for it.
    let (first, second) = (&expected[0], &expected[1]);
    let result_of = async |name: &str| {
        hks.runs(&p, "hourly")
            .await
            .into_iter()
            .find(|r| r.name == name)
            .map(|r| r.result)
    };
    wait("the oldest backfill released", CEILING, async || {
        (result_of(first).await == Some(RunResult::Pending)).then_some(())
    })
    .await;
    assert_eq!(result_of(second).await, Some(RunResult::Suspended));
    let (t, ns) = (&p.tenant, &p.namespace);
    let pod = hks.fake.start_attempt(t, ns, first, Timestamp::now());
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(result_of(second).await, Some(RunResult::Suspended));
    hks.fake
        .end_attempt(t, ns, &pod, 0, "late\n", Timestamp::now());
    hks.fake.end_run(t, ns, first, Timestamp::now());
    wait("the second backfill released", CEILING, async || {
        (result_of(second).await == Some(RunResult::Pending)).then_some(())
    })
    .await;

    // The missed entries say which run backfilled them; asking again
    // starts nothing.
    let runs = hks.runs(&p, "hourly").await;
    for (at, by) in hours[..2].iter().zip(&expected) {
        let m = runs
            .iter()
            .find(|r| r.name == missed_run_name(*at))
            .unwrap();
        assert_eq!(m.backfilled_by.as_deref(), Some(by.as_str()));
    }
    let again: BackfillResult = hks
        .post(
            &format!("{base}/backfill"),
            &p.token,
            json!({"missed": true}),
        )
        .await
        .expect_json(StatusCode::OK);
    assert_eq!(again.runs, []);
}
