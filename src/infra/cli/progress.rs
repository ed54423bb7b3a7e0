//! How the command line shows a long operation's progress, on standard error only
//! (standard output keeps the lines scripts read): an `indicatif` bar when stderr is a
//! terminal, plain periodic lines ("directory copy: users 12000/50000 (24%)") when it
//! is not, and one summary line at the end.
//!
//! `REGAUTH_PROGRESS` chooses: `auto` (the default: a bar on a terminal, else lines),
//! `lines` (lines even on a terminal), `never` (only the summary line).
//! `REGAUTH_PROGRESS_INTERVAL_MS` sets how often a plain line may be written (default
//! 2000 ms; tests shorten it). The storage code only bumps counters; one helper thread
//! draws them every 100 ms, so neither the bar nor the lines slow the work down.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::CliError;
use crate::infra::progress::{Progress, Unit};

/// How often the helper thread looks at the counters (and the bar is redrawn), at most;
/// a shorter line interval shortens it too.
const TICK: Duration = Duration::from_millis(100);
/// The default shortest time between two plain lines.
const LINE_EVERY: Duration = Duration::from_secs(2);

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Bar,
    Lines,
    Never,
}

/// The current phase as the storage code last said it.
struct Shared {
    phase: Mutex<(String, Unit)>,
    total: AtomicU64,
    done: AtomicU64,
}

impl Shared {
    /// "users 12000/50000 (24%)", "snapshot 3.1/12.0 MiB (25%)", or the bare name.
    fn describe(&self) -> String {
        let (name, unit) = match self.phase.lock() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        let (total, done) = (
            self.total.load(Ordering::Relaxed),
            self.done.load(Ordering::Relaxed),
        );
        if total == 0 {
            return name;
        }
        let percent = (done.min(total) * 100) / total;
        match unit {
            Unit::Rows => format!("{name} {done}/{total} ({percent}%)"),
            Unit::Bytes => {
                let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
                format!(
                    "{name} {:.1}/{:.1} MiB ({percent}%)",
                    mib(done.min(total)),
                    mib(total)
                )
            }
        }
    }
}

/// The progress of one command (`what`: "directory copy"), drawn until `finish`.
pub struct Reporter {
    what: &'static str,
    shared: Arc<Shared>,
    started: Instant,
    ticker: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
}

impl Reporter {
    /// A reporter as `REGAUTH_PROGRESS` and stderr say; a value it does not know is a
    /// one-line error before anything runs.
    pub fn start(what: &'static str) -> Result<Reporter, CliError> {
        let mode = match std::env::var("REGAUTH_PROGRESS").as_deref() {
            Err(_) | Ok("" | "auto") => {
                if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                    Mode::Bar
                } else {
                    Mode::Lines
                }
            }
            Ok("lines") => Mode::Lines,
            Ok("never") => Mode::Never,
            Ok(other) => {
                return Err(CliError::Failed(format!(
                    "REGAUTH_PROGRESS={other:?}: expected auto, lines or never"
                )))
            }
        };
        let every = match std::env::var("REGAUTH_PROGRESS_INTERVAL_MS") {
            Err(_) => LINE_EVERY,
            Ok(ms) => ms.parse().map(Duration::from_millis).map_err(|_| {
                CliError::Failed(format!(
                    "REGAUTH_PROGRESS_INTERVAL_MS={ms:?}: expected a number of milliseconds"
                ))
            })?,
        };
        let shared = Arc::new(Shared {
            phase: Mutex::new((String::from("starting"), Unit::Rows)),
            total: AtomicU64::new(0),
            done: AtomicU64::new(0),
        });
        let started = Instant::now();
        let tick = TICK.min(every.max(Duration::from_millis(1)));
        let ticker = match mode {
            Mode::Never => None,
            Mode::Bar => Some(spawn(tick, bar_loop(what, shared.clone()))),
            Mode::Lines => Some(spawn(
                tick,
                lines_loop(what, shared.clone(), started, every),
            )),
        };
        Ok(Reporter {
            what,
            shared,
            started,
            ticker,
        })
    }

    /// Stops drawing (the bar is cleared) and writes the summary line: what was done,
    /// `tables` tables, `rows` rows, in how many seconds.
    pub fn finish(mut self, done: &str, tables: usize, rows: u64) {
        self.stop();
        let secs = self.started.elapsed().as_secs_f64();
        let _ = writeln!(
            std::io::stderr(),
            "{}: {tables} tables, {rows} rows {done} in {secs:.1} s",
            self.what
        );
    }

    fn stop(&mut self) {
        if let Some((stop, thread)) = self.ticker.take() {
            drop(stop);
            let _ = thread.join();
        }
    }
}

