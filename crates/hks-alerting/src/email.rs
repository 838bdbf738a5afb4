//! Alerts by email, through the SMTP server the installation names
//! (`hks serve --smtp-url`): one message per alert, to every address of the
//! destination at once.
//!
//! The SMTP server is the installation's own configuration, trusted as such:
//! HKS connects to it as named, without the [`TargetPolicy`] that keeps
//! tenants' webhooks off private networks (tenants choose only the
//! recipients). Its credentials are secrets: `Debug` shows the server and
//! the sender only, and errors are told in fixed words.
//!
//! A message is the same on every attempt of a delivery: its `Message-ID`
//! is made from the delivery id, its `Date` is when the alert was raised,
//! and it is one plain-text part (no random boundary). SMTP has no
//! idempotency key, though: when the connection breaks after the server
//! took the message but before HKS read its answer, the next attempt sends
//! it again, and the recipients may get two copies with the same
//! `Message-ID` (many mail systems show them as one; none has to). Once the
//! server answered 2xx to the message, the delivery is done and never sent
//! again.
//!
//! [`TargetPolicy`]: crate::TargetPolicy

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hks_store::StoredAlert;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Mailboxes};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::delivery::Answer;
use crate::payload;

/// The most recipients one email destination has.
pub const MAX_RECIPIENTS: usize = 20;

/// How HKS talks to the SMTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text throughout (`smtp://`): for a relay on a trusted network.
    None,
    /// STARTTLS, required (`smtp://...?tls=required`): no message or
    /// credential is sent before the connection is encrypted.
    StartTls,
    /// TLS from the first byte (`smtps://`).
    Implicit,
}

/// Why the installation's SMTP settings cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadSmtp {
    #[error("--smtp-url must be smtp://HOST[:PORT] or smtps://HOST[:PORT]")]
    Url,
    #[error(
        "--smtp-url must not carry a user name or password; give them with --smtp-username and --smtp-password-file (or HKS_SMTP_PASSWORD)"
    )]
    CredentialsInUrl,
    #[error("--smtp-url: the query may only be tls=required or tls=none")]
    Query,
    #[error("--smtp-from must be an email address, such as 'HKS <alerts@example.com>'")]
    From,
    #[error("--smtp-from is needed with --smtp-url: the address alerts are sent from")]
    NoFrom,
    #[error("an SMTP user name needs a password, and a password a user name")]
    HalfCredentials,
    #[error(
        "SMTP credentials would cross the network in clear: use smtps:// or smtp://...?tls=required"
    )]
    CredentialsInClear,
    #[error("the SMTP client could not be set up")]
    Tls,
}

/// The installation's SMTP settings, as given to `hks serve`.
#[derive(Clone)]
pub struct SmtpSettings {
    /// `smtp://host[:port]` (plain, port 25; `?tls=required` for STARTTLS,
    /// port 587 then) or `smtps://host[:port]` (TLS, port 465).
    pub url: String,
    /// The sender, `alerts@example.com` or `HKS <alerts@example.com>`.
    pub from: String,
    pub username: Option<String>,
    pub password: Option<SecretString>,
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("url", &self.url)
            .field("from", &self.from)
            .field("credentials", &self.username.is_some())
            .finish()
    }
}

/// The installation's SMTP server, ready to send: cheap to clone.
#[derive(Clone)]
pub struct Email {
    inner: Arc<Inner>,
}

struct Inner {
    host: String,
    port: u16,
    tls: SmtpTls,
    from: Mailbox,
    timeout: Duration,
    mailer: AsyncSmtpTransport<Tokio1Executor>,
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the mailer: it holds the credentials.
        f.debug_struct("Email")
            .field("host", &self.inner.host)
            .field("port", &self.inner.port)
            .field("tls", &self.inner.tls)
            .field("from", &self.inner.from.email.to_string())
            .finish()
    }
}

