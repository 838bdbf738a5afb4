//! The `hks` binary as people and scripts use it: `hks schedule` exactly as
//! the README's "Schedules from the command line" promises (no server), and
//! `hks alerts` against a real `hks serve` this test starts on 127.0.0.1,
//! with a webhook receiver of its own (the server needs a tenant cluster to
//! create a project in: the development cluster), and two `hks serve`
//! replicas on one PostgreSQL database (`hks_testkit::postgres`) sharing
//! the tenants' background work.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How a run of `hks` ended.
#[derive(Debug)]
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    #[track_caller]
    fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "{self:#?}");
        self
    }
}

/// The `hks` command with none of its variables inherited from the caller.
fn command(env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hks"));
    for var in [
        "HKS_TOKEN",
        "HKS_PROJECT",
        "HKS_SERVER",
        "HKS_WEBHOOK_SECRET",
        "HKS_LISTEN",
        "HKS_DATA_DIR",
        "HKS_ADMIN_TOKEN",
        "HKS_ENCRYPTION_KEY",
        "HKS_ENCRYPTION_KEY_FILE",
        "HKS_PREVIOUS_ENCRYPTION_KEYS",
        "HKS_DEMO_KUBECONFIG",
        "HKS_CONSOLE_DIR",
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "all_proxy",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    cmd
}

fn hks_with(env: &[(&str, &str)], args: &[&str]) -> Out {
    let out = command(env)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Out {
        code: out.status.code().expect("hks was killed by a signal"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn hks(args: &[&str]) -> Out {
    hks_with(&[], args)
}

// ---- hks schedule ----

#[test]
fn schedule_check_accepts_a_valid_schedule_with_status_0() {
    let out = hks(&[
        "schedule",
        "check",
        "0 9 * * MON-FRI",
        "--tz",
        "Europe/Berlin",
    ]);
    out.assert_code(0);
    assert_eq!(
        out.stdout,
        "At 09:00, Monday through Friday (Europe/Berlin)\n"
    );
    assert_eq!(out.stderr, "");
    // The zone defaults to UTC.
    let out = hks(&["schedule", "describe", "@daily"]);
    out.assert_code(0);
    assert_eq!(out.stdout, "At 00:00 (UTC)\n");
    // H takes its values from the CronJob named with --for, as HKS
    // chooses them for it; without one it cannot be read.
    let out = hks(&[
        "schedule",
        "describe",
        "--for",
        "shop/nightly",
        "H H(1-5) * * *",
    ]);
    out.assert_code(0);
    assert_eq!(out.stdout, "runs as: 45 2 * * *\nAt 02:45 (UTC)\n");
    hks(&["schedule", "check", "H * * * *"]).assert_code(1);
    // Warnings are printed, and do not fail the check.
    let out = hks(&["schedule", "check", "*/2 * * * *"]);
    out.assert_code(0);
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("warning: This runs as often as every 2 minutes")),
        "{out:#?}"
    );
}

#[test]
fn schedule_rejects_a_bad_schedule_or_zone_with_status_1() {
    for sub in ["check", "next", "describe"] {
        let out = hks(&["schedule", sub, "61 * * * *"]);
        out.assert_code(1);
        assert_eq!(
            out.stdout, "error: schedule: minute \"61\": 61 is outside 0-59\n",
            "{sub}"
        );
        let out = hks(&["schedule", sub, "0 9 * * *", "--tz", "Mars/Olympus_Mons"]);
        out.assert_code(1);
        assert!(
            out.stdout
                .starts_with("error: time zone: unknown time zone Mars/Olympus_Mons"),
            "{sub}: {out:#?}"
        );
        // A quirk Kubernetes accepts and HKS refuses is rejected too.
        hks(&["schedule", sub, "@every 5m"]).assert_code(1);
    }
}

#[test]
fn schedule_next_lists_5_runs_by_default_and_at_most_100() {
    let from = ["--from", "2025-01-01T00:00:00Z"];
    let out = hks(&[&["schedule", "next", "@hourly"][..], &from].concat());
    out.assert_code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "2025-01-01T01:00:00Z  2025-01-01T01:00:00+00:00",
            "2025-01-01T02:00:00Z  2025-01-01T02:00:00+00:00",
            "2025-01-01T03:00:00Z  2025-01-01T03:00:00+00:00",
            "2025-01-01T04:00:00Z  2025-01-01T04:00:00+00:00",
            "2025-01-01T05:00:00Z  2025-01-01T05:00:00+00:00",
        ]
    );
    // --from defaults to now: five runs in the future.
    let out = hks(&["schedule", "next", "--json", "* * * * *"]);
    out.assert_code(0);
    let runs = out.json()["runs"].as_array().unwrap().clone();
    assert_eq!(runs.len(), 5);
    let now = jiff::Timestamp::now();
    for r in &runs {
        let at: jiff::Timestamp = r.as_str().unwrap().parse().unwrap();
        assert!(
            at > now
                .checked_sub(jiff::SignedDuration::from_secs(60))
                .unwrap()
        );
    }

    let out = hks(&[
        &["schedule", "next", "--json", "--count", "100", "@hourly"][..],
        &from,
    ]
    .concat());
    out.assert_code(0);
    let json = out.json();
    assert_eq!(json["runs"].as_array().unwrap().len(), 100);
    assert_eq!(json["nextRuns"].as_array().unwrap().len(), 100);
    assert_eq!(json["runs"][99], "2025-01-05T04:00:00Z");

    // Above the limit (or below 1) is a usage error: status 2, nothing on stdout.
    for count in ["101", "0", "1000"] {
        let out = hks(&["schedule", "next", "--count", count, "@hourly"]);
        out.assert_code(2);
        assert_eq!(out.stdout, "");
        assert!(
            out.stderr
                .contains(&format!("invalid value '{count}' for '--count <COUNT>'")),
            "{out:#?}"
        );
        assert!(out.stderr.contains("1..=100"), "{out:#?}");
    }
}

