//! The directory test suite, run on both backends: the embedded SQLite file and a real
//! PostgreSQL server (a throw-away cluster the tests start themselves, see
//! `infra::postgres::throwaway`). Each rule is exercised through the use cases the CLI
//! calls, with the SQL that stores it; `sqlite::` and `postgres::` name the two runs.

use crate::app::administer::{external, projects, sharing, teams, tokens, trash, users};
use crate::app::permit::operator;
use crate::domain::authz::{ProjectFacts, RepoState};
use crate::domain::events::{push_skip, Grant, GrantedAction};
use crate::domain::model::{
    AccessSet, EntityId, EntityRef, EventOutcome, ManifestDelete, ManifestPush, PrincipalRef,
    ScopeSet, TagSort,
};
use crate::domain::ports::Pace;
use crate::domain::ports::{
    AuthorizationFacts, ChangeVersion, CredentialStore, Directory, DirectoryError, PushGrants,
    RegistryLog, RegistryReader, TokenAdmin, UserAdmin,
};
use crate::domain::repo_name::RepoPath;
use crate::infra::postgres::{throwaway, PgDirectory, PgOptions};
use crate::infra::sqlite::SqliteDirectory;

/// What the suite needs of a backend beyond the ports.
pub trait Backend {
    type D: Directory + ChangeVersion + Send + Sync + 'static;
    /// Where the data lives (a temporary directory, a database URL).
    type Place;
    fn open() -> (Self::Place, Self::D);
    /// The same data, opened again (as a restart or another replica does).
    fn reopen(place: &Self::Place) -> Self::D;
    /// Tries to rewrite every audit record behind the ports' back.
    fn rewrite_audit(d: &Self::D) -> Result<(), String>;
}

pub struct Sqlite;
impl Backend for Sqlite {
    type D = SqliteDirectory;
    type Place = tempfile::TempDir;
    fn open() -> (tempfile::TempDir, SqliteDirectory) {
        let dir = tempfile::tempdir().unwrap();
        let d = SqliteDirectory::open(&dir.path().join("sub/regauth.db")).unwrap();
        (dir, d)
    }
    fn reopen(place: &tempfile::TempDir) -> SqliteDirectory {
        SqliteDirectory::open(&place.path().join("sub/regauth.db")).unwrap()
    }
    fn rewrite_audit(d: &SqliteDirectory) -> Result<(), String> {
        d.rewrite_audit_for_test()
            .map(drop)
            .map_err(|e| e.to_string())
    }
}

pub struct Postgres;
impl Backend for Postgres {
    type D = PgDirectory;
    type Place = secrecy::SecretString;
    fn open() -> (secrecy::SecretString, PgDirectory) {
        let url = throwaway::fresh_database_url();
        let d = PgDirectory::connect(&url, &PgOptions::default()).unwrap();
        (url, d)
    }
    fn reopen(url: &secrecy::SecretString) -> PgDirectory {
        PgDirectory::connect(url, &PgOptions::default()).unwrap()
    }
    fn rewrite_audit(d: &PgDirectory) -> Result<(), String> {
        d.rewrite_audit_for_test()
            .map(drop)
            .map_err(|e| e.to_string())
    }
}

fn push(id: &str, path: &str, tag: Option<&str>, digest_byte: &str, at: i64) -> ManifestPush {
    ManifestPush {
        event_id: id.into(),
        path: RepoPath::parse(path).unwrap(),
        tag: tag.map(str::to_string),
        digest: format!("sha256:{}", digest_byte.repeat(64)),
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        size: 1,
        pusher: "alice".into(),
        pushed_at: at,
    }
}

fn record(d: &impl Directory, p: &ManifestPush) -> EventOutcome {
    d.record_push(p, &push_skip, 1).unwrap()
}

/// Disables user `name` as the operator, at `now`.
fn disable(d: &impl Directory, name: &str, now: i64) -> crate::domain::ports::UserUpdated {
    let changes = users::UserChanges {
        disabled: Some(true),
        ..Default::default()
    };
    users::set(d, &operator(), name, changes, now).unwrap()
}

fn add_user(d: &impl Directory, name: &str, certified: bool) {
    let request = users::UserRequest {
        name,
        certified,
        ..Default::default()
    };
    users::add(d, &operator(), request, 1).unwrap();
}

/// A certified user who logs in with `password`.
fn add_user_with_password(d: &impl Directory, name: &str, password: &str) {
    let request = users::UserRequest {
        name,
        password: Some(password),
        certified: true,
        ..Default::default()
    };
    users::add(d, &operator(), request, 1).unwrap();
}

fn migrations_and_data_survive_reopen<B: Backend>() {
    let (place, d) = B::open();
    {
        add_user_with_password(&d, "alice", "a long password");
    }
    drop(d);
    let d = B::reopen(&place);
    let creds = d
        .user_credentials("alice", Pace::MayBlock)
        .unwrap()
        .unwrap();
    assert!(creds.user.certified);
    assert!(creds
        .password_hash
        .as_deref()
        .is_some_and(|h| h.starts_with("$argon2id$")));
}

