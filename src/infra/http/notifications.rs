//! `POST /notifications`: the registry's webhook.
//!
//! Authenticated with a shared secret (`Authorization: Bearer <secret>`, compared in
//! constant time on digests so the length leaks nothing). The secret only says who may
//! talk to the webhook: each manifest push and delete is applied only when regauth
//! granted its actor that action on that repository around the event's time
//! (`app::ingest_events::screen`); the others are refused, counted and audited. Each
//! event is stored in its own transaction; a bad event is logged and skipped. The
//! answer is 200 only once every storable event is durably stored, 503 when the
//! directory failed, so the registry retries (idempotent by event id).
//!
//! Beside a Synapse with its registry listener configured, the batch is handed on to
//! Synapse instead (see `infra::forwarder`), thinned to the pushes and deletes that
//! match a grant, each as the registry sent it: 200 once Synapse took it (or when
//! nothing was left to hand on), 503 otherwise.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::app::ingest_events::{ingest, report_refusals, screen, IngestPorts};
use crate::domain::events::{keep_events, parse_envelope, Verdict};
use crate::domain::ports::DirectoryError;
use crate::infra::front::body;
use crate::infra::front::errors::{ErrorCode, HttpError};
use crate::infra::front::AppState;

const MEDIA_TYPES: [&str; 3] = [
    "application/vnd.docker.distribution.events.v1+json",
    "application/vnd.docker.distribution.events.v2+json",
    "application/json",
];

fn authorized(state: &AppState, req: &HttpRequest) -> bool {
    let secret = state.notification_secret.expose_secret();
    if secret.is_empty() {
        return false;
    }
    let offered = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let a = Sha256::digest(offered.as_bytes());
    let b = Sha256::digest(secret.as_bytes());
    bool::from(a.ct_eq(&b))
}

/// The secret and the media type are checked before the body is read; the body is read
/// up to `notifications.max_body_bytes` within `server.body_timeout`.
pub async fn receive(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    if !authorized(&state, &req) {
        tracing::warn!("notification refused: wrong or missing secret");
        return Err(HttpError::unauthorized(
            "notification secret required",
            "regauth-notifications",
        ));
    }
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = ct.split(';').next().unwrap_or("").trim();
    if !MEDIA_TYPES.contains(&media) {
        return Err(HttpError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::Unsupported,
            "expected application/vnd.docker.distribution.events.v1+json or v2+json",
        ));
    }
    let limit = state.settings.notifications.max_body_bytes;
    let body = body::read(&req, payload, limit, state.settings.server.body_timeout).await?;
    let items = parse_envelope(&body)
        .map_err(|e| HttpError::bad_request(ErrorCode::Unsupported, e.to_string()))?;
    if let Some(forwarder) = state.upstream.as_ref().and_then(|u| u.forwarder.as_ref()) {
        let received = items.len();
        let st = state.clone();
        let screened =
            web::block(move || screen(st.directory.as_ref(), &items).map(|v| (items, v)))
                .await
                .map_err(|_| HttpError::internal())?;
        let (items, verdicts) = screened.map_err(|e| unavailable(&e))?;
        // Only what matches a grant goes on: Synapse would create a repository for any
        // manifest push it is handed, in the name of the actor it names.
        let keep: Vec<bool> = verdicts
            .iter()
            .map(|v| *v == Some(Verdict::Authorized))
            .collect();
        let forwarded = keep.iter().filter(|k| **k).count();
        let unauthorized = verdicts
            .iter()
            .filter(|v| matches!(v, Some(Verdict::Refused(_))))
            .count();
        if forwarded > 0 {
            let thinned = if forwarded == received {
                body.to_vec()
            } else {
                keep_events(&body, &keep)
                    .map_err(|e| HttpError::bad_request(ErrorCode::Unsupported, e.to_string()))?
            };
            if let Err(e) = forwarder.forward(ct, thinned).await {
                tracing::error!(error = %e, "notification batch not forwarded; the registry will retry");
                return Err(HttpError::busy(
                    "synapse's listener unavailable, retry later",
                    2,
                ));
            }
            counted(&[("forwarded", forwarded)]);
        }
        // Once the batch stands (a batch the registry retries is judged again then).
        if unauthorized > 0 {
            let st = state.clone();
            let refused = web::block(move || {
                report_refusals(st.directory.as_ref(), &items, &verdicts, st.clock.now())
            })
            .await
            .map_err(|_| HttpError::internal())?;
            counted(&[("unauthorized", refused)]);
        }
        return Ok(HttpResponse::Ok().json(serde_json::json!({
            "received": received,
            "forwarded": forwarded,
            "unauthorized": unauthorized,
        })));
    }
    let st = state.clone();
    let counts = web::block(move || {
        let d = st.directory.as_ref();
        let ports = IngestPorts {
            log: d,
            grants: d,
            audit: d,
            clock: st.clock.as_ref(),
        };
        ingest(&ports, items)
    })
    .await
    .map_err(|_| HttpError::internal())?;
    match counts {
        Ok(c) => {
            counted(&[
                ("recorded", c.recorded),
                ("duplicate", c.duplicates),
                ("skipped", c.skipped),
                ("malformed", c.malformed),
                ("unauthorized", c.unauthorized),
            ]);
            Ok(HttpResponse::Ok().json(c))
        }
        Err(e) => Err(unavailable(&e)),
    }
}

/// `regauth_notification_events_total{outcome}`: what became of a batch's events, from
/// the numbers the use case returned.
fn counted(outcomes: &[(&'static str, usize)]) {
    for &(outcome, n) in outcomes {
        metrics::counter!("regauth_notification_events_total", "outcome" => outcome)
            .increment(n as u64);
    }
}

/// The directory failed: a 503, so the registry retries the batch.
fn unavailable(e: &DirectoryError) -> HttpError {
    metrics::counter!("regauth_directory_errors_total").increment(1);
    tracing::error!(error = %e, "notification batch not stored; the registry will retry");
    HttpError::busy("directory unavailable, retry later", 2)
}
