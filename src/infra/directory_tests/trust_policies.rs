//! The directory suite's trust-policy tests: stored, listed and deleted per project, read
//! by exact issuer on the token path (at the caller's pace), and every change moving
//! the change version so a cache in front drops a removed policy at once.

use super::*;
use crate::domain::model::{
    ClaimCondition, ClaimMatch, NewTrustPolicy, TrustPolicy, UserId, WorkloadActions,
};
use crate::domain::ports::TrustPolicyStore;

const GITHUB: &str = "https://token.actions.githubusercontent.com";
const GITLAB: &str = "https://gitlab.com";

/// What each engine does with the token path's read on the event loop.
pub(super) trait AtInline {
    /// A local file answers; a server across the network says `WouldBlock`.
    const ANSWERS: bool;
}
impl AtInline for Sqlite {
    const ANSWERS: bool = true;
}
impl AtInline for Postgres {
    const ANSWERS: bool = false;
}

fn condition(claim: &str, matcher: ClaimMatch) -> ClaimCondition {
    ClaimCondition {
        claim: claim.into(),
        matcher,
    }
}

fn policy(project: EntityId, creator: UserId, issuer: &str, at: i64) -> NewTrustPolicy {
    NewTrustPolicy {
        project,
        creator,
        issuer: issuer.into(),
        audience: "https://registry.example.org".into(),
        conditions: vec![
            condition("repository_id", ClaimMatch::Exact("892341".into())),
            condition("ref", ClaimMatch::Exact("refs/heads/main".into())),
        ],
        repositories: "tool".into(),
        actions: WorkloadActions::PULL | WorkloadActions::PUSH,
        max_lifetime_secs: 900,
        created_at: at,
    }
}

/// A user `alice` and two projects she manages.
fn alice_with_two_projects(d: &impl Directory) -> (UserId, EntityId, EntityId) {
    add_user(d, "alice", true);
    let alice = d.user_by_name("alice").unwrap().unwrap().id;
    let p = projects::add(d, &operator(), "alpha", "alice", None, 1).unwrap();
    let q = projects::add(d, &operator(), "beta", "alice", None, 1).unwrap();
    (alice, p, q)
}

pub(super) fn trust_policies_are_stored_listed_oldest_first_and_deleted<B: Backend>() {
    let (place, d) = B::open();
    let (alice, p, q) = alice_with_two_projects(&d);
    let a = d
        .create_trust_policy(&policy(p, alice, GITHUB, 10))
        .unwrap();
    // Every kind of condition, nested claims and awkward text come back as they went in.
    let mut tricky = policy(p, alice, GITLAB, 11);
    tricky.conditions = vec![
        condition(
            "sub",
            ClaimMatch::Glob("project_path:org/*:ref_type:branch:ref:main".into()),
        ),
        condition(
            "kubernetes.io.serviceaccount.uid",
            ClaimMatch::Exact("0b5d-\"quoted\"-\\back\\-é-✓".into()),
        ),
        condition("namespace_id", ClaimMatch::Exact("".into())),
    ];
    tricky.repositories = "tool-*".into();
    tricky.actions = WorkloadActions::PULL;
    tricky.max_lifetime_secs = u32::MAX;
    let b = d.create_trust_policy(&tricky).unwrap();
    let mut bare = policy(p, alice, GITHUB, 9);
    bare.conditions = vec![];
    bare.actions = WorkloadActions::PUSH;
    let c = d.create_trust_policy(&bare).unwrap();
    let other = d
        .create_trust_policy(&policy(q, alice, GITHUB, 12))
        .unwrap();
    assert_eq!(b.policy, tricky);
    assert!(a.id < b.id && b.id < c.id && c.id < other.id);

    // Oldest first: in the order they were made.
    assert_eq!(
        d.list_trust_policies(p).unwrap(),
        vec![a.clone(), b.clone(), c.clone()]
    );
    assert_eq!(d.list_trust_policies(q).unwrap(), vec![other.clone()]);

    // Another project's policy id is not one of this project's.
    for (project, id) in [(p, other.id), (q, a.id), (p, other.id + 1000)] {
        match d.delete_trust_policy(project, id) {
            Err(DirectoryError::NotFound(m)) => assert!(m.contains(&id.to_string()), "{m}"),
            r => panic!("deleting {id} of {project}: {r:?}"),
        }
    }
    assert_eq!(d.list_trust_policies(q).unwrap(), vec![other.clone()]);
    d.delete_trust_policy(p, b.id).unwrap();
    assert!(matches!(
        d.delete_trust_policy(p, b.id),
        Err(DirectoryError::NotFound(_))
    ));
    assert_eq!(
        d.list_trust_policies(p).unwrap(),
        vec![a.clone(), c.clone()]
    );

    // Kept, as stored, across a restart (or by another replica).
    drop(d);
    let d = B::reopen(&place);
    assert_eq!(d.list_trust_policies(p).unwrap(), vec![a, c]);
    assert_eq!(d.list_trust_policies(q).unwrap(), vec![other.clone()]);

    // An id is never given again, not even the newest one's after it is deleted (the
    // audit trail names policies by id).
    d.delete_trust_policy(q, other.id).unwrap();
    let next = d
        .create_trust_policy(&policy(q, alice, GITHUB, 13))
        .unwrap();
    assert!(next.id > other.id, "{} after {}", next.id, other.id);
}

