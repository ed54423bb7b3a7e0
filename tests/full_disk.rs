//! A directory whose disk fills up, then turns read-only, with the real binary, the real
//! registry and skopeo: the SQLite directory lives on a small ext4 file system this test
//! mounts from an image file.
//! While the disk cannot take a write, token requests of known credentials keep being
//! answered, every change is refused with 503 `UNAVAILABLE` and `Retry-After`, the
//! registry's notifications are not acknowledged (so it retries), and the log says why
//! in one line. Once space is freed, everything resumes without a restart; a file system
//! the kernel turned read-only is repaired (unmounted, checked) with regauth stopped.
//! Afterwards nothing that was acknowledged is missing.
//!
//! Mounting needs root (CI and the development machine run the tests as root); a test
//! that cannot mount fails, it is never skipped.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::{json, Value};

/// A small ext4 file system in an image file, mounted through a loop device with
/// `errors=remount-ro` (as a data disk usually is); unmounted on drop.
struct Disk {
    dir: tempfile::TempDir,
    path: PathBuf,
}

impl Disk {
    fn new(megabytes: u32) -> Disk {
        let dir = tempfile::tempdir().expect("tempdir");
        let image = dir.path().join("disk.img");
        std::fs::File::create(&image)
            .and_then(|f| f.set_len(u64::from(megabytes) << 20))
            .expect("image");
        run_ok("mkfs.ext4", &["-q", "-F", &image.display().to_string()]);
        let path = dir.path().join("disk");
        std::fs::create_dir(&path).expect("mount point");
        let disk = Disk { dir, path };
        disk.mount();
        disk
    }

    fn image(&self) -> PathBuf {
        self.dir.path().join("disk.img")
    }

    fn mount(&self) {
        let image = self.image().display().to_string();
        let at = self.path.display().to_string();
        let out = Command::new("mount")
            .args(["-o", "loop,errors=remount-ro", &image, &at])
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "mount {image}: {} (this test mounts a loop device and needs root)",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// What the kernel does on an I/O error under `errors=remount-ro`: the file system
    /// turns read-only under the open files (ext4's own fault trigger).
    fn turn_read_only(&self) {
        let source = run_ok(
            "findmnt",
            &["-no", "SOURCE", &self.path.display().to_string()],
        );
        let device = String::from_utf8_lossy(&source.stdout).trim().to_string();
        let name = Path::new(&device).file_name().expect("device name");
        let trigger = Path::new("/sys/fs/ext4")
            .join(name)
            .join("trigger_fs_error");
        std::fs::write(&trigger, "1").expect("trigger an ext4 error");
        assert!(
            std::fs::write(self.path.join("probe"), "x").is_err(),
            "the file system is still writable"
        );
    }

    /// The operator's repair of a file system the kernel made read-only: unmount, fsck,
    /// mount (which needs every file on it closed).
    fn repair(&self) {
        run_ok("umount", &[&self.path.display().to_string()]);
        // e2fsck exits 1 when it corrected errors, which the trigger left.
        let fsck = Command::new("e2fsck")
            .args(["-fy", &self.image().display().to_string()])
            .output()
            .expect("e2fsck");
        assert!(matches!(fsck.status.code(), Some(0 | 1)), "{fsck:?}");
        self.mount();
    }
}

impl Drop for Disk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// Fills the file system holding `dir` until a write fails with "no space left"; again
/// fills what was freed since, when called again.
fn fill(dir: &Path) -> PathBuf {
    let filler = dir.join("filler");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&filler)
        .expect("filler");
    let chunk = vec![0u8; 64 * 1024];
    loop {
        match f.write_all(&chunk).and_then(|()| f.sync_data()) {
            Ok(()) => continue,
            Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
            Err(e) => panic!("filling {}: {e}", dir.display()),
        }
    }
    filler
}

/// Checkpoints the write-ahead log of the SQLite file at `db` into it and truncates the
/// log to nothing (with the sqlite3 shell, as another process may); retried while a
/// reader of the server holds it.
fn truncate_wal(db: &Path) {
    require_tool("sqlite3");
    let done = eventually(10, || {
        let out = run_ok(
            "sqlite3",
            &[
                &db.display().to_string(),
                "PRAGMA wal_checkpoint(TRUNCATE);",
            ],
        );
        let row = String::from_utf8_lossy(&out.stdout).trim().to_string();
        row.starts_with("0|").then_some(())
    });
    assert!(done.is_some(), "the log of {} stayed busy", db.display());
}

