//! Prints one JSON object per benchmark case, named like the Penzai baseline's cases
//! (`/work/shared/reference/penzai-baseline.md`), so the two can be compared side by side.
//! The same lines as `penzai bench` with no `--model` (this example runs that code).
//!
//! Run with `cargo run --release --example bench_json` (add `-- --quick` for fewer repeats).
//! Each `seconds` is the median of `repeats` timed calls; `first` cases time one cold call.

// The CLI's bench module; this example uses only its baseline cases.
#[allow(dead_code)]
#[path = "../src/bin/penzai/bench.rs"]
mod bench;

fn main() -> anyhow::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    bench::baseline_cases(quick, &mut |line| {
        println!("{line}");
        Ok(())
    })
}
