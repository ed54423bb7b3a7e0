//! The composition root, the top floor: `run` takes the parsed command line, loads the
//! settings and opens what each command needs; for `serve` it opens the directory,
//! loads (or creates) the signing keys and writes the registry's certificate bundle,
//! creates the first admin, wires the use cases of `app` to their ports and hands the
//! state to the front doors. The CLI's commands, the HTTP API and the web pages are
//! peers below it; only here are backends named.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;

use crate::app::administer::users;
use crate::app::admission::AdmissionLimits;
use crate::app::audit::Audit;
use crate::app::authenticate::{AuthLimits, AuthPorts, Authenticator};
use crate::app::clock::SystemClock;
use crate::app::credentials::{CredentialAuthority, DirectoryCredentials};
use crate::app::issue_token::{IssuerPorts, TokenIssuer, TokenPolicy};
use crate::app::rate_limit::LoginLimits;
use crate::app::remote_login::ProviderCredentials;
use crate::app::secrets;
use crate::app::shared_anonymous_token::SharedAnonymousTokens;
use crate::app::workload_login::{FederatedCredentials, WorkloadLogins, WorkloadPorts};
use crate::domain::authn::password;
use crate::domain::events::prune_before;
use crate::domain::model::UnixTime;
use crate::domain::ports::{Clock, Directory, DirectoryBackend, DirectoryError, PushGrants};
use crate::domain::scope::ScopeLimits;
use crate::infra::audit_writer::AuditWriter;
use crate::infra::cache::CachedDirectory;
use crate::infra::cli::{Cli, CliError, Command, DirectoryCmd, Reporter};
use crate::infra::config::{AuthSettings, ConfigError, Settings, Store};
use crate::infra::crypto::{self, rotation, KeyError, KeyRing, Signer};
use crate::infra::forwarder::Forwarder;
use crate::infra::front::server::{self, ServeError};
use crate::infra::front::state::Upstream;
use crate::infra::front::AppState;
use crate::infra::postgres::{PgDirectory, PgOptions};
use crate::infra::sqlite::SqliteDirectory;
use crate::infra::synapse::backend::SynapseBackend;
use crate::infra::synapse::ledger::SynapseLedger;
use crate::infra::tls::{self, TlsError};

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
    Bootstrap(String),
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
        // Needs no configuration: both ends are on the command line.
        Command::Directory(DirectoryCmd::Copy { from, to, replace }) => {
            let to = secrecy::SecretString::from(to);
            let progress = Reporter::start("directory copy")?;
            let counts =
                crate::infra::postgres::copy::sqlite_to_postgres(&from, &to, replace, &progress)
                    .map_err(|e| CliError::Failed(format!("directory copy: {e}")))?;
            let rows = counts.iter().map(|(_, n)| *n as u64).sum();
            progress.finish("copied", counts.len(), rows);
            return crate::infra::cli::copied(&from, counts);
        }
        other => other,
    };
    let settings = Settings::load(cli.config.as_deref()).map_err(CliError::from)?;
    match command {
        Command::Directory(DirectoryCmd::Backup { to }) => backup(&settings, &to),
        Command::Directory(DirectoryCmd::Restore { from, replace }) => {
            restore(&settings, &from, replace)
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

/// `directory backup`: a SQLite directory copied while it serves; a PostgreSQL one read
/// in one repeatable-read transaction into a staged SQLite directory first, then
/// written in the same portable format. Progress on stderr, a summary line at the end.
fn backup(settings: &Settings, to: &std::path::Path) -> Result<(), CliError> {
    let fail = |e: DirectoryError| CliError::Failed(format!("directory backup: {e}"));
    crate::infra::background::yield_to_serving();
    let progress = Reporter::start("directory backup")?;
    let m = match settings.directory.store() {
        Store::Sqlite(path) => {
            // Brought to this build's schema first, as every command does.
            drop(SqliteDirectory::open(path).map_err(fail)?);
            crate::infra::sqlite::backup::write(path, to, SystemClock.now(), &progress)
                .map_err(fail)?
        }
        Store::Postgres(url) => {
            let staging = tempfile::tempdir()
                .map_err(|e| CliError::Failed(format!("directory backup: {e}")))?;
            let staged = staging.path().join("snapshot.db");
            crate::infra::postgres::snapshot::postgres_to_sqlite(url, &staged, &progress)
                .map_err(fail)?;
            crate::infra::sqlite::backup::write(&staged, to, SystemClock.now(), &progress)
                .map_err(fail)?
        }
    };
    progress.finish("backed up", m.counts.len(), total_rows(&m.counts));
    crate::infra::cli::backed_up(to, &m.counts, &m.checksum)
}

/// The rows of a backup's manifest counts, for the summary line.
fn total_rows(counts: &[(String, i64)]) -> u64 {
    counts.iter().map(|(_, n)| (*n).max(0) as u64).sum()
}

/// `directory restore`: the backup checked whole, then written into the configured
/// directory of either engine. Progress on stderr, a summary line at the end.
fn restore(settings: &Settings, from: &std::path::Path, replace: bool) -> Result<(), CliError> {
    let fail = |e: DirectoryError| CliError::Failed(format!("directory restore: {e}"));
    let progress = Reporter::start("directory restore")?;
    let counts = match settings.directory.store() {
        Store::Sqlite(path) => {
            let m = crate::infra::sqlite::backup::restore(from, path, replace, &progress)
                .map_err(fail)?;
            drop(SqliteDirectory::open(path).map_err(fail)?);
            m.counts
        }
        Store::Postgres(url) => {
            let staging = tempfile::tempdir()
                .map_err(|e| CliError::Failed(format!("directory restore: {e}")))?;
            let file = staging.path().join("restore.db");
            crate::infra::sqlite::backup::split(from, &file, &progress).map_err(fail)?;
            let counts =
                crate::infra::postgres::copy::sqlite_to_postgres(&file, url, replace, &progress)
                    .map_err(fail)?;
            counts
                .into_iter()
                .map(|(t, n)| (t.to_string(), n as i64))
                .collect()
        }
    };
    progress.finish("restored", counts.len(), total_rows(&counts));
    crate::infra::cli::restored(from, &counts)
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
    let jwks = keyring.jwks(settings.keys.kid);
    let signing_key = {
        let k = keyring.signing_key();
        (k.token_kid(settings.keys.kid), k.not_after())
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

/// Loads the key directory, generating a first key when configured to, and writes the
/// bundle the registry reads (every certificate, so a rotated-out key's tokens stay
/// valid until the registry reloads).
pub fn load_keys(settings: &Settings) -> Result<KeyRing, StartupError> {
    let dir = &settings.keys.dir;
    if settings.keys.generate && !has_keys(dir) {
        // Replicas sharing the key directory may start together: the first to hold the
        // lock generates, the others then find its key.
        let lock_failed = |source| {
            StartupError::Keys(KeyError::Io {
                path: dir.clone(),
                source,
            })
        };
        // The key directory is private from its first moment (`generate` would tighten
        // it, but only after the lock file is in it); so is the lock file.
        crypto::create_dirs(dir, crypto::PRIVATE_DIR).map_err(lock_failed)?;
        let lock = lock_file(&dir.join(".generate.lock")).map_err(lock_failed)?;
        lock.lock().map_err(lock_failed)?;
        if !has_keys(dir) {
            let files = crypto::generate(dir, settings.token.algorithm, &settings.token.issuer)?;
            tracing::info!(key = %files.key.display(), cert = %files.cert.display(), "generated a signing key");
        }
        drop(lock);
    }
    let ring = KeyRing::load(dir)?;
    let public = settings.keys.public_files();
    ring.publish(&public)?;
    let signing = rotation::record_signing(dir, ring.signing_kid(), SystemClock.now())?;
    tracing::info!(kid = %signing.kid, since = signing.since, "signing key recorded");
    tracing::info!(bundle = %public.bundle.display(), jwks = %public.jwks.display(), kid = %ring.signing_kid(), "certificate bundle and key set written");
    Ok(ring)
}

/// The generation lock file, created mode 0600 (never rewritten: holding it is all).
fn lock_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(crypto::PRIVATE_FILE);
    }
    opts.open(path)
}

fn has_keys(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .any(|e| e.path().extension().is_some_and(|x| x == "key"))
        })
        .unwrap_or(false)
}

