//! Every example runs to the end, in a fresh folder, and writes its pages there.
//!
//! `cargo test` builds the examples (unoptimized) next to the test binaries before it runs
//! any test, so this runs those binaries instead of building them again. Running only this
//! test (`cargo test --test examples_run`) does not build them: run `cargo build --examples`
//! first.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Where cargo put the example binaries of this build: `target/<profile>/examples`, beside
/// `target/<profile>/deps` that holds this test.
fn examples_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary has a path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary sits in target/<profile>/deps");
    profile_dir.join("examples")
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Runs the example `name` with `args` in a new temporary folder; checks that it succeeds,
/// that each page in `pages` is a Treescope page there, and that its output names the page.
/// Returns the output.
fn run_example(name: &str, args: &[&str], pages: &[&str]) -> String {
    let binary = examples_dir().join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} is missing: `cargo test` builds the examples; after building only the tests, run \
         `cargo build --examples`",
        binary.display()
    );
    // Tests run in parallel, some on the same example: each run gets its own folder.
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "penzai-example-{name}-{}-{run}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the example's folder");
    let output = Command::new(&binary)
        .args(args)
        .current_dir(&dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("start the example");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "example {name} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    for page in pages {
        let path = dir.join(page);
        let html = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("example {name} did not write {}: {e}", path.display()));
        assert!(
            html.starts_with("<!doctype html>"),
            "{page} is not an HTML page"
        );
        assert!(
            html.contains("pzt-data") || html.contains("pza-"),
            "{page} holds no viewer"
        );
        assert!(
            stdout.contains(page),
            "example {name} does not say where {page} is:\n{stdout}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
    stdout
}

#[test]
fn quickstart_builds_with_model_macro_and_writes_its_page() {
    let out = run_example("quickstart", &[], &["quickstart.html"]);
    assert!(out.contains("captured the residual stream"), "{out}");
    assert!(out.contains("ablating head 1 of block 0"), "{out}");
}

#[test]
fn quickstart_on_the_gpt2_checkpoint_shows_tokens() {
    let out = run_example("quickstart", &[&fixture("gpt2-text")], &["quickstart.html"]);
    assert!(
        out.contains("next-token prediction: \""),
        "decoded tokens: {out}"
    );
}

#[test]
fn named_axes_runs() {
    let out = run_example("named_axes", &[], &["named_axes.html"]);
    assert!(out.contains("cannot contract over \"embedding\""), "{out}");
}

#[test]
fn selectors_runs() {
    let out = run_example("selectors", &[], &["selectors.html"]);
    assert!(
        out.contains("removing it again leaves a Sequential there"),
        "{out}"
    );
}

#[test]
fn custom_layer_runs() {
    let out = run_example("custom_layer", &[], &["custom_layer.html"]);
    assert!(
        out.contains("requires [hidden], removes [hidden], adds [pooled: 1]"),
        "{out}"
    );
}

#[test]
fn interventions_runs() {
    run_example(
        "interventions",
        &[],
        &["interventions.html", "interventions_selection.html"],
    );
}

#[test]
fn induction_heads_runs_on_the_fixture() {
    let out = run_example("induction_heads", &[], &["induction_heads.html"]);
    assert!(out.contains("induction score"), "{out}");
}

#[test]
fn checkpoint_saves_reloads_and_exports() {
    let out = run_example("checkpoint", &[], &["checkpoint.html"]);
    assert!(out.contains("reloads equal: true"), "{out}");
}

#[test]
fn treescope_example_writes_into_the_current_folder() {
    run_example(
        "treescope",
        &[],
        &[
            "treescope_model.html",
            "treescope_selection.html",
            "treescope_diff.html",
            "treescope_array.html",
        ],
    );
}

#[test]
fn text_example_writes_into_the_current_folder() {
    run_example("text", &[], &["token_loss.html", "logit_lens_tokens.html"]);
}

#[test]
fn lora_trains_the_adapters_and_merges_them() {
    let out = run_example("lora", &[], &[]);
    let losses: Vec<f32> = out
        .lines()
        .filter_map(|l| l.split("loss ").nth(1)?.trim().parse().ok())
        .collect();
    assert_eq!(losses.len(), 30, "{out}");
    assert!(losses[29] < 0.5 * losses[0], "the loss falls: {losses:?}");
    assert!(out.contains("lora_loss.svg"), "{out}");
    let worst: f32 = out
        .split("max difference ")
        .nth(1)
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(f32::INFINITY);
    assert!(worst < 1e-4, "{out}");
}

#[test]
fn hf_checkpoint_runs() {
    let out = run_example("hf_checkpoint", &[], &[]);
    assert!(out.contains("greedy continuation"), "{out}");
}

/// The README's "A taste", line for line (paths made absolute).
#[test]
fn readme_taste_runs() -> anyhow::Result<()> {
    use penzai::interpret::{Replacement, ablate, capture};
    use penzai::nn::Softmax;
    use penzai::prelude::*;

    let out = std::env::temp_dir().join(format!("penzai-readme-taste-{}", std::process::id()));
    std::fs::create_dir_all(&out)?;
    let model = penzai::io::hf::load(fixture("gpt2-text"))?.model;
    let tokens = NamedArray::from_i64(&[("batch", 1), ("seq", 4)], vec![5, 17, 42, 8])?;
    let logits = model.call(tokens.clone(), &mut Context::new())?;
    let blocks = select(model.clone()).at_path("blocks")?.at_children();
    let run = capture(blocks, tokens.clone(), &mut Context::new())?;
    treescope::render_array(&run.activations[&"blocks[1]".parse()?])
        .save_html(out.join("residual.html"))?;
    let head_2 = NamedArray::from_f32(&[("heads", 4)], vec![0., 0., 1., 0.])?;
    let softmaxes = select(model.clone())
        .at_path("blocks[0]")?
        .at_instances_of::<Softmax>();
    let ablated = ablate(softmaxes, Replacement::Zero, Some(head_2))?;
    treescope::diff(&model, &ablated).save_html(out.join("edit.html"))?;

    assert_eq!(
        logits.named_shape().to_string(),
        "{batch: 1, seq: 4, vocabulary: 384}"
    );
    assert!(!treescope::diff(&model, &ablated).is_empty());
    for page in ["residual.html", "edit.html"] {
        assert!(std::fs::read_to_string(out.join(page))?.starts_with("<!doctype html>"));
    }
    std::fs::remove_dir_all(&out).ok();
    Ok(())
}
