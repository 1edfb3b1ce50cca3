"""Block-Jacobi epochs of the elastic-net working-set solver (fastsparse._kernels).

The production rule (:func:`fastsparse._solver.jacobi_plan`) uses them only on large
working sets of uncentered, common-mode data; here the thresholds are lowered so that
small problems take them, and the fits are checked against scikit-learn, the optimality
conditions and the duality gap, computed independently (tests/reference.py).
"""

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from scipy.optimize import minimize_scalar
from sklearn.linear_model import ElasticNet as SkElasticNet

import reference as ref
from conftest import make_regression_problem
from fastsparse import ElasticNet, Lasso, lasso_path
from fastsparse import _kernels as K
from fastsparse import _solver
from fastsparse import _sparse_ops as S


@pytest.fixture
def always_jacobi(monkeypatch):
    """Every working set of two or more columns takes block-Jacobi epochs."""
    calls = []
    original = _solver.jacobi_plan

    def plan(pb, ws):
        calls.append(ws.shape[0])
        return _solver.JACOBI_BLOCKS, original(pb, ws)[1]

    monkeypatch.setattr(_solver, "jacobi_plan", plan)
    return calls


def _sk_fit(X, y, alpha, l1_ratio, fit_intercept, sw=None, positive=False):
    return SkElasticNet(alpha=alpha, l1_ratio=l1_ratio, fit_intercept=fit_intercept,
                        tol=1e-14, max_iter=200_000, positive=positive).fit(
                            X.toarray(), y, sample_weight=sw)


@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("l1_ratio,positive", [(1.0, False), (0.7, False), (1.0, True)])
def test_jacobi_fits_match_sklearn_and_kkt(always_jacobi, fit_intercept, weighted,
                                           l1_ratio, positive):
    X, y = make_regression_problem(n_samples=70, n_features=90, seed=3)
    sw = np.random.default_rng(1).uniform(0.3, 3.0, 70) if weighted else None
    alpha = 0.01 * ref.alpha_max(X, y, l1_ratio, sw, fit_intercept)
    model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, fit_intercept=fit_intercept,
                       positive=positive, tol=1e-14, max_iter=1000).fit(
                           X, y, sample_weight=sw)
    assert always_jacobi, "the block-Jacobi epochs were not used"
    sk = _sk_fit(X, y, alpha, l1_ratio, fit_intercept, sw, positive)
    assert_allclose(model.coef_, sk.coef_, rtol=1e-4, atol=1e-6)
    assert_allclose(model.intercept_, sk.intercept_, rtol=1e-5, atol=1e-6)
    ours = ref.objective(X, y, model.coef_, model.intercept_, alpha, l1_ratio, sw)
    theirs = ref.objective(X, y, sk.coef_, sk.intercept_, alpha, l1_ratio, sw)
    assert ours <= theirs * (1 + 1e-12)
    # Exact zeros and signs: a coefficient of 1e-17 of the wrong sign would pass the
    # gap but not these conditions.
    assert ref.kkt_violation(X, y, model.coef_, alpha, l1_ratio, sw, fit_intercept,
                             positive=positive) < 1e-4
    gap = ref.duality_gap(X, y, model.coef_, alpha, l1_ratio, sw, fit_intercept,
                          positive=positive)
    assert gap <= 1e-12 * max(np.mean(y ** 2), 1.0)


def test_jacobi_path_every_alpha_certified(always_jacobi):
    X, y = make_regression_problem(n_samples=80, n_features=120, seed=7)
    res = lasso_path(X, y, n_alphas=15, tol=1e-6, tol_scale="objective",
                     fit_intercept=False)
    assert np.all(res.converged)
    for k, alpha in enumerate(res.alphas):
        coef = res.coefs[:, k]
        primal = ref.objective(X, y, coef, 0.0, alpha, 1.0, None)
        gap = ref.duality_gap(X, y, coef, alpha, 1.0, None, fit_intercept=False)
        assert gap <= 1.01e-6 * primal + 1e-14
        assert ref.kkt_violation(X, y, coef, alpha, 1.0, None, False) < 1e-2


