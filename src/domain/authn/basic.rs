//! The `Authorization: Basic` header (RFC 7617).
//!
//! Error messages never contain any part of the header: they are logged.

use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;

/// Standard alphabet; `=` padding optional, since some clients drop it.
const LENIENT_STANDARD: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BasicError {
    #[error("authorization scheme is not Basic")]
    NotBasic,
    #[error("Basic credentials are not valid base64")]
    BadBase64,
    #[error("Basic credentials are not UTF-8")]
    NotUtf8,
    #[error("Basic credentials have no ':' between user and password")]
    NoColon,
    #[error("Basic credentials are empty")]
    Empty,
}

/// Splits `Basic <base64(user:password)>` into user and password. The scheme is
/// case-insensitive; the split is at the first `:` (a user name cannot hold one, a
/// password can). Either half may be empty, not both.
pub fn parse_basic(header_value: &str) -> Result<(String, String), BasicError> {
    let value = header_value.trim_matches(|c| c == ' ' || c == '\t');
    let (scheme, credentials) = value.split_once([' ', '\t']).unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(BasicError::NotBasic);
    }
    let credentials = credentials.trim_matches(|c| c == ' ' || c == '\t');
    if credentials.is_empty() {
        return Err(BasicError::Empty);
    }
    let bytes = LENIENT_STANDARD
        .decode(credentials)
        .map_err(|_| BasicError::BadBase64)?;
    let text = String::from_utf8(bytes).map_err(|_| BasicError::NotUtf8)?;
    let (user, password) = text.split_once(':').ok_or(BasicError::NoColon)?;
    if user.is_empty() && password.is_empty() {
        return Err(BasicError::Empty);
    }
    Ok((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD as B64, STANDARD_NO_PAD};
    use proptest::prelude::*;

    fn header(s: &str) -> String {
        format!("Basic {}", B64.encode(s))
    }

    /// `user:password` pairs as sent and the halves they split into.
    #[test]
    fn parses_user_and_password_split_at_the_first_colon() {
        for (pair, user, password) in [
            ("alice:s3cret", "alice", "s3cret"),
            ("alice:pa:ss:", "alice", "pa:ss:"),
            // Unicode survives.
            ("zoë:pässwörd✓", "zoë", "pässwörd✓"),
        ] {
            let want = Ok((user.into(), password.into()));
            assert_eq!(parse_basic(&header(pair)), want, "{pair}");
        }
    }

    #[test]
    fn scheme_is_case_insensitive_and_whitespace_tolerated() {
        let b = B64.encode("u:p");
        for h in [
            format!("basic {b}"),
            format!("BASIC {b}"),
            format!("bAsIc   {b}  "),
            format!("Basic\t{b}"),
            format!(" \tBasic {b}\t "),
        ] {
            assert_eq!(parse_basic(&h), Ok(("u".into(), "p".into())), "{h}");
        }
    }

    #[test]
    fn padding_is_optional() {
        // "u:pw" encodes with one '=' of padding.
        let padded = B64.encode("u:pw");
        assert!(padded.ends_with('='));
        let bare = STANDARD_NO_PAD.encode("u:pw");
        for b in [padded, bare] {
            let want = Ok(("u".into(), "pw".into()));
            assert_eq!(parse_basic(&format!("Basic {b}")), want, "{b}");
        }
    }

    #[test]
    fn either_half_may_be_empty_but_not_both() {
        // An access token with no user name, and a user with an empty password (which
        // then simply fails verification).
        assert_eq!(
            parse_basic(&header(":rga_x")),
            Ok(("".into(), "rga_x".into()))
        );
        assert_eq!(parse_basic(&header("bob:")), Ok(("bob".into(), "".into())));
        assert_eq!(parse_basic(&header(":")), Err(BasicError::Empty));
    }

    #[test]
    fn errors_are_specific() {
        let b = B64.encode("u:p");
        let latin1 = B64.encode([b'u', b':', 0xff, 0xfe]);
        for (h, want) in [
            (format!("Bearer {b}"), BasicError::NotBasic),
            (format!("Basicx {b}"), BasicError::NotBasic),
            (b.clone(), BasicError::NotBasic),
            (String::new(), BasicError::NotBasic),
            ("Basic".into(), BasicError::Empty),
            ("Basic   ".into(), BasicError::Empty),
            ("Basic !!!!".into(), BasicError::BadBase64),
            ("Basic dTpw dTpw".into(), BasicError::BadBase64),
            // URL-safe alphabet is not Basic's.
            ("Basic _-_-".into(), BasicError::BadBase64),
            (format!("Basic {latin1}"), BasicError::NotUtf8),
            (header("nocolon"), BasicError::NoColon),
        ] {
            assert_eq!(parse_basic(&h), Err(want), "{h}");
        }
    }

    #[test]
    fn error_messages_do_not_echo_the_header() {
        for e in [
            BasicError::NotBasic,
            BasicError::BadBase64,
            BasicError::NotUtf8,
            BasicError::NoColon,
            BasicError::Empty,
        ] {
            assert!(!e.to_string().contains("s3cret"));
        }
        let err = parse_basic(&header("s3cret")).unwrap_err();
        assert!(!err.to_string().contains("s3cret"));
    }

    proptest! {
        #[test]
        fn garbage_never_panics(s in ".*") {
            let _ = parse_basic(&s);
            let _ = parse_basic(&format!("Basic {s}"));
        }

        #[test]
        fn garbage_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = parse_basic(&format!("Basic {}", B64.encode(&bytes)));
        }

        #[test]
        fn round_trips(user in "[^:]{0,20}", password in ".{0,40}") {
            prop_assume!(!(user.is_empty() && password.is_empty()));
            let h = header(&format!("{user}:{password}"));
            prop_assert_eq!(parse_basic(&h), Ok((user, password)));
        }
    }
}
