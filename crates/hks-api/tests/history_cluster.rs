//! The run history on the real cluster: runs and logs outlive Kubernetes'
//! history limits of 0 and an HKS restart in the middle. Skipped unless
//! `HKS_KUBECONFIG` names a cluster (as `./dev/test` does).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use hks_api::{AppState, recorder, router};
use hks_store::{EncryptionKey, Store};
use http_body_util::BodyExt;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::ListParams;
use serde_json::{Value, json};
use tower::ServiceExt;

const ADMIN: &str = "admin-secret-for-history-tests";

struct Hks {
    router: Router,
    recorder: tokio::task::JoinHandle<()>,
    deliveries: tokio::task::JoinHandle<()>,
}

impl Hks {
    /// HKS on the database in `dir`, with its recorder running.
    async fn start(dir: &std::path::Path, key: &str) -> Self {
        let store = Store::open(
            &dir.join("hks.db"),
            EncryptionKey::from_base64(key).unwrap(),
        )
        .await
        .unwrap();
        let gateway = Arc::new(hks_kube::live::KubeGateway::new(
            hks_kube::live::Settings::default(),
        ));
        let deliveries = hks_alerting::spawn(
            store.clone(),
            hks_alerting::Settings {
                poll_interval: Duration::from_millis(200),
                retry_base: Duration::from_millis(500),
                ..hks_alerting::Settings::default()
            },
        )
        .unwrap();
        let state = AppState::new(store, gateway, Some(&ADMIN.to_owned().into()), None);
        let recorder = recorder::spawn(
            state.clone(),
            recorder::Settings {
                interval: Duration::from_millis(300),
                housekeeping: Duration::from_secs(2),
                ..recorder::Settings::default()
            },
        );
        Self {
            router: router(state),
            recorder,
            deliveries,
        }
    }

    /// Everything stops, as if the process was killed.
    fn stop(self) {
        self.recorder.abort();
        self.deliveries.abort();
    }

