//! The project file: a project's applications (Stateless, Functions,
//! CronJobs) and alert settings as one YAML document kept beside the code,
//! like `render.yaml` or a `vercel.json`'s crons.
//!
//! ```yaml
//! version: 1
//! stateless:
//!   web: {image: ghcr.io/acme/web:1.4, port: 8080}
//! cronjobs:
//!   nightly:
//!     schedule: 0 3 * * *
//!     template: {application: web, mode: follow}
//!     alerts:
//!       rules: {onFailure: true}
//!       webhook:
//!         url: {fromEnv: ALERT_WEBHOOK_URL}
//!         secret: {fromEnv: ALERT_WEBHOOK_SECRET}
//! ```
//!
//! The entries are the API's own specs (`StatelessSpec`, `FunctionSpec`,
//! `CronJobSpec`), keyed by name, so the file and the API cannot drift and
//! its JSON Schema ([`json_schema`]) is made from the same types as the
//! OpenAPI document. Alert settings have at most one destination: a signed
//! `webhook`, a `slack` or `teams` incoming webhook, or `email` addresses.
//! A webhook's URL and secret, and a Slack or Teams URL, are never in the
//! file (HKS keeps them encrypted and never shows them): only where to read them,
//! `{fromEnv: NAME}` or `{fromFile: PATH}`, which the client resolves and
//! sends beside the file's text.
//!
//! Everything here is pure: [`read`] turns a text into a [`ProjectFile`]
//! and every problem in it, each with its path (`cronjobs.nightly.schedule`)
//! and, through [`Document::locate`], its line and column; [`plan`] compares
//! a file with what a project has now ([`Current`]) and gives the changes
//! that make the project match it, in dependency order, field by field;
//! [`export`] and [`render`] write a project as a file, the same bytes for
//! the same project.

use std::collections::{BTreeMap, BTreeSet};

use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::formats;
use crate::problem::{Code, Invalid, Problem, Problems, at};
use crate::spec::{
    ApplicationSpec, ApplicationType, CronJobSpec, FunctionSpec, StatelessSpec, TemplateMode,
    validate_name, validate_spec_at,
};
use crate::yaml::{self, Positions, Segment};

/// The version of the format this HKS reads and writes.
pub const VERSION: u32 = 1;

/// The fields of the file's top level.
const TOP_LEVEL: [&str; 5] = ["version", "alerts", "stateless", "functions", "cronjobs"];

/// A project as a file: its applications by name, and its alert settings.
/// The project itself is not named: the same file can be applied to
/// another project.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(title = "HKS project file")]
pub struct ProjectFile {
    /// The format's version: `1`.
    #[schema(minimum = 1, maximum = 1)]
    pub version: u32,
    /// The project's default alert settings, used by every CronJob without its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts: Option<FileAlerts>,
    /// Stateless applications (also the templates CronJobs are made from), by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub stateless: BTreeMap<String, StatelessSpec>,
    /// Functions (HTTP endpoints CronJobs call), by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub functions: BTreeMap<String, FunctionSpec>,
    /// CronJobs, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cronjobs: BTreeMap<String, FileCronJob>,
    /// Entries the text names that could not be read (their problems are
    /// reported), by their section's type: a CronJob that refers to one is
    /// not reported too.
    #[serde(skip)]
    pub unreadable: BTreeMap<String, ApplicationType>,
}

/// A CronJob in the file: its spec, and its own alert settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileCronJob {
    #[serde(flatten)]
    pub spec: CronJobSpec,
    /// The CronJob's own alert settings, instead of the project's default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alerts: Option<FileAlerts>,
}

impl PartialSchema for FileCronJob {
    /// `CronJobSpec`'s schema with one more property, `alerts`: the same
    /// fields as the API's, so the two cannot drift.
    fn schema() -> RefOr<Schema> {
        let mut schema = match CronJobSpec::schema() {
            RefOr::T(Schema::Object(o)) => o,
            other => return other,
        };
        schema.description = Some(
            "A CronJob: the fields of the API's `CronJobSpec` (the template's snapshot is the \
             server's and is left out), and its own alert settings."
                .into(),
        );
        let mut alerts = Ref::from_schema_name(FileAlerts::name());
        alerts.description =
            "The CronJob's own alert settings, instead of the project's default.".into();
        schema
            .properties
            .insert("alerts".into(), RefOr::Ref(alerts));
        RefOr::T(Schema::Object(schema))
    }
}

impl ToSchema for FileCronJob {
    fn name() -> std::borrow::Cow<'static, str> {
        "ProjectFileCronJob".into()
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((CronJobSpec::name().into(), CronJobSpec::schema()));
        CronJobSpec::schemas(schemas);
        schemas.push((FileAlerts::name().into(), FileAlerts::schema()));
        FileAlerts::schemas(schemas);
    }
}

/// Alert settings: which alerts to raise and where to send them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = ProjectFileAlerts)]
pub struct FileAlerts {
    /// Which alerts to raise; none when left out.
    #[serde(default)]
    pub rules: FileAlertRules,
    /// Where alerts are POSTed, signed; without a destination (this,
    /// `slack`, `teams` or `email`: at most one) they are only recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<FileWebhook>,
    /// Or a Slack-compatible incoming webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<FileChatWebhook>,
    /// Or a Microsoft Teams incoming webhook (a Workflows trigger).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teams: Option<FileChatWebhook>,
    /// Or email, through the SMTP server this installation names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<FileEmail>,
}

/// The destination keys of alert settings, in the order they are read.
const DESTINATIONS: [&str; 4] = ["webhook", "slack", "teams", "email"];

/// A Slack- or Teams-compatible incoming webhook: its URL is its
/// credential, so only where to read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = ProjectFileChatWebhook)]
pub struct FileChatWebhook {
    /// Where to read the incoming webhook's URL (https).
    pub url: SecretSource,
}

/// Email to these addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = ProjectFileEmail)]
pub struct FileEmail {
    /// 1 to 20 plain addresses, none twice.
    #[schema(min_items = 1, max_items = 20)]
    pub to: Vec<String>,
}

/// Which alerts to raise, as the API's alert settings say them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = ProjectFileAlertRules)]
pub struct FileAlertRules {
    /// Alert on every failed run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub on_failure: bool,
    /// Alert when this many runs in a row have failed (2 to 100), once per streak.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 2, maximum = 100)]
    pub consecutive_failures: Option<u32>,
    /// Alert when a scheduled run did not start.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub on_missed: bool,
    /// Alert when a run is still going after this many seconds (at least 60), once per run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 60)]
    pub longer_than_seconds: Option<u32>,
    /// Alert on the first success after a failure that raised an alert.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub on_recovery: bool,
}

/// A webhook: its URL and signing secret, each only as where to read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = ProjectFileWebhook)]
pub struct FileWebhook {
    /// Where to read the URL (http or https): it often carries a
    /// credential, so HKS keeps it encrypted and never shows it whole.
    pub url: SecretSource,
    /// Where to read the secret that signs every delivery (16 to 256 characters).
    pub secret: SecretSource,
}

/// Where the value of a secret is read, by the client that applies the
/// file: never the value itself. Exactly one of the two.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretSource {
    /// An environment variable of the process running `hks apply`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Za-z_][A-Za-z0-9_]*$")]
    pub from_env: Option<String>,
    /// A file (its whole content, less one final line break), relative to
    /// the directory `hks apply` runs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1)]
    pub from_file: Option<String>,
}

impl SecretSource {
    /// An environment variable.
    pub fn env(name: impl Into<String>) -> Self {
        Self {
            from_env: Some(name.into()),
            from_file: None,
        }
    }

    /// How people read it: `{fromEnv: NAME}`.
    pub fn describe(&self) -> String {
        match (&self.from_env, &self.from_file) {
            (Some(v), _) => format!("{{fromEnv: {v}}}"),
            (_, Some(f)) => format!("{{fromFile: {f}}}"),
            _ => "{}".into(),
        }
    }
}

/// A project file as read: the file (what of it could be read) and where
/// each of its values is in the text.
#[derive(Debug, Clone, Default)]
pub struct Document {
    pub file: ProjectFile,
    positions: Positions,
}

impl Document {
    /// The problems with the line and column of their field (or of its
    /// nearest parent the text has).
    pub fn locate(&self, mut invalid: Invalid) -> Invalid {
        for p in &mut invalid.problems {
            if p.line.is_none()
                && let Some(pos) = self.positions.find(&yaml::parse_path(&p.field))
            {
                p.line = Some(pos.line);
                p.column = Some(pos.column);
            }
        }
        invalid
    }
}

