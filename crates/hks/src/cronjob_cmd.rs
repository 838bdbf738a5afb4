//! `hks cronjob`, `hks project` and `hks app`: what the console does, scriptable.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use futures::StreamExt;
use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::client::{Client, Connection, cell, table};

#[derive(Debug, Subcommand)]
pub enum CronJobCommand {
    /// The CronJobs of a project: schedule, next run, last run.
    List,
    /// One CronJob with its settings and next runs.
    Get {
        name: String,
    },
    /// Create a CronJob.
    Create {
        name: String,
        #[command(flatten)]
        settings: Box<Settings>,
        /// A JSON file with the whole spec (the flags override it).
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Change a CronJob: only the given settings change.
    Edit {
        name: String,
        #[command(flatten)]
        settings: Box<Settings>,
    },
    /// Run now; the flags change this run only (the run records them).
    Run {
        name: String,
        /// This run's command, one --command per argument.
        #[arg(long = "command", num_args = 1.., allow_hyphen_values = true, conflicts_with = "shell")]
        command: Vec<String>,
        /// This run's command, run by `sh -c`.
        #[arg(long)]
        shell: Option<String>,
        /// An environment variable for this run, NAME=VALUE or
        /// NAME=secret:SECRET/KEY (replaces the CronJob's of that name).
        #[arg(long = "env")]
        env: Vec<String>,
        /// Seconds this run may take.
        #[arg(long)]
        timeout: Option<u32>,
    },
    /// Cancel a run that has not ended (its pods are stopped; it ends as Cancelled).
    Cancel {
        name: String,
        run: String,
    },
    /// Re-run a past run with the container it had (even after Kubernetes
    /// deleted its Job or the CronJob changed).
    Rerun {
        name: String,
        run: String,
    },
    /// Run past scheduled times late: the given times (RFC 3339, in the
    /// past seven days, at most 20), or with --missed the missed runs HKS
    /// recorded. With the Forbid or Replace policy they run one at a time.
    Backfill {
        name: String,
        /// A time the schedule fired at, e.g. 2026-11-27T03:00:00Z (repeatable).
        #[arg(
            long = "at",
            required_unless_present = "missed",
            conflicts_with = "missed"
        )]
        at: Vec<String>,
        /// The missed runs HKS recorded that were not backfilled yet.
        #[arg(long)]
        missed: bool,
    },
    /// The runs of a CronJob, newest first.
    Runs {
        name: String,
    },
    /// The log of a run (every attempt), or with --follow the latest attempt as it runs.
    Logs {
        name: String,
        run: String,
        #[arg(long, short)]
        follow: bool,
        #[arg(long)]
        tail: Option<i64>,
        #[arg(long)]
        attempt: Option<String>,
    },
    /// Stop scheduling runs; the note says why (shown until it is resumed).
    Suspend {
        name: String,
        /// Why it is suspended.
        #[arg(long)]
        reason: Option<String>,
    },
    Resume {
        name: String,
    },
    /// Delete a CronJob with its runs.
    Delete {
        name: String,
    },
}

