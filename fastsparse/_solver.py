"""Outer loop of the least-squares elastic-net solver.

The loop lives in Python on purpose: it runs tens of times, not millions, and keeping it
here keeps Ctrl-C, warnings and verbose output working. Each outer iteration

1. recomputes the residual from scratch (no drift from incremental updates),
2. computes the gradient x_j^T (s r) of every feature still in play (one pass over X),
3. builds the dual point and the duality gap; stops when gap <= tol * ||y - ybar||^2_s,
4. discards with the Gap Safe sphere test every feature that is provably zero at the
   optimum (Ndiaye et al., JMLR 2017),
5. picks a working set: the features closest to (or beyond) their dual constraint, plus
   every current non-zero, grown geometrically with the support (skglm, celer),
6. runs Anderson-accelerated coordinate descent on the working set until its own gap is
   below a fraction of the global one.

Before returning, the gap is recomputed over all features so that the reported
``dual_gap`` certifies the full problem, not only the features left after screening.
"""

import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from . import _gram_cd as GC
from . import _kernels as K
from . import _mmap_passes as MP
from ._interrupt import check_cancelled
from . import _parallel as P
from ._parallel import column_sqnorms_f32, xt_dot_full
from ._sparse_ops import common_mode_weight, dot
from ._validation import check_column_norms


#: A centered target within this many ulps of the mean (|y - mean| <= CONSTANT_Y_ULPS *
#: eps * |mean|) is a constant y up to the rounding of the mean (pairwise summation
#: errs by about log2(n) ulps), and is centered to exactly 0.
CONSTANT_Y_ULPS = 64

#: Each working-set solve stops once its own duality gap is below this fraction of the
#: current global gap (a looser inner solve wastes epochs on a working set that is about
#: to change; a tighter one needs more epochs but fewer outer passes over X). Measured
#: as work (epochs weighted by the working set's non-zeros, plus full passes): 0.1 did
#: 4% less than 0.3 on the rcv1-shaped 100-alpha path to tol 1e-8 but 10% more on a
#: news20-shaped single fit at alpha_max/100, so 0.3 stays.
INNER_GAP_RATIO = 0.3

#: Block-Jacobi epochs (:func:`fastsparse._kernels.jacobi_epoch`: JACOBI_BLOCKS blocks
#: of the working set swept from the same point, on two threads, and combined by an exact
#: line search) replace cyclic epochs on working sets that are
#:
#: - large: at least JACOBI_MIN_NNZ stored entries and JACOBI_MIN_NNZ_PER_ROW per sample
#:   (the O(n) work of combining the blocks stays small next to the epoch), and
#: - dominated by a common mode: uncentered (no intercept) columns whose Gram matrix,
#:   scaled to unit diagonal, has an eigenvalue of at least JACOBI_MIN_COMMON_MODE along
#:   the constant vector (:func:`fastsparse._sparse_ops.common_mode_weight`; 35-60 for
#:   rcv1-shaped text working sets of 1-25 k columns). Cyclic sweeps are slowed by
#:   that direction; the blocks sweep the model with it deflated and the line search
#:   restores it: the rcv1-shaped Lasso path without intercept took 20.5-23.6 s against
#:   29-32 s with plain block sweeps and about 40 s with cyclic epochs. With an
#:   intercept (centered columns, no common mode) plain block sweeps needed up to 1.5x
#:   more epochs than cyclic ones, more than two threads win back.
#:
#: The choice depends on the data and the working set only, never on the machine or its
#: load, so a fit gives the same coefficients everywhere; the threads change only the
#: time. Two blocks, not one per core: more blocks move further from Gauss-Seidel.
JACOBI_BLOCKS = 2
JACOBI_MIN_NNZ = 200_000
JACOBI_MIN_NNZ_PER_ROW = 8
JACOBI_MIN_COMMON_MODE = 4.0
#: Times the working-set solves run with parallel blocks against serial ones (a busy
#: machine can make the parallel variant slower; see fastsparse._parallel).
_JACOBI_CHOOSER = P._Chooser()


def jacobi_plan(pb, ws):
    """(n_blocks, nnz of the working set): 1 block means cyclic epochs."""
    nnz = int(np.sum(pb.indptr[ws + 1] - pb.indptr[ws], dtype=np.int64))
    if (pb.fit_intercept
            or nnz < max(JACOBI_MIN_NNZ, JACOBI_MIN_NNZ_PER_ROW * pb.n_samples)):
        return 1, nnz
    weight = common_mode_weight(pb.data, pb.indices, pb.indptr, ws, pb.sw, pb.weighted,
                                pb.n_samples)
    return (JACOBI_BLOCKS if weight >= JACOBI_MIN_COMMON_MODE else 1), nnz


