//! A tenant's vCluster on the development cluster (`hksc vcluster`) is a
//! real virtual cluster: its own API and controllers, Jobs that exist only
//! in it, pods that vCluster's syncer runs on the host under translated
//! names, logs through the virtual API; the host's network containment and
//! Pod Security hold for those pods; and one vCluster's credentials see
//! nothing of another's.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, ensure};
use hks_devcluster_tests::{
    BUSYBOX_IMAGE, busybox_pod, client, client_of, containment_rule_packets, poll, vcluster,
    wait_pod_finished, with_namespace, with_namespace_on,
};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event, Namespace, Pod};
use kube::api::{Api, ListParams, LogParams, PostParams};

/// The vClusters these tests use (shared with HKS's own vCluster tests,
/// each test in namespaces of its own).
const VC_A: &str = "hks-a";
const VC_B: &str = "hks-b";

fn echo_job(name: &str) -> Result<Job> {
    Ok(serde_json::from_value(serde_json::json!({
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": 0,
            "template": {"spec": {
                "restartPolicy": "Never",
                "terminationGracePeriodSeconds": 1,
                "containers": [{
                    "name": "echo", "image": BUSYBOX_IMAGE, "imagePullPolicy": "Never",
                    "command": ["echo", "hello"],
                    "securityContext": {"allowPrivilegeEscalation": false},
                }],
            }},
        }
    }))?)
}

/// Creates an `echo hello` Job and waits until it has succeeded: the time
/// that took.
async fn job_to_succeeded(jobs: &Api<Job>, name: &str) -> Result<Duration> {
    let start = Instant::now();
    jobs.create(&PostParams::default(), &echo_job(name)?)
        .await?;
    poll(
        Duration::from_secs(120),
        &format!("Job {name} to succeed"),
        || async {
            let job = jobs.get(name).await?;
            Ok(job.status.and_then(|s| s.succeeded).filter(|n| *n >= 1))
        },
    )
    .await?;
    Ok(start.elapsed())
}

/// The host pod vCluster's syncer made for the virtual pod `pod` of
/// namespace `ns` (its translated name: `<pod>-x-<namespace>-x-<vcluster>`).
fn translated(pod: &str, ns: &str, vc: &str) -> String {
    format!("{pod}-x-{ns}-x-{vc}")
}

#[tokio::test]
async fn a_job_in_a_vcluster_runs_as_a_pod_on_the_host_and_its_log_reads_through_the_virtual_api()
-> Result<()> {
    let Some((vc, virt)) = vcluster(VC_A).await? else {
        return Ok(());
    };
    let host = client().await?.context("the host cluster")?;
    with_namespace_on(virt, "vc-job", |virt, ns| async move {
        let jobs: Api<Job> = Api::namespaced(virt.clone(), &ns);
        let in_vcluster = job_to_succeeded(&jobs, "hello").await?;

        // The Job exists only in the virtual cluster; its pod runs on the
        // host, in the vCluster's namespace, under its translated name.
        let host_jobs: Api<Job> = Api::all(host.clone());
        let on_host = host_jobs
            .list(&ListParams::default().fields("metadata.name=hello"))
            .await?;
        ensure!(
            on_host.items.iter().all(|j| j.metadata.namespace.as_deref() != Some(&ns)),
            "the virtual Job is on the host"
        );
        let pods: Api<Pod> = Api::namespaced(virt.clone(), &ns);
        let pod = pods
            .list(&ListParams::default().labels("batch.kubernetes.io/job-name=hello"))
            .await?
            .items
            .into_iter()
            .next()
            .context("the Job's pod in the virtual cluster")?;
        let pod_name = pod.metadata.name.context("a pod without a name")?;
        let host_pods: Api<Pod> = Api::namespaced(host.clone(), &vc.namespace);
        let host_pod = host_pods
            .get_opt(&translated(&pod_name, &ns, &vc.name))
            .await?
            .with_context(|| format!("no host pod for virtual pod {ns}/{pod_name}"))?;
        ensure!(
            host_pod.status.and_then(|s| s.phase).as_deref() == Some("Succeeded"),
            "the host pod did not succeed"
        );

        // Its log, through the virtual API (the syncer asks the host's kubelet).
        let log = pods.logs(&pod_name, &LogParams::default()).await?;
        ensure!(log == "hello\n", "the log through the virtual API: {log:?}");

        // The same Job on the host, in the same run, for comparison.
        let on_host = with_host_job().await?;
        eprintln!(
            "measure: Job created to Succeeded, echo hello: in vCluster {:.2} s, on the host {:.2} s",
            in_vcluster.as_secs_f64(),
            on_host.as_secs_f64()
        );
        Ok(())
    })
    .await
}

async fn with_host_job() -> Result<Duration> {
    let mut took = Duration::ZERO;
    with_namespace("host-job", |host, ns| {
        let took = &mut took;
        async move {
            *took = job_to_succeeded(&Api::namespaced(host, &ns), "hello").await?;
            Ok(())
        }
    })
    .await?;
    Ok(took)
}

