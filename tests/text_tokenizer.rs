//! Tokenizers against the Python `tokenizers` package: every fixture under
//! tests/fixtures/tokenizers/ (made by tools/gen_tokenizer_fixtures.py) encodes and decodes
//! exactly as the package did, and broken tokenizer files are errors naming the file.

use std::path::{Path, PathBuf};

use penzai::text::{TOKENIZER_FILE, TextError, Tokenizer};
use serde_json::Value;

/// The tokenizer fixtures: one byte-level BPE laid out as GPT-2's, one as Llama 3's, one
/// SentencePiece-style BPE with byte fallback laid out as Llama 2's.
const TOKENIZERS: [&str; 3] = ["gpt2-bytelevel", "llama3-bytelevel", "llama2-sentencepiece"];

fn folder(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tokenizers")
        .join(name)
}

fn expected(name: &str) -> Value {
    let text = std::fs::read_to_string(folder(name).join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn encodings_equal_the_python_package_for_every_prompt() {
    for name in TOKENIZERS {
        let tokenizer = Tokenizer::from_dir(folder(name)).unwrap();
        let expected = expected(name);
        let cases = expected["cases"].as_array().unwrap();
        assert!(cases.len() >= 10, "{name}: the fixture has its prompts");
        for case in cases {
            let text = case["text"].as_str().unwrap();
            let encoding = tokenizer.tokenize(text).unwrap();
            assert_eq!(encoding.ids, ints(&case["ids"]), "{name}: ids of {text:?}");
            assert_eq!(
                encoding.tokens,
                strings(&case["tokens"]),
                "{name}: pieces of {text:?}"
            );
            assert_eq!(tokenizer.encode(text).unwrap(), encoding.ids);
            assert_eq!(
                tokenizer.encode_without_special_tokens(text).unwrap(),
                ints(&case["ids_plain"]),
                "{name}: ids of {text:?} without special tokens"
            );
        }
    }
}

#[test]
fn decodings_equal_the_python_package_for_prompts_and_random_ids() {
    for name in TOKENIZERS {
        let tokenizer = Tokenizer::from_dir(folder(name)).unwrap();
        let expected = expected(name);
        let cases = expected["cases"].as_array().unwrap().iter();
        let random = expected["decode_cases"].as_array().unwrap().iter();
        for case in cases.chain(random) {
            let ids = ints(&case["ids"]);
            assert_eq!(
                tokenizer.decode(&ids).unwrap(),
                case["decoded"].as_str().unwrap(),
                "{name}: decode {ids:?}"
            );
            assert_eq!(
                tokenizer.decode_skipping_special_tokens(&ids).unwrap(),
                case["decoded_skip_special"].as_str().unwrap(),
                "{name}: decode {ids:?} skipping special tokens"
            );
        }
    }
}

#[test]
fn prompts_cover_what_people_type() {
    // The fixture must keep exercising accents, CJK, emoji, quotes, tabs and newlines.
    let texts: String = expected("gpt2-bytelevel")["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["text"].as_str().unwrap())
        .collect();
    for needle in [
        "é",
        "日本",
        "한국어",
        "🦀",
        "“",
        "«",
        "\t",
        "\n",
        "\r\n",
        "'",
    ] {
        assert!(texts.contains(needle), "no prompt contains {needle:?}");
    }
}

#[test]
fn byte_fallback_and_byte_level_pieces_are_really_exercised() {
    let spm = Tokenizer::from_dir(folder("llama2-sentencepiece")).unwrap();
    let crab = spm.tokenize("🦀").unwrap();
    assert_eq!(
        crab.tokens,
        ["<s>", "▁", "<0xF0>", "<0x9F>", "<0xA6>", "<0x80>"],
        "a character outside the vocabulary falls back to its UTF-8 bytes"
    );
    let gpt2 = Tokenizer::from_dir(folder("gpt2-bytelevel")).unwrap();
    assert_eq!(
        gpt2.tokenize(" world").unwrap().tokens[0].chars().next(),
        Some('Ġ')
    );
}

#[test]
fn vocabulary_sizes_and_special_tokens_match_the_files() {
    for name in TOKENIZERS {
        let tokenizer = Tokenizer::from_dir(folder(name)).unwrap();
        assert_eq!(
            tokenizer.vocab_size() as u64,
            expected(name)["vocab_size"].as_u64().unwrap(),
            "{name}"
        );
    }
    let spm = Tokenizer::from_dir(folder("llama2-sentencepiece")).unwrap();
    assert!(spm.is_special(1) && spm.is_special(2) && !spm.is_special(3));
    assert_eq!(spm.token_id("<s>"), Some(1));
    assert_eq!(spm.piece(3).as_deref(), Some("<0x00>"));
    assert_eq!(spm.piece(-1), None);
}

#[test]
fn token_text_reads_each_piece_as_the_text_it_stands_for() {
    let gpt2 = Tokenizer::from_dir(folder("gpt2-bytelevel")).unwrap();
    let ids = gpt2.encode_without_special_tokens(" model\n").unwrap();
    let texts: Vec<String> = ids
        .iter()
        .map(|&id| gpt2.token_text(id).unwrap().text)
        .collect();
    assert_eq!(texts.concat(), " model\n");
    let eot = gpt2.token_id("<|endoftext|>").unwrap();
    let special = gpt2.token_text(eot).unwrap();
    assert!(special.special);
    assert_eq!(special.text, "<|endoftext|>");

    let spm = Tokenizer::from_dir(folder("llama2-sentencepiece")).unwrap();
    let ids = spm.encode_without_special_tokens("Der Bäcker 🦀").unwrap();
    let texts: Vec<String> = ids
        .iter()
        .map(|&id| spm.token_text(id).unwrap().text)
        .collect();
    // Spaces come back (the decoder would strip the first); the crab's bytes show as bytes.
    assert_eq!(texts.concat(), " Der Bäcker \\xF0\\x9F\\xA6\\x80");
}

#[test]
fn decoding_an_id_outside_the_vocabulary_names_it_and_its_position() {
    let tokenizer = Tokenizer::from_dir(folder("gpt2-bytelevel")).unwrap();
    let err = tokenizer.decode(&[5, 17, 384]).unwrap_err();
    assert_eq!(
        err,
        TextError::UnknownId {
            file: folder("gpt2-bytelevel")
                .join(TOKENIZER_FILE)
                .display()
                .to_string(),
            id: 384,
            position: 2,
            vocab_size: 384,
        }
    );
    assert!(
        err.to_string().ends_with(
            "token id 384 (at position 2) is outside the tokenizer's vocabulary (0..384)"
        )
    );
    assert!(matches!(
        tokenizer.decode(&[-3]),
        Err(TextError::UnknownId { id: -3, .. })
    ));
}

fn scratch(name: &str, contents: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pz-text-tokenizer-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(TOKENIZER_FILE), contents).unwrap();
    dir
}

#[test]
fn a_missing_tokenizer_is_an_error_naming_the_file() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gpt2");
    let err = Tokenizer::from_dir(&dir).unwrap_err();
    let file = dir.join(TOKENIZER_FILE).display().to_string();
    assert_eq!(err, TextError::Missing { file: file.clone() });
    assert!(err.to_string().starts_with(&format!("{file}: not found")));
    let wrapped: penzai::Error = err.into();
    assert!(wrapped.to_string().contains("tokenizer.json: not found"));
}

#[test]
fn malformed_json_is_an_error_with_its_byte_offset() {
    let dir = scratch(
        "truncated",
        br#"{"version": "1.0", "model": {"type": "BPE""#,
    );
    let err = Tokenizer::from_dir(&dir).unwrap_err();
    let TextError::Malformed { file, offset, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(file.ends_with("tokenizer.json"));
    // The input ends inside the object: the parser stops at its last byte.
    assert_eq!(*offset, Some(41));
    assert!(
        err.to_string()
            .contains("not a valid tokenizer.json (byte offset 41)")
    );
}

#[test]
fn json_of_the_wrong_shape_is_an_error_naming_the_file() {
    let cases: [(&str, &[u8]); 5] = [
        ("empty", b""),
        ("not-json", b"tokenizer"),
        ("array", b"[1, 2, 3]"),
        (
            "unknown-model",
            br#"{"version": "1.0", "added_tokens": [], "normalizer": null, "pre_tokenizer": null,
                "post_processor": null, "decoder": null, "model": {"type": "Telepathy"}}"#,
        ),
        (
            "merge-of-unknown-tokens",
            br#"{"version": "1.0", "added_tokens": [], "normalizer": null, "pre_tokenizer": null,
                "post_processor": null, "decoder": null,
                "model": {"type": "BPE", "vocab": {"a": 0}, "merges": [["a", "zz"]]}}"#,
        ),
    ];
    for (name, bytes) in cases {
        let dir = scratch(name, bytes);
        let err = Tokenizer::from_dir(&dir).unwrap_err();
        assert!(
            matches!(err, TextError::Malformed { .. }),
            "{name}: {err:?}"
        );
        assert!(
            err.to_string()
                .starts_with(&dir.join(TOKENIZER_FILE).display().to_string()),
            "{name}: {err}"
        );
    }
}

#[test]
fn invalid_utf8_is_an_error_with_its_byte_offset() {
    let dir = scratch("latin1", b"{\"version\": \"1.\xe9\"}");
    let err = Tokenizer::from_dir(&dir).unwrap_err();
    assert!(
        matches!(err, TextError::NotUtf8 { offset: 15, .. }),
        "{err:?}"
    );
}

#[test]
fn an_unreadable_path_is_an_os_error_naming_it() {
    // A folder where the file should be.
    let dir = std::env::temp_dir().join(format!("pz-text-tokenizer-{}-dir", std::process::id()));
    std::fs::create_dir_all(dir.join(TOKENIZER_FILE)).unwrap();
    let err = Tokenizer::from_dir(&dir).unwrap_err();
    assert!(matches!(err, TextError::Read { .. }), "{err:?}");
    assert!(err.to_string().contains("tokenizer.json: cannot read"));
}
