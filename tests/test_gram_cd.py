"""Covariance (Gram) coordinate descent: fastsparse._gram_cd against independent references.

References: dense numpy Gram matrices, the dense gap / KKT / objective of tests/reference.py,
scikit-learn's ElasticNet at tol=1e-12, and the plain kernel ``_kernels.inner_solve`` (a
different algorithm on the same contract: the two must reach the same solution).
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet as SkElasticNet

from fastsparse import _kernels as K
from fastsparse._gram_cd import (
    GramCache,
    _estimated_gap,
    centering_is_safe,
    gram_build,
    gram_cross,
    gram_inner_solve,
    objective_change,
)
from fastsparse._solver import column_stats, prepare_problem, unpenalized_gram_pinv

from reference import duality_gap, gap_from_dual_point, kkt_violation, objective


def _problem(n=80, p=60, density=0.15, seed=0, weighted=False, offset=0.0,
             index_dtype=np.int32, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = sp.random(n, p, density=density, format="csc", random_state=rng,
                  data_rvs=lambda k: rng.uniform(-2.0, 2.0, k)).astype(dtype)
    X.sort_indices()
    X.indices = X.indices.astype(index_dtype)
    X.indptr = X.indptr.astype(index_dtype)
    w_true = np.zeros(p)
    w_true[rng.choice(p, 8, replace=False)] = 2 * rng.standard_normal(8)
    y = X @ w_true + offset + 0.3 * rng.standard_normal(n)
    sw = None
    if weighted:
        sw = rng.uniform(0.2, 3.0, n)
        sw *= n / sw.sum()
    return X, y, sw


def _dense_gram(X, sw, cols, center):
    Xd = X[:, cols].toarray().astype(np.float64)
    n = Xd.shape[0]
    s = np.ones(n) if sw is None else sw
    if center:
        Xd = Xd - (s @ Xd) / n
    return Xd.T @ (s[:, None] * Xd)


class Setup:
    """The arguments solve_enet passes to inner_solve, for a given working set."""

    def __init__(self, X, y, sw, fit_intercept, alpha, l1_ratio, ws, positive=False,
                 penalty_factor=None, w_start=None):
        self.X, self.y, self.sw_user = X, y, sw
        self.pb = pb = prepare_problem(X, y, sw, fit_intercept)
        n, p = X.shape
        self.n, self.p = n, p
        self.alpha, self.l1_ratio, self.positive = alpha, l1_ratio, positive
        self.fit_intercept = fit_intercept
        v = np.ones(p) if penalty_factor is None else np.asarray(penalty_factor, float)
        self.v = v
        lam = n * alpha
        self.l1 = lam * l1_ratio * v
        self.l2 = lam * (1 - l1_ratio) * v
        self.ws = np.asarray(ws).astype(X.indices.dtype)
        self.free = np.flatnonzero((self.l1 == 0) & (self.l2 == 0)).astype(np.int64)
        assert np.all(np.isin(self.free, self.ws))
        self.xbar_free = column_stats(pb, self.free)[0]
        self.gram_pinv = unpenalized_gram_pinv(X, pb, self.free, self.xbar_free)
        self.xbar, self.lipschitz = column_stats(pb, self.ws)
        self.w_start = np.zeros(p) if w_start is None else np.asarray(w_start, float)

    def gram(self):
        cache = GramCache(self.pb.data, self.pb.indices, self.pb.indptr, self.n,
                          self.pb.sw, self.pb.weighted)
        return cache.get(self.ws, self.xbar if self.fit_intercept else None)

    def run(self, solver, tol_rel, max_epochs=100_000, anderson_k=5,
            dual_extrapolation=False, early_check=True):
        pb = self.pb
        w = self.w_start.copy()
        r_raw = np.empty(self.n)
        shift = K.residual(pb.data, pb.indices, pb.indptr, pb.y_c, w, pb.sw, pb.weighted,
                           pb.fit_intercept, r_raw)
        q_best = np.full(self.n, np.nan)
        args = (pb.data, pb.indices, pb.indptr, self.ws, w, r_raw, shift, pb.sw,
                pb.weighted, pb.fit_intercept, self.xbar, self.lipschitz, self.l1,
                self.l2, self.positive, pb.y_c, self.free, self.xbar_free,
                self.gram_pinv, tol_rel * pb.null_deviance, max_epochs, anderson_k,
                dual_extrapolation, q_best)
        if solver == "gram":
            out = gram_inner_solve(*args, self.gram(), early_check)
        else:
            out = K.inner_solve(*args, early_check)
        shift, n_epochs, gap, found = out
        return dict(w=w, r=r_raw + shift, n_epochs=n_epochs, gap=gap, found=found,
                    q_best=q_best)

    # Independent checks on the problem restricted to ws (dense numpy).
    def restricted(self, w):
        Xw = self.X[:, self.ws].toarray().astype(np.float64)
        return Xw, w[self.ws]

    def dense_residual(self, w):
        Xw, ww = self.restricted(w)
        s = np.ones(self.n) if self.sw_user is None else self.sw_user
        if self.fit_intercept:
            return (self.y - (s @ self.y) / self.n) - (Xw - (s @ Xw) / self.n) @ ww
        return self.y - Xw @ ww

    def dense_gap_from_q(self, w, q):
        """n * (P(w) - D(t q)) with t the largest scaling <= 1 making t q feasible."""
        Xw, ww = self.restricted(w)
        s = np.ones(self.n) if self.sw_user is None else self.sw_user
        Xc = Xw - (s @ Xw) / self.n if self.fit_intercept else Xw
        u = Xc.T @ (s * q)
        us = u if self.positive else np.abs(u)
        l1 = self.l1[self.ws]
        pure = (self.l2[self.ws] == 0) & (l1 > 0)
        t = 1.0
        if pure.any() and np.max(us[pure] / l1[pure]) > 1:
            t = 1.0 / np.max(us[pure] / l1[pure])
        return self.n * gap_from_dual_point(
            Xw, self.y, ww, t * q, self.alpha, self.l1_ratio, sample_weight=self.sw_user,
            fit_intercept=self.fit_intercept, penalty_factor=self.v[self.ws],
            positive=self.positive)

    def dense_objective(self, w):
        Xw, ww = self.restricted(w)
        s = np.ones(self.n) if self.sw_user is None else self.sw_user
        b = 0.0
        if self.fit_intercept:
            b = (s @ (self.y - Xw @ ww)) / self.n
        return objective(Xw, self.y, ww, b, self.alpha, self.l1_ratio,
                         sample_weight=self.sw_user, penalty_factor=self.v[self.ws])

    def kkt(self, w):
        Xw, ww = self.restricted(w)
        return kkt_violation(Xw, self.y, ww, self.alpha, self.l1_ratio,
                             sample_weight=self.sw_user, fit_intercept=self.fit_intercept,
                             penalty_factor=self.v[self.ws], positive=self.positive)


def _alpha(X, y, frac, l1_ratio=1.0):
    n = X.shape[0]
    yc = y - y.mean()
    return frac * np.abs(X.T @ yc).max() / (n * max(l1_ratio, 1e-3))


# ---------------------------------------------------------------------------------------
# Gram matrices
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("index_dtype,dtype", [(np.int32, np.float64),
                                               (np.int64, np.float32)])
def test_gram_build_and_cross_match_dense(weighted, index_dtype, dtype):
    X, y, sw = _problem(weighted=weighted, index_dtype=index_dtype, dtype=dtype)
    s = np.ones(1) if sw is None else sw
    cols = np.array([5, 0, 17, 3, 42, 59, 11], dtype=index_dtype)
    G = gram_build(X.data, X.indices, X.indptr, cols, X.shape[0], s, weighted)
    ref = _dense_gram(X, sw, cols, center=False)
    np.testing.assert_allclose(G, ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())
    assert np.array_equal(G, G.T)
    new = np.array([8, 17, 30], dtype=index_dtype)
    B = gram_cross(X.data, X.indices, X.indptr, cols, new, X.shape[0], s, weighted)
    Xd = X.toarray().astype(np.float64)
    sv = np.ones(X.shape[0]) if sw is None else sw
    refB = Xd[:, cols].T @ (sv[:, None] * Xd[:, new])
    np.testing.assert_allclose(B, refB, rtol=1e-12, atol=1e-12 * np.abs(refB).max())


@pytest.mark.parametrize("weighted", [False, True])
def test_gram_cache_extends_evicts_and_centers(weighted):
    X, y, sw = _problem(weighted=weighted, seed=3)
    pb = prepare_problem(X, y, sw, True)
    cache = GramCache(pb.data, pb.indices, pb.indptr, X.shape[0], pb.sw, pb.weighted,
                      max_size=12)
    rng = np.random.default_rng(0)
    built = 0
    ws = np.zeros(0, dtype=np.int64)
    for step in range(8):
        # Mostly the previous working set plus a few new columns, sometimes a jump.
        if step == 5:
            ws_new = rng.choice(X.shape[1], 10, replace=False)
        else:
            extra = rng.choice(X.shape[1], 3, replace=False)
            ws_new = np.union1d(ws[rng.random(ws.shape[0]) < 0.8], extra)[:12]
        n_missing = np.setdiff1d(ws_new, cache.cols).shape[0]
        ws = rng.permutation(ws_new)  # any order
        G = cache.get(ws)
        built += n_missing
        assert cache.n_built == built  # only the missing columns were computed
        assert cache.cols.shape[0] <= 12
        np.testing.assert_allclose(G, _dense_gram(X, sw, ws, center=False),
                                   rtol=1e-12, atol=1e-12)
        xbar, lips = column_stats(pb, ws)
        Gc = cache.get(ws, xbar)
        ref = _dense_gram(X, sw, ws, center=True)
        np.testing.assert_allclose(Gc, ref, rtol=1e-10, atol=1e-12 * np.abs(ref).max())
        np.testing.assert_allclose(np.diag(Gc), lips, rtol=1e-10)


def test_gram_cache_validates_working_set():
    X, y, _ = _problem()
    cache = GramCache(X.data, X.indices, X.indptr, X.shape[0], np.ones(1), False,
                      max_size=4)
    with pytest.raises(ValueError, match="distinct"):
        cache.get(np.array([1, 2, 2]))
    with pytest.raises(ValueError, match="max_size"):
        cache.get(np.arange(5))
    with pytest.raises(ValueError, match="max_size"):
        GramCache(X.data, X.indices, X.indptr, X.shape[0], np.ones(1), False, max_size=0)


def test_centering_guard_closed_form():
    n = 100
    # Binary column of density d: n xbar^2 / sum x^2 = d.
    for density, expected in [(0.1, True), (0.5, True), (0.6, False), (1.0, False)]:
        x = np.zeros(n)
        x[: int(density * n)] = 1.0
        xbar = x.mean()
        centered_sq = np.sum((x - xbar) ** 2)
        assert centering_is_safe([xbar], [centered_sq], n) is expected
    # A timestamp-like column: huge mean, tiny spread.
    x = 1.7e9 + np.arange(n, dtype=float)
    assert not centering_is_safe([x.mean()], [np.sum((x - x.mean()) ** 2)], n)


# ---------------------------------------------------------------------------------------
# The solver
# ---------------------------------------------------------------------------------------

CASES = [
    # weighted, fit_intercept, positive, l1_ratio
    (False, False, False, 1.0),
    (True, False, False, 1.0),
    (False, False, True, 1.0),
    (True, False, False, 0.5),
    (False, True, False, 1.0),
    (True, True, True, 0.7),
]


@pytest.mark.parametrize("weighted,fit_intercept,positive,l1_ratio", CASES)
def test_same_solution_as_inner_solve(weighted, fit_intercept, positive, l1_ratio):
    X, y, sw = _problem(weighted=weighted, offset=1.0 if fit_intercept else 0.0, seed=7)
    alpha = _alpha(X, y, 0.05, l1_ratio)
    ws = np.sort(np.random.default_rng(1).choice(X.shape[1], 40, replace=False))
    st = Setup(X, y, sw, fit_intercept, alpha, l1_ratio, ws, positive=positive)
    if fit_intercept:
        assert centering_is_safe(st.xbar, st.lipschitz, st.n)
    tol = 1e-12
    a = st.run("inner", tol)
    b = st.run("gram", tol)
    assert b["gap"] <= tol * st.pb.null_deviance and b["found"]
    # Same minimiser: objective within the tolerance, same coefficients, KKT.
    obj_a, obj_b = st.dense_objective(a["w"]), st.dense_objective(b["w"])
    assert abs(obj_a - obj_b) <= 2 * tol * st.pb.null_deviance / st.n
    np.testing.assert_allclose(b["w"], a["w"], atol=1e-6 * np.abs(a["w"]).max())
    assert st.kkt(b["w"]) < 1e-5
    # Nothing outside the working set moves; positivity holds.
    outside = np.setdiff1d(np.arange(st.p), ws)
    assert np.all(b["w"][outside] == 0)
    if positive:
        assert np.all(b["w"] >= 0)
    # The returned residual is the residual of the returned coefficients.
    np.testing.assert_allclose(b["r"], st.dense_residual(b["w"]),
                               atol=1e-10 * np.abs(y).max())


@pytest.mark.parametrize("weighted,fit_intercept,positive,l1_ratio", CASES)
def test_returned_gap_is_the_dense_gap(weighted, fit_intercept, positive, l1_ratio):
    """At a loose tol the gap is large enough to compare with the dense computation."""
    X, y, sw = _problem(weighted=weighted, offset=1.0 if fit_intercept else 0.0, seed=11)
    alpha = _alpha(X, y, 0.02, l1_ratio)
    ws = np.arange(X.shape[1])
    st = Setup(X, y, sw, fit_intercept, alpha, l1_ratio, ws, positive=positive)
    tol = 1e-3
    out = st.run("gram", tol)
    assert out["found"]
    assert out["gap"] <= tol * st.pb.null_deviance
    dense = st.dense_gap_from_q(out["w"], out["q_best"])
    assert dense >= -1e-12 * st.pb.null_deviance
    assert abs(out["gap"] - dense) <= 1e-6 * abs(dense) + 1e-12 * st.pb.null_deviance


def test_warm_start_and_max_epochs():
    """A warm start inside ws; when max_epochs stops it, state and gap stay consistent."""
    X, y, sw = _problem(weighted=True, seed=5, n=120, p=90)
    alpha = _alpha(X, y, 0.01)
    ws = np.arange(0, 90, 2)
    w0 = np.zeros(X.shape[1])
    w0[ws[:10]] = 0.3
    st = Setup(X, y, sw, False, alpha, 1.0, ws, w_start=w0)
    out = st.run("gram", 1e-14, max_epochs=3, anderson_k=1)
    assert out["n_epochs"] == 3
    np.testing.assert_allclose(out["r"], st.dense_residual(out["w"]),
                               atol=1e-10 * np.abs(y).max())
    dense = st.dense_gap_from_q(out["w"], out["q_best"])
    # The last check was at epoch 3, before a possible accepted extrapolation, so the
    # returned gap can only be larger than the gap of the final iterate's certificate
    # by the decrease of the primal; it must never be smaller.
    assert out["gap"] >= dense - 1e-9 * abs(dense)
    assert out["gap"] > 1e-14 * st.pb.null_deviance  # really stopped early
    full = st.run("gram", 1e-12)
    ref = st.run("inner", 1e-12)
    np.testing.assert_allclose(full["w"], ref["w"], atol=1e-6 * np.abs(ref["w"]).max())


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_unpenalized_features_and_dual_extrapolation(fit_intercept):
    X, y, sw = _problem(seed=9, offset=2.0 if fit_intercept else 0.0)
    alpha = _alpha(X, y, 0.05)
    v = np.ones(X.shape[1])
    v[[3, 10]] = 0.0  # unpenalized, so they must be in ws
    ws = np.arange(X.shape[1])
    st = Setup(X, y, sw, fit_intercept, alpha, 1.0, ws, penalty_factor=v)
    assert st.free.shape[0] == 2
    for dual_extrapolation in (False, True):
        a = st.run("inner", 1e-12, dual_extrapolation=dual_extrapolation)
        b = st.run("gram", 1e-12, dual_extrapolation=dual_extrapolation)
        assert b["gap"] <= 1e-12 * st.pb.null_deviance
        np.testing.assert_allclose(b["w"], a["w"], atol=1e-6 * np.abs(a["w"]).max())
        assert st.kkt(b["w"]) < 1e-5
        dense = st.dense_gap_from_q(b["w"], b["q_best"])
        assert abs(b["gap"] - dense) <= 1e-9 * st.pb.null_deviance


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_matches_sklearn_on_dense_problem(l1_ratio, fit_intercept):
    rng = np.random.default_rng(4)
    n, p = 50, 12
    Xd = rng.standard_normal((n, p))
    y = Xd @ rng.standard_normal(p) + 0.5 * rng.standard_normal(n) + (
        1.5 if fit_intercept else 0.0)
    X = sp.csc_matrix(Xd)
    alpha = _alpha(X, y, 0.1, l1_ratio)
    st = Setup(X, y, None, fit_intercept, alpha, l1_ratio, np.arange(p))
    out = st.run("gram", 1e-13)
    sk = SkElasticNet(alpha=alpha, l1_ratio=l1_ratio, fit_intercept=fit_intercept,
                      tol=1e-12, max_iter=1_000_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk.fit(Xd, y)
    np.testing.assert_allclose(out["w"], sk.coef_, atol=1e-7 * np.abs(sk.coef_).max())
    b = (y - Xd @ out["w"]).mean() if fit_intercept else 0.0
    assert objective(Xd, y, out["w"], b, alpha, l1_ratio) <= objective(
        Xd, y, sk.coef_, sk.intercept_, alpha, l1_ratio) + 1e-12 * np.var(y)


@pytest.mark.parametrize("weighted,fit_intercept,positive,l1_ratio", CASES)
def test_gradient_only_gap_estimate_and_objective_change(weighted, fit_intercept,
                                                         positive, l1_ratio):
    """The O(m) formulas the solver runs on, against dense computations at arbitrary w."""
    X, y, sw = _problem(weighted=weighted, offset=1.0 if fit_intercept else 0.0, seed=2)
    alpha = _alpha(X, y, 0.1, l1_ratio)
    ws = np.arange(X.shape[1])
    st = Setup(X, y, sw, fit_intercept, alpha, l1_ratio, ws, positive=positive)
    rng = np.random.default_rng(0)
    G = st.gram()
    s = np.ones(st.n) if sw is None else sw
    Xd = X.toarray()
    Xc = Xd - (s @ Xd) / st.n if fit_intercept else Xd
    for _ in range(3):
        w = np.where(rng.random(st.p) < 0.3, rng.standard_normal(st.p), 0.0)
        if positive:
            w = np.abs(w)
        r = st.dense_residual(w)
        c = Xc.T @ (s * r)
        rr = float(np.sum(s * r * r))
        gap, primal = _estimated_gap(st.ws, w, c, rr, st.l1, st.l2, positive)
        ref = st.n * duality_gap(Xd, y, w, alpha, l1_ratio, sample_weight=sw,
                                 fit_intercept=fit_intercept, positive=positive)
        assert gap == pytest.approx(ref, rel=1e-9, abs=1e-12 * st.pb.null_deviance)
        assert primal == pytest.approx(st.n * st.dense_objective(w), rel=1e-12)
        w_new = w + np.where(rng.random(st.p) < 0.2, rng.standard_normal(st.p), 0.0)
        delta, c_new = np.empty(st.p), np.empty(st.p)
        d = objective_change(st.ws, w, w_new, c, G, st.l1, st.l2, delta, c_new)
        ref_d = st.n * (st.dense_objective(w_new) - st.dense_objective(w))
        assert d == pytest.approx(ref_d, rel=1e-9, abs=1e-12 * st.pb.null_deviance)
        np.testing.assert_allclose(c_new, Xc.T @ (s * st.dense_residual(w_new)),
                                   atol=1e-10 * np.abs(c).max())


def test_selection_rule_monotone():
    from fastsparse._gram_cd import estimate_new_pairs, gram_is_cheaper
    # A warm, cached working set solved over many epochs: Gram; a single epoch: plain.
    assert gram_is_cheaper(400, 775_000, 100, 0.0, 12)
    assert not gram_is_cheaper(40, 315_000, 2, 0.0, 1)
    # More epochs never turn Gram down; more columns to build never turn it on.
    args = (300, 500_000, 80)
    picks = [gram_is_cheaper(*args, 0.0, e) for e in (1, 2, 4, 8, 16, 64)]
    assert picks == sorted(picks)
    pairs = [estimate_new_pairs(k, 500_000, 20_000) for k in (0, 1e4, 1e5, 1e6, 1e7)]
    picks = [gram_is_cheaper(*args, p, 12) for p in pairs]
    assert picks == sorted(picks, reverse=True)
    assert not gram_is_cheaper(5000, 10**7, 100, 0.0, 100)  # past max_size
