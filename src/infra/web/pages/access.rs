//! Access requests in the browser: on an entity's page (`/ui/access?entity=…`) a user
//! who sees it but cannot download asks for access, and its managers find the inbox
//! there with approve and deny buttons; `/ui/requests` lists one's own requests. The
//! rules are `app::access_requests`'.

use actix_web::{HttpRequest, HttpResponse};
use maud::{html, Markup};

use super::query;
use super::tokens::id_param;
use crate::app::operations::{
    AccessRequestInbox, DecideAccessRequest, FileAccessRequest, MyAccessRequests, ShowAccessPage,
};
use crate::app::{access_requests, AppError};
use crate::domain::model::{AccessRequest, EntityRef};
use crate::infra::front::admitted::Admitted;
use crate::infra::web::errors::{see_other, WebError};
use crate::infra::web::gate::{Form, Page};
use crate::infra::web::layout;

fn entity_of(raw: Option<&str>) -> Result<EntityRef, WebError> {
    raw.unwrap_or_default()
        .parse()
        .map_err(|e: String| WebError::bad_request(format!("entity: {e}")))
}

fn page_of(raw: &str) -> String {
    format!("/ui/access?{}", query(&[("entity", raw)]))
}

/// The entity's access page: the request form, and for its managers the inbox.
pub async fn show(page: Page<ShowAccessPage>, req: HttpRequest) -> Result<HttpResponse, WebError> {
    let visit = &page.visit;
    let params = crate::infra::front::form::Params::parse(req.query_string().as_bytes());
    let raw = params.get("entity").unwrap_or_default().to_string();
    let entity = entity_of(Some(&raw))?;
    let inbox = page
        .run(move |st, permit| {
            let inbox = permit.also::<AccessRequestInbox>()?;
            match access_requests::inbox(st.directory.as_ref(), &inbox, &entity, false) {
                Ok(list) => Ok(Some(list)),
                // Not a manager (or it is hidden): only the request form.
                Err(AppError::Denied(_) | AppError::NotFound(_) | AppError::Hidden) => Ok(None),
                Err(e) => Err(e),
            }
        })
        .await?;
    let csrf = &visit.session.csrf;
    let body = html! {
        h1 { "Access to " (raw) }
        h2 { "Request access" }
        p { "Ask the managers of " code { (raw) } " for READ and DOWNLOAD (to pull)." }
        form.stack method="post" action="/ui/access" {
            (layout::csrf_field(csrf))
            input type="hidden" name="entity" value=(raw);
            label for="message" { "Why you need it" }
            input #message type="text" name="message" required maxlength="2000";
            div { button type="submit" { "Request access" } }
        }
        @if let Some(list) = &inbox {
            h2 { "Open requests (" (list.len()) ")" }
            @if list.is_empty() { p.muted { "None." } }
            @for r in list { (decision_row(r, csrf, &raw)) }
        }
    };
    Ok(page.show("Access", body))
}

fn decision_row(r: &AccessRequest, csrf: &str, raw: &str) -> Markup {
    html! {
        section.request {
            p { strong { (r.requester_name) } " asks (" (layout::when(Some(r.created_at))) "): " (r.message) }
            form method="post" action={ "/ui/access/" (r.id) "/approve" } {
                (layout::csrf_field(csrf))
                input type="hidden" name="entity" value=(raw);
                button type="submit" aria-label={ "Approve " (r.requester_name) } { "Approve" }
            }
            form method="post" action={ "/ui/access/" (r.id) "/deny" } {
                (layout::csrf_field(csrf))
                input type="hidden" name="entity" value=(raw);
                label for={ "reason-" (r.id) } { "Reason" }
                input id={ "reason-" (r.id) } type="text" name="reason" required maxlength="2000";
                button.danger type="submit" aria-label={ "Deny " (r.requester_name) } { "Deny" }
            }
        }
    }
}

/// Files a request, then shows the caller's requests.
pub async fn file(form: Form<FileAccessRequest>) -> Result<HttpResponse, WebError> {
    let Form { page, params } = form;
    let entity = entity_of(params.get("entity"))?;
    let message = params.get("message").unwrap_or_default().to_string();
    page.change(move |dir, permit, now| access_requests::file(dir, permit, &entity, &message, now))
        .await?;
    Ok(see_other("/ui/requests"))
}

/// Approves (`APPROVE`) or denies request `{id}`, then back to the entity's page.
pub async fn decide<const APPROVE: bool>(
    form: Form<DecideAccessRequest>,
    req: HttpRequest,
) -> Result<HttpResponse, WebError> {
    let id = id_param(&req, "access request")?;
    let Form { page, params } = form;
    let back = page_of(params.get("entity").unwrap_or_default());
    let reason = params.get("reason").unwrap_or_default().to_string();
    page.change(move |dir, permit, now| {
        access_requests::decide(dir, permit, id, APPROVE, &reason, now)
    })
    .await?;
    Ok(see_other(&back))
}

/// `/ui/requests`: the caller's own requests and where they stand.
pub async fn mine(page: Page<MyAccessRequests>) -> Result<HttpResponse, WebError> {
    let list = page.read(access_requests::mine).await?;
    let body = html! {
        h1 { "My access requests" }
        @if list.is_empty() {
            p.muted { "You have not asked for access to anything." }
        } @else {
            div.table { table {
                thead { tr { th { "Entity" } th { "Asked" } th { "State" } th { "Reason" } th { "Decided by" } } }
                tbody { @for r in &list { tr {
                    td { code { (r.entity_name) } }
                    td { (layout::when(Some(r.created_at))) }
                    td { (r.state.as_str()) }
                    td { (r.reason.as_deref().unwrap_or("")) }
                    td { (r.decided_by.as_deref().unwrap_or("")) }
                } } }
            } }
        }
    };
    Ok(page.show("My access requests", body))
}
