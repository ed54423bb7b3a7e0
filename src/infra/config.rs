//! Configuration: a TOML file (`--config` or `REGAUTH_CONFIG`) overridden by
//! `REGAUTH__SECTION__KEY` environment variables, e.g. `REGAUTH__TOKEN__TTL_SECONDS=300`.
//!
//! Every key has a default that works for a local try-out, so an empty file is valid;
//! `deploy/regauth.toml` documents each one. Values are typed (addresses, the signing
//! algorithm, the log format, secrets that never print), so a bad value is refused at
//! load time with a message naming its key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};

use crate::infra::crypto::KeyAlgorithm;

pub use super::config_error::ConfigError;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub server: ServerSettings,
    pub auth: AuthSettings,
    pub audit: AuditSettings,
    pub token: TokenSettings,
    pub keys: KeySettings,
    pub directory: DirectorySettings,
    /// Read only with `directory.backend = "synapse"`.
    pub synapse: crate::infra::synapse::settings::SynapseSettings,
    pub notifications: NotificationSettings,
    pub log: LogSettings,
    pub bootstrap: BootstrapSettings,
}

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
    pub body_timeout: std::time::Duration,
    /// How long a request's head (line and headers) may take, e.g. `5s`.
    #[serde(with = "humantime_serde")]
    pub head_timeout: std::time::Duration,
    /// Open connections each worker holds at most; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// Serve `/metrics` on `listen` too (it is always on `notifications_listen`).
    pub public_metrics: bool,
    /// `Strict-Transport-Security: max-age` on every answer of an HTTPS `listen`, e.g.
    /// `365d`: a browser then never tries plain HTTP for this host, so a network attacker
    /// cannot strip TLS in front of the web pages. `0s` leaves the header out.
    #[serde(with = "humantime_serde")]
    pub hsts_max_age: std::time::Duration,
}

impl ServerSettings {
    /// The certificate and key files when HTTPS is configured. An empty path counts as
    /// unset, so `REGAUTH__SERVER__TLS_CERT=` in an environment file turns TLS off
    /// rather than failing on a file named "".
    pub fn tls_files(&self) -> Option<(&Path, &Path)> {
        Some((non_empty(&self.tls_cert)?, non_empty(&self.tls_key)?))
    }
}

fn non_empty(p: &Option<PathBuf>) -> Option<&Path> {
    p.as_deref().filter(|p| !p.as_os_str().is_empty())
}

/// The audit trail.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSettings {
    /// How long records are kept, e.g. `90d`; older ones are pruned every hour.
    #[serde(with = "humantime_serde")]
    pub retention: std::time::Duration,
    /// Record tokens that grant nothing but pulls (the bulk of the volume).
    pub pulls: bool,
}

impl Default for AuditSettings {
    fn default() -> Self {
        AuditSettings {
            retention: std::time::Duration::from_secs(90 * 86_400),
            pulls: true,
        }
    }
}

