//! Runs of a CronJob as the user sees them, derived from the Jobs and pods
//! Kubernetes keeps. Pure: the adapters read the objects, this decides what
//! they mean (following kubectl's precedence for a Job's state).

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ContainerStateTerminated, Pod};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::spec::RunOverrides;

use crate::labels::{
    ANNOTATION_CANCELLED_BY, ANNOTATION_INSTANTIATE, ANNOTATION_OVERRIDES, ANNOTATION_RERUN_OF,
    ANNOTATION_SCHEDULED_TIMESTAMP, ANNOTATION_TRIGGERED_BY, LABEL_CONTROLLER_UID, LABEL_TRIGGER,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// Started by the CronJob controller at a scheduled time.
    Scheduled,
    /// Started by Run now.
    Manual,
    /// A re-run of an earlier run (`rerunOf`), with the container it had.
    Rerun,
    /// A scheduled time run late (`scheduledAt`), by a user's backfill.
    Backfill,
}

impl Trigger {
    /// The trigger of a Job: [`LABEL_TRIGGER`] as HKS set it, or the
    /// `instantiate: manual` annotation of `kubectl create job --from`.
    fn of(
        labels: Option<&std::collections::BTreeMap<String, String>>,
        annotations: Option<&std::collections::BTreeMap<String, String>>,
    ) -> Self {
        match labels
            .and_then(|l| l.get(LABEL_TRIGGER))
            .map(String::as_str)
        {
            Some("rerun") => Self::Rerun,
            Some("backfill") => Self::Backfill,
            Some("manual") => Self::Manual,
            _ if annotations
                .is_some_and(|a| a.get(ANNOTATION_INSTANTIATE).is_some_and(|v| v == "manual")) =>
            {
                Self::Manual
            }
            _ => Self::Scheduled,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum RunResult {
    /// Created, no pod running yet.
    Pending,
    Running,
    Succeeded,
    Failed,
    Suspended,
    /// A scheduled time that started no Job before its starting deadline
    /// (controller or cluster down, or Forbid with a run still going).
    Missed,
    /// Stopped by a user (`cancelledBy`): neither a failure nor a success
    /// for alerts.
    Cancelled,
}

impl RunResult {
    /// Whether the run has ended (or never will start).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::Failed | Self::Missed | Self::Cancelled
        )
    }
}

/// One run: a Job and its pods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    /// The Job's name; identifies the run.
    pub name: String,
    /// The Job's uid (none for a missed run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    pub trigger: Trigger,
    /// Who started a manual run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub triggered_by: Option<String>,
    /// The time the schedule called for (scheduled runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub scheduled_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub created_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<Timestamp>,
    /// From start to end, for finished runs.
    pub duration_seconds: Option<i64>,
    /// For a scheduled run whose container started: from the scheduled time
    /// to the first container's start (`startDelay` has the two parts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_delay_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_delay: Option<StartDelay>,
    pub result: RunResult,
    /// Why it failed: `BackoffLimitExceeded`, `DeadlineExceeded`, `OOMKilled`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The exit code of the last attempt's container.
    pub exit_code: Option<i32>,
    /// Every pod of the run (with `restartPolicy: Never`, each retry is a new pod).
    pub attempts: Vec<Attempt>,
    /// False when Kubernetes no longer has the Job (history limits, cleanup)
    /// and the run, with its logs, is served from HKS's run history.
    #[serde(default = "yes")]
    pub in_cluster: bool,
    /// Who cancelled the run (set as soon as it was asked; the result is
    /// `Cancelled` once Kubernetes stopped it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_by: Option<String>,
    /// What a manual run changed for itself (Run now with overrides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overrides: Option<RunOverrides>,
    /// The run a re-run repeats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerun_of: Option<String>,
    /// For a missed run: the run that backfilled it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backfilled_by: Option<String>,
}

fn yes() -> bool {
    true
}

/// A run as a history strip shows it: enough to colour and size a mark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunMark {
    pub name: String,
    pub result: RunResult,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub created_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<i64>,
}

impl From<&Run> for RunMark {
    fn from(r: &Run) -> Self {
        Self {
            name: r.name.clone(),
            result: r.result,
            created_at: r.created_at,
            duration_seconds: r.duration_seconds,
        }
    }
}

