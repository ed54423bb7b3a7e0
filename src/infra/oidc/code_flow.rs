//! People's sign-in with the `[[oidc.providers]]`: the authorization code flow of
//! OpenID Connect Core §3.1 with PKCE (RFC 7636, S256 only), `state` (RFC 6749
//! §10.12) and `nonce`. `start` gives the provider's authorization URL and the values
//! the callback must check (kept server-side by the web front door); `finish` redeems
//! the code at the token endpoint (client_secret_basic, or client_secret_post when the
//! provider only offers that), has the ID token checked by the `Verifier` built for the
//! providers' issuers (signature, `iss`, `exp`, `nbf`), then checks what that verifier
//! leaves to the flow (§3.1.3.7): `aud` holds our client id, `azp` is our client id
//! when present or when there are several audiences, `nonce` is the one sent.
//!
//! Discovery documents are cached (an hour when good; a failure is remembered for a
//! few seconds so a down provider costs the sign-in page no wait on every view).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::domain::federation::people::Person;
use crate::domain::model::UnixTime;
use crate::domain::ports::{OidcRejection, OidcVerifier, Pace};
use crate::infra::config::{OidcSettings, ProviderSettings};
use crate::infra::own_runtime::OwnRuntime;

use super::discovery::MAX_BODY_BYTES;
use super::key_set::KeySource;
use super::verifier::{IssuerOptions, SetupError, Verifier};

/// How long a good discovery document is used.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);
/// How long a failed discovery is remembered before the provider is asked again.
const FAILURE_TTL: Duration = Duration::from_secs(10);
/// Clock skew allowed on the ID token's times.
const LEEWAY: Duration = Duration::from_secs(60);

/// The flow could not be set up (its verifier, runtime or HTTP client).
#[derive(Debug, thiserror::Error)]
pub enum FlowSetupError {
    #[error(transparent)]
    Verifier(#[from] SetupError),
    #[error("OIDC sign-in: {0}")]
    Client(String),
}

/// Why a sign-in with a provider did not get as far as a person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlowError {
    #[error("no provider {0:?} is configured")]
    UnknownProvider(String),
    /// Discovery, keys or the token endpoint could not be reached or gave garbage.
    #[error("{provider} cannot be reached")]
    Unreachable { provider: String, detail: String },
    /// The provider refused the code (an `error` answer from the token endpoint).
    #[error("{provider} refused the sign-in ({error})")]
    Refused { provider: String, error: String },
    /// The ID token failed a check (the reason is for logs and the page alike; it
    /// holds no secret).
    #[error("{provider}'s answer was not accepted: {why}")]
    BadToken { provider: String, why: String },
}

/// What `start` hands back: where to send the browser, and what the callback must
/// find again (never sent to the browser except `state` in the URL).
pub struct Started {
    pub url: String,
    pub pending: Pending,
}

/// A started sign-in, kept server-side until its callback.
pub struct Pending {
    pub provider: String,
    pub state: String,
    pub nonce: String,
    pub verifier: SecretString,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Deserialize)]
struct Endpoints {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Vec<String>,
}

enum Cached {
    Good(Endpoints, Instant),
    Failed(String, Instant),
}

pub struct CodeFlow {
    providers: Vec<ProviderSettings>,
    verifier: Verifier,
    http: reqwest::Client,
    runtime: OwnRuntime,
    endpoints: Mutex<BTreeMap<String, Cached>>,
}

