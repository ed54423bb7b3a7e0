//! tracing-subscriber set-up: human-readable or JSON lines on stderr.
//!
//! `RUST_LOG` overrides the configured level. Nothing in regauth passes a password,
//! token or Authorization header to a log macro. Fields that come from requests (user
//! names, client ids, scopes) are escaped in both formats: JSON escapes them by itself,
//! and the human format shows every control character as an escape, so a request can
//! neither forge a log line (a newline) nor drive a terminal (an ESC). Colour is used
//! only when stderr is a terminal, never in files or pipes.

use std::fmt::Write as _;
use std::io::IsTerminal;

use tracing_subscriber::field::MakeExt;
use tracing_subscriber::fmt::format::{self, Writer};
use tracing_subscriber::EnvFilter;

use super::config::LogFormat;
use super::shown::escape;

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
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Human => builder
            .with_ansi(std::io::stderr().is_terminal())
            .fmt_fields(escaping_fields())
            .try_init(),
    };
}

/// The human format's fields: `name=value`, space-separated, the message bare, every
/// value escaped by [`escape`].
fn escaping_fields() -> impl for<'w> format::FormatFields<'w> + Send + Sync + 'static {
    format::debug_fn(
        |w: &mut Writer<'_>, field: &tracing::field::Field, value: &dyn std::fmt::Debug| {
            let mut text = String::new();
            let _ = write!(text, "{value:?}");
            if field.name() == "message" {
                w.write_str(&escape(&text))
            } else {
                write!(w, "{}={}", field.name(), escape(&text))
            }
        },
    )
    .delimited(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infra::shown::HOSTILE;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The human format, fed the hostile strings as a field and as the message: each
    /// event stays one line with no control character in it.
    #[test]
    fn the_human_format_escapes_every_hostile_value() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .fmt_fields(escaping_fields())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            for h in HOSTILE {
                tracing::info!(user = %h, "login refused for {h}");
            }
        });
        let out = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf-8");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), HOSTILE.len(), "{out}");
        for line in lines {
            assert!(!line.chars().any(char::is_control), "{line:?}");
            assert!(
                !line.contains('\u{202e}') && !line.contains('\u{2028}'),
                "{line:?}"
            );
        }
    }
}
