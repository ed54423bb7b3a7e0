//! Repository paths `syn<digits>/<name>[/<more>]` and the Docker reference grammar.
//!
//! Hand-written, single pass, linear-time matchers: Synapse once had a
//! catastrophic-backtracking bug in its regular expressions for these names.

use crate::domain::model::EntityId;

/// Longest repository path (the registry's own limit). Public for the fuzz target
/// (`fuzz/fuzz_targets/repo_name.rs`), which holds the parser to it.
pub const MAX_LEN: usize = 255;

/// A valid managed-repository path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoPath {
    full: String,
    project: EntityId,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepoNameError {
    #[error("repository name is empty")]
    Empty,
    #[error("repository name is {len} characters long; at most 255 are allowed")]
    TooLong { len: usize },
    #[error("repository name must start with a project id (syn<digits>/...)")]
    NotAProjectId,
    #[error("repository name needs a name after the project id (syn<digits>/<name>)")]
    NoRepositoryName,
    #[error("repository name component {component:?} is invalid: use lower-case letters and digits, separated by '.', '_', '__' or dashes")]
    InvalidComponent { component: String },
    #[error("host {host:?} is invalid")]
    InvalidHost { host: String },
    #[error("image name must not carry a tag or digest")]
    HasReference,
    #[error("{host} is this registry: push there instead of recording an external repository")]
    OwnRegistry { host: String },
}

/// True when `c` matches `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`, checked in one pass.
fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        // A separator run: '.', '_', '__', or one or more '-'.
        let start = i;
        match b[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if b.get(i) == Some(&b'_') {
                    i += 1;
                }
            }
            b'-' => {
                while b.get(i) == Some(&b'-') {
                    i += 1;
                }
            }
            _ => return false,
        }
        // The separator must be followed by an alphanumeric (the end is alnum, checked above).
        if i >= b.len() || !alnum(b[i]) || i == start {
            return false;
        }
    }
    true
}

impl RepoPath {
    pub fn parse(s: &str) -> Result<RepoPath, RepoNameError> {
        if s.is_empty() {
            return Err(RepoNameError::Empty);
        }
        if s.len() > MAX_LEN {
            return Err(RepoNameError::TooLong { len: s.len() });
        }
        let mut parts = s.split('/');
        let first = parts.next().unwrap_or_default();
        let project: EntityId = first.parse().map_err(|_| RepoNameError::NotAProjectId)?;
        let mut named = false;
        for part in parts {
            if !valid_component(part) {
                return Err(RepoNameError::InvalidComponent {
                    component: part.chars().take(64).collect(),
                });
            }
            named = true;
        }
        if !named {
            return Err(RepoNameError::NoRepositoryName);
        }
        Ok(RepoPath {
            full: s.to_string(),
            project,
        })
    }
    pub fn as_str(&self) -> &str {
        &self.full
    }
    /// The project id (first component).
    pub fn project(&self) -> EntityId {
        self.project
    }
    /// The part after the project id.
    pub fn name(&self) -> &str {
        self.full.split_once('/').map(|(_, n)| n).unwrap_or("")
    }
}

impl std::fmt::Display for RepoPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.full)
    }
}

/// A tag as distribution defines it: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    (1..=128).contains(&b.len())
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// A content digest: `sha256:` and 64, or `sha512:` and 128, lower-case hex digits (the
/// algorithms distribution registers; anything else is refused, not guessed at).
pub fn valid_digest(d: &str) -> bool {
    let hex = |h: &str, len: usize| {
        h.len() == len && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    match d.split_once(':') {
        Some(("sha256", h)) => hex(h, 64),
        Some(("sha512", h)) => hex(h, 128),
        _ => false,
    }
}

/// An image name in another registry: `[host[:port]/]path`, lower-case path components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalName {
    pub host: Option<String>,
    pub path: String,
}

