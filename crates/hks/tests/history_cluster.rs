//! The run history on the real cluster: runs and logs outlive Kubernetes'
//! history limits of 0 and a restart of the `hks serve` process in the
//! middle; alerts on runs are delivered exactly once. Without
//! `HKS_KUBECONFIG` `hks_testkit`'s guard fails these under CI and skips them
//! visibly elsewhere.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use hks_api::{AppState, router};
use hks_controller::recorder;
use hks_store::{EncryptionKey, Store};
use http_body_util::BodyExt;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::ListParams;
use serde_json::{Value, json};
use tower::ServiceExt;

const ADMIN: &str = "admin-secret-for-history-tests";

/// HKS as the tests run it: in this process (its router, recorder and
/// delivery worker as tasks), or as the `hks serve` program.
struct Hks {
    backend: Backend,
}

enum Backend {
    InProcess {
        router: Router,
        recorder: tokio::task::JoinHandle<()>,
        deliveries: tokio::task::JoinHandle<()>,
    },
    Process(Server),
}

impl Hks {
    /// HKS in this process on the database in `dir`, with its recorder and
    /// delivery worker running.
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
        let deliveries = hks_alerting::spawn(store.clone(), delivery_settings()).unwrap();
        let app = hks_app::App::new(store, gateway).with_webhook_targets(loopback());
        let state = AppState::of(app, Some(&ADMIN.to_owned().into()), None);
        let recorder = recorder::spawn(
            state.app().clone(),
            recorder::Settings {
                interval: Duration::from_millis(300),
                housekeeping: Duration::from_secs(2),
                ..recorder::Settings::default()
            },
        );
        Self {
            backend: Backend::InProcess {
                router: router(state),
                recorder,
                deliveries,
            },
        }
    }

    /// The `hks serve` program on the data directory `dir`.
    async fn spawn(dir: &std::path::Path) -> Self {
        Self {
            backend: Backend::Process(Server::start(dir).await),
        }
    }

    /// Everything stops at once, as when the process is killed (SIGKILL
    /// for the program).
    fn stop(self) {
        match self.backend {
            Backend::InProcess {
                recorder,
                deliveries,
                ..
            } => {
                recorder.abort();
                deliveries.abort();
            }
            Backend::Process(server) => server.kill(),
        }
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
        let router = match &self.backend {
            Backend::InProcess { router, .. } => router,
            Backend::Process(server) => return server.call(&method, path, token, body).await,
        };
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap();
        let res = router.clone().oneshot(req).await.unwrap();
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

/// The `hks serve` program as a child process on a free port of 127.0.0.1,
/// with its data (database, encryption key) in a directory. Killed with
/// SIGKILL when dropped, if still running.
struct Server {
    child: std::process::Child,
    address: std::net::SocketAddr,
}

/// The `hks` program of this workspace: cargo builds it before this test
/// (an integration test of the crate that has the binary), so it is never
/// a stale one from an earlier build.
fn hks_program() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_BIN_EXE_hks"))
}

impl Server {
    async fn start(dir: &std::path::Path) -> Self {
        let address = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("hks.log"))
            .unwrap();
        let child = std::process::Command::new(hks_program())
            .args(["serve", "--log-format", "text", "--listen"])
            .arg(address.to_string())
            .arg("--data-dir")
            .arg(dir)
            .arg("--console-dir")
            .arg(dir.join("no-console"))
            .args(["--webhook-allow-cidr", "127.0.0.0/8"])
            .env("HKS_ADMIN_TOKEN", ADMIN)
            .env_remove("HKS_DEMO_KUBECONFIG")
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut server = Self { child, address };
        wait("hks serve answering /healthz", 120, async || {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!(
                    "hks serve exited ({status}): {}",
                    std::fs::read_to_string(dir.join("hks.log")).unwrap_or_default()
                );
            }
            let (status, _) = server.call(&Method::GET, "/healthz", "", None).await;
            (status == StatusCode::OK).then_some(())
        })
        .await;
        server
    }

    /// SIGKILL: the process gets no chance to finish anything.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// One HTTP/1.1 request (`Connection: close`); a failed connection is
    /// a 503 with no body.
    async fn call(
        &self,
        method: &Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let Ok(mut stream) = tokio::net::TcpStream::connect(self.address).await else {
            return (StatusCode::SERVICE_UNAVAILABLE, Value::Null);
        };
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {token}\r\n\
             content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            self.address,
            body.len()
        );
        let mut raw = Vec::new();
        let sent = async {
            stream.write_all(request.as_bytes()).await?;
            stream.read_to_end(&mut raw).await
        };
        if sent.await.is_err() {
            return (StatusCode::SERVICE_UNAVAILABLE, Value::Null);
        }
        let raw = String::from_utf8(raw).unwrap();
        let (head, content) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or_else(|| panic!("not an HTTP response: {raw}"));
        let chunked = head
            .lines()
            .any(|l| l.eq_ignore_ascii_case("transfer-encoding: chunked"));
        let content = if chunked {
            dechunk(content)
        } else {
            content.to_owned()
        };
        (
            status,
            serde_json::from_str(&content).unwrap_or(Value::Null),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A test that failed must not leave its server running.
        if matches!(self.child.try_wait(), Ok(None)) {
            self.child.kill().ok();
            self.child.wait().ok();
        }
    }
}

