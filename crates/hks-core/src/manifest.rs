//! Kubernetes objects derived from the user's configuration. Pure functions:
//! the same input always gives the same objects, so they can be applied with
//! server-side apply as often as needed and compared in golden tests.
//!
//! Every object carries the HKS labels (tenant, project, application). For a
//! CronJob they are also in `jobTemplate.metadata` and the pod template,
//! because the CronJob controller copies labels to Jobs from
//! `jobTemplate.metadata` only, and the Job controller copies the pod
//! template's labels to pods.

use std::collections::BTreeMap;

use k8s_openapi::api::admissionregistration::v1::{
    ApplyConfiguration, MatchResources, MutatingAdmissionPolicy, MutatingAdmissionPolicyBinding,
    MutatingAdmissionPolicyBindingSpec, MutatingAdmissionPolicySpec, Mutation,
    NamedRuleWithOperations,
};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::batch::v1::{
    CronJob, CronJobSpec as KubeCronJobSpec, Job, JobSpec, JobTemplateSpec,
};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EnvVar as KubeEnvVar, EnvVarSource, KeyToPath,
    LimitRange, LimitRangeItem, LimitRangeSpec, Namespace, ObjectFieldSelector, PodSecurityContext,
    PodSpec, PodTemplateSpec, ResourceRequirements, SeccompProfile, SecretKeySelector,
    SecretVolumeSource, SecurityContext, Service, ServicePort, ServiceSpec, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::container::{EnvVar, ResourceList, Resources, Security};
use crate::formats;
use crate::invoke::{self, Invocation};
use crate::labels::{
    ANNOTATION_INSTANTIATE, ANNOTATION_OVERRIDES, ANNOTATION_RERUN_OF,
    ANNOTATION_SCHEDULED_TIMESTAMP, ANNOTATION_TRIGGERED_BY, LABEL_APPLICATION, LABEL_INSTALLATION,
    LABEL_JOB_NAME, LABEL_MANAGED_BY, LABEL_PROJECT, LABEL_TRIGGER, MANAGED_BY,
};
use crate::spec::{ContainerSource, CronJobSpec, RunOverrides, StatelessSpec};

/// Re-exported because callers outside this crate know the finalizer as
/// part of what a manifest is.
pub use crate::labels::FINALIZER_ARCHIVE;

/// Re-exported: every manifest function takes one.
pub use crate::placement::Placement;

