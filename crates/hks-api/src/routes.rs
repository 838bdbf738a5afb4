//! HTTP handlers. Each one authenticates, calls into [`crate::service`], and
//! shapes the answer; errors become responses in [`crate::error`] only.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use hks_core::run::Run;
use hks_core::spec::{ApplicationSpec, ApplicationType, CronJobSpec, validate_name};
use hks_core::{Code, Invalid, formats};
use hks_kube::{LogOptions, TenantCluster};
use hks_store::Application;
use jiff::Timestamp;

use crate::AppState;
use crate::dto::*;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Admin, AnyCaller, JsonBody, Path, Query, Tenant};
use crate::{history, service};

type Result<T, E = ApiError> = std::result::Result<T, E>;

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

// ---- admin ----

/// Create a tenant with its cluster connection.
#[utoipa::path(post, path = "/api/v1/admin/tenants", tag = "admin", request_body = CreateTenant,
    responses((status = 201, body = TenantView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
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

#[utoipa::path(get, path = "/api/v1/admin/tenants", tag = "admin", responses((status = 200, body = Vec<TenantView>)), security(("admin" = [])))]
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

async fn tenant_named(state: &AppState, name: &str) -> Result<hks_store::Tenant> {
    state
        .store()
        .tenant_by_name(name)
        .await
        .map_err(|e| match e {
            hks_store::StoreError::NotFound => ApiError::NotFound("tenant"),
            other => other.into(),
        })
}

#[utoipa::path(get, path = "/api/v1/admin/tenants/{tenant}", tag = "admin", params(("tenant" = String, Path)),
    responses((status = 200, body = TenantView), (status = 404, body = ErrorBody)), security(("admin" = [])))]
pub async fn get_tenant(
    _: Admin,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Json<TenantView>> {
    Ok(Json(tenant_named(&state, &tenant).await?.into()))
}

/// Replace a tenant's cluster connection.
#[utoipa::path(put, path = "/api/v1/admin/tenants/{tenant}/cluster", tag = "admin", params(("tenant" = String, Path)), request_body = UpdateCluster,
    responses((status = 200, body = TenantView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)), security(("admin" = [])))]
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
        .update_tenant_cluster(&t.id, &body.cluster)
        .await?;
    state.gateway().forget(&t.id);
    Ok(Json(tenant_named(&state, &tenant).await?.into()))
}

/// Delete a tenant, its tokens, projects and applications. The objects in
/// its cluster are left alone.
#[utoipa::path(delete, path = "/api/v1/admin/tenants/{tenant}", tag = "admin", params(("tenant" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("admin" = [])))]
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
#[utoipa::path(post, path = "/api/v1/admin/tenants/{tenant}/tokens", tag = "admin", params(("tenant" = String, Path)), request_body = CreateToken,
    responses((status = 201, body = CreatedToken), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)), security(("admin" = [])))]
pub async fn create_token(
    _: Admin,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    JsonBody(body): JsonBody<CreateToken>,
) -> Result<(StatusCode, Json<CreatedToken>)> {
    validate_name("name", &body.name, 63)?;
    let t = tenant_named(&state, &tenant).await?;
    let (info, secret) = state.store().create_token(&t.id, &body.name).await?;
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

#[utoipa::path(get, path = "/api/v1/admin/tenants/{tenant}/tokens", tag = "admin", params(("tenant" = String, Path)),
    responses((status = 200, body = Vec<TokenView>), (status = 404, body = ErrorBody)), security(("admin" = [])))]
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

#[utoipa::path(delete, path = "/api/v1/admin/tenants/{tenant}/tokens/{token}", tag = "admin", params(("tenant" = String, Path), ("token" = String, Path, description = "the token's name")),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("admin" = [])))]
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
    Ok(StatusCode::NO_CONTENT)
}

// ---- projects ----