impl Email {
    /// The SMTP server of `settings`; each conversation with it gives up
    /// after `timeout` without an answer.
    pub fn new(settings: &SmtpSettings, timeout: Duration) -> Result<Self, BadSmtp> {
        let url = Url::parse(&settings.url).map_err(|_| BadSmtp::Url)?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(BadSmtp::CredentialsInUrl);
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or(BadSmtp::Url)?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if !matches!(url.path(), "" | "/") || url.fragment().is_some() {
            return Err(BadSmtp::Url);
        }
        let mut tls = match url.scheme() {
            "smtp" => SmtpTls::None,
            "smtps" => SmtpTls::Implicit,
            _ => return Err(BadSmtp::Url),
        };
        for (key, value) in url.query_pairs() {
            match (&*key, &*value, tls) {
                ("tls", "required", SmtpTls::None | SmtpTls::StartTls) => tls = SmtpTls::StartTls,
                ("tls", "none", SmtpTls::None) => {}
                _ => return Err(BadSmtp::Query),
            }
        }
        let port = url.port().unwrap_or(match tls {
            SmtpTls::None => 25,
            SmtpTls::StartTls => 587,
            SmtpTls::Implicit => 465,
        });
        if settings.from.trim().is_empty() {
            return Err(BadSmtp::NoFrom);
        }
        let from = Mailbox::from_str(settings.from.trim()).map_err(|_| BadSmtp::From)?;
        let credentials = match (&settings.username, &settings.password) {
            (Some(user), Some(password)) => Some(Credentials::new(
                user.clone(),
                password.expose_secret().to_owned(),
            )),
            (None, None) => None,
            _ => return Err(BadSmtp::HalfCredentials),
        };
        if credentials.is_some() && tls == SmtpTls::None {
            return Err(BadSmtp::CredentialsInClear);
        }
        // lettre's rustls uses the process's provider: ring's, as reqwest.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let parameters = || TlsParameters::new(host.clone()).map_err(|_| BadSmtp::Tls);
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(port)
            .timeout(Some(timeout))
            .tls(match tls {
                SmtpTls::None => Tls::None,
                SmtpTls::StartTls => Tls::Required(parameters()?),
                SmtpTls::Implicit => Tls::Wrapper(parameters()?),
            });
        if let Some(credentials) = credentials {
            builder = builder.credentials(credentials);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                host,
                port,
                tls,
                from,
                timeout,
                mailer: builder.build(),
            }),
        })
    }

    /// The server as it may be logged: `host:port` and how it is secured.
    pub fn describe(&self) -> String {
        let tls = match self.inner.tls {
            SmtpTls::None => "no TLS",
            SmtpTls::StartTls => "STARTTLS",
            SmtpTls::Implicit => "TLS",
        };
        format!("{}:{} ({tls})", self.inner.host, self.inner.port)
    }

    /// The message of a delivery: the same bytes on every attempt.
    pub(crate) fn message(
        &self,
        alert: &StoredAlert,
        project: &str,
        delivery_id: &str,
        to: &[String],
    ) -> Result<Message, BadRecipient> {
        let mut builder = Message::builder()
            .from(self.inner.from.clone())
            .subject(payload::email_subject(alert, project))
            .date(SystemTime::from(alert.raised_at))
            .message_id(Some(message_id(delivery_id, &self.inner.from.email)))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("X-HKS-Delivery"),
                delivery_id.to_owned(),
            ))
            // RFC 3834: no out-of-office answers to HKS.
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-generated".to_owned(),
            ))
            .header(ContentType::TEXT_PLAIN);
        let mut recipients = Mailboxes::new();
        for address in to {
            recipients.push(Mailbox::new(None, parse_recipient(address)?));
        }
        builder = builder.mailbox(lettre::message::header::To::from(recipients));
        builder
            .body(payload::email_text(alert, project, delivery_id))
            .map_err(|_| BadRecipient)
    }

    /// Sends a delivery's message.
    pub(crate) async fn send(
        &self,
        alert: &StoredAlert,
        project: &str,
        delivery_id: &str,
        to: &[String],
    ) -> Answer {
        let Ok(message) = self.message(alert, project, delivery_id, to) else {
            return Answer::Unreachable("a recipient's address is not valid".into());
        };
        match self.inner.mailer.send(message).await {
            Ok(answer) => Answer::Delivered(code(answer.code())),
            Err(e) => {
                tracing::debug!(delivery = %delivery_id, error = %e, "An SMTP delivery failed.");
                match e.status() {
                    Some(status) => Answer::Refused(code(status)),
                    None if e.is_timeout() => Answer::Unreachable(format!(
                        "the SMTP server did not answer within {} s",
                        self.inner.timeout.as_secs_f64()
                    )),
                    None if e.is_tls() => {
                        Answer::Unreachable("the TLS connection to the SMTP server failed".into())
                    }
                    None => {
                        Answer::Unreachable("could not reach the installation's SMTP server".into())
                    }
                }
            }
        }
    }
}

/// An SMTP reply code as a number.
fn code(code: lettre::transport::smtp::response::Code) -> u16 {
    code.to_string().parse().unwrap_or(0)
}

/// A delivery's `Message-ID`: its id at the sender's domain, so that every
/// attempt of a delivery sends the same one and no two deliveries do.
pub fn message_id(delivery_id: &str, from: &Address) -> String {
    format!("<{delivery_id}@{}>", from.domain())
}

/// A recipient that is not an email address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be an email address such as ops@example.com")]
pub struct BadRecipient;