fn repository_facts_cover_every_state<B: Backend>() {
    let (_t, d) = B::open();
    add_user(&d, "alice", true);
    let p = projects::add(&d, &operator(), "alpha", "alice", None, 1).unwrap();
    let path = RepoPath::parse(&format!("{p}/tool")).unwrap();
    let f = d.repository_facts(&path, Pace::MayBlock).unwrap();
    assert!(matches!(
        f.project,
        ProjectFacts::Project { trashed: false, .. }
    ));
    assert_eq!(f.repo, RepoState::Unknown);
    assert!(matches!(
        d.repository_facts(&RepoPath::parse("syn5/x").unwrap(), Pace::MayBlock)
            .unwrap()
            .project,
        ProjectFacts::Missing
    ));

    assert_eq!(
        record(&d, &push("e1", path.as_str(), Some("v1"), "a", 10)),
        EventOutcome::Recorded
    );
    let f = d.repository_facts(&path, Pace::MayBlock).unwrap();
    assert_eq!(
        f.repo,
        RepoState::Managed {
            trashed: false,
            local_acl: None
        }
    );
    // The repository's own id, used as a project, is "not a project".
    let repo_id = d.list_repositories(p).unwrap()[0].id;
    let under_repo = RepoPath::parse(&format!("{repo_id}/x")).unwrap();
    assert_eq!(
        d.repository_facts(&under_repo, Pace::MayBlock)
            .unwrap()
            .project,
        ProjectFacts::NotAProject
    );

    // Local sharing settings start as a copy of the project's ACL.
    add_user(&d, "bob", false);
    let e = EntityRef::Repository(path.clone());
    sharing::grant(
        &d,
        &operator(),
        &e,
        &PrincipalRef::User("bob".into()),
        AccessSet::DOWNLOAD,
        2,
    )
    .unwrap();
    match d.repository_facts(&path, Pace::MayBlock).unwrap().repo {
        RepoState::Managed {
            local_acl: Some(acl),
            ..
        } => assert_eq!(acl.entries.len(), 2),
        other => panic!("{other:?}"),
    }
    sharing::inherit(&d, &operator(), &e, 3).unwrap();
    assert_eq!(
        sharing::show(&d, &operator(), &e).unwrap().inherited_from,
        Some(p)
    );

    trash::trash(&d, &operator(), &EntityRef::Id(p), 5).unwrap();
    assert!(matches!(
        d.repository_facts(&path, Pace::MayBlock).unwrap().project,
        ProjectFacts::Project { trashed: true, .. }
    ));
    // The repository is not itself in the trash: restoring it is refused.
    assert!(trash::restore(&d, &operator(), &e, 6).is_err());
    trash::trash(&d, &operator(), &e, 7).unwrap();
    let err = trash::restore(&d, &operator(), &e, 8)
        .unwrap_err()
        .to_string();
    assert_eq!(err, format!("restore its project {p} first"));
    trash::restore(&d, &operator(), &EntityRef::Id(p), 9).unwrap();
    trash::restore(&d, &operator(), &e, 10).unwrap();
}

fn events_are_idempotent_ordered_and_keep_history<B: Backend>() {
    let (_t, d) = B::open();
    add_user(&d, "alice", true);
    let p = projects::add(&d, &operator(), "alpha", "alice", None, 1).unwrap();
    let path = format!("{p}/tool");
    let repo = RepoPath::parse(&path).unwrap();
    // One push to `path`, recorded.
    let at_path = |id: &str, tag: Option<&str>, digest_byte: &str, at: i64| {
        record(&d, &push(id, &path, tag, digest_byte, at))
    };
    assert_eq!(at_path("e1", Some("v1"), "a", 10), EventOutcome::Recorded);
    assert_eq!(at_path("e1", Some("v1"), "a", 10), EventOutcome::Duplicate);
    assert_eq!(at_path("e3", Some("v1"), "c", 30), EventOutcome::Recorded);
    // Late delivery of an older push does not move the tag back.
    assert_eq!(at_path("e2", Some("v1"), "b", 20), EventOutcome::Recorded);
    // Digest-only push: recorded, no tag listed.
    assert_eq!(at_path("e4", None, "d", 40), EventOutcome::Recorded);
    let (tags, total) = d.list_tags(&repo, TagSort::Tag, 0, 10).unwrap();
    assert_eq!(total, 1);
    assert_eq!(tags[0].digest, format!("sha256:{}", "c".repeat(64)));
    assert_eq!(d.tag_history(&repo, "v1").unwrap().len(), 3);

    let del = ManifestDelete {
        event_id: "e5".into(),
        path: repo.clone(),
        tag: Some("v1".into()),
        digest: None,
        deleter: "alice".into(),
        deleted_at: 50,
    };
    assert_eq!(d.record_delete(&del, 1).unwrap(), EventOutcome::Recorded);
    assert_eq!(d.record_delete(&del, 1).unwrap(), EventOutcome::Duplicate);
    assert_eq!(d.list_tags(&repo, TagSort::Tag, 0, 10).unwrap().1, 0);
    assert_eq!(d.tag_history(&repo, "v1").unwrap().len(), 3, "history kept");

    // Pushes under a missing project store nothing.
    assert!(matches!(
        record(&d, &push("e6", "syn77/x", Some("v1"), "a", 1)),
        EventOutcome::Skipped(_)
    ));
    // Nor into a trashed repository.
    trash::trash(&d, &operator(), &EntityRef::Repository(repo.clone()), 2).unwrap();
    assert_eq!(
        record(&d, &push("e7", &path, Some("v2"), "e", 60)),
        EventOutcome::Skipped("repository in trash")
    );
}

