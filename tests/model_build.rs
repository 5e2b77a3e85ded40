//! `model!` builds the model its syntax describes: structure, paths, labels, and a run.

use penzai::nn::parameters;
use penzai::prelude::*;

#[test]
fn smoke() -> penzai::Result<()> {
    let model = model! {
        input: [batch, seq, embedding: 8];
        seed = 1;

        norm: RMSNorm(over embedding),
        NamedGroup "mlp" [
            up: Linear(embedding: 8 -> hidden: 16),
            act: Relu,
            down: Linear(hidden: 16 -> embedding: 8),
        ],
        repeat 2 as blocks {
            attn: Residual [
                norm: LayerNorm(over embedding),
                attention: Attention(embedding -> heads: 2, projection: 4, mask = causal),
            ],
        },
    }?;
    for p in model.all_paths() {
        println!("{p}");
    }
    for (path, p) in parameters(&model) {
        println!("{path} {}", p.label);
    }
    let x = NamedArray::ones(&[("batch", 2), ("seq", 3), ("embedding", 8)])?;
    let y = model.call(x, &mut Context::new())?;
    assert_eq!(
        y.named_shape().to_string(),
        "{batch: 2, seq: 3, embedding: 8}"
    );

    Ok(())
}
