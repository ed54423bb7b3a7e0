//! SQLite directory tests: real files in temporary directories, driven through the
//! use cases the CLI calls (so each rule is exercised with the SQL that stores it).

use super::*;
use crate::app::administer::{external, projects, sharing, teams, tokens, trash, users};
use crate::app::Actor;
use crate::domain::authz::{ProjectFacts, RepoState};
use crate::domain::events::push_skip;
use crate::domain::model::{
    AccessSet, EntityId, EntityRef, EventOutcome, ManifestDelete, ManifestPush, PrincipalRef,
    ScopeSet, TagSort,
};
use crate::domain::ports::{
    AuthorizationFacts, CredentialStore, DirectoryError, RegistryLog, RegistryReader, UserAdmin,
};
use crate::domain::repo_name::RepoPath;

const OP: Actor = Actor::Operator;

fn open() -> (tempfile::TempDir, SqliteDirectory) {
    let dir = tempfile::tempdir().unwrap();
    let d = SqliteDirectory::open(&dir.path().join("sub/regauth.db")).unwrap();
    (dir, d)
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

fn record(d: &SqliteDirectory, p: &ManifestPush) -> EventOutcome {
    d.record_push(p, &push_skip, 1).unwrap()
}

fn add_user(d: &SqliteDirectory, name: &str, certified: bool) {
    users::add(
        d,
        &OP,
        users::UserRequest {
            name,
            password: None,
            certified,
            admin: false,
            email: None,
        },
        1,
    )
    .unwrap();
}

#[test]
fn migrations_and_data_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    {
        let d = SqliteDirectory::open(&path).unwrap();
        users::add(
            &d,
            &OP,
            users::UserRequest {
                name: "alice",
                password: Some("a long password"),
                certified: true,
                admin: false,
                email: None,
            },
            1,
        )
        .unwrap();
    }
    let d = SqliteDirectory::open(&path).unwrap();
    let creds = d.user_credentials("alice").unwrap().unwrap();
    assert!(creds.user.certified);
    assert!(creds
        .password_hash
        .as_deref()
        .is_some_and(|h| h.starts_with("$argon2id$")));
}

#[test]
fn repository_facts_cover_every_state() {
    let (_t, d) = open();
    add_user(&d, "alice", true);
    let p = projects::add(&d, &OP, "alpha", "alice", None, 1).unwrap();
    let path = RepoPath::parse(&format!("{p}/tool")).unwrap();
    let f = d.repository_facts(&path).unwrap();
    assert!(matches!(
        f.project,
        ProjectFacts::Project { trashed: false, .. }
    ));
    assert_eq!(f.repo, RepoState::Unknown);
    assert!(matches!(
        d.repository_facts(&RepoPath::parse("syn5/x").unwrap())
            .unwrap()
            .project,
        ProjectFacts::Missing
    ));

    assert_eq!(
        record(&d, &push("e1", path.as_str(), Some("v1"), "a", 10)),
        EventOutcome::Recorded
    );
    let f = d.repository_facts(&path).unwrap();
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
        d.repository_facts(&under_repo).unwrap().project,
        ProjectFacts::NotAProject
    );

    // Local sharing settings start as a copy of the project's ACL.
    add_user(&d, "bob", false);
    let e = EntityRef::Repository(path.clone());
    sharing::grant(
        &d,
        &OP,
        &e,
        &PrincipalRef::User("bob".into()),
        AccessSet::DOWNLOAD,
        2,
    )
    .unwrap();
    match d.repository_facts(&path).unwrap().repo {
        RepoState::Managed {
            local_acl: Some(acl),
            ..
        } => assert_eq!(acl.entries.len(), 2),
        other => panic!("{other:?}"),
    }
    sharing::inherit(&d, &OP, &e, 3).unwrap();
    assert_eq!(sharing::show(&d, &OP, &e).unwrap().inherited_from, Some(p));

    trash::trash(&d, &OP, &EntityRef::Id(p), 5).unwrap();
    assert!(matches!(
        d.repository_facts(&path).unwrap().project,
        ProjectFacts::Project { trashed: true, .. }
    ));
    // The repository is not itself in the trash: restoring it is refused.
    assert!(trash::restore(&d, &OP, &e, 6).is_err());
    trash::trash(&d, &OP, &e, 7).unwrap();
    let err = trash::restore(&d, &OP, &e, 8).unwrap_err().to_string();
    assert_eq!(err, format!("restore its project {p} first"));
    trash::restore(&d, &OP, &EntityRef::Id(p), 9).unwrap();
    trash::restore(&d, &OP, &e, 10).unwrap();
}

