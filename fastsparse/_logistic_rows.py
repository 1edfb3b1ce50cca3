"""The O(n) passes of the logistic solver over the samples, on one thread or several.

Each proximal Newton step of :mod:`fastsparse._logistic_solver` evaluates, at least once,
the loss with its dual direction and Hessian weights, the entropy part of the dual
value, and the loss change of the line search: an exp and one or two logs per sample,
about 25 stored entries' worth of a column pass. On the rcv1-shaped preset (20 k rows)
they were 10% of an L1 fit, whose coordinate descent is sequential, so they are the part a
second core can take.

Determinism: the rows are cut into :func:`row_chunks` chunks, a number that depends on
n only; every sum is taken chunk by chunk and the chunk totals are added in chunk order,
by the serial drivers (``loss_and_dual_direction``, ...) and by their ``*_parallel``
twins alike. So a fit gives the same bits whatever the number of threads, and whichever
variant :func:`fastsparse._parallel.run_rows` picks from one pass to the next. Below
2 * :data:`ROW_CHUNK` rows there is a single chunk: the plain sequential sums.

Notation as in :mod:`fastsparse._logistic_kernels` (labels y_i in {-1, +1}, weights s_i,
``weighted`` False meaning all ones and ``sw`` a placeholder never read, margins
m_i = y_i z_i). ``parts`` is scratch of shape (:data:`MAX_ROW_CHUNKS`, 4).
"""

import numpy as np
from numba import njit, prange

from ._logistic_kernels import curvature, entropy, log1pexp_neg, sigmoid_neg

_JIT = dict(cache=True, nogil=True, fastmath=False, error_model="numpy")
_JIT_PAR = dict(_JIT, parallel=True)

#: Smallest number of rows per chunk: 2048 rows of exps and logs are about 50 us of work,
#: well above what handing a chunk to a thread costs.
ROW_CHUNK = 2048
#: Most chunks a pass is cut into (16: 8 per thread on 2 cores, so that a thread
#: descheduled for a moment delays one small chunk, not half the pass).
MAX_ROW_CHUNKS = 16


def row_parts():
    """Scratch for the per-chunk sums of the passes of this module."""
    return np.empty((MAX_ROW_CHUNKS, 4))


