"""Adversarial inputs to every public estimator and function.

What a careless or unlucky user passes: corrupted CSC structure, odd dtypes and
containers, NaN / inf, bad sample weights and targets, degenerate shapes, bad
hyperparameters and fitted-model misuse. Each case asserts either a clear exception (type
and message naming the problem) or a correct result: equal to the fit on the canonical
CSC matrix with the same values, or to an independent reference (scikit-learn, a closed
form, the KKT conditions).

Numba does no bounds checking, so a malformed input that slipped through validation
would crash the interpreter (a segfault) rather than fail a test. Every case therefore
runs in a worker subprocess (this file run as a script, ``--worker``); the cases are
batched into one worker, which reports each case's outcome on stdout as it finishes. A
worker that dies (segfault, abort) or hangs is reported as the failure of the case it
was running, and a fresh worker takes the remaining cases, so one crash costs one case,
not the run.
"""

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

import fastsparse as fs

# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------

N, P = 30, 20


def _base(seed=0):
    """A 30 x 20 canonical float64 CSC matrix, a real target and binary labels.

    Every column has at least two entries (column 0 at least three), values in
    [0.5, 2], integer-valued scaled copies are made by the cases that need them.
    """
    rng = np.random.default_rng(seed)
    dense = np.where(rng.uniform(size=(N, P)) < 0.3, rng.uniform(0.5, 2.0, (N, P)), 0.0)
    dense[:3, 0] = [1.0, 1.5, 0.75]
    dense[3:5, :] = np.where(dense[3:5, :] == 0, 1.25, dense[3:5, :])
    X = sp.csc_matrix(dense)
    w = np.zeros(P)
    w[:4] = [2.0, -1.5, 1.0, 0.5]
    y = X @ w + 1.0 + 0.3 * rng.standard_normal(N)
    labels = (y > np.median(y)).astype(np.int64)
    return X, y, labels


X0, Y0, L0 = _base()


def _flat(*parts):
    out = []
    for part in parts:
        if sp.issparse(part):
            part = part.toarray()
        out.append(np.ravel(np.asarray(part, dtype=np.float64)))
    return np.concatenate(out)


# --------------------------------------------------------------------------------------
# Entry points: each runs one public estimator / function and returns its result as a
# flat float array (coefficients, intercepts, selected alpha, ...).
# --------------------------------------------------------------------------------------


def _fit(est, X, y, sw, *attrs):
    if sw is None:
        est.fit(X, y)
    else:
        est.fit(X, y, sample_weight=sw)
    return _flat(*(getattr(est, a) for a in attrs))


def _path(res):
    grid = res.Cs if hasattr(res, "Cs") else res.alphas  # logistic_path: a grid of C
    return _flat(grid, res.coefs, res.intercepts)


def _sel(res):
    return _flat(res.indices, res.coef, res.intercept, res.alpha)


REGRESSION = {
    "Lasso": lambda X, y, sw=None: _fit(
        fs.Lasso(alpha=0.02, tol=1e-12), X, y, sw, "coef_", "intercept_"),
    "ElasticNet": lambda X, y, sw=None: _fit(
        fs.ElasticNet(alpha=0.02, l1_ratio=0.5, tol=1e-12), X, y, sw, "coef_",
        "intercept_"),
    "LassoCV": lambda X, y, sw=None: _fit(
        fs.LassoCV(n_alphas=5, cv=3, tol=1e-10), X, y, sw, "alpha_", "coef_",
        "intercept_", "mse_path_"),
    "ElasticNetCV": lambda X, y, sw=None: _fit(
        fs.ElasticNetCV(l1_ratio=[0.3, 0.9], n_alphas=4, cv=3, tol=1e-10), X, y, sw,
        "alpha_", "l1_ratio_", "coef_", "intercept_"),
    "lasso_path": lambda X, y, sw=None: _path(
        fs.lasso_path(X, y, n_alphas=5, tol=1e-12, sample_weight=sw)),
    "enet_path": lambda X, y, sw=None: _path(
        fs.enet_path(X, y, l1_ratio=0.5, n_alphas=5, tol=1e-12, sample_weight=sw)),
    "alpha_grid": lambda X, y, sw=None: fs.alpha_grid(X, y, n_alphas=5, sample_weight=sw),
    "Ridge": lambda X, y, sw=None: _fit(
        fs.Ridge(alpha=1.0, tol=1e-12), X, y, sw, "coef_", "intercept_"),
    "RidgeCV": lambda X, y, sw=None: _fit(
        fs.RidgeCV(alphas=(0.1, 1.0, 10.0)), X, y, sw, "alpha_", "coef_", "intercept_"),
    "RidgeCV_kfold": lambda X, y, sw=None: _fit(
        fs.RidgeCV(alphas=(0.1, 1.0, 10.0), cv=3, tol=1e-12), X, y, sw, "alpha_",
        "coef_", "intercept_"),
    "select_features": lambda X, y, sw=None: _sel(
        fs.select_features(X, y, n_features=3, sample_weight=sw, n_alphas=20)),
    "StabilitySelection": lambda X, y, sw=None: _fit(
        fs.StabilitySelection(n_bootstrap=3, n_alphas=5, random_state=0, tol=1e-8),
        X, y, sw, "alphas_", "stability_scores_"),
}

CLASSIFICATION = {
    "LogisticRegression": lambda X, y, sw=None: _fit(
        fs.LogisticRegression(C=1.0, tol=1e-12), X, y, sw, "coef_", "intercept_"),
    "LogisticRegressionCV": lambda X, y, sw=None: _fit(
        fs.LogisticRegressionCV(Cs=3, cv=3, tol=1e-10), X, y, sw, "C_", "coef_",
        "intercept_"),
    "logistic_path": lambda X, y, sw=None: _path(
        fs.logistic_path(X, y, n_Cs=4, tol=1e-12, sample_weight=sw)),
    "logistic_c_min": lambda X, y, sw=None: _flat(
        fs.logistic_c_min(X, y, sample_weight=sw)),
    "select_features_logistic": lambda X, y, sw=None: _sel(
        fs.select_features(X, y, model="logistic", n_features=3, sample_weight=sw,
                           n_alphas=20)),
    "StabilitySelection_logistic": lambda X, y, sw=None: _fit(
        fs.StabilitySelection(model="logistic", n_bootstrap=3, n_alphas=5,
                              random_state=0, tol=1e-8),
        X, y, sw, "alphas_", "stability_scores_"),
}

RUNNERS = {**REGRESSION, **CLASSIFICATION}
CV_LIKE = {"LassoCV", "ElasticNetCV", "RidgeCV_kfold", "LogisticRegressionCV",
           "StabilitySelection", "StabilitySelection_logistic"}


def _target(name):
    return L0 if name in CLASSIFICATION else Y0


_REFERENCE = {}


def _reference(name):
    """The entry point's result on the canonical float64 CSC matrix (X0)."""
    if name not in _REFERENCE:
        _REFERENCE[name] = RUNNERS[name](X0, _target(name))
    return _REFERENCE[name]


def _assert_same(out, ref):
    # Not bit-identical in general: explicit zeros (BSR blocks) or a different order of
    # the stored entries change the rounding, and solutions are certified to ``tol``.
    assert out.shape == ref.shape, (out.shape, ref.shape)
    assert_allclose(out, ref, rtol=1e-6, atol=1e-8)


CASES = {}


def _case(name, fn):
    assert name not in CASES and " " not in name, name
    CASES[name] = fn


def _raises(exc, match, fn, *args, **kwargs):
    with pytest.raises(exc, match=match):
        fn(*args, **kwargs)


def _case_per_kind(prefix, table, runners, make_args, skip=None):
    """Register ``{prefix}-{kind}-{name}``: RUNNERS[name](*make_args(kind, name)) raises
    table[kind] = (exception, message pattern). The arguments are built when the case
    runs; ``skip(kind, name)`` leaves a pair out."""
    for kind, (exc, msg) in table.items():
        for name in runners:
            if skip is None or not skip(kind, name):
                _case(f"{prefix}-{kind}-{name}",
                      lambda k=kind, n=name, e=exc, m=msg: _raises(
                          e, m, RUNNERS[n], *make_args(k, n)))


# --------------------------------------------------------------------------------------
# 1. Corrupted CSC structure: must raise, never reach a kernel.
# --------------------------------------------------------------------------------------


def _raw_csc(data, indices, indptr, shape=(N, P), fmt="csc"):
    """A CSC (or CSR) container holding exactly these arrays, bypassing scipy's checks
    (as a user assigning ``X.indices = ...`` does)."""
    cls = sp.csc_matrix if fmt == "csc" else sp.csr_matrix
    out = cls(shape, dtype=np.float64)
    out.data, out.indices, out.indptr = data, indices, indptr
    return out


def _corrupt(kind):
    X = X0.copy()
    d, i, p = X.data.copy(), X.indices.copy(), X.indptr.copy()
    if kind == "indptr_not_monotone":
        p[5], p[6] = p[6], p[5]
    elif kind == "indptr_last_exceeds_nnz":
        p[-1] = d.size + 3
    elif kind == "indptr_first_nonzero":
        p = p + 2
        d, i = np.r_[0.0, 0.0, d], np.r_[0, 0, i].astype(i.dtype)
    elif kind == "indptr_too_short":
        p = p[:-1]
    elif kind == "indptr_too_long":
        p = np.r_[p, p[-1]].astype(p.dtype)
    elif kind == "indptr_2d":
        p = p[:, None]
    elif kind == "indices_out_of_range":
        i[7] = N
    elif kind == "indices_far_out_of_range":
        i[0] = 10**9
    elif kind == "indices_negative":
        i[3] = -1
    elif kind == "data_shorter_than_indices":
        d = d[:-2]
    elif kind == "indices_shorter_than_data":
        i = i[:-2]
    elif kind == "indices_float":
        i = i.astype(np.float64)
    elif kind == "indptr_float":
        p = p.astype(np.float64)
    elif kind == "data_2d":
        d = np.c_[d, d]
    else:  # pragma: no cover
        raise KeyError(kind)
    return _raw_csc(d, i, p)


CORRUPTIONS = {
    "indptr_not_monotone": (ValueError, "indptr"),
    "indptr_last_exceeds_nnz": (ValueError, r"indptr\[-1\]"),
    "indptr_first_nonzero": (ValueError, r"indptr\[0\]"),
    "indptr_too_short": (ValueError, "indptr"),
    "indptr_too_long": (ValueError, "indptr"),
    "indptr_2d": (ValueError, "indptr"),
    "indices_out_of_range": (ValueError, "indices"),
    "indices_far_out_of_range": (ValueError, "indices"),
    "indices_negative": (ValueError, "indices"),
    "data_shorter_than_indices": (ValueError, r"malformed.*(data|indptr)"),
    "indices_shorter_than_data": (ValueError, r"malformed.*(indices|indptr)"),
    "indices_float": (TypeError, "indices"),
    "indptr_float": (TypeError, "indptr"),
    "data_2d": (ValueError, "data"),
}

_case_per_kind("structure", CORRUPTIONS, RUNNERS, lambda k, n: (_corrupt(k), _target(n)))


def _corrupt_other(kind):
    """Corrupted CSR / COO / BSR / LIL input (converted by scipy's compiled code)."""
    if kind == "csr_indices_out_of_range":
        X = X0.tocsr()
        i = X.indices.copy()
        i[4] = P + 5
        return _raw_csc(X.data, i, X.indptr, fmt="csr")
    if kind == "csr_indptr_not_monotone":
        X = X0.tocsr()
        p = X.indptr.copy()
        p[3], p[4] = p[4], p[3]
        return _raw_csc(X.data, X.indices, p, fmt="csr")
    if kind == "coo_row_out_of_range":
        X = X0.tocoo()
        X.row[2] = N + 1
        return X
    if kind == "coo_col_negative":
        X = X0.tocoo()
        X.col[2] = -3
        return X
    if kind == "coo_length_mismatch":
        X = X0.tocoo()
        X.data = X.data[:-1]
        return X
    if kind == "bsr_block_index_out_of_range":
        X = X0.tobsr(blocksize=(2, 2))
        i = X.indices.copy()
        i[1] = 10**6
        X.indices = i
        return X
    if kind == "lil_row_lengths_differ":
        X = X0.tolil()
        X.data[4] = X.data[4][:-1]  # one value fewer than column indices in row 4
        return X
    raise KeyError(kind)  # pragma: no cover


for _kind in ("csr_indices_out_of_range", "csr_indptr_not_monotone",
              "coo_row_out_of_range", "coo_col_negative", "coo_length_mismatch",
              "bsr_block_index_out_of_range", "lil_row_lengths_differ"):
    for _name in ("Lasso", "Ridge", "LogisticRegression", "enet_path", "LassoCV"):
        _case(f"structure-{_kind}-{_name}",
              lambda k=_kind, n=_name: _raises(
                  ValueError, r"malformed|index|length", RUNNERS[n], _corrupt_other(k),
                  _target(n)))


