//! Web sessions: a random 256-bit id in a cookie, the session itself in memory, keyed
//! by the SHA-256 of the id (a memory dump does not give the cookie back), ending after
//! an idle time or an absolute lifetime, whichever comes first.
//!
//! A session names a user (id, name) and the stamp of the password it began with
//! (`Authenticator::session_caller`); each request re-reads the user, so disabling it
//! or changing its password ends every session. It holds no credential: it acts with a
//! password's scopes, as the user who typed the password.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::domain::model::UserId;

/// How long sessions live and how many are kept.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    /// Without a request for this long, a session ends.
    pub idle: Duration,
    /// However busy, a session ends this long after sign-in.
    pub absolute: Duration,
    /// Sessions kept at most (the least used go first beyond it).
    pub capacity: u64,
}

impl Default for SessionLimits {
    fn default() -> SessionLimits {
        SessionLimits {
            idle: Duration::from_secs(30 * 60),
            absolute: Duration::from_secs(12 * 3600),
            capacity: 100_000,
        }
    }
}

/// One signed-in browser.
#[derive(Debug)]
pub struct Session {
    pub user_id: UserId,
    /// The user's canonical name (also when the user signed in with its e-mail).
    pub user: String,
    /// The password stamp at sign-in: a different one now means the password changed.
    pub stamp: [u8; 32],
    /// The token every form of this session carries (see `csrf`).
    pub csrf: String,
    created: Instant,
    last_seen: Mutex<Instant>,
}

/// Who a new session is for.
pub struct NewSession {
    pub user_id: UserId,
    pub user: String,
    pub stamp: [u8; 32],
}

/// The sessions of this process.
pub struct SessionStore {
    sessions: moka::sync::Cache<[u8; 32], Arc<Session>>,
    limits: SessionLimits,
}

/// 32 bytes from the OS RNG, base64url without padding (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The store key of a cookie value, or `None` when it cannot be one of our ids.
fn key_of(cookie: &str) -> Option<[u8; 32]> {
    if cookie.len() != 43 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(cookie).ok()?;
    if bytes.len() != 32 {
        return None;
    }
    Some(Sha256::digest(&bytes).into())
}

impl SessionStore {
    pub fn new(limits: SessionLimits) -> SessionStore {
        SessionStore {
            // The cache's own expiry only frees memory; `find` decides, to the instant.
            sessions: moka::sync::Cache::builder()
                .max_capacity(limits.capacity)
                .time_to_live(limits.absolute)
                .time_to_idle(limits.idle)
                .build(),
            limits,
        }
    }

    /// Starts a session; returns the cookie value (shown to nobody else) and the session.
    pub fn create(&self, who: NewSession, now: Instant) -> (String, Arc<Session>) {
        let id = random_token();
        let key = key_of(&id).expect("a fresh id is well formed");
        let session = Arc::new(Session {
            user_id: who.user_id,
            user: who.user,
            stamp: who.stamp,
            csrf: random_token(),
            created: now,
            last_seen: Mutex::new(now),
        });
        self.sessions.insert(key, session.clone());
        (id, session)
    }

    /// The live session a cookie value names, marked as used at `now`; `None` for a
    /// malformed, unknown, ended or expired one (an expired one is dropped).
    pub fn find(&self, cookie: &str, now: Instant) -> Option<Arc<Session>> {
        let key = key_of(cookie)?;
        let session = self.sessions.get(&key)?;
        let mut last_seen = session.last_seen.lock().unwrap_or_else(|p| p.into_inner());
        let idle = now.saturating_duration_since(*last_seen) >= self.limits.idle;
        let old = now.saturating_duration_since(session.created) >= self.limits.absolute;
        if idle || old {
            drop(last_seen);
            self.sessions.invalidate(&key);
            return None;
        }
        *last_seen = now.max(*last_seen);
        drop(last_seen);
        Some(session)
    }

    /// Ends the session a cookie value names (nothing if there is none).
    pub fn end(&self, cookie: &str) {
        if let Some(key) = key_of(cookie) {
            self.sessions.invalidate(&key);
        }
    }

