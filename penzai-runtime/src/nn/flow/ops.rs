//! The axis-flow rules, as `const fn`s on [`AxisSet`]s: what a layer's signature does to
//! the axes, renames, checks, bodies that must end as they started, branches that must
//! agree, contractions and declared outputs. `model!` evaluates them at compile time,
//! [`check_flow`](crate::nn::check_flow) and every run at run time.

use super::axes::{Axis, AxisSet};
use super::error::FlowError;
use super::message::Place;
use super::signature::Signature;

/// The axes after a layer named `layer` with signature `sig`, given the axes `here` (which
/// come from `place`): the required and removed axes must be there (with the required
/// sizes), the added ones must not; removed axes go and added ones come. A required axis
/// leaves with the more precise of the two sizes.
pub const fn apply<'a>(
    here: &AxisSet<'a>,
    sig: &Signature<'a>,
    layer: &str,
    place: Place<'_>,
) -> Result<AxisSet<'a>, FlowError<'a>> {
    if here.overflowed() || sig.overflowed() {
        return Err(FlowError::too_many_axes(place));
    }
    let mut out = *here;
    let requires = sig.requires.as_slice();
    let mut i = 0;
    while i < requires.len() {
        let want = requires[i];
        match here.get(want.name) {
            Some(have) if have.size.agrees(want.size) => {
                out.insert(want);
            }
            _ => return Err(FlowError::needs_axis(layer, want, here, place)),
        }
        i += 1;
    }
    let removes = sig.removes.as_slice();
    let mut j = 0;
    while j < removes.len() {
        if out.remove(removes[j].name).is_none() {
            return Err(FlowError::needs_axis(
                layer,
                Axis::any(removes[j].name),
                here,
                place,
            ));
        }
        j += 1;
    }
    let adds = sig.adds.as_slice();
    let mut k = 0;
    while k < adds.len() {
        if out.contains(adds[k].name) {
            return Err(FlowError::adds_present(layer, adds[k].name, here, place));
        }
        if !out.insert(adds[k]) {
            return Err(FlowError::too_many_axes(place));
        }
        k += 1;
    }
    Ok(out)
}

/// The axes after renaming `from[i]` to `to[i]` (each keeps its size; renames happen at
/// once, so swaps work).
pub const fn rename<'a>(
    here: &AxisSet<'a>,
    from: &[&'a str],
    to: &[&'a str],
    layer: &str,
    place: Place<'_>,
) -> Result<AxisSet<'a>, FlowError<'a>> {
    let mut out = *here;
    let mut moved = AxisSet::new();
    let mut i = 0;
    while i < from.len() && i < to.len() {
        match out.remove(from[i]) {
            Some(axis) => {
                moved.insert(Axis {
                    name: to[i],
                    size: axis.size,
                });
            }
            None => {
                return Err(FlowError::needs_axis(
                    layer,
                    Axis::any(from[i]),
                    here,
                    place,
                ));
            }
        }
        i += 1;
    }
    let moved_list = moved.as_slice();
    let mut j = 0;
    while j < moved_list.len() {
        if out.contains(moved_list[j].name) {
            return Err(FlowError::adds_present(
                layer,
                moved_list[j].name,
                here,
                place,
            ));
        }
        if !out.insert(moved_list[j]) {
            return Err(FlowError::too_many_axes(place));
        }
        j += 1;
    }
    Ok(out)
}

/// A `CheckAxes` of `expected`: the axes must be exactly those (or include them, with
/// `allow_others`); from then on they are what both sides know.
pub const fn check<'a>(
    here: &AxisSet<'a>,
    expected: &AxisSet<'a>,
    allow_others: bool,
    place: Place<'_>,
) -> Result<AxisSet<'a>, FlowError<'a>> {
    let fits = if allow_others {
        includes(here, expected)
    } else {
        expected.agrees_with(here)
    };
    if !fits {
        return Err(FlowError::check_failed(expected, here, place));
    }
    let mut out = *here;
    let want = expected.as_slice();
    let mut i = 0;
    while i < want.len() {
        out.insert(want[i]);
        i += 1;
    }
    Ok(out)
}

/// Whether `here` has every axis of `wanted`, with agreeing sizes.
pub const fn includes(here: &AxisSet<'_>, wanted: &AxisSet<'_>) -> bool {
    let want = wanted.as_slice();
    let mut i = 0;
    while i < want.len() {
        match here.get(want[i].name) {
            Some(have) if have.size.agrees(want[i].size) => {}
            _ => return false,
        }
        i += 1;
    }
    true
}

/// A body that must end as it started (a residual, a repeated block; `what` names it):
/// its start, or the error when `end` differs.
pub const fn end_as_started<'a>(
    start: &AxisSet<'a>,
    end: &AxisSet<'a>,
    what: &str,
) -> Result<AxisSet<'a>, FlowError<'a>> {
    if start.agrees_with(end) {
        Ok(*start)
    } else {
        Err(FlowError::ends_differently(what, start, end))
    }
}

