//! Access requests (Dockstore's "request access"): a signed-in user asks the managers
//! of a project or repository for READ and DOWNLOAD, with a message.

use serde::Serialize;

use super::ids::{EntityId, UserId};
use super::time::UnixTime;

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    Open,
    Approved,
    Denied,
}

impl RequestState {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Open => "open",
            RequestState::Approved => "approved",
            RequestState::Denied => "denied",
        }
    }

    pub fn parse(s: &str) -> Option<RequestState> {
        match s {
            "open" => Some(RequestState::Open),
            "approved" => Some(RequestState::Approved),
            "denied" => Some(RequestState::Denied),
            _ => None,
        }
    }
}

/// A stored access request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRequest {
    pub id: i64,
    pub entity: EntityId,
    /// Project name or repository path.
    pub entity_name: String,
    pub requester: UserId,
    pub requester_name: String,
    pub message: String,
    pub state: RequestState,
    /// Why it was denied (or a note on the approval).
    pub reason: Option<String>,
    pub created_at: UnixTime,
    pub decided_at: Option<UnixTime>,
    pub decided_by: Option<String>,
}

/// A manager's answer to an open request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestDecision {
    pub approve: bool,
    pub reason: Option<String>,
    /// `None` when the operator decided at the shell.
    pub decided_by: Option<UserId>,
}
