//! One configured issuer's key set, cached: kept as long as its `Cache-Control` says
//! (clamped to 5 min .. 24 h; 1 h when it says nothing), fetched again when a token
//! names a key it does not hold — but never more than once per `refetch_interval`,
//! whatever the reason (an unknown `kid`, an expired set, a failed fetch), so a storm
//! of forged key ids costs the provider one request per interval. A failed fetch keeps
//! the last good set; with no set at all the answer is "unanswered" (a 503), never a
//! refusal of a token that may be good.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::domain::ports::{DirectoryError, OidcRejection, Pace};

use super::discovery::{FetchError, Fetcher, MAX_BODY_BYTES};
use super::jwk::KeySet;

/// The bounds of a key set's lifetime, whatever `Cache-Control` says.
pub const MIN_TTL: Duration = Duration::from_secs(5 * 60);
pub const MAX_TTL: Duration = Duration::from_secs(24 * 3600);
/// A key set's lifetime when the answer gives none (and a file's).
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);
/// How long a discovered `jwks_uri` is used before discovery is asked again.
const DISCOVERY_TTL: Duration = Duration::from_secs(24 * 3600);

/// Where an issuer's keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The `jwks_uri` of the issuer's discovery document.
    Discovery,
    /// A configured URL (no discovery).
    Url(String),
    /// A local file (a cluster whose keys are served only inside it).
    File(PathBuf),
}

/// A set and when it was had.
struct Cached {
    set: Arc<KeySet>,
    fetched: Instant,
    ttl: Duration,
}

#[derive(Default)]
struct State {
    cached: Option<Cached>,
    /// The last fetch started (successful or not): the rate limit's clock.
    last_attempt: Option<Instant>,
    /// Why the last fetch failed; `None` after a success.
    last_error: Option<String>,
}

/// What to do for a token naming `kid`, decided from the state alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// The cached set holds the key (fresh, or stale and no fetch is allowed yet).
    Use,
    /// A fetch is due and allowed.
    Fetch,
    /// A set is held without the key and no fetch is allowed yet.
    UnknownKey,
    /// No set, and no fetch allowed yet (the last one failed).
    NoSet,
}

pub struct IssuerKeys {
    issuer: String,
    source: KeySource,
    refetch_interval: Duration,
    state: RwLock<State>,
    /// Held across a fetch: concurrent callers wait for it and then use its result.
    fetching: Mutex<()>,
    discovered: Mutex<Option<(String, Instant)>>,
}

impl IssuerKeys {
    pub fn new(issuer: &str, source: KeySource, refetch_interval: Duration) -> IssuerKeys {
        IssuerKeys {
            issuer: issuer.to_owned(),
            source,
            refetch_interval,
            state: RwLock::new(State::default()),
            fetching: Mutex::new(()),
            discovered: Mutex::new(None),
        }
    }

    /// The set holding the key `kid` names. At `Pace::Inline` only what is cached is
    /// used; a due fetch is `WouldBlock`.
    pub fn set_for(
        &self,
        kid: Option<&str>,
        pace: Pace,
        fetcher: &Fetcher,
    ) -> Result<Arc<KeySet>, OidcRejection> {
        let plan = self.plan_now(kid);
        if plan != Plan::Fetch {
            return self.answer(plan);
        }
        if pace == Pace::Inline {
            return Err(OidcRejection::Unanswered(DirectoryError::WouldBlock));
        }
        let _fetching = self.fetching.lock().unwrap_or_else(|p| p.into_inner());
        // Another caller may have fetched while this one waited.
        let plan = self.plan_now(kid);
        if plan != Plan::Fetch {
            return self.answer(plan);
        }
        write(&self.state).last_attempt = Some(Instant::now());
        let fetched = self.fetch(fetcher);
        {
            let mut state = write(&self.state);
            match fetched {
                Ok((set, ttl)) => {
                    tracing::info!(issuer = %self.issuer, keys = set.len(), ttl_secs = ttl.as_secs(), "OIDC key set fetched");
                    state.cached = Some(Cached {
                        set: Arc::new(set),
                        fetched: Instant::now(),
                        ttl,
                    });
                    state.last_error = None;
                }
                Err(e) => {
                    tracing::warn!(issuer = %self.issuer, error = %e, kept = state.cached.is_some(), "OIDC key set fetch failed");
                    state.last_error = Some(e.0);
                }
            }
        }
        // Whatever the fetch gave, the key is there now or it is not.
        let state = read(&self.state);
        match &state.cached {
            Some(c) if c.set.find(kid).is_some() => Ok(c.set.clone()),
            Some(_) => self.answer_from(&state, Plan::UnknownKey),
            None => self.answer_from(&state, Plan::NoSet),
        }
    }

