//! The read API (a project's repositories, a repository, its tags and their history)
//! and external repository records. Authenticated like the token endpoint; the rules
//! (`view`/`modify` scopes, READ/UPDATE, the same 404 for hidden and missing) are the
//! use cases' in `app::browse` and `app::administer::external`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::auth::caller_from_request;
use super::errors::{ErrorCode, HttpError};
use super::AppState;
use crate::app::administer::{external, projects};
use crate::app::{browse, Actor, AppResult};
use crate::domain::authz::Caller;
use crate::domain::model::{rfc3339, EntityId, EntityInfo, TagInfo, TagSort};
use crate::domain::repo_name::RepoPath;
use serde::de::DeserializeOwned;

/// Longest page of tags.
const MAX_LIMIT: usize = 1000;
const DEFAULT_LIMIT: usize = 100;

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
    )
    .route("/api/v1/projects", web::get().to(list_projects))
    .route("/api/v1/projects", web::post().to(add_project));
}

#[derive(Deserialize)]
struct PageQuery {
    offset: Option<usize>,
    limit: Option<usize>,
}

/// `?offset=&limit=` (100 by default, at most 1000), by project id.
async fn list_projects(
    state: web::Data<AppState>,
    req: HttpRequest,
    page: web::Query<PageQuery>,
) -> Result<HttpResponse, HttpError> {
    let limit = page.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(HttpError::bad_request(
            ErrorCode::Unsupported,
            format!("limit: 1 to {MAX_LIMIT}"),
        ));
    }
    let offset = page.offset.unwrap_or(0);
    let projects = as_caller(&state, &req, |st, actor| {
        projects::list_visible(st.directory.as_ref(), actor)
    })
    .await?;
    let shown: Vec<_> = projects
        .iter()
        .skip(offset)
        .take(limit)
        .map(entity_json)
        .collect();
    Ok(HttpResponse::Ok()
        .json(json!({"total": projects.len(), "offset": offset, "projects": shown})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewProject {
    name: String,
}

async fn add_project(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    let id = with_caller_json(&state, &req, payload, |st, caller, body: NewProject| {
        projects::add_own(st.directory.as_ref(), caller, &body.name, st.clock.now())
    })
    .await?;
    Ok(HttpResponse::Created().json(json!({"id": id})))
}

/// Authenticates, then runs the use case `f` on the blocking pool as that caller.
pub(super) async fn as_caller<T, F>(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    f: F,
) -> Result<T, HttpError>
where
    F: FnOnce(&AppState, &Actor) -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    with_caller(state, req, move |st, caller| {
        f(st, &Actor::Caller(caller.clone()))
    })
    .await
}

/// Like [`as_caller`], with the request's JSON body, read only once the caller is
/// authenticated (an unauthenticated request costs no body read).
pub(super) async fn as_caller_body<B, T, F>(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    payload: web::Payload,
    f: F,
) -> Result<T, HttpError>
where
    B: DeserializeOwned + Send + 'static,
    F: FnOnce(&AppState, &Actor, B) -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    with_caller_json(state, req, payload, move |st, caller, body| {
        f(st, &Actor::Caller(caller.clone()), body)
    })
    .await
}

/// Authenticates, then runs `f` on the blocking pool for that caller.
pub(super) async fn with_caller<T, F>(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    f: F,
) -> Result<T, HttpError>
where
    F: FnOnce(&AppState, &Caller) -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    let caller = caller_from_request(state, req).await?;
    run(state, caller, f).await
}

/// Like [`with_caller`], with the request's JSON body, read after authentication.
pub(super) async fn with_caller_json<B, T, F>(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    payload: web::Payload,
    f: F,
) -> Result<T, HttpError>
where
    B: DeserializeOwned + Send + 'static,
    F: FnOnce(&AppState, &Caller, B) -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    let caller = caller_from_request(state, req).await?;
    let body: B = super::json::read(state, req, payload).await?;
    run(state, caller, move |st, c| f(st, c, body)).await
}

