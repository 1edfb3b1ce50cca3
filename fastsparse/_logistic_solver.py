"""Outer loop of the L1 / elastic-net logistic regression solver (proximal Newton).

Problem (DESIGN.md sections 1-2, multiplied by n): labels y_i in {-1, +1}, weights s_i
summing to n, lam = n * alpha,

    P(w, b) = sum_i s_i log(1 + exp(-y_i (x_i.w + b)))
              + lam * sum_j v_j (rho |w_j| + (1 - rho)/2 w_j^2).

Each outer iteration (in Python, like :mod:`fastsparse._solver`)

1. takes the linear predictor z = Xw + b as the Newton steps left it (z + s dz),
2. builds a dual-feasible point from u = -grad F(z) (see :func:`_dual_point`) and the
   duality gap over every feature still in play; stops when gap <= tol * D0, D0 the null
   deviance (twice the negative log-likelihood of the intercept-only model), the gap
   being then recomputed at z = Xw + b from scratch so that it certifies the returned
   coefficients,
3. discards with the Gap Safe sphere test the features provably zero at the optimum,
4. picks a working set (features closest to their dual constraint, plus the non-zeros),
   grown geometrically,
5. runs proximal Newton on the working set until its restricted gap is below a fraction
   of the global gap (:func:`_newton_working_set`): quadratic model with weights
   h_i = s_i p_i (1 - p_i) (floored), coordinate descent on it with lazy centering for the
   intercept (O(nnz) per coordinate), then a backtracking (Armijo) line search on the
   true objective, so the objective decreases at every step and the iteration cannot
   diverge, even on separable data.

Gap Safe for the logistic loss: the conjugate of t -> s log(1 + exp(-t)) is
s (p log p + (1 - p) log(1 - p)) at p = -t/s, whose second derivative is
1 / (s p (1 - p)) >= 4 / s. So the dual D(u) is 4-strongly concave in the norm
||u||^2_{S^-1} = sum_i u_i^2 / s_i, and for the optimal u* and any feasible u,
||u - u*||_{S^-1} <= sqrt(2 G / 4) = sqrt(G / 2) (DESIGN.md's sqrt(2 G / gamma) / lambda
with gamma = 4, in the scaling u = lambda theta). By Cauchy-Schwarz
|x_j^T u*| <= |x_j^T u| + sqrt(G / 2) ||x_j||_S, where ||x_j||_S^2 = sum_i s_i x_ij^2 (the
s-weighted centered norm with an intercept, since sum u = 0): the sphere test of
:func:`fastsparse._kernels.screen_and_score` with radius sqrt(G / 2) and the weighted
centered norms of :func:`fastsparse._kernels.column_sqnorms_f32`.
"""

import time
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from . import _kernels as K
from . import _logistic_kernels as LK
from . import _logistic_rows as LR
from . import _mmap_passes as MP
from ._interrupt import check_cancelled
from ._parallel import column_sqnorms_f32, run_rows, xt_dot_full
from ._solver import (
    MAX_UNPENALIZED,
    _checked_gap,
    pinv_equilibrated,
    shifted_free_columns,
)
from ._validation import check_column_norms

#: Relative floor of the Hessian weights p (1 - p) (glmnet uses 1e-5 on p).
HESSIAN_FLOOR = 1e-10
#: Armijo constant and the smallest step of the backtracking line search.
ARMIJO = 1e-2
MIN_STEP = 2.0 ** -40
#: Each working-set solve stops when its restricted gap is this fraction of the global
#: gap (or of its own restricted gap at entry, if smaller).
INNER_GAP_RATIO = 0.3
#: Forcing term: each quadratic model is solved until its KKT violation is at most this
#: fraction of the violation at the expansion point.
INNER_RATIO = 0.3
#: Iterates combined by Anderson extrapolation in the coordinate descent (0: off).
ANDERSON_K = 5
#: Fraction of the working set's target KKT level the models are solved to.
TARGET_RATIO = 0.1
#: Without an intercept, the models of working sets whose columns share a common mode
#: at least this strong (sum_j cos^2(x_j, 1) in the Hessian metric; text data: tens)
#: are swept deflated (:func:`fastsparse._logistic_kernels._deflated_epoch`).
DEFLATION_MIN_COMMON_MODE = 4.0
#: A working set takes the features violating their optimality condition, at most this
#: many times the support (or p0) of them (:func:`solve_logistic`). Uncapped, 8 or 4:
#: 0.133, 0.129 and 0.121 s on rcv1 without intercept at 50 C_min (0.083, 0.113 and
#: 0.086 s at 30 C_min), against 0.157-0.161 s and 0.106 s for doubling alone.
VIOLATOR_GROWTH = 4
#: Newton steps allowed on a working set known to be incomplete (violators of the
#: optimality conditions left out by the VIOLATOR_GROWTH cap): its solution is only a
#: stepping stone to the next, larger working set. On rcv1 without intercept: 50 C_min
#: 0.095-0.101 s against 0.111-0.113 s uncapped (the first working set took 3 steps);
#: 10, 20, 30, 100 C_min within the noise; news20 50 C_min about 4% slower.
INCOMPLETE_WS_NEWTON = 2