/// The namespace of a project. Pod Security admission enforces the
/// `baseline` level in it (no privileged pods, host namespaces, host paths or
/// capabilities beyond the baseline list, by HKS or by anyone else with access
/// to the tenant's cluster), and warns about and audits what `restricted`
/// would refuse.
pub fn namespace(p: &Placement) -> Namespace {
    Namespace {
        metadata: ObjectMeta {
            name: Some(p.namespace.clone()),
            labels: Some(BTreeMap::from_iter(p.project_labels().into_iter().chain([
                (POD_SECURITY_ENFORCE.to_owned(), "baseline".to_owned()),
                (POD_SECURITY_ENFORCE_VERSION.to_owned(), "latest".to_owned()),
                (POD_SECURITY_WARN.to_owned(), "restricted".to_owned()),
                (POD_SECURITY_AUDIT.to_owned(), "restricted".to_owned()),
            ]))),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    }
}

pub const POD_SECURITY_ENFORCE: &str = "pod-security.kubernetes.io/enforce";
pub const POD_SECURITY_ENFORCE_VERSION: &str = "pod-security.kubernetes.io/enforce-version";
pub const POD_SECURITY_WARN: &str = "pod-security.kubernetes.io/warn";
pub const POD_SECURITY_AUDIT: &str = "pod-security.kubernetes.io/audit";

/// The name of the LimitRange in every project namespace.
pub const LIMIT_RANGE: &str = "hks-defaults";

/// What a container without limits (or requests) gets from the project's
/// LimitRange: (cpu, memory).
pub const DEFAULT_LIMITS: (&str, &str) = ("1", "512Mi");
pub const DEFAULT_REQUESTS: (&str, &str) = ("50m", "64Mi");

/// The LimitRange of a project: a container that states no resources still
/// runs with limits, so one run cannot take the node's memory or CPU.
pub fn limit_range(p: &Placement) -> LimitRange {
    let list = |(cpu, memory): (&str, &str)| {
        BTreeMap::from([
            ("cpu".to_owned(), Quantity(cpu.to_owned())),
            ("memory".to_owned(), Quantity(memory.to_owned())),
        ])
    };
    LimitRange {
        metadata: ObjectMeta {
            name: Some(LIMIT_RANGE.to_owned()),
            namespace: Some(p.namespace.clone()),
            labels: Some(p.project_labels()),
            ..ObjectMeta::default()
        },
        spec: Some(LimitRangeSpec {
            limits: vec![LimitRangeItem {
                type_: "Container".to_owned(),
                default: Some(list(DEFAULT_LIMITS)),
                default_request: Some(list(DEFAULT_REQUESTS)),
                ..LimitRangeItem::default()
            }],
        }),
    }
}

/// The Deployment of a Stateless application, and its Service when it has a port.
pub fn stateless(p: &Placement, name: &str, spec: &StatelessSpec) -> (Deployment, Option<Service>) {
    let labels = p.labels(name, "stateless");
    let selector = BTreeMap::from([
        (LABEL_PROJECT.to_owned(), p.project.clone()),
        (LABEL_APPLICATION.to_owned(), name.to_owned()),
    ]);
    let mut c = container(name, &ContainerSource::of_stateless(spec));
    if let Some(port) = spec.port {
        c.ports = Some(vec![ContainerPort {
            container_port: i32::from(port),
            name: Some("http".into()),
            ..ContainerPort::default()
        }]);
    }
    let deployment = Deployment {
        metadata: p.meta(name, labels.clone()),
        spec: DeploymentSpec {
            replicas: Some(i32::try_from(spec.replicas).unwrap_or(i32::MAX)),
            selector: LabelSelector {
                match_labels: Some(selector.clone()),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels.clone()),
                    ..ObjectMeta::default()
                }),
                spec: Some(hardened(PodSpec {
                    containers: vec![c],
                    ..PodSpec::default()
                })),
            },
            ..DeploymentSpec::default()
        },
        ..Deployment::default()
    };
    let service = spec.port.map(|port| Service {
        metadata: p.meta(name, labels),
        spec: Some(ServiceSpec {
            selector: Some(selector),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port: i32::from(port),
                target_port: Some(IntOrString::String("http".into())),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    });
    (deployment, service)
}

/// The `batch/v1` CronJob of a CronJob application whose container has been
/// resolved (template plus overrides, see [`CronJobSpec::resolve`]).
pub fn cronjob(p: &Placement, name: &str, spec: &CronJobSpec, source: &ContainerSource) -> CronJob {
    cronjob_with(
        p,
        name,
        spec,
        hardened(PodSpec {
            containers: vec![container(name, source)],
            restart_policy: Some("Never".into()),
            ..PodSpec::default()
        }),
    )
}

/// The `batch/v1` CronJob of a CronJob that calls a Function: one container
/// running the HTTP client with explicit arguments. Each run's execution id
/// is its Job's name, read by the downward API from the label the Job
/// controller puts on every pod, so a run's retried pods send the same id
/// and a Function can drop duplicates. The Function's token Secret key is
/// mounted as a file; only the file's path is in the arguments.
pub fn function_cronjob(
    p: &Placement,
    name: &str,
    spec: &CronJobSpec,
    invocation: &Invocation,
) -> CronJob {
    let mut c = Container {
        name: name.to_owned(),
        image: Some(invocation.image.clone()),
        command: Some(vec![invoke::INVOKE_PROGRAM.to_owned()]),
        args: Some(invocation.args()),
        env: Some(vec![KubeEnvVar {
            name: invoke::EXECUTION_ID_ENV.to_owned(),
            value: None,
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    api_version: None,
                    field_path: format!("metadata.labels['{LABEL_JOB_NAME}']"),
                }),
                ..EnvVarSource::default()
            }),
        }]),
        resources: resources(&invocation.resources),
        security_context: Some(security_context(&invoker_security())),
        ..Container::default()
    };
    let mut volumes = None;
    if let Some(token) = &invocation.token {
        c.volume_mounts = Some(vec![VolumeMount {
            name: TOKEN_VOLUME.to_owned(),
            mount_path: invoke::TOKEN_DIR.to_owned(),
            read_only: Some(true),
            ..VolumeMount::default()
        }]);
        volumes = Some(vec![Volume {
            name: TOKEN_VOLUME.to_owned(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(token.name.clone()),
                items: Some(vec![KeyToPath {
                    key: token.key.clone(),
                    path: invoke::TOKEN_FILE.to_owned(),
                    ..KeyToPath::default()
                }]),
                ..SecretVolumeSource::default()
            }),
            ..Volume::default()
        }]);
    }
    cronjob_with(
        p,
        name,
        spec,
        hardened(PodSpec {
            containers: vec![c],
            volumes,
            restart_policy: Some("Never".into()),
            ..PodSpec::default()
        }),
    )
}

const TOKEN_VOLUME: &str = "function-token";

/// The user and group `nobody`.
const NOBODY: u32 = 65534;

/// How HKS's HTTP client runs in a Function call's pod: it needs nothing of
/// root, so it meets Pod Security's `restricted` level.
pub fn invoker_security() -> Security {
    Security {
        run_as_user: Some(NOBODY),
        run_as_group: Some(NOBODY),
        run_as_non_root: true,
        read_only_root_filesystem: true,
        ..Security::default()
    }
}

/// What every pod HKS generates has, whatever its containers say: no
/// service account token (a run has no business with the tenant's
/// apiserver), and the runtime's default seccomp profile.
fn hardened(pod: PodSpec) -> PodSpec {
    PodSpec {
        automount_service_account_token: Some(false),
        security_context: Some(PodSecurityContext {
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".to_owned(),
                localhost_profile: None,
            }),
            ..PodSecurityContext::default()
        }),
        ..pod
    }
}

/// A container's security context: no privilege escalation, every
/// capability dropped except those the user gave back, and the user's
/// choices of user, group and root filesystem.
fn security_context(s: &Security) -> SecurityContext {
    let mut add: Vec<String> = s
        .add_capabilities
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    add.sort();
    add.dedup();
    SecurityContext {
        allow_privilege_escalation: Some(false),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".to_owned()]),
            add: (!add.is_empty()).then_some(add),
        }),
        run_as_user: s.run_as_user.map(i64::from),
        run_as_group: s.run_as_group.map(i64::from),
        run_as_non_root: s.run_as_non_root.then_some(true),
        read_only_root_filesystem: s.read_only_root_filesystem.then_some(true),
        ..SecurityContext::default()
    }
}

