//! Load script for issue 6's benchmark: many runs finishing at once, against
//! a running `hks serve` (with its recorder) and its cluster. Traffic goes
//! only to the given server (use 127.0.0.1).
//!
//! ```sh
//! cargo run --release -p hks --example history_load -- \
//!     --server http://127.0.0.1:8080 --token "$HKS_TOKEN" --project burst \
//!     --runs 100 --data-dir "$HKS_DATA_DIR"
//! ```
//!
//! It creates a CronJob whose history limits are 0 (Kubernetes keeps
//! nothing), starts `--runs` runs with Run now as fast as the server takes
//! them, each sleeping until the same wall-clock second and then printing a
//! log of `--log-lines` lines, so they all finish together. It then waits
//! until the run history has every run final with its archived log, and
//! reports: runs recorded (and lost), the time from the common finish to the
//! last record, and the database growth per run. The project is deleted at
//! the end unless `--keep`.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::{Value, json};

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: String,
    #[arg(long, env = "HKS_TOKEN", hide_env_values = true)]
    token: String,
    #[arg(long, default_value = "burst")]
    project: String,
    #[arg(long, default_value_t = 100)]
    runs: usize,
    /// Lines each run prints (about 60 bytes each).
    #[arg(long, default_value_t = 200)]
    log_lines: usize,
    /// The server's data directory, for the database's size.
    #[arg(long)]
    data_dir: Option<std::path::PathBuf>,
    /// Seconds to wait for every run to be recorded.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    #[arg(long)]
    keep: bool,
}

fn db_bytes(dir: &std::path::Path) -> u64 {
    ["hks.db", "hks.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|m| m.len())
        .sum()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    rustls::crypto::ring::default_provider()
        .install_default()
        .ok();
    let http = reqwest::Client::new();
    let api = format!("{}/api/v1", args.server.trim_end_matches('/'));
    let auth = format!("Bearer {}", args.token);
    let call = |method: reqwest::Method, path: String, body: Option<Value>| {
        let mut req = http
            .request(method, format!("{api}{path}"))
            .header("authorization", &auth);
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let res = req.send().await.context("request")?;
            let status = res.status();
            let text = res.text().await.unwrap_or_default();
            if !status.is_success() {
                bail!("{status}: {text}");
            }
            Ok::<Value, anyhow::Error>(serde_json::from_str(&text).unwrap_or(Value::Null))
        }
    };
    call(
        reqwest::Method::POST,
        "/projects".into(),
        Some(json!({"name": args.project})),
    )
    .await?;
    let base = format!("/projects/{}", args.project);
    // Every run sleeps until the same second (UTC, from the epoch), then logs.
    let finish_at = jiff::Timestamp::now().as_second() + 20 + (args.runs as i64) / 5;
    let script = format!(
        "while [ $(date +%s) -lt {finish_at} ]; do sleep 0.2; done; \
         i=0; while [ $i -lt {n} ]; do echo \"line $i of run $HOSTNAME: some typical log text\"; i=$((i+1)); done",
        n = args.log_lines
    );
    call(
        reqwest::Method::POST,
        format!("{base}/cronjobs"),
        Some(json!({"name": "burst", "spec": {
            "schedule": "0 0 1 1 *", "image": "hks.local/busybox:1", "suspend": true,
            "command": {"argv": [script], "shell": true}, "retries": 0,
            "successfulJobsHistoryLimit": 0, "failedJobsHistoryLimit": 0
        }})),
    )
    .await?;
    let before = args.data_dir.as_deref().map(db_bytes);
    let started = Instant::now();
    for i in 0..args.runs {
        call(
            reqwest::Method::POST,
            format!("{base}/cronjobs/burst/runs"),
            Some(json!({})),
        )
        .await
        .with_context(|| format!("run now #{i}"))?;
    }
    println!(
        "started {} runs in {:.1} s; they finish at {}",
        args.runs,
        started.elapsed().as_secs_f64(),
        jiff::Timestamp::from_second(finish_at)?
    );
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let (mut recorded, mut archived) = (0, 0);
    while Instant::now() < deadline {
        let runs = call(
            reqwest::Method::GET,
            format!("{base}/cronjobs/burst/runs"),
            None,
        )
        .await?;
        let runs = runs.as_array().cloned().unwrap_or_default();
        let done: Vec<&Value> = runs
            .iter()
            .filter(|r| r["result"] == "Succeeded" || r["result"] == "Failed")
            .collect();
        recorded = done.len();
        // Archived: Kubernetes deleted the Job (limits 0) after HKS released it.
        archived = done.iter().filter(|r| r["inCluster"] == false).count();
        if archived >= args.runs {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let now = jiff::Timestamp::now().as_second();
    println!(
        "recorded {recorded} of {} runs final, {archived} served from the history only; lost {}",
        args.runs,
        args.runs.saturating_sub(archived)
    );
    println!("last record {} s after the common finish", now - finish_at);
    // Every run's log, from the history.
    let runs = call(
        reqwest::Method::GET,
        format!("{base}/cronjobs/burst/runs"),
        None,
    )
    .await?;
    let mut with_log = 0;
    for r in runs.as_array().cloned().unwrap_or_default() {
        let name = r["name"].as_str().unwrap_or_default();
        let logs = call(
            reqwest::Method::GET,
            format!("{base}/cronjobs/burst/runs/{name}/logs"),
            None,
        )
        .await?;
        let text = logs["attempts"][0]["log"].as_str().unwrap_or_default();
        if text.lines().count() == args.log_lines {
            with_log += 1;
        }
    }
    println!(
        "runs with their whole log ({} lines): {with_log}",
        args.log_lines
    );
    if let (Some(dir), Some(before)) = (args.data_dir.as_deref(), before) {
        let after = db_bytes(dir);
        println!(
            "database growth: {} bytes for {} runs = {} bytes per run (log {} bytes before compression)",
            after.saturating_sub(before),
            args.runs,
            after.saturating_sub(before) / args.runs.max(1) as u64,
            args.log_lines * 60
        );
    }
    if !args.keep {
        call(reqwest::Method::DELETE, base, None).await?;
    }
    if archived < args.runs || with_log < args.runs {
        bail!("runs were lost");
    }
    Ok(())
}