def run_inner_solve(pb, ws, inner_args, n_blocks, nnz, krylov_tol=None):
    """:func:`fastsparse._kernels.inner_solve` with ``n_blocks``, its blocks on Numba's
    threads when :mod:`fastsparse._parallel`'s chooser finds that faster
    (``krylov_tol``: try Krylov dual points in long solves, aiming at that gap)."""
    blocks = K.jacobi_buffers(pb.data, pb.indices, pb.indptr, ws, pb.n_samples, pb.sw,
                              pb.weighted, pb.fit_intercept, n_blocks, pb.tilt_state)
    threads = P.pass_threads(nnz) if blocks is not None else 1
    if threads == 1:
        return K.inner_solve(*inner_args, True, blocks, False, krylov_tol)
    use = _JACOBI_CHOOSER.pick(threads)
    start = time.perf_counter()
    out = K.inner_solve(*inner_args, True, blocks, use > 1, krylov_tol)
    _JACOBI_CHOOSER.record(use, time.perf_counter() - start, nnz * max(out[1], 1))
    return out


@dataclass
class EnetResult:
    """What the solver returns: coefficients in the original scale and the certificate.

    Attributes
    ----------
    coef : ndarray of shape (n_features,)
    intercept : float
    dual_gap : float
        Duality gap of the returned solution, in units of the objective as documented by
        the estimators (divided by n_samples).
    primal : float
        Objective value (divided by n_samples).
    gradient : ndarray or None
        x_c,j^T (s r) at the returned coefficients for the usable features (non-zero
        centered norm, in increasing order), from the final certification pass; None
        when that pass did not use the residual itself as dual direction. Lets a path
        apply the strong rule at the next alpha without another pass over X.
    dual_point : ndarray of shape (n_samples,)
        The dual-feasible point theta certifying ``dual_gap`` (n-scaled convention of
        DESIGN.md: theta* equals the optimal residual y - Xw - b).
    n_iter : int
        Number of outer (working-set) iterations.
    n_epochs : int
        Total coordinate-descent epochs over working sets.
    n_screened : int
        Number of features discarded by Gap Safe screening (or never usable).
    converged : bool
    ws_size : int
        Size of the last working set (0 when the start point was already certified).
    """

    coef: np.ndarray
    intercept: float
    dual_gap: float
    primal: float
    dual_point: np.ndarray
    gradient: np.ndarray | None
    n_iter: int
    n_epochs: int
    n_screened: int
    converged: bool
    ws_size: int = 0


@dataclass
class ProblemData:
    """Everything the kernels need about (X, y, weights), computed once per fit.

    Holding these separately from the penalty lets a path or CV reuse them across alphas.
    Per-feature storage is deliberately minimal (one float32 per feature: the rounded-up
    centered squared norms for screening); column means and exact norms are computed
    for the working set when needed, so the workspace stays small next to X.

    ``mapped`` says that X is memory-mapped: its passes then run over column blocks and
    release the pages read (:mod:`fastsparse._mmap_passes`), so that the resident memory
    of the fit stays far below the size of X; in-memory X keeps the plain passes.

    ``tilt_state`` is the secant state of the common-mode-deflated block epochs
    (:func:`fastsparse._kernels.jacobi_epoch`), kept from one working-set solve to the
    next and along a path: the multiplier it estimates barely moves between them, and
    restarting its estimate cost two poor epochs per solve. One problem, one thread.
    """

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    n_samples: int
    n_features: int
    y_c: np.ndarray
    y_offset: float
    sw: np.ndarray
    weighted: bool
    fit_intercept: bool
    sqnorm_f32: np.ndarray
    null_deviance: float
    mapped: bool = False
    tilt_state: np.ndarray = field(default_factory=lambda: np.zeros(5))


def zero_constant_targets(Y_c, offsets, sample_weight=None):
    """Centered targets with the constant ones set to exactly 0.

    A constant y (on the rows of positive weight: a CV fold's held-out rows do not
    count) centers to the rounding noise of its mean, within CONSTANT_Y_ULPS ulps of it.
    Fitting that noise made every alpha of a Lasso path run 100 iterations and warn (the
    gap cannot go below the noise), to return noise-sized coefficients; Ridge returned
    coefficients of about 1e-16 instead of 0.

    Parameters
    ----------
    Y_c : ndarray of shape (n_samples, n_targets)
        Targets minus their (weighted) means ``offsets``; not modified.
    offsets : ndarray of shape (n_targets,)
    sample_weight : ndarray of shape (n_samples,) or None

    Returns
    -------
    Y_c : ndarray of shape (n_samples, n_targets)
        The input itself when no target is constant, else a copy with the constant
        targets' entries on the rows of positive weight set to 0.
    """
    rows = slice(None) if sample_weight is None else sample_weight > 0
    seen = np.abs(Y_c[rows])
    if seen.shape[0] == 0:
        return Y_c
    limit = CONSTANT_Y_ULPS * np.finfo(np.float64).eps * np.abs(offsets)
    constant = np.max(seen, axis=0) <= limit
    if not constant.any():
        return Y_c
    Y_c = Y_c.copy()
    Y_c[np.ix_(np.arange(Y_c.shape[0])[rows], np.flatnonzero(constant))] = 0.0
    return Y_c


