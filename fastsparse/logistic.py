"""scikit-learn logistic regression estimator for L1 / elastic-net on sparse data."""

import time
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator
from sklearn.linear_model._base import LinearClassifierMixin
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ._interrupt import cancel_on_sigint, path_interrupt, restore_on_interrupt
from ._logistic_solver import prepare_logistic, solve_logistic, warn_if_needed
from ._support import SupportMixin
from .path import PathProgress
from ._validation import (
    check_bool_param,
    check_csc,
    check_option,
    check_penalty_factor,
    check_sample_weight,
    check_scalar_param,
    check_sparse_structure,
    check_tol_scale,
)

__all__ = ["LogisticPathResult", "LogisticRegression", "logistic_c_min", "logistic_path"]


def _raw_sample_weight(sample_weight, n_samples):
    """Validated sample weights *not* rescaled (the logistic objective sums them)."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, Real) and not isinstance(sample_weight, bool):
        check_scalar_param(sample_weight, "sample_weight", low=0.0)
        if sample_weight <= 0:
            raise ValueError("sample_weight must not be all zero.")
        return np.full(n_samples, float(sample_weight))
    check_sample_weight(sample_weight, n_samples)  # shape, dtype, sign, finiteness
    return np.asarray(sample_weight, dtype=np.float64).copy()


def _prepare_targets(y, sample_weight, class_weight, n_samples):
    """Classes, class indices of y, solver weights (summing to n, or None) and sum(s).

    s = sample_weight * class_weight[y] (not rescaled, as in the objective); the solver
    gets s * n / sum(s) and the penalty is rescaled accordingly (see the class
    docstring's alpha form).
    """
    check_classification_targets(y)
    classes, y_idx = np.unique(y, return_inverse=True)
    if classes.shape[0] < 2:
        raise ValueError(
            "This solver needs samples of at least 2 classes in the data, but the "
            f"data contain only one class: {classes[0]!r}."
        )
    sw = _raw_sample_weight(sample_weight, n_samples)
    if class_weight is not None:
        cw = compute_class_weight(class_weight, classes=classes, y=y)
        sw = cw[y_idx] if sw is None else sw * cw[y_idx]
    if sw is None:
        return classes, y_idx, None, float(n_samples)
    per_class = np.bincount(y_idx, weights=sw, minlength=classes.shape[0])
    if np.any(per_class <= 0):
        raise ValueError(
            "Every class needs a positive total sample weight; class "
            f"{classes[np.argmax(per_class <= 0)]!r} has none."
        )
    total = float(sw.sum())
    if not np.isfinite(total):
        # The objective sums the raw weights: an overflowing sum gave sw_n = 0 and
        # all-zero coefficients, silently.
        raise ValueError("sample_weight (times class_weight) sums to more than the "
                         "largest float64; rescale the weights (and C with them).")
    # sw / total first: n / total overflows when the weights are tiny (subnormal).
    sw_n = (sw / total) * n_samples
    if np.all(sw_n == 1.0):
        sw_n = None
    return classes, y_idx, sw_n, total


class _CheckedLinearClassifierMixin(LinearClassifierMixin):
    """scikit-learn's linear classifier methods, with a sparse X's index arrays checked.

    Shared by :class:`LogisticRegression` and
    :class:`fastsparse.LogisticRegressionCV`.
    """

    def decision_function(self, X):
        """Decision values ``X @ coef_.T + intercept_`` (scikit-learn's, after a check
        of a sparse X's index arrays: scipy's conversion and product trust them, and a
        malformed X crashed the process). ``predict`` and ``predict_proba`` use it.
        """
        return super().decision_function(check_sparse_structure(X))


class LogisticRegression(SupportMixin, _CheckedLinearClassifierMixin, BaseEstimator):
    """L1 / elastic-net logistic regression for sparse data, certified by the duality gap.

    Minimises over w and b (for each binary problem)::

        C * sum_i s_i log(1 + exp(-y_i (x_i.w + b)))
            + sum_j v_j (l1_ratio |w_j| + (1 - l1_ratio)/2 w_j^2)

    with y_i in {-1, +1}, s_i the sample weights times the class weights (*not* rescaled:
    a weight of 2 is the same as a duplicated row) and v_j the penalty factors: the
    objective of :class:`sklearn.linear_model.LogisticRegression` (scikit-learn 1.9,
    ``C``/``l1_ratio`` parametrization) when v = 1. The intercept b is never penalized.

    In the ``alpha`` form of DESIGN.md (the form of :class:`fastsparse.ElasticNet`)::

        1/n sum_i s'_i log(1 + exp(-y_i (x_i.w + b))) + alpha * penalty,

    with s' = s * n / sum(s) the weights rescaled to sum to n, the objective above is
    ``C * sum(s)`` times this one with ``alpha = 1 / (C * sum(s))``, i.e.
    ``alpha = 1 / (C * n)`` for unit weights.

    Two classes are fitted as one binary problem (``classes_[1]`` is the positive
    class); more classes by one-vs-rest, the binary problems fitted in parallel threads.

    Solver: proximal Newton (glmnet's IRLS, LIBLINEAR's newGLMNET) on a working set of
    features, with coordinate descent on each quadratic model, a backtracking line
    search on the true objective, Gap Safe screening and the duality gap as stopping
    rule (see :mod:`fastsparse._logistic_solver`).

    Parameters
    ----------
    C : float, default=1.0
        Inverse regularization strength, > 0 and finite (scikit-learn also accepts
        ``np.inf``; here an unpenalized fit is spelled with a zero ``penalty_factor``).
    l1_ratio : float, default=1.0
        Mix of L1 (1) and L2 (0) penalties, in [0, 1]. Differs from scikit-learn, whose
        default is 0.0 (pure L2): this library is about sparse models.
    fit_intercept : bool, default=True
        Fit an unpenalized intercept (X is centered implicitly, never copied).
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into the sample weights, as in scikit-learn
        (``"balanced"``: ``n_samples / (n_classes * np.bincount(y))``).
    max_iter : int, default=100
        Maximum number of outer (working-set) iterations per binary problem. Differs
        from scikit-learn, where it counts solver iterations over all features.
    tol : float, default=1e-4
        Stopping tolerance relative to the null model: a binary fit stops when its
        duality gap G (in units of the objective above) satisfies
        ``G <= tol * C * D0``, with D0 = 2 sum_i s_i log(1 + exp(-y_i b0)) the null
        deviance (b0 the intercept-only fit, 0 without intercept). In the alpha form this
        is ``G_alpha <= tol * D0' / n`` (D0' with the rescaled weights), the convention of
        DESIGN.md. The gap bounds the suboptimality, and ``dual_gap_`` reports it.
        With ``tol_scale="objective"``: ``G <= tol * P``, P the objective reached.
    tol_scale : {"null_deviance", "objective"}, default="null_deviance"
        What ``tol`` is relative to. "objective" makes ``tol`` the relative duality gap
        G / P: the objective reached is then within a factor 1 + tol of the optimum,
        whatever the size of the optimum (with a weak penalty P is far below the null
        deviance, and the default criterion is looser relative to P).
    warm_start : bool, default=False
        Start from the previous ``coef_`` and ``intercept_`` when refitting with the same
        classes and number of features.
    penalty_factor : array-like of shape (n_features,), default=None
        Per-feature multipliers v_j >= 0 of the penalty (glmnet's ``penalty.factor``);
        0 leaves a feature unpenalized (at most 2000 such features; if they separate the
        classes the objective has no finite minimiser and a ConvergenceWarning says so).
    screening : bool, default=True
        Use Gap Safe screening to discard features that are provably zero.
    n_jobs : int or None, default=None
        Threads for the one-vs-rest problems (joblib, ``prefer="threads"``; the kernels
        release the GIL). None means 1.
    verbose : int, default=0
        Print one line per outer iteration when > 0.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Coefficients (float64), one row for two classes, one per class (one-vs-rest)
        otherwise.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts (0.0 when ``fit_intercept=False``).
    dual_gap_ : ndarray of shape (1,) or (n_classes,)
        Duality gap of each binary problem at the returned solution, over all features,
        in units of the objective above: an upper bound on its suboptimality.
    n_iter_ : ndarray of shape (1,) or (n_classes,)
        Outer (working-set) iterations of each binary problem.
    n_newton_ : ndarray of shape (1,) or (n_classes,)
        Proximal Newton steps of each binary problem.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string column names.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from fastsparse import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = sp.random(200, 50, density=0.2, format="csc", random_state=0)
    >>> y = (X @ np.r_[np.ones(5), np.zeros(45)] > 0.2).astype(int)
    >>> clf = LogisticRegression(C=10.0, tol=1e-8).fit(X, y)
    >>> clf.coef_.shape
    (1, 50)
    >>> bool(clf.dual_gap_[0] < 1e-4)
    True
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    def __init__(self, C=1.0, *, l1_ratio=1.0, fit_intercept=True, class_weight=None,
                 max_iter=100, tol=1e-4, tol_scale="null_deviance", warm_start=False,
                 penalty_factor=None, screening=True, n_jobs=None, verbose=0):
        self.C = C
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.tol = tol
        self.tol_scale = tol_scale
        self.warm_start = warm_start
        self.penalty_factor = penalty_factor
        self.screening = screening
        self.n_jobs = n_jobs
        self.verbose = verbose

    @restore_on_interrupt
    def fit(self, X, y, sample_weight=None):
        """Fit the model (one binary problem, or one per class for more than two).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. A canonical CSC matrix (float32 or float64) is used without
            any copy; other formats are converted to CSC once.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Non-negative weights of the rows, multiplied by the class weights. Not
            rescaled: the loss is a weighted sum, so an integer weight equals repeating
            the row.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        check_scalar_param(self.C, "C", low=0.0)
        if not self.C > 0:
            raise ValueError(f"C must be positive, got {self.C!r}.")
        check_scalar_param(self.l1_ratio, "l1_ratio", low=0.0, high=1.0)
        check_scalar_param(self.tol, "tol", low=0.0)
        tol_scale = check_tol_scale(self.tol_scale)
        check_scalar_param(self.max_iter, "max_iter", low=1, integer=True)
        fit_intercept = check_bool_param(self.fit_intercept, "fit_intercept")
        warm_start = check_bool_param(self.warm_start, "warm_start")
        screening = check_bool_param(self.screening, "screening")
        validate_data(self, X, y, skip_check_array=True)
        X = check_csc(X)
        n_samples, n_features = X.shape
        y = column_or_1d(np.asarray(y) if not sp.issparse(y) else y.toarray(), warn=True)
        if y.shape[0] != n_samples:
            raise ValueError(f"y has {y.shape[0]} entries but X has {n_samples} rows.")
        classes, y_idx, sw_n, total = _prepare_targets(y, sample_weight,
                                                       self.class_weight, n_samples)
        self.classes_ = classes
        v = (None if self.penalty_factor is None
             else check_penalty_factor(self.penalty_factor, n_features))
        has_free = v is not None and bool(np.any(v == 0))

        lam = n_samples / (self.C * total)
        scale = self.C * total / n_samples  # internal units -> objective above
        n_problems = 1 if classes.shape[0] == 2 else classes.shape[0]
        targets = ([1] if n_problems == 1 else range(n_problems))
        coef_init = intercept_init = None
        if (warm_start and getattr(self, "coef_", None) is not None
                and self.coef_.shape == (n_problems, n_features)
                and getattr(self, "_fit_classes", None) is not None
                and np.array_equal(self._fit_classes, classes)):
            coef_init, intercept_init = self.coef_, self.intercept_

        pb0 = prepare_logistic(X, np.where(y_idx == targets[0], 1.0, -1.0), sw_n,
                               fit_intercept)

        def fit_one(k, row, cancel=None):
            y_pm = np.where(y_idx == k, 1.0, -1.0)
            pb = pb0 if row == 0 else prepare_logistic(
                X, y_pm, sw_n, fit_intercept, sqnorm_f32=pb0.sqnorm_f32)
            return solve_logistic(
                X, pb, lam, self.l1_ratio, v, tol=self.tol, max_iter=self.max_iter,
                w_init=None if coef_init is None else coef_init[row],
                b_init=None if intercept_init is None else intercept_init[row],
                screening=screening, verbose=self.verbose, cancel=cancel,
                tol_scale=tol_scale), pb

        if n_problems == 1 or self.n_jobs in (None, 1):
            out = [fit_one(k, row) for row, k in enumerate(targets)]
        else:
            # Ctrl-C reaches the classes fitted in worker threads through `cancel`.
            with cancel_on_sigint() as cancel:
                out = Parallel(n_jobs=self.n_jobs, prefer="threads")(
                    delayed(fit_one)(k, row, cancel) for row, k in enumerate(targets))
        for row, (res, pb) in enumerate(out):
            label = "" if n_problems == 1 else classes[row]
            # stacklevel 4: past fit and its restore_on_interrupt wrapper.
            warn_if_needed(res, self.max_iter, scale, label, has_free, stacklevel=4)
        self.coef_ = np.vstack([res.coef for res, _ in out])
        self.intercept_ = np.array([res.intercept for res, _ in out], dtype=np.float64)
        self.dual_gap_ = np.array([res.dual_gap * scale for res, _ in out])
        self.n_iter_ = np.array([res.n_iter for res, _ in out], dtype=np.int32)
        self.n_newton_ = np.array([res.n_newton for res, _ in out], dtype=np.int32)
        self._fit_classes = classes
        return self

    def predict_proba(self, X):
        """Class probabilities: logistic sigmoid of the decision function.

        With more than two classes, the one-vs-rest probabilities are normalized to sum
        to one (as scikit-learn does for one-vs-rest).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        return self._predict_proba_lr(X)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


@dataclass
class LogisticPathResult:
    """Solutions of :func:`logistic_path` along its grid of C.

    Unpacks as ``Cs, coefs, dual_gaps`` (like scikit-learn's path functions); the
    intercepts and iteration counts are attributes.

    Attributes
    ----------
    Cs : ndarray of shape (n_Cs,)
        Increasing grid of C.
    coefs : scipy.sparse.csc_matrix or ndarray of shape (n_features, n_Cs)
        Coefficients, one column per C (sparse by default: a dense matrix is gigabytes
        when there are millions of features).
    intercepts : ndarray of shape (n_Cs,)
    dual_gaps : ndarray of shape (n_Cs,)
        Duality gap of each solution, in units of the objective of
        :class:`LogisticRegression` at that C.
    n_iters : ndarray of shape (n_Cs,)
        Outer (working-set) iterations of each fit.
    classes : ndarray of shape (2,)
        The labels; ``classes[1]`` is the positive class.
    interrupted : bool
        True when Ctrl-C ended the path and ``on_interrupt="return"`` returned the Cs
        finished until then.
    """

    Cs: np.ndarray
    coefs: object
    intercepts: np.ndarray
    dual_gaps: np.ndarray
    n_iters: np.ndarray
    classes: np.ndarray
    interrupted: bool = False

    def __iter__(self):
        return iter((self.Cs, self.coefs, self.dual_gaps))


def logistic_c_min(X, y, *, l1_ratio=1.0, fit_intercept=True, sample_weight=None,
                   class_weight=None, penalty_factor=None):
    """Largest C at which every penalized coefficient of the binary problem is zero.

    With s the weights, p0 the null model's probability of ``classes[1]`` (its weighted
    frequency with an intercept, 1/2 without) and g = X^T (s (y01 - p0)), w = 0 is
    optimal exactly when C |g_j| <= l1_ratio v_j for every j, so
    ``C_min = l1_ratio / max_j (|g_j| / v_j)``. X is never centered: with an intercept
    ``s (y01 - p0)`` sums to zero. Not defined for ``l1_ratio = 0`` or with unpenalized
    features (ValueError).
    """
    fit_intercept = check_bool_param(fit_intercept, "fit_intercept")
    X = check_csc(X)
    n = X.shape[0]
    # A sparse y as everywhere else (np.asarray made it a 0-d object array: "shape ()").
    y = column_or_1d(np.asarray(y) if not sp.issparse(y) else y.toarray(), warn=True)
    if y.shape[0] != n:
        # Unchecked, a wrong length surfaced as numpy's "shapes not aligned" (or an
        # IndexError for an empty y).
        raise ValueError(f"y has {y.shape[0]} entries but X has {n} rows.")
    classes, y_idx, sw_n, total = _prepare_targets(y, sample_weight, class_weight, n)
    if classes.shape[0] != 2:
        raise ValueError(f"logistic_c_min is for binary problems; got {len(classes)} "
                         "classes.")
    check_scalar_param(l1_ratio, "l1_ratio", low=0.0, high=1.0)
    v = (np.ones(X.shape[1]) if penalty_factor is None
         else check_penalty_factor(penalty_factor, X.shape[1]))
    if l1_ratio == 0 or np.any(v == 0):
        raise ValueError("C_min is only defined with l1_ratio > 0 and positive penalty "
                         "factors; pass an explicit grid of Cs.")
    s = np.ones(n) if sw_n is None else sw_n * (total / n)  # the raw weights
    y01 = (y_idx == 1).astype(np.float64)
    p0 = float(np.dot(s, y01) / s.sum()) if fit_intercept else 0.5
    g = np.abs(np.asarray(X.T @ (s * (y01 - p0)), dtype=np.float64).ravel()) / v
    top = float(g.max(initial=0.0))
    return l1_ratio / top if top > 0 else np.inf


def logistic_path(X, y, *, Cs=None, n_Cs=20, eps=1e-2, l1_ratio=1.0, fit_intercept=True,
                  sample_weight=None, class_weight=None, penalty_factor=None, tol=1e-4,
                  tol_scale="null_deviance", max_iter=100, screening=True,
                  coef_format="sparse", verbose=0, callback=None, on_interrupt="raise",
                  _cancel=None):
    # _cancel (private): a fastsparse._interrupt.Cancellation polled by every solve, how
    # LogisticRegressionCV stops folds running in worker threads on Ctrl-C.
    """Binary L1 / elastic-net logistic regression along an increasing grid of C.

    Each C is solved by the solver of :class:`LogisticRegression` (same objective, same
    ``tol`` and certificate), warm-started from the previous solution, whose support
    seeds the first working set; every solution is certified by its own duality gap.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Two classes; ``classes[1]`` is the positive one.
    Cs : array-like of float or int, default=None
        The grid (sorted increasingly). None: ``n_Cs`` values geometrically spaced from
        :func:`logistic_c_min` (all coefficients zero) to ``C_min / eps``. An int is
        that number of values (as ``LogisticRegressionCV(Cs=10)``); a single C is a
        float or a one-element list.
    n_Cs : int, default=20
    eps : float, default=1e-2
        ``C_min / C_max`` of the automatic grid, in (0, 1] (the counterpart of
        scikit-learn's ``alpha_min / alpha_max``; small values approach the
        unregularized, possibly separable, problem).
    l1_ratio, fit_intercept, class_weight, penalty_factor, tol, tol_scale, max_iter, screening
        As in :class:`LogisticRegression` (with ``tol_scale="objective"`` every C is
        solved to the relative gap ``tol`` of its own objective).
    sample_weight : array-like of shape (n_samples,), default=None
    coef_format : {"sparse", "dense"}, default="sparse"
        ``coefs`` as a scipy.sparse CSC matrix or a dense array.
    verbose : int, default=0
    callback : callable, default=None
        Called after each C as ``callback(progress)`` with a
        :class:`fastsparse.path.PathProgress` (``index``, ``n_alphas`` (the number of
        Cs), ``alpha`` (here: C), ``dual_gap`` (in the units of ``dual_gaps``),
        ``n_nonzero``, ``ws_size`` (0: not tracked by this solver), ``elapsed``,
        ``result``). Returning True ends the path after this C.
    on_interrupt : {"raise", "return"}, default="raise"
        Ctrl-C during the path: ``"raise"`` propagates ``KeyboardInterrupt``;
        ``"return"`` returns the Cs finished so far (with a warning and
        ``interrupted=True``).

    Returns
    -------
    LogisticPathResult
    """
    fit_intercept = check_bool_param(fit_intercept, "fit_intercept")
    screening = check_bool_param(screening, "screening")
    X = check_csc(X)
    n_samples, n_features = X.shape
    y = column_or_1d(np.asarray(y) if not sp.issparse(y) else y.toarray(), warn=True)
    if y.shape[0] != n_samples:
        raise ValueError(f"y has {y.shape[0]} entries but X has {n_samples} rows.")
    classes, y_idx, sw_n, total = _prepare_targets(y, sample_weight, class_weight,
                                                   n_samples)
    if classes.shape[0] != 2:
        raise ValueError(f"logistic_path fits binary problems; got {len(classes)} classes "
                         "(use LogisticRegression for one-vs-rest).")
    check_scalar_param(l1_ratio, "l1_ratio", low=0.0, high=1.0)
    check_scalar_param(tol, "tol", low=0.0)
    check_tol_scale(tol_scale)
    check_scalar_param(max_iter, "max_iter", low=1, integer=True)
    check_option(coef_format, "coef_format", ("sparse", "dense"))
    if callback is not None and not callable(callback):
        raise TypeError("callback must be callable.")
    check_option(on_interrupt, "on_interrupt", ("raise", "return"))
    v = (None if penalty_factor is None
         else check_penalty_factor(penalty_factor, n_features))
    if isinstance(Cs, Integral) and not isinstance(Cs, (bool, np.bool_)):
        # An int is a count, as LogisticRegressionCV(Cs=10) and enet_path(alphas=10)
        # read it; Cs=5 used to mean the single C = 5 here.
        n_Cs, Cs = Cs, None
    if Cs is None:
        check_scalar_param(n_Cs, "n_Cs", low=1, integer=True)
        check_scalar_param(eps, "eps", low=0.0, high=1.0)
        if not 0 < eps <= 1:
            raise ValueError(f"eps must be in (0, 1], got {eps!r}.")
        c_min = logistic_c_min(X, y, l1_ratio=l1_ratio, fit_intercept=fit_intercept,
                               sample_weight=sample_weight, class_weight=class_weight,
                               penalty_factor=penalty_factor)
        if not np.isfinite(c_min):
            raise ValueError("X^T (y - p0) is zero: every C gives zero coefficients; "
                             "pass an explicit grid of Cs.")
        Cs = c_min * np.geomspace(1.0, 1.0 / eps, n_Cs)
    else:
        Cs = np.sort(np.asarray(Cs, dtype=np.float64).ravel())
        if Cs.size == 0 or not np.all(np.isfinite(Cs)) or np.any(Cs <= 0):
            raise ValueError("Cs must be a non-empty array of positive finite values.")
    y_pm = np.where(y_idx == 1, 1.0, -1.0)
    pb = prepare_logistic(X, y_pm, sw_n, fit_intercept)
    has_free = v is not None and bool(np.any(v == 0))
    w, b = None, None
    columns, intercepts, gaps, iters = [], [], [], []
    t0 = time.perf_counter()
    # Ctrl-C only sets a flag that solve_logistic polls (see enet_path).
    with path_interrupt(on_interrupt, lambda: f"{len(iters)} of {len(Cs)} Cs") as run:
        for k, C in enumerate(Cs):
            lam = n_samples / (C * total)
            scale = C * total / n_samples
            res = solve_logistic(X, pb, lam, l1_ratio, v, tol=tol, max_iter=max_iter,
                                 w_init=w, b_init=b, screening=screening, verbose=verbose,
                                 cancel=run.token if _cancel is None else _cancel,
                                 tol_scale=tol_scale)
            warn_if_needed(res, max_iter, scale, "", has_free)
            w, b = res.coef, res.intercept
            nz = np.flatnonzero(w)
            columns.append((nz, w[nz].copy()))
            intercepts.append(b)
            gaps.append(res.dual_gap * scale)
            iters.append(res.n_iter)
            if callback is not None and callback(PathProgress(
                    index=k, n_alphas=len(Cs), alpha=float(C), dual_gap=gaps[-1],
                    n_nonzero=int(nz.size), ws_size=0,
                    elapsed=time.perf_counter() - t0, result=res)):
                break
    interrupted = run.interrupted
    # An interrupt can land between two of the appends above.
    count = min(len(columns), len(intercepts), len(gaps), len(iters))
    columns, intercepts, gaps, iters = (columns[:count], intercepts[:count],
                                        gaps[:count], iters[:count])
    Cs = Cs[:count]
    indptr = np.cumsum([0] + [c[0].shape[0] for c in columns])
    coefs = sp.csc_matrix(
        (np.concatenate([c[1] for c in columns]) if columns else np.zeros(0),
         np.concatenate([c[0] for c in columns]) if columns else np.zeros(0, int),
         indptr), shape=(n_features, len(Cs)))
    if coef_format == "dense":
        coefs = coefs.toarray()
    return LogisticPathResult(Cs=Cs, coefs=coefs, intercepts=np.array(intercepts),
                              dual_gaps=np.array(gaps), n_iters=np.array(iters),
                              classes=classes, interrupted=interrupted)
