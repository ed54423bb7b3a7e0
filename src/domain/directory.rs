//! The directory: where users, teams, projects, repositories, ACLs and tokens live.
//!
//! The rest of regauth only talks to this trait, so a remote Synapse-style backend can
//! replace the embedded SQLite one (`infra::sqlite`). The trait is synchronous: the HTTP
//! layer calls it from a blocking thread pool (`actix_web::web::block`).
//!
//! Secrets never cross this boundary in clear: passwords arrive as PHC hash strings,
//! access and refresh tokens as SHA-256 digests of the token.

use serde::Serialize;

use super::authz::RepoFacts;
use super::model::{AccessSet, Acl, EntityId, EntityKind, ScopeSet, TeamId, User, UserId};
use super::repo_name::RepoPath;

/// Errors a directory reports. The messages are meant for operators (CLI, logs), never
/// for anonymous HTTP callers.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("directory backend failed: {0}")]
    Backend(String),
}

pub type DirResult<T> = Result<T, DirectoryError>;

/// A user with the password hash, for authentication only.
#[derive(Debug, Clone)]
pub struct UserCredentials {
    pub user: User,
    /// PHC string (argon2id); `None` when the user has no password (token-only).
    pub password_hash: Option<String>,
}

/// A stored personal access token (the secret itself is never stored).
#[derive(Debug, Clone, Serialize)]
pub struct AccessTokenRecord {
    pub id: i64,
    pub user: User,
    pub name: String,
    #[serde(serialize_with = "ser_scopes")]
    pub scopes: ScopeSet,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; `None` = never expires.
    pub expires_at: Option<i64>,
    pub revoked: bool,
}

/// A stored refresh token ("identity token" to the docker CLI), bound to the user,
/// the service and the OAuth client it was issued to.
#[derive(Debug, Clone)]
pub struct RefreshTokenRecord {
    pub id: i64,
    pub user: User,
    pub service: String,
    pub client_id: String,
    /// The scopes of the credential it was issued for (a refresh token issued from an
    /// access-token login keeps that token's scopes).
    pub scopes: ScopeSet,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked: bool,
    /// When it was issued from an access-token login: that token's state, so revoking
    /// (or expiry of) the access token also ends the refresh tokens it begot.
    pub via_access_token: Option<ParentTokenState>,
}

/// State of the access token a refresh token was issued from (stored as a foreign key
/// `refresh_tokens.access_token_id`, read with a LEFT JOIN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParentTokenState {
    pub id: i64,
    pub revoked: bool,
    pub expires_at: Option<i64>,
}

/// A new refresh token to store.
#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    pub user: UserId,
    pub hash: [u8; 32],
    pub service: String,
    pub client_id: String,
    pub scopes: ScopeSet,
    pub expires_at: Option<i64>,
    /// The access token the login used, if any (see `RefreshTokenRecord::via_access_token`).
    pub access_token_id: Option<i64>,
}

/// A new access token to store.
#[derive(Debug, Clone)]
pub struct NewAccessToken {
    pub user: UserId,
    pub name: String,
    pub hash: [u8; 32],
    pub scopes: ScopeSet,
    pub expires_at: Option<i64>,
}

/// Which entity a command means: a `syn<digits>` id, or a repository path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntityRef {
    Id(EntityId),
    Repository(RepoPath),
}

impl std::fmt::Display for EntityRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EntityRef::Id(id) => write!(f, "{id}"),
            EntityRef::Repository(p) => f.write_str(p.as_str()),
        }
    }
}

impl std::str::FromStr for EntityRef {
    type Err = String;
    /// `syn123` is an id; anything with a `/` is a repository path.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.contains('/') {
            RepoPath::parse(s)
                .map(EntityRef::Repository)
                .map_err(|e| e.to_string())
        } else {
            s.parse::<EntityId>()
                .map(EntityRef::Id)
                .map_err(|e| e.to_string())
        }
    }
}

/// A principal named the way operators name them: `alice`, `team:NAME`, `public`,
/// `authenticated`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalRef {
    User(String),
    Team(String),
    Public,
    Authenticated,
}

impl std::str::FromStr for PrincipalRef {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err("empty principal".into());
        }
        Ok(match s {
            "public" => PrincipalRef::Public,
            "authenticated" => PrincipalRef::Authenticated,
            _ => match s.strip_prefix("team:") {
                Some("") => return Err("empty team name in principal".into()),
                Some(t) => PrincipalRef::Team(t.to_string()),
                None => PrincipalRef::User(s.to_string()),
            },
        })
    }
}

impl std::fmt::Display for PrincipalRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PrincipalRef::User(u) => f.write_str(u),
            PrincipalRef::Team(t) => write!(f, "team:{t}"),
            PrincipalRef::Public => f.write_str("public"),
            PrincipalRef::Authenticated => f.write_str("authenticated"),
        }
    }
}

/// An ACL as shown to operators.
#[derive(Debug, Clone, Serialize)]
pub struct AclView {
    pub entity: String,
    /// `Some(project)` when the entity has no local sharing settings and inherits.
    pub inherited_from: Option<String>,
    pub entries: Vec<AclEntryView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AclEntryView {
    pub principal: String,
    pub access: Vec<String>,
}

/// Changes to a user; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    pub certified: Option<bool>,
    pub admin: Option<bool>,
    pub disabled: Option<bool>,
    pub password_hash: Option<String>,
}

/// An entity's summary for listings.
#[derive(Debug, Clone, Serialize)]
pub struct EntityInfo {
    pub id: EntityId,
    pub kind: EntityKind,
    /// Project name, repository path, or external image name.
    pub name: String,
    pub parent: Option<EntityId>,
    pub trashed: bool,
    pub created_at: i64,
}

