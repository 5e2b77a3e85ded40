//! How `Attention` reads as a `model!` step: its plan follows the slots it builds, with the
//! same rules and the same wording as [`Attention::flow`](crate::nn::Layer::flow) on a
//! built attention.

use crate::Result;
use crate::nn::flow::{
    AxesForm, Axis, AxisSet, Blame, Flow, FlowError, Literal, Message, ModelStep, OptionSyntax,
    Place, Planner, Signature, StepBuild, StepInput, Syntax, Written, ops,
};
use crate::nn::mask::{checked_window, window_mistake};
use crate::nn::rope::odd_rotation;
use crate::nn::{
    AnyLayer, ApplyCausalMask, ApplyCausalSlidingWindowMask, ApplyRoPE, ConstantRescale,
    Initializer, Linear, RenameAxes, Sequential, Softmax, Steps,
};

use super::Attention;
use crate::nn::flow::str_eq;

/// The axis queries run along, renamed for keys and values.
const SEQ: &str = "seq";
/// The axis keys and values run along.
const KV_SEQ: &str = "kv_seq";

const SYNTAX: Syntax = Syntax {
    example: "Attention(embedding: 64 -> heads: 4, projection: 16, mask = causal)",
    axes: AxesForm::Arrow,
    values: 0,
    bare: false,
    options: &[
        OptionSyntax::word("mask", &["causal", "none"]),
        OptionSyntax::value("window"),
        OptionSyntax::value("rope"),
        OptionSyntax::axes("kv"),
        OptionSyntax::INIT,
        OptionSyntax::SEED,
    ],
};

/// The signature of the mask a step asks for (`mask = causal` or `window = ..`), if any.
const fn mask_signature(step: &Written<'_>) -> Option<Signature<'static>> {
    let causal = matches!(step.option("mask"), Some((_, Literal::Word(w))) if str_eq(w, "causal"));
    if causal || step.option("window").is_some() {
        Some(
            Signature::new()
                .require(Axis::any(SEQ))
                .require(Axis::any(KV_SEQ)),
        )
    } else {
        None
    }
}

/// `Attention(inputs -> heads.., per_head, ..)`.
const fn plan(input: &Flow<'static>, step: &Written<'_>) -> Flow<'static> {
    let mut p = Planner::new(input, step, &SYNTAX);
    let heads = step.after;
    let kv = match step.option("kv") {
        Some((_, Literal::Axes(kv))) => kv,
        _ => heads,
    };
    p.need_distinct(step.before, "the inputs of `Attention`");
    p.need_distinct(heads, "the head axes of `Attention`");
    let mut i = 0;
    while i < heads.len() {
        if AxisSet::of(step.before).contains(heads[i].name) {
            let mut m = Message::new();
            m.push("head axis ").quoted(heads[i].name);
            m.push(" is also an input axis of `Attention`: the heads need names of their own");
            p.fail_with(m, Blame::After(i));
        }
        i += 1;
    }
    if !p.failed() {
        need_head_sizes(&mut p, heads);
        need_head_sizes(&mut p, kv);
    }
    if let Some((at, _)) = step.option("kv") {
        check_kv_heads(&mut p, heads, kv, at);
    }
    if let Some((
        at,
        Literal::Number {
            value,
            integer,
            text,
        },
    )) = step.option("window")
        && let Some(m) = window_mistake(value, integer, text)
    {
        p.fail_with(m, Blame::OptionArg(at));
    }
    if let (Some((at, Literal::Word(w))), Some(_)) = (step.option("mask"), step.option("window"))
        && str_eq(w, "none")
    {
        let m = Message::of("a sliding window is a causal mask: drop `mask = none`");
        p.fail_with(m, Blame::OptionArg(at));
    }
    p.need_sizes(step.before);
    if p.failed() {
        return p.finish();
    }
    let result = follow(p.input(), step, heads, kv);
    p.set_result(result);
    if let (Some((at, _)), Some(per_head)) = (step.option("rope"), last(heads))
        && let Some(e) = odd_rotation("Attention", per_head)
    {
        p.fail_flow(e, Blame::OptionArg(at), false);
    }
    p.finish()
}