/// Branch `index` of the combinator `layer` ends with `other`; the first one with `first`.
pub const fn branches_agree<'a>(
    first: &AxisSet<'a>,
    other: &AxisSet<'a>,
    index: usize,
    layer: &str,
) -> Result<AxisSet<'a>, FlowError<'a>> {
    if first.agrees_with(other) {
        Ok(*first)
    } else {
        Err(FlowError::branches_differ(layer, first, index, other))
    }
}

/// The model ends with `end` and declares `declared`.
pub const fn output<'a>(
    end: &AxisSet<'a>,
    declared: &AxisSet<'a>,
) -> Result<AxisSet<'a>, FlowError<'a>> {
    if declared.agrees_with(end) {
        Ok(*declared)
    } else {
        Err(FlowError::output_differs(declared, end))
    }
}

/// The axes of a contraction of `a` and `b` over `axis`: both keep their other axes (shared
/// ones once). `None` when either lacks `axis`.
pub const fn contract<'a>(a: &AxisSet<'a>, b: &AxisSet<'a>, axis: &str) -> Option<AxisSet<'a>> {
    if !a.contains(axis) || !b.contains(axis) {
        return None;
    }
    let mut out = *a;
    out.remove(axis);
    let theirs = b.as_slice();
    let mut i = 0;
    while i < theirs.len() {
        if !super::message::str_eq(theirs[i].name, axis) {
            out.insert(theirs[i]);
        }
        i += 1;
    }
    Some(out)
}

/// The size of `axis` here, which `layer` needs to build its parameters: an error when it
/// is not stated. A missing axis gives `Ok(None)`: the layer's requirements report it.
pub const fn size_of<'a>(
    here: &AxisSet<'a>,
    axis: &'a str,
    layer: &str,
    place: Place<'_>,
) -> Result<Option<Axis<'a>>, FlowError<'a>> {
    match here.get(axis) {
        None => Ok(None),
        Some(found) if found.size.is_stated() => Ok(Some(found)),
        Some(_) => Err(FlowError::unknown_size(layer, axis, place)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INPUT: AxisSet<'static> =
        AxisSet::of(&[Axis::any("batch"), Axis::sized("embedding", 64)]);
    const UP: Signature<'static> = Signature::new()
        .require(Axis::sized("embedding", 64))
        .remove("embedding")
        .add(Axis::sized("hidden", 256));

    #[test]
    fn a_signature_removes_and_adds_axes() {
        const AFTER: AxisSet<'static> = match apply(&INPUT, &UP, "Up", Place::Input) {
            Ok(axes) => axes,
            Err(_) => AxisSet::EMPTY,
        };
        assert_eq!(AFTER.to_string(), "[batch, hidden: 256]");
    }

    #[test]
    fn a_missing_axis_is_reported() {
        let after = apply(&INPUT, &UP, "Up", Place::Input).unwrap();
        let err = apply(&after, &UP, "Up", Place::of_step(1, Some("up"), "", true)).unwrap_err();
        assert_eq!(
            err.as_str(),
            "Up needs input axis 'embedding' of size 64, but the axes here are [batch, hidden: 256] (after step 0 'up')"
        );
    }

    #[test]
    fn renames_keep_sizes_and_allow_swaps() {
        let two = AxisSet::of(&[Axis::sized("a", 1), Axis::sized("b", 2)]);
        let swapped = rename(&two, &["a", "b"], &["b", "a"], "RenameAxes", Place::Input).unwrap();
        assert_eq!(swapped.get("a"), Some(Axis::sized("a", 2)));
        let clash = rename(&two, &["a"], &["b"], "RenameAxes", Place::Input).unwrap_err();
        assert!(clash.as_str().starts_with("RenameAxes adds axis 'b'"));
    }

    #[test]
    fn contraction_keeps_both_sides_other_axes() {
        let q = AxisSet::of(&[Axis::any("seq"), Axis::sized("heads", 4), Axis::any("proj")]);
        let k = AxisSet::of(&[
            Axis::any("kv_seq"),
            Axis::sized("heads", 4),
            Axis::any("proj"),
        ]);
        assert_eq!(
            contract(&q, &k, "proj").unwrap().to_string(),
            "[seq, heads: 4, kv_seq]"
        );
        assert!(contract(&q, &k, "seq").is_none());
    }

    #[test]
    fn sizes_are_read_from_the_flow() {
        assert_eq!(
            size_of(&INPUT, "embedding", "RMSNorm", Place::Input).unwrap(),
            Some(Axis::sized("embedding", 64))
        );
        assert!(size_of(&INPUT, "batch", "RMSNorm", Place::Input).is_err());
        assert_eq!(
            size_of(&INPUT, "seq", "RMSNorm", Place::Input).unwrap(),
            None
        );
    }
}
