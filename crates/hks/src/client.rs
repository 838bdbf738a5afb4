//! The CLI's HTTP client for the HKS API.

use anyhow::{Context, bail};
use clap::Args;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

/// Where the API is and who is calling.
#[derive(Debug, Args, Clone)]
pub struct Connection {
    /// Base URL of the HKS server.
    #[arg(
        long,
        env = "HKS_SERVER",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub server: String,
    /// API token (a tenant's, or the admin token for `hks admin`).
    #[arg(long, env = "HKS_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<SecretString>,
    /// Print the API's JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug)]
pub struct Client {
    base: String,
    token: SecretString,
    http: reqwest::Client,
    pub json: bool,
}

impl Client {
    pub fn new(c: &Connection, token_env: &str) -> anyhow::Result<Self> {
        let token = c
            .token
            .clone()
            .with_context(|| format!("no API token: pass --token or set {token_env}"))?;
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Self {
            base: c.server.trim_end_matches('/').to_owned(),
            token,
            http,
            json: c.json,
        })
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let res = self.send(method, path, body).await?;
        let text = res.text().await.context("cannot read the response")?;
        if text.is_empty() {
            Ok(Value::Null)
        } else {
            serde_json::from_str(&text)
                .context("the server answered with something that is not JSON")
        }
    }

    /// Sends a request; an error answer becomes an error with the API's words.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<reqwest::Response> {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base))
            .bearer_auth(self.token.expose_secret());
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req
            .send()
            .await
            .with_context(|| format!("cannot reach HKS at {}", self.base))?;
        if res.status().is_success() {
            return Ok(res);
        }
        let status = res.status();
        let retry = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body: Value = res.json().await.unwrap_or(Value::Null);
        let mut msg = body["message"]
            .as_str()
            .map_or_else(|| status.to_string(), str::to_owned);
        for p in body["problems"].as_array().into_iter().flatten() {
            // A project file's problems also say where they are.
            let place = match (p["line"].as_u64(), p["column"].as_u64()) {
                (Some(l), Some(c)) => format!(" (line {l}, column {c})"),
                _ => String::new(),
            };
            msg.push_str(&format!(
                "\n  {}{place}: {}",
                p["field"].as_str().unwrap_or(""),
                p["message"].as_str().unwrap_or("")
            ));
            if let Some(h) = p["hint"].as_str() {
                msg.push_str(&format!("\n    hint: {h}"));
            }
        }
        if let Some(r) = retry {
            msg.push_str(&format!("\n  (retry after {r} s)"));
        }
        bail!("{msg}")
    }

    pub fn print(&self, v: &Value, table: impl FnOnce(&Value)) {
        if self.json {
            println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
        } else {
            table(v);
        }
    }
}

/// A value for a table cell.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Prints rows as aligned columns.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect();
        println!("{}", parts.join("  ").trim_end());
    };
    line(headers.iter().map(|h| h.to_string()).collect());
    for r in rows {
        line(r);
    }
}
