//! An in-memory [`Gateway`] for tests: it records applied objects, creates
//! manual runs, and can be told to behave as an unreachable cluster.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use futures::stream::BoxStream;
use hks_core::run::{Run, RunResult, Trigger};

use crate::{
    Applied, AttemptLog, Gateway, KubeError, LogOptions, Object, ObjectKey, Observed,
    ObservedCronJob, TenantCluster,
};

#[derive(Debug, Default)]
pub struct FakeGateway {
    unreachable: AtomicBool,
    /// Each object with its generation, bumped when its content changes.
    objects: Mutex<BTreeMap<(String, ObjectKey), (Object, i64)>>,
    applies: std::sync::atomic::AtomicUsize,
    runs: Mutex<BTreeMap<(String, String, String), Vec<Run>>>,
}

impl FakeGateway {
    pub fn new() -> Self {
        Self::default()
    }

    /// From now on every call fails as if the apiserver were down (or works again).
    pub fn set_unreachable(&self, down: bool) {
        self.unreachable.store(down, Ordering::SeqCst);
    }

    /// The objects applied to a tenant's cluster.
    pub fn objects(&self, tenant_id: &str) -> Vec<Object> {
        let objects = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        objects
            .iter()
            .filter(|((t, _), _)| t == tenant_id)
            .map(|(_, (o, _))| o.clone())
            .collect()
    }

    /// How many objects were applied so far.
    pub fn applies(&self) -> usize {
        self.applies.load(Ordering::SeqCst)
    }

    /// Changes an object as someone with kubectl would (its generation goes up).
    pub fn edit(&self, tenant_id: &str, key: &ObjectKey, change: impl FnOnce(&mut Object)) {
        let mut map = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((o, generation)) = map.get_mut(&(tenant_id.to_owned(), key.clone())) {
            change(o);
            *generation += 1;
        }
    }

    /// Removes an object as if someone deleted it by hand.
    pub fn remove(&self, tenant_id: &str, key: &ObjectKey) {
        self.objects
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(tenant_id.to_owned(), key.clone()));
    }

    fn check(&self) -> Result<(), KubeError> {
        if self.unreachable.load(Ordering::SeqCst) {
            Err(KubeError::Unreachable("connection refused (fake)".into()))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl Gateway for FakeGateway {
    async fn apply(
        &self,
        cluster: TenantCluster<'_>,
        objects: &[Object],
    ) -> Result<Vec<Applied>, KubeError> {
        self.check()?;
        let mut map = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        let mut applied = vec![];
        for o in objects {
            self.applies.fetch_add(1, Ordering::SeqCst);
            let key = o.key();
            let entry = map
                .entry((cluster.tenant_id.to_owned(), key.clone()))
                .or_insert_with(|| (o.clone(), 0));
            if entry.1 == 0 || entry.0 != *o {
                *entry = (o.clone(), entry.1 + 1);
            }
            applied.push(Applied {
                key,
                generation: Some(entry.1),
            });
        }
        Ok(applied)
    }

    async fn dry_run(
        &self,
        _cluster: TenantCluster<'_>,
        _objects: &[Object],
    ) -> Result<(), KubeError> {
        self.check()
    }

    async fn delete(&self, cluster: TenantCluster<'_>, key: &ObjectKey) -> Result<(), KubeError> {
        self.check()?;
        let mut map = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&(cluster.tenant_id.to_owned(), key.clone()));
        if key.kind == crate::Kind::Namespace {
            map.retain(|(t, k), _| {
                !(t == cluster.tenant_id && k.namespace.as_deref() == Some(key.name.as_str()))
            });
        }
        Ok(())
    }

    async fn observe(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
    ) -> Result<Observed, KubeError> {
        self.check()?;
        let map = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        let mut observed = Observed {
            fresh: true,
            ..Observed::default()
        };
        for ((t, key), (o, generation)) in map.iter() {
            if let (true, Some(ns), Object::CronJob(cj)) =
                (t == cluster.tenant_id, &key.namespace, o)
                && ns == namespace
            {
                observed.cronjobs.insert(
                    key.name.clone(),
                    ObservedCronJob {
                        name: key.name.clone(),
                        uid: Some(format!("uid-{}", key.name)),
                        generation: Some(*generation),
                        schedule: cj.spec.schedule.clone(),
                        time_zone: cj.spec.time_zone.clone(),
                        suspend: cj.spec.suspend.unwrap_or(false),
                        active: 0,
                        last_schedule_time: None,
                        last_successful_time: None,
                    },
                );
            }
        }
        let runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        for ((t, ns, cj), list) in runs.iter() {
            if t == cluster.tenant_id && ns == namespace {
                observed.runs.insert(cj.clone(), list.clone());
            }
        }
        Ok(observed)
    }

    async fn run_now(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
        cronjob: &str,
        triggered_by: &str,
    ) -> Result<Run, KubeError> {
        self.check()?;
        let key = ObjectKey {
            kind: crate::Kind::CronJob,
            namespace: Some(namespace.to_owned()),
            name: cronjob.to_owned(),
        };
        if !self
            .objects
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&(cluster.tenant_id.to_owned(), key))
        {
            return Err(KubeError::NotFound);
        }
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        let list = runs
            .entry((
                cluster.tenant_id.to_owned(),
                namespace.to_owned(),
                cronjob.to_owned(),
            ))
            .or_default();
        let now = jiff::Timestamp::now();
        let run = Run {
            name: format!("{cronjob}-m{}", list.len() + 1),
            uid: None,
            trigger: Trigger::Manual,
            triggered_by: Some(triggered_by.to_owned()),
            scheduled_at: None,
            created_at: Some(now),
            started_at: Some(now),
            finished_at: Some(now),
            duration_seconds: Some(0),
            result: RunResult::Succeeded,
            reason: None,
            message: None,
            exit_code: Some(0),
            attempts: vec![],
            in_cluster: true,
        };
        list.insert(0, run.clone());
        Ok(run)
    }

    async fn logs(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
        cronjob: &str,
        run: &str,
        _options: &LogOptions,
    ) -> Result<Vec<AttemptLog>, KubeError> {
        self.check()?;
        let runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        let found = runs.iter().any(|((t, ns, cj), list)| {
            t == cluster.tenant_id
                && ns == namespace
                && cj == cronjob
                && list.iter().any(|r| r.name == run)
        });
        if found {
            Ok(vec![AttemptLog {
                pod: format!("{run}-pod"),
                log: "hello from the fake cluster\n".into(),
            }])
        } else {
            Err(KubeError::NotFound)
        }
    }

    async fn follow_logs(
        &self,
        cluster: TenantCluster<'_>,
        namespace: &str,
        cronjob: &str,
        run: &str,
        options: &LogOptions,
    ) -> Result<BoxStream<'static, Result<String, KubeError>>, KubeError> {
        let logs = self.logs(cluster, namespace, cronjob, run, options).await?;
        Ok(Box::pin(futures::stream::iter(
            logs.into_iter().map(|l| Ok(l.log)),
        )))
    }

    async fn check_connection(
        &self,
        _connection: &hks_core::tenant::ClusterConnection,
    ) -> Result<(), KubeError> {
        Ok(())
    }

    fn forget(&self, _tenant_id: &str) {}
}
