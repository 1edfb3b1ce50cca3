"""Passes over a memory-mapped CSC matrix that keep the resident set small.

Pages of a file mapping that a process has read count in its resident set size (RSS)
until they are unmapped or evicted, and on Linux a page touched maps its whole
page-cache folio (up to 2 MB). A fit that reads every column (validation, column norms,
X^T r for the duality gap) therefore shows the whole matrix in its RSS even though the
matrix is never copied. For memory-mapped X the solvers run those passes here instead:

- over blocks of columns spanning about :data:`BLOCK_NNZ` stored entries
  (:func:`fastsparse.io.column_blocks`), calling :func:`fastsparse.io.release_pages` on
  each block once it is done (the pages leave the RSS and stay in the page cache, so a
  later read is a minor fault, not disk I/O);
- with the *same* jitted kernels on the same columns in the same order, so every result
  is bit-identical to the pass over the whole matrix;
- and the working set of the inner coordinate-descent solver is gathered into compact
  in-memory CSC arrays (its columns are scattered over the file: solving on the map
  would map a folio per column), on which the unchanged kernel runs with local column
  numbers.

The logistic solver uses the same pieces (:func:`linear_predictor` over blocks of the
support, :func:`gather_working_set` before its Newton steps, :func:`lazy_zeros`),
dispatched from :mod:`fastsparse._logistic_solver` on ``LogisticProblem.mapped``.

Nothing here is used for arrays in ordinary memory: :func:`is_mapped` decides once per
problem (``ProblemData.mapped``) or per pass (the passes of
:mod:`fastsparse._parallel`), and in-memory fits keep their code paths.
"""

import mmap

import numpy as np
import scipy.sparse as sp
from numba import njit
from sklearn.utils.validation import assert_all_finite

from . import _kernels as K
from . import _sparse_ops as S
from ._sparse_ops import subtract_column
from .io import _advise_dontneed, _backing_mmap, column_blocks, release_pages

#: Stored entries per block of a pass (8 MiB of float64 values and 4 MiB of int32
#: indices): the most of the map a pass holds in the RSS at a time. Large enough that
#: a block keeps the parallel kernels' threads busy (>> MIN_PARALLEL_NNZ).
BLOCK_NNZ = 1 << 20

#: The working set is copied to memory only while it holds at most this fraction of the
#: stored entries of X; a larger one is solved on the map (its pages released after):
#: the copy would then cost about as much memory as the pages, and be a copy of X.
GATHER_MAX_FRACTION = 0.125

_JIT = dict(cache=True, nogil=True, fastmath=False, error_model="numpy")


def is_mapped(arr):
    """Whether ``arr`` lives in a shared memory map whose pages can be released.

    Parameters
    ----------
    arr : ndarray or scipy.sparse matrix
        An array, or a sparse matrix (then its ``data`` or ``indices`` array decides).

    Returns
    -------
    mapped : bool
        False for arrays in ordinary memory and for copy-on-write maps (see
        :func:`fastsparse.io.release_pages`).
    """
    if sp.issparse(arr):
        return any(is_mapped(a) for a in (arr.data, getattr(arr, "indices", None))
                   if a is not None)
    return isinstance(arr, np.ndarray) and _backing_mmap(arr) is not None


@njit(**_JIT)
def _is_increasing(cols):
    """Whether cols is strictly increasing (a blocked pass needs it to plan blocks)."""
    for k in range(1, cols.shape[0]):
        if cols[k] <= cols[k - 1]:
            return False
    return True


class _PrivateMap(mmap.mmap):
    """A private anonymous map: ``fastsparse.io`` never releases the pages of an mmap
    subclass (released pages of a private map read back as zeros)."""


def lazy_zeros(n):
    """float64 zeros whose memory is allocated only where written.

    A fit on a memory-mapped X with millions of features writes a few hundred scattered
    coefficients into a vector of n_features zeros. ``np.zeros`` of that size asks for
    transparent huge pages (NumPy advises them for large arrays), so every write
    commits a 2 MB page and the whole vector ends up resident (34 MB for 4.3M
    features). Here the vector is a private anonymous map advised against huge pages:
    untouched pages read as zeros without being resident, a written one costs 4 KB.
    Falls back to ``np.zeros`` where anonymous maps are not available.

    Parameters
    ----------
    n : int
        Length.

    Returns
    -------
    zeros : ndarray of shape (n,), float64, writable
    """
    try:
        mm = _PrivateMap(-1, max(8 * n, 1), flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS,
                         prot=mmap.PROT_READ | mmap.PROT_WRITE)
    except (AttributeError, OSError, ValueError):  # no POSIX anonymous maps
        return np.zeros(n)
    if hasattr(mmap, "MADV_NOHUGEPAGE"):
        mm.madvise(mmap.MADV_NOHUGEPAGE)
    return np.frombuffer(mm, dtype=np.float64, count=n)


