//! Stored credentials other than passwords: personal access tokens and refresh
//! ("identity") tokens. Only their SHA-256 is ever stored.

use serde::Serialize;

use super::ids::UserId;
use super::scopes::ScopeSet;
use super::time::UnixTime;
use super::user::User;

/// SHA-256 of a token's text: what the directory stores and looks up.
pub type TokenHash = [u8; 32];

/// A stored personal access token (the secret itself is never stored).
#[derive(Debug, Clone, Serialize)]
pub struct AccessTokenRecord {
    pub id: i64,
    pub user: User,
    pub name: String,
    pub scopes: ScopeSet,
    pub created_at: UnixTime,
    /// `None` = never expires.
    pub expires_at: Option<UnixTime>,
    pub revoked: bool,
    /// When it last authenticated a request, to the minute (see `app::token_usage`).
    pub last_used_at: Option<UnixTime>,
    /// The access token that minted it; `None` when a password, a web session or the
    /// operator did. Revoking that token revokes this one, and this one never outlives it.
    pub parent: Option<i64>,
}

/// A stored refresh token, bound to the user, the service and the OAuth client it was
/// issued to.
#[derive(Debug, Clone)]
pub struct RefreshTokenRecord {
    pub id: i64,
    pub user: User,
    pub service: String,
    pub client_id: String,
    /// The scopes of the credential it was issued for (a refresh token issued from an
    /// access-token login keeps that token's scopes).
    pub scopes: ScopeSet,
    pub created_at: UnixTime,
    pub expires_at: Option<UnixTime>,
    pub revoked: bool,
    /// When it last authenticated a request, to the minute (see `app::token_usage`).
    pub last_used_at: Option<UnixTime>,
    /// When it was issued from an access-token login: that token's state, so revoking
    /// (or expiry of) the access token also ends the refresh tokens it begot.
    pub via_access_token: Option<ParentTokenState>,
}

/// State of the access token a refresh token was issued from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParentTokenState {
    pub id: i64,
    pub revoked: bool,
    pub expires_at: Option<UnixTime>,
}

/// A new refresh token to store.
#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    pub user: UserId,
    pub hash: TokenHash,
    pub service: String,
    pub client_id: String,
    pub scopes: ScopeSet,
    pub expires_at: Option<UnixTime>,
    /// The access token the login used, if any (see `RefreshTokenRecord::via_access_token`).
    pub access_token_id: Option<i64>,
}

/// A stored token that authenticated a request (for "last used").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UsedToken {
    Access(i64),
    Refresh(i64),
}

/// A new access token to store.
#[derive(Debug, Clone)]
pub struct NewAccessToken {
    pub user: UserId,
    pub name: String,
    pub hash: TokenHash,
    pub scopes: ScopeSet,
    /// As asked; the store clamps it to the parent's expiry (see `parent`).
    pub expires_at: Option<UnixTime>,
    /// The access token minting this one (`None` for a password, a web session or the
    /// operator). The store refuses a parent that is revoked, expired or another user's,
    /// and the new token expires no later than it: authority a token hands on never
    /// outlasts the token itself.
    pub parent: Option<i64>,
}

/// Why the store refuses to mint an access token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MintRefusal {
    /// The cap on tokens in force (`in_force` of them already).
    #[error(
        "you have {in_force} access tokens in force, the most one may mint: revoke some first"
    )]
    TooMany { in_force: usize },
    /// The minting token is gone, revoked or expired: it hands on no authority.
    #[error("the access token minting this one is no longer in force")]
    ParentNotInForce,
    /// The minting token is another user's: a token mints only for its own user.
    #[error("the access token minting this one belongs to another user")]
    ParentOfAnotherUser,
}

impl NewAccessToken {
    /// The rule the store applies inside the minting transaction, on what it read there:
    /// the parent's row (`parent_row`: its user and state; `None` when `self.parent`
    /// names no token) and how many of the user's tokens are in force at `now`. Returns
    /// the expiry to store: the asked one, never later than the parent's (a token asked
    /// to live forever under a parent that expires gets the parent's expiry).
    pub fn admit(
        &self,
        parent_row: Option<(UserId, ParentTokenState)>,
        in_force: usize,
        max_live: Option<usize>,
        now: UnixTime,
    ) -> Result<Option<UnixTime>, MintRefusal> {
        let mut expires_at = self.expires_at;
        if self.parent.is_some() {
            let (owner, parent) = parent_row.ok_or(MintRefusal::ParentNotInForce)?;
            if owner != self.user {
                return Err(MintRefusal::ParentOfAnotherUser);
            }
            if parent.revoked || parent.expires_at.is_some_and(|e| e <= now) {
                return Err(MintRefusal::ParentNotInForce);
            }
            expires_at = match (expires_at, parent.expires_at) {
                (Some(asked), Some(limit)) => Some(asked.min(limit)),
                (asked, limit) => asked.or(limit),
            };
        }
        if max_live.is_some_and(|max| in_force >= max) {
            return Err(MintRefusal::TooMany { in_force });
        }
        Ok(expires_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(expires_at: Option<UnixTime>, parent: Option<i64>) -> NewAccessToken {
        NewAccessToken {
            user: UserId(1),
            name: "t".into(),
            hash: [0; 32],
            scopes: ScopeSet::VIEW,
            expires_at,
            parent,
        }
    }

    fn parent(revoked: bool, expires_at: Option<UnixTime>) -> Option<(UserId, ParentTokenState)> {
        Some((
            UserId(1),
            ParentTokenState {
                id: 7,
                revoked,
                expires_at,
            },
        ))
    }

    #[test]
    fn a_child_never_outlives_its_parent() {
        let p = parent(false, Some(100));
        assert_eq!(new(None, Some(7)).admit(p, 0, None, 10), Ok(Some(100)));
        assert_eq!(new(Some(500), Some(7)).admit(p, 0, None, 10), Ok(Some(100)));
        assert_eq!(new(Some(50), Some(7)).admit(p, 0, None, 10), Ok(Some(50)));
        let forever = parent(false, None);
        assert_eq!(new(None, Some(7)).admit(forever, 0, None, 10), Ok(None));
        assert_eq!(
            new(Some(50), Some(7)).admit(forever, 0, None, 10),
            Ok(Some(50))
        );
        // Without a parent the asked expiry stands.
        assert_eq!(new(None, None).admit(None, 0, None, 10), Ok(None));
    }

    #[test]
    fn a_parent_out_of_force_or_of_another_user_is_refused() {
        let t = new(None, Some(7));
        let refused = Err(MintRefusal::ParentNotInForce);
        assert_eq!(t.admit(parent(true, None), 0, None, 10), refused);
        assert_eq!(t.admit(parent(false, Some(10)), 0, None, 10), refused);
        assert_eq!(t.admit(None, 0, None, 10), refused);
        let theirs = Some((UserId(2), parent(false, None).unwrap().1));
        assert_eq!(
            t.admit(theirs, 0, None, 10),
            Err(MintRefusal::ParentOfAnotherUser)
        );
    }

    #[test]
    fn the_cap_counts_tokens_in_force() {
        let t = new(None, None);
        assert_eq!(t.admit(None, 99, Some(100), 1), Ok(None));
        let refused = t.admit(None, 100, Some(100), 1).unwrap_err();
        assert_eq!(refused, MintRefusal::TooMany { in_force: 100 });
        assert!(refused.to_string().contains("revoke some first"));
        assert_eq!(t.admit(None, 5000, None, 1), Ok(None));
    }
}
