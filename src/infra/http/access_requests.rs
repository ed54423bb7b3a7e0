//! Access requests over HTTP: file one on an entity, list an entity's inbox, follow
//! one's own, approve or deny. The rules are `app::access_requests`'.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::gate::Authorized;
use super::sharing::entity;
use crate::app::access_requests;
use crate::app::operations::{
    AccessRequestInbox, DecideAccessRequest, FileAccessRequest, MyAccessRequests,
};
use crate::domain::model::{rfc3339, AccessRequest};
use crate::infra::front::admitted::Admitted;
use crate::infra::front::errors::{ErrorCode, HttpError};
use crate::infra::front::form::path_number;
use crate::infra::http::error_body::ErrorBody;

/// An access request.
#[derive(Serialize, ToSchema)]
pub struct RequestJson {
    id: i64,
    /// `syn123`.
    entity: String,
    /// Project name or repository path.
    entity_name: String,
    requester: String,
    message: String,
    #[schema(value_type = RequestStateName)]
    state: crate::domain::model::RequestState,
    /// Why it was denied (or a note on the approval).
    reason: Option<String>,
    #[schema(format = DateTime)]
    created_at: Option<String>,
    #[schema(format = DateTime)]
    decided_at: Option<String>,
    decided_by: Option<String>,
}

/// Where a request stands (`domain::model::RequestState`).
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum RequestStateName {
    Open,
    Approved,
    Denied,
}

pub fn request_json(r: &AccessRequest) -> RequestJson {
    RequestJson {
        id: r.id,
        entity: r.entity.to_string(),
        entity_name: r.entity_name.clone(),
        requester: r.requester_name.clone(),
        message: r.message.clone(),
        state: r.state,
        reason: r.reason.clone(),
        created_at: rfc3339(r.created_at),
        decided_at: r.decided_at.and_then(rfc3339),
        decided_by: r.decided_by.clone(),
    }
}

#[derive(Serialize, ToSchema)]
struct RequestList {
    requests: Vec<RequestJson>,
}

fn list_json(list: &[AccessRequest]) -> RequestList {
    RequestList {
        requests: list.iter().map(request_json).collect(),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Message {
    /// To the managers: who you are and why.
    message: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Reason {
    /// Needed to deny.
    #[serde(default)]
    reason: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// `open` (the default) or `all`.
    #[param(value_type = Option<InboxState>, inline)]
    state: Option<String>,
}

#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub(crate) enum InboxState {
    Open,
    All,
}

/// Whether the inbox's `state` (`InboxState`) asks for decided requests too.
pub(crate) fn inbox_all(state: Option<&str>) -> Result<bool, HttpError> {
    match state {
        None | Some("open") => Ok(false),
        Some("all") => Ok(true),
        Some(_) => Err(HttpError::bad_request(
            ErrorCode::Unsupported,
            "state: use open or all",
        )),
    }
}

/// Asks the entity's managers for READ and DOWNLOAD.
#[utoipa::path(
    post,
    path = "/api/v1/entities/{id}/access-requests",
    tag = "access requests",
    extensions(("x-regauth-operation" = json!("FileAccessRequest"))),
    params(("id" = String, Path, description = "A project id (`syn123`) or a URL-encoded repository path (`syn123%2Ftool`)")),
    request_body = Message,
    responses(
        (status = 201, description = "Filed", body = RequestJson),
        (status = 400, description = "A bad entity or body", body = ErrorBody),
        (status = 404, description = "No such entity, or hidden from the caller", body = ErrorBody),
        (status = 409, description = "An open request of the caller's exists", body = ErrorBody),
    )
)]
pub async fn file(
    mut call: Authorized<FileAccessRequest>,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let entity = entity(&id)?;
    let body: Message = call.json().await?;
    let filed = call
        .change(move |dir, permit, now| {
            access_requests::file(dir, permit, &entity, &body.message, now)
        })
        .await?;
    Ok(HttpResponse::Created().json(request_json(&filed)))
}

