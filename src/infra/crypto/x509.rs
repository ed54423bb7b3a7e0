//! X.509 and SubjectPublicKeyInfo: the public key a certificate carries, and whether two
//! encodings hold the same key.

use x509_cert::der::{Decode, Encode};
use x509_cert::spki::{ObjectIdentifier, SubjectPublicKeyInfoRef};
use x509_cert::Certificate;

/// `rsaEncryption` (RFC 8017).
pub(super) const OID_RSA_ENCRYPTION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// `id-ecPublicKey` (RFC 5480).
pub(super) const OID_EC_PUBLIC_KEY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// `secp256r1`, a.k.a. P-256 (RFC 5480).
pub(super) const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");

/// The DER SubjectPublicKeyInfo inside an X.509 certificate. DER is canonical, so this
/// is byte for byte what the certificate holds, and what libtrust hashes into a `kid`.
pub fn certificate_spki(cert_der: &[u8]) -> Result<Vec<u8>, x509_cert::der::Error> {
    Certificate::from_der(cert_der)?
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
}

/// The notAfter of a DER X.509 certificate, Unix seconds (when a registry stops
/// accepting the key's tokens).
pub fn certificate_not_after(cert_der: &[u8]) -> Result<u64, x509_cert::der::Error> {
    Ok(Certificate::from_der(cert_der)?
        .tbs_certificate()
        .validity()
        .not_after
        .to_unix_duration()
        .as_secs())
}

/// What a JWK holds of a public key: RSA modulus and exponent, or P-256 coordinates,
/// each big-endian without leading zeros (RSA) or fixed at 32 bytes (P-256).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PublicKeyParts<'a> {
    Rsa {
        modulus: &'a [u8],
        exponent: &'a [u8],
    },
    P256 {
        x: &'a [u8],
        y: &'a [u8],
    },
}

/// Decodes an RSA or P-256 DER SubjectPublicKeyInfo (P-256 points uncompressed, as
/// every encoder we meet writes them). None for anything else.
pub(super) fn decode_public_key(spki_der: &[u8]) -> Option<PublicKeyParts<'_>> {
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der).ok()?;
    let key = spki.subject_public_key.as_bytes()?;
    match spki.algorithm.oid {
        OID_RSA_ENCRYPTION => {
            let rsa = pkcs1::RsaPublicKeyRef::from_der(key).ok()?;
            Some(PublicKeyParts::Rsa {
                modulus: rsa.modulus.as_bytes(),
                exponent: rsa.public_exponent.as_bytes(),
            })
        }
        OID_EC_PUBLIC_KEY if spki.algorithm.parameters_oid().ok()? == OID_P256 => match key {
            [0x04, xy @ ..] if xy.len() == 64 => {
                let (x, y) = xy.split_at(32);
                Some(PublicKeyParts::P256 { x, y })
            }
            _ => None,
        },
        _ => None,
    }
}

/// Same key in two SPKI encodings. Byte equality first; otherwise compare the decoded
/// keys, so a certificate whose encoder wrote, say, absent instead of NULL RSA
/// parameters still matches.
pub(super) fn same_public_key(a: &[u8], b: &[u8]) -> bool {
    if a == b {
        return true;
    }
    match (decode_public_key(a), decode_public_key(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infra::crypto::test_support::{p256_spki, rsa_spki, spki_with_params};

    #[test]
    fn certificate_spki_rejects_garbage() {
        assert!(certificate_spki(b"").is_err());
        assert!(certificate_spki(&[0x30, 0x03, 0x02, 0x01, 0x01]).is_err());
    }

    #[test]
    fn same_key_in_other_encodings_matches_and_other_keys_do_not() {
        let n = [0xc5u8; 256];
        let spki = rsa_spki(&n, &[1, 0, 1]);
        let absent = spki_with_params(&spki, None);
        assert_ne!(spki, absent);
        assert!(same_public_key(&spki, &absent));
        assert!(same_public_key(&spki, &spki));
        assert!(!same_public_key(&spki, &rsa_spki(&n, &[3])));
        assert!(!same_public_key(&spki, b"junk"));
        assert!(!same_public_key(b"junk", b"junk2"));

        let mut point = vec![0x04];
        point.extend([7u8; 64]);
        let ec = p256_spki(&point);
        assert_eq!(
            decode_public_key(&ec),
            Some(PublicKeyParts::P256 {
                x: &[7; 32],
                y: &[7; 32]
            })
        );
        point[64] = 8;
        assert!(!same_public_key(&ec, &p256_spki(&point)));
        assert!(!same_public_key(&ec, &spki));
    }
}