/// The path of an entry of a section: `cronjobs.nightly`, or
/// `cronjobs["a.b"]` for a name that is not a plain word.
pub fn entry_path(section: &str, name: &str) -> String {
    yaml::path_text(&[Segment::Key(section.into()), Segment::Key(name.into())])
}

/// Reads a project file: what could be read of it, and every problem found
/// in it (of its YAML, its shape, each entry's fields, its secrets), each
/// with its path and, through [`Document::locate`], its place.
pub fn read(text: &str) -> (Document, Problems) {
    let mut p = Problems::new();
    let (value, positions) = match yaml::read(text) {
        Ok(v) => v,
        Err(e) => {
            let mut invalid = Invalid::one("", Code::InvalidYaml, e.message)
                .with_hint("a project file is YAML: `hks export` writes one to start from");
            invalid.problems[0].line = Some(e.position.line);
            invalid.problems[0].column = Some(e.position.column);
            p.extend(invalid);
            return (Document::default(), p);
        }
    };
    let mut doc = Document {
        file: ProjectFile::default(),
        positions,
    };
    let Value::Object(root) = value else {
        p.push(
            "",
            Code::InvalidShape,
            "a project file is a mapping with `version` and the sections `stateless`, `functions`, `cronjobs` and `alerts`",
            Some("start from `version: 1`; `hks export` writes a whole project"),
        );
        return (doc, p);
    };
    for key in root.keys().filter(|k| !TOP_LEVEL.contains(&k.as_str())) {
        p.push(
            yaml::path_text(&[Segment::Key(key.clone())]),
            Code::InvalidShape,
            format!("unknown field `{key}`, expected one of `version`, `alerts`, `stateless`, `functions`, `cronjobs`"),
            None,
        );
    }
    match root.get("version") {
        None => p.push(
            "version",
            Code::Required,
            "the format's version is required",
            Some("add `version: 1` at the top"),
        ),
        Some(v) if v.as_u64() == Some(u64::from(VERSION)) => doc.file.version = VERSION,
        Some(v) => p.push(
            "version",
            Code::UnsupportedVersion,
            format!("this HKS reads version {VERSION} of the project file, not {v}"),
            None,
        ),
    }
    if let Some(a) = root.get("alerts").filter(|a| !a.is_null()) {
        doc.file.alerts = read_alerts(&mut p, "alerts", a);
    }
    let mut unreadable = BTreeMap::new();
    doc.file.stateless = section(
        &mut p,
        &root,
        ApplicationType::Stateless,
        &mut unreadable,
        entry::<StatelessSpec>,
    );
    doc.file.functions = section(
        &mut p,
        &root,
        ApplicationType::Function,
        &mut unreadable,
        entry::<FunctionSpec>,
    );
    doc.file.cronjobs = section(
        &mut p,
        &root,
        ApplicationType::Cronjob,
        &mut unreadable,
        |p, path, v| {
            let Value::Object(fields) = v else {
                shape(p, path, "a CronJob is a mapping of its fields");
                return None;
            };
            let mut fields = fields.clone();
            let alerts = fields
                .remove("alerts")
                .filter(|a| !a.is_null())
                .map(|a| read_alerts(p, &at(path, "alerts"), &a));
            let mut spec = entry::<CronJobSpec>(p, path, &Value::Object(fields))?;
            // The snapshot is the server's to take; the API ignores it on input too.
            if let Some(t) = spec.template.as_mut() {
                t.snapshot = None;
            }
            Some(FileCronJob {
                spec,
                alerts: alerts.unwrap_or(None),
            })
        },
    );
    doc.file.unreadable = unreadable;
    check_entries(&mut p, &doc.file);
    (doc, p)
}

/// Each entry's name and fields, and names used twice.
fn check_entries(p: &mut Problems, file: &ProjectFile) {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (section, name, spec) in entries(file) {
        let path = entry_path(section, name);
        if let Err(e) = validate_name(&path, name, formats::MAX_APPLICATION_NAME) {
            p.extend(e);
        }
        if let Some(first) = seen.insert(name, section) {
            p.push(
                &path,
                Code::DuplicateName,
                format!(
                    "'{name}' is also the name of {}: names are unique in a project",
                    entry_path(first, name)
                ),
                Some("rename one of them"),
            );
        }
        validate_spec_at(p, &path, &spec);
    }
}

/// Every application of the file, as its section, name and spec, in the
/// order of the file's sections.
fn entries(file: &ProjectFile) -> Vec<(&'static str, &str, ApplicationSpec)> {
    let mut v: Vec<(&'static str, &str, ApplicationSpec)> = Vec::new();
    v.extend(file.stateless.iter().map(|(n, s)| {
        (
            "stateless",
            n.as_str(),
            ApplicationSpec::Stateless(s.clone()),
        )
    }));
    v.extend(file.functions.iter().map(|(n, f)| {
        (
            "functions",
            n.as_str(),
            ApplicationSpec::Function(f.clone()),
        )
    }));
    v.extend(file.cronjobs.iter().map(|(n, c)| {
        (
            "cronjobs",
            n.as_str(),
            ApplicationSpec::Cronjob(c.spec.clone()),
        )
    }));
    v
}

/// The file's section of an application type.
pub fn section_of(kind: ApplicationType) -> &'static str {
    match kind {
        ApplicationType::Stateless => "stateless",
        ApplicationType::Function => "functions",
        ApplicationType::Cronjob => "cronjobs",
    }
}

fn shape(p: &mut Problems, path: &str, message: &str) {
    p.push(path, Code::InvalidShape, message, None);
}

/// A section: a mapping of names to entries, each read by `read_entry`;
/// the names of those that could not be read go to `unreadable`.
fn section<T>(
    p: &mut Problems,
    root: &Map<String, Value>,
    kind: ApplicationType,
    unreadable: &mut BTreeMap<String, ApplicationType>,
    mut read_entry: impl FnMut(&mut Problems, &str, &Value) -> Option<T>,
) -> BTreeMap<String, T> {
    let key = section_of(kind);
    let mut out = BTreeMap::new();
    match root.get(key) {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (name, v) in m {
                match read_entry(p, &entry_path(key, name), v) {
                    Some(t) => {
                        out.insert(name.clone(), t);
                    }
                    None => {
                        unreadable.insert(name.clone(), kind);
                    }
                }
            }
        }
        Some(_) => shape(
            p,
            key,
            &format!(
                "`{key}` is a mapping of names to applications, like `{key}: {{web: {{...}}}}`"
            ),
        ),
    }
    out
}

/// A value read as a `T`; a value of another shape is a problem at the
/// path of the field at fault.
fn entry<T: DeserializeOwned>(p: &mut Problems, path: &str, v: &Value) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(v) {
        Ok(t) => Some(t),
        Err(e) => {
            let mut segments = yaml::parse_path(path);
            for s in e.path().iter() {
                match s {
                    serde_path_to_error::Segment::Seq { index } => {
                        segments.push(Segment::Index(*index))
                    }
                    serde_path_to_error::Segment::Map { key } => {
                        segments.push(Segment::Key(key.clone()))
                    }
                    serde_path_to_error::Segment::Enum { .. }
                    | serde_path_to_error::Segment::Unknown => break,
                }
            }
            let message = e.into_inner().to_string();
            let hint = message
                .contains("expected a string")
                .then_some("quote the value, like \"123\" or \"true\": unquoted, YAML reads it as a number or a boolean");
            p.push(
                yaml::path_text(&segments),
                Code::InvalidShape,
                message,
                hint,
            );
            None
        }
    }
}

