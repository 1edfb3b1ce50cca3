"""Cross-validated Lasso and elastic net: ``LassoCV`` and ``ElasticNetCV``.

How a fold is fitted without copying X
--------------------------------------
scikit-learn fits each fold on ``X[train]``, a copy of (most of) X per fold. Here every
fold is fitted on the full CSC matrix with the held-out rows given sample weight zero.
That is the same problem: with user weights u (1 by default), scikit-learn rescales the
training weights to sum to n_train,

    1/(2 n_train) sum_{train} (n_train u_i / U) r_i^2 = 1/(2U) sum_{train} u_i r_i^2,

U = sum_{i in train} u_i, while the zero-weight fold rescales them to sum to n,

    1/(2n) sum_{train} (n u_i / U) r_i^2 = 1/(2U) sum_{train} u_i r_i^2.

Both data terms are equal, so **alpha needs no rescaling**: the fold objective is exactly
scikit-learn's on the training subset. The intercept and the implicit centering use
weighted means, so the held-out rows drop out of them too, and ``tol`` (relative to the
null deviance of the training rows) keeps its meaning. Columns that are zero or constant
on the training rows have zero weighted centered norm and stay at zero, as in
scikit-learn. Repeated indices in a custom ``train`` split count as weights
(multiplicities). The held-out residuals come for free: the residual the path keeps for
the strong rule covers every row, and on held-out rows it is ``y - X w - b``.

Folds (and l1_ratios) run in parallel with joblib, threads by default: the kernels release
the GIL and threads share X. Any joblib backend works (with process-based ones X is sent
to the workers, memory-mapped by joblib when large).

The alpha grid is computed once on the full data (as scikit-learn does) and shared by all
folds. After the cross-validation the model is refitted on all data along the same grid
down to the selected alpha, each alpha warm-started from the previous one (as glmnet
fits its full-data path), and every fitted alpha is certified by its duality gap.
"""

import time

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from sklearn.model_selection import check_cv
from sklearn.utils.validation import column_or_1d, validate_data

from ._interrupt import cancel_on_sigint, restore_on_interrupt
from ._solver import _usable_features, prepare_problem
from ._validation import (
    check_bool_param,
    check_folds,
    check_option,
    check_scalar_param,
    check_tol_scale,
)
from .linear_model import _BaseElasticNet
from .path import (
    _alpha_max_from_gradient,
    _check_grid_params,
    _geometric_grid,
    _rounding_alpha,
    _iter_path,
    _null_model,
    _progress,
    _validate_inputs,
)

__all__ = ["ElasticNetCV", "LassoCV"]


def _fold_path_mse(X, y, sample_weight, train, test, fit_intercept, alphas, l1_ratio,
                   penalty_factor, positive, tol, max_iter, strong_rule, screening,
                   cancel=None, tol_scale="null_deviance"):
    """Held-out MSE along ``alphas`` for one fold, fitted on all rows with test weights 0.

    Returns ``(mse, dual_gaps)``, arrays of shape (n_alphas,). The MSE is weighted by the
    user's sample weights of the held-out rows when given (as in scikit-learn).
    ``cancel`` stops the fold within one outer iteration once set (Ctrl-C in the main
    thread).
    """
    n = X.shape[0]
    train = np.asarray(train)
    test = np.asarray(test)
    if train.dtype == bool:
        train = np.flatnonzero(train)
    if test.dtype == bool:
        test = np.flatnonzero(test)
    s = np.zeros(n)
    # add.at, not assignment: a repeated training index counts once per occurrence.
    np.add.at(s, train, 1.0 if sample_weight is None else sample_weight[train])
    total = s.sum()
    if total <= 0:
        raise ValueError("A cross-validation fold has no training sample with positive "
                         "weight.")
    s *= n / total
    pb = prepare_problem(X, y, s, fit_intercept)
    w_test = None if sample_weight is None else sample_weight[test]
    m = len(alphas)
    mse = np.empty(m)
    gaps = np.empty(m)
    for step in _iter_path(X, pb, alphas, l1_ratio, penalty_factor, positive=positive,
                           tol=tol, max_iter=max_iter, strong_rule=strong_rule,
                           screening=screening, cancel=cancel, tol_scale=tol_scale):
        res_test = step.residual[test]
        mse[step.k] = np.average(res_test ** 2, weights=w_test)
        gaps[step.k] = step.result.dual_gap
    return mse, gaps