def _release_cols(arrays, cols, a, b):
    release_pages(arrays, (int(cols[a]), int(cols[b - 1]) + 1))


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------


@njit(**_JIT)
def _indptr_is_monotone(indptr, lo, hi):
    """Whether indptr[lo:hi] is non-decreasing."""
    for j in range(lo + 1, hi):
        if indptr[j] < indptr[j - 1]:
            return False
    return True


@njit(**_JIT)
def _scan_block(data, indices, indptr, j0, j1):
    """One pass over the entries of columns j0..j1-1, without temporaries.

    Returns (min row index, max row index, any NaN, any infinity, canonical) where
    canonical means strictly increasing row indices within every column. ``indptr``
    must already be known non-decreasing and within [0, len(data)].
    """
    lo_idx = np.iinfo(np.int64).max
    hi_idx = np.iinfo(np.int64).min
    has_nan = False
    has_inf = False
    canonical = True
    for j in range(j0, j1):
        start = np.int64(indptr[j])
        end = np.int64(indptr[j + 1])
        prev = np.int64(-1)
        for k in range(start, end):
            i = np.int64(indices[k])
            if i < lo_idx:
                lo_idx = i
            if i > hi_idx:
                hi_idx = i
            if i <= prev:
                canonical = False
            prev = i
            x = data[k]
            if x != x:
                has_nan = True
            elif x - x != 0.0:  # +-inf (x - x is NaN)
                has_inf = True
    return lo_idx, hi_idx, has_nan, has_inf, canonical


def check_mapped_csc(X, dtype, name):
    """``check_csc`` for a memory-mapped CSC matrix, one column block at a time.

    The checks and error messages of :func:`fastsparse._validation.check_csc` (monotone
    ``indptr``, row indices in range, finite values, canonical format), each block's
    pages released once read, and no temporary of the size of X (scipy's
    ``has_canonical_format`` and scikit-learn's finite check each read a whole array in
    one go).

    Parameters
    ----------
    X : scipy.sparse CSC matrix or array
        With memory-mapped arrays.
    dtype : tuple of dtypes or dtype
        Accepted value dtypes (as ``check_csc``).
    name : str
        Name used in error messages.

    Returns
    -------
    X : CSC matrix or None
        X itself (marked canonical), a view trimmed to ``nnz``, or with its index arrays
        promoted to one dtype; None when the general ``check_csc`` must handle X
        (unusual dtypes or shapes, malformed pointers it reports itself, or entries that
        are not canonical and need a canonical copy).
    """
    from ._validation import SUPPORTED_INDEX_DTYPES, _with_arrays

    data, indices, indptr = X.data, X.indices, X.indptr
    n, p = X.shape
    accepted = dtype if isinstance(dtype, tuple) else (dtype,)
    if (n < 1 or p < 1 or data.ndim != 1 or indices.ndim != 1 or indptr.ndim != 1
            or indptr.shape[0] != p + 1
            or data.dtype.type not in tuple(np.dtype(d).type for d in accepted)
            or indices.dtype.type not in SUPPORTED_INDEX_DTYPES
            or indptr.dtype.type not in SUPPORTED_INDEX_DTYPES
            or indptr[0] != 0 or indptr[-1] > min(indices.shape[0], data.shape[0])
            # Byte-swapped arrays (a ">f8" or ">i4" .npy file) have the dtype.type of
            # native ones but were read as native bytes: garbage coefficients from
            # ">f8" data, a wrong "not non-decreasing" error from ">i4" pointers.
            or not (data.dtype.isnative and indices.dtype.isnative
                    and indptr.dtype.isnative)):
        return None  # O(1) checks failed: the general path reports or converts
    arrays = (data, indices, indptr)
    for j0 in range(0, p + 1, BLOCK_NNZ):
        j1 = min(j0 + BLOCK_NNZ + 1, p + 1)  # one pointer shared with the next range
        if not _indptr_is_monotone(indptr, j0, j1):
            raise ValueError(f"{name} is malformed: indptr is not non-decreasing.")
        _advise_dontneed(indptr, j0 * indptr.itemsize, j1 * indptr.itemsize)
    lo_idx, hi_idx = np.iinfo(np.int64).max, np.iinfo(np.int64).min
    has_nan = has_inf = False
    canonical = True
    for j0, j1 in column_blocks(indptr, None, BLOCK_NNZ):
        lo, hi, nan, inf, canon = _scan_block(data, indices, indptr, j0, j1)
        lo_idx, hi_idx = min(lo_idx, lo), max(hi_idx, hi)
        has_nan, has_inf, canonical = has_nan or nan, has_inf or inf, canonical and canon
        release_pages(arrays, (j0, j1))
    if int(indptr[-1]) > 0 and (lo_idx < 0 or hi_idx >= n):
        raise ValueError(
            f"{name} is malformed: row indices must lie in [0, {n}), "
            f"found values in [{lo_idx}, {hi_idx}]."
        )
    if has_nan or has_inf:
        # scikit-learn's own message (NaN wins over infinity, as in its check).
        assert_all_finite(np.array([np.nan if has_nan else np.inf], dtype=data.dtype),
                          allow_nan=False, input_name=name)
    if not canonical:
        return None  # duplicates or unsorted: the general path makes a canonical copy
    nnz = int(indptr[-1])
    if indices.shape[0] != nnz or data.shape[0] != nnz:
        X = _with_arrays(X, data[:nnz], indices[:nnz], indptr)
    if X.indices.dtype != X.indptr.dtype:
        idx = np.result_type(X.indices.dtype, X.indptr.dtype)
        X = _with_arrays(X, X.data, X.indices.astype(idx, copy=False),
                         X.indptr.astype(idx, copy=False))
    X.has_canonical_format = True  # what scipy would have computed (and cached)
    return X


