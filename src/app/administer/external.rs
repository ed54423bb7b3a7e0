//! External repository records: images of other registries listed under a project,
//! never authorized. Adding one needs UPDATE on a live project and a host that is not
//! this registry (`repo_name::ExternalName::check_not_ours`), whether it comes from the
//! CLI or the HTTP API.

use super::{refuse, require_in_rule};
use crate::app::audit::admin_record;
use crate::app::browse::visible;
use crate::app::{Actor, AppError, AppResult};
use crate::domain::audit::AuditEvent;
use crate::domain::authz::EntityFacts;
use crate::domain::model::{
    AccessSet, EntityId, EntityInfo, EntityKind, EntityRef, ScopeSet, UnixTime,
};
use crate::domain::ports::{AuditLog, AuthorizationFacts, DirResult, EntityAdmin};
use crate::domain::repo_name::parse_external;
use crate::domain::trash;

/// Records `name` (`[host/]path`) under `project`. `own_hosts` names this registry.
pub fn add<S: EntityAdmin + AuditLog + ?Sized>(
    store: &S,
    actor: &Actor,
    project: EntityId,
    name: &str,
    own_hosts: &[String],
    now: UnixTime,
) -> AppResult<EntityInfo> {
    actor.require_scope(ScopeSet::MODIFY)?;
    let name = parse_external(name).map_err(|e| AppError::InvalidName(e.to_string()))?;
    name.check_not_ours(own_hosts)
        .map_err(|e| AppError::InvalidName(e.to_string()))?;
    let rule = |facts: &EntityFacts| -> DirResult<()> {
        require_in_rule(actor, facts, AccessSet::UPDATE)?;
        if !trash::live_project(facts) {
            return Err(refuse(AppError::NotFound(format!("project {project}"))));
        }
        Ok(())
    };
    let info = store
        .add_external_repository(project, &name, &rule, now)
        .map_err(|e| match (actor, AppError::from(e)) {
            (Actor::Caller(_), AppError::NotFound(_)) => AppError::Hidden,
            (_, e) => e,
        })?;
    let event = AuditEvent::ExternalRepositoryAdded { name: name.full() };
    admin_record(store, actor, info.id.to_string(), event, now);
    Ok(info)
}

/// Deletes the record `id`: READ on it and UPDATE on its project.
pub fn delete<S: EntityAdmin + AuthorizationFacts + AuditLog + ?Sized>(
    store: &S,
    actor: &Actor,
    id: EntityId,
    now: UnixTime,
) -> AppResult<()> {
    actor.require_scope(ScopeSet::MODIFY)?;
    let facts = visible(store, actor, &EntityRef::Id(id), AccessSet::READ)?;
    let parent = match (facts.info.kind, facts.info.parent) {
        (EntityKind::ExternalRepository, Some(p)) => p,
        _ => {
            return Err(match actor {
                Actor::Operator => AppError::NotFound(format!("external repository {id}")),
                Actor::Caller(_) => AppError::Hidden,
            })
        }
    };
    visible(store, actor, &EntityRef::Id(parent), AccessSet::UPDATE)?;
    store.delete_external_repository(id)?;
    admin_record(
        store,
        actor,
        id.to_string(),
        AuditEvent::ExternalRepositoryDeleted,
        now,
    );
    Ok(())
}
