//! What a user configures: applications of three types. These types are the
//! API's request and response bodies and what the store keeps (as JSON);
//! Kubernetes objects are derived from them by `manifest`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};

pub use crate::container::{Capability, EnvVar, ResourceList, Resources, SecretKeyRef, Security};
use crate::formats;
use crate::invoke::FunctionCall;
pub use crate::invoke::FunctionSpec;
use crate::labels::LABEL_PREFIX;
use crate::problem::{Code, Invalid, Problems, at, index};
pub use crate::values::validate_name;
use crate::values::{ApplicationName, Image, Schedule, TimeZone, validate_image};

/// The type of an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApplicationType {
    Stateless,
    Cronjob,
    Function,
}

impl ApplicationType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stateless => "stateless",
            Self::Cronjob => "cronjob",
            Self::Function => "function",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "stateless" => Some(Self::Stateless),
            "cronjob" => Some(Self::Cronjob),
            "function" => Some(Self::Function),
            _ => None,
        }
    }
}

/// An application's configuration, tagged with its type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", content = "spec", rename_all = "lowercase")]
#[allow(
    clippy::large_enum_variant,
    reason = "specs are few and short-lived; boxing would only complicate matching"
)]
pub enum ApplicationSpec {
    Stateless(StatelessSpec),
    Cronjob(CronJobSpec),
    Function(FunctionSpec),
}

impl ApplicationSpec {
    pub fn kind(&self) -> ApplicationType {
        match self {
            Self::Stateless(_) => ApplicationType::Stateless,
            Self::Cronjob(_) => ApplicationType::Cronjob,
            Self::Function(_) => ApplicationType::Function,
        }
    }
}

/// A long-running HTTP service: a Deployment and, with a port, a Service.
/// Stateless applications are also the templates CronJobs are made from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatelessSpec {
    /// Container image, for example `ghcr.io/acme/web:1.4`.
    pub image: Image,
    /// Overrides the image's entrypoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(pattern = r"^[^\u0000]*$")]
    pub command: Vec<String>,
    /// Arguments to the entrypoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(pattern = r"^[^\u0000]*$")]
    pub args: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    #[serde(default, skip_serializing_if = "Resources::is_empty")]
    pub resources: Resources,
    /// Loosens or tightens the hardened defaults the container runs with.
    #[serde(default, skip_serializing_if = "Security::is_empty")]
    pub security: Security,
    /// The port the container listens on; a Service exposes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 65535)]
    pub port: Option<u16>,
    #[serde(default = "one")]
    #[schema(maximum = 100, default = one)]
    pub replicas: u32,
}

fn one() -> u32 {
    1
}

/// A scheduled job, applied as a `batch/v1` CronJob.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CronJobSpec {
    /// Five-field cron expression or descriptor (`@daily`), as Kubernetes reads it.
    pub schedule: Schedule,
    /// IANA time zone the schedule is read in; always set on the CronJob.
    #[serde(default = "TimeZone::utc")]
    #[schema(default = TimeZone::utc)]
    pub time_zone: TimeZone,
    /// Where the container comes from: a Stateless application of the same
    /// project. Exactly one of `template` and `image` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateRef>,
    /// An explicit image, when there is no template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    /// Instead of a container of the user's: call a Function of the same
    /// project over HTTP (the installation's HTTP client runs it). Excludes
    /// `template`, `image`, `command` and `env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionCall>,
    /// Replaces the template's command and arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandOverride>,
    /// Added to the template's environment; a name that the template also
    /// sets replaces the template's value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// Replaces the template's resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// Replaces the template's security settings (see `Security`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<Security>,
    /// Extra labels on every Job and pod of this CronJob.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(schema_with = labels_schema)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    #[schema(default = ConcurrencyPolicy::default)]
    pub concurrency_policy: ConcurrencyPolicy,
    /// A run is stopped after this many seconds (`activeDeadlineSeconds`).
    #[serde(default = "default_timeout")]
    #[schema(minimum = 1, maximum = 604800, default = default_timeout)]
    pub timeout_seconds: u32,
    /// Failed pods retried before the run fails (`backoffLimit`).
    #[serde(default = "default_retries")]
    #[schema(maximum = 20, default = default_retries)]
    pub retries: u32,
    /// A run that could not start within this many seconds of its scheduled
    /// time is skipped rather than started late.
    #[serde(default = "default_starting_deadline")]
    #[schema(minimum = 10, default = default_starting_deadline)]
    pub starting_deadline_seconds: u32,
    #[serde(default = "default_successful_history")]
    #[schema(maximum = 100, default = default_successful_history)]
    pub successful_jobs_history_limit: u32,
    #[serde(default = "default_failed_history")]
    #[schema(maximum = 100, default = default_failed_history)]
    pub failed_jobs_history_limit: u32,
    #[serde(default)]
    #[schema(default = bool::default)]
    pub suspend: bool,
    /// How long HKS keeps this CronJob's run history and logs (after
    /// Kubernetes deleted the Jobs); the installation default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_retention: Option<HistoryRetention>,
}

