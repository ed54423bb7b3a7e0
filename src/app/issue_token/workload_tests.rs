//! The token use case for CI jobs' OIDC tokens, with in-memory ports: a trust policy
//! admits a workload with its creator's current rights, cut to the policy's reach; every
//! way of losing that is tested (creator disabled, right removed, policy removed, other
//! repository or project, trash), and no refresh token is ever issued.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::tests::{built_with, request, WithGrants};
use super::*;
use crate::app::credentials::DirectoryCredentials;
use crate::app::test_doubles::MemDirectory;
use crate::app::workload_login::{FederatedCredentials, WorkloadLogins, WorkloadPorts};
use crate::domain::audit::AuditEvent;
use crate::domain::authz::{ProjectFacts, RepoState};
use crate::domain::model::{
    AccessSet, Acl, ClaimCondition, ClaimMatch, EntityId, NewTrustPolicy, Principal, TrustPolicy,
    UnixTime, User, UserCredentials, UserId, WorkloadActions, WorkloadClaims,
};
use crate::domain::ports::{OidcRejection, OidcVerifier, TrustPolicyStore};

const NOW: i64 = 1_795_357_380;
const ISS: &str = "https://token.actions.githubusercontent.com";
const GOOD: &str = "good-token";

/// Tokens by their text: what a real verifier would have checked and flattened.
#[derive(Default)]
struct Verifier(
    HashMap<String, Result<WorkloadClaims, OidcRejection>>,
    std::sync::atomic::AtomicUsize,
);

impl OidcVerifier for Verifier {
    fn verify(&self, token: &str, now: UnixTime, _: Pace) -> Result<WorkloadClaims, OidcRejection> {
        self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let expired = self
            .0
            .get(token)
            .and_then(|c| c.as_ref().ok())
            .is_some_and(|c| now >= c.expires_at);
        if expired {
            return Err(OidcRejection::Rejected("expired"));
        }
        self.0
            .get(token)
            .cloned()
            .unwrap_or(Err(OidcRejection::Rejected("bad signature")))
    }
    fn issuers(&self) -> Vec<String> {
        vec![ISS.into()]
    }
}

#[derive(Default)]
struct Policies(Mutex<Vec<TrustPolicy>>);

impl TrustPolicyStore for Policies {
    fn create_trust_policy(&self, _: &NewTrustPolicy) -> DirResult<TrustPolicy> {
        unreachable!("not on the token path")
    }
    fn list_trust_policies(&self, _: EntityId) -> DirResult<Vec<TrustPolicy>> {
        unreachable!("not on the token path")
    }
    fn delete_trust_policy(&self, _: EntityId, id: i64) -> DirResult<()> {
        self.0.lock().unwrap().retain(|p| p.id != id);
        Ok(())
    }
    fn trust_policies_for_issuer(&self, issuer: &str, _: Pace) -> DirResult<Vec<TrustPolicy>> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.policy.issuer == issuer)
            .cloned()
            .collect())
    }
}

fn claims(repository_id: &str, exp: i64) -> WorkloadClaims {
    let mut c = WorkloadClaims {
        issuer: ISS.into(),
        subject: "repo:org/tool:ref:refs/heads/main".into(),
        audience: vec!["regauth".into()],
        expires_at: exp,
        jti: Some(format!("jti-{repository_id}-{exp}")),
        ..WorkloadClaims::default()
    };
    c.claims
        .insert("repository_id".into(), repository_id.into());
    c.claims.insert("ref".into(), "refs/heads/main".into());
    c
}

fn policy(actions: WorkloadActions) -> TrustPolicy {
    TrustPolicy {
        id: 9,
        policy: NewTrustPolicy {
            project: EntityId(1000),
            creator: UserId(1),
            issuer: ISS.into(),
            audience: "regauth".into(),
            conditions: vec![ClaimCondition {
                claim: "repository_id".into(),
                matcher: ClaimMatch::Exact("42".into()),
            }],
            repositories: "tool*".into(),
            actions,
            max_lifetime_secs: 600,
            created_at: NOW,
        },
        creator_name: "alice".into(),
    }
}

