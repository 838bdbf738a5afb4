//! Ready-made JSON for the CronJob list of each project.
//!
//! Listing a project's CronJobs derives every summary from the store and the
//! watch caches (descriptions, next runs, last runs), which is most of the work
//! of the most frequent request. The result is kept per project under the
//! numbers that say what it was derived from: the tenant's write count
//! ([`hks_app::App::writes`]) and its watch-cache version, both the
//! tenant's own, so another tenant's writes and watch events leave it
//! valid. A list whose numbers still match, and whose earliest next run has
//! not passed, is served as it is.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use jiff::Timestamp;

/// What a cached list was derived from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub writes: u64,
    pub view: u64,
}

impl Stamp {
    /// `None` when the tenant's view has no version (not connected): then
    /// nothing is cached.
    pub fn of(writes: u64, view: Option<u64>) -> Option<Self> {
        Some(Self {
            writes,
            view: view?,
        })
    }
}

/// A freshly derived list.
#[derive(Debug)]
pub struct Derived {
    pub body: Bytes,
    /// Until when it may be served again (its earliest next run); `None`
    /// when it must not be kept (derived without the cluster's state).
    pub valid_until: Option<Timestamp>,
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
    lists: Mutex<HashMap<String, Entry>>,
    /// One derivation at a time per project: concurrent requests that miss
    /// wait for it instead of all deriving the same list.
    deriving: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl ListCache {
    /// The list of `project_id` under `stamp` (read before deriving, so a
    /// change while deriving makes the result stale): the kept one while it
    /// is valid, else what `derive` makes, kept when it may be.
    pub async fn get_or_derive<E, F>(
        &self,
        project_id: &str,
        stamp: Option<Stamp>,
        now: Timestamp,
        derive: impl FnOnce() -> F,
    ) -> Result<Bytes, E>
    where
        F: Future<Output = Result<Derived, E>>,
    {
        let Some(stamp) = stamp else {
            return derive().await.map(|d| d.body);
        };
        if let Some(body) = self.get(project_id, stamp, now) {
            return Ok(body);
        }
        let _deriving = self.derive_lock(project_id).await;
        // Another request may have derived it while this one waited.
        if let Some(body) = self.get(project_id, stamp, now) {
            return Ok(body);
        }
        let derived = derive().await?;
        if let Some(valid_until) = derived.valid_until {
            self.put(project_id, stamp, valid_until, derived.body.clone());
        }
        Ok(derived.body)
    }

    fn get(&self, project_id: &str, stamp: Stamp, now: Timestamp) -> Option<Bytes> {
        let lists = self.lists.lock().unwrap_or_else(|e| e.into_inner());
        let entry = lists.get(project_id)?;
        (entry.stamp == stamp && now < entry.valid_until).then(|| entry.body.clone())
    }

    async fn derive_lock(&self, project_id: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = self
            .deriving
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(project_id.to_owned())
            .or_default()
            .clone();
        lock.lock_owned().await
    }

    fn put(&self, project_id: &str, stamp: Stamp, valid_until: Timestamp, body: Bytes) {
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
    use std::convert::Infallible;

    use super::*;

    async fn list(
        cache: &ListCache,
        stamp: Option<Stamp>,
        now: Timestamp,
        text: &'static str,
    ) -> Bytes {
        let later: Timestamp = "2025-01-01T00:05:00Z".parse().unwrap();
        cache
            .get_or_derive("p", stamp, now, || async move {
                Ok::<_, Infallible>(Derived {
                    body: Bytes::from_static(text.as_bytes()),
                    valid_until: Some(later),
                })
            })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_write_or_a_watch_event_or_time_invalidates() {
        let cache = ListCache::default();
        let now: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
        let later: Timestamp = "2025-01-01T00:05:00Z".parse().unwrap();
        assert_eq!(Stamp::of(0, None), None, "no view version, no caching");
        let stamp = Stamp::of(0, Some(7));
        assert_eq!(list(&cache, stamp, now, "a").await, "a");
        assert_eq!(list(&cache, stamp, now, "b").await, "a", "kept");
        assert_eq!(
            list(&cache, stamp, later, "c").await,
            "c",
            "the earliest next run has passed"
        );
        assert_eq!(
            list(&cache, Stamp::of(0, Some(8)), now, "d").await,
            "d",
            "watch event"
        );
        assert_eq!(
            list(&cache, Stamp::of(1, Some(8)), now, "e").await,
            "e",
            "store write"
        );
        assert_eq!(list(&cache, None, now, "f").await, "f", "not connected");
        assert_eq!(list(&cache, Stamp::of(1, Some(8)), now, "g").await, "e");
    }
}
