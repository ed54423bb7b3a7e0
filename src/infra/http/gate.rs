//! The API's front door for every operation: `Authorized<O>`, an extractor that admits
//! a request for operation `O` or refuses it before the handler runs.
//!
//! In one place and in this order: a state-changing request must come from this origin
//! (403 otherwise: a browser tricked into a cross-site request) and say
//! `Content-Type: application/json`, body-less ones included (415); the `Authorization`
//! header becomes a caller (401 for a bad credential, never downgraded to anonymous);
//! the caller is admitted for `O`'s declared needs (`app::permit`, 401/403); beside a
//! Synapse, a change to what Synapse owns is refused (405). A handler that takes
//! `Authorized<O>` holds a `Permit<O>`, the only key its use case accepts.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::{header, Method, StatusCode};
use actix_web::{web, FromRequest, HttpRequest};

use super::errors::{ErrorCode, HttpError};
use super::AppState;
use crate::app::operations::Operation;
use crate::app::permit::Permit;
use crate::app::{Actor, AppResult};
use crate::domain::authz::needs::Owner;

/// A request admitted for operation `O`.
pub struct Authorized<O: Operation> {
    pub permit: Permit<O>,
    pub state: web::Data<AppState>,
}

impl<O: Operation> FromRequest for Authorized<O> {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, HttpError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        const {
            assert!(
                O::NEEDS.takes_api_credentials(),
                "a protocol or public operation has no API caller: mount it with routes::open"
            )
        };
        let req = req.clone();
        Box::pin(async move {
            let state = app_state(&req)?;
            if changes_state(req.method()) {
                same_origin(&req)?;
                json_declared(&req)?;
            }
            let caller = super::auth::caller_from_request(&state, &req).await?;
            let permit = Permit::<O>::admit(&Actor::Caller(caller))?;
            refuse_what_synapse_owns::<O>(&state)?;
            Ok(Authorized { permit, state })
        })
    }
}

impl<O: Operation> Authorized<O> {
    /// Runs use case `f` on the blocking pool with the permit.
    pub async fn run<T, F>(self, f: F) -> Result<T, HttpError>
    where
        F: FnOnce(&AppState, &Permit<O>) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let Authorized { permit, state } = self;
        web::block(move || f(&state, &permit))
            .await
            .map_err(|_| HttpError::internal())?
            .map_err(HttpError::from)
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

pub(crate) fn app_state(req: &HttpRequest) -> Result<web::Data<AppState>, HttpError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| {
            tracing::error!("application state missing");
            HttpError::internal()
        })
}

/// Whether a request changes something (every method but the safe ones).
pub fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A state-changing request sent by a browser from another origin is refused (403).
/// A browser says where a request comes from in `Sec-Fetch-Site` (a header no page can
/// set): only `same-origin` and `none` (typed, bookmarked) pass. Without it (an older
/// browser), `Origin` must name this host; `null` is foreign there. Either way an
/// `Origin` naming another host is refused. Clients that send neither header (docker,
/// curl, CI scripts) are unaffected. (The pages' `Referrer-Policy: no-referrer` makes a
/// browser send `Origin: null` even on its own forms, so `null` cannot be refused when
/// `Sec-Fetch-Site` vouches for the request.)
pub fn same_origin(req: &HttpRequest) -> Result<(), HttpError> {
    let fetch_site = req
        .headers()
        .get("sec-fetch-site")
        .map(|v| v.to_str().unwrap_or("cross-site").to_ascii_lowercase());
    let origin = req.headers().get(header::ORIGIN).map(|v| v.to_str());
    let host = req.connection_info().host().to_ascii_lowercase();
    let origin_is = match origin {
        None => OriginSays::Nothing,
        Some(Ok("null")) => OriginSays::Null,
        Some(Ok(origin)) => match origin_host(origin) {
            Some(h) if h.eq_ignore_ascii_case(&host) => OriginSays::This,
            _ => OriginSays::Other,
        },
        Some(Err(_)) => OriginSays::Other,
    };
    let foreign = match (fetch_site.as_deref(), origin_is) {
        (_, OriginSays::Other) => true,
        (Some("same-origin" | "none"), _) => false,
        (Some(_), _) => true,
        (None, OriginSays::Null) => true,
        (None, OriginSays::Nothing | OriginSays::This) => false,
    };
    if foreign {
        tracing::warn!(
            path = req.path(),
            "state-changing request from another origin refused"
        );
        return Err(HttpError::denied(
            "cross-origin request refused: send it from this site, or without an Origin header",
        ));
    }
    Ok(())
}

