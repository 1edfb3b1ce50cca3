"""When the passes over every column run on several threads.

Coordinate descent is sequential by nature, but the passes that touch every column
(X^T r for the duality gap, screening and working-set scores, alpha_max, the column norms)
are independent per column: :func:`fastsparse._sparse_ops.xt_dot_parallel` splits them into
blocks holding about the same number of non-zeros and runs the blocks on Numba's threads.
Each column's dot product is computed by one thread in a fixed order, so the results are
bit-identical whatever the number of threads. The logistic solver's passes over the rows
(an exp and a log or two per row) are cut into row chunks fixed by n the same way
(:mod:`fastsparse._logistic_rows`, run through :func:`run_rows`).

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
  :class:`_Chooser` times both variants as the fit runs (time per stored entry, median
  of the last few), uses the faster one and re-tries the other every
  :data:`PROBE_EVERY` calls or less often, so a fit adapts when the load changes. Results are bit-identical either way.
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

#: Calls between probes of the variant currently judged slower: at least PROBE_EVERY,
#: at most MAX_PROBE_INTERVAL, and long enough that a probe's extra time stays about
#: PROBE_OVERHEAD of the time of the passes in between. A probe that lost narrowly (a
#: parallel pass slowed by a passing interruption, 1.3x the serial one) is repeated
#: soon, one that lost 10x rarely. A fixed doubling did not tell them apart: a Ridge fit
#: that lost two narrow probes at its start, while some kernel thread interrupted every
#: other parallel pass, ran its remaining 250 passes serial, 1.5x slower.
PROBE_EVERY = 16
MAX_PROBE_INTERVAL = 1024
PROBE_OVERHEAD = 0.03

#: Timings kept per variant; a variant's estimate is their median, so one slow pass (a
#: thread descheduled for a few milliseconds) does not flip the choice.
WINDOW = 5
#: A probe times the other variant on this many consecutive calls (its old timings are
#: dropped: they are stale by design), so that one outlier does not decide it either ...
PROBE_CALLS = 3
#: ... unless a probe call is this many times slower than the current choice: then the
#: probe has clearly lost and ends at once (a slow variant costs one call, not three).
CLEAR_LOSS = 3.0


def _median(values):
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


class _Chooser:
    """Serial or parallel for one kind of pass, by measured time per stored entry.

    Each variant's estimate is the median of its last :data:`WINDOW` timings. The faster
    one is used; the other is probed for up to :data:`PROBE_CALLS` calls, every
    ``interval`` calls (see :data:`PROBE_OVERHEAD`). Only the main thread runs parallel
    passes, so only the main thread updates this.
    """

    def __init__(self):
        self.times = {}  # n_threads -> recent seconds per stored entry (newest last)
        self.calls = 0
        self.interval = PROBE_EVERY  # calls between probes of the losing variant
        self.next_probe = PROBE_EVERY
        self._probe = None  # the variant being timed by the current probe
        self._probe_left = 0  # calls left in the current probe
        self._first = False  # the current probe is the variant's first timing
        self._excess = 0.0  # the current probe's extra time, in passes of the other

    @property
    def rate(self):
        """n_threads -> estimated seconds per stored entry (median of recent timings)."""
        return {k: _median(v) for k, v in self.times.items() if v}

    def pick(self, k):
        """The thread count to use for the next pass (1 or k)."""
        self.calls += 1
        if self._probe is not None:
            return self._probe
        for option in (k, 1):  # time each variant once, parallel first
            if option not in self.times:
                self._start_probe(option, first=True)
                return option
        rate = self.rate
        best, other = (k, 1) if rate[k] <= rate[1] else (1, k)
        if self.calls >= self.next_probe:
            self._start_probe(other)
            return other
        return best

    def _start_probe(self, k, first=False):
        self._probe, self._probe_left, self._first = k, PROBE_CALLS, first
        self._excess = 0.0
        self.times[k] = []

    def record(self, k, seconds, nnz):
        """Fold the time of a pass over ``nnz`` entries run with ``k`` threads in.

        When a probe ends, the next one is scheduled: after PROBE_EVERY calls if it won
        (its variant is now the choice), else after enough calls to keep the time lost
        to probing near PROBE_OVERHEAD (a variant's first timing schedules PROBE_EVERY).
        """
        rate = seconds / max(nnz, 1.0)
        times = self.times.setdefault(k, [])
        times.append(rate)
        del times[:-WINDOW]
        if k != self._probe:
            return
        self._probe_left -= 1
        ref = [_median(v) for key, v in self.times.items() if key != k and v]
        if ref and ref[0] > 0:
            self._excess += max(rate / ref[0] - 1.0, 0.0)
        clear_loss = bool(ref) and rate > CLEAR_LOSS * ref[0]
        if self._probe_left > 0 and not clear_loss:
            return
        self._probe = None
        if self._first or not ref or _median(times) <= ref[0]:
            self.interval = PROBE_EVERY
        else:
            self.interval = int(min(max(self._excess / PROBE_OVERHEAD, PROBE_EVERY),
                                    MAX_PROBE_INTERVAL))
        self.next_probe = self.calls + self.interval


_XT_DOT = _Chooser()
_NORMS = _Chooser()
#: One chooser per kind of row pass (their costs per row differ), keyed by the serial
#: function.
_ROWS = {}

#: A pass over the rows with an exp and one or two logs per row costs about as much per
#: row as this many stored entries of a column pass (rcv1-shaped preset, 20 k rows: 0.65
#: ms for the loss, dual direction and Hessian weights, against 1-3 ns per stored entry).
ROW_PASS_COST = 25


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


def run_rows(serial, parallel, n_rows, *args):
    """``serial(*args)`` or its twin ``parallel(*args)`` (same result), a pass over
    ``n_rows`` rows of :mod:`fastsparse._logistic_rows`, on several threads when that is
    faster here (:class:`_Chooser`, one per kind of pass)."""
    threads = pass_threads(ROW_PASS_COST * n_rows)
    if threads == 1:
        return serial(*args)
    chooser = _ROWS.get(serial)
    if chooser is None:
        chooser = _ROWS[serial] = _Chooser()
    return run_chosen(chooser, threads, n_rows, serial, parallel, *args)


__all__ = ["MIN_PARALLEL_NNZ", "column_sqnorms_f32", "pass_threads", "run_chosen",
           "run_rows", "xt_dot_full"]
