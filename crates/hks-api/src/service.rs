//! What the API does, apart from HTTP: validate, derive the Kubernetes
//! objects, apply them, and only then store the configuration.
//!
//! Writes follow one rule: **apply first, store second, under the project's
//! lock**. If the tenant's cluster is unreachable the write is refused (503,
//! nothing stored); if it refuses the objects, nothing is stored either. The
//! lock serialises writes to one project (in this process), so the
//! existence check, the apply and the insert cannot interleave with another
//! write, and the reconciler never re-applies a configuration that is being
//! replaced.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use hks_core::manifest::{self, Placement};
use hks_core::spec::{
    ApplicationSpec, ApplicationType, ContainerSource, CronJobSpec, FunctionSpec, TemplateMode,
    validate_application, validate_name,
};
use hks_core::tenant::ClusterConnection;
use hks_core::{Code, Invalid, formats};
use hks_kube::{Kind, Object, ObjectKey, Observed, TenantCluster};
use hks_store::{Application, Project};
use jiff::Timestamp;
use tracing::{info, warn};

use crate::AppState;
use crate::dto::{ClusterState, CronJobSummary, CronJobView};
use crate::error::ApiError;
use crate::extract::{Tenant, parse};

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

pub fn placement(tenant_name: &str, project: &Project) -> Placement {
    Placement {
        tenant: tenant_name.to_owned(),
        project: project.name.clone(),
        namespace: project.namespace.clone(),
    }
}

/// A project of the caller's tenant; another tenant's is "not found".
pub async fn project(state: &AppState, tenant: &Tenant, name: &str) -> Result<Project, ApiError> {
    state
        .store()
        .project(&tenant.0.tenant_id, name)
        .await
        .map_err(|e| match e {
            hks_store::StoreError::NotFound => ApiError::NotFound("project"),
            other => other.into(),
        })
}

pub async fn application(
    state: &AppState,
    project: &Project,
    name: &str,
    kind: Option<ApplicationType>,
) -> Result<Application, ApiError> {
    let what = match kind {
        Some(ApplicationType::Cronjob) => "CronJob",
        _ => "application",
    };
    match state.store().application(&project.id, name).await {
        Ok(app) if kind.is_none_or(|k| app.spec.kind() == k) => Ok(app),
        Ok(_) | Err(hks_store::StoreError::NotFound) => Err(ApiError::NotFound(what)),
        Err(e) => Err(e.into()),
    }
}

pub async fn connection(state: &AppState, tenant_id: &str) -> Result<ClusterConnection, ApiError> {
    Ok(state.store().tenant_with_cluster(tenant_id).await?.1)
}

/// Every tenant with its cluster connection, for the background workers; a
/// tenant whose connection cannot be read is logged and left out.
pub async fn tenants_with_clusters(
    state: &AppState,
) -> Result<Vec<(hks_store::Tenant, ClusterConnection)>, hks_store::StoreError> {
    let mut out = Vec::new();
    for tenant in state.store().list_tenants().await? {
        match state.store().tenant_with_cluster(&tenant.id).await {
            Ok((_, c)) => out.push((tenant, c)),
            Err(error) => {
                warn!(%error, tenant = %tenant.name, "Cannot read the tenant's cluster connection.");
            }
        }
    }
    Ok(out)
}

/// The spec of an application of type `kind`, parsed with field paths under `spec`.
pub fn parse_spec(
    kind: ApplicationType,
    value: serde_json::Value,
) -> Result<ApplicationSpec, ApiError> {
    let bytes = serde_json::to_vec(&value).map_err(|e| ApiError::Internal(Box::new(e)))?;
    Ok(match kind {
        ApplicationType::Stateless => ApplicationSpec::Stateless(parse(&bytes, "spec")?),
        ApplicationType::Cronjob => ApplicationSpec::Cronjob(parse(&bytes, "spec")?),
        ApplicationType::Function => ApplicationSpec::Function(parse(&bytes, "spec")?),
    })
}

