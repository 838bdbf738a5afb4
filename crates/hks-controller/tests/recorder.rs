//! The run recorder off the cluster: the real recorder (`hks_controller::recorder`,
//! with short timers) over an in-memory store and the fake gateway, whose
//! Jobs, pods, logs, finalizers and events the tests drive in the place of
//! Kubernetes' controllers. Claims about what users see are read through the
//! HTTP router; claims about the cluster through the fake (`tests/common`).

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::{CEILING, Hks, minutes_ago, restore, settings, wait};
use hks_api::dto::{AttemptLogView, RunLogs};
use hks_controller::recorder;
use hks_core::run::RunResult;
use hks_kube::{CronJobEvent, RunObject};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

#[tokio::test]
async fn a_finished_run_is_recorded_once_with_its_log_archived_then_released() {
    let hks = Hks::new(settings()).await;
    hks.start();
    let p = hks.project("acme").await;
    hks.cronjob(&p, "report", json!({})).await;
    hks.set_alerts(&p, "report", json!({"onFailure": true}))
        .await;
    let store = hks.state.store().clone();

    // The recorder holds a scheduled Job from its first sight (the pod
    // template holds the pods).
    let at = minutes_ago(2);
    let job = hks.fake.schedule_run(&p.tenant, &p.namespace, "report", at);
    wait("the recorder to hold the Job", CEILING, async || {
        (hks.has_finalizer(&p, RunObject::Job, &job) == Some(true)).then_some(())
    })
    .await;

    // The run fails while its log cannot be read.
    hks.fake.set_logs_unavailable(true);
    let pod = hks.fake.start_attempt(&p.tenant, &p.namespace, &job, at);
    hks.fake
        .end_attempt(&p.tenant, &p.namespace, &pod, 3, "boom\n", at);
    hks.fake.end_run(&p.tenant, &p.namespace, &job, at);
    wait(
        "the failed run recorded and its log asked for twice",
        CEILING,
        async || {
            let run = store.run(&p.id, "report", &job).await.unwrap()?;
            (run.result == hks_core::run::RunResult::Failed
                && hks.fake.log_reads(&p.tenant, &p.namespace, &pod) >= 2)
                .then_some(())
        },
    )
    .await;
    // Not archived, so not released: Kubernetes may not delete it yet.
    assert!(
        store
            .archived_pods(&p.id, "report", &job)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(hks.has_finalizer(&p, RunObject::Pod, &pod), Some(true));
    assert_eq!(hks.has_finalizer(&p, RunObject::Job, &job), Some(true));

    // The log can be read again: archived, then pod and Job released.
    hks.fake.set_logs_unavailable(false);
    wait("the pod and the Job released", CEILING, async || {
        (hks.has_finalizer(&p, RunObject::Pod, &pod) == Some(false)
            && hks.has_finalizer(&p, RunObject::Job, &job) == Some(false))
        .then_some(())
    })
    .await;
    let logs = store.run_logs(&p.id, "report", &job).await.unwrap();
    assert_eq!(logs.len(), 1);
    assert_eq!(
        (logs[0].pod.as_str(), logs[0].truncated),
        (pod.as_str(), false)
    );
    assert_eq!(restore(&logs[0]), "boom\n");

    // Recorded once: a restarted recorder, remembering nothing, sees the run
    // again and changes nothing; its failure was alerted once.
    hks.start();
    let later = at + SignedDuration::from_mins(1);
    let second = hks
        .fake
        .schedule_run(&p.tenant, &p.namespace, "report", later);
    let second_pod = hks
        .fake
        .finish_run(&p.tenant, &p.namespace, &second, 0, "fine\n");
    wait(
        "the second run released by the new recorder",
        CEILING,
        async || {
            (hks.has_finalizer(&p, RunObject::Pod, &second_pod) == Some(false)
                && hks.has_finalizer(&p, RunObject::Job, &second) == Some(false))
            .then_some(())
        },
    )
    .await;
    let runs = hks.runs(&p, "report").await;
    let seen: Vec<(&str, RunResult)> = runs.iter().map(|r| (r.name.as_str(), r.result)).collect();
    assert_eq!(
        seen,
        [
            (second.as_str(), RunResult::Succeeded),
            (job.as_str(), RunResult::Failed)
        ]
    );
    let alerts = hks.alerts(&p, "report").await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(
        (alerts[0].kind.as_str(), alerts[0].subject.as_str()),
        ("failed", job.as_str())
    );
    assert_eq!(
        store.run_logs(&p.id, "report", &job).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn a_log_that_is_not_utf8_is_archived_as_bytes_and_served_lossily() {
    let hks = Hks::new(settings()).await;
    let p = hks.project("acme").await;
    hks.cronjob(&p, "report", json!({})).await;
    let store = hks.state.store().clone();

    // While HKS is down: a run that printed bytes that are not UTF-8, a run
    // whose log cannot be read at all (its node's kubelet does not answer),
    // and a run with a plain log.
    let bad_log: &[u8] = b"ok\n\xff\xfe bad\n";
    let (bad, bad_pod) = hks.run_at(&p, "report", minutes_ago(4), 1, bad_log);
    let (stuck, stuck_pod) = hks.run_at(&p, "report", minutes_ago(3), 0, "stuck\n");
    hks.fake
        .set_log_unreadable(&p.tenant, &p.namespace, &stuck_pod, true);
    let (good, good_pod) = hks.run_at(&p, "report", minutes_ago(2), 0, "fine\n");

    // While the cluster has them, the logs endpoint reads them live.
    let logs: RunLogs = hks
        .logs(&p, "report", &bad)
        .await
        .expect_json(StatusCode::OK);
    assert_eq!(logs.attempts[0].log, "ok\n\u{fffd}\u{fffd} bad\n");
    assert!(!logs.attempts[0].archived);

    // One run that cannot be recorded does not keep the others from it.
    hks.start();
    for (job, pod) in [(&bad, &bad_pod), (&good, &good_pod)] {
        wait("the run released", CEILING, async || {
            (hks.has_finalizer(&p, RunObject::Pod, pod) == Some(false)
                && hks.has_finalizer(&p, RunObject::Job, job) == Some(false))
            .then_some(())
        })
        .await;
    }
    let archived = store.run_logs(&p.id, "report", &bad).await.unwrap();
    assert_eq!(
        hks_history::archive::restore(&archived[0].gzip).unwrap(),
        bad_log
    );
    let archived = store.run_logs(&p.id, "report", &good).await.unwrap();
    assert_eq!(restore(&archived[0]), "fine\n");
    assert_eq!(
        hks.has_finalizer(&p, RunObject::Pod, &stuck_pod),
        Some(true)
    );
    let runs = hks.run_names(&p, "report").await;
    assert_eq!(runs, [good.clone(), stuck.clone(), bad.clone()]);

    // Once Kubernetes deleted the run, its archived log is served the same.
    hks.fake.delete_job(&p.tenant, &p.namespace, &bad);
    wait("the bad run gone from the cluster", CEILING, async || {
        hks.has_finalizer(&p, RunObject::Pod, &bad_pod)
            .is_none()
            .then_some(())
    })
    .await;
    let logs: RunLogs = hks
        .logs(&p, "report", &bad)
        .await
        .expect_json(StatusCode::OK);
    assert_eq!(logs.attempts[0].log, "ok\n\u{fffd}\u{fffd} bad\n");
    assert!(logs.attempts[0].archived);

    // The stuck run is recorded as soon as its log can be read.
    hks.fake
        .set_log_unreadable(&p.tenant, &p.namespace, &stuck_pod, false);
    wait("the stuck run released", CEILING, async || {
        (hks.has_finalizer(&p, RunObject::Pod, &stuck_pod) == Some(false)).then_some(())
    })
    .await;
    let archived = store.run_logs(&p.id, "report", &stuck).await.unwrap();
    assert_eq!(restore(&archived[0]), "stuck\n");
}

#[tokio::test]
async fn a_run_whose_job_kubernetes_deleted_is_still_listed_with_its_archived_log() {
    let hks = Hks::new(settings()).await;
    let p = hks.project("acme").await;
    hks.cronjob(&p, "report", json!({"successfulJobsHistoryLimit": 0}))
        .await;

    // While HKS is down, a scheduled run ends and the CronJob controller
    // deletes its Job at once: only its pod, held by the finalizer of the
    // pod template, is left.
    let at = minutes_ago(3);
    let (job, pod) = hks.run_at(&p, "report", at, 0, "report done\n");
    hks.fake.delete_job(&p.tenant, &p.namespace, &job);
    assert!(hks.fake.job(&p.tenant, &p.namespace, &job).is_none());
    assert_eq!(hks.has_finalizer(&p, RunObject::Pod, &pod), Some(true));

    hks.start();
    wait("the pod released and gone", CEILING, async || {
        hks.has_finalizer(&p, RunObject::Pod, &pod)
            .is_none()
            .then_some(())
    })
    .await;
    let runs = hks.runs(&p, "report").await;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].name, job);
    assert!(!runs[0].in_cluster);
    assert_eq!(runs[0].result, RunResult::Succeeded);
    assert_eq!(runs[0].exit_code, Some(0));
    assert_eq!(runs[0].scheduled_at, Some(at));
    let logs: RunLogs = hks
        .logs(&p, "report", &job)
        .await
        .expect_json(StatusCode::OK);
    assert_eq!(
        logs.attempts,
        [AttemptLogView {
            pod: pod.clone(),
            log: "report done\n".into(),
            archived: true,
            truncated: false
        }]
    );

    // A run recorded while its Job was there, deleted afterwards: listed as
    // the Job showed it.
    let (failed, failed_pod) = hks.run_at(&p, "report", minutes_ago(2), 1, "oops\n");
    wait("the failed run released", CEILING, async || {
        (hks.has_finalizer(&p, RunObject::Pod, &failed_pod) == Some(false)
            && hks.has_finalizer(&p, RunObject::Job, &failed) == Some(false))
        .then_some(())
    })
    .await;
    hks.fake.delete_job(&p.tenant, &p.namespace, &failed);
    assert!(hks.fake.job(&p.tenant, &p.namespace, &failed).is_none());
    assert!(hks.has_finalizer(&p, RunObject::Pod, &failed_pod).is_none());
    let runs = hks.runs(&p, "report").await;
    assert_eq!(runs[0].name, failed);
    assert!(!runs[0].in_cluster);
    assert_eq!(runs[0].result, RunResult::Failed);
    assert_eq!(runs[0].reason.as_deref(), Some("BackoffLimitExceeded"));
    assert_eq!(runs[0].exit_code, Some(1));
    let logs: RunLogs = hks
        .logs(&p, "report", &failed)
        .await
        .expect_json(StatusCode::OK);
    assert_eq!(logs.attempts[0].log, "oops\n");
    assert!(logs.attempts[0].archived);
}

#[tokio::test]
async fn history_retention_of_a_cronjob_or_the_installation_prunes_the_oldest_runs_and_logs() {
    // What `hks serve --history-max-runs 3 --history-max-age-days 30` sets.
    let hks = Hks::new(recorder::Settings {
        retention: hks_history::retention::Retention {
            max_runs: Some(3),
            max_age_days: Some(30),
        },
        ..settings()
    })
    .await;
    let p = hks.project("acme").await;
    let hours = |h: i64| minutes_ago(60 * h);
    let days = |d: i64| minutes_ago(24 * 60 * d);
    // (CronJob, its historyRetention, its runs oldest first, how many of the newest are kept)
    let cases = [
        (
            "counted",
            json!({"maxRuns": 2}),
            vec![hours(4), hours(3), hours(2), hours(1)],
            2,
        ),
        (
            "aged",
            json!({"maxAgeDays": 7}),
            vec![days(10), hours(1)],
            1,
        ),
        (
            "defaults",
            Value::Null,
            vec![hours(5), hours(4), hours(3), hours(2), hours(1)],
            3,
        ),
        ("defaults-aged", Value::Null, vec![days(40), hours(1)], 1),
    ];
    let mut runs = vec![];
    for (name, retention, times, keep) in &cases {
        let extra = if retention.is_null() {
            json!({})
        } else {
            json!({"historyRetention": retention})
        };
        hks.cronjob(&p, name, extra).await;
        let made: Vec<(String, String)> = times
            .iter()
            .map(|t| hks.run_at(&p, name, *t, 0, format!("{name} at {t}\n")))
            .collect();
        runs.push((*name, made, *keep));
    }
    hks.start();
    // Recorded and released, then deleted from the cluster by its history
    // limits: from here on only HKS's history has them.
    for (_, made, _) in &runs {
        for (job, pod) in made {
            wait("the run released", CEILING, async || {
                (hks.has_finalizer(&p, RunObject::Pod, pod) == Some(false)
                    && hks.has_finalizer(&p, RunObject::Job, job) == Some(false))
                .then_some(())
            })
            .await;
            hks.fake.delete_job(&p.tenant, &p.namespace, job);
        }
    }
    for (name, made, keep) in &runs {
        let kept: Vec<String> = made
            .iter()
            .rev()
            .take(*keep)
            .map(|(job, _)| job.clone())
            .collect();
        wait(&format!("{name} to keep {kept:?}"), CEILING, async || {
            (hks.run_names(&p, name).await == kept).then_some(())
        })
        .await;
        for (job, _) in made.iter().rev().skip(*keep) {
            let r = hks.logs(&p, name, job).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{name} {job}: {r}");
            let logs = hks.state.store().run_logs(&p.id, name, job).await.unwrap();
            assert!(logs.is_empty(), "{name} {job}: its log is kept");
        }
        let logs: RunLogs = hks
            .logs(&p, name, &kept[0])
            .await
            .expect_json(StatusCode::OK);
        assert!(
            logs.attempts[0].log.starts_with(&format!("{name} at ")),
            "{logs:?}"
        );
    }
}

#[tokio::test]
async fn a_log_over_the_cap_keeps_its_head_and_tail_and_marks_the_cut() {
    let settings = settings();
    assert_eq!(settings.log_cap_bytes, 1024 * 1024, "the README's 1 MiB");
    let hks = Hks::new(settings).await;
    hks.start();
    let p = hks.project("acme").await;
    hks.cronjob(&p, "report", json!({})).await;

    // A first attempt logs 3 MiB and fails, a second one logs little.
    let mut big = String::from("first line\n");
    let mut i = 0;
    while big.len() < 3 * 1024 * 1024 {
        big.push_str(&format!(
            "line {i:07} of a long log ...................................\n"
        ));
        i += 1;
    }
    big.push_str("last line\n");
    let middle = format!("line {:07} ", i / 2);
    assert!(big.contains(&middle));
    let (t, ns) = (&p.tenant, &p.namespace);
    let at = minutes_ago(1);
    let job = hks.fake.schedule_run(t, ns, "report", at);
    let first = hks.fake.start_attempt(t, ns, &job, at);
    hks.fake.end_attempt(t, ns, &first, 1, big.clone(), at);
    let second = hks.fake.start_attempt(t, ns, &job, at);
    hks.fake.end_attempt(t, ns, &second, 0, "ok\n", at);
    hks.fake.end_run(t, ns, &job, at);
    wait("the run released", CEILING, async || {
        (hks.has_finalizer(&p, RunObject::Pod, &first) == Some(false)
            && hks.has_finalizer(&p, RunObject::Pod, &second) == Some(false))
        .then_some(())
    })
    .await;
    hks.fake.delete_job(t, ns, &job);
    assert!(hks.has_finalizer(&p, RunObject::Pod, &first).is_none());

    let logs: RunLogs = hks
        .logs(&p, "report", &job)
        .await
        .expect_json(StatusCode::OK);
    let attempts = &logs.attempts;
    assert_eq!(attempts.len(), 2);
    let cut = &attempts[0];
    assert_eq!(cut.pod, first);
    assert!(cut.archived);
    assert!(cut.truncated);
    let text = cut.log.as_str();
    assert!(
        text.starts_with("first line\nline 0000000 "),
        "the head is kept"
    );
    assert!(text.ends_with("\nlast line\n"), "the tail is kept");
    assert!(
        text.contains("bytes in between were left out"),
        "the cut is marked"
    );
    assert!(!text.contains(&middle), "the middle is left out");
    assert!(text.len() <= 1024 * 1024, "{} bytes kept", text.len());
    assert!(text.len() > 1000 * 1024, "{} bytes kept", text.len());
    assert_eq!(
        attempts[1],
        AttemptLogView {
            pod: second,
            log: "ok\n".into(),
            archived: true,
            truncated: false
        }
    );
}

/// A log longer than the recorder reads (8 times the 1 MiB cap) keeps its
/// real end, asked for apart: with short lines, and as one long line
/// without a newline (which the kubelet's last lines give whole).
#[tokio::test]
async fn a_log_longer_than_the_read_keeps_its_real_end() {
    let hks = Hks::new(settings()).await;
    hks.start();
    let p = hks.project("acme").await;
    hks.cronjob(&p, "report", json!({})).await;

    let mib = 1024 * 1024;
    let mut lines = String::from("first line\n");
    let mut i = 0;
    while lines.len() < 9 * mib {
        lines.push_str(&format!("line {i:08}\n"));
        i += 1;
    }
    let before_end = format!("line {:08}\n", i - 1);
    lines.push_str("THE-END\n");
    let mut long_line = b"first line\n".to_vec();
    long_line.resize(9 * mib, b'x');
    long_line.extend_from_slice(b"THE-END");

    let (t, ns) = (&p.tenant, &p.namespace);
    let at = minutes_ago(1);
    let job = hks.fake.schedule_run(t, ns, "report", at);
    let first = hks.fake.start_attempt(t, ns, &job, at);
    hks.fake.end_attempt(t, ns, &first, 1, lines.clone(), at);
    let second = hks.fake.start_attempt(t, ns, &job, at);
    hks.fake.end_attempt(t, ns, &second, 1, long_line, at);
    hks.fake.end_run(t, ns, &job, at);
    wait("the run released", CEILING, async || {
        (hks.has_finalizer(&p, RunObject::Pod, &first) == Some(false)
            && hks.has_finalizer(&p, RunObject::Pod, &second) == Some(false))
        .then_some(())
    })
    .await;
    hks.fake.delete_job(t, ns, &job);

    let logs: RunLogs = hks
        .logs(&p, "report", &job)
        .await
        .expect_json(StatusCode::OK);
    let [lines, long] = &logs.attempts[..] else {
        panic!("two attempts: {logs:?}");
    };
    for a in [lines, long] {
        assert!(a.archived && a.truncated, "{}", a.pod);
        assert!(
            a.log.starts_with("first line\n"),
            "{}: the real beginning",
            a.pod
        );
        assert!(
            a.log.contains("bytes in between were left out"),
            "{}: the cut marked",
            a.pod
        );
        assert!(a.log.len() <= mib, "{}: {} bytes kept", a.pod, a.log.len());
    }
    assert!(
        lines.log.ends_with(&format!("{before_end}THE-END\n")),
        "the real end: {:?}",
        &lines.log[lines.log.len() - 100..]
    );
    assert!(
        lines.log.len() > 1000 * 1024,
        "{} bytes kept",
        lines.log.len()
    );
    assert!(
        long.log.ends_with("xxTHE-END"),
        "the real end of the long line"
    );
}

#[tokio::test]
async fn missed_times_are_recorded_with_the_cronjobs_event_and_none_while_suspended() {
    let hks = Hks::new(settings()).await;
    hks.start();
    let p = hks.project("acme").await;
    // Every minute, and missed ten seconds after the minute without a run.
    let every_minute = json!({"schedule": "* * * * *", "startingDeadlineSeconds": 10});
    let mut suspended = every_minute.clone();
    suspended["suspend"] = json!(true);
    hks.cronjob(&p, "paused", suspended).await;
    hks.cronjob(&p, "every", every_minute).await;

    // Times before a CronJob was created are not owed: the first time that
    // can be missed is the first one after it.
    let created = hks
        .state
        .store()
        .application(&p.id, "every")
        .await
        .unwrap()
        .updated_at;
    let schedule = hks_schedule::check("* * * * *", "UTC").unwrap();
    let due = schedule.fire_times(created).next().unwrap();
    // At that time the CronJob controller did not start a run, and said why.
    let why =
        "Not starting job because prior execution is running and concurrency policy is Forbid";
    hks.fake.add_event(
        &p.tenant,
        &p.namespace,
        "every",
        CronJobEvent {
            reason: "JobAlreadyActive".into(),
            message: why.into(),
            last_seen: Some(due),
        },
    );
    // The run still going is the previous one. It becomes longer than its
    // 60 s limit exactly when `due` is missed (its deadline has passed), so
    // its alert is raised in a housekeeping pass that also checked every
    // CronJob for the missed time `due`, the suspended one included.
    let (t, ns) = (&p.tenant, &p.namespace);
    let previous = hks
        .fake
        .schedule_run(t, ns, "every", due - SignedDuration::from_mins(1));
    hks.fake
        .start_attempt(t, ns, &previous, due - SignedDuration::from_secs(50));
    hks.set_alerts(&p, "every", json!({"longerThanSeconds": 60}))
        .await;
    // A scheduled time, its deadline and the pass after them: at most about
    // 75 s of waiting, and the ceiling leaves room for a loaded machine.
    wait(
        "the long run's alert, after the missed time",
        Duration::from_secs(240),
        async || {
            hks.alerts(&p, "every")
                .await
                .iter()
                .any(|a| a.kind == "longRunning" && a.subject == previous)
                .then_some(())
        },
    )
    .await;

    let runs = hks.runs(&p, "every").await;
    let missed = runs
        .iter()
        .find(|r| r.result == RunResult::Missed)
        .unwrap_or_else(|| panic!("no missed run: {runs:?}"));
    assert_eq!(missed.name, hks_core::run::missed_run_name(due));
    assert_eq!(missed.scheduled_at, Some(due));
    assert_eq!(missed.reason.as_deref(), Some("JobAlreadyActive"));
    assert_eq!(missed.message.as_deref(), Some(why));
    assert!(!missed.in_cluster);
    assert_eq!(hks.runs(&p, "paused").await, []);
}

/// After an outage the watch caches catch up later than the apiserver
/// answers: a scheduled time whose Job the cluster has, but the recorder has
/// not seen yet, is not missed, even once its starting deadline passed.
#[tokio::test]
async fn a_run_the_watch_caches_have_not_seen_yet_is_not_missed() {
    let hks = Hks::new(settings()).await;
    hks.start();
    let p = hks.project("acme").await;
    hks.cronjob(
        &p,
        "every",
        json!({"schedule": "* * * * *", "startingDeadlineSeconds": 10}),
    )
    .await;
    let created = hks
        .state
        .store()
        .application(&p.id, "every")
        .await
        .unwrap()
        .updated_at;
    let schedule = hks_schedule::check("* * * * *", "UTC").unwrap();
    let due = schedule.fire_times(created).next().unwrap();
    let (t, ns) = (&p.tenant, &p.namespace);
    // The caches stop here; then the CronJob controller starts `due`'s run.
    hks.fake.set_caches_lagging(t, true);
    let job = hks.fake.schedule_run(t, ns, "every", due);
    hks.fake.start_attempt(t, ns, &job, due);
    // Past the deadline, with many housekeeping passes (every 200 ms)
    // after it, and before the next time's deadline.
    let decided = due + SignedDuration::from_secs(14);
    let wait_for = decided.duration_since(Timestamp::now());
    tokio::time::sleep(wait_for.try_into().unwrap_or_default()).await;
    let runs = hks.runs(&p, "every").await;
    assert!(
        runs.iter().all(|r| r.result != RunResult::Missed),
        "a run nobody has recorded yet is not missed: {runs:?}"
    );
    // The caches catch up: the run is recorded, and nothing was missed.
    hks.fake.set_caches_lagging(t, false);
    wait("the run, recorded", CEILING, async || {
        let runs = hks.runs(&p, "every").await;
        runs.iter().any(|r| r.name == job).then_some(runs)
    })
    .await;
    let runs = hks.runs(&p, "every").await;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].scheduled_at, Some(due));
}

