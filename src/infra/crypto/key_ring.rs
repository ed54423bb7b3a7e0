//! `KeyRing`: every key/certificate pair of the key directory, checked pair by pair; the
//! newest signs, and all their certificates make the registry's bundle.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use zeroize::Zeroizing;

use super::algorithm::KeyAlgorithm;
use super::error::{io_err, KeyError};
use super::files::{create_dirs, write_replace};
use super::key_id::{jwk_members, libtrust_kid, thumbprint_of};
use super::pem::{self, describe_pem_error};
use super::private_key::PrivateKey;
use super::x509::{certificate_not_after, certificate_spki, same_public_key};

/// One key of the ring with its certificate.
pub struct RingKey {
    stamp: String,
    key_path: PathBuf,
    cert_path: PathBuf,
    private: PrivateKey,
    cert_der: Vec<u8>,
    spki_der: Vec<u8>,
    kid: String,
    /// The public half's JWK members (RFC 7638 order) and their thumbprint, made once.
    jwk_members: Vec<(&'static str, String)>,
    thumbprint: String,
    /// The certificate's notAfter, Unix seconds.
    not_after: u64,
}

impl fmt::Debug for RingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingKey")
            .field("stamp", &self.stamp)
            .field("algorithm", &self.algorithm())
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl RingKey {
    fn load(dir: &Path, stamp: &str) -> Result<RingKey, KeyError> {
        let key_path = dir.join(format!("{stamp}.key"));
        let cert_path = dir.join(format!("{stamp}.crt"));
        let key_pem = Zeroizing::new(fs::read(&key_path).map_err(io_err(&key_path))?);
        let bad_key = |reason: String| KeyError::BadKey {
            path: key_path.clone(),
            reason,
        };
        let private = PrivateKey::from_pem(&key_pem).map_err(bad_key)?;
        let spki_der = private.spki_der().map_err(bad_key)?;
        let jwk_members = jwk_members(&spki_der)
            .ok_or_else(|| bad_key("not an RSA or uncompressed P-256 key".into()))?;
        let cert_pem = fs::read(&cert_path).map_err(io_err(&cert_path))?;
        let bad_cert = |reason: String| KeyError::BadCert {
            path: cert_path.clone(),
            reason,
        };
        let mut certs = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad_cert(describe_pem_error(&e)))?;
        let cert_der = match certs.len() {
            1 => certs.remove(0).to_vec(),
            0 => return Err(bad_cert("no CERTIFICATE block".into())),
            n => return Err(bad_cert(format!("{n} certificates, expected exactly one"))),
        };
        let cert_spki =
            certificate_spki(&cert_der).map_err(|e| bad_cert(format!("bad X.509: {e}")))?;
        if !same_public_key(&cert_spki, &spki_der) {
            return Err(KeyError::Mismatch {
                key: key_path,
                cert: cert_path,
            });
        }
        let not_after =
            certificate_not_after(&cert_der).map_err(|e| bad_cert(format!("bad X.509: {e}")))?;
        Ok(RingKey {
            stamp: stamp.to_string(),
            kid: libtrust_kid(&spki_der),
            thumbprint: thumbprint_of(&jwk_members),
            jwk_members,
            not_after,
            key_path,
            cert_path,
            private,
            cert_der,
            spki_der,
        })
    }

    /// The file stem, which orders keys by age.
    pub fn stamp(&self) -> &str {
        &self.stamp
    }

    pub fn key_path(&self) -> &Path {
        &self.key_path
    }

    pub fn cert_path(&self) -> &Path {
        &self.cert_path
    }

    pub fn algorithm(&self) -> KeyAlgorithm {
        self.private.algorithm()
    }

    /// The parsed private key, which signs.
    pub fn private_key(&self) -> &PrivateKey {
        &self.private
    }

