//! `generate`: a new key pair and its self-signed certificate in the key directory,
//! named by a stamp that sorts after every key already there.

use std::path::{Path, PathBuf};

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{EcdsaKeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use rand::rngs::OsRng;
use rand::RngCore;
use rustls_pki_types::PrivatePkcs8KeyDer;
use zeroize::Zeroizing;

use super::algorithm::KeyAlgorithm;
use super::error::KeyError;
use super::files::{create_private_dir, write_new};
use super::key_ring::list_stems;
use super::pem;

/// Size of generated RSA keys: the smallest accepted, and RS256 signing cost grows with
/// the cube of it.
const GENERATED_RSA_SIZE: KeySize = KeySize::Rsa2048;
/// Validity of generated certificates. Registries check it on every token, so a short
/// one would silently break authentication years from now; rotation is the real limit.
const CERT_VALIDITY_DAYS: i64 = 3650;
/// Backdating of generated certificates, for registries whose clock runs behind ours.
const CERT_BACKDATE_HOURS: i64 = 1;

/// The two files `generate` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFiles {
    pub stamp: String,
    pub key: PathBuf,
    pub cert: PathBuf,
}

/// Creates a new key pair and its self-signed certificate in `dir` (created 0700 if
/// missing). Never overwrites: the stamp sorts after every key already there.
pub fn generate(dir: &Path, alg: KeyAlgorithm, common_name: &str) -> Result<KeyFiles, KeyError> {
    create_private_dir(dir)?;
    let gen_err = |reason: String| KeyError::Generate {
        dir: dir.to_path_buf(),
        reason,
    };
    let (pkcs8, rcgen_alg) = new_pkcs8(alg).map_err(gen_err)?;
    let key_pair = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
        &PrivatePkcs8KeyDer::from(pkcs8.as_slice()),
        rcgen_alg,
    )
    .map_err(|e| gen_err(e.to_string()))?;
    let cert_pem = self_signed_pem(&key_pair, common_name).map_err(|e| gen_err(e.to_string()))?;
    let key_pem = Zeroizing::new(pem::encode("PRIVATE KEY", &pkcs8).map_err(gen_err)?);

    let stamp = next_stamp(dir)?;
    let files = KeyFiles {
        key: dir.join(format!("{stamp}.key")),
        cert: dir.join(format!("{stamp}.crt")),
        stamp,
    };
    // Certificate first: a crash in between leaves a lone .crt, which `load` reports,
    // rather than a key nobody trusts.
    write_new(&files.cert, cert_pem.as_bytes(), 0o644)?;
    write_new(&files.key, key_pem.as_bytes(), 0o600)?;
    Ok(files)
}

/// A fresh private key as PKCS#8 DER (wiped when dropped), and the algorithm rcgen
/// signs its certificate with.
type NewKey = (Zeroizing<Vec<u8>>, &'static rcgen::SignatureAlgorithm);

/// A new key of `alg`. aws-lc-rs generates both kinds (ring cannot generate RSA keys).
fn new_pkcs8(alg: KeyAlgorithm) -> Result<NewKey, String> {
    let failed = |_| format!("{alg} key generation failed");
    match alg {
        KeyAlgorithm::Rs256 => {
            let key = RsaKeyPair::generate(GENERATED_RSA_SIZE).map_err(failed)?;
            let der = AsDer::<Pkcs8V1Der>::as_der(&key).map_err(failed)?;
            Ok((
                Zeroizing::new(der.as_ref().to_vec()),
                &rcgen::PKCS_RSA_SHA256,
            ))
        }
        KeyAlgorithm::Es256 => {
            let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(failed)?;
            let der = key.to_pkcs8v1().map_err(failed)?;
            Ok((
                Zeroizing::new(der.as_ref().to_vec()),
                &rcgen::PKCS_ECDSA_P256_SHA256,
            ))
        }
    }
}

fn self_signed_pem(key_pair: &rcgen::KeyPair, common_name: &str) -> Result<String, rcgen::Error> {
    let mut params = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, common_name);
    params.distinguished_name = dn;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(CERT_BACKDATE_HOURS);
    params.not_after = now + time::Duration::days(CERT_VALIDITY_DAYS);
    params.serial_number = Some(random_serial());
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    Ok(params.self_signed(key_pair)?.pem())
}

