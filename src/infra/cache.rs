//! What the token path reads, cached, and never staler than a millisecond (SQLite) or
//! 100 ms (PostgreSQL, across replicas).
//!
//! `CachedDirectory` sits in front of a backend for the ports a token request reads
//! (`CredentialStore`, `AuthorizationFacts`, and `TrustPolicyStore`'s policies by issuer
//! for a workload's token). Every entry remembers the backend's
//! `ChangeVersion` it was read at; the version is asked at most once per `recheck` (one
//! indexed read instead of the five or six a token request makes), and an entry read at
//! another version is read again. The version moves on every change to users, teams,
//! tokens, entities, ACLs and trust policies, made by this process or any other (the
//! CLI, another replica): a revoked token, a disabled user, a trashed entity, a removed
//! ACL entry or a removed trust policy is refused from the next check on.
//!
//! On the event loop (`Pace::Inline`) the cache answers what it holds at the current
//! version and passes the pace on for the rest: a local file answers, a database across
//! the network says `WouldBlock`, so the request moves to the blocking pool only when
//! the cache cannot answer it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::sync::Cache;

use crate::domain::authz::{EntityFacts, RepoFacts};
use crate::domain::model::{
    AccessTokenRecord, EntityId, EntityRef, NewRefreshToken, NewTrustPolicy, RefreshTokenRecord,
    TeamId, TokenHash, TrustPolicy, UnixTime, UserCredentials, UserId,
};
use crate::domain::ports::{
    AuthorizationFacts, ChangeVersion, CredentialStore, DirResult, DirectoryError, Pace,
    RefreshTokenStore, TrustPolicyStore,
};
use crate::domain::repo_name::RepoPath;

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
    /// The backend's `local_writes` at the last check.
    seen_writes: AtomicU64,
    users: Cache<String, Entry<Option<UserCredentials>>>,
    teams: Cache<UserId, Entry<Vec<TeamId>>>,
    access_tokens: Cache<TokenHash, Entry<Option<AccessTokenRecord>>>,
    refresh_tokens: Cache<TokenHash, Entry<Option<RefreshTokenRecord>>>,
    repositories: Cache<RepoPath, Entry<RepoFacts>>,
    /// By issuer. Only configured issuers' tokens get this far (the verifier refuses
    /// the others), and the bound holds whatever they are.
    trust_policies: Cache<String, Entry<Vec<TrustPolicy>>>,
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
            seen_writes: AtomicU64::new(0),
            users: cache(),
            teams: cache(),
            access_tokens: cache(),
            refresh_tokens: cache(),
            repositories: cache(),
            trust_policies: cache(),
        }
    }

    /// The backend's version, asked again (at the caller's `pace`) when the last answer
    /// is older than `recheck`; `None` when it cannot be asked (then nothing is served
    /// from cache). A backend that cannot answer at this pace says `WouldBlock`.
    fn current(&self, pace: Pace) -> DirResult<Option<u64>> {
        let now = self.started.elapsed().as_nanos() as u64 + 1;
        let checked = self.checked_at.load(Ordering::Acquire);
        // A change committed by this process since the last check is asked at once.
        let writes = self.inner.local_writes();
        let fresh = writes == self.seen_writes.load(Ordering::Acquire);
        if fresh && checked != 0 && now.saturating_sub(checked) < self.recheck.as_nanos() as u64 {
            return Ok(Some(self.version.load(Ordering::Acquire)));
        }
        self.seen_writes.store(writes, Ordering::Release);
        let v = match self.inner.change_version(pace) {
            Ok(v) => v,
            Err(DirectoryError::WouldBlock) => return Err(DirectoryError::WouldBlock),
            Err(_) => return Ok(None),
        };
        self.version.store(v, Ordering::Release);
        self.checked_at.store(now, Ordering::Release);
        Ok(Some(v))
    }

    /// The cached value for `key` when read at the current version, else `read` it
    /// (which the backend answers or refuses at the caller's pace).
    fn through<K, T>(
        &self,
        cache: &Cache<K, Entry<T>>,
        key: K,
        pace: Pace,
        read: impl FnOnce() -> DirResult<T>,
    ) -> DirResult<T>
    where
        K: std::hash::Hash + Eq + Send + Sync + 'static,
        T: Clone + Send + Sync + 'static,
    {
        let Some(version) = self.current(pace)? else {
            return read();
        };
        if let Some((at, value)) = cache.get(&key) {
            if at == version {
                return Ok((*value).clone());
            }
        }
        let value = read()?;
        cache.insert(key, (version, Arc::new(value.clone())));
        Ok(value)
    }
}