/// The entity's requests, for its managers.
#[utoipa::path(
    get,
    path = "/api/v1/entities/{id}/access-requests",
    tag = "access requests",
    extensions(("x-regauth-operation" = json!("AccessRequestInbox"))),
    params(("id" = String, Path, description = "A project id (`syn123`) or a URL-encoded repository path (`syn123%2Ftool`)"), InboxQuery),
    responses(
        (status = 200, description = "The requests", body = RequestList),
        (status = 400, description = "A bad entity or state", body = ErrorBody),
        (status = 404, description = "No such entity, or hidden from the caller", body = ErrorBody),
    )
)]
pub async fn inbox(
    call: Authorized<AccessRequestInbox>,
    id: web::Path<String>,
    query: web::Query<InboxQuery>,
) -> Result<HttpResponse, HttpError> {
    let entity = entity(&id)?;
    let all = inbox_all(query.state.as_deref())?;
    let list = call
        .read(move |dir, permit| access_requests::inbox(dir, permit, &entity, all))
        .await?;
    Ok(HttpResponse::Ok().json(list_json(&list)))
}

/// The caller's own requests.
#[utoipa::path(
    get,
    path = "/api/v1/me/access-requests",
    tag = "access requests",
    extensions(("x-regauth-operation" = json!("MyAccessRequests"))),
    responses((status = 200, description = "The caller's requests", body = RequestList))
)]
pub async fn mine(call: Authorized<MyAccessRequests>) -> Result<HttpResponse, HttpError> {
    let list = call.read(access_requests::mine).await?;
    Ok(HttpResponse::Ok().json(list_json(&list)))
}

/// Approves a request: its requester gets READ and DOWNLOAD.
#[utoipa::path(
    post,
    path = "/api/v1/access-requests/{id}/approve",
    tag = "access requests",
    extensions(("x-regauth-operation" = json!("DecideAccessRequest"))),
    params(("id" = i64, Path, description = "The request's id")),
    request_body(content = Option<Reason>, description = "Optional; an empty body will do"),
    responses(
        (status = 200, description = "Approved", body = RequestJson),
        (status = 400, description = "A bad id or body", body = ErrorBody),
        (status = 404, description = "No such request, or hidden from the caller", body = ErrorBody),
        (status = 409, description = "Already decided", body = ErrorBody),
    )
)]
pub async fn approve(
    call: Authorized<DecideAccessRequest>,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    decide(call, id, true).await
}

/// Denies a request, with a reason.
#[utoipa::path(
    post,
    path = "/api/v1/access-requests/{id}/deny",
    tag = "access requests",
    extensions(("x-regauth-operation" = json!("DecideAccessRequest"))),
    params(("id" = i64, Path, description = "The request's id")),
    request_body(content = Option<Reason>, description = "The reason is needed"),
    responses(
        (status = 200, description = "Denied", body = RequestJson),
        (status = 400, description = "A bad id or body, or no reason", body = ErrorBody),
        (status = 404, description = "No such request, or hidden from the caller", body = ErrorBody),
        (status = 409, description = "Already decided", body = ErrorBody),
    )
)]
pub async fn deny(
    call: Authorized<DecideAccessRequest>,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    decide(call, id, false).await
}

/// Approves (`approve`) or denies request `id`: authenticated first, then the body is
/// read. It may be absent; whether a reason is needed (a denial) is the use case's to say.
async fn decide(
    mut call: Authorized<DecideAccessRequest>,
    id: web::Path<String>,
    approve: bool,
) -> Result<HttpResponse, HttpError> {
    let id = path_number(&id, "access request")?;
    let body: Option<Reason> = call.json_optional().await?;
    let decided = call
        .change(move |dir, permit, now| {
            let reason = body.map(|b| b.reason).unwrap_or_default();
            access_requests::decide(dir, permit, id, approve, &reason, now)
        })
        .await?;
    Ok(HttpResponse::Ok().json(request_json(&decided)))
}