# --------------------------------------------------------------------------------------
# Full passes (called by fastsparse._parallel with its thread-choosing pass)
# --------------------------------------------------------------------------------------


def blocked_xt_dot(pass_fn, data, indices, indptr, cols, v, out):
    """out[k] = x_j^T v for j = cols[k], block by block, releasing each block.

    ``pass_fn(data, indices, indptr, cols, v, out, nnz)`` runs one block (``nnz`` its
    expected number of entries). Bit-identical to one pass: every column's sum is
    computed by the same kernel in the same order.
    """
    arrays = (data, indices, indptr)
    if not _is_increasing(cols):
        pass_fn(data, indices, indptr, cols, v, out, _expected_nnz(indptr, cols))
        release_pages(arrays)
        return
    for a, b in column_blocks(indptr, cols, BLOCK_NNZ):
        c0, c1 = int(cols[a]), int(cols[b - 1]) + 1
        spanned = int(indptr[c1]) - int(indptr[c0])
        pass_fn(data, indices, indptr, cols[a:b], v, out[a:b],
                spanned * (b - a) / (c1 - c0))
        release_pages(arrays, (c0, c1))


def _expected_nnz(indptr, cols):
    p = indptr.shape[0] - 1
    return int(indptr[-1]) * (cols.shape[0] / p) if p else 0


def blocked_sqnorms(pass_fn, data, indices, indptr, n_rows, sw, weighted, fit_intercept):
    """Float32 centered column norms of every column, block by block, releasing each.

    ``pass_fn(data, indices, indptr, n_rows, sw, weighted, fit_intercept, nnz)`` computes
    the norms of the columns of the ``indptr`` it is given; a slice
    ``indptr[j0:j1 + 1]`` keeps absolute offsets into ``data``, so it covers columns
    j0..j1-1 without any copy.
    """
    out = np.empty(indptr.shape[0] - 1, dtype=np.float32)
    for j0, j1 in column_blocks(indptr, None, BLOCK_NNZ):
        out[j0:j1] = pass_fn(data, indices, indptr[j0:j1 + 1], n_rows, sw, weighted,
                             fit_intercept, int(indptr[j1]) - int(indptr[j0]))
        release_pages((data, indices, indptr), (j0, j1))
    return out


