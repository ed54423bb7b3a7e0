//! Synapse's JSON Web Key Set (`GET /auth/v1/oauth2/jwks`): the RSA keys its tokens are
//! signed with, by key id.
//!
//! Synapse writes `n` and `e` as base64url of Java's `BigInteger.toByteArray()`, which
//! puts a `0x00` byte in front of every value whose top bit is set, so every 2048- or
//! 4096-bit modulus arrives with one. RFC 7518 §6.3.1.1 forbids it and aws-lc-rs (like
//! ring) refuses such a modulus, so the zeros are stripped here, once, when the set is
//! read (reference `synapse-rest-backend.md` §1.2).

use std::collections::BTreeMap;

use aws_lc_rs::signature::{RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use serde_json::Value;

/// Modulus sizes RS256 verification accepts (aws-lc-rs' `RSA_PKCS1_2048_8192_SHA256`, the
/// parameters jsonwebtoken verifies with): a key outside is refused here, where the
/// message can name it, rather than failing every token later.
const MIN_MODULUS_BITS: usize = 2048;
const MAX_MODULUS_BITS: usize = 8192;

/// Why a key set could not be used. A key regauth would use but cannot read fails the
/// whole set: the caller keeps its last good set (reference §4) and the fault is loud,
/// instead of tokens under that key failing one by one with "unknown key".
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("the JWKS is not JSON of the form {{\"keys\": [...]}}: {0}")]
    Json(#[from] serde_json::Error),
    #[error("JWKS key {kid:?}: `{member}` is missing or not a string")]
    MissingMember { kid: String, member: &'static str },
    #[error("JWKS key {kid:?}: `{member}` is not base64url: {source}")]
    Base64 {
        kid: String,
        member: &'static str,
        source: base64::DecodeError,
    },
    #[error("JWKS key {kid:?}: {reason}")]
    BadKey { kid: String, reason: String },
    #[error("JWKS key id {0:?} appears more than once")]
    DuplicateKid(String),
    #[error("the JWKS holds no RSA signing key with a key id")]
    NoUsableKey,
}

/// The RSA signing keys of one JWKS document, by `kid`. Tokens name their key in the
/// header; a token whose `kid` is not here is refused (the caller may refetch once).
#[derive(Clone, Debug)]
pub struct JsonWebKeySet {
    keys: BTreeMap<String, DecodingKey>,
}

#[derive(Deserialize)]
struct Document {
    keys: Vec<Value>,
}

impl JsonWebKeySet {
    /// Parses Synapse's `{"keys":[{"kty":"RSA","use":"sig","kid","e","n",...}]}`; keys of
    /// other types or uses are skipped; leading zero bytes of `n` and `e` are stripped
    /// before building the key (Java BigInteger encoding, see the reference §1.2).
    ///
    /// Skipped too: keys with an `alg` other than RS256 (Synapse writes none) and keys
    /// without a `kid` (no token could name them). An RSA signing key whose `n` or `e`
    /// cannot be read, or whose modulus is outside 2048–8192 bits, is an error.
    pub fn parse(body: &[u8]) -> Result<JsonWebKeySet, JwksError> {
        let document: Document = serde_json::from_slice(body)?;
        let mut keys = BTreeMap::new();
        for jwk in &document.keys {
            let member = move |name: &str| jwk.get(name).and_then(Value::as_str);
            let usable = member("kty") == Some("RSA")
                && jwk.get("use").is_none_or(|u| u.as_str() == Some("sig"))
                && jwk.get("alg").is_none_or(|a| a.as_str() == Some("RS256"));
            let Some(kid) = member("kid").filter(|_| usable) else {
                continue;
            };
            let n = component(jwk, kid, "n")?;
            let e = component(jwk, kid, "e")?;
            let key = rsa_key(kid, n, e)?;
            if keys.insert(kid.to_owned(), key).is_some() {
                return Err(JwksError::DuplicateKid(kid.to_owned()));
            }
        }
        if keys.is_empty() {
            return Err(JwksError::NoUsableKey);
        }
        Ok(JsonWebKeySet { keys })
    }

    /// The verification key named `kid`.
    pub fn key(&self, kid: &str) -> Option<&DecodingKey> {
        self.keys.get(kid)
    }

    /// The key ids, sorted (the tests' view of what was loaded).
    #[cfg(test)]
    pub fn kids(&self) -> Vec<String> {
        self.keys.keys().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// The bytes of `jwk[member]`, base64url with or without padding, leading zeros removed.
fn component(jwk: &Value, kid: &str, member: &'static str) -> Result<Vec<u8>, JwksError> {
    let text = jwk
        .get(member)
        .and_then(Value::as_str)
        .ok_or_else(|| JwksError::MissingMember {
            kid: kid.to_owned(),
            member,
        })?;
    let bytes = URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|source| JwksError::Base64 {
            kid: kid.to_owned(),
            member,
            source,
        })?;
    Ok(strip_leading_zeros(&bytes).to_vec())
}

/// `bytes` without its leading zero bytes: the unsigned big-endian integer RFC 7518 asks
/// for, from Java's two's-complement `BigInteger.toByteArray()` (a positive value whose
/// top bit is set gets one `0x00` in front).
fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// The jsonwebtoken key of (`n`, `e`), after aws-lc-rs has accepted them as an RSA key
/// of a size RS256 verification takes.
fn rsa_key(kid: &str, n: Vec<u8>, e: Vec<u8>) -> Result<DecodingKey, JwksError> {
    let bad = |reason: String| JwksError::BadKey {
        kid: kid.to_owned(),
        reason,
    };
    let bits = n
        .first()
        .map_or(0, |top| n.len() * 8 - top.leading_zeros() as usize);
    if !(MIN_MODULUS_BITS..=MAX_MODULUS_BITS).contains(&bits) {
        return Err(bad(format!(
            "a {bits}-bit modulus (RS256 takes {MIN_MODULUS_BITS} to {MAX_MODULUS_BITS})"
        )));
    }
    RsaPublicKeyComponents { n: &n, e: &e }
        .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
        .map_err(|err| bad(format!("not an RSA public key: {err}")))?;
    Ok(DecodingKey::from_rsa_raw_components(&n, &e))
}

/// What the Synapse tests share: real RSA keys, and their JWKS written as Synapse writes it.
#[cfg(test)]
pub(crate) mod test_keys {
    use std::sync::OnceLock;

    use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
    use aws_lc_rs::rsa::{KeyPair, KeySize};
    use aws_lc_rs::signature::KeyPair as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use jsonwebtoken::EncodingKey;
    use pkcs8::der::Decode;
    use serde_json::{json, Value};

    /// A generated RSA-2048 key: its PKCS#1 private key (what jsonwebtoken signs with),
    /// its PKCS#1 public key, and its public modulus and exponent without leading zeros.
    pub(crate) struct TestKey {
        pkcs1_der: Vec<u8>,
        pub(crate) public_der: Vec<u8>,
        pub(crate) n: Vec<u8>,
        pub(crate) e: Vec<u8>,
    }

    impl TestKey {
        fn generate() -> TestKey {
            let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
            let pkcs8 = AsDer::<Pkcs8V1Der>::as_der(&pair).unwrap();
            let info = pkcs8::PrivateKeyInfoRef::from_der(pkcs8.as_ref()).unwrap();
            let public = pair.public_key();
            TestKey {
                pkcs1_der: info.private_key.as_bytes().to_vec(),
                public_der: public.as_ref().to_vec(),
                n: public.modulus().big_endian_without_leading_zero().to_vec(),
                e: public.exponent().big_endian_without_leading_zero().to_vec(),
            }
        }

        pub(crate) fn encoding_key(&self) -> EncodingKey {
            EncodingKey::from_rsa_der(&self.pkcs1_der)
        }

        /// The key as one JWKS entry, as Synapse writes it (Java BigInteger bytes).
        pub(crate) fn jwk(&self, kid: &str) -> Value {
            json!({
                "kty": "RSA",
                "use": "sig",
                "kid": kid,
                "e": URL_SAFE_NO_PAD.encode(java_big_integer(&self.e)),
                "n": URL_SAFE_NO_PAD.encode(java_big_integer(&self.n)),
                "concreteType": "org.sagebionetworks.repo.model.auth.JsonWebKeyRSA",
            })
        }
    }

    /// Two keys, generated once per test run (RSA generation is slow).
    pub(crate) fn key_a() -> &'static TestKey {
        static KEY: OnceLock<TestKey> = OnceLock::new();
        KEY.get_or_init(TestKey::generate)
    }

    pub(crate) fn key_b() -> &'static TestKey {
        static KEY: OnceLock<TestKey> = OnceLock::new();
        KEY.get_or_init(TestKey::generate)
    }

    /// Java's `BigInteger.toByteArray()` of the positive integer `unsigned` (big-endian,
    /// no leading zeros): a `0x00` in front when the top bit is set.
    pub(crate) fn java_big_integer(unsigned: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(unsigned.len() + 1);
        if unsigned.first().is_some_and(|b| b & 0x80 != 0) {
            out.push(0);
        }
        out.extend_from_slice(unsigned);
        out
    }

    /// The JWKS document of `keys`, each under its kid.
    pub(crate) fn jwks_json(keys: &[(&TestKey, &str)]) -> Vec<u8> {
        let keys: Vec<Value> = keys.iter().map(|(key, kid)| key.jwk(kid)).collect();
        serde_json::to_vec(&json!({ "keys": keys })).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::test_keys::{java_big_integer, jwks_json, key_a, key_b};
    use super::*;
    use serde_json::json;

    fn parse_value(document: Value) -> Result<JsonWebKeySet, JwksError> {
        JsonWebKeySet::parse(&serde_json::to_vec(&document).unwrap())
    }

    #[test]
    fn strip_leading_zeros_removes_only_leading_zero_bytes() {
        assert_eq!(strip_leading_zeros(&[0, 0x80, 0, 1]), &[0x80, 0, 1]);
        assert_eq!(strip_leading_zeros(&[0, 0, 7]), &[7]);
        assert_eq!(strip_leading_zeros(&[1, 0]), &[1, 0]);
        assert_eq!(strip_leading_zeros(&[0x01, 0x00, 0x01]), &[1, 0, 1]);
        assert_eq!(strip_leading_zeros(&[0, 0]), &[] as &[u8]);
        assert_eq!(strip_leading_zeros(&[]), &[] as &[u8]);
    }

    #[test]
    fn synapse_style_jwks_with_leading_zero_modulus_parses() {
        let body = jwks_json(&[(key_a(), "FPQF:TWLT")]);
        // The modulus really is written the Java way: 257 bytes, the first one zero.
        let doc: Value = serde_json::from_slice(&body).unwrap();
        let n = URL_SAFE_NO_PAD
            .decode(doc["keys"][0]["n"].as_str().unwrap())
            .unwrap();
        assert_eq!((n.len(), n[0]), (257, 0));

        let set = JsonWebKeySet::parse(&body).unwrap();
        assert_eq!(set.len(), 1);
        assert!(!set.is_empty());
        assert_eq!(set.kids(), vec!["FPQF:TWLT".to_owned()]);
        assert!(set.key("FPQF:TWLT").is_some());
        assert!(set.key("other").is_none());
        match set.key("FPQF:TWLT").unwrap().kind() {
            jsonwebtoken::DecodingKeyKind::RsaModulusExponent { n, e } => {
                assert_eq!((n, e), (&key_a().n, &key_a().e));
            }
            other => panic!("{other:?}"),
        }
    }

    /// Why the stripping is needed: aws-lc-rs refuses the modulus as Synapse writes it.
    #[test]
    fn aws_lc_refuses_the_unstripped_java_modulus() {
        let java_n = java_big_integer(&key_a().n);
        assert_eq!(java_n[0], 0);
        let parsed = |n: &[u8]| {
            RsaPublicKeyComponents { n, e: &key_a().e }
                .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
                .is_ok()
        };
        assert!(!parsed(&java_n));
        assert!(parsed(strip_leading_zeros(&java_n)));
    }

    #[test]
    fn two_keys_are_both_kept() {
        let set = JsonWebKeySet::parse(&jwks_json(&[(key_a(), "k2"), (key_b(), "k1")])).unwrap();
        assert_eq!(set.len(), 2);
        assert_eq!(set.kids(), vec!["k1".to_owned(), "k2".to_owned()]);
    }

    #[test]
    fn other_types_uses_algorithms_and_keys_without_kid_are_skipped() {
        let mut enc = key_b().jwk("enc");
        enc["use"] = json!("enc");
        let mut ps256 = key_b().jwk("ps");
        ps256["alg"] = json!("PS256");
        let mut no_kid = key_b().jwk("x");
        no_kid.as_object_mut().unwrap().remove("kid");
        let mut no_use = key_b().jwk("no-use");
        no_use.as_object_mut().unwrap().remove("use");
        let ec =
            json!({"kty": "EC", "use": "sig", "kid": "ec", "crv": "P-256", "x": "!", "y": "!"});
        let set = parse_value(json!({
            "keys": [ec, enc, ps256, no_kid, key_a().jwk("rsa"), no_use]
        }))
        .unwrap();
        assert_eq!(set.kids(), vec!["no-use".to_owned(), "rsa".to_owned()]);

        let mut rs256 = key_a().jwk("explicit");
        rs256["alg"] = json!("RS256");
        assert_eq!(parse_value(json!({"keys": [rs256]})).unwrap().len(), 1);
    }

    #[test]
    fn a_set_without_usable_keys_is_an_error() {
        let ec = json!({"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"});
        for document in [json!({"keys": []}), json!({"keys": [ec]})] {
            let err = parse_value(document).unwrap_err();
            assert!(matches!(err, JwksError::NoUsableKey), "{err}");
        }
    }

    #[test]
    fn malformed_documents_are_json_errors() {
        let bodies: [&[u8]; 5] = [b"not json", b"{}", b"{\"keys\": \"x\"}", b"[]", b""];
        for body in bodies {
            let err = JsonWebKeySet::parse(body).unwrap_err();
            assert!(matches!(err, JwksError::Json(_)), "{err}");
        }
    }

    #[test]
    fn unreadable_components_are_errors() {
        let mut bad_n = key_a().jwk("k");
        bad_n["n"] = json!("not*base64");
        let err = parse_value(json!({"keys": [bad_n]})).unwrap_err();
        assert!(
            matches!(&err, JwksError::Base64 { kid, member: "n", .. } if kid == "k"),
            "{err}"
        );

        let mut no_e = key_a().jwk("k");
        no_e.as_object_mut().unwrap().remove("e");
        let err = parse_value(json!({"keys": [no_e]})).unwrap_err();
        assert!(
            matches!(err, JwksError::MissingMember { member: "e", .. }),
            "{err}"
        );

        let mut zero_e = key_a().jwk("k");
        zero_e["e"] = json!("AA");
        let err = parse_value(json!({"keys": [zero_e]})).unwrap_err();
        assert!(matches!(err, JwksError::BadKey { .. }), "{err}");
    }

    #[test]
    fn padded_base64url_is_accepted() {
        let mut padded = key_a().jwk("k");
        padded["e"] = json!("AQAB");
        padded["n"] = json!(format!("{}==", padded["n"].as_str().unwrap()));
        assert_eq!(parse_value(json!({"keys": [padded]})).unwrap().len(), 1);
    }

    #[test]
    fn moduli_outside_rs256_sizes_are_refused() {
        let mut small = key_a().jwk("small");
        small["n"] = json!(URL_SAFE_NO_PAD.encode(&key_a().n[..128]));
        let err = parse_value(json!({"keys": [small]})).unwrap_err();
        assert!(
            matches!(&err, JwksError::BadKey { reason, .. } if reason.contains("1024-bit")),
            "{err}"
        );
    }

    #[test]
    fn a_kid_twice_is_an_error() {
        let body = jwks_json(&[(key_a(), "same"), (key_b(), "same")]);
        let err = JsonWebKeySet::parse(&body).unwrap_err();
        assert!(
            matches!(&err, JwksError::DuplicateKid(kid) if kid == "same"),
            "{err}"
        );
    }
}
