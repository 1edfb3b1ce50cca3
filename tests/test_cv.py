"""LassoCV / ElasticNetCV against scikit-learn, fold equivalence, parallelism, API."""

import warnings

import numpy as np
import scipy.sparse as sp
import pytest
from joblib import parallel_config
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet as SkElasticNet
from sklearn.linear_model import ElasticNetCV as SkElasticNetCV
from sklearn.linear_model import LassoCV as SkLassoCV
from sklearn.model_selection import KFold
from sklearn.utils.estimator_checks import parametrize_with_checks

import fastsparse.cv as fcv
from fastsparse import ElasticNetCV, Lasso, LassoCV, enet_path

import reference as ref
from conftest import make_regression_problem


def _data(n_samples=90, n_features=60, seed=0):
    X, y = make_regression_problem(n_samples=n_samples, n_features=n_features,
                                   noise=0.5, seed=seed)
    folds = list(KFold(3, shuffle=True, random_state=seed).split(np.zeros(n_samples)))
    return X, y, folds


def _weights(n, seed=1):
    return np.random.default_rng(seed).uniform(0.2, 3.0, n)


# A tight tol: check_sample_weight_equivalence compares the predictions of a weighted fit
# and a fit on repeated rows at rtol=1e-7, which two certified solutions only meet when
# both are that accurate. The positive variant has near-collinear OLS-like folds in
# check_n_features_in (columns ~ N(100, 1), no intercept): max_iter bounds their time.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks([
    LassoCV(n_alphas=5, cv=3, tol=1e-8),
    ElasticNetCV(l1_ratio=[0.5, 1.0], n_alphas=5, cv=3, tol=1e-8),
    LassoCV(n_alphas=5, cv=3, fit_intercept=False, positive=True, selection_rule="1se",
            max_iter=10, tol=1e-8),
])
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("weighted", [False, True])
def test_zero_weight_fold_is_sklearn_fit_on_the_subset(weighted):
    # The fold objective (held-out rows at weight 0, weights rescaled to sum to n) must be
    # scikit-learn's on X[train] (weights rescaled to sum to n_train): same alpha, no
    # rescaling. Repeated training indices count as multiplicities, as rows of X[train].
    X, y, folds = _data(n_samples=60, n_features=30, seed=2)
    u = _weights(60) if weighted else None
    train = np.concatenate([folds[0][0], folds[0][0][:5]])  # 5 rows twice
    s = np.zeros(60)
    np.add.at(s, train, 1.0 if u is None else u[train])
    alphas = np.geomspace(0.3, 3e-3, 5)
    ours = enet_path(X, y, l1_ratio=0.7, alphas=alphas, sample_weight=s, tol=1e-12)
    for k, alpha in enumerate(ours.alphas):
        sk = SkElasticNet(alpha=alpha, l1_ratio=0.7, tol=1e-14, max_iter=100_000)
        sk.fit(X[train], y[train], sample_weight=None if u is None else u[train])
        assert_allclose(ours.coefs[:, k], sk.coef_, atol=1e-5, rtol=1e-4)
        assert ours.intercepts[k] == pytest.approx(sk.intercept_, abs=1e-5)
        # ... the same objective function (same value at any point), and our solution is
        # within its certified gap of scikit-learn's optimum on the subset.
        u_train = None if u is None else u[train]
        for w, b in ((ours.coefs[:, k], ours.intercepts[k]), (sk.coef_, sk.intercept_)):
            full = ref.objective(X, y, w, b, alpha, 0.7, s)
            assert full == pytest.approx(
                ref.objective(X[train], y[train], w, b, alpha, 0.7, u_train), rel=1e-12)
        sub_ours = ref.objective(X[train], y[train], ours.coefs[:, k], ours.intercepts[k],
                                 alpha, 0.7, u_train)
        sub_sk = ref.objective(X[train], y[train], sk.coef_, sk.intercept_, alpha, 0.7,
                               u_train)
        assert sub_ours - sub_sk <= ours.dual_gaps[k] + 1e-14
    # The fold helper's held-out MSE equals scikit-learn's on the same fold.
    mse, gaps = fcv._fold_path_mse(X, y, u, train, folds[0][1], True, ours.alphas, 0.7,
                                   None, False, 1e-12, 100, True, True)
    Xt, yt = X[folds[0][1]], y[folds[0][1]]
    pred = Xt @ ours.coefs + ours.intercepts
    w_test = None if u is None else u[folds[0][1]]
    assert_allclose(mse, np.average((pred - yt[:, None]) ** 2, axis=0, weights=w_test),
                    rtol=1e-8)