/// The README's first example: the repeated hour of a fall-back day, run twice.
#[test]
fn schedule_next_shows_a_repeated_hour_as_the_readme_says() {
    let out = hks(&[
        "schedule",
        "next",
        "--tz",
        "America/New_York",
        "--from",
        "2025-11-01T12:00:00Z",
        "--count",
        "2",
        "30 1 * * *",
    ]);
    out.assert_code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{out:#?}");
    for (line, (utc, local, n)) in lines.iter().zip([
        ("2025-11-02T05:30:00Z", "2025-11-02T01:30:00-04:00", 1),
        ("2025-11-02T06:30:00Z", "2025-11-02T01:30:00-05:00", 2),
    ]) {
        let head = format!("{utc}  {local}  (01:30 happens twice on this day ");
        assert!(
            line.starts_with(&head),
            "{line:?} does not start with {head:?}"
        );
        let tail = format!(": this is run {n} of 2)");
        assert!(line.ends_with(&tail), "{line:?} does not end with {tail:?}");
    }
    // And the warning about it.
    assert!(
        lines[2].starts_with("warning: Daylight saving time in America/New_York:")
            && lines[2]
                .contains("runs twice at 2025-11-02 01:30 and 2026-11-01 01:30 (clocks go back)"),
        "{out:#?}"
    );
    // The same with --json: the note, as the README's table says.
    let out = hks(&[
        "schedule",
        "next",
        "--json",
        "--tz",
        "America/New_York",
        "--from",
        "2025-11-01T12:00:00Z",
        "--count",
        "2",
        "30 1 * * *",
    ]);
    out.assert_code(0);
    let json = out.json();
    for (i, run) in json["nextRuns"].as_array().unwrap().iter().enumerate() {
        let note = &run["note"];
        assert_eq!(note["kind"], "repeated", "{run}");
        assert_eq!(note["occurrence"], i + 1, "{run}");
        assert!(note["message"].as_str().unwrap().contains("happens twice"));
    }
    assert_eq!(json["warnings"][0]["code"], "dst");
}

/// The README's JSON example, and the type of every key of its table.
#[test]
fn schedule_json_has_the_readme_shape() {
    let out = hks(&[
        "schedule",
        "next",
        "--json",
        "--tz",
        "Europe/Berlin",
        "--from",
        "2025-01-01T00:00:00Z",
        "--count",
        "2",
        "0 9 * * MON-FRI",
    ]);
    out.assert_code(0);
    let json = out.json();
    assert_eq!(
        json,
        serde_json::json!({
            "valid": true, "schedule": "0 9 * * MON-FRI", "timeZone": "Europe/Berlin",
            "description": "At 09:00, Monday through Friday (Europe/Berlin)",
            "preset": {"kind": "weekly", "days": ["MON", "TUE", "WED", "THU", "FRI"], "hour": 9, "minute": 0},
            "nextRuns": [
                {"at": "2025-01-01T08:00:00Z", "local": "2025-01-01T09:00:00+01:00"},
                {"at": "2025-01-02T08:00:00Z", "local": "2025-01-02T09:00:00+01:00"}
            ],
            "skipped": [], "warnings": [], "errors": [],
            "runs": ["2025-01-01T08:00:00Z", "2025-01-02T08:00:00Z"]
        })
    );

    // Every subcommand prints one object with the table's keys; `runs` is `next`'s only.
    for sub in ["check", "describe", "next"] {
        let out = hks(&[
            "schedule",
            sub,
            "--json",
            "--tz",
            "America/New_York",
            "--from",
            "2025-03-07T00:00:00Z",
            "30 2 * * *",
        ]);
        out.assert_code(0);
        let j = out.json();
        assert_eq!(j["valid"], true, "{sub}");
        assert!(
            j["schedule"].is_string() && j["timeZone"].is_string(),
            "{sub}"
        );
        assert!(j["description"].is_string(), "{sub}");
        assert_eq!(
            j["preset"],
            serde_json::json!({"kind": "daily", "hour": 2, "minute": 30})
        );
        for key in ["nextRuns", "skipped", "warnings", "errors"] {
            assert!(j[key].is_array(), "{sub}: {key} in {j}");
        }
        let w = &j["warnings"][0];
        assert!(w["code"] == "dst" && w["message"].is_string(), "{sub}: {j}");
        if sub == "next" {
            let runs = j["runs"].as_array().unwrap();
            assert_eq!(runs.len(), 5);
            // 7 and 8 March, then 10 March (EDT) onwards.
            assert_eq!(runs[1], "2025-03-08T07:30:00Z");
            assert_eq!(runs[2], "2025-03-10T06:30:00Z");
            assert!(
                runs.iter()
                    .all(|r| r.as_str().is_some_and(|s| s.ends_with('Z')))
            );
            // 9 March 2025, 02:30 does not exist in New York: it is skipped.
            let skipped = &j["skipped"][0];
            assert!(
                skipped["wallTime"]
                    .as_str()
                    .unwrap()
                    .starts_with("2025-03-09"),
                "{j}"
            );
            assert!(skipped["message"].is_string(), "{j}");
            for r in j["nextRuns"].as_array().unwrap() {
                assert!(r["at"].is_string() && r["local"].is_string(), "{r}");
            }
        } else {
            assert!(j.get("runs").is_none(), "{sub}: {j}");
            assert_eq!(j["nextRuns"], serde_json::json!([]), "{sub}");
        }
    }

    // A rejected schedule and zone: status 1, every error with its fields.
    let out = hks(&[
        "schedule",
        "check",
        "--json",
        "--tz",
        "Mars/Olympus_Mons",
        "*/90 * * * *",
    ]);
    out.assert_code(1);
    let j = out.json();
    assert_eq!(j["valid"], false);
    assert!(
        j.get("description").is_none() && j.get("preset").is_none(),
        "{j}"
    );
    let errors = j["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{j}");
    let (s, z) = (&errors[0], &errors[1]);
    assert_eq!(
        (
            &s["input"],
            &s["cronField"],
            &s["code"],
            &s["kubernetesAccepts"]
        ),
        (
            &Value::from("schedule"),
            &Value::from("minute"),
            &Value::from("useless_step"),
            &Value::from(true)
        ),
        "{s}"
    );
    assert!(s["message"].as_str().unwrap().contains("*/90"), "{s}");
    assert_eq!(
        (&z["input"], &z["code"], &z["kubernetesAccepts"]),
        (
            &Value::from("timeZone"),
            &Value::from("time_zone_unknown"),
            &Value::from(false)
        ),
        "{z}"
    );
    assert!(z.get("cronField").is_none(), "{z}");
}

// ---- hks alerts, against a real server ----

/// Removes a directory when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!("hks-{what}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const ADMIN: &str = "admin-token-of-the-cli-test";

/// A `hks serve` child process with its own data directory; killed when dropped.
struct Server {
    child: Child,
    base: String,
    _dir: TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `hks serve` with its data in `dir/data` and `extra` arguments, once it
/// answers `/readyz`: the child and its base URL. A port taken
/// meanwhile is retried with another.
fn launch(dir: &Path, extra: &[&std::ffi::OsStr]) -> (Child, String) {
    let log = dir.join("serve.log");
    for _ in 0..5 {
        let port = free_port();
        let mut child = command(&[("HKS_ADMIN_TOKEN", ADMIN)])
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            // The webhook receiver listens on 127.0.0.1.
            .args(["--webhook-allow-cidr", "127.0.0.0/8"])
            .arg("--data-dir")
            .arg(dir.join("data"))
            .arg("--console-dir")
            .arg(dir.join("no-console"))
            .args(["--log-format", "text", "--reconcile-seconds", "3600"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
        // Ready when /readyz answers 200; a busy machine may take long to start it.
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let text = log_text();
                if text.contains("cannot listen") {
                    break; // The port was taken meanwhile: another one.
                }
                panic!("hks serve exited with {status}:\n{text}");
            }
            if get(&base, "/readyz").is_some_and(|(s, _)| s == 200) {
                return (child, base);
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                panic!("hks serve is not ready after 120 s:\n{}", log_text());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    panic!("no free port for hks serve after 5 tries");
}

/// A port free now on 127.0.0.1 (another process may take it before the
/// server binds it: [`launch`] then tries another).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    fn start() -> Self {
        let dir = TempDir::new("serve");
        let (child, base) = launch(&dir.0, &[]);
        Server {
            child,
            base,
            _dir: dir,
        }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops the server and starts it again on the same data, with `extra`
    /// arguments.
    fn restart(&mut self, extra: &[&std::ffi::OsStr]) {
        self.stop();
        (self.child, self.base) = launch(&self._dir.0, extra);
    }

    /// `hks` against this server, with `token` (none: no token).
    fn hks(&self, token: Option<&str>, env: &[(&str, &str)], args: &[&str]) -> Out {
        let mut all = vec![("HKS_SERVER", self.base.as_str())];
        if let Some(t) = token {
            all.push(("HKS_TOKEN", t));
        }
        all.extend_from_slice(env);
        hks_with(&all, args)
    }
}

/// A plain HTTP/1.1 GET: the status and the body, or `None` if nothing answers.
fn get(base: &str, path: &str) -> Option<(u16, String)> {
    let addr = base.strip_prefix("http://").unwrap();
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())?;
    Some((status, body))
}

/// A request the webhook receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

/// A webhook receiver on 127.0.0.1 that answers every POST with `status`.
#[derive(Clone)]
struct Receiver {
    url: String,
    status: Arc<Mutex<u16>>,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let r = Receiver {
            url: format!("http://{}/hook", listener.local_addr().unwrap()),
            status: Arc::new(Mutex::new(200)),
            got: Arc::default(),
        };
        let me = r.clone();
        // The thread ends with the test process.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = me.answer(stream);
            }
        });
        r
    }

    fn answer(&self, stream: TcpStream) -> std::io::Result<()> {
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let mut headers = BTreeMap::new();
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            match line.trim_end().split_once(':') {
                Some((k, v)) => {
                    headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                }
                None => break,
            }
        }
        let len = headers
            .get("content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        reader.read_exact(&mut body)?;
        self.got.lock().unwrap().push(Received { headers, body });
        let status = *self.status.lock().unwrap();
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 {status} Status\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
    }

    fn set_status(&self, status: u16) {
        *self.status.lock().unwrap() = status;
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

/// Deletes the project (its namespace on the cluster) when dropped.
struct ProjectGuard<'a> {
    server: &'a Server,
    token: String,
    name: &'static str,
}

