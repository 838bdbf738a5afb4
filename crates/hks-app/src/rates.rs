//! Per-tenant budgets: how many changes, and how many run starts, a tenant
//! may make a minute, so that one tenant's flood of writes or of Run now
//! cannot take the API, the store and the shared cluster's nodes from the
//! others. Each budget is a GCRA limiter (the `governor` crate) keyed by
//! tenant id: a tenant may spend a burst at once and regains one unit every
//! `60 / per_minute` seconds. Its state is a few bytes per tenant that made
//! a request, in memory: each replica keeps its own, so with several
//! replicas a tenant gets up to that many times the budget.
//!
//! Reads are never limited here: the HTTP layer's concurrency limit and
//! timeouts bound them.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::AppError;

/// A budget: `per_minute` units a minute, up to `burst` at once. A
/// `per_minute` of 0 is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_minute: u32,
    pub burst: u32,
}

impl Rate {
    pub const UNLIMITED: Self = Self {
        per_minute: 0,
        burst: 0,
    };

    fn quota(self) -> Option<Quota> {
        let per_minute = NonZeroU32::new(self.per_minute)?;
        let burst = NonZeroU32::new(self.burst).unwrap_or(NonZeroU32::MIN);
        Some(Quota::per_minute(per_minute).allow_burst(burst))
    }
}

/// What each tenant may do a minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantRates {
    /// Every request that changes something (creates, edits, deletes,
    /// suspends, alert settings, project files, Run now...).
    pub writes: Rate,
    /// Runs started by hand: Run now, re-runs, each backfilled time.
    pub run_starts: Rate,
}

impl TenantRates {
    /// No limits: the library's default (tests, embedding).
    pub const UNLIMITED: Self = Self {
        writes: Rate::UNLIMITED,
        run_starts: Rate::UNLIMITED,
    };

    /// `hks serve`'s defaults: 120 changes a minute (bursts of 60) and 30
    /// run starts a minute (bursts of 20, a whole backfill): far above what
    /// people and CI pipelines do, far below a flood.
    pub const SERVE_DEFAULT: Self = Self {
        writes: Rate {
            per_minute: 120,
            burst: 60,
        },
        run_starts: Rate {
            per_minute: 30,
            burst: 20,
        },
    };
}

/// The budget a refused request ran out of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    Writes,
    RunStarts,
}

impl Budget {
    /// How people read it: "changes", "run starts".
    pub fn describe(self) -> &'static str {
        match self {
            Self::Writes => "changes",
            Self::RunStarts => "run starts",
        }
    }
}

/// The limiters, one per budget.
pub(crate) struct Limiters {
    rates: TenantRates,
    writes: Option<DefaultKeyedRateLimiter<String>>,
    run_starts: Option<DefaultKeyedRateLimiter<String>>,
    clock: DefaultClock,
}

impl std::fmt::Debug for Limiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiters")
            .field("rates", &self.rates)
            .finish_non_exhaustive()
    }
}

impl Limiters {
    pub(crate) fn new(rates: TenantRates) -> Self {
        let keyed = |r: Rate| r.quota().map(RateLimiter::keyed);
        Self {
            rates,
            writes: keyed(rates.writes),
            run_starts: keyed(rates.run_starts),
            clock: DefaultClock::default(),
        }
    }

    pub(crate) fn rates(&self) -> TenantRates {
        self.rates
    }

    /// Spends `n` units of `tenant`'s `budget`, or says how long to wait.
    /// A refused request spends nothing.
    pub(crate) fn spend(&self, tenant: &str, budget: Budget, n: u32) -> Result<(), AppError> {
        let (limiter, rate) = match budget {
            Budget::Writes => (&self.writes, self.rates.writes),
            Budget::RunStarts => (&self.run_starts, self.rates.run_starts),
        };
        let (Some(limiter), Some(n)) = (limiter, NonZeroU32::new(n)) else {
            return Ok(());
        };
        let refused = |retry_after: Duration| AppError::RateLimited {
            budget,
            per_minute: rate.per_minute,
            burst: rate.burst,
            retry_after,
        };
        match limiter.check_key_n(&tenant.to_owned(), n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(refused(not_until.wait_time_from(self.clock.now()))),
            // More than a whole burst at once: never possible.
            Err(_) => Err(refused(Duration::from_secs(60))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_refusals_that_say_how_long_to_wait_per_tenant() {
        let limiters = Limiters::new(TenantRates {
            writes: Rate {
                per_minute: 6,
                burst: 3,
            },
            run_starts: Rate::UNLIMITED,
        });
        for _ in 0..3 {
            limiters.spend("a", Budget::Writes, 1).unwrap();
        }
        let Err(AppError::RateLimited {
            budget,
            per_minute,
            retry_after,
            ..
        }) = limiters.spend("a", Budget::Writes, 1)
        else {
            panic!("the fourth write is refused")
        };
        assert_eq!((budget, per_minute), (Budget::Writes, 6));
        // One unit comes back every 10 s.
        assert!(retry_after > Duration::from_secs(8) && retry_after <= Duration::from_secs(10));
        // Another tenant has its own budget; run starts are not limited.
        limiters.spend("b", Budget::Writes, 3).unwrap();
        limiters.spend("a", Budget::RunStarts, 1000).unwrap();
        // More than a burst at once is refused, and spends nothing.
        assert!(limiters.spend("c", Budget::Writes, 4).is_err());
        limiters.spend("c", Budget::Writes, 3).unwrap();
    }

    #[test]
    fn unlimited_spends_nothing() {
        let limiters = Limiters::new(TenantRates::UNLIMITED);
        for _ in 0..10_000 {
            limiters.spend("a", Budget::Writes, 1).unwrap();
        }
    }
}
