//! The Synapse backend (`infra::synapse`) against the contract server (`tests/synapse`,
//! the reference's shapes and quirks): credentials, the facts each answer becomes, the
//! caches (one upstream call for 100 parallel requests; a permission change honoured
//! after the TTL), and the failure policy (503, 429 without Retry-After, a hanging
//! upstream within the deadline, the circuit breaker), all failing closed.

mod synapse;

use std::sync::Arc;
use std::time::{Duration, Instant};

use regauth::domain::authz::{ProjectFacts, RepoFacts, RepoState};
use regauth::domain::model::{AccessSet, Principal, ScopeSet, UserId};
use regauth::domain::ports::{
    CallerFacts, DirectoryError, Pace, RemoteAuthentication, RemoteRefusal,
};
use regauth::domain::repo_name::RepoPath;
use regauth::infra::synapse::backend::{SynapseBackend, SynapseOptions};
use regauth::infra::synapse::client::ClientLimits;
use synapse::{Endpoint, Failure, FakeSynapse};

fn backend(fake: &FakeSynapse) -> SynapseBackend {
    let mut o = SynapseOptions::new(&fake.base_url(), fake.registry_host());
    o.limits = ClientLimits {
        deadline: Duration::from_secs(2),
        per_user: 2,
        total: 64,
        breaker_after: 5,
        breaker_open: Duration::from_secs(1),
    };
    o.permission_ttl = Duration::from_secs(1);
    o.jwks_refetch = Duration::from_millis(300);
    SynapseBackend::new(&o).expect("backend")
}

fn path(p: &str, name: &str) -> RepoPath {
    RepoPath::parse(&format!("{p}/{name}")).expect("path")
}

/// What the facts let the caller do on its own entry.
fn access_of(facts: &RepoFacts, user: i64) -> (Option<AccessSet>, Option<AccessSet>) {
    let me = Principal::User(UserId(user));
    let project = match &facts.project {
        ProjectFacts::Project { acl, .. } => Some(acl.entry(&me)),
        _ => None,
    };
    let repo = match &facts.repo {
        RepoState::Managed {
            local_acl: Some(acl),
            ..
        } => Some(acl.entry(&me)),
        _ => None,
    };
    (project, repo)
}

/// alice (certified) owns project p with an existing repository `tool`.
struct World {
    fake: FakeSynapse,
    alice: u64,
    p: String,
}

fn world() -> World {
    let fake = FakeSynapse::start();
    let alice = fake.add_user("alice", "alice's password");
    fake.set_certified(alice, true);
    let p = fake.add_project("tools");
    fake.set_owner(&p, alice);
    fake.grant(&p, alice, &synapse::EVERY_ACCESS);
    fake.add_docker_repo(&p, "tool");
    World { fake, alice, p }
}

#[test]
fn a_password_login_yields_the_user_and_the_facts_of_its_permissions() {
    let w = world();
    let b = backend(&w.fake);
    let who = b
        .password("alice", "alice's password", Pace::MayBlock)
        .expect("login");
    assert_eq!(who.user_id, w.alice as i64);
    assert_eq!(who.scopes, ScopeSet::all());
    let facts = b
        .repository_facts_as(&who, &path(&w.p, "tool"), Pace::MayBlock)
        .unwrap();
    let (_, repo) = access_of(&facts, who.user_id);
    let repo = repo.expect("an existing repository with the caller's entry");
    assert!(repo.contains(AccessSet::DOWNLOAD | AccessSet::UPDATE | AccessSet::DELETE));
    // A new repository: the project's canAddChild is CREATE.
    let facts = b
        .repository_facts_as(&who, &path(&w.p, "new"), Pace::MayBlock)
        .unwrap();
    assert_eq!(facts.repo, RepoState::Unknown);
    assert!(access_of(&facts, who.user_id)
        .0
        .unwrap()
        .contains(AccessSet::CREATE));
    // Wrong password and unknown user alike.
    assert_eq!(
        b.password("alice", "nope", Pace::MayBlock).unwrap_err(),
        RemoteRefusal::Refused
    );
    assert_eq!(
        b.password("nobody", "nope", Pace::MayBlock).unwrap_err(),
        RemoteRefusal::Refused
    );
}

