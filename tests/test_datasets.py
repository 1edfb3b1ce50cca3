"""Tests of the synthetic dataset generators, the file loaders and the disk cache.

Only the small presets and comparable hand-sized shapes are generated here; news20,
finance and url take seconds to minutes and are timed by hand instead.
"""

import os

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import dump_svmlight_file

from fastsparse import datasets
from fastsparse.datasets import (
    GENERATOR_VERSION,
    PRESETS,
    fetch_preset,
    get_cache_dir,
    load_npz,
    load_svmlight,
    make_preset,
    make_sparse_data,
)

SMALL = dict(n_samples=500, n_features=2_000, nnz=10_000)


@pytest.fixture(scope="module")
def medium():
    """The medium preset: large enough for frequency statistics, fast to generate."""
    return make_preset("medium", random_state=0)


def assert_same_csc(A, B):
    """Exact equality of two CSC matrices, structure and dtypes included."""
    assert A.format == B.format == "csc"
    assert A.shape == B.shape
    assert A.dtype == B.dtype
    assert A.indices.dtype == B.indices.dtype
    np.testing.assert_array_equal(A.indptr, B.indptr)
    np.testing.assert_array_equal(A.indices, B.indices)
    np.testing.assert_array_equal(A.data, B.data)


def column_counts(X):
    """Number of stored entries (document frequency) of each column of a CSC matrix."""
    return np.diff(X.indptr)


def row_norms(X):
    return np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())


# --------------------------------------------------------------------------------------
# Determinism
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_same_arguments_give_identical_arrays(task):
    X1, y1, w1 = make_sparse_data(**SMALL, task=task, random_state=3)
    X2, y2, w2 = make_sparse_data(**SMALL, task=task, random_state=3)
    assert_same_csc(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(w1, w2)


def test_shuffle_features_must_be_a_bool():
    with pytest.raises(TypeError, match="shuffle_features must be a bool"):
        make_sparse_data(20, 30, shuffle_features="no")


def test_different_seeds_give_different_arrays():
    X1, y1, w1 = make_sparse_data(**SMALL, random_state=0)
    X2, y2, w2 = make_sparse_data(**SMALL, random_state=1)
    assert (X1 != X2).nnz > 0
    assert not np.array_equal(y1, y2)
    assert not np.array_equal(w1, w2)


def test_dtype_changes_only_the_precision_of_x():
    X64, y64, w64 = make_sparse_data(**SMALL, dtype=np.float64)
    X32, y32, w32 = make_sparse_data(**SMALL, dtype=np.float32)
    np.testing.assert_array_equal(X32.indices, X64.indices)
    np.testing.assert_array_equal(X32.data, X64.data.astype(np.float32))
    np.testing.assert_array_equal(y32, y64)
    np.testing.assert_array_equal(w32, w64)


# --------------------------------------------------------------------------------------
# Format, shape, dtypes and size
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_canonical_csc_with_requested_dtypes(dtype, index_dtype):
    X, y, w_true = make_sparse_data(**SMALL, dtype=dtype, index_dtype=index_dtype)
    assert isinstance(X, sp.csc_matrix)
    assert X.shape == (SMALL["n_samples"], SMALL["n_features"])
    assert X.dtype == dtype
    assert X.indices.dtype == index_dtype
    assert X.indptr.dtype == index_dtype
    # Check the structure itself, not scipy's cached flag.
    for j in range(X.shape[1]):
        rows = X.indices[X.indptr[j]:X.indptr[j + 1]]
        assert np.all(np.diff(rows) > 0), f"column {j} is unsorted or has duplicates"
    assert X.indptr[-1] == X.nnz == X.data.size
    assert y.shape == (X.shape[0],) and y.dtype == np.float64
    assert w_true.shape == (X.shape[1],) and w_true.dtype == np.float64


@pytest.mark.parametrize(
    "shape, size",
    [
        ((500, 2_000), {"nnz": 10_000}),
        ((300, 50_000), {"nnz": 30_000}),
        ((2_000, 300), {"density": 0.05}),
        ((200, 100), {"density": 0.4}),
    ],
)
def test_nnz_close_to_request(shape, size):
    X, _, _ = make_sparse_data(*shape, **size)
    requested = size.get("nnz") or size["density"] * shape[0] * shape[1]
    assert abs(X.nnz - requested) <= 0.05 * requested


def test_default_size_is_one_percent_dense():
    X, _, _ = make_sparse_data(400, 1_000)
    assert abs(X.nnz - 4_000) <= 0.05 * 4_000
    X, _, _ = make_sparse_data(400, 10)  # 1% would leave rows empty
    assert X.nnz == 400 and np.all(np.diff(X.tocsr().indptr) == 1)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"density": 0.1, "nnz": 100}, "either density or nnz"),
        ({"density": 0.0}, "density"),
        ({"density": 0.9}, "density"),
        ({"nnz": 10}, "non-zeros"),
        ({"nnz": 10**9}, "non-zeros"),
        ({"nnz": 1_000.0}, "nnz must be an integer"),
        ({"n_informative": 5_000}, "n_informative"),
        ({"n_informative": -1}, "n_informative"),
        ({"zipf_exponent": -1.0}, "zipf_exponent"),
        ({"noise": np.nan}, "noise"),
        ({"task": "ranking"}, "task"),
        ({"dtype": np.int64}, "dtype"),
        ({"dtype": None}, "dtype"),
        ({"index_dtype": np.int16}, "index_dtype"),
    ],
)
def test_invalid_parameters_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_sparse_data(100, 1_000, **kwargs)


