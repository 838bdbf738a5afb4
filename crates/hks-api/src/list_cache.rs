//! Ready-made JSON for the CronJob list of each project.
//!
//! Listing a project's CronJobs derives every summary from the store and the
//! watch caches (descriptions, next runs, last runs), which is most of the work
//! of the most frequent request. The result is kept per project under the
//! numbers that say what it was derived from: the store's write count and the
//! tenant's watch-cache version. A list whose numbers still match, and whose
//! earliest next run has not passed, is served as it is.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use jiff::Timestamp;

/// What a cached list was derived from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub writes: u64,
    pub view: u64,
}

#[derive(Debug)]
struct Entry {
    stamp: Stamp,
    /// The earliest next run in the list: after it, "next run" is stale.
    valid_until: Timestamp,
    body: Bytes,
}

#[derive(Debug, Default)]
pub struct ListCache {
    writes: AtomicU64,
    lists: Mutex<HashMap<String, Entry>>,
    /// One derivation at a time per project: concurrent requests that miss
    /// wait for it instead of all deriving the same list.
    deriving: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl ListCache {
    /// Called after every change to stored applications or projects.
    pub fn wrote(&self) {
        self.writes.fetch_add(1, Ordering::AcqRel);
    }

    /// The stamp to derive a list under, read before deriving it; `None` when
    /// the tenant's view has no version (not connected), so nothing is cached.
    pub fn stamp(&self, view: Option<u64>) -> Option<Stamp> {
        Some(Stamp {
            writes: self.writes.load(Ordering::Acquire),
            view: view?,
        })
    }

    pub fn get(&self, project_id: &str, stamp: Stamp, now: Timestamp) -> Option<Bytes> {
        let lists = self.lists.lock().unwrap_or_else(|e| e.into_inner());
        let entry = lists.get(project_id)?;
        (entry.stamp == stamp && now < entry.valid_until).then(|| entry.body.clone())
    }

    /// Held while deriving a project's list; check [`ListCache::get`] again
    /// once it is held.
    pub async fn derive_lock(&self, project_id: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = self
            .deriving
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(project_id.to_owned())
            .or_default()
            .clone();
        lock.lock_owned().await
    }

    pub fn put(&self, project_id: &str, stamp: Stamp, valid_until: Timestamp, body: Bytes) {
        let mut lists = self.lists.lock().unwrap_or_else(|e| e.into_inner());
        lists.insert(
            project_id.to_owned(),
            Entry {
                stamp,
                valid_until,
                body,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_or_a_watch_event_or_time_invalidates() {
        let cache = ListCache::default();
        let now: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
        let later: Timestamp = "2025-01-01T00:05:00Z".parse().unwrap();
        assert_eq!(cache.stamp(None), None, "no view version, no caching");
        let stamp = cache.stamp(Some(7)).unwrap();
        cache.put("p", stamp, later, Bytes::from_static(b"[]"));
        assert_eq!(cache.get("p", stamp, now).as_deref(), Some(&b"[]"[..]));
        assert!(
            cache.get("p", stamp, later).is_none(),
            "the earliest next run has passed"
        );
        assert!(
            cache.get("p", cache.stamp(Some(8)).unwrap(), now).is_none(),
            "watch event"
        );
        cache.wrote();
        assert!(
            cache.get("p", cache.stamp(Some(7)).unwrap(), now).is_none(),
            "store write"
        );
        assert!(cache.get("q", stamp, now).is_none());
    }
}
