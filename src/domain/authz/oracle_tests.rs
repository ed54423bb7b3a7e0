//! `decide` against an oracle written straight from `docs/authorization-rules.md`
//! ("Actions granted per requested scope"), in another shape: for every action an
//! ordered list of rows `(condition, granted)` read top to bottom, the first match
//! deciding, the way one reads the contract's table. The oracle works out the effective
//! ACL, the trash and who an ACL entry is for from the raw facts itself, and shares no
//! code with `token_rules` or `sharing`.
//!
//! Where the contract is silent, the oracle refuses, and the row says so (`gap:`).
//!
//! - `decide_agrees_with_the_contract_oracle`: 100,000 random callers, facts and action
//!   lists.
//! - `every_row_of_the_contract_is_reached`: every combination of the discrete facts,
//!   with a fixed set of ACL shapes, and a check that each row of the oracle decided at
//!   least one case.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::*;
use crate::domain::model::{AccessSet, Acl, Principal, ScopeSet, TeamId, UserId};

// ---------------------------------------------------------------------------------
// The oracle
// ---------------------------------------------------------------------------------

/// The first path segment, as the rows speak of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum P {
    Missing,
    NotAProject,
    Live,
    Trashed,
}

/// What the rows look at: the caller, its credential and the repository, with the
/// effective ACL already read for this caller.
#[derive(Debug, Clone, Copy)]
struct Seen {
    anonymous: bool,
    certified: bool,
    admin: bool,
    view: bool,
    download: bool,
    modify: bool,
    path_valid: bool,
    p: P,
    r_exists: bool,
    /// "R or P in trash".
    in_trash: bool,
    /// Everything the effective ACL gives this user: its own entry, its teams',
    /// `authenticated`'s and `public`'s.
    eff_user: AccessSet,
    /// What the effective ACL gives `public`.
    eff_public: AccessSet,
    /// Everything P's own ACL gives this user (what "CREATE on P" reads).
    on_p: AccessSet,
}

struct Row {
    /// The contract's row, as a label for messages and for the coverage check.
    row: &'static str,
    when: fn(&Seen) -> bool,
    grants: &'static [&'static str],
}

const NOTHING: &[&str] = &[];

static PULL: &[Row] = &[
    Row {
        row: "pull | credential lacks `download` scope | nothing",
        when: |s| !s.download,
        grants: NOTHING,
    },
    Row {
        row: "pull | R or P in trash | nothing",
        when: |s| s.in_trash,
        grants: NOTHING,
    },
    Row {
        row: "pull | R unknown (never pushed; an invalid path names none) | nothing",
        when: |s| !s.r_exists,
        grants: NOTHING,
    },
    Row {
        row: "gap: pull | R exists but P is missing or not a project | nothing",
        when: |s| matches!(s.p, P::Missing | P::NotAProject),
        grants: NOTHING,
    },
    Row {
        row: "pull | caller is admin | pull",
        when: |s| s.admin,
        grants: &["pull"],
    },
    Row {
        row: "pull | effective ACL gives the (signed-in) caller DOWNLOAD | pull",
        when: |s| !s.anonymous && s.eff_user.contains(AccessSet::DOWNLOAD),
        grants: &["pull"],
    },
    Row {
        row: "pull | anonymous and effective ACL gives `public` DOWNLOAD | pull",
        when: |s| s.anonymous && s.eff_public.contains(AccessSet::DOWNLOAD),
        grants: &["pull"],
    },
    Row {
        row: "pull | otherwise | nothing",
        when: |_| true,
        grants: NOTHING,
    },
];

