//! My docker logins (`/ui/logins`): the refresh tokens `docker login` keeps, listed
//! (`self_service::list_logins`) and ended one by one (`self_service::revoke_login`).

use actix_web::{HttpRequest, HttpResponse};
use maud::html;

use super::tokens::id_param;
use crate::app::operations::{ListOwnLogins, RevokeOwnLogin};
use crate::app::self_service;
use crate::infra::front::admitted::Admitted;
use crate::infra::web::errors::{see_other, WebError};
use crate::infra::web::gate::{Form, Page};
use crate::infra::web::layout;

pub async fn list(page: Page<ListOwnLogins>) -> Result<HttpResponse, WebError> {
    let logins = page
        .run(|st, permit| self_service::list_logins(st.directory.as_ref(), permit, st.clock.now()))
        .await?;
    let visit = &page.visit;
    let body = html! {
        h1 { "My docker logins" }
        p { "Each " code { "docker login" } " (or other client) that signed in with your "
            "password or a token keeps a login here until it expires or you end it." }
        @if logins.is_empty() {
            p.muted { "No docker login is in force." }
        } @else {
            div.table { table {
                thead { tr { th { "Client" } th { "Service" } th { "Scopes" } th { "Created" }
                             th { "Last used" } th { "Expires" } th { span.muted { "Action" } } } }
                tbody {
                    @for l in &logins {
                        tr {
                            td { (l.client_id) }
                            td { (l.service) }
                            td { (l.scopes) }
                            td { (layout::when(Some(l.created_at))) }
                            td { (layout::when(l.last_used_at)) }
                            td { (layout::when(l.expires_at)) }
                            td {
                                form method="post" action={ "/ui/logins/" (l.id) "/revoke" } {
                                    (layout::csrf_field(&visit.session.csrf))
                                    button.danger type="submit" aria-label={ "End login " (l.client_id) } { "End" }
                                }
                            }
                        }
                    }
                }
            } }
        }
    };
    Ok(page.show("My docker logins", body))
}

pub async fn revoke(
    form: Form<RevokeOwnLogin>,
    req: HttpRequest,
) -> Result<HttpResponse, WebError> {
    let id = id_param(&req, "login")?;
    form.page
        .change(move |dir, permit, now| self_service::revoke_login(dir, permit, id, now))
        .await?;
    Ok(see_other("/ui/logins"))
}
