//! HKS's domain core: what users configure (tenants' projects and their
//! applications: Stateless services, CronJobs, Functions), how that input is
//! validated, and which Kubernetes objects are derived from it.
//!
//! Everything here is plain data and pure functions. There is no I/O, no
//! HTTP, no SQL and no Kubernetes client: the adapters (`hks-store`,
//! `hks-kube`, `hks-api`) sit around this crate. Validation reports every
//! problem with a field path (`spec.env[2].name`) so the API can point at the
//! field, and it runs before anything is stored or applied.

pub mod audit;
pub mod backfill;
pub mod container;
/// Fixtures: only in hks-core's own tests and with the `examples` feature
/// (other crates' tests enable it through their dev-dependencies).
#[cfg(any(test, feature = "examples"))]
pub mod examples;
pub mod formats;
pub mod invoke;
pub mod labels;
pub mod logtext;
pub mod manifest;
pub mod placement;
pub mod problem;
pub mod projectfile;
pub mod run;
pub mod schedule;
#[cfg(test)]
mod schema_tests;
pub mod spec;
pub mod tenant;
pub mod values;
pub mod yaml;

pub use problem::{Code, Invalid, Problem};
