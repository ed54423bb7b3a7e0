//! Time as the directory stores it: Unix seconds, shown as RFC 3339 UTC.

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
