//! The model and the decisions, free of I/O.
pub mod authn;
pub mod authz;
pub mod directory;
pub mod events;
pub mod model;
pub mod repo_name;
pub mod scope;
