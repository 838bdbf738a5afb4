//! Writes.
//!
//! Writes follow one rule: **apply first, store second, under the project's
//! lock**. If the tenant's cluster is unreachable the write is refused
//! (nothing stored); if it refuses the objects, nothing is stored either. The
//! lock serialises writes to one project (in this process), so the
//! existence check, the apply and the insert cannot interleave with another
//! write, and the reconciler never re-applies a configuration that is being
//! replaced.
//!
//! Each write checks what needs no I/O first (the spec, the name), then
//! whether the name is free, and only then reads what the spec refers to:
//! see [`crate::plan`].

use hks_core::audit::{AuditAction, diff};
use hks_core::formats;
use hks_core::manifest;
use hks_core::spec::{ApplicationSpec, ApplicationType, TemplateMode, validate_name};
use hks_core::{Code, Invalid};
use hks_kube::{Kind, Object, ObjectKey};
use hks_store::{Application, Principal, Project};
use tracing::info;

use crate::plan::{self, Plan, Sources};
use crate::tenancy::{self, Scope};
use crate::{App, AppError};

/// A write that was applied and stored.
#[derive(Debug)]
pub struct Written {
    pub application: Application,
    pub plan: Plan,
    /// What the cluster answered to the apply.
    pub applied: Vec<hks_kube::Applied>,
    /// The tenant's scope the write used, for the response's reads.
    pub scope: Scope,
}

pub async fn create_project(
    app: &App,
    principal: &Principal,
    name: &str,
) -> Result<Project, AppError> {
    validate_name("name", name, formats::MAX_PROJECT_NAME)?;
    if app
        .store()
        .project(&principal.tenant_id, name)
        .await
        .is_ok()
    {
        return Err(AppError::Conflict(format!(
            "project '{name}' already exists"
        )));
    }
    let scope = Scope::of(app, principal).await?;
    let p = manifest::Placement {
        installation: app.installation().to_owned(),
        tenant: principal.tenant_name.clone(),
        project: name.to_owned(),
        namespace: hks_core::tenant::project_namespace(&principal.tenant_id, name),
    };
    app.gateway()
        .apply(scope.cluster(), &plan::project_objects(&p))
        .await?;
    let project = app
        .store()
        .create_project(&principal.tenant_id, name)
        .await?;
    app.wrote(&principal.tenant_id);
    crate::audit::by(
        app,
        principal,
        name,
        AuditAction::ProjectCreate,
        &format!("project/{name}"),
        &[],
    )
    .await;
    Ok(project)
}

pub async fn delete_project(
    app: &App,
    principal: &Principal,
    project: &Project,
) -> Result<(), AppError> {
    let _guard = app.locks().lock(&project.id).await;
    let scope = Scope::of(app, principal).await?;
    // Deleting the namespace deletes everything in it.
    app.gateway()
        .delete(
            scope.cluster(),
            &ObjectKey {
                kind: Kind::Namespace,
                namespace: None,
                name: project.namespace.clone(),
            },
        )
        .await?;
    app.store().delete_project(&project.id).await?;
    app.wrote(&principal.tenant_id);
    crate::audit::by(
        app,
        principal,
        &project.name,
        AuditAction::ProjectDelete,
        &format!("project/{}", project.name),
        &[],
    )
    .await;
    Ok(())
}

/// What an application would be applied as, for previews: nothing is
/// stored or applied.
pub async fn preview(
    app: &App,
    principal: &Principal,
    project: &Project,
    name: &str,
    spec: ApplicationSpec,
) -> Result<Vec<Object>, AppError> {
    let validated = plan::validate(name, spec)?;
    let previous = app
        .store()
        .application(&project.id, name)
        .await
        .ok()
        .map(|a| a.spec);
    let p = tenancy::placement(app, &principal.tenant_name, project);
    let plan = plan::prepare(
        app,
        Sources::store(app, &project.id),
        &p,
        validated,
        previous.as_ref(),
        &[],
    )
    .await?;
    Ok(plan.objects)
}

