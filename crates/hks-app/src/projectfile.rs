//! A project as a file (issue 18): export, and apply with a preview.
//!
//! [`export`] writes what the store has as [`hks_core::projectfile`]'s
//! file. [`apply`] reads a file, checks all of it first (its YAML and
//! fields, what its CronJobs refer to, its webhooks' values, each problem
//! with its path, line and column) and changes nothing when any part is
//! invalid; then, unless it is a dry run, takes the plan's steps in order
//! through the same commands as the API's own writes (so validation, the
//! cluster apply and the store write are those of a single create, edit or
//! delete). A second apply of the same file finds nothing to change.
//!
//! Each step is a write of its own: a step refused by the cluster stops the
//! apply there ([`AppError::Stopped`] says how far it got), and applying the
//! file again goes on from there, since what was applied already matches.

use hks_core::Code;
use hks_core::audit::{AuditAction, AuditChange};
use hks_core::problem::Problems;
use hks_core::projectfile::{
    self, Action, Change, ChangeKind, Current, CurrentAlerts, CurrentChat, CurrentDestination,
    CurrentWebhook, DesiredAlerts, DesiredDestination, FileAlertRules, FileAlerts, Step, Values,
    Write,
};
use hks_core::spec::ApplicationSpec;
use hks_history::alerts::AlertRules;
use hks_store::{
    AlertSettings, Destination, DestinationUpdate, Principal, Project, WebhookSources,
    WebhookUpdate,
};
use secrecy::ExposeSecret;
use tracing::info;

use crate::{App, AppError, alerts, commands};

/// What the project has now, as a file sees it.
pub async fn current(app: &App, project: &Project) -> Result<Current, AppError> {
    let mut current = Current::default();
    for a in app.store().list_applications(&project.id, None).await? {
        current.applications.insert(a.name, a.spec);
    }
    for s in app.store().list_alert_settings(&project.id).await? {
        current.alerts.insert(s.cronjob.clone(), current_alerts(s));
    }
    Ok(current)
}

fn current_alerts(s: AlertSettings) -> CurrentAlerts {
    let sources = s.sources;
    let chat = |url: String| CurrentChat {
        url: url.into(),
        url_source: sources.url.clone(),
    };
    let destination = s.destination.map(|d| match d {
        Destination::Webhook(w) => CurrentDestination::Webhook(CurrentWebhook {
            url: w.url.into(),
            secret: w.secret,
            url_source: sources.url.clone(),
            secret_source: sources.secret.clone(),
        }),
        Destination::Slack { url } => CurrentDestination::Slack(chat(url)),
        Destination::Teams { url } => CurrentDestination::Teams(chat(url)),
        Destination::Email { to } => CurrentDestination::Email { to },
    });
    let r = s.rules;
    CurrentAlerts {
        rules: FileAlertRules {
            on_failure: r.on_failure,
            consecutive_failures: r.consecutive_failures,
            on_missed: r.on_missed,
            longer_than_seconds: r.longer_than_seconds,
            on_recovery: r.on_recovery,
        },
        destination,
    }
}

fn rules(r: &FileAlertRules) -> AlertRules {
    AlertRules {
        on_failure: r.on_failure,
        consecutive_failures: r.consecutive_failures,
        on_missed: r.on_missed,
        longer_than_seconds: r.longer_than_seconds,
        on_recovery: r.on_recovery,
    }
}

/// The project as a file's text: the same project always gives the same bytes.
pub async fn export(app: &App, project: &Project) -> Result<String, AppError> {
    let current = current(app, project).await?;
    Ok(projectfile::render(&projectfile::export(&current)))
}

/// How an apply is asked for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Check and plan only: nothing is changed.
    pub dry_run: bool,
    /// Delete what the file does not name (applications, alert settings).
    pub prune: bool,
}

/// Makes the project match the file `text`, or (with `dry_run`) says what
/// that would change. `values`: the values of the file's secret
/// references, by path. The changes, in the order they are (or would be)
/// made; none when the project matches the file already.
pub async fn apply(
    app: &App,
    principal: &Principal,
    project: &Project,
    text: &str,
    values: &Values,
    options: Options,
) -> Result<Vec<Change>, AppError> {
    let (doc, mut problems) = projectfile::read(text);
    let current = current(app, project).await?;
    // Values given for paths the file has no reference at: problems of the
    // request, not of the file (they have no place in it).
    let mut stray = Problems::new();
    let references = projectfile::references(&doc.file);
    for path in values.keys() {
        if !references.iter().any(|(p, _)| p == path) {
            stray.push(
                format!("values[{}]", serde_json::to_string(path).unwrap_or_default()),
                Code::InvalidParameter,
                format!("the file has no secret reference at `{path}`"),
                Some("give values only for the paths of the file's `fromEnv` and `fromFile` references"),
            );
        }
    }
    check_values(app, &mut problems, values);
    check_email(app, &mut problems, &doc.file);
    let steps = match projectfile::plan(&doc.file, &current, values, options.prune) {
        Ok(steps) => Some(steps),
        Err(e) => {
            problems.extend(e);
            None
        }
    };
    match (problems.finish(), stray.finish()) {
        (Ok(()), Ok(())) => {}
        (Err(invalid), stray) => {
            let mut invalid = doc.locate(invalid);
            if let Err(s) = stray {
                invalid.problems.extend(s.problems);
            }
            return Err(invalid.into());
        }
        (Ok(()), Err(stray)) => return Err(stray.into()),
    }
    let steps = steps.unwrap_or_default();
    let changes: Vec<Change> = steps.iter().map(|s| s.change.clone()).collect();
    if options.dry_run {
        return Ok(changes);
    }
    let total = steps.len();
    for (done, step) in steps.into_iter().enumerate() {
        let at = step.change.path.clone();
        take(app, principal, project, step)
            .await
            .map_err(|source| AppError::Stopped {
                done,
                total,
                at,
                source: Box::new(source),
            })?;
    }
    if total > 0 {
        info!(tenant = %principal.tenant_name, project = %project.name, changes = total, prune = options.prune, "Applied a project file.");
    }
    Ok(changes)
}

