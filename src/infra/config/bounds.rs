//! A range of a configuration value, written once: the same two values decide whether
//! a value is accepted and say, in the refusal, what would be. Before, each range was
//! written twice (`!(60..=3600).contains(..)`, then "must be between 60 and 3600"), and
//! the two copies could drift apart.

use std::time::Duration;

use super::error::ConfigError;

/// Inclusive bounds of a value, with an optional reason the refusal adds in brackets.
/// A bound at the type's extreme (0, or the largest value) is left out of the message:
/// `at most 300`, `at least 1h`.
#[derive(Debug, Clone, Copy)]
pub struct Bounds<T> {
    pub min: T,
    pub max: T,
    /// Why the range is what it is, e.g. Synapse's own limit; empty = none.
    pub why: &'static str,
}

/// What a bounded value is: ordered, with extremes, and shown the way the configuration
/// file writes it.
pub trait Bounded: PartialOrd + Copy {
    const LEAST: Self;
    const MOST: Self;
    fn shown(&self) -> String;
}

impl<T: Bounded> Bounds<T> {
    pub const fn new(min: T, max: T) -> Bounds<T> {
        Bounds { min, max, why: "" }
    }

    pub const fn at_most(max: T) -> Bounds<T> {
        Bounds::new(T::LEAST, max)
    }

    pub const fn at_least(min: T) -> Bounds<T> {
        Bounds::new(min, T::MOST)
    }

    /// The same bounds, with the reason the refusal gives.
    pub const fn because(self, why: &'static str) -> Bounds<T> {
        Bounds { why, ..self }
    }

    /// Refuses a `value` of `key` out of bounds, saying what the bounds are.
    pub fn check(&self, key: &'static str, value: T) -> Result<(), ConfigError> {
        self.check_in(key, "", value)
    }

    /// As `check`, for one of several fields refused under one key (their first): the
    /// message names the `field`, e.g. `request_deadline must be between 100ms and 2m`
    /// under `synapse.call_timeout`.
    pub fn check_in(&self, key: &'static str, field: &str, value: T) -> Result<(), ConfigError> {
        if self.min <= value && value <= self.max {
            return Ok(());
        }
        let field = if field.is_empty() {
            String::new()
        } else {
            format!("{field} ")
        };
        let why = if self.why.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.why)
        };
        Err(ConfigError::invalid(
            key,
            format!("{field}must be {}{why}", self.rule()),
        ))
    }

    fn rule(&self) -> String {
        let (min, max) = (self.min.shown(), self.max.shown());
        if self.min <= T::LEAST {
            format!("at most {max}")
        } else if self.max >= T::MOST {
            format!("at least {min}")
        } else {
            format!("between {min} and {max}")
        }
    }
}

impl Bounds<Duration> {
    /// A timeout or a pause: from 100 ms (the floor every such key shares: shorter
    /// would fail on a busy machine) to `max`.
    pub const fn timeout(max: Duration) -> Bounds<Duration> {
        Bounds::new(Duration::from_millis(100), max)
    }
}

macro_rules! bounded_integer {
    ($($t:ty),*) => {$(
        impl Bounded for $t {
            const LEAST: $t = 0;
            const MOST: $t = <$t>::MAX;
            fn shown(&self) -> String {
                self.to_string()
            }
        }
    )*};
}

bounded_integer!(u32, u64, usize);

/// Whole days are shown as days (`730d`): humantime's years and months are 365.25 and
/// 30.44 days, which would write 730 days as a sum of six units.
impl Bounded for Duration {
    const LEAST: Duration = Duration::ZERO;
    const MOST: Duration = Duration::MAX;
    fn shown(&self) -> String {
        const DAY: u64 = 86_400;
        match (self.as_secs(), self.subsec_nanos()) {
            (s, 0) if s >= DAY && s % DAY == 0 => format!("{}d", s / DAY),
            _ => humantime::format_duration(*self).to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(r: Result<(), ConfigError>) -> String {
        match r {
            Err(ConfigError::Invalid { key, message }) => format!("{key}: {message}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_bounds_are_accepted_and_the_refusal_says_them() {
        let ttl = Bounds::new(60u64, 3600);
        assert!(ttl.check("token.ttl_seconds", 60).is_ok());
        assert!(ttl.check("token.ttl_seconds", 3600).is_ok());
        assert_eq!(
            message(ttl.check("token.ttl_seconds", 30)),
            "token.ttl_seconds: must be between 60 and 3600"
        );
        assert_eq!(
            message(Bounds::at_most(300u64).check("k", 301)),
            "k: must be at most 300"
        );
        assert_eq!(
            message(Bounds::at_least(1u32).check_in("k", "per_address", 0)),
            "k: per_address must be at least 1"
        );
        assert_eq!(
            message(Bounds::new(1usize, 2).because("why").check("k", 3)),
            "k: must be between 1 and 2 (why)"
        );
    }

    #[test]
    fn durations_read_as_the_file_writes_them() {
        let timeout = Bounds::new(Duration::from_millis(100), Duration::from_secs(300));
        assert_eq!(
            message(timeout.check("k", Duration::from_millis(99))),
            "k: must be between 100ms and 5m"
        );
        assert!(timeout.check("k", Duration::from_millis(100)).is_ok());
        assert_eq!(
            message(
                Bounds::at_most(Duration::from_secs(730 * 86_400))
                    .check("k", Duration::from_secs(731 * 86_400))
            ),
            "k: must be at most 730d"
        );
        assert_eq!(
            message(Bounds::at_least(Duration::from_secs(3600)).check("k", Duration::from_secs(1))),
            "k: must be at least 1h"
        );
    }
}
