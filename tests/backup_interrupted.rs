//! `regauth directory backup` and `restore` killed with SIGKILL at moments spread over
//! their run, with the real binary on a seeded directory of 50,000 users: a killed
//! backup leaves no file that restores and the directory it read whole and serving; a
//! killed restore leaves the old directory or the whole new one, never a mix; the next
//! run sweeps what the killed ones left.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn regauth(config: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_regauth"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("REGAUTH_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run regauth")
}

/// Runs `args` and kills it with SIGKILL after `after`; whether it had ended by itself.
fn killed_after(config: &Path, args: &[&str], after: Duration) -> bool {
    let mut child = regauth(config, args);
    let deadline = Instant::now() + after;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            assert!(status.success(), "{args:?} failed by itself");
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = child.kill();
    let _ = child.wait();
    false
}

/// A configuration like the stack's whose directory is `db`.
fn config_for(s: &Stack, db: &Path, name: &str) -> PathBuf {
    let text = std::fs::read_to_string(&s.config).expect("config");
    let from = format!("path = \"{}\"", s.dir.path().join("regauth.db").display());
    assert!(text.contains(&from), "{text}");
    let to = format!("path = \"{}\"", db.display());
    let path = s.dir.path().join(name);
    std::fs::write(&path, text.replace(&from, &to)).expect("config");
    path
}

/// Users in the directory of `config` (0 for an empty or missing one).
fn user_count(config: &Path) -> usize {
    let out = Command::new(env!("CARGO_BIN_EXE_regauth"))
        .arg("--config")
        .arg(config)
        .args(["user", "list"])
        .env_remove("REGAUTH_CONFIG")
        .output()
        .expect("user list");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).lines().count()
}

fn sound(config: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_regauth"))
        .arg("--config")
        .arg(config)
        .args(["directory", "check"])
        .env_remove("REGAUTH_CONFIG")
        .output()
        .expect("directory check");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.contains("sound"),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_killed_backup_or_restore_leaves_nothing_that_restores_and_nothing_half_done() {
    let s = Stack::regauth_only();
    s.add_user("alice", &["--certified"]);
    let db = s.dir.path().join("regauth.db");
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/seed.py");
    let seeded = Command::new("python3")
        .arg(&seed)
        .arg(&db)
        .args(["50000", "500", "2000", "4000", "300000"])
        .stdin(Stdio::null())
        .output()
        .expect("seed.py");
    assert!(
        seeded.status.success(),
        "{}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    let users = user_count(&s.config);
    assert!(users > 50_000, "{users}");

    let folder = s.dir.path().join("backups");
    std::fs::create_dir(&folder).expect("folder");
    let whole = folder.join("whole.backup");
    let started = Instant::now();
    s.ok(&["directory", "backup", "--to", &whole.display().to_string()]);
    let takes = started.elapsed();

    let target = folder.join("regauth.backup");
    let target_s = target.display().to_string();
    let fresh = s.dir.path().join("fresh/regauth.db");
    let fresh_config = config_for(&s, &fresh, "fresh.toml");
    let mut killed = 0;
    for percent in [3, 20, 45, 70, 90] {
        let after = takes * percent / 100;
        let finished = killed_after(
            &s.config,
            &["directory", "backup", "--to", &target_s],
            after,
        );
        killed += usize::from(!finished);
        if finished {
            let _ = std::fs::remove_file(&target);
        }
        assert!(
            !target.exists(),
            "a backup killed at {percent}% left {target_s}"
        );
        // What it left beside the target is refused by a restore, which changes nothing.
        for left in std::fs::read_dir(&folder).expect("folder").flatten() {
            let left = left.path();
            if left == whole {
                continue;
            }
            let out = Command::new(env!("CARGO_BIN_EXE_regauth"))
                .arg("--config")
                .arg(&fresh_config)
                .args([
                    "directory",
                    "restore",
                    "--from",
                    &left.display().to_string(),
                ])
                .env_remove("REGAUTH_CONFIG")
                .output()
                .expect("restore");
            assert_eq!(
                out.status.code(),
                Some(1),
                "{} restored after a kill at {percent}%",
                left.display()
            );
            assert_eq!(
                user_count(&fresh_config),
                0,
                "a refused restore wrote users"
            );
        }
        // The directory the backup read is whole and serving.
        sound(&s.config);
        let r = reqwest::blocking::Client::new()
            .get(s.url("/token"))
            .query(&[("service", SERVICE)])
            .basic_auth("alice", Some(PASSWORD))
            .send()
            .expect("GET /token");
        assert_eq!(r.status(), 200, "alice is still answered");
    }
    assert!(killed >= 3, "only {killed} of 5 backups were killed midway");
    // The next backup sweeps the killed ones' files and is whole.
    s.ok(&["directory", "backup", "--to", &target_s]);
    let mut left: Vec<_> = std::fs::read_dir(&folder)
        .expect("folder")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["regauth.backup", "whole.backup"]);

    // A restore killed at any moment: the fresh directory is empty or whole.
    let _ = std::fs::remove_dir_all(fresh.parent().expect("parent"));
    let started = Instant::now();
    let restore = ["directory", "restore", "--from", &target_s, "--replace"];
    assert!(killed_after(
        &fresh_config,
        &restore,
        Duration::from_secs(120)
    ));
    let restore_takes = started.elapsed();
    let mut outcomes = Vec::new();
    for percent in [5, 30, 60, 85, 97] {
        let _ = std::fs::remove_dir_all(fresh.parent().expect("parent"));
        let finished = killed_after(&fresh_config, &restore, restore_takes * percent / 100);
        // Killed before it made the directory's folder: nothing at all was written (and
        // a command on that path is refused, as for any missing folder).
        let untouched = !fresh.parent().expect("parent").exists();
        let n = if untouched {
            0
        } else {
            user_count(&fresh_config)
        };
        outcomes.push((percent, finished, n));
        assert!(
            n == 0 || n == users,
            "a restore killed at {percent}% left {n} of {users} users"
        );
        if !untouched {
            sound(&fresh_config);
        }
    }
    println!("restores (percent, finished by itself, users after): {outcomes:?}");
    let killed = outcomes.iter().filter(|(_, finished, _)| !finished).count();
    assert!(
        killed >= 3,
        "only {killed} of 5 restores were killed midway"
    );
}
