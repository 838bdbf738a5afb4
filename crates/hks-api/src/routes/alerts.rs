//! Alert settings (a project's default and each CronJob's own), the alerts
//! raised with their deliveries, and test deliveries.
//!
//! Alerts go to one destination: a signed webhook (`webhook`, also the
//! older `webhook` field of the settings), a Slack- or Teams-compatible
//! incoming webhook (`slack`, `teams`), or email through the installation's
//! SMTP server (`email`). The webhook secret is write-only: answers say
//! whether one is set, never what it is, and a PUT without a secret keeps
//! the stored one. A URL is shown only as its scheme and host
//! (`https://hooks.example.com/…`): its path and query are often a
//! credential, and a Slack or Teams URL is one. A PUT that leaves it out,
//! or sends that shown form back, keeps the stored URL of a destination of
//! the same kind.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hks_core::audit::AuditAction;
use hks_core::problem::Problems;
use hks_core::spec::ApplicationType;
use hks_core::{Code, Invalid};
use hks_history::alerts::AlertRules;
use hks_store::{
    AlertRecord, AlertSettings, Destination, DestinationKind, DestinationUpdate, Project,
    WebhookUpdate,
};
use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{JsonBody, Path, Query, Tenant};
use hks_app::tenancy;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

type Result<T, E = ApiError> = std::result::Result<T, E>;

/// This resource's routes, each listed once: the router and the OpenAPI document both come from them.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            get_project_alerts,
            put_project_alerts,
            delete_project_alerts
        ))
        .routes(routes!(alert_history))
        .routes(routes!(test_alert))
        .routes(routes!(
            get_cronjob_alerts,
            put_cronjob_alerts,
            delete_cronjob_alerts
        ))
}

const DEFAULT_HISTORY: u32 = 50;
const MAX_HISTORY: u32 = 200;

/// Which alerts to raise.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlertRulesBody {
    /// Alert on every failed run.
    #[serde(default)]
    pub on_failure: bool,
    /// Alert when this many runs in a row have failed (2 to 100), once per streak.
    #[serde(default)]
    #[schema(minimum = 2, maximum = 100)]
    pub consecutive_failures: Option<u32>,
    /// Alert when a scheduled run did not start.
    #[serde(default)]
    pub on_missed: bool,
    /// Alert when a run is still going after this many seconds (at least 60), once per run.
    #[serde(default)]
    #[schema(minimum = 60, maximum = 4294967295_i64)]
    pub longer_than_seconds: Option<u32>,
    /// Alert on the first success after a failure that raised an alert.
    #[serde(default)]
    pub on_recovery: bool,
}

impl From<AlertRulesBody> for AlertRules {
    fn from(b: AlertRulesBody) -> Self {
        Self {
            on_failure: b.on_failure,
            consecutive_failures: b.consecutive_failures,
            on_missed: b.on_missed,
            longer_than_seconds: b.longer_than_seconds,
            on_recovery: b.on_recovery,
        }
    }
}

impl From<AlertRules> for AlertRulesBody {
    fn from(r: AlertRules) -> Self {
        Self {
            on_failure: r.on_failure,
            consecutive_failures: r.consecutive_failures,
            on_missed: r.on_missed,
            longer_than_seconds: r.longer_than_seconds,
            on_recovery: r.on_recovery,
        }
    }
}

/// Where alerts are sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookBody {
    /// An http or https URL, without a user name or password. Leave it out,
    /// or send back the shown form (`https://hooks.example.com/…`), to keep
    /// the stored one.
    #[serde(default)]
    #[schema(
        format = "uri",
        max_length = 2048,
        pattern = "^[hH][tT][tT][pP][sS]?://[^/?#@]+([/?#]|$)",
        example = "https://hooks.example.com/hks"
    )]
    pub url: Option<String>,
    /// Signs every delivery (HMAC-SHA256, header `X-HKS-Signature`); 16 to
    /// 256 characters. Write-only; leave it out to keep the current one.
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 16, max_length = 256, write_only)]
    pub secret: Option<SecretString>,
}

