//! A property-based fuzzer over the API's JSON bodies and parameters
//! (issue 13), through the router on an in-memory store and the fake
//! cluster.
//!
//! `contract.rs` walks the OpenAPI document deterministically, one rule
//! broken at a time; this adds randomness and depth. Valid bodies of every
//! write endpoint (tenants, tokens, cluster connections, projects, alert
//! settings, applications of each type, CronJobs made from a template, an
//! image or a Function call) are mutated several times over: fields
//! dropped or added, values of the wrong type, numbers at and beyond every
//! bound, long strings, unicode, control characters and NUL, deep nesting,
//! arrays where objects belong, duplicate keys, invalid cron expressions
//! and time zones, numbers JSON cannot hold. Bodies of arbitrary bytes are
//! sent with a JSON content type, and every route gets path and query
//! parameters with odd bytes (percent-encoded NUL and invalid UTF-8, `..`,
//! very long values), odd methods and wrong tokens.
//!
//! The properties, for every case: never a 5xx and never a panic; every
//! 4xx in the JSON error shape of `hks_api::error::ErrorBody` (a known
//! `code` that goes with the status, a `message`, and for a 400 the
//! `problems`, each with its field path); for a refused request (4xx)
//! nothing changed, in the store (tenants with their connections, tokens,
//! projects, applications, alert settings, retirements) or in the fake
//! cluster (its objects, its version, which counts every change, and its
//! applies); and no accepted write puts a NUL into anything applied to the
//! cluster.
//!
//! Runs are reproducible: each property has a fixed seed unless
//! `PROPTEST_RNG_SEED` names another, and `PROPTEST_CASES` sets the cases of
//! each property (default: [`BODY_CASES`], [`BYTES_CASES`],
//! [`PARAM_CASES`]), for a longer search:
//!
//! ```sh
//! PROPTEST_CASES=20000 PROPTEST_RNG_SEED=$RANDOM cargo test -p hks-api --test fuzz
//! ```
//!
//! Failures are not persisted to `proptest-regressions`: the cases are made
//! from the world the fuzzer seeds and the API as it is now, so a stored
//! seed would replay something else once either changes. A failure prints
//! the shrunk request and the seed; a bug it finds gets a test of its own
//! in `tests/api`.

#[allow(
    dead_code,
    unused_imports,
    reason = "the fixtures the API's test binaries share; this one uses some"
)]
mod common;

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

use axum::body::Body;
use axum::http::{Method, Request};
use hks_kube::{Gateway as _, Object};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

use common::{ADMIN, TestApp};
use hks_testkit::app::{FAKE_KUBECONFIG, Reply};

/// Cases of [`mutated_bodies_of_the_write_endpoints`].
const BODY_CASES: u32 = 2000;
/// Cases of [`arbitrary_bytes_as_json_bodies`].
const BYTES_CASES: u32 = 500;
/// Cases of [`odd_paths_queries_methods_and_tokens`].
const PARAM_CASES: u32 = 1000;
/// The world is made anew after this many accepted writes, so that what
/// they create does not make every later snapshot slower.
const REBUILD_AFTER_WRITES: usize = 60;
/// The most characters an error message or field path may carry
/// (`hks_api::error::MAX_ECHO_CHARS`, plus the note of what was cut).
const MAX_ECHOED: usize = hks_api::error::MAX_ECHO_CHARS + 40;

// --- The world ------------------------------------------------------------------

/// Tenant `acme` (token [`World::token`]) with project `shop`: the Stateless
/// application `web`, the Function `greet`, the CronJob `report` made from
/// `web`, the CronJob `wake` calling `greet`, and alert settings for the
/// project and for `report`. Tenant `other` has a project `shop` too.
struct World {
    app: TestApp,
    token: String,
    /// Writes accepted since the world was made.
    writes: Cell<usize>,
}

impl World {
    async fn new() -> Self {
        let app = TestApp::new().await;
        let token = common::seeded(&app, "acme").await;
        let other = app.tenant("other").await.token;
        app.project(&other, "shop").await;
        app.application(&token, "shop", greet()).await;
        app.cronjob(&token, "shop", wake()).await;
        app.put(
            "/api/v1/projects/shop/alerts",
            &token,
            common::alert_settings(),
        )
        .await
        .expect_status(axum::http::StatusCode::OK);
        app.put(
            "/api/v1/projects/shop/cronjobs/report/alerts",
            &token,
            json!({"rules": {"onFailure": true, "longerThanSeconds": 600}}),
        )
        .await
        .expect_status(axum::http::StatusCode::OK);
        Self {
            app,
            token,
            writes: Cell::new(0),
        }
    }

    /// Whether what the generated requests name still exists: an accepted
    /// delete or token change may have taken it away.
    async fn intact(&self) -> bool {
        let store = self.app.state.store();
        let Ok(Some(principal)) = store.authenticate(&self.token).await else {
            return false;
        };
        let Ok(project) = store.project(&principal.tenant_id, "shop").await else {
            return false;
        };
        for name in ["web", "greet", "report", "wake"] {
            if store.application(&project.id, name).await.is_err() {
                return false;
            }
        }
        store.tenant_by_name("other").await.is_ok()
    }

    /// Everything a request could change, as text: the store's tenants
    /// (with their connections), tokens, projects, applications and alert
    /// settings (with their webhooks), the retirements it owes, and the
    /// fake cluster's objects, version and applies.
    async fn snapshot(&self) -> String {
        use std::fmt::Write as _;
        let store = self.app.state.store();
        let mut out = String::new();
        for t in store.list_tenants().await.unwrap() {
            let (tenant, cluster) = store.tenant_with_cluster(&t.id).await.unwrap();
            writeln!(out, "{tenant:?} {}", cluster.to_stored()).unwrap();
            writeln!(out, "{:?}", store.list_tokens(&t.id).await.unwrap()).unwrap();
            for p in store.list_projects(&t.id).await.unwrap() {
                writeln!(out, "{p:?}").unwrap();
                let mut cronjobs = vec![None];
                for a in store.list_applications(&p.id, None).await.unwrap() {
                    writeln!(out, "{a:?}").unwrap();
                    cronjobs.push(Some(a.name));
                }
                for c in cronjobs {
                    if let Some(s) = store.alert_settings(&p.id, c.as_deref()).await.unwrap() {
                        let destination = s.destination.as_ref().map(|d| match d {
                            hks_store::Destination::Webhook(w) => {
                                format!("{} {}", w.url, w.secret.expose_secret())
                            }
                            hks_store::Destination::Slack { url }
                            | hks_store::Destination::Teams { url } => url.clone(),
                            hks_store::Destination::Email { to } => to.join(","),
                        });
                        writeln!(out, "{s:?} {destination:?}").unwrap();
                    }
                }
            }
            let mut objects: Vec<String> = self
                .app
                .fake
                .objects(&t.id)
                .iter()
                .map(|o| format!("{o:?}"))
                .collect();
            objects.sort();
            out.push_str(&objects.join("\n"));
        }
        writeln!(out, "{:?}", store.retirements().await.unwrap()).unwrap();
        let fake = &self.app.fake;
        writeln!(
            out,
            "version {:?}, applies {}, retired {:?}",
            fake.view_version(""),
            fake.applies(),
            fake.retired()
        )
        .unwrap();
        out
    }

