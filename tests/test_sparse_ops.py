"""The column loops every solver shares (fastsparse._sparse_ops) and the working-set
scores of fastsparse._kernels.screen_and_score, checked against plain NumPy / SciPy."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from fastsparse import _kernels as K
from fastsparse import _sparse_ops as S


def _csc(rng, n, p, density, index_dtype):
    X = sp.random(n, p, density=density, format="csc", random_state=rng)
    # Column lengths 0 (empty), 1, 2 (the two accumulators' edge cases) and long ones.
    X = sp.hstack([sp.csc_matrix((n, 1)),
                   sp.csc_matrix(([1.5], ([3], [0])), shape=(n, 1)),
                   sp.csc_matrix(([2.0, -1.0], ([0, n - 1], [0, 0])), shape=(n, 1)), X],
                  format="csc")
    X.indices = X.indices.astype(index_dtype)
    X.indptr = X.indptr.astype(index_dtype)
    return X


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_column_dot_and_axpy_match_numpy(index_dtype):
    rng = np.random.default_rng(0)
    n = 57
    X = _csc(rng, n, 40, 0.3, index_dtype)
    dense = X.toarray()
    v = rng.standard_normal(n)
    h = rng.uniform(0.01, 0.25, n)  # logistic Hessian weights
    for j in range(X.shape[1]):
        start, end = X.indptr[j], X.indptr[j + 1]
        got = S.column_dot(X.data, X.indices, start, end, v)
        assert_allclose(got, dense[:, j] @ v, rtol=1e-13, atol=1e-13)
        out = v.copy()
        S.column_axpy(X.data, X.indices, start, end, -0.75, out)
        assert_allclose(out, v - 0.75 * dense[:, j], rtol=1e-14, atol=1e-14)
        out = v.copy()
        S.column_axpy_scaled(X.data, X.indices, start, end, -0.75, h, out)
        assert_allclose(out, v - 0.75 * h * dense[:, j], rtol=1e-14, atol=1e-14)


def test_xt_dot_matches_scipy_for_any_column_order():
    rng = np.random.default_rng(1)
    X = _csc(rng, 80, 60, 0.2, np.int32)
    v = rng.standard_normal(80)
    cols = rng.permutation(X.shape[1]).astype(np.int64)
    out = np.empty(cols.shape[0])
    S.xt_dot(X.data, X.indices, X.indptr, cols, v, out)
    assert_allclose(out, (X.T @ v)[cols], rtol=1e-13, atol=1e-13)


def test_screen_and_score_counts_the_violators_of_the_unscaled_direction():
    # Feature grads x_j^T q for an unscaled direction q; t < 1 rescales it feasible.
    lam = 1.0
    grad_in = np.array([1.5, -1.2, 0.9, 0.3, 2.0, -0.1, 1.05])
    w = np.array([0.0, 0.0, 0.0, 0.0, 0.7, 0.0, 0.0])  # feature 4 non-zero
    p = grad_in.shape[0]
    t = 1.0 / np.max(np.abs(grad_in))  # 0.5: the feasible scaling
    l1 = np.full(p, lam)
    l2 = np.zeros(p)
    sq = np.ones(p, dtype=np.float32)
    active = np.arange(p, dtype=np.int64)
    grad = grad_in.copy()
    m, zeroed, n_violating = K.screen_and_score(active, p, grad, t, 0.0, sq, l1, l2,
                                                w.copy(), False, False)
    # Zero features with |x_j^T q| > lam: 0 (1.5), 1 (1.2) and 6 (1.05); the non-zero
    # feature 4 is always in the working set and is not counted.
    expected = int(np.sum((np.abs(grad_in) > lam) & (w == 0.0)))
    assert expected == 3
    assert n_violating == expected
    assert m == p and not zeroed
    assert grad[4] == -np.inf
    # Scores are the distances to the constraint of the scaled dual point.
    zero = w == 0.0
    assert_allclose(grad[zero], (lam - t * np.abs(grad_in[zero])) / 1.0, rtol=1e-6)
    # Already feasible (t = 1): nothing violates.
    grad = np.array([0.5, -0.9, 0.2, 0.1, 1.0, 0.0, 0.99])
    _, _, n_violating = K.screen_and_score(np.arange(p, dtype=np.int64), p, grad, 1.0,
                                           0.0, sq, l1, l2, w.copy(), False, False)
    assert n_violating == 0


def test_screen_and_score_never_counts_screened_features():
    lam = 1.0
    p = 4
    grad = np.array([3.0, 0.01, 0.02, 2.9])
    t = 1.0 / 3.0
    active = np.arange(p, dtype=np.int64)
    m, _, n_violating = K.screen_and_score(active, p, grad, t, 0.05,
                                           np.ones(p, dtype=np.float32), np.full(p, lam),
                                           np.zeros(p), np.zeros(p), False, True)
    # Features 1 and 2 are screened (|t g| + radius < lam); 0 and 3 violate (|g| > lam)
    # and stay. (With 2.5 instead of 2.9, feature 3 would be screened too: |t g| = 0.83.)
    assert m == 2
    assert_array_equal(active[:m], [0, 3])
    assert n_violating == 2


def test_screen_and_score_keeps_the_raw_gradients_of_the_kept_features():
    grad_in = np.array([3.0, 0.01, 0.02, 2.9, -3.1])
    p = grad_in.shape[0]
    active = np.arange(p, dtype=np.int64)
    grad = grad_in.copy()
    raw = np.full(p, np.nan)
    m, _, _ = K.screen_and_score(active, p, grad, 1.0 / 3.0, 0.05,
                                 np.ones(p, dtype=np.float32), np.ones(p), np.zeros(p),
                                 np.zeros(p), False, True, raw)
    assert_array_equal(active[:m], [0, 3, 4])  # 1 and 2 screened
    assert_array_equal(raw[:m], grad_in[[0, 3, 4]])
    assert np.all(np.isnan(raw[m:]))


@pytest.mark.parametrize("seed", range(5))
def test_sorted_set_helpers_match_numpy(seed):
    # gather_sorted / sorted_difference / expand_known against NumPy's set routines,
    # on a prefix cols[:n] (the solvers' active sets) and subsets of every size.
    rng = np.random.default_rng(seed)
    cols = np.sort(rng.choice(1000, size=200, replace=False)).astype(np.int32)
    n = int(rng.integers(1, 201))
    vals = rng.standard_normal(200)
    for size in (0, 1, n // 2, n):
        sub = np.sort(rng.choice(cols[:n], size=size, replace=False)).astype(np.int32)
        pos = np.searchsorted(cols[:n], sub)
        out = np.empty(size)
        S.gather_sorted(cols, n, vals, sub, out)
        assert_array_equal(out, vals[pos])

        rest = np.full(200, -1, dtype=np.int32)
        m = S.sorted_difference(cols, n, sub, rest)
        assert_array_equal(rest[:m], np.setdiff1d(cols[:n], sub))

        # vals[:m] holds the values of the rest on entry, sub_vals those of sub.
        truth = rng.standard_normal(n)
        buf = np.full(200, np.nan)
        buf[:m] = truth[np.isin(cols[:n], sub, invert=True)]
        S.expand_known(cols, n, sub, truth[pos], buf)
        assert_array_equal(buf[:n], truth)
        assert np.all(np.isnan(buf[n:]))
    # A column beyond cols[:n] is an error, not a read past the end.
    with pytest.raises(ValueError, match="subset"):
        S.gather_sorted(cols, n, vals, np.array([cols[n - 1] + 1], dtype=np.int32),
                        np.empty(1))
