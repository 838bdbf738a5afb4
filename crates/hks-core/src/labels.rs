//! The names of the labels, annotations and finalizer that HKS puts on
//! Kubernetes objects, and of the ones Kubernetes puts there that HKS reads.
//! Plain constants with no dependencies, so that every module that writes
//! objects (`manifest`), reads them (`run`) or checks user input against
//! them (`spec`) can name them without depending on the others.

/// Prefix of HKS's own labels and annotations.
pub const LABEL_PREFIX: &str = "hks.dev/";
/// The HKS installation that made the object (an id its store keeps): two
/// installations on one cluster, each with a tenant of the same name, see
/// and remove only their own objects.
pub const LABEL_INSTALLATION: &str = "hks.dev/installation";
pub const LABEL_TENANT: &str = "hks.dev/tenant";
pub const LABEL_PROJECT: &str = "hks.dev/project";
pub const LABEL_APPLICATION: &str = "hks.dev/application";
pub const LABEL_TYPE: &str = "hks.dev/type";
/// On Jobs (and their pods) that HKS started: `manual` (Run now), `rerun`
/// or `backfill`; absent on scheduled runs.
pub const LABEL_TRIGGER: &str = "hks.dev/trigger";
/// Who started a manual run.
pub const ANNOTATION_TRIGGERED_BY: &str = "hks.dev/triggered-by";
/// Who cancelled a run (HKS sets it with the Job's time limit cut short).
pub const ANNOTATION_CANCELLED_BY: &str = "hks.dev/cancelled-by";
/// A manual run's one-off overrides, as JSON (`spec::RunOverrides`).
pub const ANNOTATION_OVERRIDES: &str = "hks.dev/overrides";
/// The run a re-run repeats.
pub const ANNOTATION_RERUN_OF: &str = "hks.dev/rerun-of";
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "hks";
/// The annotation `kubectl create job --from=cronjob/...` sets.
pub const ANNOTATION_INSTANTIATE: &str = "cronjob.kubernetes.io/instantiate";
/// HKS's finalizer on the pods (from the pod template) and Jobs of a
/// CronJob: Kubernetes cannot remove a finished run, and its logs with it,
/// before HKS's run recorder has archived them, even with history limits of
/// 0 or while HKS is down. The recorder removes it once the run is recorded.
pub const FINALIZER_ARCHIVE: &str = "hks.dev/archive-logs";

/// The label the Job controller puts on a Job's pods, holding the Job's name.
pub const LABEL_JOB_NAME: &str = "batch.kubernetes.io/job-name";
/// The label the Job controller puts on a Job's pods, holding the Job's uid.
pub const LABEL_CONTROLLER_UID: &str = "batch.kubernetes.io/controller-uid";
/// The annotation the CronJob controller puts on the Jobs it creates.
pub const ANNOTATION_SCHEDULED_TIMESTAMP: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";
