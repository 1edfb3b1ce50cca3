"""fastsparse.io: memory-mapped CSC directories, the streaming svmlight converter, the CLI.

References are independent of the code under test: the original in-memory matrices,
scikit-learn's svmlight loader on the same file, scikit-learn's Lasso, /proc accounting.
"""

import bz2
import doctest
import gzip
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import dump_svmlight_file, load_svmlight_file
from sklearn.linear_model import Lasso as SkLasso

import fastsparse
import fastsparse.io as fio
from conftest import make_regression_problem, status_kb
from fastsparse._validation import check_csc
from fastsparse.io import (
    column_blocks,
    convert_svmlight,
    load_csc,
    release_pages,
    save_csc,
)

PYTHON = sys.executable


def _random_csc(n=40, p=30, density=0.2, dtype=np.float64, index_dtype=np.int32, seed=0):
    X = sp.random(n, p, density=density, format="csc", dtype=np.float64, random_state=seed)
    X.data = X.data.astype(dtype)
    if index_dtype is not np.int32:
        X = _with_index_dtype(X, index_dtype)
    return X


def _with_index_dtype(X, index_dtype):
    """Same matrix with index arrays of ``index_dtype`` (set after construction: scipy's
    constructor would downcast int64 arrays that fit in int32)."""
    out = sp.csc_matrix(X.shape, dtype=X.dtype)
    out.data = X.data.copy()
    out.indices = X.indices.astype(index_dtype)
    out.indptr = X.indptr.astype(index_dtype)
    return out


def _assert_same_csc(A, B):
    assert A.shape == B.shape
    assert_array_equal(A.indptr, B.indptr)
    assert_array_equal(A.indices, B.indices)
    assert_array_equal(A.data, B.data)


def _is_mapped(arr):
    return fio._backing_mmap(arr) is not None


# --------------------------------------------------------------------------------------
# save / load round trip
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("mmap", [True, False])
def test_round_trip(tmp_path, dtype, index_dtype, mmap):
    X = _random_csc(dtype=dtype, index_dtype=index_dtype)
    y = np.arange(X.shape[0], dtype=np.float64) - 3.5
    save_csc(tmp_path / "ds", X, y)
    Xl, yl = load_csc(tmp_path / "ds", mmap=mmap)
    assert isinstance(Xl, sp.csc_matrix)
    _assert_same_csc(Xl, X)
    assert Xl.dtype == dtype
    # No silent downcast of int64 indices (scipy's constructor would do it).
    assert Xl.indices.dtype == index_dtype and Xl.indptr.dtype == index_dtype
    assert_array_equal(yl, y)
    for arr in (Xl.data, Xl.indices, Xl.indptr, yl):
        assert _is_mapped(arr) == mmap
        if mmap:
            assert isinstance(arr, np.memmap)
            assert not arr.flags.writeable
    meta = json.loads((tmp_path / "ds" / "meta.json").read_text())
    assert meta["format"] == fio.FORMAT_NAME and meta["version"] == fio.FORMAT_VERSION
    assert meta["shape"] == list(X.shape) and meta["nnz"] == X.nnz
    assert np.dtype(meta["dtypes"]["data"]) == dtype
    del Xl, yl


def test_round_trip_without_y_and_integer_labels(tmp_path):
    X = _random_csc()
    save_csc(tmp_path / "a", X)
    Xl, yl = load_csc(tmp_path / "a")
    assert yl is None
    _assert_same_csc(Xl, X)
    labels = np.arange(X.shape[0]) % 3
    save_csc(tmp_path / "b", X, labels)
    _, yl = load_csc(tmp_path / "b")
    assert yl.dtype == labels.dtype
    assert_array_equal(yl, labels)


def test_save_canonicalizes_other_inputs(tmp_path):
    # Duplicates and unsorted indices, CSR, COO and dense inputs all become canonical CSC.
    data = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    indices = np.array([2, 0, 0, 1, 1])  # column 0 unsorted with a duplicate row 0
    indptr = np.array([0, 3, 5, 5])
    X = sp.csc_matrix((data, indices, indptr), shape=(3, 3))
    dense = X.toarray()
    assert dense[0, 0] == 5.0  # summed duplicate
    for i, inp in enumerate([X, X.tocsr(), X.tocoo(), dense]):
        save_csc(tmp_path / f"d{i}", inp)
        Xl, _ = load_csc(tmp_path / f"d{i}")
        assert Xl.has_canonical_format
        assert_array_equal(Xl.toarray(), dense)
        assert_array_equal(np.diff(Xl.indptr), [2, 1, 0])


def test_save_promotes_mixed_index_dtypes(tmp_path):
    X = _random_csc()
    X.indptr = X.indptr.astype(np.int64)  # int32 indices, int64 indptr
    save_csc(tmp_path / "ds", X)
    Xl, _ = load_csc(tmp_path / "ds")
    assert Xl.indices.dtype == np.int64 and Xl.indptr.dtype == np.int64
    _assert_same_csc(Xl, X)


