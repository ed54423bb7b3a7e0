//! The checks both front doors run before admitting a request (the API's
//! `http::gate::Authorized` and the pages' `web::gate::Page`/`Form`): the shared state
//! taken from the request, a state-changing request refused when it comes from another
//! origin, and, beside a Synapse, a change to what Synapse owns refused (405). Each gate
//! renders the refusal in its own format.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest};

use super::errors::{ErrorCode, HttpError};
use super::AppState;
use crate::app::operations::Operation;
use crate::domain::authz::needs::Owner;

/// The state the server put in every app (`front::server`).
pub(crate) fn app_state(req: &HttpRequest) -> Result<web::Data<AppState>, HttpError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| {
            tracing::error!("application state missing");
            HttpError::internal()
        })
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

/// Beside a Synapse, what Synapse owns is changed there, never here (405).
pub(crate) fn refuse_what_synapse_owns<O: Operation>(state: &AppState) -> Result<(), HttpError> {
    if state.upstream.is_some() && O::NEEDS.owner == Owner::Synapse {
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
}