    /// The first applied object with a NUL in it, as JSON.
    async fn object_with_nul(&self) -> Option<String> {
        self.app.objects().await.iter().find_map(|o| {
            let text = match o {
                Object::Namespace(x) => serde_json::to_string(x),
                Object::LimitRange(x) => serde_json::to_string(x),
                Object::Deployment(x) => serde_json::to_string(x),
                Object::Service(x) => serde_json::to_string(x),
                Object::CronJob(x) => serde_json::to_string(x),
            }
            .unwrap();
            text.contains("\\u0000").then_some(text)
        })
    }
}

/// The Function `greet`, with a token Secret.
fn greet() -> Value {
    json!({"name": "greet", "type": "function", "spec": {
        "endpoint": "http://greeter.svc.cluster.local:8080/greet", "method": "POST",
        "tokenSecret": {"name": "greet-token", "key": "token"}}})
}

/// The CronJob `wake`, calling `greet`.
fn wake() -> Value {
    json!({"name": "wake", "spec": {"schedule": "*/10 * * * *", "function": {"name": "greet"}}})
}

// --- The requests ------------------------------------------------------------

/// Whose token a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth {
    /// The tenant `acme`'s.
    Tenant,
    Admin,
    None,
    /// A token nobody has.
    Wrong,
    /// Not a bearer token at all.
    Garbled,
}

impl Auth {
    fn header(self, tenant: &str) -> Option<String> {
        match self {
            Self::Tenant => Some(format!("Bearer {tenant}")),
            Self::Admin => Some(format!("Bearer {ADMIN}")),
            Self::None => None,
            Self::Wrong => Some("Bearer hks_not-a-token-anyone-has".into()),
            Self::Garbled => Some("Basic YWRtaW46YWRtaW4=".into()),
        }
    }
}

/// One request of the fuzzer.
#[derive(Clone)]
struct Case {
    method: Method,
    /// Path and query, already percent-encoded.
    target: String,
    auth: Auth,
    content_type: Option<&'static str>,
    body: Option<Vec<u8>>,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} ({:?}",
            self.method,
            cut(&self.target, 600),
            self.auth
        )?;
        if let Some(ct) = self.content_type {
            write!(f, ", {ct}")?;
        }
        write!(f, ")")?;
        if let Some(b) = &self.body {
            write!(
                f,
                " {} bytes: {}",
                b.len(),
                cut(&String::from_utf8_lossy(b), 1500)
            )?;
        }
        Ok(())
    }
}

fn cut(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

impl Case {
    fn request(&self, tenant: &str) -> Request<Body> {
        let mut req = Request::builder()
            .method(self.method.clone())
            .uri(&self.target);
        if let Some(auth) = self.auth.header(tenant) {
            req = req.header("authorization", auth);
        }
        if let Some(ct) = self.content_type {
            req = req.header("content-type", ct);
        }
        let body = self
            .body
            .clone()
            .map(Body::from)
            .unwrap_or_else(Body::empty);
        req.body(body)
            .unwrap_or_else(|e| panic!("the fuzzer made a request that is not one ({e}): {self:?}"))
    }

    fn is_write(&self) -> bool {
        self.method != Method::GET && self.method != Method::HEAD
    }
}

// --- Valid bodies -------------------------------------------------------------

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,10}[a-z0-9]"
}

fn env() -> impl Strategy<Value = Value> {
    prop::collection::vec(
        prop_oneof![
            ("[A-Z_][A-Z0-9_]{0,8}", "[ -~]{0,12}")
                .prop_map(|(n, v)| json!({"name": n, "value": v})),
            ("[A-Z_][A-Z0-9_]{0,8}", name(), "[a-z.]{1,8}")
                .prop_map(|(n, s, k)| json!({"name": n, "secret": {"name": s, "key": k}})),
        ],
        0..3,
    )
    .prop_map(Value::Array)
}

fn resources() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["100m", "1", "250m", "2"]),
        prop::sample::select(vec!["64Mi", "128Mi", "1Gi"]),
    )
        .prop_map(|(cpu, mem)| json!({"requests": {"cpu": cpu, "memory": mem}, "limits": {"memory": mem}}))
}

fn security() -> impl Strategy<Value = Value> {
    (
        prop::sample::subsequence(vec!["NET_BIND_SERVICE", "SETUID", "SETGID", "CHOWN"], 0..3),
        prop::option::of(0u32..70000),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(caps, user, non_root, ro)| {
            json!({"addCapabilities": caps, "runAsUser": user, "runAsGroup": user,
                "runAsNonRoot": non_root, "readOnlyRootFilesystem": ro})
        })
}

fn schedule() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "0 3 * * *",
            "*/15 * * * *",
            "@daily",
            "30 2 * * MON-FRI"
        ])
        .prop_map(str::to_owned),
        (0u8..60, 0u8..24).prop_map(|(m, h)| format!("{m} {h} * * *")),
    ]
}

fn time_zone() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "UTC",
        "Europe/Berlin",
        "America/New_York",
        "Asia/Kolkata",
    ])
}

fn stateless_spec() -> impl Strategy<Value = Value> {
    (
        env(),
        resources(),
        security(),
        prop::option::of(1u16..65535),
        0u32..4,
    )
        .prop_map(|(env, resources, security, port, replicas)| {
            json!({"image": "ghcr.io/acme/web:1.4", "command": ["/app/web"], "args": ["--fast"],
                "env": env, "resources": resources, "security": security, "port": port,
                "replicas": replicas})
        })
}

fn function_spec() -> impl Strategy<Value = Value> {
    prop::sample::select(vec!["GET", "POST", "PUT"]).prop_map(|m| {
        json!({"endpoint": "http://greeter.svc.cluster.local:8080/greet", "method": m,
            "tokenSecret": {"name": "greet-token", "key": "token"}})
    })
}

/// A CronJob's spec: made from `web`, from an image, or calling `greet`,
/// with most of the optional settings.
fn cronjob_spec() -> impl Strategy<Value = Value> {
    let source = prop_oneof![
        prop::sample::select(vec!["follow", "snapshot"]).prop_map(|mode| {
            json!({"template": {"application": "web", "mode": mode},
                "command": {"argv": ["/app/report", "--since", "24h"]}})
        }),
        (any::<bool>(), resources(), security()).prop_map(|(shell, resources, security)| {
            json!({"image": "busybox:1.36", "command": {"argv": ["echo hi; date"], "shell": shell},
                "resources": resources, "security": security})
        }),
        (0u32..60, 0u32..5).prop_map(|(timeout, retries)| {
            json!({"function": {"name": "greet", "method": "POST",
                "headers": [{"name": "X-Source", "value": "cron"}], "body": "{\"who\":\"cron\"}",
                "requestTimeoutSeconds": timeout + 1, "retries": retries, "backoffSeconds": 2,
                "expect": ["200", "2xx"]}})
        }),
    ];
    (
        source,
        schedule(),
        time_zone(),
        env(),
        prop::sample::select(vec!["Forbid", "Allow", "Replace"]),
        (0u32..7200, 0u32..5, 0u32..600),
        any::<bool>(),
        (1u32..500, 1u32..90),
    )
        .prop_map(
            |(
                mut source,
                schedule,
                tz,
                env,
                policy,
                (timeout, retries, deadline),
                suspend,
                (runs, days),
            )| {
                let m = source.as_object_mut().unwrap();
                m.insert("schedule".into(), json!(schedule));
                m.insert("timeZone".into(), json!(tz));
                m.insert("env".into(), env);
                m.insert(
                    "labels".into(),
                    json!({"team": "billing", "hks.example/tier": "gold"}),
                );
                m.insert("concurrencyPolicy".into(), json!(policy));
                m.insert("timeoutSeconds".into(), json!(timeout));
                m.insert("retries".into(), json!(retries));
                m.insert("startingDeadlineSeconds".into(), json!(deadline));
                m.insert("successfulJobsHistoryLimit".into(), json!(3));
                m.insert("failedJobsHistoryLimit".into(), json!(1));
                m.insert("suspend".into(), json!(suspend));
                m.insert(
                    "historyRetention".into(),
                    json!({"maxRuns": runs, "maxAgeDays": days}),
                );
                source
            },
        )
}

