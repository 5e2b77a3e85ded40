//! `Context`: the effects of one forward run.

/// The effect handler of one run: side inputs, captures, state, randomness, mode.
#[derive(Debug, Default)]
pub struct Context {}

impl Context {
    /// A fresh context.
    pub fn new() -> Context {
        Context::default()
    }
}
