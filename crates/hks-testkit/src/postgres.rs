//! A throwaway PostgreSQL server for the store's tests: Debian's binaries
//! (`/usr/lib/postgresql/<version>/bin`: `initdb`, `pg_ctl`, `createdb`)
//! make a cluster in a new temporary directory and start it listening on a
//! Unix socket in that directory only (`listen_addresses=''`: no TCP port,
//! nothing another process could reach by mistake). Each test gets a fresh
//! database on it ([`database`]), so tests run in parallel on one server.
//!
//! The server is stopped and its directory removed when its [`Server`] is
//! dropped; the one that [`database`] shares among a test binary's tests
//! lives as long as the process, and a watchdog started with every server
//! (a shell loop that waits for the test process to end) stops it and
//! removes its directory then, even when the process was killed.
//!
//! When the binaries are missing, [`Server::start`] and [`database`] go
//! through [`crate::missing`]: the test fails under `CI=true` or
//! `HKS_REQUIRE_DEPENDENCIES=1` (`./dev/test`), and is skipped visibly
//! elsewhere. `dev/install-postgres` installs Debian's `postgresql`.
//! PostgreSQL refuses to run as root: as root, every PostgreSQL program runs
//! as the `postgres` user the Debian package creates (`runuser`).

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Overrides where PostgreSQL's programs are (a directory with `initdb`,
/// `pg_ctl` and `createdb`); by default the newest
/// `/usr/lib/postgresql/*/bin`.
pub const BIN_DIR_VAR: &str = "HKS_POSTGRES_BIN_DIR";

/// A running throwaway PostgreSQL server.
#[derive(Debug)]
pub struct Server {
    bin: PathBuf,
    /// The temporary directory: the cluster's data in `data`, the socket,
    /// the server's log in `log`.
    dir: PathBuf,
    /// Whether the programs run as `postgres` (this process is root).
    as_postgres: bool,
    databases: AtomicUsize,
}

/// One test's database on a [`Server`].
#[derive(Debug)]
pub struct Database {
    server: &'static Server,
    name: String,
}

impl Database {
    /// The URL to connect with (user `postgres`, no password: the socket
    /// is reachable only through the server's private directory).
    pub fn url(&self) -> String {
        self.server.url(&self.name)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn server(&self) -> &Server {
        self.server
    }
}

/// A fresh database on the test binary's shared server (started on first
/// use), or `None` after a visible skip.
///
/// # Panics
/// When PostgreSQL is missing and [`crate::strict`] holds, or it cannot
/// be started.
pub fn database() -> Option<Database> {
    static SHARED: OnceLock<Option<Server>> = OnceLock::new();
    let server = SHARED.get_or_init(Server::start).as_ref()?;
    Some(Database {
        server,
        name: server.create_database(),
    })
}

fn bin_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var(BIN_DIR_VAR)
        && !dir.trim().is_empty()
    {
        return Some(PathBuf::from(dir));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

impl Server {
    /// Makes and starts a server of its own (for a test that reads the
    /// server's files), or `None` after a visible skip.
    ///
    /// # Panics
    /// When PostgreSQL is missing and [`crate::strict`] holds, or it cannot
    /// be started.
    pub fn start() -> Option<Self> {
        let Some(bin) = bin_dir().filter(|b| b.join("pg_ctl").is_file()) else {
            crate::missing(&format!(
                "PostgreSQL's programs are not installed (no /usr/lib/postgresql/*/bin/initdb, nor {BIN_DIR_VAR}): run dev/install-postgres (Debian's postgresql)"
            ));
            return None;
        };
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "hks-postgres-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let as_postgres = std::fs::metadata(&dir).map(|m| m.uid()).unwrap_or(1) == 0;
        let server = Self {
            bin,
            dir,
            as_postgres,
            databases: AtomicUsize::new(0),
        };
        if as_postgres {
            server.check(
                Command::new("chown")
                    .args(["postgres:postgres"])
                    .arg(&server.dir),
            );
        }
        server.watchdog();
        let data = server.data_dir();
        server.check(
            server
                .program("initdb")
                .arg("-D")
                .arg(&data)
                .args([
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-locale",
                ])
                .arg("--no-sync")
                .arg("--no-instructions"),
        );
        // Only the socket in the directory; no durability (a test's data is
        // thrown away), room for every test's pools.
        let options = format!(
            "-c listen_addresses='' -k {} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
            server.dir.display()
        );
        server.check(
            server
                .program("pg_ctl")
                .arg("start")
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(server.dir.join("log"))
                .args(["-w", "-t", "60", "-o", &options]),
        );
        Some(server)
    }

    /// The cluster's data directory (what PostgreSQL writes to disk).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The URL of database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        let host: String =
            url::form_urlencoded::byte_serialize(self.dir.to_string_lossy().as_bytes()).collect();
        format!("postgres://postgres@localhost/{name}?host={host}")
    }

    /// Creates a new, empty database; says its name.
    ///
    /// # Panics
    /// When `createdb` fails.
    pub fn create_database(&self) -> String {
        let name = format!(
            "hks_test_{}",
            self.databases.fetch_add(1, Ordering::Relaxed)
        );
        self.check(
            self.program("createdb")
                .arg("-h")
                .arg(&self.dir)
                .args(["-U", "postgres", &name]),
        );
        name
    }

    /// A PostgreSQL program, as `postgres` when this process is root.
    fn program(&self, name: &str) -> Command {
        let path = self.bin.join(name);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    /// Runs `cmd` to its end; panics with its output when it fails.
    fn check(&self, cmd: &mut Command) {
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
        let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
        assert!(
            out.status.success(),
            "{cmd:?} failed: {}{}\nserver log:\n{log}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `pg_ctl stop`, as a shell command line.
    fn stop_command(&self) -> String {
        let pg_ctl = self.bin.join("pg_ctl");
        let stop = format!(
            "'{}' stop -D '{}' -m immediate -w",
            pg_ctl.display(),
            self.data_dir().display()
        );
        if self.as_postgres {
            format!("runuser -u postgres -- {stop}")
        } else {
            stop
        }
    }

    /// Stops the server and removes its directory once this process has
    /// ended, however it ended.
    #[expect(
        clippy::zombie_processes,
        reason = "the watchdog outlives this process by design: it waits for it to end"
    )]
    fn watchdog(&self) {
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; if [ -d '{dir}' ]; then {stop}; rm -rf '{dir}'; fi",
            pid = std::process::id(),
            dir = self.dir.display(),
            stop = self.stop_command(),
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the server's watchdog: {e}"));
    }

    /// The directory the server's files are in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("sh")
            .args(["-c", &self.stop_command()])
            .stdin(Stdio::null())
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
