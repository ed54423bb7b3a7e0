//! End to end with the real registry (Debian's docker-registry, distribution v2.8) and
//! a real client (skopeo, which speaks the token protocol as podman does). Assertions
//! are on what the client sees and on what the registry answers.

mod common;

use common::*;
use regauth::domain::ports::{Clock, TokenSigner};

const CREDS_PW: &str = "correct horse battery";

fn creds(user: &str) -> String {
    format!("{user}:{CREDS_PW}")
}

/// A project owned by `owner` (certified, so it can create repositories).
fn project(stack: &Stack, owner: &str) -> String {
    stack.add_user(owner, &["--certified"]);
    stack.add_project(&format!("{owner}-project"), owner)
}

#[test]
fn certified_user_with_create_pushes_a_new_repository_and_pulls_it_back() {
    let stack = Stack::with_registry();
    let p = project(&stack, "alice");
    let img = tiny_image(stack.dir.path(), "v1", "one");

    let (push, digest) = stack.push(&img, &format!("{p}/tool:v1"), &creds("alice"));
    assert!(
        push.success,
        "push failed: {}\n{}",
        push.output,
        stack.regauth_log()
    );
    let digest = digest.expect("skopeo wrote the digest");
    assert!(digest.starts_with("sha256:"), "{digest}");

    let pull = stack.pull(&format!("{p}/tool:v1"), Some(&creds("alice")));
    assert!(pull.success, "pull failed: {}", pull.output);
    let by_digest = stack.pull(&format!("{p}/tool@{digest}"), Some(&creds("alice")));
    assert!(
        by_digest.success,
        "pull by digest failed: {}",
        by_digest.output
    );
}

#[test]
fn uncertified_user_cannot_push_even_with_create() {
    let stack = Stack::with_registry();
    let p = project(&stack, "alice");
    stack.add_user("bob", &[]);
    stack.grant(&p, "bob", "READ,DOWNLOAD,CREATE,UPDATE");
    let img = tiny_image(stack.dir.path(), "v1", "one");

    let (push, _) = stack.push(&img, &format!("{p}/tool:v1"), &creds("bob"));
    assert_refused(&push, Refusal::Denied, "uncertified push");
    assert!(
        stack.regauth_log().contains("not_certified"),
        "denial reason not logged"
    );

    // Once certified, the same push goes through.
    stack.ok(&["user", "set", "bob", "--certified", "true"]);
    let (push, _) = stack.push(&img, &format!("{p}/tool:v1"), &creds("bob"));
    assert!(push.success, "certified push failed: {}", push.output);
}

#[test]
fn download_permission_pulls_but_does_not_push() {
    let stack = Stack::with_registry();
    let p = project(&stack, "alice");
    let img = tiny_image(stack.dir.path(), "v1", "one");
    let (push, _) = stack.push(&img, &format!("{p}/tool:v1"), &creds("alice"));
    assert!(push.success, "{}", push.output);

    stack.add_user("carol", &["--certified"]);
    stack.grant(&p, "carol", "DOWNLOAD");
    let pull = stack.pull(&format!("{p}/tool:v1"), Some(&creds("carol")));
    assert!(pull.success, "DOWNLOAD pull failed: {}", pull.output);
    let (push, _) = stack.push(&img, &format!("{p}/tool:v2"), &creds("carol"));
    assert_refused(&push, Refusal::Denied, "DOWNLOAD-only push");

    // READ alone is not enough to pull (tool:v1 exists: alice pushed it above).
    stack.add_user("dan", &[]);
    stack.grant(&p, "dan", "READ");
    let pull = stack.pull(&format!("{p}/tool:v1"), Some(&creds("dan")));
    assert_refused(&pull, Refusal::Denied, "READ-only pull");

    // A wrong password is refused as bad credentials, not served anonymously.
    let pull = stack.pull(&format!("{p}/tool:v1"), Some("carol:wrong-password"));
    assert_refused(&pull, Refusal::BadCredentials, "wrong password");
}

