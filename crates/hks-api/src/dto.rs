//! Request and response bodies that are not domain types.

use hks_core::spec::{ApplicationType, CronJobSpec};
use hks_core::tenant::{ClusterConnection, ClusterSummary};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub use hks_app::history::AttemptLogView;
pub use hks_app::views::{ClusterState, CronJobSummary, CronJobView};
use utoipa::{IntoParams, ToSchema};

/// The schema of an application's `spec`: one of the three spec types, as `type` says.
fn any_spec() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{OneOfBuilder, Schema};
    use utoipa::openapi::{Ref, RefOr};
    let one_of = OneOfBuilder::new()
        .item(Ref::from_schema_name("StatelessSpec"))
        .item(Ref::from_schema_name("CronJobSpec"))
        .item(Ref::from_schema_name("FunctionSpec"))
        .description(Some(
            "StatelessSpec, CronJobSpec or FunctionSpec, according to `type`",
        ))
        .build();
    RefOr::T(Schema::OneOf(one_of))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateTenant {
    /// A lowercase letter, then lowercase letters, digits and `-`, not
    /// ending with `-`; at most 40 characters.
    #[schema(
        pattern = "^[a-z]([-a-z0-9]*[a-z0-9])?$",
        min_length = 1,
        max_length = 40,
        example = "acme"
    )]
    pub name: String,
    pub cluster: ClusterConnection,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateCluster {
    pub cluster: ClusterConnection,
    /// What happens to the tenant's namespaces in the cluster it used
    /// until now.
    #[serde(default)]
    #[schema(default = PreviousCluster::default)]
    pub previous_cluster: PreviousCluster,
}

/// The previous cluster, when a tenant's connection is replaced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum PreviousCluster {
    /// Another cluster: HKS deletes the tenant's project namespaces there
    /// (in the background, retried until done), so runs do not happen twice.
    #[default]
    CleanUp,
    /// The same cluster reached another way, for example new credentials:
    /// nothing there is touched.
    Keep,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantView {
    pub id: String,
    pub name: String,
    /// The connection, without credentials.
    pub cluster: ClusterSummary,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl From<hks_store::Tenant> for TenantView {
    fn from(t: hks_store::Tenant) -> Self {
        Self {
            id: t.id,
            name: t.name,
            cluster: t.cluster,
            created_at: t.created_at,
        }
    }
}

/// The longest name of an API token (`POST /admin/tenants/{tenant}/tokens`).
pub const MAX_TOKEN_NAME: usize = 63;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateToken {
    /// A lowercase letter, then lowercase letters, digits and `-`, not
    /// ending with `-`; at most 63 characters.
    #[schema(
        pattern = "^[a-z]([-a-z0-9]*[a-z0-9])?$",
        min_length = 1,
        max_length = 63,
        example = "ci"
    )]
    pub name: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenView {
    pub name: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// A new token. `token` is shown this once; HKS keeps only its hash.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedToken {
    pub name: String,
    pub token: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateProject {
    /// A lowercase letter, then lowercase letters, digits and `-`, not
    /// ending with `-`; at most 40 characters. It becomes part of the
    /// project's namespace.
    #[schema(
        pattern = "^[a-z]([-a-z0-9]*[a-z0-9])?$",
        min_length = 1,
        max_length = 40,
        example = "billing"
    )]
    pub name: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectView {
    pub name: String,
    /// The project's namespace in the tenant's cluster.
    pub namespace: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl From<hks_store::Project> for ProjectView {
    fn from(p: hks_store::Project) -> Self {
        Self {
            name: p.name,
            namespace: p.namespace,
            created_at: p.created_at,
        }
    }
}

/// An application to create. `spec` is a StatelessSpec, CronJobSpec or
/// FunctionSpec according to `type`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(examples(json!({"name": "api", "type": "stateless", "spec": {
    "image": "ghcr.io/acme/api:2.0", "command": ["/app/api"], "port": 8080
}})))]
pub struct CreateApplication {
    /// A lowercase letter, then lowercase letters, digits and `-`, not
    /// ending with `-`; at most 52 characters.
    #[schema(
        pattern = "^[a-z]([-a-z0-9]*[a-z0-9])?$",
        min_length = 1,
        max_length = 52
    )]
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ApplicationType,
    #[schema(schema_with = any_spec)]
    pub spec: serde_json::Value,
}

