//! How each background loop goes over the tenants: at once, a bounded
//! number at a time, each tenant under its own time limit. Every tenant may
//! be hostile, and its apiserver answers however it likes (slowly, never,
//! with garbage): one tenant's slow cluster, store error or alert error is
//! that tenant's failure for this pass, logged and counted, while the
//! others' work completes.

use std::future::Future;
use std::time::Duration;

use futures::StreamExt;
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
        futures.push(isolated(what, isolation.timeout, i, scope, work(scope)));
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
/// tenant: `None` when it failed or timed out (logged and counted).
pub(crate) async fn one<T, E: Cause>(
    what: &'static str,
    timeout: Duration,
    scope: &Scope,
    work: impl Future<Output = Result<T, E>>,
) -> Option<T> {
    isolated(what, timeout, 0, scope, work).await.1
}

/// One tenant's part, under `timeout`; a failure is logged and counted.
async fn isolated<T, E: Cause>(
    what: &'static str,
    timeout: Duration,
    i: usize,
    scope: &Scope,
    work: impl Future<Output = Result<T, E>>,
) -> (usize, Option<T>) {
    let (cause, error) = match tokio::time::timeout(timeout, work).await {
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
