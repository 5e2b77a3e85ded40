//! `KeyPath`: the address of a node, printed and parsed as `blocks[3].mlp.up.weights`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::key::{Key, KeyRef, is_field_name};

/// A path from the root of a tree to one of its nodes.
///
/// Its text form is what the Treescope viewer copies and what selectors accept:
/// fields as `.name` (the first without its dot), sequence positions as `[3]`, map keys
/// quoted as `["a.b"]`. The empty path is the root.
///
/// Parsing also accepts the forms Penzai users paste: map keys in single quotes
/// (`['c'][0]['value']`, Python's `repr`) and a leading dot (`.sublayers[0]`, JAX's
/// `keystr`). Printing always uses the canonical form above.
///
/// ```
/// use penzai::prelude::*;
/// let p: KeyPath = "blocks[3].mlp.up.weights".parse().unwrap();
/// assert_eq!(p.len(), 5);
/// assert_eq!(p.to_string(), "blocks[3].mlp.up.weights");
/// let q: KeyPath = r#"params["a.b"][0]"#.parse().unwrap();
/// assert_eq!(q.to_string(), r#"params["a.b"][0]"#);
/// let penzai_style: KeyPath = "['c'][0]['value']".parse().unwrap();
/// assert_eq!(penzai_style.to_string(), r#"["c"][0]["value"]"#);
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyPath {
    keys: Vec<Key>,
}

/// A malformed key path: the message says what was expected at `offset` (a byte offset).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed key path {text:?} at byte {offset}: {message}")]
pub struct KeyPathParseError {
    /// The text that failed to parse.
    pub text: String,
    /// Byte offset of the first offending character.
    pub offset: usize,
    /// What was expected there.
    pub message: String,
}

impl KeyPath {
    /// The empty path, addressing the root.
    pub const fn root() -> KeyPath {
        KeyPath { keys: Vec::new() }
    }

    /// A path from its keys.
    pub fn from_keys(keys: impl IntoIterator<Item = Key>) -> KeyPath {
        KeyPath {
            keys: keys.into_iter().collect(),
        }
    }

    /// The keys, outermost first.
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// Number of keys (0 for the root).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True for the root path.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// This path extended by one key.
    pub fn child(mut self, key: Key) -> KeyPath {
        self.keys.push(key);
        self
    }

    /// This path extended by a field.
    pub fn field(self, name: impl Into<std::borrow::Cow<'static, str>>) -> KeyPath {
        self.child(Key::Field(name.into()))
    }

    /// This path extended by a sequence position.
    pub fn index(self, i: usize) -> KeyPath {
        self.child(Key::Index(i))
    }

    /// This path extended by a map key.
    pub fn name(self, name: impl Into<String>) -> KeyPath {
        self.child(Key::Name(name.into()))
    }

    /// Appends a key in place.
    pub fn push(&mut self, key: Key) {
        self.keys.push(key);
    }

    /// Removes and returns the last key.
    pub fn pop(&mut self) -> Option<Key> {
        self.keys.pop()
    }

    /// The path of the parent node, or `None` for the root.
    pub fn parent(&self) -> Option<KeyPath> {
        let (_, rest) = self.keys.split_last()?;
        Some(KeyPath {
            keys: rest.to_vec(),
        })
    }

    /// The last key, or `None` for the root.
    pub fn last(&self) -> Option<&Key> {
        self.keys.last()
    }

    /// True when `prefix` is this path or one of its ancestors.
    pub fn starts_with(&self, prefix: &KeyPath) -> bool {
        self.keys.starts_with(&prefix.keys)
    }

    /// This path followed by `rest`.
    pub fn join(&self, rest: &KeyPath) -> KeyPath {
        let mut keys = self.keys.clone();
        keys.extend(rest.keys.iter().cloned());
        KeyPath { keys }
    }

    /// The part of this path after `prefix`, if `prefix` is a prefix of it.
    pub fn strip_prefix(&self, prefix: &KeyPath) -> Option<KeyPath> {
        self.keys
            .strip_prefix(prefix.keys.as_slice())
            .map(|rest| KeyPath {
                keys: rest.to_vec(),
            })
    }

    /// Parses the text form; see the type's documentation for the grammar.
    pub fn parse_str(text: &str) -> Result<KeyPath, KeyPathParseError> {
        Parser { text, pos: 0 }.parse()
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, key) in self.keys.iter().enumerate() {
            match key {
                Key::Field(name) if i == 0 => f.write_str(name)?,
                other => write!(f, "{other}")?,
            }
        }
        Ok(())
    }
}

