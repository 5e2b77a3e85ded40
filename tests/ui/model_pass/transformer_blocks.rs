//! A small transformer: repeated blocks with residual attention and MLP. Every parameter's
//! label is its path, and the blocks' parameters are independent.
use penzai::nn::{Parameter, check_flow, parameters};
use penzai::prelude::*;

fn main() -> penzai::Result<()> {
    let model = model! {
        input: [batch, seq, embedding: 16];
        output: [batch, seq, vocabulary: 11];
        seed = 7;

        repeat 3 as blocks {
            attn: Residual [
                norm: RMSNorm(over embedding),
                attention: Attention(embedding -> heads: 2, projection: 8, mask = causal, rope = 10_000.0),
            ],
            mlp: Residual [
                norm: LayerNorm(over embedding),
                NamedGroup "ffn" [
                    up: Affine(embedding -> neurons: 32),
                    act: GeluTanh,
                    down: Affine(neurons: 32 -> embedding: 16),
                ],
            ],
        },
        final_norm: RMSNorm(over embedding),
        unembed: Linear(embedding -> vocabulary: 11),
    }?;

    for (path, p) in parameters(&model) {
        let dotted = path.to_string().replace('[', ".").replace(']', "");
        assert_eq!(&*p.label, dotted.as_str());
    }
    let weights = |i: usize| -> penzai::Result<Parameter> {
        let path: KeyPath = format!("blocks[{i}].attn.delta.attention.query.proj.weights").parse()?;
        Ok(model.get_at(&path)?.downcast_ref::<Parameter>().expect("a parameter").clone())
    };
    assert_eq!(&*weights(2)?.label, "blocks.2.attn.delta.attention.query.proj.weights");
    assert_ne!(weights(0)?.value, weights(1)?.value, "blocks are initialized independently");
    let up: KeyPath = "blocks[1].mlp.delta.ffn.up.linear.weights".parse()?;
    assert!(model.get_at(&up)?.downcast_ref::<Parameter>().is_some());

    let x = NamedArray::normal(0, &[("batch", 2), ("seq", 5), ("embedding", 16)], 0.0, 1.0)?;
    let y = model.call(x, &mut Context::new())?;
    assert_eq!(y.named_shape().to_string(), "{batch: 2, seq: 5, vocabulary: 11}");
    assert!(y.to_f32_vec().iter().all(|v| v.is_finite()));

    let end = check_flow(&model, &"[batch, seq, embedding: 16]".parse()?)?;
    assert_eq!(end.map(|a| a.to_string()).as_deref(), Some("[batch, seq, vocabulary: 11]"));
    Ok(())
}
