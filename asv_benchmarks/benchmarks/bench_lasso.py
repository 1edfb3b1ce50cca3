"""asv benchmarks of fastsparse's Lasso and ElasticNet on generated text-like sparse data.

Commands (run from ``asv_benchmarks/``, with the project's venv, where fastsparse is
installed in editable mode; ``--python=same`` benchmarks that installation, i.e. the
working tree, instead of building an environment per commit)::

    cd asv_benchmarks
    /work/venv/bin/asv machine --yes                 # once per machine
    /work/venv/bin/asv check --python=same           # imports and lists the benchmarks
    /work/venv/bin/asv run --python=same --quick --dry-run --show-stderr   # smoke run
    /work/venv/bin/asv run --python=same --set-commit-hash=$(git rev-parse HEAD)  # save
    /work/venv/bin/asv publish && /work/venv/bin/asv preview                   # HTML
    FASTSPARSE_BENCH_PROFILE=large /work/venv/bin/asv run --python=same \\
        --set-commit-hash=$(git rev-parse HEAD)      # rcv1 / news20 / finance shapes

Environment variables:

- ``FASTSPARSE_BENCH_PROFILE``: ``small`` (default; presets ``small`` and ``medium``, the
  whole suite runs in a few minutes) or ``large`` (presets ``rcv1``, ``news20`` and
  ``finance``: generating them the first time takes minutes and about 1 GiB of disk, and
  fits take seconds each).
- ``FASTSPARSE_CACHE_DIR``: where :func:`fastsparse.datasets.fetch_preset` keeps the
  generated datasets (default ``~/.cache/fastsparse``).

Every benchmark fits at ``alpha = alpha_max / ALPHA_RATIO`` with ``tol = TOL``.
``rcv1`` and ``news20`` use their +-1 labels as a regression target, as the celer and
skglm benchmarks do; the other presets use their regression target. The timed fits run
after a warm-up fit on a slice of the same data in ``setup``, so JIT compilation is not
timed; :class:`ImportAndFirstFit` measures it. For comparisons against scikit-learn,
skglm and celer at equal accuracy use ``scripts/compare_peers.py``.
"""

import os

import numpy as np

import fastsparse
from fastsparse.datasets import fetch_preset

def select_profile(profiles):
    """The benchmark profile chosen by ``FASTSPARSE_BENCH_PROFILE`` (default ``small``).

    Parameters
    ----------
    profiles : dict
        Profile name -> tuple of preset names.

    Returns
    -------
    profile : str
    presets : tuple of str
    timeout : float
        asv timeout per benchmark (the first setup of a large preset generates it).
    """
    profile = os.environ.get("FASTSPARSE_BENCH_PROFILE", "small")
    if profile not in profiles:
        raise ValueError(
            f"FASTSPARSE_BENCH_PROFILE={profile!r}: choose one of {sorted(profiles)}"
        )
    return profile, profiles[profile], (1800.0 if profile == "large" else 300.0)


PROFILES = {
    "small": ("small", "medium"),
    "large": ("rcv1", "news20", "finance"),
}
PROFILE, PRESETS, TIMEOUT = select_profile(PROFILES)

#: Presets whose classification labels (mapped to +-1) are the regression target.
LABEL_PRESETS = ("rcv1", "news20")
ALPHA_RATIO = 10.0
TOL = 1e-6


def load(preset):
    """Design matrix and target of a preset, from the on-disk dataset cache.

    Parameters
    ----------
    preset : str
        Name of a :data:`fastsparse.datasets.PRESETS` entry.

    Returns
    -------
    X : scipy.sparse.csc_matrix
        Design matrix.
    y : ndarray
        Target (labels in {-1, +1} for :data:`LABEL_PRESETS`).
    """
    if preset in LABEL_PRESETS:
        X, y, _ = fetch_preset(preset, "classification")
        return X, 2.0 * y - 1.0
    X, y, _ = fetch_preset(preset, "regression")
    return X, y


def alpha_max(X, y, l1_ratio, fit_intercept):
    """Smallest alpha giving all-zero coefficients, without centering X.

    ``X_c^T y_c = X^T y - xbar * sum(y)``: the centered product from the sparse one.
    """
    n = X.shape[0]
    grad = np.asarray(X.T @ y).ravel()
    if fit_intercept:
        grad = grad - np.asarray(X.sum(axis=0)).ravel() / n * y.sum()
    return float(np.abs(grad).max() / (n * l1_ratio))


def null_deviance(y, fit_intercept):
    """``||y - ybar||^2 / n``: the scale ``tol`` and the gap are measured in."""
    centered = y - y.mean() if fit_intercept else y
    return float(centered @ centered / y.size)


