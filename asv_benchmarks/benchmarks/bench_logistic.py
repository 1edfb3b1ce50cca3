"""asv benchmarks of fastsparse's LogisticRegression on generated text-like sparse data.

Run like the Lasso benchmarks (see ``bench_lasso.py`` for the commands and the
``FASTSPARSE_BENCH_PROFILE`` / ``FASTSPARSE_CACHE_DIR`` variables). Classification
presets only: ``small``/``medium`` in the small profile, ``rcv1``/``news20`` in the large
one, all with their {0, 1} classification labels.

Every benchmark fits L1 (or elastic-net) logistic regression at ``C = C_RATIO * C_min``,
``C_min = 1 / ||X_c^T (y - ybar)||_inf`` the largest C giving all-zero coefficients (for
rcv1 this gives a few hundred non-zeros), with ``tol = TOL`` (relative to the null
deviance). The timed fits run after a warm-up fit on a slice of the same data in
``setup``, so JIT compilation is not timed. For comparisons against scikit-learn, skglm
and celer at equal accuracy use ``scripts/compare_peers.py --model logistic``.
"""

import numpy as np

import fastsparse
from fastsparse.datasets import fetch_preset

from .bench_lasso import select_profile

PROFILES = {
    "small": ("small", "medium"),
    "large": ("rcv1", "news20"),
}
PROFILE, PRESETS, TIMEOUT = select_profile(PROFILES)
C_RATIO = 30.0
TOL = 1e-6


def load(preset):
    """Design matrix and {0, 1} labels of a preset, from the on-disk dataset cache."""
    X, y, _ = fetch_preset(preset, "classification")
    return X, np.asarray(y)


def c_min(X, y, l1_ratio, fit_intercept):
    """Largest C for which every coefficient is zero (X never centered).

    With an intercept the null model predicts ybar, so the gradient at w = 0 is
    X^T (y - ybar) (the centered product); without, it predicts 1/2.
    """
    y = np.asarray(y, dtype=np.float64)
    r = y - (y.mean() if fit_intercept else 0.5)
    grad = np.abs(np.asarray(X.T @ r).ravel()).max()
    return float(l1_ratio / grad) if grad > 0 else 1.0


def _warm_up(model, X, y):
    """Fit on a slice of X with both classes (same dtypes): the timed fits do not JIT."""
    n, p = min(X.shape[0], 300), min(X.shape[1], 1000)
    X_small = X[:n][:, :p].tocsc()
    X_small.sort_indices()
    y_small = np.array(y[:n])
    y_small[:2] = np.unique(y)[:2]  # both classes present
    params = model.get_params()
    model.set_params(C=10 * c_min(X_small, y_small, max(model.l1_ratio, 1e-3),
                                  model.fit_intercept))
    model.fit(X_small, y_small)
    model.set_params(**params)


class LogisticFit:
    """``fastsparse.LogisticRegression`` at ``C = C_RATIO * C_min``."""

    param_names = ["preset", "fit_intercept", "l1_ratio"]
    params = [list(PRESETS), [True, False], [1.0, 0.5]]
    timeout = TIMEOUT

    def setup(self, preset, fit_intercept, l1_ratio):
        self.X, self.y = load(preset)
        C = C_RATIO * c_min(self.X, self.y, l1_ratio, fit_intercept)
        self.model = fastsparse.LogisticRegression(
            C=C, l1_ratio=l1_ratio, fit_intercept=fit_intercept, tol=TOL)
        _warm_up(self.model, self.X, self.y)

    def _fit(self):
        return self.model.fit(self.X, self.y)

    def time_fit(self, *params):
        self._fit()

    def peakmem_fit(self, *params):
        self._fit()

    def track_dual_gap(self, *params):
        # Relative to C times the null deviance, the scale of tol: converged fits <= TOL.
        model = self._fit()
        p = float(np.mean(self.y == model.classes_[1]))
        if model.fit_intercept:
            null_dev = -2 * self.y.size * (p * np.log(p) + (1 - p) * np.log1p(-p))
        else:
            null_dev = 2 * self.y.size * np.log(2.0)
        return float(model.dual_gap_[0] / (model.C * null_dev))

    track_dual_gap.unit = "gap / (C null deviance)"

    def track_n_nonzero(self, *params):
        return int(np.count_nonzero(self._fit().coef_))

    track_n_nonzero.unit = "coefficients"
