//! The read API's listings (and the CLI's): a project's repositories, a repository, its
//! tags and a tag's history. The credential needs `view`; the caller needs READ in the
//! ACL that applies (`authz::entity_rules`). A missing entity and one the caller may
//! not see are the same answer to an API caller.

use super::{Actor, AppError, AppResult};
use crate::domain::authz::EntityFacts;
use crate::domain::model::{
    AccessSet, EntityId, EntityInfo, EntityKind, EntityRef, ScopeSet, TagInfo, TagSort,
};
use crate::domain::ports::{AuthorizationFacts, RegistryReader};
use crate::domain::repo_name::RepoPath;

/// The facts of an entity `actor` may use with `access`. An operator asking for a
/// missing one hears "not found"; an API caller hears the same as for a hidden one.
pub fn visible<S: AuthorizationFacts + ?Sized>(
    store: &S,
    actor: &Actor,
    entity: &EntityRef,
    access: AccessSet,
) -> AppResult<EntityFacts> {
    let Some(facts) = store.entity_facts(entity)? else {
        return Err(match actor {
            Actor::Operator => not_found(entity),
            Actor::Caller(_) => AppError::Hidden,
        });
    };
    actor.require(&facts, access)?;
    Ok(facts)
}

/// How an operator is told an entity does not exist.
pub fn not_found(entity: &EntityRef) -> AppError {
    match entity {
        EntityRef::Id(id) => AppError::NotFound(format!("entity {id}")),
        EntityRef::Repository(p) => AppError::NotFound(format!("repository {p}")),
    }
}

/// A project's repositories, managed and external (trashed ones excluded).
pub fn project_repositories<S: AuthorizationFacts + RegistryReader + ?Sized>(
    store: &S,
    actor: &Actor,
    project: EntityId,
) -> AppResult<Vec<EntityInfo>> {
    actor.require_scope(ScopeSet::VIEW)?;
    let entity = EntityRef::Id(project);
    let facts = visible(store, actor, &entity, AccessSet::READ)?;
    if facts.info.kind != EntityKind::Project {
        return Err(match actor {
            Actor::Operator => AppError::Invalid(format!("{project} is not a project")),
            Actor::Caller(_) => AppError::Hidden,
        });
    }
    Ok(store.list_repositories(project)?)
}

/// One managed repository.
pub fn repository<S: AuthorizationFacts + ?Sized>(
    store: &S,
    actor: &Actor,
    path: RepoPath,
) -> AppResult<EntityInfo> {
    actor.require_scope(ScopeSet::VIEW)?;
    Ok(visible(store, actor, &EntityRef::Repository(path), AccessSet::READ)?.info)
}

/// The current digest per tag, paged, and the number of tags.
pub fn tags<S: AuthorizationFacts + RegistryReader + ?Sized>(
    store: &S,
    actor: &Actor,
    path: &RepoPath,
    sort: TagSort,
    offset: usize,
    limit: usize,
) -> AppResult<(Vec<TagInfo>, usize)> {
    actor.require_scope(ScopeSet::VIEW)?;
    visible(
        store,
        actor,
        &EntityRef::Repository(path.clone()),
        AccessSet::READ,
    )?;
    Ok(store.list_tags(path, sort, offset, limit)?)
}

/// Every commit of a tag, newest first.
pub fn history<S: AuthorizationFacts + RegistryReader + ?Sized>(
    store: &S,
    actor: &Actor,
    path: &RepoPath,
    tag: &str,
) -> AppResult<Vec<TagInfo>> {
    actor.require_scope(ScopeSet::VIEW)?;
    visible(
        store,
        actor,
        &EntityRef::Repository(path.clone()),
        AccessSet::READ,
    )?;
    Ok(store.tag_history(path, tag)?)
}
