//! `hks export`, `hks diff` and `hks apply`: a project as a file beside the
//! code (issue 18). The server reads, checks and plans the file; this
//! command reads the values of its webhook references (`{fromEnv: NAME}`,
//! `{fromFile: PATH}`) where it runs and sends them beside the file's text,
//! so a secret never has to be written into the file.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use hks_core::projectfile::{self, SecretSource};
use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::client::{Client, Connection};

/// `hks export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write the file here instead of to standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

/// `hks diff` and `hks apply`.
#[derive(Debug, Args)]
pub struct FileArgs {
    /// The project file (`-` for standard input).
    #[arg(long, short)]
    file: PathBuf,
    /// Also delete what the file does not name: applications, and alert
    /// settings (the project's default, a CronJob's own).
    #[arg(long)]
    prune: bool,
}

pub async fn export(args: ExportArgs, project: &str, conn: &Connection) -> anyhow::Result<()> {
    let c = Client::new(conn, "HKS_TOKEN")?;
    let text = c
        .send(Method::GET, &format!("/projects/{project}/file"), None)
        .await?
        .text()
        .await
        .context("cannot read the response")?;
    match args.output {
        Some(path) => std::fs::write(&path, &text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .context("cannot write to standard output")?,
    }
    Ok(())
}

/// Shows what applying the file would change; with `exit_code`, exits with
/// 2 when there is something to change (for a pipeline that checks the
/// project has not drifted from the file).
pub async fn diff(
    args: FileArgs,
    exit_code: bool,
    project: &str,
    conn: &Connection,
) -> anyhow::Result<ExitCode> {
    let result = send(&args, true, project, conn).await?;
    let changed = result["changes"].as_array().is_some_and(|c| !c.is_empty());
    Ok(if exit_code && changed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

pub async fn apply(
    args: FileArgs,
    dry_run: bool,
    project: &str,
    conn: &Connection,
) -> anyhow::Result<()> {
    send(&args, dry_run, project, conn).await.map(drop)
}

async fn send(
    args: &FileArgs,
    dry_run: bool,
    project: &str,
    conn: &Connection,
) -> anyhow::Result<Value> {
    let c = Client::new(conn, "HKS_TOKEN")?;
    let content = read(&args.file)?;
    let values = values(&content);
    let body = json!({
        "content": content,
        "dryRun": dry_run,
        "prune": args.prune,
        "values": values,
    });
    let result = c
        .call(
            Method::POST,
            &format!("/projects/{project}/file"),
            Some(&body),
        )
        .await
        .with_context(|| format!("{} was not applied", args.file.display()))?;
    c.print(&result, |r| print_changes(r, dry_run));
    Ok(result)
}

fn read(path: &Path) -> anyhow::Result<String> {
    if path == Path::new("-") {
        return std::io::read_to_string(std::io::stdin()).context("cannot read standard input");
    }
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// The values of the file's references, by path. One that cannot be read
/// here is left out, with a note: the server keeps the stored value, and
/// refuses the file (naming the path) when there is none.
fn values(content: &str) -> Map<String, Value> {
    let (doc, _) = projectfile::read(content);
    let mut out = Map::new();
    for (path, source) in projectfile::references(&doc.file) {
        match resolve(&source) {
            Ok(v) => {
                out.insert(path, Value::String(v));
            }
            Err(why) => eprintln!(
                "note: {path}: {} {why}; the stored value is kept, if there is one",
                source.describe()
            ),
        }
    }
    out
}

fn resolve(source: &SecretSource) -> Result<String, String> {
    match (&source.from_env, &source.from_file) {
        (Some(name), _) => std::env::var(name).map_err(|e| match e {
            std::env::VarError::NotPresent => "is not set".to_owned(),
            std::env::VarError::NotUnicode(_) => "is not UTF-8".to_owned(),
        }),
        (_, Some(file)) => std::fs::read_to_string(file)
            .map(|s| {
                // A file ends with a line break that is not part of the value.
                let s = s.strip_suffix('\n').unwrap_or(&s);
                s.strip_suffix('\r').unwrap_or(s).to_owned()
            })
            .map_err(|e| format!("cannot be read ({e})")),
        _ => Err("names nothing".to_owned()),
    }
}

/// The changes, field by field, then the summary.
fn print_changes(result: &Value, dry_run: bool) {
    for change in result["changes"].as_array().into_iter().flatten() {
        let path = change["path"].as_str().unwrap_or("");
        let (mark, what) = match change["action"].as_str() {
            Some("create") => ("+", "create"),
            Some("delete") => ("-", "delete"),
            _ => ("~", "change"),
        };
        println!("{mark} {path} ({what})");
        for f in change["fields"].as_array().into_iter().flatten() {
            let field = f["path"].as_str().unwrap_or("");
            let field = field
                .strip_prefix(path)
                .map_or(field, |r| r.trim_start_matches('.'));
            let shown = |v: &Value| match v {
                Value::Null => "(none)".to_owned(),
                other => other.to_string(),
            };
            let (before, after) = (shown(&f["before"]), shown(&f["after"]));
            let secret = f["secret"].as_bool().unwrap_or(false);
            let line = match (what, secret) {
                ("create", false) => format!("{field}: {after}"),
                (_, true) if before == after => {
                    format!("{field}: a new value from {after} (values are never shown)")
                }
                (_, true) => {
                    format!("{field}: {before} -> {after} (values are never shown)")
                }
                _ => format!("{field}: {before} -> {after}"),
            };
            println!("    {line}");
        }
    }
    let summary = result["summary"].as_str().unwrap_or("");
    if dry_run && !result["changes"].as_array().is_some_and(Vec::is_empty) {
        println!("{summary} (nothing was changed)");
    } else {
        println!("{summary}");
    }
}
