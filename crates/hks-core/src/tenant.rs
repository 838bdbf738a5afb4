//! Tenants and how HKS reaches their clusters.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::problem::Code;

/// How HKS connects to a tenant's cluster. Credentials are secret: this type
/// has no `Serialize` and a redacting `Debug`; the store encrypts
/// [`ClusterConnection::to_stored`] and only the summary is ever shown.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum ClusterConnection {
    /// A kubeconfig for the tenant's cluster.
    Kubeconfig {
        #[schema(value_type = String)]
        kubeconfig: SecretString,
        /// Context to use; the kubeconfig's current context when absent.
        #[serde(default)]
        context: Option<String>,
    },
    /// A vCluster: its kubeconfig is read from Secret `vc-<name>`, key
    /// `config`, in `namespace` of the host cluster.
    Vcluster {
        // The explicit names tell utoipa what `rename_all_fields` tells serde.
        #[schema(value_type = String)]
        #[serde(rename = "hostKubeconfig")]
        host_kubeconfig: SecretString,
        #[serde(default, rename = "hostContext")]
        host_context: Option<String>,
        namespace: String,
        name: String,
        /// Replaces the server URL of the vCluster's kubeconfig (which
        /// defaults to `https://localhost:8443`), for example
        /// `https://<name>.<namespace>:443` from inside the host cluster.
        #[serde(default)]
        server: Option<String>,
        /// TLS server name to verify, when the server URL's host is not one
        /// the vCluster's certificate covers.
        #[serde(default, rename = "tlsServerName")]
        tls_server_name: Option<String>,
    },
}

impl std::fmt::Debug for ClusterConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterConnection")
            .field("summary", &self.summary())
            .finish_non_exhaustive()
    }
}

/// What may be shown about a cluster connection: no credentials.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize, ToSchema)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum ClusterSummary {
    Kubeconfig {
        context: Option<String>,
    },
    Vcluster {
        namespace: String,
        name: String,
        server: Option<String>,
    },
}

impl ClusterConnection {
    pub fn summary(&self) -> ClusterSummary {
        match self {
            Self::Kubeconfig { context, .. } => ClusterSummary::Kubeconfig {
                context: context.clone(),
            },
            Self::Vcluster {
                namespace,
                name,
                server,
                ..
            } => ClusterSummary::Vcluster {
                namespace: namespace.clone(),
                name: name.clone(),
                server: server.clone(),
            },
        }
    }

    /// The JSON the store encrypts. The only place credentials are exposed
    /// for serialization.
    pub fn to_stored(&self) -> serde_json::Value {
        match self {
            Self::Kubeconfig {
                kubeconfig,
                context,
            } => serde_json::json!({
                "kind": "kubeconfig", "kubeconfig": kubeconfig.expose_secret(), "context": context,
            }),
            Self::Vcluster {
                host_kubeconfig,
                host_context,
                namespace,
                name,
                server,
                tls_server_name,
            } => serde_json::json!({
                "kind": "vcluster", "hostKubeconfig": host_kubeconfig.expose_secret(), "hostContext": host_context,
                "namespace": namespace, "name": name, "server": server, "tlsServerName": tls_server_name,
            }),
        }
    }

    /// Structural checks; whether the cluster answers is the adapter's business.
    pub fn validate(&self) -> Result<(), crate::problem::Invalid> {
        let mut p = crate::problem::Problems::new();
        match self {
            Self::Kubeconfig { kubeconfig, .. } => {
                if kubeconfig.expose_secret().trim().is_empty() {
                    p.push(
                        "cluster.kubeconfig",
                        Code::EmptyKubeconfig,
                        "the kubeconfig must not be empty",
                        None,
                    );
                }
            }
            Self::Vcluster {
                host_kubeconfig,
                namespace,
                name,
                server,
                ..
            } => {
                if host_kubeconfig.expose_secret().trim().is_empty() {
                    p.push(
                        "cluster.hostKubeconfig",
                        Code::EmptyKubeconfig,
                        "the host kubeconfig must not be empty",
                        None,
                    );
                }
                if let Err(r) = crate::formats::dns_label(namespace, 63) {
                    p.push(
                        "cluster.namespace",
                        Code::InvalidName,
                        format!("the namespace {r}"),
                        None,
                    );
                }
                if let Err(r) = crate::formats::dns_label(name, 52) {
                    p.push(
                        "cluster.name",
                        Code::InvalidName,
                        format!("the vCluster name {r}"),
                        None,
                    );
                }
                if let Some(s) = server
                    && !s.starts_with("https://")
                {
                    p.push(
                        "cluster.server",
                        Code::InvalidUrl,
                        "must be an https:// URL",
                        None,
                    );
                }
            }
        }
        p.finish()
    }
}

/// The namespace of a project in its tenant's cluster. The tenant id has a
/// fixed length, so two tenants' namespaces never collide even on one
/// physical cluster.
pub fn project_namespace(tenant_id: &str, project: &str) -> String {
    format!("{}{project}", tenant_namespace_prefix(tenant_id))
}

/// What every namespace of a tenant's projects starts with: a namespace
/// without it belongs to another tenant or another HKS installation sharing
/// the cluster.
pub fn tenant_namespace_prefix(tenant_id: &str) -> String {
    format!("hks-{tenant_id}-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_summary_hide_credentials() {
        let c: ClusterConnection = serde_json::from_value(
            serde_json::json!({"kind": "kubeconfig", "kubeconfig": "SECRET-TOKEN"}),
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("SECRET"));
        assert!(
            !serde_json::to_string(&c.summary())
                .unwrap()
                .contains("SECRET")
        );
        assert!(c.to_stored().to_string().contains("SECRET"));
    }

    #[test]
    fn vcluster_fields_are_camel_case() {
        let c: ClusterConnection = serde_json::from_value(serde_json::json!({
            "kind": "vcluster", "hostKubeconfig": "x", "namespace": "team-a", "name": "vc1", "server": "https://vc1.team-a:443"
        }))
        .unwrap();
        assert!(c.validate().is_ok());
    }
}
