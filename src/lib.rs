//! regauth: Synapse-style access control for a stock Docker registry.
//!
//! `domain` holds the pure model and decisions (no I/O): repository names, scopes,
//! the authorization rules, credential checks, registry events. `infra` holds
//! everything that touches the outside world: SQLite, keys and JWT signing, HTTP, CLI,
//! configuration and logging.
pub mod domain;
pub mod infra;
