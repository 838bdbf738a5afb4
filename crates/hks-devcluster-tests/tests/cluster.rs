//! The development cluster is a real Kubernetes: Jobs and CronJobs run and
//! leave their logs, Services answer by DNS name, the apiserver validates,
//! and no packet from a pod leaves the machine.
//!
//! These run against the cluster that `dev/test` brings up (dev/cluster).

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, ensure};
use hks_devcluster_tests::{
    BUSYBOX_IMAGE, DEMO_WEB_IMAGE, POD_CIDR, SERVICE_CIDR, busybox_pod, containment_rule_packets,
    containment_rule_packets_v6, host_command, net_admin_pod, poll, wait_pod_finished,
    with_namespace,
};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::api::{Api, ListParams, LogParams, PostParams};

fn job_condition(job: &Job, kind: &str) -> bool {
    job.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == kind && c.status == "True"))
}

fn echo_job_template(text: &str) -> serde_json::Value {
    serde_json::json!({
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "terminationGracePeriodSeconds": 1,
                    "containers": [{
                        "name": "echo",
                        "image": BUSYBOX_IMAGE,
                        "imagePullPolicy": "Never",
                        "command": ["echo", text],
                    }],
                }
            }
        }
    })
}

#[tokio::test]
async fn job_echo_hello_completes_and_its_log_reads_hello() -> Result<()> {
    with_namespace("job", |client, ns| async move {
        let jobs: Api<Job> = Api::namespaced(client.clone(), &ns);
        let pods: Api<Pod> = Api::namespaced(client, &ns);
        let mut job: Job = serde_json::from_value(echo_job_template("hello"))?;
        job.metadata.name = Some("echo-hello".into());

        let created = Instant::now();
        let job = jobs.create(&PostParams::default(), &job).await?;
        let uid = job.metadata.uid.context("job without uid")?;
        let selector = format!("batch.kubernetes.io/controller-uid={uid}");
        let pod = poll(
            Duration::from_secs(60),
            "the Job's pod to succeed",
            || async {
                let list = pods.list(&ListParams::default().labels(&selector)).await?;
                let done = list.items.into_iter().find(|p| {
                    p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Succeeded")
                });
                Ok(done)
            },
        )
        .await?;
        let to_succeeded = created.elapsed();
        eprintln!("echo hello: Job created to pod Succeeded in {to_succeeded:?}");

        poll(
            Duration::from_secs(30),
            "the Job to be Complete",
            || async {
                let job = jobs.get("echo-hello").await?;
                ensure!(
                    !job_condition(&job, "Failed"),
                    "the Job failed: {:?}",
                    job.status
                );
                Ok(job_condition(&job, "Complete").then_some(()))
            },
        )
        .await?;

        let name = pod.metadata.name.context("pod without a name")?;
        let log = pods.logs(&name, &LogParams::default()).await?;
        ensure!(log == "hello\n", "the pod's log reads {log:?}");
        Ok(())
    })
    .await
}

