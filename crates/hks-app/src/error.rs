//! What the application service's operations fail with.

use hks_core::Invalid;
use hks_kube::KubeError;
use hks_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The input breaks a rule; each problem names its field.
    #[error("the request is invalid")]
    Invalid(#[from] Invalid),
    /// What the principal asked for does not exist, or is another tenant's.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request clashes with the current state (a duplicate name, a
    /// template still followed).
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Kube(#[from] KubeError),
    /// The tenant spent its budget of `budget` (`per_minute` a minute,
    /// bursts of `burst`); it may try again after `retry_after`.
    #[error("this tenant made more {} than this installation allows ({per_minute} a minute, {burst} at once); try again in {} s", budget.describe(), retry_after.as_secs().max(1))]
    RateLimited {
        budget: crate::rates::Budget,
        per_minute: u32,
        burst: u32,
        retry_after: std::time::Duration,
    },
    /// A project file's apply stopped at the change at `at`, after `done`
    /// of its `total` changes were made.
    #[error("the change of {at} failed after {done} of {total} changes were made")]
    Stopped {
        done: usize,
        total: usize,
        at: String,
        #[source]
        source: Box<AppError>,
    },
}

impl AppError {
    /// A store error, with its "not found" named for people.
    pub(crate) fn store(what: &'static str) -> impl FnOnce(StoreError) -> Self {
        move |e| match e {
            StoreError::NotFound => Self::NotFound(what),
            other => Self::Store(other),
        }
    }
}
