//! The `[synapse]` section: where the Synapse beside regauth is, how long and how often
//! it may be asked, and where the registry's notifications go in that mode. Read only
//! when `directory.backend = "synapse"`. Plain values: `synapse::options` turns them
//! into the backend's options.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::bounds::Bounds;
use super::error::ConfigError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SynapseSettings {
    /// Synapse's REST root, e.g. `https://repo-prod.prod.sagebase.org` (no path).
    pub base_url: String,
    /// The host part of repository names as Synapse knows them (`docker.synapse.org`):
    /// `<project>/<name>` is asked as `<registry_host>/<project>/<name>`.
    pub registry_host: String,
    /// Longest one upstream call may take, its one retry included.
    #[serde(with = "humantime_serde")]
    pub call_timeout: Duration,
    /// Longest a token request may take in all; past it a 503 `UNAVAILABLE`. Keep it
    /// well under the docker client's own timeout.
    #[serde(with = "humantime_serde")]
    pub request_deadline: Duration,
    /// Upstream calls in flight per user at most (Synapse throttles at three).
    pub calls_per_user: usize,
    /// Upstream calls in flight at most in all; more wait (within `call_timeout`).
    pub calls_in_flight: usize,
    /// Consecutive upstream failures that open the circuit breaker ...
    pub breaker_after: u32,
    /// ... and how long it then fails calls at once.
    #[serde(with = "humantime_serde")]
    pub breaker_open: Duration,
    /// How long a caller's permissions on an entity are reused (at most 60 s).
    #[serde(with = "humantime_serde")]
    pub permission_ttl: Duration,
    /// Least time between two key-set fetches caused by an unknown `kid`.
    #[serde(with = "humantime_serde")]
    pub jwks_refetch: Duration,
    /// Entries each cache holds at most (verified tokens, verified passwords, names,
    /// types, permissions); the least recently useful go first.
    pub cache_entries: u64,
    /// Synapse's registry listener (`<base>/dockerRegistryListener/v1/events`): when
    /// set, the registry's notifications are forwarded there (Synapse then records the
    /// pushes); empty = recorded in regauth's own directory for its read API.
    pub listener_url: String,
    /// The key and secret Synapse's listener expects as Basic credentials (held in
    /// Synapse's stack configuration: the Synapse operator must hand them out).
    pub listener_key: String,
    pub listener_secret: SecretString,
}

// The bounds of the section's values, each written once.
const CALL_TIMEOUT: Bounds<Duration> = Bounds::timeout(Duration::from_secs(60));
const REQUEST_DEADLINE: Bounds<Duration> = Bounds::timeout(Duration::from_secs(120));
const CALLS_PER_USER: Bounds<usize> =
    Bounds::new(1, 2).because("Synapse throttles a user at 3 concurrent calls");
const CALLS_IN_FLIGHT: Bounds<usize> = Bounds::new(1, 4096);
const BREAKER_AFTER: Bounds<u32> = Bounds::at_least(1);
const BREAKER_OPEN: Bounds<Duration> = Bounds::at_most(Duration::from_secs(300));
const PERMISSION_TTL: Bounds<Duration> =
    Bounds::new(Duration::from_secs(1), Duration::from_secs(60))
        .because("Synapse's own docker tokens live 120 s");
const JWKS_REFETCH: Bounds<Duration> = Bounds::timeout(Duration::from_secs(3600));
const CACHE_ENTRIES: Bounds<u64> = Bounds::new(100, 10_000_000);

impl Default for SynapseSettings {
    fn default() -> Self {
        SynapseSettings {
            base_url: String::new(),
            registry_host: "docker.synapse.org".into(),
            call_timeout: Duration::from_secs(5),
            request_deadline: Duration::from_secs(10),
            calls_per_user: 2,
            calls_in_flight: 64,
            breaker_after: 5,
            breaker_open: Duration::from_secs(5),
            permission_ttl: Duration::from_secs(60),
            jwks_refetch: Duration::from_secs(60),
            cache_entries: 100_000,
            listener_url: String::new(),
            listener_key: String::new(),
            listener_secret: SecretString::from(""),
        }
    }
}

