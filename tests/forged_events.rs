//! Forged registry notifications change nothing. Whoever holds the webhook's secret can
//! post events, but regauth applies a manifest push (or delete) only inside a grant it
//! issued itself: a token with `push` (or `delete`) on that repository to that actor,
//! around the event's own time. With the real registry and skopeo: a normal push is
//! recorded as before; a forged push of a repository nobody was granted and a tag move
//! in another user's name are refused, counted in `/metrics` and audited, and the read
//! API shows nothing new, so a later push by a user with UPDATE but no CREATE is still
//! refused (a forged "first push" used to make the repository exist, after which UPDATE
//! sufficed). Beside a Synapse, only the events that match a grant reach its listener,
//! or (without one) are recorded in the own directory. And `serve` refuses a guessable
//! secret on the public listener.

mod common;
mod synapse;

use common::*;
use reqwest::blocking::Client;
use serde_json::{json, Value};
use synapse::{FakeSynapse, LISTENER_KEY, LISTENER_SECRET};

fn creds(user: &str) -> String {
    format!("{user}:{PASSWORD}")
}

/// Now, as the registry stamps events (RFC 3339).
fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("now")
}

/// A manifest push event of `repo:tag` at `digest` in `actor`'s name, stamped now.
fn push_event(id: &str, repo: &str, tag: &str, digest: &str, actor: &str, host: &str) -> Value {
    json!({
        "id": id,
        "timestamp": now(),
        "action": "push",
        "target": {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest, "size": 400, "length": 400,
            "repository": repo, "tag": tag
        },
        "request": {"id": "r", "addr": "127.0.0.1:4000", "host": host, "method": "PUT", "useragent": "skopeo"},
        "actor": {"name": actor}
    })
}

/// Posts `events` to the webhook with the right secret; the counts it answers.
fn notify(stack: &Stack, events: Vec<Value>) -> Value {
    let r = Client::new()
        .post(stack.url("/notifications"))
        .header(
            "content-type",
            "application/vnd.docker.distribution.events.v1+json",
        )
        .header("authorization", format!("Bearer {NOTIFY_SECRET}"))
        .body(json!({ "events": events }).to_string())
        .send()
        .expect("notify");
    assert_eq!(r.status(), 200);
    r.json().expect("counts")
}

