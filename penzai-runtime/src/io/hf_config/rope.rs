//! RoPE settings of an HF config: the base wavelength and the frequency scheme, read from
//! `rope_scaling` (transformers 4.x, beside a top-level `rope_theta`) or `rope_parameters`
//! (transformers 5, holding `rope_theta` too), and written back in the 5 form.

use serde_json::{Map, Value, json};

use super::keys::Keys;
use crate::io::IoError;
use crate::nn::RopeScaling;

/// A config's RoPE: base wavelength and frequency scheme.
#[derive(Debug, Clone, PartialEq)]
pub struct HfRope {
    /// The base wavelength (`rope_theta`).
    pub theta: f64,
    /// The frequency scheme (`rope_type` and its parameters).
    pub scaling: RopeScaling,
    /// The fraction of each head's entries rotated (`partial_rotary_factor`, at top level or
    /// in the RoPE parameters; 1 when absent).
    pub partial_rotary_factor: f64,
}

impl HfRope {
    /// The `rope_parameters` object transformers 5 writes for this RoPE.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("rope_type".into(), self.scaling.rope_type().into());
        out.insert("rope_theta".into(), self.theta.into());
        if self.partial_rotary_factor != 1.0 {
            out.insert(
                "partial_rotary_factor".into(),
                self.partial_rotary_factor.into(),
            );
        }
        let f = |x: f32| Value::from(f64::from(x));
        match &self.scaling {
            RopeScaling::Default => {}
            RopeScaling::Linear { factor } => {
                out.insert("factor".into(), f(*factor));
            }
            RopeScaling::Dynamic { factor, .. } => {
                out.insert("factor".into(), f(*factor));
            }
            RopeScaling::Llama3 {
                factor,
                low_freq_factor,
                high_freq_factor,
                original_max_position_embeddings,
            } => {
                out.insert("factor".into(), f(*factor));
                out.insert("low_freq_factor".into(), f(*low_freq_factor));
                out.insert("high_freq_factor".into(), f(*high_freq_factor));
                out.insert(
                    "original_max_position_embeddings".into(),
                    (*original_max_position_embeddings).into(),
                );
            }
            RopeScaling::Yarn {
                factor,
                original_max_position_embeddings,
                beta_fast,
                beta_slow,
                attention_factor,
                truncate,
            } => {
                out.insert("factor".into(), f(*factor));
                out.insert(
                    "original_max_position_embeddings".into(),
                    (*original_max_position_embeddings).into(),
                );
                out.insert("beta_fast".into(), f(*beta_fast));
                out.insert("beta_slow".into(), f(*beta_slow));
                out.insert("attention_factor".into(), f(*attention_factor));
                out.insert("truncate".into(), (*truncate).into());
            }
            RopeScaling::LongRope {
                short_factor,
                long_factor,
                original_max_position_embeddings,
                attention_factor,
            } => {
                let list = |v: &[f32]| json!(v.iter().map(|&x| f64::from(x)).collect::<Vec<_>>());
                out.insert("short_factor".into(), list(short_factor));
                out.insert("long_factor".into(), list(long_factor));
                out.insert(
                    "original_max_position_embeddings".into(),
                    (*original_max_position_embeddings).into(),
                );
                out.insert("attention_factor".into(), f(*attention_factor));
            }
        }
        Value::Object(out)
    }
}

/// Reads the RoPE of a config: `rope_theta` (default `default_theta`) and the scheme of
/// `rope_parameters` or `rope_scaling`. `max_position_embeddings` is the config's, which
/// dynamic NTK scales from and YaRN and LongRoPE derive a default factor from.
pub(super) fn read(
    k: &mut Keys<'_>,
    default_theta: f64,
    max_position_embeddings: usize,
) -> Result<HfRope, IoError> {
    read_with(
        k,
        default_theta,
        1.0,
        max_position_embeddings,
        max_position_embeddings,
        false,
    )
}

