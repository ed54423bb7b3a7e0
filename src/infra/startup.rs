//! The composition root, the top floor: `run` takes the parsed command line, loads the
//! settings and opens what each command needs; for `serve` it opens the directory,
//! loads (or creates) the signing keys and writes the registry's certificate bundle,
//! creates the first admin, wires the use cases of `app` to their ports and hands the
//! state to the front doors. The CLI's commands, the HTTP API and the web pages are
//! peers below it; only here are backends named.

use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;

use crate::app::admission::AdmissionLimits;
use crate::app::audit::Audit;
use crate::app::authenticate::{AuthLimits, AuthPorts, Authenticator};
use crate::app::clock::SystemClock;
use crate::app::credentials::{CredentialAuthority, DirectoryCredentials};
use crate::app::issue_token::{IssuerPorts, TokenIssuer, TokenPolicy};
use crate::app::rate_limit::LoginLimits;
use crate::app::remote_login::ProviderCredentials;
use crate::app::shared_anonymous_token::SharedAnonymousTokens;
use crate::app::workload_login::{FederatedCredentials, WorkloadLogins, WorkloadPorts};
use crate::domain::authn::password;
use crate::domain::events::prune_before;
use crate::domain::model::UnixTime;
use crate::domain::ports::{Clock, Directory, DirectoryBackend, DirectoryError, PushGrants};
use crate::domain::scope::ScopeLimits;
use crate::infra::audit_writer::AuditWriter;
use crate::infra::cache::CachedDirectory;
use crate::infra::cli::{Cli, CliError, Command, DirectoryCmd};
use crate::infra::config::{AuthSettings, ConfigError, Settings, Store};
use crate::infra::crypto::{KeyError, Signer};
use crate::infra::forwarder::Forwarder;
use crate::infra::front::server::{self, ServeError};
use crate::infra::front::state::Upstream;
use crate::infra::front::AppState;
use crate::infra::postgres::{PgDirectory, PgOptions};
use crate::infra::sqlite::SqliteDirectory;
use crate::infra::synapse::backend::SynapseBackend;
use crate::infra::synapse::ledger::SynapseLedger;
use crate::infra::tls::{self, TlsError};

mod bootstrap;
mod directory_commands;
mod keys;

