"""Regularization paths: Lasso / elastic net over a decreasing grid of alphas.

One validated problem (:func:`fastsparse._solver.prepare_problem`) serves the whole path.
Each alpha is solved by :func:`fastsparse._solver.solve_enet`, warm-started from the
previous solution, with its first working set seeded by the sequential strong rule
(Tibshirani et al., JRSS-B 2012): feature j is kept when

    |x_c,j^T (s r_prev)| / n >= l1_ratio * v_j * (2 alpha_k - alpha_{k-1}),

r_prev the residual at alpha_{k-1}, plus the previous support. The strong rule is a
heuristic and can miss a feature that becomes active; that costs time, never accuracy,
because ``solve_enet`` stops on the duality gap over *all* features, so every alpha of the
path is certified by its own gap (``dual_gaps``).

Automatic grid (:func:`alpha_grid`): ``alpha_max`` is the smallest alpha at which every
penalized coefficient is zero,

    alpha_max = max over penalized j of |x_c,j^T (s r0)| / (n * l1_ratio * v_j),

r0 the residual of the null model (intercept plus the unpenalized features, fitted by
least squares; just ``y - ybar`` without penalty factors). X is never centered: with an
intercept ``s r0`` sums to zero, so ``x_c,j^T (s r0) = x_j^T (s r0)``. The grid is
geometric from ``alpha_max`` down to ``eps * alpha_max``, as in scikit-learn.

Differences from :func:`sklearn.linear_model.enet_path`:

- ``fit_intercept=True`` by default (scikit-learn's path has no intercept and expects
  centered data); the intercepts are returned as the attribute ``intercepts`` of the
  result, which still unpacks as ``alphas, coefs, dual_gaps[, n_iters]``.
- sample weights, penalty factors, sparse coefficient matrices (``coef_format``), optional
  glmnet-style early stopping and a per-alpha ``callback``.
- ``n_iters`` counts outer (working-set) iterations, not epochs over all features, and
  ``max_iter`` bounds them per alpha.
"""

import math
import time
from numbers import Integral
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from . import _gram_cd as GC
from . import _kernels as K
from . import _mmap_passes as MP
from ._interrupt import path_interrupt
from ._parallel import xt_dot_full
from ._sparse_ops import dot
from ._solver import (
    _usable_features,
    column_stats,
    prepare_problem,
    solve_enet,
    unpenalized_gram_pinv,
)
from ._validation import (
    check_bool_param,
    check_csc,
    check_option,
    check_penalty_factor,
    check_sample_weight,
    check_scalar_param,
    check_target,
    check_tol_scale,
)

__all__ = ["PathProgress", "PathResult", "alpha_grid", "enet_path", "lasso_path"]

#: ``coef_format="auto"`` returns a sparse coefficient matrix above this many features.
AUTO_SPARSE_MIN_FEATURES = 10_000
#: Early stopping (glmnet's ``fdev``): stop when the fraction of deviance explained grows
#: by less than this, relative to its value, from one alpha to the next.
EARLY_STOP_FDEV = 1e-5
#: Early stopping (glmnet's ``devmax``): stop when the fraction of deviance explained
#: exceeds this.
EARLY_STOP_DEVMAX = 0.999
#: Early stopping is only considered from this many alphas on (glmnet's ``mnlam``).
EARLY_STOP_MIN_ALPHAS = 5

_TOL_DOC = """\
    tol : float, default=1e-4
        Stopping tolerance of every alpha, relative to the null model: alpha_k is solved
        until its duality gap satisfies ``G <= tol * sum_i s_i (y_i - ybar)^2 / n``
        (scikit-learn's criterion, ``ybar = 0`` without intercept), or, with
        ``tol_scale="objective"``, ``G <= tol * P_k`` with P_k the objective reached.
        ``dual_gaps[k]`` reports the reached gap, so each point of the path is certified.
    tol_scale : {"null_deviance", "objective"}, default="null_deviance"
        What ``tol`` is relative to. "objective" makes ``tol`` the relative duality gap
        G / P of every alpha (the objective is then within a factor 1 + tol of the
        optimum). Near the end of a path P is often orders of magnitude below the null
        deviance, so a fixed "null_deviance" tolerance is either too loose there or
        needlessly tight at the first alphas."""