/// Alert settings at `path`.
fn read_alerts(p: &mut Problems, path: &str, v: &Value) -> Option<FileAlerts> {
    let Value::Object(m) = v else {
        shape(
            p,
            path,
            "alert settings are a mapping with `rules` and at most one of `webhook`, `slack`, `teams` and `email`",
        );
        return None;
    };
    for key in m
        .keys()
        .filter(|k| k.as_str() != "rules" && !DESTINATIONS.contains(&k.as_str()))
    {
        shape(
            p,
            &at(path, key),
            &format!(
                "unknown field `{key}`, expected `rules`, `webhook`, `slack`, `teams` or `email`"
            ),
        );
    }
    let given: Vec<&str> = DESTINATIONS
        .into_iter()
        .filter(|k| m.get(*k).is_some_and(|v| !v.is_null()))
        .collect();
    for extra in given.iter().skip(1) {
        p.push(
            at(path, extra),
            Code::ConflictingFields,
            format!(
                "alerts go to one destination: `{}` is given already",
                given[0]
            ),
            Some("keep one of `webhook`, `slack`, `teams` and `email`"),
        );
    }
    let rules = match m.get("rules").filter(|r| !r.is_null()) {
        None => Some(FileAlertRules::default()),
        Some(r) => entry::<FileAlertRules>(p, &at(path, "rules"), r),
    };
    if let Some(r) = &rules {
        check_alert_rules(
            p,
            &at(path, "rules"),
            r.consecutive_failures,
            r.longer_than_seconds,
        );
    }
    let webhook = match m.get("webhook").filter(|w| !w.is_null()) {
        None => Some(None),
        Some(w) => read_webhook(p, &at(path, "webhook"), w).map(Some),
    };
    let chat = |p: &mut Problems, key: &str| match m.get(key).filter(|w| !w.is_null()) {
        None => Some(None),
        Some(w) => read_chat(p, &at(path, key), w).map(Some),
    };
    let slack = chat(p, "slack");
    let teams = chat(p, "teams");
    let email = match m.get("email").filter(|w| !w.is_null()) {
        None => Some(None),
        Some(e) => entry::<FileEmail>(p, &at(path, "email"), e).map(Some),
    };
    Some(FileAlerts {
        rules: rules?,
        webhook: webhook?,
        slack: slack?,
        teams: teams?,
        email: email?,
    })
}

/// A Slack or Teams webhook at `path`: its URL only as a reference.
fn read_chat(p: &mut Problems, path: &str, v: &Value) -> Option<FileChatWebhook> {
    let Value::Object(m) = v else {
        shape(p, path, "an incoming webhook is a mapping with `url`");
        return None;
    };
    for key in m.keys().filter(|k| k.as_str() != "url") {
        shape(
            p,
            &at(path, key),
            &format!("unknown field `{key}`, expected `url` (its URL is its only credential)"),
        );
    }
    let url = source(p, &at(path, "url"), m.get("url"), "URL")?;
    Some(FileChatWebhook { url })
}

/// The smallest and largest `consecutiveFailures`.
pub const STREAK: std::ops::RangeInclusive<u32> = 2..=100;
/// The smallest `longerThanSeconds`.
pub const MIN_LONGER_THAN: u32 = 60;

/// The alert rules' ranges, for a project file and for the API's alert
/// settings alike; `path` is the rules' own (`rules`).
pub fn check_alert_rules(
    p: &mut Problems,
    path: &str,
    consecutive_failures: Option<u32>,
    longer_than_seconds: Option<u32>,
) {
    if let Some(n) = consecutive_failures
        && !STREAK.contains(&n)
    {
        p.push(
            at(path, "consecutiveFailures"),
            Code::OutOfRange,
            format!("must be between {} and {}", STREAK.start(), STREAK.end()),
            Some("for an alert on every failure, use onFailure"),
        );
    }
    if let Some(s) = longer_than_seconds
        && s < MIN_LONGER_THAN
    {
        p.push(
            at(path, "longerThanSeconds"),
            Code::OutOfRange,
            format!("must be at least {MIN_LONGER_THAN}"),
            None,
        );
    }
}

fn read_webhook(p: &mut Problems, path: &str, v: &Value) -> Option<FileWebhook> {
    let Value::Object(m) = v else {
        shape(p, path, "a webhook is a mapping with `url` and `secret`");
        return None;
    };
    for key in m
        .keys()
        .filter(|k| !["url", "secret"].contains(&k.as_str()))
    {
        shape(
            p,
            &at(path, key),
            &format!("unknown field `{key}`, expected `url` or `secret`"),
        );
    }
    let url = source(p, &at(path, "url"), m.get("url"), "URL");
    let secret = source(p, &at(path, "secret"), m.get("secret"), "secret");
    Some(FileWebhook {
        url: url?,
        secret: secret?,
    })
}

/// Where a secret is read: a reference, never a value.
fn source(p: &mut Problems, path: &str, v: Option<&Value>, what: &str) -> Option<SecretSource> {
    const HINT: &str = "write where `hks apply` reads it: {fromEnv: NAME} (an environment variable) or {fromFile: PATH}";
    let s = match v {
        None | Some(Value::Null) => {
            p.push(
                path,
                Code::Required,
                format!("the webhook's {what} is required"),
                Some(HINT),
            );
            return None;
        }
        // The value is not repeated in the message: it is a secret.
        Some(Value::String(_) | Value::Number(_) | Value::Bool(_)) => {
            p.push(
                path,
                Code::InlineSecret,
                format!("a webhook {what} is never written in a project file: HKS keeps it encrypted and never shows it"),
                Some(HINT),
            );
            return None;
        }
        Some(v) => entry::<SecretSource>(p, path, v)?,
    };
    match (&s.from_env, &s.from_file) {
        (Some(_), Some(_)) | (None, None) => {
            p.push(
                path,
                Code::ConflictingFields,
                "give exactly one of `fromEnv` and `fromFile`",
                Some(HINT),
            );
            return None;
        }
        (Some(name), None) => {
            let ok = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                p.push(
                    at(path, "fromEnv"),
                    Code::InvalidEnvName,
                    "not an environment variable's name: letters, digits and `_`, not starting with a digit",
                    None,
                );
                return None;
            }
        }
        (None, Some(file)) => {
            if file.is_empty() || file.contains('\0') {
                p.push(
                    at(path, "fromFile"),
                    Code::InvalidLength,
                    "a file's path, not empty, without NUL characters",
                    None,
                );
                return None;
            }
        }
    }
    Some(s)
}

/// What a project has now, as far as a file says: its applications and
/// its alert settings.
#[derive(Debug, Clone, Default)]
pub struct Current {
    pub applications: BTreeMap<String, ApplicationSpec>,
    /// The project's default alert settings under `None`, a CronJob's own
    /// under its name.
    pub alerts: BTreeMap<Option<String>, CurrentAlerts>,
}

/// Alert settings as stored.
#[derive(Debug, Clone, Default)]
pub struct CurrentAlerts {
    pub rules: FileAlertRules,
    pub destination: Option<CurrentDestination>,
}

/// A stored destination.
#[derive(Debug, Clone)]
pub enum CurrentDestination {
    Webhook(CurrentWebhook),
    Slack(CurrentChat),
    Teams(CurrentChat),
    Email { to: Vec<String> },
}

impl CurrentDestination {
    /// Its key in a file (`webhook`, `slack`, ...).
    fn key(&self) -> &'static str {
        match self {
            Self::Webhook(_) => "webhook",
            Self::Slack(_) => "slack",
            Self::Teams(_) => "teams",
            Self::Email { .. } => "email",
        }
    }
}

/// A stored Slack or Teams webhook: its URL, and where a project file said
/// to read it (`None` when it was set through the API).
#[derive(Debug, Clone)]
pub struct CurrentChat {
    pub url: SecretString,
    pub url_source: Option<SecretSource>,
}

/// A stored webhook: its values, and where a project file said to read
/// them (`None` when they were set through the API).
#[derive(Debug, Clone)]
pub struct CurrentWebhook {
    pub url: SecretString,
    pub secret: SecretString,
    pub url_source: Option<SecretSource>,
    pub secret_source: Option<SecretSource>,
}

/// The values of the file's secret references the request gave, by their
/// path in the file (`cronjobs.nightly.alerts.webhook.secret`).
pub type Values = BTreeMap<String, SecretString>;

/// What a change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    Create,
    Update,
    Delete,
}

/// What a change is to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ChangeKind {
    Stateless,
    Function,
    Cronjob,
    /// Alert settings: the project's default, or a CronJob's own.
    Alerts,
}

/// One change a file makes to a project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub action: Action,
    pub kind: ChangeKind,
    /// The application's name; for alert settings, the CronJob's, or none
    /// for the project's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Where it is in the file: `cronjobs.nightly`, `alerts`, `cronjobs.nightly.alerts`.
    pub path: String,
    /// Field by field, what changes (for a creation, every field it sets;
    /// none for a deletion).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
}

/// One field that changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FieldChange {
    /// The field's path in the file, like `cronjobs.nightly.schedule`.
    pub path: String,
    /// Its value now; none when it is not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// Its value after the change; none when it is removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    /// A secret (a webhook's URL or secret): `before` and `after` say where
    /// it is read from, never its value, which may change with the same
    /// reference.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
}

