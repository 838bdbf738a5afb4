//! One webhook request: the JSON body, its signature, and what the answer
//! means. Errors are described without the URL (it may carry a token in its
//! path or query) and never with the secret.

use std::error::Error as _;
use std::time::Duration;

use hks_history::webhook::{DELIVERY_HEADER, SIGNATURE_HEADER, delivered, sign};
use hks_store::{StoredAlert, Webhook};
use jiff::Timestamp;
use secrecy::ExposeSecret;
use serde::Serialize;

use crate::AlertError;

/// The console's page for a CronJob (or the project, for a project-wide test).
pub fn link(project: &str, cronjob: &str) -> String {
    if cronjob.is_empty() {
        format!("/projects/{project}")
    } else {
        format!("/projects/{project}/cronjobs/{cronjob}")
    }
}

/// Why a URL cannot be a webhook, if it cannot: it must be absolute http(s)
/// with a host and carry no user name or password (they would end up in
/// logs and error messages).
pub fn check_webhook_url(url: &str) -> Result<(), &'static str> {
    if url.len() > 2048 {
        return Err("must be at most 2048 characters");
    }
    let parsed = reqwest::Url::parse(url).map_err(|_| "must be an absolute http or https URL")?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("must be an http or https URL");
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("must name a host");
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(
            "must not contain a user name or password; authenticate the receiver by the signature",
        );
    }
    Ok(())
}

/// The JSON body of a delivery; the same on every attempt.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Body<'a> {
    /// `failed`, `consecutiveFailures`, `missed`, `longRunning`, `recovered`, or `test`.
    kind: &'a str,
    /// Unique per CronJob.
    key: &'a str,
    summary: &'a str,
    project: &'a str,
    cronjob: &'a str,
    /// The run (a Job name), or the missed time.
    subject: &'a str,
    /// The run, for alerts about one.
    run: Option<&'a str>,
    raised_at: Timestamp,
    /// Path of the CronJob's page in the console.
    link: String,
}

pub(crate) fn body(alert: &StoredAlert, project: &str) -> Vec<u8> {
    let run = !matches!(alert.kind.as_str(), "missed" | "test") && !alert.subject.is_empty();
    let body = Body {
        kind: &alert.kind,
        key: &alert.key,
        summary: &alert.summary,
        project,
        cronjob: &alert.cronjob,
        subject: &alert.subject,
        run: run.then_some(alert.subject.as_str()),
        raised_at: alert.raised_at,
        link: link(project, &alert.cronjob),
    };
    serde_json::to_vec(&body).expect("a struct of strings serialises")
}

pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, AlertError> {
    // reqwest is built without a TLS crypto provider; HKS uses ring's.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        // A redirect would carry the signed body somewhere the user did not
        // configure; a 3xx counts as not delivered.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("HKS-Webhook/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(AlertError::Client)
}

/// How one request went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    Delivered(u16),
    Refused(u16),
    Unreachable(String),
}

pub(crate) async fn send(
    http: &reqwest::Client,
    url: &str,
    secret: &[u8],
    delivery_id: &str,
    body: Vec<u8>,
    timeout: Duration,
) -> Answer {
    let signature = sign(secret, Timestamp::now(), &body);
    let sent = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature)
        .header(DELIVERY_HEADER, delivery_id)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(r) if delivered(r.status().as_u16()) => Answer::Delivered(r.status().as_u16()),
        Ok(r) => Answer::Refused(r.status().as_u16()),
        Err(e) => Answer::Unreachable(describe(e, timeout)),
    }
}

/// The error and its causes, without the URL.
fn describe(e: reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("no answer within {} s", timeout.as_secs_f64());
    }
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// How a test delivery went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestDelivery {
    /// The `X-HKS-Delivery` header it carried.
    pub delivery_id: String,
    pub delivered: bool,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// Why it was not delivered.
    pub error: Option<String>,
}

pub(crate) async fn send_test(
    webhook: &Webhook,
    project: &str,
    cronjob: Option<&str>,
    timeout: Duration,
) -> Result<TestDelivery, AlertError> {
    let id = format!("test-{}", Timestamp::now().as_nanosecond());
    let alert = StoredAlert {
        id: id.clone(),
        project_id: String::new(),
        cronjob: cronjob.unwrap_or("").to_owned(),
        key: id.clone(),
        kind: "test".into(),
        subject: String::new(),
        summary: "A test delivery from HKS: this receiver gets the alerts.".into(),
        raised_at: Timestamp::now(),
    };
    let http = client(timeout)?;
    let answer = send(
        &http,
        &webhook.url,
        webhook.secret.expose_secret().as_bytes(),
        &id,
        body(&alert, project),
        timeout,
    )
    .await;
    Ok(match answer {
        Answer::Delivered(s) => TestDelivery {
            delivery_id: id,
            delivered: true,
            status: Some(s),
            error: None,
        },
        Answer::Refused(s) => TestDelivery {
            delivery_id: id,
            delivered: false,
            status: Some(s),
            error: Some(format!("the receiver answered {s}")),
        },
        Answer::Unreachable(e) => TestDelivery {
            delivery_id: id,
            delivered: false,
            status: None,
            error: Some(e),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls() {
        assert!(check_webhook_url("http://127.0.0.1:8080/hook").is_ok());
        assert!(check_webhook_url("https://hooks.example.com/a?b=c").is_ok());
        for bad in [
            "ftp://example.com/",
            "example.com/hook",
            "https://user:pass@example.com/",
            "https://token@example.com/",
            "http://",
            "mailto:a@example.com",
            "",
        ] {
            assert!(check_webhook_url(bad).is_err(), "{bad}");
        }
    }
}
