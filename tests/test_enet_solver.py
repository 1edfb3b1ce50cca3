"""Correctness of Lasso / ElasticNet against independent references.

References: scikit-learn's coordinate descent run to tol=1e-12, the closed-form duality gap
and KKT conditions of tests/reference.py, and exact identities (duplicated rows, column
rescaling).
"""

import itertools
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet as SkElasticNet

import fastsparse
from fastsparse import ElasticNet, Lasso

from conftest import make_regression_problem
from reference import (alpha_max, duality_gap, gap_from_dual_point, kkt_violation,
                       objective)


def sklearn_fit(X, y, alpha, l1_ratio, fit_intercept, sample_weight=None, positive=False):
    X64 = X.astype(np.float64)
    model = SkElasticNet(alpha=alpha, l1_ratio=l1_ratio, fit_intercept=fit_intercept,
                         positive=positive, tol=1e-12, max_iter=1_000_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X64, y, sample_weight=sample_weight)
    return model


GRID = list(itertools.product(
    [True, False],           # sparse X
    [True, False],           # fit_intercept
    [False, True],           # sample weights
    [False, True],           # positive
    [1.0, 0.5, 0.1],         # l1_ratio
    [0.5, 0.1, 0.01],        # alpha / alpha_max
))


@pytest.mark.parametrize("sparse,fit_intercept,weighted,positive,l1_ratio,ratio", GRID)
def test_objective_matches_sklearn(sparse, fit_intercept, weighted, positive, l1_ratio,
                                   ratio):
    X, y = make_regression_problem(seed=int(ratio * 100) + int(10 * l1_ratio))
    rng = np.random.default_rng(1)
    sw = rng.uniform(0.2, 3.0, X.shape[0]) if weighted else None
    alpha = ratio * alpha_max(X, y, l1_ratio, sw, fit_intercept)
    Xin = X if sparse else X.toarray()
    ours = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, fit_intercept=fit_intercept,
                      positive=positive, tol=1e-12).fit(Xin, y, sample_weight=sw)
    ref = sklearn_fit(X, y, alpha, l1_ratio, fit_intercept, sw, positive)
    p_ours = objective(X, y, ours.coef_, ours.intercept_, alpha, l1_ratio, sw)
    p_ref = objective(X, y, ref.coef_, ref.intercept_, alpha, l1_ratio, sw)
    assert p_ours <= p_ref * (1 + 1e-7)
    assert p_ref <= p_ours * (1 + 1e-7)
    # The reported certificate bounds the suboptimality against the reference.
    assert p_ours - p_ref <= ours.dual_gap_ + 1e-12 * abs(p_ref)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-5 * np.abs(ref.coef_).max())


@pytest.mark.parametrize("dtype,index_dtype", list(itertools.product(
    [np.float64, np.float32], [np.int32, np.int64])))
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_dtypes_and_index_types(dtype, index_dtype, l1_ratio):
    X, y = make_regression_problem(n_samples=80, n_features=120, seed=3)
    Xt = X.astype(dtype)
    Xt.indices = Xt.indices.astype(index_dtype)
    Xt.indptr = Xt.indptr.astype(index_dtype)
    alpha = 0.05 * alpha_max(X, y, l1_ratio)
    ours = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-10).fit(Xt, y)
    assert ours.coef_.dtype == dtype  # float32 stays float32
    # Reference on the same values in float64.
    X64 = sp.csc_matrix(Xt.astype(np.float64))
    ref = sklearn_fit(X64, y, alpha, l1_ratio, True)
    p_ours = objective(X64, y, ours.coef_, ours.intercept_, alpha, l1_ratio)
    p_ref = objective(X64, y, ref.coef_, ref.intercept_, alpha, l1_ratio)
    rtol = 1e-7 if dtype == np.float64 else 1e-5  # float32 coef_ is rounded on output
    assert abs(p_ours - p_ref) <= rtol * p_ref


