//! Federated identities: which local user a provider's subject signs in as. One
//! script each for both engines; a pair is inserted once and never re-pointed.

use super::rows::{user_by_id, user_row, USER_COLS};
use super::{SqlDirectory, SqlRow};
use crate::domain::model::{User, UserId};
use crate::domain::ports::{DirResult, DirectoryError, FederatedIdentities, FederatedIdentity};

const SELECT: &str = "SELECT provider, subject, user_id, linked_at FROM federated_identities";

fn identity_row(r: &SqlRow<'_, '_>) -> DirResult<FederatedIdentity> {
    Ok(FederatedIdentity {
        provider: r.get(0)?,
        subject: r.get(1)?,
        user: UserId(r.get(2)?),
        linked_at: r.get(3)?,
    })
}

impl<D: SqlDirectory> FederatedIdentities for D {
    /// The user is looked up in the writers' turn; the primary key refuses a second
    /// link of the same pair, whoever asks first.
    fn link_identity(&self, id: &FederatedIdentity) -> DirResult<()> {
        self.change_script(|tx| {
            if user_by_id(tx, id.user)?.is_none() {
                return Err(DirectoryError::NotFound(format!("user id {}", id.user.0)));
            }
            let inserted = tx.exec(
                "INSERT INTO federated_identities (provider, subject, user_id, linked_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                &[&id.provider, &id.subject, &id.user.0, &id.linked_at],
            )?;
            if inserted == 0 {
                return Err(DirectoryError::Conflict(format!(
                    "identity {} of {}",
                    id.subject, id.provider
                )));
            }
            Ok(())
        })
    }

    /// `=` compares the bytes on both engines: a subject differing in case is another.
    fn identity_user(&self, provider: &str, subject: &str) -> DirResult<Option<User>> {
        let sql = format!(
            "SELECT {USER_COLS} FROM users WHERE id =
                (SELECT user_id FROM federated_identities WHERE provider = $1 AND subject = $2)"
        );
        self.read_script(|c| c.opt(&sql, &[&provider, &subject], |r| user_row(r, 0)))
    }

    fn identities_of(&self, user: UserId) -> DirResult<Vec<FederatedIdentity>> {
        let sql = format!("{SELECT} WHERE user_id = $1 ORDER BY linked_at, provider, subject");
        self.read_script(|c| c.all(&sql, &[&user.0], identity_row))
    }

    fn all_identities(&self) -> DirResult<Vec<FederatedIdentity>> {
        let sql = format!("{SELECT} ORDER BY user_id, linked_at, provider, subject");
        self.read_script(|c| c.all(&sql, &[], identity_row))
    }
}
