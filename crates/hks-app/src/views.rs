//! What a principal reads about CronJobs: the stored configuration with
//! what the tenant's watch caches show (never a request to the cluster per
//! read), the schedule in words and its next runs.

use std::collections::HashMap;

use hks_core::run::{Run, RunMark};
use hks_core::spec::{ApplicationSpec, ContainerSource, CronJobSpec, TemplateMode};
use hks_kube::Observed;
use hks_store::{Application, Project};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::commands::Written;
use crate::observe;
use crate::plan::{self, Plan, Sources};
use crate::tenancy::Scope;
use crate::{App, AppError};

/// Whether the CronJob is in the cluster as HKS last applied it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum ClusterState {
    /// Present in the cluster.
    Applied,
    /// Not in the cluster (deleted by hand?); the reconciler re-applies it.
    Missing,
    /// The cluster has not been reached yet.
    Unknown,
}

/// Who suspended a CronJob, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Suspension {
    /// `tenant/token`.
    pub suspended_by: String,
    #[schema(value_type = String, format = DateTime)]
    pub suspended_at: Timestamp,
    /// The note left with the suspend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl From<hks_store::Suspension> for Suspension {
    fn from(s: hks_store::Suspension) -> Self {
        Self {
            suspended_by: s.by,
            suspended_at: s.at,
            reason: s.reason,
        }
    }
}

/// A CronJob in a list: what a table row shows.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CronJobSummary {
    pub name: String,
    /// The schedule as written (it may use `H`).
    pub schedule: String,
    /// When the schedule uses `H`: the plain expression Kubernetes runs,
    /// with the values chosen from the project and the CronJob's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expanded_schedule: Option<String>,
    pub time_zone: String,
    /// The schedule in words (of the expanded schedule).
    pub description: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_run: Option<Timestamp>,
    pub suspended: bool,
    /// Who suspended it, when and why, while it is suspended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspension: Option<Suspension>,
    /// `follow` or `snapshot` when made from a template.
    pub template_mode: Option<TemplateMode>,
    pub template: Option<String>,
    /// The Function it calls, for a CronJob that calls one.
    pub function: Option<String>,
    /// The newest run, scheduled or manual; `null` when it never ran.
    pub last_run: Option<Run>,
    /// The newest runs (at most 20, missed ones included), newest first:
    /// the list's history strip. Empty in a single CronJob's view, whose
    /// runs list has them all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent: Vec<RunMark>,
    /// Runs in progress.
    pub active: usize,
    pub cluster_state: ClusterState,
}

/// One CronJob with everything about it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CronJobView {
    #[serde(flatten)]
    pub summary: CronJobSummary,
    pub spec: CronJobSpec,
    /// The container the runs use: the template's (or the image) with this
    /// CronJob's overrides, or for a Function call the HTTP client with its
    /// arguments. Secret values are never shown, only references.
    pub container: Option<ContainerSource>,
    /// The next few runs.
    #[schema(value_type = Vec<String>)]
    pub next_runs: Vec<Timestamp>,
    pub generation: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

/// A CronJob's summary; `last_runs` from [`crate::history::last_runs`];
/// `schedule`: its schedule parsed, when the caller has it already.
pub fn summarize(
    project: &str,
    app: &Application,
    observed: Option<&Observed>,
    last_runs: &HashMap<String, Run>,
    now: Timestamp,
    schedule: Option<&hks_schedule::Schedule>,
) -> Option<CronJobSummary> {
    let ApplicationSpec::Cronjob(c) = &app.spec else {
        return None;
    };
    let parsed;
    let schedule = match schedule {
        Some(s) => Some(s),
        None => {
            parsed = hks_core::schedule::of_cronjob(&c.schedule, &c.time_zone, project, &app.name);
            parsed.as_ref()
        }
    };
    let cluster = observed.and_then(|o| o.cronjobs.get(&app.name));
    Some(CronJobSummary {
        name: app.name.clone(),
        schedule: c.schedule.to_string(),
        expanded_schedule: hks_schedule::spread::has_spread(&c.schedule)
            .then(|| hks_core::schedule::kubernetes_schedule(&c.schedule, project, &app.name)),
        time_zone: c.time_zone.to_string(),
        description: schedule.map(|s| s.describe()),
        next_run: if c.suspend {
            None
        } else {
            schedule.and_then(|s| s.next_after(now))
        },
        suspended: c.suspend,
        suspension: None,
        template_mode: c.template.as_ref().map(|t| t.mode),
        template: c.template.as_ref().map(|t| t.application.to_string()),
        function: c.function.as_ref().map(|f| f.name.to_string()),
        last_run: last_runs.get(&app.name).cloned(),
        recent: vec![],
        active: cluster.map_or(0, |c| c.active),
        cluster_state: match (observed, cluster) {
            (None, _) => ClusterState::Unknown,
            (Some(_), Some(_)) => ClusterState::Applied,
            (Some(_), None) => ClusterState::Missing,
        },
    })
}

/// How many runs a list row's history strip shows.
pub const RECENT_RUNS: u32 = 20;

