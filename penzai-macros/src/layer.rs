//! `#[layer(...)]`: a custom layer's axis signature, stated on its `impl Layer` block.
//!
//! parse (the attribute's arguments) -> validate (the signature makes sense, the item is an
//! `impl Layer for T`) -> expand (`impl HasSignature for T` and `Layer::signature`).

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::parse::{ParseStream, Parser};
use syn::{Ident, ImplItem, Item, ItemImpl, LitStr, Token};

use crate::axis_list::{AxisDecl, AxisList, check_unique};
use crate::crate_path::penzai_path;
use crate::ctxt::Ctxt;

const KEYS: &str = "`requires = [..]`, `removes = [..]`, `adds = [..]` or `crate = \"..\"`";

/// The parsed attribute.
#[derive(Default)]
struct Signature {
    requires: Vec<AxisDecl>,
    removes: Vec<AxisDecl>,
    adds: Vec<AxisDecl>,
    crate_path: Option<syn::Path>,
}

/// Expands `#[layer(args)] item`, or returns every problem as one combined error (plus
/// the item unchanged, so its own code still compiles and is not buried in follow-ons).
pub fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let cx = Ctxt::default();
    let sig = parse_args(&cx, args);
    let item_impl = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Impl(item_impl)) => validate_impl(&cx, item_impl),
        Ok(other) => {
            cx.syn_error(misplaced(&other));
            None
        }
        Err(e) => {
            cx.syn_error(e);
            None
        }
    };
    validate_signature(&cx, &sig);
    match (cx.check(), item_impl) {
        (Ok(()), Some(item_impl)) => generate(&sig, item_impl),
        (Err(err), _) => {
            let mut out = err.into_compile_error();
            out.extend(item);
            out
        }
        (Ok(()), None) => item,
    }
}

fn parse_args(cx: &Ctxt, args: TokenStream) -> Signature {
    let mut sig = Signature::default();
    let parser = |input: ParseStream| -> syn::Result<()> {
        let mut seen: Vec<String> = Vec::new();
        while !input.is_empty() {
            let key: Ident = if input.peek(Token![crate]) {
                let kw: Token![crate] = input.parse()?;
                Ident::new("crate", kw.span)
            } else {
                input
                    .parse()
                    .map_err(|e| syn::Error::new(e.span(), format!("expected one of {KEYS}")))?
            };
            let name = key.to_string();
            if seen.contains(&name) {
                cx.error_spanned_by(&key, format!("`{name}` is given twice"));
            }
            seen.push(name.clone());
            input.parse::<Token![=]>().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    format!("expected `=` after `{name}`, like `{name} = [embedding: 64]`"),
                )
            })?;
            match name.as_str() {
                "requires" => sig.requires = input.parse::<AxisList>()?.axes,
                "removes" => sig.removes = input.parse::<AxisList>()?.axes,
                "adds" => sig.adds = input.parse::<AxisList>()?.axes,
                "crate" => {
                    let lit: LitStr = input.parse()?;
                    match lit.parse::<syn::Path>() {
                        Ok(path) => sig.crate_path = Some(path),
                        Err(e) => cx.error_spanned_by(&lit, format!("invalid crate path: {e}")),
                    }
                }
                _ => {
                    cx.error_spanned_by(
                        &key,
                        format!("unknown signature key `{name}`: `#[layer]` accepts {KEYS}"),
                    );
                    // Skip the value so the other keys are still read.
                    input.parse::<proc_macro2::TokenTree>()?;
                }
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(())
    };
    if let Err(e) = parser.parse2(args) {
        cx.syn_error(e);
    }
    sig
}

