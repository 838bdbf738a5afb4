//! CronJobs: what is applied, listed and shown; suspend, resume, edit and
//! delete; invalid input; an unreachable cluster; the reconciler.

use axum::http::StatusCode;
use hks_api::dto::{ClusterState, CronJobSummary, CronJobView};
use hks_core::spec::TemplateMode;
use hks_kube::{Kind, Object, ObjectKey};
use serde_json::json;

use crate::common::{TestApp, pod_spec, report, seeded};

/// A CronJob's life without its runs (`runs::run_now_runs_and_logs` has
/// those): applied from a template with a command override, listed,
/// suspended, resumed, edited, deleted.
#[tokio::test]
async fn cronjob_journey() {
    let app = TestApp::new().await;
    let token = seeded(&app, "acme").await;

    // The applied CronJob: template container with the command override.
    let cj = app.fake_cronjob("report").await.expect("applied");
    assert_eq!(cj.spec.time_zone.as_deref(), Some("Europe/Berlin"));
    assert_eq!(cj.spec.concurrency_policy.as_deref(), Some("Forbid"));
    let pod = pod_spec(&cj);
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

    let list: Vec<CronJobSummary> = app
        .get("/api/v1/projects/shop/cronjobs", &token)
        .await
        .expect_json(StatusCode::OK);
    let row = &list[0];
    assert_eq!(row.name, "report");
    assert_eq!(row.template_mode, Some(TemplateMode::Follow));
    assert_eq!(row.cluster_state, ClusterState::Applied);
    assert!(
        row.description
            .as_deref()
            .unwrap()
            .contains("Europe/Berlin"),
        "{row:?}"
    );
    assert!(row.next_run.is_some());
    assert!(row.last_run.is_none());

    // Suspend, resume, edit the schedule.
    let s: CronJobView = app
        .post(
            "/api/v1/projects/shop/cronjobs/report/suspend",
            &token,
            json!({}),
        )
        .await
        .expect_json(StatusCode::OK);
    assert!(s.summary.suspended);
    assert!(s.summary.next_run.is_none());
    assert_eq!(
        app.fake_cronjob("report").await.unwrap().spec.suspend,
        Some(true)
    );
    let resumed: CronJobView = app
        .post(
            "/api/v1/projects/shop/cronjobs/report/resume",
            &token,
            json!({}),
        )
        .await
        .json();
    assert!(!resumed.summary.suspended);
    let mut spec = report()["spec"].clone();
    spec["schedule"] = json!("*/30 * * * *");
    let edited: CronJobView = app
        .put("/api/v1/projects/shop/cronjobs/report", &token, spec)
        .await
        .expect_json(StatusCode::OK);
    assert_eq!(edited.generation, 4);
    assert_eq!(
        app.fake_cronjob("report").await.unwrap().spec.schedule,
        "*/30 * * * *"
    );
    assert_eq!(edited.container.unwrap().image, "ghcr.io/acme/web:1.4");
    assert_eq!(edited.next_runs.len(), 5);

    // Delete.
    assert_eq!(
        app.delete("/api/v1/projects/shop/cronjobs/report", &token)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert!(app.fake_cronjob("report").await.is_none());
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
    let token = seeded(&app, "acme").await;
    let cases = [
        json!({"name": "Bad_Name", "spec": {"schedule": "0 3 * * *", "image": "busybox"}}),
        json!({"name": "x", "spec": {"schedule": "0 0 * * 7", "timeZone": "Mars/Olympus", "image": "busybox"}}),
        json!({"name": "x", "spec": {"schedule": "@daily", "image": "Busybox:latest", "env": [{"name": "1X", "value": "a"}],
            "resources": {"limits": {"memory": "12MB"}}, "command": {"argv": []}}}),
        json!({"name": "x", "spec": {"schedule": "@daily", "template": {"application": "nope", "mode": "follow"}}}),
        json!({"name": "x", "spec": {"schedule": "@daily", "image": "busybox", "timezone": "UTC"}}),
        json!({"name": "x", "spec": {"schedule": "@daily", "image": "busybox", "retries": "three"}}),
        json!({"name": "x", "spec": {"schedule": "@daily", "image": "busybox", "security": {"addCapabilities": ["SYS_ADMIN"]}}}),
        json!({"name": "x", "spec": {"schedule": "@daily", "image": "busybox", "security": {"runAsUser": 0, "runAsNonRoot": true}}}),
    ];
    let mut answers = vec![];
    for body in cases {
        let r = app
            .post("/api/v1/projects/shop/cronjobs", &token, body)
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r}");
        // The snapshot is of the bodies as clients get them.
        answers.push(r.value());
    }
    insta::assert_json_snapshot!(answers);
    // Nothing was stored or applied.
    let list: Vec<CronJobSummary> = app
        .get("/api/v1/projects/shop/cronjobs", &token)
        .await
        .json();
    assert_eq!(list.len(), 1);
    // A name in use is a conflict.
    let r = app
        .post("/api/v1/projects/shop/cronjobs", &token, report())
        .await;
    assert_eq!(r.expect_error(StatusCode::CONFLICT).code, "conflict");
}

