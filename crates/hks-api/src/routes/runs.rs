//! A CronJob's runs (the history merged with what the cluster has), Run now, and the logs of a run.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use hks_app::tenancy::{self, Scope};
use hks_app::{history, run_control};
use hks_core::backfill::{BackfillRequest, BackfillResult};
use hks_core::run::Run;
use hks_core::spec::{ApplicationType, RunOverrides};
use hks_core::{Code, Invalid};
use hks_kube::LogOptions;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::dto::*;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{JsonBody, OptionalJsonBody, Path, Query, Tenant};

type Result<T, E = ApiError> = std::result::Result<T, E>;

/// This resource's routes, each listed once: the router and the OpenAPI document both come from them.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_runs, run_now))
        .routes(routes!(run_logs))
        .routes(routes!(cancel_run))
        .routes(routes!(rerun))
        .routes(routes!(backfill))
}

/// The runs of a CronJob, scheduled and manual, newest first.
#[utoipa::path(get, path = "/projects/{project}/cronjobs/{name}/runs", tag = "cronjobs", params(("project" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = Vec<Run>, description = "The runs, newest first."), (status = 404, body = ErrorBody, description = "No such project or CronJob (`not_found`)."), (status = 503, body = ErrorBody, description = "The tenant's cluster is unreachable (`cluster_unavailable`).")), security(("token" = [])))]
pub async fn list_runs(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((project, name)): Path<(String, String)>,
) -> Result<Json<Vec<Run>>> {
    let p = tenancy::project(&state, &tenant.principal, &project).await?;
    tenancy::application(&state, &p, &name, Some(ApplicationType::Cronjob)).await?;
    let scope = Scope::of(&state, &tenant.principal).await?;
    Ok(Json(history::runs(&state, &scope, &p, &name).await?))
}

/// Run now: a Job from the CronJob's full jobTemplate, marked manual with who
/// started it. An optional body changes this run only: its command, its
/// environment (added, or replaced by name; Secret references stay
/// references) and its time limit. The run records them (`overrides`).
#[utoipa::path(post, path = "/projects/{project}/cronjobs/{name}/runs", tag = "cronjobs", params(("project" = String, Path), ("name" = String, Path)),
    request_body(content = Option<RunOverrides>, description = "One-off overrides for this run; none: the CronJob as configured."),
    responses(
        (status = 201, body = Run, description = "The run just started.",
            links(
                ("RunLogs" = (operation_id = "run_logs", parameters(("project" = "$request.path.project"), ("name" = "$request.path.name"), ("run" = "$response.body#/name")))),
            )),
        (status = 400, body = ErrorBody, description = "Invalid overrides, each problem with its field path (`command.argv`, `env[0].name`, `timeoutSeconds`); nothing was started."),
        (status = 404, body = ErrorBody, description = "No such project or CronJob (`not_found`)."),
        (status = 409, body = ErrorBody, description = "The CronJob is not in the cluster right now; it is re-applied within a minute (`conflict`)."),
        (status = 422, body = ErrorBody, description = "The tenant's cluster refused the Job (`cluster_rejected`)."),
        (status = 503, body = ErrorBody, description = "The tenant's cluster is unreachable (`cluster_unavailable`).")),
    security(("token" = [])))]
pub async fn run_now(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((project, name)): Path<(String, String)>,
    OptionalJsonBody(overrides): OptionalJsonBody<RunOverrides>,
) -> Result<(StatusCode, Json<Run>)> {
    let p = tenancy::project(&state, &tenant.principal, &project).await?;
    let run = run_control::run_now(
        &state,
        &tenant.principal,
        &p,
        &name,
        &overrides.unwrap_or_default(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(run)))
}