const fn last<'a>(axes: &[Axis<'a>]) -> Option<Axis<'a>> {
    match axes.split_last() {
        Some((last, _)) => Some(*last),
        None => None,
    }
}

/// Every head axis needs its size written: the weights are built from it.
const fn need_head_sizes(p: &mut Planner<'_>, axes: &[Axis<'static>]) {
    let mut i = 0;
    while i < axes.len() {
        if !axes[i].size.is_stated() {
            let mut m = Message::new();
            m.push("Attention needs the size of head axis ")
                .quoted(axes[i].name);
            m.push(" to build its weights: write `")
                .push(axes[i].name)
                .push(": 16`");
            let at = match p.step().blame_of(axes[i].name) {
                Some(b) => b,
                None => Blame::Step,
            };
            p.fail_with(m, at);
        }
        i += 1;
    }
}

/// Keys and values of grouped-query attention use some of the queries' head axes (with
/// the queries' sizes), ending with the same per-head axis.
const fn check_kv_heads(
    p: &mut Planner<'_>,
    heads: &[Axis<'static>],
    kv: &[Axis<'static>],
    at: usize,
) {
    let queries = AxisSet::of(heads);
    let (Some(per_head), Some(kv_last)) = (last(heads), last(kv)) else {
        return;
    };
    if !str_eq(kv_last.name, per_head.name) {
        let mut m = Message::new();
        m.push("the key/value axes must end with the queries' per-head axis ")
            .quoted(per_head.name);
        p.fail_with(m, Blame::OptionArg(at));
        return;
    }
    let mut i = 0;
    while i < kv.len() {
        match queries.get(kv[i].name) {
            None => {
                let mut m = Message::new();
                m.push("key/value axis ").quoted(kv[i].name);
                m.push(" is not one of the query head axes; grouped-query attention shares the queries' axes (`kv = [kv_heads: 2, projection: 16]` with queries `kv_heads: 2, q_per_kv: 2, projection: 16`)");
                p.fail_with(m, Blame::OptionArg(at));
            }
            Some(q) if !q.size.agrees(kv[i].size) => {
                let mut m = Message::new();
                m.push("key/value axis ").quoted(kv[i].name);
                m.push(" must have the size the queries give it");
                p.fail_with(m, Blame::OptionArg(at));
            }
            Some(_) => {}
        }
        i += 1;
    }
}

/// The axes through the slots `build` makes, as [`Attention::flow`] follows them: a
/// mistake the input causes is Attention's own.
const fn follow(
    x: &AxisSet<'static>,
    step: &Written<'_>,
    heads: &[Axis<'static>],
    kv: &[Axis<'static>],
) -> Result<AxisSet<'static>, FlowError<'static>> {
    let place = step.place;
    let inputs = AxisSet::of(step.before);
    let (queries, keys) = (AxisSet::of(heads), AxisSet::of(kv));
    let Some(per_head) = last(heads) else {
        return Ok(*x);
    };
    let q = inside(
        x,
        ops::apply(
            x,
            &Linear::signature_of(&inputs, &queries, &AxisSet::new()),
            "Linear",
            place,
        ),
        place,
    );
    let q = match q {
        Ok(q) => q,
        Err(e) => return Err(e),
    };
    let project_kv = Linear::signature_of(&inputs, &keys, &AxisSet::new());
    let k = match inside(x, ops::apply(x, &project_kv, "Linear", place), place) {
        Ok(k) => k,
        Err(e) => return Err(e),
    };
    let k = match inside(x, RenameAxes::rename(&k, &[SEQ], &[KV_SEQ], place), place) {
        Ok(k) => k,
        Err(e) => return Err(e),
    };
    let Some(scores) = ops::contract(&q, &k, per_head.name) else {
        return Ok(*x);
    };
    let scores = match mask_signature(step) {
        Some(sig) => match inside(
            x,
            ops::apply(&scores, &sig, "ApplyCausalMask", place),
            place,
        ) {
            Ok(s) => s,
            Err(e) => return Err(e),
        },
        None => scores,
    };
    let Some(mixed) = ops::contract(&scores, &k, KV_SEQ) else {
        return Ok(*x);
    };
    let back = Linear::signature_of(&queries, &inputs, &AxisSet::new());
    inside(x, ops::apply(&mixed, &back, "Linear", place), place)
}

/// A step's mistake inside attention, as Attention's when the input `x` causes it.
const fn inside(
    x: &AxisSet<'static>,
    result: Result<AxisSet<'static>, FlowError<'static>>,
    place: Place<'static>,
) -> Result<AxisSet<'static>, FlowError<'static>> {
    match result {
        Ok(axes) => Ok(axes),
        Err(e) => match FlowError::as_input_mistake(&e, "Attention", x, place) {
            Some(mine) => Err(mine),
            None => Err(e),
        },
    }
}

impl<S: StepInput> ModelStep<S> for Attention {
    const FLOW: Flow<'static> = plan(&S::FLOW, &S::STEP);

    fn plan(input: &Flow<'static>, step: &Written<'_>) -> Flow<'static> {
        plan(input, step)
    }

    fn build(step: &StepBuild<'_>) -> Result<Attention> {
        let heads = step.step.after;
        let kv = step.step.option_axes("kv");
        let kv = if kv.is_empty() { heads } else { kv };
        let per_head = last(heads).ok_or_else(|| {
            crate::nn::LayerError::Config("Attention needs at least one head axis".into())
        })?;
        let input = step.sized(step.step.before)?;
        let (queries, keys) = (step.sized(heads)?, step.sized(kv)?);
        let head_size = step.sized(&[per_head])?[0].1;
        let init = step.init_or(Initializer::XAVIER_UNIFORM);
        let linear = |slot: &str, from: &[(&str, usize)], to: &[(&str, usize)]| {
            let label = format!("{}.{slot}", step.label);
            Linear::new(step.seed, &label, from, to, &[], init).map(AnyLayer::new)
        };
        let rope = step
            .option_number("rope")?
            .map(|theta| ApplyRoPE::new(per_head.name, theta as f32).map(AnyLayer::new))
            .transpose()?;
        let rename = || AnyLayer::new(RenameAxes::new(SEQ, KV_SEQ));
        let mut query = vec![("proj", linear("query.proj", &input, &queries)?)];
        query.extend(rope.clone().map(|r| ("rope", r)));
        query.push((
            "scale",
            AnyLayer::new(ConstantRescale {
                by: 1.0 / (head_size as f32).sqrt(),
            }),
        ));
        let mut key = vec![("proj", linear("key.proj", &input, &keys)?)];
        key.extend(rope.map(|r| ("rope", r)));
        key.push(("rename", rename()));
        let value = vec![
            ("proj", linear("value.proj", &input, &keys)?),
            ("rename", rename()),
        ];
        let mut scores = Vec::new();
        match (step.option_word("mask"), step.option_number("window")?) {
            (_, Some(window)) => scores.push((
                "mask",
                AnyLayer::new(ApplyCausalSlidingWindowMask::new(checked_window(window)?)),
            )),
            (Some("causal"), None) => {
                scores.push(("mask", AnyLayer::new(ApplyCausalMask::default())));
            }
            _ => {}
        }
        scores.push(("softmax", AnyLayer::new(Softmax::over(KV_SEQ))));
        let sequence = |steps: Vec<(&str, AnyLayer)>| -> Result<AnyLayer> {
            Ok(AnyLayer::new(Sequential {
                steps: Steps::named(steps)?,
            }))
        };
        Ok(Attention {
            query: sequence(query)?,
            key: sequence(key)?,
            value: sequence(value)?,
            scores: sequence(scores)?,
            output: linear("output", &queries, &input)?,
            head_axis: per_head.name.into(),
            kv_axis: KV_SEQ.into(),
        })
    }
}
