//! Semantic checks on the parsed IR; every problem is recorded, none stops the others.

use std::collections::BTreeMap;

use super::ast::Input;
use crate::ctxt::Ctxt;

/// Records every reason `input` cannot derive `Tree`.
pub fn check(cx: &Ctxt, input: &Input<'_>) {
    check_generics(cx, input);
    check_axes(cx, input);
    for variant in input.variants() {
        let mut keys: BTreeMap<&str, ()> = BTreeMap::new();
        for field in variant.fields.iter().filter(|f| f.is_child()) {
            if !is_field_name(&field.key) {
                cx.syn_error(syn::Error::new(
                    field.key_span,
                    format!(
                        "`{}` cannot be a key: keys use ASCII letters, digits and `_`, so that a path through them parses back",
                        field.key
                    ),
                ));
            }
            if keys.insert(&field.key, ()).is_some() {
                cx.syn_error(syn::Error::new(
                    field.key_span,
                    format!(
                        "duplicate key `{}`: two children of one node cannot share a key",
                        field.key
                    ),
                ));
            }
        }
    }
}

fn check_generics(cx: &Ctxt, input: &Input<'_>) {
    for lifetime in input.original.generics.lifetimes() {
        cx.error_spanned_by(
            lifetime,
            "Tree cannot be derived for a type that borrows: tree nodes are owned data (`'static`); store owned values or `Arc`s instead",
        );
    }
}

fn check_axes(cx: &Ctxt, input: &Input<'_>) {
    for field in input.variants().iter().flat_map(|v| &v.fields) {
        let Some(axes) = &field.axes else { continue };
        if field.kind != super::attr::FieldKind::Child {
            cx.error_spanned_by(
                &axes.attr,
                "`#[axes(...)]` checks a child `Parameter` or `NamedArray`; it cannot go on a `skip` or `leaf` field",
            );
        }
        let mut seen: Vec<String> = Vec::new();
        for (name, _) in &axes.axes {
            let text = name.to_string();
            if seen.contains(&text) {
                cx.error_spanned_by(name, format!("axis `{text}` is listed twice"));
            }
            seen.push(text);
        }
        if axes.axes.is_empty() && !axes.allow_others {
            cx.error_spanned_by(
                &axes.attr,
                "`#[axes()]` lists no axes: name them, or write `..` to allow any",
            );
        }
    }
}

fn is_field_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}
