//! What a layer accepts as a `model!` step, and the check of a step against it, with the
//! messages for what does not fit (unknown options, with a suggestion).

use crate::nn::flow::error::{Blame, FlowError};
use crate::nn::flow::message::{Message, str_eq};

use super::written::{Literal, Written};

/// How a layer's arguments are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AxesForm {
    /// No axes.
    None,
    /// A list of axes: `CheckAxes(batch, seq, embedding: 64)`.
    List,
    /// Inputs, `->`, outputs: `Linear(embedding: 64 -> hidden: 256)`.
    Arrow,
    /// `over` and axes: `RMSNorm(over embedding)`.
    Over,
}

/// What kind of value an option takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionKind {
    /// A number or a Rust expression: `eps = 1e-5`, `eps = {cfg.eps}`.
    Value,
    /// One of the option's words: `mask = causal`.
    Word,
    /// Axes in brackets: `kv = [kv_heads: 2, projection: 16]`.
    Axes,
    /// A value or a name: `init = HE_NORMAL`, `init = Constant(0.5)`.
    Named,
}

/// One option a layer takes.
#[derive(Clone, Copy, Debug)]
pub struct OptionSyntax {
    /// The key.
    pub key: &'static str,
    /// What its value is.
    pub kind: OptionKind,
    /// For [`OptionKind::Word`], the words it takes.
    pub words: &'static [&'static str],
}

impl OptionSyntax {
    /// `seed = ..`: the seed of the step's parameters (default: the model's).
    pub const SEED: OptionSyntax = OptionSyntax::value("seed");
    /// `init = ..`: the initializer of the step's weights (default: the model's); a bare
    /// name is one of `Initializer`'s (`Zeros`, `HE_NORMAL`).
    pub const INIT: OptionSyntax = OptionSyntax {
        key: "init",
        kind: OptionKind::Named,
        words: &[],
    };

    /// An option taking a value.
    pub const fn value(key: &'static str) -> OptionSyntax {
        OptionSyntax {
            key,
            kind: OptionKind::Value,
            words: &[],
        }
    }

    /// An option taking one of `words`.
    pub const fn word(key: &'static str, words: &'static [&'static str]) -> OptionSyntax {
        OptionSyntax {
            key,
            kind: OptionKind::Word,
            words,
        }
    }

    /// An option taking axes.
    pub const fn axes(key: &'static str) -> OptionSyntax {
        OptionSyntax {
            key,
            kind: OptionKind::Axes,
            words: &[],
        }
    }
}

/// What a layer accepts as a `model!` step, for checking a step and wording its mistakes.
#[derive(Clone, Copy, Debug)]
pub struct Syntax {
    /// How the step is written, for messages: `Linear(embedding: 64 -> hidden: 256)`.
    pub example: &'static str,
    /// How its axes are written.
    pub axes: AxesForm,
    /// How many positional values it takes.
    pub values: usize,
    /// Whether it may be written without parentheses (all its arguments optional).
    pub bare: bool,
    /// Its options.
    pub options: &'static [OptionSyntax],
}

impl Syntax {
    /// A layer written by its name alone: `Gelu`.
    pub const BARE: Syntax = Syntax {
        example: "",
        axes: AxesForm::None,
        values: 0,
        bare: true,
        options: &[],
    };