/// Validates a spec and completes what the server sets (a template snapshot).
///
/// A snapshot is never taken from the input. It is kept from `previous` (the
/// stored spec, on an edit) when that already snapshotted the same template,
/// so suspending or editing a snapshot CronJob does not pick up template
/// changes; otherwise (create, another template, a switch from `follow`) it
/// is taken from the template as it is now.
async fn prepare(
    state: &AppState,
    project: &Project,
    name: &str,
    mut spec: ApplicationSpec,
    previous: Option<&ApplicationSpec>,
) -> Result<ApplicationSpec, ApiError> {
    validate_application(name, &spec)?;
    if let ApplicationSpec::Cronjob(c) = &mut spec {
        let kept = match (previous, &c.template) {
            (Some(ApplicationSpec::Cronjob(old)), Some(new)) => old
                .template
                .as_ref()
                .filter(|o| o.application == new.application && o.mode == TemplateMode::Snapshot)
                .and_then(|o| o.snapshot.clone()),
            _ => None,
        };
        if let Some(t) = c.template.as_mut() {
            t.snapshot = if t.mode == TemplateMode::Snapshot {
                kept
            } else {
                None
            };
        }
        if c.function.is_some() {
            function_of(state, project, c).await?;
            return Ok(spec);
        }
        let template = template_of(state, project, c).await?;
        if let (Some(t), Some(live)) = (c.template.as_mut(), template.as_ref())
            && t.mode == TemplateMode::Snapshot
            && t.snapshot.is_none()
        {
            t.snapshot = Some(ContainerSource::of_stateless(live));
        }
        c.resolve(template.as_ref())?;
    }
    Ok(spec)
}

/// The current template application of a CronJob, if it names one.
async fn template_of(
    state: &AppState,
    project: &Project,
    c: &CronJobSpec,
) -> Result<Option<hks_core::spec::StatelessSpec>, ApiError> {
    let Some(t) = &c.template else {
        return Ok(None);
    };
    match state.store().application(&project.id, &t.application).await {
        Ok(Application {
            spec: ApplicationSpec::Stateless(s),
            ..
        }) => Ok(Some(s)),
        Ok(_) => Err(Invalid::one(
            "spec.template.application",
            Code::TemplateNotStateless,
            format!(
                "'{}' is not a Stateless application; only Stateless applications can be templates",
                t.application
            ),
        )
        .into()),
        Err(hks_store::StoreError::NotFound)
            if t.mode == TemplateMode::Snapshot && t.snapshot.is_some() =>
        {
            Ok(None)
        }
        Err(hks_store::StoreError::NotFound) => Err(Invalid::one(
            "spec.template.application",
            Code::TemplateNotFound,
            format!(
                "there is no Stateless application named '{}' in this project",
                t.application
            ),
        )
        .with_hint("create the Stateless application first, or give an explicit `image`")
        .into()),
        Err(e) => Err(e.into()),
    }
}

/// The Function a CronJob calls, if it calls one.
async fn function_of(
    state: &AppState,
    project: &Project,
    c: &CronJobSpec,
) -> Result<Option<FunctionSpec>, ApiError> {
    let Some(call) = &c.function else {
        return Ok(None);
    };
    match state.store().application(&project.id, &call.name).await {
        Ok(Application {
            spec: ApplicationSpec::Function(f),
            ..
        }) => Ok(Some(f)),
        Ok(_) => Err(Invalid::one(
            "spec.function.name",
            Code::NotAFunction,
            format!("'{}' is not a Function", call.name),
        )
        .into()),
        Err(hks_store::StoreError::NotFound) => Err(Invalid::one(
            "spec.function.name",
            Code::FunctionNotFound,
            format!("there is no Function named '{}' in this project", call.name),
        )
        .with_hint("create the Function first")
        .into()),
        Err(e) => Err(e.into()),
    }
}

/// The CronJob of a CronJob application: its own container, or the HTTP
/// client calling its Function.
async fn cronjob_object(
    state: &AppState,
    p: &Placement,
    project: &Project,
    name: &str,
    c: &CronJobSpec,
) -> Result<k8s_openapi::api::batch::v1::CronJob, ApiError> {
    if let Some(call) = &c.function {
        let function = function_of(state, project, c)
            .await?
            .ok_or(ApiError::NotFound("Function"))?;
        let invocation = call.resolve(
            &function,
            state.invoke_image(),
            c.resources.clone().unwrap_or_default(),
        );
        return Ok(manifest::function_cronjob(p, name, c, &invocation));
    }
    let template = template_of(state, project, c).await?;
    let source = c.resolve(template.as_ref())?;
    Ok(manifest::cronjob(p, name, c, &source))
}

