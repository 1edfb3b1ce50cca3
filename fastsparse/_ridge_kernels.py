"""Sparse products of the ridge solvers on the raw CSC arrays, on several threads.

Three products with the implicitly centered matrix X_c = X - 1 xbar^T (``center=False``:
X itself), each for a block of k vectors at once:

- :func:`xct_matmat` ``out = X_c^T U`` (p x k): a gather per column;
- :func:`xc_matmat` ``out = X_c V`` (n x k): a scatter of every column into the output;
- :func:`kernel_matmat` ``Q = X_c X_c^T P`` (n x k), and optionally ``U = X_c^T P``,
  in **one** pass over X: column j is read once, its dot product with P gathered and
  immediately scattered back, ``Q += x_j (x_j^T P)``. Two separate products (scipy's,
  or scikit-learn's ``sparse_cg`` on the kernel) read X twice per CG iteration.

Threads and determinism. The columns are split once into ``n_blocks`` contiguous runs
holding about the same number of non-zeros (:func:`column_blocks`); ``n_blocks`` is a
function of the problem only (:func:`n_blocks_for`), never of the number of threads.
A gather is computed per column by one thread, so ``xct_matmat`` is bit-identical
whatever the split. A scatter writes every output row from many columns, so each
block scatters into its own buffer of n x k (block 0 into the output itself) and the
buffers are then added row by row in block order. Every output entry is therefore the
same sum in the same order with 1, 2 or 64 threads: results are bit-identical for any
thread count (the serial functions run the very same blocks one after the other). The
price is the reduction, ``n_blocks * n * k`` additions per product, kept to a few per
cent of the ``nnz * k`` of the product by :func:`n_blocks_for`.

Threads are started only through :func:`fastsparse._parallel.pass_threads`: from the
main thread, for passes of at least ``MIN_PARALLEL_NNZ`` entries; only while the load
average leaves a core idle (:func:`cores_idle`); and, as in :mod:`fastsparse._parallel`,
only while the parallel variant is measured to be faster (a chooser per kind of product
times both and re-probes the loser at geometrically growing intervals). Both variants
give the same bits, so the choice never changes a result. :class:`Products` holds the
block split and the scatter buffers of one matrix (allocated once per fit; X itself is
never copied).

Large-mean columns and constant columns (``kind``, one byte per column, computed once
by :class:`Products` from the column statistics of :func:`column_stats`). Lazy centering
subtracts ``xbar_j sum(u)`` from ``x_j^T u``: for a column with a large mean and a small
spread (Unix timestamps ~1.7e9 within a day) both are huge and their difference is lost,
which left ``cg`` a certified bound of 6.3 and ``dual`` 9e-6 away from scikit-learn. As in
the Lasso kernels (:func:`fastsparse._sparse_ops.is_centered_explicitly`), a column
stored in every row (``KIND_EXPLICIT``) is centered explicitly, entry by entry: exact,
and no slower, since such a column costs O(n) either way. A column whose weighted
centered norm is exactly 0 (constant on the rows of positive weight; ``KIND_ZERO``) is a
zero column of X_c, so it is skipped: its coefficient is exactly 0 at the optimum, and
its rounding noise would otherwise make ``w* = 0`` uncertifiable (the relative bound of
a noise-sized w never closes). ``kind=None`` means every column lazy (``KIND_LAZY``).

Index arithmetic in the hot loops is unsigned: Numba then drops the negative-index
wraparound test of every array access, which made the products 15-25% faster on the
rcv1 shape (on par with scipy's compiled ``csc_matvec`` / ``csr_matvec``).
"""

import os
import time

import numpy as np
from numba import njit, prange

from ._parallel import MAX_PROBE_INTERVAL as _MAX_PROBE_INTERVAL
from ._parallel import PROBE_EVERY as _PROBE_EVERY
from ._parallel import _Chooser, pass_threads, run_chosen
from ._sparse_ops import _column_moments, centered_sqnorm

_JIT = dict(cache=True, nogil=True, fastmath=False, error_model="numpy")
_JIT_PAR = dict(_JIT, parallel=True)

# Unsigned constants for the index arithmetic of the hot loops (see the module docstring).
_ONE = np.uint64(1)
_TWO = np.uint64(2)

