//! Projects and repositories administered: projects, sharing settings, the trash, and
//! external repository records. One script each for both engines (the facts a token
//! request reads stay in each engine's `entities`, see docs/architecture.md).

use super::rows::{
    entities_by_query, entity_by_id, facts, next_entity_id, resolve, resolve_principal,
};
use super::{Param, SqlDirectory, Tx};
use crate::domain::authz::sharing::SharingChange;
use crate::domain::model::{
    AccessSet, Acl, EntityId, EntityInfo, EntityRef, Principal, PrincipalRef, ProjectName, TeamId,
    UnixTime, UserId,
};
use crate::domain::ports::{DirResult, DirectoryError, EntityAdmin, EntityRule};
use crate::domain::repo_name::ExternalName;
use crate::infra::stored::{acl_name_order, principal_key};

impl<D: SqlDirectory> EntityAdmin for D {
    fn add_project(
        &self,
        name: &ProjectName,
        id: Option<EntityId>,
        acl: &Acl,
        now: UnixTime,
    ) -> DirResult<EntityId> {
        let name = name.as_str();
        self.change_script(|tx| {
            let taken = tx.opt(
                "SELECT 1 FROM entities WHERE kind = 'project' AND name = $1",
                &[&name],
                |_| Ok(()),
            )?;
            if taken.is_some() {
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
            tx.exec(
                "INSERT INTO entities (id, kind, name, created_at) VALUES ($1, 'project', $2, $3)",
                &[&id, &name, &now],
            )?;
            write_acl(tx, id, acl)?;
            Ok(EntityId(id as u64))
        })
    }

    fn list_projects(&self) -> DirResult<Vec<EntityInfo>> {
        self.read_script(|c| {
            entities_by_query(
                c,
                "SELECT id FROM entities WHERE kind = 'project' ORDER BY id",
                &[],
            )
        })
    }

    /// One statement whatever the count: one `(kind, id)` test per principal.
    fn projects_shared_with(&self, principals: &[Principal]) -> DirResult<Vec<(EntityInfo, Acl)>> {
        if principals.is_empty() {
            return Ok(Vec::new());
        }
        let wanted: Vec<String> = (0..principals.len())
            .map(|i| {
                let (k, id) = (2 * i + 1, 2 * i + 2);
                format!("(a.principal_kind = ${k} AND a.principal_id = ${id})")
            })
            .collect();
        let sql = format!(
            "SELECT a.entity_id, a.principal_kind, a.principal_id, a.access_bits
             FROM acl_entries a JOIN entities e ON e.id = a.entity_id
             WHERE e.kind = 'project' AND ({}) ORDER BY a.entity_id",
            wanted.join(" OR ")
        );
        let keys: Vec<(&str, i64)> = principals.iter().map(principal_key).collect();
        let params: Vec<&dyn Param> = keys
            .iter()
            .flat_map(|(kind, id)| [kind as &dyn Param, id as &dyn Param])
            .collect();
        self.read_script(|c| {
            let rows = c.all(&sql, &params, |r| {
                Ok((
                    r.get::<i64>(0)?,
                    r.get::<String>(1)?,
                    r.get::<i64>(2)?,
                    r.get::<i64>(3)?,
                ))
            })?;
            let mut out: Vec<(EntityInfo, Acl)> = Vec::new();
            for (entity, kind, id, bits) in rows {
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
        self.read_script(|c| resolve_principal(c, principal))
    }

    /// Names for every entry, sorted by kind (`authenticated`, `public`, `team`,
    /// `user`) then name, as `acl show` has always listed them.
    fn name_acl(&self, acl: &Acl) -> DirResult<Vec<(PrincipalRef, AccessSet)>> {
        self.read_script(|c| {
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
        self.change_script(|tx| {
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
        self.change_script(|tx| {
            let row = resolve(tx, entity)?;
            let id = row.info.id.0 as i64;
            rule(&facts(tx, row)?)?;
            tx.exec(
                "UPDATE entities SET trashed_at = $1 WHERE id = $2",
                &[&trashed.then_some(now), &id],
            )?;
            Ok(())
        })
    }

    /// A name taken under the project is a conflict naming it (asked before the
    /// insert: PostgreSQL's failed insert would end the transaction).
    fn add_external_repository(
        &self,
        project: EntityId,
        name: &ExternalName,
        rule: EntityRule<()>,
        now: UnixTime,
    ) -> DirResult<EntityInfo> {
        let full = name.full();
        self.change_script(|tx| {
            let row = entity_by_id(tx, project.0 as i64)?
                .ok_or_else(|| DirectoryError::NotFound(format!("project {project}")))?;
            rule(&facts(tx, row)?)?;
            let taken = tx.opt(
                "SELECT 1 FROM entities WHERE parent_id = $1 AND name = $2",
                &[&(project.0 as i64), &full],
                |_| Ok(()),
            )?;
            if taken.is_some() {
                return Err(DirectoryError::Conflict(format!("{full} under {project}")));
            }
            let id = next_entity_id(tx)?;
            tx.exec(
                "INSERT INTO entities (id, kind, name, parent_id, created_at) VALUES ($1, 'external_repository', $2, $3, $4)",
                &[&id, &full, &(project.0 as i64), &now],
            )?;
            entity_by_id(tx, id)?
                .map(|r| r.info)
                .ok_or_else(|| DirectoryError::Backend("inserted row vanished".into()))
        })
    }

    fn delete_external_repository(&self, id: EntityId) -> DirResult<()> {
        self.change_script(|tx| {
            tx.exec_found(
                "DELETE FROM entities WHERE id = $1 AND kind = 'external_repository'",
                &[&(id.0 as i64)],
                &format!("external repository {id}"),
            )
        })
    }
}

/// Writes what a sharing change leaves the entity with.
pub(super) fn apply_sharing(tx: &dyn Tx, id: i64, change: &SharingChange) -> DirResult<()> {
    match change {
        SharingChange::Set(acl) => {
            write_acl(tx, id, acl)?;
            tx.exec(
                "UPDATE entities SET has_local_acl = TRUE WHERE id = $1",
                &[&id],
            )?;
        }
        SharingChange::Inherit => {
            tx.exec("DELETE FROM acl_entries WHERE entity_id = $1", &[&id])?;
            tx.exec(
                "UPDATE entities SET has_local_acl = FALSE WHERE id = $1",
                &[&id],
            )?;
        }
    }
    Ok(())
}

/// Replaces an entity's ACL rows with `acl`.
fn write_acl(tx: &dyn Tx, entity: i64, acl: &Acl) -> DirResult<()> {
    tx.exec("DELETE FROM acl_entries WHERE entity_id = $1", &[&entity])?;
    for (p, access) in &acl.entries {
        if access.is_empty() {
            continue;
        }
        let (kind, pid) = principal_key(p);
        tx.exec(
            "INSERT INTO acl_entries (entity_id, principal_kind, principal_id, access_bits) VALUES ($1, $2, $3, $4)",
            &[&entity, &kind, &pid, &(access.bits() as i64)],
        )?;
    }
    Ok(())
}

fn name_of(c: &dyn Tx, table: &str, id: i64) -> DirResult<String> {
    let found = c.opt(
        &format!("SELECT name FROM {table} WHERE id = $1"),
        &[&id],
        |r| r.get(0),
    )?;
    // An entry for a principal that no longer exists shows its id.
    Ok(found.unwrap_or_else(|| format!("#{id}")))
}
