//! Cross-site request forgery: every form a signed-in page renders carries its
//! session's random token in a hidden field, and every POST is refused (403, nothing
//! changed) unless the field equals it, compared in constant time.
//!
//! The sign-in form has no session yet: it carries a "double submit" token instead, the
//! same random value in a hidden field and in a short-lived cookie (`HttpOnly`,
//! `SameSite=Strict`, `Path=/ui`), so another site can neither read nor send it. Both
//! cookies being `SameSite=Strict` is a second, independent barrier.

use subtle::ConstantTimeEq;

/// The hidden field's name in every form.
pub const FIELD: &str = "csrf";
/// The cookie of the sign-in form's double-submit token.
pub const SIGNIN_COOKIE: &str = "regauth_signin";

/// Whether `given` (the form's field, if any) is `expected`. The comparison of the
/// bytes takes the same time wherever they differ; a missing or empty field, or an
/// empty expectation, is never a match.
pub fn matches(expected: &str, given: Option<&str>) -> bool {
    let Some(given) = given else {
        return false;
    };
    // An empty field against a token fails the comparison below; only two empty
    // strings would pass it.
    if expected.is_empty() {
        return false;
    }
    // Lengths are not secret (every token has 43 characters); `ct_eq` on slices of
    // different lengths answers false without looking at the bytes.
    bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infra::web::session::random_token;

    #[test]
    fn only_the_same_token_matches() {
        let t = random_token();
        assert!(matches(&t, Some(&t.clone())));
        assert!(!matches(&t, None), "missing");
        assert!(!matches(&t, Some("")), "empty");
        assert!(!matches(&t, Some(&random_token())), "another session's");
        assert!(!matches(&t, Some(&t[..42])), "truncated");
        assert!(!matches(&t, Some(&format!("{t}x"))), "extended");
        let mut flipped = t.clone().into_bytes();
        flipped[42] = if flipped[42] == b'A' { b'B' } else { b'A' };
        assert!(!matches(&t, Some(std::str::from_utf8(&flipped).unwrap())));
        assert!(!matches("", Some("")), "no expectation matches nothing");
    }

    #[test]
    fn tokens_are_random_and_url_safe() {
        let a = random_token();
        let b = random_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }
}
