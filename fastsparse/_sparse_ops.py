"""Jitted building blocks on the raw CSC arrays (``data``, ``indices``, ``indptr``).

Column statistics, products of columns with a vector, residual updates and index
selection: the pieces every solver (least squares, logistic, ridge) shares. Inputs are
validated by ``fastsparse._validation`` before they get here; nothing is checked again
(Numba does no bounds checking).

Column loops run over ``range(np.int64(indptr[j]), np.int64(indptr[j + 1]))``: with int32
index arrays a plain ``range(indptr[j], indptr[j + 1])`` makes Numba generate a loop about
3x slower (measured on the rcv1-shaped preset: X^T v 6.2 ms vs 1.9 ms). The hottest loops,
the gathers and scatters of coordinate descent (:func:`column_dot`, :func:`column_axpy`),
go further and index with unsigned integers, which removes Numba's negative-index
wraparound test from every access.
"""

import numba
import numpy as np
from numba import njit, prange

_JIT = dict(cache=True, nogil=True, fastmath=False, error_model="numpy")
# Small per-column helpers taking arrays are inlined in Numba's IR: as separate functions
# each call increments and decrements the reference counts of its array arguments
# (atomic operations), which made the column-norm pass 3.5x slower than the same loop
# written inline (rcv1 preset: 5.0 ms vs 1.4 ms).
_JIT_INLINE = dict(_JIT, inline="always")
_JIT_PAR = dict(_JIT, parallel=True)


_U1 = np.uint64(1)
_U2 = np.uint64(2)


@njit(**_JIT_INLINE)
def column_dot(data, indices, start, end, v):
    """sum_k data[k] v[indices[k]] over the entries start..end of one column.

    The gather of every coordinate update. Indices are cast to unsigned so that Numba
    drops its negative-index wraparound test, and two accumulators let consecutive
    gathers overlap. With :func:`column_axpy` for the scatter, one coordinate-descent
    epoch over the 35 k most frequent columns of the news20-shaped preset took 12.2-12.5
    ms against 17.2-17.9 ms for the plain signed loops (rcv1-shaped, 20 k columns: 1.6-1.8
    against 2.2 ms). The summation order is fixed, so the result is deterministic.
    """
    k = np.uint64(start)
    stop = np.uint64(end)
    a0 = 0.0
    a1 = 0.0
    while k + _U1 < stop:
        a0 += data[k] * v[np.uint64(indices[k])]
        a1 += data[k + _U1] * v[np.uint64(indices[k + _U1])]
        k += _U2
    if k < stop:
        a0 += data[k] * v[np.uint64(indices[k])]
    return a0 + a1


@njit(**_JIT_INLINE)
def column_axpy(data, indices, start, end, a, v):
    """v[indices[k]] += a * data[k] over the entries start..end of one column.

    The scatter of every coordinate update, with unsigned indices (see
    :func:`column_dot`).
    """
    for k in range(np.uint64(start), np.uint64(end)):
        v[np.uint64(indices[k])] += a * data[k]


@njit(**_JIT_INLINE)
def column_axpy_scaled(data, indices, start, end, a, h, v):
    """v[i] += a * h[i] * data[k], i = indices[k], over the entries start..end of one
    column: the scatter of the logistic model's updates (h the Hessian weights), with
    unsigned indices (see :func:`column_dot`).
    """
    for k in range(np.uint64(start), np.uint64(end)):
        i = np.uint64(indices[k])
        v[i] += a * h[i] * data[k]


@njit(**_JIT_INLINE)
def _column_moments(data, indices, indptr, j, sw, weighted):
    """sum_i s_i x_ij and sum_i s_i x_ij^2 of column j."""
    a = 0.0
    b = 0.0
    for k in range(np.int64(indptr[j]), np.int64(indptr[j + 1])):
        x = np.float64(data[k])
        if weighted:
            sx = sw[indices[k]] * x
            a += sx
            b += sx * x
        else:
            a += x
            b += x * x
    return a, b