/// The content of a chunked HTTP/1.1 body.
fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        out.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
    out
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
        key: _,
        client,
    }) = Env::new("history").await
    else {
        return;
    };

    // HKS is the program itself, so that its restart is a real one: a new
    // process on the same data directory, after the first was killed.
    let hks = Hks::spawn(&dir).await;
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
    let first = wait("a first scheduled run, recorded", 300, async || {
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

    // 2. HKS is killed (SIGKILL); the next run happens and Kubernetes
    // deletes its Job while HKS is down (HKS's finalizer keeps the pod).
    hks.stop();
    let second = wait(
        "a run whose Job Kubernetes deleted while HKS was down",
        300,
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

    // 3. HKS is started again on the same data: the run is recorded from
    // its pod, with its log, and nothing is held any more.
    let hks = Hks::spawn(&dir).await;
    wait("the run from HKS's downtime, recorded", 300, async || {
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
    wait("HKS's finalizers released", 300, async || {
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

/// The delivery worker's settings in these tests. A claimed attempt that
/// never finished becomes due again after `timeout + retry_base` (the
/// claim's lease, `hks_alerting::worker`): a duplicate would show up within
/// that time.
fn delivery_settings() -> hks_alerting::Settings {
    hks_alerting::Settings {
        poll_interval: Duration::from_millis(200),
        retry_base: Duration::from_millis(500),
        timeout: Duration::from_secs(5),
        targets: loopback(),
        ..hks_alerting::Settings::default()
    }
}

/// Public addresses and 127.0.0.0/8, where the test's webhook receiver listens.
fn loopback() -> hks_alerting::TargetPolicy {
    hks_alerting::TargetPolicy::allowing(["127.0.0.0/8".parse().unwrap()])
}

fn delivery_lease() -> Duration {
    let s = delivery_settings();
    s.timeout + s.retry_base
}

/// One delivery the test's webhook receiver got with a good signature.
#[derive(Clone, Debug)]
struct Delivery {
    id: String,
    kind: String,
    key: String,
    at: std::time::Instant,
}

/// What the test's webhook receiver got; bad signatures counted apart.
#[derive(Default)]
struct Received {
    alerts: Vec<Delivery>,
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
    seen.alerts.push(Delivery {
        id: header(hks_history::webhook::DELIVERY_HEADER),
        kind: field("kind"),
        key: field("key"),
        at: std::time::Instant::now(),
    });
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

/// The CronJob `flaky` of the alerts test: every minute, at most one run at
/// a time, a start at most 10 s late. `OUTCOME` (the test flips it through
/// the API) decides: `fail` exits 3 at once; anything else succeeds after
/// 75 s, so the next scheduled time cannot start within its deadline and is
/// missed.
fn flaky(outcome: &str) -> Value {
    json!({
        "schedule": "* * * * *", "image": "hks.local/busybox:1",
        "command": {"argv": [
            "echo outcome $OUTCOME; if [ \"$OUTCOME\" = fail ]; then exit 3; fi; sleep 75; echo recovered"
        ], "shell": true},
        "env": [{"name": "OUTCOME", "value": outcome}],
        "retries": 0, "startingDeadlineSeconds": 10, "concurrencyPolicy": "Forbid"
    })
}

/// Failing runs give one failure alert each, a missed run one missed alert,
/// the first success after them one recovery alert; each alert is delivered
/// exactly once (one request per delivery id, none again after the claim's
/// lease), signed, and shown delivered in the history.
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

    // Runs fail until the test has seen a failure alert; then they succeed
    // slowly. What a run does depends on the CronJob's configuration when
    // its Job was made, never on the clock.
    let (status, body) = hks
        .call(
            Method::POST,
            &format!("{base}/cronjobs"),
            &token,
            Some(json!({"name": "flaky", "spec": flaky("fail")})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let report = async |what: &str| -> String {
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
        format!(
            "timed out waiting for {what}; received {:#?}\nalerts: {history:#}\nruns: {runs:#}",
            received.lock().unwrap().alerts
        )
    };
    let has = |kind: &str| {
        received
            .lock()
            .unwrap()
            .alerts
            .iter()
            .any(|a| a.kind == kind)
    };

    if try_wait(300, async || has("failed").then_some(()))
        .await
        .is_none()
    {
        panic!("{}", report("a failure alert").await);
    }
    let (status, body) = hks
        .call(
            Method::PUT,
            &format!("{base}/cronjobs/flaky"),
            &token,
            Some(flaky("succeed")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    if try_wait(480, async || {
        (has("recovered") && has("missed")).then_some(())
    })
    .await
    .is_none()
    {
        panic!("{}", report("recovered and missed alerts").await);
    }

    // No more runs, so no more alerts: then every alert raised must be
    // delivered, and nothing may arrive again for well over the claim's
    // lease after the last request.
    let (status, body) = hks
        .call(
            Method::POST,
            &format!("{base}/cronjobs/flaky/suspend"),
            &token,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let quiet = 2 * delivery_lease() + Duration::from_secs(2);
    let history = wait(
        "every alert delivered and no request for twice the claim's lease",
        300,
        async || {
            let (_, history) = hks
                .call(Method::GET, &format!("{base}/alerts/history"), &token, None)
                .await;
            let all_delivered = history
                .as_array()?
                .iter()
                .all(|a| a["delivery"]["state"] == "delivered");
            let last = received.lock().unwrap().alerts.iter().map(|a| a.at).max()?;
            (all_delivered && last.elapsed() > quiet).then_some(history)
        },
    )
    .await;
    let history = history.as_array().unwrap();
    let got = {
        let r = received.lock().unwrap();
        assert_eq!(r.bad, 0, "every delivery is signed with the secret");
        r.alerts.clone()
    };

    // Exactly once: each alert of the history reached the receiver in one
    // request, with its delivery id; nothing else did.
    assert_eq!(got.len(), history.len(), "{got:#?}\n{history:#?}");
    for alert in history {
        let id = alert["delivery"]["id"].as_str().unwrap();
        let requests: Vec<&Delivery> = got.iter().filter(|d| d.id == id).collect();
        assert_eq!(requests.len(), 1, "{alert:#}: {got:#?}");
        assert_eq!(requests[0].key, alert["key"].as_str().unwrap(), "{alert:#}");
        assert_eq!(
            requests[0].kind,
            alert["kind"].as_str().unwrap(),
            "{alert:#}"
        );
    }

    // And the alerts are the right ones: one failure alert per failed run,
    // one missed alert per missed time, one recovery alert for the first
    // success.
    let runs = hks
        .call(
            Method::GET,
            &format!("{base}/cronjobs/flaky/runs"),
            &token,
            None,
        )
        .await
        .1;
    let runs = runs.as_array().unwrap();
    let keys = |kind: &str| -> std::collections::BTreeSet<String> {
        got.iter()
            .filter(|d| d.kind == kind)
            .map(|d| d.key.clone())
            .collect()
    };
    let failed_runs: std::collections::BTreeSet<String> = runs
        .iter()
        .filter(|r| r["result"] == "Failed")
        .map(|r| format!("failed:{}", r["name"].as_str().unwrap()))
        .collect();
    assert!(!failed_runs.is_empty(), "{runs:#?}");
    assert_eq!(keys("failed"), failed_runs, "{runs:#?}");
    let recovered = keys("recovered");
    assert_eq!(recovered.len(), 1, "{got:#?}");
    let missed_runs: Vec<&Value> = runs.iter().filter(|r| r["result"] == "Missed").collect();
    assert!(!missed_runs.is_empty(), "{runs:#?}");
    assert_eq!(
        keys("missed").len(),
        missed_runs.len(),
        "{got:#?}\n{runs:#?}"
    );
    assert!(
        missed_runs.iter().all(|r| r["reason"].is_string()),
        "a missed run carries Kubernetes' reason: {missed_runs:#?}"
    );
    assert_eq!(
        got.len(),
        failed_runs.len() + 1 + missed_runs.len(),
        "no other alert: {got:#?}"
    );

    let (status, _) = hks.call(Method::DELETE, &base, &token, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    namespace_gone(client, &namespace).await;
    hks.stop();
    std::fs::remove_dir_all(&dir).ok();
}