fn cronjob_with(p: &Placement, name: &str, spec: &CronJobSpec, pod: PodSpec) -> CronJob {
    let labels = p.labels(name, "cronjob");
    let mut job_labels = labels.clone();
    // User labels go on Jobs and pods only; HKS's own keys cannot be
    // overridden (validation rejects them, and they are inserted last).
    for (k, v) in &spec.labels {
        job_labels.insert(k.clone(), v.clone());
    }
    job_labels.extend(labels.clone());
    CronJob {
        metadata: p.meta(name, labels),
        spec: KubeCronJobSpec {
            schedule: crate::schedule::kubernetes_schedule(&spec.schedule, &p.project, name),
            time_zone: Some(spec.time_zone.to_string()),
            concurrency_policy: Some(spec.concurrency_policy.as_str().to_owned()),
            starting_deadline_seconds: Some(i64::from(spec.starting_deadline_seconds)),
            successful_jobs_history_limit: Some(clamp(spec.successful_jobs_history_limit)),
            failed_jobs_history_limit: Some(clamp(spec.failed_jobs_history_limit)),
            suspend: Some(spec.suspend),
            job_template: JobTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(job_labels.clone()),
                    ..ObjectMeta::default()
                }),
                spec: Some(JobSpec {
                    active_deadline_seconds: Some(i64::from(spec.timeout_seconds)),
                    backoff_limit: Some(clamp(spec.retries)),
                    template: PodTemplateSpec {
                        metadata: Some(ObjectMeta {
                            labels: Some(job_labels),
                            // The Job controller copies these to every pod.
                            finalizers: Some(vec![FINALIZER_ARCHIVE.to_owned()]),
                            ..ObjectMeta::default()
                        }),
                        spec: Some(pod),
                    },
                    ..JobSpec::default()
                }),
            },
        },
        ..CronJob::default()
    }
}

/// The name of the admission policy, and of its binding, that puts HKS's
/// finalizer on every HKS Job as the apiserver creates it.
pub const RUN_HOLD_POLICY: &str = "hks-archive-logs";

/// A MutatingAdmissionPolicy (Kubernetes 1.36+, CEL in the apiserver, no
/// webhook) and its binding that add [`FINALIZER_ARCHIVE`] to every Job
/// labelled `app.kubernetes.io/managed-by=hks` when it is created.
///
/// The CronJob controller copies a Job template's labels but not its
/// finalizers, and the run recorder adds the finalizer only when it first
/// sees the Job: a run that ends before that (an `echo`, a busy recorder)
/// could be deleted by the CronJob controller's history limits before it
/// was archived. On a host cluster the pods' own finalizer keeps them and
/// their logs; in a vCluster it does not (the syncer deletes the host pod,
/// and its log, as soon as the virtual pod is being deleted). Held from its
/// creation, the Job keeps its pods (the garbage collector deletes a Job's
/// pods in the background only once the Job is gone) until the recorder
/// has archived their logs and released it.
///
/// One policy serves every HKS installation on a cluster (it selects by
/// `managed-by` only), so it is the same object whoever applies it. It
/// fails open (`Ignore`): a policy that cannot be evaluated never stops a
/// run from starting; the recorder still adds the finalizer when it sees
/// the Job.
pub fn run_hold_policy() -> (MutatingAdmissionPolicy, MutatingAdmissionPolicyBinding) {
    let meta = || ObjectMeta {
        name: Some(RUN_HOLD_POLICY.to_owned()),
        labels: Some(BTreeMap::from([(
            LABEL_MANAGED_BY.to_owned(),
            MANAGED_BY.to_owned(),
        )])),
        ..ObjectMeta::default()
    };
    let policy = MutatingAdmissionPolicy {
        metadata: meta(),
        spec: Some(MutatingAdmissionPolicySpec {
            match_constraints: Some(MatchResources {
                resource_rules: Some(vec![NamedRuleWithOperations {
                    api_groups: Some(vec!["batch".into()]),
                    api_versions: Some(vec!["v1".into()]),
                    operations: Some(vec!["CREATE".into()]),
                    resources: Some(vec!["jobs".into()]),
                    ..NamedRuleWithOperations::default()
                }]),
                ..MatchResources::default()
            }),
            failure_policy: Some("Ignore".into()),
            reinvocation_policy: Some("Never".into()),
            mutations: Some(vec![Mutation {
                patch_type: "ApplyConfiguration".into(),
                // `finalizers` is a set: the apply merges it with the
                // Job's own, as server-side apply would.
                apply_configuration: Some(ApplyConfiguration {
                    expression: Some(format!(
                        "Object{{metadata: Object.metadata{{finalizers: [\"{FINALIZER_ARCHIVE}\"]}}}}"
                    )),
                }),
                json_patch: None,
            }]),
            ..MutatingAdmissionPolicySpec::default()
        }),
    };
    let binding = MutatingAdmissionPolicyBinding {
        metadata: meta(),
        spec: Some(MutatingAdmissionPolicyBindingSpec {
            policy_name: Some(RUN_HOLD_POLICY.to_owned()),
            match_resources: Some(MatchResources {
                object_selector: Some(LabelSelector {
                    match_labels: Some(BTreeMap::from([(
                        LABEL_MANAGED_BY.to_owned(),
                        MANAGED_BY.to_owned(),
                    )])),
                    ..LabelSelector::default()
                }),
                ..MatchResources::default()
            }),
            param_ref: None,
        }),
    };
    (policy, binding)
}

/// Why a manual Job cannot be built from a CronJob read from the cluster.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ManualJobError {
    #[error("the CronJob has no name, namespace or uid")]
    MissingMetadata,
}

