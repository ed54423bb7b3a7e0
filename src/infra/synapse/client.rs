//! Synapse's REST API as the backend calls it: typed answers for the endpoints of the
//! reference (`../shared/reference/synapse-rest-backend.md` §1), with its failure policy
//! (§5): one deadline per call, a GET retried at most once after a 5xx, 429 or a
//! connection failure (login2 never re-sent after an answer: every failure feeds
//! Synapse's lock-out), at most two calls in flight per user (Synapse allows three),
//! and a circuit breaker that fails calls at once after repeated upstream failures.
//! Every outcome that is not an answer is `Unavailable`: the token endpoint's 503.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Semaphore;

/// The endpoints, for metrics and the breaker's log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Login,
    Jwks,
    Discovery,
    AuthenticatedOn,
    DockerRepoId,
    Permissions,
    EntityType,
}

impl Endpoint {
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Login => "login2",
            Endpoint::Jwks => "jwks",
            Endpoint::Discovery => "openid-configuration",
            Endpoint::AuthenticatedOn => "authenticatedOn",
            Endpoint::DockerRepoId => "dockerRepo/id",
            Endpoint::Permissions => "permissions",
            Endpoint::EntityType => "type",
        }
    }
}

/// Synapse could not give an answer: fail closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("synapse {endpoint} unavailable: {why}")]
pub struct Unavailable {
    pub endpoint: &'static str,
    pub why: String,
}

/// How a password login ended (§1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// 201: the user's access token (a JWT, verified by the caller like any other).
    Token(String),
    /// 401: wrong password or unknown user (Synapse answers both alike).
    Refused,
    /// 401 TWO_FA_REQUIRED: docker cannot complete it; a personal access token can.
    TwoFactorRequired,
    /// 401 PASSWORD_RESET_VIA_EMAIL_REQUIRED.
    PasswordResetRequired,
    /// 423: Synapse's lock-out after repeated failures.
    Locked,
}

/// An answer about an entity, for the caller whose token asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer<T> {
    Found(T),
    /// 404; `in_trash` when the reason says the entity is in the trash can (§1.5: the
    /// only difference between "never pushed" and "trashed").
    NotFound {
        in_trash: bool,
    },
    /// 403: no READ, a missing scope, unsigned terms of use.
    Forbidden,
    /// 401: the token is not (or no longer) good.
    Unauthenticated,
}

/// `UserEntityPermissions`, the fields the rules use (§1.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Permissions {
    #[serde(default)]
    pub can_download: bool,
    #[serde(default)]
    pub can_edit: bool,
    #[serde(default)]
    pub can_add_child: bool,
    #[serde(default)]
    pub can_delete: bool,
    #[serde(default)]
    pub is_certified_user: bool,
}

/// `EntityHeader`, the part the rules use (§1.7).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EntityHeader {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
}

impl EntityHeader {
    pub fn is_project(&self) -> bool {
        self.kind == "org.sagebionetworks.repo.model.Project"
    }
}

/// Limits of the client; the defaults follow the reference.
#[derive(Debug, Clone)]
pub struct ClientLimits {
    /// Longest one call (with its retry) may take.
    pub deadline: Duration,
    /// Calls in flight per user at most (Synapse throttles at three).
    pub per_user: usize,
    /// Calls in flight at most in all: a storm of token requests waits for a place
    /// (within the deadline, then 503) instead of becoming a storm on Synapse.
    pub total: usize,
    /// Consecutive failures that open the breaker, and how long it stays open.
    pub breaker_after: u32,
    pub breaker_open: Duration,
}

impl Default for ClientLimits {
    fn default() -> ClientLimits {
        ClientLimits {
            deadline: Duration::from_secs(5),
            per_user: 2,
            total: 64,
            breaker_after: 5,
            breaker_open: Duration::from_secs(5),
        }
    }
}

/// Held while a call is in flight: the user's place and the global one.
struct Slot(
    #[allow(dead_code)] tokio::sync::OwnedSemaphorePermit,
    #[allow(dead_code)] tokio::sync::OwnedSemaphorePermit,
);

