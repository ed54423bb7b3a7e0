//! Atomic file writes for keys, certificates and the bundle: readers never see half a
//! file, and a key file is never written over another.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use tempfile::NamedTempFile;

use super::error::{io_err, KeyError};

/// Creates `dir` (and its parents) mode 0700 if missing: it holds private keys.
pub(super) fn create_private_dir(dir: &Path) -> Result<(), KeyError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(io_err(dir))
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
