"""When the passes over every column run on several threads.

Coordinate descent is sequential by nature, but the passes that touch every column
(X^T r for the duality gap, screening and working-set scores, alpha_max, the column norms)
are independent per column: :func:`fastsparse._sparse_ops.xt_dot_parallel` splits them into
blocks holding about the same number of non-zeros and runs the blocks on Numba's threads.
Each column's dot product is computed by one thread in a fixed order, so the results are
bit-identical whatever the number of threads.

The thread count is Numba's: ``numba.set_num_threads(k)`` or the ``NUMBA_NUM_THREADS``
environment variable (default: the number of cores). Threads are used only

- from the main thread: cross-validation folds, one-vs-rest classes and stability
  subsamples already run in parallel joblib threads, which must not each start a team of
  Numba threads (oversubscription, and Numba's fallback threading layer does not allow
  concurrent parallel regions);
- when the pass is large enough (:data:`MIN_PARALLEL_NNZ`) for the gain to outweigh the
  cost of waking the threads.
"""

import threading

import numba

from . import _sparse_ops as S

#: Passes over fewer stored entries than this stay on one thread (waking the thread
#: team costs tens of microseconds; a 100k-entry pass takes about 100 us).
MIN_PARALLEL_NNZ = 200_000

#: Blocks per thread: a few per thread evens out the load left by the nnz balancing.
BLOCKS_PER_THREAD = 4


def pass_threads(nnz):
    """Number of threads a pass over ``nnz`` stored entries should use here (1 = serial)."""
    if nnz < MIN_PARALLEL_NNZ or threading.current_thread() is not threading.main_thread():
        return 1
    return numba.get_num_threads()


def xt_dot_full(data, indices, indptr, cols, v, out):
    """out[k] = x_j^T v for j = cols[k], on several threads when it pays off.

    Same contract as :func:`fastsparse._sparse_ops.xt_dot`.
    """
    p = indptr.shape[0] - 1
    # Expected non-zeros of the pass, without walking cols: the average column length.
    nnz = data.shape[0] * (cols.shape[0] / p) if p else 0
    k = pass_threads(nnz)
    if k > 1:
        S.xt_dot_parallel(data, indices, indptr, cols, v, out, BLOCKS_PER_THREAD * k)
    else:
        S.xt_dot(data, indices, indptr, cols, v, out)


def column_sqnorms_f32(data, indices, indptr, n_rows, sw, weighted, fit_intercept):
    """Rounded-up float32 centered column norms, on several threads when it pays off.

    Same contract as :func:`fastsparse._sparse_ops.column_sqnorms_f32`.
    """
    k = pass_threads(data.shape[0])
    if k > 1:
        return S.column_sqnorms_f32_parallel(data, indices, indptr, n_rows, sw, weighted,
                                             fit_intercept, BLOCKS_PER_THREAD * k)
    return S.column_sqnorms_f32(data, indices, indptr, n_rows, sw, weighted, fit_intercept)


__all__ = ["MIN_PARALLEL_NNZ", "column_sqnorms_f32", "pass_threads", "xt_dot_full"]
