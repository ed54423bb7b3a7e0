//! The read API (a project's repositories, a repository, its tags and their history),
//! projects and external repository records. Each handler is admitted by
//! `Authorized<Op>` (`gate`); the rules (READ/UPDATE, the same 404 for hidden and
//! missing) are the use cases' in `app::browse` and `app::administer`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

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
use crate::infra::http::error_body::ErrorBody;

/// Longest page of tags.
const MAX_LIMIT: usize = 1000;
const DEFAULT_LIMIT: usize = 100;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Projects to skip.
    #[param(minimum = 0)]
    offset: Option<usize>,
    /// 100 by default, at most 1000.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
}

/// A project or repository as listings show it.
#[derive(Serialize, ToSchema)]
pub struct EntityJson {
    /// `syn123`.
    id: String,
    #[schema(value_type = EntityKindName)]
    kind: crate::domain::model::EntityKind,
    /// Project name, repository path, or external image name.
    name: String,
    #[schema(format = DateTime)]
    created_at: String,
}

/// What kind of entity an id names (`domain::model::EntityKind`).
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum EntityKindName {
    Project,
    ManagedRepository,
    ExternalRepository,
}

#[derive(Serialize, ToSchema)]
pub struct ProjectsPage {
    /// Projects the caller may see, all pages.
    total: usize,
    offset: usize,
    projects: Vec<EntityJson>,
}

/// Lists the projects the caller may READ (admins: every one out of the trash), by id.
#[utoipa::path(
    get,
    path = "/api/v1/projects",
    tag = "projects",
    extensions(("x-regauth-operation" = json!("ListProjects"))),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of projects", body = ProjectsPage),
        (status = 400, description = "A bad offset or limit", body = ErrorBody),
    )
)]
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
    Ok(HttpResponse::Ok().json(ProjectsPage {
        total: projects.len(),
        offset,
        projects: shown,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewProject {
    name: String,
}

#[derive(Serialize, ToSchema)]
struct CreatedProject {
    /// `syn123`.
    id: String,
}

/// Creates a project owned by the caller.
#[utoipa::path(
    post,
    path = "/api/v1/projects",
    tag = "projects",
    extensions(("x-regauth-operation" = json!("CreateOwnProject"))),
    request_body = NewProject,
    responses(
        (status = 201, description = "Created", body = CreatedProject),
        (status = 400, description = "A bad body or name", body = ErrorBody),
        (status = 409, description = "A project of that name exists", body = ErrorBody),
    )
)]
pub async fn add_project(
    mut call: Authorized<CreateOwnProject>,
) -> Result<HttpResponse, HttpError> {
    let body: NewProject = call.json().await?;
    let id = call
        .change(move |dir, permit, now| projects::add_own(dir, permit, &body.name, now))
        .await?;
    Ok(HttpResponse::Created().json(CreatedProject { id: id.to_string() }))
}

/// A tag's current state, or one commit of its history.
#[derive(Serialize, ToSchema)]
struct TagJson {
    tag: String,
    digest: String,
    media_type: String,
    size: i64,
    pusher: String,
    #[schema(format = DateTime)]
    pushed_at: String,
}

fn tag_json(t: &TagInfo) -> TagJson {
    TagJson {
        tag: t.tag.clone(),
        digest: t.digest.clone(),
        media_type: t.media_type.clone(),
        size: t.size,
        pusher: t.pusher.clone(),
        pushed_at: rfc3339(t.pushed_at).unwrap_or_default(),
    }
}

fn entity_json(e: &EntityInfo) -> EntityJson {
    EntityJson {
        id: e.id.to_string(),
        kind: e.kind,
        name: e.name.clone(),
        created_at: rfc3339(e.created_at).unwrap_or_default(),
    }
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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct PathQuery {
    /// The repository, `syn123/name`.
    path: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct TagsQuery {
    /// `tag` (by name, the default) or `time` (newest first).
    #[param(value_type = Option<TagSortName>, inline)]
    sort: Option<String>,
    #[param(minimum = 0)]
    offset: Option<usize>,
    /// 100 by default, at most 1000.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
}

#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub(crate) enum TagSortName {
    Tag,
    Time,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct HistoryQuery {
    tag: String,
}

#[derive(Serialize, ToSchema)]
struct ProjectRepositories {
    project: String,
    repositories: Vec<EntityJson>,
}

#[derive(Serialize, ToSchema)]
struct TagsPage {
    repository: String,
    total: usize,
    offset: usize,
    limit: usize,
    tags: Vec<TagJson>,
}

#[derive(Serialize, ToSchema)]
struct TagHistoryJson {
    repository: String,
    tag: String,
    /// Newest first.
    commits: Vec<TagJson>,
}

fn entity_id(raw: &str) -> Result<EntityId, HttpError> {
    raw.parse().map_err(|_| {
        HttpError::bad_request(ErrorCode::NameInvalid, "project id must look like syn123")
    })
}

/// The repositories of a project the caller may READ.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{id}/repositories",
    tag = "projects",
    extensions(("x-regauth-operation" = json!("ListProjectRepositories"))),
    params(("id" = String, Path, description = "The project, `syn123`", pattern = "^syn[0-9]+$")),
    responses(
        (status = 200, description = "The project's repositories", body = ProjectRepositories),
        (status = 400, description = "Not a project id", body = ErrorBody),
        (status = 404, description = "No such project, or hidden from the caller", body = ErrorBody),
    )
)]
pub async fn project_repositories(
    call: Authorized<ListProjectRepositories>,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let id = entity_id(&id)?;
    let repos = call
        .read(move |dir, permit| browse::project_repositories(dir, permit, id))
        .await?;
    Ok(HttpResponse::Ok().json(ProjectRepositories {
        project: id.to_string(),
        repositories: repos.iter().map(entity_json).collect(),
    }))
}

/// A repository by path.
#[utoipa::path(
    get,
    path = "/api/v1/repository",
    tag = "repositories",
    extensions(("x-regauth-operation" = json!("ShowRepository"))),
    params(PathQuery),
    responses(
        (status = 200, description = "The repository", body = EntityJson),
        (status = 400, description = "A bad path", body = ErrorBody),
        (status = 404, description = "No such repository, or hidden from the caller", body = ErrorBody),
    )
)]
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