/// What a request's `Origin` header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OriginSays {
    Nothing,
    Null,
    This,
    Other,
}

/// `host[:port]` of an `Origin` (`https://registry.example.org:8443`); `None` for
/// `null` and anything that is not `scheme://host`.
fn origin_host(origin: &str) -> Option<&str> {
    let (scheme, rest) = origin.split_once("://")?;
    let well_formed = matches!(scheme, "http" | "https") && !rest.is_empty();
    (well_formed && !rest.contains(['/', '?', '#', '@'])).then_some(rest)
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

/// Beside a Synapse, what Synapse owns is changed there, never here (405).
pub(crate) fn refuse_what_synapse_owns<O: Operation>(state: &AppState) -> Result<(), HttpError> {
    if state.synapse.is_some() && O::NEEDS.owner == Owner::Synapse {
        return Err(HttpError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Unsupported,
            format!(
                "{}: users, teams, projects, sharing, the trash, access requests and access \
                 tokens belong to Synapse in this mode: change them in Synapse",
                O::NAME
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn origins_are_compared_by_host_and_port() {
        assert_eq!(origin_host("https://r.example.org"), Some("r.example.org"));
        assert_eq!(origin_host("http://127.0.0.1:5001"), Some("127.0.0.1:5001"));
        assert_eq!(origin_host("null"), None);
        assert_eq!(origin_host("https://evil.example/x"), None);
        assert_eq!(origin_host("ftp://r.example.org"), None);
        assert_eq!(origin_host("https://user@r.example.org"), None);
        let same = TestRequest::post()
            .insert_header((header::HOST, "r.example.org"))
            .insert_header((header::ORIGIN, "https://R.example.org"))
            .to_http_request();
        assert!(same_origin(&same).is_ok());
        let foreign = TestRequest::post()
            .insert_header((header::HOST, "r.example.org"))
            .insert_header((header::ORIGIN, "https://evil.example"))
            .to_http_request();
        assert_eq!(same_origin(&foreign).unwrap_err().status, 403);
        let none = TestRequest::post()
            .insert_header((header::HOST, "r.example.org"))
            .to_http_request();
        assert!(same_origin(&none).is_ok());
        let cross = TestRequest::post()
            .insert_header(("sec-fetch-site", "cross-site"))
            .to_http_request();
        assert_eq!(same_origin(&cross).unwrap_err().status, 403);
        let sibling = TestRequest::post()
            .insert_header(("sec-fetch-site", "same-site"))
            .to_http_request();
        assert_eq!(same_origin(&sibling).unwrap_err().status, 403);
        // A page of ours under no-referrer: Origin null, vouched for by the browser.
        let own_form = |fetch_site: Option<&str>| {
            let mut r = TestRequest::post()
                .insert_header((header::HOST, "r.example.org"))
                .insert_header((header::ORIGIN, "null"));
            if let Some(s) = fetch_site {
                r = r.insert_header(("sec-fetch-site", s));
            }
            same_origin(&r.to_http_request()).map_err(|e| e.status)
        };
        assert_eq!(own_form(Some("same-origin")), Ok(()));
        assert!(
            own_form(None).is_err(),
            "null without a browser's word is foreign"
        );
        assert!(own_form(Some("cross-site")).is_err());
        let lying = TestRequest::post()
            .insert_header((header::HOST, "r.example.org"))
            .insert_header((header::ORIGIN, "https://evil.example"))
            .insert_header(("sec-fetch-site", "same-origin"))
            .to_http_request();
        assert!(
            same_origin(&lying).is_err(),
            "another host named is refused anyway"
        );
    }

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
