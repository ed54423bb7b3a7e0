//! The narrow traits storage implements, one per capability (as lldap splits its
//! handlers): a backend implements only what it can, and each use case in `app` asks
//! only for what it needs. A remote Synapse-style backend can provide the login and
//! authorization facts without the administration; a test double of
//! `AuthorizationFacts` is a few dozen lines.
//!
//! Changes that depend on current state (sharing, trash, ingest) take the domain rule as
//! a function: the backend gathers the facts and writes the result in one transaction,
//! and the rule itself lives once, in `domain`.
//!
//! Every method is synchronous. The token path's reads take a `Pace`: on the HTTP event
//! loop they answer from memory or a local file or say `WouldBlock`; everything else is
//! called from the blocking pool.
//! Secrets never cross these traits in clear: passwords as PHC hash strings, tokens as
//! SHA-256 digests.

use crate::domain::audit::{AuditFilter, AuditRecord};
use crate::domain::authz::sharing::SharingChange;
use crate::domain::authz::{EntityFacts, RepoFacts};
use crate::domain::events::{Grant, IngestFacts};
use crate::domain::model::{
    AccessRequest, AccessSet, AccessTokenRecord, Acl, EntityId, EntityInfo, EntityRef,
    EventOutcome, ManifestDelete, ManifestPush, MintRefusal, NewAccessToken, NewRefreshToken,
    NewTrustPolicy, NewUser, Principal, PrincipalRef, ProjectName, RefreshTokenRecord,
    RequestDecision, TagInfo, TagSort, TeamId, TeamName, TokenHash, TrustPolicy, UnixTime,
    UsedToken, User, UserCredentials, UserId, UserUpdate, WorkloadClaims,
};
use crate::domain::repo_name::{ExternalName, RepoPath};
use crate::domain::scope::ResourceActions;

/// Errors a directory reports. The messages are meant for operators (CLI, logs), never
/// for anonymous HTTP callers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    Conflict(String),
    /// A rule refused the change (the message says which).
    #[error("{0}")]
    Invalid(String),
    /// A rule refused the caller, who may see the entity but lacks the permission.
    #[error("{0}")]
    Denied(String),
    #[error("directory backend failed: {0}")]
    Backend(String),
    /// This directory does not offer the operation (beside a Synapse, changes Synapse
    /// owns); the message says where to make it.
    #[error("{0}")]
    Unsupported(String),
    /// Answering needs work the caller's `Pace::Inline` forbids (a call across the
    /// network, a password check, a durable write): ask again with `Pace::MayBlock`.
    /// The one "would block" of the code base: every use case passes it up unchanged.
    #[error("the directory must be asked off the event loop")]
    WouldBlock,
}

pub type DirResult<T> = Result<T, DirectoryError>;

/// Where a port is asked from, handed down explicitly from the HTTP shell. On the event
/// loop (`Inline`) a port answers only from what it holds in memory or in a local file,
/// and says `DirectoryError::WouldBlock` for anything that would wait (the network, a
/// password check, a durable write); the shell then asks again on the blocking pool
/// (`MayBlock`). So a warm server answers most token requests without a thread hop,
/// whatever the backend, and no backend is named outside the composition root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    Inline,
    MayBlock,
}

/// A refused mint: the cap is a rule refusing the change (a 400 with the message, as
/// before the store enforced it), a parent out of force refuses the caller.
impl From<MintRefusal> for DirectoryError {
    fn from(r: MintRefusal) -> DirectoryError {
        match r {
            MintRefusal::TooMany { .. } => DirectoryError::Invalid(r.to_string()),
            MintRefusal::ParentNotInForce | MintRefusal::ParentOfAnotherUser => {
                DirectoryError::Denied(r.to_string())
            }
        }
    }
}

/// A rule applied to an entity's facts inside the backend's transaction.
pub type EntityRule<'a, T> = &'a dyn Fn(&EntityFacts) -> DirResult<T>;

/// The time, so use cases and tests agree on `now`.
pub trait Clock: Send + Sync {
    fn now(&self) -> UnixTime;
}

