//! A contract OpenID Connect provider for tests: an in-process HTTP server on a free
//! loopback port, written from OpenID Connect Core 1.0 and Discovery 1.0 and the
//! reference sheet `oidc-workload-tokens.md` only. It serves discovery
//! (`/.well-known/openid-configuration`) and its key set (`/jwks`, RS256 and ES256 keys,
//! rotated and retired at will), mints tokens shaped as GitHub Actions', GitLab CI's and
//! Kubernetes' documents describe them, and fails on demand: down (503), slow, garbage,
//! a key it signs with but never publishes. It counts what it is asked, so tests can
//! assert how often a verifier fetches. For people it runs the authorization code flow
//! (Core §3.1): `/authorize` (a login form posting user and password, redirecting with
//! `code` and `state`), `/token` (client secret, PKCE S256, an ID token with `nonce`,
//! `aud` = client id and `azp`) and `/userinfo`.
//!
//! Include it with `#[path = "support/oidc_provider.rs"] mod oidc_provider;`. The
//! server runs on a thread of its own with its own actix system (as `tests/synapse/`),
//! so synchronous and async tests alike can use it. Dropping the handle stops it.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use pkcs8::der::Decode;
use rand::distributions::Alphanumeric;
use rand::Rng;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// How the provider answers discovery and its key set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    None,
    /// 503 Service Unavailable.
    Down,
    /// Answers after this long.
    Slow(Duration),
    /// 200 with a body that is not JSON.
    Garbage,
}

/// A signing key: its private half for minting, its public JWK and raw public bytes.
pub struct SigningKey {
    pub kid: String,
    pub alg: Algorithm,
    encoding: EncodingKey,
    pub jwk: Value,
    /// The public key's bytes (SubjectPublicKeyInfo-less: PKCS#1 for RSA, the point for
    /// EC): what an HS256-with-the-public-key forgery is keyed with.
    pub public: Vec<u8>,
}

impl SigningKey {
    /// An RSA-2048 key for RS256.
    pub fn rsa(kid: &str) -> SigningKey {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key");
        let pkcs8 = AsDer::<Pkcs8V1Der>::as_der(&pair).expect("PKCS#8");
        let info = pkcs8::PrivateKeyInfoRef::from_der(pkcs8.as_ref()).expect("PKCS#8 info");
        let public = pair.public_key();
        SigningKey {
            kid: kid.into(),
            alg: Algorithm::RS256,
            encoding: EncodingKey::from_rsa_der(info.private_key.as_bytes()),
            jwk: json!({
                "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
                "n": b64(public.modulus().big_endian_without_leading_zero()),
                "e": b64(public.exponent().big_endian_without_leading_zero()),
            }),
            public: public.as_ref().to_vec(),
        }
    }

    /// A P-256 key for ES256 (its JWK without `alg`: the curve says it).
    pub fn p256(kid: &str) -> SigningKey {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("EC key");
        let pkcs8 = pair.to_pkcs8v1().expect("PKCS#8");
        let point = pair.public_key().as_ref().to_vec();
        SigningKey {
            kid: kid.into(),
            alg: Algorithm::ES256,
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk: json!({
                "kty": "EC", "use": "sig", "crv": "P-256", "kid": kid,
                "x": b64(&point[1..33]), "y": b64(&point[33..]),
            }),
            public: point,
        }
    }

    /// `claims` signed with this key, its `kid` in the header.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        self.sign_with_header(header, claims)
    }

    /// `claims` signed with this key under `header` as given (a test's hostile header).
    pub fn sign_with_header(&self, header: Header, claims: &Value) -> String {
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("sign")
    }
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Seconds since the epoch, now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

struct State {
    /// Published, oldest first; the last is current unless `current` says otherwise.
    keys: Vec<SigningKey>,
    current: String,
    /// Signs, but is in no key set.
    unpublished: SigningKey,
    /// Removed from the key set by `retire`; still signs.
    retired: Vec<SigningKey>,
    failure: Failure,
    /// The `Cache-Control` of the key set; `None`: no header.
    cache_control: Option<String>,
    /// The `issuer` discovery names (normally the real one).
    discovery_issuer: Option<String>,
    next_kid: usize,
    people: People,
}

