//! HKS's storage: tenants, their API tokens, projects and applications, the
//! run history, alerts and the audit log, in SQLite (a file in the data
//! directory, WAL journal; the embedded default) or in PostgreSQL (one
//! database that several HKS replicas share). Migrations are applied at
//! start. This crate is the only one that knows SQL.
//!
//! Applications are stored as the JSON of their domain spec
//! ([`hks_core::spec::ApplicationSpec`]); the columns beside it exist only to
//! look rows up. Every write is one statement or one transaction, so a crash
//! (even `kill -9`) leaves either the old or the new state.
//!
//! # Two backends, one copy of the logic
//!
//! The store talks to either database through sqlx's `Any` driver: one
//! pool type, one row type, and one SQL text per query for both. That text
//! is the common dialect of the two: numbered parameters (`$1`, which
//! SQLite reads as well), `ON CONFLICT ... DO NOTHING / DO UPDATE`,
//! `RETURNING`, window functions, and only the types both decode the same
//! way through `Any` (text, 64-bit integers, bytes). Timestamps are RFC 3339
//! text on both, compared as text: PostgreSQL's columns are `COLLATE "C"`,
//! byte order like SQLite's. [`Backend`] chooses the few statements that
//! differ (how a writing transaction starts, reading a field of a JSON
//! column, a row lock, SQLite's `VACUUM`), each at its one place. The
//! alternatives were worse for this store: a store generic over
//! `sqlx::Database` needs bounds on every helper for every type it decodes,
//! and an enum of two pools with a `match` in every method is the logic
//! twice. What `Any` costs (no compile-time checked queries, which the
//! store did not use; values converted once more) does not matter here.
//!
//! Each backend has its own migrations (`migrations/sqlite`,
//! `migrations/postgres`), with the same versions, giving the same tables,
//! columns, keys, checks and triggers.
//!
//! # Writers
//!
//! A transaction that reads and then writes what it read starts with
//! [`Store::write_tx`], which makes it the only such transaction at a time
//! across every process on the database, on both backends:
//! - SQLite: `BEGIN IMMEDIATE` takes the database's write lock at once (a
//!   deferred transaction that read first would have to upgrade to a
//!   writer, and SQLite refuses that upgrade at once with SQLITE_BUSY when
//!   another writer came in between, without waiting). Writers wait for
//!   each other (`busy_timeout`), also across processes on one file.
//! - PostgreSQL: a transaction-scoped advisory lock
//!   (`pg_advisory_xact_lock`, one key for the store) taken first, in READ
//!   COMMITTED, so that each later statement of the transaction sees every
//!   transaction that held the lock before. This is the guarantee SQLite's
//!   single writer gives, so no read-then-write section needed a proof of
//!   its own; row locks (`FOR UPDATE`) cannot lock a row that is not there
//!   yet (a run recorded for the first time by two replicas), and
//!   SERIALIZABLE would need every transaction to retry. The sections are
//!   short (no network call inside), so serialising them costs little, as
//!   on SQLite. Waiting for it gives up after 5 seconds (`lock_timeout`),
//!   like SQLite's busy timeout.
//!
//! Writes that are one statement do not take it: each is atomic by itself
//! on both (a unique key with `ON CONFLICT`, `SET n = n + 1`, an `UPDATE ...
//! WHERE state = 'pending'`). Where such a statement could slip between the
//! reads and the writes of a transaction on PostgreSQL, the transaction
//! locks the row it depends on: deleting a tenant locks the tenant
//! (`FOR UPDATE`), so a project created at that moment either is in the
//! retirement queued with the deletion or fails on the missing tenant.
//!
//! # Durability
//!
//! SQLite: WAL with `synchronous=NORMAL`. A commit is in the WAL file
//! (in the operating system's page cache) before the write is acknowledged,
//! so an acknowledged write survives the death of the process, `kill -9`
//! included; the WAL is synced to disk at checkpoints, not at every commit.
//! What it does not survive is the machine losing power or the kernel
//! crashing before the next checkpoint: the last acknowledged writes can be
//! lost then (the database stays consistent). For an application that means
//! its objects are in the cluster but its configuration is not stored, and
//! the reconciler deletes HKS CronJobs the store does not know. `FULL`
//! (a sync per commit) closes that window at the cost of a disk flush in
//! every write request. PostgreSQL: as its server is configured
//! (`synchronous_commit`, replication).

mod alerts;
mod audit;
mod crypto;
mod history;
mod keys;
pub mod locks;
pub mod ownership;
mod retirements;
mod suspensions;

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use hks_core::spec::{ApplicationSpec, ApplicationType};
use hks_core::tenant::{ClusterConnection, ClusterSummary, project_namespace};
use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};
use sqlx::AnyPool;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Executor, Row};

pub use alerts::{
    AlertRecord, AlertSettings, AttemptResult, DeliveryJob, DeliveryState, DeliveryStatus,
    Destination, DestinationKind, DestinationUpdate, StoredAlert, Webhook, WebhookSources,
    WebhookUpdate,
};
pub use audit::AuditFilter;
pub use crypto::{EncryptionKey, KeyRing, TOKEN_PREFIX, new_token, token_hash};
pub use history::{Recorded, StoredLog};
pub use retirements::{Previous, RetireReason, Retirement};
pub use suspensions::Suspension;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("could not open the database")]
    Open(#[source] sqlx::Error),
    #[error("could not migrate the database")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    #[error("database query failed")]
    Query(#[source] sqlx::Error),
    #[error("{what} '{name}' already exists")]
    Conflict { what: &'static str, name: String },
    #[error("not found")]
    NotFound,
    #[error("stored data could not be read")]
    Corrupt(#[source] serde_json::Error),
    #[error("the system random number generator failed")]
    Random,
    #[error("the encryption key must be 32 bytes in base64")]
    BadKey,
    #[error("stored credentials could not be decrypted (wrong encryption key?)")]
    Crypto,
    /// The database was written under another key: starting would make
    /// every stored credential unreadable.
    #[error(
        "the encryption key is not the one this database was written with; give its key (and, to rotate, the new key with the old one as previous)"
    )]
    WrongKey,
}

type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub cluster: ClusterSummary,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub created_at: Timestamp,
}