@pytest.mark.parametrize("weighted", [False, True])
def test_lassocv_matches_sklearn(weighted):
    X, y, folds = _data(seed=3)
    sw = _weights(X.shape[0]) if weighted else None
    ours = LassoCV(n_alphas=25, cv=folds, tol=1e-10).fit(X, y, sample_weight=sw)
    sk = SkLassoCV(alphas=ours.alphas_, cv=folds, tol=1e-12, max_iter=100_000)
    sk.fit(X, y, sample_weight=sw)
    assert ours.alpha_ == sk.alpha_
    assert ours.mse_path_.shape == sk.mse_path_.shape == (25, 3)
    assert_allclose(ours.mse_path_, sk.mse_path_, rtol=1e-6)
    assert_allclose(ours.coef_, sk.coef_, atol=1e-6)
    assert ours.intercept_ == pytest.approx(sk.intercept_, abs=1e-6)
    # Our own grid is scikit-learn's (computed on the full data, weights included).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # only its grid is used
        sk_grid = SkLassoCV(alphas=25, cv=folds, max_iter=5).fit(X, y, sample_weight=sw)
    assert_allclose(ours.alphas_, sk_grid.alphas_, rtol=1e-10)
    assert ours.dual_gap_ <= 1e-10 * np.var(y) * 10
    assert np.all(ours.cv_dual_gaps_ >= 0)


def test_elasticnetcv_matches_sklearn_over_l1_ratios():
    X, y, folds = _data(seed=4)
    sw = _weights(X.shape[0], seed=5)
    l1 = [0.2, 0.6, 1.0]
    ours = ElasticNetCV(l1_ratio=l1, n_alphas=8, cv=folds, tol=1e-13)
    ours.fit(X, y, sample_weight=sw)
    sk = SkElasticNetCV(l1_ratio=l1, alphas=8, cv=folds, tol=1e-12, max_iter=100_000)
    sk.fit(X, y, sample_weight=sw)
    assert ours.alphas_.shape == sk.alphas_.shape == (3, 8)
    assert_allclose(ours.alphas_, sk.alphas_, rtol=1e-10)
    assert ours.mse_path_.shape == sk.mse_path_.shape == (3, 8, 3)
    assert_allclose(ours.mse_path_, sk.mse_path_, rtol=1e-5)
    assert (ours.alpha_, ours.l1_ratio_) == (sk.alpha_, sk.l1_ratio_)
    assert_allclose(ours.coef_, sk.coef_, atol=1e-5)


def test_one_standard_error_rule():
    X, y, folds = _data(seed=6)
    cv = LassoCV(n_alphas=20, cv=folds, tol=1e-8).fit(X, y)
    mean = cv.mse_path_.mean(axis=1)
    se = cv.mse_path_.std(axis=1, ddof=1) / np.sqrt(3)
    i_min = np.argmin(mean)
    assert cv.alpha_ == cv.alpha_min_ == cv.alphas_[i_min]
    ok = mean <= mean[i_min] + se[i_min]
    assert cv.alpha_1se_ == cv.alphas_[ok].max() >= cv.alpha_min_
    one_se = LassoCV(n_alphas=20, cv=folds, tol=1e-8, selection_rule="1se").fit(X, y)
    assert one_se.alpha_ == cv.alpha_1se_
    assert_array_equal(one_se.mse_path_, cv.mse_path_)
    # The refit is the full-data solution at alpha_, certified.
    direct = Lasso(alpha=one_se.alpha_, tol=1e-12).fit(X, y)
    assert_allclose(one_se.coef_, direct.coef_, atol=1e-4)
    assert ref.duality_gap(X, y, one_se.coef_, one_se.alpha_) <= 1e-8 * np.var(y) * 1.01
    with pytest.raises(ValueError, match="selection_rule"):
        LassoCV(selection_rule="max").fit(X, y)


