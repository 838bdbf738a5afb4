//! Load script for issue 4's benchmarks, against a running `hks serve` and
//! its cluster. Traffic goes only to the given server (use 127.0.0.1).
//! It measures HKS's own throughput, so start the server without the
//! per-tenant budgets: `hks serve --tenant-writes-per-minute 0
//! --tenant-run-starts-per-minute 0 ...`.
//!
//! ```sh
//! cargo run --release -p hks --example load -- \
//!     --server http://127.0.0.1:8080 --token "$HKS_TOKEN" --project bench \
//!     --cronjobs 1000 --clients 32 --requests 200 \
//!     --kubeconfig /var/lib/hks-cluster/admin.kubeconfig --server-pid "$(pgrep -nf 'hks serve')"
//! ```
//!
//! It creates `--cronjobs` suspended CronJobs (timing each create, which
//! returns once the CronJob is applied), times the same number of bare
//! server-side applies with kube-rs when `--kubeconfig` is given, then has
//! `--clients` clients each list the project's CronJobs `--requests` times,
//! and prints p50/p99 latencies and the server's resident memory. The
//! project is deleted at the end unless `--keep`.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use futures::StreamExt;
use serde_json::json;

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: String,
    #[arg(long, env = "HKS_TOKEN", hide_env_values = true)]
    token: String,
    #[arg(long, default_value = "bench")]
    project: String,
    #[arg(long, default_value_t = 1000)]
    cronjobs: usize,
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// List requests per client.
    #[arg(long, default_value_t = 100)]
    requests: usize,
    /// Concurrent creates. Writes to one project are serialised by the
    /// server, so above 1 the create latency includes queueing; compare with
    /// the (sequential) bare apply at 1.
    #[arg(long, default_value_t = 1)]
    create_concurrency: usize,
    /// Kubeconfig for the bare server-side apply baseline.
    #[arg(long)]
    kubeconfig: Option<std::path::PathBuf>,
    /// PID of the server, for its resident memory.
    #[arg(long)]
    server_pid: Option<u32>,
    #[arg(long)]
    keep: bool,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(what: &str, mut d: Vec<Duration>) -> Duration {
    d.sort();
    let p50 = percentile(&d, 0.5);
    let p99 = percentile(&d, 0.99);
    println!(
        "{what}: n={} p50={:.2?} p99={:.2?} max={:.2?}",
        d.len(),
        p50,
        p99,
        d.last().copied().unwrap_or_default()
    );
    p50
}

