//! `model!`'s syntax, parsed into an IR that keeps the user's tokens for spans.
//!
//! A step that does not parse is recorded and skipped up to the next comma, so one build
//! shows every malformed step, not just the first.

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::buffer::Cursor;
use syn::parse::ParseStream;
use syn::{Expr, Ident, LitStr, Token, token};

use super::args::{self, Args};
use crate::axis_list::{AxisList, Size};
use crate::ctxt::Ctxt;

/// The whole invocation.
#[derive(Default)]
pub struct Model {
    pub input: Option<AxisList>,
    pub output: Option<AxisList>,
    pub seed: Option<Expr>,
    pub init: Option<Expr>,
    pub steps: Vec<Step>,
}

/// One pipeline step: `name: body` or just `body`.
pub struct Step {
    /// Unique within the invocation; keys what the check stage learns about the step.
    pub id: usize,
    pub name: Option<Ident>,
    pub kind: StepKind,
    /// The body's tokens (without the name), for errors that cover the whole step.
    pub tokens: TokenStream,
}

/// What a step is.
pub enum StepKind {
    /// A layer written by its type's name: `Linear(embedding: 64 -> hidden: 256)`, `Gelu`.
    ByName(ByName),
    /// `Sequential [..]`, `NamedGroup "mlp" [..]`, `Residual [..]`, `BranchAndAdd [..]`...
    Group(Group),
    /// `repeat 12 as blocks { .. }`.
    Repeat(Repeat),
    /// A custom layer built through its type: `Gate::new(3)`, `Gate { .. }`.
    Custom(Custom),
    /// Any expression, with the axes it ends with: `{ expr } as [batch, seq]`.
    Block(BlockStep),
    /// A step that failed to parse (already reported).
    Invalid,
}

/// The combinators that hold steps.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum GroupKind {
    Sequential,
    NamedGroup,
    Residual,
    BranchAndAdd,
    BranchAndMultiply,
}

impl GroupKind {
    pub const ALL: [(&'static str, GroupKind); 5] = [
        ("Sequential", GroupKind::Sequential),
        ("NamedGroup", GroupKind::NamedGroup),
        ("Residual", GroupKind::Residual),
        ("BranchAndAdd", GroupKind::BranchAndAdd),
        ("BranchAndMultiply", GroupKind::BranchAndMultiply),
    ];
}

pub struct Group {
    pub kind: GroupKind,
    pub keyword: Ident,
    /// The name of a `NamedGroup`.
    pub label: Option<LitStr>,
    pub steps: Vec<Step>,
}

pub struct Repeat {
    pub keyword: Ident,
    pub count: Size,
    pub name: Option<Ident>,
    pub steps: Vec<Step>,
}

/// A step written by a layer type's name, described by the type itself.
pub struct ByName {
    pub ident: Ident,
    /// The arguments in parentheses; `None` for a bare name.
    pub args: Option<Args>,
}

pub struct Custom {
    /// The layer's type, read off the expression (`Gate` in `Gate::new(3)?`).
    pub ty: syn::Path,
    pub expr: Expr,
}

pub struct BlockStep {
    pub block: syn::ExprBlock,
    pub axes: AxisList,
}

/// Parses the invocation, recording errors in `cx`; `None` when nothing usable came out.
pub fn parse(cx: &Ctxt, tokens: TokenStream) -> Option<Model> {
    let mut ids = 0;
    let parser = |input: ParseStream| parse_model(cx, input, &mut ids);
    match syn::parse::Parser::parse2(parser, tokens) {
        Ok(model) => Some(model),
        Err(e) => {
            cx.syn_error(e);
            None
        }
    }
}

fn parse_model(cx: &Ctxt, input: ParseStream, ids: &mut usize) -> syn::Result<Model> {
    let mut model = Model::default();
    while is_declaration(input) {
        parse_declaration(cx, input, &mut model)?;
    }
    model.steps = parse_steps(cx, input, ids);
    Ok(model)
}

/// `input: [..]`, `output: [..]`, `seed = ..` or `init = ..` (never a step: steps are
/// `name: layer` with no brackets after the colon, or a layer).
fn is_declaration(input: ParseStream) -> bool {
    (input.peek(Ident) && input.peek2(Token![:]) && !input.peek2(Token![::]) && {
        let fork = input.fork();
        fork.parse::<Ident>().is_ok()
            && fork.parse::<Token![:]>().is_ok()
            && fork.peek(token::Bracket)
    }) || crate::axis_list::starts_option(input)
}

fn parse_declaration(cx: &Ctxt, input: ParseStream, model: &mut Model) -> syn::Result<()> {
    let key: Ident = input.parse()?;
    let name = key.to_string();
    let duplicate = |present: bool| {
        if present {
            cx.error_spanned_by(&key, format!("`{name}` is declared twice"));
        }
    };
    if input.peek(Token![:]) {
        input.parse::<Token![:]>()?;
        let axes: AxisList = input.parse()?;
        match name.as_str() {
            "input" => {
                duplicate(model.input.is_some());
                model.input = Some(axes);
            }
            "output" => {
                duplicate(model.output.is_some());
                model.output = Some(axes);
            }
            _ => cx.error_spanned_by(
                &key,
                format!("unknown declaration `{name}`: model! starts with `input: [..];` and may declare `output: [..];`"),
            ),
        }
    } else {
        input.parse::<Token![=]>()?;
        let value: Expr = input.parse()?;
        match name.as_str() {
            "seed" => {
                duplicate(model.seed.is_some());
                model.seed = Some(value);
            }
            "init" => {
                duplicate(model.init.is_some());
                model.init = Some(value);
            }
            _ => cx.error_spanned_by(
                &key,
                format!("unknown option `{name}`: model! takes `seed = ..;` and `init = ..;` before its steps"),
            ),
        }
    }
    input.parse::<Token![;]>().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("expected `;` after the `{name}` declaration"),
        )
    })?;
    Ok(())
}

