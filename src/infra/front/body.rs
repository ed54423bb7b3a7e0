//! Request bodies, read by the handler itself after whatever can be checked first
//! (credentials in headers, the content type): bounded in size and in time, so a caller
//! can make regauth hold neither megabytes nor a connection for long. Too large is a 413,
//! too slow a 408, both in the errcode format. Both front doors read bodies here: the API's
//! JSON and the token endpoint's form, the pages' forms.

use std::time::Duration;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest};
use futures_core::Stream;

use super::errors::{ErrorCode, HttpError};

/// Largest OAuth2 form `POST /token` accepts: a form carries a few hundred bytes, and
/// `token.max_scopes` scopes of 512 bytes fit with room to spare.
pub const TOKEN_FORM_LIMIT: usize = 64 * 1024;
/// Largest JSON body of the API.
pub const JSON_LIMIT: usize = 64 * 1024;

fn too_large(limit: usize) -> HttpError {
    HttpError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::Unsupported,
        format!("request body too large: at most {limit} bytes"),
    )
}

/// Reads the body: at most `limit` bytes, all of it within `timeout`. A declared
/// `Content-Length` over the limit is refused before a byte is read.
pub async fn read(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
    timeout: Duration,
) -> Result<web::Bytes, HttpError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit));
    }
    let mut body = web::BytesMut::with_capacity(declared.map_or(1024, |n| n as usize));
    let reading = async {
        while let Some(chunk) =
            std::future::poll_fn(|cx| std::pin::Pin::new(&mut payload).poll_next(cx)).await
        {
            let chunk = chunk.map_err(|e| {
                HttpError::bad_request(ErrorCode::Unsupported, format!("request body: {e}"))
            })?;
            if body.len() + chunk.len() > limit {
                return Err(too_large(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(())
    };
    match tokio::time::timeout(timeout, reading).await {
        Ok(Ok(())) => Ok(body.freeze()),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(HttpError::new(
            StatusCode::REQUEST_TIMEOUT,
            ErrorCode::Unsupported,
            format!("request body not received within {} s", timeout.as_secs()),
        )),
    }
}
