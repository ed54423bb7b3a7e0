//! What the registry's notifications report, reduced to what the directory keeps: manifest
//! pushes and deletes, and the tags they leave.

use std::str::FromStr;

use serde::Serialize;

use super::time::UnixTime;
use crate::domain::repo_name::RepoPath;

/// A manifest pushed to a repository (see `domain::events`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestPush {
    pub event_id: String,
    pub path: RepoPath,
    pub tag: Option<String>,
    pub digest: String,
    pub media_type: String,
    pub size: i64,
    pub pusher: String,
    /// The event's timestamp.
    pub pushed_at: UnixTime,
}

/// A tag or manifest deleted from a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestDelete {
    pub event_id: String,
    pub path: RepoPath,
    /// Tag deletes name the tag; manifest deletes name the digest (every tag on it goes).
    pub tag: Option<String>,
    pub digest: Option<String>,
    /// Who the registry says deleted it (the token's subject): a delete is applied
    /// only when regauth granted that actor `delete` (`domain::events::authority`).
    pub deleter: String,
    pub deleted_at: UnixTime,
}

/// What storing one event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOutcome {
    Recorded,
    /// Same event id seen before (the registry retries).
    Duplicate,
    /// Nothing to record against (project missing, trashed, not a project...).
    Skipped(&'static str),
}

/// The current state of one tag (or one commit of its history).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagInfo {
    pub tag: String,
    pub digest: String,
    pub media_type: String,
    pub size: i64,
    pub pusher: String,
    pub pushed_at: UnixTime,
}

/// The order of a tag listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TagSort {
    #[default]
    Tag,
    /// Newest first.
    Time,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sort must be tag or time")]
pub struct UnknownTagSort;

impl FromStr for TagSort {
    type Err = UnknownTagSort;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "tag" => Ok(TagSort::Tag),
            "time" => Ok(TagSort::Time),
            _ => Err(UnknownTagSort),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_sorts_by_name() {
        assert_eq!("tag".parse::<TagSort>(), Ok(TagSort::Tag));
        assert_eq!("time".parse::<TagSort>(), Ok(TagSort::Time));
        assert_eq!("size".parse::<TagSort>(), Err(UnknownTagSort));
        assert_eq!(TagSort::default(), TagSort::Tag);
    }
}
