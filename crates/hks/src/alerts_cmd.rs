//! `hks alerts`: a project's default alert settings or a CronJob's own (the
//! rules, and where alerts go: a signed webhook, Slack, Teams or email), the
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
    /// Replace the settings with the rules given and one destination (a
    /// webhook, Slack, Teams or email; none: alerts are only recorded).
    Set(Box<SetArgs>),
    /// Remove the settings (a CronJob then uses the project's default).
    Delete,
    /// The alerts raised, newest first, with their deliveries.
    History {
        /// At most this many (1 to 200).
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Send a test delivery to the destination now.
    Test,
}

/// Alert rules and the destination, as flags.
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
    /// Where alerts are POSTed as HKS's signed JSON. Give one destination
    /// (this, --slack-url, --teams-url or --email); without any, alerts are
    /// only recorded.
    #[arg(long)]
    webhook_url: Option<String>,
    /// Signs every delivery (16 to 256 characters); leave it out to keep the current one.
    #[arg(long, env = "HKS_WEBHOOK_SECRET", hide_env_values = true)]
    webhook_secret: Option<SecretString>,
    /// A Slack (or Slack-compatible) incoming webhook's URL. It is a
    /// credential: prefer HKS_SLACK_URL to the command line. Its shown form
    /// (`https://hooks.slack.com/…`) keeps the stored one.
    #[arg(long, env = "HKS_SLACK_URL", hide_env_values = true)]
    slack_url: Option<SecretString>,
    /// A Microsoft Teams incoming webhook's (or Workflows trigger's) URL;
    /// a credential too: prefer HKS_TEAMS_URL.
    #[arg(long, env = "HKS_TEAMS_URL", hide_env_values = true)]
    teams_url: Option<SecretString>,
    /// Email alerts to this address through the installation's SMTP
    /// server; repeat it for more (at most 20).
    #[arg(long = "email", value_name = "ADDRESS")]
    emails: Vec<String>,
}

impl SetArgs {
    /// The destination part of the request body: `webhook` as before other
    /// destinations (its problems named `webhook.url`, `webhook.secret`),
    /// else `destination`; none at all when alerts are only recorded.
    fn destination(&self) -> anyhow::Result<(&'static str, Value)> {
        let given = [
            self.webhook_url.is_some(),
            self.slack_url.is_some(),
            self.teams_url.is_some(),
            !self.emails.is_empty(),
        ];
        if given.iter().filter(|g| **g).count() > 1 {
            anyhow::bail!(
                "give one destination: --webhook-url, --slack-url, --teams-url or --email \
                 (HKS_SLACK_URL and HKS_TEAMS_URL count as given)"
            );
        }
        Ok(if let Some(url) = &self.webhook_url {
            let mut w = json!({ "url": url });
            if let Some(secret) = &self.webhook_secret {
                w["secret"] = json!(secret.expose_secret());
            }
            ("webhook", w)
        } else if let Some(url) = &self.slack_url {
            (
                "destination",
                json!({"kind": "slack", "url": url.expose_secret()}),
            )
        } else if let Some(url) = &self.teams_url {
            (
                "destination",
                json!({"kind": "teams", "url": url.expose_secret()}),
            )
        } else if !self.emails.is_empty() {
            ("destination", json!({"kind": "email", "to": self.emails}))
        } else {
            ("destination", Value::Null)
        })
    }
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
            let (field, destination) = a.destination()?;
            let mut body = json!({
                "rules": {
                    "onFailure": a.on_failure,
                    "consecutiveFailures": a.consecutive_failures,
                    "onMissed": a.on_missed,
                    "longerThanSeconds": a.longer_than,
                    "onRecovery": a.on_recovery,
                },
            });
            body[field] = destination;
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
                        "not sent (no destination)".to_owned()
                    } else {
                        let last = if d["lastError"].is_null() {
                            cell(&d["lastStatus"])
                        } else {
                            cell(&d["lastError"])
                        };
                        format!(
                            "{} {} after {} ({last})",
                            cell(&d["destination"]),
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
                // An HTTP status, or an SMTP reply code for email.
                let protocol = if r["destination"] == "email" {
                    "SMTP"
                } else {
                    "HTTP"
                };
                if r["delivered"] == true {
                    println!("Delivered ({protocol} {}).", cell(&r["status"]));
                } else {
                    println!(
                        "Not delivered: {}",
                        if r["error"].is_null() {
                            format!("{protocol} {}", cell(&r["status"]))
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
    let d = &s["destination"];
    match d["kind"].as_str() {
        Some("webhook") => println!(
            "Webhook:     {} (secret {})",
            cell(&d["url"]),
            if d["secretSet"] == true {
                "set"
            } else {
                "not set"
            }
        ),
        Some("slack") => println!("Slack:       {}", cell(&d["url"])),
        Some("teams") => println!("Teams:       {}", cell(&d["url"])),
        Some("email") => {
            let to: Vec<&str> = d["to"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            println!("Email:       {}", to.join(", "));
        }
        _ => println!("Destination: none (alerts are only recorded)"),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        command: AlertsCommand,
    }

    fn destination(args: &[&str]) -> anyhow::Result<(&'static str, Value)> {
        let cli = Cli::try_parse_from(["alerts", "set"].iter().chain(args))?;
        match cli.command {
            AlertsCommand::Set(a) => a.destination(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn one_destination_from_the_flags() {
        assert_eq!(
            destination(&[
                "--email",
                "ops@example.com",
                "--email",
                "oncall@example.org"
            ])
            .unwrap(),
            (
                "destination",
                json!({"kind": "email", "to": ["ops@example.com", "oncall@example.org"]})
            )
        );
        assert_eq!(
            destination(&["--teams-url", "https://example.webhook.office.com/x"]).unwrap(),
            (
                "destination",
                json!({"kind": "teams", "url": "https://example.webhook.office.com/x"})
            )
        );
        // A webhook goes as before, so its problems keep their field paths.
        assert_eq!(
            destination(&["--webhook-url", "https://hooks.example.com/hks"]).unwrap(),
            ("webhook", json!({"url": "https://hooks.example.com/hks"}))
        );
        assert_eq!(destination(&[]).unwrap(), ("destination", Value::Null));
        let two = destination(&[
            "--slack-url",
            "https://hooks.slack.com/services/T0K3N",
            "--email",
            "ops@example.com",
        ])
        .unwrap_err();
        assert!(two.to_string().starts_with("give one destination"), "{two}");
        assert!(!format!("{two:?}").contains("T0K3N"));
    }
}
