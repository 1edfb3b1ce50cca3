"""Worker: runs in a child process, reports JSON events on stdout."""

import gc
import importlib
import json
import resource
import sys
import time
import warnings

import numpy as np

from .problems import alpha_max, load_problem, primal_dual
from .solvers import SOLVER_MODULES, make_estimator

_EVENT_PREFIX = "@@compare_peers "


def _emit(event, **fields):
    """Send one event to the parent (a marked stdout line; other output is ignored)."""
    print(_EVENT_PREFIX + json.dumps(dict(event=event, **fields)), flush=True)


def _status_kib(field):
    """A ``Vm*`` field of ``/proc/self/status`` in KiB, or None off Linux."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _maxrss_kib():
    """Peak RSS of this process so far, in KiB (``ru_maxrss`` is bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform == "darwin" else peak


def _reset_peak_rss():
    """Reset the kernel's peak RSS mark to the current RSS; False if unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")  # "5" resets VmHWM (Linux >= 4.0)
        return True
    except OSError:
        return False


class PeakMemory:
    """Context manager measuring the increase of peak RSS over the enclosed block.

    Attributes
    ----------
    extra_mib : float
        Peak RSS during the block minus RSS at its start, in MiB.
    method : str
        ``"hwm-reset"`` (exact) or ``"ru_maxrss"`` (a lower bound: an earlier, higher peak
        of the process hides part of the block's).
    """

    def __enter__(self):
        gc.collect()
        if _reset_peak_rss() and _status_kib("VmRSS") is not None:
            self.method = "hwm-reset"
            self._before = _status_kib("VmRSS")
        else:
            self.method = "ru_maxrss"
            self._before = _maxrss_kib()
        return self

    def __exit__(self, *exc):
        after = _status_kib("VmHWM") if self.method == "hwm-reset" else _maxrss_kib()
        self.extra_mib = max(after - self._before, 0) / 1024
        return False


def _warm_up_problem(X, y, fit_intercept, l1_ratio):
    """A small slice of the real data (same dtypes, so the same JIT specializations)."""
    X_small = X[: min(X.shape[0], 300)][:, : min(X.shape[1], 1000)].tocsc()
    X_small.sort_indices()
    y_small = y[: X_small.shape[0]]
    alpha = alpha_max(X_small, y_small, l1_ratio, fit_intercept) / 10
    return X_small, y_small, (alpha if alpha > 0 else 1e-3)


def measured(call):
    """Run ``call()`` timed (wall clock), under :class:`PeakMemory`, recording warnings.

    Returns (its result, seconds, the PeakMemory, the list of warnings caught).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with PeakMemory() as memory:
            start = time.perf_counter()
            out = call()
            seconds = time.perf_counter() - start
    return out, seconds, memory, caught


def warning_texts(caught):
    """The distinct warnings of :func:`measured`, as sorted "Category: message" lines."""
    return sorted({f"{w.category.__name__}: {str(w.message)[:120]}" for w in caught})


def run_ladder(spec, X, y, make, primal_dual_of):
    """Fit every rung of ``spec["tols"]`` and report a ``point`` event for each.

    ``make(tol)`` returns the unfitted estimator of a rung, ``primal_dual_of(coef,
    intercept)`` the script's primal and dual values of a returned solution. A rung is
    fitted ``spec["repeat"]`` times (default 1), keeping the best time; the ladder stops
    after the first rung whose relative gap is within ``spec["rel_gap"]``.
    """
    def fit_rung(tol):
        est = make(tol)  # built outside the timed region
        _, seconds, memory, caught = measured(lambda: est.fit(X, y))
        return est, seconds, memory, caught

    for tol in spec["tols"]:
        _emit("start", tol=tol)
        est, seconds, memory, caught = fit_rung(tol)
        for _ in range(spec.get("repeat", 1) - 1):
            # Best of several identical fits: fits of milliseconds are noisy.
            seconds = min(seconds, fit_rung(tol)[1])
        coef = np.asarray(est.coef_, dtype=np.float64).ravel()
        intercept = float(np.ravel(est.intercept_)[0]) if spec["fit_intercept"] else 0.0
        primal, dual = primal_dual_of(coef, intercept)
        gap = (primal - dual) / primal if primal > 0 else 0.0
        _emit("point", tol=tol, seconds=seconds, primal=primal, dual=dual, rel_gap=gap,
              nnz=int(np.count_nonzero(coef)), intercept=intercept,
              peak_extra_mib=memory.extra_mib, memory_method=memory.method,
              warnings=warning_texts(caught))
        if gap <= spec["rel_gap"]:
            break


def run_worker(spec):
    """Child-process entry point: warm up, then fit each rung of ``spec["tols"]``.

    Parameters
    ----------
    spec : dict
        ``solver, model, alpha, l1_ratio, fit_intercept, tols, rel_gap, preset, target,
        cache_dir`` and optionally ``repeat`` (fits per rung; the best time is kept). Stops
        after the first rung whose relative gap is within ``rel_gap``.
    """
    # Import + first fit on a small problem, so that no timed fit pays for JIT compiling.
    # The import is timed before loading the data, which imports fastsparse too.
    start = time.perf_counter()
    importlib.import_module(SOLVER_MODULES[spec["solver"]])
    import_seconds = time.perf_counter() - start
    X, y = load_problem(spec["preset"], spec["target"], spec["cache_dir"])
    start = time.perf_counter()
    X_w, y_w, alpha_w = _warm_up_problem(X, y, spec["fit_intercept"], spec["l1_ratio"])
    est = make_estimator(spec["solver"], spec["model"], alpha_w, spec["l1_ratio"],
                         spec["fit_intercept"], 1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X_w, y_w)
    _emit("warmup", seconds=import_seconds + time.perf_counter() - start)

    run_ladder(
        spec, X, y,
        lambda tol: make_estimator(spec["solver"], spec["model"], spec["alpha"],
                                   spec["l1_ratio"], spec["fit_intercept"], tol),
        lambda coef, intercept: primal_dual(X, y, coef, intercept, spec["alpha"],
                                            spec["l1_ratio"], spec["fit_intercept"]))
