#!/usr/bin/env bash
# Builds one fuzz target with libFuzzer's coverage instrumentation on the pinned stable
# toolchain (no cargo-fuzz, no nightly: every flag below is a stable `-C` flag) and runs it
# at low priority with one job. Usage: ./run.sh TARGET [libFuzzer options...]
# Example: ./run.sh safetensors_header -max_total_time=600 -rss_limit_mb=2048
set -euo pipefail
target=$1
shift
cd "$(dirname "$0")"
# `--target` keeps the instrumentation off build scripts and proc macros (which do not link
# libFuzzer); `--cfg fuzzing` is what cargo-fuzz sets too.
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module \
 -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
 -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares \
 -Cdebug-assertions -Coverflow-checks -Ccodegen-units=16"
host=$(rustc -vV | sed -n 's/^host: //p')
nice -n 19 cargo build --release --target "$host" --bin "$target"
mkdir -p "corpus/$target" "artifacts/$target"
exec nice -n 19 "target/$host/release/$target" -artifact_prefix="artifacts/$target/" \
    "corpus/$target" "$@"
