//! `penzai`: run, inspect and render models from the command line.
//!
//! ```text
//! penzai logits   --model DIR --tokens 5,17,42              # {"logits": [[...], ...]}
//! penzai generate --model DIR --tokens 5,17,42 --max-new 8  # {"output": [...]}
//! penzai generate --model DIR --prompt "Once upon"          # {"output": [...], "text": "..."}
//! penzai tokenize --model DIR --prompt "Once upon"          # {"ids": [...], "tokens": [...]}
//! penzai view     PATH -o out.html                          # a Treescope page
//! penzai inspect  PATH                                      # the tree in the terminal
//! penzai bench                                              # the Penzai-baseline cases
//! penzai bench    --model DIR [--seq 128] [--new 32]        # one checkpoint at real size
//! ```
//!
//! `DIR` is a HuggingFace checkpoint folder (`config.json` and safetensors weights) or a
//! model saved with `penzai::io::save` (`structure.json` and `parameters.safetensors`), or a
//! HuggingFace repository id (`org/name`) found in the local HuggingFace cache (nothing is
//! downloaded). `--prompt` reads the folder's `tokenizer.json`.
//! `PATH` may also be a single `.safetensors` file. Results go to stdout as JSON; progress bars
//! (only when stderr is a terminal), warnings and errors go to stderr, and any error exits
//! with status 1.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use ndarray::{ArrayD, IxDyn};
use penzai::io::hf::{self, LoadedModel};
use penzai::io::{SafetensorsFile, TensorData};
use penzai::models::{GenerateOptions, Sampling, generate_with_progress};
use penzai::nx::DType;
use penzai::prelude::*;

// Beside this file, not in src/bin/ itself, where cargo would take it for a binary.
#[path = "penzai/bench.rs"]
mod bench;
#[path = "penzai/grad.rs"]
mod grad;
#[path = "penzai/text.rs"]
mod text;

#[derive(Parser)]
#[command(
    name = "penzai",
    version,
    about = "Run, inspect and render penzai models."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the logits of a token sequence as JSON: one row per input token, one column per
    /// vocabulary entry.
    Logits {
        #[command(flatten)]
        input: ModelInput,
    },
    /// Continue a token sequence and print the prompt followed by the new tokens as JSON
    /// (greedy unless a sampling option is given), with the text when the model has a
    /// tokenizer.json.
    Generate {
        #[command(flatten)]
        input: ModelInput,
        /// How many tokens to add at most.
        #[arg(long, default_value_t = 16)]
        max_new: usize,
        /// Sample with this temperature (> 0) instead of taking the most likely token.
        #[arg(long)]
        temperature: Option<f32>,
        /// Sample from the K most likely tokens only.
        #[arg(long, value_name = "K")]
        top_k: Option<usize>,
        /// Sample from the smallest set of most likely tokens whose probability reaches P.
        #[arg(long, value_name = "P")]
        top_p: Option<f32>,
        /// Seed of the sampler: the same seed gives the same tokens.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Stop at any of these token ids (comma-separated).
        #[arg(long, value_delimiter = ',', value_name = "IDS")]
        stop: Vec<i64>,
    },
    /// Print the token ids and pieces of a text as JSON, read with the model's
    /// tokenizer.json.
    Tokenize {
        #[command(flatten)]
        args: text::TokenizeArgs,
    },
    /// Render a checkpoint folder, a saved model or a .safetensors file as a self-contained
    /// Treescope page.
    View {
        /// A checkpoint folder, a saved model's folder or a .safetensors file.
        path: PathBuf,
        /// Where to write the page.
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
    },
    /// Print, as JSON, the mean next-token cross-entropy of a token sequence under a
    /// HuggingFace checkpoint and its gradient with respect to one stored tensor, flattened
    /// in that tensor's layout in the file (for checks against other frameworks).
    Grad {
        #[command(flatten)]
        input: ModelInput,
        /// The tensor's name in the checkpoint (`transformer.wte.weight`,
        /// `model.layers.0.mlp.up_proj.weight`, ...). A tied embedding's gradient is the sum
        /// of both uses.
        #[arg(long, value_name = "NAME")]
        param: String,
    },
    /// Print a checkpoint folder, a saved model or a .safetensors file as a tree in the
    /// terminal.
    Inspect {
        /// A checkpoint folder, a saved model's folder or a .safetensors file.
        path: PathBuf,
    },
    /// Time penzai and print JSON lines: with no --model, the cases of the Penzai baseline
    /// (build, forward, selectors, Treescope); with --model DIR, load, forward, decode, view,
    /// peak memory and the decode rate against the machine's memory-bandwidth ceiling.
    Bench {
        #[command(flatten)]
        args: bench::BenchArgs,
    },
}