#[test]
fn events_are_idempotent_ordered_and_keep_history() {
    let (_t, d) = open();
    add_user(&d, "alice", true);
    let p = projects::add(&d, &OP, "alpha", "alice", None, 1).unwrap();
    let path = format!("{p}/tool");
    let repo = RepoPath::parse(&path).unwrap();
    assert_eq!(
        record(&d, &push("e1", &path, Some("v1"), "a", 10)),
        EventOutcome::Recorded
    );
    assert_eq!(
        record(&d, &push("e1", &path, Some("v1"), "a", 10)),
        EventOutcome::Duplicate
    );
    assert_eq!(
        record(&d, &push("e3", &path, Some("v1"), "c", 30)),
        EventOutcome::Recorded
    );
    // Late delivery of an older push does not move the tag back.
    assert_eq!(
        record(&d, &push("e2", &path, Some("v1"), "b", 20)),
        EventOutcome::Recorded
    );
    // Digest-only push: recorded, no tag listed.
    assert_eq!(
        record(&d, &push("e4", &path, None, "d", 40)),
        EventOutcome::Recorded
    );
    let (tags, total) = d.list_tags(&repo, TagSort::Tag, 0, 10).unwrap();
    assert_eq!(total, 1);
    assert_eq!(tags[0].digest, format!("sha256:{}", "c".repeat(64)));
    assert_eq!(d.tag_history(&repo, "v1").unwrap().len(), 3);

    let del = ManifestDelete {
        event_id: "e5".into(),
        path: repo.clone(),
        tag: Some("v1".into()),
        digest: None,
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
    trash::trash(&d, &OP, &EntityRef::Repository(repo.clone()), 2).unwrap();
    assert_eq!(
        record(&d, &push("e7", &path, Some("v2"), "e", 60)),
        EventOutcome::Skipped("repository in trash")
    );
}

#[test]
fn admin_errors_are_specific_and_nothing_is_half_written() {
    let (_t, d) = open();
    assert!(matches!(
        users::add(
            &d,
            &OP,
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
        projects::add(&d, &OP, "x", "ghost", None, 1),
        Err(crate::app::AppError::NotFound(_))
    ));
    assert!(projects::list(&d, &OP).unwrap().is_empty());
    let p = projects::add(&d, &OP, "x", "alice", Some(EntityId(5)), 1).unwrap();
    assert_eq!(p, EntityId(5));
    assert!(matches!(
        projects::add(&d, &OP, "y", "alice", Some(EntityId(5)), 1),
        Err(crate::app::AppError::Conflict(_))
    ));
    assert!(matches!(
        sharing::grant(
            &d,
            &OP,
            &EntityRef::Id(p),
            &PrincipalRef::Team("nope".into()),
            AccessSet::READ,
            1
        ),
        Err(crate::app::AppError::NotFound(_))
    ));
    assert!(matches!(
        tokens::revoke(&d, &OP, 99, 1),
        Err(crate::app::AppError::NotFound(_))
    ));
    // A revoke that finds no entry leaves the repository's settings untouched (the copy
    // made on the way is rolled back).
    add_user(&d, "bob", false);
    let path = RepoPath::parse(&format!("{p}/tool")).unwrap();
    record(&d, &push("e1", path.as_str(), Some("v1"), "a", 10));
    let e = EntityRef::Repository(path.clone());
    let err = sharing::revoke(&d, &OP, &e, &PrincipalRef::User("bob".into()), None, 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("an ACL entry for bob on {path} not found")
    );
    assert_eq!(sharing::show(&d, &OP, &e).unwrap().inherited_from, Some(p));
}

#[test]
fn users_teams_and_tokens() {
    let (_t, d) = open();
    add_user(&d, "alice", false);
    teams::add(&d, &OP, "devs", 1).unwrap();
    assert!(teams::add(&d, &OP, "devs", 1).is_err());
    teams::add_member(&d, &OP, "devs", "alice", 1).unwrap();
    let alice = d.user_by_name("alice").unwrap().unwrap();
    assert_eq!(d.teams_of(alice.id).unwrap().len(), 1);
    teams::remove_member(&d, &OP, "devs", "alice", 1).unwrap();
    assert!(teams::remove_member(&d, &OP, "devs", "alice", 1).is_err());

    let t = tokens::create(&d, &OP, "alice", "ci", ScopeSet::DOWNLOAD, None, 1).unwrap();
    let hash = crate::domain::authn::secret::hash_token(&t.secret);
    assert_eq!(d.access_token(&hash).unwrap().unwrap().id, t.record.id);
    assert_eq!(tokens::list(&d, &OP, "alice").unwrap().len(), 1);
    tokens::revoke(&d, &OP, t.record.id, 2).unwrap();
    assert!(d.access_token(&hash).unwrap().unwrap().revoked);

    // Disabling ends refresh tokens in the same transaction.
    let done = users::set(
        &d,
        &OP,
        "alice",
        users::UserChanges {
            disabled: Some(true),
            ..Default::default()
        },
        3,
    )
    .unwrap();
    assert!(done.user.disabled);
    assert_eq!(done.refresh_tokens_ended, 0);
    assert!(users::set(&d, &OP, "alice", users::UserChanges::default(), 4).is_err());
}

#[test]
fn external_repositories_need_a_live_project_and_a_foreign_host() {
    let (_t, d) = open();
    add_user(&d, "alice", false);
    let p = projects::add(&d, &OP, "x", "alice", None, 1).unwrap();
    let ours = vec!["registry.example.org".to_string()];
    let info = external::add(&d, &OP, p, "quay.io/org/x", &ours, 1).unwrap();
    assert_eq!(info.name, "quay.io/org/x");
    assert!(matches!(
        external::add(&d, &OP, p, "quay.io/org/x", &ours, 1),
        Err(crate::app::AppError::Conflict(_))
    ));
    let own = external::add(&d, &OP, p, "registry.example.org/a/b", &ours, 1).unwrap_err();
    assert!(own.to_string().contains("is this registry"), "{own}");
    trash::trash(&d, &OP, &EntityRef::Id(p), 2).unwrap();
    assert!(matches!(
        external::add(&d, &OP, p, "quay.io/org/y", &ours, 1),
        Err(crate::app::AppError::NotFound(_))
    ));
    trash::restore(&d, &OP, &EntityRef::Id(p), 3).unwrap();
    external::delete(&d, &OP, info.id, 4).unwrap();
    assert!(external::delete(&d, &OP, info.id, 4).is_err());
}

#[test]
fn a_new_password_ends_refresh_tokens_and_revoke_tokens_ends_access_tokens() {
    use crate::domain::model::NewRefreshToken;
    use crate::domain::ports::RefreshTokenStore;
    let (_t, d) = open();
    users::add(
        &d,
        &OP,
        users::UserRequest {
            name: "alice",
            password: Some("first password"),
            certified: true,
            admin: false,
            email: None,
        },
        1,
    )
    .unwrap();
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
    let t = tokens::create(&d, &OP, "alice", "ci", ScopeSet::DOWNLOAD, None, 1).unwrap();
    let token_hash = crate::domain::authn::secret::hash_token(&t.secret);

    // Certifying ends nothing.
    let done = users::set(
        &d,
        &OP,
        "alice",
        users::UserChanges {
            certified: Some(true),
            ..Default::default()
        },
        2,
    )
    .unwrap();
    assert_eq!(done.refresh_tokens_ended, 0);
    assert!(!d.refresh_token(&[1; 32]).unwrap().unwrap().revoked);

    // A new password ends every refresh token, not the access token.
    let done = users::set(
        &d,
        &OP,
        "alice",
        users::UserChanges {
            password: Some("second password".into()),
            ..Default::default()
        },
        3,
    )
    .unwrap();
    assert_eq!(done.refresh_tokens_ended, 2);
    assert!(d.refresh_token(&[1; 32]).unwrap().unwrap().revoked);
    assert!(d.refresh_token(&[2; 32]).unwrap().unwrap().revoked);
    assert!(!d.access_token(&token_hash).unwrap().unwrap().revoked);

    // --revoke-tokens ends the access tokens too.
    let done = users::set(
        &d,
        &OP,
        "alice",
        users::UserChanges {
            revoke_access_tokens: true,
            ..Default::default()
        },
        4,
    )
    .unwrap();
    assert_eq!(done.access_tokens_ended, 1);
    assert!(d.access_token(&token_hash).unwrap().unwrap().revoked);
}

#[test]
fn administration_is_audited_append_only_and_pruned() {
    use crate::domain::audit::AuditFilter;
    use crate::domain::ports::AuditLog;
    let (_t, d) = open();
    add_user(&d, "alice", false);
    users::set(
        &d,
        &OP,
        "alice",
        users::UserChanges {
            certified: Some(true),
            password: Some("a brand new password".into()),
            ..Default::default()
        },
        100,
    )
    .unwrap();
    let p = projects::add(&d, &OP, "alpha", "alice", None, 200).unwrap();
    sharing::grant(
        &d,
        &OP,
        &EntityRef::Id(p),
        &PrincipalRef::Public,
        AccessSet::READ,
        300,
    )
    .unwrap();
    trash::trash(&d, &OP, &EntityRef::Id(p), 400).unwrap();
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
    let rewrite = d.write_audit(|tx| Ok(tx.execute("UPDATE audit_events SET actor = 'eve'", [])?));
    assert!(rewrite.is_err(), "an audit record was rewritten");
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

#[test]
fn an_email_address_logs_in_in_place_of_the_name_and_is_unique() {
    let (_t, d) = open();
    let add = |name: &'static str, email: Option<&'static str>| {
        users::add(
            &d,
            &OP,
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
        let found = d.user_credentials(login).unwrap().expect(login);
        assert_eq!(found.user.name, "alice", "{login}");
    }
    // Names match exactly; an address is never a name.
    assert!(d.user_credentials("Alice").unwrap().is_none());
    assert!(d.user_credentials("bob@example.org").unwrap().is_none());

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
            &OP,
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
    assert!(d.user_credentials("alice@example.org").unwrap().is_none());
    change("bob", Some(Some("alice@example.org".into()))).unwrap();
    let bob = d.user_credentials("alice@example.org").unwrap().unwrap();
    assert_eq!(bob.user.name, "bob");
}

#[test]
fn projects_shared_with_reads_only_the_entries_of_those_principals() {
    use crate::domain::model::{Principal, TeamName, UserId};
    use crate::domain::ports::{EntityAdmin, TeamAdmin};
    let (_t, d) = open();
    add_user(&d, "alice", true);
    add_user(&d, "bob", false);
    let team = d.add_team(&TeamName::parse("lab").unwrap()).unwrap();
    let mine = projects::add(&d, &OP, "alice's", "alice", None, 1).unwrap();
    let teams = projects::add(&d, &OP, "the lab's", "alice", None, 1).unwrap();
    let public = projects::add(&d, &OP, "open", "alice", None, 1).unwrap();
    let p = |id| EntityRef::Id(id);
    sharing::grant(
        &d,
        &OP,
        &p(teams),
        &"team:lab".parse().unwrap(),
        AccessSet::READ,
        1,
    )
    .unwrap();
    sharing::grant(
        &d,
        &OP,
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
