//! The read API: a project's repositories, a repository's tags and their history, and
//! external repository records. Authenticated like the token endpoint; the credential
//! needs the `view` scope and the caller READ on the entity. A missing, trashed or
//! unreadable entity all answer the same 404, so nothing leaks existence.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::auth::caller_from_request;
use super::errors::{ErrorCode, HttpError};
use super::AppState;
use crate::domain::authz::Caller;
use crate::domain::directory::{
    Directory, DirectoryError, EntityInfo, EntityRef, TagInfo, TagSort,
};
use crate::domain::model::{rfc3339, AccessType, EntityId, EntityKind, TokenScope};
use crate::domain::repo_name::{parse_external, RepoPath};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/api/v1/projects/{id}/repositories",
        web::get().to(project_repositories),
    )
    .route("/api/v1/repository", web::get().to(repository))
    .route("/api/v1/repository/tags", web::get().to(tags))
    .route("/api/v1/repository/history", web::get().to(history))
    .route(
        "/api/v1/projects/{id}/external-repositories",
        web::post().to(add_external),
    )
    .route(
        "/api/v1/external-repositories/{id}",
        web::delete().to(delete_external),
    );
}

/// May `caller` use `access` on an entity with this ACL and trash state? Pure.
pub fn may(
    caller: &Caller,
    acl: &crate::domain::model::Acl,
    trashed: bool,
    access: AccessType,
) -> bool {
    if trashed {
        return false;
    }
    caller.user.as_ref().is_some_and(|u| u.admin) || caller.access_in(acl).contains(access)
}

fn not_found() -> HttpError {
    HttpError::not_found("not found, or you may not see it")
}

fn backend(e: DirectoryError) -> HttpError {
    match e {
        DirectoryError::NotFound(_) => not_found(),
        DirectoryError::Conflict(m) => HttpError::new(
            StatusCode::CONFLICT,
            ErrorCode::Unsupported,
            format!("{m} already exists"),
        ),
        DirectoryError::Invalid(m) => HttpError::bad_request(ErrorCode::Unsupported, m),
        DirectoryError::Backend(m) => {
            tracing::error!(error = %m, "directory failed");
            HttpError::internal()
        }
    }
}

/// Authenticates, checks the scope, and runs `f` on the blocking pool.
async fn with_caller<T, F>(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    scope: TokenScope,
    f: F,
) -> Result<T, HttpError>
where
    F: FnOnce(&dyn Directory, &Caller) -> Result<T, HttpError> + Send + 'static,
    T: Send + 'static,
{
    let caller = caller_from_request(state, req).await?;
    if !caller.scopes.contains(scope) {
        return Err(HttpError::denied(format!(
            "this credential lacks the {} scope",
            scope.as_str()
        )));
    }
    let st = state.clone();
    web::block(move || f(st.directory.as_ref(), &caller))
        .await
        .map_err(|_| HttpError::internal())?
}

fn readable(
    dir: &dyn Directory,
    caller: &Caller,
    e: &EntityRef,
    access: AccessType,
) -> Result<EntityInfo, HttpError> {
    match dir.entity_access(e).map_err(backend)? {
        Some((info, acl, trashed)) if may(caller, &acl, trashed, access) => Ok(info),
        _ => Err(not_found()),
    }
}

fn tag_json(t: &TagInfo) -> serde_json::Value {
    json!({"tag": t.tag, "digest": t.digest, "media_type": t.media_type, "size": t.size,
           "pusher": t.pusher, "pushed_at": rfc3339(t.pushed_at).unwrap_or_default()})
}

fn entity_json(e: &EntityInfo) -> serde_json::Value {
    json!({"id": e.id, "kind": e.kind, "name": e.name, "created_at": rfc3339(e.created_at).unwrap_or_default()})
}

fn path_param(req: &HttpRequest) -> Result<RepoPath, HttpError> {
    let q = web::Query::<PathQuery>::from_query(req.query_string()).map_err(|_| {
        HttpError::bad_request(
            ErrorCode::NameInvalid,
            "give the repository as ?path=syn123/name",
        )
    })?;
    RepoPath::parse(&q.path)
        .map_err(|e| HttpError::bad_request(ErrorCode::NameInvalid, e.to_string()))
}

#[derive(Deserialize)]
struct PathQuery {
    path: String,
}

#[derive(Deserialize)]
struct TagsQuery {
    sort: Option<String>,
    offset: Option<usize>,
    limit: Option<usize>,
}

#[derive(Deserialize)]
struct HistoryQuery {
    tag: String,
}

