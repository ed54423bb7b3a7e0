//! A fake Sage Bionetworks Synapse for tests: an in-process HTTP server on a free
//! loopback port (or a given address) that speaks the documented Synapse REST shapes,
//! statuses and quirks of `synapse-rest-backend.md` (and nothing else), with a handle
//! to set up its world (users, projects, repositories, ACLs, trash), mint its tokens,
//! inject failures and read what it was asked.
//!
//! Built from the reference only; `tests/synapse_contract.rs` checks it against it.
//! The server runs on a thread of its own with its own actix system, so synchronous
//! and async tests alike can use it. Dropping the handle stops the server.

#![allow(dead_code)]

mod model;
mod routes;
mod state;
mod tokens;

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpServer};
use serde_json::Value;

use model::{parse_syn, syn, Access, Model};
use state::{Injected, Shared, State};
use tokens::Keys;

// Re-exports for the test binaries; each uses a different subset.
#[allow(unused_imports)]
pub use model::{UserId, AUTHENTICATED, DOCKER_REPOSITORY_TYPE, PROJECT_TYPE, PUBLIC};
#[allow(unused_imports)]
pub use state::{Endpoint, Failure};
#[allow(unused_imports)]
pub use tokens::{
    unverified_claims, TokenSpec, ALL_SCOPES, LOGIN_TOKEN_SECONDS, OIDC_ACCESS_TOKEN,
    OIDC_ID_TOKEN, PERSONAL_ACCESS_TOKEN,
};

/// The registry host in repository names unless a test says otherwise (§1.5).
pub const REGISTRY_HOST: &str = "docker.synapse.test";
/// The registry listener's Basic credentials (§1.9).
pub const LISTENER_KEY: &str = "regauth";
pub const LISTENER_SECRET: &str = "listener-secret";
/// Every access type an entity's owner holds (as `grant` takes them).
pub const EVERY_ACCESS: [&str; 6] = [
    "READ",
    "DOWNLOAD",
    "UPDATE",
    "CREATE",
    "DELETE",
    "CHANGE_PERMISSIONS",
];
/// Synapse's concurrent-request limit per user on `/repo/v1/*` (§5).
pub const CONCURRENT_REQUESTS_PER_USER: usize = 3;

pub struct FakeSynapse {
    shared: web::Data<Shared>,
    base_url: String,
    registry_host: String,
    server: ServerHandle,
}

impl FakeSynapse {
    /// Listens on 127.0.0.1:<free port>, with one signing key and no users.
    pub fn start() -> FakeSynapse {
        Self::start_with_registry_host(REGISTRY_HOST)
    }

    /// As `start`, with repository names under `registry_host` (e.g. the
    /// `127.0.0.1:PORT` of a real registry whose events reach the listener).
    pub fn start_with_registry_host(registry_host: &str) -> FakeSynapse {
        Self::start_on("127.0.0.1:0", None, registry_host).expect("bind a loopback port")
    }

