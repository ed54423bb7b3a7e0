//! Access requests: filed, listed and decided, each decision with its ACL change in the
//! same transaction. One script each for both engines.

use super::entities::apply_sharing;
use super::rows::{entity_by_id, facts, resolve};
use super::{Param, SqlDirectory, Tx};
use crate::domain::model::{
    AccessRequest, EntityId, EntityRef, RequestDecision, RequestState, UnixTime, UserId,
};
use crate::domain::ports::{
    AccessRequestStore, DecisionRule, DirResult, DirectoryError, EntityRule,
};

const SELECT: &str =
    "SELECT r.id, r.entity_id, r.requester_id, u.name, r.message, r.state, r.reason,
        r.created_at, r.decided_at, d.name
     FROM access_requests r JOIN users u ON u.id = r.requester_id
     LEFT JOIN users d ON d.id = r.decided_by";

fn rows(c: &dyn Tx, sql: &str, params: &[&dyn Param]) -> DirResult<Vec<AccessRequest>> {
    let found = c.all(sql, params, |r| {
        let state: String = r.get(5)?;
        Ok(AccessRequest {
            id: r.get(0)?,
            entity: EntityId(r.get::<i64>(1)? as u64),
            entity_name: String::new(),
            requester: UserId(r.get(2)?),
            requester_name: r.get(3)?,
            message: r.get(4)?,
            state: RequestState::parse(&state).unwrap_or(RequestState::Open),
            reason: r.get(6)?,
            created_at: r.get(7)?,
            decided_at: r.get(8)?,
            decided_by: r.get(9)?,
        })
    })?;
    found
        .into_iter()
        .map(|mut req| {
            req.entity_name = entity_by_id(c, req.entity.0 as i64)?
                .map(|e| e.info.name)
                .unwrap_or_default();
            Ok(req)
        })
        .collect()
}

fn by_id(c: &dyn Tx, id: i64) -> DirResult<Option<AccessRequest>> {
    Ok(rows(c, &format!("{SELECT} WHERE r.id = $1"), &[&id])?.pop())
}

impl<D: SqlDirectory> AccessRequestStore for D {
    fn file_access_request(
        &self,
        entity: &EntityRef,
        requester: UserId,
        message: &str,
        rule: EntityRule<()>,
        now: UnixTime,
    ) -> DirResult<AccessRequest> {
        self.change_script(|tx| {
            let row = resolve(tx, entity)?;
            let id = row.info.id.0 as i64;
            rule(&facts(tx, row)?)?;
            let open: Option<i64> = tx.opt(
                "SELECT id FROM access_requests WHERE entity_id = $1 AND requester_id = $2 AND state = 'open'",
                &[&id, &requester.0],
                |r| r.get(0),
            )?;
            if let Some(open) = open {
                return Err(DirectoryError::Conflict(format!(
                    "an open access request ({open}) of yours on {entity}"
                )));
            }
            let filed = tx.one(
                "INSERT INTO access_requests (entity_id, requester_id, message, state, created_at)
                 VALUES ($1, $2, $3, 'open', $4) RETURNING id",
                &[&id, &requester.0, &message, &now],
                |r| r.get(0),
            )?;
            by_id(tx, filed)?
                .ok_or_else(|| DirectoryError::Backend("access request vanished".into()))
        })
    }

    fn entity_access_requests(
        &self,
        entity: &EntityRef,
        all: bool,
        rule: EntityRule<()>,
    ) -> DirResult<Vec<AccessRequest>> {
        self.read_script(|c| {
            let row = resolve(c, entity)?;
            let id = row.info.id.0 as i64;
            rule(&facts(c, row)?)?;
            let only_open = if all { "" } else { " AND r.state = 'open'" };
            rows(
                c,
                &format!("{SELECT} WHERE r.entity_id = $1{only_open} ORDER BY r.id"),
                &[&id],
            )
        })
    }

    fn user_access_requests(&self, requester: UserId) -> DirResult<Vec<AccessRequest>> {
        self.read_script(|c| {
            rows(
                c,
                &format!("{SELECT} WHERE r.requester_id = $1 ORDER BY r.id DESC"),
                &[&requester.0],
            )
        })
    }

    fn decide_access_request(
        &self,
        id: i64,
        decision: &RequestDecision,
        rule: DecisionRule,
        now: UnixTime,
    ) -> DirResult<AccessRequest> {
        self.change_script(|tx| {
            let request = by_id(tx, id)?
                .ok_or_else(|| DirectoryError::NotFound(format!("access request {id}")))?;
            let row = entity_by_id(tx, request.entity.0 as i64)?
                .ok_or_else(|| DirectoryError::NotFound(format!("access request {id}")))?;
            let entity_id = row.info.id.0 as i64;
            let change = rule(&facts(tx, row)?, &request)?;
            if request.state != RequestState::Open {
                return Err(DirectoryError::Invalid(format!(
                    "access request {id} is already {}",
                    request.state.as_str()
                )));
            }
            if let Some(change) = &change {
                apply_sharing(tx, entity_id, change)?;
            }
            let state = if decision.approve {
                RequestState::Approved
            } else {
                RequestState::Denied
            };
            tx.exec(
                "UPDATE access_requests SET state = $1, reason = $2, decided_at = $3, decided_by = $4 WHERE id = $5",
                &[
                    &state.as_str(),
                    &decision.reason,
                    &now,
                    &decision.decided_by.map(|u| u.0),
                    &id,
                ],
            )?;
            by_id(tx, id)?.ok_or_else(|| DirectoryError::Backend("access request vanished".into()))
        })
    }
}