#[utoipa::path(get, path = "/api/v1/projects", tag = "projects", responses((status = 200, body = Vec<ProjectView>)), security(("token" = [])))]
pub async fn list_projects(
    tenant: Tenant,
    State(state): State<AppState>,
) -> Result<Json<Vec<ProjectView>>> {
    Ok(Json(
        state
            .store()
            .list_projects(&tenant.0.tenant_id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// Create a project: a namespace in the tenant's cluster.
#[utoipa::path(post, path = "/api/v1/projects", tag = "projects", request_body = CreateProject,
    responses((status = 201, body = ProjectView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("token" = [])))]
pub async fn create_project(
    tenant: Tenant,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreateProject>,
) -> Result<(StatusCode, Json<ProjectView>)> {
    let p = service::create_project(&state, &tenant, &body.name).await?;
    Ok((StatusCode::CREATED, Json(p.into())))
}

#[utoipa::path(get, path = "/api/v1/projects/{project}", tag = "projects", params(("project" = String, Path)),
    responses((status = 200, body = ProjectView), (status = 404, body = ErrorBody)), security(("token" = [])))]
pub async fn get_project(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(project): Path<String>,
) -> Result<Json<ProjectView>> {
    Ok(Json(
        service::project(&state, &tenant, &project).await?.into(),
    ))
}

/// Delete a project, its namespace and everything in it.
#[utoipa::path(delete, path = "/api/v1/projects/{project}", tag = "projects", params(("project" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)), security(("token" = [])))]
pub async fn delete_project(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(project): Path<String>,
) -> Result<StatusCode> {
    let p = service::project(&state, &tenant, &project).await?;
    service::delete_project(&state, &tenant, &p).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- applications ----

#[utoipa::path(get, path = "/api/v1/projects/{project}/applications", tag = "applications", params(("project" = String, Path), ApplicationFilter),
    responses((status = 200, body = Vec<ApplicationView>), (status = 404, body = ErrorBody)), security(("token" = [])))]
pub async fn list_applications(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(project): Path<String>,
    Query(filter): Query<ApplicationFilter>,
) -> Result<Json<Vec<ApplicationView>>> {
    let p = service::project(&state, &tenant, &project).await?;
    let apps = state.store().list_applications(&p.id, filter.kind).await?;
    Ok(Json(
        apps.into_iter()
            .map(application_view)
            .collect::<Result<_>>()?,
    ))
}

/// Create an application of any type (a CronJob too).
#[utoipa::path(post, path = "/api/v1/projects/{project}/applications", tag = "applications", params(("project" = String, Path)), request_body = CreateApplication,
    responses((status = 201, body = ApplicationView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("token" = [])))]
pub async fn create_application(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(project): Path<String>,
    JsonBody(body): JsonBody<CreateApplication>,
) -> Result<(StatusCode, Json<ApplicationView>)> {
    let p = service::project(&state, &tenant, &project).await?;
    let spec = service::parse_spec(body.kind, body.spec)?;
    let app = service::create_application(&state, &tenant, &p, &body.name, spec).await?;
    Ok((StatusCode::CREATED, Json(application_view(app)?)))
}

#[utoipa::path(get, path = "/api/v1/projects/{project}/applications/{name}", tag = "applications", params(("project" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = ApplicationView), (status = 404, body = ErrorBody)), security(("token" = [])))]
pub async fn get_application(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((project, name)): Path<(String, String)>,
) -> Result<Json<ApplicationView>> {
    let p = service::project(&state, &tenant, &project).await?;
    Ok(Json(application_view(
        service::application(&state, &p, &name, None).await?,
    )?))
}

#[utoipa::path(put, path = "/api/v1/projects/{project}/applications/{name}", tag = "applications", params(("project" = String, Path), ("name" = String, Path)),
    request_body = UpdateApplication,
    responses((status = 200, body = ApplicationView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("token" = [])))]
pub async fn update_application(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((project, name)): Path<(String, String)>,
    JsonBody(body): JsonBody<UpdateApplication>,
) -> Result<Json<ApplicationView>> {
    let p = service::project(&state, &tenant, &project).await?;
    service::application(&state, &p, &name, None).await?;
    let spec = service::parse_spec(body.kind, body.spec)?;
    Ok(Json(application_view(
        service::update_application(&state, &tenant, &p, &name, spec).await?,
    )?))
}

#[utoipa::path(delete, path = "/api/v1/projects/{project}/applications/{name}", tag = "applications", params(("project" = String, Path), ("name" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)), security(("token" = [])))]
pub async fn delete_application(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((project, name)): Path<(String, String)>,
) -> Result<StatusCode> {
    let p = service::project(&state, &tenant, &project).await?;
    service::delete_application(&state, &tenant, &p, &name, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The Kubernetes objects an application would be applied as; nothing is stored or applied.
#[utoipa::path(post, path = "/api/v1/projects/{project}/manifests", tag = "applications", params(("project" = String, Path)), request_body = CreateApplication,
    responses((status = 200, body = ManifestPreview), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)), security(("token" = [])))]
