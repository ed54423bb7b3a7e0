//! Projects' trust policies: created, listed, deleted, and read by issuer on the token
//! path. One script each for both engines.

use super::rows::{entity_by_id, user_by_id};
use super::{SqlDirectory, SqlRow};
use crate::domain::model::{
    ClaimCondition, EntityId, EntityKind, NewTrustPolicy, TrustPolicy, UserId, WorkloadActions,
};
use crate::domain::ports::{DirResult, DirectoryError, Pace, TrustPolicyStore};

/// The columns [`policy_row`] reads.
const POLICY_SELECT: &str = "SELECT p.id, p.project_id, p.creator_id, p.issuer, p.audience,
        p.conditions, p.repositories, p.actions, p.max_lifetime_secs, p.created_at, u.name
     FROM trust_policies p JOIN users u ON u.id = p.creator_id";

/// A stored policy. A value this build cannot read back (conditions that are not the
/// JSON it writes, unknown action bits, a negative lifetime) is a backend error: a
/// policy is never read as something more permissive than what was stored.
fn policy_row(r: &SqlRow<'_, '_>) -> DirResult<TrustPolicy> {
    let id: i64 = r.get(0)?;
    let bad = |what: &str| DirectoryError::Backend(format!("trust policy {id}: stored {what}"));
    let conditions: String = r.get(5)?;
    let conditions: Vec<ClaimCondition> =
        serde_json::from_str(&conditions).map_err(|e| bad(&format!("conditions ({e})")))?;
    let actions = u8::try_from(r.get::<i64>(7)?)
        .ok()
        .and_then(WorkloadActions::from_bits)
        .ok_or_else(|| bad("actions"))?;
    let max_lifetime_secs =
        u32::try_from(r.get::<i64>(8)?).map_err(|_| bad("max_lifetime_secs"))?;
    Ok(TrustPolicy {
        id,
        policy: NewTrustPolicy {
            project: EntityId(r.get::<i64>(1)? as u64),
            creator: UserId(r.get(2)?),
            issuer: r.get(3)?,
            audience: r.get(4)?,
            conditions,
            repositories: r.get(6)?,
            actions,
            max_lifetime_secs,
            created_at: r.get(9)?,
        },
        creator_name: r.get(10)?,
    })
}

impl<D: SqlDirectory> TrustPolicyStore for D {
    /// The project and the creator are looked up in the writers' turn, so neither can
    /// go between the check and the insert.
    fn create_trust_policy(&self, p: &NewTrustPolicy) -> DirResult<TrustPolicy> {
        let conditions = serde_json::to_string(&p.conditions)
            .map_err(|e| DirectoryError::Invalid(format!("trust policy conditions: {e}")))?;
        self.change_script(|tx| {
            let project = p.project.0 as i64;
            match entity_by_id(tx, project)? {
                Some(row) if row.info.kind == EntityKind::Project => {}
                _ => return Err(DirectoryError::NotFound(format!("project {}", p.project))),
            }
            let Some(creator) = user_by_id(tx, p.creator)? else {
                return Err(DirectoryError::NotFound(format!("user id {}", p.creator.0)));
            };
            let id = tx.one(
                "INSERT INTO trust_policies (project_id, creator_id, issuer, audience, conditions,
                    repositories, actions, max_lifetime_secs, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                &[
                    &project,
                    &p.creator.0,
                    &p.issuer,
                    &p.audience,
                    &conditions,
                    &p.repositories,
                    &i64::from(p.actions.bits()),
                    &i64::from(p.max_lifetime_secs),
                    &p.created_at,
                ],
                |r| r.get(0),
            )?;
            Ok(TrustPolicy {
                id,
                policy: p.clone(),
                creator_name: creator.name,
            })
        })
    }

    fn list_trust_policies(&self, project: EntityId) -> DirResult<Vec<TrustPolicy>> {
        let sql = format!("{POLICY_SELECT} WHERE p.project_id = $1 ORDER BY p.id");
        self.read_script(|c| c.all(&sql, &[&(project.0 as i64)], policy_row))
    }

    /// Only a policy of `project`: an id of another project's policy is not found.
    fn delete_trust_policy(&self, project: EntityId, id: i64) -> DirResult<()> {
        self.change_script(|tx| {
            tx.exec_found(
                "DELETE FROM trust_policies WHERE id = $1 AND project_id = $2",
                &[&id, &(project.0 as i64)],
                &format!("trust policy {id} of project {project}"),
            )
        })
    }

    /// `=` on both engines compares the bytes (SQLite's default collation, PostgreSQL's
    /// deterministic one): no prefix, case or pattern matching.
    fn trust_policies_for_issuer(&self, issuer: &str, pace: Pace) -> DirResult<Vec<TrustPolicy>> {
        self.may_read(pace)?;
        let sql = format!("{POLICY_SELECT} WHERE p.issuer = $1 ORDER BY p.id");
        self.read_script(|c| c.all(&sql, &[&issuer], policy_row))
    }
}