pub struct SynapseClient {
    http: reqwest::Client,
    base: String,
    limits: ClientLimits,
    per_user: Mutex<HashMap<String, Arc<Semaphore>>>,
    total: Arc<Semaphore>,
    failures: AtomicU32,
    /// Milliseconds since `started` until which the breaker is open (0 = closed).
    open_until: AtomicU64,
    started: Instant,
}

#[derive(Deserialize)]
struct LoginResponse {
    #[serde(rename = "accessToken")]
    access_token: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    reason: String,
    #[serde(default, rename = "errorCode")]
    error_code: String,
}

#[derive(Deserialize)]
struct EntityIdBody {
    id: String,
}

impl SynapseClient {
    /// A client for `base` (`https://repo-prod.prod.sagebase.org`, no trailing slash).
    pub fn new(base: &str, limits: ClientLimits) -> Result<SynapseClient, Unavailable> {
        let http = reqwest::Client::builder()
            .timeout(limits.deadline)
            .connect_timeout(limits.deadline.min(Duration::from_secs(3)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("regauth/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Unavailable {
                endpoint: "client",
                why: e.to_string(),
            })?;
        Ok(SynapseClient {
            http,
            base: base.trim_end_matches('/').to_string(),
            total: Arc::new(Semaphore::new(limits.total.max(1))),
            per_user: Mutex::new(HashMap::new()),
            limits,
            failures: AtomicU32::new(0),
            open_until: AtomicU64::new(0),
            started: Instant::now(),
        })
    }

    /// `POST /auth/v1/login2`, sent once: never again after Synapse has answered.
    pub async fn login(&self, username: &str, password: &str) -> Result<Login, Unavailable> {
        let ep = Endpoint::Login;
        self.breaker(ep)?;
        let _slot = self.slot(ep, username).await?;
        let body = serde_json::json!({"username": username, "password": password});
        let sent = self
            .http
            .post(format!("{}/auth/v1/login2", self.base))
            .json(&body)
            .send()
            .await;
        let r = match sent {
            Ok(r) => r,
            // The connection never opened: nothing reached Synapse, one more try.
            Err(e) if e.is_connect() => self
                .http
                .post(format!("{}/auth/v1/login2", self.base))
                .json(&body)
                .send()
                .await
                .map_err(|e| self.failed(ep, e.to_string()))?,
            Err(e) => return Err(self.failed(ep, e.to_string())),
        };
        let status = r.status().as_u16();
        let text = r.text().await.map_err(|e| self.failed(ep, e.to_string()))?;
        let out = match status {
            200 | 201 => match serde_json::from_str::<LoginResponse>(&text) {
                Ok(l) => Login::Token(l.access_token),
                Err(e) => return Err(self.failed(ep, format!("login answer: {e}"))),
            },
            401 => match serde_json::from_str::<ErrorBody>(&text) {
                Ok(b) if b.error_code == "TWO_FA_REQUIRED" => Login::TwoFactorRequired,
                Ok(b) if b.error_code == "PASSWORD_RESET_VIA_EMAIL_REQUIRED" => {
                    Login::PasswordResetRequired
                }
                _ => Login::Refused,
            },
            423 => Login::Locked,
            other => return Err(self.failed(ep, format!("HTTP {other}"))),
        };
        self.succeeded(ep);
        Ok(out)
    }

    /// `GET /auth/v1/oauth2/jwks`: the raw body (parsed by `jwks`).
    pub async fn jwks(&self) -> Result<Vec<u8>, Unavailable> {
        let ep = Endpoint::Jwks;
        let (status, body) = self.get(ep, None, "/auth/v1/oauth2/jwks").await?;
        match status {
            200 => Ok(body),
            other => Err(self.failed(ep, format!("HTTP {other}"))),
        }
    }

    /// `GET /auth/v1/.well-known/openid-configuration`: the issuer.
    pub async fn issuer(&self) -> Result<String, Unavailable> {
        #[derive(Deserialize)]
        struct Discovery {
            issuer: String,
        }
        let ep = Endpoint::Discovery;
        let (status, body) = self
            .get(ep, None, "/auth/v1/.well-known/openid-configuration")
            .await?;
        if status != 200 {
            return Err(self.failed(ep, format!("HTTP {status}")));
        }
        serde_json::from_slice::<Discovery>(&body)
            .map(|d| d.issuer)
            .map_err(|e| self.failed(ep, format!("discovery document: {e}")))
    }

    /// `GET /auth/v1/authenticatedOn`: whether Synapse still honours the token.
    pub async fn token_alive(&self, user: &str, token: &str) -> Result<bool, Unavailable> {
        let ep = Endpoint::AuthenticatedOn;
        let (status, _) = self
            .get(ep, Some((user, token)), "/auth/v1/authenticatedOn")
            .await?;
        match status {
            200 => Ok(true),
            401 => Ok(false),
            other => Err(self.failed(ep, format!("HTTP {other}"))),
        }
    }

    /// `GET /repo/v1/entity/dockerRepo/id?repositoryName=...` (§1.5).
    pub async fn docker_repo_id(
        &self,
        user: &str,
        token: &str,
        repository_name: &str,
    ) -> Result<Answer<String>, Unavailable> {
        let path = format!(
            "/repo/v1/entity/dockerRepo/id?repositoryName={}",
            form_urlencoded::byte_serialize(repository_name.as_bytes()).collect::<String>()
        );
        self.entity_get(Endpoint::DockerRepoId, (user, token), &path, |b| {
            serde_json::from_slice::<EntityIdBody>(b).map(|e| e.id)
        })
        .await
    }

    /// `GET /repo/v1/entity/{id}/permissions` (§1.6).
    pub async fn permissions(
        &self,
        user: &str,
        token: &str,
        entity: &str,
    ) -> Result<Answer<Permissions>, Unavailable> {
        let path = format!("/repo/v1/entity/{entity}/permissions");
        self.entity_get(Endpoint::Permissions, (user, token), &path, |b| {
            serde_json::from_slice::<Permissions>(b)
        })
        .await
    }

    /// `GET /repo/v1/entity/{id}/type` (§1.7).
    pub async fn entity_type(
        &self,
        user: &str,
        token: &str,
        entity: &str,
    ) -> Result<Answer<EntityHeader>, Unavailable> {
        let path = format!("/repo/v1/entity/{entity}/type");
        self.entity_get(Endpoint::EntityType, (user, token), &path, |b| {
            serde_json::from_slice::<EntityHeader>(b)
        })
        .await
    }

    /// A GET of an entity resource at `path` with the caller's (user, token), its answer
    /// mapped by `answer` with `parse` reading a 200's body.
    async fn entity_get<T, E: std::fmt::Display>(
        &self,
        ep: Endpoint,
        caller: (&str, &str),
        path: &str,
        parse: impl FnOnce(&[u8]) -> Result<T, E>,
    ) -> Result<Answer<T>, Unavailable> {
        let (status, body) = self.get(ep, Some(caller), path).await?;
        self.answer(ep, status, &body, parse)
    }

    /// Maps an entity answer; anything but 200/401/403/404 is unavailable.
    fn answer<T, E: std::fmt::Display>(
        &self,
        ep: Endpoint,
        status: u16,
        body: &[u8],
        parse: impl FnOnce(&[u8]) -> Result<T, E>,
    ) -> Result<Answer<T>, Unavailable> {
        match status {
            200 => parse(body)
                .map(Answer::Found)
                .map_err(|e| self.failed(ep, format!("answer: {e}"))),
            401 => Ok(Answer::Unauthenticated),
            403 => Ok(Answer::Forbidden),
            404 => {
                let reason = serde_json::from_slice::<ErrorBody>(body)
                    .map(|b| b.reason)
                    .unwrap_or_default();
                Ok(Answer::NotFound {
                    in_trash: reason.to_ascii_lowercase().contains("trash"),
                })
            }
            other => Err(self.failed(ep, format!("HTTP {other}"))),
        }
    }

    /// A GET with the caller's token (or none), retried once after a 5xx, a 429 or a
    /// connection failure; answers with the status and body of the last attempt.
    async fn get(
        &self,
        ep: Endpoint,
        auth: Option<(&str, &str)>,
        path: &str,
    ) -> Result<(u16, Vec<u8>), Unavailable> {
        self.breaker(ep)?;
        let _slot = match auth {
            Some((user, _)) => Some(self.slot(ep, user).await?),
            None => None,
        };
        let url = format!("{}{path}", self.base);
        let mut last = String::new();
        for attempt in 0..2 {
            if attempt > 0 {
                // Jittered, well inside the deadline.
                let jitter = 50 + (self.started.elapsed().subsec_nanos() % 100) as u64;
                tokio::time::sleep(Duration::from_millis(jitter)).await;
            }
            let mut req = self.http.get(&url);
            if let Some((_, token)) = auth {
                req = req.bearer_auth(token);
            }
            metrics::counter!("regauth_synapse_calls_total", "endpoint" => ep.as_str())
                .increment(1);
            match req.send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    if status >= 500 || status == 429 {
                        last = format!("HTTP {status}");
                        continue;
                    }
                    let body = r
                        .bytes()
                        .await
                        .map_err(|e| self.failed(ep, e.to_string()))?;
                    self.succeeded(ep);
                    return Ok((status, body.to_vec()));
                }
                Err(e) if e.is_timeout() => return Err(self.failed(ep, "timed out".into())),
                Err(e) => last = e.to_string(),
            }
        }
        Err(self.failed(ep, last))
    }

    /// A place among the user's calls in flight, then among all calls in flight (waits
    /// for both within the deadline).
    async fn slot(&self, ep: Endpoint, user: &str) -> Result<Slot, Unavailable> {
        let sem = {
            let mut map = self.per_user.lock().unwrap_or_else(|p| p.into_inner());
            // Bounded: idle users' entries go when the map grows large.
            if map.len() > 10_000 {
                map.retain(|_, s| Arc::strong_count(s) > 1);
            }
            map.entry(user.to_string())
                .or_insert_with(|| Arc::new(Semaphore::new(self.limits.per_user)))
                .clone()
        };
        let both = async {
            let mine = sem.acquire_owned().await.ok()?;
            let all = self.total.clone().acquire_owned().await.ok()?;
            Some(Slot(mine, all))
        };
        match tokio::time::timeout(self.limits.deadline, both).await {
            Ok(Some(slot)) => Ok(slot),
            _ => Err(Unavailable {
                endpoint: ep.as_str(),
                why: "too many calls in flight".into(),
            }),
        }
    }

    fn breaker(&self, ep: Endpoint) -> Result<(), Unavailable> {
        let now = self.started.elapsed().as_millis() as u64;
        if now < self.open_until.load(Ordering::Relaxed) {
            metrics::counter!("regauth_synapse_failures_total", "endpoint" => ep.as_str(), "why" => "breaker_open")
                .increment(1);
            return Err(Unavailable {
                endpoint: ep.as_str(),
                why: "circuit open after repeated failures".into(),
            });
        }
        Ok(())
    }

    fn failed(&self, ep: Endpoint, why: String) -> Unavailable {
        metrics::counter!("regauth_synapse_failures_total", "endpoint" => ep.as_str(), "why" => "upstream")
            .increment(1);
        let n = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        if n >= self.limits.breaker_after {
            let until = self.started.elapsed() + self.limits.breaker_open;
            self.open_until
                .store(until.as_millis() as u64, Ordering::Relaxed);
            self.failures.store(0, Ordering::Relaxed);
            tracing::warn!(endpoint = ep.as_str(), open_for = ?self.limits.breaker_open, "synapse failing: circuit open");
        }
        Unavailable {
            endpoint: ep.as_str(),
            why,
        }
    }

    fn succeeded(&self, _ep: Endpoint) {
        self.failures.store(0, Ordering::Relaxed);
    }
}
