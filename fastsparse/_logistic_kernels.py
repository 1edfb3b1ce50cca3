"""Jitted kernels for L1 / elastic-net logistic regression on CSC arrays.

Like :mod:`fastsparse._kernels`, nothing here validates anything: every array was checked
by :mod:`fastsparse._validation` and shaped by :mod:`fastsparse._logistic_solver`.

Notation (DESIGN.md sections 1-2, objective multiplied by n): labels y_i in {-1, +1},
sample weights s_i (summing to n; ``weighted`` False means all ones and the weight array
is a placeholder that is never read), linear predictor z = Xw + b, margins m_i = y_i z_i,

    F(z) = sum_i s_i log(1 + exp(-m_i)),
    P(w, b) = F(Xw + b) + sum_j (l1_j |w_j| + l2_j / 2 w_j^2).

The dual variable u lives in sample space (u = lambda theta in DESIGN.md's scaling); at the
optimum u = -grad F(z), i.e. u_i = s_i y_i sigma(-m_i). Its domain is the box
0 <= y_i u_i <= s_i, plus sum_i u_i = 0 with an intercept, and

    D(u) = sum_i s_i H(y_i u_i / s_i) - sum_j h_j*(x_j^T u),

H the binary entropy (in nats) and h_j* the conjugate of feature j's penalty.

The proximal Newton step minimises the quadratic model of F around z0,
1/2 sum_i h_i (zt_i - z_i)^2 with h_i = s_i sigma(m_i) sigma(-m_i) (floored) and working
response zt = z0 + u / h, by coordinate descent on a working set. The kernels never divide
by h: they keep e_i = h_i r_raw_i, the h-weighted uncentered working residual, and the
scalar ``shift`` = xbar_h^T w of the lazy centering (DESIGN.md section 2) so that one
coordinate update costs O(nnz of the column), intercept included.

Column loops run over ``np.int64`` bounds: with int32 ``indptr`` a plain
``range(indptr[j], indptr[j + 1])`` makes Numba generate a much slower loop (see
:mod:`fastsparse._sparse_ops`).
"""

import numpy as np
from numba import njit

from ._kernels import JACOBI_MIN_STEP, JACOBI_STEP_CAP, _anderson_point, _anderson_weights
from ._kernels import conjugate_penalty, exact_step, record_secant_pair, secant_multiplier
from ._sparse_ops import (  # noqa: F401 (dot: used by the solver as LK.dot)
    centered_sqnorm,
    column_axpy,
    column_axpy_scaled,
    column_dot,
    dot,
    enet_coordinate_minimizer,
    is_centered_explicitly,
)

_JIT = dict(cache=True, nogil=True, fastmath=False, error_model="numpy")


@njit(**_JIT)
def log1pexp_neg(m):
    """log(1 + exp(-m)) without overflow or cancellation, for any real m."""
    if m > 0.0:
        return np.log1p(np.exp(-m))
    return -m + np.log1p(np.exp(m))


@njit(**_JIT)
def sigmoid_neg(m):
    """sigma(-m) = 1 / (1 + exp(m)) without overflow."""
    if m >= 0.0:
        e = np.exp(-m)
        return e / (1.0 + e)
    return 1.0 / (1.0 + np.exp(m))


@njit(**_JIT)
def entropy(p):
    """Binary entropy -p log p - (1 - p) log(1 - p) in nats, 0 at p = 0 and p = 1."""
    out = 0.0
    if p > 0.0:
        out -= p * np.log(p)
    if p < 1.0:
        out -= (1.0 - p) * np.log1p(-p)
    return out


@njit(**_JIT)
def linear_predictor(data, indices, indptr, w, b, z):
    """z = X w + b from scratch (only non-zero w are visited): O(n + nnz of the support)."""
    z[:] = b
    for j in range(w.shape[0]):
        wj = w[j]
        if wj != 0.0:
            column_axpy(data, indices, indptr[j], indptr[j + 1], wj, z)


