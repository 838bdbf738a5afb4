//! Which tenants this replica does the background work of (the reconciler,
//! the run recorder and its housekeeping, alert delivery): each tenant on
//! exactly one replica at a time.
//!
//! On SQLite there is one process, which owns every tenant
//! ([`Ownership::all`]). On PostgreSQL each replica holds a session-level
//! advisory lock per tenant it owns, on a connection of its own
//! ([`crate::locks`]), and a pass every [`Settings::interval`]
//! ([`Ownership::spawn`]) balances them:
//!
//! - Replicas announce themselves with a presence lock, so each pass knows
//!   how many are alive (`n`) and which tenants anyone holds. Each replica
//!   keeps at most its fair share, `ceil(tenants / n)`, gives up what it
//!   holds beyond it, takes unheld tenants up to it (in an order of its
//!   own, rendezvous hashing, so replicas rarely reach for the same one),
//!   and then any tenant nobody holds, except one it gave up in the last
//!   [`Settings::cooldown`] passes (left for the replica that needs it).
//!   Tenants added are taken, deleted ones given up, at the next pass. The
//!   installation's own work ([`INSTALLATION`]) is owned like a tenant,
//!   outside the share: taken by the first replica to find it free.
//! - A tenant is owned from the moment its lock is taken until just before
//!   it is unlocked; before unlocking, the work in flight on it is
//!   cancelled ([`Claim::run`]) and waited for, so two replicas never work
//!   on one tenant at once.
//! - A replica that dies (its process ends, its pod is deleted) loses its
//!   connection, and PostgreSQL frees its locks at once; the others' next
//!   pass counts one replica less and takes them: takeover within one
//!   [`Settings::interval`] (plus a pass). No clock is involved.
//! - A replica cut off from the database by the network: its pass fails or
//!   times out ([`Settings::pass_timeout`]), and it drops every tenant at
//!   once (cancelling the work in flight) and its connection, then
//!   reconnects; so it stops within `interval + pass_timeout` (7 s by
//!   default). The server ends the session, freeing the locks, only after
//!   its TCP keepalives go unanswered (10 s idle, then 3 probes 5 s apart:
//!   25 s; `tcp_user_timeout` 25 s for unacknowledged data), so the cut-off
//!   replica has stopped before another can take its tenants.
//! - A replica that hangs (a deadlock, a stuck runtime) keeps its
//!   connection and its locks; its tenants wait until its liveness probe
//!   restarts it, which ends the connection.
//!
//! Kubernetes Leases (coordination.k8s.io) were the other choice: a lease
//! per tenant renewed by its holder, taken over once `leaseDuration` has
//! passed without renewal. They need the apiserver of the cluster HKS runs
//! in (one more dependency for the background work, beside the database
//! every replica needs anyway), a renewal per tenant every few seconds, and
//! clocks: a holder that stops renewing keeps working until its own timer
//! says the lease is gone, while another replica may already go by its own
//! clock, so correctness depends on bounded clock drift and pauses. An
//! advisory lock is released by the server exactly when the holder's
//! session ends, and checked by the same database that stores what the work
//! writes.
//!
//! The work itself is idempotent, so that a takeover records nothing twice
//! and loses nothing: HKS's finalizer holds every run until it is recorded,
//! a final run is never reopened, an alert is raised once per key, and a
//! delivery is claimed in the store before each attempt.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::{OwnedRwLockReadGuard, RwLock, watch};
use tracing::{info, warn};

use crate::locks::{LockSession, tenant_key};
use crate::{Backend, Store};

/// The installation's own work, not any tenant's (the cleanup of clusters
/// HKS stopped managing, raising the alerts a crash left unraised): owned
/// like a tenant, by one replica at a time.
pub const INSTALLATION: &str = "@installation";

/// The replica's identity unless one is given: the pod's name (`POD_NAME`,
/// from the downward API), else the host's name, else `hks`.
pub fn default_replica() -> String {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    env("POD_NAME")
        .or_else(|| env("HOSTNAME"))
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
        })
        .unwrap_or_else(|| "hks".to_owned())
}

/// How ownership is balanced.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Time between passes: the bound on taking over a dead replica's
    /// tenants, and on taking new tenants.
    pub interval: Duration,
    /// The most a pass may take; past it (the database does not answer)
    /// the replica drops every tenant and its connection.
    pub pass_timeout: Duration,
    /// Passes during which a tenant this replica gave up is left for
    /// others.
    pub cooldown: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(2),
            pass_timeout: Duration::from_secs(5),
            cooldown: 3,
        }
    }
}

