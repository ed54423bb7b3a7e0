//! Recording the grants of push and delete a token carries, before the token is handed
//! out (see `domain::events::authority`): the registry's events are applied only inside
//! one, so a grant must be durable before anything can push with it, and a crash after
//! the answer must not lose it.
//!
//! docker asks for the same push token once per layer, in bursts: writing each would
//! put a durable write on every such request. A bounded note remembers, per actor,
//! repository and action, when this process last recorded the grant; a request within
//! `NOTE_SLACK` of that write is covered by it (its token ends at most `NOTE_SLACK`
//! later than the recorded interval, which the rule's window allows for) and writes
//! nothing. Anything else is a write, which never happens on the event loop: under
//! `Pace::Inline` the request is sent to the blocking pool instead.

use std::sync::Arc;
use std::time::Duration;

use super::IssueError;
use crate::app::tally::Tally;
use crate::domain::events::authority::NOTE_SLACK;
use crate::domain::events::{Grant, GrantedAction};
use crate::domain::model::UnixTime;
use crate::domain::ports::{DirectoryError, Pace, PushGrants};

/// Keys the note holds at most: the actors and repositories pushing within
/// `NOTE_SLACK`, bounded (an evicted key costs one more write, never a wrong answer).
const NOTE_CAPACITY: u64 = 20_000;

type Key = (String, String, GrantedAction);

pub(super) struct GrantRecorder {
    store: Arc<dyn PushGrants>,
    /// When each grant was last recorded by this process.
    note: moka::sync::Cache<Key, UnixTime>,
    /// How far a token's `nbf` lies before its issue, and how long it lives: the
    /// interval recorded for it.
    lead: i64,
    lifetime: i64,
    /// Batches of grants written to the store.
    pub(super) writes: Tally,
}

impl GrantRecorder {
    pub(super) fn new(
        store: Arc<dyn PushGrants>,
        not_before_skew: Duration,
        lifetime: Duration,
    ) -> GrantRecorder {
        GrantRecorder {
            store,
            note: moka::sync::Cache::builder()
                .max_capacity(NOTE_CAPACITY)
                .time_to_live(Duration::from_secs(NOTE_SLACK as u64))
                .build(),
            lead: not_before_skew.as_secs().min(i64::MAX as u64) as i64,
            lifetime: lifetime.as_secs().min(i64::MAX as u64) as i64,
            writes: Tally::default(),
        }
    }

    /// Makes sure each of `wanted` (repository, action) granted to `actor` at `now` is
    /// durably recorded; `WouldBlock` under `Pace::Inline` when that needs a write.
    pub(super) fn record(
        &self,
        actor: &str,
        wanted: &[(String, GrantedAction)],
        now: UnixTime,
        pace: Pace,
    ) -> Result<(), IssueError> {
        let missing: Vec<Grant> = wanted
            .iter()
            .filter(|(repository, action)| !self.covered(actor, repository, *action, now))
            .map(|(repository, action)| Grant {
                actor: actor.to_string(),
                repository: repository.clone(),
                action: *action,
                from: now.saturating_sub(self.lead),
                until: now.saturating_add(self.lifetime),
            })
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        if pace == Pace::Inline {
            return Err(DirectoryError::WouldBlock.into());
        }
        self.store.record_grants(&missing)?;
        self.writes.add(1);
        for g in missing {
            self.note.insert((g.actor, g.repository, g.action), now);
        }
        Ok(())
    }

    /// Whether this process recorded the grant at most `NOTE_SLACK` seconds ago.
    fn covered(&self, actor: &str, repository: &str, action: GrantedAction, now: UnixTime) -> bool {
        let key = (actor.to_string(), repository.to_string(), action);
        self.note
            .get(&key)
            .is_some_and(|at| at <= now && now - at <= NOTE_SLACK)
    }
}
