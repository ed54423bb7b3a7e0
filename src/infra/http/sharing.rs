//! `/api/v1/entities/{id}/…`: sharing settings and the trash, where `{id}` is a project
//! id (`syn123`) or a URL-encoded repository path (`syn123%2Ftool`). The rules (scopes,
//! CHANGE_PERMISSIONS, DELETE, keeping a manager) are the use cases'.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::gate::Authorized;
use crate::app::administer::{sharing, trash};
use crate::app::operations::{
    InheritSharing, MoveToTrash, ReplaceSharing, RestoreFromTrash, ShowSharing,
};
use crate::app::AppError;
use crate::domain::model::{AccessSet, EntityRef, PrincipalRef};
use crate::infra::front::admitted::Admitted;
use crate::infra::front::errors::{ErrorCode, HttpError};
use crate::infra::http::error_body::ErrorBody;

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

/// An entity's sharing settings.
#[derive(Serialize, ToSchema)]
struct AclJson {
    /// Project name or repository path.
    entity: String,
    /// The project (`syn123`) whose settings apply, when the entity has none of its own.
    inherited_from: Option<String>,
    entries: Vec<AclEntryJson>,
}

#[derive(Serialize, ToSchema)]
struct AclEntryJson {
    /// `alice`, `team:devs`, `public` or `authenticated`.
    principal: String,
    /// `READ`, `DOWNLOAD`, `CREATE`, `UPDATE`, `DELETE`, `CHANGE_PERMISSIONS`.
    access: Vec<&'static str>,
}

/// The entity's sharing settings (its own, or those it inherits).
#[utoipa::path(
    get,
    path = "/api/v1/entities/{id}/acl",
    tag = "sharing",
    extensions(("x-regauth-operation" = json!("ShowSharing"))),
    params(("id" = String, Path, description = "A project id (`syn123`) or a URL-encoded repository path (`syn123%2Ftool`)")),
    responses(
        (status = 200, description = "The settings", body = AclJson),
        (status = 400, description = "Not an entity", body = ErrorBody),
        (status = 404, description = "No such entity, or hidden from the caller", body = ErrorBody),
    )
)]
pub async fn show(
    call: Authorized<ShowSharing>,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let entity = entity(&id)?;
    let view = call
        .read(move |dir, permit| sharing::show(dir, permit, &entity))
        .await?;
    let entries = view
        .entries
        .iter()
        .map(|(p, a)| AclEntryJson {
            principal: p.to_string(),
            access: a.names().collect(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(AclJson {
        entity: view.entity,
        inherited_from: view.inherited_from.map(|p| p.to_string()),
        entries,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AclBody {
    entries: Vec<EntryBody>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct EntryBody {
    /// `alice`, `team:devs`, `public` or `authenticated`.
    principal: String,
    /// `["READ", "DOWNLOAD"]`.
    access: Vec<String>,
}

/// Replaces the entity's own sharing settings (a manager must remain).
#[utoipa::path(
    put,
    path = "/api/v1/entities/{id}/acl",
    tag = "sharing",
    extensions(("x-regauth-operation" = json!("ReplaceSharing"))),
    params(("id" = String, Path, description = "A project id (`syn123`) or a URL-encoded repository path (`syn123%2Ftool`)")),
    request_body = AclBody,
    responses(
        (status = 204, description = "Replaced"),
        (status = 400, description = "A bad entity or body, or no manager left", body = ErrorBody),
        (status = 404, description = "No such entity or principal, or hidden from the caller", body = ErrorBody),
    )
)]
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

/// Drops a repository's own sharing settings: its project's apply again.
#[utoipa::path(
    delete,
    path = "/api/v1/entities/{id}/acl",
    tag = "sharing",
    extensions(("x-regauth-operation" = json!("InheritSharing"))),
    params(("id" = String, Path, description = "A URL-encoded repository path (`syn123%2Ftool`)")),
    responses(
        (status = 204, description = "Inherits"),
        (status = 400, description = "Not a repository", body = ErrorBody),
        (status = 404, description = "No such entity, or hidden from the caller", body = ErrorBody),
    )
)]
pub async fn inherit(
    call: Authorized<InheritSharing>,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let entity = entity(&id)?;
    call.change(move |dir, permit, now| sharing::inherit(dir, permit, &entity, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Moves a project or repository to the trash.
#[utoipa::path(
    post,
    path = "/api/v1/entities/{id}/trash",
    tag = "sharing",
    extensions(("x-regauth-operation" = json!("MoveToTrash"))),
    params(("id" = String, Path, description = "A project id (`syn123`) or a URL-encoded repository path (`syn123%2Ftool`)")),
    responses(
        (status = 204, description = "In the trash"),
        (status = 400, description = "Not an entity", body = ErrorBody),
        (status = 404, description = "No such entity, or hidden from the caller", body = ErrorBody),
    )
)]
pub async fn move_to_trash(
    call: Authorized<MoveToTrash>,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let entity = entity(&id)?;
    call.change(move |dir, permit, now| trash::trash(dir, permit, &entity, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Restores a project or repository from the trash.
#[utoipa::path(
    post,
    path = "/api/v1/entities/{id}/restore",
    tag = "sharing",
    extensions(("x-regauth-operation" = json!("RestoreFromTrash"))),
    params(("id" = String, Path, description = "A project id (`syn123`) or a URL-encoded repository path (`syn123%2Ftool`)")),
    responses(
        (status = 204, description = "Restored"),
        (status = 400, description = "Not an entity", body = ErrorBody),
        (status = 404, description = "No such entity, or hidden from the caller", body = ErrorBody),
    )
)]
pub async fn restore(
    call: Authorized<RestoreFromTrash>,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let entity = entity(&id)?;
    call.change(move |dir, permit, now| trash::restore(dir, permit, &entity, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