struct Shared {
    state: Mutex<State>,
    issuer: String,
    jwks_fetches: AtomicUsize,
    discovery_fetches: AtomicUsize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub struct OidcProvider {
    shared: web::Data<Shared>,
    base_url: String,
    server: ServerHandle,
}

impl OidcProvider {
    /// Listens on 127.0.0.1:<free port>; publishes an RS256 key (`rsa-1`, current) and
    /// an ES256 key (`ec-1`); its issuer is its base URL.
    pub fn start() -> OidcProvider {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        let base_url = format!("http://127.0.0.1:{port}");
        let shared = web::Data::new(Shared {
            state: Mutex::new(State {
                keys: vec![SigningKey::p256("ec-1"), SigningKey::rsa("rsa-1")],
                current: "rsa-1".into(),
                unpublished: SigningKey::rsa("unpublished-1"),
                retired: Vec::new(),
                failure: Failure::None,
                cache_control: Some("public, max-age=3600".into()),
                discovery_issuer: None,
                next_kid: 2,
                people: People::default(),
            }),
            issuer: base_url.clone(),
            jwks_fetches: AtomicUsize::new(0),
            discovery_fetches: AtomicUsize::new(0),
        });
        let server = serve(listener, shared.clone());
        OidcProvider {
            shared,
            base_url,
            server,
        }
    }

    pub fn issuer(&self) -> String {
        self.shared.issuer.clone()
    }

    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    pub fn jwks_url(&self) -> String {
        format!("{}/jwks", self.base_url)
    }

    // ---- keys ----

    /// The kid tokens are signed with by `mint`.
    pub fn current_kid(&self) -> String {
        self.shared.lock().current.clone()
    }

    /// The published kids, oldest first.
    pub fn kids(&self) -> Vec<String> {
        self.shared
            .lock()
            .keys
            .iter()
            .map(|k| k.kid.clone())
            .collect()
    }

    /// Publishes a new RSA key and makes it current; returns its kid.
    pub fn rotate(&self) -> String {
        let mut s = self.shared.lock();
        let kid = format!("rsa-{}", s.next_kid);
        s.next_kid += 1;
        s.keys.push(SigningKey::rsa(&kid));
        s.current = kid.clone();
        kid
    }

    /// Removes `kid` from the key set (it still signs, with `mint_with`).
    pub fn retire(&self, kid: &str) {
        let mut s = self.shared.lock();
        if let Some(at) = s.keys.iter().position(|k| k.kid == kid) {
            let key = s.keys.remove(at);
            s.retired.push(key);
        }
    }

    /// What a key's public bytes are (for the HS256-with-the-public-key forgery).
    pub fn public_key(&self, kid: &str) -> Vec<u8> {
        key(&self.shared.lock(), kid).public.clone()
    }

    // ---- tokens ----

    /// `claims` signed with the current key.
    pub fn mint(&self, claims: &Value) -> String {
        let kid = self.current_kid();
        self.mint_with(&kid, claims)
    }

    /// `claims` signed with the key `kid` (published, retired or unpublished).
    pub fn mint_with(&self, kid: &str, claims: &Value) -> String {
        key(&self.shared.lock(), kid).sign(claims)
    }

    /// `claims` under `header` as given, signed with the key `kid`.
    pub fn mint_with_header(&self, kid: &str, header: Header, claims: &Value) -> String {
        key(&self.shared.lock(), kid).sign_with_header(header, claims)
    }

    /// `claims` signed with a key this provider never publishes (kid `unpublished-1`).
    pub fn mint_unpublished(&self, claims: &Value) -> String {
        self.shared.lock().unpublished.sign(claims)
    }

    /// A GitHub Actions job's token for `repository` (`org/name`) on `git_ref`
    /// (`refs/heads/main`), for `audience`, issued now and valid five minutes; every
    /// claim GitHub documents, ids as the strings GitHub writes.
    pub fn github_actions_claims(&self, repository: &str, git_ref: &str, audience: &str) -> Value {
        let owner = repository.split('/').next().unwrap_or(repository);
        let iat = now();
        let branch = git_ref.strip_prefix("refs/heads/");
        json!({
            "jti": format!("gh-{iat}-{}", self.shared.jwks_fetches.load(Ordering::Relaxed)),
            "sub": format!("repo:{repository}:ref:{git_ref}"),
            "aud": audience,
            "ref": git_ref,
            "sha": "2b1e4a1f0c7d3e5f9a8b6c4d2e0f1a3b5c7d9e1f",
            "repository": repository,
            "repository_owner": owner,
            "repository_owner_id": "1342004",
            "repository_visibility": "private",
            "repository_id": "741952",
            "user_id": "1342004",
            "actor_id": "5830241",
            "actor": "octocat",
            "workflow": "build",
            "workflow_ref": format!("{repository}/.github/workflows/build.yml@{git_ref}"),
            "workflow_sha": "2b1e4a1f0c7d3e5f9a8b6c4d2e0f1a3b5c7d9e1f",
            "job_workflow_ref": format!("{repository}/.github/workflows/build.yml@{git_ref}"),
            "job_workflow_sha": "2b1e4a1f0c7d3e5f9a8b6c4d2e0f1a3b5c7d9e1f",
            "head_ref": "",
            "base_ref": "",
            "event_name": "push",
            "ref_type": if branch.is_some() { "branch" } else { "tag" },
            "ref_protected": "true",
            "environment": "production",
            "run_id": "9173026514",
            "run_number": "42",
            "run_attempt": "1",
            "runner_environment": "github-hosted",
            "iss": self.issuer(),
            "nbf": iat - 5,
            "iat": iat,
            "exp": iat + 300,
        })
    }

