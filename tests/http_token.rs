//! The token endpoint over real HTTP against the real binary: GET and OAuth2 POST
//! flows, refresh tokens, claims and headers, and bad input on each path.

mod common;

use common::*;
use reqwest::blocking::{Client, Response};
use serde_json::{json, Value};

fn client() -> Client {
    Client::new()
}

fn get(stack: &Stack, query: &[(&str, &str)], auth: Option<(&str, &str)>) -> Response {
    let mut req = client().get(stack.url("/token")).query(query);
    if let Some((u, p)) = auth {
        req = req.basic_auth(u, Some(p));
    }
    req.send().expect("GET /token")
}

fn post(stack: &Stack, form: &[(&str, &str)]) -> Response {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    client()
        .post(stack.url("/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .expect("POST /token")
}

fn assert_unauthorized(r: Response) {
    assert_eq!(r.status(), 401);
    assert!(
        r.headers().get("www-authenticate").is_some(),
        "401 without a challenge"
    );
    let body: Value = r.json().expect("errcode json");
    assert_eq!(body["errors"][0]["code"], "UNAUTHORIZED");
    assert_eq!(body["errors"][0]["message"], "invalid username or password");
}

fn setup() -> (Stack, String) {
    let stack = Stack::regauth_only();
    stack.add_user("alice", &["--certified"]);
    let p = stack.add_project("alpha", "alice");
    (stack, p)
}

#[test]
fn login_without_scope_gives_an_empty_access_list_and_spec_fields() {
    let (stack, _) = setup();
    let r = get(
        &stack,
        &[("service", SERVICE), ("account", "alice")],
        Some(("alice", PASSWORD)),
    );
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let body: Value = r.json().expect("json");
    assert_eq!(body["token"], body["access_token"]);
    assert_eq!(body["expires_in"], 300);
    let issued = body["issued_at"].as_str().expect("issued_at");
    time::OffsetDateTime::parse(issued, &time::format_description::well_known::Rfc3339)
        .expect("issued_at is RFC 3339");
    assert!(
        body.get("refresh_token").is_none(),
        "refresh token without offline_token"
    );

    let (header, claims) = jwt(body["token"].as_str().expect("token"));
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
    let kid = header["kid"].as_str().expect("kid");
    assert_eq!(kid.len(), 59, "libtrust kid is 12 groups of 4: {kid}");
    assert_eq!(kid.split(':').count(), 12);
    assert!(
        header["x5c"][0].as_str().is_some_and(|c| !c.is_empty()),
        "x5c"
    );
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["aud"], SERVICE, "aud must be a plain string");
    assert_eq!(claims["access"], json!([]));
    let (iat, nbf, exp) = (
        claims["iat"].as_i64().expect("iat"),
        claims["nbf"].as_i64().expect("nbf"),
        claims["exp"].as_i64().expect("exp"),
    );
    assert_eq!(exp - iat, 300);
    assert!(nbf < iat, "nbf leaves room for clock skew");
    assert_eq!(
        claims["jti"].as_str().map(str::len),
        Some(32),
        "128-bit jti"
    );
}

#[test]
fn every_requested_scope_is_listed_and_denied_ones_are_empty() {
    let (stack, p) = setup();
    let repo = format!("{p}/tool");
    let r = get(
        &stack,
        &[
            ("service", SERVICE),
            ("scope", &format!("repository:{repo}:push,pull")),
            ("scope", "repository:syn999999/nope:pull"),
            ("scope", "registry:catalog:*"),
            ("scope", "frobnicate:x:y"),
            ("scope", "garbage-without-colons"),
            ("scope", &format!("repository:{repo}:PULL,mount,delete")),
        ],
        Some(("alice", PASSWORD)),
    );
    assert_eq!(
        r.status(),
        200,
        "unknown types/actions must not fail the request"
    );
    let body: Value = r.json().expect("json");
    let (_, claims) = jwt(body["token"].as_str().expect("token"));
    assert_eq!(
        claims["access"],
        json!([
            {"type": "repository", "name": repo, "actions": ["pull", "push"]},
            {"type": "repository", "name": "syn999999/nope", "actions": []},
            {"type": "registry", "name": "catalog", "actions": []},
            {"type": "frobnicate", "name": "x", "actions": []},
            {"type": "repository", "name": repo, "actions": []},
        ])
    );
    let log = stack.regauth_log();
    assert!(log.contains("token issued"), "no log line per request");
    assert!(
        log.contains("project_missing") || log.contains("repository_unknown"),
        "denial reasons not logged:\n{log}"
    );
    assert!(!log.contains(PASSWORD), "password in the log");
}

#[test]
fn admin_gets_the_catalog() {
    let (stack, _) = setup();
    let r = get(
        &stack,
        &[("service", SERVICE), ("scope", "registry:catalog:*")],
        Some(("root", PASSWORD)),
    );
    let body: Value = r.json().expect("json");
    let (_, claims) = jwt(body["token"].as_str().expect("token"));
    assert_eq!(claims["access"][0]["actions"], json!(["*"]));
}

#[test]
fn bad_credentials_are_401_with_one_message_and_never_anonymous() {
    let (stack, p) = setup();
    let scope = format!("repository:{p}/tool:pull");
    let q = [("service", SERVICE), ("scope", scope.as_str())];
    assert_unauthorized(get(&stack, &q, Some(("alice", "wrong password"))));
    assert_unauthorized(get(&stack, &q, Some(("nobody", "wrong password"))));
    assert_unauthorized(get(
        &stack,
        &q,
        Some(("anything", "rga_not-a-real-token-but-shaped-like-one")),
    ));
    // Disabled user: same answer.
    stack.ok(&["user", "set", "alice", "--disabled", "true"]);
    assert_unauthorized(get(&stack, &q, Some(("alice", PASSWORD))));

    for header in [
        "Bearer abc",
        "Basic !!!notbase64",
        "Basic bm9jb2xvbg==", // "nocolon"
        "Basic Og==",         // ":"
        "Basic",
        "Digest username=x",
    ] {
        let r = client()
            .get(stack.url("/token"))
            .query(&q)
            .header("authorization", header)
            .send()
            .expect("GET");
        assert_unauthorized(r);
    }
}

#[test]
fn service_must_be_configured() {
    let (stack, _) = setup();
    for q in [&[("service", "evil.example")][..], &[][..]] {
        let r = get(&stack, q, Some(("alice", PASSWORD)));
        assert_eq!(r.status(), 400);
        let body: Value = r.json().expect("errcode json");
        assert!(body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("service")));
    }
}