/// The model and tokens every running command takes.
#[derive(Args)]
struct ModelInput {
    /// A HuggingFace checkpoint folder (config.json and safetensors weights), a model
    /// saved with penzai (structure.json and parameters.safetensors), or a HuggingFace
    /// repository id (org/name) found in the local cache.
    #[arg(long, value_name = "DIR")]
    model: PathBuf,
    #[command(flatten)]
    input: text::PromptInput,
    /// Let NaN and infinite values through instead of failing at the first layer whose
    /// output has any.
    #[arg(long)]
    allow_non_finite: bool,
    /// The most memory any one array of the forward pass may take (a long input's attention
    /// scores), as bytes or with a suffix: 512M, 8G. Without it, what the allocator grants.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_memory: Option<usize>,
    /// Convert a HuggingFace checkpoint's parameters to this dtype once, at load (f32, f16 or
    /// bf16). By default they keep their stored width, mapped from the file.
    #[arg(long, value_parser = parse_dtype, value_name = "DTYPE")]
    dtype: Option<DType>,
}

impl ModelInput {
    /// The context a run starts from: the non-finite check on unless allowed, the memory cap.
    fn context(&self) -> Context {
        let cx = Context::new().with_finite_check(!self.allow_non_finite);
        match self.max_memory {
            Some(bytes) => cx.with_max_memory(bytes),
            None => cx,
        }
    }
}

/// A byte count: digits, optionally followed by K, M, G or T (powers of 1024) and an
/// optional B.
fn parse_size(text: &str) -> std::result::Result<usize, String> {
    let upper = text.trim().to_ascii_uppercase();
    let upper = upper.strip_suffix('B').unwrap_or(&upper);
    let (digits, shift) = match upper.char_indices().last() {
        Some((i, 'K')) => (&upper[..i], 10),
        Some((i, 'M')) => (&upper[..i], 20),
        Some((i, 'G')) => (&upper[..i], 30),
        Some((i, 'T')) => (&upper[..i], 40),
        _ => (upper, 0),
    };
    digits
        .trim()
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(1usize << shift))
        .ok_or_else(|| format!("expected a size such as 4096, 512M or 8G; got {text:?}"))
}

fn parse_dtype(name: &str) -> std::result::Result<DType, String> {
    match DType::from_name(name) {
        Some(d @ (DType::F32 | DType::F16 | DType::BF16)) => Ok(d),
        _ => Err(format!("{name:?} is not one of f32, f16, bf16")),
    }
}

