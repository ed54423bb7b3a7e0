//! The admins' list of users (`/ui/admin/users`, `users::list`): anyone else gets the
//! use case's refusal, a 403 page.

use actix_web::{web, HttpRequest, HttpResponse};
use maud::html;

use crate::app::administer::users;
use crate::app::Actor;
use crate::infra::http::AppState;
use crate::infra::web::errors::WebError;
use crate::infra::web::{layout, run, visit};

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

pub async fn users(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, WebError> {
    let visit = visit(&state, &req).await?;
    let list = run(&state, &visit, |st, caller| {
        users::list(st.directory.as_ref(), &Actor::Caller(caller.clone()))
    })
    .await?;
    let body = html! {
        h1 { "Users" }
        p.muted { "Users are added and changed with the " code { "regauth user" } " command." }
        div.table { table #users {
            thead { tr { th { "Name" } th { "E-mail" } th { "Certified" } th { "Admin" } th { "Disabled" } } }
            tbody {
                @for u in &list {
                    tr {
                        td { (u.name) }
                        td { (u.email.as_deref().unwrap_or("")) }
                        td { (yes(u.certified)) }
                        td { (yes(u.admin)) }
                        td { (yes(u.disabled)) }
                    }
                }
            }
        } }
    };
    Ok(layout::ok(layout::page(Some(&visit.nav()), "Users", body)))
}
