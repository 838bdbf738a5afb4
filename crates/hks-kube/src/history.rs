//! What the run recorder reads from the watch caches: runs grouped from
//! Jobs and pods (also pods whose Job is gone), with the state of HKS's
//! finalizer on each. Pure, over cached objects.

use std::collections::BTreeMap;
use std::sync::Arc;

use hks_core::labels::{FINALIZER_ARCHIVE, LABEL_APPLICATION, LABEL_JOB_NAME};
use hks_core::run::{run, run_from_pods};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{Value, json};

use crate::{ClusterRun, RunObjectState, RunPod};

fn object_state(meta: &ObjectMeta) -> RunObjectState {
    RunObjectState {
        name: meta.name.clone().unwrap_or_default(),
        has_finalizer: meta
            .finalizers
            .as_ref()
            .is_some_and(|f| f.iter().any(|f| f == FINALIZER_ARCHIVE)),
        deleting: meta.deletion_timestamp.is_some(),
    }
}

fn run_pod(pod: &Pod) -> RunPod {
    let object = object_state(&pod.metadata);
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    RunPod {
        finished: matches!(phase, Some("Succeeded" | "Failed"))
            || (object.deleting && matches!(phase, None | Some("Pending"))),
        object,
    }
}

/// Every HKS run: each Job with its pods, and pods whose Job is gone grouped
/// by the Job name they carry.
pub fn cluster_runs(jobs: &[Arc<Job>], pods: &[Arc<Pod>]) -> Vec<ClusterRun> {
    let mut pods_by_job: BTreeMap<(&str, &str), Vec<&Pod>> = BTreeMap::new();
    for p in pods {
        let (Some(ns), Some(job)) = (
            p.metadata.namespace.as_deref(),
            p.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(LABEL_JOB_NAME)),
        ) else {
            continue;
        };
        pods_by_job.entry((ns, job.as_str())).or_default().push(p);
    }
    let mut out = Vec::with_capacity(jobs.len());
    for job in jobs {
        let meta = &job.metadata;
        let (Some(ns), Some(name), Some(app)) = (
            meta.namespace.as_deref(),
            meta.name.as_deref(),
            meta.labels.as_ref().and_then(|l| l.get(LABEL_APPLICATION)),
        ) else {
            continue;
        };
        let job_pods = pods_by_job.remove(&(ns, name)).unwrap_or_default();
        out.push(ClusterRun {
            namespace: ns.to_owned(),
            cronjob: app.clone(),
            run: run(job, &job_pods),
            job: Some(object_state(meta)),
            pods: job_pods.iter().map(|p| run_pod(p)).collect(),
        });
    }
    // Pods whose Job is gone (kept by HKS's finalizer).
    for ((ns, name), job_pods) in pods_by_job {
        let Some(app) = job_pods
            .iter()
            .find_map(|p| p.metadata.labels.as_ref()?.get(LABEL_APPLICATION))
        else {
            continue;
        };
        out.push(ClusterRun {
            namespace: ns.to_owned(),
            cronjob: app.clone(),
            run: run_from_pods(name, &job_pods),
            job: None,
            pods: job_pods.iter().map(|p| run_pod(p)).collect(),
        });
    }
    out
}

/// The merge patch that adds (`present`) or removes HKS's finalizer, guarded
/// by the object's resourceVersion; `None` when there is nothing to change
/// (or a finalizer cannot be added because the object is being deleted).
pub fn finalizer_patch(meta: &ObjectMeta, present: bool) -> Option<Value> {
    let mut list = meta.finalizers.clone().unwrap_or_default();
    let has = list.iter().any(|f| f == FINALIZER_ARCHIVE);
    if present == has || (present && meta.deletion_timestamp.is_some()) {
        return None;
    }
    if present {
        list.push(FINALIZER_ARCHIVE.to_owned());
    } else {
        list.retain(|f| f != FINALIZER_ARCHIVE);
    }
    Some(json!({
        "metadata": {
            "resourceVersion": meta.resource_version,
            "finalizers": list,
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(v: Value) -> Arc<Pod> {
        Arc::new(serde_json::from_value(v).unwrap())
    }

    #[test]
    fn pods_without_their_job_still_make_a_run() {
        let labels = json!({"hks.dev/application": "report", "batch.kubernetes.io/job-name": "report-29000000"});
        let p = pod(
            json!({"metadata": {"name": "report-29000000-x", "namespace": "ns", "labels": labels,
            "finalizers": [FINALIZER_ARCHIVE, "batch.kubernetes.io/job-tracking"], "deletionTimestamp": "2025-01-01T03:01:00Z",
            "creationTimestamp": "2025-01-01T03:00:00Z"},
            "status": {"phase": "Succeeded", "containerStatuses": [{"name": "c", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"terminated": {"exitCode": 0, "startedAt": "2025-01-01T03:00:01Z", "finishedAt": "2025-01-01T03:00:05Z"}}}]}}),
        );
        let runs = cluster_runs(&[], &[p]);
        assert_eq!(runs.len(), 1);
        let r = &runs[0];
        assert_eq!((r.namespace.as_str(), r.cronjob.as_str()), ("ns", "report"));
        assert!(r.job.is_none());
        assert_eq!(r.run.result, hks_core::run::RunResult::Succeeded);
        assert!(!r.run.in_cluster);
        assert!(r.pods[0].finished && r.pods[0].object.has_finalizer && r.pods[0].object.deleting);
    }

    #[test]
    fn finalizer_patches_keep_other_finalizers() {
        let meta: ObjectMeta = serde_json::from_value(json!({"name": "p", "resourceVersion": "7",
            "finalizers": ["batch.kubernetes.io/job-tracking", FINALIZER_ARCHIVE]}))
        .unwrap();
        assert_eq!(
            finalizer_patch(&meta, false),
            Some(
                json!({"metadata": {"resourceVersion": "7", "finalizers": ["batch.kubernetes.io/job-tracking"]}})
            )
        );
        assert_eq!(finalizer_patch(&meta, true), None);
        let bare: ObjectMeta =
            serde_json::from_value(json!({"name": "j", "resourceVersion": "8"})).unwrap();
        assert_eq!(
            finalizer_patch(&bare, true),
            Some(json!({"metadata": {"resourceVersion": "8", "finalizers": [FINALIZER_ARCHIVE]}}))
        );
        let deleting: ObjectMeta = serde_json::from_value(
            json!({"name": "j", "resourceVersion": "8", "deletionTimestamp": "2025-01-01T00:00:00Z"}),
        )
        .unwrap();
        assert_eq!(finalizer_patch(&deleting, true), None);
    }
}