    /// A GitLab CI job's `id_tokens` token for `project_path` (`group/project`) on the
    /// branch `branch`, for `audience`; `sub` as GitLab's default
    /// (`project_path:…:ref_type:branch:ref:…`, no `refs/heads/`).
    pub fn gitlab_ci_claims(&self, project_path: &str, branch: &str, audience: &str) -> Value {
        let namespace = project_path
            .rsplit_once('/')
            .map_or(project_path, |(ns, _)| ns);
        let iat = now();
        json!({
            "jti": format!("gl-{iat}"),
            "iss": self.issuer(),
            "aud": audience,
            "sub": format!("project_path:{project_path}:ref_type:branch:ref:{branch}"),
            "namespace_id": "72",
            "namespace_path": namespace,
            "project_id": "20531",
            "project_path": project_path,
            "project_visibility": "internal",
            "user_id": "1043",
            "user_login": "jdoe",
            "user_email": "jdoe@example.org",
            "user_access_level": "developer",
            "pipeline_id": "1263490",
            "pipeline_source": "push",
            "job_id": "7720481",
            "ref": branch,
            "ref_type": "branch",
            "ref_path": format!("refs/heads/{branch}"),
            "ref_protected": "true",
            "environment": "production",
            "environment_protected": "true",
            "deployment_tier": "production",
            "runner_id": 12,
            "runner_environment": "gitlab-hosted",
            "sha": "9c1e2f4a6b8d0e1f3a5c7e9b1d3f5a7c9e1b3d5f",
            "ci_config_ref_uri": format!("gitlab.example.org/{project_path}//.gitlab-ci.yml@refs/heads/{branch}"),
            "ci_config_sha": "9c1e2f4a6b8d0e1f3a5c7e9b1d3f5a7c9e1b3d5f",
            "nbf": iat - 5,
            "iat": iat,
            "exp": iat + 300,
        })
    }

    /// A projected service-account token of pod `<name>-7c9f` in `namespace`, run as
    /// service account `name`, for `audience`: `aud` an array, the `kubernetes.io`
    /// object with namespace, node, pod and service account (names and uids).
    pub fn kubernetes_claims(&self, namespace: &str, name: &str, audience: &str) -> Value {
        let iat = now();
        json!({
            "aud": [audience],
            "exp": iat + 3600,
            "iat": iat,
            "nbf": iat,
            "iss": self.issuer(),
            "jti": format!("k8s-{iat}"),
            "sub": format!("system:serviceaccount:{namespace}:{name}"),
            "kubernetes.io": {
                "namespace": namespace,
                "node": {"name": "worker-2", "uid": "6f0a7c2e-5b1d-4c3e-9a8f-1d2e3f4a5b6c"},
                "pod": {"name": format!("{name}-7c9f"), "uid": "c3a1b2d4-e5f6-4789-a0b1-c2d3e4f5a6b7"},
                "serviceaccount": {"name": name, "uid": "0d3e8c6a-1f2b-4a5c-8d9e-7f6a5b4c3d2e"},
                "warnafter": iat + 3000,
            },
        })
    }

    // ---- people (the authorization code flow) ----

    /// A client allowed to redirect to `redirect_uri` (exactly).
    pub fn add_client(&self, client_id: &str, secret: &str, redirect_uri: &str) {
        let c = (secret.to_owned(), redirect_uri.to_owned());
        self.shared
            .lock()
            .people
            .clients
            .insert(client_id.to_owned(), c);
    }