pub async fn create_application(
    app: &App,
    principal: &Principal,
    project: &Project,
    name: &str,
    spec: ApplicationSpec,
) -> Result<Written, AppError> {
    let validated = plan::validate(name, spec)?;
    let _guard = app.locks().lock(&project.id).await;
    if app.store().application(&project.id, name).await.is_ok() {
        return Err(plan::name_taken(name, &project.name));
    }
    let p = tenancy::placement(app, &principal.tenant_name, project);
    let plan = plan::prepare(
        app,
        Sources::store(app, &project.id),
        &p,
        validated,
        None,
        &[],
    )
    .await?;
    let scope = Scope::of(app, principal).await?;
    let applied = app.gateway().apply(scope.cluster(), &plan.objects).await?;
    app.generations().remember(&scope.tenant_id, &applied);
    let application = app
        .store()
        .create_application(&project.id, name, &plan.spec)
        .await?;
    follow_suspension(app, principal, project, name, None, &plan.spec).await?;
    app.wrote(&principal.tenant_id);
    record_write(app, principal, project, name, None, Some(&plan.spec)).await;
    info!(tenant = %principal.tenant_name, project = %project.name, application = %name, kind = plan.spec.kind().as_str(), "Created application.");
    Ok(Written {
        application,
        plan,
        applied,
        scope,
    })
}

/// Replaces an application's spec; `kind`, when given, is the type the
/// caller addresses (another type is "not found").
pub async fn update_application(
    app: &App,
    principal: &Principal,
    project: &Project,
    name: &str,
    kind: Option<ApplicationType>,
    spec: ApplicationSpec,
) -> Result<Written, AppError> {
    let _guard = app.locks().lock(&project.id).await;
    let existing = tenancy::application(app, project, name, kind).await?;
    write_existing(app, principal, project, existing, spec, true).await
}

/// Suspends (with an optional note, already checked by
/// [`hks_core::spec::validate_suspend_request`]) or resumes a CronJob.
pub async fn set_suspend(
    app: &App,
    principal: &Principal,
    project: &Project,
    name: &str,
    suspend: bool,
    reason: Option<String>,
) -> Result<Written, AppError> {
    let _guard = app.locks().lock(&project.id).await;
    let existing = tenancy::application(app, project, name, Some(ApplicationType::Cronjob)).await?;
    let ApplicationSpec::Cronjob(mut spec) = existing.spec.clone() else {
        return Err(AppError::NotFound("CronJob"));
    };
    spec.suspend = suspend;
    let written = write_existing(
        app,
        principal,
        project,
        existing,
        ApplicationSpec::Cronjob(spec),
        false,
    )
    .await?;
    if suspend {
        note_suspension(app, principal, project, name, reason.clone()).await?;
    }
    let (action, changes) = if suspend {
        (
            AuditAction::CronjobSuspend,
            reason
                .map(|r| vec![hks_core::audit::set("reason", r)])
                .unwrap_or_default(),
        )
    } else {
        (AuditAction::CronjobResume, vec![])
    };
    crate::audit::by(
        app,
        principal,
        &project.name,
        action,
        &format!("cronjob/{name}"),
        &changes,
    )
    .await;
    Ok(written)
}

/// Records who suspended a CronJob, when, and why.
async fn note_suspension(
    app: &App,
    principal: &Principal,
    project: &Project,
    name: &str,
    reason: Option<String>,
) -> Result<(), AppError> {
    let s = hks_store::Suspension {
        by: format!("{}/{}", principal.tenant_name, principal.token_name),
        at: jiff::Timestamp::now(),
        reason,
    };
    app.store().set_suspension(&project.id, name, &s).await?;
    Ok(())
}

