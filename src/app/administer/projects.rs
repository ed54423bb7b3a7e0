//! Projects: created with their owner holding every access type, listed.

use crate::app::audit::admin_record;
use crate::app::{Actor, AppError, AppResult};
use crate::domain::audit::AuditEvent;
use crate::domain::authz::sharing;
use crate::domain::model::{EntityId, EntityInfo, ProjectName, UnixTime};
use crate::domain::ports::{AuditLog, EntityAdmin, UserAdmin};

/// Creates a project owned by `owner`; `id` when given (`synN`), else the next free one.
pub fn add<S: UserAdmin + EntityAdmin + AuditLog + ?Sized>(
    store: &S,
    actor: &Actor,
    name: &str,
    owner: &str,
    id: Option<EntityId>,
    now: UnixTime,
) -> AppResult<EntityId> {
    actor.require_admin()?;
    let project = ProjectName::parse(name).map_err(|e| AppError::Invalid(e.to_string()))?;
    let owner_user = store
        .user_by_name(owner)?
        .ok_or_else(|| AppError::NotFound(format!("user {owner}")))?;
    let id = store.add_project(&project, id, &sharing::owner_acl(owner_user.id), now)?;
    let event = AuditEvent::ProjectAdded {
        name: name.into(),
        owner: owner.into(),
    };
    admin_record(store, actor, id.to_string(), event, now);
    Ok(id)
}

pub fn list<S: EntityAdmin + ?Sized>(store: &S, actor: &Actor) -> AppResult<Vec<EntityInfo>> {
    actor.require_admin()?;
    Ok(store.list_projects()?)
}
