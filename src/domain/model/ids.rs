//! Identifiers: users and teams (database ids) and Synapse entity ids (`syn<digits>`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Database id of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UserId(pub i64);

/// Database id of a team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TeamId(pub i64);

/// A Synapse entity id, `syn<digits>`. Projects and repositories share this id space,
/// which is why "the first path segment names an entity that is not a project" is a
/// real case the rules must handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntityId(pub u64);

impl fmt::Display for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "syn{}", self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid entity id {0:?}: expected syn<digits>")]
pub struct InvalidEntityId(pub String);

impl FromStr for EntityId {
    type Err = InvalidEntityId;
    /// Accepts only the canonical form: `syn`, lower case, then digits without a leading
    /// zero. An entity has one spelling: `syn01000` is not an alias of `syn1000` (it would
    /// name another registry repository yet share syn1000's ACL and history).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidEntityId(s.chars().take(64).collect());
        let digits = s.strip_prefix("syn").ok_or_else(invalid)?;
        if digits.is_empty()
            || digits.len() > 18
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || (digits.len() > 1 && digits.starts_with('0'))
        {
            return Err(invalid());
        }
        digits.parse::<u64>().map(EntityId).map_err(|_| invalid())
    }
}

impl Serialize for EntityId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_id_round_trips_and_rejects_junk() {
        assert_eq!("syn123".parse::<EntityId>().unwrap(), EntityId(123));
        assert_eq!(EntityId(7).to_string(), "syn7");
        assert_eq!("syn0".parse::<EntityId>().unwrap(), EntityId(0));
        // Every id has exactly one spelling, and it round-trips.
        for n in [0u64, 1, 10, 1000, 999_999_999_999_999_999] {
            let id = EntityId(n);
            assert_eq!(id.to_string().parse::<EntityId>().unwrap(), id);
        }
        for bad in [
            "syn",
            "SYN1",
            "syn-1",
            "syn1a",
            "123",
            "syn99999999999999999999",
            "syn1000000000000000000", // 19 digits: fits a u64, still too long
            "syn01000",
            "syn00",
            "syn+1",
            "syn 1",
        ] {
            assert!(bad.parse::<EntityId>().is_err(), "{bad}");
        }
    }
}