@dataclass
class LogisticProblem:
    """Everything the kernels need about (X, y, weights), computed once per fit.

    ``sw`` sums to n (or is a length-1 placeholder when ``weighted`` is False).
    ``sqnorm_f32`` are the s-weighted (centered with an intercept) squared column norms,
    rounded up, for screening; ``null_deviance`` is twice the weighted negative
    log-likelihood of the null model (intercept only, or z = 0 without intercept) and
    ``null_intercept`` its intercept. ``mapped`` says that X is memory-mapped: the
    linear predictor is then built over released column blocks and each working set
    solved on a compact in-memory copy of its columns (:mod:`fastsparse._mmap_passes`).
    """

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    n_samples: int
    n_features: int
    y: np.ndarray
    sw: np.ndarray
    weighted: bool
    fit_intercept: bool
    sqnorm_f32: np.ndarray
    null_deviance: float
    null_intercept: float
    mapped: bool = False


@dataclass
class LogisticResult:
    """Solver output, in the internal (n-scaled) units of the module docstring.

    ``dual_gap`` and ``primal`` are in those units; ``dual_point`` is the feasible u
    certifying ``dual_gap``; ``tol_abs`` the gap the solve had to reach (same units:
    ``tol`` times the null deviance, or times the final objective). ``separated`` tells
    whether the returned model separates the training rows (every weighted margin
    positive).
    """

    coef: np.ndarray
    intercept: float
    dual_gap: float
    primal: float
    dual_point: np.ndarray
    n_iter: int
    n_newton: int
    n_epochs: int
    n_screened: int
    converged: bool
    separated: bool
    tol_abs: float


def prepare_logistic(X, y, sample_weight, fit_intercept, sqnorm_f32=None):
    """Precompute the per-fit arrays of a binary problem.

    Parameters
    ----------
    X : scipy.sparse CSC matrix, validated.
    y : ndarray of shape (n_samples,) with values in {-1.0, +1.0}.
    sample_weight : ndarray of shape (n_samples,) summing to n_samples, or None.
    fit_intercept : bool
    sqnorm_f32 : ndarray or None
        Screening norms when already computed (they depend on X and the weights only, so
        one-vs-rest problems with the same weights share them).

    Returns
    -------
    LogisticProblem
    """
    n, p = X.shape
    weighted = sample_weight is not None
    sw = sample_weight if weighted else np.ones(1)
    if sqnorm_f32 is None:
        sqnorm_f32 = column_sqnorms_f32(X.data, X.indices, X.indptr, n, sw, weighted,
                                          fit_intercept)
        # Overflowed (NaN / inf) or underflowed (0) column norms made the columns look
        # all-zero: all-zero coefficients, silently (see check_column_norms).
        check_column_norms(X.data, X.indices, X.indptr, sqnorm_f32, sample_weight)
    if fit_intercept:
        pos = float(np.sum(sample_weight[y > 0]) if weighted else np.count_nonzero(y > 0))
        pbar = min(max(pos / n, 0.0), 1.0)
        ent = LK.entropy(pbar)
        null_dev = 2.0 * n * ent
        with np.errstate(divide="ignore"):
            b0 = float(np.log(pbar) - np.log1p(-pbar)) if 0.0 < pbar < 1.0 else 0.0
    else:
        null_dev = 2.0 * n * np.log(2.0)
        b0 = 0.0
    return LogisticProblem(
        data=X.data, indices=X.indices, indptr=X.indptr, n_samples=n, n_features=p,
        y=y, sw=sw, weighted=weighted, fit_intercept=fit_intercept,
        sqnorm_f32=sqnorm_f32, null_deviance=float(null_dev), null_intercept=b0,
        mapped=MP.is_mapped(X.data),
    )


