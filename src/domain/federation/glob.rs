//! The anchored globs of trust policies: `*` stands for one run of characters that
//! never crosses a `/` or a `:`, everything else is literal, and the whole value must
//! match. So `repo:org/*:ref:refs/heads/main` cannot match `repo:org/a/../b:…`, a
//! different claim layout, or `repo:org/x:ref:refs/heads/main-evil` (see the reference
//! sheet's traps); there is no `**`, no `?` and no character class to get wrong.

/// Characters a `*` never crosses.
const SEPARATORS: [char; 2] = ['/', ':'];

/// Why a pattern is refused when a policy is made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GlobError {
    #[error("pattern is empty")]
    Empty,
    #[error("pattern {0:?} has `**`: a `*` never crosses `/` or `:`, so `**` means nothing more")]
    DoubleStar(String),
    #[error("pattern {0:?} is longer than 512 characters")]
    TooLong(String),
}

/// Checks a pattern before it is stored.
pub fn validate(pattern: &str) -> Result<(), GlobError> {
    if pattern.is_empty() {
        return Err(GlobError::Empty);
    }
    if pattern.len() > 512 {
        return Err(GlobError::TooLong(pattern.chars().take(64).collect()));
    }
    if pattern.contains("**") {
        return Err(GlobError::DoubleStar(pattern.into()));
    }
    Ok(())
}

/// Whether `value` matches `pattern` as a whole. Linear in the lengths (no
/// backtracking blow-up): each `*` is settled within its separator-free segment.
pub fn matches(pattern: &str, value: &str) -> bool {
    let mut pat = pattern.split(SEPARATORS);
    let mut val = value.split(SEPARATORS);
    // Both sides must have the same separators in the same places.
    let (pseps, vseps) = (separators(pattern), separators(value));
    if !pseps.eq(vseps) {
        return false;
    }
    loop {
        match (pat.next(), val.next()) {
            (None, None) => return true,
            (Some(p), Some(v)) => {
                if !segment_matches(p, v) {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

fn separators(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars().filter(|c| SEPARATORS.contains(c))
}

/// One segment (no separators): literal parts in order, the first anchored at the
/// start, the last at the end, `*` between them taking the shortest run that works
/// (greedy-free: literal parts are found left to right, which is exact for `*`-only
/// patterns).
fn segment_matches(pattern: &str, value: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == value;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !value.starts_with(first) || value.len() < first.len() + last.len() {
        return false;
    }
    if !value.ends_with(last) {
        return false;
    }
    let mut rest = &value[first.len()..value.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchored_and_never_across_separators() {
        let cases = [
            (
                "repo:org/*:ref:refs/heads/main",
                "repo:org/tool:ref:refs/heads/main",
                true,
            ),
            (
                "repo:org/*:ref:refs/heads/main",
                "repo:org/a/../b:ref:refs/heads/main",
                false,
            ),
            (
                "repo:org/*:ref:refs/heads/main",
                "repo:org/tool:environment:prod",
                false,
            ),
            (
                "repo:org/*:ref:refs/heads/main",
                "repo:org/tool:ref:refs/heads/main-evil",
                false,
            ),
            ("repo:org/*", "repo:org/tool:ref:refs/heads/main", false),
            ("repo:org/*", "repo:org/", true),
            ("repo:org/tool", "repo:org/tool", true),
            ("repo:org/tool", "Repo:org/tool", false),
            ("repo:org/tool", "repo:org/tool ", false),
            ("refs/heads/release-*", "refs/heads/release-1.2", true),
            ("refs/heads/release-*", "refs/heads/release-1/evil", false),
            ("refs/heads/*", "refs/tags/v1", false),
            ("*-prod", "eu-prod", true),
            ("*-prod", "eu-prod-not", false),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXcYb", false),
            ("a*a", "a", false),
            ("*", "", true),
            ("*", "x/y", false),
            ("", "", true),
        ];
        for (p, v, want) in cases {
            assert_eq!(matches(p, v), want, "{p:?} ~ {v:?}");
        }
    }

    #[test]
    fn patterns_checked_when_made() {
        assert_eq!(validate(""), Err(GlobError::Empty));
        assert!(matches!(validate("repo:**"), Err(GlobError::DoubleStar(_))));
        assert!(validate(&"a".repeat(600)).is_err());
        assert!(validate("repo:org/*:ref:refs/heads/*").is_ok());
    }

    #[test]
    fn long_hostile_values_stay_linear() {
        let value = "a".repeat(100_000);
        let pattern = format!("{}b", "a*".repeat(200));
        assert!(!matches(&pattern, &value));
    }
}