    /// Whether the step takes nothing at all.
    pub const fn takes_nothing(&self) -> bool {
        matches!(self.axes, AxesForm::None) && self.values == 0 && self.options.is_empty()
    }
}

/// The first mistake of `step`'s arguments against `syntax`.
pub(super) const fn check_syntax(
    step: &Written<'_>,
    syntax: &Syntax,
) -> Option<FlowError<'static>> {
    let name = step.name;
    let has_axes = !step.before.is_empty() || !step.after.is_empty() || step.arrow || step.over;
    if !step.parens {
        if syntax.bare {
            return None;
        }
        let mut m = Message::new();
        m.code(name).push(" needs arguments: ").code(syntax.example);
        return Some(FlowError::other(m).at(Blame::Step));
    }
    if syntax.takes_nothing() {
        let mut m = Message::new();
        m.code(name).push(" takes no arguments: write ").code(name);
        return Some(FlowError::other(m).at(Blame::Args));
    }
    // Axes.
    match syntax.axes {
        AxesForm::None => {
            if has_axes {
                let mut m = Message::new();
                if syntax.values > 0
                    && !step.arrow
                    && !step.over
                    && step.values.len() < syntax.values
                {
                    let first = step.before[0];
                    m.code(name)
                        .push(" takes a value, not axes: ")
                        .code(first.name);
                    m.push(" reads as an axis name; write a Rust variable in braces, like `");
                    m.push(name).push("({").push(first.name).push("})`");
                } else {
                    m.code(name).push(" takes no axes: ").code(syntax.example);
                }
                return Some(FlowError::other(m).at(Blame::Before(0)));
            }
        }
        AxesForm::List => {
            if step.arrow || step.over {
                let mut m = Message::new();
                m.code(name)
                    .push(" takes a list of axes: ")
                    .code(syntax.example);
                return Some(FlowError::other(m).at(Blame::Args));
            }
        }
        AxesForm::Arrow => {
            if step.over || !step.arrow {
                let mut m = Message::new();
                m.code(name)
                    .push(" maps axes: write its input axes, `->` and its output axes, like ")
                    .code(syntax.example);
                return Some(FlowError::other(m).at(Blame::Args));
            }
            if step.before.is_empty() || step.after.is_empty() {
                let mut m = Message::new();
                m.code(name)
                    .push(" needs at least one axis on each side of `->`: ")
                    .code(syntax.example);
                return Some(FlowError::other(m).at(Blame::Args));
            }
        }
        AxesForm::Over => {
            if !step.over || step.arrow || step.before.is_empty() {
                let mut m = Message::new();
                m.push("expected `over` and the axes: ")
                    .code(syntax.example);
                return Some(FlowError::other(m).at(Blame::Args));
            }
        }
    }
    // Values.
    if step.values.len() < syntax.values {
        let mut m = Message::new();
        m.code(name).push(" needs ");
        if syntax.values == 1 {
            m.push("a value");
        } else {
            m.number(syntax.values).push(" values");
        }
        m.push(": ").code(syntax.example);
        return Some(FlowError::other(m).at(Blame::Args));
    }
    if step.values.len() > syntax.values {
        let mut m = Message::new();
        m.code(name).push(" takes ");
        if syntax.values == 0 {
            m.push("no values");
        } else {
            m.number(syntax.values)
                .push(" value")
                .push(if syntax.values == 1 { "" } else { "s" });
        }
        m.push(": ").code(syntax.example);
        return Some(FlowError::other(m).at(Blame::Value(syntax.values)));
    }
    // Options.
    let mut i = 0;
    while i < step.options.len() {
        let given = step.options[i];
        match find_option(syntax.options, given.key) {
            None => {
                return Some(
                    FlowError::other(unknown_option(name, given.key, syntax))
                        .at(Blame::OptionArg(i)),
                );
            }
            Some(opt) => {
                if let Some(m) = check_option_value(name, &opt, &given.value) {
                    return Some(FlowError::other(m).at(Blame::OptionArg(i)));
                }
            }
        }
        i += 1;
    }
    None
}

const fn find_option(options: &[OptionSyntax], key: &str) -> Option<OptionSyntax> {
    let mut i = 0;
    while i < options.len() {
        if str_eq(options[i].key, key) {
            return Some(options[i]);
        }
        i += 1;
    }
    None
}

