"""Ridge and RidgeCV: closed-form accuracy of every solver, certificates, auto rule, CV.

References are computed densely with numpy (explicitly centered, explicitly weighted), so
they share no code with the solvers.
"""

import io
import os
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import RidgeCV as SkRidgeCV
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold
from sklearn.utils.estimator_checks import parametrize_with_checks

import numba

import fastsparse
import fastsparse._parallel as PAR
import fastsparse._ridge_kernels as RK
import fastsparse._ridge_solvers as RS
import fastsparse.ridge as ridge_mod
from fastsparse import ElasticNet, Ridge, RidgeCV
from fastsparse.ridge import choose_solver

import reference
from conftest import make_regression_problem


def closed_form(X, Y, alpha, sample_weight=None, fit_intercept=True):
    """Dense solution of min ||y - Xw - b||^2_S + alpha ||w||^2 per target.

    Returns (W of shape (p, k), b of shape (k,)).
    """
    A = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=float)
    n, p = A.shape
    Y = np.asarray(Y, dtype=float).reshape(n, -1)
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    alpha = np.broadcast_to(np.asarray(alpha, dtype=float), (Y.shape[1],))
    if fit_intercept:
        xm, ym = s @ A / s.sum(), s @ Y / s.sum()
    else:
        xm, ym = np.zeros(p), np.zeros(Y.shape[1])
    Ac, Yc = A - xm, Y - ym
    W = np.column_stack([
        np.linalg.solve(Ac.T @ (s[:, None] * Ac) + alpha[t] * np.eye(p),
                        Ac.T @ (s * Yc[:, t]))
        for t in range(Y.shape[1])])
    return W, ym - xm @ W


def rel_err(a, b):
    return np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(b)


@pytest.fixture
def wide():
    X, y = make_regression_problem(n_samples=60, n_features=80)
    rng = np.random.default_rng(1)
    Y2 = np.column_stack([y, 2.0 * y + rng.standard_normal(60)])
    return X, y, Y2, rng.uniform(0.2, 3.0, 60)


# (solver name, patch forcing the dual to its CG path, tol); cd certifies through the
# gap of the elastic-net core, which floors near 1e-7 (see the Ridge docstring).
SOLVER_CASES = [("cholesky", False, 1e-9), ("cg", False, 1e-9), ("dual", False, 1e-9),
                ("dual", True, 1e-9), ("cd", False, 1e-6)]