/// Which tenants this replica works on now. Cheap to clone; the clones
/// share one state.
#[derive(Debug, Clone)]
pub struct Ownership {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    replica: String,
    /// Every tenant (SQLite), or those whose locks this replica holds.
    all: Option<Arc<Entry>>,
    owned: Mutex<HashMap<String, Arc<Entry>>>,
    replicas: AtomicUsize,
}

/// One owned tenant: work holds its gate for reading while it runs; giving
/// the tenant up revokes it and waits for the gate.
#[derive(Debug)]
struct Entry {
    gate: Arc<RwLock<()>>,
    revoked: watch::Sender<bool>,
    /// Which time this process took the tenant ([`Ownership::generation`]).
    generation: u64,
}

impl Entry {
    fn new() -> Arc<Self> {
        static GENERATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        Arc::new(Self {
            gate: Arc::new(RwLock::new(())),
            revoked: watch::Sender::new(false),
            generation: GENERATIONS.fetch_add(1, Ordering::Relaxed),
        })
    }
}

/// The right to work on one tenant now, until it is revoked.
#[derive(Debug)]
pub struct Claim {
    _gate: OwnedRwLockReadGuard<()>,
    revoked: watch::Receiver<bool>,
}

impl Claim {
    /// Runs `work` while the tenant is owned: `None` when ownership was
    /// revoked first (the work is dropped at its next await, as at a time
    /// limit).
    pub async fn run<F: Future>(mut self, work: F) -> Option<F::Output> {
        let revoked = async {
            // An error means the entry is gone: revoked as well.
            let _ = self.revoked.wait_for(|r| *r).await;
        };
        tokio::select! {
            biased;
            () = revoked => None,
            out = work => Some(out),
        }
    }
}

impl Ownership {
    /// Every tenant, always: the one process on a SQLite database.
    pub fn all(replica: impl Into<String>) -> Self {
        Self::with(replica, Some(Entry::new()))
    }

    /// None yet: tenants are owned once [`Ownership::spawn`]'s passes take
    /// their locks.
    pub fn locks(replica: impl Into<String>) -> Self {
        Self::with(replica, None)
    }

    /// What the store's backend calls for: [`Ownership::all`] on SQLite,
    /// [`Ownership::locks`] on PostgreSQL.
    pub fn for_store(store: &Store, replica: impl Into<String>) -> Self {
        match store.backend() {
            Backend::Sqlite => Self::all(replica),
            Backend::Postgres => Self::locks(replica),
        }
    }

    fn with(replica: impl Into<String>, all: Option<Arc<Entry>>) -> Self {
        Self {
            inner: Arc::new(Inner {
                replica: replica.into(),
                all,
                owned: Mutex::default(),
                replicas: AtomicUsize::new(1),
            }),
        }
    }

    /// This replica's identity.
    pub fn replica(&self) -> &str {
        &self.inner.replica
    }

    /// Whether this replica owns every tenant (SQLite).
    pub fn owns_all(&self) -> bool {
        self.inner.all.is_some()
    }

    /// Whether this replica works on `tenant_id` now.
    pub fn owns(&self, tenant_id: &str) -> bool {
        self.inner.all.is_some() || self.owned_map().contains_key(tenant_id)
    }

    /// Which time this replica took `tenant_id` (the same while it keeps
    /// it), `None` when it does not own it: what a loop remembers of a
    /// tenant is forgotten when this changes, since another replica worked
    /// on the tenant meanwhile.
    pub fn generation(&self, tenant_id: &str) -> Option<u64> {
        match &self.inner.all {
            Some(all) => Some(all.generation),
            None => self.owned_map().get(tenant_id).map(|e| e.generation),
        }
    }

    /// The tenants owned now: `None` for every tenant.
    pub fn owned(&self) -> Option<Vec<String>> {
        if self.inner.all.is_some() {
            return None;
        }
        let mut out: Vec<String> = self.owned_map().keys().cloned().collect();
        out.sort();
        Some(out)
    }

    /// Live replicas as the last pass counted them (1 on SQLite).
    pub fn replicas(&self) -> usize {
        self.inner.replicas.load(Ordering::Relaxed)
    }

    /// The right to work on `tenant_id` now, or `None` when this replica
    /// does not own it (or is giving it up). Take it right before the work.
    pub fn claim(&self, tenant_id: &str) -> Option<Claim> {
        let entry = match &self.inner.all {
            Some(all) => all.clone(),
            None => self.owned_map().get(tenant_id)?.clone(),
        };
        let gate = entry.gate.clone().try_read_owned().ok()?;
        Some(Claim {
            _gate: gate,
            revoked: entry.revoked.subscribe(),
        })
    }