/// A CronJob's newest runs as marks: the recorded ones with those the
/// cluster has (fresher, and maybe not recorded yet), newest first.
fn recent_marks(recorded: Vec<RunMark>, live: Option<&Vec<Run>>) -> Vec<RunMark> {
    let mut by_name: std::collections::BTreeMap<String, RunMark> =
        recorded.into_iter().map(|m| (m.name.clone(), m)).collect();
    for r in live.into_iter().flatten().take(RECENT_RUNS as usize) {
        by_name.insert(r.name.clone(), RunMark::from(r));
    }
    let mut marks: Vec<RunMark> = by_name.into_values().collect();
    marks.sort_by(|a, b| (b.created_at, &b.name).cmp(&(a.created_at, &a.name)));
    marks.truncate(RECENT_RUNS as usize);
    marks
}

/// The summaries of a project's CronJobs, from one read of the store's
/// CronJobs and last runs and one look at the watch cache.
pub async fn cronjob_list(
    app: &App,
    scope: &Scope,
    project: &Project,
    now: Timestamp,
) -> Result<(Vec<CronJobSummary>, bool), AppError> {
    let apps = app
        .store()
        .list_applications(&project.id, Some(hks_core::spec::ApplicationType::Cronjob))
        .await?;
    let observed = observe::project(app, scope, project, None).await?;
    let last_runs = crate::history::last_runs(
        observed.as_ref(),
        app.store().latest_runs(&project.id).await?,
    );
    let mut suspensions = app.store().suspensions(&project.id).await?;
    let mut recent = app.store().recent_runs(&project.id, RECENT_RUNS).await?;
    let summaries = apps
        .iter()
        .filter_map(|a| {
            let mut s = summarize(&project.name, a, observed.as_ref(), &last_runs, now, None)?;
            if s.suspended {
                s.suspension = suspensions.remove(&a.name).map(Suspension::from);
            }
            s.recent = recent_marks(
                recent.remove(&a.name).unwrap_or_default(),
                observed.as_ref().and_then(|o| o.runs.get(&a.name)),
            );
            Some(s)
        })
        .collect();
    Ok((summaries, observed.is_some()))
}

/// One CronJob with everything about it.
pub async fn cronjob_view(
    app: &App,
    scope: &Scope,
    project: &Project,
    application: Application,
) -> Result<CronJobView, AppError> {
    view(app, scope, project, application, None).await
}

/// The CronJob a write just stored, from the write's plan (its resolved
/// container and parsed schedule are not derived again) and what the apply
/// returned (the CronJob is in the cluster even if the watch cache has not
/// seen it yet).
pub async fn written_view(
    app: &App,
    project: &Project,
    written: Written,
) -> Result<CronJobView, AppError> {
    let Written {
        application,
        plan,
        applied,
        scope,
    } = written;
    let name = application.name.clone();
    let mut view = view(app, &scope, project, application, Some(&plan)).await?;
    let in_cluster = applied
        .iter()
        .any(|a| a.key.kind == hks_kube::Kind::CronJob && a.key.name == name);
    if in_cluster && view.summary.cluster_state == ClusterState::Missing {
        view.summary.cluster_state = ClusterState::Applied;
    }
    Ok(view)
}

async fn view(
    app: &App,
    scope: &Scope,
    project: &Project,
    application: Application,
    plan: Option<&Plan>,
) -> Result<CronJobView, AppError> {
    let observed = observe::project(app, scope, project, Some(&application.name)).await?;
    let now = Timestamp::now();
    let recorded = app
        .store()
        .latest_run(&project.id, &application.name)
        .await?;
    let last_runs = crate::history::last_runs(
        observed.as_ref(),
        recorded
            .map(|r| (application.name.clone(), r))
            .into_iter()
            .collect(),
    );
    let parsed;
    let schedule = match plan.and_then(|p| p.schedule.as_ref()) {
        Some(s) => Some(s),
        None => {
            parsed = match &application.spec {
                ApplicationSpec::Cronjob(c) => hks_core::schedule::of_cronjob(
                    &c.schedule,
                    &c.time_zone,
                    &project.name,
                    &application.name,
                ),
                _ => None,
            };
            parsed.as_ref()
        }
    };
    let mut summary = summarize(
        &project.name,
        &application,
        observed.as_ref(),
        &last_runs,
        now,
        schedule,
    )
    .ok_or(AppError::NotFound("CronJob"))?;
    if summary.suspended {
        summary.suspension = app
            .store()
            .suspension(&project.id, &application.name)
            .await?
            .map(Suspension::from);
    }
    let next_runs = match schedule {
        Some(s) if !summary.suspended => s.fire_times(now).take(5).collect(),
        _ => vec![],
    };
    let ApplicationSpec::Cronjob(spec) = application.spec else {
        return Err(AppError::NotFound("CronJob"));
    };
    let container = match plan {
        Some(p) => p.container.clone(),
        None => plan::container(app, &Sources::store(app, &project.id), &spec).await,
    };
    Ok(CronJobView {
        summary,
        container,
        spec,
        next_runs,
        generation: application.generation,
        created_at: application.created_at,
        updated_at: application.updated_at,
    })
}
