//! The use cases as the API's callers reach them, on a SQLite directory: each run with a
//! permit admitted for a real caller (an admin, the owner, a reader, a stranger, a
//! token of one scope), so the rules that live inside the use cases (whose token, whose
//! login, which refusal a reader hears and which a stranger, what an approval grants)
//! are pinned by fast unit tests, not only by the HTTP suites.

use crate::domain::ports::Pace;
use std::sync::Arc;

use crate::app::access_requests;
use crate::app::administer::{external, projects, sharing, trash, users};
use crate::app::audit::{Audit, MemorySink};
use crate::app::authenticate::{AuthLimits, AuthPorts, Authenticator};
use crate::app::operations::Operation;
use crate::app::permit::{operator, Permit};
use crate::app::self_service::{self, PasswordChange, MAX_LIVE_TOKENS};
use crate::app::{Actor, AppError};
use crate::domain::authn::secret;
use crate::domain::authz::Caller;
use crate::domain::model::{
    AccessSet, EntityId, EntityRef, NewRefreshToken, PrincipalRef, ScopeSet,
};
use crate::domain::ports::{CredentialStore, RefreshTokenStore, TokenAdmin, UserAdmin};
use crate::infra::sqlite::SqliteDirectory;

const NOW: i64 = 1_800_000_000;
const PASSWORD: &str = "correct horse battery";

struct World {
    _dir: tempfile::TempDir,
    d: Arc<SqliteDirectory>,
    /// alice's project; bob may READ it; carol has nothing; root is an admin.
    p: EntityId,
}

fn world() -> World {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = Arc::new(SqliteDirectory::open(&dir.path().join("regauth.db")).expect("open"));
    for (name, admin) in [
        ("root", true),
        ("alice", false),
        ("bob", false),
        ("carol", false),
    ] {
        let request = users::UserRequest {
            name,
            password: Some(PASSWORD),
            certified: true,
            admin,
            email: None,
        };
        users::add(d.as_ref(), &operator(), request, NOW).expect("user");
    }
    let p = projects::add(d.as_ref(), &operator(), "p", "alice", None, NOW).expect("project");
    let bob = PrincipalRef::User("bob".into());
    let entity = EntityRef::Id(p);
    sharing::grant(d.as_ref(), &operator(), &entity, &bob, AccessSet::READ, NOW).expect("grant");
    World { _dir: dir, d, p }
}

impl World {
    /// `name` with a credential carrying `scopes`.
    fn caller(&self, name: &str, scopes: ScopeSet) -> Actor {
        let user = self.d.user_by_name(name).expect("read").expect("user");
        let teams = self.d.teams_of(user.id, Pace::MayBlock).expect("teams");
        Actor::Caller(Caller::of_user(&user, teams, scopes))
    }

    fn permit<O: Operation>(&self, name: &str) -> Permit<O> {
        Permit::admit(&self.caller(name, ScopeSet::PASSWORD)).expect("admitted")
    }
}

fn is_hidden(e: AppError) -> bool {
    matches!(e, AppError::Hidden | AppError::NotFound(_))
}