/// Login: what proves who a caller is. Read on every token request.
pub trait CredentialStore: Send + Sync {
    /// A user by login name, with its password hash.
    fn user_credentials(&self, login: &str, pace: Pace) -> DirResult<Option<UserCredentials>>;
    fn access_token(&self, hash: &TokenHash, pace: Pace) -> DirResult<Option<AccessTokenRecord>>;
    fn refresh_token(&self, hash: &TokenHash, pace: Pace) -> DirResult<Option<RefreshTokenRecord>>;
    fn teams_of(&self, user: UserId, pace: Pace) -> DirResult<Vec<TeamId>>;
}

/// A number that changes whenever anything the token path reads (users, teams, tokens,
/// entities, ACLs) changes, in this process or any other: caches keep what they read
/// for as long as it stays the same.
pub trait ChangeVersion: Send + Sync {
    fn change_version(&self, pace: Pace) -> DirResult<u64>;
    /// How many changes this process has committed so far (0 when not counted): a
    /// cache asks the version again as soon as it moves, so a change made here is seen
    /// by the very next request, not only after the cache's recheck interval.
    fn local_writes(&self) -> u64 {
        0
    }
}

/// A directory backend as the composition root holds it (and the Synapse ledger wraps
/// it): every port, and the change version its caches compare.
pub trait DirectoryBackend: Directory + ChangeVersion {}
impl<T: Directory + ChangeVersion> DirectoryBackend for T {}

/// Where refresh tokens are kept (a remote backend may pair with a local store).
pub trait RefreshTokenStore: Send + Sync {
    fn create_refresh_token(&self, token: &NewRefreshToken, now: UnixTime) -> DirResult<i64>;
}

/// What the rules decide on.
pub trait AuthorizationFacts: Send + Sync {
    /// Facts about the repository at `path` and its project (first path segment).
    fn repository_facts(&self, path: &RepoPath, pace: Pace) -> DirResult<RepoFacts>;
    /// An existing entity with its own and its project's sharing state; `None` when no
    /// such entity exists.
    fn entity_facts(&self, entity: &EntityRef) -> DirResult<Option<EntityFacts>>;
}

/// Users.
pub trait UserAdmin: Send + Sync {
    fn add_user(&self, user: &NewUser, now: UnixTime) -> DirResult<User>;
    /// Applies `update` and, in the same transaction, revokes what `ends` names.
    fn update_user(
        &self,
        name: &str,
        update: &UserUpdate,
        ends: EndTokens,
        now: UnixTime,
    ) -> DirResult<UserUpdated>;
    fn user_by_name(&self, name: &str) -> DirResult<Option<User>>;
    fn list_users(&self) -> DirResult<Vec<User>>;
}

/// Which of a user's tokens a change ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EndTokens {
    pub refresh_tokens: bool,
    pub access_tokens: bool,
}

/// A user after a change, and how many of its tokens the change ended.
#[derive(Debug, Clone)]
pub struct UserUpdated {
    pub user: User,
    pub refresh_tokens_ended: usize,
    pub access_tokens_ended: usize,
}

/// Teams and their members.
pub trait TeamAdmin: Send + Sync {
    fn add_team(&self, name: &TeamName) -> DirResult<TeamId>;
    fn add_team_member(&self, team: &str, user: &str) -> DirResult<()>;
    fn remove_team_member(&self, team: &str, user: &str) -> DirResult<()>;
}

