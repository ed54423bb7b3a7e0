//! The registry's notifications recorded: a batch in one durable transaction (one disk
//! flush for the lot), every event under its own savepoint, so a bad or unrecordable
//! event is skipped and logged without touching the rest of the batch. The batch fails
//! (and the registry retries, idempotent by event id) only when the directory itself
//! failed.

use serde::Serialize;

use crate::domain::events::{push_skip, EventItem};
use crate::domain::model::EventOutcome;
use crate::domain::ports::{Clock, DirectoryError, RegistryEvent, RegistryLog};

/// What happened to a batch, returned to the registry.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub received: usize,
    pub recorded: usize,
    pub duplicates: usize,
    pub skipped: usize,
    pub malformed: usize,
}

/// Records every storable event of a batch in one durable transaction; `Err` when the
/// directory failed (nothing of the batch is then stored, and the registry retries).
pub fn ingest(
    log: &dyn RegistryLog,
    clock: &dyn Clock,
    items: Vec<EventItem>,
) -> Result<Counts, DirectoryError> {
    let mut c = Counts {
        received: items.len(),
        ..Counts::default()
    };
    let mut events = Vec::with_capacity(items.len());
    for item in &items {
        match item {
            EventItem::Push(p) => events.push(RegistryEvent::Push(p)),
            EventItem::Delete(d) => events.push(RegistryEvent::Delete(d)),
            EventItem::Ignored { .. } => c.skipped += 1,
            EventItem::Malformed { id, error } => {
                tracing::warn!(event = ?id, %error, "malformed registry event skipped");
                c.malformed += 1;
            }
        }
    }
    let outcomes = log.record_batch(&events, &push_skip, clock.now())?;
    for (event, outcome) in events.iter().zip(outcomes) {
        let id = match event {
            RegistryEvent::Push(p) => p.event_id.as_str(),
            RegistryEvent::Delete(d) => d.event_id.as_str(),
        };
        match outcome {
            Ok(EventOutcome::Recorded) => {
                tracing::debug!(event = %id, ?event, "registry event recorded");
                c.recorded += 1;
            }
            Ok(EventOutcome::Duplicate) => c.duplicates += 1,
            Ok(EventOutcome::Skipped(why)) => {
                tracing::info!(event = %id, why, "registry event skipped");
                c.skipped += 1;
            }
            Err(e) => {
                tracing::warn!(event = %id, error = %e, "registry event skipped");
                c.skipped += 1;
            }
        }
    }
    for (outcome, n) in [
        ("recorded", c.recorded),
        ("duplicate", c.duplicates),
        ("skipped", c.skipped),
        ("malformed", c.malformed),
    ] {
        metrics::counter!("regauth_notification_events_total", "outcome" => outcome)
            .increment(n as u64);
    }
    Ok(c)
}