def _warm_up(model, X, y):
    """Fit on a slice of X (same dtypes), so that the timed fits do not JIT-compile."""
    n, p = min(X.shape[0], 300), min(X.shape[1], 1000)
    X_small = X[:n][:, :p].tocsc()
    X_small.sort_indices()
    y_small = y[:n]
    params = model.get_params()
    l1_ratio = params.get("l1_ratio", 1.0)
    # The slice's own alpha_max / 10: a fit with active features runs every kernel.
    alpha = alpha_max(X_small, y_small, l1_ratio, model.fit_intercept) / 10
    model.set_params(alpha=alpha if alpha > 0 else 1e-3)  # an all-zero slice: any alpha
    model.fit(X_small, y_small)
    model.set_params(**params)


def _peak_extra_mib(func):
    """Increase of this process's peak RSS while ``func`` runs, in MiB (Linux only).

    Writing "5" to ``/proc/self/clear_refs`` resets the peak to the current RSS, so
    the result excludes the data loaded in ``setup``, unlike ``peakmem_`` benchmarks,
    which report the peak of the whole process.
    """
    def status_kib(field):
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise OSError(f"{field} not in /proc/self/status")

    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
    before = status_kib("VmRSS")
    func()
    return max(status_kib("VmHWM") - before, 0) / 1024


class _FitBenchmark:
    """Benchmarks shared by Lasso and ElasticNet; subclasses define ``_make``."""

    timeout = TIMEOUT

    def setup(self, preset, fit_intercept, l1_ratio=1.0):
        self.X, self.y = load(preset)
        alpha = alpha_max(self.X, self.y, l1_ratio, fit_intercept) / ALPHA_RATIO
        self.model = self._make(alpha, fit_intercept, l1_ratio)
        _warm_up(self.model, self.X, self.y)

    def _fit(self):
        return self.model.fit(self.X, self.y)

    def time_fit(self, *params):
        self._fit()

    def peakmem_fit(self, *params):
        self._fit()

    def track_dual_gap(self, preset, fit_intercept, *params):
        # Relative to the null deviance, the scale of tol: converged fits are <= TOL.
        return self._fit().dual_gap_ / null_deviance(self.y, fit_intercept)

    track_dual_gap.unit = "gap / null deviance"

    def track_n_nonzero(self, *params):
        return int(np.count_nonzero(self._fit().coef_))

    track_n_nonzero.unit = "coefficients"

    def track_peak_extra_memory(self, *params):
        try:
            return _peak_extra_mib(self._fit)
        except OSError:  # no /proc: not Linux
            return float("nan")

    track_peak_extra_memory.unit = "MiB"


class LassoFit(_FitBenchmark):
    """``fastsparse.Lasso`` at ``alpha_max / ALPHA_RATIO``."""

    param_names = ["preset", "fit_intercept"]
    params = [list(PRESETS), [True, False]]

    def _make(self, alpha, fit_intercept, l1_ratio):
        return fastsparse.Lasso(alpha=alpha, fit_intercept=fit_intercept, tol=TOL)


class ElasticNetFit(_FitBenchmark):
    """``fastsparse.ElasticNet`` at ``alpha_max / ALPHA_RATIO`` (alpha_max for its l1_ratio)."""

    param_names = ["preset", "fit_intercept", "l1_ratio"]
    params = [list(PRESETS), [True, False], [1.0, 0.5]]

    def _make(self, alpha, fit_intercept, l1_ratio):
        return fastsparse.ElasticNet(alpha=alpha, l1_ratio=l1_ratio,
                                     fit_intercept=fit_intercept, tol=TOL)


# The timed statement of ImportAndFirstFit: the import of fastsparse and the first fit
# are what a user waits for in a fresh interpreter.
_FIRST_FIT_STMT = """
import fastsparse
fastsparse.Lasso(alpha=alpha, tol=1e-6).fit(X, y)
"""

# Untimed preparation in the same fresh interpreter. It must not import numba before
# NUMBA_CACHE_DIR is set, or the variable would be read too late.
_FIRST_FIT_SETUP = """
import atexit, os, shutil, tempfile
if {cold}:
    cache = tempfile.mkdtemp(prefix="fastsparse-bench-numba-")
    atexit.register(shutil.rmtree, cache, True)
    os.environ["NUMBA_CACHE_DIR"] = cache
import numpy as np
import scipy.sparse as sp
rng = np.random.default_rng(0)
X = sp.random(2000, 5000, density=0.005, format="csc", random_state=rng)
y = X @ rng.standard_normal(5000) + 1.0
alpha = np.abs(X.T @ (y - y.mean())).max() / X.shape[0] / 10
"""


class ImportAndFirstFit:
    """``import fastsparse`` plus a first small fit, in a fresh interpreter.

    ``numba_cache="cold"`` points Numba at an empty cache directory, so this is the
    full JIT compilation a first-time user pays; ``"on-disk"`` uses Numba's usual
    cache next to the sources (filled by earlier runs), the cost of every later process.
    """

    param_names = ["numba_cache"]
    params = [["cold", "on-disk"]]
    number = 1  # a second call in the same process would no longer be a first fit
    repeat = (1, 3, 120.0)
    timeout = 300.0

    def timeraw_import_and_first_fit(self, numba_cache):
        return _FIRST_FIT_STMT, _FIRST_FIT_SETUP.format(cold=numba_cache == "cold")
