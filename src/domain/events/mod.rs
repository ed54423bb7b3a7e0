//! Registry notifications: how repositories come to exist and tags move.
//!
//! `envelope` turns the registry's webhook body into events; `ingest` decides which of
//! them are recorded (a push needs a live project and a repository not in the trash).

pub mod envelope;
pub mod ingest;

pub use envelope::{parse_envelope, EnvelopeError, EventItem, MANIFEST_TYPES};
pub use ingest::{push_skip, IngestFacts, ProjectPresence};
