//! Alerts on CronJob runs, delivered by webhook: the adapter that applies the
//! rules of [`hks_history::alerts`] through the store and sends the
//! deliveries over HTTP.
//!
//! The run recorder tells an [`Alerter`] what happened (a run finished, is
//! still running, a scheduled run was missed). The alerter takes the
//! CronJob's own settings, else its project's default, lets `hks_history`
//! decide which alerts that raises, and stores each new alert with a pending
//! delivery in one transaction. Alerts are unique per CronJob by their key,
//! so telling the alerter the same thing twice (duplicate watch events, a
//! restart) raises nothing new. The [`worker`] sends pending deliveries,
//! signed, and retries them with backoff; deliveries live in the store, so a
//! restart loses none. Delivery is at least once: each carries an id that
//! stays the same across attempts for the receiver to drop duplicates.
//!
//! Webhook URLs are chosen by tenants, so deliveries go only where the
//! installation's [`TargetPolicy`] permits: public addresses, and ranges the
//! installation allows (see [`target`]).

mod delivery;
pub mod target;
pub mod worker;

use std::time::Duration;

use hks_history::alerts::{self, Alert, Outcome};
use hks_store::{Store, StoreError};
use jiff::Timestamp;

pub use delivery::{TestDelivery, link};
pub use hks_store::StoredAlert;
pub use target::{BadWebhookUrl, IpNet, TargetPolicy, check_webhook_url, redacted_url};
pub use worker::{Settings, Worker, spawn};

/// The shortest webhook secret accepted.
pub const MIN_SECRET_LEN: usize = 16;
/// The longest webhook secret accepted.
pub const MAX_SECRET_LEN: usize = 256;

/// What can go wrong while raising or delivering alerts.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error("the store failed")]
    Store(#[from] StoreError),
    #[error("no webhook is configured")]
    NoWebhook,
    #[error("the HTTP client could not be built")]
    Client(#[source] reqwest::Error),
}

type Result<T, E = AlertError> = std::result::Result<T, E>;

/// Raises alerts for a CronJob's runs. Cheap to clone (it holds the store's
/// connection pool).
#[derive(Debug, Clone)]
pub struct Alerter {
    store: Store,
    timeout: Duration,
    targets: TargetPolicy,
}

impl Alerter {
    /// Test deliveries go to public addresses only; see [`Alerter::with_targets`].
    pub fn new(store: Store) -> Self {
        Self {
            store,
            timeout: worker::DEFAULT_TIMEOUT,
            targets: TargetPolicy::default(),
        }
    }

    /// The same alerter, sending test deliveries where `targets` permits
    /// (the delivery worker takes its own in [`Settings::targets`]).
    pub fn with_targets(mut self, targets: TargetPolicy) -> Self {
        self.targets = targets;
        self
    }

    /// Where webhooks may be sent: what webhook URLs are checked against
    /// when they are saved.
    pub fn targets(&self) -> &TargetPolicy {
        &self.targets
    }

    /// A run of `cronjob` finished with `outcome` (`reason`: Kubernetes'
    /// reason for a failure). `earlier`: the outcomes of the CronJob's
    /// earlier finished runs, oldest first. Returns the alerts newly raised.
    pub async fn run_finished(
        &self,
        project_id: &str,
        cronjob: &str,
        run_name: &str,
        outcome: Outcome,
        reason: Option<&str>,
        earlier: &[Outcome],
    ) -> Result<Vec<StoredAlert>> {
        let Some(settings) = self
            .store
            .effective_alert_settings(project_id, cronjob)
            .await?
        else {
            return Ok(Vec::new());
        };
        let raised = alerts::on_finished(&settings.rules, earlier, run_name, outcome, reason);
        self.raise(project_id, cronjob, &settings, raised).await
    }

    /// A run of `cronjob` that started at `started` is still going at `now`.
    pub async fn run_running(
        &self,
        project_id: &str,
        cronjob: &str,
        run_name: &str,
        started: Timestamp,
        now: Timestamp,
    ) -> Result<Vec<StoredAlert>> {
        let Some(settings) = self
            .store
            .effective_alert_settings(project_id, cronjob)
            .await?
        else {
            return Ok(Vec::new());
        };
        let raised = alerts::long_running(&settings.rules, run_name, started, now);
        self.raise(project_id, cronjob, &settings, raised.into_iter().collect())
            .await
    }

    /// The run of `cronjob` scheduled for `scheduled` did not start, because `why`.
    pub async fn missed(
        &self,
        project_id: &str,
        cronjob: &str,
        scheduled: Timestamp,
        why: &str,
    ) -> Result<Vec<StoredAlert>> {
        let Some(settings) = self
            .store
            .effective_alert_settings(project_id, cronjob)
            .await?
        else {
            return Ok(Vec::new());
        };
        let raised = alerts::missed(&settings.rules, scheduled, why);
        self.raise(project_id, cronjob, &settings, raised.into_iter().collect())
            .await
    }

    async fn raise(
        &self,
        project_id: &str,
        cronjob: &str,
        settings: &hks_store::AlertSettings,
        raised: Vec<Alert>,
    ) -> Result<Vec<StoredAlert>> {
        let now = Timestamp::now();
        let mut new = Vec::new();
        for alert in raised {
            if let Some(stored) = self
                .store
                .raise_alert(project_id, cronjob, &alert, now, settings.webhook.as_ref())
                .await?
            {
                tracing::info!(project = %project_id, %cronjob, key = %stored.key, delivered = settings.webhook.is_some(), "Raised an alert.");
                metrics::counter!("hks_alerts_raised_total", "kind" => stored.kind.clone())
                    .increment(1);
                new.push(stored);
            }
        }
        Ok(new)
    }

    /// Sends a test delivery now, once, to the webhook of a CronJob (its own
    /// or its project's) or of the project (`cronjob: None`), and says how
    /// the receiver answered. Nothing is stored.
    pub async fn send_test(
        &self,
        project_id: &str,
        project_name: &str,
        cronjob: Option<&str>,
    ) -> Result<TestDelivery> {
        let settings = match cronjob {
            Some(c) => self.store.effective_alert_settings(project_id, c).await?,
            None => self.store.alert_settings(project_id, None).await?,
        };
        let webhook = settings
            .and_then(|s| s.webhook)
            .ok_or(AlertError::NoWebhook)?;
        delivery::send_test(&webhook, project_name, cronjob, self.timeout, &self.targets).await
    }
}
