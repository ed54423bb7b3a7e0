//! Signing keys and certificates.
//!
//! The key directory holds pairs `<stamp>.key` (PKCS#8, mode 0600) and `<stamp>.crt`
//! (a self-signed certificate for the same key). Stamps sort by creation time, so the
//! lexicographically last pair is the newest and signs; every certificate goes into the
//! bundle the registry trusts, so tokens signed by a key that was rotated out stay valid
//! until they expire. Operators may drop in their own pairs (any stem, RSA ≥ 2048 bits or
//! P-256, PKCS#8/PKCS#1/SEC1 PEM); they sort by name like the generated ones.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use p256::pkcs8::der::{self, pem, Decode, Reader, SliceReader, Tag, TagNumber, Tagged};
use p256::pkcs8::{
    EncodePrivateKey, EncodePublicKey, LineEnding, ObjectIdentifier, PrivateKeyInfo,
};
use rand::rngs::OsRng;
use rand::RngCore;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha256};

/// Smallest RSA modulus accepted, in bits (RS256 with less is not worth trusting).
const MIN_RSA_BITS: usize = 2048;
/// Size of generated RSA keys, in bits.
const GENERATED_RSA_BITS: usize = 2048;
/// Validity of generated certificates. Registries check it on every token, so a short
/// one would silently break authentication years from now; rotation is the real limit.
const CERT_VALIDITY_DAYS: i64 = 3650;
/// Backdating of generated certificates, for registries whose clock runs behind ours.
const CERT_BACKDATE_HOURS: i64 = 1;

const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: not a usable private key: {reason}", path.display())]
    BadKey { path: PathBuf, reason: String },
    #[error("{}: not a usable certificate: {reason}", path.display())]
    BadCert { path: PathBuf, reason: String },
    #[error("{}: has no matching {missing}", path.display())]
    Unpaired { path: PathBuf, missing: PathBuf },
    #[error("{}: certificate is not for the key in {}", cert.display(), key.display())]
    Mismatch { key: PathBuf, cert: PathBuf },
    #[error("{}: no signing key (a *.key with its *.crt)", dir.display())]
    NoKeys { dir: PathBuf },
    #[error("{}: already exists, not overwriting", path.display())]
    Exists { path: PathBuf },
    #[error("{}: cannot generate a key: {reason}", dir.display())]
    Generate { dir: PathBuf, reason: String },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The JWT signature algorithms we sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    Rs256,
    Es256,
}

impl KeyAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlgorithm::Rs256 => "RS256",
            KeyAlgorithm::Es256 => "ES256",
        }
    }

    pub fn jwt_algorithm(self) -> Algorithm {
        match self {
            KeyAlgorithm::Rs256 => Algorithm::RS256,
            KeyAlgorithm::Es256 => Algorithm::ES256,
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown key algorithm {0:?} (expected RS256 or ES256)")]
pub struct UnknownAlgorithm(pub String);

impl FromStr for KeyAlgorithm {
    type Err = UnknownAlgorithm;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("RS256") {
            Ok(KeyAlgorithm::Rs256)
        } else if s.eq_ignore_ascii_case("ES256") {
            Ok(KeyAlgorithm::Es256)
        } else {
            Err(UnknownAlgorithm(s.to_string()))
        }
    }
}

/// The two files `generate` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFiles {
    pub stamp: String,
    pub key: PathBuf,
    pub cert: PathBuf,
}

/// The libtrust key id docker/distribution 2.x matches a token's `kid` against: SHA-256
/// of the DER SubjectPublicKeyInfo, first 240 bits, base32 (standard alphabet, no
/// padding), in 12 groups of 4 joined by `:`.
pub fn libtrust_kid(spki_der: &[u8]) -> String {
    let digest = Sha256::digest(spki_der);
    let b32 = data_encoding::BASE32_NOPAD.encode(&digest[..30]);
    let mut out = String::with_capacity(59);
    for (i, chunk) in b32.as_bytes().chunks(4).enumerate() {
        if i > 0 {
            out.push(':');
        }
        // The base32 alphabet is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
    }
    out
}

