//! The audit trail's writer thread: token-path records arrive on a bounded channel and
//! are appended in batches (one transaction per batch, at least every 100 ms, at once
//! when a quarter of the queue is waiting), and records older than the retention are
//! pruned every hour. Nothing is dropped: a full channel hands the record back to an
//! event-loop caller (`try_record`: its request moves to the blocking pool) and makes a
//! blocking-pool caller wait; stopping drains it. A batch the directory cannot take (a
//! full or read-only disk) is held and written with the next one (`Held`), up to a
//! bound past which the oldest distinct records stay and the rest are counted dropped.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::app::audit::{AuditSink, Full};
use crate::domain::audit::AuditRecord;
use crate::domain::ports::{AuditLog, Clock};

/// Records waiting at most; beyond, senders wait for the writer (off the event loop).
/// The queue's slots are allocated up front, so this is memory held from start.
const CAPACITY: usize = 8_192;
/// Records waiting that wake the writer before its `FLUSH_EVERY` sleep ends: once per
/// crossing, so a busy server costs one wake-up per 2,048 records, an idle one none.
const WAKE_AT: usize = CAPACITY / 4;
/// Most records in one transaction.
const BATCH: usize = 2_000;
/// Longest a record waits before its batch is written.
const FLUSH_EVERY: Duration = Duration::from_millis(100);
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

pub struct AuditWriter {
    sender: Option<SyncSender<AuditRecord>>,
    thread: Option<JoinHandle<()>>,
    /// Records sent and not yet taken by the writer.
    queued: Arc<AtomicUsize>,
}

impl AuditWriter {
    /// Starts the writer; `retention` is how long records are kept.
    pub fn start(
        log: Arc<dyn AuditLog>,
        clock: Arc<dyn Clock>,
        retention: Duration,
    ) -> AuditWriter {
        let (sender, receiver) = sync_channel(CAPACITY);
        let queued = Arc::new(AtomicUsize::new(0));
        let inbox = Inbox {
            receiver,
            queued: queued.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("regauth-audit".into())
            .spawn(move || run(inbox, log.as_ref(), clock.as_ref(), retention))
            .ok();
        if thread.is_none() {
            tracing::error!("cannot start the audit writer thread");
        }
        AuditWriter {
            sender: Some(sender),
            thread,
            queued,
        }
    }

    /// Counts a record in before it is sent (so the writer never takes more than was
    /// counted) and wakes the writer when the queue crosses `WAKE_AT`.
    fn counting_in(&self) {
        if self.queued.fetch_add(1, Ordering::Relaxed) + 1 == WAKE_AT {
            self.wake();
        }
    }

    /// A record counted in and not sent after all.
    fn not_sent(&self) {
        self.queued.fetch_sub(1, Ordering::Relaxed);
    }

    fn wake(&self) {
        if let Some(t) = &self.thread {
            t.thread().unpark();
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
        self.counting_in();
        let sent = self.sender.as_ref().is_some_and(|s| s.send(record).is_ok());
        if !sent {
            self.not_sent();
            tracing::error!("audit writer stopped: record lost");
        }
    }

    fn try_record(&self, record: AuditRecord) -> Result<(), Full> {
        let Some(sender) = &self.sender else {
            return Err(Full);
        };
        self.counting_in();
        match sender.try_send(record) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.not_sent();
                if let TrySendError::Full(_) = e {
                    self.wake();
                }
                Err(Full)
            }
        }
    }
}

/// The writer's end: the channel and the count it takes records off.
struct Inbox {
    receiver: Receiver<AuditRecord>,
    queued: Arc<AtomicUsize>,
}

/// The writer sleeps between flushes and drains the queue without waiting on it: a
/// receiver blocked in `recv` would make every sender wake it (a system call and a
/// context switch per token request); senders wake it only at `WAKE_AT`.
fn run(inbox: Inbox, log: &dyn AuditLog, clock: &dyn Clock, retention: Duration) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut held = Held::default();
    let mut last_prune: Option<Instant> = None;
    loop {
        if last_prune.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
            prune(log, clock, retention);
            last_prune = Some(Instant::now());
        }
        let mut open = true;
        while batch.len() < BATCH {
            match inbox.receiver.try_recv() {
                Ok(r) => batch.push(r),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        inbox.queued.fetch_sub(batch.len(), Ordering::Relaxed);
        let full = batch.len() == BATCH;
        if !batch.is_empty() || !held.rows.is_empty() {
            let events = batch.len() as u64;
            let rows = held.with(counted(&mut batch));
            match log.append_counted(&rows) {
                Ok(()) => {
                    metrics::counter!("regauth_audit_records_total")
                        .increment(events + held.events);
                    held.written();
                }
                Err(e) => held.keep(rows, events, &e),
            }
            if full {
                continue;
            }
        }
        if !open {
            held.lost_at_stop();
            return;
        }
        std::thread::park_timeout(FLUSH_EVERY);
    }
}

