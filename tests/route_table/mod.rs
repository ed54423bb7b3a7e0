//! What the authority tests share: the callers, their credentials, the answer each
//! route's declared needs promise them, and the requests that exercise each route.
//!
//! `sample` knows one request per route of `routes::table()`; a route it does not know
//! fails the test, so a new route cannot go unchecked.

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};

use regauth::domain::authz::needs::{Needs, OnEntity, Protocol, Who};
use regauth::domain::model::ScopeSet;
use regauth::infra::routes::Route;
use reqwest::blocking::{Client, RequestBuilder};
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{docker_login, Stack, PASSWORD, SERVICE};

/// Failed logins are part of the table (revoked tokens, a disabled user): limits high
/// enough that no answer turns into a 429.
pub const LIMITS: &str = "
[auth]
failed_logins_per_user_and_address = 100000
failed_logins_per_address = 100000

[[oidc.issuers]]
name = \"github\"
preset = \"github-actions\"
";

/// Who calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Anonymous,
    /// root, an admin, with its password (every scope).
    Admin,
    /// root's access token with exactly one scope.
    AdminToken(&'static str),
    /// alice, not an admin, owner of the fixtures, with her password.
    User,
    /// bob, not an admin, with no access to any fixture.
    Stranger,
    /// A token of root's that was revoked.
    Revoked,
    /// dave, disabled, with his (right) password.
    Disabled,
}

pub const API_CALLERS: [Kind; 10] = [
    Kind::Anonymous,
    Kind::Admin,
    Kind::AdminToken("view"),
    Kind::AdminToken("download"),
    Kind::AdminToken("modify"),
    Kind::AdminToken("authorize"),
    Kind::User,
    Kind::Stranger,
    Kind::Revoked,
    Kind::Disabled,
];

impl Kind {
    pub fn user(self) -> Option<&'static str> {
        match self {
            Kind::Admin | Kind::AdminToken(_) | Kind::Revoked => Some("root"),
            Kind::User => Some("alice"),
            Kind::Stranger => Some("bob"),
            Kind::Disabled => Some("dave"),
            Kind::Anonymous => None,
        }
    }

    fn is_admin(self) -> bool {
        matches!(self, Kind::Admin | Kind::AdminToken(_) | Kind::Revoked)
    }

    fn scopes(self) -> ScopeSet {
        match self {
            Kind::AdminToken(s) => ScopeSet::parse_list(s).expect("scope"),
            Kind::Anonymous => ScopeSet::ANONYMOUS,
            _ => ScopeSet::PASSWORD,
        }
    }

    /// Whom the fixtures grant what the route's entity check asks: everyone but the
    /// stranger (admins pass entity checks anyway).
    fn entitled(self) -> bool {
        self != Kind::Stranger
    }
}

/// The answer a route must give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// 2xx (or, for a web form, a 303 that is not to the sign-in page).
    Success,
    Status(u16),
    /// A web page's redirect to the sign-in page (no session).
    SignInPage,
}

/// What the declaration promises `kind` on an API route (the gate's order: credential,
/// sign-in, role, scopes, then the entity).
pub fn want_api(needs: &Needs, kind: Kind, operation: &str) -> Want {
    match needs.who {
        Who::Public => return Want::Success,
        Who::Protocol(Protocol::RegistryToken) => {
            return match kind {
                Kind::Revoked | Kind::Disabled => Want::Status(401),
                _ => Want::Success,
            }
        }
        // Basic credentials are not the webhook's secret.
        Who::Protocol(Protocol::WebhookSecret) => return Want::Status(401),
        _ => {}
    }
    if matches!(kind, Kind::Revoked | Kind::Disabled) {
        return Want::Status(401);
    }
    if kind == Kind::Anonymous {
        return match (needs.who, needs.entity) {
            (Who::Anyone, OnEntity::Nothing) => Want::Success,
            // The fixtures are not public: hidden.
            (Who::Anyone, _) => Want::Status(404),
            _ => Want::Status(401),
        };
    }
    want_signed_in(needs, kind, operation)
}

/// What the declaration promises a signed-in caller (API or web session).
pub fn want_signed_in(needs: &Needs, kind: Kind, operation: &str) -> Want {
    if needs.who == Who::Admin && !kind.is_admin() {
        return Want::Status(403);
    }
    if !kind.scopes().contains(needs.scopes) {
        return Want::Status(403);
    }
    if needs.entity != OnEntity::Nothing && !kind.entitled() {
        return Want::Status(404);
    }
    // The rule "sees it and lacks DOWNLOAD": an admin already has every access.
    if operation == "FileAccessRequest" && kind.is_admin() {
        return Want::Status(400);
    }
    Want::Success
}

