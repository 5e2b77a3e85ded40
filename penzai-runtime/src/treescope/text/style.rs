//! Styled text segments: ANSI escapes when colour is on, and width-aware clipping that
//! never cuts an escape sequence in half.

use crate::treescope::color::ansi_256_for_hue;

/// The role of a piece of text; each maps to one terminal style.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Plain,
    Guide,
    Key,
    Type(Option<u16>),
    Field,
    Number,
    Str,
    Muted,
    Inserted,
    Removed,
    Changed,
    Selected,
}

impl Role {
    fn sgr(self) -> Option<String> {
        Some(match self {
            Role::Plain => return None,
            Role::Guide | Role::Muted => "2".to_owned(),
            Role::Key => "34".to_owned(),
            Role::Type(None) => "1".to_owned(),
            Role::Type(Some(hue)) => format!("1;38;5;{}", ansi_256_for_hue(hue)),
            Role::Field => "33".to_owned(),
            Role::Number => "32".to_owned(),
            Role::Str => "31".to_owned(),
            Role::Inserted => "1;32".to_owned(),
            Role::Removed => "1;31".to_owned(),
            Role::Changed => "1;33".to_owned(),
            Role::Selected => "1;36".to_owned(),
        })
    }
}

/// One output line built from styled segments.
#[derive(Default)]
pub(crate) struct Line {
    segments: Vec<(Role, String)>,
}

impl Line {
    pub(crate) fn push(&mut self, role: Role, text: impl Into<String>) {
        self.segments.push((role, text.into()));
    }

    /// Appends the line to `out`, with colour or not, clipped to `width` characters.
    pub(crate) fn write(&self, out: &mut String, color: bool, width: Option<usize>) {
        let mut left = width.unwrap_or(usize::MAX);
        for (role, text) in &self.segments {
            if left == 0 {
                break;
            }
            let n = text.chars().count();
            let (piece, cut) = if n > left {
                let keep: String = text.chars().take(left.saturating_sub(1)).collect();
                (keep + "…", true)
            } else {
                (text.clone(), false)
            };
            left = if cut { 0 } else { left - n };
            let piece = visible(&piece);
            match role.sgr().filter(|_| color) {
                Some(code) => {
                    out.push_str("\x1b[");
                    out.push_str(&code);
                    out.push('m');
                    out.push_str(&piece);
                    out.push_str("\x1b[0m");
                }
                None => out.push_str(&piece),
            }
        }
        while out.ends_with(' ') {
            out.pop();
        }
        out.push('\n');
    }
}

/// Control characters from user data would move the cursor or recolour the terminal (and
/// newlines would break the tree's guides): show them as visible symbols instead. Bidi
/// overrides and isolates (which reorder the text after them, U+202E) and line and paragraph
/// separators (U+2028, U+2029) are written as `\u{..}` escapes, as string values are; this
/// runs on every segment, so keys, type names, fields and axis names in summaries too.
fn visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push('↵'),
            c if (c as u32) < 0x20 => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('?')),
            '\u{7f}' => out.push('␡'),
            c if c.is_control() => out.push('�'),
            '\u{200E}'
            | '\u{200F}'
            | '\u{061C}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{FEFF}' => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}