/// CronJob settings as flags.
#[derive(Debug, Args, Default)]
pub struct Settings {
    /// Cron expression (five fields) or @hourly, @daily, ...
    #[arg(long)]
    schedule: Option<String>,
    /// IANA time zone of the schedule (default UTC).
    #[arg(long)]
    time_zone: Option<String>,
    /// A Stateless application of the project whose container the job uses.
    #[arg(long, conflicts_with_all = ["image", "function"])]
    template: Option<String>,
    /// With --template: `follow` (later changes of the template apply) or `snapshot`.
    #[arg(long, default_value = "follow", value_parser = ["follow", "snapshot"])]
    mode: String,
    /// An explicit image instead of a template.
    #[arg(long, conflicts_with = "function")]
    image: Option<String>,
    /// Call this Function of the project instead of running a container of
    /// your own (HKS runs its HTTP client; a status that does not meet
    /// --expect fails the run).
    #[arg(long, conflicts_with_all = ["command", "shell", "env"])]
    function: Option<String>,
    /// With --function: the HTTP method (default: the Function's).
    #[arg(long, value_parser = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"])]
    method: Option<String>,
    /// With --function: a request header `Name: value` (repeatable; replaces
    /// the headers). Never a secret: use the Function's token Secret.
    #[arg(long = "header")]
    headers: Vec<String>,
    /// With --function: the request body.
    #[arg(long, allow_hyphen_values = true)]
    body: Option<String>,
    /// With --function: seconds allowed for each request.
    #[arg(long)]
    request_timeout: Option<u32>,
    /// With --function: requests repeated after a network error, 408, 429 or 5xx.
    #[arg(long)]
    request_retries: Option<u32>,
    /// With --function: seconds before the first repeated request (doubles each time).
    #[arg(long)]
    backoff: Option<u32>,
    /// With --function: the statuses that mean success, codes or classes
    /// separated by commas, e.g. `200,204` or `2xx,404` (default 2xx).
    #[arg(long)]
    expect: Option<String>,
    /// Command override, one --command per argument.
    #[arg(long = "command", num_args = 1.., allow_hyphen_values = true, conflicts_with = "shell")]
    command: Vec<String>,
    /// Command override run by `sh -c`.
    #[arg(long)]
    shell: Option<String>,
    /// Environment variable NAME=VALUE, or NAME=secret:SECRET/KEY for a Secret reference.
    #[arg(long = "env")]
    env: Vec<String>,
    #[arg(long, value_parser = ["Forbid", "Allow", "Replace"])]
    concurrency: Option<String>,
    /// Seconds a run may take.
    #[arg(long)]
    timeout: Option<u32>,
    /// Retries of a failed run.
    #[arg(long)]
    retries: Option<u32>,
    /// Seconds after its scheduled time that a run may still start.
    #[arg(long)]
    starting_deadline: Option<u32>,
}

/// The body of Run now from `hks cronjob run`'s flags: the run's overrides,
/// or none when no flag was given.
fn run_overrides(
    command: &[String],
    shell: Option<&str>,
    env: &[String],
    timeout: Option<u32>,
) -> anyhow::Result<Option<Value>> {
    let mut overrides = Map::new();
    if !command.is_empty() {
        overrides.insert("command".into(), json!({"argv": command}));
    }
    if let Some(s) = shell {
        overrides.insert("command".into(), json!({"argv": [s], "shell": true}));
    }
    if !env.is_empty() {
        overrides.insert("env".into(), json!(env_vars(env)?));
    }
    if let Some(t) = timeout {
        overrides.insert("timeoutSeconds".into(), json!(t));
    }
    Ok((!overrides.is_empty()).then_some(Value::Object(overrides)))
}

/// `--env` values (NAME=VALUE, NAME=secret:SECRET/KEY) as the API's `env`.
fn env_vars(env: &[String]) -> anyhow::Result<Vec<Value>> {
    let mut vars = vec![];
    for e in env {
        let (name, value) = e
            .split_once('=')
            .with_context(|| format!("--env {e}: expected NAME=VALUE"))?;
        match value
            .strip_prefix("secret:")
            .and_then(|r| r.split_once('/'))
        {
            Some((secret, key)) => {
                vars.push(json!({"name": name, "secret": {"name": secret, "key": key}}))
            }
            None => vars.push(json!({"name": name, "value": value})),
        }
    }
    Ok(vars)
}

