//! How each background loop goes over the tenants: at once, a bounded
//! number at a time, each tenant under its own time limit. Every tenant may
//! be hostile, and its apiserver answers however it likes (slowly, never,
//! with garbage): one tenant's slow cluster, store error or alert error is
//! that tenant's failure for this pass, logged and counted, while the
//! others' work completes.
//!
//! A tenant's work starts only under a [`Claim`] taken right before it
//! ([`Ownership::claim`]): a tenant this replica does not own (any more) is
//! skipped, and work whose ownership is revoked while it runs is dropped
//! at once, as at its time limit.

use std::future::Future;
use std::time::Duration;

use futures::StreamExt;
use hks_app::ownership::{Claim, Ownership};
use hks_app::tenancy::Scope;
use tracing::{debug, warn};

/// How a loop isolates tenants from each other.
#[derive(Debug, Clone, Copy)]
pub struct Isolation {
    /// Tenants worked on at once.
    pub concurrency: usize,
    /// The most one tenant's part of a pass may take; then it is given up
    /// for this pass (and counted as a failure).
    pub timeout: Duration,
}

impl Default for Isolation {
    fn default() -> Self {
        Self {
            concurrency: 4,
            timeout: Duration::from_secs(30),
        }
    }
}

/// What a tenant's part of a pass failed with, as the metric counts it.
pub(crate) trait Cause: std::fmt::Display {
    /// `cluster`, `cache_limit`, `store` or `alert`: a fixed set of label
    /// values.
    fn cause(&self) -> &'static str;
}

/// Runs `work` for every tenant in `scopes`, `isolation.concurrency` at a
/// time, each under `isolation.timeout`. Gives each tenant's result, `None`
/// for a tenant that failed or timed out (logged, and counted in
/// `hks_tenant_failures_total` by loop and cause: never by tenant, so the
/// metric's series stay few).
pub(crate) async fn each<'a, T, E, F, Fut>(
    what: &'static str,
    isolation: Isolation,
    ownership: &'a Ownership,
    scopes: &'a [Scope],
    work: F,
) -> Vec<Option<T>>
where
    E: Cause,
    F: Fn(&'a Scope) -> Fut,
    Fut: Future<Output = Result<T, E>> + Send + 'a,
    T: Send + 'a,
{
    // Built up front (not in a closure over the stream), so that the
    // futures' lifetimes are plain and the loops' tasks are `Send`.
    let mut futures = Vec::with_capacity(scopes.len());
    for (i, scope) in scopes.iter().enumerate() {
        // The claim is taken when the tenant's turn comes, not here.
        let work = work(scope);
        futures.push(async move {
            let claim = ownership.claim(&scope.tenant_id);
            isolated(what, isolation.timeout, i, scope, claim, work).await
        });
    }
    // Unordered, so that a slow tenant holds one slot and not the queue.
    let mut out: Vec<(usize, Option<T>)> = futures::stream::iter(futures)
        .buffer_unordered(isolation.concurrency.max(1))
        .collect()
        .await;
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, t)| t).collect()
}

/// `work` for one tenant under `timeout`, as [`each`] runs it for every
/// tenant: `None` when it failed, timed out (logged and counted) or the
/// tenant is not owned.
pub(crate) async fn one<T, E: Cause>(
    what: &'static str,
    timeout: Duration,
    ownership: &Ownership,
    scope: &Scope,
    work: impl Future<Output = Result<T, E>>,
) -> Option<T> {
    let claim = ownership.claim(&scope.tenant_id);
    isolated(what, timeout, 0, scope, claim, work).await.1
}

/// One tenant's part, under `claim` and `timeout`; a failure is logged and
/// counted, a tenant not owned (or no longer) only logged.
async fn isolated<T, E: Cause>(
    what: &'static str,
    timeout: Duration,
    i: usize,
    scope: &Scope,
    claim: Option<Claim>,
    work: impl Future<Output = Result<T, E>>,
) -> (usize, Option<T>) {
    let Some(claim) = claim else {
        debug!(tenant = %scope.tenant_name, pass = what, "Skipped a tenant this replica does not own now.");
        return (i, None);
    };
    let Some(result) = claim.run(tokio::time::timeout(timeout, work)).await else {
        debug!(tenant = %scope.tenant_name, pass = what, "Stopped a tenant's pass: this replica no longer owns it.");
        return (i, None);
    };
    let (cause, error) = match result {
        Ok(Ok(t)) => return (i, Some(t)),
        Ok(Err(e)) => (e.cause(), e.to_string()),
        Err(_) => (
            "timeout",
            "the tenant's part of the pass took too long".into(),
        ),
    };
    metrics::counter!("hks_tenant_failures_total", "loop" => what, "cause" => cause).increment(1);
    if matches!(cause, "cluster" | "cache_limit") {
        // Common and expected (a cluster that is down), or warned about
        // once by the gateway (too many objects): the reconciler and the
        // views say so where it matters.
        debug!(%error, tenant = %scope.tenant_name, pass = what, "A tenant's pass failed.");
    } else {
        warn!(%error, cause, tenant = %scope.tenant_name, pass = what, "A tenant's pass failed.");
    }
    (i, None)
}
