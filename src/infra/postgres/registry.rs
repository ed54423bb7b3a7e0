//! What the registry's notifications record (repositories created by pushes, tag
//! commits, deletes, processed event ids), in this engine's own statements (the
//! ingest stays apart, see docs/architecture.md); the listings are in `infra::sql`.

use deadpool_postgres::{GenericClient, Transaction};

use super::rows::{exec, opt, push_facts, repo_id};
use super::{change, push_run, PgDirectory};
use crate::domain::events::IngestFacts;
use crate::domain::model::{EventOutcome, ManifestDelete, ManifestPush, UnixTime};
use crate::domain::ports::{DirResult, DirectoryError, RegistryEvent, RegistryLog};
use crate::infra::sql::Skip;

impl RegistryLog for PgDirectory {
    fn record_batch(
        &self,
        events: &[RegistryEvent<'_>],
        skip: Skip<'_>,
        now: UnixTime,
    ) -> DirResult<Vec<DirResult<EventOutcome>>> {
        change!(self, |tx| {
            let mut outcomes = Vec::with_capacity(events.len());
            let mut rest = events;
            while !rest.is_empty() {
                // Consecutive pushes go as one set (`push_run`); a delete, or a run the
                // set could not write, goes event by event.
                let run = rest
                    .iter()
                    .take_while(|e| matches!(e, RegistryEvent::Push(_)))
                    .count();
                if run > 1 {
                    let pushes: Vec<&ManifestPush> = rest[..run]
                        .iter()
                        .filter_map(|e| match e {
                            RegistryEvent::Push(p) => Some(*p),
                            RegistryEvent::Delete(_) => None,
                        })
                        .collect();
                    match push_run::record_pushes(tx, &pushes, skip, now).await {
                        Ok(done) => {
                            outcomes.extend(done.into_iter().map(Ok));
                            rest = &rest[run..];
                            continue;
                        }
                        Err(DirectoryError::Backend(e)) => return Err(DirectoryError::Backend(e)),
                        Err(_) => tx.batch_execute("ROLLBACK TO run; RELEASE run").await?,
                    }
                }
                let one_by_one = run.max(1);
                for event in &rest[..one_by_one] {
                    outcomes.push(record_one(tx, event, skip, now).await?);
                }
                rest = &rest[one_by_one..];
            }
            Ok(outcomes)
        })
    }
}

/// One event under its own savepoint: its outcome, or `Err` when the directory itself
/// failed (the batch then rolls back). Each event costs two round trips: its savepoint
/// goes out with its first query, its release with its last (a failed write leaves the
/// release refused and the savepoint in place for the rollback).
async fn record_one(
    tx: &Transaction<'_>,
    event: &RegistryEvent<'_>,
    skip: Skip<'_>,
    now: UnixTime,
) -> DirResult<DirResult<EventOutcome>> {
    let (outcome, released) = match event {
        RegistryEvent::Push(p) => record_push(tx, p, skip, now).await,
        RegistryEvent::Delete(d) => {
            tx.batch_execute("SAVEPOINT event").await?;
            let o = record_delete(tx, d, now).await;
            let released = match &o {
                Ok(_) => Some(tx.batch_execute("RELEASE event").await),
                Err(_) => None,
            };
            (o, released)
        }
    };
    match outcome {
        Ok(o) => {
            match released {
                Some(Err(e)) => return Err(e.into()),
                Some(Ok(())) => {}
                None => tx.batch_execute("RELEASE event").await?,
            }
            Ok(Ok(o))
        }
        // A backend failure ends the batch: the transaction rolls back.
        Err(DirectoryError::Backend(e)) => Err(DirectoryError::Backend(e)),
        Err(e) => {
            tx.batch_execute("ROLLBACK TO event; RELEASE event").await?;
            Ok(Err(e))
        }
    }
}

/// Everything the ingest rule decides on, in one statement.
const PUSH_FACTS: &str = "SELECT EXISTS (SELECT 1 FROM processed_events WHERE event_id = $1),
        (SELECT kind FROM entities WHERE id = $2),
        (SELECT trashed_at IS NOT NULL FROM entities WHERE id = $2),
        r.id, r.trashed_at IS NOT NULL
     FROM (SELECT 1) AS one
     LEFT JOIN entities r ON r.parent_id = $2 AND r.name = $3 AND r.kind = 'managed_repository'";

/// The repository (when new: the next entity id, decided under the writers' lock),
/// the commit and the processed event id, in one statement.
const PUSH_WRITE: &str = "WITH new_repo AS (
        INSERT INTO entities (id, kind, name, parent_id, created_at)
        SELECT GREATEST(1000, COALESCE(MAX(id), 0) + 1), 'managed_repository', $3, $2, $4
        FROM entities HAVING $5::bigint IS NULL
        RETURNING id
     ), commit AS (
        INSERT INTO commits (repository_id, tag, digest, media_type, size, pusher, pushed_at, event_id)
        SELECT COALESCE($5::bigint, (SELECT id FROM new_repo)), $6, $7, $8, $9, $10, $4, $1
     )
     INSERT INTO processed_events (event_id, processed_at) VALUES ($1, $11)";

