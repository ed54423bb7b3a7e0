//! An issuer's JSON Web Key Set (RFC 7517) read into verification keys, each pinned to
//! the one algorithm it may verify (RFC 8725 §3.1): the JWK's `alg` when it names one,
//! else the key type's usual algorithm (RSA → RS256, EC P-256 → ES256, P-384 → ES384).
//! The token's own `alg` is then only compared with it, never trusted.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use serde_json::Value;

/// RSA moduli the verifiers accept (aws-lc-rs' RSA verification takes 2048 to 8192 bits):
/// a key outside is skipped here rather than failing each token later.
const MIN_MODULUS_BITS: usize = 2048;
const MAX_MODULUS_BITS: usize = 8192;
/// More keys than any provider publishes: a set beyond is refused, not searched.
const MAX_KEYS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("the key set is not JSON of the form {{\"keys\": [...]}}: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the key set holds more than {MAX_KEYS} keys")]
    TooManyKeys,
    #[error("key id {0:?} appears more than once")]
    DuplicateKid(String),
    /// Not one key regauth can verify with; `skipped` says why the last one was left out.
    #[error("the key set holds no usable signature key ({skipped})")]
    NoUsableKey { skipped: String },
}

/// One verification key.
pub struct Key {
    pub kid: Option<String>,
    /// The only algorithm this key verifies.
    pub alg: Algorithm,
    pub key: DecodingKey,
}

/// The usable signature keys of one document, in its order.
pub struct KeySet {
    keys: Vec<Key>,
}

#[derive(Deserialize)]
struct Document {
    keys: Vec<Value>,
}

impl KeySet {
    /// Reads a JWKS document. Keys for encryption (`use` other than `sig`), symmetric
    /// keys (`oct`: a shared secret is never a verification key), other key types and
    /// curves, algorithms that do not fit the key, and unreadable keys are skipped; a
    /// document with none left, or a `kid` twice (which key would it be?), is an error.
    pub fn parse(body: &[u8]) -> Result<KeySet, JwksError> {
        let document: Document = serde_json::from_slice(body)?;
        if document.keys.len() > MAX_KEYS {
            return Err(JwksError::TooManyKeys);
        }
        let mut keys: Vec<Key> = Vec::new();
        let mut skipped = String::from("no keys");
        for jwk in &document.keys {
            match read_key(jwk) {
                Ok(key) => {
                    if let Some(kid) = &key.kid {
                        if keys.iter().any(|k| k.kid.as_ref() == Some(kid)) {
                            return Err(JwksError::DuplicateKid(kid.clone()));
                        }
                    }
                    keys.push(key);
                }
                Err(why) => skipped = why,
            }
        }
        if keys.is_empty() {
            return Err(JwksError::NoUsableKey { skipped });
        }
        Ok(KeySet { keys })
    }

    /// The key a token's header names: by `kid`; a token without one only when the set
    /// holds a single key (otherwise which key it means is a guess).
    pub fn find(&self, kid: Option<&str>) -> Option<&Key> {
        match kid {
            Some(kid) => self.keys.iter().find(|k| k.kid.as_deref() == Some(kid)),
            None if self.keys.len() == 1 => self.keys.first(),
            None => None,
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key ids with their algorithms (for logs and tests).
    pub fn describe(&self) -> Vec<(Option<String>, Algorithm)> {
        self.keys.iter().map(|k| (k.kid.clone(), k.alg)).collect()
    }
}

/// One JWK as a verification key, or why it is skipped.
fn read_key(jwk: &Value) -> Result<Key, String> {
    let text = |name: &str| jwk.get(name).and_then(Value::as_str);
    let kid = text("kid").map(str::to_owned);
    let named = kid.as_deref().unwrap_or("(no kid)");
    if jwk.get("use").is_some_and(|u| u.as_str() != Some("sig")) {
        return Err(format!("{named}: not a signature key"));
    }
    let stated = match jwk.get("alg") {
        None => None,
        Some(Value::String(alg)) => Some(alg.as_str()),
        Some(_) => return Err(format!("{named}: `alg` is not a string")),
    };
    let (alg, key) = match text("kty") {
        Some("RSA") => rsa_key(jwk, stated).map_err(|e| format!("{named}: {e}"))?,
        Some("EC") => ec_key(jwk, stated).map_err(|e| format!("{named}: {e}"))?,
        Some(other) => return Err(format!("{named}: key type {other:?} is not used")),
        None => return Err(format!("{named}: no key type")),
    };
    Ok(Key { kid, alg, key })
}

fn rsa_key(jwk: &Value, stated: Option<&str>) -> Result<(Algorithm, DecodingKey), String> {
    let alg = match stated {
        None | Some("RS256") => Algorithm::RS256,
        Some("RS384") => Algorithm::RS384,
        Some("RS512") => Algorithm::RS512,
        Some("PS256") => Algorithm::PS256,
        Some("PS384") => Algorithm::PS384,
        Some("PS512") => Algorithm::PS512,
        Some(other) => return Err(format!("algorithm {other:?} is not an RSA signature")),
    };
    let n = component(jwk, "n")?;
    let e = component(jwk, "e")?;
    let bits = n
        .first()
        .map_or(0, |top| n.len() * 8 - top.leading_zeros() as usize);
    if !(MIN_MODULUS_BITS..=MAX_MODULUS_BITS).contains(&bits) {
        return Err(format!(
            "a {bits}-bit modulus (RSA keys of {MIN_MODULUS_BITS} to {MAX_MODULUS_BITS} bits are used)"
        ));
    }
    if e.is_empty() {
        return Err("an empty exponent".into());
    }
    Ok((alg, DecodingKey::from_rsa_raw_components(&n, &e)))
}

fn ec_key(jwk: &Value, stated: Option<&str>) -> Result<(Algorithm, DecodingKey), String> {
    let (alg, size) = match jwk.get("crv").and_then(Value::as_str) {
        Some("P-256") => (Algorithm::ES256, 32),
        Some("P-384") => (Algorithm::ES384, 48),
        other => return Err(format!("curve {other:?} is not used")),
    };
    if stated.is_some_and(|s| s.parse::<Algorithm>().ok() != Some(alg)) {
        return Err(format!("algorithm {stated:?} does not fit the curve"));
    }
    let x = raw_component(jwk, "x")?;
    let y = raw_component(jwk, "y")?;
    if x.len() != size || y.len() != size {
        return Err("coordinates of the wrong length for the curve".into());
    }
    // The uncompressed point (SEC 1 §2.3.3), what ECDSA verification takes.
    let mut point = Vec::with_capacity(1 + 2 * size);
    point.push(0x04);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    Ok((alg, DecodingKey::from_ec_der(&point)))
}

/// An unsigned big-endian integer member, leading zero bytes removed (some providers
/// write two's-complement bytes, which RFC 7518 §6.3.1.1 forbids and aws-lc-rs refuses).
fn component(jwk: &Value, member: &str) -> Result<Vec<u8>, String> {
    let bytes = raw_component(jwk, member)?;
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    Ok(bytes[first..].to_vec())
}

/// The bytes of a base64url member (padding tolerated).
fn raw_component(jwk: &Value, member: &str) -> Result<Vec<u8>, String> {
    let text = jwk
        .get(member)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("`{member}` is missing"))?;
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|e| format!("`{member}` is not base64url: {e}"))
}
