//! Personal access tokens and refresh tokens: generation, hashing, recognition.
//!
//! A token is a prefix plus 32 random bytes in base64url. The directory keeps only its
//! SHA-256: the secret has 256 bits of entropy, so a fast hash is as good as a slow
//! one, and looking a token up by its hash compares no secret byte by byte. Pure: the
//! random bytes come from the caller (`app::secrets` draws them from the OS).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const ACCESS_TOKEN_PREFIX: &str = "rga_";
pub const REFRESH_TOKEN_PREFIX: &str = "rgr_";

/// Random bytes per token.
pub const TOKEN_BYTES: usize = 32;
/// Length of the base64url (no padding) text of `TOKEN_BYTES` bytes.
const TOKEN_BODY_LEN: usize = (TOKEN_BYTES * 4).div_ceil(3);

/// A token's text: `prefix` followed by its 32 random bytes, base64url without padding
/// (43 characters).
pub fn token_text(prefix: &str, bytes: &[u8; TOKEN_BYTES]) -> String {
    let mut out = String::with_capacity(prefix.len() + TOKEN_BODY_LEN);
    out.push_str(prefix);
    URL_SAFE_NO_PAD.encode_string(bytes, &mut out);
    out
}

/// The SHA-256 of the token text: what the directory stores and looks up.
pub fn hash_token(token: &str) -> crate::domain::model::TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

