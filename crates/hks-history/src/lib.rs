//! The rules of HKS's run history, as plain functions.
//!
//! Kubernetes forgets finished Jobs beyond the history limits, has no failure
//! time, and tells nobody when a job fails or stops firing. HKS records every
//! run and its logs and alerts on what matters. This crate holds the decisions
//! (which scheduled runs were missed, which alerts a finished run raises, how a
//! webhook is signed and retried, how logs are capped and compressed, which
//! records retention removes); the recorder that watches the cluster and the
//! store that keeps the records live in the adapters.

pub mod alerts;
pub mod archive;
pub mod missed;
pub mod retention;
pub mod webhook;
