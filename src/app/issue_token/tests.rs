//! The token use case driven by in-memory ports: credentials, refresh policy, facts,
//! decisions and errors, without SQLite or HTTP.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::app::audit::MemorySink;
use crate::app::authenticate::Pace;
use crate::app::test_doubles::{FixedClock, JsonSigner, MemDirectory};
use crate::domain::audit::AuditEvent;
use crate::domain::authn::{password, secret};
use crate::domain::authz::{ProjectFacts, RepoFacts, RepoState};
use crate::domain::events::{Grant, GrantedAction};
use crate::domain::model::{
    AccessSet, AccessTokenRecord, Acl, Principal, ScopeSet, UnixTime, User, UserCredentials, UserId,
};
use crate::domain::ports::{DirResult, DirectoryError};

const NOW: i64 = 1_795_357_380;
const ALICE: UserId = UserId(1);
const PASSWORD: &str = "correct horse battery";

fn alice() -> User {
    User {
        id: ALICE,
        name: "alice".into(),
        certified: true,
        admin: false,
        disabled: false,
        email: None,
    }
}

/// alice (certified, password) owns syn1000 (CREATE, UPDATE, DOWNLOAD); syn1000/tool
/// exists and inherits; `public` may download syn1000/open.
fn directory() -> MemDirectory {
    let mut d = MemDirectory::default();
    d.users.push(UserCredentials {
        user: alice(),
        password_hash: Some(password::hash_password(PASSWORD, &[1; 16]).unwrap()),
    });
    let project_acl = Acl::new(vec![(
        Principal::User(ALICE),
        AccessSet::CREATE | AccessSet::UPDATE | AccessSet::DOWNLOAD,
    )]);
    let project = ProjectFacts::Project {
        trashed: false,
        acl: project_acl,
    };
    let existing = RepoState::Managed {
        trashed: false,
        local_acl: None,
    };
    d.repos.insert(
        "syn1000/tool".into(),
        RepoFacts {
            project: project.clone(),
            repo: existing,
        },
    );
    d.repos.insert(
        "syn1000/new".into(),
        RepoFacts {
            project,
            repo: RepoState::Unknown,
        },
    );
    d.repos.insert(
        "syn1000/open".into(),
        RepoFacts {
            project: ProjectFacts::Project {
                trashed: false,
                acl: Acl::default(),
            },
            repo: RepoState::Managed {
                trashed: false,
                local_acl: Some(Acl::new(vec![(Principal::Public, AccessSet::DOWNLOAD)])),
            },
        },
    );
    d
}

fn issuer(dir: MemDirectory) -> (Arc<MemDirectory>, TokenIssuer) {
    let (dir, _, issuer) = issuer_with_clock(dir);
    (dir, issuer)
}

fn issuer_with_clock(dir: MemDirectory) -> (Arc<MemDirectory>, Arc<FixedClock>, TokenIssuer) {
    let (dir, clock, issuer, _) = issuer_with_audit(dir);
    (dir, clock, issuer)
}

pub(super) type Built = (
    Arc<MemDirectory>,
    Arc<FixedClock>,
    TokenIssuer,
    Arc<MemorySink>,
);

/// Grants held in memory; `fail` makes every write a backend failure.
#[derive(Default)]
pub(super) struct MemGrants {
    pub grants: std::sync::Mutex<Vec<Grant>>,
    pub writes: std::sync::atomic::AtomicUsize,
    pub fail: std::sync::atomic::AtomicBool,
}

impl PushGrants for MemGrants {
    fn record_grants(&self, grants: &[Grant]) -> DirResult<()> {
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(DirectoryError::Backend("disk on fire".into()));
        }
        self.writes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.grants.lock().unwrap().extend_from_slice(grants);
        Ok(())
    }
    fn grants_for(&self, keys: &[(&str, &str)]) -> DirResult<Vec<Grant>> {
        Ok(self
            .grants
            .lock()
            .unwrap()
            .iter()
            .filter(|g| keys.contains(&(g.actor.as_str(), g.repository.as_str())))
            .cloned()
            .collect())
    }
    fn prune_grants(&self, _: UnixTime) -> DirResult<usize> {
        Ok(0)
    }
}

pub(super) fn issuer_with_audit(dir: MemDirectory) -> Built {
    let (dir, clock, issuer, sink, _) = issuer_with_grants(dir);
    (dir, clock, issuer, sink)
}

