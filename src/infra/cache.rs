//! What the token path reads, cached, and never staler than a millisecond (SQLite) or
//! 100 ms (PostgreSQL, across replicas).
//!
//! `CachedDirectory` sits in front of a backend for the two ports a token request reads
//! (`CredentialStore`, `AuthorizationFacts`). Every entry remembers the backend's
//! `ChangeVersion` it was read at; the version is asked at most once per `recheck` (one
//! indexed read instead of the five or six a token request makes), and an entry read at
//! another version is read again. The version moves on every change to users, teams,
//! tokens, entities and ACLs, made by this process or any other (the CLI, another
//! replica): a revoked token, a disabled user, a trashed entity or a removed ACL entry
//! is refused from the next check on.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::sync::Cache;

use crate::domain::authz::{EntityFacts, RepoFacts};
use crate::domain::model::{
    AccessTokenRecord, EntityRef, NewRefreshToken, RefreshTokenRecord, TeamId, TokenHash, UnixTime,
    UserCredentials, UserId,
};
use crate::domain::ports::{
    AuthorizationFacts, ChangeVersion, CredentialStore, DirResult, DirectoryError,
    RefreshTokenStore,
};
use crate::domain::repo_name::RepoPath;

thread_local! {
    /// Set while this thread may only be answered from cache (`hits_only`).
    static HITS_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with every cache read on this thread limited to what the cache holds at
/// the current version: a miss, a stale entry or a version due for its check fails
/// with `DirectoryError::WouldBlock` instead of asking the backend. The HTTP shell runs
/// a token request this way on the event loop when the directory is across a network,
/// and again in the blocking pool only when it must: a warm PostgreSQL-backed server
/// answers most requests without a thread hop, and never waits on the network there.
pub fn hits_only<T>(f: impl FnOnce() -> T) -> T {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            HITS_ONLY.with(|h| h.set(self.0));
        }
    }
    let _reset = Reset(HITS_ONLY.with(|h| h.replace(true)));
    f()
}

/// Whether this thread may only be answered from cache (see `hits_only`); the Synapse
/// backend's caches honour it too.
pub fn hits_only_now() -> bool {
    HITS_ONLY.with(|h| h.get())
}

/// How long a checked version is trusted, for a directory in a local file (one indexed
/// read to ask again).
pub const RECHECK: Duration = Duration::from_millis(1);
/// The same for a directory across a network (PostgreSQL): each check is a round trip,
/// and a version due for its check sends every request of that moment off the event
/// loop; 100 ms keeps a revocation at another replica honoured well within the second
/// the freshness rule allows, for ten queries a second per replica.
pub const REMOTE_RECHECK: Duration = Duration::from_millis(100);
/// Entries per cache: the working set of a busy registry, bounded.
const CAPACITY: u64 = 20_000;

type Entry<T> = (u64, Arc<T>);

pub struct CachedDirectory<D: ?Sized> {
    inner: Arc<D>,
    started: Instant,
    recheck: Duration,
    /// The version last read, and when (nanoseconds since `started`, +1 so 0 = never).
    version: AtomicU64,
    checked_at: AtomicU64,
    users: Cache<String, Entry<Option<UserCredentials>>>,
    teams: Cache<UserId, Entry<Vec<TeamId>>>,
    access_tokens: Cache<TokenHash, Entry<Option<AccessTokenRecord>>>,
    refresh_tokens: Cache<TokenHash, Entry<Option<RefreshTokenRecord>>>,
    repositories: Cache<RepoPath, Entry<RepoFacts>>,
}

fn cache<K, V>() -> Cache<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    Cache::builder().max_capacity(CAPACITY).build()
}

