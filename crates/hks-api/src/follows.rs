//! Followed logs: a stream that may last as long as a run, so each holds a
//! permit (at most [`HttpLimits::max_follows_per_tenant`] per tenant and
//! [`HttpLimits::max_follows`] in all), checks every
//! [`HttpLimits::follow_recheck`] that its token is still valid (a revoked
//! token or a deleted tenant ends it), and ends when the server shuts down.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use hks_kube::KubeError;
use hks_store::Store;

use crate::HttpLimits;
use crate::error::ApiError;

/// The followed logs open now, and the signal that ends them all.
#[derive(Debug)]
pub(crate) struct Follows {
    open: Arc<Mutex<Open>>,
    shutdown: tokio::sync::watch::Sender<bool>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_tenant: HashMap<String, usize>,
}

/// One open followed log; dropping it (the stream ended or the client
/// left) makes room for another.
#[derive(Debug)]
pub(crate) struct Permit {
    open: Arc<Mutex<Open>>,
    tenant: String,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.total -= 1;
        if let Some(n) = open.by_tenant.get_mut(&self.tenant) {
            *n -= 1;
            if *n == 0 {
                open.by_tenant.remove(&self.tenant);
            }
        }
    }
}

impl Default for Follows {
    fn default() -> Self {
        Self {
            open: Arc::default(),
            shutdown: tokio::sync::watch::Sender::new(false),
        }
    }
}

impl Follows {
    /// A permit for one more followed log of `tenant`, or 429 when the
    /// tenant, or the installation, has as many as `limits` allow.
    pub(crate) fn open(&self, limits: &HttpLimits, tenant: &str) -> Result<Permit, ApiError> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let mine = open.by_tenant.get(tenant).copied().unwrap_or_default();
        if open.total >= limits.max_follows || mine >= limits.max_follows_per_tenant {
            tracing::warn!(tenant, "Followed log refused: too many open.");
            return Err(ApiError::TooManyFollows);
        }
        open.total += 1;
        *open.by_tenant.entry(tenant.to_owned()).or_default() += 1;
        Ok(Permit {
            open: self.open.clone(),
            tenant: tenant.to_owned(),
        })
    }

    /// Ends every followed log, now and from now on.
    pub(crate) fn shut_down(&self) {
        self.shutdown.send_replace(true);
    }

    /// `log` until it ends, its token (by hash) is no longer valid when
    /// checked every `limits.follow_recheck`, or the server shuts down.
    pub(crate) fn guard(
        &self,
        log: BoxStream<'static, Result<String, KubeError>>,
        permit: Permit,
        store: Store,
        token_hash: String,
        limits: &HttpLimits,
    ) -> impl Stream<Item = Result<String, KubeError>> + Send + 'static {
        let every = limits.follow_recheck;
        let mut recheck = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let guard = Guard {
            log,
            permit,
            store,
            token_hash,
            recheck,
            shutdown: self.shutdown.subscribe(),
        };
        futures::stream::unfold(guard, |mut g| async move {
            let item = g.next().await?;
            Some((item, g))
        })
    }
}

/// A followed log with what ends it early.
struct Guard {
    log: BoxStream<'static, Result<String, KubeError>>,
    permit: Permit,
    store: Store,
    token_hash: String,
    recheck: tokio::time::Interval,
    shutdown: tokio::sync::watch::Receiver<bool>,
}

impl Guard {
    /// The log's next piece; `None` when it ended or must end.
    async fn next(&mut self) -> Option<Result<String, KubeError>> {
        loop {
            if *self.shutdown.borrow_and_update() {
                return None;
            }
            tokio::select! {
                item = self.log.next() => return item,
                _ = self.recheck.tick() => match self.store.authenticate_hash(&self.token_hash).await {
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        tracing::info!(tenant = %self.permit.tenant, "Followed log ended: its token is no longer valid.");
                        return None;
                    }
                    // The store did not answer: the token is checked again next time.
                    Err(error) => tracing::warn!(%error, "Cannot check a followed log's token."),
                },
                // The sender lives as long as the state; either way, stop.
                _ = self.shutdown.changed() => return None,
            }
        }
    }
}
