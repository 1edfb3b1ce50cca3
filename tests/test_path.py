"""Regularization paths against independent references (sklearn, tests/reference.py)."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.linear_model import ElasticNet as SkElasticNet
from sklearn.linear_model import enet_path as sk_enet_path

import fastsparse
import fastsparse.path as fpath
from fastsparse import PathResult, alpha_grid, enet_path, lasso_path

import reference as ref
from conftest import make_regression_problem


def _weights(n, seed=1):
    return np.random.default_rng(seed).uniform(0.2, 3.0, n)


def _null_deviance_over_n(y, sw, fit_intercept):
    s = np.ones_like(y) if sw is None else sw * (len(y) / sw.sum())
    yc = y - np.average(y, weights=s) if fit_intercept else y
    return np.sum(s * yc ** 2) / len(y)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.6])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("sparse_input", [True, False])
def test_path_matches_sklearn_elasticnet(l1_ratio, weighted, fit_intercept, sparse_input):
    # Reference: scikit-learn's ElasticNet fitted from scratch at each alpha of our path.
    X, y = make_regression_problem(n_samples=50, n_features=40, seed=3)
    sw = _weights(X.shape[0]) if weighted else None
    Xin = X if sparse_input else X.toarray()
    res = enet_path(Xin, y, l1_ratio=l1_ratio, n_alphas=6, eps=1e-2, tol=1e-12,
                    sample_weight=sw, fit_intercept=fit_intercept)
    alphas, coefs, gaps = res  # scikit-learn's positional return values
    assert coefs.shape == (40, 6) and isinstance(coefs, np.ndarray)
    # The automatic grid starts at the independent alpha_max and is geometric.
    a_max = ref.alpha_max(X, y, l1_ratio, sw, fit_intercept)
    assert_allclose(alphas, np.geomspace(a_max, a_max * 1e-2, 6), rtol=1e-10)
    for k, alpha in enumerate(alphas):
        sk = SkElasticNet(alpha=alpha, l1_ratio=l1_ratio, fit_intercept=fit_intercept,
                          tol=1e-14, max_iter=100_000).fit(Xin, y, sample_weight=sw)
        # Certified: our objective exceeds scikit-learn's by at most our reported gap.
        ours = ref.objective(X, y, coefs[:, k], res.intercepts[k], alpha, l1_ratio, sw)
        theirs = ref.objective(X, y, sk.coef_, sk.intercept_, alpha, l1_ratio, sw)
        assert ours - theirs <= gaps[k] + 1e-14
        # Coefficients: ||w - w*||^2 <= 2 gap / (strong convexity), loose at small alpha.
        assert_allclose(coefs[:, k], sk.coef_, atol=1e-5, rtol=1e-4)
        assert res.intercepts[k] == pytest.approx(sk.intercept_, abs=1e-5)
    assert np.count_nonzero(coefs[:, 0]) == 0  # alpha_max: everything is zero


@pytest.mark.parametrize("positive", [False, True])
def test_path_matches_sklearn_enet_path_on_centered_data(positive):
    # scikit-learn's enet_path has no intercept: center X and y ourselves.
    X, y = make_regression_problem(n_samples=60, n_features=30, seed=5)
    Xd = X.toarray()
    Xc, yc = Xd - Xd.mean(axis=0), y - y.mean()
    alphas = np.geomspace(0.5, 5e-3, 7)
    sk_alphas, sk_coefs, _ = sk_enet_path(Xc, yc, l1_ratio=0.8, alphas=alphas, tol=1e-14,
                                          max_iter=100_000, positive=positive)
    res = enet_path(X, y, l1_ratio=0.8, alphas=alphas[::-1], tol=1e-12, positive=positive)
    assert_allclose(res.alphas, sk_alphas)  # sorted decreasingly, as scikit-learn does
    assert_allclose(res.coefs, sk_coefs, atol=1e-6, rtol=1e-5)
    # b = ybar - xbar^T w
    assert_allclose(res.intercepts, y.mean() - Xd.mean(axis=0) @ res.coefs, atol=1e-9)


@pytest.mark.parametrize("weighted", [False, True])
def test_every_alpha_is_certified(weighted):
    X, y = make_regression_problem(n_samples=80, n_features=120, seed=7)
    sw = _weights(X.shape[0]) if weighted else None
    tol = 1e-6
    res = lasso_path(X, y, n_alphas=15, tol=tol, sample_weight=sw, return_n_iter=True)
    alphas, coefs, gaps, n_iters = res
    bound = tol * _null_deviance_over_n(y, sw, True)
    assert np.all(gaps <= bound) and np.all(res.converged)
    assert np.all(n_iters >= 1)
    for k, alpha in enumerate(alphas):
        # Independent gap (own dual point) and objective with the returned intercept.
        assert ref.duality_gap(X, y, coefs[:, k], alpha, 1.0, sw) <= 1.01 * bound + 1e-14
        assert ref.kkt_violation(X, y, coefs[:, k], alpha, 1.0, sw) < 1e-2
        best_b = ref.objective(X, y, coefs[:, k], res.intercepts[k], alpha, 1.0, sw)
        for db in (-1e-3, 1e-3):
            assert best_b <= ref.objective(X, y, coefs[:, k], res.intercepts[k] + db,
                                           alpha, 1.0, sw)
    # Fraction of deviance explained and support sizes, recomputed independently.
    s = np.ones_like(y) if sw is None else sw * (len(y) / sw.sum())
    r = y[:, None] - X @ coefs - res.intercepts
    dev0 = np.sum(s * (y - np.average(y, weights=s)) ** 2)
    assert_allclose(res.dev_ratios, 1 - (s[:, None] * r ** 2).sum(axis=0) / dev0,
                    atol=1e-10)
    assert_array_equal(res.n_nonzero, np.count_nonzero(coefs, axis=0))


def _strong_rule_counterexample():
    """Lasso data on which the sequential strong rule provably discards a feature that
    becomes active at the next alpha (no intercept, objective 1/(2n)||y - Xw||^2).

    x1, x2 are orthogonal with x_j^T x_j / n = 1 and x3 leans on both, so while x1 and x2
    are active (positive) its correlation is c3(alpha) = sqrt(2) cos(t) alpha - K: its
    magnitude grows with slope sqrt(2) cos(t) = 1.34 > 1 as alpha decreases, faster than
    the strong rule assumes. At alpha = 1: |c3| = 0.776 < 2 * 0.9 - 1 = 0.8, so the rule
    drops x3 for alpha = 0.9, where |c3| = 0.911 > 0.9: x3 is active.
    """
    c, K = 0.95, 2.12
    s, r3 = np.sqrt(1 - c ** 2), np.sqrt(3.0)
    X = r3 * np.array([[1, 0, c / np.sqrt(2)], [0, 1, c / np.sqrt(2)], [0, 0, s]])
    y = np.array([3 * r3, 2.5 * r3, -K * r3 / s])
    alphas = np.array([4, 3, 2, 1.5, 1.0, 0.9, 0.5])
    return sp.csc_matrix(X), y, alphas


def test_strong_rule_mistake_is_corrected(monkeypatch):
    X, y, alphas = _strong_rule_counterexample()
    calls = []
    real = fpath.solve_enet

    def spy(*args, **kwargs):
        result = real(*args, **kwargs)
        calls.append((kwargs.get("ws_init"), result.coef.copy()))
        return result

    monkeypatch.setattr(fpath, "solve_enet", spy)
    res = lasso_path(X, y, alphas=alphas, fit_intercept=False, tol=1e-12)
    k = 5  # alpha = 0.9
    seed, coef = calls[k]
    assert 2 not in set(seed.tolist())  # the strong rule discarded x3 ...
    assert coef[2] != 0  # ... which is active at alpha = 0.9
    assert set(seed.tolist()) == {0, 1}
    # Still exact: the path equals scikit-learn's (and the gap certifies it).
    _, sk_coefs, _ = sk_enet_path(X.toarray(), y, l1_ratio=1.0, alphas=alphas,
                                  tol=1e-14, max_iter=100_000)
    assert_allclose(res.coefs, sk_coefs, atol=1e-8)
    assert res.coefs[2, k] < 0
    # The rule itself was applied: without it no seed is passed.
    calls.clear()
    lasso_path(X, y, alphas=alphas, fit_intercept=False, tol=1e-12, strong_rule=False)
    assert all(seed is None for seed, _ in calls)


def test_strong_rule_does_not_change_the_path():
    X, y = make_regression_problem(n_samples=60, n_features=200, seed=11)
    a = lasso_path(X, y, n_alphas=20, tol=1e-10)
    b = lasso_path(X, y, n_alphas=20, tol=1e-10, strong_rule=False)
    assert_allclose(a.coefs, b.coefs, atol=1e-5)
    assert_allclose(a.intercepts, b.intercepts, atol=1e-5)


def test_penalty_factors_and_unpenalized_features():
    X, y = make_regression_problem(n_samples=60, n_features=30, seed=13)
    sw = _weights(60, seed=2)
    v = np.ones(30)
    v[:2] = 0.0  # unpenalized
    v[2:8] = 2.5
    v[8:12] = 0.4
    res = lasso_path(X, y, n_alphas=8, eps=1e-2, penalty_factor=v, sample_weight=sw,
                     tol=1e-12)
    # At alpha_max only the unpenalized features are non-zero; just below it, one more.
    assert set(np.flatnonzero(res.coefs[:, 0])) <= {0, 1}
    below = fastsparse.Lasso(alpha=0.98 * res.alpha_max, penalty_factor=v, tol=1e-12)
    assert np.count_nonzero(below.fit(X, y, sample_weight=sw).coef_[2:]) >= 1
    for k, alpha in enumerate(res.alphas):
        assert ref.kkt_violation(X, y, res.coefs[:, k], alpha, 1.0, sw,
                                 penalty_factor=v) < 1e-5
    # For positive factors, a penalty factor is a column rescaling: x_j / v_j in sklearn.
    pos = v > 0
    vp = v[pos]
    Xs = X[:, pos] @ sp.diags(1 / vp)
    res_pos = lasso_path(X[:, pos], y, alphas=res.alphas, penalty_factor=vp,
                         sample_weight=sw, tol=1e-12)
    for k, alpha in enumerate(res.alphas[:4]):
        sk = SkElasticNet(alpha=alpha, l1_ratio=1.0, tol=1e-14, max_iter=100_000)
        sk.fit(Xs, y, sample_weight=sw)
        assert_allclose(res_pos.coefs[:, k], sk.coef_ / vp, atol=1e-6)


def test_alpha_grid_function():
    X, y = make_regression_problem(n_samples=40, n_features=25, seed=17)
    sw = _weights(40)
    grid = alpha_grid(X, y, l1_ratio=0.5, n_alphas=5, eps=1e-3, sample_weight=sw)
    a_max = ref.alpha_max(X, y, 0.5, sw, True)
    assert_allclose(grid, np.geomspace(a_max, a_max * 1e-3, 5), rtol=1e-10)
    with pytest.raises(ValueError, match="l1_ratio=0"):
        enet_path(X, y, l1_ratio=0.0)
    # l1_ratio=0 works with explicit alphas (ridge path).
    res = enet_path(X, y, l1_ratio=0.0, alphas=[1.0, 0.1], tol=1e-10)
    assert res.alpha_max == np.inf and np.all(res.coefs[:, 1] != 0)


def test_coef_formats_and_dtypes(monkeypatch):
    X, y = make_regression_problem(n_samples=50, n_features=60, seed=19)
    dense = lasso_path(X, y, n_alphas=10, coef_format="dense")
    sparse = lasso_path(X, y, n_alphas=10, coef_format="sparse")
    assert sp.issparse(sparse.coefs) and sparse.coefs.format == "csc"
    assert sparse.coefs.shape == dense.coefs.shape == (60, 10)
    assert_array_equal(sparse.coefs.toarray(), dense.coefs)
    assert sparse.coefs.nnz == np.count_nonzero(dense.coefs)
    assert not sp.issparse(lasso_path(X, y, n_alphas=3).coefs)  # auto: small p is dense
    monkeypatch.setattr(fpath, "AUTO_SPARSE_MIN_FEATURES", 50)
    assert sp.issparse(lasso_path(X, y, n_alphas=3).coefs)
    # float32 X: coefficients in float32, X used as is.
    res32 = lasso_path(X.astype(np.float32), y, n_alphas=10, coef_format="dense")
    assert res32.coefs.dtype == np.float32
    assert_allclose(res32.coefs, dense.coefs, atol=1e-3)
    res32s = lasso_path(X.astype(np.float32), y, n_alphas=4, coef_format="sparse")
    assert res32s.coefs.dtype == np.float32
    # scipy sparse arrays in, sparse arrays out.
    res_arr = lasso_path(sp.csc_array(X), y, n_alphas=4, coef_format="sparse")
    assert isinstance(res_arr.coefs, sp.sparray)
    with pytest.raises(ValueError, match="coef_format"):
        lasso_path(X, y, coef_format="csr")


def test_result_object_is_sklearn_compatible():
    X, y = make_regression_problem(n_samples=30, n_features=20, seed=23)
    res = enet_path(X, y, n_alphas=4, return_n_iter=True)
    assert isinstance(res, PathResult) and isinstance(res, tuple) and len(res) == 4
    alphas, coefs, gaps, n_iters = res
    assert alphas is res.alphas and coefs is res.coefs and n_iters is res.n_iters
    assert res.intercepts.shape == gaps.shape == (4,)
    again = pickle.loads(pickle.dumps(res))
    assert len(again) == 4 and isinstance(again, PathResult)
    assert_array_equal(again.intercepts, res.intercepts)
    assert len(enet_path(X, y, n_alphas=4)) == 3
    # alphas=<int> is the number of alphas (scikit-learn >= 1.7).
    assert len(enet_path(X, y, alphas=3).alphas) == 3
    with pytest.raises(TypeError):
        lasso_path(X, y, l1_ratio=0.5)
    with pytest.raises(ValueError, match="non-negative"):
        lasso_path(X, y, alphas=[0.1, -1.0])


def test_warm_start_coef_init():
    X, y = make_regression_problem(n_samples=40, n_features=30, seed=29)
    full = lasso_path(X, y, n_alphas=6, tol=1e-10)
    rest = lasso_path(X, y, alphas=full.alphas[3:], coef_init=full.coefs[:, 2], tol=1e-10)
    assert_allclose(rest.coefs, full.coefs[:, 3:], atol=1e-6)
    with pytest.raises(ValueError, match="coef_init"):
        lasso_path(X, y, coef_init=np.zeros(3))


def test_early_stopping():
    X, y = make_regression_problem(n_samples=40, n_features=200, noise=0.0, seed=31)
    full = lasso_path(X, y, n_alphas=100, eps=1e-4, tol=1e-8)
    assert len(full.alphas) == 100  # off by default
    stopped = lasso_path(X, y, n_alphas=100, eps=1e-4, tol=1e-8, early_stopping=True)
    m = len(stopped.alphas)
    assert fpath.EARLY_STOP_MIN_ALPHAS <= m < 100
    assert_allclose(stopped.coefs, full.coefs[:, :m])
    d = stopped.dev_ratios
    last_ok = (d[-1] - d[-2] < fpath.EARLY_STOP_FDEV * d[-1]) or (
        d[-1] > fpath.EARLY_STOP_DEVMAX)
    assert last_ok
    for k in range(fpath.EARLY_STOP_MIN_ALPHAS - 1, m - 1):  # no earlier stop was due
        assert d[k] - d[k - 1] >= fpath.EARLY_STOP_FDEV * d[k]
        assert d[k] <= fpath.EARLY_STOP_DEVMAX


def test_callback_and_verbose(capsys):
    X, y = make_regression_problem(n_samples=30, n_features=20, seed=37)
    seen = []

    def callback(progress):
        seen.append(progress)
        return progress.index == 2  # stop after the third alpha

    res = lasso_path(X, y, n_alphas=10, callback=callback)
    assert len(res.alphas) == 3 and res.coefs.shape == (20, 3)
    assert [s.index for s in seen] == [0, 1, 2]
    assert all(s.n_alphas == 10 for s in seen)
    assert_allclose([s.alpha for s in seen], res.alphas)
    assert_allclose([s.dual_gap for s in seen], res.dual_gaps)
    assert [s.n_nonzero for s in seen] == list(res.n_nonzero)
    assert all(s.ws_size == 0 or s.ws_size >= s.n_nonzero for s in seen)
    assert max(s.ws_size for s in seen) > 0
    elapsed = [s.elapsed for s in seen]
    assert elapsed == sorted(elapsed) and elapsed[0] >= 0
    assert not res.interrupted
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lasso_path(X, y, n_alphas=3, verbose=1)  # tqdm bar or printed lines, no warning
    with pytest.raises(TypeError, match="callable"):
        lasso_path(X, y, callback=3)


@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.7])
def test_gram_solves_along_the_path_match_the_plain_kernel(monkeypatch, fit_intercept,
                                                          weighted, l1_ratio):
    # The Gram (covariance) inner solver on every working set it may take: the path must be certified and equal, to the certified
    # accuracy, to the same path with the Gram cache disabled.
    import fastsparse._gram_cd as GC

    rng = np.random.default_rng(11)
    X = sp.random(300, 80, density=0.5, format="csc", random_state=12)
    y = X @ rng.standard_normal(80) + 0.5 * rng.standard_normal(300)
    sw = _weights(300, seed=4) if weighted else None
    calls = {"gram": 0}
    original = GC.gram_inner_solve

    def counting(*args):
        calls["gram"] += 1
        return original(*args)

    monkeypatch.setattr(GC, "gram_inner_solve", counting)
    # Use it wherever it is allowed (its cost model only decides speed, not results).
    monkeypatch.setattr(GC, "gram_is_cheaper", lambda *a, **k: True)
    kw = dict(l1_ratio=l1_ratio, n_alphas=30, eps=1e-3, tol=1e-10, sample_weight=sw,
              fit_intercept=fit_intercept)
    with_gram = enet_path(X, y, **kw)
    assert calls["gram"] > 0
    monkeypatch.setattr(fpath, "path_gram_budget", lambda pb: 0)
    calls["gram"] = 0
    plain = enet_path(X, y, **kw)
    assert calls["gram"] == 0
    bound = 1e-10 * _null_deviance_over_n(y, sw, fit_intercept)
    assert np.all(with_gram.dual_gaps <= bound) and np.all(with_gram.converged)
    for k, alpha in enumerate(with_gram.alphas):
        # Independent certificate of the Gram path's solution.
        assert ref.duality_gap(X, y, with_gram.coefs[:, k], alpha, l1_ratio, sw,
                               fit_intercept=fit_intercept) <= 1.01 * bound + 1e-14
        # Both paths are certified: their objectives differ by at most the two gaps.
        p_gram = ref.objective(X, y, with_gram.coefs[:, k], with_gram.intercepts[k],
                               alpha, l1_ratio, sw)
        p_plain = ref.objective(X, y, plain.coefs[:, k], plain.intercepts[k], alpha,
                                l1_ratio, sw)
        assert abs(p_gram - p_plain) <= (with_gram.dual_gaps[k] + plain.dual_gaps[k]
                                         + 1e-12 * p_plain)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_tol_scale_objective_certifies_the_relative_gap(fit_intercept):
    # tol_scale="objective": every alpha stops at G <= tol * P(w) (the relative duality
    # gap that benchmarks ask for), checked with an independent gap and objective.
    X, y = make_regression_problem(n_samples=80, n_features=120, seed=9)
    tol = 1e-6
    res = lasso_path(X, y, n_alphas=20, eps=1e-3, tol=tol, tol_scale="objective",
                     fit_intercept=fit_intercept)
    assert np.all(res.converged)
    for k, alpha in enumerate(res.alphas):
        primal = ref.objective(X, y, res.coefs[:, k], res.intercepts[k], alpha, 1.0)
        gap = ref.duality_gap(X, y, res.coefs[:, k], alpha, 1.0,
                              fit_intercept=fit_intercept)
        assert gap <= 1.01 * tol * primal + 1e-15
        assert res.dual_gaps[k] <= tol * primal * (1 + 1e-9)
    # The default scale is the null deviance: at the small alphas, where the objective is
    # far below it, the same tol leaves relative gaps above tol.
    loose = lasso_path(X, y, n_alphas=20, eps=1e-3, tol=1e-4, fit_intercept=fit_intercept)
    rel = [loose.dual_gaps[k] / ref.objective(X, y, loose.coefs[:, k], loose.intercepts[k],
                                              a, 1.0) for k, a in enumerate(loose.alphas)]
    strict = lasso_path(X, y, n_alphas=20, eps=1e-3, tol=1e-4, tol_scale="objective",
                        fit_intercept=fit_intercept)
    rel_strict = [strict.dual_gaps[k] / ref.objective(X, y, strict.coefs[:, k],
                                                       strict.intercepts[k], a, 1.0)
                  for k, a in enumerate(strict.alphas)]
    assert max(rel_strict) <= 1e-4 * (1 + 1e-9) < max(rel)


def test_tol_scale_is_validated():
    X, y = make_regression_problem(n_samples=20, n_features=10, seed=1)
    with pytest.raises(ValueError, match="tol_scale"):
        lasso_path(X, y, tol_scale="relative")


def test_grid_of_small_units_is_not_taken_for_rounding_noise():
    # X and y in units of 1e-8: alpha_max is about 1e-16, below scikit-learn's fixed
    # degenerate-grid cutoff (1e-15), which gave a flat grid of all-zero fits.
    rng = np.random.default_rng(0)
    X = sp.random(50, 30, density=0.3, format="csc", random_state=0)
    y = X @ rng.standard_normal(30) + 0.1 * rng.standard_normal(50)
    ref = fastsparse.lasso_path(X, y, n_alphas=8, coef_format="dense", tol=1e-10)
    s = 1e-8
    small = fastsparse.lasso_path(X * s, y * s, n_alphas=8, coef_format="dense", tol=1e-10)
    assert ref.alphas[0] * s * s < np.finfo(np.float64).resolution
    assert_allclose(small.alphas, ref.alphas * s * s, rtol=1e-12)
    assert np.count_nonzero(small.coefs[:, -1]) > 0
    assert_allclose(small.coefs, ref.coefs, rtol=1e-6, atol=1e-9)
    assert_allclose(fastsparse.alpha_grid(X * s, y * s, n_alphas=8), small.alphas)
    cv = fastsparse.LassoCV(n_alphas=8, cv=3).fit(X * s, y * s)
    assert_allclose(cv.alphas_, ref.alphas * s * s, rtol=1e-12)
    # A constant y still gets scikit-learn's flat grid (its centered values are noise).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        flat = fastsparse.lasso_path(X, np.full(50, 3.7), n_alphas=4, coef_format="dense")
    assert_array_equal(flat.alphas, np.full(4, np.finfo(np.float64).resolution))
    assert not np.any(flat.coefs)


@pytest.mark.parametrize("c", [3.7, -2.0, 1e10])
def test_constant_target_gives_zero_coefficients_without_warnings(c):
    # y - mean(y) is rounding noise for a constant y: it used to be fitted, every alpha
    # of the (flat) path running 100 iterations and warning.
    X = sp.random(50, 30, density=0.3, format="csc", random_state=0)
    y = np.full(50, c)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = fastsparse.lasso_path(X, y, n_alphas=4, coef_format="dense")
        model = fastsparse.Lasso(alpha=1e-3).fit(X, y)
        # Constant on the rows of positive weight only (a CV fold's training rows).
        sw = np.r_[np.ones(25), np.zeros(25)]
        y_fold = np.r_[np.full(25, c), np.linspace(-1.0, 1.0, 25)]
        fold = fastsparse.Lasso(alpha=1e-3).fit(X, y_fold, sample_weight=sw)
    assert not np.any(path.coefs) and np.all(path.dual_gaps == 0)
    assert not np.any(model.coef_) and model.dual_gap_ == 0
    assert_allclose(model.intercept_, c, rtol=1e-15)
    assert not np.any(fold.coef_)
    assert_allclose(fold.intercept_, c, rtol=1e-15)