/// Steps separated by commas, up to the end of `input`; a step that does not parse is
/// reported and skipped.
pub fn parse_steps(cx: &Ctxt, input: ParseStream, ids: &mut usize) -> Vec<Step> {
    let mut steps = Vec::new();
    while !input.is_empty() {
        if is_declaration(input) {
            let key = input.fork().parse::<Ident>().ok();
            cx.error_spanned_by(
                key.map(|k| k.into_token_stream()).unwrap_or_default(),
                "declarations (`input`, `output`, `seed`, `init`) come before the first step, each ending with `;`",
            );
            // Read it anyway, so that it is not reported again as a malformed step.
            let mut ignored = Model::default();
            if let Err(e) = parse_declaration(cx, input, &mut ignored) {
                cx.syn_error(e);
                skip_to_comma(input);
            }
            continue;
        }
        match parse_step(cx, input, ids) {
            Ok(step) => steps.push(step),
            Err(e) => {
                cx.syn_error(e);
                skip_to_comma(input);
                // Kept as a step whose axes are unknown, so the steps after it are checked
                // without piling up follow-on errors.
                steps.push(Step {
                    id: *ids,
                    name: None,
                    kind: StepKind::Invalid,
                    tokens: TokenStream::new(),
                });
                *ids += 1;
            }
        }
        if input.is_empty() {
            break;
        }
        if let Err(e) = input.parse::<Token![,]>() {
            cx.syn_error(syn::Error::new(e.span(), "expected `,` between steps"));
            skip_to_comma(input);
            let _ = input.parse::<Token![,]>();
        }
    }
    steps
}

fn skip_to_comma(input: ParseStream) {
    while !input.is_empty() && !input.peek(Token![,]) {
        if input.parse::<TokenTree>().is_err() {
            break;
        }
    }
}

