//! A project's trust policy: which CI jobs (OIDC tokens from a configured issuer, whose
//! claims meet its conditions) may pull or push which of the project's repositories,
//! with at most its creator's rights at the time of each request.

use std::collections::BTreeMap;

use super::{EntityId, UnixTime, UserId};

bitflags::bitflags! {
    /// What a policy lets a workload do. The bit values are the stored column's.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct WorkloadActions: u8 {
        const PULL = 1 << 0;
        const PUSH = 1 << 1;
    }
}

impl WorkloadActions {
    /// `pull`, `push` or `pull,push` (the registry's spelling).
    pub fn parse_list(s: &str) -> Result<WorkloadActions, String> {
        let mut out = WorkloadActions::empty();
        for part in s.split(',').map(str::trim) {
            out |= match part.to_ascii_lowercase().as_str() {
                "pull" => WorkloadActions::PULL,
                "push" => WorkloadActions::PUSH,
                _ => return Err(format!("unknown action {part:?} (expected pull or push)")),
            };
        }
        Ok(out)
    }

    pub fn names(self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.contains(WorkloadActions::PULL) {
            out.push("pull");
        }
        if self.contains(WorkloadActions::PUSH) {
            out.push("push");
        }
        out
    }
}

/// How one claim must look: equal to a value, or matching an anchored glob whose `*`
/// never crosses a `/` or a `:` (see `domain::federation::glob`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimMatch {
    Exact(String),
    Glob(String),
}

/// A condition on one claim of the workload's token; nested claims are named by their
/// dotted path (`kubernetes.io.serviceaccount.uid`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClaimCondition {
    pub claim: String,
    #[serde(flatten)]
    pub matcher: ClaimMatch,
}

impl ClaimCondition {
    /// `claim=value` (exact) or `claim~pattern` (glob), as the pages and listings write
    /// a condition.
    pub fn parse_line(line: &str) -> Result<ClaimCondition, String> {
        let at = line
            .find(['=', '~'])
            .ok_or_else(|| format!("{line:?}: write claim=value or claim~pattern"))?;
        let (claim, rest) = line.split_at(at);
        let value = rest[1..].to_string();
        let matcher = if rest.starts_with('=') {
            ClaimMatch::Exact(value)
        } else {
            ClaimMatch::Glob(value)
        };
        Ok(ClaimCondition {
            claim: claim.trim().to_string(),
            matcher,
        })
    }
}

impl std::fmt::Display for ClaimCondition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.matcher {
            ClaimMatch::Exact(v) => write!(f, "{}={v}", self.claim),
            ClaimMatch::Glob(p) => write!(f, "{}~{p}", self.claim),
        }
    }
}

/// A policy as its creator states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTrustPolicy {
    /// The project whose repositories it covers.
    pub project: EntityId,
    /// Whose rights it acts with (intersected with its own, at every request).
    pub creator: UserId,
    /// The issuer's `iss`, exactly as the tokens carry it (one of the configured ones).
    pub issuer: String,
    /// The `aud` the token must contain.
    pub audience: String,
    /// Every one must hold.
    pub conditions: Vec<ClaimCondition>,
    /// Which repositories of the project: a glob over the repository's name inside the
    /// project (`tool`, `tool-*`, `*`).
    pub repositories: String,
    pub actions: WorkloadActions,
    /// The longest life of a registry token it yields, in seconds.
    pub max_lifetime_secs: u32,
    pub created_at: UnixTime,
}

/// A stored policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustPolicy {
    pub id: i64,
    pub policy: NewTrustPolicy,
    /// The creator's login name (users are never renamed): how the token path finds the
    /// creator's current rights through `CredentialStore`.
    pub creator_name: String,
}

/// The claims of a workload's OIDC token, after its signature, issuer and lifetime were
/// verified: the registered ones, and every claim flattened to its dotted path (strings,
/// numbers and booleans as their text; arrays and null left out).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WorkloadClaims {
    pub issuer: String,
    pub subject: String,
    pub audience: Vec<String>,
    pub expires_at: UnixTime,
    pub jti: Option<String>,
    pub claims: BTreeMap<String, String>,
}