/// The longest Job name: Job names become the value of the
/// `batch.kubernetes.io/job-name` label.
pub const MAX_JOB_NAME: usize = 63;

/// A Run now Job with one run's overrides applied (nothing changes when
/// they are empty): the first container's command (arguments cleared) and
/// environment (a name it has gets the new value, others are added), the
/// Job's `activeDeadlineSeconds`, and the overrides themselves as JSON in
/// [`crate::labels::ANNOTATION_OVERRIDES`], from which the run reads them.
/// Validation ([`crate::spec::validate_overrides`]) comes first.
pub fn with_overrides(mut job: Job, overrides: &RunOverrides) -> Job {
    if overrides.is_empty() {
        return job;
    }
    if let Ok(text) = serde_json::to_string(overrides) {
        job.metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(ANNOTATION_OVERRIDES.to_owned(), text);
    }
    let Some(spec) = job.spec.as_mut() else {
        return job;
    };
    if let Some(t) = overrides.timeout_seconds {
        spec.active_deadline_seconds = Some(i64::from(t));
    }
    let Some(container) = spec
        .template
        .spec
        .as_mut()
        .and_then(|p| p.containers.first_mut())
    else {
        return job;
    };
    if let Some(cmd) = &overrides.command {
        container.command = Some(cmd.effective());
        container.args = None;
    }
    if !overrides.env.is_empty() {
        let vars = container.env.get_or_insert_with(Vec::new);
        for v in &overrides.env {
            let new = env_var(v);
            match vars.iter_mut().find(|old| old.name == v.name) {
                Some(old) => *old = new,
                None => vars.push(new),
            }
        }
    }
    job
}

/// How a run that HKS starts (not the CronJob controller) came about.
#[derive(Debug, Clone, PartialEq)]
pub enum Start {
    /// Run now.
    Manual,
    /// A re-run of the run `of`, with the container that run had (from the
    /// history: the CronJob may have changed since).
    Rerun {
        of: String,
        container: Box<Container>,
    },
    /// A scheduled time run late. The Job is named and annotated as the
    /// CronJob controller would have named and annotated it at `scheduled`
    /// (in the CronJob's time zone), so a time is backfilled at most once.
    /// With `wait`, it is created suspended: HKS's backfill step
    /// (`hks_controller::backfill`) lets Kubernetes start it when none of
    /// the CronJob's other runs is going.
    Backfill { scheduled: jiff::Zoned, wait: bool },
}

impl Start {
    /// The value of [`LABEL_TRIGGER`] on the Job and its pods.
    pub fn trigger_label(&self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Rerun { .. } => "rerun",
            Self::Backfill { .. } => "backfill",
        }
    }
}

/// The value the CronJob controller writes to
/// [`ANNOTATION_SCHEDULED_TIMESTAMP`]: Go's RFC 3339 in the CronJob's zone
/// (`Z` for UTC).
pub fn scheduled_timestamp(at: &jiff::Zoned) -> String {
    let text = at.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string();
    match text.strip_suffix("+00:00") {
        Some(utc) => format!("{utc}Z"),
        None => text,
    }
}

/// The name the CronJob controller gives the Job of a scheduled time:
/// `<cronjob>-<minutes since the epoch>`.
pub fn scheduled_job_name(cronjob: &str, at: jiff::Timestamp) -> String {
    format!("{cronjob}-{}", at.as_second().div_euclid(60))
}

/// A Job that HKS starts for a CronJob: a [`manual_job`] marked with how it
/// came about ([`Start`]), and for a re-run with the first container
/// replaced by the one that run had (named as the template's is now).
pub fn started_job(
    cronjob: &CronJob,
    installation: &str,
    triggered_by: &str,
    start: &Start,
    suffix: &str,
) -> Result<Job, ManualJobError> {
    let mut job = manual_job(cronjob, installation, triggered_by, suffix)?;
    let trigger = start.trigger_label();
    let meta = &mut job.metadata;
    meta.labels
        .get_or_insert_with(BTreeMap::new)
        .insert(LABEL_TRIGGER.to_owned(), trigger.to_owned());
    let annotations = meta.annotations.get_or_insert_with(BTreeMap::new);
    let cj_name = cronjob.metadata.name.clone().unwrap_or_default();
    match start {
        Start::Manual => {}
        Start::Rerun { of, .. } => {
            annotations.insert(ANNOTATION_RERUN_OF.to_owned(), of.clone());
            let mut name = format!("{cj_name}-r{suffix}");
            name.truncate(MAX_JOB_NAME);
            while name.ends_with('-') {
                name.pop();
            }
            meta.name = Some(name);
        }
        Start::Backfill { scheduled, .. } => {
            annotations.insert(
                ANNOTATION_SCHEDULED_TIMESTAMP.to_owned(),
                scheduled_timestamp(scheduled),
            );
            meta.name = Some(scheduled_job_name(&cj_name, scheduled.timestamp()));
        }
    }
    let Some(spec) = job.spec.as_mut() else {
        return Ok(job);
    };
    if let Some(pod_labels) = spec
        .template
        .metadata
        .as_mut()
        .and_then(|m| m.labels.as_mut())
    {
        pod_labels.insert(LABEL_TRIGGER.to_owned(), trigger.to_owned());
    }
    match start {
        Start::Rerun { container, .. } => {
            if let Some(first) = spec
                .template
                .spec
                .as_mut()
                .and_then(|p| p.containers.first_mut())
            {
                let name = std::mem::take(&mut first.name);
                *first = Container {
                    name,
                    ..(**container).clone()
                };
            }
        }
        Start::Backfill { wait: true, .. } => spec.suspend = Some(true),
        _ => {}
    }
    Ok(job)
}

