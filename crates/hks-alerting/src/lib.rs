//! Alerts on CronJob runs, delivered to where people look: the adapter that
//! applies the rules of [`hks_history::alerts`] through the store and sends
//! the deliveries, to a signed webhook, a Slack or Teams incoming webhook
//! (over HTTP), or by email (through the installation's SMTP server).
//!
//! The run recorder tells an [`Alerter`] what happened (a run finished, is
//! still running, a scheduled run was missed). The alerter takes the
//! CronJob's own settings, else its project's default, lets `hks_history`
//! decide which alerts that raises, and stores each new alert with a pending
//! delivery in one transaction. Alerts are unique per CronJob by their key,
//! so telling the alerter the same thing twice (duplicate watch events, a
//! restart) raises nothing new. The [`worker`] sends pending deliveries
//! and retries them with backoff; deliveries live in the store, so a
//! restart loses none. Delivery is at least once: each carries an id that
//! stays the same across attempts (`X-HKS-Delivery`, an email's
//! `Message-ID`) for the receiver to drop duplicates. What each receiver
//! gets is in [`payload`].
//!
//! Webhook URLs (Slack's and Teams' too) are chosen by tenants, so
//! deliveries go only where the installation's [`TargetPolicy`] permits:
//! public addresses, and ranges the installation allows (see [`target`]).
//! The SMTP server is the installation's own (see [`email`]).

mod delivery;
pub mod email;
pub mod payload;
mod send;
pub mod target;
pub mod worker;

use std::time::Duration;

use hks_history::alerts::{self, Alert, Outcome};
use hks_store::{Store, StoreError};
use jiff::Timestamp;

pub use email::{BadRecipient, BadSmtp, Email, MAX_RECIPIENTS, SmtpSettings, SmtpTls};
pub use hks_store::StoredAlert;
pub use payload::link;
pub use send::{NO_SMTP, TestDelivery};
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
    #[error("no destination is configured")]
    NoDestination,
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
    email: Option<Email>,
}

impl Alerter {
    /// Test deliveries go to public addresses only; see [`Alerter::with_targets`].
    pub fn new(store: Store) -> Self {
        Self {
            store,
            timeout: worker::DEFAULT_TIMEOUT,
            targets: TargetPolicy::default(),
            email: None,
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

    /// The same alerter, sending test emails through the installation's
    /// SMTP server (the delivery worker takes its own in
    /// [`Settings::email`]).
    pub fn with_email(mut self, email: Option<Email>) -> Self {
        self.email = email;
        self
    }

    /// The installation's SMTP server, if it names one: without it, email
    /// destinations cannot be saved.
    pub fn email(&self) -> Option<&Email> {
        self.email.as_ref()
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
                .raise_alert(
                    project_id,
                    cronjob,
                    &alert,
                    now,
                    settings.destination.as_ref(),
                )
                .await?
            {
                tracing::info!(
                    project = %project_id, %cronjob, key = %stored.key,
                    destination = settings.destination.as_ref().map_or("none", |d| d.kind().as_str()),
                    "Raised an alert."
                );
                metrics::counter!("hks_alerts_raised_total", "kind" => stored.kind.clone())
                    .increment(1);
                new.push(stored);
            }
        }
        Ok(new)
    }

    /// Sends a test delivery now, once, to the destination of a CronJob (its
    /// own or its project's) or of the project (`cronjob: None`), and says
    /// how the receiver answered. Nothing is stored.
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
        let destination = settings
            .and_then(|s| s.destination)
            .ok_or(AlertError::NoDestination)?;
        let sender = send::Sender::new(self.timeout, &self.targets, self.email.clone())?;
        Ok(send::send_test(&sender, &destination, project_name, cronjob).await)
    }
}
