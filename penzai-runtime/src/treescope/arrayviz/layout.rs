//! Where each axis goes (rows, columns, sliders) and how much of it is kept.

use super::super::array_data::Axis;

/// The axes of a figure by role, as axis positions, outermost first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Placement {
    pub rows: Vec<usize>,
    pub cols: Vec<usize>,
    pub sliders: Vec<usize>,
    /// Requested axis names that the array does not have.
    pub unknown: Vec<String>,
}

/// The most axes placed automatically on one side; more would make an unreadable grid.
const AUTO_AXES_PER_SIDE: usize = 2;

/// A faceted grid stays under this many cells when axes are added automatically; the
/// remaining axes go on sliders.
const AUTO_GRID_CELLS: usize = 1 << 16;

fn resolve(
    axes: &[Axis],
    names: &[String],
    taken: &mut [bool],
    unknown: &mut Vec<String>,
) -> Vec<usize> {
    let mut out = Vec::new();
    for name in names {
        let found = axes
            .iter()
            .enumerate()
            .position(|(i, a)| a.label(i) == *name || a.name.as_deref() == Some(name.as_str()));
        match found {
            Some(i) if !taken[i] => {
                taken[i] = true;
                out.push(i);
            }
            Some(_) => {}
            None => unknown.push(name.clone()),
        }
    }
    out
}

/// Places the axes: requested ones where asked, the two largest others as the inner row
/// and column axes (the later one in storage order on columns, as in a matrix), further
/// axes as outer facets while the grid stays small, and the rest on sliders.
pub(crate) fn place(
    axes: &[Axis],
    rows: &[String],
    cols: &[String],
    sliders: &[String],
) -> Placement {
    let mut taken = vec![false; axes.len()];
    let mut unknown = Vec::new();
    let mut p = Placement {
        rows: resolve(axes, rows, &mut taken, &mut unknown),
        cols: resolve(axes, cols, &mut taken, &mut unknown),
        sliders: resolve(axes, sliders, &mut taken, &mut unknown),
        unknown: Vec::new(),
    };
    p.unknown = unknown;
    let explicit = !p.rows.is_empty() || !p.cols.is_empty();
    let mut free: Vec<usize> = (0..axes.len()).filter(|&i| !taken[i]).collect();
    // Largest first; on ties the later axis, so a square matrix keeps rows then columns.
    free.sort_by(|&a, &b| axes[b].size.cmp(&axes[a].size).then(b.cmp(&a)));

    let mut inner = Vec::new();
    if p.cols.is_empty() && !free.is_empty() {
        inner.push(free.remove(0));
    }
    if p.rows.is_empty() && !free.is_empty() && (!explicit || !p.cols.is_empty()) {
        inner.push(free.remove(0));
    }
    inner.sort_unstable();
    match (p.rows.is_empty(), p.cols.is_empty(), inner.as_slice()) {
        (true, true, [r, c]) => {
            p.rows.push(*r);
            p.cols.push(*c);
        }
        (true, true, [c]) => p.cols.push(*c),
        (_, true, [c]) => p.cols.push(*c),
        (true, _, [r]) => p.rows.push(*r),
        _ => {}
    }

    let side = |v: &[usize]| v.iter().map(|&i| axes[i].size).product::<usize>();
    for i in free {
        if explicit {
            p.sliders.push(i);
            continue;
        }
        let (r, c) = (side(&p.rows), side(&p.cols));
        let rows_free = p.rows.len() < AUTO_AXES_PER_SIDE;
        let cols_free = p.cols.len() < AUTO_AXES_PER_SIDE;
        // Facet the shorter side first, so the grid stays roughly square.
        let target = match (r <= c, rows_free, cols_free) {
            (true, true, _) | (false, true, false) => Some(&mut p.rows),
            (false, _, true) | (true, false, true) => Some(&mut p.cols),
            _ => None,
        };
        match target {
            // Outer facets go in front: the inner axes stay the finest grid.
            Some(side) if r * c * axes[i].size <= AUTO_GRID_CELLS => side.insert(0, i),
            _ => p.sliders.push(i),
        }
    }
    p.sliders.sort_unstable();
    p
}