/// Projects, their repositories' records, sharing settings and the trash.
pub trait EntityAdmin: Send + Sync {
    /// Creates a project with `acl` as its ACL; `id` when given, else the next free one.
    fn add_project(
        &self,
        name: &ProjectName,
        id: Option<EntityId>,
        acl: &Acl,
        now: UnixTime,
    ) -> DirResult<EntityId>;
    fn list_projects(&self) -> DirResult<Vec<EntityInfo>>;
    /// The projects with an ACL entry for any of `principals`, each with those entries
    /// only (what the rules need to decide READ for a caller who is these principals),
    /// by id.
    fn projects_shared_with(&self, principals: &[Principal]) -> DirResult<Vec<(EntityInfo, Acl)>>;
    /// The id behind an operator's name for a principal.
    fn resolve_principal(&self, principal: &PrincipalRef) -> DirResult<Principal>;
    /// Operators' names for the entries of an ACL, in a stable order.
    fn name_acl(&self, acl: &Acl) -> DirResult<Vec<(PrincipalRef, AccessSet)>>;
    /// Rewrites an entity's own ACL with what `rule` decides from its current facts.
    fn change_sharing(&self, entity: &EntityRef, rule: EntityRule<SharingChange>) -> DirResult<()>;
    /// Moves an entity into (`trashed`) or out of the trash when `rule` allows it.
    fn set_trashed(
        &self,
        entity: &EntityRef,
        trashed: bool,
        rule: EntityRule<()>,
        now: UnixTime,
    ) -> DirResult<()>;
    /// Records an image of another registry under a project, when `rule` accepts the
    /// project's facts.
    fn add_external_repository(
        &self,
        project: EntityId,
        name: &ExternalName,
        rule: EntityRule<()>,
        now: UnixTime,
    ) -> DirResult<EntityInfo>;
    fn delete_external_repository(&self, id: EntityId) -> DirResult<()>;
}

/// A rule on an access request's entity and the request itself, run inside the
/// decision's transaction; it returns the sharing change an approval makes.
pub type DecisionRule<'a> =
    &'a dyn Fn(&EntityFacts, &AccessRequest) -> DirResult<Option<SharingChange>>;

/// Access requests (Dockstore's "request access"), each change one transaction.
pub trait AccessRequestStore: Send + Sync {
    /// Files a request when `rule` accepts the entity's facts; a second open request by
    /// the same user on the same entity is a conflict.
    fn file_access_request(
        &self,
        entity: &EntityRef,
        requester: UserId,
        message: &str,
        rule: EntityRule<()>,
        now: UnixTime,
    ) -> DirResult<AccessRequest>;
    /// The entity's requests, oldest first (open ones unless `all`), when `rule`
    /// accepts its facts.
    fn entity_access_requests(
        &self,
        entity: &EntityRef,
        all: bool,
        rule: EntityRule<()>,
    ) -> DirResult<Vec<AccessRequest>>;
    /// A user's own requests, newest first.
    fn user_access_requests(&self, requester: UserId) -> DirResult<Vec<AccessRequest>>;
    /// Decides an open request: the sharing change `rule` returns and the new state are
    /// written together.
    fn decide_access_request(
        &self,
        id: i64,
        decision: &RequestDecision,
        rule: DecisionRule,
        now: UnixTime,
    ) -> DirResult<AccessRequest>;
}

/// Personal access tokens and the revocation of refresh tokens.
pub trait TokenAdmin: Send + Sync {
    /// Stores a new access token in one writers' turn, so that concurrent mints cannot
    /// together pass the cap. Refuses with `Invalid` when the user already has
    /// `max_live` tokens in force (not revoked, not expired at `now`; `None`, the
    /// operator, is unbounded). With a `parent`, refuses with `Denied` when that token
    /// is revoked, expired or another user's, and clamps the expiry to the parent's.
    fn create_access_token(
        &self,
        token: &NewAccessToken,
        max_live: Option<usize>,
        now: UnixTime,
    ) -> DirResult<AccessTokenRecord>;
    fn list_access_tokens(&self, user: UserId) -> DirResult<Vec<AccessTokenRecord>>;
    /// Revokes the token and every token minted under it (children, grandchildren…) in
    /// one transaction; a token already revoked keeps its first revocation time.
    fn revoke_access_token(&self, id: i64, now: UnixTime) -> DirResult<()>;
    /// Revokes every refresh token of a user; returns how many.
    fn revoke_refresh_tokens(&self, user: UserId, now: UnixTime) -> DirResult<usize>;
    /// A user's refresh tokens (each `docker login`), oldest first.
    fn list_refresh_tokens(&self, user: UserId) -> DirResult<Vec<RefreshTokenRecord>>;
    fn revoke_refresh_token(&self, id: i64, now: UnixTime) -> DirResult<()>;
    /// Stamps when tokens last authenticated a request. Not a change the token path
    /// reads: it must not invalidate caches.
    fn record_token_use(&self, uses: &[(UsedToken, UnixTime)]) -> DirResult<()>;
}

