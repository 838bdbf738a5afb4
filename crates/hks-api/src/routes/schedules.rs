//! Schedule previews: words, next runs, warnings and errors, for any caller.

use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::dto::*;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{AnyCaller, JsonBody};
use axum::response::{IntoResponse, Response};
use hks_core::{Code, Invalid};
use jiff::Timestamp;

type Result<T, E = ApiError> = std::result::Result<T, E>;

/// This resource's routes, each listed once: the router and the OpenAPI document both come from them.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(schedule_preview))
}

/// A schedule in words, its next runs (DST notes included), warnings and errors.
#[utoipa::path(post, path = "/schedules/preview", tag = "schedules", request_body = PreviewRequest,
    responses((status = 200, description = "the preview; `errors` is not empty for an invalid schedule", body = Object), (status = 400, body = ErrorBody, description = "The request is invalid, for example `count` out of range (`invalid`).")),
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
    let identity = match (body.project.as_deref(), body.name.as_deref()) {
        (Some(project), Some(name)) if !project.is_empty() && !name.is_empty() => {
            Some(hks_core::schedule::spread_identity(project, name))
        }
        _ => None,
    };
    let preview = hks_schedule::preview_for(
        &body.schedule,
        &body.time_zone,
        identity.as_deref(),
        body.after.unwrap_or_else(Timestamp::now),
        count,
    );
    Ok(Json(preview).into_response())
}
