//! Everything that touches the outside world.
pub mod cli;
pub mod config;
pub mod crypto;
pub mod http;
pub mod logging;
pub mod sqlite;
pub mod tls;
