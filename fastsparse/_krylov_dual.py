"""Krylov dual points: certificates for nearly interpolating working sets.

Near the end of a Lasso path without intercept (news20-shaped data: 18-19 k non-zeros
for 20 k samples) coordinate descent reaches a relative suboptimality of 1e-8 long
before the duality gap says so. The dual point there is the residual, rescaled until
every constraint |x_j^T theta| <= l1_j holds, and thousands of support constraints sit
exactly on their bound at the optimum: a residual that is 1e-11 suboptimal in the
objective still overshoots a few of them by 1e-5 relative, and the rescaling turns that
into a relative gap of 1e-5. Measured at alpha 95 of the 100-alpha news20 grid without
intercept: after 600 of the 2,760 epochs the path spent there, the objective was within
7.7e-9 of the optimum (relative) while the plain gap was 2.0e-3.

This module corrects the residual instead of waiting for coordinate descent to do it:
with S the current support and s its signs, it solves the sign-fixed optimality system

    (X_S^T W X_S + diag(l2_S)) z = X_S^T W r - l2_S w_S - l1_S s

(X centered when there is an intercept) by conjugate residuals on the system scaled to
unit diagonal, and proposes r - X_S z as a dual direction: the residual of the
sign-fixed Newton point w_S + z, whose support constraints hold with equality. Krylov
methods converge superlinearly on this system once past its smallest eigenvalues (on the
state above: relative gap 3.0e-5, 8.0e-7 and 1.0e-8 after 320, 480 and 640 iterations,
each costing about one pass over the support's columns). The proposal is only a
candidate: its dual value is computed exactly by the caller, with the usual rescaling
over every constraint, and kept only when it beats the residual's. So the certificate
stays a certificate whatever the support, the signs or the accuracy of z.

Opt-in (``solve_enet(..., krylov_dual=True)``): on the whole news20 path without
intercept it cut the epochs 1.3-4.7x from alpha 55 on but cost more time than it
saved (951 s against 808 s over alphas 2-96; docs/benchmarks.md).
"""

import numpy as np
from numba import njit

from ._sparse_ops import (add_columns, add_columns_blocks, dot, xt_dot,
                          xt_dot_blocks_parallel)

_JIT = dict(cache=True, nogil=True, fastmath=False, error_model="numpy")


@njit(**_JIT)
def apply_scaled(data, indices, indptr, cols, xbar, scale, l2c, sw, weighted,
                 fit_intercept, u, out, step, v, sv, bounds, parallel, r_blocks, shifts):
    """out = D (X_c^T W X_c + diag(l2c)) D u over the columns ``cols``, D = diag(scale).

    X_c is X with the columns centered by their weighted means ``xbar`` when
    ``fit_intercept`` (lazily, as in coordinate descent). ``step``, ``v`` and ``sv`` are
    scratch (len(cols), n, n); ``bounds`` splits ``cols`` in blocks for the block-parallel
    scatter and gather (on Numba's threads when ``parallel``; same result either way).
    """
    m = cols.shape[0]
    n = v.shape[0]
    for k in range(m):
        step[k] = scale[k] * u[k]
    for i in range(n):
        v[i] = 0.0
    # add_columns_blocks leaves v + dsh = -X_c step (the residual convention of the
    # solvers: r_raw -= X d, shift += xbar^T d).
    dsh = add_columns_blocks(data, indices, indptr, cols, step, xbar, fit_intercept, v,
                             bounds, parallel, r_blocks, shifts)
    total = 0.0
    for i in range(n):
        val = -(v[i] + dsh)
        if weighted:
            val *= sw[i]
        sv[i] = val
        total += val
    if parallel:
        xt_dot_blocks_parallel(data, indices, indptr, cols, sv, out, bounds)
    else:
        xt_dot(data, indices, indptr, cols, sv, out)
    for k in range(m):
        g = out[k]
        if fit_intercept:
            g -= xbar[k] * total  # (x_j - xbar_j 1)^T W v
        out[k] = scale[k] * (g + l2c[k] * step[k])


@njit(**_JIT)
def conjugate_residuals(data, indices, indptr, cols, xbar, scale, l2c, sw, weighted,
                        fit_intercept, state, scalars, n_steps, restart, bounds,
                        parallel, r_blocks, shifts, scratch_cols, v, sv):
    """``n_steps`` conjugate-residual iterations on the scaled system A u = b.

    ``state`` is a (5, len(cols)) array: the iterate u, its residual b - A u, the search
    direction p, A times the residual and A p, in that order; ``scalars[0]`` holds
    residual^T A residual. With ``restart`` the iteration starts from ``state[0]`` with
    the residual already in ``state[1]`` (the caller sets both). Conjugate residuals
    minimize ||b - A u|| over the Krylov space, like MINRES, with one product per
    iteration. Returns the number of iterations run (fewer when the residual vanishes).
    """
    u, res, p, a_res, a_p = state[0], state[1], state[2], state[3], state[4]
    m = cols.shape[0]
    if restart:
        apply_scaled(data, indices, indptr, cols, xbar, scale, l2c, sw, weighted,
                     fit_intercept, res, a_res, scratch_cols, v, sv, bounds, parallel,
                     r_blocks, shifts)
        for k in range(m):
            p[k] = res[k]
            a_p[k] = a_res[k]
        scalars[0] = dot(res, a_res)
    done = 0
    for _ in range(n_steps):
        ra = scalars[0]
        pp = dot(a_p, a_p)
        if not (ra > 0.0 and pp > 0.0 and np.isfinite(ra) and np.isfinite(pp)):
            break
        step = ra / pp
        for k in range(m):
            u[k] += step * p[k]
            res[k] -= step * a_p[k]
        apply_scaled(data, indices, indptr, cols, xbar, scale, l2c, sw, weighted,
                     fit_intercept, res, a_res, scratch_cols, v, sv, bounds, parallel,
                     r_blocks, shifts)
        ra_new = dot(res, a_res)
        beta = ra_new / ra
        scalars[0] = ra_new
        for k in range(m):
            p[k] = res[k] + beta * p[k]
            a_p[k] = a_res[k] + beta * a_p[k]
        done += 1
    return done


@njit(**_JIT)
def corrected_residual(data, indices, indptr, cols, xbar, scale, u, fit_intercept, r_raw,
                       shift, z, out):
    """out = r - X_c z with z = D u: the residual of the sign-fixed Newton point.

    ``r_raw`` and ``shift`` are the solver's residual (r = r_raw + shift); ``z`` is
    scratch of len(cols) and holds D u on return.
    """
    for k in range(cols.shape[0]):
        z[k] = scale[k] * u[k]
    for i in range(out.shape[0]):
        out[i] = r_raw[i]
    dsh = add_columns(data, indices, indptr, cols, z, xbar, fit_intercept, out)
    total = shift + dsh
    for i in range(out.shape[0]):
        out[i] += total