def test_n_jobs_and_backends_give_identical_results():
    X, y, folds = _data(n_samples=80, n_features=50, seed=7)
    kw = dict(l1_ratio=[0.5, 0.9], n_alphas=10, cv=folds, tol=1e-8)
    one = ElasticNetCV(n_jobs=1, **kw).fit(X, y)
    two = ElasticNetCV(n_jobs=2, **kw).fit(X, y)
    assert_array_equal(one.mse_path_, two.mse_path_)
    assert_array_equal(one.coef_, two.coef_)
    assert (one.alpha_, one.l1_ratio_) == (two.alpha_, two.l1_ratio_)
    with parallel_config(backend="sequential"):
        seq = ElasticNetCV(n_jobs=2, **kw).fit(X, y)
    assert_array_equal(seq.mse_path_, one.mse_path_)


def test_process_backend_gives_identical_results():
    # Any joblib backend: with processes (loky) X is pickled/memory-mapped to the
    # workers. About 5 s, mostly starting the workers and loading Numba's cache there.
    X, y, folds = _data(n_samples=80, n_features=50, seed=7)
    kw = dict(l1_ratio=[0.5, 0.9], n_alphas=10, cv=folds, tol=1e-8)
    one = ElasticNetCV(n_jobs=1, **kw).fit(X, y)
    with parallel_config(backend="loky"):
        procs = ElasticNetCV(n_jobs=2, **kw).fit(X, y)
    assert_array_equal(procs.mse_path_, one.mse_path_)
    assert_array_equal(procs.coef_, one.coef_)


def test_folds_share_x_without_copies(monkeypatch):
    X, y, folds = _data(n_samples=60, n_features=40, seed=8)
    seen = []
    real = fcv.prepare_problem

    def spy(Xp, *args, **kwargs):
        seen.append(Xp)
        return real(Xp, *args, **kwargs)

    monkeypatch.setattr(fcv, "prepare_problem", spy)
    LassoCV(n_alphas=5, cv=folds).fit(X, y)
    assert len(seen) == 1 + len(folds)  # full data (grid + refit) and one per fold
    for Xp in seen:
        assert Xp.data is X.data and Xp.indices is X.indices and Xp.indptr is X.indptr


def test_cv_options(capsys):
    X, y, _ = _data(n_samples=60, n_features=30, seed=9)
    # int cv, explicit alphas (any order), penalty factors, float32, verbose.
    v = np.ones(30)
    v[0] = 0.0
    m = LassoCV(alphas=[0.01, 0.1, 0.05], cv=4, penalty_factor=v, verbose=1)
    m.fit(X.astype(np.float32), y)
    assert_array_equal(m.alphas_, [0.1, 0.05, 0.01])
    assert m.mse_path_.shape == (3, 4) and m.coef_.dtype == np.float32
    assert m.coef_[0] != 0
    assert not hasattr(m, "l1_ratio_")
    # A single l1_ratio in a list squeezes like scikit-learn.
    e = ElasticNetCV(l1_ratio=[0.5], n_alphas=4, cv=3).fit(X, y)
    assert e.mse_path_.shape == (4, 3) and e.alphas_.shape == (4,)
    assert e.predict(X[:3]).shape == (3,)
    with pytest.raises(ValueError, match="l1_ratio=0"):
        ElasticNetCV(l1_ratio=0.0, cv=3).fit(X, y)
    with pytest.raises(ValueError):
        ElasticNetCV(l1_ratio=1.5, cv=3).fit(X, y)


