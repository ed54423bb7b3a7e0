//! "Why was I refused?": each requested action of a scope, granted or with its reason
//! in plain words — the same reasons `decide` gives the token log line.
//!
//! A caller who may not see the repository (no READ where it would be, and not an
//! admin) learns nothing about it: every reason that depends on the repository or its
//! project (missing, in the trash, not certified to create there, no permission)
//! becomes the one answer the read API gives for hidden and missing entities alike.
//! Reasons about the caller's own credential (a missing scope, anonymous) and the
//! request itself (a bad path, an unknown action) are said as they are.

use super::caller::Caller;
use super::facts::{ProjectFacts, RepoFacts, RepoState, Target};
use super::sharing;
use super::token_rules::{decide, Reason};
use crate::domain::model::AccessSet;

/// The answer for one requested action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub action: String,
    /// `None` when granted.
    pub refusal: Option<Refusal>,
}

/// Why an action is refused, as a code and in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Because(Reason),
    /// Missing, or the caller may not see it: told apart to nobody.
    Hidden,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Because(r) => r.as_str(),
            Refusal::Hidden => "not_found_or_hidden",
        }
    }

    pub fn words(self) -> &'static str {
        match self {
            Refusal::Hidden => "not found, or you may not see it",
            Refusal::Because(r) => match r {
                Reason::MissingDownloadScope => "your credential lacks the download scope",
                Reason::MissingModifyScope => "your credential lacks the modify scope",
                Reason::MissingViewScope => "your credential lacks the view scope",
                Reason::InTrash => "the repository or its project is in the trash",
                Reason::RepositoryUnknown => "the repository does not exist yet",
                Reason::NoDownloadPermission => {
                    "you have no DOWNLOAD permission on the repository; you may request access"
                }
                Reason::Anonymous => "anonymous callers may only pull; sign in",
                Reason::NotCertified => "you are not certified: only certified users may push",
                Reason::NoUpdatePermission => "you have no UPDATE permission on the repository",
                Reason::NoCreatePermission => {
                    "you have no CREATE permission on the project, needed for a new repository"
                }
                Reason::NoDeletePermission => "you have no DELETE permission on the repository",
                Reason::InvalidPath => {
                    "not a repository path: use <project id>/<name>, e.g. syn123/tool"
                }
                Reason::ProjectMissing => "no such project",
                Reason::NotAProject => "the first path segment is not a project",
                Reason::NotAdmin => "only admins may list the catalog",
                Reason::UnknownAction => "unknown action: use pull, push, delete or *",
                Reason::UnsupportedResource => "this registry grants nothing on that resource",
                Reason::OutsideTrustPolicy => {
                    "the trust policy that admitted this workload does not cover it"
                }
            },
        }
    }
}

/// Explains `decide(caller, target, actions)` action by action, in the order asked,
/// to the caller itself.
pub fn explain(caller: &Caller, target: &Target, actions: &[String]) -> Vec<Verdict> {
    let visible = match target {
        Target::Repository(facts) => may_see(caller, facts),
        _ => true,
    };
    verdicts(caller, target, actions, visible)
}

/// Explains to an admin, who may see everything, why `caller` gets what it gets.
pub fn explain_to_admin(caller: &Caller, target: &Target, actions: &[String]) -> Vec<Verdict> {
    verdicts(caller, target, actions, true)
}

fn verdicts(caller: &Caller, target: &Target, actions: &[String], visible: bool) -> Vec<Verdict> {
    let decision = decide(caller, target, actions);
    let mut out: Vec<Verdict> = Vec::with_capacity(actions.len());
    for action in actions {
        if out.iter().any(|v| &v.action == action) {
            continue;
        }
        let refusal = if decision.granted.contains(action) {
            None
        } else {
            let reason = decision
                .denied
                .iter()
                .find(|d| &d.action == action)
                .map_or(Reason::UnknownAction, |d| d.reason);
            Some(if visible || about_the_caller(reason) {
                Refusal::Because(reason)
            } else {
                Refusal::Hidden
            })
        };
        out.push(Verdict {
            action: action.clone(),
            refusal,
        });
    }
    out
}

/// Reasons that tell nothing about the repository.
fn about_the_caller(reason: Reason) -> bool {
    matches!(
        reason,
        Reason::MissingDownloadScope
            | Reason::MissingModifyScope
            | Reason::MissingViewScope
            | Reason::Anonymous
            | Reason::InvalidPath
            | Reason::UnknownAction
            | Reason::UnsupportedResource
            | Reason::OutsideTrustPolicy
            | Reason::NotAdmin
    )
}