@pytest.mark.parametrize("solver,dual_cg,tol", SOLVER_CASES,
                         ids=["cholesky", "cg", "dual-direct", "dual-cg", "cd"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_closed_form(wide, monkeypatch, solver, dual_cg, tol, fit_intercept,
                             weighted):
    X, y, Y2, sw = wide
    if dual_cg:
        monkeypatch.setattr(RS, "DUAL_DIRECT_MAX", 0)
    w = sw if weighted else None
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        m1 = Ridge(alpha=0.7, solver=solver, fit_intercept=fit_intercept, tol=tol).fit(
            X, y, sample_weight=w)
        alphas = np.array([0.3, 5.0])
        m2 = Ridge(alpha=alphas, solver=solver, fit_intercept=fit_intercept, tol=tol).fit(
            X, Y2, sample_weight=w)
    W1, b1 = closed_form(X, y, 0.7, w, fit_intercept)
    W2, b2 = closed_form(X, Y2, alphas, w, fit_intercept)
    assert m1.coef_.shape == (80,) and isinstance(m1.intercept_, float)
    assert m2.coef_.shape == (2, 80)
    assert np.shape(m2.intercept_) == ((2,) if fit_intercept else ())  # as sklearn
    assert m1.solver_ == solver
    assert rel_err(m1.coef_, W1[:, 0]) <= 1e-6
    for t in range(2):  # per target: a shared relative error could hide one target
        assert rel_err(m2.coef_[t], W2[:, t]) <= 1e-6
    np.testing.assert_allclose(m1.intercept_, b1[0], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(m2.intercept_, b2, rtol=1e-6, atol=1e-9)
    # The reported certificate holds against the exact solution.
    assert rel_err(m1.coef_, W1[:, 0]) <= max(m1.rel_error_bound_, 1e-13)
    assert m1.rel_error_bound_ <= tol


@pytest.mark.parametrize("solver", ["cg", "cholesky", "cd"])
def test_tall_problem(solver):
    X, y = make_regression_problem(n_samples=200, n_features=30)
    m = Ridge(alpha=0.1, solver=solver, tol=1e-7).fit(X, y)
    W, b = closed_form(X, y, 0.1)
    assert rel_err(m.coef_, W[:, 0]) <= 1e-6
    np.testing.assert_allclose(m.intercept_, b[0], rtol=1e-6)


@pytest.mark.parametrize("solver", ["cg", "dual-cg"])
def test_loose_tol_bound_is_valid(monkeypatch, solver):
    # At a loose tol the error is far from 0: the certified bound must still cover it
    # and respect tol.
    X, y = make_regression_problem(n_samples=150, n_features=300, density=0.1)
    if solver == "dual-cg":
        monkeypatch.setattr(RS, "DUAL_DIRECT_MAX", 0)
    m = Ridge(alpha=1e-2, solver=solver.split("-")[0], tol=1e-2).fit(X, y)
    W, _ = closed_form(X, y, 1e-2)
    err = rel_err(m.coef_, W[:, 0])
    assert err <= m.rel_error_bound_ <= 1e-2
    assert m.n_iter_[0] > 1


def test_choose_solver_rule():
    # Large sides: iterative; the dual (one pass over X per iteration) unless X is tall
    # with fewer than AUTO_DUAL_ROW_NNZ (10) entries per row.
    assert choose_solver(20_242, 47_236, 1_500_000, [1.0]) == "dual"  # rcv1 shape
    assert choose_solver(20_000, 1_350_000, 10**7, [1.0]) == "dual"  # news20 shape
    assert choose_solver(10_000, 10_000, 10**5, [1.0]) == "dual"  # square, sparse
    assert choose_solver(50_000, 10_000, 500_000, [1.0]) == "dual"  # tall, 10 per row
    assert choose_solver(50_000, 10_000, 499_999, [1.0]) == "cg"  # tall, < 10 per row
    assert choose_solver(400_000, 20_000, 1_600_000, [1.0]) == "cg"
    # Small side: direct when ill-conditioned (or unknown), CG when CG is cheap.
    assert choose_solver(100_000, 1_000, 10**6, [1.0]) == "cholesky"
    assert choose_solver(1_000, 100_000, 10**6, [1e-6], lambda_max=100.0) == "cholesky"
    assert choose_solver(1_000, 100_000, 10**5, [10.0], lambda_max=100.0) == "cg"
    assert choose_solver(500, 2_000, 10**4, [1.0], lambda_max=2.0) == "cg"
    assert choose_solver(2_000, 1_000, 10**4, [1.0], lambda_max=2.0) == "cg"
    # Both sides above AUTO_DIRECT_MAX: iterative, the dual for 20 entries per row.
    assert choose_solver(5_000, 4_500, 10**5, [1.0], lambda_max=2.0) == "dual"
    # Constraints.
    assert choose_solver(100, 50, 500, [1.0], positive=True) == "cd"
    assert choose_solver(100_000, 50_000, 10**6, [1.0, 0.0]) == "cg"


@pytest.mark.parametrize("shape,density,expected", [
    ((400, 100), 0.05, "cg"),    # tall, 5 entries per row
    ((400, 100), 0.2, "dual"),   # tall, 20 entries per row
    ((100, 600), 0.05, "dual"),  # wide (n above the dual's direct limit)
    ((300, 300), 0.05, "dual"),  # square
    ((300, 30), 0.05, "cholesky"),  # small side below the direct threshold
])
def test_auto_converges(monkeypatch, shape, density, expected):
    # Thresholds lowered so that small problems take the paths large ones take.
    monkeypatch.setattr(ridge_mod, "AUTO_DIRECT_MAX", 50)
    monkeypatch.setattr(RS, "DUAL_DIRECT_MAX", 50)
    n, p = shape
    X, y = make_regression_problem(n_samples=n, n_features=p, density=density)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        m = Ridge(alpha=0.05, tol=1e-8).fit(X, y)
    assert m.solver_ == expected
    W, b = closed_form(X, y, 0.05)
    assert rel_err(m.coef_, W[:, 0]) <= 1e-6
    np.testing.assert_allclose(m.intercept_, b[0], rtol=1e-6)


@parametrize_with_checks([Ridge(), RidgeCV(), Ridge(solver="cg"), Ridge(solver="cd"),
                          RidgeCV(cv=3)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("weighted", [False, True])
def test_cd_gap_matches_dense(wide, weighted):
    X, y, _, sw = wide
    w = sw if weighted else None
    alpha = 2.0
    m = Ridge(alpha=alpha, solver="cd", tol=1e-3).fit(X, y, sample_weight=w)
    S = sw.sum() if weighted else X.shape[0]
    # Independent gap of the elastic net alpha_enet = alpha / S, l1_ratio = 0 (objective
    # divided by n): the Ridge objective is 2 S times it.
    gap_enet = reference.duality_gap(X, y, m.coef_, alpha / S, l1_ratio=0.0,
                                     sample_weight=w)
    assert m.dual_gap_ > 0
    np.testing.assert_allclose(m.dual_gap_, 2 * S * gap_enet, rtol=1e-6)
    # And it bounds the true suboptimality in the Ridge objective.
    W, b = closed_form(X, y, alpha, w)
    s = np.ones(X.shape[0]) if w is None else sw
    A = X.toarray()

    def obj(coef, icpt):
        r = y - A @ coef - icpt
        return s @ r ** 2 + alpha * coef @ coef

    subopt = obj(m.coef_, m.intercept_) - obj(W[:, 0], b[0])
    assert -1e-10 <= subopt <= m.dual_gap_ * (1 + 1e-9)


@pytest.mark.parametrize("solver", ["cg", "dual-cg"])
def test_gap_of_other_solvers_is_a_certificate(wide, monkeypatch, solver):
    X, y, _, _ = wide
    if solver == "dual-cg":
        monkeypatch.setattr(RS, "DUAL_DIRECT_MAX", 0)
    m = Ridge(alpha=1.0, solver=solver.split("-")[0], tol=1e-3).fit(X, y)
    n = X.shape[0]
    gap_enet = reference.duality_gap(X, y, m.coef_, 1.0 / n, l1_ratio=0.0)
    assert gap_enet > 1e-12  # a loose fit: the gaps are far above rounding
    # Our gap uses the best of several dual points: never above the residual's gap...
    assert m.dual_gap_ <= 2 * n * gap_enet * (1 + 1e-9)
    # ... and still above the true suboptimality.
    W, b = closed_form(X, y, 1.0)
    A = X.toarray()

    def obj(coef, icpt):
        return np.sum((y - A @ coef - icpt) ** 2) + coef @ coef

    assert 0 <= obj(m.coef_, m.intercept_) - obj(W[:, 0], b[0]) <= m.dual_gap_


def test_relation_to_elastic_net(wide):
    X, y, _, _ = wide
    n = X.shape[0]
    alpha_enet = 0.05
    enet = ElasticNet(alpha=alpha_enet, l1_ratio=0.0, tol=1e-12, max_iter=1000).fit(X, y)
    ridge = Ridge(alpha=n * alpha_enet, tol=1e-10).fit(X, y)
    # ElasticNet certifies through its gap, which floors near 1e-6 relative error here.
    assert rel_err(ridge.coef_, enet.coef_) <= 1e-5


def test_scalar_sample_weight_scales_alpha(wide):
    X, y, _, _ = wide
    a = Ridge(alpha=3.0, solver="cg", tol=1e-10).fit(X, y, sample_weight=2.0)
    b = Ridge(alpha=1.5, solver="cg", tol=1e-10).fit(X, y)
    assert rel_err(a.coef_, b.coef_) <= 1e-8


@pytest.mark.parametrize("solver", ["cg", "dual-cg"])
def test_float32_kept_and_accurate(wide, monkeypatch, solver):
    # float32 X goes through the Numba products (scipy would convert X every product).
    X, y, Y2, _ = wide
    if solver == "dual-cg":
        monkeypatch.setattr(RS, "DUAL_DIRECT_MAX", 0)
    X32 = X.astype(np.float32)
    m = Ridge(alpha=[0.3, 5.0], solver=solver.split("-")[0], tol=1e-9).fit(X32, Y2)
    assert m.coef_.dtype == np.float32
    W, _ = closed_form(X32.astype(np.float64), Y2, np.array([0.3, 5.0]))
    for t in range(2):
        assert rel_err(m.coef_[t], W[:, t]) <= 1e-5


def test_positive_uses_cd():
    X, y = make_regression_problem()
    m = Ridge(alpha=1.0, positive=True).fit(X, -y)
    assert m.solver_ == "cd" and np.all(m.coef_ >= 0)
    with pytest.raises(ValueError, match="positive"):
        Ridge(positive=True, solver="cg").fit(X, y)


def test_input_errors(wide):
    X, y, Y2, _ = wide
    with pytest.raises(ValueError, match="do not correspond"):
        Ridge(alpha=[1.0, 2.0, 3.0]).fit(X, Y2)
    with pytest.raises(ValueError, match="solver"):
        Ridge(solver="sag").fit(X, y)
    with pytest.raises(ValueError, match="alpha > 0"):
        Ridge(alpha=0.0, solver="dual").fit(X, y)
    assert Ridge(solver="sparse_cg").fit(X, y).solver_ == "cg"


def test_x_is_not_copied(monkeypatch):
    seen = []
    real = RS.RidgeData.__init__

    def spy(self, X, *args, **kwargs):
        seen.append(X)
        real(self, X, *args, **kwargs)

    monkeypatch.setattr(RS.RidgeData, "__init__", spy)
    X, y = make_regression_problem()
    Ridge(solver="cg").fit(X, y)
    RidgeCV(cv=3, alphas=[0.1, 1.0]).fit(X, y)
    assert len(seen) == 1 + 3 + 1  # Ridge, 3 folds, RidgeCV's refit
    assert all(Z.data is X.data and Z.indices is X.indices for Z in seen)


# --------------------------------------------------------------------------------------
# RidgeCV
# --------------------------------------------------------------------------------------

ALPHAS = np.logspace(-3, 2, 12)


@pytest.mark.parametrize("shape", [(60, 80), (200, 30)], ids=["kernel", "gram"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_ridgecv_loo_matches_sklearn(shape, fit_intercept, weighted):
    n, p = shape
    X, y = make_regression_problem(n_samples=n, n_features=p, noise=1.0)
    w = np.random.default_rng(0).uniform(0.2, 3.0, n) if weighted else None
    ours = RidgeCV(alphas=ALPHAS, fit_intercept=fit_intercept, store_cv_results=True).fit(
        X, y, sample_weight=w)
    theirs = SkRidgeCV(alphas=ALPHAS, fit_intercept=fit_intercept,
                       store_cv_results=True).fit(X, y, sample_weight=w)
    assert ours.cv_mode_ == ("loo-kernel" if n <= p else "loo-gram")
    assert ours.alpha_ == theirs.alpha_
    np.testing.assert_allclose(ours.best_score_, theirs.best_score_, rtol=1e-7)
    np.testing.assert_allclose(ours.cv_results_, theirs.cv_results_, rtol=1e-6,
                               atol=1e-12)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-7, atol=1e-10)


def test_ridgecv_loo_per_target_and_scoring_match_sklearn():
    X, y = make_regression_problem(n_samples=60, n_features=80, noise=1.0)
    rng = np.random.default_rng(3)
    Y = np.column_stack([y, rng.standard_normal(60) + 0.2 * y])
    w = rng.uniform(0.2, 3.0, 60)
    for kwargs in [dict(alpha_per_target=True), dict(scoring="neg_mean_absolute_error")]:
        ours = RidgeCV(alphas=ALPHAS, **kwargs).fit(X, Y, sample_weight=w)
        theirs = SkRidgeCV(alphas=ALPHAS, **kwargs).fit(X, Y, sample_weight=w)
        np.testing.assert_array_equal(ours.alpha_, theirs.alpha_)
        np.testing.assert_allclose(ours.best_score_, theirs.best_score_, rtol=1e-7)


def test_ridgecv_loo_is_leave_one_out():
    # Independent of scikit-learn: refit without each sample in turn.
    X, y = make_regression_problem(n_samples=25, n_features=40, noise=1.0)
    alphas = np.array([0.05, 0.5, 5.0])
    m = RidgeCV(alphas=alphas, store_cv_results=True).fit(X, y)
    A = X.toarray()
    errors = np.empty((25, 3))
    for i in range(25):
        keep = np.arange(25) != i
        for j, alpha in enumerate(alphas):
            W, b = closed_form(A[keep], y[keep], alpha)
            errors[i, j] = (y[i] - A[i] @ W[:, 0] - b[0]) ** 2
    np.testing.assert_allclose(m.cv_results_, errors, rtol=1e-7)
    assert m.alpha_ == alphas[np.argmin(errors.mean(axis=0))]


@pytest.mark.parametrize("solver", ["auto", "cg", "dual"])
def test_ridgecv_kfold_matches_manual(solver):
    X, y = make_regression_problem(n_samples=80, n_features=60, noise=2.0)
    alphas = np.logspace(-2, 2, 9)
    m = RidgeCV(alphas=alphas, cv=5, solver=solver, tol=1e-10).fit(X, y)
    A = X.toarray()
    scores = np.zeros((alphas.size, 5))
    for f, (train, test) in enumerate(KFold(5).split(A)):
        for j, alpha in enumerate(alphas):
            W, b = closed_form(A[train], y[train], alpha)
            scores[j, f] = r2_score(y[test], A[test] @ W[:, 0] + b[0])
    assert m.cv_mode_ == "kfold"
    assert m.alpha_ == alphas[np.argmax(scores.mean(axis=1))]
    np.testing.assert_allclose(m.fold_scores_, scores, rtol=1e-7)
    np.testing.assert_allclose(m.best_score_, scores.mean(axis=1).max(), rtol=1e-8)
    W, b = closed_form(A, y, m.alpha_)
    assert rel_err(m.coef_, W[:, 0]) <= 1e-7


def test_ridgecv_falls_back_to_kfold_when_too_large():
    X, y = make_regression_problem(n_samples=60, n_features=80)
    with pytest.warns(UserWarning, match="5-fold"):
        m = RidgeCV(alphas=[0.1, 1.0], gcv_max_size=10).fit(X, y)
    assert m.cv_mode_ == "kfold" and m.fold_scores_.shape == (2, 5)
    with pytest.raises(ValueError, match="incompatible"):
        RidgeCV(cv=3, store_cv_results=True).fit(X, y)


def test_exported():
    assert fastsparse.Ridge is Ridge and fastsparse.RidgeCV is RidgeCV


def _compare_peers():
    """scripts/compare_peers.py as a module (scripts/ is not a package)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "scripts" / "compare_peers.py"
    spec = importlib.util.spec_from_file_location("compare_peers_ridge", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_compare_peers_ridge_certificate(fit_intercept):
    cp = _compare_peers()
    X, y = make_regression_problem(n_samples=60, n_features=80)
    W, _ = closed_form(X, y, 0.5, fit_intercept=fit_intercept)
    exact = W[:, 0]
    assert cp.ridge_certificate(X, y, exact, 0.5, fit_intercept) < 1e-9
    rough = exact * (1 + 1e-3) + 1e-3
    bound = cp.ridge_certificate(X, y, rough, 0.5, fit_intercept)
    assert rel_err(rough, exact) <= bound
    coef, _, ref_bound = cp.ridge_reference(X, y, 0.5, fit_intercept)
    assert ref_bound < 1e-9 and rel_err(coef, exact) < 1e-9
    est = cp.make_ridge_estimator("sklearn-lsqr", 0.5, fit_intercept, 1e-6)
    assert est.solver == "lsqr" and est.alpha == 0.5


def test_compare_peers_ridge_options():
    cp = _compare_peers()
    parser = cp.build_parser()
    args = parser.parse_args(["--model", "ridge", "--ridge-alpha", "1", "--solvers",
                              "fastsparse", "sklearn-sparse_cg"])
    cp._check_args(parser, args)
    assert args.solvers == ["fastsparse", "sklearn-sparse_cg"]
    with pytest.raises(SystemExit):
        args = parser.parse_args(["--model", "ridge", "--solvers", "skglm"])
        cp._check_args(parser, args)
    with pytest.raises(SystemExit):
        args = parser.parse_args(["--model", "lasso", "--solvers", "sklearn-sag"])
        cp._check_args(parser, args)


@pytest.mark.parametrize("y_shape", ["1d", "n1", "n2"])
@pytest.mark.parametrize("est", ["Ridge", "RidgeCV"])
def test_shapes_match_sklearn(y_shape, est):
    import sklearn.linear_model as sklm

    X, y = make_regression_problem(n_samples=50, n_features=20)
    Y = {"1d": y, "n1": y[:, None], "n2": np.column_stack([y, -y])}[y_shape]
    ours = getattr(fastsparse, est)().fit(X, Y)
    theirs = getattr(sklm, est)().fit(X, Y)
    assert ours.coef_.shape == theirs.coef_.shape
    assert np.shape(ours.intercept_) == np.shape(theirs.intercept_)
    assert ours.predict(X).shape == theirs.predict(X).shape
    # scikit-learn's default for sparse X (sparse_cg, tol=1e-4) is only that accurate.
    ref = theirs.predict(X)
    np.testing.assert_allclose(ours.predict(X), ref, atol=1e-3 * np.abs(ref).max())


# --------------------------------------------------------------------------------------
# Products of fastsparse._ridge_kernels (threaded, bit-identical for any thread count)
# --------------------------------------------------------------------------------------


def _kernel_problem(dtype, index_dtype, n=70, p=130, seed=0):
    X, _ = make_regression_problem(n_samples=n, n_features=p, density=0.15, seed=seed)
    X = sp.csc_matrix(X, dtype=dtype)
    X.indices = X.indices.astype(index_dtype)
    X.indptr = X.indptr.astype(index_dtype)
    xbar = np.asarray(X.mean(axis=0), dtype=np.float64).ravel()
    return X, xbar


@pytest.mark.parametrize("n_blocks", [1, 3, 7, 200])
@pytest.mark.parametrize("dtype,index_dtype", [(np.float64, np.int32),
                                               (np.float32, np.int64)])
@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("k", [1, 3])
def test_products_match_dense_and_are_bit_identical(n_blocks, dtype, index_dtype,
                                                    center, k):
    X, xbar = _kernel_problem(dtype, index_dtype)
    n, p = X.shape
    A = X.toarray().astype(np.float64) - (xbar if center else 0.0)  # dense X_c
    rng = np.random.default_rng(3)
    U, V = rng.standard_normal((n, k)), rng.standard_normal((p, k))
    bounds = RK.column_blocks(X.indptr, n_blocks)
    assert bounds[0] == 0 and bounds[-1] == p and np.all(np.diff(bounds) >= 0)
    bufs = np.empty((n_blocks - 1, n, k))
    args = (X.data, X.indices, X.indptr, bounds, xbar, center)
    out = {}
    for name, fn in (("serial", False), ("parallel", True)):
        xct = np.empty((p, k))
        (RK.xct_matmat_parallel if fn else RK.xct_matmat)(*args, U, xct)
        xc = np.empty((n, k))
        (RK.xc_matmat_parallel if fn else RK.xc_matmat)(*args, V, xc, bufs)
        kq, ku = np.empty((n, k)), np.empty((p, k))
        kern = RK.kernel_matmat_parallel if fn else RK.kernel_matmat
        kern(*args, U, kq, ku, True, bufs)
        kq2 = np.empty((n, k))
        kern(*args, U, kq2, np.empty((1, k)), False, bufs)
        out[name] = (xct, xc, kq, ku, kq2)
    np.testing.assert_allclose(out["serial"][0], A.T @ U, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out["serial"][1], A @ V, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out["serial"][2], A @ (A.T @ U), rtol=1e-12, atol=1e-11)
    np.testing.assert_allclose(out["serial"][3], A.T @ U, rtol=1e-12, atol=1e-12)
    for a, b in zip(out["serial"], out["parallel"]):
        assert np.array_equal(a, b)
    assert np.array_equal(out["serial"][2], out["serial"][4])  # want_u changes nothing


def test_column_blocks_balance_nonzeros():
    # A power-law column profile: blocks of equal column counts would be very uneven.
    counts = (1000 / np.arange(1, 2001) ** 1.1).astype(np.int64) + 1
    indptr = np.concatenate([[0], np.cumsum(counts)])
    for n_blocks in (2, 4, 9):
        bounds = RK.column_blocks(indptr, n_blocks)
        work = np.diff(indptr[bounds]) + np.diff(bounds)
        assert bounds[0] == 0 and bounds[-1] == counts.size
        assert work.max() <= (counts.sum() + counts.size) / n_blocks + counts.max() + 1
    assert RK.n_blocks_for(20_242, 1_498_952) == 4  # rcv1 shape
    assert RK.n_blocks_for(19_996, 9_097_916) == 28  # news20 shape
    assert RK.n_blocks_for(10**6, 10**6) == 1
    assert RK.n_blocks_for(10, 10**9) == RK.MAX_BLOCKS


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 Numba threads")
@pytest.mark.parametrize("solver", ["cg", "dual"])
def test_fits_identical_with_one_and_two_threads(monkeypatch, solver):
    # Every pass threaded and split into many column blocks, as on large data, whatever
    # the load of the machine running the test.
    monkeypatch.setattr(PAR, "MIN_PARALLEL_NNZ", 0)
    monkeypatch.setattr(RK, "cores_idle", lambda: True)
    monkeypatch.setattr(RK, "_CHOOSERS", {k: RK._Chooser() for k in RK._CHOOSERS})
    monkeypatch.setattr(RK, "ENTRIES_PER_ROW_BLOCK", 1)
    monkeypatch.setattr(RS, "DUAL_DIRECT_MAX", 0)
    X, y = make_regression_problem(n_samples=120, n_features=300, density=0.1)
    Y = np.column_stack([y, np.sin(y)])
    results = {}
    old = numba.get_num_threads()
    try:
        for threads in (1, 2):
            numba.set_num_threads(threads)
            m = Ridge(alpha=np.array([1e-3, 0.5]), solver=solver, tol=1e-10).fit(X, Y)
            results[threads] = (m.coef_, m.intercept_, m.rel_error_bound_, m.n_iter_)
    finally:
        numba.set_num_threads(old)
    for a, b in zip(results[1], results[2]):
        assert np.array_equal(a, b)
    # The parallel variants did run (each chooser times parallel first).
    assert any(2 in c.rate for c in RK._CHOOSERS.values())
    W, _ = closed_form(X, Y, [1e-3, 0.5])
    for t in range(2):
        assert rel_err(results[1][0][t], W[:, t]) <= 1e-8


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_dual_cr_ill_conditioned(monkeypatch, fit_intercept, weighted):
    # alpha 1e-7 of the largest eigenvalue: condition number ~1e7 on the kernel side.
    monkeypatch.setattr(RS, "DUAL_DIRECT_MAX", 0)
    X, y = make_regression_problem(n_samples=80, n_features=200, density=0.1)
    sw = np.random.default_rng(5).uniform(0.2, 3.0, 80) if weighted else None
    lam = np.linalg.norm(X.toarray() - X.toarray().mean(axis=0), 2) ** 2
    alpha = 1e-7 * lam
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        m = Ridge(alpha=alpha, solver="dual", tol=1e-9, fit_intercept=fit_intercept).fit(
            X, y, sample_weight=sw)
    # Reference through the SVD of S^1/2 X_c: w = V diag(s / (s^2 + alpha)) U^T S^1/2 y_c
    # is accurate to rounding whatever the conditioning (np.linalg.solve on the normal
    # equations loses kappa * eps ~ 1e-9 here).
    A = X.toarray()
    s_ = np.ones(80) if sw is None else sw
    if fit_intercept:
        A, yc = A - s_ @ A / s_.sum(), y - s_ @ y / s_.sum()
    else:
        yc = y
    U, sig, Vt = np.linalg.svd(np.sqrt(s_)[:, None] * A, full_matrices=False)
    W = Vt.T @ (sig / (sig ** 2 + alpha) * (U.T @ (np.sqrt(s_) * yc)))
    err = rel_err(m.coef_, W)
    assert err <= 1e-8
    assert err <= max(m.rel_error_bound_, 1e-13) <= 1e-9
    # The certificate the solver returns is the one certify() recomputes from scratch.
    rd = RS.RidgeData(sp.csc_matrix(X), None if sw is None else sw * 80 / sw.sum(),
                      80.0 if sw is None else sw.sum(), fit_intercept)
    Yc, _ = rd.center_targets(y[:, None])
    a = rd.internal_alpha(np.array([alpha]))
    Wr, C, _, (rel, gap) = RS.solve_dual_cr(rd, Yc, a, 1e-9, 10_000)
    rel2, gap2 = RS.certify(rd, Yc, Wr, a, C=C)
    assert rel2[0] <= rel[0] * (1 + 1e-6) and rel[0] <= 1e-9
    assert rel_err(Wr[:, 0], W) <= 1e-8


def test_dual_cr_zero_target_and_max_iter(monkeypatch):
    monkeypatch.setattr(RS, "DUAL_DIRECT_MAX", 0)
    X, y = make_regression_problem(n_samples=80, n_features=200, density=0.1)
    Y = np.column_stack([np.full(80, 2.0), y])  # a constant target: w = 0 exactly
    m = Ridge(alpha=0.3, solver="dual", tol=1e-10).fit(X, Y)
    assert np.all(m.coef_[0] == 0) and m.n_iter_[0] == 0 and m.rel_error_bound_[0] == 0
    m = Ridge(alpha=0.3, solver="dual", fit_intercept=False).fit(X, np.zeros(80))
    assert np.all(m.coef_ == 0) and m.rel_error_bound_ == 0
    with pytest.warns(ConvergenceWarning):
        m = Ridge(alpha=1e-6, solver="dual", tol=1e-12, max_iter=3).fit(X, y)
    W, _ = closed_form(X, y, 1e-6)
    assert m.n_iter_[0] == 3
    assert rel_err(m.coef_, W[:, 0]) <= m.rel_error_bound_  # still a valid bound


def test_threads_only_when_cores_are_idle(monkeypatch):
    monkeypatch.setattr(RK.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(RK, "IDLE_RECHECK_WAITS", (0.0, 0.0, 0.0))
    for others, idle in ((2, False), (1, False), (0, True), (None, True)):
        monkeypatch.setattr(RK, "_others_running", lambda others=others: others)
        assert RK.cores_idle() == idle
    # A task of another process runnable for a moment (one snapshot) is not load; one
    # runnable in every snapshot is.
    for seen, idle in (([1, 0, 1, 1], True), ([1, 1, 1, 0], True), ([1, 1, 1, 1], False)):
        snapshots = iter(seen)
        monkeypatch.setattr(RK, "_others_running", lambda: next(snapshots))
        assert RK.cores_idle() == idle
    monkeypatch.setattr(PAR, "MIN_PARALLEL_NNZ", 0)
    X, _ = _kernel_problem(np.float64, np.int32)
    monkeypatch.setattr(RK, "_others_running", lambda: 2)
    assert RK.Products(X, np.zeros(X.shape[1]), False).threads == 1


def test_others_running_excludes_own_threads(monkeypatch):
    # A fake /proc: 3 tasks running machine-wide, 2 of them threads of this process.
    files = {"/proc/loadavg": "2.9 2.5 2.0 3/120 4567\n",
             "/proc/self/task/10/stat": "10 (python) R 1 2 3\n",
             "/proc/self/task/11/stat": "11 (numba (omp)) R 1 2 3\n",
             "/proc/self/task/12/stat": "12 (python) S 1 2 3\n"}
    monkeypatch.setattr(RK, "open", lambda path: io.StringIO(files[path]), raising=False)
    monkeypatch.setattr(RK.os, "listdir", lambda path: ["10", "11", "12"])
    assert RK._others_running() == 1
    files["/proc/loadavg"] = "garbled"
    assert RK._others_running() is None
    monkeypatch.undo()
    if os.path.exists("/proc/loadavg"):  # the real one: this thread is running, not counted
        assert RK._others_running() >= 0


# --------------------------------------------------------------------------------------
# Large-mean columns, constant columns, w* = 0
# --------------------------------------------------------------------------------------


def _timestamp_problem(weighted, seed=0):
    """Unix-timestamp-like column (mean 1.7e9, spread ~300 s) next to sparse ones."""
    rng = np.random.default_rng(seed)
    n = 200
    ts = 1.7e9 + rng.uniform(0, 1000, n)
    S = sp.random(n, 6, density=0.3, format="csc", random_state=seed)
    X = sp.hstack([sp.csc_matrix(ts[:, None]), S], format="csc")
    y = 1e-2 * (ts - ts.mean()) + S @ rng.standard_normal(6) + 0.1 * rng.standard_normal(n)
    sw = rng.uniform(0.5, 2.0, n) if weighted else None
    return X, y, sw


@pytest.mark.parametrize("solver,dual_cg", [("cg", False), ("dual", False),
                                            ("dual", True), ("cholesky", False),
                                            ("cd", False), ("auto", False)])
@pytest.mark.parametrize("weighted", [False, True])
def test_large_mean_column_matches_closed_form(monkeypatch, solver, dual_cg, weighted):
    # Implicit centering cancelled for a column of values ~1.7e9 with a small spread:
    # cg certified only a relative bound of 6.3 (ConvergenceWarning), the direct dual
    # was 9e-6 off scikit-learn. Columns stored in every row are now centered
    # explicitly (products and dense matrices). Reference: the dense closed form on
    # explicitly centered float64 data.
    if dual_cg:
        monkeypatch.setattr(RS, "DUAL_DIRECT_MAX", 0)
    X, y, sw = _timestamp_problem(weighted)
    # cd certifies through a gap, a difference of objective values whose rounding
    # floors its bound near 1e-5 here (||y||^2 is large next to alpha; see the docs).
    tol = 1e-4 if solver == "cd" else 1e-8
    W, b = closed_form(X, y, 1.0, sw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = Ridge(alpha=1.0, solver=solver, tol=tol).fit(X, y, sample_weight=sw)
    assert m.rel_error_bound_ <= tol
    err = rel_err(m.coef_, W[:, 0])
    assert err <= 1.01 * m.rel_error_bound_ + 1e-9  # the certificate holds
    assert abs(m.intercept_ - b[0]) <= 1e-6 * abs(b[0])


def test_large_mean_column_ridgecv_loo_matches_sklearn():
    # The leave-one-out decomposition uses the same dense matrices (explicitly centered).
    X, y, _ = _timestamp_problem(False)
    alphas = (0.1, 1.0, 10.0)
    ours = RidgeCV(alphas=alphas).fit(X, y)
    ref = SkRidgeCV(alphas=alphas).fit(X.toarray(), y)  # dense: centered explicitly
    assert ours.alpha_ == ref.alpha_
    W, _ = closed_form(X, y, ours.alpha_)
    assert rel_err(ours.coef_, W[:, 0]) <= 1e-6


@pytest.mark.parametrize("solver", ["cg", "cd", "dual", "cholesky"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_constant_columns_get_exactly_zero(solver, fit_intercept):
    # A column constant on the rows of positive weight (or all zero without intercept)
    # is a zero column of X_c: its coefficient is exactly 0 at the optimum, and the
    # others are those of the problem without it (closed form on the remaining columns).
    rng = np.random.default_rng(3)
    n = 40
    sw = rng.uniform(0.5, 2.0, n)
    sw[:5] = 0.0  # the "constant" column differs on these rows only
    const = np.full(n, 0.7 if fit_intercept else 0.0)
    const[:5] = rng.standard_normal(5)
    other = sp.random(n, 4, density=0.5, format="csc", random_state=1).toarray()
    X = sp.csc_matrix(np.c_[const, other, const])
    y = other @ np.arange(1.0, 5.0) + 3.0 + 0.1 * rng.standard_normal(n)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = Ridge(alpha=0.5, solver=solver, tol=1e-8 if solver != "cd" else 1e-6,
                  fit_intercept=fit_intercept).fit(X, y, sample_weight=sw)
    assert m.coef_[0] == 0.0 and m.coef_[5] == 0.0
    W, _ = closed_form(other, y, 0.5, sw, fit_intercept)
    assert rel_err(m.coef_[1:5], W[:, 0]) <= 2 * m.rel_error_bound_ + 1e-12


@pytest.mark.parametrize("solver", ["cg", "cd", "dual", "cholesky"])
def test_zero_solution_certified_at_once(solver):
    # Every column constant: w* = 0 exactly, returned as 0.0 with the bound 0 (it
    # used to divide by ||w|| = 0, or run 10,000 CG iterations on rounding noise).
    X = sp.csc_matrix(np.full((30, 3), [0.3, -2.0, 1e9]))
    y = np.random.default_rng(0).standard_normal(30)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = Ridge(alpha=1e-3, solver=solver, tol=1e-10).fit(X, y)
    assert np.all(m.coef_ == 0.0) and m.rel_error_bound_ == 0.0
    assert m.intercept_ == pytest.approx(y.mean(), rel=1e-14)
    assert m.n_iter_[0] <= 1


def test_column_stats_kinds_match_numpy():
    # Weighted means and centered norms (float64 numpy on explicitly centered columns)
    # and the kinds: constant (zero norm), stored in every row, the others.
    rng = np.random.default_rng(2)
    n = 25
    dense = np.c_[np.full(n, 4.0), 1e9 + rng.uniform(0, 1, n),
                  sp.random(n, 3, density=0.4, random_state=2).toarray()]
    X = sp.csc_matrix(dense)
    sw = rng.uniform(0.5, 2.0, n)
    sw *= n / sw.sum()
    prod = RK.Products(X, np.zeros(X.shape[1]), False, n_blocks=2)
    xbar, sq, kind = prod.column_stats(sw, True)
    mean = sw @ dense / n
    np.testing.assert_allclose(xbar, mean, rtol=1e-14)
    ref_sq = sw @ (dense - mean) ** 2
    np.testing.assert_allclose(sq[1:], ref_sq[1:], rtol=1e-8)
    assert sq[0] == 0.0
    assert kind.tolist() == [RK.KIND_ZERO, RK.KIND_EXPLICIT] + [RK.KIND_LAZY] * 3
    _, sq0, kind0 = prod.column_stats(None, False)  # no intercept: only all-zero columns
    np.testing.assert_allclose(sq0, (dense ** 2).sum(0), rtol=1e-14)
    assert np.all(kind0 == RK.KIND_LAZY)


@pytest.mark.parametrize("k", [1, 3])
def test_products_with_kinds_match_dense(k):
    # Explicitly centered and skipped columns against dense float64 X_c (the large-mean
    # column centered exactly, the zero-kind column treated as 0), serial = parallel.
    rng = np.random.default_rng(4)
    n = 30
    dense = np.c_[1.7e9 + rng.uniform(0, 1000, n), np.full(n, 2.5),
                  sp.random(n, 4, density=0.4, random_state=4).toarray()]
    X = sp.csc_matrix(dense)
    prod = RK.Products(X, np.zeros(6), False, n_blocks=3)
    xbar, _, kind = prod.column_stats(None, True)
    prod.set_centering(xbar, kind)
    A = dense - dense.mean(0)
    A[:, 1] = 0.0
    U, V = rng.standard_normal((n, k)), rng.standard_normal((6, k))
    np.testing.assert_allclose(prod.xct(U), A.T @ U, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(prod.xc(V), A @ V, rtol=1e-9, atol=1e-9)
    Q, W = prod.kernel(U, want_u=True)
    np.testing.assert_allclose(W, A.T @ U, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(Q, A @ (A.T @ U), rtol=1e-9, atol=1e-6)
    bounds = prod.bounds
    args = (X.data, X.indices, X.indptr, bounds, xbar, True)
    outs = []
    for fn in (RK.xct_matmat, RK.xct_matmat_parallel):
        o = np.empty((6, k))
        fn(*args, U, o, kind)
        outs.append(o)
    assert np.array_equal(outs[0], outs[1])


@pytest.mark.parametrize("solver", ["cg", "dual", "cholesky", "cd"])
@pytest.mark.parametrize("c", [3.7, 1e10])
def test_constant_target_gives_exactly_zero_coefficients(solver, c):
    # y - mean(y) is the rounding noise of the mean for a constant y: it was fitted,
    # giving coefficients of about 1e-16 (scikit-learn's too) instead of 0.
    X = sp.random(50, 30, density=0.3, format="csc", random_state=0)
    y = np.full(50, c)
    m = Ridge(alpha=1.0, solver=solver).fit(X, y)
    assert not np.any(m.coef_)
    np.testing.assert_allclose(m.intercept_, c, rtol=1e-15)
    # Only the constant target of several; constant on the rows of positive weight.
    Y = np.column_stack([y, np.linspace(-1.0, 1.0, 50)])
    multi = Ridge(alpha=1.0, solver=solver).fit(X, Y)
    assert not np.any(multi.coef_[0]) and np.any(multi.coef_[1])
    sw = np.r_[np.ones(25), np.zeros(25)]
    fold = Ridge(alpha=1.0, solver=solver).fit(X, np.r_[np.full(25, c), np.arange(25.0)],
                                               sample_weight=sw)
    assert not np.any(fold.coef_)
    assert not np.any(RidgeCV(alphas=[0.1, 1.0]).fit(X, y).coef_)


def test_compare_peers_ridge_rounds(tmp_path):
    # --rounds 2: every solver's ladder twice, in turn; the per-round speed-ups and their
    # median are recomputed here from the JSON.
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    cp = _compare_peers()
    script = Path(__file__).resolve().parent.parent / "scripts" / "compare_peers.py"
    out_json = tmp_path / "out.json"
    cmd = [sys.executable, str(script), "--model", "ridge", "--preset", "small",
           "--target", "regression", "--ridge-alpha", "1", "--rel-err", "1e-4",
           "--timeout", "60", "--rounds", "2", "--solvers", "fastsparse",
           "sklearn-sparse_cg", "--json", str(out_json)]
    env = dict(os.environ, FASTSPARSE_CACHE_DIR=str(tmp_path / "cache"))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    entry = json.loads(out_json.read_text())["results"][0]
    rounds = [entry["solvers"]] + entry["later_rounds"]
    assert len(rounds) == 2
    ratios = []
    for results in rounds:
        fs = cp.ridge_time_to(results["fastsparse"]["points"], 1e-4)["seconds"]
        sk = cp.ridge_time_to(results["sklearn-sparse_cg"]["points"], 1e-4,
                              "sklearn-sparse_cg")["seconds"]
        ratios.append(sk / fs)
    assert f"median **{np.median(ratios):.2f}x**" in proc.stdout
    assert proc.stdout.count("(sklearn-sparse_cg) |") == 2

    parser = cp.build_parser()
    with pytest.raises(SystemExit):
        cp._check_args(parser, parser.parse_args(["--model", "ridge", "--rounds", "0"]))