/// What one step of a plan writes.
#[derive(Debug, Clone)]
#[allow(
    clippy::large_enum_variant,
    reason = "a plan has a step per application of one file; boxing would only complicate matching"
)]
pub enum Write {
    /// Create or update the application with this spec.
    Application(ApplicationSpec),
    DeleteApplication,
    /// Store these alert settings.
    Alerts(DesiredAlerts),
    DeleteAlerts,
}

/// Alert settings to store; without a destination, alerts are only recorded.
#[derive(Debug, Clone)]
pub struct DesiredAlerts {
    pub rules: FileAlertRules,
    pub destination: Option<DesiredDestination>,
}

/// A destination to store. A value left `None` keeps the stored one (the
/// stored destination is then of the same kind).
#[derive(Debug, Clone)]
pub enum DesiredDestination {
    Webhook(DesiredWebhook),
    Slack(DesiredChat),
    Teams(DesiredChat),
    Email { to: Vec<String> },
}

#[derive(Debug, Clone)]
pub struct DesiredChat {
    pub url: Option<SecretString>,
    pub url_source: SecretSource,
}

#[derive(Debug, Clone)]
pub struct DesiredWebhook {
    pub url: Option<SecretString>,
    pub secret: Option<SecretString>,
    pub url_source: SecretSource,
    pub secret_source: SecretSource,
}

/// One change and what it writes.
#[derive(Debug, Clone)]
pub struct Step {
    pub change: Change,
    pub write: Write,
}

/// The steps that make a project match a file, in the order they must be
/// taken: templates and Functions before the CronJobs that use them, alert
/// settings after their CronJob, and, with `prune`, CronJobs deleted before
/// the templates and Functions they used.
///
/// Checks what needs the project: that every template and Function a
/// CronJob names is in the file (or stays in the project), that no
/// application changes its type, and that a new webhook has the values of
/// its references. Every problem is reported, with its path.
pub fn plan(
    file: &ProjectFile,
    current: &Current,
    values: &Values,
    prune: bool,
) -> Result<Vec<Step>, Invalid> {
    let mut p = Problems::new();
    // What the project will have: the file's applications, and, without
    // `prune`, those it does not name.
    let mut after: BTreeMap<&str, ApplicationType> = BTreeMap::new();
    if !prune {
        after.extend(
            current
                .applications
                .iter()
                .map(|(n, s)| (n.as_str(), s.kind())),
        );
    }
    let named = entries(file);
    for (_, name, spec) in &named {
        after.insert(name, spec.kind());
    }
    after.extend(file.unreadable.iter().map(|(n, k)| (n.as_str(), *k)));
    for (section, name, spec) in &named {
        if let Some(now) = current.applications.get(*name)
            && now.kind() != spec.kind()
        {
            p.push(
                entry_path(section, name),
                Code::TypeChange,
                format!("'{name}' is a {} application in the project; its type cannot change", now.kind().as_str()),
                Some("delete it first (leave it out of the file and apply with --prune), then add it again"),
            );
        }
    }
    for (name, c) in &file.cronjobs {
        check_references(
            &mut p,
            &entry_path("cronjobs", name),
            &c.spec,
            &after,
            current.applications.get(name),
        );
    }
    let mut steps = Vec::new();
    for (section, name, spec) in &named {
        let kind = match spec.kind() {
            ApplicationType::Stateless => ChangeKind::Stateless,
            ApplicationType::Function => ChangeKind::Function,
            ApplicationType::Cronjob => ChangeKind::Cronjob,
        };
        let path = entry_path(section, name);
        let desired = comparable(spec);
        let (action, fields) = match current.applications.get(*name) {
            None => (Action::Create, diff(&path, None, Some(&desired))),
            Some(now) => (
                Action::Update,
                diff(&path, Some(&comparable(now)), Some(&desired)),
            ),
        };
        if action == Action::Update && fields.is_empty() {
            continue;
        }
        steps.push(Step {
            change: Change {
                action,
                kind,
                name: Some((*name).to_owned()),
                path,
                fields,
            },
            write: Write::Application(spec.clone()),
        });
    }
    // Alert settings, after the CronJobs they belong to.
    let mut targets: Vec<(Option<&str>, Option<&FileAlerts>)> = vec![(None, file.alerts.as_ref())];
    targets.extend(
        file.cronjobs
            .iter()
            .map(|(n, c)| (Some(n.as_str()), c.alerts.as_ref())),
    );
    let mut removed = Vec::new();
    for (cronjob, desired) in &targets {
        let path = match cronjob {
            None => "alerts".to_owned(),
            Some(n) => at(&entry_path("cronjobs", n), "alerts"),
        };
        let now = current.alerts.get(&cronjob.map(str::to_owned));
        let change = |action, fields| Change {
            action,
            kind: ChangeKind::Alerts,
            name: cronjob.map(str::to_owned),
            path: path.clone(),
            fields,
        };
        match (desired, now) {
            (None, None) => {}
            (None, Some(_)) => {
                if prune {
                    removed.push(Step {
                        change: change(Action::Delete, vec![]),
                        write: Write::DeleteAlerts,
                    });
                }
            }
            (Some(d), now) => {
                let Some((fields, write)) = alerts_change(&mut p, &path, d, now, values) else {
                    continue;
                };
                let action = if now.is_some() {
                    Action::Update
                } else {
                    Action::Create
                };
                if action == Action::Update && fields.is_empty() {
                    continue;
                }
                steps.push(Step {
                    change: change(action, fields),
                    write: Write::Alerts(write),
                });
            }
        }
    }
    steps.extend(removed);
    if prune {
        // CronJobs first: they use the templates and Functions deleted after them.
        let mut gone: Vec<(&String, &ApplicationSpec)> = current
            .applications
            .iter()
            .filter(|(n, _)| !after.contains_key(n.as_str()))
            .collect();
        gone.sort_by_key(|(n, s)| {
            (
                s.kind() != ApplicationType::Cronjob,
                s.kind() == ApplicationType::Stateless,
                n.as_str(),
            )
        });
        for (name, spec) in gone {
            let kind = spec.kind();
            steps.push(Step {
                change: Change {
                    action: Action::Delete,
                    kind: match kind {
                        ApplicationType::Stateless => ChangeKind::Stateless,
                        ApplicationType::Function => ChangeKind::Function,
                        ApplicationType::Cronjob => ChangeKind::Cronjob,
                    },
                    name: Some(name.clone()),
                    path: entry_path(section_of(kind), name),
                    fields: vec![],
                },
                write: Write::DeleteApplication,
            });
        }
    }
    p.finish()?;
    Ok(steps)
}

/// A CronJob's template and Function: in the project after the apply,
/// and of the right type.
fn check_references(
    p: &mut Problems,
    path: &str,
    c: &CronJobSpec,
    after: &BTreeMap<&str, ApplicationType>,
    now: Option<&ApplicationSpec>,
) {
    if let Some(t) = &c.template {
        // A snapshot CronJob keeps the container it took, even once its
        // template is gone (the server keeps the snapshot of the same template).
        let kept = matches!(now, Some(ApplicationSpec::Cronjob(old)) if old.template.as_ref().is_some_and(|o|
            o.application == t.application && o.mode == TemplateMode::Snapshot && o.snapshot.is_some()))
            && t.mode == TemplateMode::Snapshot;
        match after.get(t.application.as_str()) {
            Some(ApplicationType::Stateless) => {}
            _ if kept => {}
            Some(other) => p.push(
                at(path, "template.application"),
                Code::TemplateNotStateless,
                format!(
                    "'{}' is a {} application; only Stateless applications can be templates",
                    t.application,
                    other.as_str()
                ),
                None,
            ),
            None => p.push(
                at(path, "template.application"),
                Code::TemplateNotFound,
                format!(
                    "there is no Stateless application named '{}' in the file or the project",
                    t.application
                ),
                Some("add it under `stateless`, or give an explicit `image`"),
            ),
        }
    }
    if let Some(f) = &c.function {
        match after.get(f.name.as_str()) {
            Some(ApplicationType::Function) => {}
            Some(_) => p.push(
                at(path, "function.name"),
                Code::NotAFunction,
                format!("'{}' is not a Function", f.name),
                None,
            ),
            None => p.push(
                at(path, "function.name"),
                Code::FunctionNotFound,
                format!(
                    "there is no Function named '{}' in the file or the project",
                    f.name
                ),
                Some("add it under `functions`"),
            ),
        }
    }
}