#[test]
fn an_uncertified_editor_may_not_push_and_a_stranger_gets_nothing() {
    let w = world();
    let bob = w.fake.add_user("bob", "bob's password");
    w.fake
        .grant(&w.p, bob, &["READ", "DOWNLOAD", "UPDATE", "CREATE"]);
    let b = backend(&w.fake);
    let who = b.password("bob", "bob's password", Pace::MayBlock).unwrap();
    let facts = b
        .repository_facts_as(&who, &path(&w.p, "tool"), Pace::MayBlock)
        .unwrap();
    let repo = access_of(&facts, who.user_id).1.unwrap();
    assert!(repo.contains(AccessSet::DOWNLOAD));
    assert!(
        !repo.contains(AccessSet::UPDATE),
        "canEdit needs certification"
    );
    let facts = b
        .repository_facts_as(&who, &path(&w.p, "new"), Pace::MayBlock)
        .unwrap();
    assert!(!access_of(&facts, who.user_id)
        .0
        .unwrap()
        .contains(AccessSet::CREATE));
    let carol = w.fake.add_user("carol", "carol's password");
    let _ = carol;
    let who = b
        .password("carol", "carol's password", Pace::MayBlock)
        .unwrap();
    let facts = b
        .repository_facts_as(&who, &path(&w.p, "tool"), Pace::MayBlock)
        .unwrap();
    assert!(!access_of(&facts, who.user_id)
        .1
        .unwrap_or_default()
        .contains(AccessSet::DOWNLOAD));
}

#[test]
fn personal_access_tokens_expired_and_revoked_tokens() {
    let w = world();
    let b = backend(&w.fake);
    // A PAT has no exp: accepted, with its own scopes.
    let pat = w.fake.pat(w.alice, &["view", "download"]);
    let who = b.token(&pat, Pace::MayBlock).expect("PAT without exp");
    assert_eq!(who.scopes, ScopeSet::VIEW | ScopeSet::DOWNLOAD);
    assert_eq!(who.bearer, pat);
    // An expired OIDC access token: refused here, without asking Synapse.
    let expired = w.fake.expired_token(w.alice);
    let before = w.fake.calls(Endpoint::AuthenticatedOn);
    assert_eq!(
        b.token(&expired, Pace::MayBlock).unwrap_err(),
        RemoteRefusal::Refused
    );
    assert_eq!(w.fake.calls(Endpoint::AuthenticatedOn), before);
    // Revoked at Synapse: authenticatedOn 401 (a fresh token, not yet confirmed alive).
    let pat2 = w.fake.pat(w.alice, &["view", "download"]);
    w.fake.revoke(&pat2);
    assert_eq!(
        b.token(&pat2, Pace::MayBlock).unwrap_err(),
        RemoteRefusal::Refused
    );
    assert!(b
        .token("eyJhbGciOiJIUzI1NiJ9.e30.c2ln", Pace::MayBlock)
        .is_err());
}

#[test]
fn an_unknown_key_is_refetched_at_a_bounded_rate_and_a_rotation_is_followed() {
    let w = world();
    let b = backend(&w.fake);
    b.token(&w.fake.login_token(w.alice), Pace::MayBlock)
        .expect("the first key");
    // Rotation: a new kid is fetched once and then accepted.
    w.fake.rotate_key();
    std::thread::sleep(Duration::from_millis(350));
    b.token(&w.fake.login_token(w.alice), Pace::MayBlock)
        .expect("the rotated key");
    // A kid not (yet) published: refused; asking again at once does not refetch.
    let early = w.fake.sign_with_unpublished_key(w.alice);
    std::thread::sleep(Duration::from_millis(350));
    let fetched = w.fake.calls(Endpoint::Jwks);
    assert_eq!(
        b.token(&early, Pace::MayBlock).unwrap_err(),
        RemoteRefusal::Refused
    );
    assert_eq!(
        b.token(&early, Pace::MayBlock).unwrap_err(),
        RemoteRefusal::Refused
    );
    assert_eq!(
        w.fake.calls(Endpoint::Jwks),
        fetched + 1,
        "one refetch, not two"
    );
    // Once published (and the refetch interval passed), the same token works.
    w.fake.publish_pending_key();
    std::thread::sleep(Duration::from_millis(350));
    b.token(&early, Pace::MayBlock).expect("published now");
}

