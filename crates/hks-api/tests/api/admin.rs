//! The admin API: tenants and their tokens.

use axum::http::{Method, StatusCode};
use hks_api::dto::TenantView;
use hks_core::tenant::ClusterSummary;
use serde_json::json;

use crate::common::{ADMIN, Setup, TestApp};

#[tokio::test]
async fn tokens_are_required_and_admin_is_separate() {
    let app = TestApp::new().await;
    let token = app.tenant("acme").await.token;
    let r = app.call(Method::GET, "/api/v1/projects", None, None).await;
    assert_eq!(
        r.expect_error(StatusCode::UNAUTHORIZED).code,
        "unauthorized"
    );
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
    assert!(!tenants.text.contains("SECRET"));
    let tenants: Vec<TenantView> = tenants.json();
    assert!(
        matches!(tenants[0].cluster, ClusterSummary::Kubeconfig { .. }),
        "{tenants:?}"
    );
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
async fn unusable_kubeconfigs_are_refused_when_the_tenant_is_created() {
    // The real gateway (it reads the kubeconfig); no cluster is reached.
    let app = TestApp::build(Setup {
        live: true,
        ..Setup::default()
    })
    .await;
    let exec = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:6443\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /bin/sh\n";
    for kubeconfig in ["not: [yaml", exec] {
        let r = app.post("/api/v1/admin/tenants", ADMIN, json!({"name": "acme", "cluster": {"kind": "kubeconfig", "kubeconfig": kubeconfig}})).await;
        let error = r.expect_error(StatusCode::BAD_REQUEST);
        assert_eq!(error.problems[0].field, "cluster.kubeconfig");
        assert!(!r.text.contains("/bin/sh"));
    }
    let tenants: Vec<TenantView> = app.get("/api/v1/admin/tenants", ADMIN).await.json();
    assert!(tenants.is_empty(), "{tenants:?}");
}

/// Replacing a tenant's cluster hands the previous one over explicitly:
/// by default its namespaces are cleaned up (so runs do not happen in both),
/// with `previousCluster: keep` (new credentials for the same cluster)
/// nothing there is touched. Deleting a tenant cleans up its namespaces.
#[tokio::test]
async fn a_replaced_or_deleted_tenant_cluster_is_cleaned_up() {
    let app = TestApp::new().await;
    let tenant = app.tenant("acme").await;
    let namespace = app.project(&tenant.token, "shop").await.namespace;
    let cluster =
        json!({"kind": "kubeconfig", "kubeconfig": "apiVersion: v1\nkind: Config\n# other"});
    let path = "/api/v1/admin/tenants/acme/cluster";

    app.put(
        path,
        ADMIN,
        json!({"cluster": cluster, "previousCluster": "keep"}),
    )
    .await
    .expect_status(StatusCode::OK);
    assert_eq!(
        hks_controller::retirement::retire(app.state.app())
            .await
            .unwrap()
            .done,
        0
    );
    assert!(app.fake.retired().is_empty());

    app.put(path, ADMIN, json!({"cluster": cluster}))
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(
        hks_controller::retirement::retire(app.state.app())
            .await
            .unwrap()
            .done,
        1
    );
    assert_eq!(app.fake.retired(), std::slice::from_ref(&namespace));

    let r = app
        .put(
            path,
            ADMIN,
            json!({"cluster": cluster, "previousCluster": "drop"}),
        )
        .await;
    assert_eq!(
        r.expect_error(StatusCode::BAD_REQUEST).problems[0].field,
        "previousCluster"
    );

    app.delete("/api/v1/admin/tenants/acme", ADMIN)
        .await
        .expect_status(StatusCode::NO_CONTENT);
    assert_eq!(
        hks_controller::retirement::retire(app.state.app())
            .await
            .unwrap()
            .done,
        1
    );
    assert_eq!(app.fake.retired(), [namespace.clone(), namespace]);
}
