"""Blocked passes over memory-mapped CSC matrices (fastsparse._mmap_passes).

References are independent of the blocked code: dense numpy on the same matrix, the
in-memory fit (the plain passes, a different code path), scikit-learn's Lasso, the
errors ``check_csc`` raises on an in-memory copy, and /proc accounting of resident
file pages.
"""

import os

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.linear_model import Lasso as SkLasso

import fastsparse
import fastsparse._kernels as K
import fastsparse._mmap_passes as MP
from conftest import make_regression_problem, status_kb
from fastsparse._parallel import column_sqnorms_f32, xt_dot_full
from fastsparse._solver import prepare_problem
from fastsparse._validation import check_csc
from fastsparse.io import load_csc, save_csc


def _mapped(tmp_path, X, y=None, name="ds"):
    save_csc(tmp_path / name, X, y)
    Xm, ym = load_csc(tmp_path / name, validate=False)
    assert MP.is_mapped(Xm) and MP.is_mapped(Xm.data)
    return Xm, ym


def _in_memory(data, indices, indptr, shape):
    """A csc_matrix holding copies of the arrays as they are (no scipy checks)."""
    X = sp.csc_matrix(shape, dtype=data.dtype)
    X.data, X.indices, X.indptr = np.array(data), np.array(indices), np.array(indptr)
    return X


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of a few entries, so that small matrices take many blocks."""
    monkeypatch.setattr(MP, "BLOCK_NNZ", 13)


@pytest.fixture
def calls(monkeypatch):
    """Counts of the blocked functions called (to prove the mapped path ran)."""
    seen = {}
    for name in ("residual", "inner_solve", "column_stats", "blocked_xt_dot",
                 "blocked_sqnorms", "check_mapped_csc", "gather_columns"):
        real = getattr(MP, name)

        def spy(*args, _real=real, _name=name, **kwargs):
            seen[_name] = seen.get(_name, 0) + 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(MP, name, spy)
    import fastsparse._validation as V
    monkeypatch.setattr(V, "check_mapped_csc", MP.check_mapped_csc)
    return seen


def test_is_mapped(tmp_path):
    X = sp.random(20, 10, density=0.3, format="csc", random_state=0)
    Xm, _ = _mapped(tmp_path, X)
    assert not MP.is_mapped(X) and not MP.is_mapped(X.data)
    assert MP.is_mapped(Xm.indices) and MP.is_mapped(Xm.data[3:])
    cow = np.load(tmp_path / "ds" / "data.npy", mmap_mode="c")  # private: not releasable
    assert not MP.is_mapped(cow)


# --------------------------------------------------------------------------------------
# The passes against dense numpy
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("weighted", [False, True])
def test_passes_match_dense(tmp_path, small_blocks, index_dtype, weighted):
    rng = np.random.default_rng(1)
    n, p = 30, 40
    X = sp.random(n, p, density=0.25, format="lil", random_state=rng)
    X[:, 7] = 3.0 + rng.random((n, 1))  # stored in every row: centered explicitly
    X = sp.csc_matrix(X)
    X.indices, X.indptr = X.indices.astype(index_dtype), X.indptr.astype(index_dtype)
    Xm, _ = _mapped(tmp_path, X)
    D = X.toarray()
    sw = rng.uniform(0.5, 2.0, n) if weighted else np.ones(1)
    if weighted:
        sw *= n / sw.sum()
    s = sw if weighted else np.ones(n)
    args = (Xm.data, Xm.indices, Xm.indptr)

    v = rng.standard_normal(n)
    cols = np.array([0, 3, 7, 8, 20, 21, 39], dtype=index_dtype)
    out = np.empty(cols.shape[0])
    xt_dot_full(*args, cols, v, out)
    assert_allclose(out, D[:, cols].T @ v, rtol=1e-12, atol=1e-12)
    # Non-increasing columns take the unblocked pass: same values.
    out2 = np.empty(cols.shape[0])
    xt_dot_full(*args, cols[::-1].copy(), v, out2)
    assert_array_equal(out2[::-1], out)

    mean = (s @ D) / n
    centered = (s[:, None] * (D - mean) ** 2).sum(axis=0)
    norms = column_sqnorms_f32(*args, n, sw, weighted, True)
    assert norms.dtype == np.float32
    assert np.all(norms >= centered * (1 - 1e-12)) and np.all(norms <= centered * 1.001 + 1e-30)

    pb = prepare_problem(Xm, rng.standard_normal(n), sw if weighted else None, True)
    assert pb.mapped
    xbar, sq = MP.column_stats(pb, cols)
    assert_allclose(xbar, mean[cols], rtol=1e-12)
    assert_allclose(sq, centered[cols], rtol=1e-10)

    cdata, cind, cptr = MP.gather_columns(*args, cols)
    assert_array_equal(sp.csc_matrix((cdata, cind, cptr), shape=(n, cols.shape[0])).toarray(),
                       D[:, cols])
    assert cind.dtype == index_dtype and not MP.is_mapped(cdata)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_residual_is_the_kernels_bit_for_bit(tmp_path, small_blocks, weighted,
                                             fit_intercept):
    rng = np.random.default_rng(2)
    n, p = 25, 60
    X = sp.random(n, p, density=0.3, format="lil", random_state=rng)
    X[:, 11] = 1e6 + rng.random((n, 1))  # a full, large-mean column
    X = sp.csc_matrix(X)
    Xm, _ = _mapped(tmp_path, X)
    w = np.where(rng.random(p) < 0.4, rng.standard_normal(p), 0.0)
    w[11] = 0.5
    y_c = rng.standard_normal(n)
    sw = rng.uniform(0.5, 2.0, n) if weighted else np.ones(1)
    r_block, r_kernel = np.empty(n), np.empty(n)
    args = (y_c, w, sw, weighted, fit_intercept)
    shift_b = MP.residual(Xm.data, Xm.indices, Xm.indptr, *args, r_block)
    shift_k = K.residual(X.data, X.indices, X.indptr, *args, r_kernel)
    assert shift_b == shift_k
    assert_array_equal(r_block, r_kernel)
    # And the meaning: r_raw + shift is the centered residual y_c - X_c w.
    D = X.toarray()
    if fit_intercept:
        s = sw if weighted else np.ones(n)
        D = D - (s @ D) / n
    assert_allclose(r_block + shift_b, y_c - D @ w, rtol=1e-9, atol=1e-8)
    # No non-zero coefficient: r_raw = y_c, no shift.
    assert MP.residual(Xm.data, Xm.indices, Xm.indptr, y_c, np.zeros(p), sw, weighted,
                       fit_intercept, r_block) == 0.0
    assert_array_equal(r_block, y_c)


# --------------------------------------------------------------------------------------
# Fits on the map equal fits in memory
# --------------------------------------------------------------------------------------


def _dense(coefs):
    return coefs.toarray() if sp.issparse(coefs) else coefs


def _fit_all(X, y, sw, v):
    out = {}
    m = fastsparse.Lasso(alpha=0.02, tol=1e-10).fit(X, y)
    out["lasso"] = np.r_[m.coef_, m.intercept_, m.dual_gap_]
    m = fastsparse.ElasticNet(alpha=0.02, l1_ratio=0.6, tol=1e-10, penalty_factor=v).fit(
        X, y, sample_weight=sw)
    out["enet-free-weighted"] = np.r_[m.coef_, m.intercept_, m.dual_gap_]
    m = fastsparse.Lasso(alpha=0.01, positive=True, fit_intercept=False, tol=1e-10).fit(X, y)
    out["lasso-positive"] = np.r_[m.coef_, m.dual_gap_]
    res = fastsparse.lasso_path(X, y, n_alphas=6, tol=1e-10)
    out["lasso_path"] = np.r_[res.alphas, _dense(res.coefs).ravel()]
    res = fastsparse.enet_path(X, y, l1_ratio=0.5, n_alphas=6, tol=1e-10,
                               sample_weight=sw)
    out["enet_path"] = np.r_[res.alphas, _dense(res.coefs).ravel()]
    m = fastsparse.LassoCV(n_alphas=6, cv=3, tol=1e-8).fit(X, y)
    out["LassoCV"] = np.r_[m.alpha_, m.coef_, m.intercept_, m.mse_path_.ravel()]
    return out


@pytest.mark.parametrize("gather", [True, False])
def test_mapped_fits_equal_in_memory_fits(tmp_path, monkeypatch, small_blocks, calls,
                                          gather):
    # gather=True: every working set is copied to memory; False: every one is solved on
    # the map (the large-working-set branch). Both must give the in-memory results.
    monkeypatch.setattr(MP, "GATHER_MAX_FRACTION", 1.0 if gather else 0.0)
    X, y = make_regression_problem(n_samples=70, n_features=90)
    rng = np.random.default_rng(3)
    sw = rng.uniform(0.2, 3.0, X.shape[0])
    v = np.ones(X.shape[1])
    v[[4, 50]] = 0.0  # unpenalized features: renumbered in the compact working set
    Xm, ym = _mapped(tmp_path, X, y)
    # The unpenalized columns are always gathered (once per solve): count them apart.
    import fastsparse._solver as S
    real_shifted = S.shifted_free_columns

    def shifted(X, pb, *args):
        if pb.mapped:
            calls["shifted_free_columns"] = calls.get("shifted_free_columns", 0) + 1
        return real_shifted(X, pb, *args)

    monkeypatch.setattr(S, "shifted_free_columns", shifted)
    on_map = _fit_all(Xm, ym, sw, v)
    assert calls.get("check_mapped_csc", 0) >= 6
    assert calls.get("residual", 0) > 0 and calls.get("inner_solve", 0) > 0
    assert calls.get("blocked_xt_dot", 0) > 0 and calls.get("blocked_sqnorms", 0) > 0
    assert calls.get("shifted_free_columns", 0) > 0
    working_set_gathers = (calls.get("gather_columns", 0)
                           - calls.get("shifted_free_columns", 0))
    assert (working_set_gathers > 0) == gather
    n_calls = dict(calls)
    # In memory, paths may solve working sets on a cached Gram matrix (never for a
    # mapped X): another algorithm, equal only to the tolerance. Without it the
    # in-memory fits run the same kernels on the same columns in the same order.
    default = _fit_all(X, y, sw, v)
    import fastsparse.path as path_module
    monkeypatch.setattr(path_module, "path_gram_budget", lambda pb: 0)
    in_ram = _fit_all(X, y, sw, v)
    assert calls == n_calls  # the in-memory fits took none of the blocked passes
    for key in in_ram:
        assert_array_equal(on_map[key], in_ram[key], err_msg=key)  # bit-identical
        assert_allclose(on_map[key], default[key], rtol=1e-6, atol=1e-8, err_msg=key)
    sk = SkLasso(alpha=0.02, tol=1e-12, max_iter=100_000).fit(X, y)
    assert_allclose(on_map["lasso"][:-1], np.r_[sk.coef_, sk.intercept_], atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mapped_logistic_and_float32(tmp_path, small_blocks, dtype):
    # The logistic solver reaches the blocked full passes through _parallel.
    X, y = make_regression_problem(n_samples=60, n_features=50)
    X = X.astype(dtype)
    ybin = (y > np.median(y)).astype(int)
    Xm, _ = _mapped(tmp_path, X)
    a = fastsparse.LogisticRegression(C=2.0, tol=1e-10).fit(Xm, ybin)
    b = fastsparse.LogisticRegression(C=2.0, tol=1e-10).fit(X, ybin)
    assert_array_equal(a.coef_, b.coef_)
    assert a.intercept_ == b.intercept_
    la = fastsparse.Lasso(alpha=0.01, tol=1e-8).fit(Xm, y)
    lb = fastsparse.Lasso(alpha=0.01, tol=1e-8).fit(X, y)
    assert_array_equal(la.coef_, lb.coef_)


def _fit_all_logistic(X, ybin, y3, sw, v):
    out = {}
    for key, kw, fit_kw in [
        ("binary", dict(C=2.0), {}),
        ("no-intercept", dict(C=2.0, fit_intercept=False), {}),
        ("weighted", dict(C=3.0), dict(sample_weight=sw)),
        ("free-enet", dict(C=0.2, l1_ratio=0.5, penalty_factor=v), {}),
    ]:
        m = fastsparse.LogisticRegression(tol=1e-10, **kw).fit(X, ybin, **fit_kw)
        out[key] = np.r_[m.coef_.ravel(), m.intercept_]
    m = fastsparse.LogisticRegression(C=2.0, tol=1e-10).fit(X, y3)  # one-vs-rest
    out["ovr"] = np.r_[m.coef_.ravel(), m.intercept_]
    res = fastsparse.logistic_path(X, ybin, n_Cs=5, tol=1e-10, sample_weight=sw)
    out["logistic_path"] = np.r_[res.Cs, _dense(res.coefs).ravel(), res.intercepts]
    m = fastsparse.LogisticRegressionCV(Cs=4, cv=3, tol=1e-8).fit(X, ybin)
    out["LogisticRegressionCV"] = np.r_[m.C_, m.coef_.ravel(), m.intercept_]
    return out


@pytest.mark.parametrize("gather", [True, False])
def test_mapped_logistic_fits_equal_in_memory_fits(tmp_path, monkeypatch, small_blocks,
                                                   calls, gather):
    # gather=True: every working set is copied to memory; False: every one is solved on
    # the map and released. Both must give exactly the in-memory results.
    monkeypatch.setattr(MP, "GATHER_MAX_FRACTION", 1.0 if gather else 0.0)
    for name in ("linear_predictor", "gather_working_set"):
        real = getattr(MP, name)

        def spy(*args, _real=real, _name=name, **kwargs):
            calls[_name] = calls.get(_name, 0) + 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(MP, name, spy)
    X, y = make_regression_problem(n_samples=70, n_features=90)
    X = X.tolil()
    rng = np.random.default_rng(4)
    X[:, 11] = 2.0 + rng.random((X.shape[0], 1))  # stored in every row: centered explicitly
    X = sp.csc_matrix(X)
    ybin = (y > np.median(y)).astype(int)
    y3 = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    sw = rng.uniform(0.2, 3.0, X.shape[0])
    v = np.ones(X.shape[1])
    v[[4, 50]] = 0.0  # unpenalized features
    Xm, _ = _mapped(tmp_path, X, y)
    on_map = _fit_all_logistic(Xm, ybin, y3, sw, v)
    assert calls.get("linear_predictor", 0) > 0 and calls.get("gather_working_set", 0) > 0
    if gather:  # (without, the unpenalized columns are still gathered)
        assert calls.get("gather_columns", 0) >= calls["gather_working_set"]
    n_calls = dict(calls)
    in_ram = _fit_all_logistic(X, ybin, y3, sw, v)
    assert calls == n_calls  # the in-memory fits took none of the blocked passes
    for key in in_ram:
        assert_array_equal(on_map[key], in_ram[key], err_msg=key)  # bit-identical

    # Independent check of the mapped binary fit: the KKT conditions of
    # C sum_i log(1 + exp(-y_i (x_i.w + b))) + |w|_1 (gradient in [-1, 1] on zeros,
    # equal to -sign(w_j) on the support, zero for the intercept).
    D = X.toarray()
    coef, b = on_map["binary"][:-1], on_map["binary"][-1]
    assert np.count_nonzero(coef) > 0
    prob = 1.0 / (1.0 + np.exp(-(D @ coef + b)))
    grad = 2.0 * D.T @ (prob - ybin)
    nz = coef != 0
    assert np.all(np.abs(grad[~nz]) <= 1 + 1e-6)
    assert_allclose(grad[nz], -np.sign(coef[nz]), atol=1e-5)
    assert abs(np.sum(prob - ybin)) < 1e-6


def test_logistic_passes_match_the_kernels(tmp_path, small_blocks):
    # The blocked linear predictor against X @ w + b (dense numpy) and the kernel.
    from fastsparse import _logistic_kernels as LK
    rng = np.random.default_rng(2)
    X = sp.random(40, 300, density=0.1, format="csc", random_state=rng)
    Xm, _ = _mapped(tmp_path, X)
    w = MP.lazy_zeros(300)
    w[rng.choice(300, 25, replace=False)] = rng.standard_normal(25)
    z, z_kernel = np.empty(40), np.empty(40)
    MP.linear_predictor(Xm.data, Xm.indices, Xm.indptr, w, 0.5, z)
    LK.linear_predictor(X.data, X.indices, X.indptr, w, 0.5, z_kernel)
    assert_array_equal(z, z_kernel)
    assert_allclose(z, X.toarray() @ w + 0.5, rtol=1e-12)
    ws = np.flatnonzero(w)
    cdata, cind, cptr = MP.gather_working_set(Xm.data, Xm.indices, Xm.indptr, ws)
    assert_array_equal(sp.csc_matrix((cdata, cind, cptr), shape=(40, ws.shape[0])).toarray(),
                       X.toarray()[:, ws])
    # Not increasing, or holding too much of X: no copy (solved on the map instead).
    assert MP.gather_working_set(Xm.data, Xm.indices, Xm.indptr, ws[::-1].copy()) is None
    assert MP.gather_working_set(Xm.data, Xm.indices, Xm.indptr, np.arange(300)) is None


# --------------------------------------------------------------------------------------
# check_csc on maps: the errors and results of check_csc on an in-memory copy
# --------------------------------------------------------------------------------------


def _corrupt(kind, X):
    data, indices, indptr = X.data.copy(), X.indices.copy(), X.indptr.copy()
    long_col = int(np.flatnonzero(np.diff(indptr) >= 2)[-1])
    lo = int(indptr[long_col])
    if kind == "nan":
        data[-3] = np.nan
    elif kind == "inf":
        data[5] = -np.inf
    elif kind == "nan-and-inf":
        data[2], data[-2] = np.inf, np.nan  # NaN wins, as in scikit-learn's message
    elif kind == "indptr":
        indptr[30], indptr[31] = indptr[31] + 1, indptr[30]
    elif kind == "row-too-large":
        indices[-1] = X.shape[0] + 4
    elif kind == "row-negative":
        indices[7] = -2
    elif kind == "nan-and-bad-row":
        data[1], indices[9] = np.nan, X.shape[0]  # structure is checked first
    elif kind == "unsorted":
        indices[[lo, lo + 1]], data[[lo, lo + 1]] = indices[[lo + 1, lo]], data[[lo + 1, lo]]
    elif kind == "duplicate":
        indices[lo + 1] = indices[lo]
    return data, indices, indptr


@pytest.mark.parametrize("kind", ["nan", "inf", "nan-and-inf", "indptr", "row-too-large",
                                  "row-negative", "nan-and-bad-row"])
def test_malformed_map_raises_like_check_csc(tmp_path, small_blocks, kind):
    X = sp.random(40, 60, density=0.2, format="csc", random_state=4)
    data, indices, indptr = _corrupt(kind, X)
    with pytest.raises(ValueError) as ref:
        check_csc(_in_memory(data, indices, indptr, X.shape))
    d = tmp_path / "bad"
    d.mkdir()
    for name, arr in (("data", data), ("indices", indices), ("indptr", indptr)):
        np.save(d / f"{name}.npy", arr)
    Xm = sp.csc_matrix(X.shape)
    Xm.data, Xm.indices, Xm.indptr = (np.load(d / f"{name}.npy", mmap_mode="r")
                                      for name in ("data", "indices", "indptr"))
    assert MP.is_mapped(Xm)
    with pytest.raises(ValueError) as got:
        check_csc(Xm)
    assert str(got.value) == str(ref.value)
    with pytest.raises(ValueError) as got:
        MP.check_mapped_csc(Xm, (np.float64,), "X")  # the blocked check itself raised
    assert str(got.value) == str(ref.value)


@pytest.mark.parametrize("kind", ["unsorted", "duplicate"])
def test_non_canonical_map_gives_check_cscs_copy(tmp_path, small_blocks, kind):
    X = sp.random(40, 60, density=0.2, format="csc", random_state=5)
    data, indices, indptr = _corrupt(kind, X)
    ref = check_csc(_in_memory(data, indices, indptr, X.shape))
    d = tmp_path / "nc"
    d.mkdir()
    for name, arr in (("data", data), ("indices", indices), ("indptr", indptr)):
        np.save(d / f"{name}.npy", arr)
    Xm = sp.csc_matrix(X.shape)
    Xm.data, Xm.indices, Xm.indptr = (np.load(d / f"{name}.npy", mmap_mode="r")
                                      for name in ("data", "indices", "indptr"))
    assert MP.check_mapped_csc(Xm, (np.float64,), "X") is None  # general path's job
    got = check_csc(Xm)
    assert got.has_canonical_format and not np.shares_memory(got.indices, Xm.indices)
    for a, b in ((got.data, ref.data), (got.indices, ref.indices), (got.indptr, ref.indptr)):
        assert_array_equal(a, b)
    assert_array_equal(np.load(d / "indices.npy"), indices)  # the file is untouched


@pytest.mark.parametrize("index_dtypes", [(np.int32, np.int32), (np.int64, np.int64),
                                          (np.int32, np.int64)])
def test_valid_map_is_used_as_is(tmp_path, small_blocks, index_dtypes):
    X = sp.random(30, 50, density=0.2, format="csc", random_state=6)
    d = tmp_path / "ok"
    d.mkdir()
    idx, ptr = index_dtypes
    for name, arr in (("data", X.data), ("indices", X.indices.astype(idx)),
                      ("indptr", X.indptr.astype(ptr))):
        np.save(d / f"{name}.npy", arr)
    Xm = sp.csc_matrix(X.shape)
    Xm.data, Xm.indices, Xm.indptr = (np.load(d / f"{name}.npy", mmap_mode="r")
                                      for name in ("data", "indices", "indptr"))
    ref = check_csc(_in_memory(Xm.data, Xm.indices, Xm.indptr, X.shape))
    got = MP.check_mapped_csc(Xm, (np.float64, np.float32), "X")
    assert got is not None and got.has_canonical_format
    assert np.shares_memory(got.data, Xm.data)
    assert got.indices.dtype == got.indptr.dtype == ref.indices.dtype
    if idx == ptr:
        assert got is Xm
    assert_array_equal(got.toarray(), X.toarray())
    # A dtype the caller does not accept is left to the general path (which converts).
    assert MP.check_mapped_csc(Xm, (np.float32,), "X") is None
    assert check_csc(Xm, dtype=np.float32).dtype == np.float32


# --------------------------------------------------------------------------------------
# The blocked passes release the pages they read
# --------------------------------------------------------------------------------------


def _file_sized_matrix(rng):
    """3,000 x 600,000 with 3.6M entries (6 per column, one in each sixth of the rows,
    sorted): 43 MB of data + indices on disk."""
    n, p, per_col = 3_000, 600_000, 6
    indptr = np.arange(0, per_col * (p + 1), per_col, dtype=np.int32)
    indices = np.sort(rng.integers(0, n // per_col, (p, per_col)), axis=1)
    indices = (indices + np.arange(per_col) * (n // per_col)).astype(np.int32).ravel()
    X = sp.csc_matrix((n, p))
    X.data, X.indices, X.indptr = rng.random(per_col * p), indices, indptr
    return X


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_fit_keeps_resident_file_pages_bounded(tmp_path, monkeypatch):
    rng = np.random.default_rng(7)
    X = _file_sized_matrix(rng)
    n = X.shape[0]
    y = X[:, :20] @ rng.standard_normal(20) + 0.1 * rng.standard_normal(n)
    Xm, ym = _mapped(tmp_path, X, y)
    size_kb = (Xm.data.nbytes + Xm.indices.nbytes + Xm.indptr.nbytes) // 1024
    alpha = float(fastsparse.alpha_grid(Xm, ym, n_alphas=1)[0]) / 5
    small, ys = _mapped(tmp_path, X[:, :2000], y, name="warm")
    fastsparse.Lasso(alpha=alpha).fit(small, ys)  # compiled / cache loaded outside
    from fastsparse.io import release_pages
    release_pages(Xm)

    # The resident file pages just before each release (the most a block accumulates).
    seen = []
    real = MP.release_pages

    def recording(*args, **kwargs):
        seen.append(status_kb("RssFile"))
        return real(*args, **kwargs)

    monkeypatch.setattr(MP, "release_pages", recording)
    before = status_kb("RssFile")
    model = fastsparse.Lasso(alpha=alpha, tol=1e-6).fit(Xm, ym)
    after = status_kb("RssFile")
    assert np.count_nonzero(model.coef_) > 0
    assert len(seen) > 20  # many blocks
    # One block is ~12 MB of 43 MB (plus page-cache folios at its edges); without the
    # releases every pass would leave the whole file resident.
    assert max(seen) - before < 0.6 * size_kb, (max(seen) - before, size_kb)
    assert after - before < 0.2 * size_kb, (after - before, size_kb)
    # Control: the same passes without releasing keep (nearly) the whole file resident.
    monkeypatch.setattr(MP, "release_pages", lambda *a, **k: 0)
    monkeypatch.setattr(MP, "_advise_dontneed", lambda *a, **k: 0)
    check_csc(Xm)
    assert status_kb("RssFile") - before > 0.8 * (size_kb - Xm.indptr.nbytes // 1024)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_logistic_fit_keeps_resident_file_pages_bounded(tmp_path, monkeypatch):
    # The matrix of the Lasso test above (43 MB of data + indices on disk), binary labels.
    rng = np.random.default_rng(8)
    X = _file_sized_matrix(rng)
    n, p = X.shape
    # The support spread over the whole file, so the working set is too.
    support = rng.choice(p, 40, replace=False)
    z = X[:, support] @ rng.standard_normal(40)
    y = (z + 0.3 * rng.standard_normal(n) > np.median(z)).astype(int)
    Xm, _ = _mapped(tmp_path, X)
    size_kb = (Xm.data.nbytes + Xm.indices.nbytes + Xm.indptr.nbytes) // 1024
    C = 5 * fastsparse.logistic_c_min(Xm, y)
    small, _ = _mapped(tmp_path, X[:, :2000], name="warm")
    fastsparse.LogisticRegression(C=C).fit(small, y)  # compiled / cache loaded outside
    from fastsparse import _logistic_solver as LS
    from fastsparse.io import release_pages

    # The resident file pages just before each release (the most a block accumulates,
    # plus whatever the Newton steps read since the previous release).
    seen = []
    real_release = MP.release_pages

    def recording(*args, **kwargs):
        seen.append(status_kb("RssFile"))
        return real_release(*args, **kwargs)

    monkeypatch.setattr(MP, "release_pages", recording)

    def fit():
        release_pages(Xm)
        seen.clear()
        before = status_kb("RssFile")
        model = fastsparse.LogisticRegression(C=C, tol=1e-6).fit(Xm, y)
        return model, max(seen) - before, status_kb("RssFile") - before

    model, peak, after = fit()
    assert np.count_nonzero(model.coef_) >= 10
    assert len(seen) > 20  # many blocks
    # One block is ~12 MB of 43 MB (plus page-cache folios at its edges; measured 19 MB).
    assert peak < 0.6 * size_kb, (peak, size_kb)
    assert after < 0.2 * size_kb, (after, size_kb)
    # Control: the same fit with the working-set kernels and the linear predictor
    # reading the map (the problem not marked mapped; the full passes still blocked)
    # maps the folios of the scattered working-set columns until a pass releases them.
    real = LS.prepare_logistic

    def unmarked(*args, **kwargs):
        pb = real(*args, **kwargs)
        pb.mapped = False
        return pb

    monkeypatch.setattr(fastsparse.logistic, "prepare_logistic", unmarked)
    control, peak_control, _ = fit()
    assert_array_equal(control.coef_, model.coef_)
    assert peak_control > 0.8 * size_kb, (peak_control, size_kb)  # measured: all of it


def test_lazy_zeros(tmp_path):
    n = 3_000_000  # 24 MB
    w = MP.lazy_zeros(n)
    assert w.shape == (n,) and w.dtype == np.float64 and w.flags.writeable
    assert not np.any(w[::997])
    # Never treated as a releasable map (released pages of a private map read as 0).
    assert not MP.is_mapped(w)
    from fastsparse.io import release_pages
    w[5] = 2.5
    assert release_pages((w, w, w)) == 0 and w[5] == 2.5
    if os.path.exists("/proc/self/status"):
        before = status_kb("RssAnon")
        idx = np.arange(0, n, n // 300)
        w[idx] = 1.0  # 300 scattered writes: 4 KB pages, not 2 MB huge pages each
        grown = status_kb("RssAnon") - before
        assert grown < 0.25 * w.nbytes / 1024, grown
        assert w.sum() == idx.shape[0] + 2.5
    assert_array_equal(MP.lazy_zeros(0), np.zeros(0))


def test_threaded_cv_folds_and_sparse_arrays_on_a_map(tmp_path, small_blocks):
    # Folds in joblib threads read and release the same map concurrently (a released
    # page is refaulted from the page cache): same result as in memory.
    X, y = make_regression_problem(n_samples=60, n_features=70, seed=5)
    Xm, ym = _mapped(tmp_path, X, y)
    a = fastsparse.LassoCV(n_alphas=5, cv=3, n_jobs=2, tol=1e-8).fit(Xm, ym)
    b = fastsparse.LassoCV(n_alphas=5, cv=3, n_jobs=2, tol=1e-8).fit(X, y)
    assert a.alpha_ == b.alpha_
    assert_array_equal(a.coef_, b.coef_)
    assert_array_equal(a.mse_path_, b.mse_path_)
    # scipy's sparse arrays (csc_array) take the same blocked check.
    Xa = sp.csc_array(Xm.shape)
    Xa.data, Xa.indices, Xa.indptr = Xm.data, Xm.indices, Xm.indptr
    got = check_csc(Xa)
    assert isinstance(got, sp.csc_array) and got.has_canonical_format
    assert np.shares_memory(got.data, Xm.data)
    m = fastsparse.Lasso(alpha=0.02, tol=1e-10).fit(Xa, ym)
    assert_array_equal(m.coef_, fastsparse.Lasso(alpha=0.02, tol=1e-10).fit(X, y).coef_)


def test_add_scaled_columns_in_memory_and_on_the_map(tmp_path, small_blocks):
    # z += X[:, cols] @ values (LogisticRegressionCV's held-out decision values) without
    # slicing X: in memory and block by block on the map, against dense numpy.
    from fastsparse._sparse_ops import add_scaled_columns

    X = sp.random(40, 30, density=0.3, format="csc", random_state=5)
    Xm, _ = _mapped(tmp_path, X)
    cols = np.array([0, 3, 4, 17, 29], dtype=np.int32)
    values = np.random.default_rng(0).standard_normal(cols.size)
    expected = 0.5 + X.toarray()[:, cols] @ values
    for add, A in ((add_scaled_columns, X), (MP.add_scaled_columns, Xm)):
        z = np.full(40, 0.5)
        add(A.data, A.indices, A.indptr, cols, values, z)
        assert_allclose(z, expected, rtol=1e-12, atol=1e-12)
    z = np.full(40, 0.5)
    MP.add_scaled_columns(Xm.data, Xm.indices, Xm.indptr, cols[:0], values[:0], z)
    assert np.all(z == 0.5)
