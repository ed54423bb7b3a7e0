//! The directory suite's federated-identity tests: a (provider, subject) pair links to
//! one user once and for good, is found by the exact pair only, and a user's links are
//! listed (and every user's, for the administrators' page).

use std::collections::BTreeMap;

use super::*;
use crate::app::federated_sign_in::SignInError;
use crate::domain::audit::AuditFilter;
use crate::domain::federation::people::Refusal;
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

    assert_eq!(
        d.identity_user("corp", "u-0001").unwrap().map(|u| u.id),
        Some(alice)
    );
    assert_eq!(
        d.identity_user("other", "u-0001").unwrap().map(|u| u.id),
        Some(bob)
    );
    // The exact pair only: no case folding, no prefix.
    assert_eq!(
        d.identity_user("corp", "U-0001").unwrap().map(|u| u.id),
        None
    );
    assert_eq!(
        d.identity_user("corp", "u-000").unwrap().map(|u| u.id),
        None
    );
    assert_eq!(
        d.identity_user("Corp", "u-0001").unwrap().map(|u| u.id),
        None
    );

    // A linked pair is never re-pointed, to another user or the same one.
    assert!(matches!(
        d.link_identity(&identity("corp", "u-0001", bob, 13)),
        Err(DirectoryError::Conflict(_))
    ));
    assert!(matches!(
        d.link_identity(&identity("corp", "u-0001", alice, 13)),
        Err(DirectoryError::Conflict(_))
    ));
    assert_eq!(
        d.identity_user("corp", "u-0001").unwrap().map(|u| u.id),
        Some(alice)
    );

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
    assert_eq!(
        d.identity_user("corp", "u-0002").unwrap().map(|u| u.id),
        Some(alice)
    );
    assert_eq!(
        d.identities_of(bob).unwrap(),
        vec![identity("other", "u-0001", bob, 11)]
    );
}

mod sign_in {
    //! `app::federated_sign_in` on the real directory.

    use super::*;
    use crate::app::federated_sign_in::{sign_in, SignIn};
    use crate::domain::federation::people::{Person, ProviderRules};
    pub use crate::domain::ports::{AuditLog, CredentialStore, TeamAdmin};

    pub fn mapping() -> BTreeMap<String, String> {
        [("eng", "developers"), ("ops", "operators")]
            .map(|(g, t)| (g.to_string(), t.to_string()))
            .into()
    }