fn cluster() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!({"kind": "kubeconfig", "kubeconfig": FAKE_KUBECONFIG, "context": "ctx"})),
        name().prop_map(|n| json!({"kind": "vcluster", "hostKubeconfig": FAKE_KUBECONFIG,
            "namespace": "vc", "name": n, "server": "https://vc.example:443", "tlsServerName": "vc"})),
    ]
}

fn alert_settings() -> impl Strategy<Value = Value> {
    (any::<bool>(), prop::option::of(2u32..100), prop::option::of(60u32..100_000), any::<bool>())
        .prop_map(|(on, streak, longer, hook)| {
            let mut v = json!({"rules": {"onFailure": on, "onMissed": !on, "onRecovery": on,
                "consecutiveFailures": streak, "longerThanSeconds": longer}});
            if hook {
                v["webhook"] =
                    json!({"url": "http://127.0.0.1:9/other", "secret": "a-secret-of-32-characters-000000"});
            }
            v
        })
}

/// Where a body goes and a valid one for it.
fn endpoint_with_body() -> impl Strategy<Value = (Method, &'static str, Auth, Value)> {
    prop_oneof![
        (name(), cluster()).prop_map(|(n, c)| (
            Method::POST,
            "/api/v1/admin/tenants",
            Auth::Admin,
            json!({"name": n, "cluster": c})
        )),
        (cluster(), prop::sample::select(vec!["cleanUp", "keep"])).prop_map(|(c, prev)| (
            Method::PUT,
            "/api/v1/admin/tenants/acme/cluster",
            Auth::Admin,
            json!({"cluster": c, "previousCluster": prev})
        )),
        name().prop_map(|n| (
            Method::POST,
            "/api/v1/admin/tenants/acme/tokens",
            Auth::Admin,
            json!({"name": n})
        )),
        name().prop_map(|n| (
            Method::POST,
            "/api/v1/projects",
            Auth::Tenant,
            json!({"name": n})
        )),
        alert_settings().prop_map(|b| (
            Method::PUT,
            "/api/v1/projects/shop/alerts",
            Auth::Tenant,
            b
        )),
        alert_settings().prop_map(|b| (
            Method::PUT,
            "/api/v1/projects/shop/cronjobs/report/alerts",
            Auth::Tenant,
            b
        )),
        (name(), stateless_spec()).prop_map(|(n, s)| (
            Method::POST,
            "/api/v1/projects/shop/applications",
            Auth::Tenant,
            json!({"name": n, "type": "stateless", "spec": s})
        )),
        (name(), cronjob_spec()).prop_map(|(n, s)| (
            Method::POST,
            "/api/v1/projects/shop/applications",
            Auth::Tenant,
            json!({"name": n, "type": "cronjob", "spec": s})
        )),
        (name(), function_spec()).prop_map(|(n, s)| (
            Method::POST,
            "/api/v1/projects/shop/applications",
            Auth::Tenant,
            json!({"name": n, "type": "function", "spec": s})
        )),
        stateless_spec().prop_map(|s| (
            Method::PUT,
            "/api/v1/projects/shop/applications/web",
            Auth::Tenant,
            json!({"type": "stateless", "spec": s})
        )),
        function_spec().prop_map(|s| (
            Method::PUT,
            "/api/v1/projects/shop/applications/greet",
            Auth::Tenant,
            json!({"type": "function", "spec": s})
        )),
        (name(), cronjob_spec()).prop_map(|(n, s)| (
            Method::POST,
            "/api/v1/projects/shop/cronjobs",
            Auth::Tenant,
            json!({"name": n, "spec": s})
        )),
        cronjob_spec().prop_map(|s| (
            Method::PUT,
            "/api/v1/projects/shop/cronjobs/report",
            Auth::Tenant,
            s
        )),
        cronjob_spec().prop_map(|s| (
            Method::PUT,
            "/api/v1/projects/shop/cronjobs/wake",
            Auth::Tenant,
            s
        )),
        (name(), stateless_spec()).prop_map(|(n, s)| (
            Method::POST,
            "/api/v1/projects/shop/manifests",
            Auth::Tenant,
            json!({"name": n, "type": "stateless", "spec": s})
        )),
        (schedule(), time_zone(), 1u32..100).prop_map(|(s, tz, n)| (
            Method::POST,
            "/api/v1/schedules/preview",
            Auth::Tenant,
            json!({"schedule": s, "timeZone": tz, "count": n, "after": "2026-03-29T00:30:00Z"})
        )),
    ]
}

// --- Mutations ------------------------------------------------------------------

/// A value to put somewhere: JSON, or text spliced into the body as is
/// (numbers JSON cannot hold, nesting deeper than any parser goes, broken
/// escapes).
#[derive(Debug, Clone)]
enum Nasty {
    Json(Value),
    Raw(String),
}

/// One change to a body. Each names its node by an [`Index`] into the
/// body's nodes (the root included), so it applies to any body.
#[derive(Debug, Clone)]
enum Mutation {
    /// The field or element is left out.
    Remove(Index),
    /// A field is added to an object (or the node replaced when it is none).
    Insert(Index, String, Nasty),
    Replace(Index, Nasty),
    /// A string from the pool for the node's field (cron expressions for
    /// `schedule`, zones for `timeZone`, quantities, images, URLs, names...).
    Pooled(Index, Index),
    Edit(Index, StrEdit),
    /// `x` becomes `[x]`.
    InArray(Index),
    /// `x` becomes `{"value": x}`.
    InObject(Index),
    /// An object gets a second field of a name it has.
    Duplicate(Index, Index, Nasty),
}

#[derive(Debug, Clone)]
enum StrEdit {
    Append(String),
    Prepend(String),
    /// The string, this many times over.
    Repeat(usize),
    Upper,
    /// Cut at a character.
    Cut(Index),
}

/// A change to the serialized body.
#[derive(Debug, Clone)]
enum TextEdit {
    None,
    /// Cut at a byte.
    Truncate(Index),
    /// A byte order mark first.
    Bom,
    /// Something after the JSON.
    Trailing(String),
}

const MARK: char = '\u{E000}';
const DUP: char = '\u{E001}';