@njit(**_JIT)
def balance_classes(u, y, pos, neg):
    """Make sum_i u_i = 0 (the intercept's dual constraint) by shrinking one class.

    The class with the larger total |u| is scaled by min(pos, neg) / max(pos, neg) <= 1,
    which keeps every y_i u_i in [0, s_i]: the point stays in the domain of the entropy.
    """
    if pos == neg:
        return
    if pos > neg:
        f = neg / pos
        for i in range(u.shape[0]):
            if y[i] > 0.0:
                u[i] *= f
    else:
        f = pos / neg
        for i in range(u.shape[0]):
            if y[i] < 0.0:
                u[i] *= f


@njit(**_JIT)
def feasible_scale(grad, cols, l1, l2):
    """Largest t <= 1 with |t x_j^T u| <= l1_j for the pure-L1 features in ``cols``.

    ``grad[k]`` = x_j^T u for j = cols[k]. Features with l2_j > 0 have a finite penalty
    conjugate and need no scaling; unpenalized features are handled by the caller.
    Scaling u by t in (0, 1] keeps it in the entropy's box and keeps the linear
    constraints (intercept, unpenalized features) satisfied.
    """
    t = 1.0
    for k in range(cols.shape[0]):
        j = cols[k]
        if l2[j] == 0.0 and l1[j] > 0.0:
            g = abs(grad[k])
            if g * t > l1[j]:
                t = l1[j] / g
    return t


@njit(**_JIT)
def conjugate_value(grad, cols, t, l1, l2):
    """sum_{j in cols} h_j*(t x_j^T u), grad[k] = x_j^T u: the penalty part of D(t u)."""
    conj = 0.0
    for k in range(cols.shape[0]):
        j = cols[k]
        if l1[j] > 0.0 or l2[j] > 0.0:
            conj += conjugate_penalty(t * grad[k], l1[j], l2[j], False)
    return conj


@njit(**_JIT)
def penalty_value(w, cols, l1, l2):
    """sum_{j in cols} l1_j |w_j| + l2_j / 2 w_j^2."""
    pen = 0.0
    for k in range(cols.shape[0]):
        j = cols[k]
        wj = w[j]
        pen += l1[j] * abs(wj) + 0.5 * l2[j] * wj * wj
    return pen


@njit(**_JIT)
def curvature(e, floor):
    """sigma(m) sigma(-m) = e / (1 + e)^2 from e = exp(-|m|), floored at ``floor``."""
    v = e / ((1.0 + e) * (1.0 + e))
    return floor if v < floor else v


@njit(**_JIT)
def hessian_weights(z, y, sw, weighted, floor, h):
    """h_i = s_i sigma(m_i) sigma(-m_i), floored at s_i * floor; returns sum_i h_i.

    The floor keeps the quadratic model strictly convex on rows with extreme margins
    (separable data); it only over-estimates the curvature, so the Newton direction
    stays a descent direction. The solver's Newton models take their weights from
    :func:`fastsparse._logistic_rows.loss_and_dual_direction`, in the same pass as the
    loss; this one serves the projection of the dual point (floor 0).
    """
    total = 0.0
    for i in range(z.shape[0]):
        # sigma(m) sigma(-m) is even in m (y_i = +-1)
        v = curvature(np.exp(-abs(z[i])), floor)
        if weighted:
            v *= sw[i]
        h[i] = v
        total += v
    return total