def test_save_of_a_memory_mapped_matrix(tmp_path):
    X = _random_csc(index_dtype=np.int64)
    save_csc(tmp_path / "a", X)
    Xm, _ = load_csc(tmp_path / "a")
    save_csc(tmp_path / "b", Xm)  # written from the maps
    Xb, _ = load_csc(tmp_path / "b")
    _assert_same_csc(Xb, X)
    # Overwriting the directory the maps come from: the maps stay valid.
    save_csc(tmp_path / "a", Xm, np.ones(X.shape[0]), overwrite=True)
    Xa, ya = load_csc(tmp_path / "a")
    _assert_same_csc(Xa, X)
    _assert_same_csc(Xm, X)
    assert_array_equal(ya, 1.0)


def test_save_rejects_bad_input(tmp_path):
    X = _random_csc()
    with pytest.raises(ValueError, match="y must have shape"):
        save_csc(tmp_path / "a", X, np.ones(3))
    with pytest.raises(TypeError, match="numeric"):
        save_csc(tmp_path / "b", X, np.array(["a"] * X.shape[0]))
    bad = X.copy()
    bad.data[0] = np.nan
    with pytest.raises(ValueError):
        save_csc(tmp_path / "c", bad)
    assert sorted(os.listdir(tmp_path)) == []


# --------------------------------------------------------------------------------------
# Overwrite refusal and atomicity
# --------------------------------------------------------------------------------------


def test_overwrite_refusal(tmp_path):
    X = _random_csc()
    save_csc(tmp_path / "ds", X)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_csc(tmp_path / "ds", 2 * X)
    _assert_same_csc(load_csc(tmp_path / "ds")[0], X)
    save_csc(tmp_path / "ds", 2 * X, overwrite=True)
    _assert_same_csc(load_csc(tmp_path / "ds")[0], 2 * X)
    # overwrite=True never deletes something that is not a dataset directory.
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("precious")
    with pytest.raises(FileExistsError, match="refusing"):
        save_csc(other, X, overwrite=True)
    assert (other / "keep.txt").read_text() == "precious"
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="not a directory"):
        save_csc(tmp_path / "file", X, overwrite=True)
    # An empty directory may be replaced.
    (tmp_path / "empty").mkdir()
    save_csc(tmp_path / "empty", X, overwrite=True)
    _assert_same_csc(load_csc(tmp_path / "empty")[0], X)


@pytest.mark.parametrize("flag", ["no", "False", None, 1])
def test_non_bool_flags_are_refused_and_keep_the_data(tmp_path, flag):
    # overwrite="no" is truthy: it used to replace the existing dataset.
    X = _random_csc()
    save_csc(tmp_path / "ds", X)
    with pytest.raises(TypeError, match="overwrite must be a bool"):
        save_csc(tmp_path / "ds", 2 * X, overwrite=flag)
    src = tmp_path / "in.svm"
    dump_svmlight_file(X, np.zeros(X.shape[0]), str(src))
    with pytest.raises(TypeError, match="overwrite must be a bool"):
        convert_svmlight(src, tmp_path / "ds", overwrite=flag)
    _assert_same_csc(load_csc(tmp_path / "ds")[0], X)
    for name in ("mmap", "validate"):
        with pytest.raises(TypeError, match=f"{name} must be a bool"):
            load_csc(tmp_path / "ds", **{name: flag})


@pytest.mark.parametrize("exc", [OSError("disk full"), KeyboardInterrupt()])
@pytest.mark.parametrize("existing", [False, True])
def test_save_is_atomic(tmp_path, monkeypatch, exc, existing):
    X = _random_csc()
    if existing:
        save_csc(tmp_path / "ds", X)
    calls = []
    real = fio._write_npy

    def failing(path, arr):
        calls.append(path)
        if len(calls) == 2:  # after data.npy is complete, while writing indices.npy
            raise exc
        real(path, arr)

    monkeypatch.setattr(fio, "_write_npy", failing)
    with pytest.raises(type(exc)):
        save_csc(tmp_path / "ds", 3 * X, np.ones(X.shape[0]), overwrite=True)
    assert len(calls) == 2
    # No half-written dataset and no temporary directory left behind.
    assert sorted(os.listdir(tmp_path)) == (["ds"] if existing else [])
    if existing:
        Xl, yl = load_csc(tmp_path / "ds")
        _assert_same_csc(Xl, X)
        assert yl is None


# --------------------------------------------------------------------------------------
# Validation of corrupted directories
# --------------------------------------------------------------------------------------


@pytest.fixture
def dataset(tmp_path):
    X = _random_csc(n=50, p=20)
    y = np.arange(50.0)
    save_csc(tmp_path / "ds", X, y)
    return tmp_path / "ds", X


