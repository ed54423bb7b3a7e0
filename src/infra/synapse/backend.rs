//! The Synapse backend: credentials checked by Synapse (passwords by `login2`, its JWTs
//! verified here against its JWKS and confirmed alive), and the facts of each scope
//! produced from the caller's own permissions (`dockerRepo/id`, `entity/{id}/permissions`,
//! `entity/{id}/type`), per the mapping of the reference (§3). The rules stay in
//! `authz::decide`: a caller's permission flags become an ACL entry for that caller.
//!
//! Caching follows the reference's §4: JWKS an hour (a refetch on an unknown `kid` at
//! most once a minute, the last good set kept when a refresh fails), the issuer a day,
//! a token's liveness and a verified password at most a minute, name → id ten minutes (positive answers only),
//! entity types an hour, permissions per (user, entity) `permission_ttl`. Concurrent
//! misses share one call (`try_get_with`); nothing that failed is cached.

use std::cell::Cell;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use moka::sync::Cache;
use sha2::{Digest, Sha256};

use super::client::{
    Answer, ClientLimits, EntityHeader, Login, Permissions, SynapseClient, Unavailable,
};
use super::jwks::JsonWebKeySet;
use super::jwt::{self, Acceptance};
use crate::domain::authz::{ProjectFacts, RepoFacts, RepoState};
use crate::domain::model::{AccessSet, Acl, Principal, ScopeSet, UserId};
use crate::domain::ports::{
    CallerFacts, Clock, DirResult, DirectoryError, Pace, RemoteAuthentication, RemoteIdentity,
    RemoteRefusal,
};
use crate::domain::repo_name::RepoPath;
use crate::infra::own_runtime::OwnRuntime;

/// What the backend needs to know.
#[derive(Debug, Clone)]
pub struct SynapseOptions {
    /// `https://repo-prod.prod.sagebase.org`
    pub base_url: String,
    /// The host part of repository names as Synapse knows them (`docker.synapse.org`).
    pub registry_host: String,
    pub limits: ClientLimits,
    /// How long a caller's permissions on an entity are reused (≤ 60 s).
    pub permission_ttl: Duration,
    /// Least time between two JWKS fetches caused by an unknown `kid` (the reference
    /// asks at most one a minute; tests shorten it).
    pub jwks_refetch: Duration,
    /// Entries each cache (tokens, passwords, names, types, permissions) holds at most.
    pub cache_entries: u64,
}

impl SynapseOptions {
    /// The reference's defaults for `base_url` and `registry_host`.
    pub fn new(base_url: &str, registry_host: &str) -> SynapseOptions {
        SynapseOptions {
            base_url: base_url.to_string(),
            registry_host: registry_host.to_string(),
            limits: ClientLimits::default(),
            permission_ttl: Duration::from_secs(60),
            jwks_refetch: Duration::from_secs(60),
            cache_entries: 100_000,
        }
    }
}

pub struct SynapseBackend {
    client: SynapseClient,
    runtime: OwnRuntime,
    registry_host: String,
    keys: RwLock<Option<(Arc<JsonWebKeySet>, Instant)>>,
    last_refetch: Mutex<Option<Instant>>,
    jwks_refetch: Duration,
    issuer: RwLock<Option<(String, Instant)>>,
    /// Tokens verified and confirmed alive in the last minute, by SHA-256.
    alive: Cache<[u8; 32], Known>,
    /// Verified passwords by keyed digest (`login_key`, made at start).
    logins: Cache<[u8; 32], RemoteIdentity>,
    login_key: [u8; 32],
    probe: Cache<(), bool>,
    /// Per (user, name): a name's id is only shared with who asked for it (a miss
    /// shared by concurrent callers must be theirs).
    repo_ids: Cache<(i64, String), String>,
    types: Cache<(i64, String), EntityHeader>,
    permissions: Cache<(i64, String), Permissions>,
}

const JWKS_TTL: Duration = Duration::from_secs(3600);
const ISSUER_TTL: Duration = Duration::from_secs(24 * 3600);

/// A token verified here and confirmed alive by Synapse.
#[derive(Clone)]
struct Known {
    who: RemoteIdentity,
    /// `exp`, checked again on every use (a PAT has none).
    expires_at: Option<i64>,
}

