//! Everything that touches the outside world: SQLite, keys and JWT signing, TLS, HTTP,
//! the command line, configuration, logging, and the composition root (`startup`).
pub mod audit_writer;
pub mod background;
pub mod cache;
pub mod cli;
pub mod config;
pub mod crypto;
#[cfg(test)]
mod directory_tests;
pub mod forwarder;
pub mod front;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod oidc;
pub mod own_runtime;
pub mod postgres;
pub mod progress;
pub mod routes;
pub mod shown;
pub mod sql;
pub mod sqlite;
pub mod startup;
pub mod stored;
pub mod synapse;
pub mod tls;
#[cfg(test)]
mod use_case_tests;
pub mod web;