class PathResult(tuple):
    """Result of :func:`enet_path`: a tuple that also carries named attributes.

    As a tuple it is ``(alphas, coefs, dual_gaps)``, or ``(alphas, coefs, dual_gaps,
    n_iters)`` with ``return_n_iter=True``: the positional return values of
    :func:`sklearn.linear_model.enet_path`, so ``alphas, coefs, gaps = enet_path(X, y)``
    works as in scikit-learn.

    Attributes
    ----------
    alphas : ndarray of shape (n_alphas,)
        The alphas along the path, decreasing. Shorter than requested when early stopping
        or the callback ended the path.
    coefs : ndarray or scipy.sparse CSC matrix of shape (n_features, n_alphas)
        Coefficients at each alpha, in the dtype of X.
    dual_gaps : ndarray of shape (n_alphas,)
        Duality gap of each solution (objective divided by n, as scikit-learn's).
    n_iters : ndarray of shape (n_alphas,)
        Outer (working-set) iterations of each solve.
    intercepts : ndarray of shape (n_alphas,)
        Intercept at each alpha (zeros when ``fit_intercept=False``).
    dev_ratios : ndarray of shape (n_alphas,)
        Fraction of the null deviance explained, ``1 - sum s r^2 / sum s (y - ybar)^2``
        (glmnet's ``dev.ratio``).
    n_nonzero : ndarray of shape (n_alphas,)
        Number of non-zero coefficients at each alpha (glmnet's ``df``).
    alpha_max : float
        Smallest alpha at which all penalized coefficients are zero (``inf`` when
        ``l1_ratio=0``).
    converged : ndarray of bool of shape (n_alphas,)
        Whether each solve reached ``tol``.
    interrupted : bool
        True when Ctrl-C ended the path early and ``on_interrupt="return"`` returned the
        alphas finished until then.
    """

    _FIELDS = ("alphas", "coefs", "dual_gaps", "n_iters", "intercepts", "dev_ratios",
               "n_nonzero", "alpha_max", "converged", "interrupted")

    def __new__(cls, *, return_n_iter=False, **fields):
        items = (fields["alphas"], fields["coefs"], fields["dual_gaps"])
        if return_n_iter:
            items += (fields["n_iters"],)
        self = super().__new__(cls, items)
        for name in cls._FIELDS:
            setattr(self, name, fields[name])
        self.return_n_iter = bool(return_n_iter)
        return self

    def __reduce__(self):
        fields = {name: getattr(self, name) for name in self._FIELDS}
        return (_rebuild_path_result, (self.return_n_iter, fields))


def _rebuild_path_result(return_n_iter, fields):
    return PathResult(return_n_iter=return_n_iter, **fields)


class PathProgress(NamedTuple):
    """What a path's ``callback`` receives after each alpha.

    Attributes
    ----------
    index : int
        Position of the alpha in the grid (0-based).
    n_alphas : int
        Length of the grid.
    alpha : float
        The alpha just solved.
    dual_gap : float
        Its duality gap (objective divided by n, as ``dual_gaps``).
    n_nonzero : int
        Number of non-zero coefficients.
    ws_size : int
        Size of the solver's last working set.
    elapsed : float
        Seconds since the path started.
    result : EnetResult
        The solver's full result (``coef``, ``intercept``, ``n_iter``, ``n_epochs``,
        ``n_screened``, ``converged``, ...); ``coef`` is reused by the next alpha:
        copy it to keep it.
    """

    index: int
    n_alphas: int
    alpha: float
    dual_gap: float
    n_nonzero: int
    ws_size: int
    elapsed: float
    result: object


class _Step:
    """One solved alpha from :func:`_iter_path` (``residual`` is a reused buffer)."""

    __slots__ = ("k", "alpha", "result", "residual", "dev_ratio")

    def __init__(self, k, alpha, result, residual, dev_ratio):
        self.k = k
        self.alpha = alpha
        self.result = result
        self.residual = residual
        self.dev_ratio = dev_ratio