@njit(**_JIT)
def weighted_column_stats(data, indices, indptr, cols, h, h_sum, fit_intercept, xbar,
                          lipschitz):
    """h-weighted means and centered squared norms of the columns ``cols`` (aligned).

    lipschitz[k] = sum_i h_i (x_ij - xbar_k)^2 (xbar_k = 0 without intercept), computed
    around the mean by :func:`fastsparse._sparse_ops.centered_sqnorm` (exactly 0 for a
    column constant on the h-weighted rows; no cancellation for large-mean columns).
    """
    n_rows = h.shape[0]
    for k in range(cols.shape[0]):
        j = cols[k]
        a = 0.0
        b = 0.0
        for kk in range(np.uint64(indptr[j]), np.uint64(indptr[j + 1])):
            x = np.float64(data[kk])
            hx = h[np.uint64(indices[kk])] * x
            a += hx
            b += hx * x
        xbar[k] = a / h_sum if fit_intercept else 0.0
        lipschitz[k] = centered_sqnorm(data, indices, indptr, j, h, True, n_rows, h_sum,
                                       a, b, fit_intercept)


@njit(**_JIT)
def init_working_residual(u, h, c, e):
    """e_i = u_i + h_i c: the h-weighted working residual at the expansion point."""
    for i in range(u.shape[0]):
        e[i] = u[i] + h[i] * c


@njit(**_JIT)
def _subgradient_distance(c, wj, l1j):
    """Distance of c to l1_j * (subdifferential of |.| at wj): the coordinate's KKT gap."""
    if wj > 0.0:
        return abs(c - l1j)
    if wj < 0.0:
        return abs(c + l1j)
    a = abs(c) - l1j
    return a if a > 0.0 else 0.0


@njit(**_JIT)
def _model_step(g, old, lj, l1j, l2j):
    """One coordinate of the quadratic model: (its KKT gap at ``old``, its minimizer).

    ``g`` is the coordinate's gradient x_j^T e (plus the lazy-centering term), ``lj`` its
    curvature sum_i h_i x_ij^2 (centered with an intercept).
    """
    v = _subgradient_distance(g - l2j * old, old, l1j)
    return v, enet_coordinate_minimizer(old * lj + g, lj, l1j, l2j, False)


@njit(**_JIT)
def kkt_violation(grad, ws, w, l1, l2):
    """max over j = ws[k] of the distance of grad[k] - l2_j w_j to l1_j d|w_j|.

    ``grad[k]`` = x_j^T u with u (about) -grad F: the first-order optimality violation
    of the working-set problem, in the units of the gradient.
    """
    out = 0.0
    for k in range(ws.shape[0]):
        j = ws[k]
        v = _subgradient_distance(grad[k] - l2[j] * w[j], w[j], l1[j])
        if v > out:
            out = v
    return out


@njit(**_JIT)
def _cd_epoch(data, indices, indptr, ws, w, e, shift, h, h_sum, fit_intercept, xbar,
              lipschitz, l1, l2):
    """One cyclic pass over ws on the quadratic model; returns (shift, max KKT gap).

    Columns stored in every row are centered explicitly (x_j - xbar_j, no shift), as in
    :func:`fastsparse._kernels.cd_epoch`: lazily, a column with a large mean and a small
    spread loses its gradient to cancellation. The gradient needs no shift term then,
    since sum_i h_i (x_ij - xbar_j) = 0.
    """
    viol = 0.0
    n_rows = e.shape[0]
    for jj in range(ws.shape[0]):
        j = ws[jj]
        lj = lipschitz[jj]
        if lj <= 0.0:
            continue
        start = np.int64(indptr[j])
        end = np.int64(indptr[j + 1])
        dense = is_centered_explicitly(start, end, n_rows, fit_intercept)
        m = xbar[jj] if dense else 0.0
        if dense:
            g = 0.0
            for k in range(start, end):
                g += (data[k] - m) * e[indices[k]]
        else:  # the common case: sparse column, m = 0 (see _sparse_ops.column_dot)
            g = column_dot(data, indices, start, end, e)
        if fit_intercept and not dense:
            g += shift * h_sum * xbar[jj]
        old = w[j]
        v, new = _model_step(g, old, lj, l1[j], l2[j])
        if v > viol:
            viol = v
        if new != old:
            d = new - old
            w[j] = new
            if dense:
                for k in range(start, end):
                    i = indices[k]
                    e[i] -= d * h[i] * (data[k] - m)
            else:
                column_axpy_scaled(data, indices, start, end, -d, h, e)
            if fit_intercept and not dense:
                shift += xbar[jj] * d
    return shift, viol