class _FreeProjection:
    """Dual point with unpenalized features: project u onto x_j^T u = 0 for them.

    The box of the entropy forbids a plain Euclidean projection; instead the correction
    is taken in the metric of the Hessian weights h: u - H A a with A = [X_free, 1]
    (the ones when fitting an intercept) and a solving (A^T H A) a = A^T u. Rows with
    extreme margins have h ~ 0 and are barely moved, so the point stays in the box unless
    the iterate is far from optimal; then ``project`` reports failure and the gap of that
    iteration is infinite (no certificate claimed).
    """

    def __init__(self, X, pb, free):
        if free.shape[0] > MAX_UNPENALIZED:
            raise ValueError(
                f"{free.shape[0]} features are unpenalized (penalty factor 0); at most "
                f"{MAX_UNPENALIZED} are supported, since certifying the solution needs "
                "their Gram matrix. Use small positive penalty factors instead."
            )
        # A float64 copy of the free columns (gathered by released blocks from a map;
        # free comes from flatnonzero: increasing). With an intercept the constraints
        # x_j^T u = 0 (j free) and 1^T u = 0 are those of the shifted columns
        # x_j - c_j 1, so a column stored in every row is shifted by its mean: a column
        # with a large mean and a small spread (a timestamp) is then no longer nearly
        # collinear with the ones, whose Gram matrix was numerically singular (gap 0
        # reported for a far-from-optimal answer).
        self.Xf = shifted_free_columns(X, pb, free, None)
        self.pb = pb
        self.h = np.empty(pb.n_samples)

    def project(self, z, u):
        """Project u in place (class docstring) with the Hessian weights at z.

        Returns False, leaving u unusable as a certificate, when the projected point
        leaves the entropy's box beyond rounding; True otherwise.
        """
        pb = self.pb
        LK.hessian_weights(z, pb.y, pb.sw, pb.weighted, 0.0, self.h)
        h = self.h
        Xf = self.Xf
        hx = Xf.multiply(h[:, None]).tocsc()
        gram = np.asarray((Xf.T @ hx).todense(), dtype=np.float64)
        rhs = np.asarray(Xf.T @ u, dtype=np.float64).ravel()
        if pb.fit_intercept:
            col = np.asarray(hx.sum(axis=0), dtype=np.float64).ravel()
            gram = np.block([[gram, col[:, None]], [col[None, :], np.array([[h.sum()]])]])
            rhs = np.append(rhs, u.sum())
        a = pinv_equilibrated(gram) @ rhs
        corr = np.asarray(Xf @ a[: Xf.shape[1]], dtype=np.float64).ravel()
        if pb.fit_intercept:
            corr += a[-1]
        u -= h * corr
        yu = pb.y * u
        upper = pb.sw if pb.weighted else 1.0
        slack = 1e-12 * np.maximum(upper, 1e-300)
        if np.any(yu < -slack) or np.any(yu > upper + slack):
            return False
        # Clip rounding-level excursions into the box.
        np.clip(yu, 0.0, upper, out=yu)
        np.multiply(pb.y, yu, out=u)
        return True


class _State:
    """Work arrays of one fit (all of length n_samples), allocated once.

    ``fresh`` is True while ``loss``, ``g``, ``u``, ``ok``, ``h`` and ``h_sum`` were
    computed at the current ``z`` (by :func:`_dual_point`), so that the next gap and the
    Newton model at the same point reuse them: they cost one exp and one log per row, as
    much as the rest of a gap evaluation on a working set. Whoever changes z sets it to
    False. ``exact`` is True while z was computed from scratch (:func:`_set_predictor`)
    rather than moved along accepted Newton steps (z + s dz). Likewise
    ``entropy`` is the entropy part of D(t u) for t = ``entropy_t`` (None: not computed
    at this point): two logs per row, reused when the next gap's scale t is the same
    (the working set holds the feature that sets t, as it usually does).
    """

    def __init__(self, n):
        self.fresh = False
        self.exact = False
        self.loss = np.inf
        self.ok = False
        self.entropy = 0.0
        self.entropy_t = None
        self.z = np.empty(n)    # linear predictor Xw + b
        self.g = np.empty(n)    # -grad F(z)
        self.u = np.empty(n)    # dual direction (g made feasible for the constraints)
        self.h = np.empty(n)    # Hessian weights (floored)
        self.h_sum = 0.0
        self.parts = LR.row_parts()  # per-chunk sums of the row passes
        self.e = np.empty(n)    # h-weighted working residual
        self.dz = np.empty(n)   # Newton direction in sample space
        self.v = np.empty(n)    # scratch


