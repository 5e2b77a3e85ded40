//! `#[tree(...)]` attributes: parsed leniently, every problem recorded in the context.

use syn::spanned::Spanned;
use syn::{Attribute, LitStr, Meta, WherePredicate, punctuated::Punctuated};

use crate::ctxt::Ctxt;

/// How a field takes part in the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// A child node (the default): its type implements `Tree`.
    Child,
    /// An opaque leaf: any `Clone + Debug + PartialEq` value, not traversed.
    Leaf,
    /// Static configuration: not a child; shown and compared, never replaced.
    Skip,
}

/// Attributes of one field.
pub struct FieldAttrs {
    pub kind: FieldKind,
    pub rename: Option<LitStr>,
}

/// Attributes of the struct or enum.
#[derive(Default)]
pub struct ContainerAttrs {
    pub bound: Option<Vec<WherePredicate>>,
    pub crate_path: Option<syn::Path>,
    /// `#[tree(no_display)]`: do not implement `Display` (the type has its own).
    pub no_display: bool,
    /// `#[tree(validate = "path")]`: a `fn(&Self) -> Result<(), E>`, `E` a `penzai::tree::Invalid` or a `penzai::Error`, that `validate()`
    /// runs after the `#[axes]` checks.
    pub validate: Option<syn::Path>,
}

const FIELD_KEYS: &str = "`skip`, `leaf` or `rename = \"...\"`";
const CONTAINER_KEYS: &str =
    "`bound = \"...\"`, `crate = \"...\"`, `validate = \"...\"` or `no_display`";

fn tree_metas(cx: &Ctxt, attrs: &[Attribute]) -> Vec<Meta> {
    let mut out = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("tree")) {
        match &attr.meta {
            Meta::List(_) => {
                match attr.parse_args_with(Punctuated::<Meta, syn::Token![,]>::parse_terminated) {
                    Ok(metas) => out.extend(metas),
                    Err(e) => cx.syn_error(e),
                }
            }
            other => cx.error_spanned_by(
                other,
                "expected `#[tree(...)]` with arguments in parentheses",
            ),
        }
    }
    out
}

fn string_value(cx: &Ctxt, meta: &Meta) -> Option<LitStr> {
    match meta {
        Meta::NameValue(nv) => match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some(s.clone()),
            other => {
                cx.error_spanned_by(other, "expected a string literal");
                None
            }
        },
        other => {
            cx.error_spanned_by(
                other,
                format!("expected `{} = \"...\"`", path_name(other.path())),
            );
            None
        }
    }
}

