"""Jitted kernels for least-squares elastic net on CSC arrays.

Every function here takes plain arrays that ``fastsparse._validation`` has already checked
(index ranges, shapes, finiteness): Numba does no bounds checking, so nothing in this
module validates anything.

Notation (see DESIGN.md section 2): objective multiplied by n,

    1/2 sum_i s_i r_i^2 + sum_j (l1_j |w_j| + l2_j / 2 w_j^2),

with r the residual of the *implicitly centered* problem when there is an intercept:
r = y_c - X_c w, X_c = X - 1 xbar^T. X_c is never formed; the kernels keep the uncentered
residual ``r_raw = y_c - X w`` and one scalar ``shift = xbar^T w`` with r = r_raw + shift,
so one coordinate update costs O(nnz of the column). The centered gradient of column j is
x_j^T (s * r) (the weighted residual sums to zero, so the xbar_j term vanishes), which in
terms of r_raw is x_j^T (s * r_raw) + shift * n * xbar_j (the weights sum to n).

Per-feature arrays may be zero-stride views (``np.broadcast_to``) when they are constant
(uniform penalty, no intercept), so that a problem with millions of features does not
pay millions of floats for them.

Sample weights: when ``weighted`` is False the weight array is a placeholder of length 1
and is never read, so the unweighted loops read one array less.
"""

import numpy as np
from numba import njit, prange

from . import _krylov_dual as KD
from ._sparse_ops import (  # noqa: F401  (re-exported: the solvers use them as K.*)
    add_columns,
    add_columns_blocks,
    column_axpy,
    column_dot,
    column_sqnorms_f32,
    column_stats,
    copy_into,
    enet_coordinate_minimizer,
    expand_known,
    gather_sorted,
    is_centered_explicitly,
    positive_entries,
    residual,
    smallest_k,
    sort_by_keys,
    sorted_difference,
    xt_dot,
    xt_dot_blocks_parallel,
)

_JIT = dict(cache=True, nogil=True, fastmath=False, error_model="numpy")
_JIT_PAR = dict(_JIT, parallel=True)


@njit(**_JIT)
def project_out_unpenalized(data, indices, indptr, free, gram_pinv, xbar, fit_intercept,
                            sw, weighted, r, q):
    """q = r minus its weighted projection on the centered unpenalized columns ``free``.

    The dual constraint of an unpenalized feature is x_j^T theta = 0; projecting the
    residual out of their span makes the dual point exactly feasible, so the gap stays a
    certificate and the Gap Safe test stays safe. ``gram_pinv`` is the pseudo-inverse of
    their weighted, centered Gram matrix and ``xbar[k]`` the mean of column free[k].
    O(n + nnz of the free columns + |free|^2).
    """
    m = free.shape[0]
    g = np.zeros(m)
    for k in range(m):
        j = free[k]
        acc = 0.0
        for kk in range(np.int64(indptr[j]), np.int64(indptr[j + 1])):
            i = indices[kk]
            if weighted:
                acc += data[kk] * sw[i] * r[i]
            else:
                acc += data[kk] * r[i]
        g[k] = acc
    a = gram_pinv @ g
    copy_into(q, r)
    const = 0.0
    for k in range(m):
        j = free[k]
        for kk in range(np.int64(indptr[j]), np.int64(indptr[j + 1])):
            q[indices[kk]] -= a[k] * data[kk]
        if fit_intercept:
            const += a[k] * xbar[k]
    if const != 0.0:
        for i in range(q.shape[0]):
            q[i] += const


@njit(**_JIT)
def dual_gradient(data, indices, indptr, cols, r_raw, shift, sw, weighted, free,
                  gram_pinv, xbar, fit_intercept, r, q, sq, grad):
    """Materialise r = r_raw + shift, the dual direction q and grad = X[:, cols]^T (s q).

    q is r itself, or r with the unpenalized columns projected out when ``free`` is not
    empty. ``sq`` is scratch space of length n.
    """
    for i in range(r_raw.shape[0]):
        r[i] = r_raw[i] + shift
    dual_direction(data, indices, indptr, r, sw, weighted, free, gram_pinv, xbar,
                   fit_intercept, q, sq)
    xt_dot(data, indices, indptr, cols, sq, grad)


@njit(**_JIT)
def dual_direction(data, indices, indptr, r, sw, weighted, free, gram_pinv, xbar,
                   fit_intercept, q, sq):
    """Dual direction q from a residual r (projected if ``free``) and sq = s * q.

    With an intercept the dual constraint sum_i s_i theta_i = 0 is enforced exactly by
    subtracting the weighted mean: r sums to zero only up to rounding, and X^T (s q)
    over uncentered columns picks up xbar_j * sum(s q), which for a large-mean column
    (timestamps: xbar ~1e9) was enough to shrink the dual point and stall the gap.
    """
    if free.shape[0] > 0:
        project_out_unpenalized(data, indices, indptr, free, gram_pinv, xbar,
                                fit_intercept, sw, weighted, r, q)
    else:
        copy_into(q, r)
    if fit_intercept:
        n = q.shape[0]
        total = 0.0
        if weighted:
            for i in range(n):
                total += sw[i] * q[i]
        else:
            for i in range(n):
                total += q[i]
        mean = total / n  # the weights sum to n
        for i in range(n):
            q[i] -= mean
    if weighted:
        for i in range(q.shape[0]):
            sq[i] = sw[i] * q[i]
    else:
        copy_into(sq, q)


@njit(**_JIT)
def conjugate_penalty(u, l1, l2, positive):
    """Conjugate of t -> l1 |t| + l2/2 t^2 (+ indicator t >= 0 if positive) at u.

    Finite whenever l2 > 0; with l2 == 0 the caller guarantees the dual constraint
    (|u| <= l1, or u <= l1 if positive) so the conjugate is 0.
    """
    a = u if positive else abs(u)
    excess = a - l1
    if excess <= 0.0 or l2 <= 0.0:
        return 0.0
    return excess * excess / (2.0 * l2)


