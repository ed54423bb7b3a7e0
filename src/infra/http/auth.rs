//! Turning a request's `Authorization` header into a credential, and a credential into
//! a caller (for the read API; the token endpoint hands the credential to its use case).

use actix_web::http::header;
use actix_web::{web, HttpRequest};

use crate::app::authenticate::{AuthError, Pace};
use crate::app::issue_token::Credential;
use crate::domain::authn::basic::{parse_basic, BasicError};
use crate::domain::authn::{Authenticated, INVALID_CREDENTIALS};
use crate::domain::authz::Caller;
use crate::infra::front::errors::HttpError;
use crate::infra::front::AppState;

/// The credential of a request's `Authorization` header: none is anonymous; one that is
/// not usable Basic credentials is refused later, never downgraded to anonymous.
pub fn credential(req: &HttpRequest) -> Credential {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Credential::Anonymous;
    };
    let Ok(value) = value.to_str() else {
        return Credential::Malformed("Authorization header is not visible ASCII");
    };
    match parse_basic(value) {
        Ok((user, secret)) => Credential::basic(user, secret),
        Err(e) => Credential::Malformed(reason(e)),
    }
}

fn reason(e: BasicError) -> &'static str {
    match e {
        BasicError::NotBasic => "authorization scheme is not Basic",
        BasicError::BadBase64 => "Basic credentials are not valid base64",
        BasicError::NotUtf8 => "Basic credentials are not UTF-8",
        BasicError::NoColon => "Basic credentials have no ':' between user and password",
        BasicError::Empty => "Basic credentials are empty",
    }
}

/// Authenticates a request with Basic credentials (password or access token) and
/// returns the caller; no header means anonymous. Bad credentials are a 401 with the
/// registry error body and no challenge (see `HttpError::sign_in_required`).
pub async fn caller_from_request(
    state: &web::Data<AppState>,
    req: &HttpRequest,
) -> Result<Caller, HttpError> {
    let credential = credential(req);
    let address = super::client_ip::client_ip(req, &state.settings.server.trusted_proxies);
    let st = state.clone();
    let who = web::block(move || -> Result<Authenticated, AuthError> {
        match credential {
            Credential::Anonymous => Ok(Authenticated::anonymous()),
            Credential::Basic { user, secret } => {
                st.tokens
                    .authenticator()
                    .basic(&user, &secret, address, Pace::MayBlock)
            }
            Credential::Malformed(why) => Err(crate::domain::authn::Refused(why).into()),
            Credential::Refresh { .. } => {
                Err(crate::domain::authn::Refused("not a header credential").into())
            }
            // A workload's token buys registry tokens only, never the API.
            Credential::Workload { .. } => {
                Err(crate::domain::authn::Refused("workload tokens are for /token only").into())
            }
        }
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "blocking pool failed");
        HttpError::internal()
    })?;
    match who {
        Ok(who) => Ok(who.caller),
        Err(AuthError::Refused(why)) => {
            tracing::info!(reason = why.0, "authentication failed");
            Err(HttpError::sign_in_required(INVALID_CREDENTIALS))
        }
        Err(AuthError::Directory(e)) => {
            tracing::error!(error = %e, "directory failed");
            Err(HttpError::internal())
        }
        Err(AuthError::Busy(e)) => Err(HttpError::busy(e.to_string(), 1)),
        Err(AuthError::Rejected(why)) => {
            tracing::info!(reason = %why, "authentication failed");
            Err(HttpError::sign_in_required(INVALID_CREDENTIALS))
        }
        Err(AuthError::Limited(l)) => Err(HttpError::too_many(
            l.to_string(),
            l.retry_after.as_secs_f64().ceil() as u64,
        )),
    }
}
