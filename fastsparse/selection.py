"""Feature selection with certified L1 fits: ``select_features``, ``StabilitySelection``.

:func:`select_features` answers "which k features?" (or "which features at this alpha?")
with one certified Lasso, elastic-net or L1-logistic fit: it follows the regularization
path until the support has k features, and refines between two grid points by bisection
on alpha when the grid jumps over k.

:class:`StabilitySelection` answers "which features can I trust?": it refits the whole
path on many random halves of the rows (Meinshausen & Buhlmann, JRSS-B 2010; the
complementary-pairs variant of Shah & Samworth, JRSS-B 2013), keeps the features that
are selected in a large fraction of them, and bounds the expected number of false
selections. Every half is fitted on the shared X with the other rows at sample weight
zero (as the CV estimators fit their folds), so X is never copied, and the halves run in
parallel through joblib (threads by default; any backend, e.g. Dask, see docs/dask.md).

Both rely on the paths of :mod:`fastsparse.path` and :mod:`fastsparse.logistic`, so every
fitted point is certified by its duality gap.
"""

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ._interrupt import cancel_on_sigint, restore_on_interrupt
from ._logistic_solver import prepare_logistic, solve_logistic, warn_if_needed
from ._solver import prepare_problem, solve_enet
from ._validation import (
    check_bool_param,
    check_csc,
    check_option,
    check_scalar_param,
    check_sparse_structure,
)
from .linear_model import ElasticNet, Lasso
from .logistic import LogisticRegression, _prepare_targets, logistic_c_min, logistic_path
from .path import _validate_inputs, alpha_grid, enet_path

__all__ = ["SelectionResult", "StabilitySelection", "select_features"]

MODELS = ("lasso", "enet", "logistic")
#: At most this many single-alpha solves refine the support size between two grid alphas.
MAX_BISECTION_STEPS = 20


def _check_model(model):
    if not isinstance(model, str) or model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}.")
    return model


def _effective_l1_ratio(model, l1_ratio):
    """l1_ratio actually used: 1 for "lasso" and "logistic", the argument for "enet"."""
    if model != "enet":
        return 1.0
    check_scalar_param(l1_ratio, "l1_ratio", low=0.0, high=1.0)
    if l1_ratio == 0:
        raise ValueError("l1_ratio=0 is ridge: an L2 penalty never sets a coefficient to "
                         "zero, so it selects nothing. Use l1_ratio in (0, 1].")
    return float(l1_ratio)


def _check_feature_names(feature_names, X, n_features):
    """Names of the columns (a list of str), or None."""
    if feature_names is None:
        cols = getattr(X, "columns", None)  # a pandas DataFrame
        if cols is None:
            return None
        names = [str(c) for c in cols]
    else:
        if isinstance(feature_names, str):
            raise TypeError("feature_names must be a sequence of names, not a string.")
        names = [str(c) for c in np.asarray(feature_names, dtype=object).ravel()]
    if len(names) != n_features:
        raise ValueError(f"feature_names has {len(names)} entries but X has "
                         f"{n_features} columns.")
    return names


@dataclass
class SelectionResult:
    """Features selected by :func:`select_features`.

    Attributes
    ----------
    indices : ndarray of int64
        Sorted column indices of the selected features.
    names : list of str or None
        Their names (from ``feature_names``, or the columns of a DataFrame), else None.
    coef : ndarray
        Coefficients of the selected features, in the order of ``indices`` (dtype of X
        for "lasso"/"enet", float64 for "logistic").
    intercept : float
        Intercept of the fit (0.0 without intercept).
    alpha : float
        Regularization of the fit in the form of :class:`fastsparse.Lasso`. For
        ``model="logistic"`` this is ``alpha = 1 / (C * sum(sample_weight))`` (``1 / (C
        n)`` for unit weights), the alpha form of :class:`fastsparse.LogisticRegression`.
    dual_gap : float
        Duality gap of the fit: in the units of the Lasso / elastic-net objective (divided
        by n) for "lasso"/"enet", of :class:`fastsparse.LogisticRegression`'s objective
        at ``C`` for "logistic".
    n_selected : int
        Number of selected features (``len(indices)``).
    model : str
        "lasso", "enet" or "logistic".
    path : PathResult, LogisticPathResult or None
        The regularization path computed to reach ``n_features`` (None in ``alpha`` /
        ``C`` mode). When bisection refined alpha, the selected fit is not a column of it.
    exact : bool
        False only when ``n_features`` was requested and no fit had exactly that many
        features (the nearest is returned); True otherwise.
    C : float or None
        Inverse regularization of :class:`fastsparse.LogisticRegression` for
        ``model="logistic"``, else None.
    l1_ratio : float
        The l1_ratio used (1.0 for "lasso" and "logistic").
    """

    indices: np.ndarray
    names: list | None
    coef: np.ndarray
    intercept: float
    alpha: float
    dual_gap: float
    n_selected: int
    model: str
    path: object
    exact: bool
    C: float | None = None
    l1_ratio: float = 1.0


