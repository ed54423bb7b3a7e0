//! Signing in and out: `/ui/` sends a browser where it belongs, `/ui/signin` checks a
//! user name (or e-mail) and password with the token endpoint's own authenticator (the
//! same failed-login limits, 429, and password-check admission, 503), and starts a
//! session; `/ui/signout` ends it. Only a password signs in here: an access token is a
//! credential for tools, not a password. The configured identity providers are offered
//! beside the form (`pages::oidc`), each said to be unreachable when it is.

use std::time::Instant;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};

use crate::app::authenticate::{AuthError, Pace};
use crate::app::operations::SignOut;
use crate::domain::authn::Method;
use crate::infra::front::AppState;
use crate::infra::web::errors::{see_other, WebError};
use crate::infra::web::gate::Form;
use crate::infra::web::pages::oidc::{self, Choice};
use crate::infra::web::session::{random_token, NewSession};
use crate::infra::web::{cookies, csrf, layout, read_form, secure_cookies, sessions, visit};

/// How long a sign-in form stays usable (its double-submit cookie's lifetime).
const SIGNIN_FORM_SECS: u64 = 3600;
const WRONG: &str = "Wrong user name or password.";

/// `/ui/`: to the token page when signed in, else to the sign-in page.
pub async fn home(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, WebError> {
    match visit(&state, &req).await {
        Ok(_) => Ok(see_other("/ui/tokens")),
        Err(WebError::SignIn) => Ok(see_other("/ui/signin")),
        Err(e) => Err(e),
    }
}

fn signin_page(token: &str, user: &str, problem: Option<&str>, providers: &[Choice]) -> Markup {
    let body = html! {
        h1 { "Sign in" }
        @if let Some(problem) = problem { p.error role="alert" { (problem) } }
        (oidc::buttons(providers))
        form.stack method="post" action="/ui/signin" {
            (layout::csrf_field(token))
            label for="user" { "User name or e-mail" }
            input #user type="text" name="user" value=(user) autocomplete="username"
                autocapitalize="none" spellcheck="false" required autofocus;
            label for="password" { "Password" }
            input #password type="password" name="password" autocomplete="current-password" required;
            div { button type="submit" { "Sign in" } }
        }
        p.muted { "Use your password here. Access tokens are for docker and other tools." }
    };
    layout::page(None, "Sign in", body)
}

/// The sign-in form, with a fresh double-submit token in a hidden field and a cookie.
pub async fn form(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, WebError> {
    match visit(&state, &req).await {
        Ok(_) => return Ok(see_other("/ui/tokens")),
        Err(WebError::SignIn) => {}
        Err(e) => return Err(e),
    }
    let token = random_token();
    let cookie = cookies::set(
        csrf::SIGNIN_COOKIE,
        &token,
        Some(SIGNIN_FORM_SECS),
        secure_cookies(&state),
    );
    Ok(layout::respond(
        HttpResponse::Ok().insert_header((header::SET_COOKIE, cookie)),
        signin_page(&token, "", None, &oidc::choices(&state).await),
    ))
}

/// What a sign-in attempt came to.
enum Outcome {
    SignedIn(NewSession),
    Wrong,
    Refused(WebError),
}

/// Checks the form's credentials and starts a session.
pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, WebError> {
    crate::infra::front::checks::same_origin(&req)?;
    let params = read_form(&state, &req, payload).await?;
    let Some(token) = cookies::get(&req, csrf::SIGNIN_COOKIE).map(str::to_string) else {
        return Err(WebError::csrf());
    };
    if !csrf::matches(&token, params.get(csrf::FIELD)) {
        tracing::warn!("web sign-in refused: CSRF token missing or wrong");
        return Err(WebError::csrf());
    }
    let user = params.owned("user").unwrap_or_default();
    let Some(password) = params.owned("password") else {
        return Ok(layout::respond(
            &mut HttpResponse::BadRequest(),
            signin_page(
                &token,
                &user,
                Some("Give a user name and a password."),
                &oidc::choices(&state).await,
            ),
        ));
    };
    let address = crate::infra::web::client_ip(&state, &req);
    let st = state.clone();
    let name = user.clone();
    let outcome = web::block(move || {
        let auth = st.tokens.authenticator();
        let who = match auth.basic(&name, &password, address, Pace::MayBlock) {
            Ok(who) if who.method == Method::Password => who,
            Ok(_) | Err(AuthError::Refused(_)) => return Outcome::Wrong,
            Err(e) => return Outcome::Refused(refusal(e)),
        };
        let Some(user) = who.caller.user else {
            return Outcome::Wrong;
        };
        match auth.session_caller(&user.name) {
            Ok((_, stamp)) => Outcome::SignedIn(NewSession {
                user_id: user.id,
                user: user.name,
                stamp,
            }),
            Err(AuthError::Refused(_)) => Outcome::Wrong,
            Err(e) => Outcome::Refused(refusal(e)),
        }
    })
    .await
    .map_err(|_| WebError::internal())?;
    match outcome {
        Outcome::SignedIn(who) => {
            tracing::info!(user = %who.user, client_ip = %address, "web sign-in");
            let (id, _) = sessions().create(who, Instant::now());
            let secure = secure_cookies(&state);
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/ui/tokens"))
                .append_header((
                    header::SET_COOKIE,
                    cookies::set(cookies::SESSION, &id, None, secure),
                ))
                .append_header((
                    header::SET_COOKIE,
                    cookies::clear(csrf::SIGNIN_COOKIE, secure),
                ))
                .finish())
        }
        Outcome::Wrong => Ok(layout::respond(
            &mut HttpResponse::Unauthorized(),
            signin_page(&token, &user, Some(WRONG), &oidc::choices(&state).await),
        )),
        Outcome::Refused(WebError::Page {
            status,
            message,
            retry_after,
        }) => {
            let mut resp = HttpResponse::build(status);
            if let Some(secs) = retry_after {
                resp.insert_header((header::RETRY_AFTER, secs.to_string()));
            }
            Ok(layout::respond(
                &mut resp,
                signin_page(&token, &user, Some(&message), &oidc::choices(&state).await),
            ))
        }
        Outcome::Refused(e) => Err(e),
    }
}

/// The refusals that are not a wrong password: too many failures (429), too many
/// password checks at once (503), a failure of ours (500).
fn refusal(e: AuthError) -> WebError {
    match e {
        AuthError::Limited(l) => WebError::too_many(l.to_string(), l.retry_after),
        AuthError::Busy(_) => WebError::Page {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: "too many sign-ins in progress, retry shortly".into(),
            retry_after: Some(1),
        },
        e => {
            tracing::error!(error = %e, "web sign-in failed");
            WebError::internal()
        }
    }
}

/// Ends the session (its form must carry the session's token).
pub async fn signout(form: Form<SignOut>, req: HttpRequest) -> Result<HttpResponse, WebError> {
    let (visit, state) = (&form.page.visit, &form.page.state);
    if let Some(cookie) = cookies::get(&req, cookies::SESSION) {
        sessions().end(cookie);
    }
    tracing::info!(user = %visit.user(), "web sign-out");
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/ui/signin"))
        .insert_header((
            header::SET_COOKIE,
            cookies::clear(cookies::SESSION, secure_cookies(state)),
        ))
        .finish())
}
