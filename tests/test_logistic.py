"""Correctness of LogisticRegression against independent references.

References written here in plain numpy/scipy, sharing no code with the solver:

- the objective C * sum_i s_i log(1 + exp(-y_i z_i)) + penalty, and its minimum computed
  by L-BFGS-B on the smooth bound-constrained reformulation w = a - b, a, b >= 0;
- the duality gap from the conjugate dual (binary entropy), with a dense X;
- exact identities: duplicated rows = integer weights, class weights = sample weights,
  one-vs-rest = binary fits.
"""

import importlib.util
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize
from scipy.special import expit, xlogy
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from fastsparse import LogisticRegression


# --------------------------------------------------------------------------------------
# Independent references
# --------------------------------------------------------------------------------------

def _dense(X):
    return X.toarray() if sp.issparse(X) else np.asarray(X, dtype=np.float64)


def objective(X, y01, coef, intercept, C, l1_ratio, sample_weight=None,
              penalty_factor=None):
    """C * sum s log(1 + exp(-y z)) + sum v (rho |w| + (1 - rho)/2 w^2), y in {0, 1}."""
    X = _dense(X)
    ypm = 2.0 * np.asarray(y01, dtype=np.float64) - 1.0
    s = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
    v = np.ones(X.shape[1]) if penalty_factor is None else np.asarray(penalty_factor)
    w = np.asarray(coef, dtype=np.float64).ravel()
    m = ypm * (X @ w + intercept)
    pen = np.sum(v * (l1_ratio * np.abs(w) + 0.5 * (1 - l1_ratio) * w ** 2))
    return C * np.sum(s * np.logaddexp(0.0, -m)) + pen


def reference_fit(X, y01, C, l1_ratio, fit_intercept=True, sample_weight=None,
                  penalty_factor=None):
    """Minimiser by L-BFGS-B on w = a - b (a, b >= 0), intercept free. Returns (w, b)."""
    X = _dense(X)
    n, p = X.shape
    ypm = 2.0 * np.asarray(y01, dtype=np.float64) - 1.0
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    v = np.ones(p) if penalty_factor is None else np.asarray(penalty_factor, float)

    def fun(x):
        a, b = x[:p], x[p:2 * p]
        c = x[2 * p] if fit_intercept else 0.0
        w = a - b
        m = ypm * (X @ w + c)
        val = (C * np.sum(s * np.logaddexp(0.0, -m))
               + np.sum(v * (l1_ratio * (a + b) + 0.5 * (1 - l1_ratio) * w ** 2)))
        dz = -C * s * ypm * expit(-m)
        gw = X.T @ dz + v * (1 - l1_ratio) * w
        grad = np.concatenate([gw + v * l1_ratio, -gw + v * l1_ratio]
                              + ([[dz.sum()]] if fit_intercept else []))
        return val, grad

    x0 = np.zeros(2 * p + fit_intercept)
    bounds = [(0, None)] * (2 * p) + [(None, None)] * fit_intercept
    res = minimize(fun, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                   options=dict(maxiter=100_000, maxfun=100_000, ftol=1e-16, gtol=1e-13,
                                maxcor=50))
    w = res.x[:p] - res.x[p:2 * p]
    return w, (res.x[2 * p] if fit_intercept else 0.0)


def dense_gap(X, y01, coef, intercept, C, l1_ratio, sample_weight=None,
              fit_intercept=True):
    """Duality gap (objective units) at (coef, intercept) from the dense conjugate dual.

    u = -grad of the loss, made to satisfy sum u = 0 (intercept) by shrinking the class
    with the larger total, then scaled by t <= 1 into |X^T u| <= l1_ratio (pure L1).
    D(u) = C sum s H(y u / (C s)) - sum_j max(|x_j^T u| - rho, 0)^2 / (2 (1 - rho)).
    """
    X = _dense(X)
    n = X.shape[0]
    ypm = 2.0 * np.asarray(y01, dtype=np.float64) - 1.0
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    w = np.asarray(coef, dtype=np.float64).ravel()
    m = ypm * (X @ w + intercept)
    u = C * s * ypm * expit(-m)
    if fit_intercept:
        pos, neg = u[ypm > 0].sum(), -u[ypm < 0].sum()
        if pos > neg:
            u[ypm > 0] *= neg / pos
        else:
            u[ypm < 0] *= pos / neg
    corr = np.abs(X.T @ u)
    if l1_ratio == 1.0:
        t = min(1.0, l1_ratio / corr.max()) if corr.max() > 0 else 1.0
        conj = 0.0
    else:
        t = 1.0
        conj = np.sum(np.maximum(corr - l1_ratio, 0.0) ** 2) / (2 * (1 - l1_ratio))
    with np.errstate(divide="ignore", invalid="ignore"):
        pi = np.where(s > 0, t * ypm * u / (C * s), 0.0)
    dual = C * np.sum(s * (-xlogy(pi, pi) - xlogy(1 - pi, 1 - pi))) - conj
    primal = objective(X, y01, w, intercept, C, l1_ratio, sample_weight)
    return primal - dual