#[test]
fn access_token_login_ignores_the_user_name_and_keeps_its_scopes() {
    let (stack, p) = setup();
    let token = stack.token("alice", "view");
    let r = get(
        &stack,
        &[
            ("service", SERVICE),
            ("scope", &format!("repository:{p}/tool:push,pull")),
        ],
        Some(("whatever", &token)),
    );
    assert_eq!(r.status(), 200);
    let body: Value = r.json().expect("json");
    let (_, claims) = jwt(body["token"].as_str().expect("token"));
    assert_eq!(claims["sub"], "alice");
    assert_eq!(
        claims["access"][0]["actions"],
        json!([]),
        "view-only token got actions"
    );

    // Expired tokens are bad credentials.
    let short = stack.ok(&[
        "token",
        "create",
        "alice",
        "--scopes",
        "download",
        "--expires-in",
        "1s",
    ]);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_unauthorized(get(&stack, &[("service", SERVICE)], Some(("x", &short))));
}

#[test]
fn docker_login_refresh_flow() {
    let (stack, p) = setup();
    // docker login: GET with offline_token and client_id.
    let r = get(
        &stack,
        &[
            ("service", SERVICE),
            ("account", "alice"),
            ("client_id", "docker"),
            ("offline_token", "true"),
        ],
        Some(("alice", PASSWORD)),
    );
    assert_eq!(r.status(), 200);
    let body: Value = r.json().expect("json");
    let refresh = body["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_string();

    // Later pulls: POST grant_type=refresh_token with space-separated scopes.
    let scopes = format!("repository:{p}/a:pull repository:{p}/b:pull,push");
    let r = post(
        &stack,
        &[
            ("grant_type", "refresh_token"),
            ("service", SERVICE),
            ("client_id", "docker"),
            ("refresh_token", &refresh),
            ("scope", &scopes),
        ],
    );
    assert_eq!(r.status(), 200);
    let body: Value = r.json().expect("json");
    assert_eq!(
        body["refresh_token"],
        refresh.as_str(),
        "the same refresh token comes back"
    );
    let (_, claims) = jwt(body["access_token"].as_str().expect("access_token"));
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["access"].as_array().map(Vec::len), Some(2));
    assert_eq!(claims["access"][1]["actions"], json!(["pull", "push"]));

    // Bound to service and client.
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("service", "other.service"),
        ("client_id", "docker"),
        ("refresh_token", refresh.as_str()),
    ];
    assert_unauthorized(post(&stack, &form));
    form[1].1 = SERVICE;
    form[2].1 = "someone-else";
    assert_unauthorized(post(&stack, &form));
    form[2].1 = "docker";
    assert_eq!(post(&stack, &form).status(), 200);

    // Revoked with the user's refresh tokens, and dead once the user is disabled.
    stack.ok(&["token", "revoke-refresh", "alice"]);
    assert_unauthorized(post(&stack, &form));
    let r = get(
        &stack,
        &[
            ("service", SERVICE),
            ("client_id", "docker"),
            ("offline_token", "true"),
        ],
        Some(("alice", PASSWORD)),
    );
    let fresh = r.json::<Value>().expect("json")["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    form[3].1 = fresh.as_str();
    assert_eq!(post(&stack, &form).status(), 200);
    stack.ok(&["user", "set", "alice", "--disabled", "true"]);
    assert_unauthorized(post(&stack, &form));
}

