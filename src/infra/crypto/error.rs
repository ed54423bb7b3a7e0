//! `KeyError`: why the key directory cannot be used, always naming the file or directory.

use std::io;
use std::path::{Path, PathBuf};

/// A key directory problem. Every variant names the file (or directory) at fault, so a
/// half-rotated directory stops `serve` with one line an operator can act on; none
/// quotes a file's content, which for a key would be the secret itself.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: not a usable private key: {reason}", path.display())]
    BadKey { path: PathBuf, reason: String },
    #[error("{}: not a usable certificate: {reason}", path.display())]
    BadCert { path: PathBuf, reason: String },
    #[error("{}: has no matching {missing}", path.display())]
    Unpaired { path: PathBuf, missing: PathBuf },
    #[error("{}: certificate is not for the key in {}", cert.display(), key.display())]
    Mismatch { key: PathBuf, cert: PathBuf },
    #[error("{}: no signing key (a *.key with its *.crt)", dir.display())]
    NoKeys { dir: PathBuf },
    #[error("{}: already exists, not overwriting", path.display())]
    Exists { path: PathBuf },
    #[error("{}: cannot generate a key: {reason}", dir.display())]
    Generate { dir: PathBuf, reason: String },
}

/// `map_err` adapter: an I/O error about `path`.
pub(super) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    }
}