fn project_id(raw: &str) -> Result<EntityId, HttpError> {
    raw.parse().map_err(|_| {
        HttpError::bad_request(ErrorCode::NameInvalid, "project id must look like syn123")
    })
}

async fn project_repositories(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let id = project_id(&id)?;
    let out = with_caller(&state, &req, TokenScope::View, move |dir, caller| {
        let info = readable(dir, caller, &EntityRef::Id(id), AccessType::Read)?;
        if info.kind != EntityKind::Project {
            return Err(not_found());
        }
        let repos = dir.list_repositories(id).map_err(backend)?;
        Ok(json!({"project": id, "repositories": repos.iter().map(entity_json).collect::<Vec<_>>()}))
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

async fn repository(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let path = path_param(&req)?;
    let out = with_caller(&state, &req, TokenScope::View, move |dir, caller| {
        let info = readable(dir, caller, &EntityRef::Repository(path), AccessType::Read)?;
        Ok(entity_json(&info))
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

async fn tags(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, HttpError> {
    let path = path_param(&req)?;
    let q = web::Query::<TagsQuery>::from_query(req.query_string()).map_err(|_| {
        HttpError::bad_request(
            ErrorCode::Unsupported,
            "offset and limit must be non-negative integers",
        )
    })?;
    let sort = match q.sort.as_deref() {
        None | Some("tag") => TagSort::Tag,
        Some("time") => TagSort::Time,
        Some(_) => {
            return Err(HttpError::bad_request(
                ErrorCode::Unsupported,
                "sort must be tag or time",
            ))
        }
    };
    let offset = q.offset.unwrap_or(0);
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > 1000 {
        return Err(HttpError::bad_request(
            ErrorCode::Unsupported,
            "limit must be between 1 and 1000",
        ));
    }
    let out = with_caller(&state, &req, TokenScope::View, move |dir, caller| {
        readable(
            dir,
            caller,
            &EntityRef::Repository(path.clone()),
            AccessType::Read,
        )?;
        let (tags, total) = dir.list_tags(&path, sort, offset, limit).map_err(backend)?;
        Ok(
            json!({"repository": path.as_str(), "total": total, "offset": offset, "limit": limit,
                  "tags": tags.iter().map(tag_json).collect::<Vec<_>>()}),
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

async fn history(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, HttpError> {
    let path = path_param(&req)?;
    let q = web::Query::<HistoryQuery>::from_query(req.query_string())
        .map_err(|_| HttpError::bad_request(ErrorCode::TagInvalid, "give the tag as ?tag=NAME"))?;
    let tag = q.into_inner().tag;
    let out = with_caller(&state, &req, TokenScope::View, move |dir, caller| {
        readable(dir, caller, &EntityRef::Repository(path.clone()), AccessType::Read)?;
        let commits = dir.tag_history(&path, &tag).map_err(backend)?;
        Ok(json!({"repository": path.as_str(), "tag": tag, "commits": commits.iter().map(tag_json).collect::<Vec<_>>()}))
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Deserialize)]
struct ExternalBody {
    name: String,
}

async fn add_external(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<ExternalBody>,
) -> Result<HttpResponse, HttpError> {
    let id = project_id(&id)?;
    let name = parse_external(&body.name)
        .map_err(|e| HttpError::bad_request(ErrorCode::NameInvalid, e.to_string()))?;
    if let Some(h) = &name.host {
        if state
            .settings
            .notifications
            .registry_hosts
            .iter()
            .any(|o| o.eq_ignore_ascii_case(h))
        {
            return Err(HttpError::bad_request(
                ErrorCode::NameInvalid,
                format!(
                    "{h} is this registry: push there instead of recording an external repository"
                ),
            ));
        }
    }
    let out = with_caller(&state, &req, TokenScope::Modify, move |dir, caller| {
        readable(dir, caller, &EntityRef::Id(id), AccessType::Update)?;
        let info = dir
            .add_external_repository(id, &name.full())
            .map_err(backend)?;
        Ok(entity_json(&info))
    })
    .await?;
    Ok(HttpResponse::Created().json(out))
}

async fn delete_external(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let id = project_id(&id)?;
    with_caller(&state, &req, TokenScope::Modify, move |dir, caller| {
        let info = readable(dir, caller, &EntityRef::Id(id), AccessType::Read)?;
        let parent = match (info.kind, info.parent) {
            (EntityKind::ExternalRepository, Some(p)) => p,
            _ => return Err(not_found()),
        };
        readable(dir, caller, &EntityRef::Id(parent), AccessType::Update)?;
        dir.delete_external_repository(id).map_err(backend)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
