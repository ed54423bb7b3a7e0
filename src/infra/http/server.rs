//! The listeners: the public one (HTTPS when configured) and, when
//! `server.notifications_listen` is set, the internal one for the registry's webhook.

use std::net::SocketAddr;

use actix_web::{middleware, web, App, HttpServer};

use super::{
    errcode_everywhere, metrics_route, notification_routes, public_routes, routes, AppState,
};
use crate::infra::config::Settings;
use crate::infra::startup::{self, StartupError};
use crate::infra::tls::{self, TlsError};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// A TLS file of `server.tls_cert` / `server.tls_key` that cannot be used; the
    /// message names the file and never quotes it.
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
    #[error("server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves until SIGINT/SIGTERM: one listener, or two when `server.notifications_listen`
/// moves the registry's webhook off the public address. With `server.tls_cert` and
/// `server.tls_key` the public listener speaks HTTPS; the webhook's stays plain HTTP
/// (it is internal, and the registry would otherwise need to trust our CA too).
pub async fn run(settings: Settings) -> Result<(), ServeError> {
    let addr = settings.server.listen;
    let internal = settings.server.notifications_listen;
    let workers = settings.server.workers;
    // Before anything is written: a bad certificate should not leave a half-started
    // deployment (a bootstrap admin, a new key) behind.
    let tls = settings
        .server
        .tls_files()
        .map(|(cert, key)| tls::server_config(cert, key))
        .transpose()?;
    let https = tls.is_some();
    let state = web::Data::new(startup::prepare(settings)?);
    let public: fn(&mut web::ServiceConfig) = if internal.is_none() {
        routes
    } else {
        public_routes
    };
    let public_metrics = state.settings.server.public_metrics;
    let main = listen(&state, addr, workers, public, public_metrics, tls)?;
    tracing::info!(listen = %addr, tls = https, services = ?state.settings.token.services, issuer = %state.settings.token.issuer, "regauth serving");
    match internal {
        None => main.await?,
        Some(internal) => {
            // The webhook sees little traffic: one worker is plenty.
            let hook = listen(&state, internal, 1, notification_routes, false, None)?;
            tracing::info!(listen = %internal, "notifications served on their own listener");
            let (a, b) = tokio::join!(main, hook);
            a?;
            b?;
        }
    }
    Ok(())
}

/// Binds one listener: HTTPS when `tls` is given, plain HTTP otherwise.
fn listen(
    state: &web::Data<AppState>,
    addr: SocketAddr,
    workers: usize,
    routes: fn(&mut web::ServiceConfig),
    metrics: bool,
    tls: Option<rustls::ServerConfig>,
) -> Result<actix_web::dev::Server, ServeError> {
    let app_state = state.clone();
    let limits = &state.settings.server;
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(app_state.clone())
            .wrap(middleware::DefaultHeaders::new().add(("X-Content-Type-Options", "nosniff")))
            .configure(routes)
            .configure(|cfg| {
                if metrics {
                    metrics_route(cfg)
                }
            })
            .configure(errcode_everywhere)
    })
    // A request's head must arrive within this, a body within `body_timeout` (read by
    // the handlers); idle keep-alive connections close after 5 s.
    .client_request_timeout(limits.head_timeout)
    .client_disconnect_timeout(std::time::Duration::from_secs(1))
    .keep_alive(std::time::Duration::from_secs(5))
    .max_connections(limits.max_connections)
    .shutdown_timeout(10);
    if workers > 0 {
        server = server.workers(workers);
    }
    let bound = match tls {
        Some(config) => server.bind_rustls_0_23(addr, config),
        None => server.bind(addr),
    };
    let server = bound.map_err(|source| ServeError::Bind { addr, source })?;
    Ok(server.run())
}
