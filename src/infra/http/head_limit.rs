//! The documented limit on a request's head: 32 KiB for the request line and the header
//! lines, refused with 431 in the errcode format before any handler runs.
//!
//! The HTTP library's own buffer closes a connection only past 128 KiB; a token request
//! carries a few hundred bytes of head, so anything near the library's limit is abuse
//! (a header stuffed to make every hop parse and log it). Measured as the client sent
//! it: `METHOD SP TARGET SP HTTP/1.1 CRLF`, each `Name: value CRLF`, the final CRLF.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::ResponseError;

use super::errors::{ErrorCode, HttpError};

/// Largest request head accepted.
pub const HEAD_LIMIT: usize = 32 * 1024;

/// The head's size in bytes, as sent.
pub fn head_size(req: &ServiceRequest) -> usize {
    let target = req.uri().path_and_query().map_or(1, |pq| pq.as_str().len());
    let line = req.method().as_str().len() + 1 + target + 1 + "HTTP/1.1".len() + 2;
    let headers: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + 2 + value.len() + 2)
        .sum();
    line + headers + 2
}

/// Refuses a head over `HEAD_LIMIT` with 431.
pub async fn limit<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let size = head_size(&req);
    if size > HEAD_LIMIT {
        tracing::info!(size, path = req.path(), "request head too large");
        let refusal = HttpError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ErrorCode::Unsupported,
            format!(
                "request head too large: at most {HEAD_LIMIT} bytes of request line and headers"
            ),
        );
        return Ok(req
            .into_response(refusal.error_response())
            .map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn the_size_is_the_head_as_sent() {
        let req = TestRequest::get()
            .uri("/token?service=r")
            .insert_header(("host", "x"))
            .to_srv_request();
        let sent = "GET /token?service=r HTTP/1.1\r\nhost: x\r\n\r\n";
        assert_eq!(head_size(&req), sent.len());
    }
}