@dataclass
class _Fit:
    """One certified fit considered by :func:`select_features`."""

    alpha: float
    coef: np.ndarray
    intercept: float
    dual_gap: float
    C: float | None = None

    @property
    def count(self):
        return int(np.count_nonzero(self.coef))


def _nearest(fits, k):
    """The fit whose support size is closest to k; ties go to the largest alpha."""
    return min(fits, key=lambda f: (abs(f.count - k), -f.alpha))


def _bracket(counts, k):
    """First adjacent pair (i-1, i) of the path with counts[i-1] < k < counts[i], or None.

    The path is ordered by decreasing alpha, so the first such pair is the one at the
    largest alphas.
    """
    for i in range(1, len(counts)):
        if counts[i - 1] < k < counts[i]:
            return i - 1, i
    return None


def _bisect(fits, k, hi, lo, solve):
    """Bisection on log(alpha) between the fits ``hi`` (fewer than k features, larger
    alpha) and ``lo`` (more than k); each step is one certified solve warm-started from
    the current ``hi``. Appends every fit to ``fits``; returns True when one has k."""
    for _ in range(MAX_BISECTION_STEPS):
        mid = math.sqrt(hi.alpha * lo.alpha)
        if not lo.alpha < mid < hi.alpha:  # the two alphas are adjacent floats
            return False
        fit = solve(mid, hi)
        fits.append(fit)
        if fit.count == k:
            return True
        if fit.count < k:
            hi = fit
        else:
            lo = fit
    return False


def _select_k(counts, grid_fit, k, make_solver):
    """The fit with k features along a path ordered by decreasing alpha.

    ``counts[i]`` is the support size at grid point i and ``grid_fit(i)`` its
    :class:`_Fit`; ``make_solver()`` returns ``solve(alpha, start_fit)`` for the
    bisection. Returns ``(fit, exact)``: the first grid point with k features; else the
    bisection's fit with k features between the first two grid points that skip k; else
    the nearest count over everything fitted, ties to the largest alpha.
    """
    hit = np.flatnonzero(counts == k)
    if hit.size:
        return grid_fit(int(hit[0])), True
    candidates = []
    pair = _bracket(counts, k)
    if pair is not None:
        hi, lo = grid_fit(pair[0]), grid_fit(pair[1])
        candidates = [hi, lo]
        if _bisect(candidates, k, hi, lo, make_solver()):
            return candidates[-1], True
    i = min(range(len(counts)), key=lambda j: (abs(int(counts[j]) - k), j))
    candidates.append(grid_fit(i))
    return _nearest(candidates, k), False


def _column(coefs, i):
    """Column i of a path's coefficient matrix as a dense 1-D array."""
    if sp.issparse(coefs):
        return np.asarray(coefs[:, [i]].toarray()).ravel()
    return np.asarray(coefs[:, i])


def _path_counts(coefs):
    if sp.issparse(coefs):
        return np.asarray((coefs != 0).sum(axis=0)).ravel()
    return np.count_nonzero(coefs, axis=0)


def _regression_select(X, y, k, alpha, l1_ratio, model, common, n_alphas, eps):
    """Fits of "lasso"/"enet": returns (chosen _Fit, path or None, exact)."""
    fit_intercept, sample_weight, tol, max_iter, verbose = common
    if alpha is not None:
        est = (Lasso(alpha=alpha) if model == "lasso"
               else ElasticNet(alpha=alpha, l1_ratio=l1_ratio))
        est.set_params(fit_intercept=fit_intercept, tol=tol, max_iter=max_iter,
                       verbose=max(verbose - 1, 0))
        est.fit(X, y, sample_weight=sample_weight)
        fit = _Fit(float(alpha), est.coef_, est.intercept_, float(est.dual_gap_))
        return fit, None, True

    path = enet_path(X, y, l1_ratio=l1_ratio, eps=eps, n_alphas=n_alphas,
                     fit_intercept=fit_intercept, sample_weight=sample_weight,
                     tol=tol, max_iter=max_iter, verbose=verbose)
    counts = np.asarray(path.n_nonzero)
    fits = [_Fit(float(a), None, float(b), float(g))
            for a, b, g in zip(path.alphas, path.intercepts, path.dual_gaps)]

    def grid_fit(i):
        fits[i].coef = _column(path.coefs, i)
        return fits[i]

    def make_solver():
        Xv, yv, sw, _ = _validate_inputs(X, y, sample_weight, None)
        pb = prepare_problem(Xv, yv, sw, fit_intercept)

        def solve(a, start):
            res = solve_enet(Xv, pb, a, l1_ratio, None, tol=tol, max_iter=max_iter,
                             w_init=start.coef, verbose=max(verbose - 1, 0))
            return _Fit(a, res.coef.astype(Xv.dtype, copy=False), float(res.intercept),
                        float(res.dual_gap))

        return solve

    fit, exact = _select_k(counts, grid_fit, k, make_solver)
    return fit, path, exact


