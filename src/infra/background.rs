//! Work that runs beside a serving server on the same machine (`directory backup`)
//! takes the CPU and the disk only when the server does not want them.

/// Lowers this process's CPU priority to the lowest (`nice 19`) and its I/O priority
/// to the lowest of the best-effort class (`ionice -c2 -n7`), so a backup taken on the
/// machine that serves costs token requests little (docs/performance.md). Threads
/// started afterwards inherit both. Best effort: a refusal leaves normal priority.
pub fn yield_to_serving() {
    // SAFETY: plain system calls on the calling thread with constant arguments; no
    // memory is shared with the kernel.
    unsafe {
        let _ = libc::setpriority(libc::PRIO_PROCESS, 0, 19);
        // ioprio_set(IOPRIO_WHO_PROCESS, this thread, IOPRIO_PRIO_VALUE(BE, 7)).
        const IOPRIO_WHO_PROCESS: libc::c_long = 1;
        const BEST_EFFORT_LOWEST: libc::c_long = (2 << 13) | 7;
        let _ = libc::syscall(
            libc::SYS_ioprio_set,
            IOPRIO_WHO_PROCESS,
            0,
            BEST_EFFORT_LOWEST,
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_backup_process_ends_at_the_lowest_cpu_priority() {
        // In a thread of its own: nice is per thread on Linux, and the test runner's
        // other threads keep theirs.
        let nice = std::thread::spawn(|| {
            super::yield_to_serving();
            // SAFETY: reads this thread's nice value.
            unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }
        })
        .join()
        .unwrap();
        assert_eq!(nice, 19);
    }
}
