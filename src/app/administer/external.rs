//! External repository records: images of other registries listed under a project,
//! never authorized. Adding one needs UPDATE on a live project and a host that is not
//! this registry (`repo_name::ExternalName::check_not_ours`), whether it comes from the
//! CLI or the HTTP API.

use super::refuse;
use crate::app::audit::admin_record;
use crate::app::browse::{hidden, visible};
use crate::app::operations::{AddExternalRepository, DeleteExternalRepository};
use crate::app::permit::Permit;
use crate::app::{AppError, AppResult};
use crate::domain::audit::AuditEvent;
use crate::domain::authz::EntityFacts;
use crate::domain::model::{EntityId, EntityInfo, EntityKind, EntityRef, UnixTime};
use crate::domain::ports::{AuditLog, AuthorizationFacts, DirResult, EntityAdmin};
use crate::domain::repo_name::parse_external;
use crate::domain::trash;

/// Records `name` (`[host/]path`) under `project`. `own_hosts` names this registry.
pub fn add<S: EntityAdmin + AuditLog + ?Sized>(
    store: &S,
    permit: &Permit<AddExternalRepository>,
    project: EntityId,
    name: &str,
    own_hosts: &[String],
    now: UnixTime,
) -> AppResult<EntityInfo> {
    let name = parse_external(name).map_err(|e| AppError::InvalidName(e.to_string()))?;
    name.check_not_ours(own_hosts)
        .map_err(|e| AppError::InvalidName(e.to_string()))?;
    let rule = |facts: &EntityFacts| -> DirResult<()> {
        permit.require_entity(facts).map_err(refuse)?;
        if !trash::live_project(facts) {
            return Err(refuse(AppError::NotFound(format!("project {project}"))));
        }
        Ok(())
    };
    let info = store
        .add_external_repository(project, &name, &rule, now)
        .map_err(|e| match AppError::from(e) {
            AppError::NotFound(m) => hidden(permit.actor(), || AppError::NotFound(m)),
            e => e,
        })?;
    let event = AuditEvent::ExternalRepositoryAdded { name: name.full() };
    admin_record(store, permit.actor(), info.id.to_string(), event, now);
    Ok(info)
}

/// Deletes the record `id`: READ on it and UPDATE on its project.
pub fn delete<S: EntityAdmin + AuthorizationFacts + AuditLog + ?Sized>(
    store: &S,
    permit: &Permit<DeleteExternalRepository>,
    id: EntityId,
    now: UnixTime,
) -> AppResult<()> {
    let gone = || AppError::NotFound(format!("external repository {id}"));
    let facts = visible(store, permit, &EntityRef::Id(id))?;
    let parent = match (facts.info.kind, facts.info.parent) {
        (EntityKind::ExternalRepository, Some(p)) => p,
        _ => return Err(hidden(permit.actor(), gone)),
    };
    let project = store
        .entity_facts(&EntityRef::Id(parent))?
        .ok_or_else(|| hidden(permit.actor(), gone))?;
    permit.require_parent(&project)?;
    store.delete_external_repository(id)?;
    admin_record(
        store,
        permit.actor(),
        id.to_string(),
        AuditEvent::ExternalRepositoryDeleted,
        now,
    );
    Ok(())
}
