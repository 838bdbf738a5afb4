//! The run recorder off the cluster: the real recorder (`hks_controller::recorder`,
//! with short timers) over an in-memory store and the fake gateway, whose
//! Jobs, pods, logs, finalizers and events the tests drive in the place of
//! Kubernetes' controllers. Claims about what users see are read through the
//! HTTP router; claims about the cluster through the fake.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use hks_api::{AppState, router};
use hks_controller::recorder;
use hks_kube::fake::FakeGateway;
use hks_kube::{CronJobEvent, RunObject};
use hks_store::Store;
use http_body_util::BodyExt;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tower::ServiceExt;

const ADMIN: &str = "admin-secret-for-recorder-tests";

/// The longest any condition is waited for that does not wait for a
/// scheduled time: generous for a loaded machine, where it takes well
/// under a second.
const CEILING: Duration = Duration::from_secs(120);

/// The recorder's settings in these tests: the defaults (the 1 MiB log cap,
/// 100 runs and 30 days), with timers short enough for a test.
fn settings() -> recorder::Settings {
    recorder::Settings {
        interval: Duration::from_millis(100),
        housekeeping: Duration::from_millis(200),
        retention_interval: Duration::from_millis(200),
        ..recorder::Settings::default()
    }
}

/// HKS on an in-memory store and the fake cluster.
struct Hks {
    router: Router,
    state: AppState,
    fake: Arc<FakeGateway>,
    settings: recorder::Settings,
    recorder: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// A tenant's project: the token, the tenant's id, the project's namespace,
/// API path and store id.
struct Project {
    token: String,
    tenant: String,
    namespace: String,
    base: String,
    id: String,
}

impl Hks {
    /// HKS with its recorder not running yet (as if it were down).
    async fn new(settings: recorder::Settings) -> Self {
        let store = Store::in_memory().await.unwrap();
        let fake = Arc::new(FakeGateway::new());
        let state = AppState::new(store, fake.clone(), Some(&ADMIN.to_owned().into()), None);
        Self {
            router: router(state.clone()),
            state,
            fake,
            settings,
            recorder: std::sync::Mutex::new(None),
        }
    }