/// The kinds of destination: `webhook` (HKS's own JSON, signed with
/// `X-HKS-Signature`), `slack` (a Slack-compatible incoming webhook, sent
/// `text` and `blocks`), `teams` (a Microsoft Teams incoming webhook or
/// Workflows trigger, sent an Adaptive Card), `email` (one message per
/// alert through the installation's SMTP server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = DestinationKind)]
pub enum DestinationKindBody {
    /// HKS's own JSON, signed (`X-HKS-Signature`).
    Webhook,
    /// A Slack-compatible incoming webhook (`text` and `blocks`).
    Slack,
    /// A Microsoft Teams incoming webhook or Workflows trigger (an Adaptive Card).
    Teams,
    /// Email, one message per alert, through the installation's SMTP server.
    Email,
}

impl From<DestinationKindBody> for DestinationKind {
    fn from(k: DestinationKindBody) -> Self {
        match k {
            DestinationKindBody::Webhook => Self::Webhook,
            DestinationKindBody::Slack => Self::Slack,
            DestinationKindBody::Teams => Self::Teams,
            DestinationKindBody::Email => Self::Email,
        }
    }
}

impl From<DestinationKind> for DestinationKindBody {
    fn from(k: DestinationKind) -> Self {
        match k {
            DestinationKind::Webhook => Self::Webhook,
            DestinationKind::Slack => Self::Slack,
            DestinationKind::Teams => Self::Teams,
            DestinationKind::Email => Self::Email,
        }
    }
}

/// Where alerts are sent. Which fields a kind takes: `webhook` a `url` and
/// a `secret`; `slack` and `teams` a `url`; `email` the addresses `to`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DestinationBody {
    pub kind: DestinationKindBody,
    /// `webhook`, `slack`, `teams`: the incoming webhook's http or https
    /// URL, without a user name or password. Leave it out, or send back
    /// the shown form (`https://hooks.slack.com/…`), to keep the stored
    /// URL of a destination of the same kind.
    #[serde(default)]
    #[schema(
        format = "uri",
        max_length = 2048,
        pattern = "^[hH][tT][tT][pP][sS]?://[^/?#@]+([/?#]|$)",
        example = "https://hooks.slack.com/services/T000/B000/XXXX"
    )]
    pub url: Option<String>,
    /// `webhook` only: signs every delivery (HMAC-SHA256, header
    /// `X-HKS-Signature`); 16 to 256 characters. Write-only; leave it out
    /// to keep the current one.
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 16, max_length = 256, write_only)]
    pub secret: Option<SecretString>,
    /// `email` only: the recipients, 1 to 20 plain addresses
    /// (`ops@example.com`).
    #[serde(default)]
    #[schema(max_items = 20)]
    pub to: Option<Vec<String>>,
}

/// Alert settings to store.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PutAlertSettings {
    pub rules: AlertRulesBody,
    /// Where alerts go; without a destination (nor a webhook), alerts are
    /// recorded but not sent.
    #[serde(default)]
    pub destination: Option<DestinationBody>,
    /// A signed webhook: the same as a `destination` of kind `webhook`,
    /// as clients from before other destinations send it. Not with
    /// `destination`.
    #[serde(default)]
    pub webhook: Option<WebhookBody>,
}

/// Where the settings shown come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum SettingsSource {
    /// The CronJob's own settings.
    Cronjob,
    /// The project's default.
    Project,
    /// Nothing is set: no alerts.
    None,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookView {
    /// The URL's scheme and host only, the rest cut (its path and query are
    /// often a credential); send it back unchanged to keep the URL.
    #[schema(example = "https://hooks.example.com/…")]
    pub url: String,
    /// Whether a URL is set (it is never shown whole).
    pub url_set: bool,
    /// Whether a secret is set (its value is never shown).
    pub secret_set: bool,
}

/// Where alerts go, without its secrets.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DestinationView {
    pub kind: DestinationKindBody,
    /// `webhook`, `slack`, `teams`: the URL's scheme and host only, the rest
    /// cut (its path and query are a credential); send it back unchanged to
    /// keep the URL. `null` for email.
    #[schema(example = "https://hooks.slack.com/…")]
    pub url: Option<String>,
    /// Whether a webhook's secret is set (its value is never shown); false
    /// for the other kinds, which have none.
    pub secret_set: bool,
    /// `email`: the recipients; empty for the other kinds.
    pub to: Vec<String>,
}