/// How much work logins may cause (see `app::admission` and `app::rate_limit`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// Password checks (argon2, 19 MiB each) running at once; 0 = one per core.
    pub password_checks: usize,
    /// Password checks that may wait for a free slot; beyond that a 503.
    pub password_queue: usize,
    /// Longest wait for a slot, e.g. `5s`; past it a 503.
    #[serde(with = "humantime_serde")]
    pub password_queue_wait: std::time::Duration,
    /// Failed logins a minute for one user name from one address (IPv6: one /64);
    /// past it a 429 and no password check.
    pub failed_logins_per_user_and_address: u32,
    /// Failed logins a minute from one address, whatever the user names.
    pub failed_logins_per_address: u32,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            password_checks: 0,
            password_queue: 32,
            password_queue_wait: std::time::Duration::from_secs(5),
            failed_logins_per_user_and_address: 10,
            failed_logins_per_address: 60,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenSettings {
    /// `iss` claim; must equal the registry's `auth.token.issuer`.
    pub issuer: String,
    /// Accepted `service` values (a request must name one). Must include the registry's
    /// `auth.token.service`.
    pub services: Vec<String>,
    /// Lifetime of registry tokens, seconds (60..=3600).
    pub ttl_seconds: u64,
    /// How far `nbf` lies in the past to absorb clock skew, seconds.
    pub not_before_skew_seconds: u64,
    /// `RS256` or `ES256`.
    pub algorithm: KeyAlgorithm,
    /// Lifetime of refresh (identity) tokens in days; 0 = until revoked.
    pub refresh_ttl_days: u64,
    /// Realm advertised in `WWW-Authenticate` on 401s (the public URL of `/token`).
    pub realm: String,
    /// Most scopes one token request may carry (each at most 512 bytes); more is a 400.
    pub max_scopes: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeySettings {
    /// Directory of `*.key` / `*.crt` pairs; the newest key signs.
    pub dir: PathBuf,
    /// Generate a key and certificate on start when the directory has none.
    pub generate: bool,
    /// Where to write the certificate bundle the registry reads as
    /// `auth.token.rootcertbundle` (every certificate in `dir`).
    pub bundle: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DirectorySettings {
    /// `embedded`: users, teams, projects and ACLs live in regauth's own directory.
    /// `synapse`: a Synapse beside regauth checks credentials and answers permissions
    /// (the `[synapse]` section); the own directory then keeps only the operators'
    /// accounts, the audit trail and (without a listener) the pushes.
    pub backend: Backend,
    /// The SQLite file of the embedded directory (the default backend).
    pub path: PathBuf,
    /// A PostgreSQL directory instead, `postgres://user:password@host:port/database`,
    /// shared by every replica; empty = the SQLite file. Never logged.
    pub url: SecretString,
    /// PostgreSQL: longest wait for a connection; past it a token request answers 503.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: std::time::Duration,
    /// PostgreSQL: longest any statement may run.
    #[serde(with = "humantime_serde")]
    pub statement_timeout: std::time::Duration,
    /// PostgreSQL: connections per replica; 0 = four per core.
    pub pool_size: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotificationSettings {
    /// Shared secret the registry sends as `Authorization: Bearer <secret>`. Empty
    /// disables the endpoint (every request 401s). On the public listener (no
    /// `server.notifications_listen`) `serve` refuses one shorter than
    /// `MIN_PUBLIC_SECRET_BYTES` or one of `PLACEHOLDER_SECRETS`.
    pub secret: SecretString,
    /// Alternatively, a file holding the secret (trailing whitespace ignored).
    pub secret_file: Option<PathBuf>,
    /// Hosts that name our own registry (refused as external repository hosts).
    pub registry_hosts: Vec<String>,
    /// Largest notification body accepted, bytes (the registry batches events).
    pub max_body_bytes: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// `human` or `json`.
    pub format: LogFormat,
    /// tracing filter, e.g. `info` or `regauth=debug`.
    pub level: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BootstrapSettings {
    /// Name of the first admin, created by `serve` when the directory has no users.
    pub admin_name: String,
    /// Its password; empty = generate one into `bootstrap-admin-password` beside the
    /// database (mode 0600; only the file's path is logged).
    pub admin_password: SecretString,
}

/// Who owns users, teams, projects and ACLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// regauth's own directory (SQLite, or PostgreSQL with `directory.url`).
    #[default]
    Embedded,
    /// A Synapse, asked over its REST API.
    Synapse,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One readable line per event.
    Human,
    /// One JSON object per line, for log collectors.
    Json,
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

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            listen: SocketAddr::from(([127, 0, 0, 1], 5001)),
            workers: 0,
            notifications_listen: None,
            tls_cert: None,
            tls_key: None,
            trusted_proxies: Vec::new(),
            body_timeout: std::time::Duration::from_secs(10),
            head_timeout: std::time::Duration::from_secs(5),
            max_connections: 4096,
            public_metrics: false,
            hsts_max_age: std::time::Duration::from_secs(365 * 86_400),
        }
    }
}

impl Default for TokenSettings {
    fn default() -> Self {
        TokenSettings {
            issuer: "regauth".into(),
            services: vec!["registry".into()],
            ttl_seconds: 300,
            not_before_skew_seconds: 10,
            algorithm: KeyAlgorithm::Rs256,
            refresh_ttl_days: 90,
            realm: "http://127.0.0.1:5001/token".into(),
            max_scopes: 100,
        }
    }
}

impl Default for NotificationSettings {
    fn default() -> Self {
        NotificationSettings {
            secret: SecretString::default(),
            secret_file: None,
            registry_hosts: Vec::new(),
            max_body_bytes: 4 * 1024 * 1024,
        }
    }
}

impl Default for KeySettings {
    fn default() -> Self {
        KeySettings {
            dir: PathBuf::from("data/keys"),
            generate: true,
            bundle: PathBuf::from("data/keys/bundle.pem"),
        }
    }
}

impl DirectorySettings {
    /// Credentials and permissions come from a Synapse beside regauth.
    pub fn beside_synapse(&self) -> bool {
        self.backend == Backend::Synapse
    }

    /// The directory is PostgreSQL (`url` set), not the SQLite file.
    pub fn on_postgres(&self) -> bool {
        !self.url.expose_secret().is_empty()
    }
}

impl Default for DirectorySettings {
    fn default() -> Self {
        DirectorySettings {
            backend: Backend::Embedded,
            path: PathBuf::from("data/regauth.db"),
            url: SecretString::from(""),
            connect_timeout: std::time::Duration::from_secs(3),
            statement_timeout: std::time::Duration::from_secs(10),
            pool_size: 0,
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            format: LogFormat::Human,
            level: "info".into(),
        }
    }
}

impl Default for BootstrapSettings {
    fn default() -> Self {
        BootstrapSettings {
            admin_name: "admin".into(),
            admin_password: SecretString::default(),
        }
    }
}

/// The webhook secrets this repository's own examples and documentation show
/// (`deploy/`, the compose files, README): whoever read them knows these.
pub const PLACEHOLDER_SECRETS: &[&str] = &[
    "change-me",
    "changeme",
    "internal-network-only-set-REGAUTH_NOTIFY_SECRET",
    "set-REGAUTH_NOTIFY_SECRET",
];

/// The shortest webhook secret accepted on the public listener, bytes: 32 random bytes
/// (or 64 hex digits from `openssl rand -hex 32`) cannot be guessed online.
pub const MIN_PUBLIC_SECRET_BYTES: usize = 32;

impl Settings {
    /// Whether the webhook's `secret` (from `notification_secret`) may be served where
    /// the settings put it. `serve` refuses a webhook on the public listener (no
    /// `server.notifications_listen`) whose secret is shorter than
    /// `MIN_PUBLIC_SECRET_BYTES` or a documented placeholder: anyone who can reach
    /// `/token` could then guess or look it up and post events. On an internal listener
    /// such a secret is tolerated (the network is the first line), and `Ok(Some(..))`
    /// says what to log. An empty secret disables the endpoint and is always allowed.
    pub fn check_webhook_secret(
        &self,
        secret: &SecretString,
    ) -> Result<Option<&'static str>, ConfigError> {
        let s = secret.expose_secret().trim();
        if s.is_empty() {
            return Ok(None);
        }
        let placeholder = PLACEHOLDER_SECRETS
            .iter()
            .any(|p| p.eq_ignore_ascii_case(s));
        let short = s.len() < MIN_PUBLIC_SECRET_BYTES;
        if !(placeholder || short) {
            return Ok(None);
        }
        if self.server.notifications_listen.is_some() {
            return Ok(Some(if placeholder {
                "notifications.secret is a documented placeholder: set a random one (e.g. openssl rand -hex 32) on both sides"
            } else {
                "notifications.secret is shorter than 32 bytes: set a random one (e.g. openssl rand -hex 32) on both sides"
            }));
        }
        let what = if placeholder {
            "the secret is a documented placeholder"
        } else {
            "the secret is shorter than 32 bytes"
        };
        Err(ConfigError::Invalid {
            key: "notifications.secret",
            message: format!(
                "{what} while /notifications is on the public listener: set server.notifications_listen to a loopback or internal address (and point the registry there), or a random secret of at least 32 bytes (e.g. openssl rand -hex 32)"
            ),
        })
    }

    /// Loads `file` (if given) then the `REGAUTH__*` environment, and validates.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut builder = config::Config::builder();
        if let Some(f) = file {
            if !f.exists() {
                return Err(ConfigError::Load(format!(
                    "file {} does not exist",
                    f.display()
                )));
            }
            builder = builder.add_source(config::File::from(f).format(config::FileFormat::Toml));
        }
        builder = builder.add_source(
            config::Environment::with_prefix("REGAUTH")
                .prefix_separator("__")
                .separator("__")
                .list_separator(",")
                .with_list_parse_key("token.services")
                .with_list_parse_key("notifications.registry_hosts")
                .with_list_parse_key("server.trusted_proxies")
                .try_parsing(true),
        );
        let settings: Settings = builder
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| ConfigError::Load(e.to_string()))?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &'static str, message: &str| {
            Err(ConfigError::Invalid {
                key,
                message: message.to_string(),
            })
        };
        if self.server.notifications_listen == Some(self.server.listen) {
            return invalid(
                "server.notifications_listen",
                "must differ from server.listen (leave it empty to share it)",
            );
        }
        // Half a TLS configuration would silently serve plain HTTP: refuse it.
        match (
            non_empty(&self.server.tls_cert),
            non_empty(&self.server.tls_key),
        ) {
            (Some(_), None) => {
                return invalid(
                    "server.tls_cert",
                    "server.tls_key is missing: set both server.tls_cert and server.tls_key, or neither",
                )
            }
            (None, Some(_)) => {
                return invalid(
                    "server.tls_cert",
                    "server.tls_cert is missing while server.tls_key is set: set both, or neither",
                )
            }
            _ => {}
        }
        if self.token.services.is_empty() || self.token.services.iter().any(|s| s.is_empty()) {
            return invalid("token.services", "list at least one non-empty service name");
        }
        if self.token.issuer.is_empty() {
            return invalid("token.issuer", "must not be empty");
        }
        if !(60..=3600).contains(&self.token.ttl_seconds) {
            return invalid("token.ttl_seconds", "must be between 60 and 3600");
        }
        if !(1..=10_000).contains(&self.token.max_scopes) {
            return invalid("token.max_scopes", "must be between 1 and 10000");
        }
        if self.auth.password_checks > 1024 || self.auth.password_queue > 100_000 {
            return invalid(
                "auth.password_checks",
                "password_checks at most 1024 and password_queue at most 100000",
            );
        }
        if self.auth.failed_logins_per_user_and_address == 0
            || self.auth.failed_logins_per_address == 0
        {
            return invalid(
                "auth.failed_logins_per_address",
                "limits must be at least 1 a minute",
            );
        }
        let secs = |d: std::time::Duration| d.as_secs_f64();
        if !(0.1..=300.0).contains(&secs(self.server.body_timeout))
            || !(0.1..=300.0).contains(&secs(self.server.head_timeout))
        {
            return invalid(
                "server.body_timeout",
                "body_timeout and head_timeout must be between 100ms and 300s",
            );
        }
        if self.server.hsts_max_age > std::time::Duration::from_secs(2 * 365 * 86_400) {
            return invalid(
                "server.hsts_max_age",
                "at most 730 days (0s leaves the header out)",
            );
        }
        if !(1024..=256 * 1024 * 1024).contains(&self.notifications.max_body_bytes) {
            return invalid(
                "notifications.max_body_bytes",
                "must be between 1024 and 268435456",
            );
        }
        if !(1..=1_000_000).contains(&self.server.max_connections) {
            return invalid("server.max_connections", "must be between 1 and 1000000");
        }
        if self.audit.retention < std::time::Duration::from_secs(3600) {
            return invalid("audit.retention", "must be at least 1h");
        }
        if self.auth.password_queue_wait > std::time::Duration::from_secs(60) {
            return invalid("auth.password_queue_wait", "must be at most 60s");
        }
        if self.token.not_before_skew_seconds > 300 {
            return invalid("token.not_before_skew_seconds", "must be at most 300");
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            return invalid(
                "log.level",
                "not a tracing filter, e.g. info or regauth=debug",
            );
        }
        let url = self.directory.url.expose_secret();
        if !(url.is_empty() || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return invalid(
                "directory.url",
                "must be a postgres:// URL (or empty for the SQLite file in directory.path)",
            );
        }
        if !(0.1..=60.0).contains(&secs(self.directory.connect_timeout))
            || !(0.1..=600.0).contains(&secs(self.directory.statement_timeout))
        {
            return invalid(
                "directory.connect_timeout",
                "connect_timeout must be between 100ms and 60s, statement_timeout between 100ms and 600s",
            );
        }
        if self.directory.pool_size > 1000 {
            return invalid("directory.pool_size", "must be at most 1000");
        }
        if self.directory.beside_synapse() {
            self.synapse.validate()?;
        }
        if self.bootstrap.admin_name.is_empty() {
            return invalid("bootstrap.admin_name", "must not be empty");
        }
        Ok(())
    }

    /// The notification secret, from `secret_file` when set.
    pub fn notification_secret(&self) -> Result<SecretString, ConfigError> {
        match &self.notifications.secret_file {
            Some(p) => std::fs::read_to_string(p)
                .map(|s| SecretString::from(s.trim_end()))
                .map_err(|e| ConfigError::Invalid {
                    key: "notifications.secret_file",
                    message: format!("cannot read {}: {e}", p.display()),
                }),
            None => Ok(self.notifications.secret.clone()),
        }
    }

    /// The password-check pool's limits.
    pub fn admission(&self) -> crate::app::admission::AdmissionLimits {
        let defaults = crate::app::admission::AdmissionLimits::default();
        crate::app::admission::AdmissionLimits {
            workers: match self.auth.password_checks {
                0 => defaults.workers,
                n => n,
            },
            queue: self.auth.password_queue,
            max_wait: self.auth.password_queue_wait,
        }
    }

    /// The failed-login limits.
    pub fn login_limits(&self) -> crate::app::rate_limit::LoginLimits {
        crate::app::rate_limit::LoginLimits {
            per_user_and_address: self.auth.failed_logins_per_user_and_address,
            per_address: self.auth.failed_logins_per_address,
        }
    }

    /// The first admin's configured password, if any.
    pub fn bootstrap_password(&self) -> Option<&str> {
        Some(self.bootstrap.admin_password.expose_secret()).filter(|p| !p.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Loads a file with `[server] listen = "0.0.0.0:5001"` and this
    /// `notifications_listen`.
    fn with_notifications_listen(addr: &str) -> Result<Settings, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("regauth.toml");
        std::fs::write(
            &file,
            format!("[server]\nlisten = \"0.0.0.0:5001\"\nnotifications_listen = \"{addr}\"\n"),
        )
        .unwrap();
        Settings::load(Some(&file))
    }

    #[test]
    fn defaults_are_valid() {
        assert!(Settings::default().validate().is_ok());
    }

    /// The documented example and the container's file load, and the example spells
    /// out the defaults (it documents every key).
    #[test]
    fn the_deploy_files_load_and_the_example_matches_the_defaults() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let example = Settings::load(Some(&root.join("deploy/regauth.toml"))).unwrap();
        Settings::load(Some(&root.join("deploy/regauth-container.toml"))).unwrap();
        let d = Settings::default();
        assert_eq!(example.server.listen, d.server.listen);
        assert_eq!(example.server.body_timeout, d.server.body_timeout);
        assert_eq!(example.server.head_timeout, d.server.head_timeout);
        assert_eq!(example.server.max_connections, d.server.max_connections);
        assert_eq!(example.server.hsts_max_age, d.server.hsts_max_age);
        assert_eq!(example.auth.password_queue, d.auth.password_queue);
        assert_eq!(example.auth.password_queue_wait, d.auth.password_queue_wait);
        assert_eq!(
            example.auth.failed_logins_per_user_and_address,
            d.auth.failed_logins_per_user_and_address
        );
        assert_eq!(
            example.auth.failed_logins_per_address,
            d.auth.failed_logins_per_address
        );
        assert_eq!(example.audit.retention, d.audit.retention);
        assert_eq!(example.token.max_scopes, d.token.max_scopes);
        assert_eq!(example.token.ttl_seconds, d.token.ttl_seconds);
        assert_eq!(
            example.notifications.max_body_bytes,
            d.notifications.max_body_bytes
        );
        assert_eq!(example.directory.backend, d.directory.backend);
        let (es, ds) = (&example.synapse, &d.synapse);
        assert_eq!(es.registry_host, ds.registry_host);
        assert_eq!(
            (es.call_timeout, es.request_deadline, es.permission_ttl),
            (ds.call_timeout, ds.request_deadline, ds.permission_ttl)
        );
        assert_eq!(
            (
                es.calls_per_user,
                es.breaker_after,
                es.breaker_open,
                es.jwks_refetch
            ),
            (
                ds.calls_per_user,
                ds.breaker_after,
                ds.breaker_open,
                ds.jwks_refetch
            )
        );
        assert_eq!(
            (es.calls_in_flight, es.cache_entries),
            (ds.calls_in_flight, ds.cache_entries)
        );
    }

    #[test]
    fn the_synapse_backend_needs_its_section() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("regauth.toml");
        std::fs::write(&file, "[directory]\nbackend = \"synapse\"\n").unwrap();
        match Settings::load(Some(&file)) {
            Err(ConfigError::Invalid { key, .. }) => assert_eq!(key, "synapse.base_url"),
            other => panic!("{other:?}"),
        }
        std::fs::write(
            &file,
            "[directory]\nbackend = \"synapse\"\n[synapse]\nbase_url = \"https://repo-prod.prod.sagebase.org\"\n",
        )
        .unwrap();
        assert!(Settings::load(Some(&file))
            .unwrap()
            .directory
            .beside_synapse());
        std::fs::write(&file, "[directory]\nbackend = \"ldap\"\n").unwrap();
        let e = Settings::load(Some(&file)).unwrap_err().to_string();
        assert!(e.contains("backend"), "{e}");
    }

    #[test]
    fn notifications_listen_is_optional_and_must_be_a_second_address() {
        assert_eq!(
            with_notifications_listen("")
                .unwrap()
                .server
                .notifications_listen,
            None
        );
        assert_eq!(
            with_notifications_listen("0.0.0.0:5002")
                .unwrap()
                .server
                .notifications_listen,
            Some("0.0.0.0:5002".parse().unwrap())
        );
        for bad in ["5002", "regauth:5002"] {
            match with_notifications_listen(bad) {
                Err(e @ ConfigError::Load(_)) => {
                    assert!(e.to_string().contains("notifications_listen"), "{bad}: {e}")
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        match with_notifications_listen("0.0.0.0:5001") {
            Err(ConfigError::Invalid { key, .. }) => assert_eq!(key, "server.notifications_listen"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn typed_values_name_their_key_and_secrets_never_print() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("regauth.toml");
        for (body, key) in [
            ("[token]\nalgorithm = \"HS256\"\n", "algorithm"),
            ("[log]\nformat = \"xml\"\n", "format"),
            ("[server]\nlisten = \"localhost\"\n", "listen"),
        ] {
            std::fs::write(&file, body).unwrap();
            let e = Settings::load(Some(&file)).unwrap_err().to_string();
            assert!(e.contains(key), "{body}: {e}");
        }
        std::fs::write(
            &file,
            "[notifications]\nsecret = \"hush-hush\"\n[bootstrap]\nadmin_password = \"s3cret-pw\"\n[token]\nalgorithm = \"ES256\"\n",
        )
        .unwrap();
        let s = Settings::load(Some(&file)).unwrap();
        assert_eq!(s.token.algorithm, KeyAlgorithm::Es256);
        assert_eq!(s.bootstrap_password(), Some("s3cret-pw"));
        let printed = format!("{s:?}");
        assert!(
            !printed.contains("hush-hush") && !printed.contains("s3cret-pw"),
            "{printed}"
        );
    }

    #[test]
    fn tls_needs_both_the_certificate_and_the_key() {
        let with = |cert: Option<&str>, key: Option<&str>| {
            let mut s = Settings::default();
            s.server.tls_cert = cert.map(PathBuf::from);
            s.server.tls_key = key.map(PathBuf::from);
            (s.validate(), s.server.tls_files().is_some())
        };
        assert!(matches!(with(None, None), (Ok(()), false)));
        assert!(matches!(with(Some(""), Some("")), (Ok(()), false)));
        assert!(matches!(with(Some("c.pem"), Some("k.pem")), (Ok(()), true)));
        for (cert, key, missing) in [
            (Some("c.pem"), None, "server.tls_key"),
            (Some("c.pem"), Some(""), "server.tls_key"),
            (None, Some("k.pem"), "server.tls_cert"),
        ] {
            match with(cert, key).0 {
                Err(ConfigError::Invalid { key: k, message }) => {
                    assert_eq!(k, "server.tls_cert");
                    assert!(message.contains(missing), "{cert:?}/{key:?}: {message}");
                }
                other => panic!("{cert:?}/{key:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_file_with_only_tls_cert_is_refused_on_load() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("regauth.toml");
        std::fs::write(&file, "[server]\ntls_cert = \"/certs/server.crt\"\n").unwrap();
        match Settings::load(Some(&file)) {
            Err(ConfigError::Invalid { key, .. }) => assert_eq!(key, "server.tls_cert"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_bad_log_filter_names_its_key() {
        let mut s = Settings::default();
        s.log.level = "=[bad".into();
        match s.validate() {
            Err(ConfigError::Invalid { key, .. }) => assert_eq!(key, "log.level"),
            other => panic!("{other:?}"),
        }
        s.log.level = "warn,regauth=debug".into();
        assert!(s.validate().is_ok());
    }

    #[test]
    fn a_public_webhook_needs_a_long_secret_that_no_example_shows() {
        let long = "0123456789abcdef0123456789abcdef";
        let public = Settings::default();
        let mut internal = Settings::default();
        internal.server.notifications_listen = Some("127.0.0.1:5002".parse().unwrap());
        let check =
            |s: &Settings, secret: &str| s.check_webhook_secret(&SecretString::from(secret));
        // Refused on the public listener: short, or a placeholder of the repository's own
        // examples (whatever its length), with one line naming the key and the way out.
        let mut refused: Vec<&str> = vec![
            "change-me",
            "CHANGE-ME",
            "notify-secret-for-tests",
            &long[1..],
        ];
        refused.extend_from_slice(PLACEHOLDER_SECRETS);
        for secret in refused {
            match check(&public, secret) {
                Err(
                    e @ ConfigError::Invalid {
                        key: "notifications.secret",
                        ..
                    },
                ) => {
                    let line = e.to_string();
                    assert_eq!(line.lines().count(), 1, "{line}");
                    assert!(line.contains("server.notifications_listen"), "{line}");
                    assert!(
                        !line.contains(secret),
                        "the secret is never printed: {line}"
                    );
                }
                other => panic!("{secret:?}: {other:?}"),
            }
            // On an internal listener it is tolerated, with a warning.
            assert!(
                matches!(check(&internal, secret), Ok(Some(_))),
                "{secret:?}"
            );
        }
        // Long and not a placeholder: fine anywhere; empty (disabled): fine anywhere.
        for s in [&public, &internal] {
            assert!(matches!(check(s, long), Ok(None)));
            assert!(matches!(check(s, ""), Ok(None)));
        }
        // Every placeholder the shipped files and the README show is on the list.
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for file in [
            "deploy/regauth.toml",
            "deploy/registry/config.yml",
            "docker-compose.yml",
            "docker-compose.ha.yml",
            "README.md",
        ] {
            let text = std::fs::read_to_string(root.join(file)).unwrap();
            for shown in shown_secrets(&text) {
                assert!(
                    PLACEHOLDER_SECRETS.contains(&shown.as_str()),
                    "{file} shows the secret {shown:?}, which is not in PLACEHOLDER_SECRETS"
                );
            }
        }
    }

    /// The literal secrets a file shows: `secret = "..."`, `NOTIFY_SECRET:-...}` and
    /// `Bearer ...]` (variables and `<...>` stand-ins excluded).
    fn shown_secrets(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for line in text.lines() {
            let mut candidates = Vec::new();
            if let Some(rest) = line.trim_start().strip_prefix("secret = \"") {
                candidates.push(rest.split('"').next().unwrap_or(""));
            }
            if let Some((_, rest)) = line.split_once("NOTIFY_SECRET:-") {
                candidates.push(rest.split('}').next().unwrap_or(""));
            }
            if let Some((_, rest)) = line.split_once("[Bearer ") {
                candidates.push(rest.split(']').next().unwrap_or(""));
            }
            for c in candidates {
                if !(c.is_empty() || c.starts_with('$') || c.starts_with('<')) {
                    out.push(c.to_string());
                }
            }
        }
        out
    }

    #[test]
    fn the_shipped_example_keeps_the_webhook_off_the_public_listener() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for file in ["deploy/regauth.toml", "deploy/regauth-container.toml"] {
            let s = Settings::load(Some(&root.join(file))).unwrap();
            assert!(s.server.notifications_listen.is_some(), "{file}");
            let secret = s.notification_secret().unwrap();
            assert!(s.check_webhook_secret(&secret).is_ok(), "{file}");
        }
    }

    #[test]
    fn out_of_range_token_lifetime_names_its_key() {
        let mut s = Settings::default();
        s.token.ttl_seconds = 30;
        match s.validate() {
            Err(ConfigError::Invalid { key, .. }) => assert_eq!(key, "token.ttl_seconds"),
            other => panic!("{other:?}"),
        }
    }
}
