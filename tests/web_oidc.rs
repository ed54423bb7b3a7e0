//! People sign in with an OpenID Connect provider, against the real binary and the
//! contract provider (`support/oidc_provider.rs`): the code flow with PKCE, state and
//! nonce through `/ui/oidc/{provider}/start` and `/callback`, driven as a browser does
//! (a cookie jar, redirects followed by hand). A first sign-in creates the user, whose
//! session reaches the pages and mints an access token that works at `/token`; the
//! groups set team memberships at each sign-in; an existing account is linked by a
//! verified e-mail only; a wrong state, a replayed code and a disabled account are
//! refused; one address cannot start sign-ins without end (429 past its budget, others
//! unaffected); a provider that is down leaves password sign-in working; and an ID token
//! for another client, with several audiences and no `azp`, or with another nonce
//! (from a rogue provider in this file) starts no session.

mod common;
#[path = "support/oidc_provider.rs"]
mod oidc_provider;

use common::*;
use oidc_provider::{Failure, OidcProvider};
use reqwest::blocking::{Client, Response};
use reqwest::redirect::Policy;
use serde_json::Value;

const CLIENT: &str = "regauth";
const SECRET: &str = "client-s3cret-for-tests";

/// regauth with the provider `corp` (users created on first sign-in when `create`),
/// groups `eng` → team `developers`, `ops` → `operators`; the provider knows regauth
/// as a client with its callback.
fn stack_with(provider: &OidcProvider, create: bool) -> Stack {
    let stack = Stack::regauth_with(&format!(
        r#"
[[oidc.providers]]
name = "corp"
issuer = "{}"
client_id = "{CLIENT}"
client_secret = "{SECRET}"
groups_claim = "groups"
create_users = {create}
[oidc.providers.team_mapping]
eng = "developers"
ops = "operators"
"#,
        provider.issuer()
    ));
    provider.add_client(CLIENT, SECRET, &stack.url("/ui/oidc/corp/callback"));
    stack
}

/// A browser-like client: keeps cookies, does not follow redirects.
fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .expect("client")
}

fn location(r: &Response) -> String {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// Every hidden field of a page, in order.
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find("<input type=\"hidden\" name=\"") {
        rest = &rest[at + "<input type=\"hidden\" name=\"".len()..];
        let name_end = rest.find('"').expect("end of name");
        let name = rest[..name_end].to_string();
        let marker = "value=\"";
        let v = rest.find(marker).expect("value") + marker.len();
        let v_end = rest[v..].find('"').expect("end of value");
        let value = rest[v..v + v_end]
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&amp;", "&");
        fields.push((name, value));
    }
    fields
}

/// The first hidden field `name` of a page.
fn hidden(html: &str, name: &str) -> String {
    hidden_fields(html)
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no field {name} in:\n{html}"))
        .1
}

/// `start` → the provider's login form → its redirect back: the callback URL.
fn to_callback(c: &Client, stack: &Stack, p: &OidcProvider, user: &str) -> String {
    let r = c.get(stack.url("/ui/oidc/corp/start")).send().unwrap();
    assert_eq!(r.status(), 303, "start: {}", r.text().unwrap());
    let authorize = location(&r);
    assert!(
        authorize.starts_with(&format!("{}/authorize?", p.base_url())),
        "{authorize}"
    );
    for param in [
        "code_challenge_method=S256",
        "response_type=code",
        "state=",
        "nonce=",
    ] {
        assert!(authorize.contains(param), "{param}: {authorize}");
    }
    let form = c.get(&authorize).send().unwrap();
    assert_eq!(form.status(), 200);
    let mut fields = hidden_fields(&form.text().unwrap());
    fields.push(("username".into(), user.into()));
    fields.push(("password".into(), "provider-password".into()));
    let r = c
        .post(format!("{}/authorize", p.base_url()))
        .form(&fields)
        .send()
        .unwrap();
    assert_eq!(r.status(), 302, "provider login: {}", r.text().unwrap());
    let back = location(&r);
    assert!(
        back.starts_with(&stack.url("/ui/oidc/corp/callback?")),
        "{back}"
    );
    back
}

/// A full sign-in with the provider as `user`: the callback's answer.
fn sign_in(c: &Client, stack: &Stack, p: &OidcProvider, user: &str) -> Response {
    let back = to_callback(c, stack, p, user);
    c.get(back).send().unwrap()
}