# --------------------------------------------------------------------------------------
# 2. Inputs equivalent to the canonical matrix: results must be equal.
# --------------------------------------------------------------------------------------


def _equivalent(kind):
    """(input, canonical float64 CSC with the same values)."""
    X = X0
    d, i, p = X.data, X.indices, X.indptr
    if kind == "csc_unsorted_indices":
        order = np.concatenate([np.arange(p[j], p[j + 1])[::-1] for j in range(P)])
        return sp.csc_matrix((d[order], i[order], p), shape=X.shape), X
    if kind == "csc_duplicate_indices":
        # every entry split into two halves stored at the same row
        d2 = np.repeat(d / 2, 2)
        i2 = np.repeat(i, 2)
        return sp.csc_matrix((d2, i2, 2 * p), shape=X.shape), X
    if kind == "csc_stale_canonical_flag":
        # scipy caches has_canonical_format; permuting a column in place afterwards
        # leaves the cache True (unsorted indices behind a "canonical" flag)
        Xb = X.copy()
        assert Xb.has_canonical_format
        a, b = Xb.indptr[0], Xb.indptr[1]
        Xb.indices[a:b] = Xb.indices[a:b][::-1].copy()
        Xb.data[a:b] = Xb.data[a:b][::-1].copy()
        return Xb, X
    if kind == "csc_trailing_storage_junk":
        # data/indices longer than indptr[-1]: scipy ignores the tail (NaN, inf and out
        # of range indices there must not matter)
        return _raw_csc(np.r_[d, np.nan, np.inf, 7.0],
                        np.r_[i, -5, N + 9, 10**6].astype(i.dtype), p), X
    if kind == "csc_data_longer_than_indices":
        return _raw_csc(np.r_[d, 1.0, 2.0], i, p), X
    if kind == "csc_explicit_zeros":
        Xb = X.copy()
        Xb.data[::4] = 0.0
        Xc = Xb.copy()
        Xc.eliminate_zeros()
        return Xb, Xc
    if kind == "int64_indices":
        return _raw_csc(d, i.astype(np.int64), p.astype(np.int64)), X
    if kind == "int64_indices_int32_indptr":
        return _raw_csc(d, i.astype(np.int64), p.astype(np.int32)), X
    if kind == "uint32_indices":
        return _raw_csc(d, i.astype(np.uint32), p.astype(np.uint32)), X
    if kind == "uint64_indices":
        return _raw_csc(d, i.astype(np.uint64), p.astype(np.uint64)), X
    if kind == "int16_indices":
        return _raw_csc(d, i.astype(np.int16), p.astype(np.int16)), X
    if kind == "bigendian_indices":
        return _raw_csc(d, i.astype(">i4"), p.astype(">i4")), X
    if kind == "bigendian_data":
        return _raw_csc(d.astype(">f8"), i, p), X
    if kind == "bigendian_coo":
        # scipy refuses byte-swapped arrays in its constructors; assigned ones it keeps
        C = X.tocoo()
        C.data = C.data.astype(">f8")
        C.row, C.col = C.row.astype(">i8"), C.col.astype(">i8")
        return C, X
    if kind == "readonly_arrays":
        Xb = X.copy()
        for a in (Xb.data, Xb.indices, Xb.indptr):
            a.setflags(write=False)
        return Xb, X
    if kind == "noncontiguous_arrays":
        dd = np.zeros(2 * d.size)
        dd[::2] = d
        ii = np.zeros(2 * i.size, dtype=i.dtype)
        ii[::2] = i
        pp = np.zeros(2 * p.size, dtype=p.dtype)
        pp[::2] = p
        return _raw_csc(dd[::2], ii[::2], pp[::2]), X
    if kind == "int_data":
        Xi = X.copy()
        Xi.data = np.round(Xi.data * 4).astype(np.int64)
        return Xi, Xi.astype(np.float64)
    if kind == "uint8_data":
        Xi = X.copy()
        Xi.data = np.round(Xi.data * 4).astype(np.uint8)
        return Xi, Xi.astype(np.float64)
    if kind == "bool_data":
        Xb = X.astype(bool)
        return Xb, Xb.astype(np.float64)
    if kind == "float16_data":
        # scipy refuses float16 in its constructors; assigned data it keeps
        Xh = X.copy()
        Xh.data = Xh.data.astype(np.float16)
        return Xh, _raw_csc(Xh.data.astype(np.float64), i, p)
    if kind == "float16_dense":
        a = X.toarray().astype(np.float16)
        return a, sp.csc_matrix(a.astype(np.float64))
    if kind == "csr":
        return X.tocsr(), X
    if kind == "csr_unsorted":
        Xr = X.tocsr()
        q = Xr.indptr
        order = np.concatenate([np.arange(q[r], q[r + 1])[::-1] for r in range(N)])
        return sp.csr_matrix((Xr.data[order], Xr.indices[order], q), shape=X.shape), X
    if kind == "coo":
        return X.tocoo(), X
    if kind == "coo_duplicates":
        C = X.tocoo()
        return sp.coo_matrix((np.r_[C.data / 2, C.data / 2], (np.r_[C.row, C.row],
                                                                np.r_[C.col, C.col])),
                             shape=X.shape), X
    if kind == "lil":
        return X.tolil(), X
    if kind == "dok":
        return X.todok(), X
    if kind == "bsr":
        return X.tobsr(blocksize=(2, 2)), X
    if kind == "dia":
        return X.todia(), X
    if kind == "csc_array":
        return sp.csc_array(X), X
    if kind == "csr_array":
        return sp.csr_array(X), X
    if kind == "coo_array":
        return sp.coo_array(X), X
    if kind == "dense":
        return X.toarray(), X
    if kind == "dense_fortran":
        return np.asfortranarray(X.toarray()), X
    if kind == "dense_noncontiguous":
        big = np.zeros((N, 2 * P))
        big[:, ::2] = X.toarray()
        return big[:, ::2], X
    if kind == "dense_readonly":
        a = X.toarray()
        a.setflags(write=False)
        return a, X
    if kind == "dense_int":
        a = np.round(X.toarray() * 4).astype(np.int32)
        return a, sp.csc_matrix(a.astype(np.float64))
    if kind == "list_of_lists":
        return X.toarray().tolist(), X
    if kind == "dataframe":
        pd = pytest.importorskip("pandas")
        return pd.DataFrame(X.toarray(), columns=[f"f{j}" for j in range(P)]), X
    if kind == "dataframe_sparse":
        pd = pytest.importorskip("pandas")
        return pd.DataFrame.sparse.from_spmatrix(X), X
    raise KeyError(kind)  # pragma: no cover


EQUIVALENT_ALL = ["csc_unsorted_indices", "csc_duplicate_indices",
                  "csc_stale_canonical_flag", "csc_trailing_storage_junk",
                  "int64_indices", "uint32_indices", "readonly_arrays", "csr", "dense",
                  "csc_array"]
EQUIVALENT_SOME = ["csc_data_longer_than_indices", "csc_explicit_zeros",
                   "int64_indices_int32_indptr", "uint64_indices", "int16_indices",
                   "bigendian_indices", "bigendian_data", "bigendian_coo",
                   "noncontiguous_arrays", "int_data", "uint8_data", "bool_data",
                   "float16_data", "float16_dense", "csr_unsorted",
                   "coo", "coo_duplicates", "lil", "dok", "bsr", "dia", "csr_array",
                   "coo_array", "dense_fortran", "dense_noncontiguous", "dense_readonly",
                   "dense_int", "list_of_lists", "dataframe", "dataframe_sparse"]
SOME_RUNNERS = ["Lasso", "enet_path", "LassoCV", "Ridge", "RidgeCV",
                "LogisticRegression", "logistic_path", "select_features"]


def _check_equivalent(kind, name):
    Xin, Xref = _equivalent(kind)
    y = _target(name)
    snapshot = None
    if sp.issparse(Xin) and Xin.format in ("csc", "csr"):
        snapshot = [a.copy() for a in (Xin.data, Xin.indices, Xin.indptr)]
    out = RUNNERS[name](Xin, y)
    ref = _reference(name) if Xref is X0 else RUNNERS[name](Xref, y)
    _assert_same(out, ref)
    if snapshot is not None:  # the caller's arrays are never written to
        for a, b in zip(snapshot, (Xin.data, Xin.indices, Xin.indptr)):
            assert_array_equal(a, b)


for _kind in EQUIVALENT_ALL:
    for _name in RUNNERS:
        _case(f"equivalent-{_kind}-{_name}",
              lambda k=_kind, n=_name: _check_equivalent(k, n))
for _kind in EQUIVALENT_SOME:
    for _name in SOME_RUNNERS:
        _case(f"equivalent-{_kind}-{_name}",
              lambda k=_kind, n=_name: _check_equivalent(k, n))


# Memory-mapped arrays (np.load(..., mmap_mode="r"), as fastsparse.io.load_csc returns)
# take their own, block-wise validation path (fastsparse._mmap_passes.check_mapped_csc).


def _mapped(d, i, p, directory):
    arrays = []
    for tag, a in (("data", d), ("indices", i), ("indptr", p)):
        path = os.path.join(directory, f"{tag}.npy")
        np.save(path, a)
        arrays.append(np.load(path, mmap_mode="r"))
    return _raw_csc(*arrays)


def _mapped_arrays(kind):
    d, i, p = X0.data, X0.indices, X0.indptr
    if kind == "plain":
        return d, i, p
    if kind == "unsorted_indices":
        order = np.concatenate([np.arange(p[j], p[j + 1])[::-1] for j in range(P)])
        return d[order], i[order], p
    if kind == "trailing_storage_junk":
        return np.r_[d, np.nan], np.r_[i, 10**6].astype(i.dtype), p
    if kind == "int64_indices":
        return d, i.astype(np.int64), p.astype(np.int64)
    if kind == "bigendian_data":
        return d.astype(">f8"), i, p
    if kind == "bigendian_indices":
        return d, i.astype(">i4"), p.astype(">i4")
    if kind == "indices_out_of_range":
        return d, np.r_[i[:-1], N].astype(i.dtype), p
    if kind == "indices_negative":
        return d, np.r_[-1, i[1:]].astype(i.dtype), p
    if kind == "indptr_not_monotone":
        q = p.copy()
        q[5], q[6] = q[6], q[5]
        return d, i, q
    if kind == "indptr_last_exceeds_nnz":
        q = p.copy()
        q[-1] += 5
        return d, i, q
    if kind == "nan_in_data":
        return np.r_[np.nan, d[1:]], i, p
    raise KeyError(kind)  # pragma: no cover


MAPPED_INVALID = {
    "indices_out_of_range": (ValueError, "indices"),
    "indices_negative": (ValueError, "indices"),
    "indptr_not_monotone": (ValueError, "indptr"),
    "indptr_last_exceeds_nnz": (ValueError, r"indptr\[-1\]"),
    "nan_in_data": (ValueError, r"(?i)nan"),
}


def _check_mapped(kind, name):
    from fastsparse._mmap_passes import is_mapped
    y = _target(name)
    with tempfile.TemporaryDirectory() as directory:
        Xm = _mapped(*_mapped_arrays(kind), directory)
        assert is_mapped(Xm)
        if kind in MAPPED_INVALID:
            exc, msg = MAPPED_INVALID[kind]
            _raises(exc, msg, RUNNERS[name], Xm, y)
        else:
            _assert_same(RUNNERS[name](Xm, y), _reference(name))
        del Xm


for _kind in ("plain", "unsorted_indices", "trailing_storage_junk", "int64_indices",
              "bigendian_data", "bigendian_indices", *MAPPED_INVALID):
    for _name in SOME_RUNNERS:
        _case(f"mapped-{_kind}-{_name}", lambda k=_kind, n=_name: _check_mapped(k, n))


for _name in RUNNERS:
    # as scikit-learn: np.matrix is refused with a TypeError naming it
    _case(f"container-np_matrix-{_name}",
          lambda n=_name: _raises(TypeError, r"np\.matrix", RUNNERS[n],
                                  np.asmatrix(X0.toarray()), _target(n)))


def _check_float32(name):
    # float32 input is supported (and stays float32); the solution must agree with the
    # float64 fit on the same float32-representable values to float32 accuracy.
    X32 = X0.astype(np.float32)
    y = _target(name)
    out = RUNNERS[name](X32, y)
    ref = RUNNERS[name](X32.astype(np.float64), y)
    assert out.shape == ref.shape
    assert_allclose(out, ref, rtol=2e-4, atol=2e-5)


for _name in SOME_RUNNERS:
    _case(f"equivalent-float32-{_name}", lambda n=_name: _check_float32(n))