/// Creates the first admin when the directory has no users. The password comes from
/// `bootstrap.admin_password`; when that is empty, a random one is written to a file
/// beside the database (mode 0600) and only the file's path is logged.
fn bootstrap_admin(
    dir: &dyn Directory,
    settings: &Settings,
    now: UnixTime,
) -> Result<(), StartupError> {
    let failed = |e: &dyn std::fmt::Display| StartupError::Bootstrap(e.to_string());
    if !dir.list_users().map_err(|e| failed(&e))?.is_empty() {
        return Ok(());
    }
    let name = &settings.bootstrap.admin_name;
    let (password, generated) = match settings.bootstrap_password() {
        Some(p) => (p.to_string(), false),
        None => (secrets::new_token(""), true),
    };
    let admin = users::UserRequest {
        name,
        password: Some(&password),
        certified: true,
        admin: true,
        email: None,
    };
    match users::add(dir, &crate::app::permit::operator(), admin, now) {
        Ok(_) => {}
        // Another replica, starting at the same time, made the first admin.
        Err(crate::app::AppError::Conflict(_)) => return Ok(()),
        Err(e) => return Err(failed(&e)),
    }
    if generated {
        let file = settings
            .directory
            .path
            .parent()
            .unwrap_or(Path::new("."))
            .join("bootstrap-admin-password");
        write_private(&file, &password)
            .map_err(|e| StartupError::Bootstrap(format!("{}: {e}", file.display())))?;
        tracing::warn!(user = %name, file = %file.display(), "created the first admin; its generated password is in the file (read it once, then delete it)");
    } else {
        tracing::info!(user = %name, "created the first admin with bootstrap.admin_password");
    }
    Ok(())
}

fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    // A file left there before (mode given only on creation) is made private first.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(crypto::PRIVATE_FILE))?;
    }
    f.write_all(content.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()
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
