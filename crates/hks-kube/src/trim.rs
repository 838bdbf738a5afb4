//! What the watch caches keep of each object: the reflectors hold every
//! HKS CronJob, Job and pod of a tenant cluster in memory, so the parts that
//! nothing reads from the caches are dropped as the objects arrive.
//!
//! The rule is the same for every kind: keep of `metadata` what readers
//! read (names, uids, generations, resource versions, finalizers, creation
//! and deletion times, and of the labels and annotations only those HKS
//! reads or sets, [`LABELS`] and [`ANNOTATIONS`]), keep `status` (what runs
//! are derived from) but the parts of a pod's status that describe its
//! mounts and resources, and drop the pod specs, which are
//! most of a CronJob's or Job's size and are never read from a cache (Run now
//! reads its CronJob from the apiserver): a CronJob's or Job's pod template
//! goes whole, labels included. A pod keeps its node and its containers'
//! names. A tenant's apiserver may send anything, so what is kept is
//! bounded too: a label or annotation value to [`MAX_VALUE`] bytes, a
//! status message to [`MAX_MESSAGE`] (the kubelet's own limit for a
//! termination message). `hks_core::run::run` gives the same answer for
//! trimmed objects as for whole ones (tested below).

use std::collections::BTreeMap;

use hks_core::labels::{
    ANNOTATION_CANCELLED_BY, ANNOTATION_INSTANTIATE, ANNOTATION_OVERRIDES, ANNOTATION_RERUN_OF,
    ANNOTATION_SCHEDULED_TIMESTAMP, ANNOTATION_TRIGGERED_BY, LABEL_APPLICATION,
    LABEL_CONTROLLER_UID, LABEL_JOB_NAME, LABEL_MANAGED_BY, LABEL_PROJECT, LABEL_TENANT,
    LABEL_TRIGGER, LABEL_TYPE,
};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStatus, Pod, PodSpec, PodTemplateSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// The labels the caches keep: those HKS reads from cached objects or sets.
pub const LABELS: &[&str] = &[
    LABEL_MANAGED_BY,
    LABEL_TENANT,
    LABEL_PROJECT,
    LABEL_APPLICATION,
    LABEL_TYPE,
    LABEL_TRIGGER,
    LABEL_JOB_NAME,
    LABEL_CONTROLLER_UID,
];

/// The annotations the caches keep: those HKS reads from cached objects.
pub const ANNOTATIONS: &[&str] = &[
    ANNOTATION_TRIGGERED_BY,
    ANNOTATION_INSTANTIATE,
    ANNOTATION_SCHEDULED_TIMESTAMP,
    ANNOTATION_CANCELLED_BY,
    ANNOTATION_OVERRIDES,
    ANNOTATION_RERUN_OF,
];

/// The longest label or annotation value kept (Kubernetes allows 63 bytes
/// for a label value; what HKS's annotations hold is short).
pub const MAX_VALUE: usize = 256;

/// The longest overrides annotation kept: the most a run's overrides may
/// take ([`hks_core::spec::MAX_OVERRIDES_BYTES`]); one cut shorter is not
/// read (its JSON is broken), as one a tenant wrote would be.
pub const MAX_OVERRIDES_VALUE: usize = hks_core::spec::MAX_OVERRIDES_BYTES;

/// The longest status message kept.
pub const MAX_MESSAGE: usize = 4096;

/// An object that can drop what the watch caches do not need.
pub trait Trim {
    fn trim(&mut self);
}

impl Trim for CronJob {
    fn trim(&mut self) {
        metadata(&mut self.metadata);
        if let Some(job) = self.spec.job_template.spec.as_mut() {
            job.template = PodTemplateSpec::default();
        }
    }
}

impl Trim for Job {
    fn trim(&mut self) {
        metadata(&mut self.metadata);
        if let Some(spec) = self.spec.as_mut() {
            spec.template = PodTemplateSpec::default();
        }
        if let Some(status) = self.status.as_mut() {
            for c in status.conditions.iter_mut().flatten() {
                cap_opt(&mut c.message, MAX_MESSAGE);
            }
        }
    }
}