#[tokio::test]
async fn a_run_longer_than_its_limit_raises_one_alert() {
    let hks = Hks::new(settings()).await;
    hks.start();
    let p = hks.project("acme").await;
    hks.cronjob(&p, "slow", json!({})).await;
    hks.set_alerts(&p, "slow", json!({"longerThanSeconds": 3600}))
        .await;
    let (t, ns) = (&p.tenant, &p.namespace);
    let running = |at: Timestamp| {
        let job = hks.fake.schedule_run(t, ns, "slow", at);
        hks.fake.start_attempt(t, ns, &job, at);
        job
    };
    let long = running(minutes_ago(120));
    let short = running(minutes_ago(10));
    let long_alerts = async |hks: &Hks| {
        let alerts = hks.alerts(&p, "slow").await;
        let mut subjects: Vec<String> = alerts
            .iter()
            .filter(|a| a.kind == "longRunning")
            .map(|a| a.subject.clone())
            .collect();
        subjects.sort();
        subjects
    };
    wait("the long run's alert", CEILING, async || {
        (!long_alerts(&hks).await.is_empty()).then_some(())
    })
    .await;

    // A restarted recorder remembers nothing; another long run's alert says
    // that it went over every running run again.
    hks.start();
    let longer = running(minutes_ago(180));
    wait("the other long run's alert", CEILING, async || {
        long_alerts(&hks).await.contains(&longer).then_some(())
    })
    .await;
    let mut expected = vec![long.clone(), longer];
    expected.sort();
    assert_eq!(
        long_alerts(&hks).await,
        expected,
        "one alert per long run, none for {short}"
    );
    let alerts = hks.alerts(&p, "slow").await;
    let summary = alerts
        .iter()
        .find(|a| a.subject == long)
        .unwrap()
        .summary
        .clone();
    assert_eq!(
        summary,
        format!("Run {long} has been running for more than 3600 s")
    );
}