fn nasty_strings() -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        " ",
        "\0",
        "a\0b",
        "\u{1}",
        "\u{7f}",
        "\t",
        "\r\n",
        "\u{202E}gnp.exe",
        "\u{FEFF}",
        "\u{200B}",
        "😀",
        "e\u{301}",
        "Ω",
        "ǅ",
        "\u{10FFFF}",
        "\u{FFFD}",
        "${HOME}",
        "$(id)",
        "`id`",
        "%s%n%x",
        "{{.}}",
        "'; DROP TABLE tenants; --",
        "\\",
        "\"",
        "../../etc/passwd",
        "null",
        "true",
        "0",
        "-1",
        "NaN",
        "[]",
        "{}",
        "<script>",
        "A",
        "a-",
        "-a",
        "a_b",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    v.push("a".repeat(63));
    v.push("a".repeat(64));
    v.push("x".repeat(70_000));
    v.push("😀".repeat(5000));
    v.push("\0".repeat(300));
    v
}

fn pool(key: &str) -> Vec<String> {
    let list: &[&str] = match key {
        "schedule" => &[
            "",
            " ",
            "* * * * *",
            "*/0 * * * *",
            "60 * * * *",
            "* 24 * * *",
            "0 0 31 2 *",
            "0 0 30 2 *",
            "@every 5m",
            "@yearly",
            "@reboot",
            "@hourly ",
            "TZ=UTC 0 0 * * *",
            "CRON_TZ=Europe/Berlin 0 * * * *",
            "0 0 * * 7",
            "0 0 * * MON-SUN",
            "1-0 * * * *",
            "*/999999999999 * * * *",
            "0 0 ? * *",
            "0 0 L * *",
            "0 0 * * 1#2",
            "* * * * * *",
            "0-59/2,5,7 * * JAN-DEC *",
            "4294967296 * * * *",
            "-1 * * * *",
            "0 0 1 1 1-7/0",
            "* * * * *\n* * * * *",
            "59 23 29 2 *",
            "0 0 29 2 1",
            "* * * *",
            "0/5 * * * *",
            "5-5 * * * *",
            "*/60 * * * *",
            "0 0 0 * *",
            "0 0 * 0 *",
            "0 0 * 13 *",
            "0 0 * * 8",
            "0,,1 * * * *",
            "1--2 * * * *",
            "0 0 * * SUN-MON",
            "0 3 * * *\0",
        ],
        "timeZone" => &[
            "",
            "UTC",
            "Local",
            "Europe/Berlin",
            "../../etc/passwd",
            "/etc/localtime",
            "Europe/../UTC",
            "America/Argentina/ComodRivadavia",
            "Etc/GMT+14",
            "Etc/GMT-15",
            "EST5EDT",
            "Europe/Berlin\0",
            "europe/berlin",
            "Asia/Kolkata ",
            "+01:00",
            "Z",
            "posixrules",
            "right/UTC",
            "zone.tab",
            "tzdata.zi",
            "Factory",
            "Etc",
            ".",
            "..",
            "Europe/",
            "/",
            "America/New_York/",
            "leapseconds",
            "SystemV/AST4",
        ],
        "cpu" | "memory" => &[
            "0",
            "-1",
            "1e100",
            "1E3",
            "100m",
            "0.5",
            ".5",
            "1Ei",
            "9223372036854775807",
            "99999999999999999999999Ki",
            "1.5Gi",
            "10Mi ",
            "NaN",
            "Inf",
            "1m",
            "0.0001",
            "1n",
            "1e-9",
            "",
            "1Gi1",
            "+1",
            "1k",
            "1K",
            "0x10",
            "8Ei",
            "9Ei",
        ],
        "image" => &[
            "",
            "busybox",
            "busybox:1.36",
            "UPPER/case",
            "a:b:c",
            "-leading",
            "image with space",
            "localhost:5000/x",
            "a//b",
            "http://x/y",
            "busybox@sha256:abc",
            "busybox:",
            "busybox:latest\n",
            ":tag",
            "a/b/c/d/e/f:1",
        ],
        "url" | "endpoint" => &[
            "http://127.0.0.1:9/hook",
            "http://localhost/",
            "http://169.254.169.254/latest",
            "http://[::1]/",
            "http://10.0.0.1/",
            "https://user:pass@example.com/",
            "ftp://example.com",
            "http://",
            "https://",
            "http://%00/",
            "javascript:alert(1)",
            "http://0x7f000001/",
            "http://2130706433/",
            "http://[::ffff:127.0.0.1]/",
            "http://a b/",
            "HTTP://EXAMPLE.COM/",
            "http://example.com:99999/",
            "https://hooks.example.com/\u{2026}",
            "http://[fe80::1%25eth0]/",
            "http://0/",
            "http://example.com/\0",
            "//example.com/",
            "http:example.com",
        ],
        "name" | "application" | "key" | "namespace" => &[
            "",
            "a",
            "A",
            "-a",
            "a-",
            "a_b",
            "ü",
            "shop",
            "web",
            "report",
            "greet",
            "wake",
            "acme",
            "other",
            "ci",
            "0abc",
            "kube-system",
            "a.b",
            "..",
            ".",
            "default",
            "PATH",
            "1X",
            "A=B",
            "KUBERNETES_SERVICE_HOST",
            "Content-Length",
            "Host",
        ],
        "mode" | "kind" | "type" | "concurrencyPolicy" | "method" | "previousCluster" => &[
            "follow",
            "snapshot",
            "kubeconfig",
            "vcluster",
            "stateless",
            "cronjob",
            "function",
            "Forbid",
            "Allow",
            "Replace",
            "forbid",
            "GET",
            "get",
            "CONNECT",
            "TRACE",
            "cleanUp",
            "keep",
            "delete",
            "",
        ],
        "addCapabilities" | "expect" => &[
            "SYS_ADMIN",
            "NET_RAW",
            "ALL",
            "CAP_CHOWN",
            "chown",
            "200",
            "2xx",
            "600",
            "1xx",
            "0",
            "20",
            "2XX",
            "5xx",
            "99",
        ],
        "after" => &[
            "2026-03-29T00:30:00Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "-009999-01-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-03-29T02:30:00+01:00",
            "yesterday",
            "",
        ],
        _ => &[],
    };
    let mut v: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
    v.extend(nasty_strings());
    for n in [52, 53, 63, 64, 253, 254, 4096] {
        v.push("a".repeat(n));
    }
    v
}

fn nasty_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(nasty_strings()),
        2 => "\\PC{0,24}",
        1 => "[\\x00-\\x1f\\x7f]{1,4}",
        1 => (prop::sample::select(vec!["a", "\0", "é", "😀", "\\"]), 1000usize..60_000)
            .prop_map(|(c, n)| c.repeat(n)),
    ]
}

