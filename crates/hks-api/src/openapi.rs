//! The OpenAPI document, served at `/api/v1/openapi.json` and committed as
//! `crates/hks-api/openapi.json` (a test fails when that file is stale), and
//! beside it the project file's JSON Schema ([`projectfile_schema`]).
//! Its operations come from the routes themselves ([`routes::api`]), so a
//! route cannot be served without being documented.
//!
//! The document is a contract a generated client can trust: every status an
//! operation can answer is listed with its body. What each operation alone
//! can answer (404, 409, 422, a cluster's 503) is in its annotation; what
//! follows from the operation's shape is added here by [`complete`] for all
//! of them alike, so no annotation can forget it: 401 with a security
//! requirement, 400 with a parameter or a body, 413 with a body, 503 for a
//! busy server. Names in paths carry the rules their resources were
//! created under. `tests/contract.rs` checks the document against the
//! running server.

use hks_core::formats;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, Ref, RefOr, Response, ResponseBuilder, Responses,
};
use utoipa::{Modify, OpenApi};

use crate::error::ErrorCode;
use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "HKS API", description = "Projects, applications and CronJobs on the tenant's Kubernetes cluster."),
    components(schemas(
        hks_core::spec::StatelessSpec, hks_core::spec::CronJobSpec, hks_core::spec::FunctionSpec,
        hks_core::Problem, hks_core::Code,
    )),
    modifiers(&Security),
    tags(
        (name = "admin", description = "Tenants and their API tokens (admin token)."),
        (name = "projects"), (name = "applications"), (name = "cronjobs"), (name = "schedules"),
        (name = "alerts", description = "Alerts on runs, per project or per CronJob, delivered by signed webhook."),
        (name = "audit", description = "Who changed what, when: the audit log of a project or a tenant."),
    )
)]
#[derive(Debug)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer =
            || SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build());
        components.add_security_scheme("token", bearer());
        components.add_security_scheme("admin", bearer());
    }
}

/// The rule every name HKS creates follows ([`formats::dns_label`]): a
/// lowercase letter first, then lowercase letters, digits and `-`, not
/// ending with `-`. Each kind of name has its own maximum length.
pub const NAME_PATTERN: &str = "^[a-z]([-a-z0-9]*[a-z0-9])?$";

/// What Kubernetes allows in a Job's name (a DNS-1123 subdomain): a run's
/// name is its Job's.
pub const RUN_NAME_PATTERN: &str =
    "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

pub use crate::dto::MAX_TOKEN_NAME;

/// Each name in a path: its pattern, its longest length and what it names.
/// A name breaking these rules names nothing: the server answers 404.
const PATH_NAMES: &[(&str, &str, usize, &str)] = &[
    (
        "tenant",
        NAME_PATTERN,
        formats::MAX_TENANT_NAME,
        "The tenant's name.",
    ),
    ("token", NAME_PATTERN, MAX_TOKEN_NAME, "The token's name."),
    (
        "project",
        NAME_PATTERN,
        formats::MAX_PROJECT_NAME,
        "The project's name.",
    ),
    (
        "name",
        NAME_PATTERN,
        formats::MAX_APPLICATION_NAME,
        "The application's (or CronJob's) name.",
    ),
    (
        "run",
        RUN_NAME_PATTERN,
        253,
        "The run's name (its Job's), as listed by the runs of the CronJob.",
    ),
];

/// The document as served: the routes' operations, completed.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc =
        utoipa_axum::router::OpenApiRouter::<crate::AppState>::with_openapi(ApiDoc::openapi())
            .nest("/api/v1", routes::api())
            .into_openapi();
    // After nesting: `ApiDoc`'s own modifiers run before the routes' operations exist.
    complete(&mut doc);
    doc
}

/// The document as committed and served: pretty JSON with a final newline.
pub fn document() -> String {
    let s = openapi().to_pretty_json().unwrap_or_default();
    // utoipa 5.5 writes a link's `operationId` in snake case, which no
    // client reads; no other key of the document is spelled so (a test
    // checks).
    let mut s = s.replace("\"operation_id\": ", "\"operationId\": ");
    s.push('\n');
    s
}

/// The project file's JSON Schema as committed (`crates/hks-api/projectfile.schema.json`)
/// and served (`/api/v1/projectfile.schema.json`), beside this document:
/// pretty JSON with a final newline, made from the same types.
pub fn projectfile_schema() -> String {
    let mut s =
        serde_json::to_string_pretty(&hks_core::projectfile::json_schema()).unwrap_or_default();
    s.push('\n');
    s
}