/// The registry's notifications, recorded.
pub trait RegistryLog: Send + Sync {
    /// Records a batch of events in one durable transaction, each under its own
    /// savepoint: an event that cannot be stored is rolled back alone and reported in
    /// its slot; a backend failure fails the whole batch (the registry retries it;
    /// events are idempotent by id). A push is skipped when `skip` (the ingest rule)
    /// names a reason.
    fn record_batch(
        &self,
        events: &[RegistryEvent<'_>],
        skip: &dyn Fn(&IngestFacts) -> Option<&'static str>,
        now: UnixTime,
    ) -> DirResult<Vec<DirResult<EventOutcome>>>;

    /// One push, in a batch of its own.
    fn record_push(
        &self,
        push: &ManifestPush,
        skip: &dyn Fn(&IngestFacts) -> Option<&'static str>,
        now: UnixTime,
    ) -> DirResult<EventOutcome> {
        self.record_batch(&[RegistryEvent::Push(push)], skip, now)?
            .pop()
            .unwrap_or_else(|| Err(DirectoryError::Backend("empty batch answer".into())))
    }

    /// One delete, in a batch of its own.
    fn record_delete(&self, delete: &ManifestDelete, now: UnixTime) -> DirResult<EventOutcome> {
        self.record_batch(&[RegistryEvent::Delete(delete)], &|_| None, now)?
            .pop()
            .unwrap_or_else(|| Err(DirectoryError::Backend("empty batch answer".into())))
    }
}

/// One event of a notification batch.
#[derive(Debug, Clone, Copy)]
pub enum RegistryEvent<'a> {
    Push(&'a ManifestPush),
    Delete(&'a ManifestDelete),
}

/// What regauth granted that lets a registry event change the directory: the intervals
/// in which an actor held `push` (or `delete`) on a repository
/// (`domain::events::authority`). Recorded durably before the token that carries a
/// grant is handed out, so every replica, and a notification delivered late, finds it.
/// Not a change the token path reads: it moves no change version.
pub trait PushGrants: Send + Sync {
    /// Records grants in one durable transaction, each merged into an interval of the
    /// same actor, repository and action it overlaps (else a new one).
    fn record_grants(&self, grants: &[Grant]) -> DirResult<()>;
    /// Every recorded grant of these `(actor, repository)` pairs, any action.
    fn grants_for(&self, keys: &[(&str, &str)]) -> DirResult<Vec<Grant>>;
    /// Removes grants that ended before `before`; returns how many.
    fn prune_grants(&self, before: UnixTime) -> DirResult<usize>;
}

/// What the registry's notifications recorded, for listings.
pub trait RegistryReader: Send + Sync {
    /// Managed and external repositories of a project (trashed ones excluded).
    fn list_repositories(&self, project: EntityId) -> DirResult<Vec<EntityInfo>>;
    /// The current digest per tag, sorted and paged, and how many tags there are.
    fn list_tags(
        &self,
        repo: &RepoPath,
        sort: TagSort,
        offset: usize,
        limit: usize,
    ) -> DirResult<(Vec<TagInfo>, usize)>;
    /// Every commit of a tag, newest first (deleted ones included).
    fn tag_history(&self, repo: &RepoPath, tag: &str) -> DirResult<Vec<TagInfo>>;
}

/// The audit trail: append-only, pruned past its retention.
pub trait AuditLog: Send + Sync {
    /// Appends records, each standing for `count` identical events.
    fn append_counted(&self, records: &[(AuditRecord, u64)]) -> DirResult<()>;
    fn append(&self, records: &[AuditRecord]) -> DirResult<()> {
        let counted: Vec<(AuditRecord, u64)> = records.iter().map(|r| (r.clone(), 1)).collect();
        self.append_counted(&counted)
    }
    /// Newest first.
    fn query(&self, filter: &AuditFilter) -> DirResult<Vec<AuditEntry>>;
    /// Removes records older than `before`; returns how many.
    fn prune(&self, before: UnixTime) -> DirResult<usize>;
}

/// A stored audit record, as listings show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: UnixTime,
    pub kind: String,
    pub actor: String,
    pub subject: String,
    pub client_ip: Option<String>,
    /// How many identical events this record stands for.
    pub count: u64,
    /// The event's details as JSON.
    pub detail: serde_json::Value,
}

/// Projects' trust policies: which CI jobs' OIDC tokens may act on which repositories.
pub trait TrustPolicyStore: Send + Sync {
    /// Stores a new policy; `NotFound` when its project does not exist (or is not a
    /// project).
    fn create_trust_policy(&self, policy: &NewTrustPolicy) -> DirResult<TrustPolicy>;
    /// A project's policies, oldest first.
    fn list_trust_policies(&self, project: EntityId) -> DirResult<Vec<TrustPolicy>>;
    /// Removes a policy of `project`; `NotFound` when it has no policy `id`.
    fn delete_trust_policy(&self, project: EntityId, id: i64) -> DirResult<()>;
    /// Every policy naming `issuer` (exactly), oldest first: what a workload's token is
    /// matched against on the token path (so it takes the caller's `Pace`).
    fn trust_policies_for_issuer(&self, issuer: &str, pace: Pace) -> DirResult<Vec<TrustPolicy>>;
}

/// A person's account at an identity provider, linked to a local user: the provider's
/// configured name and its stable `sub` (never a display name, which can change hands).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederatedIdentity {
    pub provider: String,
    pub subject: String,
    pub user: UserId,
    pub linked_at: UnixTime,
}

