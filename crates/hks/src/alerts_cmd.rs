//! `hks alerts`: a project's default alert settings or a CronJob's own, the
//! alerts raised with their deliveries, and test deliveries.

use clap::{Args, Subcommand};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::client::{Client, Connection, cell, table};

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// The settings in effect: the CronJob's own, else the project's default.
    Get,
    /// Replace the settings with the rules given and the webhook.
    Set(Box<SetArgs>),
    /// Remove the settings (a CronJob then uses the project's default).
    Delete,
    /// The alerts raised, newest first, with their deliveries.
    History {
        /// At most this many (1 to 200).
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Send a test delivery to the webhook now.
    Test,
}

/// Alert rules and the webhook, as flags.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// Alert on every failed run.
    #[arg(long)]
    on_failure: bool,
    /// Alert when this many runs in a row have failed (2 to 100).
    #[arg(long)]
    consecutive_failures: Option<u32>,
    /// Alert when a scheduled run did not start.
    #[arg(long)]
    on_missed: bool,
    /// Alert when a run is still going after this many seconds (at least 60).
    #[arg(long)]
    longer_than: Option<u32>,
    /// Alert on the first success after an alerted failure.
    #[arg(long)]
    on_recovery: bool,
    /// Where alerts are POSTed; without it they are only recorded.
    #[arg(long)]
    webhook_url: Option<String>,
    /// Signs every delivery (16 to 256 characters); leave it out to keep the current one.
    #[arg(long, env = "HKS_WEBHOOK_SECRET", hide_env_values = true)]
    webhook_secret: Option<SecretString>,
}

pub async fn run(
    cmd: AlertsCommand,
    project: &str,
    cronjob: Option<&str>,
    conn: &Connection,
) -> anyhow::Result<()> {
    let c = Client::new(conn, "HKS_TOKEN")?;
    let settings = match cronjob {
        Some(name) => format!("/projects/{project}/cronjobs/{name}/alerts"),
        None => format!("/projects/{project}/alerts"),
    };
    let only = cronjob.map(|n| format!("cronjob={n}"));
    match cmd {
        AlertsCommand::Get => {
            let s = c.call(Method::GET, &settings, None).await?;
            c.print(&s, print_settings);
        }
        AlertsCommand::Set(a) => {
            let webhook = a.webhook_url.as_ref().map(|url| {
                let mut w = json!({ "url": url });
                if let Some(secret) = &a.webhook_secret {
                    w["secret"] = json!(secret.expose_secret());
                }
                w
            });
            let body = json!({
                "rules": {
                    "onFailure": a.on_failure,
                    "consecutiveFailures": a.consecutive_failures,
                    "onMissed": a.on_missed,
                    "longerThanSeconds": a.longer_than,
                    "onRecovery": a.on_recovery,
                },
                "webhook": webhook,
            });
            let s = c.call(Method::PUT, &settings, Some(&body)).await?;
            c.print(&s, print_settings);
        }
        AlertsCommand::Delete => {
            c.call(Method::DELETE, &settings, None).await?;
            if !c.json {
                println!("Removed.");
            }
        }
        AlertsCommand::History { limit } => {
            let query = [Some(format!("limit={limit}")), only]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("&");
            let list = c
                .call(
                    Method::GET,
                    &format!("/projects/{project}/alerts/history?{query}"),
                    None,
                )
                .await?;
            c.print(&list, |l| {
                let rows = l.as_array().into_iter().flatten().map(|a| {
                    let d = &a["delivery"];
                    let delivery = if d.is_null() {
                        "not sent (no webhook)".to_owned()
                    } else {
                        let last = if d["lastError"].is_null() {
                            cell(&d["lastStatus"])
                        } else {
                            cell(&d["lastError"])
                        };
                        format!(
                            "{} after {} ({last})",
                            cell(&d["state"]),
                            cell(&d["attempts"])
                        )
                    };
                    vec![
                        cell(&a["raisedAt"]),
                        cell(&a["cronjob"]),
                        cell(&a["summary"]),
                        delivery,
                    ]
                });
                table(&["RAISED", "CRONJOB", "ALERT", "DELIVERY"], rows.collect());
            });
        }
        AlertsCommand::Test => {
            let path = match only {
                Some(q) => format!("/projects/{project}/alerts/test?{q}"),
                None => format!("/projects/{project}/alerts/test"),
            };
            let r = c.call(Method::POST, &path, None).await?;
            c.print(&r, |r| {
                if r["delivered"] == true {
                    println!("Delivered (HTTP {}).", cell(&r["status"]));
                } else {
                    println!(
                        "Not delivered: {}",
                        if r["error"].is_null() {
                            format!("HTTP {}", cell(&r["status"]))
                        } else {
                            cell(&r["error"])
                        }
                    );
                }
            });
            if r["delivered"] != true {
                anyhow::bail!("the test delivery did not reach the receiver");
            }
        }
    }
    Ok(())
}

fn print_settings(s: &Value) {
    let r = &s["rules"];
    println!("Source:      {}", cell(&s["source"]));
    println!("On failure:  {}", cell(&r["onFailure"]));
    println!("In a row:    {}", cell(&r["consecutiveFailures"]));
    println!("On missed:   {}", cell(&r["onMissed"]));
    println!("Longer than: {}", cell(&r["longerThanSeconds"]));
    println!("On recovery: {}", cell(&r["onRecovery"]));
    match s["webhook"].as_object() {
        Some(w) => println!(
            "Webhook:     {} (secret {})",
            cell(&w["url"]),
            if w["secretSet"] == true {
                "set"
            } else {
                "not set"
            }
        ),
        None => println!("Webhook:     none (alerts are only recorded)"),
    }
}