fn admin_errors_are_specific_and_nothing_is_half_written<B: Backend>() {
    let (_t, d) = B::open();
    assert!(matches!(
        users::add(
            &d,
            &operator(),
            users::UserRequest {
                name: "public",
                password: None,
                certified: false,
                admin: false,
                email: None
            },
            1
        ),
        Err(crate::app::AppError::Invalid(_))
    ));
    add_user(&d, "alice", false);
    assert!(matches!(
        d.add_user(
            &crate::domain::model::NewUser {
                email: None,
                name: crate::domain::model::UserName::parse("alice").unwrap(),
                password_hash: None,
                certified: false,
                admin: false
            },
            1
        ),
        Err(DirectoryError::Conflict(_))
    ));
    assert!(matches!(
        projects::add(&d, &operator(), "x", "ghost", None, 1),
        Err(crate::app::AppError::NotFound(_))
    ));
    assert!(projects::list(&d, &operator()).unwrap().is_empty());
    let p = projects::add(&d, &operator(), "x", "alice", Some(EntityId(5)), 1).unwrap();
    assert_eq!(p, EntityId(5));
    assert!(matches!(
        projects::add(&d, &operator(), "y", "alice", Some(EntityId(5)), 1),
        Err(crate::app::AppError::Conflict(_))
    ));
    assert!(matches!(
        sharing::grant(
            &d,
            &operator(),
            &EntityRef::Id(p),
            &PrincipalRef::Team("nope".into()),
            AccessSet::READ,
            1
        ),
        Err(crate::app::AppError::NotFound(_))
    ));
    assert!(matches!(
        tokens::revoke(&d, &operator(), 99, 1),
        Err(crate::app::AppError::NotFound(_))
    ));
    // A revoke that finds no entry leaves the repository's settings untouched (the copy
    // made on the way is rolled back).
    add_user(&d, "bob", false);
    let path = RepoPath::parse(&format!("{p}/tool")).unwrap();
    record(&d, &push("e1", path.as_str(), Some("v1"), "a", 10));
    let e = EntityRef::Repository(path.clone());
    let err = sharing::revoke(
        &d,
        &operator(),
        &e,
        &PrincipalRef::User("bob".into()),
        None,
        1,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("an ACL entry for bob on {path} not found")
    );
    assert_eq!(
        sharing::show(&d, &operator(), &e).unwrap().inherited_from,
        Some(p)
    );
}

fn users_teams_and_tokens<B: Backend>() {
    let (_t, d) = B::open();
    add_user(&d, "alice", false);
    teams::add(&d, &operator(), "devs", 1).unwrap();
    assert!(teams::add(&d, &operator(), "devs", 1).is_err());
    teams::add_member(&d, &operator(), "devs", "alice", 1).unwrap();
    let alice = d.user_by_name("alice").unwrap().unwrap();
    assert_eq!(d.teams_of(alice.id, Pace::MayBlock).unwrap().len(), 1);
    teams::remove_member(&d, &operator(), "devs", "alice", 1).unwrap();
    assert!(teams::remove_member(&d, &operator(), "devs", "alice", 1).is_err());

    let t = tokens::create(&d, &operator(), "alice", "ci", ScopeSet::DOWNLOAD, None, 1).unwrap();
    let hash = crate::domain::authn::secret::hash_token(&t.secret);
    assert_eq!(
        d.access_token(&hash, Pace::MayBlock).unwrap().unwrap().id,
        t.record.id
    );
    assert_eq!(tokens::list(&d, &operator(), "alice").unwrap().len(), 1);
    tokens::revoke(&d, &operator(), t.record.id, 2).unwrap();
    assert!(
        d.access_token(&hash, Pace::MayBlock)
            .unwrap()
            .unwrap()
            .revoked
    );

    // Disabling ends refresh tokens in the same transaction.
    let done = disable(&d, "alice", 3);
    assert!(done.user.disabled);
    assert_eq!(done.refresh_tokens_ended, 0);
    assert!(users::set(&d, &operator(), "alice", users::UserChanges::default(), 4).is_err());
}