use bootstrap::{bootstrap_admin, BootstrapError};
use keys::load_keys;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("directory {place}: {source}")]
    Directory {
        /// The SQLite file, or "on PostgreSQL" (the URL holds a password).
        place: String,
        source: DirectoryError,
    },
    #[error("keys: {0}")]
    Keys(#[from] KeyError),
    #[error("signing key: {0}")]
    Signer(#[from] crate::infra::crypto::TokenError),
    #[error("bootstrap admin: {0}")]
    Bootstrap(#[from] BootstrapError),
    #[error("synapse: {0}")]
    Synapse(String),
    #[error("oidc: {0}")]
    Oidc(String),
}

/// How long a verified password is remembered (see `app::authenticate`).
const PASSWORD_CACHE_TTL: Duration = Duration::from_secs(60);

/// Opens the directory the settings name: PostgreSQL when `directory.url` is set (its
/// schema migrated under an advisory lock), else the SQLite file at `directory.path`;
/// beside a Synapse, as its ledger (changes Synapse owns refused).
pub fn open_directory(settings: &Settings) -> Result<Arc<dyn DirectoryBackend>, StartupError> {
    let store = open_store(settings)?;
    if !settings.directory.beside_synapse() {
        return Ok(store);
    }
    Ok(Arc::new(beside_synapse(store, SystemClock.now())?))
}

/// The SQLite file or PostgreSQL database itself, whatever the backend.
fn open_store(settings: &Settings) -> Result<Arc<dyn DirectoryBackend>, StartupError> {
    let d = &settings.directory;
    let Store::Postgres(url) = d.store() else {
        let dir = SqliteDirectory::open(&d.path).map_err(|source| StartupError::Directory {
            place: d.path.display().to_string(),
            source,
        })?;
        return Ok(Arc::new(dir));
    };
    let options = PgOptions {
        connect_timeout: d.connect_timeout,
        statement_timeout: d.statement_timeout,
        pool_size: d.pool_size,
    };
    let dir = PgDirectory::connect(url, &options).map_err(|source| StartupError::Directory {
        place: "on PostgreSQL".into(),
        source,
    })?;
    Ok(Arc::new(dir))
}

/// Why `serve` ended: the server could not be prepared, a TLS file cannot be used, or
/// the listeners failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Startup(#[from] StartupError),
    /// A TLS file of `server.tls_cert` / `server.tls_key` that cannot be used; the
    /// message names the file and never quotes it.
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
    #[error(transparent)]
    Serve(#[from] ServeError),
}

/// Runs a parsed command line: one line on stderr and a non-zero exit for any failure
/// (`main.rs`).
pub fn run(cli: Cli) -> Result<(), CliError> {
    let command = match cli.command {
        Command::Certs(cmd) => return crate::infra::cli::certs(cmd),
        // Generated from the CLI definition alone (the package's build needs no config).
        Command::Completions { shell } => return crate::infra::cli::generate::completions(shell),
        Command::Manpage { out } => return crate::infra::cli::generate::manpages(&out),
        Command::Directory(DirectoryCmd::Copy { from, to, replace }) => {
            return directory_commands::copy(&from, to, replace)
        }
        other => other,
    };
    let settings = Settings::load(cli.config.as_deref()).map_err(CliError::from)?;
    match command {
        Command::Directory(DirectoryCmd::Backup { to }) => {
            directory_commands::backup(&settings, &to)
        }
        Command::Directory(DirectoryCmd::Restore { from, replace }) => {
            directory_commands::restore(&settings, &from, replace)
        }
        Command::Serve => serve_until_stopped(settings),
        Command::Healthcheck { url } => crate::infra::cli::healthcheck(&settings, url),
        Command::Keys(cmd) => crate::infra::cli::key_command(&settings, cmd),
        Command::Migrate => {
            open_directory(&settings).map_err(CliError::from)?;
            crate::infra::cli::migrated()
        }
        other => {
            let dir = open_directory(&settings).map_err(CliError::from)?;
            crate::infra::cli::administer(dir.as_ref(), &settings, other)
        }
    }
}

/// `regauth serve` on actix-web's system runner (its workers run their own
/// single-threaded runtimes), logging set up first.
fn serve_until_stopped(settings: Settings) -> Result<(), CliError> {
    crate::infra::logging::init(settings.log.format, &settings.log.level);
    actix_web::rt::System::new()
        .block_on(serve(settings))
        .map_err(CliError::from)
}

/// `regauth serve`: the TLS files read first (before anything is written: a bad
/// certificate should not leave a half-started deployment, a bootstrap admin or a new
/// key, behind), then the state prepared and handed to the HTTP front door.
pub async fn serve(settings: Settings) -> Result<(), RunError> {
    let tls = settings
        .server
        .tls_files()
        .map(|(cert, key)| tls::server_config(cert, key))
        .transpose()?;
    let state = prepare(settings)?;
    Ok(server::run(state, tls, crate::infra::routes::mount).await?)
}

/// Everything `serve` prepares before it listens.
pub fn prepare(settings: Settings) -> Result<AppState, StartupError> {
    // First, before anything is created: a guessable secret on the public listener
    // refuses the start; on an internal one it is logged.
    let notification_secret = settings.notification_secret()?;
    if notification_secret.expose_secret().is_empty() {
        tracing::warn!("notifications.secret is empty: /notifications refuses every request");
    }
    if let Some(warning) = settings.check_webhook_secret(&notification_secret)? {
        tracing::warn!("{warning}");
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut backend = open_store(&settings)?;
    bootstrap_admin(backend.as_ref(), &settings, clock.now())?;
    if settings.directory.beside_synapse() {
        backend = Arc::new(beside_synapse(backend, clock.now())?);
    }
    // The token path reads through a cache that re-reads what another process (or
    // replica) changed.
    let recheck = if matches!(settings.directory.store(), Store::Postgres(_)) {
        crate::infra::cache::REMOTE_RECHECK
    } else {
        crate::infra::cache::RECHECK
    };
    let cached = Arc::new(CachedDirectory::new(backend.clone(), recheck));
    let grants: Arc<dyn PushGrants> = backend.clone();
    let directory: Arc<dyn Directory> = backend;
    let keyring = load_keys(&settings)?;
    let jwks = actix_web::web::Bytes::from(keyring.jwks(settings.keys.kid));
    let signing_key = {
        let k = keyring.signing_key();
        (k.token_kid(settings.keys.kid).to_string(), k.not_after())
    };
    let signer = Signer::new(
        keyring,
        settings.keys.kid,
        settings.token.issuer.clone(),
        Duration::from_secs(settings.token.ttl_seconds),
        Duration::from_secs(settings.token.not_before_skew_seconds),
    )?;
    let writer = Arc::new(AuditWriter::start(
        directory.clone(),
        clock.clone(),
        settings.audit.retention,
    ));
    let audit = Arc::new(Audit::new(writer.clone(), settings.audit.pulls));
    let authenticator = Arc::new(Authenticator::new(
        AuthPorts {
            store: cached.clone(),
            refresh_tokens: cached.clone(),
            clock: clock.clone(),
            audit: audit.clone(),
        },
        AuthLimits {
            cache_ttl: PASSWORD_CACHE_TTL,
            admission: admission_limits(&settings.auth),
            login: login_limits(&settings.auth),
        },
    ));
    stamp_token_use(&authenticator, directory.clone());
    // The hash an unknown user's password is checked against is made now, not on the
    // first such login, which would otherwise take twice as long: an enumeration signal.
    // It is computed in the password pool's memory, which the first login reuses.
    let started = std::time::Instant::now();
    authenticator
        .gate()
        .with_idle_scratch(password::prepare_dummy);
    tracing::info!(
        took_ms = started.elapsed().as_millis() as u64,
        "password checks ready"
    );
    let days = settings.token.refresh_ttl_days;
    let policy = TokenPolicy {
        services: settings
            .token
            .services
            .iter()
            .map(|s| s.as_str().into())
            .collect(),
        refresh_ttl: (days > 0).then(|| Duration::from_secs(days.saturating_mul(86_400))),
        scope_limits: ScopeLimits {
            max_scopes: settings.token.max_scopes,
            ..ScopeLimits::default()
        },
        token_ttl: Duration::from_secs(settings.token.ttl_seconds),
        not_before_skew: Duration::from_secs(settings.token.not_before_skew_seconds),
    };
    prune_grants(&grants, clock.clone());
    let ports = IssuerPorts {
        signer: Arc::new(SharedAnonymousTokens::new(Arc::new(signer))),
        clock: clock.clone(),
        audit: audit.clone(),
        grants,
    };
    let synapse = synapse_side(&settings)?;
    // The one place the token path's credential authority is chosen.
    let (credentials, upstream): (Arc<dyn CredentialAuthority>, _) = match synapse {
        Some((backend, forwarder)) => {
            let credentials = Arc::new(ProviderCredentials {
                auth: backend.clone(),
                facts: backend.clone(),
                limits: authenticator.clone(),
                deadline: settings.synapse.request_deadline,
            });
            let reachable = Box::new(move || backend.reachable());
            (
                credentials,
                Some(Upstream {
                    reachable,
                    forwarder,
                }),
            )
        }
        None => {
            let credentials = Arc::new(DirectoryCredentials {
                auth: authenticator.clone(),
                facts: cached.clone(),
            });
            (credentials, None)
        }
    };
    // Workloads' OIDC tokens, when issuers are configured: in front of either authority.
    let credentials: Arc<dyn CredentialAuthority> = if settings.oidc.issuers.is_empty() {
        credentials
    } else {
        let verifier = crate::infra::oidc::Verifier::from_settings(&settings.oidc)
            .map_err(|e| StartupError::Oidc(e.to_string()))?;
        Arc::new(FederatedCredentials {
            inner: credentials,
            workloads: WorkloadLogins::new(WorkloadPorts {
                verifier: Arc::new(verifier),
                policies: cached.clone(),
                store: cached.clone(),
                clock: clock.clone(),
                audit,
            }),
            auth: authenticator.clone(),
        })
    };
    let tokens = TokenIssuer::new(credentials, authenticator, ports, policy);
    // People's sign-in with the configured providers (nothing is fetched until used).
    let people = crate::infra::oidc::CodeFlow::from_settings(&settings.oidc)
        .map_err(|e| StartupError::Oidc(e.to_string()))?
        .map(Arc::new);
    Ok(AppState {
        settings,
        directory,
        tokens,
        clock,
        notification_secret,
        audit_writer: writer,
        metrics: crate::infra::metrics::install(),
        upstream,
        people,
        jwks,
        signing_key,
    })
}

/// The own directory as a ledger beside Synapse (see `synapse::ledger`).
fn beside_synapse(
    backend: Arc<dyn DirectoryBackend>,
    now: UnixTime,
) -> Result<SynapseLedger, StartupError> {
    SynapseLedger::new(backend, now).map_err(|source| StartupError::Directory {
        place: "as Synapse's ledger".into(),
        source,
    })
}

/// The Synapse backend and the notification forwarder.
type SynapseSide = (Arc<SynapseBackend>, Option<Forwarder>);

/// The Synapse backend and the notification forwarder, when the settings name them.
fn synapse_side(settings: &Settings) -> Result<Option<SynapseSide>, StartupError> {
    if !settings.directory.beside_synapse() {
        return Ok(None);
    }
    let s = &settings.synapse;
    let backend = SynapseBackend::new(&crate::infra::synapse::options::of(s))
        .map_err(|e| StartupError::Synapse(e.to_string()))?;
    let forwarder = match s.listener() {
        Some(listener) => Some(
            Forwarder::new(listener, s.call_timeout)
                .map_err(|e| StartupError::Synapse(e.to_string()))?,
        ),
        None => None,
    };
    tracing::info!(
        registry_host = %s.registry_host,
        notifications = if forwarder.is_some() { "forwarded to synapse" } else { "recorded here" },
        "credentials and permissions come from synapse"
    );
    Ok(Some((Arc::new(backend), forwarder)))
}

/// Writes the "last used" stamps `app::token_usage` collects, about once a second, on
/// a thread of its own; it ends with the authenticator.
fn stamp_token_use(authenticator: &Arc<Authenticator>, directory: Arc<dyn Directory>) {
    let weak = Arc::downgrade(authenticator);
    let spawned = std::thread::Builder::new()
        .name("token-usage".into())
        .spawn(move || loop {
            std::thread::sleep(Duration::from_secs(1));
            let Some(auth) = weak.upgrade() else { return };
            let uses = auth.usage().take();
            drop(auth);
            if let Err(e) = directory.record_token_use(&uses) {
                tracing::warn!(error = %e, count = uses.len(), "token use not stamped");
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "no thread for token-use stamps: last used stays empty");
    }
}

/// How often grants past their retention are removed.
const PRUNE_GRANTS_EVERY: Duration = Duration::from_secs(3600);

/// Removes the grants of push and delete that ended more than `GRANT_RETENTION` ago, at
/// start and then every hour, on a thread of its own (every replica does; deleting
/// what another already deleted costs nothing). It ends with the directory.
fn prune_grants(grants: &Arc<dyn PushGrants>, clock: Arc<dyn Clock>) {
    let weak = Arc::downgrade(grants);
    let spawned = std::thread::Builder::new()
        .name("grant-prune".into())
        .spawn(move || loop {
            let Some(grants) = weak.upgrade() else { return };
            match grants.prune_grants(prune_before(clock.now())) {
                Ok(0) => {}
                Ok(n) => tracing::info!(count = n, "expired push grants pruned"),
                Err(e) => tracing::warn!(error = %e, "expired push grants not pruned"),
            }
            drop(grants);
            std::thread::sleep(PRUNE_GRANTS_EVERY);
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "no thread for pruning push grants: they are kept");
    }
}

/// The password-check pool's limits from `[auth]` (0 checks at once = the pool's own
/// default, one per core).
fn admission_limits(auth: &AuthSettings) -> AdmissionLimits {
    AdmissionLimits {
        workers: match auth.password_checks {
            0 => AdmissionLimits::default().workers,
            n => n,
        },
        queue: auth.password_queue,
        max_wait: auth.password_queue_wait,
    }
}

/// The failed-login limits from `[auth]`.
fn login_limits(auth: &AuthSettings) -> LoginLimits {
    LoginLimits {
        per_user_and_address: auth.failed_logins_per_user_and_address,
        per_address: auth.failed_logins_per_address,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn certs_self_signed_runs_without_a_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("certs");
        let missing = dir.path().join("no-such-config.toml");
        let cli = Cli::try_parse_from([
            "regauth".as_ref(),
            "--config".as_ref(),
            missing.as_os_str(),
            "certs".as_ref(),
            "self-signed".as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
            "--host".as_ref(),
            "localhost".as_ref(),
        ])
        .unwrap();
        run(cli).unwrap();
        assert!(out.join("server.key").exists());
        // ...while a command that needs it fails on the missing file.
        let cli = Cli::try_parse_from([
            "regauth".as_ref(),
            "--config".as_ref(),
            missing.as_os_str(),
            "user".as_ref(),
            "list".as_ref(),
        ])
        .unwrap();
        assert!(run(cli).is_err());
    }
}