/// What a CronJob's runs execute, for people to read: for a Function call,
/// the HTTP client's image and exact arguments (never the token).
async fn container_of(
    state: &AppState,
    project: &Project,
    c: &CronJobSpec,
) -> Option<ContainerSource> {
    if let Some(call) = &c.function {
        let function = function_of(state, project, c).await.ok().flatten()?;
        let inv = call.resolve(
            &function,
            state.invoke_image(),
            c.resources.clone().unwrap_or_default(),
        );
        return Some(ContainerSource {
            command: vec![hks_core::invoke::INVOKE_PROGRAM.to_owned()],
            args: inv.args(),
            image: inv.image,
            env: vec![],
            resources: inv.resources,
        });
    }
    let template = template_of(state, project, c).await.ok().flatten();
    c.resolve(template.as_ref()).ok()
}

/// The objects an application is made of.
async fn render(
    state: &AppState,
    p: &Placement,
    project: &Project,
    name: &str,
    spec: &ApplicationSpec,
) -> Result<Vec<Object>, ApiError> {
    Ok(match spec {
        ApplicationSpec::Stateless(s) => {
            let (d, svc) = manifest::stateless(p, name, s);
            let mut v = vec![Object::Deployment(d)];
            v.extend(svc.map(Object::Service));
            v
        }
        ApplicationSpec::Cronjob(c) => {
            vec![Object::CronJob(
                cronjob_object(state, p, project, name, c).await?,
            )]
        }
        // A Function is an endpoint HKS calls; it has no objects of its own.
        ApplicationSpec::Function(_) => vec![],
    })
}

/// The objects an application may own in the cluster.
fn owned(p: &Placement, name: &str, kind: ApplicationType) -> Vec<ObjectKey> {
    let key = |kind| ObjectKey {
        kind,
        namespace: Some(p.namespace.clone()),
        name: name.to_owned(),
    };
    match kind {
        ApplicationType::Stateless => vec![key(Kind::Deployment), key(Kind::Service)],
        ApplicationType::Cronjob => vec![key(Kind::CronJob)],
        ApplicationType::Function => vec![],
    }
}

/// The manifests an application would produce, for previews.
pub async fn preview(
    state: &AppState,
    tenant: &Tenant,
    project: &Project,
    name: &str,
    spec: ApplicationSpec,
) -> Result<Vec<Object>, ApiError> {
    let previous = state
        .store()
        .application(&project.id, name)
        .await
        .ok()
        .map(|a| a.spec);
    let spec = prepare(state, project, name, spec, previous.as_ref()).await?;
    render(
        state,
        &placement(&tenant.0.tenant_name, project),
        project,
        name,
        &spec,
    )
    .await
}

pub async fn create_project(
    state: &AppState,
    tenant: &Tenant,
    name: &str,
) -> Result<Project, ApiError> {
    validate_name("name", name, formats::MAX_PROJECT_NAME)?;
    if state
        .store()
        .project(&tenant.0.tenant_id, name)
        .await
        .is_ok()
    {
        return Err(ApiError::Conflict(format!(
            "project '{name}' already exists"
        )));
    }
    let conn = connection(state, &tenant.0.tenant_id).await?;
    let namespace = hks_core::tenant::project_namespace(&tenant.0.tenant_id, name);
    let p = Placement {
        tenant: tenant.0.tenant_name.clone(),
        project: name.to_owned(),
        namespace,
    };
    let cluster = TenantCluster {
        tenant_id: &tenant.0.tenant_id,
        connection: &conn,
    };
    state
        .gateway()
        .apply(cluster, &[Object::Namespace(manifest::namespace(&p))])
        .await?;
    Ok(state
        .store()
        .create_project(&tenant.0.tenant_id, name)
        .await?)
}

pub async fn delete_project(
    state: &AppState,
    tenant: &Tenant,
    project: &Project,
) -> Result<(), ApiError> {
    let _guard = state.locks().lock(&project.id).await;
    let conn = connection(state, &tenant.0.tenant_id).await?;
    let cluster = TenantCluster {
        tenant_id: &tenant.0.tenant_id,
        connection: &conn,
    };
    // Deleting the namespace deletes everything in it.
    state
        .gateway()
        .delete(
            cluster,
            &ObjectKey {
                kind: Kind::Namespace,
                namespace: None,
                name: project.namespace.clone(),
            },
        )
        .await?;
    state.store().delete_project(&project.id).await?;
    state.lists().wrote();
    Ok(())
}