/// Returns the outcome and, when the write went out, the answer to its release.
async fn record_push(
    tx: &Transaction<'_>,
    push: &ManifestPush,
    skip: Skip<'_>,
    now: UnixTime,
) -> (
    DirResult<EventOutcome>,
    Option<Result<(), tokio_postgres::Error>>,
) {
    let project_id = push.path.project().0 as i64;
    let name = push.path.name();
    let facts = async {
        let st = tx.prepare_cached(PUSH_FACTS).await?;
        Ok::<_, DirectoryError>(
            tx.query_one(&st, &[&push.event_id, &project_id, &name])
                .await?,
        )
    };
    let (saved, facts) = tokio::join!(tx.batch_execute("SAVEPOINT event"), facts);
    if let Err(e) = saved {
        return (Err(e.into()), None);
    }
    let row = match facts {
        Ok(r) => r,
        Err(e) => return (Err(e), None),
    };
    let decided = (|| -> DirResult<Result<Option<i64>, EventOutcome>> {
        let facts = push_facts(&row, 0)?;
        if facts.seen {
            return Ok(Err(EventOutcome::Duplicate));
        }
        if let Some(why) = skip(&IngestFacts {
            project: facts.project,
            repo_trashed: facts.repo_trashed,
        }) {
            return Ok(Err(EventOutcome::Skipped(why)));
        }
        Ok(Ok(facts.repo))
    })();
    let existing = match decided {
        Ok(Ok(existing)) => existing,
        Ok(Err(outcome)) => return (Ok(outcome), None),
        Err(e) => return (Err(e), None),
    };
    let write = async {
        let st = tx.prepare_cached(PUSH_WRITE).await?;
        tx.execute(
            &st,
            &[
                &push.event_id,
                &project_id,
                &name,
                &push.pushed_at,
                &existing,
                &push.tag,
                &push.digest,
                &push.media_type,
                &push.size,
                &push.pusher,
                &now,
            ],
        )
        .await
    };
    let (written, released) = tokio::join!(write, tx.batch_execute("RELEASE event"));
    match written {
        Ok(_) => (Ok(EventOutcome::Recorded), Some(released)),
        Err(e) => (Err(e.into()), None),
    }
}

async fn record_delete(
    tx: &Transaction<'_>,
    del: &ManifestDelete,
    now: UnixTime,
) -> DirResult<EventOutcome> {
    if seen(tx, &del.event_id).await? {
        return Ok(EventOutcome::Duplicate);
    }
    let Some(repo) = repo_id(tx, &del.path).await? else {
        return Ok(EventOutcome::Skipped("repository unknown"));
    };
    // A late delete never removes a commit pushed after it.
    match (&del.tag, &del.digest) {
        (Some(tag), _) => exec(
            tx,
            "UPDATE commits SET deleted_at = $1 WHERE repository_id = $2 AND tag = $3 AND deleted_at IS NULL AND pushed_at <= $1",
            &[&del.deleted_at, &repo, tag],
        )
        .await?,
        (None, Some(digest)) => exec(
            tx,
            "UPDATE commits SET deleted_at = $1 WHERE repository_id = $2 AND digest = $3 AND deleted_at IS NULL AND pushed_at <= $1",
            &[&del.deleted_at, &repo, digest],
        )
        .await?,
        (None, None) => return Ok(EventOutcome::Skipped("delete names neither tag nor digest")),
    };
    mark(tx, &del.event_id, now).await?;
    Ok(EventOutcome::Recorded)
}

async fn seen<C: GenericClient>(tx: &C, event_id: &str) -> DirResult<bool> {
    Ok(opt(
        tx,
        "SELECT 1 FROM processed_events WHERE event_id = $1",
        &[&event_id],
    )
    .await?
    .is_some())
}

async fn mark<C: GenericClient>(tx: &C, event_id: &str, now: UnixTime) -> DirResult<()> {
    exec(
        tx,
        "INSERT INTO processed_events (event_id, processed_at) VALUES ($1, $2)",
        &[&event_id, &now],
    )
    .await?;
    Ok(())
}
