//! The audit trail's writer thread: token-path records arrive on a bounded channel and
//! are appended in batches (one transaction per batch, at least every 100 ms), and
//! records older than the retention are pruned every hour. A full channel makes the
//! sender wait (back-pressure) rather than drop a record; stopping drains it.

use std::collections::HashMap;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::app::audit::AuditSink;
use crate::domain::audit::AuditRecord;
use crate::domain::ports::{AuditLog, Clock};

/// Records waiting at most; beyond, senders wait for the writer. The queue's slots are
/// allocated up front, so this is memory held from start: 8,192 slots absorb 81,920
/// records a second at one flush every `FLUSH_EVERY`.
const CAPACITY: usize = 8_192;
/// Most records in one transaction.
const BATCH: usize = 2_000;
/// Longest a record waits before its batch is written.
const FLUSH_EVERY: Duration = Duration::from_millis(100);
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

pub struct AuditWriter {
    sender: Option<SyncSender<AuditRecord>>,
    thread: Option<JoinHandle<()>>,
}

impl AuditWriter {
    /// Starts the writer; `retention` is how long records are kept.
    pub fn start(
        log: Arc<dyn AuditLog>,
        clock: Arc<dyn Clock>,
        retention: Duration,
    ) -> AuditWriter {
        let (sender, receiver) = sync_channel(CAPACITY);
        let thread = std::thread::Builder::new()
            .name("regauth-audit".into())
            .spawn(move || run(receiver, log.as_ref(), clock.as_ref(), retention))
            .ok();
        if thread.is_none() {
            tracing::error!("cannot start the audit writer thread");
        }
        AuditWriter {
            sender: Some(sender),
            thread,
        }
    }

    /// Writes what is queued and stops the thread.
    pub fn stop(&mut self) {
        self.sender.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for AuditWriter {
    fn drop(&mut self) {
        self.stop();
    }
}

impl AuditSink for AuditWriter {
    fn record(&self, record: AuditRecord) {
        let sent = self.sender.as_ref().is_some_and(|s| s.send(record).is_ok());
        if !sent {
            tracing::error!("audit writer stopped: record lost");
        }
    }
}

/// The writer sleeps between flushes and drains the queue without waiting on it: a
/// receiver blocked in `recv` would make every sender wake it (a system call and a
/// context switch per token request).
fn run(
    receiver: Receiver<AuditRecord>,
    log: &dyn AuditLog,
    clock: &dyn Clock,
    retention: Duration,
) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut last_prune: Option<Instant> = None;
    loop {
        if last_prune.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
            prune(log, clock, retention);
            last_prune = Some(Instant::now());
        }
        let mut open = true;
        while batch.len() < BATCH {
            match receiver.try_recv() {
                Ok(r) => batch.push(r),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        if !batch.is_empty() {
            let events = batch.len() as u64;
            let full = batch.len() == BATCH;
            match log.append_counted(&counted(&mut batch)) {
                Ok(()) => metrics::counter!("regauth_audit_records_total").increment(events),
                Err(e) => {
                    metrics::counter!("regauth_directory_errors_total").increment(1);
                    tracing::error!(error = %e, records = events, "audit records not written");
                }
            }
            batch.clear();
            if full {
                continue;
            }
        }
        if !open {
            return;
        }
        std::thread::sleep(FLUSH_EVERY);
    }
}

/// The batch with identical records folded into one with a count (docker asks for the
/// same token once per layer: those are one row, not dozens), in first-seen order.
fn counted(batch: &mut Vec<AuditRecord>) -> Vec<(AuditRecord, u64)> {
    let mut at: HashMap<AuditRecord, usize> = HashMap::with_capacity(batch.len());
    let mut out: Vec<(AuditRecord, u64)> = Vec::new();
    for record in batch.drain(..) {
        match at.get(&record) {
            Some(&i) => out[i].1 += 1,
            None => {
                at.insert(record.clone(), out.len());
                out.push((record, 1));
            }
        }
    }
    out
}

fn prune(log: &dyn AuditLog, clock: &dyn Clock, retention: Duration) {
    let before = clock
        .now()
        .saturating_sub(i64::try_from(retention.as_secs()).unwrap_or(i64::MAX));
    match log.prune(before) {
        Ok(0) => {}
        Ok(n) => tracing::info!(records = n, "audit records past their retention pruned"),
        Err(e) => tracing::error!(error = %e, "audit pruning failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::AuditEvent;

    fn record(at: i64, actor: &str) -> AuditRecord {
        AuditRecord {
            at,
            actor: actor.into(),
            subject: actor.into(),
            client_ip: None,
            event: AuditEvent::Trashed,
        }
    }

    #[test]
    fn identical_records_fold_into_one_with_a_count_in_first_seen_order() {
        let mut batch = vec![
            record(1, "a"),
            record(1, "b"),
            record(1, "a"),
            record(2, "a"),
            record(1, "a"),
        ];
        let out = counted(&mut batch);
        assert!(batch.is_empty());
        let got: Vec<(i64, &str, u64)> = out
            .iter()
            .map(|(r, n)| (r.at, r.actor.as_str(), *n))
            .collect();
        assert_eq!(got, [(1, "a", 3), (1, "b", 1), (2, "a", 1)]);
    }
}
