//! The use cases: what the CLI, the HTTP API and the web pages call, one place
//! per change. Each takes the narrow ports it needs, gathers facts, applies the rules of
//! `domain` and writes the result; none holds a rule of its own.
//!
//! - `authenticate`: credentials → caller (argon2 cache, clock, RNG for refresh tokens);
//! - `admission`: the bounded, single-flight pool password checks run on;
//! - `rate_limit`: failed-login limits per (user, address) and per address;
//! - `audit`: where the audit trail's records go (batched on the token path);
//! - `operations` and `permit`: what every operation needs from its caller, declared
//!   once, and the proof (`Permit<Op>`) a use case takes that the one check passed;
//! - `credentials`: the one port the token path checks credentials and reads facts
//!   through, implemented for the own directory there and for a remote identity
//!   provider in `remote_login`;
//! - `issue_token`: the token endpoint's use case (refresh policy, facts, signing, audit);
//! - `shared_anonymous_token`: one signature per second for identical anonymous tokens;
//! - `token_usage`: "last used" of tokens, stamped once a minute off the request path;
//! - `ingest_events`: the registry's notifications recorded;
//! - `administer`: users, teams, projects, sharing, tokens, trash, external records;
//! - `browse`: the read API's listings;
//! - `access_requests`: asking a project's or repository's managers for access;
//! - `explain`: why a credential gets or is refused each action of a scope;
//! - `self_service`: a signed-in user's own account, tokens and `docker login`s;
//! - `secrets`: new token secrets and password hashes (the OS RNG);
//! - `clock`: the system clock behind the `Clock` port;
//! - `tally`: what the use cases count of their work, as numbers the HTTP room renders.

pub mod access_requests;
pub mod administer;
pub mod admission;
pub mod audit;
pub mod authenticate;
pub mod browse;
pub mod clock;
pub mod credentials;
pub mod explain;
pub mod federated_sign_in;
pub mod ingest_events;
pub mod issue_token;
pub mod operations;
pub mod permit;
pub mod rate_limit;
pub mod remote_login;
pub mod secrets;
pub mod self_service;
pub mod shared_anonymous_token;
pub mod tally;
#[cfg(test)]
pub(crate) mod test_doubles;
pub mod token_usage;
pub mod workload_login;

use crate::domain::authz::entity_rules::Refusal;
use crate::domain::authz::Caller;
use crate::domain::model::{AccessSet, ScopeSet};
use crate::domain::ports::DirectoryError;

/// Who asks for a change or a listing.
#[derive(Debug, Clone)]
pub enum Actor {
    /// The operator at the server's shell (the CLI): every right, as the owner of the
    /// directory file.
    Operator,
    /// An authenticated (or anonymous) HTTP caller: the rules decide.
    Caller(Caller),
}

/// Why a use case refused or failed. Messages are for the person who asked.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Bad input, or a rule refused the change; the message says which.
    #[error("{0}")]
    Invalid(String),
    /// A name (repository, image) that fails its grammar or policy.
    #[error("{0}")]
    InvalidName(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    Conflict(String),
    /// The credential lacks a scope (said plainly: the caller knows its credential).
    #[error("this credential lacks the {0} scope")]
    MissingScope(ScopeSet),
    /// Missing, trashed or not allowed, told apart to nobody.
    #[error("not found, or you may not see it")]
    Hidden,
    /// The caller sees the entity but lacks this permission on it.
    #[error("you lack the {0} permission on it")]
    Lacks(AccessSet),
    /// A rule inside a transaction refused the caller (the message says which).
    #[error("{0}")]
    Denied(String),
    /// Only an operator or an admin may do this.
    #[error("only an admin may do this")]
    AdminOnly,
    /// Anonymous callers have no account to act on: a 401 asking to sign in.
    #[error("sign in first (Basic auth with a password or an access token)")]
    SignInRequired,
    /// Too many failed logins: come back after this long.
    #[error(transparent)]
    Limited(#[from] rate_limit::Limited),
    /// Password checks are saturated: retry shortly.
    #[error("too many logins in progress, retry shortly")]
    Busy,
    #[error("directory backend failed: {0}")]
    Backend(String),
    /// The directory does not offer this (beside a Synapse, a change Synapse owns).
    #[error("{0}")]
    Unsupported(String),
}

impl From<DirectoryError> for AppError {
    fn from(e: DirectoryError) -> AppError {
        match e {
            DirectoryError::NotFound(m) => AppError::NotFound(m),
            DirectoryError::Conflict(m) => AppError::Conflict(m),
            DirectoryError::Invalid(m) => AppError::Invalid(m),
            DirectoryError::Denied(m) => AppError::Denied(m),
            DirectoryError::Backend(m) => AppError::Backend(m),
            DirectoryError::Unsupported(m) => AppError::Unsupported(m),
            e @ DirectoryError::WouldBlock => AppError::Backend(e.to_string()),
        }
    }
}

impl From<Refusal> for AppError {
    fn from(r: Refusal) -> AppError {
        match r {
            Refusal::MissingScope(s) => AppError::MissingScope(s),
            Refusal::Hidden => AppError::Hidden,
            Refusal::Lacks(a) => AppError::Lacks(a),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;