@pytest.mark.parametrize("shape", [(0, 10), (10, 0), (10.0, 10)])
def test_invalid_shape_raises(shape):
    with pytest.raises(ValueError, match="positive integer"):
        make_sparse_data(*shape)


# --------------------------------------------------------------------------------------
# Text-like structure
# --------------------------------------------------------------------------------------


def test_column_frequencies_follow_a_power_law(medium):
    X, _, _ = medium
    df = np.sort(column_counts(X))[::-1]
    top_share = df[: df.size // 100].sum() / X.nnz
    assert top_share > 0.4, "the top 1% of columns should hold a large share of entries"
    assert df[0] > 0.5 * X.shape[0], "the most frequent column should be stop-word-like"
    assert np.mean(df <= 2) > 0.5, "most columns should be rare"
    assert np.any(df == 0), "the power-law tail should leave some columns empty"


def test_rows_have_varied_lengths(medium):
    X, _, _ = medium
    lengths = np.diff(X.tocsr().indptr)
    assert lengths.min() >= 1
    assert lengths.max() > 4 * np.median(lengths)
    assert lengths.std() > 0.5 * lengths.mean()


def test_values_are_positive_and_rows_unit_norm(medium):
    X, _, _ = medium
    assert np.all(X.data > 0)
    norms = row_norms(X)
    nonempty = np.diff(X.tocsr().indptr) > 0
    np.testing.assert_allclose(norms[nonempty], 1.0, rtol=1e-12)


def test_float32_rows_unit_norm():
    X, _, _ = make_sparse_data(**SMALL, dtype=np.float32)
    np.testing.assert_allclose(row_norms(X), 1.0, rtol=1e-5)


def test_rare_columns_weigh_more_than_frequent_ones(medium):
    # The idf factor: within a row, an entry in a rare column outweighs one in a
    # near-dense column with the same count.
    X, _, _ = medium
    df = column_counts(X)
    frequent, rare = np.argmax(df), np.flatnonzero(df == 1)
    mean_frequent = X[:, frequent].data.mean()
    mean_rare = np.mean(X[:, rare].data)
    assert mean_rare > 2 * mean_frequent


def test_unshuffled_columns_are_sorted_by_expected_frequency():
    X, _, _ = make_sparse_data(**SMALL, shuffle_features=False)
    df = column_counts(X)
    assert df[:10].min() > df[-1_000:].max()


def test_shuffled_columns_are_not_sorted_by_frequency():
    X, _, _ = make_sparse_data(**SMALL)
    df = column_counts(X)
    assert df[:10].min() <= np.median(df)


# --------------------------------------------------------------------------------------
# Ground truth and targets
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("n_informative", [None, 0, 7, 150])
def test_w_true_support_size(n_informative):
    _, _, w_true = make_sparse_data(**SMALL, n_informative=n_informative)
    expected = 100 if n_informative is None else n_informative
    assert np.count_nonzero(w_true) == expected
    assert np.all(np.abs(w_true[w_true != 0]) >= 1.0)


def test_w_true_sits_on_moderately_frequent_columns(medium):
    X, _, w_true = medium
    df = column_counts(X)
    support = np.flatnonzero(w_true)
    rank_of = np.empty(df.size, dtype=np.int64)
    rank_of[np.argsort(-df, kind="stable")] = np.arange(df.size)
    assert df[support].min() >= 2, "no coefficient on an empty or singleton column"
    assert rank_of[support].min() >= 10, "no coefficient on the top few columns"
    assert df[support].max() <= 0.1 * X.shape[0], "no coefficient on stop-word columns"
    assert np.any(w_true > 0) and np.any(w_true < 0)


def test_regression_target_follows_the_linear_model(medium):
    X, y, w_true = medium
    signal = X @ w_true
    assert np.corrcoef(y, signal)[0, 1] > 0.98
    # noise=0.1 is relative to the spread of the signal
    np.testing.assert_allclose(np.std(y - signal), 0.1 * np.std(signal), rtol=0.1)


def test_noiseless_regression_is_exact():
    X, y, w_true = make_sparse_data(**SMALL, noise=0.0)
    np.testing.assert_allclose(y, X @ w_true, rtol=1e-12, atol=1e-15)


def test_classification_labels_are_balanced_and_informative():
    X, y, w_true = make_sparse_data(**SMALL, task="classification")
    assert set(np.unique(y)) == {0.0, 1.0}
    assert 0.45 <= y.mean() <= 0.55
    signal = X @ w_true
    assert signal[y == 1].mean() > signal[y == 0].mean()


def test_classification_uses_the_same_data_as_regression():
    X_reg, y_reg, w_reg = make_sparse_data(**SMALL, task="regression")
    X_clf, y_clf, w_clf = make_sparse_data(**SMALL, task="classification")
    assert_same_csc(X_reg, X_clf)
    np.testing.assert_array_equal(w_reg, w_clf)
    np.testing.assert_array_equal(y_clf, y_reg > np.median(y_reg))


# --------------------------------------------------------------------------------------
# Presets
# --------------------------------------------------------------------------------------


def test_presets_record_the_benchmark_shapes():
    expected = {
        "small": (500, 2_000),
        "medium": (5_000, 50_000),
        "rcv1": (20_242, 47_236),
        "news20": (19_996, 1_355_191),
        "finance": (16_087, 4_272_227),
        "url": (2_396_130, 3_231_961),
    }
    assert set(PRESETS) == set(expected)
    for name, shape in expected.items():
        preset = PRESETS[name]
        assert preset.name == name
        assert (preset.n_samples, preset.n_features) == shape
        assert preset.n_samples <= preset.nnz <= 0.5 * preset.n_samples * preset.n_features
        assert preset.task in ("regression", "classification")
    assert PRESETS["rcv1"].task == PRESETS["news20"].task == "classification"
    assert PRESETS["finance"].task == "regression"


@pytest.mark.parametrize("name", ["small", "medium"])
def test_make_preset_matches_its_record(name):
    preset = PRESETS[name]
    X, y, _ = make_preset(name)
    assert X.shape == (preset.n_samples, preset.n_features)
    assert abs(X.nnz - preset.nnz) <= 0.05 * preset.nnz
    is_binary = set(np.unique(y)) <= {0.0, 1.0}
    assert is_binary == (preset.task == "classification")


def test_make_preset_task_override():
    _, y, _ = make_preset("small", "classification", dtype=np.float32)
    assert set(np.unique(y)) == {0.0, 1.0}


def test_unknown_preset_lists_the_valid_names():
    with pytest.raises(ValueError, match="news20"):
        make_preset("news21")


# --------------------------------------------------------------------------------------
# Loaders
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small():
    return make_sparse_data(**SMALL)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_svmlight_round_trip(small, tmp_path, dtype):
    X, y, _ = small
    path = tmp_path / "small.svm"
    # One-based indices, as libsvm writes them
    dump_svmlight_file(X, y, str(path), zero_based=False)
    X_loaded, y_loaded = load_svmlight(path, n_features=X.shape[1], dtype=dtype)
    assert isinstance(X_loaded, sp.csc_matrix) and X_loaded.has_canonical_format
    assert X_loaded.dtype == dtype
    np.testing.assert_array_equal(X_loaded.indptr, X.indptr)
    np.testing.assert_array_equal(X_loaded.indices, X.indices)
    # dump_svmlight_file writes 16 significant digits: the last bit of float64 may change
    rtol = 1e-15 if dtype == np.float64 else 1e-7
    np.testing.assert_allclose(X_loaded.data, X.data.astype(dtype), rtol=rtol)
    np.testing.assert_allclose(y_loaded, y, rtol=1e-15)


def test_svmlight_zero_based_file(tmp_path):
    X = sp.csc_matrix(np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]]))
    path = tmp_path / "zero.svm"
    dump_svmlight_file(X, [1.0, -1.0], str(path), zero_based=True)
    X_loaded, _ = load_svmlight(path)
    np.testing.assert_array_equal(X_loaded.toarray(), X.toarray())