@njit(**_JIT)
def _measuring_epoch(data, indices, indptr, ws, w, e, h, h_sum, lipschitz, l1, l2, mean,
                     centered):
    """The first plain epoch of a model without intercept, measuring each column as it
    sweeps it; returns (max KKT gap, common-mode weight).

    The same updates as :func:`_cd_epoch` without intercept, whose coordinate j needs
    only its own curvature: so the column statistics of
    :func:`weighted_column_stats` (h-weighted mean and centered squared norm, into
    ``mean`` and ``centered``) and the plain curvature sum_i h_i x_ij^2 = centered +
    H mean^2 (into ``lipschitz``) are summed in the same read of the column as its
    gradient, instead of a separate pass over the working set before the sweeps. Same
    sums in the same order as those two functions, so the same iterates.

    The weight is sum_j cos^2(x_j, 1) in the h metric (H mean_j^2 / lipschitz_j), the
    bound on the common mode's eigenvalue that decides the deflation.
    """
    viol = 0.0
    weight = 0.0
    n_rows = e.shape[0]
    for jj in range(ws.shape[0]):
        j = ws[jj]
        start = np.int64(indptr[j])
        end = np.int64(indptr[j + 1])
        # column_dot's two accumulators for the gradient, weighted_column_stats's single
        # ones for the moments (see those functions for the order of the sums).
        k = np.uint64(start)
        stop = np.uint64(end)
        g0 = 0.0
        g1 = 0.0
        sa = 0.0
        sb = 0.0
        while k + np.uint64(1) < stop:
            x = np.float64(data[k])
            i = np.uint64(indices[k])
            hx = h[i] * x
            sa += hx
            sb += hx * x
            g0 += data[k] * e[i]
            k1 = k + np.uint64(1)
            x = np.float64(data[k1])
            i = np.uint64(indices[k1])
            hx = h[i] * x
            sa += hx
            sb += hx * x
            g1 += data[k1] * e[i]
            k += np.uint64(2)
        if k < stop:
            x = np.float64(data[k])
            i = np.uint64(indices[k])
            hx = h[i] * x
            sa += hx
            sb += hx * x
            g0 += data[k] * e[i]
        m = sa / h_sum
        c = centered_sqnorm(data, indices, indptr, j, h, True, n_rows, h_sum, sa, sb, True)
        plain = m * m * h_sum
        lj = plain + c
        mean[jj] = m
        centered[jj] = c
        lipschitz[jj] = lj
        if lj <= 0.0:
            continue
        weight += plain / lj
        old = w[j]
        v, new = _model_step(g0 + g1, old, lj, l1[j], l2[j])
        if v > viol:
            viol = v
        if new != old:
            d = new - old
            w[j] = new
            column_axpy_scaled(data, indices, start, end, -d, h, e)
    return viol, weight


