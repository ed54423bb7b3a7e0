//! My account (`/ui/account`): who I am (`self_service::me`) and a password change
//! (`self_service::change_password`, which checks the current password with the same
//! failed-login limits and ends every `docker login`). A new password ends every other
//! web session of the user (their password stamp no longer matches); this browser gets
//! a new session.

use std::time::Instant;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use maud::html;

use crate::app::operations::{ChangeOwnPassword, ShowMe};
use crate::app::self_service::{self, PasswordChange};
use crate::infra::front::admitted::Admitted;
use crate::infra::web::errors::WebError;
use crate::infra::web::gate::{Form, Page};
use crate::infra::web::session::NewSession;
use crate::infra::web::{cookies, layout, secure_cookies, sessions};

pub async fn show(page: Page<ShowMe>) -> Result<HttpResponse, WebError> {
    let me = page.read(self_service::me).await?;
    let visit = &page.visit;
    let body = html! {
        h1 { "My account" }
        dl {
            dt { "User name" } dd { (me.user.name) }
            dt { "E-mail" } dd { (me.user.email.as_deref().unwrap_or("none")) }
            dt { "Certified (may push new repositories)" } dd { @if me.user.certified { "yes" } @else { "no" } }
            dt { "Admin" } dd { @if me.user.admin { "yes" } @else { "no" } }
        }
        h2 { "Change my password" }
        p { "Every " code { "docker login" } " made with the old password ends, and so do your other browser sessions." }
        form.stack method="post" action="/ui/account/password" {
            (layout::csrf_field(&visit.session.csrf))
            label for="current" { "Current password" }
            input #current type="password" name="current_password" autocomplete="current-password" required;
            label for="new" { "New password (8 to 1024 bytes)" }
            input #new type="password" name="new_password" autocomplete="new-password" minlength="8" required;
            label for="confirm" { "New password again" }
            input #confirm type="password" name="confirm_password" autocomplete="new-password" minlength="8" required;
            label { input type="checkbox" name="revoke_tokens" value="yes"; " Also revoke all my access tokens" }
            div { button type="submit" { "Change password" } }
        }
    };
    Ok(page.show("My account", body))
}

pub async fn password(
    form: Form<ChangeOwnPassword>,
    req: HttpRequest,
) -> Result<HttpResponse, WebError> {
    let Form { page, params } = form;
    let (visit, state) = (&page.visit, &page.state);
    let current = params.owned("current_password").unwrap_or_default();
    let new = params.owned("new_password").unwrap_or_default();
    if params.get("confirm_password") != Some(new.as_str()) {
        return Err(WebError::bad_request(
            "new_password: the two new passwords differ",
        ));
    }
    let revoke_tokens = params.get("revoke_tokens").is_some();
    let address = crate::infra::web::client_ip(state, &req);
    let (done, stamp) = page
        .run(move |st, permit| {
            let change = PasswordChange {
                current: &current,
                new: &new,
                revoke_tokens,
                address,
            };
            let done = self_service::change_password(
                st.directory.as_ref(),
                st.tokens.authenticator(),
                permit,
                change,
                st.clock.now(),
            )?;
            let stamp = st
                .tokens
                .authenticator()
                .session_caller(&done.user.name)
                .map(|(_, stamp)| stamp)
                .map_err(|e| crate::app::AppError::Backend(e.to_string()))?;
            Ok((done, stamp))
        })
        .await?;
    // This browser goes on in a new session; the old one, like every other, is over.
    if let Some(old) = cookies::get(&req, cookies::SESSION) {
        sessions().end(old);
    }
    let (id, session) = sessions().create(
        NewSession {
            user_id: visit.session.user_id,
            user: visit.session.user.clone(),
            stamp,
        },
        Instant::now(),
    );
    let nav = crate::infra::web::layout::Nav {
        csrf: &session.csrf,
        ..visit.nav()
    };
    let body = html! {
        h1 { "Password changed" }
        p.notice role="status" {
            "Your password is changed. Docker logins ended: " (done.refresh_tokens_ended)
            ". Access tokens revoked: " (done.access_tokens_ended) "."
        }
        p { a href="/ui/account" { "Back to my account" } }
    };
    Ok(layout::respond(
        HttpResponse::Ok().insert_header((
            header::SET_COOKIE,
            cookies::set(cookies::SESSION, &id, None, secure_cookies(state)),
        )),
        layout::page(Some(&nav), "Password changed", body),
    ))
}
