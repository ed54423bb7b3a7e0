//! The name policy: which user, team and project names the directory accepts.
//!
//! User and team names appear in ACL listings, logs and `docker login`, so they are
//! short and printable, and never one of the built-in groups an ACL names.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("invalid {kind} name {name:?}: use 1-64 letters, digits, '.', '_' or '-' (not public/authenticated)")]
    Principal { kind: &'static str, name: String },
    #[error("project name must be 1-256 characters, none of them a control character")]
    Project,
    #[error("invalid e-mail address: give one like alice@example.org (at most 254 characters)")]
    Email,
}

fn principal_name(kind: &'static str, name: &str) -> Result<String, NameError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        // `oidc` is the user name CI jobs log in with (`domain::federation::WORKLOAD_LOGIN`):
        // an account of that name could never sign in with its password.
        && !matches!(name, "public" | "authenticated" | "oidc");
    if ok {
        Ok(name.to_string())
    } else {
        Err(NameError::Principal {
            kind,
            name: name.chars().take(64).collect(),
        })
    }
}

/// A valid user name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserName(String);

impl UserName {
    pub fn parse(name: &str) -> Result<UserName, NameError> {
        principal_name("user", name).map(UserName)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A valid team name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TeamName(String);

impl TeamName {
    pub fn parse(name: &str) -> Result<TeamName, NameError> {
        principal_name("team", name).map(TeamName)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Characters no name a person sets may hold: control characters (newline, ESC, ...)
/// and the invisible ones that reorder or break text (bidi overrides, line separators):
/// listings and logs would otherwise show something else than what is stored.
pub fn invisible_or_control(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A valid project name: free text, but not blank, not a novel, and nothing invisible.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProjectName(String);

impl ProjectName {
    pub fn parse(name: &str) -> Result<ProjectName, NameError> {
        if name.trim().is_empty() || name.len() > 256 || name.chars().any(invisible_or_control) {
            return Err(NameError::Project);
        }
        Ok(ProjectName(name.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user's e-mail address, accepted in place of the user name at login (as Synapse
/// does). Stored lower-case: addresses are unique without regard to case, and a login
/// as `Alice@Example.org` must find `alice@example.org`. Only the shape is checked
/// (one `@`, a dotted domain, no blanks): whether mail arrives is not our business.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(address: &str) -> Result<Email, NameError> {
        let address = address.trim().to_ascii_lowercase();
        let Some((local, domain)) = address.split_once('@') else {
            return Err(NameError::Email);
        };
        let printable = |s: &str| s.bytes().all(|b| b.is_ascii_graphic() && b != b'@');
        let ok = address.len() <= 254
            && !local.is_empty()
            && local.len() <= 64
            && printable(local)
            && printable(domain)
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.');
        if ok {
            Ok(Email(address))
        } else {
            Err(NameError::Email)
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Whether a login name is an e-mail address rather than a user name (user names
    /// never hold an `@`).
    pub fn looks_like(login: &str) -> bool {
        login.contains('@')
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for TeamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_names() {
        for ok in ["alice", "a.b_c-d", "A1", &"x".repeat(64)] {
            assert!(UserName::parse(ok).is_ok(), "{ok}");
            assert!(TeamName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "public",
            "authenticated",
            "oidc",
            "team:x",
            "a b",
            "zoë",
            &"x".repeat(65),
        ] {
            assert!(UserName::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(UserName::parse("alice").unwrap().to_string(), "alice");
        assert_eq!(TeamName::parse("devs").unwrap().to_string(), "devs");
        assert_eq!(
            ProjectName::parse("My project").unwrap().as_str(),
            "My project"
        );
        let e = TeamName::parse("a b").unwrap_err().to_string();
        assert!(e.starts_with("invalid team name"), "{e}");
    }

    #[test]
    fn emails_are_checked_and_kept_lower_case() {
        assert_eq!(
            Email::parse(" Alice@Example.ORG ").unwrap().as_str(),
            "alice@example.org"
        );
        for bad in [
            "",
            "alice",
            "@example.org",
            "alice@",
            "alice@localhost",
            "alice@.org",
            "alice@example.",
            "a b@example.org",
            "a@b@example.org",
            "zoë@example.org",
            &format!("{}@example.org", "a".repeat(65)),
            &format!("a@{}.org", "d".repeat(250)),
        ] {
            assert_eq!(Email::parse(bad), Err(NameError::Email), "{bad:?}");
        }
        assert!(Email::looks_like("alice@example.org") && !Email::looks_like("alice"));
    }

    #[test]
    fn project_names() {
        assert!(ProjectName::parse("My tools (2026)").is_ok());
        assert!(ProjectName::parse("  ").is_err());
        assert!(ProjectName::parse(&"p".repeat(257)).is_err());
        assert!(ProjectName::parse(&"p".repeat(256)).is_ok());
    }
}
