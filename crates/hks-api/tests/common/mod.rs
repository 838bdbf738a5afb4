//! The API tests' harness: HKS in a test (`hks_testkit::app`: the router on
//! an in-memory store and the fake cluster, or on the development cluster;
//! requests; seeding; typed replies) and the fixtures the API tests share.
//! Every test file of this crate uses this module and no harness of its own.

pub use hks_testkit::app::{ADMIN, Setup, TestApp, eventually, request};
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::PodSpec;
use serde_json::{Value, json};

/// The Stateless application `web`: a secret env var, a port, a memory limit.
pub fn web() -> Value {
    json!({"name": "web", "type": "stateless", "spec": {
        "image": "ghcr.io/acme/web:1.4", "command": ["/app/web"], "port": 8080,
        "env": [{"name": "MODE", "value": "web"}, {"name": "DATABASE_URL", "secret": {"name": "db", "key": "url"}}],
        "resources": {"limits": {"memory": "256Mi"}}
    }})
}

/// The CronJob `report`, made from `web` (following it) with a command override.
pub fn report() -> Value {
    json!({"name": "report", "spec": {
        "schedule": "0 3 * * *", "timeZone": "Europe/Berlin",
        "template": {"application": "web", "mode": "follow"},
        "command": {"argv": ["/app/report", "--since", "24h"]}
    }})
}

/// The webhook secret of [`alert_settings`]: no reply may show it.
pub const WEBHOOK_SECRET: &str = "webhook-secret-NEVER-SHOWN-42";

/// Alert settings with every kind of rule and a webhook that nothing listens to.
pub fn alert_settings() -> Value {
    json!({"rules": {"onFailure": true, "onRecovery": true, "consecutiveFailures": 3},
        "webhook": {"url": "http://127.0.0.1:9/hook", "secret": WEBHOOK_SECRET}})
}

/// A tenant with project `shop`, Stateless app `web` and CronJob `report`
/// made from it; the tenant's token.
pub async fn seeded(app: &TestApp, tenant: &str) -> String {
    let token = app.tenant(tenant).await.token;
    app.project(&token, "shop").await;
    app.application(&token, "shop", web()).await;
    app.cronjob(&token, "shop", report()).await;
    token
}

/// The pod template's spec of an applied CronJob.
///
/// # Panics
/// When the CronJob has no Job template or pod spec (HKS always sets both).
pub fn pod_spec(cronjob: &CronJob) -> &PodSpec {
    let job = cronjob
        .spec
        .job_template
        .spec
        .as_ref()
        .expect("a Job template");
    job.template.spec.as_ref().expect("a pod spec")
}
