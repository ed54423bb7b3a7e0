//! A sign-in against a real OpenID Connect provider, Debian's glewlwyd
//! (`support/real_provider.rs`), over plain HTTP on loopback: discovery, the authorization
//! code flow with PKCE (S256), `state` and `nonce`, through the provider's own login page
//! as a browser would go (cookies kept; the page's script posts the password to the
//! provider's login API, so this test does what the script does), the code exchanged at
//! the token endpoint with the client secret, and the ID token verified by
//! `regauth::infra::oidc::Verifier` (issuer, signature by the published RS256 key, expiry)
//! with the audience, `azp` and nonce checked here. The provider also refuses a wrong
//! password and a wrong PKCE verifier. A provider that cannot be started or reached fails
//! the test, never skips it.

#[path = "support/real_provider.rs"]
mod real_provider;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::distributions::Alphanumeric;
use rand::Rng;
use real_provider::RealProvider;
use regauth::domain::ports::{OidcVerifier, Pace};
use regauth::infra::oidc::{IssuerOptions, KeySource, Verifier};
use reqwest::blocking::Client;
use reqwest::redirect::Policy;
use reqwest::{StatusCode, Url};
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Never contacted: the test reads the redirect's `Location` instead of following it.
const REDIRECT_URI: &str = "http://127.0.0.1:9/oidc/callback";

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

/// A browser: its own cookie jar, redirects left to the test.
fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn location(response: &reqwest::blocking::Response) -> Url {
    assert!(
        response.status().is_redirection(),
        "expected a redirect, got {}",
        response.status()
    );
    let to = response.headers()["location"].to_str().unwrap();
    Url::parse(to).unwrap_or_else(|e| panic!("Location {to:?}: {e}"))
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
    let doc: Value = browser()
        .get(&url)
        .send()
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
    assert!(doc["id_token_signing_alg_values_supported"]
        .as_array()
        .is_some_and(|a| a.contains(&json!("RS256"))));
    Endpoints {
        authorization: doc["authorization_endpoint"].as_str().unwrap().to_owned(),
        token: doc["token_endpoint"].as_str().unwrap().to_owned(),
    }
}

/// What a sign-in request carries and must find again.
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

    fn url(&self, endpoints: &Endpoints, client_id: &str) -> Url {
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(self.verifier.as_bytes()));
        Url::parse_with_params(
            &endpoints.authorization,
            [
                ("response_type", "code"),
                ("client_id", client_id),
                ("redirect_uri", REDIRECT_URI),
                ("scope", "openid"),
                ("state", &self.state),
                ("nonce", &self.nonce),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        )
        .unwrap()
    }
}

/// The authorization request sends the browser to the provider's login page; returns the
/// page's `callback_url` (the authorization request to resume once signed in).
fn to_login_page(browser: &Client, provider: &RealProvider, authorize: &Url) -> Url {
    let response = browser.get(authorize.clone()).send().unwrap();
    let login = location(&response);
    assert!(
        login.as_str().starts_with(&provider.base_url()) && login.path().ends_with("login.html"),
        "not sent to the provider's login page: {login}"
    );
    let page = browser.get(login.clone()).send().unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().unwrap();
    assert!(html.contains("Glewlwyd login") && html.contains("login.js"));
    let callback = query(&login, "callback_url").expect("the login page's callback_url");
    Url::parse(&callback).unwrap()
}

/// What the login page's script does with the password form: post it to the login API.
fn sign_in(browser: &Client, provider: &RealProvider, password: &str) -> StatusCode {
    browser
        .post(format!("{}/api/auth/", provider.base_url()))
        .json(&json!({"username": provider.username, "password": password}))
        .send()
        .unwrap()
        .status()
}

/// Resumes the authorization request after the login (the page adds `g_continue`); the
/// provider redirects to the client with `state` and a code.
fn code_after_login(browser: &Client, callback: &Url, request: &Request) -> String {
    let mut resume = callback.clone();
    let q = format!("{}&g_continue", resume.query().unwrap_or_default());
    resume.set_query(Some(&q));
    let back = location(&browser.get(resume).send().unwrap());
    assert!(
        back.as_str().starts_with(REDIRECT_URI),
        "not sent back to the client: {back}"
    );
    assert_eq!(
        query(&back, "state").as_deref(),
        Some(request.state.as_str())
    );
    assert_eq!(query(&back, "error"), None, "{back}");
    query(&back, "code").expect("an authorization code")
}

fn exchange(
    provider: &RealProvider,
    endpoints: &Endpoints,
    code: &str,
    verifier: &str,
) -> reqwest::blocking::Response {
    browser()
        .post(&endpoints.token)
        .basic_auth(
            &provider.client_id,
            Some(provider.client_secret.expose_secret()),
        )
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier),
        ])
        .send()
        .unwrap()
}

#[test]
fn a_person_signs_in_at_glewlwyd_with_pkce_and_the_id_token_verifies() {
    let provider = RealProvider::start(&[REDIRECT_URI]);
    let endpoints = discover(&provider);

    // A wrong password is refused by the provider's login.
    let stranger = browser();
    let request = Request::new();
    to_login_page(
        &stranger,
        &provider,
        &request.url(&endpoints, &provider.client_id),
    );
    assert_eq!(
        sign_in(&stranger, &provider, "not-the-password"),
        StatusCode::UNAUTHORIZED
    );

    // The person's sign-in.
    let person = browser();
    let request = Request::new();
    let callback = to_login_page(
        &person,
        &provider,
        &request.url(&endpoints, &provider.client_id),
    );
    assert_eq!(
        sign_in(&person, &provider, provider.password.expose_secret()),
        StatusCode::OK,
        "login refused; glewlwyd's log:\n{}",
        provider.log_tail()
    );
    let code = code_after_login(&person, &callback, &request);
    let response = exchange(&provider, &endpoints, &code, &request.verifier);
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "token endpoint; glewlwyd's log:\n{}",
        provider.log_tail()
    );
    let tokens: Value = response.json().unwrap();
    let id_token = tokens["id_token"].as_str().expect("an id_token");
    // The code is spent.
    assert!(exchange(&provider, &endpoints, &code, &request.verifier)
        .status()
        .is_client_error());

    let verifier = Verifier::new(
        vec![IssuerOptions {
            name: "glewlwyd".into(),
            issuer: provider.issuer.clone(),
            source: KeySource::Discovery,
            refetch_interval: Duration::from_secs(60),
            leeway: Duration::from_secs(60),
        }],
        Duration::from_secs(5),
    )
    .unwrap();
    let claims = verifier
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

    // Signed in already: a second request goes straight back with a code, which a wrong
    // PKCE verifier cannot redeem.
    let again = Request::new();
    let callback = Url::parse(again.url(&endpoints, &provider.client_id).as_str()).unwrap();
    let code = code_after_login(&person, &callback, &again);
    assert!(exchange(&provider, &endpoints, &code, &random(64))
        .status()
        .is_client_error());
    // The same subject again, for the same person.
    let code = code_after_login(&person, &callback, &again);
    let response = exchange(&provider, &endpoints, &code, &again.verifier);
    let tokens: Value = response.json().unwrap();
    let second = verifier
        .verify(tokens["id_token"].as_str().unwrap(), now(), Pace::MayBlock)
        .unwrap();
    assert_eq!(second.subject, claims.subject);
    assert_eq!(second.claims["nonce"], again.nonce);
}
