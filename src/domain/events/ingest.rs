//! Which registry events are recorded: a manifest push creates or updates a managed
//! repository only under an existing project that is not in the trash, and never
//! touches a repository in the trash; anything else is skipped (and logged), never an
//! error, so one bad event does not fail the batch.

/// What the first path segment of an event's repository names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectPresence {
    Missing,
    NotAProject,
    Project { trashed: bool },
}

/// What a push is recorded against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestFacts {
    pub project: ProjectPresence,
    /// `Some(trashed)` when the repository already exists.
    pub repo_trashed: Option<bool>,
}

/// Why a push is not recorded; `None` when it is.
pub fn push_skip(facts: &IngestFacts) -> Option<&'static str> {
    match facts.project {
        ProjectPresence::Missing => Some("project missing"),
        ProjectPresence::NotAProject => Some("not a project"),
        ProjectPresence::Project { trashed: true } => Some("project in trash"),
        ProjectPresence::Project { trashed: false } => match facts.repo_trashed {
            Some(true) => Some("repository in trash"),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(project: ProjectPresence, repo_trashed: Option<bool>) -> IngestFacts {
        IngestFacts {
            project,
            repo_trashed,
        }
    }

    #[test]
    fn pushes_need_a_live_project_and_a_repository_outside_the_trash() {
        let live = ProjectPresence::Project { trashed: false };
        assert_eq!(push_skip(&facts(live, None)), None, "first push creates");
        assert_eq!(push_skip(&facts(live, Some(false))), None);
        assert_eq!(
            push_skip(&facts(live, Some(true))),
            Some("repository in trash")
        );
        assert_eq!(
            push_skip(&facts(ProjectPresence::Project { trashed: true }, None)),
            Some("project in trash")
        );
        assert_eq!(
            push_skip(&facts(ProjectPresence::Missing, None)),
            Some("project missing")
        );
        assert_eq!(
            push_skip(&facts(ProjectPresence::NotAProject, None)),
            Some("not a project")
        );
    }
}
