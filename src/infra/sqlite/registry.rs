//! What the registry's notifications record (repositories created by pushes, tag
//! commits, deletes, processed event ids), in this engine's own statements (the
//! ingest stays apart, see docs/architecture.md); the listings are in `infra::sql`.

use rusqlite::{params, Connection, OptionalExtension};

use super::rows::{entity_by_id, next_entity_id, repo_id};
use super::SqliteDirectory;
use crate::domain::events::{IngestFacts, ProjectPresence};
use crate::domain::model::{EntityKind, EventOutcome, ManifestDelete, ManifestPush, UnixTime};
use crate::domain::ports::{DirResult, DirectoryError, RegistryEvent, RegistryLog};
use crate::infra::sql::Skip;

impl RegistryLog for SqliteDirectory {
    fn record_batch(
        &self,
        events: &[RegistryEvent<'_>],
        skip: Skip<'_>,
        now: UnixTime,
    ) -> DirResult<Vec<DirResult<EventOutcome>>> {
        self.write(|tx| {
            let mut outcomes = Vec::with_capacity(events.len());
            for event in events {
                tx.execute_batch("SAVEPOINT event")?;
                let outcome = match event {
                    RegistryEvent::Push(p) => record_push(tx, p, skip, now),
                    RegistryEvent::Delete(d) => record_delete(tx, d, now),
                };
                match outcome {
                    Ok(o) => {
                        tx.execute_batch("RELEASE event")?;
                        outcomes.push(Ok(o));
                    }
                    // A backend failure ends the batch: the transaction rolls back.
                    Err(DirectoryError::Backend(e)) => return Err(DirectoryError::Backend(e)),
                    Err(e) => {
                        tx.execute_batch("ROLLBACK TO event; RELEASE event")?;
                        outcomes.push(Err(e));
                    }
                }
            }
            Ok(outcomes)
        })
    }
}

fn record_push(
    tx: &Connection,
    push: &ManifestPush,
    skip: Skip<'_>,
    now: UnixTime,
) -> DirResult<EventOutcome> {
    if seen(tx, &push.event_id)? {
        return Ok(EventOutcome::Duplicate);
    }
    let project_id = push.path.project().0 as i64;
    let project = match entity_by_id(tx, project_id)? {
        None => ProjectPresence::Missing,
        Some(p) if p.info.kind != EntityKind::Project => ProjectPresence::NotAProject,
        Some(p) => ProjectPresence::Project {
            trashed: p.info.trashed,
        },
    };
    let existing = repo_id(tx, &push.path)?;
    let repo_trashed = match existing {
        Some(id) => Some(entity_by_id(tx, id)?.is_some_and(|r| r.info.trashed)),
        None => None,
    };
    if let Some(why) = skip(&IngestFacts {
        project,
        repo_trashed,
    }) {
        return Ok(EventOutcome::Skipped(why));
    }
    let repo = match existing {
        Some(id) => id,
        None => {
            let id = next_entity_id(tx)?;
            tx.prepare_cached(
                "INSERT INTO entities (id, kind, name, parent_id, created_at) VALUES (?1, 'managed_repository', ?2, ?3, ?4)",
            )?
            .execute(params![id, push.path.name(), project_id, push.pushed_at])?;
            id
        }
    };
    tx.prepare_cached(
        "INSERT INTO commits (repository_id, tag, digest, media_type, size, pusher, pushed_at, event_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![repo, push.tag, push.digest, push.media_type, push.size, push.pusher, push.pushed_at, push.event_id])?;
    mark(tx, &push.event_id, now)?;
    Ok(EventOutcome::Recorded)
}

fn record_delete(tx: &Connection, del: &ManifestDelete, now: UnixTime) -> DirResult<EventOutcome> {
    if seen(tx, &del.event_id)? {
        return Ok(EventOutcome::Duplicate);
    }
    let Some(repo) = repo_id(tx, &del.path)? else {
        return Ok(EventOutcome::Skipped("repository unknown"));
    };
    // A late delete never removes a commit pushed after it.
    match (&del.tag, &del.digest) {
        (Some(tag), _) => tx.execute(
            "UPDATE commits SET deleted_at = ?1 WHERE repository_id = ?2 AND tag = ?3 AND deleted_at IS NULL AND pushed_at <= ?1",
            params![del.deleted_at, repo, tag],
        ),
        (None, Some(digest)) => tx.execute(
            "UPDATE commits SET deleted_at = ?1 WHERE repository_id = ?2 AND digest = ?3 AND deleted_at IS NULL AND pushed_at <= ?1",
            params![del.deleted_at, repo, digest],
        ),
        (None, None) => return Ok(EventOutcome::Skipped("delete names neither tag nor digest")),
    }?;
    mark(tx, &del.event_id, now)?;
    Ok(EventOutcome::Recorded)
}

fn seen(tx: &Connection, event_id: &str) -> DirResult<bool> {
    Ok(tx
        .prepare_cached("SELECT 1 FROM processed_events WHERE event_id = ?1")?
        .query_row([event_id], |_| Ok(()))
        .optional()?
        .is_some())
}

fn mark(tx: &Connection, event_id: &str, now: UnixTime) -> DirResult<()> {
    tx.prepare_cached("INSERT INTO processed_events (event_id, processed_at) VALUES (?1, ?2)")?
        .execute(params![event_id, now])?;
    Ok(())
}