    /// A tenant on the cluster, its token and a new project; the project's
    /// path and namespace.
    async fn project(&self, tenant: &str, kubeconfig: &str) -> (String, String, String) {
        let (status, body) = self
            .call(Method::POST, "/api/v1/admin/tenants", ADMIN, Some(json!({"name": tenant, "cluster": {"kind": "kubeconfig", "kubeconfig": kubeconfig}})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (_, body) = self
            .call(
                Method::POST,
                &format!("/api/v1/admin/tenants/{tenant}/tokens"),
                ADMIN,
                Some(json!({"name": "ci"})),
            )
            .await;
        let token = body["token"].as_str().unwrap().to_owned();
        let project = format!("p{}", std::process::id());
        let (status, body) = self
            .call(
                Method::POST,
                "/api/v1/projects",
                &token,
                Some(json!({"name": project})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let namespace = body["namespace"].as_str().unwrap().to_owned();
        (token, format!("/api/v1/projects/{project}"), namespace)
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

    async fn runs(&self, token: &str, base: &str) -> Vec<Value> {
        let (status, body) = self
            .call(
                Method::GET,
                &format!("{base}/cronjobs/tick/runs"),
                token,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body.as_array().cloned().unwrap_or_default()
    }

    async fn log(&self, token: &str, base: &str, run: &str) -> Value {
        let (status, body) = self
            .call(
                Method::GET,
                &format!("{base}/cronjobs/tick/runs/{run}/logs"),
                token,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }
}

fn done_scheduled(runs: &[Value]) -> Vec<String> {
    runs.iter()
        .filter(|r| r["trigger"] == "scheduled" && r["result"] == "Succeeded")
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn wait<T>(what: &str, seconds: u64, probe: impl AsyncFnMut() -> Option<T>) -> T {
    try_wait(seconds, probe)
        .await
        .unwrap_or_else(|| panic!("timed out after {seconds} s waiting for {what}"))
}

async fn try_wait<T>(seconds: u64, mut probe: impl AsyncFnMut() -> Option<T>) -> Option<T> {
    for _ in 0..seconds * 2 {
        if let Some(v) = probe().await {
            return Some(v);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    None
}

/// What each test needs: the cluster's kubeconfig and a client for it, a
/// data directory and an encryption key for its HKS. `None` (the test is
/// skipped) unless `HKS_KUBECONFIG` names a cluster.
struct Env {
    kubeconfig: String,
    dir: std::path::PathBuf,
    key: String,
    client: kube::Client,
}

impl Env {
    async fn new(name: &str) -> Option<Self> {
        let kubeconfig = hks_testkit::cluster()?;
        let dir = std::env::temp_dir().join(format!("hks-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = EncryptionKey::generate().unwrap().to_base64();
        let key = secrecy::ExposeSecret::expose_secret(&key).to_owned();
        let client = kube::Client::try_from(
            kube::Config::from_custom_kubeconfig(
                kube::config::Kubeconfig::from_yaml(&kubeconfig).unwrap(),
                &Default::default(),
            )
            .await
            .unwrap(),
        )
        .unwrap();
        Some(Self {
            kubeconfig,
            dir,
            key,
            client,
        })
    }
}

#[tokio::test]
async fn runs_and_logs_outlive_kubernetes_and_a_restart() {
    let Some(Env {
        kubeconfig,
        dir,
        key,
        client,
    }) = Env::new("history").await
    else {
        return;
    };

    let hks = Hks::start(&dir, &key).await;
    let (token, base, namespace) = hks.project("history", &kubeconfig).await;
    // Kubernetes keeps no finished Job at all.
    let (status, body) = hks
        .call(
            Method::POST,
            &format!("{base}/cronjobs"),
            &token,
            Some(json!({"name": "tick", "spec": {
                "schedule": "* * * * *", "image": "hks.local/busybox:1",
                "command": {"argv": ["echo \"tick $(date +%H:%M)\"; echo done"], "shell": true},
                "retries": 0, "successfulJobsHistoryLimit": 0, "failedJobsHistoryLimit": 0
            }})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let pods: kube::Api<Pod> = kube::Api::namespaced(client.clone(), &namespace);

    // 1. A scheduled run ends; Kubernetes deletes its Job; HKS still has it.
    let first = wait("a first scheduled run, recorded", 150, async || {
        let runs = hks.runs(&token, &base).await;
        runs.iter()
            .find(|r| {
                r["trigger"] == "scheduled" && r["result"] == "Succeeded" && r["inCluster"] == false
            })
            .map(|r| r["name"].as_str().unwrap().to_owned())
    })
    .await;
    let log = hks.log(&token, &base, &first).await;
    assert_eq!(log["attempts"][0]["archived"], true, "{log}");
    assert!(
        log["attempts"][0]["log"]
            .as_str()
            .unwrap()
            .starts_with("tick "),
        "{log}"
    );

    // 2. HKS goes away; the next run happens and Kubernetes deletes its Job
    // while HKS is down (HKS's finalizer keeps the pod).
    hks.stop();
    let second = wait(
        "a run whose Job Kubernetes deleted while HKS was down",
        150,
        async || {
            let list = pods.list(&ListParams::default()).await.ok()?;
            list.items.iter().find_map(|p| {
                let job = p
                    .metadata
                    .labels
                    .as_ref()?
                    .get("batch.kubernetes.io/job-name")?;
                (job != &first && p.metadata.deletion_timestamp.is_some()).then(|| job.clone())
            })
        },
    )
    .await;

    // 3. HKS is back: the run is recorded from its pod, with its log, and
    // nothing is held any more.
    let hks = Hks::start(&dir, &key).await;
    wait("the run from HKS's downtime, recorded", 60, async || {
        let runs = hks.runs(&token, &base).await;
        done_scheduled(&runs).contains(&second).then_some(())
    })
    .await;
    for run in [&first, &second] {
        let log = hks.log(&token, &base, run).await;
        assert!(
            log["attempts"][0]["log"]
                .as_str()
                .unwrap()
                .starts_with("tick "),
            "{run}: {log}"
        );
    }
    wait("HKS's finalizers released", 60, async || {
        let list = pods.list(&ListParams::default()).await.ok()?;
        let held = list.items.iter().filter(|p| {
            p.metadata
                .finalizers
                .as_ref()
                .is_some_and(|f| f.iter().any(|f| f == hks_core::manifest::FINALIZER_ARCHIVE))
                && p.status
                    .as_ref()
                    .and_then(|s| s.phase.as_deref())
                    .is_some_and(|ph| ph == "Succeeded" || ph == "Failed")
                && p.metadata.deletion_timestamp.is_some()
        });
        (held.count() == 0).then_some(())
    })
    .await;
    let runs = hks.runs(&token, &base).await;
    let last = hks
        .call(Method::GET, &format!("{base}/cronjobs"), &token, None)
        .await
        .1[0]["lastRun"]
        .clone();
    assert!(
        last["result"].is_string(),
        "the list shows a last run: {last}"
    );
    assert!(done_scheduled(&runs).len() >= 2, "{runs:#?}");

    // Deleting the project lets Kubernetes delete everything (nothing stays held).
    let (status, _) = hks.call(Method::DELETE, &base, &token, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    namespace_gone(client, &namespace).await;
    hks.stop();
    std::fs::remove_dir_all(&dir).ok();
}
async fn namespace_gone(client: kube::Client, namespace: &str) {
    let namespaces: kube::Api<Namespace> = kube::Api::all(client);
    wait("the project's namespace gone", 120, async || {
        namespaces
            .get_opt(namespace)
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
}

const WEBHOOK_SECRET: &str = "a-webhook-secret-for-tests";

/// What the test's webhook receiver got: (delivery id, alert kind, subject)
/// per delivery whose signature checked out; bad signatures counted apart.
#[derive(Default)]
struct Received {
    alerts: Vec<(String, String, String)>,
    bad: usize,
}

type Seen = Arc<std::sync::Mutex<Received>>;

async fn hook(
    axum::extract::State(seen): axum::extract::State<Seen>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let header = |h: &str| {
        headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let ok = hks_history::webhook::verify(
        WEBHOOK_SECRET.as_bytes(),
        &header(hks_history::webhook::SIGNATURE_HEADER),
        &body,
        jiff::Timestamp::now(),
        jiff::SignedDuration::from_secs(300),
    )
    .is_ok();
    let mut seen = seen.lock().unwrap();
    if !ok {
        seen.bad += 1;
        return StatusCode::UNAUTHORIZED;
    }
    let v: Value = serde_json::from_slice(&body).unwrap_or_default();
    let field = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
    seen.alerts.push((
        header(hks_history::webhook::DELIVERY_HEADER),
        field("kind"),
        field("subject"),
    ));
    StatusCode::NO_CONTENT
}

/// A local webhook receiver: its URL and what it received.
async fn receiver() -> (String, Seen) {
    let seen = Seen::default();
    let app = Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

/// A failing run gives one failure alert, a missed run one missed alert,
/// the next success one recovery alert, each delivered exactly once.
#[tokio::test]
async fn alerts_are_delivered_exactly_once() {
    let Some(Env {
        kubeconfig,
        dir,
        key,
        client,
    }) = Env::new("alerts").await
    else {
        return;
    };
    let (url, received) = receiver().await;
    let hks = Hks::start(&dir, &key).await;
    let (token, base, namespace) = hks.project("alerts", &kubeconfig).await;
    let (status, body) = hks
        .call(
            Method::PUT,
            &format!("{base}/alerts"),
            &token,
            Some(json!({
                "rules": {"onFailure": true, "onMissed": true, "onRecovery": true},
                "webhook": {"url": url, "secret": WEBHOOK_SECRET}
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The first scheduled run fails; the next succeeds after 75 s, so with
    // Forbid the one after that cannot start within its 10 s deadline.
    // Which run does what comes from the scheduled minute in the Job's name.
    let now = jiff::Timestamp::now().as_second();
    let first_minute = if now % 60 > 50 {
        now / 60 + 2
    } else {
        now / 60 + 1
    };
    let script = format!(
        "m=$(echo $HOSTNAME | cut -d- -f2); echo scheduled minute $m; \
         if [ $m -le {first_minute} ]; then echo failing; exit 3; fi; sleep 75; echo recovered"
    );
    let (status, body) = hks
        .call(
            Method::POST,
            &format!("{base}/cronjobs"),
            &token,
            Some(json!({"name": "flaky", "spec": {
                "schedule": "* * * * *", "image": "hks.local/busybox:1",
                "command": {"argv": [script], "shell": true},
                "retries": 0, "startingDeadlineSeconds": 10, "concurrencyPolicy": "Forbid"
            }})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let want = ["failed", "missed", "recovered"];
    let got = try_wait(330, async || {
        let r = received.lock().unwrap();
        want.iter()
            .all(|w| r.alerts.iter().any(|a| a.1 == *w))
            .then(|| r.alerts.clone())
    })
    .await;
    let Some(got) = got else {
        let runs = hks
            .call(
                Method::GET,
                &format!("{base}/cronjobs/flaky/runs"),
                &token,
                None,
            )
            .await
            .1;
        let history = hks
            .call(Method::GET, &format!("{base}/alerts/history"), &token, None)
            .await
            .1;
        panic!(
            "timed out waiting for failed, missed and recovered alerts; received {:?}\nalerts: {history:#}\nruns: {runs:#}",
            received.lock().unwrap().alerts
        );
    };
    // Time for duplicates to show up, if there were any.
    tokio::time::sleep(Duration::from_secs(5)).await;
    {
        let r = received.lock().unwrap();
        assert_eq!(r.bad, 0, "every delivery is signed with the secret");
        for kind in want {
            let n = r.alerts.iter().filter(|a| a.1 == kind).count();
            assert_eq!(n, 1, "exactly one {kind} alert: {:#?}", r.alerts);
        }
        let ids: std::collections::BTreeSet<&String> = r.alerts.iter().map(|a| &a.0).collect();
        assert_eq!(ids.len(), r.alerts.len(), "one delivery id per alert");
    }
    let failed = got.iter().find(|a| a.1 == "failed").unwrap().2.clone();
    assert_eq!(failed, format!("flaky-{first_minute}"));

    // The history shows the missed run with Kubernetes' reason, and the
    // alerts as delivered.
    let runs = hks
        .call(
            Method::GET,
            &format!("{base}/cronjobs/flaky/runs"),
            &token,
            None,
        )
        .await
        .1;
    let missed = runs
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["result"] == "Missed")
        .unwrap_or_else(|| panic!("a missed run in {runs:#}"))
        .clone();
    assert!(missed["reason"].is_string(), "{missed}");
    let history = hks
        .call(Method::GET, &format!("{base}/alerts/history"), &token, None)
        .await
        .1;
    let states: Vec<&Value> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["delivery"]["state"])
        .collect();
    assert!(
        states.len() == 3 && states.iter().all(|s| *s == "delivered"),
        "{history:#}"
    );

    let (status, _) = hks.call(Method::DELETE, &base, &token, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    namespace_gone(client, &namespace).await;
    hks.stop();
    std::fs::remove_dir_all(&dir).ok();
}
