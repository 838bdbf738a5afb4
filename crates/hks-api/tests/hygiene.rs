//! HTTP hygiene, through the router with an in-memory store and the fake
//! cluster: oversized bodies, unreadable query and path parameters, the
//! request timeout and concurrency limit, echoed input in error messages,
//! and the security headers on the console's files.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use hks_api::{AppState, HttpLimits, app, router};
use hks_kube::fake::FakeGateway;
use hks_store::Store;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const ADMIN: &str = "admin-secret-for-hygiene-tests";

async fn state(limits: HttpLimits) -> AppState {
    let store = Store::in_memory().await.unwrap();
    AppState::new(
        store,
        Arc::new(FakeGateway::new()),
        Some(&ADMIN.to_owned().into()),
        None,
    )
    .with_http_limits(limits)
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }
}

async fn send(router: &Router, req: Request<Body>) -> Answer {
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn request(method: Method, path: &str, token: Option<&str>, body: Body) -> Request<Body> {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    req.body(body).unwrap()
}

async fn call(router: &Router, method: Method, path: &str, token: &str, body: Value) -> Answer {
    let body = if body.is_null() {
        Body::empty()
    } else {
        Body::from(body.to_string())
    };
    send(router, request(method, path, Some(token), body)).await
}

/// A tenant `t` with a project `p`; returns the tenant's token.
async fn tenant(router: &Router) -> String {
    let kubeconfig = json!({"name": "t",
        "cluster": {"kind": "kubeconfig", "kubeconfig": "apiVersion: v1\nkind: Config\n"}});
    let a = call(
        router,
        Method::POST,
        "/api/v1/admin/tenants",
        ADMIN,
        kubeconfig,
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let a = call(
        router,
        Method::POST,
        "/api/v1/admin/tenants/t/tokens",
        ADMIN,
        json!({"name": "x"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let token = a.json()["token"].as_str().unwrap().to_owned();
    let a = call(
        router,
        Method::POST,
        "/api/v1/projects",
        &token,
        json!({"name": "p"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    token
}

/// A body that never ends: its request holds the handler until dropped.
fn endless() -> Body {
    Body::from_stream(futures::stream::pending::<Result<Bytes, std::io::Error>>())
}

#[tokio::test]
async fn an_oversized_body_is_413_in_the_json_error_shape() {
    let app = router(state(HttpLimits::default()).await);
    let big = format!("{{\"schedule\": \"{}\"}}", "x".repeat(3 * 1024 * 1024));
    let a = send(
        &app,
        request(
            Method::POST,
            "/api/v1/schedules/preview",
            Some(ADMIN),
            Body::from(big),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", a.text);
    assert_eq!(a.json()["code"], "payload_too_large", "{}", a.text);

    let small = router(
        state(HttpLimits {
            max_body_bytes: 10_000,
            ..HttpLimits::default()
        })
        .await,
    );
    let body = json!({"name": "x".repeat(20_000)});
    let a = call(&small, Method::POST, "/api/v1/admin/tenants", ADMIN, body).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", a.text);
}

#[tokio::test]
async fn bad_query_and_path_parameters_are_400s_naming_the_parameter() {
    let router = router(state(HttpLimits::default()).await);
    let token = tenant(&router).await;
    for (path, field) in [
        (
            "/api/v1/projects/p/cronjobs/c/runs/r/logs?tailLines=abc",
            "tailLines",
        ),
        (
            "/api/v1/projects/p/cronjobs/c/runs/r/logs?follow=maybe",
            "follow",
        ),
        ("/api/v1/projects/p/alerts/history?limit=abc", "limit"),
        ("/api/v1/projects/p/alerts/history?limit=-1", "limit"),
        ("/api/v1/projects/p/applications?type=nonsense", "type"),
        ("/api/v1/projects/%FF", "project"),
        ("/api/v1/projects/p/cronjobs/%C3%28", "name"),
    ] {
        let a = call(&router, Method::GET, path, &token, Value::Null).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{path}: {}", a.text);
        let body = a.json();
        assert_eq!(body["code"], "invalid", "{path}: {}", a.text);
        assert_eq!(body["problems"][0]["field"], field, "{path}: {}", a.text);
    }
}

#[tokio::test]
async fn error_messages_do_not_echo_huge_inputs() {
    let router = router(state(HttpLimits::default()).await);
    let token = tenant(&router).await;
    let huge = "A".repeat(200_000);
    for body in [
        json!({"name": "job", "type": huge, "spec": {}}),
        json!({"name": "job", "type": "cronjob", "spec": {"schedule": "@daily", "image": huge}}),
        json!({"name": "job", "type": "cronjob", "spec": {"schedule": huge, "image": "busybox:1"}}),
    ] {
        let a = call(
            &router,
            Method::POST,
            "/api/v1/projects/p/applications",
            &token,
            body,
        )
        .await;
        assert_eq!(
            a.status,
            StatusCode::BAD_REQUEST,
            "{}",
            &a.text[..500.min(a.text.len())]
        );
        assert!(
            a.text.len() < 4096,
            "{} bytes: {}...",
            a.text.len(),
            &a.text[..500]
        );
        assert_eq!(a.json()["code"], "invalid");
    }
}

#[tokio::test]
async fn a_request_not_answered_in_time_is_a_503_timeout() {
    let router = router(
        state(HttpLimits {
            request_timeout: Duration::from_millis(200),
            ..HttpLimits::default()
        })
        .await,
    );
    let started = std::time::Instant::now();
    let a = send(
        &router,
        request(
            Method::POST,
            "/api/v1/schedules/preview",
            Some(ADMIN),
            endless(),
        ),
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.text);
    assert_eq!(a.json()["code"], "timeout");
    assert!(a.headers.contains_key("retry-after"));
}

#[tokio::test]
async fn requests_beyond_the_concurrency_limit_are_refused_at_once() {
    let router = router(
        state(HttpLimits {
            max_concurrent_requests: 1,
            ..HttpLimits::default()
        })
        .await,
    );
    let held = tokio::spawn({
        let router = router.clone();
        async move {
            send(
                &router,
                request(
                    Method::POST,
                    "/api/v1/schedules/preview",
                    Some(ADMIN),
                    endless(),
                ),
            )
            .await
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let a = call(
        &router,
        Method::GET,
        "/api/v1/admin/tenants",
        ADMIN,
        Value::Null,
    )
    .await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.text);
    assert_eq!(a.json()["code"], "overloaded");
    assert!(a.headers.contains_key("retry-after"));
    // Health checks are not counted: they must answer under load.
    let a = send(
        &router,
        request(Method::GET, "/healthz", None, Body::empty()),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);

    held.abort();
    let _ = held.await;
    let a = call(
        &router,
        Method::GET,
        "/api/v1/admin/tenants",
        ADMIN,
        Value::Null,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
}

#[tokio::test]
async fn the_console_files_carry_security_headers() {
    let dir = std::env::temp_dir().join(format!("hks-hygiene-console-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>HKS</title>").unwrap();
    std::fs::write(dir.join("assets/app.js"), "console.log(1)").unwrap();
    let app = app(state(HttpLimits::default()).await, Some(&dir));
    for path in [
        "/",
        "/assets/app.js",
        "/projects/p/cronjobs",
        "/api/v1/projects",
    ] {
        let a = send(&app, request(Method::GET, path, None, Body::empty())).await;
        if path.starts_with("/api/") {
            assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{path}");
        } else {
            assert_eq!(a.status, StatusCode::OK, "{path}");
        }
        let header = |name: &str| {
            a.headers
                .get(name)
                .unwrap_or_else(|| panic!("{path}: no {name} in {:?}", a.headers))
                .to_str()
                .unwrap()
                .to_owned()
        };
        assert!(header("content-security-policy").contains("frame-ancestors 'none'"));
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert!(!header("referrer-policy").is_empty());
    }
    let a = send(
        &app,
        request(Method::GET, "/deep/link", None, Body::empty()),
    )
    .await;
    assert!(a.text.contains("<title>HKS</title>"), "{}", a.text);
    std::fs::remove_dir_all(&dir).unwrap();
}