fn nasty_number() -> impl Strategy<Value = Nasty> {
    prop_oneof![
        prop::sample::select(vec![
            json!(0),
            json!(-1),
            json!(1),
            json!(2),
            json!(59),
            json!(60),
            json!(100),
            json!(101),
            json!(3650),
            json!(3651),
            json!(10000),
            json!(10001),
            json!(65535),
            json!(65536),
            json!(i32::MAX),
            json!(i64::from(i32::MAX) + 1),
            json!(u32::MAX),
            json!(u64::from(u32::MAX) + 1),
            json!(i64::MAX),
            json!(i64::MIN),
            json!(u64::MAX),
            json!(1.5),
            json!(-0.0),
            json!(1e308),
            json!(-1e308),
            json!(0.1),
        ])
        .prop_map(Nasty::Json),
        prop::sample::select(vec![
            "1e400",
            "-1e400",
            "18446744073709551616",
            "-9223372036854775809",
            "1E+2",
            "0.0e0",
            "1.0",
            "-0",
            "00",
            "0x10",
            "+1",
            ".5",
            "1.",
            "NaN",
            "Infinity",
            "123456789012345678901234567890",
        ])
        .prop_map(|s| Nasty::Raw(s.to_owned())),
        any::<i64>().prop_map(|n| Nasty::Json(json!(n))),
    ]
}

/// Nesting deeper than serde_json's limit (128), and just around it.
fn deep() -> impl Strategy<Value = Nasty> {
    (
        prop::sample::select(vec![2usize, 64, 127, 128, 129, 1000, 100_000]),
        any::<bool>(),
    )
        .prop_map(|(depth, arrays)| {
            let (open, close) = if arrays { ("[", "]") } else { ("{\"a\":", "}") };
            Nasty::Raw(format!("{}1{}", open.repeat(depth), close.repeat(depth)))
        })
}

fn nasty() -> impl Strategy<Value = Nasty> {
    let small_json = prop::collection::vec(
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(|n| json!(n)),
            "\\PC{0,8}".prop_map(Value::String),
        ],
        0..4,
    );
    prop_oneof![
        4 => nasty_string().prop_map(|s| Nasty::Json(Value::String(s))),
        3 => nasty_number(),
        1 => Just(Nasty::Json(Value::Null)),
        1 => any::<bool>().prop_map(|b| Nasty::Json(Value::Bool(b))),
        1 => small_json.clone().prop_map(|v| Nasty::Json(Value::Array(v))),
        1 => small_json.prop_map(|v| Nasty::Json(Value::Object(
            v.into_iter().enumerate().map(|(i, x)| (format!("k{i}"), x)).collect()))),
        1 => deep(),
        1 => prop::sample::select(vec![
            "\"\\ud800\"", "\"\\u0000\"", "\"\\x41\"", "\"\u{1}\"", "'a'", "\"a", "[1,]",
            "{\"a\" 1}", "undefined", "\"\\uDFFF\\uD800\"", "\"\\", "/* */ 1",
        ])
        .prop_map(|s| Nasty::Raw(s.to_owned())),
    ]
}

fn str_edit() -> impl Strategy<Value = StrEdit> {
    prop_oneof![
        nasty_string().prop_map(StrEdit::Append),
        nasty_string().prop_map(StrEdit::Prepend),
        prop::sample::select(vec![2usize, 10, 1000, 10_000]).prop_map(StrEdit::Repeat),
        Just(StrEdit::Upper),
        any::<Index>().prop_map(StrEdit::Cut),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let key = prop_oneof![
        prop::sample::select(vec![
            "name",
            "type",
            "spec",
            "schedule",
            "timeZone",
            "image",
            "template",
            "function",
            "command",
            "env",
            "labels",
            "snapshot",
            "extra",
            "",
            "__proto__",
            "constructor",
            "Name",
            "spec ",
            "webhook",
            "rules",
            "cluster",
            "secret",
        ])
        .prop_map(str::to_owned),
        "\\PC{0,12}",
    ];
    prop_oneof![
        2 => any::<Index>().prop_map(Mutation::Remove),
        2 => (any::<Index>(), key, nasty()).prop_map(|(i, k, v)| Mutation::Insert(i, k, v)),
        4 => (any::<Index>(), nasty()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        4 => (any::<Index>(), any::<Index>()).prop_map(|(i, p)| Mutation::Pooled(i, p)),
        3 => (any::<Index>(), str_edit()).prop_map(|(i, e)| Mutation::Edit(i, e)),
        1 => any::<Index>().prop_map(Mutation::InArray),
        1 => any::<Index>().prop_map(Mutation::InObject),
        1 => (any::<Index>(), any::<Index>(), nasty())
            .prop_map(|(i, k, v)| Mutation::Duplicate(i, k, v)),
    ]
}

fn text_edit() -> impl Strategy<Value = TextEdit> {
    prop_oneof![
        20 => Just(TextEdit::None),
        1 => any::<Index>().prop_map(TextEdit::Truncate),
        1 => Just(TextEdit::Bom),
        1 => prop::sample::select(vec![" ", "\n", "x", "{}", ",", "\0", "]"])
            .prop_map(|s| TextEdit::Trailing(s.to_owned())),
    ]
}

/// A step from a node to one of its children.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    At(usize),
}

/// Every node of `v` with the name of the field it is (the nearest one,
/// for array elements), root first.
fn nodes(v: &Value, path: &mut Vec<Step>, field: &str, out: &mut Vec<(Vec<Step>, String)>) {
    out.push((path.clone(), field.to_owned()));
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                path.push(Step::Key(k.clone()));
                nodes(x, path, k, out);
                path.pop();
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                path.push(Step::At(i));
                nodes(x, path, field, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn node_mut<'a>(mut v: &'a mut Value, path: &[Step]) -> &'a mut Value {
    for step in path {
        v = match step {
            Step::Key(k) => &mut v[k.as_str()],
            Step::At(i) => &mut v[*i],
        };
    }
    v
}

/// A body being mutated, with what is spliced in after serialization.
struct Mutant {
    body: Value,
    raws: Vec<String>,
    /// Duplicate keys: their real names.
    dups: Vec<String>,
}

impl Mutant {
    fn put(&mut self, v: &Nasty) -> Value {
        match v {
            Nasty::Json(v) => v.clone(),
            Nasty::Raw(text) => {
                self.raws.push(text.clone());
                Value::String(format!("{MARK}{}{MARK}", self.raws.len() - 1))
            }
        }
    }

    fn apply(&mut self, m: &Mutation) {
        let mut all = Vec::new();
        nodes(&self.body, &mut Vec::new(), "", &mut all);
        let pick = |i: &Index| all[i.index(all.len())].clone();
        match m {
            Mutation::Remove(i) => {
                let (path, _) = pick(i);
                if let Some((last, parent)) = path.split_last() {
                    match (node_mut(&mut self.body, parent), last) {
                        (Value::Object(o), Step::Key(k)) => {
                            o.remove(k);
                        }
                        (Value::Array(a), Step::At(i)) => {
                            a.remove(*i);
                        }
                        _ => {}
                    }
                }
            }
            Mutation::Insert(i, key, v) => {
                let (path, _) = pick(i);
                let v = self.put(v);
                match node_mut(&mut self.body, &path) {
                    Value::Object(o) => {
                        o.insert(key.clone(), v);
                    }
                    other => *other = v,
                }
            }
            Mutation::Replace(i, v) => {
                let (path, _) = pick(i);
                let v = self.put(v);
                *node_mut(&mut self.body, &path) = v;
            }
            Mutation::Pooled(i, p) => {
                let (path, field) = pick(i);
                let pool = pool(&field);
                *node_mut(&mut self.body, &path) = Value::String(p.get(&pool).clone());
            }
            Mutation::Edit(i, edit) => {
                let (path, _) = pick(i);
                let node = node_mut(&mut self.body, &path);
                let Value::String(s) = node else {
                    return;
                };
                match edit {
                    StrEdit::Append(x) => s.push_str(x),
                    StrEdit::Prepend(x) => s.insert_str(0, x),
                    StrEdit::Repeat(n) => *s = s.repeat(*n),
                    StrEdit::Upper => *s = s.to_uppercase(),
                    StrEdit::Cut(at) => {
                        let chars = s.chars().count();
                        if chars > 0 {
                            *s = s.chars().take(at.index(chars)).collect();
                        }
                    }
                }
            }
            Mutation::InArray(i) => {
                let (path, _) = pick(i);
                let node = node_mut(&mut self.body, &path);
                *node = Value::Array(vec![node.take()]);
            }
            Mutation::InObject(i) => {
                let (path, _) = pick(i);
                let node = node_mut(&mut self.body, &path);
                *node = json!({"value": node.take()});
            }
            Mutation::Duplicate(i, k, v) => {
                let (path, _) = pick(i);
                let v = self.put(v);
                if let Value::Object(o) = node_mut(&mut self.body, &path)
                    && !o.is_empty()
                {
                    let name = k.get(&o.keys().cloned().collect::<Vec<_>>()).clone();
                    self.dups.push(name);
                    o.insert(format!("{DUP}{}{DUP}", self.dups.len() - 1), v);
                }
            }
        }
    }

    fn text(&self, edit: &TextEdit) -> Vec<u8> {
        let mut text = self.body.to_string();
        for (i, raw) in self.raws.iter().enumerate() {
            text = text.replace(&format!("\"{MARK}{i}{MARK}\""), raw);
        }
        for (i, name) in self.dups.iter().enumerate() {
            text = text.replace(
                &format!("\"{DUP}{i}{DUP}\""),
                &Value::from(name.as_str()).to_string(),
            );
        }
        let mut bytes = text.into_bytes();
        match edit {
            TextEdit::None => {}
            TextEdit::Truncate(at) => bytes.truncate(at.index(bytes.len().max(1))),
            TextEdit::Bom => bytes.splice(0..0, "\u{FEFF}".bytes()).for_each(drop),
            TextEdit::Trailing(s) => bytes.extend_from_slice(s.as_bytes()),
        }
        bytes
    }
}

fn auth_for(right: Auth) -> impl Strategy<Value = Auth> {
    prop_oneof![
        30 => Just(right),
        1 => prop::sample::select(vec![Auth::Tenant, Auth::Admin, Auth::None, Auth::Wrong, Auth::Garbled]),
    ]
}

fn content_type() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        20 => Just(Some("application/json")),
        1 => prop::sample::select(vec![
            None, Some("text/plain"), Some("application/json; charset=utf-16"),
            Some("application/x-www-form-urlencoded"), Some("multipart/form-data; boundary=x"),
        ]),
    ]
}

