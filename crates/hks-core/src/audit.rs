//! The audit log's entries: who changed what, when, field by field. Pure:
//! the application layer records them after each change, the store keeps
//! them, and this module says what an entry holds, which fields changed
//! between two versions of a configuration, and which values are never
//! written down (secrets and what may hold one: only that they changed).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum AuditAction {
    #[serde(rename = "project.create")]
    ProjectCreate,
    #[serde(rename = "project.delete")]
    ProjectDelete,
    #[serde(rename = "application.create")]
    ApplicationCreate,
    #[serde(rename = "application.update")]
    ApplicationUpdate,
    #[serde(rename = "application.delete")]
    ApplicationDelete,
    #[serde(rename = "cronjob.create")]
    CronjobCreate,
    #[serde(rename = "cronjob.update")]
    CronjobUpdate,
    #[serde(rename = "cronjob.delete")]
    CronjobDelete,
    #[serde(rename = "cronjob.suspend")]
    CronjobSuspend,
    #[serde(rename = "cronjob.resume")]
    CronjobResume,
    #[serde(rename = "run.start")]
    RunStart,
    #[serde(rename = "run.rerun")]
    RunRerun,
    #[serde(rename = "run.cancel")]
    RunCancel,
    #[serde(rename = "run.backfill")]
    RunBackfill,
    #[serde(rename = "alerts.update")]
    AlertsUpdate,
    #[serde(rename = "alerts.delete")]
    AlertsDelete,
    #[serde(rename = "token.create")]
    TokenCreate,
    #[serde(rename = "token.delete")]
    TokenDelete,
}

impl AuditAction {
    pub const ALL: [Self; 18] = [
        Self::ProjectCreate,
        Self::ProjectDelete,
        Self::ApplicationCreate,
        Self::ApplicationUpdate,
        Self::ApplicationDelete,
        Self::CronjobCreate,
        Self::CronjobUpdate,
        Self::CronjobDelete,
        Self::CronjobSuspend,
        Self::CronjobResume,
        Self::RunStart,
        Self::RunRerun,
        Self::RunCancel,
        Self::RunBackfill,
        Self::AlertsUpdate,
        Self::AlertsDelete,
        Self::TokenCreate,
        Self::TokenDelete,
    ];

    /// The wire name, `cronjob.update`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProjectCreate => "project.create",
            Self::ProjectDelete => "project.delete",
            Self::ApplicationCreate => "application.create",
            Self::ApplicationUpdate => "application.update",
            Self::ApplicationDelete => "application.delete",
            Self::CronjobCreate => "cronjob.create",
            Self::CronjobUpdate => "cronjob.update",
            Self::CronjobDelete => "cronjob.delete",
            Self::CronjobSuspend => "cronjob.suspend",
            Self::CronjobResume => "cronjob.resume",
            Self::RunStart => "run.start",
            Self::RunRerun => "run.rerun",
            Self::RunCancel => "run.cancel",
            Self::RunBackfill => "run.backfill",
            Self::AlertsUpdate => "alerts.update",
            Self::AlertsDelete => "alerts.delete",
            Self::TokenCreate => "token.create",
            Self::TokenDelete => "token.delete",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// One field that changed. A redacted field says only that it changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditChange {
    /// Its path, `schedule` or `env[2].value`.
    pub field: String,
    /// The value before (any JSON value); absent for a new field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Value>,
    /// The value after (any JSON value); absent for a removed field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Value>,
    /// A secret, or what may hold one: its values are never recorded.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub redacted: bool,
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// Increasing: the newest entry has the largest.
    pub id: i64,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// `tenant/token`, or `admin` for the installation's admin token.
    pub actor: String,
    pub action: AuditAction,
    /// The project, for what is in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// What it was done to: `cronjob/nightly`, `run/nightly-29380`, `token/ci`.
    pub target: String,
    /// What changed, field by field.
    pub changes: Vec<AuditChange>,
}