/// A miss shared by concurrent callers.
#[derive(Debug)]
enum Miss<T> {
    Answer(Answer<T>),
    Down(Unavailable),
}

impl SynapseBackend {
    pub fn new(options: &SynapseOptions) -> Result<SynapseBackend, Unavailable> {
        let runtime = OwnRuntime::new("synapse").map_err(|e| Unavailable {
            endpoint: "runtime",
            why: e.to_string(),
        })?;
        let client = {
            let _entered = runtime.enter();
            SynapseClient::new(&options.base_url, options.limits.clone())?
        };
        let n = options.cache_entries.max(1);
        Ok(SynapseBackend {
            client,
            runtime,
            registry_host: options.registry_host.trim_end_matches('/').to_string(),
            keys: RwLock::new(None),
            last_refetch: Mutex::new(None),
            jwks_refetch: options.jwks_refetch,
            issuer: RwLock::new(None),
            alive: ttl(n, Duration::from_secs(60)),
            logins: ttl(n, Duration::from_secs(60)),
            login_key: crate::app::secrets::new_key(),
            probe: ttl(1, Duration::from_secs(2)),
            repo_ids: ttl(n, Duration::from_secs(600)),
            types: ttl(n, Duration::from_secs(3600)),
            permissions: ttl(n, options.permission_ttl.min(Duration::from_secs(60))),
        })
    }

    /// Runs `f` to completion on this thread (see `OwnRuntime`).
    fn block_on<T>(&self, f: impl std::future::Future<Output = T>) -> Result<T, Unavailable> {
        self.runtime.block_on(f).ok_or_else(|| Unavailable {
            endpoint: "runtime",
            why: "closed".into(),
        })
    }

    /// Whether Synapse answers its discovery document now (for `/readyz`): asked at
    /// most every two seconds however often probes come, concurrent probes sharing the
    /// call; an open circuit breaker counts as unreachable.
    pub fn reachable(&self) -> bool {
        self.probe.get_with((), || {
            self.block_on(self.client.issuer())
                .is_ok_and(|answer| answer.is_ok())
        })
    }

    fn issuer(&self) -> Result<String, Unavailable> {
        if let Some((issuer, at)) = read(&self.issuer).as_ref() {
            if at.elapsed() < ISSUER_TTL {
                return Ok(issuer.clone());
            }
        }
        let issuer = self.block_on(self.client.issuer())??;
        *write(&self.issuer) = Some((issuer.clone(), Instant::now()));
        Ok(issuer)
    }

    /// The key set holding `kid`: the cached one, else fetched again (an unknown `kid`
    /// at most once a minute; a failed refresh keeps the last good set).
    fn keys_for(&self, kid: &str) -> Result<Option<Arc<JsonWebKeySet>>, Unavailable> {
        let cached = read(&self.keys).clone();
        if let Some((set, at)) = &cached {
            if at.elapsed() < JWKS_TTL && set.key(kid).is_some() {
                return Ok(Some(set.clone()));
            }
            let stale = at.elapsed() >= JWKS_TTL;
            let mut last = self.last_refetch.lock().unwrap_or_else(|p| p.into_inner());
            if !stale && last.is_some_and(|t| t.elapsed() < self.jwks_refetch) {
                return Ok(None);
            }
            *last = Some(Instant::now());
        }
        match self.fetch_keys() {
            Ok(set) => Ok(set.key(kid).is_some().then_some(set)),
            Err(e) => match cached {
                Some((set, _)) => Ok(set.key(kid).is_some().then_some(set)),
                None => Err(e),
            },
        }
    }

    fn fetch_keys(&self) -> Result<Arc<JsonWebKeySet>, Unavailable> {
        let body = self.block_on(self.client.jwks())??;
        let set = JsonWebKeySet::parse(&body).map_err(|e| Unavailable {
            endpoint: "jwks",
            why: e.to_string(),
        })?;
        let set = Arc::new(set);
        *write(&self.keys) = Some((set.clone(), Instant::now()));
        Ok(set)
    }