    fn plan_now(&self, kid: Option<&str>) -> Plan {
        plan(
            &read(&self.state),
            kid,
            Instant::now(),
            self.refetch_interval,
        )
    }

    fn answer(&self, plan: Plan) -> Result<Arc<KeySet>, OidcRejection> {
        self.answer_from(&read(&self.state), plan)
    }

    fn answer_from(&self, state: &State, plan: Plan) -> Result<Arc<KeySet>, OidcRejection> {
        let unreachable = |why: &str| {
            OidcRejection::Unanswered(DirectoryError::Backend(format!(
                "the key set of OIDC issuer {} cannot be had: {why}",
                self.issuer
            )))
        };
        match (plan, &state.cached, &state.last_error) {
            (Plan::Use, Some(c), _) => Ok(c.set.clone()),
            // The key may be in the set the provider could not give: not the token's fault.
            (Plan::UnknownKey, Some(_), Some(why)) => Err(unreachable(why)),
            (Plan::UnknownKey, Some(_), None) => Err(OidcRejection::Rejected("unknown key id")),
            (_, _, Some(why)) => Err(unreachable(why)),
            _ => Err(unreachable("not fetched yet")),
        }
    }

    /// One fetch of the set and its lifetime.
    fn fetch(&self, fetcher: &Fetcher) -> Result<(KeySet, Duration), FetchError> {
        let (body, max_age) = match &self.source {
            KeySource::File(path) => (read_file(path)?, None),
            KeySource::Url(url) => {
                let f = fetcher.get(url)?;
                (f.body, f.max_age)
            }
            KeySource::Discovery => {
                let url = self.jwks_uri(fetcher)?;
                match fetcher.get(&url) {
                    Ok(f) => (f.body, f.max_age),
                    Err(e) => {
                        // Maybe the provider moved its keys: discover again next time.
                        *lock(&self.discovered) = None;
                        return Err(e);
                    }
                }
            }
        };
        let set = KeySet::parse(&body).map_err(|e| FetchError(format!("key set: {e}")))?;
        Ok((set, ttl(max_age)))
    }

    fn jwks_uri(&self, fetcher: &Fetcher) -> Result<String, FetchError> {
        if let Some((url, at)) = lock(&self.discovered).as_ref() {
            if at.elapsed() < DISCOVERY_TTL {
                return Ok(url.clone());
            }
        }
        let url = fetcher.jwks_uri(&self.issuer)?;
        *lock(&self.discovered) = Some((url.clone(), Instant::now()));
        Ok(url)
    }
}

/// The decision for a token naming `kid` at `now`: use the cached set while it is fresh
/// and holds the key; else fetch, if the last attempt is `interval` old; else make do
/// with what is held (a stale set that holds the key is better than none).
pub fn plan_for(
    cached: Option<(&KeySet, Instant, Duration)>,
    last_attempt: Option<Instant>,
    kid: Option<&str>,
    now: Instant,
    interval: Duration,
) -> Plan {
    let may_fetch = last_attempt.is_none_or(|t| now.saturating_duration_since(t) >= interval);
    match cached {
        None if may_fetch => Plan::Fetch,
        None => Plan::NoSet,
        Some((set, fetched, ttl)) => {
            let holds = set.find(kid).is_some();
            let fresh = now.saturating_duration_since(fetched) < ttl;
            match (holds, fresh, may_fetch) {
                (true, true, _) => Plan::Use,
                (_, _, true) => Plan::Fetch,
                (true, false, false) => Plan::Use,
                (false, _, false) => Plan::UnknownKey,
            }
        }
    }
}

fn plan(state: &State, kid: Option<&str>, now: Instant, interval: Duration) -> Plan {
    let cached = state
        .cached
        .as_ref()
        .map(|c| (c.set.as_ref(), c.fetched, c.ttl));
    plan_for(cached, state.last_attempt, kid, now, interval)
}

/// A set's lifetime from its `max-age`, clamped.
pub fn ttl(max_age: Option<Duration>) -> Duration {
    max_age.unwrap_or(DEFAULT_TTL).clamp(MIN_TTL, MAX_TTL)
}

fn read_file(path: &std::path::Path) -> Result<Vec<u8>, FetchError> {
    let failed = |e: std::io::Error| FetchError(format!("{}: {e}", path.display()));
    let size = std::fs::metadata(path).map_err(failed)?.len();
    if size > MAX_BODY_BYTES as u64 {
        return Err(FetchError(format!(
            "{}: over {MAX_BODY_BYTES} bytes",
            path.display()
        )));
    }
    std::fs::read(path).map_err(failed)
}

fn read(lock: &RwLock<State>) -> std::sync::RwLockReadGuard<'_, State> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write(lock: &RwLock<State>) -> std::sync::RwLockWriteGuard<'_, State> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
