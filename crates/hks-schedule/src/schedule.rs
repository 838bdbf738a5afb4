//! A validated schedule in a time zone, and the times it fires at. Built by
//! [`crate::check`]; what a person is shown about it (runs with their
//! daylight-saving notes, warnings, a description) is computed by the
//! modules that take a [`Schedule`] and is reached through the methods the
//! crate root adds.

use jiff::Timestamp;

use crate::expr::Spec;
use crate::next;
use crate::zone::Zone;

/// A validated schedule in a time zone.
#[derive(Debug, Clone)]
pub struct Schedule {
    expr: String,
    spec: Spec,
    zone: Zone,
}

impl Schedule {
    /// A schedule whose expression and zone have been checked.
    pub(crate) fn new(expr: String, spec: Spec, zone: Zone) -> Self {
        Self { expr, spec, zone }
    }

    /// The expression as given.
    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// The parsed fields.
    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// The time zone the schedule is read in.
    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    /// The first fire time strictly after `after`, as the CronJob controller
    /// computes it, or `None` if it does not fire within five years.
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        let cursor = self.zone.cursor();
        next::next(&self.spec, &cursor, after.as_second())
            .and_then(|s| Timestamp::from_second(s).ok())
    }

    /// The fire times strictly after `after`, in order.
    pub fn fire_times(&self, after: Timestamp) -> impl Iterator<Item = Timestamp> + '_ {
        let cursor = self.zone.cursor();
        let mut at = after.as_second();
        std::iter::from_fn(move || {
            at = next::next(&self.spec, &cursor, at)?;
            Timestamp::from_second(at).ok()
        })
    }
}
