//! The web pages under `/ui/`: server-rendered HTML (maud), working without JavaScript,
//! a thin shell over the same use cases as the JSON API (so every change is checked by
//! the same rules and recorded with the same actor in the audit trail). A front door
//! beside `infra::http`, never importing it: what both share (the state, errcode
//! refusals, body and form reading, the origin check) is `infra::front`, below both.
//!
//! `session` keeps who is signed in, `csrf` guards every form, `cookies` reads and
//! writes the two cookies, `layout` is the page shell and the security headers,
//! `errors` renders refusals, `gate` admits a request for its operation (`Page<O>`,
//! `Form<O>`), `pages` holds one module per group of pages (mounted by
//! `infra::routes`). This module holds the plumbing: `visit` (the live session and its
//! caller, re-read on every request) and `read_form` (a bounded form body).

pub mod cookies;
pub mod csrf;
pub mod errors;
pub mod gate;
pub mod layout;
pub mod pages;
pub mod session;

use std::sync::{Arc, LazyLock};
use std::time::Instant;

use actix_web::http::header;
use actix_web::{web, HttpRequest};

use self::errors::WebError;
use self::session::{Session, SessionLimits, SessionStore};
use crate::app::authenticate::AuthError;
use crate::domain::authz::Caller;
use crate::infra::front::form::Params;
use crate::infra::front::AppState;

/// Largest form body a page accepts.
const FORM_LIMIT: usize = 64 * 1024;

/// The sessions of this process (one `serve` per process; every worker shares them).
static SESSIONS: LazyLock<SessionStore> =
    LazyLock::new(|| SessionStore::new(SessionLimits::default()));

fn sessions() -> &'static SessionStore {
    &SESSIONS
}

/// A path under `/ui` that is no page.
pub(crate) async fn not_found() -> Result<actix_web::HttpResponse, WebError> {
    Err(WebError::new(
        actix_web::http::StatusCode::NOT_FOUND,
        "no such page",
    ))
}

/// A request of a signed-in user: its session and the caller it acts as.
pub struct Visit {
    pub session: Arc<Session>,
    pub caller: Caller,
    /// The path asked for, to mark in the navigation.
    pub path: String,
}

impl Visit {
    pub fn user(&self) -> &str {
        &self.session.user
    }

    pub fn nav(&self) -> layout::Nav<'_> {
        layout::Nav {
            user: &self.session.user,
            admin: self.caller.is_admin(),
            csrf: &self.session.csrf,
            current: &self.path,
        }
    }
}

/// The live session of this request and the caller it acts as, read afresh: a user
/// who is gone, disabled or whose password changed since sign-in has no session any
/// more (it is ended here). No session: `WebError::SignIn`.
pub async fn visit(state: &web::Data<AppState>, req: &HttpRequest) -> Result<Visit, WebError> {
    let cookie = cookies::get(req, cookies::SESSION).ok_or(WebError::SignIn)?;
    let session = sessions()
        .find(cookie, Instant::now())
        .ok_or(WebError::SignIn)?;
    let st = state.clone();
    let name = session.user.clone();
    let checked = web::block(move || st.tokens.authenticator().session_caller(&name))
        .await
        .map_err(|_| WebError::internal())?;
    let still = match checked {
        Ok((caller, stamp)) => {
            let same_user = caller.user.as_ref().map(|u| u.id) == Some(session.user_id);
            (same_user && stamp == session.stamp).then_some(caller)
        }
        Err(AuthError::Refused(why)) => {
            tracing::info!(user = %session.user, reason = why.0, "web session ended");
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "web session check failed");
            return Err(WebError::internal());
        }
    };
    match still {
        Some(caller) => Ok(Visit {
            session,
            caller,
            path: req.path().to_string(),
        }),
        None => {
            sessions().end(cookie);
            Err(WebError::SignIn)
        }
    }
}

/// A form body (`application/x-www-form-urlencoded`, bounded in size and time).
pub async fn read_form(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<Params, WebError> {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(WebError::bad_request("expected a form"));
    }
    let timeout = state.settings.server.body_timeout;
    let body = crate::infra::front::body::read(req, payload, FORM_LIMIT, timeout).await?;
    Ok(Params::parse(&body))
}

/// Whether cookies must be `Secure` (the public listener speaks HTTPS).
pub fn secure_cookies(state: &AppState) -> bool {
    speaks_https(&state.settings.server)
}

fn speaks_https(server: &crate::infra::config::ServerSettings) -> bool {
    server.tls_files().is_some()
}

/// The registry's host as clients name it: the first of
/// `notifications.registry_hosts`, else the host this page was asked from.
pub fn registry_host(state: &AppState, req: &HttpRequest) -> String {
    match state.settings.notifications.registry_hosts.first() {
        Some(h) => h.clone(),
        None => req.connection_info().host().to_string(),
    }
}

/// The client's address, as the token endpoint sees it (for the failed-login limits).
pub fn client_ip(state: &AppState, req: &HttpRequest) -> std::net::IpAddr {
    crate::infra::front::client_ip::client_ip(req, &state.settings.server.trusted_proxies)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infra::config::ServerSettings;

    #[test]
    fn cookies_are_secure_exactly_when_the_listener_speaks_https() {
        let mut server = ServerSettings::default();
        assert!(!speaks_https(&server));
        server.tls_cert = Some("server.crt".into());
        server.tls_key = Some("server.key".into());
        assert!(speaks_https(&server));
        let line = cookies::set(cookies::SESSION, "v", None, speaks_https(&server));
        assert!(line.ends_with("; Secure"), "{line}");
    }
}
