//! "Last used" for access and refresh tokens, as the self-service pages show it.
//!
//! A token may authenticate tens of thousands of requests a second; writing a stamp
//! for each would make every token request a write. So uses are noted in memory and a
//! token is stamped at most once per `RESOLUTION`; the server flushes the pending
//! stamps about once a second (`infra::startup`), in one transaction, off the request
//! path. "Last used" is therefore exact to the minute, which is what a person reading
//! "last used 3 minutes ago" needs.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::domain::model::{UnixTime, UsedToken};

/// Seconds between two stamps of one token.
const RESOLUTION: UnixTime = 60;
/// Tokens remembered before the book starts over (bounds memory under a storm of
/// distinct tokens; forgetting only means one extra stamp).
const MAX_TRACKED: usize = 100_000;

#[derive(Default)]
struct Book {
    stamped: HashMap<UsedToken, UnixTime>,
    pending: Vec<(UsedToken, UnixTime)>,
}

/// The uses noted since the last flush.
#[derive(Default)]
pub struct TokenUsage {
    book: Mutex<Book>,
}

impl TokenUsage {
    /// Notes that `token` authenticated a request at `now`.
    pub fn used(&self, token: UsedToken, now: UnixTime) {
        let mut book = self.book.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(&at) = book.stamped.get(&token) {
            if now.saturating_sub(at) < RESOLUTION {
                return;
            }
        }
        if book.stamped.len() >= MAX_TRACKED {
            book.stamped.clear();
        }
        book.stamped.insert(token, now);
        if book.pending.len() < MAX_TRACKED {
            book.pending.push((token, now));
        }
    }

    /// The stamps to write, handed over once.
    pub fn take(&self) -> Vec<(UsedToken, UnixTime)> {
        let mut book = self.book.lock().unwrap_or_else(PoisonError::into_inner);
        std::mem::take(&mut book.pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_stamped_once_per_resolution() {
        let usage = TokenUsage::default();
        let a = UsedToken::Access(1);
        usage.used(a, 100);
        usage.used(a, 130);
        usage.used(UsedToken::Refresh(1), 130);
        assert_eq!(
            usage.take(),
            [(a, 100), (UsedToken::Refresh(1), 130)],
            "the same id as access and refresh token are two tokens"
        );
        assert!(usage.take().is_empty(), "handed over once");
        usage.used(a, 100 + RESOLUTION - 1);
        assert!(usage.take().is_empty());
        usage.used(a, 100 + RESOLUTION);
        assert_eq!(usage.take(), [(a, 100 + RESOLUTION)]);
    }

    #[test]
    fn memory_is_bounded_by_distinct_tokens() {
        let usage = TokenUsage::default();
        for id in 0..(MAX_TRACKED as i64 + 10) {
            usage.used(UsedToken::Access(id), 1);
        }
        let book = usage.book.lock().unwrap();
        assert!(book.stamped.len() <= MAX_TRACKED);
        assert_eq!(book.pending.len(), MAX_TRACKED);
    }
}
