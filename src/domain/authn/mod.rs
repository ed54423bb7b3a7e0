//! Authentication: proving who the caller is.

/// Checks credentials against the directory.
pub struct Authenticator {}
