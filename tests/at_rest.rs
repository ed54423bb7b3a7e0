//! Secrets at rest: the real `regauth serve`, started under a permissive umask (022, and
//! 000), writes its directory and audit databases (argon2 and token hashes, e-mail and
//! client addresses), their `-wal`/`-shm` files and its signing keys readable by its
//! own user alone (files 0600, directories 0700), from the moment each is created; and
//! database files an older version left open to others are tightened, with a warning.

#![cfg(unix)]

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;
use serde_json::json;

/// The permission bits of `path`, which must exist.
fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// The same, in octal as `ls -l` readers think of them (`"600"`).
fn octal(path: &Path) -> String {
    format!("{:o}", mode(path))
}

/// The database lives one directory down, in a directory regauth itself creates.
fn data_dir(config: String) -> String {
    config.replace("/regauth.db\"", "/data/regauth.db\"")
}

/// Makes regauth write: a user added, a password and a token login, a token minted.
fn write_some(stack: &Stack) {
    let r = call(
        stack,
        "POST",
        "/api/v1/users",
        As::Password("root"),
        Some(json!({"name": "alice", "password": PASSWORD, "email": "alice@example.org"})),
    );
    assert_eq!(r.status(), 201);
    let r = call(
        stack,
        "POST",
        "/api/v1/me/tokens",
        As::Password("alice"),
        Some(json!({"name": "ci", "scopes": ["view", "download"]})),
    );
    assert_eq!(r.status(), 201);
    let token: serde_json::Value = r.json().unwrap();
    let secret = token["token"].as_str().expect("the new token's secret");
    for who in [As::Password("alice"), As::Token(secret)] {
        let r = call(stack, "GET", "/api/v1/me", who, None);
        assert_eq!(r.status(), 200);
    }
    let login = reqwest::blocking::Client::new()
        .get(stack.url("/token"))
        .query(&[("service", SERVICE)])
        .basic_auth("alice", Some(PASSWORD))
        .send()
        .unwrap();
    assert_eq!(login.status(), 200);
}

/// The database files, each with its `-wal` and `-shm` (all of which must exist: a
/// server holds both databases open in WAL mode).
fn database_files(data: &Path) -> Vec<std::path::PathBuf> {
    ["regauth.db", "regauth.audit.db"]
        .iter()
        .flat_map(|db| ["", "-wal", "-shm"].map(|s| data.join(format!("{db}{s}"))))
        .collect()
}

fn everything_is_private_under(umask: u32) {
    let stack = Stack::regauth_only_with_umask(umask, &data_dir);
    write_some(&stack);
    let root = stack.dir.path();
    let data = root.join("data");
    let keys = root.join("keys");

    assert_eq!(octal(&data), "700", "data/ under umask {umask:03o}");
    for file in database_files(&data) {
        assert_eq!(
            octal(&file),
            "600",
            "{} under umask {umask:03o}",
            file.display()
        );
    }
    assert_eq!(octal(&keys), "700", "keys/ under umask {umask:03o}");
    let mut private_keys = 0;
    for entry in fs::read_dir(&keys).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let m = mode(&path);
        if name.ends_with(".key") || name == ".generate.lock" {
            private_keys += usize::from(name.ends_with(".key"));
            assert_eq!(format!("{m:o}"), "600", "{name} under umask {umask:03o}");
        } else {
            // Certificates, the bundle and the signing record are public, but no one
            // else may write them (the bundle is the registry's trust anchor).
            assert_eq!(m & 0o022, 0, "{name} is {m:o} under umask {umask:03o}");
        }
    }
    assert_eq!(private_keys, 1, "one signing key generated");
    assert!(
        !stack.regauth_log().contains("tightened"),
        "nothing was there to tighten"
    );
}

#[test]
fn files_are_private_from_creation_under_umask_022() {
    everything_is_private_under(0o022);
}

#[test]
fn files_are_private_from_creation_under_umask_000() {
    everything_is_private_under(0o000);
}

#[test]
fn database_files_an_older_version_left_open_are_tightened_with_a_warning() {
    let mut stack = Stack::regauth_only_with_umask(0o022, &data_dir);
    write_some(&stack);
    stack.stop_regauth();
    let data = stack.dir.path().join("data");
    // As a version before this one left them (a killed server leaves -wal and -shm).
    let files: Vec<_> = database_files(&data)
        .into_iter()
        .filter(|f| f.exists())
        .collect();
    assert!(files.len() >= 2, "{files:?}");
    for file in &files {
        fs::set_permissions(file, fs::Permissions::from_mode(0o644)).unwrap();
    }
    stack.start_regauth();
    for file in database_files(&data) {
        assert_eq!(octal(&file), "600", "{}", file.display());
    }
    let log = stack.regauth_log();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            log.lines()
                .any(|l| l.contains("tightened") && l.contains(&name)),
            "no warning about {name}:\n{log}"
        );
    }
    // The data are intact.
    let r = call(&stack, "GET", "/api/v1/me", As::Password("alice"), None);
    assert_eq!(r.status(), 200);
}

#[test]
fn a_generated_admin_password_is_written_private_under_umask_000() {
    let stack = Stack::regauth_only_with_umask(0o000, &|config| {
        data_dir(config).replace(&format!("admin_password = \"{PASSWORD}\"\n"), "")
    });
    let file = stack.dir.path().join("data/bootstrap-admin-password");
    assert_eq!(octal(&file), "600");
    let password = fs::read_to_string(&file).unwrap();
    let login = reqwest::blocking::Client::new()
        .get(stack.url("/token"))
        .query(&[("service", SERVICE)])
        .basic_auth("root", Some(password.trim()))
        .send()
        .unwrap();
    assert_eq!(login.status(), 200);
}