@njit(**_JIT_INLINE)
def centered_sqnorm(data, indices, indptr, j, sw, weighted, n_rows, total, a, b,
                    fit_intercept):
    """sum_i s_i (x_ij - xbar_j)^2 (or b = sum s x^2 without intercept); 0 if constant.

    ``a`` and ``b`` are sum_i s_i x_ij and sum_i s_i x_ij^2 (:func:`_column_moments`),
    ``total`` the sum of the weights over all ``n_rows`` rows (n_rows itself when
    unweighted) and xbar_j = a / total. With an intercept the norm is b - a^2/T
    when a^2/T <= b/2 (at most one bit cancels), and otherwise computed by a second
    pass around the mean: there b - a^2/T cancels catastrophically for a column with a large mean and a small
    spread (Unix timestamps within an hour: spread/mean ~1e-6), which would then look
    constant and be dropped from the fit and from the certificate. The rows not stored
    contribute (weight of those rows) * xbar^2. On a truly constant column the result
    is the rounding of the mean, about (nnz eps)^2 b, and is returned as exactly 0.
    """
    if not fit_intercept:
        return b
    mean_part = a * (a / total)
    if mean_part <= 0.5 * b:
        # No cancellation to fear: b - a^2/T >= b/2, so its rounding error (a few ulps
        # of b) is a few ulps of the result. This is the case for almost every column
        # of sparse data (density below about a half) and saves the second pass.
        return b - mean_part
    start = np.int64(indptr[j])
    end = np.int64(indptr[j + 1])
    m = a / total
    c = 0.0
    stored_weight = 0.0
    for k in range(start, end):
        d = np.float64(data[k]) - m
        if weighted:
            s = sw[indices[k]]
            c += s * d * d
            stored_weight += s
        else:
            c += d * d
    nnz = end - start
    if nnz < n_rows:
        # Every row is stored when nnz == n_rows: no rounding of n - W then.
        unstored = total - (stored_weight if weighted else np.float64(nnz))
        c += max(unstored, 0.0) * m * m
    noise = 4.0 * 2.220446049250313e-16 * (nnz + 1)
    return c if c > noise * noise * b else 0.0


@njit(**_JIT)
def column_stats(data, indices, indptr, cols, n_rows, sw, weighted, fit_intercept):
    """Weighted means xbar_j and centered squared norms L_j of the columns in ``cols``.

    Returned aligned with cols (float64). Computed for the working set at each outer
    iteration (O(nnz of the working set)) rather than stored for every feature.
    """
    m = cols.shape[0]
    xbar = np.zeros(m)
    sqnorm = np.zeros(m)
    for k in range(m):
        j = cols[k]
        a, b = _column_moments(data, indices, indptr, j, sw, weighted)
        if fit_intercept:
            xbar[k] = a / n_rows  # the weights sum to n_rows
        sqnorm[k] = centered_sqnorm(data, indices, indptr, j, sw, weighted, n_rows,
                                    n_rows, a, b, fit_intercept)
    return xbar, sqnorm



@njit(**_JIT)
def common_mode_weight(data, indices, indptr, cols, sw, weighted, n_rows):
    """sum_j cos^2(x_j, 1) over the columns in ``cols`` (weighted inner product).

    The Rayleigh quotient, along the direction the constant vector induces, of the Gram
    matrix of those columns scaled to unit diagonal: a lower bound of its largest
    eigenvalue. Large (tens) for the uncentered non-negative columns of text or count
    data, whose shared mean makes every pair of columns correlated; 0 for centered ones.
    """
    total = 0.0
    for k in range(cols.shape[0]):
        a, b = _column_moments(data, indices, indptr, cols[k], sw, weighted)
        if b > 0.0:
            total += (a / n_rows) * (a / b)
    return total

