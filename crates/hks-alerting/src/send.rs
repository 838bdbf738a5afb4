//! One attempt at a delivery, whatever its destination: HKS's signed JSON,
//! a Slack or Teams message (each a request under the [`TargetPolicy`]),
//! or an email through the installation's SMTP server. The worker's
//! attempts and test deliveries both go through here.

use std::time::Duration;

use hks_store::{Destination, DestinationKind, StoredAlert};
use jiff::Timestamp;
use secrecy::ExposeSecret;

use crate::AlertError;
use crate::delivery::{self, Answer};
use crate::email::Email;
use crate::payload;
use crate::target::TargetPolicy;

/// What a tenant is told when an email destination meets an installation
/// without an SMTP server (it was configured when the destination was saved,
/// and is no longer).
pub const NO_SMTP: &str =
    "this installation sends no email: it names no SMTP server (hks serve --smtp-url)";

/// Sends attempts: the HTTP client (pinned to the target policy) and the
/// installation's SMTP server, if it has one.
#[derive(Debug, Clone)]
pub(crate) struct Sender {
    http: reqwest::Client,
    targets: TargetPolicy,
    email: Option<Email>,
    timeout: Duration,
}

impl Sender {
    pub(crate) fn new(
        timeout: Duration,
        targets: &TargetPolicy,
        email: Option<Email>,
    ) -> Result<Self, AlertError> {
        Ok(Self {
            http: delivery::client(timeout, targets)?,
            targets: targets.clone(),
            email,
            timeout,
        })
    }

    /// One attempt at delivering `alert` (of project `project`) to
    /// `destination`, as delivery `delivery_id`.
    pub(crate) async fn send(
        &self,
        destination: &Destination,
        alert: &StoredAlert,
        project: &str,
        delivery_id: &str,
    ) -> Answer {
        let (url, secret, body) = match destination {
            Destination::Webhook(w) => (
                w.url.as_str(),
                Some(w.secret.expose_secret().as_bytes()),
                payload::webhook(alert, project),
            ),
            Destination::Slack { url } => (
                url.as_str(),
                None,
                payload::slack(alert, project).to_string().into_bytes(),
            ),
            Destination::Teams { url } => (
                url.as_str(),
                None,
                payload::teams(alert, project).to_string().into_bytes(),
            ),
            Destination::Email { to } => {
                return match &self.email {
                    Some(email) => email.send(alert, project, delivery_id, to).await,
                    None => Answer::Unreachable(NO_SMTP.into()),
                };
            }
        };
        delivery::send(
            &self.http,
            &self.targets,
            url,
            secret,
            delivery_id,
            body,
            self.timeout,
        )
        .await
    }
}

/// Why an answer was not a delivery, in words for the tenant.
pub(crate) fn refusal(kind: DestinationKind, status: u16) -> String {
    match kind {
        DestinationKind::Email => format!("the SMTP server answered {status}"),
        _ => format!("the receiver answered {status}"),
    }
}

/// How a test delivery went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestDelivery {
    /// The `X-HKS-Delivery` header it carried (for email, also the
    /// `Message-ID`'s left part).
    pub delivery_id: String,
    /// The kind of destination it went to.
    pub destination: DestinationKind,
    pub delivered: bool,
    /// The receiver's HTTP status, or the SMTP server's reply code, if it answered.
    pub status: Option<u16>,
    /// Why it was not delivered.
    pub error: Option<String>,
}

pub(crate) async fn send_test(
    sender: &Sender,
    destination: &Destination,
    project: &str,
    cronjob: Option<&str>,
) -> TestDelivery {
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
    match sender.send(destination, &alert, project, &id).await {
        Answer::Delivered(s) => TestDelivery {
            destination: destination.kind(),
            delivery_id: id,
            delivered: true,
            status: Some(s),
            error: None,
        },
        Answer::Refused(s) => TestDelivery {
            destination: destination.kind(),
            delivery_id: id,
            delivered: false,
            status: Some(s),
            error: Some(refusal(destination.kind(), s)),
        },
        Answer::Unreachable(e) => TestDelivery {
            destination: destination.kind(),
            delivery_id: id,
            delivered: false,
            status: None,
            error: Some(e),
        },
    }
}
