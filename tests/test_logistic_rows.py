"""The logistic solver's passes over the rows (fastsparse._logistic_rows).

Checked against plain numpy formulas, and their parallel twins against the serial
drivers bit for bit: the chunking depends on n only, so a fit must not depend on the
number of threads or on which variant the chooser picked.
"""

import numba
import numpy as np
import pytest
from scipy.special import entr, expit

from fastsparse import LogisticRegression
from fastsparse import _logistic_rows as LR
from fastsparse import _parallel as P
from fastsparse.datasets import make_sparse_data

FLOOR = 1e-10


def _rows(n, weighted, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=4.0, size=n)
    special = [0.0, 40.0, -40.0, 800.0, -800.0]  # exact zero and extreme margins
    z[: min(n, 5)] = special[: min(n, 5)]
    y = np.where(rng.random(n) < 0.4, 1.0, -1.0)
    sw = rng.uniform(0.0, 3.0, size=n) if weighted else np.ones(1)
    return z, y, sw


def _numpy_loss(z, y, s):
    return float(np.sum(s * np.logaddexp(0.0, -y * z)))


@pytest.mark.parametrize("n", [1, 100, LR.ROW_CHUNK * 2 + 7, 50_000])
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_dual_direction_and_weights_match_numpy(n, weighted):
    z, y, sw = _rows(n, weighted)
    s = sw if weighted else np.ones(n)
    u, h = np.empty(n), np.empty(n)
    loss, pos, neg, h_sum = LR.loss_and_dual_direction(z, y, sw, weighted, FLOOR, u, h,
                                                       LR.row_parts())
    m = y * z
    u_ref = s * y * expit(-m)
    h_ref = s * np.maximum(expit(m) * expit(-m), FLOOR)
    np.testing.assert_allclose(u, u_ref, rtol=1e-13, atol=0)
    np.testing.assert_allclose(h, h_ref, rtol=1e-13, atol=0)
    assert loss == pytest.approx(_numpy_loss(z, y, s), rel=1e-12)
    assert pos == pytest.approx(u_ref[y > 0].sum(), rel=1e-12, abs=1e-300)
    assert neg == pytest.approx(-u_ref[y < 0].sum(), rel=1e-12, abs=1e-300)
    assert h_sum == pytest.approx(h_ref.sum(), rel=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_loss_change_and_entropy_match_numpy(weighted):
    n = 3 * LR.ROW_CHUNK + 11
    z, y, sw = _rows(n, weighted, seed=1)
    z = np.clip(z, -30, 30)  # keep the plain difference of losses accurate
    s = sw if weighted else np.ones(n)
    dz = np.random.default_rng(2).normal(scale=0.5, size=n)
    parts = LR.row_parts()
    for step in (1.0, 0.25, 5.0):  # small and large |d| (two formulas)
        change = LR.loss_change(z, dz, step, y, sw, weighted, parts)
        ref = _numpy_loss(z + step * dz, y, s) - _numpy_loss(z, y, s)
        assert change == pytest.approx(ref, rel=1e-9, abs=1e-9 * _numpy_loss(z, y, s))
    u = s * y * expit(-y * z)
    for t in (1.0, 0.6):
        ent = LR.entropy_value(u, t, y, sw, weighted, parts)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.where(s > 0, t * y * u / np.where(s > 0, s, 1.0), 0.0)
        ref = float(np.sum(s * (entr(p) + entr(1.0 - p))))
        assert ent == pytest.approx(ref, rel=1e-12)


def test_row_chunks_depend_on_n_only():
    assert LR.row_chunks(0) == 1
    assert LR.row_chunks(2 * LR.ROW_CHUNK - 1) == 1  # below two chunks: one plain sum
    assert LR.row_chunks(2 * LR.ROW_CHUNK) == 2
    assert LR.row_chunks(10**9) == LR.MAX_ROW_CHUNKS


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 Numba threads")
@pytest.mark.parametrize("weighted", [False, True])
def test_parallel_twins_are_bit_identical(weighted):
    n = 7 * LR.ROW_CHUNK + 5
    z, y, sw = _rows(n, weighted, seed=3)
    dz = np.random.default_rng(4).normal(size=n)
    old = numba.get_num_threads()
    results = []
    try:
        for serial, k in ((True, 1), (False, 2), (False, 1)):
            numba.set_num_threads(k)
            parts = LR.row_parts()
            u, h = np.empty(n), np.empty(n)
            f = LR.loss_and_dual_direction if serial else LR.loss_and_dual_direction_parallel
            sums = f(z, y, sw, weighted, FLOOR, u, h, parts)
            f = LR.loss_change if serial else LR.loss_change_parallel
            change = f(z, dz, 0.5, y, sw, weighted, parts)
            f = LR.entropy_value if serial else LR.entropy_value_parallel
            ent = f(u, 0.9, y, sw, weighted, parts)
            results.append((u, h, np.array([*sums, change, ent])))
    finally:
        numba.set_num_threads(old)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert np.array_equal(a, b)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 Numba threads")
def test_tall_logistic_fit_identical_with_one_and_two_threads(monkeypatch):
    # Enough rows for several chunks; every pass sent through the parallel variants.
    X, y, _ = make_sparse_data(5 * LR.ROW_CHUNK, 300, density=0.02, task="classification",
                               random_state=0)
    monkeypatch.setattr(P, "MIN_PARALLEL_NNZ", 0)
    old = numba.get_num_threads()
    fits = []
    try:
        for k in (1, 2):
            numba.set_num_threads(k)
            for fit_intercept in (False, True):
                clf = LogisticRegression(C=0.5, tol=1e-8, fit_intercept=fit_intercept)
                clf.fit(X, y)
                fits.append((clf.coef_, clf.intercept_, clf.dual_gap_))
    finally:
        numba.set_num_threads(old)
    assert np.count_nonzero(fits[0][0]) > 0
    for a, b in zip(fits[:2], fits[2:]):
        for x1, x2 in zip(a, b):
            assert np.array_equal(x1, x2)