impl<D: CredentialStore + ChangeVersion + ?Sized> CredentialStore for CachedDirectory<D> {
    fn user_credentials(&self, login: &str, pace: Pace) -> DirResult<Option<UserCredentials>> {
        self.through(&self.users, login.to_string(), pace, || {
            self.inner.user_credentials(login, pace)
        })
    }

    fn access_token(&self, hash: &TokenHash, pace: Pace) -> DirResult<Option<AccessTokenRecord>> {
        self.through(&self.access_tokens, *hash, pace, || {
            self.inner.access_token(hash, pace)
        })
    }

    fn refresh_token(&self, hash: &TokenHash, pace: Pace) -> DirResult<Option<RefreshTokenRecord>> {
        self.through(&self.refresh_tokens, *hash, pace, || {
            self.inner.refresh_token(hash, pace)
        })
    }

    fn teams_of(&self, user: UserId, pace: Pace) -> DirResult<Vec<TeamId>> {
        self.through(&self.teams, user, pace, || self.inner.teams_of(user, pace))
    }
}

impl<D: AuthorizationFacts + ChangeVersion + ?Sized> AuthorizationFacts for CachedDirectory<D> {
    fn repository_facts(&self, path: &RepoPath, pace: Pace) -> DirResult<RepoFacts> {
        self.through(&self.repositories, path.clone(), pace, || {
            self.inner.repository_facts(path, pace)
        })
    }

    /// The API's lookups are few: read through.
    fn entity_facts(&self, entity: &EntityRef) -> DirResult<Option<EntityFacts>> {
        self.inner.entity_facts(entity)
    }
}

impl<D: RefreshTokenStore + ChangeVersion + ?Sized> RefreshTokenStore for CachedDirectory<D> {
    fn create_refresh_token(&self, token: &NewRefreshToken, now: UnixTime) -> DirResult<i64> {
        self.inner.create_refresh_token(token, now)
    }
}

/// The token path's read is cached by issuer; the administration reads and writes go
/// through (a write moves the version, which retires every entry).
impl<D: TrustPolicyStore + ChangeVersion + ?Sized> TrustPolicyStore for CachedDirectory<D> {
    fn create_trust_policy(&self, policy: &NewTrustPolicy) -> DirResult<TrustPolicy> {
        self.inner.create_trust_policy(policy)
    }

    fn list_trust_policies(&self, project: EntityId) -> DirResult<Vec<TrustPolicy>> {
        self.inner.list_trust_policies(project)
    }

    fn delete_trust_policy(&self, project: EntityId, id: i64) -> DirResult<()> {
        self.inner.delete_trust_policy(project, id)
    }