fn tokens_between(begin: Cursor<'_>, end: Cursor<'_>) -> TokenStream {
    let mut tokens = TokenStream::new();
    let mut cursor = begin;
    while cursor != end {
        match cursor.token_tree() {
            Some((tt, next)) => {
                tokens.extend([tt]);
                cursor = next;
            }
            None => break,
        }
    }
    tokens
}

fn parse_step(cx: &Ctxt, input: ParseStream, ids: &mut usize) -> syn::Result<Step> {
    if input.peek(Token![,]) || input.peek(Token![;]) {
        return Err(input.error("expected a step here; steps are separated by a single `,`"));
    }
    let name = if input.peek(Ident) && input.peek2(Token![:]) && !input.peek2(Token![::]) {
        let name: Ident = input.parse()?;
        input.parse::<Token![:]>()?;
        Some(name)
    } else {
        None
    };
    let id = *ids;
    *ids += 1;
    let begin = input.cursor();
    let kind = parse_body(cx, input, ids)?;
    let tokens = tokens_between(begin, input.cursor());
    if tokens.is_empty() {
        return Err(input.error("expected a layer after the step name"));
    }
    Ok(Step {
        id,
        name,
        kind,
        tokens,
    })
}

/// True when the next tokens are a bare identifier in layer position: `Name`,
/// `Name(..)`, `Name [..]` or `Name "label" [..]`.
fn is_layer_name(input: ParseStream) -> bool {
    let fork = input.fork();
    if fork.parse::<Ident>().is_err() {
        return false;
    }
    fork.is_empty()
        || fork.peek(Token![,])
        || fork.peek(token::Paren)
        || fork.peek(token::Bracket)
        || fork.peek(LitStr)
}

fn parse_body(cx: &Ctxt, input: ParseStream, ids: &mut usize) -> syn::Result<StepKind> {
    if input.peek(Ident) && input.fork().parse::<Ident>()? == "repeat" && !is_layer_name(input) {
        return parse_repeat(cx, input, ids).map(StepKind::Repeat);
    }
    if input.peek(token::Brace) {
        let block: syn::ExprBlock = input.parse()?;
        if !input.peek(Token![as]) {
            return Err(syn::Error::new_spanned(
                &block,
                "a block step needs the axes it ends with, so the steps after it can be checked: write `{ .. } as [batch, seq, embedding: 64]`",
            ));
        }
        input.parse::<Token![as]>()?;
        let axes: AxisList = input.parse()?;
        return Ok(StepKind::Block(BlockStep { block, axes }));
    }
    if is_layer_name(input) {
        let ident: Ident = input.parse()?;
        if let Some(&(_, kind)) = GroupKind::ALL.iter().find(|(n, _)| ident == n) {
            return parse_group(cx, input, ident, kind, ids).map(StepKind::Group);
        }
        let args = if input.peek(token::Paren) {
            let group: TokenTree = input.fork().parse()?;
            let content;
            syn::parenthesized!(content in input);
            Some(args::parse(cx, group.into_token_stream(), &content)?)
        } else {
            None
        };
        if input.peek(token::Bracket) || input.peek(LitStr) {
            return Err(syn::Error::new(
                input.span(),
                format!(
                    "`{ident}` is not a group: steps in brackets follow `Sequential`, `NamedGroup \"name\"`, `Residual`, `BranchAndAdd` or `BranchAndMultiply`"
                ),
            ));
        }
        if !is_type_name(&ident) {
            let (what, example) = match &args {
                Some(args) => (
                    format!("`{ident}(..)` is a function call"),
                    format!("{{ {ident}{} }}", args::text_of(&args.tokens)),
                ),
                None => (format!("`{ident}` is a value"), format!("{{ {ident} }}")),
            };
            return Err(syn::Error::new_spanned(
                &ident,
                format!(
                    "{what}, not a layer type: model! builds a step `Name(..)` through its layer type `Name`; for any other expression, write it as a block with the axes it ends with: `{example} as [batch, seq, embedding: 64]`"
                ),
            ));
        }
        return Ok(StepKind::ByName(ByName { ident, args }));
    }
    let expr: Expr = input.parse()?;
    match layer_type(&expr) {
        Some(ty) => Ok(StepKind::Custom(Custom { ty, expr })),
        None => Err(syn::Error::new_spanned(
            &expr,
            "cannot tell this layer's type, which model! needs to check its axis signature: build it through its type (`MyLayer::new(..)`, `MyLayer { .. }`), or write it as a block with the axes it ends with: `{ .. } as [batch, seq, embedding: 64]`",
        )),
    }
}

