//! The `[auth]` section: how much work logins may cause, i.e. the password-check pool
//! and the failed-login limits. Plain numbers here; the composition root turns them
//! into `app::admission` and `app::rate_limit` limits, so configuration knows no `app`
//! type.

use std::time::Duration;

use serde::Deserialize;

use super::bounds::Bounds;
use super::error::ConfigError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// Password checks (argon2, 19 MiB each) running at once; 0 = one per core.
    pub password_checks: usize,
    /// Password checks that may wait for a free slot; beyond that a 503.
    pub password_queue: usize,
    /// Longest wait for a slot, e.g. `5s`; past it a 503.
    #[serde(with = "humantime_serde")]
    pub password_queue_wait: Duration,
    /// Failed logins a minute for one user name from one address (IPv6: one /64);
    /// past it a 429 and no password check.
    pub failed_logins_per_user_and_address: u32,
    /// Failed logins a minute from one address, whatever the user names.
    pub failed_logins_per_address: u32,
}

const PASSWORD_CHECKS: Bounds<usize> = Bounds::at_most(1024);
const PASSWORD_QUEUE: Bounds<usize> = Bounds::at_most(100_000);
const PASSWORD_QUEUE_WAIT: Bounds<Duration> = Bounds::at_most(Duration::from_secs(60));
/// A limit of 0 would refuse every login.
const FAILED_LOGINS: Bounds<u32> = Bounds::at_least(1);

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            password_checks: 0,
            password_queue: 32,
            password_queue_wait: Duration::from_secs(5),
            failed_logins_per_user_and_address: 10,
            failed_logins_per_address: 60,
        }
    }
}

impl AuthSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let pool = "auth.password_checks";
        PASSWORD_CHECKS.check_in(pool, "password_checks", self.password_checks)?;
        PASSWORD_QUEUE.check_in(pool, "password_queue", self.password_queue)?;
        let limits = "auth.failed_logins_per_address";
        FAILED_LOGINS.check_in(
            limits,
            "failed_logins_per_user_and_address",
            self.failed_logins_per_user_and_address,
        )?;
        FAILED_LOGINS.check_in(
            limits,
            "failed_logins_per_address",
            self.failed_logins_per_address,
        )?;
        PASSWORD_QUEUE_WAIT.check("auth.password_queue_wait", self.password_queue_wait)
    }
}