    /// A Synapse JWT, verified here and confirmed alive by Synapse. A token verified
    /// and confirmed in the last minute is taken from cache (until its `exp`), so a
    /// warm request costs no RSA verification and no call.
    fn verified(
        &self,
        token: &str,
        just_minted: bool,
        pace: Pace,
    ) -> Result<RemoteIdentity, RemoteRefusal> {
        let down = refusal;
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = crate::app::clock::SystemClock.now();
        if let Some(known) = self.alive.get(&key) {
            // The same leeway as the verification that admitted it.
            let leeway = Acceptance::DEFAULT_LEEWAY.as_secs() as i64;
            if known.expires_at.is_none_or(|exp| exp > now - leeway) {
                counted("authenticatedOn", false);
                return Ok(known.who);
            }
        }
        if pace == Pace::Inline {
            return Err(RemoteRefusal::Unanswered(DirectoryError::WouldBlock));
        }
        let kid = jwt::key_id(token).map_err(|_| RemoteRefusal::Refused)?;
        let keys = self
            .keys_for(&kid)
            .map_err(down)?
            .ok_or(RemoteRefusal::Refused)?;
        let acceptance = Acceptance::new(vec![self.issuer().map_err(down)?]);
        let verified =
            jwt::verify(token, &keys, &acceptance, now).map_err(|_| RemoteRefusal::Refused)?;
        let user_id: i64 = verified
            .user_id
            .parse()
            .map_err(|_| RemoteRefusal::Refused)?;
        let known = Known {
            who: RemoteIdentity {
                user_id,
                scopes: scopes(&verified.scopes),
                bearer: token.to_string(),
            },
            expires_at: verified.expires_at,
        };
        if just_minted {
            self.alive.insert(key, known.clone());
            return Ok(known.who);
        }
        // Concurrent first uses of one token share one liveness call.
        let missed = Cell::new(false);
        let alive = self.alive.try_get_with(key, || {
            missed.set(true);
            match self.block_on(self.client.token_alive(&verified.user_id, token)) {
                Ok(Ok(true)) => Ok(known.clone()),
                Ok(Ok(false)) => Err(None),
                Ok(Err(e)) | Err(e) => Err(Some(e)),
            }
        });
        counted("authenticatedOn", missed.get());
        match alive {
            Ok(known) => Ok(known.who),
            Err(e) => match e.as_ref() {
                None => Err(RemoteRefusal::Refused),
                Some(e) => Err(down(e.clone())),
            },
        }
    }

    /// `dockerRepo/id` for this caller; a found id kept ten minutes.
    fn repo_id(&self, who: &RemoteIdentity, name: &str, pace: Pace) -> DirResult<Answer<String>> {
        self.asked("dockerRepo/id", &self.repo_ids, who, name, pace, |user| {
            self.block_on(self.client.docker_repo_id(user, &who.bearer, name))
        })
    }

    /// `entity/{id}/type` for this caller; kept an hour (types never change).
    fn entity_type(
        &self,
        who: &RemoteIdentity,
        id: &str,
        pace: Pace,
    ) -> DirResult<Answer<EntityHeader>> {
        self.asked("type", &self.types, who, id, pace, |user| {
            self.block_on(self.client.entity_type(user, &who.bearer, id))
        })
    }

    /// `entity/{id}/permissions` for this caller; kept `permission_ttl`.
    fn permissions_of(
        &self,
        who: &RemoteIdentity,
        id: &str,
        pace: Pace,
    ) -> DirResult<Answer<Permissions>> {
        self.asked("permissions", &self.permissions, who, id, pace, |user| {
            self.block_on(self.client.permissions(user, &who.bearer, id))
        })
    }

    /// One answer about `key` for this caller through its cache: a hit (all that is
    /// asked at `Pace::Inline`), else one call shared by concurrent misses, a found
    /// answer kept and anything else handed to the callers waiting on it. Synapse
    /// unreachable is a backend failure: fail closed.
    fn asked<V>(
        &self,
        endpoint: &'static str,
        cache: &Cache<(i64, String), V>,
        who: &RemoteIdentity,
        key: &str,
        pace: Pace,
        call: impl FnOnce(&str) -> Result<Result<Answer<V>, Unavailable>, Unavailable>,
    ) -> DirResult<Answer<V>>
    where
        V: Clone + Send + Sync + 'static,
    {
        let key = (who.user_id, key.to_string());
        if pace == Pace::Inline {
            return hit(endpoint, cache, &key);
        }
        let missed = Cell::new(false);
        let got = cache.try_get_with(key, || {
            missed.set(true);
            positive(call(&who.user_id.to_string()))
        });
        counted(endpoint, missed.get());
        shared(got).map_err(|e| DirectoryError::Backend(e.to_string()))
    }
}

