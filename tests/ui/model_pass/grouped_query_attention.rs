//! Grouped-query attention with a sliding window, a decoder-style stack, and an
//! unnamed repeat.
use penzai::prelude::*;

fn main() -> penzai::Result<()> {
    let model = model! {
        input: [batch, seq, embedding: 8];
        repeat 2 {
            Residual [
                RMSNorm(over embedding, eps = 1e-5),
                Attention(
                    embedding: 8 -> kv_heads: 2, q_per_kv: 2, projection: 4,
                    kv = [kv_heads: 2, projection: 4],
                    window = 3,
                ),
            ],
            Residual [
                Dropout(0.1),
                TanhSoftCap(30.0),
            ],
        },
    }?;
    let paths: Vec<String> = model.all_paths().iter().map(ToString::to_string).collect();
    assert!(paths.contains(&"[0][1][0].delta[1].key.proj.weights".to_owned()), "{paths:?}");
    let x = NamedArray::normal(3, &[("batch", 1), ("seq", 6), ("embedding", 8)], 0.0, 1.0)?;
    let y = model.call(x, &mut Context::new())?;
    assert_eq!(y.named_shape().to_string(), "{batch: 1, seq: 6, embedding: 8}");
    Ok(())
}
