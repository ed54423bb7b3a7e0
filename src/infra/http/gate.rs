//! The API's front door for every operation: `Authorized<O>`, an extractor that admits
//! a request for operation `O` or refuses it before the handler runs.
//!
//! In one place and in this order: a state-changing request must come from this origin
//! (403 otherwise: a browser tricked into a cross-site request) and say
//! `Content-Type: application/json`, body-less ones included (415); the `Authorization`
//! header becomes a caller (401 for a bad credential, never downgraded to anonymous);
//! the caller is admitted for `O`'s declared needs (`app::permit`, 401/403); beside a
//! Synapse, a change to what Synapse owns is refused (405). A handler that takes
//! `Authorized<O>` holds a `Permit<O>`, the only key its use case accepts, runs its use
//! case through `front::admitted`, and reads the body only when it asks (`json`).

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::{header, Method, StatusCode};
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::app::operations::Operation;
use crate::app::permit::Permit;
use crate::app::Actor;
use crate::infra::front::admitted::Admitted;
use crate::infra::front::checks::{app_state, refuse_what_synapse_owns, same_origin};
use crate::infra::front::errors::{ErrorCode, HttpError};
use crate::infra::front::AppState;

/// A request admitted for operation `O`, with its body still unread: a handler reads it
/// ([`Authorized::json`]) only after what it can check without it (a malformed id).
pub struct Authorized<O: Operation> {
    pub permit: Permit<O>,
    pub state: web::Data<AppState>,
    req: HttpRequest,
    body: Option<web::Payload>,
}

impl<O: Operation> FromRequest for Authorized<O> {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, HttpError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        const {
            assert!(
                O::NEEDS.takes_api_credentials(),
                "a protocol or public operation has no API caller: mount it with routes::open"
            )
        };
        let req = req.clone();
        let body = web::Payload::from_request(&req, payload);
        Box::pin(async move {
            let state = app_state(&req)?;
            if changes_state(req.method()) {
                same_origin(&req)?;
                json_declared(&req)?;
            }
            let caller = super::auth::caller_from_request(&state, &req).await?;
            let permit = Permit::<O>::admit(&Actor::Caller(caller))?;
            refuse_what_synapse_owns::<O>(&state)?;
            let body = Some(body.await.map_err(|_| HttpError::internal())?);
            Ok(Authorized {
                permit,
                state,
                req,
                body,
            })
        })
    }
}

impl<O: Operation> Admitted<O> for Authorized<O> {
    type Error = HttpError;

    fn parts(&self) -> (&web::Data<AppState>, &Permit<O>) {
        (&self.state, &self.permit)
    }
}

impl<O: Operation> Authorized<O> {
    /// The JSON body (`json::read`), read now that the caller is admitted.
    pub async fn json<T: DeserializeOwned>(&mut self) -> Result<T, HttpError> {
        let body = self.unread()?;
        super::json::read(&self.state, &self.req, body).await
    }

    /// The JSON body, `None` when empty (`json::read_optional`).
    pub async fn json_optional<T: DeserializeOwned>(&mut self) -> Result<Option<T>, HttpError> {
        let body = self.unread()?;
        super::json::read_optional(&self.state, &self.req, body).await
    }

    fn unread(&mut self) -> Result<web::Payload, HttpError> {
        self.body.take().ok_or_else(|| {
            tracing::error!("request body read twice");
            HttpError::internal()
        })
    }
}

/// A route whose operation brings its own protocol's credential (the token endpoint,
/// the webhook) or needs none (the probes): mounted with `routes::open`, never handed
/// an API caller.
pub struct Open<O: Operation>(PhantomData<fn() -> O>);

impl<O: Operation> Open<O> {
    pub const fn new() -> Open<O> {
        const {
            assert!(
                !O::NEEDS.takes_api_credentials(),
                "an operation that reads API credentials must be mounted through Authorized"
            )
        };
        Open(PhantomData)
    }
}

impl<O: Operation> Default for Open<O> {
    fn default() -> Self {
        Open::new()
    }
}

/// Whether a request changes something (every method but the safe ones).
pub fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A state-changing API request must declare a JSON body, even an empty one: a form
/// or `text/plain` POST is what a cross-site HTML form can send without a preflight.
fn json_declared(req: &HttpRequest) -> Result<(), HttpError> {
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if json {
        Ok(())
    } else {
        Err(HttpError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::Unsupported,
            "send Content-Type: application/json (with an empty body where none is needed)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn changes_must_declare_json() {
        let ok = TestRequest::delete()
            .insert_header((header::CONTENT_TYPE, "application/json; charset=utf-8"))
            .to_http_request();
        assert!(json_declared(&ok).is_ok());
        for ct in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
        ] {
            let mut r = TestRequest::post();
            if let Some(ct) = ct {
                r = r.insert_header((header::CONTENT_TYPE, ct));
            }
            assert_eq!(json_declared(&r.to_http_request()).unwrap_err().status, 415);
        }
        assert!(!changes_state(&Method::GET) && changes_state(&Method::DELETE));
    }
}
