//! The one piece of linear algebra the probes need: solving a symmetric positive definite
//! system by Cholesky factorization, in f64.

/// Solves `a x = b` in place for a symmetric positive definite `n x n` matrix `a` (row
/// major; overwritten by its Cholesky factor) and an `n x m` right-hand side `b` (row
/// major; overwritten by `x`). Fails with the pivot index when `a` is not positive
/// definite (numerically).
pub(crate) fn cholesky_solve(
    a: &mut [f64],
    b: &mut [f64],
    n: usize,
    m: usize,
) -> Result<(), usize> {
    debug_assert_eq!(a.len(), n * n);
    debug_assert_eq!(b.len(), n * m);
    // a = L L^T, L stored in the lower triangle.
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if d.is_nan() || d <= 1e-12 * (1.0 + a[j * n + j].abs()) {
            return Err(j);
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
    }
    // Forward substitution: L y = b.
    for i in 0..n {
        for k in 0..i {
            let l = a[i * n + k];
            for c in 0..m {
                b[i * m + c] -= l * b[k * m + c];
            }
        }
        let d = a[i * n + i];
        for c in 0..m {
            b[i * m + c] /= d;
        }
    }
    // Back substitution: L^T x = y.
    for i in (0..n).rev() {
        for k in i + 1..n {
            let l = a[k * n + i];
            for c in 0..m {
                b[i * m + c] -= l * b[k * m + c];
            }
        }
        let d = a[i * n + i];
        for c in 0..m {
            b[i * m + c] /= d;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::cholesky_solve;

    #[test]
    fn solves_a_small_spd_system() {
        // a = [[4, 2], [2, 3]], x = [[1, 2], [3, 4]] -> b = a x.
        let mut a = vec![4.0, 2.0, 2.0, 3.0];
        let mut b = vec![4.0 + 6.0, 8.0 + 8.0, 2.0 + 9.0, 4.0 + 12.0];
        cholesky_solve(&mut a, &mut b, 2, 2).unwrap();
        for (got, want) in b.iter().zip([1.0, 2.0, 3.0, 4.0]) {
            assert!((got - want).abs() < 1e-12, "{got} != {want}");
        }
    }

    #[test]
    fn rejects_a_singular_matrix_with_the_pivot() {
        let mut a = vec![1.0, 1.0, 1.0, 1.0];
        let mut b = vec![1.0, 1.0];
        assert_eq!(cholesky_solve(&mut a, &mut b, 2, 1), Err(1));
    }
}