def _edit_meta(path, **changes):
    meta = json.loads((path / "meta.json").read_text())
    meta.update(changes)
    (path / "meta.json").write_text(json.dumps(meta))


def test_missing_files(dataset, tmp_path):
    path, _ = dataset
    with pytest.raises(FileNotFoundError, match="not a directory"):
        load_csc(tmp_path / "nope")
    (path / "indices.npy").unlink()
    with pytest.raises(FileNotFoundError, match="indices.npy"):
        load_csc(path)
    (path / "meta.json").unlink()
    with pytest.raises(FileNotFoundError, match="meta.json"):
        load_csc(path)


def test_missing_y_file(dataset):
    path, _ = dataset
    (path / "y.npy").unlink()
    with pytest.raises(FileNotFoundError, match="y.npy"):
        load_csc(path)


@pytest.mark.parametrize("text, match", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "format"),
    (json.dumps({"format": "other"}), "format"),
    (json.dumps({"format": fio.FORMAT_NAME, "version": 99}), "version"),
    (json.dumps({"format": fio.FORMAT_NAME, "version": fio.FORMAT_VERSION}), "malformed"),
])
def test_bad_meta_json(dataset, text, match):
    path, _ = dataset
    (path / "meta.json").write_text(text)
    with pytest.raises(ValueError, match=match):
        load_csc(path)


@pytest.mark.parametrize("validate", [True, False])
@pytest.mark.parametrize("changes, match", [
    ({"shape": [50, 21]}, "indptr.npy has shape"),
    ({"shape": [51, 20]}, "y.npy has shape"),
    ({"nnz": 7}, "data.npy has shape"),
    ({"dtypes": {"data": "<f4", "indices": "<i4", "indptr": "<i4", "y": "<f8"}},
     "dtype"),
])
def test_meta_disagrees_with_arrays(dataset, validate, changes, match):
    path, _ = dataset
    _edit_meta(path, **changes)
    with pytest.raises(ValueError, match=match):
        load_csc(path, validate=validate)


@pytest.mark.parametrize("mmap", [True, False])
def test_truncated_array(dataset, mmap):
    path, _ = dataset
    with open(path / "data.npy", "r+b") as f:
        f.truncate(os.path.getsize(path / "data.npy") - 16)
    with pytest.raises(ValueError, match="data.npy.*truncated"):
        load_csc(path, mmap=mmap)


def _rewrite(path, name, arr):
    np.save(path / f"{name}.npy", arr)


def test_structure_errors(dataset):
    path, X = dataset
    bad = X.indptr.copy()
    bad[5], bad[6] = bad[6] + 1, bad[5]  # no longer non-decreasing
    _rewrite(path, "indptr", bad)
    with pytest.raises(ValueError, match="non-decreasing"):
        load_csc(path)
    bad = X.indptr.copy()
    bad[-1] -= 1
    _rewrite(path, "indptr", bad)
    with pytest.raises(ValueError, match="end at nnz"):
        load_csc(path, validate=False)  # O(1) checks run even without validate
    _rewrite(path, "indptr", X.indptr)
    bad = X.indices.copy()
    bad[3] = 50  # row index == n_samples
    _rewrite(path, "indices", bad)
    with pytest.raises(ValueError, match=r"row indices must lie in \[0, 50\)"):
        load_csc(path)
    # Without validation the fit-time check of the estimators still catches it.
    Xl, yl = load_csc(path, validate=False)
    with pytest.raises(ValueError, match="row indices"):
        fastsparse.Lasso(alpha=0.01).fit(Xl, yl)
    _rewrite(path, "indices", X.indices.astype(np.int64))
    with pytest.raises(ValueError, match="dtype"):
        load_csc(path)


@pytest.mark.parametrize("where", [0, 1, 2, 4, 7])  # pair (where+1, where+2)
def test_validation_in_chunks(dataset, monkeypatch, where):
    # load_csc(validate=True) scans indptr and indices chunk by chunk (releasing each):
    # a fault at or next to a chunk boundary is found, and the reported index range is
    # that of the whole array.
    monkeypatch.setattr(fio, "_SCAN_CHUNK", 3)
    path, X = dataset
    assert_array_equal(load_csc(path)[0].toarray(), X.toarray())
    bad = X.indptr.copy()
    bad[where + 1], bad[where + 2] = bad[where + 2] + 1, bad[where + 1]  # decreases
    _rewrite(path, "indptr", bad)
    with pytest.raises(ValueError, match="non-decreasing"):
        load_csc(path)
    _rewrite(path, "indptr", X.indptr)
    bad = X.indices.copy()
    bad[where], bad[-1] = -3, 50
    _rewrite(path, "indices", bad)
    with pytest.raises(ValueError, match=r"found values in \[-3, 50\]"):
        load_csc(path)


