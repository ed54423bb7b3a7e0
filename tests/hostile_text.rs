//! Output that cannot lie: the same hostile strings (a forged log line, terminal escape
//! sequences, a forged audit column, a bidi override) are refused as names at input,
//! shown as escapes by `regauth audit` and every CLI listing even when an older
//! directory holds them, and a secret typed as a user name is never stored.

mod common;

use std::time::Duration;

use common::{Stack, PASSWORD, SERVICE};
use reqwest::blocking::Client;
use serde_json::json;

const HOSTILE: [&str; 6] = [
    "x\n2026-12-06T10:00:00Z\ttoken_issued\tadmin\tadmin\t-\tregistry:catalog:*",
    "\u{1b}]0;pwned\u{7}\u{1b}[2J",
    "a\rb\0c\u{7f}",
    "alice\ttoken_issued\tadmin",
    "rtl\u{202e}gpj.exe",
    "line\u{2028}separator",
];

/// No control or reordering character but the tab separators, and `fields` columns.
fn assert_clean(out: &str, fields: usize) {
    for line in out.lines() {
        assert!(
            !line
                .chars()
                .any(|c| (c.is_control() && c != '\t') || ('\u{2028}'..='\u{206f}').contains(&c)),
            "{line:?}"
        );
        assert_eq!(line.split('\t').count(), fields, "{line:?}");
    }
}

#[test]
fn hostile_names_are_refused_at_input_and_escaped_in_every_listing() {
    let stack = Stack::regauth_only();
    for name in HOSTILE {
        let r = common::call(
            &stack,
            "POST",
            "/api/v1/projects",
            common::As::Password("root"),
            Some(json!({ "name": name })),
        );
        assert_eq!(r.status(), 400, "{name:?}");
        if !name.contains('\0') {
            // (A NUL cannot be a command-line argument at all.)
            let out = stack.cli(&["project", "add", name, "--owner", "root"], None);
            assert!(!out.status.success());
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(err.trim_end().lines().count(), 1, "{err:?}");
            assert!(!err.contains('\u{1b}'), "{err:?}");
        }
        // Token names too.
        let r = common::call(
            &stack,
            "POST",
            "/api/v1/me/tokens",
            common::As::Password("root"),
            Some(json!({ "name": name, "scopes": ["view"] })),
        );
        assert_eq!(r.status(), 400, "{name:?}");
    }
    // A directory written before names were checked: the names are shown escaped.
    stack.add_project("plain", "root");
    let db = rusqlite::Connection::open(stack.dir.path().join("regauth.db")).expect("db");
    for (i, name) in HOSTILE.iter().enumerate() {
        db.execute(
            "UPDATE entities SET name = ?1 WHERE id = (SELECT MAX(id) FROM entities)",
            [name],
        )
        .expect("update");
        let out = stack.ok(&["project", "list"]);
        assert_clean(&out, 2);
        assert!(out.contains("\\u{"), "name {i} shown raw: {out:?}");
    }
}

#[test]
fn the_audit_trail_cannot_be_forged_and_stores_no_secret_as_a_user_name() {
    let stack = Stack::regauth_only();
    let c = Client::new();
    for name in HOSTILE {
        let r = c
            .post(stack.url("/token"))
            .form(&[
                ("grant_type", "password"),
                ("username", name),
                ("password", "wrong"),
                ("service", SERVICE),
                ("client_id", "test"),
            ])
            .send()
            .expect("token");
        assert_eq!(r.status(), 401);
    }
    // An access token typed into the user-name field of a failed Basic login.
    let secret = stack.token("root", "view");
    let r = c
        .get(stack.url("/token"))
        .query(&[("service", SERVICE)])
        .basic_auth(&secret, Some("not the password"))
        .send()
        .expect("token");
    assert_eq!(r.status(), 401);
    let r = c
        .get(stack.url("/token"))
        .query(&[("service", SERVICE), ("account", &secret)])
        .basic_auth("root", Some(PASSWORD))
        .send()
        .expect("token");
    assert_eq!(r.status(), 200);
    std::thread::sleep(Duration::from_millis(500)); // the audit writer's batch
    let human = stack.ok(&["audit", "--limit", "100"]);
    assert_clean(&human, 6);
    let failed = human.lines().filter(|l| l.contains("login_failed")).count();
    assert_eq!(failed, HOSTILE.len() + 1, "{human}");
    let json = stack.ok(&["audit", "--json", "--limit", "100"]);
    for text in [&human, &json, &stack.regauth_log()] {
        assert!(!text.contains(&secret), "the secret was stored");
        assert!(
            !text.contains(&secret[4..20]),
            "part of the secret was stored"
        );
    }
    assert!(human.contains("<token rga_>"), "{human}");
}
