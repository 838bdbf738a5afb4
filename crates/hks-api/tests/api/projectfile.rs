//! A project as a file (issue 18): export, apply to another project and
//! export again; every problem of a file at once, with nothing changed;
//! `prune`; a second apply that changes nothing; the dependency order; a
//! secret written into the file refused; the JSON Schema served, committed
//! and describing what export writes.

use axum::http::StatusCode;
use hks_api::routes::projectfile::ApplyResult;
use hks_core::projectfile::{Action, ChangeKind};
use serde_json::{Value, json};

use crate::common::{TestApp, WEBHOOK_SECRET, alert_settings, seeded};

const HOOK: &str = "http://127.0.0.1:9/hook";

/// POSTs `content` to the project's file endpoint with `extra` fields
/// (`dryRun`, `prune`, `values`).
async fn apply(
    app: &TestApp,
    token: &str,
    project: &str,
    content: &str,
    extra: Value,
) -> hks_testkit::app::Reply {
    let mut body = json!({ "content": content });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    app.post(&format!("/api/v1/projects/{project}/file"), token, body)
        .await
}

async fn export(app: &TestApp, token: &str, project: &str) -> String {
    let r = app
        .get(&format!("/api/v1/projects/{project}/file"), token)
        .await;
    r.expect_status(StatusCode::OK);
    assert_eq!(
        r.header("content-type"),
        Some("application/yaml; charset=utf-8")
    );
    r.text
}

/// `shop` with every kind of entry: `web` and `report` (seeded), a
/// Function `greet` and a CronJob `wake` that calls it, the project's
/// default alert settings and `report`'s own.
async fn full(app: &TestApp, tenant: &str) -> String {
    let token = seeded(app, tenant).await;
    app.application(
        &token,
        "shop",
        json!({"name": "greet", "type": "function", "spec": {"endpoint": "http://greeter.shop.svc:8080/"}}),
    )
    .await;
    app.cronjob(
        &token,
        "shop",
        json!({"name": "wake", "spec": {"schedule": "*/10 * * * *",
            "function": {"name": "greet", "body": "{\"who\": \"cron\"}", "expect": ["200", "2xx"]}}}),
    )
    .await;
    for path in [
        "/api/v1/projects/shop/alerts",
        "/api/v1/projects/shop/cronjobs/report/alerts",
    ] {
        app.put(path, &token, alert_settings())
            .await
            .expect_status(StatusCode::OK);
    }
    token
}

/// The values of the references `hks export` writes for settings made
/// through the API.
fn default_values() -> Value {
    json!({
        "alerts.webhook.url": HOOK, "alerts.webhook.secret": WEBHOOK_SECRET,
        "cronjobs.report.alerts.webhook.url": HOOK, "cronjobs.report.alerts.webhook.secret": WEBHOOK_SECRET,
    })
}

