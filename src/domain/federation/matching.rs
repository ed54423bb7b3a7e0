//! Which trust policy a workload's verified token matches, and when none does, which
//! condition of each policy failed: the same evaluation answers the token path and
//! `explain`, so what a workload is told is what was decided.

use super::glob;
use crate::domain::model::{ClaimMatch, TrustPolicy, WorkloadClaims};

/// Claims that name something immutable (a numeric id or uid the provider never
/// reuses): a policy that pins one of them exactly cannot be inherited by whoever
/// registers a deleted repository's, project's or account's name again.
pub const IMMUTABLE_CLAIMS: &[&str] = &[
    "repository_id",
    "repository_owner_id",
    "project_id",
    "namespace_id",
    "kubernetes.io.serviceaccount.uid",
];

/// A policy that matched, and the claims that made it match (for the audit trail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched<'a> {
    pub policy: &'a TrustPolicy,
    /// `claim=value` for `iss`, `aud` and every condition.
    pub claims: Vec<String>,
}

/// The first condition of a policy that the token does not meet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub policy: i64,
    /// The claim (`iss`, `aud`, or a condition's claim).
    pub claim: String,
    /// What was wrong: `missing`, `differs`, `does not match <pattern>`.
    pub why: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "policy {}: claim {} {}",
            self.policy, self.claim, self.why
        )
    }
}

/// Whether `claims` meet `policy`: issuer equal, the policy's audience among the token's,
/// and every condition. Claims are compared exactly (no case folding, no trimming).
pub fn evaluate<'a>(
    policy: &'a TrustPolicy,
    claims: &WorkloadClaims,
) -> Result<Matched<'a>, Mismatch> {
    let p = &policy.policy;
    let miss = |claim: &str, why: String| Mismatch {
        policy: policy.id,
        claim: claim.to_string(),
        why,
    };
    if claims.issuer != p.issuer {
        return Err(miss("iss", "differs".into()));
    }
    if !claims.audience.iter().any(|a| a == &p.audience) {
        return Err(miss("aud", format!("does not contain {:?}", p.audience)));
    }
    let mut matched = vec![
        format!("iss={}", claims.issuer),
        format!("aud={}", p.audience),
        format!("sub={}", claims.subject),
    ];
    for c in &p.conditions {
        let value = if c.claim == "sub" {
            Some(claims.subject.as_str())
        } else {
            claims.claims.get(&c.claim).map(String::as_str)
        };
        let Some(value) = value else {
            return Err(miss(&c.claim, "missing".into()));
        };
        let ok = match &c.matcher {
            ClaimMatch::Exact(want) => value == want,
            ClaimMatch::Glob(pattern) => glob::matches(pattern, value),
        };
        if !ok {
            let why = match &c.matcher {
                ClaimMatch::Exact(want) => format!("is {value:?}, not {want:?}"),
                ClaimMatch::Glob(pattern) => format!("{value:?} does not match {pattern:?}"),
            };
            return Err(miss(&c.claim, why));
        }
        if c.claim != "sub" {
            matched.push(format!("{}={value}", c.claim));
        }
    }
    Ok(Matched {
        policy,
        claims: matched,
    })
}

/// The first policy (oldest first) the claims meet, or every policy's first failed
/// condition.
pub fn first_match<'a>(
    policies: &'a [TrustPolicy],
    claims: &WorkloadClaims,
) -> Result<Matched<'a>, Vec<Mismatch>> {
    let mut misses = Vec::new();
    for p in policies {
        match evaluate(p, claims) {
            Ok(m) => return Ok(m),
            Err(m) => misses.push(m),
        }
    }
    Err(misses)
}