/// A page of a repository's tags.
#[utoipa::path(
    get,
    path = "/api/v1/repository/tags",
    tag = "repositories",
    extensions(("x-regauth-operation" = json!("ListTags"))),
    params(PathQuery, TagsQuery),
    responses(
        (status = 200, description = "A page of tags", body = TagsPage),
        (status = 400, description = "A bad path, sort, offset or limit", body = ErrorBody),
        (status = 404, description = "No such repository, or hidden from the caller", body = ErrorBody),
    )
)]
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
    Ok(HttpResponse::Ok().json(TagsPage {
        repository: shown.as_str().to_string(),
        total,
        offset,
        limit,
        tags: tags.iter().map(tag_json).collect(),
    }))
}

/// What a tag has pointed at, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/repository/history",
    tag = "repositories",
    extensions(("x-regauth-operation" = json!("TagHistory"))),
    params(PathQuery, HistoryQuery),
    responses(
        (status = 200, description = "The tag's history", body = TagHistoryJson),
        (status = 400, description = "A bad path or tag", body = ErrorBody),
        (status = 404, description = "No such repository or tag, or hidden from the caller", body = ErrorBody),
    )
)]
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
    Ok(HttpResponse::Ok().json(TagHistoryJson {
        repository: shown.as_str().to_string(),
        tag: shown_tag,
        commits: commits.iter().map(tag_json).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
struct ExternalBody {
    /// The image in another registry, `quay.io/org/tool`.
    name: String,
}

/// Records an image of another registry under a project.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{id}/external-repositories",
    tag = "projects",
    extensions(("x-regauth-operation" = json!("AddExternalRepository"))),
    params(("id" = String, Path, description = "The project, `syn123`", pattern = "^syn[0-9]+$")),
    request_body = ExternalBody,
    responses(
        (status = 201, description = "Recorded", body = EntityJson),
        (status = 400, description = "A bad id, body or name", body = ErrorBody),
        (status = 404, description = "No such project, or hidden from the caller", body = ErrorBody),
        (status = 409, description = "Already recorded", body = ErrorBody),
    )
)]
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

/// Deletes an external repository record.
#[utoipa::path(
    delete,
    path = "/api/v1/external-repositories/{id}",
    tag = "projects",
    extensions(("x-regauth-operation" = json!("DeleteExternalRepository"))),
    params(("id" = String, Path, description = "The record, `syn123`")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Not an entity id", body = ErrorBody),
        (status = 404, description = "No such record, or hidden from the caller", body = ErrorBody),
    )
)]
pub async fn delete_external(
    call: Authorized<DeleteExternalRepository>,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let id = entity_id(&id)?;
    call.change(move |dir, permit, now| external::delete(dir, permit, id, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
