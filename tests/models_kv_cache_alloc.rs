//! The KV cache is allocated once for the requested length, and a decode step allocates the
//! same, small, set of arrays at every position: counted with a counting global allocator.

mod alloc_count;

use penzai::models::{GenerateOptions, LlamaConfig, TransformerLm, generate_with_progress};
use penzai::nn::{Attention, KVCache, KVCachingAttention};
use penzai::nx::Storage;
use penzai::prelude::*;

/// Count and largest allocation since the last call, and counting afresh.
fn take_counts() -> (usize, usize) {
    let counts = alloc_count::take();
    (counts.count, counts.largest)
}

fn config() -> LlamaConfig {
    LlamaConfig {
        n_heads: 4,
        n_kv_heads: 4,
        head_dim: 16,
        d_model: 64,
        ..LlamaConfig::tiny()
    }
}

const PROMPT: usize = 16;
const NEW: usize = 24;

#[test]
fn decode_steps_allocate_the_same_small_arrays_at_every_position() {
    let cfg = config();
    let model = TransformerLm::llama(&cfg, 0).unwrap();
    let ids: Vec<i64> = (0..PROMPT as i64).map(|i| (i * 5) % 64).collect();
    let prompt = NamedArray::from_i64(&[("batch", 1), ("seq", PROMPT)], ids).unwrap();
    let options = GenerateOptions {
        max_new_tokens: NEW,
        ..GenerateOptions::default()
    };
    let mut steps: Vec<(usize, usize)> = Vec::new();
    take_counts();
    let out = generate_with_progress(&model, &prompt, &options, &mut |_, _| {
        steps.push(take_counts());
    })
    .unwrap();
    alloc_count::stop();
    assert_eq!(out.axis_size("seq"), Some(PROMPT + NEW));
    assert_eq!(steps.len(), NEW);

    // One layer's keys for the prompt alone: a decode step that concatenated or regrew a
    // cache would allocate at least this much at once.
    let prompt_keys_bytes = PROMPT * cfg.n_kv_heads * cfg.head_dim * 4;
    let (prompt_count, prompt_largest) = steps[0];
    assert!(
        prompt_largest >= (PROMPT + NEW) * cfg.n_kv_heads * cfg.head_dim * 4,
        "the prompt's step allocates the caches for the whole length; largest was {prompt_largest} B"
    );
    // The first decode step (steps[1]) may still warm up lazily made state. Every later
    // step makes about as many allocations as step 2 (a container of the context may grow
    // once in a while: a difference of one or two blocks, not one per layer), and none as
    // large as a layer's cached keys: a cache that concatenated or regrew would allocate
    // its whole length, larger than the prompt's keys, at every step.
    for (i, &(count, largest)) in steps.iter().enumerate().skip(2) {
        assert!(
            count.abs_diff(steps[2].0) <= 2,
            "decode step {i} made {count} allocations, step 2 made {} (prompt step: {prompt_count})",
            steps[2].0
        );
        assert!(
            largest < prompt_keys_bytes,
            "decode step {i} allocated a block of {largest} B, as large as a layer's cached keys ({prompt_keys_bytes} B)"
        );
    }
}

#[test]
fn the_cache_buffers_are_allocated_once_and_written_in_place() {
    let cfg = config();
    let model = TransformerLm::llama(&cfg, 0).unwrap();
    let path = select(model.as_dyn())
        .at_instances_of::<Attention>()
        .paths()
        .first()
        .cloned()
        .unwrap();
    let attention = model
        .get_at(&path)
        .unwrap()
        .downcast_ref::<Attention>()
        .cloned()
        .unwrap();
    let cached = KVCachingAttention::with_capacity(attention.clone(), PROMPT + NEW);
    let x = NamedArray::normal(
        3,
        &[("batch", 1), ("seq", PROMPT), ("embedding", 64)],
        0.0,
        1.0,
    )
    .unwrap();
    let mut cx = Context::new();
    cx.set_side_input(
        "token_positions",
        NamedArray::arange("seq", PROMPT).unwrap(),
    );
    cx.run(&cached, x.clone()).unwrap();
    let buffer = |cx: &Context| {
        let cache = cx.state::<KVCache>().unwrap();
        (
            match cache.keys.storage() {
                Storage::F32(keys) => keys.as_ptr(),
                other => panic!("keys are {:?}", other.dtype()),
            },
            cache.capacity("kv_seq"),
            cache.len,
        )
    };
    let (first_ptr, capacity, len) = buffer(&cx);
    assert_eq!((capacity, len), (PROMPT + NEW, PROMPT));
    for step in 0..NEW {
        let token = NamedArray::normal(
            10 + step as u64,
            &[("batch", 1), ("seq", 1), ("embedding", 64)],
            0.0,
            1.0,
        )
        .unwrap();
        let position = (PROMPT + step) as i64;
        cx.set_side_input(
            "token_positions",
            NamedArray::from_i64(&[("seq", 1)], vec![position]).unwrap(),
        );
        cx.run(&cached, token).unwrap();
        let (ptr, capacity, len) = buffer(&cx);
        assert_eq!(ptr, first_ptr, "step {step} moved the cache");
        assert_eq!((capacity, len), (PROMPT + NEW, PROMPT + step + 1));
    }
    // Past the capacity the cache regrows (to twice what is needed) instead of failing.
    let extra =
        NamedArray::normal(99, &[("batch", 1), ("seq", 2), ("embedding", 64)], 0.0, 1.0).unwrap();
    cx.set_side_input("token_positions", NamedArray::arange("seq", 2).unwrap());
    cx.run(&cached, extra).unwrap();
    let (_, capacity, len) = buffer(&cx);
    assert_eq!((capacity, len), (2 * (PROMPT + NEW + 2), PROMPT + NEW + 2));
}

#[test]
fn a_cached_run_matches_the_uncached_one() {
    let cfg = config();
    let model = TransformerLm::llama(&cfg, 0).unwrap();
    let ids: Vec<i64> = (0..PROMPT as i64).map(|i| (i * 5) % 64).collect();
    let prompt = NamedArray::from_i64(&[("batch", 1), ("seq", PROMPT)], ids).unwrap();
    let run = |use_kv_cache| {
        let options = GenerateOptions {
            max_new_tokens: 8,
            use_kv_cache,
            ..GenerateOptions::default()
        };
        penzai::models::generate(&model, &prompt, &options).unwrap()
    };
    assert_eq!(run(true).to_i64_vec(), run(false).to_i64_vec());
}