def _logistic_select(X, y, k, alpha, C, common, n_alphas, eps):
    """Fits of "logistic" (binary, L1): returns (chosen _Fit, path or None, exact)."""
    fit_intercept, sample_weight, tol, max_iter, verbose = common
    Xv = check_csc(X)
    n = Xv.shape[0]
    yv = column_or_1d(np.asarray(y) if not sp.issparse(y) else y.toarray(), warn=True)
    if yv.shape[0] != n:
        raise ValueError(f"y has {yv.shape[0]} entries but X has {n} rows.")
    classes, y_idx, sw_n, total = _prepare_targets(yv, sample_weight, None, n)
    if classes.shape[0] != 2:
        raise ValueError(f"model='logistic' selects features for a binary target; y has "
                         f"{classes.shape[0]} classes.")
    if k is None:
        if C is None:
            C = 1.0 / (alpha * total)
        est = LogisticRegression(C=C, l1_ratio=1.0, fit_intercept=fit_intercept, tol=tol,
                                 max_iter=max_iter, verbose=max(verbose - 1, 0))
        est.fit(Xv, yv, sample_weight=sample_weight)
        fit = _Fit(1.0 / (C * total), est.coef_[0], float(est.intercept_[0]),
                   float(est.dual_gap_[0]), float(C))
        return fit, None, True

    path = logistic_path(Xv, yv, n_Cs=n_alphas, eps=eps, l1_ratio=1.0,
                         fit_intercept=fit_intercept, sample_weight=sample_weight,
                         tol=tol, max_iter=max_iter, verbose=max(verbose - 1, 0))
    counts = _path_counts(path.coefs)
    # Cs increase, so alphas decrease: index 0 is the most regularized, as for enet_path.
    fits = [_Fit(1.0 / (c * total), None, float(b), float(g), float(c))
            for c, b, g in zip(path.Cs, path.intercepts, path.dual_gaps)]

    def grid_fit(i):
        fits[i].coef = _column(path.coefs, i)
        return fits[i]

    def make_solver():
        y_pm = np.where(y_idx == 1, 1.0, -1.0)
        pb = prepare_logistic(Xv, y_pm, sw_n, fit_intercept)

        def solve(a, start):
            c = 1.0 / (a * total)
            scale = c * total / n  # internal units -> LogisticRegression's objective
            res = solve_logistic(Xv, pb, n / (c * total), 1.0, None, tol=tol,
                                 max_iter=max_iter, w_init=start.coef,
                                 b_init=start.intercept, verbose=max(verbose - 1, 0))
            warn_if_needed(res, max_iter, scale)
            return _Fit(a, res.coef, float(res.intercept), float(res.dual_gap * scale), c)

        return solve

    fit, exact = _select_k(counts, grid_fit, k, make_solver)
    return fit, path, exact