def _null_model(X, pb, penalty_factor, usable):
    """Fit of the unpenalized part of the model, its residual and gradient.

    Returns ``(w0, r0, g0)``: ``w0`` the least-squares coefficients of the unpenalized
    features (penalty factor 0) with every penalized one at zero, ``r0`` the centered
    residual and ``g0[k] = x_c,j^T (s r0)`` for ``j = usable[k]``. Without unpenalized
    features ``w0 = 0`` and ``r0 = y - ybar``.
    """
    n, p = pb.n_samples, pb.n_features
    args = (pb.data, pb.indices, pb.indptr)
    w0 = np.zeros(p)
    if penalty_factor is not None:
        free = np.flatnonzero((penalty_factor == 0.0) & (pb.sqnorm_f32 > 0.0))
        if free.size:
            xbar_free = column_stats(pb, free)[0]
            pinv = unpenalized_gram_pinv(X, pb, free, xbar_free)
            sy = pb.y_c * pb.sw if pb.weighted else pb.y_c
            rhs = np.empty(free.size)
            # x_c^T (s y_c) = x^T (s y_c): s y_c sums to zero when there is an intercept.
            K.xt_dot(*args, free, sy, rhs)
            w0[free] = pinv @ rhs
    r0 = np.empty(n)
    shift = _residual(pb)(*args, pb.y_c, w0, pb.sw, pb.weighted, pb.fit_intercept, r0)
    r0 += shift
    sr = r0 * pb.sw if pb.weighted else r0
    g0 = np.empty(usable.shape[0])
    xt_dot_full(*args, usable, sr, g0)
    return w0, r0, g0


def _alpha_max_from_gradient(g, usable, penalty_factor, n, l1_ratio, positive):
    """alpha_max = max over penalized usable j of |g_j| / (n l1_ratio v_j)."""
    gs = g if positive else np.abs(g)
    if penalty_factor is not None:
        v = penalty_factor[usable]
        pen = v > 0
        gs = gs[pen] / v[pen]
    top = float(gs.max()) if gs.size else 0.0
    top = max(top, 0.0)
    if l1_ratio == 0:
        return math.inf
    return top / (n * l1_ratio)


def _rounding_alpha(pb):
    """The largest alpha_max that rounding noise alone can produce on this problem.

    For a constant y the centered target is rounding noise of about eps |y| per entry,
    so |x_j^T y_c| / n stays below eps max|y| ||x_j|| sqrt(n) / n (Cauchy-Schwarz); four
    times that bound is returned. It scales with the data, where scikit-learn's fixed
    cutoff (1e-15) does not: with X and y both in units of 1e-8, alpha_max is about 1e-16
    and the fixed cutoff gave a flat grid of all-zero fits, silently.
    """
    n = pb.n_samples
    if n == 0:
        return 0.0
    y_scale = abs(float(pb.y_offset)) + float(np.max(np.abs(pb.y_c)))
    x_scale = float(np.sqrt(np.max(pb.sqnorm_f32))) if pb.sqnorm_f32.size else 0.0
    return 4.0 * np.finfo(np.float64).eps * y_scale * x_scale * np.sqrt(n) / n


def _geometric_grid(alpha_max, eps, n_alphas, noise_alpha=np.inf):
    """Decreasing geometric grid from alpha_max to eps * alpha_max.

    As scikit-learn, a degenerate problem (y constant, or X zero) gets a flat grid at
    1e-15 (``finfo.resolution``): when alpha_max is at most 1e-15 *and* at most
    ``noise_alpha`` (:func:`_rounding_alpha`), i.e. when it can be rounding noise. A
    small alpha_max that rounding cannot explain (small units) keeps its grid.
    """
    resolution = np.finfo(np.float64).resolution
    if alpha_max <= min(resolution, noise_alpha):
        return np.full(n_alphas, resolution)
    return np.geomspace(alpha_max, alpha_max * eps, num=n_alphas)


def _check_grid_params(l1_ratio, eps, n_alphas, alphas):
    """Validate the grid parameters; returns (n_alphas, user alphas sorted or None)."""
    check_scalar_param(l1_ratio, "l1_ratio", low=0.0, high=1.0)
    # eps > 1 made an increasing grid (alpha_max up to eps * alpha_max, every
    # coefficient zero), against the documented decreasing alphas; (0, 1] as
    # logistic_path and StabilitySelection.
    check_scalar_param(eps, "eps")  # a finite real number; the range below
    if not 0 < eps <= 1:
        raise ValueError(f"eps must be in (0, 1], got {eps!r}.")
    if alphas is not None and isinstance(alphas, Integral) and not isinstance(alphas, bool):
        n_alphas, alphas = alphas, None  # scikit-learn >= 1.7: alphas=<int> is a count
    check_scalar_param(n_alphas, "n_alphas", low=1, integer=True)
    if alphas is None:
        if l1_ratio == 0:
            raise ValueError(
                "Automatic alpha grid generation is not supported for l1_ratio=0. "
                "Please supply a grid with the `alphas=` argument."
            )
        return int(n_alphas), None
    a = np.asarray(alphas)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"alphas must be numeric, got dtype {a.dtype}.")
    a = np.array(a, dtype=np.float64).ravel()
    if np.ndim(alphas) != 1 or a.size == 0:
        raise ValueError(
            f"alphas must be a non-empty 1-D array, got shape {np.shape(alphas)}.")
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError("alphas must be finite and non-negative.")
    return a.size, np.sort(a)[::-1]


