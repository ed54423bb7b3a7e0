//! Projects (`/ui/projects`): those the user may READ (`projects::list_visible`), a form
//! to create one owned by the user (`projects::add_own`), and a project's repositories
//! (`/ui/projects/{id}`, `browse::project_repositories`).

use actix_web::{HttpRequest, HttpResponse};
use maud::html;

use super::query;
use crate::app::administer::projects;
use crate::app::browse;
use crate::app::operations::{CreateOwnProject, ListProjectRepositories, ListProjects};
use crate::domain::model::{EntityId, EntityKind, EntityRef};
use crate::infra::front::admitted::Admitted;
use crate::infra::web::errors::{see_other, WebError};
use crate::infra::web::gate::{Form, Page};
use crate::infra::web::layout;

pub async fn list(page: Page<ListProjects>) -> Result<HttpResponse, WebError> {
    let list = page.read(projects::list_visible).await?;
    let visit = &page.visit;
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
    Ok(page.show("Projects", body))
}

pub async fn create(form: Form<CreateOwnProject>) -> Result<HttpResponse, WebError> {
    let name = form.params.owned("name").unwrap_or_default();
    let id = form
        .page
        .change(move |dir, permit, now| projects::add_own(dir, permit, &name, now))
        .await?;
    Ok(see_other(&format!("/ui/projects/{id}")))
}

pub async fn show(
    page: Page<ListProjectRepositories>,
    req: HttpRequest,
) -> Result<HttpResponse, WebError> {
    let id: EntityId = req
        .match_info()
        .get("id")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| WebError::bad_request("a project id looks like syn123"))?;
    let (name, repos) = page
        .run(move |st, permit| {
            let repos = browse::project_repositories(st.directory.as_ref(), permit, id)?;
            let facts = browse::visible(st.directory.as_ref(), permit, &EntityRef::Id(id))?;
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
    Ok(page.show(&title, body))
}
