//! Benchmark for issue 17: how late scheduled runs start when many
//! CronJobs share a minute, against the same CronJobs spread by `H`.
//! Traffic goes only to the given server (use 127.0.0.1) and, through it,
//! to its cluster.
//!
//! ```sh
//! cargo run -p hks --example start_delay -- \
//!     --server http://127.0.0.1:8080 --token "$HKS_TOKEN" --cronjobs 50
//! ```
//!
//! Two projects, one after the other: `delay-same` has `--cronjobs`
//! CronJobs all scheduled for one minute (`M * * * *`); `delay-spread` has
//! as many scheduled `H(M-M+4) * * * *`, which HKS spreads over five
//! minutes by each CronJob's name. Each run is `true` in the development
//! cluster's busybox image. For every CronJob the script waits for its
//! first scheduled run to start and reads the run's start delay as HKS
//! recorded it: scheduled time to Job (`toJobSeconds`, the CronJob
//! controller) and Job to first container (`toContainerSeconds`: the Job
//! controller, scheduler, kubelet and runtime). It prints the median and
//! p99 (nearest rank) of each part and of the total, for both shapes, and
//! deletes the projects. Times are Kubernetes' own, in whole seconds.

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
    #[arg(long, default_value_t = 50)]
    cronjobs: usize,
    /// The image each run starts (must be in the cluster already).
    #[arg(long, default_value = "hks.local/busybox:1")]
    image: String,
}

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        // Creating many CronJobs spends the tenant's budget of changes
        // (`hks serve --tenant-writes-per-minute`): wait as a 429 says.
        let (status, text) = loop {
            let mut req = self
                .http
                .request(method.clone(), format!("{}/api/v1{path}", self.base))
                .bearer_auth(&self.token);
            if let Some(b) = &body {
                req = req.json(b);
            }
            let res = req
                .send()
                .await
                .with_context(|| format!("{method} {path}"))?;
            let status = res.status();
            if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                let secs = res
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1);
                tokio::time::sleep(std::time::Duration::from_secs(secs)).await;
                continue;
            }
            break (status, res.text().await?);
        };
        if !status.is_success() {
            bail!("{method} {path}: {status} {text}");
        }
        Ok(if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)?
        })
    }
}

/// The value below which `p` of the sorted values lie (nearest rank).
fn rank(sorted: &[i64], p: f64) -> i64 {
    let r = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[r - 1]
}

fn summary(name: &str, mut v: Vec<i64>) -> String {
    v.sort_unstable();
    if v.is_empty() {
        return format!("{name}: none");
    }
    format!(
        "{name}: median {} s, p99 {} s, max {} s (n={})",
        rank(&v, 0.5),
        rank(&v, 0.99),
        v[v.len() - 1],
        v.len()
    )
}

/// Creates the project with `n` CronJobs of `schedule`, waits for each
/// one's first scheduled run to start, and returns their start delays as
/// (to Job, to container, total).
async fn measure(
    api: &Api,
    project: &str,
    schedule: &str,
    n: usize,
    image: &str,
) -> anyhow::Result<Vec<(i64, i64, i64)>> {
    let _ = api
        .call(
            reqwest::Method::DELETE,
            &format!("/projects/{project}"),
            None,
        )
        .await;
    api.call(
        reqwest::Method::POST,
        "/projects",
        Some(json!({"name": project})),
    )
    .await?;
    for i in 0..n {
        api.call(
            reqwest::Method::POST,
            &format!("/projects/{project}/cronjobs"),
            Some(json!({"name": format!("job-{i:03}"), "spec": {
                "schedule": schedule, "timeZone": "UTC", "image": image,
                "command": {"argv": ["true"]}, "retries": 0, "concurrencyPolicy": "Allow",
                "startingDeadlineSeconds": 600
            }})),
        )
        .await?;
    }
    let list = api
        .call(
            reqwest::Method::GET,
            &format!("/projects/{project}/cronjobs"),
            None,
        )
        .await?;
    let last_due = list
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["nextRun"].as_str())
        .max()
        .unwrap_or_default()
        .to_owned();
    println!("{project}: {n} CronJobs of {schedule:?}; the last is due at {last_due}");
    let deadline = Instant::now() + Duration::from_secs(15 * 60);
    let mut delays = Vec::new();
    let mut pending: Vec<usize> = (0..n).collect();
    while !pending.is_empty() {
        if Instant::now() > deadline {
            bail!(
                "{} CronJobs of {project} had no started scheduled run in 15 minutes",
                pending.len()
            );
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
        let mut still = Vec::new();
        for i in pending {
            let runs = api
                .call(
                    reqwest::Method::GET,
                    &format!("/projects/{project}/cronjobs/job-{i:03}/runs"),
                    None,
                )
                .await?;
            let found = runs.as_array().into_iter().flatten().find_map(|r| {
                let d = &r["startDelay"];
                Some((
                    d["toJobSeconds"].as_i64()?,
                    d["toContainerSeconds"].as_i64()?,
                    r["startDelaySeconds"].as_i64()?,
                ))
            });
            match found {
                Some(d) => delays.push(d),
                None => still.push(i),
            }
        }
        pending = still;
    }
    api.call(
        reqwest::Method::DELETE,
        &format!("/projects/{project}"),
        None,
    )
    .await?;
    Ok(delays)
}

/// The minute (0-59) at least `lead` from now.
fn minute_after(lead: Duration) -> u32 {
    let at = jiff::Timestamp::now() + jiff::SignedDuration::try_from(lead).unwrap_or_default();
    let zoned = at.to_zoned(jiff::tz::TimeZone::UTC);
    // The minute after the one `lead` falls in: never one already begun.
    (u32::try_from(zoned.minute()).unwrap_or(0) + 1) % 60
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    rustls::crypto::ring::default_provider()
        .install_default()
        .ok();
    let api = Api {
        http: reqwest::Client::builder().no_proxy().build()?,
        base: args.server.trim_end_matches('/').to_owned(),
        token: args.token,
    };
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before: {}", load.trim());
    let m = minute_after(Duration::from_secs(60));
    let same = measure(
        &api,
        "delay-same",
        &format!("{m} * * * *"),
        args.cronjobs,
        &args.image,
    )
    .await?;
    let s = minute_after(Duration::from_secs(60));
    let spread_schedule = format!("H({s}-{}) * * * *", (s + 4).min(59));
    let spread = measure(
        &api,
        "delay-spread",
        &spread_schedule,
        args.cronjobs,
        &args.image,
    )
    .await?;
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average after: {}", load.trim());
    for (name, d) in [
        ("same minute", same),
        ("spread by H over 5 minutes", spread),
    ] {
        println!("{name}:");
        println!(
            "  {}",
            summary("scheduled -> Job", d.iter().map(|x| x.0).collect())
        );
        println!(
            "  {}",
            summary("Job -> container", d.iter().map(|x| x.1).collect())
        );
        println!("  {}", summary("total", d.iter().map(|x| x.2).collect()));
    }
    Ok(())
}