/// A recipient's address, as a destination may name it: a plain address
/// (`ops@example.com`, no display name), at most 254 characters.
pub fn parse_recipient(address: &str) -> Result<Address, BadRecipient> {
    if address.len() > 254 || address.trim() != address {
        return Err(BadRecipient);
    }
    Address::from_str(address).map_err(|_| BadRecipient)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str) -> SmtpSettings {
        SmtpSettings {
            url: url.into(),
            from: "HKS <alerts@hks.example.com>".into(),
            username: None,
            password: None,
        }
    }

    fn email(url: &str) -> Result<Email, BadSmtp> {
        Email::new(&settings(url), Duration::from_secs(5))
    }

    #[test]
    fn smtp_urls() {
        assert_eq!(
            email("smtp://127.0.0.1:2525").unwrap().describe(),
            "127.0.0.1:2525 (no TLS)"
        );
        assert_eq!(
            email("smtp://mail.example.com?tls=required")
                .unwrap()
                .describe(),
            "mail.example.com:587 (STARTTLS)"
        );
        assert_eq!(
            email("smtps://mail.example.com").unwrap().describe(),
            "mail.example.com:465 (TLS)"
        );
        assert_eq!(
            email("smtp://[::1]:25/").unwrap().describe(),
            "::1:25 (no TLS)"
        );
        for (bad, why) in [
            ("http://mail.example.com", BadSmtp::Url),
            ("mail.example.com:25", BadSmtp::Url),
            ("smtp://", BadSmtp::Url),
            ("smtp://mail.example.com/x", BadSmtp::Url),
            ("smtp://u:p@mail.example.com", BadSmtp::CredentialsInUrl),
            ("smtp://mail.example.com?tls=maybe", BadSmtp::Query),
            ("smtps://mail.example.com?tls=none", BadSmtp::Query),
        ] {
            assert_eq!(email(bad).err(), Some(why), "{bad}");
        }
    }

    #[test]
    fn senders_and_credentials() {
        let mut s = settings("smtp://mail.example.com");
        s.from = "not an address".into();
        assert_eq!(
            Email::new(&s, Duration::from_secs(1)).err(),
            Some(BadSmtp::From)
        );
        s.from = " ".into();
        assert_eq!(
            Email::new(&s, Duration::from_secs(1)).err(),
            Some(BadSmtp::NoFrom)
        );
        let mut s = settings("smtp://mail.example.com");
        s.username = Some("hks".into());
        assert_eq!(
            Email::new(&s, Duration::from_secs(1)).err(),
            Some(BadSmtp::HalfCredentials)
        );
        s.password = Some("Pa55word-in-the-secret".to_owned().into());
        assert_eq!(
            Email::new(&s, Duration::from_secs(1)).err(),
            Some(BadSmtp::CredentialsInClear)
        );
        s.url = "smtp://mail.example.com?tls=required".into();
        let email = Email::new(&s, Duration::from_secs(1)).unwrap();
        let shown = format!("{email:?} {s:?} {}", email.describe());
        assert!(!shown.contains("Pa55word"), "{shown}");
    }

    #[test]
    fn a_message_is_the_same_on_every_attempt() {
        let email = email("smtp://127.0.0.1:2525").unwrap();
        let alert = StoredAlert {
            id: "a1".into(),
            project_id: "p1".into(),
            cronjob: "report".into(),
            key: "failed:report-1".into(),
            kind: "failed".into(),
            subject: "report-1".into(),
            summary: "Run report-1 failed (BackoffLimitExceeded)".into(),
            raised_at: "2025-01-01T09:00:00Z".parse().unwrap(),
        };
        let to = [
            "ops@example.com".to_owned(),
            "oncall@example.org".to_owned(),
        ];
        let one = email.message(&alert, "shop", "d0123", &to).unwrap();
        let two = email.message(&alert, "shop", "d0123", &to).unwrap();
        assert_eq!(one.formatted(), two.formatted());
        let text = String::from_utf8(one.formatted()).unwrap();
        insta::assert_snapshot!("email_message", text);
        assert_eq!(one.envelope().to().len(), 2);
        assert_eq!(
            email
                .message(&alert, "shop", "d0123", &["not-an-address".into()])
                .err(),
            Some(BadRecipient)
        );
    }

    #[test]
    fn recipients() {
        for good in ["ops@example.com", "a.b+alerts@sub.example.org"] {
            assert!(parse_recipient(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "ops",
            "ops@",
            "@example.com",
            " ops@example.com",
            "Ops <ops@example.com>",
            "a@b@c",
            "ops@example.com\r\nBcc: x@example.com",
        ] {
            assert_eq!(parse_recipient(bad), Err(BadRecipient), "{bad}");
        }
        assert!(parse_recipient(&format!("{}@example.com", "a".repeat(250))).is_err());
    }
}