/// How much run history to keep: the newest `maxRuns` runs, none older than
/// `maxAgeDays`; either may be left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HistoryRetention {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 10000)]
    pub max_runs: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 3650)]
    pub max_age_days: Option<u32>,
}

/// One hour.
pub const DEFAULT_TIMEOUT_SECONDS: u32 = 3600;
pub const DEFAULT_RETRIES: u32 = 2;
/// Five minutes: late enough to survive a controller restart, early enough
/// that a run does not start hours after its time.
pub const DEFAULT_STARTING_DEADLINE_SECONDS: u32 = 300;
fn default_timeout() -> u32 {
    DEFAULT_TIMEOUT_SECONDS
}
fn default_retries() -> u32 {
    DEFAULT_RETRIES
}
fn default_starting_deadline() -> u32 {
    DEFAULT_STARTING_DEADLINE_SECONDS
}
fn default_successful_history() -> u32 {
    3
}
fn default_failed_history() -> u32 {
    3
}

/// The schema of `CronJobSpec.labels`: the keys and values
/// [`formats::label_key`] and [`formats::label_value`] accept. It replaces
/// the whole property, so the field's description is repeated here.
fn labels_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some("Extra labels on every Job and pod of this CronJob."))
        .additional_properties(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(63))
                .pattern(Some(
                    r"^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$",
                )),
        ))
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(
                    "A label key: an optional DNS-subdomain prefix and `/`, then a name of at \
                     most 63 letters, digits, `-`, `_` and `.`. Not with the prefix `hks.dev/`, \
                     `app.kubernetes.io/` or `batch.kubernetes.io/`: HKS and Kubernetes set those.",
                ))
                .pattern(Some(
                    r"^(?:[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$",
                )),
        ))
        .build()
}

/// What to do when a run is due while the previous one is still running.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum ConcurrencyPolicy {
    /// Skip the new run (the safe default: runs never pile up).
    #[default]
    Forbid,
    /// Start the new run next to the old one.
    Allow,
    /// Stop the old run and start the new one.
    Replace,
}

impl ConcurrencyPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Forbid => "Forbid",
            Self::Allow => "Allow",
            Self::Replace => "Replace",
        }
    }
}

/// The Stateless application a CronJob takes its container from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TemplateRef {
    /// Name of a Stateless application of the same project.
    pub application: ApplicationName,
    /// Whether later changes of the template reach this CronJob.
    pub mode: TemplateMode,
    /// With `snapshot`, the template's container as it was when this CronJob
    /// was created (or switched to this template, or from `follow`); edits
    /// keep it. To take a new one, switch to `follow` and back. Set by the
    /// server; ignored on input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub snapshot: Option<ContainerSource>,
}

/// Template-following versus snapshot: an explicit choice the API shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TemplateMode {
    /// The CronJob is re-applied whenever the template application changes.
    Follow,
    /// The CronJob keeps the template's container as of its last edit.
    Snapshot,
}

/// Replaces the container's command. `argv` is run as is; with `shell`, the
/// single string in `argv` is run by `sh -c` (so it may use pipes, `&&` and
/// variables, and the image needs a shell).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommandOverride {
    #[schema(min_items = 1, pattern = r"^[^\u0000]*$")]
    pub argv: Vec<String>,
    #[serde(default)]
    #[schema(default = bool::default)]
    pub shell: bool,
}

impl CommandOverride {
    /// The container `command` this override produces.
    pub fn effective(&self) -> Vec<String> {
        if self.shell {
            let mut v = vec!["sh".to_owned(), "-c".to_owned()];
            v.extend(self.argv.iter().cloned());
            v
        } else {
            self.argv.clone()
        }
    }
}

/// The container a CronJob runs: the template's (or the explicit image) with
/// the CronJob's overrides applied. Also what a snapshot keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerSource {
    pub image: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    #[serde(default, skip_serializing_if = "Resources::is_empty")]
    pub resources: Resources,
    #[serde(default, skip_serializing_if = "Security::is_empty")]
    pub security: Security,
}

impl ContainerSource {
    /// The container of a Stateless application.
    pub fn of_stateless(s: &StatelessSpec) -> Self {
        Self {
            image: s.image.to_string(),
            command: s.command.clone(),
            args: s.args.clone(),
            env: s.env.clone(),
            resources: s.resources.clone(),
            security: s.security.clone(),
        }
    }
}

