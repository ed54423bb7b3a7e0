//! Upgrades from every earlier schema (issue 24): for each version each engine's schema
//! has had (SQLite 1..=9, PostgreSQL 1..=5), a fresh directory is migrated to that
//! version only, with each step's data loaded right after the step (`fixtures/`: so it
//! holds what that version wrote), then opened the normal way, which migrates it to the
//! current schema, and asked every answer through the real code paths: logins and
//! tokens, the token rules' decisions, tags and history, teams, access requests, trust
//! policies, linked identities, the audit trail, `directory check`, and writes.
//!
//! The steps are this build's: a version whose step was later edited in place (or
//! renumbered) is built as the step reads now, not as it ran when that version shipped.

use std::net::IpAddr;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use super::{push, record, Backend, Postgres, Sqlite};
use crate::app::administer::{tokens, users};
use crate::app::audit::{Audit, MemorySink};
use crate::app::authenticate::{Attempt, AuthLimits, AuthPorts, Authenticator, Binding};
use crate::app::issue_token::gather;
use crate::app::permit::operator;
use crate::app::test_doubles::FixedClock;
use crate::domain::audit::AuditFilter;
use crate::domain::authn::secret::hash_token;
use crate::domain::authz::{decide, Caller};
use crate::domain::events::{Grant, GrantedAction};
use crate::domain::model::{
    ClaimCondition, ClaimMatch, EntityId, EntityRef, EventOutcome, NewAccessToken, NewTrustPolicy,
    RequestState, ScopeSet, TagSort, WorkloadActions,
};
use crate::domain::ports::{
    AccessRequestStore, AuditLog, ChangeVersion, CredentialStore, Directory, FederatedIdentities,
    FederatedIdentity, IntegrityCheck, Pace, PushGrants, RegistryReader, TokenAdmin,
    TrustPolicyStore, UserAdmin,
};
use crate::domain::repo_name::RepoPath;
use crate::domain::scope::ResourceScope;
use crate::infra::postgres::{throwaway, PgDirectory};
use crate::infra::sqlite::{audit_path, SqliteDirectory};

/// Each SQLite version's data, loaded right after its step. PostgreSQL's step 1 is
/// SQLite's version 5 (it gets v1..v5), its step k SQLite's version k + 4.
pub(super) const FIXTURES: [&str; 9] = [
    include_str!("fixtures/v1.sql"),
    include_str!("fixtures/v2.sql"),
    include_str!("fixtures/v3.sql"),
    include_str!("fixtures/v4.sql"),
    include_str!("fixtures/v5.sql"),
    include_str!("fixtures/v6.sql"),
    include_str!("fixtures/v7.sql"),
    include_str!("fixtures/v8.sql"),
    include_str!("fixtures/v9.sql"),
];
pub(super) const AUDIT: &str = include_str!("fixtures/audit.sql");

/// The fixtures' token texts (their SHA-256 is what the fixtures store).
const ALICE_LIVE: &str = "rga_upgradeFixture-alice-live_00000000000000000";
const ALICE_REVOKED: &str = "rga_upgradeFixture-alice-revoked_00000000000000";
const BOB_EXPIRED: &str = "rga_upgradeFixture-bob-expired_0000000000000000";
const ALICE_CHILD: &str = "rga_upgradeFixture-alice-child_0000000000000000";
const REVOKED_CHILD: &str = "rga_upgradeFixture-revoked-child_00000000000000";
const ALICE_REFRESH: &str = "rgr_upgradeFixture-alice-refresh_00000000000000";
const GITHUB: &str = "https://token.actions.githubusercontent.com";
/// After every timestamp in the fixtures.
const NOW: i64 = 1_750_000_000;

/// The scopes every caller asks for, and what each caller is granted of each (in this
/// order), whatever version the data was written by.
const SCOPES: [&str; 5] = [
    "repository:syn101/tool:pull,push",
    "repository:syn101/new:push",
    "repository:syn101/private:pull",
    "repository:syn102/x:pull",
    "repository:syn103/tool:pull",
];
const GRANTED: [(&str, [&str; 5]); 6] = [
    ("alice", ["pull,push", "push", "pull", "pull", ""]),
    ("alice's token", ["pull", "", "pull", "pull", ""]),
    ("bob", ["pull", "", "", "pull", ""]),
    ("erin", ["", "", "pull", "pull", ""]),
    ("root", ["pull,push", "push", "pull", "pull", ""]),
    ("anonymous", ["", "", "", "pull", ""]),
];

