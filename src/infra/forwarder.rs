//! The registry's notifications handed on to another registry listener: beside a
//! Synapse, its `POST /dockerRegistryListener/v1/events` (Basic key/secret from
//! Synapse's stack configuration), which creates the repository entity on a first push
//! and records each tag's digest. Built by the composition root from the `[synapse]`
//! section; the front doors hold it as what it is, a forwarder. The envelope is sent as the registry sent it; anything but a 2xx
//! is a failure the registry retries (its events are idempotent by id).

use std::time::Duration;

use secrecy::ExposeSecret;

use crate::infra::config::Listener;

/// Why a batch was not handed on.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error("synapse's listener answered HTTP {0}")]
    Status(u16),
    #[error("synapse's listener unreachable: {0}")]
    Unreachable(String),
}

pub struct Forwarder {
    http: reqwest::Client,
    listener: Listener,
}

impl Forwarder {
    pub fn new(listener: Listener, timeout: Duration) -> Result<Forwarder, ForwardError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("regauth/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ForwardError::Unreachable(e.to_string()))?;
        Ok(Forwarder { http, listener })
    }

    /// Sends one envelope (`content_type` as the registry gave it).
    pub async fn forward(&self, content_type: &str, body: Vec<u8>) -> Result<(), ForwardError> {
        metrics::counter!("regauth_synapse_calls_total", "endpoint" => "listener").increment(1);
        let sent = self
            .http
            .post(&self.listener.url)
            .basic_auth(
                &self.listener.key,
                Some(self.listener.secret.expose_secret()),
            )
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await;
        let failed = |e: ForwardError| {
            metrics::counter!("regauth_synapse_failures_total", "endpoint" => "listener", "why" => "upstream")
                .increment(1);
            Err(e)
        };
        match sent {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => failed(ForwardError::Status(r.status().as_u16())),
            Err(e) => failed(ForwardError::Unreachable(without_url(&e))),
        }
    }
}

/// reqwest's message without the URL (kept out of logs like any configured address).
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "<listener>");
    }
    text
}
