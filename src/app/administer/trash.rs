//! Moving entities to the trash and back (`domain::trash` says when); callers need the
//! `modify` scope and DELETE on the entity, admins and the operator may move any.

use super::refuse;
use crate::app::audit::admin_record;
use crate::app::{Actor, AppError, AppResult};
use crate::domain::audit::AuditEvent;
use crate::domain::authz::EntityFacts;
use crate::domain::model::{AccessSet, EntityRef, ScopeSet, UnixTime};
use crate::domain::ports::{AuditLog, DirResult, EntityAdmin};
use crate::domain::trash::{self, TrashError};

pub fn trash<S: EntityAdmin + AuditLog + ?Sized>(
    store: &S,
    actor: &Actor,
    entity: &EntityRef,
    now: UnixTime,
) -> AppResult<()> {
    move_entity(store, actor, entity, true, trash::trash, now)?;
    admin_record(store, actor, entity.to_string(), AuditEvent::Trashed, now);
    Ok(())
}

pub fn restore<S: EntityAdmin + AuditLog + ?Sized>(
    store: &S,
    actor: &Actor,
    entity: &EntityRef,
    now: UnixTime,
) -> AppResult<()> {
    move_entity(store, actor, entity, false, trash::restore, now)?;
    admin_record(store, actor, entity.to_string(), AuditEvent::Restored, now);
    Ok(())
}

/// Moves `entity` into (`trashed`) or out of the trash when `allowed` says so.
fn move_entity<S: EntityAdmin + ?Sized>(
    store: &S,
    actor: &Actor,
    entity: &EntityRef,
    trashed: bool,
    allowed: fn(&EntityFacts) -> Result<(), TrashError>,
    now: UnixTime,
) -> AppResult<()> {
    actor.require_scope(ScopeSet::MODIFY)?;
    let rule = |facts: &EntityFacts| -> DirResult<()> {
        // Restoring reaches into the trash; trashing does not.
        actor
            .require_to_change(facts, AccessSet::DELETE, !trashed)
            .map_err(refuse)?;
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
