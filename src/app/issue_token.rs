//! The token endpoint's use case, for GET (Docker token spec) and POST (OAuth2) alike:
//! authenticate through the one `CredentialAuthority` startup chose, issue or hand back
//! a refresh token, gather the facts of every requested scope, apply `authz::decide`,
//! record the grants of push and delete the token carries (`grants`: the registry's
//! events are applied only inside one), sign, and write the audit record. Denials are
//! not errors (the token lists a denied scope with no actions); bad credentials are.
//! What the outcome means on the wire (statuses, the log line, the counters) is the
//! HTTP shell's.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use self::grants::GrantRecorder;
use super::audit::Audit;
use super::authenticate::{Attempt, AuthError, Authenticator, Binding};
use super::credentials::{CredentialAuthority, Login, RefreshWanted};
use crate::domain::audit::{AuditEvent, AuditRecord};
use crate::domain::authn::{Authenticated, Refused};
use crate::domain::authz::target::{self, TargetQuery};
use crate::domain::authz::{decide, Caller, RepoFacts, Target};
use crate::domain::events::grants_in;
use crate::domain::federation::Reach;
use crate::domain::ports::{
    AuthorizationFacts, Clock, DirResult, DirectoryError, Pace, PushGrants, RemoteRefusal,
    SignError, SignedToken, TokenClaims, TokenSigner,
};
use crate::domain::repo_name::RepoPath;
use crate::domain::scope::{parse_scope_params, ResourceActions, ResourceScope, ScopeLimits};

/// What the operator configured about tokens.
#[derive(Debug, Clone)]
pub struct TokenPolicy {
    /// Accepted `service` values.
    pub services: Vec<Arc<str>>,
    /// Lifetime of new refresh tokens; `None` = until revoked.
    pub refresh_ttl: Option<Duration>,
    /// How many scopes a request may carry, and how long each may be.
    pub scope_limits: ScopeLimits,
    /// How long a registry token lives, and how far its `nbf` lies before its issue:
    /// the interval a grant of push or delete is recorded for.
    pub token_ttl: Duration,
    pub not_before_skew: Duration,
}

/// A `service` the operator configured. Made only by `TokenIssuer::service`, so a
/// request that reaches `issue` names one: the shell checks it once, first.
/// Shared with the policy, so naming it costs no allocation on the token path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service(Arc<str>);

impl Service {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    #[cfg(test)]
    pub(crate) fn named(name: &str) -> Service {
        Service(name.into())
    }
}