#[tokio::test]
async fn unreachable_cluster_refuses_writes_and_stores_nothing() {
    let app = TestApp::new().await;
    let token = seeded(&app, "acme").await;
    app.fake.set_unreachable(true);
    let mut job = report();
    job["name"] = json!("later");
    let r = app
        .post("/api/v1/projects/shop/cronjobs", &token, job.clone())
        .await;
    assert_eq!(
        r.expect_error(StatusCode::SERVICE_UNAVAILABLE).code,
        "cluster_unavailable"
    );
    assert_eq!(r.retry_after(), Some("15"));
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
    let list: Vec<CronJobSummary> = app
        .get("/api/v1/projects/shop/cronjobs", &token)
        .await
        .expect_json(StatusCode::OK);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].cluster_state, ClusterState::Unknown);
    assert!(!list[0].suspended);
    assert_eq!(
        app.get("/api/v1/projects/other", &token).await.status,
        StatusCode::NOT_FOUND
    );
    // Back up: the same write goes through.
    app.fake.set_unreachable(false);
    assert_eq!(
        app.post("/api/v1/projects/shop/cronjobs", &token, job)
            .await
            .status,
        StatusCode::CREATED
    );
}

/// A tenant whose cluster has more HKS objects than its watch caches hold
/// (its watches stopped) is answered as when its cluster is down, never
/// with a 500: reads from the store with the cluster state unknown, and
/// writes still go through (they need no cache). Another tenant is not
/// affected.
#[tokio::test]
async fn a_tenant_over_the_cache_bound_reads_with_an_unknown_state_and_others_go_on() {
    let app = TestApp::new().await;
    let flooded = seeded(&app, "acme").await;
    let calm = seeded(&app, "globex").await;
    let acme = app.tenant_id("acme").await;
    app.fake.set_over_limit(&acme, true);
    let list: Vec<CronJobSummary> = app
        .get("/api/v1/projects/shop/cronjobs", &flooded)
        .await
        .expect_json(StatusCode::OK);
    assert_eq!(list[0].cluster_state, ClusterState::Unknown);
    let one = app
        .get("/api/v1/projects/shop/cronjobs/report", &flooded)
        .await;
    assert_eq!(
        one.expect_json::<CronJobView>(StatusCode::OK)
            .summary
            .cluster_state,
        ClusterState::Unknown
    );
    let mut job = report();
    job["name"] = json!("later");
    let created: CronJobView = app
        .post("/api/v1/projects/shop/cronjobs", &flooded, job)
        .await
        .expect_json(StatusCode::CREATED);
    // Applied, but what the caches would show is unknown.
    assert_eq!(created.summary.cluster_state, ClusterState::Unknown);
    let list: Vec<CronJobSummary> = app
        .get("/api/v1/projects/shop/cronjobs", &calm)
        .await
        .expect_json(StatusCode::OK);
    assert_eq!(list[0].cluster_state, ClusterState::Applied);
    // Under the bound again: the state is known again.
    app.fake.set_over_limit(&acme, false);
    let list: Vec<CronJobSummary> = app
        .get("/api/v1/projects/shop/cronjobs", &flooded)
        .await
        .expect_json(StatusCode::OK);
    assert!(
        list.iter()
            .all(|c| c.cluster_state == ClusterState::Applied),
        "{list:?}"
    );
}