/// A valid body of a write endpoint, changed by up to six mutations.
fn mutated_body() -> impl Strategy<Value = Case> {
    let mutations = prop_oneof![
        1 => Just(Vec::new()),
        9 => prop::collection::vec(mutation(), 1..7),
    ];
    (endpoint_with_body(), mutations, text_edit(), content_type())
        .prop_flat_map(|((method, path, right, body), mutations, edit, ct)| {
            (
                Just((method, path, body, mutations, edit, ct)),
                auth_for(right),
            )
        })
        .prop_map(|((method, path, body, mutations, edit, ct), auth)| {
            let mut m = Mutant {
                body,
                raws: Vec::new(),
                dups: Vec::new(),
            };
            for x in &mutations {
                m.apply(x);
            }
            Case {
                method,
                target: path.to_owned(),
                auth,
                content_type: ct,
                body: Some(m.text(&edit)),
            }
        })
}

/// Arbitrary bytes, or bytes after the start of a plausible body, with a
/// JSON content type, to a write endpoint.
fn arbitrary_body() -> impl Strategy<Value = Case> {
    let prefix = prop::sample::select(vec![
        "",
        "{",
        "{\"name\":",
        "{\"name\":\"x\",\"spec\":{",
        "{\"schedule\":\"",
        "[",
        "\"",
        "{\"rules\":{",
        "\u{FEFF}{",
    ]);
    let bytes = prop_oneof![
        3 => prop::collection::vec(any::<u8>(), 0..300),
        1 => prop::collection::vec(any::<u8>(), 0..20_000),
        1 => prop::collection::vec(prop::sample::select(b"{}[]\":,0a\\ \0".to_vec()), 0..2000),
    ];
    (endpoint_with_body(), prefix, bytes).prop_flat_map(
        |((method, path, right, _), prefix, bytes)| {
            let mut body = prefix.as_bytes().to_vec();
            body.extend(bytes);
            auth_for(right).prop_map(move |auth| Case {
                method: method.clone(),
                target: path.to_owned(),
                auth,
                content_type: Some("application/json"),
                body: Some(body.clone()),
            })
        },
    )
}

// --- Parameters -----------------------------------------------------------------

/// Every route but `POST .../alerts/test`, which sends a request to the
/// stored webhook: a fuzzed URL could reach out of this machine.
const ROUTES: &[(&str, &str, Auth, &[&str])] = &[
    ("GET", "/admin/tenants", Auth::Admin, &[]),
    ("GET", "/admin/tenants/{tenant}", Auth::Admin, &[]),
    ("DELETE", "/admin/tenants/{tenant}", Auth::Admin, &[]),
    ("PUT", "/admin/tenants/{tenant}/cluster", Auth::Admin, &[]),
    ("GET", "/admin/tenants/{tenant}/tokens", Auth::Admin, &[]),
    ("POST", "/admin/tenants/{tenant}/tokens", Auth::Admin, &[]),
    (
        "DELETE",
        "/admin/tenants/{tenant}/tokens/{token}",
        Auth::Admin,
        &[],
    ),
    ("GET", "/projects", Auth::Tenant, &[]),
    ("GET", "/projects/{project}", Auth::Tenant, &[]),
    ("DELETE", "/projects/{project}", Auth::Tenant, &[]),
    ("GET", "/projects/{project}/alerts", Auth::Tenant, &[]),
    ("PUT", "/projects/{project}/alerts", Auth::Tenant, &[]),
    ("DELETE", "/projects/{project}/alerts", Auth::Tenant, &[]),
    (
        "GET",
        "/projects/{project}/alerts/history",
        Auth::Tenant,
        &["cronjob", "limit", "offset"],
    ),
    (
        "GET",
        "/projects/{project}/applications",
        Auth::Tenant,
        &["type"],
    ),
    (
        "POST",
        "/projects/{project}/applications",
        Auth::Tenant,
        &[],
    ),
    (
        "GET",
        "/projects/{project}/applications/{name}",
        Auth::Tenant,
        &[],
    ),
    (
        "PUT",
        "/projects/{project}/applications/{name}",
        Auth::Tenant,
        &[],
    ),
    (
        "DELETE",
        "/projects/{project}/applications/{name}",
        Auth::Tenant,
        &[],
    ),
    ("GET", "/projects/{project}/cronjobs", Auth::Tenant, &[]),
    ("POST", "/projects/{project}/cronjobs", Auth::Tenant, &[]),
    (
        "GET",
        "/projects/{project}/cronjobs/{name}",
        Auth::Tenant,
        &[],
    ),
    (
        "PUT",
        "/projects/{project}/cronjobs/{name}",
        Auth::Tenant,
        &[],
    ),
    (
        "DELETE",
        "/projects/{project}/cronjobs/{name}",
        Auth::Tenant,
        &[],
    ),
    (
        "GET",
        "/projects/{project}/cronjobs/{name}/alerts",
        Auth::Tenant,
        &[],
    ),
    (
        "PUT",
        "/projects/{project}/cronjobs/{name}/alerts",
        Auth::Tenant,
        &[],
    ),
    (
        "DELETE",
        "/projects/{project}/cronjobs/{name}/alerts",
        Auth::Tenant,
        &[],
    ),
    (
        "POST",
        "/projects/{project}/cronjobs/{name}/resume",
        Auth::Tenant,
        &[],
    ),
    (
        "POST",
        "/projects/{project}/cronjobs/{name}/suspend",
        Auth::Tenant,
        &[],
    ),
    (
        "GET",
        "/projects/{project}/cronjobs/{name}/runs",
        Auth::Tenant,
        &[],
    ),
    (
        "POST",
        "/projects/{project}/cronjobs/{name}/runs",
        Auth::Tenant,
        &[],
    ),
    (
        "GET",
        "/projects/{project}/cronjobs/{name}/runs/{run}/logs",
        Auth::Tenant,
        &["follow", "attempt", "tailLines", "limitBytes", "timestamps"],
    ),
    ("POST", "/projects/{project}/manifests", Auth::Tenant, &[]),
    ("POST", "/schedules/preview", Auth::Tenant, &[]),
    ("GET", "/openapi.json", Auth::None, &[]),
];

