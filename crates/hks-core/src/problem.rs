//! Validation problems: what is wrong, where (a field path such as
//! `spec.env[2].name`), and how to fix it; and [`Code`], every stable
//! machine-readable code the API answers with, for a whole error or for one
//! problem of it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Declares [`Code`] from one list of variants, each with its wire string and
/// its meaning, so that [`Code::as_str`], [`Code::ALL`] and the description
/// the OpenAPI document gives (utoipa leaves the variants' doc comments of a
/// plain enum out of the schema) cannot disagree with the enum.
macro_rules! codes {
    ($($(#[doc = $doc:literal])+ $variant:ident = $wire:literal,)+) => {
        /// A stable machine-readable code: of an error response (`invalid`,
        /// `not_found`, ...) or of one problem of an invalid request
        /// (`invalid_env_name`, ...). Clients may match on it; the message
        /// next to it is for people and may change.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        #[schema(
            as = ProblemCode,
            description = concat!(
                "A stable machine-readable code: of an error response (`invalid`, `not_found`, ...) \
                 or of one problem of an invalid request (`invalid_env_name`, ...). Clients may \
                 match on it; the message next to it is for people and may change.\n",
                $("\n- `", $wire, "`:", $($doc),+),+
            )
        )]
        pub enum Code {
            $($(#[doc = $doc])+ $variant,)+
        }

        impl Code {
            /// Every code, in declaration order.
            pub const ALL: &[Code] = &[$(Self::$variant),+];

            /// The code as it is written on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)+
                }
            }
        }
    };
}