#[tokio::test]
async fn reconciler_corrects_drift_and_removes_orphans() {
    let app = TestApp::new().await;
    seeded(&app, "acme").await;
    let cj = app.fake_cronjob("report").await.unwrap();
    let ns = cj.metadata.namespace.clone();
    let tenant_id = app.tenant_id("acme").await;
    // Deleted by hand.
    app.fake.remove(
        &tenant_id,
        &ObjectKey {
            kind: Kind::CronJob,
            namespace: ns.clone(),
            name: "report".into(),
        },
    );
    assert!(app.fake_cronjob("report").await.is_none());
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
    app.fake
        .apply(
            hks_kube::TenantCluster {
                installation: app.state.app().installation(),
                tenant_id: &tenant_id,
                tenant_name: "acme",
                connection: &conn,
            },
            &[Object::CronJob(orphan)],
        )
        .await
        .unwrap();

    let r = hks_controller::reconcile(app.state.app()).await.unwrap();
    assert_eq!(r.orphans_deleted, 1);
    assert_eq!(app.fake_cronjob("report").await.unwrap(), cj);
    assert!(app.fake_cronjob("orphan").await.is_none());

    // An unreachable cluster is reported, not fatal.
    app.fake.set_unreachable(true);
    let r = hks_controller::reconcile(app.state.app()).await.unwrap();
    assert_eq!(r.failed_projects, 1);
}

#[tokio::test]
async fn reconciler_reapplies_only_cronjobs_that_changed() {
    let app = TestApp::new().await;
    seeded(&app, "acme").await;
    let tenant_id = app.tenant_id("acme").await;
    let cj = app.fake_cronjob("report").await.unwrap();
    let key = ObjectKey {
        kind: Kind::CronJob,
        namespace: cj.metadata.namespace.clone(),
        name: "report".into(),
    };

    // As HKS applied it: left alone (the namespace, LimitRange, Deployment
    // and Service are re-applied).
    let r = hks_controller::reconcile(app.state.app()).await.unwrap();
    assert_eq!((r.unchanged, r.applied), (1, 4));

    // Edited by hand: its generation moved on, so it is applied again and restored.
    app.fake.edit(&tenant_id, &key, |o| {
        if let Object::CronJob(c) = o {
            c.spec.schedule = "* * * * *".into();
        }
    });
    let r = hks_controller::reconcile(app.state.app()).await.unwrap();
    assert_eq!((r.unchanged, r.applied), (0, 5));
    assert_eq!(app.fake_cronjob("report").await.unwrap(), cj);
    let r = hks_controller::reconcile(app.state.app()).await.unwrap();
    assert_eq!(r.unchanged, 1);
}

/// What HKS applied but never stored (a failed insert, a crash between the
/// apply and the insert) is found and deleted by the reconciler, every
/// kind: a Deployment and Service of an application, the namespace of a
/// project. What the store knows stays.
#[tokio::test]
async fn reconciler_removes_what_the_store_never_recorded() {
    use hks_core::manifest;
    use hks_kube::Gateway;
    let app = TestApp::new().await;
    seeded(&app, "acme").await;
    let tenant_id = app.tenant_id("acme").await;
    let before = app.objects().await;
    let conn = app
        .state
        .store()
        .tenant_with_cluster(&tenant_id)
        .await
        .unwrap()
        .1;
    let cluster = hks_kube::TenantCluster {
        installation: app.state.app().installation(),
        tenant_id: &tenant_id,
        tenant_name: "acme",
        connection: &conn,
    };
    let ns = pod_spec_namespace(&app).await;
    let p = manifest::Placement {
        installation: app.state.app().installation().into(),
        tenant: "acme".into(),
        project: "shop".into(),
        namespace: ns,
    };
    let spec: hks_core::spec::StatelessSpec =
        serde_json::from_value(json!({"image": "busybox", "port": 8080})).unwrap();
    let (deployment, service) = manifest::stateless(&p, "never-stored", &spec);
    let lost = manifest::Placement {
        installation: app.state.app().installation().into(),
        tenant: "acme".into(),
        project: "lost".into(),
        namespace: hks_core::tenant::project_namespace(&tenant_id, "lost"),
    };
    app.fake
        .apply(
            cluster,
            &[
                Object::Deployment(deployment),
                Object::Service(service.unwrap()),
                Object::Namespace(manifest::namespace(&lost)),
            ],
        )
        .await
        .unwrap();
    assert_eq!(app.objects().await.len(), before.len() + 3);

    let r = hks_controller::reconcile(app.state.app()).await.unwrap();
    assert_eq!(r.orphans_deleted, 3);
    assert_eq!(app.objects().await, before);
    let r = hks_controller::reconcile(app.state.app()).await.unwrap();
    assert_eq!(r.orphans_deleted, 0);
}

