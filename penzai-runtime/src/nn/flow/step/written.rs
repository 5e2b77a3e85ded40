//! A step as `model!` writes it down for the layer: axes, values and options.

use crate::nn::flow::axes::Axis;
use crate::nn::flow::error::Blame;
use crate::nn::flow::message::{Place, str_eq};

/// A value written in a step, as constant evaluation sees it.
#[derive(Clone, Copy, Debug)]
pub enum Literal<'s> {
    /// A number literal (`0.1`, `-2`, `128`): its value, its text, and whether it is an
    /// integer literal.
    Number {
        /// The value.
        value: f64,
        /// The literal as written.
        text: &'static str,
        /// True for an integer literal.
        integer: bool,
    },
    /// `true` or `false`.
    Bool(bool),
    /// A bare name, such as `causal` in `mask = causal`.
    Word(&'static str),
    /// An axis list in brackets, such as `[kv_heads: 2, projection: 16]`.
    Axes(&'s [Axis<'static>]),
    /// Any other Rust expression (known only when the model is built), with its text.
    Expr(&'static str),
}

impl Literal<'_> {
    /// How the value reads in messages.
    pub const fn text(&self) -> &'static str {
        match self {
            Literal::Number { text, .. } | Literal::Word(text) | Literal::Expr(text) => text,
            Literal::Bool(true) => "true",
            Literal::Bool(false) => "false",
            Literal::Axes(_) => "[..]",
        }
    }
}

/// One `key = value` option of a step.
#[derive(Clone, Copy, Debug)]
pub struct StepOption<'s> {
    /// The key.
    pub key: &'static str,
    /// The value.
    pub value: Literal<'s>,
}

/// A step as written in `model!`: `Name(over a, b)`, `Name(a: 4 -> b: 8)`, `Name(0.1)`,
/// `Name(.., key = value)` or a bare `Name`.
///
/// Axes are `name` or `name: size`; a bare name is always an axis (a Rust variable as a
/// value is written in braces: `Dropout({rate})`).
#[derive(Clone, Copy, Debug)]
pub struct Written<'s> {
    /// The layer's name as written.
    pub name: &'static str,
    /// Whether the step has parentheses (`Name(..)` rather than `Name`).
    pub parens: bool,
    /// The axes before `->` (all positional axes when there is no arrow).
    pub before: &'s [Axis<'static>],
    /// Whether `->` is written.
    pub arrow: bool,
    /// The axes after `->`.
    pub after: &'s [Axis<'static>],
    /// Whether the axes follow `over`.
    pub over: bool,
    /// The positional values.
    pub values: &'s [Literal<'s>],
    /// The options.
    pub options: &'s [StepOption<'s>],
    /// Where the step's input comes from.
    pub place: Place<'static>,
}

impl<'s> Written<'s> {
    /// The option `key` and its position, if written.
    pub const fn option(&self, key: &str) -> Option<(usize, Literal<'s>)> {
        let mut i = 0;
        while i < self.options.len() {
            if str_eq(self.options[i].key, key) {
                return Some((i, self.options[i].value));
            }
            i += 1;
        }
        None
    }

    /// The axes of the option `key` (`kv = [..]`), or none.
    pub const fn option_axes(&self, key: &str) -> &'s [Axis<'static>] {
        match self.option(key) {
            Some((_, Literal::Axes(axes))) => axes,
            _ => &[],
        }
    }

    /// The axes written after `over`, or `None` without `over`.
    pub const fn over_axes(&self) -> &'s [Axis<'static>] {
        if self.over { self.before } else { &[] }
    }

    /// Where the axis `name` is written in the step, if it is.
    pub const fn blame_of(&self, name: &str) -> Option<Blame> {
        let mut i = 0;
        while i < self.before.len() {
            if str_eq(self.before[i].name, name) {
                return Some(if self.over {
                    Blame::Over(i)
                } else {
                    Blame::Before(i)
                });
            }
            i += 1;
        }
        i = 0;
        while i < self.after.len() {
            if str_eq(self.after[i].name, name) {
                return Some(Blame::After(i));
            }
            i += 1;
        }
        i = 0;
        while i < self.options.len() {
            if let Literal::Axes(axes) = self.options[i].value {
                let mut j = 0;
                while j < axes.len() {
                    if str_eq(axes[j].name, name) {
                        return Some(Blame::OptionArg(i));
                    }
                    j += 1;
                }
            }
            i += 1;
        }
        None
    }
}