/// [`read`] with the rotated fraction when no `partial_rotary_factor` is given (GPT-NeoX's
/// `rotary_pct`), the default `original_max_position_embeddings` (Phi-3 keeps it at top
/// level) and, when `longrope_aliases`, Phi-3's legacy names `su` and `yarn` for longrope.
pub(super) fn read_with(
    k: &mut Keys<'_>,
    default_theta: f64,
    default_partial: f64,
    max_position_embeddings: usize,
    default_original: usize,
    longrope_aliases: bool,
) -> Result<HfRope, IoError> {
    let top = k.positive_float("rope_theta")?;
    let top_partial = k.positive_float("partial_rotary_factor")?;
    let mut sources = Vec::new();
    for key in ["rope_parameters", "rope_scaling"] {
        if let Some(v) = k.get(key) {
            let Some(map) = v.as_object() else {
                return Err(k.wrong(key, "an object", v));
            };
            sources.push((key, map));
        }
    }
    let (theta, scaling, partial) = match sources.as_slice() {
        [] => (None, RopeScaling::Default, None),
        [(key, map)] => parse(
            k,
            key,
            map,
            max_position_embeddings,
            default_original,
            longrope_aliases,
        )?,
        [(key, map), (other, other_map)] => {
            let a = parse(
                k,
                key,
                map,
                max_position_embeddings,
                default_original,
                longrope_aliases,
            )?;
            let b = parse(
                k,
                other,
                other_map,
                max_position_embeddings,
                default_original,
                longrope_aliases,
            )?;
            if a.1 != b.1 {
                return Err(k.wrong(
                    other,
                    &format!("the same RoPE scheme as {key} ({})", a.1.rope_type()),
                    &Value::Object((*other_map).clone()),
                ));
            }
            (a.0.or(b.0), a.1, a.2.or(b.2))
        }
        _ => unreachable!("two keys at most"),
    };
    let theta = match (top, theta) {
        (Some(a), Some(b)) if a != b => {
            return Err(k.wrong(
                "rope_theta",
                &format!("the same value as rope_parameters.rope_theta = {b}"),
                &a.into(),
            ));
        }
        (a, b) => a.or(b).unwrap_or(default_theta),
    };
    let partial_rotary_factor = top_partial.or(partial).unwrap_or(default_partial);
    if partial_rotary_factor > 1.0 {
        return Err(k.wrong(
            "partial_rotary_factor",
            "a fraction in (0, 1]",
            &partial_rotary_factor.into(),
        ));
    }
    Ok(HfRope {
        theta,
        scaling,
        partial_rotary_factor,
    })
}

