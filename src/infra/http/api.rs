//! The read API (a project's repositories, a repository, its tags and their history),
//! projects and external repository records. Each handler is admitted by
//! `Authorized<Op>` (`gate`); the rules (READ/UPDATE, the same 404 for hidden and
//! missing) are the use cases' in `app::browse` and `app::administer`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::gate::Authorized;
use crate::app::administer::{external, projects};
use crate::app::browse;
use crate::app::operations::{
    AddExternalRepository, CreateOwnProject, DeleteExternalRepository, ListProjectRepositories,
    ListProjects, ListTags, ShowRepository, TagHistory,
};
use crate::domain::model::{rfc3339, EntityId, EntityInfo, TagInfo, TagSort};
use crate::domain::repo_name::RepoPath;
use crate::infra::front::admitted::Admitted;
use crate::infra::front::errors::{ErrorCode, HttpError};

/// Longest page of tags.
const MAX_LIMIT: usize = 1000;
const DEFAULT_LIMIT: usize = 100;

#[derive(Deserialize)]
pub struct PageQuery {
    offset: Option<usize>,
    limit: Option<usize>,
}

/// `?offset=&limit=` (100 by default, at most 1000), by project id.
pub async fn list_projects(
    call: Authorized<ListProjects>,
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
    let projects = call.read(projects::list_visible).await?;
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

pub async fn add_project(
    mut call: Authorized<CreateOwnProject>,
) -> Result<HttpResponse, HttpError> {
    let body: NewProject = call.json().await?;
    let id = call
        .change(move |dir, permit, now| projects::add_own(dir, permit, &body.name, now))
        .await?;
    Ok(HttpResponse::Created().json(json!({"id": id})))
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

pub async fn project_repositories(
    call: Authorized<ListProjectRepositories>,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let id = entity_id(&id)?;
    let repos = call
        .read(move |dir, permit| browse::project_repositories(dir, permit, id))
        .await?;
    Ok(HttpResponse::Ok().json(
        json!({"project": id, "repositories": repos.iter().map(entity_json).collect::<Vec<_>>()}),
    ))
}

pub async fn repository(
    call: Authorized<ShowRepository>,
    req: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let path = path_param(&req)?;
    let info = call
        .read(move |dir, permit| browse::repository(dir, permit, path))
        .await?;
    Ok(HttpResponse::Ok().json(entity_json(&info)))
}

pub async fn tags(call: Authorized<ListTags>, req: HttpRequest) -> Result<HttpResponse, HttpError> {
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
    let (tags, total) = call
        .run(move |st, permit| {
            browse::tags(st.directory.as_ref(), permit, &path, sort, offset, limit)
        })
        .await?;
    Ok(HttpResponse::Ok().json(
        json!({"repository": shown.as_str(), "total": total, "offset": offset, "limit": limit,
               "tags": tags.iter().map(tag_json).collect::<Vec<_>>()}),
    ))
}

pub async fn history(
    call: Authorized<TagHistory>,
    req: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let path = path_param(&req)?;
    let q = web::Query::<HistoryQuery>::from_query(req.query_string())
        .map_err(|_| HttpError::bad_request(ErrorCode::TagInvalid, "give the tag as ?tag=NAME"))?;
    let tag = q.into_inner().tag;
    let (shown, shown_tag) = (path.clone(), tag.clone());
    let commits = call
        .read(move |dir, permit| browse::history(dir, permit, &path, &tag))
        .await?;
    Ok(HttpResponse::Ok().json(
        json!({"repository": shown.as_str(), "tag": shown_tag, "commits": commits.iter().map(tag_json).collect::<Vec<_>>()}),
    ))
}

#[derive(Deserialize)]
struct ExternalBody {
    name: String,
}

pub async fn add_external(
    mut call: Authorized<AddExternalRepository>,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let id = entity_id(&id)?;
    let body: ExternalBody = call.json().await?;
    let info = call
        .run(move |st, permit| {
            let hosts = &st.settings.notifications.registry_hosts;
            external::add(
                st.directory.as_ref(),
                permit,
                id,
                &body.name,
                hosts,
                st.clock.now(),
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(entity_json(&info)))
}
pub async fn delete_external(
    call: Authorized<DeleteExternalRepository>,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let id = entity_id(&id)?;
    call.change(move |dir, permit, now| external::delete(dir, permit, id, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
