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

/// What a container may loosen, or tighten, of the defaults every HKS pod
/// runs with: all Linux capabilities dropped, no privilege escalation
/// (`no_new_privs`), the runtime's default seccomp profile, and no service
/// account token. Nothing here can go beyond Pod Security's `baseline`
/// level, which every project namespace enforces.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Security {
    /// Capabilities given back, for images that need them (a server that
    /// binds port 80 needs `NET_BIND_SERVICE`; an entrypoint that switches
    /// users needs `SETUID` and `SETGID`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 13)]
    pub add_capabilities: Vec<Capability>,
    /// The user id the container's processes run as, instead of the image's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_user: Option<u32>,
    /// The group id the container's processes run as, instead of the image's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_group: Option<u32>,
    /// Refuse to start the container when it would run as root.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[schema(default = bool::default)]
    pub run_as_non_root: bool,
    /// Mount the image's filesystem read-only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[schema(default = bool::default)]
    pub read_only_root_filesystem: bool,
}

impl Security {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// The Linux capabilities Pod Security's `baseline` level allows a
/// container to add; no other can be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Capability {
    AuditWrite,
    Chown,
    DacOverride,
    Fowner,
    Fsetid,
    Kill,
    Mknod,
    NetBindService,
    Setfcap,
    Setgid,
    Setpcap,
    Setuid,
    SysChroot,
}

impl Capability {
    /// The name Kubernetes and the runtime use, like `NET_BIND_SERVICE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuditWrite => "AUDIT_WRITE",
            Self::Chown => "CHOWN",
            Self::DacOverride => "DAC_OVERRIDE",
            Self::Fowner => "FOWNER",
            Self::Fsetid => "FSETID",
            Self::Kill => "KILL",
            Self::Mknod => "MKNOD",
            Self::NetBindService => "NET_BIND_SERVICE",
            Self::Setfcap => "SETFCAP",
            Self::Setgid => "SETGID",
            Self::Setpcap => "SETPCAP",
            Self::Setuid => "SETUID",
            Self::SysChroot => "SYS_CHROOT",
        }
    }
}
