//! The demo tenant, set up by `hks serve --demo-kubeconfig`: a tenant `demo`
//! on that cluster with a project, a Stateless app, a Function (and the
//! Stateless app serving it), a CronJob made from the app and one that
//! calls the Function.
//!
//! Every step checks what already exists, so a setup interrupted by an
//! unreachable cluster completes on a later attempt (the server retries it)
//! or a later start. The token is kept in `<data-dir>/demo.token` (0600) and
//! printed at every start.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use hks_app::{App, Principal, commands};
use hks_core::spec::ApplicationSpec;
use hks_core::tenant::ClusterConnection;
use secrecy::ExposeSecret;
use serde_json::json;

/// Where the demo tenant's cluster is.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    /// The cluster's kubeconfig; with `vcluster`, the host cluster's.
    pub kubeconfig: &'a Path,
    /// A vCluster of that cluster (host namespace `vcluster-<name>`).
    pub vcluster: Option<&'a str>,
    /// The vCluster's API as HKS reaches it.
    pub server: Option<&'a str>,
}

impl Place<'_> {
    fn connection(&self) -> anyhow::Result<ClusterConnection> {
        let text = std::fs::read_to_string(self.kubeconfig)
            .with_context(|| format!("cannot read {}", self.kubeconfig.display()))?;
        let value = match self.vcluster {
            None => json!({"kind": "kubeconfig", "kubeconfig": text}),
            Some(name) => json!({
                "kind": "vcluster", "hostKubeconfig": text,
                "namespace": format!("vcluster-{name}"), "name": name, "server": self.server,
            }),
        };
        Ok(serde_json::from_value(value)?)
    }
}

/// The tenant and its token; needs no cluster. A demo tenant whose cluster
/// is another kind of place than asked (a kubeconfig, now a vCluster) is
/// moved there, its old objects queued for cleanup.
pub async fn tenant(app: &App, place: &Place<'_>, data_dir: &Path) -> anyhow::Result<Principal> {
    let token_file = data_dir.join("demo.token");
    let wanted = place.connection()?;
    let tenant = match app.store().tenant_by_name("demo").await {
        Ok(t) => {
            let (_, now) = app.store().tenant_with_cluster(&t.id).await?;
            if now.summary() != wanted.summary() {
                app.store()
                    .update_tenant_cluster(&t.id, &wanted, hks_store::Previous::CleanUp)
                    .await?;
                println!("The demo tenant moved to {:?}.", wanted.summary());
            }
            t
        }
        Err(hks_store::StoreError::NotFound) => app.store().create_tenant("demo", &wanted).await?,
        Err(e) => return Err(e.into()),
    };
    let token = match std::fs::read_to_string(&token_file) {
        Ok(t) if app.store().authenticate(t.trim()).await?.is_some() => t.trim().to_owned(),
        _ => {
            // A token of an earlier, unfinished setup cannot be recovered (only its hash is kept).
            app.store().delete_token(&tenant.id, "demo").await.ok();
            let (_, token) = app.store().create_token(&tenant.id, "demo").await?;
            write_private(&token_file, token.expose_secret())?;
            token.expose_secret().to_owned()
        }
    };
    println!("Demo tenant token: {token}");
    Ok(Principal {
        tenant_id: tenant.id,
        tenant_name: "demo".into(),
        token_name: "demo".into(),
    })
}

/// The project and its applications; needs the cluster.
pub async fn content(app: &App, who: &Principal) -> anyhow::Result<()> {
    let project = match app.store().project(&who.tenant_id, "demo").await {
        Ok(p) => p,
        Err(_) => commands::create_project(app, who, "demo")
            .await
            .map_err(|e| anyhow::anyhow!("project: {e}"))?,
    };
    let ns = project.namespace.clone();
    let apps = [
        (
            "web",
            json!({"type": "stateless", "spec": {
                "image": "hks.local/busybox:1", "command": ["httpd", "-f", "-v", "-p", "8080", "-h", "/etc"], "port": 8080,
                "env": [{"name": "MODE", "value": "demo"}],
                "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}}
            }}),
        ),
        (
            "greeter",
            json!({"type": "stateless", "spec": {"image": "hks.local/demo-function:1", "port": 8080}}),
        ),
        (
            "greet",
            json!({"type": "function", "spec": {"endpoint": format!("http://greeter.{ns}.svc.cluster.local:8080/"), "method": "POST"}}),
        ),
        (
            "report",
            json!({"type": "cronjob", "spec": {
                "schedule": "*/5 * * * *", "timeZone": "UTC",
                "template": {"application": "web", "mode": "follow"},
                "command": {"argv": ["echo \"report in $MODE mode\"; date"], "shell": true}
            }}),
        ),
        (
            // Calls the Function `greet`; its log (the `greeter` pods) shows
            // each request with X-Hks-Execution-Id, the run's name.
            "call-greet",
            json!({"type": "cronjob", "spec": {
                "schedule": "*/2 * * * *", "timeZone": "UTC",
                "function": {"name": "greet", "headers": [{"name": "X-Source", "value": "hks-demo"}],
                    "body": "{\"who\":\"demo\"}", "requestTimeoutSeconds": 10, "retries": 1},
                "timeoutSeconds": 120, "retries": 1
            }}),
        ),
    ];
    for (name, spec) in apps {
        if app.store().application(&project.id, name).await.is_ok() {
            continue;
        }
        let spec: ApplicationSpec = serde_json::from_value(spec)?;
        commands::create_application(app, who, &project, name, spec)
            .await
            .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    }
    Ok(())
}

/// Sets up the demo content, retrying while the cluster is unreachable.
pub fn spawn_content(app: App, who: Principal) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match content(&app, &who).await {
                Ok(()) => {
                    tracing::info!("The demo project is ready.");
                    return;
                }
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), "Cannot set up the demo project yet; retrying in 10 s.");
                    tokio::time::sleep(Duration::from_secs(10)).await;
                }
            }
        }
    })
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    use std::io::Write;
    options
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .with_context(|| format!("cannot write {}", path.display()))
}