/// Which local user each (provider, subject) signs in as. A pair is linked to one user
/// at most, for good: a subject that could be re-pointed would let whoever controls
/// the link take over an account.
pub trait FederatedIdentities: Send + Sync {
    /// Links `provider`'s `subject` to `user`; `Conflict` when the pair is linked
    /// already (to anyone), `NotFound` when the user does not exist.
    fn link_identity(&self, identity: &FederatedIdentity) -> DirResult<()>;
    /// The user `provider`'s `subject` is linked to, as it is now.
    fn identity_user(&self, provider: &str, subject: &str) -> DirResult<Option<User>>;
    /// A user's linked identities, oldest first.
    fn identities_of(&self, user: UserId) -> DirResult<Vec<FederatedIdentity>>;
    /// Every linked identity, by user then age (the administrators' users page).
    fn all_identities(&self) -> DirResult<Vec<FederatedIdentity>>;
}

/// What the schema cannot check itself: ACL principals, projects, tag history, the
/// caches' counter, and the engine's own integrity.
pub trait IntegrityCheck: Send + Sync {
    /// How many checks ran, and every finding, one line each (none: sound).
    fn check_integrity(&self) -> DirResult<(usize, Vec<String>)>;
}

/// A trait that is all of its ports and nothing else, for every type that has them all:
/// the list is written once.
macro_rules! all_of {
    ($(#[$doc:meta])* $name:ident: $first:ident $(+ $port:ident)*) => {
        $(#[$doc])*
        pub trait $name: $first $(+ $port)* {}
        impl<T: $first $(+ $port)*> $name for T {}
    };
}

all_of! {
    /// Everything the embedded directory provides: named by the composition root
    /// (`infra::startup`), the state it hands the front doors (`front::state`, and
    /// `front::admitted`, which runs a use case on it), the CLI's administration commands
    /// and `app::explain` (which reads facts and the trash together).
    Directory: CredentialStore
        + RefreshTokenStore
        + AuthorizationFacts
        + UserAdmin
        + TeamAdmin
        + EntityAdmin
        + AccessRequestStore
        + TokenAdmin
        + RegistryLog
        + PushGrants
        + RegistryReader
        + AuditLog
        + TrustPolicyStore
        + IntegrityCheck
        + FederatedIdentities
}

/// Who an identity provider that checks credentials itself (a Synapse beside regauth)
/// says a caller is: its user id, the scopes of the credential, and the credential to
/// present upstream when gathering facts as that caller.
#[derive(Clone, PartialEq, Eq)]
pub struct RemoteIdentity {
    pub user_id: i64,
    pub scopes: crate::domain::model::ScopeSet,
    /// The upstream bearer token (a JWT): what facts are asked with, and what a
    /// `docker login` keeps as its identity token. Never printed.
    pub bearer: String,
}

impl std::fmt::Debug for RemoteIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteIdentity")
            .field("user_id", &self.user_id)
            .field("scopes", &self.scopes)
            .field("bearer", &"<redacted>")
            .finish()
    }
}

