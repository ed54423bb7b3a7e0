//! The audit trail's writer thread: token-path records arrive on a bounded channel and
//! are appended in batches (one transaction per batch, at least every 100 ms), and
//! records older than the retention are pruned every hour. A full channel makes the
//! sender wait (back-pressure) rather than drop a record; stopping drains it.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::app::audit::AuditSink;
use crate::domain::audit::AuditRecord;
use crate::domain::ports::{AuditLog, Clock};

/// Records waiting at most; beyond, senders wait for the writer.
const CAPACITY: usize = 50_000;
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
            match log.append(&batch) {
                Ok(()) => {
                    metrics::counter!("regauth_audit_records_total").increment(batch.len() as u64)
                }
                Err(e) => {
                    metrics::counter!("regauth_directory_errors_total").increment(1);
                    tracing::error!(error = %e, records = batch.len(), "audit records not written");
                }
            }
            let full = batch.len() == BATCH;
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
