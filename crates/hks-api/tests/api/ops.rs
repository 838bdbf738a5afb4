//! What operators read beside the API: `/healthz` (the process), `/readyz`
//! (the database) and Prometheus `/metrics` (requests by route pattern,
//! latency, reconcile failures, alerts raised, delivery attempts by outcome),
//! through the router with an in-memory store and the fake cluster.
//!
//! The metrics recorder is global to the process, so every test here shares
//! one, installed as `hks serve` installs it, and once installed the other
//! tests of this binary count into it too; counts are asserted as "at least"
//! what a test did, since tests run in parallel.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::Router;
use axum::http::{Method, StatusCode};
use hks_history::alerts::Outcome;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::json;

use crate::common::{Setup, TestApp};

const SECRET: &str = "a-webhook-secret-of-ops-tests";

fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| PrometheusBuilder::new().install_recorder().unwrap())
        .clone()
}

/// HKS with `/metrics` served from the process's recorder.
async fn with_metrics() -> TestApp {
    TestApp::build(Setup {
        metrics: Some(metrics_handle()),
        ..Setup::default()
    })
    .await
}

/// A tenant (named `tenant`) with a project `project`; returns the tenant's token.
async fn project(app: &TestApp, tenant: &str, project: &str) -> String {
    app.tenant_with_project(tenant, project).await.token
}

/// `/metrics`, parsed.
async fn metrics(app: &TestApp) -> Metrics {
    let r = app.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(r.status, StatusCode::OK, "{r}");
    Metrics::parse(&r.text)
}

/// One sample of the exposition format: its name, labels and value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

#[derive(Debug)]
struct Metrics {
    text: String,
    samples: Vec<Sample>,
}

impl Metrics {
    fn parse(text: &str) -> Self {
        let samples = text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|line| {
                let (series, value) = line.rsplit_once(' ').unwrap();
                let (name, labels) = match series.split_once('{') {
                    Some((name, rest)) => {
                        let inner = rest.strip_suffix('}').unwrap();
                        let labels = inner
                            .split("\",")
                            .filter(|p| !p.is_empty())
                            .map(|pair| {
                                let (k, v) = pair.split_once("=\"").unwrap();
                                (k.to_owned(), v.trim_end_matches('"').to_owned())
                            })
                            .collect();
                        (name.to_owned(), labels)
                    }
                    None => (series.to_owned(), BTreeMap::new()),
                };
                Sample {
                    name,
                    labels,
                    value: value.parse().unwrap_or_else(|e| panic!("{line}: {e}")),
                }
            })
            .collect();
        Self {
            text: text.to_owned(),
            samples,
        }
    }

    /// The sum of the samples named `name` whose labels include `labels`.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
            .sum()
    }

    fn assert_type(&self, family: &str, kind: &str) {
        let line = format!("# TYPE {family} {kind}");
        assert!(
            self.text.lines().any(|l| l == line),
            "no {line:?} in\n{}",
            self.text
        );
    }
}

#[tokio::test]
async fn healthz_and_readyz_answer_200_while_the_database_works() {
    let app = with_metrics().await;
    let r = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, "ok"));
    let r = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, "ready"));
}