/// What an engine needs to build a directory as an earlier version left it.
trait Upgradable: Backend {
    /// The current schema version: every version from 1 has a fixture.
    const VERSIONS: usize;
    /// The SQLite version whose data a directory at `version` holds.
    fn data_version(version: usize) -> usize;
    /// A fresh directory at `version`, each step's data loaded right after the step.
    fn build(version: usize) -> Self::Place;
    fn schema_version(place: &Self::Place) -> usize;
}

impl Upgradable for Sqlite {
    const VERSIONS: usize = SqliteDirectory::SCHEMA_STEPS;
    fn data_version(version: usize) -> usize {
        version
    }
    fn build(version: usize) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/regauth.db");
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let open = |path: &std::path::Path| {
            let conn = rusqlite::Connection::open(path).unwrap();
            conn.pragma_update(None, "foreign_keys", "ON").unwrap();
            conn
        };
        let mut conn = open(&path);
        for (step, data) in FIXTURES.iter().enumerate().take(version) {
            SqliteDirectory::migrate_to_for_test(&mut conn, step + 1).unwrap();
            conn.execute_batch(data)
                .unwrap_or_else(|e| panic!("loading v{}.sql: {e}", step + 1));
        }
        let mut audit = open(&audit_path(&path));
        SqliteDirectory::migrate_audit_to_for_test(&mut audit, 1).unwrap();
        audit.execute_batch(AUDIT).unwrap();
        dir
    }
    fn schema_version(place: &tempfile::TempDir) -> usize {
        let conn = rusqlite::Connection::open(place.path().join("sub/regauth.db")).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        v as usize
    }
}

/// Runs `f` on a connection of its own to the database at `url`.
pub(super) fn on_postgres<T>(
    url: &SecretString,
    f: impl AsyncFnOnce(&mut tokio_postgres::Client) -> T,
) -> T {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (mut client, conn) =
            tokio_postgres::connect(url.expose_secret(), tokio_postgres::NoTls)
                .await
                .unwrap();
        let task = tokio::spawn(conn);
        let out = f(&mut client).await;
        drop(client);
        let _ = task.await;
        out
    })
}

impl Upgradable for Postgres {
    const VERSIONS: usize = PgDirectory::SCHEMA_STEPS;
    fn data_version(version: usize) -> usize {
        version + 4
    }
    fn build(version: usize) -> SecretString {
        let url = throwaway::fresh_database_url();
        on_postgres(&url, async |client| {
            // SQLite's unhex(), which the fixtures write hashes with.
            let unhex = "CREATE FUNCTION unhex(text) RETURNS bytea AS $$ SELECT decode($1, 'hex') $$ LANGUAGE sql";
            client.batch_execute(unhex).await.unwrap();
            for step in 1..=version {
                PgDirectory::migrate_to_for_test(client, step)
                    .await
                    .unwrap();
                let data = match step {
                    1 => 1..=5,
                    k => k + 4..=k + 4,
                };
                for v in data {
                    let sql = FIXTURES[v - 1];
                    client
                        .batch_execute(sql)
                        .await
                        .unwrap_or_else(|e| panic!("loading v{v}.sql: {e:?}"));
                }
                if step == 1 {
                    client.batch_execute(AUDIT).await.unwrap();
                }
            }
            client
                .batch_execute("DROP FUNCTION unhex(text)")
                .await
                .unwrap();
        });
        url
    }
    fn schema_version(url: &SecretString) -> usize {
        on_postgres(url, async |client| {
            let row = client.query_one("SELECT version FROM regauth_schema", &[]);
            row.await.unwrap().get::<_, i64>(0) as usize
        })
    }
}

