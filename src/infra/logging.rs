//! tracing-subscriber set-up: human-readable or JSON lines on stderr.
//!
//! `RUST_LOG` overrides the configured level. Nothing in regauth passes a password,
//! token or Authorization header to a log macro; the token endpoint logs user, client,
//! scopes and denial reasons only.

use tracing_subscriber::EnvFilter;

use super::config::LogFormat;

/// Installs the global subscriber; a second call (tests) is a no-op.
pub fn init(format: LogFormat, level: &str) {
    // `log.level` was validated with the settings; a bad RUST_LOG falls back to it.
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(true);
    let _ = if format == LogFormat::Json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}