    pub fn rules(mapping: &BTreeMap<String, String>, create_users: bool) -> ProviderRules<'_> {
        ProviderRules {
            name: "corp",
            username_claim: "preferred_username",
            email_claim: "email",
            team_mapping: mapping,
            create_users,
        }
    }

    pub fn person(sub: &str, name: &str, email: &str, verified: bool, groups: &[&str]) -> Person {
        let claims = [
            ("sub", sub),
            ("preferred_username", name),
            ("email", email),
            ("email_verified", if verified { "true" } else { "false" }),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into();
        Person {
            subject: sub.into(),
            claims,
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    pub fn run(
        d: &impl Directory,
        rules: ProviderRules<'_>,
        person: Person,
        now: i64,
    ) -> Result<crate::domain::model::User, SignInError> {
        sign_in(
            d,
            SignIn {
                rules,
                person,
                client_ip: None,
                now,
            },
        )
    }

    pub fn kinds(d: &impl Directory, user: &str) -> Vec<String> {
        d.query(&AuditFilter {
            user: Some(user.into()),
            limit: 100,
            ..AuditFilter::default()
        })
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
    }

    pub fn teams_of(d: &impl Directory, name: &str) -> usize {
        let id = d.user_by_name(name).unwrap().unwrap().id;
        d.teams_of(id, Pace::MayBlock).unwrap().len()
    }

    pub fn team(d: &impl Directory, name: &str) {
        d.add_team(&crate::domain::model::TeamName::parse(name).unwrap())
            .unwrap();
    }
}

pub(super) fn a_first_sign_in_creates_the_user_and_teams_follow_the_groups<B: Backend>() {
    use sign_in::*;
    let (_place, d) = B::open();
    team(&d, "developers");
    team(&d, "operators");
    team(&d, "auditors");
    let m = mapping();

    let carol = run(
        &d,
        rules(&m, true),
        person("u-7", "carol", "carol@example.org", true, &["eng", "other"]),
        100,
    )
    .unwrap();
    assert_eq!(carol.name, "carol");
    assert_eq!(carol.email.as_deref(), Some("carol@example.org"));
    assert!(!carol.certified && !carol.admin && !carol.disabled);
    // Password-less: a sign-in with the provider is the only way in.
    let creds = d
        .user_credentials("carol", Pace::MayBlock)
        .unwrap()
        .unwrap();
    assert!(creds.password_hash.is_none());
    assert_eq!(teams_of(&d, "carol"), 1);
    let kinds = kinds(&d, "carol");
    for kind in ["user_added", "identity_linked", "federated_sign_in"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind}: {kinds:?}");
    }

    // A hand-given team the mapping does not name stays; the groups move the rest.
    d.add_team_member("auditors", "carol").unwrap();
    let again = run(
        &d,
        rules(&m, true),
        // The name claim changed: the subject decides, no new account.
        person("u-7", "carol2", "carol@example.org", true, &["ops"]),
        200,
    )
    .unwrap();
    assert_eq!(again.id, carol.id);
    assert!(d.user_by_name("carol2").unwrap().is_none());
    let teams = d.teams_of(carol.id, Pace::MayBlock).unwrap();
    assert_eq!(teams.len(), 2, "operators and auditors: {teams:?}");
    // Team changes are recorded under the team, the provider acting.
    let team_records: Vec<_> = d
        .query(&AuditFilter {
            limit: 100,
            ..AuditFilter::default()
        })
        .unwrap()
        .into_iter()
        .filter(|e| e.kind.starts_with("team_member_") && e.actor == "oidc:corp")
        .map(|e| (e.kind, e.subject))
        .collect();
    assert_eq!(
        team_records,
        vec![
            (
                "team_member_removed".to_string(),
                "team:developers".to_string()
            ),
            (
                "team_member_added".to_string(),
                "team:operators".to_string()
            ),
            (
                "team_member_added".to_string(),
                "team:developers".to_string()
            ),
        ]
    );

    // Without create_users an unknown subject is refused, and so is a clash of names.
    let refused = run(
        &d,
        rules(&m, false),
        person("u-8", "dave", "dave@example.org", true, &[]),
        300,
    );
    assert!(matches!(
        refused,
        Err(SignInError::Refused(Refusal::NoAccount { .. }))
    ));
    let clash = run(
        &d,
        rules(&m, true),
        person("u-9", "carol", "other@example.org", true, &[]),
        300,
    );
    assert!(
        matches!(clash, Err(SignInError::Refused(Refusal::NameTaken { .. }))),
        "{clash:?}"
    );
}

pub(super) fn a_local_account_is_linked_by_a_verified_email_only_and_a_disabled_one_refused<
    B: Backend,
>() {
    use sign_in::*;
    let (_place, d) = B::open();
    let request = users::UserRequest {
        name: "alice",
        password: Some("correct horse battery"),
        certified: true,
        email: Some("alice@example.org"),
        ..Default::default()
    };
    users::add(&d, &operator(), request, 1).unwrap();
    let m = BTreeMap::new();

    let unverified = run(
        &d,
        rules(&m, true),
        person("u-1", "alice-corp", "Alice@Example.org", false, &[]),
        10,
    );
    assert!(matches!(
        unverified,
        Err(SignInError::Refused(Refusal::EmailUnverified { .. }))
    ));
    assert!(kinds(&d, "alice")
        .iter()
        .any(|k| k == "federated_sign_in_refused"));
    assert!(d.identity_user("corp", "u-1").unwrap().is_none());
    assert!(d.user_by_name("alice-corp").unwrap().is_none());

    let linked = run(
        &d,
        rules(&m, false),
        person("u-1", "alice-corp", "alice@example.org", true, &[]),
        20,
    )
    .unwrap();
    assert_eq!(linked.name, "alice");
    assert!(kinds(&d, "alice").iter().any(|k| k == "identity_linked"));
    assert_eq!(
        d.identity_user("corp", "u-1").unwrap().unwrap().name,
        "alice"
    );

    // Another subject of the same provider with her address is not linked to her too.
    let second = run(
        &d,
        rules(&m, true),
        person("u-2", "mallory", "alice@example.org", true, &[]),
        30,
    );
    assert!(matches!(
        second,
        Err(SignInError::Refused(Refusal::LinkedElsewhere { .. }))
    ));

    disable(&d, "alice", 40);
    let disabled = run(
        &d,
        rules(&m, false),
        person("u-1", "alice-corp", "alice@example.org", true, &[]),
        50,
    );
    assert!(matches!(
        disabled,
        Err(SignInError::Refused(Refusal::Disabled))
    ));
}
