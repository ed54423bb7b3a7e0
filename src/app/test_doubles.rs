//! In-memory doubles of the ports, for unit tests of the use cases without SQLite.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::domain::authn::secret;
use crate::domain::authz::{EntityFacts, RepoFacts};
use crate::domain::model::{
    AccessTokenRecord, EntityRef, NewRefreshToken, RefreshTokenRecord, TeamId, TokenHash, UnixTime,
    UserCredentials, UserId,
};
use crate::domain::ports::{
    AuthorizationFacts, Clock, CredentialStore, DirResult, DirectoryError, Pace, RefreshTokenStore,
    SignError, SignedToken, TokenClaims, TokenSigner,
};
use crate::domain::repo_name::RepoPath;

/// Users, tokens and repository facts held in maps. `fail` makes every read a backend
/// failure.
#[derive(Default)]
pub struct MemDirectory {
    pub users: Vec<UserCredentials>,
    pub teams: HashMap<UserId, Vec<TeamId>>,
    pub access_tokens: HashMap<TokenHash, AccessTokenRecord>,
    pub refresh_tokens: Mutex<Vec<(NewRefreshToken, UnixTime)>>,
    pub repos: HashMap<String, RepoFacts>,
    pub fail: bool,
    /// Repository-facts reads so far.
    pub repo_reads: std::sync::atomic::AtomicUsize,
}

impl MemDirectory {
    fn check(&self) -> DirResult<()> {
        if self.fail {
            return Err(DirectoryError::Backend("disk on fire".into()));
        }
        Ok(())
    }
}

impl CredentialStore for MemDirectory {
    fn user_credentials(&self, login: &str, _: Pace) -> DirResult<Option<UserCredentials>> {
        self.check()?;
        Ok(self.users.iter().find(|u| u.user.name == login).cloned())
    }
    fn access_token(&self, hash: &TokenHash, _: Pace) -> DirResult<Option<AccessTokenRecord>> {
        self.check()?;
        Ok(self.access_tokens.get(hash).cloned())
    }
    fn refresh_token(&self, hash: &TokenHash, _: Pace) -> DirResult<Option<RefreshTokenRecord>> {
        self.check()?;
        let stored = self
            .refresh_tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let Some((t, created_at)) = stored.iter().find(|(t, _)| &t.hash == hash) else {
            return Ok(None);
        };
        let Some(user) = self.users.iter().find(|u| u.user.id == t.user) else {
            return Ok(None);
        };
        let parent = t.access_token_id.and_then(|id| {
            self.access_tokens.values().find(|a| a.id == id).map(|a| {
                crate::domain::model::ParentTokenState {
                    id,
                    revoked: a.revoked,
                    expires_at: a.expires_at,
                }
            })
        });
        Ok(Some(RefreshTokenRecord {
            id: 1,
            user: user.user.clone(),
            service: t.service.clone(),
            client_id: t.client_id.clone(),
            scopes: t.scopes,
            created_at: *created_at,
            expires_at: t.expires_at,
            revoked: false,
            last_used_at: None,
            via_access_token: parent,
        }))
    }
    fn teams_of(&self, user: UserId, _: Pace) -> DirResult<Vec<TeamId>> {
        self.check()?;
        Ok(self.teams.get(&user).cloned().unwrap_or_default())
    }
}

impl RefreshTokenStore for MemDirectory {
    fn create_refresh_token(&self, token: &NewRefreshToken, now: UnixTime) -> DirResult<i64> {
        self.check()?;
        let mut stored = self
            .refresh_tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        stored.push((token.clone(), now));
        Ok(stored.len() as i64)
    }
}

impl AuthorizationFacts for MemDirectory {
    fn repository_facts(&self, path: &RepoPath, _: Pace) -> DirResult<RepoFacts> {
        self.check()?;
        self.repo_reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(self.repos.get(path.as_str()).cloned().unwrap_or(RepoFacts {
            project: crate::domain::authz::ProjectFacts::Missing,
            repo: crate::domain::authz::RepoState::Unknown,
        }))
    }
    fn entity_facts(&self, _: &EntityRef) -> DirResult<Option<EntityFacts>> {
        self.check()?;
        Ok(None)
    }
}

/// A clock that says what it is told.
pub struct FixedClock(pub std::sync::atomic::AtomicI64);

impl FixedClock {
    pub fn at(now: UnixTime) -> FixedClock {
        FixedClock(std::sync::atomic::AtomicI64::new(now))
    }
    pub fn set(&self, now: UnixTime) {
        self.0.store(now, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> UnixTime {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// "Signs" by writing the claims as JSON: what the use case asked to sign is readable.
pub struct JsonSigner;

impl TokenSigner for JsonSigner {
    fn sign(&self, c: TokenClaims<'_>) -> Result<SignedToken, SignError> {
        let token = serde_json::json!({"sub": c.subject, "aud": c.audience, "access": c.access, "iat": c.now, "expires_by": c.expires_by});
        Ok(SignedToken {
            token: token.to_string(),
            expires_in: 300,
            issued_at: c.now.to_string(),
            jti: secret::token_text("", &[7; 32]),
        })
    }
}