/// The two parts of a scheduled run's start delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StartDelay {
    /// From the scheduled time to the Job's creation: the CronJob controller.
    pub to_job_seconds: i64,
    /// From the Job's creation to the first container's start: the Job
    /// controller, the scheduler, the image and the container runtime.
    pub to_container_seconds: i64,
}

/// The start delay of a run scheduled at `scheduled`, whose Job was created
/// at `job_created` and whose first container started at `container`
/// (Kubernetes' times have whole seconds: a part is never below 0).
pub fn start_delay(
    scheduled: Timestamp,
    job_created: Timestamp,
    container: Timestamp,
) -> (i64, StartDelay) {
    let secs = |from: Timestamp, to: Timestamp| (to.as_second() - from.as_second()).max(0);
    (
        secs(scheduled, container),
        StartDelay {
            to_job_seconds: secs(scheduled, job_created),
            to_container_seconds: secs(job_created, container),
        },
    )
}

/// One pod of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub pod: String,
    /// The pod's phase: Pending, Running, Succeeded, Failed, Unknown.
    pub phase: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<Timestamp>,
    /// When its (first) container started, once it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub container_started_at: Option<Timestamp>,
    pub exit_code: Option<i32>,
    /// `Completed`, `Error`, `OOMKilled`, `ContainerCannotRun`, or why it is waiting
    /// (`ImagePullBackOff`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn condition(job: &Job, kind: &str) -> Option<(Option<String>, Option<String>, Option<Timestamp>)> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == kind && c.status == "True")
        .map(|c| {
            (
                c.reason.clone(),
                c.message.clone(),
                c.last_transition_time.as_ref().map(|t| t.0),
            )
        })
}

fn terminated(pod: &Pod) -> Option<&ContainerStateTerminated> {
    let statuses = pod.status.as_ref()?.container_statuses.as_ref()?;
    statuses.iter().find_map(|s| {
        s.state
            .as_ref()
            .and_then(|st| st.terminated.as_ref())
            .or_else(|| s.last_state.as_ref()?.terminated.as_ref())
    })
}

/// When the pod's first container started (running, or since ended).
fn container_started(pod: &Pod) -> Option<Timestamp> {
    let statuses = pod.status.as_ref()?.container_statuses.as_ref()?;
    statuses.iter().find_map(|s| {
        let state = s.state.as_ref();
        state
            .and_then(|st| st.running.as_ref()?.started_at.as_ref())
            .or_else(|| state?.terminated.as_ref()?.started_at.as_ref())
            .or_else(|| {
                s.last_state
                    .as_ref()?
                    .terminated
                    .as_ref()?
                    .started_at
                    .as_ref()
            })
            .map(|t| t.0)
    })
}

fn waiting_reason(pod: &Pod) -> Option<String> {
    let statuses = pod.status.as_ref()?.container_statuses.as_ref()?;
    statuses
        .iter()
        .find_map(|s| s.state.as_ref()?.waiting.as_ref()?.reason.clone())
}

/// An attempt from a pod.
pub fn attempt(pod: &Pod) -> Attempt {
    let t = terminated(pod);
    Attempt {
        pod: pod.metadata.name.clone().unwrap_or_default(),
        phase: pod
            .status
            .as_ref()
            .and_then(|s| s.phase.clone())
            .unwrap_or_else(|| "Pending".into()),
        started_at: t
            .and_then(|t| t.started_at.as_ref().map(|x| x.0))
            .or_else(|| pod.status.as_ref()?.start_time.as_ref().map(|x| x.0)),
        finished_at: t.and_then(|t| t.finished_at.as_ref().map(|x| x.0)),
        container_started_at: container_started(pod),
        exit_code: t.map(|t| t.exit_code),
        reason: t
            .and_then(|t| t.reason.clone())
            .or_else(|| waiting_reason(pod)),
    }
}

/// A run's pods in the order they were created (then by name): its attempts.
fn oldest_first<'a>(pods: &[&'a Pod]) -> Vec<&'a Pod> {
    let mut ordered = pods.to_vec();
    ordered.sort_by_key(|p| {
        (
            p.metadata.creation_timestamp.as_ref().map(|t| t.0),
            p.metadata.name.clone(),
        )
    });
    ordered
}