impl CronJobSpec {
    /// The CronJob's container: the base (template, snapshot or explicit
    /// image) with this CronJob's overrides. `template` is the current
    /// template application, consulted only in `follow` mode.
    pub fn resolve(&self, template: Option<&StatelessSpec>) -> Result<ContainerSource, Invalid> {
        let mut base = match (&self.template, &self.image) {
            (Some(t), _) => match (t.mode, &t.snapshot, template) {
                (TemplateMode::Snapshot, Some(snap), _) => snap.clone(),
                (_, _, Some(live)) => ContainerSource::of_stateless(live),
                (_, _, None) => {
                    return Err(Invalid::one(
                        "spec.template.application",
                        Code::TemplateNotFound,
                        format!("there is no Stateless application named '{}' in this project", t.application),
                    )
                    .with_hint("create the Stateless application first, or give an explicit `image` instead of `template`"));
                }
            },
            (None, Some(image)) => ContainerSource {
                image: image.to_string(),
                command: vec![],
                args: vec![],
                env: vec![],
                resources: Resources::default(),
                security: Security::default(),
            },
            (None, None) => {
                return Err(Invalid::one(
                    "spec.template",
                    Code::ContainerMissing,
                    "a CronJob needs a `template` or an `image`",
                ));
            }
        };
        if let Some(cmd) = &self.command {
            base.command = cmd.effective();
            base.args.clear();
        }
        for var in &self.env {
            match base.env.iter_mut().find(|e| e.name == var.name) {
                Some(existing) => *existing = var.clone(),
                None => base.env.push(var.clone()),
            }
        }
        if let Some(r) = &self.resources {
            base.resources = r.clone();
        }
        if let Some(s) = &self.security {
            base.security = s.clone();
        }
        Ok(base)
    }
}

/// Checks everything about an application that needs nothing but the input:
/// names, formats, ranges, the schedule and time zone. Whether a template
/// exists is checked by [`CronJobSpec::resolve`].
pub fn validate_application(name: &str, spec: &ApplicationSpec) -> Result<(), Invalid> {
    let mut p = Problems::new();
    if let Err(e) = validate_name("name", name, formats::MAX_APPLICATION_NAME) {
        p.extend(e);
    }
    validate_spec_at(&mut p, "spec", spec);
    p.finish()
}

/// Checks a spec as [`validate_application`] does, with its problems'
/// paths under `path` instead of `spec` (a project file's
/// `cronjobs.nightly`).
pub fn validate_spec_at(p: &mut Problems, path: &str, spec: &ApplicationSpec) {
    match spec {
        ApplicationSpec::Stateless(s) => validate_stateless(p, path, s),
        ApplicationSpec::Cronjob(c) => validate_cronjob(p, path, c),
        ApplicationSpec::Function(f) => validate_function(p, path, f),
    }
}

/// The command of a CronJob, or of one run's overrides.
fn command(p: &mut Problems, path: &str, cmd: &CommandOverride) {
    let field = at(path, "argv");
    if cmd.argv.is_empty() {
        p.push(
            &field,
            Code::EmptyCommand,
            "must have at least one element",
            Some("to keep the template's command, leave `command` out"),
        );
    } else if cmd.shell && cmd.argv.len() != 1 {
        p.push(
            &field,
            Code::ShellScriptSplit,
            "in shell mode, `argv` holds exactly one string: the script run by `sh -c`",
            Some("join the command line into one string, for example [\"echo start && ./run.sh\"]"),
        );
    } else {
        argv(p, &field, &cmd.argv, cmd.shell);
    }
}

/// A run's time limit (`activeDeadlineSeconds`).
fn timeout(p: &mut Problems, field: &str, seconds: u32) {
    if seconds == 0 || seconds > 7 * 24 * 3600 {
        p.push(
            field,
            Code::OutOfRange,
            "must be between 1 second and 7 days (604800)",
            None,
        );
    }
}

/// One-off changes to a single run, made with Run now: the Job is the
/// CronJob's jobTemplate with these applied, and the run records them
/// (its Job carries them, [`crate::labels::ANNOTATION_OVERRIDES`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunOverrides {
    /// Replaces the container's command and arguments for this run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandOverride>,
    /// Added to the container's environment; a name it already has gets
    /// this value (or Secret reference) instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// Replaces the CronJob's `timeoutSeconds` for this run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 604800)]
    pub timeout_seconds: Option<u32>,
}

impl RunOverrides {
    pub fn is_empty(&self) -> bool {
        self.command.is_none() && self.env.is_empty() && self.timeout_seconds.is_none()
    }
}

/// `POST .../suspend`: an optional note saying why, shown with the
/// CronJob until it is resumed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SuspendRequest {
    /// Why it is suspended, for the people who see it (at most 500 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// The longest suspend note.
pub const MAX_SUSPEND_REASON: usize = 500;

/// Checks a suspend note: one line or a few of plain text. Returns it
/// trimmed, `None` when empty.
pub fn validate_suspend_request(r: &SuspendRequest) -> Result<Option<String>, Invalid> {
    let Some(reason) = r.reason.as_deref().map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let chars = reason.chars().count();
    if chars > MAX_SUSPEND_REASON {
        return Err(Invalid::one(
            "reason",
            Code::TooLong,
            format!("the note has {chars} characters, more than {MAX_SUSPEND_REASON}"),
        ));
    }
    if reason.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Invalid::one(
            "reason",
            Code::InvalidArgument,
            "the note must not contain control characters other than line breaks",
        ));
    }
    Ok(Some(reason.to_owned()))
}

/// The most a run's overrides may take as JSON: they are kept on the Job (an
/// annotation) and in HKS's watch caches with it. A longer set belongs in
/// the CronJob itself.
pub const MAX_OVERRIDES_BYTES: usize = 4096;