impl fmt::Debug for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyPath({self})")
    }
}

impl FromStr for KeyPath {
    type Err = KeyPathParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KeyPath::parse_str(s)
    }
}

impl TryFrom<&str> for KeyPath {
    type Error = KeyPathParseError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        KeyPath::parse_str(s)
    }
}

impl From<Vec<Key>> for KeyPath {
    fn from(keys: Vec<Key>) -> KeyPath {
        KeyPath { keys }
    }
}

impl<'a> FromIterator<KeyRef<'a>> for KeyPath {
    fn from_iter<I: IntoIterator<Item = KeyRef<'a>>>(iter: I) -> KeyPath {
        KeyPath {
            keys: iter.into_iter().map(KeyRef::to_owned_key).collect(),
        }
    }
}

impl Serialize for KeyPath {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KeyPath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        KeyPath::parse_str(&text).map_err(serde::de::Error::custom)
    }
}

struct Parser<'t> {
    text: &'t str,
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, offset: usize, message: impl Into<String>) -> KeyPathParseError {
        KeyPathParseError {
            text: self.text.to_owned(),
            offset,
            message: message.into(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn parse(mut self) -> Result<KeyPath, KeyPathParseError> {
        let mut keys = Vec::new();
        let mut first = true;
        while let Some(c) = self.peek() {
            match c {
                // A leading '.' is JAX's `keystr` form (`.sublayers[0]`); it means a field.
                '.' => {
                    self.pos += 1;
                    keys.push(self.field()?);
                }
                '[' => {
                    self.pos += 1;
                    keys.push(self.bracket()?);
                }
                c if first && (c.is_ascii_alphanumeric() || c == '_') => keys.push(self.field()?),
                other => {
                    return Err(self.err(
                        self.pos,
                        format!("expected '.' or '[' before the next key, found {other:?}"),
                    ));
                }
            }
            first = false;
        }
        Ok(KeyPath { keys })
    }

    fn field(&mut self) -> Result<Key, KeyPathParseError> {
        let start = self.pos;
        let rest = &self.text[start..];
        let len = rest
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        if len == 0 {
            let found = rest
                .chars()
                .next()
                .map_or("the end".to_owned(), |c| format!("{c:?}"));
            return Err(self.err(
                start,
                format!("expected a field name (letters, digits, '_'), found {found}"),
            ));
        }
        self.pos += len;
        let name = &rest[..len];
        debug_assert!(is_field_name(name));
        Ok(Key::Field(super::field_names::field_name(name)))
    }

    fn bracket(&mut self) -> Result<Key, KeyPathParseError> {
        let start = self.pos;
        let key = match self.peek() {
            Some(q @ ('"' | '\'')) => Key::Name(self.quoted(q)?),
            Some(c) if c.is_ascii_digit() => {
                let rest = &self.text[start..];
                let len = rest.bytes().take_while(u8::is_ascii_digit).count();
                let digits = &rest[..len];
                let index = digits.parse::<usize>().map_err(|_| {
                    self.err(start, format!("index {digits} does not fit in usize"))
                })?;
                self.pos += len;
                Key::Index(index)
            }
            Some(c) => {
                return Err(self.err(
                    start,
                    format!("expected an index or a quoted name after '[', found {c:?}"),
                ));
            }
            None => {
                return Err(self.err(
                    start,
                    "expected an index or a quoted name after '[', found the end",
                ));
            }
        };
        match self.peek() {
            Some(']') => {
                self.pos += 1;
                Ok(key)
            }
            Some(c) => Err(self.err(self.pos, format!("expected ']', found {c:?}"))),
            None => Err(self.err(self.pos, "expected ']', found the end")),
        }
    }

    /// A name between `quote`s: `"..."` as this crate prints it, or `'...'` as Python's
    /// `repr` (and so Penzai's `pretty_keystr`) prints it; either quote escapes with `\`.
    fn quoted(&mut self, quote: char) -> Result<String, KeyPathParseError> {
        let open = self.pos;
        self.pos += 1; // the opening quote
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.err(open, "unterminated quoted name"));
            };
            let at = self.pos;
            self.pos += c.len_utf8();
            match c {
                c if c == quote => return Ok(out),
                '\\' => {
                    let Some(e) = self.peek() else {
                        return Err(self.err(at, "unterminated escape"));
                    };
                    self.pos += e.len_utf8();
                    match e {
                        '"' => out.push('"'),
                        '\'' => out.push('\''),
                        '\\' => out.push('\\'),
                        'n' => out.push('\n'),
                        'r' => out.push('\r'),
                        't' => out.push('\t'),
                        'u' => out.push(self.unicode_escape(at)?),
                        other => return Err(self.err(at, format!("unknown escape \\{other}"))),
                    }
                }
                c => out.push(c),
            }
        }
    }

    fn unicode_escape(&mut self, at: usize) -> Result<char, KeyPathParseError> {
        let rest = &self.text[self.pos..];
        let Some(body) = rest.strip_prefix('{') else {
            return Err(self.err(at, "expected '{' after \\u"));
        };
        let Some(close) = body.find('}') else {
            return Err(self.err(at, "unterminated \\u{...} escape"));
        };
        let hex = &body[..close];
        let c = u32::from_str_radix(hex, 16)
            .ok()
            .and_then(char::from_u32)
            .ok_or_else(|| self.err(at, format!("\\u{{{hex}}} is not a unicode scalar value")))?;
        self.pos += close + 2;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(text: &str) {
        let p: KeyPath = text.parse().unwrap();
        assert_eq!(p.to_string(), text);
    }

    #[test]
    fn fields_indices_and_names_round_trip() {
        roundtrip("");
        roundtrip("blocks[3].mlp.up.weights");
        roundtrip("[0][1].x");
        roundtrip(r#"params["a.b"]["quote\"d"].w"#);
        roundtrip("pair.0.1");
    }

    #[test]
    fn parses_into_keys() {
        let p: KeyPath = r#"a[2]["k"]"#.parse().unwrap();
        assert_eq!(
            p.keys(),
            &[Key::field("a"), Key::Index(2), Key::Name("k".into())]
        );
    }

    #[test]
    fn errors_name_the_byte_offset() {
        let e = KeyPath::parse_str("blocks[3.mlp").unwrap_err();
        assert_eq!(e.offset, 8);
        assert_eq!(
            e.to_string(),
            "malformed key path \"blocks[3.mlp\" at byte 8: expected ']', found '.'"
        );
        let e = KeyPath::parse_str("a..b").unwrap_err();
        assert_eq!(e.offset, 2);
        let e = KeyPath::parse_str(r#"a["x"#).unwrap_err();
        assert_eq!(
            (e.offset, e.message.as_str()),
            (2, "unterminated quoted name")
        );
        let e = KeyPath::parse_str("a[x]").unwrap_err();
        assert_eq!(e.offset, 2);
        let e = KeyPath::parse_str("a b").unwrap_err();
        assert_eq!(e.offset, 1);
        let e = KeyPath::parse_str("a[99999999999999999999999]").unwrap_err();
        assert_eq!(e.offset, 2);
        let e = KeyPath::parse_str(r#"a["\q"]"#).unwrap_err();
        assert_eq!(e.offset, 3);
    }

    #[test]
    fn unicode_and_control_characters_in_names_round_trip() {
        let p = KeyPath::root().name("tab\there").name("ünï\u{1}").index(4);
        let text = p.to_string();
        assert_eq!(text, "[\"tab\\there\"][\"ünï\\u{1}\"][4]");
        assert_eq!(text.parse::<KeyPath>().unwrap(), p);
    }

    #[test]
    fn penzai_and_jax_spellings_parse_to_the_canonical_path() {
        let canonical: KeyPath = r#"["c"][0]["value"]"#.parse().unwrap();
        assert_eq!("['c'][0]['value']".parse::<KeyPath>().unwrap(), canonical);
        let quoted: KeyPath = r#"['it\'s "x"']"#.parse().unwrap();
        assert_eq!(quoted, KeyPath::root().name("it's \"x\""));
        let leading_dot: KeyPath = ".sublayers[1].weights".parse().unwrap();
        assert_eq!(leading_dot.to_string(), "sublayers[1].weights");
        let e = KeyPath::parse_str("['c\"]").unwrap_err();
        assert_eq!(
            (e.offset, e.message.as_str()),
            (1, "unterminated quoted name")
        );
        assert_eq!(KeyPath::parse_str(".").unwrap_err().offset, 1);
    }

    #[test]
    fn prefix_helpers() {
        let p: KeyPath = "a.b[1]".parse().unwrap();
        let a: KeyPath = "a".parse().unwrap();
        assert!(p.starts_with(&a));
        assert_eq!(p.strip_prefix(&a).unwrap().to_string(), "b[1]");
        assert_eq!(p.parent().unwrap().to_string(), "a.b");
        assert_eq!(a.join(&"c[0]".parse().unwrap()).to_string(), "a.c[0]");
    }
}
