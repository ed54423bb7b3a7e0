//! What a matching trust policy confines a workload's registry token to: repositories
//! of its project whose names match its pattern, the actions it names (push brings pull,
//! which the registry needs to push at all; never delete), and a lifetime no longer than
//! the OIDC token's nor the policy's limit. Within that, the creator's own rights at the
//! time of the request decide (`authz::decide` with the creator as caller).

use super::glob;
use crate::domain::authz::{Decision, Denial, Reason};
use crate::domain::model::{EntityId, ScopeSet, TrustPolicy, UnixTime, WorkloadActions};
use crate::domain::repo_name::RepoPath;

/// The bounds of one workload token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    pub policy: i64,
    pub project: EntityId,
    /// A glob over the repository's name inside the project.
    pub repositories: String,
    pub actions: WorkloadActions,
    /// The registry token expires no later than this.
    pub expires_by: UnixTime,
}

impl Reach {
    /// `policy`'s bounds for a token whose OIDC token expires at `token_expires`.
    pub fn of(policy: &TrustPolicy, token_expires: UnixTime, now: UnixTime) -> Reach {
        let p = &policy.policy;
        Reach {
            policy: policy.id,
            project: p.project,
            repositories: p.repositories.clone(),
            actions: p.actions,
            expires_by: token_expires.min(now.saturating_add(i64::from(p.max_lifetime_secs))),
        }
    }

    /// The credential scopes the workload acts with: reading always, modifying only
    /// under a push policy; never `authorize`.
    pub fn scopes(&self) -> ScopeSet {
        let mut s = ScopeSet::VIEW | ScopeSet::DOWNLOAD;
        if self.actions.contains(WorkloadActions::PUSH) {
            s |= ScopeSet::MODIFY;
        }
        s
    }

    /// Whether a requested scope lies inside: a repository of the project whose name
    /// matches the pattern.
    pub fn covers(&self, resource_type: &str, name: &str) -> bool {
        if resource_type != "repository" {
            return false;
        }
        match RepoPath::parse(name) {
            Ok(path) => {
                path.project() == self.project && glob::matches(&self.repositories, path.name())
            }
            Err(_) => false,
        }
    }

    fn allows(&self, action: &str) -> bool {
        match action {
            "pull" => !self.actions.is_empty(),
            "push" => self.actions.contains(WorkloadActions::PUSH),
            _ => false,
        }
    }