/// A spec as the file compares it: the server's template snapshot left out.
fn comparable(spec: &ApplicationSpec) -> Value {
    let v = match spec {
        ApplicationSpec::Stateless(s) => serde_json::to_value(s),
        ApplicationSpec::Function(f) => serde_json::to_value(f),
        ApplicationSpec::Cronjob(c) => {
            let mut c = c.clone();
            if let Some(t) = c.template.as_mut() {
                t.snapshot = None;
            }
            serde_json::to_value(c)
        }
    };
    v.unwrap_or(Value::Null)
}

/// The leaves that differ between `before` and `after`, under `path`.
fn diff(path: &str, before: Option<&Value>, after: Option<&Value>) -> Vec<FieldChange> {
    let mut out = Vec::new();
    walk(&mut yaml::parse_path(path), before, after, &mut out);
    out
}

fn walk(
    path: &mut Vec<Segment>,
    before: Option<&Value>,
    after: Option<&Value>,
    out: &mut Vec<FieldChange>,
) {
    let object = |v: Option<&Value>| match v {
        Some(Value::Object(m)) => Some(m.clone()),
        _ => None,
    };
    let array = |v: Option<&Value>| match v {
        Some(Value::Array(a)) => Some(a.clone()),
        _ => None,
    };
    let (ob, oa) = (object(before), object(after));
    if (ob.is_some() || before.is_none())
        && (oa.is_some() || after.is_none())
        && (ob.is_some() || oa.is_some())
    {
        let (ob, oa) = (ob.unwrap_or_default(), oa.unwrap_or_default());
        let keys: BTreeSet<&String> = ob.keys().chain(oa.keys()).collect();
        for k in keys {
            path.push(Segment::Key(k.clone()));
            walk(path, ob.get(k), oa.get(k), out);
            path.pop();
        }
        return;
    }
    let (ab, aa) = (array(before), array(after));
    if (ab.is_some() || before.is_none())
        && (aa.is_some() || after.is_none())
        && (ab.is_some() || aa.is_some())
    {
        let (ab, aa) = (ab.unwrap_or_default(), aa.unwrap_or_default());
        for i in 0..ab.len().max(aa.len()) {
            path.push(Segment::Index(i));
            walk(path, ab.get(i), aa.get(i), out);
            path.pop();
        }
        return;
    }
    if before != after {
        out.push(FieldChange {
            path: yaml::path_text(path),
            before: before.cloned(),
            after: after.cloned(),
            secret: false,
        });
    }
}

/// The change of one target's alert settings, and what to store; `None`
/// when a value is missing (reported in `p`).
fn alerts_change(
    p: &mut Problems,
    path: &str,
    desired: &FileAlerts,
    now: Option<&CurrentAlerts>,
    values: &Values,
) -> Option<(Vec<FieldChange>, DesiredAlerts)> {
    let rules_path = at(path, "rules");
    let rules_now = now.map(|n| serde_json::to_value(&n.rules).unwrap_or(Value::Null));
    let rules_after = serde_json::to_value(&desired.rules).unwrap_or(Value::Null);
    let mut fields = if now.is_some() {
        diff(&rules_path, rules_now.as_ref(), Some(&rules_after))
    } else {
        diff(&rules_path, None, Some(&rules_after))
    };
    let stored = now.and_then(|n| n.destination.as_ref());
    let wanted = DESTINATIONS.into_iter().find(|k| match *k {
        "webhook" => desired.webhook.is_some(),
        "slack" => desired.slack.is_some(),
        "teams" => desired.teams.is_some(),
        _ => desired.email.is_some(),
    });
    // A stored destination that goes (removed, or replaced by another
    // kind): its fields are removed.
    if let Some(s) = stored
        && Some(s.key()) != wanted
    {
        let base = at(path, s.key());
        match s {
            CurrentDestination::Webhook(h) => {
                for (field, source) in [("url", &h.url_source), ("secret", &h.secret_source)] {
                    fields.push(secret_field(&at(&base, field), Some(source.as_ref()), None));
                }
            }
            CurrentDestination::Slack(c) | CurrentDestination::Teams(c) => {
                fields.push(secret_field(
                    &at(&base, "url"),
                    Some(c.url_source.as_ref()),
                    None,
                ));
            }
            CurrentDestination::Email { to } => fields.push(FieldChange {
                path: at(&base, "to"),
                before: Some(Value::from(to.clone())),
                after: None,
                secret: false,
            }),
        }
    }
    let mut secrets = Secrets {
        p,
        fields: &mut fields,
        values,
        missing: false,
    };
    let destination = if let Some(w) = &desired.webhook {
        let hook_now = match stored {
            Some(CurrentDestination::Webhook(h)) => Some(h),
            _ => None,
        };
        let base = at(path, "webhook");
        let url = secrets.value(
            &at(&base, "url"),
            &w.url,
            hook_now.map(|h| (&h.url, &h.url_source)),
            "the webhook's URL",
        );
        let secret = secrets.value(
            &at(&base, "secret"),
            &w.secret,
            hook_now.map(|h| (&h.secret, &h.secret_source)),
            "the webhook's secret",
        );
        Some(DesiredDestination::Webhook(DesiredWebhook {
            url,
            secret,
            url_source: w.url.clone(),
            secret_source: w.secret.clone(),
        }))
    } else if let Some(c) = &desired.slack {
        let now = match stored {
            Some(CurrentDestination::Slack(c)) => Some(c),
            _ => None,
        };
        Some(DesiredDestination::Slack(secrets.chat(
            &at(path, "slack"),
            c,
            now,
            "the Slack webhook's URL",
        )))
    } else if let Some(c) = &desired.teams {
        let now = match stored {
            Some(CurrentDestination::Teams(c)) => Some(c),
            _ => None,
        };
        Some(DesiredDestination::Teams(secrets.chat(
            &at(path, "teams"),
            c,
            now,
            "the Teams webhook's URL",
        )))
    } else if let Some(e) = &desired.email {
        let to_now = match stored {
            Some(CurrentDestination::Email { to }) => Some(to),
            _ => None,
        };
        if to_now != Some(&e.to) {
            secrets.fields.push(FieldChange {
                path: at(&at(path, "email"), "to"),
                before: to_now.map(|t| Value::from(t.clone())),
                after: Some(Value::from(e.to.clone())),
                secret: false,
            });
        }
        Some(DesiredDestination::Email { to: e.to.clone() })
    } else {
        None
    };
    if secrets.missing {
        return None;
    }
    Some((
        fields,
        DesiredAlerts {
            rules: desired.rules.clone(),
            destination,
        },
    ))
}

/// The secret values of a destination being planned: each one's change,
/// and a problem for each one neither given nor stored.
struct Secrets<'a> {
    p: &'a mut Problems,
    fields: &'a mut Vec<FieldChange>,
    values: &'a Values,
    missing: bool,
}

impl Secrets<'_> {
    /// The value given for the reference at `path` (`None` keeps `stored`).
    fn value(
        &mut self,
        path: &str,
        source: &SecretSource,
        stored: Option<(&SecretString, &Option<SecretSource>)>,
        what: &str,
    ) -> Option<SecretString> {
        let given = self.values.get(path);
        if given.is_none() && stored.is_none() {
            let hint = match (&source.from_env, &source.from_file) {
                (Some(v), _) => {
                    format!("`hks apply` reads it from the environment variable {v}: set it")
                }
                (_, Some(f)) => format!("`hks apply` reads it from the file {f}: create it"),
                _ => String::new(),
            };
            self.p.push(
                path,
                Code::SecretValueMissing,
                format!(
                    "no value was given for {what} ({}), and there is no stored one to keep",
                    source.describe()
                ),
                Some(&hint),
            );
            self.missing = true;
        }
        let changed = match stored {
            None => true,
            Some((value, stored_source)) => {
                stored_source.as_ref() != Some(source)
                    || given.is_some_and(|g| g.expose_secret() != value.expose_secret())
            }
        };
        if changed {
            self.fields.push(secret_field(
                path,
                stored.map(|(_, s)| s.as_ref()),
                Some(source),
            ));
        }
        given.cloned()
    }

    /// A Slack or Teams webhook at `base`.
    fn chat(
        &mut self,
        base: &str,
        c: &FileChatWebhook,
        now: Option<&CurrentChat>,
        what: &str,
    ) -> DesiredChat {
        let url = self.value(
            &at(base, "url"),
            &c.url,
            now.map(|n| (&n.url, &n.url_source)),
            what,
        );
        DesiredChat {
            url,
            url_source: c.url.clone(),
        }
    }
}