/// Distinct records a failed write keeps for the next attempt at most (identical ones
/// fold into one with a count, so a steady stream of token requests is a few rows).
const HELD_MAX: usize = 20_000;
/// Longest between two log lines about the same failing streak.
const REPEAT_LOG_EVERY: Duration = Duration::from_secs(60);

/// What the audit file could not take (full, read-only, failing) yet: written with the
/// next batch, so an outage loses no record up to `HELD_MAX` distinct ones, while the
/// queue keeps draining and token requests never wait for the disk.
#[derive(Default)]
struct Held {
    rows: Vec<(AuditRecord, u64)>,
    /// Records (counted one by one) in `rows`.
    events: u64,
    /// When the failing streak was last logged.
    logged: Option<Instant>,
}

impl Held {
    /// `fresh` with what is held in front, identical records folded.
    fn with(&mut self, fresh: Vec<(AuditRecord, u64)>) -> Vec<(AuditRecord, u64)> {
        if self.rows.is_empty() {
            return fresh;
        }
        fold(std::mem::take(&mut self.rows).into_iter().chain(fresh))
    }

    fn written(&mut self) {
        if self.logged.take().is_some() {
            tracing::warn!(records = self.events, "audit records written again");
        }
        self.events = 0;
    }

    fn keep(&mut self, mut rows: Vec<(AuditRecord, u64)>, fresh: u64, e: &dyn std::fmt::Display) {
        metrics::counter!("regauth_directory_errors_total").increment(1);
        let dropped: u64 = rows.iter().skip(HELD_MAX).map(|(_, n)| n).sum();
        rows.truncate(HELD_MAX);
        self.events = self.events + fresh - dropped;
        self.rows = rows;
        if dropped > 0 {
            metrics::counter!("regauth_audit_records_dropped_total").increment(dropped);
        }
        if dropped > 0 || self.logged.is_none_or(|t| t.elapsed() >= REPEAT_LOG_EVERY) {
            self.logged = Some(Instant::now());
            tracing::error!(
                error = %e,
                held = self.events,
                dropped,
                "audit records not written yet; held in memory and written once the directory takes them"
            );
        }
    }

    fn lost_at_stop(&self) {
        if self.events > 0 {
            metrics::counter!("regauth_audit_records_dropped_total").increment(self.events);
            tracing::error!(
                records = self.events,
                "audit records lost at stop: the directory never took them"
            );
        }
    }
}

/// The batch with identical records folded into one with a count (docker asks for the
/// same token once per layer: those are one row, not dozens), in first-seen order.
fn counted(batch: &mut Vec<AuditRecord>) -> Vec<(AuditRecord, u64)> {
    fold(batch.drain(..).map(|record| (record, 1)))
}