impl Settings {
    fn apply(&self, spec: &mut Map<String, Value>) -> anyhow::Result<()> {
        let mut set = |k: &str, v: Value| {
            spec.insert(k.to_owned(), v);
        };
        if let Some(s) = &self.schedule {
            set("schedule", json!(s));
        }
        if let Some(z) = &self.time_zone {
            set("timeZone", json!(z));
        }
        if let Some(t) = &self.template {
            set("template", json!({"application": t, "mode": self.mode}));
            spec.remove("image");
            spec.remove("function");
        }
        if let Some(i) = &self.image {
            spec.insert("image".into(), json!(i));
            spec.remove("template");
            spec.remove("function");
        }
        self.apply_function(spec)?;
        if !self.command.is_empty() {
            spec.insert("command".into(), json!({"argv": self.command}));
        }
        if let Some(s) = &self.shell {
            spec.insert("command".into(), json!({"argv": [s], "shell": true}));
        }
        if !self.env.is_empty() {
            spec.insert("env".into(), json!(env_vars(&self.env)?));
        }
        if let Some(c) = &self.concurrency {
            spec.insert("concurrencyPolicy".into(), json!(c));
        }
        if let Some(t) = self.timeout {
            spec.insert("timeoutSeconds".into(), json!(t));
        }
        if let Some(r) = self.retries {
            spec.insert("retries".into(), json!(r));
        }
        if let Some(d) = self.starting_deadline {
            spec.insert("startingDeadlineSeconds".into(), json!(d));
        }
        Ok(())
    }
}

impl Settings {
    /// The `function` object: a new one with --function, else the spec's own
    /// (on an edit), with the call's flags applied.
    fn apply_function(&self, spec: &mut Map<String, Value>) -> anyhow::Result<()> {
        let call_flags = self.method.is_some()
            || !self.headers.is_empty()
            || self.body.is_some()
            || self.request_timeout.is_some()
            || self.request_retries.is_some()
            || self.backoff.is_some()
            || self.expect.is_some();
        if let Some(f) = &self.function {
            for k in ["template", "image", "command", "env"] {
                spec.remove(k);
            }
            spec.insert("function".into(), json!({"name": f}));
        }
        let Some(call) = spec.get_mut("function").and_then(Value::as_object_mut) else {
            anyhow::ensure!(
                !call_flags,
                "--method, --header, --body, --request-timeout, --request-retries, --backoff and --expect need --function"
            );
            return Ok(());
        };
        let mut set = |k: &str, v: Value| {
            call.insert(k.to_owned(), v);
        };
        if let Some(m) = &self.method {
            set("method", json!(m));
        }
        if !self.headers.is_empty() {
            let mut headers = vec![];
            for h in &self.headers {
                let (name, value) = h
                    .split_once(':')
                    .with_context(|| format!("--header {h}: expected 'Name: value'"))?;
                headers.push(json!({"name": name.trim(), "value": value.trim()}));
            }
            set("headers", json!(headers));
        }
        if let Some(b) = &self.body {
            set("body", json!(b));
        }
        if let Some(t) = self.request_timeout {
            set("requestTimeoutSeconds", json!(t));
        }
        if let Some(r) = self.request_retries {
            set("retries", json!(r));
        }
        if let Some(b) = self.backoff {
            set("backoffSeconds", json!(b));
        }
        if let Some(e) = &self.expect {
            let codes: Vec<&str> = e.split(',').map(str::trim).collect();
            set("expect", json!(codes));
        }
        Ok(())
    }
}

fn run_row(r: &Value) -> Vec<String> {
    let mut trigger = cell(&r["trigger"]);
    if let Some(of) = r["rerunOf"].as_str() {
        trigger.push_str(&format!(" of {of}"));
    }
    let mut result = cell(&r["result"]);
    if let Some(by) = r["backfilledBy"].as_str() {
        result.push_str(&format!(" (backfilled by {by})"));
    }
    vec![
        cell(&r["name"]),
        trigger,
        cell(&r["startedAt"]),
        r["durationSeconds"]
            .as_i64()
            .map_or("-".into(), |d| format!("{d}s")),
        result,
        cell(&r["exitCode"]),
        cell(&r["reason"]),
    ]
}

fn last_run(r: &Value) -> String {
    if r.is_null() {
        return "never".into();
    }
    let mut s = format!("{} {}", cell(&r["result"]), cell(&r["startedAt"]));
    if let Some(code) = r["exitCode"].as_i64() {
        s.push_str(&format!(" (exit {code})"));
    }
    if let Some(reason) = r["reason"].as_str() {
        s.push_str(&format!(" {reason}"));
    }
    s
}