fn parse_group(
    cx: &Ctxt,
    input: ParseStream,
    keyword: Ident,
    kind: GroupKind,
    ids: &mut usize,
) -> syn::Result<Group> {
    let label = if kind == GroupKind::NamedGroup {
        if !input.peek(LitStr) {
            return Err(syn::Error::new(
                input.span(),
                "a NamedGroup needs its name: `NamedGroup \"mlp\" [ .. ]`",
            ));
        }
        Some(input.parse::<LitStr>()?)
    } else {
        None
    };
    if !input.peek(token::Bracket) {
        return Err(syn::Error::new(
            input.span(),
            format!("expected the steps of `{keyword}` in brackets: `{keyword} [ step, step ]`"),
        ));
    }
    let content;
    syn::bracketed!(content in input);
    let steps = parse_steps(cx, &content, ids);
    Ok(Group {
        kind,
        keyword,
        label,
        steps,
    })
}

fn parse_repeat(cx: &Ctxt, input: ParseStream, ids: &mut usize) -> syn::Result<Repeat> {
    let keyword: Ident = input.parse()?;
    let count: Size = input.parse().map_err(|e| {
        syn::Error::new(
            e.span(),
            "expected how many times to repeat: `repeat 12 as blocks { .. }`",
        )
    })?;
    let name = if input.peek(Token![as]) {
        input.parse::<Token![as]>()?;
        Some(input.parse::<Ident>()?)
    } else {
        None
    };
    if !input.peek(token::Brace) {
        return Err(syn::Error::new(
            input.span(),
            "expected the repeated steps in braces: `repeat 12 as blocks { step, step }`",
        ));
    }
    let content;
    syn::braced!(content in input);
    let steps = parse_steps(cx, &content, ids);
    Ok(Repeat {
        keyword,
        count,
        name,
        steps,
    })
}

/// The type a custom-layer expression builds, by convention the path up to its last
/// CamelCase segment: `Gate` in `Gate::new(3)?.scaled(2.0)`, `layers::Gate` in
/// `layers::Gate { width: 3 }`. `None` for anything else (a free function, a variable).
fn layer_type(expr: &Expr) -> Option<syn::Path> {
    match expr {
        Expr::Call(call) => match &*call.func {
            Expr::Path(p) if p.qself.is_none() => type_prefix(&p.path),
            _ => None,
        },
        Expr::Struct(s) if s.qself.is_none() => Some(s.path.clone()),
        Expr::Path(p) if p.qself.is_none() => type_prefix(&p.path),
        Expr::Try(t) => layer_type(&t.expr),
        Expr::MethodCall(m) => layer_type(&m.receiver),
        Expr::Paren(p) => layer_type(&p.expr),
        _ => None,
    }
}

/// `CamelCase`, by Rust's naming convention a type.
fn is_type_name(ident: &Ident) -> bool {
    let s = ident.to_string();
    s.starts_with(|c: char| c.is_ascii_uppercase()) && s.chars().any(|c| c.is_ascii_lowercase())
}

fn type_prefix(path: &syn::Path) -> Option<syn::Path> {
    let last = path
        .segments
        .iter()
        .rposition(|seg| is_type_name(&seg.ident))?;
    let mut ty = path.clone();
    while ty.segments.len() > last + 1 {
        ty.segments.pop();
    }
    // `pop` leaves a trailing `::`; rebuild the punctuation.
    let segments: Vec<_> = ty.segments.into_iter().collect();
    ty.segments = segments.into_iter().collect();
    Some(ty)
}
