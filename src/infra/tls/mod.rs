//! TLS for the public listener: the certificate chain and private key (PEM files named
//! by `server.tls_cert` / `server.tls_key`) become a rustls `ServerConfig`.
//!
//! Everything is loaded and checked once at start-up, so a wrong path, a file that is
//! not PEM, or a key that does not belong to the certificate stops `serve` with one line
//! naming the file, instead of failing every handshake later. Error messages never
//! quote file contents: a key file's bytes must not end up in a log.
//!
//! The crypto provider is aws-lc-rs, chosen explicitly: it is the library that signs
//! tokens (`crate::infra::crypto`), so the binary carries a single crypto stack.
//!
//! `self_signed` makes the throwaway CA and server certificate of
//! `regauth certs self-signed`.

pub mod self_signed;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::infra::crypto::describe_pem_error;

/// A TLS file that cannot be used; `message` says why without quoting its content.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct TlsError {
    pub path: PathBuf,
    pub message: String,
}

fn tls_err(path: &Path, message: impl Into<String>) -> TlsError {
    TlsError {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// The crypto provider of every TLS configuration regauth builds (server and tests).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Reads every `CERTIFICATE` block of `path`, leaf first (the order of the file).
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| tls_err(path, describe_pem_error(&e)))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_err(path, describe_pem_error(&e)))?;
    if certs.is_empty() {
        return Err(tls_err(path, "no CERTIFICATE block found"));
    }
    Ok(certs)
}

/// Reads the first private key of `path`: PKCS#8, PKCS#1 (RSA) or SEC1 (EC).
fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| match e {
        pem::Error::NoItemsFound => tls_err(
            path,
            "no PRIVATE KEY block found (expected PKCS#8, PKCS#1 or SEC1 PEM)",
        ),
        other => tls_err(path, describe_pem_error(&other)),
    })
}

/// Builds the server configuration of the public listener from a certificate chain
/// file and its private key file. Checks that the key is one the provider can sign
/// with and that it belongs to the chain's first certificate.
pub fn server_config(cert: &Path, key: &Path) -> Result<rustls::ServerConfig, TlsError> {
    let chain = load_certs(cert)?;
    let key_der = load_key(key)?;
    let provider = provider();
    let signing_key = provider
        .key_provider
        .load_private_key(key_der)
        .map_err(|_| {
            tls_err(
                key,
                "unsupported or malformed private key (expected RSA, ECDSA P-256/P-384 or Ed25519)",
            )
        })?;
    let certified = CertifiedKey::new(chain, signing_key);
    match certified.keys_match() {
        // aws-lc-rs can always derive the public key; "unknown" is not an error for
        // rustls either.
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            return Err(tls_err(
                key,
                format!(
                    "is not the key of the first certificate in {}",
                    cert.display()
                ),
            ))
        }
        Err(e) => return Err(tls_err(cert, format!("unusable certificate: {e}"))),
    }
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err(cert, format!("TLS configuration: {e}")))?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(SingleCertAndKey::from(certified)));
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_garbage_files_name_the_file_and_hide_the_content() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.pem");
        let err = server_config(&missing, &missing).unwrap_err();
        assert_eq!(err.path, missing);
        assert!(err.to_string().contains("nope.pem"), "{err}");

        // A "key" whose BEGIN line carries a secret-looking payload.
        let secret = "SECRETSECRETSECRET";
        let bad = dir.path().join("bad.key");
        std::fs::write(&bad, format!("-----BEGIN {secret}\nAAAA\n")).unwrap();
        let err = load_key(&bad).unwrap_err();
        assert_eq!(err.path, bad);
        assert!(!err.to_string().contains(secret), "{err}");

        let empty = dir.path().join("empty.crt");
        std::fs::write(&empty, "").unwrap();
        let err = load_certs(&empty).unwrap_err();
        assert!(err.message.contains("no CERTIFICATE"), "{err}");
    }
}