def prepare_problem(X, y, sample_weight, fit_intercept):
    """Precompute weighted column statistics and the centered target.

    Parameters
    ----------
    X : scipy.sparse CSC matrix, validated (canonical, checked structure).
    y : ndarray of shape (n_samples,), float64, validated.
    sample_weight : ndarray of shape (n_samples,) summing to n_samples, or None.
    fit_intercept : bool

    Returns
    -------
    ProblemData
    """
    n, p = X.shape
    weighted = sample_weight is not None
    sw = sample_weight if weighted else np.ones(1)
    y_offset = float(np.average(y, weights=sample_weight)) if fit_intercept else 0.0
    y_c = y - y_offset
    if fit_intercept and n:
        y_c = zero_constant_targets(y_c[:, None], np.array([y_offset]), sample_weight)[:, 0]
    # A jitted dot: BLAS would wake OpenBLAS's spinning threads (see _sparse_ops.dot).
    null_dev = dot(sample_weight * y_c, y_c) if weighted else dot(y_c, y_c)
    sqnorm_f32 = column_sqnorms_f32(X.data, X.indices, X.indptr, n, sw, weighted,
                                    fit_intercept)
    # A column norm that overflowed (NaN / inf) or underflowed to 0 made the column
    # look all-zero: all-zero coefficients, silently. O(p) unless some norm is 0 or inf.
    check_column_norms(X.data, X.indices, X.indptr, sqnorm_f32, sample_weight)
    return ProblemData(
        data=X.data, indices=X.indices, indptr=X.indptr, n_samples=n, n_features=p,
        y_c=y_c, y_offset=y_offset, sw=sw, weighted=weighted,
        fit_intercept=fit_intercept, sqnorm_f32=sqnorm_f32, null_deviance=null_dev,
        mapped=MP.is_mapped(X.data),
    )


def column_stats(pb, cols):
    """Float64 means and centered squared norms of the columns ``cols`` (aligned)."""
    if pb.mapped:
        return MP.column_stats(pb, cols)
    return K.column_stats(pb.data, pb.indices, pb.indptr, cols, pb.n_samples, pb.sw,
                          pb.weighted, pb.fit_intercept)


MAX_UNPENALIZED = 2000


def unpenalized_gram(X, pb, free, xbar_free):
    """Weighted, centered Gram matrix of the unpenalized columns ``free`` (dense, float64).

    ``sum_i s_i (x_ij - xbar_j)(x_ik - xbar_k)``. Formed as ``X_f^T S X_f - n xbar
    xbar^T`` this cancels catastrophically for a column with a large mean and a small
    spread (timestamps: at relative spread 1e-6 the centered entry kept 4 digits, at
    1e-8 none), and the dual point projected with it was infeasible (gap +inf, or 0
    for a suboptimal answer). So the columns stored in every row are shifted by their
    mean first, as the Lasso kernels center them (:func:`_sparse_ops.is_centered_
    explicitly`): with u_j = x_j - c_j 1 the identity ``sum_i s_i (u_ij - ubar_j)
    (u_ik - ubar_k) = U^T S U - n ubar ubar^T`` holds for any shifts c, and for a full
    column ubar_j is only the rounding of its mean, so nothing cancels. Columns with
    implicit zeros cannot be shifted in sparse form, and their spread is comparable to
    their mean anyway. The copy is of the (at most MAX_UNPENALIZED) unpenalized columns
    only (:func:`shifted_free_columns`).
    """
    return _gram_of_shifted(pb, shifted_free_columns(X, pb, free, xbar_free))


def shifted_free_columns(X, pb, free, xbar_free):
    """Float64 CSC copy of the unpenalized columns ``free`` (increasing), shifted.

    With an intercept, the columns stored in every row are shifted by their mean
    ``xbar_free`` (see :func:`unpenalized_gram`), or, when it is None, by their plain
    (unweighted) mean, computed here; float64 so that a float32 X is not multiplied in
    float32. A memory-mapped X is read block by block with its pages
    released (:func:`fastsparse._mmap_passes.gather_columns`).
    """
    n = pb.n_samples
    if pb.mapped:
        cdata, cind, cptr = MP.gather_columns(pb.data, pb.indices, pb.indptr, free)
        Xf = sp.csc_matrix((cdata.astype(np.float64, copy=False), cind, cptr),
                           shape=(n, free.shape[0]))
    else:
        Xf = sp.csc_matrix(X[:, free], dtype=np.float64, copy=True)
    if pb.fit_intercept:
        counts = np.diff(Xf.indptr)
        if xbar_free is None:
            xbar_free = np.asarray(Xf.sum(axis=0), dtype=np.float64).ravel() / n
        Xf.data -= np.repeat(np.where(counts == n, xbar_free, 0.0), counts)
    return Xf


def _gram_of_shifted(pb, Xf):
    """Centered weighted Gram matrix from the shifted columns of
    :func:`shifted_free_columns`: U^T S U - n ubar ubar^T (nothing cancels)."""
    n = pb.n_samples
    sw = pb.sw if pb.weighted else np.ones(n)
    gram = np.asarray((Xf.T @ sp.diags(sw) @ Xf).todense(), dtype=np.float64)
    if pb.fit_intercept:
        ubar = np.asarray(Xf.T @ sw).ravel() / n  # the weights sum to n
        gram -= n * np.outer(ubar, ubar)
    return gram


