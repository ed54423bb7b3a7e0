//! Errcode JSON even for the refusals the HTTP library writes itself, on every
//! connection of every listener (`server` wraps them), before any front door is reached.
//!
//! actix-http answers a request it cannot parse (400), a head that does not arrive in
//! time (408) or one too large (431) before any handler runs, with an empty body and no
//! way to configure it. Every connection is wrapped in `ErrcodeStream`, which recognises
//! exactly those responses as they are written — a status line of 400, 408 or 431, a
//! `content-length: 0`, and nothing after the head — and gives them the errcode body
//! every other answer of regauth has. Everything else passes through untouched.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub struct ErrcodeStream<T> {
    inner: T,
    /// A rewritten response still being written, and how many bytes of the caller's
    /// buffer it stands for.
    pending: Vec<u8>,
    stands_for: usize,
}

impl<T> ErrcodeStream<T> {
    pub fn new(inner: T) -> ErrcodeStream<T> {
        ErrcodeStream {
            inner,
            pending: Vec::new(),
            stands_for: 0,
        }
    }

    pub fn get_ref(&self) -> &T {
        &self.inner
    }
}

/// The errcode body for a library-written refusal, if `buf` is one.
fn rewrite(buf: &[u8]) -> Option<Vec<u8>> {
    if buf.len() < 16 || !buf.starts_with(b"HTTP/1.1 4") {
        return None;
    }
    let message = match &buf[9..12] {
        b"400" => "malformed HTTP request",
        b"408" => "request head not received in time",
        b"431" => "request head too large",
        _ => return None,
    };
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    if head_end + 4 != buf.len() {
        return None;
    }
    let head = std::str::from_utf8(&buf[..head_end]).ok()?;
    let mut lines: Vec<&str> = head.split("\r\n").collect();
    let length = lines
        .iter()
        .position(|l| l.eq_ignore_ascii_case("content-length: 0"))?;
    let body = format!(
        "{{\"errors\":[{{\"code\":\"UNSUPPORTED\",\"message\":\"{message}\",\"detail\":null}}]}}"
    );
    let declared = format!("content-length: {}", body.len());
    lines[length] = &declared;
    let mut out = lines.join("\r\n").into_bytes();
    out.extend_from_slice(b"\r\ncontent-type: application/json\r\ncache-control: no-store\r\n\r\n");
    out.extend_from_slice(body.as_bytes());
    Some(out)
}

impl<T: AsyncRead + Unpin> AsyncRead for ErrcodeStream<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ErrcodeStream<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.pending.is_empty() {
            match rewrite(buf) {
                Some(replacement) => {
                    this.pending = replacement;
                    this.stands_for = buf.len();
                }
                None => return Pin::new(&mut this.inner).poll_write(cx, buf),
            }
        }
        // The caller retries with the same bytes until told they were written, so the
        // whole replacement goes out before the caller's buffer counts as written.
        while !this.pending.is_empty() {
            match Pin::new(&mut this.inner).poll_write(cx, &this.pending) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(io::Error::from(io::ErrorKind::WriteZero)))
                }
                Poll::Ready(Ok(n)) => {
                    this.pending.drain(..n);
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(std::mem::take(&mut this.stands_for)))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_libraries_bodiless_refusals_are_rewritten() {
        let head = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\ndate: x\r\n\r\n";
        let out = String::from_utf8(rewrite(head).unwrap()).unwrap();
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 408 Request Timeout\r\n"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        assert!(head.contains("content-type: application/json"));
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["errors"][0]["code"], "UNSUPPORTED");
        for untouched in [
            &b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\nmore",
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"{\"errors\":[]}",
        ] {
            assert!(
                rewrite(untouched).is_none(),
                "{}",
                String::from_utf8_lossy(untouched)
            );
        }
    }
}