fn has_shape(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(|body| {
        body.len() == TOKEN_BODY_LEN
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// Whether `s` has the shape of one of our access tokens, so the password field of a
/// Basic login is only looked up as a token when it could be one.
pub fn looks_like_access_token(s: &str) -> bool {
    has_shape(s, ACCESS_TOKEN_PREFIX)
}

/// Whether `s` has the shape of one of our refresh tokens (the tests' check of the shape).
#[cfg(test)]
pub fn looks_like_refresh_token(s: &str) -> bool {
    has_shape(s, REFRESH_TOKEN_PREFIX)
}

/// How a login name is recorded (audit trail, logs): as given, unless it has the shape
/// of a secret — one of our access or refresh tokens (even cut short), a web session's
/// random token, a JWT — typed into the user-name field by mistake. Such a name is
/// recorded as `<token>` with at most its public prefix, never the secret.
pub fn recorded_login(name: &str) -> std::borrow::Cow<'_, str> {
    for prefix in [ACCESS_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX] {
        if name.len() > prefix.len() + 8 && name.starts_with(prefix) {
            return format!("<token {prefix}>").into();
        }
    }
    let url_safe = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    // 32 random bytes in base64url (a session, a CSRF token): mixed case and digits,
    // which no one picks for a user name of that length.
    let random = name.len() == TOKEN_BODY_LEN
        && url_safe(name)
        && name.bytes().any(|b| b.is_ascii_uppercase())
        && name.bytes().any(|b| b.is_ascii_lowercase())
        && name.bytes().any(|b| b.is_ascii_digit());
    let jwt = name.len() > 40 && {
        let parts: Vec<&str> = name.split('.').collect();
        parts.len() == 3 && parts.iter().all(|p| url_safe(p))
    };
    if random || jwt {
        return "<token>".into();
    }
    name.into()
}

/// Constant-time equality (the time depends on the lengths only).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_typed_as_a_user_name_are_recorded_as_token_only() {
        let access = generate_token(ACCESS_TOKEN_PREFIX);
        assert_eq!(recorded_login(&access), "<token rga_>");
        assert_eq!(recorded_login(&access[..20]), "<token rga_>", "cut short");
        let refresh = generate_token(REFRESH_TOKEN_PREFIX);
        assert_eq!(recorded_login(&refresh), "<token rgr_>");
        let session = &access[ACCESS_TOKEN_PREFIX.len()..];
        assert_eq!(recorded_login(session), "<token>");
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLWJ5dGVz";
        assert_eq!(recorded_login(jwt), "<token>");
        for name in [
            "alice",
            "alice@example.org",
            "rga_",
            "build-bot-2",
            &"a".repeat(43),
        ] {
            assert_eq!(recorded_login(name), name);
        }
        // The edges: a prefix with 8 more characters is a name, with 9 a token cut short.
        assert_eq!(recorded_login("rga_12345678"), "rga_12345678");
        assert_eq!(recorded_login("rga_123456789"), "<token rga_>");
        // A random token with '-' and '_' in it; a name of that length with dots is none.
        let dashed = "Ab3-_Ab3-_Ab3-_Ab3-_Ab3-_Ab3-_Ab3-_Ab3-_Ab3";
        assert_eq!(dashed.len(), 43);
        assert_eq!(recorded_login(dashed), "<token>");
        let dotted = "Ab3.Ab3.Ab3.Ab3.Ab3.Ab3.Ab3.Ab3.Ab3.Ab3.Ab3";
        assert_eq!(dotted.len(), 43);
        assert_eq!(recorded_login(dotted), dotted);
        // A JWT's shape from 41 characters on; an empty part is no JWT.
        let forty = format!("{}.{}.{}", "a".repeat(13), "b".repeat(12), "c".repeat(13));
        assert_eq!(forty.len(), 40);
        assert_eq!(recorded_login(&forty), forty.as_str());
        let forty_one = format!("{forty}c");
        assert_eq!(recorded_login(&forty_one), "<token>");
        let empty_part = format!("{}..{}", "a".repeat(20), "b".repeat(20));
        assert_eq!(recorded_login(&empty_part), empty_part.as_str());
    }
    use std::collections::HashSet;

    fn generate_token(prefix: &str) -> String {
        token_text(prefix, &rand::random())
    }

    #[test]
    fn generated_tokens_have_prefix_length_and_alphabet() {
        let t = generate_token(ACCESS_TOKEN_PREFIX);
        assert!(t.starts_with("rga_"));
        assert_eq!(t.len(), 4 + 43);
        let body = &t[4..];
        assert_eq!(URL_SAFE_NO_PAD.decode(body).unwrap().len(), 32);
        assert!(looks_like_access_token(&t));
        assert!(!looks_like_refresh_token(&t));

        let r = generate_token(REFRESH_TOKEN_PREFIX);
        assert!(looks_like_refresh_token(&r));
        assert!(!looks_like_access_token(&r));

        let bare = generate_token("");
        assert_eq!(bare.len(), 43);
    }

    #[test]
    fn tokens_are_unique() {
        let set: HashSet<String> = (0..1000)
            .map(|_| generate_token(ACCESS_TOKEN_PREFIX))
            .collect();
        assert_eq!(set.len(), 1000);
    }

    #[test]
    fn hash_is_sha256_of_the_text() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(
            hex::encode(hash_token("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let t = generate_token(ACCESS_TOKEN_PREFIX);
        assert_eq!(hash_token(&t), hash_token(&t.clone()));
        assert_ne!(
            hash_token(&t),
            hash_token(&generate_token(ACCESS_TOKEN_PREFIX))
        );
    }

    #[test]
    fn passwords_do_not_look_like_tokens() {
        let t = generate_token(ACCESS_TOKEN_PREFIX);
        for s in [
            "",
            "rga_",
            "hunter22",
            "rga_short",
            &t[..t.len() - 1],
            &format!("{t}x"),
            &format!("RGA_{}", &t[4..]),
            &format!("rga_{}", "+".repeat(43)),
            &format!("rga_{}", "é".repeat(21)),
            &format!(" {t}"),
        ] {
            assert!(!looks_like_access_token(s), "{s:?}");
        }
    }

    #[test]
    fn ct_eq_compares_contents_and_lengths() {
        assert!(ct_eq(b"", b""));
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        assert!(!ct_eq(b"", b"a"));
    }
}
