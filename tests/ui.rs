//! Compile-fail and compile-pass cases for the macros, with reviewed `.stderr` snapshots.
//!
//! Regenerate snapshots with `TRYBUILD=overwrite cargo test --test ui`, then review them.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/derive/*.rs");
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/model/*.rs");
    t.pass("tests/ui/model_pass/*.rs");
}
