//! The run history: runs as the recorder saw them and the logs of
//! their finished attempts, kept after Kubernetes deleted the Jobs.
//!
//! Recording is idempotent: a run is written only when what is known of it
//! changed, a run that ended is never reopened, and a log is archived once
//! per attempt; duplicate events or a replay after a restart change nothing.

use hks_core::run::{Run, RunMark, RunResult};
use jiff::Timestamp;
use sqlx::Row;

use crate::{Backend, Project, Result, Store, StoreError, q, ts};

/// What [`Store::record_run`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Recorded {
    /// The stored record changed (or is new).
    pub changed: bool,
    /// The run is final in the store and its finished-run alerts were not
    /// raised yet.
    pub needs_alerts: bool,
    /// The run's container is not stored yet ([`Store::set_run_container`]).
    pub needs_container: bool,
}

/// One attempt's archived log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLog {
    pub pod: String,
    /// Gzip of the kept text.
    pub gzip: Vec<u8>,
    pub original_bytes: i64,
    pub truncated: bool,
}

fn result_name(r: RunResult) -> &'static str {
    match r {
        RunResult::Pending => "Pending",
        RunResult::Running => "Running",
        RunResult::Succeeded => "Succeeded",
        RunResult::Failed => "Failed",
        RunResult::Suspended => "Suspended",
        RunResult::Missed => "Missed",
        RunResult::Cancelled => "Cancelled",
    }
}

/// Times in whole seconds, so that their text sorts in time order.
fn secs(t: Timestamp) -> String {
    Timestamp::from_second(t.as_second())
        .unwrap_or(t)
        .to_string()
}

fn decode(row: &sqlx::any::AnyRow) -> Result<Run> {
    let json: String = row.try_get("run").map_err(q)?;
    serde_json::from_str(&json).map_err(StoreError::Corrupt)
}

impl Store {
    /// The project whose namespace this is, if any.
    pub async fn project_by_namespace(&self, namespace: &str) -> Result<Option<Project>> {
        let row = sqlx::query("SELECT * FROM projects WHERE namespace = $1")
            .bind(namespace)
            .fetch_optional(&self.pool)
            .await
            .map_err(q)?;
        row.as_ref().map(Self::project_row).transpose()
    }

    /// Records what is known of a run now. A run already final in the store
    /// stays as it is, except that it may learn it left the cluster.
    pub async fn record_run(&self, project_id: &str, cronjob: &str, run: &Run) -> Result<Recorded> {
        let json = serde_json::to_string(run).map_err(StoreError::Corrupt)?;
        let mut tx = self.write_tx().await?;
        let existing = sqlx::query(
            "SELECT run, final, alerted,
                    CASE WHEN container IS NULL THEN 1 ELSE 0 END AS no_container FROM runs
             WHERE project_id = $1 AND cronjob = $2 AND name = $3",
        )
        .bind(project_id)
        .bind(cronjob)
        .bind(&run.name)
        .fetch_optional(&mut *tx)
        .await
        .map_err(q)?;
        let needs_container = match &existing {
            Some(row) => row.try_get::<i64, _>("no_container").map_err(q)? == 1,
            None => true,
        };
        let (json, is_final) = match &existing {
            Some(row) => {
                let stored: String = row.try_get("run").map_err(q)?;
                let was_final: i64 = row.try_get("final").map_err(q)?;
                let alerted: i64 = row.try_get("alerted").map_err(q)?;
                let keep = if was_final == 1 {
                    // Ended runs do not change, but may leave the cluster.
                    let mut old: Run =
                        serde_json::from_str(&stored).map_err(StoreError::Corrupt)?;
                    old.in_cluster = run.in_cluster;
                    serde_json::to_string(&old).map_err(StoreError::Corrupt)?
                } else {
                    json
                };
                if keep == stored {
                    return Ok(Recorded {
                        changed: false,
                        needs_alerts: was_final == 1 && alerted == 0,
                        needs_container,
                    });
                }
                (keep, was_final == 1 || run.result.is_final())
            }
            None => (json, run.result.is_final()),
        };
        let stored: Run = serde_json::from_str(&json).map_err(StoreError::Corrupt)?;
        let created = stored
            .created_at
            .or(stored.scheduled_at)
            .unwrap_or_else(Timestamp::now);
        sqlx::query(
            "INSERT INTO runs (project_id, cronjob, name, result, final, created_at, finished_at, run, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (project_id, cronjob, name) DO UPDATE SET
                result = excluded.result, final = excluded.final, created_at = excluded.created_at,
                finished_at = excluded.finished_at, run = excluded.run, recorded_at = excluded.recorded_at",
        )
        .bind(project_id)
        .bind(cronjob)
        .bind(&stored.name)
        .bind(result_name(stored.result))
        .bind(i64::from(is_final))
        .bind(secs(created))
        .bind(stored.finished_at.map(secs))
        .bind(&json)
        .bind(Timestamp::now().to_string())
        .execute(&mut *tx)
        .await
        .map_err(q)?;
        let alerted: i64 = sqlx::query_scalar(
            "SELECT alerted FROM runs WHERE project_id = $1 AND cronjob = $2 AND name = $3",
        )
        .bind(project_id)
        .bind(cronjob)
        .bind(&stored.name)
        .fetch_one(&mut *tx)
        .await
        .map_err(q)?;
        tx.commit().await.map_err(q)?;
        Ok(Recorded {
            changed: true,
            needs_alerts: is_final && alerted == 0,
            needs_container,
        })
    }

