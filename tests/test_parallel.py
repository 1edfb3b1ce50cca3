"""The multi-threaded passes over every column: same results for 1 and N threads."""

import threading

import numba
import numpy as np
import pytest
import scipy.sparse as sp

from fastsparse import Lasso, LogisticRegression, lasso_path
from fastsparse import _parallel as P
from fastsparse import _sparse_ops as S
from fastsparse.datasets import make_sparse_data


@pytest.fixture
def text_like():
    X, y, _ = make_sparse_data(n_samples=300, n_features=3000, density=0.01,
                               random_state=0)
    return X, y


@pytest.fixture
def always_parallel(monkeypatch):
    """Send every pass, however small, through the parallel kernels."""
    monkeypatch.setattr(P, "MIN_PARALLEL_NNZ", 0)


@pytest.mark.parametrize("n_blocks", [1, 2, 3, 8, 64, 5000])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_parallel_xt_dot_is_bit_identical(text_like, n_blocks, index_dtype):
    X, _ = text_like
    indices, indptr = X.indices.astype(index_dtype), X.indptr.astype(index_dtype)
    v = np.random.default_rng(1).standard_normal(X.shape[0])
    rng = np.random.default_rng(2)
    for cols in (np.arange(X.shape[1], dtype=index_dtype),
                 np.sort(rng.choice(X.shape[1], 700, replace=False)).astype(index_dtype),
                 np.zeros(0, dtype=index_dtype)):
        serial, parallel = np.empty(cols.size), np.empty(cols.size)
        S.xt_dot(X.data, indices, indptr, cols, v, serial)
        S.xt_dot_parallel(X.data, indices, indptr, cols, v, parallel, n_blocks)
        assert np.array_equal(serial, parallel)
        np.testing.assert_allclose(serial, X[:, cols].T @ v, rtol=1e-12, atol=1e-12)


def test_parallel_column_norms_are_bit_identical(text_like):
    X, _ = text_like
    sw = np.random.default_rng(0).uniform(0.5, 2.0, X.shape[0])
    sw *= X.shape[0] / sw.sum()
    for weighted in (False, True):
        for fit_intercept in (False, True):
            args = (X.data, X.indices, X.indptr, X.shape[0], sw, weighted, fit_intercept)
            serial = S.column_sqnorms_f32(*args)
            for n_blocks in (1, 7, 64):
                assert np.array_equal(serial, S.column_sqnorms_f32_parallel(*args, n_blocks))


def _drive(chooser, seconds, calls):
    """Run ``calls`` passes through ``chooser``; ``seconds(k, i)`` is the i-th pass's time."""
    picks = []
    for i in range(calls):
        k = chooser.pick(2)
        picks.append(k)
        chooser.record(k, seconds(k, i), 1000)
    return np.array(picks)


def test_chooser_times_both_then_keeps_the_faster():
    chooser = P._Chooser()
    picks = _drive(chooser, lambda k, i: 10.0 if k == 2 else 1.0, 40)
    # Each variant is timed on PROBE_CALLS passes, parallel first; then serial is kept.
    n = P.PROBE_CALLS
    assert list(picks[:2 * n]) == [2] * n + [1] * n
    assert chooser.rate[1] == 1.0 / 1000 and chooser.rate[2] == 10.0 / 1000
    # Serial is kept until parallel's first probe, PROBE_EVERY calls later (a first
    # timing may include the start of the thread team, so it is soon re-checked).
    assert np.all(picks[2 * n:2 * n + P.PROBE_EVERY - 1] == 1)


def test_one_slow_pass_does_not_flip_the_choice():
    chooser = P._Chooser()
    # Parallel 1.4 s, serial 2.0 s, and every 7th parallel pass interrupted (5 s): an
    # exponentially smoothed mean would switch to serial after each interruption.
    picks = _drive(chooser, lambda k, i: 2.0 if k == 1 else (5.0 if i % 7 == 6 else 1.4),
                   400)
    after_trials = picks[2 * P.PROBE_CALLS:]
    assert np.mean(after_trials == 2) > 0.9


def test_probe_intervals_follow_how_badly_the_probes_lose():
    # Threads 10x slower: each probe ends after one pass (CLEAR_LOSS) and the next comes
    # late, so probing costs about PROBE_OVERHEAD of the time.
    chooser = P._Chooser()
    picks = _drive(chooser, lambda k, i: 10.0 if k == 2 else 1.0, 5000)
    probes = np.flatnonzero(picks[2 * P.PROBE_CALLS:] == 2)
    assert 5 <= probes.size <= 25
    gaps = np.diff(probes)
    assert np.all(gaps >= 9 / P.PROBE_OVERHEAD - 1)
    # Threads 1.2x slower: probes are cheap, so they come often, three passes each.
    chooser = P._Chooser()
    picks = _drive(chooser, lambda k, i: 1.2 if k == 2 else 1.0, 2000)
    probe_starts = np.flatnonzero(np.diff((picks == 2).astype(int)) == 1) + 1
    gaps = np.diff(probe_starts[1:])
    assert gaps.size > 20 and np.all(gaps <= 3 * 0.2 / P.PROBE_OVERHEAD + P.PROBE_CALLS)


