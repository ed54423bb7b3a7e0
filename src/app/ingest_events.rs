//! The registry's notifications recorded: every event in its own transaction, a bad or
//! unrecordable event skipped and logged without touching the rest of the batch. The
//! batch fails (and the registry retries, idempotent by event id) only when the
//! directory itself failed.

use serde::Serialize;

use crate::domain::events::{push_skip, EventItem};
use crate::domain::model::EventOutcome;
use crate::domain::ports::{Clock, DirectoryError, RegistryLog};

/// What happened to a batch, returned to the registry.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub received: usize,
    pub recorded: usize,
    pub duplicates: usize,
    pub skipped: usize,
    pub malformed: usize,
}

/// Records every event of a batch; `Err` when the directory failed for any of them.
pub fn ingest(
    log: &dyn RegistryLog,
    clock: &dyn Clock,
    items: Vec<EventItem>,
) -> Result<Counts, DirectoryError> {
    let mut c = Counts {
        received: items.len(),
        ..Counts::default()
    };
    let mut failure = None;
    for item in items {
        let now = clock.now();
        let (id, outcome) = match &item {
            EventItem::Push(p) => (p.event_id.as_str(), log.record_push(p, &push_skip, now)),
            EventItem::Delete(d) => (d.event_id.as_str(), log.record_delete(d, now)),
            EventItem::Ignored { .. } => {
                c.skipped += 1;
                continue;
            }
            EventItem::Malformed { id, error } => {
                tracing::warn!(event = ?id, %error, "malformed registry event skipped");
                c.malformed += 1;
                continue;
            }
        };
        match outcome {
            Ok(EventOutcome::Recorded) => {
                tracing::info!(event = %id, ?item, "registry event recorded");
                c.recorded += 1;
            }
            Ok(EventOutcome::Duplicate) => c.duplicates += 1,
            Ok(EventOutcome::Skipped(why)) => {
                tracing::info!(event = %id, why, "registry event skipped");
                c.skipped += 1;
            }
            Err(DirectoryError::Backend(e)) => failure = Some(DirectoryError::Backend(e)),
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
    match failure {
        Some(e) => Err(e),
        None => Ok(c),
    }
}
