//! The expansion, in two parts that follow the same steps:
//!
//! - the **check**: one `const` per step, holding the axes after it as penzai's axis-flow
//!   engine computes them (`penzai::nn::Flow`), from the previous step's. A step written by
//!   name asks its layer type (`<Linear as ModelStep<_>>::FLOW`), a custom layer its
//!   `#[layer]` signature; a mistake makes a second `const` panic with the message, at the
//!   token the mistake is blamed on, so the compiler reports it there;
//! - the **build**: the constructor calls a user would write by hand, inside a closure so
//!   that `?` works, evaluating the same flow again with sizes written as Rust expressions
//!   known.
//!
//! A step written by name is resolved with penzai's layers in scope first (a block with
//! `use penzai::nn::*`), then the user's: `Gelu` is penzai's, `Pool` the user's.

use proc_macro2::{Delimiter, Group as TokenGroup, Literal as TokenLiteral, Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::{Expr, Ident};

use super::args::{Args, Value, text_of};
use super::parse::{BlockStep, ByName, Custom, Group, GroupKind, Model, Repeat, Step, StepKind};
use super::path::{PlaceSpec, StepPath, step_key};
use super::validate::Layout;
use crate::axis_list::{AxisDecl, Size};

struct Expander<'a> {
    /// `::penzai::nn`.
    nn: TokenStream,
    /// `::penzai::__private`.
    p: TokenStream,
    layout: &'a Layout,
    /// Whether the model declares `init = ..`.
    has_init: bool,
    /// The `const` items of the check, in order.
    consts: TokenStream,
    next: usize,
}

