//! Turning serde_json's line/column positions into byte offsets, so JSON errors point into the
//! file the same way binary errors do.

use super::IoError;
use crate::quote::clip_message;

/// Byte offset (within `text`) of the position serde_json reports for `err`.
///
/// serde_json counts lines from 1 and columns in bytes from 1; a column of 0 means "at the
/// start of the line" (reported for errors found at a newline). The result is clamped to the
/// text, since end-of-input errors may point one past it.
pub(crate) fn byte_offset(text: &str, err: &serde_json::Error) -> usize {
    let line_start = if err.line() <= 1 {
        0
    } else {
        text.match_indices('\n')
            .nth(err.line() - 2)
            .map_or(text.len(), |(i, _)| i + 1)
    };
    (line_start + err.column().saturating_sub(1)).min(text.len())
}

/// serde_json's message without its " at line L column C" suffix (we report a byte offset),
/// with the values it quotes cut to a bounded prefix ([`clip_message`]): serde quotes a
/// string it rejects whole, however long.
pub(crate) fn message(err: &serde_json::Error) -> String {
    let full = err.to_string();
    let without_position = match full.rfind(" at line ") {
        Some(i) => &full[..i],
        None => &full,
    };
    clip_message(without_position)
}

/// Parses `bytes` (which start at absolute offset `base` in `file`) as UTF-8 text.
pub(crate) fn utf8<'a>(file: &str, bytes: &'a [u8], base: u64) -> Result<&'a str, IoError> {
    std::str::from_utf8(bytes).map_err(|e| IoError::NotUtf8 {
        file: file.to_owned(),
        offset: base + e.valid_up_to() as u64,
    })
}

/// Deserializes JSON `text` (starting at absolute offset `base` in `file`), mapping errors to
/// [`IoError::InvalidJson`] with the absolute offset.
pub(crate) fn parse<'a, T: serde::Deserialize<'a>>(
    file: &str,
    text: &'a str,
    base: u64,
) -> Result<T, IoError> {
    serde_json::from_str(text).map_err(|e| IoError::InvalidJson {
        file: file.to_owned(),
        offset: base + byte_offset(text, &e) as u64,
        message: message(&e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offset_of(text: &str) -> usize {
        let err = serde_json::from_str::<serde_json::Value>(text).unwrap_err();
        byte_offset(text, &err)
    }

    #[test]
    fn offsets_count_bytes_across_lines() {
        assert_eq!(offset_of("{\"a\": x}"), 6);
        assert_eq!(offset_of("{\n  \"a\": 1,\n  \"b\": ?\n}"), 19);
        assert_eq!(offset_of("{\"a\": 1"), 6);
        assert_eq!(offset_of(""), 0);
    }

    #[test]
    fn messages_drop_the_line_column_suffix() {
        let err = serde_json::from_str::<serde_json::Value>("{\"a\": x}").unwrap_err();
        assert_eq!(message(&err), "expected value");
    }
}
