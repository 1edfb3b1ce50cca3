"""asv benchmarks of fastsparse's Ridge and RidgeCV on generated text-like sparse data.

Same profiles, commands and environment variables as ``bench_lasso.py``
(``FASTSPARSE_BENCH_PROFILE=small|large``, ``FASTSPARSE_CACHE_DIR``). Ridge uses every
preset's regression target.

Every fit runs at two alphas on the scale of the data: ``alpha = lambda_max * RATIO``
with lambda_max the largest eigenvalue of X_c^T X_c (estimated once in ``setup`` by a
few power iterations), ``RATIO = 0.1`` (well conditioned, condition number ~11) and
``RATIO = 1e-5`` (ill conditioned, ~1e5 when n_features > n_samples). ``tol = TOL`` is
fastsparse's certified relative error of the coefficients. The timed fits run after a
warm-up fit on a slice of the same data in ``setup``, so JIT compilation is not timed.
For comparisons against scikit-learn at equal accuracy use
``scripts/compare_peers.py --model ridge``.
"""

import numba
import numpy as np

import fastsparse
from fastsparse.datasets import fetch_preset

from .bench_lasso import select_profile

PROFILES = {
    "small": ("small", "medium"),
    "large": ("rcv1", "news20", "finance"),
}
PROFILE, PRESETS, TIMEOUT = select_profile(PROFILES)
RATIOS = [0.1, 1e-5]
TOL = 1e-6


def load(preset):
    """Design matrix and regression target of a preset, from the on-disk cache."""
    X, y, _ = fetch_preset(preset, "regression")
    return X, y


def lambda_max(X, n_iter=20):
    """Largest eigenvalue of X_c^T X_c by power iteration (X never centered)."""
    xbar = np.asarray(X.mean(axis=0)).ravel()
    v = np.random.default_rng(0).standard_normal(X.shape[1])
    lam = 0.0
    for _ in range(n_iter):
        v /= np.linalg.norm(v)
        u = X @ v - xbar @ v
        w = X.T @ u - xbar * u.sum()
        lam = float(v @ w)
        v = w
    return lam


def _warm_up(model, X, y):
    """Fit on a slice of X (same dtypes), so that the timed fits do not JIT-compile."""
    n, p = min(X.shape[0], 300), min(X.shape[1], 1000)
    X_small = X[:n][:, :p].tocsc()
    X_small.sort_indices()
    model.fit(X_small, y[:n])


class RidgeFit:
    """``fastsparse.Ridge`` (``solver="auto"``) at ``lambda_max * ratio``."""

    param_names = ["preset", "ratio"]
    params = [list(PRESETS), RATIOS]
    timeout = TIMEOUT

    def setup(self, preset, ratio):
        self.X, self.y = load(preset)
        self.alpha = lambda_max(self.X) * ratio
        self.model = fastsparse.Ridge(alpha=self.alpha, tol=TOL)
        _warm_up(self.model, self.X, self.y)

    def _fit(self):
        return self.model.fit(self.X, self.y)

    def time_fit(self, *params):
        self._fit()

    def peakmem_fit(self, *params):
        self._fit()

    def track_n_iter(self, *params):
        return int(np.sum(self._fit().n_iter_))

    track_n_iter.unit = "iterations"

    def track_rel_error_bound(self, *params):
        # Certified relative error of the coefficients: converged fits are <= TOL.
        return float(self._fit().rel_error_bound_)

    track_rel_error_bound.unit = "||w - w*|| / ||w||"


