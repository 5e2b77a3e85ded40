//! A small model with every kind of slot, shared by the selector tests.
#![allow(dead_code)]

use penzai::nn::{Identity, Sequential};
use penzai::prelude::*;
use penzai::tree::Key;

/// Multiplies by `factor`.
#[derive(Clone, Debug, PartialEq, Tree)]
pub struct Scale {
    pub factor: f32,
}

impl Layer for Scale {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> penzai::Result<NamedArray> {
        Ok((&x * self.factor)?)
    }
}

/// Adds `by`.
#[derive(Clone, Debug, PartialEq, Tree)]
pub struct Shift {
    pub by: f32,
}

impl Layer for Shift {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> penzai::Result<NamedArray> {
        Ok((&x + self.by)?)
    }
}

/// A block with a typed slot, an any-layer slot, an optional typed slot and a sequence.
#[derive(Clone, Debug, Tree)]
pub struct Block {
    pub norm: Scale,
    pub mlp: AnyLayer,
    pub gate: Option<Scale>,
    pub steps: Sequential,
}

impl Layer for Block {
    fn call(&self, x: NamedArray, cx: &mut Context) -> penzai::Result<NamedArray> {
        let x = cx.call_child(Key::field("norm"), &self.norm, x)?;
        let x = cx.call_child(Key::field("mlp"), self.mlp.get(), x)?;
        let x = match &self.gate {
            Some(g) => cx.call_child(Key::field("gate"), g, x)?,
            None => x,
        };
        cx.call_child(Key::field("steps"), &self.steps, x)
    }
}

/// Blocks in a `Vec`, a head in an any-layer slot, and a plain number.
#[derive(Clone, Debug, Tree)]
pub struct Net {
    pub blocks: Vec<Block>,
    pub head: AnyLayer,
    pub temperature: f32,
}

impl Layer for Net {
    fn call(&self, mut x: NamedArray, cx: &mut Context) -> penzai::Result<NamedArray> {
        for (i, block) in self.blocks.iter().enumerate() {
            cx.enter(Key::field("blocks"));
            let y = cx.call_child(Key::Index(i), block, x);
            cx.leave();
            x = y?;
        }
        cx.call_child(Key::field("head"), self.head.get(), x)
    }
}

pub fn block(i: usize) -> Block {
    Block {
        norm: Scale {
            factor: 1.0 + i as f32,
        },
        mlp: AnyLayer::new(Shift { by: i as f32 }),
        gate: (i == 0).then_some(Scale { factor: 0.5 }),
        steps: Sequential::new()
            .then_named("first", Scale { factor: 2.0 })
            .unwrap()
            .then(Shift { by: 1.0 }),
    }
}

pub fn net() -> Net {
    Net {
        blocks: vec![block(0), block(1)],
        head: AnyLayer::new(
            Sequential::new()
                .then(Scale { factor: 3.0 })
                .then(Shift { by: -1.0 }),
        ),
        temperature: 1.0,
    }
}

/// An identity, for insertions.
pub fn tap() -> Identity {
    Identity
}

/// Paths as text, for readable assertions.
pub fn strs(paths: &[KeyPath]) -> Vec<String> {
    paths.iter().map(ToString::to_string).collect()
}

/// Every path of a tree as text.
pub fn all(tree: &dyn Tree) -> Vec<String> {
    strs(&tree.all_paths())
}

/// Two lists of numbers (Penzai's `{a: range(10), b: range(10, 20)}`).
#[derive(Clone, Debug, PartialEq, Tree)]
pub struct Lists {
    pub a: Vec<i64>,
    pub b: Vec<i64>,
}

/// `a: 0..10, b: 10..20`.
pub fn lists() -> Lists {
    Lists {
        a: (0..10).collect(),
        b: (10..20).collect(),
    }
}

/// The multiples of 4 in both lists.
pub fn multiples_of_4(l: Lists) -> Selection<Lists> {
    select(l)
        .at_instances_of::<i64>()
        .where_(|_, n| n.downcast_ref::<i64>().is_some_and(|v| v % 4 == 0))
}