@njit(**_JIT)
def dual_value(q, sw, weighted, y_c, grad, cols, l1, l2, positive):
    """Dual objective (n-scaled) at theta = t * q, and the scaling t used.

    ``grad[k]`` holds x_j^T (s * q) for j = cols[k]. t is the largest value <= 1 that
    keeps |x_j^T theta| <= l1_j for the pure-L1 features (l2_j == 0, l1_j > 0); features
    with l2_j > 0 need no scaling (their conjugate is finite) and unpenalized features are
    feasible by construction of q (see :func:`dual_gradient`).
    """
    t = 1.0
    for k in range(cols.shape[0]):
        j = cols[k]
        if l2[j] == 0.0 and l1[j] > 0.0:
            g = grad[k] if positive else abs(grad[k])
            if g * t > l1[j]:
                t = l1[j] / g
    yy = 0.0
    dd = 0.0
    for i in range(q.shape[0]):
        yi = y_c[i]
        di = yi - t * q[i]
        if weighted:
            yy += sw[i] * yi * yi
            dd += sw[i] * di * di
        else:
            yy += yi * yi
            dd += di * di
    conj = 0.0
    for k in range(cols.shape[0]):
        j = cols[k]
        if l1[j] > 0.0 or l2[j] > 0.0:
            conj += conjugate_penalty(t * grad[k], l1[j], l2[j], positive)
    return 0.5 * yy - 0.5 * dd - conj, t


@njit(**_JIT)
def duality_gap(r, q, sw, weighted, y_c, grad, cols, w, l1, l2, positive):
    """Primal, dual and gap of the (n-scaled) problem restricted to ``cols``.

    ``r`` is the residual, ``q`` the dual direction and ``grad[k]`` = x_j^T (s * q) for
    j = cols[k] (see :func:`dual_value`); every non-zero w_j must have j in cols.

    Returns (gap, primal, dual, t).
    """
    primal = primal_value(r, 0.0, sw, weighted, cols, w, l1, l2)
    dual, t = dual_value(q, sw, weighted, y_c, grad, cols, l1, l2, positive)
    return primal - dual, primal, dual, t


@njit(**_JIT)
def primal_value(r_raw, shift, sw, weighted, cols, w, l1, l2):
    """Primal objective (n-scaled) given the residual; non-zero w must lie in cols."""
    rr = 0.0
    for i in range(r_raw.shape[0]):
        ri = r_raw[i] + shift
        if weighted:
            rr += sw[i] * ri * ri
        else:
            rr += ri * ri
    pen = 0.0
    for k in range(cols.shape[0]):
        wj = w[cols[k]]
        pen += l1[cols[k]] * abs(wj) + 0.5 * l2[cols[k]] * wj * wj
    return 0.5 * rr + pen


@njit(**_JIT)
def cd_epoch(data, indices, indptr, ws, w, r_raw, shift, sw, weighted, fit_intercept,
             xbar, lipschitz, l1, l2, positive):
    """One cyclic coordinate-descent pass over the working set ``ws``.

    Each update is exact minimisation along coordinate j: a soft-thresholding for the L1
    part and a shrinkage by (L_j + l2_j) for the L2 part. Costs O(nnz) of the columns in
    ws; the intercept is handled by the scalar shift, never by an O(n) loop.
    ``xbar`` and ``lipschitz`` are aligned with ws (column means and centered squared
    norms of the working-set columns).

    Returns the new shift.
    """
    n_rows = r_raw.shape[0]
    nf = np.float64(n_rows)
    for jj in range(ws.shape[0]):
        j = ws[jj]
        lj = lipschitz[jj]
        if lj <= 0.0:
            continue
        start = np.int64(indptr[j])
        end = np.int64(indptr[j + 1])
        # Columns stored in every row are centered explicitly (exact for large means).
        dense = is_centered_explicitly(start, end, n_rows, fit_intercept)
        m = xbar[jj] if dense else 0.0
        g = 0.0
        if weighted:
            for k in range(np.uint64(start), np.uint64(end)):
                i = np.uint64(indices[k])
                g += (data[k] - m) * sw[i] * r_raw[i]
        elif dense:
            for k in range(np.uint64(start), np.uint64(end)):
                g += (data[k] - m) * r_raw[np.uint64(indices[k])]
        else:  # the common case: sparse column, m = 0
            g = column_dot(data, indices, start, end, r_raw)
        lazy = fit_intercept and not dense
        if lazy:
            g += shift * nf * xbar[jj]  # shift * sum_i s_i x_ij
        old = w[j]
        new = enet_coordinate_minimizer(old * lj + g, lj, l1[j], l2[j], positive)
        if new != old:
            d = new - old
            w[j] = new
            if dense:
                for k in range(np.uint64(start), np.uint64(end)):
                    r_raw[np.uint64(indices[k])] -= d * (data[k] - m)
            else:
                column_axpy(data, indices, start, end, -d, r_raw)
            if lazy:
                shift += xbar[jj] * d
    return shift


# --------------------------------------------------------------------------------------
# Block-Jacobi epochs: coordinate descent on two halves of a large working set at once
# --------------------------------------------------------------------------------------
# A cyclic epoch is sequential: each update reads the residual the previous one wrote.
# On a large working set the epoch is instead split into blocks of columns (contiguous
# in ws, about equal non-zeros) that each run a cyclic epoch from the same point on a
# private copy of the residual, on separate threads; their moves are then combined as
# w_old + t (w_blocks - w_old) with the exact minimizing step t of the objective along
# that direction (one-dimensional, convex, piecewise quadratic). Each block's epoch
# lowers the objective with the others fixed, so the combined direction is a descent
# direction and t > 0. On the rcv1-shaped Lasso path without intercept (working sets of
# 20-30 k columns, nearly interpolating) this took about as many epochs as the cyclic
# epoch, or fewer (the line search also corrects the common-mode overshoot of cyclic
# sweeps on non-negative data), and the solves ran 1.4-1.6x faster per epoch on two
# threads than with the same blocks run serially. Without an intercept the blocks now
# sweep the common-mode-deflated model instead (see :func:`jacobi_epoch`); its move is a
# descent direction of the true objective only when the multiplier mu is the current
# 1^T S r (a secant estimate of mu* may not be), so the step can be 0: a short step is
# followed by a cyclic epoch, which always descends.
# The blocks and their arithmetic do not depend on the thread count, so the iterates are
# bit-identical whether the blocks run in parallel or one after the other.

#: Largest step of the block-Jacobi line search (over-relaxation beyond the blocks'
#: own moves is allowed up to this factor).
JACOBI_STEP_CAP = 4.0
#: A combined step shorter than this is followed by one plain cyclic epoch, so that
#: progress never depends on a poorly scaled combination.
JACOBI_MIN_STEP = 0.25
#: Below this relative gap a working-set solve continues with cyclic epochs. Block-Jacobi
#: iterates stalled near relative gaps of 1e-10 to 1e-9: an rcv1-shaped Lasso fit at
#: tol=1e-12 from zero took 400 outer iterations and 33 s where cyclic epochs took 38
#: and 2.8 s (the gap rose and fell between 5e-11 and 2e-9 for hundreds of iterations).
JACOBI_MIN_REL_GAP = 1e-8


