//! The read API's external repositories and bad input, over real HTTP.

mod common;

use common::*;
use reqwest::blocking::Client;
use serde_json::{json, Value};

#[test]
fn external_repositories_need_update_and_refuse_our_own_host() {
    let stack = Stack::regauth_only();
    stack.add_user("alice", &["--certified"]);
    stack.add_user("bob", &[]);
    let p = stack.add_project("alpha", "alice");
    stack.grant(&p, "bob", "READ");
    let c = Client::new();
    let add = |user: &str, name: &str| {
        let r = c
            .post(stack.url(&format!("/api/v1/projects/{p}/external-repositories")))
            .basic_auth(user, Some(PASSWORD))
            .json(&json!({ "name": name }))
            .send()
            .expect("post");
        let status = r.status().as_u16();
        (status, r.json::<Value>().unwrap_or(Value::Null))
    };
    assert_eq!(
        add("bob", "quay.io/org/x").0,
        404,
        "READ alone added a record"
    );
    let (status, body) = add("alice", "Quay.io/Org/X");
    assert_eq!(status, 400, "{body}");
    assert!(body["errors"][0]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    let own = format!("127.0.0.1:{}/{p}/x", stack.registry_port);
    assert_eq!(add("alice", &own).0, 400, "our own registry host accepted");
    let (status, created) = add("alice", "quay.io/org/x");
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["kind"], "external_repository");
    assert_eq!(add("alice", "quay.io/org/x").0, 409);

    let list: Value = c
        .get(stack.url(&format!("/api/v1/projects/{p}/repositories")))
        .basic_auth("bob", Some(PASSWORD))
        .send()
        .expect("list")
        .json()
        .expect("json");
    assert_eq!(list["repositories"][0]["name"], "quay.io/org/x");

    let id = created["id"].as_str().expect("id").to_string();
    let del = |user: &str| {
        c.delete(stack.url(&format!("/api/v1/external-repositories/{id}")))
            .basic_auth(user, Some(PASSWORD))
            .header("content-type", "application/json")
            .send()
            .expect("delete")
            .status()
            .as_u16()
    };
    // A body-less change must still declare JSON (what no cross-site form can send).
    let untyped = c
        .delete(stack.url(&format!("/api/v1/external-repositories/{id}")))
        .basic_auth("alice", Some(PASSWORD))
        .send()
        .expect("delete");
    assert_eq!(untyped.status(), 415);
    assert_eq!(del("bob"), 404);
    assert_eq!(del("alice"), 204);
    assert_eq!(del("alice"), 404);

    // Bad query input is a clear 400; a view-less token is refused.
    let r = c
        .get(stack.url("/api/v1/repository/tags?path=syn1/x&limit=0"))
        .basic_auth("alice", Some(PASSWORD))
        .send()
        .expect("tags");
    assert_eq!(r.status(), 400);
    let token = stack.token("alice", "download");
    let r = c
        .get(stack.url(&format!("/api/v1/projects/{p}/repositories")))
        .basic_auth("x", Some(&token))
        .send()
        .expect("list");
    assert_eq!(r.status(), 403);
}

/// Input the framework refuses before a handler runs, and unknown routes, still answer
/// in the registry errcode format.
#[test]
fn malformed_bodies_queries_and_unknown_routes_get_errcode_json() {
    let stack = Stack::regauth_only();
    stack.add_user("alice", &["--certified"]);
    let p = stack.add_project("alpha", "alice");
    let c = Client::new();
    let errcode = |r: reqwest::blocking::Response| {
        let status = r.status().as_u16();
        let json = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let body: Value = r.json().unwrap_or(Value::Null);
        assert!(json, "not JSON: {body}");
        (
            status,
            body["errors"][0]["code"].as_str().unwrap_or("").to_string(),
        )
    };
    let url = stack.url(&format!("/api/v1/projects/{p}/external-repositories"));
    let bad_json = c
        .post(&url)
        .basic_auth("alice", Some(PASSWORD))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .expect("post");
    assert_eq!(errcode(bad_json), (400, "UNSUPPORTED".to_string()));
    let no_type = c
        .post(&url)
        .basic_auth("alice", Some(PASSWORD))
        .body(r#"{"name":"quay.io/a/b"}"#)
        .send()
        .expect("post");
    assert_eq!(errcode(no_type), (415, "UNSUPPORTED".to_string()));
    let bad_query = c
        .get(stack.url("/api/v1/repository/tags?path=syn1/x&limit=many"))
        .basic_auth("alice", Some(PASSWORD))
        .send()
        .expect("tags");
    assert_eq!(errcode(bad_query), (400, "UNSUPPORTED".to_string()));
    let missing = c.get(stack.url("/no/such/route")).send().expect("get");
    assert_eq!(errcode(missing), (404, "UNSUPPORTED".to_string()));
}

/// The external-repository host rule holds from the CLI door too (it is the same use
/// case as the HTTP API's).
#[test]
fn cli_add_external_refuses_our_own_host() {
    let stack = Stack::regauth_only();
    stack.add_user("alice", &["--certified"]);
    let p = stack.add_project("alpha", "alice");
    for own in [
        format!("127.0.0.1:{}/{p}/x", stack.registry_port),
        "Registry.Example.Org/team/x".to_string(),
    ] {
        let out = stack.cli(&["repo", "add-external", &p, &own], None);
        assert!(!out.status.success(), "{own} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("is this registry"), "{own}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
    let id = stack.ok(&["repo", "add-external", &p, "quay.io/org/x"]);
    assert!(id.trim().starts_with("syn"), "{id}");
    let listed = stack.ok(&["repo", "list", &p]);
    assert!(
        listed.contains("external_repository\tquay.io/org/x"),
        "{listed}"
    );
}
