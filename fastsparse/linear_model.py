"""scikit-learn estimators for L1 / elastic-net least squares on sparse data."""

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ._interrupt import restore_on_interrupt
from ._solver import prepare_problem, solve_enet
from ._support import SupportMixin
from ._validation import (
    check_bool_param,
    check_csc,
    check_penalty_factor,
    check_sample_weight,
    check_scalar_param,
    check_sparse_structure,
    check_target,
    check_tol_scale,
)

_TOL_DOC = """\
    tol : float, default=1e-4
        Stopping tolerance, relative to the null model: the fit stops when the duality
        gap G of the objective above satisfies ``G <= tol * sum_i s_i (y_i - ybar)^2 / n``
        (``ybar = 0`` without intercept). This is the quantity scikit-learn uses, so a
        given ``tol`` means the same accuracy in both libraries; unlike scikit-learn, the
        gap is checked at every outer iteration, so the returned solution is always
        certified by ``dual_gap_``. With ``tol_scale="objective"``: ``G <= tol * P``,
        P the objective reached.
    tol_scale : {"null_deviance", "objective"}, default="null_deviance"
        What ``tol`` is relative to. "objective" makes ``tol`` the relative duality gap
        G / P: the objective reached is within a factor 1 + tol of the optimum whatever
        its size (with a small alpha P is far below the null model's, and the default
        criterion is loose relative to it)."""


def _coef_in_dtype(coef, dtype):
    """``coef`` cast to ``dtype``, unless that would lose it (then float64, warned).

    The solvers work in float64; coefficients are returned in the dtype of X. A cast
    that overflows (beyond float32's max, 3.4e38: +-inf) or underflows (non-zero below
    its smallest normal number, 1.2e-38: subnormal with fewer digits, or 0 below
    1.4e-45) would no longer be the solution ``dual_gap_`` certifies, so the float64
    coefficients are kept, with a UserWarning naming the range.
    """
    dtype = np.dtype(dtype)
    if dtype == coef.dtype:
        return coef
    info = np.finfo(dtype)
    mag = np.abs(coef)
    if coef.size and np.max(mag) > info.max:
        warnings.warn(
            f"Coefficients up to {np.max(mag):.3e} exceed the range of {dtype} "
            f"(the dtype of X); coef_ is kept as float64. Rescale X or y.",
            UserWarning, stacklevel=3)
        return coef
    tiny = (mag > 0) & (mag < info.tiny)
    if tiny.any():
        warnings.warn(
            f"Coefficients as small as {np.min(mag[tiny]):.3e} are below the range of "
            f"{dtype} (smallest normal {info.tiny:.3e}; the dtype of X); coef_ is kept "
            "as float64. Rescale X or y.", UserWarning, stacklevel=3)
        return coef
    return coef.astype(dtype)


