//! `regauth directory backup` and `restore` with the real binary: a backup taken while
//! four clients ask for tokens, written private and whole; restored into a fresh SQLite
//! directory and into a real PostgreSQL one, every token answer, tag and audit record is
//! what it was; a non-empty target, a corrupt file and a newer format are refused with
//! one line and change nothing.

mod common;
#[path = "support/throwaway.rs"]
mod throwaway;

use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::*;
use serde_json::Value;

/// What each of the directory's callers gets: the pull actions on each repository.
fn answers(s: &Stack, who: &[(&str, &str)], repos: &[String]) -> Vec<Value> {
    let mut out = Vec::new();
    for (user, secret) in who {
        for repo in repos {
            let r = reqwest::blocking::Client::new()
                .get(s.url("/token"))
                .query(&[
                    ("service", SERVICE),
                    ("scope", &format!("repository:{repo}:pull,push")),
                ])
                .basic_auth(user, Some(secret))
                .send()
                .expect("GET /token");
            let status = r.status().as_u16();
            let body: Value = r.json().unwrap_or(Value::Null);
            out.push(match body["token"].as_str() {
                Some(t) => jwt(t).1["access"].clone(),
                None => Value::from(status),
            });
        }
    }
    out
}

/// `repo tags`'s lines (tag, digest, when).
fn tag_lines(s: &Stack, repo: &str) -> std::collections::BTreeSet<String> {
    s.ok(&["repo", "tags", repo])
        .lines()
        .map(str::to_string)
        .collect()
}

fn cli_fails(s: &Stack, args: &[&str]) -> String {
    let out = s.cli(args, None);
    assert_eq!(out.status.code(), Some(1), "{args:?} should fail");
    let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    err
}

#[test]
fn a_backup_taken_under_load_restores_into_both_engines_with_every_answer_the_same() {
    let s = Stack::with_registry();
    s.add_user("alice", &["--certified"]);
    s.add_user("bob", &[]);
    let p = s.add_project("alpha", "alice");
    s.grant(&p, "bob", "READ,DOWNLOAD");
    let img = tiny_image(s.dir.path(), "v1", "backed up");
    let (push, _) = s.push(&img, &format!("{p}/tool:v1"), &format!("alice:{PASSWORD}"));
    assert!(push.success, "{}", push.output);
    let token = s.token("bob", "view,download");
    let revoked = s.token("bob", "view,download");
    let revoked_id = s.ok(&["token", "list", "bob"]);
    let revoked_id = revoked_id
        .lines()
        .last()
        .and_then(|l| l.split('\t').next())
        .expect("token id")
        .to_string();
    s.ok(&["token", "revoke", &revoked_id]);
    let who = [
        ("alice", PASSWORD),
        ("bob", PASSWORD),
        ("bob", token.as_str()),
        ("bob", revoked.as_str()),
        ("nobody", "wrong"),
    ];
    let repos = [format!("{p}/tool"), format!("{p}/new")];
    let before = answers(&s, &who, &repos);
    assert!(
        before.iter().any(|a| a.is_number()),
        "a refusal among them: {before:?}"
    );

    // What the audit trail holds before the backup (once its writer has flushed): all
    // of it must come back.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let audit_before = s
        .ok(&["audit", "--limit", "100000", "--json"])
        .lines()
        .count();

    // Four clients asking for tokens all along the backup.
    let stop = Arc::new(AtomicBool::new(false));
    let url = s.url("/token");
    let load: Vec<_> = (0..4)
        .map(|_| {
            let (stop, url) = (stop.clone(), url.clone());
            std::thread::spawn(move || {
                let c = reqwest::blocking::Client::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let r = c
                        .get(&url)
                        .query(&[("service", SERVICE)])
                        .basic_auth("alice", Some(PASSWORD))
                        .send();
                    assert!(r.is_ok_and(|r| r.status() == 200));
                    n += 1;
                }
                n
            })
        })
        .collect();
    // A `docker login` (its refresh token) taken before the backup works after it.
    let identity = docker_login(&s, "bob", PASSWORD);
    let file = s.dir.path().join("backups/regauth.backup");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    // And the registry pushing (skopeo) all along the backup too.
    let (printed, pushed, tags_then) = std::thread::scope(|scope| {
        let pusher = scope.spawn(|| {
            let mut pushed = 0;
            while pushed == 0 || !stop.load(Ordering::Relaxed) {
                let tag = format!("during-{pushed}");
                let img = tiny_image(&s.dir.path().join("during"), &tag, &tag);
                let (r, _) = s.push(
                    &img,
                    &format!("{p}/tool:{tag}"),
                    &format!("alice:{PASSWORD}"),
                );
                assert!(r.success, "{}", r.output);
                pushed += 1;
            }
            pushed
        });
        // The backup starts once pushes are under way (one recorded).
        let tags_then = eventually(60, || {
            let tags = tag_lines(&s, &format!("{p}/tool"));
            (tags.len() > 1).then_some(tags)
        })
        .expect("a push during the backup");
        let printed = s.ok(&["directory", "backup", "--to", &file.display().to_string()]);
        stop.store(true, Ordering::Relaxed);
        (printed, pusher.join().unwrap(), tags_then)
    });
    let served: usize = load.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(served > 0 && pushed > 0);
    assert!(printed.contains("backed up into"), "{printed}");
    assert!(printed.contains("audit_events"), "{printed}");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the backup is private");
    let leftovers: Vec<_> = std::fs::read_dir(file.parent().unwrap()).unwrap().collect();
    assert_eq!(
        leftovers.len(),
        1,
        "nothing but the backup is left beside it"
    );
    // The tags a restore must hold: every one recorded before the backup began, and
    // none the server never recorded.
    let tags_after = tag_lines(&s, &format!("{p}/tool"));
    assert!(tags_after.iter().any(|t| t.starts_with("during-")) && tags_then.len() > 1);
    let holds_the_backups_tags = |restored: &Stack| {
        let restored = tag_lines(restored, &format!("{p}/tool"));
        assert!(
            restored.is_superset(&tags_then),
            "{restored:?} ⊉ {tags_then:?}"
        );
        assert!(
            restored.is_subset(&tags_after),
            "{restored:?} ⊄ {tags_after:?}"
        );
        restored
    };

    // Into a fresh SQLite directory: refused while it holds its bootstrap admin, then
    // replaced; the same answers.
    let mut sqlite = Stack::with_registry();
    sqlite.stop_regauth();
    let from = file.display().to_string();
    let err = cli_fails(&sqlite, &["directory", "restore", "--from", &from]);
    assert!(err.contains("--replace"), "{err}");
    sqlite.ok(&["directory", "restore", "--from", &from, "--replace"]);
    sqlite.start_regauth();
    assert_eq!(answers(&sqlite, &who, &repos), before);
    let tags_backed_up = holds_the_backups_tags(&sqlite);
    assert_eq!(
        refresh_grant(&sqlite, &identity, &format!("repository:{p}/tool:pull")).status(),
        200,
        "a docker login from before the backup"
    );
    let audit_after = sqlite
        .ok(&["audit", "--limit", "100000", "--json"])
        .lines()
        .count();
    assert!(
        audit_after >= audit_before,
        "{audit_after} < {audit_before}"
    );
    let pull = sqlite.pull(&format!("{p}/tool:v1"), Some(&format!("bob:{token}")));
    assert!(
        !pull.output.contains("invalid username or password"),
        "{}",
        pull.output
    );

    // Into PostgreSQL.
    let mut pg = Stack::with_registry();
    let url = throwaway::fresh_database_url();
    pg.restart_on_postgres(secrecy::ExposeSecret::expose_secret(&url));
    pg.stop_regauth();
    pg.ok(&["directory", "restore", "--from", &from, "--replace"]);
    pg.start_regauth();
    assert_eq!(answers(&pg, &who, &repos), before);
    assert_eq!(holds_the_backups_tags(&pg), tags_backed_up);
    assert_eq!(
        refresh_grant(&pg, &identity, &format!("repository:{p}/tool:pull")).status(),
        200
    );

    // And back: a backup of the PostgreSQL directory, taken while it serves, restored
    // into SQLite, answers the same.
    let again = pg.dir.path().join("from-postgres.backup");
    let printed = pg.ok(&["directory", "backup", "--to", &again.display().to_string()]);
    assert!(printed.contains("backed up into"), "{printed}");
    let mut back = Stack::with_registry();
    back.stop_regauth();
    back.ok(&[
        "directory",
        "restore",
        "--from",
        &again.display().to_string(),
        "--replace",
    ]);
    back.start_regauth();
    assert_eq!(answers(&back, &who, &repos), before);
    assert_eq!(holds_the_backups_tags(&back), tags_backed_up);
}

