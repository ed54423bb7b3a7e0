//! The fake Synapse's RSA signing keys, its JWKS and the access-token JWTs it mints and
//! checks (reference: synapse-rest-backend.md §1.2 and §2).

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    KeyPair, RsaKeyPair, UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use super::model::UserId;

/// `token_type` of login2 and OAuth access tokens (§2).
pub const OIDC_ACCESS_TOKEN: &str = "OIDC_ACCESS_TOKEN";
/// `token_type` of personal access tokens (§2).
pub const PERSONAL_ACCESS_TOKEN: &str = "PERSONAL_ACCESS_TOKEN";
/// `token_type` of ID tokens: never a credential (§2 check 5), so the fake refuses it.
pub const OIDC_ID_TOKEN: &str = "OIDC_ID_TOKEN";

/// Every scope a login2 token carries (§1.1, §2 `access`).
pub const ALL_SCOPES: [&str; 8] = [
    "openid",
    "email",
    "profile",
    "view",
    "download",
    "modify",
    "authorize",
    "offline_access",
];

/// Lifetime of a login2 access token (§1.1: 24 h).
pub const LOGIN_TOKEN_SECONDS: i64 = 24 * 60 * 60;

/// `concreteType` of every key in the JWKS (§1.2).
const JWK_CONCRETE_TYPE: &str = "org.sagebionetworks.repo.model.auth.JsonWebKeyRSA";

/// Seconds since the epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// One RSA-2048 key as Synapse holds it: the pair, its `kid`, and its public numbers.
pub struct SigningKey {
    pub kid: String,
    pair: RsaKeyPair,
}

impl SigningKey {
    /// A fresh RSA-2048 key (Synapse's size; its modulus always has the top bit set,
    /// which is what makes the Java encoding add a zero byte).
    pub fn generate() -> SigningKey {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key generation");
        let spki: PublicKeyX509Der = pair.public_key().as_der().expect("SPKI of the key");
        SigningKey {
            kid: synapse_kid(spki.as_ref()),
            pair,
        }
    }

    /// The JWKS entry: `n`/`e` as Java's `BigInteger.toByteArray()`, base64url, and no
    /// `alg` member (§1.2, KPU:116-140).
    pub fn jwk(&self) -> Value {
        let public = self.pair.public_key();
        let n = java_big_integer_bytes(public.modulus().big_endian_without_leading_zero());
        let e = java_big_integer_bytes(public.exponent().big_endian_without_leading_zero());
        json!({
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "e": URL_SAFE_NO_PAD.encode(e),
            "n": URL_SAFE_NO_PAD.encode(n),
            "concreteType": JWK_CONCRETE_TYPE,
        })
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut signature,
            )
            .expect("RSA signature");
        signature
    }

    fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, self.pair.public_key().as_ref())
            .verify(message, signature)
            .is_ok()
    }
}

/// Synapse's key id (§1.2, KPU:89-110): SHA-256 of the DER SubjectPublicKeyInfo, the
/// last 2 bytes dropped, base32, in groups of 4 joined by `:`.
pub fn synapse_kid(spki_der: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, spki_der);
    let encoded = data_encoding::BASE32_NOPAD.encode(&digest.as_ref()[..30]);
    let groups: Vec<&str> = encoded
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    groups.join(":")
}

/// Java's `BigInteger.toByteArray()` of a positive number given as unsigned big-endian
/// bytes: the shortest two's-complement form, so a zero byte leads whenever the top
/// bit is set. This is the encoding quirk of §1.2 (RFC 7518 §6.3.1.1 forbids it).
pub fn java_big_integer_bytes(unsigned: &[u8]) -> Vec<u8> {
    let start = unsigned
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(unsigned.len());
    let digits = &unsigned[start..];
    let mut out = Vec::with_capacity(digits.len() + 1);
    if digits.first().is_none_or(|b| b & 0x80 != 0) {
        out.push(0);
    }
    out.extend_from_slice(digits);
    out
}

/// The configured keys: all published ones sign nothing but the last (§1.2 "Rotation"),
/// plus at most one key that signs before the JWKS shows it (the stale-JWKS case).
pub struct Keys {
    published: Vec<SigningKey>,
    pending: Option<SigningKey>,
}

impl Keys {
    pub fn generate() -> Keys {
        Keys {
            published: vec![SigningKey::generate()],
            pending: None,
        }
    }

    /// The key new tokens are signed with: the last published one.
    pub fn signer(&self) -> &SigningKey {
        self.published.last().expect("at least one key")
    }

    /// A new key, published beside the old ones, that signs from now on.
    pub fn rotate(&mut self) {
        self.published.push(SigningKey::generate());
    }

    /// The key that is not in the JWKS yet (made on first use).
    pub fn pending(&mut self) -> &SigningKey {
        self.pending.get_or_insert_with(SigningKey::generate)
    }

    /// Publishes the pending key; being the last, it signs from now on.
    pub fn publish_pending(&mut self) {
        if let Some(key) = self.pending.take() {
            self.published.push(key);
        }
    }

