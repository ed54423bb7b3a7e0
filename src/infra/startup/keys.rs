//! The signing keys at start: the first key generated under a lock (replicas may start
//! together), the ring loaded, and the bundle and key set the registry reads written.

use std::path::Path;

use crate::app::clock::SystemClock;
use crate::domain::ports::Clock;
use crate::infra::config::Settings;
use crate::infra::crypto::{self, rotation, KeyError, KeyRing};

/// Loads the key directory, generating a first key when configured to, and writes the
/// bundle the registry reads (every certificate, so a rotated-out key's tokens stay
/// valid until the registry reloads).
pub(super) fn load_keys(settings: &Settings) -> Result<KeyRing, KeyError> {
    let dir = &settings.keys.dir;
    if settings.keys.generate && !has_keys(dir) {
        // Replicas sharing the key directory may start together: the first to hold the
        // lock generates, the others then find its key.
        let lock_failed = |source| KeyError::Io {
            path: dir.clone(),
            source,
        };
        // The key directory is private from its first moment (`generate` would tighten
        // it, but only after the lock file is in it); so is the lock file.
        crypto::create_dirs(dir, crypto::PRIVATE_DIR).map_err(lock_failed)?;
        let lock = lock_file(&dir.join(".generate.lock")).map_err(lock_failed)?;
        lock.lock().map_err(lock_failed)?;
        if !has_keys(dir) {
            let files = crypto::generate(dir, settings.token.algorithm, &settings.token.issuer)?;
            tracing::info!(key = %files.key.display(), cert = %files.cert.display(), "generated a signing key");
        }
        drop(lock);
    }
    let ring = KeyRing::load(dir)?;
    let public = settings.keys.public_files();
    ring.publish(&public)?;
    let signing = rotation::record_signing(dir, ring.signing_kid(), SystemClock.now())?;
    tracing::info!(kid = %signing.kid, since = signing.since, "signing key recorded");
    tracing::info!(bundle = %public.bundle.display(), jwks = %public.jwks.display(), kid = %ring.signing_kid(), "certificate bundle and key set written");
    Ok(ring)
}

/// The generation lock file, created mode 0600 (never rewritten: holding it is all).
fn lock_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(crypto::PRIVATE_FILE);
    }
    opts.open(path)
}

fn has_keys(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .any(|e| e.path().extension().is_some_and(|x| x == "key"))
        })
        .unwrap_or(false)
}