impl<D: ChangeVersion + ?Sized> CachedDirectory<D> {
    /// A cache whose version is asked again when older than `recheck`.
    pub fn new(inner: Arc<D>, recheck: Duration) -> CachedDirectory<D> {
        CachedDirectory {
            inner,
            started: Instant::now(),
            recheck,
            version: AtomicU64::new(0),
            checked_at: AtomicU64::new(0),
            users: cache(),
            teams: cache(),
            access_tokens: cache(),
            refresh_tokens: cache(),
            repositories: cache(),
        }
    }

    /// The backend's version, asked again when the last answer is older than
    /// `recheck`; `None` when it cannot be asked (then nothing is served from cache).
    fn current(&self) -> Option<u64> {
        let now = self.started.elapsed().as_nanos() as u64 + 1;
        let checked = self.checked_at.load(Ordering::Acquire);
        if checked != 0 && now.saturating_sub(checked) < self.recheck.as_nanos() as u64 {
            return Some(self.version.load(Ordering::Acquire));
        }
        if hits_only_now() {
            return None;
        }
        let v = self.inner.change_version().ok()?;
        self.version.store(v, Ordering::Release);
        self.checked_at.store(now, Ordering::Release);
        Some(v)
    }

    /// The cached value for `key` when read at the current version, else `read` it.
    fn through<K, T>(
        &self,
        cache: &Cache<K, Entry<T>>,
        key: K,
        read: impl FnOnce() -> DirResult<T>,
    ) -> DirResult<T>
    where
        K: std::hash::Hash + Eq + Send + Sync + 'static,
        T: Clone + Send + Sync + 'static,
    {
        let hits_only = hits_only_now();
        let Some(version) = self.current() else {
            return if hits_only {
                Err(DirectoryError::WouldBlock)
            } else {
                read()
            };
        };
        if let Some((at, value)) = cache.get(&key) {
            if at == version {
                return Ok((*value).clone());
            }
        }
        if hits_only {
            return Err(DirectoryError::WouldBlock);
        }
        let value = read()?;
        cache.insert(key, (version, Arc::new(value.clone())));
        Ok(value)
    }
}

impl<D: CredentialStore + ChangeVersion + ?Sized> CredentialStore for CachedDirectory<D> {
    fn user_credentials(&self, login: &str) -> DirResult<Option<UserCredentials>> {
        self.through(&self.users, login.to_string(), || {
            self.inner.user_credentials(login)
        })
    }

    fn access_token(&self, hash: &TokenHash) -> DirResult<Option<AccessTokenRecord>> {
        self.through(&self.access_tokens, *hash, || self.inner.access_token(hash))
    }

    fn refresh_token(&self, hash: &TokenHash) -> DirResult<Option<RefreshTokenRecord>> {
        self.through(&self.refresh_tokens, *hash, || {
            self.inner.refresh_token(hash)
        })
    }

    fn teams_of(&self, user: UserId) -> DirResult<Vec<TeamId>> {
        self.through(&self.teams, user, || self.inner.teams_of(user))
    }
}

impl<D: AuthorizationFacts + ChangeVersion + ?Sized> AuthorizationFacts for CachedDirectory<D> {
    fn repository_facts(&self, path: &RepoPath) -> DirResult<RepoFacts> {
        self.through(&self.repositories, path.clone(), || {
            self.inner.repository_facts(path)
        })
    }

    /// The API's lookups are few: read through.
    fn entity_facts(&self, entity: &EntityRef) -> DirResult<Option<EntityFacts>> {
        if hits_only_now() {
            return Err(DirectoryError::WouldBlock);
        }
        self.inner.entity_facts(entity)
    }
}