/// A secret's change, shown by where it is read from: `before` is `None`
/// when there was none, and the text `set through the API` when it has
/// no reference.
fn secret_field(
    path: &str,
    before: Option<Option<&SecretSource>>,
    after: Option<&SecretSource>,
) -> FieldChange {
    let shown = |s: &SecretSource| serde_json::to_value(s).unwrap_or(Value::Null);
    FieldChange {
        path: path.to_owned(),
        before: before.map(|b| b.map_or_else(|| Value::from("set through the API"), shown)),
        after: after.map(shown),
        secret: true,
    }
}

/// A project as a file. Webhook values are never written: their
/// references are, as the last file applied gave them, else
/// `HKS_ALERTS_WEBHOOK_URL` and `HKS_ALERTS_WEBHOOK_SECRET` (a CronJob's
/// own: `HKS_ALERTS_<NAME>_WEBHOOK_URL`...).
pub fn export(current: &Current) -> ProjectFile {
    let mut file = ProjectFile {
        version: VERSION,
        ..ProjectFile::default()
    };
    let alerts = |cronjob: Option<&str>| {
        current.alerts.get(&cronjob.map(str::to_owned)).map(|a| {
            let prefix = match cronjob {
                None => "HKS_ALERTS".to_owned(),
                Some(n) => format!("HKS_ALERTS_{}", n.to_ascii_uppercase().replace('-', "_")),
            };
            let or_env = |source: &Option<SecretSource>, name: &str| {
                source
                    .clone()
                    .unwrap_or_else(|| SecretSource::env(format!("{prefix}_{name}")))
            };
            let mut out = FileAlerts {
                rules: a.rules.clone(),
                ..FileAlerts::default()
            };
            match &a.destination {
                None => {}
                Some(CurrentDestination::Webhook(w)) => {
                    out.webhook = Some(FileWebhook {
                        url: or_env(&w.url_source, "WEBHOOK_URL"),
                        secret: or_env(&w.secret_source, "WEBHOOK_SECRET"),
                    });
                }
                Some(CurrentDestination::Slack(c)) => {
                    out.slack = Some(FileChatWebhook {
                        url: or_env(&c.url_source, "SLACK_URL"),
                    });
                }
                Some(CurrentDestination::Teams(c)) => {
                    out.teams = Some(FileChatWebhook {
                        url: or_env(&c.url_source, "TEAMS_URL"),
                    });
                }
                Some(CurrentDestination::Email { to }) => {
                    out.email = Some(FileEmail { to: to.clone() });
                }
            }
            out
        })
    };
    file.alerts = alerts(None);
    for (name, spec) in &current.applications {
        match spec {
            ApplicationSpec::Stateless(s) => {
                file.stateless.insert(name.clone(), s.clone());
            }
            ApplicationSpec::Function(f) => {
                file.functions.insert(name.clone(), f.clone());
            }
            ApplicationSpec::Cronjob(c) => {
                let mut spec = c.clone();
                if let Some(t) = spec.template.as_mut() {
                    t.snapshot = None;
                }
                file.cronjobs.insert(
                    name.clone(),
                    FileCronJob {
                        spec,
                        alerts: alerts(Some(name)),
                    },
                );
            }
        }
    }
    file
}

/// The file as YAML: keys in the order of the types' fields, entries by
/// name, so the same project always gives the same bytes.
pub fn render(file: &ProjectFile) -> String {
    let body = serde_yaml::to_string(file).unwrap_or_default();
    format!(
        "# HKS project file. `hks diff -f FILE` shows what `hks apply -f FILE` would change.\n{body}"
    )
}

/// The project file's JSON Schema (draft 2020-12), made from the same
/// types as the API's OpenAPI document.
pub fn json_schema() -> Value {
    let mut defs: Vec<(String, RefOr<Schema>)> = Vec::new();
    ProjectFile::schemas(&mut defs);
    let mut out = Map::new();
    for (name, schema) in defs {
        out.insert(name, serde_json::to_value(schema).unwrap_or(Value::Null));
    }
    out.insert(
        ProjectFile::name().into_owned(),
        serde_json::to_value(ProjectFile::schema()).unwrap_or(Value::Null),
    );
    let text = serde_json::to_string(&serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "HKS project file",
        "description": "A project's applications (Stateless, Functions, CronJobs) and alert settings, as `hks export` writes them and `hks apply` reads them. Webhook URLs and secrets are only references (`fromEnv`, `fromFile`).",
        "$ref": format!("#/$defs/{}", ProjectFile::name()),
        "$defs": out,
    }))
    .unwrap_or_default()
    .replace("#/components/schemas/", "#/$defs/");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// The problem of a secret's reference for people: used by clients that
/// resolve references (`hks apply`) to report one they could not read.
pub fn unresolved(path: &str, source: &SecretSource, why: &str) -> Problem {
    Problem {
        field: path.to_owned(),
        code: Code::SecretValueMissing,
        message: format!("cannot read {}: {why}", source.describe()),
        hint: None,
        line: None,
        column: None,
    }
}

