//! Registry notifications end to end: the real registry (Debian's docker-registry with
//! `notifications` pointed at regauth) and skopeo push; regauth records repositories
//! and tag digests, and the read API shows them, ACL-filtered. Events regauth never
//! granted are refused: `tests/forged_events.rs`.

mod common;

use common::*;
use reqwest::blocking::Client;
use serde_json::{json, Value};

fn creds(user: &str) -> String {
    format!("{user}:{PASSWORD}")
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

/// The current digest of `tag` in `repo`, once the notification has been stored.
fn listed_digest(stack: &Stack, repo: &str, tag: &str, want: &str) -> Option<String> {
    eventually(15, || {
        let (status, body) = api(
            stack,
            &format!("/api/v1/repository/tags?path={repo}"),
            "alice",
        );
        if status != 200 {
            return None;
        }
        let digest = body["tags"].as_array()?.iter().find(|t| t["tag"] == tag)?["digest"]
            .as_str()?
            .to_string();
        (digest == want).then_some(digest)
    })
}

#[test]
fn pushes_create_repositories_and_move_tags_with_history() {
    let stack = Stack::with_registry();
    stack.add_user("alice", &["--certified"]);
    let p = stack.add_project("alpha", "alice");
    let repo = format!("{p}/tool");
    let one = tiny_image(stack.dir.path(), "one", "first");
    let two = tiny_image(stack.dir.path(), "two", "second");

    let (push, d1) = stack.push(&one, &format!("{repo}:v1"), &creds("alice"));
    assert!(push.success, "{}", push.output);
    let d1 = d1.expect("digest");
    assert_eq!(
        listed_digest(&stack, &repo, "v1", &d1).as_deref(),
        Some(d1.as_str()),
        "the client's digest never appeared in the read API; regauth log:\n{}",
        stack.regauth_log()
    );

    let (status, body) = api(
        &stack,
        &format!("/api/v1/projects/{p}/repositories"),
        "alice",
    );
    assert_eq!(status, 200, "{body}");
    assert!(
        body["repositories"]
            .as_array()
            .is_some_and(|a| a.iter().any(|r| r["name"] == repo.as_str())),
        "{body}"
    );

    // Re-push of the tag with other content moves it and keeps the history.
    let (push, d2) = stack.push(&two, &format!("{repo}:v1"), &creds("alice"));
    assert!(push.success, "{}", push.output);
    let d2 = d2.expect("digest");
    assert_ne!(d1, d2);
    assert_eq!(
        listed_digest(&stack, &repo, "v1", &d2).as_deref(),
        Some(d2.as_str())
    );
    let (status, hist) = api(
        &stack,
        &format!("/api/v1/repository/history?path={repo}&tag=v1"),
        "alice",
    );
    assert_eq!(status, 200, "{hist}");
    let digests: Vec<&str> = hist["commits"]
        .as_array()
        .or_else(|| hist.as_array())
        .map(|a| a.iter().filter_map(|c| c["digest"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        digests,
        vec![d2.as_str(), d1.as_str()],
        "history newest first: {hist}"
    );

    // Pull by the digest the client reported.
    let pull = stack.pull(&format!("{repo}@{d1}"), Some(&creds("alice")));
    assert!(pull.success, "{}", pull.output);

    // The CLI lists the same.
    let tags = stack.ok(&["repo", "tags", &repo]);
    assert!(tags.contains(&d2), "{tags}");
    let repos = stack.ok(&["repo", "list", &p]);
    assert!(repos.contains(&repo), "{repos}");
}

#[test]
fn existing_repositories_need_update_new_ones_need_create() {
    let stack = Stack::with_registry();
    stack.add_user("alice", &["--certified"]);
    let p = stack.add_project("alpha", "alice");
    let img = tiny_image(stack.dir.path(), "one", "first");
    let (push, d) = stack.push(&img, &format!("{p}/tool:v1"), &creds("alice"));
    assert!(push.success, "{}", push.output);
    listed_digest(&stack, &format!("{p}/tool"), "v1", &d.expect("digest")).expect("recorded");

    stack.add_user("ivan", &["--certified"]);
    stack.grant(&p, "ivan", "READ,DOWNLOAD,CREATE");
    stack.add_user("judy", &["--certified"]);
    stack.grant(&p, "judy", "READ,DOWNLOAD,UPDATE");

    let (r, _) = stack.push(&img, &format!("{p}/tool:ivan"), &creds("ivan"));
    assert_refused(
        &r,
        Refusal::Denied,
        "CREATE alone pushed to an existing repository",
    );
    let (r, _) = stack.push(&img, &format!("{p}/ivan-new:v1"), &creds("ivan"));
    assert!(r.success, "CREATE could not create: {}", r.output);

    let (r, _) = stack.push(&img, &format!("{p}/tool:judy"), &creds("judy"));
    assert!(r.success, "UPDATE could not push to existing: {}", r.output);
    let (r, _) = stack.push(&img, &format!("{p}/judy-new:v1"), &creds("judy"));
    assert_refused(&r, Refusal::Denied, "UPDATE alone created a repository");
}

#[test]
fn users_without_read_see_nothing() {
    let stack = Stack::with_registry();
    stack.add_user("alice", &["--certified"]);
    stack.add_user("kim", &[]);
    let p = stack.add_project("alpha", "alice");
    let repo = format!("{p}/tool");
    let img = tiny_image(stack.dir.path(), "one", "first");
    let (push, d) = stack.push(&img, &format!("{repo}:v1"), &creds("alice"));
    assert!(push.success, "{}", push.output);
    listed_digest(&stack, &repo, "v1", &d.expect("digest")).expect("recorded");

    for path in [
        format!("/api/v1/projects/{p}/repositories"),
        format!("/api/v1/repository?path={repo}"),
        format!("/api/v1/repository/tags?path={repo}"),
        format!("/api/v1/repository/history?path={repo}&tag=v1"),
    ] {
        let (status, body) = api(&stack, &path, "kim");
        assert_eq!(status, 404, "{path}: {body}");
        let (status, missing) = api(&stack, &path.replace(&p, "syn424242"), "kim");
        assert_eq!(status, 404);
        assert_eq!(
            body, missing,
            "a hidden entity must look like a missing one"
        );
    }
    stack.grant(&p, "kim", "READ");
    let (status, _) = api(
        &stack,
        &format!("/api/v1/repository/tags?path={repo}"),
        "kim",
    );
    assert_eq!(status, 200);

    // A trashed repository reads as not found, even for its owner.
    stack.ok(&["trash", &repo]);
    let (status, _) = api(
        &stack,
        &format!("/api/v1/repository/tags?path={repo}"),
        "alice",
    );
    assert_eq!(status, 404);
}

#[test]
fn notifications_need_the_shared_secret() {
    let stack = Stack::regauth_only();
    stack.add_user("alice", &["--certified"]);
    let p = stack.add_project("alpha", "alice");
    // A push regauth granted (alice's push token), reported by the webhook: only the
    // secret decides here.
    let r = Client::new()
        .get(stack.url("/token"))
        .query(&[
            ("service", SERVICE.to_string()),
            ("scope", format!("repository:{p}/hooked:pull,push")),
        ])
        .basic_auth("alice", Some(PASSWORD))
        .send()
        .expect("push token");
    assert_eq!(r.status(), 200);
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("now");
    let event = json!({"events": [{
        "id": "evt-1",
        "timestamp": now,
        "action": "push",
        "target": {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{}", "a".repeat(64)),
            "size": 400, "length": 400,
            "repository": format!("{p}/hooked"),
            "tag": "v1"
        },
        "actor": {"name": "alice"}
    }]});
    let send = |auth: Option<&str>| {
        let mut req = Client::new()
            .post(stack.url("/notifications"))
            .header(
                "content-type",
                "application/vnd.docker.distribution.events.v1+json",
            )
            .body(event.to_string());
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        req.send().expect("notify").status().as_u16()
    };
    assert_eq!(send(None), 401);
    assert_eq!(send(Some("Bearer wrong")), 401);
    let (status, _) = api(
        &stack,
        &format!("/api/v1/repository?path={p}/hooked"),
        "alice",
    );
    assert_eq!(status, 404, "a refused notification stored something");

    assert_eq!(send(Some(&format!("Bearer {NOTIFY_SECRET}"))), 200);
    assert_eq!(
        send(Some(&format!("Bearer {NOTIFY_SECRET}"))),
        200,
        "retries are fine"
    );
    let (status, body) = api(
        &stack,
        &format!("/api/v1/repository/tags?path={p}/hooked"),
        "alice",
    );
    assert_eq!(status, 200);
    assert_eq!(
        body["tags"].as_array().map(Vec::len),
        Some(1),
        "duplicate event stored twice: {body}"
    );
}
