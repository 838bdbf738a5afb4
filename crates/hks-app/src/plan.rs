//! A write, prepared once.
//!
//! Preparing a write yields a [`Plan`]: the validated spec (with the
//! template snapshot the server takes), the parsed schedule, what a
//! CronJob's runs execute (its container, or the HTTP client calling its
//! Function) and the objects to apply. The command applies and stores the
//! plan, and the response is built from it: the template is read once, the
//! schedule parsed once, per write.
//!
//! The reconciler and the read views use the same [`resolve`], so the
//! objects a stored application is re-applied as are the ones its write
//! applied.

use hks_core::invoke::INVOKE_PROGRAM;
use hks_core::manifest::{self, Placement};
use hks_core::spec::{
    ApplicationSpec, ApplicationType, ContainerSource, CronJobSpec, FunctionSpec, StatelessSpec,
    TemplateMode, validate_application,
};
use hks_core::{Code, Invalid};
use hks_kube::{Kind, Object, ObjectKey};
use hks_store::Application;

use crate::{App, AppError};

/// A spec that passed [`validate`]: only a validated spec can be planned.
#[derive(Debug, Clone)]
pub struct Validated {
    name: String,
    spec: ApplicationSpec,
}

impl Validated {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn spec(&self) -> &ApplicationSpec {
        &self.spec
    }
}

/// Checks an application's name and spec, with no I/O: every problem, with
/// its field path.
pub fn validate(name: &str, spec: ApplicationSpec) -> Result<Validated, Invalid> {
    validate_application(name, &spec)?;
    Ok(Validated {
        name: name.to_owned(),
        spec,
    })
}

/// A write, ready to apply and store.
#[derive(Debug)]
pub struct Plan {
    pub name: String,
    /// What is stored: the validated spec with the server's template snapshot.
    pub spec: ApplicationSpec,
    /// What is applied: the application's objects, and those of the CronJobs
    /// that follow or call it (re-applied with its new spec).
    pub objects: Vec<Object>,
    /// What is deleted after the apply (a Service the new spec has no port for).
    pub stale: Vec<ObjectKey>,
    /// For a CronJob, what its runs execute, for people to read.
    pub container: Option<ContainerSource>,
    /// For a CronJob, its schedule, parsed.
    pub schedule: Option<hks_schedule::Schedule>,
}

/// Where the applications a CronJob refers to (its template, its Function)
/// are found: the store, the applications already read, and the spec being
/// written (which the store does not have yet).
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    app: &'a App,
    project_id: &'a str,
    loaded: Option<&'a [Application]>,
    pending: Option<(&'a str, &'a ApplicationSpec)>,
}

impl<'a> Sources<'a> {
    /// Looks applications up in the store.
    pub fn store(app: &'a App, project_id: &'a str) -> Self {
        Self {
            app,
            project_id,
            loaded: None,
            pending: None,
        }
    }

    /// Looks applications up in `apps`, every application of the project
    /// (the reconciler has read them already).
    pub fn loaded(app: &'a App, project_id: &'a str, apps: &'a [Application]) -> Self {
        Self {
            loaded: Some(apps),
            ..Self::store(app, project_id)
        }
    }

    /// The same, with `name` being written as `spec`.
    fn pending(self, name: &'a str, spec: &'a ApplicationSpec) -> Self {
        Self {
            pending: Some((name, spec)),
            ..self
        }
    }