def test_unsorted_columns_are_canonicalized_at_fit_time(dataset):
    # The per-column order is check_csc's job: a copy is canonicalized, the map untouched.
    path, X = dataset
    lo = X.indptr[np.flatnonzero(np.diff(X.indptr) >= 2)[0]]
    idx, dat = X.indices.copy(), X.data.copy()
    idx[[lo, lo + 1]], dat[[lo, lo + 1]] = idx[[lo + 1, lo]], dat[[lo + 1, lo]]
    _rewrite(path, "indices", idx)
    _rewrite(path, "data", dat)
    Xl, yl = load_csc(path)
    assert not Xl.has_canonical_format
    Xc = check_csc(Xl)
    assert Xc.has_canonical_format and not np.shares_memory(Xc.indices, Xl.indices)
    _assert_same_csc(Xc, X)
    assert_array_equal(np.load(path / "indices.npy"), idx)


# --------------------------------------------------------------------------------------
# Fitting memory-mapped data: results equal, X never copied
# --------------------------------------------------------------------------------------


def _fits(X, y, ybin):
    """Results of every kind of fit on X (vectors to compare)."""
    out = {}
    m = fastsparse.Lasso(alpha=0.02, tol=1e-10).fit(X, y)
    out["lasso"] = np.r_[m.coef_, m.intercept_]
    m = fastsparse.ElasticNet(alpha=0.02, l1_ratio=0.5, tol=1e-10).fit(X, y)
    out["enet"] = np.r_[m.coef_, m.intercept_]
    res = fastsparse.lasso_path(X, y, n_alphas=5, tol=1e-10)
    coefs = res.coefs.toarray() if sp.issparse(res.coefs) else res.coefs
    out["path"] = np.r_[res.alphas, coefs.ravel()]
    m = fastsparse.LassoCV(n_alphas=5, cv=3, tol=1e-8).fit(X, y)
    out["cv"] = np.r_[m.alpha_, m.coef_]
    m = fastsparse.LogisticRegression(C=1.0, tol=1e-10).fit(X, ybin)
    out["logistic"] = np.r_[m.coef_.ravel(), m.intercept_]
    m = fastsparse.Ridge(alpha=1.0, tol=1e-10).fit(X, y)
    out["ridge"] = np.r_[m.coef_, m.intercept_]
    return out


def test_fits_on_memory_mapped_data(tmp_path, kernel_arrays, monkeypatch):
    # In memory, paths may solve working sets on a cached Gram matrix, which a mapped X
    # never gets (another algorithm, equal only to the tolerance; compared so in
    # tests/test_mmap_passes.py): off here, so that both run the same kernels.
    import fastsparse.path as path_module
    monkeypatch.setattr(path_module, "path_gram_budget", lambda pb: 0)
    X, y = make_regression_problem(n_samples=80, n_features=60)
    ybin = (y > np.median(y)).astype(int)
    save_csc(tmp_path / "ds", X, y)
    Xm, ym = load_csc(tmp_path / "ds")
    Xc = check_csc(Xm)
    for a, b in zip((Xc.data, Xc.indices, Xc.indptr), (Xm.data, Xm.indices, Xm.indptr)):
        assert np.shares_memory(a, b)
    on_map = _fits(Xm, ym, ybin)
    # Every problem handed to the kernels used the maps themselves.
    assert len(kernel_arrays) >= 6
    for arrays in kernel_arrays:
        for a, b in zip(arrays, (Xm.data, Xm.indices, Xm.indptr)):
            assert np.shares_memory(a, b)
    in_ram = _fits(X, y, ybin)
    for key in in_ram:
        assert_allclose(on_map[key], in_ram[key], rtol=1e-12, atol=1e-14, err_msg=key)
    # And independently of fastsparse: scikit-learn's Lasso on the in-memory matrix.
    sk = SkLasso(alpha=0.02, tol=1e-12, max_iter=100_000).fit(X, y)
    assert_allclose(on_map["lasso"], np.r_[sk.coef_, sk.intercept_], atol=1e-6)