#[tokio::test]
/// The CronJob controller creates the Job of a scheduled minute, named after
/// it, and the Job completes. The ceiling is generous (a loaded machine can
/// make the controller late); what is asserted is which minute the Job is for.
async fn cronjob_every_minute_creates_the_job_of_a_scheduled_minute_that_completes() -> Result<()> {
    with_namespace("cronjob", |client, ns| async move {
        let cronjobs: Api<CronJob> = Api::namespaced(client.clone(), &ns);
        let jobs: Api<Job> = Api::namespaced(client, &ns);
        let cronjob: CronJob = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "every-minute"},
            "spec": {
                "schedule": "* * * * *",
                "timeZone": "Etc/UTC",
                "concurrencyPolicy": "Forbid",
                "jobTemplate": echo_job_template("tick"),
            }
        }))?;
        let created = Instant::now();
        let cronjob = cronjobs.create(&PostParams::default(), &cronjob).await?;
        let uid = cronjob.metadata.uid.context("cronjob without uid")?;

        let job_name = poll(
            Duration::from_secs(240),
            "the CronJob's first Job",
            || async {
                let list = jobs.list(&ListParams::default()).await?;
                Ok(list.items.into_iter().find_map(|j| {
                    let owned = j.metadata.owner_references.as_ref().is_some_and(|os| {
                        os.iter()
                            .any(|o| o.uid == uid && o.controller == Some(true))
                    });
                    owned.then(|| j.metadata.name.unwrap_or_default())
                }))
            },
        )
        .await?;
        eprintln!(
            "cronjob: Job {job_name} created {:?} after the CronJob",
            created.elapsed()
        );
        // `<cronjob>-<scheduled time in Unix minutes>`, for a minute after the
        // CronJob was made.
        let minute: i64 = job_name
            .strip_prefix("every-minute-")
            .and_then(|m| m.parse().ok())
            .with_context(|| format!("unexpected Job name {job_name}"))?;
        let made = cronjob
            .metadata
            .creation_timestamp
            .as_ref()
            .context("cronjob without creationTimestamp")?
            .0
            .as_second();
        ensure!(
            minute * 60 > made,
            "Job {job_name} is for minute {minute}, not after the CronJob's creation at {made}"
        );
        let scheduled = jobs
            .get(&job_name)
            .await?
            .metadata
            .annotations
            .unwrap_or_default()
            .remove("batch.kubernetes.io/cronjob-scheduled-timestamp")
            .context("the Job has no scheduled-timestamp annotation")?;
        let scheduled: jiff::Timestamp = scheduled.parse()?;
        ensure!(
            scheduled.as_second() == minute * 60,
            "the Job's scheduled time {scheduled} is not its name's minute {minute}"
        );

        poll(
            Duration::from_secs(60),
            "the CronJob's Job to complete",
            || async {
                let job = jobs.get(&job_name).await?;
                ensure!(
                    !job_condition(&job, "Failed"),
                    "the Job failed: {:?}",
                    job.status
                );
                Ok(job_condition(&job, "Complete").then_some(()))
            },
        )
        .await
    })
    .await
}

#[tokio::test]
async fn service_answers_by_dns_name_from_another_pod() -> Result<()> {
    with_namespace("dns", |client, ns| async move {
        let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
        let services: Api<Service> = Api::namespaced(client, &ns);
        let web: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {
                "terminationGracePeriodSeconds": 1,
                "containers": [{
                    "name": "web",
                    "image": DEMO_WEB_IMAGE,
                    "imagePullPolicy": "Never",
                    "env": [{"name": "TITLE", "value": "Hello from the web pod"}],
                    "ports": [{"containerPort": 8080}],
                    "readinessProbe": {
                        "httpGet": {"path": "/healthz", "port": 8080},
                        "periodSeconds": 1,
                    },
                }],
            }
        }))?;
        pods.create(&PostParams::default(), &web).await?;
        let service: Service = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
        }))?;
        services.create(&PostParams::default(), &service).await?;

        // The client retries while the endpoints and kube-proxy's rules
        // catch up with the new pod; each try is bounded by `timeout`
        // (busybox's own wget -T crashes).
        let url = format!("http://web.{ns}.svc.cluster.local/");
        let script = format!(
            "for i in $(seq 1 30); do \
               if timeout 3 wget -q -O - {url}; then \
                 nslookup no-such-name.example.com. 2>&1 || true; exit 0; \
               fi; sleep 1; \
             done; exit 1"
        );
        pods.create(&PostParams::default(), &busybox_pod("client", &script)?)
            .await?;
        let phase = wait_pod_finished(&pods, "client", Duration::from_secs(90)).await?;
        let log = pods.logs("client", &LogParams::default()).await?;
        ensure!(
            phase == "Succeeded",
            "the client pod {phase}; its log:\n{log}"
        );
        ensure!(
            log.contains("Hello from the web pod"),
            "the answer was not the web pod's page:\n{log}"
        );
        // Names outside the cluster get NXDOMAIN from the cluster's DNS,
        // which forwards nothing upstream.
        ensure!(
            log.contains("NXDOMAIN"),
            "an outside name did not get NXDOMAIN:\n{log}"
        );
        Ok(())
    })
    .await
}

