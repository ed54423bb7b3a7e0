//! The push (and delete) grants registry events are checked against, shared by every
//! replica: recorded by the token path before it answers, read once per notification
//! batch, pruned past their retention.
//!
//! Recording skips the writers' advisory lock: grants decide no rule on what a change
//! read, so a token request never waits behind another replica's administration or a
//! notification batch. Two replicas merging the same interval at once may leave two
//! overlapping rows instead of one, which matches exactly the same events.

use super::rows::{all, exec, g};
use super::{read, PgDirectory};
use crate::domain::events::{Grant, GrantedAction};
use crate::domain::model::UnixTime;
use crate::domain::ports::{DirResult, DirectoryError, PushGrants};

/// Widens the newest interval of the same actor, repository and action that the grant
/// overlaps, or adds it as an interval of its own: one statement.
const MERGE: &str = "WITH widened AS (
        UPDATE push_grants SET valid_from = LEAST(valid_from, $4), valid_until = GREATEST(valid_until, $5)
        WHERE id = (SELECT id FROM push_grants
                    WHERE actor = $1 AND repository = $2 AND action = $3
                      AND valid_until >= $4 AND valid_from <= $5
                    ORDER BY valid_until DESC LIMIT 1)
        RETURNING id
     )
     INSERT INTO push_grants (actor, repository, action, valid_from, valid_until)
     SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM widened)";

impl PushGrants for PgDirectory {
    fn record_grants(&self, grants: &[Grant]) -> DirResult<()> {
        if grants.is_empty() {
            return Ok(());
        }
        // One order for every writer, so two transactions never wait on each other's
        // rows in opposite orders.
        let mut sorted: Vec<&Grant> = grants.iter().collect();
        sorted.sort_by(|a, b| {
            (&a.actor, &a.repository, a.action).cmp(&(&b.actor, &b.repository, b.action))
        });
        self.block_on(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            for gr in sorted {
                exec(
                    &tx,
                    MERGE,
                    &[
                        &gr.actor,
                        &gr.repository,
                        &gr.action.as_str(),
                        &gr.from,
                        &gr.until,
                    ],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    fn grants_for(&self, keys: &[(&str, &str)]) -> DirResult<Vec<Grant>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let actors: Vec<&str> = keys.iter().map(|k| k.0).collect();
        let repositories: Vec<&str> = keys.iter().map(|k| k.1).collect();
        read!(self, |c| {
            let rows = all(
                c,
                "SELECT p.actor, p.repository, p.action, p.valid_from, p.valid_until
                 FROM push_grants p
                 JOIN unnest($1::text[], $2::text[]) AS k(actor, repository)
                   ON p.actor = k.actor AND p.repository = k.repository",
                &[&actors, &repositories],
            )
            .await?;
            rows.iter()
                .map(|r| {
                    let action: &str = g(r, 2)?;
                    Ok(Grant {
                        actor: g(r, 0)?,
                        repository: g(r, 1)?,
                        action: GrantedAction::parse(action).ok_or_else(|| {
                            DirectoryError::Backend(format!(
                                "push_grants: unknown action {action:?}"
                            ))
                        })?,
                        from: g(r, 3)?,
                        until: g(r, 4)?,
                    })
                })
                .collect()
        })
    }

    fn prune_grants(&self, before: UnixTime) -> DirResult<usize> {
        read!(self, |c| {
            let n = exec(
                c,
                "DELETE FROM push_grants WHERE valid_until < $1",
                &[&before],
            )
            .await?;
            Ok(n as usize)
        })
    }
}