_TINY_F32 = np.float32(1.4e-45)  # smallest positive float32: never round a norm to 0


@njit(**_JIT_INLINE)
def _sqnorm_f32(data, indices, indptr, j, n_rows, sw, weighted, fit_intercept):
    """Centered squared norm of column j as a float32 rounded up (0 stays 0)."""
    a, b = _column_moments(data, indices, indptr, j, sw, weighted)
    c = centered_sqnorm(data, indices, indptr, j, sw, weighted, n_rows, n_rows, a, b,
                        fit_intercept)
    if c > 0.0:
        f = np.float32(c * (1.0 + 2.0 ** -20))  # > c despite float32 rounding
        return max(f, _TINY_F32)
    return np.float32(0.0)


@njit(**_JIT)
def column_sqnorms_f32(data, indices, indptr, n_rows, sw, weighted, fit_intercept):
    """Centered squared norms of every column as float32, rounded up.

    Used by Gap Safe screening and working-set scores only, where an overestimate is
    safe (a larger sphere test radius discards less). Float32 halves the memory of the
    one array every feature needs besides the coefficients.
    """
    p = indptr.shape[0] - 1
    out = np.zeros(p, dtype=np.float32)
    for j in range(p):
        out[j] = _sqnorm_f32(data, indices, indptr, j, n_rows, sw, weighted, fit_intercept)
    return out


def column_sqnorms_f32_parallel(data, indices, indptr, n_rows, sw, weighted, fit_intercept,
                                n_chunks):
    """:func:`column_sqnorms_f32` on several threads (same result, bit for bit).

    The columns are cut into ``n_chunks`` runs of equal length handed out to the threads
    one at a time (dynamic scheduling, see :func:`xt_dot_parallel`).
    """
    # The output is allocated here, not in the parallel function: there np.zeros is
    # itself a parallel loop, which under chunk size 1 was scheduled element by element
    # (14x slower than the serial pass and 284 MiB of scheduler state on the finance
    # preset).
    out = np.empty(indptr.shape[0] - 1, dtype=np.float32)
    with numba.parallel_chunksize(1):
        _column_sqnorms_f32_chunks(data, indices, indptr, n_rows, sw, weighted,
                                   fit_intercept, n_chunks, out)
    return out


@njit(cache=True, nogil=True, fastmath=False, error_model="numpy", parallel=True)
def _column_sqnorms_f32_chunks(data, indices, indptr, n_rows, sw, weighted, fit_intercept,
                               n_chunks, out):
    # Each chunk runs the serial kernel on a slice of indptr (whose entries are still
    # absolute offsets into data). The body has no array expression: any would become
    # a nested parallel loop.
    p = indptr.shape[0] - 1
    for c in prange(n_chunks):
        lo = (p * c) // n_chunks
        hi = (p * (c + 1)) // n_chunks
        if hi > lo:
            chunk = column_sqnorms_f32(data, indices, indptr[lo:hi + 1], n_rows, sw,
                                       weighted, fit_intercept)
            for j in range(hi - lo):
                out[lo + j] = chunk[j]


@njit(**_JIT_INLINE)
def copy_into(dst, src):
    """dst[i] = src[i] for every i, in a plain loop (same length).

    Used instead of ``dst[:] = src`` in jitted code: Numba's slice assignment from an
    array checks the shapes and formats its error message, and compiling that string
    machinery cost 1.4 s of the first run's compilation (a 12 s cold start).
    """
    for i in range(dst.shape[0]):
        dst[i] = src[i]


@njit(**_JIT)
def dot(a, b):
    """sum_i a_i b_i in a plain loop.

    Used instead of ``a @ b`` in the solver's loop: a BLAS dot on a long vector may wake
    OpenBLAS's thread pool, whose spinning threads then compete with the solver for the
    cores (measured: 3x the CPU time of a whole rcv1 fit on 2 cores; 6.8 ms per alpha
    for the deviance of an rcv1 path on a loaded machine, against 0.02 ms here).
    """
    acc = 0.0
    for i in range(a.shape[0]):
        acc += a[i] * b[i]
    return acc


