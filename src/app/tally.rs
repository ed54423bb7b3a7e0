//! What the use cases count of their own work (password checks, rate-limit hits,
//! grant writes), as plain numbers. The HTTP room renders them as metrics at a scrape,
//! so no use case names a metric; an increment is one relaxed atomic add.

use std::sync::atomic::{AtomicU64, Ordering};

/// A count that only grows.
#[derive(Debug, Default)]
pub struct Tally(AtomicU64);

impl Tally {
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// What authentication counts: argon2 runs by result, and requests over the
/// failed-login limits.
#[derive(Debug, Default)]
pub struct AuthTally {
    pub password_match: Tally,
    pub password_mismatch: Tally,
    /// Checks against the dummy hash (an unknown user, or one without a password).
    pub password_no_user: Tally,
    pub rate_limited: Tally,
}
