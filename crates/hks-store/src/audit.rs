//! The audit log: appended after each change, read newest first in pages.

use hks_core::audit::{AuditAction, AuditChange, AuditEntry};
use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Store, StoreError, q, ts};

/// What a page of the log is limited to; `None` matches anything.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only entries of this project (else the tenant's whole log).
    pub project: Option<String>,
    pub action: Option<AuditAction>,
    /// Only entries about this target (`cronjob/nightly`) or, ending in
    /// `/`, this kind (`run/`).
    pub target: Option<String>,
    pub actor: Option<String>,
    /// Only entries older than this id (the page after one ending there).
    pub before: Option<i64>,
}

fn entry(row: &AnyRow) -> Result<AuditEntry> {
    let action: String = row.try_get("action").map_err(q)?;
    let changes: String = row.try_get("changes").map_err(q)?;
    Ok(AuditEntry {
        id: row.try_get("id").map_err(q)?,
        at: ts(row, "at")?,
        actor: row.try_get("actor").map_err(q)?,
        action: AuditAction::parse(&action).ok_or_else(|| {
            StoreError::Corrupt(serde::de::Error::custom(format!(
                "unknown audit action {action:?}"
            )))
        })?,
        project: row.try_get("project").map_err(q)?,
        target: row.try_get("target").map_err(q)?,
        changes: serde_json::from_str(&changes).map_err(StoreError::Corrupt)?,
    })
}

impl Store {
    /// Appends one entry; says its id.
    pub async fn append_audit(
        &self,
        tenant_id: &str,
        project: Option<&str>,
        actor: &str,
        action: AuditAction,
        target: &str,
        changes: &[AuditChange],
    ) -> Result<i64> {
        let changes = serde_json::to_string(changes).map_err(StoreError::Corrupt)?;
        let id = sqlx::query_scalar(
            "INSERT INTO audit (tenant_id, project, at, actor, action, target, changes)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(tenant_id)
        .bind(project)
        .bind(Timestamp::now().to_string())
        .bind(actor)
        .bind(action.as_str())
        .bind(target)
        .bind(changes)
        .fetch_one(&self.pool)
        .await
        .map_err(q)?;
        Ok(id)
    }

    /// At most `limit` entries of a tenant's log that `filter` matches,
    /// newest first.
    pub async fn audit(
        &self,
        tenant_id: &str,
        filter: &AuditFilter,
        limit: u32,
    ) -> Result<Vec<AuditEntry>> {
        let target_kind = filter
            .target
            .as_deref()
            .filter(|t| t.ends_with('/'))
            .map(|t| format!("{}%", t.replace(['%', '_'], "")));
        let target_exact = filter.target.as_deref().filter(|t| !t.ends_with('/'));
        let rows = sqlx::query(
            "SELECT * FROM audit WHERE tenant_id = $1
               AND ($2 IS NULL OR project = $2)
               AND ($3 IS NULL OR action = $3)
               AND ($4 IS NULL OR target = $4)
               AND ($5 IS NULL OR target LIKE $5)
               AND ($6 IS NULL OR actor = $6)
               AND ($7 IS NULL OR id < $7)
             ORDER BY id DESC LIMIT $8",
        )
        .bind(tenant_id)
        .bind(filter.project.as_deref())
        .bind(filter.action.map(AuditAction::as_str))
        .bind(target_exact)
        .bind(target_kind)
        .bind(filter.actor.as_deref())
        .bind(filter.before)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(q)?;
        rows.iter().map(entry).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::backends;
    use hks_core::audit::set;

    backends! {
    async fn entries_page_newest_first_filter_and_outlive_their_project(db) {
        let store = db.store().await;
        let connection = serde_json::from_value(
            serde_json::json!({"kind": "kubeconfig", "kubeconfig": "apiVersion: v1\nkind: Config\n"}),
        )
        .unwrap();
        let t = store.create_tenant("acme", &connection).await.unwrap();
        let p = store.create_project(&t.id, "shop").await.unwrap();
        let add = async |project: Option<&str>, action, target: &str| {
            store
                .append_audit(
                    &t.id,
                    project,
                    "acme/ci",
                    action,
                    target,
                    &[set("run", "x")],
                )
                .await
                .unwrap()
        };
        add(Some("shop"), AuditAction::CronjobCreate, "cronjob/a").await;
        add(Some("shop"), AuditAction::RunStart, "cronjob/a").await;
        add(Some("other"), AuditAction::CronjobCreate, "cronjob/b").await;
        let last = add(None, AuditAction::TokenCreate, "token/ci").await;

        let all = store
            .audit(&t.id, &AuditFilter::default(), 10)
            .await
            .unwrap();
        assert_eq!(all.len(), 4);
        assert_eq!(all[0].id, last);
        assert_eq!(all[0].project, None);
        let shop = AuditFilter {
            project: Some("shop".into()),
            ..AuditFilter::default()
        };
        let page = store.audit(&t.id, &shop, 1).await.unwrap();
        assert_eq!(page[0].action, AuditAction::RunStart);
        let next = AuditFilter {
            before: Some(page[0].id),
            ..shop.clone()
        };
        let page2 = store.audit(&t.id, &next, 1).await.unwrap();
        assert_eq!(page2[0].action, AuditAction::CronjobCreate);
        let creates = AuditFilter {
            action: Some(AuditAction::CronjobCreate),
            ..AuditFilter::default()
        };
        assert_eq!(store.audit(&t.id, &creates, 10).await.unwrap().len(), 2);
        let kind = AuditFilter {
            target: Some("token/".into()),
            ..AuditFilter::default()
        };
        assert_eq!(store.audit(&t.id, &kind, 10).await.unwrap().len(), 1);

        // The project goes; its entries stay.
        store.delete_project(&p.id).await.unwrap();
        assert_eq!(store.audit(&t.id, &shop, 10).await.unwrap().len(), 2);
        // The tenant goes; so do they.
        store.delete_tenant(&t.id).await.unwrap();
        assert!(
            store
                .audit(&t.id, &AuditFilter::default(), 10)
                .await
                .unwrap()
                .is_empty()
        );
    }}
}