@njit(**_JIT)
def xt_dot(data, indices, indptr, cols, v, out):
    """out[k] = x_j^T v for j = cols[k]: the gradient pass over a set of columns.

    Two accumulators per column let the two gathers overlap (15% faster on the
    news20-shaped preset, where columns are short); the sum order is fixed, so results
    are deterministic. :func:`xt_dot_parallel` runs this function on chunks of cols.

    The loop of :func:`column_dot` is written out here (same operations, same order):
    Numba increments and decrements the reference counts of the arrays passed to an
    inlined function, six atomic operations per column, which made the pass over the
    47 k columns of the rcv1-shaped preset 1.9 ms instead of 1.1 ms.
    """
    for k in range(cols.shape[0]):
        j = cols[k]
        kk = np.uint64(indptr[j])
        stop = np.uint64(indptr[j + 1])
        a0 = 0.0
        a1 = 0.0
        while kk + _U1 < stop:
            a0 += data[kk] * v[np.uint64(indices[kk])]
            a1 += data[kk + _U1] * v[np.uint64(indices[kk + _U1])]
            kk += _U2
        if kk < stop:
            a0 += data[kk] * v[np.uint64(indices[kk])]
        out[k] = a0 + a1


def xt_dot_parallel(data, indices, indptr, cols, v, out, n_chunks):
    """:func:`xt_dot` with the columns cut into chunks computed by several threads.

    Each chunk is a run of equal length of ``cols`` computed by :func:`xt_dot` itself,
    so the result is bit-identical to it for any number of threads or chunks. The
    chunks are handed out one at a time (dynamic scheduling, chunk size 1): column
    lengths of text data follow a power law, and a thread that drew long columns
    simply takes fewer chunks. This replaced static blocks balanced by their number of
    non-zeros, whose planning pass over every column cost 2 ms of a 21 ms pass on the
    news20-shaped preset. Call it only through :func:`fastsparse._parallel.xt_dot_full`,
    which decides when threads pay off and keeps it off non-main threads.

    The chunk size is set from Python: calling ``numba.set_parallel_chunksize`` inside
    the jitted function would make it uncachable.
    """
    with numba.parallel_chunksize(1):
        _xt_dot_chunks(data, indices, indptr, cols, v, out, n_chunks)


@njit(cache=True, nogil=True, fastmath=False, error_model="numpy", parallel=True)
def _xt_dot_chunks(data, indices, indptr, cols, v, out, n_chunks):
    m = cols.shape[0]
    for c in prange(n_chunks):
        lo = (m * c) // n_chunks
        hi = (m * (c + 1)) // n_chunks
        if hi > lo:
            xt_dot(data, indices, indptr, cols[lo:hi], v, out[lo:hi])


@njit(**_JIT)
def residual(data, indices, indptr, y_c, w, sw, weighted, fit_intercept, r_raw):
    """Recompute r_raw = y_c - X w from scratch (only non-zero w are visited).

    Returns the shift xbar^T w (column means computed on the fly for the non-zero w), so
    that the centered residual is r_raw + shift. Called once
    per outer iteration so that rounding errors of incremental updates never accumulate.

    With an intercept, columns stored in every row are centered explicitly instead
    (r_raw -= w_j (x_j - xbar_j), no shift; see :func:`is_centered_explicitly`).
    """
    copy_into(r_raw, y_c)
    shift = 0.0
    for j in range(w.shape[0]):
        if w[j] != 0.0:
            shift += subtract_column(data, indices, indptr, j, w[j], sw, weighted,
                                     fit_intercept, r_raw)
    return shift


