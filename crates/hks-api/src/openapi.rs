//! The OpenAPI document, served at `/api/v1/openapi.json` and committed as
//! `crates/hks-api/openapi.json` (a test fails when that file is stale).
//! Its operations come from the routes themselves ([`routes::api`]), so a
//! route cannot be served without being documented.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "HKS API", description = "Projects, applications and CronJobs on the tenant's Kubernetes cluster."),
    components(schemas(
        hks_core::spec::StatelessSpec, hks_core::spec::CronJobSpec, hks_core::spec::FunctionSpec,
        hks_core::Problem, hks_core::Code,
    )),
    modifiers(&Security),
    tags(
        (name = "admin", description = "Tenants and their API tokens (admin token)."),
        (name = "projects"), (name = "applications"), (name = "cronjobs"), (name = "schedules"),
        (name = "alerts", description = "Alerts on runs, per project or per CronJob, delivered by signed webhook."),
    )
)]
#[derive(Debug)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer =
            || SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build());
        components.add_security_scheme("token", bearer());
        components.add_security_scheme("admin", bearer());
    }
}

/// The document as committed: pretty JSON with a final newline.
pub fn document() -> String {
    let doc =
        utoipa_axum::router::OpenApiRouter::<crate::AppState>::with_openapi(ApiDoc::openapi())
            .nest("/api/v1", routes::api())
            .into_openapi();
    let mut s = doc.to_pretty_json().unwrap_or_default();
    s.push('\n');
    s
}