def make_problem(n=80, p=30, seed=0, density=0.3, noise=1.0, offset=0.5):
    """Small sparse binary problem with a sparse truth and an unbalanced intercept."""
    rng = np.random.default_rng(seed)
    X = sp.random(n, p, density=density, format="csc", random_state=rng,
                  data_rvs=lambda k: rng.uniform(0.1, 2.0, k))
    w = np.zeros(p)
    w[:6] = rng.standard_normal(6) * 2
    y = (X @ w + offset + noise * rng.standard_normal(n) > 0).astype(int)
    return X, y


# --------------------------------------------------------------------------------------
# Objective and certificate
# --------------------------------------------------------------------------------------

GRID = [(rho, fi, weighted, C)
        for rho in (1.0, 0.5, 0.0)
        for fi in (True, False)
        for weighted in (False, True)
        for C in (0.3, 3.0)]


@pytest.mark.parametrize("l1_ratio,fit_intercept,weighted,C", GRID)
def test_objective_matches_reference(l1_ratio, fit_intercept, weighted, C):
    X, y = make_problem(seed=int(10 * C + 3 * l1_ratio))
    sw = np.random.default_rng(1).uniform(0.2, 3.0, X.shape[0]) if weighted else None
    clf = LogisticRegression(C=C, l1_ratio=l1_ratio, fit_intercept=fit_intercept,
                             tol=1e-10).fit(X, y, sample_weight=sw)
    w_ref, b_ref = reference_fit(X, y, C, l1_ratio, fit_intercept, sw)
    ours = objective(X, y, clf.coef_, clf.intercept_[0], C, l1_ratio, sw)
    ref = objective(X, y, w_ref, b_ref, C, l1_ratio, sw)
    assert abs(ours - ref) <= 1e-6 * ref
    # Never worse than the reference by more than the certificate.
    assert ours - ref <= clf.dual_gap_[0] + 1e-12 * ref
    if not fit_intercept:
        assert clf.intercept_[0] == 0.0


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_gap_matches_dense_and_bounds_suboptimality(l1_ratio, fit_intercept):
    X, y = make_problem(n=100, p=40, seed=3)
    sw = np.random.default_rng(2).uniform(0.5, 2.0, X.shape[0])
    C = 2.0
    w_ref, b_ref = reference_fit(X, y, C, l1_ratio, fit_intercept, sw)
    p_star = objective(X, y, w_ref, b_ref, C, l1_ratio, sw)
    for tol, max_iter in [(1e-1, 1), (1e-2, 2), (1e-10, 100)]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf = LogisticRegression(C=C, l1_ratio=l1_ratio, fit_intercept=fit_intercept,
                                     tol=tol, max_iter=max_iter).fit(X, y,
                                                                     sample_weight=sw)
        gap = dense_gap(X, y, clf.coef_, clf.intercept_[0], C, l1_ratio, sw,
                        fit_intercept)
        assert clf.dual_gap_[0] == pytest.approx(gap, rel=1e-6, abs=1e-9 * p_star)
        sub = objective(X, y, clf.coef_, clf.intercept_[0], C, l1_ratio, sw) - p_star
        assert clf.dual_gap_[0] >= sub - 1e-9 * p_star


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_certificate_is_taken_at_a_recomputed_predictor(monkeypatch, fit_intercept):
    # Between certificates the solver moves z along its Newton steps (z + s dz). Make
    # every such move drift from Xw + b far beyond rounding: the reported gap must still
    # be the one of the returned coefficients (z recomputed from scratch before it).
    from fastsparse import _logistic_solver as LS

    move = LS._move_predictor
    rng = np.random.default_rng(0)

    def drifting_move(st, s):
        move(st, s)
        st.z *= 1.0 + 1e-12 * rng.standard_normal(st.z.shape[0])

    monkeypatch.setattr(LS, "_move_predictor", drifting_move)
    X, y = make_problem(n=120, p=40, seed=5)
    C, tol = 2.0, 1e-8
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # converged, not stopped
        clf = LogisticRegression(C=C, tol=tol, fit_intercept=fit_intercept).fit(X, y)
    gap = dense_gap(X, y, clf.coef_, clf.intercept_[0], C, 1.0,
                    fit_intercept=fit_intercept)
    assert clf.dual_gap_[0] == pytest.approx(gap, rel=1e-6, abs=1e-12)
    assert np.count_nonzero(clf.coef_) > 0


