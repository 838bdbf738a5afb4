//! Kubernetes-exact cron schedules.
//!
//! A CronJob's `spec.schedule` is parsed by kube-apiserver with robfig/cron v3
//! `ParseStandard`, and the CronJob controller fires it by evaluating
//! `TZ=<spec.timeZone> <schedule>` with robfig's `SpecSchedule.Next`. This crate
//! reproduces both, so that what HKS accepts and the next runs it shows are the
//! ones Kubernetes will use. It performs no I/O apart from reading the system's
//! time zone database.
