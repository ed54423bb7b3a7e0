//! Files regauth keeps private at rest, and atomic file writes for keys, certificates
//! and the bundle: readers never see half a file, and a key file is never written over
//! another. Private files and directories get their mode when they are created (the
//! umask can only narrow a mode given to `open`/`mkdir`, never widen it), so there is no
//! moment when a key or a database is readable by others.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use tempfile::NamedTempFile;

use super::error::{io_err, KeyError};

/// The mode of directories that hold secrets (keys, the databases).
pub(crate) const PRIVATE_DIR: u32 = 0o700;
/// The mode of files that hold secrets (keys, the databases and their journals).
pub(crate) const PRIVATE_FILE: u32 = 0o600;

/// Creates `dir` (and its parents) mode 0700 if missing: it holds private keys. One that
/// exists and is open to others is tightened, with a warning.
pub(super) fn create_private_dir(dir: &Path) -> Result<(), KeyError> {
    create_dirs(dir, PRIVATE_DIR).map_err(io_err(dir))?;
    tighten_or_warn(dir, PRIVATE_DIR);
    Ok(())
}

/// Creates `dir` and each missing parent with exactly `mode`; directories that exist
/// are left as they are (a parent may be `/var/lib`, or a mounted volume). Each is made
/// by one `mkdir` with `mode`, so none is ever wider; a umask that also took owner bits
/// off is undone on the directories made here.
pub(crate) fn create_dirs(dir: &Path, mode: u32) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dirs(parent, mode)?;
    }
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(mode);
    }
    match builder.create(dir) {
        Ok(()) => set_exact_mode(dir, mode),
        // Another process (a replica starting at the same time) made it first.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Creates the empty file `path` mode 0600 when it does not exist: one `open` with
/// `O_CREAT|O_EXCL` and that mode. One that exists is left to [`tighten_or_warn`].
pub(crate) fn create_private_file(path: &Path) -> io::Result<()> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(PRIVATE_FILE);
    }
    match opts.open(path) {
        Ok(_) => set_exact_mode(path, PRIVATE_FILE),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Takes off `path` every permission bit `mode` lacks (0644 → 0600 for `mode` 0600), if
/// it exists; returns whether any had to go. Adds none.
pub(crate) fn tighten(path: &Path, mode: u32) -> io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let current = match fs::metadata(path) {
            Ok(m) => m.permissions().mode() & 0o7777,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        if current & !mode == 0 {
            return Ok(false);
        }
        fs::set_permissions(path, fs::Permissions::from_mode(current & mode))?;
        Ok(true)
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(false)
    }
}

/// [`tighten`], saying so in the log: a file or directory open to others was found
/// (made by an older regauth, or by hand). A failure (not its owner) is logged too: the
/// file stays usable, and the operator is told what to fix.
pub(crate) fn tighten_or_warn(path: &Path, mode: u32) -> bool {
    match tighten(path, mode) {
        Ok(true) => {
            tracing::warn!(path = %path.display(), mode = format!("{mode:o}"), "was open to group or others: tightened");
            true
        }
        Ok(false) => false,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "may be open to group or others and cannot be tightened: chmod it to {mode:o}");
            false
        }
    }
}