/// The alert settings in effect.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertSettingsView {
    pub source: SettingsSource,
    pub rules: AlertRulesBody,
    /// Where alerts go; `null` when they are only recorded.
    pub destination: Option<DestinationView>,
    /// The destination when it is a signed webhook, as clients from before
    /// other destinations read it; `null` for the other kinds.
    pub webhook: Option<WebhookView>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub updated_at: Option<Timestamp>,
}

fn settings_view(settings: Option<AlertSettings>) -> AlertSettingsView {
    match settings {
        None => AlertSettingsView {
            source: SettingsSource::None,
            rules: AlertRulesBody::default(),
            destination: None,
            webhook: None,
            updated_at: None,
        },
        Some(s) => AlertSettingsView {
            source: if s.cronjob.is_some() {
                SettingsSource::Cronjob
            } else {
                SettingsSource::Project
            },
            rules: s.rules.clone().into(),
            webhook: s.webhook().map(|w| WebhookView {
                url: hks_alerting::redacted_url(&w.url),
                url_set: !w.url.is_empty(),
                secret_set: !w.secret.expose_secret().is_empty(),
            }),
            destination: s.destination.as_ref().map(|d| DestinationView {
                kind: d.kind().into(),
                url: d.url().map(hks_alerting::redacted_url),
                secret_set: d
                    .webhook()
                    .is_some_and(|w| !w.secret.expose_secret().is_empty()),
                to: match d {
                    Destination::Email { to } => to.clone(),
                    _ => Vec::new(),
                },
            }),
            updated_at: Some(s.updated_at),
        },
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum DeliveryStateView {
    Pending,
    Delivered,
    Failed,
}

/// The delivery of an alert.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    /// The `X-HKS-Delivery` header (an email's `Message-ID` is
    /// `<id@sender's domain>`), the same on every attempt.
    pub id: String,
    /// The kind of destination it goes to.
    pub destination: DestinationKindBody,
    pub state: DeliveryStateView,
    pub attempts: u32,
    /// While pending: the next attempt.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt_at: Option<Timestamp>,
    /// The receiver's last HTTP status, or the SMTP server's last reply code.
    pub last_status: Option<u16>,
    /// Why the last attempt did not deliver.
    pub last_error: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<Timestamp>,
}

/// An alert raised.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertView {
    pub id: String,
    pub cronjob: String,
    /// Unique per CronJob, for example `failed:<run>`.
    pub key: String,
    /// `failed`, `consecutiveFailures`, `missed`, `longRunning` or `recovered`.
    pub kind: String,
    /// The run (a Job name), or the missed time.
    pub subject: String,
    pub summary: String,
    #[schema(value_type = String, format = DateTime)]
    pub raised_at: Timestamp,
    /// `null` when no destination was configured.
    pub delivery: Option<DeliveryView>,
}