# --------------------------------------------------------------------------------------
# 3. Values that cannot be fitted: non-numeric X, NaN / inf, bad weights and targets.
# --------------------------------------------------------------------------------------


def _bad_x(kind):
    X = X0.copy()
    if kind == "nan_in_data":
        X.data[5] = np.nan
    elif kind == "inf_in_data":
        X.data[5] = np.inf
    elif kind == "neginf_in_data":
        X.data[-1] = -np.inf
    elif kind == "nan_dense":
        X = X0.toarray()
        X[2, 3] = np.nan
    elif kind == "complex_data":
        X = X.astype(np.complex128)
    elif kind == "complex_dense":
        X = X0.toarray().astype(np.complex128)
    elif kind == "object_strings":
        X = X0.toarray().astype(object)
        X[0, 0] = "a"
    elif kind == "object_sparse":
        X = _raw_csc(X0.data.astype(object), X0.indices, X0.indptr)
        X.data[0] = "a"
    elif kind == "string_dense":
        X = np.full((N, P), "x")
    else:  # pragma: no cover
        raise KeyError(kind)
    return X


BAD_X = {
    "nan_in_data": (ValueError, r"(?i)nan"),
    "inf_in_data": (ValueError, r"(?i)inf"),
    "neginf_in_data": (ValueError, r"(?i)inf"),
    "nan_dense": (ValueError, r"(?i)nan"),
    "complex_data": ((TypeError, ValueError), r"(?i)complex"),
    "complex_dense": ((TypeError, ValueError), r"(?i)complex"),
    "object_strings": ((TypeError, ValueError), r"(?i)convert|float|numeric|dtype"),
    "object_sparse": ((TypeError, ValueError), r"(?i)convert|float|numeric|dtype"),
    "string_dense": ((TypeError, ValueError), r"(?i)convert|float|numeric|dtype"),
}

_case_per_kind("bad_x", BAD_X, RUNNERS, lambda k, n: (_bad_x(k), _target(n)))


# Extreme scales of X: |x| above about 1.3e154 squares to inf in float64 (with an
# intercept the centered column norm is then inf - inf = NaN), below about 1.5e-162 to
# 0. Such columns looked all-zero (all-zero coefficients, silently) or made NaN
# coefficients with only RuntimeWarnings: now a clear error from every solver family
# (elastic net, logistic, ridge), raised where the column norms are computed.
# logistic_c_min computes no column norm (its X^T (y - p0) is exact at these scales).

SCALE_RUNNERS = [n for n in RUNNERS if n != "logistic_c_min"]
SCALE_ERRORS = {
    1e200: r"^X has values too large: the squared norm of column {col}{more} overflows "
           r"float64 \(largest magnitude .*\); rescale X",
    1e-200: r"^X has values too small: the squared norm of column {col}{more} "
            r"underflows to 0 in float64 \(largest magnitude .*\); rescale X",
}
ALL_COLUMNS = r" \(and 19 other columns\)"


def _scale_error(scale, col=0, more=ALL_COLUMNS):
    return SCALE_ERRORS[scale].format(col=col, more=more)


def _one_column_scaled(col, scale):
    X = X0.copy()
    X.data[X.indptr[col]:X.indptr[col + 1]] *= scale
    return X


SCALE_VARIANTS = {
    # every family without intercept (an uncentered norm: inf rather than NaN) and the
    # ridge solvers, which share RidgeData's column statistics
    "Lasso_no_intercept": lambda X: fs.Lasso(alpha=0.02, fit_intercept=False).fit(X, Y0),
    "LogisticRegression_no_intercept": lambda X: fs.LogisticRegression(
        fit_intercept=False).fit(X, L0),
    "Ridge_no_intercept": lambda X: fs.Ridge(fit_intercept=False).fit(X, Y0),
    "Ridge_cd": lambda X: fs.Ridge(solver="cd").fit(X, Y0),
    "Ridge_cg": lambda X: fs.Ridge(solver="cg").fit(X, Y0),
    "Ridge_dual": lambda X: fs.Ridge(solver="dual").fit(X, Y0),
    "Ridge_positive": lambda X: fs.Ridge(positive=True).fit(X, Y0),
    "LogisticRegression_weighted": lambda X: fs.LogisticRegression().fit(
        X, L0, sample_weight=np.linspace(0.5, 2.0, N)),
    "Lasso_weighted": lambda X: fs.Lasso(alpha=0.02).fit(
        X, Y0, sample_weight=np.linspace(0.5, 2.0, N)),
}

for _scale in SCALE_ERRORS:
    for _name in SCALE_RUNNERS:
        _case(f"scale-X_times_{_scale:g}-{_name}",
              lambda s=_scale, n=_name: _raises(
                  ValueError, _scale_error(s), RUNNERS[n], X0 * s, _target(n)))
    for _name, _fit_fn in SCALE_VARIANTS.items():
        _case(f"scale-X_times_{_scale:g}-{_name}",
              lambda s=_scale, f=_fit_fn: _raises(ValueError, _scale_error(s), f, X0 * s))
    for _name in ("Lasso", "LogisticRegression", "Ridge", "lasso_path"):
        # one column out of range among ordinary ones: named, and no "other columns"
        _case(f"scale-column_7_times_{_scale:g}-{_name}",
              lambda s=_scale, n=_name: _raises(
                  ValueError, _scale_error(s, col=7, more=""), RUNNERS[n],
                  _one_column_scaled(7, s), _target(n)))


def _check_zero_norm_columns_are_not_underflow(name, kind):
    # A column whose (centered / weighted) squared norm is legitimately 0 is not an
    # underflow: a constant column with an intercept, a column of explicit zeros, a
    # column stored only in rows of weight 0. Each gives the fit without that column
    # (coefficient exactly 0).
    j, y = 5, _target(name)
    keep = np.ones(N, dtype=bool)
    sw = None
    dense = X0.toarray()
    if kind == "constant_column":
        dense[:, j] = 3.0
        X = sp.csc_matrix(dense)
    elif kind == "explicit_zero_column":
        X = X0.copy()
        X.data[X.indptr[j]:X.indptr[j + 1]] = 0.0  # stored, all zero
    else:  # column stored only in rows of weight 0
        rows = np.flatnonzero(dense[:, j])
        keep[rows] = False
        sw = keep.astype(np.float64)
        X = X0
    est = {"Lasso": fs.Lasso(alpha=0.02, tol=1e-12), "Ridge": fs.Ridge(tol=1e-12),
           "LogisticRegression": fs.LogisticRegression(tol=1e-12)}[name]
    est.fit(X, y, sample_weight=sw)
    assert np.all(np.asarray(est.coef_)[..., j] == 0)
    others = np.delete(np.arange(P), j)
    ref = sp.csc_matrix(np.delete(dense if kind != "weight_zero_rows" else X0.toarray(),
                                  j, axis=1))
    ref_est = type(est)(**est.get_params())
    if sw is None:
        ref_est.fit(ref, y)
    else:
        ref_est.fit(ref[keep], y[keep])
    assert_allclose(np.asarray(est.coef_)[..., others], ref_est.coef_, rtol=1e-6,
                    atol=1e-8)
    assert_allclose(est.intercept_, ref_est.intercept_, rtol=1e-6, atol=1e-8)


for _name in ("Lasso", "Ridge", "LogisticRegression"):
    for _kind in ("constant_column", "explicit_zero_column", "weight_zero_rows"):
        _case(f"scale-zero_norm_{_kind}_is_not_underflow-{_name}",
              lambda n=_name, k=_kind: _check_zero_norm_columns_are_not_underflow(n, k))


# Ordinary scales still fit, and match the unscaled fit: with X -> s X the solution is
# w / s when the penalty is rescaled with it (Lasso alpha * s, logistic C / s, ridge
# alpha * s^2; the automatic grids follow by themselves). The solvers' tolerances are
# relative (to the null model, or to ||w||), so the same tol gives the same accuracy.

SCALED_FITS = {
    "Lasso": lambda X, s: _flat(
        *_scaled_attrs(fs.Lasso(alpha=0.02 * s, tol=1e-12).fit(X, Y0), s)),
    "LassoCV": lambda X, s: _scaled_cv(
        fs.LassoCV(n_alphas=5, cv=3, tol=1e-10).fit(X, Y0), s),
    "lasso_path": lambda X, s: _scaled_path(
        fs.lasso_path(X, Y0, n_alphas=5, tol=1e-12), s, grid_power=1),
    "LogisticRegression": lambda X, s: _flat(
        *_scaled_attrs(fs.LogisticRegression(C=1.0 / s, tol=1e-12).fit(X, L0), s)),
    "logistic_path": lambda X, s: _scaled_path(
        fs.logistic_path(X, L0, n_Cs=4, tol=1e-12), s, grid_power=-1),
    "Ridge": lambda X, s: _flat(
        *_scaled_attrs(fs.Ridge(alpha=s * s, tol=1e-12).fit(X, Y0), s)),
    "Ridge_cg": lambda X, s: _flat(
        *_scaled_attrs(fs.Ridge(alpha=s * s, solver="cg", tol=1e-12).fit(X, Y0), s)),
    "RidgeCV": lambda X, s: _flat(
        *_scaled_attrs(fs.RidgeCV(alphas=np.array([0.1, 1.0, 10.0]) * s * s).fit(X, Y0),
                       s)),
}


def _scaled_attrs(est, s):
    """coef_ and intercept_ of a fit on s X, in the scale of the fit on X."""
    return np.asarray(est.coef_) * s, est.intercept_


def _scaled_cv(est, s):
    # the grid follows the scale: alpha_ / s; the held-out errors do not change
    return _flat(*_scaled_attrs(est, s), est.alpha_ / s, est.mse_path_)


def _scaled_path(res, s, grid_power):
    grid = res.Cs if hasattr(res, "Cs") else res.alphas
    coefs = res.coefs.toarray() if sp.issparse(res.coefs) else res.coefs
    return _flat(grid / s ** grid_power, coefs * s, res.intercepts)


def _check_ordinary_scale(name, s):
    out = SCALED_FITS[name](X0 * s, s)
    ref = SCALED_FITS[name](X0, 1.0)
    _assert_same(out, ref)


def _check_ridge_closed_form_scaled(s):
    # and against the closed form on the scaled data itself
    X = X0.toarray() * s
    alpha = 1.0 * s * s
    Xc, yc = X - X.mean(axis=0), Y0 - Y0.mean()
    w = np.linalg.solve(Xc.T @ Xc + alpha * np.eye(P), Xc.T @ yc)
    for solver in ("auto", "cg", "dual", "cholesky"):
        est = fs.Ridge(alpha=alpha, solver=solver, tol=1e-12).fit(X0 * s, Y0)
        assert_allclose(est.coef_ * s, w * s, rtol=1e-8, atol=1e-10)
        assert est.intercept_ == pytest.approx(Y0.mean() - X.mean(axis=0) @ w, rel=1e-10)


for _s in (1e-8, 1e-4, 1e4, 1e8):
    for _name in SCALED_FITS:
        _case(f"scale-X_times_{_s:g}_matches_unscaled-{_name}",
              lambda n=_name, s=_s: _check_ordinary_scale(n, s))
    _case(f"scale-X_times_{_s:g}_matches_closed_form-Ridge",
          lambda s=_s: _check_ridge_closed_form_scaled(s))


def _bad_weight(kind):
    sw = np.ones(N)
    if kind == "nan":
        sw[3] = np.nan
    elif kind == "inf":
        sw[3] = np.inf
    elif kind == "negative":
        sw[3] = -1.0
    elif kind == "all_zero":
        sw[:] = 0.0
    elif kind == "too_short":
        sw = sw[:-1]
    elif kind == "too_long":
        sw = np.ones(N + 1)
    elif kind == "2d":
        sw = np.ones((N, 2))
    elif kind == "strings":
        sw = np.array(["a"] * N)
    else:  # pragma: no cover
        raise KeyError(kind)
    return sw


BAD_WEIGHTS = {
    "nan": (ValueError, r"(?i)sample_weight.*(nan|inf)"),
    "inf": (ValueError, r"(?i)sample_weight.*(nan|inf)"),
    "negative": (ValueError, r"(?i)sample_weight.*negative"),
    "all_zero": (ValueError, r"(?i)(sample_weight|weight).*(zero|positive)"),
    "too_short": (ValueError, r"sample_weight.*shape"),
    "too_long": (ValueError, r"sample_weight.*shape"),
    "2d": (ValueError, r"sample_weight.*shape"),
    "strings": (TypeError, r"sample_weight.*numeric"),
}

_case_per_kind("bad_weight", BAD_WEIGHTS, RUNNERS,
               lambda k, n: (X0, _target(n), _bad_weight(k)))


