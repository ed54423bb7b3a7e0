//! `/api/v1/entities/{id}/…`: sharing settings and the trash, where `{id}` is a project
//! id (`syn123`) or a URL-encoded repository path (`syn123%2Ftool`). The rules (scopes,
//! CHANGE_PERMISSIONS, DELETE, keeping a manager) are the use cases'.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::gate::Authorized;
use crate::app::administer::{sharing, trash};
use crate::app::operations::{
    InheritSharing, MoveToTrash, ReplaceSharing, RestoreFromTrash, ShowSharing,
};
use crate::app::AppError;
use crate::domain::model::{AccessSet, EntityRef, PrincipalRef};
use crate::infra::front::admitted::Admitted;
use crate::infra::front::errors::{ErrorCode, HttpError};

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

pub async fn show(
    call: Authorized<ShowSharing>,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let entity = entity(&id)?;
    let view = call
        .read(move |dir, permit| sharing::show(dir, permit, &entity))
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

pub async fn replace(
    mut call: Authorized<ReplaceSharing>,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let entity = entity(&id)?;
    let body: AclBody = call.json().await?;
    call.change(move |dir, permit, now| {
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
        sharing::replace(dir, permit, &entity, &entries, now)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Drops a repository's local sharing settings.
pub async fn inherit(
    call: Authorized<InheritSharing>,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let entity = entity(&id)?;
    call.change(move |dir, permit, now| sharing::inherit(dir, permit, &entity, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn move_to_trash(
    call: Authorized<MoveToTrash>,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let entity = entity(&id)?;
    call.change(move |dir, permit, now| trash::trash(dir, permit, &entity, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn restore(
    call: Authorized<RestoreFromTrash>,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let entity = entity(&id)?;
    call.change(move |dir, permit, now| trash::restore(dir, permit, &entity, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
