//! What the registry holds, read for listings: a project's repositories, a repository's
//! tags and a tag's history. One script each for both engines (the notification ingest
//! that writes these rows stays in each engine's `registry`, see docs/architecture.md).

use super::rows::{entities_by_query, repo_id, tag_info};
use super::{SqlDirectory, Tx};
use crate::domain::model::{EntityId, EntityInfo, TagInfo, TagSort};
use crate::domain::ports::{DirResult, DirectoryError, RegistryReader};
use crate::domain::repo_name::RepoPath;

impl<D: SqlDirectory> RegistryReader for D {
    fn list_repositories(&self, project: EntityId) -> DirResult<Vec<EntityInfo>> {
        self.read_script(|c| {
            entities_by_query(
                c,
                "SELECT id FROM entities WHERE parent_id = $1 AND trashed_at IS NULL ORDER BY name COLLATE \"C\"",
                &[&(project.0 as i64)],
            )
        })
    }

    fn list_tags(
        &self,
        repo: &RepoPath,
        sort: TagSort,
        offset: usize,
        limit: usize,
    ) -> DirResult<(Vec<TagInfo>, usize)> {
        self.read_script(|c| {
            let id = known_repo(c, repo)?;
            // The current commit of a tag: the newest (pushed_at, id) not deleted.
            let current = "SELECT c.tag, c.digest, c.media_type, c.size, c.pusher, c.pushed_at FROM commits c
                 WHERE c.repository_id = $1 AND c.tag IS NOT NULL AND c.deleted_at IS NULL AND NOT EXISTS (
                   SELECT 1 FROM commits n WHERE n.repository_id = c.repository_id AND n.tag = c.tag AND n.deleted_at IS NULL
                     AND (n.pushed_at > c.pushed_at OR (n.pushed_at = c.pushed_at AND n.id > c.id)))";
            let total = c.one(
                &format!("SELECT COUNT(*) FROM ({current}) AS cur"),
                &[&id],
                |r| r.get::<i64>(0),
            )?;
            let order = match sort {
                TagSort::Tag => "ORDER BY tag COLLATE \"C\"",
                TagSort::Time => "ORDER BY pushed_at DESC, tag COLLATE \"C\"",
            };
            let tags = c.all(
                &format!("SELECT * FROM ({current}) AS cur {order} LIMIT $2 OFFSET $3"),
                &[
                    &id,
                    &(limit.min(i64::MAX as usize) as i64),
                    &(offset.min(i64::MAX as usize) as i64),
                ],
                tag_info,
            )?;
            Ok((tags, total as usize))
        })
    }

    fn tag_history(&self, repo: &RepoPath, tag: &str) -> DirResult<Vec<TagInfo>> {
        self.read_script(|c| {
            let id = known_repo(c, repo)?;
            c.all(
                "SELECT tag, digest, media_type, size, pusher, pushed_at FROM commits
                 WHERE repository_id = $1 AND tag = $2 ORDER BY pushed_at DESC, id DESC",
                &[&id, &tag],
                tag_info,
            )
        })
    }
}

fn known_repo(c: &dyn Tx, repo: &RepoPath) -> DirResult<i64> {
    repo_id(c, repo)?.ok_or_else(|| DirectoryError::NotFound(format!("repository {repo}")))
}
