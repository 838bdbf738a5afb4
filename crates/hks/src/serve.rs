//! `hks serve`: the API server.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use hks_alerting::{IpNet, TargetPolicy};
use hks_api::AppState;
use hks_kube::live::{KubeGateway, Settings};
use hks_store::{Database, EncryptionKey, KeyRing, Store};
use secrecy::{ExposeSecret, SecretString};
use tracing::info;

/// Configuration of the server. Every option can also be set in the environment.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "HKS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory of the database and generated secrets.
    #[arg(long, env = "HKS_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// The database: a PostgreSQL URL (`postgres://user:password@host/db`,
    /// or `postgresql://`), which several replicas can share, or the path
    /// of a SQLite file. Default: the SQLite file `<data-dir>/hks.db`. The
    /// URL's password is never logged.
    #[arg(long, env = "HKS_DATABASE", hide_env_values = true)]
    pub database: Option<SecretString>,
    /// The admin token (creates tenants and tokens). Default: read from, or
    /// generated into, `<data-dir>/admin.token`.
    #[arg(long, env = "HKS_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<SecretString>,
    /// Base64 key (32 bytes) that encrypts cluster credentials and webhook
    /// secrets. Default: `--encryption-key-file`, else read from, or (for a
    /// new database only) generated into, `<data-dir>/encryption.key`.
    #[arg(long, env = "HKS_ENCRYPTION_KEY", hide_env_values = true)]
    pub encryption_key: Option<SecretString>,
    /// A file holding the encryption key, kept outside the data directory
    /// (a mounted Secret, say).
    #[arg(
        long,
        env = "HKS_ENCRYPTION_KEY_FILE",
        conflicts_with = "encryption_key"
    )]
    pub encryption_key_file: Option<PathBuf>,
    /// To rotate the key: the key the database was written with, next to
    /// the new one as the key. Every stored secret is re-sealed with the new
    /// key at start; after that this is no longer needed. Comma-separated.
    #[arg(
        long,
        env = "HKS_PREVIOUS_ENCRYPTION_KEYS",
        hide_env_values = true,
        value_delimiter = ','
    )]
    pub previous_encryption_keys: Vec<SecretString>,
    /// Seconds between reconciliations (re-applying everything, removing orphans).
    #[arg(long, env = "HKS_RECONCILE_SECONDS", default_value_t = 60)]
    pub reconcile_seconds: u64,
    /// Seconds one tenant's part of a background pass (reconciling,
    /// recording runs, housekeeping, alerts) may take; then it is given up
    /// for that pass, so a slow tenant cluster holds up no one else.
    #[arg(long, env = "HKS_TENANT_TIMEOUT_SECONDS", default_value_t = 30)]
    pub tenant_timeout_seconds: u64,
    /// This replica's name, in its logs and in the database's view of who
    /// holds which tenant (`pg_stat_activity`'s `hks-owner:<name>`).
    /// Default: the pod's name (`POD_NAME`), else the host's.
    #[arg(long, env = "HKS_REPLICA_ID")]
    pub replica_id: Option<String>,
    /// Seconds between passes that balance tenants between replicas on
    /// PostgreSQL: the bound on taking over a dead replica's tenants.
    #[arg(long, env = "HKS_OWNERSHIP_SECONDS", default_value_t = 2)]
    pub ownership_seconds: u64,
    /// Tenants each background loop works on at once.
    #[arg(long, env = "HKS_TENANT_CONCURRENCY", default_value_t = 4)]
    pub tenant_concurrency: usize,
    /// The most objects of one kind (CronJobs, Jobs, pods) HKS caches for
    /// one tenant. A tenant's cluster with more objects labelled as HKS's
    /// has its watches stopped and their caches dropped (counted in
    /// `hks_watch_cache_overflows_total`, its views show the cluster state
    /// as unknown, its runs wait) and is watched again a minute later.
    #[arg(long, env = "HKS_MAX_CACHED_OBJECTS", default_value_t = hks_kube::live::DEFAULT_MAX_CACHED_OBJECTS)]
    pub max_cached_objects: usize,
    /// Seconds to wait for a tenant cluster to accept a connection.
    #[arg(long, env = "HKS_CLUSTER_CONNECT_TIMEOUT", default_value_t = 3)]
    pub cluster_connect_timeout: u64,
    /// Log format.
    #[arg(long, env = "HKS_LOG_FORMAT", value_enum, default_value = "json")]
    pub log_format: LogFormat,
    /// The built web console (its index.html and assets), served at `/`.
    #[arg(long, env = "HKS_CONSOLE_DIR", default_value = "console/dist")]
    pub console_dir: PathBuf,
    /// The HTTP-client image of CronJobs that call a Function; it must have
    /// `/bin/hks-invoke` (tools/hks-invoke, a static binary).
    #[arg(long, env = "HKS_INVOKE_IMAGE", default_value = hks_app::DEFAULT_INVOKE_IMAGE)]
    pub invoke_image: String,
    /// Runs of a CronJob kept in the run history, unless the CronJob sets its own.
    #[arg(long, env = "HKS_HISTORY_MAX_RUNS", default_value_t = 100)]
    pub history_max_runs: u32,
    /// Days a run stays in the run history, unless the CronJob sets its own.
    #[arg(long, env = "HKS_HISTORY_MAX_AGE_DAYS", default_value_t = 30)]
    pub history_max_age_days: u32,
    /// Alerts kept per CronJob, with their deliveries: the newest, none
    /// older than `--history-max-age-days` (an alert still being delivered
    /// is always kept).
    #[arg(long, env = "HKS_ALERTS_MAX_PER_CRONJOB", default_value_t = 1000)]
    pub alerts_max_per_cronjob: u32,
    /// The most log kept per attempt in the run history (head and tail kept).
    #[arg(long, env = "HKS_LOG_CAP_BYTES", default_value_t = hks_history::archive::DEFAULT_CAP_BYTES)]
    pub log_cap_bytes: usize,
    /// Seconds a request may take until its response starts (a followed
    /// log streams on); then 503.
    #[arg(long, env = "HKS_REQUEST_TIMEOUT_SECONDS", default_value_t = 60)]
    pub request_timeout_seconds: u64,
    /// Requests handled at once; more are refused with 503 at once.
    #[arg(long, env = "HKS_MAX_CONCURRENT_REQUESTS", default_value_t = 1024)]
    pub max_concurrent_requests: usize,
    /// The largest request body accepted; a larger one gets 413.
    #[arg(long, env = "HKS_MAX_BODY_BYTES", default_value_t = 2 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Followed logs one tenant may have open at once; more get 429.
    #[arg(long, env = "HKS_MAX_FOLLOWS_PER_TENANT", default_value_t = 8)]
    pub max_follows_per_tenant: usize,
    /// Followed logs open at once in all; more get 429.
    #[arg(long, env = "HKS_MAX_FOLLOWS", default_value_t = 256)]
    pub max_follows: usize,
    /// Changes (creates, edits, deletes, Run now...) each tenant may make a
    /// minute; beyond, 429 with Retry-After. 0: no limit.
    #[arg(long, env = "HKS_TENANT_WRITES_PER_MINUTE", default_value_t = hks_app::TenantRates::SERVE_DEFAULT.writes.per_minute)]
    pub tenant_writes_per_minute: u32,
    /// Changes each tenant may make at once before the per-minute rate applies.
    #[arg(long, env = "HKS_TENANT_WRITE_BURST", default_value_t = hks_app::TenantRates::SERVE_DEFAULT.writes.burst)]
    pub tenant_write_burst: u32,
    /// Runs each tenant may start by hand a minute (Run now, re-runs, each
    /// backfilled time); beyond, 429 with Retry-After. 0: no limit.
    #[arg(long, env = "HKS_TENANT_RUN_STARTS_PER_MINUTE", default_value_t = hks_app::TenantRates::SERVE_DEFAULT.run_starts.per_minute)]
    pub tenant_run_starts_per_minute: u32,
    /// Runs each tenant may start at once before the per-minute rate applies.
    #[arg(long, env = "HKS_TENANT_RUN_START_BURST", default_value_t = hks_app::TenantRates::SERVE_DEFAULT.run_starts.burst)]
    pub tenant_run_start_burst: u32,
    /// An address range (CIDR such as `10.20.0.0/16`, or one address) that
    /// alert webhooks may be sent to besides public addresses; repeat it, or
    /// separate ranges with commas. Without it, webhooks to loopback,
    /// private, link-local and other non-public addresses are refused: any
    /// range allowed here is reachable by every tenant's webhooks.
    #[arg(
        long = "webhook-allow-cidr",
        env = "HKS_WEBHOOK_ALLOW_CIDRS",
        value_name = "CIDR",
        value_delimiter = ',',
        value_parser = address_range
    )]
    pub webhook_allow_cidrs: Vec<IpNet>,
    /// The SMTP server that sends alert emails: `smtp://HOST[:PORT]` (no
    /// TLS, port 25: a relay on a trusted network), `smtp://HOST[:PORT]?tls=required`
    /// (STARTTLS, port 587) or `smtps://HOST[:PORT]` (TLS, port 465). It is
    /// the installation's own: HKS connects to it as named, without the
    /// address rules of tenants' webhooks. Without it, email destinations
    /// are refused.
    #[arg(long, env = "HKS_SMTP_URL", value_name = "URL")]
    pub smtp_url: Option<String>,
    /// The sender of alert emails, `alerts@example.com` or
    /// `HKS <alerts@example.com>`; its domain is also the right part of
    /// each message's Message-ID.
    #[arg(
        long,
        env = "HKS_SMTP_FROM",
        value_name = "ADDRESS",
        requires = "smtp_url"
    )]
    pub smtp_from: Option<String>,
    /// The user name HKS logs in to the SMTP server with (with a password;
    /// only over TLS).
    #[arg(long, env = "HKS_SMTP_USERNAME", requires = "smtp_url")]
    pub smtp_username: Option<String>,
    /// The SMTP password; prefer `--smtp-password-file`. Never logged.
    #[arg(
        long,
        env = "HKS_SMTP_PASSWORD",
        hide_env_values = true,
        requires = "smtp_username"
    )]
    pub smtp_password: Option<SecretString>,
    /// A file holding the SMTP password (a mounted Secret, say).
    #[arg(
        long,
        env = "HKS_SMTP_PASSWORD_FILE",
        conflicts_with = "smtp_password",
        requires = "smtp_username"
    )]
    pub smtp_password_file: Option<PathBuf>,
    /// Set up a demo tenant on the cluster of this kubeconfig (once) and print its token.
    #[arg(long, env = "HKS_DEMO_KUBECONFIG")]
    pub demo_kubeconfig: Option<PathBuf>,
    /// Put the demo tenant in this vCluster of the `--demo-kubeconfig`
    /// cluster instead (host namespace `vcluster-NAME`, Secret `vc-NAME`), as
    /// `./dev/run` does. A demo tenant that exists on another cluster is
    /// moved (its old objects are cleaned up).
    #[arg(
        long,
        env = "HKS_DEMO_VCLUSTER",
        value_name = "NAME",
        requires = "demo_kubeconfig"
    )]
    pub demo_vcluster: Option<String>,
    /// The vCluster's API as HKS reaches it (replaces the server of the
    /// kubeconfig in `vc-NAME`), e.g. `hksc vcluster server NAME`.
    #[arg(
        long,
        env = "HKS_DEMO_VCLUSTER_SERVER",
        value_name = "URL",
        requires = "demo_vcluster"
    )]
    pub demo_vcluster_server: Option<String>,
}

