//! Moving entities to the trash and back (`domain::trash` says when); callers need the
//! `modify` scope and DELETE on the entity (as `MoveToTrash` and `RestoreFromTrash`
//! declare), admins and the operator may move any.

use super::refuse;
use crate::app::audit::admin_record;
use crate::app::operations::{MoveToTrash, Operation, RestoreFromTrash};
use crate::app::permit::Permit;
use crate::app::{AppError, AppResult};
use crate::domain::audit::AuditEvent;
use crate::domain::authz::EntityFacts;
use crate::domain::model::{EntityRef, UnixTime};
use crate::domain::ports::{AuditLog, DirResult, EntityAdmin};
use crate::domain::trash::{self, TrashError};

pub fn trash<S: EntityAdmin + AuditLog + ?Sized>(
    store: &S,
    permit: &Permit<MoveToTrash>,
    entity: &EntityRef,
    now: UnixTime,
) -> AppResult<()> {
    move_entity(store, permit, entity, true, trash::trash, now)?;
    let actor = permit.actor();
    admin_record(store, actor, entity.to_string(), AuditEvent::Trashed, now);
    Ok(())
}

pub fn restore<S: EntityAdmin + AuditLog + ?Sized>(
    store: &S,
    permit: &Permit<RestoreFromTrash>,
    entity: &EntityRef,
    now: UnixTime,
) -> AppResult<()> {
    move_entity(store, permit, entity, false, trash::restore, now)?;
    let actor = permit.actor();
    admin_record(store, actor, entity.to_string(), AuditEvent::Restored, now);
    Ok(())
}

/// Moves `entity` into (`trashed`) or out of the trash when `allowed` says so.
fn move_entity<S: EntityAdmin + ?Sized, O: Operation>(
    store: &S,
    permit: &Permit<O>,
    entity: &EntityRef,
    trashed: bool,
    allowed: fn(&EntityFacts) -> Result<(), TrashError>,
    now: UnixTime,
) -> AppResult<()> {
    let rule = |facts: &EntityFacts| -> DirResult<()> {
        // The declaration says whether the entity may already be in the trash (a
        // restore reaches into it; trashing does not).
        permit.require_entity(facts).map_err(refuse)?;
        allowed(facts).map_err(|e| refuse(explain(entity, e)))
    };
    Ok(store.set_trashed(entity, trashed, &rule, now)?)
}

fn explain(entity: &EntityRef, e: TrashError) -> AppError {
    AppError::Invalid(match e {
        TrashError::ProjectInTrash(_) => e.to_string(),
        _ => format!("{entity} is {e}"),
    })
}
