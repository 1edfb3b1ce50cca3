"""asv benchmarks of the multi-threaded passes over every column (issue: multi-core).

``time_xt_dot`` and ``time_column_norms`` run the parallel kernels with Numba set to 1
thread and to every available thread (parameter ``threads``), on the same compiled
function: the ratio of the two rows is the speed-up of the pass. ``time_lasso_fit`` does
the same for a whole Lasso fit (coordinate descent stays sequential; only the full passes
use the threads). See ``scripts/parallel_speedup.py`` for a one-shot side-by-side run.
"""

import numba
import numpy as np

import fastsparse
from fastsparse import _sparse_ops as S

from .bench_lasso import PRESETS, TIMEOUT, _warm_up, alpha_max, load

THREADS = sorted({1, numba.config.NUMBA_NUM_THREADS})


class ParallelPasses:
    """X^T v over every column and the column norms, 1 thread versus all threads."""

    params = (PRESETS, THREADS)
    param_names = ("preset", "threads")
    timeout = TIMEOUT

    def setup(self, preset, threads):
        self.X, _ = load(preset)
        n, p = self.X.shape
        self.v = np.random.default_rng(0).standard_normal(n)
        self.cols = np.arange(p, dtype=self.X.indices.dtype)
        self.out = np.empty(p)
        self.sw = np.ones(n)
        self.blocks = 4 * numba.config.NUMBA_NUM_THREADS
        self._previous = numba.get_num_threads()
        numba.set_num_threads(threads)
        self.time_xt_dot(preset, threads)  # compile / load from the cache
        self.time_column_norms(preset, threads)

    def teardown(self, preset, threads):
        numba.set_num_threads(self._previous)

    def time_xt_dot(self, preset, threads):
        X = self.X
        S.xt_dot_parallel(X.data, X.indices, X.indptr, self.cols, self.v, self.out,
                          self.blocks)

    def time_column_norms(self, preset, threads):
        X = self.X
        S.column_sqnorms_f32_parallel(X.data, X.indices, X.indptr, X.shape[0], self.sw,
                                      False, True, self.blocks)


class ParallelLassoFit:
    """A whole Lasso fit at alpha_max / 100 with 1 thread versus all threads."""

    params = (PRESETS, THREADS)
    param_names = ("preset", "threads")
    timeout = TIMEOUT

    def setup(self, preset, threads):
        self.X, self.y = load(preset)
        self.alpha = alpha_max(self.X, self.y, 1.0, True) / 100
        self._previous = numba.get_num_threads()
        numba.set_num_threads(threads)
        _warm_up(fastsparse.Lasso(tol=1e-6), self.X, self.y)

    def teardown(self, preset, threads):
        numba.set_num_threads(self._previous)

    def time_lasso_fit(self, preset, threads):
        fastsparse.Lasso(alpha=self.alpha, tol=1e-6).fit(self.X, self.y)