codes! {
    // What a whole error response is (`ErrorBody.code`).
    /// The request is invalid; `problems` says what is wrong and where.
    Invalid = "invalid",
    /// The API token is missing or unknown.
    Unauthorized = "unauthorized",
    /// There is no such resource, or it is not the caller's.
    NotFound = "not_found",
    /// The request conflicts with the current state, such as a name already taken.
    Conflict = "conflict",
    /// The project's cluster did not answer and nothing was changed; retry after `Retry-After` seconds.
    ClusterUnavailable = "cluster_unavailable",
    /// The project's cluster refused the objects HKS derived from the request.
    ClusterRejected = "cluster_rejected",
    /// The request body is larger than the installation accepts.
    PayloadTooLarge = "payload_too_large",
    /// The request was not answered within the installation's time limit; retry later.
    Timeout = "timeout",
    /// The server is handling too many requests at once; retry later.
    Overloaded = "overloaded",
    /// Too many requests of this kind (followed logs) are open for the
    /// tenant or in all; retry after `Retry-After` seconds.
    TooManyRequests = "too_many_requests",
    /// A fault of HKS's own; the details are in its log, never in the response.
    Internal = "internal",

    // Requests that cannot be read.
    /// The request body could not be read.
    UnreadableBody = "unreadable_body",
    /// The body is not JSON of the expected shape: an unknown field, a wrong type, a missing field.
    InvalidJson = "invalid_json",
    /// A query or path parameter does not parse.
    InvalidParameter = "invalid_parameter",

    // Fields of any input.
    /// A required field is missing.
    Required = "required",
    /// A number outside its allowed range.
    OutOfRange = "out_of_range",
    /// A text shorter or longer than allowed.
    InvalidLength = "invalid_length",
    /// A text longer than allowed.
    TooLong = "too_long",
    /// Fields that exclude each other are both given.
    ConflictingFields = "conflicting_fields",
    /// A name that is not a lowercase DNS label of the allowed length.
    InvalidName = "invalid_name",
    /// Not a URL of the accepted schemes.
    InvalidUrl = "invalid_url",
    /// An empty kubeconfig.
    EmptyKubeconfig = "empty_kubeconfig",
    /// A kubeconfig that cannot be used to reach a cluster.
    UnusableKubeconfig = "unusable_kubeconfig",
    /// The type of an existing application cannot change.
    TypeChange = "type_change",

    // Containers: image, command, environment, resources.
    /// Not a container image reference.
    InvalidImage = "invalid_image",
    /// A command without a program (or script) to run.
    EmptyCommand = "empty_command",
    /// A command argument that the container runtime cannot take.
    InvalidArgument = "invalid_argument",
    /// In shell mode, a command split into several strings instead of one script.
    ShellScriptSplit = "shell_script_split",
    /// Not an environment variable name.
    InvalidEnvName = "invalid_env_name",
    /// An environment variable set more than once.
    DuplicateEnvName = "duplicate_env_name",
    /// An environment variable value that the container runtime cannot take.
    InvalidEnvValue = "invalid_env_value",
    /// An environment variable with neither a value nor a Secret reference.
    EnvValueMissing = "env_value_missing",
    /// Not a Secret name.
    InvalidSecretName = "invalid_secret_name",
    /// Not a Secret key.
    InvalidSecretKey = "invalid_secret_key",
    /// Not a Kubernetes quantity (CPU or memory).
    InvalidQuantity = "invalid_quantity",
    /// A resource request greater than its limit.
    RequestAboveLimit = "request_above_limit",
    /// A port outside 1 to 65535.
    InvalidPort = "invalid_port",

    // CronJobs.
    /// A CronJob with no container: no template, no image, no Function to call.
    ContainerMissing = "container_missing",
    /// The template names no application of the project.
    TemplateNotFound = "template_not_found",
    /// The template names an application that is not a Stateless one.
    TemplateNotStateless = "template_not_stateless",
    /// Not a label key.
    InvalidLabelKey = "invalid_label_key",
    /// Not a label value.
    InvalidLabelValue = "invalid_label_value",
    /// A label key that HKS or Kubernetes sets.
    ReservedLabel = "reserved_label",

    // Schedules and time zones (see `hks-schedule`).
    /// An empty schedule.
    Empty = "empty",
    /// Six fields: Kubernetes schedules have no seconds field.
    SecondsField = "seconds_field",
    /// A schedule that is not five fields.
    FieldCount = "field_count",
    /// An `@` descriptor other than the known ones.
    UnknownDescriptor = "unknown_descriptor",
    /// A schedule field that does not parse.
    InvalidField = "invalid_field",
    /// `@every`, which Kubernetes accepts and HKS refuses: it does not follow the clock.
    EveryDescriptor = "every_descriptor",
    /// A `*-5` range, which Kubernetes reads as `*`.
    StarRange = "star_range",
    /// A number with a sign (`+1`), which Kubernetes accepts and HKS refuses.
    SignedNumber = "signed_number",
    /// An empty element in a list (`1,,2`).
    EmptyListElement = "empty_list_element",
    /// A step that selects a single value.
    UselessStep = "useless_step",
    /// A schedule that never runs, such as 30 February.
    NeverRuns = "never_runs",
    /// A `TZ=` or `CRON_TZ=` prefix in the schedule; the time zone is a field of its own.
    TimeZoneInSchedule = "time_zone_in_schedule",
    /// An empty time zone.
    TimeZoneEmpty = "time_zone_empty",
    /// A time zone that is not written as a zone name.
    TimeZoneSyntax = "time_zone_syntax",
    /// `Local`, which would depend on the controller's machine.
    TimeZoneLocal = "time_zone_local",
    /// A time zone the time zone database does not have.
    TimeZoneUnknown = "time_zone_unknown",
    /// `H` outside the minute and hour fields of a schedule.
    SpreadField = "spread_field",
    /// `H` in a schedule with no CronJob name to choose its value from.
    SpreadNeedsName = "spread_needs_name",

    // Functions and the CronJobs that call them.
    /// The CronJob calls no Function of the project.
    FunctionNotFound = "function_not_found",
    /// The CronJob calls an application that is not a Function.
    NotAFunction = "not_a_function",
    /// Not one of the HTTP methods HKS sends.
    InvalidMethod = "invalid_method",
    /// Not an HTTP header name.
    InvalidHeaderName = "invalid_header_name",
    /// A header value with line breaks or other control characters.
    InvalidHeaderValue = "invalid_header_value",
    /// A header that HKS sets itself, or that would put a secret into the CronJob.
    ReservedHeader = "reserved_header",
    /// A header set more than once.
    DuplicateHeader = "duplicate_header",
    /// A request body that the container runtime cannot take.
    InvalidBody = "invalid_body",
    /// Neither a status code (100 to 599) nor a class (`1xx` to `5xx`).
    InvalidStatus = "invalid_status",
    /// No status code or class that means success.
    EmptyCriterion = "empty_criterion",
    /// The requests and waits between them can take longer than the run's timeout.
    ExceedsRunTimeout = "exceeds_run_timeout",
    /// Not an RFC 3339 time with an offset, such as `2026-11-27T03:00:00Z`.
    InvalidTime = "invalid_time",
    /// A time the CronJob's schedule does not fire at.
    NotAFireTime = "not_a_fire_time",
    /// A time listed more than once.
    DuplicateTime = "duplicate_time",

    // Alert destinations.
    /// Not a plain email address such as `ops@example.com`.
    InvalidEmail = "invalid_email",
    /// An email address listed more than once.
    DuplicateEmail = "duplicate_email",
    /// Email alerts on an installation that names no SMTP server.
    EmailNotConfigured = "email_not_configured",
    // Project files.
    /// A project file that is not YAML HKS reads (a syntax error, a key given twice, an alias).
    InvalidYaml = "invalid_yaml",
    /// A value of a project file of another shape than expected: an unknown field, a wrong type, a missing field.
    InvalidShape = "invalid_shape",
    /// A project file of a format version this HKS does not read.
    UnsupportedVersion = "unsupported_version",
    /// A name given to two applications of a project file (names are unique in a project).
    DuplicateName = "duplicate_name",
    /// A secret written into a project file: it must be a reference (`fromEnv`, `fromFile`).
    InlineSecret = "inline_secret",
    /// A reference in a project file whose value the request did not give.
    SecretValueMissing = "secret_value_missing",
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing wrong with the input, tied to the field that holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// Path of the offending field, for example `spec.env[2].name`.
    pub field: String,
    /// Stable machine-readable code, for example `invalid_env_name`.
    pub code: Code,
    /// What is wrong, for people.
    pub message: String,
    /// How to fix it, when there is something useful to say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// In a project file: the line of the field (or of its nearest parent
    /// the file has), counted from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub line: Option<u32>,
    /// In a project file: the column of the field, counted from 1 in characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub column: Option<u32>,
}