    fn owned_map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Entry>>> {
        self.inner.owned.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drops every tenant at once, cancelling the work in flight: the locks
    /// are gone (or about to be, with the connection).
    fn lose_all(&self) {
        let lost: Vec<(String, Arc<Entry>)> = self.owned_map().drain().collect();
        for (_, entry) in &lost {
            entry.revoked.send_replace(true);
        }
        if !lost.is_empty() {
            warn!(replica = %self.replica(), tenants = lost.len(), "Dropped every tenant: the lock connection is gone.");
        }
        self.gauge();
    }

    /// `hks_owned_tenants` and `hks_live_replicas` (PostgreSQL only: on
    /// SQLite the one process owns every tenant).
    fn gauge(&self) {
        let Some(owned) = self.owned() else {
            return;
        };
        let n = owned.iter().filter(|t| *t != INSTALLATION).count();
        #[expect(clippy::cast_precision_loss, reason = "a count of tenants")]
        metrics::gauge!("hks_owned_tenants").set(n as f64);
        #[expect(clippy::cast_precision_loss, reason = "a count of replicas")]
        metrics::gauge!("hks_live_replicas").set(self.replicas() as f64);
    }

    /// Balances this replica's locks every `settings.interval` until the
    /// task is aborted (which ends the lock connection and drops every
    /// tenant). Nothing to do for [`Ownership::all`].
    pub fn spawn(&self, store: Store, settings: Settings) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            if me.owns_all() {
                return;
            }
            // Dropped with the task, however it ends: whatever was owned is
            // no longer worked on.
            let _drop = LoseOnDrop(me.clone());
            let mut balancer = Balancer {
                ownership: me.clone(),
                settings: settings.clone(),
                session: None,
                keys: HashMap::new(),
                released: HashMap::new(),
                pass: 0,
            };
            let mut tick = tokio::time::interval(settings.interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let result =
                    tokio::time::timeout(settings.pass_timeout, balancer.pass(&store)).await;
                let error = match result {
                    Ok(Ok(())) => continue,
                    Ok(Err(error)) => error.to_string(),
                    Err(_) => "the database did not answer in time".into(),
                };
                warn!(%error, replica = %me.replica(), "Tenant ownership pass failed; dropping every tenant and reconnecting.");
                balancer.reset().await;
            }
        })
    }
}

struct LoseOnDrop(Ownership);

impl Drop for LoseOnDrop {
    fn drop(&mut self) {
        self.0.lose_all();
    }
}

/// The pass's state: the connection, which keys it holds for which
/// tenants.
struct Balancer {
    ownership: Ownership,
    settings: Settings,
    session: Option<LockSession>,
    /// Keys this replica holds, with the tenants each stands for.
    keys: HashMap<i64, Vec<String>>,
    /// Keys given up, by the pass that gave them up.
    released: HashMap<i64, u64>,
    pass: u64,
}

impl Balancer {
    /// Drops every tenant and the connection (which frees its locks).
    async fn reset(&mut self) {
        self.ownership.lose_all();
        self.keys.clear();
        if let Some(session) = self.session.take() {
            let _ = tokio::time::timeout(Duration::from_secs(1), session.close()).await;
        }
    }

    async fn pass(&mut self, store: &Store) -> crate::Result<()> {
        self.pass += 1;
        let cooldown = u64::from(self.settings.cooldown);
        let pass = self.pass;
        self.released.retain(|_, at| pass - *at <= cooldown);
        if self.session.is_none() {
            let session = store.lock_session(self.ownership.replica()).await?;
            info!(replica = %self.ownership.replica(), "Connected for tenant locks.");
            self.session = Some(session);
        }
        // Every tenant, and the installation's own work, by key.
        let mut wanted: HashMap<i64, Vec<String>> = HashMap::new();
        for t in store.list_tenants().await? {
            wanted.entry(tenant_key(&t.id)).or_default().push(t.id);
        }
        wanted
            .entry(tenant_key(INSTALLATION))
            .or_default()
            .push(INSTALLATION.to_owned());
        let Some(session) = self.session.as_mut() else {
            return Ok(());
        };
        let holders = session.holders().await?;
        self.ownership
            .inner
            .replicas
            .store(holders.replicas, Ordering::Relaxed);
        // Held keys whose tenants are gone (deleted) or changed.
        let held: Vec<i64> = self.keys.keys().copied().collect();
        for key in held {
            match wanted.get(&key) {
                None => self.give_up(key).await?,
                Some(tenants) if Some(tenants) != self.keys.get(&key) => {
                    self.own(key, tenants.clone());
                }
                Some(_) => {}
            }
        }
        // The installation's own work is taken by whoever finds it free
        // and kept; the share is of the tenants.
        let installation = tenant_key(INSTALLATION);
        let share = (wanted.len() - 1).div_ceil(holders.replicas);
        let counted =
            |keys: &HashMap<i64, Vec<String>>| keys.keys().filter(|k| **k != installation).count();
        // Beyond the share: the keys this replica likes least go first.
        let replica = self.ownership.replica().to_owned();
        let excess = counted(&self.keys).saturating_sub(share);
        if excess > 0 {
            let mut mine: Vec<i64> = self
                .keys
                .keys()
                .copied()
                .filter(|k| *k != installation)
                .collect();
            mine.sort_by_key(|k| rank(&replica, *k));
            for key in mine.into_iter().take(excess) {
                self.give_up(key).await?;
            }
        }
        let mut free: Vec<i64> = wanted
            .keys()
            .copied()
            .filter(|k| !holders.held.contains(k) && !self.keys.contains_key(k))
            .collect();
        free.sort_by_key(|k| std::cmp::Reverse(rank(&replica, *k)));
        for key in free {
            // Up to the share; past it only what nobody else may want.
            if key != installation
                && counted(&self.keys) >= share
                && self.released.contains_key(&key)
            {
                continue;
            }
            let Some(session) = self.session.as_mut() else {
                break;
            };
            if session.try_lock(key).await? {
                self.own(key, wanted[&key].clone());
            }
        }
        self.ownership.gauge();
        Ok(())
    }