class _BaseElasticNet(SupportMixin, RegressorMixin, BaseEstimator):
    """Shared fit/predict for Lasso and ElasticNet (l1_ratio fixed to 1 for Lasso)."""

    def _l1_ratio(self):
        return self.l1_ratio

    @restore_on_interrupt
    def fit(self, X, y, sample_weight=None):
        """Fit the model by working-set coordinate descent.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. A canonical CSC matrix (float32 or float64, int32 or int64
            indices) is used without any copy; other sparse formats and dense arrays
            are converted to CSC once.
        y : array-like of shape (n_samples,)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights, rescaled internally to sum to n_samples (as in
            scikit-learn), so that ``alpha`` keeps its meaning.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        l1_ratio = self._l1_ratio()
        check_scalar_param(self.alpha, "alpha", low=0.0)
        check_scalar_param(l1_ratio, "l1_ratio", low=0.0, high=1.0)
        check_scalar_param(self.tol, "tol", low=0.0)
        tol_scale = check_tol_scale(self.tol_scale)
        check_scalar_param(self.max_iter, "max_iter", low=1, integer=True)
        fit_intercept = check_bool_param(self.fit_intercept, "fit_intercept")
        warm_start = check_bool_param(self.warm_start, "warm_start")
        positive = check_bool_param(self.positive, "positive")
        screening = check_bool_param(self.screening, "screening")
        # Feature names and n_features_in_ only; the arrays are checked below without
        # copying a canonical CSC matrix.
        validate_data(self, X, y, skip_check_array=True)
        X = check_csc(X)
        y = column_or_1d(np.asarray(y) if not sp.issparse(y) else y.toarray(), warn=True)
        y = check_target(y, X.shape[0])
        n_samples, n_features = X.shape
        sw = check_sample_weight(sample_weight, n_samples)
        v = (None if self.penalty_factor is None
             else check_penalty_factor(self.penalty_factor, n_features))
        if self.alpha == 0:
            warnings.warn(
                "With alpha=0 the problem is ordinary least squares (at most 2000 "
                "features are supported); prefer sklearn.linear_model.LinearRegression.",
                UserWarning,
                stacklevel=2,
            )
        w_init = None
        if warm_start and getattr(self, "coef_", None) is not None:
            if self.coef_.shape == (n_features,):
                w_init = self.coef_
        pb = prepare_problem(X, y, sw, fit_intercept)
        res = solve_enet(
            X, pb, self.alpha, l1_ratio, v, positive=positive, tol=self.tol,
            max_iter=self.max_iter, w_init=w_init, screening=screening,
            verbose=self.verbose, tol_scale=tol_scale,
        )
        self._set_fit_result(res, X.dtype)
        return self

    def _set_fit_result(self, res, dtype):
        """Fitted attributes from a solver result (coef_ in the dtype of X).

        Coefficients beyond the range of a float32 X (too large: inf; too small:
        subnormal or 0) stay float64 (with a warning), since ``dual_gap_`` would no
        longer describe the cast ones.
        """
        self.coef_ = _coef_in_dtype(res.coef, dtype)
        self.intercept_ = float(res.intercept)
        self.dual_gap_ = res.dual_gap
        self.dual_point_ = res.dual_point
        self.n_iter_ = res.n_iter
        self.n_epochs_ = res.n_epochs
        self.n_screened_ = res.n_screened

    @property
    def sparse_coef_(self):
        """Sparse representation of ``coef_`` (scipy.sparse CSR row vector)."""
        check_is_fitted(self)
        return sp.csr_matrix(self.coef_[np.newaxis, :])

    def predict(self, X):
        """Predict with the fitted linear model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        # scipy's product trusts the index arrays: a malformed X crashed here.
        X = check_sparse_structure(X)
        X = validate_data(self, X, accept_sparse=["csr", "csc", "coo"], reset=False,
                          accept_large_sparse=True)
        return np.asarray(safe_sparse_dot(X, self.coef_)).ravel() + self.intercept_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


_COMMON_PARAMS = """\
    fit_intercept : bool, default=True
        Fit an unpenalized intercept. With sparse X the data are centered implicitly
        (lazy centering): X itself is never centered or copied.
    max_iter : int, default=100
        Maximum number of outer (working-set) iterations. Differs from scikit-learn,
        where it counts epochs over all features; each outer iteration here runs
        coordinate descent on a small working set until its own gap is small.
{tol}
    warm_start : bool, default=False
        Start from the previous ``coef_`` when refitting.
    positive : bool, default=False
        Constrain the coefficients to be non-negative.
    penalty_factor : array-like of shape (n_features,), default=None
        Per-feature multipliers of the penalty (glmnet's ``penalty.factor``); 0 leaves a
        feature unpenalized. None means all ones. The dual point is projected out of
        the span of the unpenalized columns, so the gap remains a certificate; this needs
        their Gram matrix, so at most 2000 features may have a zero factor.
    screening : bool, default=True
        Use Gap Safe screening to discard features that are provably zero.
    verbose : int, default=0
        Print one line per outer iteration when > 0.""".format(tol=_TOL_DOC)

