//! The "invoke a Function" mode of a CronJob: each run is one container
//! running `hks-invoke` (`tools/hks-invoke`), an HTTP client that exits
//! non-zero unless the response meets a stated criterion, so a Function
//! answering 500 makes the run Failed (curl without `--fail` would not).
//!
//! [`FunctionSpec`] is a Function application (re-exported by `spec` with
//! the other applications' types; it lives here so that calling a Function
//! does not depend on the specs that contain a call).
//! [`FunctionCall`] is what the user configures (in `CronJobSpec.function`);
//! [`Invocation`] is that call resolved against the Function's current spec
//! and the installation's HTTP-client image, and [`Invocation::args`] is the
//! exact command line. The token never appears in it: the Function's token
//! Secret is mounted as a file and only the file's path is passed.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};

use crate::container::{Resources, SecretKeyRef};
use crate::formats;
use crate::problem::{Code, Problems, at, index};
use crate::values::{ApplicationName, validate_name};

/// A serverless Function: an HTTP endpoint that scheduled invocations call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FunctionSpec {
    /// `http://` or `https://` URL, typically the in-cluster Service URL.
    // No whitespace (Rust's `char::is_whitespace`) and no control characters.
    #[schema(
        pattern = r"^https?://[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+$"
    )]
    pub endpoint: String,
    #[serde(default = "post")]
    #[schema(schema_with = function_method_schema)]
    pub method: String,
    /// Bearer token for the Function, held in a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_secret: Option<SecretKeyRef>,
}

fn post() -> String {
    "POST".into()
}

/// The schema of `FunctionSpec.method`: one of [`METHODS`], by default `POST`.
fn function_method_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(METHODS))
        .default(Some(post().into()))
        .build()
}

/// The schema of `FunctionCall.method`: one of [`METHODS`], or none. It
/// replaces the whole property, so the field's description is repeated here.
fn call_method_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .description(Some("Overrides the Function's default method."))
        .enum_values(Some(
            METHODS
                .iter()
                .map(|m| serde_json::Value::from(*m))
                .chain([serde_json::Value::Null]),
        ))
        .build()
}

/// Calls a Function of the same project on the CronJob's schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FunctionCall {
    /// Name of a Function application of the same project. Its endpoint and
    /// token Secret are read at every apply, so later changes reach this CronJob.
    pub name: ApplicationName,
    /// Overrides the Function's default method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = call_method_schema)]
    pub method: Option<String>,
    /// Extra request headers. They are visible in the CronJob: never put a
    /// secret here (the Function's `tokenSecret` is the way to authenticate).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HttpHeader>,
    /// The request body, sent as is.
    // At most MAX_BODY_BYTES bytes: a longer text in characters is longer in
    // bytes, so the schema's maxLength never refuses what the server takes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 65536, pattern = r"^[^\u0000]*$")]
    pub body: Option<String>,
    /// Time allowed for each request (each attempt), in seconds.
    #[serde(default = "default_request_timeout")]
    #[schema(minimum = 1, maximum = 3600, default = default_request_timeout)]
    pub request_timeout_seconds: u32,
    /// Requests repeated after a network error, 408, 429 or 5xx, inside the
    /// same run (the CronJob's `retries` then retries the whole run).
    #[serde(default = "default_request_retries")]
    #[schema(maximum = 10, default = default_request_retries)]
    pub retries: u32,
    /// Wait before the first repeated request, in seconds; doubles each time.
    #[serde(default = "default_backoff")]
    #[schema(maximum = 600, default = default_backoff)]
    pub backoff_seconds: u32,
    /// Status codes (`200`) or classes (`2xx`) that mean success.
    #[serde(default = "default_expect")]
    #[schema(min_items = 1, pattern = r"^[1-5](?:xx|[0-9]{2})$", default = default_expect)]
    pub expect: Vec<String>,
}

/// One request header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpHeader {
    /// An HTTP token. Not `Authorization`, `Proxy-Authorization`, `Cookie`
    /// (the CronJob would show the secret; give the Function a
    /// `tokenSecret`) or `X-HKS-Execution-Id` (HKS sets it); unique in the
    /// list, ignoring case.
    #[schema(pattern = r"^[0-9A-Za-z!#$%&'*+.^_`|~-]+$")]
    pub name: String,
    /// One line: no control characters but tabs.
    #[schema(pattern = r"^[^\u0000-\u0008\u000A-\u001F\u007F-\u009F]*$")]
    pub value: String,
}

