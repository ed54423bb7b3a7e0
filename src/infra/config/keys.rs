//! The `[keys]` section: where the signing keys live, whether one is made on first
//! start, where the registry's certificate bundle and key set are written, and which
//! `kid` tokens carry. Nothing to refuse: a directory that cannot be used is reported
//! when the keys are loaded.

use std::path::PathBuf;

use serde::Deserialize;

use crate::infra::crypto::{KidStyle, PublicFiles};

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
    /// Where to write the key set (JWKS) a registry 3.x reads as `auth.token.jwks`;
    /// unset: `jwks.json` beside the bundle.
    pub jwks: Option<PathBuf>,
    /// `libtrust` (tokens carry the libtrust `kid` and the certificate in `x5c`: registry
    /// 2.8 and 3.x with `rootcertbundle`) or `thumbprint` (the RFC 7638 thumbprint and no
    /// `x5c`: registry 3.x with `jwks`).
    pub kid: KidStyle,
}

impl KeySettings {
    /// The files the registry reads, and how keys are named in them.
    pub fn public_files(&self) -> PublicFiles {
        PublicFiles {
            bundle: self.bundle.clone(),
            jwks: self
                .jwks
                .clone()
                .unwrap_or_else(|| self.bundle.with_file_name("jwks.json")),
            kid_style: self.kid,
        }
    }
}

impl Default for KeySettings {
    fn default() -> Self {
        KeySettings {
            dir: PathBuf::from("data/keys"),
            generate: true,
            bundle: PathBuf::from("data/keys/bundle.pem"),
            jwks: None,
            kid: KidStyle::default(),
        }
    }
}
