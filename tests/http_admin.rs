//! Administration over HTTP: after the first admin, users and teams come from `curl`
//! alone (no shell into the container). Admins only; bad input names the field.

mod common;

use common::*;
use reqwest::blocking::Client;
use serde_json::{json, Value};

fn login(stack: &Stack, user: &str, password: &str) -> u16 {
    Client::new()
        .get(stack.url("/token"))
        .query(&[("service", SERVICE)])
        .basic_auth(user, Some(password))
        .send()
        .unwrap()
        .status()
        .as_u16()
}

fn pull(stack: &Stack, user: &str, repo: &str) -> Value {
    pull_actions(stack, user, "alice's first password", repo)
}

#[test]
fn an_admin_manages_users_and_teams_with_http_alone() {
    let stack = Stack::regauth_only();
    let root = || As::Password("root");
    let r = call(
        &stack,
        "POST",
        "/api/v1/users",
        root(),
        Some(
            json!({"name": "alice", "password": "alice's first password",
                    "email": "Alice@Example.org"}),
        ),
    );
    assert_eq!(r.status(), 201);
    let alice: Value = r.json().unwrap();
    assert_eq!(alice["email"], "alice@example.org");
    assert_eq!(alice["certified"], false);
    assert_eq!(
        login(&stack, "alice@example.org", "alice's first password"),
        200
    );

    // Not for ordinary users, whatever they ask.
    let alice_token = stack.token("alice", "view,download,modify,authorize");
    for (method, path, body) in [
        ("GET", "/api/v1/users", None),
        ("POST", "/api/v1/users", Some(json!({"name": "mallory"}))),
        ("PATCH", "/api/v1/users/alice", Some(json!({"admin": true}))),
        ("POST", "/api/v1/teams", Some(json!({"name": "t"}))),
    ] {
        let m = error(
            call(&stack, method, path, As::Token(&alice_token), body),
            403,
        );
        assert!(m.contains("only an admin"), "{method} {path}: {m}");
    }

    let r = call(
        &stack,
        "PATCH",
        "/api/v1/users/alice",
        root(),
        Some(json!({"certified": true, "email": null})),
    );
    assert_eq!(r.status(), 200);
    let changed: Value = r.json().unwrap();
    assert_eq!(changed["certified"], true);
    assert_eq!(changed["email"], Value::Null);
    assert_eq!(
        login(&stack, "alice@example.org", "alice's first password"),
        401
    );

    let users: Value = call(&stack, "GET", "/api/v1/users", root(), None)
        .json()
        .unwrap();
    let names: Vec<_> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["alice", "root"]);

    // A team, its members, and sharing through it.
    let p = stack.add_project("data", "root");
    let repo = format!("{p}/tool");
    stack.record_push(&repo, "v1", "root");
    assert_eq!(
        call(
            &stack,
            "POST",
            "/api/v1/teams",
            root(),
            Some(json!({"name": "lab"}))
        )
        .status(),
        201
    );
    let member = "/api/v1/teams/lab/members/alice";
    assert_eq!(call(&stack, "PUT", member, root(), None).status(), 204);
    let acl = json!({"entries": [
        {"principal": "root", "access": ["READ", "CHANGE_PERMISSIONS"]},
        {"principal": "team:lab", "access": ["READ", "DOWNLOAD"]},
    ]});
    let r = call(
        &stack,
        "PUT",
        &format!("/api/v1/entities/{p}/acl"),
        root(),
        Some(acl),
    );
    assert_eq!(r.status(), 204);
    assert_eq!(pull(&stack, "alice", &repo), json!(["pull"]));
    assert_eq!(call(&stack, "DELETE", member, root(), None).status(), 204);
    assert_eq!(pull(&stack, "alice", &repo), json!([]));

    // Disabling and password resets end what they should.
    let r = call(
        &stack,
        "PATCH",
        "/api/v1/users/alice",
        root(),
        Some(json!({"disabled": true})),
    );
    assert_eq!(r.status(), 200);
    assert_eq!(login(&stack, "alice", "alice's first password"), 401);
    let r = call(
        &stack,
        "PATCH",
        "/api/v1/users/alice",
        root(),
        Some(
            json!({"disabled": false, "password": "a reset password here", "revoke_tokens": true}),
        ),
    );
    assert_eq!(r.status(), 200);
    let done: Value = r.json().unwrap();
    assert_eq!(done["access_tokens_revoked"], 1);
    assert_eq!(login(&stack, "alice", "a reset password here"), 200);
}

#[test]
fn bad_administration_requests_name_the_field_and_change_nothing() {
    let stack = Stack::regauth_only();
    stack.add_user("alice", &[]);
    let root = || As::Password("root");
    let cases = [
        (
            "POST",
            "/api/v1/users",
            json!({"name": "alice"}),
            409,
            "alice",
        ),
        (
            "POST",
            "/api/v1/users",
            json!({"name": "a b"}),
            400,
            "invalid user name",
        ),
        (
            "POST",
            "/api/v1/users",
            json!({"name": "bob", "role": "x"}),
            400,
            "role",
        ),
        (
            "POST",
            "/api/v1/users",
            json!({"name": "bob", "email": "nope"}),
            400,
            "e-mail",
        ),
        (
            "POST",
            "/api/v1/users",
            json!({"name": "bob", "password": "short"}),
            400,
            "password",
        ),
        (
            "PATCH",
            "/api/v1/users/alice",
            json!({}),
            400,
            "nothing to change",
        ),
        (
            "PATCH",
            "/api/v1/users/alice",
            json!({"certified": "yes"}),
            400,
            "certified",
        ),
        (
            "POST",
            "/api/v1/teams",
            json!({"name": "public"}),
            400,
            "invalid team name",
        ),
    ];
    for (method, path, body, status, words) in cases {
        let m = error(
            call(&stack, method, path, root(), Some(body.clone())),
            status,
        );
        assert!(m.contains(words), "{method} {path} {body}: {m}");
    }
    error(
        call(
            &stack,
            "PATCH",
            "/api/v1/users/nobody",
            root(),
            Some(json!({"admin": true})),
        ),
        404,
    );
    error(
        call(
            &stack,
            "PUT",
            "/api/v1/teams/none/members/alice",
            root(),
            None,
        ),
        404,
    );
    let users: Value = call(&stack, "GET", "/api/v1/users", root(), None)
        .json()
        .unwrap();
    assert_eq!(
        users["users"].as_array().unwrap().len(),
        2,
        "nothing half-made"
    );
}
