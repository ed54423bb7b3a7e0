//! Writing the audit trail. The token path hands records to a sink that batches them
//! (`infra::audit_writer`), so tens of thousands of tokens a second cost no write each;
//! administration writes its records straight to the `AuditLog` port once the change
//! is done. Operators may switch off the records of pull-only tokens (`audit.pulls`).

use std::sync::Arc;

use crate::domain::audit::{AuditEvent, AuditRecord};
use crate::domain::model::UnixTime;
use crate::domain::ports::AuditLog;

use super::Actor;

/// Where records go.
pub trait AuditSink: Send + Sync {
    /// Keeps the record, waiting for room if need be.
    fn record(&self, record: AuditRecord);
    /// Keeps the record only if that needs no waiting; otherwise keeps nothing and says
    /// `Full`, so a caller on the event loop can run its request again on the blocking
    /// pool (which calls `record`).
    fn try_record(&self, record: AuditRecord) -> Result<(), Full> {
        self.record(record);
        Ok(())
    }
}

/// The sink use cases write to, with the operator's choice about pull records.
pub struct Audit {
    sink: Arc<dyn AuditSink>,
    pulls: bool,
}

impl Audit {
    pub fn new(sink: Arc<dyn AuditSink>, pulls: bool) -> Audit {
        Audit { sink, pulls }
    }

    /// Keeps the record, waiting for room if need be (never on the event loop).
    pub fn record(&self, record: AuditRecord) {
        if self.wanted(&record) {
            self.sink.record(record);
        }
    }

    /// Keeps the record without waiting, or says `Full` (nothing kept): the event loop's
    /// way, which then retries its request on the blocking pool with [`Audit::record`].
    pub fn try_record(&self, record: AuditRecord) -> Result<(), Full> {
        if self.wanted(&record) {
            self.sink.try_record(record)?;
        }
        Ok(())
    }

    fn wanted(&self, record: &AuditRecord) -> bool {
        self.pulls || !record.event.is_pull_only()
    }
}

/// The audit queue had no room: nothing was kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// Keeps records in memory (tests).
#[cfg(test)]
#[derive(Default)]
pub struct MemorySink(pub std::sync::Mutex<Vec<AuditRecord>>);

#[cfg(test)]
impl AuditSink for MemorySink {
    fn record(&self, record: AuditRecord) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(record);
    }
}

/// The name an actor goes by in the trail.
fn actor_name(actor: &Actor) -> String {
    match actor {
        Actor::Operator => "operator".into(),
        Actor::Caller(c) => c.name().to_string(),
    }
}

/// Writes one administration record now; a failure to write is logged, the change
/// itself already stands.
pub fn admin_record<S: AuditLog + ?Sized>(
    store: &S,
    actor: &Actor,
    subject: impl Into<String>,
    event: AuditEvent,
    now: UnixTime,
) {
    let record = AuditRecord {
        at: now,
        actor: actor_name(actor),
        subject: subject.into(),
        client_ip: None,
        event,
    };
    if let Err(e) = store.append(std::slice::from_ref(&record)) {
        tracing::error!(error = %e, kind = record.event.kind(), "audit record not written");
    }
}