@njit(**_JIT)
def jacobi_bounds(ws, indptr, n_blocks):
    """Positions splitting ws into ``n_blocks`` contiguous blocks of about equal nnz."""
    m = ws.shape[0]
    total = 0
    for k in range(m):
        total += indptr[ws[k] + 1] - indptr[ws[k]]
    bounds = np.zeros(n_blocks + 1, dtype=np.int64)
    bounds[n_blocks] = m
    acc = 0
    b = 1
    for k in range(m):
        before = acc
        acc += indptr[ws[k] + 1] - indptr[ws[k]]
        while b < n_blocks and acc * n_blocks >= b * total:
            # The boundary before or after column k, whichever is closer to the target.
            over = acc * n_blocks - b * total
            under = b * total - before * n_blocks
            bounds[b] = k + 1 if over <= under else k
            b += 1
    return bounds


@njit(**_JIT)
def _block_epoch(b, data, indices, indptr, ws, w, r_raw, shift, sw, weighted,
                 fit_intercept, xbar, lipschitz, l1, l2, positive, bounds, r_blocks,
                 shifts):
    """Block b's cyclic epoch from (r_raw, shift), on its own residual r_blocks[b]."""
    lo = bounds[b]
    hi = bounds[b + 1]
    rb = r_blocks[b]
    for i in range(rb.shape[0]):
        rb[i] = r_raw[i]
    shifts[b] = cd_epoch(data, indices, indptr, ws[lo:hi], w, rb, shift, sw, weighted,
                         fit_intercept, xbar[lo:hi], lipschitz[lo:hi], l1, l2, positive)


@njit(**_JIT)
def _tilted_block_epoch(b, data, indices, indptr, ws, w, r_raw, sw, weighted, tilt_mean,
                        tilt_lip, l1, l2, positive, bounds, r_blocks, tilt_shift):
    """Block b's epoch on the common-mode-deflated model (see :func:`jacobi_epoch`).

    Cyclic coordinate descent on 1/2 ||r_c||^2_S + penalty - mu m^T w, r_c the
    residual centered by its weighted mean: the lazily centered updates of an intercept
    fit (:func:`cd_epoch`) with the scalar started at ``tilt_shift`` = (mu - 1^T S r) / n,
    which carries the tilt. Every column is centered lazily, so that r_blocks[b] stays
    the raw residual r - X[:, ws_b] d_b of the undeflated problem, whose line search
    follows. ``tilt_mean``, ``tilt_lip``: weighted means and centered squared norms of
    the ws columns.
    """
    lo = bounds[b]
    hi = bounds[b + 1]
    rb = r_blocks[b]
    for i in range(rb.shape[0]):
        rb[i] = r_raw[i]
    nf = np.float64(rb.shape[0])
    shift = tilt_shift
    for jj in range(lo, hi):
        j = ws[jj]
        lj = tilt_lip[jj]
        if lj <= 0.0:
            continue
        start = np.int64(indptr[j])
        end = np.int64(indptr[j + 1])
        if weighted:
            g = 0.0
            for k in range(np.uint64(start), np.uint64(end)):
                i = np.uint64(indices[k])
                g += data[k] * sw[i] * rb[i]
        else:
            g = column_dot(data, indices, start, end, rb)
        g += shift * nf * tilt_mean[jj]
        old = w[j]
        new = enet_coordinate_minimizer(old * lj + g, lj, l1[j], l2[j], positive)
        if new != old:
            d = new - old
            w[j] = new
            column_axpy(data, indices, start, end, -d, rb)
            shift += tilt_mean[jj] * d


@njit(**_JIT_PAR)
def _block_epochs_parallel(data, indices, indptr, ws, w, r_raw, shift, sw, weighted,
                           fit_intercept, xbar, lipschitz, l1, l2, positive, bounds,
                           r_blocks, shifts, tilted, tilt_mean, tilt_lip, tilt_shift):
    """:func:`_block_epoch` (or :func:`_tilted_block_epoch` if ``tilted``) for every
    block, on Numba's threads (the blocks write disjoint entries of w)."""
    for b in prange(bounds.shape[0] - 1):
        if tilted:
            _tilted_block_epoch(b, data, indices, indptr, ws, w, r_raw, sw, weighted,
                                tilt_mean, tilt_lip, l1, l2, positive, bounds, r_blocks,
                                tilt_shift)
            shifts[b] = shift
        else:
            _block_epoch(b, data, indices, indptr, ws, w, r_raw, shift, sw, weighted,
                         fit_intercept, xbar, lipschitz, l1, l2, positive, bounds,
                         r_blocks, shifts)


@njit(**_JIT)
def exact_step(ws, w, w_old, l1, l2, positive, slope, curv, t_cap, kink_t, kink_jump):
    """The exact minimizer t in [0, t_cap] of a move from w_old to w, scaled by t.

    Along the move the objective is a smooth quadratic with derivative ``slope`` at
    t = 0 and second derivative ``curv`` (the loss part, given), plus the elastic-net
    penalty of w_old + t (w - w_old) over ws (w, l1, l2 indexed by feature, w_old
    aligned with ws), added here: its derivative is increasing and piecewise linear,
    with a jump of 2 l1_j |d_j| where coordinate j crosses zero. The root is found by
    walking those crossings in order (few: the coordinates that change sign). With
    ``positive`` the step also stops where a coordinate reaches 0. ``kink_t`` and
    ``kink_jump`` are scratch of len(ws). Returns 0 when nothing moves.
    """
    t_hi = t_cap
    n_kinks = 0
    for k in range(ws.shape[0]):
        j = ws[k]
        wo = w_old[k]
        d = w[j] - wo
        if d == 0.0:
            continue
        curv += l2[j] * d * d
        slope += l2[j] * wo * d
        if positive:  # |w| = w on w >= 0, and the step stops where w_j reaches 0
            slope += l1[j] * d
            if d < 0.0:
                t_hi = min(t_hi, -wo / d)
            continue
        if wo > 0.0 or (wo == 0.0 and d > 0.0):
            slope += l1[j] * d
        else:
            slope -= l1[j] * d
        if wo != 0.0 and (wo > 0.0) != (d > 0.0):
            tk = -wo / d
            if tk < t_hi:
                kink_t[n_kinks] = tk
                kink_jump[n_kinks] = 2.0 * l1[j] * abs(d)
                n_kinks += 1
    if not (curv > 0.0 and np.isfinite(curv) and np.isfinite(slope)):
        return 0.0  # no move at all, or a non-finite one (to be discarded)
    sort_by_keys(kink_t, kink_jump, n_kinks)
    t = -1.0
    start = 0.0  # left end of the current piece
    for q in range(n_kinks):
        cand = -slope / curv
        if cand <= kink_t[q]:
            t = max(cand, start)
            break
        slope += kink_jump[q]
        start = kink_t[q]
    if t < 0.0:
        t = max(-slope / curv, start)
    return min(t, t_hi)