def _check_zero_weight_rows(name):
    # Zero weights drop rows: the same fit as on the other rows only (least squares:
    # weights are rescaled to sum to n, so the kept rows then weigh n/(n-k) each, which
    # is the unweighted fit on them; logistic: raw weights, which is the same).
    keep = np.ones(N, dtype=bool)
    keep[[1, 7, 8, 20]] = False
    sw = keep.astype(np.float64)
    y = _target(name)
    out = RUNNERS[name](X0, y, sw)
    ref = RUNNERS[name](X0[keep], y[keep])
    _assert_same(out, ref)


for _name in RUNNERS:
    # not for the CV-like ones (other folds / subsamples on fewer rows) nor RidgeCV's
    # leave-one-out (it also leaves out the zero-weight rows)
    if _name not in CV_LIKE and _name != "RidgeCV":
        _case(f"weights-zero_rows_drop_rows-{_name}",
              lambda n=_name: _check_zero_weight_rows(n))


RAW_WEIGHTS = {"Ridge", "RidgeCV", "RidgeCV_kfold", *CLASSIFICATION}


def _check_extreme_uniform_weights(name, value):
    # Equal weights c: the least-squares models rescale them away (the fit equals the
    # unweighted one however large or small c is, as long as it is finite and > 0);
    # the raw-weight models (ridge, logistic) sum them into the objective, which
    # overflows for 1e308 * n: a clear error, not all-zero coefficients.
    sw = np.full(N, value)
    y = _target(name)
    if name not in RAW_WEIGHTS:
        _assert_same(RUNNERS[name](X0, y, sw), _reference(name))
    elif value > 1:
        _raises(ValueError, r"sample_weight.*sums to more", RUNNERS[name], X0, y, sw)
    else:
        # tiny weights: the penalty dominates, every coefficient is (numerically) zero
        est = {"Ridge": fs.Ridge, "LogisticRegression": fs.LogisticRegression}[name]()
        est.fit(X0, y, sample_weight=sw)
        assert np.all(np.abs(est.coef_) < 1e-290)


for _name in RUNNERS:
    _case(f"weights-uniform_1e308-{_name}",
          lambda n=_name: _check_extreme_uniform_weights(n, 1e308))
for _name in [*[n for n in RUNNERS if n not in RAW_WEIGHTS], "Ridge",
              "LogisticRegression"]:
    _case(f"weights-uniform_1e-320-{_name}",
          lambda n=_name: _check_extreme_uniform_weights(n, 1e-320))


def _bad_y(kind, name):
    y = _target(name).astype(np.float64)
    if kind == "nan":
        y[4] = np.nan
    elif kind == "inf":
        y[4] = np.inf
    elif kind == "too_short":
        y = y[:-1]
    elif kind == "too_long":
        y = np.r_[y, y[0]]
    elif kind == "empty":
        y = y[:0]
    elif kind == "2d_two_columns":
        y = np.c_[y, y]
    elif kind == "3d":
        y = y[:, None, None]
    elif kind == "strings":
        y = np.array(["a%d" % (k % 7) for k in range(N)]) if name in REGRESSION else None
    elif kind == "none":
        y = None
    else:  # pragma: no cover
        raise KeyError(kind)
    return y


BAD_Y = {
    "nan": (ValueError, r"(?i)nan|label"),
    "inf": (ValueError, r"(?i)inf|label"),
    "too_short": (ValueError, r"(?i)entries|samples|length|inconsistent"),
    "too_long": (ValueError, r"(?i)entries|samples|length|inconsistent"),
    "empty": (ValueError, r"(?i)entries|samples|length|inconsistent|0 sample"),
    "2d_two_columns": (ValueError, r"(?i)1-?d|shape"),
    "3d": (ValueError, r"(?i)1-?d|shape|dim"),
    "strings": (ValueError, r"(?i)convert|float|numeric|dtype"),
    # estimators: scikit-learn's "requires y to be passed"; functions: "y is None" (was
    # "Input y contains NaN") or, for the logistic ones, "y should be a 1d array"
    "none": (ValueError, r"(?i)requires y|y is None|1d array"),
}



def _skip_bad_y(kind, name):
    # string labels are valid for the classifiers, two target columns for multi-target
    # ridge (both tested below)
    return ((kind == "strings" and name in CLASSIFICATION)
            or (kind == "2d_two_columns" and name in ("Ridge", "RidgeCV", "RidgeCV_kfold")))


_case_per_kind("bad_y", BAD_Y, RUNNERS, lambda k, n: (X0, _bad_y(k, n)), skip=_skip_bad_y)


def _check_y_column(name):
    # y of shape (n, 1) is accepted as 1-D (scikit-learn's DataConversionWarning).
    y = _target(name)
    out = RUNNERS[name](X0, y[:, None])
    _assert_same(out, _reference(name))


for _name in RUNNERS:
    if _name not in ("Ridge", "RidgeCV", "RidgeCV_kfold"):
        _case(f"target-column_vector-{_name}", lambda n=_name: _check_y_column(n))


def _check_y_container(name, kind):
    y = _target(name)
    if kind == "sparse_column":
        y = sp.csr_matrix(y.reshape(-1, 1))
    elif kind == "list":
        y = y.tolist()
    elif kind == "series":
        pd = pytest.importorskip("pandas")
        y = pd.Series(y, index=np.arange(N)[::-1])  # the index is not the row order
    _assert_same(RUNNERS[name](X0, y), _reference(name))


for _name in RUNNERS:
    for _kind in ("sparse_column", "list", "series"):
        _case(f"target-{_kind}-{_name}",
              lambda n=_name, k=_kind: _check_y_container(n, k))


def _check_ridge_two_targets(name):
    est = {"Ridge": fs.Ridge(alpha=1.0, tol=1e-12),
           "RidgeCV": fs.RidgeCV(alphas=(0.1, 1.0, 10.0), alpha_per_target=True)}[name]
    Y = np.c_[Y0, -2 * Y0 + 1]
    est.fit(X0, Y)
    for k in range(2):
        one = {"Ridge": fs.Ridge(alpha=1.0, tol=1e-12),
               "RidgeCV": fs.RidgeCV(alphas=(0.1, 1.0, 10.0))}[name].fit(X0, Y[:, k])
        assert_allclose(est.coef_[k], one.coef_, rtol=1e-8, atol=1e-10)
        assert_allclose(est.intercept_[k], one.intercept_, rtol=1e-8, atol=1e-10)


for _name in ("Ridge", "RidgeCV"):
    _case(f"target-two_columns-{_name}", lambda n=_name: _check_ridge_two_targets(n))


def _check_constant_y(name):
    y = np.full(N, 3.5)
    if name == "select_features":
        # no feature ever enters: the nearest count (0) is returned, not exact
        res = fs.select_features(X0, y, n_features=3)
        assert res.n_selected == 0 and not res.exact
        assert res.intercept == pytest.approx(3.5)
        return
    if name == "StabilitySelection":
        sel = fs.StabilitySelection(n_bootstrap=3, n_alphas=5, random_state=0).fit(X0, y)
        assert not sel.support_.any()
        return
    if name == "alpha_grid":
        a = fs.alpha_grid(X0, y, n_alphas=5)
        assert a.shape == (5,) and np.all(np.isfinite(a)) and np.all(a > 0)
        return
    if name in ("lasso_path", "enet_path"):
        r = (fs.lasso_path(X0, y, n_alphas=5) if name == "lasso_path"
             else fs.enet_path(X0, y, n_alphas=5))
        assert np.all(np.asarray(r.coefs) == 0)
        assert_allclose(r.intercepts, 3.5)
        return
    est = {"Lasso": fs.Lasso(alpha=0.02), "ElasticNet": fs.ElasticNet(alpha=0.02),
           "LassoCV": fs.LassoCV(n_alphas=5, cv=3),
           "ElasticNetCV": fs.ElasticNetCV(n_alphas=5, cv=3),
           "Ridge": fs.Ridge(alpha=1.0), "RidgeCV": fs.RidgeCV(),
           "RidgeCV_kfold": fs.RidgeCV(cv=3)}[name]
    est.fit(X0, y)
    assert_allclose(est.coef_, 0.0, atol=1e-12)
    assert est.intercept_ == pytest.approx(3.5)
    assert_allclose(est.predict(X0), 3.5)


for _name in REGRESSION:
    _case(f"target-constant-{_name}", lambda n=_name: _check_constant_y(n))


# Classification targets


def _labels(kind):
    if kind == "single_class":
        return np.ones(N, dtype=int)
    if kind == "continuous":
        return Y0
    if kind == "nan_label":
        y = L0.astype(np.float64)
        y[2] = np.nan
        return y
    if kind == "none_in_objects":
        y = L0.astype(object)
        y[2] = None
        return y
    if kind == "three_classes":
        return np.arange(N) % 3
    raise KeyError(kind)  # pragma: no cover


BAD_LABELS = {
    "single_class": (ValueError, r"(?i)class"),
    "continuous": (ValueError, r"(?i)unknown label type|continuous"),
    "nan_label": (ValueError, r"(?i)nan|label"),
    "none_in_objects": ((ValueError, TypeError), r"(?i)label|mix|none|type"),
}

_case_per_kind("labels", BAD_LABELS, CLASSIFICATION, lambda k, n: (X0, _labels(k)))

for _name in ("logistic_path", "logistic_c_min", "select_features_logistic",
              "StabilitySelection_logistic"):
    _case(f"labels-three_classes-{_name}",
          lambda n=_name: _raises(ValueError, r"(?i)binary|2 classes|two classes|classes",
                                  RUNNERS[n], X0, _labels("three_classes")))


def _check_string_labels(name):
    # Labels are only names: "no" < "yes" in the same order as 0 < 1.
    y = np.where(L0 == 1, "yes", "no")
    _assert_same(RUNNERS[name](X0, y), _reference(name))


def _check_bool_labels(name):
    _assert_same(RUNNERS[name](X0, L0.astype(bool)), _reference(name))


def _check_pm1_float_labels(name):
    _assert_same(RUNNERS[name](X0, np.where(L0 == 1, 1.0, -1.0)), _reference(name))


for _name in CLASSIFICATION:
    _case(f"labels-strings-{_name}", lambda n=_name: _check_string_labels(n))
    _case(f"labels-bool-{_name}", lambda n=_name: _check_bool_labels(n))
    _case(f"labels-plus_minus_one_floats-{_name}",
          lambda n=_name: _check_pm1_float_labels(n))


def _check_multiclass_strings():
    # One-vs-rest with string labels: each row equals the binary fit of that class.
    y = np.array(["b", "a", "c"])[np.arange(N) % 3]
    est = fs.LogisticRegression(C=1.0, tol=1e-12).fit(X0, y)
    assert list(est.classes_) == ["a", "b", "c"]
    for k, c in enumerate(est.classes_):
        one = fs.LogisticRegression(C=1.0, tol=1e-12).fit(X0, (y == c).astype(int))
        assert_allclose(est.coef_[k], one.coef_[0], rtol=1e-8, atol=1e-10)
    assert set(est.predict(X0)) <= {"a", "b", "c"}


_case("labels-multiclass_strings-LogisticRegression", _check_multiclass_strings)


# --------------------------------------------------------------------------------------
# 4. Degenerate shapes
# --------------------------------------------------------------------------------------

for _name in RUNNERS:
    _case(f"shape-zero_rows-{_name}",
          lambda n=_name: _raises(ValueError, r"(?i)0 sample|empty|n_samples",
                                  RUNNERS[n], sp.csc_matrix((0, P)), _target(n)[:0]))
    _case(f"shape-zero_columns-{_name}",
          lambda n=_name: _raises(ValueError, r"(?i)0 feature|empty|n_features",
                                  RUNNERS[n], sp.csc_matrix((N, 0)), _target(n)))
    _case(f"shape-zero_rows_dense-{_name}",
          lambda n=_name: _raises(ValueError, r"(?i)0 sample|empty|n_samples",
                                  RUNNERS[n], np.zeros((0, P)), _target(n)[:0]))


ZERO_COLUMN_ESTIMATORS = {
    "Lasso": lambda: fs.Lasso(alpha=0.02, tol=1e-12),
    "ElasticNet": lambda: fs.ElasticNet(alpha=0.02, tol=1e-12),
    "LassoCV": lambda: fs.LassoCV(n_alphas=5, cv=3, tol=1e-10),
    "ElasticNetCV": lambda: fs.ElasticNetCV(l1_ratio=[0.3, 0.9], n_alphas=4, cv=3,
                                            tol=1e-10),
    "Ridge": lambda: fs.Ridge(alpha=1.0, tol=1e-12),
    "RidgeCV": lambda: fs.RidgeCV(alphas=(0.1, 1.0, 10.0)),
    "RidgeCV_kfold": lambda: fs.RidgeCV(alphas=(0.1, 1.0, 10.0), cv=3, tol=1e-12),
    "LogisticRegression": lambda: fs.LogisticRegression(tol=1e-12),
    "LogisticRegressionCV": lambda: fs.LogisticRegressionCV(Cs=3, cv=3, tol=1e-10),
}


