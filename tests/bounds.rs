//! Bounds on what grows with traffic, held in a process of its own so that a counting
//! allocator can see every byte still live: the metrics recorder (histogram samples kept
//! until upkeep folds them into buckets) stays flat however many requests it times.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

/// The system allocator, counting the bytes live at any moment.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        p
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn live_bytes() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// Two million timed requests, nobody scraping: what stays live is the buckets, not the
/// samples (16 MB of them as raw `f64`s).
#[test]
fn an_unscraped_histogram_stays_flat() {
    let every = Duration::from_millis(50);
    let handle = regauth::infra::metrics::install_with_upkeep(every).expect("the recorder");
    let histogram = metrics::histogram!("regauth_token_request_duration_seconds");
    let record = |n: usize| {
        for i in 0..n {
            histogram.record((i % 1000) as f64 * 1e-5);
        }
    };
    record(100_000);
    std::thread::sleep(every * 4);
    let before = live_bytes();
    let mut peak_after = 0;
    for _ in 0..20 {
        record(100_000);
        std::thread::sleep(every * 4);
        peak_after = peak_after.max(live_bytes());
    }
    let grown = peak_after - before;
    assert!(
        grown < 1 << 20,
        "two million samples left {grown} more bytes live (from {before})"
    );
    // The samples were counted, not lost.
    let text = handle.render();
    assert!(
        text.contains("regauth_token_request_duration_seconds_count 2100000"),
        "{text}"
    );
}