def test_svmlight_missing_and_malformed_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.svm"):
        load_svmlight(tmp_path / "missing.svm")
    with pytest.raises(ValueError, match="not a regular file"):
        load_svmlight(tmp_path)
    bad = tmp_path / "bad.svm"
    bad.write_text("1 3:0.5 this-is-not-svmlight\n")
    with pytest.raises(ValueError, match="bad.svm"):
        load_svmlight(bad)


@pytest.mark.parametrize("target_suffix", [".npy", ".txt"])
def test_npz_round_trip(small, tmp_path, target_suffix):
    X, y, _ = small
    sp.save_npz(tmp_path / "X.npz", X)
    target = tmp_path / f"y{target_suffix}"
    if target_suffix == ".npy":
        np.save(target, y)
    else:
        np.savetxt(target, y, fmt="%.17g")
    X_loaded, y_loaded = load_npz(tmp_path / "X.npz", target)
    assert_same_csc(X_loaded, X)
    np.testing.assert_array_equal(y_loaded, y)


def test_npz_without_target(small, tmp_path):
    X, _, _ = small
    sp.save_npz(tmp_path / "X.npz", X, compressed=False)
    X_loaded, y_loaded = load_npz(tmp_path / "X.npz")
    assert_same_csc(X_loaded, X)
    assert y_loaded is None