def _with_zero_column():
    """X0 with column 6 emptied, and the indices of the other columns."""
    keep = np.r_[0:6, 7:P]
    Xz = X0[:, keep]
    Xz = sp.hstack([Xz[:, :6], sp.csc_matrix((N, 1)), Xz[:, 6:]], format="csc")
    return Xz, keep


def _check_zero_column(name):
    # A column of zeros never enters; everything else (the grid, the selected
    # regularization, the other coefficients) equals the fit without it.
    Xz, keep = _with_zero_column()
    y = _target(name)
    if name in ZERO_COLUMN_ESTIMATORS:
        full = ZERO_COLUMN_ESTIMATORS[name]().fit(Xz, y)
        sub = ZERO_COLUMN_ESTIMATORS[name]().fit(Xz[:, keep], y)
        a, b = np.atleast_2d(full.coef_), np.atleast_2d(sub.coef_)
        # exactly 0, except from RidgeCV's eigendecomposition (1e-14, as scikit-learn's)
        assert_allclose(a[:, 6], 0.0, atol=1e-12)
        assert_allclose(a[:, keep], b, rtol=1e-7, atol=1e-9)
        assert_allclose(full.intercept_, sub.intercept_, rtol=1e-7, atol=1e-9)
        for attr in ("alpha_", "l1_ratio_", "C_"):
            if hasattr(sub, attr):
                assert_array_equal(getattr(full, attr), getattr(sub, attr))
    elif name in ("lasso_path", "enet_path"):
        f = fs.lasso_path if name == "lasso_path" else fs.enet_path
        a, b = f(Xz, y, n_alphas=5, tol=1e-12), f(Xz[:, keep], y, n_alphas=5, tol=1e-12)
        assert_allclose(a.alphas, b.alphas, rtol=1e-12)
        assert np.all(np.asarray(a.coefs)[6] == 0)
        assert_allclose(np.asarray(a.coefs)[keep], b.coefs, rtol=1e-7, atol=1e-9)
    elif name == "logistic_path":
        a = fs.logistic_path(Xz, y, n_Cs=4, tol=1e-12, coef_format="dense")
        b = fs.logistic_path(Xz[:, keep], y, n_Cs=4, tol=1e-12, coef_format="dense")
        assert_allclose(a.Cs, b.Cs, rtol=1e-12)
        assert np.all(a.coefs[6] == 0)
        assert_allclose(a.coefs[keep], b.coefs, rtol=1e-7, atol=1e-9)
    elif name in ("select_features", "select_features_logistic"):
        model = "logistic" if name.endswith("logistic") else "lasso"
        a = fs.select_features(Xz, y, n_features=3, model=model)
        b = fs.select_features(Xz[:, keep], y, n_features=3, model=model)
        assert_array_equal(a.indices, keep[b.indices])
        assert_allclose(a.coef, b.coef, rtol=1e-7, atol=1e-9)
    else:
        raise KeyError(name)  # pragma: no cover


for _name in (*ZERO_COLUMN_ESTIMATORS, "lasso_path", "enet_path", "logistic_path",
              "select_features", "select_features_logistic"):
    _case(f"shape-zero_column-{_name}", lambda n=_name: _check_zero_column(n))


def _sk_lasso(X, y, alpha, l1_ratio=1.0):
    from sklearn.linear_model import ElasticNet
    m = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-14, max_iter=100000)
    m.fit(np.asarray(X.toarray() if sp.issparse(X) else X), y)
    return m.coef_, m.intercept_


def _check_lasso_path_vs_sklearn(X, alphas):
    """fastsparse.lasso_path (no intercept) against scikit-learn's on the same alphas."""
    from sklearn.linear_model import lasso_path
    r = fs.lasso_path(X, Y0, alphas=alphas, fit_intercept=False, tol=1e-14)
    _, ref, _ = lasso_path(X.toarray(), Y0, alphas=alphas, tol=1e-14, max_iter=100000)
    assert_allclose(np.asarray(r.coefs), ref, rtol=1e-7, atol=1e-9)


def _check_lasso_cv_vs_sklearn(X):
    """fastsparse.LassoCV against scikit-learn's on the same alphas and folds."""
    from sklearn.linear_model import LassoCV
    from sklearn.model_selection import KFold
    est = fs.LassoCV(n_alphas=6, cv=KFold(3), tol=1e-12).fit(X, Y0)
    ref = LassoCV(alphas=est.alphas_, cv=KFold(3), tol=1e-12,
                  max_iter=100000).fit(X.toarray(), Y0)
    assert est.alpha_ == ref.alpha_
    assert_allclose(est.mse_path_, ref.mse_path_, rtol=1e-6)
    assert_allclose(est.coef_, ref.coef_, rtol=1e-7, atol=1e-9)


def _check_one_column(name):
    X1 = X0[:, [0]]
    if name in ("Lasso", "ElasticNet"):
        l1 = 1.0 if name == "Lasso" else 0.5
        est = (fs.Lasso(alpha=0.02, tol=1e-14) if name == "Lasso"
               else fs.ElasticNet(alpha=0.02, l1_ratio=0.5, tol=1e-14)).fit(X1, Y0)
        coef, b = _sk_lasso(X1, Y0, 0.02, l1)
        assert_allclose(est.coef_, coef, rtol=1e-7, atol=1e-9)
        assert est.intercept_ == pytest.approx(b, rel=1e-7)
    elif name == "Ridge":
        from sklearn.linear_model import Ridge
        est = fs.Ridge(alpha=1.0, tol=1e-12).fit(X1, Y0)
        ref = Ridge(alpha=1.0).fit(X1.toarray(), Y0)
        assert_allclose(est.coef_, ref.coef_, rtol=1e-8)
        assert est.intercept_ == pytest.approx(ref.intercept_, rel=1e-8)
    elif name == "LogisticRegression":
        est = fs.LogisticRegression(C=1.0, tol=1e-14).fit(X1, L0)
        _assert_logistic_kkt(X1, L0, est.coef_[0], est.intercept_[0], C=1.0)
    elif name == "lasso_path":
        _check_lasso_path_vs_sklearn(X1, np.array([0.5, 0.1, 0.01]))
    elif name == "LassoCV":
        _check_lasso_cv_vs_sklearn(X1)
    elif name == "RidgeCV":
        from sklearn.linear_model import RidgeCV
        est = fs.RidgeCV(alphas=(0.1, 1.0, 10.0)).fit(X1, Y0)
        ref = RidgeCV(alphas=(0.1, 1.0, 10.0)).fit(X1.toarray(), Y0)
        assert est.alpha_ == ref.alpha_
        assert_allclose(est.coef_, ref.coef_, rtol=1e-7)
    elif name == "select_features":
        res = fs.select_features(X1, Y0, n_features=1)
        assert list(res.indices) == [0] and res.exact
    else:
        raise KeyError(name)  # pragma: no cover


def _assert_logistic_kkt(X, y01, w, b, C, l1_ratio=1.0, sw=None, atol=1e-6):
    """Optimality of C sum s log(1 + exp(-y m)) + sum (l1 |w| + (1-l1)/2 w^2)."""
    Xd = X.toarray() if sp.issparse(X) else np.asarray(X)
    ypm = np.where(np.asarray(y01) == 1, 1.0, -1.0)
    s = np.ones(len(ypm)) if sw is None else sw
    m = Xd @ w + b
    r = -ypm * s / (1.0 + np.exp(ypm * m))  # d loss / d margin
    grad = C * (Xd.T @ r) + (1 - l1_ratio) * w
    assert abs(C * r.sum()) < atol
    nz = w != 0
    assert_allclose(grad[nz], -l1_ratio * np.sign(w[nz]), atol=atol)
    assert np.all(np.abs(grad[~nz]) <= l1_ratio + atol)


for _name in ("Lasso", "ElasticNet", "Ridge", "LogisticRegression", "lasso_path",
              "LassoCV", "RidgeCV", "select_features"):
    _case(f"shape-one_column-{_name}", lambda n=_name: _check_one_column(n))


def _check_one_row(name):
    X1, y1 = X0[[4]], Y0[[4]]
    if name in ("Lasso", "ElasticNet", "Ridge"):
        est = {"Lasso": fs.Lasso(alpha=0.02), "ElasticNet": fs.ElasticNet(alpha=0.02),
               "Ridge": fs.Ridge(alpha=1.0)}[name].fit(X1, y1)
        # with an intercept, one row is fitted exactly by the intercept alone
        assert_allclose(est.coef_, 0.0, atol=1e-12)
        assert est.intercept_ == pytest.approx(y1[0])
    elif name in ("lasso_path", "enet_path"):
        f = fs.lasso_path if name == "lasso_path" else fs.enet_path
        r = f(X1, y1, n_alphas=3)
        assert np.all(np.asarray(r.coefs) == 0)
        assert_allclose(r.intercepts, y1[0])
    elif name in ("LassoCV", "ElasticNetCV", "RidgeCV_kfold"):
        _raises(ValueError, r"(?i)n_splits|samples|fold", RUNNERS[name], X1, y1)
    elif name == "StabilitySelection":
        _raises(ValueError, r"(?i)at least 2 samples", RUNNERS[name], X1, y1)
    elif name in CLASSIFICATION:
        _raises(ValueError, r"(?i)class", RUNNERS[name], X1, L0[[4]])
    elif name == "RidgeCV":
        # leave-one-out of a single sample: scikit-learn returns the first alpha and the
        # intercept-only model
        from sklearn.linear_model import RidgeCV
        est = fs.RidgeCV(alphas=(0.1, 1.0, 10.0)).fit(X1, y1)
        ref = RidgeCV(alphas=(0.1, 1.0, 10.0)).fit(X1.toarray(), y1)
        assert est.alpha_ == ref.alpha_
        assert_allclose(est.coef_, ref.coef_, atol=1e-12)
        assert est.intercept_ == pytest.approx(ref.intercept_)
    elif name == "select_features":
        res = fs.select_features(X1, y1, n_features=3)
        assert res.n_selected == 0 and not res.exact
    elif name == "alpha_grid":
        a = fs.alpha_grid(X1, y1, n_alphas=3)
        assert a.shape == (3,) and np.all(np.isfinite(a)) and np.all(a > 0)
    else:
        raise KeyError(name)  # pragma: no cover


for _name in RUNNERS:
    _case(f"shape-one_row-{_name}", lambda n=_name: _check_one_row(n))


def _check_all_zero_x(name):
    Xz = sp.csc_matrix((N, P))
    y = _target(name)
    if name in ("Lasso", "ElasticNet", "Ridge", "LassoCV", "ElasticNetCV", "RidgeCV",
                "RidgeCV_kfold"):
        est = {"Lasso": fs.Lasso(alpha=0.02), "ElasticNet": fs.ElasticNet(alpha=0.02),
               "Ridge": fs.Ridge(alpha=1.0), "LassoCV": fs.LassoCV(cv=3, n_alphas=4),
               "ElasticNetCV": fs.ElasticNetCV(cv=3, n_alphas=4),
               "RidgeCV": fs.RidgeCV(), "RidgeCV_kfold": fs.RidgeCV(cv=3)}[name]
        est.fit(Xz, y)
        assert_allclose(est.coef_, 0.0)
        assert est.intercept_ == pytest.approx(y.mean())
    elif name in ("lasso_path", "enet_path"):
        r = RUNNERS[name](Xz, y)
        assert np.all(r[5:5 + 5 * P] == 0)
    elif name == "alpha_grid":
        a = fs.alpha_grid(Xz, y, n_alphas=3)
        assert a.shape == (3,) and np.all(np.isfinite(a)) and np.all(a > 0)
    elif name == "select_features":
        res = fs.select_features(Xz, y, n_features=3)
        assert res.n_selected == 0 and not res.exact
    elif name == "StabilitySelection":
        sel = fs.StabilitySelection(n_bootstrap=2, n_alphas=3, random_state=0).fit(Xz, y)
        assert not sel.support_.any()
    elif name == "LogisticRegression":
        est = fs.LogisticRegression().fit(Xz, y)
        assert_allclose(est.coef_, 0.0)
        p1 = y.mean()
        assert est.intercept_[0] == pytest.approx(np.log(p1 / (1 - p1)), rel=1e-6)
    elif name == "LogisticRegressionCV":
        est = fs.LogisticRegressionCV(Cs=[0.1, 1.0], cv=3).fit(Xz, y)
        assert_allclose(est.coef_, 0.0)
    elif name in ("logistic_path", "select_features_logistic",
                  "StabilitySelection_logistic"):
        # C_min is infinite: no automatic grid
        _raises(ValueError, r"(?i)zero", RUNNERS[name], Xz, y)
    elif name == "logistic_c_min":
        assert fs.logistic_c_min(Xz, y) == np.inf
    else:
        raise KeyError(name)  # pragma: no cover


