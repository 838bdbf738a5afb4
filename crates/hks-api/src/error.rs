//! The one place errors become HTTP responses.
//!
//! Every error body is `{"code": "...", "message": "...", "problems": [...]}`:
//! a stable machine-readable code, a message for people, and for invalid
//! input the problems with their field paths. Internal details are logged,
//! never returned, and what a message repeats of the input is cut to
//! [`MAX_ECHO_CHARS`], so a huge input never comes back whole.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hks_core::{Invalid, Problem};
use hks_kube::KubeError;
use hks_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// Seconds a client should wait before retrying when a tenant cluster is unreachable.
pub const RETRY_AFTER_SECONDS: u32 = 15;

/// The most characters of a message, field path or hint an error body
/// carries; longer ones (they quote the input) are cut, marked with `…`.
pub const MAX_ECHO_CHARS: usize = 1000;

/// What the API answers when a request does not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request is invalid")]
    Invalid(#[from] Invalid),
    #[error("missing or unknown API token")]
    Unauthorized,
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The path exists, with other methods (the `Allow` header lists them).
    #[error("this endpoint does not take this method; the Allow header lists those it takes")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    /// The tenant's cluster did not answer: nothing was stored.
    #[error("the project's cluster is unreachable; nothing was changed, try again later")]
    ClusterUnavailable(#[source] KubeError),
    /// The tenant's cluster refused the objects HKS derived.
    #[error("the cluster refused the change: {0}")]
    ClusterRejected(String),
    /// The body is larger than the installation allows.
    #[error("the request body is larger than this installation accepts")]
    PayloadTooLarge,
    /// The request was not answered within the installation's time limit.
    #[error("the request took too long; try again later")]
    Timeout,
    /// Too many requests are being handled at once.
    #[error("the server is busy; try again later")]
    Overloaded,
    /// Too many followed logs are open, the tenant's or in all.
    #[error("too many followed logs are open; close one or try again later")]
    TooManyFollows,
    /// The tenant spent a budget of its changes or run starts; the message
    /// says which, and `retry_after` (seconds, at least 1) when to try again.
    #[error("{message}")]
    RateLimited { message: String, retry_after: u64 },
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A project file's apply stopped at the change at `at` with `inner`,
    /// after `done` of its `total` changes were made.
    #[error("{at}: {inner}")]
    Stopped {
        done: usize,
        total: usize,
        at: String,
        #[source]
        inner: Box<ApiError>,
    },
}

/// The stable machine-readable code of an error response; each goes with
/// one status, listed in the OpenAPI document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: the input breaks a rule; `problems` says which.
    Invalid,
    /// 401: the bearer token is missing or unknown.
    Unauthorized,
    /// 404: the resource does not exist, or is another tenant's.
    NotFound,
    /// 405: the path exists, but not with this method (see `Allow`).
    MethodNotAllowed,
    /// 409: the request clashes with the current state.
    Conflict,
    /// 503: the tenant's cluster is unreachable; nothing was changed.
    ClusterUnavailable,
    /// 422: the tenant's cluster refused the objects HKS derived.
    ClusterRejected,
    /// 413: the body is larger than the installation accepts.
    PayloadTooLarge,
    /// 503: the request was not answered in time.
    Timeout,
    /// 503: too many requests are being handled at once.
    Overloaded,
    /// 429: too many followed logs are open, the tenant's or in all, or the
    /// tenant made more changes or run starts a minute than the
    /// installation allows; retry after `Retry-After` seconds.
    TooManyRequests,
    /// 500: a bug; the details are in the server's log.
    Internal,
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code: `invalid`, `unauthorized`, `not_found`,
    /// `method_not_allowed`, `conflict`, `cluster_unavailable`, `cluster_rejected`, `internal`,
    /// `payload_too_large`, `timeout`, `overloaded` or `too_many_requests`.
    // A plain string with `ErrorCode`'s values (see `openapi::complete`),
    // rather than a reference, so the document's shape stays as it was.
    #[schema(value_type = String)]
    pub code: ErrorCode,
    pub message: String,
    /// For `invalid`: every problem, with its field path.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound("resource"),
            StoreError::Conflict { what, name } => {
                Self::Conflict(format!("{what} '{name}' already exists"))
            }
            other => Self::Internal(Box::new(other)),
        }
    }
}

impl From<hks_app::AppError> for ApiError {
    fn from(e: hks_app::AppError) -> Self {
        use hks_app::AppError as E;
        match e {
            E::Invalid(i) => Self::Invalid(i),
            E::NotFound(what) => Self::NotFound(what),
            E::Conflict(why) => Self::Conflict(why),
            e @ E::RateLimited { retry_after, .. } => Self::RateLimited {
                message: e.to_string(),
                retry_after: retry_after.as_secs_f64().ceil().max(1.0) as u64,
            },
            E::Store(e) => e.into(),
            E::Kube(e) => e.into(),
            E::Stopped {
                done,
                total,
                at,
                source,
            } => Self::Stopped {
                done,
                total,
                at,
                inner: Box::new((*source).into()),
            },
        }
    }
}