def test_npz_other_formats_become_canonical_csc(tmp_path):
    # COO with a duplicate and unsorted entries
    coo = sp.coo_matrix(([1.0, 2.0, 5.0], ([1, 0, 1], [0, 1, 0])), shape=(2, 3))
    sp.save_npz(tmp_path / "coo.npz", coo)
    sp.save_npz(tmp_path / "csr_array.npz", sp.csr_array(coo))
    for name in ("coo.npz", "csr_array.npz"):
        X, _ = load_npz(tmp_path / name)
        assert isinstance(X, sp.csc_matrix) and X.has_canonical_format
        np.testing.assert_array_equal(X.toarray(), [[0.0, 2.0, 0.0], [6.0, 0.0, 0.0]])


def test_npz_errors(small, tmp_path):
    X, y, _ = small
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        load_npz(tmp_path / "missing.npz")
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"definitely not a zip archive")
    with pytest.raises(ValueError, match="garbage.npz"):
        load_npz(garbage)
    dense = tmp_path / "dense.npy"
    np.save(dense, np.ones(3))
    with pytest.raises(ValueError, match="dense.npy"):
        load_npz(dense)

    sp.save_npz(tmp_path / "X.npz", X)
    np.save(tmp_path / "short.npy", y[:-1])
    with pytest.raises(ValueError, match="expected \\(500,\\)"):
        load_npz(tmp_path / "X.npz", tmp_path / "short.npy")
    with pytest.raises(FileNotFoundError):
        load_npz(tmp_path / "X.npz", tmp_path / "missing.npy")
    (tmp_path / "words.txt").write_text("a\nb\n")
    with pytest.raises(ValueError, match="words.txt"):
        load_npz(tmp_path / "X.npz", tmp_path / "words.txt")


# --------------------------------------------------------------------------------------
# Disk cache
# --------------------------------------------------------------------------------------


def _refuse_to_generate(*args, **kwargs):
    raise AssertionError("the cached data should have been used")


