"""When the passes over every column run on several threads.

Coordinate descent is sequential by nature, but the passes that touch every column
(X^T r for the duality gap, screening and working-set scores, alpha_max, the column norms)
are independent per column: :func:`fastsparse._sparse_ops.xt_dot_parallel` splits them into
blocks holding about the same number of non-zeros and runs the blocks on Numba's threads.
Each column's dot product is computed by one thread in a fixed order, so the results are
bit-identical whatever the number of threads.

The thread count is Numba's: ``numba.set_num_threads(k)`` or the ``NUMBA_NUM_THREADS``
environment variable (default: the number of cores; joblib's process-based backends set
it to their share of the cores in their workers). Threads are used only

- from the main thread: cross-validation folds, one-vs-rest classes and stability
  subsamples already run in parallel joblib threads, which must not each start a team of
  Numba threads (oversubscription, and Numba's fallback threading layer does not allow
  concurrent parallel regions);
- when the pass is large enough (:data:`MIN_PARALLEL_NNZ`) for the gain to outweigh the
  cost of waking the threads;
- while they are measured to be faster. On a machine whose cores are busy with other
  processes a parallel region waits for its slowest thread to be scheduled, and a pass
  of a millisecond can take ten (measured on this project's shared 2-core machines).
  :class:`_Chooser` times both variants as the fit runs (time per stored entry,
  smoothed), uses the faster one and re-tries the other every :data:`PROBE_EVERY` calls,
  so a fit adapts when the load changes. Results are bit-identical either way.
"""

import threading
import time

import numba

from . import _mmap_passes as MP
from . import _sparse_ops as S

#: Passes over fewer stored entries than this stay on one thread (waking the thread
#: team costs tens of microseconds; a 100k-entry pass takes about 100 us).
MIN_PARALLEL_NNZ = 200_000

#: Chunks per thread. The chunks have equal column counts and are handed out one at a
#: time (:func:`fastsparse._sparse_ops.xt_dot_parallel`), so with power-law column
#: lengths the load evens out only when there are many more chunks than threads.
BLOCKS_PER_THREAD = 16

#: The variant currently judged slower is timed again after this many calls; each probe
#: that confirms the choice doubles the interval (up to MAX_PROBE_INTERVAL), so on a
#: machine where threads keep losing the probes cost little (a probe of a 10x slower
#: variant every 16 calls would add over 50% to the passes).
PROBE_EVERY = 16
MAX_PROBE_INTERVAL = 1024

#: Weight of the newest measurement in the smoothed time per entry.
_SMOOTHING = 0.3


class _Chooser:
    """Serial or parallel for one kind of pass, by measured time per stored entry.

    Only the main thread runs parallel passes, so only the main thread updates this.
    """

    def __init__(self):
        self.rate = {}  # n_threads -> smoothed seconds per stored entry
        self.calls = 0
        self.interval = PROBE_EVERY  # calls between probes of the losing variant
        self.next_probe = PROBE_EVERY
        self._probe = None  # the variant being re-timed by the current call

    def pick(self, k):
        """The thread count to use for the next pass (1 or k)."""
        self.calls += 1
        self._probe = None
        for option in (k, 1):  # try each variant once, parallel first
            if option not in self.rate:
                return option
        best, other = (k, 1) if self.rate[k] <= self.rate[1] else (1, k)
        if self.calls >= self.next_probe:
            self.next_probe = self.calls + self.interval
            self._probe = other
            return other
        return best

    def record(self, k, seconds, nnz):
        """Fold the time of a pass over ``nnz`` entries run with ``k`` threads in.

        A probe replaces its variant's estimate (the old one is stale by design); the
        variant in use is smoothed, so one unlucky pass does not flip the choice. A probe
        that loses again doubles the probe interval; one that wins resets it.
        """
        rate = seconds / max(nnz, 1.0)
        old = self.rate.get(k)
        if old is None or k == self._probe:
            self.rate[k] = rate
            if k == self._probe and len(self.rate) == 2:
                other = next(key for key in self.rate if key != k)
                if rate > self.rate[other]:
                    self.interval = min(2 * self.interval, MAX_PROBE_INTERVAL)
                else:
                    self.interval = PROBE_EVERY
        else:
            self.rate[k] = (1 - _SMOOTHING) * old + _SMOOTHING * rate


_XT_DOT = _Chooser()
_NORMS = _Chooser()


def pass_threads(nnz):
    """Number of threads a pass over ``nnz`` stored entries may use here (1 = serial)."""
    if nnz < MIN_PARALLEL_NNZ or threading.current_thread() is not threading.main_thread():
        return 1
    return numba.get_num_threads()


def run_chosen(chooser, threads, nnz, serial, parallel, *args):
    """``serial(*args)``, or ``parallel(*args)`` when ``threads > 1`` and it is faster.

    ``chooser`` (a :class:`_Chooser`) decides and is told the time of the pass over
    ``nnz`` stored entries. Returns what the chosen function returns.
    """
    if threads == 1:
        return serial(*args)
    k = chooser.pick(threads)
    start = time.perf_counter()
    out = (parallel if k > 1 else serial)(*args)
    chooser.record(k, time.perf_counter() - start, nnz)
    return out


def xt_dot_full(data, indices, indptr, cols, v, out):
    """out[k] = x_j^T v for j = cols[k], on several threads when it pays off.

    Same contract as :func:`fastsparse._sparse_ops.xt_dot`. A memory-mapped X is read
    in column blocks whose pages are released as the pass proceeds
    (:func:`fastsparse._mmap_passes.blocked_xt_dot`; same result).
    """
    if MP.is_mapped(data):
        MP.blocked_xt_dot(_xt_dot, data, indices, indptr, cols, v, out)
        return
    p = indptr.shape[0] - 1
    # Expected non-zeros of the pass, without walking cols: the average column length.
    nnz = data.shape[0] * (cols.shape[0] / p) if p else 0
    _xt_dot(data, indices, indptr, cols, v, out, nnz)


def _xt_dot(data, indices, indptr, cols, v, out, nnz):
    k = pass_threads(nnz)
    run_chosen(_XT_DOT, k, nnz, S.xt_dot,
               lambda *a: S.xt_dot_parallel(*a, BLOCKS_PER_THREAD * k),
               data, indices, indptr, cols, v, out)


def column_sqnorms_f32(data, indices, indptr, n_rows, sw, weighted, fit_intercept):
    """Rounded-up float32 centered column norms, on several threads when it pays off.

    Same contract as :func:`fastsparse._sparse_ops.column_sqnorms_f32`. A memory-mapped
    X is read in column blocks whose pages are released as the pass proceeds
    (:func:`fastsparse._mmap_passes.blocked_sqnorms`; same result).
    """
    if MP.is_mapped(data):
        return MP.blocked_sqnorms(_sqnorms, data, indices, indptr, n_rows, sw, weighted,
                                  fit_intercept)
    return _sqnorms(data, indices, indptr, n_rows, sw, weighted, fit_intercept,
                    data.shape[0])


def _sqnorms(data, indices, indptr, n_rows, sw, weighted, fit_intercept, nnz):
    k = pass_threads(nnz)
    return run_chosen(_NORMS, k, nnz, S.column_sqnorms_f32,
                      lambda *a: S.column_sqnorms_f32_parallel(*a, BLOCKS_PER_THREAD * k),
                      data, indices, indptr, n_rows, sw, weighted, fit_intercept)


__all__ = ["MIN_PARALLEL_NNZ", "column_sqnorms_f32", "pass_threads", "run_chosen",
           "xt_dot_full"]
