//! Control over single runs: Run now (with one run's overrides), re-run,
//! cancel and backfill. Each starts or stops a Job in the tenant's cluster
//! and nothing else: Kubernetes' Job controller runs it, and the recorder
//! records it like any run, with who started it and how.

use hks_core::audit::{AuditAction, diff};
use hks_core::backfill::{self, BackfillRequest};
use hks_core::manifest::Start;
use hks_core::run::{Run, RunResult, missed_run_name};
use hks_core::spec::{ApplicationSpec, ApplicationType, ConcurrencyPolicy, RunOverrides};
use hks_kube::KubeError;
use hks_store::{Principal, Project};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Container;
use tracing::info;

use crate::tenancy::{self, Scope};
use crate::{App, AppError, Budget};

/// The audit entry of a run started or stopped by hand: `fields` as JSON
/// (an override's environment values redacted).
async fn record(
    app: &App,
    principal: &Principal,
    project: &Project,
    cronjob: &str,
    action: AuditAction,
    fields: serde_json::Value,
) {
    let changes = diff(None, Some(&fields));
    crate::audit::by(
        app,
        principal,
        &project.name,
        action,
        &format!("cronjob/{cronjob}"),
        &changes,
    )
    .await;
}

/// A CronJob that HKS stores but the cluster does not have right now.
fn not_in_cluster(name: &str) -> impl FnOnce(KubeError) -> AppError + '_ {
    move |e| match e {
        // Deleted by hand: the reconciler re-applies it.
        KubeError::NotFound => AppError::Conflict(format!(
            "CronJob '{name}' is not in the cluster right now; it is re-applied within a minute, try again then"
        )),
        other => other.into(),
    }
}

/// Run now: a Job from the CronJob's full jobTemplate, marked manual with
/// who started it, with one run's overrides (checked as the CronJob's own
/// fields are; nothing starts when they are invalid).
pub async fn run_now(
    app: &App,
    principal: &Principal,
    project: &Project,
    name: &str,
    overrides: &RunOverrides,
) -> Result<Run, AppError> {
    let cronjob = tenancy::application(app, project, name, Some(ApplicationType::Cronjob)).await?;
    let calls_function =
        matches!(&cronjob.spec, ApplicationSpec::Cronjob(c) if c.function.is_some());
    hks_core::spec::validate_overrides(overrides, calls_function)?;
    let scope = Scope::of(app, principal).await?;
    app.spend(&principal.tenant_id, Budget::RunStarts, 1)?;
    let run = app
        .gateway()
        .start_run(
            scope.cluster(),
            &project.namespace,
            name,
            &crate::audit::actor(principal),
            &Start::Manual,
            overrides,
        )
        .await
        .map_err(not_in_cluster(name))?;
    info!(tenant = %principal.tenant_name, project = %project.name, cronjob = %name, run = %run.name, overridden = !overrides.is_empty(), "Started a manual run.");
    let mut fields = serde_json::json!({"run": run.name});
    if !overrides.is_empty() {
        fields["overrides"] = serde_json::to_value(overrides).unwrap_or_default();
    }
    record(app, principal, project, name, AuditAction::RunStart, fields).await;
    Ok(run)
}

