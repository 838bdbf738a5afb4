//! HKS's background work over the tenants' clusters, for the installation
//! (not for a principal): the [`reconciler`] keeps every cluster matching
//! the store, the [`recorder`] keeps every run and its logs in the store,
//! and [`housekeeping`] records missed runs, raises long-run alerts and
//! applies retention, [`backfill`] starts waiting backfill runs one at a
//! time; [`retirement`] cleans up the namespaces of deleted
//! tenants and of clusters a tenant no longer uses. `hks serve` runs them next to the HTTP API; the API
//! crate does not depend on this one.
//!
//! Each loop works on the tenants at once, a bounded number at a time, each
//! under its own time limit ([`tenants`]): a tenant whose cluster does not
//! answer, answers slowly, or whose store rows or alerts fail, is skipped
//! for that pass, counted, and the others go on.
//!
//! With several replicas on one PostgreSQL database, each loop works only on
//! the tenants this replica owns ([`hks_app::ownership`]): a tenant's part
//! of a pass starts under a claim taken right before it, and is dropped at
//! once when the replica gives the tenant up or loses its lock connection.
//! Retirement, which is the installation's and not a tenant's, runs on the
//! replica that owns [`hks_app::ownership::INSTALLATION`].

mod alerts;
pub mod backfill;
pub mod housekeeping;
mod pass;
pub mod reconciler;
pub mod recorder;
pub mod retirement;
pub mod run_metrics;
mod tenants;

pub use pass::{Pass, PassError, Settings};
pub use reconciler::{Reconciled, reconcile, reconcile_with};
pub use tenants::Isolation;

/// What a background pass fails with (a tenant's unreachable cluster is not
/// one: that tenant is skipped).
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    #[error(transparent)]
    Store(#[from] hks_store::StoreError),
}

impl tenants::Cause for ControllerError {
    fn cause(&self) -> &'static str {
        match self {
            Self::Store(_) => "store",
        }
    }
}