    /// A person who signs in with `username` and `password`; returns their stable `sub`.
    pub fn add_user(&self, username: &str, password: &str, email: &str, groups: &[&str]) -> String {
        let mut s = self.shared.lock();
        let sub = format!("u-{:04}", s.people.users.len() + 1);
        s.people.users.push(Person {
            sub: sub.clone(),
            username: username.into(),
            password: password.into(),
            email: email.into(),
            email_verified: true,
            groups: groups.iter().map(|g| g.to_string()).collect(),
        });
        sub
    }

    /// Marks `username`'s e-mail address unverified (`email_verified: false`).
    pub fn set_email_unverified(&self, username: &str) {
        let mut s = self.shared.lock();
        if let Some(p) = s.people.users.iter_mut().find(|p| p.username == username) {
            p.email_verified = false;
        }
    }

    /// Replaces `username`'s groups (as a directory's group change would).
    pub fn set_groups(&self, username: &str, groups: &[&str]) {
        let mut s = self.shared.lock();
        if let Some(p) = s.people.users.iter_mut().find(|p| p.username == username) {
            p.groups = groups.iter().map(|g| g.to_string()).collect();
        }
    }

    // ---- failures and counters ----

    pub fn fail(&self, failure: Failure) {
        self.shared.lock().failure = failure;
    }

    /// The key set's `Cache-Control` (`None`: no header).
    pub fn set_cache_control(&self, value: Option<&str>) {
        self.shared.lock().cache_control = value.map(str::to_owned);
    }

    /// Discovery names `issuer` instead of the real one (a mix-up attempt).
    pub fn set_discovery_issuer(&self, issuer: &str) {
        self.shared.lock().discovery_issuer = Some(issuer.to_owned());
    }

    /// Requests of `/jwks` so far (answered or failed).
    pub fn jwks_fetches(&self) -> usize {
        self.shared.jwks_fetches.load(Ordering::SeqCst)
    }

    /// Requests of the discovery document so far.
    pub fn discovery_fetches(&self) -> usize {
        self.shared.discovery_fetches.load(Ordering::SeqCst)
    }
}

/// The key `kid`: published, retired or the unpublished one; a panic otherwise (a
/// mistake in the test).
fn key<'a>(s: &'a State, kid: &str) -> &'a SigningKey {
    s.keys
        .iter()
        .chain(&s.retired)
        .chain(std::iter::once(&s.unpublished))
        .find(|k| k.kid == kid)
        .unwrap_or_else(|| panic!("no key {kid:?}"))
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        futures_executor::block_on(self.server.stop(false));
    }
}

/// The failure injected now, if any, as the answer to give instead (after a slow wait).
async fn injected(shared: &Shared) -> Option<HttpResponse> {
    let failure = shared.lock().failure;
    match failure {
        Failure::None => None,
        Failure::Down => Some(HttpResponse::ServiceUnavailable().body("down for maintenance")),
        Failure::Slow(d) => {
            actix_web::rt::time::sleep(d).await;
            None
        }
        Failure::Garbage => Some(
            HttpResponse::Ok()
                .content_type("application/json")
                .body("{\"keys\": [ <html>"),
        ),
    }
}