#[test]
fn a_corrupt_file_or_a_newer_format_is_refused_and_changes_nothing() {
    let s = Stack::regauth_only();
    s.add_user("alice", &[]);
    let file = s.dir.path().join("regauth.backup");
    let from = file.display().to_string();
    s.ok(&["directory", "backup", "--to", &from]);
    let target = Stack::regauth_only();

    // Not a backup at all.
    let junk = s.dir.path().join("junk.backup");
    std::fs::write(&junk, b"not a database").unwrap();
    let err = cli_fails(
        &target,
        &[
            "directory",
            "restore",
            "--replace",
            "--from",
            &junk.display().to_string(),
        ],
    );
    assert!(err.contains("not a regauth backup"), "{err}");

    // A row changed after the manifest was written.
    require_tool("sqlite3");
    let tampered = s.dir.path().join("tampered.backup");
    std::fs::copy(&file, &tampered).unwrap();
    run_ok(
        "sqlite3",
        &[
            &tampered.display().to_string(),
            "UPDATE users SET admin = 1;",
        ],
    );
    let err = cli_fails(
        &target,
        &[
            "directory",
            "restore",
            "--replace",
            "--from",
            &tampered.display().to_string(),
        ],
    );
    assert!(err.contains("corrupt"), "{err}");

    // A format from a newer build.
    let newer = s.dir.path().join("newer.backup");
    std::fs::copy(&file, &newer).unwrap();
    run_ok(
        "sqlite3",
        &[
            &newer.display().to_string(),
            "UPDATE backup_manifest SET value = '99' WHERE key = 'format';",
        ],
    );
    let err = cli_fails(
        &target,
        &[
            "directory",
            "restore",
            "--replace",
            "--from",
            &newer.display().to_string(),
        ],
    );
    assert!(err.contains("newer"), "{err}");

    // The target is as it was: its admin still there, alice not.
    let users = target.ok(&["user", "list"]);
    assert!(!users.contains("alice"), "{users}");
}
