//! `hks admin`: tenants and their tokens, with the admin token.

use std::path::PathBuf;

use clap::Subcommand;
use reqwest::Method;
use serde_json::json;

use crate::client::{Client, Connection, cell, table};

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a tenant on a cluster (a kubeconfig, or a vCluster on a host cluster).
    CreateTenant {
        name: String,
        /// Kubeconfig of the tenant's cluster (or of the vCluster's host with --vcluster).
        #[arg(long)]
        kubeconfig: PathBuf,
        #[arg(long)]
        context: Option<String>,
        /// The vCluster's name: its kubeconfig is read from Secret vc-<name>.
        #[arg(long, requires = "vcluster_namespace")]
        vcluster: Option<String>,
        /// The host namespace the vCluster runs in.
        #[arg(long)]
        vcluster_namespace: Option<String>,
        /// Server URL replacing the vCluster kubeconfig's (e.g. https://<name>.<namespace>:443).
        #[arg(long)]
        vcluster_server: Option<String>,
        /// TLS server name to verify for the vCluster.
        #[arg(long)]
        vcluster_tls_server_name: Option<String>,
    },
    /// Replace a tenant's cluster connection (same options as create-tenant).
    UpdateCluster {
        name: String,
        #[arg(long)]
        kubeconfig: PathBuf,
        #[arg(long)]
        context: Option<String>,
        #[arg(long, requires = "vcluster_namespace")]
        vcluster: Option<String>,
        #[arg(long)]
        vcluster_namespace: Option<String>,
        #[arg(long)]
        vcluster_server: Option<String>,
        #[arg(long)]
        vcluster_tls_server_name: Option<String>,
    },
    /// List tenants.
    Tenants,
    /// Delete a tenant and its configuration (its cluster is left alone).
    DeleteTenant { name: String },
    /// Create an API token for a tenant; it is printed once.
    CreateToken { tenant: String, name: String },
    /// List a tenant's tokens.
    Tokens { tenant: String },
    /// Revoke a token.
    DeleteToken { tenant: String, name: String },
}

pub async fn run(cmd: AdminCommand, conn: &Connection) -> anyhow::Result<()> {
    let c = Client::new(conn, "HKS_TOKEN (the admin token)")?;
    match cmd {
        AdminCommand::CreateTenant {
            name,
            kubeconfig,
            context,
            vcluster,
            vcluster_namespace,
            vcluster_server,
            vcluster_tls_server_name,
        } => {
            let cluster = cluster_json(
                &kubeconfig,
                context,
                vcluster,
                vcluster_namespace,
                vcluster_server,
                vcluster_tls_server_name,
            )?;
            let t = c
                .call(
                    Method::POST,
                    "/admin/tenants",
                    Some(&json!({"name": name, "cluster": cluster})),
                )
                .await?;
            c.print(&t, |t| {
                println!("Created tenant {} ({})", cell(&t["name"]), cell(&t["id"]))
            });
        }
        AdminCommand::UpdateCluster {
            name,
            kubeconfig,
            context,
            vcluster,
            vcluster_namespace,
            vcluster_server,
            vcluster_tls_server_name,
        } => {
            let cluster = cluster_json(
                &kubeconfig,
                context,
                vcluster,
                vcluster_namespace,
                vcluster_server,
                vcluster_tls_server_name,
            )?;
            c.call(
                Method::PUT,
                &format!("/admin/tenants/{name}/cluster"),
                Some(&json!({"cluster": cluster})),
            )
            .await?;
            println!("Updated the cluster of tenant {name}");
        }
        AdminCommand::Tenants => {
            let list = c.call(Method::GET, "/admin/tenants", None).await?;
            c.print(&list, |l| {
                let rows = l.as_array().into_iter().flatten().map(|t| {
                    vec![
                        cell(&t["name"]),
                        cell(&t["id"]),
                        cell(&t["cluster"]["kind"]),
                        cell(&t["createdAt"]),
                    ]
                });
                table(&["NAME", "ID", "CLUSTER", "CREATED"], rows.collect());
            });
        }
        AdminCommand::DeleteTenant { name } => {
            c.call(Method::DELETE, &format!("/admin/tenants/{name}"), None)
                .await?;
            println!("Deleted tenant {name}");
        }
        AdminCommand::CreateToken { tenant, name } => {
            let t = c
                .call(
                    Method::POST,
                    &format!("/admin/tenants/{tenant}/tokens"),
                    Some(&json!({"name": name})),
                )
                .await?;
            c.print(&t, |t| println!("{}", cell(&t["token"])));
        }
        AdminCommand::Tokens { tenant } => {
            let list = c
                .call(
                    Method::GET,
                    &format!("/admin/tenants/{tenant}/tokens"),
                    None,
                )
                .await?;
            c.print(&list, |l| {
                table(
                    &["NAME", "CREATED"],
                    l.as_array()
                        .into_iter()
                        .flatten()
                        .map(|t| vec![cell(&t["name"]), cell(&t["createdAt"])])
                        .collect(),
                )
            });
        }
        AdminCommand::DeleteToken { tenant, name } => {
            c.call(
                Method::DELETE,
                &format!("/admin/tenants/{tenant}/tokens/{name}"),
                None,
            )
            .await?;
            println!("Revoked token {name}");
        }
    }
    Ok(())
}

/// The API's cluster connection from the command's options.
fn cluster_json(
    kubeconfig: &std::path::Path,
    context: Option<String>,
    vcluster: Option<String>,
    namespace: Option<String>,
    server: Option<String>,
    tls_server_name: Option<String>,
) -> anyhow::Result<serde_json::Value> {
    let text = std::fs::read_to_string(kubeconfig)?;
    Ok(match vcluster {
        None => json!({"kind": "kubeconfig", "kubeconfig": text, "context": context}),
        Some(vc) => {
            json!({"kind": "vcluster", "hostKubeconfig": text, "hostContext": context, "namespace": namespace,
            "name": vc, "server": server, "tlsServerName": tls_server_name})
        }
    })
}
