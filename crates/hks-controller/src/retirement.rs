//! Cleans up what HKS no longer manages: the project namespaces of deleted
//! tenants, and of clusters a tenant no longer uses. The store queues each
//! cleanup in the same transaction as the change that causes it; this pass
//! deletes the namespaces and releases HKS's finalizers there (nobody will
//! record those runs), until every namespace is gone. A cluster that does
//! not answer is tried again on the next pass.

use std::time::Duration;

use hks_app::App;
use hks_kube::TenantCluster;
use tracing::{info, warn};

use crate::ControllerError;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Retired {
    /// Cleanups finished: every namespace gone.
    pub done: usize,
    /// Cleanups still waiting for namespaces being deleted.
    pub pending: usize,
    /// Cleanups whose cluster failed this time.
    pub failed: usize,
}

/// Works every queued cleanup once.
pub async fn retire(app: &App) -> Result<Retired, ControllerError> {
    let mut out = Retired::default();
    for r in app.store().retirements().await? {
        let cluster = TenantCluster {
            installation: app.installation(),
            tenant_id: &r.tenant_id,
            tenant_name: &r.tenant_name,
            connection: &r.connection,
        };
        match app.gateway().retire(cluster, &r.namespaces).await {
            Ok(remaining) if remaining.is_empty() => {
                app.store().retirement_done(&r.id).await?;
                info!(tenant = %r.tenant_id, reason = ?r.reason, namespaces = r.namespaces.len(), "Cleaned up a cluster HKS no longer manages.");
                out.done += 1;
            }
            Ok(_) => {
                app.store().retirement_attempted(&r.id, None).await?;
                out.pending += 1;
            }
            Err(error) => {
                warn!(tenant = %r.tenant_id, %error, attempts = r.attempts + 1, "Cannot clean up a cluster HKS no longer manages; trying again.");
                app.store()
                    .retirement_attempted(&r.id, Some(&error.to_string()))
                    .await?;
                out.failed += 1;
            }
        }
    }
    Ok(out)
}

/// Runs [`retire`] every `interval` until the task is aborted, on the one
/// replica that owns the installation's own work
/// ([`hks_app::ownership::INSTALLATION`]).
pub fn spawn(app: App, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(claim) = app.ownership().claim(hks_app::ownership::INSTALLATION) else {
                continue;
            };
            if let Some(Err(error)) = claim.run(retire(&app)).await {
                warn!(%error, "Retirement pass failed.");
            }
        }
    })
}