fn external_repositories_need_a_live_project_and_a_foreign_host<B: Backend>() {
    let (_t, d) = B::open();
    add_user(&d, "alice", false);
    let p = projects::add(&d, &operator(), "x", "alice", None, 1).unwrap();
    let ours = vec!["registry.example.org".to_string()];
    let info = external::add(&d, &operator(), p, "quay.io/org/x", &ours, 1).unwrap();
    assert_eq!(info.name, "quay.io/org/x");
    assert!(matches!(
        external::add(&d, &operator(), p, "quay.io/org/x", &ours, 1),
        Err(crate::app::AppError::Conflict(_))
    ));
    let own = external::add(&d, &operator(), p, "registry.example.org/a/b", &ours, 1).unwrap_err();
    assert!(own.to_string().contains("is this registry"), "{own}");
    trash::trash(&d, &operator(), &EntityRef::Id(p), 2).unwrap();
    assert!(matches!(
        external::add(&d, &operator(), p, "quay.io/org/y", &ours, 1),
        Err(crate::app::AppError::NotFound(_))
    ));
    trash::restore(&d, &operator(), &EntityRef::Id(p), 3).unwrap();
    external::delete(&d, &operator(), info.id, 4).unwrap();
    assert!(external::delete(&d, &operator(), info.id, 4).is_err());
}

fn a_new_password_ends_refresh_tokens_and_revoke_tokens_ends_access_tokens<B: Backend>() {
    use crate::domain::model::NewRefreshToken;
    use crate::domain::ports::RefreshTokenStore;
    let (_t, d) = B::open();
    add_user_with_password(&d, "alice", "first password");
    let alice = d.user_by_name("alice").unwrap().unwrap();
    let refresh = |hash: u8| NewRefreshToken {
        user: alice.id,
        hash: [hash; 32],
        service: "registry".into(),
        client_id: "docker".into(),
        scopes: ScopeSet::PASSWORD,
        expires_at: None,
        access_token_id: None,
    };
    d.create_refresh_token(&refresh(1), 1).unwrap();
    d.create_refresh_token(&refresh(2), 1).unwrap();
    let t = tokens::create(&d, &operator(), "alice", "ci", ScopeSet::DOWNLOAD, None, 1).unwrap();
    let token_hash = crate::domain::authn::secret::hash_token(&t.secret);

    // Certifying ends nothing.
    let done = users::set(
        &d,
        &operator(),
        "alice",
        users::UserChanges {
            certified: Some(true),
            ..Default::default()
        },
        2,
    )
    .unwrap();
    assert_eq!(done.refresh_tokens_ended, 0);
    assert!(
        !d.refresh_token(&[1; 32], Pace::MayBlock)
            .unwrap()
            .unwrap()
            .revoked
    );

    // A new password ends every refresh token, not the access token.
    let done = users::set(
        &d,
        &operator(),
        "alice",
        users::UserChanges {
            password: Some("second password".into()),
            ..Default::default()
        },
        3,
    )
    .unwrap();
    assert_eq!(done.refresh_tokens_ended, 2);
    assert!(
        d.refresh_token(&[1; 32], Pace::MayBlock)
            .unwrap()
            .unwrap()
            .revoked
    );
    assert!(
        d.refresh_token(&[2; 32], Pace::MayBlock)
            .unwrap()
            .unwrap()
            .revoked
    );
    assert!(
        !d.access_token(&token_hash, Pace::MayBlock)
            .unwrap()
            .unwrap()
            .revoked
    );

    // --revoke-tokens ends the access tokens too.
    let done = users::set(
        &d,
        &operator(),
        "alice",
        users::UserChanges {
            revoke_access_tokens: true,
            ..Default::default()
        },
        4,
    )
    .unwrap();
    assert_eq!(done.access_tokens_ended, 1);
    assert!(
        d.access_token(&token_hash, Pace::MayBlock)
            .unwrap()
            .unwrap()
            .revoked
    );
}

