//! A user crate that depends on penzai under another name (`pz`): `model!`, `#[layer]` and
//! `#[derive(Tree)]` must name penzai's items through `::pz`, not `::penzai`.
#![deny(warnings, missing_docs)]

use pz::prelude::*;

/// Scales its input; a custom layer with a signature.
#[derive(Clone, Debug, PartialEq, Tree)]
pub struct Scale {
    /// The factor.
    pub by: f32,
}

#[layer(requires = [embedding: 4])]
impl Layer for Scale {
    fn call(&self, x: NamedArray, _cx: &mut Context) -> Result<NamedArray> {
        Ok((x * self.by)?)
    }
}

/// A small model using every macro of penzai through the renamed dependency.
pub fn build() -> Result<pz::nn::Sequential> {
    pz::model! {
        input: [batch, embedding: 4];
        norm: RMSNorm(over embedding),
        scale: Scale { by: 2.0 },
        up: Linear(embedding: 4 -> hidden: 8),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macros_work_through_a_renamed_dependency() {
        let model = build().unwrap();
        let x = NamedArray::ones(&[("batch", 2), ("embedding", 4)]).unwrap();
        let y = model.call(x, &mut Context::new()).unwrap();
        assert_eq!(y.named_shape().to_string(), "{batch: 2, hidden: 8}");
        assert_eq!(
            Scale { by: 1.0 }
                .signature()
                .map(|s| s.to_string())
                .as_deref(),
            Some("requires [embedding: 4], removes [], adds []")
        );
        let path: KeyPath = Scale::path().into();
        assert!(path.is_empty());
    }
}