/// A run from its Job and the Job's pods (any order).
pub fn run(job: &Job, pods: &[&Pod]) -> Run {
    let meta = &job.metadata;
    let labels = meta.labels.as_ref();
    let annotations = meta.annotations.as_ref();
    let trigger = Trigger::of(labels, annotations);
    let attempts: Vec<Attempt> = oldest_first(pods).into_iter().map(attempt).collect();
    let last = attempts.last();

    let status = job.status.as_ref();
    let started_at = status.and_then(|s| s.start_time.as_ref().map(|t| t.0));
    let suspended = job.spec.as_ref().and_then(|s| s.suspend).unwrap_or(false)
        || condition(job, "Suspended").is_some();
    let (result, reason, message, finished_at) = if let Some((_, _, _)) = condition(job, "Complete")
    {
        (
            RunResult::Succeeded,
            None,
            None,
            status.and_then(|s| s.completion_time.as_ref().map(|t| t.0)),
        )
    } else if let Some((reason, message, at)) =
        condition(job, "Failed").or_else(|| condition(job, "FailureTarget"))
    {
        let oom = last.and_then(|a| a.reason.as_deref()) == Some("OOMKilled");
        (
            RunResult::Failed,
            if oom {
                Some("OOMKilled".into())
            } else {
                reason
            },
            message,
            at,
        )
    } else if let Some((_, _, at)) = condition(job, "SuccessCriteriaMet") {
        (RunResult::Succeeded, None, None, at)
    } else if suspended {
        (RunResult::Suspended, None, None, None)
    } else if status.and_then(|s| s.active).unwrap_or(0) > 0
        && attempts.iter().any(|a| a.phase == "Running")
    {
        (RunResult::Running, None, None, None)
    } else if started_at.is_some() {
        // Started, but no pod is running yet: waiting reasons such as
        // ImagePullBackOff are worth showing.
        let waiting = last
            .filter(|a| a.phase == "Pending")
            .and_then(|a| a.reason.clone());
        (
            if waiting.is_some() {
                RunResult::Pending
            } else {
                RunResult::Running
            },
            waiting,
            None,
            None,
        )
    } else {
        (RunResult::Pending, None, None, None)
    };
    let scheduled_at = annotations
        .and_then(|a| a.get(ANNOTATION_SCHEDULED_TIMESTAMP))
        .and_then(|s| {
            s.parse::<jiff::Zoned>()
                .ok()
                .map(|z| z.timestamp())
                .or_else(|| s.parse::<Timestamp>().ok())
        });
    let created_at = meta.creation_timestamp.as_ref().map(|t| t.0);
    // A cancel cuts the Job's time limit short: the Job fails with
    // DeadlineExceeded, which here is the user's cancel, not a failure.
    let cancelled_by = annotations.and_then(|a| a.get(ANNOTATION_CANCELLED_BY).cloned());
    let (result, reason, message) = match (&cancelled_by, result) {
        (Some(who), RunResult::Failed) => (
            RunResult::Cancelled,
            Some("Cancelled".to_owned()),
            Some(format!("cancelled by {who}")),
        ),
        _ => (result, reason, message),
    };
    let delay = match (scheduled_at, created_at, attempts.first()) {
        (Some(s), Some(c), Some(a)) if trigger == Trigger::Scheduled => a
            .container_started_at
            .map(|started| start_delay(s, c, started)),
        _ => None,
    };
    Run {
        name: meta.name.clone().unwrap_or_default(),
        uid: meta.uid.clone(),
        trigger,
        triggered_by: annotations.and_then(|a| a.get(ANNOTATION_TRIGGERED_BY).cloned()),
        scheduled_at,
        created_at,
        started_at,
        finished_at,
        duration_seconds: match (started_at, finished_at) {
            (Some(s), Some(f)) => Some(f.as_second() - s.as_second()),
            _ => None,
        },
        result,
        reason,
        message,
        exit_code: last.and_then(|a| a.exit_code),
        attempts,
        start_delay_seconds: delay.map(|d| d.0),
        start_delay: delay.map(|d| d.1),
        in_cluster: true,
        cancelled_by,
        // What HKS wrote when it created the Job; anything else there is ignored.
        overrides: annotations
            .and_then(|a| a.get(ANNOTATION_OVERRIDES))
            .and_then(|text| serde_json::from_str::<RunOverrides>(text).ok())
            .filter(|o| !o.is_empty()),
        rerun_of: annotations.and_then(|a| a.get(ANNOTATION_RERUN_OF).cloned()),
        backfilled_by: None,
    }
}

