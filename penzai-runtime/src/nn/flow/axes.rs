//! Axes with what is known of their sizes, in fixed-capacity sets that `const fn`s can
//! build: the one representation the axis-flow engine works on.

use std::fmt;

use crate::nx::NamedShape;

use super::message::{Message, str_eq};

/// The most axes a set holds. A flow with more is reported as an error rather than cut.
pub const MAX_AXES: usize = 16;

/// What is known of an axis's size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Size<'a> {
    /// Not stated: any size.
    Any,
    /// Exactly this size.
    Known(usize),
    /// A size `model!` reads as a Rust expression (`hidden: width`): known once the model
    /// is built, and checked then; the text is how messages show it.
    Expr(&'a str),
}

impl<'a> Size<'a> {
    /// `Known(n)` for `Some(n)`, `Any` for `None`.
    pub const fn from_option(size: Option<usize>) -> Size<'a> {
        match size {
            Some(n) => Size::Known(n),
            None => Size::Any,
        }
    }

    /// The size, when it is a number.
    pub const fn known(self) -> Option<usize> {
        match self {
            Size::Known(n) => Some(n),
            _ => None,
        }
    }

    /// Whether the size is stated at all (a number or an expression).
    pub const fn is_stated(self) -> bool {
        !matches!(self, Size::Any)
    }

    /// Whether two sizes can be the same size: only two different numbers cannot.
    pub const fn agrees(self, other: Size<'_>) -> bool {
        match (self, other) {
            (Size::Known(a), Size::Known(b)) => a == b,
            _ => true,
        }
    }

    /// The more precise of two agreeing sizes (a number over an expression over any).
    pub const fn or(self, other: Size<'a>) -> Size<'a> {
        match (self, other) {
            (Size::Known(_), _) => self,
            (_, Size::Known(_)) => other,
            (Size::Expr(_), _) => self,
            _ => other,
        }
    }
}

/// One axis: a name and what is known of its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Axis<'a> {
    /// The axis name.
    pub name: &'a str,
    /// What is known of its size.
    pub size: Size<'a>,
}

impl<'a> Axis<'a> {
    /// An axis of any size.
    pub const fn any(name: &'a str) -> Axis<'a> {
        Axis {
            name,
            size: Size::Any,
        }
    }

    /// An axis of a known size.
    pub const fn sized(name: &'a str, size: usize) -> Axis<'a> {
        Axis {
            name,
            size: Size::Known(size),
        }
    }

    /// An axis whose size is a Rust expression, shown as `text` (see [`Size::Expr`]).
    pub const fn expr(name: &'a str, text: &'a str) -> Axis<'a> {
        Axis {
            name,
            size: Size::Expr(text),
        }
    }

    /// An axis of size `size` when it is `Some`, else of any size.
    pub const fn maybe_sized(name: &'a str, size: Option<usize>) -> Axis<'a> {
        Axis {
            name,
            size: Size::from_option(size),
        }
    }
}

const EMPTY: Axis<'static> = Axis::any("");

/// A set of distinct axes, in the order they came: the axes flowing through a model at one
/// point, or one part of a [`Signature`](super::Signature).
///
/// It holds at most [`MAX_AXES`] axes without allocating, so constant evaluation (`model!`)
/// and run-time checks share it; one more sets [`overflowed`](AxisSet::overflowed) and the
/// flow reports it. Equality compares names and sizes, not order. Displays like `model!`
/// writes axes: `[batch, seq, embedding: 64]`.
#[derive(Clone, Copy)]
pub struct AxisSet<'a> {
    axes: [Axis<'a>; MAX_AXES],
    len: usize,
    overflowed: bool,
}

impl<'a> AxisSet<'a> {
    /// No axes.
    pub const EMPTY: AxisSet<'static> = AxisSet {
        axes: [EMPTY; MAX_AXES],
        len: 0,
        overflowed: false,
    };

    /// No axes.
    pub const fn new() -> AxisSet<'a> {
        AxisSet {
            axes: [EMPTY; MAX_AXES],
            len: 0,
            overflowed: false,
        }
    }