fn alert_view(r: AlertRecord) -> AlertView {
    AlertView {
        id: r.alert.id,
        cronjob: r.alert.cronjob,
        key: r.alert.key,
        kind: r.alert.kind,
        subject: r.alert.subject,
        summary: r.alert.summary,
        raised_at: r.alert.raised_at,
        delivery: r.delivery.map(|d| DeliveryView {
            id: d.id,
            destination: d.kind.into(),
            state: match d.state {
                hks_store::DeliveryState::Pending => DeliveryStateView::Pending,
                hks_store::DeliveryState::Delivered => DeliveryStateView::Delivered,
                hks_store::DeliveryState::Failed => DeliveryStateView::Failed,
            },
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            last_status: d.last_status,
            last_error: d.last_error,
            delivered_at: d.delivered_at,
        }),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct HistoryQuery {
    /// Only this CronJob's alerts.
    pub cronjob: Option<String>,
    /// At most this many (default 50, at most 200).
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u32>,
    /// Skip this many of the newest.
    #[param(maximum = 4294967295_i64, default = 0)]
    pub offset: Option<u32>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TestQuery {
    /// Use this CronJob's destination (its own, else the project's).
    pub cronjob: Option<String>,
}

/// How a test delivery went.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestDeliveryView {
    /// The `X-HKS-Delivery` header it carried (for email, also the
    /// `Message-ID`'s left part).
    pub delivery_id: String,
    /// The kind of destination it went to.
    pub destination: DestinationKindBody,
    pub delivered: bool,
    /// The receiver's HTTP status, or the SMTP server's reply code, if it answered.
    pub status: Option<u16>,
    /// Why it was not delivered.
    pub error: Option<String>,
}

/// The destination a PUT asks for, from `destination` or the older
/// `webhook`, with the field path its problems are reported at.
struct Wanted<'a> {
    at: &'static str,
    kind: DestinationKind,
    url: Option<&'a str>,
    secret: Option<&'a SecretString>,
    to: Option<&'a [String]>,
}

impl<'a> Wanted<'a> {
    fn of(body: &'a PutAlertSettings) -> Option<Self> {
        match (&body.destination, &body.webhook) {
            (Some(d), _) => Some(Self {
                at: "destination",
                kind: d.kind.into(),
                url: d.url.as_deref(),
                secret: d.secret.as_ref(),
                to: d.to.as_deref(),
            }),
            (None, Some(w)) => Some(Self {
                at: "webhook",
                kind: DestinationKind::Webhook,
                url: w.url.as_deref(),
                secret: w.secret.as_ref(),
                to: None,
            }),
            (None, None) => None,
        }
    }

    /// The URL to store: `None` keeps the stored one (left out, or sent
    /// back as it is shown). `stored`: the stored destination, if of this kind.
    fn new_url(&self, stored: Option<&Destination>) -> Option<&'a str> {
        let url = self.url?;
        let shown = stored
            .and_then(Destination::url)
            .map(hks_alerting::redacted_url);
        (shown.as_deref() != Some(url)).then_some(url)
    }

    /// What the store is given.
    fn update(&self, stored: Option<&Destination>) -> DestinationUpdate {
        let url = self.new_url(stored).map(str::to_owned);
        match self.kind {
            DestinationKind::Webhook => DestinationUpdate::Webhook(WebhookUpdate {
                url,
                secret: self.secret.cloned(),
                ..Default::default()
            }),
            DestinationKind::Slack => DestinationUpdate::Slack {
                url,
                url_source: None,
            },
            DestinationKind::Teams => DestinationUpdate::Teams {
                url,
                url_source: None,
            },
            DestinationKind::Email => DestinationUpdate::Email {
                to: self.to.unwrap_or_default().to_vec(),
            },
        }
    }
}

/// What a kind of destination is called in messages.
fn called(kind: DestinationKind) -> &'static str {
    match kind {
        DestinationKind::Webhook => "webhook",
        DestinationKind::Slack => "Slack webhook",
        DestinationKind::Teams => "Teams webhook",
        DestinationKind::Email => "email destination",
    }
}

/// Every problem with the settings, with its field path. `targets`: where
/// this installation sends webhooks; `email`: whether it sends email;
/// `stored`: the destination these settings have now.
fn validate(
    body: &PutAlertSettings,
    targets: &hks_alerting::TargetPolicy,
    email: bool,
    stored: Option<&Destination>,
) -> Result<(), Invalid> {
    let mut p = Problems::new();
    hks_core::projectfile::check_alert_rules(
        &mut p,
        "rules",
        body.rules.consecutive_failures,
        body.rules.longer_than_seconds,
    );
    if body.destination.is_some() && body.webhook.is_some() {
        p.push(
            "webhook",
            Code::ConflictingFields,
            "give either destination or webhook, not both",
            Some("a destination of kind webhook is the same as webhook"),
        );
    }
    if let Some(w) = Wanted::of(body) {
        let stored = stored.filter(|d| d.kind() == w.kind);
        let field = |name: &str| format!("{}.{name}", w.at);
        let unused = |p: &mut Problems, name: &str, why: &str| {
            p.push(field(name), Code::ConflictingFields, why.to_owned(), None);
        };
        match w.kind {
            DestinationKind::Webhook | DestinationKind::Slack | DestinationKind::Teams => {
                validate_url(&mut p, &w, &field("url"), stored, targets);
                if w.to.is_some() {
                    unused(&mut p, "to", "only an email destination has recipients");
                }
            }
            DestinationKind::Email => {
                if !email {
                    hks_app::alerts::no_email(&mut p, &field("kind"));
                }
                hks_app::alerts::check_recipients(&mut p, w.to, &field("to"));
                if w.url.is_some() {
                    unused(
                        &mut p,
                        "url",
                        "an email destination has no URL; give the addresses in to",
                    );
                }
            }
        }
        match (w.kind, w.secret) {
            (DestinationKind::Webhook, None) if stored.is_none() => p.push(
                field("secret"),
                Code::Required,
                "a new webhook needs a secret",
                None,
            ),
            (DestinationKind::Webhook, Some(secret)) => {
                let len = secret.expose_secret().chars().count();
                if !(hks_alerting::MIN_SECRET_LEN..=hks_alerting::MAX_SECRET_LEN).contains(&len) {
                    p.push(
                        field("secret"),
                        Code::InvalidLength,
                        format!(
                            "must be {} to {} characters",
                            hks_alerting::MIN_SECRET_LEN,
                            hks_alerting::MAX_SECRET_LEN
                        ),
                        Some(
                            "for example 32 random characters; the receiver checks signatures with it",
                        ),
                    );
                }
            }
            (DestinationKind::Slack | DestinationKind::Teams, Some(_)) => unused(
                &mut p,
                "secret",
                "only a signed webhook has a secret; a Slack or Teams webhook's URL is its credential",
            ),
            (DestinationKind::Email, Some(_)) => {
                unused(&mut p, "secret", "only a signed webhook has a secret")
            }
            _ => {}
        }
    }
    p.finish()
}