#[test]
fn tokens_are_ones_own_never_wider_than_the_credential_and_capped() {
    let w = world();
    let d = w.d.as_ref();
    let mint = |permit: &Permit<_>, name: &str, scopes| {
        self_service::create_token(d, permit, name, scopes, None, NOW)
    };
    let alice = w.permit("alice");
    let t = mint(&alice, "ci", ScopeSet::DOWNLOAD).expect("minted");
    assert_eq!(t.record.user.name, "alice");
    assert!(t.secret.starts_with(secret::ACCESS_TOKEN_PREFIX));
    assert_eq!(t.record.parent, None);
    // A token with `authorize` mints, never wider than itself, and its child says so.
    let narrow = w.caller("alice", ScopeSet::AUTHORIZE | ScopeSet::VIEW);
    let Actor::Caller(mut c) = narrow else {
        unreachable!()
    };
    c.token = Some(t.record.id);
    let by_token = Permit::admit(&Actor::Caller(c)).expect("admitted");
    let wider = mint(&by_token, "wider", ScopeSet::DOWNLOAD);
    assert!(matches!(wider, Err(AppError::Invalid(m)) if m.contains("wider")));
    let child = mint(&by_token, "child", ScopeSet::VIEW).expect("child");
    assert_eq!(child.record.parent, Some(t.record.id));
    mint(&alice, &"n".repeat(100), ScopeSet::VIEW).expect("a name of 100 characters");
    for bad in ["", "   ", "x\ny", &"n".repeat(101)] {
        assert!(matches!(
            mint(&alice, bad, ScopeSet::VIEW),
            Err(AppError::Invalid(_))
        ));
    }
    assert!(matches!(
        mint(&alice, "none", ScopeSet::empty()),
        Err(AppError::Invalid(_))
    ));
    // Only one's own tokens are listed and revoked.
    let bob = w.permit("bob");
    let bobs = mint(&bob, "bob's", ScopeSet::VIEW).expect("minted");
    let listed = self_service::list_tokens(d, &w.permit("alice")).expect("list");
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().all(|t| t.user.name == "alice"));
    let foreign = self_service::revoke_token(d, &w.permit("alice"), bobs.record.id, NOW);
    assert!(matches!(foreign, Err(AppError::NotFound(_))));
    self_service::revoke_token(d, &w.permit("bob"), bobs.record.id, NOW).expect("own");
    // The cap counts tokens in force only.
    for i in 0..MAX_LIVE_TOKENS - 3 {
        mint(&alice, &format!("t{i}"), ScopeSet::VIEW).expect("under the cap");
    }
    let over = mint(&alice, "over", ScopeSet::VIEW);
    assert!(matches!(over, Err(AppError::Invalid(m)) if m.contains("revoke some")));
    self_service::revoke_token(d, &w.permit("alice"), t.record.id, NOW).expect("revoke");
    // Revoking the parent ended its child too: two places freed.
    mint(&alice, "again", ScopeSet::VIEW).expect("a place freed");
    mint(&alice, "and again", ScopeSet::VIEW).expect("the child's place freed");
    assert!(mint(&alice, "over", ScopeSet::VIEW).is_err());
}

#[test]
fn me_and_logins_are_the_callers_own() {
    let w = world();
    let d = w.d.as_ref();
    let viewer = Permit::admit(&w.caller("alice", ScopeSet::VIEW)).expect("admitted");
    let me = self_service::me(d, &viewer).expect("me");
    assert_eq!(
        (me.user.name.as_str(), me.scopes),
        ("alice", ScopeSet::VIEW)
    );
    let login = |user: &str, expires_at: Option<i64>| {
        let id = d.user_by_name(user).unwrap().unwrap().id;
        let new = NewRefreshToken {
            user: id,
            hash: secret::hash_token(&format!("{user}{expires_at:?}")),
            service: "registry".into(),
            client_id: "docker".into(),
            scopes: ScopeSet::PASSWORD,
            expires_at,
            access_token_id: None,
        };
        d.create_refresh_token(&new, NOW).expect("login")
    };
    let live = login("alice", None);
    let _expired = login("alice", Some(NOW - 1));
    let _ends_now = login("alice", Some(NOW));
    let tomorrow = login("alice", Some(NOW + 86_400));
    let bobs = login("bob", None);
    let listed = self_service::list_logins(d, &w.permit("alice"), NOW).expect("list");
    assert_eq!(
        listed.iter().map(|l| l.id).collect::<Vec<_>>(),
        [live, tomorrow],
        "one ending this very second is over"
    );
    self_service::revoke_login(d, &w.permit("alice"), tomorrow, NOW).expect("own");
    let foreign = self_service::revoke_login(d, &w.permit("alice"), bobs, NOW);
    assert!(matches!(foreign, Err(AppError::NotFound(_))));
    self_service::revoke_login(d, &w.permit("alice"), live, NOW).expect("own");
    assert!(self_service::list_logins(d, &w.permit("alice"), NOW)
        .expect("list")
        .is_empty());
    assert_eq!(
        self_service::list_logins(d, &w.permit("bob"), NOW)
            .expect("list")
            .len(),
        1
    );
}