    async fn get(&self, name: &str) -> Result<Option<ApplicationSpec>, AppError> {
        if let Some((n, spec)) = self.pending
            && n == name
        {
            return Ok(Some(spec.clone()));
        }
        if let Some(apps) = self.loaded {
            return Ok(apps.iter().find(|a| a.name == name).map(|a| a.spec.clone()));
        }
        match self.app.store().application(self.project_id, name).await {
            Ok(a) => Ok(Some(a.spec)),
            Err(hks_store::StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// What a CronJob's runs execute, resolved.
#[derive(Debug, Clone)]
enum Workload {
    Container(ContainerSource),
    Call(hks_core::invoke::Invocation),
}

impl Workload {
    /// For people to read: for a Function call, the HTTP client's image and
    /// exact arguments (never the token).
    fn container(&self) -> ContainerSource {
        match self {
            Self::Container(c) => c.clone(),
            Self::Call(inv) => ContainerSource {
                command: vec![INVOKE_PROGRAM.to_owned()],
                args: inv.args(),
                image: inv.image.clone(),
                env: vec![],
                resources: inv.resources.clone(),
                security: manifest::invoker_security(),
            },
        }
    }

    fn cronjob(&self, p: &Placement, name: &str, c: &CronJobSpec) -> Object {
        Object::CronJob(match self {
            Self::Container(source) => manifest::cronjob(p, name, c, source),
            Self::Call(inv) => manifest::function_cronjob(p, name, c, inv),
        })
    }
}

/// The template a CronJob names, as it is now; `None` when it names none,
/// or when the template is gone but the CronJob keeps a snapshot of it.
async fn template(
    sources: &Sources<'_>,
    c: &CronJobSpec,
) -> Result<Option<StatelessSpec>, AppError> {
    let Some(t) = &c.template else {
        return Ok(None);
    };
    match sources.get(&t.application).await? {
        Some(ApplicationSpec::Stateless(s)) => Ok(Some(s)),
        Some(_) => Err(Invalid::one(
            "spec.template.application",
            Code::TemplateNotStateless,
            format!(
                "'{}' is not a Stateless application; only Stateless applications can be templates",
                t.application
            ),
        )
        .into()),
        None if t.mode == TemplateMode::Snapshot && t.snapshot.is_some() => Ok(None),
        None => Err(Invalid::one(
            "spec.template.application",
            Code::TemplateNotFound,
            format!(
                "there is no Stateless application named '{}' in this project",
                t.application
            ),
        )
        .with_hint("create the Stateless application first, or give an explicit `image`")
        .into()),
    }
}

/// The Function a CronJob calls.
async fn function(sources: &Sources<'_>, name: &str) -> Result<FunctionSpec, AppError> {
    match sources.get(name).await? {
        Some(ApplicationSpec::Function(f)) => Ok(f),
        Some(_) => Err(Invalid::one(
            "spec.function.name",
            Code::NotAFunction,
            format!("'{name}' is not a Function"),
        )
        .into()),
        None => Err(Invalid::one(
            "spec.function.name",
            Code::FunctionNotFound,
            format!("there is no Function named '{name}' in this project"),
        )
        .with_hint("create the Function first")
        .into()),
    }
}

/// What a CronJob's runs execute: its own container (from its template and
/// overrides), or the HTTP client calling its Function. One read of the
/// template or the Function.
async fn workload(app: &App, sources: &Sources<'_>, c: &CronJobSpec) -> Result<Workload, AppError> {
    if let Some(call) = &c.function {
        let f = function(sources, &call.name).await?;
        return Ok(Workload::Call(call.resolve(
            &f,
            app.invoke_image(),
            c.resources.clone().unwrap_or_default(),
        )));
    }
    let template = template(sources, c).await?;
    Ok(Workload::Container(c.resolve(template.as_ref())?))
}

/// What a stored CronJob's runs execute, for people to read; `None` when it
/// cannot be resolved now (its template or Function is gone).
pub async fn container(
    app: &App,
    sources: &Sources<'_>,
    c: &CronJobSpec,
) -> Option<ContainerSource> {
    workload(app, sources, c).await.ok().map(|w| w.container())
}

/// The objects a stored application is made of.
pub async fn resolve(
    app: &App,
    sources: &Sources<'_>,
    p: &Placement,
    name: &str,
    spec: &ApplicationSpec,
) -> Result<Vec<Object>, AppError> {
    Ok(match spec {
        ApplicationSpec::Stateless(s) => stateless_objects(p, name, s),
        ApplicationSpec::Cronjob(c) => vec![workload(app, sources, c).await?.cronjob(p, name, c)],
        // A Function is an endpoint HKS calls; it has no objects of its own.
        ApplicationSpec::Function(_) => vec![],
    })
}

fn stateless_objects(p: &Placement, name: &str, s: &StatelessSpec) -> Vec<Object> {
    let (d, svc) = manifest::stateless(p, name, s);
    let mut v = vec![Object::Deployment(d)];
    v.extend(svc.map(Object::Service));
    v
}

/// The objects an application may own in the cluster.
/// The objects of a project itself: its namespace (with Pod Security
/// labels) and the LimitRange that gives containers without resources their
/// limits. Applied when the project is created and on every reconcile pass.
pub fn project_objects(p: &Placement) -> Vec<Object> {
    vec![
        Object::Namespace(manifest::namespace(p)),
        Object::LimitRange(manifest::limit_range(p)),
    ]
}

pub fn owned(p: &Placement, name: &str, kind: ApplicationType) -> Vec<ObjectKey> {
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

/// Prepares a write of `validated` into the project at `p`.
///
/// A template snapshot is never taken from the input. It is kept from
/// `previous` (the stored spec, on an edit) when that already snapshotted
/// the same template, so suspending or editing a snapshot CronJob does not
/// pick up template changes; otherwise (create, another template, a switch
/// from `follow`) it is taken from the template as it is now.
///
/// `dependents`: on an edit of a Stateless application or a Function, the
/// CronJobs that refer to it (from [`hks_store::Store::cronjobs_referring_to`]);
/// those that follow the template or call the Function are re-applied with
/// the new spec.
pub async fn prepare(
    app: &App,
    sources: Sources<'_>,
    p: &Placement,
    validated: Validated,
    previous: Option<&ApplicationSpec>,
    dependents: &[Application],
) -> Result<Plan, AppError> {
    let Validated { name, mut spec } = validated;
    let mut container = None;
    let mut schedule = None;
    let mut objects = match &mut spec {
        ApplicationSpec::Cronjob(c) => {
            let kept = match (previous, &c.template) {
                (Some(ApplicationSpec::Cronjob(old)), Some(new)) => old
                    .template
                    .as_ref()
                    .filter(|o| {
                        o.application == new.application && o.mode == TemplateMode::Snapshot
                    })
                    .and_then(|o| o.snapshot.clone()),
                _ => None,
            };
            if let Some(t) = c.template.as_mut() {
                t.snapshot = kept.filter(|_| t.mode == TemplateMode::Snapshot);
            }
            let workload = if c.function.is_some() {
                workload(app, &sources, c).await?
            } else {
                // The template is read here rather than in `workload`: a
                // snapshot of it is taken before the container is resolved.
                let live = template(&sources, c).await?;
                if let (Some(t), Some(live)) = (c.template.as_mut(), live.as_ref())
                    && t.mode == TemplateMode::Snapshot
                    && t.snapshot.is_none()
                {
                    t.snapshot = Some(ContainerSource::of_stateless(live));
                }
                Workload::Container(c.resolve(live.as_ref())?)
            };
            schedule = hks_core::schedule::of_cronjob(&c.schedule, &c.time_zone, &p.project, &name);
            container = Some(workload.container());
            vec![workload.cronjob(p, &name, c)]
        }
        ApplicationSpec::Stateless(s) => stateless_objects(p, &name, s),
        ApplicationSpec::Function(_) => vec![],
    };
    let mut stale = vec![];
    if let ApplicationSpec::Stateless(s) = &spec
        && previous.is_some()
        && s.port.is_none()
    {
        stale.push(ObjectKey {
            kind: Kind::Service,
            namespace: Some(p.namespace.clone()),
            name: name.clone(),
        });
    }
    // CronJobs that follow this template, or call this Function, are
    // re-applied with its new spec (the store still has the old one).
    let with_new = sources.pending(&name, &spec);
    for d in dependents {
        let ApplicationSpec::Cronjob(c) = &d.spec else {
            continue;
        };
        let affected = match &spec {
            ApplicationSpec::Stateless(_) => c
                .template
                .as_ref()
                .is_some_and(|t| t.application.as_str() == name && t.mode == TemplateMode::Follow),
            ApplicationSpec::Function(_) => {
                c.function.as_ref().is_some_and(|f| f.name.as_str() == name)
            }
            ApplicationSpec::Cronjob(_) => false,
        };
        if affected {
            objects.push(workload(app, &with_new, c).await?.cronjob(p, &d.name, c));
        }
    }
    Ok(Plan {
        name,
        spec,
        objects,
        stale,
        container,
        schedule,
    })
}

/// The problem for a name that is taken.
pub fn name_taken(name: &str, project: &str) -> AppError {
    AppError::Conflict(format!(
        "application '{name}' already exists in project '{project}'"
    ))
}
