//! Projects: created with their owner holding every access type (by an admin for
//! anyone, or by any signed-in user for themself, as Synapse allows), listed (all for
//! admins; those a caller may READ for everyone else).

use crate::app::audit::admin_record;
use crate::app::operations::{
    AddProjectFor, CreateOwnProject, ListAllProjects, ListProjects, Operation,
};
use crate::app::permit::Permit;
use crate::app::{Actor, AppError, AppResult};
use crate::domain::audit::AuditEvent;
use crate::domain::authz::{entity_rules, sharing, EntityFacts};
use crate::domain::model::{AccessSet, EntityId, EntityInfo, ProjectName, UnixTime, UserId};
use crate::domain::ports::{AuditLog, EntityAdmin, UserAdmin};

/// Creates a project owned by `owner`; `id` when given (`synN`), else the next free one.
pub fn add<S: UserAdmin + EntityAdmin + AuditLog + ?Sized>(
    store: &S,
    permit: &Permit<AddProjectFor>,
    name: &str,
    owner: &str,
    id: Option<EntityId>,
    now: UnixTime,
) -> AppResult<EntityId> {
    let project = ProjectName::parse(name).map_err(|e| AppError::Invalid(e.to_string()))?;
    let owner_user = store
        .user_by_name(owner)?
        .ok_or_else(|| AppError::NotFound(format!("user {owner}")))?;
    create(store, permit, &project, id, (owner_user.id, owner), now)
}

pub fn list<S: EntityAdmin + ?Sized>(
    store: &S,
    _: &Permit<ListAllProjects>,
) -> AppResult<Vec<EntityInfo>> {
    Ok(store.list_projects()?)
}

/// Creates a project owned by the signed-in caller.
pub fn add_own<S: UserAdmin + EntityAdmin + AuditLog + ?Sized>(
    store: &S,
    permit: &Permit<CreateOwnProject>,
    name: &str,
    now: UnixTime,
) -> AppResult<EntityId> {
    let user = permit.user()?;
    let project = ProjectName::parse(name).map_err(|e| AppError::Invalid(format!("name: {e}")))?;
    create(store, permit, &project, None, (user.id, &user.name), now)
}

/// Stores `project` with its owner (id, name) holding every access type, and records
/// it in the trail.
fn create<S: EntityAdmin + AuditLog + ?Sized, O: Operation>(
    store: &S,
    permit: &Permit<O>,
    project: &ProjectName,
    id: Option<EntityId>,
    (owner_id, owner): (UserId, &str),
    now: UnixTime,
) -> AppResult<EntityId> {
    let id = store.add_project(project, id, &sharing::owner_acl(owner_id), now)?;
    let event = AuditEvent::ProjectAdded {
        name: project.as_str().into(),
        owner: owner.into(),
    };
    admin_record(store, permit.actor(), id.to_string(), event, now);
    Ok(id)
}

/// The projects `actor` may READ, not in the trash (admins: every one).
pub fn list_visible<S: EntityAdmin + ?Sized>(
    store: &S,
    permit: &Permit<ListProjects>,
) -> AppResult<Vec<EntityInfo>> {
    let caller = match permit.actor() {
        Actor::Caller(c) if !c.is_admin() => c,
        // Admins and the operator see every project out of the trash.
        _ => {
            let mut all = store.list_projects()?;
            all.retain(|p| !p.trashed);
            return Ok(all);
        }
    };
    // Only the entries that apply to the caller are read; they are all the rules need.
    let mut visible = Vec::new();
    for (info, acl) in store.projects_shared_with(&caller.principals())? {
        let facts = EntityFacts {
            info,
            own_acl: Some(acl),
            parent: None,
        };
        // A filter, not a gate: the listing shows what READ lets the caller see.
        if entity_rules::may(caller, &facts, AccessSet::READ).is_ok() {
            visible.push(facts.info);
        }
    }
    Ok(visible)
}
