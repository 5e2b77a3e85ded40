//! How a layer reads as a `model!` step: the step as written ([`Written`]), what a layer
//! accepts ([`Syntax`]), the check of a step against the axes flowing in ([`Planner`]),
//! and the trait a layer implements to be a step by its name ([`ModelStep`]).
//!
//! `model!` knows no layer: for a step `Name(args)` or `Name` it emits a `const` that
//! evaluates `<Name as ModelStep<_>>::FLOW` (the layer's own plan, run by the compiler)
//! and, in the code that builds the model, `ModelStep::plan` and `ModelStep::build` again
//! with the sizes written as Rust expressions known.

use std::any::Any;
use std::fmt;

use crate::Result;
use crate::nn::{AnyLayer, Initializer, Layer, LayerError};

use super::axes::{Axis, AxisSet, Size};
use super::error::{Blame, FlowError, Mistake};
use super::message::{Message, Place, str_eq};
use super::ops;
use super::pipeline::Flow;
use super::signature::{HasSignature, Signature};

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
                        return Some(Blame::Option(i));
                    }
                    j += 1;
                }
            }
            i += 1;
        }
        None
    }
}

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

/// Checks one step against the axes flowing in: the step's own arguments against the
/// layer's [`Syntax`], then whatever the layer asks (sizes it needs, its signature, checks
/// of its own). The first mistake is the step's error, blamed on the token that causes it.
///
/// A layer's `model!` plan is a `const fn` over a planner:
///
/// ```
/// use penzai::nn::{AxesForm, Flow, Planner, Signature, Syntax, Written};
///
/// const SYNTAX: Syntax = Syntax { example: "Pool(over seq)", axes: AxesForm::Over, values: 0, bare: false, options: &[] };
///
/// const fn plan(input: &Flow<'static>, step: &Written<'_>) -> Flow<'static> {
///     let mut p = Planner::new(input, step, &SYNTAX);
///     let mut sig = Signature::new();
///     let over = step.over_axes();
///     let mut i = 0;
///     while i < over.len() {
///         sig = sig.require(over[i]).remove(over[i].name);
///         i += 1;
///     }
///     p.then(&sig);
///     p.finish()
/// }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Planner<'s> {
    step: Written<'s>,
    input: Flow<'static>,
    axes: AxisSet<'static>,
    error: Option<FlowError<'static>>,
    /// The error is an axis mistake: the axes after the step are a guess.
    poisons: bool,
    /// The step states the axes after it (`CheckAxes`): the flow is known again.
    restated: bool,
}

