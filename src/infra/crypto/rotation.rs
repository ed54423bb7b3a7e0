//! Key rotation: which key the server signs with since when, and retiring an old key
//! once no unexpired token can carry it.
//!
//! The sequence that loses no pull: `regauth keys rotate` adds a key and rewrites the
//! bundle; the registry is restarted so it trusts the new certificate (and still the old
//! ones); regauth is restarted so it signs with the new key. At start regauth writes
//! `signing.json` in the key directory: the kid it signs with and since when. A key may
//! be retired when it does not sign and the server has signed with another for longer
//! than a token lives (plus the registry's leeway), so every token it signed has expired.

use std::fs;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::{io_err, KeyError};
use super::files::write_replace;
use super::jwks::PublicFiles;
use super::key_ring::KeyRing;
use crate::domain::model::UnixTime;

/// The file beside the keys recording what the server signs with.
const SIGNING_RECORD: &str = "signing.json";
/// The registry accepts a token this long past its `exp`.
const REGISTRY_LEEWAY: Duration = Duration::from_secs(60);

/// What the server signs with, since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningRecord {
    pub kid: String,
    pub since: UnixTime,
}

#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error("no key with kid {0} in the key directory")]
    UnknownKid(String),
    #[error("{0} is the newest key: the server signs with it (rotate first)")]
    Newest(String),
    #[error("the server has not started with a newer key yet (no {SIGNING_RECORD}, or it still names {0}): restart regauth after rotating, then wait for its tokens to expire")]
    StillSigning(String),
    #[error("tokens signed by {kid} may be valid until {until}: retire it after that")]
    TooSoon { kid: String, until: String },
}

/// Records that the server signs with `kid` from `now` on (kept when it already did).
pub fn record_signing(dir: &Path, kid: &str, now: UnixTime) -> Result<SigningRecord, KeyError> {
    if let Some(current) = read_signing(dir) {
        if current.kid == kid {
            return Ok(current);
        }
    }
    let record = SigningRecord {
        kid: kid.to_string(),
        since: now,
    };
    let text = serde_json::to_vec_pretty(&record).unwrap_or_default();
    write_replace(&dir.join(SIGNING_RECORD), &text, 0o644)?;
    Ok(record)
}

/// The signing record, if the server wrote one.
pub fn read_signing(dir: &Path) -> Option<SigningRecord> {
    let text = fs::read(dir.join(SIGNING_RECORD)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// When a key that stopped signing at `since` carries no valid token any more.
pub fn retirable_at(since: UnixTime, token_lifetime: Duration) -> UnixTime {
    let wait = token_lifetime + REGISTRY_LEEWAY;
    since.saturating_add(i64::try_from(wait.as_secs()).unwrap_or(i64::MAX))
}

/// Removes the key `kid` (its key and certificate files) when that is safe, and rewrites
/// the bundle and the key set with the keys left.
pub fn retire(
    dir: &Path,
    public: &PublicFiles,
    kid: &str,
    now: UnixTime,
    token_lifetime: Duration,
) -> Result<(), RotationError> {
    let ring = KeyRing::load(dir)?;
    let key = ring
        .keys()
        .iter()
        .find(|k| k.kid() == kid)
        .ok_or_else(|| RotationError::UnknownKid(kid.to_string()))?;
    if ring.signing_kid() == kid {
        return Err(RotationError::Newest(kid.to_string()));
    }
    let record = read_signing(dir)
        .filter(|r| r.kid != kid)
        .ok_or_else(|| RotationError::StillSigning(kid.to_string()))?;
    let until = retirable_at(record.since, token_lifetime);
    if now < until {
        return Err(RotationError::TooSoon {
            kid: kid.to_string(),
            until: crate::domain::model::rfc3339(until).unwrap_or_default(),
        });
    }
    let (key_path, cert_path) = (key.key_path().to_path_buf(), key.cert_path().to_path_buf());
    // The private key goes first: a crash in between leaves a lone certificate, which
    // loading reports, never a key nobody trusts.
    fs::remove_file(&key_path).map_err(io_err(&key_path))?;
    fs::remove_file(&cert_path).map_err(io_err(&cert_path))?;
    KeyRing::load(dir)?.publish(public)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infra::crypto::{generate, KeyAlgorithm};

    #[test]
    fn a_key_retires_only_after_the_server_moved_on_and_its_tokens_expired() {
        let dir = tempfile::tempdir().unwrap();
        let public = PublicFiles {
            bundle: dir.path().join("bundle/bundle.pem"),
            jwks: dir.path().join("bundle/jwks.json"),
            kid_style: crate::infra::crypto::KidStyle::Libtrust,
        };
        let bundle = &public.bundle;
        let keys = dir.path().join("keys");
        generate(&keys, KeyAlgorithm::Es256, "t").unwrap();
        let old = KeyRing::load(&keys).unwrap().signing_kid().to_string();
        record_signing(&keys, &old, 1_000).unwrap();
        let life = Duration::from_secs(300);
        assert!(matches!(
            retire(&keys, &public, &old, 5_000, life),
            Err(RotationError::Newest(_))
        ));

        // Rotate: a new key, but the server has not restarted yet.
        generate(&keys, KeyAlgorithm::Es256, "t").unwrap();
        let new = KeyRing::load(&keys).unwrap().signing_kid().to_string();
        assert_ne!(old, new);
        assert!(matches!(
            retire(&keys, &public, &old, 5_000, life),
            Err(RotationError::StillSigning(_))
        ));
        // The server restarts at 2,000 and signs with the new key.
        record_signing(&keys, &new, 2_000).unwrap();
        assert_eq!(read_signing(&keys).unwrap().since, 2_000);
        record_signing(&keys, &new, 2_500).unwrap();
        assert_eq!(
            read_signing(&keys).unwrap().since,
            2_000,
            "a restart with the same key keeps the time"
        );
        assert!(matches!(
            retire(&keys, &public, &old, 2_359, life),
            Err(RotationError::TooSoon { .. })
        ));
        assert!(matches!(
            retire(&keys, &public, "NOPE", 2_360, life),
            Err(RotationError::UnknownKid(_))
        ));
        retire(&keys, &public, &old, 2_360, life).unwrap();
        let ring = KeyRing::load(&keys).unwrap();
        assert_eq!(ring.keys().len(), 1);
        assert_eq!(ring.signing_kid(), new);
        let bundle_text = fs::read_to_string(bundle).unwrap();
        assert_eq!(bundle_text.matches("BEGIN CERTIFICATE").count(), 1);
        let jwks: serde_json::Value =
            serde_json::from_slice(&fs::read(&public.jwks).unwrap()).unwrap();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
        assert_eq!(jwks["keys"][0]["kid"], new);
    }
}
