//! The database side of tenant ownership (the `ownership` module holds it): PostgreSQL
//! session-level advisory locks on a connection of their own, one per
//! replica ([`LockSession`]).
//!
//! A session-level advisory lock is held by its connection until it is
//! unlocked or the connection ends, however it ends (the process exits or
//! is killed, the pod is deleted, the server drops a connection whose TCP
//! keepalives went unanswered): no lease to renew, no clock to trust. Keys
//! are the two-`int4` form, whose key space PostgreSQL keeps apart from the
//! one-`bigint` form of the store's write lock (`pg_advisory_xact_lock` in
//! [`crate::Store::write_tx`]), under a namespace of HKS's own as the first
//! key: [`TENANTS`] for the tenants' locks (the second key derived from the
//! tenant id, [`tenant_key`]), [`REPLICAS`] for each replica's presence
//! (the second key its connection's server process id, unique among live
//! connections), so that the replicas alive are counted as the holders of
//! a presence lock, with no heartbeat row to expire.

use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Connection, Row};

use crate::{Backend, Result, Store, StoreError, q};

/// The first key of the tenants' locks: "hkso" in ASCII (below 2^31, so it
/// reads the same as `int4` and as the `oid` `pg_locks` shows).
pub const TENANTS: i64 = 0x686b_736f;

/// The first key of the replicas' presence locks: "hksr" in ASCII.
pub const REPLICAS: i64 = 0x686b_7372;

/// Seconds of silence after which the server probes a lock connection,
/// between probes, and probes unanswered before it ends the session (and
/// frees its locks): a replica cut off by the network loses its tenants
/// after at most 10 + 3 * 5 = 25 s. `tcp_user_timeout` bounds data the
/// server sent that stays unacknowledged the same way.
const KEEPALIVES: [(&str, &str); 4] = [
    ("tcp_keepalives_idle", "10"),
    ("tcp_keepalives_interval", "5"),
    ("tcp_keepalives_count", "3"),
    ("tcp_user_timeout", "25000"),
];

/// The second key of a tenant's lock: 31 bits of the SHA-256 of its id
/// (non-negative, so `int4` and `oid` agree). Two tenants whose keys collide
/// share one lock, so they are owned together: still by one replica at a
/// time.
pub fn tenant_key(tenant_id: &str) -> i64 {
    let h = Sha256::digest(tenant_id.as_bytes());
    i64::from(u32::from_be_bytes([h[0], h[1], h[2], h[3]]) & 0x7fff_ffff)
}

/// A replica's connection for its locks, outside the store's pool: its
/// locks live exactly as long as it does.
#[derive(Debug)]
pub struct LockSession {
    conn: AnyConnection,
}

impl Store {
    /// A new connection for `replica`'s locks, announced as a live replica
    /// (its presence lock) and named `hks-owner:<replica>` in
    /// `pg_stat_activity`. PostgreSQL only: a SQLite database has one
    /// process, which owns every tenant.
    pub async fn lock_session(&self, replica: &str) -> Result<LockSession> {
        if self.backend != Backend::Postgres {
            return Err(StoreError::Open(sqlx::Error::Configuration(
                "tenant locks need PostgreSQL".into(),
            )));
        }
        // Taken out of the pool for good: the pool opens another in its
        // place, and no other statement ever runs on this one.
        let conn = self.pool.acquire().await.map_err(q)?.detach();
        let mut session = LockSession { conn };
        let name: String = format!("hks-owner:{replica}").chars().take(60).collect();
        sqlx::query("SELECT set_config('application_name', $1, false)")
            .bind(name)
            .execute(&mut session.conn)
            .await
            .map_err(q)?;
        for (setting, value) in KEEPALIVES {
            sqlx::query("SELECT set_config($1, $2, false)")
                .bind(setting)
                .bind(value)
                .execute(&mut session.conn)
                .await
                .map_err(q)?;
        }
        let announced: bool = sqlx::query_scalar(
            "SELECT pg_try_advisory_lock(CAST($1 AS INTEGER), pg_backend_pid())",
        )
        .bind(REPLICAS)
        .fetch_one(&mut session.conn)
        .await
        .map_err(q)?;
        if !announced {
            return Err(StoreError::Open(sqlx::Error::Protocol(
                "the replica's presence lock is taken".into(),
            )));
        }
        Ok(session)
    }
}

/// What the database shows of everyone's locks.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Holders {
    /// Replicas connected now (at least this one).
    pub replicas: usize,
    /// The second keys of the tenants' locks held by anyone.
    pub held: std::collections::HashSet<i64>,
}

const ADVISORY: &str = "FROM pg_locks WHERE locktype = 'advisory' AND granted \
     AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
     AND objsubid = 2";

impl LockSession {
    /// Who holds what: live replicas, and tenants' keys held. Also the
    /// check that this connection still answers.
    pub async fn holders(&mut self) -> Result<Holders> {
        let replicas: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) {ADVISORY} AND CAST(classid AS BIGINT) = $1"
        ))
        .bind(REPLICAS)
        .fetch_one(&mut self.conn)
        .await
        .map_err(q)?;
        let rows = sqlx::query(&format!(
            "SELECT CAST(objid AS BIGINT) AS k {ADVISORY} AND CAST(classid AS BIGINT) = $1"
        ))
        .bind(TENANTS)
        .fetch_all(&mut self.conn)
        .await
        .map_err(q)?;
        let held = rows
            .iter()
            .map(|r| r.try_get::<i64, _>("k").map_err(q))
            .collect::<Result<_>>()?;
        Ok(Holders {
            replicas: usize::try_from(replicas).unwrap_or(1).max(1),
            held,
        })
    }

    /// Takes tenant key `key` if nobody holds it; whether this session holds
    /// it now. Never waits.
    pub async fn try_lock(&mut self, key: i64) -> Result<bool> {
        sqlx::query_scalar("SELECT pg_try_advisory_lock(CAST($1 AS INTEGER), CAST($2 AS INTEGER))")
            .bind(TENANTS)
            .bind(key)
            .fetch_one(&mut self.conn)
            .await
            .map_err(q)
    }

    /// Gives tenant key `key` up.
    pub async fn unlock(&mut self, key: i64) -> Result<()> {
        let _: bool = sqlx::query_scalar(
            "SELECT pg_advisory_unlock(CAST($1 AS INTEGER), CAST($2 AS INTEGER))",
        )
        .bind(TENANTS)
        .bind(key)
        .fetch_one(&mut self.conn)
        .await
        .map_err(q)?;
        Ok(())
    }

    /// Ends the connection, and with it every lock it held.
    pub async fn close(self) {
        let _ = self.conn.close().await;
    }
}
