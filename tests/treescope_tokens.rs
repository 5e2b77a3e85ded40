//! Treescope's token views: token-id arrays as text chips, per-token scores as coloured
//! text, in figures and inside trees; golden files for the text and the spec, and the
//! errors. The browser side is in tests/treescope_browser.rs.
//!
//! Rewrite the goldens with `UPDATE_GOLDEN=1 cargo test --test treescope_tokens`.

mod treescope_support;

use std::collections::BTreeMap;
use std::path::Path;

use penzai::interpret::{logit_lens, next_token_loss, top_tokens};
use penzai::io::hf;
use penzai::prelude::*;
use penzai::text::Tokenizer;
use penzai::treescope::tokens::{TokenViewError, render_tokens};
use penzai::treescope::{Doc, DocOptions, HtmlOptions, TextOptions};
use treescope_support::check_golden;

/// The prompt of the llama-text fixture: accents, CJK, an emoji, curly quotes, a tab and a
/// newline.
const PROMPT: &str = "Der Bäcker sagt: “日本語 🙂” and\tmore.\n";

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The texts' ids as `{batch, seq}`, each row cut to the shortest one's length.
fn ids(tokenizer: &Tokenizer, texts: &[&str]) -> NamedArray {
    let mut rows: Vec<Vec<i64>> = texts.iter().map(|t| tokenizer.encode(t).unwrap()).collect();
    let seq = rows.iter().map(Vec::len).min().unwrap();
    rows.iter_mut().for_each(|r| r.truncate(seq));
    NamedArray::from_i64(&[("batch", rows.len()), ("seq", seq)], rows.concat()).unwrap()
}

#[test]
fn token_chips_of_a_sentencepiece_prompt() {
    let tokenizer = Tokenizer::from_dir(fixture("llama-text")).unwrap();
    let tokens = ids(&tokenizer, &[PROMPT]);
    let figure = render_tokens(&tokens, &tokenizer).unwrap();
    check_golden("tokens_sentencepiece.txt", &figure.to_text());
    check_golden(
        "tokens_sentencepiece_spec.json",
        &serde_json::to_string_pretty(&figure.spec()).unwrap(),
    );
}

#[test]
fn token_chips_of_a_byte_level_batch() {
    let tokenizer = Tokenizer::from_dir(fixture("gpt2-text")).unwrap();
    let tokens = ids(
        &tokenizer,
        &["The model\tsees «déjà»\n", "日本語 🦀 and 🙂 ok"],
    );
    let figure = render_tokens(&tokens, &tokenizer).unwrap();
    check_golden("tokens_bytelevel.txt", &figure.to_text());
}

/// Deterministic scores of a shape: signed, with one NaN and one +inf.
fn scores(batch: usize, seq: usize) -> NamedArray {
    let mut v: Vec<f32> = (0..batch * seq)
        .map(|i| ((i * 7 % 11) as f32 - 5.0) / 2.0)
        .collect();
    v[1] = f32::NAN;
    v[2] = f32::INFINITY;
    NamedArray::from_f32(&[("seq", seq), ("batch", batch)], v).unwrap()
}

#[test]
fn token_scores_colour_each_token_and_keep_non_finite_values() {
    let tokenizer = Tokenizer::from_dir(fixture("gpt2-text")).unwrap();
    let tokens = ids(&tokenizer, &["The quick brown fox"]);
    let seq = tokens.axis_size("seq").unwrap();
    // Scores stored with their axes in another order still line up by name.
    let s = scores(1, seq);
    let figure = render_tokens(&tokens, &tokenizer)
        .unwrap()
        .scores(&s)
        .unwrap()
        .score_label("attribution");
    check_golden("tokens_scores.txt", &figure.to_text());
    let spec = figure.spec();
    let scale = spec.scale.as_ref().unwrap();
    assert_eq!(scale.cmap, "diverging");
    assert_eq!(scale.vmin, -scale.vmax);
    let json = serde_json::to_value(&spec).unwrap();
    assert_eq!(json["rows"][0]["scores"][1], "NaN");
    assert_eq!(json["rows"][0]["scores"][2], "Infinity");
}

