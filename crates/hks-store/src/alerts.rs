//! Alerts: the settings of a project or a CronJob (rules and where alerts
//! go), the alerts raised, and their deliveries.
//!
//! Raising is idempotent: an alert is unique per CronJob by its key (see
//! [`hks_history::alerts`]), and its delivery is inserted in the same
//! transaction, so an alert raised twice is stored and delivered once.
//! Where alerts go ([`Destination`]: a signed webhook, a Slack or Teams
//! incoming webhook, email) is sealed like cluster credentials (a URL often
//! carries a credential in its path or query, and a Slack or Teams URL is
//! one; email addresses are personal data); a delivery keeps its own sealed
//! copy, so later changes to the settings do not touch deliveries already
//! on their way.
//!
//! A delivery is claimed before it is sent: the claim counts the attempt and
//! pushes `next_attempt_at` past the request's timeout, so a delivery that
//! was in flight when HKS stopped becomes due again (at least once; the
//! receiver drops duplicates by the delivery id).

use hks_core::projectfile::SecretSource;
use hks_history::alerts::{Alert, AlertRules};
use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Store, StoreError, crypto, q, ts};

/// Where alerts go: a URL and the secret that signs the deliveries. Both
/// are secrets: `Debug` shows neither.
#[derive(Clone)]
pub struct Webhook {
    pub url: String,
    pub secret: SecretString,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Webhook(..)")
    }
}

/// A webhook for [`Store::put_alert_settings`]; a URL or secret left out
/// keeps the stored one.
#[derive(Clone, Default)]
pub struct WebhookUpdate {
    pub url: Option<String>,
    pub secret: Option<SecretString>,
    /// Where a project file said to read them; replaces the stored ones.
    pub sources: WebhookSources,
}

/// Where a project file said to read a webhook's URL and secret (never the
/// values); none when they were set through the API.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookSources {
    pub url: Option<SecretSource>,
    pub secret: Option<SecretSource>,
}

impl std::fmt::Debug for WebhookUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookUpdate(..)")
    }
}

/// The kinds of [`Destination`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DestinationKind {
    /// HKS's own JSON, signed with the webhook's secret.
    Webhook,
    /// A Slack-compatible incoming webhook.
    Slack,
    /// A Microsoft Teams incoming webhook (a Workflows trigger).
    Teams,
    /// Email through the installation's SMTP server.
    Email,
}

impl DestinationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Slack => "slack",
            Self::Teams => "teams",
            Self::Email => "email",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "webhook" => Ok(Self::Webhook),
            "slack" => Ok(Self::Slack),
            "teams" => Ok(Self::Teams),
            "email" => Ok(Self::Email),
            _ => Err(corrupt("destination kind")),
        }
    }
}

/// Where alerts go. Every kind holds a credential (a URL, a secret) or
/// personal data (email addresses): `Debug` shows the kind only.
#[derive(Clone, PartialEq, Eq)]
pub enum Destination {
    /// HKS's own JSON, signed.
    Webhook(Webhook),
    /// A Slack-compatible incoming webhook; its URL is its credential.
    Slack { url: String },
    /// A Microsoft Teams incoming webhook; its URL is its credential.
    Teams { url: String },
    /// Email to these addresses (at least one), through the installation's
    /// SMTP server.
    Email { to: Vec<String> },
}

impl Destination {
    pub fn kind(&self) -> DestinationKind {
        match self {
            Self::Webhook(_) => DestinationKind::Webhook,
            Self::Slack { .. } => DestinationKind::Slack,
            Self::Teams { .. } => DestinationKind::Teams,
            Self::Email { .. } => DestinationKind::Email,
        }
    }

    /// The URL requests go to (not for email).
    pub fn url(&self) -> Option<&str> {
        match self {
            Self::Webhook(w) => Some(&w.url),
            Self::Slack { url } | Self::Teams { url } => Some(url),
            Self::Email { .. } => None,
        }
    }

    /// The signed webhook, if this is one.
    pub fn webhook(&self) -> Option<&Webhook> {
        match self {
            Self::Webhook(w) => Some(w),
            _ => None,
        }
    }
}

impl std::fmt::Debug for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Destination({})", self.kind().as_str())
    }
}

impl PartialEq for Webhook {
    fn eq(&self, other: &Self) -> bool {
        self.url == other.url && self.secret.expose_secret() == other.secret.expose_secret()
    }
}

impl Eq for Webhook {}

/// A destination other than a webhook, as it is sealed (the webhook keeps
/// its own columns, as before there were other kinds).
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Sealed {
    Slack { url: String },
    Teams { url: String },
    Email { to: Vec<String> },
}

impl Sealed {
    fn of(d: &Destination) -> Option<Self> {
        match d {
            Destination::Webhook(_) => None,
            Destination::Slack { url } => Some(Self::Slack { url: url.clone() }),
            Destination::Teams { url } => Some(Self::Teams { url: url.clone() }),
            Destination::Email { to } => Some(Self::Email { to: to.clone() }),
        }
    }

    fn into_destination(self) -> Destination {
        match self {
            Self::Slack { url } => Destination::Slack { url },
            Self::Teams { url } => Destination::Teams { url },
            Self::Email { to } => Destination::Email { to },
        }
    }
}

/// A destination for [`Store::put_alert_settings`]. A URL or secret left
/// out keeps the stored one, if the stored destination is of the same kind.
#[derive(Clone)]
pub enum DestinationUpdate {
    Webhook(WebhookUpdate),
    /// `url_source`: where the last project file applied said to read the URL.
    Slack {
        url: Option<String>,
        url_source: Option<SecretSource>,
    },
    Teams {
        url: Option<String>,
        url_source: Option<SecretSource>,
    },
    Email {
        to: Vec<String>,
    },
}

impl DestinationUpdate {
    pub fn kind(&self) -> DestinationKind {
        match self {
            Self::Webhook(_) => DestinationKind::Webhook,
            Self::Slack { .. } => DestinationKind::Slack,
            Self::Teams { .. } => DestinationKind::Teams,
            Self::Email { .. } => DestinationKind::Email,
        }
    }
}

impl From<WebhookUpdate> for DestinationUpdate {
    fn from(w: WebhookUpdate) -> Self {
        Self::Webhook(w)
    }
}