    /// DER of the certificate (what goes, base64, into the token's `x5c`).
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// DER SubjectPublicKeyInfo of the key: what a verifier needs.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The libtrust key id of the key (= of its certificate).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The RFC 7638 thumbprint of the key (registry 3.x's key name).
    pub fn jwk_thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// The public half's required JWK members, in RFC 7638 order.
    pub fn jwk_members(&self) -> &[(&'static str, String)] {
        &self.jwk_members
    }

    pub fn cert_pem(&self) -> String {
        pem::encode("CERTIFICATE", &self.cert_der).unwrap_or_default()
    }

    /// When the certificate ends (its notAfter), Unix seconds: a registry refuses the
    /// key's tokens after that.
    pub fn not_after(&self) -> u64 {
        self.not_after
    }
}

/// Every signing key of the key directory, oldest first; never empty.
#[derive(Debug)]
pub struct KeyRing {
    keys: Vec<RingKey>,
}

impl KeyRing {
    /// Reads every key/certificate pair of `dir`. A key without its certificate (or the
    /// reverse), an unreadable file or a certificate for another key is an error naming
    /// the file: a half-rotated directory must not start signing with the wrong key.
    pub fn load(dir: &Path) -> Result<KeyRing, KeyError> {
        let files = list_files(dir)?;
        let has = |stem: &str, ext: &str| files.iter().any(|(s, e)| s == stem && *e == ext);
        for (stem, ext) in &files {
            let other = if *ext == "key" { "crt" } else { "key" };
            if !has(stem, other) {
                return Err(KeyError::Unpaired {
                    path: dir.join(format!("{stem}.{ext}")),
                    missing: dir.join(format!("{stem}.{other}")),
                });
            }
        }
        let mut stems: Vec<&str> = files
            .iter()
            .filter(|(_, e)| *e == "key")
            .map(|(s, _)| s.as_str())
            .collect();
        stems.sort_unstable();
        let keys = stems
            .into_iter()
            .map(|stem| RingKey::load(dir, stem))
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(KeyError::NoKeys {
                dir: dir.to_path_buf(),
            });
        }
        Ok(KeyRing { keys })
    }

    /// The newest key: the one that signs.
    pub fn signing_key(&self) -> &RingKey {
        // `load` never builds an empty ring; indexing the last of a non-empty Vec.
        &self.keys[self.keys.len() - 1]
    }

    pub fn signing_kid(&self) -> &str {
        self.signing_key().kid()
    }

    /// All keys, oldest first.
    pub fn keys(&self) -> &[RingKey] {
        &self.keys
    }

    /// Every certificate, oldest first, for the registry's `auth.token.rootcertbundle`.
    fn bundle_pem(&self) -> String {
        self.keys.iter().map(RingKey::cert_pem).collect()
    }

    /// Writes `bundle_pem` to `path` atomically (creating the parent directory). The
    /// bundle is public, and the registry (maybe another user) reads it: a directory made
    /// for it is 0755, never wider whatever the umask (a directory others could write to
    /// would let them swap the registry's trust anchors).
    pub fn write_bundle(&self, path: &Path) -> Result<(), KeyError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_dirs(parent, 0o755).map_err(io_err(parent))?;
        }
        write_replace(path, self.bundle_pem().as_bytes(), 0o644)
    }

    /// (kid, algorithm, DER SubjectPublicKeyInfo) of every key, oldest first: what the
    /// tests verify our tokens with.
    #[cfg(test)]
    pub fn verify_keys(&self) -> Vec<(&str, KeyAlgorithm, &[u8])> {
        self.keys
            .iter()
            .map(|k| (k.kid(), k.algorithm(), k.spki_der()))
            .collect()
    }
}

/// Stems of every `*.key` and `*.crt` in `dir` (hidden files, such as our temporary
/// files, are skipped). A missing directory has none.
pub(super) fn list_stems(dir: &Path) -> Result<Vec<String>, KeyError> {
    Ok(list_files(dir)?.into_iter().map(|(stem, _)| stem).collect())
}

