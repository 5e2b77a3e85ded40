//! Array visualization: a named-axis heatmap drawn in the browser from a compact spec.
//!
//! Rust decides everything that needs the whole array (axis placement, truncation,
//! colour range, encoding); the page's `arrayviz.js` only draws the spec and handles the
//! pointer, sliders and zoom.

mod layout;
mod payload;

use serde::Serialize;

use super::array_data::{ArrayData, ValueKind, Values, gather_row_major};
use crate::nx::NamedArray;

pub(crate) use payload::base64 as base64_of;
pub use payload::{JsonValue, Payload};

/// How float values are shipped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Precision {
    /// Exact up to [`EXACT_MAX_CELLS`] cells, one byte per cell above.
    #[default]
    Auto,
    /// Exact 32-bit values: hover shows the stored value.
    Exact,
    /// One byte per cell (251 levels between the finite min and max; NaN and ±inf kept):
    /// a quarter of the size, and hover shows the value to within one level.
    Compact,
    /// One text character (six bits) per cell: 61 levels between the finite min and max,
    /// NaN and ±inf kept, the range and colour bounds to four significant digits. For
    /// previews, where the colours matter and the page carries many of them.
    Coarse,
}

/// Above this many cells, [`Precision::Auto`] quantizes floats to one byte.
pub const EXACT_MAX_CELLS: usize = 1 << 16;

/// The colormap of a figure.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Colormap {
    /// Diverging around zero for signed floats (range ±max|x|, trimmed to three root mean
    /// squares so outliers show as out of range instead of washing out the rest),
    /// sequential from min to max for non-negative floats, categorical for integers and
    /// booleans.
    #[default]
    Auto,
    /// Blue below zero, white at zero, red above; symmetric range.
    Diverging,
    /// Dark to light from `vmin` to `vmax`.
    Sequential,
    /// One distinct colour per value.
    Categorical,
}

/// A heatmap of one array, built with options and rendered to HTML.
///
/// ```
/// use penzai::treescope::{ArrayData, ArrayFigure};
/// let data = ArrayData::from_f32(&[("seq", 4), ("embedding", 8)], (0..32).map(|i| i as f32 - 16.0).collect())?;
/// let html = ArrayFigure::new(data).rows(&["embedding"]).columns(&["seq"]).vmax(10.0).to_html();
/// assert!(html.contains("Content-Security-Policy"));
/// # Ok::<(), penzai::treescope::ShapeMismatch>(())
/// ```
#[derive(Clone, Debug)]
pub struct ArrayFigure<'a> {
    data: ArrayData<'a>,
    rows: Vec<String>,
    cols: Vec<String>,
    sliders: Vec<String>,
    vmin: Option<f64>,
    vmax: Option<f64>,
    colormap: Colormap,
    valid_mask: Option<Vec<bool>>,
    mask_note: Option<String>,
    max_cells: usize,
    edge_items: usize,
    precision: Precision,
    pixels_per_cell: Option<u32>,
    title: Option<String>,
}

/// The figure of `array` with default options; see [`ArrayFigure`].
pub fn render_array(array: &NamedArray) -> ArrayFigure<'_> {
    ArrayFigure::new(ArrayData::from_named(array))
}

