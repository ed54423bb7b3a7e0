//! The directory suite's access-token tests: minting under the per-user cap in one
//! transaction, tokens minted by a token (never outliving it), revocation down the line.

use super::*;
use crate::domain::ports::Pace;

/// A token for `user` named `name` (its hash derived from both), minted by `parent`.
pub(super) fn mint(
    d: &impl Directory,
    user: crate::domain::model::UserId,
    name: &str,
    parent: Option<i64>,
    expires_at: Option<i64>,
    max_live: Option<usize>,
    now: i64,
) -> Result<crate::domain::model::AccessTokenRecord, DirectoryError> {
    use crate::domain::model::NewAccessToken;
    let token = NewAccessToken {
        user,
        name: name.into(),
        hash: crate::domain::authn::secret::hash_token(&format!("{}/{name}", user.0)),
        scopes: ScopeSet::VIEW,
        expires_at,
        parent,
    };
    d.create_access_token(&token, max_live, now)
}

/// The user's tokens in force at `now`.
pub(super) fn in_force(d: &impl Directory, user: crate::domain::model::UserId, now: i64) -> usize {
    d.list_access_tokens(user)
        .unwrap()
        .iter()
        .filter(|t| !t.revoked && t.expires_at.is_none_or(|e| e > now))
        .count()
}

/// 99 tokens in force for a new user `name` (and a revoked and an expired one, which
/// do not count).
pub(super) fn ninety_nine_in_force(
    d: &impl Directory,
    name: &str,
    now: i64,
) -> crate::domain::model::UserId {
    add_user(d, name, true);
    let user = d.user_by_name(name).unwrap().unwrap().id;
    for i in 0..99 {
        mint(d, user, &format!("t{i}"), None, None, Some(100), now).unwrap();
    }
    let gone = mint(d, user, "revoked", None, None, None, now).unwrap();
    d.revoke_access_token(gone.id, now).unwrap();
    mint(d, user, "expired", None, Some(now - 1), None, now - 10).unwrap();
    assert_eq!(in_force(d, user, now), 99);
    user
}

/// Fires 40 mints capped at 100 at once, each on one of `handles` in turn; returns how
/// many were refused for the cap (any other error fails the test).
pub(super) fn forty_at_once<D: Directory + 'static>(
    handles: &[std::sync::Arc<D>],
    user: crate::domain::model::UserId,
    now: i64,
) -> usize {
    let start = std::sync::Arc::new(std::sync::Barrier::new(40));
    let threads: Vec<_> = (0..40)
        .map(|i| {
            let d = handles[i % handles.len()].clone();
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                mint(
                    d.as_ref(),
                    user,
                    &format!("race{i}"),
                    None,
                    None,
                    Some(100),
                    now,
                )
            })
        })
        .collect();
    let mut refused = 0;
    for t in threads {
        match t.join().unwrap() {
            Ok(_) => {}
            Err(DirectoryError::Invalid(m)) => {
                assert!(
                    m.contains("100 access tokens in force") && m.contains("revoke some first"),
                    "{m}"
                );
                refused += 1;
            }
            Err(e) => panic!("mint failed otherwise: {e}"),
        }
    }
    refused
}

pub(super) fn forty_parallel_mints_at_99_in_force_give_exactly_100<B: Backend>() {
    use std::sync::Arc;
    let now = 1_000;
    let (place, one) = B::open();
    let alice = ninety_nine_in_force(&one, "alice", now);
    let bob = ninety_nine_in_force(&one, "bob", now);
    let (one, two) = (Arc::new(one), Arc::new(B::reopen(&place)));

    // Threads on one handle.
    assert_eq!(forty_at_once(std::slice::from_ref(&one), alice, now), 39);
    assert_eq!(in_force(one.as_ref(), alice, now), 100);
    // Threads on two handles of the same data (two processes, two replicas).
    assert_eq!(forty_at_once(&[one.clone(), two.clone()], bob, now), 39);
    assert_eq!(in_force(two.as_ref(), bob, now), 100);

    // The operator is not bound by the cap.
    mint(one.as_ref(), bob, "short", None, Some(now + 5), None, now).unwrap();
    assert_eq!(in_force(one.as_ref(), bob, now), 101);
    // Expired and revoked tokens do not count: once "short" has expired, 100 are in
    // force (refused); with one more revoked, one more fits.
    let later = now + 5;
    assert!(matches!(
        mint(two.as_ref(), bob, "one more", None, None, Some(100), later),
        Err(DirectoryError::Invalid(_))
    ));
    let first = one.list_access_tokens(bob).unwrap()[0].id;
    one.revoke_access_token(first, later).unwrap();
    mint(two.as_ref(), bob, "one more", None, None, Some(100), later).unwrap();
    assert_eq!(in_force(two.as_ref(), bob, later), 100);
}

