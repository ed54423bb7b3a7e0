//! `/api/v1/entities/{id}/…`: sharing settings and the trash, where `{id}` is a project
//! id (`syn123`) or a URL-encoded repository path (`syn123%2Ftool`). The rules (scopes,
//! CHANGE_PERMISSIONS, DELETE, keeping a manager) are the use cases'.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::api::{as_caller, as_caller_body};
use super::errors::{ErrorCode, HttpError};
use super::AppState;
use crate::app::administer::{sharing, trash};
use crate::app::{Actor, AppError, AppResult};
use crate::domain::model::{AccessSet, EntityRef, PrincipalRef, UnixTime};
use crate::domain::ports::Directory;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/entities/{id}/acl", web::get().to(show))
        .route("/api/v1/entities/{id}/acl", web::put().to(replace))
        .route("/api/v1/entities/{id}/acl", web::delete().to(inherit))
        .route("/api/v1/entities/{id}/trash", web::post().to(move_to_trash))
        .route("/api/v1/entities/{id}/restore", web::post().to(restore));
}

/// The entity a path names; `%2F` may reach us still encoded.
pub(super) fn entity(raw: &str) -> Result<EntityRef, HttpError> {
    raw.replace("%2F", "/")
        .replace("%2f", "/")
        .parse()
        .map_err(|e: String| {
            HttpError::bad_request(
                ErrorCode::NameInvalid,
                format!("give a project id (syn123) or a URL-encoded repository path: {e}"),
            )
        })
}

async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let entity = entity(&id)?;
    let view = as_caller(&state, &req, move |st, actor| {
        sharing::show(st.directory.as_ref(), actor, &entity)
    })
    .await?;
    let entries: Vec<_> = view
        .entries
        .iter()
        .map(|(p, a)| json!({"principal": p.to_string(), "access": a.names().collect::<Vec<_>>()}))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "entity": view.entity,
        "inherited_from": view.inherited_from,
        "entries": entries,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AclBody {
    entries: Vec<EntryBody>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryBody {
    /// `alice`, `team:devs`, `public` or `authenticated`.
    principal: String,
    /// `["READ", "DOWNLOAD"]`.
    access: Vec<String>,
}

async fn replace(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    let entity = entity(&id)?;
    as_caller_body(&state, &req, payload, move |st, actor, body: AclBody| {
        let bad = AppError::Invalid;
        let mut entries = Vec::with_capacity(body.entries.len());
        for (i, e) in body.entries.iter().enumerate() {
            let principal: PrincipalRef = e
                .principal
                .parse()
                .map_err(|m: String| bad(format!("entries[{i}].principal: {m}")))?;
            let access = AccessSet::parse_list(&e.access.join(","))
                .map_err(|m| bad(format!("entries[{i}].access: {m}")))?;
            entries.push((principal, access));
        }
        sharing::replace(
            st.directory.as_ref(),
            actor,
            &entity,
            &entries,
            st.clock.now(),
        )
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A change to an entity that takes nothing but the entity: 204 when done.
type EntityChange = fn(&dyn Directory, &Actor, &EntityRef, UnixTime) -> AppResult<()>;

async fn change(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    change: EntityChange,
) -> Result<HttpResponse, HttpError> {
    let entity = entity(&id)?;
    as_caller(&state, &req, move |st, actor| {
        change(st.directory.as_ref(), actor, &entity, st.clock.now())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Drops a repository's local sharing settings.
async fn inherit(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    change(state, req, id, |d, a, e, now| {
        sharing::inherit(d, a, e, now)
    })
    .await
}

async fn move_to_trash(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    change(state, req, id, |d, a, e, now| trash::trash(d, a, e, now)).await
}

async fn restore(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    change(state, req, id, |d, a, e, now| trash::restore(d, a, e, now)).await
}