/// The URL of a webhook, Slack or Teams destination.
fn validate_url(
    p: &mut Problems,
    w: &Wanted<'_>,
    at: &str,
    stored: Option<&Destination>,
    targets: &hks_alerting::TargetPolicy,
) {
    match w.new_url(stored) {
        None if stored.is_none() => p.push(
            at,
            Code::Required,
            format!("a new {} needs a URL", called(w.kind)),
            None,
        ),
        None => {}
        // The shown form of another destination's URL (the project's, say,
        // or a former kind's): it is not where alerts should go.
        Some(url) if url.ends_with("/…") => p.push(
            at,
            Code::InvalidUrl,
            "is the shown form of a stored URL, whose path is hidden",
            Some("give the whole URL"),
        ),
        Some(url) => {
            if let Err(why) = hks_alerting::check_webhook_url(url, targets) {
                p.push(at, Code::InvalidUrl, why.to_string(), why.hint());
            }
        }
    }
}

/// The audit entry of a change to alert settings: the project's default
/// (`project/<name>`) or a CronJob's own (`cronjob/<name>`).
async fn audit_alerts(
    state: &AppState,
    principal: &hks_store::Principal,
    p: &Project,
    cronjob_name: Option<&str>,
    action: AuditAction,
    changes: &[hks_core::audit::AuditChange],
) {
    let target = match cronjob_name {
        Some(c) => format!("cronjob/{c}"),
        None => format!("project/{}", p.name),
    };
    hks_app::audit::by(state, principal, &p.name, action, &target, changes).await;
}

/// The CronJob, checked to exist in the project.
async fn cronjob(state: &AppState, p: &Project, name: &str) -> Result<()> {
    tenancy::application(state, p, name, Some(ApplicationType::Cronjob)).await?;
    Ok(())
}

