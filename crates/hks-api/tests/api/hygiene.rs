//! HTTP hygiene, through the router with an in-memory store and the fake
//! cluster: oversized bodies, unreadable query and path parameters, methods
//! a path does not have, the request timeout and concurrency limit, echoed
//! input in error messages, and the security headers on the console's files.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{Method, StatusCode};
use hks_api::HttpLimits;
use serde_json::json;

use crate::common::{ADMIN, Setup, TestApp, request};

/// HKS with these HTTP limits.
async fn with_limits(limits: HttpLimits) -> TestApp {
    TestApp::build(Setup {
        limits,
        ..Setup::default()
    })
    .await
}

/// A tenant `t` with a project `p`; returns the tenant's token.
async fn tenant(app: &TestApp) -> String {
    app.tenant_with_project("t", "p").await.token
}

/// A body that never ends: its request holds the handler until dropped.
fn endless() -> Body {
    Body::from_stream(futures::stream::pending::<Result<Bytes, std::io::Error>>())
}

#[tokio::test]
async fn an_oversized_body_is_413_in_the_json_error_shape() {
    let app = with_limits(HttpLimits::default()).await;
    let big = format!("{{\"schedule\": \"{}\"}}", "x".repeat(3 * 1024 * 1024));
    let a = app
        .send(request(
            Method::POST,
            "/api/v1/schedules/preview",
            Some(ADMIN),
            Body::from(big),
        ))
        .await;
    assert_eq!(
        a.expect_error(StatusCode::PAYLOAD_TOO_LARGE).code,
        "payload_too_large",
        "{a}"
    );

    let small = with_limits(HttpLimits {
        max_body_bytes: 10_000,
        ..HttpLimits::default()
    })
    .await;
    let body = json!({"name": "x".repeat(20_000)});
    let a = small.post("/api/v1/admin/tenants", ADMIN, body).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{a}");
}

#[tokio::test]
async fn bad_query_and_path_parameters_are_400s_naming_the_parameter() {
    let app = with_limits(HttpLimits::default()).await;
    let token = tenant(&app).await;
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
        let a = app.get(path, &token).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{path}: {a}");
        let error = a.error();
        assert_eq!(error.code, "invalid", "{path}: {a}");
        assert_eq!(error.problems[0].field, field, "{path}: {a}");
    }
}

/// RFC 9110: a path that exists answers a method it lacks with 405 and the
/// methods it takes in `Allow`; the body has the error shape.
#[tokio::test]
async fn a_method_the_path_does_not_have_is_a_405_with_allow_in_the_json_error_shape() {
    let app = with_limits(HttpLimits::default()).await;
    let token = tenant(&app).await;
    for (method, path, allow) in [
        (Method::PUT, "/api/v1/admin/tenants", "GET,HEAD,POST"),
        (Method::PATCH, "/api/v1/projects/p", "GET,HEAD,DELETE"),
        (
            Method::DELETE,
            "/api/v1/projects/p/cronjobs/c/runs",
            "GET,HEAD,POST",
        ),
    ] {
        let a = app
            .call(method.clone(), path, Some(&token), Some(json!({})))
            .await;
        assert_eq!(
            a.expect_error(StatusCode::METHOD_NOT_ALLOWED).code,
            "method_not_allowed",
            "{method} {path}: {a}"
        );
        let mut allowed: Vec<&str> = a.header("allow").unwrap_or_default().split(',').collect();
        allowed.sort_unstable();
        let mut expected: Vec<&str> = allow.split(',').collect();
        expected.sort_unstable();
        assert_eq!(allowed, expected, "{method} {path}: {a}");
    }
    // A path that does not exist is still a 404, whatever the method.
    let a = app
        .call(Method::PATCH, "/api/v1/nowhere", Some(&token), None)
        .await;
    assert_eq!(a.expect_error(StatusCode::NOT_FOUND).code, "not_found");
}

#[tokio::test]
async fn error_messages_do_not_echo_huge_inputs() {
    let app = with_limits(HttpLimits::default()).await;
    let token = tenant(&app).await;
    let huge = "A".repeat(200_000);
    for body in [
        json!({"name": "job", "type": huge, "spec": {}}),
        json!({"name": "job", "type": "cronjob", "spec": {"schedule": "@daily", "image": huge}}),
        json!({"name": "job", "type": "cronjob", "spec": {"schedule": huge, "image": "busybox:1"}}),
    ] {
        let a = app
            .post("/api/v1/projects/p/applications", &token, body)
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
        assert_eq!(a.error().code, "invalid");
    }
}

#[tokio::test]
async fn a_request_not_answered_in_time_is_a_503_timeout() {
    let app = with_limits(HttpLimits {
        request_timeout: Duration::from_millis(200),
        ..HttpLimits::default()
    })
    .await;
    let started = std::time::Instant::now();
    let a = app
        .send(request(
            Method::POST,
            "/api/v1/schedules/preview",
            Some(ADMIN),
            endless(),
        ))
        .await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        a.expect_error(StatusCode::SERVICE_UNAVAILABLE).code,
        "timeout"
    );
    assert!(a.headers.contains_key("retry-after"));
}

#[tokio::test]
async fn requests_beyond_the_concurrency_limit_are_refused_at_once() {
    let app = Arc::new(
        with_limits(HttpLimits {
            max_concurrent_requests: 1,
            ..HttpLimits::default()
        })
        .await,
    );
    let held = tokio::spawn({
        let app = app.clone();
        async move {
            app.send(request(
                Method::POST,
                "/api/v1/schedules/preview",
                Some(ADMIN),
                endless(),
            ))
            .await
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let a = app.get("/api/v1/admin/tenants", ADMIN).await;
    assert_eq!(
        a.expect_error(StatusCode::SERVICE_UNAVAILABLE).code,
        "overloaded"
    );
    assert!(a.headers.contains_key("retry-after"));
    // Health checks are not counted: they must answer under load.
    let a = app
        .send(request(Method::GET, "/healthz", None, Body::empty()))
        .await;
    assert_eq!(a.status, StatusCode::OK);

    held.abort();
    let _ = held.await;
    let a = app.get("/api/v1/admin/tenants", ADMIN).await;
    assert_eq!(a.status, StatusCode::OK, "{a}");
}

#[tokio::test]
async fn the_console_files_carry_security_headers() {
    let dir = std::env::temp_dir().join(format!("hks-hygiene-console-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>HKS</title>").unwrap();
    std::fs::write(dir.join("assets/app.js"), "console.log(1)").unwrap();
    let app = TestApp::build(Setup {
        console: Some(dir.clone()),
        ..Setup::default()
    })
    .await;
    for path in [
        "/",
        "/assets/app.js",
        "/projects/p/cronjobs",
        "/api/v1/projects",
    ] {
        let a = app
            .send(request(Method::GET, path, None, Body::empty()))
            .await;
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
    let a = app
        .send(request(Method::GET, "/deep/link", None, Body::empty()))
        .await;
    assert!(a.text.contains("<title>HKS</title>"), "{}", a.text);
    std::fs::remove_dir_all(&dir).unwrap();
}
