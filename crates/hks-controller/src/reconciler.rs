//! Makes every tenant cluster match the store.

use std::collections::BTreeSet;
use std::time::Duration;

use hks_app::App;
use hks_app::plan::{self, Sources};
use hks_app::tenancy::Scope;
use hks_core::spec::ApplicationType;
use hks_kube::{Kind, Object, ObjectKey};
use tracing::{info, warn};

use crate::ControllerError;
use crate::tenants::{self, Isolation};

/// Outcome of one reconciliation pass.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reconciled {
    pub projects: usize,
    pub failed_projects: usize,
    /// Objects applied (missing, edited by hand, or not known to be current).
    pub applied: usize,
    /// CronJobs left alone because the cluster shows them as HKS applied them.
    pub unchanged: usize,
    pub orphans_deleted: usize,
    /// Objects made before HKS labelled its installation, labelled now
    /// ([`hks_kube::Gateway::adopt`]).
    pub adopted: usize,
    /// Tenants whose part failed or timed out (their other projects wait
    /// for the next pass; other tenants are not held up).
    pub failed_tenants: usize,
}

impl Reconciled {
    fn add(&mut self, r: Reconciled) {
        self.projects += r.projects;
        self.failed_projects += r.failed_projects;
        self.applied += r.applied;
        self.unchanged += r.unchanged;
        self.orphans_deleted += r.orphans_deleted;
        self.adopted += r.adopted;
        self.failed_tenants += r.failed_tenants;
    }
}

/// One pass. First, what HKS made in a tenant's cluster before it labelled
/// its installation is labelled ([`hks_kube::Gateway::adopt`]). CronJobs
/// are compared with the watch cache: one that is
/// missing, or whose generation is not the one HKS's last apply returned
/// (edited by hand), is applied again, and server-side apply takes the
/// fields back. Namespaces, Deployments and Services are re-applied every
/// pass. HKS CronJobs the store does not know are deleted, and so are
/// Deployments, Services and namespaces ([`remove_unrecorded`]). Tenants are
/// reconciled [`Isolation::default`]: a tenant whose cluster does not
/// answer, or whose part fails or takes too long, is skipped for this pass;
/// the others go on.
pub async fn reconcile(app: &App) -> Result<Reconciled, ControllerError> {
    reconcile_with(app, Isolation::default()).await
}

/// [`reconcile`] with tenants isolated as `isolation` says. Fails only when
/// the tenants cannot be listed.
pub async fn reconcile_with(
    app: &App,
    isolation: Isolation,
) -> Result<Reconciled, ControllerError> {
    let scopes = hks_app::tenancy::owned_tenants_with_clusters(app).await?;
    let mut out = Reconciled::default();
    let ownership = app.ownership();
    for r in tenants::each("reconcile", isolation, ownership, &scopes, |s| {
        tenant(app, s)
    })
    .await
    {
        match r {
            Some(r) => out.add(r),
            None => out.failed_tenants += 1,
        }
    }
    Ok(out)
}

/// Reconciles one tenant's projects.
async fn tenant(app: &App, scope: &Scope) -> Result<Reconciled, ControllerError> {
    let mut out = Reconciled::default();
    {
        let cluster = scope.cluster();
        // What HKS made before it labelled its installation is labelled
        // first, so the watches and the listings below see it: runs in
        // flight get recorded, orphans removed.
        let prefix = hks_core::tenant::tenant_namespace_prefix(&scope.tenant_id);
        match app.gateway().adopt(cluster, &prefix).await {
            Ok(0) => {}
            Ok(n) => {
                out.adopted += n;
                info!(tenant = %scope.tenant_name, objects = n, "Labelled objects HKS made before it labelled its installation.");
            }
            Err(error) => {
                warn!(%error, tenant = %scope.tenant_name, "Cannot label the objects HKS made before it labelled its installation.");
            }
        }
        for project in app.store().list_projects(&scope.tenant_id).await? {
            out.projects += 1;
            let _guard = app.locks().lock(&project.id).await;
            let p = scope.placement(&project);
            let apps = app.store().list_applications(&project.id, None).await?;
            let sources = Sources::loaded(app, &project.id, &apps);
            let observed = match app.gateway().observe(cluster, &project.namespace).await {
                Ok(o) if o.fresh => Some(o),
                _ => None,
            };
            let mut objects = plan::project_objects(&p);
            for a in &apps {
                match plan::resolve(app, &sources, &p, &a.name, &a.spec).await {
                    Ok(rendered) => {
                        for o in rendered {
                            let current = match (&o, &observed) {
                                (Object::CronJob(_), Some(seen)) => {
                                    let key = o.key();
                                    let seen =
                                        seen.cronjobs.get(&key.name).and_then(|c| c.generation);
                                    seen.is_some()
                                        && seen == app.generations().get(&scope.tenant_id, &key)
                                }
                                _ => false,
                            };
                            if current {
                                out.unchanged += 1;
                            } else {
                                objects.push(o);
                            }
                        }
                    }
                    Err(error) => {
                        warn!(%error, tenant = %scope.tenant_name, project = %project.name, application = %a.name, "Cannot render application.")
                    }
                }
            }
            match app.gateway().apply(cluster, &objects).await {
                Ok(applied) => {
                    out.applied += applied.len();
                    app.generations().remember(&scope.tenant_id, &applied);
                }
                Err(error) => {
                    out.failed_projects += 1;
                    metrics::counter!("hks_reconcile_failures_total").increment(1);
                    warn!(%error, tenant = %scope.tenant_name, project = %project.name, "Reconciliation failed.");
                    if error.is_unreachable() {
                        // The rest of this tenant's projects would fail the same way.
                        break;
                    }
                    continue;
                }
            }
            let known: BTreeSet<&str> = apps
                .iter()
                .filter(|a| a.spec.kind() == ApplicationType::Cronjob)
                .map(|a| a.name.as_str())
                .collect();
            for orphan in observed
                .iter()
                .flat_map(|o| o.cronjobs.keys())
                .filter(|n| !known.contains(n.as_str()))
            {
                let key = ObjectKey {
                    kind: Kind::CronJob,
                    namespace: Some(project.namespace.clone()),
                    name: orphan.clone(),
                };
                if app.gateway().delete(cluster, &key).await.is_ok() {
                    out.orphans_deleted += 1;
                    app.generations().forget(&scope.tenant_id, &key);
                    info!(tenant = %scope.tenant_name, project = %project.name, cronjob = %orphan, "Deleted a CronJob HKS does not know.");
                }
            }
        }
        out.orphans_deleted += remove_unrecorded(app, scope).await?;
    }
    Ok(out)
}