fn authenticator<D: Directory + 'static>(d: &Arc<D>) -> Authenticator {
    let ports = AuthPorts {
        store: d.clone(),
        refresh_tokens: d.clone(),
        clock: Arc::new(FixedClock::at(NOW)),
        audit: Arc::new(Audit::new(Arc::new(MemorySink::default()), true)),
    };
    Authenticator::new(ports, AuthLimits::default())
}

/// `name` signed in with a password.
fn with_password(d: &impl Directory, name: &str) -> Caller {
    let user = d.user_by_name(name).unwrap().unwrap();
    let teams = d.teams_of(user.id, Pace::MayBlock).unwrap();
    Caller::of_user(&user, teams, ScopeSet::PASSWORD)
}

/// The actions `caller` is granted for `scope`, comma-separated.
fn granted(d: &impl Directory, caller: &Caller, scope: &str) -> String {
    let scope = ResourceScope::parse(scope).unwrap();
    let target = gather(d, &scope).unwrap();
    decide(caller, &target, &scope.actions).granted.join(",")
}

/// Which SQLite versions' data (`fixtures/v<N>.sql`) a directory holds: every one up to
/// `upto` but those `missing` (a build whose step did not make that data's table or
/// column, `history.rs`).
#[derive(Clone, Copy, Debug)]
pub(super) struct Held {
    pub upto: usize,
    pub missing: &'static [usize],
}

impl Held {
    pub(super) const fn upto(upto: usize) -> Held {
        Held { upto, missing: &[] }
    }
    fn has(self, version: usize) -> bool {
        version <= self.upto && !self.missing.contains(&version)
    }
}

fn upgraded_fixture_answers<B: Upgradable>(version: usize) {
    let place = B::build(version);
    let directory = Arc::new(B::reopen(&place));
    assert_eq!(B::schema_version(&place), B::VERSIONS);
    // What the data holds: each check waits for the version that wrote its data.
    answers_after_upgrade::<B>(&directory, Held::upto(B::data_version(version)));
}

