//! The health endpoints and the OpenAPI document: served, and the committed
//! copy (`crates/hks-api/openapi.json`) current.

use axum::http::{Method, StatusCode};

use crate::common::TestApp;

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
    // The document is read as JSON: it is the shape under test.
    assert!(
        doc.value()["paths"]["/api/v1/projects/{project}/cronjobs/{name}/runs"]["post"].is_object()
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