/// Signs in as `user`, asserting it works: the client holds a session.
fn signed_in(stack: &Stack, p: &OidcProvider, user: &str) -> Client {
    let c = browser();
    let r = sign_in(&c, stack, p, user);
    assert_eq!(r.status(), 200, "callback: {}", r.text().unwrap());
    let page = r.text().unwrap();
    assert!(page.contains("href=\"/ui/tokens\""), "{page}");
    assert_eq!(c.get(stack.url("/ui/tokens")).send().unwrap().status(), 200);
    c
}

/// Mints an access token with `scopes` in the tokens page; returns its secret.
fn mint_in_page(c: &Client, stack: &Stack, scopes: &str) -> String {
    let page = c
        .get(stack.url("/ui/tokens"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let csrf = hidden(&page, "csrf");
    let r = c
        .post(stack.url("/ui/tokens"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "laptop"),
            ("scopes", scopes),
            ("expires_in", "7d"),
        ])
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let body = r.text().unwrap();
    let marker = "id=\"token-secret\">";
    let start = body.find(marker).expect("the secret") + marker.len();
    let end = body[start..].find('<').expect("end of the secret");
    body[start..start + end].to_string()
}

/// The actions `/token` grants on `repo` to `login` with `secret`.
fn pull_actions_with(stack: &Stack, login: &str, secret: &str, repo: &str) -> Value {
    let r = Client::new()
        .get(stack.url("/token"))
        .query(&[
            ("service", SERVICE),
            ("scope", &format!("repository:{repo}:pull")),
        ])
        .basic_auth(login, Some(secret))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, claims) = jwt(r.json::<Value>().unwrap()["token"].as_str().unwrap());
    claims["access"]
        .as_array()
        .and_then(|a| a.first())
        .map_or(Value::Null, |a| a["actions"].clone())
}

fn audit_kinds(stack: &Stack, user: &str) -> String {
    stack.ok(&["audit", "--user", user])
}