/// At `Pace::Inline` (a token request on the event loop): what the cache holds, else
/// `WouldBlock`, so the request moves to the blocking pool before any call.
/// A hit is counted here; a miss is counted where it is then asked.
fn hit<K, V>(endpoint: &'static str, cache: &Cache<K, V>, key: &K) -> DirResult<Answer<V>>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    let found = cache.get(key).ok_or(DirectoryError::WouldBlock)?;
    counted(endpoint, false);
    Ok(Answer::Found(found))
}

/// An upstream failure as the credential ports say it: no verdict, fail closed.
fn refusal(e: Unavailable) -> RemoteRefusal {
    RemoteRefusal::Unanswered(DirectoryError::Backend(e.to_string()))
}

/// Counts a cache lookup for `/metrics` (`regauth_synapse_cache_total{endpoint,result}`);
/// a caller that waited on another's miss counts as a hit (it made no call).
fn counted(endpoint: &'static str, missed: bool) {
    let result = if missed { "miss" } else { "hit" };
    metrics::counter!("regauth_synapse_cache_total", "endpoint" => endpoint, "result" => result)
        .increment(1);
}

/// An upstream answer for `try_get_with`: only a found entity is cached; anything else
/// goes to the callers waiting on this very call and is asked again next time.
fn positive<T>(got: Result<Result<Answer<T>, Unavailable>, Unavailable>) -> Result<T, Miss<T>> {
    match got {
        Ok(Ok(Answer::Found(v))) => Ok(v),
        Ok(Ok(other)) => Err(Miss::Answer(other)),
        Ok(Err(e)) | Err(e) => Err(Miss::Down(e)),
    }
}

fn shared<T: Clone>(got: Result<T, Arc<Miss<T>>>) -> Result<Answer<T>, Unavailable> {
    match got {
        Ok(v) => Ok(Answer::Found(v)),
        Err(miss) => match &*miss {
            Miss::Answer(a) => Ok(a.clone()),
            Miss::Down(e) => Err(e.clone()),
        },
    }
}

impl RemoteAuthentication for SynapseBackend {
    /// A password checked by login2, a success remembered a minute under a keyed
    /// digest (never the password; never a failure: Synapse counts those), so a client
    /// sending its password with every request, or many at once, costs one login2.
    fn password(
        &self,
        login: &str,
        password: &str,
        pace: Pace,
    ) -> Result<RemoteIdentity, RemoteRefusal> {
        let mut h = Sha256::new();
        h.update(self.login_key);
        h.update((login.len() as u64).to_le_bytes());
        h.update(login.as_bytes());
        h.update(password.as_bytes());
        let key: [u8; 32] = h.finalize().into();
        if pace == Pace::Inline {
            let found = (self.logins.get(&key))
                .ok_or(RemoteRefusal::Unanswered(DirectoryError::WouldBlock))?;
            counted("login2", false);
            return Ok(found);
        }
        let missed = Cell::new(false);
        let got = self.logins.try_get_with(key, || {
            missed.set(true);
            self.login2(login, password)
        });
        counted("login2", missed.get());
        got.map_err(|e| (*e).clone())
    }

    fn token(&self, token: &str, pace: Pace) -> Result<RemoteIdentity, RemoteRefusal> {
        self.verified(token, false, pace)
    }

    fn looks_like_token(&self, secret: &str) -> bool {
        jwt::looks_like_jwt(secret)
    }
}

impl SynapseBackend {
    fn login2(&self, login: &str, password: &str) -> Result<RemoteIdentity, RemoteRefusal> {
        let down = refusal;
        match self
            .block_on(self.client.login(login, password))
            .map_err(down)?
            .map_err(down)?
        {
            Login::Token(token) => self.verified(&token, true, Pace::MayBlock),
            Login::Refused => Err(RemoteRefusal::Refused),
            Login::Locked => Err(RemoteRefusal::Locked),
            Login::TwoFactorRequired => Err(RemoteRefusal::TwoFactorRequired),
            Login::PasswordResetRequired => Err(RemoteRefusal::PasswordResetRequired),
        }
    }
}