@njit(**_JIT)
def row_chunks(n):
    """Number of row chunks of a pass over n rows: a function of n only."""
    return max(1, min(MAX_ROW_CHUNKS, n // ROW_CHUNK))


@njit(**_JIT)
def _chunk_sum(parts, k, col):
    total = 0.0
    for c in range(k):
        total += parts[c, col]
    return total


# ---------------------------------------------------------------------------------------
# Loss, dual direction and Hessian weights


@njit(**_JIT)
def _loss_rows(z, y, sw, weighted, floor, u, h, lo, hi, out):
    """Rows lo..hi-1 of :func:`loss_and_dual_direction`; their sums into out[0:4]."""
    loss = 0.0
    pos = 0.0
    neg = 0.0
    h_sum = 0.0
    for i in range(lo, hi):
        m = y[i] * z[i]
        s = sw[i] if weighted else 1.0
        # One exp for the three terms: with e = exp(-|m|), log(1 + exp(-m)) =
        # log1p(e) + max(-m, 0), sigma(-m) = e / (1 + e) for m >= 0 and 1 / (1 + e)
        # for m < 0, and sigma(m) sigma(-m) = e / (1 + e)^2 (even in m).
        e = np.exp(-abs(m))
        if m > 0.0:
            loss += s * np.log1p(e)
            a = s * (e / (1.0 + e))
        else:
            loss += s * (np.log1p(e) - m)
            a = s / (1.0 + e)
        if y[i] > 0.0:
            u[i] = a
            pos += a
        else:
            u[i] = -a
            neg += a
        v = curvature(e, floor)
        if weighted:
            v *= s
        h[i] = v
        h_sum += v
    out[0] = loss
    out[1] = pos
    out[2] = neg
    out[3] = h_sum


@njit(**_JIT)
def loss_and_dual_direction(z, y, sw, weighted, floor, u, h, parts):
    """F(z), u = -grad F(z) and the Hessian weights h at z.

    u_i = s_i y_i sigma(-m_i); h_i = s_i sigma(m_i) sigma(-m_i), floored at s_i * floor
    (the floor keeps the quadratic model strictly convex on rows with extreme margins,
    as on separable data; it only over-estimates the curvature, so the Newton direction
    stays a descent direction).

    Returns (loss, sum of u over the positive class, minus the sum over the negative
    one, sum of h): the class totals are what the intercept projection balances.
    """
    n = z.shape[0]
    k = row_chunks(n)
    for c in range(k):
        _loss_rows(z, y, sw, weighted, floor, u, h, n * c // k, n * (c + 1) // k, parts[c])
    return (_chunk_sum(parts, k, 0), _chunk_sum(parts, k, 1), _chunk_sum(parts, k, 2),
            _chunk_sum(parts, k, 3))


@njit(**_JIT_PAR)
def loss_and_dual_direction_parallel(z, y, sw, weighted, floor, u, h, parts):
    """:func:`loss_and_dual_direction` with its chunks on Numba's threads (same result)."""
    n = z.shape[0]
    k = row_chunks(n)
    for c in prange(k):
        _loss_rows(z, y, sw, weighted, floor, u, h, n * c // k, n * (c + 1) // k, parts[c])
    return (_chunk_sum(parts, k, 0), _chunk_sum(parts, k, 1), _chunk_sum(parts, k, 2),
            _chunk_sum(parts, k, 3))


# ---------------------------------------------------------------------------------------
# Loss change along a step (the line search)


@njit(**_JIT)
def _change_rows(z, dz, step, y, sw, weighted, lo, hi):
    out = 0.0
    for i in range(lo, hi):
        m = y[i] * z[i]
        d = y[i] * step * dz[i]
        if abs(d) < 1.0:
            c = np.log1p(sigmoid_neg(m) * np.expm1(-d))
        else:
            c = log1pexp_neg(m + d) - log1pexp_neg(m)
        if weighted:
            out += sw[i] * c
        else:
            out += c
    return out


@njit(**_JIT)
def loss_change(z, dz, step, y, sw, weighted, parts):
    """F(z + step dz) - F(z), summed term by term without cancellation.

    f(m + d) - f(m) = log1p(sigma(-m) expm1(-d)) for f(m) = log(1 + exp(-m)), accurate
    to rounding relative to the change itself, so the line search still sees a decrease
    of 1e-15 relative to F near the optimum. Large |d| use the plain difference.
    """
    n = z.shape[0]
    k = row_chunks(n)
    for c in range(k):
        parts[c, 0] = _change_rows(z, dz, step, y, sw, weighted, n * c // k,
                                   n * (c + 1) // k)
    return _chunk_sum(parts, k, 0)


@njit(**_JIT_PAR)
def loss_change_parallel(z, dz, step, y, sw, weighted, parts):
    """:func:`loss_change` with its chunks on Numba's threads (same result)."""
    n = z.shape[0]
    k = row_chunks(n)
    for c in prange(k):
        parts[c, 0] = _change_rows(z, dz, step, y, sw, weighted, n * c // k,
                                   n * (c + 1) // k)
    return _chunk_sum(parts, k, 0)


# ---------------------------------------------------------------------------------------
# Entropy part of the dual value


@njit(**_JIT)
def _entropy_rows(u, t, y, sw, weighted, lo, hi):
    ent = 0.0
    for i in range(lo, hi):
        a = t * y[i] * u[i]  # in [0, s_i]
        if weighted:
            s = sw[i]
            if s > 0.0:
                p = a / s
                if p > 1.0:
                    p = 1.0
                ent += s * entropy(p)
        else:
            p = a if a < 1.0 else 1.0
            ent += entropy(p)
    return ent


@njit(**_JIT)
def entropy_value(u, t, y, sw, weighted, parts):
    """sum_i s_i H(t y_i u_i / s_i): the entropy part of D(t u), two logs per row.

    It depends on u and t only, not on the columns: :func:`fastsparse._logistic_solver._gap`
    reuses it across gaps at the same point with the same t.
    """
    n = u.shape[0]
    k = row_chunks(n)
    for c in range(k):
        parts[c, 0] = _entropy_rows(u, t, y, sw, weighted, n * c // k, n * (c + 1) // k)
    return _chunk_sum(parts, k, 0)


@njit(**_JIT_PAR)
def entropy_value_parallel(u, t, y, sw, weighted, parts):
    """:func:`entropy_value` with its chunks on Numba's threads (same result)."""
    n = u.shape[0]
    k = row_chunks(n)
    for c in prange(k):
        parts[c, 0] = _entropy_rows(u, t, y, sw, weighted, n * c // k, n * (c + 1) // k)
    return _chunk_sum(parts, k, 0)
