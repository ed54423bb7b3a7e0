//! A small tokio runtime owned by a backend whose driver is async (PostgreSQL, the
//! Synapse client) behind synchronous ports: `block_on` drives a future on the calling
//! thread, whatever thread it is (a plain one, the HTTP server's blocking pool, or an
//! event loop of the server's own runtime, where tokio's `block_on` refuses to run),
//! with this runtime only *entered*, so the connections it opens and the timers it sets
//! live on its own threads.

use std::future::Future;

pub struct OwnRuntime(Option<tokio::runtime::Runtime>);

impl OwnRuntime {
    /// Two worker threads named `name`.
    pub fn new(name: &str) -> std::io::Result<OwnRuntime> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(name)
            .enable_all()
            .build()?;
        Ok(OwnRuntime(Some(rt)))
    }

    /// Runs `f` to completion on this thread; `None` once the runtime is gone.
    pub fn block_on<T>(&self, f: impl Future<Output = T>) -> Option<T> {
        let rt = self.0.as_ref()?;
        let _entered = rt.enter();
        Some(futures_executor::block_on(f))
    }

    /// Enters the runtime for code that spawns or sets timers outside `block_on`.
    pub fn enter(&self) -> Option<tokio::runtime::EnterGuard<'_>> {
        self.0.as_ref().map(|rt| rt.enter())
    }
}

/// Shut down without waiting: dropping a runtime waits for its tasks otherwise, which a
/// caller on an async thread may not.
impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}
