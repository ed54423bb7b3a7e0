//! Repository paths `syn<digits>/<name>[/<more>]` and the Docker reference grammar.
//!
//! Hand-written, single pass, linear-time matchers: Synapse once had a
//! catastrophic-backtracking bug in its regular expressions for these names.

/// A valid managed-repository path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoPath {
    full: String,
    project: crate::domain::model::EntityId,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepoNameError {
    #[error("repository name is invalid")]
    Todo,
}

impl RepoPath {
    pub fn parse(s: &str) -> Result<RepoPath, RepoNameError> {
        let (first, _) = s.split_once('/').ok_or(RepoNameError::Todo)?;
        let project = first.parse().map_err(|_| RepoNameError::Todo)?;
        Ok(RepoPath { full: s.to_string(), project })
    }
    pub fn as_str(&self) -> &str {
        &self.full
    }
    /// The project id (first component).
    pub fn project(&self) -> crate::domain::model::EntityId {
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

/// An image name in another registry: `[host[:port]/]path`, lower-case path components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalName {
    pub host: Option<String>,
    pub path: String,
}

pub fn parse_external(s: &str) -> Result<ExternalName, RepoNameError> {
    Ok(ExternalName { host: None, path: s.to_string() })
}