/// Checks a run's overrides exactly as the same fields of a CronJob are
/// checked; field paths are the request body's (`command.argv`,
/// `env[0].name`, `timeoutSeconds`). A CronJob that calls a Function runs
/// HKS's HTTP client: its command and environment cannot be overridden.
pub fn validate_overrides(o: &RunOverrides, calls_function: bool) -> Result<(), Invalid> {
    let mut p = Problems::new();
    if let Some(cmd) = &o.command {
        if calls_function {
            p.push(
                "command",
                Code::ConflictingFields,
                "this CronJob calls a Function: HKS runs its HTTP client, whose command cannot be replaced",
                Some("change the call (method, body, headers) by editing the CronJob"),
            );
        } else {
            command(&mut p, "command", cmd);
        }
    }
    if calls_function && !o.env.is_empty() {
        p.push(
            "env",
            Code::ConflictingFields,
            "this CronJob calls a Function: HKS runs its HTTP client, whose environment cannot be changed",
            None,
        );
    } else {
        env(&mut p, "env", &o.env);
    }
    if let Some(t) = o.timeout_seconds {
        timeout(&mut p, "timeoutSeconds", t);
    }
    let size = serde_json::to_string(o).map_or(usize::MAX, |s| s.len());
    if size > MAX_OVERRIDES_BYTES {
        p.push(
            "",
            Code::OutOfRange,
            format!("the overrides take {size} bytes as JSON, more than the {MAX_OVERRIDES_BYTES} one run may have"),
            Some("put a long command or many variables in the CronJob itself"),
        );
    }
    p.finish()
}

fn validate_stateless(p: &mut Problems, path: &str, s: &StatelessSpec) {
    image(p, &at(path, "image"), &s.image);
    argv(p, &at(path, "command"), &s.command, false);
    for (i, a) in s.args.iter().enumerate() {
        if a.contains('\0') {
            p.push(
                index(&at(path, "args"), i),
                Code::InvalidArgument,
                "must not contain NUL characters",
                None,
            );
        }
    }
    env(p, &at(path, "env"), &s.env);
    resources(p, &at(path, "resources"), &s.resources);
    security(p, &at(path, "security"), &s.security);
    if s.port == Some(0) {
        p.push(
            at(path, "port"),
            Code::InvalidPort,
            "must be between 1 and 65535",
            None,
        );
    }
    if s.replicas > 100 {
        p.push(
            at(path, "replicas"),
            Code::OutOfRange,
            "must be at most 100",
            None,
        );
    }
}

fn validate_cronjob(p: &mut Problems, path: &str, c: &CronJobSpec) {
    if let Err(problems) = crate::schedule::check(&c.schedule, &c.time_zone).map(drop) {
        for mut problem in problems.problems {
            problem.field = at(path, &problem.field);
            p.push(
                problem.field,
                problem.code,
                problem.message,
                problem.hint.as_deref(),
            );
        }
    }
    match (&c.template, &c.image, &c.function) {
        (_, _, Some(f)) => {
            for (set, field) in [
                (c.template.is_some(), "template"),
                (c.image.is_some(), "image"),
                (c.command.is_some(), "command"),
                (!c.env.is_empty(), "env"),
                (c.security.is_some(), "security"),
            ] {
                if set {
                    p.push(
                        at(path, field),
                        Code::ConflictingFields,
                        format!("a CronJob that calls a Function has no `{field}`: HKS runs its HTTP client"),
                        Some("to run a container of your own, leave `function` out"),
                    );
                }
            }
            crate::invoke::validate(p, &at(path, "function"), f, c.timeout_seconds);
        }
        (Some(_), Some(_), None) => p.push(
            at(path, "image"),
            Code::ConflictingFields,
            "give either `template` or `image`, not both",
            Some("to use another image with a template's settings, create a Stateless application for it"),
        ),
        (None, None, None) => p.push(
            at(path, "template"),
            Code::ContainerMissing,
            "a CronJob needs a `template` (a Stateless application of this project), an `image`, or a `function` to call",
            None,
        ),
        (Some(t), None, None) => {
            if let Err(e) = validate_name(&at(path, "template.application"), &t.application, formats::MAX_APPLICATION_NAME) {
                p.extend(e);
            }
        }
        (None, Some(i), None) => image(p, &at(path, "image"), i),
    }
    if let Some(cmd) = &c.command {
        command(p, &at(path, "command"), cmd);
    }
    env(p, &at(path, "env"), &c.env);
    if let Some(r) = &c.resources {
        resources(p, &at(path, "resources"), r);
    }
    if let Some(s) = &c.security {
        security(p, &at(path, "security"), s);
    }
    for (k, v) in &c.labels {
        let field = format!("{}[{k:?}]", at(path, "labels"));
        if let Err(reason) = formats::label_key(k) {
            p.push(
                &field,
                Code::InvalidLabelKey,
                format!("the key {reason}"),
                None,
            );
        } else if k.starts_with(LABEL_PREFIX)
            || k.starts_with("app.kubernetes.io/")
            || k.starts_with("batch.kubernetes.io/")
        {
            p.push(&field, Code::ReservedLabel, "this label is set by HKS or Kubernetes", Some("choose a key without the hks.dev/, app.kubernetes.io/ or batch.kubernetes.io/ prefix"));
        }
        if let Err(reason) = formats::label_value(v) {
            p.push(
                &field,
                Code::InvalidLabelValue,
                format!("the value {reason}"),
                None,
            );
        }
    }
    timeout(p, &at(path, "timeoutSeconds"), c.timeout_seconds);
    if c.retries > 20 {
        p.push(
            at(path, "retries"),
            Code::OutOfRange,
            "must be at most 20",
            None,
        );
    }
    if c.starting_deadline_seconds < 10 {
        p.push(
            at(path, "startingDeadlineSeconds"),
            Code::OutOfRange,
            "must be at least 10 seconds",
            Some("the CronJob controller checks schedules every 10 seconds; a shorter deadline can skip runs"),
        );
    }
    if c.successful_jobs_history_limit > 100 {
        p.push(
            at(path, "successfulJobsHistoryLimit"),
            Code::OutOfRange,
            "must be at most 100",
            None,
        );
    }
    if c.failed_jobs_history_limit > 100 {
        p.push(
            at(path, "failedJobsHistoryLimit"),
            Code::OutOfRange,
            "must be at most 100",
            None,
        );
    }
    if let Some(r) = &c.history_retention {
        if r.max_runs.is_some_and(|n| !(1..=10_000).contains(&n)) {
            p.push(
                at(path, "historyRetention.maxRuns"),
                Code::OutOfRange,
                "must be between 1 and 10000",
                Some("leave it out to use the installation's default"),
            );
        }
        if r.max_age_days.is_some_and(|n| !(1..=3650).contains(&n)) {
            p.push(
                at(path, "historyRetention.maxAgeDays"),
                Code::OutOfRange,
                "must be between 1 and 3650",
                Some("leave it out to use the installation's default"),
            );
        }
    }
}

