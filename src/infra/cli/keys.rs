//! `regauth keys generate` (signing keys for rotation) and `regauth certs self-signed`
//! (a TLS certificate for a trial): the two commands that make key material.

use std::path::PathBuf;
use std::time::Duration;

use super::args::{CertsCmd, KeysCmd};
use super::outln;
use super::{CliError, CliResult};
use crate::domain::model::{rfc3339, UnixTime};
use crate::infra::config::Settings;
use crate::infra::crypto::{self, rotation, KeyRing};
use crate::infra::tls::self_signed;

pub fn keys(settings: &Settings, now: UnixTime, cmd: KeysCmd) -> CliResult {
    match cmd {
        KeysCmd::Generate {
            dir,
            algorithm,
            bundle,
        } => {
            let dir: PathBuf = dir.unwrap_or_else(|| settings.keys.dir.clone());
            let alg = algorithm.unwrap_or(settings.token.algorithm);
            let files =
                crypto::generate(&dir, alg, &settings.token.issuer).map_err(CliError::from)?;
            outln!("{}", files.key.display());
            outln!("{}", files.cert.display());
            if bundle {
                let ring = KeyRing::load(&dir).map_err(CliError::from)?;
                ring.publish(&settings.keys.public_files())
                    .map_err(CliError::from)?;
                outln!("{}", settings.keys.bundle.display());
            }
            Ok(())
        }
        KeysCmd::Rotate { algorithm } => {
            let dir = &settings.keys.dir;
            let alg = algorithm.unwrap_or(settings.token.algorithm);
            crypto::generate(dir, alg, &settings.token.issuer).map_err(CliError::from)?;
            let ring = KeyRing::load(dir).map_err(CliError::from)?;
            let public = settings.keys.public_files();
            ring.publish(&public).map_err(CliError::from)?;
            outln!("{}", ring.signing_kid());
            eprintln!(
                "new key {} added and {} and {} rewritten: restart the registry, then regauth",
                ring.signing_kid(),
                public.bundle.display(),
                public.jwks.display()
            );
            Ok(())
        }
        KeysCmd::List => {
            let dir = &settings.keys.dir;
            let ring = KeyRing::load(dir).map_err(CliError::from)?;
            let record = rotation::read_signing(dir);
            let life = token_lifetime(settings);
            for key in ring.keys() {
                let state = match &record {
                    Some(r) if r.kid == key.kid() => "signing".to_string(),
                    _ if key.kid() == ring.signing_kid() => "newest (signs after a restart)".into(),
                    Some(r) => {
                        let at = rotation::retirable_at(r.since, life);
                        if at <= now {
                            "retirable".into()
                        } else {
                            format!("retirable from {}", rfc3339(at).unwrap_or_default())
                        }
                    }
                    None => "older".into(),
                };
                outln!(
                    "{}\t{}\t{}\t{}",
                    key.kid(),
                    key.algorithm(),
                    key.stamp(),
                    state
                );
            }
            Ok(())
        }
        KeysCmd::Retire { kid } => {
            let life = token_lifetime(settings);
            let public = settings.keys.public_files();
            rotation::retire(&settings.keys.dir, &public, &kid, now, life)
                .map_err(CliError::from)?;
            eprintln!(
                "retired {kid}; {} and {} rewritten",
                public.bundle.display(),
                public.jwks.display()
            );
            Ok(())
        }
    }
}

/// How long a token lives, at most: its TTL plus the skew `nbf` allows.
fn token_lifetime(settings: &Settings) -> Duration {
    Duration::from_secs(settings.token.ttl_seconds + settings.token.not_before_skew_seconds)
}

/// Needs no configuration: certificates are made before the configuration that names
/// them exists.
pub fn certs(cmd: CertsCmd) -> CliResult {
    match cmd {
        CertsCmd::SelfSigned {
            out,
            hosts,
            days,
            force,
        } => {
            let files =
                self_signed::self_signed(&out, &hosts, days, force).map_err(CliError::from)?;
            outln!("{}", files.ca_cert.display());
            outln!("{}", files.server_cert.display());
            outln!("{}", files.server_key.display());
            Ok(())
        }
    }
}