    /// As `start_with_registry_host`, listening on `bind` (`0.0.0.0:8080` in a
    /// container) and reached by others at `public_url` (a compose service name), which
    /// its tokens then name as issuer; `None` is `http://<the bound address>`.
    pub fn start_on(
        bind: &str,
        public_url: Option<&str>,
        registry_host: &str,
    ) -> std::io::Result<FakeSynapse> {
        let listener = TcpListener::bind(bind)?;
        let base_url = match public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}", listener.local_addr()?),
        };
        let shared = web::Data::new(Shared::new(initial_state(registry_host)));
        let server = serve(listener, shared.clone());
        Ok(FakeSynapse {
            shared,
            base_url,
            registry_host: registry_host.to_string(),
            server,
        })
    }

    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The `iss` of tokens and of the discovery document when asked at `base_url`.
    pub fn issuer(&self) -> String {
        format!("{}/auth/v1", self.base_url)
    }

    pub fn registry_host(&self) -> &str {
        &self.registry_host
    }

    /// `registry_host/project/name`: what `dockerRepo/id` is asked for.
    pub fn repository_name(&self, project: &str, name: &str) -> String {
        format!("{}/{project}/{name}", self.registry_host)
    }

    /// Another host the registry listener accepts events from.
    pub fn allow_registry_host(&self, host: &str) {
        self.with(|s| s.model.registry_hosts.push(host.to_string()));
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.shared.lock())
    }

    // ---- users and teams ----

    /// A user (terms of use signed, not certified, no 2FA); its e-mail is
    /// `<name>@users.synapse.test`.
    pub fn add_user(&self, name: &str, password: &str) -> UserId {
        self.with(|s| s.model.add_user(name, password))
    }

    pub fn email(&self, user: UserId) -> String {
        self.with(|s| s.model.user_mut(user).email.clone())
    }

    pub fn set_certified(&self, user: UserId, certified: bool) {
        self.with(|s| s.model.user_mut(user).certified = certified);
    }

    /// 2FA on: login2 answers 401 `TWO_FA_REQUIRED` after a correct password.
    pub fn set_two_factor(&self, user: UserId, enabled: bool) {
        self.with(|s| s.model.user_mut(user).two_factor = enabled);
    }

    /// Locked out: login2 answers 423 (unless given a receipt of an earlier success).
    pub fn lock_out(&self, user: UserId, locked: bool) {
        self.with(|s| s.model.user_mut(user).locked_out = locked);
    }

    pub fn set_admin(&self, user: UserId, admin: bool) {
        self.with(|s| s.model.user_mut(user).admin = admin);
    }

    /// Unsigned terms: login2 still 201 (`acceptsTermsOfUse: false`), `/repo/v1/*` 403.
    pub fn set_terms_accepted(&self, user: UserId, accepted: bool) {
        self.with(|s| s.model.user_mut(user).terms_accepted = accepted);
    }

    /// login2 answers 401 `PASSWORD_RESET_VIA_EMAIL_REQUIRED` after a correct password.
    pub fn require_password_reset(&self, user: UserId, required: bool) {
        self.with(|s| s.model.user_mut(user).password_reset_required = required);
    }

    /// Wrong passwords login2 has seen for this user.
    pub fn failed_logins(&self, user: UserId) -> usize {
        self.with(|s| s.model.user_mut(user).failed_logins)
    }

    /// A team: a principal that can be granted access, holding members.
    pub fn add_team(&self) -> UserId {
        self.with(|s| s.model.add_team())
    }

    pub fn add_to_team(&self, team: UserId, user: UserId) {
        self.with(|s| s.model.add_member(team, user));
    }

    // ---- entities ----

    /// A project with an empty ACL; its id (`syn…`).
    pub fn add_project(&self, name: &str) -> String {
        syn(self.with(|s| s.model.add_project(name)))
    }

    /// A managed repository `registry_host/project/name` under `project`, inheriting
    /// the project's ACL; its entity id.
    pub fn add_docker_repo(&self, project: &str, name: &str) -> String {
        let repository_name = self.repository_name(project, name);
        let project = entity_number(project);
        syn(self.with(|s| s.model.add_repository(project, &repository_name)))
    }

    /// The entity's `ownerPrincipalId`.
    pub fn set_owner(&self, entity: &str, user: UserId) {
        self.with(|s| s.model.entity_mut(entity_number(entity)).owner = Some(user));
    }

    /// Moves the entity to the trash (true) or restores it; a project's trash covers
    /// its repositories.
    pub fn trash(&self, entity: &str, trashed: bool) {
        self.with(|s| s.model.entity_mut(entity_number(entity)).trashed = trashed);
    }

    /// Sets `principal`'s access types (`READ DOWNLOAD UPDATE CREATE DELETE
    /// CHANGE_PERMISSIONS MODERATE`) in the entity's own ACL, replacing what that
    /// principal had there; `&[]` removes the entry. A repository without its own ACL
    /// inherits its project's; the first grant on it gives it local sharing settings,
    /// which replace the inherited ACL entirely.
    pub fn grant(&self, entity: &str, principal: UserId, perms: &[&str]) {
        let access: Vec<Access> = perms.iter().map(|p| Access::parse(p)).collect();
        self.with(|s| {
            s.model
                .set_access(entity_number(entity), principal, &access)
        });
    }

    /// Drops a repository's local sharing settings: it inherits its project's again.
    pub fn inherit(&self, entity: &str) {
        self.with(|s| {
            let entity = s.model.entity_mut(entity_number(entity));
            assert!(
                !entity.is_project(),
                "a project has no parent to inherit from"
            );
            entity.acl = None;
        });
    }

    /// An access requirement on the entity (and its children): `canDownload` is false
    /// for users not approved, admins aside (§1.6).
    pub fn add_access_requirement(&self, entity: &str) {
        self.with(|s| s.model.entity_mut(entity_number(entity)).access_requirement = true);
    }

    pub fn approve_access(&self, entity: &str, user: UserId) {
        self.with(|s| s.model.approvals.insert((entity_number(entity), user)));
    }

    /// The `UserEntityPermissions` the fake would answer (for assertions).
    pub fn permissions_of(&self, user: Option<UserId>, entity: &str) -> Value {
        self.with(|s| s.model.permissions(user, entity_number(entity)))
    }

    // ---- credentials ----

    /// A token as login2 returns it: `OIDC_ACCESS_TOKEN`, every scope, `exp` in 24 h.
    pub fn login_token(&self, user: UserId) -> String {
        self.mint(&TokenSpec::login(user))
    }

    /// A personal access token with these scopes and no `exp`.
    pub fn pat(&self, user: UserId, scopes: &[&str]) -> String {
        self.mint(&TokenSpec::personal(user, scopes))
    }

    /// A login2-style token whose `exp` passed an hour ago.
    pub fn expired_token(&self, user: UserId) -> String {
        let mut spec = TokenSpec::login(user);
        spec.issued_at -= tokens::LOGIN_TOKEN_SECONDS + 3600;
        spec.expires_at = Some(spec.issued_at + tokens::LOGIN_TOKEN_SECONDS);
        self.mint(&spec)
    }

    /// Any token, signed with the current key.
    pub fn mint(&self, spec: &TokenSpec) -> String {
        let issuer = self.issuer();
        self.with(|s| tokens::mint(s.keys.signer(), spec, &issuer))
    }

    /// Revokes the token (logout, PAT deleted): 401 everywhere from now on.
    pub fn revoke(&self, token: &str) {
        let claims = unverified_claims(token).expect("a JWT");
        let jti = claims["jti"].as_str().expect("a jti").to_string();
        self.with(|s| s.model.revoked.insert(jti));
    }

    /// A new signing key with a new `kid`, published beside the old ones; new tokens
    /// are signed with it.
    pub fn rotate_key(&self) {
        self.with(|s| s.keys.rotate());
    }

    /// A login2-style token signed by a key the JWKS does not show yet (Synapse itself
    /// accepts it).
    pub fn sign_with_unpublished_key(&self, user: UserId) -> String {
        let issuer = self.issuer();
        self.with(|s| tokens::mint(s.keys.pending(), &TokenSpec::login(user), &issuer))
    }

    /// Publishes the key of `sign_with_unpublished_key`; it signs from now on.
    pub fn publish_pending_key(&self) {
        self.with(|s| s.keys.publish_pending());
    }

    // ---- failures and counters ----

    /// Every call of `endpoint` gets `failure` until told otherwise (`Failure::None`).
    pub fn fail(&self, endpoint: Endpoint, failure: Failure) {
        self.with(|s| {
            s.failures.insert(
                endpoint,
                Injected {
                    failure,
                    remaining: None,
                },
            )
        });
    }

    /// The next `times` calls of `endpoint` get `failure`, the ones after answer.
    pub fn fail_times(&self, endpoint: Endpoint, failure: Failure, times: usize) {
        let injected = Injected {
            failure,
            remaining: Some(times),
        };
        self.with(|s| {
            if times == 0 {
                s.failures.remove(&endpoint);
            } else {
                s.failures.insert(endpoint, injected);
            }
        });
    }

    /// Every call of `endpoint` waits this long before being handled (so calls overlap).
    pub fn delay(&self, endpoint: Endpoint, delay: Duration) {
        self.with(|s| s.delays.insert(endpoint, delay));
    }

    /// Concurrent `/repo/v1/*` calls a user may have before 429 (default 3, §5).
    pub fn set_concurrency_limit(&self, limit: Option<usize>) {
        self.with(|s| s.concurrency_limit = limit);
    }

    /// Requests `endpoint` received, injected failures included.
    pub fn calls(&self, endpoint: Endpoint) -> usize {
        self.with(|s| s.counters.get(&endpoint).map_or(0, |c| c.calls))
    }

    /// The most requests `endpoint` had in flight at once.
    pub fn max_in_flight(&self, endpoint: Endpoint) -> usize {
        self.with(|s| s.counters.get(&endpoint).map_or(0, |c| c.max_in_flight))
    }

    /// The most `/repo/v1/*` calls one user had in flight at once (all endpoints).
    pub fn max_in_flight_for(&self, user: UserId) -> usize {
        self.with(|s| s.user_counters.get(&user).map_or(0, |c| c.max_in_flight))
    }

    /// Forgets the call counts and concurrency peaks.
    pub fn reset_counters(&self) {
        self.with(|s| {
            for c in s.counters.values_mut().chain(s.user_counters.values_mut()) {
                c.calls = 0;
                c.max_in_flight = c.in_flight;
            }
        });
    }

    /// The bodies POSTed to the registry listener with the right credentials.
    pub fn listener_events(&self) -> Vec<Value> {
        self.with(|s| s.listener_events.clone())
    }
}