/// (stem, extension) of the key and certificate files in `dir`.
fn list_files(dir: &Path) -> Result<Vec<(String, &'static str)>, KeyError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(dir)(e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_err(dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('.') {
            continue;
        }
        let found = [("key", ".key"), ("crt", ".crt")]
            .into_iter()
            .find_map(|(ext, suffix)| {
                name.strip_suffix(suffix)
                    .map(|stem| (stem.to_string(), ext))
            });
        if let Some((stem, ext)) = found.filter(|(stem, _)| !stem.is_empty()) {
            out.push((stem, ext));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infra::crypto::test_support::{
        assert_kid_format, jwt_algorithm, pem, pem_der, pkcs1_of, RSA_1024_PKCS8_PEM,
    };
    use crate::infra::crypto::{generate, KeyFiles};
    use aws_lc_rs::encoding::{AsDer, EcPrivateKeyRfc5915Der};
    use aws_lc_rs::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};

    #[test]
    fn generated_es256_key_loads_with_matching_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let files = generate(dir.path(), KeyAlgorithm::Es256, "regauth test").unwrap();
        assert!(files.stamp.len() == 21, "{}", files.stamp);
        assert_eq!(files.key, dir.path().join(format!("{}.key", files.stamp)));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&files.key).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let ring = KeyRing::load(dir.path()).unwrap();
        let key = ring.signing_key();
        assert_eq!(key.algorithm(), KeyAlgorithm::Es256);
        assert_kid_format(key.kid());
        assert_eq!(certificate_spki(key.cert_der()).unwrap(), key.spki_der());
        assert_eq!(
            ring.signing_kid(),
            libtrust_kid(&certificate_spki(key.cert_der()).unwrap())
        );
        // The key signs, and the certificate's key verifies it.
        let sig = key.private_key().sign(b"message").unwrap();
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, key.spki_der())
            .verify(b"message", &sig)
            .unwrap();
        assert_eq!(
            ring.verify_keys(),
            [(key.kid(), KeyAlgorithm::Es256, key.spki_der())]
        );
        assert!(!key.jwk_thumbprint().is_empty());
        // No temporary files left behind.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn the_signing_certificates_end_is_read_and_recorded_for_metrics() {
        let dir = tempfile::tempdir().unwrap();
        let now = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
        };
        let before = now();
        generate(dir.path(), KeyAlgorithm::Es256, "regauth test").unwrap();
        let after = now();
        let ring = KeyRing::load(dir.path()).unwrap();
        let key = ring.signing_key();
        // `generate` writes certificates valid for 3650 days (whole seconds in X.509).
        let ten_years = 3650 * 86_400;
        assert!(
            (before + ten_years - 1..=after + ten_years).contains(&key.not_after()),
            "{} not in {before}..={after} + {ten_years}",
            key.not_after()
        );
    }

    #[test]
    fn generated_rs256_key_loads_with_matching_certificate() {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path(), KeyAlgorithm::Rs256, "regauth test").unwrap();
        let ring = KeyRing::load(dir.path()).unwrap();
        let key = ring.signing_key();
        assert_eq!(key.algorithm(), KeyAlgorithm::Rs256);
        assert_eq!(
            jwt_algorithm(key.algorithm()),
            jsonwebtoken::Algorithm::RS256
        );
        assert_kid_format(key.kid());
        assert_eq!(certificate_spki(key.cert_der()).unwrap(), key.spki_der());
        let text = fs::read_to_string(key.key_path()).unwrap();
        assert!(
            text.starts_with("-----BEGIN PRIVATE KEY-----"),
            "PKCS#8 expected"
        );
        assert!(format!("{:?}", key.private_key()).contains("2048 bits"));
    }

    #[test]
    fn newest_key_signs_and_bundle_has_every_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let first = generate(dir.path(), KeyAlgorithm::Es256, "a").unwrap();
        let second = generate(dir.path(), KeyAlgorithm::Es256, "a").unwrap();
        let third = generate(dir.path(), KeyAlgorithm::Es256, "a").unwrap();
        assert!(first.stamp < second.stamp && second.stamp < third.stamp);
        let ring = KeyRing::load(dir.path()).unwrap();
        assert_eq!(ring.keys().len(), 3);
        assert_eq!(ring.signing_key().stamp(), third.stamp);
        let bundle = ring.bundle_pem();
        let certs = CertificateDer::pem_slice_iter(bundle.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        assert_eq!(certs.len(), 3);
        for (cert, key) in certs.iter().zip(ring.keys()) {
            assert_eq!(cert.as_ref(), key.cert_der());
        }
        let out = dir.path().join("bundle/root.crt");
        ring.write_bundle(&out).unwrap();
        assert_eq!(fs::read_to_string(&out).unwrap(), bundle);
        // Rewriting replaces.
        ring.write_bundle(&out).unwrap();
        assert_eq!(fs::read_to_string(&out).unwrap(), bundle);
    }

    /// Loads a directory whose one generated pair lost the file `lost` names: the pair's
    /// files and the error.
    fn load_without(lost: fn(&KeyFiles) -> &PathBuf) -> (KeyFiles, KeyError) {
        let dir = tempfile::tempdir().unwrap();
        let files = generate(dir.path(), KeyAlgorithm::Es256, "a").unwrap();
        fs::remove_file(lost(&files)).unwrap();
        let err = KeyRing::load(dir.path()).unwrap_err();
        (files, err)
    }

    #[test]
    fn unpaired_files_are_errors_naming_the_file() {
        let (files, err) = load_without(|f| &f.cert);
        assert!(
            err.to_string().contains(&format!("{}.key", files.stamp)),
            "{err}"
        );
        assert!(
            err.to_string().contains(&format!("{}.crt", files.stamp)),
            "{err}"
        );

        let (files, err) = load_without(|f| &f.key);
        assert!(
            matches!(&err, KeyError::Unpaired { path, .. } if *path == files.cert),
            "{err}"
        );
    }

    #[test]
    fn empty_or_missing_directory_has_no_keys() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            KeyRing::load(dir.path()),
            Err(KeyError::NoKeys { .. })
        ));
        let missing = dir.path().join("nope");
        assert!(matches!(
            KeyRing::load(&missing),
            Err(KeyError::NoKeys { .. })
        ));
    }

    #[test]
    fn a_certificate_for_another_key_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let a = generate(dir.path(), KeyAlgorithm::Es256, "a").unwrap();
        let b = generate(dir.path(), KeyAlgorithm::Es256, "b").unwrap();
        fs::remove_file(&a.cert).unwrap();
        fs::copy(&b.cert, &a.cert).unwrap();
        let err = KeyRing::load(dir.path()).unwrap_err();
        assert!(
            matches!(&err, KeyError::Mismatch { cert, .. } if *cert == a.cert),
            "{err}"
        );
    }

    #[test]
    fn garbage_key_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("k.key"), "not a key").unwrap();
        fs::write(dir.path().join("k.crt"), "not a cert").unwrap();
        let err = KeyRing::load(dir.path()).unwrap_err();
        assert!(matches!(&err, KeyError::BadKey { .. }), "{err}");
        assert!(err.to_string().contains("k.key"), "{err}");
    }

    #[test]
    fn garbage_or_extra_certificates_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let files = generate(dir.path(), KeyAlgorithm::Es256, "a").unwrap();
        let cert = fs::read_to_string(&files.cert).unwrap();
        for (content, why) in [
            (String::from("not a cert"), "no CERTIFICATE"),
            (format!("{cert}{cert}"), "2 certificates"),
            (pem("CERTIFICATE", b"junk"), "bad X.509"),
        ] {
            fs::write(&files.cert, content).unwrap();
            let err = KeyRing::load(dir.path()).unwrap_err();
            assert!(
                matches!(&err, KeyError::BadCert { path, .. } if *path == files.cert),
                "{err}"
            );
            assert!(err.to_string().contains(why), "{err}");
        }
    }

    #[test]
    fn sec1_and_pkcs1_keys_from_operators_are_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let gen = generate(dir.path(), KeyAlgorithm::Es256, "a").unwrap();
        let ring = KeyRing::load(dir.path()).unwrap();
        let PrivateKey::P256(secret) = ring.signing_key().private_key() else {
            panic!("expected P-256")
        };
        let sec1: EcPrivateKeyRfc5915Der = secret.private_key().as_der().unwrap();
        let sec1 = pem("EC PRIVATE KEY", sec1.as_ref());
        assert!(sec1.starts_with("-----BEGIN EC PRIVATE KEY-----"));
        fs::remove_file(&gen.key).unwrap();
        fs::write(&gen.key, sec1.as_bytes()).unwrap();
        let reloaded = KeyRing::load(dir.path()).unwrap();
        assert_eq!(reloaded.signing_kid(), ring.signing_kid());

        let dir = tempfile::tempdir().unwrap();
        let gen = generate(dir.path(), KeyAlgorithm::Rs256, "a").unwrap();
        let ring = KeyRing::load(dir.path()).unwrap();
        assert!(matches!(
            ring.signing_key().private_key(),
            PrivateKey::Rsa(_)
        ));
        let pkcs8 = pem_der(&fs::read_to_string(&gen.key).unwrap());
        let pkcs1 = pem("RSA PRIVATE KEY", &pkcs1_of(&pkcs8));
        assert!(pkcs1.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        fs::remove_file(&gen.key).unwrap();
        fs::write(&gen.key, pkcs1.as_bytes()).unwrap();
        let reloaded = KeyRing::load(dir.path()).unwrap();
        assert_eq!(reloaded.signing_key().algorithm(), KeyAlgorithm::Rs256);
        assert_eq!(reloaded.signing_kid(), ring.signing_kid());
    }

    #[test]
    fn small_rsa_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("s.key"), RSA_1024_PKCS8_PEM).unwrap();
        fs::write(dir.path().join("s.crt"), "").unwrap();
        let err = KeyRing::load(dir.path()).unwrap_err();
        assert!(err.to_string().contains("1024 bits"), "{err}");
    }
}
