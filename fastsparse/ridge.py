"""Ridge regression for sparse data: scikit-learn's ``Ridge`` / ``RidgeCV``, certified.

Objective (scikit-learn's Ridge convention, *not* divided by n)::

    ||y - X w - b||^2_S + alpha ||w||^2  =  sum_i S_i (y_i - x_i.w - b)^2 + alpha ||w||^2

with S the raw sample weights (not rescaled: multiplying every weight by c is the same as
dividing alpha by c, exactly as in scikit-learn) and b unpenalized. With unit weights this
is 2n times the elastic-net objective of :class:`fastsparse.ElasticNet` at
``l1_ratio = 0``, so

    alpha_ridge = n * alpha_enet * (1 - l1_ratio)     (and alpha_ridge = sum(S) * alpha_enet
                                                        with weights, l1_ratio = 0)

X is never densified, copied or centered: with an intercept every solver works on the
implicitly centered matrix X_c = X - 1 xbar^T (xbar the weighted column means) through
X_c v = X v - 1 (xbar.v) and X_c^T u = X^T u - xbar sum(u).

**Accuracy (``tol``).** Every solver stops when the coefficients are certified to be within
``tol`` in relative Euclidean norm of the exact minimizer, ``||w - w*|| <= tol ||w||``, per
target. The objective is strongly convex with modulus alpha_int = alpha * n / sum(S) (the
regularization in the scale of weights summing to n), hence ``||w - w*|| <= ||g|| /
alpha_int`` for the gradient g (the residual of the normal equations), ``||w - w*||^2 <=
2 G / alpha_int`` for any duality gap G (at the dual point "residual", G = ||g||^2 /
(2 alpha_int)), and ``||w - w*|| <= ||rho|| / (2 sqrt(alpha_int))`` for the residual rho of
the dual system (the sharp one, and the one the dual solver minimizes). The certificates
are recomputed from scratch on the returned coefficients (one pass over X each way);
``rel_error_bound_`` and ``dual_gap_`` report them. This is stricter than scikit-learn's
``tol`` for ``sparse_cg`` (relative residual ``||g|| / ||X^T y||``) or ``lsqr``, which does
not bound the error of the coefficients on ill-conditioned problems: on the rcv1-shaped
preset at alpha = 1e-3, ``tol=1e-4`` gave relative errors of 3.4e-4 (sparse_cg) and 2.4e-3
(lsqr), 6.2e-5 here.

**Speed** (``scripts/compare_peers.py --model ridge``, docs/benchmarks.md: time to the same
relative error of the coefficients, 1e-4 or 1e-6, against scikit-learn's fastest sparse
solver run with one BLAS thread, its best setting). For n_features >= n_samples (and for
tall X with >= 10 entries per row) ``"auto"`` solves the n x n dual system by conjugate
residuals, reading X once per iteration (a fused gather-scatter kernel) where CG on the
normal equations and scikit-learn read it twice, with the residual that certifies the
error as the quantity minimized. Measured on the shared 2-core machine: on one thread
1.14-1.34x faster than scikit-learn on the rcv1 shape and 1.56-1.69x on the news20 shape
(alpha = 1 and 1e-3); with the second core free, 1.96-2.17x (rcv1) and 2.4-3.1x (news20).
The threads are used only while no other process is runnable and while measured faster
(bit-identical results either way); busy cores made a parallel pass 10x slower than the
serial one. With its default threaded BLAS on busy cores scikit-learn's per-iteration dot
products stall (1.7-11x slower than fastsparse measured); the loop here uses no BLAS.
"""

import warnings
from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import check_scoring, r2_score
from sklearn.model_selection import check_cv
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from . import _ridge_solvers as RS
from ._interrupt import restore_on_interrupt
from .linear_model import _coef_in_dtype
from ._support import SupportMixin
from ._validation import (
    check_bool_param,
    check_csc,
    check_folds,
    check_sample_weight,
    check_scalar_param,
    check_sparse_structure,
    check_target,
)

__all__ = ["Ridge", "RidgeCV", "choose_solver"]

SOLVERS = ("auto", "cd", "cg", "dual", "cholesky")
#: scikit-learn solver names accepted for drop-in use, and what they run.
SOLVER_ALIASES = {"sparse_cg": "cg", "lsqr": "cg"}

#: ``solver="auto"`` considers a direct factorization only when the smaller side of X is
#: at most this (a dense m x m matrix of at most 128 MB).
AUTO_DIRECT_MAX = 4_000
#: ``solver="auto"`` uses the dual (kernel) iteration when n_features >= this times
#: n_samples, ...
AUTO_DUAL_RATIO = 1.0
#: ... or when X has at least this many stored entries per row: the dual reads X once
#: per iteration (the primal CG twice) but works on vectors of n entries. Measured on
#: tall generated data (20 k features): the dual was 1.33x faster than the primal CG at
#: 10 entries per row (200 k rows), 1.2x slower at 4 (400 k rows).
AUTO_DUAL_ROW_NNZ = 10.0
#: Cost of one sparse multiply-add in dense (BLAS) flops, for the auto rule: sparse
#: products are bound by memory and indexing (~1 GFlop/s measured on the rcv1 shape)
#: where a dense factorization runs at ~10 GFlop/s or more.
SPARSE_FLOP_COST = 10.0


