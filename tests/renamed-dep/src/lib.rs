//! A user crate that depends on penzai under another name (`pz`), and on nothing else:
//! `model!`, `#[layer]` and `#[derive(Tree)]` must name penzai's items through `::pz`, not
//! `::penzai`, and its own layer saves, loads, runs and renders with no registration call and
//! no serde dependency of its own (`pz::serde`).
#![deny(warnings, missing_docs)]

use pz::prelude::*;

/// Scales its input; a custom layer with a signature, saved through penzai's serde.
#[derive(Clone, Debug, PartialEq, Tree, pz::serde::Serialize, pz::serde::Deserialize)]
#[serde(crate = "pz::serde")]
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

    #[test]
    fn a_custom_layer_saves_loads_runs_and_renders_without_registration() {
        let model = build().unwrap();
        let dir = std::env::temp_dir().join(format!("penzai_renamed_dep_{}", std::process::id()));
        pz::io::save(&model, &dir).unwrap();
        let structure = std::fs::read_to_string(dir.join(pz::io::STRUCTURE_FILE)).unwrap();
        assert!(
            structure.contains(r#""type": "penzai_renamed_dep::Scale""#),
            "{structure}"
        );
        assert!(
            pz::io::registered_layers()
                .iter()
                .any(|n| n == "penzai_renamed_dep::Scale")
        );

        let back: pz::nn::Sequential = pz::io::load(&dir).unwrap();
        std::fs::remove_dir_all(&dir).ok();
        assert!(back.tree_eq(&model));
        let found = select(back.clone()).at_instances_of::<Scale>();
        assert_eq!(found.get_as::<Scale>().ok(), Some(&Scale { by: 2.0 }));

        let x = NamedArray::ones(&[("batch", 2), ("embedding", 4)]).unwrap();
        let y = back.call(x.clone(), &mut Context::new()).unwrap();
        assert_eq!(y, model.call(x, &mut Context::new()).unwrap());

        let text = treescope::to_text_plain(&back);
        assert!(text.contains("scale: Scale"), "{text}");
        assert!(text.contains("by: f32 = 2.0"), "{text}");
        let html = treescope::to_html(&back);
        assert!(html.contains("Scale"));
    }
}