def unpenalized_gram_pinv(X, pb, free, xbar_free):
    """Pseudo-inverse of the weighted, centered Gram matrix of the unpenalized columns.

    Used to project the residual out of their span so that the dual point is feasible
    (see :func:`fastsparse._kernels.project_out_unpenalized`).
    """
    m = free.shape[0]
    if m == 0:
        return np.zeros((0, 0))
    _check_unpenalized_count(m)
    return pinv_equilibrated(unpenalized_gram(X, pb, free, xbar_free))


def _check_unpenalized_count(m):
    if m > MAX_UNPENALIZED:
        raise ValueError(
            f"{m} features are unpenalized (penalty factor 0 or alpha=0); at most "
            f"{MAX_UNPENALIZED} are supported, since certifying the solution needs "
            "their Gram matrix. Use a small positive alpha or penalty factor instead."
        )


class FreeProjection:
    """The dual direction of a problem with unpenalized (free) features, accurately.

    The dual constraint of an unpenalized feature is x_j^T theta = 0 (DESIGN.md section
    2): the residual is projected out of the span of the centered free columns. Two
    things make this more than :func:`fastsparse._kernels.dual_direction`:

    - **Large-mean columns.** The kernel subtracts ``a_k x_k`` and adds back ``a_k
      xbar_k``; for a column with a large mean and a small spread (a timestamp) both
      are huge (a_k ~ 1 / spread) and their difference, the centered correction, is
      lost: the projected point was infeasible and the gap +inf at the optimum. Here
      the projection runs on a float64 copy of the free columns only (at most
      MAX_UNPENALIZED) in which the columns stored in every row are centered
      explicitly (as in :func:`unpenalized_gram`), so nothing cancels.
    - **positive=True.** With w_j >= 0 and no penalty, the conjugate is the indicator of
      x_j^T theta <= 0: one-sided, an equality only where w_j > 0 at the optimum.
      Projecting onto x_j^T theta = 0 for every free feature moves the dual point away
      from the optimal residual whenever a free feature is 0 with x_j^T r < 0, and the
      gap never closes (measured: 100 x 50,000 epochs and a ConvergenceWarning at the
      optimum). :meth:`select` picks the subset J to project on: the free features with
      w_j > 0, plus, repeatedly, any other with x_j^T (s q) > 0 after projecting on J
      (at most |free| rounds, each adds a feature). The others then have
      x_j^T (s q) <= 0 as computed and the dual point is t q with t > 0: feasible, so
      the gap is a certificate. O(n + nnz of the free columns) per round.

    The working-set solver keeps the kernel's projection with the subset's arrays
    (:meth:`select`): it only decides when an inner solve stops, never what is
    reported.
    """

    def __init__(self, X, pb, free, positive):
        self.pb, self.free = pb, free
        self.positive = bool(positive)
        m = free.shape[0]
        self.xbar = column_stats(pb, free)[0]
        self._cache = {}
        if m == 0:
            self.gram = np.zeros((0, 0))
            self._local = None
            return
        _check_unpenalized_count(m)
        n = pb.n_samples
        Xf = shifted_free_columns(X, pb, free, self.xbar)
        self.ubar = self.xbar
        if pb.fit_intercept:
            sw = pb.sw if pb.weighted else np.ones(n)
            self.ubar = np.asarray(Xf.T @ sw).ravel() / n  # ~0 for the centered ones
        self._local = (Xf.data, Xf.indices.astype(np.int64), Xf.indptr.astype(np.int64))
        self.gram = _gram_of_shifted(pb, Xf)
        self._all = np.ones(m, dtype=bool)
        self._mask = self._all
        self._g = np.empty(m)

    def _subset(self, mask):
        """(free_J, xbar_J, pinv_J, local_J, ubar_J) for the boolean mask J."""
        key = mask.tobytes()
        if key not in self._cache:
            if len(self._cache) > 8:  # J settles after a few outer iterations
                self._cache.clear()
            idx = np.flatnonzero(mask)
            pinv = pinv_equilibrated(self.gram[np.ix_(idx, idx)])
            self._cache[key] = (self.free[idx], self.xbar[idx], pinv, idx,
                                self.ubar[idx])
        return self._cache[key]

    def kernel_args(self):
        """(free_J, xbar_J, gram_pinv_J) for the kernels (J: all free features unless
        :meth:`select` chose a subset)."""
        if self._local is None:
            return self.free, self.xbar, self.gram
        return self._subset(self._mask)[:3]

    def direction(self, r, q, sq):
        """q = r projected as described, re-centered when there is an intercept; sq = s q."""
        pb = self.pb
        if self._local is None:
            K.dual_direction(pb.data, pb.indices, pb.indptr, r, pb.sw, pb.weighted,
                             self.free, self.gram, self.xbar, pb.fit_intercept, q, sq)
            return
        _, _, pinv, idx, ubar = self._subset(self._mask)
        K.dual_direction(*self._local, r, pb.sw, pb.weighted, idx, pinv, ubar,
                         pb.fit_intercept, q, sq)

    def select(self, w, r_raw, shift, r, q, sq):
        """Choose J for the residual r_raw + shift (positive only; else J = all).

        Uses r, q, sq as scratch. Returns :meth:`kernel_args`.
        """
        if self.positive and self._local is not None:
            np.add(r_raw, shift, out=r)
            self._mask = w[self.free] > 0.0
            while True:
                self.direction(r, q, sq)
                K.xt_dot(*self._local, np.arange(self.free.shape[0]), sq, self._g)
                bad = (self._g > 0.0) & ~self._mask
                if not bad.any():
                    break
                self._mask = self._mask | bad
        return self.kernel_args()