/// Asks an upgraded directory holding `data` every answer through the real code paths,
/// then writes to it (shared with `history.rs`).
pub(super) fn answers_after_upgrade<B: Backend>(directory: &Arc<B::D>, data: Held) {
    let d = directory.as_ref();

    // Logins: passwords, an e-mail address (from v3), access and refresh tokens.
    let auth = authenticator(directory);
    let ip: IpAddr = "192.0.2.1".parse().unwrap();
    let login = |user: &str, secret: &str| {
        let who = auth.basic(user, secret, ip, Pace::MayBlock);
        who.ok().map(|a| a.caller)
    };
    let name = |user: &str, secret: &str| login(user, secret).map(|c| c.name().to_string());
    assert_eq!(name("alice", "alice password").as_deref(), Some("alice"));
    assert_eq!(name("bob", "bob password").as_deref(), Some("bob"));
    assert_eq!(name("alice", "bob password"), None, "another's password");
    assert_eq!(name("dave", "dave password"), None, "disabled");
    let carol = name("carol@example.org", "carol password");
    assert_eq!(
        carol.as_deref(),
        data.has(3).then_some("carol"),
        "by e-mail"
    );
    let token = login("", ALICE_LIVE).expect("alice's live token");
    assert_eq!(token.name(), "alice");
    assert_eq!(token.scopes, ScopeSet::VIEW | ScopeSet::DOWNLOAD);
    for refused in [ALICE_REVOKED, BOB_EXPIRED, REVOKED_CHILD] {
        assert_eq!(login("", refused), None, "{refused}");
    }
    let child = name("", ALICE_CHILD);
    assert_eq!(child.as_deref(), data.has(7).then_some("alice"), "a child");
    let binding = Binding {
        service: "registry",
        client_id: "docker",
    };
    let attempt = Attempt {
        address: ip,
        pace: Pace::MayBlock,
    };
    let refreshed = auth.refresh(ALICE_REFRESH, binding, attempt).unwrap();
    assert_eq!(refreshed.caller.name(), "alice");

    // The token rules on the facts as stored.
    for (who, expected) in GRANTED {
        let caller = match who {
            "alice's token" => token.clone(),
            "anonymous" => Caller::anonymous(),
            name => with_password(d, name),
        };
        for (scope, want) in SCOPES.iter().zip(expected) {
            assert_eq!(granted(d, &caller, scope), want, "{who} asking {scope}");
        }
    }

    // Tags and their history, repositories, teams.
    let tool = RepoPath::parse("syn101/tool").unwrap();
    let (tags, total) = d.list_tags(&tool, TagSort::Tag, 0, 10).unwrap();
    let current: Vec<_> = tags.iter().map(|t| (&*t.tag, &t.digest[7..8])).collect();
    assert_eq!((current, total), (vec![("v1", "c"), ("v2", "b")], 2));
    let history = |tag: &str| -> Vec<String> {
        let rows = d.tag_history(&tool, tag).unwrap();
        rows.iter().map(|t| t.digest[7..8].to_string()).collect()
    };
    assert_eq!(history("v1"), ["c", "a"], "v1 re-pushed");
    assert_eq!(history("old"), ["d"], "deleted, its history kept");
    let repos: Vec<_> = d.list_repositories(EntityId(101)).unwrap();
    let repos: Vec<_> = repos.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(repos, ["syn101/private", "syn101/tool"]);
    let bob = d.user_by_name("bob").unwrap().unwrap();
    assert_eq!(d.teams_of(bob.id, Pace::MayBlock).unwrap().len(), 1);

    // What later versions added: stamps (v4), requests (v5), grants (v6), minted tokens
    // (v7), trust policies (v8), linked identities (v9).
    let alice = d.user_by_name("alice").unwrap().unwrap();
    let live = d.access_token(&hash_token(ALICE_LIVE), Pace::MayBlock);
    let live = live.unwrap().unwrap();
    assert_eq!(live.last_used_at, data.has(4).then_some(1_710_000_000));
    let erin = d.user_by_name("erin").unwrap().unwrap();
    let requests: Vec<_> = d.user_access_requests(erin.id).unwrap();
    let requests: Vec<_> = requests
        .iter()
        .map(|r| (&*r.entity_name, r.state, r.decided_by.as_deref()))
        .collect();
    let expected = [
        ("alpha", RequestState::Open, None),
        ("syn101/private", RequestState::Approved, Some("alice")),
    ];
    assert_eq!(requests, expected[..if data.has(5) { 2 } else { 0 }]);
    let open = d.entity_access_requests(&EntityRef::Id(EntityId(101)), false, &|_| Ok(()));
    assert_eq!(open.unwrap().len(), usize::from(data.has(5)));
    let grants = d.grants_for(&[("alice", "syn101/tool")]).unwrap();
    assert_eq!(grants.len(), usize::from(data.has(6)));
    let tokens = d.list_access_tokens(alice.id).unwrap();
    let named = |id| tokens.iter().find(|t| t.id == id).map(|t| &*t.name);
    let minted: Vec<_> = tokens
        .iter()
        .filter_map(|t| Some((&*t.name, named(t.parent?)?)))
        .collect();
    let expected = [
        ("alice child", "alice live"),
        ("revoked child", "alice revoked"),
    ];
    assert_eq!(minted, expected[..if data.has(7) { 2 } else { 0 }]);
    let policies = d.trust_policies_for_issuer(GITHUB, Pace::MayBlock).unwrap();
    let condition = |claim: &str, matcher| ClaimCondition {
        claim: claim.into(),
        matcher,
    };
    let policy = NewTrustPolicy {
        project: EntityId(101),
        creator: alice.id,
        issuer: GITHUB.into(),
        audience: "https://registry.example.org".into(),
        conditions: vec![
            condition("repository_id", ClaimMatch::Exact("892341".into())),
            condition("ref", ClaimMatch::Glob("refs/heads/*".into())),
        ],
        repositories: "tool".into(),
        actions: WorkloadActions::PULL,
        max_lifetime_secs: 900,
        created_at: 1_740_000_000,
    };
    let stored: Vec<_> = policies
        .iter()
        .map(|p| (&p.policy, &*p.creator_name))
        .collect();
    assert_eq!(stored, [(&policy, "alice")][..usize::from(data.has(8))]);
    let linked = d.identity_user("corp", "s-1").unwrap().map(|u| u.name);
    assert_eq!(linked.as_deref(), data.has(9).then_some("erin"));

    // The audit trail came along.
    let all = AuditFilter {
        limit: 100,
        ..Default::default()
    };
    let audit = d.query(&all).unwrap();
    let counts: Vec<_> = audit.iter().map(|e| (&*e.kind, e.count)).collect();
    let expected = [
        ("access_token_revoked", 3),
        ("project_added", 1),
        ("user_added", 1),
    ];
    assert_eq!(counts, expected[..], "newest first");

    // It takes writes: every identity column moves on past the fixtures' rows, every
    // trigger still works, and the change version moves on a change.
    let version = d.change_version(Pace::MayBlock).unwrap();
    let request = users::UserRequest {
        name: "frank",
        certified: true,
        ..Default::default()
    };
    let frank = users::add(d, &operator(), request, NOW).unwrap();
    let moved = d.change_version(Pace::MayBlock).unwrap();
    assert!(moved > version, "a new user moves the change version");
    let created = tokens::create(d, &operator(), "frank", "ci", ScopeSet::VIEW, None, NOW);
    assert_eq!(name("", &created.unwrap().secret).as_deref(), Some("frank"));
    let new_child = NewAccessToken {
        user: alice.id,
        name: "minted after the upgrade".into(),
        hash: [7; 32],
        scopes: ScopeSet::VIEW,
        expires_at: None,
        parent: Some(live.id),
    };
    d.create_access_token(&new_child, Some(100), NOW).unwrap();
    let pushed = push("after-upgrade", "syn101/tool", Some("v3"), "9", NOW);
    assert_eq!(record(d, &pushed), EventOutcome::Recorded);
    assert_eq!(d.list_tags(&tool, TagSort::Tag, 0, 10).unwrap().1, 3);
    let grant = Grant {
        actor: "frank".into(),
        repository: "syn101/tool".into(),
        action: GrantedAction::Push,
        from: NOW,
        until: NOW + 300,
    };
    d.record_grants(&[grant]).unwrap();
    let alpha = EntityRef::Id(EntityId(101));
    d.file_access_request(&alpha, frank.id, "please", &|_| Ok(()), NOW)
        .unwrap();
    let mut second = policy.clone();
    second.created_at = NOW;
    d.create_trust_policy(&second).unwrap();
    let identity = FederatedIdentity {
        provider: "corp".into(),
        subject: "s-2".into(),
        user: frank.id,
        linked_at: NOW,
    };
    d.link_identity(&identity).unwrap();
    // Revoking alice's live token revokes what it minted, before the upgrade or after.
    d.revoke_access_token(live.id, NOW).unwrap();
    for ended in [ALICE_LIVE, ALICE_CHILD] {
        assert!(
            auth.basic("", ended, ip, Pace::MayBlock).is_err(),
            "{ended}"
        );
    }
    let after = d.access_token(&[7; 32], Pace::MayBlock).unwrap().unwrap();
    assert!(after.revoked, "the child minted after the upgrade");
    assert!(d.change_version(Pace::MayBlock).unwrap() > moved);

    // `directory check` finds nothing, in the upgraded data or what was written since.
    let (_, findings) = d.check_integrity().unwrap();
    assert!(findings.is_empty(), "{findings:?}");
}

/// Every version of `B`'s schema, each upgraded on its own; fails naming the versions
/// whose upgrade did not give every answer (each one's panic is printed above it).
fn every_version<B: Upgradable>(engine: &str) {
    assert_eq!(
        B::data_version(B::VERSIONS),
        FIXTURES.len(),
        "{engine}: a schema step without its data (add fixtures/v<N>.sql)"
    );
    let failed: Vec<usize> = (1..=B::VERSIONS)
        .filter(|&version| {
            eprintln!("{engine}: upgrading a directory at version {version}");
            std::panic::catch_unwind(|| upgraded_fixture_answers::<B>(version)).is_err()
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{engine}: the upgrade from version(s) {failed:?} failed"
    );
}

#[test]
fn sqlite_directories_of_every_earlier_schema_upgrade_with_every_answer() {
    every_version::<Sqlite>("sqlite");
}

#[test]
fn postgres_databases_of_every_earlier_schema_upgrade_with_every_answer() {
    every_version::<Postgres>("postgres");
}