for _name in RUNNERS:
    _case(f"shape-all_zero_X-{_name}", lambda n=_name: _check_all_zero_x(n))


def _check_fewer_samples_than_folds(name):
    X4, y = X0[:4], (Y0[:4] if name in REGRESSION else np.array([0, 1, 0, 1]))
    est = {"LassoCV": fs.LassoCV(cv=5, n_alphas=3),
           "ElasticNetCV": fs.ElasticNetCV(cv=5, n_alphas=3),
           "RidgeCV_kfold": fs.RidgeCV(cv=5),
           "LogisticRegressionCV": fs.LogisticRegressionCV(Cs=2, cv=5)}[name]
    _raises(ValueError, r"(?i)n_splits|number of (samples|members)|fold", est.fit, X4, y)


for _name in ("LassoCV", "ElasticNetCV", "RidgeCV_kfold", "LogisticRegressionCV"):
    _case(f"shape-fewer_samples_than_folds-{_name}",
          lambda n=_name: _check_fewer_samples_than_folds(n))


# --------------------------------------------------------------------------------------
# 5. Bad hyperparameters
# --------------------------------------------------------------------------------------

NAN = float("nan")
INF = float("inf")

BAD_PARAMS = {
    # estimator factory, fit target, parameters, exception, message
    "Lasso": (fs.Lasso, Y0, [
        ({"alpha": -1.0}, ValueError, "alpha"), ({"alpha": NAN}, ValueError, "alpha"),
        ({"alpha": INF}, ValueError, "alpha"), ({"alpha": "1"}, TypeError, "alpha"),
        ({"alpha": None}, TypeError, "alpha"),
        ({"tol": -1e-3}, ValueError, "tol"), ({"tol": NAN}, ValueError, "tol"),
        ({"max_iter": 0}, ValueError, "max_iter"),
        ({"max_iter": -5}, ValueError, "max_iter"),
        ({"max_iter": 2.5}, TypeError, "max_iter"),
        ({"penalty_factor": np.ones(P - 1)}, ValueError, "penalty_factor"),
        ({"penalty_factor": np.ones(P + 1)}, ValueError, "penalty_factor"),
        ({"penalty_factor": -np.ones(P)}, ValueError, "penalty_factor"),
        ({"penalty_factor": np.full(P, NAN)}, ValueError, "penalty_factor"),
        ({"penalty_factor": np.ones((P, 1))}, ValueError, "penalty_factor"),
        ({"penalty_factor": ["a"] * P}, TypeError, "penalty_factor"),
        ({"fit_intercept": "no"}, TypeError, "fit_intercept"),
        ({"fit_intercept": None}, TypeError, "fit_intercept"),
    ]),
    "ElasticNet": (fs.ElasticNet, Y0, [
        ({"l1_ratio": 1.5}, ValueError, "l1_ratio"),
        ({"l1_ratio": -0.1}, ValueError, "l1_ratio"),
        ({"l1_ratio": NAN}, ValueError, "l1_ratio"),
        ({"alpha": -0.5}, ValueError, "alpha"),
        ({"tol": -1.0}, ValueError, "tol"), ({"max_iter": 0}, ValueError, "max_iter"),
        ({"fit_intercept": "False"}, TypeError, "fit_intercept"),
    ]),
    "LassoCV": (fs.LassoCV, Y0, [
        ({"n_alphas": 0}, ValueError, "n_alphas"),
        ({"n_alphas": -3}, ValueError, "n_alphas"),
        ({"eps": 0.0}, ValueError, "eps"), ({"eps": -1e-3}, ValueError, "eps"),
        ({"eps": NAN}, ValueError, "eps"), ({"eps": 1.5}, ValueError, "eps"),
        ({"alphas": [0.1, NAN]}, ValueError, "alphas"),
        ({"alphas": [0.1, -0.2]}, ValueError, "alphas"),
        ({"alphas": [0.1, INF]}, ValueError, "alphas"),
        ({"alphas": []}, ValueError, "alphas"),
        ({"alphas": [[0.1, 0.2]]}, ValueError, "alphas"),
        ({"alphas": ["a", "b"]}, TypeError, "alphas"),
        ({"cv": 1}, ValueError, r"(?i)n_splits|split"),
        ({"cv": 0}, ValueError, r"(?i)n_splits|split"),
        ({"tol": -1.0}, ValueError, "tol"), ({"max_iter": 0}, ValueError, "max_iter"),
        ({"penalty_factor": np.ones(3)}, ValueError, "penalty_factor"),
        ({"penalty_factor": -np.ones(P)}, ValueError, "penalty_factor"),
        ({"selection_rule": "max"}, ValueError, "selection_rule"),
    ]),
    "ElasticNetCV": (fs.ElasticNetCV, Y0, [
        ({"l1_ratio": [0.5, 1.2]}, ValueError, "l1_ratio"),
        ({"l1_ratio": [0.5, NAN]}, ValueError, "l1_ratio"),
        ({"l1_ratio": []}, ValueError, "l1_ratio"),
        ({"l1_ratio": 0.0}, ValueError, r"(?i)l1_ratio=0|alphas"),
        ({"n_alphas": 0}, ValueError, "n_alphas"), ({"eps": 0.0}, ValueError, "eps"),
        ({"eps": 2.0}, ValueError, "eps"),
        ({"cv": 1}, ValueError, r"(?i)n_splits|split"),
    ]),
    "Ridge": (fs.Ridge, Y0, [
        ({"alpha": -1.0}, ValueError, "alpha"), ({"alpha": NAN}, ValueError, "alpha"),
        ({"alpha": INF}, ValueError, "alpha"),
        ({"alpha": [1.0, 2.0]}, ValueError, r"(?i)targets|penalties"),
        ({"alpha": [NAN]}, ValueError, "alpha"), ({"alpha": [-1.0]}, ValueError, "alpha"),
        ({"alpha": "x"}, TypeError, "alpha"),
        ({"tol": -1.0}, ValueError, "tol"), ({"max_iter": 0}, ValueError, "max_iter"),
        ({"solver": "nope"}, ValueError, "solver"),
        ({"solver": "cd", "alpha": 0.0}, ValueError, "alpha"),
        ({"solver": "cg", "positive": True}, ValueError, "positive"),
    ]),
    "RidgeCV": (fs.RidgeCV, Y0, [
        ({"alphas": [0.1, NAN]}, ValueError, "alphas"),
        ({"alphas": [-1.0, 1.0]}, ValueError, "alphas"),
        ({"alphas": [0.0, 1.0]}, ValueError, "alphas"),  # leave-one-out needs alpha > 0
        ({"alphas": []}, ValueError, "alphas"),
        ({"alphas": [[1.0, 2.0]]}, ValueError, "alphas"),
        ({"alphas": ["a"]}, (TypeError, ValueError), "alphas"),
        ({"alphas": [-1.0, 1.0], "cv": 3}, ValueError, "alphas"),
        ({"cv": 1}, ValueError, r"(?i)n_splits|split"),
        ({"tol": -1.0}, ValueError, "tol"),
        ({"gcv_mode": "qr"}, ValueError, "gcv_mode"),
        ({"gcv_max_size": 0}, ValueError, "gcv_max_size"),
        ({"cv": 3, "store_cv_results": True}, ValueError, "store_cv_results"),
    ]),
    "LogisticRegression": (fs.LogisticRegression, L0, [
        ({"C": 0.0}, ValueError, "C"), ({"C": -1.0}, ValueError, "C"),
        ({"C": NAN}, ValueError, "C"), ({"C": INF}, ValueError, "C"),
        ({"C": "1"}, TypeError, "C"),
        ({"l1_ratio": 2.0}, ValueError, "l1_ratio"),
        ({"l1_ratio": NAN}, ValueError, "l1_ratio"),
        ({"tol": -1.0}, ValueError, "tol"), ({"max_iter": 0}, ValueError, "max_iter"),
        ({"penalty_factor": np.ones(P - 1)}, ValueError, "penalty_factor"),
        ({"penalty_factor": -np.ones(P)}, ValueError, "penalty_factor"),
        ({"class_weight": {0: -1.0, 1: 1.0}}, ValueError, r"(?i)weight"),
        ({"class_weight": "nope"}, ValueError, r"(?i)class_weight|balanced"),
        ({"fit_intercept": "no"}, TypeError, "fit_intercept"),
        ({"fit_intercept": None}, TypeError, "fit_intercept"),
    ]),
    "LogisticRegressionCV": (fs.LogisticRegressionCV, L0, [
        ({"Cs": 0}, ValueError, "Cs"), ({"Cs": -2}, ValueError, "Cs"),
        ({"Cs": [1.0, -1.0]}, ValueError, "Cs"), ({"Cs": [1.0, NAN]}, ValueError, "Cs"),
        ({"Cs": [0.0]}, ValueError, "Cs"), ({"Cs": []}, ValueError, "Cs"),
        ({"cv": 1}, ValueError, r"(?i)n_splits|split"),
        ({"l1_ratio": 1.5}, ValueError, "l1_ratio"),
        ({"tol": -1.0}, ValueError, "tol"), ({"max_iter": 0}, ValueError, "max_iter"),
        ({"scoring": "nope"}, ValueError, "scoring"),
        ({"penalty_factor": np.ones(2)}, ValueError, "penalty_factor"),
        ({"fit_intercept": "no"}, TypeError, "fit_intercept"),
    ]),
    "StabilitySelection": (fs.StabilitySelection, Y0, [
        ({"threshold": 0.4}, ValueError, "threshold"),
        ({"threshold": 1.5}, ValueError, "threshold"),
        ({"threshold": NAN}, ValueError, "threshold"),
        ({"n_bootstrap": 0}, ValueError, "n_bootstrap"),
        ({"sample_fraction": 0.0}, ValueError, "sample_fraction"),
        ({"sample_fraction": 0.8}, ValueError, "sample_fraction"),
        ({"sample_fraction": 1.5, "sampling": "subsample"}, ValueError,
         "sample_fraction"),
        ({"sampling": "bootstrap"}, ValueError, "sampling"),
        ({"alphas": [0.1, NAN]}, ValueError, "alphas"),
        ({"alphas": [0.1, -1.0]}, ValueError, "alphas"),
        ({"alphas": []}, ValueError, "alphas"),
        ({"n_alphas": 0}, ValueError, "n_alphas"),
        ({"eps": 0.0}, ValueError, "eps"), ({"eps": 2.0}, ValueError, "eps"),
        ({"model": "ridge"}, ValueError, "model"),
        ({"model": "enet", "l1_ratio": 0.0}, ValueError, "l1_ratio"),
        ({"tol": -1.0}, ValueError, "tol"), ({"max_iter": 0}, ValueError, "max_iter"),
    ]),
}


def _param_id(params):
    def fmt(v):
        if isinstance(v, np.ndarray):
            return f"array{v.shape}:{v.ravel()[0]!r}".replace(" ", "")
        return repr(v).replace(" ", "")
    return ",".join(f"{k}={fmt(v)}" for k, v in params.items())


for _est_name, (_factory, _y, _cases) in BAD_PARAMS.items():
    for _params, _exc, _msg in _cases:
        _case(f"params-{_est_name}-{_param_id(_params)}",
              lambda f=_factory, y=_y, pr=_params, e=_exc, m=_msg: _raises(
                  e, m, f(**pr).fit, X0, y))