pub(super) fn a_child_token_never_outlives_its_parent<B: Backend>() {
    let now = 1_000;
    let (_t, d) = B::open();
    add_user(&d, "alice", true);
    let alice = d.user_by_name("alice").unwrap().unwrap().id;
    let parent = mint(&d, alice, "hour", None, Some(now + 3600), None, now).unwrap();
    assert_eq!(parent.parent, None);

    // Asked with no expiry: the parent's.
    let forever = mint(&d, alice, "forever", Some(parent.id), None, Some(100), now).unwrap();
    assert_eq!(forever.expires_at, Some(now + 3600));
    assert_eq!(forever.parent, Some(parent.id));
    // Asked later than the parent: clamped; earlier: as asked.
    let later = mint(
        &d,
        alice,
        "later",
        Some(parent.id),
        Some(now + 7200),
        None,
        now,
    )
    .unwrap();
    assert_eq!(later.expires_at, Some(now + 3600));
    let sooner = mint(
        &d,
        alice,
        "sooner",
        Some(parent.id),
        Some(now + 60),
        None,
        now,
    )
    .unwrap();
    assert_eq!(sooner.expires_at, Some(now + 60));
    // A grandchild is bound by the nearer, shorter-lived ancestor.
    let grandchild = mint(&d, alice, "grandchild", Some(sooner.id), None, None, now).unwrap();
    assert_eq!(grandchild.expires_at, Some(now + 60));
    // Under a parent that never expires, the asked expiry stands.
    let root = mint(&d, alice, "root", None, None, None, now).unwrap();
    let free = mint(&d, alice, "free", Some(root.id), None, None, now).unwrap();
    assert_eq!(free.expires_at, None);

    // What was stored is what the listing and the token path read.
    let listed = d.list_access_tokens(alice).unwrap();
    let stored = |id: i64| listed.iter().find(|t| t.id == id).unwrap().clone();
    assert_eq!(stored(forever.id).expires_at, Some(now + 3600));
    assert_eq!(stored(forever.id).parent, Some(parent.id));
    assert_eq!(stored(later.id).expires_at, Some(now + 3600));
    assert_eq!(stored(grandchild.id).parent, Some(sooner.id));
    assert_eq!(stored(root.id).parent, None);
    let hash = crate::domain::authn::secret::hash_token(&format!("{}/later", alice.0));
    let read = d.access_token(&hash, Pace::MayBlock).unwrap().unwrap();
    assert_eq!(
        (read.parent, read.expires_at),
        (Some(parent.id), Some(now + 3600))
    );
}

pub(super) fn a_child_of_a_revoked_expired_or_foreign_parent_is_refused<B: Backend>() {
    let now = 1_000;
    let (_t, d) = B::open();
    let (alice, bob) = alice_and_bob(&d);
    let revoked = mint(&d, alice, "revoked", None, None, None, now).unwrap();
    d.revoke_access_token(revoked.id, now).unwrap();
    let expired = mint(&d, alice, "expired", None, Some(now), None, now - 100).unwrap();
    let bobs = mint(&d, bob, "bob's", None, None, None, now).unwrap();
    let before = d.list_access_tokens(alice).unwrap().len();
    for (parent, what) in [
        (revoked.id, "no longer in force"),
        (expired.id, "no longer in force"),
        (bobs.id, "another user"),
        (bobs.id + 1000, "no longer in force"),
    ] {
        match mint(&d, alice, "child", Some(parent), None, Some(100), now) {
            Err(DirectoryError::Denied(m)) => assert!(m.contains(what), "{m}"),
            other => panic!("a child of {parent} was not refused: {other:?}"),
        }
    }
    assert_eq!(d.list_access_tokens(alice).unwrap().len(), before);
    // A second before its expiry the same parent was fine.
    let earlier = mint(&d, alice, "child", Some(expired.id), None, None, now - 1).unwrap();
    assert_eq!(earlier.expires_at, Some(now));
}

