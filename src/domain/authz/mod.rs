//! Authorization: which actions a caller gets, and what it may see or change.
//!
//! Every rule of `docs/authorization-rules.md` has one home here, named after what it
//! decides, and each is a pure function of facts the shell gathered:
//! - `token_rules`: the actions a token grants per requested scope (`decide`);
//! - `sharing`: which ACL applies (local sharing settings or the project's), trash
//!   inheritance, and how grants, revocations and "inherit again" change an ACL;
//! - `entity_rules`: who may read or change an entity through the API;
//! - `needs`: what an operation needs from its caller (declared once) and the one check;
//! - `access_requests`: who may file and decide access requests, what approval grants;
//! - `explain`: each refused action's reason in words, without revealing what is hidden;
//! - `target`: what a requested scope names (a repository path, the catalog, nothing).
//!
//! Nothing here does I/O, which is what lets the tests walk the rules table row by row.

pub mod access_requests;
mod caller;
pub mod entity_rules;
pub mod explain;
mod facts;
pub mod needs;
pub mod sharing;
pub mod target;
mod token_rules;

#[cfg(test)]
mod oracle_tests;
#[cfg(test)]
mod tests;

pub use caller::{Caller, CallerUser};
pub use facts::{EntityFacts, ParentFacts, ProjectFacts, RepoFacts, RepoState, Target};
pub use token_rules::{decide, Decision, Denial, Reason};
