//! Sharing settings and the trash over HTTP, as Synapse's owners use them: show, replace
//! (CHANGE_PERMISSIONS and the `authorize` scope), inherit again, trash and restore
//! (DELETE), each with its refusals, and the token endpoint following every change.

mod common;

use common::*;
use serde_json::{json, Value};

fn pull(stack: &Stack, user: &str, repo: &str) -> Value {
    pull_actions(stack, user, PASSWORD, repo)
}

fn acl(stack: &Stack, who: As, entity: &str) -> Value {
    let r = call(
        stack,
        "GET",
        &format!("/api/v1/entities/{entity}/acl"),
        who,
        None,
    );
    assert_eq!(r.status(), 200);
    r.json().unwrap()
}

fn put(stack: &Stack, who: As, entity: &str, entries: Value) -> reqwest::blocking::Response {
    call(
        stack,
        "PUT",
        &format!("/api/v1/entities/{entity}/acl"),
        who,
        Some(json!({ "entries": entries })),
    )
}

#[test]
fn owners_share_and_unshare_and_the_token_endpoint_follows() {
    let stack = Stack::regauth_only();
    for u in ["alice", "bob", "carol"] {
        stack.add_user(u, &["--certified"]);
    }
    let p = stack.add_project("alpha", "alice");
    let repo = format!("{p}/tool");
    let encoded = format!("{p}%2Ftool");
    stack.record_push(&repo, "v1", "alice");
    stack.grant(&p, "bob", "READ,DOWNLOAD");

    let shown = acl(&stack, As::Password("alice"), &p);
    assert_eq!(shown["inherited_from"], Value::Null);
    assert!(shown["entries"]
        .as_array()
        .unwrap()
        .contains(&json!({"principal": "bob", "access": ["READ", "DOWNLOAD"]})));
    let repo_acl = acl(&stack, As::Password("bob"), &encoded);
    assert_eq!(repo_acl["inherited_from"], json!(p));
    // Not readable: the same 404 as a missing entity.
    error(
        call(
            &stack,
            "GET",
            &format!("/api/v1/entities/{p}/acl"),
            As::Password("carol"),
            None,
        ),
        404,
    );
    error(
        call(
            &stack,
            "GET",
            "/api/v1/entities/syn99999/acl",
            As::Password("alice"),
            None,
        ),
        404,
    );

    let local = json!([
        {"principal": "alice", "access": ["READ", "DOWNLOAD", "UPDATE", "CHANGE_PERMISSIONS"]},
        {"principal": "carol", "access": ["READ", "DOWNLOAD"]},
    ]);
    // bob sees it but may not change it; carol does not see it; a token needs authorize.
    let m = error(
        put(&stack, As::Password("bob"), &encoded, local.clone()),
        403,
    );
    assert!(m.contains("CHANGE_PERMISSIONS"), "{m}");
    error(
        put(&stack, As::Password("carol"), &encoded, local.clone()),
        404,
    );
    let t = stack.token("alice", "view,download,modify");
    let m = error(put(&stack, As::Token(&t), &encoded, local.clone()), 403);
    assert!(m.contains("authorize"), "{m}");
    // Bad entries name the field and change nothing.
    for (entries, field) in [
        (
            json!([{"principal": "carol", "access": ["READ"]}]),
            "CHANGE_PERMISSIONS",
        ),
        (
            json!([{"principal": "zed", "access": ["READ"]}]),
            "entries: zed",
        ),
        (
            json!([{"principal": "alice", "access": ["FLY"]}]),
            "entries[0].access",
        ),
        (
            json!([{"principal": "alice", "access": ["READ"], "x": 1}]),
            "x",
        ),
    ] {
        let m = error(put(&stack, As::Password("alice"), &encoded, entries), 400);
        assert!(m.contains(field), "{field}: {m}");
    }
    assert_eq!(
        acl(&stack, As::Password("alice"), &encoded)["inherited_from"],
        json!(p)
    );
    assert_eq!(pull(&stack, "carol", &repo), json!([]));

    let r = put(&stack, As::Password("alice"), &encoded, local);
    assert_eq!(r.status(), 204);
    assert_eq!(
        acl(&stack, As::Password("alice"), &encoded)["inherited_from"],
        Value::Null
    );
    assert_eq!(pull(&stack, "carol", &repo), json!(["pull"]));
    assert_eq!(
        pull(&stack, "bob", &repo),
        json!([]),
        "local settings replace the project's"
    );

    // Inherit again (repositories only).
    let r = call(
        &stack,
        "DELETE",
        &format!("/api/v1/entities/{encoded}/acl"),
        As::Password("alice"),
        None,
    );
    assert_eq!(r.status(), 204);
    assert_eq!(pull(&stack, "bob", &repo), json!(["pull"]));
    assert_eq!(pull(&stack, "carol", &repo), json!([]));
    let m = error(
        call(
            &stack,
            "DELETE",
            &format!("/api/v1/entities/{p}/acl"),
            As::Password("alice"),
            None,
        ),
        400,
    );
    assert!(m.contains("only repositories inherit"), "{m}");
}

#[test]
fn trash_and_restore_need_delete() {
    let stack = Stack::regauth_only();
    stack.add_user("alice", &["--certified"]);
    stack.add_user("bob", &[]);
    let p = stack.add_project("alpha", "alice");
    let repo = format!("{p}/tool");
    stack.record_push(&repo, "v1", "alice");
    stack.grant(&p, "bob", "READ,DOWNLOAD");
    let path = |what: &str| format!("/api/v1/entities/{p}%2Ftool/{what}");

    let m = error(
        call(&stack, "POST", &path("trash"), As::Password("bob"), None),
        403,
    );
    assert!(m.contains("DELETE"), "{m}");
    assert_eq!(pull(&stack, "bob", &repo), json!(["pull"]));
    let r = call(&stack, "POST", &path("trash"), As::Password("alice"), None);
    assert_eq!(r.status(), 204);
    assert_eq!(pull(&stack, "bob", &repo), json!([]));
    assert_eq!(pull(&stack, "alice", &repo), json!([]));
    // Trashing again: not found (it is in the trash already, and hidden from changes).
    error(
        call(&stack, "POST", &path("trash"), As::Password("alice"), None),
        404,
    );
    error(
        call(&stack, "POST", &path("restore"), As::Password("bob"), None),
        403,
    );
    let r = call(
        &stack,
        "POST",
        &path("restore"),
        As::Password("alice"),
        None,
    );
    assert_eq!(r.status(), 204);
    assert_eq!(pull(&stack, "bob", &repo), json!(["pull"]));
    let m = error(
        call(
            &stack,
            "POST",
            "/api/v1/entities/not-an-id/trash",
            As::Password("alice"),
            None,
        ),
        400,
    );
    assert!(m.contains("project id"), "{m}");
}
