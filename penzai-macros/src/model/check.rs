//! The axis-flow check: follows the named axes from `input` through every step, records
//! each mismatch spanned to the step (and axis) that causes it, infers the sizes built-in
//! layers need, and, for custom layers, emits `const` checks the compiler evaluates from
//! their `#[layer]` signatures.
//!
//! While every step so far is built in, the axes are known here (`Flow::Known`). After a
//! custom layer only the compiler knows them: the flow becomes a chain of `const` items
//! (`Flow::Const`), each step one `StaticFlow` computed from the previous, until a
//! `CheckAxes`, a block's `as [..]` or the end of a residual makes them known again.

use std::collections::HashMap;

use proc_macro2::{Delimiter, Group as TokenGroup, Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::Ident;

use super::builtin::{Builtin, Layer};
use super::effect::{Effect, effect};
use super::flow::{Axes, Sz, message};
use super::parse::{Custom, Group, GroupKind, Model, Repeat, Step, StepKind};
use super::path::{StepPath, start_place, step_key, step_place};
use crate::axis_list::{AxisDecl, check_unique};
use crate::ctxt::Ctxt;

/// What the check learned, for the expansion.
#[derive(Default)]
pub struct Checked {
    /// `const` items checking custom layers (and the steps after them).
    pub consts: TokenStream,
    /// Sizes inferred from the flow: `(step id, axis) -> usize expression`.
    pub sizes: HashMap<(usize, String), TokenStream>,
    /// Every step's path.
    pub paths: HashMap<usize, StepPath>,
}

#[derive(Clone)]
enum Flow {
    Known(Axes),
    /// The name of the `const` holding the `StaticFlow` here.
    Const(Ident),
    /// After a step that did not parse: checks pause rather than pile up follow-ons.
    Unknown,
}

struct Checker<'a> {
    cx: &'a Ctxt,
    /// `::penzai::__private`.
    p: TokenStream,
    out: Checked,
    next_const: usize,
}

/// Checks `model`, recording every problem in `cx`.
pub fn check(cx: &Ctxt, model: &Model, p: TokenStream) -> Checked {
    let mut checker = Checker {
        cx,
        p,
        out: Checked::default(),
        next_const: 0,
    };
    let input = match &model.input {
        Some(list) => {
            check_unique(cx, &list.axes, "the input");
            Flow::Known(Axes::from_decls(&list.axes))
        }
        None => {
            cx.syn_error(syn::Error::new(
                Span::call_site(),
                "model! starts with its input axes, like `input: [batch, seq, embedding: 64];`",
            ));
            Flow::Unknown
        }
    };
    let end = checker.steps(&model.steps, input, &StepPath::default());
    if let Some(output) = &model.output {
        check_unique(cx, &output.axes, "the output");
        checker.output(&output.axes, output.to_token_stream(), end);
    }
    checker.out
}

