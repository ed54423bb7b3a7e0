//! Projects: created with their owner holding every access type, listed.

use crate::app::{Actor, AppError, AppResult};
use crate::domain::authz::sharing;
use crate::domain::model::{EntityId, EntityInfo, ProjectName, UnixTime};
use crate::domain::ports::{EntityAdmin, UserAdmin};

/// Creates a project owned by `owner`; `id` when given (`synN`), else the next free one.
pub fn add<S: UserAdmin + EntityAdmin + ?Sized>(
    store: &S,
    actor: &Actor,
    name: &str,
    owner: &str,
    id: Option<EntityId>,
    now: UnixTime,
) -> AppResult<EntityId> {
    actor.require_admin()?;
    let name = ProjectName::parse(name).map_err(|e| AppError::Invalid(e.to_string()))?;
    let owner = store
        .user_by_name(owner)?
        .ok_or_else(|| AppError::NotFound(format!("user {owner}")))?;
    Ok(store.add_project(&name, id, &sharing::owner_acl(owner.id), now)?)
}

pub fn list<S: EntityAdmin + ?Sized>(store: &S, actor: &Actor) -> AppResult<Vec<EntityInfo>> {
    actor.require_admin()?;
    Ok(store.list_projects()?)
}
