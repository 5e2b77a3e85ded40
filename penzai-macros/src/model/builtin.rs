//! The built-in layers `model!` knows, and how each one's arguments are written.

use proc_macro2::TokenStream;
use syn::parse::ParseStream;
use syn::{Expr, Ident, Token, token};

use super::options;
use crate::axis_list::{AxisDecl, parse_axes_until_option, starts_option};
use crate::ctxt::Ctxt;

/// A built-in layer step.
pub struct Builtin {
    pub ident: Ident,
    pub layer: Layer,
    /// `seed = ..`, overriding the model's seed for this step.
    pub seed: Option<Expr>,
    /// `init = ..`, overriding the model's initializer for this step.
    pub init: Option<Expr>,
}

/// The built-in layers with their arguments.
pub enum Layer {
    /// `Linear(in -> out, parallel = [..])`; `Affine(..)` is the same with a bias.
    Linear {
        input: Vec<AxisDecl>,
        output: Vec<AxisDecl>,
        parallel: Vec<AxisDecl>,
        bias: bool,
    },
    /// `AddBias(over hidden: 256)`.
    AddBias { over: Vec<AxisDecl> },
    /// `RMSNorm(over embedding)`, `LayerNorm`, `Standardize`, `RMSStandardize`.
    Norm {
        kind: NormKind,
        over: Vec<AxisDecl>,
        eps: Option<Expr>,
    },
    /// `Softmax(over kv_seq)`.
    Softmax { over: Vec<AxisDecl> },
    /// `Relu`, `Gelu`, ...: the `Activation` variant.
    Activation(&'static str),
    /// `Elementwise(activation)`.
    Elementwise(Expr),
    /// `Dropout(rate)`.
    Dropout(Expr),
    /// `ConstantRescale(by)`.
    ConstantRescale(Expr),
    /// `TanhSoftCap(cap)`.
    TanhSoftCap(Expr),
    /// `Identity`.
    Identity,
    /// `RenameAxes(seq -> kv_seq)`.
    RenameAxes { from: Ident, to: Ident },
    /// `CheckAxes(batch, seq, embedding: 64)`.
    CheckAxes(Vec<AxisDecl>),
    /// `ApplyRoPE(over projection, theta = 10000.0)`.
    ApplyRoPE { over: AxisDecl, theta: Option<Expr> },
    /// `ApplyCausalMask`, or with `window = 128` the sliding-window mask.
    CausalMask { window: Option<Expr> },
    /// `Attention(embedding: 64 -> heads: 4, projection: 16, mask = causal, ..)`.
    Attention(Box<Attention>),
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum NormKind {
    RMSNorm,
    LayerNorm,
    Standardize,
    RMSStandardize,
}

impl NormKind {
    /// Whether the layer has a learned scale (and so needs the axis sizes).
    pub fn has_parameters(self) -> bool {
        matches!(self, NormKind::RMSNorm | NormKind::LayerNorm)
    }
}

/// Multi-head attention: the input's feature axes project to head axes, the last of which
/// is the per-head axis queries and keys are contracted over.
pub struct Attention {
    pub input: Vec<AxisDecl>,
    pub heads: Vec<AxisDecl>,
    /// The last head axis: the one queries and keys are contracted over.
    pub per_head: AxisDecl,
    /// Head axes of keys and values, when they differ from the queries' (grouped-query).
    pub kv: Option<Vec<AxisDecl>>,
    pub mask: Mask,
    /// RoPE's base wavelength, when queries and keys are rotated.
    pub rope: Option<Expr>,
}

pub enum Mask {
    None,
    Causal,
    Window(Box<Expr>),
}

const ACTIVATIONS: [(&str, &str); 8] = [
    ("Relu", "Relu"),
    ("Gelu", "GeluExact"),
    ("GeluExact", "GeluExact"),
    ("GeluTanh", "GeluTanh"),
    ("Silu", "Silu"),
    ("Tanh", "Tanh"),
    ("Sigmoid", "Sigmoid"),
    ("Exp", "Exp"),
];

/// Every layer name `model!` accepts (for "did you mean" and the list in errors).
pub const NAMES: [&str; 30] = [
    "Linear",
    "Affine",
    "AddBias",
    "RMSNorm",
    "LayerNorm",
    "Standardize",
    "RMSStandardize",
    "Softmax",
    "Relu",
    "Gelu",
    "GeluExact",
    "GeluTanh",
    "Silu",
    "Tanh",
    "Sigmoid",
    "Exp",
    "Elementwise",
    "Dropout",
    "ConstantRescale",
    "TanhSoftCap",
    "Identity",
    "RenameAxes",
    "CheckAxes",
    "ApplyRoPE",
    "ApplyCausalMask",
    "Attention",
    "Sequential",
    "NamedGroup",
    "Residual",
    "BranchAndAdd",
];

/// Parses a built-in layer's arguments (the tokens inside its parentheses), recording
/// problems; `None` when the step cannot be used.
pub fn parse(
    cx: &Ctxt,
    ident: &Ident,
    args: Option<(token::Paren, ParseStream)>,
) -> Option<Builtin> {
    let content = args.as_ref().map(|(_, content)| *content);
    let parsed = parse_builtin(cx, ident, args);
    if let Some(content) = content {
        // Arguments left unread after a problem were not looked at; drop them so syn does
        // not report them too.
        let _ = content.parse::<TokenStream>();
    }
    parsed
}

fn parse_builtin(
    cx: &Ctxt,
    ident: &Ident,
    args: Option<(token::Paren, ParseStream)>,
) -> Option<Builtin> {
    let name = ident.to_string();
    if !NAMES.contains(&name.as_str()) && name != "BranchAndMultiply" {
        cx.error_spanned_by(ident, unknown_layer(&name));
        return None;
    }
    let activation = ACTIVATIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v);
    let mut out = Builtin {
        ident: ident.clone(),
        layer: Layer::Identity,
        seed: None,
        init: None,
    };
    if activation.is_some() || name == "Identity" {
        if let Some((paren, _)) = args {
            cx.syn_error(syn::Error::new(
                paren.span.join(),
                format!("`{name}` takes no arguments: write `{name}`"),
            ));
            return None;
        }
        if let Some(variant) = activation {
            out.layer = Layer::Activation(variant);
        }
        return Some(out);
    }
    let Some((_, input)) = args else {
        if name == "ApplyCausalMask" {
            out.layer = Layer::CausalMask { window: None };
            return Some(out);
        }
        cx.error_spanned_by(
            ident,
            format!("`{name}` needs arguments: {}", example(&name)),
        );
        return None;
    };
    let mut slots = options::Slots::default();
    let result = parse_layer(&name, input).and_then(|layer| {
        options::parse(cx, &name, input, &mut slots)?;
        Ok(layer)
    });
    match result {
        Ok(layer) => {
            out.layer = options::apply(layer, &mut slots);
            out.seed = slots.seed;
            out.init = slots.init;
            Some(out)
        }
        Err(e) => {
            cx.syn_error(e);
            None
        }
    }
}

fn unknown_layer(name: &str) -> String {
    let suggestion = NAMES
        .iter()
        .chain(&["BranchAndMultiply"])
        .map(|n| (edit_distance(&name.to_lowercase(), &n.to_lowercase()), n))
        .filter(|(d, n)| *d <= n.len().max(3) / 3)
        .min()
        .map(|(_, n)| format!("did you mean `{n}`? "))
        .unwrap_or_default();
    format!(
        "unknown layer `{name}`: {suggestion}model! knows {}; a custom layer is built through its type (`{name}::new(..)`, `{name} {{ .. }}`, `self::{name}(..)`)",
        NAMES.join(", ") + ", BranchAndMultiply"
    )
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// How a layer's arguments are written, for messages.
pub fn example(name: &str) -> &'static str {
    match name {
        "Linear" => "`Linear(embedding: 64 -> hidden: 256)`",
        "Affine" => "`Affine(embedding: 64 -> hidden: 256)`",
        "AddBias" => "`AddBias(over hidden: 256)`",
        "RMSNorm" => "`RMSNorm(over embedding)`",
        "LayerNorm" => "`LayerNorm(over embedding)`",
        "Standardize" => "`Standardize(over embedding)`",
        "RMSStandardize" => "`RMSStandardize(over embedding)`",
        "Softmax" => "`Softmax(over kv_seq)`",
        "Elementwise" => "`Elementwise(Activation::Relu)`",
        "Dropout" => "`Dropout(0.1)`",
        "ConstantRescale" => "`ConstantRescale(0.5)`",
        "TanhSoftCap" => "`TanhSoftCap(30.0)`",
        "RenameAxes" => "`RenameAxes(seq -> kv_seq)`",
        "CheckAxes" => "`CheckAxes(batch, seq, embedding: 64)`",
        "ApplyRoPE" => "`ApplyRoPE(over projection)`",
        "ApplyCausalMask" => "`ApplyCausalMask` or `ApplyCausalMask(window = 128)`",
        "Attention" => "`Attention(embedding: 64 -> heads: 4, projection: 16, mask = causal)`",
        _ => "see the `model!` documentation",
    }
}

fn expect_arrow(input: ParseStream, name: &str) -> syn::Result<()> {
    input.parse::<Token![->]>().map(drop).map_err(|e| {
        syn::Error::new(
            e.span(),
            format!(
                "expected `->` between the input and output axes: {}",
                example(name)
            ),
        )
    })
}

fn expect_over(input: ParseStream, name: &str) -> syn::Result<()> {
    let ok = input.peek(Ident) && input.fork().parse::<Ident>()? == "over";
    if !ok {
        return Err(input.error(format!("expected `over` and the axes: {}", example(name))));
    }
    input.parse::<Ident>()?;
    Ok(())
}

fn single_expr(input: ParseStream, name: &str) -> syn::Result<Expr> {
    if input.is_empty() || starts_option(input) {
        return Err(input.error(format!("expected a value: {}", example(name))));
    }
    input.parse()
}

fn nonempty(axes: Vec<AxisDecl>, input: ParseStream, name: &str) -> syn::Result<Vec<AxisDecl>> {
    if axes.is_empty() {
        return Err(input.error(format!("expected at least one axis: {}", example(name))));
    }
    Ok(axes)
}

fn parse_layer(name: &str, input: ParseStream) -> syn::Result<Layer> {
    Ok(match name {
        "Linear" | "Affine" => {
            let input_axes = nonempty(parse_axes_until_option(input)?, input, name)?;
            expect_arrow(input, name)?;
            let output = nonempty(parse_axes_until_option(input)?, input, name)?;
            Layer::Linear {
                input: input_axes,
                output,
                parallel: Vec::new(),
                bias: name == "Affine",
            }
        }
        "AddBias" | "Softmax" | "RMSNorm" | "LayerNorm" | "Standardize" | "RMSStandardize" => {
            expect_over(input, name)?;
            let over = nonempty(parse_axes_until_option(input)?, input, name)?;
            match name {
                "AddBias" => Layer::AddBias { over },
                "Softmax" => Layer::Softmax { over },
                _ => Layer::Norm {
                    kind: match name {
                        "RMSNorm" => NormKind::RMSNorm,
                        "LayerNorm" => NormKind::LayerNorm,
                        "Standardize" => NormKind::Standardize,
                        _ => NormKind::RMSStandardize,
                    },
                    over,
                    eps: None,
                },
            }
        }
        "Elementwise" => Layer::Elementwise(single_expr(input, name)?),
        "Dropout" => Layer::Dropout(single_expr(input, name)?),
        "ConstantRescale" => Layer::ConstantRescale(single_expr(input, name)?),
        "TanhSoftCap" => Layer::TanhSoftCap(single_expr(input, name)?),
        "RenameAxes" => {
            let from: Ident = input.parse()?;
            expect_arrow(input, name)?;
            let to: Ident = input.parse()?;
            Layer::RenameAxes { from, to }
        }
        "CheckAxes" => Layer::CheckAxes(parse_axes_until_option(input)?),
        "ApplyRoPE" => {
            expect_over(input, name)?;
            Layer::ApplyRoPE {
                over: input.parse()?,
                theta: None,
            }
        }
        "ApplyCausalMask" => Layer::CausalMask { window: None },
        "Attention" => {
            let input_axes = nonempty(parse_axes_until_option(input)?, input, name)?;
            expect_arrow(input, name)?;
            let heads = nonempty(parse_axes_until_option(input)?, input, name)?;
            let per_head = heads
                .last()
                .cloned()
                .ok_or_else(|| input.error(example(name)))?;
            Layer::Attention(Box::new(Attention {
                input: input_axes,
                heads,
                per_head,
                kv: None,
                mask: Mask::None,
                rope: None,
            }))
        }
        _ => return Err(input.error(format!("`{name}` is not a layer"))),
    })
}
