//! Alert settings (a project's default and each CronJob's own), the alerts
//! raised with their webhook deliveries, and test deliveries.
//!
//! The webhook secret is write-only: answers say whether one is set, never
//! what it is, and a PUT without a secret keeps the stored one. The URL is
//! shown only as its scheme and host (`https://hooks.example.com/…`): its
//! path and query are often a credential. A PUT that leaves it out, or
//! sends that shown form back, keeps the stored URL.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hks_core::audit::AuditAction;
use hks_core::problem::Problems;
use hks_core::spec::ApplicationType;
use hks_core::{Code, Invalid};
use hks_history::alerts::AlertRules;
use hks_store::{AlertRecord, AlertSettings, Project, Webhook, WebhookSources, WebhookUpdate};
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

/// Alert settings to store.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PutAlertSettings {
    pub rules: AlertRulesBody,
    /// Without a webhook, alerts are recorded but not sent.
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

/// The alert settings in effect.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertSettingsView {
    pub source: SettingsSource,
    pub rules: AlertRulesBody,
    pub webhook: Option<WebhookView>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub updated_at: Option<Timestamp>,
}

fn settings_view(settings: Option<AlertSettings>) -> AlertSettingsView {
    match settings {
        None => AlertSettingsView {
            source: SettingsSource::None,
            rules: AlertRulesBody::default(),
            webhook: None,
            updated_at: None,
        },
        Some(s) => AlertSettingsView {
            source: if s.cronjob.is_some() {
                SettingsSource::Cronjob
            } else {
                SettingsSource::Project
            },
            rules: s.rules.into(),
            webhook: s.webhook.map(|w| WebhookView {
                url: hks_alerting::redacted_url(&w.url),
                url_set: !w.url.is_empty(),
                secret_set: !w.secret.expose_secret().is_empty(),
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

/// A webhook delivery of an alert.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    /// The `X-HKS-Delivery` header, the same on every attempt.
    pub id: String,
    pub state: DeliveryStateView,
    pub attempts: u32,
    /// While pending: the next attempt.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt_at: Option<Timestamp>,
    /// The receiver's last HTTP status.
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
    /// `null` when no webhook was configured.
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
    /// Use this CronJob's webhook (its own, else the project's).
    pub cronjob: Option<String>,
}

/// How a test delivery went.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestDeliveryView {
    /// The `X-HKS-Delivery` header it carried.
    pub delivery_id: String,
    pub delivered: bool,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// Why it was not delivered.
    pub error: Option<String>,
}

/// The URL a PUT stores: `None` keeps the stored one (left out, or sent
/// back as it is shown).
fn new_url<'a>(body: &'a WebhookBody, stored: Option<&Webhook>) -> Option<&'a str> {
    let url = body.url.as_deref()?;
    let shown = stored.map(|s| hks_alerting::redacted_url(&s.url));
    (shown.as_deref() != Some(url)).then_some(url)
}

/// Every problem with the settings, with its field path. `targets`: where
/// this installation sends webhooks; `stored`: the webhook these settings
/// have now.
fn validate(
    app: &hks_app::App,
    body: &PutAlertSettings,
    stored: Option<&Webhook>,
) -> Result<(), Invalid> {
    let mut p = Problems::new();
    hks_core::projectfile::check_alert_rules(
        &mut p,
        "rules",
        body.rules.consecutive_failures,
        body.rules.longer_than_seconds,
    );
    if let Some(w) = &body.webhook {
        match new_url(w, stored) {
            None if stored.is_none() => p.push(
                "webhook.url",
                Code::Required,
                "a new webhook needs a URL",
                None,
            ),
            None => {}
            // The shown form of another webhook's URL (the project's, say):
            // it is not where alerts should go.
            Some(url) if url.ends_with("/…") => p.push(
                "webhook.url",
                Code::InvalidUrl,
                "is the shown form of a stored URL, whose path is hidden",
                Some("give the whole URL"),
            ),
            Some(url) => hks_app::alerts::check_url(app, &mut p, "webhook.url", url),
        }
        if w.secret.is_none() && stored.is_none() {
            p.push(
                "webhook.secret",
                Code::Required,
                "a new webhook needs a secret",
                None,
            );
        }
        if let Some(secret) = &w.secret {
            hks_app::alerts::check_secret(&mut p, "webhook.secret", secret);
        }
    }
    p.finish()
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
    // These settings' own webhook (not the project's a CronJob falls back
    // to): what a URL or secret left out keeps.
    let stored = state
        .store()
        .alert_settings(&p.id, cronjob_name)
        .await?
        .and_then(|s| s.webhook);
    validate(state, &body, stored.as_ref())?;
    if let Some(name) = cronjob_name {
        cronjob(state, p, name).await?;
    }
    let webhook = body.webhook.as_ref().map(|w| WebhookUpdate {
        url: new_url(w, stored.as_ref()).map(str::to_owned),
        secret: w.secret.clone(),
        // Set through the API: not read from where a project file said.
        sources: WebhookSources::default(),
    });
    let before = state
        .store()
        .alert_settings(&p.id, cronjob_name)
        .await?
        .map(|s| settings_view(Some(s)));
    let saved = state
        .store()
        .put_alert_settings(&p.id, cronjob_name, &body.rules.into(), webhook.as_ref())
        .await?;
    let view = settings_view(Some(saved));
    let mut changes = hks_core::audit::diff(
        before
            .and_then(|b| serde_json::to_value(b.rules).ok())
            .as_ref(),
        serde_json::to_value(&view.rules).ok().as_ref(),
    );
    if let Some(w) = &webhook {
        if w.url.is_some() {
            changes.push(hks_core::audit::set("webhook.url", "changed"));
        }
        if w.secret.is_some() {
            changes.push(hks_core::audit::set("webhook.secret", "changed"));
        }
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

/// Send a test delivery now, once, to the project's webhook (or the one a
/// CronJob uses), and say how the receiver answered. Nothing is stored.
#[utoipa::path(post, path = "/projects/{project}/alerts/test", tag = "alerts", params(("project" = String, Path), TestQuery),
    responses((status = 200, body = TestDeliveryView, description = "How the receiver answered; `delivered` is false when it did not."),
        (status = 404, body = ErrorBody, description = "No such project or CronJob (`not_found`)."),
        (status = 409, body = ErrorBody, description = "no webhook is configured")),
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
        delivered: sent.delivered,
        status: sent.status,
        error: sent.error,
    }))
}