impl<D: RefreshTokenStore + ChangeVersion + ?Sized> RefreshTokenStore for CachedDirectory<D> {
    fn create_refresh_token(&self, token: &NewRefreshToken, now: UnixTime) -> DirResult<i64> {
        if hits_only_now() {
            return Err(DirectoryError::WouldBlock);
        }
        self.inner.create_refresh_token(token, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::User;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Mutex;

    /// A backend that counts its reads and whose version the test moves.
    #[derive(Default)]
    struct Counting {
        version: AtomicU64,
        reads: AtomicUsize,
        disabled: Mutex<bool>,
    }

    impl ChangeVersion for Counting {
        fn change_version(&self) -> DirResult<u64> {
            Ok(self.version.load(Ordering::SeqCst))
        }
    }

    impl CredentialStore for Counting {
        fn user_credentials(&self, login: &str) -> DirResult<Option<UserCredentials>> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            Ok(Some(UserCredentials {
                user: User {
                    id: UserId(1),
                    name: login.into(),
                    certified: true,
                    admin: false,
                    disabled: *self.disabled.lock().unwrap(),
                    email: None,
                },
                password_hash: None,
            }))
        }
        fn access_token(&self, _: &TokenHash) -> DirResult<Option<AccessTokenRecord>> {
            Ok(None)
        }
        fn refresh_token(&self, _: &TokenHash) -> DirResult<Option<RefreshTokenRecord>> {
            Ok(None)
        }
        fn teams_of(&self, _: UserId) -> DirResult<Vec<TeamId>> {
            Ok(vec![])
        }
    }

    #[test]
    fn entries_serve_until_the_version_moves() {
        let backend = Arc::new(Counting::default());
        let cached = CachedDirectory::new(backend.clone(), RECHECK);
        for _ in 0..100 {
            let u = cached.user_credentials("alice").unwrap().unwrap();
            assert!(!u.user.disabled);
        }
        assert_eq!(backend.reads.load(Ordering::SeqCst), 1, "served from cache");
        // Another process disables alice: the version moves.
        *backend.disabled.lock().unwrap() = true;
        backend.version.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(RECHECK * 2);
        assert!(
            cached
                .user_credentials("alice")
                .unwrap()
                .unwrap()
                .user
                .disabled
        );
        assert_eq!(backend.reads.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn hits_only_answers_from_cache_or_says_would_block_never_asks_the_backend() {
        let backend = Arc::new(Counting::default());
        let cached = CachedDirectory::new(backend.clone(), RECHECK);
        let would_block =
            |r: DirResult<Option<UserCredentials>>| matches!(r, Err(DirectoryError::WouldBlock));
        assert!(
            would_block(hits_only(|| cached.user_credentials("alice"))),
            "a miss"
        );
        assert_eq!(backend.reads.load(Ordering::SeqCst), 0);
        cached.user_credentials("alice").unwrap();
        let hit = hits_only(|| cached.user_credentials("alice"));
        assert!(hit.unwrap().is_some(), "a hit at a fresh version");
        // A version due for its check is not checked from the event loop.
        std::thread::sleep(RECHECK * 2);
        assert!(would_block(hits_only(|| cached.user_credentials("alice"))));
        assert_eq!(backend.reads.load(Ordering::SeqCst), 1);
        // Outside, the thread may block again.
        assert!(cached.user_credentials("alice").unwrap().is_some());
    }

    /// A storm of distinct user names (each a miss, each an entry) leaves at most
    /// `CAPACITY` entries; every cache is built with that bound.
    #[test]
    fn a_storm_of_distinct_names_keeps_at_most_the_capacity() {
        let backend = Arc::new(Counting::default());
        let cached = CachedDirectory::new(backend.clone(), RECHECK);
        let n = CAPACITY + 5_000;
        for i in 0..n {
            cached.user_credentials(&format!("u{i}")).unwrap();
        }
        cached.users.run_pending_tasks();
        assert!(
            cached.users.entry_count() <= CAPACITY,
            "{} entries",
            cached.users.entry_count()
        );
        assert_eq!(backend.reads.load(Ordering::SeqCst), n as usize);
        for capacity in [
            cached.teams.policy().max_capacity(),
            cached.access_tokens.policy().max_capacity(),
            cached.refresh_tokens.policy().max_capacity(),
            cached.repositories.policy().max_capacity(),
        ] {
            assert_eq!(capacity, Some(CAPACITY));
        }
    }
}