class _BaseEnetCV(_BaseElasticNet):
    """Shared fit of LassoCV and ElasticNetCV (predict & co from the base estimator)."""

    def _l1_ratios(self):
        return [1.0]

    @restore_on_interrupt
    def fit(self, X, y, sample_weight=None):
        """Choose alpha (and l1_ratio) by cross-validation, then refit on all data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; a canonical CSC matrix is used without any copy, in every
            fold (held-out rows get weight zero instead of being sliced out).
        y : array-like of shape (n_samples,)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights. In each fold the training weights are rescaled to sum
            to n (which is equivalent to scikit-learn's rescaling on the training subset)
            and the held-out MSE is weighted by them.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        l1_ratios = self._l1_ratios()
        for r in l1_ratios:
            check_scalar_param(r, "l1_ratio", low=0.0, high=1.0)
        l1_ratios = [float(r) for r in l1_ratios]
        check_scalar_param(self.tol, "tol", low=0.0)
        tol_scale = check_tol_scale(self.tol_scale)
        check_scalar_param(self.max_iter, "max_iter", low=1, integer=True)
        check_option(self.selection_rule, "selection_rule", ("min", "1se"))
        grid_params = [_check_grid_params(r, self.eps, self.n_alphas, self.alphas)
                       for r in l1_ratios]
        fit_intercept = check_bool_param(self.fit_intercept, "fit_intercept")
        positive = check_bool_param(self.positive, "positive")
        strong_rule = check_bool_param(self.strong_rule, "strong_rule")
        screening = check_bool_param(self.screening, "screening")
        validate_data(self, X, y, skip_check_array=True)
        y = column_or_1d(np.asarray(y) if not sp.issparse(y) else y.toarray(), warn=True)
        X, y, sw, v = _validate_inputs(X, y, sample_weight, self.penalty_factor)
        n_samples = X.shape[0]
        user_weights = None
        if sample_weight is not None and sw is not None:
            user_weights = sw  # rescaled to sum to n: same held-out weighted averages

        # The grid, once, on the full data (shared by the folds, as in scikit-learn).
        pb = prepare_problem(X, y, sw, fit_intercept)
        usable = _usable_features(pb)
        w0, _, g0 = _null_model(X, pb, v, usable)
        alpha_maxes = [_alpha_max_from_gradient(g0, usable, v, n_samples, r, positive)
                       for r in l1_ratios]
        noise_alpha = _rounding_alpha(pb)
        grids = [
            _geometric_grid(a_max, self.eps, n_grid, noise_alpha) if user is None else user
            for (n_grid, user), a_max in zip(grid_params, alpha_maxes)
        ]

        cv = check_cv(self.cv)
        # A placeholder with X's rows: scikit-learn's splitters make a sparse X
        # "indexable" by converting it to CSR, a full copy of X just to count its rows.
        folds = check_folds(cv.split(np.empty((n_samples, 0)), y), n_samples)
        n_folds = len(folds)
        bar = _progress(n_folds * len(l1_ratios), self.verbose, "cv folds")
        t0 = time.perf_counter()
        results = []
        # Ctrl-C sets `cancel`, which the folds running in worker threads poll: without
        # it joblib would wait for each running fold to finish its whole path.
        with cancel_on_sigint() as cancel:
            jobs = [
                delayed(_fold_path_mse)(
                    X, y, user_weights, train, test, fit_intercept, grid, r, v,
                    positive, self.tol, self.max_iter, strong_rule, screening, cancel,
                    tol_scale)
                for r, grid in zip(l1_ratios, grids)
                for train, test in folds
            ]
            try:
                for i, out in enumerate(Parallel(n_jobs=self.n_jobs, prefer="threads",
                                                 return_as="generator")(jobs)):
                    results.append(out)
                    if bar is not None:
                        bar.update(1)
                    elif self.verbose:
                        print(f"[fastsparse] cv path {i + 1}/{len(jobs)} done  "
                              f"{time.perf_counter() - t0:.2f}s")
            finally:
                if bar is not None:
                    bar.close()

        n_l1 = len(l1_ratios)
        mse = np.array([out[0] for out in results]).reshape(n_l1, n_folds, -1)
        self.mse_path_ = np.squeeze(np.moveaxis(mse, 2, 1))
        self.cv_dual_gaps_ = np.squeeze(np.moveaxis(
            np.array([out[1] for out in results]).reshape(n_l1, n_folds, -1), 2, 1))
        mean_mse = mse.mean(axis=1)  # (n_l1, n_alphas)
        best_mse, best_l, i_best = np.inf, 0, 0
        for l_idx in range(n_l1):
            i = int(np.argmin(mean_mse[l_idx]))
            if mean_mse[l_idx, i] < best_mse:
                best_mse, best_l, i_best = mean_mse[l_idx, i], l_idx, i
        grid = grids[best_l]
        # One-standard-error rule on the best l1_ratio's curve (glmnet's lambda.1se).
        if n_folds > 1:
            se = mse[best_l].std(axis=0, ddof=1) / np.sqrt(n_folds)
        else:
            se = np.zeros(mse.shape[2])
        within = np.flatnonzero(mean_mse[best_l] <= best_mse + se[i_best])
        i_1se = int(within[np.argmax(grid[within])])
        self.alpha_min_ = float(grid[i_best])
        self.alpha_1se_ = float(grid[i_1se])
        i_sel = i_best if self.selection_rule == "min" else i_1se
        self.alpha_ = float(grid[i_sel])
        if self._has_l1_ratio():
            self.l1_ratio_ = l1_ratios[best_l]
        if grid_params[0][1] is None:
            alphas = np.asarray(grids)
            self.alphas_ = alphas[0] if n_l1 == 1 else alphas
        else:
            self.alphas_ = np.asarray(grids[0])

        # Refit on all data along the grid down to the selected alpha (warm starts).
        refit_grid = grid[:i_sel + 1]
        res = None
        for step in _iter_path(X, pb, refit_grid, l1_ratios[best_l], v,
                               positive=positive, tol=self.tol,
                               max_iter=self.max_iter, strong_rule=strong_rule,
                               screening=screening, tol_scale=tol_scale,
                               null_model=(usable, w0, g0, alpha_maxes[best_l])):
            res = step.result
        self._set_fit_result(res, X.dtype)
        return self

    def _has_l1_ratio(self):
        return False


_CV_PARAMS = """\
    eps : float, default=1e-3
        Length of the automatic grid: ``alpha_min = eps * alpha_max``, in (0, 1]
        (ValueError at fit otherwise, also when ``alphas`` is given; 1 gives a flat grid
        at alpha_max).
    n_alphas : int, default=100
        Number of alphas of the automatic grid (per l1_ratio).
    alphas : array-like or int, default=None
        Alphas to try (sorted decreasingly, shared by every l1_ratio). None computes a
        geometric grid from alpha_max on the full data (respecting the intercept, the
        sample weights and the penalty factors); an int is the number of alphas
        (scikit-learn >= 1.7 spelling).
    fit_intercept : bool, default=True
        Fit an unpenalized intercept (X is centered implicitly, never copied).
    max_iter : int, default=100
        Maximum outer (working-set) iterations per alpha (scikit-learn counts epochs).
    tol : float, default=1e-4
        Stopping tolerance of each alpha, relative to the null model: the duality gap G
        must satisfy ``G <= tol * sum_i s_i (y_i - ybar)^2 / n``, over the training rows
        of the fold (scikit-learn's criterion, so ``tol`` means the same in both).
    tol_scale : {"null_deviance", "objective"}, default="null_deviance"
        What ``tol`` is relative to. "objective" makes it the relative duality gap
        G / P of each alpha, P the objective reached: at the small alphas of a grid P is
        far below the null model's value and the default criterion is loose relative to
        it (as in :func:`fastsparse.enet_path`).
    cv : int, cross-validation generator or iterable, default=None
        As in scikit-learn (:func:`sklearn.model_selection.check_cv`): None is 5-fold,
        an int k is k-fold (no shuffling), or a splitter, or an iterable of
        ``(train, test)`` index arrays. Group splitters need a pre-computed iterable.
    n_jobs : int, default=None
        Number of folds (times l1_ratios) fitted in parallel by joblib. Threads are
        preferred (the kernels release the GIL and share X); any joblib backend works.
    positive : bool, default=False
        Constrain the coefficients to be non-negative.
    penalty_factor : array-like of shape (n_features,), default=None
        Per-feature penalty multipliers (glmnet's ``penalty.factor``); 0 leaves a feature
        unpenalized.
    selection_rule : {"min", "1se"}, default="min"
        Alpha to refit at: ``"min"`` the alpha of smallest mean CV error (scikit-learn);
        ``"1se"`` the largest alpha whose mean CV error is within one standard error of
        that minimum (glmnet's ``lambda.1se``, a sparser model). Both are reported as
        ``alpha_min_`` and ``alpha_1se_``.
    strong_rule : bool, default=True
        Seed each working set along the paths with the sequential strong rule (a
        speed-up only; every alpha is certified by its gap).
    screening : bool, default=True
        Gap Safe screening inside each solve.
    verbose : int, default=0
        Progress over the folds (a tqdm bar when tqdm is installed, else one line per
        fold)."""

_CV_ATTRIBUTES = """\
    alpha_ : float
        The selected alpha (``alpha_min_`` or ``alpha_1se_``, see ``selection_rule``).
    alpha_min_ : float
        Alpha minimising the mean cross-validated MSE.
    alpha_1se_ : float
        Largest alpha whose mean CV MSE is within one standard error (standard deviation
        over folds / sqrt(n_folds)) of the minimum, on the best l1_ratio's curve.
    coef_ : ndarray of shape (n_features,)
        Coefficients of the model refitted on all data at ``alpha_`` (dtype of X).
    intercept_ : float
        Intercept of the refitted model.
    mse_path_ : ndarray of shape (n_alphas, n_folds) or (n_l1_ratio, n_alphas, n_folds)
        Held-out mean squared error (weighted by the sample weights, when given) of each
        fold at each alpha, as in scikit-learn.
    alphas_ : ndarray of shape (n_alphas,) or (n_l1_ratio, n_alphas)
        The grid(s) used.
    cv_dual_gaps_ : ndarray of the shape of ``mse_path_``
        Duality gap of every fold's solution (each certified within ``tol``, in the
        sense of ``tol_scale``).
    dual_gap_ : float
        Duality gap of the refitted model.
    dual_point_ : ndarray of shape (n_samples,)
        Dual point certifying ``dual_gap_``.
    n_iter_ : int
        Outer iterations of the refit at ``alpha_``.
    n_epochs_ : int
        Coordinate-descent epochs of the refit at ``alpha_``.
    n_screened_ : int
        Features discarded by Gap Safe screening in the refit at ``alpha_``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string column names."""


class LassoCV(_BaseEnetCV):
    __doc__ = f"""Lasso with alpha chosen by cross-validation, on sparse data, certified.

    Minimises, at each alpha of the grid and for each fold::

        1/(2n) sum_i s_i (y_i - x_i.w - b)^2 + alpha * sum_j v_j |w_j|

    (the objective of :class:`sklearn.linear_model.LassoCV`), with held-out rows given
    weight zero instead of being copied out of X. See :mod:`fastsparse.cv` for why this is
    exactly scikit-learn's fold objective, with no rescaling of alpha.

    Parameters
    ----------
{_CV_PARAMS}

    Attributes
    ----------
{_CV_ATTRIBUTES}

    See Also
    --------
    fastsparse.lasso_path, fastsparse.plotting.plot_cv

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from fastsparse import LassoCV
    >>> X = sp.random(100, 50, density=0.1, format="csc", random_state=0)
    >>> y = X @ ([1.0] * 5 + [0.0] * 45)
    >>> model = LassoCV(n_alphas=20, cv=3).fit(X, y)
    >>> model.mse_path_.shape
    (20, 3)
    """

    def __init__(self, *, eps=1e-3, n_alphas=100, alphas=None, fit_intercept=True,
                 max_iter=100, tol=1e-4, tol_scale="null_deviance", cv=None, n_jobs=None,
                 positive=False, penalty_factor=None, selection_rule="min",
                 strong_rule=True, screening=True, verbose=0):
        self.eps = eps
        self.n_alphas = n_alphas
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.tol_scale = tol_scale
        self.cv = cv
        self.n_jobs = n_jobs
        self.positive = positive
        self.penalty_factor = penalty_factor
        self.selection_rule = selection_rule
        self.strong_rule = strong_rule
        self.screening = screening
        self.verbose = verbose


class ElasticNetCV(_BaseEnetCV):
    __doc__ = f"""Elastic net with alpha and l1_ratio chosen by cross-validation, certified.

    Minimises, at each alpha of the grid, each l1_ratio and each fold::

        1/(2n) sum_i s_i (y_i - x_i.w - b)^2
            + alpha * sum_j v_j (l1_ratio |w_j| + (1 - l1_ratio)/2 w_j^2)

    (the objective of :class:`sklearn.linear_model.ElasticNetCV`), with held-out rows
    given weight zero instead of being copied out of X (see :mod:`fastsparse.cv`).

    Parameters
    ----------
    l1_ratio : float or list of float, default=0.5
        Mix of L1 (1) and L2 (0) penalties, in [0, 1]; a list is searched too (each value
        gets its own automatic grid, as in scikit-learn). ``l1_ratio=0`` needs explicit
        ``alphas``.
{_CV_PARAMS}

    Attributes
    ----------
    l1_ratio_ : float
        The selected l1_ratio.
{_CV_ATTRIBUTES}

    See Also
    --------
    fastsparse.enet_path, fastsparse.plotting.plot_cv

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from fastsparse import ElasticNetCV
    >>> X = sp.random(100, 50, density=0.1, format="csc", random_state=0)
    >>> y = X @ ([1.0] * 5 + [0.0] * 45)
    >>> model = ElasticNetCV(l1_ratio=[0.5, 1.0], n_alphas=20, cv=3).fit(X, y)
    >>> model.mse_path_.shape
    (2, 20, 3)
    """

    def __init__(self, *, l1_ratio=0.5, eps=1e-3, n_alphas=100, alphas=None,
                 fit_intercept=True, max_iter=100, tol=1e-4, tol_scale="null_deviance",
                 cv=None, n_jobs=None, positive=False, penalty_factor=None,
                 selection_rule="min", strong_rule=True, screening=True, verbose=0):
        self.l1_ratio = l1_ratio
        self.eps = eps
        self.n_alphas = n_alphas
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.tol_scale = tol_scale
        self.cv = cv
        self.n_jobs = n_jobs
        self.positive = positive
        self.penalty_factor = penalty_factor
        self.selection_rule = selection_rule
        self.strong_rule = strong_rule
        self.screening = screening
        self.verbose = verbose

    def _l1_ratios(self):
        r = self.l1_ratio
        if np.ndim(r) == 0:
            return [r]
        r = list(np.asarray(r).ravel())
        if not r:
            raise ValueError("l1_ratio must not be empty.")
        return [x.item() if isinstance(x, np.generic) else x for x in r]

    def _has_l1_ratio(self):
        return True
