//! How a page says no: a plain HTML page with the status code and the use case's own
//! message (the JSON API's statuses and words, `front::errors`), or a redirect to the
//! sign-in page when there is no live session. A failure of ours shows a generic line;
//! its detail goes to the log only.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use maud::html;

use super::layout;
use crate::app::AppError;
use crate::infra::front::errors::HttpError;

/// A refusal, as a page.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// No live session: off to the sign-in page (and forget the stale cookie).
    #[error("sign in first")]
    SignIn,
    #[error("{status}: {message}")]
    Page {
        status: StatusCode,
        message: String,
        /// Seconds for `Retry-After` (429, 503).
        retry_after: Option<u64>,
    },
}

impl WebError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> WebError {
        WebError::Page {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> WebError {
        WebError::new(StatusCode::BAD_REQUEST, message)
    }

    /// A form without its session's token (or with a wrong one): nothing was changed.
    pub fn csrf() -> WebError {
        WebError::new(
            StatusCode::FORBIDDEN,
            "this form's security token is missing or wrong, so nothing was changed: \
             reload the page and try again",
        )
    }

    /// 429 with `Retry-After` in whole seconds, at least one.
    pub fn too_many(message: impl Into<String>, wait: std::time::Duration) -> WebError {
        WebError::Page {
            status: StatusCode::TOO_MANY_REQUESTS,
            message: message.into(),
            retry_after: Some(wait.as_secs_f64().ceil().max(1.0) as u64),
        }
    }

    pub fn internal() -> WebError {
        WebError::from(HttpError::internal())
    }
}

impl From<HttpError> for WebError {
    fn from(e: HttpError) -> WebError {
        WebError::Page {
            status: e.status,
            message: e.message,
            retry_after: e.retry_after,
        }
    }
}

impl From<AppError> for WebError {
    /// The API's answer to the same refusal (hidden and missing alike as 404, a
    /// failure of ours logged and shown as a generic 500).
    fn from(e: AppError) -> WebError {
        WebError::from(HttpError::from(e))
    }
}

/// A 303 to `location` (after a form, or to the sign-in page).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        match self {
            WebError::SignIn => StatusCode::SEE_OTHER,
            WebError::Page { status, .. } => *status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            WebError::SignIn => see_other("/ui/signin"),
            WebError::Page {
                status,
                message,
                retry_after,
            } => {
                let reason = status.canonical_reason().unwrap_or("Error");
                let title = format!("{} {reason}", status.as_u16());
                let body = html! {
                    h1 { (title) }
                    p.error role="alert" { (message) }
                    p { a href="/ui/" { "Back to regauth" } }
                };
                let mut resp = HttpResponse::build(*status);
                if let Some(secs) = retry_after {
                    resp.insert_header((header::RETRY_AFTER, secs.to_string()));
                }
                layout::respond(&mut resp, layout::page(None, &title, body))
            }
        }
    }
}