/// Discovery 1.0 §3 / §4.2: the provider's metadata; `issuer` exactly the issuer.
async fn discovery(shared: web::Data<Shared>) -> HttpResponse {
    shared.discovery_fetches.fetch_add(1, Ordering::SeqCst);
    if let Some(answer) = injected(&shared).await {
        return answer;
    }
    let iss = &shared.issuer;
    let named = shared
        .lock()
        .discovery_issuer
        .clone()
        .unwrap_or(iss.clone());
    HttpResponse::Ok().json(json!({
        "issuer": named,
        "jwks_uri": format!("{iss}/jwks"),
        "authorization_endpoint": format!("{iss}/authorize"),
        "token_endpoint": format!("{iss}/token"),
        "userinfo_endpoint": format!("{iss}/userinfo"),
        "response_types_supported": ["code", "id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "scopes_supported": ["openid", "email", "profile", "groups"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "grant_types_supported": ["authorization_code"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "email", "email_verified", "preferred_username", "groups"],
    }))
}

/// RFC 7517 §5: the published keys.
async fn jwks(shared: web::Data<Shared>) -> HttpResponse {
    shared.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    if let Some(answer) = injected(&shared).await {
        return answer;
    }
    let s = shared.lock();
    let keys: Vec<&Value> = s.keys.iter().map(|k| &k.jwk).collect();
    let mut answer = HttpResponse::Ok();
    if let Some(cc) = &s.cache_control {
        answer.insert_header(("Cache-Control", cc.as_str()));
    }
    answer.json(json!({ "keys": keys }))
}

fn serve(listener: TcpListener, shared: web::Data<Shared>) -> ServerHandle {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("oidc-provider".into())
        .spawn(move || {
            let system = actix_web::rt::System::new();
            let result = system.block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(shared.clone())
                        .route(
                            "/.well-known/openid-configuration",
                            web::get().to(discovery),
                        )
                        .route("/jwks", web::get().to(jwks))
                        .route("/authorize", web::get().to(authorize_form))
                        .route("/authorize", web::post().to(authorize_login))
                        .route("/token", web::post().to(token))
                        .route("/userinfo", web::get().to(userinfo))
                })
                .workers(2)
                .disable_signals()
                .listen(listener)?
                .run();
                let _ = tx.send(server.handle());
                server.await
            });
            if let Err(e) = result {
                eprintln!("contract OIDC provider stopped: {e}");
            }
        })
        .expect("spawn the OIDC provider thread");
    rx.recv().expect("the OIDC provider did not start")
}

// ---- people: OpenID Connect Core §3.1 (authorization code flow) with RFC 7636 PKCE ----

#[derive(Default)]
struct People {
    /// client_id → (secret, the one redirect URI registered).
    clients: HashMap<String, (String, String)>,
    users: Vec<Person>,
    /// Codes not yet redeemed (each is good once).
    codes: HashMap<String, Grant>,
    /// Access tokens → the person's `sub`.
    access: HashMap<String, String>,
}

#[derive(Clone)]
struct Person {
    sub: String,
    username: String,
    password: String,
    email: String,
    email_verified: bool,
    groups: Vec<String>,
}

struct Grant {
    client_id: String,
    redirect_uri: String,
    nonce: Option<String>,
    challenge: String,
    sub: String,
    issued: i64,
}

type Params = HashMap<String, String>;

fn random(n: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

fn oauth_error(status: u16, error: &str) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(status).unwrap_or_default();
    HttpResponse::build(status).json(json!({ "error": error }))
}

/// The request's problem before any login: a bad client or redirect URI is shown, never
/// redirected to (§3.1.2.6); the rest goes back to the client as `error`.
/// `None`: the request is good; otherwise the answer to give instead.
fn check_request(s: &State, q: &Params) -> Option<HttpResponse> {
    let client = q.get("client_id").and_then(|c| s.people.clients.get(c));
    let redirect = q.get("redirect_uri");
    match client {
        Some((_, uri)) if Some(uri) == redirect => {}
        _ => return Some(HttpResponse::BadRequest().body("unknown client or redirect_uri")),
    }
    let ok = q.get("response_type").map(String::as_str) == Some("code")
        && q.get("scope")
            .is_some_and(|s| s.split(' ').any(|s| s == "openid"))
        && q.get("code_challenge_method").map(String::as_str) == Some("S256")
        && q.get("code_challenge").is_some_and(|c| c.len() >= 43);
    if ok {
        return None;
    }
    let mut to = with_param(
        redirect.map_or("", String::as_str),
        "error",
        "invalid_request",
    );
    if let Some(state) = q.get("state") {
        to = format!("{to}&state={}", form(state));
    }
    Some(
        HttpResponse::Found()
            .insert_header(("Location", to))
            .finish(),
    )
}

fn form(v: &str) -> String {
    form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

fn with_param(base: &str, key: &str, value: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}{key}={}", form(value))
}

/// The login form, the request's parameters carried as hidden fields.
fn login_page(q: &Params, message: &str) -> HttpResponse {
    let mut hidden = String::new();
    for (k, v) in q
        .iter()
        .filter(|(k, _)| *k != "username" && *k != "password")
    {
        let esc = |t: &str| {
            t.replace('&', "&amp;")
                .replace('"', "&quot;")
                .replace('<', "&lt;")
        };
        hidden.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            esc(k),
            esc(v)
        ));
    }
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(format!(
        "<!doctype html><title>Sign in</title><p>{message}</p><form method=\"post\" action=\"/authorize\">{hidden}\
         <input name=\"username\" autocomplete=\"username\"><input name=\"password\" type=\"password\">\
         <button type=\"submit\">Sign in</button></form>"
    ))
}