impl std::fmt::Debug for DestinationUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DestinationUpdate({})", self.kind().as_str())
    }
}

/// The alert settings of a project (its default) or of one CronJob.
#[derive(Debug, Clone)]
pub struct AlertSettings {
    pub project_id: String,
    /// `None` for the project's default.
    pub cronjob: Option<String>,
    pub rules: AlertRules,
    /// `None`: alerts are recorded, not sent.
    pub destination: Option<Destination>,
    /// Where the last project file applied said to read the destination's
    /// values (a Slack or Teams webhook has only a URL).
    pub sources: WebhookSources,
    pub updated_at: Timestamp,
}

impl AlertSettings {
    /// The signed webhook, if alerts go to one.
    pub fn webhook(&self) -> Option<&Webhook> {
        self.destination.as_ref().and_then(Destination::webhook)
    }
}

/// An alert as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAlert {
    pub id: String,
    pub project_id: String,
    pub cronjob: String,
    pub key: String,
    /// [`hks_history::alerts::AlertKind`] in camelCase (`failed`, `recovered` ...).
    pub kind: String,
    pub subject: String,
    pub summary: String,
    pub raised_at: Timestamp,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "pending" => Ok(Self::Pending),
            "delivered" => Ok(Self::Delivered),
            "failed" => Ok(Self::Failed),
            _ => Err(corrupt("delivery state")),
        }
    }
}

/// A delivery's progress, without where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryStatus {
    pub id: String,
    pub kind: DestinationKind,
    pub state: DeliveryState,
    pub attempts: u32,
    pub next_attempt_at: Option<Timestamp>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub delivered_at: Option<Timestamp>,
}

/// An alert with its delivery (none when no destination was configured).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRecord {
    pub alert: StoredAlert,
    pub delivery: Option<DeliveryStatus>,
}

/// A delivery claimed for one attempt. `Debug` leaves out where it goes.
pub struct DeliveryJob {
    pub id: String,
    /// The attempt being made, 1-based.
    pub attempt: u32,
    pub destination: Destination,
    pub alert: StoredAlert,
    /// The project's name (the alert stores its id).
    pub project: String,
    /// The tenant the project is of.
    pub tenant_id: String,
}

impl std::fmt::Debug for DeliveryJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryJob")
            .field("id", &self.id)
            .field("attempt", &self.attempt)
            .field("destination", &self.destination)
            .field("alert", &self.alert)
            .field("project", &self.project)
            .field("tenant_id", &self.tenant_id)
            .finish_non_exhaustive()
    }
}

/// How an attempt ended, for [`Store::finish_attempt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptResult {
    Delivered {
        status: u16,
    },
    /// Not delivered; tried again at `next`, or given up when `None`.
    NotDelivered {
        status: Option<u16>,
        error: String,
        next: Option<Timestamp>,
    },
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Query(sqlx::Error::ColumnDecode {
        index: what.into(),
        source: "unexpected value".into(),
    })
}

pub(crate) fn settings_context(project_id: &str, cronjob: &str) -> String {
    format!("alert-settings:{project_id}/{cronjob}")
}

pub(crate) fn settings_url_context(project_id: &str, cronjob: &str) -> String {
    format!("alert-settings-url:{project_id}/{cronjob}")
}

pub(crate) fn delivery_context(id: &str) -> String {
    format!("delivery:{id}")
}

pub(crate) fn delivery_url_context(id: &str) -> String {
    format!("delivery-url:{id}")
}

pub(crate) fn settings_destination_context(project_id: &str, cronjob: &str) -> String {
    format!("alert-settings-destination:{project_id}/{cronjob}")
}

pub(crate) fn delivery_destination_context(id: &str) -> String {
    format!("delivery-destination:{id}")
}

/// Opens a sealed value that is text.
fn open_text(store: &Store, context: &str, sealed: &[u8]) -> Result<String> {
    String::from_utf8(store.key.open(context, sealed)?).map_err(|_| StoreError::Crypto)
}

fn millis(t: Timestamp) -> i64 {
    t.as_millisecond()
}

fn from_millis(ms: i64) -> Result<Timestamp> {
    Timestamp::from_millisecond(ms).map_err(|_| corrupt("timestamp"))
}

fn opt_ts(row: &AnyRow, col: &str) -> Result<Option<Timestamp>> {
    let s: Option<String> = row.try_get(col).map_err(q)?;
    s.map(|s| s.parse().map_err(|_| corrupt(col))).transpose()
}

fn alert_row(r: &AnyRow) -> Result<StoredAlert> {
    Ok(StoredAlert {
        id: r.try_get("id").map_err(q)?,
        project_id: r.try_get("project_id").map_err(q)?,
        cronjob: r.try_get("cronjob").map_err(q)?,
        key: r.try_get("key").map_err(q)?,
        kind: r.try_get("kind").map_err(q)?,
        subject: r.try_get("subject").map_err(q)?,
        summary: r.try_get("summary").map_err(q)?,
        raised_at: ts(r, "raised_at")?,
    })
}

/// The most alerts [`Store::prune_alerts`] deletes in one statement.
const PRUNE_BATCH: u32 = 500;

/// The longest error text kept per delivery.
const MAX_ERROR_LEN: usize = 500;

/// The destination an update stores, given the one stored now: a URL or
/// secret left out is kept from a stored destination of the same kind.
fn merged(update: &DestinationUpdate, stored: Option<Destination>) -> Result<Destination> {
    let keep = |url: &Option<String>, stored_url: Option<String>| {
        url.clone().or(stored_url).ok_or(StoreError::NotFound)
    };
    Ok(match (update, stored) {
        (DestinationUpdate::Webhook(w), stored) => {
            let stored = stored.and_then(|d| match d {
                Destination::Webhook(w) => Some(w),
                _ => None,
            });
            let (stored_url, stored_secret) = match stored {
                Some(s) => (Some(s.url), Some(s.secret)),
                None => (None, None),
            };
            Destination::Webhook(Webhook {
                url: keep(&w.url, stored_url)?,
                secret: w
                    .secret
                    .clone()
                    .or(stored_secret)
                    .ok_or(StoreError::NotFound)?,
            })
        }
        (DestinationUpdate::Slack { url, .. }, stored) => Destination::Slack {
            url: keep(
                url,
                match stored {
                    Some(Destination::Slack { url }) => Some(url),
                    _ => None,
                },
            )?,
        },
        (DestinationUpdate::Teams { url, .. }, stored) => Destination::Teams {
            url: keep(
                url,
                match stored {
                    Some(Destination::Teams { url }) => Some(url),
                    _ => None,
                },
            )?,
        },
        (DestinationUpdate::Email { to }, _) => Destination::Email { to: to.clone() },
    })
}

