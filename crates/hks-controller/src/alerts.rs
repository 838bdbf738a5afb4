//! The alerts a run raises, through the installation's `Alerter`.

use hks_app::App;
use hks_core::run::{Run, RunResult};
use hks_history::alerts::Outcome;
use jiff::Timestamp;
use tracing::info;

use crate::pass::PassError;

/// Raises the finished-run alerts of a final run, once: the alerts' keys
/// make raising idempotent, and the run is marked only after they are raised.
pub(crate) async fn raise(
    app: &App,
    project_id: &str,
    cronjob: &str,
    run: &Run,
) -> Result<(), PassError> {
    let outcome = match run.result {
        RunResult::Succeeded => Some(Outcome::Succeeded),
        RunResult::Failed => Some(Outcome::Failed),
        _ => None,
    };
    if run.result == RunResult::Missed
        && let Some(scheduled) = run.scheduled_at
    {
        app.alerter()
            .missed(
                project_id,
                cronjob,
                scheduled,
                run.message.as_deref().unwrap_or_default(),
            )
            .await?;
    }
    if let Some(outcome) = outcome {
        let before = run
            .created_at
            .or(run.scheduled_at)
            .unwrap_or_else(Timestamp::now);
        let earlier: Vec<Outcome> = app
            .store()
            .earlier_results(project_id, cronjob, before, 100)
            .await?
            .into_iter()
            .map(|r| match r {
                RunResult::Succeeded => Outcome::Succeeded,
                _ => Outcome::Failed,
            })
            .collect();
        if outcome == Outcome::Failed {
            info!(project = %project_id, %cronjob, run = %run.name, reason = ?run.reason, "A run failed.");
        }
        app.alerter()
            .run_finished(
                project_id,
                cronjob,
                &run.name,
                outcome,
                run.reason.as_deref(),
                &earlier,
            )
            .await?;
    }
    app.store()
        .mark_alerted(project_id, cronjob, &run.name)
        .await?;
    Ok(())
}
