//! The `[notifications]` section: the registry's webhook. Its secret (inline or from a
//! file), the hosts that name our own registry, and the largest body accepted; and the
//! rule for which secrets may guard a webhook on the public listener.

use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::bounds::Bounds;
use super::error::ConfigError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotificationSettings {
    /// Shared secret the registry sends as `Authorization: Bearer <secret>`. Empty
    /// disables the endpoint (every request 401s). On the public listener (no
    /// `server.notifications_listen`) `serve` refuses one shorter than
    /// `MIN_PUBLIC_SECRET_BYTES` or one of `PLACEHOLDER_SECRETS`.
    pub secret: SecretString,
    /// Alternatively, a file holding the secret (trailing whitespace ignored).
    pub secret_file: Option<PathBuf>,
    /// Hosts that name our own registry (refused as external repository hosts).
    pub registry_hosts: Vec<String>,
    /// Largest notification body accepted, bytes (the registry batches events).
    pub max_body_bytes: usize,
}

const MAX_BODY_BYTES: Bounds<usize> = Bounds::new(1024, 256 * 1024 * 1024);

impl Default for NotificationSettings {
    fn default() -> Self {
        NotificationSettings {
            secret: SecretString::default(),
            secret_file: None,
            registry_hosts: Vec::new(),
            max_body_bytes: 4 * 1024 * 1024,
        }
    }
}

/// The webhook secrets this repository's own examples and documentation show
/// (`deploy/`, the compose files, README): whoever read them knows these.
pub const PLACEHOLDER_SECRETS: &[&str] = &[
    "change-me",
    "changeme",
    "internal-network-only-set-REGAUTH_NOTIFY_SECRET",
    "set-REGAUTH_NOTIFY_SECRET",
];

/// The shortest webhook secret accepted on the public listener, bytes: 32 random bytes
/// (or 64 hex digits from `openssl rand -hex 32`) cannot be guessed online.
pub const MIN_PUBLIC_SECRET_BYTES: usize = 32;

impl NotificationSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        MAX_BODY_BYTES.check("notifications.max_body_bytes", self.max_body_bytes)
    }

    /// The secret, from `secret_file` when set.
    pub fn read_secret(&self) -> Result<SecretString, ConfigError> {
        match &self.secret_file {
            Some(p) => std::fs::read_to_string(p)
                .map(|s| SecretString::from(s.trim_end()))
                .map_err(|e| {
                    ConfigError::invalid(
                        "notifications.secret_file",
                        format!("cannot read {}: {e}", p.display()),
                    )
                }),
            None => Ok(self.secret.clone()),
        }
    }
}

/// Whether `secret` may guard the webhook, served on an `internal` listener or not (see
/// `Settings::check_webhook_secret`).
pub(super) fn check_secret(
    secret: &SecretString,
    internal: bool,
) -> Result<Option<&'static str>, ConfigError> {
    let s = secret.expose_secret().trim();
    if s.is_empty() {
        return Ok(None);
    }
    let placeholder = PLACEHOLDER_SECRETS
        .iter()
        .any(|p| p.eq_ignore_ascii_case(s));
    let short = s.len() < MIN_PUBLIC_SECRET_BYTES;
    if !(placeholder || short) {
        return Ok(None);
    }
    if internal {
        return Ok(Some(if placeholder {
            "notifications.secret is a documented placeholder: set a random one (e.g. openssl rand -hex 32) on both sides"
        } else {
            "notifications.secret is shorter than 32 bytes: set a random one (e.g. openssl rand -hex 32) on both sides"
        }));
    }
    let what = if placeholder {
        "the secret is a documented placeholder"
    } else {
        "the secret is shorter than 32 bytes"
    };
    Err(ConfigError::invalid(
        "notifications.secret",
        format!(
            "{what} while /notifications is on the public listener: set server.notifications_listen to a loopback or internal address (and point the registry there), or a random secret of at least 32 bytes (e.g. openssl rand -hex 32)"
        ),
    ))
}
