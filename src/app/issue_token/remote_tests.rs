//! The token use case with a remote identity provider (a Synapse): credentials checked
//! by the provider, facts answered as the caller, every refusal and outage mapped, with
//! in-memory doubles of the two ports.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::tests::{access, built_with, request};
use super::*;
use crate::app::remote_login::ProviderCredentials;
use crate::app::test_doubles::MemDirectory;
use crate::domain::authz::{ProjectFacts, RepoFacts, RepoState};
use crate::domain::model::{AccessSet, Acl, Principal, ScopeSet, UserId};
use crate::domain::ports::{
    CallerFacts, DirResult, Pace, RemoteAuthentication, RemoteIdentity, RemoteRefusal,
};
use crate::domain::repo_name::RepoPath;

const TOKEN: &str = "eyJ.synapse.token";

/// alice (user 42): password "pw" or the token TOKEN; bob is locked out; carol uses
/// two-factor authentication; "down" makes the provider unavailable.
struct Provider {
    calls: AtomicUsize,
}

fn alice(scopes: ScopeSet, bearer: &str) -> RemoteIdentity {
    RemoteIdentity {
        user_id: 42,
        scopes,
        bearer: bearer.into(),
    }
}

impl RemoteAuthentication for Provider {
    fn password(
        &self,
        login: &str,
        password: &str,
        _: Pace,
    ) -> Result<RemoteIdentity, RemoteRefusal> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        match (login, password) {
            ("alice", "pw") => Ok(alice(ScopeSet::all(), "login-token")),
            ("bob", _) => Err(RemoteRefusal::Locked),
            // What the Synapse backend says on the event loop for what it has not cached.
            ("cold", _) => Err(RemoteRefusal::Unanswered(DirectoryError::WouldBlock)),
            ("carol", _) => Err(RemoteRefusal::TwoFactorRequired),
            ("down", _) => Err(RemoteRefusal::Unanswered(DirectoryError::Backend(
                "synapse login2: HTTP 503".into(),
            ))),
            _ => Err(RemoteRefusal::Refused),
        }
    }
    fn token(&self, token: &str, _: Pace) -> Result<RemoteIdentity, RemoteRefusal> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        match token {
            TOKEN => Ok(alice(ScopeSet::DOWNLOAD | ScopeSet::VIEW, TOKEN)),
            "login-token" => Ok(alice(ScopeSet::all(), "login-token")),
            _ => Err(RemoteRefusal::Refused),
        }
    }
    fn looks_like_token(&self, secret: &str) -> bool {
        secret.starts_with("eyJ") || secret == "login-token"
    }
}

/// syn1/tool: alice may download and edit; syn1/new: unknown, alice may create in
/// syn1; syn1/old: in the trash can; syn9/x: the provider is down.
struct Facts {
    asked: Mutex<Vec<(i64, String, String)>>,
}

impl CallerFacts for Facts {
    fn repository_facts_as(
        &self,
        who: &RemoteIdentity,
        path: &RepoPath,
        _: Pace,
    ) -> DirResult<RepoFacts> {
        self.asked
            .lock()
            .unwrap()
            .push((who.user_id, who.bearer.clone(), path.to_string()));
        let me = |a| Acl::new(vec![(Principal::User(UserId(who.user_id)), a)]);
        let project = |acl| ProjectFacts::Project {
            trashed: false,
            acl,
        };
        match path.as_str() {
            "syn1/tool" => Ok(RepoFacts {
                project: project(Acl::default()),
                repo: RepoState::Managed {
                    trashed: false,
                    local_acl: Some(me(AccessSet::READ
                        | AccessSet::DOWNLOAD
                        | AccessSet::UPDATE)),
                },
            }),
            "syn1/new" => Ok(RepoFacts {
                project: project(me(AccessSet::READ | AccessSet::CREATE)),
                repo: RepoState::Unknown,
            }),
            "syn1/old" => Ok(RepoFacts {
                project: project(me(AccessSet::all())),
                repo: RepoState::Managed {
                    trashed: true,
                    local_acl: None,
                },
            }),
            _ => Err(DirectoryError::Backend(
                "synapse permissions: HTTP 503".into(),
            )),
        }
    }
}

fn remote_issuer() -> (TokenIssuer, Arc<Provider>, Arc<Facts>) {
    let provider = Arc::new(Provider {
        calls: AtomicUsize::new(0),
    });
    let facts = Arc::new(Facts {
        asked: Mutex::new(Vec::new()),
    });
    let (p, f) = (provider.clone(), facts.clone());
    let (_, _, issuer, _, _) = built_with(MemDirectory::default(), move |limits, _| {
        Arc::new(ProviderCredentials {
            auth: p,
            facts: f,
            limits,
            deadline: std::time::Duration::from_secs(5),
        })
    });
    (issuer, provider, facts)
}