/// The registry's notification of a push of `repo:tag`, as the registry sends it.
fn notify(s: &Stack, repo: &str, tag: &str, id: &str) -> reqwest::blocking::Response {
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("now");
    let event = json!({"events": [{
        "id": id, "timestamp": now, "action": "push",
        "target": {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{}", "b".repeat(64)), "size": 400,
            "repository": repo, "tag": tag
        },
        "actor": {"name": "alice"}
    }]});
    reqwest::blocking::Client::new()
        .post(s.url("/notifications"))
        .header(
            "content-type",
            "application/vnd.docker.distribution.events.v1+json",
        )
        .header("authorization", format!("Bearer {NOTIFY_SECRET}"))
        .body(event.to_string())
        .send()
        .expect("notify")
}

/// The token endpoint's answer for `scope` with Basic `user:secret`: (status, actions).
fn token(s: &Stack, user: &str, secret: &str, scope: &str) -> (u16, Value) {
    let r = reqwest::blocking::Client::new()
        .get(s.url("/token"))
        .query(&[("service", SERVICE), ("scope", scope)])
        .basic_auth(user, Some(secret))
        .send()
        .expect("GET /token");
    let status = r.status().as_u16();
    let body: Value = r.json().unwrap_or(Value::Null);
    let actions = body["token"]
        .as_str()
        .map(|t| jwt(t).1["access"][0]["actions"].clone())
        .unwrap_or(Value::Null);
    (status, actions)
}

fn tags(s: &Stack, repo: &str) -> Vec<String> {
    let out = s.ok(&["repo", "tags", repo]);
    out.lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// Records in the audit trail (each row's count: identical records fold into one).
fn audited(s: &Stack) -> u64 {
    s.ok(&["audit", "--limit", "100000", "--json"])
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("audit json");
            v["count"].as_u64().unwrap_or(1)
        })
        .sum()
}

/// A change through the API: root adds user `name`.
fn add_user(s: &Stack, name: &str) -> reqwest::blocking::Response {
    call(
        s,
        "POST",
        "/api/v1/users",
        As::Password("root"),
        Some(json!({"name": name, "password": "bob's long password"})),
    )
}

/// A change refused because the disk cannot take it: 503, `UNAVAILABLE`, `Retry-After`.
fn assert_unavailable(r: reqwest::blocking::Response, what: &str) {
    assert_eq!(r.status(), 503, "{what}");
    assert!(
        r.headers().contains_key("retry-after"),
        "{what}: no Retry-After"
    );
    let body: Value = r.json().expect("errcode json");
    assert_eq!(body["errors"][0]["code"], "UNAVAILABLE", "{what}: {body}");
}