/// The credential a request carries.
pub enum Credential {
    Anonymous,
    /// An `Authorization` header that is not usable Basic credentials (the cause, for
    /// the log): a 401, never anonymous.
    Malformed(&'static str),
    /// A user name and password, or an access token in the password field.
    Basic {
        user: String,
        secret: String,
    },
    /// `grant_type=refresh_token`: the same token goes back in the answer.
    Refresh {
        token: String,
    },
    /// A CI job's OIDC token: Basic with the user `oidc`, or an RFC 8693 token exchange.
    Workload {
        token: String,
    },
}

impl Credential {
    /// Basic credentials as the wire carries them (the header, or the OAuth2 password
    /// grant): the user `oidc` presents a workload's OIDC token, anyone else a password
    /// or an access token.
    pub fn basic(user: String, secret: String) -> Credential {
        if user == crate::domain::federation::WORKLOAD_LOGIN {
            Credential::Workload { token: secret }
        } else {
            Credential::Basic { user, secret }
        }
    }
}

/// One token request, already parsed from the wire.
pub struct TokenRequest {
    pub service: Service,
    pub credential: Credential,
    /// Values of the `scope` parameters, each possibly holding several scopes.
    pub scopes: Vec<String>,
    /// Issue a refresh token bound to this client (`offline_token=true`,
    /// `access_type=offline`); ignored for the refresh grant.
    pub refresh_for_client: Option<String>,
    /// The client ID a refresh grant must match.
    pub client_id: String,
    /// The client's address (the peer, or what trusted proxies report): the failed-login
    /// limits are keyed by it and the audit trail records it.
    pub client_ip: Option<IpAddr>,
    /// OAuth2 answers also list the granted scopes.
    pub oauth: bool,
}

/// What the endpoint answers.
#[derive(Debug)]
pub struct TokenGrant {
    pub signed: SignedToken,
    pub refresh_token: Option<String>,
    /// OAuth2 only: the granted scopes, space-separated.
    pub scope: Option<String>,
    pub report: Issued,
}

/// What was decided, for the shell's log line and counters.
#[derive(Debug)]
pub struct Issued {
    /// The token's subject (empty for anonymous callers).
    pub subject: String,
    /// How the caller authenticated (`anonymous`, `password`, `access_token`, ...).
    pub credential: &'static str,
    pub anonymous: bool,
    /// Each scope as asked, as granted (`type:name:actions`), and each denied action
    /// with its reason (`name:action=reason`); scopes that could not be parsed.
    pub requested: Vec<String>,
    pub granted: Vec<String>,
    pub denied: Vec<String>,
    pub ignored: Vec<String>,
}

/// Why no token was issued; the shell maps each to its status, once.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The request itself is wrong (unknown service, too many scopes...).
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Unauthorized(#[from] Refused),
    /// The directory failed, or (`DirectoryError::WouldBlock`) could not answer at
    /// this pace: not an answer, ask again with `Pace::MayBlock`.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error(transparent)]
    Sign(#[from] SignError),
    /// A remote identity provider refused the credential for a reason the user can act
    /// on (a lock-out, two-factor authentication).
    #[error(transparent)]
    Rejected(RemoteRefusal),
    /// Password checks are saturated: try again shortly.
    #[error("too many logins in progress, retry shortly")]
    Busy,
    /// Too many failed logins.
    #[error(transparent)]
    Limited(#[from] crate::app::rate_limit::Limited),
}

impl From<AuthError> for IssueError {
    fn from(e: AuthError) -> IssueError {
        match e {
            AuthError::Refused(r) => IssueError::Unauthorized(r),
            AuthError::Directory(d) => IssueError::Directory(d),
            AuthError::Busy(_) => IssueError::Busy,
            AuthError::Limited(l) => IssueError::Limited(l),
            AuthError::Rejected(r) => IssueError::Rejected(r),
        }
    }
}

impl IssueError {
    /// Not an answer: the request is to be asked again off the event loop. Never
    /// logged, audited or counted.
    pub fn would_block(&self) -> bool {
        matches!(self, IssueError::Directory(DirectoryError::WouldBlock))
    }
}

/// What the token use case reads and writes besides the credentials and facts.
pub struct IssuerPorts {
    pub signer: Arc<dyn TokenSigner>,
    pub clock: Arc<dyn Clock>,
    pub audit: Arc<Audit>,
    /// Where the grants of push and delete are recorded.
    pub grants: Arc<dyn PushGrants>,
}

/// The token endpoint's use case.
pub struct TokenIssuer {
    /// regauth's own directory or a remote identity provider, as startup chose.
    credentials: Arc<dyn CredentialAuthority>,
    /// The password checker the other front doors (web sign-in, the API's Basic
    /// login, `/metrics`) share with the token path.
    authenticator: Arc<Authenticator>,
    signer: Arc<dyn TokenSigner>,
    clock: Arc<dyn Clock>,
    audit: Arc<Audit>,
    grants: GrantRecorder,
    policy: TokenPolicy,
}

impl TokenIssuer {
    pub fn new(
        credentials: Arc<dyn CredentialAuthority>,
        authenticator: Arc<Authenticator>,
        ports: IssuerPorts,
        policy: TokenPolicy,
    ) -> TokenIssuer {
        TokenIssuer {
            credentials,
            authenticator,
            signer: ports.signer,
            clock: ports.clock,
            audit: ports.audit,
            grants: GrantRecorder::new(ports.grants, policy.not_before_skew, policy.token_ttl),
            policy,
        }
    }

    pub fn authenticator(&self) -> &Authenticator {
        &self.authenticator
    }

    /// Batches of push and delete grants written so far (for metrics).
    pub fn grant_writes(&self) -> u64 {
        self.grants.writes.get()
    }

    /// How long one token request may take in all (see `CredentialAuthority`).
    pub fn request_deadline(&self) -> Option<Duration> {
        self.credentials.request_deadline()
    }

    /// A request must name one of the configured services.
    pub fn service(&self, service: Option<&str>) -> Result<Service, IssueError> {
        match service {
            Some(s) => match self.policy.services.iter().find(|c| &***c == s) {
                Some(known) => Ok(Service(known.clone())),
                None => Err(IssueError::BadRequest(format!(
                    "unknown service {:?}",
                    truncate(s)
                ))),
            },
            None => Err(IssueError::BadRequest("service is required".into())),
        }
    }

    /// Issues a token, or says why not. The audit trail is written here either way;
    /// the log line and the counters are the shell's (`IssueError::would_block` is
    /// not an answer: ask again with `Pace::MayBlock`).
    pub fn issue(&self, req: &TokenRequest, pace: Pace) -> Result<TokenGrant, IssueError> {
        let service = req.service.as_str();
        // Before any credential is checked: an oversized request costs no argon2 run.
        let (scopes, unparsed) = parse_scope_params(
            req.scopes.iter().map(String::as_str),
            self.policy.scope_limits,
        )
        .map_err(|e| IssueError::BadRequest(e.to_string()))?;
        let attempt = Attempt {
            address: req
                .client_ip
                .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
            pace,
        };
        let binding = Binding {
            service,
            client_id: &req.client_id,
        };
        let credentials = self.credentials.as_ref();
        let (login, refresh_token) = match &req.credential {
            Credential::Anonymous => (Login::anonymous(), None),
            Credential::Malformed(why) => return Err(Refused(why).into()),
            Credential::Basic { user, secret } => {
                let login = credentials.basic(user, secret, attempt)?;
                let refresh = match (&req.refresh_for_client, &login.who.caller.user) {
                    (Some(client), Some(_)) => {
                        let wanted = RefreshWanted {
                            binding: Binding {
                                service,
                                client_id: client,
                            },
                            ttl: self.policy.refresh_ttl,
                            pace,
                        };
                        Some(credentials.refresh_token(&login, wanted)?)
                    }
                    _ => None,
                };
                (login, refresh)
            }
            Credential::Workload { token } => {
                (credentials.workload(token, &req.scopes, attempt)?, None)
            }
            Credential::Refresh { token } => {
                let login = credentials.refresh(token, binding, attempt)?;
                // The same refresh token goes back: the docker daemon discards a
                // rotated one (moby#39718), so rotation would only break clients.
                (login, Some(token.clone()))
            }
        };
        let decided = authorize(
            |path| credentials.repository_facts(&login, path, pace),
            &login.who.caller,
            login.reach.as_ref(),
            scopes,
        )?;
        let expires_by = login.reach.as_ref().map(|r| r.expires_by);
        let granted = Granted {
            who: login.who,
            refresh_token,
            expires_by,
        };
        self.grant(req, granted, decided, unparsed, pace)
    }

    /// Records the grants of push and delete, signs what was decided, and audits it.
    fn grant(
        &self,
        req: &TokenRequest,
        granted_to: Granted,
        decided: Vec<Decided>,
        ignored: Vec<String>,
        pace: Pace,
    ) -> Result<TokenGrant, IssueError> {
        let Granted {
            who,
            refresh_token,
            expires_by,
        } = granted_to;
        // One pass: the signed `access` claim takes the entries, the report the rest.
        let mut access = Vec::with_capacity(decided.len());
        let mut requested = Vec::with_capacity(decided.len());
        let mut granted = Vec::with_capacity(decided.len());
        let mut denied = Vec::new();
        for d in decided {
            if !d.entry.actions.is_empty() {
                granted.push(format!(
                    "{}:{}:{}",
                    d.entry.resource_type,
                    d.entry.name,
                    d.entry.actions.join(",")
                ));
            }
            requested.push(d.requested);
            denied.extend(d.denials);
            access.push(d.entry);
        }
        let now = self.clock.now();
        // Durable before the token exists: the registry's events of what it allows are
        // applied only inside a recorded grant.
        let pushes = grants_in(who.caller.name(), &access);
        if !pushes.is_empty() {
            self.grants.record(who.caller.name(), &pushes, now, pace)?;
        }
        let service = req.service.as_str();
        let signed = self.signer.sign(TokenClaims {
            subject: who.caller.name(),
            audience: service,
            access,
            now,
            expires_by,
        })?;
        // Queued before the token is returned: on the event loop a full queue sends the
        // request to the blocking pool (which waits for room), so no record is dropped
        // and the event loop never waits on the audit trail.
        let record = AuditRecord {
            at: now,
            actor: who.caller.name().to_string(),
            subject: who.caller.name().to_string(),
            client_ip: req.client_ip,
            event: AuditEvent::TokenIssued {
                credential: who.method.as_str().to_string(),
                client_id: req.client_id.clone(),
                service: service.to_string(),
                granted: granted.clone(),
                denied: denied.clone(),
            },
        };
        match pace {
            Pace::Inline => self
                .audit
                .try_record(record)
                .map_err(|_| DirectoryError::WouldBlock)?,
            Pace::MayBlock => self.audit.record(record),
        }
        let scope = req.oauth.then(|| granted.join(" "));
        Ok(TokenGrant {
            signed,
            refresh_token,
            scope,
            report: Issued {
                credential: who.method.as_str(),
                anonymous: who.caller.user.is_none(),
                // Moved, not copied: the caller ends here.
                subject: who.caller.user.map(|u| u.name).unwrap_or_default(),
                requested,
                granted,
                denied,
                ignored,
            },
        })
    }
}

/// Who a token is for: the caller, the refresh token it gets, and when a credential
/// that ends sooner caps its life.
struct Granted {
    who: Authenticated,
    refresh_token: Option<String>,
    expires_by: Option<crate::domain::model::UnixTime>,
}

/// One requested scope after the decision.
struct Decided {
    requested: String,
    entry: ResourceActions,
    /// `name:action=reason` for the log.
    denials: Vec<String>,
}

/// Gathers the facts for each scope (one read per distinct repository) and applies the
/// rules.
fn authorize(
    facts: impl Fn(&RepoPath) -> DirResult<RepoFacts>,
    caller: &Caller,
    reach: Option<&Reach>,
    scopes: Vec<ResourceScope>,
) -> Result<Vec<Decided>, DirectoryError> {
    let mut known: HashMap<String, Target> = HashMap::new();
    let mut out = Vec::with_capacity(scopes.len());
    for scope in scopes {
        // Borrowed, not cloned: ACLs can be long.
        let other;
        let target = if scope.resource_type == "repository" {
            if !known.contains_key(&scope.name) {
                let t = gather_with(&facts, &scope)?;
                known.insert(scope.name.clone(), t);
            }
            &known[&scope.name]
        } else {
            other = gather_with(&facts, &scope)?;
            &other
        };
        let mut decision = decide(caller, target, &scope.actions);
        if let Some(reach) = reach {
            decision = reach.confine(&scope.resource_type, &scope.name, &scope.actions, decision);
        }
        let denials = decision
            .denied
            .iter()
            .map(|d| format!("{}:{}={}", scope.name, d.action, d.reason.as_str()))
            .collect();
        out.push(Decided {
            requested: scope.to_string(),
            entry: ResourceActions {
                resource_type: scope.resource_type,
                name: scope.name,
                actions: decision.granted,
            },
            denials,
        });
    }
    Ok(out)
}

/// The facts a scope's target needs, for a use case off the event loop (`explain`).
pub(crate) fn gather(
    facts: &dyn AuthorizationFacts,
    scope: &ResourceScope,
) -> Result<Target, DirectoryError> {
    gather_with(|path| facts.repository_facts(path, Pace::MayBlock), scope)
}

/// The facts a scope's target needs (none for the catalog and unsupported resources).
fn gather_with(
    facts: impl Fn(&RepoPath) -> DirResult<RepoFacts>,
    scope: &ResourceScope,
) -> Result<Target, DirectoryError> {
    Ok(match target::query(scope) {
        TargetQuery::Repository(path) => Target::Repository(facts(&path)?),
        TargetQuery::InvalidRepository => Target::InvalidRepository,
        TargetQuery::Catalog => Target::Catalog,
        TargetQuery::Unsupported => Target::Unsupported,
    })
}

/// Echoes at most 64 characters of caller input in an error message.
fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

mod grants;
#[cfg(test)]
mod remote_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod workload_tests;
