//! Time as the directory stores it: Unix seconds, shown as RFC 3339 UTC; and the
//! lifetimes people type (`30d`), the same grammar for the CLI, the API and the pages.

use std::time::Duration;

/// Seconds since the Unix epoch.
pub type UnixTime = i64;

/// Unix seconds as RFC 3339 UTC (`2026-11-22T14:23:00Z`), the form the token spec's
/// `issued_at` and our listings use; `None` outside the representable range.
pub fn rfc3339(unix: UnixTime) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()?
        .format(&time::format_description::well_known::Rfc3339)
        .ok()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {0:?}: use e.g. 30d, 12h, 90m")]
pub struct InvalidLifetime(pub String);

/// A lifetime such as `30d`, `12h`, `90m`, `1h30m` or `2w` (humantime's grammar); zero
/// is refused, since a token that is expired when made is a typo.
pub fn parse_lifetime(s: &str) -> Result<Duration, InvalidLifetime> {
    match humantime::parse_duration(s.trim()) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(InvalidLifetime(s.to_string())),
    }
}

/// Lifetimes as typed and the seconds they mean (`None`: refused), for the tests of
/// this grammar and of the shells that take it.
#[cfg(test)]
pub(crate) const LIFETIME_CASES: &[(&str, Option<u64>)] = &[
    ("30d", Some(30 * 86_400)),
    ("90m", Some(5400)),
    ("1h30m", Some(5400)),
    ("2w", Some(14 * 86_400)),
    ("", None),
    ("d", None),
    ("10", None),
    ("10x", None),
    ("-1d", None),
    ("0h", None),
    ("99999999999999999999w", None),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes() {
        for &(typed, secs) in LIFETIME_CASES {
            let want = secs.map(Duration::from_secs);
            assert_eq!(parse_lifetime(typed).ok(), want, "{typed}");
        }
    }
}
