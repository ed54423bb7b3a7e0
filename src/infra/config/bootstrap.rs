//! The `[bootstrap]` section: the first admin `serve` creates in an empty directory,
//! and its password (a secret that never prints; empty = one is generated).

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::error::ConfigError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BootstrapSettings {
    /// Name of the first admin, created by `serve` when the directory has no users.
    pub admin_name: String,
    /// Its password; empty = generate one into `bootstrap-admin-password` beside the
    /// database (mode 0600; only the file's path is logged).
    pub admin_password: SecretString,
}

impl Default for BootstrapSettings {
    fn default() -> Self {
        BootstrapSettings {
            admin_name: "admin".into(),
            admin_password: SecretString::default(),
        }
    }
}

impl BootstrapSettings {
    /// The first admin's configured password, if any.
    pub fn password(&self) -> Option<&str> {
        Some(self.admin_password.expose_secret()).filter(|p| !p.is_empty())
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.admin_name.is_empty() {
            return Err(ConfigError::invalid(
                "bootstrap.admin_name",
                "must not be empty",
            ));
        }
        Ok(())
    }
}
