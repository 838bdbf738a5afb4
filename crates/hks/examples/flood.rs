//! Load script for issue 13's benchmark: one tenant floods HKS while another
//! tenant's list latency and alert latency are measured, idle and then under
//! the flood. Traffic goes only to the given server (use 127.0.0.1) and to
//! the script's own webhook receiver on 127.0.0.1.
//!
//! ```sh
//! # a release server with its own data directory; webhooks may go to 127.0.0.1
//! target/release/hks serve --listen 127.0.0.1:18080 --data-dir "$DIR" \
//!     --webhook-allow-cidr 127.0.0.1/32 &
//! HKS_ADMIN_TOKEN=$(cat "$DIR/admin.token") \
//! cargo run --release -p hks --example flood -- \
//!     --server http://127.0.0.1:18080 \
//!     --kubeconfig /var/lib/hks-cluster/admin.kubeconfig --server-pid "$!"
//! ```
//!
//! It creates two tenants on the cluster of `--kubeconfig` (the admin API),
//! each with a token:
//!
//! - the quiet tenant, with a project of `--cronjobs` suspended CronJobs
//!   (what it lists) and the project's alert on every failed run, sent to a
//!   webhook receiver this script runs on 127.0.0.1 (each delivery's HMAC
//!   signature is checked);
//! - the flooding tenant, with `--flood-projects` projects.
//!
//! Then two phases of `--phase-seconds`, idle and under the flood. In each,
//! `--list-clients` clients list the quiet project's CronJobs every
//! `--list-interval-ms` (p50/p99 of the lists that succeeded), and failing
//! runs give the alert latency. Those runs are started before the phase
//! (`--prepare-seconds`; before the flood, in the flood phase), one CronJob
//! each, and each sleeps until its own time in the phase, one every
//! `--alert-every-seconds`, then exits 1: their pods are already running
//! when the flood comes, so what is measured is HKS's path from a run's
//! end to its alert, not the time the shared node takes to start a pod
//! under the flood. A run's end is the moment the apiserver reports its
//! pod terminated (its watch event reaching this script, which watches the
//! quiet project's pods and Jobs with kube-rs); alert latency is from then
//! to the webhook POST arriving. It is also given from the Job's `Failed`
//! condition (what HKS waits for: the Job controller's reaction is
//! Kubernetes') and from the pod's `finishedAt` (whole seconds; includes
//! the kubelet's delay in reporting). Besides, every `--alert-every-seconds`
//! the quiet tenant starts a run of CronJob `fails` (exits 1 at once) with
//! Run now: its request latency, and from the request to the pod's end and
//! to the alert (this includes the pod's start on the shared node). A phase
//! ends when every run it started has alerted, or after
//! `--alert-wait-seconds`.
//!
//! The flood starts `--flood-warmup-seconds` before the flood phase and
//! lasts until its last alert arrived: `--flood-create-clients` clients
//! create suspended CronJobs as fast as the server answers (spread over the
//! projects: writes to one project are serialised), `--flood-run-clients`
//! clients start runs with Run now as fast as the server answers (each
//! prints a line a second for 5 seconds), and `--flood-follow-clients`
//! clients follow the logs of `--flood-long-runs` long runs, retrying at
//! once after a refusal (the server allows 8 per tenant by default and
//! answers 429 beyond: counted).
//!
//! Printed per phase and as a table: list p50/p99, alert latencies, load
//! averages, CPU seconds of the server and of this script, the server's
//! resident memory, the ratios flood/idle, and the flood's request counts
//! by outcome. Everything made is deleted at the end (projects, then,
//! once their namespaces are gone, tenants) unless `--keep`.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use futures::StreamExt;
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::runtime::{WatchStreamExt, watcher};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: String,
    /// The server's admin token (tenants and their tokens are made with it).
    #[arg(long, env = "HKS_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: String,
    /// The cluster both tenants use, and the script's own watch of the
    /// failing runs.
    #[arg(long)]
    kubeconfig: std::path::PathBuf,
    /// Suspended CronJobs in the quiet tenant's project (what it lists).
    #[arg(long, default_value_t = 200)]
    cronjobs: usize,
    /// Clients listing the quiet project at once.
    #[arg(long, default_value_t = 4)]
    list_clients: usize,
    /// Each list client starts a list this often (or when its last one
    /// ended, if that took longer).
    #[arg(long, default_value_t = 50)]
    list_interval_ms: u64,
    /// How long lists are measured and runs of `fails` started, per phase.
    #[arg(long, default_value_t = 60)]
    phase_seconds: u64,
    /// A failing run ends this often in each phase, and a Run now of
    /// `fails` is made this often.
    #[arg(long, default_value_t = 6)]
    alert_every_seconds: u64,
    /// The longest a phase waits, after its lists, for its runs' alerts.
    #[arg(long, default_value_t = 180)]
    alert_wait_seconds: u64,
    /// The flooding tenant's projects (its creates are spread over them).
    #[arg(long, default_value_t = 2)]
    flood_projects: usize,
    #[arg(long, default_value_t = 16)]
    flood_create_clients: usize,
    #[arg(long, default_value_t = 2)]
    flood_run_clients: usize,
    #[arg(long, default_value_t = 24)]
    flood_follow_clients: usize,
    /// Long runs whose logs the follow clients follow.
    #[arg(long, default_value_t = 4)]
    flood_long_runs: usize,
    /// How long the flood runs before the flood phase's measurement starts.
    #[arg(long, default_value_t = 15)]
    flood_warmup_seconds: u64,
    /// Time given to each phase's failing runs to start before the phase
    /// (before the flood, in the flood phase).
    #[arg(long, default_value_t = 30)]
    prepare_seconds: u64,
    /// PID of the server, for its resident memory.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Leave the tenants, projects and CronJobs in place.
    #[arg(long)]
    keep: bool,
}