/// Who suspended a CronJob, when and why, after a separator; empty
/// without a suspension.
fn suspension(s: &Value) -> String {
    if s.is_null() {
        return String::new();
    }
    let mut out = format!(
        " by {} at {}",
        cell(&s["suspendedBy"]),
        cell(&s["suspendedAt"])
    );
    if let Some(reason) = s["reason"].as_str() {
        out.push_str(&format!(": {reason}"));
    }
    out
}

/// The schedule as written and, when it uses `H`, what Kubernetes runs.
fn schedule(j: &Value) -> String {
    match j["expandedSchedule"].as_str() {
        Some(plain) => format!("{} = {plain}", cell(&j["schedule"])),
        None => cell(&j["schedule"]),
    }
}

pub async fn run(cmd: CronJobCommand, project: &str, conn: &Connection) -> anyhow::Result<()> {
    let c = Client::new(conn, "HKS_TOKEN")?;
    let base = format!("/projects/{project}/cronjobs");
    match cmd {
        CronJobCommand::List => {
            let list = c.call(Method::GET, &base, None).await?;
            c.print(&list, |l| {
                let rows = l.as_array().into_iter().flatten().map(|j| {
                    vec![
                        cell(&j["name"]),
                        format!("{} ({})", schedule(j), cell(&j["timeZone"])),
                        if j["suspended"] == true {
                            format!("suspended{}", suspension(&j["suspension"]))
                        } else {
                            cell(&j["nextRun"])
                        },
                        last_run(&j["lastRun"]),
                    ]
                });
                table(
                    &["NAME", "SCHEDULE", "NEXT RUN", "LAST RUN"],
                    rows.collect(),
                );
            });
        }
        CronJobCommand::Get { name } => {
            let j = c.call(Method::GET, &format!("{base}/{name}"), None).await?;
            c.print(&j, |j| {
                println!("Name:        {}", cell(&j["name"]));
                println!("Schedule:    {} ({})", schedule(j), cell(&j["timeZone"]));
                println!("Description: {}", cell(&j["description"]));
                println!(
                    "Suspended:   {}{}",
                    cell(&j["suspended"]),
                    suspension(&j["suspension"])
                );
                if !j["template"].is_null() {
                    println!(
                        "Template:    {} ({})",
                        cell(&j["template"]),
                        cell(&j["templateMode"])
                    );
                }
                let call = &j["spec"]["function"];
                if !call.is_null() {
                    println!(
                        "Function:    {}  expect {}, {}s per request, {} retries",
                        cell(&call["name"]),
                        call["expect"]
                            .as_array()
                            .map(|a| a.iter().map(cell).collect::<Vec<_>>().join(","))
                            .unwrap_or_default(),
                        cell(&call["requestTimeoutSeconds"]),
                        cell(&call["retries"])
                    );
                    println!("Arguments:   {}", cell(&j["container"]["args"]));
                }
                println!("Image:       {}", cell(&j["container"]["image"]));
                println!("Command:     {}", cell(&j["container"]["command"]));
                println!(
                    "Concurrency: {}  Timeout: {}s  Retries: {}",
                    cell(&j["spec"]["concurrencyPolicy"]),
                    cell(&j["spec"]["timeoutSeconds"]),
                    cell(&j["spec"]["retries"])
                );
                println!("In cluster:  {}", cell(&j["clusterState"]));
                println!("Last run:    {}", last_run(&j["lastRun"]));
                println!("Next runs:");
                for r in j["nextRuns"].as_array().into_iter().flatten() {
                    println!("  {}", cell(r));
                }
            });
        }
        CronJobCommand::Create {
            name,
            settings,
            file,
        } => {
            let mut spec: Map<String, Value> = match file {
                Some(f) => serde_json::from_str(&std::fs::read_to_string(&f)?)
                    .with_context(|| format!("{} is not a JSON object", f.display()))?,
                None => Map::new(),
            };
            settings.apply(&mut spec)?;
            let j = c
                .call(
                    Method::POST,
                    &base,
                    Some(&json!({"name": name, "spec": spec})),
                )
                .await?;
            c.print(&j, |j| {
                println!(
                    "Created CronJob {}: {}; next run {}",
                    cell(&j["name"]),
                    cell(&j["description"]),
                    cell(&j["nextRun"])
                )
            });
        }
        CronJobCommand::Edit { name, settings } => {
            let current = c.call(Method::GET, &format!("{base}/{name}"), None).await?;
            let mut spec = current["spec"].as_object().cloned().unwrap_or_default();
            if let Some(t) = spec.get_mut("template").and_then(Value::as_object_mut) {
                t.remove("snapshot");
            }
            settings.apply(&mut spec)?;
            let j = c
                .call(
                    Method::PUT,
                    &format!("{base}/{name}"),
                    Some(&Value::Object(spec)),
                )
                .await?;
            c.print(&j, |j| {
                println!(
                    "Updated CronJob {}: {}; next run {}",
                    cell(&j["name"]),
                    cell(&j["description"]),
                    cell(&j["nextRun"])
                )
            });
        }
        CronJobCommand::Run {
            name,
            command,
            shell,
            env,
            timeout,
        } => {
            let body = run_overrides(&command, shell.as_deref(), &env, timeout)?;
            let r = c
                .call(Method::POST, &format!("{base}/{name}/runs"), body.as_ref())
                .await?;
            c.print(&r, |r| println!("Started run {}", cell(&r["name"])));
        }
        CronJobCommand::Cancel { name, run } => {
            let r = c
                .call(
                    Method::POST,
                    &format!("{base}/{name}/runs/{run}/cancel"),
                    None,
                )
                .await?;
            c.print(&r, |r| {
                println!(
                    "Cancelling run {} ({}); it ends as Cancelled once its pods stopped",
                    cell(&r["name"]),
                    cell(&r["result"])
                )
            });
        }
        CronJobCommand::Rerun { name, run } => {
            let r = c
                .call(
                    Method::POST,
                    &format!("{base}/{name}/runs/{run}/rerun"),
                    None,
                )
                .await?;
            c.print(&r, |r| {
                println!(
                    "Started run {}, a re-run of {}",
                    cell(&r["name"]),
                    cell(&r["rerunOf"])
                )
            });
        }
        CronJobCommand::Backfill { name, at, missed } => {
            let body = if missed {
                json!({"missed": true})
            } else {
                json!({"scheduledTimes": at})
            };
            let r = c
                .call(
                    Method::POST,
                    &format!("{base}/{name}/backfill"),
                    Some(&body),
                )
                .await?;
            c.print(&r, |r| {
                let runs = r["runs"].as_array().cloned().unwrap_or_default();
                if runs.is_empty() {
                    println!("Nothing to backfill");
                }
                for run in &runs {
                    let waits = if run["result"] == "Suspended" {
                        " (waits for the runs before it)"
                    } else {
                        ""
                    };
                    println!(
                        "Started run {} for {}{waits}",
                        cell(&run["name"]),
                        cell(&run["scheduledAt"])
                    );
                }
            });
        }
        CronJobCommand::Runs { name } => {
            let runs = c
                .call(Method::GET, &format!("{base}/{name}/runs"), None)
                .await?;
            c.print(&runs, |l| {
                table(
                    &[
                        "RUN", "TRIGGER", "STARTED", "DURATION", "RESULT", "EXIT", "REASON",
                    ],
                    l.as_array().into_iter().flatten().map(run_row).collect(),
                )
            });
        }
        CronJobCommand::Logs {
            name,
            run,
            follow,
            tail,
            attempt,
        } => {
            let mut path = format!("{base}/{name}/runs/{run}/logs?follow={follow}");
            if let Some(t) = tail {
                path.push_str(&format!("&tailLines={t}"));
            }
            if let Some(a) = attempt {
                path.push_str(&format!("&attempt={a}"));
            }
            if follow {
                let res = c.send(Method::GET, &path, None).await?;
                let mut body = res.bytes_stream();
                use std::io::Write;
                while let Some(chunk) = body.next().await {
                    let chunk = chunk.context("the log stream broke")?;
                    std::io::stdout().write_all(&chunk)?;
                    std::io::stdout().flush()?;
                }
            } else {
                let logs = c.call(Method::GET, &path, None).await?;
                c.print(&logs, |l| {
                    let attempts = l["attempts"].as_array().cloned().unwrap_or_default();
                    for a in &attempts {
                        if attempts.len() > 1 {
                            println!("==> {} <==", cell(&a["pod"]));
                        }
                        print!("{}", a["log"].as_str().unwrap_or(""));
                    }
                });
            }
        }
        CronJobCommand::Suspend { name, reason } => {
            let body = reason.map(|r| json!({"reason": r}));
            let j = c
                .call(
                    Method::POST,
                    &format!("{base}/{name}/suspend"),
                    body.as_ref(),
                )
                .await?;
            c.print(&j, |j| {
                println!("Suspended {name}{}", suspension(&j["suspension"]))
            });
        }
        CronJobCommand::Resume { name } => {
            let j = c
                .call(Method::POST, &format!("{base}/{name}/resume"), None)
                .await?;
            println!("Resumed {name}; next run {}", cell(&j["nextRun"]));
        }
        CronJobCommand::Delete { name } => {
            c.call(Method::DELETE, &format!("{base}/{name}"), None)
                .await?;
            println!("Deleted {name}");
        }
    }
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    List,
    Create { name: String },
    Delete { name: String },
}

