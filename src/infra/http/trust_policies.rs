//! `/api/v1/projects/{id}/trust-policies`: which CI jobs may pull or push a project's
//! repositories with their own OIDC token. The rules are `app::administer::trust_policies`
//! (who may change them) and `domain::federation` (what a policy admits).

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::gate::Authorized;
use crate::app::administer::trust_policies::{self, PolicyDraft};
use crate::app::operations::{AddTrustPolicy, ListTrustPolicies, RemoveTrustPolicy};
use crate::app::AppError;
use crate::domain::federation::presets::Preset;
use crate::domain::model::{parse_lifetime, ClaimCondition, EntityId, WorkloadActions};
use crate::infra::front::admitted::Admitted;
use crate::infra::front::errors::{ErrorCode, HttpError};

/// A project id from the path (`syn1000`).
fn project(raw: &str) -> Result<EntityId, HttpError> {
    raw.parse()
        .map_err(|e: crate::domain::model::InvalidEntityId| {
            HttpError::bad_request(ErrorCode::NameInvalid, e.to_string())
        })
}

pub async fn list(
    call: Authorized<ListTrustPolicies>,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let project = project(&id)?;
    let policies = call
        .read(move |dir, permit| trust_policies::list(dir, permit, project))
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "policies": policies })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyBody {
    /// A configured issuer's `iss`, or its configured name.
    issuer: String,
    audience: String,
    #[serde(default)]
    conditions: Vec<ClaimCondition>,
    /// Conditions for GitHub Actions, GitLab CI or Kubernetes, ids pinned.
    #[serde(default)]
    preset: Option<Preset>,
    repositories: String,
    /// `["pull"]`, `["pull", "push"]`.
    actions: Vec<String>,
    /// `15m` (default), at most `1h`.
    #[serde(default)]
    max_lifetime: Option<String>,
}

pub async fn add(
    mut call: Authorized<AddTrustPolicy>,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let project = project(&id)?;
    let body: PolicyBody = call.json().await?;
    let issuers = call.state.settings.oidc.workload_issuers();
    let issuer = call.state.settings.oidc.issuer_named(&body.issuer);
    let draft = draft(body, issuer).map_err(HttpError::from)?;
    let view = call
        .change(move |dir, permit, now| {
            trust_policies::add(dir, permit, project, draft, &issuers, now)
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// The body as a draft: a preset's conditions first, then any given ones.
fn draft(body: PolicyBody, issuer: String) -> Result<PolicyDraft, AppError> {
    let bad = AppError::Invalid;
    let mut conditions = match &body.preset {
        Some(p) => p.conditions().map_err(|e| bad(format!("preset: {e}")))?,
        None => Vec::new(),
    };
    conditions.extend(body.conditions);
    let actions = WorkloadActions::parse_list(&body.actions.join(","))
        .map_err(|e| bad(format!("actions: {e}")))?;
    let max_lifetime_secs = match &body.max_lifetime {
        Some(s) => {
            let d = parse_lifetime(s).map_err(|e| bad(format!("max_lifetime: {e}")))?;
            Some(u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
        }
        None => None,
    };
    Ok(PolicyDraft {
        issuer,
        audience: body.audience,
        conditions,
        repositories: body.repositories,
        actions,
        max_lifetime_secs,
        creator: None,
    })
}

pub async fn remove(
    call: Authorized<RemoveTrustPolicy>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, HttpError> {
    let (id, policy) = path.into_inner();
    let project = project(&id)?;
    call.change(move |dir, permit, now| trust_policies::remove(dir, permit, project, policy, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