/// 32 bytes from the OS RNG, base64url (43 characters): state, nonce, PKCE verifier.
fn random() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// RFC 7636 §4.2: `BASE64URL(SHA256(verifier))`.
pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl CodeFlow {
    /// The flow of the `[oidc]` section's providers; `None` when there is none.
    pub fn from_settings(settings: &OidcSettings) -> Result<Option<CodeFlow>, FlowSetupError> {
        if settings.providers.is_empty() {
            return Ok(None);
        }
        let issuers = settings
            .providers
            .iter()
            .map(|p| IssuerOptions {
                name: p.name.clone(),
                issuer: p.issuer.clone(),
                source: KeySource::Discovery,
                refetch_interval: Duration::from_secs(60),
                leeway: LEEWAY,
            })
            .collect();
        let verifier = Verifier::new(issuers, settings.fetch_timeout)?;
        let runtime = OwnRuntime::new("oidc-people")
            .map_err(|e| FlowSetupError::Client(format!("runtime: {e}")))?;
        let http = {
            let _entered = runtime.enter();
            reqwest::Client::builder()
                .timeout(settings.fetch_timeout)
                .connect_timeout(settings.fetch_timeout)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("regauth/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| FlowSetupError::Client(format!("HTTP client: {e}")))?
        };
        Ok(Some(CodeFlow {
            providers: settings.providers.clone(),
            verifier,
            http,
            runtime,
            endpoints: Mutex::new(BTreeMap::new()),
        }))
    }

    /// The configured providers, in configuration order.
    pub fn providers(&self) -> &[ProviderSettings] {
        &self.providers
    }

    pub fn provider(&self, name: &str) -> Result<&ProviderSettings, FlowError> {
        self.providers
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| FlowError::UnknownProvider(name.to_owned()))
    }

    /// Whether `name`'s discovery document can be had now (cached either way).
    /// Blocks up to the fetch timeout: call it off the event loop.
    pub fn reachable(&self, name: &str) -> Result<(), FlowError> {
        let p = self.provider(name)?;
        self.endpoints(p).map(drop)
    }

    /// A new sign-in with `name`: the authorization URL (code, the provider's scopes,
    /// state, nonce, the S256 challenge) for `redirect_uri`, and what its callback
    /// checks. Blocks (discovery): off the event loop.
    pub fn start(&self, name: &str, redirect_uri: &str) -> Result<Started, FlowError> {
        let p = self.provider(name)?;
        let endpoints = self.endpoints(p)?;
        let pending = Pending {
            provider: p.name.clone(),
            state: random(),
            nonce: random(),
            verifier: SecretString::from(random()),
        };
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", &p.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &p.scopes.join(" "))
            .append_pair("state", &pending.state)
            .append_pair("nonce", &pending.nonce)
            .append_pair(
                "code_challenge",
                &challenge(pending.verifier.expose_secret()),
            )
            .append_pair("code_challenge_method", "S256")
            .finish();
        let base = &endpoints.authorization_endpoint;
        let sep = if base.contains('?') { '&' } else { '?' };
        Ok(Started {
            url: format!("{base}{sep}{query}"),
            pending,
        })
    }

    /// Redeems `code` for the sign-in `pending` started, verifies the ID token and
    /// returns the person it names. Blocks: off the event loop.
    pub fn finish(
        &self,
        pending: &Pending,
        code: &str,
        redirect_uri: &str,
        now: UnixTime,
    ) -> Result<Person, FlowError> {
        let p = self.provider(&pending.provider)?;
        let endpoints = self.endpoints(p)?;
        let id_token = self.redeem(p, &endpoints, pending, code, redirect_uri)?;
        let bad = |why: &str| FlowError::BadToken {
            provider: p.name.clone(),
            why: why.to_owned(),
        };
        let claims = match self.verifier.verify(&id_token, now, Pace::MayBlock) {
            Ok(claims) => claims,
            Err(OidcRejection::Rejected(why)) => return Err(bad(why)),
            Err(OidcRejection::Unanswered(e)) => {
                return Err(FlowError::Unreachable {
                    provider: p.name.clone(),
                    detail: e.to_string(),
                })
            }
        };
        if claims.issuer != p.issuer {
            return Err(bad("the ID token is another provider's"));
        }
        check_audience(&claims.audience, claims.claims.get("azp"), &p.client_id).map_err(bad)?;
        if claims.claims.get("nonce") != Some(&pending.nonce) {
            return Err(bad("the ID token's nonce is not the one sent"));
        }
        let groups = match &p.groups_claim {
            Some(claim) => groups_of(&id_token, claim),
            None => Vec::new(),
        };
        Ok(Person {
            subject: claims.subject,
            claims: claims.claims,
            groups,
        })
    }

    /// The token request (§3.1.3.1): the ID token of the answer.
    fn redeem(
        &self,
        p: &ProviderSettings,
        endpoints: &Endpoints,
        pending: &Pending,
        code: &str,
        redirect_uri: &str,
    ) -> Result<String, FlowError> {
        let unreachable = |detail: String| FlowError::Unreachable {
            provider: p.name.clone(),
            detail,
        };
        let basic = endpoints.token_endpoint_auth_methods_supported.is_empty()
            || endpoints
                .token_endpoint_auth_methods_supported
                .iter()
                .any(|m| m == "client_secret_basic");
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("code_verifier", pending.verifier.expose_secret());
        let mut request = self
            .http
            .post(&endpoints.token_endpoint)
            .header(reqwest::header::ACCEPT, "application/json")
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            );
        if basic {
            // RFC 6749 §2.3.1: each part form-encoded before the Basic encoding.
            let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let pair = format!(
                "{}:{}",
                enc(&p.client_id),
                enc(p.client_secret.expose_secret())
            );
            request = request.header(
                reqwest::header::AUTHORIZATION,
                format!("Basic {}", STANDARD.encode(pair)),
            );
        } else {
            form.append_pair("client_id", &p.client_id)
                .append_pair("client_secret", p.client_secret.expose_secret());
        }
        let body = form.finish();
        let answer = self
            .runtime
            .block_on(async {
                let response = request.body(body).send().await?;
                let status = response.status();
                let bytes = response.bytes().await?;
                Ok::<_, reqwest::Error>((status, bytes))
            })
            .ok_or_else(|| unreachable("the OIDC runtime is closed".into()))?
            .map_err(|e| unreachable(e.without_url().to_string()))?;
        let (status, bytes) = answer;
        if bytes.len() > MAX_BODY_BYTES {
            return Err(unreachable("the token answer is too large".into()));
        }
        let json: Map<String, Value> = serde_json::from_slice(&bytes).map_err(|_| {
            unreachable(format!(
                "the token endpoint answered HTTP {status}, not JSON"
            ))
        })?;
        if !status.is_success() {
            let error = json
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("no error code")
                .chars()
                .filter(|c| c.is_ascii_graphic())
                .take(64)
                .collect();
            return Err(FlowError::Refused {
                provider: p.name.clone(),
                error,
            });
        }
        json.get("id_token")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| FlowError::BadToken {
                provider: p.name.clone(),
                why: "the token answer holds no ID token".into(),
            })
    }

    /// The provider's endpoints, from its discovery document (cached).
    fn endpoints(&self, p: &ProviderSettings) -> Result<Endpoints, FlowError> {
        let unreachable = |detail: String| FlowError::Unreachable {
            provider: p.name.clone(),
            detail,
        };
        {
            let cache = self.endpoints.lock().unwrap_or_else(|e| e.into_inner());
            match cache.get(&p.name) {
                Some(Cached::Good(e, at)) if at.elapsed() < DISCOVERY_TTL => return Ok(e.clone()),
                Some(Cached::Failed(why, at)) if at.elapsed() < FAILURE_TTL => {
                    return Err(unreachable(why.clone()))
                }
                _ => {}
            }
        }
        let fetched = self.discover(p);
        let mut cache = self.endpoints.lock().unwrap_or_else(|e| e.into_inner());
        match &fetched {
            Ok(e) => cache.insert(p.name.clone(), Cached::Good(e.clone(), Instant::now())),
            Err(why) => cache.insert(p.name.clone(), Cached::Failed(why.clone(), Instant::now())),
        };
        fetched.map_err(unreachable)
    }

    fn discover(&self, p: &ProviderSettings) -> Result<Endpoints, String> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            p.issuer.trim_end_matches('/')
        );
        let request = self
            .http
            .get(&url)
            .header(reqwest::header::ACCEPT, "application/json");
        let (status, bytes) = self
            .runtime
            .block_on(async {
                let response = request.send().await?;
                let status = response.status();
                Ok::<_, reqwest::Error>((status, response.bytes().await?))
            })
            .ok_or("the OIDC runtime is closed")?
            .map_err(|e| format!("{url}: {}", e.without_url()))?;
        if status != reqwest::StatusCode::OK {
            return Err(format!("{url}: HTTP {}", status.as_u16()));
        }
        if bytes.len() > MAX_BODY_BYTES {
            return Err(format!("{url}: too large"));
        }
        let e: Endpoints = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{url}: not a discovery document: {e}"))?;
        if e.issuer != p.issuer {
            return Err(format!("{url}: names issuer {:?}", e.issuer));
        }
        let issuer_http = p.issuer.starts_with("http://");
        for endpoint in [&e.authorization_endpoint, &e.token_endpoint] {
            if !served_safely(endpoint, issuer_http) {
                return Err(format!("{url}: endpoint {endpoint:?} is not an https URL"));
            }
        }
        Ok(e)
    }
}

