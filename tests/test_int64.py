"""64-bit index arrays: same results as int32, no silent downcast, offsets beyond 2**31.

The first part fits every model on a small matrix twice, with int32 and with int64
``indices``/``indptr``, and checks that the answers agree and that the arrays reaching
the kernels are the caller's int64 arrays (scipy's constructors downcast int64 index
arrays whose values fit in int32, which is a copy).

The second part exercises index arithmetic beyond 2**31 without allocating it: ``data``
and ``indices`` live in sparse files (holes read as zeros and take no disk) longer than
2**31 entries, ``indptr`` puts three columns at offsets around and beyond 2**31, and the
column kernels are run on those columns only and compared with an in-memory copy of the
same columns and with dense numpy.
"""

import os
import shutil

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.linear_model import Lasso as SkLasso

import fastsparse
import fastsparse._kernels as K
import fastsparse._sparse_ops as S
from conftest import make_regression_problem
from fastsparse._validation import check_csc


def as_int64(X):
    """X with int64 ``indices``/``indptr``, set after construction (no downcast)."""
    out = sp.csc_matrix(X.shape, dtype=X.dtype)
    out.data = X.data.copy()
    out.indices = X.indices.astype(np.int64)
    out.indptr = X.indptr.astype(np.int64)
    assert out.indices.dtype == np.int64
    return out


@pytest.fixture
def problem64():
    X, y = make_regression_problem(n_samples=90, n_features=70, seed=4)
    X = sp.csc_matrix(X)
    X.indices = X.indices.astype(np.int32)
    X.indptr = X.indptr.astype(np.int32)
    ybin = (y > np.median(y)).astype(int)
    return X, as_int64(X), y, ybin


def _assert_caller_arrays(seen, X):
    assert seen
    for data, indices, indptr in seen:
        assert indices.dtype == X.indices.dtype and indptr.dtype == X.indptr.dtype
        assert np.shares_memory(indices, X.indices)
        assert np.shares_memory(indptr, X.indptr)
        assert np.shares_memory(data, X.data)
    seen.clear()


def test_check_csc_keeps_int64_arrays(problem64):
    _, X64, _, _ = problem64
    Xc = check_csc(X64)
    assert Xc.indices is X64.indices and Xc.indptr is X64.indptr and Xc.data is X64.data
    # Read-only int64 arrays (as from a memory map) are used as they are too.
    for arr in (X64.data, X64.indices, X64.indptr):
        arr.flags.writeable = False
    Xc = check_csc(X64)
    assert Xc.indices is X64.indices


def test_mixed_index_dtypes_are_promoted_once(problem64):
    X32, _, y, _ = problem64
    Xm = sp.csc_matrix(X32.shape)
    Xm.data, Xm.indices, Xm.indptr = X32.data, X32.indices, X32.indptr.astype(np.int64)
    Xc = check_csc(Xm)
    # The kernels take one index dtype: indices are promoted (a copy), data is not.
    assert Xc.indices.dtype == np.int64 and Xc.indptr is Xm.indptr
    assert Xc.data is Xm.data
    a = fastsparse.Lasso(alpha=0.05, tol=1e-10).fit(Xm, y)
    b = fastsparse.Lasso(alpha=0.05, tol=1e-10).fit(X32, y)
    assert_allclose(a.coef_, b.coef_, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("model", [
    fastsparse.Lasso(alpha=0.05, tol=1e-10),
    fastsparse.ElasticNet(alpha=0.05, l1_ratio=0.3, tol=1e-10),
    fastsparse.Lasso(alpha=0.05, tol=1e-10, fit_intercept=False, positive=True),
    fastsparse.LassoCV(n_alphas=8, cv=3, tol=1e-8),
    fastsparse.Ridge(alpha=2.0, solver="cg", tol=1e-6),
    fastsparse.Ridge(alpha=2.0, solver="cd", tol=1e-6),
    fastsparse.Ridge(alpha=2.0, solver="cholesky"),
    fastsparse.Ridge(alpha=2.0, solver="dual", tol=1e-6),
], ids=lambda m: repr(m).replace(" ", ""))
def test_regressors_int64_equal_int32(problem64, kernel_arrays, model):
    X32, X64, y, _ = problem64
    m64 = clone(model).fit(X64, y)
    _assert_caller_arrays(kernel_arrays, X64)
    m32 = clone(model).fit(X32, y)
    assert_allclose(m64.coef_, m32.coef_, rtol=1e-12, atol=1e-13)
    assert_allclose(m64.intercept_, m32.intercept_, rtol=1e-12, atol=1e-13)
    if hasattr(m32, "alpha_"):
        assert m64.alpha_ == m32.alpha_


def test_lasso_path_int64_equal_int32(problem64, kernel_arrays):
    X32, X64, y, _ = problem64
    r64 = fastsparse.lasso_path(X64, y, n_alphas=10, tol=1e-10)
    _assert_caller_arrays(kernel_arrays, X64)
    r32 = fastsparse.lasso_path(X32, y, n_alphas=10, tol=1e-10)
    assert_allclose(r64.alphas, r32.alphas, rtol=1e-14)
    c64, c32 = (c.toarray() if sp.issparse(c) else c for c in (r64.coefs, r32.coefs))
    assert_allclose(c64, c32, rtol=1e-12, atol=1e-13)
    # Independent reference at one alpha: scikit-learn on the int32 matrix.
    k = 6
    sk = SkLasso(alpha=r32.alphas[k], tol=1e-12, max_iter=100_000).fit(X32, y)
    assert_allclose(c64[:, k], sk.coef_, atol=1e-6)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.0])