def test_parallel_and_serial_blocks_are_bit_identical(always_jacobi, monkeypatch):
    # The threads only change the time: same blocks, same arithmetic, same result.
    # pass_threads is forced so that these small fits are allowed threads at all.
    X, y = make_regression_problem(n_samples=200, n_features=300, density=0.1, seed=11)
    coefs = {}
    old = numba.get_num_threads()
    try:
        for threads in (1, 2):
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            monkeypatch.setattr(_solver.P, "pass_threads", lambda nnz, t=threads: t)
            monkeypatch.setattr(_solver, "_JACOBI_CHOOSER", _solver.P._Chooser())
            fits = [Lasso(alpha=a, fit_intercept=False, tol=1e-10).fit(X, y).coef_
                    for a in (0.05, 0.01, 0.002)]
            coefs[threads] = np.array(fits)
    finally:
        numba.set_num_threads(old)
    assert_array_equal(coefs[1], coefs[2])


def _combine_case(seed, positive):
    """A random block-Jacobi combination problem on a small CSC matrix."""
    rng = np.random.default_rng(seed)
    n, m = 40, 12
    X = sp.random(n, m, density=0.5, format="csc", random_state=rng)
    X.data[:] = rng.standard_normal(X.nnz)
    ws = np.arange(m, dtype=np.int64)
    w_old = rng.standard_normal(m)
    w_old[rng.random(m) < 0.3] = 0.0
    if positive:
        w_old = np.abs(w_old)
    # The blocks' new coordinates: some cross zero, some go to zero, some stay.
    w_new = w_old + rng.standard_normal(m)
    w_new[:3] = 0.0
    if positive:
        w_new = np.maximum(w_new, 0.0)
    r0 = rng.standard_normal(n)
    bounds = np.array([0, m // 2, m], dtype=np.int64)
    r_blocks = np.empty((2, n))
    shifts = np.zeros(2)
    for b in range(2):
        lo, hi = bounds[b], bounds[b + 1]
        d = np.zeros(m)
        d[lo:hi] = (w_new - w_old)[lo:hi]
        r_blocks[b] = r0 - X @ d
    l1 = np.full(m, 0.7)
    l2 = np.full(m, 0.2)
    return X, ws, w_old, w_new, r0, bounds, r_blocks, shifts, l1, l2


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("positive", [False, True])
def test_jacobi_line_search_is_the_exact_minimizer(seed, positive):
    X, ws, w_old, w_new, r0, bounds, r_blocks, shifts, l1, l2 = _combine_case(seed,
                                                                             positive)
    delta = w_new - w_old

    def f(t):
        wt = w_old + t * delta
        r = r0 - t * (X @ delta)
        return 0.5 * r @ r + l1 @ np.abs(wt) + 0.5 * l2 @ (wt * wt)

    t_hi = K.JACOBI_STEP_CAP
    if positive and np.any(delta < 0):
        t_hi = min(t_hi, np.min(-w_old[delta < 0] / delta[delta < 0]))
    w = w_new.copy()
    r_raw = r0.copy()
    m = ws.shape[0]
    shift, t = K._jacobi_combine(X.data, X.indices, X.indptr, ws, w, w_old, r_raw, 0.0,
                                 np.ones(1), False, False, np.zeros(m), l1, l2,
                                 positive, r_blocks, shifts, np.empty(X.shape[0]),
                                 np.empty(m), np.empty(m))
    best = minimize_scalar(f, bounds=(0.0, t_hi), method="bounded",
                           options={"xatol": 1e-12})
    assert 0.0 <= t <= t_hi + 1e-15
    assert f(t) <= best.fun + 1e-9 * abs(best.fun)
    # The state moved consistently: the residual is the one of the new coefficients
    # (coefficients the blocks zeroed and the step carried past 0 are reset to 0).
    assert_allclose(r_raw, r0 - X @ (w - w_old), atol=1e-12)
    if positive:
        assert np.all(w >= 0.0)
    crossed = (w_new == 0.0) & (w_old != 0.0) & (w != 0.0)
    assert np.all(np.sign(w[crossed]) == np.sign(w_old[crossed]))


def test_jacobi_bounds_balance_nonzeros():
    indptr = np.array([0, 10, 11, 12, 13, 23, 24, 34], dtype=np.int32)
    ws = np.arange(7, dtype=np.int64)
    bounds = K.jacobi_bounds(ws, indptr, 2)
    assert bounds[0] == 0 and bounds[-1] == 7
    counts = [indptr[ws[bounds[1] - 1] + 1] - indptr[ws[0]],
              indptr[-1] - indptr[ws[bounds[1]]]]
    assert abs(counts[0] - counts[1]) <= 10
    assert_array_equal(K.jacobi_bounds(ws, indptr, 1), [0, 7])


def test_common_mode_weight_and_the_plan(monkeypatch):
    rng = np.random.default_rng(0)
    X = sp.random(300, 50, density=0.2, format="csc", random_state=rng,
                  data_rvs=lambda k: rng.uniform(0.1, 1.0, k))
    cols = np.arange(50, dtype=np.int64)
    Xd = X.toarray()
    expected = np.sum(Xd.sum(0) ** 2 / (300 * (Xd ** 2).sum(0)))
    got = S.common_mode_weight(X.data, X.indices, X.indptr, cols, np.ones(1), False, 300)
    assert_allclose(got, expected, rtol=1e-12)
    sw = rng.uniform(0.5, 2.0, 300)
    sw *= 300 / sw.sum()
    expected_w = np.sum((sw @ Xd) ** 2 / (300 * (sw @ Xd ** 2)))
    got_w = S.common_mode_weight(X.data, X.indices, X.indptr, cols, sw, True, 300)
    assert_allclose(got_w, expected_w, rtol=1e-12)

    # The plan: large-enough working sets of common-mode data without an intercept only.
    y = rng.standard_normal(300)
    monkeypatch.setattr(_solver, "JACOBI_MIN_NNZ", 0)
    monkeypatch.setattr(_solver, "JACOBI_MIN_NNZ_PER_ROW", 0)
    pb = _solver.prepare_problem(X, y, None, False)
    assert _solver.jacobi_plan(pb, cols)[0] == _solver.JACOBI_BLOCKS  # weight ~ 37
    pb_c = _solver.prepare_problem(X, y, None, True)
    assert _solver.jacobi_plan(pb_c, cols)[0] == 1  # intercept: centered columns
    Xs = sp.csc_matrix(rng.standard_normal((300, 50)))  # mean-zero columns
    pb_s = _solver.prepare_problem(Xs, y, None, False)
    assert _solver.jacobi_plan(pb_s, cols)[0] == 1
    monkeypatch.setattr(_solver, "JACOBI_MIN_NNZ", 10**9)
    assert _solver.jacobi_plan(pb, cols)[0] == 1  # small working set


def _common_mode_problem(seed, n=150, p=60, weighted=False):
    """Non-negative uncentered columns (text-like): a strong common mode."""
    rng = np.random.default_rng(seed)
    X = sp.random(n, p, density=0.3, format="csc", random_state=rng,
                  data_rvs=lambda k: rng.uniform(0.1, 1.0, k))
    y = X @ (rng.standard_normal(p) * (rng.random(p) < 0.3)) + 0.1 * rng.standard_normal(n)
    sw = None
    if weighted:
        sw = rng.uniform(0.2, 3.0, n)
        sw[::7] = 0.0  # zero-weight rows, as in a cross-validation fold
        sw *= n / sw.sum()
    return X, y, sw


@pytest.mark.parametrize("weighted", [False, True])
def test_deflation_arrays_are_weighted_means_and_centered_norms(weighted):
    X, y, sw = _common_mode_problem(0, weighted=weighted)
    n = X.shape[0]
    ws = np.arange(5, 45, dtype=np.int64)
    s = np.ones(n) if sw is None else sw
    blocks = K.jacobi_buffers(X.data, X.indices, X.indptr, ws, n,
                              np.ones(1) if sw is None else sw, weighted, False, 2)
    Xd = X.toarray()[:, ws]
    mean = s @ Xd / n
    assert_allclose(blocks[7], mean, rtol=1e-12)
    assert_allclose(blocks[8], s @ (Xd - mean) ** 2, rtol=1e-9)
    assert_array_equal(blocks[9], np.zeros(5))
    # With an intercept the blocks sweep the model itself: no deflation arrays.
    with_b = K.jacobi_buffers(X.data, X.indices, X.indptr, ws, n, np.ones(1), False, True,
                              2)
    assert with_b[7].shape == (0,) and with_b[8].shape == (0,)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("bad_secant", [None, "absurd", "overflow"])
def test_deflated_epochs_never_increase_the_objective(seed, weighted, bad_secant):
    # Whatever multiplier the secant proposes (even an absurd one), the line search on
    # the true objective keeps every epoch a descent; from the consistent multiplier
    # the epochs converge to the minimizer (checked against scikit-learn).
    X, y, sw = _common_mode_problem(seed, weighted=weighted)
    n, p = X.shape
    s = np.ones(n) if sw is None else sw
    alpha = 0.02 * np.max(np.abs(X.T @ (s * y))) / n
    lam = n * alpha
    ws = np.arange(p, dtype=np.int64)
    sw_arr = np.ones(1) if sw is None else sw
    blocks = K.jacobi_buffers(X.data, X.indices, X.indptr, ws, n, sw_arr, weighted, False,
                              2)
    if bad_secant == "absurd":
        blocks[9][:] = [2.0, -1e6, 3.0, 1e6, 5.0]  # a secant step to mu ~ -1e6
    elif bad_secant == "overflow":
        blocks[9][:] = [2.0, -1e308, 1e-300, 1e308, 2e-300]  # mu = -inf
    xbar, lip = S.column_stats(X.data, X.indices, X.indptr, ws, n, sw_arr, weighted, False)
    l1, l2 = np.full(p, lam), np.zeros(p)
    w = np.zeros(p)
    r = y.copy()

    def objective():
        return 0.5 * s @ (y - X @ w) ** 2 + lam * np.abs(w).sum()

    values = [objective()]
    for _ in range(300):
        K.jacobi_epoch(X.data, X.indices, X.indptr, ws, w, r, 0.0, sw_arr, weighted, False,
                       xbar, lip, l1, l2, False, blocks[0], False, *blocks[1:])
        values.append(objective())
        assert_allclose(r, y - X @ w, atol=1e-10)  # the residual follows w exactly
    assert np.all(np.diff(values) <= 1e-12 * values[0])
    sk = SkElasticNet(alpha=alpha, l1_ratio=1.0, fit_intercept=False, tol=1e-14,
                      max_iter=200_000).fit(X.toarray(), y, sample_weight=sw)
    best = 0.5 * s @ (y - X @ sk.coef_) ** 2 + lam * np.abs(sk.coef_).sum()
    assert values[-1] <= best * (1 + 1e-9)


def test_secant_multiplier_converges_to_the_residual_sum(always_jacobi):
    # At the optimum the multiplier of the deflated epochs is 1^T S r*; the state kept
    # on the problem along the fit must have found it.
    X, y, _ = _common_mode_problem(3, n=200, p=80)
    pb = _solver.prepare_problem(X, y, None, False)
    alpha = 0.01 * np.max(np.abs(X.T @ y)) / 200
    res = _solver.solve_enet(X, pb, alpha, 1.0, None, tol=1e-12)
    assert res.converged
    mu_star = np.sum(y - X @ res.coef)
    assert always_jacobi and pb.tilt_state[3] != 0.0  # the deflated epochs ran
    assert_allclose(pb.tilt_state[3], mu_star, rtol=1e-6)