#[test]
fn access_token_with_download_scope_pulls_but_cannot_push() {
    let stack = Stack::with_registry();
    let p = project(&stack, "alice");
    let img = tiny_image(stack.dir.path(), "v1", "one");
    let (push, _) = stack.push(&img, &format!("{p}/tool:v1"), &creds("alice"));
    assert!(push.success, "{}", push.output);

    let download_only = stack.token("alice", "view,download");
    let login = format!("anything:{download_only}");
    let pull = stack.pull(&format!("{p}/tool:v1"), Some(&login));
    assert!(pull.success, "token pull failed: {}", pull.output);
    let (push, _) = stack.push(&img, &format!("{p}/tool:v2"), &login);
    assert_refused(&push, Refusal::Denied, "push with a view,download token");

    // With download+modify the same user pushes.
    let rw = stack.token("alice", "download,modify");
    let (push, _) = stack.push(&img, &format!("{p}/tool:v2"), &format!("whoever:{rw}"));
    assert!(
        push.success,
        "download+modify token push failed: {}",
        push.output
    );

    // A revoked token is bad credentials.
    let list = stack.ok(&["token", "list", "alice"]);
    let first_id = list
        .lines()
        .next()
        .and_then(|l| l.split('\t').next())
        .expect("token id")
        .to_string();
    stack.ok(&["token", "revoke", &first_id]);
    let pull = stack.pull(&format!("{p}/tool:v1"), Some(&login));
    assert_refused(&pull, Refusal::BadCredentials, "revoked token");
}

#[test]
fn trashed_repository_and_trashed_project_refuse_everything() {
    let stack = Stack::with_registry();
    let p = project(&stack, "alice");
    let img = tiny_image(stack.dir.path(), "v1", "one");
    let (push, _) = stack.push(&img, &format!("{p}/tool:v1"), &creds("alice"));
    assert!(push.success, "{}", push.output);
    let repo = format!("{p}/tool");
    // The repository exists once the registry's notification arrived.
    eventually(10, || {
        stack
            .cli(&["acl", "show", &repo], None)
            .status
            .success()
            .then_some(())
    })
    .expect("repository never recorded from the notification");

    stack.ok(&["trash", &repo]);
    assert_refused(
        &stack.pull(&format!("{repo}:v1"), Some(&creds("alice"))),
        Refusal::Denied,
        "pull from trashed repo",
    );
    let (push, _) = stack.push(&img, &format!("{repo}:v2"), &creds("alice"));
    assert_refused(&push, Refusal::Denied, "push to trashed repo");
    // Even the admin is refused.
    assert_refused(
        &stack.pull(&format!("{repo}:v1"), Some("root:correct horse battery")),
        Refusal::Denied,
        "admin pull from trashed repo",
    );

    stack.ok(&["restore", &repo]);
    assert!(
        stack
            .pull(&format!("{repo}:v1"), Some(&creds("alice")))
            .success,
        "restored repo not pullable"
    );

    stack.ok(&["trash", &p]);
    assert_refused(
        &stack.pull(&format!("{repo}:v1"), Some(&creds("alice"))),
        Refusal::Denied,
        "pull under trashed project",
    );
    let (push, _) = stack.push(&img, &format!("{p}/other:v1"), &creds("alice"));
    assert_refused(&push, Refusal::Denied, "new repo under trashed project");
}

#[test]
fn local_sharing_settings_override_the_project() {
    let stack = Stack::with_registry();
    let p = project(&stack, "alice");
    let img = tiny_image(stack.dir.path(), "v1", "one");
    for repo in ["shared", "private"] {
        let (push, _) = stack.push(&img, &format!("{p}/{repo}:v1"), &creds("alice"));
        assert!(push.success, "{}", push.output);
    }
    let private = format!("{p}/private");
    eventually(10, || {
        stack
            .cli(&["acl", "show", &private], None)
            .status
            .success()
            .then_some(())
    })
    .expect("repository never recorded");

    stack.add_user("erin", &[]);
    stack.add_user("frank", &[]);
    stack.grant(&p, "erin", "READ,DOWNLOAD");
    // Local settings start as a copy of the project's ACL; then erin is taken out and
    // frank (who has nothing on the project) is put in.
    stack.grant(&private, "frank", "DOWNLOAD");
    stack.ok(&["acl", "revoke", &private, "erin"]);

    assert!(
        stack
            .pull(&format!("{p}/shared:v1"), Some(&creds("erin")))
            .success,
        "project grant ignored"
    );
    assert_refused(
        &stack.pull(&format!("{private}:v1"), Some(&creds("erin"))),
        Refusal::Denied,
        "local settings did not override",
    );
    assert!(
        stack
            .pull(&format!("{private}:v1"), Some(&creds("frank")))
            .success,
        "local grant ignored"
    );
    assert_refused(
        &stack.pull(&format!("{p}/shared:v1"), Some(&creds("frank"))),
        Refusal::Denied,
        "local grant leaked to project",
    );

    // Back to inheriting.
    stack.ok(&["acl", "inherit", &private]);
    assert!(
        stack
            .pull(&format!("{private}:v1"), Some(&creds("erin")))
            .success
    );
    assert_refused(
        &stack.pull(&format!("{private}:v1"), Some(&creds("frank"))),
        Refusal::Denied,
        "local grant kept after inherit",
    );
}