impl<'s> Planner<'s> {
    /// A planner for `step` on the flow `input`; checks the step's arguments against
    /// `syntax` first.
    pub const fn new(input: &Flow<'static>, step: &Written<'s>, syntax: &Syntax) -> Planner<'s> {
        let mut p = Planner {
            step: *step,
            input: *input,
            axes: *input.axes(),
            error: None,
            poisons: false,
            restated: false,
        };
        match check_syntax(step, syntax) {
            Some(e) => p.error = Some(e),
            None => {}
        }
        p
    }

    /// The step.
    pub const fn step(&self) -> &Written<'s> {
        &self.step
    }

    /// The layer's name as written.
    pub const fn name(&self) -> &'static str {
        self.step.name
    }

    /// Positional value `i`, if written.
    pub const fn value(&self, i: usize) -> Option<Literal<'s>> {
        if i < self.step.values.len() {
            Some(self.step.values[i])
        } else {
            None
        }
    }

    /// The axes flowing in.
    pub const fn input(&self) -> &AxisSet<'static> {
        self.input.axes()
    }

    /// The axes after what the planner applied so far.
    pub const fn axes(&self) -> &AxisSet<'static> {
        &self.axes
    }

    /// Whether a mistake was found already.
    pub const fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// Records a mistake of the step's own arguments (reported even after an earlier
    /// step's mistake).
    pub const fn fail(&mut self, error: FlowError<'static>, blame: Blame) {
        if self.error.is_none() {
            self.error = Some(error.at(blame));
        }
    }

    /// Records a mistake about the axes flowing in (after an earlier mistake the axes are
    /// a guess, so it is not reported then); `poisons` when the axes after the step are
    /// unknown because of it.
    pub const fn fail_flow(&mut self, error: FlowError<'static>, blame: Blame, poisons: bool) {
        if self.error.is_none() && !self.input.is_poisoned() {
            self.error = Some(error.at(blame));
            self.poisons = poisons;
        }
    }

    /// Records `message` as a mistake at `blame` (see [`fail`](Planner::fail)).
    pub const fn fail_with(&mut self, message: Message, blame: Blame) {
        self.fail(FlowError::other(message), blame);
    }

    /// Checks that the sizes of `axes` (written in the step at `blame`) are known, written
    /// or from the flow: the layer needs them to build its parameters.
    pub const fn need_sizes(&mut self, axes: &[Axis<'static>]) {
        let mut i = 0;
        while i < axes.len() {
            if !axes[i].size.is_stated() {
                let at = match self.step.blame_of(axes[i].name) {
                    Some(b) => b,
                    None => Blame::Step,
                };
                match ops::size_of(self.input.axes(), axes[i].name, self.step.name, self.step.place) {
                    Err(e) => self.fail_flow(e, at, false),
                    Ok(_) => {}
                }
            }
            i += 1;
        }
    }

    /// Checks that `axes` have their sizes written in the step: the layer creates them.
    pub const fn need_written_sizes(&mut self, axes: &[Axis<'static>]) {
        let mut i = 0;
        while i < axes.len() {
            if !axes[i].size.is_stated() {
                let at = match self.step.blame_of(axes[i].name) {
                    Some(b) => b,
                    None => Blame::Step,
                };
                let mut m = Message::new();
                m.push(self.step.name)
                    .push(" needs the size of its output axis ")
                    .quoted(axes[i].name)
                    .push(": write `")
                    .push(axes[i].name)
                    .push(": 256`");
                self.fail_with(m, at);
            }
            i += 1;
        }
    }

    /// Checks that no axis is written twice in `axes` (`what` names them in the message).
    pub const fn need_distinct(&mut self, axes: &[Axis<'static>], what: &str) {
        let mut i = 0;
        while i < axes.len() {
            let mut j = 0;
            while j < i {
                if str_eq(axes[i].name, axes[j].name) {
                    let mut m = Message::new();
                    m.push("axis ")
                        .quoted(axes[i].name)
                        .push(" is listed twice in ")
                        .push(what);
                    let at = match self.step.blame_of(axes[i].name) {
                        Some(b) => b,
                        None => Blame::Step,
                    };
                    self.fail_with(m, at);
                }
                j += 1;
            }
            i += 1;
        }
    }

    /// Applies the signature `sig` to the axes: a missing or clashing axis is blamed on
    /// where the step writes it (or the whole step, for axes it does not write).
    pub const fn then(&mut self, sig: &Signature<'static>) {
        if self.poisons {
            return;
        }
        let result = ops::apply(&self.axes, sig, self.step.name, self.step.place);
        self.set_result(result);
    }

    /// Takes the result of a rule applied to the axes (a rename, a check): its axes, or
    /// its mistake blamed on where the step writes the axis.
    pub const fn set_result(&mut self, result: Result<AxisSet<'static>, FlowError<'static>>) {
        if self.poisons {
            return;
        }
        match result {
            Ok(axes) => self.axes = axes,
            Err(e) => {
                let at = self.blame_of_mistake(&e);
                self.fail_flow(e, at, true);
                self.poisons = true;
            }
        }
    }

    /// States the axes after the step (`CheckAxes`): `expected` from here on, known again
    /// even after an earlier mistake; `result` is the check of the axes flowing in.
    pub const fn restate(
        &mut self,
        expected: AxisSet<'static>,
        result: Result<AxisSet<'static>, FlowError<'static>>,
    ) {
        match result {
            Ok(axes) => self.axes = axes,
            Err(e) => {
                self.fail_flow(e, Blame::Step, false);
                self.axes = expected;
            }
        }
        self.restated = true;
    }

    const fn blame_of_mistake(&self, e: &FlowError<'static>) -> Blame {
        let at = match e.mistake() {
            Mistake::NeedsAxis(axis) => self.step.blame_of(axis.name),
            Mistake::AddsPresent(axis) | Mistake::UnknownSize(axis) => self.step.blame_of(axis),
            Mistake::Other => None,
        };
        match at {
            Some(b) => b,
            None => Blame::Step,
        }
    }

    /// The flow after the step, with its first mistake.
    pub const fn finish(self) -> Flow<'static> {
        if self.restated {
            return Flow::with(self.axes, self.error, false);
        }
        let poisoned = self.input.is_poisoned() || self.poisons;
        let axes = if self.poisons { *self.input.axes() } else { self.axes };
        Flow::with(axes, self.error, poisoned)
    }
}

/// The first mistake of `step`'s arguments against `syntax`.
const fn check_syntax(step: &Written<'_>, syntax: &Syntax) -> Option<FlowError<'static>> {
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
                if syntax.values > 0 && !step.arrow && !step.over && step.values.len() < syntax.values {
                    let first = step.before[0];
                    m.code(name).push(" takes a value, not axes: ").code(first.name);
                    m.push(" reads as an axis name; write a Rust variable in braces, like ");
                    m.code(name).push("({").push(first.name).push("})");
                } else {
                    m.code(name).push(" takes no axes: ").code(syntax.example);
                }
                return Some(FlowError::other(m).at(Blame::Before(0)));
            }
        }
        AxesForm::List => {
            if step.arrow || step.over {
                let mut m = Message::new();
                m.code(name).push(" takes a list of axes: ").code(syntax.example);
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
                m.push("expected `over` and the axes: ").code(syntax.example);
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
            m.number(syntax.values).push(" value").push(if syntax.values == 1 { "" } else { "s" });
        }
        m.push(": ").code(syntax.example);
        return Some(FlowError::other(m).at(Blame::Value(syntax.values)));
    }
    // Options.
    let mut i = 0;
    while i < step.options.len() {
        let given = step.options[i];
        match find_option(syntax.options, given.key) {
            None => return Some(FlowError::other(unknown_option(name, given.key, syntax)).at(Blame::Option(i))),
            Some(opt) => {
                if let Some(m) = check_option_value(name, &opt, &given.value) {
                    return Some(FlowError::other(m).at(Blame::Option(i)));
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
            m.push("; did you mean ").code(best).push("?");
        }
    }
    if syntax.options.is_empty() {
        m.push("; it takes no options");
    } else {
        m.push("; its options are ");
        let mut j = 0;
        while j < syntax.options.len() {
            if j > 0 {
                m.push(if j + 1 == syntax.options.len() { " and " } else { ", " });
            }
            m.code(syntax.options[j].key);
            j += 1;
        }
    }
    m
}

const fn check_option_value(layer: &str, opt: &OptionSyntax, value: &Literal<'_>) -> Option<Message> {
    let mut m = Message::new();
    match (opt.kind, value) {
        (OptionKind::Axes, Literal::Axes(_)) => None,
        (OptionKind::Axes, _) => {
            m.push("option ").code(opt.key).push(" of ").code(layer);
            m.push(" takes axes in brackets, like ").code(opt.key).push(" = [heads: 4]");
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
            m.push("unknown ").push(opt.key).push(" ").code(word).push(": use ");
            m.code_list(opt.words);
            Some(m)
        }
        (OptionKind::Word, _) => {
            m.push("option ").code(opt.key).push(" takes one of ").code_list(opt.words);
            Some(m)
        }
        (OptionKind::Value, Literal::Word(word)) => {
            m.push("option ").code(opt.key).push(" takes a value, and ").code(word);
            m.push(" reads as a word; write a Rust variable in braces, like `")
                .push(opt.key)
                .push(" = {")
                .push(word)
                .push("}`");
            Some(m)
        }
        (OptionKind::Value, Literal::Axes(_)) => {
            m.push("option ").code(opt.key).push(" takes a value, not axes");
            Some(m)
        }
        (OptionKind::Value, _) => None,
        (OptionKind::Named, Literal::Axes(_)) => {
            m.push("option ").code(opt.key).push(" takes a value, not axes");
            Some(m)
        }
        (OptionKind::Named, _) => None,
    }
}

/// The Levenshtein distance of two short names (longer ones count as far apart).
const fn edit_distance(a: &str, b: &str) -> usize {
    const MAX: usize = 48;
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() >= MAX || b.len() >= MAX {
        return usize::MAX;
    }
    let mut row = [0usize; MAX];
    let mut j = 0;
    while j <= b.len() {
        row[j] = j;
        j += 1;
    }
    let mut i = 0;
    while i < a.len() {
        let mut prev = row[0];
        row[0] = i + 1;
        let mut j = 0;
        while j < b.len() {
            let current = row[j + 1];
            let substitute = prev + if a[i] == b[j] { 0 } else { 1 };
            let mut best = row[j] + 1;
            if current + 1 < best {
                best = current + 1;
            }
            if substitute < best {
                best = substitute;
            }
            row[j + 1] = best;
            prev = current;
            j += 1;
        }
        i += 1;
    }
    row[b.len()]
}

/// The flow into a step, for its [`ModelStep`] constant: `model!` writes one per step.
pub trait StepInput {
    /// The axes flowing in.
    const FLOW: Flow<'static>;
    /// The step as written.
    const STEP: Written<'static>;
}

/// A layer that can be a `model!` step by its name: `Name(args)`, or `Name` alone.
///
/// The layer describes itself: its plan (a `const fn` checking the step against the axes
/// flowing in, usually through a [`Planner`]) is what `model!` evaluates at compile time,
/// and its `build` makes the layer from the step's arguments. Implement it generically over
/// `S`:
///
/// ```ignore
/// impl<S: StepInput> ModelStep<S> for MyLayer {
///     const FLOW: Flow<'static> = plan(&S::FLOW, &S::STEP);
///     fn plan(input: &Flow<'static>, step: &Written<'_>) -> Flow<'static> { plan(input, step) }
///     fn build(step: &StepBuild<'_>) -> Result<MyLayer> { .. }
/// }
/// ```
///
/// A unit struct with a `#[layer(...)]` signature is a step by its name without this impl
/// (`Gelu`, or a user's `Pool`): its `#[derive(Tree)]` states that it is a unit struct.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a layer `model!` can build from its name",
    label = "not a `model!` step",
    note = "a unit struct with `#[layer(...)]` is a step by its name; a layer with fields is built through its type: `{Self} {{ .. }}` or `{Self}::new(..)`",
    note = "or write the step as a block with its output axes: `{{ expression }} as [batch, seq, ..]`"
)]
pub trait ModelStep<S: StepInput>: Layer + Sized {
    /// The flow after this step, with its first mistake: what `model!` checks at compile
    /// time.
    const FLOW: Flow<'static>;