fn administration_is_audited_append_only_and_pruned<B: Backend>() {
    use crate::domain::audit::AuditFilter;
    use crate::domain::ports::AuditLog;
    let (_t, d) = B::open();
    add_user(&d, "alice", false);
    users::set(
        &d,
        &operator(),
        "alice",
        users::UserChanges {
            certified: Some(true),
            password: Some("a brand new password".into()),
            ..Default::default()
        },
        100,
    )
    .unwrap();
    let p = projects::add(&d, &operator(), "alpha", "alice", None, 200).unwrap();
    sharing::grant(
        &d,
        &operator(),
        &EntityRef::Id(p),
        &PrincipalRef::Public,
        AccessSet::READ,
        300,
    )
    .unwrap();
    trash::trash(&d, &operator(), &EntityRef::Id(p), 400).unwrap();
    let all = d
        .query(&AuditFilter {
            limit: 100,
            ..AuditFilter::default()
        })
        .unwrap();
    let kinds: Vec<&str> = all.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "trashed",
            "sharing_changed",
            "project_added",
            "refresh_tokens_revoked",
            "user_changed",
            "user_added"
        ]
    );
    assert!(all.iter().all(|e| e.actor == "operator"));
    let changed = &all[4];
    assert_eq!(changed.subject, "alice");
    assert_eq!(
        changed.detail["before"],
        "certified=false admin=false disabled=false"
    );
    assert_eq!(
        changed.detail["after"],
        "certified=true admin=false disabled=false password=changed"
    );
    let shared = &all[1];
    assert_eq!(
        shared.detail["before"],
        "alice=READ,DOWNLOAD,UPDATE,CREATE,DELETE,CHANGE_PERMISSIONS"
    );
    assert_eq!(
        shared.detail["after"],
        "public=READ alice=READ,DOWNLOAD,UPDATE,CREATE,DELETE,CHANGE_PERMISSIONS"
    );
    // Filters: by user (actor or subject) and time.
    let alice = d
        .query(&AuditFilter {
            user: Some("alice".into()),
            since: Some(100),
            limit: 10,
        })
        .unwrap();
    assert_eq!(alice.len(), 2);
    // Append-only: a record cannot be rewritten.
    assert!(
        B::rewrite_audit(&d).is_err(),
        "an audit record was rewritten"
    );
    // Retention prunes by age only.
    assert_eq!(d.prune(300).unwrap(), 4);
    assert_eq!(
        d.query(&AuditFilter {
            limit: 10,
            ..AuditFilter::default()
        })
        .unwrap()
        .len(),
        2
    );
}

fn an_email_address_logs_in_in_place_of_the_name_and_is_unique<B: Backend>() {
    let (_t, d) = B::open();
    let add = |name: &'static str, email: Option<&'static str>| {
        users::add(
            &d,
            &operator(),
            users::UserRequest {
                name,
                email,
                ..Default::default()
            },
            1,
        )
    };
    let alice = add("alice", Some("Alice@Example.org")).unwrap();
    assert_eq!(alice.email.as_deref(), Some("alice@example.org"));
    for login in ["alice", "alice@example.org", "ALICE@example.ORG"] {
        let found = d
            .user_credentials(login, Pace::MayBlock)
            .unwrap()
            .expect(login);
        assert_eq!(found.user.name, "alice", "{login}");
    }
    // Names match exactly; an address is never a name.
    assert!(d
        .user_credentials("Alice", Pace::MayBlock)
        .unwrap()
        .is_none());
    assert!(d
        .user_credentials("bob@example.org", Pace::MayBlock)
        .unwrap()
        .is_none());

    let taken = add("bob", Some("alice@EXAMPLE.org"))
        .unwrap_err()
        .to_string();
    assert!(
        taken.contains("e-mail address alice@example.org"),
        "{taken}"
    );
    assert!(
        d.user_by_name("bob").unwrap().is_none(),
        "half-written user"
    );
    let bad = add("bob", Some("not an address")).unwrap_err().to_string();
    assert!(bad.starts_with("invalid e-mail address"), "{bad}");

    add("bob", None).unwrap();
    let change = |name: &str, email: Option<Option<String>>| {
        users::set(
            &d,
            &operator(),
            name,
            users::UserChanges {
                email,
                ..Default::default()
            },
            2,
        )
    };
    assert!(change("bob", Some(Some("alice@example.org".into()))).is_err());
    assert_eq!(d.user_by_name("bob").unwrap().unwrap().email, None);
    change("alice", Some(Some("alice@example.org".into()))).unwrap(); // its own: fine
    change("alice", Some(None)).unwrap();
    assert!(d
        .user_credentials("alice@example.org", Pace::MayBlock)
        .unwrap()
        .is_none());
    change("bob", Some(Some("alice@example.org".into()))).unwrap();
    let bob = d
        .user_credentials("alice@example.org", Pace::MayBlock)
        .unwrap()
        .unwrap();
    assert_eq!(bob.user.name, "bob");
}