#[test]
fn a_password_change_needs_the_current_password_itself() {
    let w = world();
    let d = w.d.as_ref();
    let audit = Arc::new(Audit::new(Arc::new(MemorySink::default()), true));
    let auth = Authenticator::new(
        AuthPorts {
            store: w.d.clone() as Arc<dyn CredentialStore>,
            refresh_tokens: w.d.clone() as Arc<dyn RefreshTokenStore>,
            clock: Arc::new(crate::app::clock::SystemClock),
            audit,
        },
        AuthLimits::default(),
    );
    fn change(current: &str, revoke_tokens: bool) -> PasswordChange<'_> {
        PasswordChange {
            current,
            new: "a brand new password",
            revoke_tokens,
            address: "192.0.2.1".parse().expect("address"),
        }
    }
    let token = self_service::create_token(d, &w.permit("alice"), "ci", ScopeSet::VIEW, None, NOW)
        .expect("token");
    let refused = |current: &str| {
        let permit = w.permit("alice");
        self_service::change_password(d, &auth, &permit, change(current, false), NOW)
    };
    assert!(matches!(refused("wrong"), Err(AppError::Invalid(m)) if m.contains("current")));
    // An access token is not the current password, even a valid one of this user's.
    assert!(matches!(refused(&token.secret), Err(AppError::Invalid(_))));
    // Another user's right password is not this user's.
    let bob = w.permit("bob");
    let bobs = self_service::create_token(d, &w.permit("bob"), "ci", ScopeSet::VIEW, None, NOW)
        .expect("token");
    assert!(!bobs.record.revoked);
    let done = self_service::change_password(d, &auth, &bob, change(PASSWORD, true), NOW)
        .expect("changed");
    assert_eq!(done.user.name, "bob");
    assert_eq!(
        done.access_tokens_ended, 1,
        "revoke_tokens ends the access tokens"
    );
    let tokens = d.list_access_tokens(done.user.id).expect("list");
    assert!(!tokens.is_empty() && tokens.iter().all(|t| t.revoked));
    // Without revoke_tokens, a password change leaves access tokens alone.
    let alice = w.permit("alice");
    let kept = self_service::change_password(d, &auth, &alice, change(PASSWORD, false), NOW)
        .expect("changed");
    assert_eq!(kept.access_tokens_ended, 0);
    let alices = d.list_access_tokens(kept.user.id).expect("list");
    assert!(alices.iter().any(|t| !t.revoked), "{alices:?}");
}

#[test]
fn access_requests_follow_who_sees_what_and_approval_grants_download() {
    let w = world();
    let d = w.d.as_ref();
    let entity = EntityRef::Id(w.p);
    let file = |who: &str| access_requests::file(d, &w.permit(who), &entity, "please", NOW);
    assert!(
        matches!(file("alice"), Err(AppError::Invalid(_))),
        "the owner has it"
    );
    assert!(file("root").is_err(), "admins have nothing to ask for");
    assert!(
        is_hidden(file("carol").unwrap_err()),
        "a stranger does not see it"
    );
    let filed = file("bob").expect("a reader asks");
    assert!(file("bob").is_err(), "one open request per user and entity");
    let empty = access_requests::file(d, &w.permit("bob"), &entity, "  ", NOW);
    assert!(matches!(empty, Err(AppError::Invalid(_))));
    let inbox = |who: &str| access_requests::inbox(d, &w.permit(who), &entity, false);
    assert_eq!(inbox("alice").expect("inbox").len(), 1);
    assert!(matches!(
        inbox("bob"),
        Err(AppError::Denied(_) | AppError::Lacks(_))
    ));
    assert!(is_hidden(inbox("carol").unwrap_err()));
    let mine = access_requests::mine(d, &w.permit("bob")).expect("mine");
    assert_eq!(mine.len(), 1);
    assert!(access_requests::mine(d, &w.permit("carol"))
        .expect("mine")
        .is_empty());
    let decide = |who: &str, approve, reason: &str| {
        access_requests::decide(d, &w.permit(who), filed.id, approve, reason, NOW)
    };
    assert!(
        decide("bob", true, "").is_err(),
        "the requester decides nothing"
    );
    assert!(
        matches!(decide("alice", false, ""), Err(AppError::Invalid(_))),
        "a denial needs a reason"
    );
    let approved = decide("alice", true, "").expect("approved");
    assert_eq!(approved.requester_name, "bob");
    assert!(decide("alice", true, "").is_err(), "decided once");
    let view = sharing::show(d, &w.permit("bob"), &entity).expect("acl");
    let bobs = view
        .entries
        .iter()
        .find(|(p, _)| *p == PrincipalRef::User("bob".into()))
        .expect("bob's entry");
    assert!(bobs.1.contains(AccessSet::READ | AccessSet::DOWNLOAD));
}

