//! What the fake Synapse's handlers and its handle share: the model, the keys, the
//! failure injection, and the per-endpoint counters (calls, concurrency).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use actix_web::web;
use serde_json::Value;

use super::model::{Model, UserId};
use super::tokens::{self, Keys, Verified};

/// The endpoints the fake serves, for failure injection and counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /auth/v1/login2` (§1.1)
    Login,
    /// `GET /auth/v1/oauth2/jwks` (§1.2)
    Jwks,
    /// `GET /auth/v1/.well-known/openid-configuration` (§1.3)
    Discovery,
    /// `GET /auth/v1/authenticatedOn` (§1.4)
    AuthenticatedOn,
    /// `GET /repo/v1/entity/dockerRepo/id` (§1.5)
    DockerRepoId,
    /// `GET /repo/v1/entity/{id}/permissions` (§1.6)
    Permissions,
    /// `GET /repo/v1/entity/{id}/type` (§1.7)
    EntityType,
    /// `GET /repo/v1/user/bundle` (§1.8)
    UserBundle,
    /// `POST /dockerRegistryListener/v1/events` (§1.9)
    Listener,
}

impl Endpoint {
    /// Behind Synapse's `/repo/v1/*` filters (terms of use, throttles, scopes).
    pub fn is_repo(self) -> bool {
        matches!(
            self,
            Endpoint::DockerRepoId
                | Endpoint::Permissions
                | Endpoint::EntityType
                | Endpoint::UserBundle
        )
    }

    /// The status of a normal answer: login2 alone answers 201 (§1.1).
    pub fn success_status(self) -> u16 {
        match self {
            Endpoint::Login => 201,
            _ => 200,
        }
    }
}

/// An injected failure (§5): what the next calls of an endpoint get instead of an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Answer normally.
    None,
    /// This status with a JSON `reason` (503 maintenance, 500, 429 without `Retry-After`).
    Status(u16),
    /// Never answer (the handler sleeps for an hour; the server's drop ends it).
    Hang,
    /// The endpoint's success status with a body no JSON parser accepts.
    Garbage,
}

/// A failure and how many more calls it applies to (None: until changed).
#[derive(Clone, Copy)]
pub struct Injected {
    pub failure: Failure,
    pub remaining: Option<usize>,
}

#[derive(Default, Clone, Copy)]
pub struct Counter {
    pub calls: usize,
    pub in_flight: usize,
    pub max_in_flight: usize,
}

impl Counter {
    fn enter(&mut self) {
        self.in_flight += 1;
        self.max_in_flight = self.max_in_flight.max(self.in_flight);
    }
}

pub struct State {
    pub model: Model,
    pub keys: Keys,
    pub failures: HashMap<Endpoint, Injected>,
    pub delays: HashMap<Endpoint, Duration>,
    pub counters: HashMap<Endpoint, Counter>,
    /// In-flight `/repo/v1/*` calls per user (the throttle of §5).
    pub user_counters: HashMap<UserId, Counter>,
    /// Concurrent `/repo/v1/*` calls a user may have before 429 (§5: 3); None: no limit.
    pub concurrency_limit: Option<usize>,
    pub listener_events: Vec<Value>,
    /// The Basic credentials of the registry listener (§1.9).
    pub listener_key: String,
    pub listener_secret: String,
}

impl State {
    /// The caller of a bearer token as Synapse sees it: a valid token (§2) that was not
    /// revoked, of a user that exists (§1.4 "401").
    pub fn authenticate(&self, token: &str) -> Result<Verified, &'static str> {
        let verified = tokens::verify(&self.keys, token)?;
        if self.model.revoked.contains(&verified.jti) {
            return Err("revoked");
        }
        if !self.model.users.contains_key(&verified.user) {
            return Err("no such user");
        }
        Ok(verified)
    }

    /// The failure for this call, counting it against a limited injection.
    fn take_failure(&mut self, endpoint: Endpoint) -> Failure {
        let Some(injected) = self.failures.get_mut(&endpoint) else {
            return Failure::None;
        };
        let failure = injected.failure;
        if let Some(n) = injected.remaining.as_mut() {
            *n -= 1;
            if *n == 0 {
                self.failures.remove(&endpoint);
            }
        }
        failure
    }
}

/// The state behind one lock: handlers hold it for microseconds and never across an
/// await. The in-flight markers take it when dropped, so a handler must not keep a
/// guard alive past them (e.g. as a temporary in its tail expression).
pub struct Shared {
    state: Mutex<State>,
}

impl Shared {
    pub fn new(state: State) -> Shared {
        Shared {
            state: Mutex::new(state),
        }
    }

    /// The state; a panic in another holder (a failed assertion) does not hide it.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One call in flight at an endpoint; leaving it (even by cancellation) counts it out.
pub struct InFlight {
    shared: web::Data<Shared>,
    endpoint: Endpoint,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        if let Some(c) = state.counters.get_mut(&self.endpoint) {
            c.in_flight -= 1;
        }
    }
}

/// One `/repo/v1/*` call in flight for a user.
pub struct UserInFlight {
    shared: web::Data<Shared>,
    user: UserId,
}

impl Drop for UserInFlight {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        if let Some(c) = state.user_counters.get_mut(&self.user) {
            c.in_flight -= 1;
        }
    }
}

/// What a call gets before its handler runs: go on (with its in-flight marker), or an
/// injected answer.
pub enum Entry {
    Proceed(InFlight),
    Fail(InFlight, Failure),
}

/// Counts the call and tells the handler whether to fail.
pub fn enter(shared: &web::Data<Shared>, endpoint: Endpoint) -> Entry {
    let failure = {
        let mut state = shared.lock();
        let counter = state.counters.entry(endpoint).or_default();
        counter.calls += 1;
        counter.enter();
        state.take_failure(endpoint)
    };
    let in_flight = InFlight {
        shared: shared.clone(),
        endpoint,
    };
    match failure {
        Failure::None => Entry::Proceed(in_flight),
        failure => Entry::Fail(in_flight, failure),
    }
}

/// Waits the delay configured for `endpoint`, if any: the time Synapse takes to answer.
pub async fn pause(shared: &web::Data<Shared>, endpoint: Endpoint) {
    let delay = shared.lock().delays.get(&endpoint).copied();
    if let Some(delay) = delay {
        actix_web::rt::time::sleep(delay).await;
    }
}

/// Admits one more `/repo/v1/*` call for `user`, or None when the user already has
/// `concurrency_limit` in flight (the 3-concurrent throttle of §5).
pub fn admit_user(shared: &web::Data<Shared>, user: UserId) -> Option<UserInFlight> {
    let mut state = shared.lock();
    let limit = state.concurrency_limit;
    let counter = state.user_counters.entry(user).or_default();
    if limit.is_some_and(|l| counter.in_flight >= l) {
        return None;
    }
    counter.enter();
    Some(UserInFlight {
        shared: shared.clone(),
        user,
    })
}