#[tokio::test]
async fn pods_the_syncer_creates_are_contained_and_held_to_baseline() -> Result<()> {
    let Some((vc, virt)) = vcluster(VC_B).await? else {
        return Ok(());
    };
    let host = client().await?.context("the host cluster")?;
    with_namespace_on(virt, "vc-contain", |virt, ns| async move {
        let pods: Api<Pod> = Api::namespaced(virt.clone(), &ns);
        // A packet toward an outside address from a synced pod is dropped
        // by the node's containment, as from any pod.
        let before = containment_rule_packets("hks-containment:pod-to-outside")?;
        pods.create(
            &PostParams::default(),
            &busybox_pod("ping", "ping -c 1 -W 2 192.0.2.1")?,
        )
        .await?;
        let phase = wait_pod_finished(&pods, "ping", Duration::from_secs(180)).await?;
        let log = pods.logs("ping", &LogParams::default()).await?;
        let after = containment_rule_packets("hks-containment:pod-to-outside")?;
        ensure!(
            log.contains("1 packets transmitted, 0 packets received"),
            "the probe got through ({phase}):\n{log}"
        );
        ensure!(
            after > before,
            "the drop rule did not count the synced pod's packet ({before} -> {after})"
        );

        // A tenant is admin of its vCluster, and its virtual namespaces
        // enforce nothing: a pod that mounts the host's root is accepted
        // there. The host namespace enforces Pod Security's baseline on
        // what the syncer creates, so it never runs on the node.
        let mut escape = busybox_pod("escape", "cat /host/etc/shadow")?;
        let mut v = serde_json::to_value(&escape)?;
        v["spec"]["volumes"] = serde_json::json!([{"name": "root", "hostPath": {"path": "/"}}]);
        v["spec"]["containers"][0]["volumeMounts"] =
            serde_json::json!([{"name": "root", "mountPath": "/host"}]);
        escape = serde_json::from_value(v)?;
        pods.create(&PostParams::default(), &escape).await?;
        let events: Api<Event> = Api::namespaced(virt.clone(), &ns);
        let refusal = poll(Duration::from_secs(120), "the syncer's refusal", || async {
            let list = events
                .list(&ListParams::default().fields("involvedObject.name=escape"))
                .await?;
            Ok(list.items.into_iter().find_map(|e| {
                e.message
                    .filter(|m| m.contains("PodSecurity") || m.contains("hostPath"))
            }))
        })
        .await?;
        eprintln!("the syncer's refusal: {refusal}");
        let host_pods: Api<Pod> = Api::namespaced(host.clone(), &vc.namespace);
        ensure!(
            host_pods
                .get_opt(&translated("escape", &ns, &vc.name))
                .await?
                .is_none(),
            "a hostPath pod of the tenant runs on the host"
        );
        let phase = pods
            .get("escape")
            .await?
            .status
            .and_then(|s| s.phase)
            .unwrap_or_default();
        ensure!(phase == "Pending", "the refused pod is {phase}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn one_vclusters_credentials_see_nothing_of_another() -> Result<()> {
    let Some((vc_a, a)) = vcluster(VC_A).await? else {
        return Ok(());
    };
    let Some((vc_b, b)) = vcluster(VC_B).await? else {
        return Ok(());
    };
    with_namespace_on(a.clone(), "vc-mine", |a, ns_a| async move {
        with_namespace_on(b.clone(), "vc-theirs", |b, ns_b| async move {
            // Each sees its own namespace only.
            let names = |c: kube::Client| async move {
                let list = Api::<Namespace>::all(c)
                    .list(&ListParams::default())
                    .await?;
                Ok::<_, anyhow::Error>(
                    list.items
                        .into_iter()
                        .filter_map(|n| n.metadata.name)
                        .collect::<Vec<_>>(),
                )
            };
            let seen_by_a = names(a.clone()).await?;
            let seen_by_b = names(b.clone()).await?;
            ensure!(
                seen_by_a.contains(&ns_a) && !seen_by_a.contains(&ns_b),
                "A sees {seen_by_a:?}"
            );
            ensure!(
                seen_by_b.contains(&ns_b) && !seen_by_b.contains(&ns_a),
                "B sees {seen_by_b:?}"
            );
            // Neither sees the host's namespaces (its own control plane's included).
            ensure!(
                !seen_by_a.iter().any(|n| n.starts_with("vcluster-")),
                "A sees host namespaces: {seen_by_a:?}"
            );
            // A's kubeconfig pointed at B's API is refused (another CA,
            // another client certificate authority).
            let crossed = vc_a.kubeconfig.replace(&vc_a.server, &vc_b.server);
            let refused = match client_of(&crossed).await {
                Ok(c) => Api::<Namespace>::all(c)
                    .list(&ListParams::default())
                    .await
                    .is_err(),
                Err(_) => true,
            };
            ensure!(refused, "A's credentials list B's namespaces");
            Ok(())
        })
        .await
    })
    .await
}