def cache_entries(cache_dir):
    return sorted(p.name for p in cache_dir.iterdir())


def test_fetch_preset_generates_once_then_reads_the_cache(tmp_path, monkeypatch):
    X1, y1, w1 = fetch_preset("small", cache_dir=tmp_path)
    X_ref, y_ref, w_ref = make_preset("small")
    assert_same_csc(X1, X_ref)
    np.testing.assert_array_equal(y1, y_ref)
    np.testing.assert_array_equal(w1, w_ref)

    [entry] = cache_entries(tmp_path)  # one entry, no temporary directory left behind
    assert f"v{GENERATOR_VERSION}" in entry
    files = sorted(p.name for p in (tmp_path / entry).iterdir())
    assert files == ["X.npz", "params.json", "w_true.npy", "y.npy"]

    monkeypatch.setattr(datasets, "make_preset", _refuse_to_generate)
    monkeypatch.setattr(datasets, "make_sparse_data", _refuse_to_generate)
    X2, y2, w2 = fetch_preset("small", cache_dir=tmp_path)
    assert_same_csc(X2, X1)
    np.testing.assert_array_equal(y2, y1)
    np.testing.assert_array_equal(w2, w1)


def test_cache_key_covers_every_parameter(tmp_path):
    fetch_preset("small", cache_dir=tmp_path)
    fetch_preset("small", "classification", cache_dir=tmp_path)
    X32, _, _ = fetch_preset("small", dtype=np.float32, cache_dir=tmp_path)
    _, y_seed, _ = fetch_preset("small", random_state=1, cache_dir=tmp_path)
    assert len(cache_entries(tmp_path)) == 4
    assert X32.dtype == np.float32
    np.testing.assert_array_equal(y_seed, make_preset("small", random_state=1)[1])


def test_cache_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTSPARSE_CACHE_DIR", str(tmp_path / "env"))
    assert get_cache_dir() == tmp_path / "env"
    fetch_preset("small")
    assert len(cache_entries(tmp_path / "env")) == 1
    monkeypatch.delenv("FASTSPARSE_CACHE_DIR")
    assert get_cache_dir() == get_cache_dir("~/.cache/fastsparse")
    assert get_cache_dir().is_absolute()


def test_interrupted_write_leaves_no_entry(tmp_path, monkeypatch):
    def interrupted_save(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(datasets.np, "save", interrupted_save)
    with pytest.raises(KeyboardInterrupt):
        fetch_preset("small", cache_dir=tmp_path)
    assert cache_entries(tmp_path) == []


def test_corrupt_entry_is_regenerated(tmp_path):
    X_ref, _, _ = fetch_preset("small", cache_dir=tmp_path)
    [entry] = cache_entries(tmp_path)
    (tmp_path / entry / "X.npz").write_bytes(b"truncated")
    with pytest.warns(RuntimeWarning, match="unreadable cache entry"):
        X, _, _ = fetch_preset("small", cache_dir=tmp_path)
    assert_same_csc(X, X_ref)
    X_again, _, _ = fetch_preset("small", cache_dir=tmp_path)  # repaired: no warning
    assert_same_csc(X_again, X_ref)


def test_concurrent_writer_keeps_the_first_entry(tmp_path, monkeypatch):
    # Simulate another process finishing the same entry while this one was generating.
    original = datasets.make_preset

    def generate_while_other_process_writes(*args, **kwargs):
        result = original(*args, **kwargs)
        monkeypatch.setattr(datasets, "make_preset", original)
        fetch_preset("small", cache_dir=tmp_path)
        return result

    monkeypatch.setattr(datasets, "make_preset", generate_while_other_process_writes)
    X, _, _ = fetch_preset("small", cache_dir=tmp_path)
    assert len(cache_entries(tmp_path)) == 1
    assert_same_csc(X, make_preset("small")[0])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"name": "nope"}, "Unknown dataset preset"),
        ({"name": "small", "task": "ranking"}, "task"),
        ({"name": "small", "random_state": None}, "integer random_state"),
        ({"name": "small", "dtype": np.float16}, "dtype"),
    ],
)
def test_fetch_preset_invalid_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fetch_preset(cache_dir=tmp_path, **kwargs)
    assert not os.listdir(tmp_path)