@njit(**_JIT)
def _try_extrapolation(data, indices, indptr, ws, w, e, shift, h, h_sum, fit_intercept,
                       xbar, l1, l2, target, v):
    """Move w[ws] to ``target`` if that lowers the quadratic model; returns new shift.

    The model change is computed from the step D = target - w without any division by
    h: -grad^T D + 1/2 (sum_i h_i (X D)_i^2 - H (xbar^T D)^2) + penalty change, with
    grad_j = x_j^T e + shift H xbar_j. Columns stored in every row enter centered
    explicitly, as in :func:`_cd_epoch`. ``v`` is scratch space of length n.
    O(n + nnz of the working set).
    """
    m = ws.shape[0]
    n_rows = e.shape[0]
    v[:] = 0.0
    lin = 0.0
    pen = 0.0
    c = 0.0
    for k in range(m):
        j = ws[k]
        d = target[k] - w[j]
        if d == 0.0:
            continue
        start = np.int64(indptr[j])
        end = np.int64(indptr[j + 1])
        dense = is_centered_explicitly(start, end, n_rows, fit_intercept)
        mean = xbar[k] if dense else 0.0
        g = 0.0
        for kk in range(start, end):
            i = indices[kk]
            x = data[kk] - mean
            g += x * e[i]
            v[i] += d * x
        if fit_intercept and not dense:
            g += shift * h_sum * xbar[k]
            c += xbar[k] * d
        lin -= g * d
        a = w[j]
        pen += l1[j] * (abs(target[k]) - abs(a)) + l2[j] * (a + 0.5 * d) * d
    quad = 0.0
    for i in range(v.shape[0]):
        quad += h[i] * v[i] * v[i]
    if fit_intercept:
        quad -= h_sum * c * c
    if lin + 0.5 * quad + pen < 0.0:
        for i in range(v.shape[0]):
            e[i] -= h[i] * v[i]
        for k in range(m):
            w[ws[k]] = target[k]
        shift += c
    return shift


@njit(**_JIT)
def _deflated_epoch(data, indices, indptr, ws, w, e, h, h_sum, l1, l2, deflation):
    """One epoch on the common-mode-deflated model, then the exact line search on the
    model itself (no intercept only; returns the step t).

    The quadratic model without intercept, 1/2 sum_i h_i r_i^2 + penalty, splits as
    1/2 sum_i h_i (r_i - rbar)^2 + H/2 rbar^2 (rbar the h-weighted mean of r, H = sum h):
    a well-conditioned centered part and a rank-one common mode that slows cyclic
    sweeps on non-negative data (the no-intercept logistic fits needed 3.7x the epochs
    of the intercept ones). As in :func:`fastsparse._kernels.jacobi_epoch`, the sweep
    sees the centered part (lazily centered updates, h-weighted means and centered
    norms of ``deflation``) plus the gradient mu m of the rank-one term, mu from a
    secant step on the identity H rbar = mu (or sum e itself at the start and after a
    short step), and the move is then scaled by the exact minimizer t in [0, 4] of the
    model along it, so the model never increases. Coordinates the sweep set to 0 that
    the step carries past 0 are set to 0 (``e`` corrected).

    The line search needs the model's slope -e_old^T v and curvature v^T H v along the
    move v = X d (d the sweep's change of w), without forming v: the sweep moved e by
    exactly -H v, so the curvature is sum_i (e_old_i - e_i)^2 / h_i (h > 0 floored;
    rows with h_i = 0 have zero weight and never move). The slope is not taken as
    sum_i e_old_i (e_old_i - e_i) / h_i: on a row with an extreme margin (h_i at its
    floor, r_i = e_i / h_i up to 1e10) the rounding of e_i would be multiplied by r_i.
    It comes from the sweep's own gradients instead: with c_j = x_j^T e when coordinate
    j moved by d_j, and L_j = sum_i h_i x_ij^2,

        e_old^T v = sum_j d_j c_j + S,   v^T H v = sum_j d_j^2 L_j + 2 S,

    S = sum_{k < j} d_j d_k x_j^T H x_k (the sweep order), so the slope is
    -(B + (curv - A) / 2) with B = sum_j d_j c_j, A = sum_j d_j^2 L_j. Tracking v itself
    in the sweep's scatter (an extra store per entry, and a zeroed length-n array) made
    this epoch 1.4 plain ones on rcv1-shaped working sets; this way it is 1.05-1.1.

    ``deflation`` = (means, centered norms, secant state (pairs, mu, h, mu, h), w_old,
    e_old, kink_t, kink_jump), the last four scratch.
    """
    mean, lip, state, w_old, e_old, kink_t, kink_jump = deflation
    m = ws.shape[0]
    n = e.shape[0]
    esum = 0.0
    for i in range(n):
        e_old[i] = e[i]
        esum += e[i]
    for k in range(m):
        w_old[k] = w[ws[k]]
    mu, secant = secant_multiplier(state, esum)
    shift = (mu - esum) / h_sum
    b_sum = 0.0  # B above
    a_sum = 0.0  # A above
    for jj in range(m):
        lj = lip[jj]
        if lj <= 0.0:
            continue
        j = ws[jj]
        start = np.int64(indptr[j])
        end = np.int64(indptr[j + 1])
        c = column_dot(data, indices, start, end, e)
        g = c + shift * h_sum * mean[jj]
        old = w[j]
        new = enet_coordinate_minimizer(old * lj + g, lj, l1[j], l2[j], False)
        if new != old:
            d = new - old
            w[j] = new
            column_axpy_scaled(data, indices, start, end, -d, h, e)
            shift += mean[jj] * d
            b_sum += d * c
            a_sum += d * d * (lj + h_sum * mean[jj] * mean[jj])
    # Secant pair: the identity's residual after the sweep (sum e = H rbar); and the
    # line search on the model along the move (docstring).
    enew = 0.0
    curv = 0.0
    for i in range(n):
        enew += e[i]
        if h[i] > 0.0:
            de = e_old[i] - e[i]
            curv += de * de / h[i]
    slope = -(b_sum + 0.5 * (curv - a_sum))
    record_secant_pair(state, mu, mu - enew)
    t = exact_step(ws, w, w_old, l1, l2, False, slope, curv, JACOBI_STEP_CAP, kink_t,
                   kink_jump)
    if t == 0.0:  # back to the start exactly (0 * d is NaN for a non-finite move)
        for i in range(n):
            e[i] = e_old[i]
        for k in range(m):
            w[ws[k]] = w_old[k]
        if secant:
            state[0] = 0.0
        return 0.0
    for i in range(n):
        e[i] = e_old[i] - t * (e_old[i] - e[i])
    for k in range(m):
        j = ws[k]
        wo = w_old[k]
        zeroed = w[j] == 0.0
        d = w[j] - wo
        nw = wo + t * d
        if wo != 0.0 and (wo > 0.0) != (d > 0.0) and -wo / d == t:
            nw = 0.0
        if zeroed and nw != 0.0 and (nw > 0.0) != (wo > 0.0):
            for kk in range(np.int64(indptr[j]), np.int64(indptr[j + 1])):
                i = indices[kk]
                e[i] += nw * h[i] * data[kk]  # back to 0: r += x_j nw
            nw = 0.0
        w[j] = nw
    if t < JACOBI_MIN_STEP and secant:
        state[0] = 0.0  # the secant misled: start again from mu = sum e
    return t


