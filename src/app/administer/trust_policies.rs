//! Trust policies: a project's owners say which CI jobs may pull or push which of its
//! repositories (see `domain::federation`). Adding or removing one needs the
//! `authorize` scope and CHANGE_PERMISSIONS on the project, like sharing; the policy
//! then acts with its creator's rights, which a removed permission takes from it.

use crate::app::audit::admin_record;
use crate::app::operations::{AddTrustPolicy, ListTrustPolicies, RemoveTrustPolicy};
use crate::app::permit::Permit;
use crate::app::{Actor, AppError, AppResult};
use crate::domain::audit::AuditEvent;
use crate::domain::authz::EntityFacts;
use crate::domain::federation::{evaluate, glob, pins_ids};
use crate::domain::model::{
    ClaimCondition, ClaimMatch, EntityId, EntityKind, EntityRef, NewTrustPolicy, TrustPolicy,
    UnixTime, WorkloadActions, WorkloadClaims,
};
use crate::domain::ports::{AuditLog, AuthorizationFacts, TrustPolicyStore, UserAdmin};

/// The longest a workload's registry token may live under any policy, and the default.
pub const MAX_LIFETIME_SECS: u32 = 3600;
pub const DEFAULT_LIFETIME_SECS: u32 = 900;
/// More conditions than this is a mistake, not a policy.
const MAX_CONDITIONS: usize = 32;

/// A policy as asked for (the API's body, the CLI's flags).
#[derive(Debug, Clone)]
pub struct PolicyDraft {
    pub issuer: String,
    pub audience: String,
    pub conditions: Vec<ClaimCondition>,
    pub repositories: String,
    pub actions: WorkloadActions,
    pub max_lifetime_secs: Option<u32>,
    /// Whose rights the policy acts with when the operator adds it (an HTTP caller's
    /// policy acts with the caller's own).
    pub creator: Option<String>,
}

/// A stored policy as listings show it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PolicyView {
    pub id: i64,
    pub project: String,
    pub creator: String,
    pub issuer: String,
    pub audience: String,
    pub conditions: Vec<ClaimCondition>,
    pub repositories: String,
    pub actions: Vec<&'static str>,
    pub max_lifetime_secs: u32,
    pub created_at: UnixTime,
    /// Matches names only (no immutable id pinned): names are reused, so a deleted
    /// repository's or account's name registered again by someone else would match.
    pub names_only: bool,
}

impl PolicyView {
    pub fn of(p: &TrustPolicy) -> PolicyView {
        PolicyView {
            id: p.id,
            project: p.policy.project.to_string(),
            creator: p.creator_name.clone(),
            issuer: p.policy.issuer.clone(),
            audience: p.policy.audience.clone(),
            conditions: p.policy.conditions.clone(),
            repositories: p.policy.repositories.clone(),
            actions: p.policy.actions.names(),
            max_lifetime_secs: p.policy.max_lifetime_secs,
            created_at: p.policy.created_at,
            names_only: !pins_ids(p),
        }
    }
}

/// The project `id`, checked against the operation's declared needs.
fn project<S: AuthorizationFacts + ?Sized, O: crate::app::operations::Operation>(
    store: &S,
    permit: &Permit<O>,
    id: EntityId,
) -> AppResult<EntityFacts> {
    let entity = EntityRef::Id(id);
    let facts = store
        .entity_facts(&entity)?
        .ok_or_else(|| crate::app::browse::not_found(&entity))?;
    permit.require_entity(&facts)?;
    if facts.info.kind != EntityKind::Project {
        return Err(AppError::Invalid(format!(
            "{id} is not a project: trust policies belong to projects"
        )));
    }
    Ok(facts)
}

/// Checks a draft: a configured issuer, an audience, at least one condition (a token
/// from a public CI service carries any audience its job asks for, so issuer and
/// audience alone would admit every job there), valid globs, some action.
fn check(draft: &PolicyDraft, issuers: &[String]) -> AppResult<u32> {
    let bad = |m: String| Err(AppError::Invalid(m));
    if !issuers.iter().any(|i| i == &draft.issuer) {
        return bad(format!(
            "issuer {:?} is not configured (oidc.issuers): configured are {}",
            truncate(&draft.issuer),
            if issuers.is_empty() {
                "none".to_string()
            } else {
                issuers.join(", ")
            }
        ));
    }
    if draft.audience.trim().is_empty() {
        return bad("audience is required: the value your jobs request their token for".into());
    }
    if draft.conditions.is_empty() {
        return bad("at least one claim condition is required (e.g. repository_id, ref)".into());
    }
    if draft.conditions.len() > MAX_CONDITIONS {
        return bad(format!("at most {MAX_CONDITIONS} conditions"));
    }
    for (i, c) in draft.conditions.iter().enumerate() {
        if c.claim.is_empty() || c.claim.len() > 128 {
            return bad(format!("conditions[{i}].claim must be 1 to 128 characters"));
        }
        if matches!(
            c.claim.as_str(),
            "iss" | "aud" | "exp" | "nbf" | "iat" | "jti"
        ) {
            return bad(format!(
                "conditions[{i}]: {} is checked by regauth itself; name an identity claim",
                c.claim
            ));
        }
        match &c.matcher {
            ClaimMatch::Glob(p) => {
                glob::validate(p).map_err(|e| AppError::Invalid(format!("conditions[{i}]: {e}")))?
            }
            ClaimMatch::Exact(v) if v.len() > 512 => {
                return bad(format!(
                    "conditions[{i}]: the value is longer than 512 characters"
                ))
            }
            ClaimMatch::Exact(_) => {}
        }
    }
    glob::validate(&draft.repositories)
        .map_err(|e| AppError::Invalid(format!("repositories: {e}")))?;
    if draft.actions.is_empty() {
        return bad("actions: give pull, push or both".into());
    }
    let lifetime = draft.max_lifetime_secs.unwrap_or(DEFAULT_LIFETIME_SECS);
    if !(60..=MAX_LIFETIME_SECS).contains(&lifetime) {
        return bad(format!(
            "max_lifetime must be between 1m and {}m",
            MAX_LIFETIME_SECS / 60
        ));
    }
    Ok(lifetime)
}