def _dual_point(pb, st, free_proj):
    """Loss, g = -grad F(z), the Hessian weights and the feasible dual direction u;
    returns (loss, ok).

    With an intercept, sum_i u_i = 0 is required: the larger of the two class totals of
    g is scaled down to the smaller (:func:`LK.balance_classes`), which keeps u in the
    entropy's box. With unpenalized features, :class:`_FreeProjection` instead.
    """
    if st.fresh:
        return st.loss, st.ok
    loss, pos, neg, st.h_sum = run_rows(
        LR.loss_and_dual_direction, LR.loss_and_dual_direction_parallel, pb.n_samples,
        st.z, pb.y, pb.sw, pb.weighted, HESSIAN_FLOOR, st.g, st.h, st.parts)
    st.u[:] = st.g
    ok = True
    if free_proj is not None:
        ok = free_proj.project(st.z, st.u)
    elif pb.fit_intercept:
        LK.balance_classes(st.u, pb.y, pos, neg)
    st.loss, st.ok, st.fresh = loss, ok, True
    st.entropy_t = None
    return loss, ok


def _set_predictor(pb, st, w, b):
    """st.z = Xw + b from scratch (O(n + nnz of the support)); invalidates the cache.

    Between certificates z moves along the accepted Newton steps (:func:`_move_predictor`);
    it is recomputed here before a gap may certify the solution, so that the certificate
    is that of the returned (w, b), not of a z that has drifted from Xw + b by rounding.
    A memory-mapped X is read over released blocks of the support (same result).
    """
    if pb.mapped:
        MP.linear_predictor(pb.data, pb.indices, pb.indptr, w, b, st.z)
    else:
        LK.linear_predictor(pb.data, pb.indices, pb.indptr, w, b, st.z)
    st.fresh = False
    st.exact = True


def _move_predictor(st, s):
    """z += s dz after an accepted step (dz = X delta + db, so z stays Xw + b up to
    rounding): O(n), where recomputing z reads every column of the support (4% of an
    rcv1-shaped L1 fit, one read per Newton step)."""
    if s == 1.0:
        np.add(st.z, st.dz, out=st.z)
    else:
        st.z += s * st.dz
    st.fresh = False
    st.exact = False


def _gap(pb, st, cols, w, l1, l2, grad, free_proj, xc=None, known=None, rest=None):
    """Duality gap over ``cols`` at the current z; fills grad[k] = x_j^T u, j = cols[k].

    Every non-zero w_j must have j in cols. Returns (gap, primal, t): the dual point is
    t * u (t <= 1 makes it feasible for the pure-L1 features in cols). The gap is +inf
    when no feasible point could be built (unpenalized features far from optimal).
    ``xc`` = (data, indices, indptr, local columns): a compact copy of the columns
    ``cols`` to read instead of X (same sums).

    ``known`` = (sub, values): x_j^T u at this same z for an increasing subset ``sub``
    of the increasing ``cols`` (``cols`` itself allowed), left by an earlier gap. Only
    the other columns are read, listed in the scratch ``rest`` (as long as ``cols``):
    the same sums, so the same gap, without a second pass over the working set's
    columns, which are the longest.
    """
    loss, ok = _dual_point(pb, st, free_proj)
    primal = loss + LK.penalty_value(w, cols, l1, l2)
    if not ok:
        grad[:] = 0.0
        return np.inf, primal, 1.0
    if known is not None and known[0].shape[0] == cols.shape[0]:
        grad[:] = known[1]
    elif known is not None:
        n_cols = cols.shape[0]
        m = K.sorted_difference(cols, n_cols, known[0], rest)
        if m != n_cols - known[0].shape[0]:  # expand_known would read out of bounds
            raise RuntimeError("internal error: known columns not a subset of the gap's")
        xt_dot_full(pb.data, pb.indices, pb.indptr, rest[:m], st.u, grad[:m])
        K.expand_known(cols, n_cols, known[0], known[1], grad)
    elif xc is None:
        xt_dot_full(pb.data, pb.indices, pb.indptr, cols, st.u, grad)
    else:
        xt_dot_full(*xc, st.u, grad)
    t = LK.feasible_scale(grad, cols, l1, l2)
    if st.entropy_t != t:
        st.entropy = run_rows(LR.entropy_value, LR.entropy_value_parallel, pb.n_samples,
                              st.u, t, pb.y, pb.sw, pb.weighted, st.parts)
        st.entropy_t = t
    dual = st.entropy - LK.conjugate_value(grad, cols, t, l1, l2)
    return _checked_gap(primal - dual, primal), primal, t


