//! SQLite directory tests: real files in temporary directories.

use super::*;
use crate::domain::model::AccessType;

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

#[test]
fn migrations_and_data_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    {
        let d = SqliteDirectory::open(&path).unwrap();
        d.add_user("alice", Some("$argon2id$x"), true, false)
            .unwrap();
    }
    let d = SqliteDirectory::open(&path).unwrap();
    let creds = d.user_credentials("alice").unwrap().unwrap();
    assert!(creds.user.certified);
    assert_eq!(creds.password_hash.as_deref(), Some("$argon2id$x"));
}

#[test]
fn repository_facts_cover_every_state() {
    let (_t, d) = open();
    d.add_user("alice", None, true, false).unwrap();
    let p = d.add_project("alpha", "alice", None).unwrap();
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
        d.record_push(&push("e1", path.as_str(), Some("v1"), "a", 10))
            .unwrap(),
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
    d.add_user("bob", None, false, false).unwrap();
    let e = EntityRef::Repository(path.clone());
    d.acl_grant(
        &e,
        &PrincipalRef::User("bob".into()),
        AccessSet::EMPTY.with(AccessType::Download),
    )
    .unwrap();
    match d.repository_facts(&path).unwrap().repo {
        RepoState::Managed {
            local_acl: Some(acl),
            ..
        } => assert_eq!(acl.entries.len(), 2),
        other => panic!("{other:?}"),
    }
    d.acl_inherit(&e).unwrap();
    assert_eq!(d.acl_show(&e).unwrap().inherited_from, Some(p.to_string()));

    d.trash(&EntityRef::Id(p)).unwrap();
    assert!(matches!(
        d.repository_facts(&path).unwrap().project,
        ProjectFacts::Project { trashed: true, .. }
    ));
    assert!(matches!(d.restore(&e), Err(DirectoryError::Invalid(_))));
}

#[test]
fn events_are_idempotent_ordered_and_keep_history() {
    let (_t, d) = open();
    d.add_user("alice", None, true, false).unwrap();
    let p = d.add_project("alpha", "alice", None).unwrap();
    let path = format!("{p}/tool");
    let repo = RepoPath::parse(&path).unwrap();
    assert_eq!(
        d.record_push(&push("e1", &path, Some("v1"), "a", 10))
            .unwrap(),
        EventOutcome::Recorded
    );
    assert_eq!(
        d.record_push(&push("e1", &path, Some("v1"), "a", 10))
            .unwrap(),
        EventOutcome::Duplicate
    );
    assert_eq!(
        d.record_push(&push("e3", &path, Some("v1"), "c", 30))
            .unwrap(),
        EventOutcome::Recorded
    );
    // Late delivery of an older push does not move the tag back.
    assert_eq!(
        d.record_push(&push("e2", &path, Some("v1"), "b", 20))
            .unwrap(),
        EventOutcome::Recorded
    );
    // Digest-only push: recorded, no tag listed.
    assert_eq!(
        d.record_push(&push("e4", &path, None, "d", 40)).unwrap(),
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
    assert_eq!(d.record_delete(&del).unwrap(), EventOutcome::Recorded);
    assert_eq!(d.record_delete(&del).unwrap(), EventOutcome::Duplicate);
    assert_eq!(d.list_tags(&repo, TagSort::Tag, 0, 10).unwrap().1, 0);
    assert_eq!(d.tag_history(&repo, "v1").unwrap().len(), 3, "history kept");

    // Pushes under a missing project store nothing.
    assert!(matches!(
        d.record_push(&push("e6", "syn77/x", Some("v1"), "a", 1))
            .unwrap(),
        EventOutcome::Skipped(_)
    ));
}

#[test]
fn admin_errors_are_specific_and_nothing_is_half_written() {
    let (_t, d) = open();
    assert!(matches!(
        d.add_user("public", None, false, false),
        Err(DirectoryError::Invalid(_))
    ));
    d.add_user("alice", None, false, false).unwrap();
    assert!(matches!(
        d.add_user("alice", None, false, false),
        Err(DirectoryError::Conflict(_))
    ));
    assert!(matches!(
        d.add_project("x", "ghost", None),
        Err(DirectoryError::NotFound(_))
    ));
    assert!(d.list_projects().unwrap().is_empty());
    let p = d.add_project("x", "alice", Some(EntityId(5))).unwrap();
    assert_eq!(p, EntityId(5));
    assert!(matches!(
        d.add_project("y", "alice", Some(EntityId(5))),
        Err(DirectoryError::Conflict(_))
    ));
    assert!(matches!(
        d.acl_grant(
            &EntityRef::Id(p),
            &PrincipalRef::Team("nope".into()),
            AccessSet::EMPTY.with(AccessType::Read)
        ),
        Err(DirectoryError::NotFound(_))
    ));
    assert!(matches!(
        d.revoke_access_token(99),
        Err(DirectoryError::NotFound(_))
    ));
}