/// A CIDR range, or one address (a range of one).
fn address_range(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| {
            format!("`{text}` is neither a CIDR range such as 10.20.0.0/16 nor an address")
        })
}

/// The installation's SMTP server for alert emails, if it names one.
fn email(args: &ServeArgs) -> anyhow::Result<Option<hks_alerting::Email>> {
    let Some(url) = &args.smtp_url else {
        return Ok(None);
    };
    let password = match (&args.smtp_password, &args.smtp_password_file) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(file)) => Some(
            std::fs::read_to_string(file)
                .with_context(|| format!("cannot read the SMTP password file {}", file.display()))?
                .trim_end_matches(['\r', '\n'])
                .to_owned()
                .into(),
        ),
        (None, None) => None,
    };
    let settings = hks_alerting::SmtpSettings {
        url: url.clone(),
        from: args.smtp_from.clone().unwrap_or_default(),
        username: args.smtp_username.clone(),
        password,
    };
    // The error names the flag and what is wrong, never the password.
    let email = hks_alerting::Email::new(&settings, hks_alerting::worker::DEFAULT_TIMEOUT)?;
    Ok(Some(email))
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    Json,
    Text,
}

/// Reads a secret from `file`, or generates one with `make` and writes it there (mode 0600).
fn secret_file(
    file: &Path,
    make: impl FnOnce() -> anyhow::Result<String>,
) -> anyhow::Result<SecretString> {
    if let Ok(text) = std::fs::read_to_string(file) {
        return Ok(text.trim().to_owned().into());
    }
    let value = make()?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    use std::io::Write;
    options
        .open(file)
        .and_then(|mut f| f.write_all(value.as_bytes()))
        .with_context(|| format!("cannot write {}", file.display()))?;
    Ok(value.into())
}