#[tokio::test]
async fn readyz_answers_503_when_the_database_is_closed() {
    let app = with_metrics().await;
    assert_eq!(
        app.call(Method::GET, "/readyz", None, None).await.status,
        StatusCode::OK
    );
    app.state.store().close().await;
    let r = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{r}");
    assert_eq!(r.text, "database unavailable");
    // The process is alive: /healthz does not depend on the database.
    let r = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern_with_latency() {
    let app = with_metrics().await;
    let token = project(&app, "ops-routes", "ops-alpha").await;
    let s = app
        .call(
            Method::POST,
            "/api/v1/projects",
            Some(&token),
            Some(json!({"name": "ops-beta"})),
        )
        .await
        .status;
    assert_eq!(s, StatusCode::CREATED);
    for p in ["ops-alpha", "ops-beta", "ops-alpha"] {
        let r = app
            .call(
                Method::GET,
                &format!("/api/v1/projects/{p}"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{r}");
    }
    let s = app
        .call(
            Method::GET,
            "/api/v1/projects/ops-gamma",
            Some(&token),
            None,
        )
        .await
        .status;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let s = app
        .call(
            Method::GET,
            "/api/v1/no-such-endpoint/ops-delta",
            Some(&token),
            None,
        )
        .await
        .status;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let m = metrics(&app).await;
    m.assert_type("hks_http_requests_total", "counter");
    let route = "/api/v1/projects/{project}";
    let get = |status| {
        m.value(
            "hks_http_requests_total",
            &[("method", "GET"), ("route", route), ("status", status)],
        )
    };
    assert!(get("200") >= 3.0, "{}", m.text);
    assert!(get("404") >= 1.0, "{}", m.text);
    assert!(
        m.value(
            "hks_http_requests_total",
            &[
                ("method", "POST"),
                ("route", "/api/v1/projects"),
                ("status", "201")
            ],
        ) >= 2.0,
        "{}",
        m.text
    );
    // A path no route matches is counted as `unmatched`.
    assert!(
        m.value(
            "hks_http_requests_total",
            &[("method", "GET"), ("route", "unmatched"), ("status", "404")],
        ) >= 1.0,
        "{}",
        m.text
    );
    // Labels are patterns: no project name or unknown path becomes a label.
    for raw in [
        "ops-alpha",
        "ops-beta",
        "ops-gamma",
        "ops-delta",
        "no-such-endpoint",
    ] {
        assert!(!m.text.contains(raw), "{raw} is in\n{}", m.text);
    }

    // Latency, per route (exported as a summary: quantiles, sum and count).
    m.assert_type("hks_http_request_duration_seconds", "summary");
    let labels = [("method", "GET"), ("route", route)];
    assert!(
        m.value("hks_http_request_duration_seconds_count", &labels) >= 4.0,
        "{}",
        m.text
    );
    let sum = m.value("hks_http_request_duration_seconds_sum", &labels);
    assert!(sum > 0.0 && sum < 60.0, "{}", m.text);
    assert!(
        m.samples
            .iter()
            .any(|s| s.name == "hks_http_request_duration_seconds"
                && s.labels.get("route").map(String::as_str) == Some(route)
                && s.labels.get("quantile").map(String::as_str) == Some("0.99")),
        "{}",
        m.text
    );
}

/// Any token is a valid HTTP method: invented ones must not each add a
/// series (a client could otherwise grow `/metrics` without bound).
#[tokio::test]
async fn invented_methods_add_at_most_one_label_value() {
    let app = with_metrics().await;
    let methods = |m: &Metrics| -> std::collections::BTreeSet<String> {
        m.samples
            .iter()
            .filter(|s| s.name == "hks_http_requests_total")
            .filter_map(|s| s.labels.get("method").cloned())
            .collect()
    };
    let before = methods(&metrics(&app).await);
    for i in 0..50 {
        let method = Method::from_bytes(format!("INVENTED{i}").as_bytes()).unwrap();
        let s = app
            .call(method, "/api/v1/projects", None, None)
            .await
            .status;
        assert!(s.is_client_error(), "{s}");
    }
    let after = methods(&metrics(&app).await);
    // Tests running in parallel may add the standard methods they use.
    let standard = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
    ];
    let added: Vec<_> = after
        .difference(&before)
        .filter(|m| !standard.contains(&m.as_str()))
        .collect();
    assert!(added.len() <= 1, "new method label values: {added:?}");
    assert!(
        after.iter().all(|m| !m.starts_with("INVENTED")),
        "{after:?}"
    );
}

#[tokio::test]
async fn metrics_count_reconcile_failures() {
    let app = with_metrics().await;
    project(&app, "ops-reconcile", "ops-down").await;
    let before = metrics(&app)
        .await
        .value("hks_reconcile_failures_total", &[]);
    app.fake.set_unreachable(true);
    let r = hks_controller::reconcile(app.state.app()).await.unwrap();
    assert_eq!(r.failed_projects, 1);
    let m = metrics(&app).await;
    m.assert_type("hks_reconcile_failures_total", "counter");
    let after = m.value("hks_reconcile_failures_total", &[]);
    assert!(after >= before + 1.0, "{before} -> {after}\n{}", m.text);
}

/// Public addresses and 127.0.0.0/8, where [`receiver`] listens.
fn loopback() -> hks_alerting::TargetPolicy {
    hks_alerting::TargetPolicy::allowing(["127.0.0.0/8".parse().unwrap()])
}

/// A webhook receiver on 127.0.0.1: `/ok` answers 200, `/fail` 500.
async fn receiver() -> String {
    let app = Router::new()
        .route("/ok", axum::routing::post(|| async { StatusCode::OK }))
        .route(
            "/fail",
            axum::routing::post(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test]
async fn metrics_count_alerts_raised_and_delivery_attempts_by_outcome() {
    let app = with_metrics().await;
    let base = receiver().await;
    let token = project(&app, "ops-alerts", "ops-good").await;
    let s = app
        .call(
            Method::POST,
            "/api/v1/projects",
            Some(&token),
            Some(json!({"name": "ops-bad"})),
        )
        .await
        .status;
    assert_eq!(s, StatusCode::CREATED);
    for (project, path) in [("ops-good", "ok"), ("ops-bad", "fail")] {
        let r = app
            .call(
                Method::PUT,
                &format!("/api/v1/projects/{project}/alerts"),
                Some(&token),
                Some(json!({"rules": {"onFailure": true},
                    "webhook": {"url": format!("{base}/{path}"), "secret": SECRET}})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{r}");
    }
    let before = metrics(&app).await;
    let raised = |m: &Metrics| m.value("hks_alerts_raised_total", &[("kind", "failed")]);
    let attempts = |m: &Metrics, outcome| {
        m.value("hks_alert_delivery_attempts_total", &[("outcome", outcome)])
    };

    for project in ["ops-good", "ops-bad"] {
        let id = app.project_id("ops-alerts", project).await;
        let new = app
            .state
            .alerter()
            .run_finished(
                &id,
                "nightly",
                "nightly-1",
                Outcome::Failed,
                Some("BackoffLimitExceeded"),
                &[],
            )
            .await
            .unwrap();
        assert_eq!(new.len(), 1, "{new:?}");
    }
    // One attempt at each due delivery: the good receiver takes it, the bad one
    // refuses it, so it is retried later.
    let settings = hks_alerting::Settings {
        targets: loopback(),
        ..hks_alerting::Settings::default()
    };
    let worker = hks_alerting::Worker::new(app.state.store().clone(), settings).unwrap();
    assert_eq!(worker.deliver_due().await.unwrap(), 2);

    let after = metrics(&app).await;
    after.assert_type("hks_alerts_raised_total", "counter");
    after.assert_type("hks_alert_delivery_attempts_total", "counter");
    assert!(raised(&after) >= raised(&before) + 2.0, "{}", after.text);
    for outcome in ["delivered", "retry"] {
        assert!(
            attempts(&after, outcome) >= attempts(&before, outcome) + 1.0,
            "{outcome}\n{}",
            after.text
        );
    }
}