/// The container a run ran, from its Job (what a re-run repeats).
pub fn container_of_job(job: &Job) -> Option<Container> {
    job.spec
        .as_ref()?
        .template
        .spec
        .as_ref()?
        .containers
        .first()
        .cloned()
}

/// The container a run ran, from one of its pods, when Kubernetes deleted
/// its Job: the pod's first container without what admission added to it
/// (the service account token's mount).
pub fn container_of_pod(pod: &k8s_openapi::api::core::v1::Pod) -> Option<Container> {
    let mut c = pod.spec.as_ref()?.containers.first()?.clone();
    if let Some(mounts) = c.volume_mounts.as_mut() {
        mounts.retain(|m| !m.name.starts_with("kube-api-access-"));
        if mounts.is_empty() {
            c.volume_mounts = None;
        }
    }
    Some(c)
}

/// A Run now Job, built as `kubectl create job --from=cronjob/<name>` does:
/// the CronJob's whole `jobTemplate` (labels, annotations and spec, so
/// nothing such as `backoffLimit` is lost), the `instantiate: manual`
/// annotation, and an ownerReference *without* `controller`, so that the
/// CronJob controller neither counts it for the concurrency policy nor
/// deletes it with the history, while garbage collection still removes it
/// with the CronJob. HKS adds the `trigger: manual` label (on the Job and its
/// pods, so runs lists can tell) and who triggered it, and sets the
/// `installation` label on both: a CronJob applied before HKS labelled
/// installations has no such label in its template, and a Job without it
/// would be invisible to the watches.
///
/// `suffix` makes the name unique (lowercase alphanumerics); the name is
/// `<cronjob>-m<suffix>`, cut so that it stays within 63 characters.
pub fn manual_job(
    cronjob: &CronJob,
    installation: &str,
    triggered_by: &str,
    suffix: &str,
) -> Result<Job, ManualJobError> {
    let meta = &cronjob.metadata;
    let (Some(name), Some(ns), Some(uid)) = (&meta.name, &meta.namespace, &meta.uid) else {
        return Err(ManualJobError::MissingMetadata);
    };
    let template = cronjob.spec.job_template.clone();
    let template_meta = template.metadata.unwrap_or_default();

    let mut annotations =
        BTreeMap::from([(ANNOTATION_INSTANTIATE.to_owned(), "manual".to_owned())]);
    annotations.extend(template_meta.annotations.unwrap_or_default());
    annotations.insert(ANNOTATION_TRIGGERED_BY.to_owned(), triggered_by.to_owned());
    let ours = [
        (LABEL_INSTALLATION.to_owned(), installation.to_owned()),
        (LABEL_TRIGGER.to_owned(), "manual".to_owned()),
    ];
    let mut labels = template_meta.labels.unwrap_or_default();
    labels.extend(ours.clone());

    let mut spec = template.spec.unwrap_or_default();
    let pod_meta = spec
        .template
        .metadata
        .get_or_insert_with(ObjectMeta::default);
    pod_meta
        .labels
        .get_or_insert_with(BTreeMap::new)
        .extend(ours);

    let mut job_name = format!("{name}-m{suffix}");
    job_name.truncate(MAX_JOB_NAME);
    while job_name.ends_with('-') {
        job_name.pop();
    }
    Ok(Job {
        metadata: ObjectMeta {
            name: Some(job_name),
            namespace: Some(ns.clone()),
            labels: Some(labels),
            annotations: Some(annotations),
            // Scheduled Jobs get it from the recorder; this one has it from the start.
            finalizers: Some(vec![FINALIZER_ARCHIVE.to_owned()]),
            owner_references: Some(vec![OwnerReference {
                api_version: "batch/v1".into(),
                kind: "CronJob".into(),
                name: name.clone(),
                uid: uid.clone(),
                controller: None,
                block_owner_deletion: None,
            }]),
            ..ObjectMeta::default()
        },
        spec: Some(spec),
        status: None,
    })
}

fn clamp(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

fn container(name: &str, s: &ContainerSource) -> Container {
    Container {
        name: name.to_owned(),
        image: Some(s.image.clone()),
        command: (!s.command.is_empty()).then(|| s.command.clone()),
        args: (!s.args.is_empty()).then(|| s.args.clone()),
        env: (!s.env.is_empty()).then(|| s.env.iter().map(env_var).collect()),
        resources: resources(&s.resources),
        security_context: Some(security_context(&s.security)),
        ..Container::default()
    }
}

/// Secrets are referenced (`secretKeyRef`), never inlined.
fn env_var(v: &EnvVar) -> KubeEnvVar {
    KubeEnvVar {
        name: v.name.clone(),
        value: v.value.clone(),
        value_from: v.secret.as_ref().map(|s| EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: s.name.clone(),
                key: s.key.clone(),
                optional: None,
            }),
            ..EnvVarSource::default()
        }),
    }
}

