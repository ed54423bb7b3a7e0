//! Local verification of Synapse-issued JWTs: login2 / OAuth access tokens and personal
//! access tokens, checked against Synapse's JWKS (reference `synapse-rest-backend.md` §2).
//!
//! Only what the token itself proves is checked here: signature, audience, issuer, type
//! and times. Revocation (logout, a deleted PAT) is invisible in the token; the caller
//! confirms liveness with Synapse (§1.4) before trusting a verified token.

use std::sync::LazyLock;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::jwks::JsonWebKeySet;

/// The audience of tokens Synapse issues to itself (login2, PATs): its reserved client
/// id "0". Tokens for third-party OAuth clients carry their client id and a pairwise
/// `sub`, which is not a user id, so they are refused.
const SYNAPSE_AUDIENCE: &str = "0";
const OIDC_ACCESS_TOKEN: &str = "OIDC_ACCESS_TOKEN";
const PERSONAL_ACCESS_TOKEN: &str = "PERSONAL_ACCESS_TOKEN";

/// The two kinds of Synapse token that are credentials (ID tokens are not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynapseTokenType {
    /// `OIDC_ACCESS_TOKEN`: from login2 (24 h, every scope) or an OAuth flow.
    OidcAccessToken,
    /// `PERSONAL_ACCESS_TOKEN`: no `exp`; Synapse expires it after 180 days unused.
    PersonalAccessToken,
}

/// What a verified token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    /// `sub`: the numeric Synapse user id, as text.
    pub user_id: String,
    pub token_type: SynapseTokenType,
    /// `access.scope`: `view`, `download`, `modify`, ...
    pub scopes: Vec<String>,
    /// `exp` (None for a PAT without exp).
    pub expires_at: Option<i64>,
    /// `iat`.
    pub issued_at: Option<i64>,
    /// `jti`: the id of Synapse's record of the token.
    pub jti: Option<String>,
    /// `iss`, one of `Acceptance::issuers`.
    pub issuer: String,
}

/// What a token must match besides its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acceptance {
    /// Accepted `iss` values: `<scheme://host>/auth/v1` of each Synapse host tokens come
    /// from (the discovery document's `issuer`, §1.3). Empty refuses every token.
    pub issuers: Vec<String>,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
}

impl Acceptance {
    /// The leeway `new` uses: the most the reference allows (§2, check 2).
    pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);

    pub fn new(issuers: Vec<String>) -> Acceptance {
        Acceptance {
            issuers,
            leeway: Self::DEFAULT_LEEWAY,
        }
    }
}

/// Why a token was refused. Every variant means "not a credential"; the distinctions are
/// for logs and for the one case the caller acts on, `UnknownKid` (refetch the JWKS).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("not a well-formed JWT")]
    Malformed,
    #[error("the token is not signed with RS256")]
    NotRs256,
    #[error("the token header names no key (kid)")]
    NoKid,
    #[error("the token is signed with key {0:?}, which is not in Synapse's key set")]
    UnknownKid(String),
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token is not for Synapse's own client (aud \"0\")")]
    WrongAudience,
    #[error("the token's issuer is not an accepted Synapse")]
    WrongIssuer,
    /// The `token_type` found, empty when the claim is absent.
    #[error("a Synapse token of type {0:?} is not a credential")]
    WrongType(String),
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the access token has no expiry")]
    MissingExpiry,
}

/// True when `s` has the shape of a JWT (three base64url parts, a JSON header) — used to tell
/// a token from a password in Basic auth. Cheap, no verification.
///
/// The signature part may be empty (an unsigned token is still a token, and is refused as
/// one rather than sent to Synapse as a password).
pub fn looks_like_jwt(s: &str) -> bool {
    let base64url = |part: &str| {
        part.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let mut parts = s.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(header), Some(payload), Some(signature), None) => {
            !payload.is_empty()
                && base64url(payload)
                && base64url(signature)
                && base64url(header)
                && header_json(s).is_some()
        }
        _ => false,
    }
}

/// The header's `kid`, after checking `alg` is RS256 (pinned: HS256/none/ES256 are refused
/// before any key is looked up — the alg-confusion attack).
///
/// A header with `crit` is refused as malformed: it names extensions the token's meaning
/// depends on, and nothing here understands any (RFC 7515 §4.1.11).
pub fn key_id(token: &str) -> Result<String, TokenError> {
    let header = header_json(token).ok_or(TokenError::Malformed)?;
    match header.get("alg") {
        Some(Value::String(alg)) if alg == "RS256" => {}
        Some(Value::String(_)) => return Err(TokenError::NotRs256),
        _ => return Err(TokenError::Malformed),
    }
    if header.contains_key("crit") {
        return Err(TokenError::Malformed);
    }
    match header.get("kid") {
        Some(Value::String(kid)) if !kid.is_empty() => Ok(kid.clone()),
        _ => Err(TokenError::NoKid),
    }
}

