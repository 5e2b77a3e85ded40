//! `model!`: parse (`parse`, `builtin`, `options`) -> check the axis flow (`check`, `effect`, `flow`,
//! `path`) -> expand (`expand`).

mod builtin;
mod check;
mod effect;
mod expand;
mod flow;
mod options;
mod parse;
mod path;

use proc_macro2::TokenStream;
use quote::quote;

use crate::crate_path::penzai_path;
use crate::ctxt::Ctxt;

/// Expands one `model! { .. }` invocation; on errors, all of them plus a stand-in value.
pub fn expand(tokens: TokenStream) -> TokenStream {
    let krate = penzai_path();
    let cx = Ctxt::default();
    let model = parse::parse(&cx, tokens);
    let checked = model
        .as_ref()
        .map(|m| check::check(&cx, m, quote!(#krate::__private)));
    match (cx.check(), model, checked) {
        (Ok(()), Some(model), Some(checked)) => expand::expand(&model, &checked, &krate),
        (Err(err), _, _) => {
            let errors = err.into_compile_error();
            let fallback = expand::fallback(&krate);
            quote!({ #errors #fallback })
        }
        // `parse` returns `None` only after recording an error.
        (Ok(()), _, _) => expand::fallback(&krate),
    }
}
