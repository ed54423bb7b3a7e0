//! The token rules of `docs/authorization-rules.md` ("Actions granted per requested
//! scope"), one function per resource type and action.
//!
//! Every requested action is either granted or denied with exactly one reason, the
//! first rule of the table (read top to bottom) that refuses it.

use super::caller::{Caller, CallerUser};
use super::facts::{ProjectFacts, RepoFacts, RepoState, Target};
use super::sharing;
use crate::domain::model::{AccessSet, Acl, ScopeSet};

/// Why an action was not granted. Goes to the request's log line, never to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    MissingDownloadScope,
    MissingModifyScope,
    MissingViewScope,
    InTrash,
    RepositoryUnknown,
    NoDownloadPermission,
    Anonymous,
    NotCertified,
    NoUpdatePermission,
    NoCreatePermission,
    NoDeletePermission,
    InvalidPath,
    ProjectMissing,
    NotAProject,
    NotAdmin,
    UnknownAction,
    UnsupportedResource,
    /// A workload's token asked for more than its trust policy covers.
    OutsideTrustPolicy,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::MissingDownloadScope => "missing_download_scope",
            Reason::MissingModifyScope => "missing_modify_scope",
            Reason::MissingViewScope => "missing_view_scope",
            Reason::InTrash => "in_trash",
            Reason::RepositoryUnknown => "repository_unknown",
            Reason::NoDownloadPermission => "no_download_permission",
            Reason::Anonymous => "anonymous",
            Reason::NotCertified => "not_certified",
            Reason::NoUpdatePermission => "no_update_permission",
            Reason::NoCreatePermission => "no_create_permission",
            Reason::NoDeletePermission => "no_delete_permission",
            Reason::InvalidPath => "invalid_path",
            Reason::ProjectMissing => "project_missing",
            Reason::NotAProject => "not_a_project",
            Reason::NotAdmin => "not_admin",
            Reason::UnknownAction => "unknown_action",
            Reason::UnsupportedResource => "unsupported_resource",
            Reason::OutsideTrustPolicy => "outside_trust_policy",
        }
    }
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
pub fn decide(caller: &Caller, target: &Target, actions: &[String]) -> Decision {
    let mut granted: Vec<String> = Vec::new();
    let mut denied: Vec<Denial> = Vec::new();
    let mut deny = |action: &str, reason: Reason| {
        if !denied.iter().any(|d| d.action == action) {
            denied.push(Denial {
                action: action.to_string(),
                reason,
            });
        }
    };
    for action in actions {
        let outcome = match target {
            Target::Repository(facts) => repository_action(caller, facts, action),
            Target::InvalidRepository => Err(Reason::InvalidPath),
            Target::Catalog => catalog(caller, action),
            Target::Unsupported => Err(Reason::UnsupportedResource),
        };
        match outcome {
            Ok(list) => granted.extend(list.into_iter().map(str::to_string)),
            Err(reason) => deny(action, reason),
        }
    }
    // A new repository's push brings pull along, but only what was asked is listed.
    let star = actions.iter().any(|a| a == "*");
    granted.retain(|g| star || actions.contains(g));
    granted.sort();
    granted.dedup();
    denied.retain(|d| !granted.contains(&d.action));
    Decision { granted, denied }
}

/// `registry:catalog:*`: admins with the `view` scope.
fn catalog(caller: &Caller, action: &str) -> Result<Vec<&'static str>, Reason> {
    // The registry asks for the catalog only as `*`; any other action is unknown.
    if action != "*" {
        return Err(Reason::UnknownAction);
    }
    if !caller.scopes.contains(ScopeSet::VIEW) {
        return Err(Reason::MissingViewScope);
    }
    match &caller.user {
        Some(u) if u.admin => Ok(vec!["*"]),
        _ => Err(Reason::NotAdmin),
    }
}

fn repository_action(
    caller: &Caller,
    facts: &RepoFacts,
    action: &str,
) -> Result<Vec<&'static str>, Reason> {
    match action {
        "pull" => pull(caller, facts).map(|()| vec!["pull"]),
        "push" => push(caller, facts),
        "delete" => delete(caller, facts).map(|()| vec!["delete"]),
        "*" => {
            // Grant the subset of pull, push, delete allowed; `*` only if all three.
            let p = pull(caller, facts);
            let u = push(caller, facts);
            let d = delete(caller, facts);
            match (&p, &u, &d) {
                (Ok(()), Ok(_), Ok(())) => Ok(vec!["*"]),
                _ => {
                    let mut out = Vec::new();
                    if p.is_ok() {
                        out.push("pull");
                    }
                    if let Ok(list) = &u {
                        out.extend(list.iter().copied());
                    }
                    if d.is_ok() {
                        out.push("delete");
                    }
                    if out.is_empty() {
                        Err(p.err().unwrap_or(Reason::UnknownAction))
                    } else {
                        Ok(out)
                    }
                }
            }
        }
        _ => Err(Reason::UnknownAction),
    }
}

