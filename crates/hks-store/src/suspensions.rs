//! Why, by whom and when a CronJob was suspended: the note a user leaves
//! with a suspend, shown until the CronJob is resumed.

use std::collections::HashMap;

use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Store, q, ts};

/// One CronJob's suspension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suspension {
    /// `tenant/token` of who suspended it.
    pub by: String,
    pub at: Timestamp,
    /// The user's note.
    pub reason: Option<String>,
}

fn suspension(row: &AnyRow) -> Result<Suspension> {
    Ok(Suspension {
        by: row.try_get("suspended_by").map_err(q)?,
        at: ts(row, "suspended_at")?,
        reason: row.try_get("reason").map_err(q)?,
    })
}

impl Store {
    /// Records (or replaces) a CronJob's suspension.
    pub async fn set_suspension(
        &self,
        project_id: &str,
        application: &str,
        s: &Suspension,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO suspensions (project_id, application, suspended_by, suspended_at, reason)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (project_id, application) DO UPDATE SET
                suspended_by = excluded.suspended_by, suspended_at = excluded.suspended_at,
                reason = excluded.reason",
        )
        .bind(project_id)
        .bind(application)
        .bind(&s.by)
        .bind(s.at.to_string())
        .bind(&s.reason)
        .execute(&self.pool)
        .await
        .map_err(q)
        .map(drop)
    }

    /// Forgets a CronJob's suspension (it was resumed).
    pub async fn clear_suspension(&self, project_id: &str, application: &str) -> Result<()> {
        sqlx::query("DELETE FROM suspensions WHERE project_id = $1 AND application = $2")
            .bind(project_id)
            .bind(application)
            .execute(&self.pool)
            .await
            .map_err(q)
            .map(drop)
    }

    /// A CronJob's suspension, if it has one.
    pub async fn suspension(
        &self,
        project_id: &str,
        application: &str,
    ) -> Result<Option<Suspension>> {
        let row =
            sqlx::query("SELECT * FROM suspensions WHERE project_id = $1 AND application = $2")
                .bind(project_id)
                .bind(application)
                .fetch_optional(&self.pool)
                .await
                .map_err(q)?;
        row.as_ref().map(suspension).transpose()
    }

    /// The suspensions of a project's CronJobs, by name.
    pub async fn suspensions(&self, project_id: &str) -> Result<HashMap<String, Suspension>> {
        let rows = sqlx::query("SELECT * FROM suspensions WHERE project_id = $1")
            .bind(project_id)
            .fetch_all(&self.pool)
            .await
            .map_err(q)?;
        rows.iter()
            .map(|r| Ok((r.try_get("application").map_err(q)?, suspension(r)?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::backends;

    backends! {
    async fn a_suspension_is_kept_until_cleared_and_goes_with_its_cronjob(db) {
        let store = db.store().await;
        let connection = serde_json::from_value(
            serde_json::json!({"kind": "kubeconfig", "kubeconfig": "apiVersion: v1\nkind: Config\n"}),
        )
        .unwrap();
        let tenant = store.create_tenant("acme", &connection).await.unwrap();
        let project = store.create_project(&tenant.id, "shop").await.unwrap();
        let cron = serde_json::from_value(serde_json::json!({
            "type": "cronjob", "spec": {"schedule": "@daily", "image": "busybox:1"}
        }))
        .unwrap();
        store
            .create_application(&project.id, "nightly", &cron)
            .await
            .unwrap();
        let s = Suspension {
            by: "acme/ci".into(),
            at: Timestamp::from_second(1_800_000_000).unwrap(),
            reason: Some("database migration until Monday".into()),
        };
        store
            .set_suspension(&project.id, "nightly", &s)
            .await
            .unwrap();
        assert_eq!(
            store.suspension(&project.id, "nightly").await.unwrap(),
            Some(s.clone())
        );
        assert_eq!(store.suspensions(&project.id).await.unwrap()["nightly"], s);
        store
            .clear_suspension(&project.id, "nightly")
            .await
            .unwrap();
        assert_eq!(
            store.suspension(&project.id, "nightly").await.unwrap(),
            None
        );

        store
            .set_suspension(&project.id, "nightly", &s)
            .await
            .unwrap();
        store
            .delete_application(&project.id, "nightly")
            .await
            .unwrap();
        assert!(store.suspensions(&project.id).await.unwrap().is_empty());
    }}
}