def _validate_inputs(X, y, sample_weight, penalty_factor):
    """The checks of :mod:`fastsparse._validation`, once for a whole path (or CV)."""
    X = check_csc(X)
    if sp.issparse(y):
        y = y.toarray()
    y = check_target(y, X.shape[0])
    sw = check_sample_weight(sample_weight, X.shape[0])
    v = (None if penalty_factor is None
         else check_penalty_factor(penalty_factor, X.shape[1]))
    return X, y, sw, v


def alpha_grid(X, y, *, l1_ratio=1.0, eps=1e-3, n_alphas=100, fit_intercept=True,
               sample_weight=None, penalty_factor=None, positive=False):
    """Geometric grid of alphas from alpha_max down to ``eps * alpha_max``.

    ``alpha_max`` is the smallest alpha for which every penalized coefficient is zero:
    ``max_j |x_c,j^T (s r0)| / (n * l1_ratio * v_j)`` over the penalized features, with
    r0 the residual of the intercept-and-unpenalized-features model (scikit-learn's
    ``_alpha_grid`` when there are no penalty factors). X is never centered or copied.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    l1_ratio : float, default=1.0
        Must be > 0 (there is no finite alpha_max for a pure ridge penalty).
    eps : float, default=1e-3
        ``alpha_min / alpha_max``, in (0, 1] (ValueError otherwise; 1 gives a flat grid
        at alpha_max).
    n_alphas : int, default=100
    fit_intercept : bool, default=True
    sample_weight : array-like of shape (n_samples,), default=None
    penalty_factor : array-like of shape (n_features,), default=None
    positive : bool, default=False
        Only positive correlations count (features with negative ones never enter).

    Returns
    -------
    alphas : ndarray of shape (n_alphas,)
        Decreasing.
    """
    n_alphas, _ = _check_grid_params(l1_ratio, eps, n_alphas, None)
    fit_intercept = check_bool_param(fit_intercept, "fit_intercept")
    positive = check_bool_param(positive, "positive")
    X, y, sw, v = _validate_inputs(X, y, sample_weight, penalty_factor)
    pb = prepare_problem(X, y, sw, fit_intercept)
    usable = _usable_features(pb)
    _, _, g0 = _null_model(X, pb, v, usable)
    a_max = _alpha_max_from_gradient(g0, usable, v, pb.n_samples, l1_ratio, positive)
    return _geometric_grid(a_max, eps, n_alphas, _rounding_alpha(pb))


