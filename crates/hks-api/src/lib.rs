//! HKS's HTTP API: the only crate that knows HTTP and JSON.
//!
//! [`router`] builds the whole application from an [`AppState`] (the store,
//! a [`hks_kube::Gateway`], the admin token's hash); it is also the test
//! seam. Handlers live in [`routes`], the write rules in [`service`], and
//! [`error`] is the one place errors become status codes and bodies.

pub mod alert_routes;
pub mod dto;
pub mod error;
pub mod extract;
pub mod history;
mod list_cache;
pub mod openapi;
pub mod recorder;
pub mod routes;
pub mod service;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use hks_kube::Gateway;
use hks_store::Store;
use metrics_exporter_prometheus::PrometheusHandle;
use secrecy::{ExposeSecret, SecretString};
use tower_http::trace::TraceLayer;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    gateway: Arc<dyn Gateway>,
    admin_token_hash: Option<String>,
    locks: service::ProjectLocks,
    generations: service::Generations,
    lists: list_cache::ListCache,
    metrics: Option<PrometheusHandle>,
    invoke_image: String,
    alerter: hks_alerting::Alerter,
    limits: HttpLimits,
    /// One permit per request being handled, at most `limits.max_concurrent_requests`.
    in_flight: Arc<tokio::sync::Semaphore>,
}

/// Bounds on what one request may cost, so a flood from one client slows
/// the others as little as possible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// The longest a request may take until its response starts (a
    /// followed log then streams on without this limit); then 503 `timeout`.
    pub request_timeout: Duration,
    /// Requests handled at once; more are refused with 503 `overloaded`.
    pub max_concurrent_requests: usize,
    /// The largest request body; a larger one is refused with 413.
    pub max_body_bytes: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(60),
            max_concurrent_requests: 1024,
            max_body_bytes: 2 * 1024 * 1024,
        }
    }
}

/// The HTTP-client image of CronJobs that call a Function, unless the
/// installation names another: the development cluster's base image, which
/// has `/bin/hks-invoke`.
pub const DEFAULT_INVOKE_IMAGE: &str = "hks.local/busybox:1";

impl AppState {
    /// `admin_token`: the installation's admin token; without one, the admin
    /// endpoints answer 401.
    pub fn new(
        store: Store,
        gateway: Arc<dyn Gateway>,
        admin_token: Option<&SecretString>,
        metrics: Option<PrometheusHandle>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                alerter: hks_alerting::Alerter::new(store.clone()),
                store,
                gateway,
                admin_token_hash: admin_token.map(|t| hks_store::token_hash(t.expose_secret())),
                locks: service::ProjectLocks::default(),
                generations: service::Generations::default(),
                lists: list_cache::ListCache::default(),
                metrics,
                invoke_image: DEFAULT_INVOKE_IMAGE.to_owned(),
                limits: HttpLimits::default(),
                in_flight: Arc::new(tokio::sync::Semaphore::new(
                    HttpLimits::default().max_concurrent_requests,
                )),
            }),
        }
    }

    /// Another HTTP-client image (it must have `/bin/hks-invoke`) for
    /// CronJobs that call a Function. Call it right after [`AppState::new`].
    pub fn with_invoke_image(mut self, image: impl Into<String>) -> Self {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.invoke_image = image.into(),
            None => unreachable!("with_invoke_image is called before the state is shared"),
        }
        self
    }

    /// Other [`HttpLimits`]. Call it right after [`AppState::new`].
    pub fn with_http_limits(mut self, limits: HttpLimits) -> Self {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => {
                inner.in_flight = Arc::new(tokio::sync::Semaphore::new(
                    limits.max_concurrent_requests.max(1),
                ));
                inner.limits = limits;
            }
            None => unreachable!("with_http_limits is called before the state is shared"),
        }
        self
    }

    pub fn invoke_image(&self) -> &str {
        &self.inner.invoke_image
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Raises alerts on runs (for the run recorder) and sends test deliveries.
    pub fn alerter(&self) -> &hks_alerting::Alerter {
        &self.inner.alerter
    }

    pub fn gateway(&self) -> &dyn Gateway {
        self.inner.gateway.as_ref()
    }

    pub(crate) fn lists(&self) -> &list_cache::ListCache {
        &self.inner.lists
    }

    pub(crate) fn admin_token_hash(&self) -> Option<&String> {
        self.inner.admin_token_hash.as_ref()
    }

    pub(crate) fn locks(&self) -> &service::ProjectLocks {
        &self.inner.locks
    }

    pub(crate) fn generations(&self) -> &service::Generations {
        &self.inner.generations
    }
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    use routes::*;
    let api = Router::new()
        .route("/admin/tenants", post(create_tenant).get(list_tenants))
        .route(
            "/admin/tenants/{tenant}",
            get(get_tenant).delete(delete_tenant),
        )
        .route(
            "/admin/tenants/{tenant}/cluster",
            put(update_tenant_cluster),
        )
        .route(
            "/admin/tenants/{tenant}/tokens",
            post(create_token).get(list_tokens),
        )
        .route(
            "/admin/tenants/{tenant}/tokens/{token}",
            axum::routing::delete(delete_token),
        )
        .route("/projects", get(list_projects).post(create_project))
        .route(
            "/projects/{project}",
            get(get_project).delete(delete_project),
        )
        .route(
            "/projects/{project}/applications",
            get(list_applications).post(create_application),
        )
        .route(
            "/projects/{project}/applications/{name}",
            get(get_application)
                .put(update_application)
                .delete(delete_application),
        )
        .route("/projects/{project}/manifests", post(preview_manifests))
        .route(
            "/projects/{project}/cronjobs",
            get(list_cronjobs).post(create_cronjob),
        )
        .route(
            "/projects/{project}/cronjobs/{name}",
            get(get_cronjob).put(update_cronjob).delete(delete_cronjob),
        )
        .route(
            "/projects/{project}/cronjobs/{name}/suspend",
            post(suspend_cronjob),
        )
        .route(
            "/projects/{project}/cronjobs/{name}/resume",
            post(resume_cronjob),
        )
        .route(
            "/projects/{project}/cronjobs/{name}/runs",
            get(list_runs).post(run_now),
        )
        .route(
            "/projects/{project}/cronjobs/{name}/runs/{run}/logs",
            get(run_logs),
        )
        .route(
            "/projects/{project}/alerts",
            get(alert_routes::get_project_alerts)
                .put(alert_routes::put_project_alerts)
                .delete(alert_routes::delete_project_alerts),
        )
        .route(
            "/projects/{project}/alerts/history",
            get(alert_routes::alert_history),
        )
        .route(
            "/projects/{project}/alerts/test",
            post(alert_routes::test_alert),
        )
        .route(
            "/projects/{project}/cronjobs/{name}/alerts",
            get(alert_routes::get_cronjob_alerts)
                .put(alert_routes::put_cronjob_alerts)
                .delete(alert_routes::delete_cronjob_alerts),
        )
        .route("/schedules/preview", post(schedule_preview))
        .route("/openapi.json", get(openapi_json))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(state.inner.limits.max_body_bytes))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            limit_requests,
        ));
    Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .layer(middleware::from_fn(record_metrics))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// The application `hks serve` serves: [`router`] and, when `console` is a