pub const DEFAULT_REQUEST_TIMEOUT_SECONDS: u32 = 30;
pub const DEFAULT_REQUEST_RETRIES: u32 = 2;
pub const DEFAULT_BACKOFF_SECONDS: u32 = 2;
fn default_request_timeout() -> u32 {
    DEFAULT_REQUEST_TIMEOUT_SECONDS
}
fn default_request_retries() -> u32 {
    DEFAULT_REQUEST_RETRIES
}
fn default_backoff() -> u32 {
    DEFAULT_BACKOFF_SECONDS
}
fn default_expect() -> Vec<String> {
    vec!["2xx".into()]
}

/// The program in the HTTP-client image.
pub const INVOKE_PROGRAM: &str = "/bin/hks-invoke";
/// The environment variable `hks-invoke` reads the execution id from.
pub const EXECUTION_ID_ENV: &str = "HKS_EXECUTION_ID";
/// Where the Function's token Secret key is mounted.
pub const TOKEN_DIR: &str = "/var/run/secrets/hks.dev/function";
pub const TOKEN_FILE: &str = "token";
/// Headers HKS sets itself, or that would put a secret into the manifest.
const RESERVED_HEADERS: [&str; 4] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-hks-execution-id",
];
/// The body is an argument of the container: keep CronJobs small.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A [`FunctionCall`] resolved against its Function: everything the
/// container needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The installation's HTTP-client image (it has [`INVOKE_PROGRAM`]).
    pub image: String,
    pub url: String,
    pub method: String,
    pub headers: Vec<HttpHeader>,
    pub body: Option<String>,
    pub request_timeout_seconds: u32,
    pub retries: u32,
    pub backoff_seconds: u32,
    pub expect: Vec<String>,
    /// The Function's token, mounted as a file, never inlined.
    pub token: Option<SecretKeyRef>,
    pub resources: Resources,
}

impl FunctionCall {
    /// The call with the Function's endpoint, method and token.
    pub fn resolve(
        &self,
        function: &FunctionSpec,
        image: &str,
        resources: Resources,
    ) -> Invocation {
        Invocation {
            image: image.to_owned(),
            url: function.endpoint.clone(),
            method: self
                .method
                .clone()
                .unwrap_or_else(|| function.method.clone()),
            headers: self.headers.clone(),
            body: self.body.clone(),
            request_timeout_seconds: self.request_timeout_seconds,
            retries: self.retries,
            backoff_seconds: self.backoff_seconds,
            expect: self.expect.clone(),
            token: function.token_secret.clone(),
            resources,
        }
    }

    /// The longest a run can take when every request times out: each
    /// attempt's timeout plus the doubling waits between them.
    pub fn worst_case_seconds(&self) -> u64 {
        let attempts = u64::from(self.retries) + 1;
        let waits = u64::try_from(u128::from(self.backoff_seconds) * doubling_sum(self.retries))
            .unwrap_or(u64::MAX);
        attempts
            .saturating_mul(u64::from(self.request_timeout_seconds))
            .saturating_add(waits)
    }
}

/// The factors of the backoff over `n` waits, `2^0 + 2^1 + ...` with each
/// capped at `2^32`, in closed form: validation computes it for any
/// `retries` a request holds (up to `u32::MAX`, over which a loop would take
/// seconds).
fn doubling_sum(n: u32) -> u128 {
    let doubling = (1u128 << n.min(32)) - 1;
    let capped = u128::from(n.saturating_sub(32)) << 32;
    doubling + capped
}

impl Invocation {
    /// The container's arguments to [`INVOKE_PROGRAM`], one `--flag=value`
    /// each (so a value starting with `-` cannot be read as a flag). The
    /// execution id comes from the environment, the token from a file.
    pub fn args(&self) -> Vec<String> {
        let mut a = vec![
            format!("--url={}", self.url),
            format!("--method={}", self.method),
        ];
        for h in &self.headers {
            a.push(format!("--header={}: {}", h.name, h.value));
        }
        if let Some(body) = &self.body {
            a.push(format!("--body={body}"));
        }
        a.push(format!("--timeout={}s", self.request_timeout_seconds));
        a.push(format!("--retries={}", self.retries));
        a.push(format!("--backoff={}s", self.backoff_seconds));
        a.push(format!("--expect={}", self.expect.join(",")));
        if self.token.is_some() {
            a.push(format!("--token-file={TOKEN_DIR}/{TOKEN_FILE}"));
        }
        a
    }
}

pub const METHODS: [&str; 6] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];