#[test]
fn oauth_password_grant_with_repeated_scopes() {
    let (stack, p) = setup();
    let a = format!("repository:{p}/a:pull");
    let b = format!("repository:{p}/b:push");
    let r = post(
        &stack,
        &[
            ("grant_type", "password"),
            ("service", SERVICE),
            ("client_id", "containerd-client"),
            ("access_type", "offline"),
            ("username", "alice"),
            ("password", PASSWORD),
            ("scope", &a),
            ("scope", &b),
        ],
    );
    assert_eq!(r.status(), 200);
    let body: Value = r.json().expect("json");
    assert!(
        body["refresh_token"].as_str().is_some(),
        "access_type=offline gives a refresh token"
    );
    assert!(body["expires_in"].as_u64().is_some());
    let (_, claims) = jwt(body["access_token"].as_str().expect("token"));
    assert_eq!(claims["access"].as_array().map(Vec::len), Some(2));
    // alice owns the project: a new repository may be created (push and pull).
    assert_eq!(claims["access"][1]["actions"], json!(["push"]));

    assert_unauthorized(post(
        &stack,
        &[
            ("grant_type", "password"),
            ("service", SERVICE),
            ("client_id", "c"),
            ("username", "alice"),
            ("password", "nope"),
        ],
    ));
}

#[test]
fn oauth_bad_input_is_a_clear_400() {
    let (stack, _) = setup();
    for (form, needle) in [
        (
            vec![
                ("grant_type", "password"),
                ("service", SERVICE),
                ("username", "a"),
                ("password", "b"),
            ],
            "client_id",
        ),
        (
            vec![
                ("grant_type", "implicit"),
                ("service", SERVICE),
                ("client_id", "c"),
            ],
            "grant_type",
        ),
        (vec![("service", SERVICE), ("client_id", "c")], "grant_type"),
        (
            vec![
                ("grant_type", "password"),
                ("service", SERVICE),
                ("client_id", "c"),
            ],
            "username",
        ),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("service", SERVICE),
                ("client_id", "c"),
            ],
            "refresh_token",
        ),
        (
            vec![
                ("grant_type", "password"),
                ("service", "nope"),
                ("client_id", "c"),
            ],
            "service",
        ),
    ] {
        let r = post(&stack, &form);
        assert_eq!(r.status(), 400, "{form:?}");
        let body: Value = r.json().expect("errcode json");
        let msg = body["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(msg.contains(needle), "{form:?}: {msg}");
    }
    let r = client()
        .post(stack.url("/token"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .expect("POST");
    assert_eq!(r.status(), 400);
}

#[test]
fn health_endpoints() {
    let stack = Stack::regauth_only();
    assert_eq!(
        client()
            .get(stack.url("/healthz"))
            .send()
            .expect("healthz")
            .status(),
        200
    );
    assert_eq!(
        client()
            .get(stack.url("/readyz"))
            .send()
            .expect("readyz")
            .status(),
        200
    );
    let hc = stack.cli(&["healthcheck", "--url", &stack.url("/healthz")], None);
    assert!(hc.status.success());
}

#[test]
fn cli_bad_input_is_one_line_and_nonzero() {
    let (stack, p) = setup();
    for (args, stdin) in [
        (vec!["user", "add", "alice"], Some("another password\n")),
        (vec!["user", "add", "shorty"], Some("short\n")),
        (
            vec!["user", "add", "bad name!"],
            Some("long enough password\n"),
        ),
        (vec!["acl", "grant", p.as_str(), "alice", "READ,FLY"], None),
        (vec!["acl", "grant", "syn1/UPPER", "alice", "READ"], None),
        (vec!["acl", "grant", p.as_str(), "team:nope", "READ"], None),
        (vec!["project", "add", "x", "--owner", "ghost"], None),
        (
            vec!["project", "add", "y", "--owner", "alice", "--id", "abc"],
            None,
        ),
        (
            vec!["token", "create", "alice", "--scopes", "download,root"],
            None,
        ),
        (
            vec![
                "token",
                "create",
                "alice",
                "--scopes",
                "download",
                "--expires-in",
                "soon",
            ],
            None,
        ),
        (vec!["restore", p.as_str()], None),
        (vec!["user", "set", "alice"], None),
    ] {
        let out = stack.cli(&args, stdin);
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{args:?}: not one line: {err}"
        );
        assert!(err.starts_with("regauth: error: "), "{args:?}: {err}");
    }
    // Nothing half-written: the failed project add left no project behind.
    let projects = stack.ok(&["project", "list"]);
    assert_eq!(projects.lines().count(), 1, "{projects}");
}

#[test]
fn invalid_config_names_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "[token]\nttl_seconds = 5\n").expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_regauth"))
        .arg("--config")
        .arg(&cfg)
        .arg("serve")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("token.ttl_seconds"), "{err}");

    std::fs::write(&cfg, "[token]\nttl_secondz = 60\n").expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_regauth"))
        .arg("--config")
        .arg(&cfg)
        .arg("serve")
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ttl_secondz"));
}

