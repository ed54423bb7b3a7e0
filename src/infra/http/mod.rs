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
use crate::infra::token::Signer;

/// Shared state of every handler.
pub struct AppState {
    pub settings: Settings,
    pub directory: Arc<dyn Directory>,
    pub authenticator: Authenticator,
    pub signer: Signer,
    /// Shared secret for `/notifications`; empty = endpoint disabled.
    pub notification_secret: String,
}

/// Every route regauth serves on one listener. The server and the HTTP tests both build
/// their app from this, so tests exercise exactly what runs in production.
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