    /// Sessions held (for tests; the cache counts lazily).
    pub fn len(&self) -> u64 {
        self.sessions.run_pending_tasks();
        self.sessions.entry_count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> SessionStore {
        SessionStore::new(SessionLimits {
            idle: Duration::from_secs(60),
            absolute: Duration::from_secs(600),
            capacity: 100,
        })
    }

    fn alice() -> NewSession {
        NewSession {
            user_id: UserId(7),
            user: "alice".into(),
            stamp: [1; 32],
        }
    }

    #[test]
    fn a_new_session_is_found_by_its_cookie_only() {
        let s = store();
        let t0 = Instant::now();
        let (id, created) = s.create(alice(), t0);
        assert_eq!(id.len(), 43);
        let found = s.find(&id, t0).expect("found");
        assert!(Arc::ptr_eq(&found, &created));
        assert_eq!(found.user, "alice");
        assert_eq!(found.user_id, UserId(7));
        assert_ne!(found.csrf, id, "the form token is not the session id");
        let (other, _) = s.create(alice(), t0);
        assert_ne!(id, other, "ids are random");
    }

    #[test]
    fn unknown_and_forged_ids_find_nothing() {
        let s = store();
        let t0 = Instant::now();
        let (id, _) = s.create(alice(), t0);
        // Well formed but never issued.
        assert!(s.find(&random_token(), t0).is_none());
        // One character changed.
        let mut forged: Vec<char> = id.chars().collect();
        forged[10] = if forged[10] == 'A' { 'B' } else { 'A' };
        let forged: String = forged.into_iter().collect();
        assert!(s.find(&forged, t0).is_none());
        // Not base64url, too short, too long, empty, padded.
        for bad in [
            "",
            "abc",
            &"!".repeat(43),
            &format!("{id}A"),
            &id[..42],
            &format!("{}=", &id[..42]),
        ] {
            assert!(s.find(bad, t0).is_none(), "{bad:?}");
        }
        // The store key is a digest, not the id itself.
        assert_ne!(
            key_of(&id).unwrap().to_vec(),
            URL_SAFE_NO_PAD.decode(&id).unwrap()
        );
        assert!(s.find(&id, t0).is_some(), "the real one still works");
    }

    #[test]
    fn a_session_ends_when_idle() {
        let s = store();
        let t0 = Instant::now();
        let (id, _) = s.create(alice(), t0);
        // Used every 50 s: stays alive past one idle period.
        for i in 1..=5 {
            assert!(s.find(&id, t0 + Duration::from_secs(50 * i)).is_some());
        }
        // Then 60 s without a request.
        assert!(s.find(&id, t0 + Duration::from_secs(250 + 60)).is_none());
        // And it is gone, not just refused once.
        assert!(s.find(&id, t0 + Duration::from_secs(250)).is_none());
    }

    #[test]
    fn a_session_ends_at_its_absolute_lifetime_however_busy() {
        let s = store();
        let t0 = Instant::now();
        let (id, _) = s.create(alice(), t0);
        let mut t = t0;
        while t < t0 + Duration::from_secs(590) {
            t += Duration::from_secs(30);
            assert!(s.find(&id, t.min(t0 + Duration::from_secs(599))).is_some());
        }
        assert!(s.find(&id, t0 + Duration::from_secs(600)).is_none());
    }

    #[test]
    fn an_ended_session_is_gone() {
        let s = store();
        let t0 = Instant::now();
        let (id, _) = s.create(alice(), t0);
        let (other, _) = s.create(alice(), t0);
        s.end(&id);
        s.end("not even an id");
        assert!(s.find(&id, t0).is_none());
        assert!(s.find(&other, t0).is_some(), "only that one");
    }

    #[test]
    fn the_store_is_bounded() {
        let s = SessionStore::new(SessionLimits {
            capacity: 10,
            ..SessionLimits::default()
        });
        let t0 = Instant::now();
        assert!(s.is_empty());
        for _ in 0..5 {
            s.create(alice(), t0);
        }
        assert_eq!(s.len(), 5, "each session is held");
        assert!(!s.is_empty());
        for _ in 0..100 {
            s.create(alice(), t0);
        }
        assert!((1..=10).contains(&s.len()), "{} sessions kept", s.len());
    }
}
