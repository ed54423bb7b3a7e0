//! `regauth directory copy`: a populated SQLite directory moved into a real PostgreSQL
//! database (a throw-away cluster this test starts), then the same server on the copy:
//! every token answer, listing and login is what it was before.

mod common;
#[path = "support/throwaway.rs"]
mod throwaway;

use common::{call, docker_login, jwt, As, Stack, NOTIFY_SECRET, PASSWORD, SERVICE};
use secrecy::ExposeSecret;

/// The `access` claim (or the errcode) of a token request, as a stable string.
fn answer(s: &Stack, who: &Who, scope: &str) -> String {
    let c = reqwest::blocking::Client::new();
    let r = match who {
        Who::Anonymous => c
            .get(s.url("/token"))
            .query(&[("service", SERVICE), ("scope", scope)])
            .send(),
        Who::Basic(user, secret) => c
            .get(s.url("/token"))
            .query(&[("service", SERVICE), ("scope", scope)])
            .basic_auth(user, Some(secret))
            .send(),
        Who::Refresh(token) => c
            .post(s.url("/token"))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", token.as_str()),
                ("service", SERVICE),
                ("client_id", "docker"),
                ("scope", scope),
            ])
            .send(),
    }
    .expect("token request");
    let status = r.status().as_u16();
    let body: serde_json::Value = r.json().expect("json");
    match body["token"].as_str() {
        Some(t) => {
            let (_, claims) = jwt(t);
            format!("{status} sub={} access={}", claims["sub"], claims["access"])
        }
        None => format!("{status} {}", body["errors"][0]["code"]),
    }
}

enum Who {
    Anonymous,
    Basic(String, String),
    Refresh(String),
}

