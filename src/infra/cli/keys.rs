//! `regauth keys generate` (signing keys for rotation) and `regauth certs self-signed`
//! (a TLS certificate for a trial): the two commands that make key material.

use std::path::PathBuf;

use super::args::{CertsCmd, KeysCmd};
use super::outln;
use super::{CliError, CliResult};
use crate::infra::config::Settings;
use crate::infra::crypto::{self, KeyRing};
use crate::infra::tls::self_signed;

pub fn keys(settings: &Settings, cmd: KeysCmd) -> CliResult {
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
                ring.write_bundle(&settings.keys.bundle)
                    .map_err(CliError::from)?;
                outln!("{}", settings.keys.bundle.display());
            }
            Ok(())
        }
    }
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