/// The JSON object in the first of exactly three dot-separated parts of `token`.
fn header_json(token: &str) -> Option<Map<String, Value>> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let bytes = URL_SAFE_NO_PAD.decode(header).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// jsonwebtoken's part of the checks: the RS256 signature and `aud` == "0" (required:
/// jsonwebtoken skips the audience check when the claim is absent). Time checks are off
/// there (`validate_exp`/`validate_nbf` false, `exp` not required) because jsonwebtoken
/// reads the system clock: `verify` checks `exp` per token type and `nbf` against the
/// `now` it is given, so every time check uses one clock. `iss` is checked by `verify`
/// too, which also refuses a token without one.
static VALIDATION: LazyLock<Validation> = LazyLock::new(|| {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.required_spec_claims = ["aud".to_owned()].into();
    validation.set_audience(&[SYNAPSE_AUDIENCE]);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation
});

/// The claims regauth reads (§2); others (`access.oidc_claims`, `auth_time`, ...) are ignored.
#[derive(Deserialize)]
struct Claims {
    sub: String,
    iss: Option<String>,
    token_type: Option<String>,
    #[serde(default, deserialize_with = "numeric_date")]
    exp: Option<i64>,
    #[serde(default, deserialize_with = "numeric_date")]
    nbf: Option<i64>,
    #[serde(default, deserialize_with = "numeric_date")]
    iat: Option<i64>,
    jti: Option<String>,
    access: Option<Access>,
}

#[derive(Deserialize)]
struct Access {
    scope: Option<Vec<String>>,
}

/// A JWT NumericDate (RFC 7519 §2): seconds, which may have a fraction (dropped).
fn numeric_date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    if let Some(seconds) = number.as_i64() {
        return Ok(Some(seconds));
    }
    match number.as_f64() {
        Some(seconds) if seconds.is_finite() && seconds.abs() < i64::MAX as f64 => {
            Ok(Some(seconds.floor() as i64))
        }
        _ => Err(serde::de::Error::custom("a NumericDate out of range")),
    }
}

/// Verifies signature (RS256 only), `aud` == "0", `iss` in `acceptance.issuers`, `token_type` in
/// {OIDC_ACCESS_TOKEN, PERSONAL_ACCESS_TOKEN} (anything else, e.g. an ID token, is WrongType),
/// `nbf` if present (with leeway), and expiry per type: an OIDC access token must carry `exp`
/// (else MissingExpiry) and `exp > now - leeway`; a PAT may lack `exp` (its expiry is server
/// side), and when it has one it is checked too. `now` is unix seconds (passed in, for tests).
pub fn verify(
    token: &str,
    keys: &JsonWebKeySet,
    acceptance: &Acceptance,
    now: i64,
) -> Result<VerifiedToken, TokenError> {
    let kid = key_id(token)?;
    let key = keys.key(&kid).ok_or(TokenError::UnknownKid(kid))?;
    let claims = jsonwebtoken::decode::<Claims>(token, key, &VALIDATION)
        .map_err(|err| refusal(err.kind()))?
        .claims;

    let issuer = claims
        .iss
        .filter(|iss| acceptance.issuers.contains(iss))
        .ok_or(TokenError::WrongIssuer)?;
    let token_type = match claims.token_type.as_deref() {
        Some(OIDC_ACCESS_TOKEN) => SynapseTokenType::OidcAccessToken,
        Some(PERSONAL_ACCESS_TOKEN) => SynapseTokenType::PersonalAccessToken,
        other => return Err(TokenError::WrongType(other.unwrap_or_default().to_owned())),
    };

    let leeway = i64::try_from(acceptance.leeway.as_secs()).unwrap_or(i64::MAX);
    if claims
        .nbf
        .is_some_and(|nbf| nbf > now.saturating_add(leeway))
    {
        return Err(TokenError::NotYetValid);
    }
    match (token_type, claims.exp) {
        (SynapseTokenType::OidcAccessToken, None) => return Err(TokenError::MissingExpiry),
        (_, Some(exp)) if exp <= now.saturating_sub(leeway) => return Err(TokenError::Expired),
        _ => {}
    }

    Ok(VerifiedToken {
        user_id: claims.sub,
        token_type,
        scopes: claims.access.and_then(|a| a.scope).unwrap_or_default(),
        expires_at: claims.exp,
        issued_at: claims.iat,
        jti: claims.jti,
        issuer,
    })
}

/// The refusal for what jsonwebtoken found wrong. Its time errors cannot occur (its time
/// checks are off) but are mapped for completeness.
fn refusal(kind: &ErrorKind) -> TokenError {
    match kind {
        ErrorKind::InvalidSignature | ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidKeyFormat => {
            TokenError::BadSignature
        }
        ErrorKind::InvalidAlgorithm => TokenError::NotRs256,
        ErrorKind::InvalidAudience => TokenError::WrongAudience,
        ErrorKind::MissingRequiredClaim(claim) if claim == "aud" => TokenError::WrongAudience,
        ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        _ => TokenError::Malformed,
    }
}

#[cfg(test)]
mod tests;
