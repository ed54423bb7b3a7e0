//! The rules of `authorization-rules.md`, one function per resource type.
use super::{Caller, Target};

/// Why an action was not granted. Goes to the request's log line, never to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    Todo,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub action: String,
    pub reason: Reason,
}

/// The outcome for one requested scope.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decision {
    /// Granted actions, sorted, deduplicated.
    pub granted: Vec<String>,
    pub denied: Vec<Denial>,
}

/// Decides which of `actions` the caller gets on `target`.
pub fn decide(_caller: &Caller, _target: &Target, _actions: &[String]) -> Decision {
    Decision::default()
}
