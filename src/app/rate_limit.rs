//! Failed-login rate limits (the `governor` crate's GCRA): per (user name, client
//! address) and per client address, never per user name alone, so an attacker's
//! failures from one place never lock a legitimate user out from another (Harbor's
//! freeze-based lockout did exactly that).
//!
//! Only failures count. Past a limit the caller hears 429 with `Retry-After`, and no
//! argon2 runs for it until the limit lets it through again. IPv6 clients are keyed by
//! their /64, which one party holds whole.
//!
//! [`AddressBudget`] is the same per-address keying for requests that leave something on
//! the server (a started sign-in): a budget per address, not a count of failures.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// How many failures per minute each key may have (and as a burst).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    pub per_user_and_address: u32,
    pub per_address: u32,
}

impl Default for LoginLimits {
    fn default() -> LoginLimits {
        LoginLimits {
            per_user_and_address: 10,
            per_address: 60,
        }
    }
}

/// Over a limit until `retry_after` has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many failed logins; retry in {} s", retry_after.as_secs().max(1))]
pub struct Limited {
    pub retry_after: Duration,
}

/// Keys beyond which a limiter's size is worth a warning. Idle keys are forgotten every
/// sweep; a key stays only while its failures are recent, and an address over its own
/// limit adds no new (user, address) keys, so the count is bounded by the failures a
/// minute the address limit lets through.
const MAX_KEYS: usize = 200_000;
/// How often idle keys are forgotten.
const SWEEP_EVERY: Duration = Duration::from_secs(10);

pub struct FailedLogins {
    by_user_and_address: DefaultKeyedRateLimiter<(String, IpAddr)>,
    by_address: DefaultKeyedRateLimiter<IpAddr>,
    /// Keys over their limit, until when.
    blocked: moka::sync::Cache<BlockKey, Instant>,
    last_sweep: SweepClock,
}

/// When a limiter's idle keys were last forgotten, so that it happens at most once per
/// `SWEEP_EVERY` whatever the request rate.
struct SweepClock(Mutex<Instant>);

impl SweepClock {
    fn new() -> SweepClock {
        SweepClock(Mutex::new(Instant::now()))
    }

    /// Whether a sweep is due at `now`; if so it counts as done from then on.
    fn due(&self, now: Instant) -> bool {
        let mut last = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if now.duration_since(*last) < SWEEP_EVERY {
            return false;
        }
        *last = now;
        true
    }
}