/// Shared responses, in `components.responses`.
const BAD_REQUEST: &str = "BadRequest";
const UNAUTHORIZED: &str = "Unauthorized";
const PAYLOAD_TOO_LARGE: &str = "PayloadTooLarge";
const UNAVAILABLE: &str = "Unavailable";
const RATE_LIMITED: &str = "RateLimited";

const BUSY: &str = "the server is busy (`overloaded`) or did not answer in time (`timeout`)";

fn error_content() -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ErrorBody")))
        .build()
}

fn retry_after() -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1)),
        )
        .description(Some("Seconds to wait before trying again."))
        .build()
}

fn www_authenticate() -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(ObjectBuilder::new().schema_type(Type::String))
        .description(Some("`Bearer`: the scheme the API expects."))
        .build()
}

/// Adds what every operation can answer because of its shape, names the
/// rules of the names in its path, and gives every response a description.
fn complete(doc: &mut utoipa::openapi::OpenApi) {
    let components = doc.components.get_or_insert_with(Default::default);
    let shared = [
        (
            BAD_REQUEST,
            ResponseBuilder::new()
                .description("The input is invalid (`invalid`): a parameter, or the body, breaks a rule; `problems` names each field.")
                .content("application/json", error_content())
                .build(),
        ),
        (
            UNAUTHORIZED,
            ResponseBuilder::new()
                .description("The bearer token is missing, unknown or of the wrong kind (`unauthorized`).")
                .content("application/json", error_content())
                .header("WWW-Authenticate", www_authenticate())
                .build(),
        ),
        (
            PAYLOAD_TOO_LARGE,
            ResponseBuilder::new()
                .description("The body is larger than this installation accepts (`payload_too_large`).")
                .content("application/json", error_content())
                .build(),
        ),
        (
            RATE_LIMITED,
            ResponseBuilder::new()
                .description("The tenant made more changes a minute than this installation allows, or, for Run now, re-runs and backfills, started more runs (`too_many_requests`, `hks serve --tenant-writes-per-minute`, `--tenant-run-starts-per-minute`); nothing was changed. Try again after `Retry-After` seconds.")
                .content("application/json", error_content())
                .header("Retry-After", retry_after())
                .build(),
        ),
        (
            UNAVAILABLE,
            ResponseBuilder::new()
                .description(format!("Try again later: {BUSY}."))
                .content("application/json", error_content())
                .header("Retry-After", retry_after())
                .build(),
        ),
    ];
    for (name, response) in shared {
        components
            .responses
            .insert(name.to_owned(), response.into());
    }
    error_codes(components);
    for name in ["CreateApplication", "UpdateApplication"] {
        spec_follows_type(components, name);
    }
    for (path, item) in doc.paths.paths.iter_mut() {
        // A tenant's changes spend its budget (`extract::changes_something`).
        let tenant = !path.starts_with("/api/v1/admin/")
            && !crate::extract::PREVIEWS.contains(&path.as_str());
        for op in [
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            if tenant && op.security.as_ref().is_some_and(|s| !s.is_empty()) {
                add(&mut op.responses, "429", RATE_LIMITED);
            }
        }
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in operations.into_iter().flatten() {
            complete_operation(op);
        }
    }
}

fn complete_operation(op: &mut Operation) {
    let has_body = op.request_body.is_some();
    let params = op.parameters.as_deref().unwrap_or_default();
    let has_params = !params.is_empty();
    let has_security = op.security.as_ref().is_some_and(|s| !s.is_empty());
    if let Some(params) = &mut op.parameters {
        for p in params
            .iter_mut()
            .filter(|p| p.parameter_in == ParameterIn::Path)
        {
            let Some(&(_, pattern, max, what)) =
                PATH_NAMES.iter().find(|(name, ..)| *name == p.name)
            else {
                continue;
            };
            p.schema = Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(pattern))
                    .min_length(Some(1))
                    .max_length(Some(max))
                    .into(),
            );
            p.description.get_or_insert_with(|| what.to_owned());
        }
    }
    let responses = &mut op.responses;
    if has_security {
        add(responses, "401", UNAUTHORIZED);
    }
    if has_body || has_params {
        add(responses, "400", BAD_REQUEST);
    }
    if has_body {
        add(responses, "413", PAYLOAD_TOO_LARGE);
    }
    match responses.responses.get_mut("503") {
        // The operation's own 503 (its cluster): the busy server's causes too.
        Some(RefOr::T(own)) => {
            own.description = format!("{}; or {BUSY}.", own.description.trim_end_matches('.'));
            own.headers
                .entry("Retry-After".to_owned())
                .or_insert_with(retry_after);
        }
        Some(RefOr::Ref(_)) => {}
        None => add(responses, "503", UNAVAILABLE),
    }
    for (status, response) in responses.responses.iter_mut() {
        if let RefOr::T(response) = response {
            describe(status, response);
        }
    }
}

