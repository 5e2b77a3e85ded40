//! Writes the seed corpus of the `io_load` target: the reference model in each input mode.
//!
//! `cargo +nightly run --example io_load_seeds -- corpus/io_load`

fn main() -> std::io::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "corpus/io_load".to_owned());
    std::fs::create_dir_all(&dir)?;
    let saved = penzai_fuzz::reference_model();
    let dir = std::path::Path::new(&dir);
    for mode in 0..3u8 {
        let path = dir.join(format!("reference-mode{mode}"));
        std::fs::write(path, penzai_fuzz::Input::encode(mode, &saved))?;
    }
    // The same structure compact, with keys sorted (so "type" is rarely first).
    let value: serde_json::Value = serde_json::from_slice(&saved.structure)?;
    let compact = penzai_runtime::io::SavedModel {
        structure: serde_json::to_vec(&value)?,
        parameters: saved.parameters,
    };
    std::fs::write(
        dir.join("compact-sorted"),
        penzai_fuzz::Input::encode(0, &compact),
    )?;
    Ok(())
}
