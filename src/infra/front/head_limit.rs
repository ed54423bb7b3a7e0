//! The documented limit on a request's head: 32 KiB for the request line and the header
//! lines, refused with 431 in the errcode format before any handler runs, on every
//! listener (`server` wraps every app in it), whichever front door the route belongs to.
//!
//! The HTTP library's own buffer closes a connection only past 128 KiB; a token request
//! carries a few hundred bytes of head, so anything near the library's limit is abuse
//! (a header stuffed to make every hop parse and log it). Measured as the client sent
//! it: `METHOD SP TARGET SP HTTP/1.1 CRLF`, each `Name: value CRLF`, the final CRLF.
//!
//! A hand-written middleware rather than `from_fn`: every request of every route passes
//! here, and the pass-through path allocates nothing (the inner future is returned as
//! is), which keeps `/healthz`, the ceiling the benchmarks measure against, unchanged.

use std::future::{ready, Ready};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::StatusCode;
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

/// The middleware: `App::wrap(HeadLimit)`.
pub struct HeadLimit;

impl<S, B> Transform<S, ServiceRequest> for HeadLimit
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = HeadLimited<S>;
    type InitError = ();
    type Future = Ready<Result<HeadLimited<S>, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(HeadLimited { service }))
    }
}

pub struct HeadLimited<S> {
    service: S,
}

impl<S, B> Service<ServiceRequest> for HeadLimited<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = HeadFuture<S::Future, B>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let size = head_size(&req);
        if size <= HEAD_LIMIT {
            return HeadFuture::Pass {
                inner: self.service.call(req),
            };
        }
        tracing::info!(size, path = req.path(), "request head too large");
        let refusal = HttpError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ErrorCode::Unsupported,
            format!(
                "request head too large: at most {HEAD_LIMIT} bytes of request line and headers"
            ),
        );
        let response = req.into_response(refusal.error_response());
        HeadFuture::Refused {
            response: Some(response.map_into_right_body()),
        }
    }
}

pin_project_lite::pin_project! {
    /// The inner service's answer (its body on the left), or the refusal.
    #[project = HeadProj]
    pub enum HeadFuture<F, B> {
        Pass { #[pin] inner: F },
        Refused { response: Option<ServiceResponse<EitherBody<B>>> },
    }
}

impl<F, B> std::future::Future for HeadFuture<F, B>
where
    F: std::future::Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
{
    type Output = Result<ServiceResponse<EitherBody<B>>, actix_web::Error>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        match self.project() {
            HeadProj::Pass { inner } => inner
                .poll(cx)
                .map(|r| r.map(ServiceResponse::map_into_left_body)),
            HeadProj::Refused { response } => {
                std::task::Poll::Ready(response.take().ok_or_else(|| HttpError::internal().into()))
            }
        }
    }
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