def test_sample_weights_equal_duplicated_rows():
    X, y = make_regression_problem(n_samples=50, n_features=70, seed=5)
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 4, X.shape[0])
    counts[0] = 1  # at least one row
    X_dup = sp.csc_matrix(X.toarray().repeat(counts, axis=0))
    y_dup = y.repeat(counts)
    alpha = 0.05 * alpha_max(X_dup, y_dup)
    a = Lasso(alpha=alpha, tol=1e-12).fit(X, y, sample_weight=counts.astype(float))
    b = Lasso(alpha=alpha, tol=1e-12).fit(X_dup, y_dup)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(a.intercept_, b.intercept_, rtol=1e-8)


def test_integer_penalty_factor_equals_column_rescaling():
    # alpha * v_j |w_j| with x_j becomes alpha |u_j| with x_j / v_j and u_j = v_j w_j.
    X, y = make_regression_problem(n_samples=60, n_features=40, seed=7)
    v = np.random.default_rng(0).integers(1, 5, X.shape[1]).astype(float)
    alpha = 0.05 * alpha_max(X, y)
    a = Lasso(alpha=alpha, penalty_factor=v, tol=1e-12).fit(X, y)
    b = Lasso(alpha=alpha, tol=1e-12).fit(sp.csc_matrix(X @ sp.diags(1 / v)), y)
    np.testing.assert_allclose(a.coef_, b.coef_ / v, atol=1e-8)
    np.testing.assert_allclose(a.intercept_, b.intercept_, rtol=1e-8)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_zero_penalty_factor_leaves_features_unpenalized(l1_ratio):
    X, y = make_regression_problem(n_samples=60, n_features=40, seed=8)
    v = np.ones(X.shape[1])
    free = [0, 5, 17]
    v[free] = 0.0
    # Large alpha: every penalized feature is zero, the free ones are least squares.
    alpha = 10 * alpha_max(X, y, l1_ratio)
    model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, penalty_factor=v,
                       tol=1e-12).fit(X, y)
    assert np.all(model.coef_[v > 0] == 0)
    Xf = X[:, free].toarray()
    A = np.column_stack([Xf, np.ones(X.shape[0])])
    ls = np.linalg.lstsq(A, y, rcond=None)[0]
    w_ls = np.zeros(X.shape[1])
    w_ls[free] = ls[:-1]
    p_ours = objective(X, y, model.coef_, model.intercept_, alpha, l1_ratio,
                       penalty_factor=v)
    p_ls = objective(X, y, w_ls, ls[-1], alpha, l1_ratio, penalty_factor=v)
    assert p_ours - p_ls <= model.dual_gap_ + 1e-12 * p_ls
    # The objective is (1/2n)||A d||^2 away from optimal along the free directions, so
    # the certificate bounds the coefficient error by sqrt(2 n gap) / sigma_min(A).
    sigma_min = np.linalg.svd(A, compute_uv=False)[-1]
    bound = np.sqrt(2 * len(y) * (model.dual_gap_ + 1e-12 * p_ls)) / sigma_min
    err = np.r_[model.coef_[free] - ls[:-1], model.intercept_ - ls[-1]]
    assert np.linalg.norm(err) <= bound
    # And at a moderate alpha, the KKT conditions hold with the free features.
    alpha = 0.05 * alpha_max(X, y, l1_ratio)
    model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, penalty_factor=v,
                       tol=1e-12).fit(X, y)
    assert kkt_violation(X, y, model.coef_, alpha, l1_ratio, penalty_factor=v) < 1e-5


@pytest.mark.parametrize("fit_intercept,weighted,positive,l1_ratio", list(itertools.product(
    [True, False], [False, True], [False, True], [1.0, 0.5, 0.1])))
