//! How the process's allocator treats the large, short-lived arrays a forward or backward
//! pass makes.
//!
//! glibc's `malloc` serves blocks of 128 KiB and up (a threshold that then adapts) as fresh
//! memory maps and unmaps them on free, and gives the top of its heap back to the system
//! once more than twice that is free. A pass allocates and frees activations of megabytes,
//! so each one arrives as new pages the kernel zero-fills one fault at a time. Measured on
//! 2 MiB arrays (`4 x 128 x 1024` f32): an elementwise product took 0.8 ms with glibc's
//! defaults and 0.05 ms with the settings below; the whole forward of Penzai's medium model
//! went from 0.25 to 0.16 s. Freed blocks now stay with the process for reuse; the peak
//! resident memory of a pass is unchanged (the CLI's measurement, on the 1B-shaped model).
//!
//! [`Context::new`](crate::nn::Context::new) applies them once per process, so every model
//! call gets them; set `PENZAI_KEEP_LARGE_ALLOCATIONS=0` in the environment to leave the
//! allocator as it was. Other platforms and allocators are left alone.

use std::sync::Once;

/// The mmap and trim thresholds set: blocks up to 1 GiB come from the heap, and up to 1 GiB
/// of free heap top stays with the process.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const LIMIT: i32 = 1 << 30;

/// Keeps large allocations in the process's heap (glibc on Linux; elsewhere it does
/// nothing), once per process; see the [module docs](self) for why and how to opt out.
///
/// ```
/// penzai::heap::keep_large_allocations();
/// penzai::heap::keep_large_allocations(); // later calls do nothing
/// ```
pub fn keep_large_allocations() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("PENZAI_KEEP_LARGE_ALLOCATIONS").is_some_and(|v| v == "0") {
            return;
        }
        set_thresholds();
    });
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn set_thresholds() {
    // `mallopt` is glibc's; the `libc` crate's declaration is the same C function.
    unsafe extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
    }
    // glibc's parameter numbers (malloc.h): M_TRIM_THRESHOLD -1, M_MMAP_THRESHOLD -3.
    const M_TRIM_THRESHOLD: i32 = -1;
    const M_MMAP_THRESHOLD: i32 = -3;
    // SAFETY: `mallopt` takes two integers and sets allocator parameters (under the main
    // arena's lock); the values are in range, so it cannot fail in a way that matters.
    unsafe {
        mallopt(M_MMAP_THRESHOLD, LIMIT);
        mallopt(M_TRIM_THRESHOLD, LIMIT);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_thresholds() {}