BAD_FUNCTION_PARAMS = {
    "lasso_path": (fs.lasso_path, Y0, [
        ({"n_alphas": 0}, ValueError, "n_alphas"), ({"eps": 0.0}, ValueError, "eps"),
        ({"eps": -1.0}, ValueError, "eps"), ({"eps": 1.5}, ValueError, "eps"),
        ({"eps": NAN}, ValueError, "eps"),
        ({"alphas": [0.1, NAN]}, ValueError, "alphas"),
        ({"alphas": [0.1, -0.2]}, ValueError, "alphas"),
        ({"alphas": []}, ValueError, "alphas"),
        ({"alphas": 0}, ValueError, "n_alphas"),
        ({"tol": -1.0}, ValueError, "tol"), ({"max_iter": 0}, ValueError, "max_iter"),
        ({"coef_init": np.ones(P - 1)}, ValueError, "coef_init"),
        ({"coef_init": np.full(P, NAN)}, ValueError, "coef_init"),
        ({"penalty_factor": np.ones(2)}, ValueError, "penalty_factor"),
        ({"coef_format": "csr"}, ValueError, "coef_format"),
        ({"tol_scale": "x"}, ValueError, "tol_scale"),
        ({"callback": 3}, TypeError, "callback"),
        ({"l1_ratio": 0.5}, TypeError, "l1_ratio"),
    ]),
    "enet_path": (fs.enet_path, Y0, [
        ({"l1_ratio": 1.5}, ValueError, "l1_ratio"),
        ({"l1_ratio": -1.0}, ValueError, "l1_ratio"),
        ({"l1_ratio": NAN}, ValueError, "l1_ratio"),
        ({"l1_ratio": 0.0}, ValueError, r"(?i)l1_ratio=0|alphas"),
        ({"n_alphas": 0}, ValueError, "n_alphas"), ({"eps": 2.0}, ValueError, "eps"),
        ({"alphas": [NAN]}, ValueError, "alphas"),
    ]),
    "alpha_grid": (fs.alpha_grid, Y0, [
        ({"l1_ratio": 0.0}, ValueError, r"(?i)l1_ratio"),
        ({"eps": 0.0}, ValueError, "eps"), ({"eps": 3.0}, ValueError, "eps"),
        ({"n_alphas": 0}, ValueError, "n_alphas"),
    ]),
    "logistic_path": (fs.logistic_path, L0, [
        ({"Cs": [1.0, NAN]}, ValueError, "Cs"), ({"Cs": [1.0, -1.0]}, ValueError, "Cs"),
        ({"Cs": [0.0]}, ValueError, "Cs"), ({"Cs": []}, ValueError, "Cs"),
        ({"Cs": ["a"]}, (TypeError, ValueError), r"Cs|convert"),
        ({"n_Cs": 0}, ValueError, "n_Cs"), ({"eps": 0.0}, ValueError, "eps"),
        ({"eps": 2.0}, ValueError, "eps"), ({"l1_ratio": 1.5}, ValueError, "l1_ratio"),
        ({"tol": -1.0}, ValueError, "tol"), ({"max_iter": 0}, ValueError, "max_iter"),
        ({"penalty_factor": np.ones(2)}, ValueError, "penalty_factor"),
        ({"coef_format": "x"}, ValueError, "coef_format"),
        ({"fit_intercept": "no"}, TypeError, "fit_intercept"),
    ]),
    "logistic_c_min": (fs.logistic_c_min, L0, [
        ({"l1_ratio": 0.0}, ValueError, "l1_ratio"),
        ({"l1_ratio": 1.5}, ValueError, "l1_ratio"),
        ({"penalty_factor": np.zeros(P)}, ValueError, r"(?i)penalty"),
        ({"penalty_factor": np.ones(2)}, ValueError, "penalty_factor"),
    ]),
    "select_features": (fs.select_features, Y0, [
        ({}, ValueError, "exactly one"),
        ({"n_features": 3, "alpha": 0.1}, ValueError, "exactly one"),
        ({"n_features": 0}, ValueError, "n_features"),
        ({"n_features": P + 1}, ValueError, "n_features"),
        ({"n_features": 2.5}, TypeError, "n_features"),
        ({"alpha": 0.0}, ValueError, "alpha"), ({"alpha": -1.0}, ValueError, "alpha"),
        ({"alpha": NAN}, ValueError, "alpha"),
        ({"n_features": 3, "eps": 0.0}, ValueError, "eps"),
        ({"n_features": 3, "eps": 1.0}, ValueError, "eps"),
        ({"n_features": 3, "n_alphas": 0}, ValueError, "n_alphas"),
        ({"n_features": 3, "model": "ridge"}, ValueError, "model"),
        ({"n_features": 3, "model": "enet", "l1_ratio": 0.0}, ValueError, "l1_ratio"),
        ({"n_features": 3, "model": "enet", "l1_ratio": 1.5}, ValueError, "l1_ratio"),
        ({"C": 1.0}, ValueError, "C"),
        ({"n_features": 3, "tol": -1.0}, ValueError, "tol"),
        ({"n_features": 3, "max_iter": 0}, ValueError, "max_iter"),
        ({"n_features": 3, "feature_names": ["a"] * 3}, ValueError, "feature_names"),
        ({"n_features": 3, "feature_names": "abc"}, TypeError, "feature_names"),
    ]),
    "select_features_logistic": (fs.select_features, L0, [
        ({"model": "logistic", "C": 0.0}, ValueError, "C"),
        ({"model": "logistic", "C": -1.0}, ValueError, "C"),
        ({"model": "logistic", "C": NAN}, ValueError, "C"),
        ({"model": "logistic", "alpha": -1.0}, ValueError, "alpha"),
        ({"model": "logistic", "n_features": 3, "eps": 2.0}, ValueError, "eps"),
    ]),
}

for _fn_name, (_fn, _y, _cases) in BAD_FUNCTION_PARAMS.items():
    for _params, _exc, _msg in _cases:
        _case(f"params-{_fn_name}-{_param_id(_params)}",
              lambda f=_fn, y=_y, pr=_params, e=_exc, m=_msg: _raises(
                  e, m, f, X0, y, **pr))


def _enet_objective(X, y, w, b, alpha, l1_ratio):
    r = y - X @ w - b
    return (r @ r / (2 * len(y))
            + alpha * (l1_ratio * np.abs(w).sum() + 0.5 * (1 - l1_ratio) * w @ w))


def _check_lasso_alpha_zero():
    # alpha = 0 is ordinary least squares (warned); 30 x 20 has full column rank, so
    # the optimum is the least-squares solution, and dual_gap_ must bound the distance
    # of the returned objective to it.
    with pytest.warns(UserWarning, match="alpha=0"):
        est = fs.Lasso(alpha=0.0, tol=1e-14, max_iter=1000).fit(X0, Y0)
    A = np.c_[X0.toarray(), np.ones(N)]
    sol = np.linalg.lstsq(A, Y0, rcond=None)[0]
    excess = (_enet_objective(X0, Y0, est.coef_, est.intercept_, 0.0, 1.0)
              - _enet_objective(X0, Y0, sol[:-1], sol[-1], 0.0, 1.0))
    assert -1e-14 <= excess <= est.dual_gap_ + 1e-14
    assert_allclose(est.coef_, sol[:-1], rtol=1e-4, atol=1e-6)
    assert est.intercept_ == pytest.approx(sol[-1], rel=1e-5)


_case("params-Lasso-alpha=0.0_is_least_squares", _check_lasso_alpha_zero)


def _check_ridge_alpha_zero():
    with pytest.warns(UserWarning, match="alpha=0"):
        est = fs.Ridge(alpha=0.0, tol=1e-12).fit(X0, Y0)
    A = np.c_[X0.toarray(), np.ones(N)]
    sol = np.linalg.lstsq(A, Y0, rcond=None)[0]
    assert_allclose(est.coef_, sol[:-1], rtol=1e-6, atol=1e-7)


_case("params-Ridge-alpha=0.0_is_least_squares", _check_ridge_alpha_zero)


def _check_numpy_bool_flag(name):
    # numpy.bool_ flags (e.g. from a config array) are bools
    cls, y = {"Lasso": (fs.Lasso, Y0),
              "LogisticRegression": (fs.LogisticRegression, L0)}[name]
    a = cls(fit_intercept=np.bool_(False), tol=1e-12).fit(X0, y)
    b = cls(fit_intercept=False, tol=1e-12).fit(X0, y)
    assert_array_equal(a.coef_, b.coef_)
    assert np.all(np.asarray(a.intercept_) == 0.0)


for _name in ("Lasso", "LogisticRegression"):
    _case(f"params-{_name}-fit_intercept=numpy.bool_",
          lambda n=_name: _check_numpy_bool_flag(n))


# Boolean flags: every flag of every entry point must be a bool or a numpy.bool_ (a
# string such as "no" is truthy: positive="no" enabled the constraint, silently).
# Checked at fit (scikit-learn's convention), before any work on the data.

def _fitted_support(est, y, **flags):
    return est.fit(X0, y).get_support(**flags)


FLAGS = {
    # entry point: (call(**flags) -> flat result, its boolean flags)
    "Lasso": (lambda **f: _fit(fs.Lasso(alpha=0.02, tol=1e-12, **f), X0, Y0, None,
                               "coef_", "intercept_"),
              ("fit_intercept", "warm_start", "positive", "screening")),
    "ElasticNet": (lambda **f: _fit(fs.ElasticNet(alpha=0.02, tol=1e-12, **f), X0, Y0,
                                    None, "coef_", "intercept_"),
                   ("fit_intercept", "warm_start", "positive", "screening")),
    "LassoCV": (lambda **f: _fit(fs.LassoCV(n_alphas=5, cv=3, tol=1e-10, **f), X0, Y0,
                                 None, "alpha_", "coef_", "intercept_", "mse_path_"),
                ("fit_intercept", "positive", "strong_rule", "screening")),
    "ElasticNetCV": (lambda **f: _fit(fs.ElasticNetCV(n_alphas=4, cv=3, tol=1e-10, **f),
                                      X0, Y0, None, "alpha_", "coef_", "intercept_"),
                     ("fit_intercept", "positive", "strong_rule", "screening")),
    "lasso_path": (lambda **f: _path(fs.lasso_path(X0, Y0, n_alphas=5, tol=1e-12, **f)),
                   ("fit_intercept", "positive", "return_n_iter", "early_stopping",
                    "strong_rule", "screening")),
    "enet_path": (lambda **f: _path(fs.enet_path(X0, Y0, n_alphas=5, tol=1e-12, **f)),
                  ("fit_intercept", "positive", "return_n_iter", "early_stopping",
                   "strong_rule", "screening")),
    "alpha_grid": (lambda **f: fs.alpha_grid(X0, Y0, n_alphas=5, **f),
                   ("fit_intercept", "positive")),
    "Ridge": (lambda **f: _fit(fs.Ridge(alpha=1.0, tol=1e-12, **f), X0, Y0, None,
                               "coef_", "intercept_"),
              ("fit_intercept", "copy_X", "positive")),
    "RidgeCV": (lambda **f: _fit(fs.RidgeCV(alphas=(0.1, 1.0, 10.0), **f), X0, Y0, None,
                                 "alpha_", "coef_", "intercept_"),
                ("fit_intercept", "store_cv_results", "alpha_per_target")),
    "LogisticRegression": (lambda **f: _fit(fs.LogisticRegression(tol=1e-12, **f), X0,
                                            L0, None, "coef_", "intercept_"),
                           ("fit_intercept", "warm_start", "screening")),
    "LogisticRegressionCV": (lambda **f: _fit(fs.LogisticRegressionCV(Cs=3, cv=3,
                                                                      tol=1e-10, **f),
                                              X0, L0, None, "C_", "coef_", "intercept_"),
                             ("fit_intercept", "refit", "screening")),
    "logistic_path": (lambda **f: _path(fs.logistic_path(X0, L0, n_Cs=4, tol=1e-12, **f)),
                      ("fit_intercept", "screening")),
    "logistic_c_min": (lambda **f: _flat(fs.logistic_c_min(X0, L0, **f)),
                       ("fit_intercept",)),
    "select_features": (lambda **f: _sel(fs.select_features(X0, Y0, n_features=3,
                                                            n_alphas=20, **f)),
                        ("fit_intercept",)),
    "select_features_logistic": (lambda **f: _sel(fs.select_features(
        X0, L0, model="logistic", n_features=3, n_alphas=20, **f)), ("fit_intercept",)),
    "StabilitySelection": (lambda **f: _fit(fs.StabilitySelection(
        n_bootstrap=3, n_alphas=5, random_state=0, tol=1e-8, **f), X0, Y0, None,
        "alphas_", "stability_scores_"), ("fit_intercept",)),
    "StabilitySelection_logistic": (lambda **f: _fit(fs.StabilitySelection(
        model="logistic", n_bootstrap=3, n_alphas=5, random_state=0, tol=1e-8, **f),
        X0, L0, None, "alphas_", "stability_scores_"), ("fit_intercept",)),
    # get_support(indices=...) of the fitted models (SupportMixin, SelectorMixin)
    "Lasso.get_support": (lambda **f: _flat(_fitted_support(fs.Lasso(alpha=0.02), Y0,
                                                            **f)), ("indices",)),
    "Ridge.get_support": (lambda **f: _flat(_fitted_support(fs.Ridge(), Y0, **f)),
                          ("indices",)),
    "LogisticRegression.get_support": (lambda **f: _flat(_fitted_support(
        fs.LogisticRegression(), L0, **f)), ("indices",)),
    "StabilitySelection.get_support": (lambda **f: _flat(_fitted_support(
        fs.StabilitySelection(n_bootstrap=2, n_alphas=3, random_state=0), Y0, **f)),
        ("indices",)),
}

#: Not bools: a string (truthy even when it says "no"), None, an int.
BAD_FLAG_VALUES = ("no", None, 1)


def _check_bad_flag(name, flag, value):
    call, _ = FLAGS[name]
    _raises(TypeError, rf"^{flag} must be a bool, got {value!r}", call, **{flag: value})


def _check_numpy_true_flag(name, flag):
    # True and numpy.True_ are the same flag: same result, bit for bit.
    call, _ = FLAGS[name]
    a = call(**{flag: True})
    b = call(**{flag: np.True_})
    assert_array_equal(a, b)