    /// `GET /auth/v1/oauth2/jwks` (§1.2): every published key.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self.published.iter().map(SigningKey::jwk).collect();
        json!({ "keys": keys })
    }

    /// Any key Synapse holds, published or not: it checks its own tokens with all.
    fn find(&self, kid: &str) -> Option<&SigningKey> {
        self.published
            .iter()
            .chain(self.pending.iter())
            .find(|k| k.kid == kid)
    }
}

/// What goes into a token. Public so tests can mint odd ones (another audience, an ID
/// token, a token from the past).
#[derive(Clone, Debug)]
pub struct TokenSpec {
    pub user: UserId,
    pub token_type: String,
    pub scopes: Vec<String>,
    pub issued_at: i64,
    /// None: no `exp` claim at all (personal access tokens, §2).
    pub expires_at: Option<i64>,
    pub audience: String,
    /// None: the fake's own issuer.
    pub issuer: Option<String>,
}

impl TokenSpec {
    /// What login2 mints (§1.1, §2): every scope, 24 h.
    pub fn login(user: UserId) -> TokenSpec {
        let now = now();
        TokenSpec {
            user,
            token_type: OIDC_ACCESS_TOKEN.to_string(),
            scopes: ALL_SCOPES.iter().map(|s| s.to_string()).collect(),
            issued_at: now,
            expires_at: Some(now + LOGIN_TOKEN_SECONDS),
            audience: "0".to_string(),
            issuer: None,
        }
    }

    /// A personal access token (§2): the chosen scopes, no `exp`.
    pub fn personal(user: UserId, scopes: &[&str]) -> TokenSpec {
        TokenSpec {
            token_type: PERSONAL_ACCESS_TOKEN.to_string(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            expires_at: None,
            ..TokenSpec::login(user)
        }
    }
}

/// A UUID-shaped random id (the stored token record id, §2 `jti`).
pub fn uuid_like() -> String {
    let v: u128 = rand::random();
    let h = format!("{v:032x}");
    format!(
        "{}-{}-4{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[13..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The claims of §2 for `spec`, with `jti`.
fn claims(spec: &TokenSpec, issuer: &str, jti: &str) -> Value {
    let mut claims = json!({
        "iss": spec.issuer.as_deref().unwrap_or(issuer),
        "sub": spec.user.to_string(),
        "aud": spec.audience,
        "iat": spec.issued_at,
        "nbf": spec.issued_at,
        "jti": jti,
        "token_type": spec.token_type,
        "access": { "scope": spec.scopes, "oidc_claims": {} },
    });
    if let Some(exp) = spec.expires_at {
        claims["exp"] = json!(exp);
    }
    claims
}

/// A signed JWT, header `{"typ":"JWT","alg":"RS256","kid"}` (§2, OTM:75-82).
pub fn mint(key: &SigningKey, spec: &TokenSpec, issuer: &str) -> String {
    let header = json!({ "typ": "JWT", "alg": "RS256", "kid": key.kid });
    let payload = claims(spec, issuer, &uuid_like());
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    );
    let signature = URL_SAFE_NO_PAD.encode(key.sign(message.as_bytes()));
    format!("{message}.{signature}")
}

/// A token the fake accepted as a credential.
#[derive(Clone, Debug)]
pub struct Verified {
    pub user: UserId,
    pub scopes: Vec<String>,
    pub jti: String,
    pub issued_at: i64,
}

impl Verified {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// The claims of a token, unverified (for `revoke`, and for tests reading claims).
pub fn unverified_claims(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

/// Synapse's own check of a bearer token (§1.4 "401" list, JWH:57-90): a signature by
/// one of its keys, an accepted `token_type`, `exp` in the future when present. Like
/// Synapse it checks neither `iss` nor `aud`. Revocation is the model's business.
pub fn verify(keys: &Keys, token: &str) -> Result<Verified, &'static str> {
    let (message, signature) = token.rsplit_once('.').ok_or("not a JWT")?;
    let header_part = message.split('.').next().ok_or("not a JWT")?;
    let header: Value = URL_SAFE_NO_PAD
        .decode(header_part)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("unreadable header")?;
    if header["alg"] != "RS256" {
        return Err("wrong algorithm");
    }
    let key = keys
        .find(header["kid"].as_str().unwrap_or_default())
        .ok_or("unknown key")?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| "bad signature")?;
    if !key.verifies(message.as_bytes(), &signature) {
        return Err("bad signature");
    }
    let claims = unverified_claims(token).ok_or("unreadable claims")?;
    accepted(&claims)
}

/// The claim checks of [`verify`], after the signature.
fn accepted(claims: &Value) -> Result<Verified, &'static str> {
    let token_type = claims["token_type"].as_str().unwrap_or_default();
    if token_type != OIDC_ACCESS_TOKEN && token_type != PERSONAL_ACCESS_TOKEN {
        return Err("wrong token type");
    }
    if claims["exp"].as_i64().is_some_and(|exp| exp <= now()) {
        return Err("expired");
    }
    let user = claims["sub"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or("no user")?;
    let scopes = claims["access"]["scope"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    Ok(Verified {
        user,
        scopes,
        jti: claims["jti"].as_str().unwrap_or_default().to_string(),
        issued_at: claims["iat"].as_i64().unwrap_or_default(),
    })
}