@njit(**_JIT_INLINE)
def subtract_column(data, indices, indptr, j, wj, sw, weighted, fit_intercept, r_raw):
    """r_raw -= w_j x_j for one column; returns its part of the lazy-centering shift.

    The part is xbar_j w_j with an intercept (0 without). A column stored in every row
    is centered explicitly instead (r_raw -= w_j (x_j - xbar_j), part 0). Inlined into
    :func:`residual` and the blocked residual of :mod:`fastsparse._mmap_passes`, which
    therefore compute the same bits.
    """
    n = r_raw.shape[0]
    start = np.int64(indptr[j])
    end = np.int64(indptr[j + 1])
    colsum = 0.0
    if is_centered_explicitly(start, end, n, fit_intercept):
        # The mean is needed before the update: one extra pass over the column.
        for k in range(start, end):
            colsum += sw[indices[k]] * data[k] if weighted else data[k]
        m = colsum / n
        for k in range(start, end):
            r_raw[indices[k]] -= wj * (data[k] - m)
        return 0.0
    for k in range(start, end):
        i = indices[k]
        r_raw[i] -= wj * data[k]
        colsum += sw[i] * data[k] if weighted else data[k]
    return (colsum / n) * wj if fit_intercept else 0.0


@njit(**_JIT)
def add_scaled_columns(data, indices, indptr, cols, values, z):
    """z += X[:, cols] @ values (``values`` aligned with ``cols``), column by column.

    The decision values of a sparse coefficient vector without slicing X (a slice is a
    copy of the support's columns: most of X when most features are selected).
    """
    for c in range(cols.shape[0]):
        j = cols[c]
        v = values[c]
        for k in range(np.int64(indptr[j]), np.int64(indptr[j + 1])):
            z[indices[k]] += v * data[k]


@njit(**_JIT)
def is_centered_explicitly(start, end, n_rows, fit_intercept):
    """Whether a column (entries start..end) is centered explicitly in the residual.

    Lazy centering keeps r_raw = y_c - X w uncentered plus a scalar shift, so that an
    update costs O(nnz_j) for sparse columns. For a column with a large mean and a small
    spread (timestamps, prices, an offset feature) that representation cancels
    catastrophically: x_j^T r_raw and shift * sum(x_j) are both huge and their
    difference, the gradient, is lost to rounding. A column stored in every row costs
    O(n) = O(nnz_j) either way, so such columns are centered explicitly: exact and no
    slower. (A column with implicit zeros has spread comparable to its mean.)
    """
    return fit_intercept and end - start == n_rows


@njit(**_JIT)
def add_columns(data, indices, indptr, cols, delta, xbar, fit_intercept, r_raw):
    """r_raw -= X[:, cols] @ delta; return the change of the shift xbar^T w.

    ``xbar[k]`` is the mean of column cols[k]. Columns stored in every row are
    centered explicitly (see :func:`is_centered_explicitly`).
    """
    n = r_raw.shape[0]
    dshift = 0.0
    for k in range(cols.shape[0]):
        d = delta[k]
        if d != 0.0:
            j = cols[k]
            start = np.int64(indptr[j])
            end = np.int64(indptr[j + 1])
            if is_centered_explicitly(start, end, n, fit_intercept):
                m = xbar[k]
                for kk in range(start, end):
                    r_raw[indices[kk]] -= d * (data[kk] - m)
                continue
            column_axpy(data, indices, start, end, -d, r_raw)
            if fit_intercept:
                dshift += xbar[k] * d
    return dshift


@njit(**_JIT)
def gather_sorted(cols, n, vals, sub, out):
    """out[k] = vals[i] where cols[i] == sub[k], for sub a subset of cols[:n].

    Both ``cols[:n]`` and ``sub`` must be increasing; one merge walk, O(n). Raises
    ValueError (instead of reading past cols[:n]) when ``sub`` is not such a subset.
    """
    i = 0
    for k in range(sub.shape[0]):
        j = sub[k]
        while i < n and cols[i] != j:
            i += 1
        if i == n:
            raise ValueError("gather_sorted: sub is not an increasing subset of cols[:n]")
        out[k] = vals[i]


