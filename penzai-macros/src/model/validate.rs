//! What `model!` checks itself, knowing no layer: the input is declared, names are valid
//! and unique, branches are unnamed, axis lists name each axis once. It also places every
//! step: its path (for labels) and where its input comes from (for messages). The axis
//! flow is the layers' own business, checked by the compiler (see `expand`).

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;

use super::parse::{Group, GroupKind, Model, Step, StepKind};
use super::path::{PlaceSpec, StepPath, step_key};
use crate::axis_list::check_unique;
use crate::ctxt::Ctxt;

/// Where each step is, by step id.
#[derive(Default)]
pub struct Layout {
    /// Every step's path.
    pub paths: HashMap<usize, StepPath>,
    /// Where every step's input comes from.
    pub places: HashMap<usize, PlaceSpec>,
}

/// Checks `model`, recording every problem in `cx`.
pub fn validate(cx: &Ctxt, model: &Model) -> Layout {
    let mut layout = Layout::default();
    match &model.input {
        Some(list) => check_unique(cx, &list.axes, "the input"),
        None => cx.syn_error(syn::Error::new(
            Span::call_site(),
            "model! starts with its input axes, like `input: [batch, seq, embedding: 64];`",
        )),
    }
    if let Some(output) = &model.output {
        check_unique(cx, &output.axes, "the output");
    }
    steps(cx, &mut layout, &model.steps, &StepPath::default());
    layout
}

fn steps(cx: &Ctxt, layout: &mut Layout, steps: &[Step], seq: &StepPath) {
    let mut keys: Vec<String> = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        let path = match step_key(s) {
            Some(key) => {
                check_key(cx, s, &key, &keys);
                keys.push(key.clone());
                seq.field(&key)
            }
            None => seq.index(i),
        };
        let place = PlaceSpec::of_step(steps, i, seq);
        step(cx, layout, s, path, place);
    }
}

fn step(cx: &Ctxt, layout: &mut Layout, s: &Step, path: StepPath, place: PlaceSpec) {
    layout.places.insert(s.id, place);
    match &s.kind {
        StepKind::Block(b) => check_unique(cx, &b.axes.axes, "the block's axes"),
        StepKind::Group(g) => group(cx, layout, s, g, &path),
        StepKind::Repeat(r) => steps(cx, layout, &r.steps, &path.repeat()),
        StepKind::ByName(_) | StepKind::Custom(_) | StepKind::Invalid => {}
    }
    layout.paths.insert(s.id, path);
}

fn group(cx: &Ctxt, layout: &mut Layout, s: &Step, g: &Group, path: &StepPath) {
    match g.kind {
        GroupKind::Sequential | GroupKind::NamedGroup => steps(cx, layout, &g.steps, path),
        GroupKind::Residual => steps(cx, layout, &g.steps, &path.field("delta")),
        GroupKind::BranchAndAdd | GroupKind::BranchAndMultiply => {
            if g.steps.is_empty() {
                cx.error_spanned_by(
                    &s.tokens,
                    format!("{} needs at least one branch", g.keyword),
                );
            }
            for (i, branch) in g.steps.iter().enumerate() {
                if let Some(name) = &branch.name {
                    cx.error_spanned_by(
                        name,
                        format!("branches are reached by position (`{}.branches[{i}]`), so a branch has no name; to name one, make it a group: `NamedGroup \"{name}\" [..]`", path.display()),
                    );
                }
                let bpath = path.field("branches").index(i);
                step(cx, layout, branch, bpath, PlaceSpec::start(path));
            }
        }
    }
}

fn check_key(cx: &Ctxt, step: &Step, key: &str, earlier: &[String]) {
    let at: TokenStream = match (&step.name, &step.kind) {
        (Some(name), _) => name.to_token_stream(),
        (None, StepKind::Group(g)) => g.label.to_token_stream(),
        (None, StepKind::Repeat(r)) => r.name.to_token_stream(),
        _ => step.tokens.clone(),
    };
    let valid = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid {
        cx.error_spanned_by(
            &at,
            format!("`{key}` cannot be a step name: names use ASCII letters, digits and `_`, so that paths through them parse back"),
        );
    }
    if earlier.iter().any(|k| k == key) {
        cx.error_spanned_by(
            &at,
            format!("duplicate step name '{key}': two steps of one sequence cannot share a name, or paths to them would be ambiguous"),
        );
    }
}
