//! Generates the `Tree` impl, the typed path builder and `Type::path()`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::spanned::Spanned;
use syn::{Ident, Type};

use super::ast::{Data, Field, Input, Style, Variant};
use super::attr::{AxisSize, FieldKind};
use crate::crate_path::penzai_path;

/// The generated items for a valid input.
pub fn expand(input: &Input<'_>) -> TokenStream {
    let krate = match &input.attrs.crate_path {
        Some(path) => quote!(#path),
        None => penzai_path(),
    };
    let p = quote!(#krate::__private);
    let ident = &input.original.ident;
    let (impl_generics, ty_generics, _) = input.original.generics.split_for_impl();
    let where_clause = where_clause(input, &p);

    let type_name = type_name(input);
    let visit = visit_children(input, &p, false);
    let visit_mut = visit_children(input, &p, true);
    let child_ref = child(input, &p, false);
    let child_mut = child(input, &p, true);
    let replace = replace_child(input, &p);
    let eq = tree_eq(input, &p);
    let statics = static_fields(input, &p);
    let validate = validate(input, &p);
    let paths = typed_paths(input, &p);
    let unit = unit_value(input, &p);
    let record = layer_record(input, &p);
    let display = if input.attrs.no_display {
        TokenStream::new()
    } else {
        let (impl_generics, ty_generics, _) = input.original.generics.split_for_impl();
        quote! {
            /// Prints the tree with the Treescope text renderer (`{:80}` sets the width).
            #[automatically_derived]
            impl #impl_generics ::core::fmt::Display for #ident #ty_generics #where_clause {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    #p::fmt_tree_text(self, f)
                }
            }
        }
    };

    quote! {
        #[automatically_derived]
        impl #impl_generics #p::Tree for #ident #ty_generics #where_clause {
            fn type_name(&self) -> &'static str {
                #type_name
            }
            fn visit_children<'__a>(
                &'__a self,
                __visit: &mut dyn FnMut(#p::KeyRef<'__a>, &'__a dyn #p::Tree),
            ) {
                #visit
            }
            fn visit_children_mut(
                &mut self,
                __visit: &mut dyn FnMut(#p::KeyRef<'_>, &mut dyn #p::Tree),
            ) {
                #visit_mut
            }
            fn child(&self, __key: #p::KeyRef<'_>) -> #p::Option<&dyn #p::Tree> {
                #child_ref
            }
            fn child_mut(&mut self, __key: #p::KeyRef<'_>) -> #p::Option<&mut dyn #p::Tree> {
                #child_mut
            }
            fn replace_child(
                &mut self,
                __key: #p::KeyRef<'_>,
                __value: #p::Box<dyn #p::Tree>,
            ) -> #p::Result<#p::Box<dyn #p::Tree>, #p::ChildError> {
                #replace
            }
            fn tree_eq(&self, __other: &dyn #p::Tree) -> bool {
                #eq
            }
            fn visit_static_fields(
                &self,
                __visit: &mut dyn FnMut(&'static str, &dyn #p::Debug),
            ) {
                #statics
            }
            #validate
            fn capability(&self, __key: #p::TypeId) -> #p::Option<#p::Capability> {
                #[allow(unused_imports)]
                use #p::{ProbeLayer as _, ProbeTree as _};
                (&#p::LayerProbe::<Self>::new()).probe_capability(__key)
            }
        }
        #paths
        #display
        #unit
        #record
    }
}

/// For a type without generics, its record in the program's layer registry: a layer type
/// with serde impls saves and loads with no registration call (see
/// `penzai::io::register_layer`). Generic types have one record per instantiation, which a
/// derive cannot write.
fn layer_record(input: &Input<'_>, p: &TokenStream) -> TokenStream {
    if !input.original.generics.params.is_empty() {
        return TokenStream::new();
    }
    let ident = &input.original.ident;
    let name = ident.to_string();
    quote! {
        #p::inventory::submit! {
            #p::LayerRecord::new(::core::module_path!(), #name, || {
                #[allow(unused_imports)]
                use #p::{ProbeSaved as _, ProbeUnsaved as _};
                (&#p::SaveProbe::<#ident>::new()).save_fns()
            })
        }
    }
}

/// For a unit struct without generics, its value as a constant: `model!` builds a unit
/// layer from its name alone (`Pool`, like `Gelu`).
fn unit_value(input: &Input<'_>, p: &TokenStream) -> TokenStream {
    let is_unit = matches!(&input.data, Data::Struct(v) if v.style == Style::Unit);
    if !is_unit || !input.original.generics.params.is_empty() {
        return TokenStream::new();
    }
    let ident = &input.original.ident;
    quote! {
        #[automatically_derived]
        #[diagnostic::do_not_recommend]
        impl #p::UnitLayer for #ident {
            const VALUE: Self = #ident;
        }
    }
}

