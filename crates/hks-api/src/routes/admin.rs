//! The installation's admin: tenants with their cluster connections, and their API tokens.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::dto::*;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Admin, JsonBody, Path};
use hks_app::tenancy::tenant_named;
use hks_core::spec::validate_name;
use hks_core::{Code, Invalid, formats};

type Result<T, E = ApiError> = std::result::Result<T, E>;

/// This resource's routes, each listed once: the router and the OpenAPI document both come from them.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_tenant, list_tenants))
        .routes(routes!(get_tenant, delete_tenant))
        .routes(routes!(update_tenant_cluster))
        .routes(routes!(create_token, list_tokens))
        .routes(routes!(delete_token))
}

/// Create a tenant with its cluster connection.
#[utoipa::path(post, path = "/admin/tenants", tag = "admin", request_body = CreateTenant,
    responses(
        (status = 201, body = TenantView, description = "The tenant; its connection is shown without credentials.",
            links(
                ("GetTenant" = (operation_id = "get_tenant", parameters(("tenant" = "$response.body#/name")))),
                ("CreateToken" = (operation_id = "create_token", parameters(("tenant" = "$response.body#/name")))),
                ("ListTokens" = (operation_id = "list_tokens", parameters(("tenant" = "$response.body#/name")))),
                ("UpdateTenantCluster" = (operation_id = "update_tenant_cluster", parameters(("tenant" = "$response.body#/name")))),
                ("DeleteTenant" = (operation_id = "delete_tenant", parameters(("tenant" = "$response.body#/name")))),
            )),
        (status = 400, body = ErrorBody, description = "The name or the connection is invalid, or its kubeconfig unusable (`invalid`)."),
        (status = 409, body = ErrorBody, description = "A tenant of this name exists (`conflict`).")),
    security(("admin" = [])))]
pub async fn create_tenant(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreateTenant>,
) -> Result<(StatusCode, Json<TenantView>)> {
    let mut problems = Vec::new();
    if let Err(e) = validate_name("name", &body.name, formats::MAX_TENANT_NAME) {
        problems.extend(e.problems);
    }
    if let Err(e) = body.cluster.validate() {
        problems.extend(e.problems);
    }
    if !problems.is_empty() {
        return Err(Invalid { problems }.into());
    }
    check_connection(&state, &body.cluster).await?;
    let t = state
        .store()
        .create_tenant(&body.name, &body.cluster)
        .await?;
    Ok((StatusCode::CREATED, Json(t.into())))
}

#[utoipa::path(get, path = "/admin/tenants", tag = "admin",
    responses((status = 200, body = Vec<TenantView>, description = "Every tenant.")), security(("admin" = [])))]
pub async fn list_tenants(
    _: Admin,
    State(state): State<AppState>,
) -> Result<Json<Vec<TenantView>>> {
    Ok(Json(
        state
            .store()
            .list_tenants()
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// A connection the gateway cannot use is invalid input, reported on its kubeconfig.
async fn check_connection(
    state: &AppState,
    cluster: &hks_core::tenant::ClusterConnection,
) -> Result<()> {
    match state.gateway().check_connection(cluster).await {
        Ok(()) => Ok(()),
        Err(hks_kube::KubeError::Misconfigured(why)) => {
            let field = match cluster {
                hks_core::tenant::ClusterConnection::Kubeconfig { .. } => "cluster.kubeconfig",
                hks_core::tenant::ClusterConnection::Vcluster { .. } => "cluster.hostKubeconfig",
            };
            Err(Invalid::one(field, Code::UnusableKubeconfig, why).into())
        }
        Err(other) => Err(other.into()),
    }
}

#[utoipa::path(get, path = "/admin/tenants/{tenant}", tag = "admin", params(("tenant" = String, Path)),
    responses((status = 200, body = TenantView, description = "The tenant."), (status = 404, body = ErrorBody, description = "No such tenant (`not_found`).")), security(("admin" = [])))]
pub async fn get_tenant(
    _: Admin,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Json<TenantView>> {
    Ok(Json(tenant_named(&state, &tenant).await?.into()))
}

/// Replace a tenant's cluster connection. Unless `previousCluster` is
/// `keep`, the tenant's project namespaces in the previous cluster are
/// deleted in the background.
#[utoipa::path(put, path = "/admin/tenants/{tenant}/cluster", tag = "admin", params(("tenant" = String, Path)), request_body = UpdateCluster,
    responses((status = 200, body = TenantView, description = "The tenant with its new connection."),
        (status = 400, body = ErrorBody, description = "The connection is invalid, or its kubeconfig unusable (`invalid`)."),
        (status = 404, body = ErrorBody, description = "No such tenant (`not_found`).")), security(("admin" = [])))]