pub async fn preview_manifests(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(project): Path<String>,
    JsonBody(body): JsonBody<CreateApplication>,
) -> Result<Json<ManifestPreview>> {
    let p = service::project(&state, &tenant, &project).await?;
    let spec = service::parse_spec(body.kind, body.spec)?;
    let objects = service::preview(&state, &tenant, &p, &body.name, spec).await?;
    let objects = objects
        .iter()
        .map(|o| match o {
            hks_kube::Object::Namespace(x) => serde_json::to_value(x),
            hks_kube::Object::Deployment(x) => serde_json::to_value(x),
            hks_kube::Object::Service(x) => serde_json::to_value(x),
            hks_kube::Object::CronJob(x) => serde_json::to_value(x),
        })
        .collect::<Result<_, _>>()
        .map_err(|e| ApiError::Internal(Box::new(e)))?;
    Ok(Json(ManifestPreview { objects }))
}

// ---- cronjobs ----

/// A response whose body is JSON already serialised.
fn json_bytes(body: axum::body::Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The CronJobs of a project with their next and last runs.
#[utoipa::path(get, path = "/api/v1/projects/{project}/cronjobs", tag = "cronjobs", params(("project" = String, Path)),
    responses((status = 200, body = Vec<CronJobSummary>), (status = 404, body = ErrorBody)), security(("token" = [])))]
pub async fn list_cronjobs(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(project): Path<String>,
) -> Result<Response> {
    let p = service::project(&state, &tenant, &project).await?;
    let now = Timestamp::now();
    // Read before deriving, so a change while deriving makes the result stale.
    let stamp = state
        .lists()
        .stamp(state.gateway().view_version(&tenant.0.tenant_id));
    if let Some(body) = stamp.and_then(|s| state.lists().get(&p.id, s, now)) {
        return Ok(json_bytes(body));
    }
    let _deriving = match stamp {
        Some(stamp) => {
            let guard = state.lists().derive_lock(&p.id).await;
            // Another request may have derived it while this one waited.
            if let Some(body) = state.lists().get(&p.id, stamp, now) {
                return Ok(json_bytes(body));
            }
            Some(guard)
        }
        None => None,
    };
    let apps = state
        .store()
        .list_applications(&p.id, Some(ApplicationType::Cronjob))
        .await?;
    let observed = service::observe(&state, &tenant, &p).await?;
    let last_runs = history::last_runs(observed.as_ref(), state.store().latest_runs(&p.id).await?);
    let summaries: Vec<CronJobSummary> = apps
        .iter()
        .filter_map(|a| service::summarize(a, observed.as_ref(), &last_runs, now))
        .collect();
    let body = axum::body::Bytes::from(
        serde_json::to_vec(&summaries).map_err(|e| ApiError::Internal(Box::new(e)))?,
    );
    if let Some(stamp) = stamp.filter(|_| observed.is_some()) {
        // Valid until the earliest next run, and a minute at most.
        let cap = now
            .checked_add(jiff::SignedDuration::from_secs(60))
            .unwrap_or(now);
        let valid_until = summaries
            .iter()
            .filter_map(|s| s.next_run)
            .fold(cap, Timestamp::min);
        state.lists().put(&p.id, stamp, valid_until, body.clone());
    }
    Ok(json_bytes(body))
}

#[utoipa::path(post, path = "/api/v1/projects/{project}/cronjobs", tag = "cronjobs", params(("project" = String, Path)), request_body = CreateCronJob,
    responses((status = 201, body = CronJobView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("token" = [])))]
