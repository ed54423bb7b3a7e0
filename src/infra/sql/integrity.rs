//! `regauth directory check`: what the schema cannot check itself, on both engines.
//! Each check is one statement whose every row is a finding written out as a line; the
//! engine adds its own (SQLite's `integrity_check` and `foreign_key_check`,
//! PostgreSQL's constraints not validated).

use super::{SqlDirectory, SqlRow, Tx};
use crate::domain::ports::{DirResult, IntegrityCheck};

/// (what is checked, a statement returning one text column per finding).
const CHECKS: &[(&str, &str)] = &[
    (
        "ACL entries name existing users",
        "SELECT 'acl entry on ' || CAST(a.entity_id AS TEXT) || ' names user id '
                || CAST(a.principal_id AS TEXT) || ', which does not exist'
         FROM acl_entries a LEFT JOIN users u ON u.id = a.principal_id
         WHERE a.principal_kind = 'user' AND u.id IS NULL",
    ),
    (
        "ACL entries name existing teams",
        "SELECT 'acl entry on ' || CAST(a.entity_id AS TEXT) || ' names team id '
                || CAST(a.principal_id AS TEXT) || ', which does not exist'
         FROM acl_entries a LEFT JOIN teams t ON t.id = a.principal_id
         WHERE a.principal_kind = 'team' AND t.id IS NULL",
    ),
    (
        "ACL entries belong to existing entities",
        "SELECT 'acl entry names entity ' || CAST(a.entity_id AS TEXT) || ', which does not exist'
         FROM acl_entries a LEFT JOIN entities e ON e.id = a.entity_id WHERE e.id IS NULL",
    ),
    (
        "every repository's project exists and is a project",
        "SELECT 'repository ' || e.name || ' (' || CAST(e.id AS TEXT) || ') has no project'
         FROM entities e LEFT JOIN entities p ON p.id = e.parent_id
         WHERE e.kind <> 'project' AND (p.id IS NULL OR p.kind <> 'project')",
    ),
    (
        "projects stand at the top",
        "SELECT 'project ' || e.name || ' (' || CAST(e.id AS TEXT) || ') has a parent'
         FROM entities e WHERE e.kind = 'project' AND e.parent_id IS NOT NULL",
    ),
    (
        "every tag's history belongs to a managed repository",
        "SELECT 'tag history row ' || CAST(c.id AS TEXT) || ' names repository '
                || CAST(c.repository_id AS TEXT) || ', which is not a managed repository'
         FROM commits c LEFT JOIN entities e ON e.id = c.repository_id
         WHERE e.id IS NULL OR e.kind <> 'managed_repository'",
    ),
    (
        "team members exist",
        "SELECT 'team ' || CAST(m.team_id AS TEXT) || ' lists user id ' || CAST(m.user_id AS TEXT)
                || ', which does not exist'
         FROM team_members m LEFT JOIN users u ON u.id = m.user_id WHERE u.id IS NULL",
    ),
    (
        "trust policies belong to projects and existing creators",
        "SELECT 'trust policy ' || CAST(t.id AS TEXT) || ' has no project or no creator'
         FROM trust_policies t LEFT JOIN entities e ON e.id = t.project_id
              LEFT JOIN users u ON u.id = t.creator_id
         WHERE e.id IS NULL OR e.kind <> 'project' OR u.id IS NULL",
    ),
    (
        "the caches' change counter is one row",
        "SELECT 'change_counter holds ' || CAST(COUNT(*) AS TEXT) || ' rows, not 1'
         FROM change_counter HAVING COUNT(*) <> 1",
    ),
];

fn text(r: &SqlRow<'_, '_>) -> DirResult<String> {
    r.get(0)
}

impl<D: SqlDirectory> IntegrityCheck for D {
    fn check_integrity(&self) -> DirResult<(usize, Vec<String>)> {
        self.read_script(|c| run(c, self.engine_checks()))
    }
}

/// Every check, the shared ones and then `engine`'s, on one connection: (how many
/// checks ran, the findings). Also what a backup runs on its copy before it is kept.
pub(crate) fn run(c: &dyn Tx, engine: &[(&str, &str)]) -> DirResult<(usize, Vec<String>)> {
    let mut findings = Vec::new();
    for (_, sql) in CHECKS.iter().chain(engine) {
        findings.extend(c.all(sql, &[], text)?);
    }
    Ok((CHECKS.len() + engine.len(), findings))
}
