//! Clusters HKS stopped managing and still has to clean up. A tenant's
//! deletion, or the replacement of its cluster connection, queues the old
//! connection with the namespaces of the tenant's projects in the same
//! transaction as the change itself, so nothing is forgotten if HKS stops
//! in between; the controller's retirement pass works the queue.

use hks_core::tenant::ClusterConnection;
use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Store, StoreError, crypto, q, ts};

/// Why a cluster's namespaces are retired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetireReason {
    TenantDeleted,
    ClusterReplaced,
}

impl RetireReason {
    fn as_str(self) -> &'static str {
        match self {
            Self::TenantDeleted => "tenant_deleted",
            Self::ClusterReplaced => "cluster_replaced",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "tenant_deleted" => Ok(Self::TenantDeleted),
            "cluster_replaced" => Ok(Self::ClusterReplaced),
            other => Err(StoreError::Corrupt(serde::de::Error::custom(format!(
                "unknown retirement reason {other:?}"
            )))),
        }
    }
}

/// What happens to the namespaces in the previous cluster when a tenant's
/// connection is replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Previous {
    /// Another cluster: its namespaces are deleted, so runs stop there.
    CleanUp,
    /// The same cluster reached another way (new credentials): kept.
    Keep,
}

/// One cleanup to do.
#[derive(Debug, Clone)]
pub struct Retirement {
    pub id: String,
    pub tenant_id: String,
    pub tenant_name: String,
    pub reason: RetireReason,
    pub connection: ClusterConnection,
    pub namespaces: Vec<String>,
    pub created_at: Timestamp,
    pub attempts: u32,
    pub last_error: Option<String>,
}

pub(crate) fn retirement_context(id: &str) -> String {
    format!("retirement:{id}")
}

impl Store {
    /// Deletes a tenant with its tokens, projects and applications, and
    /// queues its cluster's project namespaces for cleanup, in one
    /// transaction.
    pub async fn delete_tenant(&self, tenant_id: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        self.queue_retirement(&mut tx, tenant_id, RetireReason::TenantDeleted)
            .await?;
        let r = sqlx::query("DELETE FROM tenants WHERE id = $1")
            .bind(tenant_id)
            .execute(&mut *tx)
            .await
            .map_err(q)?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await.map_err(q)
    }

    /// Replaces a tenant's cluster connection; with [`Previous::CleanUp`]
    /// the old connection is queued, with the project namespaces, for
    /// cleanup, in the same transaction.
    pub async fn update_tenant_cluster(
        &self,
        tenant_id: &str,
        cluster: &ClusterConnection,
        previous: Previous,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        if previous == Previous::CleanUp {
            self.queue_retirement(&mut tx, tenant_id, RetireReason::ClusterReplaced)
                .await?;
        }
        let sealed = self
            .key
            .seal(tenant_id, cluster.to_stored().to_string().as_bytes())?;
        let r = sqlx::query("UPDATE tenants SET cluster = $1 WHERE id = $2")
            .bind(sealed)
            .bind(tenant_id)
            .execute(&mut *tx)
            .await
            .map_err(q)?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await.map_err(q)
    }