/// How old a namespace the store does not know must be before it is
/// deleted: a project being created applies its namespace moments before it
/// is stored, without a lock the reconciler could wait for.
pub const UNRECORDED_NAMESPACE_GRACE: Duration = Duration::from_secs(600);

/// Deletes what HKS created in a tenant's cluster but the store does not
/// know: the Deployments and Services of applications whose creation failed
/// after the apply (a failed insert, a crash in between), and likewise the
/// namespaces of projects, once older than [`UNRECORDED_NAMESPACE_GRACE`].
/// CronJobs are compared in the pass itself, with the watch cache. Each
/// project's objects are compared with the store under the project's lock,
/// after they were listed, so a create in flight is waited for, not undone.
/// Answers how many objects were deleted.
pub async fn remove_unrecorded(app: &App, scope: &Scope) -> Result<usize, ControllerError> {
    let prefix = hks_core::tenant::tenant_namespace_prefix(&scope.tenant_id);
    let managed = match app.gateway().managed(scope.cluster(), &prefix).await {
        Ok(m) => m,
        Err(error) => {
            warn!(%error, tenant = %scope.tenant_name, "Cannot list what HKS made in the cluster.");
            return Ok(0);
        }
    };
    let projects = app.store().list_projects(&scope.tenant_id).await?;
    let now = jiff::Timestamp::now();
    let grace = jiff::SignedDuration::try_from(UNRECORDED_NAMESPACE_GRACE).unwrap_or_default();
    let mut deleted = 0;
    for (namespace, created) in &managed.namespaces {
        if projects.iter().any(|p| &p.namespace == namespace)
            || created.is_some_and(|t| now.duration_since(t) < grace)
        {
            continue;
        }
        let key = ObjectKey {
            kind: Kind::Namespace,
            namespace: None,
            name: namespace.clone(),
        };
        if app.gateway().delete(scope.cluster(), &key).await.is_ok() {
            deleted += 1;
            info!(tenant = %scope.tenant_name, %namespace, "Deleted a namespace HKS made but has no project for.");
        }
    }
    for project in &projects {
        let listed: Vec<&ObjectKey> = managed
            .objects
            .iter()
            .filter(|k| k.namespace.as_deref() == Some(project.namespace.as_str()))
            .collect();
        if listed.is_empty() {
            continue;
        }
        let _guard = app.locks().lock(&project.id).await;
        let p = scope.placement(project);
        let expected: BTreeSet<ObjectKey> = app
            .store()
            .list_applications(&project.id, None)
            .await?
            .iter()
            .flat_map(|a| plan::owned(&p, &a.name, a.spec.kind()))
            .collect();
        for key in listed.into_iter().filter(|k| !expected.contains(k)) {
            if app.gateway().delete(scope.cluster(), key).await.is_ok() {
                deleted += 1;
                info!(tenant = %scope.tenant_name, project = %project.name, kind = ?key.kind, name = %key.name, "Deleted an object HKS made but has no application for.");
            }
        }
    }
    Ok(deleted)
}

/// Runs [`reconcile_with`] every `interval` until the task is aborted.
pub fn spawn(app: App, interval: Duration, isolation: Isolation) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match reconcile_with(&app, isolation).await {
                Ok(r) => tracing::debug!(
                    projects = r.projects,
                    failed = r.failed_projects,
                    failed_tenants = r.failed_tenants,
                    applied = r.applied,
                    unchanged = r.unchanged,
                    orphans = r.orphans_deleted,
                    adopted = r.adopted,
                    "Reconciled."
                ),
                Err(error) => tracing::warn!(%error, "Reconciliation pass failed."),
            }
        }
    })
}
