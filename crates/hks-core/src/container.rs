//! The pieces of a container that several kinds of configuration share: an
//! application's environment and resources, a Function's token Secret, a
//! called Function's resources. Plain types with no dependencies on the
//! modules that use them (`spec`, `invoke`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An environment variable: a plain value, or a reference to a key of a
/// Secret in the project's namespace. Secret values never pass through HKS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvVar {
    /// Letters, digits, `_`, `-` and `.`, not starting with a digit, and
    /// neither `.` nor starting with `..`. Unique in the list.
    #[schema(pattern = r"^(?:[-_a-zA-Z][-._a-zA-Z0-9]*|\.[-_a-zA-Z0-9][-._a-zA-Z0-9]*)$")]
    pub name: String,
    /// The value; no NUL characters (the runtime passes values as C
    /// strings). Exactly one of `value` and `secret` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = r"^[^\u0000]*$")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretKeyRef>,
}

/// A key of a Kubernetes Secret in the project's namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretKeyRef {
    /// The Secret's name: lowercase letters, digits, `-` and `.`, each part
    /// between dots starting and ending with a letter or digit.
    #[schema(
        max_length = 253,
        pattern = r"^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$"
    )]
    pub name: String,
    /// The key in the Secret: letters, digits, `_`, `-` and `.`, neither `.`
    /// nor `..`.
    #[schema(
        max_length = 253,
        pattern = r"^(?:[-_a-zA-Z0-9][-._a-zA-Z0-9]*|\.(?:[-_a-zA-Z0-9][-._a-zA-Z0-9]*|\.[-._a-zA-Z0-9]+))$"
    )]
    pub key: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Resources {
    /// What the container is given at least; no request may be greater
    /// than its limit.
    #[serde(default, skip_serializing_if = "ResourceList::is_empty")]
    pub requests: ResourceList,
    #[serde(default, skip_serializing_if = "ResourceList::is_empty")]
    pub limits: ResourceList,
}

impl Resources {
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty() && self.limits.is_empty()
    }
}

/// Kubernetes quantities, for example `cpu: 250m`, `memory: 128Mi`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceList {
    /// Cores or millicores, like `0.5` or `500m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(
        pattern = r"^(?:\+?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)|-(?:0+(?:\.0*)?|\.0+))(?:[numkMGTPE]|[KMGTPE]i|[eE][+-]?[0-9]+)?$"
    )]
    pub cpu: Option<String>,
    /// Bytes with a suffix, like `128Mi` or `1Gi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(
        pattern = r"^(?:\+?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)|-(?:0+(?:\.0*)?|\.0+))(?:[numkMGTPE]|[KMGTPE]i|[eE][+-]?[0-9]+)?$"
    )]
    pub memory: Option<String>,
}

impl ResourceList {
    pub fn is_empty(&self) -> bool {
        self.cpu.is_none() && self.memory.is_none()
    }
}
