//! After the first `Context`, large arrays reuse the process's heap instead of arriving as
//! freshly mapped pages (glibc on Linux only): counted as minor page faults, not timed.

/// The process's minor page faults so far (field 10 of `/proc/self/stat`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn minor_faults() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // The command name (field 2) is in parentheses and may hold spaces.
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    after_name.split(' ').nth(7).unwrap().parse().unwrap()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn large_arrays_reuse_the_heap_after_the_first_context() {
    let _ = penzai::prelude::Context::new();
    // 52 arrays of 4 MiB, each written in full, freed four at a time (as a pass frees its
    // activations): 1,024 pages each.
    let churn = || {
        for i in 0..13 {
            let live: Vec<Vec<f32>> = (0..4).map(|j| vec![(i + j) as f32; 1 << 20]).collect();
            std::hint::black_box(&live);
        }
    };
    churn();
    let before = minor_faults();
    churn();
    let faults = minor_faults() - before;
    // With glibc's defaults the freed arrays go back to the system and return as fresh
    // pages: about 53,000 faults.
    assert!(
        faults < 1_000,
        "{faults} minor page faults for 52 arrays of 4 MiB"
    );
}
