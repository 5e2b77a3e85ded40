//! Axis names: the identity of a named axis.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The name of an axis (`"batch"`, `"seq"`, `"embedding"`).
///
/// Names are compared by their text. Cloning is a reference-count increment, because names
/// are copied into every array and every error. Integer-like names (`"0"`) are ordinary
/// strings here: positional axes are a separate concept, not numbered names.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AxisName(Arc<str>);

impl AxisName {
    /// Makes a name from any string.
    pub fn new(name: impl Into<Arc<str>>) -> AxisName {
        AxisName(name.into())
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for AxisName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for AxisName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for AxisName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for AxisName {
    fn from(name: &str) -> AxisName {
        AxisName(name.into())
    }
}

impl From<String> for AxisName {
    fn from(name: String) -> AxisName {
        AxisName(name.into())
    }
}

impl From<&AxisName> for AxisName {
    fn from(name: &AxisName) -> AxisName {
        name.clone()
    }
}

impl PartialEq<str> for AxisName {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for AxisName {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl fmt::Display for AxisName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Quoted, so that a name with spaces or an empty name stays visible in error messages;
/// escaped, and cut after [`QUOTE_LIMIT`](crate::quote::QUOTE_LIMIT) bytes (a name read from a
/// file may be anything).
impl fmt::Debug for AxisName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&crate::quote::Quoted(&self.0), f)
    }
}

impl Serialize for AxisName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AxisName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<AxisName, D::Error> {
        String::deserialize(deserializer).map(AxisName::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_by_text() {
        assert_eq!(AxisName::from("seq"), AxisName::new(String::from("seq")));
        assert_eq!(AxisName::from("seq"), "seq");
        assert_ne!(AxisName::from("seq"), AxisName::from("kv_seq"));
    }

    #[test]
    fn display_is_bare_and_debug_is_quoted() {
        let name = AxisName::from("batch");
        assert_eq!(name.to_string(), "batch");
        assert_eq!(format!("{name:?}"), "\"batch\"");
    }

    #[test]
    fn serializes_as_a_plain_string() {
        let name = AxisName::from("heads");
        let json = serde_json::to_string(&name).unwrap();
        assert_eq!(json, "\"heads\"");
        assert_eq!(serde_json::from_str::<AxisName>(&json).unwrap(), name);
    }
}
