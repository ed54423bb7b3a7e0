//! Authentication as a use case: credentials in, a caller out.
//!
//! Password checks (argon2, tens of milliseconds) are remembered for a short while in a
//! cache keyed by a keyed digest of (stored password hash, offered password): docker asks
//! for a token once per layer, and one login must not cost one argon2 run per layer.
//! The user row is still read on every request, so disabling a user or changing the
//! password takes effect at once (a new password hash misses the cache). Failed
//! attempts are cached too, which stops a wrong password from hammering argon2.

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use std::net::IpAddr;

use super::admission::{AdmissionLimits, Busy, PasswordGate};
use super::audit::Audit;
use super::rate_limit::{FailedLogins, Limited, LoginLimits};
use super::secrets;
use super::tally::AuthTally;
use super::token_usage::TokenUsage;
use crate::domain::audit::{AuditEvent, AuditRecord};
use crate::domain::authn::{
    access_token, check_user, password, refresh_token, secret, Authenticated, Method, Refused,
};
use crate::domain::authz::Caller;
use crate::domain::model::{NewRefreshToken, ScopeSet, UsedToken, User, UserCredentials};
use crate::domain::ports::{
    Clock, CredentialStore, DirectoryError, RefreshTokenStore, RemoteRefusal,
};

/// Why a credential did not authenticate.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The credential is wrong, unknown or ended: a 401, the cause for the log only.
    #[error(transparent)]
    Refused(#[from] Refused),
    /// The directory failed: not the caller's fault, never a 401.
    #[error(transparent)]
    Directory(DirectoryError),
    /// Too many password checks running and waiting: a 503, try again shortly.
    #[error(transparent)]
    Busy(#[from] Busy),
    /// Too many failed logins from this address (for this user): a 429.
    #[error(transparent)]
    Limited(#[from] Limited),
    /// A remote identity provider refused the credential for a reason the user can act
    /// on (a lock-out, two-factor authentication): a 401 saying so.
    #[error(transparent)]
    Rejected(RemoteRefusal),
}

impl AuthError {
    /// Answering needs work `Pace::Inline` forbids (argon2, a write, the network): not
    /// an answer; the shell asks again with `Pace::MayBlock`.
    pub const WOULD_BLOCK: AuthError = AuthError::Directory(DirectoryError::WouldBlock);
}

impl From<DirectoryError> for AuthError {
    fn from(e: DirectoryError) -> AuthError {
        AuthError::Directory(e)
    }
}

/// A provider's verdict: a plain refusal is a 401 like a wrong password; no verdict is
/// the directory's failure (or `WouldBlock`); the rest the user can act on.
impl From<RemoteRefusal> for AuthError {
    fn from(e: RemoteRefusal) -> AuthError {
        match e {
            RemoteRefusal::Refused => AuthError::Refused(Refused("refused by the provider")),
            RemoteRefusal::Unanswered(d) => AuthError::Directory(d),
            other => AuthError::Rejected(other),
        }
    }
}

pub use crate::domain::ports::Pace;

/// Where a credential is checked from: the client's address (the failed-login limits
/// are keyed by it) and the pace the caller may go at.
#[derive(Debug, Clone, Copy)]
pub struct Attempt {
    pub address: IpAddr,
    pub pace: Pace,
}

/// What a refresh token is bound to: the service and the client it was issued for.
#[derive(Debug, Clone, Copy)]
pub struct Binding<'a> {
    pub service: &'a str,
    pub client_id: &'a str,
}

/// The ports authentication reads and writes.
pub struct AuthPorts {
    pub store: Arc<dyn CredentialStore>,
    pub refresh_tokens: Arc<dyn RefreshTokenStore>,
    pub clock: Arc<dyn Clock>,
    pub audit: Arc<Audit>,
}

/// How much authentication may cost (see `admission` and `rate_limit`).
#[derive(Debug, Clone, Copy)]
pub struct AuthLimits {
    /// How long a verified (or refused) password is remembered.
    pub cache_ttl: Duration,
    pub admission: AdmissionLimits,
    pub login: LoginLimits,
}

impl Default for AuthLimits {
    fn default() -> AuthLimits {
        AuthLimits {
            cache_ttl: Duration::from_secs(60),
            admission: AdmissionLimits::default(),
            login: LoginLimits::default(),
        }
    }
}

/// Checks credentials against the directory (see the module comment for the cache).
pub struct Authenticator {
    store: Arc<dyn CredentialStore>,
    refresh_tokens: Arc<dyn RefreshTokenStore>,
    clock: Arc<dyn Clock>,
    audit: Arc<Audit>,
    verified: moka::sync::Cache<[u8; 32], bool>,
    cache_key: [u8; 32],
    gate: PasswordGate,
    failures: FailedLogins,
    usage: TokenUsage,
    tally: AuthTally,
}

impl Authenticator {
    pub fn new(ports: AuthPorts, limits: AuthLimits) -> Authenticator {
        Authenticator {
            store: ports.store,
            refresh_tokens: ports.refresh_tokens,
            clock: ports.clock,
            audit: ports.audit,
            verified: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(limits.cache_ttl)
                .build(),
            cache_key: secrets::new_key(),
            gate: PasswordGate::new(limits.admission),
            failures: FailedLogins::new(limits.login),
            usage: TokenUsage::default(),
            tally: AuthTally::default(),
        }
    }

    /// Writes a failed or limited attempt into the audit trail. Inline, a full queue
    /// answers `WouldBlock` (nothing counted yet: the blocking pool runs it again).
    fn audit_refusal(
        &self,
        account: &str,
        address: IpAddr,
        credential: &str,
        error: &AuthError,
        pace: Pace,
    ) -> Result<(), AuthError> {
        if let AuthError::Limited(_) = error {
            self.tally.rate_limited.add(1);
        }
        let event = match error {
            AuthError::Refused(why) => AuditEvent::LoginFailed {
                credential: credential.into(),
                reason: why.0.into(),
            },
            AuthError::Limited(_) => AuditEvent::RateLimited {
                credential: credential.into(),
            },
            AuthError::Busy(_) | AuthError::Directory(_) | AuthError::Rejected(_) => return Ok(()),
        };
        // A secret typed into the user-name field is never stored.
        let account = crate::domain::authn::secret::recorded_login(account);
        let record = AuditRecord {
            at: self.clock.now(),
            actor: account.to_string(),
            subject: account.to_string(),
            client_ip: Some(address),
            event,
        };
        match pace {
            Pace::Inline => self
                .audit
                .try_record(record)
                .map_err(|_| AuthError::WOULD_BLOCK),
            Pace::MayBlock => {
                self.audit.record(record);
                Ok(())
            }
        }
    }

    /// Uses of tokens not yet stamped in the directory.
    pub fn usage(&self) -> &TokenUsage {
        &self.usage
    }

    /// The failed-login limits, also applied in front of a remote identity provider.
    pub fn failed_logins(&self) -> &FailedLogins {
        &self.failures
    }

    /// What authentication counted (for metrics).
    pub fn tally(&self) -> &AuthTally {
        &self.tally
    }

    /// The password-check pool (for metrics).
    pub fn gate(&self) -> &PasswordGate {
        &self.gate
    }

    /// Basic credentials from `address`: an access token in the password field (user
    /// name ignored), or a user name and password. Refused without any work when
    /// `address` (or this user at it) is over its failed-login limit; a refusal counts
    /// as a failure.
    pub fn basic(
        &self,
        user: &str,
        secret_or_password: &str,
        address: IpAddr,
        pace: Pace,
    ) -> Result<Authenticated, AuthError> {
        let credential = if secret::looks_like_access_token(secret_or_password) {
            "access_token"
        } else {
            "password"
        };
        let outcome = self
            .failures
            .check(user, address)
            .map_err(AuthError::from)
            .and_then(|()| self.check_basic(user, secret_or_password, pace));
        if let Err(e) = &outcome {
            self.audit_refusal(user, address, credential, e, pace)?;
            if let AuthError::Refused(_) = e {
                self.failures.failed(user, address);
            }
        }
        outcome
    }

    fn check_basic(
        &self,
        user: &str,
        secret_or_password: &str,
        pace: Pace,
    ) -> Result<Authenticated, AuthError> {
        if secret::looks_like_access_token(secret_or_password) {
            if let Some(found) = self.access_token(secret_or_password, pace)? {
                return Ok(found);
            }
            // Not one of ours: fall through to a password check, which also spends the
            // argon2 time a miss would otherwise save.
        }
        self.password(user, secret_or_password, pace)
    }

    fn access_token(&self, token: &str, pace: Pace) -> Result<Option<Authenticated>, AuthError> {
        let Some(rec) = self.store.access_token(&secret::hash_token(token), pace)? else {
            return Ok(None);
        };
        let now = self.clock.now();
        access_token::check(&rec, now)?;
        let mut caller = self.caller_for(&rec.user, rec.scopes, pace)?;
        caller.token = Some(rec.id);
        self.usage.used(UsedToken::Access(rec.id), now);
        Ok(Some(Authenticated {
            caller,
            method: Method::AccessToken(rec.id),
        }))
    }

    fn password(&self, user: &str, password: &str, pace: Pace) -> Result<Authenticated, AuthError> {
        let creds = self.store.user_credentials(user, pace)?;
        let hash = creds.as_ref().and_then(|c| c.password_hash.as_deref());
        let ok = match hash {
            Some(phc) => self.verify_cached(phc, password, pace)?,
            None => {
                // Unknown user or token-only user: same work as a real check.
                let key = self.key(&["\0nouser", user], password);
                if self.verified.get(&key).is_none() {
                    if pace == Pace::Inline {
                        return Err(AuthError::WOULD_BLOCK);
                    }
                    self.gate.run(key, |scratch| {
                        password::verify_against_dummy(password, scratch);
                        self.tally.password_no_user.add(1);
                        false
                    })?;
                    self.verified.insert(key, false);
                }
                false
            }
        };
        match creds {
            Some(UserCredentials { user, .. }) if ok => {
                let caller = self.caller_for(&user, ScopeSet::PASSWORD, pace)?;
                Ok(Authenticated {
                    caller,
                    method: Method::Password,
                })
            }
            Some(_) => Err(Refused("wrong password").into()),
            None => Err(Refused("unknown user").into()),
        }
    }

    /// A cached answer, or one check on the bounded pool (shared with identical checks
    /// in flight).
    fn verify_cached(&self, phc: &str, password: &str, pace: Pace) -> Result<bool, AuthError> {
        let key = self.key(&[phc], password);
        if let Some(ok) = self.verified.get(&key) {
            return Ok(ok);
        }
        if pace == Pace::Inline {
            return Err(AuthError::WOULD_BLOCK);
        }
        let ok = self.gate.run(key, |scratch| {
            let ok = password::verify_password_in(password, phc, scratch);
            match ok {
                true => self.tally.password_match.add(1),
                false => self.tally.password_mismatch.add(1),
            }
            ok
        })?;
        self.verified.insert(key, ok);
        Ok(ok)
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

    /// A refresh token (`grant_type=refresh_token`) from `address`: must be ours and
    /// alive for this service and client (`domain::authn::refresh_token`). Failures count
    /// against the address like failed passwords.
    pub fn refresh(
        &self,
        token: &str,
        binding: Binding<'_>,
        attempt: Attempt,
    ) -> Result<Authenticated, AuthError> {
        let Attempt { address, pace } = attempt;
        let outcome = self
            .failures
            .check("", address)
            .map_err(AuthError::from)
            .and_then(|()| self.check_refresh(token, binding, pace));
        if let Err(e) = &outcome {
            self.audit_refusal("", address, "refresh_token", e, pace)?;
            if let AuthError::Refused(_) = e {
                self.failures.failed("", address);
            }
        }
        outcome
    }

    fn check_refresh(
        &self,
        token: &str,
        binding: Binding<'_>,
        pace: Pace,
    ) -> Result<Authenticated, AuthError> {
        let Some(rec) = self.store.refresh_token(&secret::hash_token(token), pace)? else {
            return Err(Refused("unknown refresh token").into());
        };
        let now = self.clock.now();
        refresh_token::check(&rec, binding.service, binding.client_id, now)?;
        let caller = self.caller_for(&rec.user, rec.scopes, pace)?;
        self.usage.used(UsedToken::Refresh(rec.id), now);
        Ok(Authenticated {
            caller,
            method: Method::RefreshToken,
        })
    }

    /// Issues and stores a refresh token for an authenticated user; returns the secret,
    /// which exists only in this answer (the directory keeps its hash). Storing it is a
    /// durable write: never on the event loop (`WouldBlock` at `Pace::Inline`).
    pub fn issue_refresh_token(
        &self,
        who: &Authenticated,
        binding: Binding<'_>,
        ttl: Option<Duration>,
        pace: Pace,
    ) -> Result<String, AuthError> {
        let Binding { service, client_id } = binding;
        if pace == Pace::Inline {
            return Err(AuthError::WOULD_BLOCK);
        }
        let user = who
            .caller
            .user
            .as_ref()
            .ok_or(Refused("anonymous callers get no refresh token"))?;
        let token = secrets::new_token(secret::REFRESH_TOKEN_PREFIX);
        let access_token_id = match who.method {
            Method::AccessToken(id) => Some(id),
            _ => None,
        };
        let now = self.clock.now();
        self.refresh_tokens.create_refresh_token(
            &NewRefreshToken {
                user: user.id,
                hash: secret::hash_token(&token),
                service: service.to_string(),
                client_id: client_id.to_string(),
                scopes: who.caller.scopes,
                expires_at: refresh_token::expiry(now, ttl),
                access_token_id,
            },
            now,
        )?;
        self.audit.record(AuditRecord {
            at: now,
            actor: user.name.clone(),
            subject: user.name.clone(),
            client_ip: None,
            event: AuditEvent::RefreshTokenIssued {
                client_id: client_id.to_string(),
                service: service.to_string(),
            },
        });
        Ok(token)
    }

    /// The caller behind a web session of user `name`, with a password's scopes, read
    /// afresh (so a disabled or deleted user is refused at once), and a stamp of the
    /// user's current password: a keyed digest of its hash, so a session can tell that
    /// the password changed since it began without holding anything that could be
    /// turned back into the hash. A password-less account (one that signs in with an
    /// identity provider) has the stamp of having none: giving it a password later ends
    /// its sessions, as a password change does; disabling it ends them like any other.
    pub fn session_caller(&self, name: &str) -> Result<(Caller, [u8; 32]), AuthError> {
        let creds = self
            .store
            .user_credentials(name, Pace::MayBlock)?
            .ok_or(Refused("unknown user"))?;
        let stamp = match creds.password_hash.as_deref() {
            Some(phc) => self.key(&["\0session"], phc),
            None => self.key(&["\0session", "\0no password"], ""),
        };
        let caller = self.caller_for(&creds.user, ScopeSet::PASSWORD, Pace::MayBlock)?;
        Ok((caller, stamp))
    }

    fn caller_for(&self, user: &User, scopes: ScopeSet, pace: Pace) -> Result<Caller, AuthError> {
        check_user(user)?;
        let teams = self.store.teams_of(user.id, pace)?;
        Ok(Caller::of_user(user, teams, scopes))
    }
}
