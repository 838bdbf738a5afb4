//! Request extractors: bearer-token authentication and JSON bodies whose
//! errors carry field paths.

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use hks_core::{Code, Invalid};
use hks_store::{Principal, token_hash};
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::ApiError;

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// A request made with a tenant's API token.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// Who asks: the tenant and the token's name.
    pub principal: Principal,
    /// The token's hash, to check later that it is still valid (a
    /// followed log ends when it is not).
    pub token_hash: String,
}

impl FromRequestParts<AppState> for Tenant {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
        let token_hash = token_hash(token);
        let Some(principal) = state.store().authenticate_hash(&token_hash).await? else {
            return Err(ApiError::Unauthorized);
        };
        if changes_something(parts) {
            state.spend(&principal.tenant_id, hks_app::Budget::Writes, 1)?;
        }
        Ok(Tenant {
            principal,
            token_hash,
        })
    }
}

/// The POSTs that change nothing: previews.
pub(crate) const PREVIEWS: [&str; 2] = [
    "/api/v1/schedules/preview",
    "/api/v1/projects/{project}/manifests",
];

/// Whether a tenant's request changes something, and so spends one of the
/// tenant's changes ([`hks_app::TenantRates::writes`]): any method but
/// GET, HEAD and OPTIONS, except the previews.
fn changes_something(parts: &Parts) -> bool {
    use axum::http::Method;
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    let path = parts
        .extensions
        .get::<axum::extract::MatchedPath>()
        .map(axum::extract::MatchedPath::as_str);
    !path.is_some_and(|p| PREVIEWS.contains(&p))
}

/// A request made with the installation's admin token.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
        // Hashes are compared, so the comparison's timing says nothing about the token.
        match state.admin_token_hash() {
            Some(hash) if *hash == token_hash(token) => Ok(Admin),
            _ => Err(ApiError::Unauthorized),
        }
    }
}

/// Either kind of caller (for endpoints such as the schedule preview).
#[derive(Debug, Clone)]
pub struct AnyCaller;

impl FromRequestParts<AppState> for AnyCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if Admin::from_request_parts(parts, state).await.is_ok() {
            return Ok(AnyCaller);
        }
        Tenant::from_request_parts(parts, state)
            .await
            .map(|_| AnyCaller)
    }
}

/// A JSON body. Unlike `axum::Json`, a body that does not match the expected
/// shape is a 400 whose problem names the field (`spec.timeZone`).
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                Invalid::one("", Code::UnreadableBody, e.body_text()).into()
            }
        })?;
        parse(&bytes, "").map(JsonBody)
    }
}

/// Like [`JsonBody`] for an optional body: none (or only whitespace) is `None`.
#[derive(Debug)]
pub struct OptionalJsonBody<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                Invalid::one("", Code::UnreadableBody, e.body_text()).into()
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(None));
        }
        parse(&bytes, "").map(|v| Self(Some(v)))
    }
}

/// Deserializes `bytes`, reporting where it failed under `prefix`.
pub fn parse<T: DeserializeOwned>(bytes: &[u8], prefix: &str) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = match (prefix, path.as_str()) {
            (p, ".") => p.to_owned(),
            ("", p) => p.to_owned(),
            (pre, p) => format!("{pre}.{p}"),
        };
        ApiError::Invalid(
            Invalid::one(field, Code::InvalidJson, e.inner().to_string()).with_hint(
                "check the field's name and type against the API reference at /api/v1/openapi.json",
            ),
        )
    })
}

/// Query parameters. Unlike `axum::extract::Query`, a parameter that does
/// not parse is a 400 in the JSON error shape whose problem names it
/// (`tailLines`).
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(Query)
            .map_err(|e| {
                let path = e.path().to_string();
                let field = if path == "." {
                    "query".to_owned()
                } else {
                    path
                };
                Invalid::one(field, Code::InvalidParameter, e.inner().to_string())
                    .with_hint(
                        "check the parameter against the API reference at /api/v1/openapi.json",
                    )
                    .into()
            })
    }
}

/// Path parameters. Unlike `axum::extract::Path`, one that cannot be read
/// (invalid UTF-8 after percent-decoding) is a 400 in the JSON error shape
/// that names the parameter.
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::path::ErrorKind;
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                let field = match e.kind() {
                    ErrorKind::InvalidUtf8InPathParam { key }
                    | ErrorKind::ParseErrorAtKey { key, .. }
                    | ErrorKind::DeserializeError { key, .. } => key.clone(),
                    _ => "path".to_owned(),
                };
                if e.status().is_server_error() {
                    return Err(ApiError::Internal(Box::new(e)));
                }
                Err(Invalid::one(field, Code::InvalidParameter, e.kind().to_string()).into())
            }
            Err(other) => Err(ApiError::Internal(Box::new(other))),
        }
    }
}