/// A run whose Job is gone, from the pods HKS's finalizer kept: the Job's
/// status is lost, so the result is the last attempt's (a run that was
/// still retrying when the Job was deleted counts as failed).
pub fn run_from_pods(job_name: &str, pods: &[&Pod]) -> Run {
    let ordered = oldest_first(pods);
    let attempts: Vec<Attempt> = ordered.iter().map(|p| attempt(p)).collect();
    let labels = ordered.first().and_then(|p| p.metadata.labels.as_ref());
    let trigger = Trigger::of(labels, None);
    let last = attempts.last();
    let result = match last.map(|a| a.phase.as_str()) {
        Some("Succeeded") => RunResult::Succeeded,
        Some("Failed") => RunResult::Failed,
        Some("Running") => RunResult::Running,
        _ => RunResult::Pending,
    };
    let started_at = attempts.first().and_then(|a| a.started_at);
    let finished_at = if result.is_final() {
        last.and_then(|a| a.finished_at)
    } else {
        None
    };
    Run {
        name: job_name.to_owned(),
        uid: labels.and_then(|l| l.get(LABEL_CONTROLLER_UID).cloned()),
        trigger,
        triggered_by: None,
        scheduled_at: None,
        created_at: ordered
            .first()
            .and_then(|p| p.metadata.creation_timestamp.as_ref().map(|t| t.0)),
        started_at,
        finished_at,
        duration_seconds: match (started_at, finished_at) {
            (Some(s), Some(f)) => Some(f.as_second() - s.as_second()),
            _ => None,
        },
        result,
        reason: if result == RunResult::Failed {
            last.and_then(|a| a.reason.clone())
        } else {
            None
        },
        message: Some(
            "Rebuilt from its pods: Kubernetes deleted the Job before HKS recorded its end.".into(),
        ),
        exit_code: last.and_then(|a| a.exit_code),
        attempts,
        start_delay_seconds: None,
        start_delay: None,
        in_cluster: false,
        cancelled_by: None,
        overrides: None,
        rerun_of: None,
        backfilled_by: None,
    }
}

/// The name a missed run is listed under: it never had a Job.
pub fn missed_run_name(scheduled: Timestamp) -> String {
    format!("missed-{}", scheduled.as_second() / 60)
}

/// A scheduled time that started no Job.
pub fn missed_run(scheduled: Timestamp, reason: Option<String>, message: String) -> Run {
    Run {
        name: missed_run_name(scheduled),
        uid: None,
        trigger: Trigger::Scheduled,
        triggered_by: None,
        scheduled_at: Some(scheduled),
        created_at: Some(scheduled),
        started_at: None,
        finished_at: None,
        duration_seconds: None,
        result: RunResult::Missed,
        reason,
        message: Some(message),
        exit_code: None,
        attempts: vec![],
        start_delay_seconds: None,
        start_delay: None,
        in_cluster: false,
        cancelled_by: None,
        overrides: None,
        rerun_of: None,
        backfilled_by: None,
    }
}