    /// The same plan, evaluated when the model is built (sizes written as Rust
    /// expressions are known then).
    fn plan(input: &Flow<'static>, step: &Written<'_>) -> Flow<'static>;

    /// Builds the layer (after `plan` found no mistake).
    fn build(step: &StepBuild<'_>) -> Result<Self>;
}

/// A unit struct, which `model!` builds from its name alone. `#[derive(Tree)]` implements
/// it for every unit struct.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a unit struct, so `model!` cannot build it from its name alone",
    label = "this layer has fields",
    note = "build it through its type: `{Self} {{ .. }}` or `{Self}::new(..)`"
)]
pub trait UnitLayer {
    /// The value.
    const VALUE: Self;
}

impl<T, S> ModelStep<S> for T
where
    T: Layer + HasSignature + UnitLayer,
    S: StepInput,
{
    const FLOW: Flow<'static> = plan_unit(&S::FLOW, &S::STEP, &T::SIGNATURE);

    fn plan(input: &Flow<'static>, step: &Written<'_>) -> Flow<'static> {
        plan_unit(input, step, &T::SIGNATURE)
    }

    fn build(_step: &StepBuild<'_>) -> Result<T> {
        Ok(T::VALUE)
    }
}

/// The plan of a unit layer written by its name: no arguments, and its signature.
pub const fn plan_unit(
    input: &Flow<'static>,
    step: &Written<'_>,
    sig: &Signature<'static>,
) -> Flow<'static> {
    let mut p = Planner::new(input, step, &Syntax::BARE);
    p.then(sig);
    p.finish()
}