/// An endpoint as safe as the issuer: https, or http on the loopback only when the
/// issuer itself is a loopback http URL (tests).
fn served_safely(endpoint: &str, issuer_http: bool) -> bool {
    let Ok(url) = reqwest::Url::parse(endpoint) else {
        return false;
    };
    url.scheme() == "https"
        || (issuer_http
            && url.scheme() == "http"
            && matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")))
}

/// §3.1.3.7 items 3–5: `aud` holds `client_id`; `azp`, when present or when there are
/// several audiences, is `client_id`.
pub fn check_audience(
    audience: &[String],
    azp: Option<&String>,
    client_id: &str,
) -> Result<(), &'static str> {
    if !audience.iter().any(|a| a == client_id) {
        return Err("the ID token is for another client");
    }
    match azp {
        Some(azp) if azp != client_id => Err("the ID token was issued to another party"),
        None if audience.len() > 1 => Err("the ID token has several audiences and no azp"),
        _ => Ok(()),
    }
}

/// The groups claim of a verified token (the verifier's flattened claims leave lists
/// out): an array of strings, or one string. Read from the very token whose signature
/// was checked.
fn groups_of(id_token: &str, claim: &str) -> Vec<String> {
    let payload = id_token
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|b| serde_json::from_slice::<Map<String, Value>>(&b).ok());
    match payload.as_ref().and_then(|p| p.get(claim)) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_the_unpadded_base64url_sha256_of_the_verifier() {
        // Computed apart (Python's hashlib and base64).
        assert_eq!(
            challenge("dBjftJeZ4CVP-mJ92K9tqyUfqChpR8RTv3Mn7QaQ5Ko"),
            "yclQf4iICDgzfYNaSjH-1BEIykTcKEB4mMXslTafHEw"
        );
        assert_eq!(random().len(), 43);
        assert_ne!(random(), random());
    }

    #[test]
    fn audience_and_azp_follow_core_3_1_3_7() {
        let one = vec!["regauth".to_string()];
        let two = vec!["regauth".to_string(), "other".to_string()];
        let us = "regauth".to_string();
        let them = "other".to_string();
        assert_eq!(check_audience(&one, None, "regauth"), Ok(()));
        assert_eq!(check_audience(&one, Some(&us), "regauth"), Ok(()));
        assert!(check_audience(&one, Some(&them), "regauth").is_err());
        assert!(check_audience(&["other".to_string()], None, "regauth").is_err());
        assert!(check_audience(&[], None, "regauth").is_err());
        assert!(check_audience(&two, None, "regauth").is_err());
        assert_eq!(check_audience(&two, Some(&us), "regauth"), Ok(()));
    }

    #[test]
    fn groups_are_read_as_a_list_or_one_string() {
        let token = |payload: Value| {
            format!(
                "e30.{}.sig",
                URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap())
            )
        };
        let t = token(serde_json::json!({"groups": ["eng", 3, "ops"], "g": "one"}));
        assert_eq!(groups_of(&t, "groups"), vec!["eng", "ops"]);
        assert_eq!(groups_of(&t, "g"), vec!["one"]);
        assert!(groups_of(&t, "none").is_empty());
        assert!(groups_of("garbage", "groups").is_empty());
    }
}
