//! The delivery worker: sends the deliveries that are due (to a webhook,
//! Slack, Teams or by email), records how each attempt went, and schedules
//! the next one with
//! [`hks_history::webhook::next_attempt`] until [`MAX_ATTEMPTS`].
//!
//! Deliveries go out independently: up to `concurrency` requests are in
//! flight, each under its own timeout, and a delivery that becomes due
//! while others are in flight goes out as soon as a slot is free, so a
//! slow receiver holds up no other delivery (and no other tenant's).
//!
//! Every attempt is claimed in the store before it is sent (see
//! [`hks_store::Store::claim_due_deliveries`]): if HKS stops during the
//! request, the delivery becomes due again once the claim's lease ends, and
//! is sent again with the same delivery id.
//!
//! With several replicas ([`hks_store::ownership`]), each claims only the
//! deliveries of the tenants it owns, and checks again right before each
//! attempt that it still owns the tenant; one it gave up in between is left
//! to its new owner once the claim's lease ends.

use std::sync::Arc;
use std::time::Duration;

use hks_history::webhook::{MAX_ATTEMPTS, next_attempt};
use hks_store::ownership::Ownership;
use hks_store::{AttemptResult, DeliveryJob, Store};
use jiff::{SignedDuration, Timestamp};
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};

use crate::delivery::Answer;
use crate::email::Email;
use crate::send::{Sender, refusal};
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
    /// Where webhooks (signed, Slack, Teams) may go (public addresses
    /// only by default).
    pub targets: TargetPolicy,
    /// The installation's SMTP server, for email destinations (none by
    /// default: their deliveries fail, saying so).
    pub email: Option<Email>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            retry_base: Duration::from_secs(5),
            timeout: DEFAULT_TIMEOUT,
            concurrency: 8,
            targets: TargetPolicy::default(),
            email: None,
        }
    }
}

/// Sends due deliveries.
#[derive(Debug, Clone)]
pub struct Worker {
    store: Store,
    sender: Sender,
    settings: Settings,
    /// Whose deliveries it sends: every tenant's unless told otherwise.
    ownership: Option<Ownership>,
}

/// Starts a [`Worker`] that delivers until the task is aborted.
pub fn spawn(store: Store, settings: Settings) -> Result<JoinHandle<()>, AlertError> {
    Ok(Worker::new(store, settings)?.spawn())
}

impl Worker {
    pub fn new(store: Store, settings: Settings) -> Result<Self, AlertError> {
        Ok(Self {
            sender: Sender::new(settings.timeout, &settings.targets, settings.email.clone())?,
            store,
            settings,
            ownership: None,
        })
    }

    /// The same worker, sending only the deliveries of the tenants
    /// `ownership` says this replica owns.
    #[must_use]
    pub fn with_ownership(mut self, ownership: Ownership) -> Self {
        self.ownership = Some(ownership);
        self
    }

    /// Delivers until the task is aborted (which aborts the requests in
    /// flight: their claims make them due again). Every `poll_interval` it
    /// claims as many due deliveries as there are free slots and sends each
    /// in a task of its own, without waiting for the others.
    pub fn spawn(self) -> JoinHandle<()> {
        tokio::spawn(async move {
            let slots = Arc::new(Semaphore::new(self.settings.concurrency.max(1)));
            let mut in_flight = JoinSet::new();
            let mut tick = tokio::time::interval(self.settings.poll_interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                while in_flight.try_join_next().is_some() {}
                if let Err(error) = self.dispatch(&slots, &mut in_flight).await {
                    tracing::warn!(%error, source = ?std::error::Error::source(&error), "Alert delivery pass failed.");
                }
            }
        })
    }

    /// Claims due deliveries for the free slots and starts them.
    async fn dispatch(
        &self,
        slots: &Arc<Semaphore>,
        in_flight: &mut JoinSet<()>,
    ) -> Result<(), AlertError> {
        loop {
            let free = slots.available_permits();
            if free == 0 {
                return Ok(());
            }
            let jobs = self.claim(free).await?;
            let claimed = jobs.len();
            for job in jobs {
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    // Cannot happen (only this loop takes slots); the
                    // claim's lease makes the delivery due again.
                    break;
                };
                let me = self.clone();
                in_flight.spawn(async move {
                    let _slot = slot;
                    if let Err(error) = me.attempt(job).await {
                        tracing::warn!(%error, source = ?std::error::Error::source(&error), "Could not record an alert delivery attempt.");
                    }
                });
            }
            if claimed < free {
                return Ok(());
            }
        }
    }

    /// Claims up to `n` due deliveries: due again only after this attempt
    /// surely ended (its timeout) and a retry's wait, so a crash mid-request
    /// retries it then.
    async fn claim(&self, n: usize) -> Result<Vec<DeliveryJob>, AlertError> {
        let now = Timestamp::now();
        let lease = now
            .checked_add(to_signed(self.settings.timeout + self.settings.retry_base))
            .unwrap_or(now);
        let owned = self.ownership.as_ref().and_then(Ownership::owned);
        Ok(self
            .store
            .claim_due_deliveries_of(
                owned.as_deref(),
                now,
                lease,
                u32::try_from(n).unwrap_or(u32::MAX),
            )
            .await?)
    }

    /// Makes one attempt at every delivery due now and waits for them all;
    /// how many attempts were made.
    pub async fn deliver_due(&self) -> Result<usize, AlertError> {
        let mut made = 0;
        loop {
            let batch = self.settings.concurrency.max(1);
            let jobs = self.claim(batch).await?;
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
        if let Some(ownership) = &self.ownership
            && !ownership.owns(&job.tenant_id)
        {
            // Given up since the claim: its new owner sends it once the
            // claim's lease ends (not cancelled mid-request: a request cut
            // short would be sent twice).
            tracing::debug!(delivery = %job.id, "Left a delivery to the tenant's new owner.");
            return Ok(());
        }
        let result = if job.attempt > MAX_ATTEMPTS {
            // The last attempt was claimed but never recorded: HKS stopped
            // during it. Give up as after any last attempt.
            AttemptResult::NotDelivered {
                status: None,
                error: "the last attempt was cut short (HKS stopped)".into(),
                next: None,
            }
        } else {
            let answer = self
                .sender
                .send(&job.destination, &job.alert, &job.project, &job.id)
                .await;
            match answer {
                Answer::Delivered(status) => AttemptResult::Delivered { status },
                Answer::Refused(status) => AttemptResult::NotDelivered {
                    status: Some(status),
                    error: refusal(job.destination.kind(), status),
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
        metrics::counter!("hks_alert_delivery_attempts_total", "outcome" => outcome, "destination" => job.destination.kind().as_str()).increment(1);
        match &result {
            AttemptResult::Delivered { status } => tracing::info!(
                delivery = %job.id, project = %job.project, cronjob = %job.alert.cronjob,
                key = %job.alert.key, destination = job.destination.kind().as_str(),
                attempt = job.attempt, status, "Delivered an alert."
            ),
            AttemptResult::NotDelivered {
                status,
                error,
                next,
            } => tracing::warn!(
                delivery = %job.id, project = %job.project, cronjob = %job.alert.cronjob,
                key = %job.alert.key, destination = job.destination.kind().as_str(),
                attempt = job.attempt, ?status, %error,
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
