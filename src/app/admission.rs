//! Admission control for password checks: argon2 is the one thing a caller can make
//! regauth spend seconds of CPU and megabytes of memory on without knowing a password,
//! so it runs on a bounded pool.
//!
//! - At most `workers` checks run at once (default: the number of cores), each in its
//!   own preallocated [`Scratch`], so memory stays flat however many logins arrive.
//! - At most `queue` more wait, each for at most `max_wait`; beyond that the caller hears
//!   "busy" at once (a 503 with `Retry-After`), never an unbounded wait.
//! - Identical checks in flight (same stored hash and offered password, keyed by a
//!   keyed digest) run once: the others wait for the same answer (single-flight).
//!
//! The waiting happens on the blocking pool's threads; the bound on waiters bounds them.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::domain::authn::password::Scratch;

/// The pool is full: come back later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many password checks waiting")]
pub struct Busy;

/// How many checks run and wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionLimits {
    pub workers: usize,
    pub queue: usize,
    pub max_wait: Duration,
}

impl Default for AdmissionLimits {
    fn default() -> AdmissionLimits {
        AdmissionLimits {
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            queue: 32,
            max_wait: Duration::from_secs(5),
        }
    }
}

/// What the pool is doing, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GateStats {
    pub running: usize,
    pub waiting: usize,
}

pub struct PasswordGate {
    limits: AdmissionLimits,
    state: Mutex<State>,
    freed: Condvar,
}

struct State {
    /// Working memory not in use; its length is how many more checks may start.
    idle: Vec<Scratch>,
    waiting: usize,
    flights: HashMap<[u8; 32], Arc<Flight>>,
}

/// One check in progress that others with the same key wait for.
struct Flight {
    answer: Mutex<Option<bool>>,
    done: Condvar,
}