/// Whether a policy pins at least one immutable id exactly; one that matches names
/// only is flagged wherever it is shown (names are reused).
pub fn pins_ids(policy: &TrustPolicy) -> bool {
    policy.policy.conditions.iter().any(|c| {
        IMMUTABLE_CLAIMS.contains(&c.claim.as_str()) && matches!(c.matcher, ClaimMatch::Exact(_))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::{ClaimCondition, EntityId, NewTrustPolicy, UserId, WorkloadActions};

    fn policy(id: i64, conditions: Vec<ClaimCondition>) -> TrustPolicy {
        TrustPolicy {
            id,
            policy: NewTrustPolicy {
                project: EntityId(1000),
                creator: UserId(1),
                issuer: "https://token.actions.githubusercontent.com".into(),
                audience: "regauth".into(),
                conditions,
                repositories: "tool".into(),
                actions: WorkloadActions::PULL | WorkloadActions::PUSH,
                max_lifetime_secs: 900,
                created_at: 0,
            },
            creator_name: "alice".into(),
        }
    }

    fn exact(claim: &str, v: &str) -> ClaimCondition {
        ClaimCondition {
            claim: claim.into(),
            matcher: ClaimMatch::Exact(v.into()),
        }
    }

    fn github() -> WorkloadClaims {
        let mut claims = WorkloadClaims {
            issuer: "https://token.actions.githubusercontent.com".into(),
            subject: "repo:org/tool:ref:refs/heads/main".into(),
            audience: vec!["regauth".into()],
            expires_at: 2_000,
            jti: Some("j1".into()),
            ..WorkloadClaims::default()
        };
        for (k, v) in [
            ("repository", "org/tool"),
            ("repository_id", "42"),
            ("ref", "refs/heads/main"),
        ] {
            claims.claims.insert(k.into(), v.into());
        }
        claims
    }

    #[test]
    fn every_condition_must_hold_and_the_first_failure_is_named() {
        let p = policy(
            7,
            vec![
                exact("repository", "org/tool"),
                exact("repository_id", "42"),
                ClaimCondition {
                    claim: "sub".into(),
                    matcher: ClaimMatch::Glob("repo:org/tool:ref:refs/heads/*".into()),
                },
            ],
        );
        let m = evaluate(&p, &github()).unwrap();
        assert!(m.claims.contains(&"repository_id=42".to_string()));

        let mut other = github();
        other.claims.insert("repository_id".into(), "43".into());
        let miss = evaluate(&p, &other).unwrap_err();
        assert_eq!((miss.policy, miss.claim.as_str()), (7, "repository_id"));

        let mut no_claim = github();
        no_claim.claims.remove("repository");
        assert_eq!(evaluate(&p, &no_claim).unwrap_err().why, "missing");

        let mut tag = github();
        tag.subject = "repo:org/tool:ref:refs/tags/v1".into();
        assert_eq!(evaluate(&p, &tag).unwrap_err().claim, "sub");
    }

    #[test]
    fn issuer_and_audience_are_exact() {
        let p = policy(1, vec![]);
        let mut wrong_aud = github();
        wrong_aud.audience = vec!["https://github.com/org".into(), "regauth-x".into()];
        assert_eq!(evaluate(&p, &wrong_aud).unwrap_err().claim, "aud");
        let mut several = github();
        several.audience = vec!["other".into(), "regauth".into()];
        assert!(evaluate(&p, &several).is_ok());
        let mut wrong_iss = github();
        wrong_iss.issuer.push('/');
        assert_eq!(evaluate(&p, &wrong_iss).unwrap_err().claim, "iss");
    }

    #[test]
    fn first_match_or_every_policys_reason() {
        let a = policy(1, vec![exact("ref", "refs/heads/dev")]);
        let b = policy(2, vec![exact("ref", "refs/heads/main")]);
        let both = [a.clone(), b];
        assert_eq!(first_match(&both, &github()).unwrap().policy.id, 2);
        let misses = first_match(&[a], &github()).unwrap_err();
        assert_eq!(misses.len(), 1);
        assert_eq!(
            misses[0].to_string(),
            "policy 1: claim ref is \"refs/heads/main\", not \"refs/heads/dev\""
        );
    }

    #[test]
    fn names_only_is_told_apart_from_pinned_ids() {
        assert!(!pins_ids(&policy(1, vec![exact("repository", "org/tool")])));
        assert!(pins_ids(&policy(1, vec![exact("repository_id", "42")])));
        let glob_id = ClaimCondition {
            claim: "repository_id".into(),
            matcher: ClaimMatch::Glob("*".into()),
        };
        assert!(!pins_ids(&policy(1, vec![glob_id])));
    }
}