fn api(stack: &Stack, path: &str, user: &str) -> (u16, Value) {
    let r = Client::new()
        .get(stack.url(path))
        .basic_auth(user, Some(PASSWORD))
        .send()
        .expect("api request");
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

/// `regauth_notification_events_total{outcome="..."}` as `/metrics` shows it.
fn events_counted(stack: &Stack, outcome: &str) -> u64 {
    let text = Client::new()
        .get(stack.url("/metrics"))
        .send()
        .expect("metrics")
        .text()
        .expect("metrics text");
    let series = format!("regauth_notification_events_total{{outcome=\"{outcome}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&series))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn forged_pushes_change_nothing_and_a_later_push_still_needs_create() {
    let stack = Stack::with_registry_and_metrics();
    stack.add_user("alice", &["--certified"]);
    stack.add_user("judy", &["--certified"]);
    let p = stack.add_project("alpha", "alice");
    // judy may push to existing repositories (UPDATE), not create them (no CREATE).
    stack.grant(&p, "judy", "READ,DOWNLOAD,UPDATE");
    let tool = format!("{p}/tool");
    let img = tiny_image(stack.dir.path(), "one", "first");

    // A normal push is recorded as before.
    let (pushed, digest) = stack.push(&img, &format!("{tool}:v1"), &creds("alice"));
    assert!(pushed.success, "{}", pushed.output);
    let digest = digest.expect("digest");
    let (status, tags) = api(
        &stack,
        &format!("/api/v1/repository/tags?path={tool}"),
        "alice",
    );
    assert_eq!(status, 200, "{tags}");
    assert_eq!(tags["tags"][0]["digest"], digest.as_str(), "{tags}");
    assert!(
        eventually(5, || (events_counted(&stack, "recorded") >= 1)
            .then_some(()))
        .is_some(),
        "the real push was not counted as recorded"
    );
    let unauthorized = events_counted(&stack, "unauthorized");

    // Forged with the right secret: a first push of a repository nobody was granted,
    // judy moving alice's tag, and the admin inventing one. None was ever granted.
    let evil = format!("sha256:{}", "e".repeat(64));
    let host = format!("127.0.0.1:{}", stack.registry_port);
    let counts = notify(
        &stack,
        vec![
            push_event(
                "forged-1",
                &format!("{p}/forged"),
                "v1",
                &evil,
                "judy",
                &host,
            ),
            push_event("forged-2", &tool, "v1", &evil, "judy", &host),
            push_event("forged-3", &tool, "evil", &evil, "root", &host),
        ],
    );
    assert_eq!(counts["unauthorized"], 3, "{counts}");
    assert_eq!(counts["recorded"], 0, "{counts}");

    // The read API shows no new repository and no new or moved tag.
    let (status, body) = api(
        &stack,
        &format!("/api/v1/repository?path={p}/forged"),
        "alice",
    );
    assert_eq!(status, 404, "a forged push made a repository: {body}");
    let (_, repos) = api(
        &stack,
        &format!("/api/v1/projects/{p}/repositories"),
        "alice",
    );
    assert_eq!(
        repos["repositories"].as_array().map(Vec::len),
        Some(1),
        "{repos}"
    );
    let (_, after) = api(
        &stack,
        &format!("/api/v1/repository/tags?path={tool}"),
        "alice",
    );
    assert_eq!(after, tags, "a forged event moved or added a tag");

    // So the repository the forgery announced is still new: judy (UPDATE, no CREATE)
    // cannot push it into existence.
    let (r, _) = stack.push(&img, &format!("{p}/forged:v1"), &creds("judy"));
    assert_refused(
        &r,
        Refusal::Denied,
        "UPDATE alone pushed to a repository only a forged event had announced",
    );
    let (status, _) = api(
        &stack,
        &format!("/api/v1/repository?path={p}/forged"),
        "alice",
    );
    assert_eq!(status, 404);

    // Counted and audited, with the event's actor, repository, tag, digest, id and why.
    assert_eq!(events_counted(&stack, "unauthorized"), unauthorized + 3);
    let audit = stack.ok(&["audit", "--json", "--limit", "1000"]);
    let refused: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("json line"))
        .filter(|e| e["kind"] == "registry_event_refused")
        .collect();
    assert_eq!(refused.len(), 3, "{audit}");
    let first = refused
        .iter()
        .find(|e| e["detail"]["event_id"] == "forged-1")
        .expect("forged-1 audited");
    assert_eq!(first["actor"], "judy");
    assert_eq!(first["subject"], format!("{p}/forged"));
    assert_eq!(first["detail"]["repository"], format!("{p}/forged"));
    assert_eq!(first["detail"]["tag"], "v1");
    assert_eq!(first["detail"]["digest"], evil.as_str());
    assert_eq!(first["detail"]["why"], "no_grant");
    let human = stack.ok(&["audit"]);
    assert!(human.contains("registry_event_refused"), "{human}");

    // alice's next real push still lands.
    let two = tiny_image(stack.dir.path(), "two", "second");
    let (pushed, _) = stack.push(&two, &format!("{tool}:v2"), &creds("alice"));
    assert!(pushed.success, "{}", pushed.output);
}

#[test]
fn beside_synapse_only_granted_events_reach_its_listener() {
    let fake = FakeSynapse::start();
    let alice = fake.add_user("alice", "alice's password");
    fake.set_certified(alice, true);
    let bob = fake.add_user("bob", "bob's password");
    let p = fake.add_project("tools");
    fake.set_owner(&p, alice);
    fake.grant(&p, alice, &synapse::EVERY_ACCESS);
    let listener = format!(
        "listener_url = \"{}/dockerRegistryListener/v1/events\"\nlistener_key = \"{LISTENER_KEY}\"\nlistener_secret = \"{LISTENER_SECRET}\"",
        fake.base_url()
    );
    let stack = Stack::beside_synapse(&fake.base_url(), fake.registry_host(), None, &listener);
    let host = fake.registry_host().to_string();
    let digest = format!("sha256:{}", "a".repeat(64));

    // Nothing granted yet: a forged batch is not handed on at all.
    let counts = notify(
        &stack,
        vec![push_event(
            "s-0",
            &format!("{p}/tool"),
            "v1",
            &digest,
            &alice.to_string(),
            &host,
        )],
    );
    assert_eq!(
        (counts["forwarded"].clone(), counts["unauthorized"].clone()),
        (json!(0), json!(1))
    );
    assert!(
        fake.listener_events().is_empty(),
        "{:?}",
        fake.listener_events()
    );

    // alice's push token records the grant in regauth's own directory.
    let r = Client::new()
        .get(stack.url("/token"))
        .query(&[
            ("service", SERVICE.to_string()),
            ("scope", format!("repository:{p}/tool:pull,push")),
        ])
        .basic_auth("alice", Some("alice's password"))
        .send()
        .expect("token");
    assert_eq!(r.status(), 200);
    let body: Value = r.json().expect("token json");
    let (_, claims) = jwt(body["token"].as_str().expect("token"));
    assert_eq!(claims["access"][0]["actions"], json!(["pull", "push"]));

    // Her event goes on, as sent; bob's forged one in the same batch does not.
    let granted = push_event(
        "s-1",
        &format!("{p}/tool"),
        "v1",
        &digest,
        &alice.to_string(),
        &host,
    );
    let forged = push_event(
        "s-2",
        &format!("{p}/other"),
        "v1",
        &digest,
        &bob.to_string(),
        &host,
    );
    let counts = notify(&stack, vec![granted.clone(), forged]);
    assert_eq!(
        (counts["forwarded"].clone(), counts["unauthorized"].clone()),
        (json!(1), json!(1))
    );
    let batches = fake.listener_events();
    assert_eq!(batches.len(), 1, "{batches:?}");
    assert_eq!(batches[0], json!({ "events": [granted] }));
    let audit = stack.ok(&["audit", "--json"]);
    assert!(
        audit.contains("registry_event_refused") && audit.contains("\"s-2\""),
        "{audit}"
    );
}

#[test]
fn beside_synapse_without_a_listener_only_granted_events_are_recorded_here() {
    let fake = FakeSynapse::start();
    let alice = fake.add_user("alice", "alice's password");
    fake.set_certified(alice, true);
    let bob = fake.add_user("bob", "bob's password");
    let p = fake.add_project("tools");
    fake.set_owner(&p, alice);
    fake.grant(&p, alice, &synapse::EVERY_ACCESS);
    let stack = Stack::beside_synapse(&fake.base_url(), fake.registry_host(), None, "");
    let host = fake.registry_host().to_string();
    let digest = format!("sha256:{}", "a".repeat(64));
    // bob never asked for a token: his "first push" records nothing.
    let forged = push_event(
        "l-1",
        &format!("{p}/tool"),
        "v1",
        &digest,
        &bob.to_string(),
        &host,
    );
    let counts = notify(&stack, vec![forged]);
    assert_eq!(counts["unauthorized"], 1, "{counts}");
    let (status, _) = api(&stack, &format!("/api/v1/repository?path={p}/tool"), "root");
    assert_eq!(status, 404, "a forged push was recorded beside Synapse");
    // alice's push, granted by a token regauth issued, is.
    stack.record_push_as(
        &format!("{p}/tool"),
        "v1",
        &alice.to_string(),
        ("alice", "alice's password"),
    );
    let (status, tags) = api(
        &stack,
        &format!("/api/v1/repository/tags?path={p}/tool"),
        "root",
    );
    assert_eq!(status, 200, "{tags}");
    assert_eq!(tags["tags"][0]["pusher"], alice.to_string());
}

/// `regauth serve` with `[server]` and `[notifications]` as given, in a fresh directory;
/// stopped once it has exited or answered `/readyz`. Returns whether it became ready,
/// and its stderr.
fn serve_with(server: &str, secret: &str) -> (bool, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().display();
    let port = free_port();
    let config = dir.path().join("regauth.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\n{server}\n[keys]\ndir = \"{d}/keys\"\nbundle = \"{d}/keys/bundle.pem\"\n[directory]\npath = \"{d}/data/regauth.db\"\n[notifications]\nsecret = \"{secret}\"\n[bootstrap]\nadmin_password = \"{PASSWORD}\"\n"
        ),
    )
    .expect("config");
    let stderr = dir.path().join("stderr");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_regauth"))
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .env_remove("REGAUTH_CONFIG")
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&stderr).expect("stderr file"))
        .spawn()
        .expect("serve");
    let ready = eventually(30, || {
        if let Ok(Some(_)) = child.try_wait() {
            return Some(false);
        }
        Client::new()
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .is_ok_and(|r| r.status() == 200)
            .then_some(true)
    })
    .expect("serve neither exited nor became ready");
    let _ = child.kill();
    let _ = child.wait();
    (
        ready,
        std::fs::read_to_string(&stderr).unwrap_or_default(),
        dir,
    )
}