#[test]
fn identical_anonymous_tokens_within_a_second_are_one_token_and_user_tokens_never() {
    let (stack, p) = setup();
    stack.grant(&p, "public", "READ,DOWNLOAD");
    stack.record_push(&format!("{p}/tool"), "v1", "alice");
    let scope = format!("repository:{p}/tool:pull");
    let fetch = |auth: Option<(&str, &str)>| -> (String, Value) {
        let r = get(&stack, &[("service", SERVICE), ("scope", &scope)], auth);
        assert_eq!(r.status(), 200);
        let body: Value = r.json().expect("json");
        let token = body["token"].as_str().expect("token").to_string();
        let (_, claims) = jwt(&token);
        (token, claims)
    };
    // Two requests may straddle a second: try until a pair falls within one.
    let mut compared = false;
    for _ in 0..10 {
        let (a, ca) = fetch(None);
        let (b, cb) = fetch(None);
        if ca["iat"] == cb["iat"] {
            assert_eq!(ca["access"][0]["actions"], json!(["pull"]));
            assert_eq!(a, b, "anonymous tokens of one second differ");
            compared = true;
            break;
        }
    }
    assert!(compared, "no two anonymous requests within one second");
    for _ in 0..10 {
        let (a, ca) = fetch(Some(("alice", PASSWORD)));
        let (b, cb) = fetch(Some(("alice", PASSWORD)));
        assert_ne!(a, b);
        assert_ne!(ca["jti"], cb["jti"], "a user's tokens share a jti");
    }
}

#[test]
fn an_email_address_logs_in_like_the_name_with_basic_and_the_password_grant() {
    let stack = Stack::regauth_only();
    stack.add_user("alice", &["--certified", "--email", "Alice@Example.org"]);
    let p = stack.add_project("alpha", "alice");
    let scope = format!("repository:{p}/tool:push,pull");
    for login in ["alice@example.org", "ALICE@example.org"] {
        let r = get(
            &stack,
            &[("service", SERVICE), ("scope", &scope)],
            Some((login, PASSWORD)),
        );
        assert_eq!(r.status(), 200, "{login}");
        let body: Value = r.json().expect("json");
        let (_, claims) = jwt(body["token"].as_str().expect("token"));
        // The token names the user, never the address it logged in with.
        assert_eq!(claims["sub"], "alice");
        assert_eq!(claims["access"][0]["actions"], json!(["pull", "push"]));
    }
    let r = post(
        &stack,
        &[
            ("grant_type", "password"),
            ("service", SERVICE),
            ("client_id", "docker"),
            ("username", "alice@example.org"),
            ("password", PASSWORD),
            ("scope", &scope),
        ],
    );
    assert_eq!(r.status(), 200);
    // A wrong password with the address is the same 401 as with the name.
    assert_unauthorized(get(
        &stack,
        &[("service", SERVICE)],
        Some(("alice@example.org", "wrong password")),
    ));
    assert_unauthorized(get(
        &stack,
        &[("service", SERVICE)],
        Some(("nobody@example.org", PASSWORD)),
    ));
    // A second user cannot take the address; the CLI says so on one line.
    let out = stack.cli(
        &[
            "user",
            "add",
            "bob",
            "--no-password",
            "--email",
            "alice@example.org",
        ],
        None,
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("e-mail address alice@example.org"), "{err}");
    assert!(stack
        .ok(&["user", "list"])
        .contains("alice\tcertified\talice@example.org"));
}

#[test]
fn the_authorize_scope_is_a_token_scope_that_grants_no_registry_action() {
    let (stack, p) = setup();
    let token = stack.token("alice", "authorize");
    let scope = format!("repository:{p}/tool:push,pull");
    let r = get(
        &stack,
        &[("service", SERVICE), ("scope", &scope)],
        Some(("x", &token)),
    );
    assert_eq!(r.status(), 200);
    let body: Value = r.json().expect("json");
    let (_, claims) = jwt(body["token"].as_str().expect("token"));
    assert_eq!(claims["access"][0]["actions"], json!([]));
    let listed = stack.ok(&["token", "list", "alice"]);
    assert!(listed.contains("authorize"), "{listed}");
}
