//! Access requests (Dockstore): a signed-in user who sees a project or repository but
//! cannot download from it asks its managers; they list, approve (the requester gets
//! READ and DOWNLOAD) or deny with a reason; the requester follows its requests. The
//! rules are `domain::authz::access_requests`; every filing and decision is audited.

use super::administer::refuse;
use super::audit::admin_record;
use super::operations::{
    AccessRequestInbox, DecideAccessRequest, FileAccessRequest, MyAccessRequests,
};
use super::permit::Permit;
use super::{Actor, AppError, AppResult};
use crate::domain::audit::AuditEvent;
use crate::domain::authz::access_requests::{self, FileRefusal};
use crate::domain::authz::EntityFacts;
use crate::domain::model::{AccessRequest, EntityRef, RequestDecision, UnixTime};
use crate::domain::ports::{AccessRequestStore, AuditLog, DirResult};

fn text(field: &str, s: &str, required: bool) -> AppResult<Option<String>> {
    access_requests::text(s, required).map_err(|e| AppError::Invalid(format!("{field}: {e}")))
}

/// Files a request for READ and DOWNLOAD on `entity`.
pub fn file<S: AccessRequestStore + AuditLog + ?Sized>(
    store: &S,
    permit: &Permit<FileAccessRequest>,
    entity: &EntityRef,
    message: &str,
    now: UnixTime,
) -> AppResult<AccessRequest> {
    let user = permit.user()?;
    let caller = permit.caller().ok_or(AppError::SignInRequired)?;
    let message = text("message", message, true)?.unwrap_or_default();
    let rule = |facts: &EntityFacts| -> DirResult<()> {
        access_requests::may_file(caller, facts).map_err(|e| {
            refuse(match e {
                FileRefusal::Anonymous => AppError::SignInRequired,
                FileRefusal::Hidden => AppError::Hidden,
                FileRefusal::AlreadyGranted => AppError::Invalid(format!("{entity}: {e}")),
            })
        })
    };
    let filed = store.file_access_request(entity, user.id, &message, &rule, now)?;
    let event = AuditEvent::AccessRequested {
        request_id: filed.id,
    };
    admin_record(store, permit.actor(), &filed.entity_name, event, now);
    Ok(filed)
}

/// The requests on `entity` its managers see (open ones unless `all`).
pub fn inbox<S: AccessRequestStore + ?Sized>(
    store: &S,
    permit: &Permit<AccessRequestInbox>,
    entity: &EntityRef,
    all: bool,
) -> AppResult<Vec<AccessRequest>> {
    let rule = |facts: &EntityFacts| -> DirResult<()> { may_decide(permit.actor(), facts) };
    Ok(store.entity_access_requests(entity, all, &rule)?)
}

/// The caller's own requests, newest first.
pub fn mine<S: AccessRequestStore + ?Sized>(
    store: &S,
    permit: &Permit<MyAccessRequests>,
) -> AppResult<Vec<AccessRequest>> {
    let user = permit.user()?;
    Ok(store.user_access_requests(user.id)?)
}

/// Approves (granting READ and DOWNLOAD) or denies (a reason required) an open request.
pub fn decide<S: AccessRequestStore + AuditLog + ?Sized>(
    store: &S,
    permit: &Permit<DecideAccessRequest>,
    id: i64,
    approve: bool,
    reason: &str,
    now: UnixTime,
) -> AppResult<AccessRequest> {
    let actor = permit.actor();
    let reason = text("reason", reason, !approve)?;
    let decided_by = match actor {
        Actor::Operator => None,
        Actor::Caller(c) => Some(c.user.as_ref().ok_or(AppError::SignInRequired)?.id),
    };
    let decision = RequestDecision {
        approve,
        reason: reason.clone(),
        decided_by,
    };
    let rule = |facts: &EntityFacts, request: &AccessRequest| {
        may_decide(actor, facts)?;
        Ok(approve.then(|| access_requests::approval(facts, request.requester)))
    };
    let decided = store.decide_access_request(id, &decision, &rule, now)?;
    let event = AuditEvent::AccessRequestDecided {
        request_id: id,
        requester: decided.requester_name.clone(),
        approved: approve,
        reason,
    };
    admin_record(store, actor, &decided.entity_name, event, now);
    Ok(decided)
}

fn may_decide(actor: &Actor, facts: &EntityFacts) -> DirResult<()> {
    match actor {
        Actor::Operator => Ok(()),
        Actor::Caller(c) => access_requests::may_decide(c, facts)
            .map_err(AppError::from)
            .map_err(refuse),
    }
}