def _iter_path(X, pb, alphas, l1_ratio, penalty_factor, *, positive=False, tol=1e-4,
               max_iter=100, w_init=None, strong_rule=True, screening=True,
               early_stopping=False, verbose=0, null_model=None, cancel=None,
               gram_budget=0, tol_scale="null_deviance"):
    """Solve along ``alphas`` (decreasing), yielding one :class:`_Step` per alpha.

    ``step.residual`` is the centered residual ``y - X w - b`` over all rows, in a buffer
    reused by the next step (copy it to keep it). ``null_model`` is ``(usable, w0, g0,
    alpha_max)`` when the caller has already computed it. ``cancel`` (a
    :class:`~fastsparse._interrupt.Cancellation`) is polled by every solve.
    ``gram_budget`` (bytes) lets the solves keep the Gram matrix of the working-set
    columns across alphas (:class:`~fastsparse._gram_cd.GramCache`, at most
    ``gram_budget`` bytes); 0 disables it.
    """
    n = pb.n_samples
    gram_cache = _gram_cache(pb, gram_budget)
    residual = _residual(pb)
    args = (pb.data, pb.indices, pb.indptr)
    if null_model is None:
        usable = _usable_features(pb)
        w0, _, g0 = _null_model(X, pb, penalty_factor, usable)
        a_max = _alpha_max_from_gradient(g0, usable, penalty_factor, n, l1_ratio, positive)
    else:
        usable, w0, g0, a_max = null_model
    v_usable = None if penalty_factor is None else penalty_factor[usable]

    if w_init is None:
        w = w0
        g_prev = g0.copy() if strong_rule else None
        a_prev = max(a_max, float(alphas[0])) if len(alphas) else a_max
    else:
        # A user start point: its gradient is unknown, so no strong rule at the first alpha.
        w = np.array(w_init, dtype=np.float64)
        g_prev = None
        a_prev = None
    g = np.empty(usable.shape[0]) if strong_rule else None
    r = np.empty(n)
    prev_dev_ratio = 0.0
    null_dev = pb.null_deviance
    for k, alpha in enumerate(alphas):
        alpha = float(alpha)
        seed = None
        if strong_rule and g_prev is not None and l1_ratio > 0:
            thr = n * l1_ratio * (2.0 * alpha - a_prev)
            gs = g_prev if positive else np.abs(g_prev)
            keep = gs >= (thr if v_usable is None else thr * v_usable)
            seed = np.union1d(usable[keep], np.flatnonzero(w))
        res = solve_enet(X, pb, alpha, l1_ratio, penalty_factor, positive=positive,
                         tol=tol, max_iter=max_iter, w_init=w, ws_init=seed,
                         screening=screening, verbose=max(verbose - 1, 0),
                         cancel=cancel, gram_cache=gram_cache, tol_scale=tol_scale)
        w = res.coef
        shift = residual(*args, pb.y_c, w, pb.sw, pb.weighted, pb.fit_intercept, r)
        r += shift
        sr = r * pb.sw if pb.weighted else r
        dev = dot(sr, r)  # not np.dot: see fastsparse._sparse_ops.dot
        dev_ratio = 1.0 - dev / null_dev if null_dev > 0 else 0.0
        if strong_rule and k + 1 < len(alphas):
            if res.gradient is not None:
                # The solver's certification pass already computed X_c^T (s r).
                g_prev = res.gradient
            else:
                xt_dot_full(*args, usable, sr, g)
                g_prev, g = g, (g_prev if g_prev is not None else np.empty_like(g))
            a_prev = alpha
        yield _Step(k, alpha, res, r, dev_ratio)
        if early_stopping and k + 1 >= EARLY_STOP_MIN_ALPHAS:
            if (dev_ratio - prev_dev_ratio < EARLY_STOP_FDEV * dev_ratio
                    or dev_ratio > EARLY_STOP_DEVMAX):
                return
        prev_dev_ratio = dev_ratio


#: Memory the Gram cache of a path may take: twice X's arrays, and at least 32 MiB
#: (1448 columns) so that small and medium problems can use it at all. A working set
#: larger than the cache's side runs the plain kernel.
GRAM_BUDGET_X_RATIO = 2.0
GRAM_BUDGET_MIN = 32 << 20


def path_gram_budget(pb):
    """Bytes the Gram cache of one path over ``pb`` may use (0 for memory-mapped X).

    A memory-mapped X is there to keep the resident memory small, so no cache.
    """
    if pb.mapped:
        return 0
    x_bytes = pb.data.nbytes + pb.indices.nbytes + pb.indptr.nbytes
    return int(max(GRAM_BUDGET_X_RATIO * x_bytes, GRAM_BUDGET_MIN))


def _gram_cache(pb, budget):
    """A :class:`~fastsparse._gram_cd.GramCache` of at most ``budget`` bytes, or None."""
    side = min(int(np.sqrt(budget / 8.0)), GC.MAX_CACHE_SIDE) if budget > 0 else 0
    if side < 16:
        return None
    return GC.GramCache(pb.data, pb.indices, pb.indptr, pb.n_samples, pb.sw, pb.weighted,
                        max_size=side)


def _residual(pb):
    """The residual kernel for ``pb``: column blocks with released pages for a
    memory-mapped X (:func:`fastsparse._mmap_passes.residual`, same result)."""
    return MP.residual if pb.mapped else K.residual


def _progress(total, verbose, desc):
    """A tqdm progress bar when ``verbose`` and tqdm is installed, else None."""
    if not verbose:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, leave=False)


def _sparse_container(X):
    return sp.csc_array if isinstance(X, sp.sparray) else sp.csc_matrix


