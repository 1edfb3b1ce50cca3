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
from numba import njit

from ._sparse_ops import (  # noqa: F401  (re-exported: the solvers use them as K.*)
    add_columns,
    column_sqnorms_f32,
    column_stats,
    copy_into,
    enet_coordinate_minimizer,
    is_centered_explicitly,
    positive_entries,
    residual,
    smallest_k,
    xt_dot,
)

_JIT = dict(cache=True, nogil=True, fastmath=False, error_model="numpy")


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
            for k in range(start, end):
                i = indices[k]
                g += (data[k] - m) * sw[i] * r_raw[i]
        else:
            for k in range(start, end):
                g += (data[k] - m) * r_raw[indices[k]]
        lazy = fit_intercept and not dense
        if lazy:
            g += shift * nf * xbar[jj]  # shift * sum_i s_i x_ij
        old = w[j]
        new = enet_coordinate_minimizer(old * lj + g, lj, l1[j], l2[j], positive)
        if new != old:
            d = new - old
            w[j] = new
            for k in range(start, end):
                r_raw[indices[k]] -= d * (data[k] - m)
            if lazy:
                shift += xbar[jj] * d
    return shift


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


@njit(**_JIT)
def inner_solve(data, indices, indptr, ws, w, r_raw, shift, sw, weighted, fit_intercept,
                xbar, lipschitz, l1, l2, positive, y_c, free, xbar_free, gram_pinv, tol,
                max_epochs, anderson_k, dual_extrapolation, q_best, early_check=True):
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

    Returns (shift, n_epochs, gap, found) with found True when q_best was written.
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
    found = False
    epoch = 0
    for epoch in range(1, max_epochs + 1):
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
        dual_gradient(data, indices, indptr, ws, r_raw, shift, sw, weighted, free,
                      gram_pinv, xbar_free, fit_intercept, r, q, sq, grad)
        gap, primal, dual, _ = duality_gap(r, q, sw, weighted, y_c, grad, ws, w, l1, l2,
                                           positive)
        if dual > best_dual:
            best_dual = dual
            copy_into(q_best, q)
            found = True
        if dual_extrapolation and n_hist == cycle:
            d_acc = _extrapolated_dual(data, indices, indptr, ws, hist_r, n_hist, sw,
                                       weighted, free, gram_pinv, xbar_free,
                                       fit_intercept,
                                       y_c, l1, l2, positive, r_trial, q_acc, sq,
                                       grad_acc)
            if d_acc > best_dual:
                best_dual = d_acc
                copy_into(q_best, q_acc)
        # The primal only decreases, so the best dual seen so far stays a valid bound.
        gap = primal - best_dual
        # Below ~1e-13 relative the gap is rounding noise (a difference of two sums of
        # n terms): more epochs cannot lower it, and with an unreachable tol (e.g. 0)
        # they would run to max_epochs inside one uninterruptible call.
        if gap <= tol or gap <= GAP_NOISE_FLOOR * abs(primal):
            break
        if anderson_k > 0 and n_hist == cycle:
            coef = _anderson_weights(hist_w, n_hist)
            if coef.shape[0] > 0:
                _anderson_point(hist_w, coef, positive, w_trial)
                for k in range(n_ws):
                    w_trial[k] -= w[ws[k]]  # step from the current iterate
                copy_into(r_trial, r_raw)
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
                     screening):
    """Gap Safe test and working-set scores, in place and without temporaries.

    For k < n_active, j = active[k] and grad[k] = x_j^T (s q): feature j is provably zero
    at the optimum when |t grad[k]| + radius ||x_j|| < l1_j (Gap Safe sphere test, with
    the rounded-up norms of :func:`column_sqnorms_f32`, which keeps it safe); such
    features are removed from ``active`` (compacted in place) and set to 0 in w. The
    others get the score (l1_j - |x_j^T theta|) / ||x_j||, their distance to the dual
    constraint (non-zero and unpenalized features get -inf so they are always picked),
    written into grad in the compacted order.

    Returns (new n_active, whether some non-zero coefficient was zeroed).
    """
    m = 0
    zeroed = False
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
        active[m] = j
        grad[m] = score
        m += 1
    return m, zeroed