impl Trim for Pod {
    fn trim(&mut self) {
        metadata(&mut self.metadata);
        if let Some(spec) = self.spec.as_mut() {
            *spec = PodSpec {
                containers: spec
                    .containers
                    .iter_mut()
                    .map(|c| Container {
                        name: std::mem::take(&mut c.name),
                        ..Container::default()
                    })
                    .collect(),
                node_name: spec.node_name.take(),
                ..PodSpec::default()
            };
        }
        if let Some(status) = self.status.as_mut() {
            status.resources = None;
            status.allocated_resources = None;
            cap_opt(&mut status.message, MAX_MESSAGE);
            for c in status.conditions.iter_mut().flatten() {
                cap_opt(&mut c.message, MAX_MESSAGE);
            }
            for s in [
                &mut status.container_statuses,
                &mut status.init_container_statuses,
                &mut status.ephemeral_container_statuses,
            ]
            .into_iter()
            .flatten()
            .flatten()
            {
                container_status(s);
            }
        }
    }
}

fn metadata(m: &mut ObjectMeta) {
    m.managed_fields = None;
    m.owner_references = None;
    m.generate_name = None;
    m.self_link = None;
    only(&mut m.labels, LABELS);
    only(&mut m.annotations, ANNOTATIONS);
}

/// Keeps only the `keys` of a label or annotation map, their values bounded.
fn only(map: &mut Option<BTreeMap<String, String>>, keys: &[&str]) {
    if let Some(m) = map.as_mut() {
        m.retain(|k, _| keys.contains(&k.as_str()));
        for (k, v) in m.iter_mut() {
            let limit = if k == ANNOTATION_OVERRIDES {
                MAX_OVERRIDES_VALUE
            } else {
                MAX_VALUE
            };
            cap(v, limit);
        }
        if m.is_empty() {
            *map = None;
        }
    }
}

fn container_status(s: &mut ContainerStatus) {
    s.volume_mounts = None;
    s.resources = None;
    s.allocated_resources = None;
    s.allocated_resources_status = None;
    s.user = None;
    for state in [s.state.as_mut(), s.last_state.as_mut()]
        .into_iter()
        .flatten()
    {
        container_state(state);
    }
}

fn container_state(s: &mut ContainerState) {
    if let Some(w) = s.waiting.as_mut() {
        cap_opt(&mut w.message, MAX_MESSAGE);
    }
    if let Some(t) = s.terminated.as_mut() {
        cap_opt(&mut t.message, MAX_MESSAGE);
    }
}

fn cap_opt(s: &mut Option<String>, max: usize) {
    if let Some(s) = s.as_mut() {
        cap(s, max);
    }
}