    /// `decision` (the creator's rights on the scope) cut down to the reach: outside it
    /// every requested action is refused; inside it only pull and push survive (a `*`
    /// becomes what of them was granted).
    pub fn confine(
        &self,
        resource_type: &str,
        name: &str,
        asked: &[String],
        decision: Decision,
    ) -> Decision {
        let outside = |action: &str| Denial {
            action: action.to_string(),
            reason: Reason::OutsideTrustPolicy,
        };
        if !self.covers(resource_type, name) {
            return Decision {
                granted: Vec::new(),
                denied: asked.iter().map(|a| outside(a)).collect(),
            };
        }
        let Decision {
            granted,
            mut denied,
        } = decision;
        let mut kept = Vec::new();
        for g in granted {
            let expanded: Vec<String> = if g == "*" {
                vec!["pull".into(), "push".into(), "delete".into()]
            } else {
                vec![g]
            };
            for a in expanded {
                if self.allows(&a) {
                    kept.push(a);
                } else if !denied.iter().any(|d| d.action == a) {
                    denied.push(outside(&a));
                }
            }
        }
        kept.sort();
        kept.dedup();
        // Only what was asked is listed (a `*` asked for lists what it became).
        let star = asked.iter().any(|a| a == "*");
        kept.retain(|a| star || asked.contains(a));
        denied.retain(|d| !kept.contains(&d.action));
        Decision {
            granted: kept,
            denied,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::{NewTrustPolicy, UserId};

    fn reach(actions: WorkloadActions) -> Reach {
        let policy = TrustPolicy {
            id: 3,
            policy: NewTrustPolicy {
                project: EntityId(1000),
                creator: UserId(1),
                issuer: "https://issuer".into(),
                audience: "regauth".into(),
                conditions: vec![],
                repositories: "tool-*".into(),
                actions,
                max_lifetime_secs: 600,
                created_at: 0,
            },
            creator_name: "alice".into(),
        };
        Reach::of(&policy, 10_000, 1_000)
    }

    fn granted(list: &[&str]) -> Decision {
        Decision {
            granted: list.iter().map(|s| s.to_string()).collect(),
            denied: vec![],
        }
    }

    fn asked(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn lifetime_is_the_shorter_of_token_and_policy() {
        assert_eq!(reach(WorkloadActions::PULL).expires_by, 1_600);
        let policy_longer = Reach::of(
            &TrustPolicy {
                id: 1,
                policy: NewTrustPolicy {
                    max_lifetime_secs: 100_000,
                    ..reach_policy()
                },
                creator_name: "alice".into(),
            },
            1_300,
            1_000,
        );
        assert_eq!(policy_longer.expires_by, 1_300);
    }

    fn reach_policy() -> NewTrustPolicy {
        NewTrustPolicy {
            project: EntityId(1000),
            creator: UserId(1),
            issuer: "https://issuer".into(),
            audience: "regauth".into(),
            conditions: vec![],
            repositories: "*".into(),
            actions: WorkloadActions::PULL,
            max_lifetime_secs: 600,
            created_at: 0,
        }
    }

    #[test]
    fn only_repositories_of_the_project_matching_the_pattern() {
        let r = reach(WorkloadActions::PULL | WorkloadActions::PUSH);
        assert!(r.covers("repository", "syn1000/tool-a"));
        assert!(!r.covers("repository", "syn1000/tool"));
        assert!(!r.covers("repository", "syn1001/tool-a"));
        assert!(!r.covers("repository", "syn1000/tool-a/sub"));
        assert!(!r.covers("registry", "catalog"));
        assert!(!r.covers("repository", "not a path"));
        let out = r.confine(
            "repository",
            "syn1001/tool-a",
            &asked(&["pull", "push"]),
            granted(&["pull", "push"]),
        );
        assert!(out.granted.is_empty());
        assert!(out
            .denied
            .iter()
            .all(|d| d.reason == Reason::OutsideTrustPolicy));
        assert_eq!(out.denied.len(), 2);
    }

    #[test]
    fn actions_cut_to_the_policy_and_never_delete() {
        let pull_only = reach(WorkloadActions::PULL);
        assert_eq!(pull_only.scopes(), ScopeSet::VIEW | ScopeSet::DOWNLOAD);
        let out = pull_only.confine(
            "repository",
            "syn1000/tool-a",
            &asked(&["pull", "push"]),
            granted(&["pull", "push"]),
        );
        assert_eq!(out.granted, vec!["pull"]);
        assert_eq!(out.denied[0].action, "push");

        let push = reach(WorkloadActions::PUSH);
        assert!(push.scopes().contains(ScopeSet::MODIFY));
        assert!(!push.scopes().contains(ScopeSet::AUTHORIZE));
        let star = push.confine(
            "repository",
            "syn1000/tool-a",
            &asked(&["*"]),
            granted(&["*"]),
        );
        assert_eq!(star.granted, vec!["pull", "push"]);
        assert_eq!(star.denied[0].action, "delete");
        let del = push.confine(
            "repository",
            "syn1000/tool-a",
            &asked(&["delete"]),
            granted(&["delete"]),
        );
        assert!(del.granted.is_empty());
    }

    #[test]
    fn the_creators_refusals_stay() {
        let r = reach(WorkloadActions::PULL | WorkloadActions::PUSH);
        let creator_says = Decision {
            granted: vec!["pull".into()],
            denied: vec![Denial {
                action: "push".into(),
                reason: Reason::NoUpdatePermission,
            }],
        };
        let out = r.confine(
            "repository",
            "syn1000/tool-a",
            &asked(&["pull", "push"]),
            creator_says,
        );
        assert_eq!(out.granted, vec!["pull"]);
        assert_eq!(out.denied[0].reason, Reason::NoUpdatePermission);
    }
}
