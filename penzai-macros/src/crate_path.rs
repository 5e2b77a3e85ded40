//! Finds the path under which the calling crate knows penzai (it may rename the dependency).

use proc_macro_crate::{FoundCrate, crate_name};
use proc_macro2::{Span, TokenStream};
use quote::quote;

/// `::penzai`, or `::<renamed>` when the user's Cargo.toml renames the dependency, or
/// `::penzai_runtime` for crates that depend on the runtime alone. Inside penzai's own
/// crates `::penzai` resolves through `extern crate self as penzai`.
pub fn penzai_path() -> TokenStream {
    for package in ["penzai", "penzai-runtime"] {
        match crate_name(package) {
            Ok(FoundCrate::Name(name)) => {
                let ident = syn::Ident::new(&name, Span::call_site());
                return quote!(::#ident);
            }
            Ok(FoundCrate::Itself) => return quote!(::penzai),
            Err(_) => {}
        }
    }
    quote!(::penzai)
}