@pytest.mark.parametrize("weighted", [False, True])
def test_gap_safe_radius_contains_optimal_dual_point(weighted):
    # The sphere of Gap Safe screening, in the solver's internal units (weights summing
    # to n): ||u - u*||_{S^-1} <= sqrt(G / 2) for any feasible u (4-strong concavity).
    from fastsparse._logistic_solver import prepare_logistic, solve_logistic
    from fastsparse._validation import check_csc

    X, y = make_problem(n=100, p=60, seed=13)
    X = check_csc(X)
    ypm = np.where(y == 1, 1.0, -1.0)
    n = X.shape[0]
    sw = np.random.default_rng(5).uniform(0.2, 3.0, n) if weighted else None
    s = np.ones(n) if sw is None else sw * (n / sw.sum())
    pb = prepare_logistic(X, ypm, None if sw is None else s, True)
    lam = 0.5
    star = solve_logistic(X, pb, lam, 1.0, None, tol=1e-14, max_iter=200)
    u_star = star.dual_point
    radii = []
    for max_iter in (1, 2, 3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            res = solve_logistic(X, pb, lam, 1.0, None, tol=1e-14, max_iter=max_iter)
        dist = np.sqrt(np.sum((res.dual_point - u_star) ** 2 / s))
        radius = np.sqrt(res.dual_gap / 2)
        assert dist <= radius * (1 + 1e-9) + 1e-12
        radii.append(dist / radius)
    assert max(radii) > 0.01  # the bound is not vacuous


def test_tol_is_relative_to_null_deviance():
    X, y = make_problem(seed=5)
    C = 1.0
    clf = LogisticRegression(C=C, tol=1e-3).fit(X, y)
    pbar = y.mean()
    null_dev = -2 * len(y) * (pbar * np.log(pbar) + (1 - pbar) * np.log(1 - pbar))
    assert clf.dual_gap_[0] <= 1e-3 * C * null_dev


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_tol_scale_objective_bounds_the_relative_gap(fit_intercept):
    # A weak penalty: the objective is far below the null deviance, so the default
    # criterion is loose relative to it; tol_scale="objective" must reach G <= tol * P,
    # checked with the test's own dense gap and against an independent minimiser.
    X, y = make_problem(n=120, p=40, seed=11, noise=0.3)
    C, tol = 30.0, 1e-6
    clf = LogisticRegression(C=C, tol=tol, tol_scale="objective",
                             fit_intercept=fit_intercept).fit(X, y)
    coef, b = clf.coef_.ravel(), clf.intercept_[0]
    primal = objective(X, y, coef, b, C, 1.0)
    gap = dense_gap(X, y, coef, b, C, 1.0, fit_intercept=fit_intercept)
    assert clf.dual_gap_[0] <= tol * primal
    assert gap <= tol * primal * (1 + 1e-6)
    w_ref, b_ref = reference_fit(X, y, C, 1.0, fit_intercept)
    assert primal - objective(X, y, w_ref, b_ref, C, 1.0) <= tol * primal
    # The problem is one where the choice matters: the null deviance is far above P.
    pbar = y.mean() if fit_intercept else 0.5
    null_obj = -C * len(y) * (pbar * np.log(pbar) + (1 - pbar) * np.log(1 - pbar))
    assert primal < 0.5 * null_obj


def test_tol_scale_objective_along_logistic_path():
    from fastsparse import logistic_path

    X, y = make_problem(n=100, p=30, seed=12, noise=0.3)
    tol = 1e-7
    res = logistic_path(X, y, n_Cs=6, eps=0.01, tol=tol, tol_scale="objective",
                        coef_format="dense")
    coefs = np.asarray(res.coefs)
    for k, C in enumerate(res.Cs):
        primal = objective(X, y, coefs[:, k], res.intercepts[k], C, 1.0)
        gap = dense_gap(X, y, coefs[:, k], res.intercepts[k], C, 1.0)
        assert gap <= tol * primal * (1 + 1e-6), (k, gap / primal)
    with pytest.raises(ValueError, match="tol_scale"):
        logistic_path(X, y, tol_scale="relative")


def test_convergence_warning_points_at_the_caller():
    X, y = make_problem(seed=13)
    with pytest.warns(ConvergenceWarning, match="did not converge") as record:
        LogisticRegression(C=10.0, tol=0.0, max_iter=1).fit(X, y)
    assert record[0].filename == __file__


def test_screening_does_not_change_solution():
    X, y = make_problem(n=120, p=200, seed=7, density=0.1)
    a = LogisticRegression(C=0.5, tol=1e-10).fit(X, y)
    b = LogisticRegression(C=0.5, tol=1e-10, screening=False).fit(X, y)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-6)
    assert 0 < np.count_nonzero(a.coef_) < 200


def test_penalty_factor_zero_is_unpenalized():
    X, y = make_problem(seed=11)
    v = np.ones(X.shape[1])
    v[[0, 3]] = 0.0
    v[5] = 2.5
    C = 0.5
    clf = LogisticRegression(C=C, penalty_factor=v, tol=1e-10).fit(X, y)
    w_ref, b_ref = reference_fit(X, y, C, 1.0, True, None, v)
    ours = objective(X, y, clf.coef_, clf.intercept_[0], C, 1.0, None, v)
    ref = objective(X, y, w_ref, b_ref, C, 1.0, None, v)
    assert abs(ours - ref) <= 1e-6 * ref
    assert np.isfinite(clf.dual_gap_[0])


# --------------------------------------------------------------------------------------
# Weights
# --------------------------------------------------------------------------------------