@pytest.mark.parametrize("name", ["lasso", "enet", "path", "cv", "logistic", "ridge-cg"])
def test_fits_allocate_far_less_than_x(tmp_path, name):
    # Independent of how a copy would be made (scipy conversion, fancy indexing, a
    # splitter making X indexable...): numpy allocations are traced by tracemalloc,
    # while the memory-mapped X is not, so any copy of X shows in the peak.
    import tracemalloc

    rng = np.random.default_rng(0)
    X = sp.random(10_000, 100, density=0.5, format="csc", random_state=rng)
    y = X @ rng.standard_normal(100) + rng.standard_normal(10_000)
    save_csc(tmp_path / "ds", X, y)
    Xm, ym = load_csc(tmp_path / "ds")
    ybin = (ym > np.median(ym)).astype(int)
    fit = {
        "lasso": lambda: fastsparse.Lasso(alpha=0.01).fit(Xm, ym),
        "enet": lambda: fastsparse.ElasticNet(alpha=0.01).fit(Xm, ym),
        "path": lambda: fastsparse.lasso_path(Xm, ym, n_alphas=10),
        "cv": lambda: fastsparse.LassoCV(n_alphas=10, cv=3).fit(Xm, ym),
        "logistic": lambda: fastsparse.LogisticRegression(C=1.0).fit(Xm, ybin),
        "ridge-cg": lambda: fastsparse.Ridge(alpha=1.0, solver="cg").fit(Xm, ym),
    }[name]
    # Compile outside the measurement. Twice: the passes' serial/parallel chooser probes
    # one variant and then the other, and a variant first used inside the measurement
    # would be compiled (or loaded from Numba's cache) there.
    fit()
    fit()
    tracemalloc.start()
    try:
        fit()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    size = Xm.data.nbytes + Xm.indices.nbytes  # 6 MB
    assert peak < 0.5 * size, (name, peak, size)


