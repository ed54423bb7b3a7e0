//! Federation: what a workload's verified OIDC token may do under a project's trust
//! policy. Pure rules: which policy matches which claims (and, when none does, which
//! condition failed), what a matching policy confines the token to (repositories,
//! actions, lifetime), and the presets that pin the providers' immutable ids.

pub mod glob;
pub mod matching;
pub mod presets;
pub mod reach;

pub use matching::{evaluate, first_match, pins_ids, Matched, Mismatch};
pub use reach::Reach;

/// The user name a CI job logs in with: `docker login -u oidc -p "$OIDC_TOKEN"`.
pub const WORKLOAD_LOGIN: &str = "oidc";