async fn authorize_form(shared: web::Data<Shared>, q: web::Query<Params>) -> HttpResponse {
    if let Some(answer) = check_request(&shared.lock(), &q) {
        return answer;
    }
    login_page(&q, "")
}

async fn authorize_login(shared: web::Data<Shared>, f: web::Form<Params>) -> HttpResponse {
    let mut s = shared.lock();
    if let Some(answer) = check_request(&s, &f) {
        return answer;
    }
    let person =
        s.people.users.iter().find(|p| {
            Some(&p.username) == f.get("username") && Some(&p.password) == f.get("password")
        });
    let Some(person) = person.cloned() else {
        return login_page(&f, "Invalid username or password.");
    };
    let code = random(32);
    let grant = Grant {
        client_id: f["client_id"].clone(),
        redirect_uri: f["redirect_uri"].clone(),
        nonce: f.get("nonce").cloned(),
        challenge: f["code_challenge"].clone(),
        sub: person.sub,
        issued: now(),
    };
    s.people.codes.insert(code.clone(), grant);
    let mut to = with_param(&f["redirect_uri"], "code", &code);
    if let Some(state) = f.get("state") {
        to = format!("{to}&state={}", form(state));
    }
    HttpResponse::Found()
        .insert_header(("Location", to))
        .finish()
}

/// §3.1.3: the code for tokens; the client authenticates (Basic or in the body), the
/// redirect URI is the one of the request, the verifier hashes to the challenge.
async fn token(shared: web::Data<Shared>, req: HttpRequest, f: web::Form<Params>) -> HttpResponse {
    let basic = req
        .headers()
        .get("Authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|b| b.split_once(':').map(|(i, s)| (i.to_owned(), s.to_owned())));
    let (id, secret) = match basic {
        Some(pair) => pair,
        None => (
            f.get("client_id").cloned().unwrap_or_default(),
            f.get("client_secret").cloned().unwrap_or_default(),
        ),
    };
    let mut s = shared.lock();
    if s.people
        .clients
        .get(&id)
        .is_none_or(|(known, _)| *known != secret)
    {
        return oauth_error(401, "invalid_client");
    }
    if f.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return oauth_error(400, "unsupported_grant_type");
    }
    let Some(grant) = f.get("code").and_then(|c| s.people.codes.remove(c)) else {
        return oauth_error(400, "invalid_grant");
    };
    let verifier = f.get("code_verifier").map_or("", String::as_str);
    let hashed = b64(&Sha256::digest(verifier.as_bytes()));
    if grant.client_id != id
        || Some(&grant.redirect_uri) != f.get("redirect_uri")
        || hashed != grant.challenge
        || now() - grant.issued > 600
    {
        return oauth_error(400, "invalid_grant");
    }
    let Some(person) = s.people.users.iter().find(|p| p.sub == grant.sub).cloned() else {
        return oauth_error(400, "invalid_grant");
    };
    let access = random(40);
    s.people.access.insert(access.clone(), person.sub.clone());
    let iat = now();
    let mut claims = json!({
        "iss": shared.issuer, "sub": person.sub, "aud": id, "azp": id,
        "exp": iat + 300, "iat": iat, "auth_time": grant.issued,
        "email": person.email, "email_verified": person.email_verified,
        "preferred_username": person.username, "groups": person.groups,
    });
    if let Some(nonce) = grant.nonce {
        claims["nonce"] = json!(nonce);
    }
    let id_token = key(&s, &s.current).sign(&claims);
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({
            "access_token": access, "token_type": "Bearer", "expires_in": 300,
            "id_token": id_token, "scope": "openid email profile",
        }))
}

/// §5.3: the person's claims for their access token.
async fn userinfo(shared: web::Data<Shared>, req: HttpRequest) -> HttpResponse {
    let bearer = req
        .headers()
        .get("Authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "));
    let s = shared.lock();
    let person = bearer
        .and_then(|t| s.people.access.get(t))
        .and_then(|sub| s.people.users.iter().find(|p| &p.sub == sub));
    match person {
        Some(p) => HttpResponse::Ok().json(json!({
            "sub": p.sub, "email": p.email, "email_verified": p.email_verified,
            "preferred_username": p.username, "groups": p.groups,
        })),
        None => HttpResponse::Unauthorized()
            .insert_header(("WWW-Authenticate", "Bearer error=\"invalid_token\""))
            .finish(),
    }
}