pub async fn update_tenant_cluster(
    _: Admin,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    JsonBody(body): JsonBody<UpdateCluster>,
) -> Result<Json<TenantView>> {
    body.cluster.validate()?;
    check_connection(&state, &body.cluster).await?;
    let t = tenant_named(&state, &tenant).await?;
    state
        .store()
        .update_tenant_cluster(
            &t.id,
            &body.cluster,
            match body.previous_cluster {
                PreviousCluster::CleanUp => hks_store::Previous::CleanUp,
                PreviousCluster::Keep => hks_store::Previous::Keep,
            },
        )
        .await?;
    state.gateway().forget(&t.id);
    Ok(Json(tenant_named(&state, &tenant).await?.into()))
}

/// Delete a tenant, its tokens, projects and applications. Its project
/// namespaces are deleted from its cluster in the background (retried until
/// done, also across restarts), and HKS's finalizers released there, so
/// nothing keeps running.
#[utoipa::path(delete, path = "/admin/tenants/{tenant}", tag = "admin", params(("tenant" = String, Path)),
    responses((status = 204, description = "Deleted."), (status = 404, body = ErrorBody, description = "No such tenant (`not_found`).")), security(("admin" = [])))]
pub async fn delete_tenant(
    _: Admin,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<StatusCode> {
    let t = tenant_named(&state, &tenant).await?;
    state.store().delete_tenant(&t.id).await?;
    state.gateway().forget(&t.id);
    Ok(StatusCode::NO_CONTENT)
}

/// Create an API token for a tenant; the token is in this response only.
#[utoipa::path(post, path = "/admin/tenants/{tenant}/tokens", tag = "admin", params(("tenant" = String, Path)), request_body = CreateToken,
    responses(
        (status = 201, body = CreatedToken, description = "The token, shown this once.",
            links(
                ("DeleteToken" = (operation_id = "delete_token", parameters(("tenant" = "$request.path.tenant"), ("token" = "$response.body#/name")))),
            )),
        (status = 400, body = ErrorBody, description = "The name is invalid (`invalid`)."),
        (status = 404, body = ErrorBody, description = "No such tenant (`not_found`)."),
        (status = 409, body = ErrorBody, description = "The tenant has a token of this name (`conflict`).")),
    security(("admin" = [])))]
pub async fn create_token(
    _: Admin,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    JsonBody(body): JsonBody<CreateToken>,
) -> Result<(StatusCode, Json<CreatedToken>)> {
    validate_name("name", &body.name, crate::dto::MAX_TOKEN_NAME)?;
    let t = tenant_named(&state, &tenant).await?;
    let (info, secret) = state.store().create_token(&t.id, &body.name).await?;
    hks_app::audit::record(
        &state,
        &t.id,
        None,
        hks_app::audit::ADMIN,
        hks_core::audit::AuditAction::TokenCreate,
        &format!("token/{}", info.name),
        &[],
    )
    .await;
    use secrecy::ExposeSecret;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            name: info.name,
            token: secret.expose_secret().to_owned(),
            created_at: info.created_at,
        }),
    ))
}

#[utoipa::path(get, path = "/admin/tenants/{tenant}/tokens", tag = "admin", params(("tenant" = String, Path)),
    responses((status = 200, body = Vec<TokenView>, description = "The tenant's tokens, without their secrets."), (status = 404, body = ErrorBody, description = "No such tenant (`not_found`).")),
    security(("admin" = [])))]
pub async fn list_tokens(
    _: Admin,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Json<Vec<TokenView>>> {
    let t = tenant_named(&state, &tenant).await?;
    let tokens = state.store().list_tokens(&t.id).await?;
    Ok(Json(
        tokens
            .into_iter()
            .map(|i| TokenView {
                name: i.name,
                created_at: i.created_at,
            })
            .collect(),
    ))
}

#[utoipa::path(delete, path = "/admin/tenants/{tenant}/tokens/{token}", tag = "admin", params(("tenant" = String, Path), ("token" = String, Path, description = "the token's name")),
    responses((status = 204, description = "Deleted: the token no longer works."),
        (status = 404, body = ErrorBody, description = "No such tenant, or no such token (`not_found`).")),
    security(("admin" = [])))]
pub async fn delete_token(
    _: Admin,
    State(state): State<AppState>,
    Path((tenant, token)): Path<(String, String)>,
) -> Result<StatusCode> {
    let t = tenant_named(&state, &tenant).await?;
    state
        .store()
        .delete_token(&t.id, &token)
        .await
        .map_err(|e| match e {
            hks_store::StoreError::NotFound => ApiError::NotFound("token"),
            other => other.into(),
        })?;
    hks_app::audit::record(
        &state,
        &t.id,
        None,
        hks_app::audit::ADMIN,
        hks_core::audit::AuditAction::TokenDelete,
        &format!("token/{token}"),
        &[],
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
