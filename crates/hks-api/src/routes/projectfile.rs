//! A project as a file (issue 18): export it, and apply a file to it (or
//! preview what applying would change). The file's format is
//! `hks_core::projectfile`'s; its JSON Schema is served beside the OpenAPI
//! document, at `/api/v1/projectfile.schema.json`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use hks_app::{projectfile, tenancy};
use hks_core::projectfile::{Action, Change, Values};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{JsonBody, Path, Tenant};

type Result<T, E = ApiError> = std::result::Result<T, E>;

/// This resource's routes, each listed once: the router and the OpenAPI document both come from them.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export_file, apply_file))
}

/// The media type of a project file.
pub const YAML: &str = "application/yaml";

/// A project file to apply, or to preview.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"content": "version: 1\n", "dryRun": true}))]
pub struct ApplyFile {
    /// The file's text: YAML, as `GET .../file` gives it (its JSON Schema
    /// is `/api/v1/projectfile.schema.json`).
    pub content: String,
    /// Only check the file and say what applying it would change.
    #[serde(default)]
    pub dry_run: bool,
    /// Also delete what the file does not name: applications, and alert
    /// settings (the project's default, a CronJob's own).
    #[serde(default)]
    pub prune: bool,
    /// The values of the file's webhook references (`{fromEnv: NAME}`,
    /// `{fromFile: PATH}`), by their path in the file, like
    /// `cronjobs.nightly.alerts.webhook.secret`. A reference without a
    /// value keeps the stored value; a new webhook needs both. Write-only.
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, String>, write_only)]
    pub values: BTreeMap<String, SecretString>,
}

/// What an apply changed, or (a dry run) would change.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplyResult {
    /// Nothing was changed: these are the changes applying would make.
    pub dry_run: bool,
    /// The changes, in the order they are made: templates and Functions
    /// before the CronJobs that use them, deletions (with `prune`) last,
    /// CronJobs before what they used. Empty when the project matches the file.
    pub changes: Vec<Change>,
    /// For people: how many of each kind, or that there is nothing to change.
    #[schema(example = "2 to create, 1 to change, 0 to delete")]
    pub summary: String,
}

/// The words for a list of changes.
pub fn summary(changes: &[Change], dry_run: bool) -> String {
    if changes.is_empty() {
        return "nothing to change: the project matches the file".into();
    }
    let count = |a: Action| changes.iter().filter(|c| c.action == a).count();
    let (create, update, delete) = (
        count(Action::Create),
        count(Action::Update),
        count(Action::Delete),
    );
    if dry_run {
        format!("{create} to create, {update} to change, {delete} to delete")
    } else {
        format!("{create} created, {update} changed, {delete} deleted")
    }
}

/// The project as a file: its applications and alert settings, in a
/// stable order (the same project gives the same bytes). Webhook URLs and
/// secrets are written as where to read them, never as values.
#[utoipa::path(get, path = "/projects/{project}/file", tag = "projects", params(("project" = String, Path)),
    responses((status = 200, description = "The project file, YAML.", content((String = "application/yaml"))),
        (status = 404, body = ErrorBody, description = "No such project (`not_found`).")),
    security(("token" = [])))]
pub async fn export_file(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(project): Path<String>,
) -> Result<Response> {
    let p = tenancy::project(&state, &tenant.principal, &project).await?;
    let text = projectfile::export(&state, &p).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/yaml; charset=utf-8")],
        text,
    )
        .into_response())
}

/// Make the project match a file, or (`dryRun`) say what that would
/// change, field by field. The whole file is checked first: when any part
/// is invalid, nothing is changed and every problem is reported with its
/// path in the file (`cronjobs.nightly.schedule`), line and column. A
/// webhook URL or secret written into the file is refused.
#[utoipa::path(post, path = "/projects/{project}/file", tag = "projects", params(("project" = String, Path)), request_body = ApplyFile,
    responses((status = 200, body = ApplyResult, description = "The changes made (or, with `dryRun`, that would be made); none when the project matches the file."),
        (status = 400, body = ErrorBody, description = "The file is invalid (`invalid`); each problem has its path, line and column. Nothing was changed."),
        (status = 404, body = ErrorBody, description = "No such project (`not_found`)."),
        (status = 409, body = ErrorBody, description = "A change conflicts with the project's state (`conflict`); the message says how many changes were made before it."),
        (status = 422, body = ErrorBody, description = "The tenant's cluster refused a change's objects (`cluster_rejected`); the message says how many changes were made before it."),
        (status = 503, body = ErrorBody, description = "The tenant's cluster is unreachable (`cluster_unavailable`); the message says how many changes were made before it.")),
    security(("token" = [])))]
pub async fn apply_file(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(project): Path<String>,
    JsonBody(body): JsonBody<ApplyFile>,
) -> Result<Json<ApplyResult>> {
    let p = tenancy::project(&state, &tenant.principal, &project).await?;
    let values: Values = body.values;
    let changes = projectfile::apply(
        &state,
        &tenant.principal,
        &p,
        &body.content,
        &values,
        projectfile::Options {
            dry_run: body.dry_run,
            prune: body.prune,
        },
    )
    .await?;
    Ok(Json(ApplyResult {
        dry_run: body.dry_run,
        summary: summary(&changes, body.dry_run),
        changes,
    }))
}
