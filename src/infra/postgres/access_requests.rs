//! Access requests: filed, listed and decided, each decision with its ACL change in the
//! same transaction.

use deadpool_postgres::GenericClient;

use super::entities::apply_sharing;
use super::rows::{all, entity_by_id, exec, facts, g, opt, resolve, P};
use super::{change, read, PgDirectory};
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

async fn rows<C: GenericClient>(
    c: &C,
    sql: &str,
    params: &[P<'_>],
) -> DirResult<Vec<AccessRequest>> {
    let mut out = Vec::new();
    for r in all(c, sql, params).await? {
        let state: &str = g(&r, 5)?;
        let entity = EntityId(g::<i64>(&r, 1)? as u64);
        out.push(AccessRequest {
            id: g(&r, 0)?,
            entity,
            entity_name: entity_by_id(c, entity.0 as i64)
                .await?
                .map(|e| e.info.name)
                .unwrap_or_default(),
            requester: UserId(g(&r, 2)?),
            requester_name: g(&r, 3)?,
            message: g(&r, 4)?,
            state: RequestState::parse(state).unwrap_or(RequestState::Open),
            reason: g(&r, 6)?,
            created_at: g(&r, 7)?,
            decided_at: g(&r, 8)?,
            decided_by: g(&r, 9)?,
        });
    }
    Ok(out)
}

async fn by_id<C: GenericClient>(c: &C, id: i64) -> DirResult<Option<AccessRequest>> {
    Ok(rows(c, &format!("{SELECT} WHERE r.id = $1"), &[&id])
        .await?
        .pop())
}

impl AccessRequestStore for PgDirectory {
    fn file_access_request(
        &self,
        entity: &EntityRef,
        requester: UserId,
        message: &str,
        rule: EntityRule<()>,
        now: UnixTime,
    ) -> DirResult<AccessRequest> {
        change!(self, |tx| {
            let row = resolve(tx, entity).await?;
            let id = row.info.id.0 as i64;
            rule(&facts(tx, row).await?)?;
            let open = opt(
                tx,
                "SELECT id FROM access_requests WHERE entity_id = $1 AND requester_id = $2 AND state = 'open'",
                &[&id, &requester.0],
            )
            .await?;
            if let Some(open) = open {
                let open: i64 = g(&open, 0)?;
                return Err(DirectoryError::Conflict(format!(
                    "an open access request ({open}) of yours on {entity}"
                )));
            }
            let r = opt(
                tx,
                "INSERT INTO access_requests (entity_id, requester_id, message, state, created_at)
                 VALUES ($1, $2, $3, 'open', $4) RETURNING id",
                &[&id, &requester.0, &message, &now],
            )
            .await?
            .ok_or_else(|| DirectoryError::Backend("insert returned no id".into()))?;
            by_id(tx, g(&r, 0)?)
                .await?
                .ok_or_else(|| DirectoryError::Backend("access request vanished".into()))
        })
    }

    fn entity_access_requests(
        &self,
        entity: &EntityRef,
        all: bool,
        rule: EntityRule<()>,
    ) -> DirResult<Vec<AccessRequest>> {
        read!(self, |c| {
            let row = resolve(c, entity).await?;
            let id = row.info.id.0 as i64;
            rule(&facts(c, row).await?)?;
            let only_open = if all { "" } else { " AND r.state = 'open'" };
            rows(
                c,
                &format!("{SELECT} WHERE r.entity_id = $1{only_open} ORDER BY r.id"),
                &[&id],
            )
            .await
        })
    }

    fn user_access_requests(&self, requester: UserId) -> DirResult<Vec<AccessRequest>> {
        read!(self, |c| {
            rows(
                c,
                &format!("{SELECT} WHERE r.requester_id = $1 ORDER BY r.id DESC"),
                &[&requester.0],
            )
            .await
        })
    }

    fn decide_access_request(
        &self,
        id: i64,
        decision: &RequestDecision,
        rule: DecisionRule,
        now: UnixTime,
    ) -> DirResult<AccessRequest> {
        change!(self, |tx| {
            let request = by_id(tx, id)
                .await?
                .ok_or_else(|| DirectoryError::NotFound(format!("access request {id}")))?;
            let row = entity_by_id(tx, request.entity.0 as i64)
                .await?
                .ok_or_else(|| DirectoryError::NotFound(format!("access request {id}")))?;
            let entity_id = row.info.id.0 as i64;
            let change = rule(&facts(tx, row).await?, &request)?;
            if request.state != RequestState::Open {
                return Err(DirectoryError::Invalid(format!(
                    "access request {id} is already {}",
                    request.state.as_str()
                )));
            }
            if let Some(change) = &change {
                apply_sharing(tx, entity_id, change).await?;
            }
            let state = if decision.approve {
                RequestState::Approved
            } else {
                RequestState::Denied
            };
            exec(
                tx,
                "UPDATE access_requests SET state = $1, reason = $2, decided_at = $3, decided_by = $4 WHERE id = $5",
                &[
                    &state.as_str(),
                    &decision.reason,
                    &now,
                    &decision.decided_by.map(|u| u.0),
                    &id,
                ],
            )
            .await?;
            by_id(tx, id)
                .await?
                .ok_or_else(|| DirectoryError::Backend("access request vanished".into()))
        })
    }
}
