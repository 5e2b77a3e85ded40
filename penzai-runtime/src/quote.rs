//! Quoting user data in messages: a name or value read from a file is shown escaped and, past
//! [`QUOTE_LIMIT`] bytes, cut with "…", so a crafted 200 MB string makes a short error.

use std::fmt;

/// The most bytes of one piece of user data an error message quotes.
pub const QUOTE_LIMIT: usize = 200;

/// The most bytes of a message from another library (serde_json's, which quote values
/// whole) that we pass on.
const MESSAGE_LIMIT: usize = 1000;

/// A user string for a message: quoted and escaped like `{:?}` (control, bidi and line
/// separator characters are escaped), and cut after [`QUOTE_LIMIT`] bytes with `…` and the
/// full length.
///
/// ```
/// use penzai::quote::Quoted;
///
/// assert_eq!(Quoted("up.weights").to_string(), "\"up.weights\"");
/// assert_eq!(Quoted("a\u{202e}b").to_string(), "\"a\\u{202e}b\"");
/// let long = "x".repeat(1000);
/// assert_eq!(Quoted(&long).to_string(), format!("\"{}\"… (1000 bytes)", "x".repeat(200)));
/// ```
#[derive(Clone, Copy)]
pub struct Quoted<'a>(pub &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cut = self.0.floor_char_boundary(QUOTE_LIMIT);
        write!(f, "{:?}", &self.0[..cut])?;
        if cut < self.0.len() {
            write!(f, "… ({} bytes)", self.0.len())?;
        }
        Ok(())
    }
}

impl fmt::Debug for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A message from another library, with every run of text between quotes or backticks cut
/// after [`QUOTE_LIMIT`] bytes and the whole cut after a bounded length, each cut marked "…".
pub(crate) fn clip_message(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(MESSAGE_LIMIT + 8));
    for run in message.split_inclusive(['"', '`']) {
        if out.len() >= MESSAGE_LIMIT {
            out.push('…');
            return out;
        }
        if run.len() > QUOTE_LIMIT + 1 {
            out.push_str(&run[..run.floor_char_boundary(QUOTE_LIMIT)]);
            out.push('…');
            // Keep the closing delimiter, so the quoting stays balanced.
            if let Some(last) = run.chars().last().filter(|c| matches!(c, '"' | '`')) {
                out.push(last);
            }
        } else {
            out.push_str(run);
        }
    }
    if out.len() > MESSAGE_LIMIT + QUOTE_LIMIT {
        let cut = out.floor_char_boundary(MESSAGE_LIMIT);
        out.truncate(cut);
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_strings_are_quoted_whole() {
        assert_eq!(Quoted("").to_string(), "\"\"");
        assert_eq!(Quoted("a\nb").to_string(), "\"a\\nb\"");
        assert_eq!(Quoted(&"y".repeat(200)).to_string().len(), 202);
    }

    #[test]
    fn cuts_fall_on_character_boundaries() {
        let s = "é".repeat(150); // 300 bytes
        let q = Quoted(&s).to_string();
        assert!(q.starts_with(&format!("\"{}\"…", "é".repeat(100))), "{q}");
        assert!(q.ends_with("(300 bytes)"));
    }

    #[test]
    fn foreign_messages_keep_a_bounded_prefix_of_each_quoted_run() {
        let message = format!(
            "unknown variant `{}`, expected one of `f32`, `i64`",
            "z".repeat(5000)
        );
        let clipped = clip_message(&message);
        assert_eq!(
            clipped,
            format!(
                "unknown variant `{}…`, expected one of `f32`, `i64`",
                "z".repeat(200)
            )
        );
        let many = "\"ab\" ".repeat(10_000);
        assert!(clip_message(&many).len() < MESSAGE_LIMIT + QUOTE_LIMIT + 8);
        assert_eq!(clip_message("short"), "short");
    }
}
