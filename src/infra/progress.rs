//! The progress sink of long storage operations (`directory copy`, `backup`, `restore`).
//!
//! The storage code (`infra::sqlite::backup`, `infra::postgres::{copy, snapshot}`) says
//! what it is doing and how far it got; it never decides how that is shown. The command
//! line draws it (`infra::cli::progress`: a bar on a terminal, plain lines otherwise);
//! the server and the tests pass `Silent`. Calls must stay cheap (one per row at most):
//! an implementation keeps counters and draws at its own pace, never per call.

/// What a phase counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Table rows.
    Rows,
    /// Bytes of a file being written.
    Bytes,
}

/// Where a long operation reports how far it got. `Sync`: a helper thread may advance
/// it (e.g. one watching a file SQLite writes).
pub trait Progress: Sync {
    /// A new phase starts: `name` (e.g. a table), `total` units expected (0: unknown).
    fn phase(&self, name: &str, total: u64, unit: Unit);
    /// `n` more units of the current phase are done.
    fn advance(&self, n: u64);
}

/// Shows nothing: the server's paths and tests.
pub struct Silent;

impl Progress for Silent {
    fn phase(&self, _name: &str, _total: u64, _unit: Unit) {}
    fn advance(&self, _n: u64) {}
}

/// Runs `work` while a helper thread reports the size of the file at `path` as it grows
/// (SQLite's `VACUUM INTO` is one call: the file it writes is what can be watched),
/// checking it every 100 ms; a phase of `total` bytes named `name`.
pub fn watching_file<T>(
    progress: &dyn Progress,
    name: &str,
    path: &std::path::Path,
    total: u64,
    work: impl FnOnce() -> T,
) -> T {
    use std::sync::mpsc;
    use std::time::Duration;
    progress.phase(name, total, Unit::Bytes);
    let (stop, stopped) = mpsc::channel::<()>();
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut seen = 0u64;
            while let Err(mpsc::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(Duration::from_millis(100))
            {
                let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
                if size > seen {
                    progress.advance(size - seen);
                    seen = size;
                }
            }
        });
        let out = work();
        drop(stop);
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[derive(Default)]
    struct Count(AtomicU64);

    impl Progress for Count {
        fn phase(&self, _name: &str, _total: u64, _unit: Unit) {}
        fn advance(&self, n: u64) {
            self.0.fetch_add(n, Ordering::Relaxed);
        }
    }

    #[test]
    fn a_watched_file_reports_its_growth() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("growing");
        let count = Count::default();
        watching_file(&count, "file", &path, 3000, || {
            for _ in 0..3 {
                use std::io::Write;
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .unwrap();
                f.write_all(&[0; 1000]).unwrap();
                std::thread::sleep(std::time::Duration::from_millis(150));
            }
        });
        let seen = count.0.load(Ordering::Relaxed);
        assert!((1000..=3000).contains(&seen), "{seen}");
    }
}
