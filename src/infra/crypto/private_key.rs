//! `PrivateKey`: a PEM key file parsed into an aws-lc-rs signing key (RSA ≥ 2048 bits or
//! P-256), with the DER SubjectPublicKeyInfo of its public half.

use std::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, KeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
};
use rustls_pki_types::pem::{PemObject, SectionKind};
use x509_cert::der::Decode;
use zeroize::Zeroizing;

use super::algorithm::KeyAlgorithm;
use super::pem::describe_pem_error;
use super::x509::{OID_EC_PUBLIC_KEY, OID_RSA_ENCRYPTION};

/// Smallest RSA modulus accepted, in bits (RS256 with less is not worth trusting).
const MIN_RSA_BITS: usize = 2048;

/// A private key of a supported kind, ready to sign.
///
/// Parsed once when the key directory is loaded, so issuing a token costs one signature
/// and no parsing. `Debug` shows the kind and size only, never key material.
pub enum PrivateKey {
    /// RS256: RSASSA-PKCS1-v1_5 with SHA-256.
    Rsa(RsaKeyPair),
    /// ES256: ECDSA P-256 with SHA-256, signatures in the fixed `r || s` form JWS wants
    /// (not DER).
    P256(EcdsaKeyPair),
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrivateKey::Rsa(k) => write!(
                f,
                "PrivateKey::Rsa({} bits, ..)",
                k.public_modulus_len() * 8
            ),
            PrivateKey::P256(_) => f.write_str("PrivateKey::P256(..)"),
        }
    }
}

impl PrivateKey {
    /// Parses the one private key of a PEM text: PKCS#8 (`PRIVATE KEY`, RSA or P-256),
    /// PKCS#1 (`RSA PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`, P-256); other blocks (a
    /// certificate, say) are ignored. The error says why in a few words and never quotes
    /// the text. The decoded key bytes are wiped once aws-lc-rs holds the key.
    pub fn from_pem(pem: &[u8]) -> Result<PrivateKey, String> {
        let mut found = None;
        for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(pem) {
            let (kind, der) = section.map_err(|e| describe_pem_error(&e))?;
            let der = Zeroizing::new(der);
            if !matches!(
                kind,
                SectionKind::PrivateKey | SectionKind::RsaPrivateKey | SectionKind::EcPrivateKey
            ) {
                continue;
            }
            if found.is_some() {
                return Err("more than one private key PEM block".into());
            }
            found = Some((kind, der));
        }
        match found {
            Some((SectionKind::PrivateKey, der)) => from_pkcs8(&der),
            Some((SectionKind::RsaPrivateKey, der)) => rsa_from_pkcs1(&der),
            Some((_, der)) => p256_from_sec1(&der),
            None => Err("no private key PEM block (expected PKCS#8, PKCS#1 or SEC1 PEM)".into()),
        }
    }

    pub fn algorithm(&self) -> KeyAlgorithm {
        match self {
            PrivateKey::Rsa(_) => KeyAlgorithm::Rs256,
            PrivateKey::P256(_) => KeyAlgorithm::Es256,
        }
    }

    /// DER SubjectPublicKeyInfo of the public half, as Go's `MarshalPKIXPublicKey`
    /// (and so libtrust) encodes it: RSA with NULL parameters, P-256 by named curve
    /// with an uncompressed point.
    pub fn spki_der(&self) -> Result<Vec<u8>, String> {
        let der = match self {
            PrivateKey::Rsa(k) => k.public_key().as_der(),
            PrivateKey::P256(k) => k.public_key().as_der(),
        };
        der.map(|d| d.as_ref().to_vec())
            .map_err(|_| "cannot encode the public key".to_string())
    }

    /// Signs `message` as the JWS algorithm of this key wants it. aws-lc's RSA private
    /// operation is blinded and constant-time, as ring's was.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, aws_lc_rs::error::Unspecified> {
        // aws-lc-rs draws its own randomness; the argument is for ring compatibility.
        let rng = SystemRandom::new();
        match self {
            PrivateKey::Rsa(key) => {
                let mut sig = vec![0; key.public_modulus_len()];
                key.sign(&RSA_PKCS1_SHA256, &rng, message, &mut sig)?;
                Ok(sig)
            }
            PrivateKey::P256(key) => Ok(key.sign(&rng, message)?.as_ref().to_vec()),
        }
    }
}

/// A PKCS#8 key, told apart by its algorithm identifier.
fn from_pkcs8(der: &[u8]) -> Result<PrivateKey, String> {
    let info = pkcs8::PrivateKeyInfoRef::from_der(der).map_err(|e| format!("bad PKCS#8: {e}"))?;
    match info.algorithm.oid {
        OID_RSA_ENCRYPTION => {
            check_rsa_size(info.private_key.as_bytes())?;
            RsaKeyPair::from_pkcs8(der)
                .map(PrivateKey::Rsa)
                .map_err(|e| format!("bad RSA key: {e}"))
        }
        OID_EC_PUBLIC_KEY => EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
            .map(PrivateKey::P256)
            .map_err(|e| format!("not a P-256 key: {e}")),
        other => Err(format!(
            "unsupported key algorithm {other} (need RSA or P-256)"
        )),
    }
}