class RidgeSolvers:
    """Each iterative solver of ``fastsparse.Ridge`` on the same problems."""

    param_names = ["preset", "ratio", "solver"]
    params = [list(PRESETS), RATIOS, ["cg", "dual", "cd"]]
    timeout = TIMEOUT

    def setup(self, preset, ratio, solver):
        if solver == "cd" and ratio < 0.1:
            # Coordinate descent is for positive=True; ill-conditioned it takes minutes
            # on the large presets (15 s already on "medium").
            raise NotImplementedError("cd is not benchmarked ill-conditioned")
        self.X, self.y = load(preset)
        alpha = lambda_max(self.X) * ratio
        # cd certifies through a gap, whose rounding floor is near 1e-7.
        tol = 1e-4 if solver == "cd" else TOL
        self.model = fastsparse.Ridge(alpha=alpha, tol=tol, solver=solver,
                                      max_iter=100_000)
        _warm_up(self.model, self.X, self.y)

    def time_fit(self, *params):
        self.model.fit(self.X, self.y)


class RidgeCVFit:
    """``fastsparse.RidgeCV`` over 10 alphas: leave-one-out or 5-fold by zero weights."""

    param_names = ["preset", "cv"]
    params = [list(PRESETS), [None, 5]]
    timeout = TIMEOUT

    def setup(self, preset, cv):
        self.X, self.y = load(preset)
        lam = lambda_max(self.X)
        alphas = lam * np.logspace(-4, 0, 10)
        if cv is None and min(self.X.shape) > 4000:
            raise NotImplementedError("leave-one-out needs a dense decomposition")
        self.model = fastsparse.RidgeCV(alphas=alphas, cv=cv, tol=1e-4)
        _warm_up(self.model, self.X, self.y)

    def time_fit(self, *params):
        self.model.fit(self.X, self.y)

    def peakmem_fit(self, *params):
        self.model.fit(self.X, self.y)


class RidgeProducts:
    """The products of one iteration: scipy's two passes against the fused kernel.

    ``variant``: ``scipy`` is X (X^T p) with scipy's compiled kernels (what CG on the
    kernel costs without fusion, and what scikit-learn's ``sparse_cg`` does), ``fused``
    the one-pass X_c X_c^T p of ``fastsparse._ridge_kernels`` run with ``threads``
    Numba threads (its parallel variant; the serial one is the same code on one
    thread). ``time_xct``/``time_xc`` are the separate threaded products of the primal
    CG. Results are bit-identical for every thread count.
    """

    param_names = ["preset", "threads"]
    params = [list(PRESETS), sorted({1, numba.config.NUMBA_NUM_THREADS})]
    timeout = TIMEOUT

    def setup(self, preset, threads):
        from fastsparse import _ridge_kernels as RK

        self.RK = RK
        self.X, _ = load(preset)
        n, p = self.X.shape
        self.xbar = np.asarray(self.X.mean(axis=0)).ravel()
        self.bounds = RK.column_blocks(self.X.indptr, RK.n_blocks_for(n, self.X.nnz))
        rng = np.random.default_rng(0)
        self.P = rng.standard_normal((n, 1))
        self.V = rng.standard_normal((p, 1))
        self.Q, self.U = np.empty((n, 1)), np.empty((p, 1))
        self.bufs = np.empty((self.bounds.size - 2, n, 1))
        self._previous = numba.get_num_threads()
        numba.set_num_threads(threads)
        self.time_fused(preset, threads)  # compile / load from the cache
        self.time_xct(preset, threads)
        self.time_xc(preset, threads)

    def teardown(self, preset, threads):
        numba.set_num_threads(self._previous)

    def _args(self):
        X = self.X
        return X.data, X.indices, X.indptr, self.bounds, self.xbar, True

    def time_scipy_two_passes(self, preset, threads):
        self.X @ (self.X.T @ self.P)

    def time_fused(self, preset, threads):
        self.RK.kernel_matmat_parallel(*self._args(), self.P, self.Q, self.U, False,
                                       self.bufs)

    def time_xct(self, preset, threads):
        self.RK.xct_matmat_parallel(*self._args(), self.P, self.U)

    def time_xc(self, preset, threads):
        self.RK.xc_matmat_parallel(*self._args(), self.V, self.Q, self.bufs)
