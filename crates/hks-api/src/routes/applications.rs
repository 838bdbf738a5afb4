//! Applications of any type (Stateless, CronJob, Function) and manifest previews.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::dto::*;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{JsonBody, Path, Query, Tenant, parse};
use hks_app::{commands, tenancy};
use hks_core::spec::{ApplicationSpec, ApplicationType};
use hks_store::Application;

type Result<T, E = ApiError> = std::result::Result<T, E>;

/// This resource's routes, each listed once: the router and the OpenAPI document both come from them.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_applications, create_application))
        .routes(routes!(
            get_application,
            update_application,
            delete_application
        ))
        .routes(routes!(preview_manifests))
}

/// The spec of an application of type `kind`, parsed with field paths under `spec`.
fn parse_spec(kind: ApplicationType, value: serde_json::Value) -> Result<ApplicationSpec> {
    let bytes = serde_json::to_vec(&value).map_err(|e| ApiError::Internal(Box::new(e)))?;
    Ok(match kind {
        ApplicationType::Stateless => ApplicationSpec::Stateless(parse(&bytes, "spec")?),
        ApplicationType::Cronjob => ApplicationSpec::Cronjob(parse(&bytes, "spec")?),
        ApplicationType::Function => ApplicationSpec::Function(parse(&bytes, "spec")?),
    })
}

fn application_view(app: Application) -> Result<ApplicationView> {
    let (kind, spec) = match &app.spec {
        ApplicationSpec::Stateless(s) => (ApplicationType::Stateless, serde_json::to_value(s)),
        ApplicationSpec::Cronjob(c) => (ApplicationType::Cronjob, serde_json::to_value(c)),
        ApplicationSpec::Function(f) => (ApplicationType::Function, serde_json::to_value(f)),
    };
    Ok(ApplicationView {
        name: app.name,
        kind,
        spec: spec.map_err(|e| ApiError::Internal(Box::new(e)))?,
        generation: app.generation,
        created_at: app.created_at,
        updated_at: app.updated_at,
    })
}

#[utoipa::path(get, path = "/projects/{project}/applications", tag = "applications", params(("project" = String, Path), ApplicationFilter),
    responses((status = 200, body = Vec<ApplicationView>, description = "The project's applications."), (status = 404, body = ErrorBody, description = "No such project (`not_found`).")), security(("token" = [])))]
pub async fn list_applications(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(project): Path<String>,
    Query(filter): Query<ApplicationFilter>,
) -> Result<Json<Vec<ApplicationView>>> {
    let p = tenancy::project(&state, &tenant.principal, &project).await?;
    let apps = state.store().list_applications(&p.id, filter.kind).await?;
    Ok(Json(
        apps.into_iter()
            .map(application_view)
            .collect::<Result<_>>()?,
    ))
}

/// Create an application of any type (a CronJob too).
#[utoipa::path(post, path = "/projects/{project}/applications", tag = "applications", params(("project" = String, Path)), request_body = CreateApplication,
    responses(
        (status = 201, body = ApplicationView, description = "The application, applied to the cluster.",
            links(
                ("GetApplication" = (operation_id = "get_application", parameters(("project" = "$request.path.project"), ("name" = "$response.body#/name")))),
                ("UpdateApplication" = (operation_id = "update_application", parameters(("project" = "$request.path.project"), ("name" = "$response.body#/name")))),
                ("DeleteApplication" = (operation_id = "delete_application", parameters(("project" = "$request.path.project"), ("name" = "$response.body#/name")))),
            )),
        (status = 400, body = ErrorBody, description = "The name or the spec is invalid, or refers to what does not exist (`invalid`)."),
        (status = 404, body = ErrorBody, description = "No such project (`not_found`)."),
        (status = 409, body = ErrorBody, description = "The project has an application of this name (`conflict`)."),
        (status = 422, body = ErrorBody, description = "The tenant's cluster refused the objects (`cluster_rejected`); nothing was stored."), (status = 503, body = ErrorBody, description = "The tenant's cluster is unreachable (`cluster_unavailable`); nothing was changed.")),
    security(("token" = [])))]
pub async fn create_application(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(project): Path<String>,
    JsonBody(body): JsonBody<CreateApplication>,
) -> Result<(StatusCode, Json<ApplicationView>)> {
    let p = tenancy::project(&state, &tenant.principal, &project).await?;
    let spec = parse_spec(body.kind, body.spec)?;
    let written =
        commands::create_application(&state, &tenant.principal, &p, &body.name, spec).await?;
    Ok((
        StatusCode::CREATED,
        Json(application_view(written.application)?),
    ))
}

