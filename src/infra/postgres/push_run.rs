//! A run of consecutive manifest pushes recorded as a set: one statement reads the facts
//! of every push, the ingest rule decides each in order (in Rust, as for one push), and
//! three statements write the new repositories, the commits and the processed event ids.
//! The run's savepoint goes out with the read and its release with the writes (one
//! pipeline each), so a run costs two round trips where each event cost two before.
//!
//! The outcome is the one the event-by-event path gives, in the same order: a push whose
//! id was seen (before or earlier in the run) is a duplicate; a repository the run
//! creates exists for the pushes after it; commits get their ids in event order (a tag's
//! current commit is the newest `(pushed_at, id)`). When the set cannot be written (a
//! constraint a single event breaks), the caller rolls it back and records the run event
//! by event, which isolates the one that fails.

use std::collections::HashSet;

use deadpool_postgres::Transaction;

use super::rows::{all, push_facts, P};
use crate::domain::events::IngestFacts;
use crate::domain::model::{EventOutcome, ManifestPush, UnixTime};
use crate::domain::ports::DirResult;
use crate::infra::sql::Skip;

/// Every push's facts, in event order. The duplicate check is a LATERAL probe with
/// LIMIT, one index lookup per event: written as `EXISTS`, the planner may turn it into
/// a hash of the whole of `processed_events` built for every batch (it did, from a few
/// thousand rows on: 10 ms a batch at 50,000 rows, where the probes take 0.1 ms).
const FACTS: &str = "SELECT e.ord,
        seen.one IS NOT NULL,
        (SELECT kind FROM entities WHERE id = e.project_id),
        (SELECT trashed_at IS NOT NULL FROM entities WHERE id = e.project_id),
        r.id, r.trashed_at IS NOT NULL
     FROM unnest($1::text[], $2::bigint[], $3::text[]) WITH ORDINALITY AS e(event_id, project_id, name, ord)
     LEFT JOIN LATERAL (SELECT 1 AS one FROM processed_events p WHERE p.event_id = e.event_id LIMIT 1) seen ON true
     LEFT JOIN entities r ON r.parent_id = e.project_id AND r.name = e.name AND r.kind = 'managed_repository'
     ORDER BY e.ord";

/// New repositories, numbered after the largest id as one push would number them (the
/// writers' lock is held, so no other writer numbers at the same time).
const NEW_REPOS: &str = "INSERT INTO entities (id, kind, name, parent_id, created_at)
     SELECT GREATEST(999, (SELECT COALESCE(MAX(id), 0) FROM entities)) + n.ord,
            'managed_repository', n.name, n.parent_id, n.created_at
     FROM unnest($1::text[], $2::bigint[], $3::bigint[]) WITH ORDINALITY AS n(name, parent_id, created_at, ord)";

/// The commits, in event order; a repository created in this run is found by name.
const COMMITS: &str = "INSERT INTO commits (repository_id, tag, digest, media_type, size, pusher, pushed_at, event_id)
     SELECT COALESCE(w.repo, r.id), w.tag, w.digest, w.media_type, w.size, w.pusher, w.pushed_at, w.event_id
     FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::text[],
                 $7::text[], $8::bigint[], $9::text[], $10::bigint[])
          WITH ORDINALITY AS w(event_id, project_id, name, repo, tag, digest, media_type, size, pusher, pushed_at, ord)
     LEFT JOIN entities r ON w.repo IS NULL AND r.parent_id = w.project_id AND r.name = w.name
          AND r.kind = 'managed_repository'
     ORDER BY w.ord";

const PROCESSED: &str = "INSERT INTO processed_events (event_id, processed_at)
     SELECT unnest($1::text[]), $2";

/// A push the run writes, with its repository when that exists already.
struct Write<'a> {
    push: &'a ManifestPush,
    repo: Option<i64>,
}