/// An issuer whose credential authority is the own directory `dir`.
pub(super) fn issuer_with_grants(dir: MemDirectory) -> WithGrants {
    built_with(dir, |auth, dir| {
        Arc::new(crate::app::credentials::DirectoryCredentials { auth, facts: dir })
    })
}

pub(super) type WithGrants = (
    Arc<MemDirectory>,
    Arc<FixedClock>,
    TokenIssuer,
    Arc<MemorySink>,
    Arc<MemGrants>,
);

/// An issuer whose credential authority `credentials` makes from the password checker
/// and the directory.
pub(super) fn built_with(
    dir: MemDirectory,
    credentials: impl FnOnce(Arc<Authenticator>, Arc<MemDirectory>) -> Arc<dyn CredentialAuthority>,
) -> WithGrants {
    let dir = Arc::new(dir);
    let grants = Arc::new(MemGrants::default());
    let clock = Arc::new(FixedClock::at(NOW));
    let sink = Arc::new(MemorySink::default());
    let audit = Arc::new(crate::app::audit::Audit::new(sink.clone(), true));
    let auth = Arc::new(Authenticator::new(
        crate::app::authenticate::AuthPorts {
            store: dir.clone(),
            refresh_tokens: dir.clone(),
            clock: clock.clone(),
            audit: audit.clone(),
        },
        crate::app::authenticate::AuthLimits::default(),
    ));
    let policy = TokenPolicy {
        services: vec!["registry".into()],
        refresh_ttl: Some(Duration::from_secs(3600)),
        scope_limits: crate::domain::scope::ScopeLimits::default(),
        token_ttl: Duration::from_secs(300),
        not_before_skew: Duration::from_secs(10),
    };
    let ports = IssuerPorts {
        signer: Arc::new(JsonSigner),
        clock: clock.clone(),
        audit,
        grants: grants.clone(),
    };
    let issuer = TokenIssuer::new(credentials(auth.clone(), dir.clone()), auth, ports, policy);
    (dir, clock, issuer, sink, grants)
}

pub(super) fn request(credential: Credential, scopes: &[&str]) -> TokenRequest {
    TokenRequest {
        service: Service::named("registry"),
        credential,
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        refresh_for_client: None,
        client_id: "docker".into(),
        client_ip: None,
        oauth: false,
    }
}

fn password_login() -> Credential {
    Credential::Basic {
        user: "alice".into(),
        secret: PASSWORD.into(),
    }
}

/// The `access` claim the use case asked to sign, as `name -> actions`.
pub(super) fn access(grant: &TokenGrant) -> Vec<(String, Vec<String>)> {
    let claims: serde_json::Value = serde_json::from_str(&grant.signed.token).unwrap();
    claims["access"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let actions = e["actions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect();
            (e["name"].as_str().unwrap().to_string(), actions)
        })
        .collect()
}

fn issue(issuer: &TokenIssuer, req: TokenRequest) -> Result<TokenGrant, IssueError> {
    issue_as_the_shell_does(issuer, &req)
}

/// On the event loop first, on the blocking pool when that cannot answer.
fn issue_as_the_shell_does(
    issuer: &TokenIssuer,
    req: &TokenRequest,
) -> Result<TokenGrant, IssueError> {
    match issuer.issue(req, Pace::Inline) {
        Err(e) if e.would_block() => issuer.issue(req, Pace::MayBlock),
        answered => answered,
    }
}

#[test]
fn anonymous_gets_public_pulls_and_nothing_else() {
    let (_, issuer) = issuer(directory());
    let grant = issue(
        &issuer,
        request(
            Credential::Anonymous,
            &[
                "repository:syn1000/open:pull,push",
                "repository:syn1000/tool:pull",
            ],
        ),
    )
    .unwrap();
    assert_eq!(
        access(&grant),
        [
            ("syn1000/open".to_string(), vec!["pull".to_string()]),
            ("syn1000/tool".to_string(), vec![]),
        ]
    );
    assert!(grant.refresh_token.is_none());
}

#[test]
fn password_login_creates_pushes_and_pulls() {
    let (_, issuer) = issuer(directory());
    let grant = issue(
        &issuer,
        request(
            password_login(),
            &["repository:syn1000/new:push,pull repository:syn1000/tool:pull,push"],
        ),
    )
    .unwrap();
    let got = access(&grant);
    assert_eq!(got[0].1, ["pull", "push"]);
    assert_eq!(got[1].1, ["pull", "push"]);
    let claims: serde_json::Value = serde_json::from_str(&grant.signed.token).unwrap();
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["aud"], "registry");
    assert_eq!(claims["iat"], NOW, "signed at the clock's time");
}