def choose_solver(n_samples, n_features, nnz, alpha, positive=False, *, lambda_max=None,
                  product_nnz2=None, tol=1e-4):
    """The rule of ``solver="auto"``.

    1. ``positive=True``: ``"cd"`` (the only solver with the constraint).
    2. some ``alpha == 0``: ``"cg"`` (least squares; direct and dual need alpha > 0).
    3. ``m = min(n_samples, n_features) <= AUTO_DIRECT_MAX`` (4000) and a direct solve is
       estimated cheaper than CG: ``"cholesky"``. Costs in dense flops, a sparse
       multiply-add counting ``SPARSE_FLOP_COST`` (10):

       - direct: forming the m x m matrix (``product_nnz2`` multiply-adds: the sum of the
         squared column counts for the n x n kernel, of the squared row counts for the
         p x p Gram) plus ``m^3 / 3`` for the Cholesky factorization;
       - CG: ``k * (4 nnz SPARSE_FLOP_COST + 10 (n + p))`` with the textbook iteration
         count ``k = min(m, sqrt(kappa) ln(2 / tol) / 2)`` and ``kappa = 1 + lambda_max /
         min(alpha)`` (``lambda_max`` the largest eigenvalue of X_c^T S X_c, estimated by
         a few power iterations, alpha in the same internal scale).

       Without ``lambda_max`` the problem is assumed ill-conditioned (direct).
    4. ``n_samples > DUAL_DIRECT_MAX`` (4000) and either ``n_features >=
       AUTO_DUAL_RATIO * n_samples`` (1) or ``nnz >= AUTO_DUAL_ROW_NNZ * n_samples``
       (10 entries per row): ``"dual"`` — conjugate residuals on the n x n kernel
       system, one pass over X per iteration instead of the two of the primal CG
       (rcv1 and news20 shapes, one thread: 1.4-1.8x faster than the primal CG).
    5. otherwise ``"cg"`` (CG on the normal equations: for tall X with few entries
       per row, where the dual's vectors of n entries cost more than the second pass).

    Parameters
    ----------
    n_samples, n_features, nnz : int
    alpha : array-like of float
        Regularization(s), one per target (internal scale: weights summing to n).
    positive : bool, default=False
    lambda_max : float, default=None
    product_nnz2 : float, default=None
        Multiply-adds of the sparse product forming the smaller Gram matrix; None
        estimates it as ``nnz^2 / max(n_samples, n_features)`` (uniform counts).
    tol : float, default=1e-4

    Returns
    -------
    solver : str
    """
    alpha = np.atleast_1d(np.asarray(alpha, dtype=float))
    if positive:
        return "cd"
    if np.any(alpha == 0):
        return "cg"
    n, p = n_samples, n_features
    m = min(n, p)
    # "dual" factorizes the kernel up to n = DUAL_DIRECT_MAX: only above is it iterative.
    dual_cg = n > RS.DUAL_DIRECT_MAX and (p >= AUTO_DUAL_RATIO * n
                                          or nnz >= AUTO_DUAL_ROW_NNZ * n)
    iterative = "dual" if dual_cg else "cg"
    if m > AUTO_DIRECT_MAX:
        return iterative
    if lambda_max is None:
        return "cholesky"
    if product_nnz2 is None:
        product_nnz2 = nnz ** 2 / max(n, p)
    kappa = 1.0 + lambda_max / alpha.min()
    k = min(m, 0.5 * np.sqrt(kappa) * np.log(2.0 / max(tol, 1e-16)) + 1.0)
    cg_cost = k * (4.0 * nnz * SPARSE_FLOP_COST + 10.0 * (n + p))
    direct_cost = product_nnz2 * SPARSE_FLOP_COST + m ** 3 / 3.0
    return "cholesky" if direct_cost < cg_cost else iterative


def _auto_inputs(rd, n_power=8):
    """(lambda_max, product_nnz2) for :func:`choose_solver` (cheap: ~2 n_power products)."""
    counts = np.diff(rd.indptr) if rd.n <= rd.p else np.bincount(rd.indices, minlength=rd.n)
    product_nnz2 = float(np.sum(counts.astype(np.float64) ** 2))
    v = np.random.default_rng(0).standard_normal((rd.p, 1))
    lam = 0.0
    for _ in range(n_power):
        nv = float(np.sqrt(np.einsum("ij,ij->", v, v)))  # no BLAS: see _intercept
        if nv == 0.0:
            break
        v /= nv
        u = rd.zt(rd.z(v))
        lam = float(np.einsum("ij,ij->", v, u))
        v = u
    return lam, product_nnz2


# --------------------------------------------------------------------------------------
# Input handling shared by Ridge and RidgeCV
# --------------------------------------------------------------------------------------


def _check_targets(y, n_samples):
    """y -> (Y of shape (n, k) float64, whether y was 1-D)."""
    if sp.issparse(y):
        y = y.toarray()
    y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
    if y.ndim == 1:
        return check_target(y, n_samples)[:, None], True
    if y.ndim != 2 or y.shape[1] == 0:
        raise ValueError(f"y must be 1-D or 2-D with at least one column, got {y.shape}.")
    if y.shape[0] != n_samples:
        raise ValueError(f"y has {y.shape[0]} entries but X has {n_samples} rows.")
    return np.ascontiguousarray(y), False


def _raw_weights(sample_weight, n_samples):
    """(normalized weights or None, sum of the raw weights), as scikit-learn's Ridge.

    A scalar weight c is the same as every weight c (it scales the data term, i.e.
    divides alpha by c), unlike :func:`check_sample_weight`, which drops constants.
    """
    if sample_weight is None:
        return None, float(n_samples)
    if isinstance(sample_weight, Real) and not isinstance(sample_weight, bool):
        if not np.isfinite(sample_weight) or sample_weight <= 0:
            raise ValueError(f"sample_weight must be positive, got {sample_weight!r}.")
        sw, total = None, float(sample_weight) * n_samples
    else:
        raw = np.asarray(sample_weight)
        sw = check_sample_weight(raw, n_samples)  # checks; rescales to sum to n
        total = float(raw.astype(np.float64).sum())
    if not np.isfinite(total):
        # The raw sum scales alpha: inf made it alpha = 0 (least squares, wrongly warned
        # as alpha=0) and the reported dual gap inf or NaN.
        raise ValueError("sample_weight sums to more than the largest float64; rescale "
                         "the weights (and alpha with them).")
    return sw, total


