//! Workload sign-in: a CI job's OIDC token in, a `Login` bounded by the first trust
//! policy its claims meet out. The caller acts with its policy's creator's rights as
//! they are now (teams, certification, disabled), cut down to the policy's reach
//! (`domain::federation::Reach`); the registry token names the workload, ends no later
//! than the OIDC token and the policy's limit, and never comes with a refresh token.
//!
//! `FederatedCredentials` puts this in front of whichever `CredentialAuthority` startup
//! chose: one more implementation of the port, so `issue_token` keeps one path.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::audit::Audit;
use super::authenticate::{Attempt, AuthError, Authenticator, Binding};
use super::credentials::{CredentialAuthority, Login, RefreshWanted};
use crate::domain::audit::{AuditEvent, AuditRecord};
use crate::domain::authn::{check_user, Authenticated, Method, Refused};
use crate::domain::authz::{Caller, RepoFacts};
use crate::domain::federation::{first_match, workload_name, Mismatch, Reach};
use crate::domain::model::{TrustPolicy, UnixTime, WorkloadClaims};
use crate::domain::ports::{
    Clock, CredentialStore, DirResult, OidcRejection, OidcVerifier, Pace, RemoteRefusal,
    TrustPolicyStore,
};
use crate::domain::repo_name::RepoPath;

/// The user name a workload logs in with (`docker login -u oidc -p "$OIDC_TOKEN"`); the
/// failed-login limits count its failures under it.
pub use crate::domain::federation::WORKLOAD_LOGIN;

/// How many OIDC tokens' first scopes are remembered, and for how long at most: the
/// replay rule's memory is bounded whatever the traffic.
const REMEMBERED_TOKENS: u64 = 100_000;
const REMEMBERED_FOR: Duration = Duration::from_secs(3600);

/// The ports workload sign-in reads.
pub struct WorkloadPorts {
    pub verifier: Arc<dyn OidcVerifier>,
    pub policies: Arc<dyn TrustPolicyStore>,
    pub store: Arc<dyn CredentialStore>,
    pub clock: Arc<dyn Clock>,
    pub audit: Arc<Audit>,
}

/// Checks workload tokens against the trust policies.
pub struct WorkloadLogins {
    ports: WorkloadPorts,
    /// A digest of (issuer, `jti` or the token) → the scopes its first use asked for.
    uses: moka::sync::Cache<[u8; 32], Arc<str>>,
    /// A digest of the token → its verified claims: docker asks for a token once per
    /// layer with the same OIDC token, and its signature needs checking once. Served
    /// only before the token's `exp`; the policies, the creator and the replay rule are
    /// checked on every request.
    verified: moka::sync::Cache<[u8; 32], Arc<WorkloadClaims>>,
}

impl WorkloadLogins {
    pub fn new(ports: WorkloadPorts) -> WorkloadLogins {
        WorkloadLogins {
            ports,
            uses: moka::sync::Cache::builder()
                .max_capacity(REMEMBERED_TOKENS)
                .time_to_live(REMEMBERED_FOR)
                .build(),
            verified: moka::sync::Cache::builder()
                .max_capacity(REMEMBERED_TOKENS)
                .time_to_live(REMEMBERED_FOR)
                .build(),
        }
    }

    /// The token's claims: remembered from an earlier check while it is alive, else
    /// verified (signature, issuer, lifetime) by the port.
    fn claims(
        &self,
        token: &str,
        now: UnixTime,
        pace: Pace,
    ) -> Result<Arc<WorkloadClaims>, AuthError> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(c) = self.verified.get(&key) {
            if now < c.expires_at {
                return Ok(c);
            }
        }
        let claims = self
            .ports
            .verifier
            .verify(token, now, pace)
            .map_err(|e| match e {
                OidcRejection::Rejected(why) => AuthError::Refused(Refused(why)),
                OidcRejection::Unanswered(d) => AuthError::Directory(d),
            })?;
        let claims = Arc::new(claims);
        self.verified.insert(key, claims.clone());
        Ok(claims)
    }

    /// The workload `token` proves, for a request of `scopes`.
    pub fn login(&self, token: &str, scopes: &[String], pace: Pace) -> Result<Login, AuthError> {
        let p = &self.ports;
        let now = p.clock.now();
        let claims = self.claims(token, now, pace)?;
        let policies = p.policies.trust_policies_for_issuer(&claims.issuer, pace)?;
        let matched = first_match(&policies, &claims)
            .map_err(|misses| unmatched(&policies, &claims, &misses))?;
        let policy = matched.policy;
        let creator = p
            .store
            .user_credentials(&policy.creator_name, pace)?
            .ok_or(Refused("the trust policy's creator is gone"))?
            .user;
        check_user(&creator).map_err(|_| Refused("the trust policy's creator is disabled"))?;
        let reach = Reach::of(policy, claims.expires_at, now);
        self.first_scopes_only(&claims, token, scopes)?;
        let teams = p.store.teams_of(creator.id, pace)?;
        let mut caller = Caller::of_user(&creator, teams, reach.scopes());
        let name = workload_name(&claims.issuer, &claims.subject);
        if let Some(u) = caller.user.as_mut() {
            u.name = name.clone();
        }
        let record = AuditRecord {
            at: now,
            actor: name.clone(),
            subject: name,
            client_ip: None,
            event: AuditEvent::WorkloadAdmitted {
                policy: policy.id,
                project: policy.policy.project.to_string(),
                creator: policy.creator_name.clone(),
                claims: matched.claims,
            },
        };
        match pace {
            Pace::Inline => p
                .audit
                .try_record(record)
                .map_err(|_| AuthError::WOULD_BLOCK)?,
            Pace::MayBlock => p.audit.record(record),
        }
        Ok(Login {
            who: Authenticated {
                caller,
                method: Method::Workload(policy.id),
            },
            identity: None,
            reach: Some(reach),
        })
    }

    /// docker asks for a token several times with one login: the same OIDC token is
    /// accepted again for the scopes of its first use (or none, a login probe), plus
    /// pull-only scopes (what docker and skopeo add for a blob they mount from another
    /// repository, which the policy's reach still bounds), never for another push or
    /// delete.
    fn first_scopes_only(
        &self,
        claims: &WorkloadClaims,
        token: &str,
        scopes: &[String],
    ) -> Result<(), AuthError> {
        if scopes.is_empty() {
            return Ok(());
        }
        let mut h = Sha256::new();
        h.update(claims.issuer.as_bytes());
        h.update([0]);
        match &claims.jti {
            Some(jti) => h.update(jti.as_bytes()),
            None => h.update(token.as_bytes()),
        }
        let key: [u8; 32] = h.finalize().into();
        let mut asked: Vec<&str> = scopes
            .iter()
            .flat_map(|s| s.split(' '))
            .filter(|s| !s.is_empty())
            .collect();
        asked.sort_unstable();
        asked.dedup();
        let joined = asked.join(" ");
        let first = self.uses.get_with(key, || Arc::from(joined.as_str()));
        let first: Vec<&str> = first.split(' ').collect();
        let widened = asked
            .iter()
            .any(|s| !first.contains(s) && !crate::domain::federation::is_pull_only(s));
        if widened {
            Err(Refused("OIDC token already used for other scopes").into())
        } else {
            Ok(())
        }
    }
}