fn projects_shared_with_reads_only_the_entries_of_those_principals<B: Backend>() {
    use crate::domain::model::{Principal, TeamName, UserId};
    use crate::domain::ports::{EntityAdmin, TeamAdmin};
    let (_t, d) = B::open();
    add_user(&d, "alice", true);
    add_user(&d, "bob", false);
    let team = d.add_team(&TeamName::parse("lab").unwrap()).unwrap();
    let mine = projects::add(&d, &operator(), "alice's", "alice", None, 1).unwrap();
    let teams = projects::add(&d, &operator(), "the lab's", "alice", None, 1).unwrap();
    let public = projects::add(&d, &operator(), "open", "alice", None, 1).unwrap();
    let p = |id| EntityRef::Id(id);
    sharing::grant(
        &d,
        &operator(),
        &p(teams),
        &"team:lab".parse().unwrap(),
        AccessSet::READ,
        1,
    )
    .unwrap();
    sharing::grant(
        &d,
        &operator(),
        &p(public),
        &"public".parse().unwrap(),
        AccessSet::READ,
        1,
    )
    .unwrap();
    let bob = d.user_by_name("bob").unwrap().unwrap().id;
    let as_bob = [
        Principal::Public,
        Principal::Authenticated,
        Principal::User(bob),
        Principal::Team(team),
    ];
    let found = d.projects_shared_with(&as_bob).unwrap();
    let ids: Vec<_> = found.iter().map(|(info, _)| info.id).collect();
    assert_eq!(
        ids,
        [teams, public],
        "alice's own project has no entry for bob"
    );
    // Each comes with the entries for those principals only.
    assert_eq!(
        found[0].1.entries,
        [(Principal::Team(team), AccessSet::READ)]
    );
    assert_eq!(found[1].1.entries, [(Principal::Public, AccessSet::READ)]);
    let alice = d.user_by_name("alice").unwrap().unwrap().id;
    let as_alice = d.projects_shared_with(&[Principal::User(alice)]).unwrap();
    assert_eq!(as_alice.len(), 3);
    assert!(as_alice
        .iter()
        .all(|(_, acl)| acl.entry(&Principal::User(alice)) == AccessSet::all()));
    assert!(d
        .projects_shared_with(&[Principal::User(UserId(424242))])
        .unwrap()
        .is_empty());
    assert!(d.projects_shared_with(&[]).unwrap().is_empty());
    let _ = mine;
}

fn refresh_tokens_are_found_listed_and_revoked_one_by_one<B: Backend>() {
    use crate::domain::model::NewRefreshToken;
    use crate::domain::ports::{RefreshTokenStore, TokenAdmin};
    let (_t, d) = B::open();
    add_user(&d, "alice", true);
    let alice = d.user_by_name("alice").unwrap().unwrap();
    let pat = tokens::create(&d, &operator(), "alice", "ci", ScopeSet::DOWNLOAD, None, 1).unwrap();
    let new = |hash: u8, via: Option<i64>| NewRefreshToken {
        user: alice.id,
        hash: [hash; 32],
        service: "registry".into(),
        client_id: "docker".into(),
        scopes: ScopeSet::DOWNLOAD,
        expires_at: Some(1_000),
        access_token_id: via,
    };
    let first = d.create_refresh_token(&new(1, None), 10).unwrap();
    let second = d
        .create_refresh_token(&new(2, Some(pat.record.id)), 20)
        .unwrap();
    assert_ne!(first, second);
    let found = d.refresh_token(&[2; 32], Pace::MayBlock).unwrap().unwrap();
    assert_eq!(found.id, second);
    assert_eq!(found.user.name, "alice");
    assert_eq!(found.client_id, "docker");
    assert_eq!(found.expires_at, Some(1_000));
    assert_eq!(found.created_at, 20);
    let parent = found.via_access_token.expect("made with an access token");
    assert_eq!((parent.id, parent.revoked), (pat.record.id, false));
    assert!(d.refresh_token(&[3; 32], Pace::MayBlock).unwrap().is_none());
    // The same secret twice is refused, not overwritten.
    assert!(matches!(
        d.create_refresh_token(&new(1, None), 30),
        Err(DirectoryError::Conflict(_))
    ));

    let listed: Vec<i64> = d
        .list_refresh_tokens(alice.id)
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(listed, [first, second], "oldest first");
    // Revoking the parent access token shows on the refresh token made with it.
    d.revoke_access_token(pat.record.id, 40).unwrap();
    assert!(
        d.refresh_token(&[2; 32], Pace::MayBlock)
            .unwrap()
            .unwrap()
            .via_access_token
            .unwrap()
            .revoked
    );
    d.revoke_refresh_token(first, 50).unwrap();
    assert!(
        d.refresh_token(&[1; 32], Pace::MayBlock)
            .unwrap()
            .unwrap()
            .revoked
    );
    assert!(
        !d.refresh_token(&[2; 32], Pace::MayBlock)
            .unwrap()
            .unwrap()
            .revoked
    );
    assert!(matches!(
        d.revoke_refresh_token(424242, 50),
        Err(DirectoryError::NotFound(_))
    ));
    assert_eq!(
        d.revoke_refresh_tokens(alice.id, 60).unwrap(),
        1,
        "only the live one"
    );
    assert!(
        d.refresh_token(&[2; 32], Pace::MayBlock)
            .unwrap()
            .unwrap()
            .revoked
    );
}