fn misplaced(item: &Item) -> syn::Error {
    let what = match item {
        Item::Struct(s) => format!("struct `{}`", s.ident),
        Item::Enum(e) => format!("enum `{}`", e.ident),
        Item::Fn(f) => format!("function `{}`", f.sig.ident),
        _ => "this item".to_owned(),
    };
    let target = match item {
        Item::Struct(s) => s.ident.to_string(),
        Item::Enum(e) => e.ident.to_string(),
        _ => "YourLayer".to_owned(),
    };
    let tokens = match item {
        Item::Struct(s) => {
            let (kw, name) = (&s.struct_token, &s.ident);
            quote!(#kw #name)
        }
        Item::Enum(e) => {
            let (kw, name) = (&e.enum_token, &e.ident);
            quote!(#kw #name)
        }
        Item::Fn(f) => {
            let (kw, name) = (&f.sig.fn_token, &f.sig.ident);
            quote!(#kw #name)
        }
        other => other.to_token_stream(),
    };
    syn::Error::new_spanned(
        tokens,
        format!(
            "`#[layer(...)]` goes on the `impl Layer for {target}` block, not on {what}: there it also writes `Layer::signature`, so run-time checks see the same signature"
        ),
    )
}

fn validate_impl(cx: &Ctxt, item: ItemImpl) -> Option<ItemImpl> {
    let is_layer = item
        .trait_
        .as_ref()
        .and_then(|(_, path, _)| path.segments.last())
        .is_some_and(|seg| seg.ident == "Layer");
    if !is_layer {
        cx.error_spanned_by(
            item.self_ty.as_ref(),
            "`#[layer(...)]` goes on an `impl Layer for Type` block",
        );
        return None;
    }
    for it in &item.items {
        if let ImplItem::Fn(f) = it
            && f.sig.ident == "signature"
        {
            cx.error_spanned_by(
                &f.sig.ident,
                "`#[layer(...)]` writes `fn signature` from its arguments; remove this one",
            );
        }
    }
    Some(item)
}

fn validate_signature(cx: &Ctxt, sig: &Signature) {
    check_unique(cx, &sig.requires, "`requires`");
    check_unique(cx, &sig.removes, "`removes`");
    check_unique(cx, &sig.adds, "`adds`");
    for axis in &sig.removes {
        if let Some(size) = &axis.size {
            cx.error_spanned_by(
                axis,
                format!(
                    "`removes` lists names only; to require a size, list `{}: {}` in `requires`",
                    axis.name,
                    size.text()
                ),
            );
        }
    }
    for axis in &sig.adds {
        let required = sig.requires.iter().any(|a| a.name == axis.name);
        let removed = sig.removes.iter().any(|a| a.name == axis.name);
        if required && !removed {
            cx.error_spanned_by(
                &axis.name,
                format!(
                    "the layer cannot add axis '{}': it requires the input to have it already; list it in `removes` too if the layer replaces it",
                    axis.name
                ),
            );
        }
    }
}

fn axis_tokens(p: &TokenStream, axis: &AxisDecl) -> TokenStream {
    let name = axis.name.to_string();
    match &axis.size {
        Some(size) => {
            let size = size.tokens();
            quote_spanned!(axis.name.span()=> #p::Axis::sized(#name, #size))
        }
        None => quote_spanned!(axis.name.span()=> #p::Axis::any(#name)),
    }
}

fn generate(sig: &Signature, mut item: ItemImpl) -> TokenStream {
    let krate = match &sig.crate_path {
        Some(path) => path.to_token_stream(),
        None => penzai_path(),
    };
    let p = quote!(#krate::__private);
    let requires = sig.requires.iter().map(|a| axis_tokens(&p, a));
    let removes = sig.removes.iter().map(|a| a.name.to_string());
    let adds = sig.adds.iter().map(|a| axis_tokens(&p, a));
    let self_ty = &item.self_ty;
    let (impl_generics, _, where_clause) = item.generics.split_for_impl();
    let method: ImplItem = syn::parse_quote! {
        fn signature(&self) -> #p::Option<#p::Signature<'_>> {
            #p::Some(<Self as #p::HasSignature>::SIGNATURE)
        }
    };
    item.items.push(method);
    let span = Span::call_site();
    quote_spanned! {span=>
        #item

        impl #impl_generics #p::HasSignature for #self_ty #where_clause {
            const SIGNATURE: #p::Signature<'static> = #p::Signature::of(
                &[#(#requires),*],
                &[#(#removes),*],
                &[#(#adds),*],
            );
        }
    }
}
