//! The checks of alert settings' webhooks that need the installation (where
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