fn basic(user: &str, secret: &str) -> Credential {
    Credential::Basic {
        user: user.into(),
        secret: secret.into(),
    }
}

fn issue(issuer: &TokenIssuer, req: TokenRequest) -> Result<TokenGrant, IssueError> {
    issuer.issue(&req, Pace::MayBlock)
}

#[test]
fn a_password_checked_by_the_provider_gets_what_its_facts_allow() {
    let (issuer, _, facts) = remote_issuer();
    let req = request(
        basic("alice", "pw"),
        &[
            "repository:syn1/tool:pull,push,delete",
            "repository:syn1/new:pull,push",
            "repository:syn1/old:pull,push",
        ],
    );
    let grant = issue(&issuer, req).unwrap();
    assert_eq!(
        access(&grant),
        [
            (
                "syn1/tool".to_string(),
                vec!["pull".to_string(), "push".to_string()]
            ),
            (
                "syn1/new".to_string(),
                vec!["pull".to_string(), "push".to_string()]
            ),
            ("syn1/old".to_string(), vec![]),
        ]
    );
    // Facts were asked as alice, with the token the provider handed back.
    let asked = facts.asked.lock().unwrap();
    assert!(asked
        .iter()
        .all(|(id, bearer, _)| *id == 42 && bearer == "login-token"));
    let claims: serde_json::Value = serde_json::from_str(&grant.signed.token).unwrap();
    assert_eq!(claims["sub"], "42", "tokens name the provider's user id");
}

#[test]
fn a_provider_token_keeps_its_scopes_and_is_the_identity_token_of_a_docker_login() {
    let (issuer, _, _) = remote_issuer();
    // Download-only token: pull, never push.
    let grant = issue(
        &issuer,
        request(basic("x", TOKEN), &["repository:syn1/tool:pull,push"]),
    )
    .unwrap();
    assert_eq!(access(&grant)[0].1, ["pull"]);
    assert!(grant.refresh_token.is_none());
    // docker login (offline token): the identity token is the provider's own token...
    let mut login = request(basic("alice", "pw"), &[]);
    login.refresh_for_client = Some("docker".into());
    let grant = issue(&issuer, login).unwrap();
    assert_eq!(grant.refresh_token.as_deref(), Some("login-token"));
    // ...checked again by the provider on every refresh.
    let refreshed = issue(
        &issuer,
        request(
            Credential::Refresh {
                token: "login-token".into(),
            },
            &["repository:syn1/tool:pull"],
        ),
    )
    .unwrap();
    assert_eq!(access(&refreshed)[0].1, ["pull"]);
    assert!(matches!(
        issue(
            &issuer,
            request(
                Credential::Refresh {
                    token: "revoked".into()
                },
                &[]
            )
        ),
        Err(IssueError::Unauthorized(_))
    ));
}

#[test]
fn refusals_say_what_the_user_can_do_and_an_outage_is_never_a_token() {
    let (issuer, _, _) = remote_issuer();
    let scope = &["repository:syn1/tool:pull"];
    assert!(matches!(
        issue(&issuer, request(basic("alice", "wrong"), scope)),
        Err(IssueError::Unauthorized(_))
    ));
    let locked = issue(&issuer, request(basic("bob", "pw"), scope)).unwrap_err();
    assert!(
        locked.to_string().contains("temporarily locked"),
        "{locked}"
    );
    let two_fa = issue(&issuer, request(basic("carol", "pw"), scope)).unwrap_err();
    assert!(
        two_fa.to_string().contains("personal access token"),
        "{two_fa}"
    );
    // The provider down, at login or while gathering facts: 503 material, no token.
    assert!(matches!(
        issue(&issuer, request(basic("down", "pw"), scope)),
        Err(IssueError::Directory(DirectoryError::Backend(_)))
    ));
    assert!(matches!(
        issue(
            &issuer,
            request(basic("alice", "pw"), &["repository:syn9/x:pull"])
        ),
        Err(IssueError::Directory(DirectoryError::Backend(_)))
    ));
}

#[test]
fn anonymous_gets_nothing_and_costs_no_call_and_a_provider_that_must_call_out_moves_the_request() {
    let (issuer, provider, facts) = remote_issuer();
    let grant = issue(
        &issuer,
        request(Credential::Anonymous, &["repository:syn1/tool:pull"]),
    )
    .unwrap();
    assert!(access(&grant)[0].1.is_empty());
    assert_eq!(provider.calls.load(Ordering::SeqCst), 0);
    assert!(facts.asked.lock().unwrap().is_empty());
    let inline = issuer.issue(
        &request(basic("cold", "pw"), &["repository:syn1/tool:pull"]),
        Pace::Inline,
    );
    assert!(inline.is_err_and(|e| e.would_block()));
    assert!(facts.asked.lock().unwrap().is_empty());
}
