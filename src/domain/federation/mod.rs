//! Federation: what a workload's verified OIDC token may do under a project's trust
//! policy. Pure rules: which policy matches which claims (and, when none does, which
//! condition failed), what a matching policy confines the token to (repositories,
//! actions, lifetime), and the presets that pin the providers' immutable ids.

pub mod glob;
pub mod matching;
pub mod people;
pub mod presets;
pub mod reach;

pub use matching::{evaluate, first_match, pins_ids, Matched, Mismatch};
pub use reach::Reach;

/// The user name a CI job logs in with: `docker login -u oidc -p "$OIDC_TOKEN"`.
pub const WORKLOAD_LOGIN: &str = "oidc";

/// Whether a scope as asked (`repository:<name>:<actions>`) asks to read only.
pub fn is_pull_only(scope: &str) -> bool {
    scope.starts_with("repository:")
        && scope
            .rsplit_once(':')
            .is_some_and(|(_, actions)| actions == "pull")
}

/// The longest workload name kept (the registry echoes it as an event's actor).
const MAX_WORKLOAD_NAME: usize = 512;

/// The name a workload acts under (the registry token's `sub`, the grants' and the
/// registry events' actor): its issuer and subject, `issuer#subject`. No user name can
/// take this shape (user names have no `#` or `:`).
pub fn workload_name(issuer: &str, subject: &str) -> String {
    format!("{issuer}#{subject}")
}

/// Whether `name` has the shape `workload_name` gives: an `http(s)://` issuer, `#`, a
/// subject; visible ASCII only, at most 512 characters. What the registry may report
/// as a pusher besides a user name.
pub fn is_workload_name(name: &str) -> bool {
    name.len() <= MAX_WORKLOAD_NAME
        && name.bytes().all(|b| b.is_ascii_graphic())
        && (name.starts_with("https://") || name.starts_with("http://"))
        && name.split_once('#').is_some_and(|(_, sub)| !sub.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workload_names_are_told_apart_from_user_names_and_garbage() {
        let name = workload_name(
            "https://token.actions.githubusercontent.com",
            "repo:org/tool:ref:refs/heads/main",
        );
        assert!(is_workload_name(&name));
        for bad in [
            "alice",
            "https://x",
            "https://x#",
            "https://x#a b",
            "https://x#a\nb",
            "ftp://x#a",
            &format!("https://x#{}", "a".repeat(600)),
        ] {
            assert!(!is_workload_name(bad), "{bad}");
        }
        assert!(!is_workload_name("https://x#a\u{7f}"));
    }

    #[test]
    fn no_account_can_take_the_workload_login_name() {
        assert!(crate::domain::model::UserName::parse(WORKLOAD_LOGIN).is_err());
    }

    #[test]
    fn pull_only_scopes() {
        assert!(is_pull_only("repository:syn1/tool:pull"));
        for s in [
            "repository:syn1/tool:pull,push",
            "repository:syn1/tool:*",
            "registry:catalog:pull",
            "repository:syn1/tool:push",
        ] {
            assert!(!is_pull_only(s), "{s}");
        }
    }
}