pub async fn create_application(
    state: &AppState,
    tenant: &Tenant,
    project: &Project,
    name: &str,
    spec: ApplicationSpec,
) -> Result<Application, ApiError> {
    let _guard = state.locks().lock(&project.id).await;
    let spec = prepare(state, project, name, spec, None).await?;
    if state.store().application(&project.id, name).await.is_ok() {
        return Err(ApiError::Conflict(format!(
            "application '{name}' already exists in project '{}'",
            project.name
        )));
    }
    let p = placement(&tenant.0.tenant_name, project);
    let objects = render(state, &p, project, name, &spec).await?;
    let conn = connection(state, &tenant.0.tenant_id).await?;
    state
        .gateway()
        .apply(
            TenantCluster {
                tenant_id: &tenant.0.tenant_id,
                connection: &conn,
            },
            &objects,
        )
        .await
        .map(|applied| state.generations().remember(&tenant.0.tenant_id, &applied))?;
    let app = state
        .store()
        .create_application(&project.id, name, &spec)
        .await?;
    state.lists().wrote();
    info!(tenant = %tenant.0.tenant_name, project = %project.name, application = %name, kind = spec.kind().as_str(), "Created application.");
    Ok(app)
}

pub async fn update_application(
    state: &AppState,
    tenant: &Tenant,
    project: &Project,
    name: &str,
    spec: ApplicationSpec,
) -> Result<Application, ApiError> {
    let _guard = state.locks().lock(&project.id).await;
    let existing = application(state, project, name, None).await?;
    if existing.spec.kind() != spec.kind() {
        return Err(Invalid::one(
            "type",
            Code::TypeChange,
            format!(
                "'{name}' is a {} application; its type cannot change",
                existing.spec.kind().as_str()
            ),
        )
        .with_hint("delete it and create a new application")
        .into());
    }
    let spec = prepare(state, project, name, spec, Some(&existing.spec)).await?;
    let p = placement(&tenant.0.tenant_name, project);
    let mut objects = render(state, &p, project, name, &spec).await?;
    let mut stale = vec![];
    if let ApplicationSpec::Stateless(new) = &spec {
        // CronJobs that follow this template are re-applied with it.
        for follower in state
            .store()
            .cronjobs_using_template(&project.id, name)
            .await?
        {
            if let ApplicationSpec::Cronjob(c) = &follower.spec
                && c.template
                    .as_ref()
                    .is_some_and(|t| t.mode == TemplateMode::Follow)
            {
                let source = c.resolve(Some(new))?;
                objects.push(Object::CronJob(manifest::cronjob(
                    &p,
                    &follower.name,
                    c,
                    &source,
                )));
            }
        }
        if new.port.is_none() {
            stale.push(ObjectKey {
                kind: Kind::Service,
                namespace: Some(p.namespace.clone()),
                name: name.to_owned(),
            });
        }
    }
    if let ApplicationSpec::Function(_) = &spec {
        // CronJobs that call this Function are re-applied with its new
        // endpoint, method or token Secret. The store still has the old
        // spec, so the CronJobs are built from the new one here.
        for caller in state
            .store()
            .cronjobs_using_template(&project.id, name)
            .await?
        {
            if let (ApplicationSpec::Cronjob(c), ApplicationSpec::Function(f)) =
                (&caller.spec, &spec)
                && let Some(call) = &c.function
            {
                let inv = call.resolve(
                    f,
                    state.invoke_image(),
                    c.resources.clone().unwrap_or_default(),
                );
                objects.push(Object::CronJob(manifest::function_cronjob(
                    &p,
                    &caller.name,
                    c,
                    &inv,
                )));
            }
        }
    }
    let conn = connection(state, &tenant.0.tenant_id).await?;
    let cluster = TenantCluster {
        tenant_id: &tenant.0.tenant_id,
        connection: &conn,
    };
    let applied = state.gateway().apply(cluster, &objects).await?;
    state.generations().remember(&tenant.0.tenant_id, &applied);
    for key in &stale {
        state.gateway().delete(cluster, key).await?;
    }
    let app = state
        .store()
        .update_application(&project.id, name, &spec)
        .await?;
    state.lists().wrote();
    info!(tenant = %tenant.0.tenant_name, project = %project.name, application = %name, generation = app.generation, "Updated application.");
    Ok(app)
}