pub async fn create_cronjob(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(project): Path<String>,
    JsonBody(body): JsonBody<CreateCronJob>,
) -> Result<(StatusCode, Json<CronJobView>)> {
    let p = service::project(&state, &tenant, &project).await?;
    let app = service::create_application(
        &state,
        &tenant,
        &p,
        &body.name,
        ApplicationSpec::Cronjob(body.spec),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(service::cronjob_view(&state, &tenant, &p, app).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/projects/{project}/cronjobs/{name}", tag = "cronjobs", params(("project" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = CronJobView), (status = 404, body = ErrorBody)), security(("token" = [])))]
pub async fn get_cronjob(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((project, name)): Path<(String, String)>,
) -> Result<Json<CronJobView>> {
    let p = service::project(&state, &tenant, &project).await?;
    let app = service::application(&state, &p, &name, Some(ApplicationType::Cronjob)).await?;
    Ok(Json(service::cronjob_view(&state, &tenant, &p, app).await?))
}

/// Replace a CronJob's spec (edit).
#[utoipa::path(put, path = "/api/v1/projects/{project}/cronjobs/{name}", tag = "cronjobs", params(("project" = String, Path), ("name" = String, Path)),
    request_body = CronJobSpec,
    responses((status = 200, body = CronJobView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("token" = [])))]
pub async fn update_cronjob(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((project, name)): Path<(String, String)>,
    JsonBody(spec): JsonBody<CronJobSpec>,
) -> Result<Json<CronJobView>> {
    let p = service::project(&state, &tenant, &project).await?;
    service::application(&state, &p, &name, Some(ApplicationType::Cronjob)).await?;
    let app =
        service::update_application(&state, &tenant, &p, &name, ApplicationSpec::Cronjob(spec))
            .await?;
    Ok(Json(service::cronjob_view(&state, &tenant, &p, app).await?))
}

async fn set_suspend(
    state: &AppState,
    tenant: &Tenant,
    project: &str,
    name: &str,
    suspend: bool,
) -> Result<Json<CronJobView>> {
    let p = service::project(state, tenant, project).await?;
    let app = service::application(state, &p, name, Some(ApplicationType::Cronjob)).await?;
    let ApplicationSpec::Cronjob(mut spec) = app.spec else {
        return Err(ApiError::NotFound("CronJob"));
    };
    spec.suspend = suspend;
    let app = service::update_application(state, tenant, &p, name, ApplicationSpec::Cronjob(spec))
        .await?;
    Ok(Json(service::cronjob_view(state, tenant, &p, app).await?))
}

/// Stop scheduling runs (a running run goes on).
#[utoipa::path(post, path = "/api/v1/projects/{project}/cronjobs/{name}/suspend", tag = "cronjobs", params(("project" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = CronJobView), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)), security(("token" = [])))]
pub async fn suspend_cronjob(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((project, name)): Path<(String, String)>,
) -> Result<Json<CronJobView>> {
    set_suspend(&state, &tenant, &project, &name, true).await
}

#[utoipa::path(post, path = "/api/v1/projects/{project}/cronjobs/{name}/resume", tag = "cronjobs", params(("project" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = CronJobView), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)), security(("token" = [])))]
pub async fn resume_cronjob(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((project, name)): Path<(String, String)>,
) -> Result<Json<CronJobView>> {
    set_suspend(&state, &tenant, &project, &name, false).await
}

/// Delete a CronJob; its Jobs and pods go with it.
#[utoipa::path(delete, path = "/api/v1/projects/{project}/cronjobs/{name}", tag = "cronjobs", params(("project" = String, Path), ("name" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)), security(("token" = [])))]
pub async fn delete_cronjob(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((project, name)): Path<(String, String)>,
) -> Result<StatusCode> {
    let p = service::project(&state, &tenant, &project).await?;
    service::delete_application(&state, &tenant, &p, &name, Some(ApplicationType::Cronjob)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The runs of a CronJob, scheduled and manual, newest first.
#[utoipa::path(get, path = "/api/v1/projects/{project}/cronjobs/{name}/runs", tag = "cronjobs", params(("project" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = Vec<Run>), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)), security(("token" = [])))]
pub async fn list_runs(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((project, name)): Path<(String, String)>,
) -> Result<Json<Vec<Run>>> {
    let p = service::project(&state, &tenant, &project).await?;
    service::application(&state, &p, &name, Some(ApplicationType::Cronjob)).await?;
    Ok(Json(history::runs(&state, &tenant, &p, &name).await?))
}

/// Run now: a Job from the CronJob's full jobTemplate, marked manual with who started it.
#[utoipa::path(post, path = "/api/v1/projects/{project}/cronjobs/{name}/runs", tag = "cronjobs", params(("project" = String, Path), ("name" = String, Path)),
    responses((status = 201, body = Run), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)), security(("token" = [])))]
pub async fn run_now(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((project, name)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Run>)> {
    let p = service::project(&state, &tenant, &project).await?;
    service::application(&state, &p, &name, Some(ApplicationType::Cronjob)).await?;
    let conn = service::connection(&state, &tenant.0.tenant_id).await?;
    let run = state
        .gateway()
        .run_now(
            TenantCluster {
                tenant_id: &tenant.0.tenant_id,
                connection: &conn,
            },
            &p.namespace,
            &name,
            &tenant.who(),
        )
        .await
        .map_err(|e| match e {
            // Stored but not in the cluster (deleted by hand): the reconciler re-applies it.
            hks_kube::KubeError::NotFound => ApiError::Conflict(format!(
                "CronJob '{name}' is not in the cluster right now; it is re-applied within a minute, try again then"
            )),
            other => other.into(),
        })?;
    tracing::info!(tenant = %tenant.0.tenant_name, project = %p.name, cronjob = %name, run = %run.name, "Started a manual run.");
    Ok((StatusCode::CREATED, Json(run)))
}

/// Default cap on the bytes of log returned per attempt.
const DEFAULT_LOG_LIMIT_BYTES: i64 = 1024 * 1024;

/// The logs of a run: every attempt as JSON, or with `follow=true` one
/// attempt streamed as text while it runs.
#[utoipa::path(get, path = "/api/v1/projects/{project}/cronjobs/{name}/runs/{run}/logs", tag = "cronjobs",
    params(("project" = String, Path), ("name" = String, Path), ("run" = String, Path), LogQuery),
    responses((status = 200, body = RunLogs, description = "JSON; with follow=true, text/plain streamed"), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("token" = [])))]