/// `text` percent-encoded but for unreserved characters.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A path segment, percent-encoded: mostly a name the world has, else odd.
fn segment(placeholder: &str) -> impl Strategy<Value = String> {
    let names: Vec<&'static str> = match placeholder {
        "tenant" => vec!["acme", "other", "nobody"],
        "token" => vec!["ci", "nope"],
        "project" => vec!["shop", "none"],
        "run" => vec!["report-28000000", "nope"],
        _ => vec!["web", "greet", "report", "wake", "nope"],
    };
    let odd = prop_oneof![
        prop::sample::select(vec![
            "%00",
            "..",
            "%2e%2e",
            ".",
            "%2F",
            "a%2Fb",
            "%FF",
            "%C3%28",
            "%E2%80%AE",
            "%EF%BB%BF",
            "%20",
            "%0A",
            "%25",
            "x%00y",
            "~",
            "-",
            "A",
            "0",
            "shop%00",
            "..%2F..%2Fetc",
            "%252e",
            "web;x=1",
            "web.json",
            "*",
            "%F0%9F%98%80",
            "%ED%A0%80",
            "%C0%AE",
            "WEB",
            "web%20",
            "%7B%7D",
        ])
        .prop_map(str::to_owned),
        (
            prop::sample::select(vec!["a", "%00", "%FF", "%E2%82%AC"]),
            60usize..3000
        )
            .prop_map(|(s, n)| s.repeat(n)),
        "\\PC{1,16}".prop_map(|s| encode(&s)),
        "[a-z0-9-]{1,70}",
    ];
    prop_oneof![
        3 => prop::sample::select(names).prop_map(str::to_owned),
        2 => odd,
    ]
}

fn query(names: &'static [&'static str]) -> impl Strategy<Value = String> {
    let mut all: Vec<&'static str> = names.to_vec();
    all.extend(["x", "", "limit", "tailLines"]);
    let value = prop_oneof![
        prop::sample::select(vec![
            "",
            "0",
            "1",
            "-1",
            "true",
            "false",
            "yes",
            "TRUE",
            "1e3",
            "99999999999999999999",
            "4294967296",
            "18446744073709551615",
            "8388608",
            "8388609",
            "16777217",
            "100000",
            "100001",
            "%00",
            "%FF",
            "abc",
            "report",
            "web",
            "stateless",
            "cronjob",
            "function",
            "Function",
            "0.5",
            "+1",
            "%2B1",
            "%201",
            "1%00",
            "a=b",
            "%C3%28",
        ])
        .prop_map(str::to_owned),
        (prop::sample::select(vec!["9", "%00", "a"]), 100usize..3000)
            .prop_map(|(s, n)| s.repeat(n)),
        "\\PC{0,12}".prop_map(|s| encode(&s)),
    ];
    prop::collection::vec(
        prop_oneof![
            8 => (prop::sample::select(all), value).prop_map(|(k, v)| format!("{k}={v}")),
            1 => prop::sample::select(vec!["a", "&", "=", "=1", "%00=1", "limit"]).prop_map(str::to_owned),
        ],
        0..4,
    )
    .prop_map(|parts| {
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    })
}

fn method_for(right: &'static str) -> impl Strategy<Value = Method> {
    prop_oneof![
        12 => Just(right.parse::<Method>().unwrap()),
        1 => prop::sample::select(vec![
            "GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "FOO", "CONNECTX",
        ])
        .prop_map(|m| m.parse::<Method>().unwrap()),
    ]
}

/// A request to any route with odd path segments, query parameters,
/// methods or tokens; a write gets an empty object or no body.
fn odd_parameters() -> impl Strategy<Value = Case> {
    prop::sample::select(ROUTES.to_vec()).prop_flat_map(|(method, template, right, names)| {
        let placeholders: Vec<&'static str> = template
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        let segments: Vec<_> = placeholders.iter().map(|p| segment(p)).collect();
        (
            method_for(method),
            segments,
            query(names),
            auth_for(right),
            prop::sample::select(vec![None, Some(b"{}".to_vec())]),
        )
            .prop_map(move |(method, values, query, auth, body)| {
                let mut path = template.to_owned();
                for (p, v) in placeholders.iter().zip(values) {
                    path = path.replacen(&format!("{{{p}}}"), &v, 1);
                }
                Case {
                    method,
                    target: format!("/api/v1{path}{query}"),
                    auth,
                    content_type: body.as_ref().map(|_| "application/json"),
                    body,
                }
            })
    })
}

// --- The properties ---------------------------------------------------------------

/// Runs cases against one world, made anew when a request took away what
/// the cases name, or after [`REBUILD_AFTER_WRITES`] accepted writes.
struct Fuzz {
    rt: tokio::runtime::Runtime,
    /// Taken out while a case runs: a case that panics leaves none, and
    /// the next makes a new world.
    world: RefCell<Option<Rc<World>>>,
    /// The snapshot of the world as it is now, when known.
    before: RefCell<Option<String>>,
    statuses: RefCell<BTreeMap<u16, usize>>,
    worlds: Cell<usize>,
}

impl Fuzz {
    fn new() -> Self {
        Self {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            world: RefCell::new(None),
            before: RefCell::new(None),
            statuses: RefCell::new(BTreeMap::new()),
            worlds: Cell::new(0),
        }
    }