def pinv_equilibrated(gram):
    """Pseudo-inverse of a symmetric PSD matrix, computed on its unit-diagonal scaling.

    ``pinv`` cuts singular values below 1e-15 times the largest: with columns of very
    different scales (1e30 and 1) the small column's direction would be dropped, the
    projected dual point would not be feasible and the gap would come out negative.
    Scaling to unit diagonal first (D G D, D = diag(G)^-1/2) removes the scale
    differences; pinv(G) = D pinv(D G D) D.
    """
    d = np.sqrt(np.maximum(np.diag(gram), 0.0))
    scale = np.divide(1.0, d, out=np.zeros_like(d), where=d > 0)
    inner = np.linalg.pinv(gram * scale[:, None] * scale[None, :], hermitian=True)
    return scale[:, None] * inner * scale[None, :]


#: A computed gap below -NEGATIVE_GAP_TOL * |primal| is not rounding: the dual point is
#: infeasible (it happens when unpenalized features make the projection inexact), so no
#: certificate exists for this iterate and the gap is reported as +inf.
NEGATIVE_GAP_TOL = 1e-10


def _usable_features(pb, out=None):
    """Indices of the columns with non-zero (centered) norm, int32 when p allows it.

    Written into ``out`` (reused, no new allocation) when given.
    """
    if out is None:
        dtype = np.int32 if pb.n_features < 2**31 - 1 else np.int64
        out = np.empty(int(np.count_nonzero(pb.sqnorm_f32)), dtype=dtype)
    K.positive_entries(pb.sqnorm_f32, out)
    return out


def _use_gram(pb, gram_cache, ws, w, xbar_ws, sqnorm_ws):
    """Whether the working-set solve should run on the Gram matrix of ws.

    Covariance updates cost O(|ws|) per moving coordinate instead of O(nnz_j), so they
    pay off for working sets of long columns and small size solved in several epochs,
    once the Gram rows are cached (:func:`fastsparse._gram_cd.gram_is_cheaper`, which
    also charges the rows still to be computed). With an intercept the centered Gram
    matrix X^T S X - n xbar xbar^T is used only when it cannot cancel
    (:func:`fastsparse._gram_cd.centering_is_safe`).
    """
    n = pb.n_samples
    if ws.shape[0] > gram_cache.max_size:
        return False
    if pb.fit_intercept and not GC.centering_is_safe(xbar_ws, sqnorm_ws, n):
        return False
    lengths = (pb.indptr[ws + 1] - pb.indptr[ws]).astype(np.int64)
    nnz_ws = int(lengths.sum())
    uncached = ~np.isin(ws, gram_cache.cols)
    new_pairs = GC.estimate_new_pairs(int(lengths[uncached].sum()), nnz_ws, n)
    n_moving = int(np.count_nonzero(w[ws]))
    return GC.gram_is_cheaper(ws.shape[0], nnz_ws, n_moving, new_pairs,
                              gram_cache.expected_epochs, gram_cache.max_size)


def _gap(pb, cols, w, r_raw, shift, l1, l2, positive, free_proj, buffers, grad,
         q_cand=None, grad_cand=None):
    """Gap over ``cols``: one pass over those columns; fills grad with x_j^T (s q).

    ``free_proj`` (:class:`FreeProjection`) makes the dual direction feasible for the
    unpenalized features (after its ``select`` for the current iterate).

    The dual point is the best of the rescaled current residual and, when given, the
    candidate direction ``q_cand`` (the inner solver's extrapolated dual point). On
    return ``grad`` holds the gradient of the dual direction that was kept.

    Returns (gap, primal, t, q_kept): the dual point is t * q_kept.
    """
    r, q, sq = buffers
    np.add(r_raw, shift, out=r)
    free_proj.direction(r, q, sq)
    xt_dot_full(pb.data, pb.indices, pb.indptr, cols, sq, grad)  # the full pass
    gap, primal, dual, t = K.duality_gap(r, q, pb.sw, pb.weighted, pb.y_c, grad, cols, w,
                                         l1, l2, positive)
    if q_cand is not None:
        np.multiply(q_cand, pb.sw, out=sq) if pb.weighted else np.copyto(sq, q_cand)
        xt_dot_full(pb.data, pb.indices, pb.indptr, cols, sq, grad_cand)
        dual_c, t_c = K.dual_value(q_cand, pb.sw, pb.weighted, pb.y_c, grad_cand, cols,
                                   l1, l2, positive)
        if dual_c > dual:
            grad[:] = grad_cand
            return (_checked_gap(primal - dual_c, primal, pb.null_deviance), primal, t_c,
                    q_cand)
    return _checked_gap(gap, primal, pb.null_deviance), primal, t, q