#[test]
fn a_copied_directory_answers_every_token_request_as_before() {
    let mut s = Stack::regauth_only();
    // A directory with a bit of everything.
    s.add_user("alice", &["--certified", "--email", "alice@example.org"]);
    s.add_user("bob", &[]);
    s.add_user("carol", &["--certified"]);
    s.add_user("dave", &[]);
    s.ok(&["team", "add", "devs"]);
    s.ok(&["team", "member", "add", "devs", "bob"]);
    let p = s.add_project("tools", "alice");
    let q = s.add_project("open", "carol");
    let r = s.add_project("old", "alice");
    s.grant(&p, "team:devs", "READ,DOWNLOAD");
    s.grant(&q, "public", "READ,DOWNLOAD");
    s.grant(&p, "dave", "READ");
    s.record_push(&format!("{p}/tool"), "v1", "alice");
    s.record_push(&format!("{p}/private"), "v1", "alice");
    s.ok(&[
        "acl",
        "grant",
        &format!("{p}/private"),
        "carol",
        "READ,DOWNLOAD",
    ]);
    s.ok(&["trash", &r]);
    s.ok(&["user", "set", "carol", "--disabled", "true"]);
    let bob_token = s.token("bob", "download");
    let filed = call(
        &s,
        "POST",
        &format!("/api/v1/entities/{p}/access-requests"),
        As::Password("carol"),
        Some(serde_json::json!({"message": "please"})),
    );
    assert_eq!(filed.status().as_u16(), 401, "carol is disabled: refused");
    let filed = call(
        &s,
        "POST",
        &format!("/api/v1/entities/{p}/access-requests"),
        As::Password("dave"),
        Some(serde_json::json!({"message": "may I push"})),
    );
    assert_eq!(
        filed.status().as_u16(),
        201,
        "{}",
        filed.text().unwrap_or_default()
    );
    let refresh = docker_login(&s, "alice", PASSWORD);
    let who = [
        Who::Anonymous,
        Who::Basic("alice".into(), PASSWORD.into()),
        Who::Basic("alice@example.org".into(), PASSWORD.into()),
        Who::Basic("bob".into(), PASSWORD.into()),
        Who::Basic("carol".into(), PASSWORD.into()),
        Who::Basic("bob".into(), bob_token.clone()),
        Who::Basic("alice".into(), "wrong password".into()),
        Who::Refresh(refresh.clone()),
    ];
    let scopes = [
        format!("repository:{p}/tool:pull,push"),
        format!("repository:{p}/new:pull,push"),
        format!("repository:{p}/private:pull"),
        format!("repository:{q}/x:pull,push"),
        format!("repository:{r}/x:pull"),
    ];
    let matrix = |s: &Stack| -> Vec<String> {
        who.iter()
            .flat_map(|w| scopes.iter().map(move |sc| (w, sc)))
            .map(|(w, sc)| answer(s, w, sc))
            .collect()
    };
    let listings = |s: &Stack| -> Vec<String> {
        vec![
            s.ok(&["user", "list"]),
            s.ok(&["project", "list"]),
            s.ok(&["acl", "show", &format!("{p}/private")]),
            s.ok(&["repo", "tags", &format!("{p}/tool")]),
            s.ok(&["token", "list", "bob"]),
        ]
    };
    let before = matrix(&s);
    let listed_before = listings(&s);
    assert!(before.iter().any(|a| a.contains("\"push\"")), "{before:#?}");
    assert!(before.iter().any(|a| a.starts_with("401")), "{before:#?}");
    let audited_before = s.ok(&["audit", "--limit", "100000", "--json"]);

    // The copy, with the server stopped.
    s.stop_regauth();
    let url = throwaway::fresh_database_url();
    let db = s.dir.path().join("regauth.db");
    let copy = |replace: bool| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_regauth"));
        cmd.args(["directory", "copy", "--from"])
            .arg(&db)
            .env("REGAUTH_COPY_TO", url.expose_secret())
            .env_remove("REGAUTH_CONFIG");
        if replace {
            cmd.arg("--replace");
        }
        cmd.output().expect("directory copy")
    };
    let out = copy(false);
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for table in [
        "users ",
        "entities ",
        "access_tokens ",
        "refresh_tokens ",
        "commits ",
        "access_requests ",
        "push_grants ",
        "audit_events ",
    ] {
        let line = printed
            .lines()
            .find(|l| l.starts_with(table))
            .unwrap_or_else(|| panic!("{table}: {printed}"));
        assert!(!line.contains(" 0 rows"), "{line}");
    }
    // Never into a non-empty directory, unless told.
    let again = copy(false);
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(!again.status.success());
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("--replace"), "{err}");
    assert!(
        !err.contains(url.expose_secret()),
        "the URL's password printed: {err}"
    );
    assert!(copy(true).status.success());

    s.restart_on_postgres(url.expose_secret());
    let after = matrix(&s);
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        assert_eq!(b, a, "answer {i} changed by the copy");
    }
    assert_eq!(listings(&s), listed_before);
    // Every audit record came along, ids and all (the second run's records follow).
    let audited_after = s.ok(&["audit", "--limit", "100000", "--json"]);
    let kept: std::collections::HashSet<&str> = audited_after.lines().collect();
    assert!(audited_before.lines().count() > 20);
    for line in audited_before.lines() {
        assert!(kept.contains(line), "lost in the copy: {line}");
    }
    assert!(kept.len() > audited_before.lines().count());
    // New ids continue after the copied ones.
    let next = s.add_project("new after copy", "alice");
    assert!(
        next.trim_start_matches("syn").parse::<u64>().unwrap()
            > r.trim_start_matches("syn").parse::<u64>().unwrap()
    );
    s.record_push(&format!("{p}/tool"), "v2", "alice");
    assert!(s.ok(&["repo", "tags", &format!("{p}/tool")]).contains("v2"));
    // The push grants came along: an event of alice's push to private, delivered only
    // now, still matches the grant recorded before the copy.
    let late = serde_json::json!({"events": [{
        "id": "late-after-copy",
        "timestamp": time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .expect("now"),
        "action": "push",
        "target": {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{}", "b".repeat(64)), "size": 400,
            "repository": format!("{p}/private"), "tag": "late"
        },
        "actor": {"name": "alice"}
    }]});
    let counts: serde_json::Value = reqwest::blocking::Client::new()
        .post(s.url("/notifications"))
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {NOTIFY_SECRET}"))
        .body(late.to_string())
        .send()
        .expect("notify")
        .json()
        .expect("counts");
    assert_eq!(counts["recorded"], 1, "{counts}");
    assert!(s
        .ok(&["repo", "tags", &format!("{p}/private")])
        .contains("late"));
}
