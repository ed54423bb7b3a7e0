//! Sharing settings of a project or repository (`/ui/sharing?entity=syn123` or
//! `?entity=syn123/tool`): the entries that apply (`sharing::show`), and for those the
//! rules let change them, a form that replaces them (`sharing::replace`): one row per
//! principal with a checkbox per access type; a row with no principal or no box ticked
//! is dropped. A refusal is the use case's own message.

use actix_web::{HttpRequest, HttpResponse};
use maud::{html, Markup};

use super::query;
use crate::app::administer::sharing::{self, AclView};
use crate::app::operations::{ReplaceSharing, ShowSharing};
use crate::domain::model::{AccessSet, EntityRef, PrincipalRef};
use crate::infra::front::admitted::Admitted;
use crate::infra::front::form::Params;
use crate::infra::web::errors::{see_other, WebError};
use crate::infra::web::gate::{Form, Page};
use crate::infra::web::{layout, Visit};

/// Empty rows offered for new entries.
const BLANK_ROWS: usize = 3;
/// Most rows a form may send.
const MAX_ROWS: usize = 500;

fn entity_param(raw: Option<&str>) -> Result<EntityRef, WebError> {
    raw.ok_or_else(|| WebError::bad_request("give the entity as ?entity=syn123 or syn123/name"))?
        .parse()
        .map_err(|e: String| WebError::bad_request(format!("entity: {e}")))
}

fn row(i: usize, principal: &str, access: AccessSet) -> Markup {
    let who = if principal.is_empty() {
        "new entry"
    } else {
        principal
    };
    html! {
        tr {
            td {
                input type="text" name={ "principal_" (i) } value=(principal)
                    aria-label={ "Principal of row " (i + 1) } placeholder="alice, team:NAME, authenticated, public";
            }
            @for (name, flag) in AccessSet::all().iter_names() {
                td {
                    input type="checkbox" name={ "access_" (i) } value=(name)
                        checked[access.contains(flag)] aria-label={ (name) " for " (who) };
                }
            }
        }
    }
}

fn edit_form(visit: &Visit, entity: &str, view: &AclView) -> Markup {
    let rows = view.entries.len() + BLANK_ROWS;
    html! {
        h2 { "Change" }
        p { "Untick every box of a row (or clear its principal) to remove it. Saving "
            @if view.inherited_from.is_some() { "gives this repository its own settings instead of its project's, and " }
            "replaces all entries at once; someone must keep CHANGE_PERMISSIONS." }
        form method="post" action="/ui/sharing" {
            (layout::csrf_field(&visit.session.csrf))
            input type="hidden" name="entity" value=(entity);
            input type="hidden" name="rows" value=(rows);
            div.table { table #acl-form {
                thead { tr { th { "Principal" } @for (name, _) in AccessSet::all().iter_names() { th { (name) } } } }
                tbody {
                    @for (i, (p, a)) in view.entries.iter().enumerate() { (row(i, &p.to_string(), *a)) }
                    @for i in view.entries.len()..rows { (row(i, "", AccessSet::empty())) }
                }
            } }
            button type="submit" { "Save sharing settings" }
        }
    }
}

pub async fn show(page: Page<ShowSharing>, req: HttpRequest) -> Result<HttpResponse, WebError> {
    let visit = &page.visit;
    let params = Params::parse(req.query_string().as_bytes());
    let entity = entity_param(params.get("entity"))?;
    let saved = params.get("saved").is_some();
    let e = entity.clone();
    let (view, may_change) = page
        .run(move |st, permit| {
            let store = st.directory.as_ref();
            let view = sharing::show(store, permit, &e)?;
            // Whether to offer the form at all: the change's own checks, asked ahead.
            let change = permit.also::<ReplaceSharing>();
            let may_change = st.upstream.is_none()
                && change.is_ok_and(|change| {
                    store
                        .entity_facts(&e)
                        .ok()
                        .flatten()
                        .is_some_and(|facts| change.require_entity(&facts).is_ok())
                });
            Ok((view, may_change))
        })
        .await?;
    let entity_text = entity.to_string();
    let title = format!("Sharing settings of {}", view.entity);
    let body = html! {
        h1 { (title) }
        @if saved { p.notice role="status" { "Saved." } }
        @if let Some(project) = view.inherited_from {
            p { "This repository has no settings of its own: those of project "
                a href={ "/ui/sharing?" (query(&[("entity", &project.to_string())])) } { (project) }
                " apply." }
        }
        div.table { table #acl {
            thead { tr { th { "Principal" } th { "Access" } } }
            tbody {
                @for (p, a) in &view.entries { tr { td { (p.to_string()) } td { (a) } } }
            }
        } }
        @if let EntityRef::Id(project) = &entity {
            p { a href={ "/ui/trust-policies?" (query(&[("project", &project.to_string())])) } {
                "Trust policies: CI jobs that pull or push with their own OIDC token" } }
        }
        @if may_change {
            (edit_form(visit, &entity_text, &view))
        } @else {
            p.muted { "You may not change these sharing settings." }
        }
    };
    Ok(page.show(&title, body))
}

/// The rows of the form as entries.
fn entries(params: &Params) -> Result<Vec<(PrincipalRef, AccessSet)>, WebError> {
    let rows: usize = params
        .get("rows")
        .and_then(|r| r.parse().ok())
        .filter(|r| *r <= MAX_ROWS)
        .ok_or_else(|| WebError::bad_request(format!("rows: a number up to {MAX_ROWS}")))?;
    let mut entries = Vec::new();
    for i in 0..rows {
        let Some(principal) = params.get(&format!("principal_{i}")) else {
            continue;
        };
        let access = params.all(&format!("access_{i}"));
        if access.is_empty() {
            continue;
        }
        let bad = |m: String| WebError::bad_request(format!("row {}: {m}", i + 1));
        let principal: PrincipalRef = principal.parse().map_err(bad)?;
        let access = AccessSet::parse_list(&access.join(",")).map_err(|e| bad(e.to_string()))?;
        entries.push((principal, access));
    }
    Ok(entries)
}

pub async fn replace(form: Form<ReplaceSharing>) -> Result<HttpResponse, WebError> {
    let Form { page, params } = form;
    let entity = entity_param(params.get("entity"))?;
    let entries = entries(&params)?;
    let e = entity.clone();
    page.change(move |dir, permit, now| sharing::replace(dir, permit, &e, &entries, now))
        .await?;
    Ok(see_other(&format!(
        "/ui/sharing?{}",
        query(&[("entity", &entity.to_string()), ("saved", "1")])
    )))
}