/// Cancel a run that has not ended: Kubernetes stops its pods (with their
/// grace period) and the run ends as `Cancelled`, with `cancelledBy`. The
/// reply is the run as it is now, while its pods stop.
#[utoipa::path(post, path = "/projects/{project}/cronjobs/{name}/runs/{run}/cancel", tag = "cronjobs",
    params(("project" = String, Path), ("name" = String, Path), ("run" = String, Path)),
    responses(
        (status = 200, body = Run, description = "The cancel is asked; the run ends as `Cancelled` once its pods stopped."),
        (status = 404, body = ErrorBody, description = "No such project, CronJob or run (`not_found`)."),
        (status = 409, body = ErrorBody, description = "The run has already ended: there is nothing to cancel (`conflict`)."),
        (status = 503, body = ErrorBody, description = "The tenant's cluster is unreachable (`cluster_unavailable`).")),
    security(("token" = [])))]
pub async fn cancel_run(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((project, name, run)): Path<(String, String, String)>,
) -> Result<Json<Run>> {
    let p = tenancy::project(&state, &tenant.principal, &project).await?;
    let run = run_control::cancel_run(&state, &tenant.principal, &p, &name, &run).await?;
    Ok(Json(run))
}

/// Re-run a past run: a new run (`trigger: rerun`, `rerunOf`) with the
/// container that run had (its image, command, environment and resources,
/// kept in HKS's history even after Kubernetes deleted its Job) and its
/// timeout override; the CronJob's other settings are as they are now.
#[utoipa::path(post, path = "/projects/{project}/cronjobs/{name}/runs/{run}/rerun", tag = "cronjobs",
    params(("project" = String, Path), ("name" = String, Path), ("run" = String, Path)),
    responses(
        (status = 201, body = Run, description = "The re-run just started."),
        (status = 404, body = ErrorBody, description = "No such project, CronJob or run (`not_found`)."),
        (status = 409, body = ErrorBody, description = "The run never ran (a missed time: backfill it), HKS has no record of its container, or the CronJob is not in the cluster right now (`conflict`)."),
        (status = 422, body = ErrorBody, description = "The tenant's cluster refused the Job (`cluster_rejected`)."),
        (status = 503, body = ErrorBody, description = "The tenant's cluster is unreachable (`cluster_unavailable`).")),
    security(("token" = [])))]
pub async fn rerun(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((project, name, run)): Path<(String, String, String)>,
) -> Result<(StatusCode, Json<Run>)> {
    let p = tenancy::project(&state, &tenant.principal, &project).await?;
    let run = run_control::rerun(&state, &tenant.principal, &p, &name, &run).await?;
    Ok((StatusCode::CREATED, Json(run)))
}

/// Backfill scheduled times: run times the schedule fired at (in the past
/// seven days, at most 20) late, or with `{"missed": true}` the missed runs
/// HKS recorded. Each becomes a run with `trigger: backfill` and
/// `scheduledAt`, its Job named and annotated as the CronJob controller
/// would have done at that time; with the `Forbid` or `Replace`
/// concurrency policy they start one at a time (the others wait as
/// `Suspended`). A missed run so backfilled shows `backfilledBy`. Every
/// time is checked before anything starts.
#[utoipa::path(post, path = "/projects/{project}/cronjobs/{name}/backfill", tag = "cronjobs",
    params(("project" = String, Path), ("name" = String, Path)),
    request_body(content = BackfillRequest, description = "The times, or `missed: true`."),
    responses(
        (status = 200, body = BackfillResult, description = "The runs started, the oldest time first (none when every missed run was backfilled already)."),
        (status = 400, body = ErrorBody, description = "Invalid times, each problem with its field path (`scheduledTimes[1]`): not a time the schedule fires at, in the future, older than seven days, listed twice, or already run; nothing was started."),
        (status = 404, body = ErrorBody, description = "No such project or CronJob (`not_found`)."),
        (status = 409, body = ErrorBody, description = "The CronJob is not in the cluster right now (`conflict`)."),
        (status = 503, body = ErrorBody, description = "The tenant's cluster is unreachable (`cluster_unavailable`).")),
    security(("token" = [])))]