/// The database `--database` names, else `<data-dir>/hks.db`.
fn database(args: &ServeArgs) -> Database {
    match &args.database {
        Some(d) if !d.expose_secret().trim().is_empty() => Database::parse(d.expose_secret()),
        _ => Database::Sqlite(args.data_dir.join("hks.db")),
    }
}

/// The installation's keys. A key is never generated for a database that
/// exists: a new key could not read what the old one sealed, so a missing
/// key file stops the start instead.
fn encryption_keys(args: &ServeArgs) -> anyhow::Result<KeyRing> {
    let default_file = args.data_dir.join("encryption.key");
    let text = match (&args.encryption_key, &args.encryption_key_file) {
        (Some(k), _) => k.clone(),
        (None, Some(file)) => std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the encryption key file {}", file.display()))?
            .trim()
            .to_owned()
            .into(),
        (None, None) => {
            // A PostgreSQL database may exist too, but cannot be seen from
            // here: a key generated for it is refused at the open
            // (StoreError::WrongKey), before anything is read or written.
            let database = match database(args) {
                Database::Sqlite(path) => path,
                Database::Postgres(_) => PathBuf::new(),
            };
            if database.is_file() && !default_file.exists() {
                anyhow::bail!(
                    "{} exists but its encryption key {} does not: restore the key file, or give the key with --encryption-key-file or HKS_ENCRYPTION_KEY (a new key could not read the stored credentials)",
                    database.display(),
                    default_file.display()
                );
            }
            secret_file(&default_file, || {
                Ok(EncryptionKey::generate()?
                    .to_base64()
                    .expose_secret()
                    .to_owned())
            })?
        }
    };
    let current = EncryptionKey::from_base64(text.expose_secret())
        .context("the encryption key must be 32 bytes in base64")?;
    let previous = args
        .previous_encryption_keys
        .iter()
        .map(|k| EncryptionKey::from_base64(k.expose_secret()))
        .collect::<Result<Vec<_>, _>>()
        .context("--previous-encryption-keys: each must be 32 bytes in base64")?;
    Ok(KeyRing::new(current, previous))
}

