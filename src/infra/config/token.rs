//! The `[token]` section: what the registry tokens say (issuer, services, lifetime,
//! signing algorithm), how long refresh tokens live, and how many scopes one request
//! may ask for.

use serde::Deserialize;

use super::bounds::Bounds;
use super::error::ConfigError;
use crate::infra::crypto::KeyAlgorithm;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenSettings {
    /// `iss` claim; must equal the registry's `auth.token.issuer`.
    pub issuer: String,
    /// Accepted `service` values (a request must name one). Must include the registry's
    /// `auth.token.service`.
    pub services: Vec<String>,
    /// Lifetime of registry tokens, seconds (`TTL_SECONDS`).
    pub ttl_seconds: u64,
    /// How far `nbf` lies in the past to absorb clock skew, seconds.
    pub not_before_skew_seconds: u64,
    /// `RS256` or `ES256`.
    pub algorithm: KeyAlgorithm,
    /// Lifetime of refresh (identity) tokens in days; 0 = until revoked.
    pub refresh_ttl_days: u64,
    /// Realm advertised in `WWW-Authenticate` on 401s (the public URL of `/token`).
    pub realm: String,
    /// Most scopes one token request may carry (each at most 512 bytes); more is a 400.
    pub max_scopes: usize,
}

const TTL_SECONDS: Bounds<u64> = Bounds::new(60, 3600);
const MAX_SCOPES: Bounds<usize> = Bounds::new(1, 10_000);
const NOT_BEFORE_SKEW_SECONDS: Bounds<u64> = Bounds::at_most(300);

impl Default for TokenSettings {
    fn default() -> Self {
        TokenSettings {
            issuer: "regauth".into(),
            services: vec!["registry".into()],
            ttl_seconds: 300,
            not_before_skew_seconds: 10,
            algorithm: KeyAlgorithm::Rs256,
            refresh_ttl_days: 90,
            realm: "http://127.0.0.1:5001/token".into(),
            max_scopes: 100,
        }
    }
}

impl TokenSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.services.is_empty() || self.services.iter().any(|s| s.is_empty()) {
            return Err(ConfigError::invalid(
                "token.services",
                "list at least one non-empty service name",
            ));
        }
        if self.issuer.is_empty() {
            return Err(ConfigError::invalid("token.issuer", "must not be empty"));
        }
        TTL_SECONDS.check("token.ttl_seconds", self.ttl_seconds)?;
        MAX_SCOPES.check("token.max_scopes", self.max_scopes)?;
        NOT_BEFORE_SKEW_SECONDS.check(
            "token.not_before_skew_seconds",
            self.not_before_skew_seconds,
        )
    }
}