def select_features(X, y, *, n_features=None, alpha=None, model="lasso", l1_ratio=0.5,
                    fit_intercept=True, sample_weight=None, feature_names=None,
                    n_alphas=100, eps=1e-3, tol=1e-6, max_iter=100, verbose=0, C=None):
    """Select features with one certified L1 (or elastic-net) fit.

    Give exactly one of ``n_features`` (how many features to keep), ``alpha`` (the
    regularization of the fit) or, for ``model="logistic"`` only, ``C``.

    With ``n_features=k`` the regularization path is computed (:func:`fastsparse.
    lasso_path`, :func:`fastsparse.enet_path` or :func:`fastsparse.logistic_path`, from
    the all-zero model down to ``eps`` times its alpha) and the fit with exactly k
    non-zero coefficients is returned; if several grid points have k, the one with the
    **largest alpha** (the most regularized). When the grid jumps over k (one alpha has
    fewer than k features and the next more), alpha is refined between the two by
    bisection on log(alpha), each step a single certified solve warm-started from the
    sparser side, at most ``MAX_BISECTION_STEPS`` (20) steps. If no fit has exactly k
    features (e.g. two features enter at the same alpha, or the path ends with fewer
    than k features: lower ``eps`` to go further), the fit whose count is closest to k
    is returned, ties going to the largest alpha, and ``exact`` is False.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Training data; a canonical CSC matrix is used without any copy.
    y : array-like of shape (n_samples,)
        Target: real values for "lasso"/"enet", two classes for "logistic".
    n_features : int, default=None
        Number of features to select, in [1, n_features of X].
    alpha : float, default=None
        Regularization strength (> 0) of a single fit. For "lasso"/"enet" the ``alpha``
        of :class:`fastsparse.Lasso` / :class:`fastsparse.ElasticNet`::

            1/(2n) sum_i s_i (y_i - x_i.w - b)^2
                + alpha sum_j (l1_ratio |w_j| + (1 - l1_ratio)/2 w_j^2)

        For "logistic", the alpha form of :class:`fastsparse.LogisticRegression`::

            1/n sum_i s'_i log(1 + exp(-y_i (x_i.w + b))) + alpha sum_j |w_j|

        (s' the weights rescaled to sum to n), i.e. ``C = 1 / (alpha * sum(s))``,
        ``C = 1 / (alpha * n)`` with unit weights. Passing ``C`` instead avoids the
        conversion.
    model : {"lasso", "enet", "logistic"}, default="lasso"
        "lasso": L1 least squares; "enet": elastic net with ``l1_ratio``; "logistic":
        L1-penalized binary logistic regression.
    l1_ratio : float, default=0.5
        Mix of L1 (1) and L2 (0) penalties for ``model="enet"``, in (0, 1]; ignored by
        "lasso" and "logistic" (pure L1).
    fit_intercept : bool, default=True
        Fit an unpenalized intercept (X is centered implicitly, never copied).
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights; zero weights drop rows without copying X. Rescaled to sum
        to n for "lasso"/"enet" (as scikit-learn); summed as they are for "logistic".
    feature_names : sequence of str of length n_features, default=None
        Names of the columns, to report the names of the selected ones. When None and X
        is a pandas DataFrame, its column names.
    n_alphas : int, default=100
        Number of points of the path (alphas, or Cs for "logistic").
    eps : float, default=1e-3
        Length of the path: ``alpha_min = eps * alpha_max`` (for "logistic",
        ``C_max = C_min / eps``), in (0, 1).
    tol : float, default=1e-6
        Stopping tolerance of every fit, relative to the null model, as in the
        estimators: the duality gap G satisfies ``G <= tol * sum_i s_i (y_i - ybar)^2 /
        n`` for "lasso"/"enet" and ``G <= tol * C * D0`` (D0 the null deviance) for
        "logistic". Tighter than the estimators' default (1e-4) because the support is
        the answer here: a feature whose coefficient is tiny at the solution should not
        be missed or kept by an early stop.
    max_iter : int, default=100
        Maximum outer (working-set) iterations of each fit.
    verbose : int, default=0
        Progress of the path (1) and the solver's iterations (2).
    C : float, default=None
        For ``model="logistic"`` only: the ``C`` of :class:`fastsparse.LogisticRegression`
        of a single fit, instead of ``alpha``.

    Returns
    -------
    result : SelectionResult
        ``indices``, ``names``, ``coef``, ``intercept``, ``alpha`` (and ``C`` for
        logistic), ``dual_gap``, ``n_selected``, ``model``, ``path``, ``exact``.

    Raises
    ------
    ValueError
        If not exactly one of ``n_features`` / ``alpha`` / ``C`` is given, a value is
        out of range, ``model`` is unknown, ``C`` is given for a least-squares model, or
        the target has more than two classes for "logistic".
    TypeError
        If a parameter has the wrong type.

    See Also
    --------
    StabilitySelection : Features selected consistently over random halves of the rows,
        with a bound on the expected number of false selections.
    fastsparse.Lasso.get_support : The support of an already fitted model.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from fastsparse import select_features
    >>> X = sp.random(200, 100, density=0.1, format="csc", random_state=0)
    >>> y = X @ np.r_[np.arange(5, 0, -1.0), np.zeros(95)]
    >>> res = select_features(X, y, n_features=3)
    >>> res.n_selected, res.exact
    (3, True)
    """
    model = _check_model(model)
    given = [name for name, v in (("n_features", n_features), ("alpha", alpha), ("C", C))
             if v is not None]
    if len(given) != 1:
        raise ValueError("Give exactly one of n_features or alpha (or C for "
                         f"model='logistic'); got {given or 'none'}.")
    if C is not None:
        if model != "logistic":
            raise ValueError(f"C is only for model='logistic' (got model={model!r}); "
                             "use alpha.")
        check_scalar_param(C, "C", low=0.0)
        if not C > 0:
            raise ValueError(f"C must be positive, got {C!r}.")
    if alpha is not None:
        check_scalar_param(alpha, "alpha", low=0.0)
        if not alpha > 0:
            raise ValueError(f"alpha must be positive (alpha=0 selects every feature), "
                             f"got {alpha!r}.")
    rho = _effective_l1_ratio(model, l1_ratio)
    check_scalar_param(n_alphas, "n_alphas", low=1, integer=True)
    check_scalar_param(eps, "eps", low=0.0, high=1.0)
    if not 0 < eps < 1:
        raise ValueError(f"eps must be in (0, 1), got {eps!r}.")
    check_scalar_param(tol, "tol", low=0.0)
    check_scalar_param(max_iter, "max_iter", low=1, integer=True)
    fit_intercept = check_bool_param(fit_intercept, "fit_intercept")
    n_cols = X.shape[1] if hasattr(X, "shape") and len(X.shape) == 2 else None
    if n_cols is None:
        X = check_csc(X)
        n_cols = X.shape[1]
    if n_features is not None:
        check_scalar_param(n_features, "n_features", low=1, integer=True)
        if n_features > n_cols:
            raise ValueError(f"n_features={n_features} exceeds the number of columns "
                             f"of X ({n_cols}).")
        n_features = int(n_features)
    names_all = _check_feature_names(feature_names, X, n_cols)
    if not sp.issparse(X) and hasattr(X, "columns"):
        X = np.asarray(X)
    common = (fit_intercept, sample_weight, tol, max_iter, verbose)

    if model == "logistic":
        fit, path, exact = _logistic_select(X, y, n_features, alpha, C, common, n_alphas,
                                            eps)
    else:
        fit, path, exact = _regression_select(X, y, n_features, alpha, rho, model, common,
                                              n_alphas, eps)
    coef = np.asarray(fit.coef).ravel()
    idx = np.flatnonzero(coef).astype(np.int64)
    return SelectionResult(
        indices=idx, names=None if names_all is None else [names_all[i] for i in idx],
        coef=coef[idx], intercept=float(fit.intercept), alpha=float(fit.alpha),
        dual_gap=float(fit.dual_gap), n_selected=int(idx.size), model=model, path=path,
        exact=bool(exact), C=fit.C, l1_ratio=rho,
    )