/// Cuts `s` to at most `max` bytes, on a character boundary.
fn cap(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hks_core::run::run;
    use serde::de::DeserializeOwned;

    /// The annotation `kubectl apply` keeps a whole copy of the object in.
    const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

    /// What the caches keep of `whole`'s metadata.
    fn kept(whole: &ObjectMeta) -> ObjectMeta {
        let pick = |m: &Option<BTreeMap<String, String>>, keys: &[&str]| {
            let m: BTreeMap<String, String> = m
                .iter()
                .flatten()
                .filter(|(k, _)| keys.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            (!m.is_empty()).then_some(m)
        };
        ObjectMeta {
            name: whole.name.clone(),
            namespace: whole.namespace.clone(),
            uid: whole.uid.clone(),
            generation: whole.generation,
            resource_version: whole.resource_version.clone(),
            creation_timestamp: whole.creation_timestamp.clone(),
            deletion_timestamp: whole.deletion_timestamp.clone(),
            deletion_grace_period_seconds: whole.deletion_grace_period_seconds,
            finalizers: whole.finalizers.clone(),
            labels: pick(&whole.labels, LABELS),
            annotations: pick(&whole.annotations, ANNOTATIONS),
            ..ObjectMeta::default()
        }
    }

    // Taken from the development cluster: the demo's `call-greet` CronJob,
    // one of its Jobs and that Job's failed pod, managed fields included.
    fn fixture<K: DeserializeOwned>(text: &str) -> K {
        serde_json::from_str(text).unwrap()
    }
    fn cronjob() -> CronJob {
        let mut cj: CronJob = fixture(include_str!("../testdata/cronjob.json"));
        cj.metadata
            .annotations
            .get_or_insert_default()
            .insert(LAST_APPLIED.into(), "{\"kind\":\"CronJob\"}".into());
        cj
    }
    fn job() -> Job {
        fixture(include_str!("../testdata/job.json"))
    }
    fn pod() -> Pod {
        fixture(include_str!("../testdata/pod.json"))
    }
    fn size<T: serde::Serialize>(o: &T) -> usize {
        serde_json::to_vec(o).unwrap().len()
    }
    fn trimmed<T: Trim>(mut o: T) -> T {
        o.trim();
        o
    }

    #[test]
    fn cronjobs_keep_metadata_schedule_and_status() {
        let whole = cronjob();
        let t = trimmed(whole.clone());
        assert_eq!(t.metadata.managed_fields, None);
        assert_eq!(t.metadata, kept(&whole.metadata));
        assert!(
            t.metadata.annotations.is_none(),
            "the last-applied annotation goes"
        );
        assert_eq!(
            t.metadata.labels.as_ref().unwrap().get(LABEL_APPLICATION),
            whole
                .metadata
                .labels
                .as_ref()
                .unwrap()
                .get(LABEL_APPLICATION)
        );
        let (spec, whole_spec) = (&t.spec, &whole.spec);
        assert_eq!(spec.schedule, whole_spec.schedule);
        assert_eq!(spec.time_zone, whole_spec.time_zone);
        assert_eq!(spec.suspend, whole_spec.suspend);
        assert_eq!(t.status, whole.status);
        let job = spec.job_template.spec.as_ref().unwrap();
        assert_eq!(job.template, PodTemplateSpec::default());
        assert_eq!(spec.job_template.metadata, whole_spec.job_template.metadata);
        assert!(
            size(&t) * 2 < size(&whole),
            "{} vs {}",
            size(&t),
            size(&whole)
        );
    }

    #[test]
    fn runs_are_the_same_from_trimmed_jobs_and_pods() {
        let (job, pod) = (job(), pod());
        let (tjob, tpod) = (trimmed(job.clone()), trimmed(pod.clone()));
        assert_eq!(run(&tjob, &[&tpod]), run(&job, &[&pod]));
        assert!(
            run(&job, &[&pod]).exit_code.is_some(),
            "the fixture has ended"
        );
    }

    #[test]
    fn jobs_keep_metadata_and_status_and_lose_their_pod_spec() {
        let whole = job();
        let t = trimmed(whole.clone());
        assert_eq!(t.metadata, kept(&whole.metadata));
        assert_eq!(t.status, whole.status);
        let spec = t.spec.as_ref().unwrap();
        assert_eq!(spec.template, PodTemplateSpec::default());
        assert_eq!(spec.suspend, whole.spec.as_ref().unwrap().suspend);
        assert!(
            size(&t) * 2 < size(&whole),
            "{} vs {}",
            size(&t),
            size(&whole)
        );
    }

    #[test]
    fn pods_keep_metadata_status_node_and_container_names() {
        let whole = pod();
        let t = trimmed(whole.clone());
        assert_eq!(t.metadata, kept(&whole.metadata));
        let (spec, whole_spec) = (t.spec.as_ref().unwrap(), whole.spec.as_ref().unwrap());
        assert_eq!(spec.node_name, whole_spec.node_name);
        let names = |s: &PodSpec| {
            s.containers
                .iter()
                .map(|c| c.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(spec), names(whole_spec));
        assert_eq!(spec.volumes, None);
        let (status, whole_status) = (t.status.as_ref().unwrap(), whole.status.as_ref().unwrap());
        assert_eq!(status.phase, whole_status.phase);
        assert_eq!(status.conditions, whole_status.conditions);
        assert_eq!(status.start_time, whole_status.start_time);
        let (c, wc) = (
            &status.container_statuses.as_ref().unwrap()[0],
            &whole_status.container_statuses.as_ref().unwrap()[0],
        );
        assert_eq!(
            (&c.state, &c.last_state, &c.name),
            (&wc.state, &wc.last_state, &wc.name)
        );
        assert_eq!(c.volume_mounts, None);
        assert!(
            size(&t) * 2 < size(&whole),
            "{} vs {}",
            size(&t),
            size(&whole)
        );
    }

    /// A tenant's apiserver may send any labels, annotations and messages:
    /// the caches keep HKS's, bounded.
    #[test]
    fn unread_labels_and_annotations_go_and_what_stays_is_bounded() {
        let mut pod = pod();
        let huge = "x".repeat(1 << 20);
        let m = &mut pod.metadata;
        m.labels
            .get_or_insert_default()
            .insert("tenant.example/junk".into(), huge.clone());
        m.labels
            .get_or_insert_default()
            .insert(LABEL_TRIGGER.into(), format!("manual{huge}"));
        m.annotations
            .get_or_insert_default()
            .insert("tenant.example/junk".into(), huge.clone());
        m.annotations
            .get_or_insert_default()
            .insert(ANNOTATION_TRIGGERED_BY.into(), format!("é{huge}"));
        let status = pod.status.get_or_insert_default();
        status.message = Some(huge.clone());
        if let Some(t) = status
            .container_statuses
            .iter_mut()
            .flatten()
            .find_map(|c| c.state.as_mut()?.terminated.as_mut())
        {
            t.message = Some(huge.clone());
        }
        let t = trimmed(pod);
        let labels = t.metadata.labels.as_ref().unwrap();
        assert!(labels.keys().all(|k| LABELS.contains(&k.as_str())));
        assert_eq!(labels[LABEL_TRIGGER].len(), MAX_VALUE);
        let annotations = t.metadata.annotations.as_ref().unwrap();
        assert_eq!(
            annotations.keys().collect::<Vec<_>>(),
            [ANNOTATION_TRIGGERED_BY]
        );
        // Cut on a character boundary.
        assert!(annotations[ANNOTATION_TRIGGERED_BY].len() <= MAX_VALUE);
        assert!(annotations[ANNOTATION_TRIGGERED_BY].starts_with('é'));
        assert!(size(&t) < 64 * 1024, "{}", size(&t));
    }

    #[test]
    fn a_runs_overrides_and_who_cancelled_it_stay_whole_within_their_bound() {
        let mut pod = pod();
        let overrides = format!(
            r#"{{"command":{{"argv":["{}"],"shell":true}}}}"#,
            "y".repeat(hks_core::spec::MAX_OVERRIDES_BYTES - 64)
        );
        let a = pod.metadata.annotations.get_or_insert_default();
        a.insert(ANNOTATION_OVERRIDES.into(), overrides.clone());
        a.insert(ANNOTATION_CANCELLED_BY.into(), "acme/ci".into());
        let t = trimmed(pod);
        let annotations = t.metadata.annotations.as_ref().unwrap();
        assert_eq!(annotations[ANNOTATION_OVERRIDES], overrides);
        assert_eq!(annotations[ANNOTATION_CANCELLED_BY], "acme/ci");
        let mut pod = self::pod();
        pod.metadata
            .annotations
            .get_or_insert_default()
            .insert(ANNOTATION_OVERRIDES.into(), "z".repeat(1 << 20));
        let t = trimmed(pod);
        assert_eq!(
            t.metadata.annotations.as_ref().unwrap()[ANNOTATION_OVERRIDES].len(),
            MAX_OVERRIDES_VALUE
        );
    }

    #[test]
    fn objects_without_specs_or_annotations_are_left_alone() {
        let mut p = Pod::default();
        p.trim();
        assert_eq!(p, Pod::default());
        let mut j = Job::default();
        j.trim();
        assert_eq!(j, Job::default());
        let mut c = CronJob::default();
        c.trim();
        assert_eq!(c, CronJob::default());
    }
}