/// Number of entries kept per axis so that the kept cells fit `max_cells`.
///
/// The largest kept axis is halved until the product fits; an axis never drops below
/// `2 * min_edge` entries (its first and last `min_edge`). Returns the kept counts.
pub(crate) fn truncate(sizes: &[usize], max_cells: usize, min_edge: usize) -> Vec<usize> {
    let mut kept = sizes.to_vec();
    let floor = (2 * min_edge).max(1);
    loop {
        let total = kept
            .iter()
            .try_fold(1usize, |n, &k| n.checked_mul(k))
            .unwrap_or(usize::MAX);
        if total <= max_cells.max(1) {
            return kept;
        }
        let largest = kept
            .iter()
            .enumerate()
            .filter(|&(_, &k)| k > floor)
            .max_by_key(|&(i, &k)| (k, usize::MAX - i))
            .map(|(i, _)| i);
        match largest {
            Some(i) => kept[i] = (kept[i] / 2).max(floor),
            None => return kept,
        }
    }
}

/// The original indices kept along an axis of `size` when `kept` entries are kept:
/// the first half and the last half.
pub(crate) fn kept_indices(size: usize, kept: usize) -> Vec<usize> {
    if kept >= size {
        return (0..size).collect();
    }
    let head = kept.div_ceil(2);
    let tail = kept - head;
    (0..head).chain(size - tail..size).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axes(spec: &[(&str, usize)]) -> Vec<Axis> {
        spec.iter()
            .map(|&(n, s)| Axis {
                name: Some(n.to_owned()),
                size: s,
            })
            .collect()
    }

    #[test]
    fn a_matrix_puts_its_first_axis_on_rows() {
        let p = place(&axes(&[("in", 4), ("out", 8)]), &[], &[], &[]);
        assert_eq!((p.rows, p.cols), (vec![0], vec![1]));
        let p = place(&axes(&[("in", 8), ("out", 4)]), &[], &[], &[]);
        assert_eq!((p.rows, p.cols), (vec![0], vec![1]));
    }

    #[test]
    fn small_extra_axes_become_facets_and_large_ones_sliders() {
        let p = place(
            &axes(&[("heads", 4), ("seq", 16), ("dim", 32)]),
            &[],
            &[],
            &[],
        );
        assert_eq!((p.rows.clone(), p.cols.clone()), (vec![0, 1], vec![2]));
        let p = place(
            &axes(&[("batch", 64), ("seq", 512), ("dim", 512)]),
            &[],
            &[],
            &[],
        );
        assert_eq!(p.sliders, vec![0]);
    }

    #[test]
    fn requested_axes_win_and_unknown_names_are_reported() {
        let p = place(
            &axes(&[("a", 2), ("b", 3), ("c", 4)]),
            &["c".into()],
            &["a".into(), "zz".into()],
            &[],
        );
        assert_eq!((p.rows, p.cols, p.sliders), (vec![2], vec![0], vec![1]));
        assert_eq!(p.unknown, vec!["zz".to_owned()]);
    }

    #[test]
    fn truncation_halves_the_largest_axis_until_it_fits() {
        assert_eq!(truncate(&[1024, 1024], 1 << 18, 3), vec![512, 512]);
        assert_eq!(truncate(&[10, 10_000], 1000, 3), vec![10, 78]);
        assert_eq!(
            truncate(&[4, 4], 1, 3),
            vec![4, 4],
            "never below the edge floor"
        );
        assert_eq!(kept_indices(10, 4), vec![0, 1, 8, 9]);
        assert_eq!(kept_indices(10, 5), vec![0, 1, 2, 8, 9]);
    }
}
