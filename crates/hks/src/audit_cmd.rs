//! `hks audit`: who changed what, in a project or the whole tenant.

use clap::Args;
use reqwest::Method;
use serde_json::Value;

use crate::client::{Client, Connection, cell, table};

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The project (else, with --all, the whole tenant).
    #[arg(long, short, env = "HKS_PROJECT", conflicts_with = "all")]
    project: Option<String>,
    /// The tenant's whole log: every project and its tokens.
    #[arg(long)]
    all: bool,
    /// Only this action, such as cronjob.update or run.cancel.
    #[arg(long)]
    action: Option<String>,
    /// Only this target (cronjob/nightly), or with a trailing / this kind (run/).
    #[arg(long)]
    target: Option<String>,
    /// Only what this actor (tenant/token, or admin) did.
    #[arg(long)]
    actor: Option<String>,
    /// At most this many entries (at most 200).
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// Entries older than this id (the "next" a page ends with).
    #[arg(long)]
    before: Option<i64>,
}

/// A change as one line: `schedule: "0 3 * * *" -> "0 4 * * *"`.
fn change(c: &Value) -> String {
    let field = cell(&c["field"]);
    if c["redacted"] == true {
        return format!("{field} changed");
    }
    match (c.get("from"), c.get("to")) {
        (Some(f), Some(t)) => format!("{field}: {f} -> {t}"),
        (None, Some(t)) => format!("{field}: {t}"),
        (Some(f), None) => format!("{field}: {f} removed"),
        (None, None) => field,
    }
}

pub async fn run(args: AuditArgs, conn: &Connection) -> anyhow::Result<()> {
    let c = Client::new(conn, "HKS_TOKEN")?;
    let base = match (&args.project, args.all) {
        (Some(p), false) => format!("/projects/{p}/audit"),
        (None, true) => "/audit".to_owned(),
        _ => anyhow::bail!(
            "name a project (--project or HKS_PROJECT), or --all for the whole tenant"
        ),
    };
    let mut query = vec![format!("limit={}", args.limit)];
    for (key, value) in [
        ("action", args.action),
        ("target", args.target),
        ("actor", args.actor),
        ("before", args.before.map(|b| b.to_string())),
    ] {
        if let Some(v) = value {
            query.push(format!("{key}={}", urlencoding(&v)));
        }
    }
    let page = c
        .call(Method::GET, &format!("{base}?{}", query.join("&")), None)
        .await?;
    c.print(&page, |p| {
        let rows = p["entries"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                let changes: Vec<String> = e["changes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(change)
                    .collect();
                vec![
                    cell(&e["id"]),
                    cell(&e["at"]),
                    cell(&e["actor"]),
                    cell(&e["action"]),
                    cell(&e["target"]),
                    changes.join("; "),
                ]
            })
            .collect();
        table(
            &["ID", "TIME", "ACTOR", "ACTION", "TARGET", "CHANGES"],
            rows,
        );
        if let Some(next) = p["nextBefore"].as_i64() {
            println!("more: --before {next}");
        }
    });
    Ok(())
}

/// Percent-encodes a query value.
fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