/// `ErrorBody.code` lists its values: [`ErrorCode`]'s.
fn error_codes(components: &mut utoipa::openapi::Components) {
    let RefOr::T(Schema::Object(codes)) = <ErrorCode as utoipa::PartialSchema>::schema() else {
        unreachable!("ErrorCode is a plain enum");
    };
    if let Some(RefOr::T(Schema::Object(body))) = components.schemas.get_mut("ErrorBody")
        && let Some(RefOr::T(Schema::Object(code))) = body.properties.get_mut("code")
    {
        code.enum_values = codes.enum_values;
    }
}

/// An application's `spec` is the spec of its `type`: said as one
/// alternative per type beside the properties (whose `spec` allows any of
/// the three), so a mismatch the server refuses is one the schema rules out
/// too.
fn spec_follows_type(components: &mut utoipa::openapi::Components, name: &str) {
    let alternative = |kind: &str, spec: &str| {
        serde_json::json!({"properties": {
            "type": {"enum": [kind]},
            "spec": {"$ref": format!("#/components/schemas/{spec}")},
        }})
    };
    let one_of = serde_json::json!([
        alternative("stateless", "StatelessSpec"),
        alternative("cronjob", "CronJobSpec"),
        alternative("function", "FunctionSpec"),
    ]);
    if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(name) {
        // utoipa's `Object` has no `oneOf` of its own; its extensions are
        // written as they are, beside its other keys.
        object
            .extensions
            .get_or_insert_with(Default::default)
            .insert("oneOf".to_owned(), one_of);
    }
}

fn add(responses: &mut Responses, status: &str, shared: &str) {
    responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| RefOr::Ref(Ref::new(format!("#/components/responses/{shared}"))));
}

/// A description for a response its annotation left without one.
fn describe(status: &str, response: &mut Response) {
    if !response.description.is_empty() {
        return;
    }
    response.description = match status {
        "200" => "OK.",
        "201" => "Created.",
        "204" => "Done; no content.",
        "400" => "The input is invalid (`invalid`); `problems` names each field.",
        "404" => "Not found (`not_found`): it does not exist, or is another tenant's.",
        "409" => "The request clashes with the current state (`conflict`).",
        "422" => "The tenant's cluster refused the objects HKS derived (`cluster_rejected`).",
        _ => "See the body's `code` and `message`.",
    }
    .to_owned();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_name(s: &str) -> bool {
        // The pattern, spelled out: NAME_PATTERN is what dns_label enforces.
        let b = s.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_lowercase()
            && b[b.len() - 1] != b'-'
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
    }

    #[test]
    fn the_name_pattern_is_what_dns_label_enforces() {
        assert_eq!(NAME_PATTERN, "^[a-z]([-a-z0-9]*[a-z0-9])?$");
        for s in [
            "", "a", "a1", "1a", "-a", "a-", "a-b", "A", "a_b", "a.b", "ab-9", "é", "a--b",
        ] {
            assert_eq!(
                formats::dns_label(s, 63).is_ok(),
                is_name(s),
                "{s:?}: dns_label and the pattern disagree"
            );
        }
    }

    #[test]
    fn links_name_their_operations_in_camel_case() {
        let doc = document();
        assert!(
            !doc.contains("\"operation_id\""),
            "a snake-case key is left"
        );
        let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
        let link =
            &doc["paths"]["/api/v1/projects"]["post"]["responses"]["201"]["links"]["GetProject"];
        assert_eq!(link["operationId"], "get_project");
    }

    #[test]
    fn every_operation_is_complete() {
        let doc = openapi();
        for (path, item) in &doc.paths.paths {
            for op in [&item.get, &item.put, &item.post, &item.delete]
                .into_iter()
                .flatten()
            {
                let id = op.operation_id.as_deref().unwrap_or(path);
                let r = &op.responses.responses;
                assert!(r.contains_key("401"), "{id}: no 401");
                assert!(r.contains_key("503"), "{id}: no 503");
                if op.request_body.is_some() {
                    assert!(r.contains_key("413"), "{id}: no 413");
                    assert!(r.contains_key("400"), "{id}: no 400");
                }
                for (status, response) in r {
                    if let RefOr::T(response) = response {
                        assert!(!response.description.is_empty(), "{id} {status}");
                    }
                }
            }
        }
    }
}
