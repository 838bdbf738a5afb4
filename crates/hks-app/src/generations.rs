//! The generation each object had after HKS last applied it, per tenant:
//! an object whose generation moved on since was edited by someone else.
//! Kept in memory: after a restart the first reconciliation applies everything.

use std::collections::HashMap;
use std::sync::Mutex;

use hks_kube::ObjectKey;

#[derive(Debug, Default)]
pub struct Generations(Mutex<HashMap<(String, ObjectKey), i64>>);

impl Generations {
    pub fn remember(&self, tenant_id: &str, applied: &[hks_kube::Applied]) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for a in applied {
            match a.generation {
                Some(g) => map.insert((tenant_id.to_owned(), a.key.clone()), g),
                None => map.remove(&(tenant_id.to_owned(), a.key.clone())),
            };
        }
    }

    pub fn forget(&self, tenant_id: &str, key: &ObjectKey) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(tenant_id.to_owned(), key.clone()));
    }

    pub fn get(&self, tenant_id: &str, key: &ObjectKey) -> Option<i64> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(tenant_id.to_owned(), key.clone()))
            .copied()
    }
}
