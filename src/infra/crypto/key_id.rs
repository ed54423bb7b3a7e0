//! Key ids: the libtrust `kid` registry 2.x matches tokens against, and the RFC 7638
//! JWK thumbprint registry 3.x names keys by.

use aws_lc_rs::digest::{digest, SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::x509::{decode_public_key, PublicKeyParts};

/// The libtrust key id docker/distribution 2.x matches a token's `kid` against: SHA-256
/// of the DER SubjectPublicKeyInfo, first 240 bits, base32 (standard alphabet, no
/// padding), in 12 groups of 4 joined by `:`.
pub fn libtrust_kid(spki_der: &[u8]) -> String {
    let sha = digest(&SHA256, spki_der);
    let b32 = data_encoding::BASE32_NOPAD.encode(&sha.as_ref()[..30]);
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

/// The required members of the JWK of an RSA or P-256 public key given as DER
/// SubjectPublicKeyInfo, in lexicographic order (RFC 7638 §3.2): what the thumbprint
/// hashes and what the key set publishes. None for other keys (and for a P-256 point in
/// compressed form, which no key of ours has).
pub fn jwk_members(spki_der: &[u8]) -> Option<Vec<(&'static str, String)>> {
    let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
    Some(match decode_public_key(spki_der)? {
        PublicKeyParts::Rsa { modulus, exponent } => vec![
            ("e", b64(exponent)),
            ("kty", "RSA".into()),
            ("n", b64(modulus)),
        ],
        PublicKeyParts::P256 { x, y } => vec![
            ("crv", "P-256".into()),
            ("kty", "EC".into()),
            ("x", b64(x)),
            ("y", b64(y)),
        ],
    })
}

/// The RFC 7638 JWK thumbprint (SHA-256, base64url) of `jwk_members`: how registry 3.x
/// names keys.
pub fn thumbprint_of(members: &[(&'static str, String)]) -> String {
    // No whitespace; every value is base64url or a fixed name, so nothing to escape.
    let body: Vec<String> = members
        .iter()
        .map(|(name, value)| format!(r#""{name}":"{value}""#))
        .collect();
    let canonical = format!("{{{}}}", body.join(","));
    URL_SAFE_NO_PAD.encode(digest(&SHA256, canonical.as_bytes()))
}

/// The RFC 7638 JWK thumbprint of an RSA or P-256 public key given as DER
/// SubjectPublicKeyInfo (what the tests check against RFC 7638's example).
#[cfg(test)]
pub fn jwk_thumbprint(spki_der: &[u8]) -> Option<String> {
    jwk_members(spki_der).map(|m| thumbprint_of(&m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infra::crypto::test_support::{assert_kid_format, b64url, p256_spki, rsa_spki};
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::SubjectPublicKeyInfoDer;
    use x509_cert::der::{Decode, Encode};
    use x509_cert::spki::SubjectPublicKeyInfoOwned;

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

    fn spec_ec_spki() -> Vec<u8> {
        let mut point = vec![0x04];
        point.extend(b64url(SPEC_EC_X));
        point.extend(b64url(SPEC_EC_Y));
        p256_spki(&point)
    }

    #[test]
    fn libtrust_kid_matches_the_distribution_spec_vector() {
        let spki = spec_ec_spki();
        assert_eq!(libtrust_kid(&spki), SPEC_EC_KID);
        assert_kid_format(&libtrust_kid(&spki));
    }

    #[test]
    fn libtrust_kid_matches_the_libtrust_py_rsa_vector() {
        let der = SubjectPublicKeyInfoDer::from_pem_slice(PY_RSA_PUBLIC_PEM.as_bytes()).unwrap();
        assert_eq!(libtrust_kid(&der), PY_RSA_KID);
        // And re-encoded from the decoded key, as the DER of a key we hold would be.
        let reencoded = SubjectPublicKeyInfoOwned::from_der(&der)
            .unwrap()
            .to_der()
            .unwrap();
        assert_eq!(libtrust_kid(&reencoded), PY_RSA_KID);
        // And from the key's components, through the same encoder the tests use.
        let Some(PublicKeyParts::Rsa { modulus, exponent }) = decode_public_key(&der) else {
            panic!("RSA expected")
        };
        assert_eq!(libtrust_kid(&rsa_spki(modulus, exponent)), PY_RSA_KID);
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
        let spki = rsa_spki(&n, &b64url("AQAB"));
        assert_eq!(
            jwk_thumbprint(&spki).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
        assert_eq!(jwk_thumbprint(b"junk"), None);
        // P-256: the distribution spec key above; expected value computed independently
        // with Python (json.dumps(jwk, sort_keys=True, separators=(",", ":")), SHA-256,
        // urlsafe base64 without padding).
        assert_eq!(
            jwk_thumbprint(&spec_ec_spki()).as_deref(),
            Some("BIAtji11M6Plev9qEDAPpi67UYRwuSbSnyTWx31vkQM")
        );
    }
}
