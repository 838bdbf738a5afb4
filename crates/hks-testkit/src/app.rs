//! HKS in a test (the `app` feature): the HTTP application through its
//! router, on an in-memory store and the fake cluster ([`TestApp::new`]) or
//! on the development cluster ([`TestApp::on_cluster`]); requests as a
//! tenant or as the admin; seeding through the API, as a user would; and
//! replies read as the API's own response types ([`Reply::expect_json`]),
//! errors as [`ErrorReply`].
//!
//! There is one way to start HKS in a test, to call it and to read what it
//! answered. A test crate keeps only its own fixtures (the applications and
//! CronJobs it creates, the recorder's timers) in its `tests/common/mod.rs`.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, request};
use hks_api::dto::{ApplicationView, CreatedToken, CronJobView, ProjectView, TenantView};
use hks_api::{AppState, HttpLimits};
use hks_controller::recorder;
use hks_kube::fake::FakeGateway;
use hks_kube::{Gateway, Object};
use hks_store::Store;
use http_body_util::BodyExt as _;
use k8s_openapi::api::batch::v1::CronJob;
use metrics_exporter_prometheus::PrometheusHandle;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tower::ServiceExt as _;

/// The installation's admin token in tests.
pub const ADMIN: &str = "admin-secret-for-tests";

/// The kubeconfig of a tenant on the fake cluster. The fake never reads it;
/// its marker lets a test check that credentials are never shown.
pub const FAKE_KUBECONFIG: &str = "apiVersion: v1\nkind: Config\n# SECRET-CREDENTIALS";

/// The name of the token the seeding helpers make for each tenant.
pub const TOKEN_NAME: &str = "ci";

/// How a [`TestApp`] is built. The default: an in-memory store, the fake
/// cluster, no metrics, the default HTTP limits, no console.
#[derive(Debug, Default)]
pub struct Setup {
    /// The real Kubernetes gateway instead of the fake: tenants' kubeconfigs
    /// then name real clusters.
    pub live: bool,
    /// This store instead of a new in-memory one.
    pub store: Option<Store>,
    /// The Prometheus recorder's handle, for `/metrics`.
    pub metrics: Option<PrometheusHandle>,
    /// The bounds on requests (`hks serve`'s HTTP settings).
    pub limits: HttpLimits,
    /// The console's files from this directory, as `hks serve` serves them
    /// (`hks_api::app`); without it, the API's router alone.
    pub console: Option<PathBuf>,
    /// Where webhooks may go; by default public addresses and [`loopback`],
    /// where the tests' receivers listen.
    pub webhook_targets: Option<hks_alerting::TargetPolicy>,
    /// The installation's SMTP server (`hks serve --smtp-url`); none by
    /// default, so email destinations are refused.
    pub email: Option<hks_alerting::Email>,
    /// Each tenant's budgets of changes and run starts; none by default
    /// (`hks serve` has [`hks_app::TenantRates::SERVE_DEFAULT`]).
    pub rates: Option<hks_app::TenantRates>,
}

/// HKS in a test: its router, its state (store, gateway, alerter), the fake
/// cluster the tests drive in the place of Kubernetes' controllers, and the
/// run recorder when a test starts it (stopped when the app is dropped).
#[derive(Debug)]
pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    /// The fake cluster; unused when the app runs on a real one.
    pub fake: Arc<FakeGateway>,
    recorder: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// A tenant the seeding helpers made, with its token [`TOKEN_NAME`].
#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub token: String,
}

/// A tenant's project as the seeding helpers made it.
#[derive(Debug, Clone)]
pub struct Project {
    /// The tenant's token.
    pub token: String,
    /// The tenant's id.
    pub tenant: String,
    pub name: String,
    /// The project's namespace in the tenant's cluster.
    pub namespace: String,
    /// The project's API path, `/api/v1/projects/<name>`.
    pub base: String,
    /// The project's id in the store.
    pub id: String,
}

impl TestApp {
    /// HKS on an in-memory store and the fake cluster.
    pub async fn new() -> Self {
        Self::build(Setup::default()).await
    }