pub async fn project(cmd: ProjectCommand, conn: &Connection) -> anyhow::Result<()> {
    let c = Client::new(conn, "HKS_TOKEN")?;
    match cmd {
        ProjectCommand::List => {
            let l = c.call(Method::GET, "/projects", None).await?;
            c.print(&l, |l| {
                table(
                    &["NAME", "NAMESPACE", "CREATED"],
                    l.as_array()
                        .into_iter()
                        .flatten()
                        .map(|p| {
                            vec![
                                cell(&p["name"]),
                                cell(&p["namespace"]),
                                cell(&p["createdAt"]),
                            ]
                        })
                        .collect(),
                )
            });
        }
        ProjectCommand::Create { name } => {
            let p = c
                .call(Method::POST, "/projects", Some(&json!({"name": name})))
                .await?;
            c.print(&p, |p| {
                println!(
                    "Created project {} (namespace {})",
                    cell(&p["name"]),
                    cell(&p["namespace"])
                )
            });
        }
        ProjectCommand::Delete { name } => {
            c.call(Method::DELETE, &format!("/projects/{name}"), None)
                .await?;
            println!("Deleted project {name}");
        }
    }
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// The applications of a project.
    List {
        #[arg(long = "type")]
        kind: Option<String>,
    },
    Get {
        name: String,
    },
    /// Create or replace an application from a JSON file `{"name", "type", "spec"}`.
    Apply {
        file: PathBuf,
    },
    Delete {
        name: String,
    },
}