/// Whether a field's values must not be recorded: Secret material, webhook
/// URLs (often credentials themselves), and environment values (people
/// put credentials in them, whatever the documentation says).
pub fn is_sensitive(field: &str) -> bool {
    let last = field.rsplit('.').next().unwrap_or(field);
    let lower = field.to_ascii_lowercase();
    lower.contains("secret")
        || lower.contains("webhook")
        || lower.contains("url")
        || lower.contains("password")
        || lower.contains("token")
        || (lower.contains("env[") && last == "value")
}

/// The fields that differ between `from` and `to` (either may be absent:
/// a creation or a deletion), leaves only, in path order; sensitive ones
/// ([`is_sensitive`]) redacted.
pub fn diff(from: Option<&Value>, to: Option<&Value>) -> Vec<AuditChange> {
    let mut out = Vec::new();
    walk("", from, to, &mut out);
    out
}

fn walk(path: &str, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<AuditChange>) {
    // A field set to null is a field left out.
    let (a, b) = (a.filter(|v| !v.is_null()), b.filter(|v| !v.is_null()));
    if a == b {
        return;
    }
    let join = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                walk(&join(k), x.get(k), y.get(k), out);
            }
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            for i in 0..x.len().max(y.len()) {
                walk(&format!("{path}[{i}]"), x.get(i), y.get(i), out);
            }
        }
        (Some(Value::Object(x)), None) | (None, Some(Value::Object(x))) if !x.is_empty() => {
            let created = a.is_none();
            for (k, v) in x {
                let (from, to) = if created {
                    (None, Some(v))
                } else {
                    (Some(v), None)
                };
                walk(&join(k), from, to, out);
            }
        }
        (Some(Value::Array(x)), None) | (None, Some(Value::Array(x))) if !x.is_empty() => {
            let created = a.is_none();
            for (i, v) in x.iter().enumerate() {
                let (from, to) = if created {
                    (None, Some(v))
                } else {
                    (Some(v), None)
                };
                walk(&format!("{path}[{i}]"), from, to, out);
            }
        }
        _ => {
            let redacted = is_sensitive(path);
            out.push(AuditChange {
                field: path.to_owned(),
                from: if redacted { None } else { a.cloned() },
                to: if redacted { None } else { b.cloned() },
                redacted,
            });
        }
    }
}

/// One field set to a value (a run's name, a suspend note), redacted when
/// sensitive.
pub fn set(field: &str, value: impl Into<Value>) -> AuditChange {
    let redacted = is_sensitive(field);
    AuditChange {
        field: field.to_owned(),
        from: None,
        to: (!redacted).then(|| value.into()),
        redacted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_edit_lists_the_leaves_that_changed_and_never_a_secret_or_env_value() {
        let old = json!({"schedule": "0 3 * * *", "env": [{"name": "A", "value": "hunter2"}],
                         "command": {"argv": ["a"]}, "retries": 2});
        let new = json!({"schedule": "0 4 * * *", "env": [{"name": "A", "value": "s3cret"},
                         {"name": "T", "secret": {"name": "api", "key": "token"}}],
                         "command": {"argv": ["a"]}});
        let changes = diff(Some(&old), Some(&new));
        let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "env[0].value",
                "env[1].name",
                "env[1].secret.key",
                "env[1].secret.name",
                "retries",
                "schedule"
            ]
        );
        let text = serde_json::to_string(&changes).unwrap();
        assert!(
            !text.contains("hunter2") && !text.contains("s3cret"),
            "{text}"
        );
        assert!(changes[0].redacted && changes[0].from.is_none());
        assert_eq!(changes[5].from, Some(json!("0 3 * * *")));
        assert_eq!(changes[4].to, None);
    }

    #[test]
    fn a_creation_lists_every_field_and_actions_round_trip() {
        let changes = diff(
            None,
            Some(&json!({"a": 1, "webhook": {"url": "https://x/y?k=1"}})),
        );
        assert_eq!(changes.len(), 2);
        assert!(changes[1].redacted, "{changes:?}");
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.as_str()), Some(a));
            assert_eq!(serde_json::to_value(a).unwrap(), json!(a.as_str()));
        }
    }
}
