//! Start-up: open the directory, load (or create) keys, write the registry's certificate
//! bundle, create the first admin, then serve.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use actix_web::{middleware, web, App, HttpServer};

use super::{errcode_everywhere, notification_routes, public_routes, routes, AppState};
use crate::domain::authn::{password, Authenticator};
use crate::domain::directory::{Directory, DirectoryError};
use crate::infra::config::{ConfigError, Settings};
use crate::infra::crypto::{self, KeyAlgorithm, KeyError, KeyRing, Signer};
use crate::infra::sqlite::SqliteDirectory;
use crate::infra::tls::{self, TlsError};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("directory {path}: {source}")]
    Directory {
        path: PathBuf,
        source: DirectoryError,
    },
    #[error("keys: {0}")]
    Keys(#[from] KeyError),
    #[error("signing key: {0}")]
    Signer(#[from] crate::infra::crypto::TokenError),
    #[error("bootstrap admin: {0}")]
    Bootstrap(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    /// A TLS file of `server.tls_cert` / `server.tls_key` that cannot be used; the
    /// message names the file and never quotes it.
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
    #[error("server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// How long a verified password is remembered (see `Authenticator`).
const PASSWORD_CACHE_TTL: Duration = Duration::from_secs(60);

/// Everything `serve` prepares before it listens; tests build their state with it too.
pub fn prepare(settings: Settings) -> Result<AppState, ServeError> {
    let path = settings.directory.path.clone();
    let dir = SqliteDirectory::open(&path).map_err(|source| ServeError::Directory {
        path: path.clone(),
        source,
    })?;
    let directory: Arc<dyn Directory> = Arc::new(dir);
    bootstrap_admin(directory.as_ref(), &settings)?;
    let keyring = load_keys(&settings)?;
    let signer = Signer::new(
        keyring,
        settings.token.issuer.clone(),
        Duration::from_secs(settings.token.ttl_seconds),
        Duration::from_secs(settings.token.not_before_skew_seconds),
    )?;
    let notification_secret = settings.notification_secret()?;
    if notification_secret.is_empty() {
        tracing::warn!("notifications.secret is empty: /notifications refuses every request");
    }
    Ok(AppState {
        authenticator: Authenticator::new(directory.clone(), PASSWORD_CACHE_TTL),
        directory,
        signer,
        notification_secret,
        settings,
    })
}

/// Loads the key directory, generating a first key when configured to, and writes the
/// bundle the registry reads (every certificate, so a rotated-out key's tokens stay
/// valid until the registry reloads).
pub fn load_keys(settings: &Settings) -> Result<KeyRing, ServeError> {
    let dir = &settings.keys.dir;
    let alg: KeyAlgorithm = settings
        .token
        .algorithm
        .parse()
        .map_err(|_| ConfigError::Invalid {
            key: "token.algorithm",
            message: "must be RS256 or ES256".into(),
        })?;
    if settings.keys.generate && !has_keys(dir) {
        let files = crypto::generate(dir, alg, &settings.token.issuer)?;
        tracing::info!(key = %files.key.display(), cert = %files.cert.display(), "generated a signing key");
    }
    let ring = KeyRing::load(dir)?;
    ring.write_bundle(&settings.keys.bundle)?;
    tracing::info!(bundle = %settings.keys.bundle.display(), kid = %ring.signing_kid(), "certificate bundle written");
    Ok(ring)
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
fn bootstrap_admin(dir: &dyn Directory, settings: &Settings) -> Result<(), ServeError> {
    let users = dir
        .list_users()
        .map_err(|e| ServeError::Bootstrap(e.to_string()))?;
    if !users.is_empty() {
        return Ok(());
    }
    let name = &settings.bootstrap.admin_name;
    let (password, generated) = if settings.bootstrap.admin_password.is_empty() {
        (crate::domain::authn::secret::generate_token(""), true)
    } else {
        (settings.bootstrap.admin_password.clone(), false)
    };
    let hash =
        password::hash_password(&password).map_err(|e| ServeError::Bootstrap(e.to_string()))?;
    dir.add_user(name, Some(&hash), true, true)
        .map_err(|e| ServeError::Bootstrap(e.to_string()))?;
    if generated {
        let file = settings
            .directory
            .path
            .parent()
            .unwrap_or(Path::new("."))
            .join("bootstrap-admin-password");
        write_private(&file, &password)
            .map_err(|e| ServeError::Bootstrap(format!("{}: {e}", file.display())))?;
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
    f.write_all(content.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()
}

/// Serves until SIGINT/SIGTERM: one listener, or two when `server.notifications_listen`
/// moves the registry's webhook off the public address. With `server.tls_cert` and
/// `server.tls_key` the public listener speaks HTTPS; the webhook's stays plain HTTP
/// (it is internal, and the registry would otherwise need to trust our CA too).
pub async fn run(settings: Settings) -> Result<(), ServeError> {
    let addr = settings.server.listen.clone();
    let internal = settings.server.notifications_listen.clone();
    let workers = settings.server.workers;
    // Before anything is written: a bad certificate should not leave a half-started
    // deployment (a bootstrap admin, a new key) behind.
    let tls = settings
        .server
        .tls_files()
        .map(|(cert, key)| tls::server_config(cert, key))
        .transpose()?;
    let https = tls.is_some();
    let state = web::Data::new(prepare(settings)?);
    let public: fn(&mut web::ServiceConfig) = if internal.is_empty() {
        routes
    } else {
        public_routes
    };
    let main = listen(&state, &addr, workers, public, tls)?;
    tracing::info!(listen = %addr, tls = https, services = ?state.settings.token.services, issuer = %state.settings.token.issuer, "regauth serving");
    if internal.is_empty() {
        main.await?;
    } else {
        // The webhook sees little traffic: one worker is plenty.
        let hook = listen(&state, &internal, 1, notification_routes, None)?;
        tracing::info!(listen = %internal, "notifications served on their own listener");
        let (a, b) = tokio::join!(main, hook);
        a?;
        b?;
    }
    Ok(())
}

/// Binds one listener: HTTPS when `tls` is given, plain HTTP otherwise.
fn listen(
    state: &web::Data<AppState>,
    addr: &str,
    workers: usize,
    routes: fn(&mut web::ServiceConfig),
    tls: Option<rustls::ServerConfig>,
) -> Result<actix_web::dev::Server, ServeError> {
    let app_state = state.clone();
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(app_state.clone())
            .app_data(web::PayloadConfig::new(8 * 1024 * 1024))
            .wrap(middleware::DefaultHeaders::new().add(("X-Content-Type-Options", "nosniff")))
            .configure(routes)
            .configure(errcode_everywhere)
    })
    .shutdown_timeout(10);
    if workers > 0 {
        server = server.workers(workers);
    }
    let bound = match tls {
        Some(config) => server.bind_rustls_0_23(addr, config),
        None => server.bind(addr),
    };
    let server = bound.map_err(|source| ServeError::Bind {
        addr: addr.to_string(),
        source,
    })?;
    Ok(server.run())
}
