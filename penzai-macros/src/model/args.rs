//! The arguments of a step written by a layer's name, `Name(..)`, in one grammar for every
//! layer: axes (`a: 64, b`), `->` between input and output axes, `over` before the axes a
//! layer works over, positional values (`0.1`, `{rate}`, `Activation::Relu`) and options
//! (`key = value`, where a value may be a word such as `causal` or axes in brackets).
//!
//! A bare name is an axis; a Rust variable given as a value is written in braces. What a
//! layer accepts is the layer's business: it checks the arguments in its own `model!` plan.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::parse::ParseStream;
use syn::{Expr, Ident, Lit, Token, token};

use crate::axis_list::{AxisDecl, AxisList, starts_option};
use crate::ctxt::Ctxt;

/// The parenthesized arguments of a step.
pub struct Args {
    /// The parenthesized group, for errors about the arguments as a whole.
    pub tokens: TokenStream,
    /// `over`, when the axes follow it.
    pub over: Option<Ident>,
    /// The axes before `->` (all axes without one).
    pub before: Vec<AxisDecl>,
    /// `->`, when written.
    pub arrow: Option<Token![->]>,
    /// The axes after `->`.
    pub after: Vec<AxisDecl>,
    pub values: Vec<Value>,
    pub options: Vec<StepOption>,
}

/// A value as written.
pub enum Value {
    /// A number literal, maybe negative: its value, whether it is an integer, its text.
    Number {
        value: f64,
        integer: bool,
        text: String,
        tokens: TokenStream,
    },
    /// `true` or `false`.
    Bool(syn::LitBool),
    /// A bare word (option values only): `causal`.
    Word(Ident),
    /// Axes in brackets (option values only).
    Axes(AxisList),
    /// Any other expression (braces around a lone expression are dropped).
    Expr(Expr),
}

impl Value {
    /// The value's tokens, for spans.
    pub fn tokens(&self) -> TokenStream {
        match self {
            Value::Number { tokens, .. } => tokens.clone(),
            Value::Bool(b) => b.to_token_stream(),
            Value::Word(w) => w.to_token_stream(),
            Value::Axes(a) => a.to_token_stream(),
            Value::Expr(e) => e.to_token_stream(),
        }
    }
}

/// `key = value`.
pub struct StepOption {
    pub key: Ident,
    pub value: Value,
}

impl StepOption {
    /// The option's tokens, for spans.
    pub fn tokens(&self) -> TokenStream {
        let mut tokens = self.key.to_token_stream();
        tokens.extend(self.value.tokens());
        tokens
    }
}

/// Parses the tokens inside a step's parentheses.
pub fn parse(cx: &Ctxt, group: TokenStream, input: ParseStream) -> syn::Result<Args> {
    let mut args = Args {
        tokens: group,
        over: None,
        before: Vec::new(),
        arrow: None,
        after: Vec::new(),
        values: Vec::new(),
        options: Vec::new(),
    };
    let mut first = true;
    while !input.is_empty() {
        if starts_option(input) {
            let key: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            let value = option_value(input)?;
            if args.options.iter().any(|o| o.key == key) {
                cx.error_spanned_by(&key, format!("option `{key}` is given twice"));
            }
            args.options.push(StepOption { key, value });
        } else if let Some(option) = args.options.first() {
            return Err(input.error(format!(
                "arguments come before the options: move this before `{}`",
                option.key
            )));
        } else if first && input.peek(Ident) && is_keyword(input, "over") {
            args.over = Some(input.parse()?);
            args.before.push(input.parse()?);
        } else if is_axis(input) {
            let axis: AxisDecl = input.parse()?;
            if args.arrow.is_some() {
                args.after.push(axis);
            } else {
                args.before.push(axis);
            }
        } else {
            args.values.push(positional_value(input)?);
        }
        first = false;
        if input.peek(Token![->]) {
            if args.arrow.is_some() {
                return Err(input.error("a step maps its inputs to its outputs with one `->`"));
            }
            args.arrow = Some(input.parse()?);
            continue;
        }
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>().map_err(|e| {
            syn::Error::new(e.span(), "expected `,` or `->` between a step's arguments")
        })?;
    }
    Ok(args)
}

fn is_keyword(input: ParseStream, word: &str) -> bool {
    input.fork().parse::<Ident>().is_ok_and(|i| i == word) && {
        let fork = input.fork();
        let _ = fork.parse::<Ident>();
        fork.peek(Ident)
    }
}

/// An axis: a name, maybe with `: size`, followed by the end, `,` or `->`.
fn is_axis(input: ParseStream) -> bool {
    if !input.peek(Ident) {
        return false;
    }
    let fork = input.fork();
    if fork.parse::<AxisDecl>().is_err() {
        return false;
    }
    fork.is_empty() || fork.peek(Token![,]) || fork.peek(Token![->])
}

fn positional_value(input: ParseStream) -> syn::Result<Value> {
    let expr: Expr = input.parse()?;
    Ok(classify(expr))
}

fn option_value(input: ParseStream) -> syn::Result<Value> {
    if input.peek(token::Bracket) {
        return Ok(Value::Axes(input.parse()?));
    }
    if input.peek(Ident) {
        let fork = input.fork();
        let _ = fork.parse::<Ident>();
        if fork.is_empty() || fork.peek(Token![,]) {
            return Ok(Value::Word(input.parse()?));
        }
    }
    let expr: Expr = input.parse()?;
    Ok(classify(expr))
}

/// Reads literals (numbers, maybe negative; booleans) off an expression; anything else is
/// a Rust expression, with braces around a lone expression dropped.
fn classify(expr: Expr) -> Value {
    let tokens = expr.to_token_stream();
    match &expr {
        Expr::Lit(lit) => match &lit.lit {
            Lit::Int(i) => {
                if let Ok(value) = i.base10_parse::<u64>() {
                    return Value::Number {
                        value: value as f64,
                        integer: true,
                        text: i.base10_digits().to_owned(),
                        tokens,
                    };
                }
            }
            Lit::Float(f) => {
                if let Ok(value) = f.base10_parse::<f64>() {
                    return Value::Number {
                        value,
                        integer: false,
                        text: f.base10_digits().to_owned(),
                        tokens,
                    };
                }
            }
            Lit::Bool(b) => return Value::Bool(b.clone()),
            _ => {}
        },
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Neg(_)) => {
            if let Value::Number {
                value,
                integer,
                text,
                ..
            } = classify((*u.expr).clone())
            {
                return Value::Number {
                    value: -value,
                    integer,
                    text: format!("-{text}"),
                    tokens,
                };
            }
        }
        Expr::Block(b) if b.attrs.is_empty() && b.label.is_none() => {
            if let [syn::Stmt::Expr(inner, None)] = b.block.stmts.as_slice() {
                return Value::Expr(inner.clone());
            }
        }
        _ => {}
    }
    Value::Expr(expr)
}

/// The source text of tokens, for messages: `cfg.width`, not `cfg . width`.
pub fn text_of(tokens: &TokenStream) -> String {
    let mut text = tokens.to_string();
    for (spaced, tight) in [
        (" . ", "."),
        (" :: ", "::"),
        (":: ", "::"),
        (" (", "("),
        ("( ", "("),
        (" )", ")"),
        (" [", "["),
        ("[ ", "["),
        (" ]", "]"),
        (" ,", ","),
        ("! ", "!"),
    ] {
        text = text.replace(spaced, tight);
    }
    text
}