/// Why no policy admitted a token, told to the workload: for each policy made for the
/// token's audience (so, for this registry), its id, project and the claim that failed,
/// never the value it wants; a token for another audience learns nothing.
fn unmatched(policies: &[TrustPolicy], claims: &WorkloadClaims, misses: &[Mismatch]) -> AuthError {
    let told: Vec<String> = misses
        .iter()
        .filter_map(|m| {
            let p = policies.iter().find(|p| p.id == m.policy)?;
            claims
                .audience
                .contains(&p.policy.audience)
                .then(|| format!("policy {} of {}: claim {}", p.id, p.policy.project, m.claim))
        })
        .collect();
    if told.is_empty() {
        Refused("no trust policy matches").into()
    } else {
        AuthError::Rejected(RemoteRefusal::NoTrustPolicy(told.join("; ")))
    }
}

/// Workload tokens in front of the authority startup chose; everything else goes to it.
pub struct FederatedCredentials {
    pub inner: Arc<dyn CredentialAuthority>,
    pub workloads: WorkloadLogins,
    /// The failed-login limits the other credentials count against.
    pub auth: Arc<Authenticator>,
}

impl FederatedCredentials {
    fn audit_failure(&self, address: IpAddr, why: &Refused, pace: Pace) -> Result<(), AuthError> {
        let record = AuditRecord {
            at: self.workloads.ports.clock.now(),
            actor: WORKLOAD_LOGIN.into(),
            subject: WORKLOAD_LOGIN.into(),
            client_ip: Some(address),
            event: AuditEvent::LoginFailed {
                credential: "workload".into(),
                reason: why.0.into(),
            },
        };
        let audit = &self.workloads.ports.audit;
        match pace {
            Pace::Inline => audit.try_record(record).map_err(|_| AuthError::WOULD_BLOCK),
            Pace::MayBlock => {
                audit.record(record);
                Ok(())
            }
        }
    }
}

impl CredentialAuthority for FederatedCredentials {
    fn basic(&self, user: &str, secret: &str, attempt: Attempt) -> Result<Login, AuthError> {
        self.inner.basic(user, secret, attempt)
    }

    fn refresh(&self, token: &str, binding: Binding<'_>, at: Attempt) -> Result<Login, AuthError> {
        self.inner.refresh(token, binding, at)
    }

    fn refresh_token(&self, login: &Login, wanted: RefreshWanted<'_>) -> Result<String, AuthError> {
        if login.reach.is_some() {
            return Err(Refused("workloads get no refresh token").into());
        }
        self.inner.refresh_token(login, wanted)
    }

    fn repository_facts(&self, login: &Login, path: &RepoPath, pace: Pace) -> DirResult<RepoFacts> {
        self.inner.repository_facts(login, path, pace)
    }

    fn request_deadline(&self) -> Option<Duration> {
        self.inner.request_deadline()
    }

    fn workload(
        &self,
        token: &str,
        scopes: &[String],
        attempt: Attempt,
    ) -> Result<Login, AuthError> {
        let limits = self.auth.failed_logins();
        limits.check(WORKLOAD_LOGIN, attempt.address)?;
        let outcome = self.workloads.login(token, scopes, attempt.pace);
        let why = match &outcome {
            Err(AuthError::Refused(why)) => Some(*why),
            Err(AuthError::Rejected(RemoteRefusal::NoTrustPolicy(_))) => {
                Some(Refused("no trust policy matches"))
            }
            _ => None,
        };
        if let Some(why) = why {
            self.audit_failure(attempt.address, &why, attempt.pace)?;
            limits.failed(WORKLOAD_LOGIN, attempt.address);
        }
        outcome
    }
}