@pytest.mark.parametrize("make", ["lasso", "ridge", "logistic"])
@pytest.mark.parametrize("test_idx, match", [
    (np.array([], dtype=int), "empty test set"),
    (np.array([-1, 0]), r"test indices must be in \[0, 40\)"),
    (np.array([0, 40]), r"test indices must be in \[0, 40\)"),
    (np.array([0.0, 1.0]), "integer row indices"),
    (np.zeros(39, dtype=bool), "boolean test mask has shape"),
])
def test_hand_made_cv_splits_are_checked(make, test_idx, match):
    # User-made splits used to be trusted: a negative index wrapped around silently and
    # an empty test fold failed with "attempt to get argmax of an empty sequence".
    from fastsparse import LogisticRegressionCV, RidgeCV

    X = sp.random(40, 10, density=0.5, format="csc", random_state=0)
    y = np.random.default_rng(0).standard_normal(40)
    est, target = {"lasso": (LassoCV(n_alphas=3), y),
                   "ridge": (RidgeCV(alphas=[0.1, 1.0]), y),
                   "logistic": (LogisticRegressionCV(Cs=3), (y > 0).astype(int))}[make]
    good = [(np.arange(20, 40), np.arange(20)), (np.arange(20), np.arange(20, 40))]
    est.set_params(cv=good).fit(X, target)  # well-formed hand-made splits work
    with pytest.raises(ValueError, match=match):
        est.set_params(cv=good + [(np.arange(20, 40), test_idx)]).fit(X, target)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_tol_scale_objective_certifies_every_fold_and_the_refit(fit_intercept):
    # tol_scale="objective": every fold's gap G at every alpha satisfies G <= tol * P,
    # P the fold objective reached; P >= P*, scikit-learn's optimum on X[train] (the fold
    # problem, see test_zero_weight_fold_is_sklearn_fit_on_the_subset), so
    # G <= tol * (P* + G) must hold. The refit is checked with the test's own gap.
    X, y, folds = _data(n_samples=60, n_features=40, seed=4)
    a_max = ref.alpha_max(X, y, fit_intercept=fit_intercept)
    alphas = a_max * np.geomspace(0.1, 1e-3, 4)  # small alphas: P far below the null
    tol = 1e-7
    model = LassoCV(alphas=alphas, cv=folds, tol=tol, tol_scale="objective",
                    fit_intercept=fit_intercept, max_iter=10_000).fit(X, y)
    loose = LassoCV(alphas=alphas, cv=folds, tol=tol,
                    fit_intercept=fit_intercept, max_iter=10_000).fit(X, y)
    above = 0
    for f, (train, _) in enumerate(folds):
        for k, alpha in enumerate(model.alphas_):
            sk = SkElasticNet(alpha=alpha, l1_ratio=1.0, tol=1e-14, max_iter=1_000_000,
                              fit_intercept=fit_intercept).fit(X[train], y[train])
            p_star = ref.objective(X[train], y[train], sk.coef_, sk.intercept_, alpha,
                                   1.0)
            gap = model.cv_dual_gaps_[k, f]
            assert gap <= tol * (p_star + gap) * (1 + 1e-9), (f, k, gap / p_star)
            above += loose.cv_dual_gaps_[k, f] > tol * p_star
    assert above > 0  # the default criterion is looser here: the option matters
    primal = ref.objective(X, y, model.coef_, model.intercept_, model.alpha_, 1.0)
    gap = ref.duality_gap(X, y, model.coef_, model.alpha_, 1.0,
                          fit_intercept=fit_intercept)
    assert gap <= tol * primal * (1 + 1e-6)
    with pytest.raises(ValueError, match="tol_scale"):
        LassoCV(alphas=alphas, cv=folds, tol_scale="gap").fit(X, y)