impl Drop for ProjectGuard<'_> {
    fn drop(&mut self) {
        let out = self
            .server
            .hks(Some(&self.token), &[], &["project", "delete", self.name]);
        if out.code != 0 {
            eprintln!("could not delete project {}: {out:?}", self.name);
        }
    }
}

const SECRET: &str = "the-webhook-secret-of-the-cli-test";

#[test]
fn alerts_cli_against_a_real_server() {
    let Some(kubeconfig) = hks_testkit::cluster_path() else {
        return;
    };
    let kubeconfig = kubeconfig.to_str().unwrap();
    let server = Server::start();
    let receiver = Receiver::start();

    // A tenant on the development cluster, its token and a project (a namespace there).
    let admin = Some(ADMIN);
    server
        .hks(
            admin,
            &[],
            &["admin", "create-tenant", "cli", "--kubeconfig", kubeconfig],
        )
        .assert_code(0);
    let out = server.hks(admin, &[], &["admin", "create-token", "cli", "ci"]);
    out.assert_code(0);
    let token = out.stdout.trim().to_owned();
    assert!(!token.is_empty());
    let out = server.hks(Some(&token), &[], &["project", "create", "alerts"]);
    out.assert_code(0);
    let _project = ProjectGuard {
        server: &server,
        token: token.clone(),
        name: "alerts",
    };
    let project = [("HKS_PROJECT", "alerts")];
    let alerts = |env: &[(&str, &str)], args: &[&str]| {
        let mut all = project.to_vec();
        all.extend_from_slice(env);
        let out = server.hks(Some(&token), &all, &[&["alerts"][..], args].concat());
        // The secret is never printed, whatever the command.
        assert!(
            !out.stdout.contains(SECRET) && !out.stderr.contains(SECRET),
            "the webhook secret was printed: {out:#?}"
        );
        out
    };

    // Nothing set yet.
    let out = alerts(&[], &["get"]);
    out.assert_code(0);
    assert!(out.stdout.contains("Source:      none\n"), "{out:#?}");
    assert!(
        out.stdout
            .contains("Destination: none (alerts are only recorded)\n"),
        "{out:#?}"
    );

    // The project's default, the secret from the environment as the README shows.
    let secret = [("HKS_WEBHOOK_SECRET", SECRET)];
    let out = alerts(
        &secret,
        &[
            "set",
            "--on-failure",
            "--on-recovery",
            "--consecutive-failures",
            "3",
            "--webhook-url",
            &receiver.url,
        ],
    );
    out.assert_code(0);
    let out = alerts(&[], &["get"]);
    out.assert_code(0);
    assert_eq!(
        out.stdout,
        format!(
            "Source:      project\nOn failure:  true\nIn a row:    3\nOn missed:   false\n\
             Longer than: -\nOn recovery: true\nWebhook:     {} (secret set)\n",
            hks_alerting::redacted_url(&receiver.url)
        ),
        "{out:#?}"
    );
    let json = alerts(&[], &["get", "--json"]);
    json.assert_code(0);
    let j = json.json();
    assert_eq!(j["source"], "project");
    assert_eq!(
        j["webhook"],
        serde_json::json!({"url": hks_alerting::redacted_url(&receiver.url), "urlSet": true, "secretSet": true})
    );
    assert_eq!(j["rules"]["consecutiveFailures"], 3);

    // A test delivery reaches the receiver, signed with the secret.
    let out = alerts(&[], &["test"]);
    out.assert_code(0);
    assert_eq!(out.stdout, "Delivered (HTTP 200).\n");
    let got = receiver.received();
    assert_eq!(got.len(), 1, "{got:?}");
    let req = &got[0];
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        (&body["kind"], &body["project"]),
        (&Value::from("test"), &Value::from("alerts")),
        "{body}"
    );
    assert!(
        req.headers
            .get("x-hks-delivery")
            .is_some_and(|d| !d.is_empty()),
        "{req:?}"
    );
    hks_history::webhook::verify(
        SECRET.as_bytes(),
        &req.headers["x-hks-signature"],
        &req.body,
        jiff::Timestamp::now(),
        jiff::SignedDuration::from_mins(10),
    )
    .unwrap_or_else(|e| panic!("the signature does not verify: {e} {req:?}"));
    assert!(!String::from_utf8_lossy(&req.body).contains(SECRET));

    // A receiver that refuses: status 1, and the CLI says why.
    receiver.set_status(500);
    let out = alerts(&[], &["test"]);
    out.assert_code(1);
    assert_eq!(out.stdout, "Not delivered: the receiver answered 500\n");
    assert!(
        out.stderr
            .contains("error: the test delivery did not reach the receiver"),
        "{out:#?}"
    );
    assert_eq!(receiver.received().len(), 2);
    receiver.set_status(200);

    // Bad settings: status 1, every field at fault named; nothing changes.
    let out = alerts(
        &[("HKS_WEBHOOK_SECRET", "too-short")],
        &[
            "set",
            "--consecutive-failures",
            "1",
            "--longer-than",
            "5",
            "--webhook-url",
            "ftp://example.com/x",
        ],
    );
    out.assert_code(1);
    for field in [
        "rules.consecutiveFailures",
        "rules.longerThanSeconds",
        "webhook.url",
        "webhook.secret",
    ] {
        assert!(
            out.stderr.contains(&format!("  {field}: ")),
            "{field} is not named: {out:#?}"
        );
    }
    assert!(!out.stderr.contains("too-short"), "{out:#?}");
    assert_eq!(out.stdout, "");
    assert_eq!(
        alerts(&[], &["get", "--json"]).json()["rules"]["consecutiveFailures"],
        3
    );

    // Leaving the secret out keeps it.
    alerts(&[], &["set", "--on-missed", "--webhook-url", &receiver.url]).assert_code(0);
    let j = alerts(&[], &["get", "--json"]).json();
    assert_eq!(
        (&j["rules"]["onMissed"], &j["webhook"]["secretSet"]),
        (&Value::from(true), &Value::from(true)),
        "{j}"
    );
    alerts(&[], &["test"]).assert_code(0);
    let got = receiver.received();
    let last = got.last().unwrap();
    hks_history::webhook::verify(
        SECRET.as_bytes(),
        &last.headers["x-hks-signature"],
        &last.body,
        jiff::Timestamp::now(),
        jiff::SignedDuration::from_mins(10),
    )
    .unwrap();

    // History: none raised yet; a limit the API refuses is named.
    let out = alerts(&[], &["history"]);
    out.assert_code(0);
    assert_eq!(out.stdout.trim_end(), "RAISED  CRONJOB  ALERT  DELIVERY");
    assert_eq!(
        alerts(&[], &["history", "--json"]).json(),
        serde_json::json!([])
    );
    let out = alerts(&[], &["history", "--limit", "500"]);
    out.assert_code(1);
    assert!(
        out.stderr.contains("limit: must be between 1 and 200"),
        "{out:#?}"
    );

    // A CronJob that does not exist, a wrong token, no token: status 1.
    let out = alerts(&[], &["get", "-c", "no-such-cronjob"]);
    out.assert_code(1);
    assert!(out.stderr.starts_with("error: "), "{out:#?}");
    let out = server.hks(Some("not-a-token"), &project, &["alerts", "get"]);
    out.assert_code(1);
    let out = server.hks(None, &project, &["alerts", "get"]);
    out.assert_code(1);
    assert!(out.stderr.contains("no API token"), "{out:#?}");

    // Delete: the project has no settings; a test has no webhook to go to.
    let out = alerts(&[], &["delete"]);
    out.assert_code(0);
    assert_eq!(out.stdout, "Removed.\n");
    assert!(alerts(&[], &["get"]).stdout.contains("Source:      none\n"));
    let before = receiver.received().len();
    let out = alerts(&[], &["test"]);
    out.assert_code(1);
    assert_eq!(receiver.received().len(), before);

    // `hks audit`: the alert changes with who made them, the secret never.
    let out = server.hks(
        Some(&token),
        &project,
        &["audit", "--action", "alerts.update"],
    );
    out.assert_code(0);
    assert!(
        out.stdout.contains("cli/ci") && out.stdout.contains("project/alerts"),
        "{out:#?}"
    );
    assert!(out.stdout.contains("webhook.secret changed"), "{out:#?}");
    assert!(!out.stdout.contains(SECRET), "{out:#?}");
    let out = server.hks(
        Some(&token),
        &[],
        &["audit", "--all", "--target", "token/", "--json"],
    );
    out.assert_code(0);
    let page = out.json();
    assert_eq!(page["entries"][0]["target"], "token/ci", "{page}");
    assert_eq!(page["entries"][0]["actor"], "admin", "{page}");
    let out = server.hks(Some(&token), &[], &["audit"]);
    out.assert_code(1);
    assert!(out.stderr.contains("--all"), "{out:#?}");

    // The server's /metrics (as `hks serve` sets it up) counted these
    // requests by route pattern.
    let (status, metrics) = get(&server.base, "/metrics").unwrap();
    assert_eq!(status, 200);
    for line in [
        "route=\"/api/v1/projects/{project}/alerts\"",
        "route=\"/api/v1/projects/{project}/alerts/test\"",
        "hks_http_request_duration_seconds_count{",
    ] {
        assert!(metrics.contains(line), "{line} is not in\n{metrics}");
    }
    assert!(!metrics.contains("/projects/alerts"), "{metrics}");
}