pub async fn delete_application(
    state: &AppState,
    tenant: &Tenant,
    project: &Project,
    name: &str,
    kind: Option<ApplicationType>,
) -> Result<(), ApiError> {
    let _guard = state.locks().lock(&project.id).await;
    let existing = application(state, project, name, kind).await?;
    if existing.spec.kind() == ApplicationType::Stateless {
        let followers: Vec<String> = state
            .store()
            .cronjobs_using_template(&project.id, name)
            .await?
            .into_iter()
            .filter(|a| matches!(&a.spec, ApplicationSpec::Cronjob(c) if c.template.as_ref().is_some_and(|t| t.mode == TemplateMode::Follow)))
            .map(|a| a.name)
            .collect();
        if !followers.is_empty() {
            return Err(ApiError::Conflict(format!(
                "'{name}' is the template of CronJobs that follow it ({}); delete them or switch them to snapshot mode first",
                followers.join(", ")
            )));
        }
    }
    if existing.spec.kind() == ApplicationType::Function {
        let callers: Vec<String> = state
            .store()
            .cronjobs_using_template(&project.id, name)
            .await?
            .into_iter()
            .filter(|a| matches!(&a.spec, ApplicationSpec::Cronjob(c) if c.function.is_some()))
            .map(|a| a.name)
            .collect();
        if !callers.is_empty() {
            return Err(ApiError::Conflict(format!(
                "CronJobs call the Function '{name}' ({}); delete them or change what they run first",
                callers.join(", ")
            )));
        }
    }
    let p = placement(&tenant.0.tenant_name, project);
    let conn = connection(state, &tenant.0.tenant_id).await?;
    let cluster = TenantCluster {
        tenant_id: &tenant.0.tenant_id,
        connection: &conn,
    };
    for key in owned(&p, name, existing.spec.kind()) {
        state.gateway().delete(cluster, &key).await?;
        state.generations().forget(&tenant.0.tenant_id, &key);
    }
    state.store().delete_application(&project.id, name).await?;
    state.lists().wrote();
    info!(tenant = %tenant.0.tenant_name, project = %project.name, application = %name, "Deleted application.");
    Ok(())
}

/// What the cluster shows of a project, or `None` when it cannot be reached
/// (reads then show the stored configuration with an unknown state).
pub async fn observe(
    state: &AppState,
    tenant: &Tenant,
    project: &Project,
) -> Result<Option<Observed>, ApiError> {
    observe_only(state, tenant, project, None).await
}

/// [`observe`], of one CronJob when `only` names it.
async fn observe_only(
    state: &AppState,
    tenant: &Tenant,
    project: &Project,
    only: Option<&str>,
) -> Result<Option<Observed>, ApiError> {
    let conn = connection(state, &tenant.0.tenant_id).await?;
    let cluster = TenantCluster {
        tenant_id: &tenant.0.tenant_id,
        connection: &conn,
    };
    let observed = match only {
        Some(name) => {
            state
                .gateway()
                .observe_cronjob(cluster, &project.namespace, name)
                .await
        }
        None => state.gateway().observe(cluster, &project.namespace).await,
    };
    match observed {
        Ok(o) => Ok(Some(o)),
        Err(e @ (hks_kube::KubeError::Unreachable(_) | hks_kube::KubeError::Misconfigured(_))) => {
            warn!(error = %e, tenant = %tenant.0.tenant_name, "Showing CronJobs without cluster state.");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// A CronJob's summary; `last_runs` from [`crate::history::last_runs`].
pub fn summarize(
    app: &Application,
    observed: Option<&Observed>,
    last_runs: &HashMap<String, hks_core::run::Run>,
    now: Timestamp,
) -> Option<CronJobSummary> {
    let ApplicationSpec::Cronjob(c) = &app.spec else {
        return None;
    };
    let schedule = hks_schedule::check(&c.schedule, &c.time_zone).ok();
    let cluster = observed.and_then(|o| o.cronjobs.get(&app.name));
    Some(CronJobSummary {
        name: app.name.clone(),
        schedule: c.schedule.to_string(),
        time_zone: c.time_zone.to_string(),
        description: schedule.as_ref().map(|s| s.describe()),
        next_run: if c.suspend {
            None
        } else {
            schedule.as_ref().and_then(|s| s.next_after(now))
        },
        suspended: c.suspend,
        template_mode: c.template.as_ref().map(|t| t.mode),
        template: c.template.as_ref().map(|t| t.application.to_string()),
        function: c.function.as_ref().map(|f| f.name.to_string()),
        last_run: last_runs.get(&app.name).cloned(),
        active: cluster.map_or(0, |c| c.active),
        cluster_state: match (observed, cluster) {
            (None, _) => ClusterState::Unknown,
            (Some(_), Some(_)) => ClusterState::Applied,
            (Some(_), None) => ClusterState::Missing,
        },
    })
}

pub async fn cronjob_view(
    state: &AppState,
    tenant: &Tenant,
    project: &Project,
    app: Application,
) -> Result<CronJobView, ApiError> {
    let observed = observe_only(state, tenant, project, Some(&app.name)).await?;
    let now = Timestamp::now();
    let recorded = state.store().latest_run(&project.id, &app.name).await?;
    let last_runs = crate::history::last_runs(
        observed.as_ref(),
        recorded
            .map(|r| (app.name.clone(), r))
            .into_iter()
            .collect(),
    );
    let summary =
        summarize(&app, observed.as_ref(), &last_runs, now).ok_or(ApiError::NotFound("CronJob"))?;
    let ApplicationSpec::Cronjob(spec) = app.spec else {
        return Err(ApiError::NotFound("CronJob"));
    };
    let container = container_of(state, project, &spec).await;
    let next_runs = if spec.suspend {
        vec![]
    } else {
        hks_schedule::check(&spec.schedule, &spec.time_zone)
            .map(|s| s.fire_times(now).take(5).collect())
            .unwrap_or_default()
    };
    Ok(CronJobView {
        summary,
        container,
        spec,
        next_runs,
        generation: app.generation,
        created_at: app.created_at,
        updated_at: app.updated_at,
    })
}

/// The generation each object had after HKS last applied it, per tenant:
/// an object whose generation moved on since was edited by someone else.
/// Kept in memory: after a restart the first reconciliation applies everything.
#[derive(Debug, Default)]
pub struct Generations(Mutex<HashMap<(String, ObjectKey), i64>>);

impl Generations {
    pub fn remember(&self, tenant_id: &str, applied: &[hks_kube::Applied]) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for a in applied {
            match a.generation {
                Some(g) => map.insert((tenant_id.to_owned(), a.key.clone()), g),
                None => map.remove(&(tenant_id.to_owned(), a.key.clone())),
            };
        }
    }

    pub fn forget(&self, tenant_id: &str, key: &ObjectKey) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(tenant_id.to_owned(), key.clone()));
    }

    fn get(&self, tenant_id: &str, key: &ObjectKey) -> Option<i64> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(tenant_id.to_owned(), key.clone()))
            .copied()
    }
}

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
}