#[test]
fn a_full_then_read_only_disk_keeps_tokens_flowing_and_loses_nothing() {
    let disk = Disk::new(32);
    let db = disk.path.join("regauth.db");
    let on_disk = |c: String| {
        c.lines()
            .map(|l| {
                if l.starts_with("path = ") && l.ends_with("/regauth.db\"") {
                    format!("path = \"{}\"", db.display())
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut stack = Stack::with_registry_and_tweak(&on_disk);
    stack.add_user("alice", &["--certified"]);
    let p = stack.add_project("p", "alice");
    let repo = format!("{p}/tool");
    let creds = format!("alice:{PASSWORD}");
    let layout = stack.dir.path().join("img");
    let v1 = tiny_image(&layout, "v1", "one");
    let (pushed, _) = stack.push(&v1, &format!("{repo}:v1"), &creds);
    assert!(pushed.success, "{}", pushed.output);
    let access_token = stack.token("alice", "view,download");
    let pull = format!("repository:{repo}:pull");
    // Known credentials: each answered once while the disk is fine.
    assert_eq!(
        token(&stack, "alice", PASSWORD, &pull),
        (200, json!(["pull"]))
    );
    assert_eq!(
        token(&stack, "x", &access_token, &pull),
        (200, json!(["pull"]))
    );
    assert_eq!(token(&stack, "root", PASSWORD, "registry:catalog:*").0, 200);

    let mut acknowledged_users = Vec::new();
    let mut acknowledged_tags = vec!["v1".to_string()];
    for (round, broken) in ["full", "read-only"].into_iter().enumerate() {
        // A push token taken while the disk is fine: the registry's notification of
        // that push arrives once the disk is broken.
        let push = format!("repository:{repo}:push,pull");
        assert_eq!(token(&stack, "alice", PASSWORD, &push).0, 200);

        // What the audit trail holds before (once its writer flushed).
        std::thread::sleep(std::time::Duration::from_millis(300));
        let audited_before = audited(&stack);
        let filler = match broken {
            "full" => {
                // SQLite reuses the write-ahead log's blocks: a change that fits in them
                // commits (durably) even on a full disk. Emptied first, as a quiet
                // server's log often is, every change needs new blocks.
                for file in ["regauth.db", "regauth.audit.db"] {
                    truncate_wal(&disk.path.join(file));
                }
                Some(fill(&disk.path))
            }
            _ => {
                disk.turn_read_only();
                None
            }
        };

        for _ in 0..20 {
            assert_eq!(
                token(&stack, "alice", PASSWORD, &pull),
                (200, json!(["pull"])),
                "{broken}: a password login"
            );
            assert_eq!(
                token(&stack, "x", &access_token, &pull),
                (200, json!(["pull"])),
                "{broken}: an access token"
            );
        }
        // A push token whose grant is not on record yet: the grant must be durable
        // before the token is handed out. On a full disk a small write can still land
        // in space SQLite or the file system frees meanwhile (a log checkpointed and
        // truncated): then the token comes, and its grant must be on record (checked
        // below by the registry's notification of that push being applied).
        let other = format!("{p}/other{round}");
        let fresh_push = format!("repository:{other}:push,pull");
        let pushed_other = match token(&stack, "alice", PASSWORD, &fresh_push).0 {
            503 => false,
            200 if broken == "full" => true,
            status => panic!("{broken}: a push token without its grant recorded: {status}"),
        };
        // Space freed meanwhile (SQLite truncating a log) is taken again.
        if broken == "full" {
            fill(&disk.path);
        }
        let user = format!("bob{round}");
        assert_unavailable(add_user(&stack, &user), &format!("{broken}: adding a user"));
        let tag = format!("v2-{round}");
        let event = format!("evt-{tag}");
        let r = notify(&stack, &repo, &tag, &event);
        assert_eq!(
            r.status(),
            503,
            "{broken}: the notification must not be acknowledged"
        );
        let cli = stack.cli(&["team", "add", "devs"], None);
        assert!(!cli.status.success(), "{broken}: the CLI's change");
        let said = String::from_utf8_lossy(&cli.stderr).trim().to_string();
        assert_eq!(said.lines().count(), 1, "{broken}: one line: {said}");
        let log = stack.regauth_log();
        let why = if broken == "full" {
            "disk is full"
        } else {
            "read-only"
        };
        for line in log.lines().filter(|l| l.contains(why)).take(3) {
            println!("{broken}: {line}");
        }
        println!("{broken}: the CLI said: {said}");
        assert!(
            log.lines()
                .any(|l| l.contains(why) && l.contains("\"ERROR\"")),
            "{broken}: no log line says '{why}':\n{log}"
        );

        // The disk takes writes again. Space freed: no restart. A file system the
        // kernel made read-only must be unmounted and checked, which needs regauth's
        // files closed: regauth is stopped for the repair and started again.
        match filler {
            Some(f) => std::fs::remove_file(f).expect("free the disk"),
            None => {
                stack.stop_regauth();
                disk.repair();
                stack.start_regauth();
            }
        }
        // The registry sends the same notification again; now it is stored.
        let r = eventually(10, || {
            let r = notify(&stack, &repo, &tag, &event);
            r.status()
                .is_success()
                .then(|| r.json::<Value>().expect("counts"))
        })
        .unwrap_or_else(|| panic!("{broken}: never stored again: {}", stack.regauth_log()));
        assert_eq!(r["recorded"], 1, "{broken}: {r}");
        acknowledged_tags.push(tag);
        if pushed_other {
            let r = notify(&stack, &other, "v1", &format!("evt-other-{round}"));
            assert_eq!(r.status(), 200, "{broken}");
            let counts: Value = r.json().expect("counts");
            assert_eq!(
                counts["recorded"], 1,
                "{broken}: the token's grant was lost: {counts}"
            );
        }
        if broken == "full" {
            // The token requests' records, held while the disk was full, are written.
            let grew = eventually(10, || {
                let grew = audited(&stack) - audited_before;
                (grew >= 40).then_some(grew)
            });
            assert!(grew.is_some(), "the outage's audit records were lost");
            let log = stack.regauth_log();
            if log.contains("audit records not written yet") {
                assert!(log.contains("audit records written again"), "{log}");
            }
        }
        assert_eq!(
            add_user(&stack, &user).status(),
            201,
            "{broken}: adding a user after"
        );
        acknowledged_users.push(user);
        let v3 = format!("v3-{round}");
        let img = tiny_image(&layout, &v3, &v3);
        let (pushed, _) = stack.push(&img, &format!("{repo}:{v3}"), &creds);
        assert!(
            pushed.success,
            "{broken}: a real push after: {}",
            pushed.output
        );
        acknowledged_tags.push(v3);
    }

    // Nothing acknowledged is lost, across a restart too.
    stack.stop_regauth();
    stack.start_regauth();
    let users = stack.ok(&["user", "list"]);
    for u in &acknowledged_users {
        assert!(users.contains(u.as_str()), "{u} lost: {users}");
    }
    let mut have = tags(&stack, &repo);
    have.sort();
    acknowledged_tags.sort();
    assert_eq!(have, acknowledged_tags);
    assert!(stack
        .ok(&["directory", "check"])
        .contains("directory check: sound"));
}
