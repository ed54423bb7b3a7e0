//! A token request's outcome as the operator and the client see it: the status each
//! refusal answers with, the `regauth::token` log line and the
//! `regauth_token_requests_total` counter, each written here and nowhere else. The use
//! case (`app::issue_token`) returns typed outcomes and knows none of these.

use crate::app::issue_token::{IssueError, Service, TokenGrant};
use crate::domain::authn::INVALID_CREDENTIALS;
use crate::domain::ports::DirectoryError;
use crate::infra::front::errors::{ErrorCode, HttpError};

/// How the request arrived, for the log line and the counter.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub http_method: &'static str,
    /// `basic` (GET), `password`, `refresh_token` or `unknown` (POST); a GET that
    /// authenticated nobody is logged as `anonymous`.
    pub grant: &'static str,
    pub client_id: String,
    /// The `account` (GET) or `username` (POST) the client named.
    pub account: String,
    /// The service, once it was found to be one of ours.
    pub service: Option<Service>,
    pub client_ip: Option<std::net::IpAddr>,
}

/// The label a request is counted and logged under once answered.
pub fn grant_label(meta: &RequestMeta, grant: &TokenGrant) -> &'static str {
    if grant.report.anonymous && meta.grant == "basic" {
        "anonymous"
    } else {
        meta.grant
    }
}

/// Logs and counts an issued token.
pub fn issued(meta: &RequestMeta, grant: &TokenGrant) {
    let r = &grant.report;
    tracing::info!(
        target: "regauth::token",
        method = meta.http_method,
        grant = grant_label(meta, grant),
        user = %r.subject,
        auth = r.credential,
        account = %meta.account,
        client_id = %meta.client_id,
        client_ip = ?meta.client_ip,
        service = meta.service.as_ref().map_or("", Service::as_str),
        requested = ?r.requested,
        granted = ?r.granted,
        denied = ?r.denied,
        ignored = ?r.ignored,
        refresh_token = grant.refresh_token.is_some(),
        jti = %grant.signed.jti,
        status = 200,
        "token issued"
    );
    metrics::counter!("regauth_token_requests_total", "outcome" => "issued", "credential" => r.credential)
        .increment(1);
}

/// The answer to a refused request, logged and counted once. The log keeps the cause
/// (`unknown user`); the client reads only `invalid username or password`.
pub fn refused(meta: &RequestMeta, error: &IssueError, realm: &str) -> HttpError {
    let answer = match error {
        IssueError::BadRequest(m) => HttpError::bad_request(ErrorCode::InvalidRequest, m.clone()),
        IssueError::Unauthorized(_) => HttpError::unauthorized(INVALID_CREDENTIALS, realm),
        IssueError::Rejected(why) => HttpError::unauthorized(why.to_string(), realm),
        IssueError::Directory(DirectoryError::WouldBlock) => {
            // Asked again with `Pace::MayBlock`, which never says this.
            tracing::error!("a token request would block on the blocking pool");
            HttpError::internal()
        }
        IssueError::Directory(e) => HttpError::directory_failed(e),
        IssueError::Sign(e) => {
            tracing::error!(error = %e, "signing failed");
            HttpError::internal()
        }
        e @ IssueError::Busy => HttpError::busy(e.to_string(), 1),
        IssueError::Limited(l) => {
            HttpError::too_many(l.to_string(), l.retry_after.as_secs_f64().ceil() as u64)
        }
    };
    logged(meta, answer.status.as_u16(), &error.to_string());
    answer
}

/// A request the shell refused before the use case saw it (a malformed form, a body
/// too large or too slow): logged and counted like the others.
pub fn refused_early(meta: &RequestMeta, answer: HttpError) -> HttpError {
    logged(meta, answer.status.as_u16(), &answer.message);
    answer
}

fn logged(meta: &RequestMeta, status: u16, error: &str) {
    let outcome = match status {
        400 => "bad_request",
        401 => "unauthorized",
        408 => "timeout",
        413 => "too_large",
        429 => "rate_limited",
        503 => "busy",
        _ => "error",
    };
    metrics::counter!("regauth_token_requests_total", "outcome" => outcome, "credential" => meta.grant)
        .increment(1);
    tracing::info!(
        target: "regauth::token",
        method = meta.http_method,
        grant = meta.grant,
        account = %meta.account,
        client_id = %meta.client_id,
        client_ip = ?meta.client_ip,
        service = meta.service.as_ref().map_or("", Service::as_str),
        status,
        error,
        "token refused"
    );
}

#[cfg(test)]
mod tests;
