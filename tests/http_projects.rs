//! Projects over HTTP: any signed-in user creates one and owns it (Synapse's rule), and
//! each caller lists the projects it may READ.

mod common;

use common::*;
use reqwest::blocking::Client;
use serde_json::{json, Value};

fn names(stack: &Stack, who: As) -> Vec<String> {
    let r = call(stack, "GET", "/api/v1/projects", who, None);
    assert_eq!(r.status(), 200);
    let body: Value = r.json().unwrap();
    body["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_signed_in_user_creates_a_project_owns_it_and_lists_what_it_may_read() {
    let stack = Stack::regauth_only();
    stack.add_user("alice", &["--certified"]);
    stack.add_user("bob", &[]);
    let _private = stack.add_project("alice's private", "alice");
    let shared = stack.add_project("alice's shared", "alice");
    stack.grant(&shared, "bob", "READ");

    let r = call(
        &stack,
        "POST",
        "/api/v1/projects",
        As::Password("alice"),
        Some(json!({"name": "tools"})),
    );
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(id.starts_with("syn"), "{id}");

    // alice owns it: a push of a new repository there is granted.
    let body: Value = Client::new()
        .get(stack.url("/token"))
        .query(&[
            ("service", SERVICE),
            ("scope", &format!("repository:{id}/x:push,pull")),
        ])
        .basic_auth("alice", Some(PASSWORD))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let (_, claims) = jwt(body["token"].as_str().unwrap());
    assert_eq!(claims["access"][0]["actions"], json!(["pull", "push"]));

    assert_eq!(
        names(&stack, As::Password("bob")),
        ["alice's shared"],
        "bob sees only what he may READ"
    );
    let mut alices = names(&stack, As::Password("alice"));
    alices.sort();
    assert_eq!(alices, ["alice's private", "alice's shared", "tools"]);
    assert_eq!(names(&stack, As::Password("root")).len(), 3);
    stack.ok(&["trash", &id]);
    assert!(!names(&stack, As::Password("alice")).contains(&"tools".to_string()));

    // Refusals: anonymous, a token without `modify`, a bad name, an unknown field.
    error(
        call(
            &stack,
            "POST",
            "/api/v1/projects",
            As::Anonymous,
            Some(json!({"name": "x"})),
        ),
        401,
    );
    let viewer = stack.token("bob", "view,download");
    let m = error(
        call(
            &stack,
            "POST",
            "/api/v1/projects",
            As::Token(&viewer),
            Some(json!({"name": "x"})),
        ),
        403,
    );
    assert!(m.contains("modify"), "{m}");
    let m = error(
        call(
            &stack,
            "POST",
            "/api/v1/projects",
            As::Password("bob"),
            Some(json!({"name": " "})),
        ),
        400,
    );
    assert!(m.starts_with("name:"), "{m}");
    let m = error(
        call(
            &stack,
            "POST",
            "/api/v1/projects",
            As::Password("bob"),
            Some(json!({"name": "x", "owner": "alice"})),
        ),
        400,
    );
    assert!(m.contains("owner"), "{m}");
    assert!(
        names(&stack, As::Password("bob")) == ["alice's shared"],
        "nothing half-made"
    );
}
