//! The controller tests' harness: HKS in a test (`hks_testkit::app`: the
//! router on an in-memory store and the fake cluster, seeding, typed
//! replies) with the run recorder under the test's control, and the reads
//! the recorder's tests make. Claims about what users see are read through
//! the HTTP router; claims about the cluster through the fake.

use std::time::Duration;

use axum::http::StatusCode;
use hks_api::routes::alerts::AlertView;
use hks_controller::recorder;
use hks_core::run::Run;
use hks_kube::RunObject;
pub use hks_testkit::app::{Project, Reply, TestApp};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

/// The longest any condition is waited for that does not wait for a
/// scheduled time: generous for a loaded machine, where it takes well
/// under a second.
pub const CEILING: Duration = Duration::from_secs(120);

/// The recorder's settings in these tests: the defaults (the 1 MiB log cap,
/// 100 runs and 30 days), with timers short enough for a test.
pub fn settings() -> recorder::Settings {
    recorder::Settings {
        interval: Duration::from_millis(100),
        housekeeping: Duration::from_millis(200),
        retention_interval: Duration::from_millis(200),
        ..recorder::Settings::default()
    }
}

/// HKS on an in-memory store and the fake cluster, with the recorder's
/// settings; it reads as the [`TestApp`] it is.
#[derive(Debug)]
pub struct Hks {
    app: TestApp,
    settings: recorder::Settings,
}

impl std::ops::Deref for Hks {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl Hks {
    /// HKS with its recorder not running yet (as if it were down).
    pub async fn new(settings: recorder::Settings) -> Self {
        Self {
            app: TestApp::new().await,
            settings,
        }
    }

    /// HKS on `store` (say, a file the test also opens itself), with its
    /// recorder not running.
    #[allow(dead_code, reason = "each test binary uses part of the harness")]
    pub async fn on_store(settings: recorder::Settings, store: hks_store::Store) -> Self {
        Self {
            app: TestApp::build(hks_testkit::app::Setup {
                store: Some(store),
                ..hks_testkit::app::Setup::default()
            })
            .await,
            settings,
        }
    }

    /// The recorder's settings.
    #[allow(dead_code, reason = "each test binary uses part of the harness")]
    pub fn settings(&self) -> &recorder::Settings {
        &self.settings
    }

    /// Starts the recorder, with nothing remembered from an earlier one.
    pub fn start(&self) {
        self.app.start_recorder(self.settings.clone());
    }

    /// A tenant on the fake cluster with project `shop`.
    pub async fn project(&self, tenant: &str) -> Project {
        self.app.tenant_with_project(tenant, "shop").await
    }

    /// Creates CronJob `name` (daily, so no run is missed during a test)
    /// with `extra` fields in its spec.
    pub async fn cronjob(&self, p: &Project, name: &str, extra: Value) {
        let mut spec = json!({"schedule": "0 3 * * *", "image": "hks.local/busybox:1",
            "command": {"argv": ["/bin/report"]}});
        for (k, v) in extra.as_object().unwrap() {
            spec[k] = v.clone();
        }
        self.app
            .cronjob(&p.token, &p.name, json!({"name": name, "spec": spec}))
            .await;
    }

    #[allow(dead_code, reason = "each test binary uses part of the harness")]
    pub async fn set_alerts(&self, p: &Project, cronjob: &str, rules: Value) {
        let r = self
            .app
            .put(
                &format!("{}/cronjobs/{cronjob}/alerts", p.base),
                &p.token,
                json!({"rules": rules}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{r}");
    }

    /// The runs list of a CronJob, newest first.
    pub async fn runs(&self, p: &Project, cronjob: &str) -> Vec<Run> {
        self.app
            .get(&format!("{}/cronjobs/{cronjob}/runs", p.base), &p.token)
            .await
            .expect_json(StatusCode::OK)
    }

    #[allow(dead_code, reason = "each test binary uses part of the harness")]
    pub async fn run_names(&self, p: &Project, cronjob: &str) -> Vec<String> {
        self.runs(p, cronjob)
            .await
            .into_iter()
            .map(|r| r.name)
            .collect()
    }

    /// The reply to the logs of a run (a `RunLogs`, or not found).
    #[allow(dead_code, reason = "each test binary uses part of the harness")]
    pub async fn logs(&self, p: &Project, cronjob: &str, run: &str) -> Reply {
        self.app
            .get(
                &format!("{}/cronjobs/{cronjob}/runs/{run}/logs", p.base),
                &p.token,
            )
            .await
    }

    /// The alerts raised for a CronJob, newest first.
    #[allow(dead_code, reason = "each test binary uses part of the harness")]
    pub async fn alerts(&self, p: &Project, cronjob: &str) -> Vec<AlertView> {
        self.app
            .get(
                &format!("{}/alerts/history?cronjob={cronjob}", p.base),
                &p.token,
            )
            .await
            .expect_json(StatusCode::OK)
    }

    pub fn has_finalizer(&self, p: &Project, kind: RunObject, name: &str) -> Option<bool> {
        self.fake.has_finalizer(&p.tenant, &p.namespace, kind, name)
    }

    /// A scheduled run of `cronjob` at `at` with one attempt that ran ten
    /// seconds, logged `log` and exited with `exit_code`. Returns the Job's
    /// and the pod's names.
    pub fn run_at(
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

/// Waits until `probe` gives a value, at most `ceiling`.
pub async fn wait<T>(what: &str, ceiling: Duration, probe: impl AsyncFnMut() -> Option<T>) -> T {
    hks_testkit::app::eventually(what, ceiling, Duration::from_millis(50), probe).await
}

/// A time `minutes` before now, on a whole minute (as scheduled times are).
pub fn minutes_ago(minutes: i64) -> Timestamp {
    let t = Timestamp::now().as_second() - minutes * 60;
    Timestamp::from_second(t - t.rem_euclid(60)).unwrap()
}

/// An archived log's text.
#[allow(dead_code, reason = "each test binary uses part of the harness")]
pub fn restore(log: &hks_store::StoredLog) -> String {
    String::from_utf8(hks_history::archive::restore(&log.gzip).unwrap()).unwrap()
}