fn token_use_is_stamped_without_moving_the_change_version<B: Backend>() {
    use crate::domain::model::UsedToken;
    use crate::domain::ports::TokenAdmin;
    let (_t, d) = B::open();
    add_user(&d, "alice", true);
    let t = tokens::create(&d, &operator(), "alice", "ci", ScopeSet::DOWNLOAD, None, 1).unwrap();
    let hash = crate::domain::authn::secret::hash_token(&t.secret);
    let before = d.change_version(Pace::MayBlock).unwrap();
    d.record_token_use(&[(UsedToken::Access(t.record.id), 500)])
        .unwrap();
    d.record_token_use(&[(UsedToken::Access(t.record.id), 400)])
        .unwrap();
    assert_eq!(
        d.access_token(&hash, Pace::MayBlock)
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(500),
        "stamps only grow"
    );
    assert_eq!(
        d.change_version(Pace::MayBlock).unwrap(),
        before,
        "a stamp is not a change"
    );
    tokens::revoke(&d, &operator(), t.record.id, 600).unwrap();
    assert!(
        d.change_version(Pace::MayBlock).unwrap() > before,
        "a revocation is"
    );
}

fn access_requests_are_filed_once_and_decided_with_their_sharing_change<B: Backend>() {
    use crate::domain::authz::sharing::SharingChange;
    use crate::domain::model::{Acl, Principal, RequestDecision, RequestState};
    use crate::domain::ports::{AccessRequestStore, AuthorizationFacts};
    let (_t, d) = B::open();
    add_user(&d, "alice", true);
    add_user(&d, "bob", false);
    let bob = d.user_by_name("bob").unwrap().unwrap().id;
    let p = projects::add(&d, &operator(), "alpha", "alice", None, 1).unwrap();
    let e = EntityRef::Id(p);
    let accept = |_: &_| Ok(());
    let filed = d
        .file_access_request(&e, bob, "let me pull", &accept, 10)
        .unwrap();
    assert_eq!(filed.state, RequestState::Open);
    assert_eq!(filed.requester_name, "bob");
    assert_eq!(filed.entity_name, "alpha");
    assert!(matches!(
        d.file_access_request(&e, bob, "again", &accept, 11),
        Err(DirectoryError::Conflict(_))
    ));
    // A refusing rule files nothing.
    let refuse = |_: &_| Err(DirectoryError::Denied("no".into()));
    assert!(d.file_access_request(&e, bob, "x", &refuse, 12).is_err());
    assert_eq!(
        d.entity_access_requests(&e, true, &accept).unwrap().len(),
        1
    );

    let approve = RequestDecision {
        approve: true,
        reason: Some("welcome".into()),
        decided_by: None,
    };
    let grant = |facts: &crate::domain::authz::EntityFacts, _: &_| {
        let mut acl: Acl = facts.own_acl.clone().unwrap();
        acl.entries
            .push((Principal::User(bob), AccessSet::READ | AccessSet::DOWNLOAD));
        Ok(Some(SharingChange::Set(acl)))
    };
    let decided = d
        .decide_access_request(filed.id, &approve, &grant, 20)
        .unwrap();
    assert_eq!(decided.state, RequestState::Approved);
    assert_eq!(decided.reason.as_deref(), Some("welcome"));
    assert_eq!(decided.decided_at, Some(20));
    let path = RepoPath::parse(&format!("{p}/tool")).unwrap();
    match d.repository_facts(&path, Pace::MayBlock).unwrap().project {
        ProjectFacts::Project { acl, .. } => {
            assert_eq!(
                acl.entry(&Principal::User(bob)),
                AccessSet::READ | AccessSet::DOWNLOAD
            )
        }
        other => panic!("{other:?}"),
    }
    // Decided once: a second decision changes nothing.
    let deny = RequestDecision {
        approve: false,
        reason: None,
        decided_by: None,
    };
    assert!(matches!(
        d.decide_access_request(filed.id, &deny, &|_, _| Ok(None), 30),
        Err(DirectoryError::Invalid(_))
    ));
    assert!(d
        .entity_access_requests(&e, false, &accept)
        .unwrap()
        .is_empty());
    assert_eq!(
        d.user_access_requests(bob).unwrap()[0].state,
        RequestState::Approved
    );
    // Closed, a new request may be filed.
    d.file_access_request(&e, bob, "more", &accept, 40).unwrap();
}

