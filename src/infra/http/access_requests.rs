//! Access requests over HTTP: file one on an entity, list an entity's inbox, follow
//! one's own, approve or deny. The rules are `app::access_requests`'.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

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

pub fn request_json(r: &AccessRequest) -> Value {
    json!({"id": r.id, "entity": r.entity, "entity_name": r.entity_name,
           "requester": r.requester_name, "message": r.message, "state": r.state,
           "reason": r.reason, "created_at": rfc3339(r.created_at),
           "decided_at": r.decided_at.and_then(rfc3339), "decided_by": r.decided_by})
}

fn list_json(list: &[AccessRequest]) -> Value {
    json!({"requests": list.iter().map(request_json).collect::<Vec<_>>()})
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Message {
    message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reason {
    #[serde(default)]
    reason: String,
}

#[derive(Deserialize)]
pub struct InboxQuery {
    state: Option<String>,
}

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

pub async fn inbox(
    call: Authorized<AccessRequestInbox>,
    id: web::Path<String>,
    query: web::Query<InboxQuery>,
) -> Result<HttpResponse, HttpError> {
    let entity = entity(&id)?;
    let all = match query.state.as_deref() {
        None | Some("open") => false,
        Some("all") => true,
        Some(_) => {
            return Err(HttpError::bad_request(
                ErrorCode::Unsupported,
                "state: use open or all",
            ))
        }
    };
    let list = call
        .read(move |dir, permit| access_requests::inbox(dir, permit, &entity, all))
        .await?;
    Ok(HttpResponse::Ok().json(list_json(&list)))
}

pub async fn mine(call: Authorized<MyAccessRequests>) -> Result<HttpResponse, HttpError> {
    let list = call.read(access_requests::mine).await?;
    Ok(HttpResponse::Ok().json(list_json(&list)))
}

/// Approves (`APPROVE`) or denies request `id`: authenticated first, then the body is
/// read. It may be absent; whether a reason is needed (a denial) is the use case's to say.
pub async fn decide<const APPROVE: bool>(
    mut call: Authorized<DecideAccessRequest>,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let id = path_number(&id, "access request")?;
    let body: Option<Reason> = call.json_optional().await?;
    let decided = call
        .change(move |dir, permit, now| {
            let reason = body.map(|b| b.reason).unwrap_or_default();
            access_requests::decide(dir, permit, id, APPROVE, &reason, now)
        })
        .await?;
    Ok(HttpResponse::Ok().json(request_json(&decided)))
}