def _check_alpha(alpha, n_targets, name="alpha"):
    """alpha -> array of shape (n_targets,) (a scalar or one value per target)."""
    if isinstance(alpha, Real) and not isinstance(alpha, bool):
        check_scalar_param(alpha, name, low=0.0)
        return np.full(n_targets, float(alpha))
    arr = np.asarray(alpha)
    if arr.dtype.kind not in "iuf" or arr.ndim > 1:
        raise TypeError(f"{name} must be a real number or a 1-D array of them, "
                        f"got {alpha!r}.")
    arr = arr.astype(np.float64).ravel()
    if arr.size not in (1, n_targets):
        raise ValueError(f"Number of targets and number of penalties do not correspond: "
                         f"{arr.size} != {n_targets}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must be finite and >= 0, got {alpha!r}.")
    return np.broadcast_to(arr, (n_targets,)).copy()


def _check_common(est):
    check_scalar_param(est.tol, "tol", low=0.0)
    if est.max_iter is not None:
        check_scalar_param(est.max_iter, "max_iter", low=1, integer=True)
    if est.solver not in SOLVERS and est.solver not in SOLVER_ALIASES:
        raise ValueError(f"solver must be one of {SOLVERS} (or the aliases "
                         f"{sorted(SOLVER_ALIASES)}), got {est.solver!r}.")


def _resolve(rd, a, solver, positive, tol=1e-4):
    """Validate the solver choice against the problem; returns the solver to run."""
    solver = SOLVER_ALIASES.get(solver, solver)
    if solver == "auto":
        if positive or np.any(a == 0) or min(rd.n, rd.p) > AUTO_DIRECT_MAX:
            return choose_solver(rd.n, rd.p, rd.X.nnz, a, positive)
        lam, nnz2 = _auto_inputs(rd)
        return choose_solver(rd.n, rd.p, rd.X.nnz, a, lambda_max=lam, product_nnz2=nnz2,
                             tol=tol)
    if positive and solver != "cd":
        raise ValueError(f"positive=True is only supported by solver='cd' (or 'auto'), "
                         f"got solver={solver!r}.")
    if solver in ("cd", "dual", "cholesky") and np.any(a == 0):
        raise ValueError(f"solver={solver!r} needs alpha > 0; use solver='cg' for "
                         "alpha = 0 (least squares).")
    if solver == "cholesky" and min(rd.n, rd.p) > RS.DIRECT_MAX:
        raise ValueError(f"solver='cholesky' factorizes a dense {min(rd.n, rd.p)}-square "
                         f"matrix; at most {RS.DIRECT_MAX} is supported. Use 'cg' or "
                         "'dual'.")
    return solver


def _fit(rd, Y, a, solver, tol, max_iter, *, W0=None, C0=None, positive=False, verbose=0):
    """Solve with the resolved ``solver``; certify; returns a dict of results.

    Warm start: ``C0`` (dual variables of a previous solution, for "cg" and "dual") or
    ``W0`` (coefficients). Keys: coef (p, k), C (dual variables or None), intercept (k,),
    n_iter (k,), gap_int (k,) (duality
    gap of the internal objective 1/2 ||r||^2_s + a/2 ||w||^2), bound (k,).
    """
    max_iter = RS.DEFAULT_MAX_ITER if max_iter is None else int(max_iter)
    Yc, y_offset = rd.center_targets(Y)
    if solver == "cd":
        W, b, gaps, n_iter, bound = RS.solve_cd(rd, Y, a, tol, max_iter, W0=W0,
                                                positive=positive, verbose=verbose)
        return dict(coef=W, C=None, intercept=b, n_iter=n_iter, gap_int=gaps * rd.n,
                    bound=bound)
    n_iter = C = cert = None
    if solver == "cg":
        W, C, n_iter, cert = RS.solve_cg(rd, Yc, a, tol, max_iter, W0=W0, C0=C0,
                                         verbose=verbose)
    elif solver == "dual":
        if rd.n <= RS.DUAL_DIRECT_MAX:
            W, C = RS.solve_dual_direct(rd, Yc, a)
        else:
            W, C, n_iter, cert = RS.solve_dual_cr(rd, Yc, a, tol, max_iter, W0=W0, C0=C0,
                                                  verbose=verbose)
    elif solver == "cholesky":
        if rd.p <= rd.n:
            W = RS.solve_primal_direct(rd, Yc, a)
        else:
            W, C = RS.solve_dual_direct(rd, Yc, a)
    else:  # pragma: no cover - validated before
        raise ValueError(solver)
    # The iterative solvers return the certificate they computed from scratch on the
    # returned W (and C) when they stopped: no need to pay its two passes over X again.
    bound, gap_int = cert if cert is not None else RS.certify(rd, Yc, W, a, C=C)
    if n_iter is None:
        n_iter = np.ones(Y.shape[1], dtype=np.int64)  # one factorization
        if np.any(bound > tol):
            # Rounding of a direct solve on an ill-conditioned system: refine with CG.
            W, C, more, (bound, gap_int) = RS.solve_cg(rd, Yc, a, tol, max_iter, W0=W,
                                                       C0=C, verbose=verbose)
            n_iter += more
    b = _intercept(rd, y_offset, W)
    return dict(coef=W, C=C, intercept=b, n_iter=n_iter, gap_int=gap_int, bound=bound)