#: Column kinds (see the module docstring).
KIND_LAZY = np.uint8(0)
KIND_EXPLICIT = np.uint8(1)
KIND_ZERO = np.uint8(2)

#: Upper bound on the number of column blocks (and so on the threads a product uses).
MAX_BLOCKS = 32
#: A block is added per this many stored entries per output row: the reduction of the
#: scatter buffers then costs at most 1/ENTRIES_PER_ROW_BLOCK of the product itself.
ENTRIES_PER_ROW_BLOCK = 16


def n_blocks_for(n_rows, nnz):
    """Number of column blocks of the products on an n_rows x p matrix with nnz entries.

    ``clip(nnz // (ENTRIES_PER_ROW_BLOCK * n_rows), 1, MAX_BLOCKS)``: a function of the
    problem only, so that results do not depend on the number of threads. On the
    rcv1-shaped preset (74 entries per row) this gives 4 blocks, on the news20-shaped one
    (455 per row) 28.
    """
    if n_rows <= 0:
        return 1
    return int(min(MAX_BLOCKS, max(1, nnz // (ENTRIES_PER_ROW_BLOCK * n_rows))))


@njit(**_JIT)
def column_blocks(indptr, n_blocks):
    """Bounds (n_blocks + 1,) of contiguous column runs with about equal non-zeros.

    Column lengths of text data follow a power law, so equal column counts per block
    would leave one block with most of the work. Each column also counts 1 (an empty
    column still costs its loop overhead).
    """
    p = indptr.shape[0] - 1
    total = np.int64(indptr[p]) - np.int64(indptr[0]) + p
    bounds = np.empty(n_blocks + 1, dtype=np.int64)
    bounds[0] = 0
    b = 1
    acc = np.int64(0)
    for j in range(p):
        if b == n_blocks:
            break
        acc += np.int64(indptr[j + 1]) - np.int64(indptr[j]) + 1
        while b < n_blocks and acc * n_blocks >= b * total:
            bounds[b] = j + 1
            b += 1
    while b <= n_blocks:
        bounds[b] = p
        b += 1
    return bounds


# --------------------------------------------------------------------------------------
# Per-block bodies (shared verbatim by the serial and the parallel drivers)
# --------------------------------------------------------------------------------------


@njit(**_JIT)
def _gather_block(data, indices, indptr, c0, c1, xbar, usum, center, U, out, kinds):
    """out[j] = x_j^T U - xbar_j sum(U) for the columns c0 <= j < c1.

    ``KIND_EXPLICIT`` columns: sum_i (x_ij - xbar_j) U_i; ``KIND_ZERO``: 0.
    """
    k = U.shape[1]
    for j in range(c0, c1):
        kd = kinds[j]
        if kd == KIND_ZERO:
            for t in range(k):
                out[j, t] = 0.0
            continue
        start = np.uint64(indptr[j])
        end = np.uint64(indptr[j + 1])
        lazy = center and kd == KIND_LAZY
        m = xbar[j] if kd == KIND_EXPLICIT else 0.0  # subtracting 0.0 is exact
        if k == 1:
            # Two accumulators let the two gathers overlap (as _sparse_ops.xt_dot).
            a0 = 0.0
            a1 = 0.0
            kk = start
            while kk + _ONE < end:
                a0 += (np.float64(data[kk]) - m) * U[np.uint64(indices[kk]), 0]
                a1 += ((np.float64(data[kk + _ONE]) - m)
                       * U[np.uint64(indices[kk + _ONE]), 0])
                kk += _TWO
            if kk < end:
                a0 += (np.float64(data[kk]) - m) * U[np.uint64(indices[kk]), 0]
            acc = a0 + a1
            out[j, 0] = acc - xbar[j] * usum[0] if lazy else acc
            continue
        for t in range(k):
            out[j, t] = 0.0
        for kk in range(start, end):
            i = np.uint64(indices[kk])
            x = np.float64(data[kk]) - m
            for t in range(k):
                out[j, t] += x * U[i, t]
        if lazy:
            for t in range(k):
                out[j, t] -= xbar[j] * usum[t]


@njit(**_JIT)
def _scatter_block(data, indices, indptr, c0, c1, xbar, center, V, out, xv, kinds):
    """out = X[:, c0:c1] V[c0:c1] (out zeroed first); xv[t] = xbar[c0:c1] . V[c0:c1, t].

    ``KIND_EXPLICIT`` columns scatter (x_ij - xbar_j) V_j and stay out of xv;
    ``KIND_ZERO`` columns are skipped.
    """
    k = V.shape[1]
    out[:, :] = 0.0
    # Summed here and written once: the blocks' rows of xv share cache lines, and a
    # store per column from every thread made them bounce between the cores.
    acc = np.zeros(k)
    for j in range(c0, c1):
        kd = kinds[j]
        if kd == KIND_ZERO:
            continue
        start = np.uint64(indptr[j])
        end = np.uint64(indptr[j + 1])
        lazy = center and kd == KIND_LAZY
        m = xbar[j] if kd == KIND_EXPLICIT else 0.0
        if k == 1:
            vj = V[j, 0]
            if vj != 0.0:
                for kk in range(start, end):
                    out[np.uint64(indices[kk]), 0] += (np.float64(data[kk]) - m) * vj
            if lazy:
                acc[0] += xbar[j] * vj
            continue
        for kk in range(start, end):
            i = np.uint64(indices[kk])
            x = np.float64(data[kk]) - m
            for t in range(k):
                out[i, t] += x * V[j, t]
        if lazy:
            for t in range(k):
                acc[t] += xbar[j] * V[j, t]
    for t in range(k):
        xv[t] = acc[t]


@njit(**_JIT)
def _kernel_block(data, indices, indptr, c0, c1, xbar, psum, center, P, out, U, want_u,
                  xu, kinds):
    """Fused gather-scatter over the columns c0 <= j < c1.

    u_j = x_j^T P - xbar_j sum(P) (written to U[j] if want_u); out += x_j u_j (out zeroed
    first); xu[t] = sum_j xbar_j u_j[t]. ``KIND_EXPLICIT`` columns use x_ij - xbar_j
    for x_ij and stay out of xu; ``KIND_ZERO`` columns give u_j = 0.
    """
    k = P.shape[1]
    out[:, :] = 0.0
    # xu is summed in a local and written once (see _scatter_block): a store to the
    # shared xu per column made the parallel product 1.6x slower on the rcv1 shape.
    if k == 1:
        xu0 = 0.0
        for j in range(c0, c1):
            kd = kinds[j]
            if kd == KIND_ZERO:
                if want_u:
                    U[j, 0] = 0.0
                continue
            start = np.uint64(indptr[j])
            end = np.uint64(indptr[j + 1])
            m = xbar[j] if kd == KIND_EXPLICIT else 0.0  # subtracting 0.0 is exact
            a0 = 0.0
            a1 = 0.0
            kk = start
            while kk + _ONE < end:
                a0 += (np.float64(data[kk]) - m) * P[np.uint64(indices[kk]), 0]
                a1 += ((np.float64(data[kk + _ONE]) - m)
                       * P[np.uint64(indices[kk + _ONE]), 0])
                kk += _TWO
            if kk < end:
                a0 += (np.float64(data[kk]) - m) * P[np.uint64(indices[kk]), 0]
            uj = a0 + a1
            if center and kd == KIND_LAZY:
                uj -= xbar[j] * psum[0]
                xu0 += xbar[j] * uj
            if want_u:
                U[j, 0] = uj
            if uj != 0.0:
                for kk in range(start, end):
                    out[np.uint64(indices[kk]), 0] += (np.float64(data[kk]) - m) * uj
        xu[0] = xu0
        return
    acc = np.zeros(k)
    uj = np.empty(k)
    for j in range(c0, c1):
        kd = kinds[j]
        if kd == KIND_ZERO:
            if want_u:
                for t in range(k):
                    U[j, t] = 0.0
            continue
        start = np.uint64(indptr[j])
        end = np.uint64(indptr[j + 1])
        lazy = center and kd == KIND_LAZY
        m = xbar[j] if kd == KIND_EXPLICIT else 0.0
        for t in range(k):
            uj[t] = 0.0
        for kk in range(start, end):
            i = np.uint64(indices[kk])
            x = np.float64(data[kk]) - m
            for t in range(k):
                uj[t] += x * P[i, t]
        for t in range(k):
            if lazy:
                uj[t] -= xbar[j] * psum[t]
                acc[t] += xbar[j] * uj[t]
            if want_u:
                U[j, t] = uj[t]
        for kk in range(start, end):
            i = np.uint64(indices[kk])
            x = np.float64(data[kk]) - m
            for t in range(k):
                out[i, t] += x * uj[t]
    for t in range(k):
        xu[t] = acc[t]


@njit(**_JIT)
def _column_sums(A):
    """sum_i A[i, t], in row order (deterministic)."""
    k = A.shape[1]
    s = np.zeros(k)
    for i in range(A.shape[0]):
        for t in range(k):
            s[t] += A[i, t]
    return s


@njit(**_JIT)
def _shift_total(xs, center):
    """sum_b xs[b, t] in block order (0 without centering)."""
    k = xs.shape[1]
    tot = np.zeros(k)
    if center:
        for b in range(xs.shape[0]):
            for t in range(k):
                tot[t] += xs[b, t]
    return tot


@njit(**_JIT)
def _reduce_rows(r0, r1, out, bufs, n_bufs, tot):
    """out[i] = (out[i] + bufs[0][i] + ... + bufs[n_bufs - 1][i]) - tot for r0 <= i < r1."""
    k = out.shape[1]
    for i in range(r0, r1):
        for t in range(k):
            acc = out[i, t]
            for b in range(n_bufs):
                acc += bufs[b, i, t]
            out[i, t] = acc - tot[t]


@njit(**_JIT)
def _stats_block(data, indices, indptr, c0, c1, n_rows, sw, weighted, fit_intercept, xbar,
                 sqnorm, kinds):
    """Weighted means, centered squared norms and kinds of the columns c0 <= j < c1."""
    for j in range(c0, c1):
        a, b = _column_moments(data, indices, indptr, j, sw, weighted)
        xbar[j] = a / n_rows if fit_intercept else 0.0  # the weights sum to n_rows
        sq = centered_sqnorm(data, indices, indptr, j, sw, weighted, n_rows, n_rows, a, b,
                             fit_intercept)
        sqnorm[j] = sq
        if sq == 0.0:
            kinds[j] = KIND_ZERO
        elif fit_intercept and np.int64(indptr[j + 1]) - np.int64(indptr[j]) == n_rows:
            kinds[j] = KIND_EXPLICIT
        else:
            kinds[j] = KIND_LAZY


@njit(**_JIT)
def column_stats(data, indices, indptr, bounds, n_rows, sw, weighted, fit_intercept, xbar,
                 sqnorm, kinds):
    """Per column: weighted mean (0 without intercept), weighted centered squared norm
    (exactly 0 for a constant column, :func:`fastsparse._sparse_ops.centered_sqnorm`)
    and kind (``KIND_ZERO`` if that norm is 0, ``KIND_EXPLICIT`` if stored in every row
    with an intercept, else ``KIND_LAZY``). One pass over X; serial."""
    for b in range(bounds.shape[0] - 1):
        _stats_block(data, indices, indptr, bounds[b], bounds[b + 1], n_rows, sw, weighted,
                     fit_intercept, xbar, sqnorm, kinds)


@njit(**_JIT_PAR)
def column_stats_parallel(data, indices, indptr, bounds, n_rows, sw, weighted,
                          fit_intercept, xbar, sqnorm, kinds):
    """:func:`column_stats` with the blocks on Numba's threads (bit-identical)."""
    for b in prange(bounds.shape[0] - 1):
        _stats_block(data, indices, indptr, bounds[b], bounds[b + 1], n_rows, sw, weighted,
                     fit_intercept, xbar, sqnorm, kinds)


#: Rows per task of the parallel reduction.
_REDUCE_CHUNK = 4096


# --------------------------------------------------------------------------------------
# Drivers: serial and parallel run the same blocks, so their results are bit-identical
# --------------------------------------------------------------------------------------


@njit(**_JIT)
def xct_matmat(data, indices, indptr, bounds, xbar, center, U, out, kind=None):
    """out (p, k) = X_c^T U for U of shape (n, k); serial.

    ``kind``: column kinds (uint8, shape (p,); see the module docstring), None = lazy.
    """
    kinds = np.zeros(indptr.shape[0] - 1, np.uint8) if kind is None else kind
    usum = _column_sums(U) if center else np.zeros(U.shape[1])
    for b in range(bounds.shape[0] - 1):
        _gather_block(data, indices, indptr, bounds[b], bounds[b + 1], xbar, usum, center,
                      U, out, kinds)


@njit(**_JIT_PAR)
def xct_matmat_parallel(data, indices, indptr, bounds, xbar, center, U, out, kind=None):
    """:func:`xct_matmat` with the blocks run on Numba's threads (bit-identical)."""
    kinds = np.zeros(indptr.shape[0] - 1, np.uint8) if kind is None else kind
    usum = _column_sums(U) if center else np.zeros(U.shape[1])
    for b in prange(bounds.shape[0] - 1):
        _gather_block(data, indices, indptr, bounds[b], bounds[b + 1], xbar, usum, center,
                      U, out, kinds)


@njit(**_JIT)
def xc_matmat(data, indices, indptr, bounds, xbar, center, V, out, bufs, kind=None):
    """out (n, k) = X_c V for V of shape (p, k); serial.

    ``bufs``: workspace of shape (n_blocks - 1, n, k) (block b > 0 scatters into
    bufs[b - 1]). ``kind`` as in :func:`xct_matmat`.
    """
    kinds = np.zeros(indptr.shape[0] - 1, np.uint8) if kind is None else kind
    nb = bounds.shape[0] - 1
    xv = np.zeros((nb, V.shape[1]))
    for b in range(nb):
        dst = out if b == 0 else bufs[b - 1]
        _scatter_block(data, indices, indptr, bounds[b], bounds[b + 1], xbar, center, V,
                       dst, xv[b], kinds)
    _reduce_rows(0, out.shape[0], out, bufs, nb - 1, _shift_total(xv, center))


@njit(**_JIT_PAR)
def xc_matmat_parallel(data, indices, indptr, bounds, xbar, center, V, out, bufs,
                       kind=None):
    """:func:`xc_matmat` with the blocks and the reduction on Numba's threads."""
    kinds = np.zeros(indptr.shape[0] - 1, np.uint8) if kind is None else kind
    nb = bounds.shape[0] - 1
    xv = np.zeros((nb, V.shape[1]))
    for b in prange(nb):
        dst = out if b == 0 else bufs[b - 1]
        _scatter_block(data, indices, indptr, bounds[b], bounds[b + 1], xbar, center, V,
                       dst, xv[b], kinds)
    tot = _shift_total(xv, center)
    n = out.shape[0]
    n_chunks = (n + _REDUCE_CHUNK - 1) // _REDUCE_CHUNK
    for c in prange(n_chunks):
        _reduce_rows(c * _REDUCE_CHUNK, min(n, (c + 1) * _REDUCE_CHUNK), out, bufs, nb - 1,
                     tot)


@njit(**_JIT)
def kernel_matmat(data, indices, indptr, bounds, xbar, center, P, Q, U, want_u, bufs,
                  kind=None):
    """Q (n, k) = X_c X_c^T P in one pass over X; U (p, k) = X_c^T P if ``want_u``.

    ``U`` is not touched without ``want_u`` (pass any (1, k) array); ``bufs`` as in
    :func:`xc_matmat`, ``kind`` as in :func:`xct_matmat`. Serial.
    """
    kinds = np.zeros(indptr.shape[0] - 1, np.uint8) if kind is None else kind
    nb = bounds.shape[0] - 1
    k = P.shape[1]
    psum = _column_sums(P) if center else np.zeros(k)
    xu = np.zeros((nb, k))
    for b in range(nb):
        dst = Q if b == 0 else bufs[b - 1]
        _kernel_block(data, indices, indptr, bounds[b], bounds[b + 1], xbar, psum, center,
                      P, dst, U, want_u, xu[b], kinds)
    _reduce_rows(0, Q.shape[0], Q, bufs, nb - 1, _shift_total(xu, center))


@njit(**_JIT_PAR)
def kernel_matmat_parallel(data, indices, indptr, bounds, xbar, center, P, Q, U, want_u,
                           bufs, kind=None):
    """:func:`kernel_matmat` with the blocks and the reduction on Numba's threads."""
    kinds = np.zeros(indptr.shape[0] - 1, np.uint8) if kind is None else kind
    nb = bounds.shape[0] - 1
    k = P.shape[1]
    psum = _column_sums(P) if center else np.zeros(k)
    xu = np.zeros((nb, k))
    for b in prange(nb):
        dst = Q if b == 0 else bufs[b - 1]
        _kernel_block(data, indices, indptr, bounds[b], bounds[b + 1], xbar, psum, center,
                      P, dst, U, want_u, xu[b], kinds)
    tot = _shift_total(xu, center)
    n = Q.shape[0]
    n_chunks = (n + _REDUCE_CHUNK - 1) // _REDUCE_CHUNK
    for c in prange(n_chunks):
        _reduce_rows(c * _REDUCE_CHUNK, min(n, (c + 1) * _REDUCE_CHUNK), Q, bufs, nb - 1,
                     tot)


# --------------------------------------------------------------------------------------
# Vector updates of the conjugate-residual iteration (fastsparse._ridge_solvers)
# --------------------------------------------------------------------------------------
# One pass over a target's iteration vectors (n entries each) instead of the ~20 NumPy
# operations they took: those cost 0.15 ms per iteration on the rcv1 shape, 13% of a
# fit whose product takes 1 ms on two threads. One target (one column) per call: with
# a loop over the k targets inside, Numba's code was 3x slower than NumPy for k = 1.
# Reassociation lets LLVM vectorize the two sums of each pass (18 -> 8 us per pass on
# the rcv1 shape): the sums are then taken in SIMD-width partial sums, like NumPy's, so
# their last bits depend on the CPU, not on the thread count (these passes are serial).
_JIT_SUMS = dict(_JIT, fastmath={"reassoc"})


@njit(**_JIT_SUMS)
def cr_advance(step, a, P, AP, C, Rho, KC):
    """C += step P, Rho -= step AP, KC += step (AP - a P), in place (one target).

    Returns ``(C^T KC, Rho^T Rho)`` of the updated vectors.
    """
    ww = 0.0
    rr = 0.0
    for i in range(P.shape[0]):
        p = P[i]
        ap = AP[i]
        c = C[i] + step * p
        rho = Rho[i] - step * ap
        kc = KC[i] + step * (ap - a * p)
        C[i] = c
        Rho[i] = rho
        KC[i] = kc
        ww += c * kc
        rr += rho * rho
    return ww, rr


@njit(**_JIT_SUMS)
def cr_new_direction(a, Rho, ARho, P, AP, rAr, restart):
    """ARho += a Rho, then P = beta P + Rho and AP = beta AP + ARho, in place.

    beta = (Rho^T ARho) / rAr, or 0 on ``restart`` or when rAr <= 0. Returns
    ``(Rho^T ARho, AP^T AP)`` for the next iteration.
    """
    n = Rho.shape[0]
    rar = 0.0
    for i in range(n):
        v = ARho[i] + a * Rho[i]
        ARho[i] = v
        rar += Rho[i] * v
    beta = rar / rAr if (rAr > 0 and not restart) else 0.0
    pp = 0.0
    for i in range(n):
        P[i] = beta * P[i] + Rho[i]
        ap = beta * AP[i] + ARho[i]
        AP[i] = ap
        pp += ap * ap
    return rar, pp


# --------------------------------------------------------------------------------------
# Python entry points: serial or parallel, by the project's threading policy
# --------------------------------------------------------------------------------------

#: Threads are tried only while other processes leave this machine about two idle
#: cores: at most ``cpus - 2 + LOAD_MARGIN`` tasks of other processes in the run queue
#: (:func:`cores_idle`). On the shared 2-core machine with two other jobs running, one
#: parallel pass of the rcv1-shaped kernel took a median 20 ms against 2 ms serial (its
#: second thread waits for a time slice), and the probes of the chooser made a fit 4x
#: slower than on one thread; on the idle machine the parallel pass took 1.1 ms.
LOAD_MARGIN = 0.5
# The serial / parallel chooser is fastsparse._parallel's (re-exported for the tests):
# the same policy decides the Lasso's full passes and these products.
PROBE_EVERY = _PROBE_EVERY
MAX_PROBE_EVERY = _MAX_PROBE_INTERVAL


def _others_running():
    """Tasks of other processes in the run queue right now (None if unknown).

    Linux: the running count of ``/proc/loadavg`` minus this process's threads in state
    R. A snapshot, not the 1-minute load average: the average lags by minutes and counts
    this process's own recent work (and the previous fits of a benchmark) as load.
    CPU-bound jobs, the ones that stall a parallel pass, are nearly always runnable.
    """
    try:
        with open("/proc/loadavg") as f:
            running = int(f.read().split()[3].split("/")[0])
        own = 0
        for tid in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{tid}/stat") as f:
                own += f.read().rsplit(")", 1)[1].split()[0] == "R"
    except (OSError, ValueError, IndexError):
        return None
    return max(running - own, 0)


#: Waits (seconds) between the snapshots of the run queue taken before concluding that
#: the cores are busy. One snapshot is not enough: a supervisor's or a kernel thread
#: woken for a moment, or this process's own worker threads still spinning after the
#: previous parallel pass, made one fit in four of an idle benchmark loop run serial,
#: 1.5x slower. A CPU-bound job of another process is runnable in every snapshot; the
#: waits (2 ms in all) are spent only when the first snapshot sees other tasks.
IDLE_RECHECK_WAITS = (2e-4, 6e-4, 1.2e-3)


def cores_idle():
    """Whether other processes leave about two idle cores (see LOAD_MARGIN)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    for wait in (0.0, *IDLE_RECHECK_WAITS):
        if wait:
            time.sleep(wait)
        others = _others_running()
        if others is None:  # no run-queue information (not Linux): let the chooser decide
            return True
        if others <= cpus - 2 + LOAD_MARGIN:
            return True
    return False


#: One chooser per kind of product, for the whole process; results are bit-identical
#: either way, only the time differs.
_CHOOSERS = {"xct": _Chooser(), "xc": _Chooser(), "kernel": _Chooser(),
             "stats": _Chooser()}
#: Array types (of data, indices, indptr) whose two variants are compiled (see _prime).
_PRIMED = set()


def _run(kind, threads, nnz, serial, parallel, *args):
    """Run ``serial(*args)`` or, if ``threads > 1`` and it is faster, ``parallel``."""
    run_chosen(_CHOOSERS[kind], threads, nnz, serial, parallel, *args)


class Products:
    """The three products of one CSC matrix, with their block split and workspace.

    Parameters
    ----------
    X : scipy.sparse CSC matrix (validated: canonical, float32/float64 data)
    xbar : ndarray of shape (p,)
        Column means subtracted by the centered products (ignored if not ``center``).
    center : bool
        Products with X_c = X - 1 xbar^T (True) or with X (False).
    n_blocks : int, default=None
        Column blocks; None: :func:`n_blocks_for` (tests force small problems to split).
    kind : ndarray of uint8 of shape (p,), default=None
        Column kinds (module docstring); None: every column lazily centered. Usually
        set by :meth:`set_centering` from :meth:`column_stats`.
    """

    def __init__(self, X, xbar, center, n_blocks=None, kind=None):
        self.data, self.indices, self.indptr = X.data, X.indices, X.indptr
        self.n, self.p = X.shape
        self.nnz = int(X.nnz)
        self.xbar = np.ascontiguousarray(xbar, dtype=np.float64)
        self.center = bool(center)
        self.kind = (np.zeros(self.p, dtype=np.uint8) if kind is None
                     else np.ascontiguousarray(kind, dtype=np.uint8))
        nb = n_blocks_for(self.n, self.nnz) if n_blocks is None else int(n_blocks)
        self.bounds = column_blocks(self.indptr, max(1, min(nb, max(self.p, 1))))
        self._bufs = {}
        # Threads for this fit: the project's policy (main thread, large passes) and a
        # core left idle by the other processes (see LOAD_MARGIN).
        self.threads = pass_threads(self.nnz)
        if self.threads > 1 and not cores_idle():
            self.threads = 1
        if self.threads > 1:
            self._prime()

    def _prime(self):
        """Compile (or load) both variants of every product for X's array types now.

        The serial/parallel choice is made at run time, so a variant may first be needed
        in the middle of a later fit (e.g. a probe of :class:`_Chooser`); compiling it
        there would show as a pause and as memory in that fit. Done once per process
        and array types; each call runs on an empty block range.
        """
        key = tuple((a.dtype.str, a.flags.writeable, a.flags.c_contiguous)
                    for a in (self.data, self.indices, self.indptr))
        if key in _PRIMED:
            return
        _PRIMED.add(key)
        none = np.zeros(2, dtype=np.int64)  # one block holding no column
        args = (self.data, self.indices, self.indptr, none, self.xbar, self.center)
        vec, empty = np.zeros((1, 1)), np.empty((0, 1))
        bufs = np.empty((0, 0, 1))
        for fn in (xct_matmat, xct_matmat_parallel):
            fn(*args, vec, empty, self.kind)
        for fn in (xc_matmat, xc_matmat_parallel):
            fn(*args, vec, empty, bufs, self.kind)
        for fn in (kernel_matmat, kernel_matmat_parallel):
            fn(*args, vec, empty, vec, False, bufs, self.kind)
        for weighted in (False, True):
            for fn in (column_stats, column_stats_parallel):
                fn(self.data, self.indices, self.indptr, none, 1, np.ones(1), weighted,
                   True, np.empty(0), np.empty(0), np.empty(0, dtype=np.uint8))

    def column_stats(self, sw, fit_intercept):
        """(xbar, sqnorm, kind) of every column in one (threaded) pass: weighted means
        (0 without intercept; ``sw`` None or weights summing to n), weighted centered
        squared norms and kinds (see :func:`column_stats`)."""
        weighted = sw is not None
        sw_arr = np.ascontiguousarray(sw, dtype=np.float64) if weighted else np.ones(1)
        xbar, sqnorm = np.empty(self.p), np.empty(self.p)
        kind = np.empty(self.p, dtype=np.uint8)
        _run("stats", self.threads, self.nnz, column_stats, column_stats_parallel,
             self.data, self.indices, self.indptr, self.bounds, self.n, sw_arr, weighted,
             bool(fit_intercept), xbar, sqnorm, kind)
        return xbar, sqnorm, kind

    def set_centering(self, xbar, kind, center=True):
        """Products with X_c = X - 1 xbar^T from now on, with the column kinds ``kind``."""
        self.xbar = np.ascontiguousarray(xbar, dtype=np.float64)
        self.kind = np.ascontiguousarray(kind, dtype=np.uint8)
        self.center = bool(center)

    def _buffers(self, k):
        """Scatter buffers of shape (n_blocks - 1, n, k), allocated once per k."""
        bufs = self._bufs.get(k)
        if bufs is None:
            bufs = np.empty((self.bounds.shape[0] - 2, self.n, k))
            self._bufs = {k: bufs}  # keep one size only: k rarely changes in a fit
        return bufs

    def xct(self, U):
        """X_c^T U, shape (p, k), for U of shape (n, k)."""
        U = np.ascontiguousarray(U, dtype=np.float64)
        out = np.empty((self.p, U.shape[1]))
        _run("xct", self.threads, self.nnz, xct_matmat, xct_matmat_parallel, self.data,
             self.indices, self.indptr, self.bounds, self.xbar, self.center, U, out,
             self.kind)
        return out

    def xc(self, V):
        """X_c V, shape (n, k), for V of shape (p, k)."""
        V = np.ascontiguousarray(V, dtype=np.float64)
        out = np.empty((self.n, V.shape[1]))
        _run("xc", self.threads, self.nnz, xc_matmat, xc_matmat_parallel, self.data,
             self.indices, self.indptr, self.bounds, self.xbar, self.center, V, out,
             self._buffers(V.shape[1]), self.kind)
        return out

    def kernel(self, P, want_u=False):
        """(X_c X_c^T P, X_c^T P or None) in one pass over X, for P of shape (n, k)."""
        P = np.ascontiguousarray(P, dtype=np.float64)
        k = P.shape[1]
        Q = np.empty((self.n, k))
        U = np.empty((self.p, k)) if want_u else np.empty((1, k))
        _run("kernel", self.threads, self.nnz, kernel_matmat, kernel_matmat_parallel,
             self.data, self.indices, self.indptr, self.bounds, self.xbar, self.center, P,
             Q, U, bool(want_u), self._buffers(k), self.kind)
        return Q, (U if want_u else None)