/// What `arrayviz.js` draws: serialized into the page as JSON.
#[derive(Clone, Debug, Serialize)]
pub struct ArraySpec {
    /// Element kind.
    pub kind: ValueKind,
    /// Element type name (not serialized: the page needs only `kind`).
    #[serde(skip)]
    pub dtype: String,
    /// Axes in storage order.
    pub axes: Vec<AxisSpec>,
    /// Axes on rows, outermost first (positions in `axes`).
    pub rows: Vec<usize>,
    /// Axes on columns, outermost first.
    pub cols: Vec<usize>,
    /// Axes on sliders.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub sliders: Vec<usize>,
    /// The kept values, row-major over the kept entries of every axis.
    pub data: Payload,
    /// Validity of each kept value (`0` draws the cell as masked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mask: Option<Payload>,
    /// `diverging`, `sequential` or `categorical`.
    pub cmap: &'static str,
    /// Value at the low end of the colormap.
    #[serde(serialize_with = "crate::treescope::stats::short_f64")]
    pub vmin: f64,
    /// Value at the high end of the colormap.
    #[serde(serialize_with = "crate::treescope::stats::short_f64")]
    pub vmax: f64,
    /// Initial on-screen pixels per cell.
    pub zoom: u32,
    /// Caption above the figure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Notes shown under the figure (ignored options; the page adds truncation notes).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// One axis of an [`ArraySpec`]: the first `head` and last `tail` entries are kept.
/// Serialized as `[label, size, head, tail]`: a tree page carries one per preview axis.
#[derive(Clone, Debug)]
pub struct AxisSpec {
    /// The name, or `axis i` for a positional axis.
    pub label: String,
    /// Full size.
    pub size: usize,
    /// Entries kept from the start.
    pub head: usize,
    /// Entries kept from the end.
    pub tail: usize,
}

impl Serialize for AxisSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (&self.label, self.size, self.head, self.tail).serialize(s)
    }
}