@njit(**_JIT)
def _jacobi_combine(data, indices, indptr, ws, w, w_old, r_raw, shift, sw, weighted,
                    fit_intercept, xbar, l1, l2, positive, r_blocks, shifts, v, kink_t,
                    kink_jump):
    """Move from (w_old, r_raw, shift) by t times the blocks' combined move, t exact.

    On entry w holds the blocks' coordinates on ws and r_blocks / shifts their
    residuals. With v the change of the (centered) residual r = r_raw + shift per unit
    step, the objective along the move is

        f(t) = 1/2 sum_i s_i (r_i - t v_i)^2 + sum_j l1_j |w_old_j + t d_j|
               + l2_j / 2 (w_old_j + t d_j)^2,

    whose derivative is increasing and piecewise linear, with a jump of 2 l1_j |d_j|
    where coordinate j crosses zero. The root is found by walking those crossings in
    order (few: the coordinates that change sign). A coordinate its block set to 0 that
    the step carries past 0 (t > 1) is set to 0 instead, with the residual corrected,
    as a cyclic update would leave it: a coefficient of 1e-17 of the wrong sign changes
    the objective by nothing, but breaks the sign conditions of a returned solution.
    Returns (shift, t).
    """
    n = r_raw.shape[0]
    nb = shifts.shape[0]
    dsh = 0.0
    for b in range(nb):
        dsh += shifts[b] - shift
    slope = 0.0  # f'(0+), the crossings excluded
    curv = 0.0  # f'' between crossings
    for i in range(n):
        u = 0.0
        for b in range(nb):
            u += r_raw[i] - r_blocks[b][i]
        vi = u - dsh
        v[i] = u
        ri = r_raw[i] + shift
        if weighted:
            slope -= sw[i] * ri * vi
            curv += sw[i] * vi * vi
        else:
            slope -= ri * vi
            curv += vi * vi
    t = exact_step(ws, w, w_old, l1, l2, positive, slope, curv, JACOBI_STEP_CAP, kink_t,
                   kink_jump)
    if t == 0.0:  # back to w_old exactly (0 * d is NaN for a non-finite move)
        for k in range(ws.shape[0]):
            w[ws[k]] = w_old[k]
        return shift, 0.0
    for i in range(n):
        r_raw[i] -= t * v[i]
    shift += t * dsh
    one = np.empty(1)
    for k in range(ws.shape[0]):
        j = ws[k]
        wo = w_old[k]
        zeroed = w[j] == 0.0
        d = w[j] - wo
        nw = wo + t * d
        # A step ending at a coordinate's zero crossing (t computed from that very
        # crossing) leaves it exactly 0, not +-1e-17 of either sign.
        if wo != 0.0 and (wo > 0.0) != (d > 0.0) and -wo / d == t:
            nw = 0.0
        if positive and nw < 0.0:
            nw = 0.0
        if zeroed and nw != 0.0 and (nw > 0.0) != (wo > 0.0):
            one[0] = -nw  # back to 0: r_raw -= x_j (0 - nw)
            shift += add_columns(data, indices, indptr, ws[k:k + 1], one, xbar[k:k + 1],
                                 fit_intercept, r_raw)
            nw = 0.0
        w[j] = nw
    return shift, t


@njit(**_JIT)
def _weighted_sum(r_raw, shift, sw, weighted):
    """sum_i s_i (r_raw_i + shift)."""
    out = 0.0
    for i in range(r_raw.shape[0]):
        out += sw[i] * (r_raw[i] + shift) if weighted else r_raw[i] + shift
    return out


@njit(**_JIT)
def _block_moves_sum(r_raw, r_blocks, sw, weighted):
    """sum_b sum_i s_i (r_raw_i - r_blocks[b]_i) = n m^T d: the blocks' combined change
    of the residual's weighted sum."""
    out = 0.0
    for b in range(r_blocks.shape[0]):
        rb = r_blocks[b]
        for i in range(r_raw.shape[0]):
            u = r_raw[i] - rb[i]
            out += sw[i] * u if weighted else u
    return out


@njit(**_JIT)
def secant_multiplier(state, consistent):
    """(mu, from_secant): the multiplier for the next deflated sweep.

    ``state`` = (pairs stored, mu, h, mu, h), older pair first, of the identity
    h(mu) = mu - (residual sum after the sweep) = 0. With two distinct pairs, the secant
    root; otherwise, or when that is not finite, ``consistent`` (the residual sum now).
    """
    if state[0] >= 2.0 and state[4] != state[2]:
        mu = state[3] - state[4] * ((state[3] - state[1]) / (state[4] - state[2]))
        if np.isfinite(mu):
            return mu, True
    return consistent, False


@njit(**_JIT)
def record_secant_pair(state, mu, h):
    """Append the pair (mu, h) to ``state``, dropping the oldest."""
    state[1] = state[3]
    state[2] = state[4]
    state[3] = mu
    state[4] = h
    state[0] = min(state[0] + 1.0, 2.0)