def _newton_working_set(pb, st, ws, w, b, l1, l2, free_proj, tol_in, tol_floor,
                        max_newton, max_epochs, grad_at_entry=None):
    """Proximal Newton on the working set until its restricted gap is <= tol_in.

    The target is lowered to ``INNER_GAP_RATIO`` times the restricted gap at entry when
    that is smaller (never below ``tol_floor``), so every call makes progress.

    ``st.z`` must equal Xw + b on entry (up to rounding); it moves along every accepted
    step (:func:`_move_predictor`).
    ``grad_at_entry``: x_j^T u over ``ws`` at the entry point, when the caller has it.
    Returns (b, n_newton, n_epochs, stalled, grad_at_exit) with stalled True when the
    line search could not decrease the objective (converged to rounding level), and
    grad_at_exit the x_j^T u over ``ws`` at the returned point when the last gap was
    computed there (``st.fresh``), else None.

    For a memory-mapped X (``pb.mapped``) the working set's columns are first copied to
    compact in-memory arrays (:func:`fastsparse._mmap_passes.gather_working_set`), and
    the same kernels run on them with local column numbers 0..m-1 (``w``, ``l1``,
    ``l2`` taken on ws, ``w`` scattered back): same arithmetic in the same order, so the
    same iterates as in memory. A working set too large to copy is solved on the map,
    whose pages are released afterwards.
    """
    m = ws.shape[0]
    fi = pb.fit_intercept
    xc = None  # (data, indices, indptr, columns) of a compact copy of ws
    if pb.mapped:
        gathered = MP.gather_working_set(pb.data, pb.indices, pb.indptr, ws)
        if gathered is not None:
            xc = (*gathered, np.arange(m, dtype=ws.dtype))
            l1_ws = MP.take_per_feature(l1, ws)
            l2_ws = MP.take_per_feature(l2, ws)
            w_ws = np.empty(m)
    src = (pb.data, pb.indices, pb.indptr, ws) if xc is None else xc
    # Columns stored in every row are centered explicitly by the kernels (exact for a
    # large mean); only the others take part in the lazy centering's scalar shift.
    if fi:
        if xc is None:
            dense = (pb.indptr[ws + 1] - pb.indptr[ws]) == pb.n_samples
        else:
            dense = np.diff(xc[2]) == pb.n_samples  # the copy keeps the entry counts
        lazy = ~dense
    xbar = np.zeros(m)
    lip = np.empty(m)
    grad = np.empty(m)
    # Without an intercept, the common-mode deflation of the model's sweeps
    # (LK._deflated_epoch): its h-weighted means and centered norms, and scratch.
    d_mean = d_lip = deflation = None
    if not fi:
        d_mean, d_lip = np.empty(m), np.empty(m)
        defl_scratch = (np.zeros(5), np.empty(m), np.empty(pb.n_samples), np.empty(m),
                        np.empty(m))
    w0 = np.empty(m)
    delta = np.empty(m)
    n_epochs = 0
    step_count = 0
    stalled = False
    kkt_per_gap = None
    for step_count in range(1, max_newton + 1):
        continue_first = False
        known = (ws, grad_at_entry) if step_count == 1 and grad_at_entry is not None else None
        gap, _, _ = _gap(pb, st, ws, w, l1, l2, grad, free_proj, xc, known=known)
        if step_count == 1 and np.isfinite(gap):
            # Always make progress on the working set: when its restricted gap is
            # already below the global target (the global gap can be spread over many
            # features outside it, e.g. with an L2 penalty), reduce it by the same factor,
            # and take at least one Newton step (new features of the working set may
            # carry little of the gap, but must get their chance to become non-zero).
            tol_in = max(min(tol_in, INNER_GAP_RATIO * gap), tol_floor)
            if gap > 0.0:
                continue_first = True
        if gap <= tol_in and not continue_first:
            step_count -= 1
            break
        h_sum = st.h_sum  # st.h and st.h_sum were computed at this z by the gap
        if fi:
            LK.weighted_column_stats(*src, st.h, h_sum, fi, xbar, lip)
        else:
            # The model's first epoch measures the columns as it sweeps them (their
            # centered statistics, the plain norms sum h x^2 = centered + H mean^2 in
            # lip; xbar stays 0) and turns the deflation on from their common-mode
            # weight (LK._measuring_epoch): one read of the working set fewer per
            # Newton step, 3-4% of an rcv1-shaped fit.
            deflation = (d_mean, d_lip, *defl_scratch)
        np.take(w, ws, out=w0)
        if fi:
            shift0 = LK.dot(xbar * lazy, w0)
            gbar = float(st.g.sum()) / h_sum
            LK.init_working_residual(st.g, st.h, -shift0 - gbar, st.e)
        else:
            shift0 = gbar = 0.0
            st.e[:] = st.g
        # Adaptive inner tolerance: solve the model until its KKT violation is a fraction
        # of the current one (inexact proximal Newton with a forcing term), but never
        # beyond what the working-set target needs: the KKT level expected at gap tol_in,
        # extrapolated from the first step's ratio of KKT violation to gap.
        kkt = LK.kkt_violation(grad, ws, w, l1, l2)
        if kkt_per_gap is None and np.isfinite(gap) and gap > 0:
            kkt_per_gap = kkt / gap
        eps = INNER_RATIO * kkt
        if kkt_per_gap is not None:
            eps = max(eps, TARGET_RATIO * kkt_per_gap * tol_in)
        min_common_mode = -1.0 if fi else DEFLATION_MIN_COMMON_MODE  # < 0: no measuring
        if xc is None:
            shift, ep = LK.quadratic_cd(*src, w, st.e, shift0, st.h, h_sum, fi, xbar, lip,
                                        l1, l2, max_epochs, eps, ANDERSON_K, st.v,
                                        deflation, min_common_mode)
        else:
            w_ws[:] = w0
            shift, ep = LK.quadratic_cd(*xc, w_ws, st.e, shift0, st.h, h_sum, fi, xbar,
                                        lip, l1_ws, l2_ws, max_epochs, eps, ANDERSON_K,
                                        st.v, deflation, min_common_mode)
            w[ws] = w_ws
        n_epochs += ep
        np.subtract(w[ws], w0, out=delta)
        # Intercept change: its lazy part goes into dz with the lazy columns, the
        # explicitly centered columns' share -xbar_j delta_j only into b.
        db = (shift0 + gbar - shift) if fi else 0.0
        LK.newton_direction(*src, delta, db, xbar, fi, st.dz)
        if fi and dense.any():
            db -= float(xbar[dense] @ delta[dense])
        # Directional decrease of the model (grad F = -g): negative for a descent step.
        decrease = -LK.dot(st.g, st.dz) + LK.penalty_change(w0, delta, 1.0, ws, l1, l2)
        if not decrease < 0.0:
            w[ws] = w0
            stalled = True
            break
        s = 1.0
        while True:
            change = (run_rows(LR.loss_change, LR.loss_change_parallel, pb.n_samples,
                               st.z, st.dz, s, pb.y, pb.sw, pb.weighted, st.parts)
                      + LK.penalty_change(w0, delta, s, ws, l1, l2))
            if change <= ARMIJO * s * decrease:
                break
            s *= 0.5
            if s < MIN_STEP:
                break
        if s < MIN_STEP:
            w[ws] = w0
            stalled = True
            break
        if s != 1.0:
            w[ws] = w0 + s * delta
        b += s * db
        _move_predictor(st, s)
    if pb.mapped and xc is None:
        MP.release_pages((pb.data, pb.indices, pb.indptr))
    return b, step_count, n_epochs, stalled, (grad if st.fresh else None)


