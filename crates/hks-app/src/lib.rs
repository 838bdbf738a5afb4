//! HKS's application service: what the API and the background work do,
//! apart from HTTP.
//!
//! Everything here takes a [`Principal`] (who asks) or works for the
//! installation, and returns domain values; nothing knows HTTP. The HTTP
//! crate maps [`AppError`] to responses in its one place; the controller
//! crate runs the background loops over the same [`App`].
//!
//! - [`tenancy`]: whose projects and applications a principal may reach, and
//!   the per-project write lock.
//! - [`plan`]: one write prepared once: the validated spec, the parsed
//!   schedule, the resolved container or Function call, the rendered objects.
//! - [`audit`]: the audit log's entries, written after each change.
//! - [`commands`]: writes, under the rule **apply first, store second**.
//! - [`run_control`]: Run now, re-run, cancel and backfill of single runs.
//! - [`projectfile`]: a project as a file: export, and apply (or preview)
//!   through the same commands, in dependency order.
//! - [`observe`]: what the tenant's watch caches show of a project.
//! - [`views`]: CronJob summaries and details from the store and the watch caches.
//! - [`history`]: the run history merged with the runs the cluster still has.
//! - [`generations`]: what HKS last applied, to tell hand edits apart.

pub mod alerts;
pub mod audit;
pub mod commands;
pub mod error;
pub mod generations;
pub mod history;
pub mod observe;
pub mod plan;
pub mod projectfile;
pub mod rates;
pub mod run_control;
pub mod tenancy;
pub mod views;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use error::AppError;
use hks_kube::Gateway;
pub use hks_store::Principal;
use hks_store::Store;
pub use hks_store::ownership::{self, Ownership};
pub use rates::{Budget, Rate, TenantRates};

/// The HTTP-client image of CronJobs that call a Function, unless the
/// installation names another: the development cluster's base image, which
/// has `/bin/hks-invoke`.
pub const DEFAULT_INVOKE_IMAGE: &str = "hks.local/busybox:1";

/// What the application service works with: the store, the gateway to the
/// tenants' clusters, and the state the writers and the reconciler share.
#[derive(Debug, Clone)]
pub struct App {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    gateway: Arc<dyn Gateway>,
    locks: tenancy::ProjectLocks,
    generations: generations::Generations,
    invoke_image: String,
    alerter: hks_alerting::Alerter,
    /// Counts writes to stored projects, applications and runs, so a cached
    /// read can tell it is stale: per tenant (by id), so that one tenant's
    /// writes do not make every other tenant's cached reads stale.
    writes: Mutex<HashMap<String, u64>>,
    /// Each tenant's budgets of changes and run starts.
    limiters: rates::Limiters,
    /// Which tenants this replica does the background work of.
    ownership: Ownership,
}

impl App {
    pub fn new(store: Store, gateway: Arc<dyn Gateway>) -> Self {
        Self::with_invoke_image(store, gateway, DEFAULT_INVOKE_IMAGE)
    }

    /// `invoke_image`: the HTTP-client image (it must have `/bin/hks-invoke`)
    /// of CronJobs that call a Function.
    pub fn with_invoke_image(
        store: Store,
        gateway: Arc<dyn Gateway>,
        invoke_image: impl Into<String>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                alerter: hks_alerting::Alerter::new(store.clone()),
                store,
                gateway,
                locks: tenancy::ProjectLocks::default(),
                generations: generations::Generations::default(),
                invoke_image: invoke_image.into(),
                writes: Mutex::default(),
                limiters: rates::Limiters::new(TenantRates::UNLIMITED),
                ownership: Ownership::all(ownership::default_replica()),
            }),
        }
    }

    /// The same service, with webhooks (saved URLs, test deliveries)
    /// checked against `targets` instead of public addresses only. Call it
    /// right after [`App::new`]; the delivery worker takes its own
    /// ([`hks_alerting::Settings::targets`]).
    pub fn with_webhook_targets(mut self, targets: hks_alerting::TargetPolicy) -> Self {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.alerter = inner.alerter.clone().with_targets(targets),
            None => unreachable!("with_webhook_targets is called before the service is shared"),
        }
        self
    }

    /// The same service, sending test emails through the installation's
    /// SMTP server, and accepting email destinations (refused without one).
    /// Call it right after [`App::new`]; the delivery worker takes its own
    /// ([`hks_alerting::Settings::email`]).
    pub fn with_email(mut self, email: Option<hks_alerting::Email>) -> Self {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.alerter = inner.alerter.clone().with_email(email),
            None => unreachable!("with_email is called before the service is shared"),
        }
        self
    }

    /// The same service, with each tenant's changes and run starts limited
    /// to `rates` (none by default). Call it right after [`App::new`].
    pub fn with_tenant_rates(mut self, rates: TenantRates) -> Self {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.limiters = rates::Limiters::new(rates),
            None => unreachable!("with_tenant_rates is called before the service is shared"),
        }
        self
    }

    /// The same service, doing the background work of the tenants
    /// `ownership` says (every tenant by default, as the one process on a
    /// SQLite database). Call it right after [`App::new`].
    pub fn with_ownership(mut self, ownership: Ownership) -> Self {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.ownership = ownership,
            None => unreachable!("with_ownership is called before the service is shared"),
        }
        self
    }

    /// Which tenants this replica does the background work of.
    pub fn ownership(&self) -> &Ownership {
        &self.inner.ownership
    }

    /// The budgets each tenant has.
    pub fn tenant_rates(&self) -> TenantRates {
        self.inner.limiters.rates()
    }

    /// Spends `n` units of the tenant's `budget` ([`TenantRates`]), or
    /// refuses with [`AppError::RateLimited`], spending nothing.
    pub fn spend(&self, tenant_id: &str, budget: Budget, n: u32) -> Result<(), AppError> {
        self.inner.limiters.spend(tenant_id, budget, n)
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// This installation's id ([`Store::installation`]): the value of the
    /// `hks.dev/installation` label on everything HKS creates, which its
    /// watches and listings select.
    pub fn installation(&self) -> &str {
        self.inner.store.installation()
    }

    pub fn gateway(&self) -> &dyn Gateway {
        self.inner.gateway.as_ref()
    }

    /// Raises alerts on runs (for the run recorder) and sends test deliveries.
    pub fn alerter(&self) -> &hks_alerting::Alerter {
        &self.inner.alerter
    }

    pub fn invoke_image(&self) -> &str {
        &self.inner.invoke_image
    }

    pub fn locks(&self) -> &tenancy::ProjectLocks {
        &self.inner.locks
    }

    pub fn generations(&self) -> &generations::Generations {
        &self.inner.generations
    }

    /// How many writes to the tenant's projects, applications and runs
    /// this process made.
    pub fn writes(&self, tenant_id: &str) -> u64 {
        let writes = self.inner.writes.lock().unwrap_or_else(|e| e.into_inner());
        writes.get(tenant_id).copied().unwrap_or(0)
    }

    /// Notes a change to what the tenant's reads show (its stored
    /// applications, projects, runs), so its cached reads derived before it
    /// are stale. Other tenants' cached reads stay valid.
    pub fn wrote(&self, tenant_id: &str) {
        let mut writes = self.inner.writes.lock().unwrap_or_else(|e| e.into_inner());
        *writes.entry(tenant_id.to_owned()).or_default() += 1;
    }
}
