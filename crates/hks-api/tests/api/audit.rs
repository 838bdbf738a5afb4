//! The audit log: who did what, field by field, never a secret value;
//! entries outlive their target; paging and filters.

use axum::http::StatusCode;
use hks_api::routes::audit::AuditPage;
use hks_core::audit::AuditAction;
use serde_json::json;

use crate::common::{ADMIN, TestApp, WEBHOOK_SECRET, alert_settings, report, seeded};

#[tokio::test]
async fn every_change_is_in_the_audit_log_with_its_actor_and_no_secret() {
    let app = TestApp::new().await;
    let token = seeded(&app, "acme").await;
    let base = "/api/v1/projects/shop";
    let cronjob = format!("{base}/cronjobs/report");

    // An edit: a new schedule and a plain env value that must not be recorded.
    let mut spec = report()["spec"].clone();
    spec["schedule"] = json!("0 4 * * *");
    spec["env"] = json!([{"name": "API_KEY", "value": "plain-value-NEVER-LOGGED"}]);
    app.put(&cronjob, &token, spec)
        .await
        .expect_json::<serde_json::Value>(StatusCode::OK);
    app.post(
        &format!("{cronjob}/suspend"),
        &token,
        json!({"reason": "db migration"}),
    )
    .await
    .expect_json::<serde_json::Value>(StatusCode::OK);
    app.post(
        &format!("{cronjob}/runs"),
        &token,
        json!({"env": [{"name": "ONCE", "value": "override-NEVER-LOGGED"}]}),
    )
    .await
    .expect_json::<serde_json::Value>(StatusCode::CREATED);
    app.put(&format!("{cronjob}/alerts"), &token, alert_settings())
        .await
        .expect_json::<serde_json::Value>(StatusCode::OK);
    app.post(
        "/api/v1/admin/tenants/acme/tokens",
        ADMIN,
        json!({"name": "deploy"}),
    )
    .await
    .expect_json::<serde_json::Value>(StatusCode::CREATED);

    let reply = app.get(&format!("{base}/audit"), &token).await;
    for secret in [
        WEBHOOK_SECRET,
        "plain-value-NEVER-LOGGED",
        "override-NEVER-LOGGED",
        "127.0.0.1:9",
    ] {
        assert!(
            !reply.text.contains(secret),
            "the audit log shows {secret}: {reply}"
        );
    }
    let page: AuditPage = reply.expect_json(StatusCode::OK);
    let actions: Vec<(AuditAction, &str, &str)> = page
        .entries
        .iter()
        .map(|e| (e.action, e.target.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            (AuditAction::AlertsUpdate, "cronjob/report", "acme/ci"),
            (AuditAction::RunStart, "cronjob/report", "acme/ci"),
            (AuditAction::CronjobSuspend, "cronjob/report", "acme/ci"),
            (AuditAction::CronjobUpdate, "cronjob/report", "acme/ci"),
            (AuditAction::CronjobCreate, "cronjob/report", "acme/ci"),
            (AuditAction::ApplicationCreate, "stateless/web", "acme/ci"),
            (AuditAction::ProjectCreate, "project/shop", "acme/ci"),
        ]
    );
    let update = &page.entries[3];
    let schedule = update
        .changes
        .iter()
        .find(|c| c.field == "schedule")
        .unwrap();
    assert_eq!(
        (schedule.from.clone(), schedule.to.clone()),
        (Some(json!("0 3 * * *")), Some(json!("0 4 * * *")))
    );
    let env = update
        .changes
        .iter()
        .find(|c| c.field == "env[0].value")
        .unwrap();
    assert!(env.redacted && env.to.is_none(), "{env:?}");
    let suspend = &page.entries[2];
    assert_eq!(suspend.changes[0].to, Some(json!("db migration")));
    let alerts = &page.entries[0];
    assert!(
        alerts
            .changes
            .iter()
            .any(|c| c.field == "webhook.secret" && c.redacted)
    );

    // Tokens are the tenant's, not the project's: in the tenant's log
    // (`ci`, made by the harness, and `deploy`).
    let all: AuditPage = app
        .get("/api/v1/audit?target=token/", &token)
        .await
        .expect_json(StatusCode::OK);
    let targets: Vec<&str> = all.entries.iter().map(|e| e.target.as_str()).collect();
    assert_eq!(targets, ["token/deploy", "token/ci"]);
    assert_eq!(
        (
            all.entries[0].action,
            all.entries[0].actor.as_str(),
            all.entries[0].project.as_deref()
        ),
        (AuditAction::TokenCreate, "admin", None)
    );

    // Filters and pages.
    let runs: AuditPage = app
        .get(&format!("{base}/audit?action=run.start"), &token)
        .await
        .expect_json(StatusCode::OK);
    assert_eq!(runs.entries.len(), 1);
    let first: AuditPage = app
        .get(&format!("{base}/audit?limit=3"), &token)
        .await
        .expect_json(StatusCode::OK);
    let before = first.next_before.expect("a next page");
    let second: AuditPage = app
        .get(&format!("{base}/audit?limit=3&before={before}"), &token)
        .await
        .expect_json(StatusCode::OK);
    assert_eq!(second.entries[0].action, AuditAction::CronjobUpdate);
    let bad = app
        .get(
            &format!("{base}/audit?action=cronjob.explode&limit=0"),
            &token,
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert_eq!(bad.fields(), ["limit", "action"]);

    // The CronJob is deleted; its entries stay, with the deletion.
    app.delete(&cronjob, &token).await;
    let page: AuditPage = app
        .get(&format!("{base}/audit?target=cronjob/report"), &token)
        .await
        .expect_json(StatusCode::OK);
    assert_eq!(page.entries[0].action, AuditAction::CronjobDelete);
    assert_eq!(page.entries.len(), 6);

    // Another tenant sees none of it: only its own token's entry.
    let other = app.tenant("globex").await.token;
    let theirs: AuditPage = app
        .get("/api/v1/audit", &other)
        .await
        .expect_json(StatusCode::OK);
    let seen: Vec<(&str, Option<&str>)> = theirs
        .entries
        .iter()
        .map(|e| (e.target.as_str(), e.project.as_deref()))
        .collect();
    assert_eq!(seen, [("token/ci", None)]);
    app.get(&format!("{base}/audit"), &other)
        .await
        .expect_error(StatusCode::NOT_FOUND);
}
