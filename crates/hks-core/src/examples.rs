//! The inputs of the golden manifest tests, public so that the Kubernetes
//! adapter's tests can have the real apiserver accept (dry run) exactly the
//! manifests the goldens show.

use serde_json::json;

use crate::placement::Placement;
use crate::spec::{CronJobSpec, FunctionSpec, StatelessSpec};

pub fn placement() -> Placement {
    Placement {
        installation: "7f3a9c21b0de".into(),
        tenant: "acme".into(),
        project: "shop".into(),
        namespace: "hks-0a1b2c3d-shop".into(),
    }
}

/// A Stateless app with a secret env var, resources and a port.
pub fn web() -> StatelessSpec {
    serde_json::from_value(json!({
        "image": "ghcr.io/acme/web:1.4",
        "command": ["/app/web"],
        "args": ["--port", "8080"],
        "env": [{"name": "MODE", "value": "production"}, {"name": "DATABASE_URL", "secret": {"name": "db", "key": "url"}}],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
        "port": 8080,
        "replicas": 2
    }))
    .unwrap_or_else(|e| unreachable!("example is valid: {e}"))
}

/// A CronJob that follows `web` with a command override and a zone.
pub fn report() -> CronJobSpec {
    serde_json::from_value(json!({
        "schedule": "30 2 * * MON-FRI",
        "timeZone": "Europe/Berlin",
        "template": {"application": "web", "mode": "follow"},
        "command": {"argv": ["/app/report", "--since", "24h"]},
        "env": [{"name": "MODE", "value": "report"}],
        "labels": {"team": "billing"}
    }))
    .unwrap_or_else(|e| unreachable!("example is valid: {e}"))
}

/// A CronJob with an explicit image, shell mode and non-default settings.
pub fn tick() -> CronJobSpec {
    serde_json::from_value(json!({
        "schedule": "*/15 * * * *",
        "image": "busybox:1.36",
        "command": {"argv": ["echo start; date"], "shell": true},
        "concurrencyPolicy": "Replace",
        "timeoutSeconds": 600,
        "retries": 0,
        "suspend": true
    }))
    .unwrap_or_else(|e| unreachable!("example is valid: {e}"))
}

/// A Function with a token Secret.
pub fn greet() -> FunctionSpec {
    serde_json::from_value(json!({
        "endpoint": "http://greeter.hks-0a1b2c3d-shop.svc.cluster.local:8080/greet",
        "method": "POST",
        "tokenSecret": {"name": "greet-token", "key": "token"}
    }))
    .unwrap_or_else(|e| unreachable!("example is valid: {e}"))
}

/// A CronJob that calls `greet` with a header, a body and an expected status.
pub fn wake() -> CronJobSpec {
    serde_json::from_value(json!({
        "schedule": "*/10 * * * *",
        "timeZone": "Europe/Berlin",
        "function": {
            "name": "greet",
            "headers": [{"name": "Content-Type", "value": "application/json"}],
            "body": "{\"who\":\"cron\"}",
            "requestTimeoutSeconds": 10,
            "retries": 1,
            "backoffSeconds": 3,
            "expect": ["200", "202"]
        },
        "timeoutSeconds": 120,
        "retries": 1
    }))
    .unwrap_or_else(|e| unreachable!("example is valid: {e}"))
}
