//! The signing keys' public halves as a JSON Web Key Set (RFC 7517), and the files the
//! registry reads: the certificate bundle (registry 2.8 and 3.x, `x5c`) and the key set
//! (registry 3.x's `auth.token.jwks`, matched by `kid`).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{json, Value};

use super::error::{io_err, KeyError};
use super::files::{create_dirs, write_replace};
#[cfg(test)]
use super::key_id::jwk_thumbprint;
use super::key_ring::{KeyRing, RingKey};

/// Which `kid` tokens carry, and which the key set names keys by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KidStyle {
    /// The libtrust key id registry 2.x matches, with the certificate in `x5c`: works with
    /// a `rootcertbundle` on registry 2.8 and 3.x alike.
    #[default]
    Libtrust,
    /// The RFC 7638 thumbprint and no `x5c`: for a registry 3.x configured with
    /// `auth.token.jwks` (a token carrying `x5c` must chain to a `rootcertbundle` there,
    /// or it is refused without its `kid` being looked at). Registry 2.8 cannot use it.
    Thumbprint,
}

impl RingKey {
    /// The `kid` this key's tokens carry.
    pub fn token_kid(&self, style: KidStyle) -> &str {
        match style {
            KidStyle::Libtrust => self.kid(),
            KidStyle::Thumbprint => self.jwk_thumbprint(),
        }
    }

    /// The key's public half as a JWK (`use: sig`, its `alg`, `kid` in `style`).
    fn jwk(&self, style: KidStyle) -> Value {
        let mut jwk: serde_json::Map<String, Value> = self
            .jwk_members()
            .iter()
            .map(|(name, value)| (name.to_string(), json!(value)))
            .collect();
        jwk.insert("use".into(), json!("sig"));
        jwk.insert("alg".into(), json!(self.algorithm().as_str()));
        jwk.insert("kid".into(), json!(self.token_kid(style)));
        Value::Object(jwk)
    }
}

/// Where the public halves are written for the registry, and how keys are named there.
#[derive(Debug, Clone)]
pub struct PublicFiles {
    /// PEM certificates: `auth.token.rootcertbundle`.
    pub bundle: PathBuf,
    /// The key set: `auth.token.jwks` (registry 3.x).
    pub jwks: PathBuf,
    pub kid_style: KidStyle,
}

impl KeyRing {
    /// Every key of the ring, oldest first, as a JWK Set: a token signed by a key rotated
    /// out still finds its key until it expires.
    pub fn jwks(&self, style: KidStyle) -> String {
        let keys: Vec<Value> = self.keys().iter().map(|k| k.jwk(style)).collect();
        // `Value`'s Display cannot fail.
        json!({ "keys": keys }).to_string()
    }

    /// Writes the bundle and the key set, each atomically. Both are public, and the
    /// registry (maybe another user) reads them: a directory made for them is 0755.
    pub fn publish(&self, to: &PublicFiles) -> Result<(), KeyError> {
        self.write_bundle(&to.bundle)?;
        write_public(&to.jwks, self.jwks(to.kid_style).as_bytes())
    }
}

fn write_public(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dirs(parent, 0o755).map_err(io_err(parent))?;
    }
    write_replace(path, bytes, 0o644)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infra::crypto::{generate, KeyAlgorithm};
    use jsonwebtoken::jwk::{JwkSet, ThumbprintHash};

    fn ring_of(algs: &[KeyAlgorithm]) -> (tempfile::TempDir, KeyRing) {
        let dir = tempfile::tempdir().unwrap();
        for alg in algs {
            generate(dir.path(), *alg, "regauth test").unwrap();
            // Stamps are per microsecond; never two in one.
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let ring = KeyRing::load(dir.path()).unwrap();
        (dir, ring)
    }

    #[test]
    fn the_key_set_lists_every_key_with_the_kid_tokens_carry() {
        let (_d, ring) = ring_of(&[KeyAlgorithm::Rs256, KeyAlgorithm::Es256]);
        for style in [KidStyle::Libtrust, KidStyle::Thumbprint] {
            // Parsed by an independent implementation (jsonwebtoken's JWK types).
            let set: JwkSet = serde_json::from_str(&ring.jwks(style)).unwrap();
            assert_eq!(set.keys.len(), 2);
            for (jwk, key) in set.keys.iter().zip(ring.keys()) {
                assert_eq!(jwk.common.key_id.as_deref(), Some(key.token_kid(style)));
                // Its thumbprint, computed by jsonwebtoken from the JWK's members, is the
                // one ours computes from the key's DER.
                let theirs = jwk.thumbprint(ThumbprintHash::SHA256).unwrap();
                assert_eq!(Some(theirs), jwk_thumbprint(key.spki_der()));
            }
        }
        let set: JwkSet = serde_json::from_str(&ring.jwks(KidStyle::Thumbprint)).unwrap();
        assert_eq!(
            set.keys[1].common.key_id.as_deref(),
            Some(&*set.keys[1].thumbprint(ThumbprintHash::SHA256).unwrap())
        );
    }

    #[test]
    fn publish_writes_the_bundle_and_the_key_set_public() {
        let (d, ring) = ring_of(&[KeyAlgorithm::Es256]);
        let out = d.path().join("out");
        let to = PublicFiles {
            bundle: out.join("bundle.pem"),
            jwks: out.join("jwks.json"),
            kid_style: KidStyle::Thumbprint,
        };
        ring.publish(&to).unwrap();
        let set: JwkSet = serde_json::from_slice(&std::fs::read(&to.jwks).unwrap()).unwrap();
        assert_eq!(set.keys.len(), 1);
        assert!(std::fs::read_to_string(&to.bundle)
            .unwrap()
            .contains("BEGIN CERTIFICATE"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&to.jwks).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode & 0o044, 0o044, "readable by the registry: {mode:o}");
        }
    }
}