def _intercept(rd, y_offset, W):
    """b = y_offset - xbar^T W (zeros without an intercept).

    Not ``rd.xbar @ W``: that matrix-vector product goes to BLAS, whose threaded
    OpenBLAS then busy-waits for about 0.1 s on the other core; the next fit's parallel
    products (a benchmark loop, a grid of alphas) were interrupted every other pass and
    ran 1.3x slower during that time. ``einsum`` computes the same sum without BLAS.
    """
    if not rd.fit_intercept:
        return np.zeros(W.shape[1])
    return y_offset - np.einsum("j,jk->k", rd.xbar, W)


def _warn_unconverged(bound, tol, solver):
    bad = np.flatnonzero(bound > tol)
    if bad.size:
        warnings.warn(
            f"Ridge (solver={solver!r}) did not reach tol={tol:g} for target(s) "
            f"{bad.tolist()[:5]}: certified relative error of the coefficients "
            f"{np.max(bound[bad]):.3e}. Increase max_iter or tol.",
            ConvergenceWarning, stacklevel=3)


class _RidgePredict(SupportMixin, MultiOutputMixin, RegressorMixin, BaseEstimator):
    """predict() and tags shared by Ridge and RidgeCV."""

    def predict(self, X):
        """Predict with the fitted linear model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
        """
        check_is_fitted(self)
        # scipy's product trusts the index arrays: a malformed X crashed here.
        X = check_sparse_structure(X)
        X = validate_data(self, X, accept_sparse=["csr", "csc", "coo"], reset=False,
                          accept_large_sparse=True)
        out = np.asarray(safe_sparse_dot(X, self.coef_.T)) + self.intercept_
        return out.ravel() if self.coef_.ndim == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _set_coef(self, res, y_1d, dtype):
        """Shapes as scikit-learn's Ridge: coef_ (p,) for one target, even when y is
        (n, 1) (then intercept_ is an array of shape (1,)); intercept_ 0.0 without an
        intercept."""
        # In the dtype of X, unless out of its range (then float64 with a warning, as
        # Lasso: the certificates describe the float64 solution).
        coef = _coef_in_dtype(np.ascontiguousarray(res["coef"].T), dtype)  # (k, p)
        intercept = np.asarray(res["intercept"], dtype=np.float64)
        self.coef_ = np.ascontiguousarray(coef[0] if coef.shape[0] == 1 else coef)
        if not self.fit_intercept:
            self.intercept_ = 0.0
        else:
            self.intercept_ = float(intercept[0]) if y_1d else intercept


_TOL_DOC = """\
    tol : float, default=1e-4
        Required accuracy of the coefficients: every solver stops when
        ``||w - w*||_2 <= tol * ||w||_2`` is certified for each target (w* the exact
        minimizer). The objective is alpha_int-strongly convex
        (``alpha_int = alpha * n_samples / sum(sample_weight)``), so the gradient g gives
        ``||w - w*|| <= ||g|| / alpha_int``, any duality gap G gives
        ``||w - w*||^2 <= 2 G / alpha_int``, and the dual residual rho of CG gives
        ``||w - w*|| <= ||rho|| / (2 sqrt(alpha_int))``; the smallest, recomputed from
        scratch on the returned coefficients, is ``rel_error_bound_``. With ``alpha = 0``
        there is no such bound and the relative residual ``||g|| / ||X_c^T S y_c|| <= tol``
        is used. Constant columns (weighted centered norm exactly 0) are zero columns
        of the centered problem: their coefficient is exactly 0, and when every column
        is constant the solution w* = 0 is returned at once with a bound of 0 (a
        relative bound of a non-zero w can never hold there). Columns stored in every
        row are centered explicitly (a large mean, e.g. timestamps, would cancel).
        Stricter than scikit-learn's ``tol`` of ``sparse_cg``/``lsqr``, which bounds a
        relative residual only. Coordinate descent (``"cd"``) certifies through the
        duality gap of the elastic-net core, a difference of objective values, so it
        cannot certify much below ``tol=1e-7``; use ``"cg"`` for tighter tolerances."""


