//! The derive's input as a borrowed IR that keeps the original syntax for spans.

use syn::ext::IdentExt;
use syn::{DeriveInput, Ident, Member, Type};

use super::attr::{self, ContainerAttrs, FieldKind};
use crate::ctxt::Ctxt;

/// The whole derive input.
pub struct Input<'a> {
    pub original: &'a DeriveInput,
    pub attrs: ContainerAttrs,
    pub data: Data<'a>,
}

/// A struct (one variant without a name) or an enum.
pub enum Data<'a> {
    Struct(Variant<'a>),
    Enum(Vec<Variant<'a>>),
}

/// How a variant's fields are written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Named,
    Tuple,
    Unit,
}

/// A struct body or one enum variant.
pub struct Variant<'a> {
    /// The variant's name; `None` for a struct.
    pub ident: Option<&'a Ident>,
    pub style: Style,
    pub fields: Vec<Field<'a>>,
}

/// One field.
pub struct Field<'a> {
    pub original: &'a syn::Field,
    pub member: Member,
    /// The key under which the field is a child (after `rename`).
    pub key: String,
    /// Span of what decided the key (the rename literal or the field).
    pub key_span: proc_macro2::Span,
    pub kind: FieldKind,
    pub ty: &'a Type,
    /// Position among the fields, used to name bindings.
    pub index: usize,
    /// The `#[axes(...)]` declaration, if any.
    pub axes: Option<attr::AxesAttr>,
}

impl<'a> Input<'a> {
    /// Parses the input, recording attribute errors; `None` for unions.
    pub fn from_syn(cx: &Ctxt, input: &'a DeriveInput) -> Option<Input<'a>> {
        let attrs = attr::container_attrs(cx, &input.attrs);
        let data = match &input.data {
            syn::Data::Struct(s) => Data::Struct(Variant::from_fields(cx, None, &s.fields)),
            syn::Data::Enum(e) => Data::Enum(
                e.variants
                    .iter()
                    .map(|v| {
                        attr::reject_on_variant(cx, v);
                        Variant::from_fields(cx, Some(&v.ident), &v.fields)
                    })
                    .collect(),
            ),
            syn::Data::Union(u) => {
                cx.error_spanned_by(
                    u.union_token,
                    "Tree cannot be derived for a union: a tree node must know which field holds its child; use a struct or an enum",
                );
                return None;
            }
        };
        Some(Input {
            original: input,
            attrs,
            data,
        })
    }

    /// Every variant (the struct body counts as one).
    pub fn variants(&self) -> &[Variant<'a>] {
        match &self.data {
            Data::Struct(v) => std::slice::from_ref(v),
            Data::Enum(vs) => vs,
        }
    }
}

impl<'a> Variant<'a> {
    fn from_fields(cx: &Ctxt, ident: Option<&'a Ident>, fields: &'a syn::Fields) -> Variant<'a> {
        let style = match fields {
            syn::Fields::Named(_) => Style::Named,
            syn::Fields::Unnamed(_) => Style::Tuple,
            syn::Fields::Unit => Style::Unit,
        };
        let fields = fields
            .iter()
            .enumerate()
            .map(|(index, field)| {
                let attrs = attr::field_attrs(cx, field);
                let axes = attr::axes_attr(cx, field);
                let (member, default_key) = match &field.ident {
                    Some(name) => (Member::Named(name.clone()), name.unraw().to_string()),
                    None => (Member::Unnamed(index.into()), index.to_string()),
                };
                let (key, key_span) = match &attrs.rename {
                    Some(lit) => (lit.value(), lit.span()),
                    None => (default_key, syn::spanned::Spanned::span(field)),
                };
                Field {
                    original: field,
                    member,
                    key,
                    key_span,
                    kind: attrs.kind,
                    ty: &field.ty,
                    index,
                    axes,
                }
            })
            .collect();
        Variant {
            ident,
            style,
            fields,
        }
    }
}

impl Field<'_> {
    /// The local binding used for this field in generated patterns.
    pub fn binding(&self) -> Ident {
        Ident::new(
            &format!("__field{}", self.index),
            proc_macro2::Span::call_site(),
        )
    }

    /// True for fields that are children (including opaque leaves).
    pub fn is_child(&self) -> bool {
        self.kind != FieldKind::Skip
    }
}
