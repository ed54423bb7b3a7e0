//! Registry-style error bodies: `{"errors":[{"code","message","detail"}]}`.
//!
//! Docker prints `code: message` verbatim (`unauthorized: invalid username or password`),
//! so messages are written for the person at the terminal. The same shape serves the
//! read API, so every client parses one error format; the web pages turn the same
//! refusal into an HTML page (`web::errors`), so both front doors say no alike.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::app::AppError;

/// The errcodes we use, named as in the distribution spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthorized,
    Denied,
    Unsupported,
    NameInvalid,
    NameUnknown,
    TagInvalid,
    /// OAuth2's `invalid_request` (RFC 6749 §5.2): a token request that is malformed or
    /// over a limit.
    InvalidRequest,
    /// Too many requests, or too many waiting: come back after `Retry-After`.
    TooManyRequests,
    Unavailable,
    Unknown,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthorized => "UNAUTHORIZED",
            ErrorCode::Denied => "DENIED",
            ErrorCode::Unsupported => "UNSUPPORTED",
            ErrorCode::NameInvalid => "NAME_INVALID",
            ErrorCode::NameUnknown => "NAME_UNKNOWN",
            ErrorCode::TagInvalid => "TAG_INVALID",
            ErrorCode::InvalidRequest => "INVALID_REQUEST",
            ErrorCode::TooManyRequests => "TOOMANYREQUESTS",
            ErrorCode::Unavailable => "UNAVAILABLE",
            ErrorCode::Unknown => "UNKNOWN",
        }
    }
}

/// An error response. `www_authenticate` is set on 401s so clients know how to log in.
#[derive(Debug, thiserror::Error)]
#[error("{status} {code:?}: {message}")]
pub struct HttpError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
    pub www_authenticate: Option<String>,
    /// Seconds for a `Retry-After` header (429, 503).
    pub retry_after: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    errors: [Item<'a>; 1],
}

#[derive(Serialize)]
struct Item<'a> {
    code: &'a str,
    message: &'a str,
    detail: serde_json::Value,
}

impl HttpError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> HttpError {
        HttpError {
            status,
            code,
            message: message.into(),
            www_authenticate: None,
            retry_after: None,
        }
    }
    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> HttpError {
        HttpError::new(StatusCode::BAD_REQUEST, code, message)
    }
    /// 401 with a Basic challenge for `realm`.
    pub fn unauthorized(message: impl Into<String>, realm: &str) -> HttpError {
        HttpError {
            status: StatusCode::UNAUTHORIZED,
            code: ErrorCode::Unauthorized,
            message: message.into(),
            www_authenticate: Some(format!("Basic realm=\"{}\"", realm.replace('"', ""))),
            retry_after: None,
        }
    }

    /// 401 from the API: no challenge. A `WWW-Authenticate: Basic` would make a browser
    /// ask for credentials, keep them and replay them on every later request to this
    /// host, cross-site ones included; API clients send their credentials unasked.
    pub fn sign_in_required(message: impl Into<String>) -> HttpError {
        HttpError::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, message)
    }

    /// 503: a bounded resource is full; come back after `retry_after` seconds.
    pub fn busy(message: impl Into<String>, retry_after: u64) -> HttpError {
        HttpError {
            retry_after: Some(retry_after),
            ..HttpError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Unavailable,
                message,
            )
        }
    }

    /// 429: over a rate limit; `retry_after` seconds until the next attempt may pass.
    pub fn too_many(message: impl Into<String>, retry_after: u64) -> HttpError {
        HttpError {
            retry_after: Some(retry_after.max(1)),
            ..HttpError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::TooManyRequests,
                message,
            )
        }
    }
    /// The directory failed. An unreachable backend (a PostgreSQL server down or over
    /// its timeouts) is a 503 the client may retry: fail closed, never a token with
    /// fewer checks. Anything else is a failure of ours, a 500.
    pub fn directory_failed(e: &crate::domain::ports::DirectoryError) -> HttpError {
        metrics::counter!("regauth_directory_errors_total").increment(1);
        tracing::error!(error = %e, "directory failed");
        match e {
            crate::domain::ports::DirectoryError::Backend(_) => {
                HttpError::busy("the directory is unavailable, try again shortly", 2)
            }
            _ => HttpError::internal(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> HttpError {
        HttpError::new(StatusCode::NOT_FOUND, ErrorCode::NameUnknown, message)
    }
    pub fn denied(message: impl Into<String>) -> HttpError {
        HttpError::new(StatusCode::FORBIDDEN, ErrorCode::Denied, message)
    }
    /// A failure of ours; the detail goes to the log, the client gets a generic line.
    pub fn internal() -> HttpError {
        HttpError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Unknown,
            "internal error, see the server log",
        )
    }
}

impl ResponseError for HttpError {
    fn status_code(&self) -> StatusCode {
        self.status
    }
    fn error_response(&self) -> HttpResponse {
        let body = Body {
            errors: [Item {
                code: self.code.as_str(),
                message: &self.message,
                detail: serde_json::Value::Null,
            }],
        };
        let mut resp = HttpResponse::build(self.status);
        resp.insert_header((header::CACHE_CONTROL, "no-store"));
        if let Some(challenge) = &self.www_authenticate {
            resp.insert_header((header::WWW_AUTHENTICATE, challenge.as_str()));
        }
        if let Some(secs) = self.retry_after {
            resp.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        resp.json(body)
    }
}

impl From<AppError> for HttpError {
    /// A use case's refusal as the API answers it: hidden and missing entities alike as
    /// 404, a failure of ours as a 500 whose detail only the log sees.
    fn from(e: AppError) -> HttpError {
        match e {
            AppError::Invalid(m) => HttpError::bad_request(ErrorCode::Unsupported, m),
            AppError::InvalidName(m) => HttpError::bad_request(ErrorCode::NameInvalid, m),
            AppError::NotFound(_) | AppError::Hidden => {
                HttpError::not_found("not found, or you may not see it")
            }
            AppError::Conflict(m) => HttpError::new(
                StatusCode::CONFLICT,
                ErrorCode::Unsupported,
                format!("{m} already exists"),
            ),
            e @ (AppError::MissingScope(_)
            | AppError::AdminOnly
            | AppError::Lacks(_)
            | AppError::Denied(_)) => HttpError::denied(e.to_string()),
            e @ AppError::SignInRequired => HttpError::sign_in_required(e.to_string()),
            AppError::Limited(l) => {
                HttpError::too_many(l.to_string(), l.retry_after.as_secs_f64().ceil() as u64)
            }
            e @ AppError::Busy => HttpError::busy(e.to_string(), 1),
            AppError::Unsupported(m) => {
                HttpError::new(StatusCode::METHOD_NOT_ALLOWED, ErrorCode::Unsupported, m)
            }
            AppError::Backend(m) => {
                HttpError::directory_failed(&crate::domain::ports::DirectoryError::Backend(m))
            }
        }
    }
}
