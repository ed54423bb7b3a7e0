//! A person signs in at a real OpenID Connect provider, Debian's glewlwyd
//! (`support/real_provider.rs`), in headless Chromium (`common/webdriver.rs`): the
//! authorization code flow with PKCE (S256), `state` and `nonce`, through glewlwyd's own
//! login page filled in and submitted as a person would (`support/glewlwyd_browser.rs`),
//! back to a redirect URI served by a tiny listener in this test, which records the query
//! the browser brings. The code is exchanged at the token endpoint with the client secret
//! and the PKCE verifier, and the ID token verified by `regauth::infra::oidc::Verifier`
//! (issuer, signature by the published key, expiry) with audience, `azp` and nonce checked
//! here. A wrong password keeps the browser on glewlwyd's page, showing its error, and
//! nothing reaches the client. A login form that never appears fails `sign_in` with where
//! the browser is and a screenshot. Missing Chromium, chromedriver or glewlwyd fails the
//! test, never skips it.

mod common;
#[path = "support/glewlwyd_browser.rs"]
mod glewlwyd_browser;
#[path = "support/real_provider.rs"]
mod real_provider;
#[path = "common/webdriver.rs"]
mod webdriver;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use glewlwyd_browser::{sign_in, submit, Outcome};
use rand::distributions::Alphanumeric;
use rand::Rng;
use real_provider::RealProvider;
use regauth::domain::ports::{OidcVerifier, Pace};
use regauth::infra::oidc::{IssuerOptions, KeySource, Verifier};
use reqwest::blocking::Client;
use reqwest::{StatusCode, Url};
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use webdriver::Browser;

