//! `regauth certs self-signed`: a TLS certificate for a trial or an internal network,
//! where no public CA can issue one.
//!
//! It makes a throwaway CA, signs one server certificate with it, and discards the CA's
//! private key: clients trust `ca.crt` (docker wants a CA in `certs.d`, not a leaf), yet
//! nobody can ever issue a second certificate under that trust. Renewal means a new CA,
//! which is fine for a single deployment.
//!
//! `DIR/server.crt` holds the leaf then the CA certificate (the chain, as both regauth's
//! `server.tls_cert` and the registry's `http.tls.certificate` expect it),
//! `DIR/server.key` the leaf's ECDSA P-256 key (PKCS#8 PEM, mode 0600), `DIR/ca.crt`
//! the CA certificate.

use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};

use crate::infra::crypto::{self, KeyError};

/// Default validity, days: 825 is the longest that Apple's TLS clients accept for a
/// server certificate, so the default works for every client.
pub const DEFAULT_DAYS: u32 = 825;
/// Upper bound of `--days`: beyond ten years a forgotten throwaway CA is a liability.
const MAX_DAYS: u32 = 3650;
/// Backdating, for clients whose clock runs behind ours.
const BACKDATE_HOURS: i64 = 1;
/// The CA's common name: what a user sees when asked to trust `ca.crt`.
const CA_COMMON_NAME: &str = "regauth local CA";

#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("give at least one host name or IP address")]
    NoHosts,
    #[error("host {0:?} is neither a DNS name nor an IP address")]
    BadHost(String),
    #[error("validity must be between 1 and {MAX_DAYS} days, not {0}")]
    BadDays(u32),
    #[error("{}: already exists (--force replaces it)", path.display())]
    Exists { path: PathBuf },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("cannot generate the certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("{0}")]
    Write(KeyError),
}

impl From<KeyError> for CertError {
    fn from(e: KeyError) -> CertError {
        match e {
            KeyError::Exists { path } => CertError::Exists { path },
            KeyError::Io { path, source } => CertError::Io { path, source },
            other => CertError::Write(other),
        }
    }
}

/// The three files `self_signed` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelfSignedFiles {
    pub ca_cert: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

impl SelfSignedFiles {
    fn in_dir(dir: &Path) -> SelfSignedFiles {
        SelfSignedFiles {
            ca_cert: dir.join("ca.crt"),
            server_cert: dir.join("server.crt"),
            server_key: dir.join("server.key"),
        }
    }

    fn all(&self) -> [&Path; 3] {
        [&self.ca_cert, &self.server_cert, &self.server_key]
    }
}

/// Writes a new CA certificate and a server certificate and key for `hosts` into `out`
/// (created if missing), valid for `days`. Refuses when any of the three files exists,
/// unless `force`, so a second run never silently replaces a certificate clients
/// already trust.
pub fn self_signed(
    out: &Path,
    hosts: &[String],
    days: u32,
    force: bool,
) -> Result<SelfSignedFiles, CertError> {
    let Some(first_host) = hosts.first() else {
        return Err(CertError::NoHosts);
    };
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(CertError::BadDays(days));
    }
    let sans = hosts
        .iter()
        .map(|h| subject_alt_name(h))
        .collect::<Result<Vec<_>, _>>()?;
    let files = SelfSignedFiles::in_dir(out);
    if !force {
        // Checked before anything is written, so a refusal leaves the directory as it was.
        if let Some(path) = files.all().into_iter().find(|p| p.exists()) {
            return Err(CertError::Exists {
                path: path.to_path_buf(),
            });
        }
    }

    let now = time::OffsetDateTime::now_utc();
    let not_before = now - time::Duration::hours(BACKDATE_HOURS);
    let not_after = now + time::Duration::days(i64::from(days));

    let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut ca = CertificateParams::default();
    ca.distinguished_name = common_name(CA_COMMON_NAME);
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = not_before;
    ca.not_after = not_after;
    ca.serial_number = Some(crypto::random_serial());
    let ca_cert = ca.self_signed(&ca_key)?;

    let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut leaf = CertificateParams::default();
    leaf.distinguished_name = common_name(first_host);
    leaf.subject_alt_names = sans;
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    leaf.not_before = not_before;
    leaf.not_after = not_after;
    leaf.serial_number = Some(crypto::random_serial());
    let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key)?;
    // The CA key goes out of scope here, never written: the CA signs nothing else.
    drop(ca_key);

    let chain = format!("{}{}", leaf_cert.pem(), ca_cert.pem());
    let key_pem = leaf_key.serialize_pem();
    // Readable by the services that trust the CA, writable by us alone whatever the
    // umask: the directory holds the server's private key.
    crypto::create_dirs(out, 0o755).map_err(|source| CertError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let write = |path: &Path, content: &[u8], mode: u32| {
        if force {
            crypto::write_replace(path, content, mode)
        } else {
            crypto::write_new(path, content, mode)
        }
    };
    write(&files.ca_cert, ca_cert.pem().as_bytes(), 0o644)?;
    write(&files.server_cert, chain.as_bytes(), 0o644)?;
    write(&files.server_key, key_pem.as_bytes(), 0o600)?;
    Ok(files)
}