_ATTRIBUTES = """\
    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Coefficients, of the dtype of X (float32 input gives float32 coefficients).
    intercept_ : float
        Intercept (0.0 when ``fit_intercept=False``).
    dual_gap_ : float
        Duality gap of the returned solution over all features, in units of the
        objective above: an upper bound on its suboptimality.
    dual_point_ : ndarray of shape (n_samples,)
        Dual-feasible point theta that certifies ``dual_gap_``: with the objective
        multiplied by n and r = y - Xw - b, the dual objective is
        ``1/2 sum s y_c^2 - 1/2 sum s (y_c - theta)^2 - sum_j h_j*(x_c,j^T (s theta))``
        (y_c, x_c centered when fitting an intercept; h_j* the conjugate of feature j's
        penalty). At the optimum theta equals the residual.
    n_iter_ : int
        Number of outer (working-set) iterations.
    n_epochs_ : int
        Total coordinate-descent epochs over working sets.
    n_screened_ : int
        Number of features discarded by Gap Safe screening (or with zero norm).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string column names."""


class ElasticNet(_BaseElasticNet):
    __doc__ = f"""Elastic net for sparse data, certified by the duality gap.

    Minimises over w and b::

        1/(2n) sum_i s_i (y_i - x_i.w - b)^2
            + alpha * sum_j v_j (l1_ratio |w_j| + (1 - l1_ratio)/2 w_j^2)

    with s the sample weights (rescaled to sum to n) and v the penalty factors, the same
    objective as :class:`sklearn.linear_model.ElasticNet`.

    Parameters
    ----------
    alpha : float, default=1.0
        Regularization strength, >= 0.
    l1_ratio : float, default=0.5
        Mix of L1 (1) and L2 (0) penalties, in [0, 1].
{_COMMON_PARAMS}

{_ATTRIBUTES}

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from fastsparse import ElasticNet
    >>> X = sp.random(100, 50, density=0.1, format="csc", random_state=0)
    >>> y = X @ ([1.0] * 5 + [0.0] * 45)
    >>> model = ElasticNet(alpha=1e-3, l1_ratio=0.7).fit(X, y)
    >>> bool(model.dual_gap_ < 1e-4)
    True
    """

    def __init__(self, alpha=1.0, *, l1_ratio=0.5, fit_intercept=True, max_iter=100,
                 tol=1e-4, tol_scale="null_deviance", warm_start=False, positive=False,
                 penalty_factor=None, screening=True, verbose=0):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.tol_scale = tol_scale
        self.warm_start = warm_start
        self.positive = positive
        self.penalty_factor = penalty_factor
        self.screening = screening
        self.verbose = verbose


class Lasso(_BaseElasticNet):
    __doc__ = f"""Lasso (L1-regularized least squares) for sparse data, certified.

    Minimises over w and b::

        1/(2n) sum_i s_i (y_i - x_i.w - b)^2 + alpha * sum_j v_j |w_j|

    the objective of :class:`sklearn.linear_model.Lasso`, with s the sample weights
    (rescaled to sum to n) and v the penalty factors.

    Parameters
    ----------
    alpha : float, default=1.0
        Regularization strength, >= 0.
{_COMMON_PARAMS}

{_ATTRIBUTES}

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from fastsparse import Lasso
    >>> X = sp.random(100, 50, density=0.1, format="csc", random_state=0)
    >>> y = X @ ([1.0] * 5 + [0.0] * 45)
    >>> model = Lasso(alpha=1e-3).fit(X, y)
    >>> int((model.coef_ != 0).sum()) <= 50
    True
    """

    def __init__(self, alpha=1.0, *, fit_intercept=True, max_iter=100, tol=1e-4,
                 tol_scale="null_deviance", warm_start=False, positive=False,
                 penalty_factor=None, screening=True, verbose=0):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.tol_scale = tol_scale
        self.warm_start = warm_start
        self.positive = positive
        self.penalty_factor = penalty_factor
        self.screening = screening
        self.verbose = verbose

    def _l1_ratio(self):
        return 1.0