/// A registry event reduced to what the directory stores (see `domain::events`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestPush {
    pub event_id: String,
    pub path: RepoPath,
    pub tag: Option<String>,
    pub digest: String,
    pub media_type: String,
    pub size: i64,
    pub pusher: String,
    /// Unix seconds (event timestamp).
    pub pushed_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestDelete {
    pub event_id: String,
    pub path: RepoPath,
    /// Tag deletes name the tag; manifest deletes name the digest (every tag on it goes).
    pub tag: Option<String>,
    pub digest: Option<String>,
    pub deleted_at: i64,
}

/// What storing one event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOutcome {
    Recorded,
    /// Same event id seen before (the registry retries).
    Duplicate,
    /// Nothing to record against (project missing, trashed, not a project...).
    Skipped(&'static str),
}

/// The current state of one tag.
#[derive(Debug, Clone, Serialize)]
pub struct TagInfo {
    pub tag: String,
    pub digest: String,
    pub media_type: String,
    pub size: i64,
    pub pusher: String,
    pub pushed_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TagSort {
    #[default]
    Tag,
    /// Newest first.
    Time,
}

/// Everything the embedded directory (or a remote one) must provide.
pub trait Directory: Send + Sync {
    // ---- authentication facts ----
    fn user_credentials(&self, name: &str) -> DirResult<Option<UserCredentials>>;
    fn user_by_id(&self, id: UserId) -> DirResult<Option<User>>;
    fn teams_of(&self, user: UserId) -> DirResult<Vec<TeamId>>;
    fn access_token_by_hash(&self, hash: &[u8; 32]) -> DirResult<Option<AccessTokenRecord>>;
    fn refresh_token_by_hash(&self, hash: &[u8; 32]) -> DirResult<Option<RefreshTokenRecord>>;
    fn create_refresh_token(&self, token: NewRefreshToken) -> DirResult<i64>;

    // ---- authorization facts ----
    /// Facts about the repository at `path` and its project (first path segment).
    fn repository_facts(&self, path: &RepoPath) -> DirResult<RepoFacts>;
    /// The effective ACL and trash state of an entity (for READ checks in the read API).
    /// `None` if the entity does not exist.
    fn entity_access(&self, entity: &EntityRef) -> DirResult<Option<(EntityInfo, Acl, bool)>>;

    // ---- administration ----
    fn add_user(
        &self,
        name: &str,
        password_hash: Option<&str>,
        certified: bool,
        admin: bool,
    ) -> DirResult<User>;
    fn update_user(&self, name: &str, update: UserUpdate) -> DirResult<User>;
    fn list_users(&self) -> DirResult<Vec<User>>;
    fn add_team(&self, name: &str) -> DirResult<TeamId>;
    fn add_team_member(&self, team: &str, user: &str) -> DirResult<()>;
    fn remove_team_member(&self, team: &str, user: &str) -> DirResult<()>;
    /// Creates a project; the owner gets every access type on it. Returns its id.
    fn add_project(&self, name: &str, owner: &str, id: Option<EntityId>) -> DirResult<EntityId>;
    fn list_projects(&self) -> DirResult<Vec<EntityInfo>>;
    /// Grants `access` to `principal` on `entity`. On a repository without local sharing
    /// settings this first creates them as a copy of the inherited ACL.
    fn acl_grant(
        &self,
        entity: &EntityRef,
        principal: &PrincipalRef,
        access: AccessSet,
    ) -> DirResult<()>;
    /// Removes `access` (or everything, when `None`) from `principal` on `entity`.
    fn acl_revoke(
        &self,
        entity: &EntityRef,
        principal: &PrincipalRef,
        access: Option<AccessSet>,
    ) -> DirResult<()>;
    /// Drops a repository's local sharing settings so it inherits again.
    fn acl_inherit(&self, entity: &EntityRef) -> DirResult<()>;
    fn acl_show(&self, entity: &EntityRef) -> DirResult<AclView>;
    fn trash(&self, entity: &EntityRef) -> DirResult<()>;
    fn restore(&self, entity: &EntityRef) -> DirResult<()>;
    fn create_access_token(&self, token: NewAccessToken) -> DirResult<AccessTokenRecord>;
    fn list_access_tokens(&self, user: &str) -> DirResult<Vec<AccessTokenRecord>>;
    fn revoke_access_token(&self, id: i64) -> DirResult<()>;
    /// Revokes every refresh token of a user; returns how many.
    fn revoke_refresh_tokens(&self, user: &str) -> DirResult<usize>;

    // ---- registry contents (notifications and the read API) ----
    fn record_push(&self, push: &ManifestPush) -> DirResult<EventOutcome>;
    fn record_delete(&self, delete: &ManifestDelete) -> DirResult<EventOutcome>;
    /// Managed and external repositories of a project (trashed ones excluded).
    fn list_repositories(&self, project: EntityId) -> DirResult<Vec<EntityInfo>>;
    fn list_tags(
        &self,
        repo: &RepoPath,
        sort: TagSort,
        offset: usize,
        limit: usize,
    ) -> DirResult<(Vec<TagInfo>, usize)>;
    /// Every commit of a tag, newest first (deleted ones included).
    fn tag_history(&self, repo: &RepoPath, tag: &str) -> DirResult<Vec<TagInfo>>;
    fn add_external_repository(&self, project: EntityId, name: &str) -> DirResult<EntityInfo>;
    fn delete_external_repository(&self, id: EntityId) -> DirResult<()>;
}

fn ser_scopes<S: serde::Serializer>(s: &ScopeSet, ser: S) -> Result<S::Ok, S::Error> {
    ser.collect_str(s)
}