/// built console (it has `index.html`), the console's files at every other
/// path (unknown ones get `index.html`: the console routes in the browser).
/// Every response carries [`security_headers`].
pub fn app(state: AppState, console: Option<&Path>) -> Router {
    let mut app = router(state);
    if let Some(dir) = console.filter(|d| d.join("index.html").is_file()) {
        let index = tower_http::services::ServeFile::new(dir.join("index.html"));
        app = app.fallback_service(tower_http::services::ServeDir::new(dir).fallback(index));
    }
    app.layer(middleware::map_response(security_headers))
}

/// The console's policy: its own scripts, styles and API only, never in a
/// frame (no clickjacking), no type sniffing, no full URLs sent elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        h.entry(name)
            .or_insert(axum::http::HeaderValue::from_static(value));
    }
    response
}

/// Refuses a request when [`HttpLimits::max_concurrent_requests`] are
/// being handled (503 `overloaded`, at once rather than queued, so a flood
/// cannot make others wait), and answers 503 `timeout` to one not answered
/// within [`HttpLimits::request_timeout`].
async fn limit_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Ok(_permit) = state.inner.in_flight.clone().try_acquire_owned() else {
        tracing::warn!("Request refused: too many requests in flight.");
        return error::ApiError::Overloaded.into_response();
    };
    match tokio::time::timeout(state.inner.limits.request_timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!("Request timed out.");
            error::ApiError::Timeout.into_response()
        }
    }
}

async fn not_found() -> error::ApiError {
    error::ApiError::NotFound("endpoint")
}

async fn openapi_json() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        openapi::document(),
    )
        .into_response()
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.store().ping().await {
        Ok(()) => "ready".into_response(),
        Err(error) => {
            tracing::warn!(%error, "Not ready: the database does not answer.");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    match &state.inner.metrics {
        Some(h) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            h.render(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "metrics are not enabled").into_response(),
    }
}

/// Request count and latency by route (the route's pattern, never the raw
/// path), method (the standard ones, else `other`) and status, so a client
/// cannot add label values: each label has a fixed, small set of values.
async fn record_metrics(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = method_label(req.method());
    let start = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("hks_http_requests_total", "method" => method, "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("hks_http_request_duration_seconds", "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    response
}

/// The `method` label: one of the methods HTTP defines, or `other` for
/// invented ones (any token is a valid method).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// Runs [`service::reconcile`] every `interval` until the task is aborted.
pub fn spawn_reconciler(state: AppState, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match service::reconcile(&state).await {
                Ok(r) => tracing::debug!(
                    projects = r.projects,
                    failed = r.failed_projects,
                    applied = r.applied,
                    unchanged = r.unchanged,
                    orphans = r.orphans_deleted,
                    "Reconciled."
                ),
                Err(error) => tracing::warn!(%error, "Reconciliation pass failed."),
            }
        }
    })
}
