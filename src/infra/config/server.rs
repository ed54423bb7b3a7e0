//! The `[server]` section: where the HTTP server listens (and the webhook's second
//! address), TLS, which proxies may name the client, and how long and how many
//! connections it tolerates.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::bounds::Bounds;
use super::error::ConfigError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Address the HTTP server binds, `host:port`.
    pub listen: SocketAddr,
    /// HTTP worker threads; 0 = one per core.
    pub workers: usize,
    /// When set (`host:port`), `/notifications` is served only on this second address and
    /// not on `listen`, so the webhook can stay on a network the public never reaches
    /// (the compose file keeps it unpublished). Unset or empty = served on `listen`.
    #[serde(deserialize_with = "empty_is_none")]
    pub notifications_listen: Option<SocketAddr>,
    /// PEM certificate chain (leaf first) for HTTPS on `listen`. Set together with
    /// `tls_key`; unset = plain HTTP, for a TLS-terminating proxy or loopback. The
    /// `notifications_listen` listener stays plain HTTP: it is internal.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert` (PKCS#8, PKCS#1 or SEC1).
    pub tls_key: Option<PathBuf>,
    /// Proxies (addresses or CIDR networks) whose `X-Forwarded-For` names the client;
    /// from anyone else the header is ignored.
    #[serde(deserialize_with = "networks")]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// How long a request body may take to arrive, e.g. `10s`; past it a 408.
    #[serde(with = "humantime_serde")]
    pub body_timeout: Duration,
    /// How long a request's head (line and headers) may take, e.g. `5s`.
    #[serde(with = "humantime_serde")]
    pub head_timeout: Duration,
    /// Open connections each worker holds at most; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// Serve `/metrics` on `listen` too (it is always on `notifications_listen`).
    pub public_metrics: bool,
    /// `Strict-Transport-Security: max-age` on every answer of an HTTPS `listen`, e.g.
    /// `365d`: a browser then never tries plain HTTP for this host, so a network attacker
    /// cannot strip TLS in front of the web pages. `0s` leaves the header out.
    #[serde(with = "humantime_serde")]
    pub hsts_max_age: Duration,
}

/// `body_timeout` and `head_timeout`.
const REQUEST_TIMEOUT: Bounds<Duration> = Bounds::timeout(Duration::from_secs(300));
const HSTS_MAX_AGE: Bounds<Duration> =
    Bounds::at_most(Duration::from_secs(2 * 365 * 86_400)).because("0s leaves the header out");
const MAX_CONNECTIONS: Bounds<usize> = Bounds::new(1, 1_000_000);

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            listen: SocketAddr::from(([127, 0, 0, 1], 5001)),
            workers: 0,
            notifications_listen: None,
            tls_cert: None,
            tls_key: None,
            trusted_proxies: Vec::new(),
            body_timeout: Duration::from_secs(10),
            head_timeout: Duration::from_secs(5),
            max_connections: 4096,
            public_metrics: false,
            hsts_max_age: Duration::from_secs(365 * 86_400),
        }
    }
}

impl ServerSettings {
    /// The certificate and key files when HTTPS is configured. An empty path counts as
    /// unset, so `REGAUTH__SERVER__TLS_CERT=` in an environment file turns TLS off
    /// rather than failing on a file named "".
    pub fn tls_files(&self) -> Option<(&Path, &Path)> {
        Some((non_empty(&self.tls_cert)?, non_empty(&self.tls_key)?))
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.notifications_listen == Some(self.listen) {
            return Err(ConfigError::invalid(
                "server.notifications_listen",
                "must differ from server.listen (leave it empty to share it)",
            ));
        }
        // Half a TLS configuration would silently serve plain HTTP: refuse it.
        match (non_empty(&self.tls_cert), non_empty(&self.tls_key)) {
            (Some(_), None) => {
                return Err(ConfigError::invalid(
                    "server.tls_cert",
                    "server.tls_key is missing: set both server.tls_cert and server.tls_key, or neither",
                ))
            }
            (None, Some(_)) => {
                return Err(ConfigError::invalid(
                    "server.tls_cert",
                    "server.tls_cert is missing while server.tls_key is set: set both, or neither",
                ))
            }
            _ => {}
        }
        REQUEST_TIMEOUT.check_in("server.body_timeout", "body_timeout", self.body_timeout)?;
        REQUEST_TIMEOUT.check_in("server.body_timeout", "head_timeout", self.head_timeout)?;
        HSTS_MAX_AGE.check("server.hsts_max_age", self.hsts_max_age)?;
        MAX_CONNECTIONS.check("server.max_connections", self.max_connections)
    }
}

fn non_empty(p: &Option<PathBuf>) -> Option<&Path> {
    p.as_deref().filter(|p| !p.as_os_str().is_empty())
}

/// An unset, empty or blank address is `None`: `REGAUTH__SERVER__NOTIFICATIONS_LISTEN=`
/// in an environment file turns the second listener off instead of failing.
fn empty_is_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    let s = Option::<String>::deserialize(d)?.unwrap_or_default();
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse().map(Some).map_err(|_| {
        serde::de::Error::custom(format!("expected host:port, e.g. 0.0.0.0:5002, not {s:?}"))
    })
}

/// Addresses (`10.0.0.1`, a /32 or /128) or networks (`10.0.0.0/8`).
fn networks<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ipnet::IpNet>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|s| {
            let s = s.trim();
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    serde::de::Error::custom(format!("{s:?} is neither an address nor a network"))
                })
        })
        .collect()
}