    /// Starts the recorder, with nothing remembered from an earlier one.
    fn start(&self) {
        let mut slot = self.recorder.lock().unwrap();
        if let Some(old) = slot.take() {
            old.abort();
        }
        *slot = Some(recorder::spawn(
            self.state.app().clone(),
            self.settings.clone(),
        ));
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap();
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// A tenant on the fake cluster with project `shop`.
    async fn project(&self, tenant: &str) -> Project {
        let cluster = json!({"kind": "kubeconfig", "kubeconfig": "apiVersion: v1\nkind: Config\n"});
        let (status, body) = self
            .call(
                Method::POST,
                "/api/v1/admin/tenants",
                ADMIN,
                Some(json!({"name": tenant, "cluster": cluster})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let tenant_id = body["id"].as_str().unwrap().to_owned();
        let (_, body) = self
            .call(
                Method::POST,
                &format!("/api/v1/admin/tenants/{tenant}/tokens"),
                ADMIN,
                Some(json!({"name": "ci"})),
            )
            .await;
        let token = body["token"].as_str().unwrap().to_owned();
        let (status, body) = self
            .call(
                Method::POST,
                "/api/v1/projects",
                &token,
                Some(json!({"name": "shop"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let id = self
            .state
            .store()
            .project(&tenant_id, "shop")
            .await
            .unwrap()
            .id;
        Project {
            token,
            tenant: tenant_id,
            namespace: body["namespace"].as_str().unwrap().to_owned(),
            base: "/api/v1/projects/shop".into(),
            id,
        }
    }

    /// Creates CronJob `name` (daily, so no run is missed during a test)
    /// with `extra` fields in its spec.
    async fn cronjob(&self, p: &Project, name: &str, extra: Value) {
        let mut spec = json!({"schedule": "0 3 * * *", "image": "hks.local/busybox:1",
            "command": {"argv": ["/bin/report"]}});
        for (k, v) in extra.as_object().unwrap() {
            spec[k] = v.clone();
        }
        let (status, body) = self
            .call(
                Method::POST,
                &format!("{}/cronjobs", p.base),
                &p.token,
                Some(json!({"name": name, "spec": spec})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    async fn set_alerts(&self, p: &Project, cronjob: &str, rules: Value) {
        let (status, body) = self
            .call(
                Method::PUT,
                &format!("{}/cronjobs/{cronjob}/alerts", p.base),
                &p.token,
                Some(json!({"rules": rules})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// The runs list of a CronJob, newest first.
    async fn runs(&self, p: &Project, cronjob: &str) -> Vec<Value> {
        let (status, body) = self
            .call(
                Method::GET,
                &format!("{}/cronjobs/{cronjob}/runs", p.base),
                &p.token,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body.as_array().unwrap().clone()
    }

    async fn run_names(&self, p: &Project, cronjob: &str) -> Vec<String> {
        self.runs(p, cronjob)
            .await
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_owned())
            .collect()
    }

    async fn logs(&self, p: &Project, cronjob: &str, run: &str) -> (StatusCode, Value) {
        self.call(
            Method::GET,
            &format!("{}/cronjobs/{cronjob}/runs/{run}/logs", p.base),
            &p.token,
            None,
        )
        .await
    }

    /// The alerts raised for a CronJob, newest first.
    async fn alerts(&self, p: &Project, cronjob: &str) -> Vec<Value> {
        let (status, body) = self
            .call(
                Method::GET,
                &format!("{}/alerts/history?cronjob={cronjob}", p.base),
                &p.token,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body.as_array().unwrap().clone()
    }

    fn has_finalizer(&self, p: &Project, kind: RunObject, name: &str) -> Option<bool> {
        self.fake.has_finalizer(&p.tenant, &p.namespace, kind, name)
    }

    /// A scheduled run of `cronjob` at `at` with one attempt that ran ten
    /// seconds, logged `log` and exited with `exit_code`. Returns the Job's
    /// and the pod's names.
    fn run_at(
        &self,
        p: &Project,
        cronjob: &str,
        at: Timestamp,
        exit_code: i32,
        log: impl Into<Vec<u8>>,
    ) -> (String, String) {
        let (t, ns) = (&p.tenant, &p.namespace);
        let job = self.fake.schedule_run(t, ns, cronjob, at);
        let pod = self.fake.start_attempt(t, ns, &job, at);
        let end = at + SignedDuration::from_secs(10);
        self.fake.end_attempt(t, ns, &pod, exit_code, log, end);
        self.fake.end_run(t, ns, &job, end);
        (job, pod)
    }
}

impl Drop for Hks {
    fn drop(&mut self) {
        if let Some(r) = self.recorder.lock().unwrap().take() {
            r.abort();
        }
    }
}

/// Waits until `probe` gives a value, at most `ceiling`.
async fn wait<T>(what: &str, ceiling: Duration, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let start = std::time::Instant::now();
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            start.elapsed() < ceiling,
            "timed out after {ceiling:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A time `minutes` before now, on a whole minute (as scheduled times are).
fn minutes_ago(minutes: i64) -> Timestamp {
    let t = Timestamp::now().as_second() - minutes * 60;
    Timestamp::from_second(t - t.rem_euclid(60)).unwrap()
}

fn restore(log: &hks_store::StoredLog) -> String {
    String::from_utf8(hks_history::archive::restore(&log.gzip).unwrap()).unwrap()
}

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
    let seen: Vec<(&str, &str)> = runs
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), r["result"].as_str().unwrap()))
        .collect();
    assert_eq!(
        seen,
        [(second.as_str(), "Succeeded"), (job.as_str(), "Failed")]
    );
    let alerts = hks.alerts(&p, "report").await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(
        (&alerts[0]["kind"], &alerts[0]["subject"]),
        (&json!("failed"), &json!(job))
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
    let (status, logs) = hks.logs(&p, "report", &bad).await;
    assert_eq!(status, StatusCode::OK, "{logs}");
    assert_eq!(logs["attempts"][0]["log"], "ok\n\u{fffd}\u{fffd} bad\n");
    assert_eq!(logs["attempts"][0]["archived"], false);

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
    let (status, logs) = hks.logs(&p, "report", &bad).await;
    assert_eq!(status, StatusCode::OK, "{logs}");
    assert_eq!(logs["attempts"][0]["log"], "ok\n\u{fffd}\u{fffd} bad\n");
    assert_eq!(logs["attempts"][0]["archived"], true);

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
    assert_eq!(runs[0]["name"], job.as_str());
    assert_eq!(runs[0]["inCluster"], false);
    assert_eq!(runs[0]["result"], "Succeeded");
    assert_eq!(runs[0]["exitCode"], 0);
    assert_eq!(runs[0]["scheduledAt"], at.to_string());
    let (status, logs) = hks.logs(&p, "report", &job).await;
    assert_eq!(status, StatusCode::OK, "{logs}");
    assert_eq!(
        logs["attempts"],
        json!([{"pod": pod, "log": "report done\n", "archived": true, "truncated": false}])
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
    assert_eq!(runs[0]["name"], failed.as_str());
    assert_eq!(runs[0]["inCluster"], false);
    assert_eq!(runs[0]["result"], "Failed");
    assert_eq!(runs[0]["reason"], "BackoffLimitExceeded");
    assert_eq!(runs[0]["exitCode"], 1);
    let (status, logs) = hks.logs(&p, "report", &failed).await;
    assert_eq!(status, StatusCode::OK, "{logs}");
    assert_eq!(logs["attempts"][0]["log"], "oops\n");
    assert_eq!(logs["attempts"][0]["archived"], true);
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
            let (status, body) = hks.logs(&p, name, job).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{name} {job}: {body}");
            let logs = hks.state.store().run_logs(&p.id, name, job).await.unwrap();
            assert!(logs.is_empty(), "{name} {job}: its log is kept");
        }
        let (status, body) = hks.logs(&p, name, &kept[0]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(
            body["attempts"][0]["log"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{name} at ")),
            "{body}"
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

    let (status, body) = hks.logs(&p, "report", &job).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let attempts = body["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    let cut = &attempts[0];
    assert_eq!(cut["pod"], first.as_str());
    assert_eq!(cut["archived"], true);
    assert_eq!(cut["truncated"], true);
    let text = cut["log"].as_str().unwrap();
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
        json!({"pod": second, "log": "ok\n", "archived": true, "truncated": false})
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
                .any(|a| a["kind"] == "longRunning" && a["subject"] == previous.as_str())
                .then_some(())
        },
    )
    .await;

    let runs = hks.runs(&p, "every").await;
    let missed = runs
        .iter()
        .find(|r| r["result"] == "Missed")
        .unwrap_or_else(|| panic!("no missed run: {runs:?}"));
    assert_eq!(missed["name"], hks_core::run::missed_run_name(due).as_str());
    assert_eq!(missed["scheduledAt"], due.to_string());
    assert_eq!(missed["reason"], "JobAlreadyActive");
    assert_eq!(missed["message"], why);
    assert_eq!(missed["inCluster"], false);
    assert_eq!(hks.runs(&p, "paused").await, Vec::<Value>::new());
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
            .filter(|a| a["kind"] == "longRunning")
            .map(|a| a["subject"].as_str().unwrap().to_owned())
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
        .find(|a| a["subject"] == long.as_str())
        .unwrap()["summary"]
        .clone();
    assert_eq!(
        summary,
        format!("Run {long} has been running for more than 3600 s")
    );
}