impl SynapseSettings {
    /// Refuses what would make the backend unsafe or useless, naming the key (a pair
    /// of related values under the first one's key, as before).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !is_http_root(&self.base_url) {
            return Err(ConfigError::invalid(
                "synapse.base_url",
                "must be an https:// (or http://) URL without a path, e.g. https://repo-prod.prod.sagebase.org",
            ));
        }
        let host = &self.registry_host;
        if host.is_empty() || host.contains('/') || host.contains(char::is_whitespace) {
            return Err(ConfigError::invalid(
                "synapse.registry_host",
                "must be a host name (with an optional :port), e.g. docker.synapse.org",
            ));
        }
        let timeouts = "synapse.call_timeout";
        CALL_TIMEOUT.check_in(timeouts, "call_timeout", self.call_timeout)?;
        REQUEST_DEADLINE.check_in(timeouts, "request_deadline", self.request_deadline)?;
        CALLS_PER_USER.check("synapse.calls_per_user", self.calls_per_user)?;
        CALLS_IN_FLIGHT.check("synapse.calls_in_flight", self.calls_in_flight)?;
        let breaker = "synapse.breaker_after";
        BREAKER_AFTER.check_in(breaker, "breaker_after", self.breaker_after)?;
        BREAKER_OPEN.check_in(breaker, "breaker_open", self.breaker_open)?;
        PERMISSION_TTL.check("synapse.permission_ttl", self.permission_ttl)?;
        JWKS_REFETCH.check("synapse.jwks_refetch", self.jwks_refetch)?;
        CACHE_ENTRIES.check("synapse.cache_entries", self.cache_entries)?;
        if !self.listener_url.is_empty() {
            if !self.listener_url.starts_with("https://")
                && !self.listener_url.starts_with("http://")
            {
                return Err(ConfigError::invalid(
                    "synapse.listener_url",
                    "must be an https:// URL, or empty",
                ));
            }
            if self.listener_key.is_empty() || self.listener_secret.expose_secret().is_empty() {
                return Err(ConfigError::invalid(
                    "synapse.listener_key",
                    "listener_key and listener_secret are needed with listener_url",
                ));
            }
        }
        Ok(())
    }

    /// Where notifications are forwarded, when they are.
    pub fn listener(&self) -> Option<Listener> {
        (!self.listener_url.is_empty()).then(|| Listener {
            url: self.listener_url.clone(),
            key: self.listener_key.clone(),
            secret: self.listener_secret.clone(),
        })
    }
}

/// Synapse's registry listener and its Basic credentials.
#[derive(Debug, Clone)]
pub struct Listener {
    pub url: String,
    pub key: String,
    pub secret: SecretString,
}

/// `https://host[:port]` with nothing after it (a trailing slash allowed).
fn is_http_root(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(rest) => {
            let host = rest.trim_end_matches('/');
            !host.is_empty() && !host.contains('/') && !host.contains(char::is_whitespace)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> SynapseSettings {
        SynapseSettings {
            base_url: "https://repo-prod.prod.sagebase.org".into(),
            ..SynapseSettings::default()
        }
    }

    #[test]
    fn a_base_url_is_needed_and_each_bad_value_names_its_key() {
        assert!(valid().validate().is_ok());
        type Spoil = fn(&mut SynapseSettings);
        let cases: [(&str, Spoil); 9] = [
            ("synapse.base_url", |s| s.base_url.clear()),
            ("synapse.base_url", |s| {
                s.base_url = "https://h/repo/v1".into()
            }),
            ("synapse.base_url", |s| s.base_url = "ftp://h".into()),
            ("synapse.registry_host", |s| s.registry_host = "a/b".into()),
            ("synapse.calls_per_user", |s| s.calls_per_user = 3),
            ("synapse.cache_entries", |s| s.cache_entries = 0),
            ("synapse.permission_ttl", |s| {
                s.permission_ttl = Duration::from_secs(120)
            }),
            ("synapse.listener_key", |s| {
                s.listener_url = "https://h/dockerRegistryListener/v1/events".into()
            }),
            ("synapse.call_timeout", |s| {
                s.request_deadline = Duration::from_secs(600)
            }),
        ];
        for (want, spoil) in cases {
            let mut s = valid();
            spoil(&mut s);
            match s.validate() {
                Err(ConfigError::Invalid { key, .. }) => assert_eq!(key, want),
                other => panic!("{want}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_listener_is_used_only_when_configured_and_its_secret_never_prints() {
        assert!(valid().listener().is_none());
        let mut s = valid();
        s.listener_url = "https://h/dockerRegistryListener/v1/events".into();
        s.listener_key = "regauth".into();
        s.listener_secret = SecretString::from("listener-s3cret");
        assert!(s.validate().is_ok());
        let l = s.listener().expect("configured");
        assert_eq!(l.key, "regauth");
        assert!(!format!("{s:?}{l:?}").contains("listener-s3cret"));
    }
}
