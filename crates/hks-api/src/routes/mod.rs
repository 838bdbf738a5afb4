//! HTTP handlers, one module per resource. Each handler authenticates
//! (its extractors), calls the application service ([`hks_app`]) with the
//! caller's principal, and shapes the answer; errors become responses in
//! [`crate::error`] only.

pub mod admin;
pub mod alerts;
pub mod applications;
pub mod audit;
pub mod cronjobs;
pub mod projectfile;
pub mod projects;
pub mod runs;
pub mod schedules;

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

/// Every API route, relative to `/api/v1`, with its OpenAPI operation.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(admin::router())
        .merge(projects::router())
        .merge(projectfile::router())
        .merge(applications::router())
        .merge(cronjobs::router())
        .merge(runs::router())
        .merge(alerts::router())
        .merge(schedules::router())
        .merge(audit::router())
}