impl Drop for FakeSynapse {
    /// Stops the server at once; hanging handlers are dropped with their workers.
    fn drop(&mut self) {
        futures_executor::block_on(self.server.stop(false));
    }
}

/// `synN` to N; panics on anything else (a mistake in the test).
fn entity_number(entity: &str) -> u64 {
    parse_syn(entity).unwrap_or_else(|| panic!("not an entity id: {entity:?}"))
}

fn initial_state(registry_host: &str) -> State {
    State {
        model: Model::new(registry_host),
        keys: Keys::generate(),
        failures: HashMap::new(),
        delays: HashMap::new(),
        counters: HashMap::new(),
        user_counters: HashMap::new(),
        concurrency_limit: Some(CONCURRENT_REQUESTS_PER_USER),
        listener_events: Vec::new(),
        listener_key: LISTENER_KEY.to_string(),
        listener_secret: LISTENER_SECRET.to_string(),
    }
}

/// Runs the server on its own thread and actix system; returns its handle once it
/// accepts connections.
fn serve(listener: TcpListener, shared: web::Data<Shared>) -> ServerHandle {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("fake-synapse".into())
        .spawn(move || {
            let system = actix_web::rt::System::new();
            let result = system.block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(shared.clone())
                        .configure(routes::configure)
                })
                .workers(2)
                .disable_signals()
                .listen(listener)?
                .run();
                let _ = tx.send(server.handle());
                server.await
            });
            if let Err(e) = result {
                eprintln!("fake Synapse stopped: {e}");
            }
        })
        .expect("spawn the fake Synapse thread");
    rx.recv().expect("the fake Synapse did not start")
}