    fn check(&self, case: &Case) -> Result<(), String> {
        self.rt.block_on(async {
            let taken = self.world.borrow_mut().take();
            let world = match taken {
                Some(w) => w,
                None => {
                    self.worlds.set(self.worlds.get() + 1);
                    self.before.borrow_mut().take();
                    Rc::new(World::new().await)
                }
            };
            let known = self.before.borrow_mut().take();
            let before = match known {
                Some(s) => s,
                None => world.snapshot().await,
            };
            let reply = world.app.send(case.request(&world.token)).await;
            let status = reply.status.as_u16();
            *self.statuses.borrow_mut().entry(status).or_default() += 1;
            let mut now = None;
            let result = match status {
                200..=299 => {
                    if case.is_write() {
                        world.writes.set(world.writes.get() + 1);
                        match world.object_with_nul().await {
                            Some(o) => Err(format!(
                                "an accepted write applied a NUL: {}",
                                cut(&o, 3000)
                            )),
                            None => Ok(()),
                        }
                    } else {
                        now = Some(before);
                        Ok(())
                    }
                }
                400..=499 => {
                    // A response to HEAD has no body (hyper drops it).
                    let shape = if case.method == Method::HEAD {
                        Ok(())
                    } else {
                        error_shape(status, &reply)
                    };
                    let after = world.snapshot().await;
                    let same = match first_difference(&before, &after) {
                        None => Ok(()),
                        Some(d) => Err(format!(
                            "a refused request ({status}) changed the world: {d}"
                        )),
                    };
                    now = Some(after);
                    shape.and(same).map_err(|e| format!("{e}\n    {reply}"))
                }
                _ => Err(format!("status {status}: {reply}")),
            };
            let keep = now.is_some()
                || (world.writes.get() < REBUILD_AFTER_WRITES && world.intact().await);
            if keep {
                *self.before.borrow_mut() = now;
                *self.world.borrow_mut() = Some(world);
            }
            result
        })
    }
}

/// Where two snapshots first differ, or `None`.
fn first_difference(before: &str, after: &str) -> Option<String> {
    let mut b = before.lines();
    let mut a = after.lines();
    loop {
        match (b.next(), a.next()) {
            (None, None) => return None,
            (x, y) if x == y => continue,
            (x, y) => {
                return Some(format!(
                    "\n    before: {}\n    after:  {}",
                    cut(x.unwrap_or("(nothing)"), 2000),
                    cut(y.unwrap_or("(nothing)"), 2000)
                ));
            }
        }
    }
}

/// The error shape `hks_api::error::ErrorBody` promises: a JSON object
/// with a `code` that goes with the status, a `message`, and for a 400 the
/// `problems`, each with its field path, code and message; what they echo
/// of the input cut.
fn error_shape(status: u16, reply: &Reply) -> Result<(), String> {
    let ct = reply.header("content-type").unwrap_or_default();
    if !ct.starts_with("application/json") {
        return Err(format!("a {status} with content type {ct:?}"));
    }
    let body: Value = serde_json::from_str(&reply.text)
        .map_err(|e| format!("a {status} that is not JSON: {e}"))?;
    let Some(obj) = body.as_object() else {
        return Err(format!("a {status} whose body is not an object"));
    };
    if let Some(k) = obj
        .keys()
        .find(|k| !["code", "message", "problems"].contains(&k.as_str()))
    {
        return Err(format!(
            "a {status} with a field {k:?} the error shape has not"
        ));
    }
    if status == 405 && reply.header("allow").is_none_or(str::is_empty) {
        return Err("a 405 without the methods the path takes (Allow)".into());
    }
    let expected = match status {
        400 => "invalid",
        401 => "unauthorized",
        404 => "not_found",
        405 => "method_not_allowed",
        409 => "conflict",
        413 => "payload_too_large",
        422 => "cluster_rejected",
        429 => "too_many_requests",
        _ => return Err(format!("status {status}, which the API never answers")),
    };
    if obj.get("code").and_then(Value::as_str) != Some(expected) {
        return Err(format!("a {status} whose code is not {expected:?}"));
    }
    let text = |v: Option<&Value>, what: &str, may_be_empty: bool| -> Result<(), String> {
        match v.and_then(Value::as_str) {
            None => Err(format!("a {status} without a string {what}")),
            Some("") if !may_be_empty => Err(format!("a {status} with an empty {what}")),
            Some(s) if s.chars().count() > MAX_ECHOED => Err(format!(
                "a {status} whose {what} echoes {} characters",
                s.chars().count()
            )),
            Some(_) => Ok(()),
        }
    };
    text(obj.get("message"), "message", false)?;
    let problems = obj.get("problems");
    if status != 400 {
        return match problems {
            None => Ok(()),
            Some(_) => Err(format!("a {status} with problems")),
        };
    }
    let Some(problems) = problems.and_then(Value::as_array).filter(|p| !p.is_empty()) else {
        return Err("a 400 without problems".into());
    };
    for p in problems {
        let Some(p) = p.as_object() else {
            return Err("a problem that is not an object".into());
        };
        let code = p.get("code").and_then(Value::as_str).unwrap_or_default();
        if code.is_empty() {
            return Err("a problem without a code".into());
        }
        // Only a problem with the body as a whole has the empty path.
        let whole_body = ["invalid_json", "unreadable_body"].contains(&code);
        text(p.get("field"), "problem's field", whole_body)?;
        text(p.get("message"), "problem's message", false)?;
        if let Some(h) = p.get("hint") {
            text(Some(h), "problem's hint", false)?;
        }
    }
    Ok(())
}

/// Runs `cases` cases of `strategy` (or `PROPTEST_CASES`) from `seed` (or
/// `PROPTEST_RNG_SEED`), failing with the shrunk case.
fn fuzz(name: &str, seed: u64, cases: u32, strategy: impl Strategy<Value = Case>) {
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = RngSeed::Fixed(seed);
    }
    // See the module's documentation.
    config.failure_persistence = None;
    config.max_shrink_iters = 2000;
    let seed = config.rng_seed;
    let cases = config.cases;
    let fuzz = Fuzz::new();
    let started = std::time::Instant::now();
    let mut runner = TestRunner::new(config);
    let result = runner.run(&strategy, |case| {
        fuzz.check(&case).map_err(TestCaseError::fail)
    });
    println!(
        "{name}: {cases} cases, {} worlds, statuses {:?}, in {:.1?} (seed {seed:?})",
        fuzz.worlds.get(),
        fuzz.statuses.borrow(),
        started.elapsed()
    );
    if let Err(e) = result {
        panic!("{name} failed (seed {seed:?}; rerun with PROPTEST_RNG_SEED to reproduce): {e}");
    }
}

#[test]
fn mutated_bodies_of_the_write_endpoints() {
    fuzz("mutated bodies", 0x4b53_0001, BODY_CASES, mutated_body());
}

#[test]
fn arbitrary_bytes_as_json_bodies() {
    fuzz(
        "arbitrary bytes",
        0x4b53_0002,
        BYTES_CASES,
        arbitrary_body(),
    );
}

#[test]
fn odd_paths_queries_methods_and_tokens() {
    fuzz("odd parameters", 0x4b53_0003, PARAM_CASES, odd_parameters());
}