pub(super) fn a_trust_policy_needs_an_existing_project_and_creator<B: Backend>() {
    let (_t, d) = B::open();
    let (alice, p, _) = alice_with_two_projects(&d);
    record(&d, &push("t1", &format!("{p}/tool"), Some("v1"), "a", 10));
    let managed = d.list_repositories(p).unwrap()[0].id;
    let ours = vec!["registry.example.org".to_string()];
    let external = external::add(&d, &operator(), p, "quay.io/org/x", &ours, 1)
        .unwrap()
        .id;
    let v = d.change_version(Pace::MayBlock).unwrap();
    for not_a_project in [EntityId(999_999), managed, external] {
        match d.create_trust_policy(&policy(not_a_project, alice, GITHUB, 20)) {
            Err(DirectoryError::NotFound(m)) => {
                assert!(m.contains(&not_a_project.to_string()), "{m}")
            }
            r => panic!("a policy on {not_a_project}: {r:?}"),
        }
    }
    assert!(matches!(
        d.create_trust_policy(&policy(p, UserId(alice.0 + 1000), GITHUB, 20)),
        Err(DirectoryError::NotFound(_))
    ));
    // Nothing was written, nothing moved.
    assert!(d
        .trust_policies_for_issuer(GITHUB, Pace::MayBlock)
        .unwrap()
        .is_empty());
    assert!(d.list_trust_policies(managed).unwrap().is_empty());
    assert_eq!(d.change_version(Pace::MayBlock).unwrap(), v);
}

pub(super) fn trust_policies_for_issuer_match_it_exactly<B: Backend + AtInline>() {
    let (_t, d) = B::open();
    let (alice, p, q) = alice_with_two_projects(&d);
    let gh_p = d.create_trust_policy(&policy(p, alice, GITHUB, 1)).unwrap();
    let gl = d.create_trust_policy(&policy(p, alice, GITLAB, 2)).unwrap();
    let group = format!("{GITLAB}/group");
    let gl_group = d.create_trust_policy(&policy(q, alice, &group, 3)).unwrap();
    let gh_q = d.create_trust_policy(&policy(q, alice, GITHUB, 4)).unwrap();
    let for_issuer = |issuer: &str| d.trust_policies_for_issuer(issuer, Pace::MayBlock).unwrap();

    // Every project's policies naming the issuer, oldest first.
    assert_eq!(for_issuer(GITHUB), vec![gh_p.clone(), gh_q.clone()]);
    assert_eq!(for_issuer(GITLAB), vec![gl]);
    assert_eq!(for_issuer(&group), vec![gl_group]);
    // No prefix, suffix, case, pattern or padding matches.
    let upper = GITHUB.to_uppercase();
    let slash = format!("{GITHUB}/");
    let space = format!("{GITHUB} ");
    let percent = format!("{GITLAB}%");
    for near in [
        upper.as_str(),
        slash.as_str(),
        space.as_str(),
        &GITHUB[..GITHUB.len() - 1],
        "https://token.actions.githubusercontent.co_",
        percent.as_str(),
        "%",
        "*",
        "",
    ] {
        assert!(for_issuer(near).is_empty(), "{near:?} matched");
    }

    // On the event loop: a local file answers, a server across the network is not asked.
    match d.trust_policies_for_issuer(GITHUB, Pace::Inline) {
        Ok(found) if B::ANSWERS => assert_eq!(found, vec![gh_p, gh_q]),
        Err(DirectoryError::WouldBlock) if !B::ANSWERS => {}
        other => panic!("inline: {other:?}"),
    }
}

pub(super) fn a_policy_change_moves_the_version_and_a_cache_drops_a_removed_one<B: Backend>() {
    use crate::infra::cache::CachedDirectory;
    use std::sync::Arc;
    let (_t, d) = B::open();
    let (alice, p, _) = alice_with_two_projects(&d);
    let d = Arc::new(d);
    let cached = CachedDirectory::new(d.clone(), std::time::Duration::ZERO);
    let via_cache = || {
        cached
            .trust_policies_for_issuer(GITHUB, Pace::MayBlock)
            .unwrap()
    };
    assert!(via_cache().is_empty());

    let v0 = d.change_version(Pace::MayBlock).unwrap();
    let made: TrustPolicy = d.create_trust_policy(&policy(p, alice, GITHUB, 5)).unwrap();
    let v1 = d.change_version(Pace::MayBlock).unwrap();
    assert!(v1 > v0, "creating moved the version");
    assert_eq!(via_cache(), vec![made.clone()], "a new policy is seen");
    assert_eq!(via_cache(), vec![made.clone()]);

    d.delete_trust_policy(p, made.id).unwrap();
    assert!(
        d.change_version(Pace::MayBlock).unwrap() > v1,
        "deleting moved the version"
    );
    assert!(
        via_cache().is_empty(),
        "a removed policy is refused at once"
    );
}