@njit(**_JIT)
def sorted_difference(cols, n, sub, out):
    """out[:m] = the entries of cols[:n] not in ``sub``; returns m.

    Both ``cols[:n]`` and ``sub`` must be increasing (so is the result); O(n + len(sub)).
    """
    m = 0
    k = 0
    n_sub = sub.shape[0]
    for i in range(n):
        j = cols[i]
        while k < n_sub and sub[k] < j:
            k += 1
        if k < n_sub and sub[k] == j:
            continue
        out[m] = j
        m += 1
    return m


@njit(**_JIT)
def expand_known(cols, n, sub, sub_vals, vals):
    """Spread values over cols[:n]: ``sub_vals`` at the entries of ``sub``, the rest
    from vals[:n - len(sub)], in place.

    On entry vals[:m] holds, in order, the values of the entries of cols[:n] not in
    ``sub`` (:func:`sorted_difference`); on exit vals[i] is the value of cols[i]. Both
    ``cols[:n]`` and ``sub`` increasing, ``sub`` a subset of cols[:n]. Filled from the
    back, where the source index never passes the destination.
    """
    r = n - sub.shape[0] - 1
    k = sub.shape[0] - 1
    for i in range(n - 1, -1, -1):
        if k >= 0 and sub[k] == cols[i]:
            vals[i] = sub_vals[k]
            k -= 1
        else:
            vals[i] = vals[r]
            r -= 1


@njit(**_JIT)
def smallest_k(score, cols, n, k):
    """The entries of cols[:n] with the k smallest scores, in increasing column order.

    A bounded max-heap: O(n log k) time and O(k) memory (an argpartition would allocate
    n 64-bit indices, a lot when n is millions).
    """
    if k <= 0:
        return np.empty(0, dtype=cols.dtype)
    heap_s = np.empty(k)
    heap_c = np.empty(k, dtype=cols.dtype)
    size = 0
    for idx in range(n):
        s = score[idx]
        if size < k:
            # Sift up.
            pos = size
            size += 1
            while pos > 0:
                parent = (pos - 1) // 2
                if heap_s[parent] >= s:
                    break
                heap_s[pos] = heap_s[parent]
                heap_c[pos] = heap_c[parent]
                pos = parent
            heap_s[pos] = s
            heap_c[pos] = cols[idx]
        elif s < heap_s[0]:
            # Replace the root (largest kept score) and sift down.
            heap_s[0] = s
            heap_c[0] = cols[idx]
            _sift_down(heap_s, heap_c, 0, k)
    out = heap_c[:size].copy()
    _heapsort(out)
    return out


@njit(**_JIT_INLINE)
def _sift_down(keys, vals, root, end):
    """Restore the max-heap order of keys[root:end] below ``root``; vals move along."""
    while True:
        child = 2 * root + 1
        if child >= end:
            return
        if child + 1 < end and keys[child + 1] > keys[child]:
            child += 1
        if keys[root] >= keys[child]:
            return
        keys[root], keys[child] = keys[child], keys[root]
        vals[root], vals[child] = vals[child], vals[root]
        root = child