/// Every problem found in one input. Validation reports them all at once so
/// that a form can mark each field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the input has {} problem(s)", .problems.len())]
pub struct Invalid {
    pub problems: Vec<Problem>,
}

impl Invalid {
    /// One problem on its own.
    pub fn one(field: impl Into<String>, code: Code, message: impl Into<String>) -> Self {
        Self {
            problems: vec![Problem {
                field: field.into(),
                code,
                message: message.into(),
                hint: None,
                line: None,
                column: None,
            }],
        }
    }

    /// Same, with a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        if let Some(last) = self.problems.last_mut() {
            last.hint = Some(hint.into());
        }
        self
    }
}

/// Collects problems while walking an input; field paths are built with
/// [`Problems::at`].
#[derive(Debug, Default)]
pub struct Problems {
    problems: Vec<Problem>,
}

impl Problems {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a problem at `field`.
    pub fn push(
        &mut self,
        field: impl Into<String>,
        code: Code,
        message: impl Into<String>,
        hint: Option<&str>,
    ) {
        self.problems.push(Problem {
            field: field.into(),
            code,
            message: message.into(),
            hint: hint.map(str::to_owned),
            line: None,
            column: None,
        });
    }

    /// Adds problems found by another check.
    pub fn extend(&mut self, other: Invalid) {
        self.problems.extend(other.problems);
    }

    pub fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }

    /// `Ok(())` when nothing was found.
    pub fn finish(self) -> Result<(), Invalid> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(Invalid {
                problems: self.problems,
            })
        }
    }
}

/// Joins a parent path and a child field: `at("spec", "env")` is `spec.env`.
pub fn at(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_owned()
    } else {
        format!("{parent}.{child}")
    }
}

/// Indexes a list field: `index("spec.env", 2)` is `spec.env[2]`.
pub fn index(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// Each code is written on the wire as `as_str` says (the serde name and
    /// the declared string agree), reads back as itself, and no two codes
    /// share a string.
    #[test]
    fn codes_round_trip_and_are_unique() {
        let mut seen = HashSet::new();
        for &code in Code::ALL {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, serde_json::Value::from(code.as_str()), "{code:?}");
            assert_eq!(serde_json::from_value::<Code>(json).unwrap(), code);
            assert!(seen.insert(code.as_str()), "{code:?} is not unique");
        }
    }

    /// The OpenAPI schema lists every code, and describes each.
    #[test]
    fn the_schema_lists_and_describes_every_code() {
        let schema = serde_json::to_value(<Code as utoipa::PartialSchema>::schema()).unwrap();
        let listed: Vec<&str> = schema["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let all: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(listed, all);
        let description = schema["description"].as_str().unwrap();
        for code in all {
            assert!(description.contains(&format!("\n- `{code}`: ")), "{code}");
        }
    }
}