#[test]
fn serve_refuses_a_guessable_secret_on_the_public_listener() {
    for secret in ["change-me", "notify-secret-for-tests"] {
        let (ready, stderr, dir) = serve_with("", secret);
        assert!(
            !ready,
            "{secret}: started with the webhook public: {stderr}"
        );
        let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error")).collect();
        assert_eq!(errors.len(), 1, "{stderr}");
        assert!(
            errors[0].contains("notifications.secret")
                && errors[0].contains("server.notifications_listen"),
            "{stderr}"
        );
        assert!(!stderr.contains(secret), "the secret printed: {stderr}");
        assert!(
            !dir.path().join("data").exists() && !dir.path().join("keys").exists(),
            "refused, yet it created files first"
        );
    }
    // A long random one may be public; a placeholder on an internal listener starts,
    // with a warning; an empty one (webhook disabled) starts anywhere.
    let (ready, stderr, _d) = serve_with("", &"a1b2".repeat(16));
    assert!(ready, "{stderr}");
    let internal = format!("notifications_listen = \"127.0.0.1:{}\"", free_port());
    let (ready, stderr, _d) = serve_with(&internal, "change-me");
    assert!(ready, "{stderr}");
    assert!(stderr.contains("placeholder"), "no warning: {stderr}");
    let (ready, stderr, _d) = serve_with("", "");
    assert!(ready, "{stderr}");
}