#[test]
fn bad_credentials_are_refused_never_anonymous() {
    let (_, issuer) = issuer(directory());
    for credential in [
        Credential::Basic {
            user: "alice".into(),
            secret: "wrong password".into(),
        },
        Credential::Basic {
            user: "nobody".into(),
            secret: PASSWORD.into(),
        },
        Credential::Malformed("authorization scheme is not Basic"),
    ] {
        let out = issue(
            &issuer,
            request(credential, &["repository:syn1000/open:pull"]),
        );
        assert!(matches!(out, Err(IssueError::Unauthorized(_))), "{out:?}");
    }
}

#[test]
fn a_revoked_access_token_is_refused_not_anonymous() {
    let mut d = directory();
    let token = secret::token_text(secret::ACCESS_TOKEN_PREFIX, &[9; 32]);
    let record = AccessTokenRecord {
        id: 5,
        user: alice(),
        name: "ci".into(),
        scopes: ScopeSet::DOWNLOAD,
        created_at: 0,
        expires_at: None,
        revoked: true,
        last_used_at: None,
        parent: None,
    };
    d.access_tokens.insert(secret::hash_token(&token), record);
    let (_, issuer) = issuer(d);
    let out = issue(
        &issuer,
        request(
            Credential::Basic {
                user: "x".into(),
                secret: token,
            },
            &["repository:syn1000/open:pull"],
        ),
    );
    assert!(matches!(out, Err(IssueError::Unauthorized(_))), "{out:?}");
}

#[test]
fn an_access_token_keeps_its_scopes_and_its_refresh_tokens_die_with_it() {
    let mut d = directory();
    let token = secret::token_text(secret::ACCESS_TOKEN_PREFIX, &[3; 32]);
    d.access_tokens.insert(
        secret::hash_token(&token),
        AccessTokenRecord {
            id: 6,
            user: alice(),
            name: "ci".into(),
            scopes: ScopeSet::DOWNLOAD,
            created_at: 0,
            expires_at: Some(NOW + 10),
            revoked: false,
            last_used_at: None,
            parent: None,
        },
    );
    let (dir, clock, issuer) = issuer_with_clock(d);
    let mut req = request(
        Credential::Basic {
            user: "anything".into(),
            secret: token,
        },
        &["repository:syn1000/tool:pull,push"],
    );
    req.refresh_for_client = Some("docker".into());
    let grant = issue(&issuer, req).unwrap();
    assert_eq!(access(&grant)[0].1, ["pull"], "download scope: no push");
    {
        let stored = dir.refresh_tokens.lock().unwrap();
        let (new, _) = &stored[0];
        assert_eq!(
            new.scopes,
            ScopeSet::DOWNLOAD,
            "the login's scopes, not all"
        );
        assert_eq!(new.access_token_id, Some(6));
    }
    // The refresh token carries the access token's scopes, and ends with it.
    let refresh = grant.refresh_token.expect("refresh token");
    let again = |token: &str| {
        issue(
            &issuer,
            request(
                Credential::Refresh {
                    token: token.to_string(),
                },
                &["repository:syn1000/tool:pull,push"],
            ),
        )
    };
    clock.set(NOW + 5);
    assert_eq!(access(&again(&refresh).unwrap())[0].1, ["pull"]);
    clock.set(NOW + 10);
    assert!(matches!(again(&refresh), Err(IssueError::Unauthorized(_))));
}

#[test]
fn refresh_tokens_keep_the_login_scopes_and_their_binding() {
    let (dir, issuer) = issuer(directory());
    let mut login = request(password_login(), &[]);
    login.refresh_for_client = Some("docker".into());
    let grant = issue(&issuer, login).unwrap();
    let refresh = grant
        .refresh_token
        .expect("offline login gets a refresh token");
    {
        let stored = dir.refresh_tokens.lock().unwrap();
        assert_eq!(stored[0].0.scopes, ScopeSet::PASSWORD);
        assert_eq!(stored[0].0.expires_at, Some(NOW + 3600));
        assert_eq!(stored[0].0.client_id, "docker");
    }
    // The refresh grant hands the same token back and authorizes as alice.
    let mut again = request(
        Credential::Refresh {
            token: refresh.clone(),
        },
        &["repository:syn1000/tool:pull,push"],
    );
    again.oauth = true;
    let grant = issue(&issuer, again).unwrap();
    assert_eq!(grant.refresh_token.as_deref(), Some(refresh.as_str()));
    assert_eq!(
        grant.scope.as_deref(),
        Some("repository:syn1000/tool:pull,push")
    );
    // Another client cannot use it.
    let mut stolen = request(Credential::Refresh { token: refresh }, &[]);
    stolen.client_id = "containerd-client".into();
    assert!(matches!(
        issue(&issuer, stolen),
        Err(IssueError::Unauthorized(_))
    ));
}

