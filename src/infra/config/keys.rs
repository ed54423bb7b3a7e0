//! The `[keys]` section: where the signing keys live, whether one is made on first
//! start, and where the registry's certificate bundle is written. Nothing to refuse:
//! a directory that cannot be used is reported when the keys are loaded.

use std::path::PathBuf;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeySettings {
    /// Directory of `*.key` / `*.crt` pairs; the newest key signs.
    pub dir: PathBuf,
    /// Generate a key and certificate on start when the directory has none.
    pub generate: bool,
    /// Where to write the certificate bundle the registry reads as
    /// `auth.token.rootcertbundle` (every certificate in `dir`).
    pub bundle: PathBuf,
}

impl Default for KeySettings {
    fn default() -> Self {
        KeySettings {
            dir: PathBuf::from("data/keys"),
            generate: true,
            bundle: PathBuf::from("data/keys/bundle.pem"),
        }
    }
}