/// The image every CronJob of the script runs (the development cluster's).
const IMAGE: &str = "hks.local/busybox:1";
/// Small requests, so that the node's CPU requests do not cap the number of pods.
fn resources() -> Value {
    json!({"requests": {"cpu": "5m", "memory": "8Mi"}, "limits": {"memory": "32Mi"}})
}
const WEBHOOK_SECRET: &str = "flood-benchmark-webhook-secret";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

fn rss(pid: u32) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .map(|l| l.trim_start_matches("VmRSS:").trim().to_owned())
}

/// An HTTP client of the API with one token.
#[derive(Debug, Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
    auth: String,
}

impl Api {
    fn new(server: &str, token: &str) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .build()?,
            base: format!("{}/api/v1", server.trim_end_matches('/')),
            auth: format!("Bearer {token}"),
        })
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .header("authorization", &self.auth)
    }

    /// A request that must succeed; its JSON answer (or null).
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        // The setup's requests wait out the tenant's budget (429) and go on.
        loop {
            let mut req = self.request(method.clone(), path);
            if let Some(b) = &body {
                req = req.json(b);
            }
            let res = req
                .send()
                .await
                .with_context(|| format!("{method} {path}"))?;
            let status = res.status();
            if let Some(wait) = retry_after(&res) {
                tokio::time::sleep(wait).await;
                continue;
            }
            let text = res.text().await.unwrap_or_default();
            if !status.is_success() {
                bail!("{method} {path}: {status}: {text}");
            }
            return Ok(serde_json::from_str(&text).unwrap_or(Value::Null));
        }
    }
}

/// How long a 429 says to wait (`Retry-After`), if it is one.
fn retry_after(res: &reqwest::Response) -> Option<Duration> {
    (res.status() == StatusCode::TOO_MANY_REQUESTS).then(|| {
        let secs = res
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        Duration::from_secs(secs)
    })
}

/// What is known of one run of the quiet tenant's failing CronJob.
#[derive(Debug, Default, Clone)]
struct RunTimes {
    requested: Option<Instant>,
    /// The script saw its pod running.
    pod_running: Option<Instant>,
    /// The script saw its pod terminated.
    pod_finished: Option<Instant>,
    /// The pod's `finishedAt`, as Kubernetes reports it (whole seconds).
    finished_at: Option<Timestamp>,
    /// The script saw its Job's `Failed` condition.
    job_failed: Option<Instant>,
    alerted: Option<Instant>,
    alerted_wall: Option<Timestamp>,
}

type Runs = Arc<Mutex<HashMap<String, RunTimes>>>;

fn note(runs: &Runs, run: &str, f: impl FnOnce(&mut RunTimes)) {
    let mut runs = runs.lock().unwrap_or_else(|e| e.into_inner());
    f(runs.entry(run.to_owned()).or_default());
}

/// The webhook receiver's state.
#[derive(Debug, Clone)]
struct Receiver {
    runs: Runs,
    deliveries: Arc<Mutex<HashSet<String>>>,
    bad_signatures: Arc<AtomicU64>,
    other_alerts: Arc<AtomicU64>,
}

async fn hook(
    axum::extract::State(r): axum::extract::State<Receiver>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::http::StatusCode {
    let (now, wall) = (Instant::now(), Timestamp::now());
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    if hks_history::webhook::verify(
        WEBHOOK_SECRET.as_bytes(),
        &header(hks_history::webhook::SIGNATURE_HEADER),
        &body,
        wall,
        SignedDuration::from_secs(300),
    )
    .is_err()
    {
        r.bad_signatures.fetch_add(1, Ordering::Relaxed);
        return axum::http::StatusCode::UNAUTHORIZED;
    }
    let delivery = header(hks_history::webhook::DELIVERY_HEADER);
    if !r
        .deliveries
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(delivery)
    {
        // A repeated delivery: the first one counted.
        return axum::http::StatusCode::OK;
    }
    let alert: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match (alert["kind"].as_str(), alert["run"].as_str()) {
        (Some("failed"), Some(run)) => note(&r.runs, run, |t| {
            if t.alerted.is_none() {
                t.alerted = Some(now);
                t.alerted_wall = Some(wall);
            }
        }),
        _ => {
            r.other_alerts.fetch_add(1, Ordering::Relaxed);
        }
    }
    axum::http::StatusCode::OK
}

/// Watches the quiet project's pods and Jobs, noting when each run's pod is
/// seen running and terminated, and when its Job is seen failed.
fn watch_runs(client: kube::Client, namespace: &str, runs: Runs) {
    let selector = format!(
        "{}={}",
        hks_core::labels::LABEL_MANAGED_BY,
        hks_core::labels::MANAGED_BY
    );
    let pods: kube::Api<Pod> = kube::Api::namespaced(client.clone(), namespace);
    let jobs: kube::Api<Job> = kube::Api::namespaced(client, namespace);
    let config = watcher::Config::default().labels(&selector);
    let runs_pods = runs.clone();
    let pod_events = watcher(pods, config.clone())
        .default_backoff()
        .applied_objects();
    tokio::spawn(async move {
        let mut events = std::pin::pin!(pod_events);
        while let Some(event) = events.next().await {
            let Ok(pod) = event else { continue };
            let now = Instant::now();
            let Some(run) = pod
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(hks_core::labels::LABEL_JOB_NAME))
            else {
                continue;
            };
            let state = pod
                .status
                .as_ref()
                .and_then(|s| s.container_statuses.as_ref())
                .and_then(|c| c.first())
                .and_then(|c| c.state.as_ref());
            if state.is_some_and(|s| s.running.is_some()) {
                note(&runs_pods, run, |r| {
                    r.pod_running.get_or_insert(now);
                });
            }
            if let Some(t) = state.and_then(|s| s.terminated.as_ref()) {
                let finished_at = t.finished_at.as_ref().map(|t| t.0);
                note(&runs_pods, run, |r| {
                    if r.pod_finished.is_none() {
                        r.pod_finished = Some(now);
                        r.finished_at = finished_at;
                    }
                });
            }
        }
    });
    let job_events = watcher(jobs, config).default_backoff().applied_objects();
    tokio::spawn(async move {
        let mut events = std::pin::pin!(job_events);
        while let Some(event) = events.next().await {
            let Ok(job) = event else { continue };
            let now = Instant::now();
            let failed = job
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Failed" && c.status == "True"));
            if let (true, Some(name)) = (failed, job.metadata.name.as_deref()) {
                note(&runs, name, |r| {
                    if r.job_failed.is_none() {
                        r.job_failed = Some(now);
                    }
                });
            }
        }
    });
}