/// Re-runs a past run: a new run with the container that run had (from
/// HKS's history, or from the cluster while the recorder has not stored
/// it yet), its timeout override, and the CronJob's other settings as they
/// are now. A missed run never ran (it is backfilled instead), and a run
/// whose container HKS never saw cannot be repeated: both are conflicts.
pub async fn rerun(
    app: &App,
    principal: &Principal,
    project: &Project,
    name: &str,
    run_name: &str,
) -> Result<Run, AppError> {
    tenancy::application(app, project, name, Some(ApplicationType::Cronjob)).await?;
    let scope = Scope::of(app, principal).await?;
    let recorded = app.store().run(&project.id, name, run_name).await?;
    let original = match recorded {
        Some(run) => run,
        None => crate::observe::project(app, &scope, project, Some(name))
            .await?
            .and_then(|mut o| o.runs.remove(name))
            .and_then(|runs| runs.into_iter().find(|r| r.name == run_name))
            .ok_or(AppError::NotFound("run"))?,
    };
    if original.result == RunResult::Missed {
        return Err(AppError::Conflict(format!(
            "run '{run_name}' is a missed time that never ran: backfill it to run it now"
        )));
    }
    let container = match app
        .store()
        .run_container(&project.id, name, run_name)
        .await?
    {
        Some(json) => Some(
            serde_json::from_str::<Container>(&json)
                .map_err(|e| AppError::Store(hks_store::StoreError::Corrupt(e)))?,
        ),
        None => match app
            .gateway()
            .run_container(scope.cluster(), &project.namespace, name, run_name)
            .await
        {
            Ok(c) => c,
            Err(KubeError::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
    };
    let Some(container) = container else {
        return Err(AppError::Conflict(format!(
            "HKS has no record of what run '{run_name}' ran (it ended before HKS kept runs' containers): start a new run with Run now"
        )));
    };
    // The container has the run's command and environment overrides in it;
    // of the overrides, the timeout is the Job's.
    let overrides = RunOverrides {
        timeout_seconds: original.overrides.and_then(|o| o.timeout_seconds),
        ..RunOverrides::default()
    };
    app.spend(&principal.tenant_id, Budget::RunStarts, 1)?;
    let run = app
        .gateway()
        .start_run(
            scope.cluster(),
            &project.namespace,
            name,
            &crate::audit::actor(principal),
            &Start::Rerun {
                of: run_name.to_owned(),
                container: Box::new(container),
            },
            &overrides,
        )
        .await
        .map_err(not_in_cluster(name))?;
    info!(tenant = %principal.tenant_name, project = %project.name, cronjob = %name, run = %run.name, rerun_of = %run_name, "Started a re-run.");
    let fields = serde_json::json!({"run": run.name, "rerunOf": run_name});
    record(app, principal, project, name, AuditAction::RunRerun, fields).await;
    Ok(run)
}

/// Cancels a run that has not ended ([`hks_kube::Gateway::cancel_run`]):
/// Kubernetes stops its pods and the run ends as `Cancelled`, with who
/// cancelled it. A run that has ended, in the cluster or only in HKS's
/// history, is a conflict that says so; an unknown run is not found.
pub async fn cancel_run(
    app: &App,
    principal: &Principal,
    project: &Project,
    name: &str,
    run_name: &str,
) -> Result<Run, AppError> {
    tenancy::application(app, project, name, Some(ApplicationType::Cronjob)).await?;
    let scope = Scope::of(app, principal).await?;
    let ended = |run: &Run| {
        AppError::Conflict(format!(
            "run '{run_name}' has already ended ({:?}): there is nothing to cancel",
            run.result
        ))
    };
    match app
        .gateway()
        .cancel_run(
            scope.cluster(),
            &project.namespace,
            name,
            run_name,
            &crate::audit::actor(principal),
        )
        .await
    {
        Ok(hks_kube::CancelOutcome::Requested(run)) => {
            info!(tenant = %principal.tenant_name, project = %project.name, cronjob = %name, run = %run_name, "Cancelled a run.");
            let fields = serde_json::json!({"run": run_name});
            record(
                app,
                principal,
                project,
                name,
                AuditAction::RunCancel,
                fields,
            )
            .await;
            Ok(run)
        }
        Ok(hks_kube::CancelOutcome::AlreadyEnded(run)) => Err(ended(&run)),
        // Kubernetes no longer has the Job: a run HKS recorded has ended.
        Err(KubeError::NotFound) => match app.store().run(&project.id, name, run_name).await? {
            Some(run) => Err(ended(&run)),
            None => Err(AppError::NotFound("run")),
        },
        Err(e) => Err(e.into()),
    }
}

/// Backfills scheduled times: one run per time, named and annotated as
/// the CronJob controller would have done then ([`Start::Backfill`]), the
/// oldest first. Every time is checked before anything starts: it must be
/// one the schedule fires at, in the past week, and not have run already
/// (a missed run of that time may be backfilled once). With `Allow` the
/// runs start at once; with `Forbid` or `Replace` they wait, suspended, and
/// the controller's backfill step lets them start one at a time when none of
/// the CronJob's runs is going. Missed runs so backfilled note the run.
pub async fn backfill(
    app: &App,
    principal: &Principal,
    project: &Project,
    name: &str,
    request: &BackfillRequest,
) -> Result<Vec<Run>, AppError> {
    backfill::check_shape(request)?;
    let cronjob = tenancy::application(app, project, name, Some(ApplicationType::Cronjob)).await?;
    let ApplicationSpec::Cronjob(spec) = &cronjob.spec else {
        return Err(AppError::NotFound("CronJob"));
    };
    let Some(schedule) =
        hks_core::schedule::of_cronjob(&spec.schedule, &spec.time_zone, &project.name, name)
    else {
        return Err(AppError::Conflict(format!(
            "the schedule of CronJob '{name}' cannot be read; edit it first"
        )));
    };
    let now = Timestamp::now();
    let since = now - backfill::MAX_AGE;
    let recorded = app.store().runs_since(&project.id, name, since).await?;
    let scope = Scope::of(app, principal).await?;
    let in_cluster = crate::observe::project(app, &scope, project, Some(name))
        .await?
        .and_then(|mut o| o.runs.remove(name))
        .unwrap_or_default();
    // The runs that started for a time (missed ones did not).
    let ran = |at: Timestamp| {
        recorded
            .iter()
            .chain(&in_cluster)
            .find(|r| r.scheduled_at == Some(at) && r.result != RunResult::Missed)
            .map(|r| r.name.clone())
    };
    let times: Vec<Timestamp> = if request.missed {
        recorded
            .iter()
            .filter(|r| r.result == RunResult::Missed && r.backfilled_by.is_none())
            .filter_map(|r| r.scheduled_at)
            .filter(|at| ran(*at).is_none())
            .take(backfill::MAX_TIMES)
            .collect()
    } else {
        let times = backfill::times(request, &schedule, now)?;
        let mut problems = hks_core::problem::Problems::new();
        for (i, at) in times.iter().enumerate() {
            if let Some(run) = ran(*at) {
                let field = request
                    .scheduled_times
                    .iter()
                    .position(|t| t.trim().parse::<Timestamp>().ok() == Some(*at))
                    .unwrap_or(i);
                problems.push(
                    hks_core::problem::index("scheduledTimes", field),
                    hks_core::Code::Conflict,
                    format!("{at} already ran as run '{run}'"),
                    Some("re-run that run instead"),
                );
            }
        }
        problems.finish()?;
        times
    };
    let wait = spec.concurrency_policy != ConcurrencyPolicy::Allow;
    app.spend(
        &principal.tenant_id,
        Budget::RunStarts,
        u32::try_from(times.len()).unwrap_or(u32::MAX),
    )?;
    let who = crate::audit::actor(principal);
    let mut started = Vec::with_capacity(times.len());
    for at in times {
        let start = Start::Backfill {
            scheduled: at.to_zoned(schedule.zone().tz().clone()),
            wait,
        };
        let run = match app
            .gateway()
            .start_run(
                scope.cluster(),
                &project.namespace,
                name,
                &who,
                &start,
                &RunOverrides::default(),
            )
            .await
        {
            Ok(run) => run,
            // Its Job exists: started by an earlier backfill a moment ago
            // (or by the controller); nothing to start.
            Err(KubeError::Rejected { code: 409, .. }) => continue,
            Err(e) if started.is_empty() => return Err(not_in_cluster(name)(e)),
            // Some started: say which, and the cause in the log.
            Err(e) => {
                tracing::warn!(error = %e, tenant = %principal.tenant_name, cronjob = %name, "A backfill stopped part-way.");
                break;
            }
        };
        app.store()
            .mark_backfilled(&project.id, name, &missed_run_name(at), &run.name)
            .await?;
        started.push(run);
    }
    info!(tenant = %principal.tenant_name, project = %project.name, cronjob = %name, runs = started.len(), "Backfilled scheduled times.");
    if !started.is_empty() {
        let fields = serde_json::json!({
            "runs": started.iter().map(|r| &r.name).collect::<Vec<_>>(),
            "scheduledTimes": started.iter().map(|r| r.scheduled_at.map(|t| t.to_string())).collect::<Vec<_>>(),
        });
        record(
            app,
            principal,
            project,
            name,
            AuditAction::RunBackfill,
            fields,
        )
        .await;
    }
    Ok(started)
}