# --------------------------------------------------------------------------------------
# release_pages and column_blocks
# --------------------------------------------------------------------------------------


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_release_pages_drops_resident_file_pages(tmp_path):
    m = 4_000_000  # one entry per column: 32 MB of data, 16 MB of indices
    Xbig = sp.csc_matrix((m, m))
    Xbig.data = np.random.default_rng(0).standard_normal(m)
    Xbig.indices = np.arange(m, dtype=np.int32)
    Xbig.indptr = np.arange(m + 1, dtype=np.int32)
    save_csc(tmp_path / "ds", Xbig)
    Xm, _ = load_csc(tmp_path / "ds", validate=False)
    before = status_kb("RssFile")
    total = float(np.sum(Xm.data)) + float(np.sum(Xm.indices))  # touch every page
    touched = status_kb("RssFile") - before
    size_kb = (Xm.data.nbytes + Xm.indices.nbytes) // 1024
    assert touched > 0.8 * size_kb
    released = release_pages(Xm)
    assert released >= Xm.data.nbytes + Xm.indices.nbytes
    assert status_kb("RssFile") - before < 0.2 * size_kb
    # The data is still there (refaulted from the page cache).
    assert float(np.sum(Xm.data)) + float(np.sum(Xm.indices)) == total
    # A column range releases only its part (of data and of indices, both resident).
    mid = status_kb("RssFile")
    release_pages(Xm, (0, Xm.shape[1] // 2))
    dropped = mid - status_kb("RssFile")
    assert 0.35 * size_kb < dropped < 0.65 * size_kb


def test_release_pages_keeps_data_and_is_a_no_op_in_memory(tmp_path):
    X = _random_csc(n=300, p=200, density=0.3)
    assert release_pages(X) == 0  # ordinary memory
    assert release_pages((X.data, X.indices, X.indptr), slice(0, 10)) == 0
    save_csc(tmp_path / "ds", X)
    Xm, _ = load_csc(tmp_path / "ds")
    assert release_pages(Xm, slice(3, 50)) > 0
    assert release_pages(Xm) > 0
    _assert_same_csc(Xm, X)
    with pytest.raises(ValueError, match="out of bounds"):
        release_pages(Xm, (5, 1000))
    with pytest.raises(ValueError, match="step"):
        release_pages(Xm, slice(0, 10, 2))
    with pytest.raises(TypeError):
        release_pages(Xm.tocsr())
    # Shared writable map: modified pages survive the release and reach the file.
    mm = np.lib.format.open_memmap(tmp_path / "w.npy", mode="w+", dtype=np.float64,
                                   shape=(100_000,))
    mm[::100] = 7.0
    assert fio._advise_dontneed(mm, 0, mm.nbytes) > 0
    assert mm[::100].sum() == 7.0 * 1000
    mm.flush()
    del mm
    assert np.load(tmp_path / "w.npy")[::100].sum() == 7.0 * 1000
    # Copy-on-write map: releasing would discard the private changes, so it is skipped.
    cow = np.load(tmp_path / "w.npy", mmap_mode="c")
    cow[1] = 3.0
    assert fio._advise_dontneed(cow, 0, cow.nbytes) == 0
    assert cow[1] == 3.0


def test_column_blocks_allocate_nothing_of_size_p():
    # Planning the blocks of a pass over millions of columns must not allocate arrays
    # as long as the matrix (e.g. np.searchsorted casting int32 indptr to int64).
    import tracemalloc

    rng = np.random.default_rng(0)
    indptr = np.concatenate(([0], np.cumsum(rng.integers(0, 10, 2_000_000)))).astype(
        np.int32)
    cols = np.arange(0, 2_000_000, 3, dtype=np.int32)
    tracemalloc.start()
    try:
        blocks = column_blocks(indptr, None, 1 << 20)
        sub = column_blocks(indptr, cols, 1 << 20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(blocks) >= 8 and len(sub) >= 8
    assert peak < 100_000  # bytes; indptr alone is 8 MB


@pytest.mark.parametrize("block_nnz", [1, 7, 50, 10**9])
@pytest.mark.parametrize("subset", [False, True])
def test_column_blocks_partition_the_pass(block_nnz, subset):
    X = _random_csc(n=30, p=40, density=0.3, seed=1)
    cols = np.flatnonzero(np.arange(40) % 3 != 1).astype(np.int32) if subset else None
    blocks = column_blocks(X.indptr, cols, block_nnz)
    m = 40 if cols is None else cols.size
    # Consecutive blocks covering [0, m); without its last position a block holds fewer
    # than block_nnz entries (blocks end where the running count reaches a multiple).
    assert blocks[0][0] == 0 and blocks[-1][1] == m
    for (_, b), (c, _) in zip(blocks[:-1], blocks[1:]):
        assert b == c
    lengths = np.diff(X.indptr)
    pos_nnz = lengths if cols is None else lengths[cols]
    for a, b in blocks:
        assert a < b
        assert pos_nnz[a:b - 1].sum() < block_nnz
    assert len(blocks) <= X.nnz // block_nnz + 2
    # The region a block spans (what a pass over it touches) is within the budget too,
    # apart from its last column.
    for a, b in blocks:
        first = a if cols is None else cols[a]
        last = b - 1 if cols is None else cols[b - 1]
        assert X.indptr[last] - X.indptr[first] < block_nnz
    assert column_blocks(X.indptr, np.zeros(0, dtype=np.int32)) == []
    with pytest.raises(ValueError):
        column_blocks(X.indptr, None, 0)


# --------------------------------------------------------------------------------------
# svmlight conversion
# --------------------------------------------------------------------------------------


HANDWRITTEN = textwrap.dedent("""\
    # a comment line, then rows with qid, explicit zeros, empty rows and a tail comment
    1.5 qid:1 2:0.5 5:1.25 9:-3
    -1 qid:1
    2 1:1 3:0 4:2.5   # trailing comment

    0.25 2:1e-3 9:4
    3
    -2 1:7 2:8 3:9 4:10 5:11 6:12 7:13 8:14 9:15
    """)


def _sklearn_csc(src, **kwargs):
    X, y = load_svmlight_file(str(src), **kwargs)
    return X.tocsc(), y


def _check_against_sklearn(src, dst, *, n_features=None, dtype=np.float64,
                           zero_based="auto", chunk_lines=3, **kwargs):
    meta = convert_svmlight(src, dst, n_features=n_features, dtype=dtype,
                            zero_based=zero_based, chunk_lines=chunk_lines, **kwargs)
    Xc, yc = load_csc(dst)
    Xs, ys = _sklearn_csc(src, n_features=n_features, dtype=dtype, zero_based=zero_based)
    assert Xc.dtype == dtype
    _assert_same_csc(Xc, Xs)
    assert_array_equal(yc, ys)
    assert meta["shape"] == list(Xs.shape) and meta["nnz"] == Xs.nnz
    return Xc, yc


@pytest.mark.parametrize("suffix, opener", [("", open), (".gz", gzip.open),
                                            (".bz2", bz2.open)])
@pytest.mark.parametrize("zero_based", ["auto", True, False])
def test_convert_handwritten_file(tmp_path, suffix, opener, zero_based):
    src = tmp_path / f"hand.svm{suffix}"
    with opener(src, "wb") as f:
        f.write(HANDWRITTEN.encode())
    Xc, yc = _check_against_sklearn(src, tmp_path / "out", zero_based=zero_based)
    # Explicit zeros are kept, as scikit-learn keeps them; empty rows are rows.
    assert Xc.shape[0] == 6
    assert np.count_nonzero(Xc.data == 0) == 1


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("zero_based", [True, False])
def test_convert_generated_file(tmp_path, monkeypatch, dtype, zero_based):
    rng = np.random.default_rng(3)
    X = sp.random(300, 120, density=0.05, format="csr", random_state=rng)
    X.data = np.round(rng.standard_normal(X.nnz), 6)
    X = X[:, :110]  # trailing columns 110..119 empty: only n_features recovers them
    X = sp.hstack([X, sp.csr_matrix((300, 10))]).tocsr()
    keep = np.ones(300)
    keep[::7] = 0.0  # empty rows
    X = (sp.diags(keep) @ X).tocsr()
    X.eliminate_zeros()
    y = rng.integers(0, 3, 300).astype(np.float64)
    src = tmp_path / "gen.svm"
    dump_svmlight_file(X, y, str(src), zero_based=zero_based)
    Xc, _ = _check_against_sklearn(src, tmp_path / "a", n_features=120, dtype=dtype,
                                   zero_based=zero_based, chunk_lines=17)
    # Many column groups per chunk (groups are 1M entries by default).
    monkeypatch.setattr(fio, "_SCATTER_BLOCK_NNZ", 50)
    _check_against_sklearn(src, tmp_path / "c", n_features=120, dtype=dtype,
                           zero_based=zero_based, chunk_lines=40)
    assert Xc.shape == (300, 120)
    assert_allclose(Xc.toarray(), X.toarray(), rtol=1e-6 if dtype == np.float32 else 0)
    # Without n_features the shape comes from the largest index, as in scikit-learn.
    Xi, _ = _check_against_sklearn(src, tmp_path / "b", dtype=dtype,
                                   zero_based=zero_based, chunk_lines=1000)
    assert Xi.shape[1] <= 110


def test_convert_auto_decides_over_the_whole_file(tmp_path):
    # Index 0 appears only in the last chunk: per-chunk "auto" would shift the first
    # chunks; the decision must be global, as scikit-learn's on the whole file.
    src = tmp_path / "late_zero.svm"
    src.write_text("1 1:1 2:2\n2 3:3\n3 1:4\n4 0:5 3:6\n")
    Xc, _ = _check_against_sklearn(src, tmp_path / "out", chunk_lines=1)
    assert Xc.shape == (4, 4) and Xc[3, 0] == 5.0
    src.write_text("1 1:1 2:2\n2 3:3\n")  # no 0 anywhere: one-based
    Xc, _ = _check_against_sklearn(src, tmp_path / "out2", chunk_lines=1)
    assert Xc.shape == (2, 3) and Xc[0, 0] == 1.0


def test_convert_index_dtype_and_fit(tmp_path):
    src = tmp_path / "a.svm"
    src.write_text(HANDWRITTEN)
    convert_svmlight(src, tmp_path / "i64", index_dtype=np.int64)
    X64, y = load_csc(tmp_path / "i64")
    assert X64.indices.dtype == np.int64 and X64.indptr.dtype == np.int64
    Xs, ys = _sklearn_csc(src)
    _assert_same_csc(X64, Xs)
    m = fastsparse.Lasso(alpha=0.01, tol=1e-10).fit(X64, y)
    ref = SkLasso(alpha=0.01, tol=1e-12, max_iter=100_000).fit(Xs, ys)
    assert_allclose(m.coef_, ref.coef_, atol=1e-6)


@pytest.mark.parametrize("text, kwargs, match", [
    ("1 1:1 1:2\n", {}, r"lines 1-1: .*sorted and unique"),
    ("1 1:1\n2 3:1 2:5\n", {"chunk_lines": 10}, r"lines 1-2: .*sorted and unique"),
    ("1 1:1\n2 5:1\n", {"n_features": 3}, "n_features was set to 3"),
    ("1 0:1\n", {"zero_based": False}, "index 0"),
    ("1 1:nan\n", {}, "NaN"),
    ("nan 1:1\n", {}, "NaN"),
    ("# only a comment\n", {}, "no data rows"),
    ("", {}, "no data rows"),
    ("1 x:1\n", {}, "lines 1-1"),
    ("1 1:1\n", {"dtype": np.int64}, "float32 or float64"),
    ("1 1:1\n", {"index_dtype": np.int16}, "int32 or int64"),
    ("1 1:1\n", {"zero_based": "yes"}, "zero_based"),
    ("1 1:1\n", {"n_features": 0}, "n_features"),
    ("1 1:1\n", {"chunk_lines": 0}, "chunk_lines"),
])
def test_convert_errors(tmp_path, text, kwargs, match):
    src = tmp_path / "bad.svm"
    src.write_text(text)
    with pytest.raises(ValueError, match=match):
        convert_svmlight(src, tmp_path / "out", **kwargs)
    assert sorted(os.listdir(tmp_path)) == ["bad.svm"]  # nothing half-written


def test_convert_refuses_existing_target_and_missing_source(tmp_path):
    src = tmp_path / "a.svm"
    src.write_text("1 1:1\n")
    convert_svmlight(src, tmp_path / "out")
    with pytest.raises(FileExistsError):
        convert_svmlight(src, tmp_path / "out")
    src.write_text("1 1:2\n")
    convert_svmlight(src, tmp_path / "out", overwrite=True)
    assert load_csc(tmp_path / "out")[0][0, 0] == 2.0
    with pytest.raises(FileNotFoundError):
        convert_svmlight(tmp_path / "missing.svm", tmp_path / "x")


def test_convert_detects_a_file_changed_between_passes(tmp_path, monkeypatch):
    src = tmp_path / "a.svm"
    src.write_text("1 1:1 2:1\n2 2:1\n")
    real = fio._first_pass

    def then_grow(*args):
        out = real(*args)
        src.write_text("1 1:1 2:1\n2 2:1\n3 2:1\n")  # one more entry in column 2
        return out

    monkeypatch.setattr(fio, "_first_pass", then_grow)
    with pytest.raises(ValueError, match="changed between the two passes"):
        convert_svmlight(src, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def _write_big_svmlight(path, n_rows, n_features, row_nnz, seed=0):
    """A generated svmlight file (sorted unique indices per row, one-digit values)."""
    rng = np.random.default_rng(seed)
    with open(path, "w") as f:
        for start in range(0, n_rows, 5000):
            m = min(5000, n_rows - start)
            cols = np.sort(rng.integers(1, n_features + 1, (m, row_nnz)), axis=1)
            tokens = np.char.add(cols.astype(str), ":" + str(rng.integers(1, 10)))
            tokens[:, 1:][cols[:, 1:] == cols[:, :-1]] = ""  # drop repeated indices
            f.write("\n".join("1 " + " ".join(r) for r in tokens.tolist()) + "\n")


def _reset_peak_rss():
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return status_kb("VmHWM") <= status_kb("VmRSS") + 1024


def test_convert_memory_is_bounded(tmp_path, monkeypatch):
    # 3M stored entries (34 MB as in-memory CSC arrays); the conversion must not grow
    # the peak RSS by anything like that, only by O(chunk + column group + n_features).
    # Chunks and column groups are made small next to the file so that the bound shows.
    if not os.path.exists("/proc/self/clear_refs") or not _reset_peak_rss():
        pytest.skip("needs Linux /proc/self/clear_refs to reset the peak RSS")
    src = tmp_path / "big.svm"
    _write_big_svmlight(src, n_rows=30_000, n_features=50_000, row_nnz=100)
    tiny = tmp_path / "tiny.svm"
    tiny.write_text("1 1:1 3:2\n-1 2:1\n")
    convert_svmlight(tiny, tmp_path / "tiny")  # compile the kernels for these dtypes
    monkeypatch.setattr(fio, "_SCATTER_BLOCK_NNZ", 1 << 18)  # column groups of 3 MB
    assert _reset_peak_rss()
    before = status_kb("VmRSS")
    meta = convert_svmlight(src, tmp_path / "big", chunk_lines=500)
    growth = status_kb("VmHWM") - before
    in_memory_kb = meta["nnz"] * 12 // 1024  # float64 data + int32 indices
    assert meta["nnz"] > 2_900_000
    assert growth < 0.3 * in_memory_kb, (growth, in_memory_kb)
    Xc, _ = load_csc(tmp_path / "big")
    assert Xc.shape == (30_000, 50_000)
    # Spot check against scikit-learn on the first rows (the full comparison is slow).
    head = tmp_path / "head.svm"
    with open(src, "rb") as f:
        head.write_bytes(b"".join(next(f) for _ in range(200)))
    Xs, _ = load_svmlight_file(str(head), n_features=50_000)
    assert_array_equal(Xc[:200].toarray(), Xs.toarray())


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------


def test_cli_convert_subprocess(tmp_path):
    src = tmp_path / "a.svm.gz"
    with gzip.open(src, "wt") as f:
        f.write(HANDWRITTEN)
    out = subprocess.run([PYTHON, "-m", "fastsparse.io", "convert", str(src),
                          str(tmp_path / "out"), "--n-features", "12", "--dtype",
                          "float32"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "6 x 12" in out.stdout
    Xc, yc = load_csc(tmp_path / "out")
    Xs, ys = _sklearn_csc(src, n_features=12, dtype=np.float32)
    _assert_same_csc(Xc, Xs)
    assert Xc.dtype == np.float32
    # An error is one clean line on stderr and status 1, not a traceback.
    out = subprocess.run([PYTHON, "-m", "fastsparse.io", "convert", str(src),
                          str(tmp_path / "out")], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 1
    assert "error" in out.stderr and "already exists" in out.stderr
    assert "Traceback" not in out.stderr


def test_cli_main_in_process(tmp_path, capsys):
    src = tmp_path / "a.svm"
    src.write_text(HANDWRITTEN)
    assert fio.main(["convert", str(src), str(tmp_path / "o"), "--zero-based", "true",
                     "--index-dtype", "int64", "--chunk-lines", "2"]) == 0
    Xc, _ = load_csc(tmp_path / "o")
    _assert_same_csc(Xc, _sklearn_csc(src, zero_based=True)[0])
    assert Xc.indices.dtype == np.int64
    assert fio.main(["convert", str(tmp_path / "missing"), str(tmp_path / "p")]) == 1
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "bad.svm").write_text("1 2:1 1:1\n")
    assert fio.main(["convert", str(tmp_path / "bad.svm"), str(tmp_path / "q")]) == 1
    assert "sorted and unique" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        fio.main(["convert", str(src), str(tmp_path / "r"), "--dtype", "float16"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit):
        fio.main([])


def test_docstring_examples():
    result = doctest.testmod(fio, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 3 and result.failed == 0