pub async fn app(cmd: AppCommand, project: &str, conn: &Connection) -> anyhow::Result<()> {
    let c = Client::new(conn, "HKS_TOKEN")?;
    let base = format!("/projects/{project}/applications");
    match cmd {
        AppCommand::List { kind } => {
            let path = kind.map_or(base.clone(), |k| format!("{base}?type={k}"));
            let l = c.call(Method::GET, &path, None).await?;
            c.print(&l, |l| {
                table(
                    &["NAME", "TYPE", "GENERATION", "UPDATED"],
                    l.as_array()
                        .into_iter()
                        .flatten()
                        .map(|a| {
                            vec![
                                cell(&a["name"]),
                                cell(&a["type"]),
                                cell(&a["generation"]),
                                cell(&a["updatedAt"]),
                            ]
                        })
                        .collect(),
                )
            });
        }
        AppCommand::Get { name } => {
            let a = c.call(Method::GET, &format!("{base}/{name}"), None).await?;
            println!("{}", serde_json::to_string_pretty(&a)?);
        }
        AppCommand::Apply { file } => {
            let body: Value = serde_json::from_str(&std::fs::read_to_string(&file)?)
                .with_context(|| format!("{} is not JSON", file.display()))?;
            let name = body["name"]
                .as_str()
                .context("the file has no `name`")?
                .to_owned();
            let exists = c
                .call(Method::GET, &format!("{base}/{name}"), None)
                .await
                .is_ok();
            let a = if exists {
                c.call(
                    Method::PUT,
                    &format!("{base}/{name}"),
                    Some(&json!({"type": body["type"], "spec": body["spec"]})),
                )
                .await?
            } else {
                c.call(Method::POST, &base, Some(&body)).await?
            };
            c.print(&a, |a| {
                println!(
                    "{} {} (generation {})",
                    if exists { "Updated" } else { "Created" },
                    cell(&a["name"]),
                    cell(&a["generation"])
                )
            });
        }
        AppCommand::Delete { name } => {
            c.call(Method::DELETE, &format!("{base}/{name}"), None)
                .await?;
            println!("Deleted {name}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn run_flags_become_the_runs_overrides() {
        assert_eq!(run_overrides(&[], None, &[], None).unwrap(), None);
        let body = run_overrides(
            &[],
            Some("echo $A"),
            &["A=1".into(), "T=secret:api/token".into()],
            Some(60),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            body,
            json!({"command": {"argv": ["echo $A"], "shell": true},
                   "env": [{"name": "A", "value": "1"}, {"name": "T", "secret": {"name": "api", "key": "token"}}],
                   "timeoutSeconds": 60})
        );
        let argv = run_overrides(&["ls".into(), "-l".into()], None, &[], None)
            .unwrap()
            .unwrap();
        assert_eq!(argv, json!({"command": {"argv": ["ls", "-l"]}}));
        assert!(run_overrides(&[], None, &["NOVALUE".into()], None).is_err());
    }

    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        settings: Settings,
    }

    fn spec(args: &[&str], start: Value) -> anyhow::Result<Value> {
        let cli = Cli::try_parse_from(std::iter::once("hks").chain(args.iter().copied()))?;
        let mut spec = start.as_object().cloned().unwrap_or_default();
        cli.settings.apply(&mut spec)?;
        Ok(Value::Object(spec))
    }

    #[test]
    fn function_flags_build_the_call() {
        let s = spec(
            &[
                "--schedule",
                "* * * * *",
                "--function",
                "greet",
                "--method",
                "PUT",
                "--header",
                "X-Source: cli",
                "--body",
                "-",
                "--request-timeout",
                "5",
                "--request-retries",
                "1",
                "--backoff",
                "3",
                "--expect",
                "200, 404",
            ],
            json!({"image": "old", "env": [{"name": "A", "value": "1"}]}),
        )
        .unwrap();
        assert_eq!(
            s,
            json!({"schedule": "* * * * *", "function": {
                "name": "greet", "method": "PUT", "headers": [{"name": "X-Source", "value": "cli"}],
                "body": "-", "requestTimeoutSeconds": 5, "retries": 1, "backoffSeconds": 3,
                "expect": ["200", "404"]
            }})
        );
        // An edit changes the existing call; another container source replaces it.
        let edited = spec(&["--expect", "2xx"], s.clone()).unwrap();
        assert_eq!(edited["function"]["expect"], json!(["2xx"]));
        assert_eq!(edited["function"]["method"], "PUT");
        let image = spec(&["--image", "busybox"], s).unwrap();
        assert!(image.get("function").is_none());
        assert!(spec(&["--expect", "2xx"], json!({"image": "x"})).is_err());
        assert!(spec(&["--function", "f", "--template", "web"], json!({})).is_err());
    }
}
