//! The model and every rule, free of I/O.
//!
//! - `model`: users, teams, entities, ACLs, tokens, tags, and the name policy;
//! - `authz`: token rules, read rules, sharing rules (one function per rule);
//! - `authn`: credential checks given `now` (Basic parsing, argon2, token secrets);
//! - `events`: registry notifications and which of them are recorded;
//! - `federation`: what a workload's OIDC token may do under a trust policy;
//! - `trash`: moving entities in and out of the trash;
//! - `audit`: the records of the audit trail;
//! - `repo_name`, `scope`: the repository-path and scope grammars;
//! - `ports`: the narrow traits storage and signing implement.
pub mod audit;
pub mod authn;
pub mod authz;
pub mod events;
pub mod federation;
pub mod model;
pub mod ports;
pub mod repo_name;
pub mod scope;
pub mod trash;
