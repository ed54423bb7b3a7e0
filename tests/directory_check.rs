//! `regauth directory check` against the real binary and a real SQLite file: a sound
//! directory says so and exits 0; rows changed behind regauth's back (with the sqlite3
//! shell, as a hand edit would) give one line per finding and exit 1.

mod common;

use common::*;

#[test]
fn a_sound_directory_passes_and_a_hand_edited_one_is_named_line_by_line() {
    let stack = Stack::regauth_only();
    stack.add_user("alice", &[]);
    stack.add_user("bob", &[]);
    let p = stack.add_project("alpha", "alice");
    stack.grant(&p, "bob", "READ");
    let out = stack.cli(&["directory", "check"], None);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("directory check: sound"), "{stdout}");

    require_tool("sqlite3");
    let db = stack.dir.path().join("regauth.db");
    run_ok(
        "sqlite3",
        &[
            &db.display().to_string(),
            "DELETE FROM users WHERE name = 'bob';",
        ],
    );
    let out = stack.cli(&["directory", "check"], None);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains("names user id"), "{stdout}");
    assert!(stderr.contains("1 finding(s)"), "{stderr}");
}