    /// HKS as `setup` says.
    ///
    /// # Panics
    /// When the in-memory store cannot be opened.
    pub async fn build(setup: Setup) -> Self {
        let store = match setup.store {
            Some(store) => store,
            None => Store::in_memory().await.unwrap(),
        };
        let fake = Arc::new(FakeGateway::new());
        let gateway: Arc<dyn Gateway> = if setup.live {
            Arc::new(hks_kube::live::KubeGateway::new(
                hks_kube::live::Settings::default(),
            ))
        } else {
            fake.clone()
        };
        // Webhooks may go to the tests' receivers on 127.0.0.1.
        let targets = setup.webhook_targets.unwrap_or_else(loopback);
        let app = hks_app::App::new(store, gateway)
            .with_webhook_targets(targets)
            .with_email(setup.email)
            .with_tenant_rates(setup.rates.unwrap_or(hks_app::TenantRates::UNLIMITED));
        let state = AppState::of(app, Some(&ADMIN.to_owned().into()), setup.metrics)
            .with_http_limits(setup.limits);
        let router = match &setup.console {
            Some(dir) => hks_api::app(state.clone(), Some(dir)),
            None => hks_api::router(state.clone()),
        };
        Self {
            router,
            state,
            fake,
            recorder: Mutex::new(None),
        }
    }

    /// HKS on the real gateway with its run recorder running: tenants made
    /// with [`TestApp::tenant_on`] and the development cluster's kubeconfig
    /// (`crate::cluster`) use that cluster. The recorder releases HKS's
    /// finalizers; without it nothing a run leaves could be deleted.
    pub async fn on_cluster() -> Self {
        let app = Self::build(Setup {
            live: true,
            ..Setup::default()
        })
        .await;
        app.start_recorder(recorder::Settings {
            interval: Duration::from_millis(300),
            ..recorder::Settings::default()
        });
        app
    }

    /// Starts the run recorder with `settings`; one started before is
    /// stopped first, so the new one remembers nothing of it.
    ///
    /// # Panics
    /// When another test thread panicked while holding the recorder's slot.
    pub fn start_recorder(&self, settings: recorder::Settings) {
        let mut slot = self.recorder.lock().unwrap();
        if let Some(old) = slot.take() {
            old.abort();
        }
        *slot = Some(recorder::spawn(self.state.app().clone(), settings));
    }

    /// Stops the run recorder, if it runs (as if HKS were killed).
    ///
    /// # Panics
    /// As [`TestApp::start_recorder`].
    pub fn stop_recorder(&self) {
        if let Some(r) = self.recorder.lock().unwrap().take() {
            r.abort();
        }
    }