/// Makes every tenant cluster match the store. CronJobs are compared with the
/// watch cache: one that is missing, or whose generation is not the one HKS's
/// last apply returned (edited by hand), is applied again, and server-side
/// apply takes the fields back. Namespaces, Deployments and Services are
/// re-applied every pass. HKS CronJobs the store does not know are deleted.
pub async fn reconcile(state: &AppState) -> Result<Reconciled, ApiError> {
    let mut out = Reconciled::default();
    for (tenant, conn) in tenants_with_clusters(state).await? {
        let cluster = TenantCluster {
            tenant_id: &tenant.id,
            connection: &conn,
        };
        for project in state.store().list_projects(&tenant.id).await? {
            out.projects += 1;
            let _guard = state.locks().lock(&project.id).await;
            let p = placement(&tenant.name, &project);
            let apps = state.store().list_applications(&project.id, None).await?;
            let observed = match state.gateway().observe(cluster, &project.namespace).await {
                Ok(o) if o.fresh => Some(o),
                _ => None,
            };
            let mut objects = vec![Object::Namespace(manifest::namespace(&p))];
            for app in &apps {
                match render(state, &p, &project, &app.name, &app.spec).await {
                    Ok(rendered) => {
                        for o in rendered {
                            let current = match (&o, &observed) {
                                (Object::CronJob(_), Some(seen)) => {
                                    let key = o.key();
                                    let seen =
                                        seen.cronjobs.get(&key.name).and_then(|c| c.generation);
                                    seen.is_some()
                                        && seen == state.generations().get(&tenant.id, &key)
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
                        warn!(%error, tenant = %tenant.name, project = %project.name, application = %app.name, "Cannot render application.")
                    }
                }
            }
            match state.gateway().apply(cluster, &objects).await {
                Ok(applied) => {
                    out.applied += applied.len();
                    state.generations().remember(&tenant.id, &applied);
                }
                Err(error) => {
                    out.failed_projects += 1;
                    metrics::counter!("hks_reconcile_failures_total").increment(1);
                    warn!(%error, tenant = %tenant.name, project = %project.name, "Reconciliation failed.");
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
                if state.gateway().delete(cluster, &key).await.is_ok() {
                    out.orphans_deleted += 1;
                    state.generations().forget(&tenant.id, &key);
                    info!(tenant = %tenant.name, project = %project.name, cronjob = %orphan, "Deleted a CronJob HKS does not know.");
                }
            }
        }
    }
    Ok(out)
}