def enet_path(X, y, *, l1_ratio=0.5, eps=1e-3, n_alphas=100, alphas=None,
              fit_intercept=True, sample_weight=None, penalty_factor=None, positive=False,
              tol=1e-4, max_iter=100, coef_init=None, return_n_iter=False,
              coef_format="auto", early_stopping=False, strong_rule=True, screening=True,
              verbose=0, callback=None, on_interrupt="raise", tol_scale="null_deviance",
              _cancel=None):
    """Elastic-net path by warm-started, certified coordinate descent.

    Solves, for each alpha of a decreasing grid::

        1/(2n) sum_i s_i (y_i - x_i.w - b)^2
            + alpha sum_j v_j (l1_ratio |w_j| + (1 - l1_ratio)/2 w_j^2)

    (s the sample weights rescaled to sum to n, v the penalty factors, b the intercept).
    X is validated once and never copied when it is a canonical CSC matrix.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Training data; converted to CSC once if needed.
    y : array-like of shape (n_samples,)
        Target.
    l1_ratio : float, default=0.5
        Mix of L1 (1) and L2 (0) penalties. ``l1_ratio=0`` requires explicit ``alphas``.
    eps : float, default=1e-3
        Length of the automatic grid: ``alpha_min = eps * alpha_max``, in (0, 1]
        (ValueError otherwise, also when ``alphas`` is given; 1 gives a flat grid at
        alpha_max).
    n_alphas : int, default=100
        Number of alphas of the automatic grid.
    alphas : array-like or int, default=None
        Alphas to use (sorted decreasingly, as scikit-learn does). None computes the grid
        (see :func:`alpha_grid`); an int is the number of alphas of the automatic grid
        (scikit-learn >= 1.7 spelling).
    fit_intercept : bool, default=True
        Fit an unpenalized intercept (X is centered implicitly, never copied). Differs
        from scikit-learn's ``enet_path``, which never fits one: pass False to compare
        with it on raw data.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights, rescaled to sum to n_samples (zero weights are allowed:
        those rows are ignored by the fit).
    penalty_factor : array-like of shape (n_features,), default=None
        Per-feature penalty multipliers (glmnet's ``penalty.factor``); 0 leaves a feature
        unpenalized (at most 2000 such features). The automatic grid accounts for them.
    positive : bool, default=False
        Constrain the coefficients to be non-negative.
{tol}
    max_iter : int, default=100
        Maximum outer (working-set) iterations per alpha.
    coef_init : array-like of shape (n_features,), default=None
        Start point of the first alpha (the strong rule is skipped there).
    return_n_iter : bool, default=False
        Also return the iteration counts as a fourth element.
    coef_format : {"auto", "dense", "sparse"}, default="auto"
        ``"dense"``: an ndarray of shape (n_features, n_alphas); ``"sparse"``: a CSC
        matrix of that shape (one column per alpha, only the non-zeros stored);
        ``"auto"``: sparse when n_features > {auto_sparse}.
    early_stopping : bool, default=False
        glmnet's rule: from the {min_alphas}th alpha on, end the path when the fraction of
        deviance explained grows by less than {fdev} (relative) from the previous alpha,
        or exceeds {devmax}. The returned arrays are then shorter than the grid. Use it
        with a tight ``tol`` (glmnet's default is 1e-7): with a loose one the warm start
        can already satisfy ``tol`` at the next alpha, leaving the deviance unchanged
        and stopping the path early.
    strong_rule : bool, default=True
        Seed each working set with the sequential strong rule (a speed-up only: every
        alpha is certified by its gap over all features whatever the rule says).
    screening : bool, default=True
        Gap Safe screening inside each solve.
    verbose : int, default=0
        1: progress bar over the alphas (with tqdm when installed, otherwise one line
        per alpha); 2 and more also print the solver's outer iterations.
    callback : callable, default=None
        Called after each alpha as ``callback(progress)`` with a :class:`PathProgress`
        (alpha index, alpha, duality gap, number of non-zeros, working-set size, elapsed
        seconds and the solver's full result). Returning True ends the path after this
        alpha (the result then holds the alphas solved so far).
    on_interrupt : {"raise", "return"}, default="raise"
        What Ctrl-C (``KeyboardInterrupt``) during the path does: ``"raise"`` propagates
        it; ``"return"`` stops within one outer iteration and returns the alphas finished
        so far (each certified as usual; the interrupted alpha is dropped), with
        ``interrupted=True`` on the result and a warning.

    Returns
    -------
    result : PathResult
        Unpacks as ``alphas, coefs, dual_gaps`` (plus ``n_iters`` with
        ``return_n_iter=True``), like scikit-learn's ``enet_path``; also has the
        attributes ``intercepts``, ``dev_ratios``, ``n_nonzero``, ``alpha_max`` and
        ``converged`` (see :class:`PathResult`). ``coefs`` has the dtype of X.

    See Also
    --------
    lasso_path : The same with ``l1_ratio=1``.
    fastsparse.ElasticNetCV : Chooses alpha (and l1_ratio) by cross-validation.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from fastsparse import enet_path
    >>> X = sp.random(100, 50, density=0.1, format="csc", random_state=0)
    >>> y = X @ ([1.0] * 5 + [0.0] * 45)
    >>> alphas, coefs, gaps = enet_path(X, y, n_alphas=10)
    >>> coefs.shape
    (50, 10)
    """
    n_grid, user_alphas = _check_grid_params(l1_ratio, eps, n_alphas, alphas)
    fit_intercept = check_bool_param(fit_intercept, "fit_intercept")
    positive = check_bool_param(positive, "positive")
    return_n_iter = check_bool_param(return_n_iter, "return_n_iter")
    early_stopping = check_bool_param(early_stopping, "early_stopping")
    strong_rule = check_bool_param(strong_rule, "strong_rule")
    screening = check_bool_param(screening, "screening")
    check_scalar_param(tol, "tol", low=0.0)
    check_tol_scale(tol_scale)
    check_scalar_param(max_iter, "max_iter", low=1, integer=True)
    check_option(coef_format, "coef_format", ("auto", "dense", "sparse"))
    if callback is not None and not callable(callback):
        raise TypeError("callback must be callable.")
    check_option(on_interrupt, "on_interrupt", ("raise", "return"))
    X, y, sw, v = _validate_inputs(X, y, sample_weight, penalty_factor)
    n, p = X.shape
    if coef_init is not None:
        coef_init = np.asarray(coef_init, dtype=np.float64)
        if coef_init.shape != (p,):
            raise ValueError(f"coef_init must have shape ({p},), got {coef_init.shape}.")
        if not np.all(np.isfinite(coef_init)):
            raise ValueError("coef_init contains NaN or infinity.")
    pb = prepare_problem(X, y, sw, fit_intercept)
    usable = _usable_features(pb)
    w0, _, g0 = _null_model(X, pb, v, usable)
    a_max = _alpha_max_from_gradient(g0, usable, v, n, l1_ratio, positive)
    grid = (_geometric_grid(a_max, eps, n_grid, _rounding_alpha(pb)) if user_alphas is None
            else user_alphas)

    sparse_out = coef_format == "sparse" or (
        coef_format == "auto" and p > AUTO_SPARSE_MIN_FEATURES)
    m = grid.shape[0]
    dense = None if sparse_out else np.zeros((p, m), dtype=X.dtype)
    sp_idx, sp_val = [], []
    gaps, n_iters = np.empty(m), np.empty(m, dtype=np.int64)
    intercepts, dev_ratios = np.empty(m), np.empty(m)
    n_nonzero, converged = np.empty(m, dtype=np.int64), np.empty(m, dtype=bool)

    bar = _progress(m, verbose, "path")
    t0 = time.perf_counter()
    count = 0
    # Ctrl-C sets a flag that the solver polls between outer iterations (see
    # fastsparse._interrupt.deferred_sigint): a KeyboardInterrupt raised inside a
    # compiled call's dispatch surfaced as a SystemError, which on_interrupt missed.
    with path_interrupt(on_interrupt, lambda: f"{count} of {m} alphas") as run:
        steps = _iter_path(X, pb, grid, l1_ratio, v, positive=positive, tol=tol,
                           max_iter=max_iter, w_init=coef_init, strong_rule=strong_rule,
                           screening=screening, early_stopping=early_stopping,
                           verbose=verbose, null_model=(usable, w0, g0, a_max),
                           # private: how parallel callers (stability selection) stop this
                           # path from the main thread on Ctrl-C
                           cancel=run.token if _cancel is None else _cancel,
                           gram_budget=path_gram_budget(pb),
                           tol_scale=tol_scale)
        try:
            for step in steps:
                k, res = step.k, step.result
                nz = np.flatnonzero(res.coef)
                if sparse_out:
                    sp_idx.append(nz)
                    sp_val.append(res.coef[nz].astype(X.dtype))
                else:
                    dense[nz, k] = res.coef[nz]
                gaps[k], n_iters[k] = res.dual_gap, res.n_iter
                intercepts[k], dev_ratios[k] = res.intercept, step.dev_ratio
                n_nonzero[k], converged[k] = nz.size, res.converged
                count = k + 1
                elapsed = time.perf_counter() - t0
                if bar is not None:
                    bar.set_postfix(alpha=f"{step.alpha:.3g}", nnz=nz.size,
                                    gap=f"{res.dual_gap:.2e}", refresh=False)
                    bar.update(1)
                elif verbose:
                    print(f"[fastsparse] path {k + 1:3d}/{m}  alpha {step.alpha:.4e}  "
                          f"nnz {nz.size}  gap {res.dual_gap:.3e}  "
                          f"dev {step.dev_ratio:.4f}  iters {res.n_iter}  {elapsed:.2f}s")
                if callback is not None and callback(PathProgress(
                        index=k, n_alphas=m, alpha=step.alpha, dual_gap=res.dual_gap,
                        n_nonzero=int(nz.size), ws_size=res.ws_size, elapsed=elapsed,
                        result=res)):
                    break
        finally:
            steps.close()
            if bar is not None:
                bar.close()
    interrupted = run.interrupted

    if sparse_out:
        # An interrupt can land between appending a column and counting it.
        sp_idx, sp_val = sp_idx[:count], sp_val[:count]
        indptr = np.zeros(count + 1, dtype=np.int64)
        np.cumsum([a.size for a in sp_idx], out=indptr[1:])
        idx_dtype = np.int32 if max(p, indptr[-1]) < 2**31 - 1 else np.int64
        indices = (np.concatenate(sp_idx).astype(idx_dtype, copy=False) if sp_idx
                   else np.zeros(0, dtype=idx_dtype))
        data = np.concatenate(sp_val) if sp_val else np.zeros(0, dtype=X.dtype)
        coefs = _sparse_container(X)((data, indices, indptr.astype(idx_dtype)),
                                     shape=(p, count))
    else:
        coefs = dense[:, :count] if count < m else dense
    return PathResult(
        return_n_iter=return_n_iter, alphas=grid[:count], coefs=coefs,
        dual_gaps=gaps[:count], n_iters=n_iters[:count], intercepts=intercepts[:count],
        dev_ratios=dev_ratios[:count], n_nonzero=n_nonzero[:count], alpha_max=a_max,
        converged=converged[:count], interrupted=interrupted,
    )


