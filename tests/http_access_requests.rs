//! Access requests over HTTP (Dockstore's "request access"): a user who sees a private
//! repository files one; its owner lists, approves (the user's pull works from then on)
//! or denies with a reason; one open request per user and entity; every refusal.

mod common;

use common::*;
use serde_json::{json, Value};

fn pull(stack: &Stack, user: &str, repo: &str) -> Value {
    pull_actions(stack, user, PASSWORD, repo)
}

fn file(stack: &Stack, who: As, entity: &str, message: &str) -> reqwest::blocking::Response {
    call(
        stack,
        "POST",
        &format!("/api/v1/entities/{entity}/access-requests"),
        who,
        Some(json!({ "message": message })),
    )
}

fn list(stack: &Stack, who: As, path: &str) -> Vec<Value> {
    let r = call(stack, "GET", path, who, None);
    assert_eq!(r.status(), 200);
    r.json::<Value>().unwrap()["requests"]
        .as_array()
        .unwrap()
        .clone()
}

fn setup() -> (Stack, String, String) {
    let stack = Stack::regauth_only();
    for u in ["alice", "bob", "carol", "dave"] {
        stack.add_user(u, &[]);
    }
    let p = stack.add_project("alpha", "alice");
    let repo = format!("{p}/tool");
    // Pushed by the admin: alice is not certified, and regauth records only pushes it
    // granted.
    stack.record_push(&repo, "v1", "root");
    // bob and carol see the project's listing but may not download.
    stack.grant(&p, "bob", "READ");
    stack.grant(&p, "carol", "READ");
    (stack, p, repo)
}

#[test]
fn a_request_approved_by_the_owner_lets_the_requester_pull() {
    let (stack, p, repo) = setup();
    let encoded = repo.replace('/', "%2F");
    assert_eq!(pull(&stack, "bob", &repo), json!([]));
    let r = file(
        &stack,
        As::Password("bob"),
        &encoded,
        "  I maintain the CI for tool  ",
    );
    assert_eq!(r.status(), 201);
    let filed: Value = r.json().unwrap();
    assert_eq!(filed["state"], "open");
    assert_eq!(filed["message"], "I maintain the CI for tool");
    assert_eq!(filed["entity_name"], repo);
    let id = filed["id"].as_i64().unwrap();

    // One open request per (user, entity).
    let m = error(file(&stack, As::Password("bob"), &encoded, "again"), 409);
    assert!(m.contains("open access request"), "{m}");

    // The owner's inbox; bob, who only READs, has none to see.
    let inbox_path = format!("/api/v1/entities/{encoded}/access-requests");
    let inbox = list(&stack, As::Password("alice"), &inbox_path);
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0]["requester"], "bob");
    let m = error(
        call(&stack, "GET", &inbox_path, As::Password("bob"), None),
        403,
    );
    assert!(m.contains("CHANGE_PERMISSIONS"), "{m}");
    error(
        call(&stack, "GET", &inbox_path, As::Password("dave"), None),
        404,
    );

    // Only a manager decides, with `authorize`.
    let approve = format!("/api/v1/access-requests/{id}/approve");
    error(
        call(&stack, "POST", &approve, As::Password("bob"), None),
        403,
    );
    error(
        call(&stack, "POST", &approve, As::Password("dave"), None),
        404,
    );
    let t = stack.token("alice", "view,download,modify");
    let m = error(call(&stack, "POST", &approve, As::Token(&t), None), 403);
    assert!(m.contains("authorize"), "{m}");
    assert_eq!(pull(&stack, "bob", &repo), json!([]), "nothing granted yet");

    let r = call(&stack, "POST", &approve, As::Password("alice"), None);
    assert_eq!(r.status(), 200);
    let decided: Value = r.json().unwrap();
    assert_eq!(decided["state"], "approved");
    assert_eq!(decided["decided_by"], "alice");
    assert_eq!(pull(&stack, "bob", &repo), json!(["pull"]));
    // Deciding twice is refused; the requester sees the outcome.
    let m = error(
        call(&stack, "POST", &approve, As::Password("alice"), None),
        400,
    );
    assert!(m.contains("already approved"), "{m}");
    let mine = list(&stack, As::Password("bob"), "/api/v1/me/access-requests");
    assert_eq!(mine[0]["state"], "approved");
    assert!(
        list(&stack, As::Password("alice"), &inbox_path).is_empty(),
        "inbox holds open ones"
    );
    assert_eq!(
        list(
            &stack,
            As::Password("alice"),
            &format!("{inbox_path}?state=all")
        )
        .len(),
        1
    );
    // The audit trail has the filing and the approval.
    let audit = stack.ok(&["audit", "--json"]);
    assert!(audit.contains("access_requested"), "{audit}");
    assert!(audit.contains("access_request_decided"), "{audit}");
    // The project itself is untouched: the repository got local settings.
    assert_eq!(pull(&stack, "bob", &format!("{p}/other")), json!([]));
}

#[test]
fn a_denial_needs_a_reason_and_grants_nothing() {
    let (stack, p, repo) = setup();
    let r = file(&stack, As::Password("carol"), &p, "please");
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().unwrap()["id"].as_i64().unwrap();
    let deny = format!("/api/v1/access-requests/{id}/deny");
    let m = error(
        call(
            &stack,
            "POST",
            &deny,
            As::Password("alice"),
            Some(json!({"reason": " "})),
        ),
        400,
    );
    assert!(m.starts_with("reason:"), "{m}");
    let r = call(
        &stack,
        "POST",
        &deny,
        As::Password("alice"),
        Some(json!({"reason": "data use agreement first"})),
    );
    assert_eq!(r.status(), 200);
    let mine = list(&stack, As::Password("carol"), "/api/v1/me/access-requests");
    assert_eq!(mine[0]["state"], "denied");
    assert_eq!(mine[0]["reason"], "data use agreement first");
    assert_eq!(pull(&stack, "carol", &repo), json!([]));
    // After a decision a new request may be filed.
    assert_eq!(
        file(&stack, As::Password("carol"), &p, "signed it").status(),
        201
    );
}

#[test]
fn filing_is_refused_to_those_who_cannot_see_or_already_can_download() {
    let (stack, p, repo) = setup();
    let encoded = repo.replace('/', "%2F");
    // dave cannot see the project: the same 404 as a project that does not exist.
    let hidden = error(file(&stack, As::Password("dave"), &p, "hi"), 404);
    let missing = error(file(&stack, As::Password("dave"), "syn99999", "hi"), 404);
    assert_eq!(hidden, missing);
    error(file(&stack, As::Anonymous, &p, "hi"), 401);
    let m = error(file(&stack, As::Password("alice"), &encoded, "hi"), 400);
    assert!(m.contains("already download"), "{m}");
    let m = error(file(&stack, As::Password("bob"), &encoded, "   "), 400);
    assert!(m.starts_with("message:"), "{m}");
    let m = error(
        call(
            &stack,
            "POST",
            &format!("/api/v1/entities/{encoded}/access-requests"),
            As::Password("bob"),
            Some(json!({"message": "x", "urgent": true})),
        ),
        400,
    );
    assert!(m.contains("urgent"), "{m}");
    stack.ok(&["trash", &repo]);
    error(file(&stack, As::Password("bob"), &encoded, "hi"), 404);
    assert!(list(&stack, As::Password("bob"), "/api/v1/me/access-requests").is_empty());
}
