//! The delivery worker: sends the deliveries that are due, records how each
//! attempt went, and schedules the next one with
//! [`hks_history::webhook::next_attempt`] until [`MAX_ATTEMPTS`].
//!
//! Every attempt is claimed in the store before it is sent (see
//! [`hks_store::Store::claim_due_deliveries`]): if HKS stops during the
//! request, the delivery becomes due again once the claim's lease ends, and
//! is sent again with the same delivery id.

use std::time::Duration;

use hks_history::webhook::{MAX_ATTEMPTS, next_attempt};
use hks_store::{AttemptResult, DeliveryJob, Store};
use jiff::{SignedDuration, Timestamp};
use secrecy::ExposeSecret;
use tokio::task::JoinHandle;

use crate::delivery::{self, Answer};
use crate::{AlertError, TargetPolicy};

/// How long a receiver has to answer.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How the worker runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How often to look for due deliveries.
    pub poll_interval: Duration,
    /// The first retry's delay; later ones double. `hks_history`'s schedule
    /// (5 s, 10 s, 20 s ...) is scaled to it, so tests can shorten it.
    pub retry_base: Duration,
    /// How long a receiver has to answer one request.
    pub timeout: Duration,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Where deliveries may go (public addresses only by default).
    pub targets: TargetPolicy,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            retry_base: Duration::from_secs(5),
            timeout: DEFAULT_TIMEOUT,
            concurrency: 8,
            targets: TargetPolicy::default(),
        }
    }
}

/// Sends due deliveries.
#[derive(Debug, Clone)]
pub struct Worker {
    store: Store,
    http: reqwest::Client,
    settings: Settings,
}

/// Starts a [`Worker`] that delivers until the task is aborted.
pub fn spawn(store: Store, settings: Settings) -> Result<JoinHandle<()>, AlertError> {
    Ok(Worker::new(store, settings)?.spawn())
}

impl Worker {
    pub fn new(store: Store, settings: Settings) -> Result<Self, AlertError> {
        Ok(Self {
            http: delivery::client(settings.timeout, &settings.targets)?,
            store,
            settings,
        })
    }

    /// Delivers every `poll_interval` until the task is aborted.
    pub fn spawn(self) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(self.settings.poll_interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(error) = self.deliver_due().await {
                    tracing::warn!(%error, source = ?std::error::Error::source(&error), "Webhook delivery pass failed.");
                }
            }
        })
    }

    /// Makes one attempt at every delivery due now; how many attempts were made.
    pub async fn deliver_due(&self) -> Result<usize, AlertError> {
        let mut made = 0;
        loop {
            let now = Timestamp::now();
            // Due again only after this attempt surely ended (its timeout)
            // and a retry's wait: a crash mid-request retries it then.
            let lease = now
                .checked_add(to_signed(self.settings.timeout + self.settings.retry_base))
                .unwrap_or(now);
            let batch = self.settings.concurrency.max(1);
            let jobs = self
                .store
                .claim_due_deliveries(now, lease, u32::try_from(batch).unwrap_or(u32::MAX))
                .await?;
            let claimed = jobs.len();
            made += claimed;
            let results =
                futures::future::join_all(jobs.into_iter().map(|job| self.attempt(job))).await;
            for result in results {
                result?;
            }
            if claimed < batch {
                return Ok(made);
            }
        }
    }

    async fn attempt(&self, job: DeliveryJob) -> Result<(), AlertError> {
        let result = if job.attempt > MAX_ATTEMPTS {
            // The last attempt was claimed but never recorded: HKS stopped
            // during it. Give up as after any last attempt.
            AttemptResult::NotDelivered {
                status: None,
                error: "the last attempt was cut short (HKS stopped)".into(),
                next: None,
            }
        } else {
            let answer = delivery::send(
                &self.http,
                &self.settings.targets,
                &job.url,
                job.secret.expose_secret().as_bytes(),
                &job.id,
                delivery::body(&job.alert, &job.project),
                self.settings.timeout,
            )
            .await;
            match answer {
                Answer::Delivered(status) => AttemptResult::Delivered { status },
                Answer::Refused(status) => AttemptResult::NotDelivered {
                    status: Some(status),
                    error: format!("the receiver answered {status}"),
                    next: self.retry_at(job.attempt, Timestamp::now()),
                },
                Answer::Unreachable(error) => AttemptResult::NotDelivered {
                    status: None,
                    error,
                    next: self.retry_at(job.attempt, Timestamp::now()),
                },
            }
        };
        let outcome = match &result {
            AttemptResult::Delivered { .. } => "delivered",
            AttemptResult::NotDelivered { next: Some(_), .. } => "retry",
            AttemptResult::NotDelivered { next: None, .. } => "failed",
        };
        metrics::counter!("hks_alert_delivery_attempts_total", "outcome" => outcome).increment(1);
        match &result {
            AttemptResult::Delivered { status } => tracing::info!(
                delivery = %job.id, project = %job.project, cronjob = %job.alert.cronjob,
                key = %job.alert.key, attempt = job.attempt, status, "Delivered an alert."
            ),
            AttemptResult::NotDelivered {
                status,
                error,
                next,
            } => tracing::warn!(
                delivery = %job.id, project = %job.project, cronjob = %job.alert.cronjob,
                key = %job.alert.key, attempt = job.attempt, ?status, %error,
                retry_at = ?next.map(|t| t.to_string()),
                "Could not deliver an alert."
            ),
        }
        self.store.finish_attempt(&job.id, &result).await?;
        Ok(())
    }

    /// When to try again after attempt `attempt` failed at `at`:
    /// `hks_history`'s schedule, scaled to `retry_base`.
    fn retry_at(&self, attempt: u32, at: Timestamp) -> Option<Timestamp> {
        let base = next_attempt(1, at)?.duration_since(at);
        let wait = next_attempt(attempt, at)?.duration_since(at);
        let scaled = self
            .settings
            .retry_base
            .mul_f64(wait.as_secs_f64() / base.as_secs_f64());
        at.checked_add(to_signed(scaled)).ok()
    }
}

fn to_signed(d: Duration) -> SignedDuration {
    SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX)
}