#[test]
fn per_token_loss_of_a_real_model_is_shown_on_its_targets() {
    let dir = fixture("gpt2-text");
    let model = hf::load(&dir).unwrap().model;
    let tokenizer = Tokenizer::from_dir(&dir).unwrap();
    let tokens = ids(&tokenizer, &[PROMPT]);
    let logits = model.call(tokens.clone(), &mut Context::new()).unwrap();
    let scored = next_token_loss(&logits, &tokens).unwrap();
    let figure = render_tokens(&scored.targets, &tokenizer)
        .unwrap()
        .scores(&scored.loss)
        .unwrap()
        .score_label("loss");
    let spec = figure.spec();
    let scale = spec.scale.as_ref().unwrap();
    // Losses are positive: a sequential scale from zero.
    assert_eq!((scale.cmap, scale.vmin), ("sequential", 0.0));
    let shown: Vec<f32> = spec.rows[0]
        .scores
        .as_ref()
        .unwrap()
        .iter()
        .map(|s| s.0)
        .collect();
    assert_eq!(shown, scored.loss.to_f32_vec());
    assert!(shown.iter().all(|&l| l.is_finite() && l > 0.0));
    assert_eq!(spec.rows[0].ids, tokens.to_i64_vec()[1..]);
    assert!(figure.to_text().starts_with("tokens {batch: 1, seq: "));
}

#[test]
fn logit_lens_top_tokens_make_one_row_per_block() {
    let dir = fixture("llama-text");
    let model = hf::load(&dir).unwrap().model;
    let tokenizer = Tokenizer::from_dir(&dir).unwrap();
    let tokens = ids(&tokenizer, &[PROMPT]);
    let lens = logit_lens(&model, tokens.clone(), &mut Context::new()).unwrap();
    let top = top_tokens(&lens).unwrap();
    let figure = render_tokens(&top.ids, &tokenizer)
        .unwrap()
        .axis_order(&["layer", "batch", "seq"])
        .unwrap()
        .scores(&top.probs)
        .unwrap()
        .score_label("p(top)");
    let spec = figure.spec();
    let labels: Vec<&str> = spec.rows.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(labels, ["layer 0, batch 0", "layer 1, batch 0"]);
    // The last block's top tokens are the model's greedy predictions.
    let logits = model.call(tokens, &mut Context::new()).unwrap();
    assert_eq!(
        spec.rows[1].ids,
        logits.argmax("vocabulary").unwrap().to_i64_vec()
    );
    let scale = spec.scale.as_ref().unwrap();
    assert_eq!(scale.cmap, "sequential");
    assert!(scale.vmax <= 1.0);
}

#[test]
fn token_arrays_in_a_tree_show_their_text() {
    let tokenizer = Tokenizer::from_dir(fixture("llama-text")).unwrap();
    let mut tree: BTreeMap<String, NamedArray> = BTreeMap::new();
    tree.insert("prompt".into(), ids(&tokenizer, &[PROMPT]));
    // Not token ids: floats, an id past the vocabulary, ids without a seq axis.
    tree.insert("scores".into(), scores(1, 4));
    tree.insert(
        "too_large".into(),
        NamedArray::from_i64(&[("seq", 2)], vec![1, 100_000]).unwrap(),
    );
    tree.insert(
        "grid".into(),
        NamedArray::from_i64(&[("a", 2), ("b", 2)], vec![1, 2, 3, 4]).unwrap(),
    );
    let text = TextOptions::plain().tokens(tokenizer.clone()).render(&tree);
    check_golden("tokens_tree.txt", &text);

    let doc = Doc::build(
        &tree,
        &DocOptions {
            tokens: Some(tokenizer.clone().into()),
            ..DocOptions::default()
        },
    );
    let chips = |key: &str| {
        doc.get(&format!("[\"{key}\"]").parse().unwrap())
            .and_then(|n| n.array.as_ref())
            .map(|a| a.tokens.is_some())
    };
    assert_eq!(chips("prompt"), Some(true));
    assert_eq!(chips("scores"), Some(false));
    assert_eq!(chips("too_large"), Some(false));
    assert_eq!(chips("grid"), Some(false));
    // Without a vocabulary nothing changes.
    let plain = Doc::build(&tree, &DocOptions::default());
    assert!(plain.to_json_pretty().find("\"tokens\"").is_none());
    // The page carries the chips in its data island, and the token views' assets, which
    // a page without chips leaves out.
    let page = HtmlOptions::new().tokens(tokenizer).to_html(&tree);
    assert!(
        page.contains("\"shown\":\" B\""),
        "the island has the chips"
    );
    assert!(page.contains("PZ.tokens") && page.contains(".pzk"));
    let plain_page = HtmlOptions::new().to_html(&tree);
    assert!(!plain_page.contains("PZ.tokens=") && !plain_page.contains(".pzk{"));
}