/// The RFC 7638 JWK thumbprint (SHA-256, base64url) of an RSA or P-256 public key
/// given as DER SubjectPublicKeyInfo: how registry 3.x names keys. None for other keys.
pub fn jwk_thumbprint(spki_der: &[u8]) -> Option<String> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    use p256::pkcs8::DecodePublicKey;
    // Members in lexicographic order, no whitespace (RFC 7638 §3.2); every value is
    // base64url or a fixed name, so no JSON escaping is needed.
    let canonical = if let Ok(k) = rsa::RsaPublicKey::from_public_key_der(spki_der) {
        format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            URL_SAFE_NO_PAD.encode(k.e().to_bytes_be()),
            URL_SAFE_NO_PAD.encode(k.n().to_bytes_be())
        )
    } else if let Ok(k) = p256::PublicKey::from_public_key_der(spki_der) {
        let point = k.to_encoded_point(false);
        format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            URL_SAFE_NO_PAD.encode(point.x()?),
            URL_SAFE_NO_PAD.encode(point.y()?)
        )
    } else {
        return None;
    };
    Some(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}

/// Creates a new key pair and its self-signed certificate in `dir` (created 0700 if
/// missing). Never overwrites: the stamp sorts after every key already there.
pub fn generate(dir: &Path, alg: KeyAlgorithm, common_name: &str) -> Result<KeyFiles, KeyError> {
    create_private_dir(dir)?;
    let gen_err = |reason: String| KeyError::Generate {
        dir: dir.to_path_buf(),
        reason,
    };
    let (key_pem, rcgen_alg) = match alg {
        KeyAlgorithm::Rs256 => {
            let key = rsa::RsaPrivateKey::new(&mut OsRng, GENERATED_RSA_BITS)
                .map_err(|e| gen_err(e.to_string()))?;
            let pem = key
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| gen_err(e.to_string()))?;
            (pem, &rcgen::PKCS_RSA_SHA256)
        }
        KeyAlgorithm::Es256 => {
            let key = p256::SecretKey::random(&mut OsRng);
            let pem = key
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| gen_err(e.to_string()))?;
            (pem, &rcgen::PKCS_ECDSA_P256_SHA256)
        }
    };
    let key_pair = rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(&key_pem, rcgen_alg)
        .map_err(|e| gen_err(e.to_string()))?;
    let cert_pem = self_signed_pem(&key_pair, common_name).map_err(|e| gen_err(e.to_string()))?;

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

fn create_private_dir(dir: &Path) -> Result<(), KeyError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(io_err(dir))
}

/// Writes a temporary file beside `path`, syncs it, then links it into place: the link
/// fails if `path` exists, so this never overwrites, and readers never see a half file.
pub(crate) fn write_new(path: &Path, content: &[u8], mode: u32) -> Result<(), KeyError> {
    let tmp = write_temp(path, content, mode)?;
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => sync_parent(path),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(KeyError::Exists {
            path: path.to_path_buf(),
        }),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// Writes `content` to `path` atomically, replacing what was there.
pub(crate) fn write_replace(path: &Path, content: &[u8], mode: u32) -> Result<(), KeyError> {
    let tmp = write_temp(path, content, mode)?;
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(io_err(path)(e));
    }
    sync_parent(path)
}

fn write_temp(path: &Path, content: &[u8], mode: u32) -> Result<PathBuf, KeyError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let mut rnd = [0u8; 6];
    OsRng.fill_bytes(&mut rnd);
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", hex::encode(rnd)));
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let written = opts.open(&tmp).and_then(|mut f| {
        f.write_all(content)?;
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(io_err(path)(e));
    }
    Ok(tmp)
}

