//! The wording of axis-flow errors, written once as `const fn`s so that constant evaluation
//! (custom layers in `model!`) and run-time checks produce the very same text; `model!`'s
//! own checks mirror it, and the `model_*` tests hold the three together.

use super::SignatureAxis;

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

impl Message {
    /// An empty message.
    pub const fn new() -> Message {
        Message {
            buf: [0; CAPACITY],
            len: 0,
            full: false,
        }
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

    /// Appends an axis list the way it is written in `model!`: `[batch, embedding: 64]`.
    pub const fn axes(&mut self, axes: &[SignatureAxis<'_>]) -> &mut Message {
        self.push("[");
        let mut i = 0;
        while i < axes.len() {
            if i > 0 {
                self.push(", ");
            }
            self.push(axes[i].name);
            if let Some(size) = axes[i].size {
                self.push(": ").number(size);
            }
            i += 1;
        }
        self.push("]")
    }

    const fn quoted(&mut self, name: &str) -> &mut Message {
        self.push("'").push(name).push("'")
    }

    const fn place(&mut self, place: &str) -> &mut Message {
        self.push(" (").push(place).push(")")
    }

    /// `Linear needs input axis 'hidden' of size 128, but the axes here are [..] (place)`.
    pub const fn needs_axis(
        layer: &str,
        axis: &str,
        size: Option<usize>,
        here: &[SignatureAxis<'_>],
        place: &str,
    ) -> Message {
        let mut m = Message::new();
        m.push(layer).push(" needs input axis ").quoted(axis);
        if let Some(size) = size {
            m.push(" of size ").number(size);
        }
        m.push(", but the axes here are ").axes(here).place(place);
        m
    }

    /// `Linear adds axis 'hidden', but the axes here already have it: [..] (place)`.
    pub const fn adds_present(
        layer: &str,
        axis: &str,
        here: &[SignatureAxis<'_>],
        place: &str,
    ) -> Message {
        let mut m = Message::new();
        m.push(layer).push(" adds axis ").quoted(axis);
        m.push(", but the axes here already have it: ")
            .axes(here)
            .place(place);
        m
    }

    /// `RMSNorm needs the size of axis 'embedding', which is not known here (place): write
    /// it, like `embedding: 64``.
    pub const fn unknown_size(layer: &str, axis: &str, place: &str) -> Message {
        let mut m = Message::new();
        m.push(layer).push(" needs the size of axis ").quoted(axis);
        m.push(", which is not known here").place(place);
        m.push(": write it, like `").push(axis).push(": 64`");
        m
    }

    /// `the Residual body must end with the axes it starts with: it starts with [..] and
    /// ends with [..] (missing axis 'embedding', surplus axis 'hidden')`.
    pub const fn must_end_as_started(
        what: &str,
        start: &[SignatureAxis<'_>],
        end: &[SignatureAxis<'_>],
    ) -> Message {
        let mut m = Message::new();
        m.push(what)
            .push(" must end with the axes it starts with: it starts with ");
        m.axes(start).push(" and ends with ").axes(end);
        m.push(" (").difference(start, end).push(")");
        m
    }

    /// `the branches of BranchAndAdd must end with the same axes: branch 1 ends with [..],
    /// but branch 2 ends with [..] (surplus axis 'hidden')`.
    pub const fn branches_differ(
        layer: &str,
        first: &[SignatureAxis<'_>],
        index: usize,
        other: &[SignatureAxis<'_>],
    ) -> Message {
        let mut m = Message::new();
        m.push("the branches of ")
            .push(layer)
            .push(" must end with the same axes: branch 1 ends with ");
        m.axes(first).push(", but branch ").number(index + 1);
        m.push(" ends with ").axes(other);
        m.push(" (").difference(first, other).push(")");
        m
    }

    /// `CheckAxes expects [..], but the axes here are [..] (place): surplus axis 'x'`.
    pub const fn check_failed(
        expected: &[SignatureAxis<'_>],
        here: &[SignatureAxis<'_>],
        place: &str,
    ) -> Message {
        let mut m = Message::new();
        m.push("CheckAxes expects ").axes(expected);
        m.push(", but the axes here are ").axes(here).place(place);
        m.push(": ").difference(expected, here);
        m
    }

    /// `the model's declared output is [..], but it ends with [..]: surplus axis 'heads'`.
    pub const fn output_differs(
        declared: &[SignatureAxis<'_>],
        actual: &[SignatureAxis<'_>],
    ) -> Message {
        let mut m = Message::new();
        m.push("the model's declared output is ").axes(declared);
        m.push(", but it ends with ").axes(actual);
        m.push(": ").difference(declared, actual);
        m
    }

    /// Every definite difference between what was `expected` and what is there: missing
    /// axes, surplus axes, and sizes that differ (an unknown size matches any).
    const fn difference(
        &mut self,
        expected: &[SignatureAxis<'_>],
        actual: &[SignatureAxis<'_>],
    ) -> &mut Message {
        let mut first = true;
        let mut i = 0;
        while i < expected.len() {
            let e = expected[i];
            match find(actual, e.name) {
                None => {
                    self.separator(&mut first)
                        .push("missing axis ")
                        .quoted(e.name);
                }
                Some(a) => {
                    if let (Some(want), Some(got)) = (e.size, a.size)
                        && want != got
                    {
                        self.separator(&mut first)
                            .push("axis ")
                            .quoted(e.name)
                            .push(" has size ")
                            .number(got)
                            .push(", not ")
                            .number(want);
                    }
                }
            }
            i += 1;
        }
        let mut j = 0;
        while j < actual.len() {
            if find(expected, actual[j].name).is_none() {
                self.separator(&mut first)
                    .push("surplus axis ")
                    .quoted(actual[j].name);
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

/// The axis `name` in `axes`.
pub const fn find<'a>(axes: &[SignatureAxis<'a>], name: &str) -> Option<SignatureAxis<'a>> {
    let mut i = 0;
    while i < axes.len() {
        if str_eq(axes[i].name, name) {
            return Some(axes[i]);
        }
        i += 1;
    }
    None
}

/// Whether two sets of axes definitely agree: the same names, and no two known sizes
/// that differ.
pub const fn same_axes(a: &[SignatureAxis<'_>], b: &[SignatureAxis<'_>]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        match find(b, a[i].name) {
            None => return false,
            Some(other) => {
                if let (Some(x), Some(y)) = (a[i].size, other.size)
                    && x != y
                {
                    return false;
                }
            }
        }
        i += 1;
    }
    true
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

    const HERE: &[SignatureAxis<'static>] = &[
        SignatureAxis::any("batch"),
        SignatureAxis::any("seq"),
        SignatureAxis::sized("neurons", 256),
    ];

    #[test]
    fn needs_axis_names_the_axis_the_axes_and_the_place() {
        let m = Message::needs_axis("Linear", "hidden", None, HERE, "after step 2 'up'");
        assert_eq!(
            m.as_str(),
            "Linear needs input axis 'hidden', but the axes here are [batch, seq, neurons: 256] (after step 2 'up')"
        );
    }

    #[test]
    fn difference_lists_missing_surplus_and_resized_axes() {
        let start = [
            SignatureAxis::any("batch"),
            SignatureAxis::sized("embedding", 64),
        ];
        let end = [
            SignatureAxis::any("batch"),
            SignatureAxis::sized("hidden", 256),
        ];
        let m = Message::must_end_as_started("the Residual body", &start, &end);
        assert_eq!(
            m.as_str(),
            "the Residual body must end with the axes it starts with: it starts with [batch, embedding: 64] and ends with [batch, hidden: 256] (missing axis 'embedding', surplus axis 'hidden')"
        );
        let resized = [
            SignatureAxis::any("batch"),
            SignatureAxis::sized("embedding", 32),
        ];
        let m = Message::output_differs(&start, &resized);
        assert_eq!(
            m.as_str(),
            "the model's declared output is [batch, embedding: 64], but it ends with [batch, embedding: 32]: axis 'embedding' has size 32, not 64"
        );
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
}