/// alice (certified) may CREATE, UPDATE and DOWNLOAD in syn1000 (`tool` exists, `tool2`
/// is new); syn2000/tool exists and alice may do everything there too (outside the
/// policy's project); bob (not certified) owns nothing.
fn directory(alice_disabled: bool, alice_access: AccessSet, trashed: bool) -> MemDirectory {
    let mut d = MemDirectory::default();
    d.users.push(UserCredentials {
        user: User {
            id: UserId(1),
            name: "alice".into(),
            certified: true,
            admin: false,
            disabled: alice_disabled,
            email: None,
        },
        password_hash: None,
    });
    let project = |trashed| ProjectFacts::Project {
        trashed,
        acl: Acl::new(vec![(Principal::User(UserId(1)), alice_access)]),
    };
    let existing = RepoState::Managed {
        trashed: false,
        local_acl: None,
    };
    for (path, p, repo) in [
        ("syn1000/tool", project(trashed), existing.clone()),
        ("syn1000/tool2", project(trashed), RepoState::Unknown),
        ("syn1000/other", project(trashed), existing.clone()),
        ("syn2000/tool", project(false), existing),
    ] {
        d.repos.insert(path.into(), RepoFacts { project: p, repo });
    }
    d
}

struct World {
    issuer: TokenIssuer,
    verifier: Arc<Verifier>,
    policies: Arc<Policies>,
    sink: Arc<crate::app::audit::MemorySink>,
    clock: Arc<crate::app::test_doubles::FixedClock>,
}

fn world(dir: MemDirectory, policy: TrustPolicy, tokens: Vec<(&str, WorkloadClaims)>) -> World {
    let policies = Arc::new(Policies(Mutex::new(vec![policy])));
    let verifier = Arc::new(Verifier(
        tokens
            .into_iter()
            .map(|(t, c)| (t.to_string(), Ok(c)))
            .collect(),
        Default::default(),
    ));
    let store_policies = policies.clone();
    let verifier_handle = verifier.clone();
    let clock = Arc::new(crate::app::test_doubles::FixedClock::at(NOW));
    let workload_clock = clock.clone();
    let sink = Arc::new(crate::app::audit::MemorySink::default());
    let workload_sink = sink.clone();
    let built: WithGrants = built_with(dir, move |auth, dir| {
        let clock = workload_clock;
        let audit = Arc::new(crate::app::audit::Audit::new(workload_sink, true));
        Arc::new(FederatedCredentials {
            inner: Arc::new(DirectoryCredentials {
                auth: auth.clone(),
                facts: dir.clone(),
            }),
            workloads: WorkloadLogins::new(WorkloadPorts {
                verifier,
                policies: store_policies,
                store: dir,
                clock,
                audit,
            }),
            auth,
        })
    });
    let (_, _, issuer, _, _) = built;
    World {
        issuer,
        verifier: verifier_handle,
        policies,
        sink,
        clock,
    }
}

/// alice's directory, `policy` with `actions`, and the good token (alive 300 s).
fn usual(actions: WorkloadActions) -> World {
    world(
        directory(false, ALL, false),
        policy(actions),
        vec![(GOOD, claims("42", NOW + 300))],
    )
}

impl World {
    /// The good token asking for `scopes`, off the event loop.
    fn ask(&self, scopes: &[&str]) -> Result<TokenGrant, IssueError> {
        self.issuer.issue(&workload(GOOD, scopes), Pace::MayBlock)
    }
}

fn workload(token: &str, scopes: &[&str]) -> TokenRequest {
    request(Credential::basic("oidc".into(), token.into()), scopes)
}

fn token_json(grant: &TokenGrant) -> serde_json::Value {
    serde_json::from_str(&grant.signed.token).unwrap()
}