impl Flight {
    fn wait(&self) -> bool {
        let mut answer = lock(&self.answer);
        loop {
            if let Some(ok) = *answer {
                return ok;
            }
            answer = self.done.wait(answer).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn finish(&self, ok: bool) {
        *lock(&self.answer) = Some(ok);
        self.done.notify_all();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The state stays consistent across a panic (every change is one assignment), so
    // a poisoned lock is still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl PasswordGate {
    pub fn new(limits: AdmissionLimits) -> PasswordGate {
        let workers = limits.workers.max(1);
        PasswordGate {
            limits: AdmissionLimits { workers, ..limits },
            state: Mutex::new(State {
                idle: (0..workers).map(|_| Scratch::new()).collect(),
                waiting: 0,
                flights: HashMap::new(),
            }),
            freed: Condvar::new(),
        }
    }

    pub fn limits(&self) -> AdmissionLimits {
        self.limits
    }

    pub fn stats(&self) -> GateStats {
        let st = lock(&self.state);
        GateStats {
            running: self.limits.workers - st.idle.len(),
            waiting: st.waiting,
        }
    }

    /// Runs `work` in one idle pooled scratch, outside admission: for start-up work
    /// (the dummy hash) that must not allocate 19 MiB of its own and leave the
    /// allocator holding it. Runs in a scratch of its own if none is idle, which is
    /// then dropped: the pool never grows past `workers`.
    pub fn with_idle_scratch<T>(&self, work: impl FnOnce(&mut Scratch) -> T) -> T {
        let Some(mut scratch) = lock(&self.state).idle.pop() else {
            return work(&mut Scratch::new());
        };
        let out = work(&mut scratch);
        lock(&self.state).idle.push(scratch);
        self.freed.notify_one();
        out
    }

    /// Runs `check` in a pooled scratch, or shares the answer of an identical check in
    /// flight; `Busy` when the queue is full or the wait too long.
    pub fn run(
        &self,
        key: [u8; 32],
        check: impl FnOnce(&mut Scratch) -> bool,
    ) -> Result<bool, Busy> {
        let mut st = lock(&self.state);
        if let Some(flight) = st.flights.get(&key).cloned() {
            drop(st);
            return Ok(flight.wait());
        }
        if st.idle.is_empty() {
            if st.waiting >= self.limits.queue {
                return Err(Busy);
            }
            st.waiting += 1;
            let deadline = Instant::now() + self.limits.max_wait;
            while st.idle.is_empty() {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    st.waiting -= 1;
                    return Err(Busy);
                }
                st = self
                    .freed
                    .wait_timeout(st, left)
                    .map(|(g, _)| g)
                    .unwrap_or_else(|p| p.into_inner().0);
            }
            st.waiting -= 1;
            // The same check may have started while this one waited.
            if let Some(flight) = st.flights.get(&key).cloned() {
                drop(st);
                self.freed.notify_one();
                return Ok(flight.wait());
            }
        }
        let Some(scratch) = st.idle.pop() else {
            return Err(Busy);
        };
        let flight = Arc::new(Flight {
            answer: Mutex::new(None),
            done: Condvar::new(),
        });
        st.flights.insert(key, flight.clone());
        drop(st);
        // Hands the scratch back and answers the followers even if `check` panics.
        let mut running = Running {
            gate: self,
            key,
            scratch: Some(scratch),
            flight,
            answer: false,
        };
        let ok = match running.scratch.as_mut() {
            Some(s) => check(s),
            None => false,
        };
        running.answer = ok;
        Ok(ok)
    }
}

struct Running<'a> {
    gate: &'a PasswordGate,
    key: [u8; 32],
    scratch: Option<Scratch>,
    flight: Arc<Flight>,
    answer: bool,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let mut st = lock(&self.gate.state);
        if let Some(s) = self.scratch.take() {
            st.idle.push(s);
        }
        st.flights.remove(&self.key);
        drop(st);
        self.gate.freed.notify_one();
        self.flight.finish(self.answer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Barrier;

    fn gate(workers: usize, queue: usize) -> Arc<PasswordGate> {
        Arc::new(PasswordGate::new(AdmissionLimits {
            workers,
            queue,
            max_wait: Duration::from_secs(5),
        }))
    }

    #[test]
    fn identical_checks_in_flight_run_once() {
        let g = gate(2, 100);
        let runs = Arc::new(AtomicUsize::new(0));
        let start = Arc::new(Barrier::new(50));
        let handles: Vec<_> = (0..50)
            .map(|_| {
                let (g, runs, start) = (g.clone(), runs.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    g.run([7; 32], |_| {
                        runs.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(200));
                        true
                    })
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), Ok(true));
        }
        let n = runs.load(Ordering::SeqCst);
        assert!(n <= 2, "{n} runs for one credential");
    }

    #[test]
    fn at_most_workers_run_and_the_queue_overflows_into_busy() {
        let g = gate(2, 3);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let start = Arc::new(Barrier::new(20));
        let handles: Vec<_> = (0..20u8)
            .map(|i| {
                let (g, running, peak, start) =
                    (g.clone(), running.clone(), peak.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    g.run([i; 32], |_| {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(100));
                        running.fetch_sub(1, Ordering::SeqCst);
                        false
                    })
                })
            })
            .collect();
        let answers: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let busy = answers.iter().filter(|a| **a == Err(Busy)).count();
        let done = answers.iter().filter(|a| **a == Ok(false)).count();
        assert!(peak.load(Ordering::SeqCst) <= 2);
        assert!((2..=5).contains(&done), "{done} ran");
        assert_eq!(busy + done, 20);
        assert_eq!(g.stats(), GateStats::default(), "everything handed back");
    }

    #[test]
    fn a_wait_that_is_too_long_is_busy() {
        let g = Arc::new(PasswordGate::new(AdmissionLimits {
            workers: 1,
            queue: 10,
            max_wait: Duration::from_millis(50),
        }));
        let g2 = g.clone();
        let slow = std::thread::spawn(move || {
            g2.run([1; 32], |_| {
                std::thread::sleep(Duration::from_millis(400));
                true
            })
        });
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(g.run([2; 32], |_| true), Err(Busy));
        assert_eq!(slow.join().unwrap(), Ok(true));
        assert_eq!(g.run([2; 32], |_| true), Ok(true));
    }

    #[test]
    fn a_panicking_check_hands_its_memory_back() {
        let g = gate(1, 1);
        let g2 = g.clone();
        let _ = std::thread::spawn(move || g2.run([3; 32], |_| panic!("boom"))).join();
        assert_eq!(g.stats(), GateStats::default());
        assert_eq!(g.run([3; 32], |_| true), Ok(true));
    }
}