#[test]
fn team_and_public_grants() {
    let stack = Stack::with_registry();
    let p = project(&stack, "alice");
    let img = tiny_image(stack.dir.path(), "v1", "one");
    let (push, _) = stack.push(&img, &format!("{p}/tool:v1"), &creds("alice"));
    assert!(push.success, "{}", push.output);

    stack.add_user("gina", &[]);
    assert_refused(
        &stack.pull(&format!("{p}/tool:v1"), Some(&creds("gina"))),
        Refusal::Denied,
        "pull without any grant",
    );
    stack.ok(&["team", "add", "lab"]);
    stack.ok(&["team", "member", "add", "lab", "gina"]);
    stack.grant(&p, "team:lab", "DOWNLOAD");
    assert!(
        stack
            .pull(&format!("{p}/tool:v1"), Some(&creds("gina")))
            .success,
        "team grant ignored"
    );

    // Anonymous pulls only when public has DOWNLOAD (ours).
    assert_refused(
        &stack.pull(&format!("{p}/tool:v1"), None),
        Refusal::Denied,
        "anonymous pull without public grant",
    );
    stack.grant(&p, "public", "READ,DOWNLOAD");
    let anon = stack.pull(&format!("{p}/tool:v1"), None);
    assert!(
        anon.success,
        "anonymous pull with public DOWNLOAD failed: {}",
        anon.output
    );
}

/// What the registry itself answers for a token that lacks the action: 401 with an
/// `insufficient_scope` challenge, never 403.
#[test]
fn registry_refuses_a_token_without_the_action() {
    let stack = Stack::with_registry();
    let p = project(&stack, "alice");
    let img = tiny_image(stack.dir.path(), "v1", "one");
    let (push, _) = stack.push(&img, &format!("{p}/tool:v1"), &creds("alice"));
    assert!(push.success, "{}", push.output);
    stack.add_user("hank", &[]);

    let client = reqwest::blocking::Client::new();
    let token_for = |user: &str| -> String {
        let r: serde_json::Value = client
            .get(stack.url("/token"))
            .query(&[
                ("service", SERVICE),
                ("scope", &format!("repository:{p}/tool:pull")),
            ])
            .basic_auth(user, Some(CREDS_PW))
            .send()
            .expect("token request")
            .json()
            .expect("token json");
        r["token"].as_str().expect("token").to_string()
    };
    let tags = stack.registry_url(&format!("/v2/{p}/tool/tags/list"));

    let ok = client
        .get(&tags)
        .bearer_auth(token_for("alice"))
        .send()
        .expect("tags");
    assert_eq!(ok.status(), 200, "registry rejected our token");
    let body: serde_json::Value = ok.json().expect("tags json");
    assert_eq!(body["tags"], serde_json::json!(["v1"]));

    let denied = client
        .get(&tags)
        .bearer_auth(token_for("hank"))
        .send()
        .expect("tags");
    assert_eq!(denied.status(), 401);
    let challenge = denied
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(challenge.contains("insufficient_scope"), "{challenge}");

    // A token signed by a key the registry does not trust is refused, even with
    // every claim right.
    let other = tempfile::tempdir().expect("tempdir");
    regauth::infra::crypto::generate(
        other.path(),
        regauth::infra::crypto::KeyAlgorithm::Rs256,
        ISSUER,
    )
    .expect("keygen");
    let ring = regauth::infra::crypto::KeyRing::load(other.path()).expect("keyring");
    let forger = regauth::infra::crypto::Signer::new(
        ring,
        regauth::infra::crypto::KidStyle::Libtrust,
        ISSUER.to_string(),
        std::time::Duration::from_secs(300),
        std::time::Duration::from_secs(10),
    )
    .expect("signer");
    // Signed the way the token endpoint signs: through the `TokenSigner` port.
    let forged = forger
        .sign(regauth::domain::ports::TokenClaims {
            subject: "alice",
            audience: SERVICE,
            access: vec![regauth::domain::scope::ResourceActions {
                resource_type: "repository".into(),
                name: format!("{p}/tool"),
                actions: vec!["pull".into()],
            }],
            now: regauth::app::clock::SystemClock.now(),
            expires_by: None,
        })
        .expect("sign");
    let r = client
        .get(&tags)
        .bearer_auth(&forged.token)
        .send()
        .expect("tags");
    assert_eq!(
        r.status(),
        401,
        "registry accepted a token from an untrusted key"
    );
}
