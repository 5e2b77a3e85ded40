//! Options written `key = value` after a built-in layer's arguments: which layer takes
//! which, and how each value is read.

use syn::parse::ParseStream;
use syn::{Expr, Ident, Token, token};

use super::builtin::{Layer, Mask, example};
use crate::axis_list::{AxisList, starts_option};
use crate::ctxt::Ctxt;

/// The options given to one layer.
#[derive(Default)]
pub struct Slots {
    pub seed: Option<Expr>,
    pub init: Option<Expr>,
    eps: Option<Expr>,
    theta: Option<Expr>,
    window: Option<Expr>,
    rope: Option<Expr>,
    mask: Option<(Ident, Mask)>,
    parallel: Option<AxisList>,
    kv: Option<AxisList>,
}

fn allowed_options(name: &str) -> &'static [&'static str] {
    match name {
        "Linear" => &["parallel", "init", "seed"],
        "Affine" | "AddBias" => &["init", "seed"],
        "RMSNorm" | "LayerNorm" => &["eps", "seed"],
        "Standardize" | "RMSStandardize" => &["eps"],
        "ApplyRoPE" => &["theta"],
        "ApplyCausalMask" => &["window"],
        "Attention" => &["mask", "rope", "kv", "init", "seed"],
        _ => &[],
    }
}

/// Parses the options after a layer's positional arguments into `slots`, recording
/// options the layer does not have.
pub fn parse(cx: &Ctxt, name: &str, input: ParseStream, slots: &mut Slots) -> syn::Result<()> {
    let allowed = allowed_options(name);
    let mut first = true;
    while !input.is_empty() {
        if !first || !starts_option(input) {
            input.parse::<Token![,]>().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    format!("unexpected tokens after the arguments: {}", example(name)),
                )
            })?;
            if input.is_empty() {
                break;
            }
        }
        first = false;
        if !starts_option(input) {
            return Err(input.error(format!(
                "expected an option `name = value`{}",
                list_options(allowed)
            )));
        }
        let key: Ident = input.parse()?;
        input.parse::<Token![=]>()?;
        let key_name = key.to_string();
        if !allowed.contains(&key_name.as_str()) {
            cx.error_spanned_by(
                &key,
                format!(
                    "`{name}` has no option `{key_name}`{}",
                    list_options(allowed)
                ),
            );
            // Read the value anyway, so later options are still checked.
            if input.peek(token::Bracket) {
                input.parse::<AxisList>()?;
            } else {
                input.parse::<Expr>()?;
            }
            continue;
        }
        let duplicate = match key_name.as_str() {
            "parallel" => slots.parallel.replace(input.parse()?).is_some(),
            "kv" => slots.kv.replace(input.parse()?).is_some(),
            "mask" => slots
                .mask
                .replace((key.clone(), parse_mask(input)?))
                .is_some(),
            other => {
                let value: Expr = input.parse()?;
                let slot = match other {
                    "seed" => &mut slots.seed,
                    "init" => &mut slots.init,
                    "eps" => &mut slots.eps,
                    "theta" => &mut slots.theta,
                    "window" => &mut slots.window,
                    _ => &mut slots.rope,
                };
                slot.replace(value).is_some()
            }
        };
        if duplicate {
            cx.error_spanned_by(&key, format!("option `{key_name}` is given twice"));
        }
    }
    Ok(())
}

fn list_options(allowed: &[&str]) -> String {
    if allowed.is_empty() {
        "; this layer takes no options".to_owned()
    } else {
        format!(
            "; its options are {}",
            allowed
                .iter()
                .map(|o| format!("`{o}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

fn parse_mask(input: ParseStream) -> syn::Result<Mask> {
    let kind: Ident = input.parse()?;
    match kind.to_string().as_str() {
        "none" => Ok(Mask::None),
        "causal" => Ok(Mask::Causal),
        "window" => {
            let content;
            syn::parenthesized!(content in input);
            Ok(Mask::Window(Box::new(content.parse()?)))
        }
        other => Err(syn::Error::new_spanned(
            &kind,
            format!("unknown mask `{other}`: use `causal`, `window(128)` or `none`"),
        )),
    }
}

pub fn apply(mut layer: Layer, slots: &mut Slots) -> Layer {
    match &mut layer {
        Layer::Linear { parallel, .. } => {
            if let Some(list) = slots.parallel.take() {
                *parallel = list.axes;
            }
        }
        Layer::Norm { eps, .. } => *eps = slots.eps.take(),
        Layer::ApplyRoPE { theta, .. } => *theta = slots.theta.take(),
        Layer::CausalMask { window } => *window = slots.window.take(),
        Layer::Attention(attn) => {
            attn.rope = slots.rope.take();
            attn.kv = slots.kv.take().map(|l| l.axes);
            if let Some((_, mask)) = slots.mask.take() {
                attn.mask = mask;
            }
        }
        _ => {}
    }
    layer
}