def test_reported_gap_and_kkt(fit_intercept, weighted, positive, l1_ratio):
    X, y = make_regression_problem(n_samples=70, n_features=90, seed=11)
    sw = np.random.default_rng(2).uniform(0.5, 2, X.shape[0]) if weighted else None
    alpha = 0.05 * alpha_max(X, y, l1_ratio, sw, fit_intercept)
    kw = dict(alpha=alpha, l1_ratio=l1_ratio, fit_intercept=fit_intercept,
              positive=positive)
    # Loose tolerance: the gap is then large enough to compare meaningfully.
    loose = ElasticNet(tol=1e-3, **kw).fit(X, y, sample_weight=sw)
    # The reported gap is P(coef) - D(dual_point_), recomputed here in dense numpy (with
    # a feasibility check of the dual point) ...
    indep = gap_from_dual_point(X, y, loose.coef_, loose.dual_point_, alpha, l1_ratio,
                                sw, fit_intercept, positive=positive)
    np.testing.assert_allclose(loose.dual_gap_, indep, rtol=1e-6, atol=1e-14)
    # ... and is at least as tight as the gap of the rescaled residual.
    resid = duality_gap(X, y, loose.coef_, alpha, l1_ratio, sw, fit_intercept,
                        positive=positive)
    # (up to the rounding of a difference of two objective-sized numbers)
    p_loose = objective(X, y, loose.coef_, loose.intercept_, alpha, l1_ratio, sw)
    assert loose.dual_gap_ <= resid + 1e-12 * p_loose
    # The intercept is the optimal one for coef_.
    s = np.ones(len(y)) if sw is None else sw
    if fit_intercept:
        expect = np.average(y - X @ loose.coef_, weights=s)
        np.testing.assert_allclose(loose.intercept_, expect, rtol=1e-10, atol=1e-12)
    tight = ElasticNet(tol=1e-12, **kw).fit(X, y, sample_weight=sw)
    assert kkt_violation(X, y, tight.coef_, alpha, l1_ratio, sw, fit_intercept,
                         positive=positive) < 1e-5
    null_dev = np.sum(s * (y - (np.average(y, weights=s) if fit_intercept else 0)) ** 2)
    assert tight.dual_gap_ <= 1e-12 * null_dev / len(y)


def test_screening_on_and_off_agree():
    X, y = make_regression_problem(n_samples=100, n_features=400, density=0.05, seed=13)
    alpha = 0.1 * alpha_max(X, y)
    on = Lasso(alpha=alpha, tol=1e-12, screening=True).fit(X, y)
    off = Lasso(alpha=alpha, tol=1e-12, screening=False).fit(X, y)
    assert on.n_screened_ > 0  # the test means something only if screening acted
    assert off.n_screened_ <= on.n_screened_
    np.testing.assert_allclose(on.coef_, off.coef_, atol=1e-9)
    np.testing.assert_allclose(on.intercept_, off.intercept_, atol=1e-9)


def test_alpha_above_alpha_max_gives_zero():
    X, y = make_regression_problem(seed=2)
    model = Lasso(alpha=1.01 * alpha_max(X, y)).fit(X, y)
    assert np.all(model.coef_ == 0)
    np.testing.assert_allclose(model.intercept_, y.mean())


def test_warm_start_reuses_solution():
    X, y = make_regression_problem(n_samples=100, n_features=300, seed=4)
    alpha = 0.02 * alpha_max(X, y)
    model = Lasso(alpha=alpha, tol=1e-10, warm_start=True).fit(X, y)
    first, first_epochs = model.coef_.copy(), model.n_epochs_
    model.fit(X, y)
    # Already optimal: certified after at most one cycle of epochs (the residual's dual
    # point may need one cycle to match the extrapolated one the first fit stopped on).
    assert model.n_iter_ <= 2 and model.n_epochs_ <= 6 < first_epochs
    np.testing.assert_allclose(model.coef_, first, atol=1e-9)
    cold = Lasso(alpha=alpha, tol=1e-10).fit(X, y)
    assert cold.n_epochs_ == first_epochs