async fn pod_spec_namespace(app: &TestApp) -> String {
    app.fake_cronjob("report")
        .await
        .unwrap()
        .metadata
        .namespace
        .unwrap()
}

/// A project's cached list is made stale by its own tenant's writes only:
/// another tenant's writes (a flood of creates, say, or its runs being
/// recorded) leave it valid, so they do not make every other tenant's lists
/// be derived again.
#[tokio::test]
async fn only_the_tenants_own_writes_make_its_cached_list_stale() {
    let app = TestApp::new().await;
    let quiet = app.tenant_with_project("quiet", "shop").await;
    let noisy = app.tenant_with_project("noisy", "shop").await;
    let job = |name: &str| {
        json!({"name": name, "spec": {"schedule": "0 0 1 1 *", "image": "busybox:1",
            "command": {"argv": ["true"]}}})
    };
    app.cronjob(&quiet.token, "shop", job("one")).await;
    let listed = || async {
        app.get("/api/v1/projects/shop/cronjobs", &quiet.token)
            .await
            .expect_json::<Vec<CronJobSummary>>(StatusCode::OK)
            .len()
    };
    assert_eq!(listed().await, 1);
    // Behind the service's back: a list derived again would not show it.
    app.state
        .store()
        .delete_application(&quiet.id, "one")
        .await
        .unwrap();
    app.state.wrote(&noisy.tenant);
    assert_eq!(listed().await, 1, "another tenant's write: still cached");
    app.state.wrote(&quiet.tenant);
    assert_eq!(listed().await, 0, "the tenant's own write: derived again");
}

/// Suspend with a note: the CronJob and the list say who suspended it,
/// when and why, until it is resumed; an edit that suspends it records who;
/// a bad note changes nothing.
#[tokio::test]
async fn suspend_with_a_note() {
    let app = TestApp::new().await;
    let token = seeded(&app, "acme").await;
    let path = "/api/v1/projects/shop/cronjobs/report";

    let bad = app
        .post(
            &format!("{path}/suspend"),
            &token,
            json!({"reason": "x".repeat(501)}),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert_eq!(bad.fields(), ["reason"], "{bad:?}");
    let view: CronJobView = app.get(path, &token).await.json();
    assert!(!view.summary.suspended);

    let before = jiff::Timestamp::now();
    let s: CronJobView = app
        .post(
            &format!("{path}/suspend"),
            &token,
            json!({"reason": "  warehouse migration until Monday  "}),
        )
        .await
        .expect_json(StatusCode::OK);
    let note = s.summary.suspension.expect("a suspension");
    assert_eq!(note.suspended_by, "acme/ci");
    assert_eq!(
        note.reason.as_deref(),
        Some("warehouse migration until Monday")
    );
    assert!(note.suspended_at >= jiff::Timestamp::from_second(before.as_second()).unwrap());
    let list: Vec<CronJobSummary> = app
        .get("/api/v1/projects/shop/cronjobs", &token)
        .await
        .json();
    assert_eq!(list[0].suspension.as_ref(), Some(&note));

    let resumed: CronJobView = app
        .post(&format!("{path}/resume"), &token, json!({}))
        .await
        .expect_json(StatusCode::OK);
    assert_eq!(resumed.summary.suspension, None);

    // An edit that suspends: who and when, no reason; one that resumes clears it.
    let mut spec = report()["spec"].clone();
    spec["suspend"] = json!(true);
    let edited: CronJobView = app
        .put(path, &token, spec.clone())
        .await
        .expect_json(StatusCode::OK);
    let note = edited.summary.suspension.expect("a suspension");
    assert_eq!(note.suspended_by, "acme/ci");
    assert_eq!(note.reason, None);
    spec["suspend"] = json!(false);
    let edited: CronJobView = app
        .put(path, &token, spec)
        .await
        .expect_json(StatusCode::OK);
    assert_eq!(edited.summary.suspension, None);
    let list: Vec<CronJobSummary> = app
        .get("/api/v1/projects/shop/cronjobs", &token)
        .await
        .json();
    assert_eq!(list[0].suspension, None);
}