/// Whether the caller may know the repository's state: an admin, or READ in the ACL
/// that applies (the repository's, or for a new one its project's).
fn may_see(caller: &Caller, facts: &RepoFacts) -> bool {
    if caller.is_admin() {
        return true;
    }
    let ProjectFacts::Project { acl, .. } = &facts.project else {
        return false;
    };
    let applies = match &facts.repo {
        RepoState::Unknown => acl,
        RepoState::Managed { local_acl, .. } => sharing::effective_acl(local_acl.as_ref(), acl),
    };
    caller.access_in(applies).contains(AccessSet::READ)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::authz::caller::CallerUser;
    use crate::domain::model::{Acl, Principal, ScopeSet, UserId};

    fn user(certified: bool, scopes: ScopeSet) -> Caller {
        Caller {
            user: Some(CallerUser {
                id: UserId(7),
                name: "bob".into(),
                certified,
                admin: false,
                teams: vec![],
            }),
            scopes,
            token: None,
        }
    }

    fn repo(project_acl: Acl, repo: RepoState, trashed: bool) -> Target {
        Target::Repository(RepoFacts {
            project: ProjectFacts::Project {
                trashed,
                acl: project_acl,
            },
            repo,
        })
    }

    fn acl(access: AccessSet) -> Acl {
        Acl::new(vec![(Principal::User(UserId(7)), access)])
    }

    fn ask(
        caller: &Caller,
        target: &Target,
        actions: &[&str],
    ) -> Vec<(String, Option<&'static str>)> {
        let actions: Vec<String> = actions.iter().map(|a| a.to_string()).collect();
        explain(caller, target, &actions)
            .into_iter()
            .map(|v| (v.action, v.refusal.map(Refusal::code)))
            .collect()
    }

    const EXISTING: RepoState = RepoState::Managed {
        trashed: false,
        local_acl: None,
    };

    #[test]
    fn a_reader_is_told_the_real_reason_for_each_action() {
        let bob = user(false, ScopeSet::PASSWORD);
        let t = repo(acl(AccessSet::READ | AccessSet::DOWNLOAD), EXISTING, false);
        assert_eq!(
            ask(&bob, &t, &["pull", "push", "pull"]),
            [
                ("pull".into(), None),
                ("push".into(), Some("not_certified"))
            ]
        );
        let certified = user(true, ScopeSet::PASSWORD);
        assert_eq!(
            ask(&certified, &t, &["push", "delete"]),
            [
                ("push".into(), Some("no_update_permission")),
                ("delete".into(), Some("no_delete_permission"))
            ]
        );
        let trashed = repo(acl(AccessSet::READ | AccessSet::DOWNLOAD), EXISTING, true);
        assert_eq!(
            ask(&bob, &trashed, &["pull"]),
            [("pull".into(), Some("in_trash"))]
        );
    }

    #[test]
    fn without_read_every_repository_reason_is_the_same_hidden_answer() {
        let bob = user(true, ScopeSet::PASSWORD);
        let hidden = Some("not_found_or_hidden");
        let cases = [
            repo(Acl::default(), EXISTING, false),
            repo(Acl::default(), EXISTING, true),
            repo(Acl::default(), RepoState::Unknown, false),
            repo(acl(AccessSet::DOWNLOAD), RepoState::Unknown, false),
            Target::Repository(RepoFacts {
                project: ProjectFacts::Missing,
                repo: RepoState::Unknown,
            }),
            Target::Repository(RepoFacts {
                project: ProjectFacts::NotAProject,
                repo: RepoState::Unknown,
            }),
        ];
        for t in &cases {
            assert_eq!(
                ask(&bob, t, &["pull", "push", "delete"]),
                [
                    ("pull".into(), hidden),
                    ("push".into(), hidden),
                    ("delete".into(), hidden)
                ],
                "{t:?}"
            );
        }
        // What is about the credential or the request is still said.
        let reader = user(true, ScopeSet::VIEW | ScopeSet::DOWNLOAD);
        assert_eq!(
            ask(&reader, &cases[0], &["push", "fly"]),
            [
                ("push".into(), Some("missing_modify_scope")),
                ("fly".into(), Some("unknown_action"))
            ]
        );
        assert_eq!(
            ask(&Caller::anonymous(), &cases[0], &["push"]),
            [("push".into(), Some("missing_modify_scope"))]
        );
    }

    #[test]
    fn an_admin_is_told_the_real_reason_behind_the_hidden_answer() {
        let bob = user(true, ScopeSet::PASSWORD);
        let t = repo(Acl::default(), EXISTING, true);
        let actions = vec!["pull".to_string()];
        let v = explain_to_admin(&bob, &t, &actions);
        assert_eq!(v[0].refusal, Some(Refusal::Because(Reason::InTrash)));
    }

    #[test]
    fn local_sharing_settings_decide_visibility() {
        let bob = user(true, ScopeSet::PASSWORD);
        let local = RepoState::Managed {
            trashed: false,
            local_acl: Some(Acl::default()),
        };
        // READ on the project, but the repository's own settings leave bob out.
        let t = repo(acl(AccessSet::READ), local, false);
        assert_eq!(
            ask(&bob, &t, &["pull"]),
            [("pull".into(), Some("not_found_or_hidden"))]
        );
    }

    #[test]
    fn every_reason_has_words_of_its_own() {
        let all = [
            Reason::MissingDownloadScope,
            Reason::MissingModifyScope,
            Reason::MissingViewScope,
            Reason::InTrash,
            Reason::RepositoryUnknown,
            Reason::NoDownloadPermission,
            Reason::Anonymous,
            Reason::NotCertified,
            Reason::NoUpdatePermission,
            Reason::NoCreatePermission,
            Reason::NoDeletePermission,
            Reason::InvalidPath,
            Reason::ProjectMissing,
            Reason::NotAProject,
            Reason::NotAdmin,
            Reason::UnknownAction,
            Reason::UnsupportedResource,
            Reason::OutsideTrustPolicy,
        ];
        let mut words: Vec<&str> = all.iter().map(|r| Refusal::Because(*r).words()).collect();
        words.push(Refusal::Hidden.words());
        let mut distinct = words.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), words.len(), "two reasons read the same");
        // The hidden answer is the read API's, word for word.
        assert_eq!(Refusal::Hidden.words(), "not found, or you may not see it");
        assert_eq!(Refusal::Hidden.code(), "not_found_or_hidden");
        assert_eq!(
            Refusal::Because(Reason::NotCertified).words(),
            "you are not certified: only certified users may push"
        );
    }
}
