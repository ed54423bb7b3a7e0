//! Projects and repositories: the facts the rules decide on, projects, sharing
//! settings, the trash, and external repository records.

use rusqlite::{params, OptionalExtension};

use super::rows::{
    acl_of, entities_by_query, entity_by_id, facts, find, next_entity_id, principal_key, resolve,
    resolve_principal,
};
use super::SqliteDirectory;
use crate::domain::authz::sharing::SharingChange;
use crate::domain::authz::{EntityFacts, ProjectFacts, RepoFacts, RepoState};
use crate::domain::model::{
    AccessSet, Acl, EntityId, EntityInfo, EntityRef, Principal, PrincipalRef, ProjectName, TeamId,
    UnixTime, UserId,
};
use crate::domain::ports::{
    AuthorizationFacts, DirResult, DirectoryError, EntityAdmin, EntityRule, Pace,
};
use crate::domain::repo_name::{ExternalName, RepoPath};
use crate::infra::stored::acl_name_order;

impl AuthorizationFacts for SqliteDirectory {
    /// On every token request: two lean indexed lookups (plus the ACLs that apply), not
    /// the full entity rows the administration paths read.
    fn repository_facts(&self, path: &RepoPath, _: Pace) -> DirResult<RepoFacts> {
        self.read(|c| {
            let project_id = path.project().0 as i64;
            let project: Option<(String, bool)> = c
                .prepare_cached("SELECT kind, trashed_at IS NOT NULL FROM entities WHERE id = ?1")?
                .query_row([project_id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let project = match project {
                None => ProjectFacts::Missing,
                Some((kind, _)) if kind != "project" => ProjectFacts::NotAProject,
                Some((_, trashed)) => ProjectFacts::Project {
                    trashed,
                    acl: acl_of(c, project_id)?,
                },
            };
            let repo: Option<(i64, bool, bool)> = c
                .prepare_cached(
                    "SELECT id, trashed_at IS NOT NULL, has_local_acl FROM entities
                     WHERE parent_id = ?1 AND name = ?2 AND kind = 'managed_repository'",
                )?
                .query_row(params![project_id, path.name()], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()?;
            let repo = match repo {
                None => RepoState::Unknown,
                Some((id, trashed, has_local_acl)) => RepoState::Managed {
                    trashed,
                    local_acl: if has_local_acl {
                        Some(acl_of(c, id)?)
                    } else {
                        None
                    },
                },
            };
            Ok(RepoFacts { project, repo })
        })
    }

    fn entity_facts(&self, entity: &EntityRef) -> DirResult<Option<EntityFacts>> {
        self.read(|c| find(c, entity)?.map(|row| facts(c, row)).transpose())
    }
}

impl EntityAdmin for SqliteDirectory {
    fn add_project(
        &self,
        name: &ProjectName,
        id: Option<EntityId>,
        acl: &Acl,
        now: UnixTime,
    ) -> DirResult<EntityId> {
        let name = name.as_str();
        self.write(|tx| {
            let taken = tx
                .query_row(
                    "SELECT 1 FROM entities WHERE kind = 'project' AND name = ?1",
                    [name],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            if taken {
                return Err(DirectoryError::Conflict(format!("project named {name:?}")));
            }
            let id = match id {
                Some(id) => {
                    if id.0 > i64::MAX as u64 || entity_by_id(tx, id.0 as i64)?.is_some() {
                        return Err(DirectoryError::Conflict(format!("entity {id}")));
                    }
                    id.0 as i64
                }
                None => next_entity_id(tx)?,
            };
            tx.execute(
                "INSERT INTO entities (id, kind, name, created_at) VALUES (?1, 'project', ?2, ?3)",
                params![id, name, now],
            )?;
            write_acl(tx, id, acl)?;
            Ok(EntityId(id as u64))
        })
    }

    fn list_projects(&self) -> DirResult<Vec<EntityInfo>> {
        self.read(|c| {
            entities_by_query(
                c,
                "SELECT id FROM entities WHERE kind = 'project' ORDER BY id",
                [],
            )
        })
    }

    fn projects_shared_with(&self, principals: &[Principal]) -> DirResult<Vec<(EntityInfo, Acl)>> {
        if principals.is_empty() {
            return Ok(Vec::new());
        }
        let wanted = vec!["(a.principal_kind = ? AND a.principal_id = ?)"; principals.len()];
        let sql = format!(
            "SELECT a.entity_id, a.principal_kind, a.principal_id, a.access_bits
             FROM acl_entries a JOIN entities e ON e.id = a.entity_id
             WHERE e.kind = 'project' AND ({}) ORDER BY a.entity_id",
            wanted.join(" OR ")
        );
        let args: Vec<rusqlite::types::Value> = principals
            .iter()
            .flat_map(|p| {
                let (kind, id) = principal_key(p);
                [kind.to_string().into(), id.into()]
            })
            .collect();
        self.read(|c| {
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })?;
            let mut out: Vec<(EntityInfo, Acl)> = Vec::new();
            for row in rows {
                let (entity, kind, id, bits) = row?;
                let Some(principal) = principals
                    .iter()
                    .find(|p| principal_key(p) == (kind.as_str(), id))
                else {
                    continue;
                };
                let access = AccessSet::from_bits_truncate(bits as u8);
                match out.last_mut() {
                    Some((info, acl)) if info.id.0 as i64 == entity => {
                        acl.entries.push((*principal, access));
                    }
                    _ => {
                        if let Some(row) = entity_by_id(c, entity)? {
                            out.push((row.info, Acl::new(vec![(*principal, access)])));
                        }
                    }
                }
            }
            Ok(out)
        })
    }

    fn resolve_principal(&self, principal: &PrincipalRef) -> DirResult<Principal> {
        self.read(|c| resolve_principal(c, principal))
    }

    /// Names for every entry, sorted by kind (`authenticated`, `public`, `team`,
    /// `user`) then name, as `acl show` has always listed them.
    fn name_acl(&self, acl: &Acl) -> DirResult<Vec<(PrincipalRef, AccessSet)>> {
        self.read(|c| {
            let mut out = Vec::with_capacity(acl.entries.len());
            for (p, access) in &acl.entries {
                let named = match p {
                    Principal::User(UserId(id)) => PrincipalRef::User(name_of(c, "users", *id)?),
                    Principal::Team(TeamId(id)) => PrincipalRef::Team(name_of(c, "teams", *id)?),
                    Principal::Public => PrincipalRef::Public,
                    Principal::Authenticated => PrincipalRef::Authenticated,
                };
                out.push((named, *access));
            }
            out.sort_by(|(a, _), (b, _)| acl_name_order(a).cmp(&acl_name_order(b)));
            Ok(out)
        })
    }

    fn change_sharing(&self, entity: &EntityRef, rule: EntityRule<SharingChange>) -> DirResult<()> {
        self.write(|tx| {
            let row = resolve(tx, entity)?;
            let id = row.info.id.0 as i64;
            let change = rule(&facts(tx, row)?)?;
            apply_sharing(tx, id, &change)
        })
    }

    fn set_trashed(
        &self,
        entity: &EntityRef,
        trashed: bool,
        rule: EntityRule<()>,
        now: UnixTime,
    ) -> DirResult<()> {
        self.write(|tx| {
            let row = resolve(tx, entity)?;
            let id = row.info.id.0 as i64;
            rule(&facts(tx, row)?)?;
            tx.execute(
                "UPDATE entities SET trashed_at = ?1 WHERE id = ?2",
                params![trashed.then_some(now), id],
            )?;
            Ok(())
        })
    }

    fn add_external_repository(
        &self,
        project: EntityId,
        name: &ExternalName,
        rule: EntityRule<()>,
        now: UnixTime,
    ) -> DirResult<EntityInfo> {
        let full = name.full();
        self.write(|tx| {
            let row = entity_by_id(tx, project.0 as i64)?
                .ok_or_else(|| DirectoryError::NotFound(format!("project {project}")))?;
            rule(&facts(tx, row)?)?;
            let id = next_entity_id(tx)?;
            tx.execute(
                "INSERT INTO entities (id, kind, name, parent_id, created_at) VALUES (?1, 'external_repository', ?2, ?3, ?4)",
                params![id, full, project.0 as i64, now],
            )
            .map_err(|e| match DirectoryError::from(e) {
                DirectoryError::Conflict(_) => DirectoryError::Conflict(format!("{full} under {project}")),
                other => other,
            })?;
            entity_by_id(tx, id)?
                .map(|r| r.info)
                .ok_or_else(|| DirectoryError::Backend("inserted row vanished".into()))
        })
    }

    fn delete_external_repository(&self, id: EntityId) -> DirResult<()> {
        self.write(|tx| {
            let n = tx.execute(
                "DELETE FROM entities WHERE id = ?1 AND kind = 'external_repository'",
                [id.0 as i64],
            )?;
            if n == 0 {
                return Err(DirectoryError::NotFound(format!(
                    "external repository {id}"
                )));
            }
            Ok(())
        })
    }
}

/// Replaces an entity's ACL rows with `acl`.
/// Writes what a sharing change leaves the entity with.
pub(super) fn apply_sharing(
    tx: &rusqlite::Connection,
    id: i64,
    change: &SharingChange,
) -> DirResult<()> {
    match change {
        SharingChange::Set(acl) => {
            write_acl(tx, id, acl)?;
            tx.execute("UPDATE entities SET has_local_acl = 1 WHERE id = ?1", [id])?;
        }
        SharingChange::Inherit => {
            tx.execute("DELETE FROM acl_entries WHERE entity_id = ?1", [id])?;
            tx.execute("UPDATE entities SET has_local_acl = 0 WHERE id = ?1", [id])?;
        }
    }
    Ok(())
}

fn write_acl(tx: &rusqlite::Connection, entity: i64, acl: &Acl) -> DirResult<()> {
    tx.execute("DELETE FROM acl_entries WHERE entity_id = ?1", [entity])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO acl_entries (entity_id, principal_kind, principal_id, access_bits) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (p, access) in &acl.entries {
        if access.is_empty() {
            continue;
        }
        let (kind, pid) = principal_key(p);
        insert.execute(params![entity, kind, pid, access.bits() as i64])?;
    }
    Ok(())
}

fn name_of(c: &rusqlite::Connection, table: &str, id: i64) -> DirResult<String> {
    Ok(
        c.prepare_cached(&format!("SELECT name FROM {table} WHERE id = ?1"))?
            .query_row([id], |r| r.get(0))
            .optional()?
            // An entry for a principal that no longer exists shows its id.
            .unwrap_or_else(|| format!("#{id}")),
    )
}
