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

/// `text` with every control character (newline, carriage return, ESC, NUL, ...) and
/// every other non-printing one written as a `\u{..}` escape; printable text untouched.
pub fn escape(text: &str) -> String {
    if !text.chars().any(needs_escape) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_cannot_forge_lines_or_drive_terminals() {
        assert_eq!(escape("alice"), "alice");
        assert_eq!(escape("zoë ✓"), "zoë ✓");
        let forged = "x\nINFO regauth::token: token issued user=admin";
        let e = escape(forged);
        assert!(!e.contains('\n'), "{e}");
        assert!(e.starts_with("x\\u{a}INFO"), "{e}");
        assert_eq!(escape("\u{1b}[31mred"), "\\u{1b}[31mred");
        assert_eq!(escape("a\rb\0c\u{7f}"), "a\\u{d}b\\u{0}c\\u{7f}");
        assert_eq!(escape("rtl\u{202e}gpj.exe"), "rtl\\u{202e}gpj.exe");
    }
}