/// One RoPE parameter object, at config key `key`.
fn parse(
    k: &Keys<'_>,
    key: &str,
    map: &Map<String, Value>,
    max_position_embeddings: usize,
    default_original: usize,
    longrope_aliases: bool,
) -> Result<(Option<f64>, RopeScaling, Option<f64>), IoError> {
    let mut p = Params {
        k,
        key,
        map,
        read: Vec::new(),
    };
    let rope_type = match (p.str("rope_type")?, p.str("type")?) {
        (Some(a), _) => a,
        (None, Some(b)) => b,
        (None, None) => "default",
    };
    let rope_type = match rope_type {
        "su" | "yarn" if longrope_aliases => "longrope",
        other => other,
    };
    let theta = p.positive("rope_theta")?;
    let partial = p.positive("partial_rotary_factor")?;
    let original = |p: &mut Params<'_>| -> Result<usize, IoError> {
        Ok(match p.positive("original_max_position_embeddings")? {
            Some(x) => as_length(p, "original_max_position_embeddings", x)?,
            None => default_original,
        })
    };
    let scaling = match rope_type {
        "default" => RopeScaling::Default,
        "linear" => RopeScaling::Linear {
            factor: p.required("factor")? as f32,
        },
        "dynamic" => RopeScaling::Dynamic {
            factor: p.required("factor")? as f32,
            max_position_embeddings,
        },
        "llama3" => RopeScaling::Llama3 {
            factor: p.required("factor")? as f32,
            low_freq_factor: p.required("low_freq_factor")? as f32,
            high_freq_factor: p.required("high_freq_factor")? as f32,
            original_max_position_embeddings: original(&mut p)?,
        },
        "yarn" => {
            let orig = original(&mut p)?;
            let factor = match p.positive("factor")? {
                Some(f) => f,
                None => max_position_embeddings as f64 / orig as f64,
            };
            let mscale = |scale: f64, m: f64| {
                if scale <= 1.0 {
                    1.0
                } else {
                    0.1 * m * scale.ln() + 1.0
                }
            };
            let (m, m_all) = (p.positive("mscale")?, p.positive("mscale_all_dim")?);
            let attention_factor = match p.positive("attention_factor")? {
                Some(a) => a,
                None => match (m, m_all) {
                    (Some(m), Some(all)) => mscale(factor, m) / mscale(factor, all),
                    _ => mscale(factor, 1.0),
                },
            };
            RopeScaling::Yarn {
                factor: factor as f32,
                original_max_position_embeddings: orig,
                beta_fast: p.positive("beta_fast")?.unwrap_or(32.0) as f32,
                beta_slow: p.positive("beta_slow")?.unwrap_or(1.0) as f32,
                attention_factor: attention_factor as f32,
                truncate: p.bool("truncate")?.unwrap_or(true),
            }
        }
        "longrope" => {
            let orig = original(&mut p)?;
            let factor = match p.positive("factor")? {
                Some(f) => f,
                None => max_position_embeddings as f64 / orig as f64,
            };
            let attention_factor = match p.positive("attention_factor")? {
                Some(a) => a,
                None if factor <= 1.0 => 1.0,
                None => (1.0 + factor.ln() / (orig as f64).ln()).sqrt(),
            };
            RopeScaling::LongRope {
                short_factor: p.list("short_factor")?,
                long_factor: p.list("long_factor")?,
                original_max_position_embeddings: orig,
                attention_factor: attention_factor as f32,
            }
        }
        other => {
            return Err(k.unsupported(
                &format!("{key}.rope_type"),
                &other.into(),
                "RoPE types default, linear, dynamic, llama3, yarn and longrope are implemented",
            ));
        }
    };
    p.check_all_read(scaling.rope_type())?;
    Ok((theta, scaling, partial))
}

fn as_length(p: &Params<'_>, name: &str, x: f64) -> Result<usize, IoError> {
    if x.fract() == 0.0 && x < f64::from(u32::MAX) {
        Ok(x as usize)
    } else {
        Err(p.wrong(name, "a positive integer below 2^32", &x.into()))
    }
}

/// A RoPE parameter object with typed getters naming `key.param` in errors.
struct Params<'a> {
    k: &'a Keys<'a>,
    key: &'a str,
    map: &'a Map<String, Value>,
    read: Vec<&'static str>,
}

impl<'a> Params<'a> {
    fn get(&mut self, name: &'static str) -> Option<&Value> {
        self.read.push(name);
        self.map.get(name).filter(|v| !v.is_null())
    }

    fn wrong(&self, name: &str, expected: &str, found: &Value) -> IoError {
        self.k
            .wrong(&format!("{}.{name}", self.key), expected, found)
    }

    fn str(&mut self, name: &'static str) -> Result<Option<&'a str>, IoError> {
        let map: &'a Map<String, Value> = self.map;
        self.read.push(name);
        match map.get(name).filter(|v| !v.is_null()) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(v) => Err(self.wrong(name, "a string", v)),
        }
    }

    fn positive(&mut self, name: &'static str) -> Result<Option<f64>, IoError> {
        let Some(v) = self.get(name).cloned() else {
            return Ok(None);
        };
        match v.as_f64() {
            Some(x) if x.is_finite() && x > 0.0 => Ok(Some(x)),
            _ => Err(self.wrong(name, "a finite positive number", &v)),
        }
    }

