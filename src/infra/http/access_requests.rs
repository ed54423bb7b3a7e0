//! Access requests over HTTP: file one on an entity, list an entity's inbox, follow
//! one's own, approve or deny. The rules are `app::access_requests`'.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::api::{as_caller, with_caller, with_caller_json, with_caller_optional_json};
use super::errors::{ErrorCode, HttpError};
use super::sharing::entity;
use super::AppState;
use crate::app::{access_requests, Actor};
use crate::domain::model::{rfc3339, AccessRequest};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/api/v1/entities/{id}/access-requests",
        web::post().to(file),
    )
    .route(
        "/api/v1/entities/{id}/access-requests",
        web::get().to(inbox),
    )
    .route("/api/v1/me/access-requests", web::get().to(mine))
    .route(
        "/api/v1/access-requests/{id}/approve",
        web::post().to(approve),
    )
    .route("/api/v1/access-requests/{id}/deny", web::post().to(deny));
}

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
struct InboxQuery {
    state: Option<String>,
}

async fn file(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    let entity = entity(&id)?;
    let filed = with_caller_json(&state, &req, payload, move |st, caller, body: Message| {
        let now = st.clock.now();
        access_requests::file(st.directory.as_ref(), caller, &entity, &body.message, now)
    })
    .await?;
    Ok(HttpResponse::Created().json(request_json(&filed)))
}

async fn inbox(
    state: web::Data<AppState>,
    req: HttpRequest,
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
    let list = as_caller(&state, &req, move |st, actor| {
        access_requests::inbox(st.directory.as_ref(), actor, &entity, all)
    })
    .await?;
    Ok(HttpResponse::Ok().json(list_json(&list)))
}

async fn mine(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, HttpError> {
    let list = with_caller(&state, &req, |st, caller| {
        access_requests::mine(st.directory.as_ref(), caller)
    })
    .await?;
    Ok(HttpResponse::Ok().json(list_json(&list)))
}

/// Approves or denies request `id`: authenticated first, then the body is read. It may
/// be absent; whether a reason is needed (a denial) is the use case's to say.
async fn decide(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: &str,
    approve: bool,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    let id: i64 = id.parse().map_err(|_| {
        HttpError::bad_request(ErrorCode::Unsupported, "access request id must be a number")
    })?;
    let decided = with_caller_optional_json(
        &state,
        &req,
        payload,
        move |st, caller, body: Option<Reason>| {
            let reason = body.map(|b| b.reason).unwrap_or_default();
            let actor = Actor::Caller(caller.clone());
            access_requests::decide(
                st.directory.as_ref(),
                &actor,
                id,
                approve,
                &reason,
                st.clock.now(),
            )
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(request_json(&decided)))
}

async fn approve(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    decide(state, req, &id, true, payload).await
}

async fn deny(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    decide(state, req, &id, false, payload).await
}