fn main() -> ExitCode {
    // Before any thread exists (the library would do it at the first model call).
    penzai::heap::keep_large_allocations();
    // A bug must still end as one line on stderr, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("penzai: internal error: {info}");
    }));
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("penzai: error: {}", error_text(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes, `: `-separated, leaving out a cause whose text the message
/// already holds (many errors print their source inside their own message).
fn error_text(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Logits { input } => logits(&input),
        Command::Generate {
            input,
            max_new,
            temperature,
            top_k,
            top_p,
            seed,
            stop,
        } => {
            let sampling = if temperature.is_none() && top_k.is_none() && top_p.is_none() {
                Sampling::Greedy
            } else {
                Sampling::Sample {
                    temperature: temperature.unwrap_or(1.0),
                    top_k,
                    top_p,
                }
            };
            let options = GenerateOptions {
                max_new_tokens: max_new,
                sampling,
                seed,
                stop_tokens: stop,
                use_kv_cache: true,
                check_finite: !input.allow_non_finite,
                max_memory: input.max_memory,
            };
            generate(&input, &options)
        }
        Command::Grad { input, param } => grad::grad(&input, &param),
        Command::Tokenize { args } => print_line(text::tokenize(&args)?.to_string()),
        Command::View { path, output } => {
            let tree = open_tree(&text::model_dir(&path)?)?;
            penzai::treescope::save_html(tree.as_ref(), &output)
                .with_context(|| format!("cannot write {}", output.display()))?;
            eprintln!("wrote {}", output.display());
            Ok(())
        }
        Command::Inspect { path } => {
            let tree = open_tree(&text::model_dir(&path)?)?;
            print_stdout(&penzai::treescope::to_text(tree.as_ref()))
        }
        Command::Bench { args } => bench::run(&args, &mut print_line),
    }
}

/// A model to run: an HF checkpoint (whose config knows the vocabulary size) or a saved
/// penzai model of any registered layer type.
enum Runnable {
    Checkpoint(Box<LoadedModel>),
    Saved(AnyLayer),
}

impl Runnable {
    fn layer(&self) -> &dyn Layer {
        match self {
            Runnable::Checkpoint(loaded) => &loaded.model,
            Runnable::Saved(layer) => layer.get(),
        }
    }

    /// The vocabulary size, when the folder states it.
    fn vocab_size(&self) -> Option<usize> {
        match self {
            Runnable::Checkpoint(loaded) => Some(loaded.config.architecture.vocab_size()),
            // The embedding layer checks ids against its table and names the bad one.
            Runnable::Saved(_) => None,
        }
    }
}

fn open_runnable(dir: &Path, dtype: Option<DType>) -> Result<Runnable> {
    if is_saved_model(dir) {
        if dtype.is_some() {
            bail!("--dtype applies to HuggingFace checkpoint folders, not to saved models");
        }
        let layer =
            penzai::io::load_any(dir).with_context(|| format!("cannot load {}", dir.display()))?;
        return Ok(Runnable::Saved(layer));
    }
    Ok(Runnable::Checkpoint(Box::new(load_model(dir, dtype)?)))
}

fn is_saved_model(dir: &Path) -> bool {
    dir.is_dir() && dir.join(penzai::io::STRUCTURE_FILE).is_file()
}

fn logits(input: &ModelInput) -> Result<()> {
    let dir = text::model_dir(&input.model)?;
    let model = open_runnable(&dir, input.dtype)?;
    let ids = text::prompt_ids(&dir, &input.input)?;
    let tokens = token_array(model.vocab_size(), &ids)?;
    let logits = input
        .context()
        .run(model.layer(), tokens)
        .context("running the model")?;
    let vocab = logits.axis_size("vocabulary").unwrap_or(0);
    let values = logits
        .order_as(&["batch", "seq", "vocabulary"])
        .context("reading the logits")?
        .to_f32_vec();
    let rows: Vec<&[f32]> = values.chunks(vocab.max(1)).collect();
    if input.input.prompt.is_some() {
        // Say which tokens the rows are for (f32s written as f32s, as below).
        return print_line(format!(
            "{{\"ids\":{},\"logits\":{}}}",
            serde_json::to_string(&ids)?,
            serde_json::to_string(&rows)?
        ));
    }
    print_line(serde_json::to_string(&BTreeMap::from([("logits", rows)]))?)
}

fn generate(input: &ModelInput, options: &GenerateOptions) -> Result<()> {
    let dir = text::model_dir(&input.model)?;
    let model = open_runnable(&dir, input.dtype)?;
    let prompt_input = text::prompt(&dir, &input.input)?;
    let prompt = token_array(model.vocab_size(), &prompt_input.ids)?;
    let bar = progress_bar(options.max_new_tokens as u64, "generating");
    let mut on_token = |done: usize, _: usize| {
        if let Some(bar) = &bar {
            bar.set_position(done as u64);
        }
    };
    let out = match &model {
        Runnable::Checkpoint(loaded) => {
            generate_with_progress(&loaded.model, &prompt, options, &mut on_token)
        }
        Runnable::Saved(layer) => generate_with_progress(layer, &prompt, options, &mut on_token),
    }
    .context("generating")?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let output = text::generate_output(
        out.to_i64_vec(),
        prompt_input.ids.len(),
        prompt_input.tokenizer.as_ref(),
    )?;
    print_line(output.to_string())
}

/// Loads an HF checkpoint folder, with a progress bar and a warning for ignored config keys.
fn load_model(dir: &Path, dtype: Option<DType>) -> Result<LoadedModel> {
    if !dir.is_dir() {
        bail!(
            "{} is not a folder (expected a HuggingFace checkpoint folder)",
            dir.display()
        );
    }
    let bar = progress_bar(0, "loading");
    let mut options = hf::LoadOptions::default();
    options.dtype = dtype;
    let loaded = hf::load_with(dir, &options, &mut |done, total| {
        if let Some(bar) = &bar {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
    })
    .with_context(|| format!("cannot load {}", dir.display()))?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if !loaded.config.unrecognized_keys.is_empty() {
        eprintln!(
            "penzai: warning: {}: ignored unrecognized config keys {:?}",
            dir.join(hf::CONFIG_FILE_NAME).display(),
            loaded.config.unrecognized_keys
        );
    }
    Ok(loaded)
}

/// The tokens as a `{batch: 1, seq}` array, each checked against the vocabulary.
fn token_array(vocab: Option<usize>, tokens: &[i64]) -> Result<NamedArray> {
    let limit = vocab.unwrap_or(usize::MAX);
    if let Some(bad) = tokens
        .iter()
        .find(|&&t| usize::try_from(t).map_or(true, |t| t >= limit))
    {
        match vocab {
            Some(vocab) => bail!("token id {bad} is outside the vocabulary (0..{vocab})"),
            None => bail!("token id {bad} is negative"),
        }
    }
    Ok(NamedArray::from_i64(
        &[("batch", 1), ("seq", tokens.len())],
        tokens.to_vec(),
    )?)
}

/// The tree `path` holds: a checkpoint folder's model, or a safetensors file's tensors.
fn open_tree(path: &Path) -> Result<Box<dyn Tree>> {
    if path.is_dir() {
        if hf::is_checkpoint_dir(path) {
            return Ok(Box::new(load_model(path, None)?.model));
        }
        if is_saved_model(path) {
            let layer = penzai::io::load_any(path)
                .with_context(|| format!("cannot load {}", path.display()))?;
            return Ok(layer.into_tree());
        }
        bail!(
            "{} is neither a HuggingFace checkpoint folder (config.json with model.safetensors \
             or model.safetensors.index.json) nor a saved model (structure.json with \
             parameters.safetensors)",
            path.display()
        );
    }
    if path.extension().is_some_and(|e| e == "safetensors") {
        return Ok(Box::new(tensors(path)?));
    }
    if !path.exists() {
        bail!("{} does not exist", path.display());
    }
    bail!(
        "{} is not a .safetensors file or a checkpoint folder",
        path.display()
    )
}

/// Every tensor of a safetensors file, by name, with positional axes (the file names none).
fn tensors(path: &Path) -> Result<BTreeMap<String, NamedArray>> {
    let file = SafetensorsFile::open(path)?;
    let bar = progress_bar(file.len() as u64, "reading");
    let mut out = BTreeMap::new();
    for view in file.tensors() {
        let host = view.to_host()?;
        let shape = IxDyn(&host.shape);
        let array = match host.data {
            TensorData::F32(v) => NamedArray::wrap(ArrayD::from_shape_vec(shape, v)?),
            TensorData::F16(v) => {
                let v: Vec<f32> = v.into_iter().map(f32::from).collect();
                NamedArray::wrap(ArrayD::from_shape_vec(shape, v)?)
            }
            TensorData::BF16(v) => {
                let v: Vec<f32> = v.into_iter().map(f32::from).collect();
                NamedArray::wrap(ArrayD::from_shape_vec(shape, v)?)
            }
            TensorData::I64(v) => NamedArray::wrap_i64(ArrayD::from_shape_vec(shape, v)?),
            TensorData::Bool(v) => NamedArray::wrap_bool(ArrayD::from_shape_vec(shape, v)?),
        };
        out.insert(view.name().to_owned(), array);
        if let Some(bar) = &bar {
            bar.inc(1);
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(out)
}

/// A progress bar on stderr, or `None` when stderr is not a terminal (pipes, CI, tests).
fn progress_bar(len: u64, message: &'static str) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(len).with_message(message);
    if let Ok(style) = ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} {elapsed}") {
        bar.set_style(style.progress_chars("=> "));
    }
    Some(bar)
}

/// Prints `text` and a newline. (JSON is serialized from the f32 values themselves, so each
/// prints in its shortest form that reads back exactly.)
fn print_line(mut text: String) -> Result<()> {
    text.push('\n');
    print_stdout(&text)
}

/// Writes to stdout; a closed pipe (`penzai ... | head`) is not an error worth a message.
fn print_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other.context("writing to stdout")?),
    }
}