for _name, (_call, _flags) in FLAGS.items():
    for _flag in _flags:
        for _value in BAD_FLAG_VALUES:
            # fit_intercept="no" / None of some estimators are among BAD_PARAMS already.
            if f"params-{_name}-{_param_id({_flag: _value})}" not in CASES:
                _case(f"flags-{_name}-{_param_id({_flag: _value})}",
                      lambda n=_name, f=_flag, v=_value: _check_bad_flag(n, f, v))
        _case(f"flags-{_name}-{_flag}=True_or_numpy.True_",
              lambda n=_name, f=_flag: _check_numpy_true_flag(n, f))


# Reference checks of the canonical fits the equivalence cases compare against.


def _check_reference(name):
    if name in ("Lasso", "ElasticNet"):
        # same objective as scikit-learn's: fastsparse's (certified) objective is at
        # most scikit-learn's plus the gap, and the coefficients agree
        l1 = 1.0 if name == "Lasso" else 0.5
        est = (fs.Lasso(alpha=0.02, tol=1e-12) if name == "Lasso"
               else fs.ElasticNet(alpha=0.02, l1_ratio=0.5, tol=1e-12)).fit(X0, Y0)
        coef, b = _sk_lasso(X0, Y0, 0.02, l1)
        p_fs = _enet_objective(X0, Y0, est.coef_, est.intercept_, 0.02, l1)
        p_sk = _enet_objective(X0, Y0, coef, b, 0.02, l1)
        assert p_fs <= p_sk + est.dual_gap_ + 1e-15
        assert_allclose(np.r_[est.coef_, est.intercept_], np.r_[coef, b], rtol=1e-5,
                        atol=1e-7)
        assert_allclose(_reference(name), np.r_[est.coef_, est.intercept_])
    elif name == "Ridge":
        from sklearn.linear_model import Ridge
        ref = Ridge(alpha=1.0).fit(X0.toarray(), Y0)
        assert_allclose(_reference(name), np.r_[ref.coef_, ref.intercept_], rtol=1e-8)
    elif name == "RidgeCV":
        from sklearn.linear_model import RidgeCV
        ref = RidgeCV(alphas=(0.1, 1.0, 10.0)).fit(X0.toarray(), Y0)
        assert_allclose(_reference(name), np.r_[ref.alpha_, ref.coef_, ref.intercept_],
                        rtol=1e-7)
    elif name == "LogisticRegression":
        out = _reference(name)
        _assert_logistic_kkt(X0, L0, out[:P], out[P], C=1.0)
    elif name == "lasso_path":
        _check_lasso_path_vs_sklearn(X0, np.array([0.3, 0.05, 0.01]))
    elif name == "LassoCV":
        _check_lasso_cv_vs_sklearn(X0)
    else:
        raise KeyError(name)  # pragma: no cover


for _name in ("Lasso", "ElasticNet", "Ridge", "RidgeCV", "LogisticRegression",
              "lasso_path", "LassoCV"):
    _case(f"reference-canonical_fit_is_correct-{_name}",
          lambda n=_name: _check_reference(n))


# --------------------------------------------------------------------------------------
# 6. Fitted-model misuse
# --------------------------------------------------------------------------------------

ESTIMATORS = {
    "Lasso": (lambda: fs.Lasso(alpha=0.02), Y0, "predict"),
    "ElasticNet": (lambda: fs.ElasticNet(alpha=0.02), Y0, "predict"),
    "LassoCV": (lambda: fs.LassoCV(n_alphas=3, cv=3), Y0, "predict"),
    "ElasticNetCV": (lambda: fs.ElasticNetCV(n_alphas=3, cv=3), Y0, "predict"),
    "Ridge": (lambda: fs.Ridge(), Y0, "predict"),
    "RidgeCV": (lambda: fs.RidgeCV(), Y0, "predict"),
    "LogisticRegression": (lambda: fs.LogisticRegression(), L0, "predict"),
    "LogisticRegression_proba": (lambda: fs.LogisticRegression(), L0, "predict_proba"),
    "LogisticRegression_decision": (lambda: fs.LogisticRegression(), L0,
                                    "decision_function"),
    "LogisticRegressionCV": (lambda: fs.LogisticRegressionCV(Cs=2, cv=3), L0,
                             "predict"),
    "StabilitySelection": (lambda: fs.StabilitySelection(n_bootstrap=2, n_alphas=3,
                                                         random_state=0), Y0,
                           "transform"),
}


def _check_not_fitted(name):
    from sklearn.exceptions import NotFittedError
    factory, _, method = ESTIMATORS[name]
    _raises(NotFittedError, r"(?i)not fitted", getattr(factory(), method), X0)
    if hasattr(factory(), "get_support"):
        _raises(NotFittedError, r"(?i)not fitted", factory().get_support)


def _check_wrong_n_features(name):
    factory, y, method = ESTIMATORS[name]
    est = factory().fit(X0, y)
    for Xbad in (X0[:, :P - 1], sp.hstack([X0, X0[:, :1]], format="csc"),
                 X0.toarray()[:, :5]):
        _raises(ValueError, r"(?i)features", getattr(est, method), Xbad)


def _check_predict_bad_input(name, kind):
    factory, y, method = ESTIMATORS[name]
    est = factory().fit(X0, y)
    if kind.startswith("nan"):
        _raises(ValueError, r"(?i)nan", getattr(est, method), _bad_x("nan_in_data"))
    elif kind not in CORRUPTIONS:
        _raises(ValueError, r"malformed", getattr(est, method), _corrupt_other(kind))
    else:
        exc, msg = CORRUPTIONS[kind]
        _raises(exc, msg, getattr(est, method), _corrupt(kind))


def _check_predict_equivalent(name, kind):
    # predicting on an equivalent container gives the same predictions
    factory, y, method = ESTIMATORS[name]
    est = factory().fit(X0, y)
    Xin, Xref = _equivalent(kind)
    assert_allclose(_flat(getattr(est, method)(Xin)), _flat(getattr(est, method)(Xref)),
                    rtol=1e-12, atol=1e-12)


def _check_warm_start_new_shape(name):
    # warm_start with a different number of features must not reuse the old coef_
    if name == "Lasso":
        est = fs.Lasso(alpha=0.02, tol=1e-12, warm_start=True)
        est.fit(X0, Y0)
        est.fit(X0[:, :7], Y0)
        ref = fs.Lasso(alpha=0.02, tol=1e-12).fit(X0[:, :7], Y0)
    else:
        est = fs.LogisticRegression(tol=1e-12, warm_start=True)
        est.fit(X0, L0)
        est.fit(X0[:, :7], L0)
        ref = fs.LogisticRegression(tol=1e-12).fit(X0[:, :7], L0)
    assert_allclose(est.coef_, ref.coef_, rtol=1e-8, atol=1e-10)


for _name in ESTIMATORS:
    _case(f"misuse-not_fitted-{_name}", lambda n=_name: _check_not_fitted(n))
    _case(f"misuse-wrong_n_features-{_name}", lambda n=_name: _check_wrong_n_features(n))
    for _kind in ("nan_in_data", "indices_out_of_range", "indices_far_out_of_range",
                  "indices_negative", "indptr_not_monotone", "indptr_last_exceeds_nnz",
                  "data_shorter_than_indices", "csr_indices_out_of_range",
                  "coo_row_out_of_range", "bsr_block_index_out_of_range"):
        _case(f"misuse-predict_{_kind}-{_name}",
              lambda n=_name, k=_kind: _check_predict_bad_input(n, k))
    for _kind in ("csc_unsorted_indices", "csc_duplicate_indices",
                  "csc_trailing_storage_junk", "uint32_indices"):
        _case(f"misuse-predict_{_kind}-{_name}",
              lambda n=_name, k=_kind: _check_predict_equivalent(n, k))
def _check_inverse_transform(kind):
    sel = fs.StabilitySelection(n_bootstrap=2, n_alphas=3, random_state=0).fit(X0, Y0)
    k = int(sel.support_.sum())
    Xt = sp.random(N, k, density=0.5, format="csr", random_state=1)
    if kind == "valid":
        back = sel.inverse_transform(Xt)
        assert back.shape == (N, P)
        assert_allclose(_flat(back[:, sel.support_]), _flat(Xt))
        assert _flat(back[:, ~sel.support_]).sum() == 0
    else:
        i = Xt.indices.copy()
        i[0] = 10**9 if kind == "far_out_of_range" else -1
        bad = _raw_csc(Xt.data, i, Xt.indptr, shape=(N, k), fmt="csr")
        _raises(ValueError, "indices", sel.inverse_transform, bad)


for _kind in ("valid", "far_out_of_range", "negative"):
    _case(f"misuse-inverse_transform_{_kind}-StabilitySelection",
          lambda k=_kind: _check_inverse_transform(k))

for _name in ("Lasso", "LogisticRegression"):
    _case(f"misuse-warm_start_new_n_features-{_name}",
          lambda n=_name: _check_warm_start_new_shape(n))


# --------------------------------------------------------------------------------------
# The crash-safe runner
# --------------------------------------------------------------------------------------

#: Seconds a single case may take before its worker is declared hung (the first case of
#: a worker may compile Numba kernels when the on-disk cache is cold).
CASE_TIMEOUT = 120.0


def _worker():  # pragma: no cover - runs in the subprocess
    import faulthandler
    faulthandler.enable()
    names = sys.stdin.read().split()
    for name in names:
        print("@@START", name, flush=True)
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                CASES[name]()
            out = {"status": "passed"}
        except BaseException as e:  # noqa: BLE001 - report everything, pytest.fail too
            if isinstance(e, pytest.skip.Exception):
                out = {"status": "skipped", "error": str(e)}
            else:
                out = {"status": "failed", "error": traceback.format_exc()}
        out["seconds"] = time.perf_counter() - t0
        print("@@END", name, json.dumps(out), flush=True)


def _run_in_workers(names):
    """Run the cases in worker subprocesses; returns {name: outcome dict}."""
    results = {}
    pending = list(names)
    while pending:
        with tempfile.TemporaryFile(mode="w+") as err:
            proc = subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "--worker"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True)
            proc.stdin.write("\n".join(pending))
            proc.stdin.close()
            lines = queue.Queue()

            def pump(stream=proc.stdout):
                for line in stream:
                    lines.put(line)
                lines.put(None)

            threading.Thread(target=pump, daemon=True).start()
            current, died = None, None
            while True:
                try:
                    line = lines.get(timeout=CASE_TIMEOUT)
                except queue.Empty:
                    proc.kill()
                    proc.wait()
                    died = f"hung: no result after {CASE_TIMEOUT:.0f} s"
                    break
                if line is None:
                    rc = proc.wait()
                    if current is not None or rc != 0:
                        died = f"worker died with return code {rc}"
                    break
                if line.startswith("@@START "):
                    current = line.split()[1]
                elif line.startswith("@@END "):
                    _, name, payload = line.split(" ", 2)
                    results[name] = json.loads(payload)
                    current = None
            if died is not None:
                err.seek(0)
                tail = err.read()[-3000:]
                victims = [current] if current is not None else [
                    n for n in pending if n not in results]
                for name in victims:
                    results[name] = {"status": "crashed",
                                     "error": f"{died} while running {name}\n{tail}"}
        pending = [n for n in pending if n not in results]
    return results


@pytest.fixture(scope="module")
def outcomes(request):
    selected = [item.callspec.params["name"] for item in request.session.items
                if item.originalname == "test_case"
                and item.module.__name__ == __name__ and hasattr(item, "callspec")]
    return _run_in_workers(selected)


@pytest.mark.parametrize("name", list(CASES))
def test_case(name, outcomes):
    out = outcomes[name]
    if out["status"] == "skipped":
        pytest.skip(out["error"])
    if out["status"] != "passed":
        pytest.fail(f"{out['status']}:\n{out['error']}", pytrace=False)


def test_runner_reports_a_crash_as_the_failure_of_its_case():
    # The runner itself must be able to fail: a case that kills its worker is reported
    # as "crashed", and the next case still runs in a fresh worker.
    CASES["_selftest-segfault"] = None  # placeholders: the worker defines the real ones
    CASES["_selftest-pass"] = None
    try:
        out = _run_in_workers(["_selftest-segfault", "_selftest-pass"])
    finally:
        del CASES["_selftest-segfault"], CASES["_selftest-pass"]
    assert out["_selftest-segfault"]["status"] == "crashed"
    assert "return code" in out["_selftest-segfault"]["error"]
    assert out["_selftest-pass"]["status"] == "passed"


def _selftest_segfault():  # pragma: no cover - runs in the subprocess
    import ctypes
    ctypes.string_at(0)


if __name__ == "__main__" and "--worker" in sys.argv:
    CASES["_selftest-segfault"] = _selftest_segfault
    CASES["_selftest-pass"] = lambda: None
    _worker()