/// One ACL entry for the caller with what its permission flags allow.
fn acl_for(who: &RemoteIdentity, access: AccessSet) -> Acl {
    Acl::new(vec![(Principal::User(UserId(who.user_id)), access)])
}

fn no_access() -> Acl {
    Acl::new(Vec::new())
}

impl CallerFacts for SynapseBackend {
    /// The reference's mapping (§3): an existing repository's flags (`canDownload` →
    /// DOWNLOAD, `canEdit` → UPDATE, `canDelete` with certification → DELETE); a new
    /// one's project, when it is one, with `canAddChild` → CREATE; a name Synapse says
    /// is in the trash can is a trashed repository, never a new one.
    fn repository_facts_as(
        &self,
        who: &RemoteIdentity,
        path: &RepoPath,
        pace: Pace,
    ) -> DirResult<RepoFacts> {
        let live_project = |acl| ProjectFacts::Project {
            trashed: false,
            acl,
        };
        let name = format!("{}/{}", self.registry_host, path.as_str());
        match self.repo_id(who, &name, pace)? {
            Answer::Found(id) => {
                let acl = match self.permissions_of(who, &id, pace)? {
                    Answer::Found(p) => {
                        let mut access = AccessSet::READ;
                        if p.can_download {
                            access |= AccessSet::DOWNLOAD;
                        }
                        if p.can_edit {
                            access |= AccessSet::UPDATE;
                        }
                        if p.can_delete && p.is_certified_user {
                            access |= AccessSet::DELETE;
                        }
                        acl_for(who, access)
                    }
                    _ => no_access(),
                };
                Ok(RepoFacts {
                    project: live_project(no_access()),
                    repo: RepoState::Managed {
                        trashed: false,
                        local_acl: Some(acl),
                    },
                })
            }
            Answer::NotFound { in_trash: true } => Ok(RepoFacts {
                project: live_project(no_access()),
                repo: RepoState::Managed {
                    trashed: true,
                    local_acl: None,
                },
            }),
            // No READ on an existing repository, or a token without `view`.
            Answer::Forbidden | Answer::Unauthenticated => Ok(RepoFacts {
                project: live_project(no_access()),
                repo: RepoState::Managed {
                    trashed: false,
                    local_acl: Some(no_access()),
                },
            }),
            Answer::NotFound { in_trash: false } => {
                let project = path.project().to_string();
                let project = match self.entity_type(who, &project, pace)? {
                    Answer::Found(h) if h.is_project() => {
                        match self.permissions_of(who, &h.id, pace)? {
                            Answer::Found(p) if p.can_add_child => {
                                live_project(acl_for(who, AccessSet::READ | AccessSet::CREATE))
                            }
                            _ => live_project(no_access()),
                        }
                    }
                    Answer::Found(_) => ProjectFacts::NotAProject,
                    Answer::NotFound { .. } => ProjectFacts::Missing,
                    Answer::Forbidden | Answer::Unauthenticated => live_project(no_access()),
                };
                Ok(RepoFacts {
                    project,
                    repo: RepoState::Unknown,
                })
            }
        }
    }
}

/// A cache of at most `entries` entries, each kept at most `d`.
fn ttl<K, V>(entries: u64, d: Duration) -> Cache<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    Cache::builder()
        .max_capacity(entries)
        .time_to_live(d)
        .build()
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}

/// Synapse's scope names (`access.scope`) as regauth's; others (openid, email...) are
/// not registry scopes.
fn scopes(names: &[String]) -> ScopeSet {
    names.iter().fold(ScopeSet::empty(), |set, n| {
        set | match n.as_str() {
            "view" => ScopeSet::VIEW,
            "download" => ScopeSet::DOWNLOAD,
            "modify" => ScopeSet::MODIFY,
            "authorize" => ScopeSet::AUTHORIZE,
            _ => ScopeSet::empty(),
        }
    })
}