@njit(**_JIT)
def sort_by_keys(keys, vals, m):
    """Sort keys[:m] ascending in place, vals[:m] moved along (heapsort, O(m log m)).

    Not ``np.argsort``: Numba's quicksort took about 1 s of the first run's compilation.
    """
    ks = keys[:m]
    vs = vals[:m]
    for root in range(m // 2 - 1, -1, -1):
        _sift_down(ks, vs, root, m)
    for end in range(m - 1, 0, -1):
        ks[0], ks[end] = ks[end], ks[0]
        vs[0], vs[end] = vs[end], vs[0]
        _sift_down(ks, vs, 0, end)


@njit(**_JIT)
def _heapsort(a):
    """Sort the integers ``a`` in place, ascending, in O(len log len).

    For a working set's column indices (see :func:`sort_by_keys`). The keys are a
    float64 copy (exact for indices below 2^53), so the heap's sift-down is the one of
    :func:`smallest_k`.
    """
    sort_by_keys(a.astype(np.float64), a, a.shape[0])


@njit(**_JIT)
def positive_entries(values, out):
    """Write the indices of the positive entries of ``values`` into ``out``; return count.

    Avoids np.flatnonzero's int64 result and boolean mask (both as long as the number
    of features) and lets the caller reuse one index buffer.
    """
    count = 0
    for j in range(values.shape[0]):
        if values[j] > 0:
            out[count] = j
            count += 1
    return count


@njit(**_JIT)
def enet_coordinate_minimizer(z, lipschitz, l1, l2, positive):
    """argmin_t of lipschitz/2 t^2 - z t + l1 |t| + l2/2 t^2 (and t >= 0 if positive).

    The exact coordinate update of every elastic-net solver here: soft-thresholding by
    l1 for the L1 part, shrinkage by (lipschitz + l2) for the L2 part.
    """
    if positive:
        return max(z - l1, 0.0) / (lipschitz + l2)
    if z > l1:
        return (z - l1) / (lipschitz + l2)
    if z < -l1:
        return (z + l1) / (lipschitz + l2)
    return 0.0


# Block-parallel products over a column set split by ``bounds`` (contiguous blocks of
# about equal non-zeros, see fastsparse._kernels.jacobi_bounds): the block-Jacobi epochs
# and the Krylov dual certificate use them.


@njit(**_JIT_PAR)
def xt_dot_blocks_parallel(data, indices, indptr, ws, v, out, bounds):
    """xt_dot over the blocks of ws on Numba's threads (bit-identical to xt_dot)."""
    for b in prange(bounds.shape[0] - 1):
        lo = bounds[b]
        hi = bounds[b + 1]
        xt_dot(data, indices, indptr, ws[lo:hi], v, out[lo:hi])


@njit(**_JIT)
def _block_add(b, data, indices, indptr, ws, delta, xbar, fit_intercept, bounds,
               r_blocks, shifts):
    """r_blocks[b] = -X[:, ws_b] delta_b and shifts[b] its shift change (block b)."""
    lo = bounds[b]
    hi = bounds[b + 1]
    rb = r_blocks[b]
    for i in range(rb.shape[0]):
        rb[i] = 0.0
    shifts[b] = add_columns(data, indices, indptr, ws[lo:hi], delta[lo:hi], xbar[lo:hi],
                            fit_intercept, rb)


@njit(**_JIT_PAR)
def _block_adds_parallel(data, indices, indptr, ws, delta, xbar, fit_intercept, bounds,
                         r_blocks, shifts):
    for b in prange(bounds.shape[0] - 1):
        _block_add(b, data, indices, indptr, ws, delta, xbar, fit_intercept, bounds,
                   r_blocks, shifts)


@njit(**_JIT)
def add_columns_blocks(data, indices, indptr, ws, delta, xbar, fit_intercept, r_raw,
                       bounds, parallel, r_blocks, shifts):
    """:func:`add_columns` computed per block of ws (on Numba's threads when
    ``parallel``) and summed in block order: the same result either way."""
    if parallel:
        _block_adds_parallel(data, indices, indptr, ws, delta, xbar, fit_intercept,
                             bounds, r_blocks, shifts)
    else:
        for b in range(bounds.shape[0] - 1):
            _block_add(b, data, indices, indptr, ws, delta, xbar, fit_intercept, bounds,
                       r_blocks, shifts)
    dshift = 0.0
    for b in range(shifts.shape[0]):
        dshift += shifts[b]
        rb = r_blocks[b]
        for i in range(r_raw.shape[0]):
            r_raw[i] += rb[i]
    return dshift
