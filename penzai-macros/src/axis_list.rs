//! Axis lists as written in `model!` and `#[layer(...)]`: `[batch, seq, embedding: 64]`.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitInt, Token, token};

/// The size of an axis: a literal, which the macros check, or a Rust expression (a name
/// such as `d_model`, or anything in braces or parentheses), which only the run checks.
#[derive(Clone)]
pub enum Size {
    Literal(LitInt, usize),
    Expr(TokenStream),
}

impl Size {
    /// The size as a `usize` expression.
    pub fn tokens(&self) -> TokenStream {
        match self {
            Size::Literal(_, n) => quote!(#n),
            Size::Expr(e) => quote!((#e)),
        }
    }

    /// How the size reads in messages: the literal, or the expression's text.
    pub fn text(&self) -> String {
        match self {
            Size::Literal(_, n) => n.to_string(),
            Size::Expr(e) => e.to_string(),
        }
    }
}

impl ToTokens for Size {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        match self {
            Size::Literal(lit, _) => lit.to_tokens(tokens),
            Size::Expr(e) => e.to_tokens(tokens),
        }
    }
}

impl Parse for Size {
    fn parse(input: ParseStream) -> syn::Result<Size> {
        if input.peek(LitInt) {
            let lit: LitInt = input.parse()?;
            let n = lit.base10_parse::<usize>()?;
            return Ok(Size::Literal(lit, n));
        }
        if input.peek(token::Brace) || input.peek(token::Paren) {
            let tt: proc_macro2::TokenTree = input.parse()?;
            return Ok(Size::Expr(tt.into_token_stream()));
        }
        if input.peek(Ident) {
            let path: syn::Path = input.parse()?;
            return Ok(Size::Expr(path.into_token_stream()));
        }
        Err(input.error(
            "expected an axis size: a number (`64`), a name (`d_model`) or an expression in braces (`{cfg.width}`)",
        ))
    }
}

/// One axis: a name and an optional size (`embedding: 64`).
#[derive(Clone)]
pub struct AxisDecl {
    pub name: Ident,
    pub size: Option<Size>,
}

impl AxisDecl {
    /// The axis name as text.
    pub fn name(&self) -> String {
        self.name.to_string()
    }
}

impl ToTokens for AxisDecl {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        self.name.to_tokens(tokens);
        if let Some(size) = &self.size {
            <Token![:]>::default().to_tokens(tokens);
            size.to_tokens(tokens);
        }
    }
}

impl Parse for AxisDecl {
    fn parse(input: ParseStream) -> syn::Result<AxisDecl> {
        let name: Ident = input
            .parse()
            .map_err(|e| syn::Error::new(e.span(), "expected an axis name, like `embedding`"))?;
        let size = if input.peek(Token![:]) && !input.peek(Token![::]) {
            input.parse::<Token![:]>()?;
            Some(input.parse()?)
        } else {
            None
        };
        Ok(AxisDecl { name, size })
    }
}

/// True when the stream continues with `name = ...`.
pub fn starts_option(input: ParseStream) -> bool {
    input.peek(Ident) && input.peek2(Token![=]) && !input.peek2(Token![==])
}

/// A bracketed axis list: `[batch, seq, embedding: 64]`.
#[derive(Clone)]
pub struct AxisList {
    pub bracket: token::Bracket,
    pub axes: Vec<AxisDecl>,
}

impl ToTokens for AxisList {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        self.bracket.surround(tokens, |inner| {
            for (i, axis) in self.axes.iter().enumerate() {
                if i > 0 {
                    <Token![,]>::default().to_tokens(inner);
                }
                axis.to_tokens(inner);
            }
        });
    }
}

impl Parse for AxisList {
    fn parse(input: ParseStream) -> syn::Result<AxisList> {
        if !input.peek(token::Bracket) {
            return Err(
                input.error("expected axes in brackets, like `[batch, seq, embedding: 64]`")
            );
        }
        let content;
        let bracket = syn::bracketed!(content in input);
        let axes = content
            .parse_terminated(AxisDecl::parse, Token![,])?
            .into_iter()
            .collect();
        Ok(AxisList { bracket, axes })
    }
}

/// Records an error for every axis listed twice in `axes`.
pub fn check_unique(cx: &crate::ctxt::Ctxt, axes: &[AxisDecl], what: &str) {
    for (i, axis) in axes.iter().enumerate() {
        if axes[..i].iter().any(|a| a.name == axis.name) {
            cx.error_spanned_by(
                &axis.name,
                format!("axis '{}' is listed twice in {what}", axis.name),
            );
        }
    }
}