#[test]
fn two_factor_and_lock_out_say_what_to_do_and_login2_is_never_retried() {
    let w = world();
    let dave = w.fake.add_user("dave", "dave's password");
    w.fake.set_two_factor(dave, true);
    let erin = w.fake.add_user("erin", "erin's password");
    w.fake.lock_out(erin, true);
    let b = backend(&w.fake);
    assert_eq!(
        b.password("dave", "dave's password", Pace::MayBlock)
            .unwrap_err(),
        RemoteRefusal::TwoFactorRequired
    );
    assert_eq!(
        b.password("erin", "erin's password", Pace::MayBlock)
            .unwrap_err(),
        RemoteRefusal::Locked
    );
    // A 503 from login2 is an outage, and login2 is not sent twice.
    w.fake.fail(Endpoint::Login, Failure::Status(503));
    let before = w.fake.calls(Endpoint::Login);
    assert!(matches!(
        b.password("alice", "alice's password", Pace::MayBlock),
        Err(RemoteRefusal::Unanswered(DirectoryError::Backend(_)))
    ));
    assert_eq!(w.fake.calls(Endpoint::Login), before + 1);
}

#[test]
fn a_trashed_repository_is_never_taken_for_a_new_one() {
    let w = world();
    let old = w.fake.add_docker_repo(&w.p, "old");
    w.fake.trash(&old, true);
    let b = backend(&w.fake);
    let who = b
        .password("alice", "alice's password", Pace::MayBlock)
        .unwrap();
    let facts = b
        .repository_facts_as(&who, &path(&w.p, "old"), Pace::MayBlock)
        .unwrap();
    assert!(
        matches!(facts.repo, RepoState::Managed { trashed: true, .. }),
        "{facts:?}"
    );
}

#[test]
fn outages_fail_closed_within_the_deadline_and_open_the_breaker() {
    let w = world();
    let b = backend(&w.fake);
    let who = b
        .password("alice", "alice's password", Pace::MayBlock)
        .unwrap();
    let tool = path(&w.p, "tool");
    // One 429 (no Retry-After) is retried once and answered.
    w.fake
        .fail_times(Endpoint::DockerRepoId, Failure::Status(429), 1);
    assert!(b.repository_facts_as(&who, &tool, Pace::MayBlock).is_ok());
    // A hanging upstream: unavailable within the deadline, not after it.
    w.fake.fail(Endpoint::DockerRepoId, Failure::Hang);
    let started = Instant::now();
    let new = path(&w.p, "other");
    assert!(matches!(
        b.repository_facts_as(&who, &new, Pace::MayBlock),
        Err(DirectoryError::Backend(_))
    ));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // 503s: each is unavailable; after five failures the breaker answers at once.
    w.fake.fail(Endpoint::DockerRepoId, Failure::Status(503));
    for i in 0..5 {
        let p = path(&w.p, &format!("r{i}"));
        assert!(b.repository_facts_as(&who, &p, Pace::MayBlock).is_err());
    }
    let calls = w.fake.calls(Endpoint::DockerRepoId);
    assert!(b
        .repository_facts_as(&who, &path(&w.p, "r9"), Pace::MayBlock)
        .is_err());
    assert_eq!(
        w.fake.calls(Endpoint::DockerRepoId),
        calls,
        "the breaker is open"
    );
    // Garbage is an outage too, never a denial cached as such.
    w.fake.fail(Endpoint::DockerRepoId, Failure::Garbage);
    std::thread::sleep(Duration::from_millis(1100));
    assert!(b
        .repository_facts_as(&who, &path(&w.p, "g"), Pace::MayBlock)
        .is_err());
    w.fake.fail(Endpoint::DockerRepoId, Failure::None);
    std::thread::sleep(Duration::from_millis(1100));
    assert!(
        b.repository_facts_as(&who, &path(&w.p, "g"), Pace::MayBlock)
            .is_ok(),
        "recovers by itself"
    );
}