# --------------------------------------------------------------------------------------
# Stability selection
# --------------------------------------------------------------------------------------

def _subsample_support(X, y, sample_weight, rows, alphas, model, l1_ratio, fit_intercept,
                       tol, max_iter, cancel=None):
    """Support of the whole path fitted on the rows ``rows`` (all other rows weight 0).

    Returns ``(indicator, n_union, n_iter)``: a CSC int32 matrix of shape (n_features,
    n_alphas) with a 1 where the coefficient is non-zero, the number of features non-zero
    at some alpha of the grid (the size of the union of the selected sets over the path)
    and the largest number of outer iterations of one alpha.
    """
    n = X.shape[0]
    s = np.zeros(n)
    s[rows] = 1.0 if sample_weight is None else sample_weight[rows]
    if model == "logistic":
        # alphas are in the alpha form on this subsample: C = 1 / (alpha * sum(s)).
        Cs = 1.0 / (alphas * s.sum())
        path = logistic_path(X, y, Cs=Cs, l1_ratio=1.0, fit_intercept=fit_intercept,
                             sample_weight=s, tol=tol, max_iter=max_iter,
                             coef_format="sparse", _cancel=cancel)
    else:
        path = enet_path(X, y, l1_ratio=l1_ratio, alphas=alphas,
                         fit_intercept=fit_intercept, sample_weight=s, tol=tol,
                         max_iter=max_iter, coef_format="sparse", _cancel=cancel)
    coefs = sp.csc_matrix(path.coefs)
    coefs.eliminate_zeros()
    indicator = sp.csc_matrix(
        (np.ones(coefs.nnz, dtype=np.int32), coefs.indices, coefs.indptr),
        shape=coefs.shape)
    return indicator, int(np.unique(coefs.indices).size), int(np.max(path.n_iters))