def test_logistic_int64_equal_int32(problem64, kernel_arrays, l1_ratio):
    X32, X64, _, ybin = problem64
    m64 = fastsparse.LogisticRegression(C=2.0, l1_ratio=l1_ratio, tol=1e-10).fit(X64, ybin)
    _assert_caller_arrays(kernel_arrays, X64)
    m32 = fastsparse.LogisticRegression(C=2.0, l1_ratio=l1_ratio, tol=1e-10).fit(X32, ybin)
    assert_allclose(m64.coef_, m32.coef_, rtol=1e-10, atol=1e-12)
    assert_allclose(m64.intercept_, m32.intercept_, rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------------------
# Offsets beyond 2**31 in sparse files
# --------------------------------------------------------------------------------------

BIG = 2**31
N_ROWS = 50
#: Column 0 fills [0, BIG - 3) with holes and is never read; column 1 straddles 2**31,
#: columns 2 and 3 lie beyond it.
LENGTHS = (BIG - 3, 5, 7, 9)


def _sparse_memmap(path, dtype, length):
    """A writable memmap of ``length`` items on a sparse file, or skip the test."""
    nbytes = length * np.dtype(dtype).itemsize
    try:
        with open(path, "wb") as f:
            f.truncate(nbytes)
    except (OSError, OverflowError) as exc:
        pytest.skip(f"cannot create a {nbytes}-byte sparse file: {exc}")
    if os.stat(path).st_blocks * 512 > 1 << 20:
        pytest.skip("the file system does not support sparse files")
    try:
        return np.memmap(path, dtype=dtype, mode="r+", shape=(length,))
    except (OSError, ValueError, OverflowError) as exc:
        pytest.skip(f"cannot map {nbytes} bytes: {exc}")


@pytest.fixture
def beyond_2_31(tmp_path):
    """(big, small): the same three columns at offsets past 2**31 and in RAM."""
    if shutil.disk_usage(tmp_path).free < 64 << 20:
        pytest.skip("less than 64 MB free in the temporary directory")
    indptr = np.concatenate(([0], np.cumsum(LENGTHS))).astype(np.int64)
    nnz = int(indptr[-1])
    assert nnz > BIG and indptr[1] < BIG < indptr[2]
    data = _sparse_memmap(tmp_path / "data.bin", np.float64, nnz)
    indices = _sparse_memmap(tmp_path / "indices.bin", np.int64, nnz)
    rng = np.random.default_rng(0)
    small_data, small_indices, small_indptr = [], [], [0, 0]
    for j in (1, 2, 3):
        rows = np.sort(rng.choice(N_ROWS, LENGTHS[j], replace=False))
        vals = rng.uniform(0.5, 2.0, LENGTHS[j])
        data[indptr[j]:indptr[j + 1]] = vals
        indices[indptr[j]:indptr[j + 1]] = rows
        small_data.append(vals)
        small_indices.append(rows)
        small_indptr.append(small_indptr[-1] + LENGTHS[j])
    data.flush()
    indices.flush()
    # Still sparse: only the pages written hold blocks.
    assert os.stat(tmp_path / "data.bin").st_blocks * 512 < 1 << 20
    small = (np.concatenate(small_data), np.concatenate(small_indices),
             np.array(small_indptr, dtype=np.int64))
    yield (data, indices, indptr), small
    del data, indices


def _dense(small):
    return sp.csc_matrix(small, shape=(N_ROWS, 4)).toarray()


COLS = np.array([1, 2, 3], dtype=np.int32)


def test_xt_dot_beyond_2_31(beyond_2_31):
    big, small = beyond_2_31
    v = np.random.default_rng(1).standard_normal(N_ROWS)
    out_big, out_small = np.empty(3), np.empty(3)
    S.xt_dot(*big, COLS, v, out_big)
    S.xt_dot(*small, COLS, v, out_small)
    assert_array_equal(out_big, out_small)
    assert_allclose(out_big, (_dense(small).T @ v)[1:], rtol=1e-13)
    if hasattr(S, "xt_dot_parallel"):  # the threaded pass and its block bounds
        out_par = np.empty(3)
        S.xt_dot_parallel(*big, COLS, v, out_par, 2)
        assert_array_equal(out_par, out_small)


@pytest.mark.parametrize("weighted", [False, True])
def test_column_statistics_beyond_2_31(beyond_2_31, weighted):
    big, small = beyond_2_31
    sw = np.random.default_rng(2).uniform(0.5, 1.5, N_ROWS) if weighted else np.ones(1)
    if weighted:
        sw *= N_ROWS / sw.sum()
    xb_big, sq_big = S.column_stats(*big, COLS, N_ROWS, sw, weighted, True)
    xb_small, sq_small = S.column_stats(*small, COLS, N_ROWS, sw, weighted, True)
    assert_array_equal(xb_big, xb_small)
    assert_array_equal(sq_big, sq_small)
    D = _dense(small)[:, 1:]
    s = sw if weighted else np.ones(N_ROWS)
    xbar = s @ D / N_ROWS
    assert_allclose(xb_big, xbar, rtol=1e-13)
    assert_allclose(sq_big, s @ (D - xbar) ** 2, rtol=1e-12)
    # The all-columns pass, on the columns 1..3 through a slice of indptr (absolute
    # offsets into data stay beyond 2**31; column 0 would read 16 GB of holes).
    data, indices, indptr = big
    f32 = S.column_sqnorms_f32(data, indices, indptr[1:], N_ROWS, sw, weighted, True)
    assert np.all(f32 >= sq_big)  # rounded up
    assert_allclose(f32, sq_big, rtol=1e-6)
    if hasattr(S, "column_sqnorms_f32_parallel"):
        par = S.column_sqnorms_f32_parallel(data, indices, indptr[1:], N_ROWS, sw,
                                            weighted, True, 2)
        assert_array_equal(par, f32)


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_coordinate_descent_beyond_2_31(beyond_2_31, fit_intercept):
    big, small = beyond_2_31
    rng = np.random.default_rng(3)
    y = rng.standard_normal(N_ROWS) + 2.0
    y_c = y - y.mean() if fit_intercept else y
    sw = np.ones(1)
    D = _dense(small)[:, 1:]
    if fit_intercept:
        D = D - D.mean(axis=0)
    lam_max = np.abs(D.T @ y_c).max()  # above it every coefficient is zero
    results = []
    for arrays in (big, small):
        w = np.zeros(4)
        w[2] = 0.3  # a non-zero start so that residual() reads a far column
        r_raw = np.empty(N_ROWS)
        shift = S.residual(*arrays, y_c, w, sw, False, fit_intercept, r_raw)
        xbar, lip = S.column_stats(*arrays, COLS, N_ROWS, sw, False, fit_intercept)
        l1 = np.full(4, 0.2 * lam_max)
        l2 = np.full(4, 0.05 * lam_max)
        for _ in range(300):
            shift = K.cd_epoch(*arrays, COLS, w, r_raw, shift, sw, False, fit_intercept,
                               xbar, lip, l1, l2, False)
        delta = np.array([0.01, -0.02, 0.03])
        dshift = S.add_columns(*arrays, COLS, delta, xbar, fit_intercept, r_raw)
        results.append((w.copy(), r_raw.copy(), shift, dshift))
    (w_b, r_b, s_b, d_b), (w_s, r_s, s_s, d_s) = results
    assert_array_equal(w_b, w_s)
    assert_array_equal(r_b, r_s)
    assert s_b == s_s and d_b == d_s
    assert np.count_nonzero(w_b[1:]) > 0 and w_b[0] == 0.0
    # Independent check of the CD result: the elastic-net KKT conditions on the dense
    # (explicitly centered) columns 1..3 at the coefficients reached.
    r = y_c - D @ w_b[1:]
    grad = D.T @ r - l2[1:] * w_b[1:]
    nz = w_b[1:] != 0
    assert_allclose(grad[nz], l1[1:][nz] * np.sign(w_b[1:][nz]), atol=1e-8)
    assert np.all(np.abs(grad[~nz]) <= l1[1:][~nz] + 1e-8)
