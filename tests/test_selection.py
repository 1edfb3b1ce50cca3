"""Feature selection: get_support on every estimator, SelectFromModel / Pipeline on sparse
input, select_features and StabilitySelection.

References are independent of the code under test: scikit-learn's Lasso on the same
(sub)sets of rows, the KKT conditions in plain numpy (tests/reference.py and a logistic
version below), and hand computations from the documented formulas.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit
from sklearn.exceptions import NotFittedError
from sklearn.feature_selection import SelectFromModel
from sklearn.linear_model import Lasso as SkLasso
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MaxAbsScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import fastsparse
import fastsparse.selection as selection
from fastsparse import (
    ElasticNet,
    ElasticNetCV,
    Lasso,
    LassoCV,
    LogisticRegression,
    LogisticRegressionCV,
    Ridge,
    RidgeCV,
    SelectionResult,
    StabilitySelection,
    select_features,
)

from reference import kkt_violation


def _regression(seed=0, n=120, p=80, k=10, noise=0.3, density=0.15):
    rng = np.random.default_rng(seed)
    X = sp.random(n, p, density=density, format="csc", random_state=rng,
                  data_rvs=lambda m: rng.uniform(0.2, 2.0, m))
    w = np.zeros(p)
    w[:k] = rng.choice([-1.0, 1.0], k) * rng.uniform(1.0, 3.0, k)
    y = X @ w + 2.0 + noise * rng.standard_normal(n)
    return X, y


def _classification(seed=0, n=200, p=60, k=6):
    rng = np.random.default_rng(seed)
    X = sp.random(n, p, density=0.2, format="csc", random_state=rng,
                  data_rvs=lambda m: rng.uniform(0.2, 2.0, m))
    w = np.zeros(p)
    w[:k] = rng.choice([-2.0, 2.0], k)
    z = X @ w
    y = (z + 0.5 * rng.standard_normal(n) > np.median(z)).astype(int)
    return X, y


def _logistic_kkt_violation(X, y01, coef, intercept, C, sample_weight=None):
    """Largest violation of the L1-logistic optimality conditions, in plain numpy.

    For C sum_i s_i log(1 + exp(-y_i (x_i.w + b))) + ||w||_1 with g = C X^T (s (y01 - p)):
    |g_j| <= 1 where w_j = 0 and g_j = sign(w_j) where w_j != 0.
    """
    Xd = X.toarray()
    s = np.ones(Xd.shape[0]) if sample_weight is None else np.asarray(sample_weight)
    p = expit(Xd @ coef + intercept)
    g = C * Xd.T @ (s * (y01 - p))
    zero = coef == 0
    viol = np.zeros_like(g)
    viol[zero] = np.maximum(np.abs(g[zero]) - 1.0, 0.0)
    viol[~zero] = np.abs(g[~zero] - np.sign(coef[~zero]))
    return viol.max()


# ---------------------------------------------------------------- get_support everywhere

@pytest.mark.parametrize("make_est, target", [
    (lambda: Lasso(alpha=0.01), "reg"),
    (lambda: ElasticNet(alpha=0.01, l1_ratio=0.5), "reg"),
    (lambda: LassoCV(n_alphas=8, cv=3), "reg"),
    (lambda: ElasticNetCV(l1_ratio=[0.5, 1.0], n_alphas=8, cv=3), "reg"),
    (lambda: Ridge(alpha=1.0), "reg"),
    (lambda: RidgeCV(), "reg"),
    (lambda: Ridge(alpha=1.0), "multi_reg"),
    (lambda: LogisticRegression(C=0.5), "bin"),
    (lambda: LogisticRegression(C=0.5), "multi"),
    (lambda: LogisticRegressionCV(Cs=4, cv=3), "bin"),
    (lambda: LogisticRegressionCV(Cs=4, cv=3), "multi"),
])
def test_get_support_is_nonzero_coef(make_est, target):
    X, y = _regression(seed=1)
    y_targets = {
        "reg": y,
        "multi_reg": np.column_stack([y, -2.0 * y + 1.0]),
        "bin": (y > np.median(y)).astype(int),
        "multi": np.digitize(y, np.quantile(y, [1 / 3, 2 / 3])),
    }
    est = make_est()
    with pytest.raises(NotFittedError):
        est.get_support()
    est.fit(X, y_targets[target])
    coef = np.atleast_2d(est.coef_)
    expected = (coef != 0).any(axis=0)
    mask = est.get_support()
    assert mask.dtype == bool and mask.shape == (X.shape[1],)
    np.testing.assert_array_equal(mask, expected)
    idx = est.get_support(indices=True)
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(idx, np.flatnonzero(expected))


def test_ridge_keeps_every_feature_lasso_does_not():
    X, y = _regression(seed=2)
    X = X.tolil()
    X[:, 5] = 0.0  # an all-zero column: the only coefficient Ridge sets to exactly zero
    X = X.tocsc()
    ridge = Ridge(alpha=10.0).fit(X, y)
    support = ridge.get_support()
    assert not support[5]
    assert support.sum() == X.shape[1] - 1
    assert Lasso(alpha=0.05).fit(X, y).get_support().sum() < X.shape[1] // 2


# ---------------------------------------------------------- scikit-learn meta-estimators

def test_select_from_model_lasso_on_sparse_matches_sklearn():
    X, y = _regression(seed=3)
    alpha = 0.02
    sfm = SelectFromModel(Lasso(alpha=alpha, tol=1e-10), threshold=1e-8).fit(X, y)
    Xt = sfm.transform(X)
    assert sp.issparse(Xt)
    ref = SkLasso(alpha=alpha, tol=1e-12, max_iter=100_000).fit(X.toarray(), y)
    expected = np.abs(ref.coef_) >= 1e-8
    np.testing.assert_array_equal(sfm.get_support(), expected)
    np.testing.assert_array_equal(Xt.toarray(), X.toarray()[:, expected])


def test_pipeline_scale_select_fit_on_sparse():
    X, y = _regression(seed=4)
    X_test, _ = _regression(seed=5)
    pipe = Pipeline([
        ("scale", MaxAbsScaler()),
        ("select", SelectFromModel(Lasso(alpha=0.02, tol=1e-10), threshold=1e-10)),
        ("est", Ridge(alpha=0.1)),
    ]).fit(X, y)
    # The same three steps by hand, with scikit-learn's Lasso choosing the features.
    scaler = MaxAbsScaler().fit(X)
    Xs = scaler.transform(X).toarray()
    ref = SkLasso(alpha=0.02, tol=1e-12, max_iter=100_000).fit(Xs, y)
    keep = np.abs(ref.coef_) >= 1e-10
    np.testing.assert_array_equal(pipe.named_steps["select"].get_support(), keep)
    final = Ridge(alpha=0.1).fit(sp.csc_matrix(Xs[:, keep]), y)
    expected = final.predict(scaler.transform(X_test).toarray()[:, keep])
    np.testing.assert_allclose(pipe.predict(X_test), expected, rtol=1e-8, atol=1e-8)


def test_pipeline_with_logistic_selection_on_sparse():
    X, y = _classification(seed=1)
    C = 0.3
    pipe = Pipeline([
        ("scale", MaxAbsScaler()),
        ("select", SelectFromModel(LogisticRegression(C=C, tol=1e-10), threshold=1e-10)),
        ("est", LogisticRegression(C=10.0, l1_ratio=0.0, tol=1e-10)),
    ]).fit(X, y)
    Xs = MaxAbsScaler().fit_transform(X)
    sel = pipe.named_steps["select"]
    w = sel.estimator_.coef_[0]
    # The selector's model is optimal (independent KKT check) and it kept its support.
    assert _logistic_kkt_violation(Xs, y, w, sel.estimator_.intercept_[0], C) < 1e-5
    np.testing.assert_array_equal(sel.get_support(), w != 0)
    assert 0 < sel.get_support().sum() < X.shape[1]
    est = pipe.named_steps["est"]
    assert est.coef_.shape == (1, int(sel.get_support().sum()))
    assert pipe.score(X, y) > 0.7


# --------------------------------------------------------------------- select_features

@pytest.mark.parametrize("n_alphas", [100, 5])
def test_select_features_exact_k_matches_independent_fits(n_alphas):
    # n_alphas=5 makes the grid jump over most k, so the bisection is exercised.
    X, y = _regression(seed=6)
    for k in (1, 3, 6, 9):
        res = select_features(X, y, n_features=k, n_alphas=n_alphas, tol=1e-10)
        assert isinstance(res, SelectionResult)
        assert res.exact and res.n_selected == k and res.indices.size == k
        assert res.indices.dtype == np.int64 and np.all(np.diff(res.indices) > 0)
        assert res.model == "lasso" and res.C is None and res.names is None
        own = Lasso(alpha=res.alpha, tol=1e-12).fit(X, y)
        np.testing.assert_array_equal(own.get_support(indices=True), res.indices)
        ref = SkLasso(alpha=res.alpha, tol=1e-14, max_iter=200_000).fit(X.toarray(), y)
        np.testing.assert_array_equal(np.flatnonzero(np.abs(ref.coef_) > 1e-9),
                                      res.indices)
        np.testing.assert_allclose(res.coef, ref.coef_[res.indices], rtol=1e-5,
                                   atol=1e-8)
        full = np.zeros(X.shape[1])
        full[res.indices] = res.coef
        assert kkt_violation(X, y, full, res.alpha) < 1e-4
        assert res.intercept == pytest.approx(ref.intercept_, rel=1e-6, abs=1e-8)
        path = res.path
        hit = np.flatnonzero(np.isclose(path.alphas, res.alpha, rtol=1e-14, atol=0))
        if hit.size:  # chosen on the grid: it is that column, the first with k features
            col = np.asarray(sp.csc_matrix(path.coefs)[:, [hit[0]]].toarray()).ravel()
            np.testing.assert_array_equal(np.flatnonzero(col), res.indices)
            assert hit[0] == np.flatnonzero(path.n_nonzero == k)[0]
        else:  # refined: strictly between two grid alphas that skip k
            i = np.searchsorted(-path.alphas, -res.alpha)
            assert path.alphas[i - 1] > res.alpha > path.alphas[i]
            assert path.n_nonzero[i - 1] < k < path.n_nonzero[i]


def test_select_features_bisection_is_used_when_the_grid_jumps():
    X, y = _regression(seed=6)
    res = select_features(X, y, n_features=7, n_alphas=3, tol=1e-10)
    assert k_in_grid(res.path.n_nonzero, 7) is False
    assert res.exact and res.n_selected == 7
    assert not np.any(np.isclose(res.path.alphas, res.alpha))


def k_in_grid(counts, k):
    return bool(np.any(np.asarray(counts) == k))


def test_select_features_nearest_when_k_unreachable():
    X, y = _regression(seed=6)
    # A short path (eps=0.5) ends long before 40 features enter.
    res = select_features(X, y, n_features=40, eps=0.5, n_alphas=6)
    counts = res.path.n_nonzero
    assert counts.max() < 40
    assert not res.exact
    # Nearest count, ties to the largest alpha: the first grid point with the max count.
    i = int(np.flatnonzero(counts == counts.max())[0])
    assert res.n_selected == counts.max()
    assert res.alpha == res.path.alphas[i]


def test_select_features_names_and_alpha_mode():
    X, y = _regression(seed=7)
    names = [f"term_{j}" for j in range(X.shape[1])]
    res = select_features(X, y, alpha=0.03, feature_names=names)
    own = Lasso(alpha=0.03, tol=1e-6).fit(X, y)
    np.testing.assert_array_equal(res.indices, own.get_support(indices=True))
    assert res.names == [names[j] for j in res.indices]
    assert res.path is None and res.exact and res.alpha == 0.03
    assert res.dual_gap == pytest.approx(own.dual_gap_, rel=1e-6, abs=1e-15)
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(X.toarray(), columns=names)
    res_df = select_features(df, y, alpha=0.03)
    assert res_df.names == res.names


def test_select_features_enet_uses_l1_ratio():
    X, y = _regression(seed=8)
    res = select_features(X, y, n_features=8, model="enet", l1_ratio=0.3, tol=1e-10)
    assert res.exact and res.n_selected == 8 and res.l1_ratio == 0.3
    own = ElasticNet(alpha=res.alpha, l1_ratio=0.3, tol=1e-12).fit(X, y)
    np.testing.assert_array_equal(own.get_support(indices=True), res.indices)
    full = np.zeros(X.shape[1])
    full[res.indices] = res.coef
    assert kkt_violation(X, y, full, res.alpha, l1_ratio=0.3) < 1e-4


def test_select_features_logistic():
    X, y = _classification(seed=2)
    n = X.shape[0]
    for k in (2, 5):
        res = select_features(X, y, n_features=k, model="logistic", tol=1e-10,
                              n_alphas=8)
        assert res.exact and res.n_selected == k and res.model == "logistic"
        # The documented mapping between the two parametrizations (unit weights).
        assert res.alpha == pytest.approx(1.0 / (res.C * n), rel=1e-12)
        full = np.zeros(X.shape[1])
        full[res.indices] = res.coef
        assert _logistic_kkt_violation(X, y, full, res.intercept, res.C) < 1e-4
        own = LogisticRegression(C=res.C, tol=1e-12).fit(X, y)
        np.testing.assert_array_equal(own.get_support(indices=True), res.indices)
    # alpha= and C= give the same fit; with weights alpha = 1 / (C * sum(s)).
    a = select_features(X, y, alpha=0.01, model="logistic")
    c = select_features(X, y, C=1.0 / (0.01 * n), model="logistic")
    np.testing.assert_array_equal(a.indices, c.indices)
    assert a.C == pytest.approx(c.C)
    sw = np.random.default_rng(0).uniform(0.5, 2.0, n)
    w = select_features(X, y, alpha=0.01, model="logistic", sample_weight=sw)
    assert w.C == pytest.approx(1.0 / (0.01 * sw.sum()))
    own = LogisticRegression(C=w.C, tol=1e-8).fit(X, y, sample_weight=sw)
    np.testing.assert_array_equal(own.get_support(indices=True), w.indices)


def test_select_features_zero_weights_drop_rows():
    X, y = _regression(seed=9)
    keep = np.arange(X.shape[0]) % 3 != 0
    res = select_features(X, y, n_features=5, sample_weight=keep.astype(float),
                          tol=1e-10)
    sub = select_features(X[keep], y[keep], n_features=5, tol=1e-10)
    np.testing.assert_array_equal(res.indices, sub.indices)
    assert res.alpha == pytest.approx(sub.alpha, rel=1e-8)


@pytest.mark.parametrize("kwargs, err, match", [
    ({}, ValueError, "exactly one"),
    ({"n_features": 3, "alpha": 0.1}, ValueError, "exactly one"),
    ({"n_features": 0}, ValueError, "n_features"),
    ({"n_features": 10_000}, ValueError, "exceeds"),
    ({"n_features": 2.5}, TypeError, "n_features"),
    ({"alpha": 0.0}, ValueError, "alpha must be positive"),
    ({"alpha": -1.0}, ValueError, "alpha"),
    ({"alpha": 0.1, "model": "ridge"}, ValueError, "model"),
    ({"C": 1.0}, ValueError, "only for model='logistic'"),
    ({"alpha": 0.1, "model": "enet", "l1_ratio": 0.0}, ValueError, "ridge"),
    ({"alpha": 0.1, "model": "enet", "l1_ratio": 1.5}, ValueError, "l1_ratio"),
    ({"alpha": 0.1, "feature_names": ["a", "b"]}, ValueError, "feature_names"),
    ({"alpha": 0.1, "feature_names": "abc"}, TypeError, "feature_names"),
    ({"n_features": 2, "eps": 0.0}, ValueError, "eps"),
    ({"n_features": 2, "n_alphas": 0}, ValueError, "n_alphas"),
])
def test_select_features_errors(kwargs, err, match):
    X, y = _regression(seed=0, n=30, p=20)
    with pytest.raises(err, match=match):
        select_features(X, y, **kwargs)


def test_select_features_logistic_needs_binary_target():
    X, y = _regression(seed=0, n=60, p=20)
    y3 = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    with pytest.raises(ValueError, match="binary"):
        select_features(X, y3, n_features=2, model="logistic")


# -------------------------------------------------------------------- StabilitySelection

def _correlated_problem(seed=0, n=200, p=300, k=8, copies=2, mix=0.5, noise=1.0):
    """k informative sparse columns, each with ``copies`` noise columns correlated with it
    (``mix * informative + own sparse noise``, correlation about 0.4), plus independent
    noise columns."""
    rng = np.random.default_rng(seed)
    Z = sp.random(n, p, density=0.1, format="csc", random_state=rng,
                  data_rvs=lambda m: rng.uniform(0.5, 1.5, m)).toarray()
    X = Z.copy()
    for g in range(k):
        for c in range(copies):
            X[:, k + g * copies + c] = mix * Z[:, g] + Z[:, k + g * copies + c]
    w = np.zeros(p)
    w[:k] = rng.choice([-1.0, 1.0], k) * rng.uniform(1.5, 3.0, k)
    y = X @ w + noise * rng.standard_normal(n)
    return sp.csc_matrix(X), y, set(range(k))


def _f1(selected, truth):
    tp = len(selected & truth)
    return 2 * tp / (len(selected) + len(truth)) if selected or truth else 1.0


def test_stability_selection_has_far_fewer_false_positives_than_lasso_cv():
    X, y, truth = _correlated_problem(seed=0)
    single = set(LassoCV(cv=5).fit(X, y).get_support(indices=True).tolist())
    sel = StabilitySelection(n_bootstrap=25, random_state=0).fit(X, y)
    stable = set(sel.get_support(indices=True).tolist())
    fp_single, fp_stable = len(single - truth), len(stable - truth)
    assert len(stable & truth) >= 7
    assert fp_single >= 15  # the CV-optimal Lasso keeps many noise features
    assert fp_stable * 4 <= fp_single
    assert _f1(stable, truth) > _f1(single, truth) + 0.3


def _recording(monkeypatch):
    """Record the rows of every subsample actually fitted by StabilitySelection."""
    calls = []
    original = selection._subsample_support

    def record(X, y, sample_weight, rows, *args):
        calls.append(np.array(rows))
        return original(X, y, sample_weight, rows, *args)

    monkeypatch.setattr(selection, "_subsample_support", record)
    return calls


def test_complementary_pairs_are_disjoint_halves(monkeypatch):
    X, y = _regression(seed=10, n=51, p=30)
    calls = _recording(monkeypatch)
    sel = StabilitySelection(n_bootstrap=4, n_alphas=5, random_state=0).fit(X, y)
    assert sel.n_subsamples_ == len(calls) == 8
    for a, b in zip(calls[::2], calls[1::2]):
        assert a.size == b.size == 25  # floor(51 / 2), one row left out of both
        assert np.intersect1d(a, b).size == 0
        assert np.unique(a).size == a.size
    assert len({tuple(c) for c in calls}) == 8  # different random splits


def test_subsample_mode_sizes(monkeypatch):
    X, y = _regression(seed=10, n=50, p=30)
    calls = _recording(monkeypatch)
    sel = StabilitySelection(n_bootstrap=5, n_alphas=5, sampling="subsample",
                             sample_fraction=0.7, random_state=0).fit(X, y)
    assert sel.n_subsamples_ == len(calls) == 5
    assert all(c.size == 35 and np.unique(c).size == 35 for c in calls)


def test_frequencies_match_sklearn_on_the_subsamples_and_bound(monkeypatch):
    X, y = _regression(seed=11, n=60, p=40, k=6)
    calls = _recording(monkeypatch)
    sel = StabilitySelection(n_bootstrap=3, n_alphas=5, eps=0.05, tol=1e-10,
                             threshold=0.7, random_state=1).fit(X, y)
    alphas = sel.alphas_
    assert np.all(np.diff(alphas) < 0)
    Xd = X.toarray()
    counts = np.zeros((X.shape[1], alphas.size))
    unions = []
    for rows in calls:
        union = np.zeros(X.shape[1], dtype=bool)
        for j, a in enumerate(alphas):
            ref = SkLasso(alpha=a, tol=1e-14, max_iter=200_000).fit(Xd[rows], y[rows])
            nz = np.abs(ref.coef_) > 1e-9
            counts[:, j] += nz
            union |= nz
        unions.append(union.sum())
    m = len(calls)
    freq = sel.selection_frequencies_
    assert sp.issparse(freq) and freq.shape == (X.shape[1], alphas.size)
    np.testing.assert_array_equal(freq.toarray(), counts / m)
    dense = freq.toarray()
    assert dense.min() >= 0 and dense.max() <= 1
    np.testing.assert_array_equal(sel.stability_scores_, dense.max(axis=1))
    np.testing.assert_array_equal(sel.support_, dense.max(axis=1) >= 0.7)
    np.testing.assert_array_equal(sel.get_support(), sel.support_)
    np.testing.assert_allclose(sel.mean_n_selected_, counts.sum(axis=0) / m)
    q = np.mean(unions)
    assert sel.q_ == pytest.approx(q)
    p = X.shape[1]
    bound = q ** 2 / ((2 * 0.7 - 1) * p)  # Meinshausen & Buhlmann, Theorem 1
    assert sel.expected_false_positives_bound_ == pytest.approx(bound)
    Xt = sel.transform(X)
    np.testing.assert_array_equal(Xt.toarray(), Xd[:, sel.support_])
    # A threshold equal to an attained score keeps the features with that score (>=).
    scores = counts.max(axis=1) / m
    thr = float(np.min(scores[scores > 0.5]))
    again = StabilitySelection(n_bootstrap=3, n_alphas=5, eps=0.05, tol=1e-10,
                               threshold=thr, random_state=1).fit(X, y)
    np.testing.assert_array_equal(again.support_, scores >= thr)
    assert np.any(again.support_ & (scores == thr))


def test_n_jobs_and_input_format_do_not_change_the_result():
    X, y = _regression(seed=12, n=80, p=50)
    kw = dict(n_bootstrap=6, n_alphas=8, random_state=3)
    one = StabilitySelection(n_jobs=1, **kw).fit(X, y)
    two = StabilitySelection(n_jobs=2, **kw).fit(X, y)
    dense = StabilitySelection(n_jobs=1, **kw).fit(X.toarray(), y)
    for other in (two, dense):
        np.testing.assert_array_equal(one.selection_frequencies_.toarray(),
                                      other.selection_frequencies_.toarray())
        assert one.q_ == other.q_
        np.testing.assert_array_equal(one.alphas_, other.alphas_)


def test_stability_selection_logistic_and_enet():
    X, y = _classification(seed=3, n=240, p=40, k=4)
    sel = StabilitySelection("logistic", n_bootstrap=5, n_alphas=10,
                             random_state=0).fit(X, y)
    scores = sel.stability_scores_
    assert np.all((0 <= scores) & (scores <= 1))
    assert set(sel.get_support(indices=True)) <= set(np.flatnonzero(scores >= 0.6))
    # The informative features are the most stable ones.
    assert set(np.argsort(-scores, kind="stable")[:4]) & {0, 1, 2, 3}
    Xr, yr = _regression(seed=13, n=80, p=40)
    enet = StabilitySelection("enet", l1_ratio=0.5, n_bootstrap=4, n_alphas=6,
                              random_state=0).fit(Xr, yr)
    lasso = StabilitySelection("lasso", n_bootstrap=4, n_alphas=6,
                               random_state=0).fit(Xr, yr)
    # Same alpha_max * eps grid shape, but the enet grid is scaled by 1 / l1_ratio.
    np.testing.assert_allclose(enet.alphas_, lasso.alphas_ / 0.5)


def test_stability_selection_logistic_alpha_is_per_sample(monkeypatch):
    """A half of the rows is fitted at C = 1 / (alpha * n_half) (unit weights)."""
    X, y = _classification(seed=4, n=120, p=30)
    seen = []
    original = selection.logistic_path

    def record(X_, y_, *, Cs, sample_weight, **kw):
        seen.append((np.asarray(Cs).copy(), float(np.sum(sample_weight))))
        return original(X_, y_, Cs=Cs, sample_weight=sample_weight, **kw)

    monkeypatch.setattr(selection, "logistic_path", record)
    sel = StabilitySelection("logistic", n_bootstrap=2, n_alphas=4,
                             random_state=0).fit(X, y)
    assert len(seen) == 4
    for Cs, total in seen:
        assert total == 60
        np.testing.assert_allclose(Cs, 1.0 / (sel.alphas_ * 60))


@pytest.mark.parametrize("params, match", [
    ({"threshold": 0.5}, "threshold"),
    ({"threshold": 0.3}, "threshold"),
    ({"threshold": 1.2}, "threshold"),
    ({"sampling": "bootstrap"}, "sampling"),
    ({"sample_fraction": 0.7}, "sample_fraction"),
    ({"sample_fraction": 0.0}, "sample_fraction"),
    ({"model": "ridge"}, "model"),
    ({"model": "enet", "l1_ratio": 0.0}, "ridge"),
    ({"n_bootstrap": 0}, "n_bootstrap"),
    ({"alphas": [0.1, -1.0]}, "alphas"),
    ({"eps": 0.0}, "eps"),
])
def test_stability_selection_parameter_errors(params, match):
    X, y = _regression(seed=0, n=30, p=20)
    with pytest.raises(ValueError, match=match):
        StabilitySelection(**{"n_bootstrap": 2, **params}).fit(X, y)


def test_stability_selection_not_fitted():
    with pytest.raises(NotFittedError):
        StabilitySelection().get_support()


def _expected_failures(estimator):
    reason = ("Subsamples are drawn over rows: the two copies of a repeated row are "
              "drawn independently (and can land in both halves of a complementary "
              "pair), a row of weight 2 is drawn whole, so weights are not equivalent "
              "to repetitions (and n changes the subsample size).")
    return {
        "check_sample_weight_equivalence_on_dense_data": reason,
        "check_sample_weight_equivalence_on_sparse_data": reason,
    }


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks([StabilitySelection(n_bootstrap=3, random_state=0),
                          StabilitySelection(n_bootstrap=3, sampling="subsample",
                                             sample_fraction=0.8, random_state=0)],
                         expected_failed_checks=_expected_failures)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_exported_from_package():
    assert fastsparse.select_features is select_features
    assert {"select_features", "SelectionResult", "StabilitySelection"} <= set(
        fastsparse.__all__)
