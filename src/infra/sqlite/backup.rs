//! `regauth directory backup` and `restore`: one portable file holding the directory and
//! its audit trail, whichever engine it is restored into.
//!
//! The file is a SQLite database: every table of the directory at its schema version
//! (`user_version`), `audit_events`, and `backup_manifest` (the format version, the schema
//! version, when, the row count of every table and a SHA-256 over every row in a fixed
//! order). It is made from a live directory with `VACUUM INTO`, a consistent snapshot
//! read while the server serves, written to a private temporary file beside the target,
//! flushed and renamed into place: a backup is whole or absent. Restoring checks the
//! format, the counts and the checksum first, then splits the file back into a directory
//! file and an audit file (for SQLite, renamed into place; for PostgreSQL, copied by
//! `directory copy`'s transaction).

use std::path::{Path, PathBuf};

use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};
use sha2::{Digest, Sha256};

use super::{audit_path, schema};
use crate::domain::model::UnixTime;
use crate::domain::ports::{DirResult, DirectoryError};
use crate::infra::crypto;
use crate::infra::progress::{self, Progress, Unit};

/// The format this build writes and reads; a newer one is refused.
pub const FORMAT: i64 = 1;
const MANIFEST: &str = "backup_manifest";

/// What a backup says of itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub format: i64,
    pub schema: i64,
    pub created_at: UnixTime,
    pub counts: Vec<(String, i64)>,
    pub checksum: String,
}

fn failed(what: &str, e: impl std::fmt::Display) -> DirectoryError {
    DirectoryError::Backend(format!("{what}: {e}"))
}

/// A private, empty file at `path` (what `VACUUM INTO` may write into).
fn private_empty(path: &Path) -> DirResult<()> {
    let _ = std::fs::remove_file(path);
    crypto::create_private_file(path).map_err(|e| failed(&path.display().to_string(), e))
}

/// A temporary name beside `path`, on the same file system (so the rename is atomic).
fn partial(path: &Path, tag: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{tag}-{}.partial", std::process::id()));
    path.with_file_name(name)
}

/// Flushes `path` and the folder naming it, so a rename survives a crash.
fn sync(path: &Path) -> DirResult<()> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| failed(&path.display().to_string(), e))?;
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Every user table but the manifest, by name.
fn tables(c: &Connection) -> DirResult<Vec<String>> {
    let mut stmt = c.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
         AND name <> ?1 ORDER BY name",
    )?;
    let names = stmt
        .query_map([MANIFEST], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(names)
}

/// Row counts and a SHA-256 over every row of every table (tables by name, rows by
/// rowid, each value with its type): what a restore checks before it writes anything.
/// One phase of `progress`, `name`, over all rows (counted first: a count reads an
/// index, a fraction of the hashing's time).
fn fingerprint(
    c: &Connection,
    progress: &dyn Progress,
    name: &str,
) -> DirResult<(Vec<(String, i64)>, String)> {
    let mut h = Sha256::new();
    let mut counts = Vec::new();
    let names = tables(c)?;
    let mut total = 0i64;
    for t in &names {
        total += c.query_row(&format!("SELECT COUNT(*) FROM \"{t}\""), [], |r| {
            r.get::<_, i64>(0)
        })?;
    }
    progress.phase(name, total.max(0) as u64, Unit::Rows);
    for t in names {
        let mut stmt = c.prepare(&format!("SELECT * FROM \"{t}\" ORDER BY rowid"))?;
        let cols = stmt.column_count();
        let mut rows = stmt.query([])?;
        let mut n = 0i64;
        h.update(t.as_bytes());
        while let Some(r) = rows.next()? {
            n += 1;
            progress.advance(1);
            for i in 0..cols {
                match r.get::<_, Value>(i)? {
                    Value::Null => h.update([0]),
                    Value::Integer(v) => {
                        h.update([1]);
                        h.update(v.to_le_bytes());
                    }
                    Value::Real(v) => {
                        h.update([2]);
                        h.update(v.to_le_bytes());
                    }
                    Value::Text(s) => {
                        h.update([3]);
                        h.update((s.len() as u64).to_le_bytes());
                        h.update(s.as_bytes());
                    }
                    Value::Blob(b) => {
                        h.update([4]);
                        h.update((b.len() as u64).to_le_bytes());
                        h.update(&b);
                    }
                }
            }
        }
        counts.push((t, n));
    }
    Ok((counts, hex::encode(h.finalize())))
}