def test_convergence_warning_reports_gap():
    X, y = make_regression_problem(n_samples=100, n_features=300, seed=4)
    alpha = 0.001 * alpha_max(X, y)
    with pytest.warns(ConvergenceWarning, match="duality gap"):
        Lasso(alpha=alpha, tol=1e-15, max_iter=1).fit(X, y)


def test_input_not_modified_and_read_only_ok():
    X, y = make_regression_problem(seed=6)
    data, indices, indptr, yc = (X.data.copy(), X.indices.copy(), X.indptr.copy(),
                                 y.copy())
    for arr in (X.data, X.indices, X.indptr, y):
        arr.flags.writeable = False
    sw = np.linspace(1, 2, len(y))
    sw_copy = sw.copy()
    Lasso(alpha=0.01, warm_start=True).fit(X, y, sample_weight=sw)
    np.testing.assert_array_equal(X.data, data)
    np.testing.assert_array_equal(X.indices, indices)
    np.testing.assert_array_equal(X.indptr, indptr)
    np.testing.assert_array_equal(y, yc)
    np.testing.assert_array_equal(sw, sw_copy)


def test_non_canonical_matrix_gives_canonical_answer():
    X, y = make_regression_problem(seed=9)
    coo = X.tocoo()
    # Split every entry in two halves (duplicates) and shuffle the order.
    rng = np.random.default_rng(0)
    order = rng.permutation(2 * coo.nnz)
    rows = np.concatenate([coo.row, coo.row])[order]
    cols = np.concatenate([coo.col, coo.col])[order]
    vals = np.concatenate([coo.data / 2, coo.data / 2])[order]
    dup = sp.coo_matrix((vals, (rows, cols)), shape=X.shape)
    # A CSC with duplicates and unsorted indices, built without canonicalising.
    order_c = np.lexsort((rng.random(len(cols)), cols))
    indptr = np.concatenate([[0], np.cumsum(np.bincount(cols, minlength=X.shape[1]))])
    messy = sp.csc_matrix((vals[order_c], rows[order_c], indptr), shape=X.shape)
    assert not messy.has_canonical_format
    snapshot = messy.data.copy(), messy.indices.copy()
    alpha = 0.05 * alpha_max(X, y)
    ref = Lasso(alpha=alpha, tol=1e-12).fit(X, y)
    for Xin in (dup, messy, dup.tocsr()):
        model = Lasso(alpha=alpha, tol=1e-12).fit(Xin, y)
        np.testing.assert_allclose(model.coef_, ref.coef_, atol=1e-10)
    np.testing.assert_array_equal(messy.data, snapshot[0])  # caller's arrays untouched
    np.testing.assert_array_equal(messy.indices, snapshot[1])


def test_intercept_with_large_offset():
    # Lazy centering must give the same intercept as explicit centering, even when the
    # mean dwarfs the signal.
    X, y = make_regression_problem(seed=10, offset=1e4)
    alpha = 0.05 * alpha_max(X, y)
    ours = Lasso(alpha=alpha, tol=1e-12).fit(X, y)
    ref = sklearn_fit(X, y, alpha, 1.0, True)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-10)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-6)


def test_empty_and_constant_columns():
    X, y = make_regression_problem(seed=12)
    X = X.tolil()
    X[:, 3] = 0.0
    X[:, 4] = 1.0  # constant: zero norm once centered
    X = X.tocsc()
    alpha = 0.01 * alpha_max(X, y)
    model = Lasso(alpha=alpha, tol=1e-12).fit(X, y)
    assert model.coef_[3] == 0 and model.coef_[4] == 0
    ref = sklearn_fit(X, y, alpha, 1.0, True)
    p_ours = objective(X, y, model.coef_, model.intercept_, alpha)
    p_ref = objective(X, y, ref.coef_, ref.intercept_, alpha)
    assert abs(p_ours - p_ref) <= 1e-7 * p_ref