    /// Owns `tenants` under `key`, which this session holds.
    fn own(&mut self, key: i64, tenants: Vec<String>) {
        let mut owned = self.ownership.owned_map();
        if let Some(before) = self.keys.get(&key) {
            for t in before.iter().filter(|t| !tenants.contains(t)) {
                if let Some(e) = owned.remove(t) {
                    e.revoked.send_replace(true);
                }
            }
        }
        for t in &tenants {
            owned.entry(t.clone()).or_insert_with(Entry::new);
        }
        drop(owned);
        if !self.keys.contains_key(&key) {
            info!(replica = %self.ownership.replica(), tenants = ?tenants, "Took tenants over.");
        }
        self.keys.insert(key, tenants);
    }

    /// Gives `key` up: its tenants are no longer owned, their work in
    /// flight is cancelled and waited for, then the lock is released.
    async fn give_up(&mut self, key: i64) -> crate::Result<()> {
        let tenants = self.keys.remove(&key).unwrap_or_default();
        let entries: Vec<Arc<Entry>> = {
            let mut owned = self.ownership.owned_map();
            tenants.iter().filter_map(|t| owned.remove(t)).collect()
        };
        for e in &entries {
            e.revoked.send_replace(true);
        }
        for e in &entries {
            drop(e.gate.write().await);
        }
        if let Some(session) = self.session.as_mut() {
            session.unlock(key).await?;
        }
        self.released.insert(key, self.pass);
        info!(replica = %self.ownership.replica(), tenants = ?tenants, "Gave tenants up.");
        Ok(())
    }
}

/// How much `replica` prefers `key` (rendezvous hashing): replicas order
/// the free tenants differently, so they rarely race for one.
fn rank(replica: &str, key: i64) -> u64 {
    let mut h = Sha256::new();
    h.update(replica.as_bytes());
    h.update(key.to_be_bytes());
    let d = h.finalize();
    u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Giving a tenant up cancels the work in flight on it, waits for it,
    /// and refuses new claims; other tenants' work goes on.
    #[tokio::test]
    async fn giving_a_tenant_up_cancels_its_work_and_refuses_new_claims() {
        let o = Ownership::locks("r");
        let (a, b) = (Entry::new(), Entry::new());
        o.owned_map().insert("a".into(), a.clone());
        o.owned_map().insert("b".into(), b.clone());
        assert_ne!(o.generation("a"), o.generation("b"));
        let on_a = tokio::spawn(o.claim("a").unwrap().run(std::future::pending::<()>()));
        let on_b = tokio::spawn(o.claim("b").unwrap().run(async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            7
        }));
        tokio::task::yield_now().await;
        // As `Balancer::give_up` does.
        let entry = o.owned_map().remove("a").unwrap();
        entry.revoked.send_replace(true);
        drop(entry.gate.write().await);
        assert_eq!(on_a.await.unwrap(), None, "the work on `a` was dropped");
        assert!(o.claim("a").is_none() && !o.owns("a"));
        assert_eq!(on_b.await.unwrap(), Some(7));
        // Losing the connection drops everything at once.
        let on_b = tokio::spawn(o.claim("b").unwrap().run(std::future::pending::<()>()));
        tokio::task::yield_now().await;
        o.lose_all();
        assert_eq!(on_b.await.unwrap(), None);
        assert_eq!(o.owned(), Some(vec![]));
    }
}