/// Items emitted next to the errors when the input is invalid, so that uses of the type
/// elsewhere do not add a second wave of "Tree is not implemented" errors.
pub fn fallback(input: &syn::DeriveInput) -> TokenStream {
    if matches!(input.data, syn::Data::Union(_)) || input.generics.lifetimes().next().is_some() {
        return TokenStream::new();
    }
    let krate = penzai_path();
    let p = quote!(#krate::__private);
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        #[automatically_derived]
        impl #impl_generics #p::Tree for #ident #ty_generics #where_clause {
            fn type_name(&self) -> &'static str { unreachable!() }
            fn visit_children<'__a>(&'__a self, _: &mut dyn FnMut(#p::KeyRef<'__a>, &'__a dyn #p::Tree)) { unreachable!() }
            fn visit_children_mut(&mut self, _: &mut dyn FnMut(#p::KeyRef<'_>, &mut dyn #p::Tree)) { unreachable!() }
            fn child(&self, _: #p::KeyRef<'_>) -> #p::Option<&dyn #p::Tree> { unreachable!() }
            fn child_mut(&mut self, _: #p::KeyRef<'_>) -> #p::Option<&mut dyn #p::Tree> { unreachable!() }
            fn replace_child(&mut self, _: #p::KeyRef<'_>, _: #p::Box<dyn #p::Tree>) -> #p::Result<#p::Box<dyn #p::Tree>, #p::ChildError> { unreachable!() }
            fn tree_eq(&self, _: &dyn #p::Tree) -> bool { unreachable!() }
        }
    }
}

fn type_name(input: &Input<'_>) -> TokenStream {
    let name = input.original.ident.to_string();
    match &input.data {
        Data::Struct(_) => quote!(#name),
        Data::Enum(variants) => {
            let arms = variants.iter().map(|v| {
                let pat = variant_pattern(v, false);
                let full = format!(
                    "{name}::{}",
                    v.ident.map(Ident::to_string).unwrap_or_default()
                );
                quote!(#pat => #full,)
            });
            quote!(match self { #(#arms)* })
        }
    }
}

/// `Self { a: __field0, .. }` / `Self::V(__field0, ..)`, binding the fields selected by
/// `bind_all` (all fields) or only the children.
fn variant_pattern(variant: &Variant<'_>, bind_children: bool) -> TokenStream {
    let path = match variant.ident {
        Some(v) => quote!(Self::#v),
        None => quote!(Self),
    };
    let bound = variant
        .fields
        .iter()
        .filter(|f| !bind_children || f.is_child());
    match variant.style {
        Style::Unit => quote!(#path),
        Style::Named | Style::Tuple => {
            let fields = bound.map(|f| {
                let member = &f.member;
                let binding = f.binding();
                quote!(#member: #binding)
            });
            quote!(#path { #(#fields,)* .. })
        }
    }
}

/// A `match self` with one arm per variant whose body is `per_variant(variant)`.
fn per_variant(
    input: &Input<'_>,
    bind_children: bool,
    body: impl Fn(&Variant<'_>) -> TokenStream,
) -> TokenStream {
    let arms = input.variants().iter().map(|v| {
        let pat = variant_pattern(v, bind_children);
        let b = body(v);
        quote!(#pat => { #b })
    });
    quote! {
        #[allow(unused_variables)]
        match self { #(#arms)* }
    }
}

/// `validate()` checking the `#[axes(...)]` declarations, when there are any.
fn validate(input: &Input<'_>, p: &TokenStream) -> TokenStream {
    let declared = input
        .variants()
        .iter()
        .flat_map(|v| &v.fields)
        .any(|f| f.axes.is_some());
    let custom = input
        .attrs
        .validate
        .as_ref()
        .map(|path| quote!(#path(self)?;));
    if !declared && custom.is_none() {
        return TokenStream::new();
    }
    let body = per_variant(input, true, |v| {
        let checks = v.fields.iter().filter_map(|f| {
            let axes = f.axes.as_ref()?;
            let key = &f.key;
            let binding = f.binding();
            let ty = f.ty;
            let shape = respan(quote!(<#ty as #p::AxesField>::axes_of(#binding)), ty.span());
            let declared = axes.axes.iter().map(|(name, size)| {
                let name = name.to_string();
                let size = match size {
                    AxisSize::Any => quote!(#p::DeclaredSize::Any),
                    AxisSize::Fixed(n) => quote!(#p::DeclaredSize::Fixed(#n)),
                    AxisSize::Var(v) => {
                        let v = v.to_string();
                        quote!(#p::DeclaredSize::Var(#v))
                    }
                };
                quote!((#name, #size))
            });
            let allow_others = axes.allow_others;
            Some(quote! {
                __check.field(#key, #shape, &[#(#declared),*], #allow_others)?;
            })
        });
        quote!(#(#checks)*)
    });
    quote! {
        fn validate(&self) -> #p::Result<(), #p::Invalid> {
            #[allow(unused_mut, unused_variables)]
            let mut __check = #p::AxesCheck::new();
            #body
            #custom
            #p::Ok(())
        }
    }
}

/// Sets the span of every token, so that a trait error in generated code about one field
/// is reported at that field's type rather than at `#[derive(Tree)]`.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tt| {
            if let proc_macro2::TokenTree::Group(g) = &tt {
                let mut group = proc_macro2::Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span);
                tt = proc_macro2::TokenTree::Group(group);
            } else {
                tt.set_span(span);
            }
            tt
        })
        .collect()
}

fn field_as_child(field: &Field<'_>, p: &TokenStream, mutable: bool) -> TokenStream {
    let binding = field.binding();
    let ty = field.ty;
    let call = match (field.kind, mutable) {
        (FieldKind::Leaf, false) => {
            quote!(#p::Some(#p::OpaqueLeaf::wrap(#binding) as &dyn #p::Tree))
        }
        (FieldKind::Leaf, true) => {
            quote!(#p::Some(#p::OpaqueLeaf::wrap_mut(#binding) as &mut dyn #p::Tree))
        }
        (_, false) => quote!(#p::as_child::<#ty>(#binding)),
        (_, true) => quote!(#p::as_child_mut::<#ty>(#binding)),
    };
    respan(call, ty.span())
}

fn visit_children(input: &Input<'_>, p: &TokenStream, mutable: bool) -> TokenStream {
    per_variant(input, true, |v| {
        let visits = v.fields.iter().filter(|f| f.is_child()).map(|f| {
            let key = &f.key;
            let child = field_as_child(f, p, mutable);
            quote! {
                if let #p::Some(__child) = #child {
                    __visit(#p::KeyRef::Field(#key), __child);
                }
            }
        });
        quote!(#(#visits)*)
    })
}

fn child(input: &Input<'_>, p: &TokenStream, mutable: bool) -> TokenStream {
    per_variant(input, true, |v| {
        let arms = v.fields.iter().filter(|f| f.is_child()).map(|f| {
            let key = &f.key;
            let child = field_as_child(f, p, mutable);
            quote!(#p::KeyRef::Field(#key) => #child,)
        });
        quote! {
            match __key {
                #(#arms)*
                _ => #p::None,
            }
        }
    })
}

fn replace_child(input: &Input<'_>, p: &TokenStream) -> TokenStream {
    per_variant(input, true, |v| {
        let arms = v.fields.iter().filter(|f| f.is_child()).map(|f| {
            let key = &f.key;
            let binding = f.binding();
            let ty = f.ty;
            let replace = respan(
                match f.kind {
                    FieldKind::Leaf => quote!(#p::replace_opaque_field::<#ty>(#binding, __value)),
                    _ => quote!(#p::replace_field::<#ty>(#binding, __value)),
                },
                ty.span(),
            );
            quote!(#p::KeyRef::Field(#key) => #replace,)
        });
        quote! {
            match __key {
                #(#arms)*
                _ => #p::Err(#p::no_such_child(__key, #p::Tree::type_name(self), __value)),
            }
        }
    })
}

fn tree_eq(input: &Input<'_>, p: &TokenStream) -> TokenStream {
    let arms = input.variants().iter().map(|v| {
        let left = variant_pattern(v, false);
        let right = rename_bindings(&variant_pattern(v, false));
        let checks = v.fields.iter().map(|f| {
            let a = f.binding();
            let b = other_binding(f);
            let ty = f.ty;
            let check = match f.kind {
                FieldKind::Child => quote!(#p::child_eq::<#ty>(#a, #b)),
                FieldKind::Leaf | FieldKind::Skip => quote!(#p::static_eq::<#ty>(#a, #b)),
            };
            let check = respan(check, ty.span());
            quote!(&& #check)
        });
        quote!((#left, #right) => true #(#checks)*,)
    });
    let fallthrough = match &input.data {
        Data::Enum(vs) if vs.len() > 1 => quote!(_ => false,),
        _ => quote!(),
    };
    let empty_enum = matches!(&input.data, Data::Enum(vs) if vs.is_empty());
    if empty_enum {
        return quote!(match *self {});
    }
    quote! {
        let #p::Some(__other) = __other.as_any().downcast_ref::<Self>() else {
            return false;
        };
        #[allow(unused_variables)]
        match (self, __other) {
            #(#arms)*
            #fallthrough
        }
    }
}

fn other_binding(field: &Field<'_>) -> Ident {
    format_ident!("__other{}", field.index)
}

/// Turns the `__fieldN` bindings of a pattern into `__otherN`.
fn rename_bindings(pattern: &TokenStream) -> TokenStream {
    pattern
        .clone()
        .into_iter()
        .map(|tt| match tt {
            proc_macro2::TokenTree::Ident(i) if i.to_string().starts_with("__field") => {
                let n = &i.to_string()["__field".len()..];
                proc_macro2::TokenTree::Ident(Ident::new(&format!("__other{n}"), i.span()))
            }
            proc_macro2::TokenTree::Group(g) => {
                let mut group =
                    proc_macro2::Group::new(g.delimiter(), rename_bindings(&g.stream()));
                group.set_span(g.span());
                proc_macro2::TokenTree::Group(group)
            }
            other => other,
        })
        .collect()
}

fn static_fields(input: &Input<'_>, p: &TokenStream) -> TokenStream {
    per_variant(input, false, |v| {
        let visits = v
            .fields
            .iter()
            .filter(|f| f.kind == FieldKind::Skip)
            .map(|f| {
                let name = match &f.original.ident {
                    Some(i) => syn::ext::IdentExt::unraw(i).to_string(),
                    None => f.index.to_string(),
                };
                let binding = f.binding();
                let ty = f.ty;
                // Spanned to the field's type: a static field without `Debug` is reported there.
                let value = respan(quote!(#p::static_debug::<#ty>(#binding)), ty.span());
                quote!(__visit(#name, #value);)
            });
        quote!(#(#visits)*)
    })
}

/// The impl's where-clause: the user's own, plus `'static` for type parameters, `Self: Clone`
/// and, unless `#[tree(bound = ...)]` replaces them, bounds on the fields that mention a
/// type parameter.
fn where_clause(input: &Input<'_>, p: &TokenStream) -> TokenStream {
    let generics = &input.original.generics;
    let ident = &input.original.ident;
    let (_, ty_generics, existing) = generics.split_for_impl();
    let mut preds: Vec<TokenStream> = existing
        .map(|w| w.predicates.iter().map(|pr| quote!(#pr)).collect())
        .unwrap_or_default();
    if generics.params.is_empty() {
        return if preds.is_empty() {
            TokenStream::new()
        } else {
            quote!(where #(#preds,)*)
        };
    }
    let type_params: Vec<&Ident> = generics.type_params().map(|t| &t.ident).collect();
    for t in &type_params {
        preds.push(quote!(#t: 'static));
    }
    preds.push(quote!(#ident #ty_generics: ::core::clone::Clone));
    match &input.attrs.bound {
        Some(bound) => preds.extend(bound.iter().map(|b| quote!(#b))),
        None => {
            for f in input.variants().iter().flat_map(|v| &v.fields) {
                if !mentions_any(f.ty, &type_params) {
                    continue;
                }
                let ty = f.ty;
                preds.push(match f.kind {
                    FieldKind::Child => quote!(#ty: #p::Tree),
                    FieldKind::Leaf => quote!(#ty: #p::Debug + ::core::cmp::PartialEq + ::core::marker::Send + ::core::marker::Sync),
                    FieldKind::Skip => quote!(#ty: #p::Debug + ::core::cmp::PartialEq + ::core::marker::Send + ::core::marker::Sync),
                });
            }
        }
    }
    quote!(where #(#preds,)*)
}

fn mentions_any(ty: &Type, params: &[&Ident]) -> bool {
    struct Finder<'p> {
        params: &'p [&'p Ident],
        found: bool,
    }
    impl<'ast> syn::visit::Visit<'ast> for Finder<'_> {
        fn visit_path(&mut self, path: &'ast syn::Path) {
            if let Some(first) = path.segments.first()
                && self.params.iter().any(|p| first.ident == **p)
            {
                self.found = true;
            }
            syn::visit::visit_path(self, path);
        }
    }
    let mut finder = Finder {
        params,
        found: false,
    };
    syn::visit::Visit::visit_type(&mut finder, ty);
    finder.found
}

/// `TypePath`, its `HasTypedPath` impl, and `Type::path()`.
fn typed_paths(input: &Input<'_>, p: &TokenStream) -> TokenStream {
    let original = input.original;
    let ident = &original.ident;
    let vis = &original.vis;
    let path_ident = format_ident!("{}Path", ident);
    let generics = &original.generics;
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let type_params: Vec<&Ident> = generics.type_params().map(|t| &t.ident).collect();
    let marker = if type_params.is_empty() {
        quote!(())
    } else {
        quote!((#(#type_params,)*))
    };
    let doc = format!(
        "Typed key paths into a [`{ident}`]: one method per child, checked by the compiler."
    );
    let params = type_params.as_slice();
    let methods = input.variants().iter().flat_map(|v| {
        v.fields
            .iter()
            .filter(|f| f.is_child())
            .map(move |f| path_method(v, f, p, params))
    });
    quote! {
        #[doc = #doc]
        #vis struct #path_ident #impl_generics #where_clause {
            path: #p::KeyPath,
            _marker: #p::Marker<fn() -> #marker>,
        }

        #[automatically_derived]
        impl #impl_generics #p::TypedPath for #path_ident #ty_generics #where_clause {
            fn from_key_path(path: #p::KeyPath) -> Self {
                Self { path, _marker: #p::Marker }
            }
            fn key_path(&self) -> &#p::KeyPath {
                &self.path
            }
            fn into_key_path(self) -> #p::KeyPath {
                self.path
            }
        }

        #[automatically_derived]
        impl #impl_generics ::core::clone::Clone for #path_ident #ty_generics #where_clause {
            fn clone(&self) -> Self {
                <Self as #p::TypedPath>::from_key_path(self.path.clone())
            }
        }

        #[automatically_derived]
        impl #impl_generics ::core::fmt::Debug for #path_ident #ty_generics #where_clause {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                ::core::write!(f, "{}({})", ::core::stringify!(#path_ident), self.path)
            }
        }

        #[automatically_derived]
        impl #impl_generics ::core::fmt::Display for #path_ident #ty_generics #where_clause {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                ::core::fmt::Display::fmt(&self.path, f)
            }
        }

        #[automatically_derived]
        impl #impl_generics ::core::convert::From<#path_ident #ty_generics> for #p::KeyPath #where_clause {
            fn from(path: #path_ident #ty_generics) -> #p::KeyPath {
                path.path
            }
        }

        #[automatically_derived]
        impl #impl_generics #p::HasTypedPath for #ident #ty_generics #where_clause {
            type Path = #path_ident #ty_generics;
        }

        #[automatically_derived]
        #[allow(dead_code)]
        impl #impl_generics #ident #ty_generics #where_clause {
            /// The typed path of the root of a tree of this type; chain field methods to go
            /// deeper (`Model::path().blocks().at(3)`).
            #vis fn path() -> #path_ident #ty_generics {
                <#path_ident #ty_generics as #p::TypedPath>::from_key_path(#p::KeyPath::root())
            }
        }

        #[automatically_derived]
        #[allow(dead_code)]
        impl #impl_generics #path_ident #ty_generics #where_clause {
            #(#methods)*
        }
    }
}

fn path_method(
    variant: &Variant<'_>,
    field: &Field<'_>,
    p: &TokenStream,
    type_params: &[&Ident],
) -> TokenStream {
    let key = &field.key;
    let vis = &field.original.vis;
    let base = match &field.original.ident {
        Some(_) => key.clone(),
        None => format!("_{key}"),
    };
    let name = match variant.ident {
        Some(v) => format!(
            "{}_{}",
            snake_case(&v.to_string()),
            base.trim_start_matches('_')
        ),
        None => base,
    };
    let method = Ident::new_raw_if_keyword(&name, field.original.span());
    let ty = field.ty;
    let target = match field.kind {
        FieldKind::Leaf => quote!(#p::OpaqueLeaf<#ty>),
        _ => quote!(#ty),
    };
    let doc = format!("The path of the `{key}` child.");
    let ret = respan(quote!(<#target as #p::HasTypedPath>::Path), ty.span());
    // Generic fields get a where-clause; concrete ones report a missing impl at the field.
    let bound = if mentions_any(ty, type_params) {
        quote!(where #target: #p::HasTypedPath)
    } else {
        TokenStream::new()
    };
    quote! {
        #[doc = #doc]
        #vis fn #method(self) -> #ret #bound {
            #p::field_path(self.path, #key)
        }
    }
}

trait IdentExt2 {
    fn new_raw_if_keyword(name: &str, span: Span) -> Ident;
}

impl IdentExt2 for Ident {
    fn new_raw_if_keyword(name: &str, span: Span) -> Ident {
        match syn::parse_str::<Ident>(name) {
            Ok(_) => Ident::new(name, span),
            Err(_) => Ident::new_raw(name, span),
        }
    }
}

fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}
