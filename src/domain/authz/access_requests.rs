//! Who may file, see and decide access requests, and what an approval grants.
//!
//! Filing needs a signed-in user who can see the entity (READ, out of the trash) but
//! cannot download from it: a request for something one cannot see would tell the
//! requester whether it exists. Deciding needs CHANGE_PERMISSIONS (as any sharing
//! change does); an approval grants the requester READ and DOWNLOAD, by the same
//! `sharing::grant` the CLI uses.

use super::caller::Caller;
use super::entity_rules::{self, Refusal};
use super::facts::EntityFacts;
use super::sharing::{self, SharingChange};
use crate::domain::model::{AccessSet, Principal, UserId};

/// What an approval grants.
const GRANTED: AccessSet = AccessSet::READ.union(AccessSet::DOWNLOAD);
/// Longest message or reason, in characters.
const MAX_TEXT: usize = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FileRefusal {
    #[error("sign in to request access")]
    Anonymous,
    #[error("not found, or you may not see it")]
    Hidden,
    #[error("you can already download from it")]
    AlreadyGranted,
}

/// Whether `caller` may file a request on the entity.
pub fn may_file(caller: &Caller, facts: &EntityFacts) -> Result<(), FileRefusal> {
    if caller.user.is_none() {
        return Err(FileRefusal::Anonymous);
    }
    let effective = sharing::effective(facts);
    if effective.trashed {
        return Err(FileRefusal::Hidden);
    }
    let mine = caller.access_in(effective.acl);
    if !mine.contains(AccessSet::READ) {
        return Err(FileRefusal::Hidden);
    }
    if mine.contains(AccessSet::DOWNLOAD) || caller.is_admin() {
        return Err(FileRefusal::AlreadyGranted);
    }
    Ok(())
}

/// Whether `caller` may list and decide the entity's requests.
pub fn may_decide(caller: &Caller, facts: &EntityFacts) -> Result<(), Refusal> {
    entity_rules::may_change(caller, facts, AccessSet::CHANGE_PERMISSIONS, false)
}

/// The sharing change an approval makes.
pub fn approval(facts: &EntityFacts, requester: UserId) -> SharingChange {
    sharing::grant(facts, Principal::User(requester), GRANTED)
}

/// A message or reason: trimmed, not blank (when required), not a novel.
pub fn text(s: &str, required: bool) -> Result<Option<String>, String> {
    let t = s.trim();
    if t.is_empty() {
        return if required {
            Err("must not be empty".into())
        } else {
            Ok(None)
        };
    }
    if t.chars().count() > MAX_TEXT || t.chars().any(|c| c.is_control() && c != '\n') {
        return Err(format!(
            "at most {MAX_TEXT} characters, no control characters"
        ));
    }
    Ok(Some(t.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::authz::caller::CallerUser;
    use crate::domain::model::{Acl, ScopeSet};

    const BOB: UserId = UserId(2);

    fn bob(admin: bool) -> Caller {
        Caller {
            user: Some(CallerUser {
                id: BOB,
                name: "bob".into(),
                certified: false,
                admin,
                teams: vec![],
            }),
            scopes: ScopeSet::PASSWORD,
            token: None,
        }
    }

    fn project(trashed: bool, bobs: AccessSet) -> EntityFacts {
        EntityFacts::test_project(trashed, Acl::new(vec![(Principal::User(BOB), bobs)]))
    }

    #[test]
    fn filing_needs_read_without_download() {
        assert_eq!(
            may_file(&bob(false), &project(false, AccessSet::READ)),
            Ok(())
        );
        assert_eq!(
            may_file(&bob(false), &project(false, GRANTED)),
            Err(FileRefusal::AlreadyGranted)
        );
        assert_eq!(
            may_file(&bob(true), &project(false, AccessSet::READ)),
            Err(FileRefusal::AlreadyGranted)
        );
        for hidden in [
            project(false, AccessSet::empty()),
            project(true, AccessSet::READ),
        ] {
            assert_eq!(may_file(&bob(false), &hidden), Err(FileRefusal::Hidden));
        }
        assert_eq!(
            may_file(&Caller::anonymous(), &project(false, AccessSet::READ)),
            Err(FileRefusal::Anonymous)
        );
    }

    #[test]
    fn approval_adds_read_and_download_to_what_the_requester_had() {
        let facts = project(false, AccessSet::READ | AccessSet::UPDATE);
        let SharingChange::Set(acl) = approval(&facts, BOB) else {
            panic!("a project's approval sets its ACL");
        };
        assert_eq!(
            acl.entry(&Principal::User(BOB)),
            AccessSet::READ | AccessSet::UPDATE | AccessSet::DOWNLOAD
        );
    }

    #[test]
    fn deciding_needs_change_permissions() {
        assert_eq!(
            may_decide(&bob(false), &project(false, AccessSet::READ)),
            Err(Refusal::Lacks(AccessSet::CHANGE_PERMISSIONS))
        );
        assert_eq!(
            may_decide(&bob(false), &project(false, AccessSet::all())),
            Ok(())
        );
    }

    #[test]
    fn texts_are_trimmed_and_bounded() {
        assert_eq!(text("  please  ", true), Ok(Some("please".into())));
        assert!(text(" ", true).is_err());
        assert_eq!(text(" ", false), Ok(None));
        assert!(text(&"x".repeat(MAX_TEXT + 1), true).is_err());
        assert!(
            text(&"é".repeat(MAX_TEXT), true).is_ok(),
            "characters, not bytes"
        );
        assert!(text("a\u{7}b", true).is_err());
        assert_eq!(text("line\nline", true), Ok(Some("line\nline".into())));
    }
}