    fn required(&mut self, name: &'static str) -> Result<f64, IoError> {
        self.positive(name)?
            .ok_or_else(|| IoError::MissingConfigKey {
                file: self.k.file.to_owned(),
                key: format!("{}.{name}", self.key),
            })
    }

    fn bool(&mut self, name: &'static str) -> Result<Option<bool>, IoError> {
        let Some(v) = self.get(name).cloned() else {
            return Ok(None);
        };
        v.as_bool()
            .map(Some)
            .ok_or_else(|| self.wrong(name, "a boolean", &v))
    }

    fn list(&mut self, name: &'static str) -> Result<Vec<f32>, IoError> {
        let Some(v) = self.get(name).cloned() else {
            return Err(IoError::MissingConfigKey {
                file: self.k.file.to_owned(),
                key: format!("{}.{name}", self.key),
            });
        };
        let items = v.as_array().and_then(|a| {
            a.iter()
                .map(|x| x.as_f64().filter(|f| f.is_finite() && *f > 0.0))
                .collect::<Option<Vec<f64>>>()
        });
        match items {
            Some(xs) => Ok(xs.into_iter().map(|x| x as f32).collect()),
            None => Err(self.wrong(name, "a list of finite positive numbers", &v)),
        }
    }

    /// Keys of the object this RoPE type does not read change the numerics in ways not
    /// implemented: an error naming the first.
    fn check_all_read(&self, rope_type: &str) -> Result<(), IoError> {
        match self
            .map
            .iter()
            .find(|(name, v)| !self.read.contains(&name.as_str()) && !v.is_null())
        {
            Some((name, v)) => Err(self.k.unsupported(
                &format!("{}.{name}", self.key),
                v,
                &format!("not a parameter of RoPE type {rope_type} that is implemented"),
            )),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rope(json: &str) -> Result<HfRope, IoError> {
        let value: Value = serde_json::from_str(json).unwrap();
        let map = value.as_object().unwrap();
        let mut keys = Keys::new("config.json", map);
        read(&mut keys, 10_000.0, 64)
    }

    #[test]
    fn reads_both_spellings_and_writes_the_new_one() {
        let old = rope(
            r#"{"rope_theta": 500000.0, "rope_scaling": {"rope_type": "llama3", "factor": 32.0,
               "low_freq_factor": 1.0, "high_freq_factor": 4.0,
               "original_max_position_embeddings": 8192}}"#,
        )
        .unwrap();
        let new = rope(&format!(r#"{{"rope_parameters": {}}}"#, old.to_json())).unwrap();
        assert_eq!(old, new);
        assert_eq!(new.theta, 500_000.0);
        let legacy = rope(r#"{"rope_scaling": {"type": "linear", "factor": 2.0}}"#).unwrap();
        assert_eq!(legacy.scaling, RopeScaling::Linear { factor: 2.0 });
    }

    #[test]
    fn unknown_types_and_parameters_are_errors_naming_the_key() {
        let err = rope(r#"{"rope_parameters": {"rope_type": "su", "rope_theta": 1.0}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("rope_parameters.rope_type"), "{err}");
        let err = rope(r#"{"rope_scaling": {"rope_type": "linear", "factor": 2.0, "beta": 1}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("rope_scaling.beta"), "{err}");
        let err = rope(r#"{"rope_scaling": {"rope_type": "llama3", "factor": 2.0}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("rope_scaling.low_freq_factor"), "{err}");
    }

    #[test]
    fn yarn_derives_its_attention_factor() {
        let r = rope(
            r#"{"rope_parameters": {"rope_type": "yarn", "factor": 4.0,
               "original_max_position_embeddings": 16}}"#,
        )
        .unwrap();
        let RopeScaling::Yarn {
            attention_factor, ..
        } = r.scaling
        else {
            panic!()
        };
        assert!((attention_factor - (0.1 * 4f32.ln() + 1.0)).abs() < 1e-6);
    }
}
