//! Configuration: a TOML file (`--config` or `REGAUTH_CONFIG`) overridden by
//! `REGAUTH__SECTION__KEY` environment variables, e.g. `REGAUTH__TOKEN__TTL_SECONDS=300`.
//!
//! Every key has a default that works for a local try-out, so an empty file is valid;
//! `deploy/regauth.toml` documents each one. Values are typed (addresses, the signing
//! algorithm, the log format, secrets that never print), so a bad value is refused at
//! load time with a message naming its key. Each section is a file of this folder with
//! its own defaults and checks (its ranges written once, as `Bounds`); this file loads
//! them and holds what spans sections. The `[synapse]` section is plain values too;
//! `synapse::options` turns it into the backend's options. Nothing here builds an `app`
//! or a backend type: the composition root turns these plain values into the use
//! cases' limits and the backends' options.

mod audit;
mod auth;
mod bootstrap;
mod bounds;
mod directory;
mod error;
mod keys;
mod log;
mod notifications;
mod oidc;
mod server;
mod synapse;
mod token;

use std::path::Path;

use secrecy::SecretString;
use serde::Deserialize;

pub use audit::AuditSettings;
pub use auth::AuthSettings;
pub use bootstrap::BootstrapSettings;
pub use directory::{Backend, DirectorySettings, Store};
pub use error::ConfigError;
pub use keys::KeySettings;
pub use log::{LogFormat, LogSettings};
pub use notifications::{NotificationSettings, MIN_PUBLIC_SECRET_BYTES, PLACEHOLDER_SECRETS};
pub use oidc::{IssuerSettings, OidcSettings, Preset, ProviderSettings};
pub use server::ServerSettings;
pub use synapse::{Listener, SynapseSettings};
pub use token::TokenSettings;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub server: ServerSettings,
    pub auth: AuthSettings,
    pub audit: AuditSettings,
    pub token: TokenSettings,
    pub keys: KeySettings,
    pub directory: DirectorySettings,
    /// Read only with `directory.backend = "synapse"`.
    pub synapse: SynapseSettings,
    pub notifications: NotificationSettings,
    pub log: LogSettings,
    pub bootstrap: BootstrapSettings,
    /// Workload-token issuers and people's sign-in providers; empty = none trusted.
    pub oidc: OidcSettings,
}

impl Settings {
    /// Whether the webhook's `secret` (from `notification_secret`) may be served where
    /// the settings put it. `serve` refuses a webhook on the public listener (no
    /// `server.notifications_listen`) whose secret is shorter than
    /// `MIN_PUBLIC_SECRET_BYTES` or a documented placeholder: anyone who can reach
    /// `/token` could then guess or look it up and post events. On an internal listener
    /// such a secret is tolerated (the network is the first line), and `Ok(Some(..))`
    /// says what to log. An empty secret disables the endpoint and is always allowed.
    pub fn check_webhook_secret(
        &self,
        secret: &SecretString,
    ) -> Result<Option<&'static str>, ConfigError> {
        let internal = self.server.notifications_listen.is_some();
        notifications::check_secret(secret, internal)
    }

    /// Loads `file` (if given) then the `REGAUTH__*` environment, and validates.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut builder = config::Config::builder();
        if let Some(f) = file {
            if !f.exists() {
                return Err(ConfigError::Load(format!(
                    "file {} does not exist",
                    f.display()
                )));
            }
            builder = builder.add_source(config::File::from(f).format(config::FileFormat::Toml));
        }
        builder = builder.add_source(
            config::Environment::with_prefix("REGAUTH")
                .prefix_separator("__")
                .separator("__")
                .list_separator(",")
                .with_list_parse_key("token.services")
                .with_list_parse_key("notifications.registry_hosts")
                .with_list_parse_key("server.trusted_proxies")
                .try_parsing(true),
        );
        let settings: Settings = builder
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| ConfigError::Load(e.to_string()))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Each section's own checks; the `[synapse]` section only when it is read.
    fn validate(&self) -> Result<(), ConfigError> {
        self.server.validate()?;
        self.token.validate()?;
        self.auth.validate()?;
        self.notifications.validate()?;
        self.audit.validate()?;
        self.log.validate()?;
        self.directory.validate()?;
        self.oidc.validate()?;
        if self.directory.beside_synapse() {
            self.synapse.validate()?;
        }
        self.bootstrap.validate()
    }

    /// The notification secret, from `secret_file` when set.
    pub fn notification_secret(&self) -> Result<SecretString, ConfigError> {
        self.notifications.read_secret()
    }

    /// The first admin's configured password, if any.
    pub fn bootstrap_password(&self) -> Option<&str> {
        self.bootstrap.password()
    }
}

#[cfg(test)]
mod tests;
