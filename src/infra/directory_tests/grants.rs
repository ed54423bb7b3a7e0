//! The directory suite's push-grant tests: what regauth granted is what lets a registry
//! event change the directory; forged, late and replicated events.

use super::*;
use crate::domain::events::EventItem;
use crate::domain::ports::Pace;

/// A clock stopped at one second.
pub(super) struct At(i64);
impl crate::domain::ports::Clock for At {
    fn now(&self) -> crate::domain::model::UnixTime {
        self.0
    }
}

/// A notification batch through the use case the webhook runs, with `d` as every port.
pub(super) fn notify(
    d: &impl Directory,
    items: Vec<EventItem>,
) -> crate::app::ingest_events::Counts {
    let ports = crate::app::ingest_events::IngestPorts {
        log: d,
        grants: d,
        audit: d,
        clock: &At(9_000),
    };
    crate::app::ingest_events::ingest(&ports, items).unwrap()
}

pub(super) fn pushed(id: &str, path: &str, tag: &str, by: &str, at: i64) -> EventItem {
    let mut p = push(id, path, Some(tag), "f", at);
    p.pusher = by.into();
    p.digest = format!("sha256:{:064x}", at);
    EventItem::Push(p)
}

pub(super) fn deleted(id: &str, path: &str, tag: &str, by: &str, at: i64) -> EventItem {
    EventItem::Delete(ManifestDelete {
        event_id: id.into(),
        path: RepoPath::parse(path).unwrap(),
        tag: Some(tag.into()),
        digest: None,
        deleter: by.into(),
        deleted_at: at,
    })
}

pub(super) fn grant(
    actor: &str,
    repository: &str,
    action: GrantedAction,
    from: i64,
    until: i64,
) -> Grant {
    Grant {
        actor: actor.into(),
        repository: repository.into(),
        action,
        from,
        until,
    }
}

pub(super) fn refusals(d: &impl Directory) -> Vec<crate::domain::ports::AuditEntry> {
    d.query(&crate::domain::audit::AuditFilter {
        limit: 100,
        ..Default::default()
    })
    .unwrap()
    .into_iter()
    .filter(|e| e.kind == "registry_event_refused")
    .collect()
}

pub(super) fn a_granted_push_is_recorded_and_a_forged_one_changes_nothing<B: Backend>() {
    let (_t, d) = B::open();
    add_user(&d, "alice", true);
    add_user(&d, "bob", true);
    let p = projects::add(&d, &operator(), "alpha", "alice", None, 1).unwrap();
    let tool = format!("{p}/tool");
    let version = d.change_version(Pace::MayBlock).unwrap();
    // Forged: nobody was granted anything. Nothing is recorded, nothing moves.
    let forged = notify(
        &d,
        vec![
            pushed("f1", &format!("{p}/forged"), "v1", "alice", 1_100),
            pushed("f2", &tool, "latest", "bob", 1_100),
            pushed("f3", &tool, "v1", "", 1_100),
        ],
    );
    assert_eq!((forged.recorded, forged.unauthorized), (0, 3), "{forged:?}");
    assert!(d.list_repositories(p).unwrap().is_empty());
    assert_eq!(
        d.change_version(Pace::MayBlock).unwrap(),
        version,
        "nothing changed"
    );
    let refused = refusals(&d);
    assert_eq!(refused.len(), 3);
    let f1 = refused
        .iter()
        .find(|e| e.detail["event_id"] == "f1")
        .unwrap();
    assert_eq!(
        (f1.actor.as_str(), f1.subject.as_str()),
        ("alice", &*format!("{p}/forged"))
    );
    assert_eq!(f1.detail["why"], "no_grant");
    assert_eq!(f1.detail["tag"], "v1");
    assert_eq!(f1.detail["action"], "push");
    assert!(refused.iter().any(|e| e.detail["why"] == "anonymous_actor"));

    // Granted: alice may push to tool from 1000 to 1300.
    let version = d.change_version(Pace::MayBlock).unwrap();
    d.record_grants(&[grant("alice", &tool, GrantedAction::Push, 1_000, 1_300)])
        .unwrap();
    assert_eq!(
        d.change_version(Pace::MayBlock).unwrap(),
        version,
        "grants are not read by the token path"
    );
    let c = notify(
        &d,
        vec![
            pushed("g1", &tool, "v1", "alice", 1_100),
            // A tag moved in bob's name, and alice long after her grant ended.
            pushed("g2", &tool, "v1", "bob", 1_200),
            pushed("g3", &tool, "v1", "alice", 9_000),
        ],
    );
    assert_eq!((c.recorded, c.unauthorized), (1, 2), "{c:?}");
    let repo = RepoPath::parse(&tool).unwrap();
    let (tags, _) = d.list_tags(&repo, TagSort::Tag, 0, 10).unwrap();
    assert_eq!(tags.len(), 1);
    assert_eq!(
        (tags[0].pusher.as_str(), tags[0].pushed_at),
        ("alice", 1_100)
    );
    assert!(refusals(&d)
        .iter()
        .any(|e| e.detail["why"] == "grant_expired"));
    // The retry of a recorded event is still a duplicate.
    let again = notify(&d, vec![pushed("g1", &tool, "v1", "alice", 1_100)]);
    assert_eq!(again.duplicates, 1);

    // A delete needs a grant of delete: push is not enough.
    let del = notify(&d, vec![deleted("d1", &tool, "v1", "alice", 1_150)]);
    assert_eq!(del.unauthorized, 1);
    assert_eq!(d.list_tags(&repo, TagSort::Tag, 0, 10).unwrap().1, 1);
    d.record_grants(&[grant("alice", &tool, GrantedAction::Delete, 1_140, 1_440)])
        .unwrap();
    let del = notify(&d, vec![deleted("d1", &tool, "v1", "alice", 1_150)]);
    assert_eq!((del.recorded, del.unauthorized), (1, 0), "{del:?}");
    assert_eq!(d.list_tags(&repo, TagSort::Tag, 0, 10).unwrap().1, 0);
}

