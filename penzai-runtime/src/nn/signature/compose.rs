//! The signature of a sequence of steps, composed from theirs.

use crate::nn::{Signature, Steps};
use crate::nx::AxisName;

type Sized = Vec<(AxisName, Option<usize>)>;

fn position(axes: &Sized, name: &str) -> Option<usize> {
    axes.iter().position(|(n, _)| n == name)
}

/// Two sizes of one axis, merged; `Err` when both are known and differ.
fn merge(a: Option<usize>, b: Option<usize>) -> Result<Option<usize>, ()> {
    match (a, b) {
        (Some(x), Some(y)) if x != y => Err(()),
        (x, y) => Ok(x.or(y)),
    }
}

impl Steps {
    /// The signature of running these steps in order, when every step states one and the
    /// steps can run one after another at all: what the first steps require from the
    /// input, what the sequence removes from it, and what it adds.
    ///
    /// `None` when a step states no signature, or when the steps contradict each other
    /// (a step needs an axis an earlier one removed), which a flow check then locates.
    pub fn signature(&self) -> Option<Signature> {
        let mut requires: Sized = Vec::new();
        let mut removed: Vec<AxisName> = Vec::new();
        let mut added: Sized = Vec::new();
        for step in self.iter() {
            let sig = step.layer.get().signature()?;
            let needed = sig
                .requires
                .iter()
                .cloned()
                .chain(sig.removes.iter().map(|n| (n.clone(), None)));
            for (name, size) in needed {
                if let Some(i) = position(&added, &name) {
                    added[i].1 = merge(added[i].1, size).ok()?;
                } else if removed.contains(&name) {
                    return None;
                } else if let Some(i) = position(&requires, &name) {
                    requires[i].1 = merge(requires[i].1, size).ok()?;
                } else {
                    requires.push((name, size));
                }
            }
            for name in &sig.removes {
                match position(&added, name) {
                    Some(i) => {
                        added.remove(i);
                    }
                    None => removed.push(name.clone()),
                }
            }
            for (name, size) in sig.adds {
                let present_in_input =
                    position(&requires, &name).is_some() && !removed.contains(&name);
                if position(&added, &name).is_some() || present_in_input {
                    return None;
                }
                added.push((name, size));
            }
        }
        Some(Signature {
            requires,
            removes: removed,
            adds: added,
        })
    }
}