    /// Stores the container a recorded run ran (JSON of a Kubernetes
    /// Container), unless one is stored already: a run's container does
    /// not change.
    pub async fn set_run_container(
        &self,
        project_id: &str,
        cronjob: &str,
        run: &str,
        container: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE runs SET container = $1 WHERE project_id = $2 AND cronjob = $3 AND name = $4 AND container IS NULL",
        )
        .bind(container)
        .bind(project_id)
        .bind(cronjob)
        .bind(run)
        .execute(&self.pool)
        .await
        .map_err(q)
        .map(drop)
    }

    /// The container a recorded run ran, if HKS stored it.
    pub async fn run_container(
        &self,
        project_id: &str,
        cronjob: &str,
        run: &str,
    ) -> Result<Option<String>> {
        let value: Option<Option<String>> = sqlx::query_scalar(
            "SELECT container FROM runs WHERE project_id = $1 AND cronjob = $2 AND name = $3",
        )
        .bind(project_id)
        .bind(cronjob)
        .bind(run)
        .fetch_optional(&self.pool)
        .await
        .map_err(q)?;
        Ok(value.flatten())
    }

    /// Notes on a missed run that the run `by` backfilled it; false when no
    /// such missed run is recorded.
    pub async fn mark_backfilled(
        &self,
        project_id: &str,
        cronjob: &str,
        missed: &str,
        by: &str,
    ) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let Some(row) = sqlx::query(
            "SELECT run FROM runs WHERE project_id = $1 AND cronjob = $2 AND name = $3 AND result = 'Missed'",
        )
        .bind(project_id)
        .bind(cronjob)
        .bind(missed)
        .fetch_optional(&mut *tx)
        .await
        .map_err(q)?
        else {
            return Ok(false);
        };
        let mut run = decode(&row)?;
        run.backfilled_by = Some(by.to_owned());
        let json = serde_json::to_string(&run).map_err(StoreError::Corrupt)?;
        sqlx::query(
            "UPDATE runs SET run = $1 WHERE project_id = $2 AND cronjob = $3 AND name = $4",
        )
        .bind(json)
        .bind(project_id)
        .bind(cronjob)
        .bind(missed)
        .execute(&mut *tx)
        .await
        .map_err(q)?;
        tx.commit().await.map_err(q)?;
        Ok(true)
    }

    /// Notes that a final run's alerts were raised.
    pub async fn mark_alerted(&self, project_id: &str, cronjob: &str, run: &str) -> Result<()> {
        sqlx::query(
            "UPDATE runs SET alerted = 1 WHERE project_id = $1 AND cronjob = $2 AND name = $3",
        )
        .bind(project_id)
        .bind(cronjob)
        .bind(run)
        .execute(&self.pool)
        .await
        .map_err(q)
        .map(drop)
    }

    /// [`Store::runs_needing_alerts`] of one tenant's projects: what the
    /// replica that takes the tenant over raises first.
    pub async fn runs_needing_alerts_of(
        &self,
        tenant_id: &str,
    ) -> Result<Vec<(String, String, Run)>> {
        let rows = sqlx::query(
            "SELECT r.project_id, r.cronjob, r.run FROM runs r JOIN projects p ON p.id = r.project_id \
             WHERE p.tenant_id = $1 AND r.final = 1 AND r.alerted = 0 ORDER BY r.created_at",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await
        .map_err(q)?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("project_id").map_err(q)?,
                    r.try_get("cronjob").map_err(q)?,
                    decode(r)?,
                ))
            })
            .collect()
    }

    /// Final runs whose alerts were not raised (a crash came in between), as
    /// (project id, cronjob, run).
    pub async fn runs_needing_alerts(&self) -> Result<Vec<(String, String, Run)>> {
        let rows = sqlx::query(
            "SELECT project_id, cronjob, run FROM runs WHERE final = 1 AND alerted = 0 ORDER BY created_at",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(q)?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("project_id").map_err(q)?,
                    r.try_get("cronjob").map_err(q)?,
                    decode(r)?,
                ))
            })
            .collect()
    }

    /// A CronJob's recorded runs, newest first.
    pub async fn runs(&self, project_id: &str, cronjob: &str, limit: u32) -> Result<Vec<Run>> {
        let rows = sqlx::query(
            "SELECT run FROM runs WHERE project_id = $1 AND cronjob = $2
             ORDER BY created_at DESC, name DESC LIMIT $3",
        )
        .bind(project_id)
        .bind(cronjob)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(q)?;
        rows.iter().map(decode).collect()
    }

    /// The scheduled times of a CronJob's runs created at or after `since`,
    /// every one of them (missed runs included): what the missed-run check
    /// compares the schedule with. A run scheduled after `since` was created
    /// after it too.
    pub async fn scheduled_times_since(
        &self,
        project_id: &str,
        cronjob: &str,
        since: Timestamp,
    ) -> Result<Vec<Timestamp>> {
        let rows = sqlx::query(
            "SELECT run FROM runs WHERE project_id = $1 AND cronjob = $2 AND created_at >= $3",
        )
        .bind(project_id)
        .bind(cronjob)
        .bind(secs(since))
        .fetch_all(&self.pool)
        .await
        .map_err(q)?;
        Ok(rows
            .iter()
            .map(decode)
            .collect::<Result<Vec<Run>>>()?
            .into_iter()
            .filter_map(|r| r.scheduled_at)
            .collect())
    }

    /// A CronJob's runs created (or, missed, scheduled) at or after
    /// `since`, the oldest first: what a backfill checks its times against.
    pub async fn runs_since(
        &self,
        project_id: &str,
        cronjob: &str,
        since: Timestamp,
    ) -> Result<Vec<Run>> {
        let rows = sqlx::query(
            "SELECT run FROM runs WHERE project_id = $1 AND cronjob = $2 AND created_at >= $3
             ORDER BY created_at, name",
        )
        .bind(project_id)
        .bind(cronjob)
        .bind(secs(since))
        .fetch_all(&self.pool)
        .await
        .map_err(q)?;
        rows.iter().map(decode).collect()
    }

    /// The runs of a project not known to have ended, as (CronJob, run).
    pub async fn unfinished_runs(&self, project_id: &str) -> Result<Vec<(String, Run)>> {
        let rows = sqlx::query("SELECT cronjob, run FROM runs WHERE project_id = $1 AND final = 0")
            .bind(project_id)
            .fetch_all(&self.pool)
            .await
            .map_err(q)?;
        rows.iter()
            .map(|r| Ok((r.try_get("cronjob").map_err(q)?, decode(r)?)))
            .collect()
    }

    /// The CronJobs of a project as (name, last change), without their specs.
    pub async fn cronjob_versions(&self, project_id: &str) -> Result<Vec<(String, Timestamp)>> {
        let rows = sqlx::query(
            "SELECT name, updated_at FROM applications WHERE project_id = $1 AND type = 'cronjob'",
        )
        .bind(project_id)
        .fetch_all(&self.pool)
        .await
        .map_err(q)?;
        rows.iter()
            .map(|r| Ok((r.try_get("name").map_err(q)?, ts(r, "updated_at")?)))
            .collect()
    }

    /// One recorded run.
    pub async fn run(&self, project_id: &str, cronjob: &str, name: &str) -> Result<Option<Run>> {
        let row = sqlx::query(
            "SELECT run FROM runs WHERE project_id = $1 AND cronjob = $2 AND name = $3",
        )
        .bind(project_id)
        .bind(cronjob)
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .map_err(q)?;
        row.as_ref().map(decode).transpose()
    }

    /// The newest `per` runs of each CronJob of a project (missed ones
    /// included), newest first, as marks: read from the columns and two
    /// fields of each run's JSON, so a list of many CronJobs stays cheap.
    pub async fn recent_runs(
        &self,
        project_id: &str,
        per: u32,
    ) -> Result<std::collections::HashMap<String, Vec<RunMark>>> {
        // Two fields of the JSON, in each database's words.
        let (created, duration) = match self.backend() {
            Backend::Sqlite => (
                "json_extract(run, '$.createdAt')",
                "json_extract(run, '$.durationSeconds')",
            ),
            Backend::Postgres => (
                "run::jsonb ->> 'createdAt'",
                "CAST(run::jsonb ->> 'durationSeconds' AS BIGINT)",
            ),
        };
        let sql = format!(
            "SELECT cronjob, name, result, created_at,
                    {created} AS created, {duration} AS duration
             FROM (SELECT cronjob, name, result, created_at, run,
                          ROW_NUMBER() OVER (PARTITION BY cronjob ORDER BY created_at DESC, name DESC) AS n
                   FROM runs WHERE project_id = $1) AS ranked
             WHERE n <= $2 ORDER BY cronjob, created_at DESC, name DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(project_id)
            .bind(i64::from(per))
            .fetch_all(&self.pool)
            .await
            .map_err(q)?;
        let mut out: std::collections::HashMap<String, Vec<RunMark>> = Default::default();
        for row in &rows {
            let result: String = row.try_get("result").map_err(q)?;
            let created: Option<String> = row.try_get("created").map_err(q)?;
            out.entry(row.try_get("cronjob").map_err(q)?)
                .or_default()
                .push(RunMark {
                    name: row.try_get("name").map_err(q)?,
                    result: serde_json::from_value(serde_json::Value::String(result))
                        .map_err(StoreError::Corrupt)?,
                    created_at: created.and_then(|c| c.parse().ok()),
                    duration_seconds: row.try_get("duration").map_err(q)?,
                });
        }
        Ok(out)
    }

    /// The latest execution (missed runs left out) of each CronJob of a project.
    pub async fn latest_runs(
        &self,
        project_id: &str,
    ) -> Result<std::collections::HashMap<String, Run>> {
        let rows = sqlx::query(
            "SELECT cronjob, run FROM runs r WHERE project_id = $1 AND result != 'Missed'
             AND name = (SELECT name FROM runs WHERE project_id = $1 AND cronjob = r.cronjob
                         AND result != 'Missed' ORDER BY created_at DESC, name DESC LIMIT 1)",
        )
        .bind(project_id)
        .fetch_all(&self.pool)
        .await
        .map_err(q)?;
        rows.iter()
            .map(|r| Ok((r.try_get("cronjob").map_err(q)?, decode(r)?)))
            .collect()
    }

    /// The latest execution (missed runs left out) of one CronJob.
    pub async fn latest_run(&self, project_id: &str, cronjob: &str) -> Result<Option<Run>> {
        let row = sqlx::query(
            "SELECT run FROM runs WHERE project_id = $1 AND cronjob = $2 AND result != 'Missed'
             ORDER BY created_at DESC, name DESC LIMIT 1",
        )
        .bind(project_id)
        .bind(cronjob)
        .fetch_optional(&self.pool)
        .await
        .map_err(q)?;
        row.as_ref().map(decode).transpose()
    }

    /// The results of a CronJob's final runs created before `before`, oldest
    /// first (at most `limit`), missed runs left out.
    pub async fn earlier_results(
        &self,
        project_id: &str,
        cronjob: &str,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<RunResult>> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT result FROM runs WHERE project_id = $1 AND cronjob = $2 AND final = 1
             AND result != 'Missed' AND created_at < $3 ORDER BY created_at DESC, name DESC LIMIT $4",
        )
        .bind(project_id)
        .bind(cronjob)
        .bind(secs(before))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(q)?;
        Ok(rows
            .iter()
            .rev()
            .map(|r| match r.as_str() {
                "Succeeded" => RunResult::Succeeded,
                _ => RunResult::Failed,
            })
            .collect())
    }

    /// Archives one attempt's log; a log already archived stays as it is.
    /// The run must be recorded first.
    pub async fn archive_log(
        &self,
        project_id: &str,
        cronjob: &str,
        run: &str,
        log: &StoredLog,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO run_logs (project_id, cronjob, run, pod, log, original_bytes, truncated, archived_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        )
        .bind(project_id)
        .bind(cronjob)
        .bind(run)
        .bind(&log.pod)
        .bind(&log.gzip)
        .bind(log.original_bytes)
        .bind(i64::from(log.truncated))
        .bind(Timestamp::now().to_string())
        .execute(&self.pool)
        .await
        .map_err(q)
        .map(drop)
    }

    /// The pods of a run whose logs are archived.
    pub async fn archived_pods(
        &self,
        project_id: &str,
        cronjob: &str,
        run: &str,
    ) -> Result<Vec<String>> {
        sqlx::query_scalar(
            "SELECT pod FROM run_logs WHERE project_id = $1 AND cronjob = $2 AND run = $3 ORDER BY pod",
        )
        .bind(project_id)
        .bind(cronjob)
        .bind(run)
        .fetch_all(&self.pool)
        .await
        .map_err(q)
    }

    /// The archived logs of a run's attempts.
    pub async fn run_logs(
        &self,
        project_id: &str,
        cronjob: &str,
        run: &str,
    ) -> Result<Vec<StoredLog>> {
        let rows = sqlx::query(
            "SELECT pod, log, original_bytes, truncated FROM run_logs
             WHERE project_id = $1 AND cronjob = $2 AND run = $3 ORDER BY archived_at, pod",
        )
        .bind(project_id)
        .bind(cronjob)
        .bind(run)
        .fetch_all(&self.pool)
        .await
        .map_err(q)?;
        rows.iter()
            .map(|r| {
                Ok(StoredLog {
                    pod: r.try_get("pod").map_err(q)?,
                    gzip: r.try_get("log").map_err(q)?,
                    original_bytes: r.try_get("original_bytes").map_err(q)?,
                    truncated: r.try_get::<i64, _>("truncated").map_err(q)? == 1,
                })
            })
            .collect()
    }

    /// A CronJob's runs as (name, finished at), newest first: what retention reads.
    pub async fn run_ages(
        &self,
        project_id: &str,
        cronjob: &str,
    ) -> Result<Vec<(String, Option<Timestamp>)>> {
        let rows = sqlx::query(
            "SELECT name, finished_at, created_at, final FROM runs WHERE project_id = $1 AND cronjob = $2
             ORDER BY created_at DESC, name DESC",
        )
        .bind(project_id)
        .bind(cronjob)
        .fetch_all(&self.pool)
        .await
        .map_err(q)?;
        rows.iter()
            .map(|r| {
                let name: String = r.try_get("name").map_err(q)?;
                let is_final: i64 = r.try_get("final").map_err(q)?;
                let finished = match r.try_get::<Option<String>, _>("finished_at").map_err(q)? {
                    Some(_) => Some(ts(r, "finished_at")?),
                    // Missed runs end when they are due.
                    None if is_final == 1 => Some(ts(r, "created_at")?),
                    None => None,
                };
                Ok((name, finished))
            })
            .collect()
    }

    /// Forgets runs (and their logs).
    pub async fn delete_runs(&self, project_id: &str, cronjob: &str, names: &[&str]) -> Result<()> {
        let mut tx = self.write_tx().await?;
        for name in names {
            sqlx::query("DELETE FROM runs WHERE project_id = $1 AND cronjob = $2 AND name = $3")
                .bind(project_id)
                .bind(cronjob)
                .bind(name)
                .execute(&mut *tx)
                .await
                .map_err(q)?;
        }
        tx.commit().await.map_err(q)
    }

    /// Up to where the CronJob's schedule was compared with its runs.
    pub async fn missed_checked_until(
        &self,
        project_id: &str,
        cronjob: &str,
    ) -> Result<Option<Timestamp>> {
        let row = sqlx::query(
            "SELECT checked_until FROM missed_checks WHERE project_id = $1 AND cronjob = $2",
        )
        .bind(project_id)
        .bind(cronjob)
        .fetch_optional(&self.pool)
        .await
        .map_err(q)?;
        row.as_ref().map(|r| ts(r, "checked_until")).transpose()
    }

    pub async fn set_missed_checked_until(
        &self,
        project_id: &str,
        cronjob: &str,
        until: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO missed_checks (project_id, cronjob, checked_until) VALUES ($1, $2, $3)
             ON CONFLICT (project_id, cronjob) DO UPDATE SET checked_until = excluded.checked_until",
        )
        .bind(project_id)
        .bind(cronjob)
        .bind(until.to_string())
        .execute(&self.pool)
        .await
        .map_err(q)
        .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use hks_core::run::{RunResult, Trigger, missed_run};
    use hks_core::tenant::ClusterConnection;

    use super::*;
    use crate::testing::backends;

    fn run(name: &str, at: &str, result: RunResult) -> Run {
        Run {
            name: name.into(),
            uid: None,
            trigger: Trigger::Scheduled,
            triggered_by: None,
            scheduled_at: None,
            created_at: Some(at.parse().unwrap()),
            started_at: None,
            finished_at: None,
            duration_seconds: None,
            result,
            reason: None,
            message: None,
            exit_code: None,
            attempts: vec![],
            start_delay_seconds: None,
            start_delay: None,
            in_cluster: true,
            cancelled_by: None,
            overrides: None,
            rerun_of: None,
            backfilled_by: None,
        }
    }

    async fn project(db: &crate::testing::TestDb) -> (Store, Project) {
        let store = db.store().await;
        let conn: ClusterConnection = serde_json::from_value(
            serde_json::json!({"kind": "kubeconfig", "kubeconfig": "apiVersion: v1"}),
        )
        .unwrap();
        let t = store.create_tenant("acme", &conn).await.unwrap();
        let p = store.create_project(&t.id, "shop").await.unwrap();
        (store, p)
    }

    backends! {
    async fn a_runs_container_is_stored_once_and_a_missed_run_learns_its_backfill(db) {
        let (store, p) = project(&db).await;
        let running = run("job-1", "2025-01-01T00:00:00Z", RunResult::Running);
        assert!(
            store
                .record_run(&p.id, "job", &running)
                .await
                .unwrap()
                .needs_container
        );
        assert_eq!(
            store.run_container(&p.id, "job", "job-1").await.unwrap(),
            None
        );
        store
            .set_run_container(&p.id, "job", "job-1", r#"{"name":"job","image":"a:1"}"#)
            .await
            .unwrap();
        // The first container stays: a run's container does not change.
        store
            .set_run_container(&p.id, "job", "job-1", r#"{"name":"job","image":"b:2"}"#)
            .await
            .unwrap();
        assert_eq!(
            store
                .run_container(&p.id, "job", "job-1")
                .await
                .unwrap()
                .as_deref(),
            Some(r#"{"name":"job","image":"a:1"}"#)
        );
        assert!(
            !store
                .record_run(&p.id, "job", &running)
                .await
                .unwrap()
                .needs_container
        );

        let at: Timestamp = "2025-01-01T01:00:00Z".parse().unwrap();
        let missed = hks_core::run::missed_run(at, None, "skipped".into());
        store.record_run(&p.id, "job", &missed).await.unwrap();
        assert!(
            !store
                .mark_backfilled(&p.id, "job", "job-1", "job-29")
                .await
                .unwrap()
        );
        assert!(
            store
                .mark_backfilled(&p.id, "job", &missed.name, "job-29")
                .await
                .unwrap()
        );
        // Recording the missed run again (the next housekeeping pass) keeps the note.
        store.record_run(&p.id, "job", &missed).await.unwrap();
        let stored = store
            .run(&p.id, "job", &missed.name)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.backfilled_by.as_deref(), Some("job-29"));
    }}

    backends! {
    async fn recent_runs_are_the_newest_of_each_cronjob_as_marks(db) {
        let (store, p) = project(&db).await;
        for i in 0..22 {
            let mut r = run(
                &format!("a-{i:02}"),
                &format!("2025-01-01T00:{i:02}:00Z"),
                if i % 2 == 0 {
                    RunResult::Succeeded
                } else {
                    RunResult::Failed
                },
            );
            r.duration_seconds = Some(i);
            store.record_run(&p.id, "a", &r).await.unwrap();
        }
        let b = run("b-1", "2025-01-02T00:00:00Z", RunResult::Running);
        store.record_run(&p.id, "b", &b).await.unwrap();
        let recent = store.recent_runs(&p.id, 20).await.unwrap();
        let a = &recent["a"];
        assert_eq!(a.len(), 20);
        assert_eq!(a[0].name, "a-21");
        assert_eq!(a[0].result, RunResult::Failed);
        assert_eq!(a[0].duration_seconds, Some(21));
        assert_eq!(
            a[0].created_at,
            Some("2025-01-01T00:21:00Z".parse().unwrap())
        );
        assert_eq!(a[19].name, "a-02");
        assert_eq!(recent["b"].len(), 1);
        assert_eq!(recent["b"][0].duration_seconds, None);
    }}

    backends! {
    async fn recording_is_idempotent_and_final_runs_stay_final(db) {
        let (store, p) = project(&db).await;
        let running = run("job-1", "2025-01-01T00:00:00Z", RunResult::Running);
        let r = store.record_run(&p.id, "job", &running).await.unwrap();
        assert_eq!(
            r,
            Recorded {
                changed: true,
                needs_alerts: false,
                needs_container: true,
            }
        );
        assert!(
            !store
                .record_run(&p.id, "job", &running)
                .await
                .unwrap()
                .changed
        );
        let done = run("job-1", "2025-01-01T00:00:00Z", RunResult::Failed);
        let r = store.record_run(&p.id, "job", &done).await.unwrap();
        assert!(r.changed && r.needs_alerts);
        // Duplicates say the alerts are still owed until they are marked.
        assert!(
            store
                .record_run(&p.id, "job", &done)
                .await
                .unwrap()
                .needs_alerts
        );
        store.mark_alerted(&p.id, "job", "job-1").await.unwrap();
        assert_eq!(
            store.record_run(&p.id, "job", &done).await.unwrap(),
            Recorded {
                needs_container: true,
                ..Recorded::default()
            }
        );
        // An ended run does not go back, but may leave the cluster.
        let mut gone = running.clone();
        gone.in_cluster = false;
        assert!(store.record_run(&p.id, "job", &gone).await.unwrap().changed);
        let stored = store.run(&p.id, "job", "job-1").await.unwrap().unwrap();
        assert_eq!(
            (stored.result, stored.in_cluster),
            (RunResult::Failed, false)
        );
    }}

    backends! {
    async fn runs_list_newest_first_with_logs_and_retention(db) {
        let (store, p) = project(&db).await;
        for (i, result) in [
            RunResult::Succeeded,
            RunResult::Failed,
            RunResult::Succeeded,
        ]
        .into_iter()
        .enumerate()
        {
            let r = run(
                &format!("job-{i}"),
                &format!("2025-01-01T00:0{i}:00Z"),
                result,
            );
            store.record_run(&p.id, "job", &r).await.unwrap();
        }
        let missed = missed_run("2025-01-01T00:05:00Z".parse().unwrap(), None, "x".into());
        store.record_run(&p.id, "job", &missed).await.unwrap();
        let names: Vec<String> = store
            .runs(&p.id, "job", 10)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(names, ["missed-28928165", "job-2", "job-1", "job-0"]);
        assert_eq!(store.latest_runs(&p.id).await.unwrap()["job"].name, "job-2");
        assert_eq!(
            store
                .earlier_results(&p.id, "job", "2025-01-01T00:02:00Z".parse().unwrap(), 10)
                .await
                .unwrap(),
            [RunResult::Succeeded, RunResult::Failed]
        );

        let log = StoredLog {
            pod: "job-2-abc".into(),
            gzip: vec![1, 2, 3],
            original_bytes: 3,
            truncated: false,
        };
        store
            .archive_log(&p.id, "job", "job-2", &log)
            .await
            .unwrap();
        store
            .archive_log(&p.id, "job", "job-2", &log)
            .await
            .unwrap();
        assert_eq!(store.run_logs(&p.id, "job", "job-2").await.unwrap(), [log]);

        store.delete_runs(&p.id, "job", &["job-2"]).await.unwrap();
        assert!(
            store
                .run_logs(&p.id, "job", "job-2")
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(store.runs(&p.id, "job", 10).await.unwrap().len(), 3);
    }}
}
