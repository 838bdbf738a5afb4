//! A tenant's projects: each a namespace in the tenant's cluster.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::dto::*;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{JsonBody, Path, Tenant};
use hks_app::{commands, tenancy};

type Result<T, E = ApiError> = std::result::Result<T, E>;

/// This resource's routes, each listed once: the router and the OpenAPI document both come from them.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_projects, create_project))
        .routes(routes!(get_project, delete_project))
}

#[utoipa::path(get, path = "/projects", tag = "projects",
    responses((status = 200, body = Vec<ProjectView>, description = "The tenant's projects.")), security(("token" = [])))]
pub async fn list_projects(
    tenant: Tenant,
    State(state): State<AppState>,
) -> Result<Json<Vec<ProjectView>>> {
    Ok(Json(
        state
            .store()
            .list_projects(&tenant.principal.tenant_id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// Create a project: a namespace in the tenant's cluster.
#[utoipa::path(post, path = "/projects", tag = "projects", request_body = CreateProject,
    responses(
        (status = 201, body = ProjectView, description = "The project, with its namespace.",
            links(
                ("GetProject" = (operation_id = "get_project", parameters(("project" = "$response.body#/name")))),
                ("ListApplications" = (operation_id = "list_applications", parameters(("project" = "$response.body#/name")))),
                ("CreateApplication" = (operation_id = "create_application", parameters(("project" = "$response.body#/name")))),
                ("ListCronJobs" = (operation_id = "list_cronjobs", parameters(("project" = "$response.body#/name")))),
                ("CreateCronJob" = (operation_id = "create_cronjob", parameters(("project" = "$response.body#/name")))),
                ("DeleteProject" = (operation_id = "delete_project", parameters(("project" = "$response.body#/name")))),
            )),
        (status = 400, body = ErrorBody, description = "The name is invalid (`invalid`)."),
        (status = 409, body = ErrorBody, description = "The tenant has a project of this name (`conflict`)."),
        (status = 422, body = ErrorBody, description = "The tenant's cluster refused the namespace (`cluster_rejected`)."),
        (status = 503, body = ErrorBody, description = "The tenant's cluster is unreachable (`cluster_unavailable`); nothing was changed.")),
    security(("token" = [])))]
pub async fn create_project(
    tenant: Tenant,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreateProject>,
) -> Result<(StatusCode, Json<ProjectView>)> {
    let p = commands::create_project(&state, &tenant.principal, &body.name).await?;
    Ok((StatusCode::CREATED, Json(p.into())))
}

#[utoipa::path(get, path = "/projects/{project}", tag = "projects", params(("project" = String, Path)),
    responses((status = 200, body = ProjectView, description = "The project."),
        (status = 404, body = ErrorBody, description = "No such project (`not_found`).")),
    security(("token" = [])))]
pub async fn get_project(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(project): Path<String>,
) -> Result<Json<ProjectView>> {
    Ok(Json(
        tenancy::project(&state, &tenant.principal, &project)
            .await?
            .into(),
    ))
}

/// Delete a project, its namespace and everything in it.
#[utoipa::path(delete, path = "/projects/{project}", tag = "projects", params(("project" = String, Path)),
    responses((status = 204, description = "Deleted."), (status = 404, body = ErrorBody, description = "No such project (`not_found`)."),
        (status = 422, body = ErrorBody, description = "The tenant's cluster refused to delete the namespace (`cluster_rejected`)."),
        (status = 503, body = ErrorBody, description = "The tenant's cluster is unreachable (`cluster_unavailable`); nothing was changed.")),
    security(("token" = [])))]
pub async fn delete_project(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(project): Path<String>,
) -> Result<StatusCode> {
    let p = tenancy::project(&state, &tenant.principal, &project).await?;
    commands::delete_project(&state, &tenant.principal, &p).await?;
    Ok(StatusCode::NO_CONTENT)
}