fn common_name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

/// An IP SAN for anything that parses as an IP address (clients match IP addresses
/// only against IP SANs), otherwise a DNS SAN after checking it is a valid DNS name.
fn subject_alt_name(host: &str) -> Result<SanType, CertError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    rustls_pki_types::DnsName::try_from(host).map_err(|_| CertError::BadHost(host.into()))?;
    let name = host
        .try_into()
        .map_err(|_| CertError::BadHost(host.into()))?;
    Ok(SanType::DnsName(name))
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::Arc;
    use std::time::Duration;

    use rustls_pki_types::ServerName;

    use super::*;
    use crate::infra::tls;
    use std::fs;

    fn hosts(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    /// A real TLS handshake over loopback: a rustls server with the generated files, a
    /// client that trusts only `ca.crt` and asks for `server_name`. Ok when the client
    /// verified the chain and exchanged data.
    /// Two unrelated sets (CA, server certificate and key) for localhost, in `a` and `b`
    /// of a directory that lives as long as the first value.
    fn two_for_localhost() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        self_signed(&a, &hosts(&["localhost"]), 30, false).unwrap();
        self_signed(&b, &hosts(&["localhost"]), 30, false).unwrap();
        (tmp, a, b)
    }

    fn handshake(dir: &Path, server_name: &str) -> Result<(), String> {
        let config = tls::server_config(&dir.join("server.crt"), &dir.join("server.key"))
            .map_err(|e| e.to_string())?;
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut tcp, _) = listener.accept().unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut conn = rustls::ServerConnection::new(config).unwrap();
            let mut stream = rustls::Stream::new(&mut conn, &mut tcp);
            let mut ping = [0u8; 4];
            if stream.read_exact(&mut ping).is_ok() && &ping == b"ping" {
                let _ = stream.write_all(b"pong");
                let _ = stream.flush();
            }
        });

        let mut roots = rustls::RootCertStore::empty();
        for cert in tls::load_certs(&dir.join("ca.crt")).unwrap() {
            roots.add(cert).unwrap();
        }
        let client_config = rustls::ClientConfig::builder_with_provider(tls::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = ServerName::try_from(server_name.to_string()).unwrap();
        let mut conn = rustls::ClientConnection::new(Arc::new(client_config), name).unwrap();
        let mut tcp = TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut stream = rustls::Stream::new(&mut conn, &mut tcp);
        let result = stream
            .write_all(b"ping")
            .and_then(|()| {
                let mut pong = [0u8; 4];
                stream.read_exact(&mut pong).map(|()| pong)
            })
            .map_err(|e| e.to_string())
            .and_then(|pong| {
                (&pong == b"pong")
                    .then_some(())
                    .ok_or_else(|| "wrong answer".to_string())
            });
        drop(tcp);
        server.join().unwrap();
        result
    }

    #[test]
    fn self_signed_chain_verifies_for_every_host_and_only_those() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("new/certs");
        let files = self_signed(
            &out,
            &hosts(&["registry.test", "localhost", "127.0.0.1", "::1"]),
            DEFAULT_DAYS,
            false,
        )
        .unwrap();
        assert_eq!(files.server_cert, out.join("server.crt"));

        // Exactly three files: the CA's key is not left anywhere.
        let mut names: Vec<String> = fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["ca.crt", "server.crt", "server.key"]);

        // server.crt is the chain: the leaf, then the CA certificate.
        let chain = tls::load_certs(&files.server_cert).unwrap();
        let ca = tls::load_certs(&files.ca_cert).unwrap();
        assert_eq!(chain.len(), 2);
        assert_eq!(ca.len(), 1);
        assert_eq!(chain[1], ca[0]);
        assert_ne!(chain[0], ca[0]);
        let key = fs::read_to_string(&files.server_key).unwrap();
        assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"), "PKCS#8");

        for name in ["registry.test", "localhost", "127.0.0.1", "::1"] {
            handshake(&out, name).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        for name in ["other.test", "127.0.0.2"] {
            let err = handshake(&out, name).expect_err(name);
            assert!(
                err.to_lowercase().contains("not valid for"),
                "{name}: {err}"
            );
        }
    }

    #[test]
    fn a_client_trusting_another_ca_refuses_the_certificate() {
        let (_tmp, a, b) = two_for_localhost();
        fs::copy(b.join("ca.crt"), a.join("ca.crt")).unwrap();
        let err = handshake(&a, "localhost").expect_err("foreign CA accepted");
        // Both CAs share their name, so webpki finds the trusted one and reports its
        // signature as wrong; either way the chain is refused.
        assert!(err.contains("invalid peer certificate"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn key_is_private_and_a_second_run_needs_force() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path();
        let files = self_signed(out, &hosts(&["localhost"]), 30, false).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&files.server_key), 0o600);

        let before: Vec<Vec<u8>> = files.all().iter().map(|p| fs::read(p).unwrap()).collect();
        match self_signed(out, &hosts(&["localhost"]), 30, false) {
            Err(CertError::Exists { path }) => assert_eq!(path, files.ca_cert),
            other => panic!("{other:?}"),
        }
        // Only one file present is enough to refuse.
        fs::remove_file(&files.ca_cert).unwrap();
        fs::remove_file(&files.server_cert).unwrap();
        assert!(matches!(
            self_signed(out, &hosts(&["localhost"]), 30, false),
            Err(CertError::Exists { .. })
        ));
        assert!(!files.ca_cert.exists() && !files.server_cert.exists());
        assert_eq!(fs::read(&files.server_key).unwrap(), before[2]);

        self_signed(out, &hosts(&["localhost"]), 30, true).unwrap();
        assert_eq!(mode(&files.server_key), 0o600);
        assert_ne!(fs::read(&files.server_key).unwrap(), before[2]);
        handshake(out, "localhost").unwrap();
    }

    #[test]
    fn refuses_bad_arguments_before_writing() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("x");
        assert!(matches!(
            self_signed(&out, &[], 30, false),
            Err(CertError::NoHosts)
        ));
        assert!(matches!(
            self_signed(&out, &hosts(&["localhost"]), 0, false),
            Err(CertError::BadDays(0))
        ));
        assert!(matches!(
            self_signed(&out, &hosts(&["localhost"]), MAX_DAYS + 1, false),
            Err(CertError::BadDays(_))
        ));
        for bad in ["", "bad host", "a..b", "[::1]"] {
            match self_signed(&out, &hosts(&["localhost", bad]), 30, false) {
                Err(CertError::BadHost(h)) => assert_eq!(h, bad),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        assert!(!out.exists());
    }

    #[test]
    fn a_mismatched_key_names_the_key_file() {
        let (_tmp, a, b) = two_for_localhost();
        let err = tls::server_config(&a.join("server.crt"), &b.join("server.key")).unwrap_err();
        assert_eq!(err.path, b.join("server.key"));
        assert!(err.message.contains("server.crt"), "{err}");
        let key = fs::read_to_string(b.join("server.key")).unwrap();
        let body = key.lines().nth(1).unwrap();
        assert!(!err.to_string().contains(body));
    }
}