#[utoipa::path(get, path = "/projects/{project}/applications/{name}", tag = "applications", params(("project" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = ApplicationView, description = "The application."), (status = 404, body = ErrorBody, description = "No such project or application (`not_found`).")), security(("token" = [])))]
pub async fn get_application(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((project, name)): Path<(String, String)>,
) -> Result<Json<ApplicationView>> {
    let p = tenancy::project(&state, &tenant.principal, &project).await?;
    Ok(Json(application_view(
        tenancy::application(&state, &p, &name, None).await?,
    )?))
}

#[utoipa::path(put, path = "/projects/{project}/applications/{name}", tag = "applications", params(("project" = String, Path), ("name" = String, Path)),
    request_body = UpdateApplication,
    responses((status = 200, body = ApplicationView, description = "The application with its new spec, applied."),
        (status = 400, body = ErrorBody, description = "The spec is invalid, or its type is not the application's (`invalid`)."),
        (status = 404, body = ErrorBody, description = "No such project or application (`not_found`)."), (status = 422, body = ErrorBody, description = "The tenant's cluster refused the objects (`cluster_rejected`); nothing was stored."), (status = 503, body = ErrorBody, description = "The tenant's cluster is unreachable (`cluster_unavailable`); nothing was changed.")),
    security(("token" = [])))]
pub async fn update_application(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((project, name)): Path<(String, String)>,
    JsonBody(body): JsonBody<UpdateApplication>,
) -> Result<Json<ApplicationView>> {
    let p = tenancy::project(&state, &tenant.principal, &project).await?;
    tenancy::application(&state, &p, &name, None).await?;
    let spec = parse_spec(body.kind, body.spec)?;
    Ok(Json(application_view(
        commands::update_application(&state, &tenant.principal, &p, &name, None, spec)
            .await?
            .application,
    )?))
}

#[utoipa::path(delete, path = "/projects/{project}/applications/{name}", tag = "applications", params(("project" = String, Path), ("name" = String, Path)),
    responses((status = 204, description = "Deleted, with its objects in the cluster."), (status = 404, body = ErrorBody, description = "No such project or application (`not_found`)."),
        (status = 409, body = ErrorBody, description = "CronJobs follow it as their template, or call it (`conflict`)."),
        (status = 422, body = ErrorBody, description = "The tenant's cluster refused to delete its objects (`cluster_rejected`)."), (status = 503, body = ErrorBody, description = "The tenant's cluster is unreachable (`cluster_unavailable`); nothing was changed.")),
    security(("token" = [])))]
pub async fn delete_application(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((project, name)): Path<(String, String)>,
) -> Result<StatusCode> {
    let p = tenancy::project(&state, &tenant.principal, &project).await?;
    commands::delete_application(&state, &tenant.principal, &p, &name, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The Kubernetes objects an application would be applied as; nothing is stored or applied.
#[utoipa::path(post, path = "/projects/{project}/manifests", tag = "applications", params(("project" = String, Path)), request_body = CreateApplication,
    responses((status = 200, body = ManifestPreview, description = "The objects, as JSON."),
        (status = 400, body = ErrorBody, description = "The name or the spec is invalid (`invalid`)."), (status = 404, body = ErrorBody, description = "No such project (`not_found`).")),
    security(("token" = [])))]
pub async fn preview_manifests(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(project): Path<String>,
    JsonBody(body): JsonBody<CreateApplication>,
) -> Result<Json<ManifestPreview>> {
    let p = tenancy::project(&state, &tenant.principal, &project).await?;
    let spec = parse_spec(body.kind, body.spec)?;
    let objects = commands::preview(&state, &tenant.principal, &p, &body.name, spec).await?;
    let objects = objects
        .iter()
        .map(|o| match o {
            hks_kube::Object::Namespace(x) => serde_json::to_value(x),
            hks_kube::Object::LimitRange(x) => serde_json::to_value(x),
            hks_kube::Object::Deployment(x) => serde_json::to_value(x),
            hks_kube::Object::Service(x) => serde_json::to_value(x),
            hks_kube::Object::CronJob(x) => serde_json::to_value(x),
        })
        .collect::<Result<_, _>>()
        .map_err(|e| ApiError::Internal(Box::new(e)))?;
    Ok(Json(ManifestPreview { objects }))
}