fn actions_of(grant: &TokenGrant) -> Vec<Vec<String>> {
    token_json(grant)["access"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["actions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

const ALL: AccessSet = AccessSet::CREATE
    .union(AccessSet::UPDATE)
    .union(AccessSet::DOWNLOAD);

#[test]
fn a_matching_policy_admits_the_workload_with_its_creators_rights_in_its_reach() {
    let both = WorkloadActions::PULL | WorkloadActions::PUSH;
    let w = usual(both);
    let grant = w.ask(&["repository:syn1000/tool:pull,push"]).unwrap();
    assert_eq!(actions_of(&grant), vec![vec!["pull", "push"]]);
    let json = token_json(&grant);
    // The token names the workload, not its creator, and ends with the OIDC token.
    assert_eq!(
        json["sub"],
        format!("{ISS}#repo:org/tool:ref:refs/heads/main")
    );
    assert_eq!(json["expires_by"], NOW + 300);
    assert_eq!(grant.report.credential, "workload");
    assert!(grant.refresh_token.is_none());
    // The audit trail names the policy and the claims that matched.
    let records = w.sink.0.lock().unwrap();
    assert!(records.iter().any(|r| matches!(&r.event,
        AuditEvent::WorkloadAdmitted { policy: 9, claims, .. } if claims.contains(&"repository_id=42".to_string()))));
    let _ = &w.clock;
}

#[test]
fn the_policys_lifetime_caps_a_longer_oidc_token() {
    let w = world(
        directory(false, ALL, false),
        policy(WorkloadActions::PULL),
        vec![(GOOD, claims("42", NOW + 7200))],
    );
    let grant = w.ask(&["repository:syn1000/tool:pull"]).unwrap();
    assert_eq!(token_json(&grant)["expires_by"], NOW + 600);
}

#[test]
fn outside_the_reach_nothing_is_granted() {
    let w = usual(WorkloadActions::PULL | WorkloadActions::PUSH);
    let grant = w
        .issuer
        .issue(
            &workload(
                GOOD,
                &[
                    "repository:syn1000/other:pull,push",
                    "repository:syn2000/tool:pull,push",
                    "registry:catalog:*",
                    "repository:syn1000/tool:delete",
                ],
            ),
            Pace::MayBlock,
        )
        .unwrap();
    assert!(
        actions_of(&grant).iter().all(Vec::is_empty),
        "{:?}",
        actions_of(&grant)
    );
    assert!(grant
        .report
        .denied
        .iter()
        .any(|d| d.ends_with("outside_trust_policy")));
}

#[test]
fn a_pull_policy_never_pushes_and_push_follows_the_creators_rights() {
    let w = usual(WorkloadActions::PULL);
    let grant = w.ask(&["repository:syn1000/tool:pull,push"]).unwrap();
    assert_eq!(actions_of(&grant), vec![vec!["pull"]]);

    // The creator lost UPDATE and CREATE: the workload can pull only.
    let both = WorkloadActions::PULL | WorkloadActions::PUSH;
    let w = world(
        directory(false, AccessSet::DOWNLOAD, false),
        policy(both),
        vec![(GOOD, claims("42", NOW + 300))],
    );
    let scopes = [
        "repository:syn1000/tool:pull,push",
        "repository:syn1000/tool2:pull,push",
    ];
    let grant = w
        .issuer
        .issue(&workload(GOOD, &scopes), Pace::MayBlock)
        .unwrap();
    assert_eq!(actions_of(&grant), vec![vec!["pull"], vec![]]);
}

#[test]
fn a_disabled_creator_or_a_removed_policy_refuses_the_token() {
    let both = WorkloadActions::PULL | WorkloadActions::PUSH;
    let w = world(
        directory(true, ALL, false),
        policy(both),
        vec![(GOOD, claims("42", NOW + 300))],
    );
    let e = w.ask(&["repository:syn1000/tool:pull"]).unwrap_err();
    assert!(matches!(e, IssueError::Unauthorized(_)), "{e:?}");

    let w = usual(both);
    w.policies.delete_trust_policy(EntityId(1000), 9).unwrap();
    let e = w.ask(&["repository:syn1000/tool:pull"]).unwrap_err();
    assert!(
        matches!(
            e,
            IssueError::Unauthorized(Refused("no trust policy matches"))
        ),
        "{e:?}"
    );
}

#[test]
fn trash_fails_everything() {
    let both = WorkloadActions::PULL | WorkloadActions::PUSH;
    let w = world(
        directory(false, ALL, true),
        policy(both),
        vec![(GOOD, claims("42", NOW + 300))],
    );
    let grant = w.ask(&["repository:syn1000/tool:pull,push"]).unwrap();
    assert_eq!(actions_of(&grant), vec![Vec::<String>::new()]);
}

#[test]
fn claims_that_do_not_match_and_bad_tokens_are_refused() {
    let both = WorkloadActions::PULL | WorkloadActions::PUSH;
    let w = world(
        directory(false, ALL, false),
        policy(both),
        vec![("other-repo", claims("43", NOW + 300))],
    );
    let refused = |token: &str| {
        w.issuer
            .issue(
                &workload(token, &["repository:syn1000/tool:pull"]),
                Pace::MayBlock,
            )
            .unwrap_err()
    };
    assert!(matches!(refused("forged"), IssueError::Unauthorized(_)));
    // The workload is told which claim failed in each policy for its audience, never
    // the value the policy wants.
    let told = refused("other-repo");
    assert_eq!(
        told.to_string(),
        "this OIDC token meets no trust policy: policy 9 of syn1000: claim repository_id"
    );
    assert!(!told.to_string().contains("42"));
    // A token for another audience learns nothing.
    let mut elsewhere = claims("43", NOW + 300);
    elsewhere.audience = vec!["someone-else".into()];
    let w2 = world(
        directory(false, ALL, false),
        policy(both),
        vec![("elsewhere", elsewhere)],
    );
    let e = w2
        .issuer
        .issue(
            &workload("elsewhere", &["repository:syn1000/tool:pull"]),
            Pace::MayBlock,
        )
        .unwrap_err();
    assert!(matches!(e, IssueError::Unauthorized(_)), "{e:?}");
    assert!(w.sink.0.lock().unwrap().iter().any(|r| matches!(&r.event, AuditEvent::LoginFailed { credential, .. } if credential == "workload")));
}

#[test]
fn one_oidc_token_serves_its_first_scopes_again_never_others() {
    let both = WorkloadActions::PULL | WorkloadActions::PUSH;
    let w = usual(both);
    let first = ["repository:syn1000/tool:pull,push"];
    // A login probe (no scope) binds nothing.
    w.issuer
        .issue(&workload(GOOD, &[]), Pace::MayBlock)
        .unwrap();
    w.issuer
        .issue(&workload(GOOD, &first), Pace::MayBlock)
        .unwrap();
    w.issuer
        .issue(&workload(GOOD, &first), Pace::MayBlock)
        .unwrap();
    // A blob mounted from another repository adds a pull there: still the same use.
    let mount = [
        "repository:syn1000/tool:pull,push",
        "repository:syn1000/tool2:pull",
    ];
    w.issuer
        .issue(&workload(GOOD, &mount), Pace::MayBlock)
        .unwrap();
    let e = w.ask(&["repository:syn1000/tool2:pull,push"]).unwrap_err();
    assert!(matches!(e, IssueError::Unauthorized(_)), "{e:?}");
}

#[test]
fn workloads_never_get_a_refresh_token() {
    let w = usual(WorkloadActions::PULL);
    let mut req = workload(GOOD, &["repository:syn1000/tool:pull"]);
    req.refresh_for_client = Some("docker".into());
    let grant = w.issuer.issue(&req, Pace::MayBlock).unwrap();
    assert!(grant.refresh_token.is_none());
}

#[test]
fn without_federation_the_oidc_user_is_refused() {
    let (_, _, issuer, _, _) = super::tests::issuer_with_grants(MemDirectory::default());
    let e = issuer
        .issue(&workload(GOOD, &[]), Pace::MayBlock)
        .unwrap_err();
    assert!(matches!(e, IssueError::Unauthorized(_)));
}

#[test]
fn a_token_is_verified_once_while_alive_and_again_once_expired() {
    let w = usual(WorkloadActions::PULL);
    let scopes = ["repository:syn1000/tool:pull"];
    for _ in 0..5 {
        w.issuer
            .issue(&workload(GOOD, &scopes), Pace::MayBlock)
            .unwrap();
    }
    assert_eq!(w.verifier.1.load(std::sync::atomic::Ordering::SeqCst), 1);
    w.clock.set(NOW + 300);
    let e = w
        .issuer
        .issue(&workload(GOOD, &scopes), Pace::MayBlock)
        .unwrap_err();
    assert!(matches!(e, IssueError::Unauthorized(_)), "{e:?}");
    assert_eq!(w.verifier.1.load(std::sync::atomic::Ordering::SeqCst), 2);
}