impl From<hks_alerting::AlertError> for ApiError {
    fn from(e: hks_alerting::AlertError) -> Self {
        match e {
            hks_alerting::AlertError::Store(e) => e.into(),
            hks_alerting::AlertError::NoDestination => Self::Conflict(
                "no destination is configured for alerts here; save one first".into(),
            ),
            other => Self::Internal(Box::new(other)),
        }
    }
}

impl From<KubeError> for ApiError {
    fn from(e: KubeError) -> Self {
        match e {
            KubeError::Unreachable(_)
            | KubeError::BadAnswer(_)
            | KubeError::Misconfigured(_)
            | KubeError::TooManyObjects { .. } => Self::ClusterUnavailable(e),
            KubeError::Rejected { message, .. } => Self::ClusterRejected(message),
            KubeError::NotFound => Self::NotFound("object in the cluster"),
        }
    }
}

impl ApiError {
    /// The status and the code of this error; a stopped apply answers as
    /// the change that stopped it.
    fn status(&self) -> (StatusCode, ErrorCode) {
        use ErrorCode as C;
        match self {
            Self::Invalid(_) => (StatusCode::BAD_REQUEST, C::Invalid),
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, C::Unauthorized),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, C::NotFound),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, C::MethodNotAllowed),
            Self::Conflict(_) => (StatusCode::CONFLICT, C::Conflict),
            Self::ClusterUnavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, C::ClusterUnavailable),
            Self::ClusterRejected(_) => (StatusCode::UNPROCESSABLE_ENTITY, C::ClusterRejected),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, C::PayloadTooLarge),
            Self::Timeout => (StatusCode::SERVICE_UNAVAILABLE, C::Timeout),
            Self::Overloaded => (StatusCode::SERVICE_UNAVAILABLE, C::Overloaded),
            Self::TooManyFollows | Self::RateLimited { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, C::TooManyRequests)
            }
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, C::Internal),
            Self::Stopped { inner, .. } => inner.status(),
        }
    }

    /// The problems of invalid input.
    fn problems(&self) -> Vec<Problem> {
        match self {
            Self::Invalid(i) => i
                .problems
                .iter()
                .map(|p| Problem {
                    field: cap(&p.field),
                    code: p.code,
                    message: cap(&p.message),
                    hint: p.hint.as_deref().map(cap),
                    line: p.line,
                    column: p.column,
                })
                .collect(),
            Self::Stopped { inner, .. } => inner.problems(),
            _ => Vec::new(),
        }
    }

    /// The message for people.
    fn message(&self) -> String {
        match self {
            Self::Invalid(i) => match i.problems.as_slice() {
                [one] if one.field.is_empty() => one.message.clone(),
                [one] => format!("{}: {}", one.field, one.message),
                many => format!("the request has {} problems", many.len()),
            },
            Self::ClusterUnavailable(KubeError::Misconfigured(why)) => {
                format!("the project's cluster cannot be reached ({why}); nothing was changed")
            }
            // Not "unreachable": the tenant's apiserver answered, wrongly.
            Self::ClusterUnavailable(KubeError::BadAnswer(_)) => {
                "the project's cluster sent an answer HKS cannot read; nothing was changed".into()
            }
            // Not "unreachable" either: the cluster holds more than HKS watches.
            Self::ClusterUnavailable(KubeError::TooManyObjects { kind, limit }) => format!(
                "the project's cluster has more than {limit} objects of kind {kind} labelled as HKS's, more than HKS watches for a tenant: HKS stopped watching it until there are fewer; nothing was changed"
            ),
            Self::Stopped {
                done,
                total,
                at,
                inner,
            } => format!(
                "{at}: {}. {done} of the file's {total} changes were made before it; apply the file again to go on",
                inner.message().trim_end_matches('.')
            ),
            other => other.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status();
        let log = match &self {
            Self::Stopped { inner, .. } => inner.as_ref(),
            other => other,
        };
        match log {
            Self::Internal(error) => {
                tracing::error!(error = %error, source = ?error.source(), "Request failed.")
            }
            Self::ClusterUnavailable(error) => {
                tracing::warn!(%error, source = ?std::error::Error::source(error), "Tenant cluster unavailable.")
            }
            _ => {}
        }
        let problems = self.problems();
        let message = self.message();
        let message = cap(&message);
        let mut response = (
            status,
            Json(ErrorBody {
                code,
                message,
                problems,
            }),
        )
            .into_response();
        if let Self::RateLimited { retry_after, .. } = log {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        } else if status == StatusCode::SERVICE_UNAVAILABLE
            || status == StatusCode::TOO_MANY_REQUESTS
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// `text`, cut after [`MAX_ECHO_CHARS`] characters.
fn cap(text: &str) -> String {
    match text.char_indices().nth(MAX_ECHO_CHARS) {
        Some((end, _)) => format!("{}… ({} bytes cut)", &text[..end], text.len() - end),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tenant cluster with more HKS objects than HKS watches is told
    /// apart from an outage in words, but answered as one: 503 with
    /// Retry-After, never a 500.
    #[tokio::test]
    async fn too_many_objects_is_a_503_that_says_why() {
        let response = ApiError::from(KubeError::TooManyObjects {
            kind: "CronJob",
            limit: 20_000,
        })
        .into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key(header::RETRY_AFTER));
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["code"], "cluster_unavailable");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains("more than 20000 objects of kind CronJob"),
            "{message}"
        );
    }
}