/// Who a tenant token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub tenant_id: String,
    pub tenant_name: String,
    pub token_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub namespace: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Application {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub spec: ApplicationSpec,
    pub generation: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Which database the store is on: the dialect points of the SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the database is: a PostgreSQL URL (`postgres://` or
/// `postgresql://`) or the path of a SQLite file. The URL may hold a
/// password: `Display` and `Debug` show it without.
#[derive(Clone)]
pub enum Database {
    Sqlite(PathBuf),
    Postgres(SecretString),
}

impl Database {
    /// A PostgreSQL URL by its scheme, anything else a SQLite path.
    pub fn parse(s: &str) -> Self {
        let lower = s.trim_start().to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Self::Postgres(s.trim().to_owned().into())
        } else {
            Self::Sqlite(PathBuf::from(s))
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }
}

impl FromStr for Database {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Ok(Self::parse(s))
    }
}

impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "{}", path.display()),
            Self::Postgres(url) => f.write_str(&redacted_url(url.expose_secret())),
        }
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Database({self})")
    }
}

/// A PostgreSQL URL without its password (and without its query, which can
/// carry one too: `?password=`).
fn redacted_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("redacted"));
            }
            if u.query().is_some() {
                let keep: Vec<(String, String)> = u
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if k.eq_ignore_ascii_case("password") {
                            "redacted".into()
                        } else {
                            v.into_owned()
                        };
                        (k.into_owned(), v)
                    })
                    .collect();
                u.query_pairs_mut().clear().extend_pairs(keep);
            }
            u.to_string()
        }
        Err(_) => "postgres://(unreadable URL)".into(),
    }
}

/// The database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    key: std::sync::Arc<KeyRing>,
    /// This installation's id ([`Store::installation`]).
    installation: std::sync::Arc<str>,
}

/// The key of the advisory lock that PostgreSQL's writing transactions take
/// ([`Store::write_tx`]): "hks-wr" in ASCII, so that another application on
/// the same database is unlikely to use it.
const WRITE_LOCK: i64 = 0x686b_732d_7772;

/// How long a writing transaction waits for the write lock, on either
/// backend.
const WRITE_LOCK_WAIT: Duration = Duration::from_secs(5);