impl<'a> ArrayFigure<'a> {
    /// A figure of `data` with default options.
    pub fn new(data: ArrayData<'a>) -> ArrayFigure<'a> {
        ArrayFigure {
            data,
            rows: Vec::new(),
            cols: Vec::new(),
            sliders: Vec::new(),
            vmin: None,
            vmax: None,
            colormap: Colormap::Auto,
            valid_mask: None,
            mask_note: None,
            max_cells: 1 << 18,
            edge_items: 3,
            precision: Precision::Auto,
            pixels_per_cell: None,
            title: None,
        }
    }

    /// Puts these axes on rows, outermost first (several axes make a faceted grid).
    pub fn rows(mut self, axes: &[&str]) -> Self {
        self.rows = axes.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Puts these axes on columns, outermost first.
    pub fn columns(mut self, axes: &[&str]) -> Self {
        self.cols = axes.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Puts these axes on sliders (one slice shown at a time).
    pub fn sliders(mut self, axes: &[&str]) -> Self {
        self.sliders = axes.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Value at the low end of the colormap (lower values are marked out of range).
    pub fn vmin(mut self, v: f64) -> Self {
        self.vmin = Some(v);
        self
    }

    /// Value at the high end of the colormap (higher values are marked out of range).
    pub fn vmax(mut self, v: f64) -> Self {
        self.vmax = Some(v);
        self
    }

    /// Chooses the colormap instead of the automatic choice.
    pub fn colormap(mut self, c: Colormap) -> Self {
        self.colormap = c;
        self
    }

    /// Marks cells whose entry is `false` as masked (row-major, same order as the data).
    /// A mask of the wrong length is ignored with a note.
    pub fn valid_mask(mut self, mask: Vec<bool>) -> Self {
        self.valid_mask = Some(mask);
        self
    }

    /// Marks cells where `mask` is false (or zero) as masked; `mask` must have the
    /// array's axes, in the same order. A mismatched mask is ignored with a note.
    pub fn valid_mask_array(mut self, mask: &NamedArray) -> Self {
        let m = ArrayData::from_named(mask);
        if m.axes() != self.data.axes() {
            self.valid_mask = Some(Vec::new());
            self.mask_note = Some(format!(
                "valid mask ignored: its shape {} differs from the array's {}",
                m.shape_text(),
                self.data.shape_text()
            ));
            return self;
        }
        self.valid_mask = Some((0..m.len()).map(|i| m.values().get_f64(i) != 0.0).collect());
        self
    }

    /// Most cells shipped; larger arrays keep their first and last entries per axis.
    pub fn max_cells(mut self, n: usize) -> Self {
        self.max_cells = n;
        self
    }

    /// Fewest entries kept at each end of a truncated axis.
    pub fn edge_items(mut self, n: usize) -> Self {
        self.edge_items = n;
        self
    }

    /// How float values are shipped.
    pub fn precision(mut self, p: Precision) -> Self {
        self.precision = p;
        self
    }

    /// Initial on-screen size of a cell, in pixels (1 to 32; the zoom slider changes it).
    pub fn pixels_per_cell(mut self, px: u32) -> Self {
        self.pixels_per_cell = Some(px.clamp(1, 32));
        self
    }

    /// A caption shown above the figure.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// The payload and colour range of the kept cells of a float array.
    fn float_payload(&self, kept_v: Vec<f32>) -> (Payload, Option<(f64, f64, f64)>) {
        let range = finite_range(&kept_v);
        let exact = match self.precision {
            Precision::Exact => true,
            Precision::Compact | Precision::Coarse => false,
            Precision::Auto => kept_v.len() <= EXACT_MAX_CELLS,
        };
        let p = if exact || kept_v.len() <= 64 {
            Payload::exact_f32(&kept_v)
        } else if self.precision == Precision::Coarse {
            Payload::coarse_f32(&kept_v)
        } else {
            Payload::quantized_f32(&kept_v)
        };
        (p, range)
    }

    /// The spec the page draws.
    pub fn spec(&self) -> ArraySpec {
        let axes = self.data.axes();
        let placement = layout::place(axes, &self.rows, &self.cols, &self.sliders);
        let sizes: Vec<usize> = axes.iter().map(|a| a.size).collect();
        let kept_counts = layout::truncate(&sizes, self.max_cells, self.edge_items);
        let kept: Vec<Vec<usize>> = sizes
            .iter()
            .zip(&kept_counts)
            .map(|(&s, &k)| layout::kept_indices(s, k))
            .collect();
        let truncated = kept_counts != sizes;
        let mut notes = Vec::new();
        // Truncation notes are written by the page from `head`/`tail`: previews in a tree
        // would otherwise repeat the same sentence hundreds of times.
        let axis_specs: Vec<AxisSpec> = axes
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let head = kept_counts[i].div_ceil(2).min(a.size);
                AxisSpec {
                    label: a.label(i),
                    size: a.size,
                    head,
                    tail: kept_counts[i].min(a.size) - head,
                }
            })
            .collect();
        for name in &placement.unknown {
            notes.push(format!("no axis named {name:?}; ignored"));
        }

        let kind = self.data.values_kind();
        // Only the kept cells are read, through the array's strides: a preview of a large
        // (possibly transposed, possibly 16-bit) array touches a few hundred values.
        let gathered;
        let kept_values = if !truncated && self.data.is_row_major() {
            self.data.values()
        } else {
            gathered = self.data.gather(&kept);
            &gathered
        };
        let (payload, finite_range) = match kept_values {
            Values::F32(v) => self.float_payload(v.to_vec()),
            Values::F16(v) => self.float_payload(v.iter().map(|&x| f32::from(x)).collect()),
            Values::BF16(v) => self.float_payload(v.iter().map(|&x| f32::from(x)).collect()),
            Values::I64(v) => {
                let range = v.iter().fold(None, |r: Option<(f64, f64, f64)>, &x| {
                    let x = x as f64;
                    Some(r.map_or((x, x, f64::INFINITY), |(lo, hi, t)| {
                        (lo.min(x), hi.max(x), t)
                    }))
                });
                (Payload::ints(v), range)
            }
            Values::Bool(v) => (Payload::bools(v), Some((0.0, 1.0, f64::INFINITY))),
        };
        let mask = self.valid_mask.as_ref().and_then(|m| {
            if let Some(note) = &self.mask_note {
                notes.push(note.clone());
                return None;
            }
            if m.len() != self.data.len() {
                notes.push(format!(
                    "valid mask ignored: it has {} entries, the array {}",
                    m.len(),
                    self.data.len()
                ));
                return None;
            }
            let kept_m = if truncated {
                gather_row_major(m, &sizes, &kept)
            } else {
                m.clone()
            };
            Some(Payload::bools(&kept_m))
        });
        let (cmap, mut vmin, mut vmax) = self.color_range(kind, finite_range);
        if self.precision == Precision::Coarse && kind == ValueKind::Float {
            // Automatic bounds widen to four digits, like the coarse payload's range.
            if self.vmin.is_none() {
                vmin = payload::round_out(vmin, false);
            }
            if self.vmax.is_none() {
                vmax = payload::round_out(vmax, true);
            }
        }
        let lines = |side: &[usize]| -> usize {
            side.iter()
                .map(|&i| kept_counts[i] + usize::from(kept_counts[i] < sizes[i]))
                .product::<usize>()
                .max(1)
        };
        let longest = lines(&placement.rows).max(lines(&placement.cols));
        let zoom = self
            .pixels_per_cell
            .unwrap_or_else(|| (640 / longest.max(1)).clamp(1, 16) as u32);
        ArraySpec {
            kind,
            dtype: self.data.dtype().to_owned(),
            axes: axis_specs,
            rows: placement.rows,
            cols: placement.cols,
            sliders: placement.sliders,
            data: payload,
            mask,
            cmap,
            vmin,
            vmax,
            zoom,
            title: self.title.clone(),
            notes,
        }
    }

    /// Picks the colormap and its range; explicit `vmin`/`vmax` win.
    fn color_range(
        &self,
        kind: ValueKind,
        range: Option<(f64, f64, f64)>,
    ) -> (&'static str, f64, f64) {
        let (lo, hi, trim) = range.unwrap_or((0.0, 1.0, f64::INFINITY));
        let cmap = match (self.colormap, kind) {
            (Colormap::Diverging, _) => "diverging",
            (Colormap::Sequential, _) => "sequential",
            (Colormap::Categorical, _) => "categorical",
            (Colormap::Auto, ValueKind::Int | ValueKind::Bool) => "categorical",
            (Colormap::Auto, ValueKind::Float) => {
                let signed = self.vmin.unwrap_or(lo) < 0.0 && self.vmax.unwrap_or(hi) > 0.0;
                if signed { "diverging" } else { "sequential" }
            }
        };
        let (mut vmin, mut vmax) = if cmap == "diverging" {
            let m = lo.abs().max(hi.abs()).min(trim);
            let m = if m > 0.0 { m } else { 1.0 };
            (-m, m)
        } else {
            (lo, hi)
        };
        if let Some(v) = self.vmin {
            vmin = v;
            if self.vmax.is_none() && cmap == "diverging" {
                vmax = -v;
            }
        }
        if let Some(v) = self.vmax {
            vmax = v;
            if self.vmin.is_none() && cmap == "diverging" {
                vmin = -v;
            }
        }
        (cmap, vmin, vmax)
    }

    /// The page title: the one set with [`title`](ArrayFigure::title), or the dtype and shape.
    /// (The HTML forms, `to_html` and friends, are written by the `html` renderer.)
    pub fn page_title(&self) -> String {
        self.title
            .clone()
            .unwrap_or_else(|| format!("{}{}", self.data.dtype(), self.data.shape_text()))
    }
}

/// The finite minimum and maximum, with the diverging bound trimmed to three root mean
/// squares so that a few outliers do not wash out the rest (they show as out of range).
fn finite_range(v: &[f32]) -> Option<(f64, f64, f64)> {
    let mut r: Option<(f32, f32)> = None;
    let (mut sq, mut n) = (0f64, 0usize);
    for &x in v.iter().filter(|x| x.is_finite()) {
        r = Some(r.map_or((x, x), |(lo, hi)| (lo.min(x), hi.max(x))));
        sq += (x as f64) * (x as f64);
        n += 1;
    }
    r.map(|(lo, hi)| (lo as f64, hi as f64, 3.0 * (sq / n as f64).sqrt()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gather_keeps_the_edges_of_every_axis() {
        let v: Vec<i64> = (0..20).collect();
        let got = gather_row_major(&v, &[4, 5], &[vec![0, 3], vec![0, 4]]);
        assert_eq!(got, vec![0, 4, 15, 19]);
    }

    #[test]
    fn a_truncated_preview_of_a_transposed_array_copies_nothing() {
        let stored = NamedArray::normal(0, &[("cols", 300), ("rows", 200)], 0.0, 1.0)
            .unwrap()
            .cast(crate::nx::DType::BF16)
            .unwrap();
        let logical = stored.order_as(&["rows", "cols"]).unwrap();
        let figure = ArrayFigure::new(ArrayData::from_named(&logical)).max_cells(256);
        assert!(!figure.data.is_row_major());
        let spec = figure.spec();
        assert!(
            spec.axes.iter().any(|a| a.head + a.tail < a.size),
            "truncated"
        );
        assert!(
            !figure.data.row_major_copied(),
            "the preview read only its kept cells"
        );
    }

    #[test]
    fn signed_floats_get_a_symmetric_diverging_range() {
        let data = ArrayData::from_f32(&[("x", 4)], vec![-1.0, 0.5, 2.0, 0.0]).unwrap();
        let spec = ArrayFigure::new(data).spec();
        assert_eq!((spec.cmap, spec.vmin, spec.vmax), ("diverging", -2.0, 2.0));
    }

    #[test]
    fn non_negative_floats_get_a_sequential_range_and_overrides_win() {
        let data = ArrayData::from_f32(&[("x", 3)], vec![1.0, 2.0, 3.0]).unwrap();
        let spec = ArrayFigure::new(data.clone()).spec();
        assert_eq!((spec.cmap, spec.vmin, spec.vmax), ("sequential", 1.0, 3.0));
        let spec = ArrayFigure::new(data).vmin(0.0).vmax(2.5).spec();
        assert_eq!((spec.vmin, spec.vmax), (0.0, 2.5));
    }

    #[test]
    fn large_arrays_are_truncated_with_a_note() {
        let data = ArrayData::from_f32(&[("a", 100), ("b", 100)], vec![0.5; 10_000]).unwrap();
        let spec = ArrayFigure::new(data).max_cells(1000).spec();
        assert_eq!((spec.axes[0].head, spec.axes[0].tail), (13, 12));
        assert_eq!((spec.axes[1].head, spec.axes[1].tail), (13, 12));
    }

    #[test]
    fn coarse_previews_take_one_character_per_cell_and_short_bounds() {
        let v: Vec<f32> = (0..1024)
            .map(|i| (i as f32 - 512.0) * 0.001234567)
            .collect();
        let data = ArrayData::from_f32(&[("a", 32), ("b", 32)], v).unwrap();
        let spec = ArrayFigure::new(data)
            .max_cells(256)
            .precision(Precision::Coarse)
            .spec();
        assert_eq!(spec.data.enc, "q6");
        let kept: usize = spec.axes.iter().map(|a| a.head + a.tail).product();
        assert!(spec.data.cells.as_ref().unwrap().len() <= kept);
        assert_eq!((spec.vmin, spec.vmax), (-0.6321, 0.6321));
        let json = serde_json::to_value(&spec).unwrap();
        assert_eq!(json["axes"][0], serde_json::json!(["a", 32, 8, 8]));
    }

    #[test]
    fn integers_and_booleans_are_categorical() {
        let ints = ArrayData::from_i64(&[("t", 3)], vec![5, 7, 5]).unwrap();
        assert_eq!(ArrayFigure::new(ints).spec().cmap, "categorical");
        let bools = ArrayData::from_bool(&[("m", 2)], vec![true, false]).unwrap();
        assert_eq!(ArrayFigure::new(bools).spec().cmap, "categorical");
    }
}