/// The effective ACL of an existing repository (its local sharing settings, else its
/// project's); `Err` for the rows that refuse before any permission is looked at.
/// Trash is checked separately, by `trash_of`, before this is asked.
fn effective_acl(facts: &RepoFacts) -> Result<&Acl, Reason> {
    let project_acl = project_acl(facts)?;
    match &facts.repo {
        RepoState::Unknown => Err(Reason::RepositoryUnknown),
        RepoState::Managed { local_acl, .. } => {
            Ok(sharing::effective_acl(local_acl.as_ref(), project_acl))
        }
    }
}

fn project_acl(facts: &RepoFacts) -> Result<&Acl, Reason> {
    match &facts.project {
        ProjectFacts::Missing => Err(Reason::ProjectMissing),
        ProjectFacts::NotAProject => Err(Reason::NotAProject),
        ProjectFacts::Project { acl, .. } => Ok(acl),
    }
}

fn has(caller: &Caller, acl: &Acl, access: AccessSet) -> bool {
    caller.access_in(acl).contains(access)
}

fn pull(caller: &Caller, facts: &RepoFacts) -> Result<(), Reason> {
    if !caller.scopes.contains(ScopeSet::DOWNLOAD) {
        return Err(Reason::MissingDownloadScope);
    }
    let in_trash = trash_of(facts);
    if in_trash {
        return Err(Reason::InTrash);
    }
    let acl = effective_acl(facts)?;
    if caller.is_admin() || has(caller, acl, AccessSet::DOWNLOAD) {
        Ok(())
    } else {
        Err(Reason::NoDownloadPermission)
    }
}

/// True when the repository or its project is in the trash.
fn trash_of(facts: &RepoFacts) -> bool {
    let project = matches!(facts.project, ProjectFacts::Project { trashed: true, .. });
    let repo = matches!(facts.repo, RepoState::Managed { trashed: true, .. });
    sharing::in_trash(repo, project)
}

/// The rows every write (push, delete) passes first, in the table's order: the
/// credential may modify, nothing is in the trash, the caller is signed in.
fn writer<'c>(caller: &'c Caller, facts: &RepoFacts) -> Result<&'c CallerUser, Reason> {
    if !caller.scopes.contains(ScopeSet::MODIFY) {
        return Err(Reason::MissingModifyScope);
    }
    if trash_of(facts) {
        return Err(Reason::InTrash);
    }
    caller.user.as_ref().ok_or(Reason::Anonymous)
}

/// Push on an existing repository grants `push`; on a new one `push` and `pull`
/// (the creator must be able to read back what it pushed — the registry always asks
/// for both).
fn push(caller: &Caller, facts: &RepoFacts) -> Result<Vec<&'static str>, Reason> {
    if !caller.scopes.contains(ScopeSet::DOWNLOAD) {
        return Err(Reason::MissingDownloadScope);
    }
    let user = writer(caller, facts)?;
    if !user.certified && !user.admin {
        return Err(Reason::NotCertified);
    }
    match &facts.repo {
        RepoState::Managed { .. } => {
            let acl = effective_acl(facts)?;
            if user.admin || has(caller, acl, AccessSet::UPDATE) {
                Ok(vec!["push"])
            } else {
                Err(Reason::NoUpdatePermission)
            }
        }
        RepoState::Unknown => {
            let acl = project_acl(facts)?;
            if user.admin || has(caller, acl, AccessSet::CREATE) {
                Ok(vec!["pull", "push"])
            } else {
                Err(Reason::NoCreatePermission)
            }
        }
    }
}

fn delete(caller: &Caller, facts: &RepoFacts) -> Result<(), Reason> {
    let user = writer(caller, facts)?;
    let acl = effective_acl(facts)?;
    if user.admin {
        return Ok(());
    }
    if !user.certified {
        return Err(Reason::NotCertified);
    }
    if has(caller, acl, AccessSet::DELETE) {
        Ok(())
    } else {
        Err(Reason::NoDeletePermission)
    }
}