/// The values given for webhooks: a URL where this installation sends
/// webhooks, a secret of the accepted length.
fn check_values(app: &App, p: &mut Problems, values: &Values) {
    for (path, value) in values {
        if path.ends_with(".url") {
            alerts::check_url(app, p, path, value.expose_secret());
        } else {
            alerts::check_secret(p, path, value);
        }
    }
}

/// The email destinations of a file: this installation sends email, and
/// each one's addresses are ones it sends to.
fn check_email(app: &App, p: &mut Problems, file: &projectfile::ProjectFile) {
    let mut each = |path: String, a: Option<&FileAlerts>| {
        let Some(email) = a.and_then(|a| a.email.as_ref()) else {
            return;
        };
        let at = format!("{path}.email");
        alerts::check_email_configured(app, p, &at);
        alerts::check_recipients(p, Some(&email.to), &format!("{at}.to"));
    };
    each("alerts".into(), file.alerts.as_ref());
    for (name, c) in &file.cronjobs {
        each(
            format!("{}.alerts", projectfile::entry_path("cronjobs", name)),
            c.alerts.as_ref(),
        );
    }
}

/// One step, through the commands the API's own writes use.
async fn take(
    app: &App,
    principal: &Principal,
    project: &Project,
    step: Step,
) -> Result<(), AppError> {
    let name = step.change.name.as_deref();
    match (step.write, name) {
        (Write::Application(spec), Some(name)) => {
            if step.change.action == Action::Create {
                commands::create_application(app, principal, project, name, spec).await?;
            } else {
                let kind = spec.kind();
                commands::update_application(app, principal, project, name, Some(kind), spec)
                    .await?;
            }
        }
        (Write::DeleteApplication, Some(name)) => {
            commands::delete_application(app, principal, project, name, None).await?;
        }
        (Write::Alerts(desired), cronjob) => {
            put_alerts(app, project, cronjob, desired).await?;
            audit_alerts(app, principal, project, &step.change).await;
        }
        (Write::DeleteAlerts, cronjob) => {
            let _guard = app.locks().lock(&project.id).await;
            app.store()
                .delete_alert_settings(&project.id, cronjob)
                .await?;
            audit_alerts(app, principal, project, &step.change).await;
        }
        (Write::Application(_) | Write::DeleteApplication, None) => {
            return Err(AppError::Conflict(format!(
                "{}: a change of an application without a name",
                step.change.path
            )));
        }
    }
    Ok(())
}

async fn put_alerts(
    app: &App,
    project: &Project,
    cronjob: Option<&str>,
    desired: DesiredAlerts,
) -> Result<(), AppError> {
    // Under the project's lock, as the API's alert settings are written: a
    // CronJob deleted meanwhile does not get settings.
    let _guard = app.locks().lock(&project.id).await;
    if let Some(name) = cronjob
        && !matches!(
            app.store().application(&project.id, name).await,
            Ok(a) if matches!(a.spec, ApplicationSpec::Cronjob(_))
        )
    {
        return Err(AppError::NotFound("CronJob"));
    }
    let url = |u: Option<secrecy::SecretString>| u.map(|u| u.expose_secret().to_owned());
    let destination = desired.destination.map(|d| match d {
        DesiredDestination::Webhook(w) => DestinationUpdate::Webhook(WebhookUpdate {
            url: url(w.url),
            secret: w.secret,
            sources: WebhookSources {
                url: Some(w.url_source),
                secret: Some(w.secret_source),
            },
        }),
        DesiredDestination::Slack(c) => DestinationUpdate::Slack {
            url: url(c.url),
            url_source: Some(c.url_source),
        },
        DesiredDestination::Teams(c) => DestinationUpdate::Teams {
            url: url(c.url),
            url_source: Some(c.url_source),
        },
        DesiredDestination::Email { to } => DestinationUpdate::Email { to },
    });
    app.store()
        .put_alert_settings(
            &project.id,
            cronjob,
            &rules(&desired.rules),
            destination.as_ref(),
        )
        .await?;
    Ok(())
}

/// The audit entry of a change a file made to alert settings, as the
/// API's own writes record it: the rules' fields with their values, a
/// destination's only as changed.
async fn audit_alerts(app: &App, principal: &Principal, project: &Project, change: &Change) {
    debug_assert_eq!(change.kind, ChangeKind::Alerts);
    let action = if change.action == Action::Delete {
        AuditAction::AlertsDelete
    } else {
        AuditAction::AlertsUpdate
    };
    let target = match change.name.as_deref() {
        Some(c) => format!("cronjob/{c}"),
        None => format!("project/{}", project.name),
    };
    // Fields relative to the settings, as the API's entries name them.
    let prefix = format!("{}.", change.path);
    let changes: Vec<AuditChange> = change
        .fields
        .iter()
        .map(|f| {
            let field = f.path.strip_prefix(&prefix).unwrap_or(&f.path);
            if !f.secret && field.starts_with("rules.") {
                AuditChange {
                    field: field.to_owned(),
                    from: f.before.clone(),
                    to: f.after.clone(),
                    redacted: false,
                }
            } else {
                hks_core::audit::set(field, "changed")
            }
        })
        .collect();
    crate::audit::by(app, principal, &project.name, action, &target, &changes).await;
}
