//! The API end to end, through the router, with an in-memory store and a fake
//! cluster. One test binary (link time); each test builds its own `TestApp`.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use hks_api::{AppState, router};
use hks_kube::fake::FakeGateway;
use hks_kube::{Kind, Object, ObjectKey};
use hks_store::Store;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const ADMIN: &str = "admin-secret-for-tests";

struct TestApp {
    router: Router,
    state: AppState,
    gateway: Arc<FakeGateway>,
}

struct Reply {
    status: StatusCode,
    retry_after: Option<String>,
    body: Value,
}

impl TestApp {
    async fn new() -> Self {
        let store = Store::in_memory().await.unwrap();
        let gateway = Arc::new(FakeGateway::new());
        // Webhooks may go to this test's receivers on 127.0.0.1.
        let loopback = hks_alerting::TargetPolicy::allowing(["127.0.0.0/8".parse().unwrap()]);
        let app = hks_app::App::new(store, gateway.clone()).with_webhook_targets(loopback);
        let state = AppState::of(app, Some(&ADMIN.to_owned().into()), None);
        Self {
            router: router(state.clone()),
            state,
            gateway,
        }
    }

    /// The app on a real cluster (the fake gateway is unused).
    async fn on_cluster() -> Self {
        let store = Store::in_memory().await.unwrap();
        let gateway = Arc::new(hks_kube::live::KubeGateway::new(
            hks_kube::live::Settings::default(),
        ));
        let state = AppState::new(store, gateway, Some(&ADMIN.to_owned().into()), None);
        // The recorder releases HKS's finalizers; without it nothing a run
        // leaves could be deleted. It ends with the test's runtime.
        hks_controller::recorder::spawn(
            state.app().clone(),
            hks_controller::recorder::Settings {
                interval: std::time::Duration::from_millis(300),
                ..hks_controller::recorder::Settings::default()
            },
        );
        Self {
            router: router(state.clone()),
            state,
            gateway: Arc::new(FakeGateway::new()),
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b.to_string()))
                .unwrap(),
            None => req.body(Body::empty()).unwrap(),
        };
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let retry_after = res
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Reply {
            status,
            retry_after,
            body,
        }
    }

    async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }
    async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }
    async fn put(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(token), Some(body)).await
    }
    async fn delete(&self, path: &str, token: &str) -> Reply {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// A tenant and one of its tokens.
    async fn tenant(&self, name: &str) -> String {
        let r = self
            .post("/api/v1/admin/tenants", ADMIN, json!({"name": name, "cluster": {"kind": "kubeconfig", "kubeconfig": "apiVersion: v1\nkind: Config\n# SECRET-CREDENTIALS"}}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let r = self
            .post(
                &format!("/api/v1/admin/tenants/{name}/tokens"),
                ADMIN,
                json!({"name": "ci"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
        r.body["token"].as_str().unwrap().to_owned()
    }

    /// A tenant with project `shop`, Stateless app `web` and CronJob `report` made from it.
    async fn seeded(&self, tenant: &str) -> String {
        let token = self.tenant(tenant).await;
        assert_eq!(
            self.post("/api/v1/projects", &token, json!({"name": "shop"}))
                .await
                .status,
            StatusCode::CREATED
        );
        let r = self
            .post("/api/v1/projects/shop/applications", &token, web())
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let r = self
            .post("/api/v1/projects/shop/cronjobs", &token, report())
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        token
    }

    async fn cronjob(&self, name: &str) -> Option<k8s_openapi::api::batch::v1::CronJob> {
        self.all_objects().await.into_iter().find_map(|o| match o {
            Object::CronJob(c) if c.metadata.name.as_deref() == Some(name) => Some(c),
            _ => None,
        })
    }

    async fn all_objects(&self) -> Vec<Object> {
        // Tenant ids are random: look them up through the store.
        let tenants = self.state.store().list_tenants().await.unwrap();
        tenants
            .iter()
            .flat_map(|t| self.gateway.objects(&t.id))
            .collect()
    }
}

fn web() -> Value {
    json!({"name": "web", "type": "stateless", "spec": {
        "image": "ghcr.io/acme/web:1.4", "command": ["/app/web"], "port": 8080,
        "env": [{"name": "MODE", "value": "web"}, {"name": "DATABASE_URL", "secret": {"name": "db", "key": "url"}}],
        "resources": {"limits": {"memory": "256Mi"}}
    }})
}

fn report() -> Value {
    json!({"name": "report", "spec": {
        "schedule": "0 3 * * *", "timeZone": "Europe/Berlin",
        "template": {"application": "web", "mode": "follow"},
        "command": {"argv": ["/app/report", "--since", "24h"]}
    }})
}

#[tokio::test]
async fn health_ready_and_openapi() {
    let app = TestApp::new().await;
    assert_eq!(
        app.call(Method::GET, "/healthz", None, None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.call(Method::GET, "/readyz", None, None).await.status,
        StatusCode::OK
    );
    let doc = app
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(doc.status, StatusCode::OK);
    assert!(
        doc.body["paths"]["/api/v1/projects/{project}/cronjobs/{name}/runs"]["post"].is_object()
    );
}

#[test]
fn committed_openapi_document_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    let current = hks_api::openapi::document();
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    // Updating is for a developer's machine: under CI the committed file is
    // compared, never rewritten to match.
    if std::env::var_os("HKS_UPDATE_OPENAPI").is_some() && !hks_testkit::strict() {
        if committed != current {
            std::fs::write(&path, &current).unwrap();
            panic!(
                "crates/hks-api/openapi.json was stale and is rewritten: commit it and run the tests again"
            );
        }
        return;
    }
    assert!(
        committed == current,
        "crates/hks-api/openapi.json is stale: run `HKS_UPDATE_OPENAPI=1 cargo test -p hks-api --test api` and commit it"
    );
}

#[tokio::test]
async fn tokens_are_required_and_admin_is_separate() {
    let app = TestApp::new().await;
    let token = app.tenant("acme").await;
    let r = app.call(Method::GET, "/api/v1/projects", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["code"], "unauthorized");
    assert_eq!(
        app.get("/api/v1/projects", "hks_not-a-token").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/api/v1/admin/tenants", &token).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/api/v1/projects", ADMIN).await.status,
        StatusCode::UNAUTHORIZED
    );
    // Credentials never come back.
    let tenants = app.get("/api/v1/admin/tenants", ADMIN).await;
    assert_eq!(tenants.status, StatusCode::OK);
    assert!(!tenants.body.to_string().contains("SECRET"));
    assert_eq!(tenants.body[0]["cluster"]["kind"], "kubeconfig");
    // A revoked token stops working.
    assert_eq!(
        app.delete("/api/v1/admin/tenants/acme/tokens/ci", ADMIN)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get("/api/v1/projects", &token).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn cronjob_journey() {
    let app = TestApp::new().await;
    let token = app.seeded("acme").await;

    // The applied CronJob: template container with the command override.
    let cj = app.cronjob("report").await.expect("applied");
    assert_eq!(cj.spec.time_zone.as_deref(), Some("Europe/Berlin"));
    assert_eq!(cj.spec.concurrency_policy.as_deref(), Some("Forbid"));
    let pod = cj
        .spec
        .job_template
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap();
    assert_eq!(pod.restart_policy.as_deref(), Some("Never"));
    assert_eq!(
        pod.containers[0].image.as_deref(),
        Some("ghcr.io/acme/web:1.4")
    );
    assert_eq!(
        pod.containers[0].command.as_ref().unwrap(),
        &["/app/report", "--since", "24h"]
    );
    let env = serde_json::to_value(&pod.containers[0].env).unwrap();
    assert_eq!(env[1]["valueFrom"]["secretKeyRef"]["name"], "db");

    let list = app.get("/api/v1/projects/shop/cronjobs", &token).await;
    assert_eq!(list.status, StatusCode::OK);
    let row = &list.body[0];
    assert_eq!(row["name"], "report");
    assert_eq!(row["templateMode"], "follow");
    assert_eq!(row["clusterState"], "Applied");
    assert!(
        row["description"]
            .as_str()
            .unwrap()
            .contains("Europe/Berlin"),
        "{row}"
    );
    assert!(row["nextRun"].is_string());
    assert!(row["lastRun"].is_null());

    // Run now, then see it in the runs and as the last run, with its log.
    let run = app
        .post(
            "/api/v1/projects/shop/cronjobs/report/runs",
            &token,
            json!({}),
        )
        .await;
    assert_eq!(run.status, StatusCode::CREATED, "{:?}", run.body);
    assert_eq!(run.body["trigger"], "manual");
    assert_eq!(run.body["triggeredBy"], "acme/ci");
    let name = run.body["name"].as_str().unwrap().to_owned();
    let runs = app
        .get("/api/v1/projects/shop/cronjobs/report/runs", &token)
        .await;
    assert_eq!(runs.body[0]["name"], name.as_str());
    assert_eq!(runs.body[0]["result"], "Pending");
    // The cluster runs it: one attempt that fails, then one that succeeds.
    let tenant = app.state.store().tenant_by_name("acme").await.unwrap().id;
    let namespace = app.get("/api/v1/projects/shop", &token).await.body["namespace"]
        .as_str()
        .unwrap()
        .to_owned();
    let now = jiff::Timestamp::now();
    let first = app.gateway.start_attempt(&tenant, &namespace, &name, now);
    app.gateway
        .end_attempt(&tenant, &namespace, &first, 1, "no database yet\n", now);
    let second = app.gateway.start_attempt(&tenant, &namespace, &name, now);
    app.gateway
        .end_attempt(&tenant, &namespace, &second, 0, "report: 3 rows\n", now);
    app.gateway.end_run(&tenant, &namespace, &name, now);
    let list = app.get("/api/v1/projects/shop/cronjobs", &token).await;
    let last = &list.body[0]["lastRun"];
    assert_eq!(last["name"], name.as_str());
    assert_eq!(last["result"], "Succeeded");
    assert_eq!(last["exitCode"], 0);
    assert_eq!(last["attempts"].as_array().unwrap().len(), 2);
    assert_eq!(last["attempts"][0]["exitCode"], 1);
    let logs = app
        .get(
            &format!("/api/v1/projects/shop/cronjobs/report/runs/{name}/logs"),
            &token,
        )
        .await;
    assert_eq!(logs.status, StatusCode::OK);
    assert_eq!(
        logs.body["attempts"],
        json!([
            {"pod": first, "log": "no database yet\n", "archived": false, "truncated": false},
            {"pod": second, "log": "report: 3 rows\n", "archived": false, "truncated": false},
        ])
    );

    // A run is only found under its own CronJob.
    let mut second = report();
    second["name"] = json!("second");
    assert_eq!(
        app.post("/api/v1/projects/shop/cronjobs", &token, second)
            .await
            .status,
        StatusCode::CREATED
    );
    let r = app
        .get(
            &format!("/api/v1/projects/shop/cronjobs/second/runs/{name}/logs"),
            &token,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Suspend, resume, edit the schedule.
    let s = app
        .post(
            "/api/v1/projects/shop/cronjobs/report/suspend",
            &token,
            json!({}),
        )
        .await;
    assert_eq!(s.status, StatusCode::OK);
    assert_eq!(s.body["suspended"], true);
    assert!(s.body["nextRun"].is_null());
    assert_eq!(
        app.cronjob("report").await.unwrap().spec.suspend,
        Some(true)
    );
    assert_eq!(
        app.post(
            "/api/v1/projects/shop/cronjobs/report/resume",
            &token,
            json!({})
        )
        .await
        .body["suspended"],
        false
    );
    let mut spec = report()["spec"].clone();
    spec["schedule"] = json!("*/30 * * * *");
    let edited = app
        .put("/api/v1/projects/shop/cronjobs/report", &token, spec)
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{:?}", edited.body);
    assert_eq!(edited.body["generation"], 4);
    assert_eq!(
        app.cronjob("report").await.unwrap().spec.schedule,
        "*/30 * * * *"
    );
    assert_eq!(edited.body["container"]["image"], "ghcr.io/acme/web:1.4");
    assert_eq!(edited.body["nextRuns"].as_array().unwrap().len(), 5);

    // Delete.
    assert_eq!(
        app.delete("/api/v1/projects/shop/cronjobs/report", &token)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert!(app.cronjob("report").await.is_none());
    assert_eq!(
        app.get("/api/v1/projects/shop/cronjobs/report", &token)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn bad_input_is_400_with_field_paths() {
    let app = TestApp::new().await;
    let token = app.seeded("acme").await;
    let cases = [
        json!({"name": "Bad_Name", "spec": {"schedule": "0 3 * * *", "image": "busybox"}}),
        json!({"name": "x", "spec": {"schedule": "0 0 * * 7", "timeZone": "Mars/Olympus", "image": "busybox"}}),
        json!({"name": "x", "spec": {"schedule": "@daily", "image": "Busybox:latest", "env": [{"name": "1X", "value": "a"}],
            "resources": {"limits": {"memory": "12MB"}}, "command": {"argv": []}}}),
        json!({"name": "x", "spec": {"schedule": "@daily", "template": {"application": "nope", "mode": "follow"}}}),
        json!({"name": "x", "spec": {"schedule": "@daily", "image": "busybox", "timezone": "UTC"}}),
        json!({"name": "x", "spec": {"schedule": "@daily", "image": "busybox", "retries": "three"}}),
    ];
    let mut answers = vec![];
    for body in cases {
        let r = app
            .post("/api/v1/projects/shop/cronjobs", &token, body)
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
        answers.push(r.body);
    }
    insta::assert_json_snapshot!(answers);
    // Nothing was stored or applied.
    let list = app.get("/api/v1/projects/shop/cronjobs", &token).await;
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    // A name in use is a conflict.
    let r = app
        .post("/api/v1/projects/shop/cronjobs", &token, report())
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body["code"], "conflict");
}

#[tokio::test]
async fn unreachable_cluster_refuses_writes_and_stores_nothing() {
    let app = TestApp::new().await;
    let token = app.seeded("acme").await;
    app.gateway.set_unreachable(true);
    let mut job = report();
    job["name"] = json!("later");
    let r = app
        .post("/api/v1/projects/shop/cronjobs", &token, job.clone())
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.body["code"], "cluster_unavailable");
    assert_eq!(r.retry_after.as_deref(), Some("15"));
    let r = app
        .post(
            "/api/v1/projects/shop/cronjobs/report/suspend",
            &token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        app.post("/api/v1/projects", &token, json!({"name": "other"}))
            .await
            .status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    // Reads still answer, from the store, with the cluster state unknown.
    let list = app.get("/api/v1/projects/shop/cronjobs", &token).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    assert_eq!(list.body[0]["clusterState"], "Unknown");
    assert_eq!(list.body[0]["suspended"], false);
    assert_eq!(
        app.get("/api/v1/projects/other", &token).await.status,
        StatusCode::NOT_FOUND
    );
    // Back up: the same write goes through.
    app.gateway.set_unreachable(false);
    assert_eq!(
        app.post("/api/v1/projects/shop/cronjobs", &token, job)
            .await
            .status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn another_tenants_token_sees_nothing() {
    let app = TestApp::new().await;
    let owner = app.seeded("acme").await;
    let run = app
        .post(
            "/api/v1/projects/shop/cronjobs/report/runs",
            &owner,
            json!({}),
        )
        .await;
    let run = run.body["name"].as_str().unwrap().to_owned();
    let other = app.tenant("globex").await;
    let p = "/api/v1/projects/shop";
    let calls: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, p.into(), None),
        (Method::DELETE, p.into(), None),
        (Method::GET, format!("{p}/applications"), None),
        (Method::POST, format!("{p}/applications"), Some(web())),
        (Method::GET, format!("{p}/applications/web"), None),
        (
            Method::PUT,
            format!("{p}/applications/web"),
            Some(json!({"type": "stateless", "spec": web()["spec"]})),
        ),
        (Method::DELETE, format!("{p}/applications/web"), None),
        (Method::POST, format!("{p}/manifests"), Some(web())),
        (Method::GET, format!("{p}/cronjobs"), None),
        (Method::POST, format!("{p}/cronjobs"), Some(report())),
        (Method::GET, format!("{p}/cronjobs/report"), None),
        (
            Method::PUT,
            format!("{p}/cronjobs/report"),
            Some(report()["spec"].clone()),
        ),
        (Method::DELETE, format!("{p}/cronjobs/report"), None),
        (Method::POST, format!("{p}/cronjobs/report/suspend"), None),
        (Method::POST, format!("{p}/cronjobs/report/resume"), None),
        (Method::GET, format!("{p}/cronjobs/report/runs"), None),
        (Method::POST, format!("{p}/cronjobs/report/runs"), None),
        (
            Method::GET,
            format!("{p}/cronjobs/report/runs/{run}/logs"),
            None,
        ),
        (Method::GET, format!("{p}/alerts"), None),
        (Method::PUT, format!("{p}/alerts"), Some(alert_settings())),
        (Method::DELETE, format!("{p}/alerts"), None),
        (Method::GET, format!("{p}/alerts/history"), None),
        (Method::POST, format!("{p}/alerts/test"), None),
        (Method::GET, format!("{p}/cronjobs/report/alerts"), None),
        (
            Method::PUT,
            format!("{p}/cronjobs/report/alerts"),
            Some(alert_settings()),
        ),
        (Method::DELETE, format!("{p}/cronjobs/report/alerts"), None),
    ];
    for (method, path, body) in calls {
        let r = app.call(method.clone(), &path, Some(&other), body).await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {:?}",
            r.body
        );
        assert!(!r.body.to_string().contains("acme"));
    }
    // The other tenant's own project list is empty, and the owner still has everything.
    assert_eq!(app.get("/api/v1/projects", &other).await.body, json!([]));
    assert_eq!(
        app.get("/api/v1/projects/shop/cronjobs/report", &owner)
            .await
            .status,
        StatusCode::OK
    );
    // Two tenants may use the same project name: their namespaces differ.
    assert_eq!(
        app.post("/api/v1/projects", &other, json!({"name": "shop"}))
            .await
            .status,
        StatusCode::CREATED
    );
    let a = app.get("/api/v1/projects/shop", &owner).await.body["namespace"].clone();
    let b = app.get("/api/v1/projects/shop", &other).await.body["namespace"].clone();
    assert_ne!(a, b);
}

#[tokio::test]
async fn follow_and_snapshot_templates() {
    let app = TestApp::new().await;
    let token = app.seeded("acme").await;
    let mut snap = report();
    snap["name"] = json!("frozen");
    snap["spec"]["template"]["mode"] = json!("snapshot");
    let r = app
        .post("/api/v1/projects/shop/cronjobs", &token, snap)
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(
        r.body["spec"]["template"]["snapshot"]["image"],
        "ghcr.io/acme/web:1.4"
    );
    assert_eq!(r.body["templateMode"], "snapshot");

    let mut newer = web();
    newer["spec"]["image"] = json!("ghcr.io/acme/web:2.0");
    let r = app
        .put(
            "/api/v1/projects/shop/applications/web",
            &token,
            json!({"type": "stateless", "spec": newer["spec"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let image = |cj: k8s_openapi::api::batch::v1::CronJob| {
        cj.spec
            .job_template
            .spec
            .unwrap()
            .template
            .spec
            .unwrap()
            .containers[0]
            .image
            .clone()
            .unwrap()
    };
    assert_eq!(
        image(app.cronjob("report").await.unwrap()),
        "ghcr.io/acme/web:2.0"
    );
    assert_eq!(
        image(app.cronjob("frozen").await.unwrap()),
        "ghcr.io/acme/web:1.4"
    );

    // Suspending (an edit) keeps the snapshot, and a snapshot in the input is ignored.
    let r = app
        .post(
            "/api/v1/projects/shop/cronjobs/frozen/suspend",
            &token,
            json!({}),
        )
        .await;
    assert_eq!(r.body["container"]["image"], "ghcr.io/acme/web:1.4");
    let mut spec = r.body["spec"].clone();
    spec["template"]["snapshot"]["image"] = json!("evil:1");
    let r = app
        .put("/api/v1/projects/shop/cronjobs/frozen", &token, spec)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        r.body["spec"]["template"]["snapshot"]["image"],
        "ghcr.io/acme/web:1.4"
    );
    // Switching to follow and back takes a new snapshot.
    let mut spec = r.body["spec"].clone();
    spec["template"] = json!({"application": "web", "mode": "follow"});
    app.put(
        "/api/v1/projects/shop/cronjobs/frozen",
        &token,
        spec.clone(),
    )
    .await;
    spec["template"]["mode"] = json!("snapshot");
    let r = app
        .put("/api/v1/projects/shop/cronjobs/frozen", &token, spec)
        .await;
    assert_eq!(
        r.body["spec"]["template"]["snapshot"]["image"],
        "ghcr.io/acme/web:2.0"
    );

    // The template of a following CronJob cannot be deleted.
    let r = app
        .delete("/api/v1/projects/shop/applications/web", &token)
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body["message"].as_str().unwrap().contains("report"));
    // Types cannot change.
    let r = app
        .put(
            "/api/v1/projects/shop/applications/report",
            &token,
            json!({"type": "stateless", "spec": web()["spec"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["problems"][0]["field"], "type");
}

#[tokio::test]
async fn reconciler_corrects_drift_and_removes_orphans() {
    let app = TestApp::new().await;
    app.seeded("acme").await;
    let cj = app.cronjob("report").await.unwrap();
    let ns = cj.metadata.namespace.clone();
    let tenant_id = app.state.store().tenant_by_name("acme").await.unwrap().id;
    // Deleted by hand.
    app.gateway.remove(
        &tenant_id,
        &ObjectKey {
            kind: Kind::CronJob,
            namespace: ns.clone(),
            name: "report".into(),
        },
    );
    assert!(app.cronjob("report").await.is_none());
    // Created by hand with HKS labels (or left behind).
    let mut orphan = cj.clone();
    orphan.metadata.name = Some("orphan".into());
    let conn = app
        .state
        .store()
        .tenant_with_cluster(&tenant_id)
        .await
        .unwrap()
        .1;
    use hks_kube::Gateway;
    app.gateway
        .apply(
            hks_kube::TenantCluster {
                tenant_id: &tenant_id,
                connection: &conn,
            },
            &[Object::CronJob(orphan)],
        )
        .await
        .unwrap();

    let r = hks_controller::reconcile(app.state.app()).await.unwrap();
    assert_eq!(r.orphans_deleted, 1);
    assert_eq!(app.cronjob("report").await.unwrap(), cj);
    assert!(app.cronjob("orphan").await.is_none());

    // An unreachable cluster is reported, not fatal.
    app.gateway.set_unreachable(true);
    let r = hks_controller::reconcile(app.state.app()).await.unwrap();
    assert_eq!(r.failed_projects, 1);
}

#[tokio::test]
async fn schedule_preview_and_manifest_preview() {
    let app = TestApp::new().await;
    let token = app.seeded("acme").await;
    let r = app.post("/api/v1/schedules/preview", &token, json!({"schedule": "30 2 * * *", "timeZone": "America/New_York", "after": "2025-03-08T12:00:00Z", "count": 2})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["valid"], true);
    assert_eq!(r.body["nextRuns"][0]["at"], "2025-03-10T06:30:00Z");
    let bad = app
        .post(
            "/api/v1/schedules/preview",
            &token,
            json!({"schedule": "0 0 * * 7"}),
        )
        .await;
    assert_eq!(bad.body["valid"], false);
    assert!(!bad.body["errors"].as_array().unwrap().is_empty());

    let m = app
        .post(
            "/api/v1/projects/shop/manifests",
            &token,
            json!({"name": "preview", "type": "cronjob", "spec": report()["spec"]}),
        )
        .await;
    assert_eq!(m.status, StatusCode::OK, "{:?}", m.body);
    assert_eq!(m.body["objects"][0]["kind"], "CronJob");
    // Nothing applied.
    assert!(app.cronjob("preview").await.is_none());
}

/// The acceptance journey against the real local cluster: a CronJob from a
/// template with a command override, Run now, its result and log, suspend,
/// edit, drift corrected, delete. Skipped (with a note) without a cluster,
/// unless `HKS_KUBECONFIG` names one (as `./dev/test` does).
#[tokio::test]
async fn journey_on_the_real_cluster() {
    let Some(kubeconfig) = hks_testkit::cluster() else {
        return;
    };
    let app = TestApp::on_cluster().await;
    let r = app
        .post(
            "/api/v1/admin/tenants",
            ADMIN,
            json!({"name": "journey", "cluster": {"kind": "kubeconfig", "kubeconfig": kubeconfig}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let token = app
        .post(
            "/api/v1/admin/tenants/journey/tokens",
            ADMIN,
            json!({"name": "ci"}),
        )
        .await
        .body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let project = format!(
        "j{}",
        &app.state
            .store()
            .tenant_by_name("journey")
            .await
            .unwrap()
            .id[..6]
    );
    let r = app
        .post("/api/v1/projects", &token, json!({"name": project}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let namespace = r.body["namespace"].as_str().unwrap().to_owned();

    let result = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(journey(
        &app,
        &token,
        &project,
        &namespace,
        &kubeconfig,
    )))
    .await;
    let deleted = app
        .delete(&format!("/api/v1/projects/{project}"), &token)
        .await;
    // The namespace goes, runs and all: HKS's finalizers do not keep it.
    let kc = kube::config::Kubeconfig::from_yaml(&kubeconfig).unwrap();
    let client = kube::Client::try_from(
        kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .unwrap(),
    )
    .unwrap();
    let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(client);
    let mut gone = false;
    for _ in 0..240 {
        if namespaces.get_opt(&namespace).await.unwrap().is_none() {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(gone, "namespace {namespace} is still there after 120 s");
}

async fn journey(app: &TestApp, token: &str, project: &str, namespace: &str, kubeconfig: &str) {
    let base = format!("/api/v1/projects/{project}");
    let web = json!({"name": "web", "type": "stateless", "spec": {
        "image": "hks.local/busybox:1", "command": ["httpd", "-f", "-p", "8080", "-h", "/etc"], "port": 8080,
        "env": [{"name": "GREETING", "value": "hello"}]
    }});
    assert_eq!(
        app.post(&format!("{base}/applications"), token, web)
            .await
            .status,
        StatusCode::CREATED
    );
    let job = json!({"name": "report", "spec": {
        "schedule": "0 9 * * 1", "timeZone": "Europe/Berlin",
        "template": {"application": "web", "mode": "follow"},
        "command": {"argv": ["echo \"$GREETING from the report\"; exit 0"], "shell": true}
    }});
    let r = app.post(&format!("{base}/cronjobs"), token, job).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);

    // In the cluster with the expected pod spec.
    let kc = kube::config::Kubeconfig::from_yaml(kubeconfig).unwrap();
    let client = kube::Client::try_from(
        kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .unwrap(),
    )
    .unwrap();
    let cronjobs: kube::Api<k8s_openapi::api::batch::v1::CronJob> =
        kube::Api::namespaced(client, namespace);
    let cj = cronjobs.get("report").await.unwrap();
    let pod = cj
        .spec
        .job_template
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap();
    assert_eq!(
        pod.containers[0].image.as_deref(),
        Some("hks.local/busybox:1")
    );
    assert_eq!(
        pod.containers[0].command.as_ref().unwrap()[..2],
        ["sh", "-c"]
    );
    assert_eq!(cj.spec.time_zone.as_deref(), Some("Europe/Berlin"));

    // Run now; the run succeeds with exit code 0, and its log is readable.
    let run = app
        .post(&format!("{base}/cronjobs/report/runs"), token, json!({}))
        .await;
    assert_eq!(run.status, StatusCode::CREATED, "{:?}", run.body);
    let run_name = run.body["name"].as_str().unwrap().to_owned();
    let mut last = Value::Null;
    // Pod start-up on the single-node dev cluster can take a while when it is busy.
    for _ in 0..360 {
        last = app.get(&format!("{base}/cronjobs"), token).await.body[0]["lastRun"].clone();
        if last["result"] == "Succeeded" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert_eq!(last["result"], "Succeeded", "{last}");
    assert_eq!(last["exitCode"], 0);
    assert_eq!(last["trigger"], "manual");
    let logs = app
        .get(
            &format!("{base}/cronjobs/report/runs/{run_name}/logs"),
            token,
        )
        .await;
    assert_eq!(logs.body["attempts"][0]["log"], "hello from the report\n");

    // Suspend, edit the schedule: both reach the cluster.
    assert_eq!(
        app.post(&format!("{base}/cronjobs/report/suspend"), token, json!({}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        cronjobs.get("report").await.unwrap().spec.suspend,
        Some(true)
    );
    let mut spec = app
        .get(&format!("{base}/cronjobs/report"), token)
        .await
        .body["spec"]
        .clone();
    spec["schedule"] = json!("30 6 * * *");
    assert_eq!(
        app.put(&format!("{base}/cronjobs/report"), token, spec)
            .await
            .status,
        StatusCode::OK
    );
    let cj = cronjobs.get("report").await.unwrap();
    assert_eq!(
        (cj.spec.schedule.as_str(), cj.spec.suspend),
        ("30 6 * * *", Some(true))
    );

    // Deleted by hand: the reconciler puts it back.
    cronjobs
        .delete("report", &Default::default())
        .await
        .unwrap();
    wait_until("the CronJob deleted by hand gone", 120, async || {
        cronjobs.get_opt("report").await.unwrap().is_none()
    })
    .await;
    // The watch cache may lag behind the deletion: a later pass catches it.
    wait_until("the reconciler re-creating the CronJob", 300, async || {
        hks_controller::reconcile(app.state.app()).await.unwrap();
        cronjobs.get_opt("report").await.unwrap().is_some()
    })
    .await;
    assert_eq!(
        cronjobs.get("report").await.unwrap().spec.schedule,
        "30 6 * * *"
    );

    // Delete.
    assert_eq!(
        app.delete(&format!("{base}/cronjobs/report"), token)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert!(
        cronjobs
            .get_opt("report")
            .await
            .unwrap()
            .is_none_or(|c| c.metadata.deletion_timestamp.is_some())
    );
}

#[tokio::test]
async fn reconciler_reapplies_only_cronjobs_that_changed() {
    let app = TestApp::new().await;
    app.seeded("acme").await;
    let tenant_id = app.state.store().tenant_by_name("acme").await.unwrap().id;
    let cj = app.cronjob("report").await.unwrap();
    let key = ObjectKey {
        kind: Kind::CronJob,
        namespace: cj.metadata.namespace.clone(),
        name: "report".into(),
    };

    // As HKS applied it: left alone (the namespace, Deployment and Service are re-applied).
    let r = hks_controller::reconcile(app.state.app()).await.unwrap();
    assert_eq!((r.unchanged, r.applied), (1, 3));

    // Edited by hand: its generation moved on, so it is applied again and restored.
    app.gateway.edit(&tenant_id, &key, |o| {
        if let Object::CronJob(c) = o {
            c.spec.schedule = "* * * * *".into();
        }
    });
    let r = hks_controller::reconcile(app.state.app()).await.unwrap();
    assert_eq!((r.unchanged, r.applied), (0, 4));
    assert_eq!(app.cronjob("report").await.unwrap(), cj);
    let r = hks_controller::reconcile(app.state.app()).await.unwrap();
    assert_eq!(r.unchanged, 1);
}

#[tokio::test]
async fn unusable_kubeconfigs_are_refused_when_the_tenant_is_created() {
    let store = Store::in_memory().await.unwrap();
    let gateway = Arc::new(hks_kube::live::KubeGateway::new(
        hks_kube::live::Settings::default(),
    ));
    let state = AppState::new(store, gateway, Some(&ADMIN.to_owned().into()), None);
    let app = TestApp {
        router: router(state.clone()),
        state,
        gateway: Arc::new(FakeGateway::new()),
    };
    let exec = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:6443\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /bin/sh\n";
    for kubeconfig in ["not: [yaml", exec] {
        let r = app.post("/api/v1/admin/tenants", ADMIN, json!({"name": "acme", "cluster": {"kind": "kubeconfig", "kubeconfig": kubeconfig}})).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
        assert_eq!(r.body["problems"][0]["field"], "cluster.kubeconfig");
        assert!(!r.body.to_string().contains("/bin/sh"));
    }
    assert_eq!(
        app.get("/api/v1/admin/tenants", ADMIN).await.body,
        json!([])
    );
}

#[tokio::test]
async fn cronjobs_that_call_a_function() {
    let app = TestApp::new().await;
    let token = app.seeded("acme").await;
    let fnspec = json!({"endpoint": "http://greeter.ns.svc:8080/", "method": "POST",
        "tokenSecret": {"name": "greet-token", "key": "token"}});
    let r = app
        .post(
            "/api/v1/projects/shop/applications",
            &token,
            json!({"name": "greet", "type": "function", "spec": fnspec}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);

    // A Function that does not exist, or an application that is not one.
    for (name, code) in [("nope", "function_not_found"), ("web", "not_a_function")] {
        let r = app
            .post("/api/v1/projects/shop/cronjobs", &token, json!({"name": "wake", "spec": {"schedule": "@hourly", "function": {"name": name}}}))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
        assert_eq!(r.body["problems"][0]["field"], "spec.function.name");
        assert_eq!(r.body["problems"][0]["code"], code);
    }
    let r = app
        .post("/api/v1/projects/shop/cronjobs", &token, json!({"name": "wake", "spec": {"schedule": "@hourly", "image": "x", "function": {"name": "greet", "headers": [{"name": "Authorization", "value": "Bearer leaked"}]}}}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    let fields: Vec<&str> = r.body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["spec.image", "spec.function.headers[0].name"]);

    let r = app
        .post("/api/v1/projects/shop/cronjobs", &token, json!({"name": "wake", "spec": {"schedule": "* * * * *", "retries": 0,
            "function": {"name": "greet", "method": "PUT", "headers": [{"name": "X-Source", "value": "hks"}], "body": "{}", "expect": ["200", "204"]}}}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["function"], "greet");
    assert_eq!(r.body["template"], Value::Null);
    assert_eq!(r.body["container"]["command"], json!(["/bin/hks-invoke"]));
    assert_eq!(r.body["container"]["image"], "hks.local/busybox:1");
    assert!(
        r.body["container"]["args"]
            .as_array()
            .unwrap()
            .contains(&json!("--url=http://greeter.ns.svc:8080/"))
    );
    let cj = app.cronjob("wake").await.expect("applied");
    let pod = cj.spec.job_template.spec.unwrap().template.spec.unwrap();
    assert_eq!(pod.restart_policy.as_deref(), Some("Never"));
    let args = pod.containers[0].args.clone().unwrap();
    assert!(args.contains(&"--method=PUT".to_owned()));
    assert!(args.contains(&"--expect=200,204".to_owned()));
    assert!(args.contains(&"--token-file=/var/run/secrets/hks.dev/function/token".to_owned()));

    // A new endpoint reaches the CronJobs that call the Function.
    let r = app
        .put("/api/v1/projects/shop/applications/greet", &token, json!({"type": "function", "spec": {"endpoint": "http://greeter2.ns.svc:8080/", "method": "POST"}}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let cj = app.cronjob("wake").await.unwrap();
    let pod = cj.spec.job_template.spec.unwrap().template.spec.unwrap();
    let args = pod.containers[0].args.clone().unwrap();
    assert!(
        args.contains(&"--url=http://greeter2.ns.svc:8080/".to_owned()),
        "{args:?}"
    );
    assert!(!args.iter().any(|a| a.starts_with("--token-file")));
    assert!(pod.volumes.is_none());

    // The Function cannot go while CronJobs call it.
    let r = app
        .delete("/api/v1/projects/shop/applications/greet", &token)
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(
        app.delete("/api/v1/projects/shop/cronjobs/wake", &token)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete("/api/v1/projects/shop/applications/greet", &token)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
}

const WEBHOOK_SECRET: &str = "webhook-secret-NEVER-SHOWN-42";

fn alert_settings() -> Value {
    json!({"rules": {"onFailure": true, "onRecovery": true, "consecutiveFailures": 3},
        "webhook": {"url": "http://127.0.0.1:9/hook", "secret": WEBHOOK_SECRET}})
}

#[tokio::test]
async fn alert_settings_history_and_test_deliveries() {
    let app = TestApp::new().await;
    let token = app.seeded("acme").await;
    let mut bodies = Vec::new();
    let project = "/api/v1/projects/shop/alerts";
    let own = "/api/v1/projects/shop/cronjobs/report/alerts";

    // Nothing set: no alerts.
    let r = app.get(own, &token).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["source"], "none");

    // The project's default applies to the CronJob; the secret is write-only.
    let r = app.put(project, &token, alert_settings()).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        r.body["webhook"],
        json!({"url": "http://127.0.0.1:9/hook", "secretSet": true})
    );
    bodies.push(r.body);
    let r = app.get(own, &token).await;
    assert_eq!(r.body["source"], "project");
    assert_eq!(r.body["rules"]["consecutiveFailures"], 3);
    bodies.push(r.body);

    // The CronJob's own settings; a PUT without a secret keeps the stored one.
    let r = app
        .put(
            own,
            &token,
            json!({"rules": {"onMissed": true, "longerThanSeconds": 600},
            "webhook": {"url": "https://hooks.example.com/hks"}}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "a new webhook needs a secret"
    );
    assert_eq!(r.body["problems"][0]["field"], "webhook.secret");
    assert_eq!(
        app.put(own, &token, alert_settings()).await.status,
        StatusCode::OK
    );
    let r = app
        .put(
            own,
            &token,
            json!({"rules": {"onMissed": true, "longerThanSeconds": 600},
            "webhook": {"url": "https://hooks.example.com/hks"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["source"], "cronjob");
    assert_eq!(r.body["webhook"]["secretSet"], true);
    assert_eq!(r.body["rules"]["onFailure"], false);
    bodies.push(r.body);
    let (tenant, store) = {
        let store = app.state.store();
        (store.tenant_by_name("acme").await.unwrap(), store.clone())
    };
    let p = store.project(&tenant.id, "shop").await.unwrap();
    let kept = store
        .alert_settings(&p.id, Some("report"))
        .await
        .unwrap()
        .unwrap();
    use secrecy::ExposeSecret;
    assert_eq!(kept.webhook.unwrap().secret.expose_secret(), WEBHOOK_SECRET);

    // Removing its own settings falls back to the project's.
    assert_eq!(app.delete(own, &token).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(own, &token).await.body["source"], "project");
    assert_eq!(
        app.get("/api/v1/projects/shop/cronjobs/nope/alerts", &token)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Alerts raised by the recorder show in the history, newest first, with their delivery.
    let alerter = app.state.alerter();
    use hks_history::alerts::Outcome;
    let raised = alerter
        .run_finished(
            &p.id,
            "report",
            "report-1",
            Outcome::Failed,
            Some("BackoffLimitExceeded"),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(raised.len(), 1);
    alerter
        .run_finished(
            &p.id,
            "report",
            "report-2",
            Outcome::Succeeded,
            None,
            &[Outcome::Failed],
        )
        .await
        .unwrap();
    let r = app
        .get(
            "/api/v1/projects/shop/alerts/history?cronjob=report",
            &token,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let kinds: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["recovered", "failed"]);
    assert_eq!(
        r.body[1]["summary"],
        "Run report-1 failed (BackoffLimitExceeded)"
    );
    assert_eq!(r.body[1]["delivery"]["state"], "pending");
    assert_eq!(r.body[1]["delivery"]["attempts"], 0);
    bodies.push(r.body);
    let r = app
        .get(
            "/api/v1/projects/shop/alerts/history?limit=1&offset=1",
            &token,
        )
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    assert_eq!(r.body[0]["kind"], "failed");
    let r = app
        .get("/api/v1/projects/shop/alerts/history?limit=0", &token)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["problems"][0]["field"], "limit");

    // A test delivery to a local receiver, and to none.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(|| async { StatusCode::NO_CONTENT }),
    );
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });
    let mut settings = alert_settings();
    settings["webhook"]["url"] = json!(url);
    assert_eq!(
        app.put(project, &token, settings).await.status,
        StatusCode::OK
    );
    let r = app
        .post(
            "/api/v1/projects/shop/alerts/test?cronjob=report",
            &token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["delivered"], true);
    assert_eq!(r.body["status"], 204);
    bodies.push(r.body);
    assert_eq!(
        app.delete(project, &token).await.status,
        StatusCode::NO_CONTENT
    );
    let r = app
        .post("/api/v1/projects/shop/alerts/test", &token, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(app.get(project, &token).await.body["source"], "none");

    for body in bodies {
        assert!(!body.to_string().contains(WEBHOOK_SECRET), "{body}");
    }
}

#[tokio::test]
async fn bad_alert_settings_are_400_with_field_paths() {
    let app = TestApp::new().await;
    let token = app.seeded("acme").await;
    let cases = [
        json!({"rules": {"consecutiveFailures": 1, "longerThanSeconds": 59},
            "webhook": {"url": "ftp://example.com/", "secret": "short"}}),
        json!({"rules": {"consecutiveFailures": 101},
            "webhook": {"url": "https://user:hunter2@example.com/hook", "secret": "0123456789abcdef"}}),
        json!({"rules": {}, "webhook": {"url": "not a url", "secret": "0123456789abcdef"}}),
        json!({"rules": {"onFailure": true, "onFailures": true}}),
        json!({"rules": {}, "webhook": {"url": "https://example.com/", "secret": "0123456789abcdef", "token": "x"}}),
        json!({"rules": {"longerThanSeconds": "ten"}}),
    ];
    let mut answers = vec![];
    for body in cases {
        let r = app
            .put("/api/v1/projects/shop/cronjobs/report/alerts", &token, body)
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
        assert!(!r.body.to_string().contains("hunter2"), "{:?}", r.body);
        answers.push(r.body);
    }
    insta::assert_json_snapshot!(answers);
    // Nothing was stored.
    assert_eq!(
        app.get("/api/v1/projects/shop/cronjobs/report/alerts", &token)
            .await
            .body["source"],
        "none"
    );
}

/// Polls `done` every half second until it holds; fails after `seconds`.
async fn wait_until(what: &str, seconds: u64, mut done: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while !done().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {seconds} s waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// The reconciler and tenancy on the real cluster: two tenants on one
/// physical cluster, each with a project `shop` and a CronJob `report`.
/// A CronJob deleted by hand is re-created, one edited by hand (a new
/// generation) is put back, an HKS-labelled CronJob the store does not know
/// is removed; neither tenant sees the other's CronJobs or runs.
#[tokio::test]
async fn reconciler_and_tenants_on_the_real_cluster() {
    let Some(kubeconfig) = hks_testkit::cluster() else {
        return;
    };
    let app = TestApp::on_cluster().await;
    let kc = kube::config::Kubeconfig::from_yaml(&kubeconfig).unwrap();
    let client = kube::Client::try_from(
        kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .unwrap(),
    )
    .unwrap();
    let mut tenants = vec![];
    for name in ["rec-a", "rec-b"] {
        let r = app
            .post(
                "/api/v1/admin/tenants",
                ADMIN,
                json!({"name": name, "cluster": {"kind": "kubeconfig", "kubeconfig": kubeconfig}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let token = app
            .post(
                &format!("/api/v1/admin/tenants/{name}/tokens"),
                ADMIN,
                json!({"name": "ci"}),
            )
            .await
            .body["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let r = app
            .post("/api/v1/projects", &token, json!({"name": "shop"}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let namespace = r.body["namespace"].as_str().unwrap().to_owned();
        tenants.push((token, namespace));
    }
    let result = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(
        reconciler_and_tenants(&app, &client, &tenants),
    ))
    .await;
    let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> =
        kube::Api::all(client.clone());
    for (token, namespace) in &tenants {
        let deleted = app.delete("/api/v1/projects/shop", token).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        wait_until("the project's namespace gone", 300, async || {
            namespaces.get_opt(namespace).await.unwrap().is_none()
        })
        .await;
    }
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

async fn reconciler_and_tenants(
    app: &TestApp,
    client: &kube::Client,
    tenants: &[(String, String)],
) {
    type CronJob = k8s_openapi::api::batch::v1::CronJob;
    let [(a, ns_a), (b, ns_b)] = tenants else {
        unreachable!()
    };
    assert_ne!(ns_a, ns_b, "one project name, two namespaces");
    let cronjob = |name: &str, text: &str| {
        json!({"name": name, "spec": {
            "schedule": "0 0 1 1 *", "image": "hks.local/busybox:1",
            "command": {"argv": [format!("echo {text}")], "shell": true}, "retries": 0
        }})
    };
    for (token, cronjobs) in [(a, &["report"][..]), (b, &["report", "other"][..])] {
        for name in cronjobs {
            let r = app
                .post("/api/v1/projects/shop/cronjobs", token, cronjob(name, name))
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        }
    }
    let api_a: kube::Api<CronJob> = kube::Api::namespaced(client.clone(), ns_a);
    let api_b: kube::Api<CronJob> = kube::Api::namespaced(client.clone(), ns_b);

    // Tenant A runs its CronJob; tenant B sees neither that run nor A's CronJobs.
    let run = app
        .post("/api/v1/projects/shop/cronjobs/report/runs", a, json!({}))
        .await;
    assert_eq!(run.status, StatusCode::CREATED, "{:?}", run.body);
    let run = run.body["name"].as_str().unwrap().to_owned();
    wait_until("tenant A's run to succeed", 300, async || {
        let runs = app
            .get("/api/v1/projects/shop/cronjobs/report/runs", a)
            .await;
        runs.body.as_array().is_some_and(|r| {
            r.iter()
                .any(|r| r["name"] == run && r["result"] == "Succeeded")
        })
    })
    .await;
    let names = |body: &Value| -> Vec<String> {
        let mut n: Vec<String> = body
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect();
        n.sort();
        n
    };
    let list_a = app.get("/api/v1/projects/shop/cronjobs", a).await;
    let list_b = app.get("/api/v1/projects/shop/cronjobs", b).await;
    assert_eq!(names(&list_a.body), ["report"], "{:?}", list_a.body);
    assert_eq!(
        names(&list_b.body),
        ["other", "report"],
        "{:?}",
        list_b.body
    );
    assert!(list_b.body[1]["lastRun"].is_null(), "{:?}", list_b.body);
    let runs_b = app
        .get("/api/v1/projects/shop/cronjobs/report/runs", b)
        .await;
    assert_eq!(runs_b.status, StatusCode::OK);
    assert_eq!(runs_b.body, json!([]), "tenant B sees no run of A's");
    let log = app
        .get(
            &format!("/api/v1/projects/shop/cronjobs/report/runs/{run}/logs"),
            b,
        )
        .await;
    assert_eq!(log.status, StatusCode::NOT_FOUND, "{:?}", log.body);
    let own = app
        .get(
            &format!("/api/v1/projects/shop/cronjobs/report/runs/{run}/logs"),
            a,
        )
        .await;
    assert_eq!(own.body["attempts"][0]["log"], "report\n", "{:?}", own.body);

    // Edited by hand: a new generation, put back by the reconciler.
    let before = api_a.get("report").await.unwrap();
    api_a
        .patch(
            "report",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"spec": {"schedule": "5 5 5 5 *"}})),
        )
        .await
        .unwrap();
    let edited = api_a.get("report").await.unwrap();
    assert_ne!(edited.metadata.generation, before.metadata.generation);
    wait_until(
        "the reconciler restoring the edited CronJob",
        300,
        async || {
            hks_controller::reconcile(app.state.app()).await.unwrap();
            api_a.get("report").await.unwrap().spec.schedule == "0 0 1 1 *"
        },
    )
    .await;

    // Deleted by hand: re-created.
    api_b.delete("other", &Default::default()).await.unwrap();
    wait_until("the CronJob deleted by hand gone", 120, async || {
        api_b.get_opt("other").await.unwrap().is_none()
    })
    .await;
    wait_until(
        "the reconciler re-creating the deleted CronJob",
        300,
        async || {
            hks_controller::reconcile(app.state.app()).await.unwrap();
            api_b.get_opt("other").await.unwrap().is_some()
        },
    )
    .await;

    // An HKS-labelled CronJob that the store does not know: removed. The
    // tenants' own CronJobs stay.
    let mut orphan = api_a.get("report").await.unwrap();
    orphan.metadata = kube::api::ObjectMeta {
        name: Some("orphan".into()),
        labels: before.metadata.labels.clone(),
        ..Default::default()
    };
    orphan.status = None;
    api_a
        .create(&kube::api::PostParams::default(), &orphan)
        .await
        .unwrap();
    wait_until("the reconciler deleting the orphan", 300, async || {
        hks_controller::reconcile(app.state.app()).await.unwrap();
        api_a
            .get_opt("orphan")
            .await
            .unwrap()
            .is_none_or(|c| c.metadata.deletion_timestamp.is_some())
    })
    .await;
    assert!(api_a.get_opt("report").await.unwrap().is_some());
    assert!(api_b.get_opt("report").await.unwrap().is_some());
    assert!(api_b.get_opt("other").await.unwrap().is_some());
    let list_a = app.get("/api/v1/projects/shop/cronjobs", a).await;
    assert_eq!(names(&list_a.body), ["report"], "{:?}", list_a.body);
}
