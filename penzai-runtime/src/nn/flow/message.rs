//! The text of axis-flow errors, built in a fixed buffer so that constant evaluation
//! (`model!`) and run-time checks write it with the very same functions.

use super::axes::{Axis, AxisSet, Size};

/// Room for one message; longer ones end in `...` (a model with that many axes would
/// print an unreadable message anyway).
const CAPACITY: usize = 1024;

/// A message being built in a fixed buffer, so it can be built in `const` evaluation.
#[derive(Clone, Copy)]
pub struct Message {
    buf: [u8; CAPACITY],
    len: usize,
    /// Set once the text was cut: later pushes are dropped.
    full: bool,
}

impl Default for Message {
    fn default() -> Self {
        Message::new()
    }
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Message {
    /// An empty message.
    pub const fn new() -> Message {
        Message {
            buf: [0; CAPACITY],
            len: 0,
            full: false,
        }
    }

    /// A message holding `text`.
    pub const fn of(text: &str) -> Message {
        let mut m = Message::new();
        m.push(text);
        m
    }

    /// The text so far.
    pub const fn as_str(&self) -> &str {
        match std::str::from_utf8(self.buf.split_at(self.len).0) {
            Ok(s) => s,
            // Only whole `str`s are appended and truncation backs up to a char boundary.
            Err(_) => "<invalid message>",
        }
    }

    /// Appends text; past the capacity the message ends in `...`.
    pub const fn push(&mut self, s: &str) -> &mut Message {
        if self.full {
            return self;
        }
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if self.len + 3 >= CAPACITY {
                self.full = true;
                // Back up to a char boundary of `s` so the text stays valid UTF-8.
                while i > 0 && (bytes[i] & 0xC0) == 0x80 {
                    i -= 1;
                    self.len -= 1;
                }
                self.buf[self.len] = b'.';
                self.buf[self.len + 1] = b'.';
                self.buf[self.len + 2] = b'.';
                self.len += 3;
                return self;
            }
            self.buf[self.len] = bytes[i];
            self.len += 1;
            i += 1;
        }
        self
    }

