//! `domain::ports::OidcVerifier` for the configured issuers: a workload's token is
//! read unverified only to pick its issuer among the configured ones (an unknown issuer
//! costs no request), its header refused when it names a key of its own (`jku`, `x5u`,
//! `jwk`, `x5c`: never fetched, never trusted) or no signature (`none`, HMAC), its
//! signature checked with the key its `kid` names and that key's pinned algorithm, then
//! its claims at the caller's `now` (not jsonwebtoken's clock, so one clock decides).

use std::collections::BTreeMap;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::Validation;
use serde_json::{Map, Value};

use crate::domain::model::{UnixTime, WorkloadClaims};
use crate::domain::ports::{OidcRejection, OidcVerifier, Pace};
use crate::infra::config::OidcSettings;

use super::discovery::{FetchError, Fetcher};
use super::key_set::{IssuerKeys, KeySource};

/// One issuer as the verifier takes it.
#[derive(Debug, Clone)]
pub struct IssuerOptions {
    pub name: String,
    /// The exact `iss`.
    pub issuer: String,
    pub source: KeySource,
    pub refetch_interval: Duration,
    pub leeway: Duration,
}

/// The verifier could not be built (its runtime or HTTP client).
#[derive(Debug, thiserror::Error)]
#[error("OIDC verifier: {0}")]
pub struct SetupError(String);

struct Issuer {
    options: IssuerOptions,
    keys: IssuerKeys,
}

pub struct Verifier {
    issuers: Vec<Issuer>,
    fetcher: Fetcher,
}

type Rejection = OidcRejection;

fn rejected(why: &'static str) -> Rejection {
    OidcRejection::Rejected(why)
}

impl Verifier {
    /// A verifier of `issuers`' tokens whose fetches each end within `fetch_timeout`.
    /// Nothing is fetched until a token needs it.
    pub fn new(
        issuers: Vec<IssuerOptions>,
        fetch_timeout: Duration,
    ) -> Result<Verifier, SetupError> {
        let fetcher = Fetcher::new(fetch_timeout).map_err(|FetchError(e)| SetupError(e))?;
        let issuers = issuers
            .into_iter()
            .map(|options| Issuer {
                keys: IssuerKeys::new(
                    &options.issuer,
                    options.source.clone(),
                    options.refetch_interval,
                ),
                options,
            })
            .collect();
        Ok(Verifier { issuers, fetcher })
    }

    /// The verifier of the `[oidc]` section's issuers (validated by the loader).
    pub fn from_settings(settings: &OidcSettings) -> Result<Verifier, SetupError> {
        let issuers = settings
            .issuers
            .iter()
            .map(|i| IssuerOptions {
                name: i.name.clone(),
                issuer: i.iss().to_owned(),
                source: match (&i.jwks_url, &i.jwks_file) {
                    (Some(url), _) => KeySource::Url(url.clone()),
                    (None, Some(file)) => KeySource::File(file.clone()),
                    (None, None) => KeySource::Discovery,
                },
                refetch_interval: i.refetch_interval,
                leeway: i.leeway,
            })
            .collect();
        Verifier::new(issuers, settings.fetch_timeout)
    }

    /// The configured name of the issuer whose `iss` is `issuer`.
    pub fn name_of(&self, issuer: &str) -> Option<&str> {
        self.issuer(issuer).map(|i| i.options.name.as_str())
    }

    fn issuer(&self, iss: &str) -> Option<&Issuer> {
        self.issuers.iter().find(|i| i.options.issuer == iss)
    }
}