pub(super) fn a_late_event_matches_its_old_interval_and_grants_merge_and_are_pruned<B: Backend>() {
    let (_t, d) = B::open();
    add_user(&d, "alice", true);
    let p = projects::add(&d, &operator(), "alpha", "alice", None, 1).unwrap();
    let tool = format!("{p}/tool");
    let push_grant = |from, until| grant("alice", &tool, GrantedAction::Push, from, until);
    // Overlapping intervals merge into one row; a later one stands alone.
    d.record_grants(&[push_grant(1_000, 1_300)]).unwrap();
    d.record_grants(&[push_grant(1_200, 1_500)]).unwrap();
    d.record_grants(&[push_grant(1_250, 1_300)]).unwrap();
    d.record_grants(&[push_grant(50_000, 50_300)]).unwrap();
    let mut held = d.grants_for(&[("alice", tool.as_str())]).unwrap();
    held.sort_by_key(|g| g.from);
    assert_eq!(
        held,
        vec![push_grant(1_000, 1_500), push_grant(50_000, 50_300)]
    );
    assert!(d.grants_for(&[("bob", tool.as_str())]).unwrap().is_empty());
    // Delivered late (after the later grant), the early push still matches its own.
    let c = notify(
        &d,
        vec![
            pushed("late", &tool, "v1", "alice", 1_450),
            pushed("gap", &tool, "v2", "alice", 20_000),
        ],
    );
    assert_eq!((c.recorded, c.unauthorized), (1, 1), "{c:?}");
    assert!(refusals(&d)
        .iter()
        .any(|e| e.detail["why"] == "between_grants"));
    // Pruned: the first interval ended before 2_000; an event of it is now refused.
    assert_eq!(d.prune_grants(2_000).unwrap(), 1);
    let c = notify(&d, vec![pushed("later", &tool, "v3", "alice", 1_100)]);
    assert_eq!(c.unauthorized, 1);
    assert_eq!(d.grants_for(&[("alice", tool.as_str())]).unwrap().len(), 1);
}

pub(super) fn grants_recorded_through_one_replica_admit_events_at_the_other<B: Backend>() {
    let (place, one) = B::open();
    let two = B::reopen(&place);
    add_user(&one, "alice", true);
    let p = projects::add(&one, &operator(), "alpha", "alice", None, 1).unwrap();
    let tool = format!("{p}/tool");
    one.record_grants(&[grant("alice", &tool, GrantedAction::Push, 1_000, 1_300)])
        .unwrap();
    let c = notify(
        &two,
        vec![
            pushed("r1", &tool, "v1", "alice", 1_010),
            pushed("r2", &format!("{p}/other"), "v1", "alice", 1_010),
        ],
    );
    assert_eq!((c.recorded, c.unauthorized), (1, 1), "{c:?}");
    let repos = one.list_repositories(p).unwrap();
    assert_eq!(repos.len(), 1, "{repos:?}");
    assert!(repos[0].name.ends_with("tool"), "{repos:?}");
}