    /// Sends `request` through the router.
    ///
    /// # Panics
    /// When the router or the body fails (it never does: errors are responses).
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let res = self.router.clone().oneshot(request).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// `method path` with the bearer `token` (none: no `Authorization`) and
    /// `body` as JSON (none: an empty body without a content type).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let req = match body {
            Some(b) => request(method, path, token, Body::from(b.to_string())),
            None => builder(method, path, token).body(Body::empty()).unwrap(),
        };
        self.send(req).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(token), Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// Tenant `name` on the fake cluster, and its token [`TOKEN_NAME`].
    pub async fn tenant(&self, name: &str) -> Tenant {
        self.tenant_on(name, FAKE_KUBECONFIG).await
    }

    /// Tenant `name` on the cluster `kubeconfig` names, and its token
    /// [`TOKEN_NAME`].
    pub async fn tenant_on(&self, name: &str, kubeconfig: &str) -> Tenant {
        self.tenant_with(
            name,
            json!({"kind": "kubeconfig", "kubeconfig": kubeconfig}),
        )
        .await
    }

    /// Tenant `name` in the vCluster `vc` (a connection by vCluster
    /// reference: HKS reads the kubeconfig from its Secret `vc-<name>` on the
    /// host cluster), and its token [`TOKEN_NAME`].
    pub async fn tenant_in_vcluster(&self, name: &str, vc: &crate::Vcluster) -> Tenant {
        self.tenant_with(name, vcluster_connection(vc)).await
    }

    /// Tenant `name` with the cluster connection `cluster` (as the admin
    /// API takes it), and its token [`TOKEN_NAME`].
    async fn tenant_with(&self, name: &str, cluster: Value) -> Tenant {
        let tenant: TenantView = self
            .post(
                "/api/v1/admin/tenants",
                ADMIN,
                json!({"name": name, "cluster": cluster}),
            )
            .await
            .expect_json(StatusCode::CREATED);
        let token = self.token(name, TOKEN_NAME).await;
        Tenant {
            id: tenant.id,
            name: tenant.name,
            token,
        }
    }

    /// A new token `name` of tenant `tenant`: its secret value.
    pub async fn token(&self, tenant: &str, name: &str) -> String {
        self.post(
            &format!("/api/v1/admin/tenants/{tenant}/tokens"),
            ADMIN,
            json!({"name": name}),
        )
        .await
        .expect_json::<CreatedToken>(StatusCode::CREATED)
        .token
    }

    /// Project `name` of the tenant of `token`.
    pub async fn project(&self, token: &str, name: &str) -> ProjectView {
        self.post("/api/v1/projects", token, json!({"name": name}))
            .await
            .expect_json(StatusCode::CREATED)
    }

    /// Tenant `tenant` on the fake cluster with project `project`.
    ///
    /// # Panics
    /// When the store does not have the project it just made.
    pub async fn tenant_with_project(&self, tenant: &str, project: &str) -> Project {
        let t = self.tenant(tenant).await;
        let p = self.project(&t.token, project).await;
        let id = self.state.store().project(&t.id, project).await.unwrap().id;
        Project {
            token: t.token,
            tenant: t.id,
            base: format!("/api/v1/projects/{}", p.name),
            name: p.name,
            namespace: p.namespace,
            id,
        }
    }

    /// An application (`{"name", "type", "spec"}`) in `project`.
    pub async fn application(&self, token: &str, project: &str, body: Value) -> ApplicationView {
        self.post(
            &format!("/api/v1/projects/{project}/applications"),
            token,
            body,
        )
        .await
        .expect_json(StatusCode::CREATED)
    }

    /// A CronJob (`{"name", "spec"}`) in `project`.
    pub async fn cronjob(&self, token: &str, project: &str, body: Value) -> CronJobView {
        self.post(&format!("/api/v1/projects/{project}/cronjobs"), token, body)
            .await
            .expect_json(StatusCode::CREATED)
    }

    /// The id of tenant `name` (ids are random).
    ///
    /// # Panics
    /// When there is no such tenant.
    pub async fn tenant_id(&self, name: &str) -> String {
        self.state.store().tenant_by_name(name).await.unwrap().id
    }

    /// The store's id of `tenant`'s project `project`.
    ///
    /// # Panics
    /// When there is no such project.
    pub async fn project_id(&self, tenant: &str, project: &str) -> String {
        let tenant = self.tenant_id(tenant).await;
        self.state
            .store()
            .project(&tenant, project)
            .await
            .unwrap()
            .id
    }

    /// Every object the fake cluster holds, of every tenant.
    ///
    /// # Panics
    /// When the store cannot list the tenants.
    pub async fn objects(&self) -> Vec<Object> {
        let tenants = self.state.store().list_tenants().await.unwrap();
        tenants
            .iter()
            .flat_map(|t| self.fake.objects(&t.id))
            .collect()
    }

    /// CronJob `name` as the fake cluster holds it (of any tenant).
    pub async fn fake_cronjob(&self, name: &str) -> Option<CronJob> {
        self.objects().await.into_iter().find_map(|o| match o {
            Object::CronJob(c) if c.metadata.name.as_deref() == Some(name) => Some(c),
            _ => None,
        })
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Ok(mut slot) = self.recorder.lock()
            && let Some(r) = slot.take()
        {
            r.abort();
        }
    }
}

fn builder(method: Method, path: &str, token: Option<&str>) -> request::Builder {
    let req = Request::builder().method(method).uri(path);
    match token {
        Some(t) => req.header("authorization", format!("Bearer {t}")),
        None => req,
    }
}

/// A request as a client sends one: a JSON content type whatever `body`
/// is, and the bearer `token` when given.
///
/// # Panics
/// When `path` is not a URI.
pub fn request(method: Method, path: &str, token: Option<&str>, body: Body) -> Request<Body> {
    builder(method, path, token)
        .header("content-type", "application/json")
        .body(body)
        .unwrap()
}