impl Checker<'_> {
    fn steps(&mut self, steps: &[Step], mut flow: Flow, seq: &StepPath) -> Flow {
        let mut keys: Vec<String> = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            let path = match step_key(step) {
                Some(key) => {
                    self.check_key(step, &key, &keys);
                    keys.push(key.clone());
                    seq.field(&key)
                }
                None => seq.index(i),
            };
            let place = step_place(steps, i, seq);
            flow = self.step(step, flow, &path, &place);
        }
        flow
    }

    fn check_key(&self, step: &Step, key: &str, earlier: &[String]) {
        let at: TokenStream = match (&step.name, &step.kind) {
            (Some(name), _) => name.to_token_stream(),
            (None, StepKind::Group(g)) => g.label.to_token_stream(),
            (None, StepKind::Repeat(r)) => r.name.to_token_stream(),
            _ => step.tokens.clone(),
        };
        let valid = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid {
            self.cx.error_spanned_by(
                &at,
                format!("`{key}` cannot be a step name: names use ASCII letters, digits and `_`, so that paths through them parse back"),
            );
        }
        if earlier.iter().any(|k| k == key) {
            self.cx.error_spanned_by(
                &at,
                format!("duplicate step name '{key}': two steps of one sequence cannot share a name, or paths to them would be ambiguous"),
            );
        }
    }

    fn step(&mut self, step: &Step, flow: Flow, path: &StepPath, place: &str) -> Flow {
        self.out.paths.insert(step.id, path.clone());
        match &step.kind {
            StepKind::Invalid => Flow::Unknown,
            StepKind::Block(b) => {
                check_unique(self.cx, &b.axes.axes, "the block's axes");
                Flow::Known(Axes::from_decls(&b.axes.axes))
            }
            StepKind::Custom(c) => self.custom(step, c, flow, place),
            StepKind::Builtin(b) => self.builtin(step, b, flow, place),
            StepKind::Group(g) => self.group(step, g, flow, path),
            StepKind::Repeat(r) => self.repeat(r, flow, path),
        }
    }

    fn custom(&mut self, step: &Step, c: &Custom, flow: Flow, place: &str) -> Flow {
        let Some(prev) = self.flow_expr(&flow) else {
            return Flow::Unknown;
        };
        let p = &self.p;
        let ty = &c.ty;
        let name = ty
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        let init = quote!(#prev.then(&<#ty as #p::HasSignature>::SIGNATURE, #name, #place));
        self.emit(init, &step.tokens)
    }

    fn builtin(&mut self, step: &Step, b: &Builtin, flow: Flow, place: &str) -> Flow {
        let layer = b.ident.to_string();
        match &b.layer {
            Layer::RenameAxes { from, to } => return self.rename(step, from, to, flow, place),
            Layer::CheckAxes(axes) => return self.check_axes(step, b, axes, flow, place),
            _ => {}
        }
        let eff = effect(self.cx, b);
        match flow {
            Flow::Unknown => Flow::Unknown,
            Flow::Known(here) => self.apply_known(step, b, &eff, here, place),
            Flow::Const(prev) => {
                self.infer_const(step, &eff, &prev, &layer, place);
                let p = &self.p;
                let requires = eff.requires.iter().map(|n| {
                    let (axis, size) = (&n.axis, n.size.const_tokens(p));
                    quote!(#p::SignatureAxis { name: #axis, size: #size })
                });
                let removes = &eff.removes;
                let adds = eff.adds.iter().map(|a| {
                    let (axis, size) = (&a.axis, a.size.const_tokens(p));
                    quote!(#p::SignatureAxis { name: #axis, size: #size })
                });
                let sig = quote!(#p::StaticSignature {
                    requires: &[#(#requires),*],
                    removes: &[#(#removes),*],
                    adds: &[#(#adds),*],
                });
                self.emit(quote!(#prev.then(&#sig, #layer, #place)), &step.tokens)
            }
        }
    }

    fn apply_known(
        &mut self,
        step: &Step,
        b: &Builtin,
        eff: &Effect,
        here: Axes,
        place: &str,
    ) -> Flow {
        let layer = b.ident.to_string();
        let mut failed = false;
        let at = |tokens: &Option<TokenStream>| {
            tokens.clone().unwrap_or_else(|| b.ident.to_token_stream())
        };
        for need in &eff.requires {
            let missing = match here.get(&need.axis) {
                None => true,
                Some(have) => need.size.differs(have),
            };
            if missing {
                failed = true;
                self.cx.error_spanned_by(
                    at(&need.at),
                    message::needs_axis(&layer, &need.axis, size_text(&need.size), &here, place),
                );
                continue;
            }
            match here.get(&need.axis) {
                Some(have) if need.infer => match have.tokens() {
                    Some(size) => {
                        self.out.sizes.insert((step.id, need.axis.clone()), size);
                    }
                    None => self.cx.error_spanned_by(
                        at(&need.at),
                        message::unknown_size(&layer, &need.axis, place),
                    ),
                },
                _ => {}
            }
        }
        let mut next = here.clone();
        for axis in &eff.removes {
            next.remove(axis);
        }
        for add in &eff.adds {
            if next.get(&add.axis).is_some() {
                failed = true;
                self.cx.error_spanned_by(
                    &add.at,
                    message::adds_present(&layer, &add.axis, &here, place),
                );
            } else {
                next.0.push((add.axis.clone(), add.size.clone()));
            }
        }
        // After a mistake the axes are a guess; checking on would pile up follow-ons.
        if failed {
            Flow::Unknown
        } else {
            Flow::Known(next)
        }
    }

    /// Sizes the constructor needs, read from the compiler's flow. Each is an item `const`
    /// (an inline `const { .. }` in the closure would only be evaluated when code is
    /// generated, so `cargo check` would miss its error).
    fn infer_const(&mut self, step: &Step, eff: &Effect, prev: &Ident, layer: &str, place: &str) {
        let p = &self.p;
        let message = Ident::new("__penzai_message", Span::mixed_site());
        for need in eff.requires.iter().filter(|n| n.infer) {
            let axis = &need.axis;
            let at = need.at.clone().unwrap_or_else(|| step.tokens.clone());
            let fail = self.fail(&message, &at);
            let name = format_ident!("__PENZAI_SIZE_{}", self.next_const);
            self.next_const += 1;
            self.out.consts.extend(quote! {
                const #name: usize = match #prev.size(#axis, #layer, #place) {
                    #p::Ok(size) => size,
                    #p::Err(#message) => #fail,
                };
            });
            self.out
                .sizes
                .insert((step.id, axis.clone()), quote!(#name));
        }
    }

    fn rename(&mut self, step: &Step, from: &Ident, to: &Ident, flow: Flow, place: &str) -> Flow {
        let (old, new) = (from.to_string(), to.to_string());
        match flow {
            Flow::Unknown => Flow::Unknown,
            Flow::Known(here) => {
                let mut next = here.clone();
                match here.get(&old) {
                    None => {
                        self.cx.error_spanned_by(
                            from,
                            message::needs_axis("RenameAxes", &old, None, &here, place),
                        );
                        return Flow::Unknown;
                    }
                    Some(size) => {
                        next.remove(&old);
                        if next.get(&new).is_some() {
                            self.cx.error_spanned_by(
                                to,
                                message::adds_present("RenameAxes", &new, &here, place),
                            );
                            return Flow::Unknown;
                        }
                        next.0.push((new, size.clone()));
                    }
                }
                Flow::Known(next)
            }
            Flow::Const(prev) => self.emit(quote!(#prev.rename(#old, #new, #place)), &step.tokens),
        }
    }

    fn check_axes(
        &mut self,
        step: &Step,
        b: &Builtin,
        axes: &[AxisDecl],
        flow: Flow,
        place: &str,
    ) -> Flow {
        check_unique(self.cx, axes, "`CheckAxes`");
        let expected = Axes::from_decls(axes);
        match flow {
            Flow::Unknown => {}
            Flow::Known(here) => {
                if !expected.same_as(&here) {
                    self.cx
                        .error_spanned_by(&b.ident, message::check_failed(&expected, &here, place));
                }
            }
            Flow::Const(prev) => {
                let list = expected.const_tokens(&self.p);
                self.emit(quote!(#prev.check_axes(#list, #place)), &step.tokens);
            }
        }
        Flow::Known(expected)
    }

    fn group(&mut self, step: &Step, g: &Group, flow: Flow, path: &StepPath) -> Flow {
        match g.kind {
            GroupKind::Sequential | GroupKind::NamedGroup => self.steps(&g.steps, flow, path),
            GroupKind::Residual => {
                let end = self.steps(&g.steps, flow.clone(), &path.field("delta"));
                self.end_as_started(
                    &flow,
                    &end,
                    "the Residual body",
                    g.keyword.to_token_stream(),
                );
                flow
            }
            GroupKind::BranchAndAdd | GroupKind::BranchAndMultiply => {
                self.branches(step, g, flow, path)
            }
        }
    }

    fn branches(&mut self, step: &Step, g: &Group, flow: Flow, path: &StepPath) -> Flow {
        let layer = g.keyword.to_string();
        if g.steps.is_empty() {
            self.cx
                .error_spanned_by(&step.tokens, format!("{layer} needs at least one branch"));
            return flow;
        }
        let place = start_place(path);
        let mut ends = Vec::new();
        for (i, branch) in g.steps.iter().enumerate() {
            if let Some(name) = &branch.name {
                self.cx.error_spanned_by(
                    name,
                    format!("branches are reached by position (`{}.branches[{i}]`), so a branch has no name; to name one, make it a group: `NamedGroup \"{name}\" [..]`", path.display()),
                );
            }
            let bpath = path.field("branches").index(i);
            ends.push(self.step(branch, flow.clone(), &bpath, &place));
        }
        let Some(first) = ends.first().cloned() else {
            return flow;
        };
        for (i, (end, branch)) in ends.iter().zip(&g.steps).enumerate().skip(1) {
            match (&first, end) {
                (Flow::Unknown, _) | (_, Flow::Unknown) => {}
                (Flow::Known(a), Flow::Known(b)) => {
                    if !a.same_as(b) {
                        self.cx.error_spanned_by(
                            &branch.tokens,
                            message::branches_differ(&layer, a, i, b),
                        );
                    }
                }
                (a, b) => {
                    let (a, b) = (self.flow_expr(a), self.flow_expr(b));
                    self.emit(quote!(#a.branch(&#b, #i, #layer)), &branch.tokens);
                }
            }
        }
        first
    }

    fn repeat(&mut self, r: &Repeat, flow: Flow, path: &StepPath) -> Flow {
        let end = self.steps(&r.steps, flow.clone(), &path.repeat());
        let once = matches!(r.count, crate::axis_list::Size::Literal(_, n) if n <= 1);
        if !once {
            let what = match &r.name {
                Some(name) => format!("the body of repeat '{name}'"),
                None => "a repeated body".to_owned(),
            };
            let at = match &r.name {
                Some(name) => quote!(#name),
                None => r.keyword.to_token_stream(),
            };
            self.end_as_started(&flow, &end, &what, at);
        }
        flow
    }

    fn end_as_started(&mut self, start: &Flow, end: &Flow, what: &str, at: TokenStream) {
        match (start, end) {
            (Flow::Unknown, _) | (_, Flow::Unknown) => {}
            (Flow::Known(a), Flow::Known(b)) => {
                if !a.same_as(b) {
                    self.cx
                        .error_spanned_by(at, message::must_end_as_started(what, a, b));
                }
            }
            (a, b) => {
                let (a, b) = (self.flow_expr(a), self.flow_expr(b));
                self.emit(quote!(#b.end_as_started(&#a, #what)), &at);
            }
        }
    }

    fn output(&mut self, decls: &[AxisDecl], at: TokenStream, end: Flow) {
        let declared = Axes::from_decls(decls);
        match end {
            Flow::Unknown => {}
            Flow::Known(actual) => {
                if !declared.same_as(&actual) {
                    self.cx
                        .error_spanned_by(at, message::output_differs(&declared, &actual));
                }
            }
            Flow::Const(prev) => {
                let list = declared.const_tokens(&self.p);
                self.emit(quote!(#prev.output(#list)), &at);
            }
        }
    }

    /// The `StaticFlow` expression for `flow`.
    fn flow_expr(&self, flow: &Flow) -> Option<TokenStream> {
        let p = &self.p;
        match flow {
            Flow::Unknown => None,
            Flow::Const(name) => Some(name.to_token_stream()),
            Flow::Known(axes) => {
                let list = axes.const_tokens(p);
                Some(quote!(#p::StaticFlow::new(#list)))
            }
        }
    }

    /// Emits `const F: StaticFlow = init;` and the check of its error, spanned to `at`.
    fn emit(&mut self, init: TokenStream, at: &TokenStream) -> Flow {
        let p = &self.p;
        let name = format_ident!("__PENZAI_FLOW_{}", self.next_const);
        self.next_const += 1;
        let message = Ident::new("__penzai_message", Span::mixed_site());
        let fail = self.fail(&message, at);
        self.out.consts.extend(quote! {
            #[allow(dead_code)]
            const #name: #p::StaticFlow = #init;
            const _: () = match #name.error() {
                #p::Some(#message) => #fail,
                #p::None => (),
            };
        });
        Flow::Const(name)
    }

    /// `panic!("{}", message)` written at `at`: rustc reports a panic in constant
    /// evaluation where the `panic!` is written, so the error points at the step itself.
    fn fail(&self, message: &Ident, at: &TokenStream) -> TokenStream {
        let (first, last) = span_range(at);
        let args = parens(quote!("{}", #message.as_str()), last);
        let panic = quote_spanned!(first=> ::core::panic!);
        quote!(#panic #args)
    }
}

fn size_text(size: &Sz) -> Option<String> {
    match size {
        Sz::Unknown => None,
        Sz::Literal(n) => Some(n.to_string()),
        Sz::Expr(text, _) => Some(text.clone()),
    }
}

/// The spans of the first and last tokens of `tokens`: a call built from a receiver with
/// the first and arguments with the last covers them all in rustc's diagnostics.
fn span_range(tokens: &TokenStream) -> (Span, Span) {
    let mut iter = tokens.clone().into_iter();
    let first = iter.next().map_or_else(Span::call_site, |t| t.span());
    let last = iter.last().map_or(first, |t| t.span());
    (first, last)
}

fn parens(inner: TokenStream, span: Span) -> TokenGroup {
    let mut group = TokenGroup::new(Delimiter::Parenthesis, inner);
    group.set_span(span);
    group
}