/// Sets exactly `mode` on what was just created, if the umask made it anything else
/// (it can only have narrowed it; an owner who cannot write their own database or
/// key directory would fail later, less clearly).
fn set_exact_mode(path: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if fs::metadata(path)?.permissions().mode() & 0o7777 != mode {
            fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// Writes `content` to `path`, which must not exist: a synced temporary file beside it is
/// moved into place with a no-replace rename, so this never overwrites, and readers
/// never see a half file.
pub(crate) fn write_new(path: &Path, content: &[u8], mode: u32) -> Result<(), KeyError> {
    let tmp = write_temp(path, content, mode)?;
    match tmp.persist_noclobber(path) {
        Ok(_) => sync_parent(path),
        Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => Err(KeyError::Exists {
            path: path.to_path_buf(),
        }),
        Err(e) => Err(io_err(path)(e.error)),
    }
}

/// Writes `content` to `path` atomically, replacing what was there.
pub(crate) fn write_replace(path: &Path, content: &[u8], mode: u32) -> Result<(), KeyError> {
    let tmp = write_temp(path, content, mode)?;
    tmp.persist(path).map_err(|e| io_err(path)(e.error))?;
    sync_parent(path)
}

/// A synced temporary file with `content` in `path`'s directory (so the final rename
/// stays on one file system), created with `mode` (less the umask). Its name starts with
/// a dot, which the key directory listing skips; it is removed if it is never persisted.
fn write_temp(path: &Path, content: &[u8], mode: u32) -> Result<NamedTempFile, KeyError> {
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut tmp = builder
        .prefix(".")
        .suffix(".tmp")
        .tempfile_in(parent_dir(path))
        .map_err(io_err(path))?;
    tmp.write_all(content)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(io_err(path))?;
    Ok(tmp)
}

/// The directory `path` is in; "." for a bare file name.
fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Makes the rename itself durable: without syncing the directory, a crash could lose
/// a key file that was reported as written.
fn sync_parent(path: &Path) -> Result<(), KeyError> {
    #[cfg(unix)]
    {
        let parent = parent_dir(path);
        fs::File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(io_err(parent))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_new_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.key");
        write_new(&path, b"one", 0o600).unwrap();
        let err = write_new(&path, b"two", 0o600).unwrap_err();
        assert!(matches!(err, KeyError::Exists { .. }), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"one");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn write_replace_replaces_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bundle.crt");
        write_replace(&path, b"one", 0o644).unwrap();
        write_replace(&path, b"two", 0o644).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn files_get_the_requested_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let key = dir.path().join("k.key");
        write_new(&key, b"secret", 0o600).unwrap();
        assert_eq!(mode(&key), 0o600);
        let private = dir.path().join("private/keys");
        create_private_dir(&private).unwrap();
        assert_eq!(mode(&private), 0o700);
    }

    #[cfg(unix)]
    #[test]
    fn private_files_and_directories_are_private_from_creation_and_tightened() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let set = |p: &Path, m: u32| fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();

        // Every directory made is 0700; one that exists is left alone.
        set(dir.path(), 0o755);
        let deep = dir.path().join("a/b/c");
        create_dirs(&deep, PRIVATE_DIR).unwrap();
        for d in ["a", "a/b", "a/b/c"] {
            assert_eq!(mode(&dir.path().join(d)), 0o700, "{d}");
        }
        assert_eq!(mode(dir.path()), 0o755);
        create_dirs(&deep, PRIVATE_DIR).unwrap();
        create_dirs(Path::new(""), PRIVATE_DIR).unwrap();

        // A new file is created 0600, empty; an existing one is left as it is.
        let db = deep.join("regauth.db");
        create_private_file(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        assert_eq!(fs::metadata(&db).unwrap().len(), 0);
        fs::write(&db, b"data").unwrap();
        set(&db, 0o664);
        create_private_file(&db).unwrap();
        assert_eq!(fs::read(&db).unwrap(), b"data");
        // Tightening takes group and other bits off, and says whether it had to.
        assert!(tighten_or_warn(&db, PRIVATE_FILE));
        assert_eq!(mode(&db), 0o600);
        assert!(!tighten_or_warn(&db, PRIVATE_FILE));
        // Tightening never adds a bit, and a missing file is nothing to do.
        set(&db, 0o400);
        assert!(!tighten(&db, PRIVATE_FILE).unwrap());
        assert_eq!(mode(&db), 0o400);
        assert!(!tighten(&deep.join("missing"), PRIVATE_FILE).unwrap());

        // The key directory: made 0700, or tightened when it exists wider.
        let keys = dir.path().join("keys");
        fs::create_dir(&keys).unwrap();
        set(&keys, 0o755);
        create_private_dir(&keys).unwrap();
        assert_eq!(mode(&keys), 0o700);
    }

    #[test]
    fn a_missing_directory_is_an_io_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope/x.key");
        let err = write_new(&path, b"x", 0o600).unwrap_err();
        assert!(
            matches!(&err, KeyError::Io { path: p, .. } if *p == path),
            "{err}"
        );
    }
}
