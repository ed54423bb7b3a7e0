//! Progress of long commands (issue 25), with the real binary on a seeded directory:
//! `directory backup`, `restore` and `copy` (into a throw-away PostgreSQL) and
//! `bench/seed.py`, on pipes (stdout exactly the lines scripts read, stderr plain
//! periodic lines and a summary line, no escape code) and under a pty made by `script`
//! (the bar is drawn, the command still succeeds).

#[path = "support/throwaway.rs"]
mod throwaway;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use secrecy::ExposeSecret;

/// The directory `directory copy` prints, in its order (the audit trail last).
const COPIED: &[&str] = &[
    "users",
    "teams",
    "team_members",
    "entities",
    "acl_entries",
    "access_tokens",
    "refresh_tokens",
    "commits",
    "processed_events",
    "access_requests",
    "push_grants",
    "trust_policies",
    "federated_identities",
    "audit_events",
];

struct Dir {
    tmp: tempfile::TempDir,
    db: PathBuf,
    config: PathBuf,
}

/// A configuration whose directory is `db`, in `tmp`.
fn config_for(tmp: &Path, db: &Path, name: &str) -> PathBuf {
    let path = tmp.join(name);
    let d = tmp.display();
    std::fs::write(
        &path,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[token]\nservices = [\"registry\"]\n\
             [keys]\ndir = \"{d}/keys\"\nbundle = \"{d}/keys/bundle.pem\"\n\
             [directory]\npath = \"{}\"\n[log]\nlevel = \"warn\"\n",
            db.display()
        ),
    )
    .expect("config");
    path
}

fn seed_py() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/seed.py")
}

/// `regauth --config CONFIG ARGS`, progress lines every millisecond, stdin closed.
fn regauth(config: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_regauth"));
    cmd.arg("--config")
        .arg(config)
        .args(args)
        .env_remove("REGAUTH_CONFIG")
        .env_remove("REGAUTH_PROGRESS")
        .env("REGAUTH_PROGRESS_INTERVAL_MS", "1")
        .stdin(Stdio::null());
    cmd
}

fn succeeded(out: Output, what: &str) -> (String, String) {
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "{what}: {stdout}{stderr}");
    (stdout, stderr)
}

/// `line` run by a shell under a pseudo-terminal (`script`), with `env`; its output
/// (stdout and stderr together, as a terminal shows them).
fn under_pty(line: &str, env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new("script");
    cmd.args(["-qec", line, "/dev/null"])
        .env_remove("REGAUTH_CONFIG")
        .env_remove("REGAUTH_PROGRESS")
        .env("REGAUTH_PROGRESS_INTERVAL_MS", "1")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("script (util-linux)");
    succeeded(out, line).0
}

/// A directory seeded by bench/seed.py with `population` (users, teams, projects,
/// repositories, ACL entries).
fn seeded(population: [&str; 5]) -> Dir {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = tmp.path().join("data/regauth.db");
    let config = config_for(tmp.path(), &db, "regauth.toml");
    succeeded(
        regauth(&config, &["migrate"]).output().expect("migrate"),
        "migrate",
    );
    let out = Command::new("python3")
        .arg(seed_py())
        .arg(&db)
        .args(population)
        .stdin(Stdio::null())
        .output()
        .expect("seed.py");
    succeeded(out, "seed.py");
    Dir { tmp, db, config }
}

/// The counts and checksum a backup's manifest holds.
fn manifest(backup: &Path) -> (Vec<(String, i64)>, String) {
    let c = rusqlite::Connection::open(backup).expect("backup");
    let get = |k: &str| -> String {
        c.query_row(
            "SELECT value FROM backup_manifest WHERE key = ?1",
            [k],
            |r| r.get(0),
        )
        .expect(k)
    };
    let counts = serde_json::from_str(&get("counts")).expect("counts");
    (counts, get("checksum"))
}

/// Plain progress on stderr: only `what`'s lines, at least one periodic line with a
/// share, the summary line last, no escape code.
fn plain_progress(stderr: &str, what: &str, done: &str, tables: usize, rows: i64) {
    assert!(
        !stderr.contains('\x1b'),
        "an escape code on a pipe: {stderr}"
    );
    let lines: Vec<&str> = stderr.lines().collect();
    let (summary, periodic) = lines.split_last().expect("a summary line");
    let head = format!("{what}: {tables} tables, {rows} rows {done} in ");
    assert!(
        summary.starts_with(&head) && summary.ends_with(" s"),
        "summary {summary:?}, expected {head}… s"
    );
    assert!(
        periodic.iter().all(|l| l.starts_with(&format!("{what}: "))),
        "{stderr}"
    );
    assert!(
        periodic.iter().any(|l| l.ends_with("%)")),
        "no periodic line with a share: {stderr}"
    );
}

/// What the bar leaves in a terminal's output: its frame and escape codes.
fn bar_drawn(tty: &str, what: &str) {
    assert!(
        tty.contains(&format!("{what}: [")) && tty.contains('\x1b'),
        "no bar: {tty:?}"
    );
}

