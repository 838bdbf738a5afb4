//! What the watch caches keep of each object: the reflectors hold every
//! HKS CronJob, Job and pod of a tenant cluster in memory, so the parts that
//! nothing reads from the caches are dropped as the objects arrive.
//!
//! The rule is the same for every kind: keep all of `metadata` but managed
//! fields and kubectl's last-applied annotation (readers need names, uids,
//! labels, annotations, generations, finalizers, deletion times), keep
//! `status` (what runs are derived from) but the parts of a pod's status
//! that describe its mounts and resources, and drop the pod specs, which are
//! most of a CronJob's or Job's size and are never read from a cache (Run now
//! reads its CronJob from the apiserver): a CronJob's or Job's pod template
//! goes whole, labels included. A pod keeps its node and its containers'
//! names. `hks_core::run::run` gives the same answer for trimmed
//! objects as for whole ones (tested below).

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Container, ContainerStatus, Pod, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// The annotation `kubectl apply` keeps a whole copy of the object in.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

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
    if let Some(a) = m.annotations.as_mut() {
        a.remove(LAST_APPLIED);
        if a.is_empty() {
            m.annotations = None;
        }
    }
}

fn container_status(s: &mut ContainerStatus) {
    s.volume_mounts = None;
    s.resources = None;
    s.allocated_resources = None;
    s.allocated_resources_status = None;
    s.user = None;
}

#[cfg(test)]
mod tests {
    use super::*;
    use hks_core::run::run;
    use serde::de::DeserializeOwned;

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
        let mut meta = whole.metadata.clone();
        meta.managed_fields = None;
        meta.annotations = None;
        assert_eq!(t.metadata, meta, "only the last-applied annotation goes");
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
        let mut meta = whole.metadata.clone();
        meta.managed_fields = None;
        assert_eq!(t.metadata, meta);
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
        let mut meta = whole.metadata.clone();
        meta.managed_fields = None;
        assert_eq!(t.metadata, meta);
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