pub fn init_logging(format: LogFormat) {
    // kube-client logs every failed connection attempt of a watch at ERROR;
    // the gateway logs the loss of a tenant's watch once instead.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn,kube=warn,kube_runtime=warn,kube_client::client::builder=off,tower_http=info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create {}", args.data_dir.display()))?;
    let keys = encryption_keys(&args)?;
    let admin = match &args.admin_token {
        Some(t) => t.clone(),
        None => {
            let path = args.data_dir.join("admin.token");
            let t = secret_file(&path, || {
                Ok(hks_store::new_token()?.expose_secret().to_owned())
            })?;
            info!(path = %path.display(), "Admin token is in this file.");
            t
        }
    };
    let database = database(&args);
    // Display leaves out the URL's password.
    info!(%database, "Opening the database.");
    let store = Store::connect(&database, keys)
        .await
        .with_context(|| format!("cannot open the database {database}"))?;
    use hks_controller::run_metrics;
    use metrics_exporter_prometheus::Matcher;
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(run_metrics::START_DELAY.into()),
            run_metrics::START_DELAY_BUCKETS,
        )
        .and_then(|b| {
            b.set_buckets_for_metric(
                Matcher::Full(run_metrics::DURATION.into()),
                run_metrics::DURATION_BUCKETS,
            )
        })
        .context("cannot set the metrics' buckets")?
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    let gateway = Arc::new(KubeGateway::new(Settings {
        connect_timeout: Duration::from_secs(args.cluster_connect_timeout),
        max_cached_objects: args.max_cached_objects.max(1),
        ..Settings::default()
    }));
    hks_core::formats::image_reference(&args.invoke_image)
        .map_err(|reason| anyhow::anyhow!("--invoke-image: the image reference {reason}"))?;
    let targets = TargetPolicy::allowing(args.webhook_allow_cidrs.iter().copied());
    if !targets.allowed().is_empty() {
        let ranges: Vec<String> = targets.allowed().iter().map(ToString::to_string).collect();
        info!(ranges = %ranges.join(","), "Alert webhooks may also go to these address ranges.");
    }
    let email = email(&args)?;
    if let Some(e) = &email {
        info!(server = %e.describe(), "Alert emails go through this SMTP server.");
    }
    let replica = args
        .replica_id
        .clone()
        .filter(|r| !r.trim().is_empty())
        .unwrap_or_else(hks_store::ownership::default_replica);
    // SQLite: one process owns every tenant. PostgreSQL: each replica
    // holds the locks of its share of the tenants.
    let ownership = hks_store::ownership::Ownership::for_store(&store, replica);
    info!(replica = %ownership.replica(), every_tenant = ownership.owns_all(), "This replica's background work.");
    let owning = ownership.spawn(
        store.clone(),
        hks_store::ownership::Settings {
            interval: Duration::from_secs(args.ownership_seconds.max(1)),
            ..hks_store::ownership::Settings::default()
        },
    );
    let service = hks_app::App::with_invoke_image(store, gateway, args.invoke_image.clone())
        .with_ownership(ownership.clone())
        .with_webhook_targets(targets.clone())
        .with_email(email.clone())
        .with_tenant_rates(hks_app::TenantRates {
            writes: hks_app::Rate {
                per_minute: args.tenant_writes_per_minute,
                burst: args.tenant_write_burst,
            },
            run_starts: hks_app::Rate {
                per_minute: args.tenant_run_starts_per_minute,
                burst: args.tenant_run_start_burst,
            },
        });
    info!(installation = %service.installation(), "Labelling what HKS creates in tenants' clusters with this installation.");
    let state = AppState::of(service.clone(), Some(&admin), Some(metrics)).with_http_limits(
        hks_api::HttpLimits {
            request_timeout: Duration::from_secs(args.request_timeout_seconds.max(1)),
            max_concurrent_requests: args.max_concurrent_requests.max(1),
            max_body_bytes: args.max_body_bytes.max(4096),
            max_follows_per_tenant: args.max_follows_per_tenant.max(1),
            max_follows: args.max_follows.max(1),
            ..hks_api::HttpLimits::default()
        },
    );

    let demo = match &args.demo_kubeconfig {
        Some(kubeconfig) => {
            let place = crate::demo::Place {
                kubeconfig,
                vcluster: args.demo_vcluster.as_deref(),
                server: args.demo_vcluster_server.as_deref(),
            };
            let who = crate::demo::tenant(&service, &place, &args.data_dir)
                .await
                .context("cannot set up the demo tenant")?;
            Some(crate::demo::spawn_content(service.clone(), who))
        }
        None => None,
    };
    let isolation = hks_controller::Isolation {
        concurrency: args.tenant_concurrency.max(1),
        timeout: Duration::from_secs(args.tenant_timeout_seconds.max(1)),
    };
    let reconciler = hks_controller::reconciler::spawn(
        service.clone(),
        Duration::from_secs(args.reconcile_seconds.max(5)),
        isolation,
    );
    // Same interval as the reconciler: a deleted tenant's CronJobs stop
    // within one pass.
    let retirement = hks_controller::retirement::spawn(
        service.clone(),
        Duration::from_secs(args.reconcile_seconds.max(5)),
    );
    let recorder = hks_controller::recorder::spawn(
        service.clone(),
        hks_controller::Settings {
            log_cap_bytes: args.log_cap_bytes.max(4096),
            retention: hks_history::retention::Retention {
                max_runs: Some(args.history_max_runs.max(1)),
                max_age_days: Some(args.history_max_age_days.max(1)),
            },
            alerts_max_per_cronjob: args.alerts_max_per_cronjob.max(1),
            isolation,
            ..hks_controller::Settings::default()
        },
    );
    // Alert deliveries wait in the store, so those pending at a restart go out now.
    let deliveries = hks_alerting::Worker::new(
        state.store().clone(),
        hks_alerting::Settings {
            targets,
            email,
            ..hks_alerting::Settings::default()
        },
    )
    .context("cannot start the alert delivery worker")?
    .with_ownership(ownership)
    .spawn();
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    info!(address = %args.listen, "HKS is serving.");
    let store = state.store().clone();
    let console = args.console_dir.join("index.html").is_file();
    if console {
        info!(dir = %args.console_dir.display(), "Serving the console.");
    } else {
        info!(dir = %args.console_dir.display(), "No console build found; serving the API only.");
    }
    let follows = state.clone();
    let app = hks_api::app(state, console.then_some(args.console_dir.as_path()));
    // A graceful shutdown waits for open responses: followed logs are
    // ended, or a log followed for hours would keep HKS from stopping.
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown().await;
            follows.shut_down();
        })
        .await?;
    reconciler.abort();
    retirement.abort();
    recorder.abort();
    deliveries.abort();
    // Last of the background work: its locks are freed with it.
    owning.abort();
    if let Some(d) = demo {
        d.abort();
    }
    store.close().await;
    info!("HKS stopped.");
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn allowed(args: &[&str]) -> Result<Vec<String>, clap::Error> {
        let cli = Cli::try_parse_from(std::iter::once("serve").chain(args.iter().copied()))?;
        Ok(cli
            .serve
            .webhook_allow_cidrs
            .iter()
            .map(ToString::to_string)
            .collect())
    }

    #[test]
    fn webhook_allow_cidrs() {
        assert_eq!(allowed(&[]).unwrap(), Vec::<String>::new());
        assert_eq!(
            allowed(&[
                "--webhook-allow-cidr",
                "127.0.0.0/8",
                "--webhook-allow-cidr",
                "10.20.0.0/16, fd00::/8",
                "--webhook-allow-cidr=192.168.1.5",
            ])
            .unwrap(),
            ["127.0.0.0/8", "10.20.0.0/16", "fd00::/8", "192.168.1.5/32"]
        );
        for bad in ["localhost", "10.0.0.0/33", ""] {
            assert!(allowed(&["--webhook-allow-cidr", bad]).is_err(), "{bad}");
        }
    }

    fn database_of(args: &[&str]) -> String {
        let cli =
            Cli::try_parse_from(std::iter::once("serve").chain(args.iter().copied())).unwrap();
        super::database(&cli.serve).to_string()
    }

    /// `--database` takes a PostgreSQL URL or a SQLite path; without it the
    /// SQLite file in the data directory, as before. The URL shows without
    /// its password.
    #[test]
    fn database_flag() {
        assert_eq!(
            database_of(&["--data-dir", "/var/lib/hks"]),
            "/var/lib/hks/hks.db"
        );
        assert_eq!(
            database_of(&["--database", "/srv/other.db"]),
            "/srv/other.db"
        );
        let shown = database_of(&["--database", "postgres://hks:s3cr3t@db.internal:5432/hks"]);
        assert_eq!(shown, "postgres://hks:redacted@db.internal:5432/hks");
        let shown = database_of(&[
            "--database",
            "postgresql://hks@db/hks?password=s3cr3t&sslmode=require",
        ]);
        assert!(
            !shown.contains("s3cr3t") && shown.contains("sslmode=require"),
            "{shown}"
        );
    }

    fn smtp(args: &[&str]) -> anyhow::Result<Option<String>> {
        let cli = Cli::try_parse_from(std::iter::once("serve").chain(args.iter().copied()))?;
        Ok(email(&cli.serve)?.map(|e| e.describe()))
    }

    #[test]
    fn smtp_settings() {
        assert_eq!(smtp(&[]).unwrap(), None);
        assert_eq!(
            smtp(&[
                "--smtp-url",
                "smtp://127.0.0.1:2525",
                "--smtp-from",
                "alerts@example.com"
            ])
            .unwrap()
            .as_deref(),
            Some("127.0.0.1:2525 (no TLS)")
        );
        let dir = std::env::temp_dir().join(format!("hks-smtp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("password");
        std::fs::write(&file, "Pa55-in-a-file\n").unwrap();
        let file = file.to_str().unwrap();
        let ok = smtp(&[
            "--smtp-url",
            "smtps://mail.example.com",
            "--smtp-from",
            "HKS <alerts@example.com>",
            "--smtp-username",
            "hks",
            "--smtp-password-file",
            file,
        ]);
        assert_eq!(ok.unwrap().as_deref(), Some("mail.example.com:465 (TLS)"));
        // Credentials only over TLS; the error does not show them.
        let clear = smtp(&[
            "--smtp-url",
            "smtp://mail.example.com",
            "--smtp-from",
            "alerts@example.com",
            "--smtp-username",
            "hks",
            "--smtp-password-file",
            file,
        ])
        .unwrap_err();
        assert!(format!("{clear:#}").contains("in clear"), "{clear:#}");
        assert!(!format!("{clear:#?}").contains("Pa55"));
        // A sender is needed; flags without a server make no sense.
        assert!(smtp(&["--smtp-url", "smtp://mail.example.com"]).is_err());
        assert!(smtp(&["--smtp-from", "alerts@example.com"]).is_err());
        assert!(
            smtp(&[
                "--smtp-url",
                "smtp://u:p@mail.example.com",
                "--smtp-from",
                "a@example.com"
            ])
            .is_err()
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