/// The fixtures every read uses, and the credentials of each caller.
pub struct World {
    pub stack: Stack,
    pub client: Client,
    /// alice's project with repository `tool` (tag `v1`).
    pub project: String,
    tokens: Vec<(&'static str, String)>,
    revoked: String,
    counter: AtomicUsize,
}

impl World {
    pub fn new() -> World {
        let stack = Stack::regauth_with(LIMITS);
        for (name, flags) in [
            ("alice", &["--certified"][..]),
            ("bob", &[]),
            ("carol", &[]),
            ("dave", &[]),
        ] {
            stack.add_user(name, flags);
        }
        stack.ok(&["user", "set", "dave", "--disabled", "true"]);
        let project = stack.add_project("fixtures", "alice");
        stack.record_push(&format!("{project}/tool"), "v1", "alice");
        let tokens = ["view", "download", "modify", "authorize"]
            .into_iter()
            .map(|s| (s, stack.token("root", s)))
            .collect();
        let mut world = World {
            stack,
            client: Client::new(),
            project,
            tokens,
            revoked: String::new(),
            counter: AtomicUsize::new(0),
        };
        let (id, secret) = world.mint("root");
        let r = world.api(
            Method::DELETE,
            &format!("/api/v1/me/tokens/{id}"),
            Some("root"),
            None,
        );
        assert_eq!(r.status(), 204);
        world.revoked = secret;
        world
    }