@njit(**_JIT)
def jacobi_epoch(data, indices, indptr, ws, w, r_raw, shift, sw, weighted, fit_intercept,
                 xbar, lipschitz, l1, l2, positive, bounds, parallel, r_blocks, shifts,
                 w_old, v, kink_t, kink_jump, tilt_mean, tilt_lip, tilt_state):
    """One block-Jacobi epoch over ws (see the comment above); returns the new shift.

    The blocks run on Numba's threads when ``parallel``, one after the other otherwise,
    with the same result. A step below :data:`JACOBI_MIN_STEP` is followed by a cyclic
    epoch.

    Without an intercept (``tilt_mean.shape[0] > 0``) the blocks sweep the
    common-mode-deflated model instead (:func:`_tilted_block_epoch`): non-negative
    columns share their mean, so the Gram matrix is a well-conditioned part plus
    n m m^T (m the column means), a rank-one term whose eigenvalue, 35-60 times the
    diagonal on text data, is what makes cyclic sweeps slow. The sweeps see the
    centered part and the rank-one term only through its gradient mu m, mu the
    multiplier of the identity n s = mu with s the residual's weighted mean (at the
    optimum mu = 1^T S r). mu comes from a secant step on the epochs' (mu, mu - n s)
    pairs (the identity is one increasing scalar equation), or is 1^T S r itself at
    the start and after a secant step that proved short; the exact line search on the
    true objective keeps every epoch a descent whatever mu. ``tilt_state`` = (pairs
    stored, mu, h, mu, h), older first. In a prototype (one block, no Anderson steps)
    on rcv1-shaped working sets of 14 k and 23 k columns (alpha_max/200 and /1000, from
    zero) this took 45 and 270 epochs to a relative suboptimality of 1e-9, where cyclic
    sweeps took 915 and 1820; in this solver the whole no-intercept path got about 1.3x
    faster (docs/benchmarks.md).
    """
    for k in range(ws.shape[0]):
        w_old[k] = w[ws[k]]
    tilted = tilt_mean.shape[0] > 0
    mu = 0.0
    res_sum = 0.0
    tilt_shift = 0.0
    secant = False
    if tilted:
        res_sum = _weighted_sum(r_raw, shift, sw, weighted)
        mu, secant = secant_multiplier(tilt_state, res_sum)
        tilt_shift = (mu - res_sum) / np.float64(r_raw.shape[0])
    if parallel:
        _block_epochs_parallel(data, indices, indptr, ws, w, r_raw, shift, sw, weighted,
                               fit_intercept, xbar, lipschitz, l1, l2, positive, bounds,
                               r_blocks, shifts, tilted, tilt_mean, tilt_lip, tilt_shift)
    else:
        for b in range(bounds.shape[0] - 1):
            if tilted:
                _tilted_block_epoch(b, data, indices, indptr, ws, w, r_raw, sw, weighted,
                                    tilt_mean, tilt_lip, l1, l2, positive, bounds,
                                    r_blocks, tilt_shift)
                shifts[b] = shift
            else:
                _block_epoch(b, data, indices, indptr, ws, w, r_raw, shift, sw, weighted,
                             fit_intercept, xbar, lipschitz, l1, l2, positive, bounds,
                             r_blocks, shifts)
    if tilted:
        record_secant_pair(tilt_state, mu,
                           mu - (res_sum - _block_moves_sum(r_raw, r_blocks, sw, weighted)))
    shift, t = _jacobi_combine(data, indices, indptr, ws, w, w_old, r_raw, shift, sw,
                               weighted, fit_intercept, xbar, l1, l2, positive, r_blocks,
                               shifts, v, kink_t, kink_jump)
    if t < JACOBI_MIN_STEP:
        if secant:
            tilt_state[0] = 0.0  # the secant misled: start again from mu = 1^T S r
        shift = cd_epoch(data, indices, indptr, ws, w, r_raw, shift, sw, weighted,
                         fit_intercept, xbar, lipschitz, l1, l2, positive)
    return shift


def jacobi_buffers(data, indices, indptr, ws, n_rows, sw, weighted, fit_intercept,
                   n_blocks, tilt_state=None):
    """The ``blocks`` argument of :func:`inner_solve` for ``n_blocks`` blocks of ws.

    A tuple (bounds, residual per block, shift per block, previous coordinates, combined
    residual change, zero crossings, their jumps, deflation means, deflation norms,
    secant state), or None (cyclic epochs) when ``n_blocks < 2`` or ws is too small to
    split. Without an intercept the blocks sweep the common-mode-deflated model (see
    :func:`jacobi_epoch`), whose weighted column means and centered squared norms are
    computed here (one pass over the ws columns); with one, the deflation arrays are
    empty. ``tilt_state``: the secant state to continue from (updated in place), None
    for a fresh one.
    """
    m = ws.shape[0]
    if n_blocks < 2 or m < 2 * n_blocks:
        return None
    if fit_intercept:
        tilt_mean, tilt_lip = np.empty(0), np.empty(0)
    else:
        tilt_mean, tilt_lip = column_stats(data, indices, indptr, ws, n_rows, sw, weighted,
                                           True)
    return (jacobi_bounds(ws, indptr, n_blocks), np.empty((n_blocks, n_rows)),
            np.empty(n_blocks), np.empty(m), np.empty(n_rows), np.empty(m), np.empty(m),
            tilt_mean, tilt_lip, np.zeros(5) if tilt_state is None else tilt_state)

@njit(**_JIT)
def _anderson_point(hist, coef, positive, out):
    """out[k] = sum_m coef[m] hist[m + 1, k]: the extrapolated iterate, from the weights
    of :func:`_anderson_weights`; clipped at 0 when ``positive``."""
    for k in range(out.shape[0]):
        acc = 0.0
        for m in range(coef.shape[0]):
            acc += coef[m] * hist[m + 1, k]
        if positive and acc < 0.0:
            acc = 0.0
        out[k] = acc


@njit(**_JIT)
def _anderson_weights(hist, n_hist):
    """Anderson extrapolation coefficients from the last n_hist iterates (rows of hist).

    Solves min ||sum_k c_k (x_{k+1} - x_k)||^2 s.t. sum c = 1 through the normal equations
    (U U^T) z = 1, c = z / sum z. Returns an empty array when the system is singular.
    """
    m = n_hist - 1
    n = hist.shape[1]
    gram = np.zeros((m, m))
    for a in range(m):
        for b in range(a, m):
            acc = 0.0
            for i in range(n):
                acc += (hist[a + 1, i] - hist[a, i]) * (hist[b + 1, i] - hist[b, i])
            gram[a, b] = acc
            gram[b, a] = acc
    # Tikhonov term relative to the scale of the Gram matrix keeps the solve stable.
    trace = 0.0
    for a in range(m):
        trace += gram[a, a]
    if trace <= 0.0:
        return np.empty(0)
    for a in range(m):
        gram[a, a] += 1e-10 * trace
    # Gaussian elimination with partial pivoting on [gram | 1].
    rhs = np.ones(m)
    for col in range(m):
        piv = col
        for row in range(col + 1, m):
            if abs(gram[row, col]) > abs(gram[piv, col]):
                piv = row
        if abs(gram[piv, col]) <= 1e-300:
            return np.empty(0)
        if piv != col:
            for b in range(m):
                tmp = gram[col, b]
                gram[col, b] = gram[piv, b]
                gram[piv, b] = tmp
            tmp = rhs[col]
            rhs[col] = rhs[piv]
            rhs[piv] = tmp
        for row in range(col + 1, m):
            f = gram[row, col] / gram[col, col]
            for b in range(col, m):
                gram[row, b] -= f * gram[col, b]
            rhs[row] -= f * rhs[col]
    z = np.zeros(m)
    for row in range(m - 1, -1, -1):
        acc = rhs[row]
        for b in range(row + 1, m):
            acc -= gram[row, b] * z[b]
        z[row] = acc / gram[row, row]
    total = z.sum()
    if total == 0.0 or not np.isfinite(total):
        return np.empty(0)
    return z / total


