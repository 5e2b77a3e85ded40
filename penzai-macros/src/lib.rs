//! Macros of penzai. Entry points only; each delegates to its module.
//!
//! Generated code names items through `::penzai::__private` (or the name the user gave the
//! dependency), so it needs nothing in scope.

use proc_macro::TokenStream;

mod axis_list;
mod crate_path;
mod ctxt;
mod layer;
mod model;
mod tree;

/// Derives `penzai::Tree`: children with keys, type-checked replacement, equality,
/// the layer capability (for types that implement `Layer`; see `penzai::nn::LayerCapability`)
/// and a typed path builder (`Type::path()`).
///
/// Field attributes: `#[tree(skip)]` (static configuration, not a child),
/// `#[tree(leaf)]` (an opaque leaf: shown and replaceable, not traversed),
/// `#[tree(rename = "key")]`, and `#[axes(embedding = D, heads = H, head_dim)]` on
/// `Parameter`/`NamedArray` fields, which generates a `validate()` checking the named axes
/// and that size variables agree across fields. Container attributes: `#[tree(bound = "T: Layer")]`
/// (replace the inferred where-clauses), `#[tree(crate = "pz")]` (path of the penzai crate),
/// `#[tree(validate = "Type::check")]` (a `fn(&Self) -> Result<(), E>`, `E` a `penzai::tree::Invalid` or a `penzai::Error`, that the
/// generated `validate()` also runs), `#[tree(no_display)]` (skip the generated `Display`, which prints the tree with the
/// Treescope text renderer).
#[proc_macro_derive(Tree, attributes(tree, axes))]
pub fn derive_tree(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    tree::derive(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

#[doc = include_str!("../docs/layer.md")]
#[proc_macro_attribute]
pub fn layer(args: TokenStream, item: TokenStream) -> TokenStream {
    layer::expand(args.into(), item.into()).into()
}

#[doc = include_str!("../docs/model.md")]
#[proc_macro]
pub fn model(input: TokenStream) -> TokenStream {
    model::expand(input.into()).into()
}