def test_integer_weights_equal_duplicated_rows():
    X, y = make_problem(seed=4)
    sw = np.random.default_rng(3).integers(0, 4, X.shape[0])
    Xr = sp.csr_matrix(X)[np.repeat(np.arange(X.shape[0]), sw)]
    yr = np.repeat(y, sw)
    for rho in (1.0, 0.3):
        a = LogisticRegression(C=0.7, l1_ratio=rho, tol=1e-12).fit(X, y, sample_weight=sw)
        b = LogisticRegression(C=0.7, l1_ratio=rho, tol=1e-12).fit(Xr, yr)
        np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(a.intercept_, b.intercept_, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("class_weight", [{0: 2.5, 1: 0.4}, "balanced"])
def test_class_weight_equals_sample_weight(class_weight):
    X, y = make_problem(seed=6, offset=1.5)  # unbalanced classes
    sw_extra = np.random.default_rng(4).uniform(0.5, 2.0, X.shape[0])
    if class_weight == "balanced":
        counts = np.bincount(y)
        cw = len(y) / (2 * counts)
    else:
        cw = np.array([class_weight[0], class_weight[1]])
    a = LogisticRegression(C=1.0, class_weight=class_weight, tol=1e-12).fit(
        X, y, sample_weight=sw_extra)
    b = LogisticRegression(C=1.0, tol=1e-12).fit(X, y, sample_weight=sw_extra * cw[y])
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(a.intercept_, b.intercept_, rtol=1e-8, atol=1e-10)
    c = LogisticRegression(C=1.0, tol=1e-12).fit(X, y, sample_weight=sw_extra)
    assert not np.allclose(a.coef_, c.coef_)


def test_zero_weight_class_raises():
    X, y = make_problem(seed=1)
    with pytest.raises(ValueError, match="class"):
        LogisticRegression().fit(X, y, sample_weight=(y == 1).astype(float))


# --------------------------------------------------------------------------------------
# Separable data and extreme margins
# --------------------------------------------------------------------------------------

def _separable(seed=0, n=60, p=20):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    return X, y


def test_separable_l1_is_finite():
    X, y = _separable()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = LogisticRegression(C=100.0, tol=1e-8).fit(X, y)
    assert np.all(np.isfinite(clf.coef_)) and np.isfinite(clf.intercept_[0])
    assert np.all(clf.predict(X) == y)
    w_ref, b_ref = reference_fit(X, y, 100.0, 1.0)
    ref = objective(X, y, w_ref, b_ref, 100.0, 1.0)
    ours = objective(X, y, clf.coef_, clf.intercept_[0], 100.0, 1.0)
    assert ours <= ref * (1 + 1e-6) + 1e-9


def test_separable_weak_l2_warns_and_stays_finite():
    X, y = _separable(1)
    with pytest.warns(ConvergenceWarning, match="separate"):
        clf = LogisticRegression(C=1e12, l1_ratio=0.0, tol=1e-14, max_iter=3).fit(X, y)
    assert np.all(np.isfinite(clf.coef_))
    assert np.all(clf.predict(X) == y)


def test_unpenalized_separating_feature_warns():
    X, y = _separable(2)
    X[:, 0] = np.where(y == 1, 1.0, -1.0) + 0.1  # feature 0 alone separates
    v = np.ones(X.shape[1])
    v[0] = 0.0
    with pytest.warns(ConvergenceWarning, match="separate"):
        clf = LogisticRegression(C=1.0, penalty_factor=v, max_iter=20).fit(X, y)
    assert np.all(np.isfinite(clf.coef_))


def test_extreme_values_no_overflow():
    X, y = make_problem(seed=8)
    X = X * 1e4
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LogisticRegression(C=1e3, l1_ratio=0.5, max_iter=30).fit(X, y)
        proba = clf.predict_proba(X)
    assert np.all(np.isfinite(clf.coef_)) and np.all(np.isfinite(proba))
    assert np.isfinite(clf.dual_gap_[0])


# --------------------------------------------------------------------------------------
# Predictions, multiclass
# --------------------------------------------------------------------------------------

def _multiclass(seed=0, n=150, p=40, k=4):
    rng = np.random.default_rng(seed)
    X = sp.random(n, p, density=0.3, format="csr", random_state=rng)
    W = rng.standard_normal((p, k)) * 3
    y = np.argmax(X @ W + rng.standard_normal((n, k)), axis=1)
    return X, np.array(["a", "b", "c", "d"])[y]


def test_predict_proba_binary_and_multiclass():
    X, y = make_problem(seed=9)
    clf = LogisticRegression(C=1.0).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (X.shape[0], 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(proba[:, 1], expit(clf.decision_function(X)))
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[np.argmax(proba, axis=1)])
    Xm, ym = _multiclass()
    clf = LogisticRegression(C=5.0).fit(Xm, ym)
    proba = clf.predict_proba(Xm)
    assert proba.shape == (Xm.shape[0], 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(Xm), clf.classes_[np.argmax(proba, axis=1)])
    np.testing.assert_allclose(np.log(proba), clf.predict_log_proba(Xm))


def test_ovr_equals_binary_fits_and_threads():
    X, y = _multiclass(1)
    ovr = LogisticRegression(C=2.0, l1_ratio=0.8, tol=1e-10, n_jobs=2).fit(X, y)
    assert ovr.coef_.shape == (4, X.shape[1]) and ovr.intercept_.shape == (4,)
    assert ovr.dual_gap_.shape == (4,) and ovr.n_iter_.shape == (4,)
    for k, label in enumerate(ovr.classes_):
        binary = LogisticRegression(C=2.0, l1_ratio=0.8, tol=1e-10).fit(X, y == label)
        np.testing.assert_allclose(ovr.coef_[k], binary.coef_[0], rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(ovr.intercept_[k], binary.intercept_[0], rtol=1e-7)
        assert ovr.dual_gap_[k] == pytest.approx(binary.dual_gap_[0], rel=1e-5, abs=1e-12)
    serial = LogisticRegression(C=2.0, l1_ratio=0.8, tol=1e-10, n_jobs=1).fit(X, y)
    np.testing.assert_array_equal(serial.coef_, ovr.coef_)


def test_binary_shapes_and_label_order():
    X, y = make_problem(seed=10)
    labels = np.where(y == 1, "spam", "ham")
    clf = LogisticRegression(C=1.0).fit(X, labels)
    assert list(clf.classes_) == ["ham", "spam"]
    assert clf.coef_.shape == (1, X.shape[1]) and clf.intercept_.shape == (1,)
    assert clf.decision_function(X).shape == (X.shape[0],)
    ref = LogisticRegression(C=1.0).fit(X, y)
    np.testing.assert_allclose(clf.coef_, ref.coef_)


def test_warm_start_and_float32():
    X, y = make_problem(seed=12)
    clf = LogisticRegression(C=1.0, tol=1e-10, warm_start=True).fit(X, y)
    first = clf.n_iter_[0]
    clf.fit(X, y)
    assert clf.n_iter_[0] <= 1 < first or clf.n_iter_[0] < first
    X32 = X.astype(np.float32)
    c32 = LogisticRegression(C=1.0, tol=1e-10).fit(X32, y)
    w_ref, b_ref = reference_fit(X32.astype(np.float64), y, 1.0, 1.0)
    ref = objective(X32, y, w_ref, b_ref, 1.0, 1.0)
    assert objective(X32, y, c32.coef_, c32.intercept_[0], 1.0, 1.0) <= ref * (1 + 1e-6)


@pytest.mark.parametrize("params,match", [
    (dict(C=0.0), "C must be"),
    (dict(C=-1.0), "C must be"),
    (dict(l1_ratio=1.5), "l1_ratio"),
    (dict(tol=-1.0), "tol"),
    (dict(tol_scale="gap"), "tol_scale"),
])
def test_invalid_parameters(params, match):
    X, y = make_problem()
    with pytest.raises(ValueError, match=match):
        LogisticRegression(**params).fit(X, y)


@parametrize_with_checks([LogisticRegression(tol=1e-12),
                          LogisticRegression(l1_ratio=0.3, C=3.0, tol=1e-12)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


# --------------------------------------------------------------------------------------
# scripts/compare_peers.py --model logistic: its own gap and C_min
# --------------------------------------------------------------------------------------

def _compare_peers():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "scripts" / "compare_peers.py"
    spec = importlib.util.spec_from_file_location("compare_peers_logistic", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_compare_peers_logistic_gap_and_c_min(fit_intercept):
    cp = _compare_peers()
    X, y = make_problem(n=90, p=50, seed=14)
    c_min = cp.logistic_c_min(X, y, fit_intercept)
    below = LogisticRegression(C=0.99 * c_min, fit_intercept=fit_intercept).fit(X, y)
    above = LogisticRegression(C=1.05 * c_min, fit_intercept=fit_intercept).fit(X, y)
    assert np.count_nonzero(below.coef_) == 0 < np.count_nonzero(above.coef_)
    C = 5 * c_min
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        rough = LogisticRegression(C=C, fit_intercept=fit_intercept, tol=1e-1,
                                   max_iter=2).fit(X, y)
    for clf in (rough, LogisticRegression(C=C, fit_intercept=fit_intercept,
                                          tol=1e-12).fit(X, y)):
        primal, dual = cp.logistic_primal_dual(X, y, clf.coef_, clf.intercept_[0], C,
                                               fit_intercept)
        assert primal == pytest.approx(objective(X, y, clf.coef_, clf.intercept_[0], C,
                                                 1.0), rel=1e-12)
        gap = dense_gap(X, y, clf.coef_, clf.intercept_[0], C, 1.0, None, fit_intercept)
        assert primal - dual == pytest.approx(gap, rel=1e-8, abs=1e-12 * primal)
        # Same dual point as the solver's certificate.
        assert primal - dual == pytest.approx(clf.dual_gap_[0], rel=1e-6,
                                              abs=1e-10 * primal)
    # skglm is a benchmark-only extra (not installed by the test extra or in CI).
    if importlib.util.find_spec("skglm") is not None:
        est = cp.make_logistic_estimator("skglm", C, fit_intercept, 1e-6, X.shape[0])
        assert est.alpha == pytest.approx(1.0 / (C * X.shape[0]))


# --------------------------------------------------------------------------------------
# logistic_path
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("l1_ratio,fit_intercept,weighted", [
    (1.0, True, False), (0.5, False, True), (1.0, True, True)])
def test_logistic_path_matches_single_fits(l1_ratio, fit_intercept, weighted):
    from fastsparse import logistic_c_min, logistic_path

    X, y = make_problem(n=100, p=60, seed=15, density=0.2)
    sw = np.random.default_rng(6).uniform(0.3, 2.0, X.shape[0]) if weighted else None
    res = logistic_path(X, y, n_Cs=6, eps=0.05, l1_ratio=l1_ratio,
                        fit_intercept=fit_intercept, sample_weight=sw, tol=1e-10)
    Cs, coefs, gaps = res
    assert sp.issparse(coefs) and coefs.shape == (X.shape[1], 6)
    c_min = logistic_c_min(X, y, l1_ratio=l1_ratio, fit_intercept=fit_intercept,
                           sample_weight=sw)
    np.testing.assert_allclose(Cs[[0, -1]], [c_min, c_min / 0.05])
    assert coefs[:, 0].nnz == 0 and coefs[:, 1].nnz > 0
    for k in (1, 3, 5):
        w = coefs[:, k].toarray().ravel()
        ref_w, ref_b = reference_fit(X, y, Cs[k], l1_ratio, fit_intercept, sw)
        ours = objective(X, y, w, res.intercepts[k], Cs[k], l1_ratio, sw)
        ref = objective(X, y, ref_w, ref_b, Cs[k], l1_ratio, sw)
        assert abs(ours - ref) <= 1e-6 * ref
        gap = dense_gap(X, y, w, res.intercepts[k], Cs[k], l1_ratio, sw, fit_intercept)
        assert gaps[k] == pytest.approx(gap, rel=1e-6, abs=1e-9 * ref)
    dense = logistic_path(X, y, Cs=Cs[::-1], l1_ratio=l1_ratio,
                          fit_intercept=fit_intercept, sample_weight=sw, tol=1e-10,
                          coef_format="dense")
    np.testing.assert_allclose(dense.Cs, Cs)
    np.testing.assert_allclose(dense.coefs, coefs.toarray(), atol=1e-8)


def test_logistic_path_rejects_bad_input():
    from fastsparse import logistic_path

    X, y = make_problem(seed=16)
    with pytest.raises(ValueError, match="binary"):
        logistic_path(X, np.arange(X.shape[0]) % 3)
    with pytest.raises(ValueError, match="explicit grid"):
        logistic_path(X, y, l1_ratio=0.0)
    with pytest.raises(ValueError, match="positive"):
        logistic_path(X, y, Cs=[1.0, -1.0])


@pytest.mark.parametrize("l1_ratio", [0.0, 0.05])
def test_l2_dominated_many_features_converges(l1_ratio):
    # The global gap is spread thinly over many features outside the working set: the
    # working set must keep growing (it once stalled at 2 * p0 features).
    X, y = make_problem(n=100, p=2000, seed=17, density=0.02)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        LogisticRegression(C=1.0, l1_ratio=l1_ratio, tol=1e-3, max_iter=30).fit(X, y)
        clf = LogisticRegression(C=1.0, l1_ratio=l1_ratio, tol=1e-8).fit(X, y)
    w_ref, b_ref = reference_fit(X, y, 1.0, l1_ratio)
    ours = objective(X, y, clf.coef_, clf.intercept_[0], 1.0, l1_ratio)
    ref = objective(X, y, w_ref, b_ref, 1.0, l1_ratio)
    assert abs(ours - ref) <= 1e-6 * ref
    assert np.count_nonzero(clf.coef_) > 100


def test_logistic_path_int_cs_is_a_count_as_in_logistic_regression_cv():
    # Cs=5 used to mean the single C = 5, against LogisticRegressionCV(Cs=5) and
    # enet_path(alphas=5), where an int is a count.
    from fastsparse import logistic_path

    X, y = make_problem()
    by_count = logistic_path(X, y, Cs=5, coef_format="dense")
    by_n = logistic_path(X, y, n_Cs=5, coef_format="dense")
    assert by_count.Cs.shape == (5,)
    np.testing.assert_array_equal(by_count.Cs, by_n.Cs)
    np.testing.assert_array_equal(by_count.coefs, by_n.coefs)
    single = logistic_path(X, y, Cs=5.0, coef_format="dense")
    np.testing.assert_array_equal(single.Cs, [5.0])


# --------------------------------------------------------------------------------------
# Common-mode deflation of the no-intercept models (LK._deflated_epoch)
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
@pytest.mark.parametrize("weighted", [False, True])
def test_deflated_sweeps_run_and_match_reference(monkeypatch, l1_ratio, weighted):
    import fastsparse._logistic_solver as LS
    used = []
    original = LS.LK.quadratic_cd

    def spy(*args):
        # Deflated epochs record secant pairs in the deflation's state (args[-2][2]);
        # whether they run is decided inside the kernel, by the first epoch's measure.
        deflation = args[-2]
        before = None if deflation is None else deflation[2].copy()
        out = original(*args)
        used.append(before is not None and not np.array_equal(before, deflation[2]))
        return out

    monkeypatch.setattr(LS.LK, "quadratic_cd", spy)
    X, y = make_problem(n=120, p=60, seed=4, density=0.4)
    sw = np.random.default_rng(2).uniform(0.2, 3.0, X.shape[0]) if weighted else None
    C = 2.0
    clf = LogisticRegression(C=C, l1_ratio=l1_ratio, fit_intercept=False,
                             tol=1e-10).fit(X, y, sample_weight=sw)
    assert any(used), "the deflated sweeps were not used"
    w_ref, _ = reference_fit(X, y, C, l1_ratio, False, sw)
    ours = objective(X, y, clf.coef_, 0.0, C, l1_ratio, sw)
    ref = objective(X, y, w_ref, 0.0, C, l1_ratio, sw)
    assert abs(ours - ref) <= 1e-6 * ref
    assert dense_gap(X, y, clf.coef_, 0.0, C, l1_ratio, sw, fit_intercept=False) <= (
        1e-8 * ref)


@pytest.mark.parametrize("seed", range(3))
def test_measuring_epoch_is_the_stats_pass_and_a_plain_epoch(seed):
    # The first epoch of a model without intercept sums the column statistics in the
    # same read as the gradients: the same sums in the same order as
    # weighted_column_stats followed by a plain _cd_epoch, so bit for bit the same
    # statistics, coefficients and residual.
    import fastsparse._logistic_kernels as LK
    rng = np.random.default_rng(seed)
    X, _ = make_problem(n=90, p=50, seed=seed, density=0.3)
    X = X.tocsc()
    n, p = X.shape
    h = rng.uniform(0.01, 0.25, n)
    X[:, 3] = 0.0  # an all-zero column (zero curvature: skipped by both)
    X.eliminate_zeros()
    ws = rng.permutation(p)[:35].astype(np.int64)
    l1, l2 = np.full(p, 0.2), np.full(p, 0.05)
    w0 = np.where(rng.random(p) < 0.3, rng.standard_normal(p), 0.0)
    e0 = h * rng.standard_normal(n)
    H = h.sum()

    mean_ref, cen_ref = np.empty(ws.size), np.empty(ws.size)
    LK.weighted_column_stats(X.data, X.indices, X.indptr, ws, h, H, True, mean_ref,
                             cen_ref)
    lip_ref = mean_ref * mean_ref * H + cen_ref
    w_ref, e_ref = w0.copy(), e0.copy()
    _, viol_ref = LK._cd_epoch(X.data, X.indices, X.indptr, ws, w_ref, e_ref, 0.0, h, H,
                               False, np.zeros(ws.size), lip_ref, l1, l2)

    mean, cen, lip = np.empty(ws.size), np.empty(ws.size), np.empty(ws.size)
    w, e = w0.copy(), e0.copy()
    viol, weight = LK._measuring_epoch(X.data, X.indices, X.indptr, ws, w, e, h, H, lip,
                                       l1, l2, mean, cen)
    assert np.array_equal(mean, mean_ref) and np.array_equal(cen, cen_ref)
    assert np.array_equal(lip, lip_ref)
    assert np.array_equal(w, w_ref) and np.array_equal(e, e_ref) and viol == viol_ref
    plain = mean_ref ** 2 * H
    expected = np.sum(np.divide(plain, lip_ref, out=np.zeros_like(plain),
                                where=lip_ref > 0))
    assert weight == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("bad_secant", [None, "absurd", "overflow"])
def test_deflated_epoch_never_increases_the_model(seed, bad_secant):
    import fastsparse._logistic_kernels as LK
    rng = np.random.default_rng(seed)
    X, _ = make_problem(n=100, p=40, seed=seed, density=0.4)
    n, p = X.shape
    h = rng.uniform(0.01, 0.25, n)
    r0 = rng.standard_normal(n)  # the model: 1/2 sum h (r0 - X d)^2 + penalty(w)
    l1, l2 = np.full(p, 0.3), np.full(p, 0.05)
    ws = np.arange(p, dtype=np.int64)
    w = np.zeros(p)
    e = h * r0
    mean, lip = np.empty(p), np.empty(p)
    LK.weighted_column_stats(X.data, X.indices, X.indptr, ws, h, h.sum(), True, mean, lip)
    state = np.zeros(5)
    if bad_secant == "absurd":
        state[:] = [2.0, -1e6, 3.0, 1e6, 5.0]
    elif bad_secant == "overflow":
        state[:] = [2.0, -1e308, 1e-300, 1e308, 2e-300]  # mu = -inf
    deflation = (mean, lip, state, np.empty(p), np.empty(n), np.empty(p), np.empty(p))

    def model():
        r = r0 - X @ w
        return 0.5 * h @ r ** 2 + l1 @ np.abs(w) + 0.5 * l2 @ w ** 2

    values = [model()]
    steps = []
    for _ in range(60):
        steps.append(LK._deflated_epoch(X.data, X.indices, X.indptr, ws, w, e, h,
                                        h.sum(), l1, l2, deflation))
        values.append(model())
        np.testing.assert_allclose(e, h * (r0 - X @ w), atol=1e-12)
    assert np.all(np.diff(values) <= 1e-12 * values[0])
    assert np.all(np.isfinite(w)) and np.all(np.isfinite(e))
    if bad_secant == "absurd":
        assert steps[0] < 0.25  # the absurd multiplier gave no useful step ...
    # ... and the sweeps still reach the model's minimizer (plain CD as reference).
    wc, ec = np.zeros(p), h * r0
    LK.quadratic_cd(X.data, X.indices, X.indptr, ws, wc, ec, 0.0, h, h.sum(), False,
                    np.zeros(p), lip + h.sum() * mean ** 2, l1, l2, 100_000, 1e-13, 0,
                    np.empty(n))
    w_best = wc.copy()
    w[:] = w_best
    best = model()
    assert values[-1] <= best * (1 + 1e-9) + 1e-15


@pytest.mark.parametrize("seed", range(3))
def test_deflated_epoch_line_search_with_extreme_margin_rows(seed):
    # Rows with an extreme margin have h at its floor and r = e / h up to 1e10. The
    # epoch's line search takes its curvature from the change of e divided by h, and
    # its slope from the sweep's own gradients, not from e_old (e_old - e) / h, whose
    # rounding those rows would multiply by 1e10. Reference: the model change along the
    # epoch's actual move, computed from X (dense), must be a decrease at every epoch,
    # and the step t must be the exact minimizer of the model along the sweep's move.
    import fastsparse._logistic_kernels as LK
    rng = np.random.default_rng(seed)
    X, _ = make_problem(n=100, p=40, seed=seed, density=0.4)
    Xd = X.toarray()
    n, p = X.shape
    h = rng.uniform(0.01, 0.25, n)
    extreme = rng.random(n) < 0.2
    h[extreme] = 1e-10
    e0 = np.where(extreme, rng.choice([-1.0, 1.0], n), h * rng.standard_normal(n))
    # Rows of zero weight (held-out rows of a CV fold): h = 0 and e = 0, never moved.
    held_out = ~extreme & (rng.random(n) < 0.1)
    h[held_out] = 0.0
    e0[held_out] = 0.0
    l1, l2 = np.full(p, 0.3), np.full(p, 0.05)
    ws = np.arange(p, dtype=np.int64)
    mean, lip = np.empty(p), np.empty(p)
    LK.weighted_column_stats(X.data, X.indices, X.indptr, ws, h, h.sum(), True, mean, lip)

    def change(w):  # model(w) - model(0) = -e0^T X w + 1/2 sum h (X w)^2 + penalty
        v = Xd @ w
        return -e0 @ v + 0.5 * h @ v ** 2 + l1 @ np.abs(w) + 0.5 * l2 @ w ** 2

    w, e = np.zeros(p), e0.copy()
    deflation = (mean, lip, np.zeros(5), np.empty(p), np.empty(n), np.empty(p),
                 np.empty(p))
    values = [0.0]
    for _ in range(30):
        t = LK._deflated_epoch(X.data, X.indices, X.indptr, ws, w, e, h, h.sum(), l1, l2,
                               deflation)
        values.append(change(w))
        assert np.isfinite(t) and 0.0 <= t <= 4.0
        np.testing.assert_allclose(e, e0 - h * (Xd @ w), rtol=0, atol=1e-13)
    steps = np.diff(values)
    assert np.all(steps <= 1e-12 * abs(values[1])), steps
    assert values[-1] < values[1] < 0.0

    # The step of one epoch against the closed form along the sweep's own move: with
    # a pure L2 penalty the model is smooth along it, minimized at t = -slope / curv.
    no_l1 = np.zeros(p)
    w_start = rng.standard_normal(p)
    e_start = e0 - h * (Xd @ w_start)
    w1, e1 = w_start.copy(), e_start.copy()
    t = LK._deflated_epoch(X.data, X.indices, X.indptr, ws, w1, e1, h, h.sum(), no_l1,
                           l2, (mean, lip, np.zeros(5), np.empty(p), np.empty(n),
                                np.empty(p), np.empty(p)))
    assert 0.0 < t < 4.0
    d = (w1 - w_start) / t  # the sweep's move
    v = Xd @ d
    slope = -e_start @ v + l2 @ (w_start * d)
    curv = h @ v ** 2 + l2 @ d ** 2
    assert t == pytest.approx(-slope / curv, rel=1e-6)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("penalty_factor", [None, "one_free"])
def test_reused_gradients_give_the_iterates_of_a_fresh_pass(monkeypatch, fit_intercept,
                                                            penalty_factor):
    # The outer loop hands x_j^T u of the working set to the next gap at the same z
    # instead of reading those columns again (_gap's ``known``). The same sums, so the
    # same iterates: compared bit for bit with a run in which every gap reads X.
    import fastsparse._logistic_solver as LS
    X, y = make_problem(n=150, p=300, seed=8, density=0.1)
    pf = None
    if penalty_factor:
        pf = np.ones(X.shape[1])
        pf[0] = 0.0
    fit = lambda: LogisticRegression(C=5.0, fit_intercept=fit_intercept, tol=1e-10,  # noqa: E731
                                     penalty_factor=pf).fit(X, y)
    original = LS._gap
    reused = []

    def counting(*args, known=None, rest=None, **kw):
        reused.append(known is not None)
        return original(*args, known=known, rest=rest, **kw)

    monkeypatch.setattr(LS, "_gap", counting)
    with_reuse = fit()
    assert sum(reused) >= 2, "no gradient was reused"

    def fresh(*args, known=None, rest=None, **kw):
        return original(*args, **kw)

    monkeypatch.setattr(LS, "_gap", fresh)
    without = fit()
    np.testing.assert_array_equal(with_reuse.coef_, without.coef_)
    assert with_reuse.intercept_[0] == without.intercept_[0]
    assert with_reuse.dual_gap_[0] == without.dual_gap_[0]
