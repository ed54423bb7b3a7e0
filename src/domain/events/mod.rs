//! Registry notifications: how repositories come to exist and tags move.
//!
//! `envelope` turns the registry's webhook body into events; `authority` decides which
//! of them regauth authorised (an event changes something only inside a grant of push
//! or delete to its actor); `ingest` decides which of those are recorded (a push needs
//! a live project and a repository not in the trash).

pub mod authority;
pub mod envelope;
pub mod ingest;

pub use authority::{
    grants_in, judge, prune_before, EventClaim, Grant, GrantedAction, Refusal, Verdict,
    GRANT_RETENTION,
};
pub use envelope::{keep_events, parse_envelope, EnvelopeError, EventItem, MANIFEST_TYPES};
pub use ingest::{push_skip, IngestFacts, ProjectPresence};