async fn put_settings(
    state: &AppState,
    principal: &hks_store::Principal,
    p: &Project,
    cronjob_name: Option<&str>,
    body: PutAlertSettings,
) -> Result<Json<AlertSettingsView>> {
    // Under the project's lock, so a CronJob deleted meanwhile does not get
    // settings after its own were removed.
    let _guard = state.locks().lock(&p.id).await;
    // These settings' own destination (not the project's a CronJob falls
    // back to): what a URL or secret left out keeps.
    let stored = state
        .store()
        .alert_settings(&p.id, cronjob_name)
        .await?
        .and_then(|s| s.destination);
    let alerter = state.alerter();
    validate(
        &body,
        alerter.targets(),
        alerter.email().is_some(),
        stored.as_ref(),
    )?;
    if let Some(name) = cronjob_name {
        cronjob(state, p, name).await?;
    }
    let update = Wanted::of(&body).map(|w| {
        let same_kind = stored.as_ref().filter(|d| d.kind() == w.kind);
        w.update(same_kind)
    });
    let before = state
        .store()
        .alert_settings(&p.id, cronjob_name)
        .await?
        .map(|s| settings_view(Some(s)));
    let saved = state
        .store()
        .put_alert_settings(&p.id, cronjob_name, &body.rules.into(), update.as_ref())
        .await?;
    let view = settings_view(Some(saved));
    let mut changes = hks_core::audit::diff(
        before
            .and_then(|b| serde_json::to_value(b.rules).ok())
            .as_ref(),
        serde_json::to_value(&view.rules).ok().as_ref(),
    );
    match &update {
        Some(DestinationUpdate::Webhook(w)) => {
            if w.url.is_some() {
                changes.push(hks_core::audit::set("webhook.url", "changed"));
            }
            if w.secret.is_some() {
                changes.push(hks_core::audit::set("webhook.secret", "changed"));
            }
        }
        Some(other) => changes.push(hks_core::audit::set(
            &format!("destination.{}", other.kind().as_str()),
            "changed",
        )),
        None => {}
    }
    audit_alerts(
        state,
        principal,
        p,
        cronjob_name,
        AuditAction::AlertsUpdate,
        &changes,
    )
    .await;
    Ok(Json(view))
}

/// The project's default alert settings, which every CronJob without its own uses.
#[utoipa::path(get, path = "/projects/{project}/alerts", tag = "alerts", params(("project" = String, Path)),
    responses((status = 200, body = AlertSettingsView, description = "The project's default settings (`source` is `none` when there are none)."), (status = 404, body = ErrorBody, description = "No such project (`not_found`).")),
    security(("token" = [])))]
pub async fn get_project_alerts(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(project): Path<String>,
) -> Result<Json<AlertSettingsView>> {
    let p = tenancy::project(&state, &tenant.principal, &project).await?;
    Ok(Json(settings_view(
        state.store().alert_settings(&p.id, None).await?,
    )))
}

/// Set the project's default alert settings.
#[utoipa::path(put, path = "/projects/{project}/alerts", tag = "alerts", params(("project" = String, Path)), request_body = PutAlertSettings,
    responses((status = 200, body = AlertSettingsView, description = "The settings as stored."), (status = 400, body = ErrorBody, description = "The settings are invalid (`invalid`); `problems` names each field."), (status = 404, body = ErrorBody, description = "No such project (`not_found`).")), security(("token" = [])))]
pub async fn put_project_alerts(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(project): Path<String>,
    JsonBody(body): JsonBody<PutAlertSettings>,
) -> Result<Json<AlertSettingsView>> {
    let p = tenancy::project(&state, &tenant.principal, &project).await?;
    put_settings(&state, &tenant.principal, &p, None, body).await
}

/// Remove the project's default alert settings.
#[utoipa::path(delete, path = "/projects/{project}/alerts", tag = "alerts", params(("project" = String, Path)),
    responses((status = 204, description = "Removed (or there were none)."), (status = 404, body = ErrorBody, description = "No such project (`not_found`).")), security(("token" = [])))]
pub async fn delete_project_alerts(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(project): Path<String>,
) -> Result<StatusCode> {
    let p = tenancy::project(&state, &tenant.principal, &project).await?;
    state.store().delete_alert_settings(&p.id, None).await?;
    audit_alerts(
        &state,
        &tenant.principal,
        &p,
        None,
        AuditAction::AlertsDelete,
        &[],
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// The alert settings a CronJob uses: its own, else the project's default.
#[utoipa::path(get, path = "/projects/{project}/cronjobs/{name}/alerts", tag = "alerts", params(("project" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = AlertSettingsView, description = "The settings in effect; `source` says whose they are."), (status = 404, body = ErrorBody, description = "No such project or CronJob (`not_found`).")),
    security(("token" = [])))]
pub async fn get_cronjob_alerts(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((project, name)): Path<(String, String)>,
) -> Result<Json<AlertSettingsView>> {
    let p = tenancy::project(&state, &tenant.principal, &project).await?;
    cronjob(&state, &p, &name).await?;
    Ok(Json(settings_view(
        state.store().effective_alert_settings(&p.id, &name).await?,
    )))
}