static PUSH: &[Row] = &[
    Row {
        row: "push | credential lacks `modify` or `download` scope | nothing",
        when: |s| !s.modify || !s.download,
        grants: NOTHING,
    },
    Row {
        row: "push | R or P in trash | nothing",
        when: |s| s.in_trash,
        grants: NOTHING,
    },
    Row {
        row: "push | anonymous | nothing",
        when: |s| s.anonymous,
        grants: NOTHING,
    },
    Row {
        row: "push | caller not certified and not admin | nothing",
        when: |s| !s.certified && !s.admin,
        grants: NOTHING,
    },
    Row {
        row: "gap: push, R exists | P is missing or not a project | nothing",
        when: |s| s.r_exists && matches!(s.p, P::Missing | P::NotAProject),
        grants: NOTHING,
    },
    Row {
        row: "push, R exists | certified and UPDATE in effective ACL, or admin | push",
        when: |s| {
            s.r_exists && ((s.certified && s.eff_user.contains(AccessSet::UPDATE)) || s.admin)
        },
        grants: &["push"],
    },
    Row {
        row: "push, R exists | otherwise | nothing",
        when: |s| s.r_exists,
        grants: NOTHING,
    },
    Row {
        row: "push, R new | path invalid | nothing",
        when: |s| !s.path_valid,
        grants: NOTHING,
    },
    Row {
        row: "push, R new | P missing | nothing",
        when: |s| s.p == P::Missing,
        grants: NOTHING,
    },
    Row {
        row: "push, R new | P not a project | nothing",
        when: |s| s.p == P::NotAProject,
        grants: NOTHING,
    },
    // "push, R new | P in trash | nothing" is here in the contract too; the trash row
    // above already refuses it (a repository whose project is in the trash counts as in
    // the trash), so it can never decide and the coverage check would flag it.
    Row {
        row: "push, R new | certified and CREATE on P, or admin | push and pull",
        when: |s| (s.certified && s.on_p.contains(AccessSet::CREATE)) || s.admin,
        grants: &["push", "pull"],
    },
    Row {
        row: "push, R new | otherwise | nothing",
        when: |_| true,
        grants: NOTHING,
    },
];

static DELETE: &[Row] = &[
    Row {
        row: "delete | in trash | nothing",
        when: |s| s.in_trash,
        grants: NOTHING,
    },
    Row {
        row: "gap: delete | R unknown (nothing to delete; an invalid path names none) | nothing",
        when: |s| !s.r_exists,
        grants: NOTHING,
    },
    Row {
        row: "gap: delete | R exists but P is missing or not a project | nothing",
        when: |s| matches!(s.p, P::Missing | P::NotAProject),
        grants: NOTHING,
    },
    // Read as for push: the credential's scope limits admins too.
    Row {
        row: "delete | credential lacks `modify` scope | nothing",
        when: |s| !s.modify,
        grants: NOTHING,
    },
    Row {
        row: "delete | admin | delete",
        when: |s| s.admin,
        grants: &["delete"],
    },
    Row {
        row: "delete | certified and DELETE in effective ACL | delete",
        when: |s| s.certified && s.eff_user.contains(AccessSet::DELETE),
        grants: &["delete"],
    },
    Row {
        row: "delete | otherwise | nothing",
        when: |_| true,
        grants: NOTHING,
    },
];

static UNKNOWN_ACTION: &[Row] = &[Row {
    row: "unknown action, `mount`, wrong case | ignored | not granted",
    when: |_| true,
    grants: NOTHING,
}];

static CATALOG_STAR: &[Row] = &[
    Row {
        row: "registry:catalog:* | admin and `view` scope | requested actions",
        when: |s| s.admin && s.view,
        grants: &["*"],
    },
    Row {
        row: "registry:catalog:* | otherwise | nothing",
        when: |_| true,
        grants: NOTHING,
    },
];

static CATALOG_OTHER: &[Row] = &[Row {
    row: "gap: registry:catalog:<not *> | the catalog rows name `*` only | nothing",
    when: |_| true,
    grants: NOTHING,
}];

static OTHER_RESOURCE: &[Row] = &[Row {
    row: "any other resource type | - | nothing",
    when: |_| true,
    grants: NOTHING,
}];

/// Every table, for the coverage check.
static TABLES: &[&[Row]] = &[
    PULL,
    PUSH,
    DELETE,
    UNKNOWN_ACTION,
    CATALOG_STAR,
    CATALOG_OTHER,
    OTHER_RESOURCE,
];

