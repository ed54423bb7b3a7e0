//! Every documented request limit holds exactly: accepted at the limit, refused one byte
//! past it (docs/security.md's table): the request head (32 KiB, 431), the API's JSON
//! body, the token form and the web pages' forms (64 KiB, 413), the webhook's body
//! (`notifications.max_body_bytes`, 413).

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::{Stack, NOTIFY_SECRET, PASSWORD, SERVICE};
use reqwest::blocking::Client;
use serde_json::Value;

const HEAD_LIMIT: usize = 32 * 1024;
const BODY_LIMIT: usize = 64 * 1024;
const WEBHOOK_LIMIT: usize = 4 * 1024 * 1024;

/// Sends `request` as is on a fresh connection and reads the whole answer.
fn raw(port: u16, request: &[u8]) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    s.write_all(request).expect("send");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// A `GET /healthz` whose head is exactly `size` bytes, padded in one header.
fn head_of(size: usize) -> String {
    let start = "GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\nx-pad: ";
    let end = "\r\n\r\n";
    let pad = size - start.len() - end.len();
    let head = format!("{start}{}{end}", "a".repeat(pad));
    assert_eq!(head.len(), size);
    head
}

fn status_of(answer: &str) -> &str {
    answer.get(9..12).unwrap_or("")
}

#[test]
fn the_request_head_is_accepted_at_32_kib_and_refused_one_byte_past() {
    let stack = Stack::regauth_only();
    let at = raw(stack.regauth_port, head_of(HEAD_LIMIT).as_bytes());
    assert_eq!(status_of(&at), "200", "{}", &at[..at.len().min(300)]);
    let past = raw(stack.regauth_port, head_of(HEAD_LIMIT + 1).as_bytes());
    assert_eq!(status_of(&past), "431", "{}", &past[..past.len().min(300)]);
    let body = past.split("\r\n\r\n").nth(1).unwrap_or("");
    let v: Value = serde_json::from_str(body).expect("errcode json");
    assert!(v["errors"][0]["message"]
        .as_str()
        .is_some_and(|m| m.contains("32768")));
}

/// `n` bytes of `prefix` + padding + `suffix`.
fn sized(prefix: &str, suffix: &str, n: usize) -> Vec<u8> {
    let mut b = prefix.as_bytes().to_vec();
    b.resize(n - suffix.len(), b'a');
    b.extend_from_slice(suffix.as_bytes());
    assert_eq!(b.len(), n);
    b
}

#[test]
fn bodies_are_accepted_at_their_limit_and_refused_one_byte_past() {
    let stack = Stack::regauth_only();
    let c = Client::new();
    // The API's JSON: a project name far too long is the use case's 400, read whole.
    let json = |n| {
        c.post(stack.url("/api/v1/projects"))
            .basic_auth("root", Some(PASSWORD))
            .header("content-type", "application/json")
            .body(sized("{\"name\":\"", "\"}", n))
            .send()
            .expect("post")
            .status()
            .as_u16()
    };
    assert_eq!(json(BODY_LIMIT), 400);
    assert_eq!(json(BODY_LIMIT + 1), 413);
    // The OAuth2 form: a scope far too long is the token endpoint's 400.
    let form = |n| {
        c.post(stack.url("/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(sized(
                &format!("grant_type=password&service={SERVICE}&username=root&password=x&scope="),
                "",
                n,
            ))
            .send()
            .expect("post")
            .status()
            .as_u16()
    };
    assert_ne!(form(BODY_LIMIT), 413);
    assert_eq!(form(BODY_LIMIT + 1), 413);
    // A web form (the sign-in form: read whole, then refused for its missing token).
    let page = |n| {
        c.post(stack.url("/ui/signin"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(sized("user=root&password=", "", n))
            .send()
            .expect("post")
            .status()
            .as_u16()
    };
    assert_eq!(page(BODY_LIMIT), 403);
    assert_eq!(page(BODY_LIMIT + 1), 413);
    // The webhook: read whole at the limit (and refused as a bad envelope), 413 past it.
    let hook = |n| {
        c.post(stack.url("/notifications"))
            .header("authorization", format!("Bearer {NOTIFY_SECRET}"))
            .header(
                "content-type",
                "application/vnd.docker.distribution.events.v1+json",
            )
            .body(sized("{\"events\":[", "]}", n))
            .send()
            .expect("post")
            .status()
            .as_u16()
    };
    let at = hook(WEBHOOK_LIMIT);
    assert!(at != 413 && at < 500, "{at}");
    assert_eq!(hook(WEBHOOK_LIMIT + 1), 413);
}
