//! The API end to end, through the router, with an in-memory store and the
//! fake cluster (`cluster`: on the development cluster). One test binary
//! (link time), a module per resource; each test builds its own `TestApp`
//! with the crate's one harness (`tests/common`).

#[path = "../common/mod.rs"]
mod common;

mod admin;
mod alerts;
mod applications;
mod audit;
mod cluster;
mod cronjobs;
mod destinations;
mod hygiene;
mod openapi;
mod ops;
mod projectfile;
mod projects;
mod rates;
mod runs;
mod schedules;
mod webhook_targets;