#[test]
fn a_first_sign_in_creates_the_user_whose_token_works_and_groups_set_its_teams() {
    let p = OidcProvider::start();
    p.add_user("carol", "provider-password", "carol@example.org", &["eng"]);
    let stack = stack_with(&p, true);
    stack.ok(&["team", "add", "developers"]);
    stack.ok(&["team", "add", "operators"]);
    let project = stack.add_project("alpha", "root");
    stack.record_push(&format!("{project}/tool"), "v1", "root");
    stack.grant(&project, "team:developers", "READ,DOWNLOAD");
    let repo = format!("{project}/tool");

    let page = browser()
        .get(stack.url("/ui/signin"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(page.contains("Sign in with corp"), "{page}");
    assert!(page.contains("href=\"/ui/oidc/corp/start\""), "{page}");

    let carol = signed_in(&stack, &p, "carol");
    let secret = mint_in_page(&carol, &stack, "download");
    // The developers' READ and DOWNLOAD reach her through the mapped group.
    assert_eq!(
        pull_actions_with(&stack, "carol", &secret, &repo),
        serde_json::json!(["pull"])
    );
    let trail = audit_kinds(&stack, "carol");
    for kind in ["user_added", "identity_linked", "federated_sign_in"] {
        assert!(trail.contains(kind), "{kind}: {trail}");
    }

    // The admins see where the account comes from.
    let root = browser();
    let form = root
        .get(stack.url("/ui/signin"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let csrf = hidden(&form, "csrf");
    let r = root
        .post(stack.url("/ui/signin"))
        .form(&[("user", "root"), ("password", PASSWORD), ("csrf", &csrf)])
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    let users = root
        .get(stack.url("/ui/admin/users"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let row = users
        .split("<tr>")
        .find(|r| r.contains(">carol<"))
        .expect("carol's row");
    assert!(row.contains(">corp<"), "{row}");
    let root_row = users
        .split("<tr>")
        .find(|r| r.contains(">root<"))
        .expect("root's row");
    assert!(root_row.contains(">local<"), "{root_row}");

    // Moved from eng to ops at the provider: the next sign-in leaves developers.
    p.set_groups("carol", &["ops"]);
    let _again = signed_in(&stack, &p, "carol");
    let actions = pull_actions_with(&stack, "carol", &secret, &repo);
    assert!(
        actions.as_array().is_none_or(|a| a.is_empty()),
        "developers' access is gone with the group: {actions}"
    );
    let teams = stack.ok(&["audit", "--limit", "200"]);
    assert!(teams.contains("team_member_removed"), "{teams}");
}

#[test]
fn an_existing_account_is_linked_by_a_verified_email_only() {
    let p = OidcProvider::start();
    p.add_user("alice-corp", "provider-password", "alice@example.org", &[]);
    p.add_user("bob-corp", "provider-password", "bob@example.org", &[]);
    p.set_email_unverified("bob-corp");
    let stack = stack_with(&p, false);
    stack.add_user("alice", &["--certified", "--email", "alice@example.org"]);
    stack.add_user("bob", &["--email", "bob@example.org"]);

    // Unverified: refused, audited under the account concerned, nothing linked.
    let c = browser();
    let r = sign_in(&c, &stack, &p, "bob-corp");
    assert_eq!(r.status(), 403);
    let page = r.text().unwrap();
    assert!(page.contains("verified"), "{page}");
    assert_eq!(c.get(stack.url("/ui/tokens")).send().unwrap().status(), 303);
    let trail = audit_kinds(&stack, "bob");
    assert!(trail.contains("federated_sign_in_refused"), "{trail}");
    assert!(trail.contains("email_unverified"), "{trail}");

    // Verified: linked to the existing account (no new one), audited.
    let alice = signed_in(&stack, &p, "alice-corp");
    let account = alice
        .get(stack.url("/ui/account"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(account.contains("alice"), "{account}");
    let trail = audit_kinds(&stack, "alice");
    assert!(trail.contains("identity_linked"), "{trail}");
    assert!(trail.contains("email"), "{trail}");
    let users = stack.ok(&["user", "list"]);
    assert!(!users.contains("alice-corp"), "{users}");

    // The linked account made password-less: the password no longer works, the
    // provider still does. An account without a linked provider keeps its password.
    let basic = |user: &str| {
        Client::new()
            .get(stack.url("/token"))
            .query(&[("service", SERVICE)])
            .basic_auth(user, Some(PASSWORD))
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(basic("alice"), 200);
    stack.ok(&["user", "remove-password", "alice"]);
    assert_eq!(basic("alice"), 401);
    let again = signed_in(&stack, &p, "alice-corp");
    assert_eq!(
        again.get(stack.url("/ui/tokens")).send().unwrap().status(),
        200
    );
    let refused = stack.cli(&["user", "remove-password", "bob"], None);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no linked identity provider"));
    assert_eq!(basic("bob"), 200);
    assert!(audit_kinds(&stack, "alice").contains("password=removed"));

    // Without create_users, a stranger is refused.
    p.add_user("eve", "provider-password", "eve@example.org", &[]);
    let r = sign_in(&browser(), &stack, &p, "eve");
    assert_eq!(r.status(), 403);
}

#[test]
fn a_wrong_state_or_a_replayed_code_is_refused() {
    let p = OidcProvider::start();
    p.add_user("carol", "provider-password", "carol@example.org", &[]);
    let stack = stack_with(&p, true);

    // The state of another sign-in.
    let c = browser();
    let back = to_callback(&c, &stack, &p, "carol");
    let forged = back.replacen("state=", "state=x", 1);
    let r = c.get(&forged).send().unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("does not belong"));
    // And the real answer after it: the started sign-in is spent.
    let r = c.get(&back).send().unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(c.get(stack.url("/ui/tokens")).send().unwrap().status(), 303);

    // A callback without the start's cookie (another browser).
    let c = browser();
    let back = to_callback(&c, &stack, &p, "carol");
    let r = browser().get(&back).send().unwrap();
    assert_eq!(r.status(), 400);

    // A code redeemed once is refused the second time, even with a fresh start.
    let c = browser();
    let back = to_callback(&c, &stack, &p, "carol");
    assert_eq!(c.get(&back).send().unwrap().status(), 200);
    let code = back
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("code="))
        .expect("code")
        .to_string();
    let other = browser();
    let fresh = to_callback(&other, &stack, &p, "carol");
    let replayed = fresh
        .split(['?', '&'])
        .map(|kv| {
            if kv.starts_with("code=") {
                format!("code={code}")
            } else {
                kv.to_string()
            }
        })
        .collect::<Vec<_>>();
    let replayed = format!("{}?{}", replayed[0], replayed[1..].join("&"));
    let r = other.get(&replayed).send().unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.text().unwrap().contains("refused"));
    assert_eq!(
        other.get(stack.url("/ui/tokens")).send().unwrap().status(),
        303
    );

    // An unknown provider.
    assert_eq!(
        browser()
            .get(stack.url("/ui/oidc/nobody/start"))
            .send()
            .unwrap()
            .status(),
        404
    );
}

#[test]
fn a_provider_that_is_down_leaves_password_sign_in_working() {
    let p = OidcProvider::start();
    p.fail(Failure::Down);
    let stack = stack_with(&p, true);
    let c = browser();
    let page = c.get(stack.url("/ui/signin")).send().unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().unwrap();
    assert!(page.contains("corp cannot be reached"), "{page}");
    assert!(!page.contains("/ui/oidc/corp/start"), "{page}");
    let csrf = hidden(&page, "csrf");
    let r = c
        .post(stack.url("/ui/signin"))
        .form(&[("user", "root"), ("password", PASSWORD), ("csrf", &csrf)])
        .send()
        .unwrap();
    assert_eq!(
        (r.status().as_u16(), location(&r)),
        (303, "/ui/tokens".into())
    );
    assert_eq!(c.get(stack.url("/ui/tokens")).send().unwrap().status(), 200);

    let r = browser()
        .get(stack.url("/ui/oidc/corp/start"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.text().unwrap().contains("corp cannot be reached"));
}

#[test]
fn one_address_cannot_start_sign_ins_without_end() {
    let p = OidcProvider::start();
    let stack = stack_with(&p, true);
    p.add_user("dora", "provider-password", "dora@example.org", &[]);
    let from = |address: &str| {
        Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .local_address(address.parse::<std::net::IpAddr>().unwrap())
            .build()
            .expect("client")
    };
    let (busy, other) = (from("127.0.0.1"), from("127.0.0.2"));
    let start = |c: &Client| c.get(stack.url("/ui/oidc/corp/start")).send().unwrap();
    for i in 0..60 {
        let r = start(&busy);
        assert_eq!(r.status(), 303, "start {i}");
        assert!(location(&r).starts_with(&p.issuer()), "start {i}");
    }
    let r = start(&busy);
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=10).contains(&wait),
        "one more after a sixtieth of ten minutes: {wait}"
    );
    assert!(r.text().unwrap().contains("too many sign-ins"));
    assert_eq!(
        start(&other).status(),
        303,
        "another address is not held up"
    );

    // A sign-in from another address still goes all the way after the flood.
    let r = sign_in(&other, &stack, &p, "dora");
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    assert_eq!(
        other.get(stack.url("/ui/tokens")).send().unwrap().status(),
        200
    );
}

#[test]
fn a_disabled_federated_user_cannot_sign_in_and_its_session_ends() {
    let p = OidcProvider::start();
    p.add_user("carol", "provider-password", "carol@example.org", &[]);
    let stack = stack_with(&p, true);
    let carol = signed_in(&stack, &p, "carol");
    stack.ok(&["user", "set", "carol", "--disabled", "true"]);
    let r = carol.get(stack.url("/ui/tokens")).send().unwrap();
    assert_eq!(r.status(), 303, "the session ended");
    let r = sign_in(&browser(), &stack, &p, "carol");
    assert_eq!(r.status(), 403);
    assert!(r.text().unwrap().contains("disabled"));
    assert!(audit_kinds(&stack, "carol").contains("federated_sign_in_refused"));
}

/// What the rogue provider's ID token gets wrong.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Nothing: the control, which must sign in.
    Good,
    /// `aud` and `azp` name another client.
    OtherClient,
    /// Our client among several audiences, without `azp`.
    SeveralAudiences,
    /// A nonce that is not the one sent.
    WrongNonce,
}

struct RogueState {
    base: String,
    jwks: String,
    nonce: std::sync::Mutex<Option<String>>,
    shape: std::sync::Mutex<Shape>,
    mint: Box<dyn Fn(&Value) -> String + Send + Sync>,
}

/// A provider that answers the code flow at once (no login) with an ID token shaped as
/// `Shape` says, signed with the contract provider's published key under its own
/// issuer: what a confused or hostile provider could send. Signature, issuer and times
/// are good, so only the audience, `azp` and nonce checks stand between it and a
/// session.
struct Rogue {
    state: actix_web::web::Data<RogueState>,
    handle: actix_web::dev::ServerHandle,
}

impl Rogue {
    fn start(p: std::sync::Arc<OidcProvider>) -> Rogue {
        use actix_web::{web, App, HttpResponse, HttpServer};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let jwks = p.jwks_url();
        let state = web::Data::new(RogueState {
            base,
            jwks,
            nonce: std::sync::Mutex::new(None),
            shape: std::sync::Mutex::new(Shape::Good),
            mint: Box::new(move |claims| p.mint(claims)),
        });
        async fn discovery(s: web::Data<RogueState>) -> HttpResponse {
            HttpResponse::Ok().json(serde_json::json!({
                "issuer": s.base,
                "jwks_uri": s.jwks,
                "authorization_endpoint": format!("{}/authorize", s.base),
                "token_endpoint": format!("{}/token", s.base),
            }))
        }
        async fn authorize(
            s: web::Data<RogueState>,
            q: web::Query<std::collections::HashMap<String, String>>,
        ) -> HttpResponse {
            *s.nonce.lock().unwrap() = q.get("nonce").cloned();
            let to = format!(
                "{}?code=rogue-code&state={}",
                q["redirect_uri"],
                q.get("state").cloned().unwrap_or_default()
            );
            HttpResponse::Found()
                .insert_header(("Location", to))
                .finish()
        }
        async fn token(s: web::Data<RogueState>) -> HttpResponse {
            let shape = *s.shape.lock().unwrap();
            let sent = s.nonce.lock().unwrap().clone().unwrap_or_default();
            let now = oidc_provider::now();
            let (aud, azp) = match shape {
                Shape::Good | Shape::WrongNonce => (serde_json::json!(CLIENT), Some(CLIENT)),
                Shape::OtherClient => (serde_json::json!("other-client"), Some("other-client")),
                Shape::SeveralAudiences => (serde_json::json!([CLIENT, "other-client"]), None),
            };
            let mut claims = serde_json::json!({
                "iss": s.base, "sub": "r-1", "aud": aud,
                "iat": now, "exp": now + 300,
                "nonce": if shape == Shape::WrongNonce { "not-the-nonce".to_string() } else { sent },
                "preferred_username": "rogue-user", "email": "rogue@example.org",
                "email_verified": true,
            });
            if let Some(azp) = azp {
                claims["azp"] = serde_json::json!(azp);
            }
            HttpResponse::Ok().json(serde_json::json!({
                "access_token": "unused", "token_type": "Bearer",
                "id_token": (s.mint)(&claims),
            }))
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let data = state.clone();
        std::thread::spawn(move || {
            let system = actix_web::rt::System::new();
            let _ = system.block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .route(
                            "/.well-known/openid-configuration",
                            web::get().to(discovery),
                        )
                        .route("/authorize", web::get().to(authorize))
                        .route("/token", web::post().to(token))
                })
                .workers(1)
                .disable_signals()
                .listen(listener)?
                .run();
                let _ = tx.send(server.handle());
                server.await
            });
        });
        let handle = rx.recv().expect("the rogue provider did not start");
        Rogue { state, handle }
    }

    fn shape(&self, shape: Shape) {
        *self.state.shape.lock().unwrap() = shape;
    }
}

impl Drop for Rogue {
    fn drop(&mut self) {
        futures_executor::block_on(self.handle.stop(false));
    }
}

#[test]
fn an_id_token_for_another_client_or_with_another_nonce_is_refused() {
    let p = std::sync::Arc::new(OidcProvider::start());
    let rogue = Rogue::start(p.clone());
    let stack = Stack::regauth_with(&format!(
        r#"
[[oidc.providers]]
name = "rogue"
issuer = "{}"
client_id = "{CLIENT}"
client_secret = "{SECRET}"
create_users = true
"#,
        rogue.state.base
    ));
    let attempt = |shape: Shape| {
        rogue.shape(shape);
        let c = browser();
        let r = c.get(stack.url("/ui/oidc/rogue/start")).send().unwrap();
        assert_eq!(r.status(), 303, "start: {}", r.text().unwrap());
        let r = c.get(location(&r)).send().unwrap();
        assert_eq!(r.status(), 302);
        let back = location(&r);
        assert!(
            back.starts_with(&stack.url("/ui/oidc/rogue/callback?")),
            "{back}"
        );
        let r = c.get(&back).send().unwrap();
        let status = r.status().as_u16();
        let page = r.text().unwrap();
        let session = c
            .get(stack.url("/ui/tokens"))
            .send()
            .unwrap()
            .status()
            .as_u16();
        (status, page, session)
    };
    for (shape, why) in [
        (Shape::OtherClient, "for another client"),
        (Shape::SeveralAudiences, "several audiences"),
        (Shape::WrongNonce, "nonce"),
    ] {
        let (status, page, session) = attempt(shape);
        assert_eq!(status, 401, "{why}: {page}");
        assert!(page.contains(why), "{why}: {page}");
        assert_eq!(session, 303, "{why}: no session");
    }
    assert!(!stack.ok(&["user", "list"]).contains("rogue-user"));
    // The control: the same provider, its token right, signs in.
    let (status, page, session) = attempt(Shape::Good);
    assert_eq!((status, session), (200, 200), "{page}");
}
