//! The push (and delete) grants registry events are checked against: recorded by the
//! token path before it answers, read once per notification batch, pruned past their
//! retention.

use rusqlite::{params, Connection};

use super::SqliteDirectory;
use crate::domain::events::{Grant, GrantedAction};
use crate::domain::model::UnixTime;
use crate::domain::ports::{DirResult, DirectoryError, PushGrants};

impl PushGrants for SqliteDirectory {
    fn record_grants(&self, grants: &[Grant]) -> DirResult<()> {
        if grants.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            for g in grants {
                merge(tx, g)?;
            }
            Ok(())
        })
    }

    fn grants_for(&self, keys: &[(&str, &str)]) -> DirResult<Vec<Grant>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT actor, repository, action, valid_from, valid_until FROM push_grants
                 WHERE actor = ?1 AND repository = ?2",
            )?;
            let mut out = Vec::new();
            for (actor, repository) in keys {
                let rows = stmt.query_map(params![actor, repository], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                })?;
                for row in rows {
                    let (actor, repository, action, from, until) = row?;
                    out.push(Grant {
                        actor,
                        repository,
                        action: stored_action(&action)?,
                        from,
                        until,
                    });
                }
            }
            Ok(out)
        })
    }

    fn prune_grants(&self, before: UnixTime) -> DirResult<usize> {
        self.write(|tx| Ok(tx.execute("DELETE FROM push_grants WHERE valid_until < ?1", [before])?))
    }
}

/// Widens the newest interval of the same actor, repository and action that `g`
/// overlaps, or adds `g` as an interval of its own.
fn merge(tx: &Connection, g: &Grant) -> DirResult<()> {
    let widened = tx
        .prepare_cached(
            "UPDATE push_grants SET valid_from = MIN(valid_from, ?4), valid_until = MAX(valid_until, ?5)
             WHERE id = (SELECT id FROM push_grants
                         WHERE actor = ?1 AND repository = ?2 AND action = ?3
                           AND valid_until >= ?4 AND valid_from <= ?5
                         ORDER BY valid_until DESC LIMIT 1)",
        )?
        .execute(params![g.actor, g.repository, g.action.as_str(), g.from, g.until])?;
    if widened == 0 {
        tx.prepare_cached(
            "INSERT INTO push_grants (actor, repository, action, valid_from, valid_until)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            g.actor,
            g.repository,
            g.action.as_str(),
            g.from,
            g.until
        ])?;
    }
    Ok(())
}

fn stored_action(s: &str) -> DirResult<GrantedAction> {
    GrantedAction::parse(s)
        .ok_or_else(|| DirectoryError::Backend(format!("push_grants: unknown action {s:?}")))
}
