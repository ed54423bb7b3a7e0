//! Administration: the one place the CLI and the HTTP API change the directory.
//!
//! Every function takes the `Actor` asking: the operator (the CLI at the server's shell)
//! may do everything; an HTTP caller only what the rules of `domain::authz` allow (and,
//! where no rule for ordinary users exists yet, only an admin). Each change is one
//! directory transaction, so a refused or failed change leaves nothing half-written.

pub mod external;
pub mod projects;
pub mod sharing;
pub mod teams;
pub mod tokens;
pub mod trash;
pub mod users;

use super::{Actor, AppError};
use crate::domain::ports::DirectoryError;

/// Carries a use case's refusal out of a rule run inside a backend transaction.
pub(crate) fn refuse(e: AppError) -> DirectoryError {
    match e {
        AppError::NotFound(m) => DirectoryError::NotFound(m),
        AppError::Conflict(m) => DirectoryError::Conflict(m),
        AppError::Backend(m) => DirectoryError::Backend(m),
        AppError::Hidden => DirectoryError::NotFound("not found, or you may not see it".into()),
        e @ (AppError::Lacks(_) | AppError::Denied(_) | AppError::MissingScope(_)) => {
            DirectoryError::Denied(e.to_string())
        }
        other => DirectoryError::Invalid(other.to_string()),
    }
}

/// Rules inside a transaction see the actor too.
fn require_in_rule(
    actor: &Actor,
    facts: &crate::domain::authz::EntityFacts,
    access: crate::domain::model::AccessSet,
) -> Result<(), DirectoryError> {
    actor.require(facts, access).map_err(refuse)
}
