//! Authentication: proving who the caller is.
//!
//! Three credentials reach the token endpoint: a password, a personal access token
//! (sent as the Basic password, user name ignored) and a refresh token (OAuth2 POST).
//! Every failure looks the same to the caller — one message, and the same argon2 work
//! whether or not the user exists — so neither the answer nor its timing tells an
//! attacker which user names exist.

pub mod basic;
pub mod password;
pub mod secret;

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::authz::{Caller, CallerUser};
use super::directory::{Directory, DirectoryError, NewRefreshToken, UserCredentials};
use super::model::{ScopeSet, User};

/// The one message every credential failure gets; docker prints it as
/// `unauthorized: invalid username or password`.
pub const INVALID_CREDENTIALS: &str = "invalid username or password";

#[derive(Debug, thiserror::Error)]
pub enum AuthnError {
    /// Wrong password, unknown user, disabled user, revoked/expired/unknown token. The
    /// variant carries the real cause for the log line only.
    #[error("invalid credentials ({0})")]
    InvalidCredentials(&'static str),
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error("could not create a token: {0}")]
    Internal(String),
}

/// How the caller proved who they are (for the log line and refresh-token binding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Anonymous,
    Password,
    /// A personal access token, by its id.
    AccessToken(i64),
    RefreshToken,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Anonymous => "anonymous",
            Method::Password => "password",
            Method::AccessToken(_) => "access_token",
            Method::RefreshToken => "refresh_token",
        }
    }
}

/// An authenticated caller and how they authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    pub caller: Caller,
    pub method: Method,
}

impl Authenticated {
    pub fn anonymous() -> Authenticated {
        Authenticated {
            caller: Caller::anonymous(),
            method: Method::Anonymous,
        }
    }
}

/// Checks credentials against the directory.
///
/// Password checks (argon2, tens of milliseconds) are remembered for a short while in a
/// cache keyed by a keyed hash of (stored password hash, offered password): docker asks
/// for a token once per layer, and one login must not cost one argon2 run per layer.
/// The user row is still read on every request, so disabling a user or changing the
/// password takes effect at once (a new password hash misses the cache). Failed
/// attempts are cached too, which stops a wrong password from hammering argon2.
pub struct Authenticator {
    directory: Arc<dyn Directory>,
    verified: moka::sync::Cache<[u8; 32], bool>,
    cache_key: [u8; 32],
}

impl Authenticator {
    pub fn new(directory: Arc<dyn Directory>, cache_ttl: Duration) -> Authenticator {
        let mut cache_key = [0u8; 32];
        rand::Rng::fill(&mut rand::rngs::OsRng, &mut cache_key);
        Authenticator {
            directory,
            verified: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(cache_ttl)
                .build(),
            cache_key,
        }
    }

    /// Basic credentials: an access token in the password field (user name ignored), or
    /// a user name and password.
    pub fn basic(&self, user: &str, secret_or_password: &str) -> Result<Authenticated, AuthnError> {
        if secret::looks_like_access_token(secret_or_password) {
            if let Some(found) = self.access_token(secret_or_password)? {
                return Ok(found);
            }
            // Not one of ours: fall through to a password check, which also spends the
            // argon2 time a miss would otherwise save.
        }
        self.password(user, secret_or_password)
    }

    fn access_token(&self, token: &str) -> Result<Option<Authenticated>, AuthnError> {
        let Some(rec) = self
            .directory
            .access_token_by_hash(&secret::hash_token(token))?
        else {
            return Ok(None);
        };
        if rec.revoked {
            return Err(AuthnError::InvalidCredentials("access token revoked"));
        }
        if rec.expires_at.is_some_and(|t| t <= now_unix()) {
            return Err(AuthnError::InvalidCredentials("access token expired"));
        }
        let caller = self.caller_for(&rec.user, rec.scopes)?;
        Ok(Some(Authenticated {
            caller,
            method: Method::AccessToken(rec.id),
        }))
    }

