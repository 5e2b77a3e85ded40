//! Laws of the tokenizers on any text: byte-level BPE and SentencePiece-style BPE with byte
//! fallback lose nothing (decoding an encoding gives the text back), ids stay in the
//! vocabulary, token texts concatenate to the text; and damaged tokenizer files are errors,
//! never panics.

use std::path::Path;
use std::sync::OnceLock;

use penzai::text::{TextError, Tokenizer};
use proptest::prelude::*;

fn load(name: &str) -> Tokenizer {
    Tokenizer::from_dir(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/tokenizers")
            .join(name),
    )
    .unwrap()
}

fn tokenizers() -> &'static [(&'static str, Tokenizer); 3] {
    static ALL: OnceLock<[(&'static str, Tokenizer); 3]> = OnceLock::new();
    ALL.get_or_init(|| {
        [
            ("gpt2-bytelevel", load("gpt2-bytelevel")),
            ("llama3-bytelevel", load("llama3-bytelevel")),
            ("llama2-sentencepiece", load("llama2-sentencepiece")),
        ]
    })
}

/// Text as people type it: any characters (accents, CJK, emoji, controls), with more
/// spaces, tabs and newlines than uniform draws would give. Special-token spellings
/// (`<s>`, `<|...|>`) cannot appear: they are the one input that does not round-trip.
fn text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => "[a-zA-Z0-9 ,.!?'\"-]{1,8}",
        2 => "[ \t\n\r]{1,3}",
        2 => "[àéîõüßçñ日本語中文한국어🙂🚀🦀“”«»—…]{1,3}",
        1 => any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..12)
        .prop_map(|parts| parts.concat().replace('<', "‹").replace('>', "›"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn decoding_an_encoding_gives_the_text_back(s in text()) {
        for (name, tokenizer) in tokenizers() {
            let ids = tokenizer.encode(&s).unwrap();
            let back = tokenizer.decode_skipping_special_tokens(&ids).unwrap();
            prop_assert_eq!(&back, &s, "{}: ids {:?}", name, ids);
        }
    }

    #[test]
    fn ids_are_in_the_vocabulary_and_pieces_match_ids(s in text()) {
        for (name, tokenizer) in tokenizers() {
            let encoding = tokenizer.tokenize(&s).unwrap();
            prop_assert_eq!(encoding.ids.len(), encoding.tokens.len());
            for (id, piece) in encoding.ids.iter().zip(&encoding.tokens) {
                prop_assert!((*id as usize) < tokenizer.vocab_size(), "{}: id {}", name, id);
                let stored = tokenizer.piece(*id);
                prop_assert_eq!(stored.as_deref(), Some(piece.as_str()));
            }
        }
    }

    #[test]
    fn byte_level_token_texts_concatenate_to_the_text(s in text()) {
        // Whole characters only: a character split across tokens shows as `\xHH` per token.
        for (name, tokenizer) in &tokenizers()[..2] {
            let ids = tokenizer.encode_without_special_tokens(&s).unwrap();
            let texts: Vec<_> = ids.iter().map(|&id| tokenizer.token_text(id).unwrap()).collect();
            if texts.iter().all(|t| !t.bytes) {
                let joined: String = texts.iter().map(|t| t.text.as_str()).collect();
                prop_assert_eq!(&joined, &s, "{}", name);
            }
        }
    }

    #[test]
    fn damaged_tokenizer_files_are_errors_not_panics(
        cut in 0usize..20_000,
        flips in prop::collection::vec((0usize..20_000, any::<u8>()), 0..4),
    ) {
        let original = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/tokenizers/llama2-sentencepiece/tokenizer.json"),
        )
        .unwrap();
        let mut bytes = original[..cut.min(original.len())].to_vec();
        for (at, byte) in flips {
            if let Some(b) = bytes.get_mut(at) {
                *b = byte;
            }
        }
        match Tokenizer::from_json_bytes("damaged.json", &bytes) {
            Ok(tokenizer) => {
                // Whatever survived must still encode and decode without panicking.
                if let Ok(ids) = tokenizer.encode("Der Bäcker 🦀\n") {
                    let _ = tokenizer.decode(&ids);
                }
            }
            Err(e) => {
                let typed = matches!(e, TextError::Malformed { .. } | TextError::NotUtf8 { .. });
                prop_assert!(typed, "{:?}", e);
            }
        }
    }
}