    /// The set of `axes` (a name listed twice is kept once, with the first size).
    pub const fn of(axes: &[Axis<'a>]) -> AxisSet<'a> {
        let mut set = AxisSet::new();
        let mut i = 0;
        while i < axes.len() {
            set.insert(axes[i]);
            i += 1;
        }
        set
    }

    /// Axes of any size named `names`.
    pub const fn of_names(names: &[&'a str]) -> AxisSet<'a> {
        let mut set = AxisSet::new();
        let mut i = 0;
        while i < names.len() {
            set.insert(Axis::any(names[i]));
            i += 1;
        }
        set
    }

    /// The axes of an array's named shape, with their sizes.
    pub fn of_shape(shape: &'a NamedShape) -> AxisSet<'a> {
        let mut set = AxisSet::new();
        for (name, size) in shape.iter() {
            set.insert(Axis::sized(name.as_str(), size));
        }
        set
    }

    /// The axes, in order.
    pub const fn as_slice(&self) -> &[Axis<'a>] {
        self.axes.split_at(self.len).0
    }

    /// How many axes there are.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// True when there are none.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when more than [`MAX_AXES`] axes were put in (the extra ones were dropped).
    pub const fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// The axis `i` (in order), if there is one.
    pub const fn at(&self, i: usize) -> Option<Axis<'a>> {
        if i < self.len {
            Some(self.axes[i])
        } else {
            None
        }
    }

    /// The axis named `name`.
    pub const fn get(&self, name: &str) -> Option<Axis<'a>> {
        match self.position(name) {
            Some(i) => Some(self.axes[i]),
            None => None,
        }
    }

    /// True when there is an axis `name`.
    pub const fn contains(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    const fn position(&self, name: &str) -> Option<usize> {
        let mut i = 0;
        while i < self.len {
            if str_eq(self.axes[i].name, name) {
                return Some(i);
            }
            i += 1;
        }
        None
    }

    /// Adds `axis`, or, when an axis of that name is there, keeps the more precise of the
    /// two sizes. Returns `false` (and marks the set as overflowed) when the set is full.
    pub const fn insert(&mut self, axis: Axis<'a>) -> bool {
        if let Some(i) = self.position(axis.name) {
            self.axes[i].size = self.axes[i].size.or(axis.size);
            return true;
        }
        if self.len == MAX_AXES {
            self.overflowed = true;
            return false;
        }
        self.axes[self.len] = axis;
        self.len += 1;
        true
    }

    /// Removes the axis `name` and returns it, keeping the others in order.
    pub const fn remove(&mut self, name: &str) -> Option<Axis<'a>> {
        let Some(at) = self.position(name) else {
            return None;
        };
        let removed = self.axes[at];
        let mut i = at;
        while i + 1 < self.len {
            self.axes[i] = self.axes[i + 1];
            i += 1;
        }
        self.len -= 1;
        Some(removed)
    }

    /// Whether the two sets definitely agree: the same names, and no two sizes that differ
    /// (an unknown size agrees with any).
    pub const fn agrees_with(&self, other: &AxisSet<'_>) -> bool {
        if self.len != other.len {
            return false;
        }
        let mut i = 0;
        while i < self.len {
            match other.get(self.axes[i].name) {
                None => return false,
                Some(theirs) => {
                    if !self.axes[i].size.agrees(theirs.size) {
                        return false;
                    }
                }
            }
            i += 1;
        }
        true
    }

    /// The axes in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Axis<'a>> + '_ {
        self.as_slice().iter().copied()
    }
}

impl Default for AxisSet<'_> {
    fn default() -> Self {
        AxisSet::new()
    }
}

impl PartialEq for AxisSet<'_> {
    fn eq(&self, other: &AxisSet<'_>) -> bool {
        self.len == other.len && self.iter().all(|a| other.get(a.name) == Some(a))
    }
}

impl Eq for AxisSet<'_> {}

impl fmt::Display for AxisSet<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = Message::new();
        m.axes(self);
        f.write_str(m.as_str())
    }
}

impl fmt::Debug for AxisSet<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl<'a> FromIterator<Axis<'a>> for AxisSet<'a> {
    fn from_iter<I: IntoIterator<Item = Axis<'a>>>(iter: I) -> AxisSet<'a> {
        let mut set = AxisSet::new();
        for axis in iter {
            set.insert(axis);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SET: AxisSet<'static> = AxisSet::of(&[
        Axis::any("batch"),
        Axis::sized("embedding", 64),
        Axis::expr("hidden", "width"),
    ]);

    #[test]
    fn sets_display_like_model_syntax() {
        assert_eq!(SET.to_string(), "[batch, embedding: 64, hidden: width]");
    }

    #[test]
    fn insert_keeps_one_axis_per_name_and_the_known_size() {
        let mut set = SET;
        assert!(set.insert(Axis::sized("batch", 2)));
        assert_eq!(set.len(), 3);
        assert_eq!(set.get("batch"), Some(Axis::sized("batch", 2)));
    }

    #[test]
    fn remove_keeps_the_order_of_the_rest() {
        let mut set = SET;
        assert_eq!(set.remove("embedding"), Some(Axis::sized("embedding", 64)));
        assert_eq!(set.to_string(), "[batch, hidden: width]");
        assert_eq!(set.remove("embedding"), None);
    }

    #[test]
    fn agreement_ignores_order_and_unknown_sizes() {
        let other = AxisSet::of(&[
            Axis::sized("hidden", 3),
            Axis::sized("batch", 7),
            Axis::sized("embedding", 64),
        ]);
        assert!(SET.agrees_with(&other));
        let resized = AxisSet::of(&[
            Axis::any("batch"),
            Axis::sized("embedding", 32),
            Axis::any("hidden"),
        ]);
        assert!(!SET.agrees_with(&resized));
        assert_ne!(SET, other);
    }

    #[test]
    fn a_full_set_reports_overflow() {
        const NAMES: [&str; MAX_AXES + 1] = [
            "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q",
        ];
        let set = AxisSet::of_names(&NAMES);
        assert!(set.overflowed());
        assert_eq!(set.len(), MAX_AXES);
    }
}
