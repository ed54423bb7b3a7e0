//! Text from requests and the directory as humans read it: every control character
//! (newline, carriage return, ESC, NUL, DEL, C1) and every invisible reordering one
//! (bidi overrides, line separators) written as a `\u{..}` escape, printable text
//! untouched. The human log format, every CLI listing, `regauth audit` and the CLI's
//! error line go through here, so stored or requested text can neither forge a line
//! nor a column, nor drive the operator's terminal.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

/// `text` with every control or reordering character escaped (tabs too).
pub fn escape(text: &str) -> Cow<'_, str> {
    escape_but(text, None)
}

/// Like [`escape`], but `keep` passes (a listing's own tab separators).
fn escape_but(text: &str, keep: Option<char>) -> Cow<'_, str> {
    let escaped = |c: char| needs_escape(c) && Some(c) != keep;
    if !text.chars().any(escaped) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if escaped(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A whole output line whose fields were already [`Shown`]: only the separators (tabs)
/// are left as they are, anything else that slipped through is escaped.
pub fn escape_line(line: &str) -> Cow<'_, str> {
    escape_but(line, Some('\t'))
}

/// The characters no name may hold (`names::invisible_or_control`) are the ones shown
/// escaped.
fn needs_escape(c: char) -> bool {
    crate::domain::model::names::invisible_or_control(c)
}

/// A field of a listing, displayed escaped (a tab in a name cannot make a column).
pub struct Shown<T>(pub T);

impl<T: fmt::Display> fmt::Display for Shown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.to_string();
        f.write_str(&escape(&text))
    }
}

/// The hostile strings every human-readable output is tested with.
#[cfg(test)]
pub const HOSTILE: [&str; 7] = [
    "x\nINFO regauth::token: token issued user=admin",
    "\u{1b}]0;pwned\u{7}\u{1b}[2J",
    "a\rb\0c\u{7f}",
    "alice\ttoken_issued\tadmin\t-\tregistry:catalog:*",
    "rtl\u{202e}gpj.exe",
    "line\u{2028}separator",
    "\u{9b}31m",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_cannot_forge_lines_columns_or_drive_terminals() {
        assert_eq!(escape("alice"), "alice");
        assert_eq!(escape("zoë ✓"), "zoë ✓");
        let e = escape(HOSTILE[0]);
        assert!(e.starts_with("x\\u{a}INFO"), "{e}");
        assert_eq!(escape("\u{1b}[31mred"), "\\u{1b}[31mred");
        assert_eq!(escape("a\rb\0c\u{7f}"), "a\\u{d}b\\u{0}c\\u{7f}");
        assert_eq!(escape("rtl\u{202e}gpj.exe"), "rtl\\u{202e}gpj.exe");
        for h in HOSTILE {
            let shown = Shown(h).to_string();
            assert!(!shown.chars().any(needs_escape), "{shown}");
            assert!(!escape_line(h).chars().any(|c| c != '\t' && needs_escape(c)));
        }
        assert_eq!(escape_line("a\tb\nc"), "a\tb\\u{a}c");
        assert_eq!(Shown("a\tb").to_string(), "a\\u{9}b");
    }
}