/// `directory check` on the copy: a directory that fails it is not kept as a backup
/// (restored, it would carry the damage into the new server unnoticed).
fn checked(copy: &Path) -> DirResult<()> {
    let c = Connection::open_with_flags(copy, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let (_, findings) = super::check_file(&c)?;
    match findings.first() {
        None => Ok(()),
        Some(first) => Err(DirectoryError::Invalid(format!(
            "the directory fails `regauth directory check` ({} finding(s), the first: {first}); no backup written",
            findings.len()
        ))),
    }
}

/// Removes what a killed backup or restore of `target` left beside it: the temporary
/// files (`<name>.backup-PID.partial`, `.audit-PID.partial`, `.restore-PID.partial`
/// and its audit file) of processes that are gone; a running one's are its own.
fn sweep_partials(target: &Path) {
    let (Some(dir), Some(name)) = (target.parent(), target.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!("{}.", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some((kind, pid)) = file
            .strip_prefix(&prefix)
            .and_then(|rest| rest.split('.').next())
            .and_then(|first| first.split_once('-'))
        else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        let gone = pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists();
        if ["backup", "audit", "restore"].contains(&kind) && gone {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The bytes of the pages in use of the SQLite file `c` (what `VACUUM INTO` writes).
fn used_bytes(c: &Connection) -> DirResult<u64> {
    let pages: i64 = c.query_row(
        "SELECT page_count - freelist_count FROM pragma_page_count, pragma_freelist_count",
        [],
        |r| r.get(0),
    )?;
    let size: i64 = c.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    Ok((pages.max(0) as u64).saturating_mul(size.max(0) as u64))
}

/// `VACUUM INTO into` from `c`, the growth of the file a phase of `progress`.
fn vacuum_into(c: &Connection, into: &Path, progress: &dyn Progress, name: &str) -> DirResult<()> {
    let total = used_bytes(c)?;
    progress::watching_file(progress, name, into, total, || {
        c.execute("VACUUM INTO ?1", [into.display().to_string()])
    })?;
    Ok(())
}

/// Writes a backup of the SQLite directory at `from` (and its audit trail) to `to`;
/// each step (copy, check, audit trail, checksum) a phase of `progress`.
pub fn write(
    from: &Path,
    to: &Path,
    now: UnixTime,
    progress: &dyn Progress,
) -> DirResult<Manifest> {
    if !from.is_file() {
        return Err(DirectoryError::NotFound(format!(
            "SQLite directory {}",
            from.display()
        )));
    }
    sweep_partials(to);
    let tmp = partial(to, "backup");
    let audit_tmp = partial(to, "audit");
    let result = (|| {
        private_empty(&tmp)?;
        private_empty(&audit_tmp)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY;
        let source = Connection::open_with_flags(from, flags)?;
        vacuum_into(&source, &tmp, progress, "copying the directory")?;
        let schema: i64 = source.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        progress.phase("checking the copy", 0, Unit::Rows);
        checked(&tmp)?;
        let audit = Connection::open_with_flags(audit_path(from), flags)?;
        vacuum_into(&audit, &audit_tmp, progress, "copying the audit trail")?;
        let c = Connection::open(&tmp)?;
        progress.phase("adding the audit trail", 0, Unit::Rows);
        c.execute("ATTACH DATABASE ?1 AS a", [audit_tmp.display().to_string()])?;
        c.execute_batch(
            "CREATE TABLE audit_events AS SELECT * FROM a.audit_events ORDER BY rowid;
             DETACH DATABASE a;",
        )?;
        let (counts, checksum) = fingerprint(&c, progress, "checksum")?;
        let manifest = Manifest {
            format: FORMAT,
            schema,
            created_at: now,
            counts,
            checksum,
        };
        let counts_json =
            serde_json::to_string(&manifest.counts).map_err(|e| failed("backup manifest", e))?;
        c.execute_batch(&format!(
            "CREATE TABLE {MANIFEST} (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
        ))?;
        for (k, v) in [
            ("format", manifest.format.to_string()),
            ("schema", manifest.schema.to_string()),
            ("created_at", manifest.created_at.to_string()),
            ("counts", counts_json),
            ("checksum", manifest.checksum.clone()),
        ] {
            c.execute(
                &format!("INSERT INTO {MANIFEST} (key, value) VALUES (?1, ?2)"),
                [k, &v],
            )?;
        }
        drop(c);
        sync(&tmp)?;
        std::fs::rename(&tmp, to).map_err(|e| failed(&to.display().to_string(), e))?;
        sync(to)?;
        Ok(manifest)
    })();
    let _ = std::fs::remove_file(&audit_tmp);
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Reads and checks a backup: a regauth backup, a format this build reads, every count
/// and the checksum as the manifest says (the checksum a phase of `progress`).
pub fn verify(file: &Path, progress: &dyn Progress) -> DirResult<Manifest> {
    let not_ours = |why: String| DirectoryError::Invalid(format!("{}: {why}", file.display()));
    if !file.is_file() {
        return Err(DirectoryError::NotFound(format!(
            "backup {}",
            file.display()
        )));
    }
    if file.to_string_lossy().ends_with(".partial") {
        return Err(not_ours(
            "an unfinished backup (a backup in progress, or one that was killed): restore a finished one".into(),
        ));
    }
    let c = Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| not_ours(format!("not a regauth backup ({e})")))?;
    let get = |k: &str| -> DirResult<String> {
        c.query_row(
            &format!("SELECT value FROM {MANIFEST} WHERE key = ?1"),
            [k],
            |r| r.get(0),
        )
        .map_err(|e| not_ours(format!("not a regauth backup: no manifest {k} ({e})")))
    };
    let number = |k: &str| -> DirResult<i64> {
        get(k)?
            .parse()
            .map_err(|_| not_ours(format!("the manifest's {k} is not a number")))
    };
    let format = number("format")?;
    if format > FORMAT {
        return Err(not_ours(format!(
            "backup format {format} is newer than this build's {FORMAT}: restore it with a newer regauth"
        )));
    }
    let counts: Vec<(String, i64)> = serde_json::from_str(&get("counts")?)
        .map_err(|e| not_ours(format!("the manifest's counts are unreadable ({e})")))?;
    let manifest = Manifest {
        format,
        schema: number("schema")?,
        created_at: number("created_at")?,
        counts,
        checksum: get("checksum")?,
    };
    let (counts, checksum) = fingerprint(&c, progress, "verifying the checksum")
        .map_err(|e| not_ours(format!("corrupt ({e})")))?;
    if counts != manifest.counts || checksum != manifest.checksum {
        return Err(not_ours(
            "corrupt: its rows do not match its manifest's counts and checksum".into(),
        ));
    }
    Ok(manifest)
}

/// Splits a checked backup into a directory file at `dir_file` and its audit file
/// beside it (both private), the directory brought to this build's schema; each step a
/// phase of `progress`.
pub fn split(file: &Path, dir_file: &Path, progress: &dyn Progress) -> DirResult<Manifest> {
    let manifest = verify(file, progress)?;
    if manifest.schema > schema::VERSION as i64 {
        return Err(DirectoryError::Invalid(format!(
            "{}: the backup's schema is version {}, newer than this build's {}: restore it with a newer regauth",
            file.display(),
            manifest.schema,
            schema::VERSION
        )));
    }
    let audit_file = audit_path(dir_file);
    private_empty(dir_file)?;
    private_empty(&audit_file)?;
    let source = Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    vacuum_into(&source, dir_file, progress, "writing the directory")?;
    progress.phase("writing the audit trail", 0, Unit::Rows);
    let mut audit = Connection::open(&audit_file)?;
    schema::migrate_audit(&mut audit)?;
    audit.execute("ATTACH DATABASE ?1 AS b", [file.display().to_string()])?;
    audit.execute_batch(
        "INSERT INTO audit_events SELECT * FROM b.audit_events; DETACH DATABASE b;",
    )?;
    drop(audit);
    let c = Connection::open(dir_file)?;
    c.execute_batch(&format!("DROP TABLE audit_events; DROP TABLE {MANIFEST};"))?;
    c.pragma_update(None, "user_version", manifest.schema)?;
    drop(c);
    sync(dir_file)?;
    sync(&audit_file)?;
    Ok(manifest)
}

/// Whether the SQLite directory at `path` holds anything a restore would lose.
fn holds_data(path: &Path) -> DirResult<bool> {
    if !path.is_file()
        || std::fs::metadata(path)
            .map(|m| m.len() == 0)
            .unwrap_or(true)
    {
        return Ok(false);
    }
    let c = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut n = 0i64;
    for t in ["users", "entities"] {
        n += c
            .query_row(&format!("SELECT COUNT(*) FROM {t}"), [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap_or(0);
    }
    Ok(n > 0)
}

/// The marker of a restore being put in place: it names the staged directory file, and
/// while it exists the pair (directory and audit trail) is not yet whole in place.
fn pending(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".restore-pending");
    path.with_file_name(name)
}

/// Removes a SQLite file's `-wal`, `-shm` and `-journal` (they belong to the file a
/// restore replaces).
fn remove_side_files(db: &Path) {
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut side = db.to_path_buf().into_os_string();
        side.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(side));
    }
}

/// Finishes a restore that was stopped while putting its two files in place (the
/// marker exists): the audit file first, then the directory file, each renamed unless
/// that already happened, then the marker removed. Called by every opening of the
/// directory and by `restore`, so a directory is never seen half-restored: a crash
/// before the marker leaves the old directory whole, one after it the new one.
pub(crate) fn finish_restore(path: &Path) -> DirResult<()> {
    let marker = pending(path);
    let staged = match std::fs::read_to_string(&marker) {
        Ok(s) => PathBuf::from(s.trim_end_matches('\n')),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(failed(&marker.display().to_string(), e)),
    };
    let moves = [
        (audit_path(&staged), audit_path(path)),
        (staged.clone(), path.to_path_buf()),
    ];
    for (from, to) in &moves {
        if from.exists() {
            remove_side_files(to);
            std::fs::rename(from, to).map_err(|e| failed(&to.display().to_string(), e))?;
        }
    }
    sync(path)?;
    std::fs::remove_file(&marker).map_err(|e| failed(&marker.display().to_string(), e))?;
    sync(path)?;
    Ok(())
}

/// Restores a backup into the SQLite directory at `path` (the server stopped): refused
/// when it holds users or entities unless `replace`; the directory and audit files are
/// written beside it, flushed, and put in place as one step (`finish_restore`); each
/// step a phase of `progress`.
pub fn restore(
    file: &Path,
    path: &Path,
    replace: bool,
    progress: &dyn Progress,
) -> DirResult<Manifest> {
    finish_restore(path)?;
    if holds_data(path)? && !replace {
        return Err(DirectoryError::Conflict(format!(
            "the directory {}: it holds users or projects (restore into an empty one, or pass --replace)",
            path.display()
        )));
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        crypto::create_dirs(parent, crypto::PRIVATE_DIR)
            .map_err(|e| failed(&parent.display().to_string(), e))?;
    }
    sweep_partials(path);
    let staged = partial(path, "restore");
    let manifest = match split(file, &staged, progress) {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_file(&staged);
            let _ = std::fs::remove_file(audit_path(&staged));
            return Err(e);
        }
    };
    let marker = pending(path);
    crypto::create_private_file(&marker).map_err(|e| failed(&marker.display().to_string(), e))?;
    std::fs::write(&marker, format!("{}\n", staged.display()))
        .map_err(|e| failed(&marker.display().to_string(), e))?;
    sync(&marker)?;
    finish_restore(path)?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A restore stopped between its two renames (here: after the audit file's) is
    /// finished by the next opening, never left with one new file and one old.
    #[test]
    fn a_restore_stopped_between_its_renames_is_finished_by_the_next_opening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("regauth.db");
        let staged = partial(&path, "restore");
        for (f, text) in [
            (path.clone(), "old"),
            (audit_path(&path), "old audit"),
            (staged.clone(), "new"),
        ] {
            std::fs::write(f, text).unwrap();
        }
        std::fs::write(pending(&path), format!("{}\n", staged.display())).unwrap();
        // The audit file was already renamed when the process stopped.
        std::fs::write(audit_path(&path), "new audit").unwrap();
        finish_restore(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(
            std::fs::read_to_string(audit_path(&path)).unwrap(),
            "new audit"
        );
        assert!(!pending(&path).exists() && !staged.exists());
        // Nothing pending: nothing changes.
        finish_restore(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
    }

    #[test]
    fn an_unfinished_backup_is_refused_by_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("b.db.backup-1.partial");
        std::fs::write(&f, "x").unwrap();
        let e = verify(&f, &progress::Silent).unwrap_err().to_string();
        assert!(e.contains("unfinished backup"), "{e}");
    }
}