pub async fn run_logs(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((project, name, run)): Path<(String, String, String)>,
    Query(q): Query<LogQuery>,
) -> Result<Response> {
    let p = service::project(&state, &tenant, &project).await?;
    service::application(&state, &p, &name, Some(ApplicationType::Cronjob)).await?;
    for (field, v) in [("tailLines", q.tail_lines), ("limitBytes", q.limit_bytes)] {
        if v.is_some_and(|v| v <= 0) {
            return Err(Invalid::one(field, Code::OutOfRange, "must be a positive number").into());
        }
    }
    let options = LogOptions {
        attempt: q.attempt,
        tail_lines: q.tail_lines,
        limit_bytes: Some(q.limit_bytes.unwrap_or(DEFAULT_LOG_LIMIT_BYTES)),
        timestamps: q.timestamps,
    };
    let conn = service::connection(&state, &tenant.0.tenant_id).await?;
    let cluster = TenantCluster {
        tenant_id: &tenant.0.tenant_id,
        connection: &conn,
    };
    if q.follow {
        let stream = history::follow(&state, cluster, &p, &name, &run, &options).await?;
        let body = Body::from_stream(stream.map(|r| r.map_err(std::io::Error::other)));
        return Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response());
    }
    let attempts = history::logs(&state, cluster, &p, &name, &run, &options).await?;
    Ok(Json(RunLogs { run, attempts }).into_response())
}

// ---- schedules ----

/// A schedule in words, its next runs (DST notes included), warnings and errors.
#[utoipa::path(post, path = "/api/v1/schedules/preview", tag = "schedules", request_body = PreviewRequest,
    responses((status = 200, description = "the preview; `errors` is not empty for an invalid schedule", body = Object), (status = 400, body = ErrorBody)),
    security(("token" = []), ("admin" = [])))]
pub async fn schedule_preview(
    _: AnyCaller,
    JsonBody(body): JsonBody<PreviewRequest>,
) -> Result<Response> {
    let count = body.count.unwrap_or(5);
    if count == 0 || count > hks_schedule::MAX_PREVIEW_RUNS {
        return Err(Invalid::one(
            "count",
            Code::OutOfRange,
            format!("must be between 1 and {}", hks_schedule::MAX_PREVIEW_RUNS),
        )
        .into());
    }
    let preview = hks_schedule::preview(
        &body.schedule,
        &body.time_zone,
        body.after.unwrap_or_else(Timestamp::now),
        count,
    );
    Ok(Json(preview).into_response())
}