def solve_logistic(X, pb, lam, l1_ratio, penalty_factor, *, tol=1e-4, max_iter=100,
                   max_newton=50, max_epochs=1000, w_init=None, b_init=None,
                   screening=True, p0=50, verbose=0, cancel=None,
                   tol_scale="null_deviance"):
    """Solve weighted L1 / elastic-net logistic regression with working sets.

    Parameters
    ----------
    X : scipy.sparse CSC matrix
        The validated matrix ``pb`` was built from.
    pb : LogisticProblem
        From :func:`prepare_logistic`.
    lam : float
        Penalty multiplier of the n-scaled objective (module docstring), > 0.
    l1_ratio : float
        rho in [0, 1].
    penalty_factor : ndarray of shape (n_features,) or None
        Per-feature multipliers v_j >= 0 (None: all ones).
    tol : float, default=1e-4
        Stop when the gap is at most ``tol * pb.null_deviance`` (or ``tol * P``, P the
        objective reached, with ``tol_scale="objective"``).
    max_iter : int, default=100
        Maximum number of outer (working-set) iterations.
    max_newton : int, default=50
        Maximum proximal Newton steps per working-set solve.
    max_epochs : int, default=1000
        Maximum coordinate-descent epochs per Newton step.
    w_init, b_init : ndarray, float or None
        Warm start (copied).
    screening : bool, default=True
        Use Gap Safe screening.
    p0 : int, default=50
        Smallest working-set size.
    verbose : int, default=0
        Print one line per outer iteration when > 0.
    cancel : fastsparse._interrupt.Cancellation or None
        Polled before every outer iteration; once set, the solve raises
        ``KeyboardInterrupt``.
    tol_scale : {"null_deviance", "objective"}, default="null_deviance"
        What ``tol`` is relative to; "objective" makes it the relative duality gap
        G / P (as in :func:`fastsparse._solver.solve_enet`).

    Returns
    -------
    LogisticResult
    """
    n, p = pb.n_samples, pb.n_features
    if penalty_factor is None:
        l1 = np.broadcast_to(np.float64(lam * l1_ratio), (p,))
        l2 = np.broadcast_to(np.float64(lam * (1.0 - l1_ratio)), (p,))
        free = np.zeros(0, dtype=np.int64)
    else:
        l1 = lam * l1_ratio * penalty_factor
        l2 = lam * (1.0 - l1_ratio) * penalty_factor
        free = np.flatnonzero((penalty_factor == 0.0) & (pb.sqnorm_f32 > 0.0))
    free_proj = _FreeProjection(X, pb, free) if free.shape[0] else None
    by_objective = tol_scale == "objective"
    tol_abs = tol * pb.null_deviance  # with by_objective: updated at every gap

    if pb.mapped:
        # Only the pages written are resident (MP.lazy_zeros): a few hundred scattered
        # coefficients among millions of features. Same values as below.
        w = MP.lazy_zeros(p)
        if w_init is not None:
            w_init = np.asarray(w_init)
            nz = np.flatnonzero(w_init)
            w[nz] = w_init[nz]
        nz = np.flatnonzero(w)
        w[nz[pb.sqnorm_f32[nz] == 0.0]] = 0.0  # zero-norm (centered) columns can only be 0
    else:
        w = np.zeros(p) if w_init is None else np.array(w_init, dtype=np.float64)
        w[pb.sqnorm_f32 == 0.0] = 0.0  # zero-norm (centered) columns can only be 0
    if not pb.fit_intercept:
        b = 0.0
    elif b_init is None:
        b = pb.null_intercept
    else:
        b = float(b_init)
    st = _State(n)

    dtype = np.int32 if p < 2**31 - 1 else np.int64
    n_usable = int(np.count_nonzero(pb.sqnorm_f32))
    active = np.empty(n_usable, dtype=dtype)
    K.positive_entries(pb.sqnorm_f32, active)
    n_active = n_usable
    grad = np.empty(n_usable)
    # Gradients reused between passes at the same z (see _gap's ``known``): the raw
    # x_j^T u of the features kept by screening, and scratch for the columns to read.
    # Not for a memory-mapped X: there the per-feature arrays are what stays resident
    # (millions of features), and these two would add 1.5 times grad and active.
    reuse = not pb.mapped
    raw = np.empty(n_usable) if reuse else None
    rest = np.empty(n_usable, dtype=dtype) if reuse else None
    ws_known = None  # (ws, x_j^T u over ws) at the current z, from the last ws solve
    ws_size = 0
    n_newton = n_epochs = 0
    gap = np.inf
    primal = np.inf
    t = 1.0
    converged = False
    final_check = False
    n_screened = p - n_active
    it = 0
    t_start = time.perf_counter()
    _set_predictor(pb, st, w, b)
    while it < max_iter:
        check_cancelled(cancel)
        it += 1
        if not st.fresh:
            # After a working-set solve that ended on a gap check, loss, dual direction
            # and the working set's x_j^T u at the current point are kept.
            ws_known = None
        cols, g = active[:n_active], grad[:n_active]
        gap, primal, t = _gap(pb, st, cols, w, l1, l2, g, free_proj, known=ws_known,
                              rest=rest)
        if by_objective:
            tol_abs = tol * primal
        if verbose:
            print(f"[fastsparse] iter {it:3d}  gap {gap / n:.3e}  primal {primal / n:.10e}"
                  f"  active {n_active}  ws {ws_size}  nnz {np.count_nonzero(w)}  "
                  f"newton {n_newton}  epochs {n_epochs}  "
                  f"{time.perf_counter() - t_start:.2f}s")
        if gap <= tol_abs:
            if st.exact and (n_active == n_usable or final_check):
                converged = True
                break
            # The certificate: the gap over every feature at z = Xw + b from scratch,
            # not at the z moved step by step (one pass does both checks).
            if not st.exact:
                _set_predictor(pb, st, w, b)
            if n_active < n_usable:
                n_screened = p - n_active
                K.positive_entries(pb.sqnorm_f32, active)
                n_active = n_usable
            final_check = True
            it -= 1  # the certification pass is not an extra iteration
            continue
        final_check = False
        radius = np.sqrt(max(gap, 0.0) / 2.0)
        n_active, zeroed, n_violating = K.screen_and_score(
            active, n_active, grad, t, radius, pb.sqnorm_f32, l1, l2, w, False, screening,
            raw)
        if zeroed:
            _set_predictor(pb, st, w, b)
        nnz = int(np.count_nonzero(w))
        # Twice the support, and every feature whose optimality condition fails now, up
        # to VIOLATOR_GROWTH times the support: from zero at C = 50 C_min (rcv1-shaped,
        # no intercept) doubling alone took 12 working sets to reach the 532-feature
        # support, 9 with the violators. The cap keeps the first working sets small
        # where thousands of features violate at once (scattered over a memory-mapped
        # file, an uncapped one is solved on the map and makes every page resident).
        extra = min(n_violating, VIOLATOR_GROWTH * max(nnz, p0))
        ws_size = min(n_active, max(p0, 2 * nnz, nnz + free.shape[0], nnz + extra))
        ws = K.smallest_k(grad, active, n_active, ws_size)
        ws_grad = None
        if reuse and not zeroed:  # z unchanged since the gap: x_j^T u over ws hold
            ws_grad = np.empty(ws.shape[0])
            K.gather_sorted(active, n_active, raw, ws, ws_grad)
        tol_floor = 0.5 * tol_abs
        tol_in = (max(INNER_GAP_RATIO * gap, tol_floor) if np.isfinite(gap)
                  else tol_floor)
        incomplete = n_violating > extra
        b, nn, ne, _, ws_grad = _newton_working_set(
            pb, st, ws, w, b, l1, l2, free_proj, tol_in, tol_floor,
            min(max_newton, INCOMPLETE_WS_NEWTON) if incomplete else max_newton,
            max_epochs, ws_grad)
        ws_known = None if ws_grad is None or not reuse else (ws, ws_grad)
        n_newton += nn
        n_epochs += ne

    if not converged:
        # Report the certificate over all features, even when stopping early.
        _set_predictor(pb, st, w, b)
        K.positive_entries(pb.sqnorm_f32, active)
        gap, primal, t = _gap(pb, st, active, w, l1, l2, grad, free_proj)
        if by_objective:
            tol_abs = tol * primal
        converged = gap <= tol_abs
    separated = LK.min_margin(st.z, pb.y, pb.sw, pb.weighted) > 0.0
    return LogisticResult(
        coef=w, intercept=b, dual_gap=max(gap, 0.0), primal=primal,
        dual_point=t * st.u, n_iter=it, n_newton=n_newton, n_epochs=n_epochs,
        n_screened=int(max(n_screened, p - n_active)), converged=bool(converged),
        separated=bool(separated), tol_abs=float(tol_abs),
    )