    /// A fresh number for unique names.
    pub fn n(&self) -> usize {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    /// `request` with `kind`'s credential.
    pub fn as_kind(&self, request: RequestBuilder, kind: Kind) -> RequestBuilder {
        match kind {
            Kind::Anonymous => request,
            Kind::Admin => request.basic_auth("root", Some(PASSWORD)),
            Kind::User => request.basic_auth("alice", Some(PASSWORD)),
            Kind::Stranger => request.basic_auth("bob", Some(PASSWORD)),
            Kind::Disabled => request.basic_auth("dave", Some(PASSWORD)),
            Kind::Revoked => request.basic_auth("root", Some(&self.revoked)),
            Kind::AdminToken(scope) => {
                let secret = &self
                    .tokens
                    .iter()
                    .find(|(s, _)| *s == scope)
                    .expect("token")
                    .1;
                request.basic_auth("root", Some(secret))
            }
        }
    }

    /// An API call as `user` (its password), JSON declared for every change.
    pub fn api(
        &self,
        method: Method,
        path: &str,
        user: Option<&str>,
        body: Option<Value>,
    ) -> reqwest::blocking::Response {
        let mut r = self.client.request(method.clone(), self.stack.url(path));
        if let Some(u) = user {
            r = r.basic_auth(u, Some(PASSWORD));
        }
        if method != Method::GET {
            r = r.header("content-type", "application/json");
        }
        if let Some(b) = body {
            r = r.body(b.to_string());
        }
        r.send().expect("api call")
    }

    fn created(&self, method: Method, path: &str, user: &str, body: Value) -> Value {
        let r = self.api(method, path, Some(user), Some(body));
        assert!(r.status().is_success(), "fixture {path}: {}", r.status());
        r.json().expect("json")
    }

    /// A new access token of `user` (minted with its password): (id, secret).
    pub fn mint(&self, user: &str) -> (i64, String) {
        let body = json!({"name": format!("fixture-{}", self.n()), "scopes": ["view"]});
        let v = self.created(Method::POST, "/api/v1/me/tokens", user, body);
        (
            v["id"].as_i64().expect("id"),
            v["token"].as_str().expect("token").to_string(),
        )
    }

    /// A new project owned by `owner`.
    pub fn project_of(&self, owner: &str) -> String {
        let body = json!({"name": format!("p{}", self.n())});
        let v = self.created(Method::POST, "/api/v1/projects", owner, body);
        v["id"].as_str().expect("id").to_string()
    }

    /// A new project of carol's that `reader` may READ (but not download).
    pub fn readable_by(&self, reader: Option<&str>) -> String {
        let p = self.project_of("carol");
        if let Some(r) = reader {
            let entries = json!({"entries": [
                {"principal": "carol", "access": ["READ", "DOWNLOAD", "CHANGE_PERMISSIONS"]},
                {"principal": r, "access": ["READ"]}]});
            let path = format!("/api/v1/entities/{p}/acl");
            let answer = self.api(Method::PUT, &path, Some("carol"), Some(entries));
            assert_eq!(answer.status(), 204);
        }
        p
    }

    /// An open access request by carol on a new project of alice's: (project, id).
    pub fn open_request(&self) -> (String, i64) {
        let p = self.project_of("alice");
        let entries = json!({"entries": [
            {"principal": "alice", "access": ["READ", "DOWNLOAD", "UPDATE", "CREATE", "DELETE", "CHANGE_PERMISSIONS"]},
            {"principal": "carol", "access": ["READ"]}]});
        let answer = self.api(
            Method::PUT,
            &format!("/api/v1/entities/{p}/acl"),
            Some("alice"),
            Some(entries),
        );
        assert_eq!(answer.status(), 204);
        let path = format!("/api/v1/entities/{p}/access-requests");
        let v = self.created(Method::POST, &path, "carol", json!({"message": "please"}));
        (p, v["id"].as_i64().expect("id"))
    }

    /// A `docker login` of `user`: the id of its refresh token.
    pub fn login_of(&self, user: &str) -> i64 {
        docker_login(&self.stack, user, PASSWORD);
        let r = self.api(Method::GET, "/api/v1/me/logins", Some(user), None);
        let v: Value = r.json().expect("json");
        v["logins"]
            .as_array()
            .and_then(|l| l.iter().filter_map(|x| x["id"].as_i64()).max())
            .expect("a login")
    }
}

/// One request: a path with its parameters filled, and a body.
pub struct Sample {
    pub path: String,
    pub body: Body,
}

pub enum Body {
    None,
    Json(Value),
    /// An OAuth2 form (the token endpoint).
    Form(Vec<(String, String)>),
    /// A web form (the CSRF token is added by the caller).
    Page(Vec<(String, String)>),
}

fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A trust policy any project's manager may add (GitHub Actions, ids pinned).
fn trust_policy() -> Value {
    json!({
        "issuer": "github",
        "audience": "regauth",
        "preset": {"kind": "github-actions", "repository": "org/tool", "repository_id": 1, "repository_owner_id": 2},
        "repositories": "tool",
        "actions": ["pull", "push"],
    })
}

fn at(path: String, body: Body) -> Sample {
    Sample { path, body }
}

/// The request that exercises `route` for `kind`, with fresh fixtures where the route
/// changes something. Panics on a route it does not know.
pub fn sample(w: &World, route: &Route, kind: Kind) -> Sample {
    let p = &w.project;
    let repo = format!("{p}/tool");
    let user = kind.user().filter(|_| kind != Kind::Disabled);
    // The caller's own things (or anything: the gate refuses first).
    let own = user.filter(|_| kind != Kind::Revoked);
    let n = w.n();
    let key = format!("{} {}", route.method, route.path);
    use Body::{Json, None as Empty, Page};
    match key.as_str() {
        "GET /token" => at(format!("/token?service={SERVICE}"), Empty),
        "POST /token" => at(
            "/token".into(),
            Body::Form(form(&[
                ("grant_type", "password"),
                ("service", SERVICE),
                ("username", "root"),
                ("password", PASSWORD),
                ("client_id", "authority-test"),
            ])),
        ),
        "POST /notifications" => at("/notifications".into(), Json(json!({"events": []}))),
        "GET /healthz"
        | "GET /readyz"
        | "GET /metrics"
        | "GET /.well-known/jwks.json"
        | "GET /api/v1/openapi.json" => {
            at(route.path.into(), Empty)
        }
        "GET /api/v1/projects" => at(route.path.into(), Empty),
        "POST /api/v1/projects" => at(route.path.into(), Json(json!({"name": format!("n{n}")}))),
        "GET /api/v1/projects/{id}/repositories" => {
            at(format!("/api/v1/projects/{p}/repositories"), Empty)
        }
        "GET /api/v1/repository" => at(format!("/api/v1/repository?path={repo}"), Empty),
        "GET /api/v1/repository/tags" => {
            at(format!("/api/v1/repository/tags?path={repo}"), Empty)
        }
        "GET /api/v1/repository/history" => at(
            format!("/api/v1/repository/history?path={repo}&tag=v1"),
            Empty,
        ),
        "POST /api/v1/projects/{id}/external-repositories" => at(
            format!("/api/v1/projects/{p}/external-repositories"),
            Json(json!({"name": format!("quay.io/org/x{n}")})),
        ),
        "DELETE /api/v1/external-repositories/{id}" => {
            let body = json!({"name": format!("quay.io/org/d{n}")});
            let path = format!("/api/v1/projects/{p}/external-repositories");
            let v = w.created(Method::POST, &path, "alice", body);
            let id = v["id"].as_str().expect("id");
            at(format!("/api/v1/external-repositories/{id}"), Empty)
        }
        "GET /api/v1/projects/{id}/trust-policies" => {
            at(format!("/api/v1/projects/{p}/trust-policies"), Empty)
        }
        "POST /api/v1/projects/{id}/trust-policies" => at(
            format!("/api/v1/projects/{}/trust-policies", w.project_of("alice")),
            Json(trust_policy()),
        ),
        "DELETE /api/v1/projects/{id}/trust-policies/{policy}" => {
            let f = w.project_of("alice");
            let path = format!("/api/v1/projects/{f}/trust-policies");
            let v = w.created(Method::POST, &path, "alice", trust_policy());
            let id = v["id"].as_i64().expect("id");
            at(format!("{path}/{id}"), Empty)
        }
        "GET /api/v1/entities/{id}/acl" => at(format!("/api/v1/entities/{p}/acl"), Empty),
        "PUT /api/v1/entities/{id}/acl" => {
            let f = w.project_of("alice");
            let entries = json!({"entries": [{"principal": "alice", "access": ["READ", "CHANGE_PERMISSIONS"]}]});
            at(format!("/api/v1/entities/{f}/acl"), Json(entries))
        }
        "DELETE /api/v1/entities/{id}/acl" => {
            let f = w.project_of("alice");
            w.stack.record_push(&format!("{f}/tool"), "v1", "alice");
            at(format!("/api/v1/entities/{f}%2Ftool/acl"), Empty)
        }
        "POST /api/v1/entities/{id}/trash" => {
            at(format!("/api/v1/entities/{}/trash", w.project_of("alice")), Empty)
        }
        "POST /api/v1/entities/{id}/restore" => {
            let f = w.project_of("alice");
            w.stack.ok(&["trash", &f]);
            at(format!("/api/v1/entities/{f}/restore"), Empty)
        }
        "POST /api/v1/entities/{id}/access-requests" => {
            let f = w.readable_by(user.filter(|_| kind.entitled()));
            at(
                format!("/api/v1/entities/{f}/access-requests"),
                Json(json!({"message": "please"})),
            )
        }
        "GET /api/v1/entities/{id}/access-requests" => {
            let (f, _) = w.open_request();
            at(format!("/api/v1/entities/{f}/access-requests"), Empty)
        }
        "GET /api/v1/me/access-requests" => at(route.path.into(), Empty),
        "POST /api/v1/access-requests/{id}/approve" => {
            let (_, id) = w.open_request();
            at(format!("/api/v1/access-requests/{id}/approve"), Empty)
        }
        "POST /api/v1/access-requests/{id}/deny" => {
            let (_, id) = w.open_request();
            at(
                format!("/api/v1/access-requests/{id}/deny"),
                Json(json!({"reason": "no"})),
            )
        }
        "GET /api/v1/me" | "GET /api/v1/me/tokens" | "GET /api/v1/me/logins" => {
            at(route.path.into(), Empty)
        }
        "PUT /api/v1/me/password" => at(
            route.path.into(),
            Json(json!({"current_password": PASSWORD, "new_password": PASSWORD})),
        ),
        "POST /api/v1/me/tokens" => at(
            route.path.into(),
            Json(json!({"name": format!("t{n}"), "scopes": ["authorize"], "expires_in": "1d"})),
        ),
        "DELETE /api/v1/me/tokens/{id}" => {
            let id = own.map_or(1, |u| w.mint(u).0);
            at(format!("/api/v1/me/tokens/{id}"), Empty)
        }
        "DELETE /api/v1/me/logins/{id}" => {
            let id = own.map_or(1, |u| w.login_of(u));
            at(format!("/api/v1/me/logins/{id}"), Empty)
        }
        "GET /api/v1/me/explain" => at(
            format!("/api/v1/me/explain?scope=repository:{repo}:pull"),
            Empty,
        ),
        "GET /api/v1/users" => at(route.path.into(), Empty),
        "POST /api/v1/users" => at(
            route.path.into(),
            Json(json!({"name": format!("u{n}"), "password": "a long enough password"})),
        ),
        "PATCH /api/v1/users/{name}" => {
            w.stack.ok(&["user", "add", &format!("v{n}"), "--no-password"]);
            at(format!("/api/v1/users/v{n}"), Json(json!({"certified": true})))
        }
        "POST /api/v1/teams" => at(route.path.into(), Json(json!({"name": format!("t{n}")}))),
        "PUT /api/v1/teams/{team}/members/{user}" => {
            w.stack.ok(&["team", "add", &format!("t{n}")]);
            at(format!("/api/v1/teams/t{n}/members/alice"), Empty)
        }
        "DELETE /api/v1/teams/{team}/members/{user}" => {
            w.stack.ok(&["team", "add", &format!("t{n}")]);
            w.stack
                .ok(&["team", "member", "add", &format!("t{n}"), "alice"]);
            at(format!("/api/v1/teams/t{n}/members/alice"), Empty)
        }
        // The web pages.
        "GET /ui" | "GET /ui/" | "GET /ui/signin" => at(route.path.into(), Empty),
        "POST /ui/signin" => at(
            route.path.into(),
            Page(form(&[("user", "root"), ("password", PASSWORD)])),
        ),
        "POST /ui/signout" => at(route.path.into(), Page(vec![])),
        // No identity provider is configured here: both answer "no such provider".
        "GET /ui/oidc/{provider}/start" => at("/ui/oidc/corp/start".into(), Empty),
        "GET /ui/oidc/{provider}/callback" => {
            at("/ui/oidc/corp/callback?code=c&state=s".into(), Empty)
        }
        "GET /ui/tokens" | "GET /ui/logins" | "GET /ui/projects" | "GET /ui/account"
        | "GET /ui/admin/users" | "GET /ui/requests" => at(route.path.into(), Empty),
        "POST /ui/tokens" => at(
            route.path.into(),
            Page(form(&[
                ("name", &format!("w{n}")),
                ("scopes", "authorize"),
                ("expires_in", "7d"),
            ])),
        ),
        "POST /ui/tokens/{id}/revoke" => {
            let id = own.map_or(1, |u| w.mint(u).0);
            at(format!("/ui/tokens/{id}/revoke"), Page(vec![]))
        }
        "POST /ui/logins/{id}/revoke" => {
            let id = own.map_or(1, |u| w.login_of(u));
            at(format!("/ui/logins/{id}/revoke"), Page(vec![]))
        }
        "POST /ui/projects" => at(route.path.into(), Page(form(&[("name", &format!("w{n}"))]))),
        "GET /ui/projects/{id}" => at(format!("/ui/projects/{p}"), Empty),
        "GET /ui/repository" => at(format!("/ui/repository?path={repo}"), Empty),
        "GET /ui/repository/history" => {
            at(format!("/ui/repository/history?path={repo}&tag=v1"), Empty)
        }
        "GET /ui/trust-policies" => at(format!("/ui/trust-policies?project={p}"), Empty),
        "POST /ui/trust-policies" => {
            let f = w.project_of("alice");
            at(
                route.path.into(),
                Page(form(&[
                    ("project", &f),
                    ("issuer", "github"),
                    ("audience", "regauth"),
                    ("conditions", "repository_id=1\nref~refs/heads/*"),
                    ("repositories", "tool"),
                    ("actions", "pull"),
                    ("max_lifetime", "15m"),
                ])),
            )
        }
        "POST /ui/trust-policies/{id}/remove" => {
            let f = w.project_of("alice");
            let path = format!("/api/v1/projects/{f}/trust-policies");
            let v = w.created(Method::POST, &path, "alice", trust_policy());
            let id = v["id"].as_i64().expect("id");
            at(
                format!("/ui/trust-policies/{id}/remove"),
                Page(form(&[("project", &f)])),
            )
        }
        "GET /ui/sharing" => at(format!("/ui/sharing?entity={p}"), Empty),
        "POST /ui/sharing" => {
            let f = w.project_of("alice");
            at(
                route.path.into(),
                Page(form(&[
                    ("entity", &f),
                    ("rows", "1"),
                    ("principal_0", "alice"),
                    ("access_0", "READ"),
                    ("access_0", "CHANGE_PERMISSIONS"),
                ])),
            )
        }
        "POST /ui/account/password" => at(
            route.path.into(),
            Page(form(&[
                ("current_password", PASSWORD),
                ("new_password", PASSWORD),
                ("confirm_password", PASSWORD),
            ])),
        ),
        "GET /ui/access" => at(format!("/ui/access?entity={p}"), Empty),
        "POST /ui/access" => {
            let f = w.readable_by(user.filter(|_| kind.entitled()));
            at(
                route.path.into(),
                Page(form(&[("entity", &f), ("message", "please")])),
            )
        }
        "POST /ui/access/{id}/approve" | "POST /ui/access/{id}/deny" => {
            let (f, id) = w.open_request();
            let verb = route.path.rsplit('/').next().expect("verb");
            at(
                format!("/ui/access/{id}/{verb}"),
                Page(form(&[("entity", &f), ("reason", "no")])),
            )
        }
        other => panic!(
            "tests/authority has no sample request for {other}: add one (every route is run by every caller)"
        ),
    }
}