/// The first row whose condition holds.
fn first_match(table: &'static [Row], s: &Seen) -> &'static Row {
    table
        .iter()
        .find(|r| (r.when)(s))
        .expect("every table ends with a row that always matches")
}

/// Whether an ACL entry for `p` is for this caller: "directly, via a team,
/// `authenticated`, or `public`".
fn entry_is_for(p: &Principal, caller: &Caller) -> bool {
    match (&caller.user, p) {
        (_, Principal::Public) => true,
        (None, _) => false,
        (Some(_), Principal::Authenticated) => true,
        (Some(u), Principal::User(id)) => u.id == *id,
        (Some(u), Principal::Team(t)) => u.teams.iter().any(|m| m == t),
    }
}

fn union_for(acl: Option<&Acl>, applies: impl Fn(&Principal) -> bool) -> AccessSet {
    let mut got = AccessSet::empty();
    for (p, a) in acl.map(|acl| acl.entries.as_slice()).unwrap_or_default() {
        if applies(p) {
            got = got.union(*a);
        }
    }
    got
}

/// The raw facts, read the contract's way.
fn see(caller: &Caller, target: &Target) -> Seen {
    let (path_valid, facts) = match target {
        Target::Repository(f) => (true, Some(f)),
        _ => (false, None),
    };
    let (p, p_acl) = match facts.map(|f| &f.project) {
        None | Some(ProjectFacts::Missing) => (P::Missing, None),
        Some(ProjectFacts::NotAProject) => (P::NotAProject, None),
        Some(ProjectFacts::Project {
            trashed: false,
            acl,
        }) => (P::Live, Some(acl)),
        Some(ProjectFacts::Project { trashed: true, acl }) => (P::Trashed, Some(acl)),
    };
    let (r_exists, r_trashed, local) = match facts.map(|f| &f.repo) {
        None | Some(RepoState::Unknown) => (false, false, None),
        Some(RepoState::Managed { trashed, local_acl }) => (true, *trashed, local_acl.as_ref()),
    };
    // "Effective ACL" = R's local sharing settings if it has them, else P's ACL: the
    // local settings replace P's entirely, they are never merged with it.
    let effective = if local.is_some() { local } else { p_acl };
    let user = caller.user.as_ref();
    Seen {
        anonymous: user.is_none(),
        certified: user.is_some_and(|u| u.certified),
        admin: user.is_some_and(|u| u.admin),
        view: caller.scopes.contains(ScopeSet::VIEW),
        download: caller.scopes.contains(ScopeSet::DOWNLOAD),
        modify: caller.scopes.contains(ScopeSet::MODIFY),
        path_valid,
        p,
        r_exists,
        // A repository whose project is in the trash counts as in the trash.
        in_trash: r_trashed || p == P::Trashed,
        eff_user: union_for(effective, |pr| entry_is_for(pr, caller)),
        eff_public: union_for(effective, |pr| *pr == Principal::Public),
        on_p: union_for(p_acl, |pr| entry_is_for(pr, caller)),
    }
}

/// The contract's answer for one requested action: the names it grants (before "only
/// requested actions are listed") and the rows that decided.
fn one_action(target: &Target, s: &Seen, action: &str) -> (BTreeSet<String>, Vec<&'static str>) {
    let table: &'static [Row] = match (target, action) {
        (Target::Unsupported, _) => OTHER_RESOURCE,
        (Target::Catalog, "*") => CATALOG_STAR,
        (Target::Catalog, _) => CATALOG_OTHER,
        (_, "pull") => PULL,
        (_, "push") => PUSH,
        (_, "delete") => DELETE,
        (_, "*") => {
            // `*` expands to pull, push and delete: the subset allowed, `*` itself only
            // when all three are.
            let mut names = BTreeSet::new();
            let mut rows = Vec::new();
            for part in ["pull", "push", "delete"] {
                let (n, r) = one_action(target, s, part);
                names.extend(n);
                rows.extend(r);
            }
            if ["pull", "push", "delete"]
                .iter()
                .all(|a| names.contains(*a))
            {
                names = BTreeSet::from(["*".to_string()]);
            }
            return (names, rows);
        }
        _ => UNKNOWN_ACTION,
    };
    let row = first_match(table, s);
    (
        row.grants.iter().map(|g| g.to_string()).collect(),
        vec![row.row],
    )
}