/// Newest first: by creation time, then name.
pub fn sort_newest_first(runs: &mut [Run]) {
    runs.sort_by(|a, b| (b.created_at, &b.name).cmp(&(a.created_at, &a.name)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(v: serde_json::Value) -> Job {
        serde_json::from_value(v).unwrap()
    }
    fn pod(v: serde_json::Value) -> Pod {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn succeeded_scheduled_run() {
        let j = job(json!({
            "metadata": {"name": "report-29000000", "creationTimestamp": "2025-01-01T03:00:00Z",
                "annotations": {"batch.kubernetes.io/cronjob-scheduled-timestamp": "2025-01-01T04:00:00+01:00"}},
            "status": {"startTime": "2025-01-01T03:00:01Z", "completionTime": "2025-01-01T03:00:31Z",
                "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]}
        }));
        let p = pod(
            json!({"metadata": {"name": "report-29000000-abcde", "creationTimestamp": "2025-01-01T03:00:01Z"},
            "status": {"phase": "Succeeded", "containerStatuses": [{"name": "c", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": "2025-01-01T03:00:02Z", "finishedAt": "2025-01-01T03:00:30Z"}}}]}}),
        );
        let r = run(&j, &[&p]);
        assert_eq!(r.result, RunResult::Succeeded);
        assert_eq!(r.trigger, Trigger::Scheduled);
        assert_eq!(
            r.scheduled_at,
            Some("2025-01-01T03:00:00Z".parse().unwrap())
        );
        assert_eq!(r.duration_seconds, Some(30));
        assert_eq!(r.exit_code, Some(0));
        // Scheduled 03:00:00, Job 03:00:00, container 03:00:02.
        assert_eq!(r.start_delay_seconds, Some(2));
        assert_eq!(
            r.start_delay,
            Some(StartDelay {
                to_job_seconds: 0,
                to_container_seconds: 2
            })
        );
    }

    #[test]
    fn the_start_delay_has_two_parts_and_only_scheduled_started_runs_have_one() {
        let scheduled = |created: &str| {
            job(json!({
                "metadata": {"name": "report-29000000", "creationTimestamp": created,
                    "annotations": {"batch.kubernetes.io/cronjob-scheduled-timestamp": "2025-01-01T03:00:00Z"}},
                "status": {"startTime": created, "active": 1}
            }))
        };
        let running = pod(
            json!({"metadata": {"name": "report-29000000-a", "creationTimestamp": "2025-01-01T03:00:09Z"},
            "status": {"phase": "Running", "startTime": "2025-01-01T03:00:09Z", "containerStatuses": [{"name": "c", "image": "i", "imageID": "", "ready": true, "restartCount": 0,
                "state": {"running": {"startedAt": "2025-01-01T03:00:12Z"}}}]}}),
        );
        let r = run(&scheduled("2025-01-01T03:00:07Z"), &[&running]);
        assert_eq!(r.start_delay_seconds, Some(12));
        assert_eq!(
            r.start_delay,
            Some(StartDelay {
                to_job_seconds: 7,
                to_container_seconds: 5
            })
        );
        // Not started yet: pulling its image.
        let pulling = pod(json!({"metadata": {"name": "report-29000000-a"},
            "status": {"phase": "Pending", "containerStatuses": [{"name": "c", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"waiting": {"reason": "ContainerCreating"}}}]}}));
        let r = run(&scheduled("2025-01-01T03:00:07Z"), &[&pulling]);
        assert_eq!((r.start_delay_seconds, r.start_delay), (None, None));
        // A manual run has no schedule to be late for.
        let manual = job(
            json!({"metadata": {"name": "report-m1", "creationTimestamp": "2025-01-01T03:00:07Z",
            "labels": {"hks.dev/trigger": "manual"}}}),
        );
        assert_eq!(run(&manual, &[&running]).start_delay_seconds, None);
    }

    #[test]
    fn failed_manual_run_reports_oom_and_every_attempt() {
        let j = job(json!({
            "metadata": {"name": "report-mabc", "labels": {"hks.dev/trigger": "manual"}, "annotations": {"hks.dev/triggered-by": "ci"}},
            "status": {"startTime": "2025-01-01T03:00:00Z",
                "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "lastTransitionTime": "2025-01-01T03:01:00Z"}]}
        }));
        let term = |name: &str, at: &str, reason: &str, code: i32| {
            pod(json!({"metadata": {"name": name, "creationTimestamp": at},
                "status": {"phase": "Failed", "containerStatuses": [{"name": "c", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
                    "state": {"terminated": {"exitCode": code, "reason": reason}}}]}}))
        };
        let p2 = term("b", "2025-01-01T03:00:30Z", "OOMKilled", 137);
        let p1 = term("a", "2025-01-01T03:00:00Z", "Error", 1);
        let r = run(&j, &[&p2, &p1]);
        assert_eq!(r.result, RunResult::Failed);
        assert_eq!(r.trigger, Trigger::Manual);
        assert_eq!(r.triggered_by.as_deref(), Some("ci"));
        assert_eq!(r.reason.as_deref(), Some("OOMKilled"));
        assert_eq!(r.exit_code, Some(137));
        assert_eq!(
            r.attempts
                .iter()
                .map(|a| a.pod.as_str())
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(r.duration_seconds, Some(60));
    }

    #[test]
    fn deadline_exceeded() {
        let j = job(
            json!({"metadata": {"name": "x"}, "status": {"startTime": "2025-01-01T03:00:00Z",
            "conditions": [{"type": "FailureTarget", "status": "True", "reason": "DeadlineExceeded"}]}}),
        );
        let r = run(&j, &[]);
        assert_eq!(
            (r.result, r.reason.as_deref()),
            (RunResult::Failed, Some("DeadlineExceeded"))
        );
    }
}