impl OidcVerifier for Verifier {
    fn verify(&self, token: &str, now: UnixTime, pace: Pace) -> Result<WorkloadClaims, Rejection> {
        let (header, unverified) = split(token).ok_or(rejected("not a well-formed JWT"))?;
        for member in ["jku", "x5u", "jwk", "x5c"] {
            if header.contains_key(member) {
                return Err(rejected("the token header names a key of its own"));
            }
        }
        if header.contains_key("crit") {
            return Err(rejected("the token header has critical extensions"));
        }
        let alg = match header.get("alg") {
            Some(Value::String(alg)) => alg.as_str(),
            _ => return Err(rejected("the token header has no algorithm")),
        };
        if alg.eq_ignore_ascii_case("none") {
            return Err(rejected("the token is not signed"));
        }
        if alg.starts_with("HS") {
            return Err(rejected("the token is signed with a shared secret"));
        }
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.as_str()),
            Some(_) => return Err(rejected("the token header's kid is not a string")),
        };
        let iss = unverified.get("iss").and_then(Value::as_str);
        let issuer = iss
            .and_then(|iss| self.issuer(iss))
            .ok_or(rejected("issuer not configured"))?;

        let set = issuer.keys.set_for(kid, pace, &self.fetcher)?;
        let key = set.find(kid).ok_or(rejected("unknown key id"))?;
        if alg.parse::<jsonwebtoken::Algorithm>().ok() != Some(key.alg) {
            return Err(rejected("the token's algorithm is not its key's"));
        }
        let mut validation = Validation::new(key.alg);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation)
            .map_err(|_| rejected("the token's signature does not verify"))?
            .claims;
        check_claims(claims, &issuer.options, now)
    }

    fn issuers(&self) -> Vec<String> {
        self.issuers
            .iter()
            .map(|i| i.options.issuer.clone())
            .collect()
    }
}

/// The verified claims' checks: `iss` exact, `sub` present, `exp` required and not
/// past, `nbf` and `iat` not ahead (each with the issuer's leeway).
fn check_claims(
    claims: Map<String, Value>,
    issuer: &IssuerOptions,
    now: UnixTime,
) -> Result<WorkloadClaims, Rejection> {
    if claims.get("iss").and_then(Value::as_str) != Some(issuer.issuer.as_str()) {
        return Err(rejected("the token's issuer does not match"));
    }
    let leeway = i64::try_from(issuer.leeway.as_secs()).unwrap_or(i64::MAX);
    let exp = numeric_date(&claims, "exp")?.ok_or(rejected("the token has no expiry"))?;
    if exp <= now.saturating_sub(leeway) {
        return Err(rejected("the token has expired"));
    }
    if numeric_date(&claims, "nbf")?.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
        return Err(rejected("the token is not valid yet"));
    }
    if numeric_date(&claims, "iat")?.is_some_and(|iat| iat > now.saturating_add(leeway)) {
        return Err(rejected("the token is issued in the future"));
    }
    let subject = match claims.get("sub") {
        Some(Value::String(sub)) if !sub.is_empty() => sub.clone(),
        _ => return Err(rejected("the token has no subject")),
    };
    let audience = match claims.get("aud") {
        None => Vec::new(),
        Some(Value::String(aud)) => vec![aud.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or(rejected("the token's audience is not text"))?,
        Some(_) => return Err(rejected("the token's audience is not text")),
    };
    let jti = claims.get("jti").and_then(Value::as_str).map(str::to_owned);
    let mut flat = BTreeMap::new();
    flatten("", &claims, &mut flat);
    Ok(WorkloadClaims {
        issuer: issuer.issuer.clone(),
        subject,
        audience,
        expires_at: exp,
        jti,
        claims: flat,
    })
}

/// A NumericDate claim (RFC 7519 §2: seconds, maybe with a fraction, which is dropped).
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, Rejection> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(s), _) => Ok(Some(s)),
            (None, Some(s)) if s.is_finite() && s.abs() < 9.0e15 => Ok(Some(s.floor() as i64)),
            _ => Err(rejected("a time claim is out of range")),
        },
        Some(_) => Err(rejected("a time claim is not a number")),
    }
}

/// Every claim under its dotted path (`kubernetes.io.serviceaccount.uid`): strings as
/// they are, numbers and booleans as their JSON text; arrays and null left out.
pub fn flatten(prefix: &str, object: &Map<String, Value>, out: &mut BTreeMap<String, String>) {
    for (name, value) in object {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match value {
            Value::String(s) => {
                out.insert(path, s.clone());
            }
            Value::Number(n) => {
                out.insert(path, n.to_string());
            }
            Value::Bool(b) => {
                out.insert(path, b.to_string());
            }
            Value::Object(inner) => flatten(&path, inner, out),
            Value::Array(_) | Value::Null => {}
        }
    }
}

/// The header and the (unverified) payload of a compact JWS, both JSON objects.
fn split(token: &str) -> Option<(Map<String, Value>, Map<String, Value>)> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let object = |part: &str| -> Option<Map<String, Value>> {
        let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
        serde_json::from_slice(&bytes).ok()
    };
    Some((object(header)?, object(payload)?))
}
