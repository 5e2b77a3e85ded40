//! The axes `model!` follows through a pipeline, and its error messages.
//!
//! The wording mirrors `penzai_runtime::nn::signature::message` word for word: the same
//! mistake reads the same whether `model!` finds it, constant evaluation finds it (custom
//! layers), or a run-time check does. The `model_*` tests compare them.

use proc_macro2::TokenStream;
use quote::quote;

use crate::axis_list::{AxisDecl, Size};

/// What is known of an axis size.
#[derive(Clone)]
pub enum Sz {
    Unknown,
    Literal(usize),
    /// A Rust expression, known only at run time; compared by its text.
    Expr(String, TokenStream),
}

impl Sz {
    pub fn of(size: &Option<Size>) -> Sz {
        match size {
            None => Sz::Unknown,
            Some(Size::Literal(_, n)) => Sz::Literal(*n),
            Some(s @ Size::Expr(e)) => Sz::Expr(s.text(), e.clone()),
        }
    }

    /// True only when both sizes are literals and differ (expressions are compared at
    /// run time).
    pub fn differs(&self, other: &Sz) -> bool {
        match (self, other) {
            (Sz::Literal(a), Sz::Literal(b)) => a != b,
            _ => false,
        }
    }

    /// The size as a run-time `usize` expression, when it is known at all.
    pub fn tokens(&self) -> Option<TokenStream> {
        match self {
            Sz::Unknown => None,
            Sz::Literal(n) => Some(quote!(#n)),
            Sz::Expr(_, e) => Some(quote!((#e))),
        }
    }

    /// The size as `Option<usize>` in constant evaluation (expressions are unknown there).
    pub fn const_tokens(&self, p: &TokenStream) -> TokenStream {
        match self {
            Sz::Literal(n) => quote!(#p::Some(#n)),
            _ => quote!(#p::None),
        }
    }
}

/// A set of axes with what is known of their sizes, in order.
#[derive(Clone, Default)]
pub struct Axes(pub Vec<(String, Sz)>);

impl Axes {
    pub fn from_decls(decls: &[AxisDecl]) -> Axes {
        Axes(decls.iter().map(|d| (d.name(), Sz::of(&d.size))).collect())
    }

    pub fn get(&self, name: &str) -> Option<&Sz> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }

    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| n != name);
    }

    /// True when the two definitely agree: same names, no two known sizes differing.
    pub fn same_as(&self, other: &Axes) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .all(|(n, s)| other.get(n).is_some_and(|o| !s.differs(o)))
    }

    /// `[batch, seq, embedding: 64]`.
    pub fn text(&self) -> String {
        let items: Vec<String> = self
            .0
            .iter()
            .map(|(name, size)| match size {
                Sz::Unknown => name.clone(),
                Sz::Literal(n) => format!("{name}: {n}"),
                Sz::Expr(text, _) => format!("{name}: {text}"),
            })
            .collect();
        format!("[{}]", items.join(", "))
    }

    /// The axes as a `&[SignatureAxis]` constant expression.
    pub fn const_tokens(&self, p: &TokenStream) -> TokenStream {
        let items = self.0.iter().map(|(name, size)| {
            let size = size.const_tokens(p);
            quote!(#p::SignatureAxis { name: #name, size: #size })
        });
        quote!(&[#(#items),*])
    }
}

/// Messages, worded exactly as the run-time `Message` builder words them.
pub mod message {
    use super::Axes;

    fn size_note(size: Option<String>) -> String {
        size.map(|s| format!(" of size {s}")).unwrap_or_default()
    }

    pub fn needs_axis(
        layer: &str,
        axis: &str,
        size: Option<String>,
        here: &Axes,
        place: &str,
    ) -> String {
        format!(
            "{layer} needs input axis '{axis}'{}, but the axes here are {} ({place})",
            size_note(size),
            here.text()
        )
    }

    pub fn adds_present(layer: &str, axis: &str, here: &Axes, place: &str) -> String {
        format!(
            "{layer} adds axis '{axis}', but the axes here already have it: {} ({place})",
            here.text()
        )
    }

    pub fn unknown_size(layer: &str, axis: &str, place: &str) -> String {
        format!(
            "{layer} needs the size of axis '{axis}', which is not known here ({place}): write it, like `{axis}: 64`"
        )
    }

    pub fn must_end_as_started(what: &str, start: &Axes, end: &Axes) -> String {
        format!(
            "{what} must end with the axes it starts with: it starts with {} and ends with {} ({})",
            start.text(),
            end.text(),
            difference(start, end)
        )
    }

    pub fn branches_differ(layer: &str, first: &Axes, index: usize, other: &Axes) -> String {
        format!(
            "the branches of {layer} must end with the same axes: branch 1 ends with {}, but branch {} ends with {} ({})",
            first.text(),
            index + 1,
            other.text(),
            difference(first, other)
        )
    }

    pub fn check_failed(expected: &Axes, here: &Axes, place: &str) -> String {
        format!(
            "CheckAxes expects {}, but the axes here are {} ({place}): {}",
            expected.text(),
            here.text(),
            difference(expected, here)
        )
    }

    pub fn output_differs(declared: &Axes, actual: &Axes) -> String {
        format!(
            "the model's declared output is {}, but it ends with {}: {}",
            declared.text(),
            actual.text(),
            difference(declared, actual)
        )
    }

    fn difference(expected: &Axes, actual: &Axes) -> String {
        let mut parts = Vec::new();
        for (name, want) in &expected.0 {
            match actual.get(name) {
                None => parts.push(format!("missing axis '{name}'")),
                Some(got) if want.differs(got) => {
                    if let (super::Sz::Literal(w), super::Sz::Literal(g)) = (want, got) {
                        parts.push(format!("axis '{name}' has size {g}, not {w}"));
                    }
                }
                Some(_) => {}
            }
        }
        for (name, _) in &actual.0 {
            if expected.get(name).is_none() {
                parts.push(format!("surplus axis '{name}'"));
            }
        }
        parts.join(", ")
    }
}