def test_tol_zero_runs_to_max_iter_without_crashing():
    # tol=0 can never be certified; every feature may end up screened (empty working
    # set): the solver must stop at max_iter with a warning, not crash.
    X, y = make_regression_problem(seed=14)
    alpha = 2 * alpha_max(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = Lasso(alpha=alpha, tol=0.0, max_iter=5).fit(X, y)
    assert np.all(model.coef_ == 0) and model.n_iter_ <= 5


def test_working_set_selection_matches_argsort():
    from fastsparse._sparse_ops import smallest_k

    rng = np.random.default_rng(0)
    score = rng.standard_normal(1000)
    score[::7] = -np.inf
    cols = np.arange(5, 1005, dtype=np.int32)
    for k in (0, 1, 10, 143, 500, 1000):
        got = smallest_k(score, cols, 1000, k)
        expect = np.sort(cols[np.argsort(score, kind="stable")[:k]])
        if k and np.sum(score <= np.sort(score)[k - 1]) == k:  # no ties at the cut
            np.testing.assert_array_equal(got, expect)
        assert got.shape == (k,) and np.all(np.diff(got) > 0)


def test_heapsort_of_column_indices_matches_numpy():
    from fastsparse._sparse_ops import _heapsort

    rng = np.random.default_rng(1)
    for m in (0, 1, 2, 3, 17, 1000):
        for dtype in (np.int32, np.int64):
            a = rng.integers(0, max(m // 2, 1), m).astype(dtype)  # with repeats
            expect = np.sort(a)
            _heapsort(a)
            np.testing.assert_array_equal(a, expect)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
@pytest.mark.parametrize("free", [False, True])
def test_dual_extrapolation_option_gives_a_valid_certificate(l1_ratio, free):
    from fastsparse._solver import prepare_problem, solve_enet

    X, y = make_regression_problem(n_samples=80, n_features=100, seed=3)
    v = None
    if free:
        v = np.ones(X.shape[1])
        v[[1, 7]] = 0.0
    alpha = 0.05 * alpha_max(X, y, l1_ratio)
    pb = prepare_problem(X, y, None, True)
    res = solve_enet(X, pb, alpha, l1_ratio, v, tol=1e-10, dual_extrapolation=True)
    assert res.converged
    indep = gap_from_dual_point(X, y, res.coef, res.dual_point, alpha, l1_ratio,
                                penalty_factor=v)
    np.testing.assert_allclose(res.dual_gap, indep, rtol=1e-4, atol=1e-14)
    assert kkt_violation(X, y, res.coef, alpha, l1_ratio, penalty_factor=v) < 1e-4


def test_ws_init_seed_does_not_change_the_solution():
    from fastsparse._solver import prepare_problem, solve_enet

    X, y = make_regression_problem(n_samples=80, n_features=300, density=0.1, seed=21)
    alpha = 0.05 * alpha_max(X, y)
    pb = prepare_problem(X, y, None, True)
    ref = solve_enet(X, pb, alpha, 1.0, None, tol=1e-12)
    # A seed that is wrong on purpose (features far from the support) and a good one.
    wrong = np.argsort(np.abs(ref.coef))[:50]
    good = np.flatnonzero(ref.coef)
    for seed in (wrong, good):
        res = solve_enet(X, pb, alpha, 1.0, None, tol=1e-12, ws_init=seed)
        np.testing.assert_allclose(res.coef, ref.coef, atol=1e-9)
        assert res.dual_gap <= 1e-12 * np.sum((y - y.mean()) ** 2) / len(y)


@pytest.mark.parametrize("fit_intercept,weighted", [(True, False), (False, True)])
def test_returned_gradient_is_the_final_correlation(fit_intercept, weighted):
    from fastsparse._solver import _usable_features, prepare_problem, solve_enet
    from reference import centered

    X, y = make_regression_problem(n_samples=70, n_features=200, density=0.1, seed=23)
    sw = np.random.default_rng(3).uniform(0.5, 2, len(y)) if weighted else None
    pb = prepare_problem(X, y, None if sw is None else sw * len(y) / sw.sum(),
                         fit_intercept)
    res = solve_enet(X, pb, 0.05 * alpha_max(X, y, 1.0, sw, fit_intercept), 1.0, None,
                     tol=1e-10)
    Xc, yc, s = centered(X, y, sw, fit_intercept)
    expect = Xc.T @ (s * (yc - Xc @ res.coef))
    usable = _usable_features(pb)
    np.testing.assert_allclose(res.gradient, expect[usable], rtol=1e-9, atol=1e-9)


def test_centered_norm_of_a_large_mean_column_is_not_cancelled():
    # Unix timestamps within an hour: b - a^2/n cancels to ~1e-13 b and used to be
    # taken for a constant column, dropped from the fit and from the certificate.
    from fastsparse import _sparse_ops as S

    rng = np.random.default_rng(0)
    n = 30
    t = 1.7e9 + rng.integers(0, 3600, n).astype(float)
    sparse_col = np.where(rng.random(n) < 0.5, 0.0, t)
    const = np.full(n, 1.7e9)
    X = sp.csc_matrix(np.c_[t, sparse_col, const])
    sw = rng.uniform(0.5, 2.0, n)
    sw *= n / sw.sum()
    for weighted, s in ((False, np.ones(n)), (True, sw)):
        xbar, sq = S.column_stats(X.data, X.indices, X.indptr, np.arange(3), n, s,
                                  weighted, True)
        dense = X.toarray()
        mean = s @ dense / n
        ref = s @ (dense - mean) ** 2
        np.testing.assert_allclose(xbar, mean, rtol=1e-14)
        np.testing.assert_allclose(sq[:2], ref[:2], rtol=1e-9)
        assert sq[2] == 0.0  # truly constant: exactly zero


@pytest.mark.parametrize("weighted", [False, True])
def test_large_mean_dense_column_is_solved_and_certified(weighted):
    # Lazy centering cancelled catastrophically on such a column (gradient lost to
    # rounding, gap stuck); columns stored in every row are now centered explicitly and
    # the dual point is re-centered exactly.
    from sklearn.linear_model import Lasso as SkLasso

    rng = np.random.default_rng(0)
    n = 30
    t = 1.7e9 + rng.integers(0, 3600, n).astype(float)
    other = rng.standard_normal(n)
    X = np.c_[t, other]
    y = 0.01 * (t - t.mean()) + 0.1 * other + 0.01 * rng.standard_normal(n)
    sw = rng.uniform(0.0, 2.0, n) if weighted else None
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        ours = Lasso(alpha=1e-3, tol=1e-10).fit(sp.csc_matrix(X), y, sample_weight=sw)
    ref = SkLasso(alpha=1e-3, tol=1e-12, max_iter=100_000).fit(X, y, sample_weight=sw)
    s = np.ones(n) if sw is None else sw * n / sw.sum()

    def objective(w, b):
        return 0.5 * np.mean(s * (y - X @ w - b) ** 2) + 1e-3 * np.abs(w).sum()

    p_ours = objective(ours.coef_, ours.intercept_)
    p_ref = objective(ref.coef_, ref.intercept_)
    assert p_ours - p_ref <= ours.dual_gap_ + 1e-9 * p_ref
    ybar = np.average(y, weights=s)
    assert ours.dual_gap_ <= 1e-10 * np.average((y - ybar) ** 2, weights=s)  # tol met
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-5)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-9)
    # The same column held in a path and in a sparse matrix with other, sparse columns.
    Xs = sp.hstack([sp.csc_matrix(X), sp.random(n, 20, density=0.2, random_state=0)],
                   format="csc")
    res = fastsparse.lasso_path(Xs, y, n_alphas=5, eps=1e-2, tol=1e-10, sample_weight=sw)
    assert np.all(res.converged)


def test_float32_coefficients_beyond_float32_range_stay_float64():
    rng = np.random.default_rng(0)
    X = sp.csc_matrix(rng.uniform(1, 2, (20, 3)) * 1e-20, dtype=np.float32)
    y = rng.standard_normal(20) * 1e20  # the solution is ~1e40 > float32 max 3.4e38
    with pytest.warns(UserWarning, match="exceed the range of float32"):
        model = Lasso(alpha=1e-6).fit(X, y)
    assert model.coef_.dtype == np.float64
    assert np.all(np.isfinite(model.coef_)) and np.max(np.abs(model.coef_)) > 3.5e38
    # In range: float32 as before.
    Xs, ys = make_regression_problem()
    assert Lasso(alpha=0.1).fit(Xs.astype(np.float32), ys).coef_.dtype == np.float32


@pytest.mark.parametrize("spread", [1e-6, 1e-8])
@pytest.mark.parametrize("weighted", [False, True])
def test_unpenalized_large_mean_column_certificate(spread, weighted):
    # An unpenalized column with a large mean and a small spread (a timestamp): its
    # centered Gram matrix and the projection of the dual point cancelled
    # catastrophically (gap +inf at the optimum at spread 1e-6; at 1e-8 a gap of 0
    # for an answer 1.1e-9 above the optimum). Reference: for a fixed penalized
    # coefficient w_1 the free one is least squares on the explicitly centered column,
    # leaving a 1-D convex problem in w_1, minimized by scipy to ~1e-15.
    from scipy.optimize import minimize_scalar

    rng = np.random.default_rng(1)
    n = 30
    t = 3.0 * (1 + spread * rng.standard_normal(n))
    other = rng.standard_normal(n)
    y = (t - t.mean()) / spread + 0.5 * other + 0.1 * rng.standard_normal(n)
    sw = rng.uniform(0.5, 2.0, n) if weighted else None
    s = np.ones(n) if sw is None else sw * n / sw.sum()
    alpha = 1e-3

    def centered(v):
        return v - (s @ v) / n

    tc, oc, yc = centered(t), centered(other), centered(y)

    def objective_c(w0, w1):  # the intercept is optimal for (w0, w1): centered form
        r = yc - tc * w0 - oc * w1
        return 0.5 * np.sum(s * r ** 2) / n + alpha * abs(w1)

    def best_w0(w1):
        return np.sum(s * tc * (yc - oc * w1)) / np.sum(s * tc ** 2)

    res = minimize_scalar(lambda w1: objective_c(best_w0(w1), w1), bracket=(0.0, 1.0),
                          tol=1e-12)
    p_ref = objective_c(best_w0(res.x), res.x)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = Lasso(alpha=alpha, penalty_factor=[0.0, 1.0], tol=1e-8).fit(
            sp.csc_matrix(np.c_[t, other]), y, sample_weight=sw)
    p_ours = objective_c(*model.coef_)
    assert np.isfinite(model.dual_gap_)
    assert p_ours - p_ref <= model.dual_gap_ + 1e-12 * p_ref  # the gap certifies
    assert model.dual_gap_ <= 1e-8 * np.sum(s * yc ** 2) / n * (1 + 1e-9)


@pytest.mark.parametrize("fit_intercept,weighted", [(True, False), (True, True),
                                                    (False, False)])
def test_positive_with_unpenalized_features_matches_nnls(fit_intercept, weighted):
    # positive=True with unpenalized features: those at 0 have the one-sided dual
    # constraint x_j^T theta <= 0 (projecting onto "= 0" kept the gap from closing).
    # Reference: with w >= 0 the objective is the smooth 1/(2n)||b - A w||^2 + c^T w
    # (A = S^1/2 X_c, c = alpha v), and completing the square gives an NNLS problem
    # min ||A w - b'||, b' = b - n A (A^T A)^-1 c, solved exactly by scipy's nnls.
    from scipy.optimize import nnls

    rng = np.random.default_rng(5)
    n, p = 80, 8
    X = rng.standard_normal((n, p))
    w_true = np.array([1.0, -2.0, 0.0, 0.5, -0.7, 0.0, 1.5, -0.3])
    y = X @ w_true + 0.1 * rng.standard_normal(n) + 3.0
    v = np.array([1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0])  # free: 1, 3, 4, 7
    sw = rng.uniform(0.5, 2.0, n) if weighted else None
    s = np.ones(n) if sw is None else sw * n / sw.sum()
    alpha = 0.05
    Xc, yc = (X - s @ X / n, y - s @ y / n) if fit_intercept else (X, y)
    A, b = np.sqrt(s)[:, None] * Xc, np.sqrt(s) * yc
    w_ref = nnls(A, b - n * A @ np.linalg.solve(A.T @ A, alpha * v))[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = Lasso(alpha=alpha, positive=True, penalty_factor=v, tol=1e-10,
                      fit_intercept=fit_intercept).fit(sp.csc_matrix(X), y,
                                                       sample_weight=sw)
    assert model.n_epochs_ < 5_000  # was 50,000 per outer iteration

    def objective_c(w):
        return 0.5 * np.sum((b - A @ w) ** 2) / n + alpha * v @ w

    assert np.all(model.coef_ >= 0)
    assert model.coef_[1] == 0.0 and model.coef_[4] == 0.0  # free, want w < 0
    assert objective_c(model.coef_) - objective_c(w_ref) <= model.dual_gap_ + 1e-14
    np.testing.assert_allclose(model.coef_, w_ref, atol=1e-5)


def test_unpenalized_exact_fit_gap_is_not_infinite():
    # Found by the slow properties: the unpenalized feature fits y exactly (n = 2 with an
    # intercept), the primal is ~1e-32 and the gap a cancellation of two values
    # ~||y||^2 / 2 (-1.1e-16): it was taken for an infeasible dual point (+inf, 100
    # iterations, ConvergenceWarning). Reference: the exact fit, objective 0.
    X = sp.csc_matrix((np.array([1.3040000451301372, 0.9470809631292422]),
                       np.array([1, 1], np.int32), np.array([0, 1, 2], np.int32)),
                      shape=(2, 2))
    y = np.array([3.013876100293617, 4.0055806679126045])
    v = np.array([1.6938216942518727, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        m = ElasticNet(alpha=0.3232957002327307, l1_ratio=1.0, penalty_factor=v,
                       tol=1e-3).fit(X, y)
    assert m.dual_gap_ <= 1e-14 and m.n_iter_ <= 3
    assert m.coef_[0] == 0.0
    np.testing.assert_allclose(m.predict(X), y, rtol=1e-14)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_tol_scale_objective_bounds_the_relative_gap(fit_intercept, l1_ratio):
    # A small alpha: the objective is far below the null model's, where the default
    # criterion (relative to the null deviance) is loose. tol_scale="objective" must
    # reach G <= tol * P, with G and P computed here from the returned coefficients.
    X, y = make_regression_problem(n_samples=80, n_features=60, noise=0.5, seed=21)
    alpha = alpha_max(X, y, l1_ratio, fit_intercept=fit_intercept) / 300
    tol = 1e-7
    cls = Lasso if l1_ratio == 1.0 else ElasticNet
    extra = {} if l1_ratio == 1.0 else dict(l1_ratio=l1_ratio)
    model = cls(alpha=alpha, tol=tol, tol_scale="objective", fit_intercept=fit_intercept,
                max_iter=10_000, **extra).fit(X, y)
    primal = objective(X, y, model.coef_, model.intercept_, alpha, l1_ratio)
    gap = duality_gap(X, y, model.coef_, alpha, l1_ratio, fit_intercept=fit_intercept)
    assert model.dual_gap_ <= tol * primal * (1 + 1e-9)
    assert gap <= tol * primal * (1 + 1e-6)
    ybar = y.mean() if fit_intercept else 0.0
    null_obj = 0.5 * np.mean((y - ybar) ** 2)
    assert primal < 0.2 * null_obj  # the two criteria differ on this problem
    with pytest.raises(ValueError, match="tol_scale"):
        cls(alpha=alpha, tol_scale="relative", **extra).fit(X, y)
