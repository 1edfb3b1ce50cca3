"""scikit-learn API compliance and input validation of the estimators."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.utils.estimator_checks import parametrize_with_checks

from fastsparse import ElasticNet, Lasso
from fastsparse._validation import check_csc

from conftest import make_regression_problem


@parametrize_with_checks([Lasso(), ElasticNet(), Lasso(fit_intercept=False, positive=True)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_canonical_csc_is_not_copied():
    X, _ = make_regression_problem()
    out = check_csc(X)
    assert out.data is X.data and out.indices is X.indices and out.indptr is X.indptr
    X32 = X.astype(np.float32)
    out = check_csc(X32)
    assert out.data is X32.data and out.dtype == np.float32


def test_fit_uses_caller_arrays(monkeypatch):
    # The kernels must receive the caller's arrays themselves, not copies.
    import fastsparse.linear_model as lm

    seen = {}
    real = lm.prepare_problem

    def spy(X, *args, **kwargs):
        seen["X"] = X
        return real(X, *args, **kwargs)

    monkeypatch.setattr(lm, "prepare_problem", spy)
    X, y = make_regression_problem()
    Lasso(alpha=0.1).fit(X, y)
    assert seen["X"].data is X.data and seen["X"].indices is X.indices


def _bad_csc(kind):
    X, _ = make_regression_problem(n_samples=20, n_features=10)
    data, indices, indptr = X.data.copy(), X.indices.copy(), X.indptr.copy()
    if kind == "indptr_not_monotone":
        indptr[3], indptr[4] = indptr[4], indptr[3]
        assert indptr[3] > indptr[4]
    elif kind == "index_out_of_range":
        indices[0] = 20
    elif kind == "negative_index":
        indices[-1] = -1
    elif kind == "indptr_start":
        indptr = indptr + 1
    elif kind == "indptr_too_long":
        indptr[-1] = len(data) + 5
    M = sp.csc_matrix(X.shape)
    M.data, M.indices, M.indptr = data, indices, indptr  # bypass scipy's own checks
    return M


@pytest.mark.parametrize("kind,match", [
    ("indptr_not_monotone", "indptr is not non-decreasing"),
    ("index_out_of_range", "row indices must lie in"),
    ("negative_index", "row indices must lie in"),
    ("indptr_start", "indptr\\[0\\]"),
    ("indptr_too_long", "exceeds the length"),
])
def test_malformed_csc_raises(kind, match):
    X = _bad_csc(kind)
    y = np.zeros(X.shape[0])
    with pytest.raises(ValueError, match=match):
        Lasso(alpha=0.1).fit(X, y)


def test_malformed_csr_raises_before_conversion():
    X, y = make_regression_problem(n_samples=20, n_features=10)
    R = X.tocsr()
    M = sp.csr_matrix(R.shape)
    indices = R.indices.copy()
    indices[0] = 10_000  # column index far out of range
    M.data, M.indices, M.indptr = R.data.copy(), indices, R.indptr.copy()
    with pytest.raises(ValueError, match="column indices must lie in"):
        Lasso(alpha=0.1).fit(M, y)


def _problem():
    return make_regression_problem(n_samples=30, n_features=12)


@pytest.mark.parametrize("mutate,error,match", [
    (lambda X, y, kw: (X.__setattr__("data", np.where(np.arange(X.nnz) == 0, np.nan,
                                                       X.data)), y, kw)[1:],
     ValueError, "NaN"),
    (lambda X, y, kw: (np.r_[np.inf, y[1:]], kw), ValueError, "infinity"),
    (lambda X, y, kw: (y[:-1], kw), ValueError, "entries but X has"),
    (lambda X, y, kw: (y, {**kw, "sample_weight": -np.ones(len(y))}), ValueError,
     "non-negative"),
    (lambda X, y, kw: (y, {**kw, "sample_weight": np.zeros(len(y))}), ValueError,
     "all zero"),
    (lambda X, y, kw: (y, {**kw, "sample_weight": np.ones(3)}), ValueError,
     "sample_weight must have shape"),
    (lambda X, y, kw: (y, {**kw, "sample_weight": np.r_[np.nan, np.ones(len(y) - 1)]}),
     ValueError, "sample_weight contains NaN"),
])
def test_bad_data_raises(mutate, error, match):
    X, y = _problem()
    y, kw = mutate(X, y, {})
    with pytest.raises(error, match=match):
        Lasso(alpha=0.1).fit(X, y, **kw)


@pytest.mark.parametrize("params,error,match", [
    (dict(alpha=-1.0), ValueError, "alpha must be in"),
    (dict(alpha="big"), TypeError, "alpha must be a real number"),
    (dict(alpha=np.nan), ValueError, "alpha must be finite"),
    (dict(l1_ratio=1.5), ValueError, "l1_ratio must be in"),
    (dict(tol=-1e-3), ValueError, "tol must be in"),
    (dict(max_iter=0), ValueError, "max_iter must be in"),
    (dict(max_iter=2.5), TypeError, "max_iter must be an integer"),
    (dict(penalty_factor=np.ones(5)), ValueError, "penalty_factor must have shape"),
    (dict(penalty_factor=-np.ones(12)), ValueError, "penalty_factor must be non-neg"),
    (dict(penalty_factor=np.r_[np.inf, np.ones(11)]), ValueError, "penalty_factor cont"),
])
def test_bad_parameters_raise(params, error, match):
    X, y = _problem()
    with pytest.raises(error, match=match):
        ElasticNet(**params).fit(X, y)


def test_non_numeric_input_raises_type_or_value_error():
    X, y = _problem()
    with pytest.raises((TypeError, ValueError)):
        Lasso().fit(np.array([["a", "b"], ["c", "d"]]), ["x", "y"])
    with pytest.raises(TypeError, match="sample_weight must be numeric"):
        Lasso().fit(X, y, sample_weight=np.array(["a"] * len(y)))


def test_too_many_unpenalized_features_raises():
    X = sp.random(10, 2001, density=0.5, format="csc", random_state=0)
    y = np.arange(10.0)
    with pytest.raises(ValueError, match="unpenalized"):
        Lasso(alpha=0.1, penalty_factor=np.zeros(2001)).fit(X, y)


def test_get_support_matches_nonzero_coef():
    X, y = make_regression_problem(n_samples=60, n_features=80)
    model = Lasso(alpha=0.05).fit(X, y)
    np.testing.assert_array_equal(model.get_support(), model.coef_ != 0)
    np.testing.assert_array_equal(model.get_support(indices=True),
                                  np.flatnonzero(model.coef_))
    assert 0 < model.get_support().sum() < X.shape[1]
