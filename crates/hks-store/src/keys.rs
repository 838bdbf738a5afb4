//! The installation's encryption key and the database: a database opens
//! only under the key it was written with, and a rotation re-seals
//! everything sealed with the new key.

use sqlx::Row;

use crate::alerts::{
    delivery_context, delivery_destination_context, delivery_url_context, settings_context,
    settings_destination_context, settings_url_context,
};
use crate::retirements::retirement_context;
use crate::{Backend, Result, Store, StoreError, q};

/// The context and plain text of the key check.
const CHECK_CONTEXT: &str = "key-check";
const CHECK_PLAIN: &[u8] = b"hks";

/// A column of sealed values: its table, its name, the columns that make
/// the context each value is bound to, and how.
struct SealedColumn {
    table: &'static str,
    column: &'static str,
    keys: &'static [&'static str],
    context: fn(&[String]) -> String,
}

/// Every sealed value the store keeps, but the key check.
const SEALED: &[SealedColumn] = &[
    SealedColumn {
        table: "tenants",
        column: "cluster",
        keys: &["id"],
        context: |k| k[0].clone(),
    },
    SealedColumn {
        table: "alert_settings",
        column: "webhook_secret",
        keys: &["project_id", "cronjob"],
        context: |k| settings_context(&k[0], &k[1]),
    },
    SealedColumn {
        table: "alert_settings",
        column: "webhook_url",
        keys: &["project_id", "cronjob"],
        context: |k| settings_url_context(&k[0], &k[1]),
    },
    SealedColumn {
        table: "deliveries",
        column: "secret",
        keys: &["id"],
        context: |k| delivery_context(&k[0]),
    },
    SealedColumn {
        table: "cluster_retirements",
        column: "connection",
        keys: &["id"],
        context: |k| retirement_context(&k[0]),
    },
    SealedColumn {
        table: "deliveries",
        column: "url",
        keys: &["id"],
        context: |k| delivery_url_context(&k[0]),
    },
    SealedColumn {
        table: "alert_settings",
        column: "destination",
        keys: &["project_id", "cronjob"],
        context: |k| settings_destination_context(&k[0], &k[1]),
    },
    SealedColumn {
        table: "deliveries",
        column: "destination",
        keys: &["id"],
        context: |k| delivery_destination_context(&k[0]),
    },
];

/// The webhook URLs that migration 5 found stored in clear, by the table
/// they are in: the keys (as `k1`, `k2`) that name their row in
/// `unsealed_webhook_urls`, and their column.
const UNSEALED_URLS: &[(&str, &str, &str)] = &[
    (
        "alert_settings",
        "t.project_id = k1 AND t.cronjob = k2",
        "webhook_url",
    ),
    ("deliveries", "t.id = k1", "url"),
];

/// Replaces one sealed value, its row named by the column's keys (unique
/// in every table listed; PostgreSQL has no `rowid`).
async fn update_sealed(
    conn: &mut sqlx::AnyConnection,
    c: &SealedColumn,
    sealed: Vec<u8>,
    keys: &[String],
) -> Result<()> {
    let by = c
        .keys
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{k} = ${}", i + 2))
        .collect::<Vec<_>>()
        .join(" AND ");
    let sql = format!("UPDATE {} SET {} = $1 WHERE {by}", c.table, c.column);
    let mut query = sqlx::query(&sql).bind(sealed);
    for k in keys {
        query = query.bind(k.as_str());
    }
    query.execute(conn).await.map_err(q)?;
    Ok(())
}

impl Store {
    /// Fails with [`StoreError::WrongKey`] when the database was written
    /// with another key; records the check on the first open. With previous
    /// keys (a rotation), re-seals everything with the current key.
    pub(crate) async fn check_key(&self) -> Result<()> {
        let check: Option<Vec<u8>> = sqlx::query_scalar("SELECT sealed FROM key_check")
            .fetch_optional(&self.pool)
            .await
            .map_err(q)?;
        match check {
            Some(sealed) => {
                let (_, current) = self
                    .key
                    .open_which(CHECK_CONTEXT, &sealed)
                    .map_err(|_| StoreError::WrongKey)?;
                // Only under the database's own key, checked just now.
                self.seal_plain_urls().await?;
                if !current || self.key.has_previous() {
                    self.reseal().await?;
                }
            }
            None => {
                // A database from before the check: its credentials say
                // which key it was written with.
                let first: Option<(String, Vec<u8>)> =
                    sqlx::query_as("SELECT id, cluster FROM tenants LIMIT 1")
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(q)?;
                if let Some((id, sealed)) = first {
                    self.key
                        .open(&id, &sealed)
                        .map_err(|_| StoreError::WrongKey)?;
                }
                self.seal_plain_urls().await?;
                self.reseal().await?;
            }
        }
        Ok(())
    }

