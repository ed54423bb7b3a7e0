//! The audit trail's table: appended in batches, listed newest first, pruned by age.

use rusqlite::params;

use super::SqliteDirectory;
use crate::domain::audit::{AuditFilter, AuditRecord};
use crate::domain::model::UnixTime;
use crate::domain::ports::{AuditEntry, AuditLog, DirResult, DirectoryError};

impl AuditLog for SqliteDirectory {
    fn append_counted(&self, records: &[(AuditRecord, u64)]) -> DirResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        self.write_audit(|tx| {
            let mut insert = tx.prepare_cached(
                "INSERT INTO audit_events (at, kind, actor, subject, client_ip, detail, count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for (r, count) in records {
                let detail = serde_json::to_string(&r.event)
                    .map_err(|e| DirectoryError::Backend(format!("audit record: {e}")))?;
                insert.execute(params![
                    r.at,
                    r.event.kind(),
                    r.actor,
                    r.subject,
                    r.client_ip.map(|ip| ip.to_string()),
                    detail,
                    *count as i64
                ])?;
            }
            Ok(())
        })
    }

    fn query(&self, filter: &AuditFilter) -> DirResult<Vec<AuditEntry>> {
        self.read_audit(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, at, kind, actor, subject, client_ip, detail, count FROM audit_events
                 WHERE at >= ?1 AND (?2 IS NULL OR actor = ?2 OR subject = ?2)
                 ORDER BY at DESC, id DESC LIMIT ?3",
            )?;
            let rows = stmt.query_map(
                params![
                    filter.since.unwrap_or(i64::MIN),
                    filter.user,
                    filter.limit.min(i64::MAX as usize) as i64
                ],
                |r| {
                    let detail: String = r.get(6)?;
                    Ok(AuditEntry {
                        id: r.get(0)?,
                        at: r.get(1)?,
                        kind: r.get(2)?,
                        actor: r.get(3)?,
                        subject: r.get(4)?,
                        client_ip: r.get(5)?,
                        count: r.get::<_, i64>(7)? as u64,
                        detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
                    })
                },
            )?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn prune(&self, before: UnixTime) -> DirResult<usize> {
        self.write_audit(|tx| Ok(tx.execute("DELETE FROM audit_events WHERE at < ?1", [before])?))
    }
}
