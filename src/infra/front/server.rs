//! The listeners: the public one (HTTPS when configured) and, when
//! `server.notifications_listen` is set, the internal one for the registry's webhook.
//! Shared by both front doors and knowing neither: the composition root hands it the
//! state and the route table (`Mount`), and every listener's app gets the errcode
//! refusals of `errcode_everywhere`.

use std::net::SocketAddr;
use std::time::Duration;

use actix_http::error::DispatchError;
use actix_http::HttpService;
use actix_service::{fn_service, map_config, IntoServiceFactory, ServiceFactoryExt};
use actix_tls::accept::rustls_0_23::{Acceptor, TlsStream};
use actix_web::dev::AppConfig;
use actix_web::rt::net::TcpStream;
use actix_web::{middleware, web, App};

use super::errcode_stream::ErrcodeStream;
use super::{errcode_everywhere, AppState};
/// Which routes a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// `server.listen` with the webhook on it too (no `notifications_listen`).
    PublicWithWebhook,
    /// `server.listen` when the webhook has a listener of its own.
    Public,
    /// `server.notifications_listen`: the webhook, `/healthz` and `/metrics`.
    Internal,
}

/// What mounts a listener's routes (the route table, `infra::routes::mount`, handed
/// down by the composition root): the app, the listener, and `server.public_metrics`.
pub type Mount = fn(&mut actix_web::web::ServiceConfig, Listener, bool);

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves `state` (built by the composition root, `infra::startup`) until
/// SIGINT/SIGTERM: one listener, or two when `server.notifications_listen` moves the
/// registry's webhook off the public address. With `tls` (from `server.tls_cert` and
/// `server.tls_key`) the public listener speaks HTTPS; the webhook's stays plain HTTP
/// (it is internal, and the registry would otherwise need to trust our CA too).
pub async fn run(
    state: AppState,
    tls: Option<rustls::ServerConfig>,
    mount: Mount,
) -> Result<(), ServeError> {
    let addr = state.settings.server.listen;
    let internal = state.settings.server.notifications_listen;
    let workers = state.settings.server.workers;
    let https = tls.is_some();
    let state = web::Data::new(state);
    let public = if internal.is_none() {
        Listener::PublicWithWebhook
    } else {
        Listener::Public
    };
    let main = listen(&state, addr, workers, public, tls, mount)?;
    tracing::info!(listen = %addr, tls = https, services = ?state.settings.token.services, issuer = %state.settings.token.issuer, "regauth serving");
    match internal {
        None => main.await?,
        Some(internal) => {
            // The webhook sees little traffic: one worker is plenty.
            let hook = listen(&state, internal, 1, Listener::Internal, None, mount)?;
            tracing::info!(listen = %internal, "notifications served on their own listener");
            let (a, b) = tokio::join!(main, hook);
            a?;
            b?;
        }
    }
    Ok(())
}

/// Binds one listener: HTTPS when `tls` is given, plain HTTP otherwise. Built from
/// actix-server and actix-http directly (what `HttpServer` does inside) so that every
/// connection is wrapped in `ErrcodeStream`: the refusals the HTTP library writes
/// itself get the errcode body too.
fn listen(
    state: &web::Data<AppState>,
    addr: SocketAddr,
    workers: usize,
    listener: Listener,
    tls: Option<rustls::ServerConfig>,
    mount: Mount,
) -> Result<actix_server::Server, ServeError> {
    let app_state = state.clone();
    let limits = state.settings.server.clone();
    let public_metrics = limits.public_metrics;
    // HTTPS only: a browser keeps it for the host, so a plain-HTTP listener (behind a
    // TLS-terminating proxy, which sets its own) must not send it.
    let hsts = (tls.is_some() && !limits.hsts_max_age.is_zero())
        .then(|| format!("max-age={}", limits.hsts_max_age.as_secs()));
    let app = move || {
        let mut headers =
            middleware::DefaultHeaders::new().add(("X-Content-Type-Options", "nosniff"));
        if let Some(value) = &hsts {
            headers = headers.add(("Strict-Transport-Security", value.as_str()));
        }
        App::new()
            .app_data(app_state.clone())
            .wrap(super::head_limit::HeadLimit)
            .wrap(headers)
            .configure(|cfg| mount(cfg, listener, public_metrics))
            .configure(errcode_everywhere)
    };
    // A request's head must arrive within this, a body within `body_timeout` (read by
    // the handlers); idle keep-alive connections close after 5 s.
    let head_timeout = limits.head_timeout;
    macro_rules! http {
        () => {
            HttpService::build()
                .client_request_timeout(head_timeout)
                .client_disconnect_timeout(Duration::from_secs(1))
                .keep_alive(Duration::from_secs(5))
                .local_addr(addr)
        };
    }
    let listener =
        std::net::TcpListener::bind(addr).map_err(|source| ServeError::Bind { addr, source })?;
    let mut builder = actix_server::Server::build()
        .max_concurrent_connections(state.settings.server.max_connections)
        .shutdown_timeout(10);
    if workers > 0 {
        builder = builder.workers(workers);
    }
    let name = format!("regauth-{addr}");
    let bound = match tls {
        None => builder.listen(name, listener, move || {
            let app = app()
                .into_factory()
                .map_err(|e: actix_web::Error| e.as_response_error().error_response());
            fn_service(|io: TcpStream| async move {
                let peer = io.peer_addr().ok();
                Ok::<_, DispatchError>((ErrcodeStream::new(io), peer))
            })
            .and_then(http!().h1(map_config(app, |_: ()| AppConfig::default())))
        }),
        Some(config) => {
            let acceptor = Acceptor::new(config);
            builder.listen(name, listener, move || {
                let app = app()
                    .into_factory()
                    .map_err(|e: actix_web::Error| e.as_response_error().error_response());
                acceptor
                    .clone()
                    .map_err(|e| DispatchError::Io(std::io::Error::other(format!("TLS: {e:?}"))))
                    .and_then(fn_service(|io: TlsStream<TcpStream>| async move {
                        let peer = io.get_ref().0.peer_addr().ok();
                        Ok::<_, DispatchError>((ErrcodeStream::new(io), peer))
                    }))
                    .and_then(http!().h1(map_config(app, |_: ()| AppConfig::default())))
            })
        }
    };
    Ok(bound
        .map_err(|source| ServeError::Bind { addr, source })?
        .run())
}