/// Requests of one kind the flood made, by outcome.
#[derive(Debug, Default)]
struct Outcomes {
    ok: AtomicU64,
    too_many: AtomicU64,
    other: AtomicU64,
    /// Sent, but no answer (connection errors, timeouts).
    failed: AtomicU64,
}

impl Outcomes {
    fn count(&self, status: Result<StatusCode, ()>) {
        let counter = match status {
            Ok(s) if s.is_success() => &self.ok,
            Ok(StatusCode::TOO_MANY_REQUESTS) => &self.too_many,
            Ok(_) => &self.other,
            Err(()) => &self.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn show(&self) -> String {
        format!(
            "{} ok, {} 429, {} other, {} failed",
            self.ok.load(Ordering::Relaxed),
            self.too_many.load(Ordering::Relaxed),
            self.other.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed)
        )
    }
}

/// What the flood did.
#[derive(Debug, Default)]
struct FloodCounts {
    creates: Outcomes,
    runs: Outcomes,
    follows: Outcomes,
    follow_bytes: AtomicU64,
    other_statuses: Mutex<HashMap<u16, u64>>,
}

impl FloodCounts {
    fn other_status(&self, status: StatusCode) {
        if !status.is_success() && status != StatusCode::TOO_MANY_REQUESTS {
            *self
                .other_statuses
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(status.as_u16())
                .or_default() += 1;
        }
    }
}

/// The flooding tenant's work until `stop` says so.
fn flood(
    api: &Api,
    args: &Args,
    projects: &[String],
    long_runs: &[String],
    counts: &Arc<FloodCounts>,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    let seq = Arc::new(AtomicU64::new(0));
    for client in 0..args.flood_create_clients {
        let (api, counts, stop, seq) = (api.clone(), counts.clone(), stop.clone(), seq.clone());
        let project = projects[client % projects.len()].clone();
        tasks.push(tokio::spawn(async move {
            while !*stop.borrow() {
                let i = seq.fetch_add(1, Ordering::Relaxed);
                let body = json!({"name": format!("f{i:06}"), "spec": {
                    "schedule": "0 0 1 1 *", "image": IMAGE, "suspend": true,
                    "command": {"argv": ["true"]}, "resources": resources()}});
                let r = api
                    .request(
                        reqwest::Method::POST,
                        &format!("/projects/{project}/cronjobs"),
                    )
                    .json(&body)
                    .send()
                    .await;
                let status = r.as_ref().map(|r| r.status()).map_err(|_| ());
                if let Ok(s) = status {
                    counts.other_status(s);
                }
                counts.creates.count(status);
                if status.is_err() {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }));
    }
    let runs_path = format!("/projects/{}/cronjobs/spam/runs", projects[0]);
    for _ in 0..args.flood_run_clients {
        let (api, counts, stop, path) =
            (api.clone(), counts.clone(), stop.clone(), runs_path.clone());
        tasks.push(tokio::spawn(async move {
            while !*stop.borrow() {
                let r = api
                    .request(reqwest::Method::POST, &path)
                    .json(&json!({}))
                    .send()
                    .await;
                let status = r.as_ref().map(|r| r.status()).map_err(|_| ());
                if let Ok(s) = status {
                    counts.other_status(s);
                }
                counts.runs.count(status);
                if status.is_err() {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }));
    }
    for client in 0..args.flood_follow_clients {
        let (api, counts, mut stop) = (api.clone(), counts.clone(), stop.clone());
        let path = format!(
            "/projects/{}/cronjobs/long/runs/{}/logs?follow=true",
            projects[0],
            long_runs[client % long_runs.len()]
        );
        tasks.push(tokio::spawn(async move {
            while !*stop.borrow() {
                let r = api.request(reqwest::Method::GET, &path).send().await;
                let r = match r {
                    Ok(r) => r,
                    Err(_) => {
                        counts.follows.count(Err(()));
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let status = r.status();
                counts.follows.count(Ok(status));
                counts.other_status(status);
                if status.is_success() {
                    // Held open until the run ends or the flood stops.
                    let mut body = r.bytes_stream();
                    loop {
                        tokio::select! {
                            chunk = body.next() => match chunk {
                                Some(Ok(b)) => {
                                    counts.follow_bytes.fetch_add(b.len() as u64, Ordering::Relaxed);
                                }
                                _ => break,
                            },
                            _ = stop.changed() => break,
                        }
                    }
                } else if status != StatusCode::TOO_MANY_REQUESTS {
                    // Most likely the long run's pod has not started yet.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                // A 429 is retried at once, as a hostile client would.
            }
        }));
    }
    tasks
}

/// One phase's measurements of the quiet tenant.
#[derive(Debug)]
struct Phase {
    name: &'static str,
    lists: Vec<Duration>,
    list_failures: u64,
    /// The runs started before the phase, each failing at its time in it.
    timed: Vec<(String, RunTimes)>,
    /// The runs started with Run now during the phase.
    started: Vec<(String, RunTimes)>,
    run_now: Vec<Duration>,
    run_now_failures: u64,
    load_start: String,
    load_end: String,
    /// CPU seconds of the server and of this script during the phase.
    server_cpu: Option<f64>,
    script_cpu: Option<f64>,
    rss: Option<String>,
}

/// Sorted latencies of the runs that alerted.
#[derive(Debug, Default)]
struct Latencies {
    /// From the pod seen terminated to the POST.
    from_pod: Vec<Duration>,
    /// From the Job seen failed to the POST.
    from_job: Vec<Duration>,
    /// From the pod's `finishedAt` (whole seconds) to the POST.
    from_finished_at: Vec<Duration>,
    /// From the Run now request to the POST.
    from_request: Vec<Duration>,
    /// From the Run now request to the pod seen terminated.
    request_to_end: Vec<Duration>,
    runs: usize,
    alerted: usize,
}

fn latencies(runs: &[(String, RunTimes)]) -> Latencies {
    let mut l = Latencies {
        runs: runs.len(),
        ..Latencies::default()
    };
    let since = |later: Instant, earlier: Option<Instant>| {
        earlier.map(|e| later.saturating_duration_since(e))
    };
    for (_, t) in runs {
        if let (Some(end), Some(r)) = (t.pod_finished, t.requested) {
            l.request_to_end.push(end.saturating_duration_since(r));
        }
        let Some(alerted) = t.alerted else { continue };
        l.alerted += 1;
        l.from_pod.extend(since(alerted, t.pod_finished));
        l.from_job.extend(since(alerted, t.job_failed));
        l.from_request.extend(since(alerted, t.requested));
        if let (Some(f), Some(w)) = (t.finished_at, t.alerted_wall) {
            l.from_finished_at
                .push(Duration::try_from(w.duration_since(f)).unwrap_or_default());
        }
    }
    for v in [
        &mut l.from_pod,
        &mut l.from_job,
        &mut l.from_finished_at,
        &mut l.from_request,
        &mut l.request_to_end,
    ] {
        v.sort();
    }
    l
}

fn secs(v: &[Duration]) -> String {
    v.iter()
        .map(|d| format!("{:.2}", d.as_secs_f64()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn median_max(v: &[Duration]) -> (f64, f64) {
    (
        percentile(v, 0.5).as_secs_f64(),
        v.last().copied().unwrap_or_default().as_secs_f64(),
    )
}

impl Phase {
    fn print(&self) {
        let mut lists = self.lists.clone();
        lists.sort();
        let n = self.name;
        println!(
            "[{n}] lists: n={} p50={:.2} ms p99={:.2} ms max={:.2} ms failures={}",
            lists.len(),
            ms(percentile(&lists, 0.5)),
            ms(percentile(&lists, 0.99)),
            ms(lists.last().copied().unwrap_or_default()),
            self.list_failures
        );
        let l = latencies(&self.timed);
        println!(
            "[{n}] alerts of the runs failing in the phase: {} of {}",
            l.alerted, l.runs
        );
        for (what, v) in [
            ("pod seen terminated -> POST", &l.from_pod),
            ("Job seen failed -> POST", &l.from_job),
            ("pod finishedAt (1 s) -> POST", &l.from_finished_at),
        ] {
            let (m, x) = median_max(v);
            println!(
                "[{n}]   {what}: n={} median={m:.2} s max={x:.2} s [{}]",
                v.len(),
                secs(v)
            );
        }
        let mut run_now = self.run_now.clone();
        run_now.sort();
        let s = latencies(&self.started);
        println!(
            "[{n}] Run now of `fails`: requests n={} p50={:.1} ms max={:.1} ms failures={}; {} of {} runs ended, {} alerted",
            run_now.len(),
            ms(percentile(&run_now, 0.5)),
            ms(run_now.last().copied().unwrap_or_default()),
            self.run_now_failures,
            s.request_to_end.len(),
            s.runs,
            s.alerted
        );
        for (what, v) in [
            ("Run now -> pod seen terminated", &s.request_to_end),
            ("pod seen terminated -> POST", &s.from_pod),
            ("Run now -> POST", &s.from_request),
        ] {
            let (m, x) = median_max(v);
            println!(
                "[{n}]   {what}: n={} median={m:.2} s max={x:.2} s [{}]",
                v.len(),
                secs(v)
            );
        }
        println!(
            "[{n}] load average at start {} / at end {}; CPU seconds: server {}, this script {}; server RSS {}",
            self.load_start,
            self.load_end,
            self.server_cpu
                .map_or_else(|| "unknown".into(), |c| format!("{c:.1}")),
            self.script_cpu
                .map_or_else(|| "unknown".into(), |c| format!("{c:.1}")),
            self.rss.as_deref().unwrap_or("unknown")
        );
    }
}

/// CPU seconds (user and system) a process has used.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command (which may hold spaces), from field 3.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on Linux.
    Some(ticks / 100.0)
}

/// The quiet tenant's failing runs of a phase, started before it: CronJob
/// `<phase>-<i>` exits 1 at `at + (i + 0.5) * every` (whole seconds).
async fn start_timed_runs(
    args: &Args,
    quiet: &Api,
    runs: &Runs,
    phase: &str,
    at: Timestamp,
) -> anyhow::Result<Vec<String>> {
    let every = args.alert_every_seconds.max(1);
    let n = (args.phase_seconds / every).max(1);
    let mut names = Vec::new();
    for i in 0..n {
        let fail_at = at.as_second() + i64::try_from(i * every + every / 2)?;
        let name = format!("{phase}-{i}");
        quiet
            .call(
                reqwest::Method::POST,
                "/projects/quiet/cronjobs",
                Some(json!({"name": name, "spec": {
                    "schedule": "0 0 1 1 *", "image": IMAGE, "suspend": true, "retries": 0,
                    "command": {"argv": [format!(
                        "now=$(date +%s); [ $now -lt {fail_at} ] && sleep $(({fail_at} - now)); echo failing at {fail_at}; exit 1"
                    )], "shell": true},
                    "resources": resources()}})),
            )
            .await?;
        let t = Instant::now();
        let run = quiet
            .call(
                reqwest::Method::POST,
                &format!("/projects/quiet/cronjobs/{name}/runs"),
                Some(json!({})),
            )
            .await?;
        let run = run["name"].as_str().context("a run without a name")?;
        note(runs, run, |r| r.requested = Some(t));
        names.push(run.to_owned());
    }
    Ok(names)
}

/// Waits until `at`, saying how many of `names` have their pod running.
async fn wait_running(runs: &Runs, names: &[String], at: Timestamp, phase: &str) {
    loop {
        let running = {
            let runs = runs.lock().unwrap_or_else(|e| e.into_inner());
            names
                .iter()
                .filter(|n| runs.get(*n).is_some_and(|t| t.pod_running.is_some()))
                .count()
        };
        let left = at.duration_since(Timestamp::now());
        if running == names.len() || left <= SignedDuration::ZERO {
            println!(
                "[{phase}] {running} of {} failing runs are running",
                names.len()
            );
            if let Ok(left) = Duration::try_from(left) {
                tokio::time::sleep(left).await;
            }
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The quiet tenant's measurement from now on: lists, and a Run now of
/// `fails` every `--alert-every-seconds`, for the phase's time; then the
/// wait for the alerts of `timed` and of those runs.
async fn measure(
    name: &'static str,
    args: &Args,
    quiet: &Api,
    runs: &Runs,
    timed: Vec<String>,
) -> anyhow::Result<Phase> {
    let load_start = loadavg();
    let server_pid = args.server_pid.map(|p| p.to_string());
    let cpu = || {
        (
            server_pid.as_deref().and_then(cpu_seconds),
            cpu_seconds("self"),
        )
    };
    let cpu_start = cpu();
    let end = Instant::now() + Duration::from_secs(args.phase_seconds);
    let failures = Arc::new(AtomicU64::new(0));
    let interval = Duration::from_millis(args.list_interval_ms.max(1));
    let listers: Vec<_> = (0..args.list_clients)
        .map(|_| {
            let (api, failures) = (quiet.clone(), failures.clone());
            tokio::spawn(async move {
                let mut out = Vec::new();
                let mut tick = tokio::time::interval(interval);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    if Instant::now() >= end {
                        return out;
                    }
                    let t = Instant::now();
                    let r = api
                        .request(reqwest::Method::GET, "/projects/quiet/cronjobs")
                        .send()
                        .await;
                    let ok = match r {
                        Ok(r) if r.status().is_success() => {
                            r.bytes().await.is_ok_and(|b| b.len() > 2)
                        }
                        _ => false,
                    };
                    if ok {
                        out.push(t.elapsed());
                    } else {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    let mut started = Vec::new();
    let mut run_now = Vec::new();
    let mut run_now_failures = 0;
    let mut tick = tokio::time::interval(Duration::from_secs(args.alert_every_seconds.max(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if Instant::now() >= end {
            break;
        }
        let t = Instant::now();
        match quiet
            .call(
                reqwest::Method::POST,
                "/projects/quiet/cronjobs/fails/runs",
                Some(json!({})),
            )
            .await
        {
            Ok(run) => {
                run_now.push(t.elapsed());
                let run = run["name"].as_str().context("a run without a name")?;
                note(runs, run, |r| r.requested = Some(t));
                started.push(run.to_owned());
            }
            Err(error) => {
                eprintln!("[{name}] quiet Run now failed: {error:#}");
                run_now_failures += 1;
            }
        }
    }
    let mut lists = Vec::new();
    for l in listers {
        lists.extend(l.await?);
    }
    let load_end = loadavg();
    let cpu_end = cpu();
    let rss = args.server_pid.and_then(rss);
    let deadline = Instant::now() + Duration::from_secs(args.alert_wait_seconds);
    loop {
        let waiting = {
            let runs = runs.lock().unwrap_or_else(|e| e.into_inner());
            timed
                .iter()
                .chain(&started)
                .filter(|r| runs.get(*r).is_none_or(|t| t.alerted.is_none()))
                .count()
        };
        if waiting == 0 || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let runs = runs.lock().unwrap_or_else(|e| e.into_inner());
    let times = |names: Vec<String>| -> Vec<(String, RunTimes)> {
        names
            .into_iter()
            .map(|r| {
                let t = runs.get(&r).cloned().unwrap_or_default();
                (r, t)
            })
            .collect()
    };
    let used = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| b - a);
    Ok(Phase {
        name,
        lists,
        list_failures: failures.load(Ordering::Relaxed),
        timed: times(timed),
        started: times(started),
        run_now,
        run_now_failures,
        load_start,
        load_end,
        server_cpu: used(cpu_start.0, cpu_end.0),
        script_cpu: used(cpu_start.1, cpu_end.1),
        rss,
    })
}

/// Creates `n` suspended CronJobs in `project`, 4 at a time.
async fn create_cronjobs(api: &Api, project: &str, n: usize) -> anyhow::Result<()> {
    let results: Vec<anyhow::Result<Value>> = futures::stream::iter(0..n)
        .map(|i| {
            let api = api.clone();
            let path = format!("/projects/{project}/cronjobs");
            async move {
                api.call(
                    reqwest::Method::POST,
                    &path,
                    Some(json!({"name": format!("list-{i:04}"), "spec": {
                        "schedule": "0 0 1 1 *", "image": IMAGE, "suspend": true,
                        "command": {"argv": ["true"]}}})),
                )
                .await
            }
        })
        .buffer_unordered(4)
        .collect()
        .await;
    results.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    Ok(())
}

/// The markdown table of both phases.
fn table(args: &Args, idle: &Phase, flood: &Phase) {
    let sorted = |p: &Phase| {
        let mut v = p.lists.clone();
        v.sort();
        v
    };
    let (il, fl) = (sorted(idle), sorted(flood));
    let (ia, fa) = (latencies(&idle.timed), latencies(&flood.timed));
    let (is, fs) = (latencies(&idle.started), latencies(&flood.started));
    let ratio = |a: f64, b: f64| {
        if a > 0.0 {
            format!("{:.2}x", b / a)
        } else {
            "-".into()
        }
    };
    println!();
    println!("| quiet tenant | idle | flood | flood / idle |");
    println!("|---|---|---|---|");
    for (what, p) in [("list p50", 0.5), ("list p99", 0.99)] {
        let (a, b) = (ms(percentile(&il, p)), ms(percentile(&fl, p)));
        println!(
            "| {what} ({} clients) | {a:.2} ms | {b:.2} ms | {} |",
            args.list_clients,
            ratio(a, b)
        );
    }
    println!(
        "| lists measured (failed) | {} ({}) | {} ({}) | |",
        il.len(),
        idle.list_failures,
        fl.len(),
        flood.list_failures
    );
    for (what, a, b) in [
        (
            "alert latency, pod seen terminated -> POST",
            &ia.from_pod,
            &fa.from_pod,
        ),
        (
            "alert latency, Job seen failed -> POST",
            &ia.from_job,
            &fa.from_job,
        ),
        (
            "alert latency, pod finishedAt (1 s) -> POST",
            &ia.from_finished_at,
            &fa.from_finished_at,
        ),
        (
            "Run now during the phase -> pod seen terminated",
            &is.request_to_end,
            &fs.request_to_end,
        ),
        (
            "Run now during the phase -> POST",
            &is.from_request,
            &fs.from_request,
        ),
    ] {
        let ((m1, x1), (m2, x2)) = (median_max(a), median_max(b));
        let shown = |v: &[Duration], m: f64, x: f64| {
            if v.is_empty() {
                "none".to_owned()
            } else {
                format!("{m:.2} / {x:.2} s")
            }
        };
        let ratios = if a.is_empty() || b.is_empty() {
            String::new()
        } else {
            format!("{} / {}", ratio(m1, m2), ratio(x1, x2))
        };
        println!(
            "| {what}, median / max | {} | {} | {ratios} |",
            shown(a, m1, x1),
            shown(b, m2, x2)
        );
    }
    println!(
        "| alerts received / runs failing in the phase | {} / {} | {} / {} | |",
        ia.alerted, ia.runs, fa.alerted, fa.runs
    );
    println!(
        "| Run now during the phase: alerted / started | {} / {} | {} / {} | |",
        is.alerted, is.runs, fs.alerted, fs.runs
    );
    println!(
        "| load average, start / end | {} / {} | {} / {} | |",
        idle.load_start, idle.load_end, flood.load_start, flood.load_end
    );
    let cpu = |c: Option<f64>| c.map_or_else(|| "-".into(), |c| format!("{c:.0} s"));
    println!(
        "| CPU used by the server / by this script | {} / {} | {} / {} | |",
        cpu(idle.server_cpu),
        cpu(idle.script_cpu),
        cpu(flood.server_cpu),
        cpu(flood.script_cpu)
    );
}

/// Pods in the flooding tenant's first project, by phase.
async fn pods_by_phase(kube: &kube::Client, namespace: &str) -> String {
    let pods: kube::Api<Pod> = kube::Api::namespaced(kube.clone(), namespace);
    match pods.list(&Default::default()).await {
        Ok(list) => {
            let mut by: std::collections::BTreeMap<String, usize> = Default::default();
            for p in list.items {
                let phase = p.status.and_then(|s| s.phase).unwrap_or_default();
                *by.entry(phase).or_default() += 1;
            }
            format!("{by:?}")
        }
        Err(e) => format!("unknown ({e})"),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let _ = rustls::crypto::ring::default_provider().install_default();
    if args.flood_projects == 0 || args.flood_long_runs == 0 {
        bail!("--flood-projects and --flood-long-runs must be at least 1");
    }
    let admin = Api::new(&args.server, &args.admin_token)?;
    let kubeconfig = std::fs::read_to_string(&args.kubeconfig)
        .with_context(|| format!("cannot read {}", args.kubeconfig.display()))?;
    let kube = kube::Client::try_from(
        kube::Config::from_custom_kubeconfig(
            kube::config::Kubeconfig::from_yaml(&kubeconfig)?,
            &Default::default(),
        )
        .await?,
    )?;

    // The webhook receiver, on 127.0.0.1 only.
    let runs: Runs = Arc::default();
    let receiver = Receiver {
        runs: runs.clone(),
        deliveries: Arc::default(),
        bad_signatures: Arc::default(),
        other_alerts: Arc::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hook_url = format!("http://{}/hook", listener.local_addr()?);
    let router = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });

    // Two tenants on the same cluster, each with a token.
    let suffix = format!("{:x}", Timestamp::now().as_second() % 0x100_0000);
    let (quiet_name, noisy_name) = (format!("quiet-{suffix}"), format!("noisy-{suffix}"));
    let mut tokens = Vec::new();
    for name in [&quiet_name, &noisy_name] {
        admin
            .call(
                reqwest::Method::POST,
                "/admin/tenants",
                Some(json!({"name": name, "cluster": {"kind": "kubeconfig", "kubeconfig": kubeconfig}})),
            )
            .await?;
        let t = admin
            .call(
                reqwest::Method::POST,
                &format!("/admin/tenants/{name}/tokens"),
                Some(json!({"name": "bench"})),
            )
            .await?;
        tokens.push(t["token"].as_str().context("no token")?.to_owned());
    }
    let quiet = Api::new(&args.server, &tokens[0])?;
    let noisy = Api::new(&args.server, &tokens[1])?;
    println!("tenants {quiet_name} (quiet) and {noisy_name} (flooding); webhook {hook_url}");

    let result = run(&args, &quiet, &noisy, &kube, &runs, &hook_url).await;
    if let Err(error) = &result {
        eprintln!("benchmark failed: {error:#}");
    }
    println!(
        "webhook receiver: {} deliveries with a bad signature, {} other alerts",
        receiver.bad_signatures.load(Ordering::Relaxed),
        receiver.other_alerts.load(Ordering::Relaxed)
    );
    if !args.keep {
        cleanup(
            &admin,
            &quiet,
            &noisy,
            &kube,
            &args,
            [&quiet_name, &noisy_name],
        )
        .await?;
    }
    result
}

fn seconds_from_now(s: u64) -> anyhow::Result<Timestamp> {
    Ok(Timestamp::now().checked_add(SignedDuration::from_secs(i64::try_from(s)?))?)
}

async fn run(
    args: &Args,
    quiet: &Api,
    noisy: &Api,
    kube: &kube::Client,
    runs: &Runs,
    hook_url: &str,
) -> anyhow::Result<()> {
    // The quiet tenant: what it lists, the CronJob Run now starts, and the
    // project's alert on every failure.
    let project = quiet
        .call(
            reqwest::Method::POST,
            "/projects",
            Some(json!({"name": "quiet"})),
        )
        .await?;
    let namespace = project["namespace"]
        .as_str()
        .context("no namespace")?
        .to_owned();
    let t = Instant::now();
    create_cronjobs(quiet, "quiet", args.cronjobs).await?;
    println!(
        "quiet: created {} CronJobs in {:.1} s",
        args.cronjobs,
        t.elapsed().as_secs_f64()
    );
    quiet
        .call(
            reqwest::Method::POST,
            "/projects/quiet/cronjobs",
            Some(json!({"name": "fails", "spec": {
                "schedule": "0 0 1 1 *", "image": IMAGE, "suspend": true, "retries": 0,
                "command": {"argv": ["echo this run fails; exit 1"], "shell": true},
                "resources": resources()}})),
        )
        .await?;
    quiet
        .call(
            reqwest::Method::PUT,
            "/projects/quiet/alerts",
            Some(json!({"rules": {"onFailure": true},
                "webhook": {"url": hook_url, "secret": WEBHOOK_SECRET}})),
        )
        .await?;
    watch_runs(kube.clone(), &namespace, runs.clone());

    // The flooding tenant's projects, a CronJob to start runs of, and one
    // whose long runs are followed.
    let projects: Vec<String> = (0..args.flood_projects)
        .map(|i| format!("flood-{i}"))
        .collect();
    let mut noisy_namespace = String::new();
    for p in &projects {
        let made = noisy
            .call(reqwest::Method::POST, "/projects", Some(json!({"name": p})))
            .await?;
        if noisy_namespace.is_empty() {
            noisy_namespace = made["namespace"].as_str().unwrap_or_default().to_owned();
        }
    }
    let base = format!("/projects/{}/cronjobs", projects[0]);
    noisy
        .call(
            reqwest::Method::POST,
            &base,
            Some(json!({"name": "spam", "spec": {
                "schedule": "0 0 1 1 *", "image": IMAGE, "suspend": true, "retries": 0,
                "command": {"argv": ["for i in 1 2 3 4 5; do echo spam $i; sleep 1; done"], "shell": true},
                "resources": resources()}})),
        )
        .await?;
    noisy
        .call(
            reqwest::Method::POST,
            &base,
            Some(json!({"name": "long", "spec": {
                "schedule": "0 0 1 1 *", "image": IMAGE, "suspend": true, "retries": 0,
                "timeoutSeconds": 3600,
                "command": {"argv": ["i=0; while true; do echo tick $i; i=$((i+1)); sleep 1; done"], "shell": true},
                "resources": resources()}})),
        )
        .await?;

    // A first run, so that pulling and starting are warm in both phases.
    println!("warming up: one failing run");
    let warm = quiet
        .call(
            reqwest::Method::POST,
            "/projects/quiet/cronjobs/fails/runs",
            Some(json!({})),
        )
        .await?;
    let warm = warm["name"].as_str().context("no run name")?.to_owned();
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let alerted = runs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&warm)
            .is_some_and(|t| t.alerted.is_some());
        if alerted {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Idle: the failing runs start, then the phase.
    let at = seconds_from_now(args.prepare_seconds)?;
    let timed = start_timed_runs(args, quiet, runs, "idle", at).await?;
    wait_running(runs, &timed, at, "idle").await;
    println!("idle phase: {} s", args.phase_seconds);
    let idle = measure("idle", args, quiet, runs, timed).await?;
    idle.print();

    // Flood: the failing runs start, then the flood, then the phase.
    let at = seconds_from_now(args.prepare_seconds + args.flood_warmup_seconds)?;
    let timed = start_timed_runs(args, quiet, runs, "flood", at).await?;
    let flood_at = at.checked_sub(SignedDuration::from_secs(i64::try_from(
        args.flood_warmup_seconds,
    )?))?;
    wait_running(runs, &timed, flood_at, "flood").await;
    let mut long_runs = Vec::new();
    for _ in 0..args.flood_long_runs {
        let r = noisy
            .call(
                reqwest::Method::POST,
                &format!("{base}/long/runs"),
                Some(json!({})),
            )
            .await?;
        long_runs.push(r["name"].as_str().context("no run name")?.to_owned());
    }
    let counts = Arc::new(FloodCounts::default());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let flood_started = Instant::now();
    let tasks = flood(noisy, args, &projects, &long_runs, &counts, &stop_rx);
    println!(
        "flood: warming up {} s ({} create, {} Run now, {} follow clients)",
        args.flood_warmup_seconds,
        args.flood_create_clients,
        args.flood_run_clients,
        args.flood_follow_clients
    );
    if let Ok(left) = Duration::try_from(at.duration_since(Timestamp::now())) {
        tokio::time::sleep(left).await;
    }
    println!(
        "flood phase: {} s; flood so far: creates {}; Run now {}; follows {}",
        args.phase_seconds,
        counts.creates.show(),
        counts.runs.show(),
        counts.follows.show()
    );
    let flooded = measure("flood", args, quiet, runs, timed).await;
    let pods = pods_by_phase(kube, &noisy_namespace).await;
    stop_tx.send_replace(true);
    let flood_seconds = flood_started.elapsed().as_secs_f64();
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(30), t).await;
    }
    let flooded = flooded?;
    flooded.print();
    let per_s = |o: &Outcomes| o.ok.load(Ordering::Relaxed) as f64 / flood_seconds;
    println!(
        "flood ({flood_seconds:.0} s): creates {} ({:.1}/s); Run now {} ({:.1}/s); follows {} ({} bytes followed); other statuses {:?}",
        counts.creates.show(),
        per_s(&counts.creates),
        counts.runs.show(),
        per_s(&counts.runs),
        counts.follows.show(),
        counts.follow_bytes.load(Ordering::Relaxed),
        counts
            .other_statuses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    );
    println!("flood: its first project's pods at the end, by phase: {pods}");
    table(args, &idle, &flooded);
    Ok(())
}

/// Deletes the projects (their namespaces go with them; HKS releases its
/// finalizers there while the tenant exists), waits for the namespaces to
/// be gone, then deletes the tenants.
async fn cleanup(
    admin: &Api,
    quiet: &Api,
    noisy: &Api,
    kube: &kube::Client,
    args: &Args,
    tenants: [&String; 2],
) -> anyhow::Result<()> {
    let mut namespaces = Vec::new();
    for (api, project) in std::iter::once((quiet, "quiet".to_owned()))
        .chain((0..args.flood_projects).map(|i| (noisy, format!("flood-{i}"))))
    {
        if let Ok(p) = api
            .call(reqwest::Method::GET, &format!("/projects/{project}"), None)
            .await
        {
            if let Some(ns) = p["namespace"].as_str() {
                namespaces.push(ns.to_owned());
            }
            if let Err(error) = api
                .call(
                    reqwest::Method::DELETE,
                    &format!("/projects/{project}"),
                    None,
                )
                .await
            {
                eprintln!("cannot delete project {project}: {error:#}");
            }
        }
    }
    let all: kube::Api<Namespace> = kube::Api::all(kube.clone());
    let t = Instant::now();
    let deadline = t + Duration::from_secs(600);
    loop {
        let mut left = Vec::new();
        for ns in &namespaces {
            if !matches!(all.get_opt(ns).await, Ok(None)) {
                left.push(ns.clone());
            }
        }
        if left.is_empty() {
            println!(
                "cleanup: namespaces gone after {:.0} s",
                t.elapsed().as_secs_f64()
            );
            break;
        }
        if Instant::now() >= deadline {
            eprintln!("cleanup: namespaces still there: {left:?}");
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    for name in tenants {
        admin
            .call(
                reqwest::Method::DELETE,
                &format!("/admin/tenants/{name}"),
                None,
            )
            .await?;
    }
    println!("cleanup: tenants deleted");
    Ok(())
}
