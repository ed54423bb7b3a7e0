//! The directory suite's integrity checks (`directory check`): a sound directory has no
//! finding; what no foreign key can catch (an ACL entry naming a user removed behind the
//! directory's back, a repository under another repository) is found, one line each.

use super::*;
use crate::domain::ports::IntegrityCheck;
use crate::infra::sql::SqlDirectory;

/// Changes rows behind the use cases' back, as a hand-edited file or a bad restore would.
fn tamper<D: SqlDirectory>(d: &D, sql: &str) {
    d.change_script(|tx| tx.exec(sql, &[]).map(drop)).unwrap();
}

pub(super) fn a_sound_directory_has_no_finding_and_tampering_is_found<B: Backend>()
where
    B::D: SqlDirectory,
{
    let (_place, d) = B::open();
    users::add(
        &d,
        &operator(),
        users::UserRequest {
            name: "alice",
            password: None,
            ..Default::default()
        },
        1,
    )
    .unwrap();
    users::add(
        &d,
        &operator(),
        users::UserRequest {
            name: "bob",
            password: None,
            ..Default::default()
        },
        1,
    )
    .unwrap();
    let p = projects::add(&d, &operator(), "alpha", "alice", None, 1).unwrap();
    d.record_push(
        &push("e1", &format!("{p}/tool"), Some("v1"), "a", 1),
        &push_skip,
        1,
    )
    .unwrap();
    d.record_push(
        &push("e2", &format!("{p}/other"), Some("v1"), "b", 1),
        &push_skip,
        1,
    )
    .unwrap();
    sharing::grant(
        &d,
        &operator(),
        &EntityRef::Id(p),
        &PrincipalRef::User("bob".into()),
        AccessSet::READ,
        1,
    )
    .unwrap();
    let (checks, findings) = d.check_integrity().unwrap();
    assert!(checks >= 9, "{checks}");
    assert!(findings.is_empty(), "{findings:?}");

    // bob removed behind the directory's back: his ACL entry names nobody.
    tamper(&d, "DELETE FROM users WHERE name = 'bob'");
    // A repository moved under another repository: its project is gone.
    tamper(
        &d,
        "UPDATE entities SET parent_id = (SELECT id FROM entities WHERE kind = 'managed_repository' AND (name = 'tool' OR name LIKE '%/tool'))
         WHERE kind = 'managed_repository' AND (name = 'other' OR name LIKE '%/other')",
    );
    let (_, findings) = d.check_integrity().unwrap();
    assert_eq!(findings.len(), 2, "{findings:?}");
    assert!(
        findings.iter().any(|f| f.contains("names user id")),
        "{findings:?}"
    );
    assert!(
        findings
            .iter()
            .any(|f| f.contains("other") && f.contains("has no project")),
        "{findings:?}"
    );
}
