//! A Synapse beside regauth: credentials and permissions asked of its REST API.
pub mod jwks;
pub mod jwt;
