"""asv benchmarks of the innermost loop: one coordinate-descent epoch on CSC columns.

Every Lasso, elastic-net and logistic fit spends most of its time in these epochs (the
late alphas of a path: hundreds of epochs per alpha over working sets of tens of
thousands of columns), so their cost per stored entry is tracked on its own, apart from
how many epochs a solver needs. The working set is the ``WS_FRACTION`` most frequent
columns (the ones that enter a text model first), swept at ``alpha_max / 100``; the
coefficients are reset before each timed epoch, so every sample repeats the same work.
"""

import numpy as np

from fastsparse import _kernels as K
from fastsparse import _logistic_kernels as LK
from fastsparse._solver import column_stats, prepare_problem

from .bench_lasso import PRESETS, TIMEOUT, load

#: Share of the columns in the working set (the most frequent ones).
WS_FRACTION = 0.05


def frequent_columns(X):
    """The working set: the ``WS_FRACTION`` most frequent columns of X, in order."""
    counts = np.diff(X.indptr)
    m = max(1, int(WS_FRACTION * X.shape[1]))
    return np.sort(np.argsort(-counts, kind="stable")[:m]).astype(np.int64)


class CDEpoch:
    """One cyclic epoch of :func:`fastsparse._kernels.cd_epoch` and of the logistic
    model's :func:`fastsparse._logistic_kernels._cd_epoch`."""

    params = (PRESETS, [False, True])
    param_names = ("preset", "fit_intercept")
    timeout = TIMEOUT

    def setup(self, preset, fit_intercept):
        X, y = load(preset)
        pb = prepare_problem(X, y, None, fit_intercept)
        n, p = X.shape
        self.ws = frequent_columns(X)
        self.xbar, self.lip = column_stats(pb, self.ws)
        r0 = np.empty(n)
        shift0 = K.residual(pb.data, pb.indices, pb.indptr, pb.y_c, np.zeros(p), pb.sw,
                            pb.weighted, fit_intercept, r0)
        g = np.empty(self.ws.shape[0])
        K.xt_dot(pb.data, pb.indices, pb.indptr, self.ws, r0 + shift0, g)
        lam = 0.01 * float(np.max(np.abs(g))) if g.size else 1.0
        self.l1 = np.broadcast_to(np.float64(lam), (p,))
        self.l2 = np.broadcast_to(np.float64(0.0), (p,))
        self.pb, self.r0, self.shift0 = pb, r0, shift0
        self.w = np.zeros(p)
        self.r = np.empty(n)
        # Logistic model at the null point: h = 1/4, e = h * (y-side working residual).
        self.h = np.full(n, 0.25)
        self.e0 = 0.25 * pb.y_c
        self.e = np.empty(n)
        self.time_lasso_epoch(preset, fit_intercept)  # compile / load from the cache
        self.time_logistic_model_epoch(preset, fit_intercept)

    def time_lasso_epoch(self, preset, fit_intercept):
        pb = self.pb
        self.w[self.ws] = 0.0
        self.r[:] = self.r0
        K.cd_epoch(pb.data, pb.indices, pb.indptr, self.ws, self.w, self.r, self.shift0,
                   pb.sw, pb.weighted, fit_intercept, self.xbar, self.lip, self.l1,
                   self.l2, False)

    def time_logistic_model_epoch(self, preset, fit_intercept):
        pb = self.pb
        self.w[self.ws] = 0.0
        self.e[:] = self.e0
        LK._cd_epoch(pb.data, pb.indices, pb.indptr, self.ws, self.w, self.e, 0.0,
                     self.h, 0.25 * pb.n_samples, fit_intercept, self.xbar,
                     0.25 * self.lip, self.l1, self.l2)


class LogisticDeflatedEpoch:
    """One common-mode-deflated epoch of the logistic model without intercept
    (:func:`fastsparse._logistic_kernels._deflated_epoch`: the sweep, then its exact line
    search), on the working set of :class:`CDEpoch`. Two of every three epochs of a
    no-intercept logistic fit are of this kind; compare with
    ``CDEpoch.time_logistic_model_epoch`` (fit_intercept False), the plain epoch."""

    params = (PRESETS,)
    param_names = ("preset",)
    timeout = TIMEOUT

    def setup(self, preset):
        X, y = load(preset)
        pb = prepare_problem(X, y, None, False)
        n, p = X.shape
        self.ws = frequent_columns(X)
        m = self.ws.shape[0]
        self.pb = pb
        # The model at the null point: h = 1/4, e = h * (working residual).
        self.h = np.full(n, 0.25)
        self.h_sum = 0.25 * n
        self.e0 = 0.25 * pb.y_c
        mean, centered = np.empty(m), np.empty(m)
        LK.weighted_column_stats(pb.data, pb.indices, pb.indptr, self.ws, self.h,
                                 self.h_sum, True, mean, centered)
        g = np.empty(m)
        K.xt_dot(pb.data, pb.indices, pb.indptr, self.ws, self.e0, g)
        lam = 0.01 * float(np.max(np.abs(g))) if g.size else 1.0
        self.l1 = np.broadcast_to(np.float64(lam), (p,))
        self.l2 = np.broadcast_to(np.float64(0.0), (p,))
        self.state = np.zeros(5)
        self.deflation = (mean, centered, self.state, np.empty(m), np.empty(n),
                          np.empty(m), np.empty(m))
        self.w = np.zeros(p)
        self.e = np.empty(n)
        self.time_logistic_deflated_epoch(preset)  # compile / load from the cache

    def time_logistic_deflated_epoch(self, preset):
        pb = self.pb
        self.w[self.ws] = 0.0
        self.e[:] = self.e0
        self.state[:] = 0.0
        LK._deflated_epoch(pb.data, pb.indices, pb.indptr, self.ws, self.w, self.e,
                           self.h, self.h_sum, self.l1, self.l2, self.deflation)