/// Records with counts, identical ones folded into the first, in first-seen order.
fn fold(rows: impl Iterator<Item = (AuditRecord, u64)>) -> Vec<(AuditRecord, u64)> {
    let (hint, _) = rows.size_hint();
    let mut at: HashMap<AuditRecord, usize> = HashMap::with_capacity(hint);
    let mut out: Vec<(AuditRecord, u64)> = Vec::new();
    for (record, n) in rows {
        match at.get(&record) {
            Some(&i) => out[i].1 += n,
            None => {
                at.insert(record.clone(), out.len());
                out.push((record, n));
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

    /// An audit log whose writes wait until the gate opens, counting what they write.
    #[derive(Default)]
    struct GatedLog {
        open: std::sync::Mutex<bool>,
        opened: std::sync::Condvar,
        /// A write has reached the gate.
        entered: std::sync::atomic::AtomicBool,
        written: AtomicUsize,
    }

    impl GatedLog {
        fn open(&self) {
            *self.open.lock().unwrap() = true;
            self.opened.notify_all();
        }

        fn wait_until_entered(&self) {
            let until = Instant::now() + Duration::from_secs(30);
            while !self.entered.load(Ordering::SeqCst) {
                assert!(Instant::now() < until, "the writer never wrote");
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }

    /// Opens the gate when dropped: a failed assertion then fails the test instead of
    /// leaving the writer's join waiting on a closed gate.
    struct OpenOnDrop(Arc<GatedLog>);

    impl Drop for OpenOnDrop {
        fn drop(&mut self) {
            self.0.open();
        }
    }

    impl AuditLog for GatedLog {
        fn append_counted(
            &self,
            records: &[(AuditRecord, u64)],
        ) -> crate::domain::ports::DirResult<()> {
            self.entered.store(true, Ordering::SeqCst);
            let mut open = self.open.lock().unwrap();
            while !*open {
                open = self.opened.wait(open).unwrap();
            }
            let n: u64 = records.iter().map(|(_, n)| n).sum();
            self.written.fetch_add(n as usize, Ordering::SeqCst);
            Ok(())
        }
        fn query(
            &self,
            _: &crate::domain::audit::AuditFilter,
        ) -> crate::domain::ports::DirResult<Vec<crate::domain::ports::AuditEntry>> {
            Ok(Vec::new())
        }
        fn prune(&self, _: i64) -> crate::domain::ports::DirResult<usize> {
            Ok(0)
        }
    }

    /// A stalled disk: `try_record` says `Full` once the queue is full (the event loop's
    /// answer: its request moves to the blocking pool) instead of waiting, `record` waits for room, and when the
    /// disk comes back every record accepted either way is written, none twice.
    #[test]
    fn a_full_queue_says_full_and_loses_nothing_it_took() {
        let log = Arc::new(GatedLog::default());
        let clock = Arc::new(crate::app::test_doubles::FixedClock::at(1));
        let writer = Arc::new(AuditWriter::start(
            log.clone(),
            clock,
            Duration::from_secs(3600),
        ));
        let _open_at_end = OpenOnDrop(log.clone());
        // The disk stalls on the first record: the writer holds it at the gate, so the
        // queue's whole capacity is what is left (a writer still draining while the
        // queue fills would make room the test does not expect).
        writer.try_record(record(-2, "first")).unwrap();
        log.wait_until_entered();
        let mut accepted = 1;
        let mut handed_back = 0;
        for i in 0..(CAPACITY + 1_000) {
            match writer.try_record(record(i as i64, "a")) {
                Ok(()) => accepted += 1,
                Err(Full) => handed_back += 1,
            }
        }
        assert_eq!(handed_back, 1_000);
        assert_eq!(accepted, CAPACITY + 1);
        // A blocking-pool caller waits for room rather than losing its record.
        let waiting = {
            let writer = writer.clone();
            std::thread::spawn(move || writer.record(record(-1, "waited")))
        };
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            !waiting.is_finished(),
            "record() waits while the queue is full"
        );
        log.open();
        waiting.join().unwrap();
        let mut writer = Arc::try_unwrap(writer).ok().expect("the only owner");
        writer.stop();
        assert_eq!(log.written.load(Ordering::SeqCst), accepted + 1);
    }

    /// An audit log on a disk that refuses writes (full, read-only) until `heal`.
    #[derive(Default)]
    struct RefusingLog {
        healed: std::sync::atomic::AtomicBool,
        refused: AtomicUsize,
        written: std::sync::Mutex<Vec<(AuditRecord, u64)>>,
    }

    impl AuditLog for RefusingLog {
        fn append_counted(
            &self,
            records: &[(AuditRecord, u64)],
        ) -> crate::domain::ports::DirResult<()> {
            if !self.healed.load(Ordering::SeqCst) {
                self.refused.fetch_add(1, Ordering::SeqCst);
                return Err(crate::domain::ports::DirectoryError::Backend(
                    "the directory's disk is full".into(),
                ));
            }
            self.written.lock().unwrap().extend_from_slice(records);
            Ok(())
        }
        fn query(
            &self,
            _: &crate::domain::audit::AuditFilter,
        ) -> crate::domain::ports::DirResult<Vec<crate::domain::ports::AuditEntry>> {
            Ok(Vec::new())
        }
        fn prune(&self, _: i64) -> crate::domain::ports::DirResult<usize> {
            Ok(0)
        }
    }

    /// Records taken while the disk refuses writes are held, not lost, and written once
    /// it takes them again; the queue keeps draining meanwhile (callers never wait).
    #[test]
    fn records_the_disk_refused_are_written_once_it_takes_them() {
        let log = Arc::new(RefusingLog::default());
        let clock = Arc::new(crate::app::test_doubles::FixedClock::at(1));
        let mut writer = AuditWriter::start(log.clone(), clock, Duration::from_secs(3600));
        for i in 0..(3 * CAPACITY) {
            // Never `Full`: the writer drains into what it holds.
            while writer.try_record(record((i % 7) as i64, "a")).is_err() {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        writer.try_record(record(100, "b")).unwrap();
        let until = Instant::now() + Duration::from_secs(30);
        while log.refused.load(Ordering::SeqCst) < 2 {
            assert!(Instant::now() < until, "the writer never retried");
            std::thread::sleep(Duration::from_millis(5));
        }
        log.healed.store(true, Ordering::SeqCst);
        writer.stop();
        let written = log.written.lock().unwrap();
        let total: u64 = written.iter().map(|(_, n)| n).sum();
        assert_eq!(total, 3 * CAPACITY as u64 + 1, "every record, once");
        assert!(written.iter().any(|(r, n)| r.actor == "b" && *n == 1));
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