/// Records `pushes` (consecutive in their batch) under the savepoint `run` and returns
/// their outcomes in order, the savepoint released. An error leaves the savepoint in
/// place for the caller to roll the run back to.
pub async fn record_pushes(
    tx: &Transaction<'_>,
    pushes: &[&ManifestPush],
    skip: Skip<'_>,
    now: UnixTime,
) -> DirResult<Vec<EventOutcome>> {
    let ids: Vec<&str> = pushes.iter().map(|p| p.event_id.as_str()).collect();
    let projects: Vec<i64> = pushes.iter().map(|p| p.path.project().0 as i64).collect();
    let names: Vec<&str> = pushes.iter().map(|p| p.path.name()).collect();
    let params: [P<'_>; 3] = [&ids, &projects, &names];
    let (saved, facts) = tokio::join!(tx.batch_execute("SAVEPOINT run"), all(tx, FACTS, &params));
    saved?;
    let facts = facts?;
    if facts.len() != pushes.len() {
        return Err(crate::domain::ports::DirectoryError::Backend(format!(
            "postgresql: {} facts for {} pushes",
            facts.len(),
            pushes.len()
        )));
    }
    let mut outcomes = Vec::with_capacity(pushes.len());
    let mut writes: Vec<Write<'_>> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    // Repositories this run creates, in the order of their first push, with its time.
    let mut created: HashSet<(i64, &str)> = HashSet::new();
    let mut new_repos: Vec<(i64, &str, UnixTime)> = Vec::new();
    for ((push, row), (&project_id, &name)) in
        pushes.iter().zip(&facts).zip(projects.iter().zip(&names))
    {
        let facts = push_facts(row, 1)?;
        if facts.seen || !seen.insert(push.event_id.as_str()) {
            outcomes.push(EventOutcome::Duplicate);
            continue;
        }
        let existing = facts.repo;
        let repo_trashed = match existing {
            Some(_) => facts.repo_trashed,
            None => created.contains(&(project_id, name)).then_some(false),
        };
        if let Some(why) = skip(&IngestFacts {
            project: facts.project,
            repo_trashed,
        }) {
            // Not marked processed: a retry after the project appears records it.
            seen.remove(push.event_id.as_str());
            outcomes.push(EventOutcome::Skipped(why));
            continue;
        }
        if existing.is_none() && created.insert((project_id, name)) {
            new_repos.push((project_id, name, push.pushed_at));
        }
        writes.push(Write {
            push,
            repo: existing,
        });
        outcomes.push(EventOutcome::Recorded);
    }
    if writes.is_empty() {
        tx.batch_execute("RELEASE run").await?;
        return Ok(outcomes);
    }
    // Prepared first, so that the writes below go out in this order, in one pipeline.
    let (create, commits, processed) = tokio::join!(
        tx.prepare_cached(NEW_REPOS),
        tx.prepare_cached(COMMITS),
        tx.prepare_cached(PROCESSED)
    );
    let (create, commits, processed) = (create?, commits?, processed?);
    let parents: Vec<i64> = new_repos.iter().map(|r| r.0).collect();
    let new_names: Vec<&str> = new_repos.iter().map(|r| r.1).collect();
    let at: Vec<i64> = new_repos.iter().map(|r| r.2).collect();
    let col =
        |f: fn(&ManifestPush) -> &str| -> Vec<&str> { writes.iter().map(|w| f(w.push)).collect() };
    let ids = col(|p| p.event_id.as_str());
    let names = col(|p| p.path.name());
    let digests = col(|p| p.digest.as_str());
    let media = col(|p| p.media_type.as_str());
    let pushers = col(|p| p.pusher.as_str());
    let projects: Vec<i64> = writes
        .iter()
        .map(|w| w.push.path.project().0 as i64)
        .collect();
    let repos: Vec<Option<i64>> = writes.iter().map(|w| w.repo).collect();
    let tags: Vec<Option<&str>> = writes.iter().map(|w| w.push.tag.as_deref()).collect();
    let sizes: Vec<i64> = writes.iter().map(|w| w.push.size).collect();
    let times: Vec<i64> = writes.iter().map(|w| w.push.pushed_at).collect();
    let create_params: [P<'_>; 3] = [&new_names, &parents, &at];
    let commit_params: [P<'_>; 10] = [
        &ids, &projects, &names, &repos, &tags, &digests, &media, &sizes, &pushers, &times,
    ];
    let processed_params: [P<'_>; 2] = [&ids, &now];
    let create = async {
        if new_repos.is_empty() {
            Ok(0)
        } else {
            tx.execute(&create, &create_params).await
        }
    };
    let results = tokio::join!(
        create,
        tx.execute(&commits, &commit_params),
        tx.execute(&processed, &processed_params),
        tx.batch_execute("RELEASE run"),
    );
    // The first failure in statement order is the cause; the ones after it only say
    // that the transaction was aborted.
    results.0?;
    results.1?;
    results.2?;
    results.3?;
    Ok(outcomes)
}
