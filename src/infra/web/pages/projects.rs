//! Projects (`/ui/projects`): those the user may READ (`projects::list_visible`), a form
//! to create one owned by the user (`projects::add_own`), and a project's repositories
//! (`/ui/projects/{id}`, `browse::project_repositories`).

use actix_web::{web, HttpRequest, HttpResponse};
use maud::html;

use super::query;
use crate::app::administer::projects;
use crate::app::{browse, Actor};
use crate::domain::model::{AccessSet, EntityId, EntityKind, EntityRef};
use crate::infra::http::AppState;
use crate::infra::web::errors::{see_other, WebError};
use crate::infra::web::{form, layout, run, visit};

pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, WebError> {
    let visit = visit(&state, &req).await?;
    let list = run(&state, &visit, |st, caller| {
        projects::list_visible(st.directory.as_ref(), &Actor::Caller(caller.clone()))
    })
    .await?;
    let body = html! {
        h1 { "Projects" }
        @if list.is_empty() {
            p.muted { "No project is shared with you yet." }
        } @else {
            div.table { table {
                thead { tr { th { "Id" } th { "Name" } th { "Created" } } }
                tbody {
                    @for p in &list {
                        tr {
                            td { a href={ "/ui/projects/" (p.id) } { (p.id) } }
                            td { a href={ "/ui/projects/" (p.id) } { (p.name) } }
                            td { (layout::when(Some(p.created_at))) }
                        }
                    }
                }
            } }
        }
        h2 { "New project" }
        p { "You will own it: you may push to it and share it." }
        form.stack method="post" action="/ui/projects" {
            (layout::csrf_field(&visit.session.csrf))
            label for="name" { "Name" }
            input #name type="text" name="name" required maxlength="256";
            div { button type="submit" { "Create project" } }
        }
    };
    Ok(layout::ok(layout::page(
        Some(&visit.nav()),
        "Projects",
        body,
    )))
}

pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, WebError> {
    let visit = visit(&state, &req).await?;
    let params = form(&state, &req, payload, &visit).await?;
    let name = params.owned("name").unwrap_or_default();
    let id = run(&state, &visit, move |st, caller| {
        projects::add_own(st.directory.as_ref(), caller, &name, st.clock.now())
    })
    .await?;
    Ok(see_other(&format!("/ui/projects/{id}")))
}

pub async fn show(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, WebError> {
    let visit = visit(&state, &req).await?;
    let id: EntityId = req
        .match_info()
        .get("id")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| WebError::bad_request("a project id looks like syn123"))?;
    let (name, repos) = run(&state, &visit, move |st, caller| {
        let actor = Actor::Caller(caller.clone());
        let repos = browse::project_repositories(st.directory.as_ref(), &actor, id)?;
        let entity = EntityRef::Id(id);
        let facts = browse::visible(st.directory.as_ref(), &actor, &entity, AccessSet::READ)?;
        Ok((facts.info.name, repos))
    })
    .await?;
    let title = format!("Project {name}");
    let body = html! {
        h1 { (title) }
        p { "Id " code { (id) } " · "
            a href={ "/ui/sharing?" (query(&[("entity", &id.to_string())])) } { "Sharing settings" } }
        h2 { "Repositories" }
        @if repos.is_empty() {
            p.muted { "No repository yet: push one as " code { (id) "/NAME:TAG" } "." }
        } @else {
            div.table { table {
                thead { tr { th { "Repository" } th { "Kind" } th { "Created" } } }
                tbody {
                    @for r in &repos {
                        tr {
                            td {
                                @if r.kind == EntityKind::ManagedRepository {
                                    a href={ "/ui/repository?" (query(&[("path", &r.name)])) } { (r.name) }
                                } @else {
                                    (r.name)
                                }
                            }
                            td { @if r.kind == EntityKind::ManagedRepository { "in this registry" } @else { "external record" } }
                            td { (layout::when(Some(r.created_at))) }
                        }
                    }
                }
            } }
        }
    };
    Ok(layout::ok(layout::page(Some(&visit.nav()), &title, body)))
}
