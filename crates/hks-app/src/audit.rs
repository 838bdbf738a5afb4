//! Recording the audit log: one entry after each change a principal (or the
//! installation's admin) made, with the fields that changed
//! ([`hks_core::audit::diff`], secrets redacted). The change has happened
//! when this runs: an entry that cannot be written is logged as an error,
//! never turned into a failure of the change itself.

use hks_core::audit::{AuditAction, AuditChange};
use hks_store::{AuditFilter, Principal};
use tracing::error;

use crate::{App, AppError};

/// The actor a principal is written as: `tenant/token`.
pub fn actor(principal: &Principal) -> String {
    format!("{}/{}", principal.tenant_name, principal.token_name)
}

/// The actor for the installation's admin token.
pub const ADMIN: &str = "admin";

/// Appends one entry to the tenant's log.
pub async fn record(
    app: &App,
    tenant_id: &str,
    project: Option<&str>,
    actor: &str,
    action: AuditAction,
    target: &str,
    changes: &[AuditChange],
) {
    if let Err(e) = app
        .store()
        .append_audit(tenant_id, project, actor, action, target, changes)
        .await
    {
        error!(error = %e, tenant = %tenant_id, action = action.as_str(), %target, "Failed to write an audit entry.");
    }
}

/// A principal's change in one of its projects.
pub async fn by(
    app: &App,
    principal: &Principal,
    project: &str,
    action: AuditAction,
    target: &str,
    changes: &[AuditChange],
) {
    record(
        app,
        &principal.tenant_id,
        Some(project),
        &actor(principal),
        action,
        target,
        changes,
    )
    .await;
}

/// The most entries one page has.
pub const MAX_PAGE: u32 = 200;

/// A page of the principal's tenant's log, newest first.
pub async fn page(
    app: &App,
    principal: &Principal,
    filter: &AuditFilter,
    limit: u32,
) -> Result<Vec<hks_core::audit::AuditEntry>, AppError> {
    Ok(app
        .store()
        .audit(&principal.tenant_id, filter, limit.clamp(1, MAX_PAGE))
        .await?)
}
