//! One webhook request (HKS's signed JSON, or a Slack or Teams message):
//! the request, and what the answer means. The request goes only where the
//! [`TargetPolicy`] permits. Errors are described to the tenant in a few
//! fixed words: never with the URL (it may carry a token in its path or
//! query, and a Slack or Teams URL is itself one), an address, or the secret.

use std::error::Error as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hks_history::webhook::{DELIVERY_HEADER, SIGNATURE_HEADER, delivered, sign};
use jiff::Timestamp;
use url::{Host, Url};

use crate::AlertError;
use crate::target::{DENIED, TargetError, TargetPolicy};

/// The most of a receiver's answer read: enough for a small answer to be
/// read to its end (so the connection can be used again), while a large
/// one is cut off instead of read for as long as it goes on.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// The HTTP client of deliveries: it connects only to addresses `targets`
/// permits (see [`Pinned`]), through no proxy, follows no redirect, and
/// gives up after `timeout`.
pub(crate) fn client(
    timeout: Duration,
    targets: &TargetPolicy,
) -> Result<reqwest::Client, AlertError> {
    // reqwest is built without a TLS crypto provider; HKS uses ring's.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        // A redirect would carry the signed body somewhere the user did not
        // configure (and past the target policy); a 3xx counts as not
        // delivered.
        .redirect(reqwest::redirect::Policy::none())
        // A proxy (HTTP_PROXY in the environment) would resolve and connect
        // to the host itself, past the target policy.
        .no_proxy()
        .dns_resolver(Arc::new(Pinned(targets.clone())))
        .user_agent(concat!("HKS-Webhook/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(AlertError::Client)
}

/// Resolves a webhook's host for the HTTP client under the target policy:
/// the client connects to the addresses returned here, which are the ones
/// checked. (Address literals are not resolved: [`send`] checks them.)
#[derive(Debug)]
struct Pinned(TargetPolicy);

impl reqwest::dns::Resolve for Pinned {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let targets = self.0.clone();
        Box::pin(async move {
            let allowed = targets.resolve(name.as_str()).await?;
            // Port 0: the URL's port (or the scheme's) is used.
            let addrs: reqwest::dns::Addrs =
                Box::new(allowed.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

/// How one attempt went, by HTTP or SMTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// The receiver took it: its HTTP status, or the SMTP server's reply code.
    Delivered(u16),
    /// The receiver answered, and did not take it.
    Refused(u16),
    /// Not sent, or no answer: why, in words safe to show the tenant.
    Unreachable(String),
}

/// POSTs `body` (JSON) to `url`, signed with `secret` if there is one (a
/// signed webhook; Slack and Teams check no signature, their URL is the
/// credential).
pub(crate) async fn send(
    http: &reqwest::Client,
    targets: &TargetPolicy,
    url: &str,
    secret: Option<&[u8]>,
    delivery_id: &str,
    body: Vec<u8>,
    timeout: Duration,
) -> Answer {
    // The client resolves host names through `Pinned`, but connects to an
    // address literal directly: check it here.
    let literal = match Url::parse(url) {
        Ok(u) => match u.host() {
            Some(Host::Ipv4(ip)) => Some(IpAddr::from(ip)),
            Some(Host::Ipv6(ip)) => Some(IpAddr::from(ip)),
            _ => None,
        },
        Err(_) => return Answer::Unreachable("the webhook's URL is not valid".into()),
    };
    if literal.is_some_and(|ip| !targets.permits(ip)) {
        tracing::debug!(delivery = %delivery_id, "A webhook names an address the target policy denies.");
        return Answer::Unreachable(DENIED.into());
    }
    let mut request = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(DELIVERY_HEADER, delivery_id);
    if let Some(secret) = secret {
        request = request.header(SIGNATURE_HEADER, sign(secret, Timestamp::now(), &body));
    }
    let sent = request.body(body).send().await;
    match sent {
        Ok(r) => {
            let status = r.status().as_u16();
            drain(r).await;
            if delivered(status) {
                Answer::Delivered(status)
            } else {
                Answer::Refused(status)
            }
        }
        Err(e) => {
            let e = e.without_url();
            tracing::debug!(delivery = %delivery_id, error = %chain(&e), "A webhook request failed.");
            Answer::Unreachable(describe(&e, timeout))
        }
    }
}

/// Reads the answer's body up to about [`MAX_ANSWER_BYTES`], and drops the
/// rest (and then the connection). What it says does not matter: the status
/// decides.
async fn drain(mut answer: reqwest::Response) {
    let mut read = 0;
    while read < MAX_ANSWER_BYTES {
        match answer.chunk().await {
            Ok(Some(chunk)) => read += chunk.len(),
            Ok(None) | Err(_) => return,
        }
    }
}

/// Why a request failed, for the tenant: a few fixed descriptions, never
/// the URL, an address or the operating system's words, so that the answer
/// of a test delivery tells nothing about HKS's network beyond whether the
/// receiver answered.
fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    let mut source = e.source();
    while let Some(cause) = source {
        if cause.downcast_ref::<TargetError>().is_some() {
            return DENIED.into();
        }
        source = cause.source();
    }
    if e.is_timeout() {
        format!("no answer within {} s", timeout.as_secs_f64())
    } else if e.is_connect() {
        "could not connect to the receiver".into()
    } else {
        "the request failed before the receiver answered".into()
    }
}

/// The error and its causes, for the log.
fn chain(e: &reqwest::Error) -> String {
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