fn path_name(path: &syn::Path) -> String {
    path.get_ident()
        .map_or_else(|| quote::quote!(#path).to_string(), |i| i.to_string())
}

fn flag(cx: &Ctxt, meta: &Meta) {
    if !matches!(meta, Meta::Path(_)) {
        cx.error_spanned_by(meta, format!("`{}` takes no value", path_name(meta.path())));
    }
}

/// Parses the attributes of a field.
pub fn field_attrs(cx: &Ctxt, field: &syn::Field) -> FieldAttrs {
    let mut kind: Option<(FieldKind, Meta)> = None;
    let mut rename: Option<LitStr> = None;
    for meta in tree_metas(cx, &field.attrs) {
        let name = path_name(meta.path());
        match name.as_str() {
            "skip" | "leaf" => {
                flag(cx, &meta);
                let this = if name == "skip" {
                    FieldKind::Skip
                } else {
                    FieldKind::Leaf
                };
                match &kind {
                    Some((prev, _)) if *prev == this => {
                        cx.error_spanned_by(&meta, format!("duplicate `{name}` attribute"));
                    }
                    Some(_) => {
                        cx.error_spanned_by(&meta, "a field cannot be both `skip` and `leaf`")
                    }
                    None => kind = Some((this, meta.clone())),
                }
            }
            "rename" => {
                if rename.is_some() {
                    cx.error_spanned_by(&meta, "duplicate `rename` attribute");
                } else {
                    rename = string_value(cx, &meta);
                }
            }
            "bound" | "crate" | "no_display" | "validate" => cx.error_spanned_by(
                meta.path(),
                format!("`{name}` belongs on the struct or enum, not on a field"),
            ),
            _ => cx.error_spanned_by(
                meta.path(),
                format!("unknown tree attribute `{name}`: a field accepts {FIELD_KEYS}"),
            ),
        }
    }
    if let (Some((FieldKind::Skip, _)), Some(lit)) = (&kind, &rename) {
        cx.error_spanned_by(
            lit,
            "a `skip` field is not a child and has no key to rename",
        );
    }
    FieldAttrs {
        kind: kind.map_or(FieldKind::Child, |(k, _)| k),
        rename,
    }
}

/// Parses the attributes of the struct or enum.
pub fn container_attrs(cx: &Ctxt, attrs: &[Attribute]) -> ContainerAttrs {
    let mut out = ContainerAttrs::default();
    for meta in tree_metas(cx, attrs) {
        let name = path_name(meta.path());
        match name.as_str() {
            "bound" => {
                if let Some(lit) = string_value(cx, &meta) {
                    match lit
                        .parse_with(Punctuated::<WherePredicate, syn::Token![,]>::parse_terminated)
                    {
                        Ok(preds) => out.bound = Some(preds.into_iter().collect()),
                        Err(e) => cx.error_spanned_by(&lit, format!("invalid where-clause: {e}")),
                    }
                }
            }
            "crate" => {
                if let Some(lit) = string_value(cx, &meta) {
                    match lit.parse::<syn::Path>() {
                        Ok(path) => out.crate_path = Some(path),
                        Err(e) => cx.error_spanned_by(&lit, format!("invalid crate path: {e}")),
                    }
                }
            }
            "validate" => {
                if let Some(lit) = string_value(cx, &meta) {
                    if out.validate.is_some() {
                        cx.error_spanned_by(&lit, "duplicate `validate` attribute");
                    }
                    match lit.parse::<syn::Path>() {
                        Ok(path) => out.validate = Some(path),
                        Err(e) => cx.error_spanned_by(&lit, format!("invalid function path: {e}")),
                    }
                }
            }
            "no_display" => {
                flag(cx, &meta);
                if out.no_display {
                    cx.error_spanned_by(&meta, "duplicate `no_display` attribute");
                }
                out.no_display = true;
            }
            "skip" | "leaf" | "rename" => cx.error_spanned_by(
                meta.path(),
                format!("`{name}` belongs on a field, not on the struct or enum"),
            ),
            _ => cx.error_spanned_by(
                meta.path(),
                format!(
                    "unknown tree attribute `{name}`: a struct or enum accepts {CONTAINER_KEYS}"
                ),
            ),
        }
    }
    out
}

/// Reports `#[tree(...)]` where it has no meaning (on enum variants).
pub fn reject_on_variant(cx: &Ctxt, variant: &syn::Variant) {
    for attr in variant.attrs.iter().filter(|a| a.path().is_ident("tree")) {
        cx.syn_error(syn::Error::new(
            attr.span(),
            "`#[tree(...)]` is not supported on enum variants; put it on the variant's fields",
        ));
    }
}

/// The size an axis must have in `#[axes(...)]`.
pub enum AxisSize {
    /// `name`: any size.
    Any,
    /// `name = 64`.
    Fixed(syn::LitInt),
    /// `name = D`: a size variable shared by every field of the node.
    Var(syn::Ident),
}

/// One `#[axes(...)]` attribute: the named axes a `Parameter`/`NamedArray` field must have.
pub struct AxesAttr {
    pub attr: Attribute,
    pub axes: Vec<(syn::Ident, AxisSize)>,
    /// `..` at the end: other axes are allowed too.
    pub allow_others: bool,
}

/// Parses `#[axes(...)]` on a field; records malformed attributes and returns `None`.
pub fn axes_attr(cx: &Ctxt, field: &syn::Field) -> Option<AxesAttr> {
    let mut found: Option<AxesAttr> = None;
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("axes")) {
        if found.is_some() {
            cx.error_spanned_by(
                attr,
                "duplicate `#[axes(...)]`: list every axis in one attribute",
            );
            continue;
        }
        let syn::Meta::List(list) = &attr.meta else {
            cx.error_spanned_by(attr, "expected `#[axes(name, name = SIZE_VAR, name = 64)]`");
            continue;
        };
        match syn::parse::Parser::parse2(parse_axes, list.tokens.clone()) {
            Ok((axes, allow_others)) => {
                found = Some(AxesAttr {
                    attr: attr.clone(),
                    axes,
                    allow_others,
                })
            }
            Err(e) => cx.syn_error(e),
        }
    }
    found
}

fn parse_axes(
    input: syn::parse::ParseStream<'_>,
) -> syn::Result<(Vec<(syn::Ident, AxisSize)>, bool)> {
    let mut axes = Vec::new();
    let mut allow_others = false;
    while !input.is_empty() {
        if input.peek(syn::Token![..]) {
            input.parse::<syn::Token![..]>()?;
            allow_others = true;
            if !input.is_empty() {
                return Err(input.error("`..` (other axes allowed) must come last"));
            }
            break;
        }
        let name: syn::Ident = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected an axis name, like `embedding` or `heads = H`",
            )
        })?;
        let size = if input.peek(syn::Token![=]) {
            input.parse::<syn::Token![=]>()?;
            if input.peek(syn::LitInt) {
                AxisSize::Fixed(input.parse()?)
            } else if input.peek(syn::Ident) {
                AxisSize::Var(input.parse()?)
            } else {
                return Err(
                    input.error("expected a size (`64`) or a size variable (`D`) after `=`")
                );
            }
        } else if input.peek(syn::Token![:]) {
            return Err(input.error("write `name = SIZE` (with `=`) in `#[axes(...)]`"));
        } else {
            AxisSize::Any
        };
        axes.push((name, size));
        if input.is_empty() {
            break;
        }
        input.parse::<syn::Token![,]>()?;
    }
    Ok((axes, allow_others))
}