/// Why an identity provider did not accept a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteRefusal {
    /// Wrong password, unknown user, a bad, expired or revoked token.
    #[error("invalid username or password")]
    Refused,
    #[error("account temporarily locked after repeated failures, try again later")]
    Locked,
    #[error("this account uses two-factor authentication: log in with a personal access token")]
    TwoFactorRequired,
    #[error("the password must be reset (see the e-mail), or log in with a personal access token")]
    PasswordResetRequired,
    /// A workload's OIDC token meets none of the trust policies made for its audience:
    /// which claim failed in each (never the value a policy wants).
    #[error("this OIDC token meets no trust policy: {0}")]
    NoTrustPolicy(String),
    /// No verdict: the provider could not be asked (`DirectoryError::Backend`: fail
    /// closed) or not at this pace (`DirectoryError::WouldBlock`).
    #[error(transparent)]
    Unanswered(DirectoryError),
}

/// Credentials checked by a remote identity provider instead of the directory.
pub trait RemoteAuthentication: Send + Sync {
    /// A user name (or e-mail) and password.
    fn password(
        &self,
        login: &str,
        password: &str,
        pace: Pace,
    ) -> Result<RemoteIdentity, RemoteRefusal>;
    /// A token the provider issued (an access token, a personal access token).
    fn token(&self, token: &str, pace: Pace) -> Result<RemoteIdentity, RemoteRefusal>;
    /// Whether `secret` has the shape of such a token (else it is a password).
    fn looks_like_token(&self, secret: &str) -> bool;
}

/// The facts the rules decide on, as one caller may see them: a provider whose
/// permissions are per caller (Synapse's `entity/{id}/permissions`) answers these.
pub trait CallerFacts: Send + Sync {
    fn repository_facts_as(
        &self,
        who: &RemoteIdentity,
        path: &RepoPath,
        pace: Pace,
    ) -> DirResult<RepoFacts>;
}

/// Why a workload's OIDC token was not accepted. `Rejected` is the caller's fault (a
/// 401; the reason for the log and `explain`); `Unanswered` is not (no key set could be
/// had for a configured issuer, or not at this pace: `DirectoryError::WouldBlock`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcRejection {
    #[error("OIDC token rejected: {0}")]
    Rejected(&'static str),
    #[error(transparent)]
    Unanswered(DirectoryError),
}

/// Verifies workload OIDC tokens from the configured issuers (and only those): the
/// issuer is chosen by the token's `iss` among the configured ones (no URL the token
/// names is ever fetched), the signature checked with the key its `kid` names, with the
/// algorithm pinned by that key (never the token's `alg`), `iss` compared exactly,
/// `exp` (required), `nbf` and `iat` checked at `now` with a small leeway. The audience
/// is the trust policy's to check (each names its own).
pub trait OidcVerifier: Send + Sync {
    fn verify(
        &self,
        token: &str,
        now: UnixTime,
        pace: Pace,
    ) -> Result<WorkloadClaims, OidcRejection>;
    /// The configured issuers' `iss` values.
    fn issuers(&self) -> Vec<String>;
}

/// A registry token, signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedToken {
    pub token: String,
    /// Seconds the token is valid for.
    pub expires_in: u64,
    /// RFC 3339 UTC, e.g. `2026-11-22T14:23:00Z`.
    pub issued_at: String,
    pub jti: String,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot sign the token: {0}")]
pub struct SignError(pub String);

/// What a registry token says: whom it is for (`sub`; empty for an anonymous caller),
/// the service (`aud`), what it grants (`access`) and when it is issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims<'a> {
    pub subject: &'a str,
    pub audience: &'a str,
    pub access: Vec<ResourceActions>,
    pub now: UnixTime,
    /// A credential that itself ends sooner (a workload's OIDC token, its trust policy's
    /// limit) caps the token's `exp` here; `None`: the configured lifetime.
    pub expires_by: Option<UnixTime>,
}

/// Signs registry tokens (JWTs whose `access` claim lists `access`).
pub trait TokenSigner: Send + Sync {
    fn sign(&self, claims: TokenClaims<'_>) -> Result<SignedToken, SignError>;
}