/// A failed command ends without a summary, its bar cleared: its error is the last line.
impl Drop for Reporter {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Progress for Reporter {
    fn phase(&self, name: &str, total: u64, unit: Unit) {
        if let Ok(mut p) = self.shared.phase.lock() {
            *p = (name.to_string(), unit);
        }
        self.shared.total.store(total, Ordering::Relaxed);
        self.shared.done.store(0, Ordering::Relaxed);
    }

    fn advance(&self, n: u64) {
        self.shared.done.fetch_add(n, Ordering::Relaxed);
    }
}

/// What the helper thread does each tick; its last call, when the command is done, gets
/// `true`.
type Tick = Box<dyn FnMut(bool) + Send>;

/// Runs `tick` every `every` until the sender is dropped, then once more with `true`.
fn spawn(every: Duration, mut tick: Tick) -> (mpsc::Sender<()>, JoinHandle<()>) {
    let (stop, stopped) = mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
            tick(false);
        }
        tick(true);
    });
    (stop, thread)
}

/// The bar: the phase's counters every tick, cleared at the end.
fn bar_loop(what: &'static str, shared: Arc<Shared>) -> Tick {
    let bar = ProgressBar::with_draw_target(Some(1), ProgressDrawTarget::stderr_with_hz(10))
        .with_prefix(what);
    let style = ProgressStyle::with_template("{prefix}: [{bar:20}] {wide_msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    Box::new(move |last| {
        if last {
            bar.finish_and_clear();
            return;
        }
        let total = shared.total.load(Ordering::Relaxed);
        let done = shared.done.load(Ordering::Relaxed).min(total);
        // Length and position at once: a new phase never flashes a full bar.
        bar.update(|state| {
            state.set_len(total.max(1));
            state.set_pos(done);
        });
        bar.set_message(shared.describe());
    })
}

/// Plain lines: one when `every` has passed since the last, or a tenth of the time
/// spent so far, whichever is longer (a long run's log stays a few dozen lines).
fn lines_loop(what: &'static str, shared: Arc<Shared>, started: Instant, every: Duration) -> Tick {
    let mut next = started + every;
    Box::new(move |last| {
        let now = Instant::now();
        if last || now < next {
            return;
        }
        let _ = writeln!(std::io::stderr(), "{what}: {}", shared.describe());
        next = now + every.max(started.elapsed() / 10);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phase_is_described_with_its_share() {
        let shared = Shared {
            phase: Mutex::new(("users".into(), Unit::Rows)),
            total: AtomicU64::new(50_000),
            done: AtomicU64::new(12_000),
        };
        assert_eq!(shared.describe(), "users 12000/50000 (24%)");
        *shared.phase.lock().unwrap() = ("snapshot".into(), Unit::Bytes);
        shared.total.store(4 * 1024 * 1024, Ordering::Relaxed);
        shared.done.store(5 * 1024 * 1024, Ordering::Relaxed);
        assert_eq!(shared.describe(), "snapshot 4.0/4.0 MiB (100%)");
        shared.total.store(0, Ordering::Relaxed);
        assert_eq!(shared.describe(), "snapshot");
    }
}