/// A value given to a step's builder: a number, a word, a flag, or any other Rust value.
pub enum Value {
    /// A number (every Rust number type converts to one).
    Number(f64),
    /// `true` or `false`.
    Bool(bool),
    /// A bare word, such as `causal`.
    Word(&'static str),
    /// Any other value, such as an `Activation`.
    Any(Box<dyn Any + Send + Sync>),
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Number(n) => write!(f, "{n}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Word(w) => f.write_str(w),
            Value::Any(_) => f.write_str("<value>"),
        }
    }
}

/// Converts a value written in a step into a [`Value`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a value of a `model!` step",
    note = "steps take numbers, `bool`s and the values of the layer's own types (such as `Activation`)"
)]
pub trait IntoValue {
    /// The value.
    fn into_value(self) -> Value;
}

macro_rules! number_values {
    ($($ty:ty),*) => {$(
        impl IntoValue for $ty {
            fn into_value(self) -> Value {
                Value::Number(self as f64)
            }
        }
    )*};
}
number_values!(f32, f64, i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

impl IntoValue for bool {
    fn into_value(self) -> Value {
        Value::Bool(self)
    }
}

impl IntoValue for crate::nn::Activation {
    fn into_value(self) -> Value {
        Value::Any(Box::new(self))
    }
}

/// A step value, for the code `model!` generates.
#[doc(hidden)]
pub fn value<T: IntoValue>(v: T) -> Value {
    v.into_value()
}

/// The run-time arguments of a step, which `model!` passes to [`ModelStep::build`]: the
/// parameter label and seed, and the step's values.
pub struct StepArgs<'a> {
    /// The label of the step's parameters (its path).
    pub label: &'a str,
    /// The seed of the step's parameters.
    pub seed: u64,
    /// The initializer the step or the model states, if any.
    pub init: Option<Initializer>,
    /// The positional values.
    pub values: &'a [Value],
    /// The options with values (not `seed` and `init`).
    pub options: &'a [(&'static str, Value)],
}