@njit(**_JIT)
def _extrapolated_dual(data, indices, indptr, ws, hist_r, n_hist, sw, weighted, free,
                       gram_pinv, xbar, fit_intercept, y_c, l1, l2, positive, r_acc,
                       q_acc, sq, grad):
    """Dual extrapolation (celer): a dual direction from the last residuals.

    Once the support is identified, coordinate descent makes the residuals follow a
    linear recursion, so the Anderson combination of the last few residuals lands much
    closer to the optimal residual (= optimal dual point) than the last residual does.
    Fills q_acc and grad (= X_ws^T (s q_acc)); returns the dual value, or -inf when the
    extrapolation is degenerate.
    """
    coef = _anderson_weights(hist_r, n_hist)
    if coef.shape[0] == 0:
        return -np.inf
    n = r_acc.shape[0]
    r_acc[:] = 0.0
    for m in range(coef.shape[0]):
        c = coef[m]
        for i in range(n):
            r_acc[i] += c * hist_r[m + 1, i]
    dual_direction(data, indices, indptr, r_acc, sw, weighted, free, gram_pinv, xbar,
                   fit_intercept, q_acc, sq)
    xt_dot(data, indices, indptr, ws, sq, grad)
    return dual_value(q_acc, sw, weighted, y_c, grad, ws, l1, l2, positive)[0]


#: Relative duality gap below which the computed gap is rounding noise (see inner_solve).
GAP_NOISE_FLOOR = 1e-13


#: Krylov dual points (:mod:`fastsparse._krylov_dual`) are tried in a working-set solve
#: only after KRYLOV_MIN_EPOCHS epochs (a solve that converges quickly never pays for
#: them), then after 2x, 4x, ... that many, each attempt running at most as many
#: conjugate-residual iterations as the solve has run epochs, so that they cost at most
#: about as much as the epochs. Each attempt aims at the outer loop's final tolerance.
KRYLOV_MIN_EPOCHS = 60
#: Iterations of the first conjugate-residual chunk of an attempt; later chunks grow by
#: a quarter of the iterations done, and the candidate is evaluated after each (a
#: scatter over the support and a gather over the working set).
KRYLOV_FIRST_CHUNK = 32
#: An attempt stops when three evaluations lowered the candidate's gap by less than
#: 10% (1 - KRYLOV_STALL): it is then limited by the iterate's own suboptimality.
KRYLOV_STALL = 0.9


