//! What both front doors share, below them: the HTTP API (`infra::http`) and the web
//! pages (`infra::web`) each import this room and `app`, never each other.
//!
//! `state` is what every handler shares (built by `infra::startup`), `server` binds the
//! listeners and mounts the route table handed down to it, `errors` renders refusals in
//! the errcode format (the pages wrap it in HTML), `errcode_stream` and `head_limit`
//! give the HTTP library's own refusals that format too, `body` and `form` read bounded
//! bodies, `client_ip` names the client, `checks` holds what both gates check before
//! admitting a request, and `admitted` how an admitted request runs its use case.
//! This module holds `errcode_everywhere`, the framework's own refusals in that format.

pub mod admitted;
pub mod body;
pub mod checks;
pub mod client_ip;
pub mod errcode_stream;
pub mod errors;
pub mod form;
pub mod head_limit;
pub mod server;
pub mod state;

pub use state::AppState;

use actix_web::web;

use errors::{ErrorCode, HttpError};

/// Makes the framework's own refusals speak the errcode format too: a body or query
/// that does not parse (400) and a route that does not exist (404). Every listener's
/// app gets this, so no client ever sees a plain-text or empty error.
pub fn errcode_everywhere(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(body::JSON_LIMIT)
            .error_handler(|e, _| bad_input(e.to_string())),
    )
    .app_data(web::PayloadConfig::new(body::JSON_LIMIT))
    .app_data(web::QueryConfig::default().error_handler(|e, _| bad_input(e.to_string())))
    .default_service(web::to(|| async {
        Err::<actix_web::HttpResponse, _>(HttpError::new(
            actix_web::http::StatusCode::NOT_FOUND,
            ErrorCode::Unsupported,
            "no such endpoint",
        ))
    }));
}

fn bad_input(message: String) -> actix_web::Error {
    HttpError::bad_request(ErrorCode::Unsupported, message).into()
}
