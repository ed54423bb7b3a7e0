//! The audit trail's table: appended in batches, listed newest first, pruned by age.
//! Appends need no order between replicas, so they skip the writers' lock.

use super::rows::{all, exec, g, map};
use super::{read, PgDirectory};
use crate::domain::audit::{AuditFilter, AuditRecord};
use crate::domain::model::UnixTime;
use crate::domain::ports::{AuditEntry, AuditLog, DirResult, DirectoryError};

impl AuditLog for PgDirectory {
    fn append_counted(&self, records: &[(AuditRecord, u64)]) -> DirResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        let rows = records
            .iter()
            .map(|(r, count)| {
                let detail = serde_json::to_string(&r.event)
                    .map_err(|e| DirectoryError::Backend(format!("audit record: {e}")))?;
                Ok((r, detail, *count as i64))
            })
            .collect::<DirResult<Vec<_>>>()?;
        self.block_on(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            for (r, detail, count) in &rows {
                exec(
                    &tx,
                    "INSERT INTO audit_events (at, kind, actor, subject, client_ip, detail, count) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    &[
                        &r.at,
                        &r.event.kind(),
                        &r.actor,
                        &r.subject,
                        &r.client_ip.map(|ip| ip.to_string()),
                        detail,
                        count,
                    ],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    fn query(&self, filter: &AuditFilter) -> DirResult<Vec<AuditEntry>> {
        read!(self, |c| {
            let rows = all(
                c,
                "SELECT id, at, kind, actor, subject, client_ip, detail, count FROM audit_events
                 WHERE at >= $1 AND ($2::text IS NULL OR actor = $2 OR subject = $2)
                 ORDER BY at DESC, id DESC LIMIT $3",
                &[
                    &filter.since.unwrap_or(i64::MIN),
                    &filter.user,
                    &(filter.limit.min(i64::MAX as usize) as i64),
                ],
            )
            .await?;
            map(&rows, |r| {
                let detail: &str = g(r, 6)?;
                Ok(AuditEntry {
                    id: g(r, 0)?,
                    at: g(r, 1)?,
                    kind: g(r, 2)?,
                    actor: g(r, 3)?,
                    subject: g(r, 4)?,
                    client_ip: g(r, 5)?,
                    count: g::<i64>(r, 7)? as u64,
                    detail: serde_json::from_str(detail).unwrap_or(serde_json::Value::Null),
                })
            })
        })
    }

    fn prune(&self, before: UnixTime) -> DirResult<usize> {
        self.block_on(async {
            let client = self.client().await?;
            Ok(exec(
                &client,
                "DELETE FROM audit_events WHERE at < $1",
                &[&before],
            )
            .await? as usize)
        })
    }
}