#: Relative rounding of the dual value 1/2 ||y||^2 - 1/2 ||y - theta||^2 (in units of
#: its terms, ~ the null deviance): a negative gap within it is rounding, not an
#: infeasible dual point. Needed when the unpenalized features fit y exactly (primal
#: ~1e-32): the gap is then the cancellation of two values ~||y||^2 / 2, about
#: -1e-17, far beyond NEGATIVE_GAP_TOL * primal, and was reported as +inf.
DUAL_ROUNDING = 64 * np.finfo(np.float64).eps


def _checked_gap(gap, primal, scale=0.0):
    """The gap, or +inf when it is negative beyond rounding (see NEGATIVE_GAP_TOL;
    ``scale``: magnitude of the dual value's terms, see DUAL_ROUNDING)."""
    limit = NEGATIVE_GAP_TOL * abs(primal) + DUAL_ROUNDING * abs(scale)
    return np.inf if gap < -limit else gap


def _intercept(pb, w):
    """b = ybar - xbar^T w (weighted means), over the non-zero coefficients.

    Not the residual kernel's shift: columns stored in every row are centered explicitly
    there and do not enter the shift.
    """
    if not pb.fit_intercept:
        return 0.0
    nz = np.flatnonzero(w)
    if nz.size == 0:
        return pb.y_offset
    xbar = column_stats(pb, nz.astype(np.int64))[0]
    return pb.y_offset - float(xbar @ w[nz])