fn rss(pid: u32) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .map(|l| l.trim_start_matches("VmRSS:").trim().to_owned())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let api = |path: &str| format!("{}/api/v1{path}", args.server.trim_end_matches('/'));
    let auth = format!("Bearer {}", args.token);

    let r = http
        .post(api("/projects"))
        .header("authorization", &auth)
        .json(&json!({"name": args.project}))
        .send()
        .await?;
    if !r.status().is_success() && r.status() != reqwest::StatusCode::CONFLICT {
        bail!(
            "cannot create project {}: {}",
            args.project,
            r.text().await?
        );
    }
    let namespace = http
        .get(api(&format!("/projects/{}", args.project)))
        .header("authorization", &auth)
        .send()
        .await?
        .json::<serde_json::Value>()
        .await?["namespace"]
        .as_str()
        .context("no namespace")?
        .to_owned();

    // Creates: each returns once the CronJob is applied.
    let started = Instant::now();
    let creates: Vec<anyhow::Result<Duration>> = futures::stream::iter(0..args.cronjobs)
        .map(|i| {
            let (http, auth, url) = (
                http.clone(),
                auth.clone(),
                api(&format!("/projects/{}/cronjobs", args.project)),
            );
            async move {
                let body = json!({"name": format!("load-{i:05}"), "spec": {
                    "schedule": "0 0 1 1 *", "image": "hks.local/busybox:1", "suspend": true,
                    "command": {"argv": ["true"]}}});
                let t = Instant::now();
                let r = http
                    .post(url)
                    .header("authorization", auth)
                    .json(&body)
                    .send()
                    .await?;
                let elapsed = t.elapsed();
                if !r.status().is_success() && r.status() != reqwest::StatusCode::CONFLICT {
                    bail!("create failed: {}", r.text().await?);
                }
                Ok(elapsed)
            }
        })
        .buffer_unordered(args.create_concurrency)
        .collect()
        .await;
    let creates: Vec<Duration> = creates.into_iter().collect::<anyhow::Result<_>>()?;
    println!(
        "created {} CronJobs in {:.1?}",
        creates.len(),
        started.elapsed()
    );
    let create_p50 = report("create (until applied)", creates);

    // The baseline: bare server-side applies of equivalent CronJobs, one at a time.
    if let Some(path) = &args.kubeconfig {
        let kc = kube::config::Kubeconfig::from_yaml(&std::fs::read_to_string(path)?)?;
        let client = kube::Client::try_from(
            kube::Config::from_custom_kubeconfig(kc, &Default::default()).await?,
        )?;
        let cronjobs: kube::Api<k8s_openapi::api::batch::v1::CronJob> =
            kube::Api::namespaced(client, &namespace);
        let mut bare = vec![];
        for i in 0..args.cronjobs.min(200) {
            let name = format!("bare-{i:05}");
            let cj: k8s_openapi::api::batch::v1::CronJob = serde_json::from_value(json!({
                "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name},
                "spec": {"schedule": "0 0 1 1 *", "timeZone": "UTC", "suspend": true, "jobTemplate": {"spec": {"template": {"spec": {
                    "restartPolicy": "Never", "containers": [{"name": "c", "image": "hks.local/busybox:1", "command": ["true"]}]}}}}}
            }))?;
            let t = Instant::now();
            cronjobs
                .patch(
                    &name,
                    &kube::api::PatchParams::apply("hks-load").force(),
                    &kube::api::Patch::Apply(&cj),
                )
                .await?;
            bare.push(t.elapsed());
            cronjobs.delete(&name, &Default::default()).await?;
        }
        let bare_p50 = report("bare server-side apply", bare);
        println!(
            "create / bare apply (p50): {:.2}x",
            create_p50.as_secs_f64() / bare_p50.as_secs_f64().max(1e-9)
        );

        // For comparison only: the same bare apply of the CronJob HKS made
        // (its labels, limits and history settings make it a bigger object),
        // without the label HKS watches and reconciles by.
        if let Ok(mut made) = cronjobs.get("load-00000").await {
            made.metadata = kube::api::ObjectMeta {
                labels: made.metadata.labels.map(|mut l| {
                    l.remove("app.kubernetes.io/managed-by");
                    l
                }),
                annotations: made.metadata.annotations,
                ..Default::default()
            };
            made.status = None;
            let mut bare = vec![];
            for i in 0..args.cronjobs.min(200) {
                let name = format!("bare-hks-{i:05}");
                made.metadata.name = Some(name.clone());
                let t = Instant::now();
                cronjobs
                    .patch(
                        &name,
                        &kube::api::PatchParams::apply("hks-load").force(),
                        &kube::api::Patch::Apply(&made),
                    )
                    .await?;
                bare.push(t.elapsed());
                cronjobs.delete(&name, &Default::default()).await?;
            }
            let p50 = report("bare server-side apply of HKS's CronJob", bare);
            println!(
                "create / bare apply of HKS's CronJob (p50): {:.2}x",
                create_p50.as_secs_f64() / p50.as_secs_f64().max(1e-9)
            );
        }
    }

    // Lists with last-run status from many clients at once.
    let list_url = api(&format!("/projects/{}/cronjobs", args.project));
    let clients: Vec<anyhow::Result<Vec<Duration>>> = futures::stream::iter(0..args.clients)
        .map(|_| {
            let (http, auth, url, n) =
                (http.clone(), auth.clone(), list_url.clone(), args.requests);
            async move {
                let mut out = Vec::with_capacity(n);
                for _ in 0..n {
                    let t = Instant::now();
                    let r = http.get(&url).header("authorization", &auth).send().await?;
                    let body = r.bytes().await?;
                    out.push(t.elapsed());
                    if body.is_empty() {
                        bail!("empty list");
                    }
                }
                Ok(out)
            }
        })
        .buffer_unordered(args.clients)
        .collect()
        .await;
    let lists: Vec<Duration> = clients
        .into_iter()
        .collect::<anyhow::Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();
    report(
        &format!(
            "list of {} CronJobs, {} clients",
            args.cronjobs, args.clients
        ),
        lists,
    );
    if let Some(pid) = args.server_pid {
        println!(
            "server resident memory: {}",
            rss(pid).unwrap_or_else(|| "unknown".into())
        );
    }
    if !args.keep {
        http.delete(api(&format!("/projects/{}", args.project)))
            .header("authorization", &auth)
            .send()
            .await?;
    }
    Ok(())
}
