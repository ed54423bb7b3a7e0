//! The HTTP shell: token endpoint, registry notifications, read API, health.
//!
//! Handlers gather facts (credentials, directory rows), call the pure decisions in
//! `domain`, and render the results; they hold no rules of their own.

pub mod api;
pub mod auth;
pub mod errors;
pub mod health;
pub mod notifications;
pub mod token_endpoint;

use std::sync::Arc;

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