#[test]
fn unknown_service_is_a_bad_request() {
    let (_, issuer) = issuer(directory());
    assert!(matches!(
        issuer.service(Some("elsewhere")),
        Err(IssueError::BadRequest(_))
    ));
    assert!(matches!(
        issuer.service(None),
        Err(IssueError::BadRequest(_))
    ));
    assert_eq!(
        issuer.service(Some("registry")).unwrap().as_str(),
        "registry"
    );
}

#[test]
fn a_directory_failure_is_a_directory_error_not_a_401() {
    let mut d = directory();
    d.fail = true;
    let (_, issuer) = issuer(d);
    let out = issue(
        &issuer,
        request(password_login(), &["repository:syn1000/tool:pull"]),
    );
    assert!(matches!(out, Err(IssueError::Directory(_))), "{out:?}");
    let out = issue(
        &issuer,
        request(Credential::Anonymous, &["repository:syn1000/tool:pull"]),
    );
    assert!(matches!(out, Err(IssueError::Directory(_))), "{out:?}");
}

#[test]
fn unsupported_scopes_cost_no_directory_read() {
    // A failing directory proves no read happens for the catalog or other types.
    let mut d = directory();
    d.fail = true;
    let (_, issuer) = issuer(d);
    let grant = issue(
        &issuer,
        request(
            Credential::Anonymous,
            &[
                "registry:catalog:*",
                "plugin:x:pull",
                "repository:syn1:pull",
                "garbage",
            ],
        ),
    )
    .unwrap();
    assert!(access(&grant).iter().all(|(_, a)| a.is_empty()));
}

#[test]
fn too_many_or_too_long_scopes_are_refused_before_credentials_are_checked() {
    // A failing directory proves nothing was read: the limit comes first.
    let mut d = directory();
    d.fail = true;
    let (_, issuer) = issuer(d);
    let many: Vec<String> = (0..101)
        .map(|i| format!("repository:syn1000/r{i}:pull"))
        .collect();
    let mut req = request(password_login(), &[]);
    req.scopes = vec![many.join(" ")];
    let out = issue(&issuer, req);
    assert!(
        matches!(&out, Err(IssueError::BadRequest(m)) if m.contains("at most 100")),
        "{out:?}"
    );
    let long = format!("repository:syn1000/{}:pull", "a".repeat(600));
    let out = issue(&issuer, request(password_login(), &[long.as_str()]));
    assert!(
        matches!(&out, Err(IssueError::BadRequest(m)) if m.contains("512 bytes")),
        "{out:?}"
    );
}

#[test]
fn every_issue_and_refusal_leaves_an_audit_record_without_secrets() {
    let (_, _, issuer, sink) = issuer_with_audit(directory());
    let mut login = request(
        password_login(),
        &[
            "repository:syn1000/tool:pull,push",
            "repository:syn1000/x:delete",
        ],
    );
    login.refresh_for_client = Some("docker".into());
    login.client_ip = Some("192.0.2.9".parse().unwrap());
    login.client_id = "docker".into();
    let grant = issue_as_the_shell_does(&issuer, &login).unwrap();
    let wrong = Credential::Basic {
        user: "alice".into(),
        secret: "not the password".into(),
    };
    assert!(issue(&issuer, request(wrong, &[])).is_err());
    let records = sink.0.lock().unwrap().clone();
    let kinds: Vec<&str> = records.iter().map(|r| r.event.kind()).collect();
    assert_eq!(
        kinds,
        ["refresh_token_issued", "token_issued", "login_failed"]
    );
    let issued = &records[1];
    assert_eq!(issued.actor, "alice");
    assert_eq!(issued.client_ip, Some("192.0.2.9".parse().unwrap()));
    match &issued.event {
        AuditEvent::TokenIssued {
            credential,
            granted,
            denied,
            client_id,
            ..
        } => {
            assert_eq!(credential, "password");
            assert_eq!(client_id, "docker");
            assert_eq!(granted, &["repository:syn1000/tool:pull,push".to_string()]);
            assert_eq!(denied, &["syn1000/x:delete=project_missing".to_string()]);
        }
        other => panic!("{other:?}"),
    }
    let text = format!("{records:?}");
    assert!(!text.contains(PASSWORD) && !text.contains("not the password"));
    assert!(!text.contains(grant.refresh_token.as_deref().unwrap()));
}

