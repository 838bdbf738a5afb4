//! The installation's encryption key and the database: a database opens
//! only under the key it was written with, and a rotation re-seals
//! everything sealed with the new key.

use sqlx::Row;

use crate::alerts::{delivery_context, settings_context};
use crate::{Result, Store, StoreError, q};

/// The context and plain text of the key check.
const CHECK_CONTEXT: &str = "key-check";
const CHECK_PLAIN: &[u8] = b"hks";

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
        let mut tx = self.pool.begin().await.map_err(q)?;
        let mut count = 0;
        let tenants = sqlx::query("SELECT id, cluster FROM tenants")
            .fetch_all(&mut *tx)
            .await
            .map_err(q)?;
        for row in tenants {
            let id: String = row.try_get("id").map_err(q)?;
            let sealed: Vec<u8> = row.try_get("cluster").map_err(q)?;
            let plain = self.key.open(&id, &sealed)?;
            sqlx::query("UPDATE tenants SET cluster = ? WHERE id = ?")
                .bind(self.key.seal(&id, &plain)?)
                .bind(&id)
                .execute(&mut *tx)
                .await
                .map_err(q)?;
            count += 1;
        }
        let settings = sqlx::query(
            "SELECT project_id, cronjob, webhook_secret FROM alert_settings WHERE webhook_secret IS NOT NULL",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(q)?;
        for row in settings {
            let project_id: String = row.try_get("project_id").map_err(q)?;
            let cronjob: String = row.try_get("cronjob").map_err(q)?;
            let sealed: Vec<u8> = row.try_get("webhook_secret").map_err(q)?;
            let context = settings_context(&project_id, &cronjob);
            let plain = self.key.open(&context, &sealed)?;
            sqlx::query(
                "UPDATE alert_settings SET webhook_secret = ? WHERE project_id = ? AND cronjob = ?",
            )
            .bind(self.key.seal(&context, &plain)?)
            .bind(&project_id)
            .bind(&cronjob)
            .execute(&mut *tx)
            .await
            .map_err(q)?;
            count += 1;
        }
        let deliveries = sqlx::query("SELECT id, secret FROM deliveries")
            .fetch_all(&mut *tx)
            .await
            .map_err(q)?;
        for row in deliveries {
            let id: String = row.try_get("id").map_err(q)?;
            let sealed: Vec<u8> = row.try_get("secret").map_err(q)?;
            let context = delivery_context(&id);
            let plain = self.key.open(&context, &sealed)?;
            sqlx::query("UPDATE deliveries SET secret = ? WHERE id = ?")
                .bind(self.key.seal(&context, &plain)?)
                .bind(&id)
                .execute(&mut *tx)
                .await
                .map_err(q)?;
            count += 1;
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
}