fn migrator(backend: Backend) -> Migrator {
    let migration = |version, name, sql| {
        Migration::new(
            version,
            Cow::Borrowed(name),
            MigrationType::Simple,
            Cow::Borrowed(sql),
            false,
        )
    };
    // One list of versions and names, a text per backend: a new migration is
    // added to both.
    macro_rules! migrations {
        ($(($version:literal, $name:literal, $file:literal)),* $(,)?) => {
            match backend {
                Backend::Sqlite => vec![$(migration(
                    $version,
                    $name,
                    include_str!(concat!("../migrations/sqlite/", $file)),
                )),*],
                Backend::Postgres => vec![$(migration(
                    $version,
                    $name,
                    include_str!(concat!("../migrations/postgres/", $file)),
                )),*],
            }
        };
    }
    let migrations = migrations![
        (1, "initial", "0001_initial.sql"),
        (2, "runs", "0002_runs.sql"),
        (3, "alerts", "0003_alerts.sql"),
        (4, "key_check", "0004_key_check.sql"),
        (5, "sealed_webhook_urls", "0005_sealed_webhook_urls.sql"),
        (6, "cluster_retirements", "0006_cluster_retirements.sql"),
        (7, "installation", "0007_installation.sql"),
        (8, "run_control", "0008_run_control.sql"),
        (9, "webhook_sources", "0009_webhook_sources.sql"),
        (10, "alert_destinations", "0010_alert_destinations.sql"),
        (11, "audit", "0011_audit.sql"),
    ];
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

fn q(e: sqlx::Error) -> StoreError {
    StoreError::Query(e)
}

fn unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

/// Maps an insert's error: a unique violation means `what` named `name`
/// exists already.
fn conflict_or_query(what: &'static str, name: &str) -> impl FnOnce(sqlx::Error) -> StoreError {
    let name = name.to_owned();
    move |e| {
        if unique_violation(&e) {
            StoreError::Conflict { what, name }
        } else {
            q(e)
        }
    }
}

fn ts(row: &AnyRow, col: &str) -> Result<Timestamp> {
    let s: String = row.try_get(col).map_err(q)?;
    s.parse().map_err(|_| {
        StoreError::Query(sqlx::Error::ColumnDecode {
            index: col.into(),
            source: "bad timestamp".into(),
        })
    })
}

/// SQLite's settings, on every connection: `Any` connects by URL, which
/// carries none of them.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; \
    PRAGMA synchronous = NORMAL; \
    PRAGMA foreign_keys = ON; \
    PRAGMA busy_timeout = 5000;";

impl Store {
    /// Opens (creating if needed) the SQLite database file at `path` and
    /// migrates it.
    pub async fn open(path: &Path, key: EncryptionKey) -> Result<Self> {
        Self::open_with_keys(path, KeyRing::new(key, vec![])).await
    }

    /// [`Store::open`] with the installation's keys. The database must have
    /// been written with one of them ([`StoreError::WrongKey`] otherwise);
    /// when previous keys are given, everything sealed is re-sealed with the
    /// current one (a key rotation), so they are no longer needed after.
    pub async fn open_with_keys(path: &Path, keys: KeyRing) -> Result<Self> {
        Self::connect(&Database::Sqlite(path.to_owned()), keys).await
    }

    /// Opens the database `database` (a SQLite file is created if needed)
    /// and migrates it, as [`Store::open_with_keys`].
    pub async fn connect(database: &Database, keys: KeyRing) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let pool = match database {
            Database::Sqlite(path) => {
                // An absolute path: in a URL, the first part of a relative
                // one would read as a host name.
                let path =
                    std::path::absolute(path).map_err(|e| StoreError::Open(sqlx::Error::Io(e)))?;
                let url = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .to_url_lossy();
                AnyPoolOptions::new()
                    .max_connections(8)
                    // NORMAL: an acknowledged write survives a crash of the
                    // process (kill -9); a crash of the machine can lose the
                    // last ones (see the crate's documentation).
                    .after_connect(|conn, _| {
                        Box::pin(async move { conn.execute(SQLITE_PRAGMAS).await.map(drop) })
                    })
                    .connect(url.as_str())
                    .await
                    .map_err(StoreError::Open)?
            }
            Database::Postgres(url) => AnyPoolOptions::new()
                .max_connections(8)
                .connect(url.expose_secret())
                .await
                .map_err(StoreError::Open)?,
        };
        let store = Self::migrate(pool, database.backend(), keys).await?;
        store.check_key().await?;
        Ok(store)
    }

    /// A private in-memory SQLite database, for tests.
    pub async fn in_memory() -> Result<Self> {
        sqlx::any::install_default_drivers();
        // One connection that never closes: each in-memory connection is its own database.
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .after_connect(|conn, _| {
                Box::pin(async move { conn.execute("PRAGMA foreign_keys = ON").await.map(drop) })
            })
            .connect("sqlite::memory:")
            .await
            .map_err(StoreError::Open)?;
        let store = Self::migrate(
            pool,
            Backend::Sqlite,
            KeyRing::new(EncryptionKey::generate()?, vec![]),
        )
        .await?;
        store.check_key().await?;
        Ok(store)
    }

    async fn migrate(pool: AnyPool, backend: Backend, keys: KeyRing) -> Result<Self> {
        // Processes that start together on a new database migrate one after
        // the other. PostgreSQL: the migrator holds an advisory lock while it
        // works. SQLite: its migrator takes no lock, so it runs inside a
        // transaction that holds the write lock (each migration's own
        // transaction is a savepoint in it); the next process waits for it,
        // then finds every migration applied.
        match backend {
            Backend::Postgres => migrator(backend)
                .run(&pool)
                .await
                .map_err(StoreError::Migrate)?,
            Backend::Sqlite => {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(q)?;
                migrator(backend)
                    .run(&mut *tx)
                    .await
                    .map_err(StoreError::Migrate)?;
                tx.commit().await.map_err(q)?;
            }
        }
        let installation: String =
            sqlx::query_scalar("SELECT installation_id FROM installation WHERE id = 1")
                .fetch_one(&pool)
                .await
                .map_err(q)?;
        Ok(Self {
            pool,
            backend,
            key: std::sync::Arc::new(keys),
            installation: installation.into(),
        })
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// This installation's id: made once, when the database was created
    /// (or first migrated), and the same for every process on it. HKS
    /// labels everything it creates in tenants' clusters with it
    /// (`hks.dev/installation`) and watches and lists only what carries it,
    /// so installations that share a cluster keep apart.
    pub fn installation(&self) -> &str {
        &self.installation
    }

    /// A transaction that will write: the only one at a time on the
    /// database, across processes (see the crate's documentation). SQLite:
    /// `BEGIN IMMEDIATE` takes the write lock at its start (waiting up to
    /// the busy timeout for it), so what it reads cannot change before it
    /// writes and it never has to upgrade a read to a write, which SQLite
    /// refuses with SQLITE_BUSY without waiting. PostgreSQL: the store's
    /// advisory lock, held until the transaction ends, in READ COMMITTED,
    /// so every later statement sees what the lock's previous holders
    /// committed.
    pub(crate) async fn write_tx(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(q),
            Backend::Postgres => {
                let mut tx = self
                    .pool
                    .begin_with("BEGIN ISOLATION LEVEL READ COMMITTED")
                    .await
                    .map_err(q)?;
                sqlx::query(&format!(
                    "SET LOCAL lock_timeout = '{}ms'",
                    WRITE_LOCK_WAIT.as_millis()
                ))
                .execute(&mut *tx)
                .await
                .map_err(q)?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(WRITE_LOCK)
                    .execute(&mut *tx)
                    .await
                    .map_err(q)?;
                Ok(tx)
            }
        }
    }

    /// ` FOR UPDATE` where the database has row locks (PostgreSQL), for a
    /// read in a [`Store::write_tx`] that a single-statement write must not
    /// slip past; nothing on SQLite, whose write lock covers it.
    pub(crate) fn for_update(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(q)
            .map(|_| ())
    }

    /// Closes the database: waits for the statements running, then every
    /// later call (and [`Store::ping`]) fails. `hks serve` calls it last, so
    /// the WAL is checkpointed into the file at a clean stop (SQLite).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    // ---- tenants ----

    pub async fn create_tenant(&self, name: &str, cluster: &ClusterConnection) -> Result<Tenant> {
        let id = crypto::random_id(4)?;
        let sealed = self
            .key
            .seal(&id, cluster.to_stored().to_string().as_bytes())?;
        let now = Timestamp::now();
        sqlx::query("INSERT INTO tenants (id, name, cluster, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&id)
            .bind(name)
            .bind(sealed)
            .bind(now.to_string())
            .execute(&self.pool)
            .await
            .map_err(conflict_or_query("tenant", name))?;
        Ok(Tenant {
            id,
            name: name.into(),
            cluster: cluster.summary(),
            created_at: now,
        })
    }

    pub(crate) fn tenant_row(&self, row: &AnyRow) -> Result<(Tenant, ClusterConnection)> {
        let id: String = row.try_get("id").map_err(q)?;
        let sealed: Vec<u8> = row.try_get("cluster").map_err(q)?;
        let plain = self.key.open(&id, &sealed)?;
        let cluster: ClusterConnection =
            serde_json::from_slice(&plain).map_err(StoreError::Corrupt)?;
        let tenant = Tenant {
            id,
            name: row.try_get("name").map_err(q)?,
            cluster: cluster.summary(),
            created_at: ts(row, "created_at")?,
        };
        Ok((tenant, cluster))
    }

    pub async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        let rows = sqlx::query("SELECT * FROM tenants ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(q)?;
        rows.iter()
            .map(|r| self.tenant_row(r).map(|(t, _)| t))
            .collect()
    }

    pub async fn tenant_by_name(&self, name: &str) -> Result<Tenant> {
        let row = sqlx::query("SELECT * FROM tenants WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(q)?;
        self.tenant_row(&row.ok_or(StoreError::NotFound)?)
            .map(|(t, _)| t)
    }

    /// A tenant with its decrypted cluster connection.
    pub async fn tenant_with_cluster(
        &self,
        tenant_id: &str,
    ) -> Result<(Tenant, ClusterConnection)> {
        let row = sqlx::query("SELECT * FROM tenants WHERE id = $1")
            .bind(tenant_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(q)?;
        self.tenant_row(&row.ok_or(StoreError::NotFound)?)
    }

    // ---- tokens ----

    /// Creates a token; the returned secret is shown once and never stored.
    pub async fn create_token(
        &self,
        tenant_id: &str,
        name: &str,
    ) -> Result<(TokenInfo, SecretString)> {
        let secret = new_token()?;
        let id = crypto::random_id(8)?;
        let now = Timestamp::now();
        sqlx::query(
            "INSERT INTO tokens (id, tenant_id, name, hash, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(tenant_id)
        .bind(name)
        .bind(token_hash(secret.expose_secret()))
        .bind(now.to_string())
        .execute(&self.pool)
        .await
        .map_err(conflict_or_query("token", name))?;
        Ok((
            TokenInfo {
                id,
                tenant_id: tenant_id.into(),
                name: name.into(),
                created_at: now,
            },
            secret,
        ))
    }

    pub async fn list_tokens(&self, tenant_id: &str) -> Result<Vec<TokenInfo>> {
        let rows = sqlx::query(
            "SELECT id, tenant_id, name, created_at FROM tokens WHERE tenant_id = $1 ORDER BY name",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await
        .map_err(q)?;
        rows.iter()
            .map(|r| {
                Ok(TokenInfo {
                    id: r.try_get("id").map_err(q)?,
                    tenant_id: r.try_get("tenant_id").map_err(q)?,
                    name: r.try_get("name").map_err(q)?,
                    created_at: ts(r, "created_at")?,
                })
            })
            .collect()
    }

    pub async fn delete_token(&self, tenant_id: &str, name: &str) -> Result<()> {
        let r = sqlx::query("DELETE FROM tokens WHERE tenant_id = $1 AND name = $2")
            .bind(tenant_id)
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(q)?;
        if r.rows_affected() == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    /// The owner of a tenant token, if it is one.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Principal>> {
        self.authenticate_hash(&token_hash(token)).await
    }

    /// The principal of the token whose hash ([`token_hash`]) is `hash`,
    /// while the token exists: to check again, later, a token that was
    /// valid, without keeping the token itself.
    pub async fn authenticate_hash(&self, hash: &str) -> Result<Option<Principal>> {
        let row = sqlx::query(
            "SELECT tokens.name AS token_name, tenants.id AS tenant_id, tenants.name AS tenant_name \
             FROM tokens JOIN tenants ON tenants.id = tokens.tenant_id WHERE tokens.hash = $1",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(q)?;
        row.map(|r| {
            Ok(Principal {
                tenant_id: r.try_get("tenant_id").map_err(q)?,
                tenant_name: r.try_get("tenant_name").map_err(q)?,
                token_name: r.try_get("token_name").map_err(q)?,
            })
        })
        .transpose()
    }

    // ---- projects ----

    pub async fn create_project(&self, tenant_id: &str, name: &str) -> Result<Project> {
        let id = crypto::random_id(8)?;
        let namespace = project_namespace(tenant_id, name);
        let now = Timestamp::now();
        sqlx::query("INSERT INTO projects (id, tenant_id, name, namespace, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&id)
            .bind(tenant_id)
            .bind(name)
            .bind(&namespace)
            .bind(now.to_string())
            .execute(&self.pool)
            .await
            .map_err(conflict_or_query("project", name))?;
        Ok(Project {
            id,
            tenant_id: tenant_id.into(),
            name: name.into(),
            namespace,
            created_at: now,
        })
    }

    fn project_row(r: &AnyRow) -> Result<Project> {
        Ok(Project {
            id: r.try_get("id").map_err(q)?,
            tenant_id: r.try_get("tenant_id").map_err(q)?,
            name: r.try_get("name").map_err(q)?,
            namespace: r.try_get("namespace").map_err(q)?,
            created_at: ts(r, "created_at")?,
        })
    }

    pub async fn list_projects(&self, tenant_id: &str) -> Result<Vec<Project>> {
        let rows = sqlx::query("SELECT * FROM projects WHERE tenant_id = $1 ORDER BY name")
            .bind(tenant_id)
            .fetch_all(&self.pool)
            .await
            .map_err(q)?;
        rows.iter().map(Self::project_row).collect()
    }

    /// A project of a tenant; another tenant's project is [`StoreError::NotFound`].
    pub async fn project(&self, tenant_id: &str, name: &str) -> Result<Project> {
        let row = sqlx::query("SELECT * FROM projects WHERE tenant_id = $1 AND name = $2")
            .bind(tenant_id)
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(q)?;
        Self::project_row(&row.ok_or(StoreError::NotFound)?)
    }

    pub async fn delete_project(&self, project_id: &str) -> Result<()> {
        let r = sqlx::query("DELETE FROM projects WHERE id = $1")
            .bind(project_id)
            .execute(&self.pool)
            .await
            .map_err(q)?;
        if r.rows_affected() == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    // ---- applications ----

    fn application_row(r: &AnyRow) -> Result<Application> {
        let kind: String = r.try_get("type").map_err(q)?;
        let spec: String = r.try_get("spec").map_err(q)?;
        let spec = serde_json::from_value(serde_json::json!({
            "type": kind,
            "spec": serde_json::from_str::<serde_json::Value>(&spec).map_err(StoreError::Corrupt)?,
        }))
        .map_err(StoreError::Corrupt)?;
        Ok(Application {
            id: r.try_get("id").map_err(q)?,
            project_id: r.try_get("project_id").map_err(q)?,
            name: r.try_get("name").map_err(q)?,
            spec,
            generation: r.try_get("generation").map_err(q)?,
            created_at: ts(r, "created_at")?,
            updated_at: ts(r, "updated_at")?,
        })
    }

    fn split(spec: &ApplicationSpec) -> Result<(&'static str, String, Option<String>)> {
        let (body, template) = match spec {
            ApplicationSpec::Stateless(s) => (serde_json::to_string(s), None),
            ApplicationSpec::Cronjob(c) => (
                serde_json::to_string(c),
                // The application a CronJob is made from: its template, or
                // the Function it calls (names are unique in a project).
                c.template
                    .as_ref()
                    .map(|t| t.application.to_string())
                    .or_else(|| c.function.as_ref().map(|f| f.name.to_string())),
            ),
            ApplicationSpec::Function(f) => (serde_json::to_string(f), None),
        };
        Ok((
            spec.kind().as_str(),
            body.map_err(StoreError::Corrupt)?,
            template,
        ))
    }

    pub async fn create_application(
        &self,
        project_id: &str,
        name: &str,
        spec: &ApplicationSpec,
    ) -> Result<Application> {
        let id = crypto::random_id(8)?;
        let now = Timestamp::now();
        let (kind, body, template) = Self::split(spec)?;
        sqlx::query(
            "INSERT INTO applications (id, project_id, name, type, spec, template, generation, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8)",
        )
        .bind(&id)
        .bind(project_id)
        .bind(name)
        .bind(kind)
        .bind(body)
        .bind(template)
        .bind(now.to_string())
        .bind(now.to_string())
        .execute(&self.pool)
        .await
        .map_err(conflict_or_query("application", name))?;
        Ok(Application {
            id,
            project_id: project_id.into(),
            name: name.into(),
            spec: spec.clone(),
            generation: 1,
            created_at: now,
            updated_at: now,
        })
    }

    /// Replaces an application's spec (its type cannot change).
    pub async fn update_application(
        &self,
        project_id: &str,
        name: &str,
        spec: &ApplicationSpec,
    ) -> Result<Application> {
        let (kind, body, template) = Self::split(spec)?;
        let now = Timestamp::now();
        let r = sqlx::query(
            "UPDATE applications SET spec = $1, template = $2, generation = generation + 1, updated_at = $3 \
             WHERE project_id = $4 AND name = $5 AND type = $6",
        )
        .bind(body)
        .bind(template)
        .bind(now.to_string())
        .bind(project_id)
        .bind(name)
        .bind(kind)
        .execute(&self.pool)
        .await
        .map_err(q)?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.application(project_id, name).await
    }

    pub async fn application(&self, project_id: &str, name: &str) -> Result<Application> {
        let row = sqlx::query("SELECT * FROM applications WHERE project_id = $1 AND name = $2")
            .bind(project_id)
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(q)?;
        Self::application_row(&row.ok_or(StoreError::NotFound)?)
    }

    pub async fn list_applications(
        &self,
        project_id: &str,
        kind: Option<ApplicationType>,
    ) -> Result<Vec<Application>> {
        let rows = sqlx::query("SELECT * FROM applications WHERE project_id = $1 AND ($2 IS NULL OR type = $3) ORDER BY name")
            .bind(project_id)
            .bind(kind.map(ApplicationType::as_str))
            .bind(kind.map(ApplicationType::as_str))
            .fetch_all(&self.pool)
            .await
            .map_err(q)?;
        rows.iter().map(Self::application_row).collect()
    }

    /// CronJobs that refer to the application `name`: made from it (a
    /// Stateless template, in either mode) or calling it (a Function).
    pub async fn cronjobs_referring_to(
        &self,
        project_id: &str,
        name: &str,
    ) -> Result<Vec<Application>> {
        let rows = sqlx::query("SELECT * FROM applications WHERE project_id = $1 AND type = 'cronjob' AND template = $2 ORDER BY name")
            .bind(project_id)
            .bind(name)
            .fetch_all(&self.pool)
            .await
            .map_err(q)?;
        rows.iter().map(Self::application_row).collect()
    }

    pub async fn delete_application(&self, project_id: &str, name: &str) -> Result<()> {
        let r = sqlx::query("DELETE FROM applications WHERE project_id = $1 AND name = $2")
            .bind(project_id)
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(q)?;
        if r.rows_affected() == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }
}

/// What the store's tests share: every test that touches the database runs
/// on both backends ([`backends!`]), each on a database of its own.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// A test's database: a SQLite file in a new directory, or a fresh
    /// database on a throwaway PostgreSQL server.
    pub(crate) enum TestDb {
        Sqlite {
            dir: PathBuf,
        },
        Postgres {
            url: String,
            /// The server, when the test has one of its own (to read its
            /// files); else the test binary's shared one.
            own: Option<hks_testkit::postgres::Server>,
        },
    }

    impl TestDb {
        /// `None` after a visible skip (PostgreSQL missing, not required).
        pub(crate) fn new(backend: Backend) -> Option<Self> {
            Some(match backend {
                Backend::Sqlite => {
                    let dir = std::env::temp_dir()
                        .join(format!("hks-store-test-{}", crypto::random_id(6).unwrap()));
                    std::fs::create_dir_all(&dir).unwrap();
                    Self::Sqlite { dir }
                }
                Backend::Postgres => Self::Postgres {
                    url: hks_testkit::postgres::database()?.url(),
                    own: None,
                },
            })
        }

        /// Like [`TestDb::new`], on a PostgreSQL server of the test's own.
        pub(crate) fn with_own_server(backend: Backend) -> Option<Self> {
            match backend {
                Backend::Sqlite => Self::new(backend),
                Backend::Postgres => {
                    let server = hks_testkit::postgres::Server::start()?;
                    let name = server.create_database();
                    Some(Self::Postgres {
                        url: server.url(&name),
                        own: Some(server),
                    })
                }
            }
        }

        pub(crate) fn database(&self) -> Database {
            match self {
                Self::Sqlite { dir } => Database::Sqlite(dir.join("hks.db")),
                Self::Postgres { url, .. } => Database::Postgres(url.clone().into()),
            }
        }

        /// A new store of the test's own, under a new key: SQLite in memory
        /// (as every test had before there were two backends), PostgreSQL
        /// on the test's database.
        pub(crate) async fn store(&self) -> Store {
            match self {
                Self::Sqlite { .. } => Store::in_memory().await.unwrap(),
                Self::Postgres { .. } => self
                    .open_with(KeyRing::new(EncryptionKey::generate().unwrap(), vec![]))
                    .await
                    .unwrap(),
            }
        }

        /// Opens the test's database (a file on SQLite) with `keys`.
        pub(crate) async fn open_with(&self, keys: KeyRing) -> Result<Store> {
            Store::connect(&self.database(), keys).await
        }

        /// Opens the test's database with `key`.
        pub(crate) async fn open(&self, key: EncryptionKey) -> Result<Store> {
            self.open_with(KeyRing::new(key, vec![])).await
        }

        /// The directory of the database's files as they are on disk: the
        /// SQLite file's, or the PostgreSQL server's data directory (a
        /// server of the test's own, [`TestDb::with_own_server`]).
        pub(crate) fn files(&self) -> PathBuf {
            match self {
                Self::Sqlite { dir } => dir.clone(),
                Self::Postgres { own, .. } => own
                    .as_ref()
                    .expect("a test that reads PostgreSQL's files has a server of its own")
                    .data_dir(),
            }
        }
    }

    impl Drop for TestDb {
        fn drop(&mut self) {
            if let Self::Sqlite { dir } = self {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }

    /// Runs a test on both backends: `async fn name(db: TestDb) { ... }`
    /// becomes the module `name` with the tests `sqlite` and `postgres`.
    macro_rules! backends {
        ($(#[$attr:meta])* async fn $name:ident($db:ident) $body:block) => {
            $crate::testing::backends!(new; $(#[$attr])* async fn $name($db) $body);
        };
        // A server of the test's own on PostgreSQL.
        (own_server; $(#[$attr:meta])* async fn $name:ident($db:ident) $body:block) => {
            $crate::testing::backends!(with_own_server; $(#[$attr])* async fn $name($db) $body);
        };
        ($make:ident; $(#[$attr:meta])* async fn $name:ident($db:ident) $body:block) => {
            $(#[$attr])*
            mod $name {
                use super::*;
                #[allow(unused_imports)]
                use $crate::testing::TestDb;

                async fn body($db: TestDb) $body

                #[tokio::test]
                async fn sqlite() {
                    body(TestDb::$make($crate::Backend::Sqlite).unwrap()).await;
                }

                #[tokio::test]
                async fn postgres() {
                    if let Some(db) = TestDb::$make($crate::Backend::Postgres) {
                        body(db).await;
                    }
                }
            }
        };
    }
    pub(crate) use backends;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::backends;

    fn kubeconfig() -> ClusterConnection {
        serde_json::from_value(serde_json::json!({"kind": "kubeconfig", "kubeconfig": "apiVersion: v1\nkind: Config\n"})).unwrap()
    }

    /// A new directory for a database file, and that file's path.
    fn temp_database() -> (std::path::PathBuf, std::path::PathBuf) {
        let dir =
            std::env::temp_dir().join(format!("hks-store-test-{}", crypto::random_id(6).unwrap()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hks.db");
        (dir, path)
    }

    backends! {
    async fn tenants_tokens_projects_applications(db) {
        let s = db.store().await;
        let t = s.create_tenant("acme", &kubeconfig()).await.unwrap();
        assert_eq!(t.id.len(), 8);
        assert!(matches!(
            s.create_tenant("acme", &kubeconfig()).await,
            Err(StoreError::Conflict { .. })
        ));
        let (_, cluster) = s.tenant_with_cluster(&t.id).await.unwrap();
        assert!(matches!(cluster, ClusterConnection::Kubeconfig { .. }));

        let (info, secret) = s.create_token(&t.id, "ci").await.unwrap();
        assert_eq!(info.name, "ci");
        let who = s
            .authenticate(secret.expose_secret())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(who.tenant_name, "acme");
        assert!(s.authenticate("hks_wrong").await.unwrap().is_none());

        let p = s.create_project(&t.id, "shop").await.unwrap();
        assert_eq!(p.namespace, format!("hks-{}-shop", t.id));
        let spec: ApplicationSpec = serde_json::from_value(
            serde_json::json!({"type": "stateless", "spec": {"image": "nginx:1"}}),
        )
        .unwrap();
        s.create_application(&p.id, "web", &spec).await.unwrap();
        let cron: ApplicationSpec = serde_json::from_value(serde_json::json!({
            "type": "cronjob", "spec": {"schedule": "@daily", "template": {"application": "web", "mode": "follow"}}
        }))
        .unwrap();
        s.create_application(&p.id, "report", &cron).await.unwrap();
        assert!(matches!(
            s.create_application(&p.id, "web", &spec).await,
            Err(StoreError::Conflict { .. })
        ));
        assert_eq!(
            s.cronjobs_referring_to(&p.id, "web").await.unwrap().len(),
            1
        );
        assert_eq!(
            s.list_applications(&p.id, Some(ApplicationType::Stateless))
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(s.list_applications(&p.id, None).await.unwrap().len(), 2);
        let updated = s.update_application(&p.id, "report", &cron).await.unwrap();
        assert_eq!(updated.generation, 2);
        assert_eq!(updated.spec, cron);
        // The type of an application cannot change.
        assert!(matches!(
            s.update_application(&p.id, "report", &spec).await,
            Err(StoreError::NotFound)
        ));

        // Deleting the tenant removes everything it owns.
        s.delete_tenant(&t.id).await.unwrap();
        assert!(
            s.authenticate(secret.expose_secret())
                .await
                .unwrap()
                .is_none()
        );
        assert!(s.list_applications(&p.id, None).await.unwrap().is_empty());
    }}

    backends! {
    /// The installation's id is made once: a valid label value, the same
    /// every time the database is opened, another for another database.
    async fn the_installation_id_is_made_once_per_database(db) {
        let key = EncryptionKey::generate().unwrap().to_base64();
        let key = || EncryptionKey::from_base64(key.expose_secret()).unwrap();
        let first = db.open(key()).await.unwrap();
        let id = first.installation().to_owned();
        assert_eq!(id.len(), 12, "{id}");
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            "{id}"
        );
        // Another process on the same file (a replica, a restart) has the same.
        let second = db.open(key()).await.unwrap();
        assert_eq!(second.installation(), id);
        first.close().await;
        second.close().await;
        assert_eq!(db.open(key()).await.unwrap().installation(), id);
        let other = TestDb::new(first.backend()).unwrap();
        let other = other.store().await;
        assert_ne!(other.installation(), id);
    }}

    backends! {
    async fn data_survives_reopening_the_file(db) {
        let key = EncryptionKey::generate().unwrap();
        let key_text = key.to_base64();
        {
            let s = db.open(key).await.unwrap();
            let t = s.create_tenant("acme", &kubeconfig()).await.unwrap();
            s.create_project(&t.id, "shop").await.unwrap();
        }
        let s = db.open(
            EncryptionKey::from_base64(key_text.expose_secret()).unwrap(),
        )
        .await
        .unwrap();
        let t = s.tenant_by_name("acme").await.unwrap();
        assert_eq!(s.list_projects(&t.id).await.unwrap().len(), 1);
        s.tenant_with_cluster(&t.id).await.unwrap();
        // Another key cannot open the database at all: starting with it
        // would leave every stored credential unreadable.
        assert!(matches!(
            db.open(EncryptionKey::generate().unwrap()).await,
            Err(StoreError::WrongKey)
        ));
    }}

    /// Every file of the database (the WAL too), as bytes: under `dir`
    /// and its subdirectories (PostgreSQL's data directory).
    fn database_bytes(dir: &Path) -> Vec<u8> {
        let mut all = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                all.extend(database_bytes(&path));
                continue;
            }
            // SQLite may remove its WAL or shared-memory file in between.
            match std::fs::read(path) {
                Ok(bytes) => all.extend(bytes),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => panic!("{e}"),
            }
        }
        all
    }

    /// Writes what PostgreSQL keeps in memory to the data files (SQLite's
    /// are written at close).
    async fn flush(s: &Store) {
        if s.backend() == Backend::Postgres {
            sqlx::query("CHECKPOINT").execute(&s.pool).await.unwrap();
        }
    }

    fn contains(haystack: &[u8], needle: &str) -> bool {
        // By the first byte's places: PostgreSQL's files are tens of
        // megabytes, in an unoptimised test build.
        let needle = needle.as_bytes();
        let mut rest = haystack;
        while let Some(i) = rest.iter().position(|&b| b == needle[0]) {
            if rest[i..].starts_with(needle) {
                return true;
            }
            rest = &rest[i + 1..];
        }
        false
    }

    const HOOK: &str = "https://hooks.example.com/services/T0K3N-IN-THE-PATH?sig=Q5ecret";

    backends! {own_server;
    /// Webhook URLs are often credentials: neither the settings' nor a
    /// delivery's copy is in the database file in clear.
    async fn webhook_urls_are_sealed_at_rest(db) {
        let s = db.open(EncryptionKey::generate().unwrap())
            .await
            .unwrap();
        let t = s.create_tenant("acme", &kubeconfig()).await.unwrap();
        let p = s.create_project(&t.id, "shop").await.unwrap();
        let saved = s
            .put_alert_settings(
                &p.id,
                None,
                &Default::default(),
                Some(&DestinationUpdate::Webhook(WebhookUpdate {
                    url: Some(HOOK.into()),
                    secret: Some("0123456789abcdef".to_owned().into()),
                    ..Default::default()
                })),
            )
            .await
            .unwrap();
        let webhook = saved.destination.unwrap();
        assert_eq!(webhook.url(), Some(HOOK));
        let alert = hks_history::alerts::Alert {
            key: "failed:r-1".into(),
            kind: hks_history::alerts::AlertKind::Failed,
            subject: "r-1".into(),
            summary: "Run r-1 failed".into(),
        };
        s.raise_alert(&p.id, "report", &alert, Timestamp::now(), Some(&webhook))
            .await
            .unwrap();
        let now = Timestamp::now();
        let jobs = s.claim_due_deliveries(now, now, 10).await.unwrap();
        assert_eq!(jobs[0].destination.url(), Some(HOOK));
        assert!(!format!("{jobs:?}{webhook:?}").contains("T0K3N"));
        flush(&s).await;
        s.close().await;
        let bytes = database_bytes(&db.files());
        assert!(contains(&bytes, "r-1"), "the test reads the right files");
        for secret in ["T0K3N-IN-THE-PATH", "Q5ecret", "hooks.example.com"] {
            assert!(!contains(&bytes, secret), "{secret} is stored in clear");
        }
    }}

    /// A database from before URLs were sealed: opening it seals them, and
    /// they still read the same.
    /// SQLite only: databases from before URLs were sealed exist only
    /// there (PostgreSQL came later).
    #[tokio::test]
    async fn opening_seals_the_urls_stored_in_clear_before() {
        let (dir, path) = temp_database();
        let key = EncryptionKey::generate().unwrap().to_base64();
        let key = || EncryptionKey::from_base64(key.expose_secret()).unwrap();
        // Written by HKS as it was then: migrations 1 to 4, URLs in clear.
        let (project, cronjob_secret) = {
            let s = Store::open(&path, key()).await.unwrap();
            let t = s.create_tenant("acme", &kubeconfig()).await.unwrap();
            let p = s.create_project(&t.id, "shop").await.unwrap();
            let secret = s
                .key
                .seal(
                    &alerts::settings_context(&p.id, "report"),
                    b"0123456789abcdef",
                )
                .unwrap();
            let delivery_secret = s
                .key
                .seal(&alerts::delivery_context("d1"), b"0123456789abcdef")
                .unwrap();
            s.close().await;
            let pool = sqlx::SqlitePool::connect_with(SqliteConnectOptions::new().filename(&path))
                .await
                .unwrap();
            for sql in [
                "DROP TABLE alert_settings",
                "DROP TABLE deliveries",
                "DROP TABLE unsealed_webhook_urls",
                "DROP TRIGGER applications_delete_alerts",
                "DELETE FROM _sqlx_migrations WHERE version = 5",
                // Migrations 9 and 10 change the tables rebuilt here: they
                // run again after 5, as they did on the database of then.
                "DELETE FROM _sqlx_migrations WHERE version = 9",
                "DELETE FROM _sqlx_migrations WHERE version = 10",
            ] {
                sqlx::query(sql).execute(&pool).await.unwrap();
            }
            let sql = include_str!("../migrations/sqlite/0003_alerts.sql");
            let tables = &sql[sql.find("CREATE TABLE alert_settings").unwrap()..];
            sqlx::raw_sql(
                tables
                    .replace("CREATE TABLE alerts", "CREATE TABLE IF NOT EXISTS alerts")
                    .replace(
                        "CREATE INDEX alerts_by_cronjob",
                        "CREATE INDEX IF NOT EXISTS alerts_by_cronjob",
                    )
                    .as_str(),
            )
            .execute(&pool)
            .await
            .unwrap();
            sqlx::query("INSERT INTO alert_settings (project_id, cronjob, rules, webhook_url, webhook_secret, updated_at) VALUES ($1, 'report', '{}', $2, $3, '2025-01-01T00:00:00Z')")
                .bind(&p.id)
                .bind(HOOK)
                .bind(&secret)
                .execute(&pool)
                .await
                .unwrap();
            sqlx::query("INSERT INTO alerts (id, project_id, cronjob, key, kind, subject, summary, raised_at) VALUES ('a1', $1, 'report', 'failed:r-1', 'failed', 'r-1', 'Run r-1 failed', '2025-01-01T00:00:00Z')")
                .bind(&p.id)
                .execute(&pool)
                .await
                .unwrap();
            sqlx::query("INSERT INTO deliveries (id, alert_id, url, secret, state, attempts, next_attempt_at) VALUES ('d1', 'a1', $1, $2, 'pending', 0, 0)")
                .bind(HOOK)
                .bind(&delivery_secret)
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
            (p, secret)
        };
        assert!(contains(&database_bytes(&dir), "T0K3N"));
        let s = Store::open(&path, key()).await.unwrap();
        let settings = s
            .alert_settings(&project.id, Some("report"))
            .await
            .unwrap()
            .unwrap();
        let webhook = settings.webhook().unwrap();
        assert_eq!(webhook.url, HOOK);
        assert_eq!(webhook.secret.expose_secret(), "0123456789abcdef");
        let jobs = s
            .claim_due_deliveries(Timestamp::now(), Timestamp::now(), 10)
            .await
            .unwrap();
        assert_eq!(
            (jobs[0].id.as_str(), jobs[0].destination.url()),
            ("d1", Some(HOOK))
        );
        s.close().await;
        drop(cronjob_secret);
        // Sealed once: opening again reads them the same.
        let s = Store::open(&path, key()).await.unwrap();
        let settings = s
            .alert_settings(&project.id, Some("report"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(settings.webhook().unwrap().url, HOOK);
        s.close().await;
        // Gone from the file, the WAL checkpointed at close.
        let bytes = database_bytes(&dir);
        assert!(!contains(&bytes, "T0K3N"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    backends! {
    async fn a_rotation_reseals_everything_with_the_new_key(db) {
        let old = EncryptionKey::generate().unwrap().to_base64();
        let new = EncryptionKey::generate().unwrap().to_base64();
        let key = |k: &SecretString| EncryptionKey::from_base64(k.expose_secret()).unwrap();
        let tenant = {
            let s = db.open(key(&old)).await.unwrap();
            let t = s.create_tenant("acme", &kubeconfig()).await.unwrap();
            let p = s.create_project(&t.id, "shop").await.unwrap();
            s.put_alert_settings(
                &p.id,
                None,
                &Default::default(),
                Some(&DestinationUpdate::Webhook(WebhookUpdate {
                    url: Some("https://hooks.example/x".into()),
                    secret: Some("whsec".to_owned().into()),
                    ..Default::default()
                })),
            )
            .await
            .unwrap();
            s.put_alert_settings(
                &p.id,
                Some("report"),
                &Default::default(),
                Some(&DestinationUpdate::Email {
                    to: vec!["ops@example.com".into()],
                }),
            )
            .await
            .unwrap();
            t
        };
        // The new key alone is refused: it is not the database's.
        assert!(matches!(
            db.open(key(&new)).await,
            Err(StoreError::WrongKey)
        ));
        // The new key with the old one as previous: everything is re-sealed.
        {
            let keys = KeyRing::new(key(&new), vec![key(&old)]);
            let s = db.open_with(keys).await.unwrap();
            s.tenant_with_cluster(&tenant.id).await.unwrap();
        }
        // From then on the new key alone opens it, and reads every secret;
        // the old one no longer does.
        let s = db.open(key(&new)).await.unwrap();
        s.tenant_with_cluster(&tenant.id).await.unwrap();
        let p = s.project(&tenant.id, "shop").await.unwrap();
        let settings = s.alert_settings(&p.id, None).await.unwrap().unwrap();
        assert_eq!(settings.webhook().unwrap().secret.expose_secret(), "whsec");
        let own = s.alert_settings(&p.id, Some("report")).await.unwrap();
        assert_eq!(
            own.and_then(|o| o.destination),
            Some(Destination::Email {
                to: vec!["ops@example.com".into()]
            })
        );
        drop(s);
        assert!(matches!(
            db.open(key(&old)).await,
            Err(StoreError::WrongKey)
        ));
    }}
}