    /// Seals the webhook URLs stored in clear before they were sealed
    /// (listed by migration 5), in one transaction that also empties the
    /// list: each is sealed exactly once. Then the file is rewritten
    /// (`VACUUM`), so no free page keeps the clear text.
    async fn seal_plain_urls(&self) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let mut count = 0;
        for (table, row, column) in UNSEALED_URLS {
            let c = SEALED
                .iter()
                .find(|c| c.table == *table && c.column == *column)
                .expect("every unsealed URL column is a sealed column");
            let rows = sqlx::query(&format!(
                "SELECT {keys}, t.{column} AS plain FROM {table} t \
                 WHERE EXISTS (SELECT 1 FROM unsealed_webhook_urls \
                               WHERE tbl = '{table}' AND {row})",
                keys = c
                    .keys
                    .iter()
                    .map(|k| format!("t.{k}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            ))
            .fetch_all(&mut *tx)
            .await
            .map_err(q)?;
            for r in &rows {
                let keys = c
                    .keys
                    .iter()
                    .map(|k| r.try_get::<String, _>(*k).map_err(q))
                    .collect::<Result<Vec<_>>>()?;
                let plain: Vec<u8> = r.try_get("plain").map_err(q)?;
                let sealed = self.key.seal(&(c.context)(&keys), &plain)?;
                update_sealed(&mut tx, c, sealed, &keys).await?;
            }
            count += rows.len();
        }
        sqlx::query("DELETE FROM unsealed_webhook_urls")
            .execute(&mut *tx)
            .await
            .map_err(q)?;
        tx.commit().await.map_err(q)?;
        // The clear text is still in the pages the migration and the updates
        // freed, and in the WAL: rewrite the file without them. (Only SQLite
        // had databases from before URLs were sealed.)
        if count > 0 && self.backend() == Backend::Sqlite {
            for sql in ["VACUUM", "PRAGMA wal_checkpoint(TRUNCATE)"] {
                sqlx::query(sql).execute(&self.pool).await.map_err(q)?;
            }
            tracing::info!(values = count, "Sealed the webhook URLs stored in clear.");
        }
        Ok(())
    }

    /// Seals every sealed value (cluster credentials, webhook URLs and
    /// secrets, the deliveries' copies, the key check) with the current key, in one
    /// transaction: a crash leaves all of them under the old keys or all
    /// under the new one.
    async fn reseal(&self) -> Result<usize> {
        let mut tx = self.write_tx().await?;
        let mut count = 0;
        for column in SEALED {
            count += self.reseal_column(&mut tx, column).await?;
        }
        sqlx::query("INSERT INTO key_check (id, sealed) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET sealed = excluded.sealed")
            .bind(self.key.seal(CHECK_CONTEXT, CHECK_PLAIN)?)
            .execute(&mut *tx)
            .await
            .map_err(q)?;
        tx.commit().await.map_err(q)?;
        if count > 0 && self.key.has_previous() {
            tracing::info!(
                values = count,
                "Re-sealed the stored secrets with the current encryption key."
            );
        }
        Ok(count)
    }

    /// Re-seals one column's values with the current key, in `tx`.
    async fn reseal_column(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        c: &SealedColumn,
    ) -> Result<usize> {
        let (table, column) = (c.table, c.column);
        let rows = sqlx::query(&format!(
            "SELECT {}, {column} AS sealed FROM {table} WHERE {column} IS NOT NULL",
            c.keys.join(", ")
        ))
        .fetch_all(&mut **tx)
        .await
        .map_err(q)?;
        for row in &rows {
            let keys = c
                .keys
                .iter()
                .map(|k| row.try_get::<String, _>(*k).map_err(q))
                .collect::<Result<Vec<_>>>()?;
            let context = (c.context)(&keys);
            let sealed: Vec<u8> = row.try_get("sealed").map_err(q)?;
            let plain = self.key.open(&context, &sealed)?;
            update_sealed(tx, c, self.key.seal(&context, &plain)?, &keys).await?;
        }
        Ok(rows.len())
    }
}