class Ridge(_RidgePredict):
    __doc__ = f"""Ridge regression (L2-regularized least squares) for sparse data.

    A drop-in for :class:`sklearn.linear_model.Ridge`. Minimises over w and b::

        ||y - X w - b||^2_S + alpha ||w||^2 = sum_i S_i (y_i - x_i.w - b)^2 + alpha ||w||^2

    the objective of scikit-learn's Ridge: **not divided by n**, and with the raw sample
    weights S (multiplying all weights by c is the same as dividing alpha by c). Relation
    to :class:`fastsparse.ElasticNet` (objective divided by 2n): with unit weights,
    ``alpha_ridge = n * alpha_enet * (1 - l1_ratio)`` for the L2 part; with weights,
    ``alpha_ridge = sum(S) * alpha_enet`` at ``l1_ratio = 0``.

    Sparse X is used as it is (CSC without copy; other formats converted once): never
    densified and never centered (implicit centering, see :mod:`fastsparse.ridge`).

    Parameters
    ----------
    alpha : float or array-like of shape (n_targets,), default=1.0
        Regularization strength, >= 0; an array gives one value per target (y 2-D).
    fit_intercept : bool, default=True
        Fit an unpenalized intercept (X is centered implicitly, never in memory).
    copy_X : bool, default=True
        Accepted for compatibility; X is never modified, so no copy is ever needed.
    max_iter : int, default=None
        Iteration cap of the iterative solvers: CG iterations (``"cg"``), conjugate
        residual iterations (``"dual"`` on large n), coordinate-descent epochs per
        working-set solve (``"cd"``). None means {RS.DEFAULT_MAX_ITER}.
{_TOL_DOC}
    solver : {{"auto", "cd", "cg", "dual", "cholesky"}}, default="auto"
        - ``"cg"``: conjugate gradient on the normal equations
          ``(X_c^T S X_c + alpha I) w = X_c^T S y_c``, unpreconditioned (a Jacobi
          preconditioner was measured to slow it down on text-like data); targets are
          solved together (two passes over X per iteration, X v then X^T u, for all
          targets, on Numba's threads).
        - ``"dual"``: the n x n kernel system ``(Z Z^T + alpha I) c = S^1/2 y_c``,
          ``w = Z^T c`` with ``Z = S^1/2 X_c``: a Cholesky factorization of the kernel
          (formed from the sparse product X X^T) when n_samples <= {RS.DUAL_DIRECT_MAX};
          otherwise conjugate residuals (MINRES for this system: the iterate with the
          smallest residual, which is the certificate), one fused pass over X per
          iteration (each column's dot product scattered back while it is in cache).
        - ``"cholesky"``: dense Cholesky of the smaller of the p x p Gram matrix and the
          n x n kernel (at most {RS.DIRECT_MAX} on a side).
        - ``"cd"``: coordinate descent of the shared elastic-net core
          (:class:`fastsparse.ElasticNet` with ``l1_ratio=0`` and
          ``alpha_enet = alpha / sum(S)``); the only solver supporting ``positive``.
        - ``"sparse_cg"`` and ``"lsqr"`` (scikit-learn's names) run ``"cg"``: scipy's
          LSQR on ``S^1/2 X_c`` with ``damp = sqrt(alpha)`` was implemented and measured
          3-4x slower than CG at equal accuracy on the rcv1 shape, so it was dropped.
        - ``"auto"``: see :func:`fastsparse.ridge.choose_solver` — direct
          (``"cholesky"``) when the smaller side of X is at most {AUTO_DIRECT_MAX} and
          a cost estimate (from nnz, the shape and the conditioning, estimated by a few
          power iterations) says it is cheaper than CG; otherwise ``"dual"`` (the
          iterative kernel solver) when n_samples > {RS.DUAL_DIRECT_MAX} and
          n_features >= {AUTO_DUAL_RATIO:g} n_samples or X has at least
          {AUTO_DUAL_ROW_NNZ:g} entries per row, else ``"cg"`` (``"cd"`` when
          ``positive``).
        Direct solutions are certified like the others and refined by CG in the rare
        case rounding leaves them outside ``tol``.
    positive : bool, default=False
        Constrain the coefficients to be non-negative (coordinate descent only).
    random_state : None
        Accepted for compatibility (scikit-learn's sag/saga); unused.
    verbose : int, default=0
        Print solver progress when > 0.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Coefficients, of the dtype of X ((n_features,) for a single target, also when y
        has shape (n_samples, 1), as in scikit-learn); float64, with a UserWarning, when
        they are outside the range of a float32 X (the certificates describe them).
    intercept_ : float or ndarray of shape (n_targets,)
    n_iter_ : ndarray of shape (n_targets,)
        Iterations per target: CG iterations, coordinate-descent epochs, 1 for a direct
        factorization (plus the CG iterations of a refinement, if one was needed).
        scikit-learn gives None for its direct solvers.
    solver_ : str
        The solver actually used.
    dual_gap_ : float or ndarray of shape (n_targets,)
        Duality gap of the returned solution in units of the objective above (an upper
        bound on its suboptimality): for ``"cd"`` the certificate of the elastic-net
        core, for the others ``||g||^2 / (2 alpha_int)`` rescaled, the same quantity.
    rel_error_bound_ : float or ndarray of shape (n_targets,)
        Certified upper bound on ``||w - w*|| / ||w||`` (relative residual if alpha = 0);
        0 when w = w* exactly (e.g. w = 0 with every column constant), inf for w = 0
        with a non-zero error bound.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        When X has string column names.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from fastsparse import Ridge
    >>> X = sp.random(200, 50, density=0.1, format="csc", random_state=0)
    >>> y = X @ np.arange(50.0)
    >>> model = Ridge(alpha=1e-2).fit(X, y)
    >>> bool(model.rel_error_bound_ <= 1e-4)
    True
    """

    def __init__(self, alpha=1.0, *, fit_intercept=True, copy_X=True, max_iter=None,
                 tol=1e-4, solver="auto", positive=False, random_state=None, verbose=0):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.copy_X = copy_X
        self.max_iter = max_iter
        self.tol = tol
        self.solver = solver
        self.positive = positive
        self.random_state = random_state
        self.verbose = verbose

    @restore_on_interrupt
    def fit(self, X, y, sample_weight=None):
        """Fit the ridge model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; a canonical CSC matrix (float32/float64, int32/int64 indices)
            is used without copy.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : float or array-like of shape (n_samples,), default=None
            Raw weights, as in scikit-learn (their scale matters: see the objective).

        Returns
        -------
        self : object
        """
        _check_common(self)
        fit_intercept = check_bool_param(self.fit_intercept, "fit_intercept")
        check_bool_param(self.copy_X, "copy_X")  # unused (X is never modified), checked
        positive = check_bool_param(self.positive, "positive")
        validate_data(self, X, y, skip_check_array=True)
        X = check_csc(X)
        Y, y_1d = _check_targets(y, X.shape[0])
        alphas = _check_alpha(self.alpha, Y.shape[1])
        sw, sw_sum = _raw_weights(sample_weight, X.shape[0])
        rd = RS.RidgeData(X, sw, sw_sum, fit_intercept)
        a = rd.internal_alpha(alphas)
        solver = _resolve(rd, a, self.solver, positive, self.tol)
        if np.any(a == 0):
            warnings.warn("With alpha=0 the problem is ordinary least squares; prefer "
                          "sklearn.linear_model.LinearRegression.", UserWarning,
                          stacklevel=2)
        res = _fit(rd, Y, a, solver, self.tol, self.max_iter, positive=positive,
                   verbose=self.verbose)
        _warn_unconverged(res["bound"], self.tol, solver)
        self._set_coef(res, y_1d, X.dtype)
        self.solver_ = solver
        self.n_iter_ = res["n_iter"]
        gap = res["gap_int"] * (2.0 * rd.sw_sum / rd.n)  # internal -> Ridge objective
        self.dual_gap_ = float(gap[0]) if y_1d else gap
        self.rel_error_bound_ = float(res["bound"][0]) if y_1d else res["bound"]
        return self