impl ExternalName {
    /// External records point at *other* registries: a host that names this registry
    /// (one of `own_hosts`, compared case-insensitively) is refused, since its images
    /// belong in a managed repository that the rules govern.
    pub fn check_not_ours(&self, own_hosts: &[String]) -> Result<(), RepoNameError> {
        match &self.host {
            Some(h) if own_hosts.iter().any(|o| o.eq_ignore_ascii_case(h)) => {
                Err(RepoNameError::OwnRegistry { host: h.clone() })
            }
            _ => Ok(()),
        }
    }

    pub fn full(&self) -> String {
        match &self.host {
            Some(h) => format!("{h}/{}", self.path),
            None => self.path.clone(),
        }
    }
}

fn valid_host(h: &str) -> bool {
    let (name, port) = match h.rsplit_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (h, None),
    };
    if let Some(p) = port {
        if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    !name.is_empty()
        && name.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        })
}

/// Parses a Docker reference name (no tag, no digest). The first component is a host
/// only when it contains `.` or `:` or is `localhost`, as in docker's own grammar.
pub fn parse_external(s: &str) -> Result<ExternalName, RepoNameError> {
    if s.is_empty() {
        return Err(RepoNameError::Empty);
    }
    if s.len() > MAX_LEN {
        return Err(RepoNameError::TooLong { len: s.len() });
    }
    if s.contains('@') {
        return Err(RepoNameError::HasReference);
    }
    let (host, path) = match s.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            if !valid_host(first) {
                return Err(RepoNameError::InvalidHost {
                    host: first.chars().take(64).collect(),
                });
            }
            (Some(first.to_string()), rest)
        }
        _ => (None, s),
    };
    if path.contains(':') {
        return Err(RepoNameError::HasReference);
    }
    for part in path.split('/') {
        if !valid_component(part) {
            return Err(RepoNameError::InvalidComponent {
                component: part.chars().take(64).collect(),
            });
        }
    }
    Ok(ExternalName {
        host,
        path: path.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn valid_paths() {
        for ok in [
            "syn1/x",
            "syn123/my-tool",
            "syn1/a/b/c",
            "syn1/a__b",
            "syn1/a.b_c--d",
            "syn9/0",
        ] {
            let p = RepoPath::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert_eq!(p.as_str(), ok);
        }
        let p = RepoPath::parse("syn42/tools/aligner").unwrap();
        assert_eq!(p.project(), EntityId(42));
        assert_eq!(p.name(), "tools/aligner");
    }

    #[test]
    fn invalid_paths_from_the_contract() {
        for bad in [
            "syn1/UPPER",
            "syn1/x/",
            "syn1",
            "syn1/a___b",
            "syn1/a-",
            "abc/x",
            "syn1/../syn2/x",
            "syn1//x",
            "",
            "/syn1/x",
            "syn1/é",
            "syn1/-a",
            "syn1/a..b",
            "syn1/_a",
            "SYN1/x",
            "syn1a/x",
            "syn1/a b",
            "syn01000/app",
            "syn00/x",
        ] {
            assert!(RepoPath::parse(bad).is_err(), "{bad:?} accepted");
        }
        let long = format!("syn1/{}", "a".repeat(251));
        assert!(matches!(
            RepoPath::parse(&long),
            Err(RepoNameError::TooLong { .. })
        ));
        assert!(RepoPath::parse(&format!("syn1/{}", "a".repeat(250))).is_ok());
    }

    #[test]
    fn pathological_input_is_rejected() {
        // Linear-time: this would take ages with a backtracking regex.
        let evil = format!("syn1/{}!", "a-".repeat(50_000));
        assert!(valid_component(&evil[5..]).eq(&false));
        assert!(RepoPath::parse(&evil).is_err());
    }

    #[test]
    fn external_names() {
        for (s, host, path) in [
            ("ubuntu", None, "ubuntu"),
            ("library/ubuntu", None, "library/ubuntu"),
            ("quay.io/org/x", Some("quay.io"), "org/x"),
            ("localhost:5000/a/b", Some("localhost:5000"), "a/b"),
            ("localhost/a", Some("localhost"), "a"),
            ("r.example.org:65535/a", Some("r.example.org:65535"), "a"),
            ("r.example.org:1/a", Some("r.example.org:1"), "a"),
            (
                "my-registry.example.org/a",
                Some("my-registry.example.org"),
                "a",
            ),
        ] {
            let n = parse_external(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(n.host.as_deref(), host);
            assert_eq!(n.path, path);
            assert_eq!(n.full(), s);
        }
        for bad in [
            "Quay.io/X",
            "quay.io/",
            "a//b",
            "x:1",
            "quay.io/x:1",
            "x@sha256:ab",
            "",
            "-bad.io/x",
            "h.io:port/x",
            "h.io:/x",
            "h.io:123456/x",
        ] {
            assert!(parse_external(bad).is_err(), "{bad:?} accepted");
        }
        // At most MAX_LEN bytes, like a managed path.
        let longest = format!("quay.io/{}", "a".repeat(MAX_LEN - 8));
        assert_eq!(longest.len(), MAX_LEN);
        assert!(parse_external(&longest).is_ok());
        assert!(parse_external(&format!("{longest}a")).is_err());
    }

    #[test]
    fn tags_and_digests() {
        for ok in [
            "v1",
            "latest",
            "_x",
            "1.0.0-rc.1",
            "A_b-C.d",
            &"t".repeat(128),
        ] {
            assert!(valid_tag(ok), "{ok}");
        }
        for bad in [
            "",
            ".v1",
            "-v1",
            "v1/x",
            "../x",
            "a\0b",
            "a b",
            "ü",
            &"t".repeat(129),
        ] {
            assert!(!valid_tag(bad), "{bad:?}");
        }
        assert!(valid_digest(&format!("sha256:{}", "a1".repeat(32))));
        assert!(valid_digest(&format!("sha512:{}", "0f".repeat(64))));
        for bad in [
            "sha256:".to_string(),
            format!("sha256:{}", "A1".repeat(32)),
            format!("sha256:{}", "a".repeat(63)),
            format!("md5:{}", "a".repeat(32)),
            format!("sha256:{}\n", "a".repeat(64)),
            "sha256".to_string(),
        ] {
            assert!(!valid_digest(&bad), "{bad:?}");
        }
    }

    #[test]
    fn our_own_hosts_are_not_external() {
        let ours = [
            "127.0.0.1:5000".to_string(),
            "Registry.Example.org".to_string(),
        ];
        assert!(parse_external("quay.io/org/x")
            .unwrap()
            .check_not_ours(&ours)
            .is_ok());
        assert!(parse_external("library/ubuntu")
            .unwrap()
            .check_not_ours(&ours)
            .is_ok());
        for own in ["127.0.0.1:5000/syn1/x", "registry.example.org/a"] {
            let e = parse_external(own)
                .unwrap()
                .check_not_ours(&ours)
                .unwrap_err();
            assert!(matches!(e, RepoNameError::OwnRegistry { .. }), "{own}");
            assert!(e.to_string().contains("is this registry"));
        }
    }

    fn component() -> impl Strategy<Value = String> {
        "[a-z0-9]{1,5}((\\.|_|__|-{1,3})[a-z0-9]{1,5}){0,3}"
    }

    proptest! {
        #[test]
        fn generated_valid_paths_round_trip(n in 1u64..1_000_000, comps in prop::collection::vec(component(), 1..4)) {
            let s = format!("syn{n}/{}", comps.join("/"));
            prop_assume!(s.len() <= MAX_LEN);
            let p = RepoPath::parse(&s).unwrap();
            prop_assert_eq!(p.as_str(), s.as_str());
            prop_assert_eq!(p.project(), EntityId(n));
        }

        #[test]
        fn arbitrary_strings_never_panic(s in ".{0,300}") {
            let _ = RepoPath::parse(&s);
            let _ = parse_external(&s);
        }
    }
}