fn validate_function(p: &mut Problems, path: &str, f: &FunctionSpec) {
    let ok = ["http://", "https://"].iter().any(|s| {
        f.endpoint.strip_prefix(s).is_some_and(|rest| {
            !rest.is_empty() && !rest.contains(|c: char| c.is_whitespace() || c.is_control())
        })
    });
    if !ok {
        // The endpoint becomes an argument of the HTTP client's container
        // and the request line, so spaces and control characters (NUL, line
        // breaks) are refused here rather than failing every run.
        p.push(at(path, "endpoint"), Code::InvalidUrl, "must be an http:// or https:// URL without spaces or control characters", Some("for a Function in your cluster, use its Service URL, like http://my-fn.my-namespace.svc:8080/"));
    }
    if !matches!(
        f.method.as_str(),
        "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD"
    ) {
        p.push(
            at(path, "method"),
            Code::InvalidMethod,
            "must be one of GET, POST, PUT, PATCH, DELETE, HEAD",
            None,
        );
    }
    if let Some(s) = &f.token_secret {
        secret_ref(p, &at(path, "tokenSecret"), s);
    }
}

fn image(p: &mut Problems, field: &str, value: &str) {
    if let Err(e) = validate_image(field, value) {
        p.extend(e);
    }
}

fn argv(p: &mut Problems, field: &str, argv: &[String], shell: bool) {
    if let Some(first) = argv.first()
        && first.trim().is_empty()
    {
        let what = if shell {
            "the script"
        } else {
            "the program to run"
        };
        p.push(
            index(field, 0),
            Code::EmptyCommand,
            format!("{what} must not be empty"),
            None,
        );
    }
    for (i, a) in argv.iter().enumerate() {
        if a.contains('\0') {
            p.push(
                index(field, i),
                Code::InvalidArgument,
                "must not contain NUL characters",
                None,
            );
        }
    }
}

fn env(p: &mut Problems, field: &str, vars: &[EnvVar]) {
    let mut seen = std::collections::HashSet::new();
    for (i, v) in vars.iter().enumerate() {
        let item = index(field, i);
        if let Err(reason) = formats::env_name(&v.name) {
            p.push(
                at(&item, "name"),
                Code::InvalidEnvName,
                format!(
                    "'{}' is not a valid environment variable name: it {reason}",
                    v.name
                ),
                Some("use letters, digits and '_', starting with a letter, like DATABASE_URL"),
            );
        } else if !seen.insert(v.name.as_str()) {
            p.push(
                at(&item, "name"),
                Code::DuplicateEnvName,
                format!("'{}' is set more than once", v.name),
                None,
            );
        }
        match (&v.value, &v.secret) {
            (Some(_), Some(_)) => p.push(
                &item,
                Code::ConflictingFields,
                "give either `value` or `secret`, not both",
                None,
            ),
            (None, None) => p.push(
                &item,
                Code::EnvValueMissing,
                "give a `value` or a `secret` reference",
                None,
            ),
            (None, Some(s)) => secret_ref(p, &at(&item, "secret"), s),
            (Some(value), None) => {
                // The runtime passes the environment as C strings: a NUL
                // would end the value, so the container cannot start.
                if value.contains('\0') {
                    p.push(
                        at(&item, "value"),
                        Code::InvalidEnvValue,
                        "must not contain NUL characters",
                        Some("encode binary data, for example in base64"),
                    );
                }
            }
        }
    }
}

