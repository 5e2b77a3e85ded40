//! Trees shared by the Treescope tests and bench: a small transformer-like model with
//! deterministic parameters, and a tree whose names carry injection payloads.
#![allow(dead_code)]

use std::collections::BTreeMap;

use penzai::prelude::*;
use penzai::tree::{ChildError, KeyRef};

/// Deterministic, varied values (no RNG: goldens must not depend on one).
pub fn values(n: usize, seed: u32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let x = (i as u32)
                .wrapping_mul(2_654_435_761)
                .wrapping_add(seed.wrapping_mul(40_503));
            ((x >> 8) % 2001) as f32 / 1000.0 - 1.0
        })
        .collect()
}

pub fn array(shape: &[(&str, usize)], seed: u32) -> NamedArray {
    let n = shape.iter().map(|(_, s)| s).product();
    NamedArray::from_f32(shape, values(n, seed)).expect("fixture shapes are consistent")
}

#[derive(Clone, Debug, Tree)]
pub struct Linear {
    pub weights: NamedArray,
    #[tree(skip)]
    pub input_axis: &'static str,
    #[tree(skip)]
    pub output_axis: &'static str,
}

#[derive(Clone, Debug, Tree)]
pub struct RmsNorm {
    pub scale: NamedArray,
    #[tree(skip)]
    pub eps: f32,
}

#[derive(Clone, Debug, Tree)]
pub struct Attention {
    pub query: Linear,
    pub key: Linear,
    pub value: Linear,
    pub output: Linear,
    #[tree(skip)]
    pub num_heads: usize,
}

#[derive(Clone, Debug, Tree)]
pub struct Mlp {
    pub up: Linear,
    pub gate: Linear,
    pub down: Linear,
    #[tree(skip)]
    pub activation: &'static str,
}

#[derive(Clone, Debug, Tree)]
pub struct Block {
    pub attn_norm: RmsNorm,
    pub attn: Attention,
    pub mlp_norm: RmsNorm,
    pub mlp: Mlp,
}

#[derive(Clone, Debug, Tree)]
pub struct Transformer {
    pub embed: Linear,
    pub blocks: Vec<Block>,
    pub final_norm: RmsNorm,
    #[tree(skip)]
    pub d_model: usize,
}

fn linear(input: (&'static str, usize), output: (&'static str, usize), seed: u32) -> Linear {
    Linear {
        weights: array(&[input, output], seed),
        input_axis: input.0,
        output_axis: output.0,
    }
}

fn norm(d: usize, seed: u32) -> RmsNorm {
    RmsNorm {
        scale: array(&[("embedding", d)], seed),
        eps: 1e-6,
    }
}

/// A transformer-like tree: `n_blocks` blocks of d_model `d`, MLP width `4 d`, vocab `vocab`.
pub fn transformer(n_blocks: usize, d: usize, vocab: usize) -> Transformer {
    let h = 4 * d;
    Transformer {
        embed: linear(("vocab", vocab), ("embedding", d), 1),
        blocks: (0..n_blocks as u32)
            .map(|b| Block {
                attn_norm: norm(d, 10 * b + 2),
                attn: Attention {
                    query: linear(("embedding", d), ("q", d), 10 * b + 3),
                    key: linear(("embedding", d), ("k", d), 10 * b + 4),
                    value: linear(("embedding", d), ("v", d), 10 * b + 5),
                    output: linear(("v", d), ("embedding", d), 10 * b + 6),
                    num_heads: 4,
                },
                mlp_norm: norm(d, 10 * b + 7),
                mlp: Mlp {
                    up: linear(("embedding", d), ("hidden", h), 10 * b + 8),
                    gate: linear(("embedding", d), ("hidden", h), 10 * b + 9),
                    down: linear(("hidden", h), ("embedding", d), 10 * b + 10),
                    activation: "gelu",
                },
            })
            .collect(),
        final_norm: norm(d, 999),
        d_model: d,
    }
}

/// A node whose *type name* is markup: only a manual impl can do that.
#[derive(Clone, Debug, PartialEq)]
pub struct EvilName;

pub const EVIL_TYPE: &str = "<script>window.__pwned = 'type'</script>";

impl Tree for EvilName {
    fn type_name(&self) -> &'static str {
        EVIL_TYPE
    }
    fn visit_children<'a>(&'a self, _: &mut dyn FnMut(KeyRef<'a>, &'a dyn Tree)) {}
    fn visit_children_mut(&mut self, _: &mut dyn FnMut(KeyRef<'_>, &mut dyn Tree)) {}
    fn child(&self, _: KeyRef<'_>) -> Option<&dyn Tree> {
        None
    }
    fn child_mut(&mut self, _: KeyRef<'_>) -> Option<&mut dyn Tree> {
        None
    }
    fn replace_child(
        &mut self,
        key: KeyRef<'_>,
        value: Box<dyn Tree>,
    ) -> Result<Box<dyn Tree>, ChildError> {
        Err(ChildError::NoSuchChild {
            key: key.to_owned_key(),
            type_name: EVIL_TYPE,
            value: Some(value),
        })
    }
    fn tree_eq(&self, other: &dyn Tree) -> bool {
        other.is::<EvilName>()
    }
    fn visit_static_fields(&self, visit: &mut dyn FnMut(&'static str, &dyn std::fmt::Debug)) {
        visit(
            "note",
            &"</script><img src=x onerror=\"window.__pwned='field'\">",
        );
    }
}

impl HasTypedPath for EvilName {
    type Path = penzai::tree::LeafPath;
}

pub const EVIL_KEY: &str = "<img src=x onerror=\"window.__pwned='key'\">";

#[derive(Clone, Debug, Tree)]
pub struct Hostile {
    pub layers: BTreeMap<String, f32>,
    pub evil: EvilName,
    pub label: String,
}

/// A tree whose map key, type name, static field and string value are injection payloads.
pub fn hostile() -> Hostile {
    Hostile {
        layers: BTreeMap::from([(EVIL_KEY.to_owned(), 1.0), ("ok".to_owned(), 2.0)]),
        evil: EvilName,
        label: "</script><script>window.__pwned='value'</script>".to_owned(),
    }
}

/// Compares `actual` with `tests/golden/treescope/{name}`; `UPDATE_GOLDEN=1` rewrites it.
pub fn check_golden(name: &str, actual: &str) {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/treescope")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "missing golden {}: {e}; run with UPDATE_GOLDEN=1",
            path.display()
        )
    });
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from the golden at line {}:\n  golden: {:?}\n  actual: {:?}\n\
             (UPDATE_GOLDEN=1 rewrites it)\n--- actual ---\n{actual}",
            path.display(),
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first),
        );
    }
}
