//! The OpenAPI document, served at `/api/v1/openapi.json` and committed as
//! `crates/hks-api/openapi.json` (a test fails when that file is stale).

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{alert_routes, routes};

#[derive(OpenApi)]
#[openapi(
    info(title = "HKS API", description = "Projects, applications and CronJobs on the tenant's Kubernetes cluster."),
    paths(
        routes::create_tenant, routes::list_tenants, routes::get_tenant, routes::update_tenant_cluster, routes::delete_tenant,
        routes::create_token, routes::list_tokens, routes::delete_token,
        routes::list_projects, routes::create_project, routes::get_project, routes::delete_project,
        routes::list_applications, routes::create_application, routes::get_application, routes::update_application, routes::delete_application,
        routes::preview_manifests,
        routes::list_cronjobs, routes::create_cronjob, routes::get_cronjob, routes::update_cronjob, routes::delete_cronjob,
        routes::suspend_cronjob, routes::resume_cronjob, routes::list_runs, routes::run_now, routes::run_logs,
        routes::schedule_preview,
        alert_routes::get_project_alerts, alert_routes::put_project_alerts, alert_routes::delete_project_alerts,
        alert_routes::get_cronjob_alerts, alert_routes::put_cronjob_alerts, alert_routes::delete_cronjob_alerts,
        alert_routes::alert_history, alert_routes::test_alert,
    ),
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
    let mut s = ApiDoc::openapi().to_pretty_json().unwrap_or_default();
    s.push('\n');
    s
}