#[test]
fn a_hundred_parallel_requests_make_one_call_per_endpoint_and_changes_show_after_the_ttl() {
    let w = world();
    let bob = w.fake.add_user("bob", "bob's password");
    w.fake.set_certified(bob, true);
    w.fake.grant(&w.p, bob, &["READ"]);
    let b = Arc::new(backend(&w.fake));
    let who = b.password("bob", "bob's password", Pace::MayBlock).unwrap();
    w.fake.reset_counters();
    let tool = path(&w.p, "tool");
    let threads: Vec<_> = (0..100)
        .map(|_| {
            let (b, who, tool) = (b.clone(), who.clone(), tool.clone());
            std::thread::spawn(move || b.repository_facts_as(&who, &tool, Pace::MayBlock).unwrap())
        })
        .collect();
    let facts: Vec<RepoFacts> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(facts.iter().all(|f| f == &facts[0]));
    assert_eq!(w.fake.calls(Endpoint::DockerRepoId), 1);
    assert_eq!(w.fake.calls(Endpoint::Permissions), 1);
    assert!(!access_of(&facts[0], who.user_id)
        .1
        .unwrap()
        .contains(AccessSet::DOWNLOAD));
    // bob gets DOWNLOAD upstream: honoured once the permission entry's TTL (1 s) ends.
    w.fake.grant(&w.p, bob, &["READ", "DOWNLOAD"]);
    std::thread::sleep(Duration::from_millis(1100));
    let after = b.repository_facts_as(&who, &tool, Pace::MayBlock).unwrap();
    assert!(access_of(&after, who.user_id)
        .1
        .unwrap()
        .contains(AccessSet::DOWNLOAD));
}

#[test]
fn calls_in_flight_per_user_stay_below_synapses_limit() {
    let w = world();
    for i in 0..10 {
        w.fake.add_docker_repo(&w.p, &format!("r{i}"));
    }
    w.fake
        .delay(Endpoint::Permissions, Duration::from_millis(100));
    let b = Arc::new(backend(&w.fake));
    let who = b
        .password("alice", "alice's password", Pace::MayBlock)
        .unwrap();
    let threads: Vec<_> = (0..10)
        .map(|i| {
            let (b, who, p) = (b.clone(), who.clone(), path(&w.p, &format!("r{i}")));
            std::thread::spawn(move || b.repository_facts_as(&who, &p, Pace::MayBlock).unwrap())
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(
        w.fake.max_in_flight_for(w.alice) <= 2,
        "{}",
        w.fake.max_in_flight_for(w.alice)
    );
}

#[test]
fn calls_in_flight_in_all_stay_within_their_bound() {
    let w = world();
    let users: Vec<String> = (0..6)
        .map(|i| {
            let name = format!("u{i}");
            let id = w.fake.add_user(&name, "a password");
            w.fake.grant(&w.p, id, &["READ", "DOWNLOAD"]);
            name
        })
        .collect();
    let mut o = SynapseOptions::new(&w.fake.base_url(), w.fake.registry_host());
    o.limits.deadline = Duration::from_secs(3);
    o.limits.total = 2;
    let b = Arc::new(SynapseBackend::new(&o).expect("backend"));
    let who: Vec<_> = users
        .iter()
        .map(|u| b.password(u, "a password", Pace::MayBlock).unwrap())
        .collect();
    w.fake
        .delay(Endpoint::DockerRepoId, Duration::from_millis(200));
    let tool = path(&w.p, "tool");
    let threads: Vec<_> = who
        .into_iter()
        .map(|who| {
            let (b, tool) = (b.clone(), tool.clone());
            std::thread::spawn(move || b.repository_facts_as(&who, &tool, Pace::MayBlock).unwrap())
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(w.fake.max_in_flight(Endpoint::DockerRepoId), 2);
}