/// A database without its encryption key is never given a new key (which
/// could not read the stored credentials): the start is refused, and the
/// key can come from a file outside the data directory.
#[test]
fn serve_refuses_a_database_without_its_key_and_reads_a_key_file() {
    let mut server = Server::start();
    server.stop();
    let data = server._dir.0.join("data");
    let key = data.join("encryption.key");
    let elsewhere = server._dir.0.join("secrets-key");
    std::fs::rename(&key, &elsewhere).unwrap();
    // `hks serve` on that data, expected to stop at once: its stderr.
    let refused = |env: &[(&str, &str)]| {
        let out = command(env)
            .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "text"])
            .arg("--data-dir")
            .arg(&data)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "it started: {stderr}");
        stderr
    };

    let stderr = refused(&[("HKS_ADMIN_TOKEN", ADMIN)]);
    assert!(
        stderr.contains("exists but its encryption key")
            && stderr.contains("--encryption-key-file"),
        "{stderr}"
    );
    assert!(!key.exists(), "no new key may be written");

    // Another key is refused too: the database says which key it needs.
    let other = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let stderr = refused(&[("HKS_ADMIN_TOKEN", ADMIN), ("HKS_ENCRYPTION_KEY", other)]);
    assert!(
        stderr.contains("not the one this database was written with"),
        "{stderr}"
    );

    // With its key from the file elsewhere, it starts (`restart` waits for
    // /readyz, and fails the test otherwise).
    server.restart(&["--encryption-key-file".as_ref(), elsewhere.as_os_str()]);
    assert!(!key.exists(), "the key stays where it was given");
}