    fn trust_policies_for_issuer(&self, issuer: &str, pace: Pace) -> DirResult<Vec<TrustPolicy>> {
        self.through(&self.trust_policies, issuer.to_string(), pace, || {
            self.inner.trust_policies_for_issuer(issuer, pace)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::User;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Mutex;

    /// Like a database across the network: not asked at all on the event loop.
    fn across_the_network(pace: Pace) -> DirResult<()> {
        match pace {
            Pace::Inline => Err(DirectoryError::WouldBlock),
            Pace::MayBlock => Ok(()),
        }
    }

    /// A backend that counts its reads and whose version the test moves.
    #[derive(Default)]
    struct Counting {
        version: AtomicU64,
        reads: AtomicUsize,
        disabled: Mutex<bool>,
        policies: Mutex<Vec<TrustPolicy>>,
        policy_reads: AtomicUsize,
        /// Changes "this process" committed.
        writes: AtomicU64,
    }

    impl ChangeVersion for Counting {
        fn change_version(&self, pace: Pace) -> DirResult<u64> {
            across_the_network(pace)?;
            Ok(self.version.load(Ordering::SeqCst))
        }
        fn local_writes(&self) -> u64 {
            self.writes.load(Ordering::SeqCst)
        }
    }

    impl CredentialStore for Counting {
        fn user_credentials(&self, login: &str, pace: Pace) -> DirResult<Option<UserCredentials>> {
            across_the_network(pace)?;
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
        fn access_token(&self, _: &TokenHash, _: Pace) -> DirResult<Option<AccessTokenRecord>> {
            Ok(None)
        }
        fn refresh_token(&self, _: &TokenHash, _: Pace) -> DirResult<Option<RefreshTokenRecord>> {
            Ok(None)
        }
        fn teams_of(&self, _: UserId, _: Pace) -> DirResult<Vec<TeamId>> {
            Ok(vec![])
        }
    }

    /// Policies held in a list; each change moves the version, as the triggers do.
    impl TrustPolicyStore for Counting {
        fn create_trust_policy(&self, policy: &NewTrustPolicy) -> DirResult<TrustPolicy> {
            let mut all = self.policies.lock().unwrap();
            let stored = TrustPolicy {
                id: all.len() as i64 + 1,
                policy: policy.clone(),
                creator_name: "alice".into(),
            };
            all.push(stored.clone());
            self.version.fetch_add(1, Ordering::SeqCst);
            Ok(stored)
        }
        fn list_trust_policies(&self, project: EntityId) -> DirResult<Vec<TrustPolicy>> {
            let all = self.policies.lock().unwrap();
            Ok(all
                .iter()
                .filter(|p| p.policy.project == project)
                .cloned()
                .collect())
        }
        fn delete_trust_policy(&self, project: EntityId, id: i64) -> DirResult<()> {
            let mut all = self.policies.lock().unwrap();
            let before = all.len();
            all.retain(|p| !(p.id == id && p.policy.project == project));
            if all.len() == before {
                return Err(DirectoryError::NotFound(format!("trust policy {id}")));
            }
            self.version.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
        fn trust_policies_for_issuer(
            &self,
            issuer: &str,
            pace: Pace,
        ) -> DirResult<Vec<TrustPolicy>> {
            across_the_network(pace)?;
            self.policy_reads.fetch_add(1, Ordering::SeqCst);
            let all = self.policies.lock().unwrap();
            Ok(all
                .iter()
                .filter(|p| p.policy.issuer == issuer)
                .cloned()
                .collect())
        }
    }

    fn policy(issuer: &str) -> NewTrustPolicy {
        NewTrustPolicy {
            project: EntityId(1000),
            creator: UserId(1),
            issuer: issuer.into(),
            audience: "regauth".into(),
            conditions: vec![],
            repositories: "*".into(),
            actions: crate::domain::model::WorkloadActions::PUSH,
            max_lifetime_secs: 300,
            created_at: 1,
        }
    }

    #[test]
    fn a_removed_or_added_trust_policy_is_seen_at_the_next_version() {
        const GH: &str = "https://token.actions.githubusercontent.com";
        let backend = Arc::new(Counting::default());
        let cached = CachedDirectory::new(backend.clone(), RECHECK);
        let first = cached.create_trust_policy(&policy(GH)).unwrap();
        for _ in 0..100 {
            let found = cached
                .trust_policies_for_issuer(GH, Pace::MayBlock)
                .unwrap();
            assert_eq!(found, vec![first.clone()]);
        }
        assert_eq!(backend.policy_reads.load(Ordering::SeqCst), 1, "cached");
        // On the event loop, a hit at a fresh version answers; another issuer is a miss.
        let hit = cached.trust_policies_for_issuer(GH, Pace::Inline).unwrap();
        assert_eq!(hit.len(), 1);
        assert!(matches!(
            cached.trust_policies_for_issuer("https://gitlab.example.org", Pace::Inline),
            Err(DirectoryError::WouldBlock)
        ));
        // Removed (through the cache, or by another replica: the version moves either way).
        cached
            .delete_trust_policy(EntityId(1000), first.id)
            .unwrap();
        std::thread::sleep(RECHECK * 2);
        assert!(cached
            .trust_policies_for_issuer(GH, Pace::MayBlock)
            .unwrap()
            .is_empty());
        // Added behind the cache's back: seen at the next version too.
        let second = backend.create_trust_policy(&policy(GH)).unwrap();
        std::thread::sleep(RECHECK * 2);
        assert_eq!(
            cached
                .trust_policies_for_issuer(GH, Pace::MayBlock)
                .unwrap(),
            vec![second]
        );
        assert_eq!(backend.policy_reads.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn entries_serve_until_the_version_moves() {
        let backend = Arc::new(Counting::default());
        let cached = CachedDirectory::new(backend.clone(), RECHECK);
        for _ in 0..100 {
            let u = cached
                .user_credentials("alice", Pace::MayBlock)
                .unwrap()
                .unwrap();
            assert!(!u.user.disabled);
        }
        assert_eq!(backend.reads.load(Ordering::SeqCst), 1, "served from cache");
        // Another process disables alice: the version moves.
        *backend.disabled.lock().unwrap() = true;
        backend.version.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(RECHECK * 2);
        assert!(
            cached
                .user_credentials("alice", Pace::MayBlock)
                .unwrap()
                .unwrap()
                .user
                .disabled
        );
        assert_eq!(backend.reads.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_change_made_by_this_process_is_seen_by_the_very_next_read() {
        let backend = Arc::new(Counting::default());
        // A recheck interval no test outlives: only the local write can make it look.
        let cached = CachedDirectory::new(backend.clone(), Duration::from_secs(3600));
        let read = || {
            cached
                .user_credentials("alice", Pace::MayBlock)
                .unwrap()
                .unwrap()
                .user
                .disabled
        };
        assert!(!read());
        assert!(!read());
        assert_eq!(backend.reads.load(Ordering::SeqCst), 1);
        // Another process's change waits for the recheck...
        *backend.disabled.lock().unwrap() = true;
        backend.version.fetch_add(1, Ordering::SeqCst);
        assert!(
            !read(),
            "another process's change is seen at the recheck, not before"
        );
        // ...one made here is seen at once.
        backend.writes.fetch_add(1, Ordering::SeqCst);
        assert!(read());
    }

    #[test]
    fn inline_a_networked_backend_answers_from_cache_or_says_would_block_never_asked() {
        let backend = Arc::new(Counting::default());
        let cached = CachedDirectory::new(backend.clone(), RECHECK);
        let would_block =
            |r: DirResult<Option<UserCredentials>>| matches!(r, Err(DirectoryError::WouldBlock));
        assert!(
            would_block(cached.user_credentials("alice", Pace::Inline)),
            "a miss"
        );
        assert_eq!(backend.reads.load(Ordering::SeqCst), 0);
        cached.user_credentials("alice", Pace::MayBlock).unwrap();
        let hit = cached.user_credentials("alice", Pace::Inline);
        assert!(hit.unwrap().is_some(), "a hit at a fresh version");
        // A version due for its check is not checked from the event loop.
        std::thread::sleep(RECHECK * 2);
        assert!(would_block(cached.user_credentials("alice", Pace::Inline)));
        assert_eq!(backend.reads.load(Ordering::SeqCst), 1);
        // Outside, the thread may block again.
        assert!(cached
            .user_credentials("alice", Pace::MayBlock)
            .unwrap()
            .is_some());
    }

    /// A storm of distinct user names (each a miss, each an entry) leaves at most
    /// `CAPACITY` entries; every cache is built with that bound.
    #[test]
    fn a_storm_of_distinct_names_keeps_at_most_the_capacity() {
        let backend = Arc::new(Counting::default());
        let cached = CachedDirectory::new(backend.clone(), RECHECK);
        let n = CAPACITY + 5_000;
        for i in 0..n {
            cached
                .user_credentials(&format!("u{i}"), Pace::MayBlock)
                .unwrap();
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
            cached.trust_policies.policy().max_capacity(),
        ] {
            assert_eq!(capacity, Some(CAPACITY));
        }
    }
}