/// What HKS answered. `text` is the body (decoded lossily: a log need not
/// be UTF-8); read it as the API's response type with [`Reply::json`] or
/// [`Reply::expect_json`], as an error with [`Reply::error`], or as raw
/// JSON with [`Reply::value`] where a test checks the shape itself.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    /// The body as a response of type `T`.
    ///
    /// # Panics
    /// When it is not one, naming the type and showing the reply.
    #[track_caller]
    pub fn json<T: DeserializeOwned>(&self) -> T {
        match serde_json::from_str(&self.text) {
            Ok(v) => v,
            Err(e) => panic!("not a {} ({e}): {self}", std::any::type_name::<T>()),
        }
    }

    /// The body as a response of type `T`, or `None` when it is not one
    /// (for a test that polls until an answer is what it waits for).
    pub fn try_json<T: DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_str(&self.text).ok()
    }

    /// The body as a response of type `T`, after checking the status.
    ///
    /// # Panics
    /// When the status is another (showing the reply), or as [`Reply::json`].
    #[track_caller]
    pub fn expect_json<T: DeserializeOwned>(&self, status: StatusCode) -> T {
        self.expect_status(status);
        self.json()
    }

    /// Checks the status, showing the reply when it is another.
    ///
    /// # Panics
    /// When the status is not `status`.
    #[track_caller]
    pub fn expect_status(&self, status: StatusCode) -> &Self {
        assert_eq!(self.status, status, "{self}");
        self
    }

    /// The body as an error response.
    ///
    /// # Panics
    /// When it is not one.
    #[track_caller]
    pub fn error(&self) -> ErrorReply {
        self.json()
    }

    /// The body as an error response, after checking the status.
    ///
    /// # Panics
    /// As [`Reply::expect_json`].
    #[track_caller]
    pub fn expect_error(&self, status: StatusCode) -> ErrorReply {
        self.expect_json(status)
    }

    /// The body as raw JSON, or as a JSON string when it is not JSON.
    pub fn value(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|_| Value::String(self.text.clone()))
    }

    /// A response header's value.
    ///
    /// # Panics
    /// When the value is not visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// The `Retry-After` header.
    pub fn retry_after(&self) -> Option<&str> {
        self.header("retry-after")
    }
}

/// The most of a body a failure message shows.
const SHOWN: usize = 4096;

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.text.char_indices().nth(SHOWN) {
            Some((end, _)) => write!(
                f,
                "{}: {}... ({} bytes)",
                self.status,
                &self.text[..end],
                self.text.len()
            ),
            None => write!(f, "{}: {}", self.status, self.text),
        }
    }
}

/// The body of every error response (`hks_api::error::ErrorBody`), read
/// back.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ErrorReply {
    pub code: String,
    pub message: String,
    /// For `invalid`: every problem, with its field path.
    #[serde(default)]
    pub problems: Vec<ProblemReply>,
}

/// One problem of an `invalid` error (`hks_core::Problem`), read back.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ProblemReply {
    pub field: String,
    pub code: String,
    pub message: String,
    #[serde(default)]
    pub hint: Option<String>,
    /// In a project file: the field's line and column.
    #[serde(default)]
    pub line: Option<u32>,
    #[serde(default)]
    pub column: Option<u32>,
}

impl ErrorReply {
    /// The problems' field paths, in order.
    pub fn fields(&self) -> Vec<&str> {
        self.problems.iter().map(|p| p.field.as_str()).collect()
    }

    /// The message of the problem at `field` (empty when there is none).
    pub fn message_of(&self, field: &str) -> &str {
        self.problems
            .iter()
            .find(|p| p.field == field)
            .map_or("", |p| p.message.as_str())
    }
}

/// The admin API's connection of a tenant in the vCluster `vc`, by
/// reference, with the server host processes reach it at.
pub fn vcluster_connection(vc: &crate::Vcluster) -> Value {
    json!({
        "kind": "vcluster",
        "hostKubeconfig": vc.host_kubeconfig,
        "namespace": vc.namespace,
        "name": vc.name,
        "server": vc.server,
    })
}

/// Polls `probe` every `every` until it gives a value, at most `ceiling`;
/// `None` after that.
pub async fn within<T>(
    ceiling: Duration,
    every: Duration,
    mut probe: impl AsyncFnMut() -> Option<T>,
) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = probe().await {
            return Some(v);
        }
        if start.elapsed() >= ceiling {
            return None;
        }
        tokio::time::sleep(every).await;
    }
}

/// Like [`within`], but waiting for `what` must succeed.
///
/// # Panics
/// When `probe` gave nothing within `ceiling`.
pub async fn eventually<T>(
    what: &str,
    ceiling: Duration,
    every: Duration,
    probe: impl AsyncFnMut() -> Option<T>,
) -> T {
    match within(ceiling, every, probe).await {
        Some(v) => v,
        None => panic!("timed out after {ceiling:?} waiting for {what}"),
    }
}

/// Public addresses and 127.0.0.0/8, where the tests' webhook receivers
/// listen (an installation allows no non-public range by default).
pub fn loopback() -> hks_alerting::TargetPolicy {
    hks_alerting::TargetPolicy::allowing(["127.0.0.0/8".parse().expect("a CIDR")])
}
