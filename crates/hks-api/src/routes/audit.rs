//! The audit log: who changed what in a project, or in the whole tenant,
//! newest first, in pages.

use axum::Json;
use axum::extract::State;
use hks_app::tenancy;
use hks_core::audit::{AuditAction, AuditEntry};
use hks_core::{Code, Invalid};
use hks_store::AuditFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Path, Query, Tenant};

type Result<T, E = ApiError> = std::result::Result<T, E>;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(project_audit))
        .routes(routes!(tenant_audit))
}

const DEFAULT_PAGE: u32 = 50;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct AuditQuery {
    /// At most this many (default 50, at most 200).
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u32>,
    /// Only entries older than this id: the `nextBefore` of the page before.
    pub before: Option<i64>,
    /// Only this action, such as `cronjob.update` or `run.cancel`.
    pub action: Option<String>,
    /// Only entries about this target (`cronjob/nightly`), or with a
    /// trailing `/` about this kind (`token/`).
    pub target: Option<String>,
    /// Only what this actor (`tenant/token`, or `admin`) did.
    pub actor: Option<String>,
}

/// One page of the log.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    /// Newest first.
    pub entries: Vec<AuditEntry>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before: Option<i64>,
}

fn filter(q: &AuditQuery, project: Option<String>) -> Result<(AuditFilter, u32)> {
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    let mut problems = hks_core::problem::Problems::new();
    if !(1..=hks_app::audit::MAX_PAGE).contains(&limit) {
        problems.push(
            "limit",
            Code::OutOfRange,
            format!("must be between 1 and {}", hks_app::audit::MAX_PAGE),
            None,
        );
    }
    let action = match q.action.as_deref() {
        None => None,
        Some(a) => match AuditAction::parse(a) {
            Some(a) => Some(a),
            None => {
                let known: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
                problems.push(
                    "action",
                    Code::InvalidParameter,
                    format!("{a:?} is not an action of the audit log"),
                    Some(&format!("one of {}", known.join(", "))),
                );
                None
            }
        },
    };
    problems.finish().map_err(|e: Invalid| ApiError::from(e))?;
    Ok((
        AuditFilter {
            project,
            action,
            target: q.target.clone(),
            actor: q.actor.clone(),
            before: q.before,
        },
        limit,
    ))
}

fn page(entries: Vec<AuditEntry>, limit: u32) -> AuditPage {
    let full = entries.len() == limit as usize;
    AuditPage {
        next_before: full.then(|| entries.last().map(|e| e.id)).flatten(),
        entries,
    }
}

/// The audit log of a project: every change to it, its applications,
/// CronJobs and alert settings, and every run started, re-run, cancelled
/// or backfilled by hand, with who did it and the fields that changed
/// (secret values never, only that they changed). Entries outlive what
/// they are about.
#[utoipa::path(get, path = "/projects/{project}/audit", tag = "audit", params(("project" = String, Path), AuditQuery),
    responses((status = 200, body = AuditPage, description = "The entries, newest first."),
        (status = 400, body = ErrorBody, description = "A parameter is invalid (`invalid`): `limit` out of range, an unknown `action`."),
        (status = 404, body = ErrorBody, description = "No such project (`not_found`).")),
    security(("token" = [])))]
pub async fn project_audit(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(project): Path<String>,
    Query(q): Query<AuditQuery>,
) -> Result<Json<AuditPage>> {
    let (filter, limit) = filter(&q, Some(project.clone()))?;
    let p = tenancy::project(&state, &tenant.principal, &project).await?;
    let mut filter = filter;
    filter.project = Some(p.name);
    let entries = hks_app::audit::page(&state, &tenant.principal, &filter, limit).await?;
    Ok(Json(page(entries, limit)))
}

/// The tenant's whole audit log: its projects' entries and its own
/// (tokens made or deleted by the installation's admin).
#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = AuditPage, description = "The entries, newest first."),
        (status = 400, body = ErrorBody, description = "A parameter is invalid (`invalid`): `limit` out of range, an unknown `action`.")),
    security(("token" = [])))]
pub async fn tenant_audit(
    tenant: Tenant,
    State(state): State<AppState>,
    Query(q): Query<AuditQuery>,
) -> Result<Json<AuditPage>> {
    let (filter, limit) = filter(&q, None)?;
    let entries = hks_app::audit::page(&state, &tenant.principal, &filter, limit).await?;
    Ok(Json(page(entries, limit)))
}
