//! The admins' list of users (`/ui/admin/users`, `users::list`): anyone else is refused
//! at the door (`ListUsers` is an admin read), a 403 page. Each user's identity source
//! is shown: "local", or the identity providers its account is linked to.

use std::collections::BTreeMap;

use actix_web::HttpResponse;
use maud::html;

use crate::app::administer::users;
use crate::app::operations::ListUsers;
use crate::infra::front::admitted::Admitted;
use crate::infra::web::errors::WebError;
use crate::infra::web::gate::Page;

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

pub async fn users(page: Page<ListUsers>) -> Result<HttpResponse, WebError> {
    let (list, identities) = page
        .read(|d, permit| {
            let list = users::list(d, permit)?;
            Ok((list, d.all_identities()?))
        })
        .await?;
    let mut sources: BTreeMap<_, Vec<&str>> = BTreeMap::new();
    for i in &identities {
        let names = sources.entry(i.user).or_default();
        if !names.contains(&i.provider.as_str()) {
            names.push(&i.provider);
        }
    }
    let body = html! {
        h1 { "Users" }
        p.muted { "Users are added and changed with the " code { "regauth user" } " command." }
        div.table { table #users {
            thead { tr { th { "Name" } th { "E-mail" } th { "Certified" } th { "Admin" } th { "Disabled" } th { "Identity" } } }
            tbody {
                @for u in &list {
                    tr {
                        td { (u.name) }
                        td { (u.email.as_deref().unwrap_or("")) }
                        td { (yes(u.certified)) }
                        td { (yes(u.admin)) }
                        td { (yes(u.disabled)) }
                        td { (sources.get(&u.id).map_or("local".to_string(), |p| p.join(", "))) }
                    }
                }
            }
        } }
    };
    Ok(page.show("Users", body))
}
