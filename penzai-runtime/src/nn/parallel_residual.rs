//! `ParallelResidual`: `x + f(x) + g(x) + ...`, branches that read the same input and whose
//! outputs are summed onto it (GPT-NeoX/Pythia's parallel attention and MLP, GPT-J).

use crate::Result;
use crate::nn::flow::{AxisSet, FlowCheck, FlowResult, ops};
use crate::nn::{Context, LayerError, Steps};
use crate::nx::NamedArray;
use crate::tree::Key;

/// `x + branch_0(x) + branch_1(x) + ...`: every branch reads the block's input, and their
/// outputs are added to it. Each branch must end with the axes it started with.
///
/// Branches are steps, usually named, so each is reached by its name like a step of a
/// [`Sequential`](crate::nn::Sequential) (`blocks[0].parallel.attn`,
/// `blocks[0].parallel.mlp` in a GPT-NeoX model); inserting a step adds a branch to the sum.
/// A [`Residual`](crate::nn::Residual) around one branch computes the same as a
/// `ParallelResidual` of that branch alone.
///
/// ```
/// use penzai::prelude::*;
/// use penzai::nn::{ConstantRescale, Identity, ParallelResidual, Steps};
///
/// let both = ParallelResidual {
///     steps: Steps::named([
///         ("same", AnyLayer::new(Identity)),
///         ("double", AnyLayer::new(ConstantRescale { by: 2.0 })),
///     ])?,
/// };
/// let x = NamedArray::ones(&[("embedding", 3)])?;
/// // x + x + 2x
/// let y = both.call(x, &mut Context::new())?;
/// assert_eq!(y.to_f32_vec(), [4.0, 4.0, 4.0]);
/// assert_eq!(both.get_at(&"double".parse()?)?.type_name(), "ConstantRescale");
/// # Ok::<(), penzai::Error>(())
/// ```
// Saved as `{"steps": [...]}`, like a named kind of `Sequential`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ParallelResidual {
    /// The branches, each applied to the input.
    pub steps: Steps,
}

impl ParallelResidual {
    /// The sum of the input and the named `branches`, applied to it.
    pub fn named<'n>(
        branches: impl IntoIterator<Item = (&'n str, crate::nn::AnyLayer)>,
    ) -> Result<ParallelResidual> {
        Ok(ParallelResidual {
            steps: Steps::named(branches)?,
        })
    }
}

crate::__steps_node!(@tree ParallelResidual, "ParallelResidual", |_s, _visit| {}, |_a, _b| true);

impl crate::nn::Layer for ParallelResidual {
    fn call(&self, x: NamedArray, cx: &mut Context) -> Result<NamedArray> {
        let before = x.named_shape();
        let mut sum = x.clone();
        for (i, step) in self.steps.iter().enumerate() {
            let key = match &step.name {
                Some(name) => crate::tree::KeyRef::Field(name).to_owned_key(),
                None => Key::Index(i),
            };
            let y = cx.call_child(key, step.layer.get(), x.clone())?;
            let after = y.named_shape();
            if after.len() != before.len() || before.iter().any(|(n, s)| after.get(n) != Some(s)) {
                return Err(LayerError::Check(format!(
                    "each branch of a ParallelResidual must end with the axes it started with: branch {} got {before} and returned {after}",
                    step.name.as_deref().map_or_else(|| i.to_string(), str::to_owned),
                ))
                .into());
            }
            sum = (&sum + &y)?;
        }
        Ok(sum)
    }

    /// Every branch's flow must end with the input's axes; the output has the input's axes.
    fn flow<'a>(&'a self, x: Option<AxisSet<'a>>, check: &mut FlowCheck) -> FlowResult<'a> {
        for (i, step) in self.steps.iter().enumerate() {
            let key = match &step.name {
                Some(name) => crate::tree::KeyRef::Field(name).to_owned_key(),
                None => Key::Index(i),
            };
            let end = check.child(key, step.layer.get(), x)?;
            if let (Some(start), Some(end)) = (&x, &end) {
                ops::end_as_started(start, end, "each ParallelResidual branch")
                    .map_err(|e| check.fail("ParallelResidual", e))?;
            }
        }
        Ok(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{AnyLayer, ConstantRescale, Identity, Layer, RenameAxes, Residual};
    use crate::tree::{Tree, TreeExt};

    fn two() -> ParallelResidual {
        ParallelResidual::named([
            ("a", AnyLayer::new(ConstantRescale { by: 3.0 })),
            ("b", AnyLayer::new(ConstantRescale { by: -0.5 })),
        ])
        .unwrap()
    }

    #[test]
    fn sums_the_input_and_every_branch() {
        let x = NamedArray::from_f32(&[("e", 2)], vec![1.0, 2.0]).unwrap();
        let y = two().call(x, &mut Context::new()).unwrap();
        assert_eq!(y.to_f32_vec(), [3.5, 7.0]);
    }

    #[test]
    fn one_branch_is_a_residual() {
        let x = NamedArray::from_f32(&[("e", 3)], vec![1.0, -2.0, 0.5]).unwrap();
        let one =
            ParallelResidual::named([("a", AnyLayer::new(ConstantRescale { by: 3.0 }))]).unwrap();
        let residual = Residual::new(ConstantRescale { by: 3.0 });
        assert_eq!(
            one.call(x.clone(), &mut Context::new()).unwrap(),
            residual.call(x, &mut Context::new()).unwrap()
        );
    }

    #[test]
    fn branches_are_reached_by_name_and_added_as_steps() {
        let mut p = two();
        assert_eq!(p.sequence_len(), Some(2));
        let b = p.get_at(&"b".parse().unwrap()).unwrap();
        assert_eq!(b.downcast_ref::<ConstantRescale>().unwrap().by, -0.5);
        p.insert_at(&crate::tree::KeyPath::root(), 2, Box::new(Identity))
            .unwrap();
        let x = NamedArray::from_f32(&[("e", 1)], vec![2.0]).unwrap();
        // 2 + 6 - 1 + 2
        assert_eq!(p.call(x, &mut Context::new()).unwrap().to_f32_vec(), [9.0]);
    }

    #[test]
    fn a_branch_changing_axes_is_an_error_naming_it() {
        let p = ParallelResidual::named([
            ("a", AnyLayer::new(Identity)),
            ("renames", AnyLayer::new(RenameAxes::new("e", "f"))),
        ])
        .unwrap();
        let x = NamedArray::from_f32(&[("e", 1)], vec![2.0]).unwrap();
        let err = p.call(x, &mut Context::new()).unwrap_err().to_string();
        assert!(err.contains("branch renames"), "{err}");
        let flow = crate::nn::check_flow(&p, &"[e: 1]".parse().unwrap())
            .unwrap_err()
            .to_string();
        assert!(flow.contains("ParallelResidual"), "{flow}");
    }
}
