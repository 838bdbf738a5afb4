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

#[utoipa::path(get, path = "/projects", tag = "projects", responses((status = 200, body = Vec<ProjectView>)), security(("token" = [])))]
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
    responses((status = 201, body = ProjectView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)),
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
    responses((status = 200, body = ProjectView), (status = 404, body = ErrorBody)), security(("token" = [])))]
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
    responses((status = 204), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)), security(("token" = [])))]
pub async fn delete_project(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(project): Path<String>,
) -> Result<StatusCode> {
    let p = tenancy::project(&state, &tenant.principal, &project).await?;
    commands::delete_project(&state, &tenant.principal, &p).await?;
    Ok(StatusCode::NO_CONTENT)
}
