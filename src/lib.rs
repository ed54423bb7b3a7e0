//! regauth: Synapse-style access control for a stock Docker registry.
//!
//! Three layers, each depending only on the ones before it:
//! - `domain`: the model and every rule, pure (no I/O), with the narrow ports storage
//!   and signing implement;
//! - `app`: the use cases the CLI and the HTTP API call (authenticate, issue a token,
//!   ingest notifications, administer, browse);
//! - `infra`: SQLite, keys and JWT signing, TLS, HTTP, CLI, configuration, logging, and
//!   the composition root that wires them together.
pub mod app;
pub mod domain;
pub mod infra;
