//! Sharing settings: grant, revoke, replace, show, and "inherit again". Callers need
//! the `authorize` scope and CHANGE_PERMISSIONS on the entity (checked inside the
//! change's transaction); admins and the operator may change any. The rules (copy on first
//! change, local settings replace the project's) are `domain::authz::sharing`; every
//! change is recorded with the ACL that applied before and after.

use std::sync::Mutex;

use super::refuse;
use crate::app::audit::admin_record;
use crate::app::operations::{
    GrantAccess, InheritSharing, Operation, ReplaceSharing, RevokeAccess, ShowSharing,
};
use crate::app::permit::Permit;
use crate::app::{AppError, AppResult};
use crate::domain::audit::AuditEvent;
use crate::domain::authz::sharing::{self, SharingChange, SharingError};
use crate::domain::authz::EntityFacts;
use crate::domain::model::{AccessSet, Acl, EntityId, EntityRef, PrincipalRef, UnixTime};
use crate::domain::ports::{AuditLog, AuthorizationFacts, DirResult, DirectoryError, EntityAdmin};

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
pub fn grant<S: EntityAdmin + AuditLog + ?Sized>(
    store: &S,
    permit: &Permit<GrantAccess>,
    entity: &EntityRef,
    principal: &PrincipalRef,
    access: AccessSet,
    now: UnixTime,
) -> AppResult<()> {
    let who = store.resolve_principal(principal)?;
    change(store, permit, entity, now, &|facts| {
        Ok(sharing::grant(facts, who, access))
    })
}

/// Removes `access` (everything, when `None`) from `principal` on `entity`.
pub fn revoke<S: EntityAdmin + AuditLog + ?Sized>(
    store: &S,
    permit: &Permit<RevokeAccess>,
    entity: &EntityRef,
    principal: &PrincipalRef,
    access: Option<AccessSet>,
    now: UnixTime,
) -> AppResult<()> {
    let who = store.resolve_principal(principal)?;
    change(store, permit, entity, now, &|facts| {
        sharing::revoke(facts, who, access).map_err(|e| match e {
            SharingError::NoEntry => {
                AppError::NotFound(format!("an ACL entry for {principal} on {entity}"))
            }
            other => AppError::Invalid(format!("{entity}: {other}")),
        })
    })
}

/// Drops a repository's local sharing settings so it inherits its project's again.
pub fn inherit<S: EntityAdmin + AuditLog + ?Sized>(
    store: &S,
    permit: &Permit<InheritSharing>,
    entity: &EntityRef,
    now: UnixTime,
) -> AppResult<()> {
    change(store, permit, entity, now, &|facts| {
        sharing::inherit(facts).map_err(|_| {
            AppError::Invalid(format!(
                "{entity} is not a repository; only repositories inherit"
            ))
        })
    })
}

/// Replaces the ACL of `entity` with `entries` (for a repository: local sharing
/// settings from now on), keeping someone able to share it again.
pub fn replace<S: EntityAdmin + AuditLog + ?Sized>(
    store: &S,
    permit: &Permit<ReplaceSharing>,
    entity: &EntityRef,
    entries: &[(PrincipalRef, AccessSet)],
    now: UnixTime,
) -> AppResult<()> {
    let mut acl = Vec::with_capacity(entries.len());
    for (principal, access) in entries {
        let who = store.resolve_principal(principal).map_err(|e| match e {
            DirectoryError::NotFound(_) => {
                AppError::Invalid(format!("entries: {principal}: no such user or team"))
            }
            other => other.into(),
        })?;
        acl.push((who, *access));
    }
    let acl = Acl::new(acl);
    change(store, permit, entity, now, &|_| {
        sharing::replace(acl.clone()).map_err(|e| AppError::Invalid(format!("entries: {e}")))
    })
}

/// The ACL that applies to `entity`, with principals named (READ needed).
pub fn show<S: EntityAdmin + AuthorizationFacts + ?Sized>(
    store: &S,
    permit: &Permit<ShowSharing>,
    entity: &EntityRef,
) -> AppResult<AclView> {
    let facts = store
        .entity_facts(entity)?
        .ok_or_else(|| crate::app::browse::not_found(entity))?;
    permit.require_entity(&facts)?;
    let effective = sharing::effective(&facts);
    let entries = store.name_acl(effective.acl)?;
    Ok(AclView {
        entity: facts.info.name.clone(),
        inherited_from: effective.inherited_from,
        entries,
    })
}

/// Runs `rule` in the store's transaction, then records the ACL that applied before and
/// the one that applies after.
fn change<S: EntityAdmin + AuditLog + ?Sized, O: Operation>(
    store: &S,
    permit: &Permit<O>,
    entity: &EntityRef,
    now: UnixTime,
    rule: &dyn Fn(&EntityFacts) -> AppResult<SharingChange>,
) -> AppResult<()> {
    let seen: Mutex<Option<(Acl, Acl)>> = Mutex::new(None);
    let in_tx = |facts: &EntityFacts| -> DirResult<SharingChange> {
        permit.require_entity(facts).map_err(refuse)?;
        let change = rule(facts).map_err(refuse)?;
        let before = sharing::effective(facts).acl.clone();
        let after = match &change {
            SharingChange::Set(acl) => acl.clone(),
            SharingChange::Inherit => facts
                .parent
                .as_ref()
                .map(|p| p.acl.clone())
                .unwrap_or_default(),
        };
        *seen.lock().unwrap_or_else(|p| p.into_inner()) = Some((before, after));
        Ok(change)
    };
    store.change_sharing(entity, &in_tx)?;
    let seen = seen.into_inner().unwrap_or_else(|p| p.into_inner());
    if let Some((before, after)) = seen {
        let event = AuditEvent::SharingChanged {
            before: describe(store, &before),
            after: describe(store, &after),
        };
        admin_record(store, permit.actor(), entity.to_string(), event, now);
    }
    Ok(())
}

/// `alice=READ,DOWNLOAD team:ci=READ public=READ`, for the audit trail.
fn describe<S: EntityAdmin + ?Sized>(store: &S, acl: &Acl) -> String {
    match store.name_acl(acl) {
        Ok(named) => named
            .iter()
            .map(|(p, a)| format!("{p}={a}"))
            .collect::<Vec<_>>()
            .join(" "),
        Err(_) => format!("{} entries", acl.entries.len()),
    }
}
