//! `#[derive(Tree)]`: parse (`ast`) -> validate (`valid`) -> expand (`expand`).

mod ast;
mod attr;
mod expand;
mod valid;

use proc_macro2::TokenStream;

use crate::ctxt::Ctxt;

/// Derives `Tree` for `input`, or returns every problem found as one combined error.
pub fn derive(input: &syn::DeriveInput) -> syn::Result<TokenStream> {
    let cx = Ctxt::default();
    let parsed = ast::Input::from_syn(&cx, input);
    if let Some(parsed) = &parsed {
        valid::check(&cx, parsed);
    }
    match (cx.check(), parsed) {
        (Ok(()), Some(parsed)) => Ok(expand::expand(&parsed)),
        (Err(err), _) => {
            let mut tokens = err.into_compile_error();
            tokens.extend(expand::fallback(input));
            Ok(tokens)
        }
        // `Input::from_syn` only returns `None` after recording an error.
        (Ok(()), None) => Err(syn::Error::new_spanned(
            &input.ident,
            "internal error: no derive input",
        )),
    }
}