const fn unknown_option(name: &str, key: &str, syntax: &Syntax) -> Message {
    let mut m = Message::new();
    m.code(name).push(" has no option ").code(key);
    let mut best: Option<&str> = None;
    let mut best_distance = usize::MAX;
    let mut i = 0;
    while i < syntax.options.len() {
        let d = edit_distance(key, syntax.options[i].key);
        if d < best_distance {
            best_distance = d;
            best = Some(syntax.options[i].key);
        }
        i += 1;
    }
    if let Some(best) = best {
        let limit = if best.len() > 3 { best.len() / 3 } else { 1 };
        if best_distance <= limit {
            m.push(" (did you mean ").code(best).push("?)");
        }
    }
    if syntax.options.is_empty() {
        m.push("; it takes no options");
    } else {
        m.push("; its options are ");
        let mut j = 0;
        while j < syntax.options.len() {
            if j > 0 {
                m.push(if j + 1 == syntax.options.len() {
                    " and "
                } else {
                    ", "
                });
            }
            m.code(syntax.options[j].key);
            j += 1;
        }
    }
    m
}

const fn check_option_value(
    layer: &str,
    opt: &OptionSyntax,
    value: &Literal<'_>,
) -> Option<Message> {
    let mut m = Message::new();
    match (opt.kind, value) {
        (OptionKind::Axes, Literal::Axes(_)) => None,
        (OptionKind::Axes, _) => {
            m.push("option ").code(opt.key).push(" of ").code(layer);
            m.push(" takes axes in brackets, like ")
                .code(opt.key)
                .push(" = [heads: 4]");
            Some(m)
        }
        (OptionKind::Word, Literal::Word(word)) => {
            let mut i = 0;
            while i < opt.words.len() {
                if str_eq(opt.words[i], word) {
                    return None;
                }
                i += 1;
            }
            m.push("unknown ")
                .push(opt.key)
                .push(" ")
                .code(word)
                .push(": use ");
            m.code_list(opt.words);
            Some(m)
        }
        (OptionKind::Word, _) => {
            m.push("option ")
                .code(opt.key)
                .push(" takes one of ")
                .code_list(opt.words);
            Some(m)
        }
        (OptionKind::Value, Literal::Word(word)) => {
            m.push("option ")
                .code(opt.key)
                .push(" takes a value, and ")
                .code(word);
            m.push(" reads as a word; write a Rust variable in braces, like `")
                .push(opt.key)
                .push(" = {")
                .push(word)
                .push("}`");
            Some(m)
        }
        (OptionKind::Value, Literal::Axes(_)) => {
            m.push("option ")
                .code(opt.key)
                .push(" takes a value, not axes");
            Some(m)
        }
        (OptionKind::Value, _) => None,
        (OptionKind::Named, Literal::Axes(_)) => {
            m.push("option ")
                .code(opt.key)
                .push(" takes a value, not axes");
            Some(m)
        }
        (OptionKind::Named, _) => None,
    }
}

/// The edit distance of two short names, a swap of neighbours counting as one edit (longer
/// names count as far apart).
const fn edit_distance(a: &str, b: &str) -> usize {
    const MAX: usize = 48;
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() >= MAX || b.len() >= MAX {
        return usize::MAX;
    }
    // d[i][j]: the distance of a[..i] and b[..j].
    let mut d = [[0usize; MAX]; MAX];
    let mut i = 0;
    while i <= a.len() {
        d[i][0] = i;
        i += 1;
    }
    let mut j = 0;
    while j <= b.len() {
        d[0][j] = j;
        j += 1;
    }
    i = 1;
    while i <= a.len() {
        j = 1;
        while j <= b.len() {
            let cost = if a[i - 1] == b[j - 1] { 0 } else { 1 };
            let mut best = d[i - 1][j - 1] + cost;
            if d[i - 1][j] + 1 < best {
                best = d[i - 1][j] + 1;
            }
            if d[i][j - 1] + 1 < best {
                best = d[i][j - 1] + 1;
            }
            if i > 1
                && j > 1
                && a[i - 1] == b[j - 2]
                && a[i - 2] == b[j - 1]
                && d[i - 2][j - 2] + 1 < best
            {
                best = d[i - 2][j - 2] + 1;
            }
            d[i][j] = best;
            j += 1;
        }
        i += 1;
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("inti", "init"), 1);
        assert_eq!(edit_distance("theat", "theta"), 1);
        assert_eq!(edit_distance("seeds", "seed"), 1);
        assert_eq!(edit_distance("", "eps"), 3);
    }
}
