//! Administration: the one place the CLI and the HTTP API change the directory.
//!
//! Every function takes the permit of its operation (`app::permit`): proof that the
//! caller passed what the operation declares (`app::operations`); the operator (the CLI
//! at the server's shell) passes everything. Entity access is checked inside the
//! change's transaction, from the same declaration. Each change is one directory
//! transaction, so a refused or failed change leaves nothing half-written.

pub mod external;
pub mod projects;
pub mod sharing;
pub mod teams;
pub mod tokens;
pub mod trash;
pub mod trust_policies;
pub mod users;

use super::AppError;
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
