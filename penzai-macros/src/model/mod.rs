//! `model!`: parse (`parse`, `args`) -> validate names and syntax (`validate`, `path`) ->
//! expand (`expand`: the axis-flow check as `const`s the compiler evaluates, and the build).
//!
//! The macro knows the structure of a pipeline (steps, names, groups, `repeat`, blocks)
//! and no layer: each step written by a layer's name is described by that layer type.

mod args;
mod expand;
mod parse;
mod path;
mod validate;

use proc_macro2::TokenStream;
use quote::quote;

use crate::crate_path::penzai_path;
use crate::ctxt::Ctxt;

/// Expands one `model! { .. }` invocation; on errors, all of them plus a stand-in value.
pub fn expand(tokens: TokenStream) -> TokenStream {
    let krate = penzai_path();
    let cx = Ctxt::default();
    let model = parse::parse(&cx, tokens);
    let layout = model.as_ref().map(|m| validate::validate(&cx, m));
    match (cx.check(), model, layout) {
        (Ok(()), Some(model), Some(layout)) => expand::expand(&model, &layout, &krate),
        (Err(err), model, layout) => {
            let errors = err.into_compile_error();
            let checks = match (&model, &layout) {
                (Some(model), Some(layout)) => expand::check_only(model, layout, &krate),
                _ => TokenStream::new(),
            };
            let fallback = expand::fallback(&krate);
            quote!({ #errors #checks #fallback })
        }
        // `parse` returns `None` only after recording an error.
        (Ok(()), _, _) => expand::fallback(&krate),
    }
}
