//! The first admin: made when the directory has no users, with the configured password
//! or a generated one written to a private file (never logged).

use std::path::Path;

use crate::app::administer::users;
use crate::app::secrets;
use crate::domain::model::UnixTime;
use crate::domain::ports::Directory;
use crate::infra::config::Settings;
use crate::infra::crypto;

/// Why the first admin could not be made (the directory refused, or the password file
/// could not be written).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BootstrapError(String);

/// Creates the first admin when the directory has no users. The password comes from
/// `bootstrap.admin_password`; when that is empty, a random one is written to a file
/// beside the database (mode 0600) and only the file's path is logged.
pub(super) fn bootstrap_admin(
    dir: &dyn Directory,
    settings: &Settings,
    now: UnixTime,
) -> Result<(), BootstrapError> {
    let failed = |e: &dyn std::fmt::Display| BootstrapError(e.to_string());
    if !dir.list_users().map_err(|e| failed(&e))?.is_empty() {
        return Ok(());
    }
    let name = &settings.bootstrap.admin_name;
    let (password, generated) = match settings.bootstrap_password() {
        Some(p) => (p.to_string(), false),
        None => (secrets::new_token(""), true),
    };
    let admin = users::UserRequest {
        name,
        password: Some(&password),
        certified: true,
        admin: true,
        email: None,
    };
    match users::add(dir, &crate::app::permit::operator(), admin, now) {
        Ok(_) => {}
        // Another replica, starting at the same time, made the first admin.
        Err(crate::app::AppError::Conflict(_)) => return Ok(()),
        Err(e) => return Err(failed(&e)),
    }
    if generated {
        let file = settings
            .directory
            .path
            .parent()
            .unwrap_or(Path::new("."))
            .join("bootstrap-admin-password");
        write_private(&file, &password)
            .map_err(|e| BootstrapError(format!("{}: {e}", file.display())))?;
        tracing::warn!(user = %name, file = %file.display(), "created the first admin; its generated password is in the file (read it once, then delete it)");
    } else {
        tracing::info!(user = %name, "created the first admin with bootstrap.admin_password");
    }
    Ok(())
}

fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    // A file left there before (mode given only on creation) is made private first.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(crypto::PRIVATE_FILE))?;
    }
    f.write_all(content.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()
}