def solve_enet(X, pb, alpha, l1_ratio, penalty_factor, *, positive=False, tol=1e-4,
               max_iter=100, max_epochs=50_000, w_init=None, ws_init=None, screening=True,
               p0=100, ws_growth=4, anderson_k=5, dual_extrapolation=False,
               krylov_dual=False, verbose=0, cancel=None, gram_cache=None,
               tol_scale="null_deviance"):
    """Solve a weighted elastic net with working sets, Gap Safe screening and CD.

    Minimises, over w and an unpenalized intercept b (when ``pb.fit_intercept``)::

        1/(2n) sum_i s_i (y_i - x_i.w - b)^2
            + alpha sum_j v_j (l1_ratio |w_j| + (1 - l1_ratio)/2 w_j^2)

    Parameters
    ----------
    X : scipy.sparse CSC matrix
        The validated design matrix ``pb`` was built from (used only to form the Gram
        matrix of unpenalized features, if any).
    pb : ProblemData
        From :func:`prepare_problem`.
    alpha : float
        Regularization strength, >= 0.
    l1_ratio : float
        Mix between L1 (1) and L2 (0).
    penalty_factor : ndarray of shape (n_features,) or None
        Per-feature multipliers v_j >= 0; None means all ones (and saves two arrays of
        n_features floats).
    positive : bool, default=False
        Constrain w >= 0.
    tol : float, default=1e-4
        Stop when the duality gap (of the objective above) is at most
        ``tol * sum_i s_i (y_i - ybar)^2 / n`` (scikit-learn's criterion), or at most
        ``tol`` times the objective at the current point with
        ``tol_scale="objective"``.
    max_iter : int, default=100
        Maximum number of outer (working-set) iterations.
    max_epochs : int, default=50_000
        Maximum coordinate-descent epochs per working-set solve.
    w_init : ndarray of shape (n_features,) or None
        Starting point (warm start); copied, never modified.
    ws_init : array-like of int or None
        Features forced into the first working set (e.g. the strong-rule set along a
        path). Only a seed: the global gap still decides convergence, so a wrong guess
        costs time, never correctness.
    screening : bool, default=True
        Use Gap Safe screening.
    p0 : int, default=100
        Smallest working-set size. (100 rather than 10: each outer iteration costs a
        pass over all features, and on the news20-shaped benchmark starting at 100 saved
        3 of 8 passes at alpha_max/10.)
    ws_growth : int, default=4
        Growth factor of the working set when the support fills it (>= 90% non-zero);
        otherwise it is twice the support.
    anderson_k : int, default=5
        Number of iterates combined by Anderson extrapolation (0 disables it).
    dual_extrapolation : bool, default=False
        Also try the extrapolation of the last residuals as dual point (celer's dual
        extrapolation). Off by default: on the news20-shaped benchmark it cost more than
        it saved once the primal iterates are Anderson-accelerated (6.0 s vs 6.7 s at
        alpha_max/100; without Anderson 17 s vs 22 s), because the gap there is limited
        by features outside the working set, not by the residual's dual point.
    krylov_dual : bool, default=False
        In working-set solves that run long (after
        :data:`fastsparse._kernels.KRYLOV_MIN_EPOCHS` epochs, then twice, four times
        as many, ...), also try the Krylov dual point of the support
        (:mod:`fastsparse._krylov_dual`): the residual corrected by conjugate residuals
        on the sign-fixed optimality system. Near interpolation it certifies in
        hundreds of products what coordinate descent takes thousands of epochs to
        certify. A candidate only: the gap is computed exactly either way. Off by
        default: at alpha 95 of the news20-shaped path without intercept, solved
        alone, it took 960 epochs instead of 2,760, but on the whole path its
        iterations cost more than the epochs they saved (951 s against 808 s over
        alphas 2-96; docs/benchmarks.md).
    verbose : int, default=0
        Print one line per outer iteration when > 0.
    cancel : fastsparse._interrupt.Cancellation or None
        Polled before every outer iteration; once set, the solve raises
        ``KeyboardInterrupt`` (how Ctrl-C reaches solves running in worker threads).
    gram_cache : fastsparse._gram_cd.GramCache or None
        Gram matrices of the columns met so far along a path. When given, a
        working-set solve runs covariance coordinate descent
        (:func:`~fastsparse._gram_cd.gram_inner_solve`) whenever
        :func:`_use_gram` predicts it to be cheaper; the certificate is computed from
        the residual either way.
    tol_scale : {"null_deviance", "objective"}, default="null_deviance"
        What ``tol`` is relative to (see ``tol``). With "objective" the stop is the
        relative duality gap G / P(w) <= tol: the objective reached is within a factor
        1 + tol of the optimum whatever the size of the optimum, which matters at small
        alphas, where P is far below the null deviance.

    Returns
    -------
    EnetResult
    """
    n, p = pb.n_samples, pb.n_features
    lam = n * alpha
    if penalty_factor is None:
        # Uniform penalty: zero-stride views instead of two arrays of n_features floats.
        l1 = np.broadcast_to(np.float64(lam * l1_ratio), (p,))
        l2 = np.broadcast_to(np.float64(lam * (1.0 - l1_ratio)), (p,))
    else:
        l1 = lam * l1_ratio * penalty_factor
        l2 = lam * (1.0 - l1_ratio) * penalty_factor
    if penalty_factor is not None or alpha == 0:
        free = np.flatnonzero((l1 == 0.0) & (l2 == 0.0) & (pb.sqnorm_f32 > 0.0))
    else:
        free = np.zeros(0, dtype=np.int64)
    free_proj = FreeProjection(X, pb, free, positive)
    free, xbar_free, gram_pinv = free_proj.kernel_args()
    by_objective = tol_scale == "objective"
    tol_abs = tol * pb.null_deviance  # with by_objective: updated at every gap

    if w_init is None:
        # Mapped X (millions of features, few written): zeros resident only where set.
        w = MP.lazy_zeros(p) if pb.mapped else np.zeros(p)
    else:
        w = np.array(w_init, dtype=np.float64)
        w[pb.sqnorm_f32 == 0.0] = 0.0  # zero-norm (centered) columns can only be 0
        if positive:
            np.maximum(w, 0.0, out=w)
    r_raw = np.empty(n)
    r, q, sq = np.empty(n), np.empty(n), np.empty(n)
    args = (pb.data, pb.indices, pb.indptr)
    # Memory-mapped X: the same residual and inner solve, reading X block by block.
    residual = MP.residual if pb.mapped else K.residual

    active = _usable_features(pb)  # features still in play (not screened)
    n_usable = n_active = active.shape[0]
    grad = np.empty(n_usable)
    grad_cand = np.empty(n_usable) if dual_extrapolation else None
    q_cand = np.empty(n)
    have_cand = False  # q_cand holds an extrapolated dual direction worth trying
    ws_size = ws_last = 0
    n_epochs = 0
    gap = np.inf
    converged = False
    it = 0
    t_start = time.perf_counter()
    final_check = False
    n_screened = p - n_active
    while it < max_iter:
        check_cancelled(cancel)
        it += 1
        shift = residual(*args, pb.y_c, w, pb.sw, pb.weighted, pb.fit_intercept, r_raw)
        cols, g = active[:n_active], grad[:n_active]
        # positive=True: project on the binding constraints only (FreeProjection).
        free, xbar_free, gram_pinv = free_proj.select(w, r_raw, shift, r, q, sq)
        gap, primal, t, q_kept = _gap(pb, cols, w, r_raw, shift, l1, l2, positive,
                                      free_proj, (r, q, sq), g,
                                      q_cand if have_cand else None,
                                      None if grad_cand is None else grad_cand[:n_active])
        if by_objective:
            tol_abs = tol * primal
        if verbose:
            print(f"[fastsparse] iter {it:3d}  gap {gap / n:.3e}  primal {primal / n:.10e}"
                  f"  active {n_active}  ws {ws_size}  "
                  f"nnz {np.count_nonzero(w)}  epochs {n_epochs}  "
                  f"{time.perf_counter() - t_start:.2f}s")
        if gap <= tol_abs:
            if n_active == n_usable or final_check:
                converged = True
                break
            # Converged on the screened problem: certify once over every feature.
            n_screened = p - n_active
            active = _usable_features(pb, out=active)
            n_active = n_usable
            final_check = True
            it -= 1  # the certification pass is not an extra iteration
            continue
        final_check = False
        radius = np.sqrt(2.0 * max(gap, 0.0))
        n_active, zeroed, _ = K.screen_and_score(active, n_active, grad, t, radius,
                                                 pb.sqnorm_f32, l1, l2, w, positive,
                                                 screening)
        if zeroed:
            shift = residual(*args, pb.y_c, w, pb.sw, pb.weighted, pb.fit_intercept, r_raw)
        # Working set: the features closest to (or beyond) their dual constraint, which
        # always include the non-zero and the unpenalized ones (score -inf).
        nnz = int(np.count_nonzero(w))
        # Grow faster when the last working set was saturated (its solution used 90% of
        # it). Not on the first iteration (ws_size 0): a warm start with 12.5 k non-zeros
        # (rcv1 labels without intercept near alpha_max/500) then solved its first working
        # set over all 46 k features, 222 epochs over all of X, 70% of that alpha's time.
        saturated = ws_size > 0 and nnz >= 0.9 * ws_size
        grow = ws_growth if saturated else 2
        ws_size = min(n_active, max(p0, grow * nnz, nnz + free.shape[0]))
        ws = K.smallest_k(grad, active, n_active, ws_size)
        if ws_init is not None:
            # Seed the first working set (strong rule along a path), minus the screened.
            seed = np.asarray(ws_init, dtype=ws.dtype)
            seed = seed[np.isin(seed, active[:n_active])]
            ws = np.union1d(ws, seed).astype(ws.dtype, copy=False)
            ws_init = None
        ws_last = ws.shape[0]
        tol_in = max(INNER_GAP_RATIO * gap, 0.5 * tol_abs)
        krylov_tol = 0.5 * tol_abs if krylov_dual else None
        if pb.mapped:  # on a compact in-memory copy of the working set
            shift, ep, _, have_cand = MP.inner_solve(
                pb, ws, w, r_raw, shift, l1, l2, positive, free, xbar_free, gram_pinv,
                tol_in, max_epochs, anderson_k, dual_extrapolation, q_cand,
                jacobi_plan(pb, ws)[0], krylov_tol)
        else:
            xbar_ws, sqnorm_ws = column_stats(pb, ws)
            inner_args = (*args, ws, w, r_raw, shift, pb.sw, pb.weighted,
                          pb.fit_intercept, xbar_ws, sqnorm_ws, l1, l2, positive, pb.y_c,
                          free, xbar_free, gram_pinv, tol_in, max_epochs, anderson_k,
                          dual_extrapolation, q_cand)
            jacobi_used = False
            if (gram_cache is not None and free.size == 0 and not dual_extrapolation
                    and _use_gram(pb, gram_cache, ws, w, xbar_ws, sqnorm_ws)):
                gram = gram_cache.get(ws, xbar_ws if pb.fit_intercept else None)
                shift, ep, _, have_cand = GC.gram_inner_solve(*inner_args, gram)
            else:
                n_blocks, nnz_ws = jacobi_plan(pb, ws)
                jacobi_used = n_blocks > 1
                shift, ep, _, have_cand = run_inner_solve(pb, ws, inner_args, n_blocks,
                                                          nnz_ws, krylov_tol)
            # The Gram cost model expects the epoch counts of cyclic solves. Fed those
            # of block-Jacobi solves, it built Gram matrices of large working sets:
            # the rcv1 path without intercept peaked 125 MiB above its start instead
            # of 18 MiB.
            if gram_cache is not None and not jacobi_used:
                gram_cache.expected_epochs = max(ep, 1)
        # A Krylov dual point (found == 2) is always worth a pass over all features; the
        # best rescaled residual of the checks only with dual extrapolation. (Neither is
        # checked against one-sided constraints.)
        have_cand = ((have_cand == 2 or (have_cand and dual_extrapolation))
                     and not (positive and free.size))
        if have_cand and grad_cand is None:  # allocated once a Krylov point shows up
            grad_cand = np.empty(n_usable)
        n_epochs += ep

    if not converged:
        # Report the certificate over all features, even when stopping early.
        shift = residual(*args, pb.y_c, w, pb.sw, pb.weighted, pb.fit_intercept, r_raw)
        cols = _usable_features(pb, out=active)
        free, xbar_free, gram_pinv = free_proj.select(w, r_raw, shift, r, q, sq)
        gap, primal, t, q_kept = _gap(pb, cols, w, r_raw, shift, l1, l2, positive,
                                      free_proj, (r, q, sq), grad,
                                      q_cand if have_cand else None, grad_cand)
        if by_objective:
            tol_abs = tol * primal
        converged = gap <= tol_abs
        if not converged:
            warnings.warn(
                f"Objective did not converge after {max_iter} iterations: duality gap "
                f"{gap / n:.3e} > tolerance {tol_abs / n:.3e}. Increase max_iter or tol, "
                "or check the scaling of the data.",
                ConvergenceWarning,
                stacklevel=3,
            )
    intercept = _intercept(pb, w)
    return EnetResult(
        coef=w, intercept=intercept, dual_gap=max(gap, 0.0) / n, primal=primal / n,
        dual_point=t * q_kept, n_iter=it, n_epochs=n_epochs,
        # Every exit path ends with a pass over all usable features (the certification
        # or the early-stop report), so grad is in usable-feature order.
        gradient=grad[:n_usable] if q_kept is q else None,
        n_screened=int(max(n_screened, p - n_active)),
        converged=converged, ws_size=int(ws_last),
    )