@njit(**_JIT)
def quadratic_cd(data, indices, indptr, ws, w, e, shift, h, h_sum, fit_intercept, xbar,
                 lipschitz, l1, l2, max_epochs, eps, anderson_k, v, deflation=None,
                 min_common_mode=-1.0):
    """Coordinate descent on the quadratic model restricted to the working set ``ws``.

    Minimises 1/2 sum_i h_i r_i^2 + sum_{j in ws} (l1_j |w_j| + l2_j / 2 w_j^2) with
    r the (h-centered) working residual, kept as e = h * r_raw and r = r_raw + shift.
    The gradient of coordinate j is x_j^T e + shift * sum_i h_i x_ij (the centered
    residual is h-orthogonal to the constant, so no xbar_j term appears); each update
    costs O(nnz of column j). Epochs stop when the largest KKT violation of the model met
    during an epoch (measured before each update, in gradient units) is at most ``eps``,
    or after ``max_epochs``. Every ``anderson_k`` epochs the iterates are extrapolated
    (Anderson acceleration, as in skglm), the extrapolated point kept only if it lowers
    the model, so the iteration stays monotone. ``v`` is scratch space of length n.

    With ``deflation`` (no intercept, see :func:`_deflated_epoch`), two of every three
    epochs sweep the common-mode-deflated model; the third, a plain epoch (also after a
    short deflated step), measures the KKT violation for the stopping test. Numba prunes
    that branch for ``deflation=None``. With ``min_common_mode`` >= 0 as well, the first
    epoch also measures the columns (:func:`_measuring_epoch`: fills ``lipschitz`` and
    the deflation's means and centered norms, which need not be set on entry) and the
    deflated sweeps run only when their common-mode weight is at least
    ``min_common_mode``.

    Returns (shift, n_epochs).
    """
    m = ws.shape[0]
    cycle = max(anderson_k, 1) + 1
    hist = np.empty((cycle, m))
    target = np.empty(m)
    n_hist = 0
    epoch = 0
    plain_next = True
    measure = min_common_mode >= 0.0
    deflate = not measure
    for epoch in range(1, max_epochs + 1):
        if deflation is not None and deflate and not plain_next:
            t = _deflated_epoch(data, indices, indptr, ws, w, e, h, h_sum, l1, l2,
                                deflation)
            plain_next = epoch % 3 == 2 or t < JACOBI_MIN_STEP
        elif deflation is not None and measure and epoch == 1:
            viol, weight = _measuring_epoch(data, indices, indptr, ws, w, e, h, h_sum,
                                            lipschitz, l1, l2, deflation[0], deflation[1])
            deflate = weight >= min_common_mode
            plain_next = False
            if viol <= eps:
                break
        else:
            shift, viol = _cd_epoch(data, indices, indptr, ws, w, e, shift, h, h_sum,
                                    fit_intercept, xbar, lipschitz, l1, l2)
            plain_next = False
            if viol <= eps:
                break
        if anderson_k <= 0:
            continue
        for k in range(m):
            hist[n_hist, k] = w[ws[k]]
        n_hist += 1
        if n_hist < cycle:
            continue
        coef = _anderson_weights(hist, n_hist)
        n_hist = 0
        if coef.shape[0] == 0:
            continue
        _anderson_point(hist, coef, False, target)
        shift = _try_extrapolation(data, indices, indptr, ws, w, e, shift, h, h_sum,
                                   fit_intercept, xbar, l1, l2, target, v)
    return shift, epoch