/// A random 128-bit certificate serial: unique without a counter to keep, so clients
/// never see two different certificates with the same issuer and serial.
pub(crate) fn random_serial() -> rcgen::SerialNumber {
    let mut serial = [0u8; 16];
    OsRng.fill_bytes(&mut serial);
    // Positive and full length (RFC 5280: at most 20 octets, positive).
    serial[0] = (serial[0] & 0x7f) | 0x40;
    rcgen::SerialNumber::from_slice(&serial)
}

/// `20261122T142300Z-1a2b`: UTC time then 4 random hex digits. If the newest key in the
/// directory would sort after it (same second, or a clock that went back), the new
/// stamp reuses that key's time and takes a larger suffix, so "newest signs" holds.
fn next_stamp(dir: &Path) -> Result<String, KeyError> {
    let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let now = time::OffsetDateTime::now_utc()
        .format(fmt)
        .map_err(|e| KeyError::Generate {
            dir: dir.to_path_buf(),
            reason: e.to_string(),
        })?;
    let newest = list_stems(dir)?.into_iter().max();
    let mut rnd = [0u8; 2];
    OsRng.fill_bytes(&mut rnd);
    let random = u16::from_be_bytes(rnd);
    let candidate = format!("{now}-{random:04x}");
    match newest {
        Some(newest) if newest >= candidate => {
            let (time_part, suffix) = newest.rsplit_once('-').unwrap_or((newest.as_str(), ""));
            let last = u16::from_str_radix(suffix, 16)
                .ok()
                .filter(|_| suffix.len() == 4);
            match last {
                Some(last) if last < u16::MAX && time_part.len() == now.len() => {
                    let room = u16::MAX - last;
                    Ok(format!("{time_part}-{:04x}", last + 1 + random % room))
                }
                // The newest stem is not one of ours (or its suffix is exhausted):
                // append to it, which still sorts after it.
                _ => Ok(format!("{newest}-{random:04x}")),
            }
        }
        _ => Ok(candidate),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infra::crypto::KeyRing;
    use std::fs;

    #[test]
    fn stamps_after_a_foreign_newest_key_still_sort_last() {
        let dir = tempfile::tempdir().unwrap();
        let a = generate(dir.path(), KeyAlgorithm::Es256, "a").unwrap();
        // An operator's pair named to sort after anything time-stamped.
        fs::copy(&a.key, dir.path().join("zz-operator.key")).unwrap();
        fs::copy(&a.cert, dir.path().join("zz-operator.crt")).unwrap();
        let b = generate(dir.path(), KeyAlgorithm::Es256, "a").unwrap();
        assert!(b.stamp.as_str() > "zz-operator", "{}", b.stamp);
        let ring = KeyRing::load(dir.path()).unwrap();
        assert_eq!(ring.signing_key().stamp(), b.stamp);
    }

    #[test]
    fn generated_files_are_pkcs8_and_a_certificate_with_a_private_key_mode() {
        for alg in [KeyAlgorithm::Es256, KeyAlgorithm::Rs256] {
            let dir = tempfile::tempdir().unwrap();
            let files = generate(&dir.path().join("keys"), alg, "regauth test").unwrap();
            let key = fs::read_to_string(&files.key).unwrap();
            assert!(key.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{alg}");
            let cert = fs::read_to_string(&files.cert).unwrap();
            assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"), "{alg}");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode(&files.key), 0o600);
                assert_eq!(mode(&dir.path().join("keys")), 0o700);
            }
        }
    }

    #[test]
    fn serials_are_positive_full_length_and_differ() {
        let a = random_serial().to_bytes();
        let b = random_serial().to_bytes();
        assert_eq!(a.len(), 16);
        assert_eq!(a[0] & 0xc0, 0x40);
        assert_ne!(a, b);
    }
}
