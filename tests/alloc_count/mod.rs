//! A counting global allocator for the decode-allocation tests: a test binary that declares
//! `mod alloc_count;` counts the allocations made on the thread that turned counting on
//! (kernels' worker threads are left out: the tests are about what the decode loop itself
//! allocates).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
    static BYTES: Cell<usize> = const { Cell::new(0) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = ON.try_with(|on| {
        if on.get() {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
            let _ = BYTES.try_with(|b| b.set(b.get() + size));
            let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
        }
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// What this thread allocated between two calls of [`take`].
#[derive(Clone, Copy, Debug)]
pub struct Counts {
    /// Allocations (a `realloc` counts as one).
    pub count: usize,
    /// Bytes asked for in all.
    #[allow(dead_code)] // read by one of the two test binaries
    pub bytes: usize,
    /// The largest single allocation.
    pub largest: usize,
}

/// The counts since the last call, and counting afresh from now on.
pub fn take() -> Counts {
    let counts = Counts {
        count: COUNT.with(|c| c.replace(0)),
        bytes: BYTES.with(|c| c.replace(0)),
        largest: LARGEST.with(|l| l.replace(0)),
    };
    ON.with(|on| on.set(true));
    counts
}

/// Stops counting on this thread.
pub fn stop() {
    ON.with(|on| on.set(false));
}