@njit(**_JIT)
def penalty_change(w0, delta, step, ws, l1, l2):
    """Penalty at w0 + step delta minus penalty at w0, over ws (w0, delta aligned)."""
    out = 0.0
    for k in range(ws.shape[0]):
        j = ws[k]
        a = w0[k]
        d = step * delta[k]
        out += l1[j] * (abs(a + d) - abs(a)) + l2[j] * (a + 0.5 * d) * d
    return out


@njit(**_JIT)
def newton_direction(data, indices, indptr, ws, delta, db, xbar, fit_intercept, dz):
    """dz = X[:, ws] @ delta + db: the change of the linear predictor along the step.

    Columns centered explicitly by :func:`_cd_epoch` enter as (x_j - xbar_j) delta_j
    (their share -xbar_j delta_j of the intercept change is not in ``db``), so that a
    large-mean column does not cancel against the intercept here.
    """
    dz[:] = db
    n_rows = dz.shape[0]
    for k in range(ws.shape[0]):
        d = delta[k]
        if d != 0.0:
            j = ws[k]
            start = np.int64(indptr[j])
            end = np.int64(indptr[j + 1])
            if is_centered_explicitly(start, end, n_rows, fit_intercept):
                mean = xbar[k]
                for kk in range(start, end):
                    dz[indices[kk]] += d * (data[kk] - mean)
            else:
                column_axpy(data, indices, start, end, d, dz)


@njit(**_JIT)
def min_margin(z, y, sw, weighted):
    """Smallest margin y_i z_i over the rows with positive weight."""
    out = np.inf
    for i in range(z.shape[0]):
        if weighted and sw[i] <= 0.0:
            continue
        m = y[i] * z[i]
        if m < out:
            out = m
    return out
