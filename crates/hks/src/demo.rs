//! The demo tenant: on a first start with `--demo-kubeconfig`, a tenant
//! `demo` on that cluster with a project, a Stateless app, a Function and a
//! CronJob made from the app. Its token is kept in `<data-dir>/demo.token`
//! and printed at every start.

use std::path::Path;

use anyhow::Context;
use hks_api::AppState;
use hks_api::extract::Tenant;
use hks_api::service;
use hks_core::spec::ApplicationSpec;
use secrecy::ExposeSecret;
use serde_json::json;

pub async fn ensure(state: &AppState, kubeconfig: &Path, data_dir: &Path) -> anyhow::Result<()> {
    let token_file = data_dir.join("demo.token");
    if state.store().tenant_by_name("demo").await.is_ok() {
        if let Ok(token) = std::fs::read_to_string(&token_file) {
            println!("Demo tenant token: {}", token.trim());
        }
        return Ok(());
    }
    let text = std::fs::read_to_string(kubeconfig)
        .with_context(|| format!("cannot read {}", kubeconfig.display()))?;
    let cluster = serde_json::from_value(json!({"kind": "kubeconfig", "kubeconfig": text}))?;
    let tenant = state.store().create_tenant("demo", &cluster).await?;
    let (_, token) = state.store().create_token(&tenant.id, "demo").await?;
    let who = Tenant(hks_store::Principal {
        tenant_id: tenant.id.clone(),
        tenant_name: "demo".into(),
        token_name: "demo".into(),
    });
    let project = service::create_project(state, &who, "demo")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
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
    ];
    for (name, spec) in apps {
        let spec: ApplicationSpec = serde_json::from_value(spec)?;
        service::create_application(state, &who, &project, name, spec)
            .await
            .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    use std::io::Write;
    options
        .open(&token_file)
        .and_then(|mut f| f.write_all(token.expose_secret().as_bytes()))
        .with_context(|| format!("cannot write {}", token_file.display()))?;
    println!("Demo tenant token: {}", token.expose_secret());
    Ok(())
}
