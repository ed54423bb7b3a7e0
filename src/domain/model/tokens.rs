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
    pub expires_at: Option<UnixTime>,
}