/// Give a CronJob its own alert settings (instead of the project's default).
#[utoipa::path(put, path = "/projects/{project}/cronjobs/{name}/alerts", tag = "alerts", params(("project" = String, Path), ("name" = String, Path)),
    request_body = PutAlertSettings,
    responses((status = 200, body = AlertSettingsView, description = "The settings as stored."), (status = 400, body = ErrorBody, description = "The settings are invalid (`invalid`); `problems` names each field."), (status = 404, body = ErrorBody, description = "No such project or CronJob (`not_found`).")), security(("token" = [])))]
pub async fn put_cronjob_alerts(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((project, name)): Path<(String, String)>,
    JsonBody(body): JsonBody<PutAlertSettings>,
) -> Result<Json<AlertSettingsView>> {
    let p = tenancy::project(&state, &tenant.principal, &project).await?;
    put_settings(&state, &tenant.principal, &p, Some(&name), body).await
}

/// Remove a CronJob's own alert settings: it uses the project's default again.
#[utoipa::path(delete, path = "/projects/{project}/cronjobs/{name}/alerts", tag = "alerts", params(("project" = String, Path), ("name" = String, Path)),
    responses((status = 204, description = "Removed (or there were none)."), (status = 404, body = ErrorBody, description = "No such project or CronJob (`not_found`).")), security(("token" = [])))]
pub async fn delete_cronjob_alerts(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((project, name)): Path<(String, String)>,
) -> Result<StatusCode> {
    let p = tenancy::project(&state, &tenant.principal, &project).await?;
    cronjob(&state, &p, &name).await?;
    state
        .store()
        .delete_alert_settings(&p.id, Some(&name))
        .await?;
    audit_alerts(
        &state,
        &tenant.principal,
        &p,
        Some(&name),
        AuditAction::AlertsDelete,
        &[],
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// The alerts raised in a project (or for one CronJob), newest first, with
/// their deliveries.
#[utoipa::path(get, path = "/projects/{project}/alerts/history", tag = "alerts", params(("project" = String, Path), HistoryQuery),
    responses((status = 200, body = Vec<AlertView>, description = "The alerts, newest first."),
        (status = 400, body = ErrorBody, description = "A parameter is invalid, for example `limit` out of range (`invalid`)."), (status = 404, body = ErrorBody, description = "No such project (`not_found`).")),
    security(("token" = [])))]
pub async fn alert_history(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(project): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<Vec<AlertView>>> {
    let p = tenancy::project(&state, &tenant.principal, &project).await?;
    let limit = q.limit.unwrap_or(DEFAULT_HISTORY);
    if !(1..=MAX_HISTORY).contains(&limit) {
        return Err(Invalid::one(
            "limit",
            Code::OutOfRange,
            format!("must be between 1 and {MAX_HISTORY}"),
        )
        .into());
    }
    let records = state
        .store()
        .alert_history(&p.id, q.cronjob.as_deref(), limit, q.offset.unwrap_or(0))
        .await?;
    Ok(Json(records.into_iter().map(alert_view).collect()))
}

/// Send a test delivery now, once, to the project's destination (or the
/// one a CronJob uses), and say how the receiver answered. Nothing is stored.
#[utoipa::path(post, path = "/projects/{project}/alerts/test", tag = "alerts", params(("project" = String, Path), TestQuery),
    responses((status = 200, body = TestDeliveryView, description = "How the receiver answered; `delivered` is false when it did not."),
        (status = 404, body = ErrorBody, description = "No such project or CronJob (`not_found`)."),
        (status = 409, body = ErrorBody, description = "No destination is configured (`conflict`).")),
    security(("token" = [])))]
pub async fn test_alert(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(project): Path<String>,
    Query(q): Query<TestQuery>,
) -> Result<Json<TestDeliveryView>> {
    let p = tenancy::project(&state, &tenant.principal, &project).await?;
    if let Some(name) = &q.cronjob {
        cronjob(&state, &p, name).await?;
    }
    let sent = state
        .alerter()
        .send_test(&p.id, &p.name, q.cronjob.as_deref())
        .await?;
    Ok(Json(TestDeliveryView {
        delivery_id: sent.delivery_id,
        destination: sent.destination.into(),
        delivered: sent.delivered,
        status: sent.status,
        error: sent.error,
    }))
}