// ---- hks export, diff and apply (issue 18) ----

/// `hks` in `dir`, with `env`.
fn hks_in(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Out {
    let out = command(env)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Out {
        code: out.status.code().expect("hks was killed by a signal"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// The workflow the README shows, as a pipeline runs it: export a project,
/// diff the file against another project, apply it there with the webhook's
/// values from the environment and a file, export that project again (the
/// same bytes), apply again (nothing to change), edit and diff, and a file
/// with a secret in it refused. The server is the API over an in-memory
/// store and the fake cluster, on a loopback port: `hks serve` needs a real
/// cluster to make a project in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_diff_and_apply_as_a_pipeline_runs_them() {
    use serde_json::json;
    let app = hks_testkit::app::TestApp::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let token = app.tenant("cli").await.token;
    app.project(&token, "shop").await;
    app.application(
        &token,
        "shop",
        json!({"name": "web", "type": "stateless", "spec": {"image": "ghcr.io/acme/web:1.4", "port": 8080,
            "env": [{"name": "DATABASE_URL", "secret": {"name": "db", "key": "url"}}]}}),
    )
    .await;
    app.cronjob(
        &token,
        "shop",
        json!({"name": "report", "spec": {"schedule": "0 3 * * *", "timeZone": "Europe/Berlin",
            "template": {"application": "web", "mode": "follow"}, "command": {"argv": ["./report"], "shell": true}}}),
    )
    .await;
    app.put(
        "/api/v1/projects/shop/cronjobs/report/alerts",
        &token,
        json!({"rules": {"onFailure": true}, "webhook": {"url": "http://127.0.0.1:9/hook", "secret": SECRET}}),
    )
    .await
    .expect_status(axum::http::StatusCode::OK);
    app.project(&token, "copy").await;

    let dir = TempDir::new("projectfile");
    let base_env = [("HKS_SERVER", base.as_str()), ("HKS_TOKEN", token.as_str())];
    let run = |env: &[(&str, &str)], args: &[&str]| {
        let mut all = base_env.to_vec();
        all.extend_from_slice(env);
        let out = hks_in(&dir.0, &all, args);
        assert!(
            !out.stdout.contains(SECRET) && !out.stderr.contains(SECRET),
            "a secret was printed: {out:#?}"
        );
        out
    };

    // Export: to a file, or to standard output, the same bytes.
    run(&[], &["export", "-p", "shop", "-o", "hks.yaml"]).assert_code(0);
    let file = std::fs::read_to_string(dir.0.join("hks.yaml")).unwrap();
    assert_eq!(run(&[], &["export", "-p", "shop"]).stdout, file);
    assert!(
        file.contains("fromEnv: HKS_ALERTS_REPORT_WEBHOOK_SECRET"),
        "{file}"
    );

    // The webhook's values: the URL from the environment, the secret from
    // a file (the file says where; the command reads it).
    let file = file.replace(
        "fromEnv: HKS_ALERTS_REPORT_WEBHOOK_SECRET",
        "fromFile: hook.secret",
    );
    std::fs::write(dir.0.join("hks.yaml"), &file).unwrap();
    std::fs::write(dir.0.join("hook.secret"), format!("{SECRET}\n")).unwrap();
    let url = [("HKS_ALERTS_REPORT_WEBHOOK_URL", "http://127.0.0.1:9/hook")];
    let copy = ["-p", "copy", "-f", "hks.yaml"];

    // Without the URL: the note says so, the server names the path and place.
    let out = run(&[], &[&["diff"][..], &copy].concat());
    out.assert_code(1);
    assert!(
        out.stderr
            .contains("note: cronjobs.report.alerts.webhook.url: {fromEnv: HKS_ALERTS_REPORT_WEBHOOK_URL} is not set"),
        "{out:#?}"
    );
    assert!(
        out.stderr
            .contains("cronjobs.report.alerts.webhook.url (line "),
        "{out:#?}"
    );

    // The preview: what would be created, field by field; nothing is.
    let out = run(&url, &[&["diff"][..], &copy].concat());
    out.assert_code(0);
    assert!(
        out.stdout.starts_with("+ stateless.web (create)\n"),
        "{out:#?}"
    );
    assert!(
        out.stdout.contains("+ cronjobs.report (create)\n"),
        "{out:#?}"
    );
    assert!(
        out.stdout.contains("    schedule: \"0 3 * * *\"\n"),
        "{out:#?}"
    );
    assert!(
        out.stdout
            .ends_with("3 to create, 0 to change, 0 to delete (nothing was changed)\n"),
        "{out:#?}"
    );
    run(&url, &[&["diff", "--exit-code"][..], &copy].concat()).assert_code(2);
    assert!(
        run(&[], &["export", "-p", "copy"])
            .stdout
            .ends_with("version: 1\n")
    );

    // Apply, then the copy exports as the file.
    let out = run(&url, &[&["apply"][..], &copy].concat());
    out.assert_code(0);
    assert!(
        out.stdout.ends_with("3 created, 0 changed, 0 deleted\n"),
        "{out:#?}"
    );
    assert_eq!(run(&[], &["export", "-p", "copy"]).stdout, file);

    // Again: nothing to change, and it says so.
    let out = run(&url, &[&["apply"][..], &copy].concat());
    out.assert_code(0);
    assert_eq!(
        out.stdout,
        "nothing to change: the project matches the file\n"
    );
    run(&url, &[&["diff", "--exit-code"][..], &copy].concat()).assert_code(0);

    // An edit: that field, before and after.
    std::fs::write(
        dir.0.join("hks.yaml"),
        file.replace("schedule: 0 3 * * *", "schedule: 0 4 * * *"),
    )
    .unwrap();
    let out = run(&url, &[&["apply", "--dry-run"][..], &copy].concat());
    out.assert_code(0);
    assert_eq!(
        out.stdout,
        "~ cronjobs.report (change)\n    schedule: \"0 3 * * *\" -> \"0 4 * * *\"\n\
         0 to create, 1 to change, 0 to delete (nothing was changed)\n"
    );

    // A secret written into the file: refused with its place, nothing changed.
    let mut lines: Vec<String> = file.lines().map(str::to_owned).collect();
    let at = lines
        .iter()
        .position(|l| l.trim() == "fromFile: hook.secret")
        .unwrap();
    lines[at - 1] = format!("{} {SECRET}", lines[at - 1]);
    lines.remove(at);
    let inline = lines.join("\n") + "\n";
    std::fs::write(dir.0.join("bad.yaml"), &inline).unwrap();
    let out = run(&url, &["apply", "-p", "copy", "-f", "bad.yaml"]);
    out.assert_code(1);
    assert!(
        out.stderr
            .contains("cronjobs.report.alerts.webhook.secret (line "),
        "{out:#?}"
    );
    assert_eq!(run(&[], &["export", "-p", "copy"]).stdout, file);
}

// ---- replicas on PostgreSQL (issue 14) ----

/// `hks_owned_tenants` on a server's `/metrics`, if it is there yet.
fn owned_tenants(base: &str) -> Option<u64> {
    let (status, body) = get(base, "/metrics")?;
    (status == 200).then_some(())?;
    body.lines()
        .find_map(|l| l.strip_prefix("hks_owned_tenants "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|v| v as u64)
}

/// Two `hks serve` replicas on one PostgreSQL database split its tenants'
/// background work, say so in `hks_owned_tenants`, and when one is killed
/// (SIGKILL) the other takes every tenant within its ownership interval.
/// The tenants' clusters are 127.0.0.1:1, which refuses at once: nothing
/// leaves the machine.
#[test]
fn two_serve_replicas_on_postgresql_split_the_tenants_and_take_over_a_killed_one() {
    let Some(db) = hks_testkit::postgres::database() else {
        return;
    };
    let key = hks_store::EncryptionKey::generate().unwrap().to_base64();
    let key = secrecy::ExposeSecret::expose_secret(&key).to_owned();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let keys = hks_store::KeyRing::new(
            hks_store::EncryptionKey::from_base64(&key).unwrap(),
            vec![],
        );
        let store = hks_store::Store::connect(&hks_store::Database::parse(&db.url()), keys)
            .await
            .unwrap();
        let cluster: hks_core::tenant::ClusterConnection = serde_json::from_value(serde_json::json!({
            "kind": "kubeconfig",
            "kubeconfig": "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n",
        }))
        .unwrap();
        for i in 0..6 {
            store.create_tenant(&format!("t{i}"), &cluster).await.unwrap();
        }
        store.close().await;
    });
    let url = db.url();
    let start = |name: &str| {
        let dir = TempDir::new(name);
        let extra: Vec<&std::ffi::OsStr> = vec![
            "--database".as_ref(),
            url.as_ref(),
            "--encryption-key".as_ref(),
            key.as_ref(),
            "--replica-id".as_ref(),
            name.as_ref(),
            "--ownership-seconds".as_ref(),
            "1".as_ref(),
        ];
        let (child, base) = launch(&dir.0, &extra);
        Server {
            child,
            base,
            _dir: dir,
        }
    };
    let mut a = start("replica-a");
    let b = start("replica-b");
    let split = Instant::now();
    loop {
        let (na, nb) = (owned_tenants(&a.base), owned_tenants(&b.base));
        if na == Some(3) && nb == Some(3) {
            break;
        }
        assert!(
            split.elapsed() < Duration::from_secs(120),
            "no 3/3 split: {na:?} {nb:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("split 3/3 after {:?}", split.elapsed());
    a.stop();
    let killed = Instant::now();
    while owned_tenants(&b.base) != Some(6) {
        assert!(
            killed.elapsed() < Duration::from_secs(60),
            "the survivor did not take the tenants over"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "took over after {:?} (--ownership-seconds 1)",
        killed.elapsed()
    );
}
