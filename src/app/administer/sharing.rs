//! Sharing settings: grant, revoke, show, and "inherit again". The rules (copy on first
//! change, local settings replace the project's) are `domain::authz::sharing`.

use super::refuse;
use crate::app::{Actor, AppError, AppResult};
use crate::domain::authz::sharing::{self, SharingChange, SharingError};
use crate::domain::authz::EntityFacts;
use crate::domain::model::{AccessSet, EntityId, EntityRef, PrincipalRef};
use crate::domain::ports::{AuthorizationFacts, DirResult, EntityAdmin};

/// An entity's effective ACL as operators read it.
#[derive(Debug, Clone)]
pub struct AclView {
    /// Project name or repository path.
    pub entity: String,
    /// `Some(project)` when the entity has no local sharing settings and inherits.
    pub inherited_from: Option<EntityId>,
    pub entries: Vec<(PrincipalRef, AccessSet)>,
}

/// Grants `access` to `principal` on `entity`.
pub fn grant<S: EntityAdmin + ?Sized>(
    store: &S,
    actor: &Actor,
    entity: &EntityRef,
    principal: &PrincipalRef,
    access: AccessSet,
) -> AppResult<()> {
    actor.require_admin()?;
    let who = store.resolve_principal(principal)?;
    change(store, entity, &|facts| {
        Ok(sharing::grant(facts, who, access))
    })
}

/// Removes `access` (everything, when `None`) from `principal` on `entity`.
pub fn revoke<S: EntityAdmin + ?Sized>(
    store: &S,
    actor: &Actor,
    entity: &EntityRef,
    principal: &PrincipalRef,
    access: Option<AccessSet>,
) -> AppResult<()> {
    actor.require_admin()?;
    let who = store.resolve_principal(principal)?;
    change(store, entity, &|facts| {
        sharing::revoke(facts, who, access).map_err(|e| match e {
            SharingError::NoEntry => {
                AppError::NotFound(format!("an ACL entry for {principal} on {entity}"))
            }
            other => AppError::Invalid(format!("{entity}: {other}")),
        })
    })
}

/// Drops a repository's local sharing settings so it inherits its project's again.
pub fn inherit<S: EntityAdmin + ?Sized>(
    store: &S,
    actor: &Actor,
    entity: &EntityRef,
) -> AppResult<()> {
    actor.require_admin()?;
    change(store, entity, &|facts| {
        sharing::inherit(facts).map_err(|_| {
            AppError::Invalid(format!(
                "{entity} is not a repository; only repositories inherit"
            ))
        })
    })
}

/// The ACL that applies to `entity`, with principals named.
pub fn show<S: EntityAdmin + AuthorizationFacts + ?Sized>(
    store: &S,
    actor: &Actor,
    entity: &EntityRef,
) -> AppResult<AclView> {
    actor.require_admin()?;
    let facts = store
        .entity_facts(entity)?
        .ok_or_else(|| crate::app::browse::not_found(entity))?;
    let effective = sharing::effective(&facts);
    let entries = store.name_acl(effective.acl)?;
    Ok(AclView {
        entity: facts.info.name.clone(),
        inherited_from: effective.inherited_from,
        entries,
    })
}

fn change<S: EntityAdmin + ?Sized>(
    store: &S,
    entity: &EntityRef,
    rule: &dyn Fn(&EntityFacts) -> AppResult<SharingChange>,
) -> AppResult<()> {
    let in_tx = |facts: &EntityFacts| -> DirResult<SharingChange> { rule(facts).map_err(refuse) };
    Ok(store.change_sharing(entity, &in_tx)?)
}
