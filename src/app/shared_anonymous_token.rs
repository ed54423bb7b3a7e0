//! One signature per second for identical anonymous tokens (`SharedAnonymousTokens`).
//!
//! An anonymous token names nobody: two anonymous requests for the same scopes, decided
//! the same way in the same second, get claims that differ only in `jti`. Signing is
//! most of what such a request costs (ES256: ~85% of the user-space instructions), and
//! an anonymous storm on a public image is exactly the load a registry sees from CI
//! fleets. So the signed token is kept for the rest of that second and handed to every
//! identical anonymous request: the same bytes, the same `jti`.
//!
//! Freshness is untouched: the decision still runs for every request, and the key is
//! the *decided* `access` claim, so a project turned private yields a different claim
//! (no actions) and a fresh signature at once. Tokens that name a user are never shared:
//! their `jti` ties one issuance to one audit line.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::domain::model::UnixTime;
use crate::domain::ports::{SignError, SignedToken, TokenClaims, TokenSigner};
use crate::domain::scope::ResourceActions;

/// Distinct anonymous claims kept per second; past it, tokens are signed one by one.
/// Bounds memory under a storm of distinct scopes (each entry is one token, ~1 KB).
const MAX_PER_SECOND: usize = 256;

type Key = (String, Vec<ResourceActions>);

/// A `TokenSigner` that signs identical anonymous claims once per second.
pub struct SharedAnonymousTokens {
    inner: Arc<dyn TokenSigner>,
    current: Mutex<Second>,
}

#[derive(Default)]
struct Second {
    at: UnixTime,
    tokens: HashMap<Key, SignedToken>,
}

impl SharedAnonymousTokens {
    pub fn new(inner: Arc<dyn TokenSigner>) -> SharedAnonymousTokens {
        SharedAnonymousTokens {
            inner,
            current: Mutex::new(Second::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Second> {
        // The map holds finished tokens only: a panic elsewhere cannot leave it torn.
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl TokenSigner for SharedAnonymousTokens {
    fn sign(&self, claims: TokenClaims<'_>) -> Result<SignedToken, SignError> {
        if !claims.subject.is_empty() {
            return self.inner.sign(claims);
        }
        let TokenClaims {
            subject,
            audience,
            access,
            now,
            expires_by: _,
        } = claims;
        let key: Key = (audience.to_owned(), access);
        {
            let second = self.lock();
            if second.at == now {
                if let Some(token) = second.tokens.get(&key) {
                    return Ok(token.clone());
                }
            }
        }
        // Signed outside the lock: a miss never makes other requests wait for it.
        let token = self.inner.sign(TokenClaims {
            subject,
            audience,
            access: key.1.clone(),
            now,
            expires_by: None,
        })?;
        let mut second = self.lock();
        if second.at < now {
            second.at = now;
            second.tokens.clear();
        }
        if second.at == now && second.tokens.len() < MAX_PER_SECOND {
            second.tokens.insert(key, token.clone());
        }
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts signatures; each token carries its serial number as `jti`.
    #[derive(Default)]
    struct Counting(AtomicUsize);

    impl TokenSigner for Counting {
        fn sign(&self, c: TokenClaims<'_>) -> Result<SignedToken, SignError> {
            let n = self.0.fetch_add(1, Ordering::SeqCst);
            Ok(SignedToken {
                token: format!("{}|{}|{:?}|{}|{n}", c.subject, c.audience, c.access, c.now),
                expires_in: 300,
                issued_at: c.now.to_string(),
                jti: n.to_string(),
            })
        }
    }

    fn pull(name: &str) -> Vec<ResourceActions> {
        vec![ResourceActions {
            resource_type: "repository".into(),
            name: name.into(),
            actions: vec!["pull".into()],
        }]
    }

    fn shared() -> (Arc<Counting>, SharedAnonymousTokens) {
        let counting = Arc::new(Counting::default());
        let shared = SharedAnonymousTokens::new(counting.clone());
        (counting, shared)
    }

    fn claims<'a>(
        subject: &'a str,
        audience: &'a str,
        access: Vec<ResourceActions>,
        now: UnixTime,
    ) -> TokenClaims<'a> {
        TokenClaims {
            subject,
            audience,
            access,
            now,
            expires_by: None,
        }
    }

    /// An anonymous pull token for `repository` at `now`, through `s`.
    fn anonymous_pull(s: &SharedAnonymousTokens, repository: &str, now: UnixTime) -> SignedToken {
        s.sign(claims("", "registry", pull(repository), now))
            .unwrap()
    }

    fn signatures(c: &Counting) -> usize {
        c.0.load(Ordering::SeqCst)
    }

    #[test]
    fn identical_anonymous_claims_in_one_second_share_one_signature() {
        let (c, s) = shared();
        let a = anonymous_pull(&s, "1/a", 100);
        let b = anonymous_pull(&s, "1/a", 100);
        assert_eq!(a, b);
        assert_eq!(signatures(&c), 1);
    }

    #[test]
    fn a_new_second_a_new_claim_or_another_audience_signs_again() {
        let (c, s) = shared();
        let first = anonymous_pull(&s, "1/a", 100);
        assert_ne!(first, anonymous_pull(&s, "1/a", 101));
        assert_ne!(first, anonymous_pull(&s, "1/b", 101));
        assert_ne!(
            first,
            s.sign(claims("", "other", pull("1/a"), 101)).unwrap()
        );
        let mut denied = pull("1/a");
        denied[0].actions.clear();
        assert_ne!(first, s.sign(claims("", "registry", denied, 101)).unwrap());
        assert_eq!(signatures(&c), 5);
    }

    #[test]
    fn a_late_request_for_an_earlier_second_never_sees_a_newer_token() {
        let (c, s) = shared();
        let newer = anonymous_pull(&s, "1/a", 101);
        let older = anonymous_pull(&s, "1/a", 100);
        assert_ne!(newer, older);
        assert!(older.token.contains("|100|"));
        // The newer second stays the one kept.
        assert_eq!(newer, anonymous_pull(&s, "1/a", 101));
        assert_eq!(signatures(&c), 2);
    }

    #[test]
    fn tokens_that_name_a_user_are_never_shared() {
        let (c, s) = shared();
        let a = s
            .sign(claims("alice", "registry", pull("1/a"), 100))
            .unwrap();
        let b = s
            .sign(claims("alice", "registry", pull("1/a"), 100))
            .unwrap();
        assert_ne!(a.jti, b.jti);
        assert_eq!(signatures(&c), 2);
    }

    #[test]
    fn distinct_claims_past_the_bound_are_signed_each_time() {
        let (c, s) = shared();
        for i in 0..MAX_PER_SECOND + 10 {
            anonymous_pull(&s, &format!("1/r{i}"), 100);
        }
        assert_eq!(s.lock().tokens.len(), MAX_PER_SECOND);
        let past = format!("1/r{}", MAX_PER_SECOND + 1);
        anonymous_pull(&s, &past, 100);
        anonymous_pull(&s, &past, 100);
        assert_eq!(signatures(&c), MAX_PER_SECOND + 12);
        // Kept ones still answer from the map.
        anonymous_pull(&s, "1/r0", 100);
        assert_eq!(signatures(&c), MAX_PER_SECOND + 12);
    }
}
