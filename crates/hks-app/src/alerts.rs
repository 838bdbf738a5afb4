//! The checks of alert settings' destinations that need the installation (where
//! it sends webhooks), shared by the API's alert settings and project files.
//! The rules' ranges need nothing: `hks_core::projectfile::check_alert_rules`.

use hks_core::Code;
use hks_core::problem::Problems;
use secrecy::{ExposeSecret, SecretString};

use crate::App;

/// A webhook URL this installation sends to; the URL is not repeated in the
/// problem (it is often a credential).
pub fn check_url(app: &App, p: &mut Problems, path: &str, url: &str) {
    if let Err(why) = hks_alerting::check_webhook_url(url, app.alerter().targets()) {
        p.push(path, Code::InvalidUrl, why.to_string(), why.hint());
    }
}

/// A webhook secret of the accepted length.
pub fn check_secret(p: &mut Problems, path: &str, secret: &SecretString) {
    let len = secret.expose_secret().chars().count();
    if !(hks_alerting::MIN_SECRET_LEN..=hks_alerting::MAX_SECRET_LEN).contains(&len) {
        p.push(
            path,
            Code::InvalidLength,
            format!(
                "must be {} to {} characters",
                hks_alerting::MIN_SECRET_LEN,
                hks_alerting::MAX_SECRET_LEN
            ),
            Some("for example 32 random characters; the receiver checks signatures with it"),
        );
    }
}

/// That this installation sends email (it names an SMTP server).
pub fn check_email_configured(app: &App, p: &mut Problems, path: &str) {
    if app.alerter().email().is_none() {
        no_email(p, path);
    }
}

/// The problem of an email destination where no SMTP server is named.
pub fn no_email(p: &mut Problems, path: &str) {
    p.push(
        path,
        Code::EmailNotConfigured,
        "this installation sends no email: it names no SMTP server",
        Some(
            "choose another destination, or ask the installation's operator to set \
             hks serve --smtp-url and --smtp-from",
        ),
    );
}

/// The recipients of an email destination: 1 to 20 plain addresses, none twice.
pub fn check_recipients(p: &mut Problems, to: Option<&[String]>, at: &str) {
    let to = to.unwrap_or_default();
    if to.is_empty() {
        p.push(
            at,
            Code::Required,
            "an email destination needs at least one address",
            Some("for example [\"ops@example.com\"]"),
        );
    }
    if to.len() > hks_alerting::MAX_RECIPIENTS {
        p.push(
            at,
            Code::OutOfRange,
            format!("at most {} addresses", hks_alerting::MAX_RECIPIENTS),
            Some("send to a mailing list's address instead"),
        );
    }
    let mut seen = std::collections::HashSet::new();
    for (i, address) in to.iter().enumerate() {
        let here = hks_core::problem::index(at, i);
        if let Err(why) = hks_alerting::email::parse_recipient(address) {
            p.push(&here, Code::InvalidEmail, why.to_string(), None);
        } else if !seen.insert(address.to_ascii_lowercase()) {
            p.push(&here, Code::DuplicateEmail, "is listed before", None);
        }
    }
}