/// Forgets the keys whose limit is whole again; returns how many are left.
fn forget_idle<K: std::hash::Hash + Eq + Clone>(limiter: &DefaultKeyedRateLimiter<K>) -> usize {
    limiter.retain_recent();
    limiter.shrink_to_fit();
    limiter.len()
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum BlockKey {
    UserAndAddress(String, IpAddr),
    Address(IpAddr),
}

/// The address a limit is keyed by: IPv4 as is, IPv6 by its /64.
fn limit_address(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// `per_minute` failures replenishing evenly over a minute. The burst is one less: the
/// limiter refuses the failure that reaches the limit, which blocks the key, so after
/// `per_minute` quick failures the next attempt is already refused.
fn quota(per_minute: u32) -> Quota {
    let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(per_minute.saturating_sub(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(n).allow_burst(burst)
}

impl FailedLogins {
    pub fn new(limits: LoginLimits) -> FailedLogins {
        FailedLogins {
            by_user_and_address: RateLimiter::keyed(quota(limits.per_user_and_address)),
            by_address: RateLimiter::keyed(quota(limits.per_address)),
            blocked: moka::sync::Cache::builder()
                .max_capacity(MAX_KEYS as u64)
                .time_to_live(Duration::from_secs(120))
                .build(),
            last_sweep: SweepClock::new(),
        }
    }

    /// Whether an attempt from `address` for `user` may proceed.
    pub fn check(&self, user: &str, address: IpAddr) -> Result<(), Limited> {
        let address = limit_address(address);
        let now = Instant::now();
        let keys = [
            BlockKey::Address(address),
            BlockKey::UserAndAddress(user.to_string(), address),
        ];
        let mut wait = Duration::ZERO;
        for key in keys {
            if let Some(until) = self.blocked.get(&key) {
                wait = wait.max(until.saturating_duration_since(now));
            }
        }
        if wait.is_zero() {
            Ok(())
        } else {
            Err(Limited { retry_after: wait })
        }
    }

    /// Counts a failed attempt; a key that goes over its limit is blocked until the
    /// limiter would let it through again.
    pub fn failed(&self, user: &str, address: IpAddr) {
        let address = limit_address(address);
        let clock = DefaultClock::default();
        let now = Instant::now();
        let key = (user.to_string(), address);
        if let Err(not_until) = self.by_user_and_address.check_key(&key) {
            let wait = not_until.wait_time_from(clock.now());
            self.blocked
                .insert(BlockKey::UserAndAddress(key.0, key.1), now + wait);
        }
        if let Err(not_until) = self.by_address.check_key(&address) {
            let wait = not_until.wait_time_from(clock.now());
            self.blocked.insert(BlockKey::Address(address), now + wait);
        }
        self.sweep(now);
    }

    fn sweep(&self, now: Instant) {
        if !self.last_sweep.due(now) {
            return;
        }
        let keys = forget_idle(&self.by_user_and_address) + forget_idle(&self.by_address);
        if keys > MAX_KEYS {
            tracing::warn!(keys, "failed-login limiters hold many recent keys");
        }
    }
}

/// A budget of requests per client address (keyed as the failed-login limits are) for
/// requests that leave something on the server for a while, so that one address cannot
/// take a shared, bounded store for itself: `burst` at once, then `burst` more spread
/// over each `period`.
pub struct AddressBudget {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    last_sweep: SweepClock,
}

impl AddressBudget {
    pub fn new(burst: NonZeroU32, period: Duration) -> AddressBudget {
        let quota = Quota::with_period(period / burst.get())
            .unwrap_or_else(|| Quota::per_second(burst))
            .allow_burst(burst);
        AddressBudget {
            limiter: RateLimiter::keyed(quota),
            last_sweep: SweepClock::new(),
        }
    }

    /// Takes one from `address`'s budget, or says how long until it has one again.
    pub fn take(&self, address: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        self.sweep(now);
        self.limiter
            .check_key(&limit_address(address))
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Addresses whose budget is whole again are forgotten, so the map holds only the
    /// addresses seen within a period.
    fn sweep(&self, now: Instant) {
        if !self.last_sweep.due(now) {
            return;
        }
        let keys = forget_idle(&self.limiter);
        if keys > MAX_KEYS {
            tracing::warn!(keys, "an address budget holds many recent addresses");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// One more failed login of `user` from `at`, which the limits still let through.
    fn fail_once(limits: &FailedLogins, user: &str, at: IpAddr) {
        assert!(limits.check(user, at).is_ok(), "{user} at {at}");
        limits.failed(user, at);
    }

    #[test]
    fn failures_block_the_user_at_that_address_only() {
        let limits = FailedLogins::new(LoginLimits {
            per_user_and_address: 3,
            per_address: 100,
        });
        let attacker = ip("203.0.113.7");
        let home = ip("198.51.100.2");
        for _ in 0..3 {
            fail_once(&limits, "alice", attacker);
        }
        let blocked = limits.check("alice", attacker).unwrap_err();
        assert!(
            blocked.retry_after > Duration::ZERO && blocked.retry_after <= Duration::from_secs(60)
        );
        assert!(
            limits.check("alice", home).is_ok(),
            "alice is not locked out elsewhere"
        );
        assert!(
            limits.check("bob", attacker).is_ok(),
            "another user at that address is not"
        );
    }

    #[test]
    fn an_address_spraying_user_names_is_blocked_as_a_whole() {
        let limits = FailedLogins::new(LoginLimits {
            per_user_and_address: 100,
            per_address: 5,
        });
        let sprayer = ip("2001:db8:1:2:aaaa::1");
        for i in 0..5 {
            fail_once(&limits, &format!("user{i}"), sprayer);
        }
        assert!(limits.check("newname", sprayer).is_err());
        // The same /64, another host part: the same party.
        assert!(limits.check("newname", ip("2001:db8:1:2:bbbb::9")).is_err());
        assert!(limits.check("newname", ip("2001:db8:1:3::1")).is_ok());
        assert_eq!(limit_address(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
    }

    #[test]
    fn an_address_budget_refuses_past_its_burst_at_that_address_only() {
        let burst = NonZeroU32::new(3).unwrap();
        let budget = AddressBudget::new(burst, Duration::from_secs(600));
        let busy = ip("2001:db8:7::1");
        for _ in 0..3 {
            assert!(budget.take(busy).is_ok());
        }
        let wait = budget.take(busy).unwrap_err();
        // One more comes back after a third of the period.
        assert!(
            wait > Duration::from_secs(150) && wait <= Duration::from_secs(200),
            "{wait:?}"
        );
        assert!(budget.take(ip("2001:db8:7::2")).is_err(), "the same /64");
        assert!(budget.take(ip("2001:db8:8::1")).is_ok());
        assert!(budget.take(ip("192.0.2.9")).is_ok());
    }
}
