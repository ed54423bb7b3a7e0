//! The token endpoint's use case, for GET (Docker token spec) and POST (OAuth2) alike:
//! check the service, authenticate, issue or hand back a refresh token, gather the facts
//! of every requested scope, apply `authz::decide`, record the grants of push and
//! delete the token carries (`grants`: the registry's events are applied only inside
//! one), sign, and write the audit line. Denials are not errors (the token lists a
//! denied scope with no actions); bad credentials are.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use self::grants::GrantRecorder;
use super::audit::Audit;
use super::authenticate::{AuthError, Authenticator, Pace};
use super::rate_limit::FailedLogins;
use super::remote_login::{AsCaller, RemoteAuthority};
use crate::domain::audit::{AuditEvent, AuditRecord};
use crate::domain::authn::{Authenticated, Refused};
use crate::domain::authz::target::{self, TargetQuery};
use crate::domain::authz::{decide, Caller, Target};
use crate::domain::events::grants_in;
use crate::domain::ports::{
    AuthorizationFacts, Clock, DirectoryError, PushGrants, RemoteIdentity, RemoteRefusal,
    SignError, SignedToken, TokenSigner,
};
use crate::domain::scope::{parse_scope_params, ResourceActions, ResourceScope, ScopeLimits};

/// What the operator configured about tokens.
#[derive(Debug, Clone)]
pub struct TokenPolicy {
    /// Accepted `service` values.
    pub services: Vec<String>,
    /// Lifetime of new refresh tokens; `None` = until revoked.
    pub refresh_ttl: Option<Duration>,
    /// How many scopes a request may carry, and how long each may be.
    pub scope_limits: ScopeLimits,
    /// How long a registry token lives, and how far its `nbf` lies before its issue:
    /// the interval a grant of push or delete is recorded for.
    pub token_ttl: Duration,
    pub not_before_skew: Duration,
}

/// How the request arrived, for the audit line.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub http_method: &'static str,
    /// `basic`, `anonymous`, `password`, `refresh_token` or `unknown`.
    pub grant: &'static str,
    pub client_id: String,
    /// The `account` (GET) or `username` (POST) the client named.
    pub account: String,
    pub service: String,
    /// The client's address (the peer, or what trusted proxies report).
    pub client_ip: Option<std::net::IpAddr>,
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
}