/// Validates a call on its own; that the Function exists is checked where
/// the project's applications are known.
pub(crate) fn validate(p: &mut Problems, path: &str, f: &FunctionCall, run_timeout: u32) {
    if let Err(e) = validate_name(&at(path, "name"), &f.name, formats::MAX_APPLICATION_NAME) {
        p.extend(e);
    }
    if let Some(m) = &f.method
        && !METHODS.contains(&m.as_str())
    {
        p.push(
            at(path, "method"),
            Code::InvalidMethod,
            "must be one of GET, POST, PUT, PATCH, DELETE, HEAD",
            Some("leave it out to use the Function's method"),
        );
    }
    let mut seen = std::collections::HashSet::new();
    for (i, h) in f.headers.iter().enumerate() {
        let item = index(&at(path, "headers"), i);
        let lower = h.name.to_ascii_lowercase();
        if h.name.is_empty() || !h.name.bytes().all(is_token_char) {
            p.push(
                at(&item, "name"),
                Code::InvalidHeaderName,
                format!("'{}' is not a valid header name", h.name),
                Some("use letters, digits and '-', like X-Request-Source"),
            );
        } else if RESERVED_HEADERS.contains(&lower.as_str()) {
            p.push(
                at(&item, "name"),
                Code::ReservedHeader,
                format!("HKS does not send '{}' from the CronJob", h.name),
                Some(if lower == "x-hks-execution-id" {
                    "HKS sets X-HKS-Execution-Id to the run's name"
                } else {
                    "header values are visible in the CronJob; give the Function a tokenSecret instead"
                }),
            );
        } else if !seen.insert(lower) {
            p.push(
                at(&item, "name"),
                Code::DuplicateHeader,
                format!("'{}' is set more than once", h.name),
                None,
            );
        }
        // HTTP allows visible characters, spaces and tabs in a value; any
        // other control character (NUL, line breaks, DEL) makes the client
        // refuse the request at every run, or splits the header.
        if h.value.chars().any(|c| c.is_control() && c != '\t') {
            p.push(
                at(&item, "value"),
                Code::InvalidHeaderValue,
                "must not contain line breaks, NUL or other control characters",
                Some("a header value is one line of visible characters"),
            );
        }
    }
    if let Some(body) = &f.body {
        if body.contains('\0') {
            p.push(
                at(path, "body"),
                Code::InvalidBody,
                "must not contain NUL characters",
                None,
            );
        } else if body.len() > MAX_BODY_BYTES {
            p.push(
                at(path, "body"),
                Code::TooLong,
                format!("must be at most {MAX_BODY_BYTES} bytes"),
                None,
            );
        }
    }
    if f.request_timeout_seconds == 0 || f.request_timeout_seconds > 3600 {
        p.push(
            at(path, "requestTimeoutSeconds"),
            Code::OutOfRange,
            "must be between 1 second and 1 hour (3600)",
            None,
        );
    }
    if f.retries > 10 {
        p.push(
            at(path, "retries"),
            Code::OutOfRange,
            "must be at most 10",
            None,
        );
    }
    if f.backoff_seconds > 600 {
        p.push(
            at(path, "backoffSeconds"),
            Code::OutOfRange,
            "must be at most 600 (10 minutes)",
            None,
        );
    }
    if f.expect.is_empty() {
        p.push(
            at(path, "expect"),
            Code::EmptyCriterion,
            "give at least one status code or class",
            Some("leave it out for any 2xx"),
        );
    }
    for (i, e) in f.expect.iter().enumerate() {
        if !is_status_or_class(e) {
            p.push(
                index(&at(path, "expect"), i),
                Code::InvalidStatus,
                format!("'{e}' is neither a status code (100 to 599) nor a class (1xx to 5xx)"),
                None,
            );
        }
    }
    let worst = f.worst_case_seconds();
    if f.request_timeout_seconds > 0 && worst > u64::from(run_timeout) {
        p.push(
            at(path, "requestTimeoutSeconds"),
            Code::ExceedsRunTimeout,
            format!("the requests and waits between them can take {worst} s, longer than the run's timeout ({run_timeout} s)"),
            Some("lower the request timeout or retries, or raise timeoutSeconds"),
        );
    }
}

fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_status_or_class(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 3 || !(b'1'..=b'5').contains(&b[0]) {
        return false;
    }
    (b[1] == b'x' && b[2] == b'x') || (b[1].is_ascii_digit() && b[2].is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(v: serde_json::Value) -> FunctionCall {
        serde_json::from_value(v).unwrap()
    }

    fn problems(f: &FunctionCall, run_timeout: u32) -> Vec<String> {
        let mut p = Problems::new();
        validate(&mut p, "spec.function", f, run_timeout);
        p.finish()
            .err()
            .map(|e| {
                e.problems
                    .into_iter()
                    .map(|p| format!("{} {}", p.field, p.code))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn defaults() {
        let f = call(json!({"name": "greet"}));
        assert_eq!(f.expect, ["2xx"]);
        assert_eq!(f.request_timeout_seconds, 30);
        assert_eq!(f.retries, 2);
        assert_eq!(f.backoff_seconds, 2);
        assert!(problems(&f, 3600).is_empty());
        // 3 attempts of 30 s plus waits of 2 and 4 s.
        assert_eq!(f.worst_case_seconds(), 96);
    }

    #[test]
    fn problems_carry_field_paths() {
        let f = call(json!({
            "name": "Greet",
            "method": "TRACE",
            "headers": [
                {"name": "Authorization", "value": "Bearer x"},
                {"name": "X-A", "value": "1"},
                {"name": "x-a", "value": "2\r\nEvil: 1"},
                {"name": "bad name", "value": ""},
                {"name": "X-HKS-Execution-Id", "value": "mine"}
            ],
            "body": "a\u{0}b",
            "requestTimeoutSeconds": 0,
            "retries": 11,
            "backoffSeconds": 601,
            "expect": ["2xx", "20x", "600", "404"]
        }));
        insta::assert_debug_snapshot!(problems(&f, 3600));
    }

    #[test]
    fn control_characters_are_refused_in_header_values_and_the_body() {
        for value in [
            "a\u{0}b",
            "a\rb",
            "a\nb",
            "a\u{7f}",
            "a\u{1b}[31m",
            "a\u{85}",
        ] {
            let f = call(json!({"name": "fn", "headers": [{"name": "X-A", "value": value}]}));
            assert_eq!(
                problems(&f, 3600),
                ["spec.function.headers[0].value invalid_header_value"],
                "{value:?}"
            );
        }
        let tab = call(json!({"name": "fn", "headers": [{"name": "X-A", "value": "a\tb é"}]}));
        assert!(problems(&tab, 3600).is_empty());
        let body = call(json!({"name": "fn", "body": "{\"a\": \"\u{0}\"}"}));
        assert_eq!(problems(&body, 3600), ["spec.function.body invalid_body"]);
    }

    #[test]
    fn the_worst_case_is_the_sum_of_the_attempts_and_waits() {
        // The waits one by one, as the client makes them.
        let stepwise = |retries: u32, backoff: u32| -> u64 {
            (0..retries).fold(0u64, |sum, i| {
                sum.saturating_add(u64::from(backoff).saturating_mul(1u64 << i.min(32)))
            })
        };
        for retries in [0, 1, 2, 10, 31, 32, 33, 40, 1000] {
            for backoff in [0, 1, 2, 600, u32::MAX] {
                let f = call(
                    json!({"name": "f", "retries": retries, "backoffSeconds": backoff,
                    "requestTimeoutSeconds": 7}),
                );
                let attempts = u64::from(retries) + 1;
                assert_eq!(
                    f.worst_case_seconds(),
                    (attempts * 7).saturating_add(stepwise(retries, backoff)),
                    "{retries} {backoff}"
                );
            }
        }
        // Any number a request may hold is answered at once.
        let f = call(json!({"name": "f", "retries": u32::MAX, "backoffSeconds": u32::MAX}));
        assert_eq!(f.worst_case_seconds(), u64::MAX);
    }

    #[test]
    fn the_requests_must_fit_in_the_run_timeout() {
        let f = call(
            json!({"name": "greet", "requestTimeoutSeconds": 60, "retries": 1, "backoffSeconds": 10}),
        );
        assert_eq!(f.worst_case_seconds(), 130);
        assert_eq!(
            problems(&f, 120),
            ["spec.function.requestTimeoutSeconds exceeds_run_timeout"]
        );
        assert!(problems(&f, 130).is_empty());
        assert!(
            problems(&call(json!({"name": "g", "expect": []})), 60)
                .contains(&"spec.function.expect empty_criterion".to_owned())
        );
    }

    #[test]
    fn args_never_hold_the_token() {
        let function: FunctionSpec = serde_json::from_value(json!({
            "endpoint": "http://fn.ns.svc:8080/hook", "method": "PUT",
            "tokenSecret": {"name": "fn-token", "key": "token"}
        }))
        .unwrap();
        let f = call(
            json!({"name": "fn", "headers": [{"name": "X-Source", "value": "hks"}], "body": "--not-a-flag", "expect": ["200", "404"]}),
        );
        let inv = f.resolve(&function, "hks.local/busybox:1", Resources::default());
        assert_eq!(
            inv.args(),
            [
                "--url=http://fn.ns.svc:8080/hook",
                "--method=PUT",
                "--header=X-Source: hks",
                "--body=--not-a-flag",
                "--timeout=30s",
                "--retries=2",
                "--backoff=2s",
                "--expect=200,404",
                "--token-file=/var/run/secrets/hks.dev/function/token",
            ]
        );
        let with_method = call(json!({"name": "fn", "method": "GET"}));
        assert_eq!(
            with_method
                .resolve(&function, "i", Resources::default())
                .method,
            "GET"
        );
    }
}
