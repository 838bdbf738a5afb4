//! Helpers for the tests that prove the development cluster (`dev/cluster`,
//! brought up by `dev/cluster/hksc up`) is a real Kubernetes.
//!
//! The tests talk to the cluster the way HKS will: through the apiserver with
//! kube-rs. Each test works in a namespace of its own, made by
//! [`with_namespace`] and deleted after the test whether it passed or not.
//! Pods use the images `dev/cluster/images/build` imports into the node, with
//! `imagePullPolicy: Never`: there is no registry.
//!
//! The cluster is found through `HKS_KUBECONFIG` only (`hks_testkit`'s
//! guard): a test never falls back to whatever cluster a used machine has.

use std::future::Future;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use k8s_openapi::api::core::v1::{Namespace, Pod, ServiceAccount};
use kube::api::{Api, DeleteParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

/// The base image: busybox, with a shell and an HTTP client.
pub const BUSYBOX_IMAGE: &str = "hks.local/busybox:1";
/// The demo web service (`hks-demo web`), answering on port 8080.
pub const DEMO_WEB_IMAGE: &str = "hks.local/demo-web:1";

/// The cluster's pod and service address ranges (dev/cluster/hksc).
pub const POD_CIDR: &str = "10.244.0.0/16";
pub const SERVICE_CIDR: &str = "10.96.0.0/16";

/// A client for the development cluster, as its administrator, or `None`
/// after the shared guard skipped the test (`hks_testkit::cluster_path`:
/// under `CI=true` a missing cluster fails instead).
pub async fn client() -> Result<Option<Client>> {
    let Some(path) = hks_testkit::cluster_path() else {
        return Ok(None);
    };
    let kubeconfig = Kubeconfig::read_from(&path).with_context(|| {
        format!(
            "reading the cluster's kubeconfig {} (is the cluster up? dev/cluster/hksc up)",
            path.display()
        )
    })?;
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
    Ok(Some(Client::try_from(config)?))
}

/// A vCluster of the development cluster (made if missing) and a client for
/// its own API, or `None` after the shared guard skipped the test.
pub async fn vcluster(name: &str) -> Result<Option<(hks_testkit::Vcluster, Client)>> {
    let Some(vc) = hks_testkit::vcluster(name) else {
        return Ok(None);
    };
    let client = client_of(&vc.kubeconfig).await?;
    Ok(Some((vc, client)))
}

/// A client for the cluster a kubeconfig (YAML) names.
pub async fn client_of(kubeconfig: &str) -> Result<Client> {
    let kubeconfig = Kubeconfig::from_yaml(kubeconfig)?;
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
    Ok(Client::try_from(config)?)
}

/// Runs `test` in a fresh namespace named after `prefix`, then deletes the
/// namespace (and with it everything the test made), whatever the outcome.
pub async fn with_namespace<F, Fut>(prefix: &str, test: F) -> Result<()>
where
    F: FnOnce(Client, String) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let Some(client) = client().await? else {
        return Ok(());
    };
    with_namespace_on(client, prefix, test).await
}

/// Like [`with_namespace`], on the cluster `client` talks to (a vCluster).
pub async fn with_namespace_on<F, Fut>(client: Client, prefix: &str, test: F) -> Result<()>
where
    F: FnOnce(Client, String) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let mut ns: Namespace = serde_json::from_value(serde_json::json!({
        "metadata": {
            "generateName": format!("hks-test-{prefix}-"),
            "labels": {"hks.dev/test": prefix},
        }
    }))?;
    ns = namespaces.create(&PostParams::default(), &ns).await?;
    let name = ns.metadata.name.context("namespace without a name")?;
    let outcome = async {
        wait_for_default_service_account(&client, &name).await?;
        test(client.clone(), name.clone()).await
    }
    .await;
    let deleted = namespaces
        .delete(&name, &DeleteParams::background())
        .await
        .map(|_| ());
    outcome?;
    deleted.with_context(|| format!("deleting namespace {name}"))
}

/// Pods cannot be created in a namespace before the controller-manager has
/// given it its `default` ServiceAccount.
async fn wait_for_default_service_account(client: &Client, ns: &str) -> Result<()> {
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    poll(
        Duration::from_secs(30),
        "the default ServiceAccount",
        || async { Ok(accounts.get_opt("default").await?.map(|_| ())) },
    )
    .await
}

/// Calls `check` every 100 ms until it returns `Some`, or fails after
/// `limit`.
pub async fn poll<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        if start.elapsed() > limit {
            bail!("timed out after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A pod that runs `script` with busybox's shell once (restartPolicy Never).
pub fn busybox_pod(name: &str, script: &str) -> Result<Pod> {
    Ok(serde_json::from_value(serde_json::json!({
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 1,
            "containers": [{
                "name": "main",
                "image": BUSYBOX_IMAGE,
                "imagePullPolicy": "Never",
                "command": ["/bin/sh", "-c", script],
            }],
        }
    }))?)
}

/// Like [`busybox_pod`], with the capability `NET_ADMIN`: the pod may give
/// itself addresses and routes (as software in a pod could if allowed).
pub fn net_admin_pod(name: &str, script: &str) -> Result<Pod> {
    let mut pod: serde_json::Value = serde_json::to_value(busybox_pod(name, script)?)?;
    pod["spec"]["containers"][0]["securityContext"] =
        serde_json::json!({"capabilities": {"add": ["NET_ADMIN"]}});
    Ok(serde_json::from_value(pod)?)
}

/// Waits until the pod has finished and returns its phase, `Succeeded` or
/// `Failed`.
pub async fn wait_pod_finished(pods: &Api<Pod>, name: &str, limit: Duration) -> Result<String> {
    poll(limit, &format!("pod {name} to finish"), || async {
        let pod = pods.get(name).await?;
        let phase = pod.status.and_then(|s| s.phase).unwrap_or_default();
        Ok(matches!(phase.as_str(), "Succeeded" | "Failed").then_some(phase))
    })
    .await
}

/// Runs a command on this host (the node) and returns its standard output.
/// The containment test reads the node's rules and routes with it.
pub fn host_command(program: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("running {program}"))?;
    if !out.status.success() {
        bail!(
            "{program} {}: {}: {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// The packet count of the rule of the containment chain (mangle table,
/// `HKS-CONTAIN`) whose comment is `comment`.
pub fn containment_rule_packets(comment: &str) -> Result<u64> {
    rule_packets("iptables", comment)
}

/// Like [`containment_rule_packets`], for the IPv6 chain (`ip6tables`): the
/// sum over its rules with that comment.
pub fn containment_rule_packets_v6(comment: &str) -> Result<u64> {
    rule_packets("ip6tables", comment)
}

fn rule_packets(program: &str, comment: &str) -> Result<u64> {
    let listing = host_command(
        program,
        &["-w", "-t", "mangle", "-L", "HKS-CONTAIN", "-n", "-v", "-x"],
    )?;
    let marker = format!("/* {comment} */");
    let mut total = None;
    for line in listing.lines().filter(|l| l.contains(&marker)) {
        let packets: u64 = line
            .split_whitespace()
            .next()
            .context("empty rule line")?
            .parse()?;
        total = Some(total.unwrap_or(0) + packets);
    }
    total.with_context(|| format!("no rule {comment} in {program}'s HKS-CONTAIN:\n{listing}"))
}