/// One token request, already parsed from the wire.
pub struct TokenRequest {
    pub service: Option<String>,
    pub credential: Credential,
    /// Values of the `scope` parameters, each possibly holding several scopes.
    pub scopes: Vec<String>,
    /// Issue a refresh token bound to this client (`offline_token=true`,
    /// `access_type=offline`); ignored for the refresh grant.
    pub refresh_for_client: Option<String>,
    /// The client ID a refresh grant must match.
    pub client_id: String,
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
}

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The request itself is wrong (unknown service...): a 400 with this message.
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Unauthorized(#[from] Refused),
    #[error(transparent)]
    Directory(DirectoryError),
    #[error(transparent)]
    Sign(#[from] SignError),
    /// A remote identity provider refused the credential for a reason the user can act
    /// on (a lock-out, two-factor authentication): a 401 saying so.
    #[error(transparent)]
    Rejected(RemoteRefusal),
    /// Password checks are saturated: a 503 with `Retry-After`.
    #[error("too many logins in progress, retry shortly")]
    Busy,
    /// Too many failed logins: a 429 with `Retry-After`.
    #[error(transparent)]
    Limited(#[from] crate::app::rate_limit::Limited),
    /// `Pace::Inline` could not answer without a password check or a write: run it
    /// again with `Pace::MayBlock`. Never logged, audited or counted.
    #[error("needs the blocking pool")]
    WouldBlock,
}

impl From<AuthError> for IssueError {
    fn from(e: AuthError) -> IssueError {
        match e {
            AuthError::Refused(r) => IssueError::Unauthorized(r),
            AuthError::Directory(d) => IssueError::Directory(d),
            AuthError::Busy(_) => IssueError::Busy,
            AuthError::Limited(l) => IssueError::Limited(l),
            AuthError::WouldBlock => IssueError::WouldBlock,
        }
    }
}

impl From<DirectoryError> for IssueError {
    fn from(e: DirectoryError) -> IssueError {
        match e {
            DirectoryError::WouldBlock => IssueError::WouldBlock,
            d => IssueError::Directory(d),
        }
    }
}

impl IssueError {
    /// Not an answer: the request is to be asked again off the event loop. (Both
    /// conversions from the directory's errors turn its `WouldBlock` into this.)
    pub fn would_block(&self) -> bool {
        matches!(self, IssueError::WouldBlock)
    }
}

/// What the token use case reads and writes besides authentication.
pub struct IssuerPorts {
    pub facts: Arc<dyn AuthorizationFacts>,
    pub signer: Arc<dyn TokenSigner>,
    pub clock: Arc<dyn Clock>,
    pub audit: Arc<Audit>,
    /// Where the grants of push and delete are recorded.
    pub grants: Arc<dyn PushGrants>,
}

/// The token endpoint's use case.
pub struct TokenIssuer {
    authenticator: Arc<Authenticator>,
    /// Set when a remote identity provider checks credentials and answers the facts.
    remote: Option<RemoteAuthority>,
    facts: Arc<dyn AuthorizationFacts>,
    signer: Arc<dyn TokenSigner>,
    clock: Arc<dyn Clock>,
    audit: Arc<Audit>,
    grants: GrantRecorder,
    policy: TokenPolicy,
}

impl TokenIssuer {
    pub fn new(
        authenticator: Arc<Authenticator>,
        ports: IssuerPorts,
        policy: TokenPolicy,
    ) -> TokenIssuer {
        TokenIssuer {
            authenticator,
            remote: None,
            facts: ports.facts,
            signer: ports.signer,
            clock: ports.clock,
            audit: ports.audit,
            grants: GrantRecorder::new(ports.grants, policy.not_before_skew, policy.token_ttl),
            policy,
        }
    }

    /// Credentials and facts come from `remote` instead of the directory.
    pub fn with_remote(mut self, remote: RemoteAuthority) -> TokenIssuer {
        self.remote = Some(remote);
        self
    }

    pub fn is_remote(&self) -> bool {
        self.remote.is_some()
    }

    pub fn authenticator(&self) -> &Authenticator {
        &self.authenticator
    }

    /// Issues a token, writing the audit line either way (but for `WouldBlock`, which
    /// is not an answer).
    pub fn issue(
        &self,
        meta: &mut RequestMeta,
        req: &TokenRequest,
        pace: Pace,
    ) -> Result<TokenGrant, IssueError> {
        let outcome = self.issue_inner(meta, req, pace);
        if let Err(e) = &outcome {
            if !e.would_block() {
                refused(meta, e);
            }
        }
        outcome
    }

    fn issue_inner(
        &self,
        meta: &mut RequestMeta,
        req: &TokenRequest,
        pace: Pace,
    ) -> Result<TokenGrant, IssueError> {
        meta.service = self.check_service(req.service.as_deref())?;
        // Before any credential is checked: an oversized request costs no argon2 run.
        let (scopes, unparsed) = parse_scope_params(
            req.scopes.iter().map(String::as_str),
            self.policy.scope_limits,
        )
        .map_err(|e| IssueError::BadRequest(e.to_string()))?;
        if let Some(remote) = &self.remote {
            // Inline, the provider's ports answer from their caches only (the shell
            // runs the request under `cache::hits_only`) and say `WouldBlock` for
            // anything that needs a call.
            let limits = (self.authenticator.failed_logins(), client_ip(meta));
            let (who, refresh_token, identity) = remote_credential(remote, req, limits)?;
            if who.caller.user.is_none() && meta.grant == "basic" {
                meta.grant = "anonymous";
            }
            let facts = AsCaller {
                facts: remote.facts.as_ref(),
                who: identity.as_ref(),
            };
            let decided = authorize(&facts, &who.caller, scopes)?;
            return self.grant(meta, req, who, refresh_token, decided, unparsed, pace);
        }
        let auth = self.authenticator.as_ref();
        let (who, refresh_token) = match &req.credential {
            Credential::Anonymous => (Authenticated::anonymous(), None),
            Credential::Malformed(why) => return Err(Refused(why).into()),
            Credential::Basic { user, secret } => {
                let who = auth.basic(user, secret, client_ip(meta), pace)?;
                let refresh = match (&req.refresh_for_client, &who.caller.user) {
                    // Storing a refresh token is a durable write: off the event loop.
                    (Some(_), Some(_)) if pace == Pace::Inline => {
                        return Err(IssueError::WouldBlock)
                    }
                    (Some(client), Some(_)) => Some(auth.issue_refresh_token(
                        &who,
                        &meta.service,
                        client,
                        self.policy.refresh_ttl,
                    )?),
                    _ => None,
                };
                (who, refresh)
            }
            Credential::Refresh { token } => {
                let who =
                    auth.refresh(token, &meta.service, &req.client_id, client_ip(meta), pace)?;
                // The same refresh token goes back: the docker daemon discards a
                // rotated one (moby#39718), so rotation would only break clients.
                (who, Some(token.clone()))
            }
        };
        if who.caller.user.is_none() && meta.grant == "basic" {
            meta.grant = "anonymous";
        }
        let decided = authorize(self.facts.as_ref(), &who.caller, scopes)?;
        self.grant(meta, req, who, refresh_token, decided, unparsed, pace)
    }

    /// Records the grants of push and delete, signs what was decided, logs and audits
    /// it.
    #[allow(clippy::too_many_arguments)]
    fn grant(
        &self,
        meta: &mut RequestMeta,
        req: &TokenRequest,
        who: Authenticated,
        refresh_token: Option<String>,
        decided: Vec<Decided>,
        unparsed: Vec<String>,
        pace: Pace,
    ) -> Result<TokenGrant, IssueError> {
        // One pass: the signed `access` claim takes the entries, the audit line the rest.
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
        let signed = self
            .signer
            .sign(who.caller.name(), &meta.service, access, now)?;
        // Queued before the token is logged, counted or returned: on the event loop a
        // full queue sends the request to the blocking pool (which waits for room), so
        // no record is dropped and the event loop never waits on the audit trail.
        let record = AuditRecord {
            at: now,
            actor: who.caller.name().to_string(),
            subject: who.caller.name().to_string(),
            client_ip: meta.client_ip,
            event: AuditEvent::TokenIssued {
                credential: who.method.as_str().to_string(),
                client_id: meta.client_id.clone(),
                service: meta.service.clone(),
                granted: granted.clone(),
                denied: denied.clone(),
            },
        };
        match pace {
            Pace::Inline => self
                .audit
                .try_record(record)
                .map_err(|_| IssueError::WouldBlock)?,
            Pace::MayBlock => self.audit.record(record),
        }

        tracing::info!(
            target: "regauth::token",
            method = meta.http_method,
            grant = meta.grant,
            user = who.caller.name(),
            auth = who.method.as_str(),
            account = %meta.account,
            client_id = %meta.client_id,
            client_ip = ?meta.client_ip,
            service = %meta.service,
            requested = ?requested,
            granted = ?granted,
            denied = ?denied,
            ignored = ?unparsed,
            refresh_token = refresh_token.is_some(),
            jti = %signed.jti,
            status = 200,
            "token issued"
        );
        let scope = req.oauth.then(|| granted.join(" "));
        metrics::counter!("regauth_token_requests_total", "outcome" => "issued", "credential" => who.method.as_str())
            .increment(1);
        Ok(TokenGrant {
            signed,
            refresh_token,
            scope,
        })
    }

    /// A request must name one of the configured services.
    pub fn check_service(&self, service: Option<&str>) -> Result<String, IssueError> {
        match service {
            Some(s) if self.policy.services.iter().any(|c| c == s) => Ok(s.to_string()),
            Some(s) => Err(IssueError::BadRequest(format!(
                "unknown service {:?}",
                truncate(s)
            ))),
            None => Err(IssueError::BadRequest("service is required".into())),
        }
    }
}

/// Who a remote provider says the caller is; the identity token a `docker login`
/// keeps is the provider's own token (a login's access token, or the personal access
/// token given), checked again by the provider on every refresh. The failed-login
/// limits stand in front of the provider as in front of the directory: a client over
/// them costs no upstream call (and cannot lock a user out at the provider).
fn remote_credential(
    remote: &RemoteAuthority,
    req: &TokenRequest,
    (failures, address): (&FailedLogins, std::net::IpAddr),
) -> Result<(Authenticated, Option<String>, Option<RemoteIdentity>), IssueError> {
    let refused = |e: RemoteRefusal| match e {
        RemoteRefusal::Refused => IssueError::Unauthorized(Refused("refused by the provider")),
        RemoteRefusal::Unavailable(why) => IssueError::Directory(DirectoryError::Backend(why)),
        RemoteRefusal::WouldBlock => IssueError::WouldBlock,
        other => IssueError::Rejected(other),
    };
    match &req.credential {
        Credential::Anonymous => Ok((Authenticated::anonymous(), None, None)),
        Credential::Malformed(why) => Err(Refused(why).into()),
        Credential::Basic { user, secret } => {
            failures.check(user, address)?;
            let login = remote.basic(user, secret).map_err(|e| {
                if matches!(e, RemoteRefusal::Refused) {
                    failures.failed(user, address);
                }
                refused(e)
            })?;
            let refresh = req
                .refresh_for_client
                .as_ref()
                .map(|_| login.identity.bearer.clone());
            Ok((login.who, refresh, Some(login.identity)))
        }
        Credential::Refresh { token } => {
            failures.check("", address)?;
            let login = remote.refresh(token).map_err(|e| {
                if matches!(e, RemoteRefusal::Refused) {
                    failures.failed("", address);
                }
                refused(e)
            })?;
            Ok((login.who, Some(token.clone()), Some(login.identity)))
        }
    }
}

/// The address limits are keyed by (unspecified when the shell gave none, as in tests).
fn client_ip(meta: &RequestMeta) -> std::net::IpAddr {
    meta.client_ip
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

/// The audit line of a refused request; also written by the HTTP shell for requests
/// refused before they reach this use case (a malformed form).
pub fn refused(meta: &RequestMeta, error: &IssueError) {
    let status = match error {
        IssueError::WouldBlock => return,
        IssueError::BadRequest(_) => 400,
        IssueError::Unauthorized(_) | IssueError::Rejected(_) => 401,
        IssueError::Directory(DirectoryError::Backend(_)) | IssueError::Busy => 503,
        IssueError::Directory(_) | IssueError::Sign(_) => 500,
        IssueError::Limited(_) => 429,
    };
    refused_with(meta, status, &error.to_string());
}

/// Like [`refused`], for a status and message of the shell's own.
pub fn refused_with(meta: &RequestMeta, status: u16, error: &str) {
    let outcome = match status {
        400 => "bad_request",
        401 => "unauthorized",
        408 => "timeout",
        413 => "too_large",
        429 => "rate_limited",
        503 => "busy",
        _ => "error",
    };
    metrics::counter!("regauth_token_requests_total", "outcome" => outcome, "credential" => meta.grant)
        .increment(1);
    tracing::info!(
        target: "regauth::token",
        method = meta.http_method,
        grant = meta.grant,
        account = %meta.account,
        client_id = %meta.client_id,
        client_ip = ?meta.client_ip,
        service = %meta.service,
        status,
        error,
        "token refused"
    );
}

/// One requested scope after the decision.
struct Decided {
    requested: String,
    entry: ResourceActions,
    /// `name:action=reason` for the log.
    denials: Vec<String>,
}

/// Gathers the facts for each scope (one directory read per distinct repository) and
/// applies the rules.
fn authorize(
    facts: &dyn AuthorizationFacts,
    caller: &Caller,
    scopes: Vec<ResourceScope>,
) -> Result<Vec<Decided>, DirectoryError> {
    let mut known: HashMap<String, Target> = HashMap::new();
    let mut out = Vec::with_capacity(scopes.len());
    for scope in scopes {
        // Borrowed, not cloned: ACLs can be long.
        let other;
        let target = if scope.resource_type == "repository" {
            if !known.contains_key(&scope.name) {
                let t = gather(facts, &scope)?;
                known.insert(scope.name.clone(), t);
            }
            &known[&scope.name]
        } else {
            other = gather(facts, &scope)?;
            &other
        };
        let decision = decide(caller, target, &scope.actions);
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

/// The facts a scope's target needs (none for the catalog and unsupported resources).
pub(crate) fn gather(
    facts: &dyn AuthorizationFacts,
    scope: &ResourceScope,
) -> Result<Target, DirectoryError> {
    Ok(match target::query(scope) {
        TargetQuery::Repository(path) => Target::Repository(facts.repository_facts(&path)?),
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
