//! End to end beside Synapse (the real registry and skopeo, regauth in Synapse mode
//! against the contract server): a certified user's password push of a new repository
//! reaches Synapse's listener, which then knows the repository; a PAT with `view` and
//! `download` pulls it; a PAT without `download`, and an uncertified user's push, are
//! refused.

mod common;
mod synapse;

use common::*;
use serde_json::Value;
use synapse::{FakeSynapse, UserId, LISTENER_KEY, LISTENER_SECRET};

const ALICE_PW: &str = "alice's password";
const BOB_PW: &str = "bob's password";

/// `skopeo copy` of a local image to `repo_tag` with `creds`. Not `Stack::push`: that
/// waits for the repository in regauth's own directory, which Synapse mode leaves alone
/// (the notification goes to Synapse).
fn push(stack: &Stack, src: &str, repo_tag: &str, creds: &str) -> Skopeo {
    let dest = format!("docker://{}", stack.image(repo_tag));
    skopeo(
        stack.dir.path(),
        &[
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            creds,
            src,
            &dest,
        ],
    )
}

/// The manifest push event of `repo` by `actor` in one of the batches Synapse's
/// listener received.
fn push_event(batches: &[Value], repo: &str, actor: UserId) -> Option<Value> {
    let actor = actor.to_string(); // the token's `sub`, a string
    batches
        .iter()
        .filter_map(|b| b["events"].as_array())
        .flatten()
        .find(|e| {
            e["action"] == "push"
                && e["target"]["repository"] == repo
                && e["target"]["tag"].is_string()
                && e["actor"]["name"] == actor.as_str()
        })
        .cloned()
}

/// What Synapse answers to `dockerRepo/id` for `name`, asked as `user`.
fn synapse_repo_id(fake: &FakeSynapse, user: UserId, name: &str) -> Option<String> {
    let r = reqwest::blocking::Client::new()
        .get(format!("{}/repo/v1/entity/dockerRepo/id", fake.base_url()))
        .query(&[("repositoryName", name)])
        .bearer_auth(fake.login_token(user))
        .send()
        .expect("ask the fake Synapse");
    if !r.status().is_success() {
        return None;
    }
    let body: Value = r.json().expect("dockerRepo/id json");
    body["id"].as_str().map(str::to_string)
}

#[test]
fn password_push_reaches_synapse_and_pat_scopes_and_certification_decide() {
    let port = free_port();
    let fake = FakeSynapse::start_with_registry_host(&format!("127.0.0.1:{port}"));
    let alice = fake.add_user("alice", ALICE_PW);
    fake.set_certified(alice, true);
    let bob = fake.add_user("bob", BOB_PW);
    let p = fake.add_project("tools");
    fake.set_owner(&p, alice);
    fake.grant(&p, alice, &synapse::EVERY_ACCESS);
    fake.grant(&p, bob, &["READ", "DOWNLOAD", "UPDATE", "CREATE"]);

    let listener = format!(
        "listener_url = \"{}/dockerRegistryListener/v1/events\"\nlistener_key = \"{LISTENER_KEY}\"\nlistener_secret = \"{LISTENER_SECRET}\"",
        fake.base_url()
    );
    let stack = Stack::beside_synapse(
        &fake.base_url(),
        fake.registry_host(),
        Some(port),
        &listener,
    );
    let logs = || {
        format!(
            "regauth log:\n{}\nregistry log:\n{}",
            stack.regauth_log(),
            stack.registry_log()
        )
    };
    let img = tiny_image(stack.dir.path(), "v1", "one");
    let repo = format!("{p}/tool");
    let synapse_name = fake.repository_name(&p, "tool");
    assert_eq!(
        synapse_repo_id(&fake, alice, &synapse_name),
        None,
        "{synapse_name} should not exist in Synapse before the push"
    );

    // (1) A certified user with CREATE pushes a new repository with her password.
    let pushed = push(
        &stack,
        &img,
        &format!("{repo}:v1"),
        &format!("alice:{ALICE_PW}"),
    );
    assert!(
        pushed.success,
        "alice's password push of the new {repo} should succeed:\n{}\n{}",
        pushed.output,
        logs()
    );

    // (5) The registry's notification went through regauth to Synapse's listener, with
    // the numeric Synapse user id as actor, and Synapse created the repository.
    let event = eventually(15, || push_event(&fake.listener_events(), &repo, alice));
    assert!(
        event.is_some(),
        "Synapse's listener should receive the push of {repo} by user {alice}; it got {:#?}\n{}",
        fake.listener_events(),
        logs()
    );
    let event = event.unwrap_or_default();
    assert_eq!(
        event["request"]["host"],
        fake.registry_host(),
        "the forwarded event should name the registry host Synapse knows"
    );
    let id = eventually(15, || synapse_repo_id(&fake, alice, &synapse_name));
    assert!(
        id.is_some(),
        "Synapse should know {synapse_name} after the forwarded push event"
    );

    // (2) A PAT with view and download pulls the repository Synapse learned of.
    let pat = fake.pat(alice, &["view", "download"]);
    let pulled = stack.pull(&format!("{repo}:v1"), Some(&format!("anything:{pat}")));
    assert!(
        pulled.success,
        "a pull with a view,download PAT should succeed:\n{}\n{}",
        pulled.output,
        logs()
    );

    // (3) A PAT without download is refused the pull (a permission refusal, not bad
    // credentials: the token is valid).
    let view_only = fake.pat(alice, &["view"]);
    let refused = stack.pull(
        &format!("{repo}:v1"),
        Some(&format!("anything:{view_only}")),
    );
    assert_refused(&refused, Refusal::Denied, "pull with a view-only PAT");

    // (4) An uncertified user is refused a push of a new repository, CREATE or not.
    let refused = push(
        &stack,
        &img,
        &format!("{p}/bobs:v1"),
        &format!("bob:{BOB_PW}"),
    );
    assert_refused(&refused, Refusal::Denied, "uncertified bob's push");
    assert_eq!(
        synapse_repo_id(&fake, alice, &fake.repository_name(&p, "bobs")),
        None,
        "bob's refused push should not create a repository in Synapse"
    );
}
