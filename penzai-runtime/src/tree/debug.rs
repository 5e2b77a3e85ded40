//! A compact one-line `Debug` form of any tree, for assertions and logs.

use std::fmt;

use super::key::KeyRef;
use super::node::{Leaf, Tree};

/// Writes `Type(field=value, ...)`, static fields first, then children.
pub(crate) fn fmt_tree(node: &dyn Tree, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if let Some(leaf) = node.leaf() {
        return match leaf {
            Leaf::Bool(b) => write!(f, "{b}"),
            Leaf::Int(i) => write!(f, "{i}"),
            Leaf::UInt(u) => write!(f, "{u}"),
            Leaf::Float(x) => write!(f, "{x:?}"),
            Leaf::Float32(x) => write!(f, "{x:?}"),
            Leaf::Str(s) => write!(f, "{s:?}"),
            Leaf::Array { array, label } => match label {
                Some(label) => write!(f, "Parameter({label:?}, {array:?})"),
                None => write!(f, "{array:?}"),
            },
            Leaf::Opaque(d) => write!(f, "{d:?}"),
        };
    }
    write!(f, "{}(", node.type_name())?;
    let mut first = true;
    let mut result = Ok(());
    node.visit_static_fields(&mut |name, value| {
        if result.is_ok() {
            let sep = if first { "" } else { ", " };
            first = false;
            result = write!(f, "{sep}{name}={value:?}");
        }
    });
    node.visit_children(&mut |key, child| {
        if result.is_ok() {
            let sep = if first { "" } else { ", " };
            first = false;
            result = match key {
                KeyRef::Field(name) => write!(f, "{sep}{name}={child:?}"),
                other => write!(f, "{sep}{other}={child:?}"),
            };
        }
    });
    result?;
    f.write_str(")")
}
