//! What the crypto tests share: keys and public keys in the encodings other tools write,
//! and jsonwebtoken's view of our keys (an independent verifier of our tokens).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey};
use x509_cert::der::asn1::{Any, BitString, UintRef};
use x509_cert::der::{Decode, Encode};
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use super::x509::{
    decode_public_key, PublicKeyParts, OID_EC_PUBLIC_KEY, OID_P256, OID_RSA_ENCRYPTION,
};
use super::KeyAlgorithm;

/// A throwaway 1024-bit RSA key (PKCS#8), made with `openssl genpkey` for the tests that
/// check such keys are refused. Too small to protect anything, and never used to sign.
pub(crate) const RSA_1024_PKCS8_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIICdgIBADANBgkqhkiG9w0BAQEFAASCAmAwggJcAgEAAoGBALIKVC60bHfDddQS
5IrFtde7ocNs4244txi6HikQg97sv1Z/4c4qox0EnC10BcxjIDmvf9Of9KJAPFqf
AF4lWzdMMqY4Y/Y1FrfrI0wheHlUJI+Gai3S3H0bK9Sd5R/8dANaLrxCV9tvASFK
deKtGNCz2a8KBM29sWVh/6pFTwUhAgMBAAECgYBfrsdhNlvY3XX0nJawseKxZ0hf
c6Sitt5H7raI0TRd2RRXk3CyUR3KWZDpqKH5HwjRl6z1+dAKZsVI2ozjC+aB4fcb
3sktI8k468nNmxAr6nDkgT85SK4tmz66bGHI5uHxAr7qAj8FuyULixvdBonArGwr
iWiqw4chGHbLqNwJ1QJBAOqQSYK8Mob3Is6HvxaCuZ1qraFg7AH+R+5Fz34NbySm
3Ko62dSLJH0T7vivODqmDCKKyfNqFcZyYbFu6Z9/nhcCQQDCT6gEpdpzyrnjxVOo
6xJfa2nKb5IEGXq3Xb9TQfPeAnzDCj5se95Uyvb28oAgqKHhruVliaEerY4KCkWY
qfGHAkEAkX2Rux+Uj5Z25nfYlNPc4cErlW+Ss+HPKAHxI5SdnbRKJuR9/JGZvmNA
1MuKKwaXfE1t2iew/fgwlGfhTOdRXQJAPJ+bnS+ds2i5jH3BNz94MPsTO4yJsuu8
JL+D9Nbr3gVKpZNpnHEdEbltSeio3wed0gq+GWrSMP8XBLzlr9a9uwJADeesDiFx
kaSPWbDxi88JUIV6I+Tb8kI1reDJwHqTjMxoO5qrHAjnEim9H9R/5E8/QG9B1Nxb
Jmc8+MEbTejG6w==
-----END PRIVATE KEY-----
";

pub(crate) fn b64url(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(s).unwrap()
}

pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    super::pem::encode(label, der).unwrap()
}

/// The PKCS#1 `RSAPrivateKey` inside an RSA PKCS#8 key: what `openssl rsa -traditional`
/// writes as `RSA PRIVATE KEY`.
pub(crate) fn pkcs1_of(pkcs8_der: &[u8]) -> Vec<u8> {
    let info = pkcs8::PrivateKeyInfoRef::from_der(pkcs8_der).unwrap();
    assert_eq!(info.algorithm.oid, OID_RSA_ENCRYPTION);
    info.private_key.as_bytes().to_vec()
}

/// The DER of the first PEM block of `text`.
pub(crate) fn pem_der(text: &str) -> Vec<u8> {
    use rustls_pki_types::pem::{PemObject, SectionKind};
    <(SectionKind, Vec<u8>)>::from_pem_slice(text.as_bytes())
        .unwrap()
        .1
}

/// RSA SubjectPublicKeyInfo from modulus and exponent (NULL parameters, as Go writes).
pub(crate) fn rsa_spki(n: &[u8], e: &[u8]) -> Vec<u8> {
    let key = pkcs1::RsaPublicKeyRef {
        modulus: UintRef::new(n).unwrap(),
        public_exponent: UintRef::new(e).unwrap(),
    }
    .to_der()
    .unwrap();
    SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: OID_RSA_ENCRYPTION,
            parameters: Some(Any::null()),
        },
        subject_public_key: BitString::from_bytes(&key).unwrap(),
    }
    .to_der()
    .unwrap()
}

/// P-256 SubjectPublicKeyInfo of an SEC1 point.
pub(crate) fn p256_spki(point: &[u8]) -> Vec<u8> {
    SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: OID_EC_PUBLIC_KEY,
            parameters: Some(Any::encode_from(&OID_P256).unwrap()),
        },
        subject_public_key: BitString::from_bytes(point).unwrap(),
    }
    .to_der()
    .unwrap()
}

/// `spki` with its algorithm parameters replaced.
pub(crate) fn spki_with_params(spki: &[u8], parameters: Option<Any>) -> Vec<u8> {
    let mut info = SubjectPublicKeyInfoOwned::from_der(spki).unwrap();
    info.algorithm.parameters = parameters;
    info.to_der().unwrap()
}

/// jsonwebtoken's name of the algorithm, parsed from the `alg` we write.
pub(crate) fn jwt_algorithm(alg: KeyAlgorithm) -> Algorithm {
    alg.as_str().parse().unwrap()
}

/// The jsonwebtoken verification key of a DER SubjectPublicKeyInfo, in the encodings
/// its documentation asks for: RSA modulus and exponent, EC uncompressed point.
pub(crate) fn decoding_key(spki_der: &[u8]) -> DecodingKey {
    match decode_public_key(spki_der).unwrap() {
        PublicKeyParts::Rsa { modulus, exponent } => {
            DecodingKey::from_rsa_raw_components(modulus, exponent)
        }
        PublicKeyParts::P256 { x, y } => {
            let mut point = vec![0x04];
            point.extend_from_slice(x);
            point.extend_from_slice(y);
            DecodingKey::from_ec_der(&point)
        }
    }
}

/// Checks the libtrust key id format registries expect: twelve groups of four base32
/// characters joined by ':'.
pub(crate) fn assert_kid_format(kid: &str) {
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