pub async fn backfill(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((project, name)): Path<(String, String)>,
    JsonBody(request): JsonBody<BackfillRequest>,
) -> Result<Json<BackfillResult>> {
    let p = tenancy::project(&state, &tenant.principal, &project).await?;
    let runs = run_control::backfill(&state, &tenant.principal, &p, &name, &request).await?;
    Ok(Json(BackfillResult { runs }))
}

/// Default cap on the bytes of log returned per attempt.
const DEFAULT_LOG_LIMIT_BYTES: i64 = 1024 * 1024;

/// The logs of a run: every attempt as JSON, or with `follow=true` one
/// attempt streamed as text while it runs. A followed log ends when the
/// attempt ends, when the token is revoked or its tenant deleted (checked
/// every 5 seconds), or when the server shuts down.
#[utoipa::path(get, path = "/projects/{project}/cronjobs/{name}/runs/{run}/logs", tag = "cronjobs",
    params(("project" = String, Path), ("name" = String, Path), ("run" = String, Path), LogQuery),
    responses((status = 200, description = "JSON; with follow=true, text/plain streamed",
            content((RunLogs = "application/json"), (String = "text/plain"))),
        (status = 400, body = ErrorBody, description = "A parameter is invalid, for example `tailLines` not from 1 to 100000 or `limitBytes` not from 1 to 8388608 (`invalid`)."),
        (status = 404, body = ErrorBody, description = "No such project, CronJob, run or attempt (`not_found`)."),
        (status = 429, body = ErrorBody, description = "With follow=true: the tenant has 8 followed logs open, or the installation 256 (`hks serve --max-follows-per-tenant`, `--max-follows`); retry after `Retry-After` seconds (`too_many_requests`).",
            headers(("Retry-After" = u32, description = "Seconds to wait before retrying."))),
        (status = 503, body = ErrorBody, description = "The tenant's cluster is unreachable (`cluster_unavailable`).")),
    security(("token" = [])))]
pub async fn run_logs(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((project, name, run)): Path<(String, String, String)>,
    Query(q): Query<LogQuery>,
) -> Result<Response> {
    // A followed log beyond the limits is refused before anything is read,
    // so a client that retries at once costs little more than its token's
    // check.
    let permit = if q.follow {
        Some(
            state
                .follows()
                .open(state.limits(), &tenant.principal.tenant_id)?,
        )
    } else {
        None
    };
    let p = tenancy::project(&state, &tenant.principal, &project).await?;
    tenancy::application(&state, &p, &name, Some(ApplicationType::Cronjob)).await?;
    for (field, v, max) in [
        ("tailLines", q.tail_lines, MAX_LOG_TAIL_LINES),
        ("limitBytes", q.limit_bytes, MAX_LOG_LIMIT_BYTES),
    ] {
        if v.is_some_and(|v| !(1..=max).contains(&v)) {
            let why = format!("must be a number from 1 to {max}");
            return Err(Invalid::one(field, Code::OutOfRange, why).into());
        }
    }
    let options = LogOptions {
        attempt: q.attempt,
        tail_lines: q.tail_lines,
        limit_bytes: Some(q.limit_bytes.unwrap_or(DEFAULT_LOG_LIMIT_BYTES)),
        timestamps: q.timestamps,
        total_bytes: Some(MAX_LOG_TOTAL_BYTES),
    };
    let scope = Scope::of(&state, &tenant.principal).await?;
    let cluster = scope.cluster();
    if let Some(permit) = permit {
        let stream = history::follow(&state, cluster, &p, &name, &run, &options).await?;
        let stream = state.follows().guard(
            stream,
            permit,
            state.store().clone(),
            tenant.token_hash.clone(),
            state.limits(),
        );
        let body = Body::from_stream(stream.map(|r| r.map_err(std::io::Error::other)));
        return Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response());
    }
    let attempts = history::logs(&state, cluster, &p, &name, &run, &options).await?;
    Ok(Json(RunLogs { run, attempts }).into_response())
}
