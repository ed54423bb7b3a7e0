//! `/api/v1/projects/{id}/trust-policies`: which CI jobs may pull or push a project's
//! repositories with their own OIDC token. The rules are `app::administer::trust_policies`
//! (who may change them) and `domain::federation` (what a policy admits).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::gate::Authorized;
use crate::app::administer::trust_policies::{self, PolicyDraft, PolicyView};
use crate::app::operations::{AddTrustPolicy, ListTrustPolicies, RemoveTrustPolicy};
use crate::app::AppError;
use crate::domain::federation::presets::Preset;
use crate::domain::model::{parse_lifetime, ClaimCondition, EntityId, WorkloadActions};
use crate::infra::front::admitted::Admitted;
use crate::infra::front::errors::{ErrorCode, HttpError};
use crate::infra::front::form::path_number;
use crate::infra::http::error_body::ErrorBody;

/// A project id from the path (`syn1000`).
fn project(raw: &str) -> Result<EntityId, HttpError> {
    raw.parse()
        .map_err(|e: crate::domain::model::InvalidEntityId| {
            HttpError::bad_request(ErrorCode::NameInvalid, e.to_string())
        })
}

/// A stored policy.
#[derive(Serialize, ToSchema)]
struct PolicyJson {
    id: i64,
    /// `syn123`.
    project: String,
    /// Whose rights the policy acts with.
    creator: String,
    issuer: String,
    audience: String,
    #[schema(value_type = Vec<ConditionJson>)]
    conditions: Vec<ClaimCondition>,
    /// A glob on the project's repository names.
    repositories: String,
    #[schema(value_type = Vec<ActionName>)]
    actions: Vec<&'static str>,
    max_lifetime_secs: u32,
    /// Unix seconds.
    created_at: i64,
    /// Matches names only (no immutable id pinned): a reused name would match.
    names_only: bool,
}

impl From<PolicyView> for PolicyJson {
    fn from(v: PolicyView) -> PolicyJson {
        PolicyJson {
            id: v.id,
            project: v.project,
            creator: v.creator,
            issuer: v.issuer,
            audience: v.audience,
            conditions: v.conditions,
            repositories: v.repositories,
            actions: v.actions,
            max_lifetime_secs: v.max_lifetime_secs,
            created_at: v.created_at,
            names_only: v.names_only,
        }
    }
}

/// A condition on one claim of the workload's token (`domain::model::ClaimCondition`):
/// `exact` or `glob`, one of them.
#[derive(ToSchema)]
#[allow(dead_code)]
struct ConditionJson {
    /// A claim, nested ones by dotted path.
    claim: String,
    /// The claim equals this.
    exact: Option<String>,
    /// The claim matches this anchored glob (`*` never crosses `/` or `:`).
    glob: Option<String>,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(crate) enum ActionName {
    Pull,
    Push,
}

/// A preset's facts (`domain::federation::presets::Preset`).
#[derive(ToSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[allow(dead_code)]
enum PresetJson {
    /// A GitHub Actions workflow of one repository.
    GithubActions {
        /// `org/repo`.
        repository: String,
        repository_id: u64,
        repository_owner_id: u64,
        /// A glob on `ref`; any ref when absent.
        #[serde(rename = "ref")]
        git_ref: Option<String>,
        environment: Option<String>,
    },
    /// A GitLab CI job of one project, on a protected ref.
    GitlabCi {
        /// `group/project`.
        project_path: String,
        project_id: u64,
        namespace_id: u64,
        #[serde(rename = "ref")]
        git_ref: Option<String>,
    },
    /// A Kubernetes service account's projected token.
    Kubernetes {
        namespace: String,
        service_account: String,
        service_account_uid: String,
    },
}

#[derive(Serialize, ToSchema)]
struct PolicyList {
    policies: Vec<PolicyJson>,
}

/// The project's trust policies.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{id}/trust-policies",
    tag = "trust policies",
    extensions(("x-regauth-operation" = json!("ListTrustPolicies"))),
    params(("id" = String, Path, description = "The project, `syn123`", pattern = "^syn[0-9]+$")),
    responses(
        (status = 200, description = "The policies", body = PolicyList),
        (status = 400, description = "Not a project id", body = ErrorBody),
        (status = 404, description = "No such project, or hidden from the caller", body = ErrorBody),
    )
)]
pub async fn list(
    call: Authorized<ListTrustPolicies>,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let project = project(&id)?;
    let policies = call
        .read(move |dir, permit| trust_policies::list(dir, permit, project))
        .await?;
    Ok(HttpResponse::Ok().json(PolicyList {
        policies: policies.into_iter().map(PolicyJson::from).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PolicyBody {
    /// A configured issuer's `iss`, or its configured name.
    issuer: String,
    audience: String,
    #[serde(default)]
    #[schema(value_type = Vec<ConditionJson>)]
    conditions: Vec<ClaimCondition>,
    /// Conditions for GitHub Actions, GitLab CI or Kubernetes, ids pinned.
    #[serde(default)]
    #[schema(value_type = Option<PresetJson>)]
    preset: Option<Preset>,
    repositories: String,
    /// `["pull"]`, `["pull", "push"]`.
    actions: Vec<String>,
    /// `15m` (default), at most `1h`.
    #[serde(default)]
    max_lifetime: Option<String>,
}

/// Adds a trust policy: the CI jobs it admits act with the caller's rights.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{id}/trust-policies",
    tag = "trust policies",
    extensions(("x-regauth-operation" = json!("AddTrustPolicy"))),
    params(("id" = String, Path, description = "The project, `syn123`", pattern = "^syn[0-9]+$")),
    request_body = PolicyBody,
    responses(
        (status = 201, description = "Added", body = PolicyJson),
        (status = 400, description = "A bad id or body, an unknown issuer, a policy that admits too much", body = ErrorBody),
        (status = 404, description = "No such project, or hidden from the caller", body = ErrorBody),
    )
)]
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
    Ok(HttpResponse::Created().json(PolicyJson::from(view)))
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

/// Removes a trust policy.
#[utoipa::path(
    delete,
    path = "/api/v1/projects/{id}/trust-policies/{policy}",
    tag = "trust policies",
    extensions(("x-regauth-operation" = json!("RemoveTrustPolicy"))),
    params(
        ("id" = String, Path, description = "The project, `syn123`", pattern = "^syn[0-9]+$"),
        ("policy" = i64, Path, description = "The policy's id"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "A bad project or policy id", body = ErrorBody),
        (status = 404, description = "No such project or policy, or hidden from the caller", body = ErrorBody),
    )
)]
pub async fn remove(
    call: Authorized<RemoveTrustPolicy>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, HttpError> {
    let (id, policy) = path.into_inner();
    let project = project(&id)?;
    let policy = path_number(&policy, "trust policy")?;
    call.change(move |dir, permit, now| trust_policies::remove(dir, permit, project, policy, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