def test_a_probe_that_wins_takes_over_and_resets_the_interval():
    chooser = P._Chooser()
    _drive(chooser, lambda k, i: 10.0 if k == 2 else 1.0, 3000)
    assert chooser.interval > P.PROBE_EVERY
    # The load goes away: the next probe of parallel wins, despite one interrupted
    # pass among its PROBE_CALLS, and parallel is kept.
    picks = _drive(chooser, lambda k, i: (2.5 if i == 1 else 0.5) if k == 2 else 1.0,
                   chooser.interval + 40)
    first = int(np.argmax(picks == 2))
    assert np.all(picks[first:first + P.PROBE_EVERY] == 2)
    assert np.mean(picks[first:] == 2) > 0.85  # serial is now the one probed
    assert chooser.rate[2] < chooser.rate[1]


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 Numba threads")
def test_slow_threads_fall_back_to_serial(monkeypatch, text_like):
    # Simulate a loaded machine: the parallel kernel is slow; fits must switch to the
    # serial one and keep returning the same result.
    import time as time_mod
    monkeypatch.setattr(P, "MIN_PARALLEL_NNZ", 0)
    monkeypatch.setattr(P, "_XT_DOT", P._Chooser())
    calls = {"parallel": 0}
    real = S.xt_dot_parallel

    def slow_parallel(*args):
        calls["parallel"] += 1
        time_mod.sleep(0.002)
        return real(*args)

    monkeypatch.setattr(P.S, "xt_dot_parallel", slow_parallel)
    X, y = text_like
    alpha = 0.01 * np.max(np.abs(X.T @ (y - y.mean()))) / X.shape[0]
    coef = Lasso(alpha=alpha, tol=1e-10).fit(X, y).coef_
    rates = P._XT_DOT.rate
    assert rates[1] < rates[numba.get_num_threads()]
    # At most one probe (of at most PROBE_CALLS passes) per PROBE_EVERY calls.
    assert calls["parallel"] <= P.PROBE_CALLS * (1 + P._XT_DOT.calls // P.PROBE_EVERY)
    monkeypatch.undo()
    np.testing.assert_array_equal(coef, Lasso(alpha=alpha, tol=1e-10).fit(X, y).coef_)


def test_pass_threads_policy(monkeypatch):
    monkeypatch.setattr(P, "MIN_PARALLEL_NNZ", 1000)
    assert P.pass_threads(999) == 1
    assert P.pass_threads(1000) == numba.get_num_threads()
    seen = []
    worker = threading.Thread(target=lambda: seen.append(P.pass_threads(10**9)))
    worker.start()
    worker.join()
    assert seen == [1]  # never from a non-main thread (joblib workers)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 Numba threads")
def test_fits_identical_with_one_and_two_threads(text_like, always_parallel):
    X, y = text_like
    alpha = 0.05 * np.max(np.abs(X.T @ (y - y.mean()))) / X.shape[0]
    results = {}
    old = numba.get_num_threads()
    try:
        for k in (1, 2):
            numba.set_num_threads(k)
            lasso = Lasso(alpha=alpha, tol=1e-8).fit(X, y)
            path = lasso_path(X, y, n_alphas=8, eps=1e-2, coef_format="dense")
            clf = LogisticRegression(C=1.0, tol=1e-8).fit(X, y > np.median(y))
            results[k] = (lasso.coef_, lasso.intercept_, lasso.dual_gap_, path.coefs,
                          path.dual_gaps, clf.coef_, clf.dual_gap_)
    finally:
        numba.set_num_threads(old)
    for a, b in zip(results[1], results[2]):
        assert np.array_equal(a, b)
    assert np.count_nonzero(results[1][0]) > 0


def test_non_main_thread_fit_equals_main_thread_fit(text_like, always_parallel):
    X, y = text_like
    alpha = 0.05 * np.max(np.abs(X.T @ (y - y.mean()))) / X.shape[0]
    main = Lasso(alpha=alpha, tol=1e-8).fit(X, y).coef_
    out = []
    worker = threading.Thread(target=lambda: out.append(Lasso(alpha=alpha, tol=1e-8)
                                                        .fit(X, y).coef_))
    worker.start()
    worker.join()
    assert np.array_equal(main, out[0])


def test_parallel_pass_on_csr_converted_input(always_parallel):
    # A CSR input is converted once; the parallel passes see the converted arrays.
    X = sp.random(80, 400, density=0.05, format="csr", random_state=3)
    y = np.random.default_rng(3).standard_normal(80)
    coef = Lasso(alpha=0.01, tol=1e-10).fit(X, y).coef_
    ref = Lasso(alpha=0.01, tol=1e-10).fit(X.toarray(), y).coef_
    np.testing.assert_allclose(coef, ref, atol=1e-7)