/// What a layer's [`ModelStep::build`] reads: the step as written (with the sizes written
/// as Rust expressions evaluated), the axes flowing in, and the step's arguments.
pub struct StepBuild<'a> {
    /// The axes flowing into the step.
    pub input: &'a AxisSet<'static>,
    /// The step.
    pub step: &'a Written<'a>,
    /// The label of the step's parameters (its path).
    pub label: &'a str,
    /// The seed of the step's parameters.
    pub seed: u64,
    /// The initializer the step or the model states, if any.
    pub init: Option<Initializer>,
    /// The positional values.
    pub values: &'a [Value],
    /// The options with values (not `seed` and `init`).
    pub options: &'a [(&'static str, Value)],
}

impl StepBuild<'_> {
    /// `axes` with their sizes: as written, else as they flow in.
    pub fn sized(&self, axes: &[Axis<'static>]) -> Result<Vec<(&'static str, usize)>> {
        axes.iter()
            .map(|axis| {
                let size = match axis.size {
                    Size::Known(n) => Some(n),
                    _ => self.input.get(axis.name).and_then(|a| a.size.known()),
                };
                size.map(|n| (axis.name, n)).ok_or_else(|| {
                    LayerError::Config(format!(
                        "{} needs the size of axis {:?}, which is not known",
                        self.step.name, axis.name
                    ))
                    .into()
                })
            })
            .collect()
    }

    /// The names of `axes`.
    pub fn names(axes: &[Axis<'static>]) -> Vec<crate::nx::AxisName> {
        axes.iter().map(|a| a.name.into()).collect()
    }

    /// The initializer: the step's or the model's, else `default`.
    pub fn init_or(&self, default: Initializer) -> Initializer {
        self.init.unwrap_or(default)
    }

    /// Positional value `i` as a number.
    pub fn number(&self, i: usize) -> Result<f64> {
        match self.values.get(i) {
            Some(v) => self.to_number(v, "its value"),
            None => Err(self.config(format!("needs value {i}"))),
        }
    }

    /// The option `key` as a number, if given.
    pub fn option_number(&self, key: &str) -> Result<Option<f64>> {
        match self.option(key) {
            Some(v) => self.to_number(v, key).map(Some),
            None => Ok(None),
        }
    }

    /// The option `key`, if given.
    pub fn option(&self, key: &str) -> Option<&Value> {
        self.options.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The option `key` as a word, if given.
    pub fn option_word(&self, key: &str) -> Option<&'static str> {
        match self.option(key) {
            Some(Value::Word(w)) => Some(w),
            _ => None,
        }
    }

    /// Positional value `i` as a `T` (an `Activation`, say).
    pub fn any<T: Any + Clone>(&self, i: usize) -> Result<T> {
        match self.values.get(i) {
            Some(Value::Any(v)) => v
                .downcast_ref::<T>()
                .cloned()
                .ok_or_else(|| self.config(format!("value {i} is not a {}", std::any::type_name::<T>()))),
            _ => Err(self.config(format!("value {i} is not a {}", std::any::type_name::<T>()))),
        }
    }

    fn to_number(&self, v: &Value, what: &str) -> Result<f64> {
        match v {
            Value::Number(n) => Ok(*n),
            other => Err(self.config(format!("{what} must be a number; got {other:?}"))),
        }
    }

    fn config(&self, what: String) -> crate::Error {
        LayerError::Config(format!("{} {what}", self.step.name)).into()
    }
}

/// Plans and builds one `model!` step by its name, moving `flow` past it.
#[doc(hidden)]
pub fn build_step<L: ModelStep<S>, S: StepInput>(
    flow: &mut Flow<'static>,
    step: &Written<'_>,
    args: StepArgs<'_>,
) -> Result<AnyLayer> {
    let next = L::plan(flow, step);
    if let Some(e) = next.error() {
        return Err(LayerError::Check(e.as_str().to_owned()).into());
    }
    let input = *flow.axes();
    let layer = L::build(&StepBuild {
        input: &input,
        step,
        label: args.label,
        seed: args.seed,
        init: args.init,
        values: args.values,
        options: args.options,
    })?;
    *flow = next;
    Ok(AnyLayer::new(layer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("inti", "init"), 2);
        assert_eq!(edit_distance("seeds", "seed"), 1);
        assert_eq!(edit_distance("", "eps"), 3);
    }
}
