//! What each built-in layer requires, removes and adds: its signature as `model!` reads it
//! off the step's own syntax.

use proc_macro2::TokenStream;
use quote::ToTokens;

use super::builtin::{Builtin, Layer};
use super::flow::Sz;
use crate::axis_list::AxisDecl;
use crate::ctxt::Ctxt;

/// An axis the layer needs.
pub struct Need {
    pub axis: String,
    pub size: Sz,
    /// Where the axis is written in the step (errors point there), if it is.
    pub at: Option<TokenStream>,
    /// Whether the layer's constructor needs the size, so it must be known or inferred.
    pub infer: bool,
}

/// An axis the layer adds.
pub struct Add {
    pub axis: String,
    pub size: Sz,
    pub at: TokenStream,
}

/// A built-in layer's effect on the axes.
#[derive(Default)]
pub struct Effect {
    pub requires: Vec<Need>,
    pub removes: Vec<String>,
    pub adds: Vec<Add>,
}

fn need(decl: &AxisDecl, infer: bool) -> Need {
    Need {
        axis: decl.name(),
        size: Sz::of(&decl.size),
        at: Some(decl.to_token_stream()),
        infer: infer && decl.size.is_none(),
    }
}

fn implicit(axis: &str) -> Need {
    Need {
        axis: axis.to_owned(),
        size: Sz::Unknown,
        at: None,
        infer: false,
    }
}

/// The effect of `b`; records problems with the step's own arguments (an output axis
/// without a size, an axis listed twice). `RenameAxes` and `CheckAxes` are followed
/// separately and have no effect here.
pub fn effect(cx: &Ctxt, b: &Builtin) -> Effect {
    let name = b.ident.to_string();
    let mut out = Effect::default();
    match &b.layer {
        Layer::Linear {
            input,
            output,
            parallel,
            ..
        } => {
            let all: Vec<AxisDecl> = input
                .iter()
                .chain(output)
                .chain(parallel)
                .cloned()
                .collect();
            crate::axis_list::check_unique(cx, &all, &format!("`{name}`'s axes"));
            out.requires = input
                .iter()
                .chain(parallel)
                .map(|d| need(d, true))
                .collect();
            out.removes = input.iter().map(AxisDecl::name).collect();
            out.adds = output.iter().map(|d| sized_add(cx, &name, d)).collect();
        }
        Layer::AddBias { over } => out.requires = over.iter().map(|d| need(d, true)).collect(),
        Layer::Norm { kind, over, .. } => {
            out.requires = over
                .iter()
                .map(|d| need(d, kind.has_parameters()))
                .collect();
        }
        Layer::Softmax { over } => out.requires = over.iter().map(|d| need(d, false)).collect(),
        Layer::ApplyRoPE { over, .. } => out.requires = vec![need(over, false)],
        Layer::CausalMask { .. } => out.requires = vec![implicit("seq"), implicit("kv_seq")],
        Layer::Attention(attn) => {
            let mut all: Vec<AxisDecl> = attn.input.clone();
            all.extend(attn.heads.iter().cloned());
            crate::axis_list::check_unique(cx, &all, "`Attention`'s axes");
            for head in attn.heads.iter().chain(attn.kv.iter().flatten()) {
                if head.size.is_none() {
                    cx.error_spanned_by(
                        &head.name,
                        format!(
                            "Attention needs the size of head axis '{}' to build its weights: write `{}: 16`",
                            head.name, head.name
                        ),
                    );
                }
            }
            if let Some(kv) = &attn.kv {
                check_kv_heads(cx, &attn.heads, kv);
            }
            out.requires = attn.input.iter().map(|d| need(d, true)).collect();
            out.requires.push(implicit("seq"));
        }
        Layer::Activation(_)
        | Layer::Elementwise(_)
        | Layer::Dropout(_)
        | Layer::ConstantRescale(_)
        | Layer::TanhSoftCap(_)
        | Layer::Identity
        | Layer::RenameAxes { .. }
        | Layer::CheckAxes(_) => {}
    }
    out
}

fn sized_add(cx: &Ctxt, layer: &str, decl: &AxisDecl) -> Add {
    if decl.size.is_none() {
        cx.error_spanned_by(
            &decl.name,
            format!(
                "{layer} needs the size of its output axis '{}': write `{}: 256`",
                decl.name, decl.name
            ),
        );
    }
    Add {
        axis: decl.name(),
        size: Sz::of(&decl.size),
        at: decl.to_token_stream(),
    }
}

/// Keys and values of grouped-query attention use some of the queries' head axes, and
/// the same per-head axis (the last one).
fn check_kv_heads(cx: &Ctxt, heads: &[AxisDecl], kv: &[AxisDecl]) {
    let per_head = heads.last().map(AxisDecl::name);
    if kv.last().map(AxisDecl::name) != per_head {
        cx.error_spanned_by(
            kv.last().map(|d| d.to_token_stream()).unwrap_or_default(),
            format!(
                "the key/value axes must end with the queries' per-head axis '{}'",
                per_head.unwrap_or_default()
            ),
        );
    }
    for axis in kv {
        match heads.iter().find(|h| h.name == axis.name) {
            None => cx.error_spanned_by(
                &axis.name,
                format!(
                    "key/value axis '{}' is not one of the query head axes; grouped-query attention shares the queries' axes (`kv = [kv_heads: 2, projection: 16]` with queries `kv_heads: 2, q_per_kv: 2, projection: 16`)",
                    axis.name
                ),
            ),
            Some(h) if Sz::of(&h.size).differs(&Sz::of(&axis.size)) => cx.error_spanned_by(
                axis,
                format!(
                    "key/value axis '{}' must have the size the queries give it",
                    axis.name
                ),
            ),
            Some(_) => {}
        }
    }
}
