//! Turning a request's `Authorization` header into a caller.

use actix_web::http::header;
use actix_web::{web, HttpRequest};

use super::errors::HttpError;
use super::AppState;
use crate::domain::authn::basic::parse_basic;
use crate::domain::authn::{Authenticated, AuthnError, INVALID_CREDENTIALS};
use crate::domain::authz::Caller;

/// Authenticates a request with Basic credentials (password or access token) and
/// returns the caller; no header means anonymous. Bad credentials are a 401 with the
/// registry error body, never a silent downgrade to anonymous.
pub async fn caller_from_request(
    state: &web::Data<AppState>,
    req: &HttpRequest,
) -> Result<Caller, HttpError> {
    authenticate_header(state, req).await.map(|a| a.caller)
}

/// Like [`caller_from_request`], keeping how the caller authenticated.
pub async fn authenticate_header(
    state: &web::Data<AppState>,
    req: &HttpRequest,
) -> Result<Authenticated, HttpError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(Authenticated::anonymous());
    };
    let realm = &state.settings.token.realm;
    let value = value
        .to_str()
        .map_err(|_| HttpError::unauthorized(INVALID_CREDENTIALS, realm))?;
    let (user, password) = parse_basic(value).map_err(|e| {
        tracing::info!(reason = %e, "malformed Authorization header");
        HttpError::unauthorized(INVALID_CREDENTIALS, realm)
    })?;
    let st = state.clone();
    run_blocking(state, move || st.authenticator.basic(&user, &password)).await
}

/// Runs directory work of a request (authentication, refresh tokens, the facts of the
/// token decision) on the blocking pool, where argon2 and SQLite may block, and maps its
/// failure to the HTTP answer: one message for every credential failure, the real
/// reason only in the log; anything else is a 500.
pub async fn run_blocking<T, F>(state: &web::Data<AppState>, f: F) -> Result<T, HttpError>
where
    F: FnOnce() -> Result<T, AuthnError> + Send + 'static,
    T: Send + 'static,
{
    let realm = &state.settings.token.realm;
    match web::block(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(AuthnError::InvalidCredentials(why))) => {
            tracing::info!(reason = why, "authentication failed");
            Err(HttpError::unauthorized(INVALID_CREDENTIALS, realm))
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "directory failed");
            Err(HttpError::internal())
        }
        Err(e) => {
            tracing::error!(error = %e, "blocking pool failed");
            Err(HttpError::internal())
        }
    }
}