    fn password(&self, user: &str, password: &str) -> Result<Authenticated, AuthnError> {
        let creds = self.directory.user_credentials(user)?;
        let hash = creds.as_ref().and_then(|c| c.password_hash.as_deref());
        let ok = match hash {
            Some(phc) => self.verify_cached(phc, password),
            None => {
                // Unknown user or token-only user: same work as a real check.
                let key = self.key(&["\0nouser", user], password);
                if self.verified.get(&key).is_none() {
                    password::verify_against_dummy(password);
                    self.verified.insert(key, false);
                }
                false
            }
        };
        match creds {
            Some(UserCredentials { user, .. }) if ok => {
                let caller = self.caller_for(&user, ScopeSet::ALL)?;
                Ok(Authenticated {
                    caller,
                    method: Method::Password,
                })
            }
            Some(_) => Err(AuthnError::InvalidCredentials("wrong password")),
            None => Err(AuthnError::InvalidCredentials("unknown user")),
        }
    }

    fn verify_cached(&self, phc: &str, password: &str) -> bool {
        let key = self.key(&[phc], password);
        if let Some(ok) = self.verified.get(&key) {
            return ok;
        }
        let ok = password::verify_password(password, phc);
        self.verified.insert(key, ok);
        ok
    }

    /// A keyed digest, so the cache never holds anything a memory dump could turn back
    /// into a password.
    fn key(&self, parts: &[&str], password: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.cache_key);
        for p in parts {
            h.update((p.len() as u64).to_le_bytes());
            h.update(p.as_bytes());
        }
        h.update(password.as_bytes());
        h.finalize().into()
    }

    /// A refresh token (`grant_type=refresh_token`): must be ours, unrevoked, unexpired,
    /// issued for this service and client, to a user who is still enabled.
    pub fn refresh(
        &self,
        token: &str,
        service: &str,
        client_id: &str,
    ) -> Result<Authenticated, AuthnError> {
        let Some(rec) = self
            .directory
            .refresh_token_by_hash(&secret::hash_token(token))?
        else {
            return Err(AuthnError::InvalidCredentials("unknown refresh token"));
        };
        let now = now_unix();
        if rec.revoked {
            return Err(AuthnError::InvalidCredentials("refresh token revoked"));
        }
        if rec.expires_at.is_some_and(|t| t <= now) {
            return Err(AuthnError::InvalidCredentials("refresh token expired"));
        }
        if !secret::ct_eq(rec.service.as_bytes(), service.as_bytes()) {
            return Err(AuthnError::InvalidCredentials(
                "refresh token issued for another service",
            ));
        }
        if !secret::ct_eq(rec.client_id.as_bytes(), client_id.as_bytes()) {
            return Err(AuthnError::InvalidCredentials(
                "refresh token issued to another client",
            ));
        }
        if let Some(parent) = rec.via_access_token {
            if parent.revoked || parent.expires_at.is_some_and(|t| t <= now) {
                return Err(AuthnError::InvalidCredentials(
                    "access token behind the refresh token ended",
                ));
            }
        }
        let caller = self.caller_for(&rec.user, rec.scopes)?;
        Ok(Authenticated {
            caller,
            method: Method::RefreshToken,
        })
    }

    /// Issues and stores a refresh token for an authenticated user; returns the secret,
    /// which exists only in this answer (the directory keeps its hash).
    pub fn issue_refresh_token(
        &self,
        who: &Authenticated,
        service: &str,
        client_id: &str,
        ttl: Option<Duration>,
    ) -> Result<String, AuthnError> {
        let user = who
            .caller
            .user
            .as_ref()
            .ok_or(AuthnError::InvalidCredentials(
                "anonymous callers get no refresh token",
            ))?;
        let token = secret::generate_token(secret::REFRESH_TOKEN_PREFIX);
        let access_token_id = match who.method {
            Method::AccessToken(id) => Some(id),
            _ => None,
        };
        self.directory.create_refresh_token(NewRefreshToken {
            user: user.id,
            hash: secret::hash_token(&token),
            service: service.to_string(),
            client_id: client_id.to_string(),
            scopes: who.caller.scopes,
            expires_at: ttl.map(|d| now_unix().saturating_add(d.as_secs() as i64)),
            access_token_id,
        })?;
        Ok(token)
    }

    fn caller_for(&self, user: &User, scopes: ScopeSet) -> Result<Caller, AuthnError> {
        if user.disabled {
            return Err(AuthnError::InvalidCredentials("user disabled"));
        }
        let teams = self.directory.teams_of(user.id)?;
        Ok(Caller {
            user: Some(CallerUser {
                id: user.id,
                name: user.name.clone(),
                certified: user.certified,
                admin: user.admin,
                teams,
            }),
            scopes,
        })
    }
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
