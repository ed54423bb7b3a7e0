//! The HTTP side of an issuer: its discovery document (OpenID Connect Discovery 1.0
//! §4: `{issuer}/.well-known/openid-configuration`, whose `issuer` must equal the
//! configured one exactly) and its key set, fetched with reqwest on a private runtime
//! from synchronous code: bounded in time (one deadline, connect included), in size,
//! and never following a redirect (a redirect could lead anywhere).

use std::time::Duration;

use reqwest::header::{ACCEPT, CACHE_CONTROL};
use serde::Deserialize;

use crate::infra::own_runtime::OwnRuntime;

/// The largest discovery document or key set read; past it the fetch fails.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// A fetch that gave no usable answer; the message names the URL and the cause, and
/// holds nothing secret (these URLs and documents are public).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FetchError(pub String);

/// A body and the `max-age` its `Cache-Control` gave (`Some(0)` for `no-cache` or
/// `no-store`).
pub struct Fetched {
    pub body: Vec<u8>,
    pub max_age: Option<Duration>,
}

pub struct Fetcher {
    http: reqwest::Client,
    runtime: OwnRuntime,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

impl Fetcher {
    /// A client whose every fetch ends within `timeout`.
    pub fn new(timeout: Duration) -> Result<Fetcher, FetchError> {
        let runtime = OwnRuntime::new("oidc").map_err(|e| FetchError(format!("runtime: {e}")))?;
        let http = {
            let _entered = runtime.enter();
            reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("regauth/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| FetchError(format!("HTTP client: {e}")))?
        };
        Ok(Fetcher { http, runtime })
    }

    /// The `jwks_uri` of `issuer`'s discovery document, after checking its `issuer`
    /// is `issuer` exactly and the key set is served as safely as the issuer (https,
    /// or http only when the issuer itself is a loopback http URL).
    pub fn jwks_uri(&self, issuer: &str) -> Result<String, FetchError> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let fetched = self.get(&url)?;
        let document: Discovery = serde_json::from_slice(&fetched.body)
            .map_err(|e| FetchError(format!("{url}: not a discovery document: {e}")))?;
        if document.issuer != issuer {
            return Err(FetchError(format!(
                "{url}: names issuer {:?}, not {issuer:?}",
                document.issuer
            )));
        }
        let served = reqwest::Url::parse(&document.jwks_uri).ok();
        let https = served.as_ref().is_some_and(|u| u.scheme() == "https");
        let local_http = issuer.starts_with("http://")
            && served.as_ref().is_some_and(|u| {
                u.scheme() == "http"
                    && matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))
            });
        if !(https || local_http) {
            return Err(FetchError(format!(
                "{url}: jwks_uri {:?} is not an https URL",
                document.jwks_uri
            )));
        }
        Ok(document.jwks_uri)
    }

    /// `GET url`: a 200's body, at most `MAX_BODY_BYTES`.
    pub fn get(&self, url: &str) -> Result<Fetched, FetchError> {
        self.runtime
            .block_on(self.get_async(url))
            .unwrap_or_else(|| Err("the OIDC runtime is closed".into()))
            .map_err(|e| FetchError(format!("{url}: {e}")))
    }

    async fn get_async(&self, url: &str) -> Result<Fetched, String> {
        let mut response = self
            .http
            .get(url)
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(describe)?;
        let status = response.status();
        if status != reqwest::StatusCode::OK {
            return Err(format!("HTTP {}", status.as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_BODY_BYTES as u64)
        {
            return Err(format!("a body over {MAX_BODY_BYTES} bytes"));
        }
        let max_age = response
            .headers()
            .get(CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(max_age);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(describe)? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(format!("a body over {MAX_BODY_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched { body, max_age })
    }
}

/// reqwest's error in a few words (its Display repeats the URL, which the caller adds).
fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "cannot connect".into()
    } else if e.is_redirect() {
        "redirected (redirects are not followed)".into()
    } else {
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message = format!("{message}: {s}");
            source = s.source();
        }
        message
    }
}

/// The lifetime a `Cache-Control` value gives: `max-age=N`, or zero for `no-cache` /
/// `no-store`; `None` when it says neither.
pub fn max_age(value: &str) -> Option<Duration> {
    let mut found = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-cache" || lower == "no-store" {
            return Some(Duration::ZERO);
        }
        if let Some(seconds) = lower.strip_prefix("max-age=") {
            found = seconds
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs);
        }
    }
    found
}
