//! Whose things a principal may reach: a tenant's projects and their
//! applications (another tenant's are "not found"), the tenant's cluster
//! connection, and the lock that serialises writes to one project.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hks_core::manifest::Placement;
use hks_core::spec::ApplicationType;
use hks_core::tenant::ClusterConnection;
use hks_kube::TenantCluster;
use hks_store::{Application, Principal, Project};
use tracing::warn;

use crate::{App, AppError};

/// One async lock per project.
#[derive(Debug, Default)]
pub struct ProjectLocks(Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl ProjectLocks {
    pub async fn lock(&self, project_id: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let m = self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(project_id.to_owned())
            .or_default()
            .clone();
        m.lock_owned().await
    }
}

/// Where a project's objects go in its tenant's cluster, labelled with
/// the installation `app` is and the tenant.
pub fn placement(app: &App, tenant_name: &str, project: &Project) -> Placement {
    Placement {
        installation: app.installation().to_owned(),
        tenant: tenant_name.to_owned(),
        project: project.name.clone(),
        namespace: project.namespace.clone(),
    }
}

/// A tenant's cluster connection, read (and decrypted) once per operation.
#[derive(Debug)]
pub struct Scope {
    /// The installation's id ([`App::installation`]).
    pub installation: String,
    pub tenant_id: String,
    pub tenant_name: String,
    connection: ClusterConnection,
}

impl Scope {
    /// The scope of the principal's tenant.
    pub async fn of(app: &App, principal: &Principal) -> Result<Self, AppError> {
        Ok(Self {
            installation: app.installation().to_owned(),
            tenant_id: principal.tenant_id.clone(),
            tenant_name: principal.tenant_name.clone(),
            connection: app
                .store()
                .tenant_with_cluster(&principal.tenant_id)
                .await?
                .1,
        })
    }

    /// The scope of a tenant the installation works for (background work).
    pub fn new(app: &App, tenant: &hks_store::Tenant, connection: ClusterConnection) -> Self {
        Self {
            installation: app.installation().to_owned(),
            tenant_id: tenant.id.clone(),
            tenant_name: tenant.name.clone(),
            connection,
        }
    }

    pub fn cluster(&self) -> TenantCluster<'_> {
        TenantCluster {
            installation: &self.installation,
            tenant_id: &self.tenant_id,
            tenant_name: &self.tenant_name,
            connection: &self.connection,
        }
    }

    pub fn placement(&self, project: &Project) -> Placement {
        Placement {
            installation: self.installation.clone(),
            tenant: self.tenant_name.clone(),
            project: project.name.clone(),
            namespace: project.namespace.clone(),
        }
    }
}

/// A tenant by name (for the installation's admin).
pub async fn tenant_named(app: &App, name: &str) -> Result<hks_store::Tenant, AppError> {
    app.store()
        .tenant_by_name(name)
        .await
        .map_err(AppError::store("tenant"))
}

/// A project of the principal's tenant; another tenant's is "not found".
pub async fn project(app: &App, principal: &Principal, name: &str) -> Result<Project, AppError> {
    app.store()
        .project(&principal.tenant_id, name)
        .await
        .map_err(AppError::store("project"))
}

/// An application of a project; of type `kind` when given (another type is
/// "not found", named after the type asked for).
pub async fn application(
    app: &App,
    project: &Project,
    name: &str,
    kind: Option<ApplicationType>,
) -> Result<Application, AppError> {
    let what = match kind {
        Some(ApplicationType::Cronjob) => "CronJob",
        _ => "application",
    };
    match app.store().application(&project.id, name).await {
        Ok(a) if kind.is_none_or(|k| a.spec.kind() == k) => Ok(a),
        Ok(_) | Err(hks_store::StoreError::NotFound) => Err(AppError::NotFound(what)),
        Err(e) => Err(e.into()),
    }
}

/// [`tenants_with_clusters`] of the tenants this replica owns now
/// ([`App::ownership`]): the background work's tenants.
pub async fn owned_tenants_with_clusters(app: &App) -> Result<Vec<Scope>, hks_store::StoreError> {
    let mut out = Vec::new();
    for tenant in app.store().list_tenants().await? {
        if !app.ownership().owns(&tenant.id) {
            continue;
        }
        match app.store().tenant_with_cluster(&tenant.id).await {
            Ok((_, c)) => out.push(Scope::new(app, &tenant, c)),
            Err(error) => {
                warn!(%error, tenant = %tenant.name, "Cannot read the tenant's cluster connection.");
            }
        }
    }
    Ok(out)
}

/// Every tenant with its cluster connection, for the background work; a
/// tenant whose connection cannot be read is logged and left out, so one
/// tenant's broken row does not stop the others'.
pub async fn tenants_with_clusters(app: &App) -> Result<Vec<Scope>, hks_store::StoreError> {
    let mut out = Vec::new();
    for tenant in app.store().list_tenants().await? {
        match app.store().tenant_with_cluster(&tenant.id).await {
            Ok((_, c)) => out.push(Scope::new(app, &tenant, c)),
            Err(error) => {
                warn!(%error, tenant = %tenant.name, "Cannot read the tenant's cluster connection.");
            }
        }
    }
    Ok(out)
}