#[tokio::test]
async fn export_apply_to_a_new_project_and_export_again_gives_the_same_file() {
    let app = TestApp::new().await;
    let token = full(&app, "acme").await;
    let file = export(&app, &token, "shop").await;
    assert_eq!(export(&app, &token, "shop").await, file, "stable bytes");
    assert!(
        file.contains("fromEnv: HKS_ALERTS_REPORT_WEBHOOK_SECRET"),
        "{file}"
    );
    assert!(
        !file.contains(WEBHOOK_SECRET) && !file.contains("/hook"),
        "{file}"
    );

    app.project(&token, "copy").await;
    let r = apply(
        &app,
        &token,
        "copy",
        &file,
        json!({"values": default_values()}),
    )
    .await;
    let result: ApplyResult = r.expect_json(StatusCode::OK);
    assert!(!result.dry_run);
    assert_eq!(result.summary, "6 created, 0 changed, 0 deleted");
    assert_eq!(export(&app, &token, "copy").await, file);

    // Applied as the API's writes are: the CronJobs are in the cluster, and
    // the webhook (URL and secret) is stored for deliveries.
    let copy = app.project_id("acme", "copy").await;
    let namespace = app.get("/api/v1/projects/copy", &token).await.value()["namespace"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut cronjobs: Vec<String> = app
        .objects()
        .await
        .into_iter()
        .filter_map(|o| match o {
            hks_kube::Object::CronJob(c) if c.metadata.namespace.as_deref() == Some(&namespace) => {
                c.metadata.name
            }
            _ => None,
        })
        .collect();
    cronjobs.sort();
    assert_eq!(cronjobs, ["report", "wake"]);
    let settings = app
        .state
        .store()
        .alert_settings(&copy, Some("report"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(settings.webhook().unwrap().url, HOOK);
    let r: Value = app
        .get("/api/v1/projects/copy/cronjobs/wake", &token)
        .await
        .expect_json(StatusCode::OK);
    assert_eq!(r["spec"]["function"]["name"], "greet");
}

#[tokio::test]
async fn a_file_with_three_errors_reports_all_three_with_places_and_changes_nothing() {
    let app = TestApp::new().await;
    let token = seeded(&app, "acme").await;
    let before = export(&app, &token, "shop").await;
    let objects = app.objects().await.len();
    let file = "version: 1\n\
                stateless:\n  web:\n    image: ghcr.io/acme/web:1.5\n\
                cronjobs:\n  nightly:\n    schedule: '0 25 * * *'\n    image: busybox:1.36\n  \
                other:\n    schedule: '@daily'\n    template: {application: nothing, mode: follow}\n\
                alerts:\n  webhook:\n    url: {fromEnv: HOOK_URL}\n    secret: do-not-write-me-here\n";
    let r = apply(&app, &token, "shop", file, json!({})).await;
    let e = r.expect_error(StatusCode::BAD_REQUEST);
    assert!(!r.text.contains("do-not-write-me-here"), "{r}");
    let found: Vec<String> = e
        .problems
        .iter()
        .map(|p| {
            format!(
                "{} {}:{} {}",
                p.field,
                p.line.unwrap(),
                p.column.unwrap(),
                p.code
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            "alerts.webhook.secret 15:5 inline_secret",
            "cronjobs.nightly.schedule 7:5 invalid_field",
            "cronjobs.other.template.application 11:16 template_not_found",
        ]
    );
    assert_eq!(e.message, "the request has 3 problems");
    // Nothing changed: not the valid part (`web`'s new image) either.
    assert_eq!(export(&app, &token, "shop").await, before);
    assert_eq!(app.objects().await.len(), objects);
}

#[tokio::test]
async fn prune_deletes_what_the_file_does_not_name_and_nothing_else() {
    let app = TestApp::new().await;
    let token = seeded(&app, "acme").await;
    let file = export(&app, &token, "shop").await;
    app.application(
        &token,
        "shop",
        json!({"name": "old-web", "type": "stateless", "spec": {"image": "web:0"}}),
    )
    .await;
    app.cronjob(
        &token,
        "shop",
        json!({"name": "old-job", "spec": {"schedule": "@daily", "template": {"application": "old-web", "mode": "follow"}}}),
    )
    .await;
    app.put("/api/v1/projects/shop/alerts", &token, alert_settings())
        .await
        .expect_status(StatusCode::OK);
    // Another project of the tenant, with the same names: never touched.
    app.project(&token, "other").await;
    app.application(
        &token,
        "other",
        json!({"name": "old-web", "type": "stateless", "spec": {"image": "web:0"}}),
    )
    .await;

    // Without prune: nothing to do (what the file names is there).
    let r: ApplyResult = apply(&app, &token, "shop", &file, json!({}))
        .await
        .expect_json(StatusCode::OK);
    assert!(r.changes.is_empty(), "{:?}", r.changes);
    // A preview with prune: the deletions, CronJobs first; nothing deleted yet.
    let r: ApplyResult = apply(
        &app,
        &token,
        "shop",
        &file,
        json!({"prune": true, "dryRun": true}),
    )
    .await
    .expect_json(StatusCode::OK);
    let shown: Vec<String> = r
        .changes
        .iter()
        .map(|c| format!("{:?} {}", c.action, c.path))
        .collect();
    assert_eq!(
        shown,
        [
            "Delete alerts",
            "Delete cronjobs.old-job",
            "Delete stateless.old-web"
        ]
    );
    assert_eq!(r.summary, "0 to create, 0 to change, 3 to delete");
    assert!(app.fake_cronjob("old-job").await.is_some());
    let r: ApplyResult = apply(&app, &token, "shop", &file, json!({"prune": true}))
        .await
        .expect_json(StatusCode::OK);
    assert_eq!(r.changes.len(), 3);
    assert_eq!(export(&app, &token, "shop").await, file);
    assert!(app.fake_cronjob("old-job").await.is_none());
    assert!(app.fake_cronjob("report").await.is_some());
    app.get("/api/v1/projects/other/applications/old-web", &token)
        .await
        .expect_status(StatusCode::OK);
}

#[tokio::test]
async fn a_second_apply_changes_nothing_and_says_so() {
    let app = TestApp::new().await;
    let token = app.tenant("acme").await.token;
    app.project(&token, "shop").await;
    let file = "version: 1\n\
                alerts:\n  rules: {onFailure: true}\n  webhook:\n    url: {fromEnv: HOOK_URL}\n    secret: {fromFile: hook.secret}\n\
                stateless:\n  web: {image: 'ghcr.io/acme/web:1.4', port: 8080}\n\
                cronjobs:\n  nightly:\n    schedule: '0 3 * * *'\n    template: {application: web, mode: snapshot}\n    command: {argv: ['./report'], shell: true}\n";
    let values =
        json!({"values": {"alerts.webhook.url": HOOK, "alerts.webhook.secret": WEBHOOK_SECRET}});
    let first: ApplyResult = apply(&app, &token, "shop", file, values.clone())
        .await
        .expect_json(StatusCode::OK);
    assert_eq!(first.changes.len(), 3);
    let generation = |v: Value| v["generation"].as_u64().unwrap();
    let before = generation(
        app.get("/api/v1/projects/shop/applications/nightly", &token)
            .await
            .value(),
    );
    let updated = app
        .state
        .store()
        .alert_settings(&app.project_id("acme", "shop").await, None)
        .await
        .unwrap()
        .unwrap()
        .updated_at;
    // Again, with the values and without them (the stored ones are kept).
    for extra in [values, json!({})] {
        let again: ApplyResult = apply(&app, &token, "shop", file, extra)
            .await
            .expect_json(StatusCode::OK);
        assert!(again.changes.is_empty(), "{:?}", again.changes);
        assert_eq!(
            again.summary,
            "nothing to change: the project matches the file"
        );
    }
    let after = generation(
        app.get("/api/v1/projects/shop/applications/nightly", &token)
            .await
            .value(),
    );
    assert_eq!(before, after, "nothing was written");
    let settings = app
        .state
        .store()
        .alert_settings(&app.project_id("acme", "shop").await, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(settings.updated_at, updated);

    // One field edited: one change, that field, before and after.
    let edited = file.replace("'0 3 * * *'", "'30 4 * * *'");
    let r: ApplyResult = apply(&app, &token, "shop", &edited, json!({"dryRun": true}))
        .await
        .expect_json(StatusCode::OK);
    assert_eq!(r.changes.len(), 1);
    assert_eq!(
        serde_json::to_value(&r.changes[0].fields).unwrap(),
        json!([{"path": "cronjobs.nightly.schedule", "before": "0 3 * * *", "after": "30 4 * * *"}])
    );
    // A rotated secret: a change, its value never shown.
    let r = apply(
        &app,
        &token,
        "shop",
        file,
        json!({"dryRun": true, "values": {"alerts.webhook.secret": "a-new-secret-of-enough-length"}}),
    )
    .await;
    let result: ApplyResult = r.expect_json(StatusCode::OK);
    assert_eq!(result.changes.len(), 1);
    assert!(result.changes[0].fields[0].secret);
    assert!(!r.text.contains("a-new-secret"));
}

#[tokio::test]
async fn templates_and_functions_are_applied_before_the_cronjobs_that_use_them() {
    let app = TestApp::new().await;
    let token = app.tenant("acme").await.token;
    app.project(&token, "shop").await;
    // Written with the CronJobs first: the order is the server's.
    let file = "version: 1\n\
                cronjobs:\n  a-call:\n    schedule: '@hourly'\n    function: {name: greet}\n  \
                b-report:\n    schedule: '@daily'\n    template: {application: web, mode: follow}\n\
                functions:\n  greet: {endpoint: 'http://greeter.shop.svc/'}\n\
                stateless:\n  web: {image: 'web:1'}\n";
    let r: ApplyResult = apply(&app, &token, "shop", file, json!({}))
        .await
        .expect_json(StatusCode::OK);
    let order: Vec<(Action, ChangeKind, String)> = r
        .changes
        .iter()
        .map(|c| (c.action, c.kind, c.name.clone().unwrap()))
        .collect();
    assert_eq!(
        order,
        [
            (Action::Create, ChangeKind::Stateless, "web".to_owned()),
            (Action::Create, ChangeKind::Function, "greet".to_owned()),
            (Action::Create, ChangeKind::Cronjob, "a-call".to_owned()),
            (Action::Create, ChangeKind::Cronjob, "b-report".to_owned()),
        ]
    );
    assert!(app.fake_cronjob("a-call").await.is_some());
    assert!(app.fake_cronjob("b-report").await.is_some());
    // Pruned the other way round: the CronJobs go before what they used.
    let r: ApplyResult = apply(&app, &token, "shop", "version: 1\n", json!({"prune": true}))
        .await
        .expect_json(StatusCode::OK);
    let names: Vec<String> = r.changes.iter().map(|c| c.path.clone()).collect();
    assert_eq!(
        names,
        [
            "cronjobs.a-call",
            "cronjobs.b-report",
            "functions.greet",
            "stateless.web"
        ]
    );
    assert!(
        app.get("/api/v1/projects/shop/applications", &token)
            .await
            .value()
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_webhook_needs_its_values_and_a_url_this_installation_sends_to() {
    let app = TestApp::new().await;
    let token = app.tenant("acme").await.token;
    app.project(&token, "shop").await;
    let file = "version: 1\nalerts:\n  webhook:\n    url: {fromEnv: HOOK_URL}\n    secret: {fromEnv: HOOK_SECRET}\n";
    let e = apply(&app, &token, "shop", file, json!({}))
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert_eq!(e.fields(), ["alerts.webhook.url", "alerts.webhook.secret"]);
    assert_eq!(e.problems[0].code, "secret_value_missing");
    assert!(e.problems[0].hint.as_deref().unwrap().contains("HOOK_URL"));
    let e = apply(
        &app,
        &token,
        "shop",
        file,
        json!({"values": {"alerts.webhook.url": "http://10.0.0.1/hook", "alerts.webhook.secret": "short",
            "cronjobs.x.alerts.webhook.url": HOOK}}),
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST);
    assert_eq!(
        e.fields(),
        [
            "alerts.webhook.secret",
            "alerts.webhook.url",
            "values[\"cronjobs.x.alerts.webhook.url\"]",
        ]
    );
    // Where the file has them; a value of the request has no place in it.
    assert_eq!(e.problems[0].line, Some(5));
    assert_eq!(e.problems[2].line, None);
    assert!(
        app.state
            .store()
            .list_alert_settings(&app.project_id("acme", "shop").await)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn the_json_schema_is_served_committed_and_describes_what_export_writes() {
    let app = TestApp::new().await;
    let r = app
        .call(
            axum::http::Method::GET,
            "/api/v1/projectfile.schema.json",
            None,
            None,
        )
        .await;
    r.expect_status(StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("application/schema+json"));
    assert_eq!(r.text, hks_api::openapi::projectfile_schema());
    let schema: Value = serde_json::from_str(&r.text).unwrap();

    let token = full(&app, "acme").await;
    let file = export(&app, &token, "shop").await;
    let (value, _) = hks_core::yaml::read(&file).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{file}");
    // And it refuses what the server refuses by shape.
    for bad in [
        json!({"version": 1, "cronjobs": {"x": {"schedule": "@daily", "timezone": "UTC"}}}),
        json!({"version": 1, "alerts": {"webhook": {"url": "https://a/", "secret": {"fromEnv": "S"}}}}),
        json!({"version": 2}),
    ] {
        assert!(!validator.is_valid(&bad), "{bad}");
    }
}

#[test]
fn committed_projectfile_schema_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("projectfile.schema.json");
    let current = hks_api::openapi::projectfile_schema();
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    // Updated with the OpenAPI document, on a developer's machine only.
    if std::env::var_os("HKS_UPDATE_OPENAPI").is_some() && !hks_testkit::strict() {
        if committed != current {
            std::fs::write(&path, &current).unwrap();
            panic!(
                "crates/hks-api/projectfile.schema.json was stale and is rewritten: commit it and run the tests again"
            );
        }
        return;
    }
    assert!(
        committed == current,
        "crates/hks-api/projectfile.schema.json is stale: run `HKS_UPDATE_OPENAPI=1 cargo test -p hks-api --test api` and commit it"
    );
}
