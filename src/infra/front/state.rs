//! What every handler of both front doors shares: the directory, the use cases, and
//! the settings they need. Built once by the composition root (`infra::startup`).

use std::sync::Arc;

use secrecy::SecretString;

use crate::app::issue_token::TokenIssuer;
use crate::domain::ports::{Clock, Directory};
use crate::infra::audit_writer::AuditWriter;
use crate::infra::config::Settings;
use crate::infra::forwarder::Forwarder;
use crate::infra::oidc::CodeFlow;

/// An identity provider beside regauth (a Synapse: `directory.backend = "synapse"`).
/// It owns users, teams, projects and sharing, so the front doors refuse to change
/// them here; which backend it is stays with the composition root.
pub struct Upstream {
    /// Whether it answers now (`/readyz`).
    pub reachable: Box<dyn Fn() -> bool + Send + Sync>,
    /// Set when notifications go on to its registry listener.
    pub forwarder: Option<Forwarder>,
}

pub struct AppState {
    pub settings: Settings,
    pub directory: Arc<dyn Directory>,
    pub tokens: TokenIssuer,
    pub clock: Arc<dyn Clock>,
    /// Shared secret for `/notifications`; empty = endpoint disabled.
    pub notification_secret: SecretString,
    /// The audit trail's writer: stopped (drained) when the server stops.
    pub audit_writer: Arc<AuditWriter>,
    /// What `/metrics` renders; `None` when another recorder was installed first.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    pub upstream: Option<Upstream>,
    /// People's sign-in with the `[[oidc.providers]]`; `None` when none is configured.
    pub people: Option<Arc<CodeFlow>>,
    /// `/.well-known/jwks.json`: every signing key's public half, rendered once at start
    /// (keys change only with a restart); shared, so an answer copies no bytes.
    pub jwks: actix_web::web::Bytes,
    /// The signing key's kid as tokens and the key set carry it (`keys.kid`) and its
    /// certificate's notAfter (Unix seconds), for `regauth_signing_key_not_after_seconds`.
    pub signing_key: (String, u64),
}

impl AppState {
    /// The realm advertised in `WWW-Authenticate` on 401s.
    pub fn realm(&self) -> &str {
        &self.settings.token.realm
    }
}