fn a_second_replica_sees_every_change_and_writers_take_turns<B: Backend>() {
    use std::sync::Arc;
    let (place, one) = B::open();
    let two = B::reopen(&place);
    add_user(&one, "alice", true);
    let v = two.change_version(Pace::MayBlock).unwrap();
    assert!(
        two.user_credentials("alice", Pace::MayBlock)
            .unwrap()
            .is_some(),
        "the other replica sees the user"
    );
    disable(&two, "alice", 2);
    assert!(
        one.user_credentials("alice", Pace::MayBlock)
            .unwrap()
            .unwrap()
            .user
            .disabled
    );
    assert!(
        one.change_version(Pace::MayBlock).unwrap() > v,
        "the version moved for both"
    );

    // Projects created at once from both replicas get distinct ids: the next id is
    // decided inside the writers' turn.
    let (one, two) = (Arc::new(one), Arc::new(two));
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let d = if i % 2 == 0 { one.clone() } else { two.clone() };
            std::thread::spawn(move || {
                for n in 0..10 {
                    projects::add(
                        d.as_ref(),
                        &operator(),
                        &format!("p{i}-{n}"),
                        "alice",
                        None,
                        3,
                    )
                    .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut ids: Vec<_> = projects::list(one.as_ref(), &operator())
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 40);
}

fn an_event_that_cannot_be_stored_is_rolled_back_alone<B: Backend>() {
    use crate::domain::ports::RegistryEvent;
    let (_t, d) = B::open();
    add_user(&d, "alice", true);
    let p = projects::add(&d, &operator(), "alpha", "alice", None, 1).unwrap();
    // An external record holds the name a managed repository would take.
    let ours = vec!["registry.example.org".to_string()];
    external::add(&d, &operator(), p, "quay.io/org/x", &ours, 1).unwrap();
    let first = push("b1", &format!("{p}/tool"), Some("v1"), "a", 10);
    let clash = push("b2", &format!("{p}/quay.io/org/x"), Some("v1"), "b", 11);
    let last = push("b3", &format!("{p}/tool"), Some("v2"), "c", 12);
    let out = d
        .record_batch(
            &[
                RegistryEvent::Push(&first),
                RegistryEvent::Push(&clash),
                RegistryEvent::Push(&last),
            ],
            &push_skip,
            20,
        )
        .unwrap();
    assert_eq!(out.len(), 3);
    assert!(matches!(out[0], Ok(EventOutcome::Recorded)), "{:?}", out[0]);
    assert!(
        matches!(out[1], Err(DirectoryError::Conflict(_))),
        "{:?}",
        out[1]
    );
    assert!(matches!(out[2], Ok(EventOutcome::Recorded)), "{:?}", out[2]);
    let tool = RepoPath::parse(&format!("{p}/tool")).unwrap();
    assert_eq!(d.list_tags(&tool, TagSort::Tag, 0, 10).unwrap().1, 2);
    // The failed event was not marked processed: the registry's retry is tried again.
    assert!(matches!(
        d.record_push(&clash, &push_skip, 21),
        Err(DirectoryError::Conflict(_))
    ));
}

mod batches;
mod grants;
mod history;
mod identities;
mod integrity;
mod minting;
mod trust_policies;
mod upgrades;
use batches::*;
use grants::*;
use identities::*;
use integrity::*;
use minting::*;
use trust_policies::*;

/// Each test of the suite, once per backend: `sqlite::<name>` and `postgres::<name>`.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() { super::$name::<super::Sqlite>() })*
        }
        mod postgres {
            $(#[test] fn $name() { super::$name::<super::Postgres>() })*
        }
    };
}

on_both!(
    migrations_and_data_survive_reopen,
    repository_facts_cover_every_state,
    events_are_idempotent_ordered_and_keep_history,
    admin_errors_are_specific_and_nothing_is_half_written,
    users_teams_and_tokens,
    external_repositories_need_a_live_project_and_a_foreign_host,
    a_new_password_ends_refresh_tokens_and_revoke_tokens_ends_access_tokens,
    administration_is_audited_append_only_and_pruned,
    an_email_address_logs_in_in_place_of_the_name_and_is_unique,
    projects_shared_with_reads_only_the_entries_of_those_principals,
    refresh_tokens_are_found_listed_and_revoked_one_by_one,
    token_use_is_stamped_without_moving_the_change_version,
    access_requests_are_filed_once_and_decided_with_their_sharing_change,
    a_second_replica_sees_every_change_and_writers_take_turns,
    an_event_that_cannot_be_stored_is_rolled_back_alone,
    forty_parallel_mints_at_99_in_force_give_exactly_100,
    a_child_token_never_outlives_its_parent,
    a_child_of_a_revoked_expired_or_foreign_parent_is_refused,
    revoking_a_token_revokes_what_it_minted_and_nothing_else,
    a_granted_push_is_recorded_and_a_forged_one_changes_nothing,
    a_late_event_matches_its_old_interval_and_grants_merge_and_are_pruned,
    grants_recorded_through_one_replica_admit_events_at_the_other,
    a_batch_of_pushes_gives_what_one_by_one_gives,
    trust_policies_are_stored_listed_oldest_first_and_deleted,
    a_trust_policy_needs_an_existing_project_and_creator,
    trust_policies_for_issuer_match_it_exactly,
    a_policy_change_moves_the_version_and_a_cache_drops_a_removed_one,
    an_identity_links_once_and_is_found_by_its_exact_pair,
    a_first_sign_in_creates_the_user_and_teams_follow_the_groups,
    a_local_account_is_linked_by_a_verified_email_only_and_a_disabled_one_refused,
    a_sound_directory_has_no_finding_and_tampering_is_found,
);
