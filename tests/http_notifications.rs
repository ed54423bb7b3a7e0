//! `POST /notifications` over real HTTP: the shared secret, media types, bad bodies,
//! duplicates; what was stored is read back with the CLI. The pushes are ones regauth
//! granted (a push token first, events stamped now): anything else is refused, see
//! `tests/forged_events.rs`.

mod common;

use common::*;
use reqwest::blocking::Client;
use serde_json::json;

fn send(stack: &Stack, auth: Option<&str>, content_type: &str, body: &str) -> (u16, String) {
    let mut req = Client::new()
        .post(stack.url("/notifications"))
        .header("content-type", content_type)
        .body(body.to_string());
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let r = req.send().expect("notify");
    (r.status().as_u16(), r.text().unwrap_or_default())
}

#[test]
fn notifications_need_the_secret_and_are_idempotent() {
    let stack = Stack::regauth_only();
    stack.add_user("alice", &["--certified"]);
    let p = stack.add_project("alpha", "alice");
    // The grant the event must match: alice's push token.
    let r = Client::new()
        .get(stack.url("/token"))
        .query(&[
            ("service", SERVICE.to_string()),
            ("scope", format!("repository:{p}/tool:pull,push")),
        ])
        .basic_auth("alice", Some(PASSWORD))
        .send()
        .expect("push token");
    assert_eq!(r.status(), 200);
    let now = time::OffsetDateTime::now_utc();
    let stamp = |extra_ms: i64| {
        (now + time::Duration::milliseconds(extra_ms))
            .format(&time::format_description::well_known::Rfc3339)
            .expect("now")
    };
    let digest = format!("sha256:{}", "a".repeat(64));
    let body = json!({"events": [
        {
            "id": "evt-1",
            "timestamp": stamp(123),
            "action": "push",
            "target": {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": digest, "size": 400, "length": 400,
                "repository": format!("{p}/tool"), "tag": "v1"
            },
            "actor": {"name": "alice"}
        },
        {"id": "evt-2", "garbage": true},
        {
            "id": "evt-3", "timestamp": stamp(1000), "action": "push",
            "target": {"mediaType": "application/octet-stream", "digest": digest, "repository": format!("{p}/tool")}
        }
    ]})
    .to_string();
    let v1 = "application/vnd.docker.distribution.events.v1+json";
    let good = format!("Bearer {NOTIFY_SECRET}");

    assert_eq!(send(&stack, None, v1, &body).0, 401);
    assert_eq!(send(&stack, Some("Bearer wrong"), v1, &body).0, 401);
    assert_eq!(send(&stack, Some(NOTIFY_SECRET), v1, &body).0, 401);
    let refused = stack.cli(&["repo", "tags", &format!("{p}/tool")], None);
    assert!(
        !refused.status.success(),
        "a refused notification stored something"
    );

    assert_eq!(send(&stack, Some(&good), "text/plain", &body).0, 415);
    assert_eq!(send(&stack, Some(&good), v1, "not json").0, 400);

    let (status, answer) = send(&stack, Some(&good), v1, &body);
    assert_eq!(status, 200, "{answer}");
    let counts: serde_json::Value = serde_json::from_str(&answer).expect("counts");
    assert_eq!(counts["recorded"], 1);
    assert_eq!(counts["malformed"], 1);
    assert_eq!(counts["skipped"], 1);
    assert_eq!(counts["unauthorized"], 0);
    // The registry retries: same event ids, nothing stored twice (v2 media type of 3.x).
    let (status, answer) = send(
        &stack,
        Some(&good),
        "application/vnd.docker.distribution.events.v2+json",
        &body,
    );
    assert_eq!(status, 200);
    assert!(answer.contains("\"duplicates\":1"), "{answer}");

    let tags = stack.ok(&["repo", "tags", &format!("{p}/tool")]);
    assert_eq!(tags.lines().count(), 1, "{tags}");
    assert!(tags.contains(&digest));
    let history = stack.ok(&["repo", "history", &format!("{p}/tool"), "v1"]);
    assert_eq!(history.lines().count(), 1);
}