#[test]
fn readers_hear_what_they_lack_strangers_hear_nothing() {
    let w = world();
    let d = w.d.as_ref();
    let entity = EntityRef::Id(w.p);
    let entries = vec![(PrincipalRef::User("carol".into()), AccessSet::all())];
    let replace = |who: &str| sharing::replace(d, &w.permit(who), &entity, &entries, NOW);
    assert!(
        matches!(replace("bob"), Err(AppError::Denied(_))),
        "a reader lacks it"
    );
    assert!(is_hidden(replace("carol").unwrap_err()));
    assert!(is_hidden(
        sharing::show(d, &w.permit("carol"), &entity).unwrap_err()
    ));
    let move_ = |who: &str| trash::trash(d, &w.permit(who), &entity, NOW);
    assert!(matches!(move_("bob"), Err(AppError::Denied(_))));
    assert!(is_hidden(move_("carol").unwrap_err()));
    // Projects listed: what READ shows (admins: all out of the trash).
    let listed = |who: &str| {
        projects::list_visible(d, &w.permit(who))
            .expect("list")
            .len()
    };
    assert_eq!(
        (
            listed("alice"),
            listed("bob"),
            listed("carol"),
            listed("root")
        ),
        (1, 1, 0, 1)
    );
    // External records: UPDATE on the project to add, READ and UPDATE to delete.
    let ours = vec!["registry.example.org".to_string()];
    let add = |who: &str, name: &str| external::add(d, &w.permit(who), w.p, name, &ours, NOW);
    assert!(is_hidden(add("bob", "quay.io/a/b").unwrap_err()));
    assert!(is_hidden(add("carol", "quay.io/a/b").unwrap_err()));
    let record = add("alice", "quay.io/a/b").expect("added");
    let delete = |who: &str| external::delete(d, &w.permit(who), record.id, NOW);
    assert!(is_hidden(delete("carol").unwrap_err()));
    assert!(is_hidden(delete("bob").unwrap_err()), "READ without UPDATE");
    delete("alice").expect("deleted");
    // The owner trashes and restores; then the project is out of every listing.
    move_("alice").expect("trashed");
    assert_eq!((listed("alice"), listed("root")), (0, 0));
    trash::restore(d, &w.permit("alice"), &entity, NOW).expect("restored");
    assert_eq!(listed("alice"), 1);
}

#[test]
fn administration_as_a_caller_is_an_admins_and_audited_with_its_name() {
    let w = world();
    let d = w.d.as_ref();
    let changes = || users::UserChanges {
        certified: Some(false),
        ..Default::default()
    };
    let done = users::set(d, &w.permit("root"), "carol", changes(), NOW).expect("changed");
    assert!(!done.user.certified);
    assert!(users::set(d, &w.permit("root"), "nobody", changes(), NOW).is_err());
    assert_eq!(users::list(d, &w.permit("root")).expect("list").len(), 4);
    let records = carols_trail(d);
    assert!(records.iter().any(|r| r.actor == "root"), "{records:?}");
    // Disabling ends the user's docker logins, and the trail says why.
    let carol = d.user_by_name("carol").expect("read").expect("carol");
    let login = NewRefreshToken {
        user: carol.id,
        hash: secret::hash_token("carol's login"),
        service: "registry".into(),
        client_id: "docker".into(),
        scopes: ScopeSet::PASSWORD,
        expires_at: None,
        access_token_id: None,
    };
    d.create_refresh_token(&login, NOW).expect("login");
    let disable = users::UserChanges {
        disabled: Some(true),
        ..Default::default()
    };
    let done = users::set(d, &w.permit("root"), "carol", disable, NOW).expect("disabled");
    assert_eq!(done.refresh_tokens_ended, 1);
    let records = carols_trail(d);
    let ended = records
        .iter()
        .find(|r| r.kind == "refresh_tokens_revoked")
        .expect("recorded");
    assert_eq!(ended.detail["why"], "user disabled", "{ended:?}");
    // Nobody but an admin is admitted, whatever the scopes.
    let alice = w.caller("alice", ScopeSet::PASSWORD);
    assert!(matches!(
        Permit::<crate::app::operations::ChangeUser>::admit(&alice),
        Err(AppError::AdminOnly)
    ));
}

/// The newest ten audit records about carol.
fn carols_trail(d: &dyn crate::domain::ports::AuditLog) -> Vec<crate::domain::ports::AuditEntry> {
    d.query(&crate::domain::audit::AuditFilter {
        user: Some("carol".into()),
        since: None,
        limit: 10,
    })
    .expect("audit")
}
