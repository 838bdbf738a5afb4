//! CronJobs: the list with next and last runs, one CronJob with everything about it, edits, suspend and resume.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use hks_app::commands::{self, Written};
use hks_app::tenancy::{self, Scope};
use hks_app::views;
use hks_core::spec::{
    ApplicationSpec, ApplicationType, CronJobSpec, SuspendRequest, validate_suspend_request,
};
use hks_store::Project;
use jiff::Timestamp;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::dto::*;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{JsonBody, OptionalJsonBody, Path, Tenant};
use crate::list_cache::{Derived, Stamp};

type Result<T, E = ApiError> = std::result::Result<T, E>;

/// This resource's routes, each listed once: the router and the OpenAPI document both come from them.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_cronjobs, create_cronjob))
        .routes(routes!(get_cronjob, update_cronjob, delete_cronjob))
        .routes(routes!(suspend_cronjob))
        .routes(routes!(resume_cronjob))
}

/// A response whose body is JSON already serialised.
fn json_bytes(body: axum::body::Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The CronJobs of a project with their next and last runs.
#[utoipa::path(get, path = "/projects/{project}/cronjobs", tag = "cronjobs", params(("project" = String, Path)),
    responses((status = 200, body = Vec<CronJobSummary>, description = "The project's CronJobs; with the cluster unreachable, its state is `Unknown`."), (status = 404, body = ErrorBody, description = "No such project (`not_found`).")),
    security(("token" = [])))]
pub async fn list_cronjobs(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(project): Path<String>,
) -> Result<Response> {
    let p = tenancy::project(&state, &tenant.principal, &project).await?;
    let now = Timestamp::now();
    // Read before deriving, so a change while deriving makes the result stale.
    let stamp = Stamp::of(
        state.writes(&tenant.principal.tenant_id),
        state.gateway().view_version(&tenant.principal.tenant_id),
    );
    let body = state
        .lists()
        .get_or_derive(&p.id, stamp, now, || async {
            let scope = Scope::of(&state, &tenant.principal).await?;
            let (summaries, seen) = views::cronjob_list(&state, &scope, &p, now).await?;
            let body =
                serde_json::to_vec(&summaries).map_err(|e| ApiError::Internal(Box::new(e)))?;
            // Valid until the earliest next run, and a minute at most.
            let cap = now
                .checked_add(jiff::SignedDuration::from_secs(60))
                .unwrap_or(now);
            let valid_until = summaries
                .iter()
                .filter_map(|s| s.next_run)
                .fold(cap, Timestamp::min);
            Ok::<_, ApiError>(Derived {
                body: body.into(),
                valid_until: seen.then_some(valid_until),
            })
        })
        .await?;
    Ok(json_bytes(body))
}

#[utoipa::path(post, path = "/projects/{project}/cronjobs", tag = "cronjobs", params(("project" = String, Path)), request_body = CreateCronJob,
    responses(
        (status = 201, body = CronJobView, description = "The CronJob, applied to the cluster.",
            links(
                ("GetCronJob" = (operation_id = "get_cronjob", parameters(("project" = "$request.path.project"), ("name" = "$response.body#/name")))),
                ("UpdateCronJob" = (operation_id = "update_cronjob", parameters(("project" = "$request.path.project"), ("name" = "$response.body#/name")))),
                ("RunNow" = (operation_id = "run_now", parameters(("project" = "$request.path.project"), ("name" = "$response.body#/name")))),
                ("ListRuns" = (operation_id = "list_runs", parameters(("project" = "$request.path.project"), ("name" = "$response.body#/name")))),
                ("SuspendCronJob" = (operation_id = "suspend_cronjob", parameters(("project" = "$request.path.project"), ("name" = "$response.body#/name")))),
                ("ResumeCronJob" = (operation_id = "resume_cronjob", parameters(("project" = "$request.path.project"), ("name" = "$response.body#/name")))),
                ("GetCronJobAlerts" = (operation_id = "get_cronjob_alerts", parameters(("project" = "$request.path.project"), ("name" = "$response.body#/name")))),
                ("DeleteCronJob" = (operation_id = "delete_cronjob", parameters(("project" = "$request.path.project"), ("name" = "$response.body#/name")))),
            )),
        (status = 400, body = ErrorBody, description = "The name or the spec is invalid, or refers to what does not exist (`invalid`)."),
        (status = 404, body = ErrorBody, description = "No such project (`not_found`)."),
        (status = 409, body = ErrorBody, description = "The project has an application of this name (`conflict`)."),
        (status = 422, body = ErrorBody, description = "The tenant's cluster refused the objects (`cluster_rejected`); nothing was stored."), (status = 503, body = ErrorBody, description = "The tenant's cluster is unreachable (`cluster_unavailable`); nothing was changed.")),
    security(("token" = [])))]
pub async fn create_cronjob(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(project): Path<String>,
    JsonBody(body): JsonBody<CreateCronJob>,
) -> Result<(StatusCode, Json<CronJobView>)> {
    let p = tenancy::project(&state, &tenant.principal, &project).await?;
    let written = commands::create_application(
        &state,
        &tenant.principal,
        &p,
        &body.name,
        ApplicationSpec::Cronjob(body.spec),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(view_of(&state, &p, written).await?),
    ))
}

#[utoipa::path(get, path = "/projects/{project}/cronjobs/{name}", tag = "cronjobs", params(("project" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = CronJobView, description = "The CronJob with everything about it."), (status = 404, body = ErrorBody, description = "No such project or CronJob (`not_found`).")), security(("token" = [])))]
pub async fn get_cronjob(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((project, name)): Path<(String, String)>,
) -> Result<Json<CronJobView>> {
    let p = tenancy::project(&state, &tenant.principal, &project).await?;
    let app = tenancy::application(&state, &p, &name, Some(ApplicationType::Cronjob)).await?;
    let scope = Scope::of(&state, &tenant.principal).await?;
    Ok(Json(views::cronjob_view(&state, &scope, &p, app).await?))
}