    async fn queue_retirement(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        tenant_id: &str,
        reason: RetireReason,
    ) -> Result<()> {
        // Locked (PostgreSQL): a project created now, whose foreign key
        // waits for this lock, fails on the tenant gone instead of escaping
        // the namespaces queued here.
        let sql = format!("SELECT * FROM tenants WHERE id = $1{}", self.for_update());
        let Some(row) = sqlx::query(&sql)
            .bind(tenant_id)
            .fetch_optional(&mut **tx)
            .await
            .map_err(q)?
        else {
            return Err(StoreError::NotFound);
        };
        let (tenant, connection) = self.tenant_row(&row)?;
        let namespaces: Vec<String> = sqlx::query_scalar(
            "SELECT namespace FROM projects WHERE tenant_id = $1 ORDER BY namespace",
        )
        .bind(tenant_id)
        .fetch_all(&mut **tx)
        .await
        .map_err(q)?;
        if namespaces.is_empty() {
            return Ok(());
        }
        let id = crypto::random_id(8)?;
        let sealed = self.key.seal(
            &retirement_context(&id),
            connection.to_stored().to_string().as_bytes(),
        )?;
        sqlx::query(
            "INSERT INTO cluster_retirements (id, tenant_id, tenant_name, reason, connection, namespaces, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(tenant_id)
        .bind(&tenant.name)
        .bind(reason.as_str())
        .bind(sealed)
        .bind(serde_json::to_string(&namespaces).map_err(StoreError::Corrupt)?)
        .bind(Timestamp::now().to_string())
        .execute(&mut **tx)
        .await
        .map_err(q)?;
        Ok(())
    }

    /// The cleanups still to do, oldest first.
    pub async fn retirements(&self) -> Result<Vec<Retirement>> {
        let rows = sqlx::query("SELECT * FROM cluster_retirements ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await
            .map_err(q)?;
        rows.iter().map(|r| self.retirement_row(r)).collect()
    }

    fn retirement_row(&self, row: &AnyRow) -> Result<Retirement> {
        let id: String = row.try_get("id").map_err(q)?;
        let sealed: Vec<u8> = row.try_get("connection").map_err(q)?;
        let plain = self.key.open(&retirement_context(&id), &sealed)?;
        let namespaces: String = row.try_get("namespaces").map_err(q)?;
        Ok(Retirement {
            tenant_id: row.try_get("tenant_id").map_err(q)?,
            tenant_name: row.try_get("tenant_name").map_err(q)?,
            reason: RetireReason::parse(&row.try_get::<String, _>("reason").map_err(q)?)?,
            connection: serde_json::from_slice(&plain).map_err(StoreError::Corrupt)?,
            namespaces: serde_json::from_str(&namespaces).map_err(StoreError::Corrupt)?,
            created_at: ts(row, "created_at")?,
            attempts: u32::try_from(row.try_get::<i64, _>("attempts").map_err(q)?)
                .unwrap_or(u32::MAX),
            last_error: row.try_get("last_error").map_err(q)?,
            id,
        })
    }

    /// The cleanup is finished: every namespace is gone.
    pub async fn retirement_done(&self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM cluster_retirements WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(q)?;
        Ok(())
    }

    /// One more attempt that did not finish, and why (`None`: still in progress).
    pub async fn retirement_attempted(&self, id: &str, error: Option<&str>) -> Result<()> {
        sqlx::query(
            "UPDATE cluster_retirements SET attempts = attempts + 1, last_error = $1 WHERE id = $2",
        )
        .bind(error)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(q)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::backends;

    fn connection(server: &str) -> ClusterConnection {
        serde_json::from_value(serde_json::json!({"kind": "kubeconfig", "kubeconfig": format!("apiVersion: v1\nkind: Config\n# {server}\n")})).unwrap()
    }

    fn kubeconfig_of(c: &ClusterConnection) -> String {
        c.to_stored()["kubeconfig"].as_str().unwrap().to_owned()
    }

    backends! {
    async fn a_deleted_tenant_leaves_its_namespaces_to_clean_up(db) {
        let s = db.store().await;
        let t = s.create_tenant("acme", &connection("old")).await.unwrap();
        let shop = s.create_project(&t.id, "shop").await.unwrap();
        let blog = s.create_project(&t.id, "blog").await.unwrap();
        let other = s.create_tenant("other", &connection("x")).await.unwrap();
        s.create_project(&other.id, "shop").await.unwrap();

        s.delete_tenant(&t.id).await.unwrap();
        let queued = s.retirements().await.unwrap();
        assert_eq!(queued.len(), 1);
        let r = &queued[0];
        assert_eq!(
            (r.tenant_id.as_str(), r.reason),
            (t.id.as_str(), RetireReason::TenantDeleted)
        );
        let mut expected = vec![blog.namespace, shop.namespace];
        expected.sort();
        assert_eq!(r.namespaces, expected);
        assert_eq!(
            kubeconfig_of(&r.connection),
            kubeconfig_of(&connection("old"))
        );
        assert!(matches!(
            s.delete_tenant(&t.id).await,
            Err(StoreError::NotFound)
        ));

        s.retirement_attempted(&r.id, Some("connection refused"))
            .await
            .unwrap();
        let again = &s.retirements().await.unwrap()[0];
        assert_eq!(
            (again.attempts, again.last_error.as_deref()),
            (1, Some("connection refused"))
        );
        s.retirement_done(&r.id).await.unwrap();
        assert!(s.retirements().await.unwrap().is_empty());
    }}

    backends! {
    async fn a_replaced_cluster_is_cleaned_up_unless_kept(db) {
        let s = db.store().await;
        let t = s.create_tenant("acme", &connection("old")).await.unwrap();
        let shop = s.create_project(&t.id, "shop").await.unwrap();

        s.update_tenant_cluster(&t.id, &connection("same"), Previous::Keep)
            .await
            .unwrap();
        assert!(s.retirements().await.unwrap().is_empty());

        s.update_tenant_cluster(&t.id, &connection("new"), Previous::CleanUp)
            .await
            .unwrap();
        let queued = s.retirements().await.unwrap();
        assert_eq!(queued.len(), 1);
        assert_eq!(queued[0].reason, RetireReason::ClusterReplaced);
        assert_eq!(queued[0].namespaces, [shop.namespace]);
        // The connection it had until now, not the new one.
        assert_eq!(
            kubeconfig_of(&queued[0].connection),
            kubeconfig_of(&connection("same"))
        );
        let (_, now) = s.tenant_with_cluster(&t.id).await.unwrap();
        assert_eq!(kubeconfig_of(&now), kubeconfig_of(&connection("new")));

        // A tenant with no project leaves nothing to clean up.
        let empty = s.create_tenant("empty", &connection("e")).await.unwrap();
        s.delete_tenant(&empty.id).await.unwrap();
        assert_eq!(s.retirements().await.unwrap().len(), 1);
    }}
}
