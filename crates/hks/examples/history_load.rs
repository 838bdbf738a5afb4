//! Load script for issue 6's benchmark: many runs finishing at once, against
//! a running `hks serve` (with its recorder) and its cluster. Traffic goes
//! only to the given server (use 127.0.0.1).
//! It measures HKS's own throughput, so start the server without the
//! per-tenant budgets: `hks serve --tenant-writes-per-minute 0
//! --tenant-run-starts-per-minute 0 ...`.
//!
//! ```sh
//! cargo run --release -p hks --example history_load -- \
//!     --server http://127.0.0.1:8080 --token "$HKS_TOKEN" --project burst \
//!     --runs 100 --data-dir "$HKS_DATA_DIR"
//! ```
//!
//! It creates a CronJob, starts `--runs` runs with Run now as fast as the
//! server takes them, each sleeping until the same wall-clock second and then
//! printing a log of `--log-lines` lines, so they all finish together. It then
//! watches the server's database (read-only) until every run is recorded as
//! final with its log archived, and reports: runs recorded (and lost), the
//! time from the common finish to the last archived log, the bytes per run
//! (record, compressed log, database pages), and whether every run's whole
//! log comes back through the API. The project is deleted at the end unless
//! `--keep`.

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
    /// The server's data directory: the script reads its database to see
    /// what was recorded and how much room it takes.
    #[arg(long)]
    data_dir: std::path::PathBuf,
    /// Seconds to wait for every run to be recorded.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    #[arg(long)]
    keep: bool,
}

/// The bytes of the database's pages in use (the WAL included).
async fn page_bytes(db: &sqlx::SqlitePool) -> anyhow::Result<i64> {
    let count: i64 = sqlx::query_scalar("PRAGMA page_count")
        .fetch_one(db)
        .await?;
    let free: i64 = sqlx::query_scalar("PRAGMA freelist_count")
        .fetch_one(db)
        .await?;
    let size: i64 = sqlx::query_scalar("PRAGMA page_size").fetch_one(db).await?;
    Ok((count - free) * size)
}

async fn page_bytes_of(dir: &std::path::Path) -> anyhow::Result<i64> {
    let db = sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new()
            .filename(dir.join("hks.db"))
            .read_only(true),
    )
    .await?;
    let bytes = page_bytes(&db).await;
    db.close().await;
    bytes
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
    let pages_before = page_bytes_of(&args.data_dir).await?;
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
    // What the server recorded, read from its database (read-only).
    let db = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            sqlx::sqlite::SqliteConnectOptions::new()
                .filename(args.data_dir.join("hks.db"))
                .read_only(true),
        )
        .await
        .context("open the server's database")?;
    let project_id: String = sqlx::query_scalar("SELECT id FROM projects WHERE name = ?")
        .bind(&args.project)
        .fetch_one(&db)
        .await?;
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let (mut recorded, mut archived) = (0i64, 0i64);
    while Instant::now() < deadline {
        recorded = sqlx::query_scalar(
            "SELECT count(*) FROM runs WHERE project_id = ? AND cronjob = 'burst' AND final = 1",
        )
        .bind(&project_id)
        .fetch_one(&db)
        .await?;
        archived = sqlx::query_scalar(
            "SELECT count(*) FROM run_logs WHERE project_id = ? AND cronjob = 'burst'",
        )
        .bind(&project_id)
        .fetch_one(&db)
        .await?;
        if recorded as usize >= args.runs && archived as usize >= args.runs {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let last_log: Option<String> = sqlx::query_scalar(
        "SELECT max(archived_at) FROM run_logs WHERE project_id = ? AND cronjob = 'burst'",
    )
    .bind(&project_id)
    .fetch_one(&db)
    .await?;
    let (run_bytes, log_bytes, original): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT coalesce(sum(length(run)), 0) FROM runs WHERE project_id = ?1 AND cronjob = 'burst'),
                (SELECT coalesce(sum(length(log)), 0) FROM run_logs WHERE project_id = ?1 AND cronjob = 'burst'),
                (SELECT coalesce(sum(original_bytes), 0) FROM run_logs WHERE project_id = ?1 AND cronjob = 'burst')",
    )
    .bind(&project_id)
    .fetch_one(&db)
    .await?;
    let pages_after = page_bytes(&db).await?;
    let lost = args.runs.saturating_sub(recorded.min(archived) as usize);
    println!(
        "recorded {recorded} of {} runs as final, {archived} logs archived: lost {lost}",
        args.runs
    );
    if let Some(t) = last_log.and_then(|t| t.parse::<jiff::Timestamp>().ok()) {
        println!(
            "last log archived {:.1} s after the common finish",
            t.as_millisecond() as f64 / 1000.0 - finish_at as f64
        );
    }
    let n = args.runs.max(1) as i64;
    println!(
        "per run: {} B of run record, {} B of gzip log (from {} B of log), {} B of database pages",
        run_bytes / n,
        log_bytes / n,
        original / n,
        (pages_after - pages_before) / n
    );
    // Every run's log, through the API.
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
    if !args.keep {
        call(reqwest::Method::DELETE, base, None).await?;
    }
    if lost > 0 || with_log < args.runs {
        bail!("runs were lost");
    }
    Ok(())
}
