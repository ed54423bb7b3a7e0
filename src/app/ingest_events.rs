//! The registry's notifications recorded: a batch in one durable transaction (one disk
//! flush for the lot), every event under its own savepoint, so a bad or unrecordable
//! event is skipped and logged without touching the rest of the batch. The batch fails
//! (and the registry retries, idempotent by event id) only when the directory itself
//! failed.
//!
//! Before anything is recorded, each manifest push and delete is screened: it is
//! applied only when regauth granted its actor that action on that repository around
//! the event's own time (`domain::events::authority`). The webhook's secret proves only
//! that the sender holds the secret; a forged event is refused, counted (in `Counts`,
//! which the HTTP shell turns into `regauth_notification_events_total`) and audited
//! (`registry_event_refused`), and changes nothing.

use serde::Serialize;

use crate::domain::audit::{AuditEvent, AuditRecord};
use crate::domain::events::{judge, push_skip, EventClaim, EventItem, GrantedAction, Verdict};
use crate::domain::model::{EventOutcome, UnixTime};
use crate::domain::ports::{
    AuditLog, Clock, DirectoryError, PushGrants, RegistryEvent, RegistryLog,
};

/// What happened to a batch, returned to the registry.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub received: usize,
    pub recorded: usize,
    pub duplicates: usize,
    pub skipped: usize,
    pub malformed: usize,
    /// Pushes and deletes regauth never granted: not applied.
    pub unauthorized: usize,
}

/// The ports a batch needs.
pub struct IngestPorts<'a> {
    pub log: &'a dyn RegistryLog,
    pub grants: &'a dyn PushGrants,
    pub audit: &'a dyn AuditLog,
    pub clock: &'a dyn Clock,
}

/// The verdict on each item of a batch, in order: `None` for what is neither a
/// manifest push nor a delete (ignored, malformed), which changes nothing either way.
/// One read of the grants for the whole batch.
pub fn screen(
    grants: &dyn PushGrants,
    items: &[EventItem],
) -> Result<Vec<Option<Verdict>>, DirectoryError> {
    let claims: Vec<Option<EventClaim<'_>>> = items.iter().map(claim).collect();
    let mut keys: Vec<(&str, &str)> = claims
        .iter()
        .flatten()
        .filter(|c| !c.actor.is_empty())
        .map(|c| (c.actor, c.repository))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let known = grants.grants_for(&keys)?;
    Ok(claims
        .iter()
        .map(|c| c.as_ref().map(|c| judge(c, &known)))
        .collect())
}

/// What an item claims, when it is a push or a delete.
fn claim(item: &EventItem) -> Option<EventClaim<'_>> {
    match item {
        EventItem::Push(p) => Some(EventClaim {
            actor: &p.pusher,
            repository: p.path.as_str(),
            action: GrantedAction::Push,
            at: p.pushed_at,
        }),
        EventItem::Delete(d) => Some(EventClaim {
            actor: &d.deleter,
            repository: d.path.as_str(),
            action: GrantedAction::Delete,
            at: d.deleted_at,
        }),
        EventItem::Ignored { .. } | EventItem::Malformed { .. } => None,
    }
}

/// Logs, counts and audits each refused event of a batch (`verdicts` from [`screen`]);
/// returns how many were refused. An audit trail that cannot be written is logged: the
/// refusal itself stands.
pub fn report_refusals(
    audit: &dyn AuditLog,
    items: &[EventItem],
    verdicts: &[Option<Verdict>],
    now: UnixTime,
) -> usize {
    let mut records = Vec::new();
    for (item, verdict) in items.iter().zip(verdicts) {
        let Some(Verdict::Refused(why)) = verdict else {
            continue;
        };
        // What the event claims (actor, repository, action, time), as it was judged;
        // then what only the trail keeps.
        let Some(claim) = claim(item) else {
            continue;
        };
        let (id, tag, digest) = match item {
            EventItem::Push(p) => (&p.event_id, p.tag.clone(), Some(p.digest.clone())),
            EventItem::Delete(d) => (&d.event_id, d.tag.clone(), d.digest.clone()),
            EventItem::Ignored { .. } | EventItem::Malformed { .. } => continue,
        };
        let action = claim.action.as_str();
        tracing::warn!(
            event = %id,
            actor = %claim.actor,
            action,
            repository = %claim.repository,
            why = why.as_str(),
            "registry event refused: regauth never granted this"
        );
        records.push(AuditRecord {
            at: now,
            actor: claim.actor.to_owned(),
            subject: claim.repository.to_owned(),
            client_ip: None,
            event: AuditEvent::RegistryEventRefused {
                event_id: id.clone(),
                action: action.to_string(),
                repository: claim.repository.to_owned(),
                tag,
                digest,
                event_at: claim.at,
                why: why.as_str().to_string(),
            },
        });
    }
    if records.is_empty() {
        return 0;
    }
    if let Err(e) = audit.append(&records) {
        tracing::error!(error = %e, count = records.len(), "refused registry events not audited");
    }
    records.len()
}

/// Records every storable event of a batch that regauth authorised, in one durable
/// transaction; `Err` when the directory failed (nothing of the batch is then stored,
/// and the registry retries).
pub fn ingest(ports: &IngestPorts<'_>, items: Vec<EventItem>) -> Result<Counts, DirectoryError> {
    let mut c = Counts {
        received: items.len(),
        ..Counts::default()
    };
    let verdicts = screen(ports.grants, &items)?;
    let now = ports.clock.now();
    let mut events = Vec::with_capacity(items.len());
    for (item, verdict) in items.iter().zip(&verdicts) {
        if matches!(verdict, Some(Verdict::Refused(_))) {
            continue;
        }
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
    let outcomes = if events.is_empty() {
        Vec::new()
    } else {
        ports.log.record_batch(&events, &push_skip, now)?
    };
    // Once the batch stands: a batch the registry must retry is judged (and its
    // refusals reported) again then.
    c.unauthorized = report_refusals(ports.audit, &items, &verdicts, now);
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
    Ok(c)
}