fn capped(error: &str) -> String {
    if error.len() <= MAX_ERROR_LEN {
        return error.to_owned();
    }
    let mut end = MAX_ERROR_LEN;
    while !error.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &error[..end])
}

/// Opens a sealed destination other than a webhook.
fn open_destination(store: &Store, context: &str, sealed: &[u8]) -> Result<Destination> {
    let plain = store.key.open(context, sealed)?;
    let sealed: Sealed = serde_json::from_slice(&plain).map_err(StoreError::Corrupt)?;
    Ok(sealed.into_destination())
}

/// Seals a destination other than a webhook (`None` for a webhook).
fn seal_destination(store: &Store, context: &str, d: &Destination) -> Result<Option<Vec<u8>>> {
    Sealed::of(d)
        .map(|sealed| {
            let json = serde_json::to_vec(&sealed).map_err(StoreError::Corrupt)?;
            store.key.seal(context, &json)
        })
        .transpose()
}

impl Store {
    fn settings_row(&self, r: &AnyRow) -> Result<AlertSettings> {
        let project_id: String = r.try_get("project_id").map_err(q)?;
        let cronjob: String = r.try_get("cronjob").map_err(q)?;
        let rules: String = r.try_get("rules").map_err(q)?;
        let url: Option<Vec<u8>> = r.try_get("webhook_url").map_err(q)?;
        let sealed: Option<Vec<u8>> = r.try_get("webhook_secret").map_err(q)?;
        let other: Option<Vec<u8>> = r.try_get("destination").map_err(q)?;
        let destination = match (url, sealed, other) {
            (Some(url), Some(sealed), None) => Some(Destination::Webhook(Webhook {
                url: open_text(self, &settings_url_context(&project_id, &cronjob), &url)?,
                secret: open_text(self, &settings_context(&project_id, &cronjob), &sealed)?.into(),
            })),
            (None, None, Some(other)) => Some(open_destination(
                self,
                &settings_destination_context(&project_id, &cronjob),
                &other,
            )?),
            (None, None, None) => None,
            _ => return Err(corrupt("alert destination")),
        };
        let source = |column: &str| -> Result<Option<SecretSource>> {
            let text: Option<String> = r.try_get(column).map_err(q)?;
            text.map(|t| serde_json::from_str(&t).map_err(StoreError::Corrupt))
                .transpose()
        };
        let sources = WebhookSources {
            url: source("webhook_url_source")?,
            secret: source("webhook_secret_source")?,
        };
        Ok(AlertSettings {
            sources: match destination {
                Some(Destination::Webhook(_)) => sources,
                Some(Destination::Slack { .. } | Destination::Teams { .. }) => WebhookSources {
                    url: sources.url,
                    secret: None,
                },
                _ => WebhookSources::default(),
            },
            rules: serde_json::from_str(&rules).map_err(StoreError::Corrupt)?,
            cronjob: (!cronjob.is_empty()).then_some(cronjob),
            project_id,
            destination,
            updated_at: ts(r, "updated_at")?,
        })
    }

    /// The settings of a project (`cronjob: None`) or of one CronJob, if set.
    pub async fn alert_settings(
        &self,
        project_id: &str,
        cronjob: Option<&str>,
    ) -> Result<Option<AlertSettings>> {
        let row =
            sqlx::query("SELECT * FROM alert_settings WHERE project_id = $1 AND cronjob = $2")
                .bind(project_id)
                .bind(cronjob.unwrap_or(""))
                .fetch_optional(&self.pool)
                .await
                .map_err(q)?;
        row.map(|r| self.settings_row(&r)).transpose()
    }

    /// Every alert settings of a project: its default first, then each
    /// CronJob's own, by name.
    pub async fn list_alert_settings(&self, project_id: &str) -> Result<Vec<AlertSettings>> {
        let rows =
            sqlx::query("SELECT * FROM alert_settings WHERE project_id = $1 ORDER BY cronjob")
                .bind(project_id)
                .fetch_all(&self.pool)
                .await
                .map_err(q)?;
        rows.iter().map(|r| self.settings_row(r)).collect()
    }

    /// The settings that apply to a CronJob: its own, else the project's default.
    pub async fn effective_alert_settings(
        &self,
        project_id: &str,
        cronjob: &str,
    ) -> Result<Option<AlertSettings>> {
        let row = sqlx::query(
            "SELECT * FROM alert_settings WHERE project_id = $1 AND cronjob IN ($2, '') \
             ORDER BY cronjob = '' LIMIT 1",
        )
        .bind(project_id)
        .bind(cronjob)
        .fetch_optional(&self.pool)
        .await
        .map_err(q)?;
        row.map(|r| self.settings_row(&r)).transpose()
    }