#[test]
fn backup_and_restore_show_progress_on_stderr_and_keep_stdout() {
    let d = seeded(["5000", "50", "200", "1000", "20000"]);
    let backup = d.tmp.path().join("one.backup");
    let out = regauth(&d.config, &["directory", "backup", "--to"])
        .arg(&backup)
        .output()
        .expect("backup");
    let (stdout, stderr) = succeeded(out, "backup");
    let (counts, checksum) = manifest(&backup);
    let rows: i64 = counts.iter().map(|(_, n)| n).sum();
    assert!(rows > 25_000, "{counts:?}");
    let mut expected: String = counts
        .iter()
        .map(|(t, n)| format!("{t:<20} {n:>9} rows\n"))
        .collect();
    let listing = expected.clone();
    expected += &format!(
        "backed up into {} (sha256 of its rows {checksum})\n",
        backup.display()
    );
    assert_eq!(stdout, expected);
    plain_progress(&stderr, "directory backup", "backed up", counts.len(), rows);

    let fresh = config_for(d.tmp.path(), &d.tmp.path().join("fresh/r.db"), "fresh.toml");
    let out = regauth(&fresh, &["directory", "restore", "--from"])
        .arg(&backup)
        .output()
        .expect("restore");
    let (stdout, stderr) = succeeded(out, "restore");
    assert_eq!(stdout, format!("{listing}restored {}\n", backup.display()));
    plain_progress(&stderr, "directory restore", "restored", counts.len(), rows);

    // Under a terminal: the bar, and the same result.
    let bin = env!("CARGO_BIN_EXE_regauth");
    let second = d.tmp.path().join("two.backup");
    let tty = under_pty(
        &format!(
            "{bin} --config {} directory backup --to {}",
            d.config.display(),
            second.display()
        ),
        &[],
    );
    bar_drawn(&tty, "directory backup");
    assert!(tty.contains("backed up into"), "{tty:?}");
    assert_eq!(manifest(&second).0, counts);
    let tty = under_pty(
        &format!(
            "{bin} --config {} directory restore --replace --from {}",
            fresh.display(),
            second.display()
        ),
        &[],
    );
    bar_drawn(&tty, "directory restore");
    assert!(tty.contains("directory restore: "), "{tty:?}");
}

/// Rows of `table` in the SQLite file `db`.
fn rows_in(db: &Path, table: &str) -> i64 {
    let c = rusqlite::Connection::open(db).expect("db");
    c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
        .expect(table)
}

#[test]
fn copy_shows_progress_on_stderr_and_keeps_stdout() {
    // Small: the copy inserts row by row (a few thousand rows a second in a debug build).
    let d = seeded(["1000", "20", "50", "200", "3000"]);
    let audit = d.db.with_extension("audit.db");
    let counts: Vec<(&str, i64)> = COPIED
        .iter()
        .map(|&t| {
            let file = if t == "audit_events" { &audit } else { &d.db };
            (t, rows_in(file, t))
        })
        .collect();
    let rows: i64 = counts.iter().map(|(_, n)| n).sum();
    let url = throwaway::fresh_database_url();
    let out = regauth(&d.config, &["directory", "copy", "--from"])
        .arg(&d.db)
        .env("REGAUTH_COPY_TO", url.expose_secret())
        .output()
        .expect("copy");
    let (stdout, stderr) = succeeded(out, "copy");
    let mut expected: String = counts
        .iter()
        .map(|(t, n)| format!("{t:<17} {n:>9} rows copied and counted\n"))
        .collect();
    expected += &format!("copied {} into PostgreSQL\n", d.db.display());
    assert_eq!(stdout, expected);
    plain_progress(&stderr, "directory copy", "copied", COPIED.len(), rows);
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("directory copy: reading ")),
        "{stderr}"
    );

    let url = throwaway::fresh_database_url();
    let tty = under_pty(
        &format!(
            "{} directory copy --from {}",
            env!("CARGO_BIN_EXE_regauth"),
            d.db.display()
        ),
        &[("REGAUTH_COPY_TO", url.expose_secret())],
    );
    bar_drawn(&tty, "directory copy");
    assert!(tty.contains("into PostgreSQL"), "{tty:?}");
}

/// `1234567` as Python's `f"{n:,}"` writes it.
fn thousands(n: i64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[test]
fn seed_py_shows_progress_on_stderr_and_keeps_its_one_line() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = |name: &str| {
        let db = tmp.path().join(name).join("regauth.db");
        let config = config_for(tmp.path(), &db, &format!("{name}.toml"));
        succeeded(
            regauth(&config, &["migrate"]).output().expect("migrate"),
            "migrate",
        );
        db
    };
    let args = ["20000", "100", "500", "2000", "60000"];
    let piped = db("piped");
    let out = Command::new("python3")
        .arg(seed_py())
        .arg(&piped)
        .args(args)
        .env_remove("REGAUTH_PROGRESS")
        .env("REGAUTH_PROGRESS_INTERVAL_MS", "0")
        .stdin(Stdio::null())
        .output()
        .expect("seed.py");
    let (stdout, stderr) = succeeded(out, "seed.py");
    let counts: Vec<String> = ["users", "teams", "team_members", "entities", "acl_entries"]
        .iter()
        .map(|t| format!("{} {t}", thousands(rows_in(&piped, t))))
        .collect();
    let (took, said) = stdout
        .strip_prefix("seeded in ")
        .and_then(|s| s.split_once(" s: "))
        .unwrap_or_else(|| panic!("{stdout:?}"));
    assert!(took.parse::<f64>().is_ok(), "{stdout:?}");
    assert_eq!(said, format!("{}\n", counts.join(", ")));
    assert!(!stderr.contains('\x1b'), "{stderr}");
    assert!(stderr.lines().all(|l| l.starts_with("seed: ")), "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("seed: users ") && l.ends_with("%)")),
        "{stderr}"
    );

    let tty_db = db("tty");
    let tty = under_pty(
        &format!(
            "python3 {} {} {} </dev/null",
            seed_py().display(),
            tty_db.display(),
            args.join(" ")
        ),
        &[("REGAUTH_PROGRESS_INTERVAL_MS", "0")],
    );
    assert!(tty.contains("seed: [") && tty.contains('\x1b'), "{tty:?}");
    assert!(tty.contains("seeded in "), "{tty:?}");
    assert_eq!(rows_in(&tty_db, "users"), rows_in(&piped, "users"));
}
