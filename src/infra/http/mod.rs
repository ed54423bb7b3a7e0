//! The HTTP shell: token endpoint, registry notifications, read API, health.
//!
//! Handlers gather facts (credentials, directory rows), call the pure decisions in
//! `domain`, and render the results; they hold no rules of their own.

pub mod api;
pub mod auth;
pub mod errors;
pub mod health;
pub mod notifications;
pub mod server;
pub mod token_endpoint;

use std::sync::Arc;

use actix_web::web;

use crate::domain::authn::Authenticator;
use crate::domain::directory::Directory;
use crate::infra::config::Settings;
use crate::infra::crypto::Signer;

/// Shared state of every handler.
pub struct AppState {
    pub settings: Settings,
    pub directory: Arc<dyn Directory>,
    pub authenticator: Authenticator,
    pub signer: Signer,
    /// Shared secret for `/notifications`; empty = endpoint disabled.
    pub notification_secret: String,
}

/// Every route regauth serves on one listener.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(public_routes).configure(notifications_route);
}

/// What clients reach: the token endpoint, the read API, health.
pub fn public_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/token", web::get().to(token_endpoint::get_token))
        .route("/token", web::post().to(token_endpoint::post_token))
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .configure(api::configure);
}

/// The internal listener of `server.notifications_listen`: what only the registry
/// calls, plus `/healthz` so `regauth healthcheck` can probe it in plain HTTP even when
/// the public listener speaks TLS.
pub fn notification_routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(notifications_route)
        .route("/healthz", web::get().to(health::healthz));
}

fn notifications_route(cfg: &mut web::ServiceConfig) {
    cfg.route("/notifications", web::post().to(notifications::receive));
}

/// Makes the framework's own refusals speak the errcode format too: a body or query
/// that does not parse (400) and a route that does not exist (404). Every listener's
/// app gets this, so no client ever sees a plain-text or empty error.
pub fn errcode_everywhere(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::JsonConfig::default().error_handler(|e, _| bad_input(e.to_string())))
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