#[test]
fn the_event_loop_answers_only_what_needs_no_password_check_and_no_write() {
    let (dir, _, issuer, sink) = issuer_with_audit(directory());
    let scopes = ["repository:syn1000/tool:pull"];
    // A password never checked: the event loop must hand it over, leaving no trace.
    let cold = request(password_login(), &scopes);
    let out = issuer.issue(&cold, Pace::Inline);
    assert!(
        matches!(out, Err(IssueError::Directory(DirectoryError::WouldBlock))),
        "{out:?}"
    );
    assert!(
        sink.0.lock().unwrap().is_empty(),
        "a hand-over is not an event"
    );
    // Checked once off the loop, then answered on it.
    issuer.issue(&cold, Pace::MayBlock).unwrap();
    issuer.issue(&cold, Pace::Inline).unwrap();
    // An unknown user is a password check too.
    let ghost = request(
        Credential::Basic {
            user: "ghost".into(),
            secret: "whatever1".into(),
        },
        &scopes,
    );
    assert!(matches!(
        issuer.issue(&ghost, Pace::Inline),
        Err(IssueError::Directory(DirectoryError::WouldBlock))
    ));
    // A new refresh token is a durable write: off the loop, and stored once.
    let mut login = request(password_login(), &[]);
    login.refresh_for_client = Some("docker".into());
    assert!(matches!(
        issuer.issue(&login, Pace::Inline),
        Err(IssueError::Directory(DirectoryError::WouldBlock))
    ));
    assert!(dir.refresh_tokens.lock().unwrap().is_empty());
    issuer.issue(&login, Pace::MayBlock).unwrap();
    assert_eq!(dir.refresh_tokens.lock().unwrap().len(), 1);
    // Anonymous requests and refresh grants need neither.
    let anon = request(Credential::Anonymous, &scopes);
    issuer.issue(&anon, Pace::Inline).unwrap();
}

#[test]
fn the_report_says_whether_anyone_was_authenticated() {
    // The shell labels a GET that authenticated nobody `anonymous` in its log line and
    // counters (`infra::http::token_outcome`), from this.
    let (_, issuer) = issuer(directory());
    let cases = [(Credential::Anonymous, true), (password_login(), false)];
    for (credential, anonymous) in cases {
        let req = request(credential, &["repository:syn1000/open:pull"]);
        let grant = issue_as_the_shell_does(&issuer, &req).unwrap();
        assert_eq!(grant.report.anonymous, anonymous);
    }
}

#[test]
fn the_use_case_counts_nothing_the_shell_counts_each_answer_once() {
    // Inline first (WouldBlock: a password check), then on the blocking pool: 401.
    // The shell's counter is tested in `infra::http::token_outcome`.
    let (_, issuer) = issuer(directory());
    let wrong = Credential::Basic {
        user: "alice".into(),
        secret: "not the password".into(),
    };
    // Every series `f` moved, on a recorder of this thread only (tests run in parallel).
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        let req = request(wrong, &["repository:syn1000/tool:pull"]);
        assert!(issue_as_the_shell_does(&issuer, &req).is_err());
        issue(
            &issuer,
            request(password_login(), &["repository:syn1000/tool:pull"]),
        )
        .unwrap();
    });
    assert_eq!(handle.render().trim(), "");
}

#[test]
fn one_directory_read_per_distinct_repository() {
    let (dir, issuer) = issuer(directory());
    let scopes = [
        "repository:syn1000/tool:pull",
        "repository:syn1000/tool:push",
        "repository:syn1000/open:pull",
        "registry:catalog:*",
    ];
    issue(&issuer, request(password_login(), &scopes)).unwrap();
    assert_eq!(dir.repo_reads.load(std::sync::atomic::Ordering::Relaxed), 2);
}