fn sync_parent(path: &Path) -> Result<(), KeyError> {
    #[cfg(unix)]
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(io_err(parent))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Stems of every `*.key` and `*.crt` in `dir` (hidden files, such as our temporary
/// files, are skipped). A missing directory has none.
fn list_stems(dir: &Path) -> Result<Vec<String>, KeyError> {
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

/// A private key of a supported kind.
pub enum PrivateKey {
    Rsa(Box<rsa::RsaPrivateKey>),
    P256(p256::SecretKey),
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrivateKey::Rsa(k) => write!(f, "PrivateKey::Rsa({} bits, ..)", k.size() * 8),
            PrivateKey::P256(_) => f.write_str("PrivateKey::P256(..)"),
        }
    }
}

impl PrivateKey {
    pub fn algorithm(&self) -> KeyAlgorithm {
        match self {
            PrivateKey::Rsa(_) => KeyAlgorithm::Rs256,
            PrivateKey::P256(_) => KeyAlgorithm::Es256,
        }
    }

    /// DER SubjectPublicKeyInfo of the public half, as Go's `MarshalPKIXPublicKey`
    /// (and so libtrust) encodes it.
    pub fn spki_der(&self) -> Result<Vec<u8>, String> {
        let doc = match self {
            PrivateKey::Rsa(k) => k.to_public_key().to_public_key_der(),
            PrivateKey::P256(k) => k.public_key().to_public_key_der(),
        };
        doc.map(|d| d.as_bytes().to_vec())
            .map_err(|e| e.to_string())
    }

    fn parse_pem(pem_text: &str) -> Result<PrivateKey, String> {
        let (label, der) =
            pem::decode_vec(pem_text.trim().as_bytes()).map_err(|e| format!("bad PEM: {e}"))?;
        match label {
            "PRIVATE KEY" => {
                let info = PrivateKeyInfo::try_from(der.as_slice())
                    .map_err(|e| format!("bad PKCS#8: {e}"))?;
                match info.algorithm.oid {
                    OID_RSA_ENCRYPTION => rsa::RsaPrivateKey::from_pkcs8_der(&der)
                        .map(|k| PrivateKey::Rsa(Box::new(k)))
                        .map_err(|e| format!("bad RSA key: {e}")),
                    OID_EC_PUBLIC_KEY => p256::SecretKey::from_pkcs8_der(&der)
                        .map(PrivateKey::P256)
                        .map_err(|e| format!("not a P-256 key: {e}")),
                    other => Err(format!(
                        "unsupported key algorithm {other} (need RSA or P-256)"
                    )),
                }
            }
            "RSA PRIVATE KEY" => rsa::RsaPrivateKey::from_pkcs1_der(&der)
                .map(|k| PrivateKey::Rsa(Box::new(k)))
                .map_err(|e| format!("bad RSA key: {e}")),
            "EC PRIVATE KEY" => p256::SecretKey::from_sec1_der(&der)
                .map(PrivateKey::P256)
                .map_err(|e| format!("not a P-256 key: {e}")),
            other => Err(format!("PEM block is {other:?}, expected a private key")),
        }
        .and_then(|key| match &key {
            PrivateKey::Rsa(k) if k.size() * 8 < MIN_RSA_BITS => Err(format!(
                "RSA key has {} bits, need at least {MIN_RSA_BITS}",
                k.size() * 8
            )),
            _ => Ok(key),
        })
    }
}

/// One key of the ring with its certificate.
pub struct RingKey {
    stamp: String,
    key_path: PathBuf,
    cert_path: PathBuf,
    private: PrivateKey,
    cert_der: Vec<u8>,
    spki_der: Vec<u8>,
    kid: String,
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
        let key_text = fs::read_to_string(&key_path).map_err(io_err(&key_path))?;
        let private = PrivateKey::parse_pem(&key_text).map_err(|reason| KeyError::BadKey {
            path: key_path.clone(),
            reason,
        })?;
        let spki_der = private.spki_der().map_err(|reason| KeyError::BadKey {
            path: key_path.clone(),
            reason,
        })?;
        let cert_text = fs::read_to_string(&cert_path).map_err(io_err(&cert_path))?;
        let bad_cert = |reason: String| KeyError::BadCert {
            path: cert_path.clone(),
            reason,
        };
        let mut certs = pem_certificates(&cert_text).map_err(bad_cert)?;
        let cert_der = match certs.len() {
            1 => certs.remove(0),
            0 => return Err(bad_cert("no CERTIFICATE block".into())),
            n => return Err(bad_cert(format!("{n} certificates, expected exactly one"))),
        };
        let cert_spki =
            certificate_spki(&cert_der).map_err(|e| bad_cert(format!("bad X.509: {e}")))?;
        if !same_public_key(cert_spki, &spki_der) {
            return Err(KeyError::Mismatch {
                key: key_path,
                cert: cert_path,
            });
        }
        Ok(RingKey {
            stamp: stamp.to_string(),
            kid: libtrust_kid(&spki_der),
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

    pub fn jwt_algorithm(&self) -> Algorithm {
        self.algorithm().jwt_algorithm()
    }

    pub fn private_key(&self) -> &PrivateKey {
        &self.private
    }

    /// DER of the certificate (what goes, base64, into the token's `x5c`).
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// DER SubjectPublicKeyInfo of the key.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The libtrust key id of the key (= of its certificate).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The RFC 7638 thumbprint of the key (registry 3.x's key name).
    pub fn jwk_thumbprint(&self) -> String {
        jwk_thumbprint(&self.spki_der).unwrap_or_default()
    }

    pub fn cert_pem(&self) -> String {
        pem::encode_string("CERTIFICATE", LineEnding::LF, &self.cert_der).unwrap_or_default()
    }

    /// The key for `jsonwebtoken::encode`.
    pub fn encoding_key(&self) -> Result<EncodingKey, KeyError> {
        let der = match &self.private {
            PrivateKey::Rsa(k) => k
                .to_pkcs1_der()
                .map(|d| d.as_bytes().to_vec())
                .map_err(|e| e.to_string()),
            PrivateKey::P256(k) => k
                .to_pkcs8_der()
                .map(|d| d.as_bytes().to_vec())
                .map_err(|e| e.to_string()),
        }
        .map_err(|reason| KeyError::BadKey {
            path: self.key_path.clone(),
            reason,
        })?;
        Ok(match &self.private {
            PrivateKey::Rsa(_) => EncodingKey::from_rsa_der(&der),
            PrivateKey::P256(_) => EncodingKey::from_ec_der(&der),
        })
    }

    /// The public key for `jsonwebtoken::decode`.
    pub fn decoding_key(&self) -> DecodingKey {
        match &self.private {
            PrivateKey::Rsa(k) => {
                DecodingKey::from_rsa_raw_components(&k.n().to_bytes_be(), &k.e().to_bytes_be())
            }
            PrivateKey::P256(k) => {
                use p256::elliptic_curve::sec1::ToEncodedPoint;
                DecodingKey::from_ec_der(k.public_key().to_encoded_point(false).as_bytes())
            }
        }
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
    pub fn bundle_pem(&self) -> String {
        self.keys.iter().map(RingKey::cert_pem).collect()
    }

    /// Writes `bundle_pem` to `path` atomically (creating the parent directory).
    pub fn write_bundle(&self, path: &Path) -> Result<(), KeyError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        write_replace(path, self.bundle_pem().as_bytes(), 0o644)
    }

    /// (kid, algorithm, public key) of every key, to verify tokens in tests and tools.
    pub fn verify_keys(&self) -> Vec<(String, Algorithm, DecodingKey)> {
        self.keys
            .iter()
            .map(|k| (k.kid.clone(), k.jwt_algorithm(), k.decoding_key()))
            .collect()
    }
}

/// DER of every `CERTIFICATE` block in a PEM text.
fn pem_certificates(text: &str) -> Result<Vec<Vec<u8>>, String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let after = &rest[start..];
        let end = after.find(END).ok_or("unterminated CERTIFICATE block")? + END.len();
        let (_, der) =
            pem::decode_vec(&after.as_bytes()[..end]).map_err(|e| format!("bad PEM: {e}"))?;
        out.push(der);
        rest = &after[end..];
    }
    Ok(out)
}

/// The DER SubjectPublicKeyInfo inside an X.509 certificate (the 7th field of
/// tbsCertificate, counting the optional explicit version).
pub fn certificate_spki(cert_der: &[u8]) -> der::Result<&[u8]> {
    let cert = der::asn1::AnyRef::from_der(cert_der)?;
    cert.tag().assert_eq(Tag::Sequence)?;
    let mut cert_fields = SliceReader::new(cert.value())?;
    let tbs = der::asn1::AnyRef::from_der(cert_fields.tlv_bytes()?)?;
    tbs.tag().assert_eq(Tag::Sequence)?;
    let mut fields = SliceReader::new(tbs.value())?;
    let version = Tag::ContextSpecific {
        constructed: true,
        number: TagNumber::N0,
    };
    if fields.peek_tag()? == version {
        fields.tlv_bytes()?;
    }
    // serialNumber, signature, issuer, validity, subject
    for _ in 0..5 {
        fields.tlv_bytes()?;
    }
    let spki = fields.tlv_bytes()?;
    p256::pkcs8::spki::SubjectPublicKeyInfoRef::from_der(spki)?;
    Ok(spki)
}

/// Same key in two SPKI encodings. Byte equality first; otherwise compare what the key
/// crates decode, so a certificate whose encoder wrote, say, absent instead of NULL
/// RSA parameters still matches.
fn same_public_key(a: &[u8], b: &[u8]) -> bool {
    use p256::pkcs8::DecodePublicKey;
    if a == b {
        return true;
    }
    if let (Ok(x), Ok(y)) = (
        rsa::RsaPublicKey::from_public_key_der(a),
        rsa::RsaPublicKey::from_public_key_der(b),
    ) {
        return x == y;
    }
    if let (Ok(x), Ok(y)) = (
        p256::PublicKey::from_public_key_der(a),
        p256::PublicKey::from_public_key_der(b),
    ) {
        return x == y;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::pkcs8::DecodePublicKey;

    /// From distribution/distribution `docs/spec/manifest-v2-1.md`: the JWK of a
    /// schema-1 manifest signature, as Go's libtrust printed it (kid with x and y).
    const SPEC_EC_X: &str = "3gAwX48IQ5oaYQAYSxor6rYYc_6yjuLCjtQ9LUakg4A";
    const SPEC_EC_Y: &str = "t72ge6kIA1XOjqjVoEOiPPAURltJFBMGDSQvEGVB010";
    const SPEC_EC_KID: &str = "OD6I:6DRK:JXEJ:KBM4:255X:NSAA:MUSF:E4VM:ZI6W:CUN2:L4Z6:LSF4";

    /// From realityone/libtrust-py `tests/fixtures/public.pem` and `tests/test_rsa_key.py`
    /// (a 4096-bit RSA key and the libtrust id that test asserts).
    const PY_RSA_PUBLIC_PEM: &str = "-----BEGIN PUBLIC KEY-----
MIICIjANBgkqhkiG9w0BAQEFAAOCAg8AMIICCgKCAgEAwq1mCmgn460MC6MnCqra
nQNTgmKuKPl7bNH7Qc6hBDGHlnIjU6q/h2KXF37TC5Y9tsKvQ4b8jd0Sf0dXFHml
8qunSvNnqsSvoD8tSPUKqXS6jrlbGSQXhya7BL1RPGccD5K1xrV73QlI6uFPd3AP
RQYij5EOB8IOWEQujJk/8Mjc0EC9zvk5TUJb59hkOUPZ3CkvSBNLNS8wpQI98FRn
IzHjuaNicqve8054oxmDKifHWy0nnF135cXW8zkH3Zto1q89zD2g+zcVxLcRP84U
he0nSQyg7vEYl4Wl74Eo6/89qL2yE0mEiQN245ACA5B8WFV/t3j/OD3ydOCaAOg2
8vQtzcZ1gh2Ev4RxeR7bKq58g+R0+MMwl7nnW29mbCkcgdVVR4YPmglP7Vb6w7/N
bqFhnxx4E3A05AeevHdMdYCrtgQwogvIhdOHLcVQxJgwy1d2Lg/mv9rovhCJ7d3X
aNEYym6CplCHPMtfnU1LCVkA6b44pFaOVjsAQ8FviFtGXQAToRtwoszSarzslHKY
dPoSGFOsgNJgW67iViOYqGPD97rgJA0VPm0POMNHGw/R6o+08KhDF/OI1EDckmjX
hUggY/WCqWDxD77Ezd/wr9Zlbv/uSIEL9ifvBLq06lLcXMLrQbJrwMbDrngMZMAc
UkTzThmtxNs4uwu45R+zfKcCAwEAAQ==
-----END PUBLIC KEY-----
";
    const PY_RSA_KID: &str = "IIYO:OWAZ:MBMG:2SIK:IK2I:OP5Z:H6QR:KN6Y:QUGO:BUWN:TYW3:JXVW";

    fn b64url(s: &str) -> Vec<u8> {
        data_encoding::BASE64URL_NOPAD.decode(s.as_bytes()).unwrap()
    }

    fn assert_kid_format(kid: &str) {
        assert_eq!(kid.len(), 59, "{kid}");
        let groups: Vec<&str> = kid.split(':').collect();
        assert_eq!(groups.len(), 12, "{kid}");
        for g in groups {
            assert_eq!(g.len(), 4, "{kid}");
            assert!(
                g.bytes()
                    .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)),
                "{kid}"
            );
        }
    }

    #[test]
    fn libtrust_kid_matches_the_distribution_spec_vector() {
        let mut point = vec![0x04];
        point.extend(b64url(SPEC_EC_X));
        point.extend(b64url(SPEC_EC_Y));
        let key = p256::PublicKey::from_sec1_bytes(&point).unwrap();
        let spki = key.to_public_key_der().unwrap();
        assert_eq!(libtrust_kid(spki.as_bytes()), SPEC_EC_KID);
    }

    #[test]
    fn libtrust_kid_matches_the_libtrust_py_rsa_vector() {
        let key = rsa::RsaPublicKey::from_public_key_pem(PY_RSA_PUBLIC_PEM).unwrap();
        let spki = key.to_public_key_der().unwrap();
        assert_eq!(libtrust_kid(spki.as_bytes()), PY_RSA_KID);
        // And straight from the PEM's own bytes.
        let (_, der) = pem::decode_vec(PY_RSA_PUBLIC_PEM.as_bytes()).unwrap();
        assert_eq!(libtrust_kid(&der), PY_RSA_KID);
    }

    #[test]
    fn jwk_thumbprint_matches_rfc7638_example() {
        // RFC 7638 §3.1.
        let n = b64url(
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_B\
             JECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FD\
             W2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQ\
             Fh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        );
        let key = rsa::RsaPublicKey::new(
            rsa::BigUint::from_bytes_be(&n),
            rsa::BigUint::from_bytes_be(&b64url("AQAB")),
        )
        .unwrap();
        let spki = key.to_public_key_der().unwrap();
        assert_eq!(
            jwk_thumbprint(spki.as_bytes()).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
        assert_eq!(jwk_thumbprint(b"junk"), None);
        // P-256: the distribution spec key above; expected value computed independently
        // with Python (json.dumps(jwk, sort_keys=True, separators=(",", ":")), SHA-256,
        // urlsafe base64 without padding).
        let mut point = vec![0x04];
        point.extend(b64url(SPEC_EC_X));
        point.extend(b64url(SPEC_EC_Y));
        let ec = p256::PublicKey::from_sec1_bytes(&point)
            .unwrap()
            .to_public_key_der()
            .unwrap();
        assert_eq!(
            jwk_thumbprint(ec.as_bytes()).as_deref(),
            Some("BIAtji11M6Plev9qEDAPpi67UYRwuSbSnyTWx31vkQM")
        );
    }

    #[test]
    fn algorithm_parses_case_insensitively_and_rejects_others() {
        assert_eq!("RS256".parse(), Ok(KeyAlgorithm::Rs256));
        assert_eq!("es256".parse(), Ok(KeyAlgorithm::Es256));
        assert!("HS256".parse::<KeyAlgorithm>().is_err());
        assert!("".parse::<KeyAlgorithm>().is_err());
        assert_eq!(KeyAlgorithm::Es256.to_string(), "ES256");
        assert_eq!(KeyAlgorithm::Rs256.jwt_algorithm(), Algorithm::RS256);
    }

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
            libtrust_kid(certificate_spki(key.cert_der()).unwrap())
        );
        assert!(key.encoding_key().is_ok());
        assert_eq!(ring.verify_keys().len(), 1);
        // No temporary files left behind.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn generated_rs256_key_loads_with_matching_certificate() {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path(), KeyAlgorithm::Rs256, "regauth test").unwrap();
        let ring = KeyRing::load(dir.path()).unwrap();
        let key = ring.signing_key();
        assert_eq!(key.algorithm(), KeyAlgorithm::Rs256);
        assert_eq!(key.jwt_algorithm(), Algorithm::RS256);
        assert_kid_format(key.kid());
        assert_eq!(certificate_spki(key.cert_der()).unwrap(), key.spki_der());
        let text = fs::read_to_string(key.key_path()).unwrap();
        assert!(
            text.starts_with("-----BEGIN PRIVATE KEY-----"),
            "PKCS#8 expected"
        );
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
        let certs = pem_certificates(&bundle).unwrap();
        assert_eq!(certs.len(), 3);
        for (cert, key) in certs.iter().zip(ring.keys()) {
            assert_eq!(cert.as_slice(), key.cert_der());
        }
        let out = dir.path().join("bundle/root.crt");
        ring.write_bundle(&out).unwrap();
        assert_eq!(fs::read_to_string(&out).unwrap(), bundle);
        // Rewriting replaces.
        ring.write_bundle(&out).unwrap();
        assert_eq!(fs::read_to_string(&out).unwrap(), bundle);
    }

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
    fn write_new_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.key");
        write_new(&path, b"one", 0o600).unwrap();
        let err = write_new(&path, b"two", 0o600).unwrap_err();
        assert!(matches!(err, KeyError::Exists { .. }), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"one");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn unpaired_files_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let files = generate(dir.path(), KeyAlgorithm::Es256, "a").unwrap();
        fs::remove_file(&files.cert).unwrap();
        let err = KeyRing::load(dir.path()).unwrap_err();
        assert!(
            err.to_string().contains(&format!("{}.key", files.stamp)),
            "{err}"
        );
        assert!(
            err.to_string().contains(&format!("{}.crt", files.stamp)),
            "{err}"
        );

        let dir = tempfile::tempdir().unwrap();
        let files = generate(dir.path(), KeyAlgorithm::Es256, "a").unwrap();
        fs::remove_file(&files.key).unwrap();
        let err = KeyRing::load(dir.path()).unwrap_err();
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
    fn sec1_and_pkcs1_keys_from_operators_are_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let gen = generate(dir.path(), KeyAlgorithm::Es256, "a").unwrap();
        let ring = KeyRing::load(dir.path()).unwrap();
        let PrivateKey::P256(secret) = ring.signing_key().private_key() else {
            panic!("expected P-256")
        };
        let sec1 = secret.to_sec1_pem(LineEnding::LF).unwrap();
        assert!(sec1.starts_with("-----BEGIN EC PRIVATE KEY-----"));
        fs::remove_file(&gen.key).unwrap();
        fs::write(&gen.key, sec1.as_bytes()).unwrap();
        let reloaded = KeyRing::load(dir.path()).unwrap();
        assert_eq!(reloaded.signing_kid(), ring.signing_kid());

        let dir = tempfile::tempdir().unwrap();
        let gen = generate(dir.path(), KeyAlgorithm::Rs256, "a").unwrap();
        let ring = KeyRing::load(dir.path()).unwrap();
        let PrivateKey::Rsa(secret) = ring.signing_key().private_key() else {
            panic!("expected RSA")
        };
        let pkcs1 = secret.to_pkcs1_pem(LineEnding::LF).unwrap();
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
        let small = rsa::RsaPrivateKey::new(&mut OsRng, 1024).unwrap();
        fs::write(
            dir.path().join("s.key"),
            small.to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes(),
        )
        .unwrap();
        fs::write(dir.path().join("s.crt"), "").unwrap();
        let err = KeyRing::load(dir.path()).unwrap_err();
        assert!(err.to_string().contains("1024 bits"), "{err}");
    }

    #[test]
    fn certificate_spki_rejects_garbage() {
        assert!(certificate_spki(b"").is_err());
        assert!(certificate_spki(&[0x30, 0x03, 0x02, 0x01, 0x01]).is_err());
    }
}
