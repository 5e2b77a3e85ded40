//! The expansion: the constructor calls a user would write by hand (`Linear::new(..)`,
//! `Residual::new(..)`, `Steps::push_named(..)`), inside a closure so that `?` works,
//! preceded by the `const` checks of custom layers.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{Expr, Ident};

use super::builtin::{Attention, Builtin, Layer, Mask, NormKind};
use super::check::Checked;
use super::parse::{Group, GroupKind, Model, Repeat, Step, StepKind};
use super::path::{StepPath, step_key};
use crate::axis_list::{AxisDecl, Size};

struct Expander<'a> {
    /// `::penzai::nn`.
    nn: TokenStream,
    /// `::penzai::__private`.
    p: TokenStream,
    checked: &'a Checked,
    /// Whether the model declares `init = ..`.
    has_init: bool,
}

/// A local of the generated code, invisible to the user's expressions.
fn local(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

/// The model's code.
pub fn expand(model: &Model, checked: &Checked, krate: &TokenStream) -> TokenStream {
    let nn = quote!(#krate::nn);
    let p = quote!(#krate::__private);
    let ex = Expander {
        nn: nn.clone(),
        p: p.clone(),
        checked,
        has_init: model.init.is_some(),
    };
    let seed = local("__penzai_seed");
    let init = local("__penzai_init");
    let seed_value = model
        .seed
        .as_ref()
        .map_or_else(|| quote!(0), |s| quote!(#s));
    let init_let = model.init.as_ref().map(|e| {
        let value = initializer(e, &nn);
        quote!(let #init: #nn::Initializer = #value;)
    });
    let steps = ex.steps(&model.steps);
    let consts = &checked.consts;
    quote! {{
        #consts
        #p::build_model(|| -> #krate::Result<#nn::Sequential> {
            let #seed: u64 = #seed_value;
            #init_let
            #krate::Result::Ok(#nn::Sequential { steps: #steps })
        })
    }}
}

/// What to emit after errors: a value of the right type, so the user's code around the
/// macro does not add follow-on errors.
pub fn fallback(krate: &TokenStream) -> TokenStream {
    quote!(#krate::__private::unbuilt_model())
}

/// An initializer: a bare name (`HE_NORMAL`, `Zeros`, `Normal { std: 0.02 }`,
/// `Constant(0.5)`) is taken from `Initializer`; any other expression is used as written.
fn initializer(e: &Expr, nn: &TokenStream) -> TokenStream {
    let bare = |path: &syn::Path| {
        path.leading_colon.is_none()
            && path.segments.len() == 1
            && path.segments[0]
                .ident
                .to_string()
                .starts_with(|c: char| c.is_ascii_uppercase())
    };
    let named = match e {
        Expr::Path(p) => p.qself.is_none() && bare(&p.path),
        Expr::Struct(s) => s.qself.is_none() && bare(&s.path),
        Expr::Call(c) => matches!(&*c.func, Expr::Path(p) if p.qself.is_none() && bare(&p.path)),
        _ => false,
    };
    if named {
        quote!(#nn::Initializer::#e)
    } else {
        quote!(#e)
    }
}

fn string_vec(names: &[String]) -> TokenStream {
    quote!(::std::vec![#(::std::string::String::from(#names)),*])
}

impl Expander<'_> {
    /// A `Steps` expression holding `steps`.
    fn steps(&self, steps: &[Step]) -> TokenStream {
        let nn = &self.nn;
        let var = local("__penzai_steps");
        let pushes = steps.iter().map(|step| {
            let layer = self.layer(step);
            match step_key(step) {
                Some(key) => quote!(#var.push_named(#key, #layer)?;),
                None => quote!(#var.push(#layer);),
            }
        });
        quote!({
            let mut #var = #nn::Steps::new();
            #(#pushes)*
            #var
        })
    }

    /// An `AnyLayer` expression for `step`.
    fn layer(&self, step: &Step) -> TokenStream {
        let (nn, p) = (&self.nn, &self.p);
        match &step.kind {
            StepKind::Builtin(b) => {
                let ctor = self.builtin(step, b);
                quote!(#nn::AnyLayer::new(#ctor))
            }
            StepKind::Group(g) => self.group(g),
            StepKind::Repeat(r) => self.repeat(step, r),
            StepKind::Custom(c) => {
                // The annotation pins the type whose signature the check used.
                let (ty, expr) = (&c.ty, &c.expr);
                let layer = local("__penzai_layer");
                quote!({
                    let #layer: #ty = #expr;
                    #p::custom_layer(#layer)
                })
            }
            StepKind::Block(b) => {
                // The user's statements in braces of our own: the user's braces as a
                // call argument would trip the `unused_braces` lint in their crate.
                let stmts = &b.block.block.stmts;
                quote!(#p::block_layer({ #(#stmts)* }))
            }
            // Only expanded when there were no errors, so no step is invalid here.
            StepKind::Invalid => quote!(#nn::AnyLayer::new(#nn::Identity)),
        }
    }

    fn group(&self, g: &Group) -> TokenStream {
        let nn = &self.nn;
        let steps = self.steps(&g.steps);
        match g.kind {
            GroupKind::Sequential => quote!(#nn::AnyLayer::new(#nn::Sequential { steps: #steps })),
            GroupKind::NamedGroup => {
                let name = g.label.as_ref().map(syn::LitStr::value).unwrap_or_default();
                quote!(#nn::AnyLayer::new(#nn::NamedGroup {
                    name: ::std::string::String::from(#name),
                    steps: #steps,
                }))
            }
            GroupKind::Residual => quote!(#nn::AnyLayer::new(#nn::Residual::new(
                #nn::Sequential { steps: #steps }
            ))),
            GroupKind::BranchAndAdd | GroupKind::BranchAndMultiply => {
                let kind = &g.keyword;
                let branches = g.steps.iter().map(|b| self.layer(b));
                quote!(#nn::AnyLayer::new(#nn::#kind::new(::std::vec![#(#branches),*])?))
            }
        }
    }

    fn repeat(&self, step: &Step, r: &Repeat) -> TokenStream {
        let (nn, p) = (&self.nn, &self.p);
        let depth = self.path(step).repeat_depth();
        let index = local(&format!("__penzai_block{depth}"));
        let blocks = local("__penzai_blocks");
        let count = r.count.tokens();
        let body = self.steps(&r.steps);
        quote!({
            let mut #blocks = #nn::Steps::new();
            for #index in #p::block_indices(#count) {
                #blocks.push(#nn::AnyLayer::new(#nn::Sequential { steps: #body }));
            }
            #nn::AnyLayer::new(#nn::Sequential { steps: #blocks })
        })
    }

    fn path(&self, step: &Step) -> StepPath {
        self.checked
            .paths
            .get(&step.id)
            .cloned()
            .unwrap_or_default()
    }

    /// The label of the parameters under `step` (plus `suffix`), as a `&str` expression.
    fn label(&self, step: &Step, suffix: &str) -> TokenStream {
        let path = self.path(step);
        let format = path.label_format() + suffix;
        let depth = path.repeat_depth();
        if depth == 0 {
            return quote!(#format);
        }
        let indices = (0..depth).map(|d| local(&format!("__penzai_block{d}")));
        quote!(&::std::format!(#format, #(#indices),*))
    }

    fn seed(&self, b: &Builtin) -> TokenStream {
        let seed = local("__penzai_seed");
        b.seed
            .as_ref()
            .map_or_else(|| quote!(#seed), |s| quote!(#s))
    }

    /// The initializer of `b`'s weights: its own, the model's, or `default`.
    fn init(&self, b: &Builtin, default: TokenStream) -> TokenStream {
        let nn = &self.nn;
        if let Some(e) = &b.init {
            return initializer(e, nn);
        }
        if self.has_init {
            let init = local("__penzai_init");
            return quote!(#init);
        }
        quote!(#nn::Initializer::#default)
    }

    /// `&[("embedding", 64), ..]`, with sizes as written or inferred by the check.
    fn sized(&self, step: &Step, decls: &[AxisDecl]) -> TokenStream {
        let items = decls.iter().map(|d| {
            let name = d.name();
            let size = match &d.size {
                Some(size) => size.tokens(),
                None => self
                    .checked
                    .sizes
                    .get(&(step.id, name.clone()))
                    .cloned()
                    .unwrap_or_else(|| quote!(0usize)),
            };
            quote!((#name, #size))
        });
        quote!(&[#(#items),*])
    }

    fn builtin(&self, step: &Step, b: &Builtin) -> TokenStream {
        let nn = &self.nn;
        let names =
            |decls: &[AxisDecl]| string_vec(&decls.iter().map(AxisDecl::name).collect::<Vec<_>>());
        match &b.layer {
            Layer::Linear {
                input,
                output,
                parallel,
                bias,
            } => {
                let (seed, label) = (self.seed(b), self.label(step, ""));
                let (i, o) = (self.sized(step, input), self.sized(step, output));
                let init = self.init(b, quote!(XAVIER_UNIFORM));
                if *bias {
                    // Built from its steps rather than `Affine::new`, so that the labels
                    // follow the paths (`up.linear.weights`, `up.bias.bias`).
                    let (linear, bias) = (self.label(step, ".linear"), self.label(step, ".bias"));
                    let steps = local("__penzai_steps");
                    quote!(#nn::Affine { steps: {
                        let mut #steps = #nn::Steps::new();
                        #steps.push_named("linear", #nn::AnyLayer::new(
                            #nn::Linear::new(#seed, #linear, #i, #o, &[], #init)?
                        ))?;
                        #steps.push_named("bias", #nn::AnyLayer::new(
                            #nn::AddBias::new(#seed, #bias, #o, #nn::Initializer::Zeros)?
                        ))?;
                        #steps
                    }})
                } else {
                    let par = self.sized(step, parallel);
                    quote!(#nn::Linear::new(#seed, #label, #i, #o, #par, #init)?)
                }
            }
            Layer::AddBias { over } => {
                let (seed, label, axes) =
                    (self.seed(b), self.label(step, ""), self.sized(step, over));
                let init = b
                    .init
                    .as_ref()
                    .map_or_else(|| quote!(#nn::Initializer::Zeros), |e| initializer(e, nn));
                quote!(#nn::AddBias::new(#seed, #label, #axes, #init)?)
            }
            Layer::Norm { kind, over, eps } => {
                let eps = eps.as_ref().map_or_else(|| quote!(1e-6), |e| quote!(#e));
                match kind {
                    NormKind::RMSNorm => {
                        let (seed, label) = (self.seed(b), self.label(step, ""));
                        let axes = self.sized(step, over);
                        quote!(#nn::RMSNorm::new(#seed, #label, #axes, #eps)?)
                    }
                    NormKind::LayerNorm => {
                        // Built from its steps rather than `LayerNorm::new`, so that the
                        // labels follow the paths (`norm.scale.weights`, `norm.bias.bias`).
                        let seed = self.seed(b);
                        let (scale, bias) = (self.label(step, ".scale"), self.label(step, ".bias"));
                        let axes = self.sized(step, over);
                        let across = names(over);
                        let steps = local("__penzai_steps");
                        quote!(#nn::LayerNorm { steps: {
                            let mut #steps = #nn::Steps::new();
                            #steps.push_named("standardize", #nn::AnyLayer::new(
                                #nn::Standardize { across: #across, epsilon: #eps }
                            ))?;
                            #steps.push_named("scale", #nn::AnyLayer::new(
                                #nn::Linear::new(#seed, #scale, &[], &[], #axes, #nn::Initializer::Ones)?
                            ))?;
                            #steps.push_named("bias", #nn::AnyLayer::new(
                                #nn::AddBias::new(#seed, #bias, #axes, #nn::Initializer::Zeros)?
                            ))?;
                            #steps
                        }})
                    }
                    NormKind::Standardize | NormKind::RMSStandardize => {
                        let ty = &b.ident;
                        let across = names(over);
                        quote!(#nn::#ty { across: #across, epsilon: #eps })
                    }
                }
            }
            Layer::Softmax { over } => {
                let axes = names(over);
                quote!(#nn::Softmax { axes: #axes })
            }
            Layer::Activation(variant) => {
                let variant = Ident::new(variant, b.ident.span());
                quote!(#nn::Elementwise::new(#nn::Activation::#variant))
            }
            Layer::Elementwise(e) => quote!(#nn::Elementwise::new(#e)),
            Layer::Dropout(rate) => quote!(#nn::Dropout::new(#rate)),
            Layer::ConstantRescale(by) => quote!(#nn::ConstantRescale { by: #by }),
            Layer::TanhSoftCap(cap) => quote!(#nn::TanhSoftCap { soft_cap: #cap }),
            Layer::Identity => quote!(#nn::Identity),
            Layer::RenameAxes { from, to } => {
                let (from, to) = (from.to_string(), to.to_string());
                quote!(#nn::RenameAxes::new(#from, #to))
            }
            Layer::CheckAxes(axes) => {
                let items = axes.iter().map(|d| {
                    let name = d.name();
                    let size = match &d.size {
                        None => quote!(#nn::SizeSpec::Any),
                        Some(s) => {
                            let s = s.tokens();
                            quote!(#nn::SizeSpec::Fixed(#s))
                        }
                    };
                    quote!((::std::string::String::from(#name), #size))
                });
                quote!(#nn::CheckAxes {
                    expected: #nn::AxesSpec { axes: ::std::vec![#(#items),*], allow_others: false },
                })
            }
            Layer::ApplyRoPE { over, theta } => {
                let axis = over.name();
                let theta = theta
                    .as_ref()
                    .map_or_else(|| quote!(10_000.0), |t| quote!(#t));
                quote!(#nn::ApplyRoPE::new(#axis, #theta))
            }
            Layer::CausalMask { window: None } => quote!(#nn::ApplyCausalMask::default()),
            Layer::CausalMask { window: Some(w) } => {
                quote!(#nn::ApplyCausalSlidingWindowMask::new(#w))
            }
            Layer::Attention(attn) => self.attention(step, b, attn),
        }
    }

    fn attention(&self, step: &Step, b: &Builtin, attn: &Attention) -> TokenStream {
        let nn = &self.nn;
        let seed = self.seed(b);
        let init = self.init(b, quote!(XAVIER_UNIFORM));
        let input = self.sized(step, &attn.input);
        let q_axes = self.sized(step, &attn.heads);
        let kv_axes = self.sized(step, attn.kv.as_deref().unwrap_or(&attn.heads));
        let per_head = &attn.per_head;
        let head_axis = per_head.name();
        let head_size = per_head
            .size
            .as_ref()
            .map_or_else(|| quote!(1usize), Size::tokens);
        let steps = local("__penzai_steps");
        let linear = |slot: &str, i: &TokenStream, o: &TokenStream| {
            let label = self.label(step, slot);
            quote!(#nn::AnyLayer::new(#nn::Linear::new(#seed, #label, #i, #o, &[], #init)?))
        };
        let seq = |items: Vec<(&str, TokenStream)>| {
            let pushes = items
                .into_iter()
                .map(|(name, layer)| quote!(#steps.push_named(#name, #layer)?;));
            quote!(#nn::AnyLayer::new(#nn::Sequential { steps: {
                let mut #steps = #nn::Steps::new();
                #(#pushes)*
                #steps
            }}))
        };
        let rope = attn.rope.as_ref().map(|theta| {
            (
                "rope",
                quote!(#nn::AnyLayer::new(#nn::ApplyRoPE::new(#head_axis, #theta))),
            )
        });
        let rename = || {
            (
                "rename",
                quote!(#nn::AnyLayer::new(#nn::RenameAxes::new("seq", "kv_seq"))),
            )
        };
        let scale = quote!(#nn::AnyLayer::new(#nn::ConstantRescale {
            by: 1.0 / (#head_size as f32).sqrt(),
        }));
        let mut query = vec![("proj", linear(".query.proj", &input, &q_axes))];
        query.extend(rope.clone());
        query.push(("scale", scale));
        let mut key = vec![("proj", linear(".key.proj", &input, &kv_axes))];
        key.extend(rope);
        key.push(rename());
        let value = vec![("proj", linear(".value.proj", &input, &kv_axes)), rename()];
        let mut scores = Vec::new();
        match &attn.mask {
            Mask::None => {}
            Mask::Causal => scores.push((
                "mask",
                quote!(#nn::AnyLayer::new(#nn::ApplyCausalMask::default())),
            )),
            Mask::Window(w) => scores.push((
                "mask",
                quote!(#nn::AnyLayer::new(#nn::ApplyCausalSlidingWindowMask::new(#w))),
            )),
        }
        scores.push((
            "softmax",
            quote!(#nn::AnyLayer::new(#nn::Softmax::over("kv_seq"))),
        ));
        let (query, key, value, scores) = (seq(query), seq(key), seq(value), seq(scores));
        let output = linear(".output", &q_axes, &input);
        quote!(#nn::Attention {
            query: #query,
            key: #key,
            value: #value,
            scores: #scores,
            output: #output,
            head_axis: ::std::string::String::from(#head_axis),
            kv_axis: ::std::string::String::from("kv_seq"),
        })
    }
}