/// Keeps the suspension note in step with a write: a CronJob written
/// suspended that was not gets one (who, when, no reason); one written
/// running loses it.
async fn follow_suspension(
    app: &App,
    principal: &Principal,
    project: &Project,
    name: &str,
    before: Option<&ApplicationSpec>,
    after: &ApplicationSpec,
) -> Result<(), AppError> {
    let suspended = |s: &ApplicationSpec| matches!(s, ApplicationSpec::Cronjob(c) if c.suspend);
    match (before.is_some_and(suspended), suspended(after)) {
        (false, true) => note_suspension(app, principal, project, name, None).await,
        (_, false) if before.is_some() => {
            app.store().clear_suspension(&project.id, name).await?;
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The audit entry of a write to an application: created (`before` is
/// `None`), changed field by field, or deleted (`after` is `None`).
async fn record_write(
    app: &App,
    principal: &Principal,
    project: &Project,
    name: &str,
    before: Option<&ApplicationSpec>,
    after: Option<&ApplicationSpec>,
) {
    let Some(kind) = after.or(before).map(ApplicationSpec::kind) else {
        return;
    };
    let cronjob = kind == ApplicationType::Cronjob;
    let action = match (before.is_some(), after.is_some(), cronjob) {
        (false, _, true) => AuditAction::CronjobCreate,
        (false, _, false) => AuditAction::ApplicationCreate,
        (true, true, true) => AuditAction::CronjobUpdate,
        (true, true, false) => AuditAction::ApplicationUpdate,
        (true, false, true) => AuditAction::CronjobDelete,
        (true, false, false) => AuditAction::ApplicationDelete,
    };
    // The fields of the spec itself (the stored JSON wraps it with its type).
    let fields = |s: Option<&ApplicationSpec>| {
        s.and_then(|s| serde_json::to_value(s).ok())
            .and_then(|mut v| v.get_mut("spec").map(serde_json::Value::take))
    };
    let changes = if after.is_some() {
        diff(fields(before).as_ref(), fields(after).as_ref())
    } else {
        vec![]
    };
    let target = if cronjob {
        format!("cronjob/{name}")
    } else {
        format!("{}/{name}", kind.as_str())
    };
    crate::audit::by(app, principal, &project.name, action, &target, &changes).await;
}

/// The edit of `existing` to `spec`, under the project's lock; `record`:
/// written to the audit log as an update (a suspend writes its own entry).
async fn write_existing(
    app: &App,
    principal: &Principal,
    project: &Project,
    existing: Application,
    spec: ApplicationSpec,
    record: bool,
) -> Result<Written, AppError> {
    let name = existing.name.as_str();
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
    let validated = plan::validate(name, spec)?;
    let dependents = match existing.spec.kind() {
        ApplicationType::Cronjob => vec![],
        _ => app.store().cronjobs_referring_to(&project.id, name).await?,
    };
    let p = tenancy::placement(app, &principal.tenant_name, project);
    let plan = plan::prepare(
        app,
        Sources::store(app, &project.id),
        &p,
        validated,
        Some(&existing.spec),
        &dependents,
    )
    .await?;
    let scope = Scope::of(app, principal).await?;
    let applied = app.gateway().apply(scope.cluster(), &plan.objects).await?;
    app.generations().remember(&scope.tenant_id, &applied);
    for key in &plan.stale {
        app.gateway().delete(scope.cluster(), key).await?;
    }
    let application = app
        .store()
        .update_application(&project.id, name, &plan.spec)
        .await?;
    follow_suspension(
        app,
        principal,
        project,
        name,
        Some(&existing.spec),
        &plan.spec,
    )
    .await?;
    app.wrote(&principal.tenant_id);
    if record {
        record_write(
            app,
            principal,
            project,
            name,
            Some(&existing.spec),
            Some(&plan.spec),
        )
        .await;
    }
    info!(tenant = %principal.tenant_name, project = %project.name, application = %name, generation = application.generation, "Updated application.");
    Ok(Written {
        application,
        plan,
        applied,
        scope,
    })
}

pub async fn delete_application(
    app: &App,
    principal: &Principal,
    project: &Project,
    name: &str,
    kind: Option<ApplicationType>,
) -> Result<(), AppError> {
    let _guard = app.locks().lock(&project.id).await;
    let existing = tenancy::application(app, project, name, kind).await?;
    let kind = existing.spec.kind();
    if kind != ApplicationType::Cronjob {
        let dependents = app.store().cronjobs_referring_to(&project.id, name).await?;
        let names = |keep: &dyn Fn(&hks_core::spec::CronJobSpec) -> bool| -> Vec<String> {
            dependents
                .iter()
                .filter(|a| matches!(&a.spec, ApplicationSpec::Cronjob(c) if keep(c)))
                .map(|a| a.name.clone())
                .collect()
        };
        let followers = names(&|c| {
            c.template
                .as_ref()
                .is_some_and(|t| t.application == name && t.mode == TemplateMode::Follow)
        });
        if kind == ApplicationType::Stateless && !followers.is_empty() {
            return Err(AppError::Conflict(format!(
                "'{name}' is the template of CronJobs that follow it ({}); delete them or switch them to snapshot mode first",
                followers.join(", ")
            )));
        }
        let callers = names(&|c| c.function.as_ref().is_some_and(|f| f.name == name));
        if kind == ApplicationType::Function && !callers.is_empty() {
            return Err(AppError::Conflict(format!(
                "CronJobs call the Function '{name}' ({}); delete them or change what they run first",
                callers.join(", ")
            )));
        }
    }
    let p = tenancy::placement(app, &principal.tenant_name, project);
    let scope = Scope::of(app, principal).await?;
    for key in plan::owned(&p, name, kind) {
        app.gateway().delete(scope.cluster(), &key).await?;
        app.generations().forget(&scope.tenant_id, &key);
    }
    app.store().delete_application(&project.id, name).await?;
    app.wrote(&principal.tenant_id);
    record_write(app, principal, project, name, Some(&existing.spec), None).await;
    info!(tenant = %principal.tenant_name, project = %project.name, application = %name, "Deleted application.");
    Ok(())
}
