//! What a pass of the background work is set up with, what it did, and
//! what it fails with.

use std::time::Duration;

use hks_history::retention::Retention;

/// How the recorder works.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Time between passes over each tenant's watch caches.
    pub interval: Duration,
    /// Time between checks for missed runs and long runs.
    pub housekeeping: Duration,
    /// Time between applications of the retention policy.
    pub retention_interval: Duration,
    /// The most log kept per attempt.
    pub log_cap_bytes: usize,
    /// Retention for CronJobs that set none. Its `max_age_days` also
    /// bounds how long alerts (with their deliveries) are kept.
    pub retention: Retention,
    /// Alerts kept per CronJob (the newest; with their deliveries).
    pub alerts_max_per_cronjob: u32,
    /// How tenants are kept from holding each other up.
    pub isolation: crate::Isolation,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(1),
            housekeeping: Duration::from_secs(30),
            retention_interval: Duration::from_secs(600),
            log_cap_bytes: hks_history::archive::DEFAULT_CAP_BYTES,
            retention: Retention::default(),
            alerts_max_per_cronjob: 1000,
            isolation: crate::Isolation::default(),
        }
    }
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub runs_seen: usize,
    pub runs_written: usize,
    pub logs_archived: usize,
    pub released: usize,
    pub missed: usize,
    pub expired: usize,
    /// Alerts forgotten by retention.
    pub alerts_expired: usize,
    /// Runs whose recording failed in this pass (a later pass retries them).
    pub failed: usize,
    /// Tenants whose part of the pass failed or timed out (a later pass
    /// retries them; the other tenants' part is done).
    pub failed_tenants: usize,
}

impl Pass {
    /// Adds what another pass did.
    pub(crate) fn add(&mut self, p: Pass) {
        self.runs_seen += p.runs_seen;
        self.runs_written += p.runs_written;
        self.logs_archived += p.logs_archived;
        self.released += p.released;
        self.missed += p.missed;
        self.expired += p.expired;
        self.alerts_expired += p.alerts_expired;
        self.failed += p.failed;
        self.failed_tenants += p.failed_tenants;
    }
}

/// What a recorder or housekeeping pass fails with.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    #[error(transparent)]
    Kube(#[from] hks_kube::KubeError),
    #[error(transparent)]
    Store(#[from] hks_store::StoreError),
    #[error(transparent)]
    Alert(#[from] hks_alerting::AlertError),
}

impl crate::tenants::Cause for PassError {
    fn cause(&self) -> &'static str {
        match self {
            // The tenant's cluster holds more HKS objects than its watch
            // caches may: told apart from an outage.
            Self::Kube(hks_kube::KubeError::TooManyObjects { .. }) => "cache_limit",
            Self::Kube(_) => "cluster",
            Self::Store(_) => "store",
            Self::Alert(_) => "alert",
        }
    }
}