#[test]
fn hostile_pieces_are_escaped_text() {
    let vocab = [
        "</script><script>window.__pwned=1</script>",
        "<img src=x onerror=alert(1)>",
        "\u{202E}txt.exe",
        "line\nbreak",
        "",
    ];
    let tokens = NamedArray::from_i64(&[("seq", 5)], vec![0, 1, 2, 3, 4]).unwrap();
    let figure = render_tokens(&tokens, &vocab).unwrap();
    let html = figure.to_html();
    assert!(!html.contains("<img src=x"));
    assert!(!html.contains("<script>window.__pwned"));
    let spec = figure.spec();
    let shown: Vec<(&str, bool)> = spec
        .tokens
        .iter()
        .map(|t| (t.shown.as_str(), t.escaped))
        .collect();
    assert_eq!(
        shown,
        [
            ("</script><script>window.__pwned=1</script>", false),
            ("<img src=x onerror=alert(1)>", false),
            ("\\u{202e}txt.exe", true),
            ("line\\nbreak", true),
            ("∅", true),
        ]
    );
}

#[test]
fn long_inputs_are_cut_to_the_token_budget_with_counts() {
    let vocab: Vec<String> = (0..50).map(|i| format!("w{i}")).collect();
    let tokens = NamedArray::from_i64(&[("batch", 3), ("seq", 8)], (0..24).collect()).unwrap();
    let spec = render_tokens(&tokens, &vocab)
        .unwrap()
        .max_tokens(10)
        .spec();
    assert_eq!((spec.rows.len(), spec.omitted_rows), (1, 2));
    assert_eq!(spec.rows[0].ids.len(), 8);
    let long = NamedArray::from_i64(&[("seq", 30)], (0..30).collect()).unwrap();
    let figure = render_tokens(&long, &vocab).unwrap().max_tokens(10);
    let spec = figure.spec();
    assert_eq!((spec.rows[0].ids.len(), spec.rows[0].omitted), (10, 20));
    assert!(figure.to_text().ends_with("│w9│ … 20 more\n"));
}

#[test]
fn ids_the_vocabulary_lacks_are_marked_not_dropped() {
    let vocab = ["a", "b"];
    let tokens = NamedArray::from_i64(&[("seq", 3)], vec![0, 7, -1]).unwrap();
    let figure = render_tokens(&tokens, &vocab).unwrap();
    assert_eq!(
        figure.to_text(),
        "tokens {seq: 3}\n│a│«<unknown id 7>»│«<unknown id -1>»│\n"
    );
}

#[test]
fn bad_inputs_are_errors_naming_the_shapes() {
    let vocab = ["a", "b"];
    let floats = NamedArray::from_f32(&[("seq", 2)], vec![0.0, 1.0]).unwrap();
    assert_eq!(
        render_tokens(&floats, &vocab).err().unwrap().to_string(),
        "token ids must be i64, but the array {seq: 2} holds f32"
    );
    let tokens = NamedArray::from_i64(&[("batch", 1), ("seq", 2)], vec![0, 1]).unwrap();
    let wrong = NamedArray::from_f32(&[("seq", 2)], vec![0.0, 1.0]).unwrap();
    let err = render_tokens(&tokens, &vocab)
        .unwrap()
        .scores(&wrong)
        .err()
        .unwrap();
    assert_eq!(
        err,
        TokenViewError::ScoreShape {
            tokens: "{batch: 1, seq: 2}".into(),
            scores: "{seq: 2}".into()
        }
    );
    let err = render_tokens(&tokens, &vocab)
        .unwrap()
        .axis_order(&["seq", "nope"])
        .err()
        .unwrap();
    assert!(matches!(err, TokenViewError::AxisOrder { .. }), "{err}");
    let positional = NamedArray::from_i64(&[("seq", 2)], vec![0, 1])
        .unwrap()
        .untag(&["seq"])
        .unwrap();
    let err = render_tokens(&positional, &vocab).err().unwrap();
    assert!(matches!(err, TokenViewError::Positional { .. }), "{err}");
}