fn resources(r: &Resources) -> Option<ResourceRequirements> {
    fn list(l: &ResourceList) -> Option<BTreeMap<String, Quantity>> {
        let mut m = BTreeMap::new();
        if let Some(c) = &l.cpu {
            m.insert("cpu".to_owned(), Quantity(c.clone()));
        }
        if let Some(mem) = &l.memory {
            m.insert("memory".to_owned(), Quantity(mem.clone()));
        }
        (!m.is_empty()).then_some(m)
    }
    // A request without a limit gets the LimitRange's default limit, which
    // Kubernetes refuses when it is below the request: then the limit is
    // the request.
    let mut limits = r.limits.clone();
    for (request, limit, default) in [
        (&r.requests.cpu, &mut limits.cpu, DEFAULT_LIMITS.0),
        (&r.requests.memory, &mut limits.memory, DEFAULT_LIMITS.1),
    ] {
        if let (Some(req), None) = (request, &limit)
            && formats::quantity(req).is_ok_and(|q| formats::quantity(default).is_ok_and(|d| q > d))
        {
            *limit = Some(req.clone());
        }
    }
    (!r.is_empty()).then(|| ResourceRequirements {
        requests: list(&r.requests),
        limits: list(&limits),
        ..ResourceRequirements::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examples::{greet, placement, report, tick, wake, web};

    /// Every `metadata` in `object` (its own, a Job template's, a pod
    /// template's): the installation's label on each, and how many there are.
    fn installation_labels(object: &impl serde::Serialize) -> Vec<Option<String>> {
        fn walk(v: &serde_json::Value, out: &mut Vec<Option<String>>) {
            match v {
                serde_json::Value::Object(map) => {
                    for (k, v) in map {
                        if k == "metadata" {
                            out.push(
                                v.pointer(&format!(
                                    "/labels/{}",
                                    LABEL_INSTALLATION.replace('/', "~1")
                                ))
                                .and_then(|l| l.as_str())
                                .map(str::to_owned),
                            );
                        }
                        walk(v, out);
                    }
                }
                serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(&serde_json::to_value(object).unwrap(), &mut out);
        out
    }

    /// Every object HKS generates, and in a CronJob its Job template and pod
    /// template (the controllers copy labels to Jobs and pods from there),
    /// carries the installation's label: its watches select by it.
    #[test]
    fn every_generated_object_carries_the_installation() {
        let p = placement();
        let report = report();
        let tick = tick();
        let wake = wake();
        let inv = wake.function.as_ref().unwrap().resolve(
            &greet(),
            "hks.local/busybox:1",
            Resources::default(),
        );
        let (deployment, service) = stateless(&p, "web", &web());
        let mut cj = cronjob(&p, "r", &report, &report.resolve(Some(&web())).unwrap());
        cj.metadata.uid = Some("u".into());
        // A CronJob applied before installations were labelled: Run now
        // still labels its Job and pods.
        let mut older = cj.clone();
        for labels in [
            older.metadata.labels.as_mut(),
            older
                .spec
                .job_template
                .metadata
                .as_mut()
                .unwrap()
                .labels
                .as_mut(),
            older
                .spec
                .job_template
                .spec
                .as_mut()
                .unwrap()
                .template
                .metadata
                .as_mut()
                .unwrap()
                .labels
                .as_mut(),
        ] {
            labels.unwrap().remove(LABEL_INSTALLATION);
        }
        let all = [
            ("namespace", installation_labels(&namespace(&p)), 1),
            ("limit range", installation_labels(&limit_range(&p)), 1),
            ("deployment", installation_labels(&deployment), 2),
            ("service", installation_labels(&service.unwrap()), 1),
            ("cronjob", installation_labels(&cj), 3),
            (
                "cronjob with image",
                installation_labels(&cronjob(&p, "t", &tick, &tick.resolve(None).unwrap())),
                3,
            ),
            (
                "function cronjob",
                installation_labels(&function_cronjob(&p, "w", &wake, &inv)),
                3,
            ),
            (
                "manual job",
                installation_labels(&manual_job(&cj, &p.installation, "x", "abc").unwrap()),
                2,
            ),
            (
                "manual job of an older cronjob",
                installation_labels(&manual_job(&older, &p.installation, "x", "abc").unwrap()),
                2,
            ),
        ];
        for (what, labels, count) in all {
            assert_eq!(labels, vec![Some(p.installation.clone()); count], "{what}");
        }
    }

    #[test]
    fn golden_namespace() {
        insta::assert_yaml_snapshot!(namespace(&placement()));
    }

    #[test]
    fn golden_limit_range() {
        insta::assert_yaml_snapshot!(limit_range(&placement()));
    }

    /// Every pod HKS generates, whatever kind, runs hardened.
    #[test]
    fn every_generated_pod_is_hardened() {
        let p = placement();
        let report = report();
        let wake = wake();
        let inv = wake.function.as_ref().unwrap().resolve(
            &greet(),
            "hks.local/busybox:1",
            Resources::default(),
        );
        let pods = [
            stateless(&p, "web", &web()).0.spec.template.spec,
            cronjob(&p, "r", &report, &report.resolve(Some(&web())).unwrap())
                .spec
                .job_template
                .spec
                .unwrap()
                .template
                .spec,
            function_cronjob(&p, "w", &wake, &inv)
                .spec
                .job_template
                .spec
                .unwrap()
                .template
                .spec,
        ];
        for pod in pods {
            let pod = pod.unwrap();
            assert_eq!(pod.automount_service_account_token, Some(false));
            let seccomp = pod.security_context.unwrap().seccomp_profile.unwrap();
            assert_eq!(seccomp.type_, "RuntimeDefault");
            for c in pod.containers {
                let sc = c.security_context.unwrap();
                assert_eq!(sc.allow_privilege_escalation, Some(false));
                let caps = sc.capabilities.unwrap();
                assert_eq!(caps.drop, Some(vec!["ALL".to_owned()]));
                assert_eq!(caps.add, None);
                assert_eq!(sc.privileged, None);
            }
        }
    }

    #[test]
    fn what_a_user_loosens_reaches_the_container_and_nothing_more() {
        use crate::container::Capability;
        let mut spec = web();
        spec.security = Security {
            add_capabilities: vec![
                Capability::Setuid,
                Capability::NetBindService,
                Capability::Setuid,
            ],
            run_as_user: Some(1000),
            run_as_group: None,
            run_as_non_root: true,
            read_only_root_filesystem: false,
        };
        let (d, _) = stateless(&placement(), "web", &spec);
        let pod = d.spec.template.spec.unwrap();
        let sc = pod.containers[0].security_context.clone().unwrap();
        let caps = sc.capabilities.unwrap();
        assert_eq!(
            caps.add,
            Some(vec!["NET_BIND_SERVICE".to_owned(), "SETUID".to_owned()])
        );
        assert_eq!(caps.drop, Some(vec!["ALL".to_owned()]));
        assert_eq!(sc.run_as_user, Some(1000));
        assert_eq!(sc.run_as_non_root, Some(true));
        assert_eq!(sc.allow_privilege_escalation, Some(false));
        assert_eq!(pod.automount_service_account_token, Some(false));
    }

    /// A request above the LimitRange's default limit, with no limit of its
    /// own, would be refused by the LimitRange admission: it gets its request
    /// as limit. A smaller one keeps the LimitRange's default.
    #[test]
    fn a_request_above_the_default_limit_becomes_the_limit() {
        let r = |cpu: &str, memory: &str| Resources {
            requests: ResourceList {
                cpu: Some(cpu.to_owned()),
                memory: Some(memory.to_owned()),
            },
            limits: ResourceList::default(),
        };
        let big = resources(&r("2", "1Gi")).unwrap();
        let limits = big.limits.unwrap();
        assert_eq!(limits["cpu"], Quantity("2".into()));
        assert_eq!(limits["memory"], Quantity("1Gi".into()));
        let small = resources(&r("100m", "128Mi")).unwrap();
        assert_eq!(small.limits, None);
        let mut mixed = r("100m", "2Gi");
        mixed.limits.memory = Some("4Gi".into());
        let limits = resources(&mixed).unwrap().limits.unwrap();
        assert_eq!(limits.get("cpu"), None);
        assert_eq!(limits["memory"], Quantity("4Gi".into()));
    }

    #[test]
    fn golden_stateless() {
        let (d, s) = stateless(&placement(), "web", &web());
        insta::assert_yaml_snapshot!("stateless_deployment", d);
        insta::assert_yaml_snapshot!("stateless_service", s);
    }

    #[test]
    fn golden_cronjob_from_template() {
        let spec = report();
        let source = spec.resolve(Some(&web())).unwrap();
        insta::assert_yaml_snapshot!(cronjob(&placement(), "nightly-report", &spec, &source));
    }

    #[test]
    fn golden_cronjob_with_image_and_shell() {
        let spec = tick();
        let source = spec.resolve(None).unwrap();
        insta::assert_yaml_snapshot!(cronjob(&placement(), "tick", &spec, &source));
    }

    #[test]
    fn golden_function_cronjob() {
        let spec = wake();
        let call = spec.function.as_ref().unwrap();
        let inv = call.resolve(&greet(), "hks.local/busybox:1", Resources::default());
        insta::assert_yaml_snapshot!(function_cronjob(&placement(), "wake", &spec, &inv));
    }

    #[test]
    fn function_tokens_are_mounted_never_inlined() {
        let spec = wake();
        let inv = spec.function.as_ref().unwrap().resolve(
            &greet(),
            "hks.local/busybox:1",
            Resources::default(),
        );
        let json =
            serde_json::to_string(&function_cronjob(&placement(), "wake", &spec, &inv)).unwrap();
        assert!(json.contains(r#""secretName":"greet-token""#));
        assert!(json.contains("--token-file=/var/run/secrets/hks.dev/function/token"));
        assert!(!json.contains("Bearer"));
        assert!(json.contains(r#""restartPolicy":"Never""#));
        assert!(json.contains(r#""backoffLimit":1"#));
    }

    /// The `report` CronJob named `name` as the apiserver has it (with a uid).
    fn applied_report(name: &str, uid: &str) -> CronJob {
        let spec = report();
        let mut cj = cronjob(
            &placement(),
            name,
            &spec,
            &spec.resolve(Some(&web())).unwrap(),
        );
        cj.metadata.uid = Some(uid.into());
        cj
    }

    #[test]
    fn golden_manual_job() {
        let cj = applied_report("nightly-report", "2c9f3b1e-0000-4000-8000-000000000001");
        insta::assert_yaml_snapshot!(
            manual_job(&cj, "7f3a9c21b0de", "token:ci-bot", "k3x9q2").unwrap()
        );
    }

    #[test]
    fn overrides_change_the_command_env_and_time_limit_of_one_run() {
        let cj = applied_report("nightly-report", "u");
        let plain = manual_job(&cj, "7f3a9c21b0de", "someone", "abc").unwrap();
        assert_eq!(
            with_overrides(plain.clone(), &RunOverrides::default()),
            plain,
            "no overrides, no change"
        );
        let overrides: RunOverrides = serde_json::from_value(serde_json::json!({
            "command": {"argv": ["echo $MODE $EXTRA"], "shell": true},
            "env": [{"name": "MODE", "value": "once"}, {"name": "EXTRA", "secret": {"name": "s", "key": "k"}}],
            "timeoutSeconds": 60
        }))
        .unwrap();
        let job = with_overrides(plain.clone(), &overrides);
        let spec = job.spec.as_ref().unwrap();
        assert_eq!(spec.active_deadline_seconds, Some(60));
        let c = &spec.template.spec.as_ref().unwrap().containers[0];
        assert_eq!(
            c.command.as_deref(),
            Some(
                &[
                    "sh".to_owned(),
                    "-c".to_owned(),
                    "echo $MODE $EXTRA".to_owned()
                ][..]
            )
        );
        assert_eq!(c.args, None);
        let env = c.env.as_ref().unwrap();
        let before = plain
            .spec
            .as_ref()
            .unwrap()
            .template
            .spec
            .as_ref()
            .unwrap()
            .containers[0]
            .env
            .as_ref()
            .unwrap();
        // MODE is replaced in place, EXTRA added (a reference, not a value).
        assert_eq!(env.len(), before.len() + 1);
        let mode = env.iter().filter(|v| v.name == "MODE").collect::<Vec<_>>();
        assert_eq!(mode.len(), 1);
        assert_eq!(mode[0].value.as_deref(), Some("once"));
        let extra = env.iter().find(|v| v.name == "EXTRA").unwrap();
        assert_eq!(extra.value, None);
        assert!(extra.value_from.is_some());
        // The run reads them back from the Job.
        let run = crate::run::run(&job, &[]);
        assert_eq!(run.overrides.as_ref(), Some(&overrides));
        assert_eq!(crate::run::run(&plain, &[]).overrides, None);
    }

    #[test]
    fn manual_job_copies_the_whole_job_template() {
        let cj = applied_report("nightly-report", "u");
        let job = manual_job(&cj, "7f3a9c21b0de", "someone", "abc").unwrap();
        let mut expected = cj.spec.job_template.spec.unwrap();
        expected
            .template
            .metadata
            .as_mut()
            .unwrap()
            .labels
            .as_mut()
            .unwrap()
            .insert(LABEL_TRIGGER.into(), "manual".into());
        assert_eq!(job.spec.unwrap(), expected);
        let owner = &job.metadata.owner_references.unwrap()[0];
        assert_eq!(owner.controller, None);
    }

    #[test]
    fn a_rerun_job_has_the_runs_container_under_the_templates_name() {
        let cj = applied_report("nightly-report", "u");
        let before = Container {
            name: "old-name".into(),
            image: Some("registry.example/report:1".into()),
            command: Some(vec!["/app/report".into(), "--v1".into()]),
            ..Container::default()
        };
        let start = Start::Rerun {
            of: "nightly-report-29000000".into(),
            container: Box::new(before.clone()),
        };
        let job = started_job(&cj, "7f3a9c21b0de", "acme/ci", &start, "abc").unwrap();
        assert_eq!(job.metadata.name.as_deref(), Some("nightly-report-rabc"));
        let pod = job.spec.as_ref().unwrap().template.clone();
        let c = &pod.spec.unwrap().containers[0];
        assert_eq!(c.name, "nightly-report");
        assert_eq!(c.image, before.image);
        assert_eq!(c.command, before.command);
        assert_eq!(
            pod.metadata.unwrap().labels.unwrap()[LABEL_TRIGGER],
            "rerun"
        );
        let run = crate::run::run(&job, &[]);
        assert_eq!(run.trigger, crate::run::Trigger::Rerun);
        assert_eq!(run.rerun_of.as_deref(), Some("nightly-report-29000000"));
        assert_eq!(container_of_job(&job).unwrap().command, before.command);
    }

    #[test]
    fn a_backfill_job_is_named_and_annotated_as_the_controller_would_have() {
        let cj = applied_report("nightly-report", "u");
        let at: jiff::Timestamp = "2026-11-27T02:00:00Z".parse().unwrap();
        let start = Start::Backfill {
            scheduled: at.in_tz("Europe/Berlin").unwrap(),
            wait: true,
        };
        let job = started_job(&cj, "7f3a9c21b0de", "acme/ci", &start, "abc").unwrap();
        assert_eq!(
            job.metadata.name.as_deref(),
            Some(format!("nightly-report-{}", at.as_second() / 60).as_str())
        );
        assert_eq!(
            job.metadata.annotations.as_ref().unwrap()[ANNOTATION_SCHEDULED_TIMESTAMP],
            "2026-11-27T03:00:00+01:00"
        );
        assert_eq!(job.spec.as_ref().unwrap().suspend, Some(true));
        let run = crate::run::run(&job, &[]);
        assert_eq!(run.trigger, crate::run::Trigger::Backfill);
        assert_eq!(run.scheduled_at, Some(at));
        assert_eq!(run.result, crate::run::RunResult::Suspended);
        // UTC is written as Go writes it.
        let utc = scheduled_timestamp(&at.in_tz("UTC").unwrap());
        assert_eq!(utc, "2026-11-27T02:00:00Z");
    }

    #[test]
    fn manual_job_names_fit_in_63_characters() {
        let long = "a".repeat(52);
        let cj = applied_report(&long, "u");
        let name = manual_job(&cj, "7f3a9c21b0de", "x", "0123456789abcdef")
            .unwrap()
            .metadata
            .name
            .unwrap();
        assert_eq!(name.len(), 63);
        assert!(name.starts_with(&long));
    }

    #[test]
    fn secrets_are_referenced_never_inlined() {
        let spec = report();
        let cj = cronjob(
            &placement(),
            "r",
            &spec,
            &spec.resolve(Some(&web())).unwrap(),
        );
        let yaml = serde_json::to_string(&cj).unwrap();
        assert!(yaml.contains("secretKeyRef"));
    }
}
