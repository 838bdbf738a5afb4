//! HKS's HTTP API: the only crate that knows HTTP.
//!
//! [`router`] builds the whole HTTP application from an [`AppState`] (the
//! application service [`hks_app::App`], the admin token's hash, the HTTP
//! limits); it is also the test seam. Handlers live in [`routes`], one
//! module per resource, each route listed once for both the router and the
//! OpenAPI document; what they do is [`hks_app`]'s; [`error`] is the one
//! place errors become status codes and bodies.

pub mod dto;
pub mod error;
pub mod extract;
mod follows;
mod list_cache;
pub mod openapi;
pub mod routes;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hks_app::App;
use hks_kube::Gateway;
use hks_store::Store;
use metrics_exporter_prometheus::PrometheusHandle;
use secrecy::{ExposeSecret, SecretString};
use tower_http::trace::TraceLayer;

/// What every handler can reach: the application service (which it
/// dereferences to) and what only HTTP needs.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    app: App,
    admin_token_hash: Option<String>,
    lists: list_cache::ListCache,
    metrics: Option<PrometheusHandle>,
    limits: HttpLimits,
    /// One permit per request being handled, at most `limits.max_concurrent_requests`.
    in_flight: Arc<tokio::sync::Semaphore>,
    /// The followed logs open now.
    follows: follows::Follows,
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
    /// Followed logs one tenant may have open at once; more get 429
    /// `too_many_requests`.
    pub max_follows_per_tenant: usize,
    /// Followed logs open at once in all; more get 429 `too_many_requests`.
    pub max_follows: usize,
    /// How often a followed log checks that its token is still valid; it
    /// ends when the token was revoked or its tenant deleted.
    pub follow_recheck: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(60),
            max_concurrent_requests: 1024,
            max_body_bytes: 2 * 1024 * 1024,
            max_follows_per_tenant: 8,
            max_follows: 256,
            follow_recheck: Duration::from_secs(5),
        }
    }
}

pub use hks_app::DEFAULT_INVOKE_IMAGE;

impl std::ops::Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.inner.app
    }
}

impl AppState {
    /// `admin_token`: the installation's admin token; without one, the admin
    /// endpoints answer 401.
    pub fn new(
        store: Store,
        gateway: Arc<dyn Gateway>,
        admin_token: Option<&SecretString>,
        metrics: Option<PrometheusHandle>,
    ) -> Self {
        Self::of(App::new(store, gateway), admin_token, metrics)
    }

    /// The HTTP state over an application service (which `hks serve` shares
    /// with the background work).
    pub fn of(
        app: App,
        admin_token: Option<&SecretString>,
        metrics: Option<PrometheusHandle>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                app,
                admin_token_hash: admin_token.map(|t| hks_store::token_hash(t.expose_secret())),
                lists: list_cache::ListCache::default(),
                metrics,
                limits: HttpLimits::default(),
                in_flight: Arc::new(tokio::sync::Semaphore::new(
                    HttpLimits::default().max_concurrent_requests,
                )),
                follows: follows::Follows::default(),
            }),
        }
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

    /// The application service.
    pub fn app(&self) -> &App {
        &self.inner.app
    }

    pub(crate) fn lists(&self) -> &list_cache::ListCache {
        &self.inner.lists
    }

    pub(crate) fn admin_token_hash(&self) -> Option<&String> {
        self.inner.admin_token_hash.as_ref()
    }

    pub(crate) fn limits(&self) -> &HttpLimits {
        &self.inner.limits
    }

    pub(crate) fn follows(&self) -> &follows::Follows {
        &self.inner.follows
    }

    /// Ends every followed log, now and from now on: a graceful shutdown
    /// waits for open responses, and a followed log may never end itself.
    pub fn shut_down(&self) {
        self.inner.follows.shut_down();
    }
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let (api, _) = routes::api().split_for_parts();
    let api = api
        .route("/openapi.json", get(openapi_json))
        .route("/projectfile.schema.json", get(projectfile_schema))
        .fallback(not_found)
        // A method the path does not have: 405 in the error shape (axum's
        // own has an empty body); axum adds the `Allow` header to it.
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.inner.limits.max_body_bytes))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            limit_requests,
        ));
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .nest("/api/v1", api)
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

async fn method_not_allowed() -> error::ApiError {
    error::ApiError::MethodNotAllowed
}

async fn openapi_json() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        openapi::document(),
    )
        .into_response()
}

async fn projectfile_schema() -> Response {
    (
        [(header::CONTENT_TYPE, "application/schema+json")],
        openapi::projectfile_schema(),
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
