//! The installation's encryption key and the database: a database opens
//! only under the key it was written with, and a rotation re-seals
//! everything sealed with the new key.

use sqlx::Row;

use crate::alerts::{delivery_context, settings_context};
use crate::{Result, Store, StoreError, q};

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
        table: "deliveries",
        column: "secret",
        keys: &["id"],
        context: |k| delivery_context(&k[0]),
    },
];

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
                self.reseal().await?;
            }
        }
        Ok(())
    }

    /// Seals every sealed value (cluster credentials, webhook secrets, the
    /// deliveries' copies, the key check) with the current key, in one
    /// transaction: a crash leaves all of them under the old keys or all
    /// under the new one.
    async fn reseal(&self) -> Result<usize> {
        let mut tx = self.write_tx().await?;
        let mut count = 0;
        for column in SEALED {
            count += self.reseal_column(&mut tx, column).await?;
        }
        sqlx::query("INSERT INTO key_check (id, sealed) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET sealed = excluded.sealed")
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
        tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        c: &SealedColumn,
    ) -> Result<usize> {
        let (table, column) = (c.table, c.column);
        let rows = sqlx::query(&format!(
            "SELECT rowid, {}, {column} AS sealed FROM {table} WHERE {column} IS NOT NULL",
            c.keys.join(", ")
        ))
        .fetch_all(&mut **tx)
        .await
        .map_err(q)?;
        for row in &rows {
            let rowid: i64 = row.try_get("rowid").map_err(q)?;
            let keys = c
                .keys
                .iter()
                .map(|k| row.try_get::<String, _>(*k).map_err(q))
                .collect::<Result<Vec<_>>>()?;
            let context = (c.context)(&keys);
            let sealed: Vec<u8> = row.try_get("sealed").map_err(q)?;
            let plain = self.key.open(&context, &sealed)?;
            sqlx::query(&format!("UPDATE {table} SET {column} = ? WHERE rowid = ?"))
                .bind(self.key.seal(&context, &plain)?)
                .bind(rowid)
                .execute(&mut **tx)
                .await
                .map_err(q)?;
        }
        Ok(rows.len())
    }
}
