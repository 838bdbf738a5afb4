//! What every test crate shares: the one guard for tests that need something
//! real that may be missing (the development cluster, a program), and HKS in
//! a test (the `app` feature).
//!
//! A test that needs such a dependency asks [`require`] (or [`cluster`]) for
//! it. Where the dependency is there, the test runs. Where it is missing:
//! - under `CI=true`, or when `HKS_REQUIRE_DEPENDENCIES=1` (which `./dev/test`
//!   sets after it started the cluster), the test **fails**, naming what is
//!   missing: a suite that should have run it must not pass without it;
//! - elsewhere (a developer's `cargo test` without a cluster) the test is
//!   skipped **visibly**: a `SKIPPED` line goes straight to the process's
//!   standard error, past libtest's output capture, so `cargo test` shows it
//!   even for a test that passes.
//!
//! There is no third way: a test never returns early silently.
//!
//! With the `app` feature, [`app`] is HKS in a test: the one harness the
//! API's, the recorder's and the binary's tests start HKS with, call it
//! through and read its replies with. With the `smtp` feature, [`smtp`] is
//! a small SMTP receiver on 127.0.0.1 for the tests of email alerts; with
//! the `postgres` feature, [`postgres`] is a throwaway PostgreSQL server
//! with a fresh database per test, for the store's tests.

use std::io::Write as _;

#[cfg(feature = "app")]
pub mod app;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "smtp")]
pub mod smtp;

/// The environment variable that names the development cluster's admin
/// kubeconfig (set by `./dev/test` after `dev/cluster/hksc up`).
pub const KUBECONFIG_VAR: &str = "HKS_KUBECONFIG";

/// Set by `./dev/test`: every dependency must be present.
pub const REQUIRE_VAR: &str = "HKS_REQUIRE_DEPENDENCIES";

/// Whether a missing dependency must fail the test rather than skip it.
pub fn strict() -> bool {
    let on = |var: &str| {
        std::env::var(var)
            .map(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
            .unwrap_or(false)
    };
    on("CI") || on(REQUIRE_VAR)
}

/// The value of the environment variable `var`, which names a dependency
/// described by `what` (for the message), or `None` after a visible skip.
///
/// # Panics
/// When the variable is unset or empty and [`strict`] holds.
pub fn require(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Some(v),
        _ => {
            missing(&format!("{var} is unset: {what}"));
            None
        }
    }
}

/// Reports a missing dependency: a panic under [`strict`], else a visible skip.
///
/// # Panics
/// When [`strict`] holds.
pub fn missing(reason: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("<unnamed test>")
        .to_owned();
    assert!(
        !strict(),
        "{test}: {reason} (CI=true or {REQUIRE_VAR}=1: a missing dependency fails the test)"
    );
    // Straight to the process's stderr: libtest captures `eprintln!` of a
    // passing test, and a skip must be seen.
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "SKIPPED {test}: {reason}");
}

/// The development cluster's admin kubeconfig (its YAML text), or `None`
/// after a visible skip. `./dev/test` starts the cluster and sets
/// `HKS_KUBECONFIG`; run `dev/cluster/hksc up` and export
/// `HKS_KUBECONFIG=$(dev/cluster/hksc kubeconfig --path)` to run these tests
/// by hand.
///
/// # Panics
/// When the cluster is required and missing, or the file cannot be read.
pub fn cluster() -> Option<String> {
    let path = require(
        KUBECONFIG_VAR,
        "this test needs the development cluster (./dev/test starts it and sets it)",
    )?;
    Some(std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{KUBECONFIG_VAR}={path}: {e}")))
}

/// Like [`cluster`], but the path of the kubeconfig.
///
/// # Panics
/// As [`cluster`].
pub fn cluster_path() -> Option<std::path::PathBuf> {
    let path = require(
        KUBECONFIG_VAR,
        "this test needs the development cluster (./dev/test starts it and sets it)",
    )?;
    let path = std::path::PathBuf::from(path);
    assert!(
        path.is_file(),
        "{KUBECONFIG_VAR}={}: no such file",
        path.display()
    );
    Some(path)
}

/// A vCluster on the development cluster (`dev/cluster/hksc vcluster`).
#[derive(Debug, Clone)]
pub struct Vcluster {
    pub name: String,
    /// Its namespace on the host cluster, `vcluster-<name>`, which holds its
    /// control plane, its Secret `vc-<name>` and the pods it syncs.
    pub namespace: String,
    /// Its API as host processes reach it (a NodePort on loopback).
    pub server: String,
    /// The host cluster's admin kubeconfig (YAML).
    pub host_kubeconfig: String,
    /// vCluster's own kubeconfig (from `vc-<name>`), pointed at `server`.
    pub kubeconfig: String,
}

/// `dev/cluster/hksc`, from this crate's place in the repository.
pub fn hksc() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dev/cluster/hksc")
}

/// The vCluster `name` on the development cluster, created if it is missing
/// (`hksc vcluster create`, under a lock, so tests of several binaries that
/// share a vCluster create it once), or `None` after a visible skip.
///
/// # Panics
/// When the cluster is required and missing, or the vCluster cannot be made.
pub fn vcluster(name: &str) -> Option<Vcluster> {
    let host_kubeconfig = cluster()?;
    let hksc = hksc();
    let lock = std::env::temp_dir().join(format!("hks-vcluster-{name}.lock"));
    let created = std::process::Command::new("flock")
        .arg(&lock)
        .arg(&hksc)
        .args(["vcluster", "create", name])
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", hksc.display()));
    assert!(created.success(), "hksc vcluster create {name} failed");
    let out = |what: &str| {
        let o = std::process::Command::new(&hksc)
            .args(["vcluster", what, name])
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", hksc.display()));
        assert!(o.status.success(), "hksc vcluster {what} {name} failed");
        String::from_utf8(o.stdout).expect("hksc prints text")
    };
    Some(Vcluster {
        name: name.to_owned(),
        namespace: format!("vcluster-{name}"),
        server: out("server").trim().to_owned(),
        host_kubeconfig,
        kubeconfig: out("kubeconfig"),
    })
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    /// Runs the `probe` test below in a child process of this test binary,
    /// with the guard's variables as given and the cluster's unset.
    fn run_probe(env: &[(&str, &str)]) -> std::process::Output {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args(["--ignored", "--exact", "tests::probe", "--test-threads=1"]);
        for var in ["CI", super::REQUIRE_VAR, super::KUBECONFIG_VAR] {
            cmd.env_remove(var);
        }
        cmd.envs(env.iter().copied());
        cmd.output().unwrap()
    }

    #[test]
    #[ignore = "a child process of the guard's own tests, not a test by itself"]
    fn probe() {
        // HKS_KUBECONFIG is removed: the guard panics (strict) or skips.
        assert!(super::cluster().is_none());
    }

    #[test]
    fn a_missing_cluster_fails_under_ci() {
        for env in [[("CI", "true")], [("CI", "1")], [(super::REQUIRE_VAR, "1")]] {
            let out = run_probe(&env);
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(!out.status.success(), "{env:?}: {stdout}");
            assert!(
                stdout.contains("HKS_KUBECONFIG is unset"),
                "{env:?}: {stdout}"
            );
        }
    }

    #[test]
    fn a_missing_cluster_is_skipped_visibly_elsewhere() {
        for env in [&[][..], &[("CI", "false")][..], &[("CI", "")][..]] {
            let out = run_probe(env);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{env:?}: {stderr}");
            assert!(
                stderr.contains("SKIPPED tests::probe: HKS_KUBECONFIG is unset"),
                "{env:?}: {stderr}"
            );
        }
    }
}