def warn_if_needed(res, max_iter, scale, label="", has_free=False, stacklevel=3):
    """ConvergenceWarning with the gap; explain separability when it is the cause.

    ``scale`` converts internal units to the estimator's objective; the tolerance shown
    is the gap the solve had to reach (``res.tol_abs``). ``stacklevel`` goes to
    :func:`warnings.warn`; 3 names the caller of the function that calls this one.
    """
    tol_abs = res.tol_abs
    where = f" (class {label!r} vs rest)" if label != "" else ""
    if not res.converged:
        msg = (f"Logistic regression{where} did not converge after {max_iter} "
               f"iterations: duality gap {res.dual_gap * scale:.3e} > tolerance "
               f"{tol_abs * scale:.3e}. Increase max_iter or tol.")
        if res.separated:
            msg += (" The current coefficients separate the training data: with this "
                    "little regularization (large C, small l1_ratio penalties or "
                    "unpenalized features) the minimiser is huge or does not exist. "
                    "Decrease C or use an L1 penalty.")
        warnings.warn(msg, ConvergenceWarning, stacklevel=stacklevel)
    elif res.separated and has_free:
        warnings.warn(
            f"Logistic regression{where}: the training data are separated and some "
            "features are unpenalized (penalty factor 0): if they separate the classes "
            "by themselves the objective has no finite minimiser, and the returned "
            "coefficients only reach the requested gap on the way to infinity.",
            ConvergenceWarning, stacklevel=stacklevel,
        )
