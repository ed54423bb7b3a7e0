//! The read API's listings (and the CLI's): a project's repositories, a repository, its
//! tags and a tag's history. Each operation declares `view` and READ in the ACL that
//! applies (`app::operations`); a missing entity and one the caller may not see are the
//! same answer to an API caller.

use super::operations::{ListProjectRepositories, ListTags, Operation, ShowRepository, TagHistory};
use super::permit::Permit;
use super::{Actor, AppError, AppResult};
use crate::domain::authz::EntityFacts;
use crate::domain::model::{EntityId, EntityInfo, EntityKind, EntityRef, TagInfo, TagSort};
use crate::domain::ports::{AuthorizationFacts, RegistryReader};
use crate::domain::repo_name::RepoPath;

/// The facts of an entity the permit's holder may use as its operation declares. An
/// operator asking for a missing one hears "not found"; an API caller hears the same
/// as for a hidden one.
pub fn visible<S: AuthorizationFacts + ?Sized, O: Operation>(
    store: &S,
    permit: &Permit<O>,
    entity: &EntityRef,
) -> AppResult<EntityFacts> {
    let Some(facts) = store.entity_facts(entity)? else {
        return Err(hidden(permit.actor(), || not_found(entity)));
    };
    permit.require_entity(&facts)?;
    Ok(facts)
}

/// What `actor` is told of a missing entity: the operator the truth (`missing`), an API
/// caller the one answer hidden entities get.
pub fn hidden(actor: &Actor, missing: impl FnOnce() -> AppError) -> AppError {
    match actor {
        Actor::Operator => missing(),
        Actor::Caller(_) => AppError::Hidden,
    }
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
    permit: &Permit<ListProjectRepositories>,
    project: EntityId,
) -> AppResult<Vec<EntityInfo>> {
    let facts = visible(store, permit, &EntityRef::Id(project))?;
    if facts.info.kind != EntityKind::Project {
        return Err(hidden(permit.actor(), || {
            AppError::Invalid(format!("{project} is not a project"))
        }));
    }
    Ok(store.list_repositories(project)?)
}

/// One managed repository.
pub fn repository<S: AuthorizationFacts + ?Sized>(
    store: &S,
    permit: &Permit<ShowRepository>,
    path: RepoPath,
) -> AppResult<EntityInfo> {
    Ok(visible(store, permit, &EntityRef::Repository(path))?.info)
}

/// The current digest per tag, paged, and the number of tags.
pub fn tags<S: AuthorizationFacts + RegistryReader + ?Sized>(
    store: &S,
    permit: &Permit<ListTags>,
    path: &RepoPath,
    sort: TagSort,
    offset: usize,
    limit: usize,
) -> AppResult<(Vec<TagInfo>, usize)> {
    visible(store, permit, &EntityRef::Repository(path.clone()))?;
    Ok(store.list_tags(path, sort, offset, limit)?)
}

/// Every commit of a tag, newest first.
pub fn history<S: AuthorizationFacts + RegistryReader + ?Sized>(
    store: &S,
    permit: &Permit<TagHistory>,
    path: &RepoPath,
    tag: &str,
) -> AppResult<Vec<TagInfo>> {
    visible(store, permit, &EntityRef::Repository(path.clone()))?;
    Ok(store.tag_history(path, tag)?)
}