for _key, _value in {
    "{tol}": _TOL_DOC, "{auto_sparse}": f"{AUTO_SPARSE_MIN_FEATURES:,}",
    "{min_alphas}": str(EARLY_STOP_MIN_ALPHAS), "{fdev}": str(EARLY_STOP_FDEV),
    "{devmax}": str(EARLY_STOP_DEVMAX),
}.items():
    enet_path.__doc__ = enet_path.__doc__.replace(_key, _value)


def lasso_path(X, y, *, eps=1e-3, n_alphas=100, alphas=None, **kwargs):
    """Lasso path: :func:`enet_path` with ``l1_ratio=1``.

    Solves, for each alpha of a decreasing grid::

        1/(2n) sum_i s_i (y_i - x_i.w - b)^2 + alpha sum_j v_j |w_j|

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    eps : float, default=1e-3
        ``alpha_min / alpha_max`` of the automatic grid, in (0, 1] (ValueError
        otherwise, also when ``alphas`` is given).
    n_alphas : int, default=100
        Number of alphas of the automatic grid.
    alphas : array-like or int, default=None
        Explicit alphas (sorted decreasingly), or the number of alphas.
    **kwargs
        Every other keyword argument of :func:`enet_path` (``fit_intercept``,
        ``sample_weight``, ``penalty_factor``, ``positive``, ``tol``, ``max_iter``,
        ``coef_init``, ``return_n_iter``, ``coef_format``, ``early_stopping``,
        ``strong_rule``, ``screening``, ``verbose``, ``callback``, ``on_interrupt``).

    Returns
    -------
    result : PathResult
        Unpacks as ``alphas, coefs, dual_gaps`` (plus ``n_iters`` with
        ``return_n_iter=True``); see :func:`enet_path`.
    """
    if "l1_ratio" in kwargs:
        raise TypeError("lasso_path() got an unexpected keyword argument 'l1_ratio'")
    return enet_path(X, y, l1_ratio=1.0, eps=eps, n_alphas=n_alphas, alphas=alphas,
                     **kwargs)
