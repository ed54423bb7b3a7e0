//! Everything that touches the outside world.
pub mod cli;
pub mod config;
pub mod http;
pub mod keys;
pub mod logging;
pub mod sqlite;
pub mod tls;
pub mod token;