    /// Creates or replaces the settings of a project (`cronjob: None`) or of
    /// a CronJob. A destination without a URL or a secret keeps the stored
    /// one, when the stored destination is of the same kind; the caller
    /// makes sure there is one ([`StoreError::NotFound`] otherwise).
    pub async fn put_alert_settings(
        &self,
        project_id: &str,
        cronjob: Option<&str>,
        rules: &AlertRules,
        destination: Option<&DestinationUpdate>,
    ) -> Result<AlertSettings> {
        let cronjob_key = cronjob.unwrap_or("");
        let rules_json = serde_json::to_string(rules).map_err(StoreError::Corrupt)?;
        let mut tx = self.write_tx().await?;
        // What is left out is kept: read under the write lock, so the
        // destination kept is the one replaced.
        let stored = match destination {
            None => None,
            Some(_) => {
                sqlx::query("SELECT * FROM alert_settings WHERE project_id = $1 AND cronjob = $2")
                    .bind(project_id)
                    .bind(cronjob_key)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(q)?
                    .map(|r| self.settings_row(&r))
                    .transpose()?
                    .and_then(|s| s.destination)
            }
        };
        let update = destination;
        let destination = destination.map(|d| merged(d, stored)).transpose()?;
        let (url, secret, other) = match &destination {
            None => (None, None, None),
            Some(Destination::Webhook(w)) => (
                Some(self.key.seal(
                    &settings_url_context(project_id, cronjob_key),
                    w.url.as_bytes(),
                )?),
                Some(self.key.seal(
                    &settings_context(project_id, cronjob_key),
                    w.secret.expose_secret().as_bytes(),
                )?),
                None,
            ),
            Some(d) => (
                None,
                None,
                seal_destination(
                    self,
                    &settings_destination_context(project_id, cronjob_key),
                    d,
                )?,
            ),
        };
        let source = |s: Option<&SecretSource>| {
            s.map(serde_json::to_string)
                .transpose()
                .map_err(StoreError::Corrupt)
        };
        let (url_source, secret_source) = match update {
            Some(DestinationUpdate::Webhook(w)) => {
                (w.sources.url.as_ref(), w.sources.secret.as_ref())
            }
            Some(
                DestinationUpdate::Slack { url_source, .. }
                | DestinationUpdate::Teams { url_source, .. },
            ) => (url_source.as_ref(), None),
            _ => (None, None),
        };
        let url_source = source(url_source)?;
        let secret_source = source(secret_source)?;
        sqlx::query(
            "INSERT INTO alert_settings (project_id, cronjob, rules, webhook_url, webhook_secret, destination, \
               webhook_url_source, webhook_secret_source, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (project_id, cronjob) DO UPDATE SET rules = excluded.rules, \
               webhook_url = excluded.webhook_url, webhook_secret = excluded.webhook_secret, \
               destination = excluded.destination, \
               webhook_url_source = excluded.webhook_url_source, \
               webhook_secret_source = excluded.webhook_secret_source, \
               updated_at = excluded.updated_at",
        )
        .bind(project_id)
        .bind(cronjob_key)
        .bind(rules_json)
        .bind(url)
        .bind(secret)
        .bind(other)
        .bind(url_source)
        .bind(secret_source)
        .bind(Timestamp::now().to_string())
        .execute(&mut *tx)
        .await
        .map_err(q)?;
        tx.commit().await.map_err(q)?;
        self.alert_settings(project_id, cronjob)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Removes the settings of a project or a CronJob; whether there were any.
    pub async fn delete_alert_settings(
        &self,
        project_id: &str,
        cronjob: Option<&str>,
    ) -> Result<bool> {
        let r = sqlx::query("DELETE FROM alert_settings WHERE project_id = $1 AND cronjob = $2")
            .bind(project_id)
            .bind(cronjob.unwrap_or(""))
            .execute(&self.pool)
            .await
            .map_err(q)?;
        Ok(r.rows_affected() > 0)
    }

    /// Records `alert` for a CronJob, and a pending delivery to
    /// `destination` if given, in one transaction. `None` when the alert was
    /// raised before (its key is known): nothing is stored or delivered again.
    pub async fn raise_alert(
        &self,
        project_id: &str,
        cronjob: &str,
        alert: &Alert,
        raised_at: Timestamp,
        destination: Option<&Destination>,
    ) -> Result<Option<StoredAlert>> {
        let id = crypto::random_id(12)?;
        let kind = serde_json::to_value(alert.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .ok_or_else(|| corrupt("alert kind"))?;
        let mut tx = self.write_tx().await?;
        let inserted = sqlx::query(
            "INSERT INTO alerts (id, project_id, cronjob, key, kind, subject, summary, raised_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (project_id, cronjob, key) DO NOTHING",
        )
        .bind(&id)
        .bind(project_id)
        .bind(cronjob)
        .bind(&alert.key)
        .bind(&kind)
        .bind(&alert.subject)
        .bind(&alert.summary)
        .bind(raised_at.to_string())
        .execute(&mut *tx)
        .await
        .map_err(q)?
        .rows_affected()
            == 1;
        if !inserted {
            return Ok(None);
        }
        if let Some(d) = destination {
            let delivery = crypto::random_id(16)?;
            let (url, secret) = match d {
                Destination::Webhook(w) => (
                    Some(
                        self.key
                            .seal(&delivery_url_context(&delivery), w.url.as_bytes())?,
                    ),
                    Some(self.key.seal(
                        &delivery_context(&delivery),
                        w.secret.expose_secret().as_bytes(),
                    )?),
                ),
                _ => (None, None),
            };
            let other = seal_destination(self, &delivery_destination_context(&delivery), d)?;
            sqlx::query(
                "INSERT INTO deliveries (id, alert_id, kind, url, secret, destination, state, attempts, next_attempt_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7)",
            )
            .bind(&delivery)
            .bind(&id)
            .bind(d.kind().as_str())
            .bind(url)
            .bind(secret)
            .bind(other)
            .bind(millis(raised_at))
            .execute(&mut *tx)
            .await
            .map_err(q)?;
        }
        tx.commit().await.map_err(q)?;
        Ok(Some(StoredAlert {
            id,
            project_id: project_id.to_owned(),
            cronjob: cronjob.to_owned(),
            key: alert.key.clone(),
            kind,
            subject: alert.subject.clone(),
            summary: alert.summary.clone(),
            raised_at,
        }))
    }

    /// A project's alerts (one CronJob's if given), newest first, with their
    /// deliveries.
    pub async fn alert_history(
        &self,
        project_id: &str,
        cronjob: Option<&str>,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<AlertRecord>> {
        let rows = sqlx::query(
            "SELECT a.*, d.id AS d_id, d.kind AS d_kind, d.state, d.attempts, d.next_attempt_at, \
                    d.last_status, d.last_error, d.delivered_at \
             FROM alerts a LEFT JOIN deliveries d ON d.alert_id = a.id \
             WHERE a.project_id = $1 AND ($2 IS NULL OR a.cronjob = $3) \
             ORDER BY a.seq DESC LIMIT $4 OFFSET $5",
        )
        .bind(project_id)
        .bind(cronjob)
        .bind(cronjob)
        .bind(i64::from(limit))
        .bind(i64::from(offset))
        .fetch_all(&self.pool)
        .await
        .map_err(q)?;
        rows.iter()
            .map(|r| {
                let delivery_id: Option<String> = r.try_get("d_id").map_err(q)?;
                let delivery = match delivery_id {
                    None => None,
                    Some(id) => {
                        let state: String = r.try_get("state").map_err(q)?;
                        let next: Option<i64> = r.try_get("next_attempt_at").map_err(q)?;
                        let status: Option<i64> = r.try_get("last_status").map_err(q)?;
                        let attempts: i64 = r.try_get("attempts").map_err(q)?;
                        let state = DeliveryState::parse(&state)?;
                        let kind: String = r.try_get("d_kind").map_err(q)?;
                        Some(DeliveryStatus {
                            id,
                            kind: DestinationKind::parse(&kind)?,
                            state,
                            attempts: u32::try_from(attempts).map_err(|_| corrupt("attempts"))?,
                            next_attempt_at: match (state, next) {
                                (DeliveryState::Pending, Some(ms)) => Some(from_millis(ms)?),
                                _ => None,
                            },
                            last_status: status.and_then(|s| u16::try_from(s).ok()),
                            last_error: r.try_get("last_error").map_err(q)?,
                            delivered_at: opt_ts(r, "delivered_at")?,
                        })
                    }
                };
                Ok(AlertRecord {
                    alert: alert_row(r)?,
                    delivery,
                })
            })
            .collect()
    }

    /// Claims up to `limit` deliveries due at `now` for one attempt each:
    /// counts the attempt and makes them due again at `lease_until` (after
    /// the attempt's timeout), so an attempt cut short by a crash is retried.
    pub async fn claim_due_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<DeliveryJob>> {
        self.claim_due_deliveries_of(None, now, lease_until, limit)
            .await
    }

    /// [`Store::claim_due_deliveries`] of the alerts of `tenants` only
    /// (those this replica owns, `crate::ownership`), or of every tenant
    /// when `None`.
    pub async fn claim_due_deliveries_of(
        &self,
        tenants: Option<&[String]>,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<DeliveryJob>> {
        // Numbered parameters from $4 on, one per tenant: one SQL text for
        // both backends.
        let of_tenants = match tenants {
            None => String::new(),
            Some([]) => return Ok(Vec::new()),
            Some(ids) => {
                let params: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 4)).collect();
                format!(
                    " AND alert_id IN (SELECT a.id FROM alerts a JOIN projects p ON p.id = a.project_id \
                       WHERE p.tenant_id IN ({}))",
                    params.join(", ")
                )
            }
        };
        // In a writing transaction: replicas that claim at once take turns,
        // so each claims what the one before left due (PostgreSQL would let
        // both select the same rows in the subquery). The outer condition
        // says again what due means, for the row as it is when updated.
        let mut tx = self.write_tx().await?;
        let sql = format!(
            "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = $1 \
             WHERE id IN (SELECT id FROM deliveries WHERE state = 'pending' AND next_attempt_at <= $2{of_tenants} \
                          ORDER BY next_attempt_at LIMIT $3) \
               AND state = 'pending' AND next_attempt_at <= $2 \
             RETURNING id, attempts, kind, url, secret, destination, alert_id"
        );
        let mut query = sqlx::query(&sql)
            .bind(millis(lease_until))
            .bind(millis(now))
            .bind(i64::from(limit));
        for id in tenants.unwrap_or_default() {
            query = query.bind(id);
        }
        let rows = query.fetch_all(&mut *tx).await.map_err(q)?;
        tx.commit().await.map_err(q)?;
        let mut jobs = Vec::with_capacity(rows.len());
        for r in rows {
            let id: String = r.try_get("id").map_err(q)?;
            let attempts: i64 = r.try_get("attempts").map_err(q)?;
            let alert_id: String = r.try_get("alert_id").map_err(q)?;
            let kind: String = r.try_get("kind").map_err(q)?;
            let destination = match DestinationKind::parse(&kind)? {
                DestinationKind::Webhook => {
                    let url: Vec<u8> = r.try_get("url").map_err(q)?;
                    let secret: Vec<u8> = r.try_get("secret").map_err(q)?;
                    Destination::Webhook(Webhook {
                        url: open_text(self, &delivery_url_context(&id), &url)?,
                        secret: open_text(self, &delivery_context(&id), &secret)?.into(),
                    })
                }
                kind => {
                    let sealed: Vec<u8> = r.try_get("destination").map_err(q)?;
                    let d = open_destination(self, &delivery_destination_context(&id), &sealed)?;
                    if d.kind() != kind {
                        return Err(corrupt("delivery destination"));
                    }
                    d
                }
            };
            let row = sqlx::query(
                "SELECT a.*, p.name AS project_name, p.tenant_id AS tenant_id FROM alerts a JOIN projects p ON p.id = a.project_id \
                 WHERE a.id = $1",
            )
            .bind(&alert_id)
            .fetch_one(&self.pool)
            .await
            .map_err(q)?;
            jobs.push(DeliveryJob {
                attempt: u32::try_from(attempts).map_err(|_| corrupt("attempts"))?,
                destination,
                alert: alert_row(&row)?,
                project: row.try_get("project_name").map_err(q)?,
                tenant_id: row.try_get("tenant_id").map_err(q)?,
                id,
            });
        }
        Ok(jobs)
    }

    /// Records how attempt `attempt` of a delivery ended. A delivery that is
    /// no longer pending (delivered by an earlier attempt) is left alone.
    pub async fn finish_attempt(&self, id: &str, result: &AttemptResult) -> Result<()> {
        let query = match result {
            AttemptResult::Delivered { status } => sqlx::query(
                "UPDATE deliveries SET state = 'delivered', last_status = $1, last_error = NULL, \
                 next_attempt_at = NULL, delivered_at = $2 WHERE id = $3 AND state = 'pending'",
            )
            .bind(i64::from(*status))
            .bind(Timestamp::now().to_string()),
            AttemptResult::NotDelivered {
                status,
                error,
                next,
            } => sqlx::query(
                "UPDATE deliveries SET state = $1, last_status = $2, last_error = $3, next_attempt_at = $4 \
                 WHERE id = $5 AND state = 'pending'",
            )
            .bind(if next.is_some() { "pending" } else { "failed" })
            .bind(status.map(i64::from))
            .bind(capped(error))
            .bind(next.map(millis)),
        };
        query.bind(id).execute(&self.pool).await.map_err(q)?;
        Ok(())
    }

    /// Forgets a project's old alerts with their deliveries: those raised
    /// before `before`, and all but the newest `keep` of each CronJob.
    /// An alert whose delivery is still pending stays (it is still to be
    /// sent), and so does one about a run that has not ended (forgetting
    /// it would raise it again). Deletes in batches (of 500), each
    /// its own statement, so a large prune never holds the write lock long.
    /// Returns how many alerts went.
    pub async fn prune_alerts(
        &self,
        project_id: &str,
        before: Option<Timestamp>,
        keep: Option<u32>,
    ) -> Result<usize> {
        let mut total = 0;
        loop {
            let deleted = sqlx::query(
                "DELETE FROM alerts WHERE seq IN ( \
                   SELECT a.seq FROM ( \
                     SELECT seq, id, project_id, cronjob, subject, raised_at, \
                            row_number() OVER (PARTITION BY cronjob ORDER BY seq DESC) AS newest \
                     FROM alerts WHERE project_id = $1) a \
                   WHERE (a.raised_at < $2 OR a.newest > $3) \
                     AND NOT EXISTS (SELECT 1 FROM deliveries d \
                                     WHERE d.alert_id = a.id AND d.state = 'pending') \
                     AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.project_id = a.project_id \
                                     AND r.cronjob = a.cronjob AND r.name = a.subject AND r.final = 0) \
                   LIMIT $4)",
            )
            .bind(project_id)
            // Whole seconds, so the text compares in time order with any
            // stored fraction (a second's difference does not matter here).
            .bind(before.map(|t| Timestamp::from_second(t.as_second()).unwrap_or(t).to_string()))
            .bind(keep.map(i64::from))
            .bind(i64::from(PRUNE_BATCH))
            .execute(&self.pool)
            .await
            .map_err(q)?
            .rows_affected();
            total += usize::try_from(deleted).unwrap_or(usize::MAX);
            if deleted < u64::from(PRUNE_BATCH) {
                return Ok(total);
            }
            // Let other writers in between batches.
            tokio::task::yield_now().await;
        }
    }

    /// The earliest time a pending delivery is due, if any (for the worker's sleep).
    pub async fn next_delivery_due(&self) -> Result<Option<Timestamp>> {
        let ms: Option<i64> = sqlx::query_scalar(
            "SELECT min(next_attempt_at) FROM deliveries WHERE state = 'pending'",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(q)?;
        ms.map(from_millis).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::backends;
    use hks_history::alerts::AlertKind;

    fn failed(run: &str) -> Alert {
        Alert {
            key: format!("failed:{run}"),
            kind: AlertKind::Failed,
            subject: run.into(),
            summary: format!("Run {run} failed"),
        }
    }

    async fn project(s: &Store) -> crate::Project {
        let cluster = serde_json::from_value(serde_json::json!({"kind": "kubeconfig", "kubeconfig": "apiVersion: v1\nkind: Config\n"})).unwrap();
        let t = s.create_tenant("acme", &cluster).await.unwrap();
        s.create_project(&t.id, "shop").await.unwrap()
    }

    backends! {
    /// Where a project file said to read a webhook's values is kept beside
    /// them, replaced by every write (none through the API), and listed
    /// with every settings of the project.
    async fn webhook_sources_are_kept_and_listed(db) {
        let s = db.store().await;
        let p = project(&s).await;
        let from_file = WebhookUpdate {
            url: Some("https://hooks.example.com/a".into()),
            secret: Some("0123456789abcdef".to_owned().into()),
            sources: WebhookSources {
                url: Some(SecretSource::env("HOOK_URL")),
                secret: Some(SecretSource::env("HOOK_SECRET")),
            },
        };
        s.put_alert_settings(
            &p.id,
            Some("report"),
            &AlertRules::default(),
            Some(&DestinationUpdate::Webhook(from_file.clone())),
        )
        .await
        .unwrap();
        s.put_alert_settings(&p.id, None, &AlertRules::default(), None)
            .await
            .unwrap();
        let all = s.list_alert_settings(&p.id).await.unwrap();
        let names: Vec<Option<&str>> = all.iter().map(|a| a.cronjob.as_deref()).collect();
        assert_eq!(names, [None, Some("report")]);
        assert_eq!(all[1].sources, from_file.sources);
        assert_eq!(all[0].sources, WebhookSources::default());
        // Through the API (no sources): the values stay, the sources go.
        let keep = DestinationUpdate::Webhook(WebhookUpdate::default());
        let own = s
            .put_alert_settings(&p.id, Some("report"), &AlertRules::default(), Some(&keep))
            .await
            .unwrap();
        assert_eq!(
            own.webhook().unwrap().secret.expose_secret(),
            "0123456789abcdef"
        );
        assert_eq!(own.sources, WebhookSources::default());
    }}

    backends! {
    async fn settings_fall_back_to_the_project_and_keep_the_secret(db) {
        let s = db.store().await;
        let p = project(&s).await;
        assert!(
            s.effective_alert_settings(&p.id, "report")
                .await
                .unwrap()
                .is_none()
        );
        let rules = AlertRules {
            on_failure: true,
            ..Default::default()
        };
        let hook = DestinationUpdate::Webhook(WebhookUpdate {
            url: Some("http://127.0.0.1:9/hook".into()),
            secret: Some("0123456789abcdef".to_owned().into()),
            ..Default::default()
        });
        s.put_alert_settings(&p.id, None, &rules, Some(&hook))
            .await
            .unwrap();
        let eff = s
            .effective_alert_settings(&p.id, "report")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(eff.cronjob, None);
        // Its own settings win; a webhook without a secret keeps the stored one.
        s.put_alert_settings(&p.id, Some("report"), &rules, Some(&hook))
            .await
            .unwrap();
        let keep = DestinationUpdate::Webhook(WebhookUpdate {
            url: Some("http://127.0.0.1:9/other".into()),
            secret: None,
            ..Default::default()
        });
        let own = s
            .put_alert_settings(&p.id, Some("report"), &AlertRules::default(), Some(&keep))
            .await
            .unwrap();
        let w = own.webhook().unwrap();
        assert_eq!(w.url, "http://127.0.0.1:9/other");
        assert_eq!(w.secret.expose_secret(), "0123456789abcdef");
        // A URL left out keeps the stored one, also beside a new secret.
        let new_secret = DestinationUpdate::Webhook(WebhookUpdate {
            url: None,
            secret: Some("fedcba9876543210".to_owned().into()),
            ..Default::default()
        });
        let own = s
            .put_alert_settings(&p.id, Some("report"), &rules, Some(&new_secret))
            .await
            .unwrap();
        let w = own.webhook().unwrap();
        assert_eq!(
            (w.url.as_str(), w.secret.expose_secret()),
            ("http://127.0.0.1:9/other", "fedcba9876543210")
        );
        let eff = s
            .effective_alert_settings(&p.id, "report")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(eff.cronjob.as_deref(), Some("report"));
        // Without a webhook the secret goes too.
        let none = s
            .put_alert_settings(&p.id, Some("report"), &rules, None)
            .await
            .unwrap();
        assert!(none.destination.is_none());
        assert!(
            s.delete_alert_settings(&p.id, Some("report"))
                .await
                .unwrap()
        );
        assert!(
            !s.delete_alert_settings(&p.id, Some("report"))
                .await
                .unwrap()
        );
    }}

    backends! {
    async fn raising_is_idempotent_and_deliveries_are_claimed_once(db) {
        let s = db.store().await;
        let p = project(&s).await;
        let hook = Destination::Webhook(Webhook {
            url: "http://127.0.0.1:9/hook".into(),
            secret: "0123456789abcdef".to_owned().into(),
        });
        let now = Timestamp::now();
        let a = s
            .raise_alert(&p.id, "report", &failed("r-1"), now, Some(&hook))
            .await
            .unwrap();
        assert!(a.is_some());
        assert!(
            s.raise_alert(&p.id, "report", &failed("r-1"), now, Some(&hook))
                .await
                .unwrap()
                .is_none()
        );
        let later = now
            .checked_add(jiff::SignedDuration::from_secs(30))
            .unwrap();
        let jobs = s.claim_due_deliveries(now, later, 10).await.unwrap();
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].attempt, 1);
        assert_eq!(jobs[0].project, "shop");
        assert_eq!(
            jobs[0]
                .destination
                .webhook()
                .map(|w| w.secret.expose_secret()),
            Some("0123456789abcdef")
        );
        // Claimed: not due again until the lease ends.
        assert!(
            s.claim_due_deliveries(now, later, 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            s.next_delivery_due().await.unwrap().map(millis),
            Some(millis(later))
        );
        s.finish_attempt(&jobs[0].id, &AttemptResult::Delivered { status: 204 })
            .await
            .unwrap();
        assert!(s.next_delivery_due().await.unwrap().is_none());
        let history = s.alert_history(&p.id, None, 10, 0).await.unwrap();
        assert_eq!(history.len(), 1);
        let d = history[0].delivery.as_ref().unwrap();
        assert_eq!(
            (d.state, d.attempts, d.last_status, d.kind),
            (
                DeliveryState::Delivered,
                1,
                Some(204),
                DestinationKind::Webhook
            )
        );
    }}

    backends! {
    /// Slack, Teams and email destinations are stored, kept and copied to
    /// deliveries like webhooks: a URL left out keeps the stored one only
    /// when the stored destination is of the same kind, and a change of
    /// kind leaves nothing of the former one behind.
    async fn other_destinations_are_stored_kept_and_copied_to_deliveries(db) {
        let s = db.store().await;
        let p = project(&s).await;
        let rules = AlertRules::default();
        let put = |d: DestinationUpdate| {
            let s = s.clone();
            let p = p.id.clone();
            let rules = rules.clone();
            async move { s.put_alert_settings(&p, None, &rules, Some(&d)).await }
        };
        let slack = "https://hooks.slack.example/services/T0K3N";
        let saved = put(DestinationUpdate::Slack {
            url: Some(slack.into()),
            url_source: None,
        })
        .await
        .unwrap();
        assert_eq!(
            saved.destination,
            Some(Destination::Slack { url: slack.into() })
        );
        assert!(saved.webhook().is_none());
        // Left out: kept, as the same kind.
        let kept = put(DestinationUpdate::Slack {
            url: None,
            url_source: None,
        })
        .await
        .unwrap();
        assert_eq!(kept.destination, saved.destination);
        // Another kind cannot keep the Slack URL.
        assert!(matches!(
            put(DestinationUpdate::Teams {
                url: None,
                url_source: None
            })
            .await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            put(DestinationUpdate::Webhook(WebhookUpdate {
                url: None,
                secret: Some("0123456789abcdef".to_owned().into()),
                ..Default::default()
            }))
            .await,
            Err(StoreError::NotFound)
        ));
        let teams = "https://teams.example/workflows/x?sig=S1G";
        let saved = put(DestinationUpdate::Teams {
            url: Some(teams.into()),
            url_source: None,
        })
        .await
        .unwrap();
        assert_eq!(
            saved.destination,
            Some(Destination::Teams { url: teams.into() })
        );
        let to = vec![
            "ops@example.com".to_owned(),
            "oncall@example.org".to_owned(),
        ];
        let saved = put(DestinationUpdate::Email { to: to.clone() })
            .await
            .unwrap();
        assert_eq!(
            saved.destination,
            Some(Destination::Email { to: to.clone() })
        );
        // A delivery keeps its own copy, whatever the settings become.
        s.raise_alert(
            &p.id,
            "report",
            &failed("r-1"),
            Timestamp::now(),
            saved.destination.as_ref(),
        )
        .await
        .unwrap();
        put(DestinationUpdate::Slack {
            url: Some(slack.into()),
            url_source: None,
        })
        .await
        .unwrap();
        let now = Timestamp::now();
        let jobs = s.claim_due_deliveries(now, now, 10).await.unwrap();
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].destination, Destination::Email { to });
        assert_eq!(format!("{:?}", jobs[0].destination), "Destination(email)");
        let history = s.alert_history(&p.id, None, 10, 0).await.unwrap();
        assert_eq!(
            history[0].delivery.as_ref().map(|d| d.kind),
            Some(DestinationKind::Email)
        );
        // Back to a webhook: the Slack URL goes.
        let saved = put(DestinationUpdate::Webhook(WebhookUpdate {
            url: Some("https://hooks.example.com/hks".into()),
            secret: Some("0123456789abcdef".to_owned().into()),
            ..Default::default()
        }))
        .await
        .unwrap();
        assert_eq!(
            saved.webhook().map(|w| w.url.as_str()),
            Some("https://hooks.example.com/hks")
        );
        let other: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT destination FROM alert_settings WHERE project_id = $1")
                .bind(&p.id)
                .fetch_one(&s.pool)
                .await
                .unwrap();
        assert!(other.is_none());
    }}

    backends! {
    /// Old alerts and all but the newest of each CronJob go, in batches,
    /// with their deliveries; pending deliveries and alerts about runs
    /// still going stay; other projects are not touched.
    async fn pruning_forgets_old_and_excess_alerts_but_never_pending_ones(db) {
        let s = db.store().await;
        let p = project(&s).await;
        let other = s.create_project(&p.tenant_id, "other").await.unwrap();
        let now = Timestamp::now();
        let days = |d: i64| {
            now.checked_sub(jiff::SignedDuration::from_hours(24 * d))
                .unwrap()
        };
        let hook = Destination::Webhook(Webhook {
            url: "http://127.0.0.1:9/hook".into(),
            secret: "0123456789abcdef".to_owned().into(),
        });
        // More old alerts than one batch deletes.
        for i in 0..1_100 {
            s.raise_alert(&p.id, "old", &failed(&format!("r-{i}")), days(40), None)
                .await
                .unwrap();
        }
        s.raise_alert(&other.id, "old", &failed("r-0"), days(40), None)
            .await
            .unwrap();
        // Old alerts with deliveries: delivered, failed, and one still pending.
        for run in ["delivered", "failed", "pending"] {
            s.raise_alert(&p.id, "hooked", &failed(run), days(40), Some(&hook))
                .await
                .unwrap();
        }
        let lease = now
            .checked_add(jiff::SignedDuration::from_secs(30))
            .unwrap();
        for job in s.claim_due_deliveries(now, lease, 10).await.unwrap() {
            let result = match job.alert.subject.as_str() {
                "delivered" => AttemptResult::Delivered { status: 200 },
                "failed" => AttemptResult::NotDelivered {
                    status: Some(500),
                    error: "HTTP 500".into(),
                    next: None,
                },
                _ => continue,
            };
            s.finish_attempt(&job.id, &result).await.unwrap();
        }
        // An old alert about a run that is still going.
        let spec: hks_core::spec::ApplicationSpec = serde_json::from_value(serde_json::json!({
            "type": "cronjob", "spec": {"schedule": "@daily", "image": "busybox"}
        }))
        .unwrap();
        s.create_application(&p.id, "long", &spec).await.unwrap();
        let going: hks_core::run::Run = serde_json::from_value(serde_json::json!({
            "name": "long-1", "trigger": "scheduled", "result": "Running",
            "createdAt": days(41).to_string(), "attempts": [], "inCluster": true
        }))
        .unwrap();
        s.record_run(&p.id, "long", &going).await.unwrap();
        let long = Alert {
            key: "longRunning:long-1".into(),
            kind: AlertKind::LongRunning,
            subject: "long-1".into(),
            summary: "Run long-1 is still going".into(),
        };
        s.raise_alert(&p.id, "long", &long, days(40), None)
            .await
            .unwrap();
        // Recent alerts: five of one CronJob, two of another.
        for i in 0..5 {
            s.raise_alert(&p.id, "busy", &failed(&format!("b-{i}")), days(1), None)
                .await
                .unwrap();
        }
        for i in 0..2 {
            s.raise_alert(&p.id, "calm", &failed(&format!("c-{i}")), days(1), None)
                .await
                .unwrap();
        }

        let pruned = s
            .prune_alerts(&p.id, Some(days(30)), Some(3))
            .await
            .unwrap();
        assert_eq!(pruned, 1_100 + 2 + 2);
        let left: Vec<(String, String)> = s
            .alert_history(&p.id, None, 100, 0)
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.alert.cronjob, r.alert.subject))
            .collect();
        let left: Vec<(&str, &str)> = left.iter().map(|(c, r)| (c.as_str(), r.as_str())).collect();
        assert_eq!(
            left,
            [
                ("calm", "c-1"),
                ("calm", "c-0"),
                ("busy", "b-4"),
                ("busy", "b-3"),
                ("busy", "b-2"),
                ("long", "long-1"),
                ("hooked", "pending"),
            ]
        );
        // The deliveries of the alerts that went went with them.
        let deliveries: i64 = sqlx::query_scalar("SELECT count(*) FROM deliveries")
            .fetch_one(&s.pool)
            .await
            .unwrap();
        assert_eq!(deliveries, 1);
        assert_eq!(
            s.alert_history(&other.id, None, 10, 0).await.unwrap().len(),
            1
        );
        // Nothing more to do.
        assert_eq!(
            s.prune_alerts(&p.id, Some(days(30)), Some(3))
                .await
                .unwrap(),
            0
        );
    }}

    backends! {
    async fn deleting_a_cronjob_or_project_removes_its_alerts(db) {
        let s = db.store().await;
        let p = project(&s).await;
        let spec: hks_core::spec::ApplicationSpec = serde_json::from_value(serde_json::json!({
            "type": "cronjob", "spec": {"schedule": "@daily", "image": "busybox"}
        }))
        .unwrap();
        s.create_application(&p.id, "report", &spec).await.unwrap();
        let rules = AlertRules::default();
        s.put_alert_settings(&p.id, Some("report"), &rules, None)
            .await
            .unwrap();
        s.put_alert_settings(&p.id, None, &rules, None)
            .await
            .unwrap();
        s.raise_alert(&p.id, "report", &failed("r-1"), Timestamp::now(), None)
            .await
            .unwrap();
        s.delete_application(&p.id, "report").await.unwrap();
        assert!(
            s.alert_settings(&p.id, Some("report"))
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            s.alert_history(&p.id, None, 10, 0)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(s.alert_settings(&p.id, None).await.unwrap().is_some());
        s.delete_project(&p.id).await.unwrap();
        assert!(s.alert_settings(&p.id, None).await.unwrap().is_none());
    }}
}
