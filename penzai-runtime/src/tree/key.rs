//! Keys: how a parent names one of its children.

use std::borrow::Cow;
use std::fmt;

/// A borrowed key, handed out while visiting children so that traversal never allocates.
///
/// `Field` names a struct field (or a named step of a sequence), `Index` a position in a
/// sequence, `Name` an entry of a string-keyed map.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyRef<'a> {
    /// A struct field or a named sequence entry, printed `.name`.
    Field(&'a str),
    /// A position in a sequence, printed `[3]`.
    Index(usize),
    /// A map entry, printed `["a.b"]`.
    Name(&'a str),
}

/// An owned key: one step of a [`KeyPath`](crate::tree::KeyPath).
#[derive(Clone, Debug, Eq, PartialOrd, Ord)]
pub enum Key {
    /// A struct field or a named sequence entry, printed `.name`.
    Field(Cow<'static, str>),
    /// A position in a sequence, printed `[3]`.
    Index(usize),
    /// A map entry, printed `["a.b"]`.
    Name(String),
}

impl Key {
    /// A field key from a static name (no allocation).
    pub const fn field(name: &'static str) -> Key {
        Key::Field(Cow::Borrowed(name))
    }

    /// The borrowed form of this key.
    pub fn as_ref(&self) -> KeyRef<'_> {
        match self {
            Key::Field(f) => KeyRef::Field(f),
            Key::Index(i) => KeyRef::Index(*i),
            Key::Name(n) => KeyRef::Name(n),
        }
    }
}

impl KeyRef<'_> {
    /// An owned copy of this key.
    pub fn to_owned_key(self) -> Key {
        match self {
            KeyRef::Field(f) => Key::Field(super::field_names::field_name(f)),
            KeyRef::Index(i) => Key::Index(i),
            KeyRef::Name(n) => Key::Name(n.to_owned()),
        }
    }
}

/// Equal names are equal keys; field names are interned, so two keys built from one
/// name usually share its text, and comparing them is a pointer check (selections compare
/// keys along every path).
impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        match (self, other) {
            (Key::Field(a), Key::Field(b)) => std::ptr::eq(&**a, &**b) || a == b,
            (Key::Index(a), Key::Index(b)) => a == b,
            (Key::Name(a), Key::Name(b)) => a == b,
            _ => false,
        }
    }
}

/// Hashes what [`PartialEq`] compares: the kind of key and its name or position.
impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        match self {
            Key::Field(name) => name.hash(state),
            Key::Index(i) => i.hash(state),
            Key::Name(name) => name.hash(state),
        }
    }
}

impl PartialEq<KeyRef<'_>> for Key {
    fn eq(&self, other: &KeyRef<'_>) -> bool {
        self.as_ref() == *other
    }
}

impl PartialEq<Key> for KeyRef<'_> {
    fn eq(&self, other: &Key) -> bool {
        *self == other.as_ref()
    }
}

impl From<KeyRef<'_>> for Key {
    fn from(k: KeyRef<'_>) -> Key {
        k.to_owned_key()
    }
}

/// True when `name` can be printed as `.name` and parsed back (ASCII letters, digits, `_`).
pub fn is_field_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl fmt::Display for KeyRef<'_> {
    /// Prints the key as it appears inside a path, with its leading `.` for fields.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyRef::Field(name) => write!(f, ".{name}"),
            KeyRef::Index(i) => write!(f, "[{i}]"),
            KeyRef::Name(name) => {
                f.write_str("[")?;
                write_quoted(f, name)?;
                f.write_str("]")
            }
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_ref().fmt(f)
    }
}

/// Writes `s` as a double-quoted string with `\"`, `\\` and control characters escaped.
pub(crate) fn write_quoted(f: &mut impl fmt::Write, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if c.is_control() => write!(f, "\\u{{{:x}}}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}