struct Expected {
    granted: BTreeSet<String>,
    /// Requested actions neither granted nor (for `*`) granted as a subset.
    denied: BTreeSet<String>,
    rows: Vec<(String, &'static str)>,
}

fn oracle(caller: &Caller, target: &Target, actions: &[String]) -> Expected {
    let s = see(caller, target);
    let requested: BTreeSet<&str> = actions.iter().map(String::as_str).collect();
    let mut granted = BTreeSet::new();
    let mut star_answered = false;
    let mut rows = Vec::new();
    for &a in &requested {
        let (names, decided_by) = one_action(target, &s, a);
        rows.extend(decided_by.into_iter().map(|r| (a.to_string(), r)));
        if a == "*" {
            // `*` answers with the granted subset.
            star_answered = !names.is_empty();
            granted.extend(names);
        } else {
            // A push on a new repository also grants `pull`, but only requested actions
            // are listed.
            granted.extend(names.into_iter().filter(|n| requested.contains(n.as_str())));
        }
    }
    let answered = |a: &str| granted.contains(a) || (a == "*" && star_answered);
    let denied = requested
        .iter()
        .filter(|a| !answered(a))
        .map(|a| a.to_string())
        .collect();
    Expected {
        granted,
        denied,
        rows,
    }
}

/// `None` when `decide` agrees with the oracle, else a description of the case.
fn disagreement(caller: &Caller, target: &Target, actions: &[String]) -> Option<String> {
    let got = decide(caller, target, actions);
    let want = oracle(caller, target, actions);
    let mut problems = Vec::new();
    let want_granted: Vec<String> = want.granted.iter().cloned().collect();
    if got.granted != want_granted {
        problems.push(format!(
            "granted: decide {:?}, contract {:?}",
            got.granted, want_granted
        ));
    }
    let mut seen = BTreeSet::new();
    for d in &got.denied {
        if !seen.insert(d.action.as_str()) {
            problems.push(format!("{:?} denied twice", d.action));
        }
        if !actions.contains(&d.action) {
            problems.push(format!("{:?} denied but never requested", d.action));
        }
    }
    let got_denied: BTreeSet<String> = seen.iter().map(|a| a.to_string()).collect();
    let want_denied: BTreeSet<String> = want.denied.iter().cloned().collect();
    if got_denied != want_denied {
        problems.push(format!(
            "denied: decide {got_denied:?}, contract {want_denied:?}"
        ));
    }
    if problems.is_empty() {
        return None;
    }
    Some(format!(
        "decide disagrees with docs/authorization-rules.md\n  {}\n  caller: {caller:?}\n  \
         target: {target:?}\n  actions: {actions:?}\n  decide: {got:?}\n  contract rows: {:#?}",
        problems.join("\n  "),
        want.rows
    ))
}

// ---------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------

const ME: UserId = Caller::ALICE;
const SOMEONE_ELSE: UserId = UserId(2);
const TEAM_POOL: [TeamId; 5] = [TeamId(10), TeamId(11), TeamId(12), TeamId(13), TeamId(14)];

fn scopes() -> impl Strategy<Value = ScopeSet> {
    (0u8..8).prop_map(ScopeSet::from_bits_truncate)
}

fn access() -> impl Strategy<Value = AccessSet> {
    (0u8..64).prop_map(AccessSet::from_bits_truncate)
}

fn caller() -> impl Strategy<Value = Caller> {
    let user = (
        any::<bool>(),
        any::<bool>(),
        proptest::collection::vec(proptest::sample::select(&TEAM_POOL[..]), 0..=3),
        scopes(),
    )
        .prop_map(|(certified, admin, teams, scopes)| {
            Caller::alice(certified, admin, teams, scopes)
        });
    prop_oneof![
        8 => user,
        2 => Just(Caller::anonymous()),
        // Not what the door builds, but the rules must still hold.
        1 => scopes().prop_map(|scopes| Caller {
            user: None,
            scopes,
            token: None,
        }),
    ]
}

fn principal() -> impl Strategy<Value = Principal> {
    prop_oneof![
        2 => Just(Principal::User(ME)),
        1 => Just(Principal::User(SOMEONE_ELSE)),
        3 => proptest::sample::select(&TEAM_POOL[..]).prop_map(Principal::Team),
        2 => Just(Principal::Public),
        2 => Just(Principal::Authenticated),
    ]
}

fn acl() -> impl Strategy<Value = Acl> {
    proptest::collection::vec((principal(), access()), 0..=5).prop_map(Acl::new)
}

fn target() -> impl Strategy<Value = Target> {
    let project = prop_oneof![
        1 => Just(ProjectFacts::Missing),
        1 => Just(ProjectFacts::NotAProject),
        6 => (any::<bool>(), acl()).prop_map(|(trashed, acl)| ProjectFacts::Project { trashed, acl }),
    ];
    let repo = prop_oneof![
        2 => Just(RepoState::Unknown),
        4 => (any::<bool>(), proptest::option::weighted(0.4, acl()))
            .prop_map(|(trashed, local_acl)| RepoState::Managed { trashed, local_acl }),
    ];
    prop_oneof![
        12 => (project, repo).prop_map(|(project, repo)| Target::Repository(RepoFacts { project, repo })),
        1 => Just(Target::InvalidRepository),
        2 => Just(Target::Catalog),
        1 => Just(Target::Unsupported),
    ]
}

const ACTIONS: [&str; 9] = [
    "pull", "push", "delete", "*", "mount", "PULL", "Push", "DELETE", "pull ",
];

fn actions() -> impl Strategy<Value = Vec<String>> {
    let action = prop_oneof![
        12 => proptest::sample::select(&ACTIONS[..]).prop_map(str::to_string),
        1 => "[a-z*:,]{1,6}",
    ];
    proptest::collection::vec(action, 1..=4)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 100_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn decide_agrees_with_the_contract_oracle(
        caller in caller(),
        target in target(),
        actions in actions(),
    ) {
        if let Some(msg) = disagreement(&caller, &target, &actions) {
            return Err(TestCaseError::fail(msg));
        }
    }
}

// ---------------------------------------------------------------------------------
// Every combination of the discrete facts
// ---------------------------------------------------------------------------------

const MY_TEAM: TeamId = TeamId(10);

/// One ACL per access type given to the caller directly, plus the other ways an entry
/// can reach (or miss) the caller.
fn acl_shapes() -> Vec<Acl> {
    let mut shapes = vec![Acl::default()];
    for (_, access) in AccessSet::all().iter_names() {
        shapes.push(Acl::new(vec![(Principal::User(ME), access)]));
    }
    shapes.extend([
        Acl::new(vec![(Principal::Public, AccessSet::DOWNLOAD)]),
        Acl::new(vec![(Principal::Authenticated, AccessSet::all())]),
        Acl::new(vec![(Principal::Team(MY_TEAM), AccessSet::all())]),
        Acl::new(vec![
            (Principal::User(SOMEONE_ELSE), AccessSet::all()),
            (Principal::Team(TeamId(99)), AccessSet::all()),
        ]),
    ]);
    shapes
}

fn all_targets() -> Vec<Target> {
    let shapes = acl_shapes();
    let mut projects = vec![ProjectFacts::Missing, ProjectFacts::NotAProject];
    for trashed in [false, true] {
        for acl in &shapes {
            projects.push(ProjectFacts::Project {
                trashed,
                acl: acl.clone(),
            });
        }
    }
    let mut repos = vec![RepoState::Unknown];
    for trashed in [false, true] {
        repos.push(RepoState::Managed {
            trashed,
            local_acl: None,
        });
        for acl in &shapes {
            repos.push(RepoState::Managed {
                trashed,
                local_acl: Some(acl.clone()),
            });
        }
    }
    let mut targets = vec![
        Target::InvalidRepository,
        Target::Catalog,
        Target::Unsupported,
    ];
    for project in &projects {
        for repo in &repos {
            targets.push(Target::Repository(RepoFacts {
                project: project.clone(),
                repo: repo.clone(),
            }));
        }
    }
    targets
}

fn all_callers() -> Vec<Caller> {
    let mut callers = Vec::new();
    for bits in 0u8..8 {
        let scopes = ScopeSet::from_bits_truncate(bits);
        callers.push(Caller {
            user: None,
            scopes,
            token: None,
        });
        for (certified, admin) in [(false, false), (true, false), (false, true), (true, true)] {
            callers.push(Caller::alice(certified, admin, vec![MY_TEAM], scopes));
        }
    }
    callers
}

#[test]
fn every_row_of_the_contract_is_reached() {
    let action_lists: Vec<Vec<String>> = [
        "pull",
        "push",
        "delete",
        "*",
        "mount",
        "PULL",
        "pull,push",
        "push,delete",
    ]
    .iter()
    .map(|l| l.split(',').map(str::to_string).collect())
    .collect();
    let mut hits: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut cases = 0usize;
    for target in all_targets() {
        for caller in all_callers() {
            for actions in &action_lists {
                cases += 1;
                if let Some(msg) = disagreement(&caller, &target, actions) {
                    panic!("{msg}");
                }
                for (_, row) in oracle(&caller, &target, actions).rows {
                    *hits.entry(row).or_default() += 1;
                }
            }
        }
    }
    let never: Vec<&str> = TABLES
        .iter()
        .flat_map(|t| t.iter())
        .map(|r| r.row)
        .filter(|r| !hits.contains_key(r))
        .collect();
    assert!(never.is_empty(), "rows never reached: {never:#?}");
    assert!(cases > 100_000, "{cases} cases");
}

/// Found by the oracle: an admin asking the catalog for an action other than `*` got it
/// neither granted nor denied. Every requested action is answered.
#[test]
fn catalog_actions_other_than_star_are_denied() {
    let admin = Caller::alice(false, true, vec![], ScopeSet::PASSWORD);
    let d = decide(&admin, &Target::Catalog, &["pull".to_string()]);
    assert!(d.granted.is_empty(), "{d:?}");
    assert_eq!(
        d.denied
            .iter()
            .map(|x| x.action.as_str())
            .collect::<Vec<_>>(),
        ["pull"],
        "every requested action is granted or denied"
    );
}