/// Spread schedules (`H`, issue 17): every expansion HKS makes is a schedule
/// the real apiserver accepts (a dry-run create validates it fully).
#[tokio::test]
async fn apiserver_accepts_every_expansion_of_a_spread_schedule() -> Result<()> {
    with_namespace("spread", |client, ns| async move {
        let cronjobs: Api<CronJob> = Api::namespaced(client, &ns);
        let dry_run = PostParams {
            dry_run: true,
            ..PostParams::default()
        };
        for template in [
            "H * * * *",
            "H H * * *",
            "H/15 * * * *",
            "H(0-29) H(8-17) * * MON-FRI",
            "H(10-40)/10 H(0-3)/2 1 * *",
            "H(0-10)/30 */2 * * *",
            "H,H H * * SUN",
        ] {
            for i in 0..10 {
                let schedule = hks_schedule::spread::expand(template, &format!("shop/job-{i}"))
                    .map_err(|p| anyhow::anyhow!("{template}: {}", p.message))?;
                let cronjob: CronJob = serde_json::from_value(serde_json::json!({
                    "metadata": {"name": format!("spread-{i}")},
                    "spec": {"schedule": schedule, "timeZone": "Europe/Berlin",
                             "jobTemplate": echo_job_template("x")},
                }))?;
                cronjobs
                    .create(&dry_run, &cronjob)
                    .await
                    .with_context(|| format!("{template} as {schedule:?}"))?;
            }
        }
        Ok(())
    })
    .await
}

