//! Batches of registry events as the webhook hands them over. PostgreSQL records a run of
//! pushes as one set (`postgres::push_run`), SQLite one by one: both must give the same
//! outcomes, in order, and leave the same tags.

use super::*;
use crate::domain::ports::{DirResult, RegistryEvent};

pub(super) fn a_batch_of_pushes_gives_what_one_by_one_gives<B: Backend>() {
    use EventOutcome::{Duplicate, Recorded, Skipped};
    let (_t, d) = B::open();
    add_user(&d, "alice", true);
    let p = projects::add(&d, &operator(), "alpha", "alice", None, 1).unwrap();
    let old = format!("{p}/old");
    let gone = format!("{p}/gone");
    let new = format!("{p}/new");
    assert_eq!(record(&d, &push("k0", &old, Some("v1"), "a", 5)), Recorded);
    assert_eq!(record(&d, &push("g0", &gone, Some("v1"), "a", 5)), Recorded);
    let gone_path = RepoPath::parse(&gone).unwrap();
    trash::trash(&d, &operator(), &EntityRef::Repository(gone_path), 6).unwrap();
    let events = [
        push("k0", &old, Some("v1"), "b", 7), // recorded before: a duplicate
        push("k1", &new, Some("v1"), "c", 20), // creates `new`
        push("k2", &new, Some("v1"), "d", 10), // older, late: v1 stays at c
        push("k1", &new, Some("v1"), "e", 30), // the same id again: a duplicate
        push("k3", "syn999999/x", Some("v1"), "a", 1), // no such project
        push("k4", &gone, Some("v2"), "a", 8), // a trashed repository
        push("k5", &old, Some("v2"), "f", 9), // an existing repository, a new tag
        push("k6", &new, None, "g", 40),      // by digest only
        push("k7", &new, Some("v2"), "h", 20),
        push("k8", &new, Some("v2"), "i", 20), // the same second: the later event wins
    ];
    let batch: Vec<RegistryEvent<'_>> = events.iter().map(RegistryEvent::Push).collect();
    let outcomes = |out: Vec<DirResult<EventOutcome>>| -> Vec<EventOutcome> {
        out.into_iter()
            .map(|o| o.expect("no event fails"))
            .collect()
    };
    let first = outcomes(d.record_batch(&batch, &push_skip, 50).unwrap());
    assert_eq!(
        first,
        [
            Duplicate,
            Recorded,
            Recorded,
            Duplicate,
            Skipped("project missing"),
            Skipped("repository in trash"),
            Recorded,
            Recorded,
            Recorded,
            Recorded,
        ]
    );
    let digest = |b: &str| format!("sha256:{}", b.repeat(64));
    let tags = |path: &str| -> Vec<(String, String)> {
        let repo = RepoPath::parse(path).unwrap();
        let (tags, _) = d.list_tags(&repo, TagSort::Tag, 0, 10).unwrap();
        tags.into_iter().map(|t| (t.tag, t.digest)).collect()
    };
    assert_eq!(
        tags(&new),
        [("v1".into(), digest("c")), ("v2".into(), digest("i"))]
    );
    assert_eq!(
        tags(&old),
        [("v1".into(), digest("a")), ("v2".into(), digest("f"))]
    );
    let new_path = RepoPath::parse(&new).unwrap();
    assert_eq!(d.tag_history(&new_path, "v1").unwrap().len(), 2);
    let names: Vec<String> = d
        .list_repositories(p)
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(
        names,
        [new.clone(), old.clone()],
        "one new repository, the trashed one hidden"
    );
    // The registry's retry of the whole batch: what was recorded is a duplicate, what was
    // skipped is judged again.
    let again = outcomes(d.record_batch(&batch, &push_skip, 60).unwrap());
    let expected: Vec<EventOutcome> = first
        .iter()
        .map(|o| match o {
            Skipped(why) => Skipped(why),
            _ => Duplicate,
        })
        .collect();
    assert_eq!(again, expected);
    assert_eq!(
        d.tag_history(&new_path, "v1").unwrap().len(),
        2,
        "nothing twice"
    );
}