/// A new spec for an application; its type cannot change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(examples(json!({"type": "stateless", "spec": {
    "image": "ghcr.io/acme/web:1.5", "command": ["/app/web"], "port": 8080
}})))]
pub struct UpdateApplication {
    #[serde(rename = "type")]
    pub kind: ApplicationType,
    #[schema(schema_with = any_spec)]
    pub spec: serde_json::Value,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationView {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ApplicationType,
    /// StatelessSpec, CronJobSpec or FunctionSpec according to `type`.
    #[schema(schema_with = any_spec)]
    pub spec: serde_json::Value,
    /// Bumped on every change.
    pub generation: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApplicationFilter {
    /// Only applications of this type.
    #[serde(rename = "type")]
    #[param(rename = "type", value_type = Option<ApplicationType>)]
    pub kind: Option<ApplicationType>,
}

/// A CronJob to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(examples(json!({"name": "nightly-report", "spec": {
    "schedule": "0 3 * * *", "timeZone": "Europe/Berlin",
    "template": {"application": "web", "mode": "follow"},
    "command": {"argv": ["/app/report", "--since", "24h"]}
}})))]
pub struct CreateCronJob {
    /// A lowercase letter, then lowercase letters, digits and `-`, not
    /// ending with `-`; at most 52 characters (the CronJob controller adds
    /// a suffix to its Jobs' names).
    #[schema(
        pattern = "^[a-z]([-a-z0-9]*[a-z0-9])?$",
        min_length = 1,
        max_length = 52
    )]
    pub name: String,
    pub spec: CronJobSpec,
}

/// The most bytes of one attempt's log a request may ask for (`limitBytes`).
pub const MAX_LOG_LIMIT_BYTES: i64 = 8 * 1024 * 1024;
/// The most lines of one attempt's log a request may ask for (`tailLines`).
pub const MAX_LOG_TAIL_LINES: i64 = 100_000;
/// The most bytes of log one request answers over all attempts of a run.
pub const MAX_LOG_TOTAL_BYTES: usize = 16 * 1024 * 1024;

// The `maximum`s below are these constants: utoipa takes only literals
// there, and the contract test checks them against the server.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct LogQuery {
    /// Stream the log of one attempt (the latest by default) while it runs, as text.
    #[serde(default)]
    #[param(default = false)]
    pub follow: bool,
    /// Only this attempt (pod name).
    pub attempt: Option<String>,
    /// Only the last lines of each attempt (at most 100000).
    #[param(minimum = 1, maximum = 100000)]
    pub tail_lines: Option<i64>,
    /// At most this many bytes of each attempt (default 1 MiB, at most 8 MiB).
    /// All attempts together get at most 16 MiB, the newest first: an
    /// attempt cut short by that is marked `truncated`.
    #[param(minimum = 1, maximum = 8388608, default = 1048576)]
    pub limit_bytes: Option<i64>,
    /// Prefix each line with its time.
    #[serde(default)]
    #[param(default = false)]
    pub timestamps: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunLogs {
    pub run: String,
    /// Every attempt (pod) of the run, oldest first.
    pub attempts: Vec<AttemptLogView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreviewRequest {
    /// A cron expression (five fields, or a macro such as `@daily`); an
    /// invalid one is described in the preview's `errors`.
    #[schema(example = "0 3 * * *")]
    pub schedule: String,
    /// An IANA time zone (default `UTC`); an unknown one is described in
    /// the preview's `errors`.
    #[serde(default = "utc")]
    #[schema(example = "Europe/Berlin")]
    pub time_zone: String,
    /// How many next runs (default 5, at most 100).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 100)]
    pub count: Option<usize>,
    /// Runs after this instant (default: now).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub after: Option<Timestamp>,
    /// The CronJob's project: with `name`, what `H` in the schedule takes
    /// its values from (without both, `H` is an error in the preview).
    #[serde(default)]
    pub project: Option<String>,
    /// The CronJob's name (see `project`).
    #[serde(default)]
    pub name: Option<String>,
}

fn utc() -> String {
    "UTC".into()
}

/// The manifests HKS would apply for an application, without storing or applying anything.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManifestPreview {
    /// Kubernetes objects, as JSON.
    #[schema(value_type = Vec<Object>)]
    pub objects: Vec<serde_json::Value>,
}