# --------------------------------------------------------------------------------------
# The least-squares solver's passes (dispatched from fastsparse._solver on pb.mapped)
# --------------------------------------------------------------------------------------


def column_stats(pb, cols):
    """:func:`fastsparse._solver.column_stats` over column blocks, releasing each."""
    arrays = (pb.data, pb.indices, pb.indptr)
    cols = np.asarray(cols)
    args = (pb.n_samples, pb.sw, pb.weighted, pb.fit_intercept)
    if cols.shape[0] == 0 or not _is_increasing(cols):
        out = K.column_stats(*arrays, cols, *args)
        release_pages(arrays)
        return out
    xbar, sqnorm = np.empty(cols.shape[0]), np.empty(cols.shape[0])
    for a, b in column_blocks(pb.indptr, cols, BLOCK_NNZ):
        xbar[a:b], sqnorm[a:b] = K.column_stats(*arrays, cols[a:b], *args)
        _release_cols(arrays, cols, a, b)
    return xbar, sqnorm


@njit(**_JIT)
def _subtract_columns(data, indices, indptr, cols, w, sw, weighted, fit_intercept, r_raw,
                      shift):
    """The loop of :func:`fastsparse._sparse_ops.residual` over ``cols``.

    The same per-column step (:func:`fastsparse._sparse_ops.subtract_column`, inlined)
    with the shift accumulated from the value given, so that a residual computed block
    by block is bit-identical to the kernel's; ``tests/test_mmap_passes.py`` compares
    the two.
    """
    for c in range(cols.shape[0]):
        j = cols[c]
        if w[j] != 0.0:
            shift += subtract_column(data, indices, indptr, j, w[j], sw, weighted,
                                     fit_intercept, r_raw)
    return shift


def residual(data, indices, indptr, y_c, w, sw, weighted, fit_intercept, r_raw):
    """:func:`fastsparse._sparse_ops.residual` (same signature and result), by blocks.

    Only the columns with w_j != 0 are read, block by block, each block released.
    """
    r_raw[:] = y_c
    nz = np.flatnonzero(w)  # O(support), not O(n_features)
    shift = 0.0
    for a, b in column_blocks(indptr, nz, BLOCK_NNZ) if nz.shape[0] else ():
        shift = _subtract_columns(data, indices, indptr, nz[a:b], w, sw, weighted,
                                  fit_intercept, r_raw, shift)
        _release_cols((data, indices, indptr), nz, a, b)
    return shift


@njit(**_JIT)
def _gather_columns(data, indices, indptr, cols, cptr, cdata, cind):
    """Copy the entries of columns ``cols`` to cdata/cind at offsets cptr (aligned)."""
    for k in range(cols.shape[0]):
        j = cols[k]
        src = np.int64(indptr[j])
        dst = np.int64(cptr[k])
        for t in range(np.int64(indptr[j + 1]) - src):
            cdata[dst + t] = data[src + t]
            cind[dst + t] = indices[src + t]


def _compact_pointers(indptr, cols):
    """Column pointers of the compact copy of the columns ``cols`` (increasing)."""
    cptr = np.zeros(cols.shape[0] + 1, dtype=indptr.dtype)
    for a, b in column_blocks(indptr, cols, BLOCK_NNZ):
        # Block by block: indptr[cols + 1] over all cols at once would map the
        # pointers of every column at the same time.
        c = cols[a:b]
        cptr[a + 1:b + 1] = indptr[c + 1] - indptr[c]
        # Each pointer read maps a page-cache folio of indptr (up to 2 MB).
        _advise_dontneed(indptr, int(c[0]) * indptr.itemsize,
                         (int(c[-1]) + 2) * indptr.itemsize)
    np.cumsum(cptr, out=cptr)
    return cptr


def gather_columns(data, indices, indptr, cols, cptr=None):
    """The columns ``cols`` (increasing) as compact in-memory CSC arrays.

    Read block by block, each block's pages released. Returns (cdata, cind, cptr) with
    column k of the result being column cols[k] of X, same dtypes as X. ``cptr`` may be
    given (from :func:`_compact_pointers`).
    """
    if not _is_increasing(cols):
        raise ValueError("gather_columns needs increasing column indices.")
    if cptr is None:
        cptr = _compact_pointers(indptr, cols)
    total = int(cptr[-1])
    cdata = np.empty(total, dtype=data.dtype)
    cind = np.empty(total, dtype=indices.dtype)
    for a, b in column_blocks(indptr, cols, BLOCK_NNZ):
        _gather_columns(data, indices, indptr, cols[a:b], cptr[a:b + 1], cdata, cind)
        _release_cols((data, indices, indptr), cols, a, b)
    return cdata, cind, cptr