# --------------------------------------------------------------------------------------
# RidgeCV
# --------------------------------------------------------------------------------------


class _Identity(RegressorMixin, BaseEstimator):
    """Scorer adapter: 'predicts' the predictions it is given (no copy of X needed)."""

    def fit(self, X, y=None):  # pragma: no cover - never fitted
        return self

    def predict(self, X):
        return X

    def __sklearn_is_fitted__(self):
        return True


class RidgeCV(_RidgePredict):
    __doc__ = f"""Ridge regression with alpha chosen by cross-validation, for sparse data.

    A drop-in for :class:`sklearn.linear_model.RidgeCV` (same objective as
    :class:`Ridge`, raw sample weights).

    - ``cv=None``: efficient leave-one-out (generalized cross-validation), as
      scikit-learn does, from one eigendecomposition for all alphas: of the n x n
      kernel ``Z Z^T`` when n_samples <= n_features, of the p x p Gram ``Z^T Z``
      otherwise (``Z = S^1/2 X_c``, formed from sparse products, X never centered).
      Only when ``min(n_samples, n_features) <= gcv_max_size``: above it the dense
      decomposition does not fit, and 5-fold cross-validation is used instead, with a
      warning (pass ``cv`` explicitly to choose and silence it).
    - ``cv`` an int, splitter or iterable: K-fold. Each fold is a fit on the whole X
      with zero sample weights on the held-out rows (no copy or slice of X), over the
      alphas from largest to smallest with warm starts (or one eigendecomposition per
      fold when the direct solver applies); held-out predictions come from one product
      with X. Default score R^2 averaged over folds, as ``GridSearchCV`` (scikit-learn's
      K-fold RidgeCV) does. The final model is refitted on all rows with ``alpha_``.

    Parameters
    ----------
    alphas : array-like of shape (n_alphas,), default=(0.1, 1.0, 10.0)
        Alphas to try (> 0 for leave-one-out, >= 0 for K-fold).
    fit_intercept : bool, default=True
    scoring : str, callable or None, default=None
        None: negative mean squared error (leave-one-out, errors scaled by sqrt of the
        weights as in scikit-learn) or R^2 (K-fold). A scorer is called on an adapter
        that returns the held-out predictions, so it must only use ``predict``.
    cv : int, cross-validation generator, iterable or None, default=None
    gcv_mode : {{None, "auto", "svd", "eigen"}}, default=None
        Leave-one-out decomposition: every value means "eigen" (X is sparse), as in
        scikit-learn for sparse input.
    store_cv_results : bool, default=False
        Keep the leave-one-out values in ``cv_results_`` (leave-one-out only).
    alpha_per_target : bool, default=False
        Choose alpha per target (leave-one-out only).
    solver : str, default="auto"
        Solver of the K-fold fits and of the final refit (see :class:`Ridge`).
{_TOL_DOC}
    max_iter : int, default=None
        See :class:`Ridge`.
    gcv_max_size : int, default=4000
        Largest ``min(n_samples, n_features)`` for which leave-one-out is computed
        (dense decomposition of that size).
    verbose : int, default=0

    Attributes
    ----------
    alpha_ : float or ndarray of shape (n_targets,)
    best_score_ : float or ndarray of shape (n_targets,)
        Leave-one-out score (negative MSE by default) or mean K-fold score of alpha_.
    cv_results_ : ndarray of shape (n_samples, n_alphas) or (n_samples, n_targets, n_alphas)
        Leave-one-out squared errors (or predictions when ``scoring`` is given), only
        with ``store_cv_results=True``.
    cv_mode_ : str
        ``"loo-kernel"``, ``"loo-gram"`` or ``"kfold"``: what was actually computed.
    fold_scores_ : ndarray of shape (n_alphas, n_folds)
        K-fold only: the score of every alpha on every fold.
    coef_, intercept_ : as in :class:`Ridge` (refit with ``alpha_``).
    solver_ : str
        Solver of the final fit; ``"eigen"`` when the leave-one-out decomposition gave
        the coefficients.
    n_iter_ : ndarray of shape (n_targets,)
        Iterations of the final fit (1 for the leave-one-out decomposition).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
    """

    def __init__(self, alphas=(0.1, 1.0, 10.0), *, fit_intercept=True, scoring=None,
                 cv=None, gcv_mode=None, store_cv_results=False, alpha_per_target=False,
                 solver="auto", tol=1e-4, max_iter=None, gcv_max_size=4000, verbose=0):
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.scoring = scoring
        self.cv = cv
        self.gcv_mode = gcv_mode
        self.store_cv_results = store_cv_results
        self.alpha_per_target = alpha_per_target
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.gcv_max_size = gcv_max_size
        self.verbose = verbose

    def _check_alphas(self, loo):
        alphas = np.atleast_1d(np.asarray(self.alphas))
        if alphas.dtype.kind not in "iuf" or alphas.ndim != 1 or alphas.size == 0:
            raise ValueError(f"alphas must be a non-empty 1-D array of reals, got "
                             f"{self.alphas!r}.")
        alphas = alphas.astype(np.float64)
        if not np.all(np.isfinite(alphas)):
            raise ValueError("alphas must be finite.")
        if loo and np.any(alphas <= 0):
            raise ValueError("alphas must be > 0 for leave-one-out (cv=None).")
        if np.any(alphas < 0):
            raise ValueError("alphas must be >= 0.")
        return alphas

    @restore_on_interrupt
    def fit(self, X, y, sample_weight=None):
        """Fit the model, choosing alpha by cross-validation.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : float or array-like of shape (n_samples,), default=None
            Raw weights (as in scikit-learn). In K-fold mode they weight the fits, not
            the held-out scores (as scikit-learn's GridSearchCV without routing).

        Returns
        -------
        self : object
        """
        _check_common(self)
        # Flags: validated here, then read from self (bool or numpy.bool_) by the
        # leave-one-out and K-fold fits.
        for flag in ("fit_intercept", "store_cv_results", "alpha_per_target"):
            check_bool_param(getattr(self, flag), flag)
        check_scalar_param(self.gcv_max_size, "gcv_max_size", low=1, integer=True)
        if self.gcv_mode not in (None, "auto", "svd", "eigen"):
            raise ValueError(f"gcv_mode must be None, 'auto', 'svd' or 'eigen', got "
                             f"{self.gcv_mode!r}.")
        validate_data(self, X, y, skip_check_array=True)
        X = check_csc(X)
        Y, y_1d = _check_targets(y, X.shape[0])
        n, p = X.shape
        loo = self.cv is None
        alphas = self._check_alphas(loo)
        if not loo and self.store_cv_results:
            raise ValueError("cv!=None and store_cv_results=True are incompatible")
        if not loo and self.alpha_per_target:
            raise ValueError("cv!=None and alpha_per_target=True are incompatible")
        cv = self.cv
        if loo and min(n, p) > self.gcv_max_size:
            if self.store_cv_results or self.alpha_per_target:
                raise ValueError(
                    f"leave-one-out needs a dense {min(n, p)}-square decomposition, above "
                    f"gcv_max_size={self.gcv_max_size}; store_cv_results and "
                    "alpha_per_target need it. Raise gcv_max_size or pass cv.")
            warnings.warn(
                f"min(n_samples, n_features) = {min(n, p)} > gcv_max_size = "
                f"{self.gcv_max_size}: leave-one-out would need a dense decomposition of "
                "that size; using 5-fold cross-validation instead (pass cv to choose).",
                UserWarning, stacklevel=2)
            loo, cv = False, 5
        sw, sw_sum = _raw_weights(sample_weight, n)
        if loo:
            self._fit_loo(X, Y, y_1d, alphas, sw, sw_sum)
        else:
            self._fit_kfold(X, Y, y, y_1d, alphas, sample_weight, cv)
        return self

    # -- leave-one-out -----------------------------------------------------------------

    def _fit_loo(self, X, Y, y_1d, alphas, sw, sw_sum):
        """Leave-one-out from one eigendecomposition (scikit-learn's _RidgeGCV formulas).

        Raw scale (as scikit-learn): Z = S^1/2 X_c, y~ = S^1/2 y_c, G = Z Z^T + alpha I,
        c = G^-1 y~, looe = c / d, d = diag(G^-1) - s / (alpha sum(S)) with an intercept
        (G^-1 S^1/2 1 = S^1/2 1 / alpha exactly, since Z^T S^1/2 1 = X_c^T S 1 = 0). With
        the p x p Gram C = Z^T Z = V L V^T: alpha G^-1 = I - Z (C + alpha)^-1 Z^T.
        """
        rd = RS.RidgeData(X, sw, sw_sum, self.fit_intercept)
        n, p = rd.n, rd.p
        k = Y.shape[1]
        Yc, y_offset = rd.center_targets(Y)
        scale = rd.sw_sum / n  # raw weights = scale * normalized weights
        s_raw = rd.sw * scale if rd.weighted else np.full(n, scale)
        sqrt_s = np.sqrt(s_raw)
        Yt = Yc * sqrt_s[:, None]
        n_alphas = alphas.size
        corr = s_raw / rd.sw_sum if self.fit_intercept else np.zeros(n)
        looe_all = np.empty((n, k, n_alphas))
        if n <= p:
            self.cv_mode_ = "loo-kernel"
            Kmat = RS.kernel_matrix(rd) * scale
            with RS.blas_limit(n):
                lam, Q = np.linalg.eigh(Kmat)
            lam = np.maximum(lam, 0.0)
            QtY = Q.T @ Yt
            Q2 = Q ** 2
            D = 1.0 / (lam[:, None] + alphas[None, :])  # (n, n_alphas)
            diag = Q2 @ D
            for m, alpha in enumerate(alphas):
                c = Q @ (D[:, m:m + 1] * QtY)
                d = diag[:, m] - corr / alpha
                looe_all[:, :, m] = c / d[:, None]
            decomp = ("kernel", lam, Q, QtY)
        else:
            self.cv_mode_ = "loo-gram"
            Cmat = RS.covariance_matrix(rd) * scale
            with RS.blas_limit(p):
                lam, V = np.linalg.eigh(Cmat)
            lam = np.maximum(lam, 0.0)
            T = V.T @ rd.xct(Yt * sqrt_s[:, None])  # V^T Z^T y~
            D = 1.0 / (lam[:, None] + alphas[None, :])  # (p, n_alphas)
            ZHZy = np.zeros((n, k, n_alphas))
            diagZHZ = np.zeros((n, n_alphas))
            block = max(1, min(p, int(2 ** 24 // max(n, 1))))
            for start in range(0, p, block):
                Vb = V[:, start:start + block]
                ZVb = rd.xc(Vb) * sqrt_s[:, None]  # (n, b)
                Db = D[start:start + block]
                diagZHZ += (ZVb ** 2) @ Db
                Tb = T[start:start + block]
                for m in range(n_alphas):
                    ZHZy[:, :, m] += ZVb @ (Db[:, m:m + 1] * Tb)
            for m in range(n_alphas):
                alpha_c = Yt - ZHZy[:, :, m]
                alpha_d = 1.0 - diagZHZ[:, m] - corr
                looe_all[:, :, m] = alpha_c / alpha_d[:, None]
            decomp = ("gram", lam, V, T)

        per_target = self.alpha_per_target and k > 1
        scorer = None if self.scoring is None else check_scoring(_Identity(), self.scoring)
        scores = np.empty((k, n_alphas)) if per_target else np.empty(n_alphas)
        store = np.empty((n, k, n_alphas)) if self.store_cv_results else None
        for m in range(n_alphas):
            looe = looe_all[:, :, m]
            if scorer is None:
                sq = looe ** 2
                scores[..., m] = -sq.mean(axis=0) if per_target else -sq.mean()
                if store is not None:
                    store[:, :, m] = sq
            else:
                with np.errstate(divide="ignore", invalid="ignore"):
                    pred = Y - looe / sqrt_s[:, None]
                # Weighted scores, as scikit-learn routes sample_weight to its scorer.
                kw = {"sample_weight": s_raw} if rd.weighted else {}
                if per_target:
                    scores[:, m] = [scorer(_Identity(), pred[:, t], Y[:, t], **kw)
                                    for t in range(k)]
                else:
                    scores[m] = scorer(_Identity(), pred[:, 0] if y_1d else pred,
                                       Y[:, 0] if y_1d else Y, **kw)
                if store is not None:
                    store[:, :, m] = pred
        # The first best in the given order, as scikit-learn's strict ">" update does.
        best = np.argmax(scores, axis=-1)
        if per_target:
            alpha_t = alphas[best]
            self.alpha_ = alpha_t
            self.best_score_ = scores[np.arange(k), best]
        else:
            alpha_t = np.full(k, alphas[best])
            self.alpha_ = float(alphas[best])
            self.best_score_ = float(scores[best])
        W = self._loo_coef(rd, decomp, alpha_t, sqrt_s)
        b = _intercept(rd, y_offset, W)
        self._set_coef(dict(coef=W, intercept=b), y_1d, X.dtype)
        self.solver_ = "eigen"
        self.n_iter_ = np.ones(k, dtype=np.int64)
        if store is not None:
            self.cv_results_ = store[:, 0, :] if y_1d else store

    @staticmethod
    def _loo_coef(rd, decomp, alpha_t, sqrt_s):
        kind, lam, M, MtY = decomp
        coefs = M @ (MtY / (lam[:, None] + alpha_t[None, :]))
        if kind == "gram":
            return coefs
        return rd.xct(coefs * sqrt_s[:, None])  # w = Z^T c

    # -- K-fold ------------------------------------------------------------------------

    def _fit_kfold(self, X, Y, y_orig, y_1d, alphas, sample_weight, cv):
        n = X.shape[0]
        splitter = check_cv(cv, y_orig, classifier=False)
        folds = check_folds(splitter.split(np.empty((n, 0)), y_orig), n)
        self.cv_mode_ = "kfold"
        if sample_weight is None:
            base = np.ones(n)
        elif isinstance(sample_weight, Real):
            base = np.full(n, float(sample_weight))
        else:
            base = np.asarray(sample_weight, dtype=np.float64)
            check_sample_weight(base, n)  # validation only
        scorer = None if self.scoring is None else check_scoring(_Identity(), self.scoring)
        order = np.argsort(-alphas, kind="stable")  # largest first: warm starts go downhill
        fold_scores = np.empty((alphas.size, len(folds)))
        for f, (train, test) in enumerate(folds):
            raw = np.zeros(n)
            raw[train] = base[train]
            sw, sw_sum = _raw_weights(raw, n)
            rd = RS.RidgeData(X, sw, sw_sum, self.fit_intercept)
            Yc, y_offset = rd.center_targets(Y)
            a_all = rd.internal_alpha(alphas)
            solver = _resolve(rd, a_all, self.solver, False, self.tol)
            eig = None
            if solver == "cholesky":
                eig = RS.EigenSolver(rd, Yc, "primal" if rd.p <= rd.n else "dual")
            W = C = None
            for m in order:
                a = np.full(Y.shape[1], a_all[m])
                if eig is not None:
                    W = eig.coef(a)
                else:
                    # Warm start from the previous (larger) alpha: through its dual
                    # variables when the solver has them (keeps CG's sharp certificate).
                    res = _fit(rd, Y, a, solver, self.tol, self.max_iter,
                               W0=W if C is None else None, C0=C, verbose=self.verbose)
                    W, C = res["coef"], res["C"]
                    _warn_unconverged(res["bound"], self.tol, solver)
                pred = (rd.xc(W) + y_offset)[test]
                yt = Y[test]
                if y_1d:
                    pred, yt = pred[:, 0], yt[:, 0]
                fold_scores[m, f] = (r2_score(yt, pred) if scorer is None
                                     else scorer(_Identity(), pred, yt))
        mean = fold_scores.mean(axis=1)
        best = int(np.argmax(mean))  # first best in the given order, as GridSearchCV
        self.alpha_ = float(alphas[best])
        self.best_score_ = float(mean[best])
        self.fold_scores_ = fold_scores
        sw, sw_sum = _raw_weights(sample_weight, n)
        rd = RS.RidgeData(X, sw, sw_sum, self.fit_intercept)
        a = rd.internal_alpha(np.full(Y.shape[1], self.alpha_))
        solver = _resolve(rd, a, self.solver, False, self.tol)
        res = _fit(rd, Y, a, solver, self.tol, self.max_iter, verbose=self.verbose)
        _warn_unconverged(res["bound"], self.tol, solver)
        self._set_coef(res, y_1d, X.dtype)
        self.solver_ = solver
        self.n_iter_ = res["n_iter"]