fn rsa_from_pkcs1(der: &[u8]) -> Result<PrivateKey, String> {
    check_rsa_size(der)?;
    RsaKeyPair::from_der(der)
        .map(PrivateKey::Rsa)
        .map_err(|e| format!("bad RSA key: {e}"))
}

fn p256_from_sec1(der: &[u8]) -> Result<PrivateKey, String> {
    EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
        .map(PrivateKey::P256)
        .map_err(|e| format!("not a P-256 key: {e}"))
}

/// Refuses a PKCS#1 `RSAPrivateKey` under `MIN_RSA_BITS`, saying how many bits it has:
/// aws-lc-rs refuses such keys too, but only as "too small".
fn check_rsa_size(pkcs1_der: &[u8]) -> Result<(), String> {
    let key =
        pkcs1::RsaPrivateKeyRef::from_der(pkcs1_der).map_err(|e| format!("bad RSA key: {e}"))?;
    let modulus = key.modulus.as_bytes();
    let bits = match modulus.first() {
        Some(top) => modulus.len() * 8 - top.leading_zeros() as usize,
        None => 0,
    };
    if bits < MIN_RSA_BITS {
        return Err(format!(
            "RSA key has {bits} bits, need at least {MIN_RSA_BITS}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infra::crypto::test_support::{pem, pem_der, pkcs1_of, RSA_1024_PKCS8_PEM};
    use aws_lc_rs::signature::{
        Ed25519KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED,
        ECDSA_P384_SHA384_FIXED_SIGNING, RSA_PKCS1_2048_8192_SHA256,
    };

    fn generated(alg: KeyAlgorithm) -> Vec<u8> {
        let der = match alg {
            KeyAlgorithm::Rs256 => {
                let key = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
                AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&key)
                    .unwrap()
                    .as_ref()
                    .to_vec()
            }
            KeyAlgorithm::Es256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .unwrap()
                .to_pkcs8v1()
                .unwrap()
                .as_ref()
                .to_vec(),
        };
        pem("PRIVATE KEY", &der).into_bytes()
    }

    #[test]
    fn signatures_verify_with_the_public_key_it_reports() {
        for (alg, verify, len) in [
            (KeyAlgorithm::Rs256, &RSA_PKCS1_2048_8192_SHA256 as _, 256),
            (KeyAlgorithm::Es256, &ECDSA_P256_SHA256_FIXED as _, 64),
        ] {
            let key = PrivateKey::from_pem(&generated(alg)).unwrap();
            assert_eq!(key.algorithm(), alg);
            let sig = key.sign(b"header.payload").unwrap();
            assert_eq!(sig.len(), len, "{alg}");
            let public = UnparsedPublicKey::new(verify, key.spki_der().unwrap());
            public.verify(b"header.payload", &sig).unwrap();
            assert!(public.verify(b"header.payload!", &sig).is_err());
        }
    }

    #[test]
    fn small_rsa_keys_are_refused_with_their_size() {
        let err = PrivateKey::from_pem(RSA_1024_PKCS8_PEM.as_bytes()).unwrap_err();
        assert!(err.contains("1024 bits"), "{err}");
        let pkcs1 = pem("RSA PRIVATE KEY", &pkcs1_of(&pem_der(RSA_1024_PKCS8_PEM)));
        let err = PrivateKey::from_pem(pkcs1.as_bytes()).unwrap_err();
        assert!(err.contains("1024 bits"), "{err}");
    }

    #[test]
    fn other_curves_and_algorithms_are_refused() {
        let p384 = EcdsaKeyPair::generate(&ECDSA_P384_SHA384_FIXED_SIGNING)
            .unwrap()
            .to_pkcs8v1()
            .unwrap();
        let err = PrivateKey::from_pem(pem("PRIVATE KEY", p384.as_ref()).as_bytes()).unwrap_err();
        assert!(err.contains("not a P-256 key"), "{err}");

        let ed = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let err = PrivateKey::from_pem(pem("PRIVATE KEY", ed.as_ref()).as_bytes()).unwrap_err();
        assert!(
            err.contains("unsupported key algorithm 1.3.101.112"),
            "{err}"
        );
    }

    #[test]
    fn errors_never_quote_the_file() {
        let secret = "SECRETSECRETSECRET";
        for text in [
            format!("-----BEGIN {secret}\nAAAA\n"),
            format!("-----BEGIN PRIVATE KEY-----\n{secret}\n-----END PRIVATE KEY-----\n"),
            format!("{secret}\n"),
        ] {
            let err = PrivateKey::from_pem(text.as_bytes()).unwrap_err();
            assert!(!err.contains(secret), "{err}");
        }
        let key = PrivateKey::from_pem(&generated(KeyAlgorithm::Es256)).unwrap();
        assert_eq!(format!("{key:?}"), "PrivateKey::P256(..)");
    }

    #[test]
    fn two_keys_in_one_file_are_refused() {
        let mut text = generated(KeyAlgorithm::Es256);
        text.extend(generated(KeyAlgorithm::Es256));
        let err = PrivateKey::from_pem(&text).unwrap_err();
        assert!(err.contains("more than one"), "{err}");
    }
}
