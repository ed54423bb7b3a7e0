//! The directory suite's federated-identity tests: a (provider, subject) pair links to
//! one user once and for good, is found by the exact pair only, and a user's links are
//! listed (and every user's, for the administrators' page).

use super::*;
use crate::domain::ports::{FederatedIdentities, FederatedIdentity};

fn identity(
    provider: &str,
    subject: &str,
    user: crate::domain::model::UserId,
    at: i64,
) -> FederatedIdentity {
    FederatedIdentity {
        provider: provider.into(),
        subject: subject.into(),
        user,
        linked_at: at,
    }
}

pub(super) fn an_identity_links_once_and_is_found_by_its_exact_pair<B: Backend>() {
    let (place, d) = B::open();
    add_user(&d, "alice", true);
    add_user(&d, "bob", true);
    let alice = d.user_by_name("alice").unwrap().unwrap().id;
    let bob = d.user_by_name("bob").unwrap().unwrap().id;

    d.link_identity(&identity("corp", "u-0001", alice, 10))
        .unwrap();
    d.link_identity(&identity("other", "u-0001", bob, 11))
        .unwrap();
    d.link_identity(&identity("corp", "u-0002", alice, 12))
        .unwrap();

    assert_eq!(d.identity_user("corp", "u-0001").unwrap(), Some(alice));
    assert_eq!(d.identity_user("other", "u-0001").unwrap(), Some(bob));
    // The exact pair only: no case folding, no prefix.
    assert_eq!(d.identity_user("corp", "U-0001").unwrap(), None);
    assert_eq!(d.identity_user("corp", "u-000").unwrap(), None);
    assert_eq!(d.identity_user("Corp", "u-0001").unwrap(), None);

    // A linked pair is never re-pointed, to another user or the same one.
    assert!(matches!(
        d.link_identity(&identity("corp", "u-0001", bob, 13)),
        Err(DirectoryError::Conflict(_))
    ));
    assert!(matches!(
        d.link_identity(&identity("corp", "u-0001", alice, 13)),
        Err(DirectoryError::Conflict(_))
    ));
    assert_eq!(d.identity_user("corp", "u-0001").unwrap(), Some(alice));

    // An unknown user cannot be linked.
    assert!(matches!(
        d.link_identity(&identity(
            "corp",
            "u-0009",
            crate::domain::model::UserId(999_999),
            14
        )),
        Err(DirectoryError::NotFound(_))
    ));

    assert_eq!(
        d.identities_of(alice).unwrap(),
        vec![
            identity("corp", "u-0001", alice, 10),
            identity("corp", "u-0002", alice, 12)
        ]
    );
    assert_eq!(d.all_identities().unwrap().len(), 3);

    // Kept across a reopen.
    drop(d);
    let d = B::reopen(&place);
    assert_eq!(d.identity_user("corp", "u-0002").unwrap(), Some(alice));
    assert_eq!(
        d.identities_of(bob).unwrap(),
        vec![identity("other", "u-0001", bob, 11)]
    );
}