/// Every secret reference of a file, by its path: what a client resolves
/// and sends as [`Values`].
pub fn references(file: &ProjectFile) -> Vec<(String, SecretSource)> {
    let mut out = Vec::new();
    let mut add = |path: String, a: Option<&FileAlerts>| {
        let Some(a) = a else { return };
        if let Some(w) = &a.webhook {
            let base = at(&path, "webhook");
            out.push((at(&base, "url"), w.url.clone()));
            out.push((at(&base, "secret"), w.secret.clone()));
        }
        for (key, c) in [("slack", &a.slack), ("teams", &a.teams)] {
            if let Some(c) = c {
                out.push((at(&at(&path, key), "url"), c.url.clone()));
            }
        }
    };
    add("alerts".into(), file.alerts.as_ref());
    for (name, c) in &file.cronjobs {
        add(
            at(&entry_path("cronjobs", name), "alerts"),
            c.alerts.as_ref(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"version: 1
alerts:
  rules: {onFailure: true, onRecovery: true}
  webhook:
    url: {fromEnv: HOOK_URL}
    secret: {fromFile: ./hook.secret}
stateless:
  web:
    image: ghcr.io/acme/web:1.4
    port: 8080
    env:
      - {name: DATABASE_URL, secret: {name: db, key: url}}
functions:
  greet: {endpoint: "http://greeter.shop.svc:8080/"}
cronjobs:
  nightly:
    schedule: "0 3 * * *"
    timeZone: Europe/Berlin
    template: {application: web, mode: follow}
    command: {argv: ["./report --since 24h"], shell: true}
    labels: {team: data}
    alerts:
      rules: {consecutiveFailures: 3}
  wake:
    schedule: "*/10 * * * *"
    function: {name: greet, body: '{"who": "cron"}'}
"#;

    fn read_ok(text: &str) -> ProjectFile {
        let (doc, p) = read(text);
        assert!(p.is_empty(), "{:?}", p.finish());
        doc.file
    }

    /// The problems, as `path code`.
    fn codes(e: &Invalid) -> Vec<String> {
        e.problems
            .iter()
            .map(|p| format!("{} {}", p.field, p.code))
            .collect()
    }

    /// The problems of `text`, as `path line:column code`.
    fn problems(text: &str) -> Vec<String> {
        let (doc, p) = read(text);
        let invalid = doc.locate(p.finish().expect_err("problems"));
        invalid
            .problems
            .iter()
            .map(|p| {
                format!(
                    "{} {}:{} {}",
                    p.field,
                    p.line.unwrap_or(0),
                    p.column.unwrap_or(0),
                    p.code
                )
            })
            .collect()
    }

    fn current_of(file: &ProjectFile) -> Current {
        let mut current = Current::default();
        for (_, name, spec) in entries(file) {
            current.applications.insert(name.to_owned(), spec);
        }
        current
    }

    #[test]
    fn a_file_reads_into_the_apis_specs() {
        let file = read_ok(FILE);
        assert_eq!(file.version, 1);
        let nightly = &file.cronjobs["nightly"];
        assert_eq!(nightly.spec.schedule, "0 3 * * *");
        assert_eq!(nightly.spec.timeout_seconds, 3600, "the API's defaults");
        assert_eq!(
            nightly.alerts.as_ref().unwrap().rules.consecutive_failures,
            Some(3)
        );
        assert_eq!(file.stateless["web"].port, Some(8080));
        assert_eq!(
            references(&file),
            [
                (
                    "alerts.webhook.url".to_owned(),
                    SecretSource::env("HOOK_URL")
                ),
                (
                    "alerts.webhook.secret".to_owned(),
                    SecretSource {
                        from_env: None,
                        from_file: Some("./hook.secret".into())
                    }
                ),
            ]
        );
    }

    /// What is written reads back as the same file, and writing it again
    /// gives the same bytes.
    #[test]
    fn render_reads_back_as_the_same_file() {
        let mut file = read_ok(FILE);
        // Text that YAML would read as something else unless quoted.
        let tricky = [
            "yes",
            "on",
            "null",
            "~",
            "",
            "123",
            "0o17",
            "0x1F",
            "1e3",
            ".inf",
            "-",
            "@daily",
            "*/5 * * * *",
            "a: b",
            "# no comment",
            "  padded  ",
            "line\nbreak\n",
            "trailing\n\n",
            "tab\there",
            "quote ' and \"",
            "ünïcödé ✓",
            "[1, 2]",
            "{a: 1}",
            "!tag",
            "&anchor",
            "%percent",
        ];
        let web = file.stateless.get_mut("web").unwrap();
        web.args = tricky.iter().map(|s| (*s).to_owned()).collect();
        web.env = tricky
            .iter()
            .enumerate()
            .map(|(i, v)| crate::spec::EnvVar {
                name: format!("V{i}"),
                value: Some((*v).to_owned()),
                secret: None,
            })
            .collect();
        let text = render(&file);
        let again = read_ok(&text);
        assert_eq!(again, file, "{text}");
        assert_eq!(render(&again), text);
    }

    #[test]
    fn every_problem_is_reported_with_its_path_and_place() {
        let text = "version: 1\ncronjobs:\n  nightly:\n    schedule: '61 * * * *'\n    image: busybox:1.36\n    env:\n      - {name: 1BAD, value: x}\n  other:\n    schedule: '@daily'\n    image: 'Not An Image'\n";
        assert_eq!(
            problems(text),
            [
                "cronjobs.nightly.schedule 4:5 invalid_field",
                "cronjobs.nightly.env[0].name 7:10 invalid_env_name",
                "cronjobs.other.image 10:5 invalid_image",
            ]
        );
        // Shapes: a misspelt field, a wrong type, an unknown section, a
        // missing version; one per entry, and every entry.
        let text = "stateless:\n  web: {image: x, prot: 80}\n  api: {image: x, replicas: many}\ncronjob:\n  x: {}\n";
        assert_eq!(
            problems(text),
            [
                "cronjob 4:1 invalid_shape",
                "version 1:1 required",
                "stateless.api.replicas 3:19 invalid_shape",
                "stateless.web.prot 2:19 invalid_shape",
            ]
        );
        // YAML that is not: one problem, at its place.
        assert_eq!(
            problems("version: 1\ncronjobs:\n  a: 1\n b: 2\n"),
            [" 4:2 invalid_yaml"]
        );
        assert_eq!(
            problems("version: 2\n"),
            ["version 1:1 unsupported_version"]
        );
        assert_eq!(
            problems(
                "version: 1\nstateless:\n  web: {image: x}\nfunctions:\n  web: {endpoint: 'http://a/'}\n"
            ),
            ["functions.web 5:3 duplicate_name"]
        );
    }

    #[test]
    fn a_secret_written_in_the_file_is_refused_without_repeating_it() {
        let text = "version: 1\nalerts:\n  webhook:\n    url: https://hooks.example.com/T0/B0/xyzzy\n    secret: hunter2-hunter2-hunter2\n";
        let (doc, p) = read(text);
        let invalid = doc.locate(p.finish().unwrap_err());
        let shown: Vec<String> = invalid
            .problems
            .iter()
            .map(|p| {
                format!(
                    "{} {}:{} {}",
                    p.field,
                    p.line.unwrap(),
                    p.column.unwrap(),
                    p.code
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                "alerts.webhook.url 4:5 inline_secret",
                "alerts.webhook.secret 5:5 inline_secret"
            ]
        );
        let all = format!("{invalid:?}");
        assert!(!all.contains("hunter2") && !all.contains("xyzzy"), "{all}");
        // References: exactly one source, a real variable name.
        assert_eq!(
            problems(
                "version: 1\nalerts:\n  webhook:\n    url: {fromEnv: A, fromFile: b}\n    secret: {fromEnv: 1X}\n"
            ),
            [
                "alerts.webhook.url 4:5 conflicting_fields",
                "alerts.webhook.secret.fromEnv 5:14 invalid_env_name"
            ]
        );
    }

    fn kinds(steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .map(|s| format!("{:?} {}", s.change.action, s.change.path))
            .collect()
    }

    fn values() -> Values {
        [
            (
                "alerts.webhook.url".to_owned(),
                SecretString::from("https://hooks.example.com/a"),
            ),
            (
                "alerts.webhook.secret".to_owned(),
                SecretString::from("sixteen-characters"),
            ),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn a_plan_creates_templates_and_functions_before_the_cronjobs_that_use_them() {
        let file = read_ok(FILE);
        let steps = plan(&file, &Current::default(), &values(), false).unwrap();
        assert_eq!(
            kinds(&steps),
            [
                "Create stateless.web",
                "Create functions.greet",
                "Create cronjobs.nightly",
                "Create cronjobs.wake",
                "Create alerts",
                "Create cronjobs.nightly.alerts",
            ]
        );
        let nightly = &steps[2].change;
        assert!(
            nightly
                .fields
                .iter()
                .any(|f| f.path == "cronjobs.nightly.schedule"
                    && f.after == Some("0 3 * * *".into()))
        );
        assert!(
            nightly
                .fields
                .iter()
                .any(|f| f.path == "cronjobs.nightly.labels.team")
        );
        // A new webhook needs its values; none is ever shown.
        let e = plan(&file, &Current::default(), &Values::new(), false).unwrap_err();
        let fields: Vec<&str> = e.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["alerts.webhook.url", "alerts.webhook.secret"]);
        assert!(e.problems[0].hint.as_deref().unwrap().contains("HOOK_URL"));
    }

    /// Slack, Teams and email destinations: read, planned, exported as
    /// the same file, and replaced by another kind field by field.
    #[test]
    fn chat_and_email_destinations() {
        let text = "version: 1\nalerts:\n  rules: {onFailure: true}\n  slack:\n    url: {fromEnv: SLACK}\n";
        let file = read_ok(text);
        let slack = file.alerts.as_ref().unwrap().slack.as_ref().unwrap();
        assert_eq!(slack.url, SecretSource::env("SLACK"));
        // A new Slack webhook needs its URL's value.
        let e = plan(&file, &Current::default(), &Values::new(), false).unwrap_err();
        assert_eq!(
            codes(&e),
            ["alerts.slack.url secret_value_missing".to_owned()]
        );
        let given: Values = [(
            "alerts.slack.url".to_owned(),
            SecretString::from("https://hooks.slack.com/services/T/B/x"),
        )]
        .into();
        let steps = plan(&file, &Current::default(), &given, false).unwrap();
        let Write::Alerts(DesiredAlerts {
            destination: Some(DesiredDestination::Slack(chat)),
            ..
        }) = &steps[0].write
        else {
            panic!("{:?}", steps[0].write)
        };
        assert_eq!(
            chat.url.as_ref().unwrap().expose_secret(),
            "https://hooks.slack.com/services/T/B/x"
        );
        assert!(
            steps[0]
                .change
                .fields
                .iter()
                .any(|f| f.path == "alerts.slack.url" && f.secret)
        );
        assert_eq!(
            references(&file),
            [("alerts.slack.url".to_owned(), SecretSource::env("SLACK"))]
        );

        // Stored, the project exports as the same file and plans nothing.
        let mut current = Current::default();
        current.alerts.insert(
            None,
            CurrentAlerts {
                rules: file.alerts.as_ref().unwrap().rules.clone(),
                destination: Some(CurrentDestination::Slack(CurrentChat {
                    url: "https://hooks.slack.com/services/T/B/x".into(),
                    url_source: Some(SecretSource::env("SLACK")),
                })),
            },
        );
        assert_eq!(export(&current), file);
        assert!(
            plan(&file, &current, &Values::new(), false)
                .unwrap()
                .is_empty()
        );

        // Email instead: the Slack URL goes, the addresses come.
        let email = read_ok(
            "version: 1\nalerts:\n  rules: {onFailure: true}\n  email: {to: [ops@example.com]}\n",
        );
        let steps = plan(&email, &current, &Values::new(), false).unwrap();
        let shown: Vec<(&str, bool, bool)> = steps[0]
            .change
            .fields
            .iter()
            .map(|f| (f.path.as_str(), f.before.is_some(), f.after.is_some()))
            .collect();
        assert_eq!(
            shown,
            [
                ("alerts.slack.url", true, false),
                ("alerts.email.to", false, true)
            ]
        );
        assert!(matches!(
            &steps[0].write,
            Write::Alerts(DesiredAlerts { destination: Some(DesiredDestination::Email { to }), .. }) if to == &["ops@example.com"]
        ));
        // A Teams webhook instead keeps nothing of the Slack one: its URL is needed.
        let teams = read_ok("version: 1\nalerts:\n  teams: {url: {fromFile: teams.url}}\n");
        let e = plan(&teams, &current, &Values::new(), false).unwrap_err();
        assert_eq!(
            codes(&e),
            ["alerts.teams.url secret_value_missing".to_owned()]
        );
        // Without a destination, the stored one is removed.
        let none = read_ok("version: 1\nalerts:\n  rules: {onFailure: true}\n");
        let steps = plan(&none, &current, &Values::new(), false).unwrap();
        assert_eq!(steps[0].change.fields.len(), 1);
        assert!(matches!(
            &steps[0].write,
            Write::Alerts(DesiredAlerts {
                destination: None,
                ..
            })
        ));
    }

    #[test]
    fn one_destination_and_no_inline_urls() {
        let (_, p) = read(
            "version: 1\nalerts:\n  slack: {url: {fromEnv: A}}\n  email: {to: [a@example.com]}\n",
        );
        let e = p.finish().unwrap_err();
        assert_eq!(codes(&e), ["alerts.email conflicting_fields".to_owned()]);
        let (_, p) = read(
            "version: 1\nalerts:\n  teams: {url: https://example.webhook.office.com/x, channel: ops}\n",
        );
        let e = p.finish().unwrap_err();
        let mut got = codes(&e);
        got.sort();
        assert_eq!(
            got,
            [
                "alerts.teams.channel invalid_shape".to_owned(),
                "alerts.teams.url inline_secret".to_owned()
            ]
        );
    }

    #[test]
    fn a_plan_for_what_the_project_has_changes_nothing() {
        let file = read_ok(FILE);
        let mut current = current_of(&file);
        let stored = |a: &FileAlerts| CurrentAlerts {
            rules: a.rules.clone(),
            destination: a.webhook.as_ref().map(|w| {
                CurrentDestination::Webhook(CurrentWebhook {
                    url: "https://hooks.example.com/a".into(),
                    secret: "sixteen-characters".into(),
                    url_source: Some(w.url.clone()),
                    secret_source: Some(w.secret.clone()),
                })
            }),
        };
        current
            .alerts
            .insert(None, stored(file.alerts.as_ref().unwrap()));
        current.alerts.insert(
            Some("nightly".into()),
            stored(file.cronjobs["nightly"].alerts.as_ref().unwrap()),
        );
        // A stored snapshot is the server's: not a difference.
        if let Some(ApplicationSpec::Cronjob(c)) = current.applications.get_mut("nightly") {
            c.template.as_mut().unwrap().mode = TemplateMode::Follow;
        }
        assert!(plan(&file, &current, &values(), true).unwrap().is_empty());
        assert!(
            plan(&file, &current, &Values::new(), false)
                .unwrap()
                .is_empty(),
            "stored values are kept"
        );
        // Exported, the project is the same file.
        assert_eq!(export(&current), file);

        // One field: one change, with that field only.
        let mut edited = file.clone();
        edited.cronjobs.get_mut("nightly").unwrap().spec.schedule =
            crate::values::Schedule::parse("0 4 * * *").unwrap();
        let steps = plan(&edited, &current, &Values::new(), false).unwrap();
        assert_eq!(kinds(&steps), ["Update cronjobs.nightly"]);
        assert_eq!(
            steps[0].change.fields,
            [FieldChange {
                path: "cronjobs.nightly.schedule".into(),
                before: Some("0 3 * * *".into()),
                after: Some("0 4 * * *".into()),
                secret: false
            }]
        );
        // A rotated secret: a change of its value, never shown.
        let mut rotated = values();
        rotated.insert(
            "alerts.webhook.secret".into(),
            "another-sixteen-chars".into(),
        );
        let steps = plan(&file, &current, &rotated, false).unwrap();
        assert_eq!(kinds(&steps), ["Update alerts"]);
        let field = &steps[0].change.fields[0];
        assert!(field.secret && field.before == field.after, "{field:?}");
        assert!(!format!("{steps:?}").contains("another-sixteen"));
    }

    #[test]
    fn prune_deletes_only_what_the_file_does_not_name_cronjobs_first() {
        let file = read_ok(FILE);
        let mut current = current_of(&file);
        let extra = read_ok(
            "version: 1\nstateless:\n  old-web: {image: x}\nfunctions:\n  old-fn: {endpoint: 'http://a/'}\ncronjobs:\n  old-job:\n    schedule: '@daily'\n    template: {application: old-web, mode: follow}\n",
        );
        for (_, name, spec) in entries(&extra) {
            current.applications.insert(name.to_owned(), spec);
        }
        current
            .alerts
            .insert(Some("old-job".into()), CurrentAlerts::default());
        current.alerts.insert(None, CurrentAlerts::default());
        let mut file = file;
        file.alerts = None;
        let steps = plan(&file, &current, &values(), true).unwrap();
        assert_eq!(
            kinds(&steps),
            [
                "Create cronjobs.nightly.alerts",
                "Delete alerts",
                "Delete cronjobs.old-job",
                "Delete functions.old-fn",
                "Delete stateless.old-web",
            ]
        );
        // Without --prune, nothing is deleted.
        assert_eq!(
            kinds(&plan(&file, &current, &values(), false).unwrap()),
            ["Create cronjobs.nightly.alerts"]
        );
    }

    #[test]
    fn a_plan_checks_what_cronjobs_refer_to_and_types() {
        let file = read_ok(
            "version: 1\nfunctions:\n  web: {endpoint: 'http://a/'}\ncronjobs:\n  a:\n    schedule: '@daily'\n    template: {application: web, mode: follow}\n  b:\n    schedule: '@daily'\n    function: {name: nothing}\n",
        );
        let mut current = Current::default();
        current.applications.insert(
            "b".into(),
            ApplicationSpec::Stateless(
                read_ok("version: 1\nstateless:\n  b: {image: x}\n").stateless["b"].clone(),
            ),
        );
        let e = plan(&file, &current, &Values::new(), false).unwrap_err();
        let fields: Vec<String> = e
            .problems
            .iter()
            .map(|p| format!("{} {}", p.field, p.code))
            .collect();
        assert_eq!(
            fields,
            [
                "cronjobs.b type_change",
                "cronjobs.a.template.application template_not_stateless",
                "cronjobs.b.function.name function_not_found",
            ]
        );
    }

    /// An entry that could not be read is reported once: a CronJob that
    /// uses it is not reported as referring to nothing.
    #[test]
    fn what_refers_to_an_unreadable_entry_is_not_reported_too() {
        let text = "version: 1\nstateless:\n  web: {image: x, port: eighty}\ncronjobs:\n  a:\n    schedule: '@daily'\n    template: {application: web, mode: follow}\n";
        let (doc, p) = read(text);
        assert_eq!(p.finish().unwrap_err().problems.len(), 1);
        assert!(plan(&doc.file, &Current::default(), &Values::new(), false).is_ok());
    }

    #[test]
    fn the_json_schema_describes_the_file() {
        let schema = json_schema();
        assert_eq!(schema["$ref"], "#/$defs/ProjectFile");
        let defs = schema["$defs"].as_object().unwrap();
        for name in [
            "ProjectFile",
            "ProjectFileCronJob",
            "CronJobSpec",
            "StatelessSpec",
            "FunctionSpec",
            "ProjectFileAlerts",
            "SecretSource",
            "Schedule",
        ] {
            assert!(
                defs.contains_key(name),
                "{name}: {:?}",
                defs.keys().collect::<Vec<_>>()
            );
        }
        assert!(defs["ProjectFileCronJob"]["properties"]["alerts"].is_object());
        assert!(!schema.to_string().contains("#/components/"));
    }
}