class StabilitySelection(SelectorMixin, BaseEstimator):
    """Stability selection with certified L1 paths (Meinshausen & Buhlmann, 2010).

    The regularization path is fitted on many random subsamples of the rows; a feature's
    *selection frequency* at alpha is the fraction of subsamples in which its coefficient
    is non-zero at alpha, its *stability score* the maximum frequency over the grid, and
    the features whose score reaches ``threshold`` are selected. Under the exchangeability
    assumption of Meinshausen & Buhlmann (Theorem 1), the expected number V of falsely
    selected (noise) features satisfies::

        E[V] <= q^2 / ((2 * threshold - 1) * n_features)

    with q the expected number of features selected by one subsample over the grid (the
    union of its supports over all alphas), estimated by the average over the
    subsamples (``q_``), reported as ``expected_false_positives_bound_``. The bound needs
    ``threshold > 0.5``; a grid that stops at a larger alpha (larger ``eps``) has a
    smaller q and a tighter bound.

    Sampling: ``"complementary"`` (Shah & Samworth, 2013) draws ``n_bootstrap`` random
    splits of the rows into two disjoint halves of ``floor(sample_fraction * n)`` rows
    (one row is left out of both when n is odd) and fits both halves, 2 * n_bootstrap
    fits. Shah & Samworth show that the bound above holds for complementary pairs too,
    give a version without the exchangeability assumption (for the variables with a low
    selection probability) and sharper ones under extra conditions. ``"subsample"``
    draws ``n_bootstrap`` independent subsamples without replacement.

    Each subsample is fitted on the full X with the other rows at sample weight zero,
    which is the same problem as fitting ``X[rows]`` (the weights are rescaled to sum to
    n, so alpha keeps its per-sample meaning), without copying X. The fits run through
    ``joblib.Parallel(prefer="threads")``: threads by default (the kernels release the
    GIL and share X), and any active joblib backend otherwise, e.g. inside
    ``with joblib.parallel_config(backend="dask"):`` the subsamples are spread over a
    Dask cluster (see docs/dask.md). The subsamples are drawn before any fit from
    ``random_state``, so the result does not depend on ``n_jobs`` or the backend.

    Parameters
    ----------
    model : {"lasso", "enet", "logistic"}, default="lasso"
        The path fitted on each subsample: :func:`fastsparse.lasso_path`,
        :func:`fastsparse.enet_path` (with ``l1_ratio``) or the L1
        :func:`fastsparse.logistic_path` (binary target).
    alphas : array-like of float, default=None
        The grid (sorted decreasingly), shared by all subsamples. None: ``n_alphas``
        values geometrically spaced from ``alpha_max`` down to ``eps * alpha_max``,
        computed once on the full data. For "logistic" the alphas are in the alpha form of
        :class:`fastsparse.LogisticRegression`: a subsample with weights s is fitted at
        ``C = 1 / (alpha * sum(s))``, i.e. ``LogisticRegression(C=1 / (alpha * len(rows)))
        .fit(X[rows], y[rows])`` with unit weights, so that alpha has the same
        per-sample meaning on the half as on the full data.
    n_alphas : int, default=30
        Number of alphas of the automatic grid.
    eps : float, default=0.1
        ``alpha_min / alpha_max`` of the automatic grid, in (0, 1]. The region of the
        path matters: at small alphas most halves select many noise features, which
        raises ``q_`` and loosens the bound (it is informative when ``q_`` is below
        about ``sqrt((2 * threshold - 1) * n_features)``), so the default stops at a
        tenth of ``alpha_max``; lower it when the signal needs more of the path.
    l1_ratio : float, default=0.5
        Mix of L1 and L2 penalties for ``model="enet"``, in (0, 1]; ignored otherwise.
    n_bootstrap : int, default=50
        Number of complementary pairs (``"complementary"``: 2 * n_bootstrap fits) or of
        subsamples (``"subsample"``).
    sample_fraction : float, default=0.5
        Fraction of the rows in each subsample: in (0, 1) for ``"subsample"``, in
        (0, 0.5] for ``"complementary"`` (disjoint pairs). The error bound is derived for
        0.5.
    sampling : {"complementary", "subsample"}, default="complementary"
    threshold : float, default=0.6
        Minimum stability score of a selected feature, in (0.5, 1].
    fit_intercept : bool, default=True
        Fit an unpenalized intercept (X is centered implicitly, never copied).
    tol : float, default=1e-4
        Stopping tolerance of every fit, relative to the null model of its subsample (as
        in :func:`fastsparse.enet_path` / :func:`fastsparse.logistic_path`).
    max_iter : int, default=100
        Maximum outer (working-set) iterations per alpha.
    random_state : int, RandomState instance or None, default=None
        Seed of the subsamples.
    n_jobs : int or None, default=None
        Subsamples fitted in parallel by joblib (``prefer="threads"``; an active
        ``joblib.parallel_config`` backend is honoured). None means 1 unless a
        ``parallel_config`` says otherwise.
    verbose : int, default=0
        Print one line per fitted subsample when > 0.

    Attributes
    ----------
    alphas_ : ndarray of shape (n_alphas,)
        The grid, decreasing.
    selection_frequencies_ : scipy.sparse.csc_matrix of shape (n_features, n_alphas)
        Fraction of the subsamples in which each feature is non-zero at each alpha.
        Sparse because a dense matrix is n_features * n_alphas floats (gigabytes when
        there are millions of features) while only the features some subsample ever
        selects have non-zero entries; ``.toarray()`` it when n_features is small.
    stability_scores_ : ndarray of shape (n_features,)
        Maximum selection frequency over the grid.
    support_ : ndarray of bool of shape (n_features,)
        ``stability_scores_ >= threshold``; also :meth:`get_support`.
    threshold_ : float
        The threshold used.
    q_ : float
        Average over the subsamples of the number of features non-zero at some alpha of
        the grid.
    mean_n_selected_ : ndarray of shape (n_alphas,)
        Average number of non-zero coefficients at each alpha.
    expected_false_positives_bound_ : float
        ``q_**2 / ((2 * threshold - 1) * n_features_in_)``, the Meinshausen-Buhlmann
        bound on the expected number of falsely selected features.
    n_subsamples_ : int
        Number of fitted subsamples (2 * n_bootstrap for complementary pairs).
    n_iter_ : int
        Largest number of outer (working-set) iterations of one alpha over all the fits
        (``max_iter`` means some fit stopped on it, with a ConvergenceWarning).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        When X has string column names.

    References
    ----------
    N. Meinshausen and P. Buhlmann, "Stability selection", JRSS-B 72(4), 2010.
    R. D. Shah and R. J. Samworth, "Variable selection with error control: another look
    at stability selection", JRSS-B 75(1), 2013.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from fastsparse import StabilitySelection
    >>> rng = np.random.default_rng(0)
    >>> X = sp.random(200, 50, density=0.2, format="csc", random_state=0)
    >>> y = X @ np.r_[np.full(3, 5.0), np.zeros(47)] + 0.1 * rng.standard_normal(200)
    >>> sel = StabilitySelection(n_bootstrap=10, random_state=0).fit(X, y)
    >>> sel.get_support(indices=True)
    array([0, 1, 2])
    >>> sel.transform(X).shape
    (200, 3)
    """

    def __init__(self, model="lasso", *, alphas=None, n_alphas=30, eps=0.1, l1_ratio=0.5,
                 n_bootstrap=50, sample_fraction=0.5, sampling="complementary",
                 threshold=0.6, fit_intercept=True, tol=1e-4, max_iter=100,
                 random_state=None, n_jobs=None, verbose=0):
        self.model = model
        self.alphas = alphas
        self.n_alphas = n_alphas
        self.eps = eps
        self.l1_ratio = l1_ratio
        self.n_bootstrap = n_bootstrap
        self.sample_fraction = sample_fraction
        self.sampling = sampling
        self.threshold = threshold
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _check_params(self):
        model = _check_model(self.model)
        rho = _effective_l1_ratio(model, self.l1_ratio)
        check_option(self.sampling, "sampling", ("complementary", "subsample"))
        check_scalar_param(self.threshold, "threshold", low=0.0, high=1.0)
        if not self.threshold > 0.5:
            raise ValueError(
                f"threshold must be in (0.5, 1], got {self.threshold!r}: the "
                "Meinshausen-Buhlmann error bound q^2 / ((2 threshold - 1) p) only holds "
                "above 0.5.")
        check_scalar_param(self.n_bootstrap, "n_bootstrap", low=1, integer=True)
        high = 0.5 if self.sampling == "complementary" else 1.0
        check_scalar_param(self.sample_fraction, "sample_fraction", low=0.0, high=high)
        if not 0 < self.sample_fraction < 1:
            raise ValueError(f"sample_fraction must be in (0, {high}], got "
                             f"{self.sample_fraction!r}.")
        check_scalar_param(self.tol, "tol", low=0.0)
        check_scalar_param(self.max_iter, "max_iter", low=1, integer=True)
        fit_intercept = check_bool_param(self.fit_intercept, "fit_intercept")
        if self.alphas is None:
            check_scalar_param(self.n_alphas, "n_alphas", low=1, integer=True)
            check_scalar_param(self.eps, "eps", low=0.0, high=1.0)
            if not 0 < self.eps <= 1:
                raise ValueError(f"eps must be in (0, 1], got {self.eps!r}.")
        return model, rho, fit_intercept

    def _grid(self, X, y, sample_weight, model, rho, fit_intercept):
        """The shared grid (decreasing alphas), on the full data."""
        if self.alphas is not None:
            a = np.asarray(self.alphas)
            if a.dtype.kind not in "biuf":
                raise TypeError(f"alphas must be numeric, got dtype {a.dtype}.")
            a = np.sort(a.astype(np.float64).ravel())[::-1]
            if a.size == 0 or not np.all(np.isfinite(a)) or np.any(a <= 0):
                raise ValueError("alphas must be a non-empty array of positive finite "
                                 "values.")
            return a
        if model == "logistic":
            c_min = logistic_c_min(X, y, l1_ratio=1.0, fit_intercept=fit_intercept,
                                   sample_weight=sample_weight)
            if not np.isfinite(c_min):
                raise ValueError("X^T (y - p0) is zero: every alpha gives zero "
                                 "coefficients; pass an explicit grid of alphas.")
            total = X.shape[0] if sample_weight is None else float(np.sum(sample_weight))
            a_max = 1.0 / (c_min * total)
            return a_max * np.geomspace(1.0, self.eps, self.n_alphas)
        return alpha_grid(X, y, l1_ratio=rho, eps=self.eps, n_alphas=self.n_alphas,
                          fit_intercept=fit_intercept, sample_weight=sample_weight)

    def _subsamples(self, n_samples):
        """The row subsets, drawn before any fit (independent of n_jobs and backend)."""
        rng = check_random_state(self.random_state)
        size = int(math.floor(self.sample_fraction * n_samples))
        if size < 1 or (self.sampling == "complementary" and 2 * size > n_samples):
            raise ValueError(f"sample_fraction={self.sample_fraction} of {n_samples} "
                             "samples leaves an empty subsample.")
        out = []
        for _ in range(self.n_bootstrap):
            perm = rng.permutation(n_samples)
            out.append(np.sort(perm[:size]))
            if self.sampling == "complementary":
                out.append(np.sort(perm[size:2 * size]))
        return out

    @restore_on_interrupt
    def fit(self, X, y, sample_weight=None):
        """Fit the path on every subsample and compute the selection frequencies.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; a canonical CSC matrix is shared by all the fits, never
            copied.
        y : array-like of shape (n_samples,)
            Target (two classes for ``model="logistic"``).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows, kept on the rows of each subsample (the
            others get 0).

        Returns
        -------
        self : object
        """
        model, rho, fit_intercept = self._check_params()
        validate_data(self, X, y, skip_check_array=True)
        X = check_csc(X)
        n, p = X.shape
        if model == "logistic":
            y = column_or_1d(np.asarray(y) if not sp.issparse(y) else y.toarray(),
                             warn=True)
            if y.shape[0] != n:
                raise ValueError(f"y has {y.shape[0]} entries but X has {n} rows.")
            classes = _prepare_targets(y, sample_weight, None, n)[0]
            if classes.shape[0] != 2:
                raise ValueError("model='logistic' needs a binary target; y has "
                                 f"{classes.shape[0]} classes.")
            sw = None
            if sample_weight is not None:
                sw = np.broadcast_to(np.asarray(sample_weight, dtype=np.float64),
                                     (n,)).copy()
        else:
            X, y, sw, _ = _validate_inputs(X, y, sample_weight, None)
        if n < 2:
            raise ValueError("Stability selection needs at least 2 samples; got "
                             f"n_samples = {n}.")
        alphas = self._grid(X, y, sw, model, rho, fit_intercept)
        subsamples = self._subsamples(n)

        counts = sp.csc_matrix((p, alphas.shape[0]), dtype=np.int32)
        union_sizes = []
        n_iter = 0
        # Ctrl-C reaches the subsamples running in worker threads through `cancel`.
        with cancel_on_sigint() as cancel:
            jobs = (delayed(_subsample_support)(X, y, sw, rows, alphas, model, rho,
                                                fit_intercept, self.tol,
                                                self.max_iter, cancel)
                    for rows in subsamples)
            # A generator keeps one subsample's result in memory at a time; joblib
            # returns them in submission order, so the sums are identical for every
            # n_jobs.
            outputs = Parallel(n_jobs=self.n_jobs, prefer="threads",
                               return_as="generator")(jobs)
            for i, (indicator, n_union, iters) in enumerate(outputs):
                counts = counts + indicator
                union_sizes.append(n_union)
                n_iter = max(n_iter, iters)
                if self.verbose:
                    print(f"[fastsparse] stability selection: subsample {i + 1}/"
                          f"{len(subsamples)}, {n_union} features selected along the "
                          "path")
        m = len(subsamples)
        counts.sort_indices()
        # count / m divided entry by entry (not times 1/m): exact fractions such as 5/6.
        freq = sp.csc_matrix(
            (counts.data / m, counts.indices.copy(), counts.indptr.copy()),
            shape=counts.shape)
        self.alphas_ = alphas
        self.selection_frequencies_ = freq
        self.stability_scores_ = np.asarray(freq.max(axis=1).toarray()).ravel()
        self.threshold_ = float(self.threshold)
        self.support_ = self.stability_scores_ >= self.threshold_
        self.n_subsamples_ = m
        self.n_iter_ = n_iter
        self.q_ = float(np.mean(union_sizes))
        self.mean_n_selected_ = (
            np.asarray(counts.sum(axis=0), dtype=np.float64).ravel() / m)
        self.expected_false_positives_bound_ = (
            self.q_ ** 2 / ((2.0 * self.threshold_ - 1.0) * p))
        return self

    def _get_support_mask(self):
        check_is_fitted(self)
        return self.support_

    def get_support(self, indices=False):
        """scikit-learn's ``SelectorMixin.get_support``, with ``indices`` checked to be
        a bool (a string such as ``"no"`` returned indices instead of the mask)."""
        check_is_fitted(self)
        return super().get_support(indices=check_bool_param(indices, "indices"))

    def transform(self, X):
        """Keep the selected columns of X (scikit-learn's ``SelectorMixin.transform``,
        after a check of a sparse X's index arrays: scipy's conversion and column
        selection trust them, and a malformed X crashed the process)."""
        return super().transform(check_sparse_structure(X))

    def inverse_transform(self, X):
        """Put the selected columns back in place, zeros elsewhere (scikit-learn's, after
        the same check of a sparse X as :meth:`transform`)."""
        return super().inverse_transform(check_sparse_structure(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.required = True
        return tags