@njit(**_JIT)
def krylov_dual_attempt(data, indices, indptr, ws, w, r_raw, shift, sw, weighted,
                        fit_intercept, xbar, lipschitz, l1, l2, positive, y_c, free,
                        xbar_free, gram_pinv, grad, primal, best_dual, tol, budget,
                        target, in_target, q_out, parallel):
    """Try Krylov dual points (:mod:`fastsparse._krylov_dual`) on the support of w in ws.

    ``grad`` holds x_j^T (s q) over ws for the current iterate's dual direction q (the
    check just computed it). Runs up to ``budget`` conjugate-residual iterations on
    the sign-fixed system of the support, evaluating the corrected residual's dual
    value (rescaled over all of ws) after chunks of growing length, and stops once
    ``primal - dual <= tol``. ``target``/``in_target`` (aligned with ws) carry the
    Newton point w + z of the previous attempt, its start point when the support
    still holds it. Writes the best direction into ``q_out`` when its dual value beats
    ``best_dual``.

    The products run on Numba's threads when ``parallel`` (the same result either way).

    Returns (dual value, iterations run): the best candidate's dual value, -inf if no
    candidate beat ``best_dual``.
    """
    n = r_raw.shape[0]
    n_ws = ws.shape[0]
    pos = np.empty(n_ws, dtype=np.int64)
    m = 0
    for k in range(n_ws):
        j = ws[k]
        if w[j] != 0.0 and lipschitz[k] + l2[j] > 0.0:
            pos[m] = k
            m += 1
    if m == 0:
        return -np.inf, 0
    pos = pos[:m]
    cols = np.empty(m, dtype=ws.dtype)
    xbar_s = np.empty(m)
    scale = np.empty(m)
    l2c = np.empty(m)
    state = np.zeros((5, m))
    warm = False
    for i in range(m):
        k = pos[i]
        j = ws[k]
        cols[i] = j
        xbar_s[i] = xbar[k]
        l2c[i] = l2[j]
        scale[i] = 1.0 / np.sqrt(lipschitz[k] + l2[j])
        sgn = 1.0 if (positive or w[j] > 0.0) else -1.0
        # b: minus the gradient of the objective in w_j on the sign-fixed face
        state[1, i] = scale[i] * (grad[k] - l2[j] * w[j] - l1[j] * sgn)
        if in_target[k]:
            state[0, i] = (target[k] - w[j]) / scale[i]
            warm = True
    bounds = jacobi_bounds(cols, indptr, 2)
    ws_bounds = jacobi_bounds(ws, indptr, 2)
    r_blocks = np.empty((2, n))
    shifts = np.empty(2)
    v = np.empty(n)
    sv = np.empty(n)
    scratch = np.empty(m)
    if warm:  # residual of the warm start: b - A u0
        a_u = np.empty(m)
        KD.apply_scaled(data, indices, indptr, cols, xbar_s, scale, l2c, sw, weighted,
                        fit_intercept, state[0], a_u, scratch, v, sv, bounds, parallel,
                        r_blocks, shifts)
        for i in range(m):
            state[1, i] -= a_u[i]
    scalars = np.zeros(1)
    r_c = np.empty(n)
    q = np.empty(n)
    sq = np.empty(n)
    grad_c = np.empty(n_ws)
    z = np.empty(m)
    best = -np.inf
    done = 0
    chunk = min(KRYLOV_FIRST_CHUNK, budget)
    restart = True
    hist = np.full(3, np.inf)  # the candidate gaps of the last three evaluations
    older = np.inf  # the smallest candidate gap before those
    n_eval = 0
    while done < budget:
        ran = KD.conjugate_residuals(data, indices, indptr, cols, xbar_s, scale, l2c,
                                     sw, weighted, fit_intercept, state, scalars, chunk,
                                     restart, bounds, parallel, r_blocks, shifts, scratch,
                                     v, sv)
        restart = False
        done += ran
        KD.corrected_residual(data, indices, indptr, cols, xbar_s, scale, state[0],
                              fit_intercept, r_raw, shift, z, r_c)
        dual_direction(data, indices, indptr, r_c, sw, weighted, free, gram_pinv,
                       xbar_free, fit_intercept, q, sq)
        if parallel:
            xt_dot_blocks_parallel(data, indices, indptr, ws, sq, grad_c, ws_bounds)
        else:
            xt_dot(data, indices, indptr, ws, sq, grad_c)
        dual, _ = dual_value(q, sw, weighted, y_c, grad_c, ws, l1, l2, positive)
        if dual > max(best, best_dual):
            best = dual
            copy_into(q_out, q)
        if primal - max(best, best_dual) <= tol or ran < chunk:
            break
        # Stalled: three evaluations (about twice the iterations) without lowering the
        # candidate's gap by 10%. It is then about the iterate's own suboptimality, which
        # more iterations cannot remove (on the successful attempts measured the gap
        # kept falling from chunk to chunk, superlinearly at the end).
        hist[n_eval % 3] = primal - dual
        n_eval += 1
        if n_eval >= 6 and min(hist[0], min(hist[1], hist[2])) > KRYLOV_STALL * older:
            break
        if n_eval >= 3:
            older = min(older, hist[n_eval % 3])
        chunk = min(max(done // 4, 1), budget - done)
    for k in range(n_ws):
        in_target[k] = False
    for i in range(m):
        target[pos[i]] = w[cols[i]] + z[i]
        in_target[pos[i]] = True
    return best, done


@njit(**_JIT)
def inner_solve(data, indices, indptr, ws, w, r_raw, shift, sw, weighted, fit_intercept,
                xbar, lipschitz, l1, l2, positive, y_c, free, xbar_free, gram_pinv, tol,
                max_epochs, anderson_k, dual_extrapolation, q_best, early_check=True,
                blocks=None, parallel_blocks=False, krylov_tol=None):
    """Coordinate descent on the working set until its restricted duality gap <= tol.

    Epochs run in cycles of ``anderson_k + 1``. At the end of each cycle:

    - the gap of the problem restricted to ws is computed (O(n + nnz(ws))), with the
      best of two dual points: the rescaled current residual and, if
      ``dual_extrapolation``, the extrapolation of the cycle's residuals;
    - the cycle's iterates are extrapolated (Anderson acceleration of the primal); the
      extrapolated point is kept only if it lowers the objective, so the iteration stays
      monotone.

    ``xbar`` and ``lipschitz`` are aligned with ws. ``free`` (unpenalized features, all
    in ws), their means ``xbar_free`` and ``gram_pinv`` define the dual point as in
    :func:`dual_gradient`. The best dual direction found (unscaled) is written to
    ``q_best`` so that the outer loop can try it over all features.

    With ``blocks`` (from :func:`jacobi_buffers`) each epoch is a block-Jacobi epoch
    (:func:`jacobi_epoch`), run on Numba's threads when ``parallel_blocks``; the
    iterates do not depend on ``parallel_blocks``. With ``blocks=None`` Numba prunes
    every block-Jacobi branch, so that the cyclic solver, the one every small fit uses,
    does not compile them (they added 6.5 s to a first fit's compilation).

    With a ``krylov_tol`` a solve that runs long tries Krylov dual points aimed at
    that gap (:func:`krylov_dual_attempt`, after KRYLOV_MIN_EPOCHS epochs, then twice,
    four times as many, ...): near interpolation the gap of the rescaled residual lags
    the objective by orders of magnitude. With ``krylov_tol=None`` (the default of
    the solvers) Numba prunes that code, as it prunes the block-Jacobi code with
    ``blocks=None``, so fits that do not ask for it do not compile it.

    Returns (shift, n_epochs, gap, found): found is 0 when q_best was not written, 1
    when it holds the best rescaled residual (or extrapolated residual) of the checks,
    2 when it holds a Krylov dual point, worth trying over all features.
    """
    n_ws = ws.shape[0]
    n = r_raw.shape[0]
    cycle = max(anderson_k, 1) + 1
    hist_w = np.empty((cycle, n_ws))
    hist_r = np.empty((cycle if dual_extrapolation else 1, n))
    n_hist = 0
    grad = np.empty(n_ws)
    grad_acc = np.empty(n_ws)
    r = np.empty(n)
    q = np.empty(n)
    sq = np.empty(n)
    r_trial = np.empty(n)
    q_acc = np.empty(n)
    w_trial = np.empty(n_ws)
    gap = np.inf
    best_dual = -np.inf
    last_primal = np.inf
    last_dual = -np.inf
    found = 0
    epoch = 0
    jacobi = blocks is not None  # until the block epochs hand over to cyclic ones
    if krylov_tol is not None:
        k_tol = min(krylov_tol, tol)
        next_krylov = KRYLOV_MIN_EPOCHS
        k_target = np.empty(n_ws)
        k_in = np.zeros(n_ws, dtype=np.bool_)
    for epoch in range(1, max_epochs + 1):
        if blocks is not None and jacobi:
            shift = jacobi_epoch(data, indices, indptr, ws, w, r_raw, shift, sw, weighted,
                                 fit_intercept, xbar, lipschitz, l1, l2, positive,
                                 blocks[0], parallel_blocks, blocks[1], blocks[2],
                                 blocks[3], blocks[4], blocks[5], blocks[6], blocks[7],
                                 blocks[8], blocks[9])
        else:
            shift = cd_epoch(data, indices, indptr, ws, w, r_raw, shift, sw, weighted,
                             fit_intercept, xbar, lipschitz, l1, l2, positive)
        for k in range(n_ws):
            hist_w[n_hist, k] = w[ws[k]]
        if dual_extrapolation:
            for i in range(n):
                hist_r[n_hist, i] = r_raw[i] + shift
        n_hist += 1
        # Check after the first epoch too: a warm-started working set is often solved
        # by then, and waiting for the end of the cycle would cost cycle - 1 epochs.
        if n_hist < cycle and epoch < max_epochs and not (epoch == 1 and early_check):
            continue
        # End of a cycle (or early check): certificate first, then extrapolation.
        if blocks is not None and jacobi and parallel_blocks:  # gathers on two threads
            for i in range(n):
                r[i] = r_raw[i] + shift
            dual_direction(data, indices, indptr, r, sw, weighted, free, gram_pinv,
                           xbar_free, fit_intercept, q, sq)
            xt_dot_blocks_parallel(data, indices, indptr, ws, sq, grad, blocks[0])
        else:
            dual_gradient(data, indices, indptr, ws, r_raw, shift, sw, weighted, free,
                          gram_pinv, xbar_free, fit_intercept, r, q, sq, grad)
        gap, primal, dual, _ = duality_gap(r, q, sw, weighted, y_c, grad, ws, w, l1, l2,
                                           positive)
        if dual > best_dual:
            best_dual = dual
            copy_into(q_best, q)
            found = 1
        if dual_extrapolation and n_hist == cycle:
            d_acc = _extrapolated_dual(data, indices, indptr, ws, hist_r, n_hist, sw,
                                       weighted, free, gram_pinv, xbar_free,
                                       fit_intercept,
                                       y_c, l1, l2, positive, r_trial, q_acc, sq,
                                       grad_acc)
            if d_acc > best_dual:
                best_dual = d_acc
                copy_into(q_best, q_acc)
                found = 1
        # The primal only decreases, so the best dual seen so far stays a valid bound.
        gap = primal - best_dual
        # Below ~1e-13 relative the gap is rounding noise (a difference of two sums of
        # n terms): more epochs cannot lower it, and with an unreachable tol (e.g. 0)
        # they would run to max_epochs inside one uninterruptible call.
        if gap <= tol or gap <= GAP_NOISE_FLOOR * abs(primal):
            break
        if krylov_tol is not None:
            if epoch >= next_krylov and gap > 2.0 * k_tol:
                # Attempts at 60, 120, 240, ... epochs, each of at most as many
                # iterations: the aim is the outer loop's final tolerance.
                d_k, _ = krylov_dual_attempt(
                    data, indices, indptr, ws, w, r_raw, shift, sw, weighted,
                    fit_intercept, xbar, lipschitz, l1, l2, positive, y_c, free,
                    xbar_free, gram_pinv, grad, primal, best_dual, k_tol, epoch,
                    k_target, k_in, q_acc, parallel_blocks)
                if d_k > best_dual:
                    best_dual = d_k
                    copy_into(q_best, q_acc)
                    found = 2
                    gap = primal - best_dual
                    if gap <= tol:
                        break
                next_krylov = 2 * epoch
        if jacobi and gap <= JACOBI_MIN_REL_GAP * abs(primal):
            jacobi = False  # cyclic epochs for the last digits (see JACOBI_MIN_REL_GAP)
        # Neither value moved at all since the last check: the cyclic iterates are at a
        # fixed point whose restricted gap cannot reach tol (e.g. a dual projection chosen
        # by the outer loop that no longer fits the one-sided constraints of positive
        # unpenalized features). Back to the outer loop, which recomputes it, rather than
        # sweeping to max_epochs.
        if primal >= last_primal and best_dual <= last_dual:
            if not jacobi:
                break
            # Block-Jacobi steps stalled at rounding level short of tol (seen at
            # relative gaps near 1e-11): cyclic epochs finish the solve.
            jacobi = False
        last_primal = primal
        last_dual = best_dual
        if anderson_k > 0 and n_hist == cycle:
            coef = _anderson_weights(hist_w, n_hist)
            if coef.shape[0] > 0:
                _anderson_point(hist_w, coef, positive, w_trial)
                for k in range(n_ws):
                    w_trial[k] -= w[ws[k]]  # step from the current iterate
                copy_into(r_trial, r_raw)
                if blocks is not None and jacobi:
                    dshift = add_columns_blocks(data, indices, indptr, ws, w_trial, xbar,
                                                fit_intercept, r_trial, blocks[0],
                                                parallel_blocks, blocks[1], blocks[2])
                else:
                    dshift = add_columns(data, indices, indptr, ws, w_trial, xbar,
                                         fit_intercept, r_trial)
                # Evaluate the trial in place: swap it into w, swap back if rejected.
                for k in range(n_ws):
                    tmp = w[ws[k]]
                    w[ws[k]] = tmp + w_trial[k]
                    w_trial[k] = tmp
                p_acc = primal_value(r_trial, shift + dshift, sw, weighted, ws, w, l1,
                                     l2)
                if p_acc < primal:
                    copy_into(r_raw, r_trial)
                    shift += dshift
                else:
                    for k in range(n_ws):
                        w[ws[k]] = w_trial[k]
        if n_hist == cycle:
            n_hist = 0  # a new cycle of iterates starts (an early check keeps the cycle)
    return shift, epoch, gap, found


@njit(**_JIT)
def screen_and_score(active, n_active, grad, t, radius, sqnorm_f32, l1, l2, w, positive,
                     screening, raw=None):
    """Gap Safe test and working-set scores, in place and without temporaries.

    For k < n_active, j = active[k] and grad[k] = x_j^T (s q): feature j is provably zero
    at the optimum when |t grad[k]| + radius ||x_j|| < l1_j (Gap Safe sphere test, with
    the rounded-up norms of :func:`column_sqnorms_f32`, which keeps it safe); such
    features are removed from ``active`` (compacted in place) and set to 0 in w. The
    others get the score (l1_j - |x_j^T theta|) / ||x_j||, their distance to the dual
    constraint (non-zero and unpenalized features get -inf so they are always picked),
    written into grad in the compacted order.

    Returns (new n_active, whether some non-zero coefficient was zeroed, number of
    violators): the violators are the zero penalized features whose optimality condition
    fails at the current point, |x_j^T (s q)| > l1_j for the unscaled direction q (t < 1
    scales it into the dual feasible set). Each of them must move, so a working set
    should hold them all. With ``raw``, the kept features' grad[k] (before scoring) are
    written there, in the compacted order.
    """
    m = 0
    zeroed = False
    n_violating = 0
    for k in range(n_active):
        j = active[k]
        c = t * grad[k]
        if not positive:
            c = abs(c)
        nrm = np.sqrt(np.float64(sqnorm_f32[j]))
        if screening and c + radius * nrm < l1[j]:
            if w[j] != 0.0:
                w[j] = 0.0
                zeroed = True
            continue
        if w[j] != 0.0 or (l1[j] == 0.0 and l2[j] == 0.0):
            score = -np.inf
        else:
            score = (l1[j] - c) / nrm
            if c > t * l1[j]:
                n_violating += 1
        active[m] = j
        if raw is not None:
            raw[m] = grad[k]
        grad[m] = score
        m += 1
    return m, zeroed, n_violating