    /// Appends a number in decimal.
    pub const fn number(&mut self, mut n: usize) -> &mut Message {
        let mut digits = [0u8; 20];
        let mut count = 0;
        loop {
            digits[count] = b'0' + (n % 10) as u8;
            count += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        while count > 0 {
            count -= 1;
            let d = [digits[count]];
            match std::str::from_utf8(&d) {
                Ok(s) => self.push(s),
                Err(_) => self,
            };
        }
        self
    }

    /// Appends `'name'`.
    pub const fn quoted(&mut self, name: &str) -> &mut Message {
        self.push("'").push(name).push("'")
    }

    /// Appends `` `code` ``.
    pub const fn code(&mut self, code: &str) -> &mut Message {
        self.push("`").push(code).push("`")
    }

    /// Appends a size as written: `64`, or an expression's text.
    pub const fn size(&mut self, size: Size<'_>) -> &mut Message {
        match size {
            Size::Known(n) => self.number(n),
            Size::Expr(text) => self.push(text),
            Size::Any => self,
        }
    }

    /// Appends one axis as written in `model!`: `embedding: 64`.
    pub const fn axis(&mut self, axis: Axis<'_>) -> &mut Message {
        self.push(axis.name);
        if axis.size.is_stated() {
            self.push(": ").size(axis.size);
        }
        self
    }

    /// Appends an axis list as written in `model!`: `[batch, embedding: 64]`.
    pub const fn axes(&mut self, axes: &AxisSet<'_>) -> &mut Message {
        self.push("[");
        let list = axes.as_slice();
        let mut i = 0;
        while i < list.len() {
            if i > 0 {
                self.push(", ");
            }
            self.axis(list[i]);
            i += 1;
        }
        self.push("]")
    }

    /// Appends `items` as `` `a`, `b` and `c` `` (or `none`).
    pub const fn code_list(&mut self, items: &[&str]) -> &mut Message {
        if items.is_empty() {
            return self.push("none");
        }
        let mut i = 0;
        while i < items.len() {
            if i > 0 {
                self.push(if i + 1 == items.len() { " and " } else { ", " });
            }
            self.code(items[i]);
            i += 1;
        }
        self
    }

    /// Appends the place a layer's input comes from, in parentheses: ` (after step 1 'up')`.
    pub const fn place(&mut self, place: Place<'_>) -> &mut Message {
        match place {
            Place::Unplaced => self,
            _ => self.push(" (").place_text(place).push(")"),
        }
    }

    /// Appends the place a layer's input comes from: `after step 1 'up'`.
    pub const fn place_text(&mut self, place: Place<'_>) -> &mut Message {
        match place {
            Place::Unplaced => self,
            Place::Input => self.push("at the input"),
            Place::Start(group) => self.push("at the start of ").quoted(group),
            Place::After { index, name, group } => {
                self.push("after step ").number(index);
                if let Some(name) = name {
                    self.push(" ").quoted(name);
                }
                if !group.is_empty() {
                    self.push(" in ").quoted(group);
                }
                self
            }
        }
    }

    /// Appends every definite difference between what was `expected` and what is there:
    /// missing axes, surplus axes, and sizes that differ (an unknown size matches any).
    pub const fn difference(
        &mut self,
        expected: &AxisSet<'_>,
        actual: &AxisSet<'_>,
    ) -> &mut Message {
        let mut first = true;
        let want = expected.as_slice();
        let mut i = 0;
        while i < want.len() {
            let e = want[i];
            match actual.get(e.name) {
                None => {
                    self.separator(&mut first)
                        .push("missing axis ")
                        .quoted(e.name);
                }
                Some(a) => {
                    if !e.size.agrees(a.size) {
                        self.separator(&mut first)
                            .push("axis ")
                            .quoted(e.name)
                            .push(" has size ")
                            .size(a.size)
                            .push(", not ")
                            .size(e.size);
                    }
                }
            }
            i += 1;
        }
        let have = actual.as_slice();
        let mut j = 0;
        while j < have.len() {
            if !expected.contains(have[j].name) {
                self.separator(&mut first)
                    .push("surplus axis ")
                    .quoted(have[j].name);
            }
            j += 1;
        }
        self
    }

    const fn separator(&mut self, first: &mut bool) -> &mut Message {
        if !*first {
            self.push(", ");
        }
        *first = false;
        self
    }
}

/// Where a layer's input comes from, as messages say it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place<'a> {
    /// The model's input.
    Input,
    /// The start of the group at this path (its first step, a branch, a residual body).
    Start(&'a str),
    /// The output of step `index` (counted from 0, like paths) of the sequence at path
    /// `group` (empty at the model's top level), named `name` if it has a name.
    After {
        /// The step's position.
        index: usize,
        /// The step's name.
        name: Option<&'a str>,
        /// The path of the sequence the step is in.
        group: &'a str,
    },
    /// Not located (a check of one layer on its own).
    Unplaced,
}

impl<'a> Place<'a> {
    /// Where the input of step `index` of a sequence at `group` comes from: the start of
    /// the sequence, or the step before (`previous` is that step's name).
    pub const fn of_step(
        index: usize,
        previous: Option<&'a str>,
        group: &'a str,
        top_level: bool,
    ) -> Place<'a> {
        if index == 0 {
            if top_level {
                Place::Input
            } else {
                Place::Start(group)
            }
        } else {
            Place::After {
                index: index - 1,
                name: previous,
                group,
            }
        }
    }
}

/// `str` equality usable in `const` evaluation.
pub const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_count_steps_from_zero_and_name_the_group() {
        let m = |place| Message::new().place_text(place).as_str().to_owned();
        assert_eq!(m(Place::of_step(0, None, "", true)), "at the input");
        assert_eq!(
            m(Place::of_step(0, None, "mlp.delta", false)),
            "at the start of 'mlp.delta'"
        );
        assert_eq!(
            m(Place::of_step(2, Some("up"), "", true)),
            "after step 1 'up'"
        );
        assert_eq!(
            m(Place::of_step(1, Some("up"), "blocks[0].mlp.delta", false)),
            "after step 0 'up' in 'blocks[0].mlp.delta'"
        );
        assert_eq!(m(Place::of_step(3, None, "", true)), "after step 2");
    }

    #[test]
    fn long_messages_end_in_an_ellipsis_on_a_char_boundary() {
        let mut m = Message::new();
        for _ in 0..2000 {
            m.push("é");
        }
        assert!(m.as_str().ends_with("..."));
        assert!(m.as_str().len() <= CAPACITY);
    }

    #[test]
    fn numbers_print_in_decimal() {
        let mut m = Message::new();
        m.number(0).push(" ").number(1_000_007);
        assert_eq!(m.as_str(), "0 1000007");
    }

    #[test]
    fn code_lists_read_as_a_sentence() {
        let mut m = Message::new();
        m.code_list(&["eps", "seed", "init"]);
        assert_eq!(m.as_str(), "`eps`, `seed` and `init`");
    }
}