/// Replace a CronJob's spec (edit).
#[utoipa::path(put, path = "/projects/{project}/cronjobs/{name}", tag = "cronjobs", params(("project" = String, Path), ("name" = String, Path)),
    request_body(content = CronJobSpec, example = json!({
        "schedule": "30 4 * * *", "timeZone": "Europe/Berlin",
        "template": {"application": "web", "mode": "follow"},
        "command": {"argv": ["/app/report", "--since", "24h"]}
    })),
    responses((status = 200, body = CronJobView, description = "The CronJob with its new spec, applied."),
        (status = 400, body = ErrorBody, description = "The spec is invalid, or refers to what does not exist (`invalid`)."),
        (status = 404, body = ErrorBody, description = "No such project or CronJob (`not_found`)."), (status = 422, body = ErrorBody, description = "The tenant's cluster refused the objects (`cluster_rejected`); nothing was stored."), (status = 503, body = ErrorBody, description = "The tenant's cluster is unreachable (`cluster_unavailable`); nothing was changed.")),
    security(("token" = [])))]
pub async fn update_cronjob(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((project, name)): Path<(String, String)>,
    JsonBody(spec): JsonBody<CronJobSpec>,
) -> Result<Json<CronJobView>> {
    let p = tenancy::project(&state, &tenant.principal, &project).await?;
    let written = commands::update_application(
        &state,
        &tenant.principal,
        &p,
        &name,
        Some(ApplicationType::Cronjob),
        ApplicationSpec::Cronjob(spec),
    )
    .await?;
    Ok(Json(view_of(&state, &p, written).await?))
}

async fn set_suspend(
    state: &AppState,
    tenant: &Tenant,
    project: &str,
    name: &str,
    suspend: bool,
    reason: Option<String>,
) -> Result<Json<CronJobView>> {
    let p = tenancy::project(state, &tenant.principal, project).await?;
    let written =
        commands::set_suspend(state, &tenant.principal, &p, name, suspend, reason).await?;
    Ok(Json(view_of(state, &p, written).await?))
}

/// The view of a CronJob just written, from its plan.
async fn view_of(state: &AppState, p: &Project, written: Written) -> Result<CronJobView> {
    Ok(views::written_view(state, p, written).await?)
}

/// Stop scheduling runs (a running run goes on). An optional note says
/// why; the CronJob shows it (`suspension`) with who suspended it and when,
/// until it is resumed.
#[utoipa::path(post, path = "/projects/{project}/cronjobs/{name}/suspend", tag = "cronjobs", params(("project" = String, Path), ("name" = String, Path)),
    request_body(content = Option<SuspendRequest>, description = "Why it is suspended; none: no note."),
    responses((status = 200, body = CronJobView, description = "The CronJob, suspended."), (status = 400, body = ErrorBody, description = "An invalid note (`reason`); nothing was changed."), (status = 404, body = ErrorBody, description = "No such project or CronJob (`not_found`)."), (status = 422, body = ErrorBody, description = "The tenant's cluster refused the objects (`cluster_rejected`); nothing was stored."), (status = 503, body = ErrorBody, description = "The tenant's cluster is unreachable (`cluster_unavailable`); nothing was changed.")), security(("token" = [])))]
pub async fn suspend_cronjob(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((project, name)): Path<(String, String)>,
    OptionalJsonBody(request): OptionalJsonBody<SuspendRequest>,
) -> Result<Json<CronJobView>> {
    let reason = validate_suspend_request(&request.unwrap_or_default())?;
    set_suspend(&state, &tenant, &project, &name, true, reason).await
}

#[utoipa::path(post, path = "/projects/{project}/cronjobs/{name}/resume", tag = "cronjobs", params(("project" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = CronJobView, description = "The CronJob, scheduling again."), (status = 404, body = ErrorBody, description = "No such project or CronJob (`not_found`)."), (status = 422, body = ErrorBody, description = "The tenant's cluster refused the objects (`cluster_rejected`); nothing was stored."), (status = 503, body = ErrorBody, description = "The tenant's cluster is unreachable (`cluster_unavailable`); nothing was changed.")), security(("token" = [])))]
pub async fn resume_cronjob(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((project, name)): Path<(String, String)>,
) -> Result<Json<CronJobView>> {
    set_suspend(&state, &tenant, &project, &name, false, None).await
}

/// Delete a CronJob; its Jobs and pods go with it.
#[utoipa::path(delete, path = "/projects/{project}/cronjobs/{name}", tag = "cronjobs", params(("project" = String, Path), ("name" = String, Path)),
    responses((status = 204, description = "Deleted, with its Jobs and pods."), (status = 404, body = ErrorBody, description = "No such project or CronJob (`not_found`)."),
        (status = 422, body = ErrorBody, description = "The tenant's cluster refused to delete it (`cluster_rejected`)."), (status = 503, body = ErrorBody, description = "The tenant's cluster is unreachable (`cluster_unavailable`); nothing was changed.")),
    security(("token" = [])))]
pub async fn delete_cronjob(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((project, name)): Path<(String, String)>,
) -> Result<StatusCode> {
    let p = tenancy::project(&state, &tenant.principal, &project).await?;
    commands::delete_application(
        &state,
        &tenant.principal,
        &p,
        &name,
        Some(ApplicationType::Cronjob),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
