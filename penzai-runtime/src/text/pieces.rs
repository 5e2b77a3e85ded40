//! How one vocabulary piece reads as text, for token chips: byte-level pieces map back to
//! their bytes, byte-fallback pieces (`<0x0A>`) to their byte, SentencePiece's `▁` to a space.
//!
//! A whole sequence is decoded by the library's decoder; a single piece cannot be (Llama 2's
//! decoder strips the first space of a text, which would hide every word boundary).

use tokenizers::DecoderWrapper;

/// What the tokenizer's decoder does to pieces, read once from its configuration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DecoderKind {
    /// GPT-2's byte-to-character table (`Ġ` is a space).
    byte_level: bool,
    /// `<0xHH>` pieces are single bytes.
    byte_fallback: bool,
    /// `▁` stands for a space (a Metaspace decoder, or a Replace of `▁` by a space).
    metaspace: bool,
}

impl DecoderKind {
    pub(crate) fn of(decoder: Option<&DecoderWrapper>) -> DecoderKind {
        let mut kind = DecoderKind::default();
        // The decoders' fields are private; their JSON form says everything needed.
        if let Some(json) = decoder.and_then(|d| serde_json::to_value(d).ok()) {
            kind.scan(&json);
        }
        kind
    }

    fn scan(&mut self, json: &serde_json::Value) {
        match json.get("type").and_then(|t| t.as_str()) {
            Some("ByteLevel") => self.byte_level = true,
            Some("ByteFallback") => self.byte_fallback = true,
            Some("Metaspace") => self.metaspace = true,
            Some("Replace") => {
                let pattern = json.pointer("/pattern/String").and_then(|p| p.as_str());
                if pattern == Some("▁") {
                    self.metaspace = true;
                }
            }
            _ => {}
        }
        if let Some(list) = json.get("decoders").and_then(|d| d.as_array()) {
            for d in list {
                self.scan(d);
            }
        }
    }
}

/// The text `piece` stands for under `kind`, and whether it holds bytes that are not a
/// whole character (written as `\xHH`).
pub(crate) fn display_text(piece: &str, kind: DecoderKind) -> (String, bool) {
    if kind.byte_fallback
        && let Some(byte) = fallback_byte(piece)
    {
        return bytes_as_text(&[byte]);
    }
    if kind.byte_level {
        let bytes: Vec<u8> = piece
            .chars()
            .flat_map(|c| match byte_of_char(c) {
                Some(b) => vec![b],
                None => c.to_string().into_bytes(),
            })
            .collect();
        return bytes_as_text(&bytes);
    }
    if kind.metaspace {
        return (piece.replace('▁', " "), false);
    }
    (piece.to_owned(), false)
}

/// The byte of a byte-fallback piece `<0xHH>`.
fn fallback_byte(piece: &str) -> Option<u8> {
    let hex = piece.strip_prefix("<0x")?.strip_suffix('>')?;
    if hex.len() != 2 {
        return None;
    }
    u8::from_str_radix(hex, 16).ok()
}

/// `bytes` as text: valid UTF-8 as itself, every other byte as `\xHH` (and then `true`).
fn bytes_as_text(mut bytes: &[u8]) -> (String, bool) {
    let mut out = String::new();
    let mut partial = false;
    while !bytes.is_empty() {
        match std::str::from_utf8(bytes) {
            Ok(s) => {
                out.push_str(s);
                break;
            }
            Err(e) => {
                let (good, rest) = bytes.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(good).unwrap_or_default());
                let bad = e.error_len().unwrap_or(rest.len());
                partial = true;
                for b in &rest[..bad] {
                    out.push_str(&format!("\\x{b:02X}"));
                }
                bytes = &rest[bad..];
            }
        }
    }
    (out, partial)
}

/// The inverse of GPT-2's byte-to-character table: printable Latin-1 bytes stand for
/// themselves, the other 68 bytes for U+0100.. in byte order.
fn byte_of_char(c: char) -> Option<u8> {
    let code = c as u32;
    if is_printable_byte(code) {
        return u8::try_from(code).ok();
    }
    let n = code.checked_sub(256)?;
    (0u32..=255)
        .filter(|&b| !is_printable_byte(b))
        .nth(n as usize)
        .and_then(|b| u8::try_from(b).ok())
}

fn is_printable_byte(b: u32) -> bool {
    (0x21..=0x7E).contains(&b) || (0xA1..=0xAC).contains(&b) || (0xAE..=0xFF).contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BYTE_LEVEL: DecoderKind = DecoderKind {
        byte_level: true,
        byte_fallback: false,
        metaspace: false,
    };
    const SENTENCEPIECE: DecoderKind = DecoderKind {
        byte_level: false,
        byte_fallback: true,
        metaspace: true,
    };

    #[test]
    fn byte_level_pieces_read_as_their_bytes() {
        assert_eq!(display_text("Ġworld", BYTE_LEVEL), (" world".into(), false));
        assert_eq!(display_text("Ċ", BYTE_LEVEL).0, "\n");
        assert_eq!(display_text("ĉ", BYTE_LEVEL).0, "\t");
        assert_eq!(display_text("Ã©", BYTE_LEVEL), ("é".into(), false));
        // The first two bytes of 日 (E6 97 A5) are not a character yet.
        assert_eq!(display_text("æĹ", BYTE_LEVEL), ("\\xE6\\x97".into(), true));
    }

    #[test]
    fn every_byte_has_one_character() {
        let chars: std::collections::BTreeSet<char> = (0u32..0x200)
            .filter_map(char::from_u32)
            .filter(|&c| byte_of_char(c).is_some())
            .collect();
        assert_eq!(chars.len(), 256);
        let bytes: std::collections::BTreeSet<u8> =
            chars.iter().filter_map(|&c| byte_of_char(c)).collect();
        assert_eq!(bytes.len(), 256);
        assert_eq!(byte_of_char('Ġ'), Some(b' '));
        assert_eq!(byte_of_char('Ā'), Some(0));
    }

    #[test]
    fn sentencepiece_pieces_show_spaces_and_fallback_bytes() {
        assert_eq!(
            display_text("▁Hello", SENTENCEPIECE),
            (" Hello".into(), false)
        );
        assert_eq!(display_text("<0x0A>", SENTENCEPIECE), ("\n".into(), false));
        assert_eq!(
            display_text("<0xE6>", SENTENCEPIECE),
            ("\\xE6".into(), true)
        );
        assert_eq!(display_text("<0x41>", SENTENCEPIECE).0, "A");
        // Only exact `<0xHH>` pieces are bytes.
        assert_eq!(display_text("<0x4>", SENTENCEPIECE).0, "<0x4>");
    }
}