#[tokio::test]
async fn apiserver_rejects_a_cronjob_name_of_53_characters() -> Result<()> {
    with_namespace("cronjob-name", |client, ns| async move {
        let cronjobs: Api<CronJob> = Api::namespaced(client, &ns);
        let cronjob = |name: &str| -> Result<CronJob> {
            Ok(serde_json::from_value(serde_json::json!({
                "metadata": {"name": name},
                "spec": {"schedule": "0 0 * * *", "jobTemplate": echo_job_template("x")},
            }))?)
        };
        let long = "a".repeat(53);
        let err = cronjobs
            .create(&PostParams::default(), &cronjob(&long)?)
            .await
            .expect_err("a 53-character CronJob name was accepted");
        let kube::Error::Api(status) = err else {
            anyhow::bail!("expected an API error, got {err}");
        };
        ensure!(
            status.code == 422 && status.reason == "Invalid",
            "unexpected status {status:?}"
        );
        ensure!(
            status.message
                == format!(
                    "CronJob.batch \"{long}\" is invalid: metadata.name: \
                     Invalid value: \"{long}\": must be no more than 52 characters"
                ),
            "unexpected message: {}",
            status.message
        );

        // One character fewer is fine.
        let ok = "a".repeat(52);
        cronjobs
            .create(&PostParams::default(), &cronjob(&ok)?)
            .await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn no_packet_from_a_pod_leaves_the_machine() -> Result<()> {
    // The containment exists while the cluster is up: the shared guard
    // skips (or, under CI, fails) the test without it.
    if hks_testkit::cluster_path().is_none() {
        return Ok(());
    }
    // First the safeguards, read back from the node: the containment chain
    // runs first in the mangle table's FORWARD chain (before any filter rule
    // kube-proxy or CNI adds), with its rules in order; the service range
    // is unreachable; no pod traffic is masqueraded.
    let forward = host_command("iptables", &["-w", "-t", "mangle", "-S", "FORWARD"])?;
    ensure!(
        forward.lines().nth(1) == Some("-A FORWARD -j HKS-CONTAIN"),
        "the containment chain is not first in mangle FORWARD:\n{forward}"
    );
    let chain = host_command("iptables", &["-w", "-t", "mangle", "-S", "HKS-CONTAIN"])?;
    let rules: Vec<&str> = chain.lines().skip(1).collect();
    let expected = [
        format!("-A HKS-CONTAIN -s {POD_CIDR} -d {POD_CIDR} -j RETURN"),
        format!("-A HKS-CONTAIN -s {POD_CIDR} -d {SERVICE_CIDR} -j RETURN"),
        format!(
            "-A HKS-CONTAIN -s {POD_CIDR} -m comment --comment \"hks-containment:pod-to-outside\" -j DROP"
        ),
    ];
    ensure!(
        rules.len() >= 3 && rules[..3] == expected,
        "unexpected containment rules:\n{chain}"
    );
    ensure!(
        rules[3..].iter().all(|r| r.ends_with("-j DROP")),
        "the containment chain lets something through:\n{chain}"
    );
    let routes = host_command("ip", &["route", "show", "type", "unreachable"])?;
    ensure!(
        routes
            .lines()
            .any(|l| l.trim() == format!("unreachable {SERVICE_CIDR}")),
        "no unreachable route for the service range:\n{routes}"
    );
    let nat = host_command("iptables", &["-w", "-t", "nat", "-S", "POSTROUTING"])?;
    ensure!(
        !nat.lines()
            .any(|l| l.contains("MASQUERADE") && (l.contains(POD_CIDR) || l.contains("hks0"))),
        "pod traffic is masqueraded:\n{nat}"
    );

    // IPv6 is not routed at all by the node, and its containment chain
    // drops whatever the bridge would forward.
    let forward6 = host_command("ip6tables", &["-w", "-t", "mangle", "-S", "FORWARD"])?;
    ensure!(
        forward6.lines().nth(1) == Some("-A FORWARD -j HKS-CONTAIN"),
        "the IPv6 containment chain is not first in mangle FORWARD:\n{forward6}"
    );
    let forwarding = host_command("sysctl", &["-n", "net.ipv6.conf.all.forwarding"])?;
    ensure!(
        forwarding.trim() == "0",
        "the node forwards IPv6: net.ipv6.conf.all.forwarding = {forwarding}"
    );

    // Only now packets toward outside addresses (documentation ranges,
    // which no one answers anyway), one protocol per pod: each must fail in
    // the pod and be counted by a DROP rule of the node's containment chain.
    let probes: [(&str, &str, &str, u64); 4] = [
        // ICMP echo.
        (
            "icmp",
            "ping -c 1 -W 2 192.0.2.1",
            "1 packets transmitted, 0 packets received",
            1,
        ),
        // A TCP connection (its SYN).
        (
            "tcp",
            "timeout 20 nc -w 3 198.51.100.1 80 </dev/null",
            "nc: timed out",
            1,
        ),
        // A UDP datagram: a DNS query sent straight to an outside server.
        (
            "udp",
            "nslookup -timeout=2 example.com 203.0.113.1; echo exit $?",
            "no servers could be reached",
            1,
        ),
        // IPv6: the pod has no IPv6 route, so it gives itself an address
        // and an on-link default route (NET_ADMIN); its packets for
        // 2001:db8::1 (neighbour solicitations first) reach the bridge.
        (
            "ipv6",
            "ip -6 addr add 2001:db8:1::2/64 dev eth0 && ip -6 route add default dev eth0 \
             && ping -6 -c 3 -W 2 2001:db8::1",
            "3 packets transmitted, 0 packets received",
            3,
        ),
    ];
    with_namespace("containment", |client, ns| async move {
        let pods: Api<Pod> = Api::namespaced(client, &ns);
        for (name, script, failed, at_least) in probes {
            let v6 = name == "ipv6";
            let count = || {
                if v6 {
                    containment_rule_packets_v6("hks-containment:ipv6")
                } else {
                    containment_rule_packets("hks-containment:pod-to-outside")
                }
            };
            let pod = if v6 {
                net_admin_pod(name, script)?
            } else {
                busybox_pod(name, script)?
            };
            let before = count()?;
            pods.create(&PostParams::default(), &pod).await?;
            let phase = wait_pod_finished(&pods, name, Duration::from_secs(300)).await?;
            let log = pods.logs(name, &LogParams::default()).await?;
            let after = count()?;
            eprintln!(
                "containment: {name}: the drop rule counted {} packet(s)",
                after - before
            );
            ensure!(
                log.contains(failed),
                "{name}: the probe got through ({phase}):\n{log}"
            );
            ensure!(
                after >= before + at_least,
                "{name}: the drop rule did not count the probe's packets ({before} -> {after}):\n{log}"
            );
        }

        // The same pods still reach what is inside the cluster: the DNS
        // Service (UDP) and the apiserver's Service (TCP).
        let script = "nslookup kubernetes.default.svc.cluster.local && \
                      timeout 20 nc -w 5 10.96.0.1 443 </dev/null && echo reached";
        pods.create(&PostParams::default(), &busybox_pod("inside", script)?)
            .await?;
        let phase = wait_pod_finished(&pods, "inside", Duration::from_secs(300)).await?;
        let log = pods.logs("inside", &LogParams::default()).await?;
        ensure!(
            phase == "Succeeded" && log.contains("Address: 10.96.0.1") && log.contains("reached"),
            "a pod does not reach the cluster's Services ({phase}):\n{log}"
        );
        Ok(())
    })
    .await
}