fn secret_ref(p: &mut Problems, field: &str, s: &SecretKeyRef) {
    if let Err(reason) = formats::dns_subdomain(&s.name) {
        p.push(
            at(field, "name"),
            Code::InvalidSecretName,
            format!("the Secret name {reason}"),
            None,
        );
    }
    if let Err(reason) = formats::secret_key(&s.key) {
        p.push(
            at(field, "key"),
            Code::InvalidSecretKey,
            format!("the Secret key {reason}"),
            None,
        );
    }
}

fn security(p: &mut Problems, field: &str, s: &Security) {
    if s.run_as_non_root && s.run_as_user == Some(0) {
        p.push(
            at(field, "runAsUser"),
            Code::ConflictingFields,
            "user 0 is root, and `runAsNonRoot` refuses to run as root",
            Some("give a user id other than 0, or leave `runAsNonRoot` out"),
        );
    }
}

fn resources(p: &mut Problems, field: &str, r: &Resources) {
    let mut parsed = BTreeMap::new();
    for (list_name, list) in [("requests", &r.requests), ("limits", &r.limits)] {
        for (res, value) in [("cpu", &list.cpu), ("memory", &list.memory)] {
            if let Some(v) = value {
                match formats::quantity(v) {
                    Ok(q) => {
                        parsed.insert((list_name, res), q);
                    }
                    Err(reason) => p.push(
                        at(&at(field, list_name), res),
                        Code::InvalidQuantity,
                        format!("'{v}' is not a valid quantity: it {reason}"),
                        Some(if res == "cpu" {
                            "CPU is in cores or millicores, like 0.5 or 500m"
                        } else {
                            "memory is in bytes with a suffix, like 128Mi or 1Gi"
                        }),
                    ),
                }
            }
        }
    }
    for res in ["cpu", "memory"] {
        if let (Some(req), Some(lim)) =
            (parsed.get(&("requests", res)), parsed.get(&("limits", res)))
            && req > lim
        {
            p.push(
                at(&at(field, "requests"), res),
                Code::RequestAboveLimit,
                format!("the {res} request must not be greater than the {res} limit"),
                None,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn run_overrides_are_checked_as_the_cronjobs_own_fields() {
        let o: RunOverrides = serde_json::from_value(serde_json::json!({
            "command": {"argv": ["a", "b"], "shell": true},
            "env": [{"name": "1BAD", "value": "x"}, {"name": "OK", "value": "a\u{0}b"}],
            "timeoutSeconds": 0
        }))
        .unwrap();
        let fields: Vec<String> = validate_overrides(&o, false)
            .unwrap_err()
            .problems
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(
            fields,
            [
                "command.argv",
                "env[0].name",
                "env[1].value",
                "timeoutSeconds"
            ]
        );
        assert!(validate_overrides(&RunOverrides::default(), false).is_ok());
        // A CronJob that calls a Function keeps its HTTP client's command and env.
        let o: RunOverrides = serde_json::from_value(serde_json::json!({
            "command": {"argv": ["sh"]}, "env": [{"name": "A", "value": "1"}], "timeoutSeconds": 30
        }))
        .unwrap();
        let fields: Vec<String> = validate_overrides(&o, true)
            .unwrap_err()
            .problems
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(fields, ["command", "env"]);
        let timeout_only = RunOverrides {
            timeout_seconds: Some(30),
            ..RunOverrides::default()
        };
        assert!(validate_overrides(&timeout_only, true).is_ok());
        // Kept on the Job and in the caches: bounded.
        let long = RunOverrides {
            command: Some(CommandOverride {
                argv: vec!["x".repeat(MAX_OVERRIDES_BYTES)],
                shell: true,
            }),
            ..RunOverrides::default()
        };
        let problems = validate_overrides(&long, false).unwrap_err().problems;
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].message.contains("bytes as JSON"),
            "{problems:?}"
        );
    }

    use super::*;
    use serde_json::json;

    fn cron(v: serde_json::Value) -> CronJobSpec {
        serde_json::from_value(v).unwrap()
    }

    fn fields(e: Invalid) -> Vec<String> {
        e.problems
            .into_iter()
            .map(|p| format!("{} {}", p.field, p.code))
            .collect()
    }

    #[test]
    fn defaults_are_safe() {
        let c = cron(json!({"schedule": "0 3 * * *", "image": "busybox:1.36"}));
        assert_eq!(c.time_zone, "UTC");
        assert_eq!(c.concurrency_policy, ConcurrencyPolicy::Forbid);
        assert_eq!(c.timeout_seconds, 3600);
        assert_eq!(c.retries, 2);
        assert_eq!(c.starting_deadline_seconds, 300);
        assert!(!c.suspend);
    }

    /// The error of deserializing `v` as a `T`: the path of the field at
    /// fault (the API reports it under `spec.`) and serde's message.
    fn rejected<T: serde::de::DeserializeOwned + std::fmt::Debug>(
        v: serde_json::Value,
    ) -> (String, String) {
        let e = serde_path_to_error::deserialize::<_, T>(v)
            .expect_err("an unknown field must be rejected");
        (e.path().to_string(), e.inner().to_string())
    }

    #[test]
    fn unknown_fields_are_rejected() {
        // A misspelt top-level field: named, with the right spelling offered.
        let (path, message) =
            rejected::<CronJobSpec>(json!({"schedule": "@daily", "image": "x", "timezone": "UTC"}));
        assert_eq!(path, "timezone", "{message}");
        assert!(message.contains("unknown field `timezone`"), "{message}");
        assert!(message.contains("`timeZone`"), "{message}");

        // Deep inside a list: the path leads to the element.
        let (path, message) = rejected::<CronJobSpec>(json!({"schedule": "@daily", "image": "x",
            "env": [{"name": "A", "value": "1"}, {"name": "B", "valueFrom": {"secretKeyRef": {}}}]}));
        assert_eq!(path, "env[1].valueFrom", "{message}");
        assert!(message.contains("unknown field `valueFrom`"), "{message}");

        // In other types of application too.
        let (path, message) = rejected::<StatelessSpec>(
            json!({"image": "x", "resources": {"limits": {"cpu": "1", "gpu": "1"}}}),
        );
        assert_eq!(path, "resources.limits.gpu", "{message}");
        assert!(message.contains("unknown field `gpu`"), "{message}");

        // The same documents without the unknown fields are accepted: the
        // rejections above are about those fields and nothing else.
        serde_json::from_value::<CronJobSpec>(json!({"schedule": "@daily", "image": "x",
            "timeZone": "UTC", "env": [{"name": "A", "value": "1"}, {"name": "B"}]}))
        .unwrap();
        serde_json::from_value::<StatelessSpec>(
            json!({"image": "x", "resources": {"limits": {"cpu": "1"}}}),
        )
        .unwrap();
    }

    #[test]
    fn problems_carry_field_paths() {
        let spec = ApplicationSpec::Cronjob(cron(json!({
            "schedule": "0 3 * * *",
            "image": "busybox:1.36",
            "env": [{"name": "OK", "value": "1"}, {"name": "OK", "value": "2"}, {"name": "1BAD", "value": "x"}, {"name": "S", "secret": {"name": "Bad_Name", "key": "k"}}],
            "resources": {"requests": {"cpu": "2", "memory": "12MB"}, "limits": {"cpu": "1"}},
            "command": {"argv": ["echo", "a"], "shell": true},
            "labels": {"hks.dev/tenant": "x", "team": "-bad"},
            "startingDeadlineSeconds": 5
        })));
        let e = validate_application("Nightly", &spec).unwrap_err();
        insta::assert_debug_snapshot!(fields(e));
    }

    /// Every string that reaches the pod spec is refused, with its field
    /// path, when the runtime cannot take it (a NUL ends a C string).
    #[test]
    fn nul_characters_are_refused_where_they_reach_the_pod() {
        let c = cron(json!({
            "schedule": "@daily",
            "image": "busybox:1.36\u{0}",
            "command": {"argv": ["echo", "a\u{0}b"]},
            "env": [{"name": "OK", "value": "1"}, {"name": "BAD", "value": "x\u{0}y"}],
            "labels": {"team": "a\u{0}"}
        }));
        let e = validate_application("job", &ApplicationSpec::Cronjob(c)).unwrap_err();
        let env = e
            .problems
            .iter()
            .find(|p| p.field == "spec.env[1].value")
            .unwrap();
        assert_eq!(env.code, Code::InvalidEnvValue);
        assert!(env.hint.is_some());
        assert_eq!(
            fields(e),
            [
                "spec.image invalid_image",
                "spec.command.argv[1] invalid_argument",
                "spec.env[1].value invalid_env_value",
                "spec.labels[\"team\"] invalid_label_value",
            ]
        );
        let s: StatelessSpec = serde_json::from_value(json!({
            "image": "web:1",
            "args": ["a\u{0}"],
            "env": [{"name": "A", "value": "\u{0}"}]
        }))
        .unwrap();
        assert_eq!(
            fields(validate_application("web", &ApplicationSpec::Stateless(s)).unwrap_err()),
            [
                "spec.args[0] invalid_argument",
                "spec.env[0].value invalid_env_value"
            ]
        );
        for endpoint in [
            "http://fn.ns.svc/\u{0}",
            "http://fn.ns.svc/a\r\nX: 1",
            "http://fn\u{7}/",
        ] {
            let f: FunctionSpec = serde_json::from_value(json!({"endpoint": endpoint})).unwrap();
            assert_eq!(
                fields(validate_application("fn", &ApplicationSpec::Function(f)).unwrap_err()),
                ["spec.endpoint invalid_url"],
                "{endpoint:?}"
            );
        }
    }

    #[test]
    fn template_and_image_are_exclusive() {
        let both = ApplicationSpec::Cronjob(cron(
            json!({"schedule": "@daily", "image": "a", "template": {"application": "web", "mode": "follow"}}),
        ));
        assert_eq!(
            fields(validate_application("job", &both).unwrap_err()),
            ["spec.image conflicting_fields"]
        );
        let neither = ApplicationSpec::Cronjob(cron(json!({"schedule": "@daily"})));
        assert_eq!(
            fields(validate_application("job", &neither).unwrap_err()),
            ["spec.template container_missing"]
        );
    }

    #[test]
    fn a_function_call_excludes_a_container_of_ones_own() {
        let both = ApplicationSpec::Cronjob(cron(json!({
            "schedule": "@daily", "image": "a", "command": {"argv": ["x"]},
            "env": [{"name": "A", "value": "1"}],
            "security": {"addCapabilities": ["CHOWN"]},
            "function": {"name": "greet"}
        })));
        assert_eq!(
            fields(validate_application("job", &both).unwrap_err()),
            [
                "spec.image conflicting_fields",
                "spec.command conflicting_fields",
                "spec.env conflicting_fields",
                "spec.security conflicting_fields"
            ]
        );
        let ok = ApplicationSpec::Cronjob(cron(
            json!({"schedule": "@daily", "function": {"name": "greet", "expect": ["2xx", "404"]}}),
        ));
        validate_application("job", &ok).unwrap();
    }

    #[test]
    fn security_settings_are_checked_and_replace_the_templates() {
        let root = ApplicationSpec::Cronjob(cron(json!({
            "schedule": "@daily", "image": "a",
            "security": {"runAsUser": 0, "runAsNonRoot": true}
        })));
        assert_eq!(
            fields(validate_application("job", &root).unwrap_err()),
            ["spec.security.runAsUser conflicting_fields"]
        );
        let unknown = serde_json::from_value::<CronJobSpec>(json!({
            "schedule": "@daily", "image": "a", "security": {"addCapabilities": ["SYS_ADMIN"]}
        }));
        assert!(unknown.unwrap_err().to_string().contains("SYS_ADMIN"));

        let web: StatelessSpec = serde_json::from_value(json!({
            "image": "web", "security": {"addCapabilities": ["NET_BIND_SERVICE"]}
        }))
        .unwrap();
        let inherits = cron(
            json!({"schedule": "@daily", "template": {"application": "web", "mode": "follow"}}),
        );
        assert_eq!(
            inherits
                .resolve(Some(&web))
                .unwrap()
                .security
                .add_capabilities,
            [Capability::NetBindService]
        );
        let replaces = cron(json!({
            "schedule": "@daily", "template": {"application": "web", "mode": "follow"},
            "security": {"runAsUser": 1000}
        }));
        let resolved = replaces.resolve(Some(&web)).unwrap().security;
        assert!(resolved.add_capabilities.is_empty());
        assert_eq!(resolved.run_as_user, Some(1000));
    }

    #[test]
    fn resolve_applies_overrides_to_the_template() {
        let web: StatelessSpec = serde_json::from_value(json!({
            "image": "ghcr.io/acme/web:1.4",
            "command": ["web"], "args": ["--port", "8080"],
            "env": [{"name": "MODE", "value": "web"}, {"name": "DB", "secret": {"name": "db", "key": "url"}}],
            "resources": {"limits": {"memory": "256Mi"}},
            "port": 8080
        }))
        .unwrap();
        let c = cron(json!({
            "schedule": "@daily",
            "template": {"application": "web", "mode": "follow"},
            "command": {"argv": ["./cleanup.sh --all"], "shell": true},
            "env": [{"name": "MODE", "value": "job"}, {"name": "EXTRA", "value": "1"}]
        }));
        let resolved = c.resolve(Some(&web)).unwrap();
        assert_eq!(resolved.command, ["sh", "-c", "./cleanup.sh --all"]);
        assert!(resolved.args.is_empty());
        assert_eq!(resolved.env[0].value.as_deref(), Some("job"));
        assert_eq!(resolved.env[1].secret.as_ref().unwrap().key, "url");
        assert_eq!(resolved.env[2].name, "EXTRA");
        assert_eq!(resolved.resources.limits.memory.as_deref(), Some("256Mi"));
        assert_eq!(
            fields(c.resolve(None).unwrap_err()),
            ["spec.template.application template_not_found"]
        );
    }

    #[test]
    fn snapshot_ignores_later_template_changes() {
        let mut c = cron(
            json!({"schedule": "@daily", "template": {"application": "web", "mode": "snapshot"}}),
        );
        let old: StatelessSpec = serde_json::from_value(json!({"image": "web:1"})).unwrap();
        let new: StatelessSpec = serde_json::from_value(json!({"image": "web:2"})).unwrap();
        c.template.as_mut().unwrap().snapshot = Some(ContainerSource::of_stateless(&old));
        assert_eq!(c.resolve(Some(&new)).unwrap().image, "web:1");
        c.template.as_mut().unwrap().mode = TemplateMode::Follow;
        assert_eq!(c.resolve(Some(&new)).unwrap().image, "web:2");
    }
}