#[test]
fn an_unknown_service_is_named_in_the_answer_cut_to_64_characters() {
    let (_, issuer) = issuer(directory());
    let long = "s".repeat(100);
    for (asked, shown) in [("elsewhere", "elsewhere"), (long.as_str(), &long[..64])] {
        match issuer.service(Some(asked)) {
            Err(IssueError::BadRequest(m)) => {
                assert_eq!(m, format!("unknown service {shown:?}"))
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn a_push_is_recorded_as_a_grant_before_the_token_and_a_pull_is_not() {
    let (_, _, issuer, _, grants) = issuer_with_grants(directory());
    let pull = request(password_login(), &["repository:syn1000/tool:pull"]);
    issue(&issuer, pull).unwrap();
    assert!(
        grants.grants.lock().unwrap().is_empty(),
        "a pull grants nothing"
    );
    let anon = request(
        Credential::Anonymous,
        &["repository:syn1000/open:pull,push"],
    );
    issue(&issuer, anon).unwrap();
    assert!(
        grants.grants.lock().unwrap().is_empty(),
        "anonymous records none"
    );

    let push = request(
        password_login(),
        &[
            "repository:syn1000/tool:pull,push",
            "repository:syn1000/new:push",
        ],
    );
    let grant = issue(&issuer, push).unwrap();
    assert_eq!(
        *grants.grants.lock().unwrap(),
        vec![
            Grant {
                actor: "alice".into(),
                repository: "syn1000/tool".into(),
                action: GrantedAction::Push,
                from: NOW - 10,
                until: NOW + 300,
            },
            Grant {
                actor: "alice".into(),
                repository: "syn1000/new".into(),
                action: GrantedAction::Push,
                from: NOW - 10,
                until: NOW + 300,
            },
        ],
        "the token's own validity, nbf to exp"
    );
    assert_eq!(access(&grant)[0].1, ["pull", "push"]);
    // A refused push records nothing.
    let denied = request(password_login(), &["repository:syn1000/open:push"]);
    let before = grants.grants.lock().unwrap().len();
    issue(&issuer, denied).unwrap();
    assert_eq!(grants.grants.lock().unwrap().len(), before);
}

#[test]
fn recording_a_grant_is_a_write_off_the_event_loop_and_a_burst_writes_once() {
    let (_, clock, issuer, sink, grants) = issuer_with_grants(directory());
    let push = request(password_login(), &["repository:syn1000/tool:pull,push"]);
    // The password checked once, so only the grant is left to block on.
    issue(
        &issuer,
        request(password_login(), &["repository:syn1000/tool:pull"]),
    )
    .unwrap();
    let audited = sink.0.lock().unwrap().len();
    let inline = issuer.issue(&push, Pace::Inline);
    assert!(
        matches!(
            inline,
            Err(IssueError::Directory(DirectoryError::WouldBlock))
        ),
        "{inline:?}"
    );
    assert_eq!(grants.writes.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert_eq!(
        sink.0.lock().unwrap().len(),
        audited,
        "a hand-over is not an event"
    );
    issuer.issue(&push, Pace::MayBlock).unwrap();
    assert_eq!(grants.writes.load(std::sync::atomic::Ordering::SeqCst), 1);
    // docker's burst, one token per layer: covered by the grant just written, answered
    // on the event loop, no write.
    let mut now = NOW;
    for _ in 0..5 {
        now += 5;
        clock.set(now);
        issuer.issue(&push, Pace::Inline).unwrap();
    }
    assert_eq!(grants.writes.load(std::sync::atomic::Ordering::SeqCst), 1);
    // Past the note's slack the next token would outlive the recorded interval by
    // more than the rule allows for: written again (and off the loop).
    clock.set(NOW + crate::domain::events::authority::NOTE_SLACK + 1);
    assert!(matches!(
        issuer.issue(&push, Pace::Inline),
        Err(IssueError::Directory(DirectoryError::WouldBlock))
    ));
    issue(&issuer, push).unwrap();
    assert_eq!(grants.writes.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[test]
fn a_grant_that_cannot_be_recorded_is_never_a_token() {
    let (_, _, issuer, _, grants) = issuer_with_grants(directory());
    grants.fail.store(true, std::sync::atomic::Ordering::SeqCst);
    let push = request(password_login(), &["repository:syn1000/tool:pull,push"]);
    assert!(matches!(
        issue(&issuer, push),
        Err(IssueError::Directory(DirectoryError::Backend(_)))
    ));
    // Pulls need no grant and still work.
    issue(
        &issuer,
        request(password_login(), &["repository:syn1000/tool:pull"]),
    )
    .unwrap();
}