/// The client's redirect path on the listener.
const CALLBACK: &str = "/callback";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn random(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// The client's redirect URI: a loopback listener answering 200 to every request and
/// recording the query strings that reach `CALLBACK` (a browser also asks for a favicon).
struct Callback {
    uri: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Callback {
    fn listen() -> Callback {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        // Lives as long as the test process; each connection is answered and closed.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                answer(stream, &record);
            }
        });
        Callback {
            uri: format!("http://127.0.0.1:{port}{CALLBACK}"),
            seen,
        }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    /// The query of the first request that reached the callback, waiting a little for it.
    fn first(&self) -> Url {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(query) = self.seen().first() {
                return Url::parse(&format!("{}?{query}", self.uri)).unwrap();
            }
            assert!(
                Instant::now() < deadline,
                "nothing reached the redirect URI"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Reads one request's head, records its query if it is for `CALLBACK`, answers 200.
fn answer(mut stream: TcpStream, seen: &Mutex<Vec<String>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let target = head.split_whitespace().nth(1).unwrap_or_default();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path == CALLBACK {
        seen.lock().unwrap().push(query.to_owned());
    }
    let body = "<!doctype html><title>back at the client</title><p>signed in</p>";
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

fn query(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

struct Endpoints {
    authorization: String,
    token: String,
}

fn discover(provider: &RealProvider) -> Endpoints {
    let url = format!("{}/.well-known/openid-configuration", provider.issuer);
    let doc: Value = reqwest::blocking::get(&url)
        .and_then(|r| r.error_for_status())
        .and_then(|r| r.json())
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    assert_eq!(doc["issuer"], provider.issuer.as_str());
    assert!(
        doc["code_challenge_methods_supported"]
            .as_array()
            .is_some_and(|m| m.contains(&json!("S256"))),
        "PKCE S256 not offered: {doc}"
    );
    Endpoints {
        authorization: doc["authorization_endpoint"].as_str().unwrap().to_owned(),
        token: doc["token_endpoint"].as_str().unwrap().to_owned(),
    }
}

/// What an authorization request carries and must find again.
struct Request {
    state: String,
    nonce: String,
    verifier: String,
}

impl Request {
    fn new() -> Request {
        Request {
            state: random(24),
            nonce: random(24),
            verifier: random(64),
        }
    }

    fn url(&self, endpoints: &Endpoints, client_id: &str, redirect_uri: &str) -> String {
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(self.verifier.as_bytes()));
        Url::parse_with_params(
            &endpoints.authorization,
            [
                ("response_type", "code"),
                ("client_id", client_id),
                ("redirect_uri", redirect_uri),
                ("scope", "openid"),
                ("state", &self.state),
                ("nonce", &self.nonce),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        )
        .unwrap()
        .to_string()
    }
}

/// Opens the authorization URL; glewlwyd sends the browser to its login page.
fn to_login_page(b: &Browser, provider: &RealProvider, authorize: &str) {
    b.goto(authorize);
    let login = format!("{}/login.html", provider.base_url());
    b.wait_until("at glewlwyd's login page", |b| b.url().starts_with(&login));
}

fn verifier(provider: &RealProvider) -> Verifier {
    Verifier::new(
        vec![IssuerOptions {
            name: "glewlwyd".into(),
            issuer: provider.issuer.clone(),
            source: KeySource::Discovery,
            refetch_interval: Duration::from_secs(60),
            leeway: Duration::from_secs(60),
        }],
        Duration::from_secs(5),
    )
    .unwrap()
}

#[test]
fn a_person_signs_in_at_glewlwyd_in_chromium_and_the_id_token_verifies() {
    // The browser first: without chromium or chromedriver, fail before anything else.
    let b = Browser::start();
    let callback = Callback::listen();
    let provider = RealProvider::start(&[&callback.uri]);
    let endpoints = discover(&provider);
    let request = Request::new();

    to_login_page(
        &b,
        &provider,
        &request.url(&endpoints, &provider.client_id, &callback.uri),
    );
    let started = Instant::now();
    let landed = sign_in(&b, &provider.username, provider.password.expose_secret());
    eprintln!("signed in at glewlwyd in {:?}", started.elapsed());
    assert!(
        landed.starts_with(&callback.uri),
        "left glewlwyd for {landed}, not the redirect URI"
    );

    let back = callback.first();
    assert_eq!(callback.seen().len(), 1, "{:?}", callback.seen());
    assert_eq!(query(&back, "error"), None, "{back}");
    assert_eq!(
        query(&back, "state").as_deref(),
        Some(request.state.as_str())
    );
    let code = query(&back, "code").expect("an authorization code");
    b.wait_until("showing the client's page", |b| {
        b.title() == "back at the client"
    });

    let exchange = |code: &str, verifier: &str| {
        Client::new()
            .post(&endpoints.token)
            .basic_auth(
                &provider.client_id,
                Some(provider.client_secret.expose_secret()),
            )
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", callback.uri.as_str()),
                ("code_verifier", verifier),
            ])
            .send()
            .unwrap()
    };
    // A wrong verifier cannot redeem the code (nor, glewlwyd being strict, spend it).
    assert!(exchange(&code, &random(64)).status().is_client_error());
    let response = exchange(&code, &request.verifier);
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "token endpoint; glewlwyd's log:\n{}",
        provider.log_tail()
    );
    let tokens: Value = response.json().unwrap();
    let id_token = tokens["id_token"].as_str().expect("an id_token");

    let claims = verifier(&provider)
        .verify(id_token, now(), Pace::MayBlock)
        .unwrap_or_else(|e| panic!("the ID token does not verify: {e:?}"));
    assert_eq!(claims.issuer, provider.issuer);
    assert_eq!(claims.audience, std::slice::from_ref(&provider.client_id));
    assert_eq!(claims.claims["azp"], provider.client_id);
    assert_eq!(claims.claims["nonce"], request.nonce);
    assert_eq!(claims.claims["email"], provider.email);
    assert_eq!(claims.claims["name"], provider.name);
    assert!(!claims.subject.is_empty());
    assert!(claims.expires_at > now());
}

#[test]
fn a_wrong_password_stays_on_glewlwyds_page_with_its_error_and_reaches_no_client() {
    let b = Browser::start();
    let callback = Callback::listen();
    let provider = RealProvider::start(&[&callback.uri]);
    let endpoints = discover(&provider);
    let request = Request::new();

    to_login_page(
        &b,
        &provider,
        &request.url(&endpoints, &provider.client_id, &callback.uri),
    );
    let outcome = submit(&b, &provider.username, "not-the-password");
    assert_eq!(
        outcome,
        Outcome::Refused("Authentication error".into()),
        "glewlwyd's log:\n{}",
        provider.log_tail()
    );
    let login = format!("{}/login.html", provider.base_url());
    assert!(b.url().starts_with(&login), "left for {}", b.url());
    assert!(b.displayed(glewlwyd_browser::LAST_ERROR));
    assert!(
        b.displayed(glewlwyd_browser::FORM),
        "the form is still there"
    );
    assert!(!glewlwyd_browser::present(&b, glewlwyd_browser::CONTINUE));
    // Nothing went to the client, even a while later.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(callback.seen(), Vec::<String>::new());
}

#[test]
fn a_login_form_that_never_appears_fails_with_where_the_browser_is_and_a_screenshot() {
    let b = Browser::start();
    let callback = Callback::listen();
    // Not glewlwyd: the listener's page has no login form.
    b.goto(&format!("{}?not=glewlwyd", callback.uri));
    let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        sign_in(&b, "alice", "whatever")
    }))
    .expect_err("sign_in must fail without a login form");
    let message = failed.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains(glewlwyd_browser::FORM) && message.contains("never appeared"),
        "{message}"
    );
    assert!(message.contains(&callback.uri), "{message}");
    let shot = message
        .rsplit_once("screenshot: ")
        .map(|(_, path)| path.trim().to_owned())
        .unwrap_or_else(|| panic!("no screenshot named: {message}"));
    let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("{shot}: {e}"));
    assert!(png.starts_with(b"\x89PNG"), "{shot} is not a PNG");
    let _ = std::fs::remove_file(&shot);
}
