//! The HTTP shell: the token endpoint, the registry's notifications, the read API and
//! health, on actix-web.
//!
//! Handlers parse the wire format, call a use case of `app` on the blocking pool and
//! render its answer (errcode JSON for every error); they hold no rules of their own.
//! The one table of every route and the operation it runs is `infra::routes`, above
//! this module and `web`. Here, `gate` admits a request for its operation before the
//! handler runs, `state` is what handlers share, `auth` turns an `Authorization` header
//! into a caller, `errors` maps use-case errors to status codes, `server` binds the
//! listeners.

pub mod access_requests;
pub mod admin;
pub mod api;
pub mod auth;
pub mod body;
pub mod client_ip;
pub mod errcode_stream;
pub mod errors;
pub mod form;
pub mod gate;
pub mod head_limit;
pub mod health;
pub mod json;
pub mod me;
pub mod notifications;
pub mod server;
pub mod sharing;
pub mod state;
pub mod token;
pub mod token_outcome;

use actix_web::web;

pub use state::AppState;

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
        Err::<actix_web::HttpResponse, _>(errors::HttpError::new(
            actix_web::http::StatusCode::NOT_FOUND,
            errors::ErrorCode::Unsupported,
            "no such endpoint",
        ))
    }));
}

fn bad_input(message: String) -> actix_web::Error {
    errors::HttpError::bad_request(errors::ErrorCode::Unsupported, message).into()
}