/// Adds a policy to `project`; `issuers` are the configured ones.
pub fn add<S: TrustPolicyStore + AuthorizationFacts + UserAdmin + AuditLog + ?Sized>(
    store: &S,
    permit: &Permit<AddTrustPolicy>,
    project_id: EntityId,
    draft: PolicyDraft,
    issuers: &[String],
    now: UnixTime,
) -> AppResult<PolicyView> {
    let facts = project(store, permit, project_id)?;
    if facts.info.trashed {
        return Err(AppError::Invalid(format!("{project_id} is in the trash")));
    }
    let lifetime = check(&draft, issuers)?;
    let creator = match (permit.actor(), &draft.creator) {
        (Actor::Caller(_), None) => permit.user()?.id,
        (Actor::Caller(_), Some(_)) => {
            return Err(AppError::Invalid(
                "a policy acts with its creator's rights: only the operator names another".into(),
            ))
        }
        (Actor::Operator, Some(name)) => {
            store
                .user_by_name(name)?
                .ok_or_else(|| AppError::NotFound(format!("user {name}")))?
                .id
        }
        (Actor::Operator, None) => {
            return Err(AppError::Invalid(
                "--creator is required: the user whose rights the policy acts with".into(),
            ))
        }
    };
    let stored = store.create_trust_policy(&NewTrustPolicy {
        project: project_id,
        creator,
        issuer: draft.issuer,
        audience: draft.audience,
        conditions: draft.conditions,
        repositories: draft.repositories,
        actions: draft.actions,
        max_lifetime_secs: lifetime,
        created_at: now,
    })?;
    let view = PolicyView::of(&stored);
    let event = AuditEvent::TrustPolicyAdded {
        policy: stored.id,
        issuer: view.issuer.clone(),
        names_only: view.names_only,
    };
    admin_record(store, permit.actor(), project_id.to_string(), event, now);
    Ok(view)
}

/// A project's policies.
pub fn list<S: TrustPolicyStore + AuthorizationFacts + ?Sized>(
    store: &S,
    permit: &Permit<ListTrustPolicies>,
    project_id: EntityId,
) -> AppResult<Vec<PolicyView>> {
    project(store, permit, project_id)?;
    Ok(store
        .list_trust_policies(project_id)?
        .iter()
        .map(PolicyView::of)
        .collect())
}

/// A policy's id, and the claims that matched or the first condition that failed.
pub type PolicyVerdict = (i64, Result<Vec<String>, String>);

/// For a project's owner: which of its policies a workload's verified `claims` meet,
/// and for each that they do not, the first condition that failed (the claim, the
/// value it has and the one the policy wants).
pub fn explain<S: TrustPolicyStore + AuthorizationFacts + ?Sized>(
    store: &S,
    permit: &Permit<ListTrustPolicies>,
    project_id: EntityId,
    claims: &WorkloadClaims,
) -> AppResult<Vec<PolicyVerdict>> {
    project(store, permit, project_id)?;
    Ok(store
        .list_trust_policies(project_id)?
        .iter()
        .map(|p| {
            let verdict = match evaluate(p, claims) {
                Ok(m) => Ok(m.claims),
                Err(miss) => Err(format!("claim {} {}", miss.claim, miss.why)),
            };
            (p.id, verdict)
        })
        .collect())
}

/// Removes policy `id` of `project`: its workloads are refused from the next request.
pub fn remove<S: TrustPolicyStore + AuthorizationFacts + AuditLog + ?Sized>(
    store: &S,
    permit: &Permit<RemoveTrustPolicy>,
    project_id: EntityId,
    id: i64,
    now: UnixTime,
) -> AppResult<()> {
    project(store, permit, project_id)?;
    store.delete_trust_policy(project_id, id)?;
    let event = AuditEvent::TrustPolicyRemoved { policy: id };
    admin_record(store, permit.actor(), project_id.to_string(), event, now);
    Ok(())
}

fn truncate(s: &str) -> String {
    s.chars().take(128).collect()
}