def _take(values, cols):
    """values[cols], keeping a constant (zero-stride) per-feature array constant."""
    if values.ndim == 1 and values.strides[0] == 0:
        return np.broadcast_to(values[0], cols.shape)
    return values[cols]


def _local_positions(ws, free):
    """Positions of the columns ``free`` in the increasing ``ws``; None if one is missing."""
    if not _is_increasing(ws):
        return None
    pos = np.searchsorted(ws, free)
    if free.shape[0] and (pos.max() >= ws.shape[0] or not np.array_equal(ws[pos], free)):
        return None
    return pos


def inner_solve(pb, ws, w, r_raw, shift, l1, l2, positive, free, xbar_free, gram_pinv,
                tol, max_epochs, anderson_k, dual_extrapolation, q_best, n_blocks=1,
                krylov_tol=None):
    """Working-set statistics and :func:`fastsparse._kernels.inner_solve` on a copy of ws.

    The working-set columns are gathered into compact in-memory arrays (block by block,
    releasing the map; unless they hold more than :data:`GATHER_MAX_FRACTION` of X),
    their means and norms computed there, and the unchanged kernel
    runs on them with local column numbers 0..|ws|-1: the unpenalized features ``free``
    (all in ws) are renumbered, and ``w``, ``l1``, ``l2`` are taken on ws and ``w``
    scattered back. Same arithmetic in the same order as on X, so the same result;
    ``krylov_tol`` is passed on (Krylov dual points in long solves). ``n_blocks`` is the
    in-memory solver's choice of block-Jacobi epochs
    (:func:`fastsparse._solver.jacobi_plan`), whose blocks run one after the other here.

    Returns what the kernel returns: (shift, n_epochs, gap, found).
    """
    arrays = (pb.data, pb.indices, pb.indptr)
    ws = np.asarray(ws)
    free_local = _local_positions(ws, free)
    cptr = None if free_local is None else _compact_pointers(pb.indptr, ws)
    if cptr is None or int(cptr[-1]) > GATHER_MAX_FRACTION * int(pb.indptr[-1]):
        # A working set holding much of X (a copy would be as large as the pages it
        # maps), or not the solver's usual one (increasing, holding every unpenalized
        # feature): run on the map itself, then release what it read.
        xbar_ws, sqnorm_ws = column_stats(pb, ws)
        out = K.inner_solve(pb.data, pb.indices, pb.indptr, ws, w, r_raw, shift, pb.sw,
                            pb.weighted, pb.fit_intercept, xbar_ws, sqnorm_ws, l1, l2,
                            positive, pb.y_c, free, xbar_free, gram_pinv, tol, max_epochs,
                            anderson_k, dual_extrapolation, q_best, True,
                            K.jacobi_buffers(pb.data, pb.indices, pb.indptr, ws,
                                             pb.n_samples, pb.sw, pb.weighted,
                                             pb.fit_intercept, n_blocks,
                                             pb.tilt_state), False, krylov_tol)
        release_pages(arrays)
        return out
    cdata, cind, cptr = gather_columns(*arrays, ws, cptr)
    local = np.arange(ws.shape[0], dtype=ws.dtype)
    xbar_ws, sqnorm_ws = K.column_stats(cdata, cind, cptr, local, pb.n_samples, pb.sw,
                                        pb.weighted, pb.fit_intercept)
    w_ws = w[ws]
    out = K.inner_solve(cdata, cind, cptr, local, w_ws, r_raw, shift, pb.sw, pb.weighted,
                        pb.fit_intercept, xbar_ws, sqnorm_ws, _take(l1, ws), _take(l2, ws),
                        positive, pb.y_c, free_local, xbar_free, gram_pinv, tol,
                        max_epochs, anderson_k, dual_extrapolation, q_best, True,
                        K.jacobi_buffers(cdata, cind, cptr, local, pb.n_samples, pb.sw,
                                         pb.weighted, pb.fit_intercept, n_blocks,
                                         pb.tilt_state),
                        False, krylov_tol)
    w[ws] = w_ws
    return out