/// Like [`with_caller_json`] for a body that may be absent (`None`).
pub(super) async fn with_caller_optional_json<B, T, F>(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    payload: web::Payload,
    f: F,
) -> Result<T, HttpError>
where
    B: DeserializeOwned + Send + 'static,
    F: FnOnce(&AppState, &Caller, Option<B>) -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    let caller = caller_from_request(state, req).await?;
    let body: Option<B> = super::json::read_optional(state, req, payload).await?;
    run(state, caller, move |st, c| f(st, c, body)).await
}

/// Runs use case `f` on the blocking pool as `caller`.
async fn run<T, F>(state: &web::Data<AppState>, caller: Caller, f: F) -> Result<T, HttpError>
where
    F: FnOnce(&AppState, &Caller) -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    let st = state.clone();
    web::block(move || f(&st, &caller))
        .await
        .map_err(|_| HttpError::internal())?
        .map_err(HttpError::from)
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

fn entity_id(raw: &str) -> Result<EntityId, HttpError> {
    raw.parse().map_err(|_| {
        HttpError::bad_request(ErrorCode::NameInvalid, "project id must look like syn123")
    })
}

async fn project_repositories(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let id = entity_id(&id)?;
    let repos = as_caller(&state, &req, move |st, actor| {
        browse::project_repositories(st.directory.as_ref(), actor, id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(
        json!({"project": id, "repositories": repos.iter().map(entity_json).collect::<Vec<_>>()}),
    ))
}

async fn repository(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let path = path_param(&req)?;
    let info = as_caller(&state, &req, move |st, actor| {
        browse::repository(st.directory.as_ref(), actor, path)
    })
    .await?;
    Ok(HttpResponse::Ok().json(entity_json(&info)))
}

async fn tags(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, HttpError> {
    let path = path_param(&req)?;
    let q = web::Query::<TagsQuery>::from_query(req.query_string()).map_err(|_| {
        HttpError::bad_request(
            ErrorCode::Unsupported,
            "offset and limit must be non-negative integers",
        )
    })?;
    let sort: TagSort = q.sort.as_deref().unwrap_or("tag").parse().map_err(
        |e: crate::domain::model::UnknownTagSort| {
            HttpError::bad_request(ErrorCode::Unsupported, e.to_string())
        },
    )?;
    let offset = q.offset.unwrap_or(0);
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(HttpError::bad_request(
            ErrorCode::Unsupported,
            format!("limit must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let shown = path.clone();
    let (tags, total) = as_caller(&state, &req, move |st, actor| {
        browse::tags(st.directory.as_ref(), actor, &path, sort, offset, limit)
    })
    .await?;
    Ok(HttpResponse::Ok().json(
        json!({"repository": shown.as_str(), "total": total, "offset": offset, "limit": limit,
               "tags": tags.iter().map(tag_json).collect::<Vec<_>>()}),
    ))
}

async fn history(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, HttpError> {
    let path = path_param(&req)?;
    let q = web::Query::<HistoryQuery>::from_query(req.query_string())
        .map_err(|_| HttpError::bad_request(ErrorCode::TagInvalid, "give the tag as ?tag=NAME"))?;
    let tag = q.into_inner().tag;
    let (shown, shown_tag) = (path.clone(), tag.clone());
    let commits = as_caller(&state, &req, move |st, actor| {
        browse::history(st.directory.as_ref(), actor, &path, &tag)
    })
    .await?;
    Ok(HttpResponse::Ok().json(
        json!({"repository": shown.as_str(), "tag": shown_tag, "commits": commits.iter().map(tag_json).collect::<Vec<_>>()}),
    ))
}

#[derive(Deserialize)]
struct ExternalBody {
    name: String,
}

async fn add_external(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    let id = entity_id(&id)?;
    let info = as_caller_body(
        &state,
        &req,
        payload,
        move |st, actor, body: ExternalBody| {
            let hosts = &st.settings.notifications.registry_hosts;
            external::add(
                st.directory.as_ref(),
                actor,
                id,
                &body.name,
                hosts,
                st.clock.now(),
            )
        },
    )
    .await?;
    Ok(HttpResponse::Created().json(entity_json(&info)))
}
async fn delete_external(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let id = entity_id(&id)?;
    as_caller(&state, &req, move |st, actor| {
        external::delete(st.directory.as_ref(), actor, id, st.clock.now())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