pub(super) fn revoking_a_token_revokes_what_it_minted_and_nothing_else<B: Backend>() {
    use crate::infra::cache::CachedDirectory;
    use std::sync::Arc;
    let now = 1_000;
    let (_t, d) = B::open();
    let (alice, bob) = alice_and_bob(&d);
    // a ─┬─ b ── c        e ── f        bob: g ── h
    //    └─ d
    let a = mint(&d, alice, "a", None, None, None, now).unwrap().id;
    let b = mint(&d, alice, "b", Some(a), None, None, now).unwrap().id;
    let c = mint(&d, alice, "c", Some(b), None, None, now).unwrap().id;
    let dd = mint(&d, alice, "d", Some(a), None, None, now).unwrap().id;
    let e = mint(&d, alice, "e", None, None, None, now).unwrap().id;
    let f = mint(&d, alice, "f", Some(e), None, None, now).unwrap().id;
    let g = mint(&d, bob, "g", None, None, None, now).unwrap().id;
    let h = mint(&d, bob, "h", Some(g), None, None, now).unwrap().id;
    let revoked = |d: &B::D| -> Vec<i64> {
        let mut ids: Vec<i64> = [alice, bob]
            .iter()
            .flat_map(|u| d.list_access_tokens(*u).unwrap())
            .filter(|t| t.revoked)
            .map(|t| t.id)
            .collect();
        ids.sort();
        ids
    };

    // The token path reads through the cache: a grandchild read before the revocation
    // is refused after it, as the token itself would be.
    let d = Arc::new(d);
    let cached = CachedDirectory::new(d.clone(), std::time::Duration::ZERO);
    let c_hash = crate::domain::authn::secret::hash_token(&format!("{}/c", alice.0));
    assert!(
        !cached
            .access_token(&c_hash, Pace::MayBlock)
            .unwrap()
            .unwrap()
            .revoked
    );
    let v = d.change_version(Pace::MayBlock).unwrap();

    d.revoke_access_token(b, now).unwrap();
    assert_eq!(revoked(&d), vec![b, c]);
    assert!(
        d.change_version(Pace::MayBlock).unwrap() > v,
        "the change version moved"
    );
    assert!(
        cached
            .access_token(&c_hash, Pace::MayBlock)
            .unwrap()
            .unwrap()
            .revoked
    );

    d.revoke_access_token(a, now + 1).unwrap();
    assert_eq!(revoked(&d), vec![a, b, c, dd]);
    // Revoking again, or a leaf, is fine and reaches nothing more.
    d.revoke_access_token(a, now + 2).unwrap();
    d.revoke_access_token(f, now + 2).unwrap();
    assert_eq!(revoked(&d), vec![a, b, c, dd, f]);
    assert!(!revoked(&d).contains(&e) && !revoked(&d).contains(&g) && !revoked(&d).contains(&h));
    assert!(matches!(
        d.revoke_access_token(h + 1000, now),
        Err(DirectoryError::NotFound(_))
    ));
}

/// Two certified users, `alice` and `bob`, and their ids.
fn alice_and_bob(
    d: &impl Directory,
) -> (crate::domain::model::UserId, crate::domain::model::UserId) {
    add_user(d, "alice", true);
    add_user(d, "bob", true);
    let id = |name: &str| d.user_by_name(name).unwrap().unwrap().id;
    (id("alice"), id("bob"))
}