# --------------------------------------------------------------------------------------
# The logistic solver's passes (dispatched from fastsparse._logistic_solver on pb.mapped)
# --------------------------------------------------------------------------------------


@njit(**_JIT)
def _add_columns(data, indices, indptr, cols, w, z):
    """z += X[:, cols] w[cols]: the loop of ``_logistic_kernels.linear_predictor``.

    Same per-column update in the same (increasing) column order, so a predictor built
    block by block is bit-identical to the kernel's over the whole matrix.
    """
    for c in range(cols.shape[0]):
        j = cols[c]
        wj = w[j]
        for k in range(np.int64(indptr[j]), np.int64(indptr[j + 1])):
            z[indices[k]] += wj * data[k]


def add_scaled_columns(data, indices, indptr, cols, values, z):
    """:func:`fastsparse._sparse_ops.add_scaled_columns` by blocks, pages released.

    ``cols`` must be increasing (as the indices of a column of a canonical CSC
    coefficient matrix are); same sums in the same order as the kernel.
    """
    for a, e in column_blocks(indptr, cols, BLOCK_NNZ) if cols.shape[0] else ():
        S.add_scaled_columns(data, indices, indptr, cols[a:e], values[a:e], z)
        _release_cols((data, indices, indptr), cols, a, e)


def linear_predictor(data, indices, indptr, w, b, z):
    """:func:`fastsparse._logistic_kernels.linear_predictor` (same result), by blocks.

    z = X w + b over the columns with w_j != 0 only, block by block, each block's pages
    released: the support is scattered over the file, and reading it on the map would
    leave a page-cache folio per column resident.

    Parameters
    ----------
    data, indices, indptr : ndarray
        CSC arrays of X (memory-mapped).
    w : ndarray of shape (n_features,), float64
        Coefficients.
    b : float
        Intercept.
    z : ndarray of shape (n_samples,), float64
        Output, overwritten.
    """
    z[:] = b
    nz = np.flatnonzero(w)  # O(support) writes; untouched lazy_zeros pages stay free
    for a, e in column_blocks(indptr, nz, BLOCK_NNZ) if nz.shape[0] else ():
        _add_columns(data, indices, indptr, nz[a:e], w, z)
        _release_cols((data, indices, indptr), nz, a, e)


def gather_working_set(data, indices, indptr, ws):
    """Compact in-memory copy of the columns ``ws``, or None when it should not be made.

    None when ``ws`` is not increasing (a blocked read needs it) or when its columns
    hold more than :data:`GATHER_MAX_FRACTION` of X's entries (the copy would be about
    as large as the pages it saves); the caller then reads the map and releases it
    afterwards. Otherwise (cdata, cind, cptr) as :func:`gather_columns` returns them:
    column k of the copy is column ws[k] of X, with the same entry count, so the
    kernels' "stored in every row" test gives the same answer on it.

    Parameters
    ----------
    data, indices, indptr : ndarray
        CSC arrays of X (memory-mapped).
    ws : ndarray of int
        Working-set columns.

    Returns
    -------
    compact : tuple of (ndarray, ndarray, ndarray) or None
        The copy's data, indices and column pointers, or None (see above).
    """
    ws = np.asarray(ws)
    if ws.shape[0] == 0 or not _is_increasing(ws):
        return None
    cptr = _compact_pointers(indptr, ws)
    if int(cptr[-1]) > GATHER_MAX_FRACTION * int(indptr[-1]):
        return None
    return gather_columns(data, indices, indptr, ws, cptr)


def take_per_feature(values, cols):
    """values[cols], keeping a constant (zero-stride) per-feature array constant.

    Parameters
    ----------
    values : ndarray of shape (n_features,)
        Per-feature values, possibly a broadcast scalar.
    cols : ndarray of int
        Columns.

    Returns
    -------
    taken : ndarray of shape (len(cols),)
    """
    return _take(values, cols)


__all__ = ["BLOCK_NNZ", "GATHER_MAX_FRACTION", "blocked_sqnorms", "blocked_xt_dot",
           "check_mapped_csc", "column_stats", "gather_columns", "gather_working_set",
           "inner_solve", "is_mapped", "lazy_zeros", "linear_predictor", "residual",
           "take_per_feature"]