/// A local of the generated code, invisible to the user's expressions.
fn local(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

/// The check of a model that has errors of its own (reported beside): the steps that
/// parsed are still checked, so one build shows every mistake.
pub fn check_only(model: &Model, layout: &Layout, krate: &TokenStream) -> TokenStream {
    let mut ex = Expander::new(model, layout, krate);
    let p = ex.p.clone();
    let start = match &model.input {
        Some(list) => {
            let input: Vec<TokenStream> = list.axes.iter().map(|a| axis_const(a, &p)).collect();
            ex.emit_flow(quote!(#p::Flow::new(&[#(#input),*])), None, &[])
        }
        None => ex.emit_flow(quote!(#p::Flow::UNKNOWN), None, &[]),
    };
    let (_, end) = ex.steps(&model.steps, start);
    if let Some(out) = &model.output {
        let declared: Vec<TokenStream> = out.axes.iter().map(|a| axis_const(a, &p)).collect();
        ex.emit_flow(
            quote!(#end.output(&[#(#declared),*])),
            Some(&out.to_token_stream()),
            &[],
        );
    }
    ex.consts
}

impl<'a> Expander<'a> {
    fn new(model: &Model, layout: &'a Layout, krate: &TokenStream) -> Expander<'a> {
        Expander {
            nn: quote!(#krate::nn),
            p: quote!(#krate::__private),
            layout,
            has_init: model.init.is_some(),
            consts: TokenStream::new(),
            next: 0,
        }
    }
}

/// The model's code.
pub fn expand(model: &Model, layout: &Layout, krate: &TokenStream) -> TokenStream {
    let mut ex = Expander::new(model, layout, krate);
    let (nn, p) = (ex.nn.clone(), ex.p.clone());
    let input = model
        .input
        .as_ref()
        .map(|l| l.axes.as_slice())
        .unwrap_or(&[]);
    let input_const: Vec<TokenStream> = input.iter().map(|a| axis_const(a, &p)).collect();
    let start = ex.emit_flow(quote!(#p::Flow::new(&[#(#input_const),*])), None, &[]);
    let (steps, end) = ex.steps(&model.steps, start);
    let flow = local("__penzai_flow");
    let output = model.output.as_ref().map(|out| {
        let declared: Vec<TokenStream> = out.axes.iter().map(|a| axis_const(a, &p)).collect();
        let at = out.to_token_stream();
        ex.emit_flow(quote!(#end.output(&[#(#declared),*])), Some(&at), &[]);
        let declared: Vec<TokenStream> = out.axes.iter().map(|a| axis_run(a, &p)).collect();
        quote!(#p::check_output(&#flow, &[#(#declared),*])?;)
    });
    let seed = local("__penzai_seed");
    let init = local("__penzai_init");
    let seed_value = model
        .seed
        .as_ref()
        .map_or_else(|| quote!(0), |s| quote!(#s));
    let init_value = match &model.init {
        Some(e) => {
            let value = initializer(e, &nn);
            quote!(#p::Some(#value))
        }
        None => quote!(#p::None),
    };
    let input_run: Vec<TokenStream> = input.iter().map(|a| axis_run(a, &p)).collect();
    let consts = &ex.consts;
    quote! {{
        #consts
        #p::build_model(|| -> #krate::Result<#nn::Sequential> {
            let #seed: u64 = #seed_value;
            let #init: #p::Option<#nn::Initializer> = #init_value;
            let mut #flow: #p::Flow<'static> = #p::Flow::new(&[#(#input_run),*]);
            let __penzai_model = #nn::Sequential { steps: #steps };
            #output
            let _ = (&#flow, &#init);
            #krate::Result::Ok(__penzai_model)
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

/// An axis for the check: sizes written as Rust expressions are known only at run time.
fn axis_const(axis: &AxisDecl, p: &TokenStream) -> TokenStream {
    let name = axis.name();
    match &axis.size {
        None => quote!(#p::Axis::any(#name)),
        Some(Size::Literal(_, n)) => quote!(#p::Axis::sized(#name, #n)),
        Some(Size::Expr(e)) => {
            let text = size_text(e);
            quote!(#p::Axis::expr(#name, #text))
        }
    }
}

/// An axis for the build, with its size evaluated.
fn axis_run(axis: &AxisDecl, p: &TokenStream) -> TokenStream {
    let name = axis.name();
    match &axis.size {
        None => quote!(#p::Axis::any(#name)),
        Some(size) => {
            let size = size.tokens();
            quote!(#p::Axis::sized(#name, #size))
        }
    }
}

/// The text of a size expression, without the braces it may be written in.
fn size_text(e: &TokenStream) -> String {
    let mut tokens = e.clone().into_iter();
    if let (Some(proc_macro2::TokenTree::Group(g)), None) = (tokens.next(), tokens.next())
        && g.delimiter() == Delimiter::Brace
    {
        return text_of(&g.stream());
    }
    text_of(e)
}

impl Expander<'_> {
    fn fresh(&mut self, prefix: &str) -> Ident {
        let n = self.next;
        self.next += 1;
        format_ident!("{prefix}{n}")
    }

    /// Emits `const F: Flow = init;` and, when the flow may carry an error, the checks
    /// that report it: at `step` for any blame, and at each `(blame, tokens)` of `at` for
    /// that blame.
    fn emit_flow(
        &mut self,
        init: TokenStream,
        step: Option<&TokenStream>,
        at: &[(TokenStream, TokenStream)],
    ) -> Ident {
        let p = self.p.clone();
        let name = self.fresh("__PENZAI_FLOW_");
        let mut arms = TokenStream::new();
        for (blame, tokens) in at {
            let fail = fail(&name, tokens);
            arms.extend(quote!(#p::Some(#blame) => #fail,));
        }
        let check = step.map(|step| {
            let fail = fail(&name, step);
            quote! {
                const _: () = match #name.blame() {
                    #arms
                    #p::Some(_) => #fail,
                    #p::None => (),
                };
            }
        });
        self.consts.extend(quote! {
            #[allow(dead_code)]
            const #name: #p::Flow<'static> = #init;
            #check
        });
        name
    }

    /// A `Steps` expression holding `steps`, and the flow after them.
    fn steps(&mut self, steps: &[Step], mut flow: Ident) -> (TokenStream, Ident) {
        let nn = self.nn.clone();
        let var = local("__penzai_steps");
        let mut pushes = TokenStream::new();
        for step in steps {
            let (layer, after) = self.step(step, flow);
            flow = after;
            pushes.extend(match step_key(step) {
                Some(key) => quote!(#var.push_named(#key, #layer)?;),
                None => quote!(#var.push(#layer);),
            });
        }
        let code = quote!({
            let mut #var = #nn::Steps::new();
            #pushes
            #var
        });
        (code, flow)
    }

    /// An `AnyLayer` expression for `step` (which moves the run-time flow past it), and
    /// the check's flow after it.
    fn step(&mut self, step: &Step, flow: Ident) -> (TokenStream, Ident) {
        match &step.kind {
            StepKind::ByName(b) => self.by_name(step, b, flow),
            StepKind::Custom(c) => self.custom(step, c, flow),
            StepKind::Block(b) => self.block(b, flow),
            StepKind::Group(g) => self.group(step, g, flow),
            StepKind::Repeat(r) => self.repeat(step, r, flow),
            StepKind::Invalid => {
                let p = self.p.clone();
                let after = self.emit_flow(quote!(#p::Flow::UNKNOWN), None, &[]);
                (TokenStream::new(), after)
            }
        }
    }

    fn place(&self, step: &Step) -> TokenStream {
        self.layout
            .places
            .get(&step.id)
            .cloned()
            .unwrap_or(PlaceSpec::Input)
            .tokens(&self.p)
    }

    fn path(&self, step: &Step) -> StepPath {
        self.layout.paths.get(&step.id).cloned().unwrap_or_default()
    }

    /// The label of the parameters under `step`, as a `&str` expression.
    fn label(&self, step: &Step) -> TokenStream {
        let path = self.path(step);
        let format = path.label_format();
        let depth = path.repeat_depth();
        if depth == 0 {
            return quote!(#format);
        }
        let indices = (0..depth).map(|d| local(&format!("__penzai_block{d}")));
        quote!(&::std::format!(#format, #(#indices),*))
    }

    fn by_name(&mut self, step: &Step, b: &ByName, flow: Ident) -> (TokenStream, Ident) {
        let (p, nn) = (self.p.clone(), self.nn.clone());
        let ident = &b.ident;
        let input = self.fresh("__PenzaiStep");
        let written_const = self.written(step, b, false);
        self.consts.extend(quote! {
            #[allow(non_camel_case_types)]
            struct #input;
            impl #p::StepInput for #input {
                const FLOW: #p::Flow<'static> = #flow;
                const STEP: #p::Written<'static> = #written_const;
            }
        });
        let mut at = vec![(
            quote!(#p::Blame::Args),
            match &b.args {
                Some(args) => args.tokens.clone(),
                None => ident.to_token_stream(),
            },
        )];
        if let Some(args) = &b.args {
            at.extend(blame_points(args, &p));
        }
        // One use of the layer type, so a type that is no step is one error.
        let planned = self.fresh("__PENZAI_STEP_");
        self.consts.extend(quote! {
            #[allow(dead_code)]
            const #planned: #p::Planned = {
                #[allow(unused_imports)]
                use #nn::*;
                #p::plan_step::<#ident, #input>()
            };
        });
        let after = self.emit_flow(quote!(#planned.flow), Some(&step.tokens), &at);
        let written = self.written(step, b, true);
        let build = self.step_args(step, b);
        let flow_var = local("__penzai_flow");
        let code = quote!((#planned.build)(&mut #flow_var, &#written, #build)?);
        (code, after)
    }

    /// The step as written, for the check (`run` false) or the build.
    fn written(&self, step: &Step, b: &ByName, run: bool) -> TokenStream {
        let p = &self.p;
        let name = b.ident.to_string();
        let place = self.place(step);
        let axes = |list: &[AxisDecl]| -> TokenStream {
            let items = list.iter().map(|a| {
                if run {
                    axis_run(a, p)
                } else {
                    axis_const(a, p)
                }
            });
            quote!(&[#(#items),*])
        };
        let Some(args) = &b.args else {
            return quote!(#p::Written {
                name: #name,
                parens: false,
                before: &[],
                arrow: false,
                after: &[],
                over: false,
                values: &[],
                options: &[],
                place: #place,
            });
        };
        let (before, after) = (axes(&args.before), axes(&args.after));
        let (arrow, over) = (args.arrow.is_some(), args.over.is_some());
        let values = args.values.iter().map(|v| self.literal(v, run));
        let options = args.options.iter().map(|o| {
            let key = o.key.to_string();
            let value = self.literal(&o.value, run);
            quote!(#p::StepOption { key: #key, value: #value })
        });
        quote!(#p::Written {
            name: #name,
            parens: true,
            before: #before,
            arrow: #arrow,
            after: #after,
            over: #over,
            values: &[#(#values),*],
            options: &[#(#options),*],
            place: #place,
        })
    }

    fn literal(&self, value: &Value, run: bool) -> TokenStream {
        let p = &self.p;
        match value {
            Value::Number {
                value,
                integer,
                text,
                ..
            } => {
                let value = TokenLiteral::f64_suffixed(*value);
                quote!(#p::Literal::Number { value: #value, text: #text, integer: #integer })
            }
            Value::Bool(b) => quote!(#p::Literal::Bool(#b)),
            Value::Word(w) => {
                let w = w.to_string();
                quote!(#p::Literal::Word(#w))
            }
            Value::Axes(list) => {
                let items = list.axes.iter().map(|a| {
                    if run {
                        axis_run(a, p)
                    } else {
                        axis_const(a, p)
                    }
                });
                quote!(#p::Literal::Axes(&[#(#items),*]))
            }
            Value::Expr(e) => {
                let text = text_of(&e.to_token_stream());
                quote!(#p::Literal::Expr(#text))
            }
        }
    }

    /// The run-time arguments of a step: label, seed, initializer, values.
    fn step_args(&self, step: &Step, b: &ByName) -> TokenStream {
        let p = &self.p;
        let label = self.label(step);
        let option = |key: &str| {
            b.args
                .as_ref()
                .and_then(|a| a.options.iter().find(|o| o.key == key))
        };
        let seed = match option("seed").map(|o| &o.value) {
            Some(v) => value_tokens(v),
            None => local("__penzai_seed").to_token_stream(),
        };
        let init = match option("init").map(|o| &o.value) {
            Some(Value::Expr(e)) => {
                let value = initializer(e, &self.nn);
                quote!(#p::Some(#value))
            }
            Some(Value::Word(w)) => {
                let nn = &self.nn;
                quote!(#p::Some(#nn::Initializer::#w))
            }
            Some(other) => {
                let tokens = other.tokens();
                quote!(#p::Some(#tokens))
            }
            None => quote!(#p::None),
        };
        let model_init = if self.has_init {
            local("__penzai_init").to_token_stream()
        } else {
            quote!(#p::None)
        };
        let (values, options): (Vec<TokenStream>, Vec<TokenStream>) = match &b.args {
            None => (Vec::new(), Vec::new()),
            Some(args) => (
                args.values.iter().filter_map(|v| self.value(v)).collect(),
                args.options
                    .iter()
                    .filter(|o| o.key != "seed" && o.key != "init")
                    .filter_map(|o| {
                        let key = o.key.to_string();
                        self.value(&o.value).map(|v| quote!((#key, #v)))
                    })
                    .collect(),
            ),
        };
        quote!(#p::StepArgs {
            label: #label,
            seed: #seed,
            init: #init,
            model_init: #model_init,
            values: &[#(#values),*],
            options: &[#(#options),*],
        })
    }

    /// A value for the builder (axes are not values: the builder reads them off the step).
    fn value(&self, value: &Value) -> Option<TokenStream> {
        let p = &self.p;
        Some(match value {
            Value::Word(w) => {
                let w = w.to_string();
                quote!(#p::Value::Word(#w))
            }
            Value::Axes(_) => return None,
            other => {
                let tokens = value_tokens(other);
                quote!(#p::value(#tokens))
            }
        })
    }

    fn custom(&mut self, step: &Step, c: &Custom, flow: Ident) -> (TokenStream, Ident) {
        let p = self.p.clone();
        let (ty, expr) = (&c.ty, &c.expr);
        let name = ty
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        let place = self.place(step);
        let sig = quote!(<#ty as #p::HasSignature>::SIGNATURE);
        let after = self.emit_flow(
            quote!(#flow.then(&#sig, #name, #place)),
            Some(&step.tokens),
            &[],
        );
        let (layer, flow_var) = (local("__penzai_layer"), local("__penzai_flow"));
        // The annotation pins the type whose signature the check used.
        let code = quote!({
            let #layer: #ty = #expr;
            #flow_var = #p::after_signature(&#flow_var, &#sig, #name, #place)?;
            #p::custom_layer(#layer)
        });
        (code, after)
    }

    fn block(&mut self, b: &BlockStep, _flow: Ident) -> (TokenStream, Ident) {
        let p = self.p.clone();
        let declared: Vec<TokenStream> = b.axes.axes.iter().map(|a| axis_const(a, &p)).collect();
        let after = self.emit_flow(quote!(#p::Flow::new(&[#(#declared),*])), None, &[]);
        let declared: Vec<TokenStream> = b.axes.axes.iter().map(|a| axis_run(a, &p)).collect();
        // The user's statements in braces of our own: the user's braces as a call
        // argument would trip the `unused_braces` lint in their crate.
        let stmts = &b.block.block.stmts;
        let (layer, flow_var) = (local("__penzai_layer"), local("__penzai_flow"));
        let code = quote!({
            let #layer = #p::block_layer({ #(#stmts)* });
            #flow_var = #p::Flow::new(&[#(#declared),*]);
            #layer
        });
        (code, after)
    }

    fn group(&mut self, step: &Step, g: &Group, flow: Ident) -> (TokenStream, Ident) {
        let (p, nn) = (self.p.clone(), self.nn.clone());
        let flow_var = local("__penzai_flow");
        let start = local("__penzai_start");
        match g.kind {
            GroupKind::Sequential => {
                let (steps, after) = self.steps(&g.steps, flow);
                (
                    quote!(#nn::AnyLayer::new(#nn::Sequential { steps: #steps })),
                    after,
                )
            }
            GroupKind::NamedGroup => {
                let (steps, after) = self.steps(&g.steps, flow);
                let name = g.label.as_ref().map(syn::LitStr::value).unwrap_or_default();
                let code = quote!(#nn::AnyLayer::new(#nn::NamedGroup {
                    name: ::std::string::String::from(#name),
                    steps: #steps,
                }));
                (code, after)
            }
            GroupKind::Residual => {
                let (steps, end) = self.steps(&g.steps, flow.clone());
                let what = "the Residual body";
                let at = g.keyword.to_token_stream();
                let after =
                    self.emit_flow(quote!(#end.end_as_started(&#flow, #what)), Some(&at), &[]);
                let body = local("__penzai_body");
                let code = quote!({
                    let #start = #flow_var;
                    let #body = #steps;
                    #flow_var = #p::end_as_started(&#start, &#flow_var, #what)?;
                    #nn::AnyLayer::new(#nn::Residual::new(#nn::Sequential { steps: #body }))
                });
                (code, after)
            }
            GroupKind::BranchAndAdd | GroupKind::BranchAndMultiply => {
                let kind = &g.keyword;
                let layer_name = kind.to_string();
                let (branches, ends) = (local("__penzai_branches"), local("__penzai_ends"));
                let mut compared: Option<Ident> = None;
                let mut pushes = TokenStream::new();
                for (i, branch) in g.steps.iter().enumerate() {
                    let (layer, end) = self.step(branch, flow.clone());
                    compared = Some(match compared {
                        None => end,
                        Some(first) => self.emit_flow(
                            quote!(#first.branch(&#end, #i, #layer_name)),
                            Some(&branch.tokens),
                            &[],
                        ),
                    });
                    pushes.extend(quote! {
                        #flow_var = #start;
                        #branches.push(#layer);
                        #ends.push(#flow_var);
                    });
                }
                let after = compared.unwrap_or(flow);
                let code = quote!({
                    let #start = #flow_var;
                    let mut #branches = ::std::vec::Vec::new();
                    let mut #ends = ::std::vec::Vec::new();
                    #pushes
                    #flow_var = #p::branches_agree(&#ends, #layer_name)?;
                    #nn::AnyLayer::new(#nn::#kind::new(#branches)?)
                });
                let _ = step;
                (code, after)
            }
        }
    }

    fn repeat(&mut self, step: &Step, r: &Repeat, flow: Ident) -> (TokenStream, Ident) {
        let (p, nn) = (self.p.clone(), self.nn.clone());
        let (steps, end) = self.steps(&r.steps, flow.clone());
        let what = match &r.name {
            Some(name) => format!("the body of repeat '{name}'"),
            None => "a repeated body".to_owned(),
        };
        let at = match &r.name {
            Some(name) => quote!(#name),
            None => r.keyword.to_token_stream(),
        };
        let after = self.emit_flow(quote!(#end.end_as_started(&#flow, #what)), Some(&at), &[]);
        let depth = self.path(step).repeat_depth();
        let index = local(&format!("__penzai_block{depth}"));
        let (blocks, start, flow_var, body) = (
            local("__penzai_blocks"),
            local("__penzai_start"),
            local("__penzai_flow"),
            local("__penzai_body"),
        );
        let count = r.count.tokens();
        let code = quote!({
            let #start = #flow_var;
            let mut #blocks = #nn::Steps::new();
            for #index in #p::block_indices(#count) {
                #flow_var = #start;
                let #body = #steps;
                #flow_var = #p::end_as_started(&#start, &#flow_var, #what)?;
                #blocks.push(#nn::AnyLayer::new(#nn::Sequential { steps: #body }));
            }
            #flow_var = #start;
            #nn::AnyLayer::new(#nn::Sequential { steps: #blocks })
        });
        (code, after)
    }
}

/// The tokens of a value as a Rust expression.
fn value_tokens(value: &Value) -> TokenStream {
    match value {
        Value::Expr(e) => quote!((#e)),
        other => other.tokens(),
    }
}

/// Each place in a step's arguments a mistake may be blamed on, with its tokens.
fn blame_points(args: &Args, p: &TokenStream) -> Vec<(TokenStream, TokenStream)> {
    let mut at = Vec::new();
    let axis_blame = if args.over.is_some() {
        quote!(Over)
    } else {
        quote!(Before)
    };
    for (i, axis) in args.before.iter().enumerate() {
        at.push((quote!(#p::Blame::#axis_blame(#i)), axis.to_token_stream()));
    }
    for (i, axis) in args.after.iter().enumerate() {
        at.push((quote!(#p::Blame::After(#i)), axis.to_token_stream()));
    }
    for (i, value) in args.values.iter().enumerate() {
        at.push((quote!(#p::Blame::Value(#i)), value.tokens()));
    }
    for (i, option) in args.options.iter().enumerate() {
        at.push((quote!(#p::Blame::OptionArg(#i)), option.tokens()));
    }
    at
}

/// `panic!("{}", F.message())` written at `at`: rustc reports a panic in constant
/// evaluation where the `panic!` is written, so the error points at that token.
fn fail(flow: &Ident, at: &TokenStream) -> TokenStream {
    let (first, last) = span_range(at);
    let args = parens(quote!("{}", #flow.message()), last);
    let panic = quote_spanned!(first=> ::core::panic!);
    quote!(#panic #args)
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
