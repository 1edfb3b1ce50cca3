#!/usr/bin/env python
"""Compare fastsparse with scikit-learn, skglm and celer at equal accuracy.

Speed is only comparable at equal accuracy, and every solver means something different by
its ``tol``. So this script does not trust any solver's own stopping rule: for each solver
it walks a ladder of that solver's tolerance parameter, from loose to tight, and computes
the relative duality gap of every returned ``(coef_, intercept_)`` itself (see
:func:`relative_gap`). The first rung whose gap is within ``--rel-gap`` is the solver's
result; its wall time (``time.perf_counter`` around ``fit`` only) is the reported time.
All rungs together give the suboptimality-versus-time curves of ``--plot``.

Every solver runs in child processes of this script (``--worker``), which load the data
from the on-disk cache of :func:`fastsparse.datasets.fetch_preset`:

- the *ladder* process warms the solver up on a small slice of the same data (so JIT
  compilation is not timed), then fits each rung. The parent kills it when one fit takes
  longer than ``--timeout``, and the solver is reported as ``> timeout``. For fastsparse
  this process starts with an empty Numba cache, so its warm-up measures the real
  import + compile + first fit cost, reported separately;
- a fresh *memory* process refits the chosen rung alone and measures the increase of the
  peak resident set size during that fit (Linux: peak RSS reset through
  ``/proc/self/clear_refs`` just before the fit; elsewhere ``ru_maxrss`` after minus
  before, a lower bound). Its warm-up time is fastsparse's first fit with the on-disk
  Numba cache.

``--path`` compares whole Lasso paths instead: every solver gets the same grid of
``--n-alphas`` alphas from alpha_max down to ``--eps * alpha_max`` (computed once by this
script, respecting the intercept) and its ladder stops at the first tolerance whose
WORST relative gap over the grid is within ``--rel-gap`` (the time is the whole path).
The report says how each peer's path was run (:data:`PATH_METHODS`). ``--cv`` times a
k-fold ``LassoCV`` of fastsparse and scikit-learn on such a grid and reports its peak
extra memory relative to the size of X.

Run ``python scripts/compare_peers.py --help`` for the options and examples.
"""

import argparse
import gc
import importlib.metadata
import importlib.util
import json
import os
import platform
import queue
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np

# --------------------------------------------------------------------------------------
# Problem: data, alpha_max and the script's own duality gap
# --------------------------------------------------------------------------------------

#: Presets whose default target is the +-1 labels used as a regression target, the way
#: the celer and skglm papers benchmark the Lasso on rcv1 and news20.
_LABEL_PRESETS = ("rcv1", "news20", "url")


def default_target(preset):
    """Target kind used when ``--target`` is not given.

    Parameters
    ----------
    preset : str
        Name of a :data:`fastsparse.datasets.PRESETS` entry.

    Returns
    -------
    target : {"labels", "regression"}
        ``"labels"`` for the classification-shaped presets, else ``"regression"``.
    """
    return "labels" if preset in _LABEL_PRESETS else "regression"


def load_problem(preset, target, cache_dir=None):
    """Load a preset from the disk cache and build the regression target.

    Parameters
    ----------
    preset : str
        Name of a :data:`fastsparse.datasets.PRESETS` entry.
    target : {"regression", "labels"}
        ``"labels"`` uses the classification labels mapped from {0, 1} to {-1, +1} as a
        least-squares target.
    cache_dir : str or path-like, default=None
        Cache directory of :func:`fastsparse.datasets.fetch_preset`.

    Returns
    -------
    X : scipy.sparse.csc_matrix of shape (n_samples, n_features)
        Design matrix.
    y : ndarray of shape (n_samples,)
        Target.
    """
    from fastsparse.datasets import fetch_preset

    task = "classification" if target == "labels" else "regression"
    X, y, _ = fetch_preset(preset, task, cache_dir=cache_dir)
    if target == "labels":
        y = 2.0 * y - 1.0
    return X, np.asarray(y, dtype=np.float64)


def matrix_nbytes(X):
    """Bytes held by the ``data``, ``indices`` and ``indptr`` arrays of a CSC matrix."""
    return int(X.data.nbytes + X.indices.nbytes + X.indptr.nbytes)


def alpha_max(X, y, l1_ratio=1.0, fit_intercept=True):
    """Smallest ``alpha`` for which all coefficients are zero.

    Parameters
    ----------
    X : scipy.sparse matrix of shape (n_samples, n_features)
        Design matrix. It is never densified or centered.
    y : ndarray of shape (n_samples,)
        Target.
    l1_ratio : float, default=1.0
        Share of the L1 penalty, in (0, 1].
    fit_intercept : bool, default=True
        Whether the intercept is fitted, i.e. whether X and y are implicitly centered.

    Returns
    -------
    alpha_max : float
        ``||X_c^T y_c||_inf / (n * l1_ratio)``.
    """
    n = X.shape[0]
    y = np.asarray(y, dtype=np.float64)
    grad = np.asarray(X.T @ y, dtype=np.float64).ravel()
    if fit_intercept:
        # X_c^T y_c = X^T y - xbar * sum(y): the centered product from the sparse one.
        xbar = np.asarray(X.sum(axis=0), dtype=np.float64).ravel() / n
        grad -= xbar * y.sum()
    return float(np.max(np.abs(grad)) / (n * l1_ratio))


def primal_dual(X, y, coef, intercept, alpha, l1_ratio=1.0, fit_intercept=True):
    """Primal and dual objective values of a returned solution.

    Parameters
    ----------
    X : scipy.sparse matrix of shape (n_samples, n_features)
        Design matrix, never densified.
    y : ndarray of shape (n_samples,)
        Target.
    coef : array-like of shape (n_features,)
        Returned coefficients.
    intercept : float
        Returned intercept (ignored by the dual when ``fit_intercept=False``).
    alpha : float
        Regularization strength.
    l1_ratio : float, default=1.0
        Share of the L1 penalty, in (0, 1].
    fit_intercept : bool, default=True
        Whether the intercept was fitted.

    Returns
    -------
    primal : float
        ``1/(2n) ||y - Xw - b||^2 + alpha (l1_ratio ||w||_1 + (1 - l1_ratio)/2 ||w||^2)``
        with the returned ``b``.
    dual : float
        Dual objective (also divided by n) at the dual point built from the residual.

    Notes
    -----
    With an intercept the dual point must sum to zero, so the residual is centered; this
    also makes ``X^T theta`` equal to the centered product, so no centering of X is needed.
    For the Lasso the point is rescaled into the dual feasible set and
    ``D = (||y_c||^2 - ||y_c - theta||^2) / (2n)``. For the elastic net the conjugate of the
    penalty is finite everywhere, so no rescaling is needed and
    ``D = (||y_c||^2 - ||y_c - theta||^2) / (2n)
    - sum_j max(|x_j^T theta| - n alpha rho, 0)^2 / (2 n^2 alpha (1 - rho))``,
    the Lasso dual of the augmented design of DESIGN.md section 2 after optimizing out the
    extra dual coordinates.
    """
    n = X.shape[0]
    y = np.asarray(y, dtype=np.float64)
    w = np.asarray(coef, dtype=np.float64).ravel()
    residual = y - np.asarray(X @ w, dtype=np.float64).ravel() - float(intercept)
    penalty = l1_ratio * np.abs(w).sum() + 0.5 * (1.0 - l1_ratio) * (w @ w)
    primal = 0.5 * (residual @ residual) / n + alpha * penalty

    if fit_intercept:
        theta = residual - residual.mean()
        y_c = y - y.mean()
    else:
        theta = residual
        y_c = y
    correlations = np.asarray(X.T @ theta, dtype=np.float64).ravel()
    lam_l1 = n * alpha * l1_ratio
    if l1_ratio >= 1.0:
        scale = max(1.0, np.max(np.abs(correlations), initial=0.0) / lam_l1)
        theta = theta / scale
        conjugate = 0.0
    else:
        excess = np.maximum(np.abs(correlations) - lam_l1, 0.0)
        conjugate = (excess @ excess) / (2.0 * n * alpha * (1.0 - l1_ratio))
    diff = y_c - theta
    dual = 0.5 * ((y_c @ y_c) - (diff @ diff)) / n - conjugate / n
    return float(primal), float(dual)


def relative_gap(X, y, coef, intercept, alpha, l1_ratio=1.0, fit_intercept=True):
    """Relative duality gap ``(P - D) / P`` of a returned solution.

    Computed independently of the solver that produced ``coef``, from the residual only:
    see :func:`primal_dual` for the formulas. Parameters are those of :func:`primal_dual`.

    Returns
    -------
    gap : float
        Relative duality gap, an upper bound on the relative suboptimality
        ``(P - P*) / P``. Values of about ``-1e-16`` are round-off of an exact solution.
    """
    primal, dual = primal_dual(X, y, coef, intercept, alpha, l1_ratio, fit_intercept)
    if primal <= 0.0:
        return 0.0
    return (primal - dual) / primal


# --------------------------------------------------------------------------------------
# Solvers
# --------------------------------------------------------------------------------------

#: Module that must be importable for each solver.
SOLVER_MODULES = {
    "fastsparse": "fastsparse",
    "sklearn": "sklearn",
    "skglm": "skglm",
    "celer": "celer",
}

#: Default tolerance ladder, loose to tight, shared by all solvers.
DEFAULT_TOLS = tuple(10.0 ** -k for k in range(2, 13))


def installed_solvers():
    """Solvers whose package can be imported here, in display order."""
    return [name for name, module in SOLVER_MODULES.items()
            if importlib.util.find_spec(module) is not None]


def make_estimator(solver, model, alpha, l1_ratio, fit_intercept, tol):
    """Build a solver's estimator for one rung of the ladder.

    Parameters
    ----------
    solver : {"fastsparse", "sklearn", "skglm", "celer"}
        Which library.
    model : {"lasso", "enet"}
        Lasso or elastic net.
    alpha, l1_ratio : float
        Penalty, with the scikit-learn parametrization (all four libraries share it).
    fit_intercept : bool
        Whether to fit an intercept.
    tol : float
        The solver's own tolerance parameter.

    Returns
    -------
    estimator : object
        Unfitted estimator with a scikit-learn ``fit`` method.

    Notes
    -----
    Iteration caps are raised far above the defaults so that only ``tol`` decides when a
    solver stops; the ladder and ``--timeout`` bound the work instead.
    """
    kwargs = dict(alpha=alpha, tol=tol, fit_intercept=fit_intercept)
    if model == "enet":
        kwargs["l1_ratio"] = l1_ratio
    if solver == "fastsparse":
        import fastsparse as lib
        kwargs["max_iter"] = 10_000  # outer working-set iterations
    elif solver == "sklearn":
        import sklearn.linear_model as lib
        kwargs["max_iter"] = 10**6  # epochs over all features
    elif solver == "skglm":
        import skglm as lib
        kwargs["max_iter"] = 10_000  # outer working-set iterations
    elif solver == "celer":
        import celer as lib
        kwargs["max_iter"] = 10_000  # outer working-set iterations
    else:
        raise ValueError(f"unknown solver {solver!r}; choose from {sorted(SOLVER_MODULES)}")
    cls = lib.Lasso if model == "lasso" else lib.ElasticNet
    return cls(**kwargs)


# --------------------------------------------------------------------------------------
# Worker: runs in a child process, reports JSON events on stdout
# --------------------------------------------------------------------------------------

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


def _timed_fit(spec, X, y, tol):
    """Fit one rung; return the estimator, its wall time and the warnings it raised."""
    est = make_estimator(spec["solver"], spec["model"], spec["alpha"], spec["l1_ratio"],
                         spec["fit_intercept"], tol)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with PeakMemory() as memory:
            start = time.perf_counter()
            est.fit(X, y)
            seconds = time.perf_counter() - start
    messages = sorted({f"{w.category.__name__}: {str(w.message)[:120]}" for w in caught})
    return est, seconds, memory, messages


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

    for tol in spec["tols"]:
        _emit("start", tol=tol)
        est, seconds, memory, messages = _timed_fit(spec, X, y, tol)
        for _ in range(spec.get("repeat", 1) - 1):
            # Best of several identical fits: fits of milliseconds are noisy.
            seconds = min(seconds, _timed_fit(spec, X, y, tol)[1])
        coef = np.asarray(est.coef_, dtype=np.float64).ravel()
        intercept = float(np.ravel(est.intercept_)[0]) if spec["fit_intercept"] else 0.0
        primal, dual = primal_dual(X, y, coef, intercept, spec["alpha"], spec["l1_ratio"],
                                   spec["fit_intercept"])
        gap = (primal - dual) / primal if primal > 0 else 0.0
        _emit("point", tol=tol, seconds=seconds, primal=primal, dual=dual, rel_gap=gap,
              nnz=int(np.count_nonzero(coef)), intercept=intercept,
              peak_extra_mib=memory.extra_mib, memory_method=memory.method,
              warnings=messages)
        if gap <= spec["rel_gap"]:
            break


# --------------------------------------------------------------------------------------
# Parent: drive the workers with a timeout
# --------------------------------------------------------------------------------------

#: Bound on loading + warm-up of a worker (compiling skglm takes several seconds).
_STARTUP_TIMEOUT = 600.0


def _read_events(stream, events):
    """Reader thread: forward parsed events, then None at end of stream."""
    for line in stream:
        if line.startswith(_EVENT_PREFIX):
            events.put(json.loads(line[len(_EVENT_PREFIX):]))
    events.put(None)


def _kill(proc):
    """Kill the worker's whole process group (it was started in its own session)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _collect_events(proc, events, timeout):
    """Gather a worker's events until it exits, killing it when a fit exceeds ``timeout``."""
    result = dict(status="ok", warmup_seconds=None, points=[])
    deadline = time.monotonic() + _STARTUP_TIMEOUT
    current_tol = None
    while True:
        try:
            event = events.get(timeout=max(deadline - time.monotonic(), 0.0))
        except queue.Empty:
            _kill(proc)
            if current_tol is None:
                result.update(status="error", error="worker start-up timed out")
            else:
                result.update(status="timeout", timeout_tol=current_tol)
            return result
        if event is None:  # end of the worker's output
            return result
        if event["event"] == "warmup":
            result["warmup_seconds"] = event["seconds"]
        elif event["event"] == "start":
            current_tol = event["tol"]
            deadline = time.monotonic() + timeout
        elif event["event"] == "fitted":
            # The fit is over; the worker now computes gaps (--path: one per alpha).
            deadline = time.monotonic() + _STARTUP_TIMEOUT
        elif event["event"] == "point":
            result["points"].append(event)
            current_tol = None
            # Until the next "start" the worker only computes a gap: no real bound.
            deadline = time.monotonic() + _STARTUP_TIMEOUT


def run_solver_process(spec, timeout, env=None):
    """Run one worker and collect its events, killing it when a fit exceeds ``timeout``.

    Parameters
    ----------
    spec : dict
        Worker specification, see :func:`run_worker`.
    timeout : float
        Longest allowed single fit, in seconds.
    env : dict, default=None
        Environment of the child; None inherits this one.

    Returns
    -------
    result : dict
        ``status`` ("ok", "timeout" or "error"), ``warmup_seconds``, ``points`` (one dict
        per completed rung), and ``timeout_tol`` or ``error`` where relevant.
    """
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)]
    with tempfile.TemporaryFile("w+") as stderr:
        # Own session: a timeout kills the worker and anything it started, nothing else.
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, text=True,
                                env=env, start_new_session=True)
        try:
            events = queue.Queue()
            reader = threading.Thread(target=_read_events, args=(proc.stdout, events),
                                      daemon=True)
            reader.start()
            result = _collect_events(proc, events, timeout)
            returncode = proc.wait()
            reader.join(timeout=5)
        finally:
            # Ctrl-C or an error here: the worker, in its own session, would not get the
            # SIGINT and would keep running.
            if proc.poll() is None:
                _kill(proc)
        if result["status"] == "ok" and returncode != 0:
            stderr.seek(0)
            tail = stderr.read().strip().splitlines()[-1:] or [f"exit code {returncode}"]
            result.update(status="error", error=tail[0])
    return result


def _cold_numba_env(tmpdir):
    """Environment whose Numba on-disk cache is empty, to time a real first compile."""
    env = dict(os.environ)
    env["NUMBA_CACHE_DIR"] = str(tmpdir)
    return env


def _chosen_point(points, rel_gap):
    """First rung of the ladder within the requested gap, or None."""
    return next((p for p in points if p["rel_gap"] <= rel_gap), None)


def compare_solver(solver, base_spec, args, cold_compile):
    """Ladder run plus isolated memory run of one solver at one alpha.

    Parameters
    ----------
    solver : str
        Solver name.
    base_spec : dict
        Worker specification without ``solver`` and ``tols``.
    args : argparse.Namespace
        Parsed options (``tols``, ``timeout``, ``memory_run``).
    cold_compile : bool
        Run the ladder with an empty Numba cache (fastsparse only).

    Returns
    -------
    summary : dict
        The ladder result of :func:`run_solver_process` plus ``chosen`` (the rung that
        reached the gap, or None) and ``memory`` (the isolated run's point, or None).
    """
    spec = dict(base_spec, solver=solver, tols=list(args.tols))
    if cold_compile:
        with tempfile.TemporaryDirectory(prefix="numba-cold-") as tmpdir:
            ladder = run_solver_process(spec, args.timeout, env=_cold_numba_env(tmpdir))
    else:
        ladder = run_solver_process(spec, args.timeout)
    ladder["cold_compile"] = cold_compile
    ladder["chosen"] = _chosen_point(ladder["points"], spec["rel_gap"])
    ladder["memory"] = None
    ladder["memory_warmup_seconds"] = None
    if ladder["chosen"] is not None and args.memory_run:
        # A fresh process, so that nothing left by the earlier rungs hides the peak.
        mem = run_solver_process(dict(spec, tols=[ladder["chosen"]["tol"]]),
                                 2 * args.timeout)
        if mem["points"]:
            ladder["memory"] = mem["points"][0]
            ladder["memory_warmup_seconds"] = mem["warmup_seconds"]
    return ladder


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------


def _git_revision():
    """Short commit of the checkout this script lives in, with a dirty marker."""
    root = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain",
                                "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (rev + ("-dirty" if dirty else "")) or None


def _cpu_model():
    """CPU model name from /proc/cpuinfo, else platform.processor()."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_info():
    """Machine, CPU count and package versions, as a JSON-serialisable dict."""
    versions = {}
    for package in ("fastsparse", "numpy", "scipy", "scikit-learn", "numba", "skglm",
                    "celer"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return dict(platform=platform.platform(), cpu=_cpu_model(), cpu_count=os.cpu_count(),
                usable_cpus=usable, python=platform.python_version(), versions=versions,
                fastsparse_git=_git_revision())


def format_machine(info):
    """One Markdown paragraph describing the machine."""
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items() if v is not None)
    git = f" (git {info['fastsparse_git']})" if info["fastsparse_git"] else ""
    return (f"Machine: {info['platform']}, {info['cpu']}, {info['cpu_count']} logical CPUs "
            f"({info['usable_cpus']} usable), Python {info['python']}.  \n"
            f"Packages: {versions}{git}.")


def _fmt_mib(value):
    return "-" if value is None else f"{value:.1f}"


def _solver_row(name, res, fs_seconds, x_mib, timeout, bold):
    """Cells of one table row."""
    chosen = res["chosen"]
    shown = chosen or (min(res["points"], key=lambda p: p["rel_gap"]) if res["points"]
                       else None)
    if chosen is not None:
        time_cell = f"{chosen['seconds']:.3f}"
        ratio = f"{chosen['seconds'] / fs_seconds:.2f}" if fs_seconds else "-"
        tol_cell = f"{chosen['tol']:.0e}"
    elif res["status"] == "timeout":
        time_cell, ratio = f"> {timeout:g}", "-"
        tol_cell = f"{res['timeout_tol']:.0e} timed out"
    elif res["status"] == "error":
        time_cell, ratio, tol_cell = "error", "-", res.get("error", "")[:60]
    else:
        time_cell, ratio, tol_cell = "not reached", "-", "ladder exhausted"
    memory = res["memory"] or chosen
    peak = memory["peak_extra_mib"] if memory else None
    cells = [
        name, time_cell, ratio,
        f"{shown['primal']:.10g}" if shown else "-",
        f"{shown['rel_gap']:.1e}" if shown else "-",
        str(shown["nnz"]) if shown else "-",
        _fmt_mib(peak),
        f"{peak / x_mib:.2f}" if peak is not None and x_mib > 0 else "-",
        tol_cell,
    ]
    if bold:
        cells[0], cells[1] = f"**{cells[0]}**", f"**{cells[1]}**"
    return cells


def fastest_peer(results):
    """Name of the fastest solver other than fastsparse that reached the gap, or None."""
    peers = {name: res["chosen"]["seconds"] for name, res in results.items()
             if name != "fastsparse" and res["chosen"] is not None}
    return min(peers, key=peers.get) if peers else None


def format_table(results, x_mib, timeout):
    """Markdown table of one alpha, followed by the speed-up line.

    Parameters
    ----------
    results : dict
        Solver name -> summary from :func:`compare_solver`.
    x_mib : float
        Size of X in MiB (data + indices + indptr).
    timeout : float
        The per-fit timeout, shown for timed-out solvers.

    Returns
    -------
    text : str
        The table and the summary lines.
    """
    header = ["solver", "time (s)", "ratio to fastsparse", "objective", "rel gap (script)",
              "nnz", "peak extra memory (MiB)", "peak / size of X", "tol used"]
    fs = results.get("fastsparse")
    fs_seconds = fs["chosen"]["seconds"] if fs and fs["chosen"] else None
    best = fastest_peer(results)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, res in results.items():
        cells = _solver_row(name, res, fs_seconds, x_mib, timeout, bold=name == best)
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    if fs is None:
        lines.append("fastsparse was not run: no speed-up to report.")
    elif fs_seconds is None:
        lines.append("fastsparse did not reach the requested gap: no speed-up to report.")
    elif best is None:
        lines.append("No peer reached the requested gap: no speed-up to report.")
    else:
        speedup = results[best]["chosen"]["seconds"] / fs_seconds
        lines.append(f"Speed-up of fastsparse over the fastest peer ({best}): "
                     f"**{speedup:.2f}x**" + (" (fastsparse is slower)" if speedup < 1 else ""))
    if fs is not None:
        lines.append(_compile_line(fs))
    return "\n".join(lines)


def _compile_line(fs):
    """fastsparse's first-fit costs, which the timed fits exclude."""
    cold = "empty Numba cache" if fs["cold_compile"] else "Numba cache as found"
    parts = []
    if fs["warmup_seconds"] is not None:
        parts.append(f"{fs['warmup_seconds']:.2f} s ({cold})")
    if fs["memory_warmup_seconds"] is not None:
        parts.append(f"{fs['memory_warmup_seconds']:.2f} s (on-disk Numba cache)")
    if not parts:
        return "fastsparse first fit: not measured."
    return ("fastsparse load + import + JIT + first fit on a small slice, excluded from "
            "the times above: " + "; ".join(parts) + ".")


def plot_curves(all_results, rel_gap, path):
    """Suboptimality versus time, one panel per alpha and one curve per solver.

    The suboptimality of a rung is ``(P - D_best) / P`` with ``D_best`` the best dual value
    any solver reached at that alpha: a certified upper bound on ``(P - P*) / P``, and
    positive, so it fits a log scale. Each rung is a separate run, so timing noise can
    make a looser rung slower than a tighter one: the markers show every run and the line
    the best suboptimality reached by any run of at most that duration.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(all_results), figsize=(5.5 * len(all_results), 4.2),
                             squeeze=False)
    for ax, entry in zip(axes[0], all_results):
        points = [p for res in entry["solvers"].values() for p in res["points"]]
        if not points:
            continue
        best_dual = max(p["dual"] for p in points)
        for name, res in entry["solvers"].items():
            if not res["points"]:
                continue
            ordered = sorted(res["points"], key=lambda p: p["seconds"])
            t = np.array([p["seconds"] for p in ordered])
            sub = np.array([max((p["primal"] - best_dual) / p["primal"], 1e-16)
                            for p in ordered])
            line, = ax.step(t, np.minimum.accumulate(sub), where="post", label=name)
            ax.plot(t, sub, "o", color=line.get_color(), alpha=0.6)
        ax.axhline(rel_gap, color="grey", linestyle=":", label="requested rel gap")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("fit time (s)")
        ax.set_ylabel("(P - D_best) / P")
        ax.set_title(f"alpha = alpha_max / {entry['alpha_ratio']:g}")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# --------------------------------------------------------------------------------------
# Path mode (--path): a whole regularization path per rung of the ladder
# --------------------------------------------------------------------------------------

#: How each solver's path is run, by ``fit_intercept``: the text of the report.
PATH_METHODS = {
    ("fastsparse", True): "`fastsparse.lasso_path(X, y, alphas=grid, tol=tol, "
                          "tol_scale='objective', fit_intercept=True, max_iter=10_000)`: "
                          "one call (tol is the relative gap of every alpha); intercepts "
                          "from `result.intercepts`.",
    ("fastsparse", False): "`fastsparse.lasso_path(X, y, alphas=grid, tol=tol, "
                           "tol_scale='objective', fit_intercept=False, "
                           "max_iter=10_000)`: one call (tol is the relative gap of every "
                           "alpha).",
    ("sklearn", True): "loop over the grid of one `sklearn.linear_model.Lasso(alpha=a, "
                       "tol=tol, max_iter=10**6, fit_intercept=True, warm_start=True, "
                       "copy_X=False)`, refitted at each alpha (warm-started from the "
                       "previous coef_): sklearn's `lasso_path` fits no intercept and "
                       "needs centered data, which would densify sparse X.",
    ("sklearn", False): "`sklearn.linear_model.lasso_path(X, y, alphas=grid, tol=tol, "
                        "max_iter=10**6, copy_X=False)`: one call.",
    ("celer", True): "`celer.celer_path(X, y - ybar, 'lasso', alphas=grid, tol=tol, "
                     "max_iter=10_000, prune=1, X_offset=xbar, X_scale=ones)`: one call; "
                     "celer centers sparse X implicitly through its documented X_offset "
                     "(the column means; what `celer.Lasso.fit` passes for one alpha), and "
                     "the intercepts are `ybar - xbar @ coef`.",
    ("celer", False): "`celer.celer_path(X, y, 'lasso', alphas=grid, tol=tol, "
                      "max_iter=10_000, prune=1)`: one call.",
    ("skglm", True): "`skglm.Lasso(tol=tol, max_iter=10_000, fit_intercept=True)"
                     ".path(X, y, grid)` (AndersonCD.path, warm-started; the intercept is "
                     "the last row of the returned coefs): one call.",
    ("skglm", False): "`skglm.Lasso(tol=tol, max_iter=10_000, fit_intercept=False)"
                      ".path(X, y, grid)` (AndersonCD.path, warm-started): one call.",
}

#: Short label of each path method, for the table.
PATH_LABELS = {
    ("fastsparse", True): "lasso_path", ("fastsparse", False): "lasso_path",
    ("sklearn", True): "Lasso(warm_start) loop", ("sklearn", False): "lasso_path",
    ("celer", True): "celer_path + X_offset", ("celer", False): "celer_path",
    ("skglm", True): "Lasso.path", ("skglm", False): "Lasso.path",
}


def alpha_path_grid(X, y, n_alphas, eps, fit_intercept):
    """Geometric grid from :func:`alpha_max` down to ``eps * alpha_max`` (decreasing).

    Parameters
    ----------
    X : scipy.sparse matrix of shape (n_samples, n_features)
        Design matrix, never centered.
    y : ndarray of shape (n_samples,)
        Target.
    n_alphas : int
        Number of alphas.
    eps : float
        ``alpha_min / alpha_max``.
    fit_intercept : bool
        Whether alpha_max accounts for an intercept.

    Returns
    -------
    alphas : ndarray of shape (n_alphas,)
        The grid every solver is given.
    """
    a_max = alpha_max(X, y, 1.0, fit_intercept)
    if not a_max > 0:
        raise ValueError("alpha_max is zero: the target is constant (or X is zero).")
    return np.geomspace(a_max, a_max * eps, num=n_alphas)


def _path_column(coefs, k):
    """Column k of a dense or sparse (n_features, n_alphas) coefficient matrix."""
    if hasattr(coefs, "tocsc"):
        return np.asarray(coefs[:, [k]].toarray(), dtype=np.float64).ravel()
    return np.asarray(coefs[:, k], dtype=np.float64)


def path_relative_gaps(X, y, coefs, intercepts, alphas, fit_intercept):
    """Relative duality gap (:func:`relative_gap`) at every alpha of a returned path.

    Parameters
    ----------
    X : scipy.sparse matrix of shape (n_samples, n_features)
        Design matrix.
    y : ndarray of shape (n_samples,)
        Target.
    coefs : ndarray or scipy.sparse matrix of shape (n_features, n_alphas)
        Returned coefficients, one column per alpha.
    intercepts : array-like of shape (n_alphas,)
        Returned intercepts (ignored when ``fit_intercept=False``).
    alphas : array-like of shape (n_alphas,)
        The grid.
    fit_intercept : bool
        Whether the intercept was fitted.

    Returns
    -------
    gaps : ndarray of shape (n_alphas,)
        Lasso relative gap of each column, computed from the residual only.
    """
    return np.array([
        relative_gap(X, y, _path_column(coefs, k), float(intercepts[k]) if fit_intercept
                     else 0.0, float(a), 1.0, fit_intercept)
        for k, a in enumerate(alphas)
    ])


def summarize_path_gaps(gaps, rel_gap):
    """Worst and median relative gap over the grid, and how many alphas exceed ``rel_gap``.

    Returns
    -------
    summary : dict
        ``worst_rel_gap``, ``median_rel_gap``, ``n_above`` and ``worst_index``.
    """
    gaps = np.asarray(gaps, dtype=np.float64)
    return dict(worst_rel_gap=float(gaps.max()), median_rel_gap=float(np.median(gaps)),
                n_above=int(np.count_nonzero(gaps > rel_gap)),
                worst_index=int(np.argmax(gaps)))


def _csc_from_columns(columns, n_features):
    """CSC matrix of shape (n_features, len(columns)) from (indices, values) pairs."""
    import scipy.sparse as sp

    indptr = np.zeros(len(columns) + 1, dtype=np.int64)
    np.cumsum([idx.size for idx, _ in columns], out=indptr[1:])
    indices = (np.concatenate([idx for idx, _ in columns]) if columns
               else np.zeros(0, dtype=np.int64))
    data = np.concatenate([val for _, val in columns]) if columns else np.zeros(0)
    return sp.csc_matrix((data, indices, indptr), shape=(n_features, len(columns)))


def run_path(solver, X, y, alphas, fit_intercept, tol):
    """Run one solver's Lasso path over ``alphas`` as :data:`PATH_METHODS` describes.

    Parameters
    ----------
    solver : {"fastsparse", "sklearn", "skglm", "celer"}
        Which library.
    X : scipy.sparse.csc_matrix of shape (n_samples, n_features)
        Design matrix (never densified or centered here).
    y : ndarray of shape (n_samples,)
        Target.
    alphas : ndarray of shape (n_alphas,)
        Decreasing grid.
    fit_intercept : bool
        Whether to fit an intercept.
    tol : float
        The solver's own tolerance parameter, the same at every alpha.

    Returns
    -------
    coefs : ndarray or scipy.sparse matrix of shape (n_features, n_alphas)
        Coefficients, one column per alpha.
    intercepts : ndarray of shape (n_alphas,)
        Intercepts (zeros without intercept).
    extra : dict
        ``alpha_seconds`` (time from the start to the end of each alpha, when the solver
        lets it be observed) and fastsparse's per-alpha ``n_iters`` and ``n_epochs``.
    """
    n_alphas = len(alphas)
    alphas = np.asarray(alphas, dtype=np.float64)
    extra = {}
    start = time.perf_counter()
    if solver == "fastsparse":
        from fastsparse import lasso_path

        stamps, epochs = [], []

        def callback(progress):
            stamps.append(time.perf_counter() - start)
            epochs.append(int(progress.result.n_epochs))

        # tol_scale="objective": tol is the relative gap G / P of every alpha, the
        # quantity this benchmark requires (the default scale, scikit-learn's null
        # deviance, needs a 100x tighter tol at the last alphas of a long path).
        res = lasso_path(X, y, alphas=alphas, tol=tol, fit_intercept=fit_intercept,
                         max_iter=10_000, callback=callback, tol_scale="objective")
        coefs, intercepts = res.coefs, np.asarray(res.intercepts, dtype=np.float64)
        extra = dict(alpha_seconds=stamps, n_epochs=epochs,
                     n_iters=[int(i) for i in res.n_iters])
    elif solver == "sklearn" and fit_intercept:
        from sklearn.linear_model import Lasso

        est = Lasso(alpha=float(alphas[0]), tol=tol, max_iter=10**6, fit_intercept=True,
                    warm_start=True, copy_X=False)
        columns, intercepts, stamps = [], np.empty(n_alphas), []
        for k, alpha in enumerate(alphas):
            est.set_params(alpha=float(alpha))
            est.fit(X, y)
            nz = np.flatnonzero(est.coef_)
            columns.append((nz, est.coef_[nz].copy()))
            intercepts[k] = float(est.intercept_)
            stamps.append(time.perf_counter() - start)
        coefs = _csc_from_columns(columns, X.shape[1])
        extra = dict(alpha_seconds=stamps)
    elif solver == "sklearn":
        from sklearn.linear_model import lasso_path

        _, coefs, _ = lasso_path(X, y, alphas=alphas, tol=tol, max_iter=10**6,
                                 copy_X=False)
        intercepts = np.zeros(n_alphas)
    elif solver == "celer":
        from celer import celer_path

        kwargs = dict(alphas=alphas, tol=tol, max_iter=10_000, prune=1)
        if fit_intercept:
            xbar = np.asarray(X.mean(axis=0), dtype=np.float64).ravel()
            ybar = float(y.mean())
            out = celer_path(X, y - ybar, "lasso", X_offset=xbar,
                             X_scale=np.ones(X.shape[1]), **kwargs)
            coefs = out[1]
            intercepts = ybar - xbar @ coefs
        else:
            coefs = celer_path(X, y, "lasso", **kwargs)[1]
            intercepts = np.zeros(n_alphas)
    elif solver == "skglm":
        import skglm

        est = skglm.Lasso(tol=tol, max_iter=10_000, fit_intercept=fit_intercept)
        coefs = est.path(X, y, alphas)[1]
        if fit_intercept:
            coefs, intercepts = coefs[:-1], np.array(coefs[-1], dtype=np.float64)
        else:
            intercepts = np.zeros(n_alphas)
    else:
        raise ValueError(f"unknown solver {solver!r}; choose from {sorted(SOLVER_MODULES)}")
    return coefs, intercepts, extra


def _timed_path(spec, X, y, tol):
    """Run one rung's path; return its output, wall time, memory and warnings."""
    alphas = np.asarray(spec["alphas"], dtype=np.float64)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with PeakMemory() as memory:
            start = time.perf_counter()
            out = run_path(spec["solver"], X, y, alphas, spec["fit_intercept"], tol)
            seconds = time.perf_counter() - start
    messages = sorted({f"{w.category.__name__}: {str(w.message)[:120]}" for w in caught})
    return out, seconds, memory, messages


def run_path_worker(spec):
    """Child-process entry point of ``--path``: warm up, then run the path per rung.

    Parameters
    ----------
    spec : dict
        ``mode="path", solver, alphas, fit_intercept, tols, rel_gap, preset, target,
        cache_dir`` and optionally ``repeat``. A rung's point carries the worst relative
        gap over the grid as ``rel_gap``; stops after the first rung whose worst gap is
        within ``spec["rel_gap"]``.
    """
    start = time.perf_counter()
    importlib.import_module(SOLVER_MODULES[spec["solver"]])
    import_seconds = time.perf_counter() - start
    X, y = load_problem(spec["preset"], spec["target"], spec["cache_dir"])
    start = time.perf_counter()
    X_w, y_w, _ = _warm_up_problem(X, y, spec["fit_intercept"], 1.0)
    a_w = alpha_max(X_w, y_w, 1.0, spec["fit_intercept"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_path(spec["solver"], X_w, y_w, np.geomspace(a_w, a_w / 100, 5) if a_w > 0
                 else np.full(5, 1e-3), spec["fit_intercept"], 1e-4)
    _emit("warmup", seconds=import_seconds + time.perf_counter() - start)

    alphas = np.asarray(spec["alphas"], dtype=np.float64)
    for tol in spec["tols"]:
        _emit("start", tol=tol)
        (coefs, intercepts, extra), seconds, memory, messages = _timed_path(spec, X, y, tol)
        for _ in range(spec.get("repeat", 1) - 1):
            seconds = min(seconds, _timed_path(spec, X, y, tol)[1])
        _emit("fitted", tol=tol)  # the gaps below take a while: not part of the timeout
        gaps = path_relative_gaps(X, y, coefs, intercepts, alphas, spec["fit_intercept"])
        summary = summarize_path_gaps(gaps, spec["rel_gap"])
        last = _path_column(coefs, len(alphas) - 1)
        _emit("point", tol=tol, seconds=seconds, rel_gap=summary["worst_rel_gap"],
              median_rel_gap=summary["median_rel_gap"], n_above=summary["n_above"],
              worst_index=summary["worst_index"], gaps=gaps.tolist(),
              nnz=int(np.count_nonzero(last)),
              nnz_path=[int(np.count_nonzero(_path_column(coefs, k)))
                        for k in range(len(alphas))],
              peak_extra_mib=memory.extra_mib, memory_method=memory.method,
              warnings=messages, **extra)
        del coefs, intercepts
        if summary["worst_rel_gap"] <= spec["rel_gap"]:
            break


def format_path_table(results, x_mib, timeout, fit_intercept):
    """Markdown table of ``--path``, the speed-up line and how each path was run.

    Parameters
    ----------
    results : dict
        Solver name -> summary from :func:`compare_solver` (points of the path worker).
    x_mib : float
        Size of X in MiB.
    timeout : float
        The per-path timeout.
    fit_intercept : bool
        Whether the intercept was fitted (selects the method descriptions).

    Returns
    -------
    text : str
        The report of one path comparison.
    """
    header = ["solver", "path run as", "path time (s)", "ratio to fastsparse",
              "worst rel gap", "median rel gap", "alphas above gap", "nnz at last alpha",
              "peak extra memory (MiB)", "peak / size of X", "tol used"]
    fs = results.get("fastsparse")
    fs_seconds = fs["chosen"]["seconds"] if fs and fs["chosen"] else None
    best = fastest_peer(results)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, res in results.items():
        chosen = res["chosen"]
        shown = chosen or (min(res["points"], key=lambda p: p["rel_gap"])
                           if res["points"] else None)
        if chosen is not None:
            time_cell = f"{chosen['seconds']:.2f}"
            ratio = f"{chosen['seconds'] / fs_seconds:.2f}" if fs_seconds else "-"
            tol_cell = f"{chosen['tol']:.0e}"
        elif res["status"] == "timeout":
            time_cell, ratio = f"> {timeout:g}", "-"
            tol_cell = f"{res['timeout_tol']:.0e} timed out"
        elif res["status"] == "error":
            time_cell, ratio, tol_cell = "error", "-", res.get("error", "")[:60]
        else:
            time_cell, ratio, tol_cell = "not reached", "-", "ladder exhausted"
        if chosen is None and shown is not None:
            tol_cell += f" (best shown: tol {shown['tol']:.0e}, {shown['seconds']:.2f} s)"
        memory = res["memory"] or chosen
        peak = memory["peak_extra_mib"] if memory else None
        cells = [
            name, PATH_LABELS[(name, fit_intercept)], time_cell, ratio,
            f"{shown['rel_gap']:.1e}" if shown else "-",
            f"{shown['median_rel_gap']:.1e}" if shown else "-",
            f"{shown['n_above']}/{len(shown['gaps'])}" if shown else "-",
            str(shown["nnz"]) if shown else "-",
            _fmt_mib(peak), f"{peak / x_mib:.2f}" if peak is not None and x_mib > 0 else "-",
            tol_cell,
        ]
        if name == best:
            cells[0], cells[2] = f"**{cells[0]}**", f"**{cells[2]}**"
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    if fs is None:
        lines.append("fastsparse was not run: no speed-up to report.")
    elif fs_seconds is None:
        lines.append("fastsparse did not reach the requested worst gap: no speed-up to "
                     "report.")
    elif best is None:
        lines.append("No peer reached the requested worst gap: no speed-up to report.")
    else:
        speedup = results[best]["chosen"]["seconds"] / fs_seconds
        lines.append(f"Speed-up of fastsparse's path over the fastest peer ({best}): "
                     f"**{speedup:.2f}x**" + (" (fastsparse is slower)" if speedup < 1 else ""))
    if fs is not None:
        lines.append(_compile_line(fs))
    lines.append("")
    lines.append("How each path was run (grid, gaps and times identical for all; the gap "
                 "of every alpha is computed by this script from the returned coefficients "
                 "and intercept, outside the timed region):")
    lines.append("")
    for name in results:
        lines.append(f"- {name}: {PATH_METHODS[(name, fit_intercept)]}")
    return "\n".join(lines)


def plot_path_curves(results, rel_gap, path):
    """Worst relative gap over the grid versus path time, one curve per solver."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.2))
    for name, res in results.items():
        if not res["points"]:
            continue
        ordered = sorted(res["points"], key=lambda p: p["seconds"])
        t = np.array([p["seconds"] for p in ordered])
        worst = np.array([max(p["rel_gap"], 1e-16) for p in ordered])
        line, = ax.step(t, np.minimum.accumulate(worst), where="post", label=name)
        ax.plot(t, worst, "o", color=line.get_color(), alpha=0.6)
    ax.axhline(rel_gap, color="grey", linestyle=":", label="requested rel gap")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("path time (s)")
    ax.set_ylabel("worst relative gap over the grid")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run_path_comparison(args):
    """Run the ``--path`` comparison of every solver and print the report.

    Returns
    -------
    report : dict
        Machine, problem, grid and per-solver results (what ``--json`` writes).
    """
    X, y = load_problem(args.preset, args.target, args.cache_dir)
    problem = _describe_problem(args, X, y)
    grid = alpha_path_grid(X, y, args.n_alphas, args.eps, args.fit_intercept)
    del X, y

    info = machine_info()
    print(format_machine(info) + "\n")
    x_mib = problem["x_bytes"] / 2**20
    print(f"Data: preset {problem['preset']} ({problem['target']} target), "
          f"{problem['n_samples']} x {problem['n_features']}, nnz {problem['nnz']}, "
          f"{problem['dtype']}/{problem['index_dtype']}, X = {x_mib:.1f} MiB. "
          f"Lasso path, fit_intercept={args.fit_intercept}: {args.n_alphas} alphas from "
          f"alpha_max = {grid[0]:.6g} down to {grid[-1]:.6g} (eps {args.eps:g}), "
          f"geometric, computed once by this script and given to every solver. Required: "
          f"worst relative gap over the grid <= {args.rel_gap:g}. Timeout per path: "
          f"{args.timeout:g} s.\n", flush=True)

    base = dict(mode="path", alphas=grid.tolist(), fit_intercept=args.fit_intercept,
                rel_gap=args.rel_gap, repeat=args.repeat, preset=args.preset,
                target=args.target, cache_dir=args.cache_dir)
    solvers = {}
    for solver in args.solvers:
        cold = args.cold_compile and solver == "fastsparse"
        solvers[solver] = compare_solver(solver, base, args, cold)
        solvers[solver]["method"] = PATH_METHODS[(solver, args.fit_intercept)]
    print(format_path_table(solvers, x_mib, args.timeout, args.fit_intercept) + "\n",
          flush=True)

    report = dict(machine=info, problem=problem, mode="path", alphas=grid.tolist(),
                  n_alphas=args.n_alphas, eps=args.eps, tols=args.tols,
                  timeout=args.timeout, results=solvers)
    if args.plot:
        plot_path_curves(solvers, args.rel_gap, args.plot)
        print(f"Plot written to {args.plot}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"JSON written to {args.json}")
    return report


# --------------------------------------------------------------------------------------
# Cross-validation mode (--cv): time and peak memory of a k-fold LassoCV fit
# --------------------------------------------------------------------------------------

#: Solvers of ``--cv`` and how their LassoCV is built.
CV_SOLVERS = ("fastsparse", "sklearn")

CV_METHODS = {
    "fastsparse": "`fastsparse.LassoCV(alphas=grid, cv=folds, n_jobs=n_jobs, tol=tol, "
                  "fit_intercept=...)`, other parameters at their defaults (folds fitted "
                  "on the full X with held-out rows at weight zero, joblib threads).",
    "sklearn": "`sklearn.linear_model.LassoCV(alphas=grid, cv=folds, n_jobs=n_jobs, "
               "tol=tol, fit_intercept=...)`, other parameters at their defaults "
               "(copy_X=True, max_iter=1000 epochs; each fold fits a row slice X[train], "
               "joblib threads).",
}


def make_cv_estimator(solver, alphas, fit_intercept, tol, folds, n_jobs):
    """A solver's unfitted LassoCV on an explicit grid (see :data:`CV_METHODS`)."""
    kwargs = dict(alphas=np.asarray(alphas, dtype=np.float64), cv=folds, n_jobs=n_jobs,
                  tol=tol, fit_intercept=fit_intercept)
    if solver == "fastsparse":
        from fastsparse import LassoCV
    elif solver == "sklearn":
        from sklearn.linear_model import LassoCV
    else:
        raise ValueError(f"--cv compares {', '.join(CV_SOLVERS)}, not {solver!r}")
    return LassoCV(**kwargs)


def run_cv_worker(spec):
    """Child-process entry point of ``--cv``: warm up on a slice, then one timed fit.

    Parameters
    ----------
    spec : dict
        ``mode="cv", solver, alphas, fit_intercept, tols`` (one tol), ``folds, n_jobs,
        preset, target, cache_dir``. The point reports the fit time, the increase of peak
        RSS during the fit, the selected alpha, its non-zeros and the script's relative gap
        of the refitted model.
    """
    start = time.perf_counter()
    importlib.import_module(SOLVER_MODULES[spec["solver"]])
    import_seconds = time.perf_counter() - start
    X, y = load_problem(spec["preset"], spec["target"], spec["cache_dir"])
    start = time.perf_counter()
    X_w, y_w, _ = _warm_up_problem(X, y, spec["fit_intercept"], 1.0)
    a_w = alpha_max(X_w, y_w, 1.0, spec["fit_intercept"])
    grid_w = np.geomspace(a_w, a_w / 100, 5) if a_w > 0 else np.full(5, 1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        make_cv_estimator(spec["solver"], grid_w, spec["fit_intercept"], 1e-4,
                          spec["folds"], spec["n_jobs"]).fit(X_w, y_w)
    _emit("warmup", seconds=import_seconds + time.perf_counter() - start)

    tol = spec["tols"][0]
    est = make_cv_estimator(spec["solver"], spec["alphas"], spec["fit_intercept"], tol,
                            spec["folds"], spec["n_jobs"])
    _emit("start", tol=tol)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with PeakMemory() as memory:
            start = time.perf_counter()
            est.fit(X, y)
            seconds = time.perf_counter() - start
    _emit("fitted", tol=tol)
    messages = sorted({f"{w.category.__name__}: {str(w.message)[:120]}" for w in caught})
    coef = np.asarray(est.coef_, dtype=np.float64).ravel()
    intercept = float(est.intercept_) if spec["fit_intercept"] else 0.0
    gap = relative_gap(X, y, coef, intercept, float(est.alpha_), 1.0, spec["fit_intercept"])
    _emit("point", tol=tol, seconds=seconds, rel_gap=gap, alpha=float(est.alpha_),
          nnz=int(np.count_nonzero(coef)), min_cv_mse=float(est.mse_path_.mean(axis=1).min()),
          peak_extra_mib=memory.extra_mib, memory_method=memory.method,
          n_warnings=len(caught), warnings=messages)


def format_cv_table(results, x_mib, a_max, timeout):
    """Markdown table of ``--cv`` and how each LassoCV was built."""
    header = ["solver", "fit time (s)", "ratio to fastsparse", "peak extra memory (MiB)",
              "peak / size of X", "alpha_ / alpha_max", "nnz", "min mean CV MSE",
              "refit rel gap (script)", "warnings"]
    fs = results.get("fastsparse")
    fs_point = fs["points"][0] if fs and fs["points"] else None
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, res in results.items():
        point = res["points"][0] if res["points"] else None
        if point is None:
            status = f"> {timeout:g}" if res["status"] == "timeout" else res["status"]
            lines.append("| " + " | ".join([name, status] + ["-"] * (len(header) - 2))
                         + " |")
            continue
        ratio = f"{point['seconds'] / fs_point['seconds']:.2f}" if fs_point else "-"
        peak = point["peak_extra_mib"]
        cells = [name, f"{point['seconds']:.2f}", ratio, _fmt_mib(peak),
                 f"{peak / x_mib:.2f}" if x_mib > 0 else "-", f"1/{a_max / point['alpha']:.4g}",
                 str(point["nnz"]), f"{point['min_cv_mse']:.6g}", f"{point['rel_gap']:.1e}",
                 str(point["n_warnings"])]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for name, res in results.items():
        lines.append(f"- {name}: {CV_METHODS[name]}")
        for message in (res["points"][0]["warnings"] if res["points"] else [])[:3]:
            lines.append(f"  - warning: {message}")
    return "\n".join(lines)


def run_cv_comparison(args):
    """Time and peak memory of each solver's k-fold LassoCV; prints the report.

    Each solver fits once in a fresh worker process (after a warm-up on a slice), which
    measures the wall time and the increase of peak RSS during the fit.

    Returns
    -------
    report : dict
        Machine, problem, grid and per-solver results (what ``--json`` writes).
    """
    X, y = load_problem(args.preset, args.target, args.cache_dir)
    problem = _describe_problem(args, X, y)
    grid = alpha_path_grid(X, y, args.n_alphas, args.eps, args.fit_intercept)
    del X, y

    info = machine_info()
    print(format_machine(info) + "\n")
    x_mib = problem["x_bytes"] / 2**20
    print(f"Data: preset {problem['preset']} ({problem['target']} target), "
          f"{problem['n_samples']} x {problem['n_features']}, nnz {problem['nnz']}, "
          f"{problem['dtype']}/{problem['index_dtype']}, X = {x_mib:.1f} MiB. "
          f"{args.cv_folds}-fold LassoCV, n_jobs={args.n_jobs}, fit_intercept="
          f"{args.fit_intercept}, tol={args.cv_tol:g}, the same {args.n_alphas} alphas "
          f"from alpha_max = {grid[0]:.6g} down to {grid[-1]:.6g} for every solver. "
          f"Peak extra memory: increase of the worker's peak RSS during fit, relative "
          f"to the size of X (data + indices + indptr).\n", flush=True)

    base = dict(mode="cv", alphas=grid.tolist(), fit_intercept=args.fit_intercept,
                tols=[args.cv_tol], folds=args.cv_folds,
                n_jobs=args.n_jobs, preset=args.preset, target=args.target,
                cache_dir=args.cache_dir)
    solvers = {}
    for solver in args.solvers:
        if solver not in CV_SOLVERS:
            print(f"(--cv: {solver} skipped; it compares {', '.join(CV_SOLVERS)})")
            continue
        solvers[solver] = run_solver_process(dict(base, solver=solver), args.timeout)
        solvers[solver]["method"] = CV_METHODS[solver]
    print(format_cv_table(solvers, x_mib, grid[0], args.timeout) + "\n", flush=True)

    report = dict(machine=info, problem=problem, mode="cv", alphas=grid.tolist(),
                  folds=args.cv_folds, n_jobs=args.n_jobs, tol=args.cv_tol,
                  timeout=args.timeout, results=solvers)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"JSON written to {args.json}")
    return report


# --------------------------------------------------------------------------------------
# --model ridge: single Ridge fits at equal accuracy of the coefficients
# --------------------------------------------------------------------------------------

#: Solvers of ``--model ridge`` and the module each needs: fastsparse's Ridge
#: (``solver="auto"``) and scikit-learn's Ridge with each of its sparse solvers. With an
#: intercept on sparse X, scikit-learn 1.9 refuses saga, and runs sag only when
#: ``max_iter=None`` and ``tol > 1e-4`` (silently sparse_cg otherwise): a rung whose
#: ``solver_`` is not the one asked for does not count for that solver.
RIDGE_SOLVERS = {
    "fastsparse": "fastsparse",
    "sklearn-sparse_cg": "sklearn",
    "sklearn-lsqr": "sklearn",
    "sklearn-sag": "sklearn",
    "sklearn-saga": "sklearn",
}

#: Default accuracies of ``--model ridge``: relative errors of the coefficients.
DEFAULT_RIDGE_REL_ERR = (1e-4, 1e-6)


def make_ridge_estimator(solver, alpha, fit_intercept, tol):
    """A solver's unfitted Ridge for one rung of the ladder.

    Parameters
    ----------
    solver : str
        A key of :data:`RIDGE_SOLVERS`.
    alpha : float
        scikit-learn's Ridge alpha (objective ``||y - Xw - b||^2 + alpha ||w||^2``).
    fit_intercept : bool
    tol : float
        The solver's own tolerance (fastsparse: certified relative error of the
        coefficients; scikit-learn: relative residual for sparse_cg, atol/btol for lsqr,
        change of the coefficients for sag/saga).

    Returns
    -------
    estimator : object
    """
    if solver == "fastsparse":
        from fastsparse import Ridge
        return Ridge(alpha=alpha, tol=tol, fit_intercept=fit_intercept, max_iter=10**6)
    if solver in RIDGE_SOLVERS:
        from sklearn.linear_model import Ridge
        name = solver.split("-", 1)[1]
        # sparse_cg / lsqr: scipy's own iteration caps; saga: epochs, raised so that
        # only tol decides (--timeout bounds the work); sag: None, the only value with
        # which scikit-learn runs sag with an intercept on sparse X.
        max_iter = 10**6 if name == "saga" else None
        return Ridge(alpha=alpha, tol=tol, fit_intercept=fit_intercept, solver=name,
                     max_iter=max_iter, random_state=0)
    raise ValueError(f"unknown ridge solver {solver!r}; choose from {sorted(RIDGE_SOLVERS)}")


def ridge_certificate(X, y, coef, alpha, fit_intercept=True):
    """This script's own certified relative error of ridge coefficients.

    The Ridge objective ``1/2 ||y_c - X_c w||^2 + alpha/2 ||w||^2`` is alpha-strongly
    convex, so ``||w - w*|| <= ||g|| / alpha`` with g its gradient
    ``X_c^T (y_c - X_c w) - alpha w``. Computed with scipy.sparse products only (X_c never
    formed: X_c^T u = X^T u - xbar sum(u), X_c w = X w - xbar.w).

    Returns
    -------
    bound : float
        ``||g|| / (alpha ||w||)``, an upper bound on ``||w - w*|| / ||w||``.
    """
    w = np.asarray(coef, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64)
    Xw = np.asarray(X @ w, dtype=np.float64).ravel()
    if fit_intercept:
        xbar = np.asarray(X.mean(axis=0), dtype=np.float64).ravel()
        r = (y - y.mean()) - (Xw - xbar @ w)
        grad = np.asarray(X.T @ r, dtype=np.float64).ravel() - xbar * r.sum()
    else:
        r = y - Xw
        grad = np.asarray(X.T @ r, dtype=np.float64).ravel()
    grad -= alpha * w
    return float(np.linalg.norm(grad) / (alpha * np.linalg.norm(w)))


def ridge_reference(X, y, alpha, fit_intercept=True, tol=1e-11):
    """Tight reference solution (fastsparse CG), checked by :func:`ridge_certificate`.

    Returns (coef, intercept, bound) with bound the script's own certified relative error.
    """
    from fastsparse import Ridge

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a tol at rounding level may just miss
        ref = Ridge(alpha=alpha, tol=tol, solver="cg", fit_intercept=fit_intercept,
                    max_iter=10**6).fit(X, y)
    coef = np.asarray(ref.coef_, dtype=np.float64)
    return coef, float(ref.intercept_), ridge_certificate(X, y, coef, alpha, fit_intercept)


def run_ridge_worker(spec):
    """Child-process entry point of ``--model ridge``: warm up, then fit each rung.

    Parameters
    ----------
    spec : dict
        ``mode="ridge", solver, alpha, fit_intercept, tols, rel_err`` (the tightest
        accuracy wanted), ``reference`` (path of an ``.npy`` file holding the reference
        coefficients), ``preset, target, cache_dir`` and optionally ``repeat``. Each point
        reports the fit time, the relative error of the coefficients against the
        reference and the script's relative duality gap (elastic-net scale,
        ``alpha / n_samples`` and ``l1_ratio = 0``). Stops at the first rung within
        ``rel_err``.
    """
    start = time.perf_counter()
    importlib.import_module(RIDGE_SOLVERS[spec["solver"]])
    import_seconds = time.perf_counter() - start
    X, y = load_problem(spec["preset"], spec["target"], spec["cache_dir"])
    w_ref = np.load(spec["reference"])
    start = time.perf_counter()
    X_w, y_w, _ = _warm_up_problem(X, y, spec["fit_intercept"], 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        make_ridge_estimator(spec["solver"], spec["alpha"], spec["fit_intercept"],
                             1e-4).fit(X_w, y_w)
    _emit("warmup", seconds=import_seconds + time.perf_counter() - start)

    n = X.shape[0]
    for tol in spec["tols"]:
        _emit("start", tol=tol)
        best = None
        for _ in range(spec.get("repeat", 1)):
            est = make_ridge_estimator(spec["solver"], spec["alpha"], spec["fit_intercept"],
                                       tol)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                t0 = time.perf_counter()
                est.fit(X, y)
                seconds = time.perf_counter() - t0
            best = seconds if best is None else min(best, seconds)
        messages = sorted({f"{w.category.__name__}: {str(w.message)[:120]}" for w in caught})
        coef = np.asarray(est.coef_, dtype=np.float64).ravel()
        intercept = float(np.ravel(est.intercept_)[0]) if spec["fit_intercept"] else 0.0
        rel_err = float(np.linalg.norm(coef - w_ref) / np.linalg.norm(w_ref))
        primal, dual = primal_dual(X, y, coef, intercept, spec["alpha"] / n, 0.0,
                                   spec["fit_intercept"])
        _emit("point", tol=tol, seconds=best, rel_err=rel_err, primal=primal, dual=dual,
              rel_gap=(primal - dual) / primal if primal > 0 else 0.0,
              solver_used=getattr(est, "solver_", None),
              n_iter=np.ravel(np.asarray(est.n_iter_, dtype=float)).tolist()
              if getattr(est, "n_iter_", None) is not None else None,
              warnings=messages)
        if rel_err <= spec["rel_err"]:
            break


def ridge_time_to(points, rel_err, solver=None):
    """First rung of the ladder whose coefficients are within ``rel_err``, or None.

    For ``sklearn-<name>`` solvers, rungs where scikit-learn ran another solver
    (``solver_`` differs) are skipped.
    """
    want = solver.split("-", 1)[1] if solver and solver.startswith("sklearn-") else None
    return next((p for p in points if p["rel_err"] <= rel_err
                 and (want is None or p.get("solver_used") in (None, want))), None)


def format_ridge_table(results, rel_errs, timeout):
    """Markdown table of one alpha: time to each accuracy, per solver, and the speed-ups.

    Parameters
    ----------
    results : dict
        Solver name -> result of :func:`run_solver_process` (``points`` with ``rel_err``).
    rel_errs : sequence of float
        Accuracies (relative errors of the coefficients) to report.
    timeout : float
        The per-fit timeout, shown for solvers that timed out.

    Returns
    -------
    text : str
    """
    header = ["solver"]
    for e in rel_errs:
        header += [f"time to rel err <= {e:g} (s)", "tol used", "ratio to fastsparse"]
    header += ["best rel err reached", "notes"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    fs = results.get("fastsparse")
    fs_times = {e: (ridge_time_to(fs["points"], e) or {}).get("seconds") if fs else None
                for e in rel_errs}
    summary = []
    for e in rel_errs:
        peers = {name: ridge_time_to(res["points"], e, name)["seconds"]
                 for name, res in results.items()
                 if name != "fastsparse"
                 and ridge_time_to(res["points"], e, name) is not None}
        if fs_times[e] is not None and peers:
            best = min(peers, key=peers.get)
            summary.append(f"rel err <= {e:g}: fastest scikit-learn solver {best} "
                           f"{peers[best]:.3f} s, fastsparse {fs_times[e]:.3f} s: speed-up "
                           f"**{peers[best] / fs_times[e]:.2f}x**")
    for name, res in results.items():
        cells = [name]
        for e in rel_errs:
            p = ridge_time_to(res["points"], e, name)
            if p is not None:
                ratio = (f"{p['seconds'] / fs_times[e]:.2f}" if fs_times[e] else "-")
                cells += [f"{p['seconds']:.3f}", f"{p['tol']:.0e}", ratio]
            elif res["status"] == "timeout":
                cells += [f"> {timeout:g}", f"{res['timeout_tol']:.0e} timed out", "-"]
            else:
                cells += ["not reached", "-", "-"]
        best_err = min((p["rel_err"] for p in res["points"]), default=None)
        cells.append("-" if best_err is None else f"{best_err:.1e}")
        notes = [res.get("error", "")] if res["status"] == "error" else []
        used = {p.get("solver_used") for p in res["points"] if p.get("solver_used")}
        if used:
            notes.append("solver_=" + "/".join(sorted(used)))
        cells.append("; ".join(n for n in notes if n) or "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines + [""] + summary)


def run_ridge_comparison(args):
    """``--model ridge``: every (alpha, solver) ladder, timed at equal coefficient accuracy.

    For each ``--ridge-alpha``, a tight reference solution is computed once (fastsparse CG
    at tol 1e-11, checked by this script's own gradient certificate) and every solver
    walks its tolerance ladder until its coefficients are within the smallest
    ``--rel-err`` of the reference (relative Euclidean error).

    Returns
    -------
    report : dict
    """
    from fastsparse.ridge import choose_solver

    X, y = load_problem(args.preset, args.target, args.cache_dir)
    problem = _describe_problem(args, X, y)
    info = machine_info()
    print(format_machine(info) + "\n")
    print(f"Data: preset {args.preset} ({args.target} target), {X.shape[0]} x {X.shape[1]}, "
          f"nnz {X.nnz}, X = {matrix_nbytes(X) / 2**20:.1f} MiB. Model ridge "
          f"(||y - Xw - b||^2 + alpha ||w||^2), fit_intercept={args.fit_intercept}; "
          f"fastsparse solver='auto' picks "
          f"{choose_solver(X.shape[0], X.shape[1], X.nnz, [1.0])!r} here. Accuracy: "
          f"relative error of the coefficients against a reference.\n", flush=True)
    entries = []
    with tempfile.TemporaryDirectory(prefix="ridge-ref-") as tmp:
        for alpha in args.ridge_alpha:
            start = time.perf_counter()
            coef, _, bound = ridge_reference(X, y, alpha, args.fit_intercept)
            ref_seconds = time.perf_counter() - start
            ref_path = str(Path(tmp) / f"ref-{alpha:g}.npy")
            np.save(ref_path, coef)
            base = dict(mode="ridge", alpha=alpha, fit_intercept=args.fit_intercept,
                        rel_err=min(args.rel_err), repeat=args.repeat, preset=args.preset,
                        target=args.target, cache_dir=args.cache_dir, reference=ref_path,
                        tols=list(args.tols))
            solvers = {}
            for solver in args.solvers:
                solvers[solver] = run_solver_process(dict(base, solver=solver), args.timeout)
            entries.append(dict(alpha=alpha, reference_bound=bound,
                                reference_seconds=ref_seconds, solvers=solvers))
            print(f"### alpha = {alpha:g} (reference: certified relative error "
                  f"{bound:.1e} by this script, {ref_seconds:.1f} s)\n")
            print(format_ridge_table(solvers, sorted(args.rel_err, reverse=True),
                                     args.timeout) + "\n", flush=True)
    report = dict(machine=info, problem=problem, tols=args.tols, rel_err=args.rel_err,
                  timeout=args.timeout, results=entries)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"JSON written to {args.json}")
    return report


def _check_ridge_args(parser, args):
    """Options of ``--model ridge`` (the ladder and timeout options are shared)."""
    if args.path or args.cv:
        parser.error("--path and --cv compare Lasso: not with --model ridge")
    if any(a <= 0 for a in args.ridge_alpha) or any(e <= 0 for e in args.rel_err):
        parser.error("--ridge-alpha and --rel-err values must be positive")
    if args.repeat < 1 or args.timeout <= 0 or any(t <= 0 for t in args.tols):
        parser.error("--repeat must be >= 1, --timeout and --tols positive")
    args.tols = sorted(set(args.tols), reverse=True)
    args.solvers = args.solvers or [s for s, m in RIDGE_SOLVERS.items()
                                    if importlib.util.find_spec(m) is not None]
    wrong = [s for s in args.solvers if s not in RIDGE_SOLVERS]
    if wrong:
        parser.error(f"--model ridge compares {', '.join(RIDGE_SOLVERS)}; not {wrong}")
    if "fastsparse" in args.solvers:
        args.solvers = ["fastsparse"] + [s for s in args.solvers if s != "fastsparse"]
    args.target = args.target or default_target(args.preset)


# --------------------------------------------------------------------------------------
# --model logistic: L1 logistic regression at equal relative duality gap
# --------------------------------------------------------------------------------------

#: Solvers of ``--model logistic`` and the module each needs. scikit-learn runs twice:
#: liblinear (newGLMNET, the reference proximal Newton) and saga.
LOGISTIC_SOLVERS = {
    "fastsparse": "fastsparse",
    "sklearn-liblinear": "sklearn",
    "sklearn-saga": "sklearn",
    "skglm": "skglm",
    "celer": "celer",
}

#: liblinear appends a constant column of this value and penalizes its weight like any
#: other, so its intercept is penalized by |b| / scaling: a large value makes that
#: penalty negligible (the script's gap says whether it is) at some cost in conditioning.
LIBLINEAR_INTERCEPT_SCALING = 100.0


def load_logistic_problem(preset, cache_dir=None):
    """X and the {0, 1} classification labels of a preset (from the disk cache)."""
    from fastsparse.datasets import fetch_preset

    X, y, _ = fetch_preset(preset, "classification", cache_dir=cache_dir)
    y = np.asarray(y, dtype=np.float64)
    if set(np.unique(y)) != {0.0, 1.0}:
        raise ValueError(f"--model logistic needs binary {{0, 1}} labels; {preset} has "
                         f"{np.unique(y)[:5]}")
    return X, y


def logistic_c_min(X, y, fit_intercept=True):
    """Largest C for which every L1 logistic coefficient is zero.

    At w = 0 the null model predicts ybar (with an intercept) or 1/2, and the gradient
    of ``C sum log-loss`` is ``C X^T (p0 - y)``; zero is optimal while its sup norm is at
    most 1. The counterpart of :func:`alpha_max`: with ``alpha = 1 / (C n)`` (DESIGN.md's
    alpha form), ``alpha_max = 1 / (C_min n)``, so ``--alpha-ratio r`` means
    ``C = r C_min``.
    X is never centered (``X^T (y - ybar)`` is the centered product already).
    """
    y = np.asarray(y, dtype=np.float64)
    r = y - (y.mean() if fit_intercept else 0.5)
    grad = np.abs(np.asarray(X.T @ r, dtype=np.float64).ravel()).max()
    return float(1.0 / grad) if grad > 0 else np.inf


def logistic_primal_dual(X, y, coef, intercept, C, fit_intercept=True):
    """Primal and dual values of L1 logistic regression at a returned solution.

    Objective (scikit-learn's ``C`` form, y in {0, 1} mapped to s = 2y - 1)::

        P(w, b) = C sum_i log(1 + exp(-s_i (x_i.w + b))) + ||w||_1.

    Dual point, computed here independently of every solver: u = C s sigmoid(-s z) (minus
    the gradient of the loss in z); with an intercept the class with the larger total |u|
    is scaled down so that sum u = 0 (which keeps u in the box 0 <= s u <= C); then u is
    scaled by t = min(1, 1 / ||X^T u||_inf) into the dual feasible set, and
    ``D = C sum_i H(s_i t u_i / C)`` with H the binary entropy in nats.

    Returns
    -------
    primal, dual : float
    """
    from scipy.special import expit, xlogy

    y = np.asarray(y, dtype=np.float64)
    s = 2.0 * y - 1.0
    w = np.asarray(coef, dtype=np.float64).ravel()
    z = np.asarray(X @ w, dtype=np.float64).ravel() + float(intercept)
    m = s * z
    primal = C * np.sum(np.logaddexp(0.0, -m)) + np.abs(w).sum()
    u = C * s * expit(-m)
    if fit_intercept:
        pos, neg = u[s > 0].sum(), -u[s < 0].sum()
        if pos > neg:
            u[s > 0] *= neg / pos
        elif neg > pos:
            u[s < 0] *= pos / neg
    corr = np.abs(np.asarray(X.T @ u, dtype=np.float64).ravel()).max()
    t = min(1.0, 1.0 / corr) if corr > 0 else 1.0
    p = np.clip(t * s * u / C, 0.0, 1.0)
    dual = C * np.sum(-xlogy(p, p) - xlogy(1.0 - p, 1.0 - p))
    return float(primal), float(dual)


def make_logistic_estimator(solver, C, fit_intercept, tol, n_samples):
    """A solver's unfitted L1 logistic regression for one rung of the ladder.

    Every estimator gets the objective of :func:`logistic_primal_dual`: skglm's
    ``alpha`` is ``1 / (C n)`` (its loss is averaged), scikit-learn's and celer's ``C``
    are ours. celer has no intercept, liblinear penalizes its intercept (see
    :data:`LIBLINEAR_INTERCEPT_SCALING`). Iteration caps are far above the defaults so
    that only ``tol`` decides. fastsparse's ``tol`` is its relative duality gap
    (``tol_scale="objective"``, the criterion this script checks), as in the path
    comparison; the peers' ``tol`` mean other things, hence the ladders.
    """
    if solver == "fastsparse":
        from fastsparse import LogisticRegression
        return LogisticRegression(C=C, l1_ratio=1.0, tol=tol, tol_scale="objective",
                                  fit_intercept=fit_intercept, max_iter=10_000)
    if solver in ("sklearn-liblinear", "sklearn-saga"):
        from sklearn.linear_model import LogisticRegression
        name = solver.split("-", 1)[1]
        extra = (dict(intercept_scaling=LIBLINEAR_INTERCEPT_SCALING)
                 if name == "liblinear" else {})
        return LogisticRegression(C=C, l1_ratio=1.0, solver=name, tol=tol,
                                  fit_intercept=fit_intercept, max_iter=10**6,
                                  random_state=0, **extra)
    if solver == "skglm":
        from skglm import SparseLogisticRegression
        return SparseLogisticRegression(alpha=1.0 / (C * n_samples), tol=tol,
                                        fit_intercept=fit_intercept, max_iter=10_000)
    if solver == "celer":
        if fit_intercept:
            raise ValueError("celer's LogisticRegression has no intercept: use "
                             "--no-fit-intercept")
        from celer import LogisticRegression
        return LogisticRegression(C=C, tol=tol, fit_intercept=False, max_iter=10_000)
    raise ValueError(f"unknown logistic solver {solver!r}; choose from "
                     f"{sorted(LOGISTIC_SOLVERS)}")


def run_logistic_worker(spec):
    """Child-process entry point of ``--model logistic`` (events as :func:`run_worker`).

    ``spec`` holds ``solver, C, fit_intercept, tols, rel_gap, preset, cache_dir`` and
    optionally ``repeat``.
    """
    start = time.perf_counter()
    importlib.import_module(LOGISTIC_SOLVERS[spec["solver"]])
    import_seconds = time.perf_counter() - start
    X, y = load_logistic_problem(spec["preset"], spec["cache_dir"])
    n = X.shape[0]
    fit_intercept = spec["fit_intercept"]

    def make(C, tol, n_samples):
        return make_logistic_estimator(spec["solver"], C, fit_intercept, tol, n_samples)

    # Warm-up on a slice with both classes (same dtypes: same JIT specializations).
    start = time.perf_counter()
    X_w = X[: min(n, 300)][:, : min(X.shape[1], 1000)].tocsc()
    X_w.sort_indices()
    y_w = np.array(y[: X_w.shape[0]])
    y_w[:2] = [0.0, 1.0]
    C_w = 10 * logistic_c_min(X_w, y_w, fit_intercept)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        make(C_w if np.isfinite(C_w) else 1.0, 1e-4, X_w.shape[0]).fit(X_w, y_w)
    _emit("warmup", seconds=import_seconds + time.perf_counter() - start)

    def timed(tol):
        est = make(spec["C"], tol, n)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with PeakMemory() as memory:
                begin = time.perf_counter()
                est.fit(X, y)
                seconds = time.perf_counter() - begin
        messages = sorted({f"{w.category.__name__}: {str(w.message)[:120]}"
                           for w in caught})
        return est, seconds, memory, messages

    for tol in spec["tols"]:
        _emit("start", tol=tol)
        est, seconds, memory, messages = timed(tol)
        for _ in range(spec.get("repeat", 1) - 1):
            seconds = min(seconds, timed(tol)[1])
        coef = np.asarray(est.coef_, dtype=np.float64).ravel()
        intercept = float(np.ravel(est.intercept_)[0]) if fit_intercept else 0.0
        primal, dual = logistic_primal_dual(X, y, coef, intercept, spec["C"],
                                            fit_intercept)
        gap = (primal - dual) / primal if primal > 0 else 0.0
        _emit("point", tol=tol, seconds=seconds, primal=primal, dual=dual, rel_gap=gap,
              nnz=int(np.count_nonzero(coef)), intercept=intercept,
              peak_extra_mib=memory.extra_mib, memory_method=memory.method,
              warnings=messages)
        if gap <= spec["rel_gap"]:
            break


def run_logistic_comparison(args):
    """``--model logistic``: every (C, solver) ladder at equal relative duality gap.

    ``--alpha-ratio r`` sets ``C = r * C_min`` (:func:`logistic_c_min`), i.e. the alpha
    form's ``alpha = alpha_max / r``. The table, plot and JSON are those of the Lasso
    comparison, with the script's own logistic gap (:func:`logistic_primal_dual`).

    Returns
    -------
    report : dict
    """
    X, y = load_logistic_problem(args.preset, args.cache_dir)
    problem = dict(_describe_problem(args, X, y), target="classification {0, 1}",
                   l1_ratio=1.0)
    c_min = logistic_c_min(X, y, args.fit_intercept)
    del X, y
    info = machine_info()
    print(format_machine(info) + "\n")
    x_mib = problem["x_bytes"] / 2**20
    print(f"Data: preset {problem['preset']} (classification labels), "
          f"{problem['n_samples']} x {problem['n_features']}, nnz {problem['nnz']}, "
          f"{problem['dtype']}/{problem['index_dtype']}, X = {x_mib:.1f} MiB. Model L1 "
          f"logistic, C sum log(1 + exp(-s z)) + ||w||_1, fit_intercept="
          f"{args.fit_intercept}, C_min = {c_min:.6g}, required relative gap "
          f"{args.rel_gap:g}. liblinear: intercept_scaling={LIBLINEAR_INTERCEPT_SCALING:g} "
          f"(its intercept is penalized); skglm: alpha = 1 / (C n).\n", flush=True)
    entries = []
    cold_pending = args.cold_compile
    for ratio in args.alpha_ratio:
        C = ratio * c_min
        base = dict(mode="logistic", C=C, fit_intercept=args.fit_intercept,
                    rel_gap=args.rel_gap, repeat=args.repeat, preset=args.preset,
                    cache_dir=args.cache_dir)
        solvers = {}
        for solver in args.solvers:
            cold = cold_pending and solver == "fastsparse"
            solvers[solver] = compare_solver(solver, base, args, cold)
            cold_pending = cold_pending and not cold
        entries.append(dict(alpha_ratio=ratio, C=C, solvers=solvers))
        print(f"### C = {ratio:g} * C_min = {C:.6g} (alpha = alpha_max / {ratio:g})\n")
        print(format_table(solvers, x_mib, args.timeout) + "\n", flush=True)
    report = dict(machine=info, problem=problem, c_min=c_min, tols=args.tols,
                  timeout=args.timeout, results=entries)
    if args.plot:
        plot_curves(entries, args.rel_gap, args.plot)
        print(f"Plot written to {args.plot}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"JSON written to {args.json}")
    return report


def _check_logistic_args(parser, args):
    """Options of ``--model logistic`` (ladder, timeout, --alpha-ratio are shared)."""
    if args.path or args.cv:
        parser.error("--path and --cv compare Lasso: not with --model logistic")
    if any(r <= 0 for r in args.alpha_ratio):
        parser.error("--alpha-ratio values must be positive")
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    if args.rel_gap <= 0 or args.timeout <= 0 or any(t <= 0 for t in args.tols):
        parser.error("--rel-gap, --timeout and --tols must be positive")
    args.tols = sorted(set(args.tols), reverse=True)
    installed = [s for s, m in LOGISTIC_SOLVERS.items()
                 if importlib.util.find_spec(m) is not None
                 and not (s == "celer" and args.fit_intercept)]
    args.solvers = args.solvers or installed
    wrong = [s for s in args.solvers if s not in LOGISTIC_SOLVERS]
    if wrong:
        parser.error(f"--model logistic compares {', '.join(LOGISTIC_SOLVERS)}; "
                     f"not {wrong}")
    if "celer" in args.solvers and args.fit_intercept:
        parser.error("celer's LogisticRegression has no intercept: add "
                     "--no-fit-intercept or drop celer")
    if "fastsparse" in args.solvers:
        args.solvers = ["fastsparse"] + [s for s in args.solvers if s != "fastsparse"]
    args.target = "labels"


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------

_EXAMPLE = """\
example:
  FASTSPARSE_CACHE_DIR=/tmp/fs-cache python scripts/compare_peers.py \\
      --preset rcv1 --model lasso --alpha-ratio 10 100 --rel-gap 1e-6 \\
      --solvers fastsparse sklearn skglm celer --timeout 300 \\
      --plot rcv1.png --json rcv1.json
  # whole paths: 100 alphas down to alpha_max/1000, worst gap over the grid <= 1e-6
  FASTSPARSE_CACHE_DIR=/tmp/fs-cache python scripts/compare_peers.py --path \\
      --preset rcv1 --n-alphas 100 --eps 1e-3 --rel-gap 1e-6 --timeout 200
  # 5-fold LassoCV: time and peak memory relative to the size of X
  FASTSPARSE_CACHE_DIR=/tmp/fs-cache python scripts/compare_peers.py --cv \\
      --preset rcv1 --n-alphas 100 --cv-folds 5 --n-jobs 2
  # Ridge: time to a relative error of the coefficients, against scikit-learn's solvers
  FASTSPARSE_CACHE_DIR=/tmp/fs-cache python scripts/compare_peers.py --model ridge \\
      --preset rcv1 --target regression --ridge-alpha 1 1e-3 --rel-err 1e-4 1e-6 \\
      --timeout 120
"""


def build_parser():
    """The argparse parser of the command line."""
    from fastsparse.datasets import PRESETS

    parser = argparse.ArgumentParser(
        description="Time fastsparse against scikit-learn, skglm and celer at equal "
                    "accuracy (relative duality gap computed by this script).",
        epilog=_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="rcv1", choices=sorted(PRESETS),
                        help="dataset preset (default: rcv1)")
    parser.add_argument("--model", default="lasso",
                        choices=["lasso", "enet", "ridge", "logistic"],
                        help="lasso, elastic net, ridge (scikit-learn's Ridge "
                             "objective; uses --ridge-alpha and --rel-err), or logistic "
                             "(L1, classification labels, C = --alpha-ratio * C_min)")
    parser.add_argument("--l1-ratio", type=float, default=0.5,
                        help="l1_ratio of --model enet, in (0, 1] (default: 0.5)")
    parser.add_argument("--alpha-ratio", type=float, nargs="+", default=[10.0, 100.0],
                        help="alpha = alpha_max / ratio; several allowed (default: 10 100)")
    parser.add_argument("--target", choices=["regression", "labels"], default=None,
                        help="regression target, or classification labels in {-1, +1} used "
                             "as a regression target (default: labels for rcv1/news20/url, "
                             "regression otherwise)")
    parser.add_argument("--fit-intercept", action=argparse.BooleanOptionalAction,
                        default=True, help="fit an intercept (default: yes)")
    parser.add_argument("--rel-gap", type=float, default=1e-6,
                        help="required relative duality gap (default: 1e-6)")
    parser.add_argument("--solvers", nargs="+",
                        choices=sorted(set(SOLVER_MODULES) | set(RIDGE_SOLVERS)
                                           | set(LOGISTIC_SOLVERS)),
                        default=None, help="solvers to compare (default: all installed)")
    parser.add_argument("--tols", type=float, nargs="+", default=list(DEFAULT_TOLS),
                        help="tolerance ladder, loose to tight (default: 1e-2 ... 1e-12)")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds one fit may take before the solver is reported as "
                             "'> timeout' (default: 300)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="fits per rung, keeping the best time; use 3-5 when fits take "
                             "milliseconds (default: 1)")
    parser.add_argument("--cold-compile", action=argparse.BooleanOptionalAction,
                        default=True, help="time fastsparse's first fit with an empty "
                                           "Numba cache (default: yes)")
    parser.add_argument("--memory-run", action=argparse.BooleanOptionalAction, default=True,
                        help="measure peak memory in a fresh process refitting the chosen "
                             "rung (default: yes; otherwise the ladder's measurement)")
    parser.add_argument("--cache-dir", default=None,
                        help="dataset cache (default: $FASTSPARSE_CACHE_DIR or "
                             "~/.cache/fastsparse)")
    parser.add_argument("--plot", metavar="PNG", help="save suboptimality-vs-time curves")
    parser.add_argument("--json", metavar="PATH", help="save all measurements as JSON")
    parser.add_argument("--path", action="store_true",
                        help="compare whole Lasso paths instead of single fits: the same "
                             "grid of --n-alphas alphas down to --eps * alpha_max for every "
                             "solver, each run until its WORST relative gap over the grid "
                             "is within --rel-gap (--alpha-ratio is ignored)")
    parser.add_argument("--n-alphas", type=int, default=100,
                        help="number of alphas of --path (default: 100)")
    parser.add_argument("--eps", type=float, default=1e-3,
                        help="alpha_min / alpha_max of --path (default: 1e-3)")
    parser.add_argument("--cv", action="store_true",
                        help="time and peak memory of a k-fold LassoCV fit (fastsparse and "
                             "sklearn) on the grid of --n-alphas and --eps, instead of single "
                             "fits; uses --cv-folds, --n-jobs and --cv-tol")
    parser.add_argument("--cv-folds", type=int, default=5,
                        help="folds of --cv (default: 5)")
    parser.add_argument("--n-jobs", type=int, default=2,
                        help="n_jobs of the LassoCV of --cv (default: 2)")
    parser.add_argument("--cv-tol", type=float, default=1e-4,
                        help="tol of every LassoCV of --cv, the scikit-learn default and "
                             "the same criterion in both (default: 1e-4)")
    parser.add_argument("--ridge-alpha", type=float, nargs="+", default=[1.0, 1e-3],
                        help="alphas of --model ridge, scikit-learn's Ridge scale "
                             "(default: 1 1e-3)")
    parser.add_argument("--rel-err", type=float, nargs="+",
                        default=list(DEFAULT_RIDGE_REL_ERR),
                        help="--model ridge accuracies: relative errors of the coefficients "
                             "against a tight reference (default: 1e-4 1e-6)")
    parser.add_argument("--worker", metavar="SPEC", help=argparse.SUPPRESS)
    return parser


def _check_args(parser, args):
    """Validate option values argparse cannot check by itself."""
    if args.model == "ridge":
        return _check_ridge_args(parser, args)
    if args.model == "logistic":
        return _check_logistic_args(parser, args)
    if not 0.0 < args.l1_ratio <= 1.0:
        parser.error("--l1-ratio must be in (0, 1]")
    if any(r <= 0 for r in args.alpha_ratio):
        parser.error("--alpha-ratio values must be positive")
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    if args.path and args.cv:
        parser.error("choose one of --path and --cv")
    if args.cv:
        if args.model != "lasso":
            parser.error("--cv compares LassoCV: use --model lasso")
        if args.cv_folds < 2 or args.cv_tol <= 0 or args.n_jobs == 0:
            parser.error("--cv-folds must be >= 2, --cv-tol positive, --n-jobs non-zero")
    if args.path or args.cv:
        if args.model != "lasso":
            parser.error("--path compares Lasso paths: use --model lasso")
        if args.n_alphas < 1 or not 0.0 < args.eps < 1.0:
            parser.error("--n-alphas must be >= 1 and --eps in (0, 1)")
    if args.rel_gap <= 0 or args.timeout <= 0 or any(t <= 0 for t in args.tols):
        parser.error("--rel-gap, --timeout and --tols must be positive")
    args.tols = sorted(set(args.tols), reverse=True)  # loose to tight
    default_solvers = list(CV_SOLVERS) if args.cv else installed_solvers()
    args.solvers = args.solvers or default_solvers
    ridge_only = [s for s in args.solvers if s not in SOLVER_MODULES]
    if ridge_only:
        parser.error(f"{', '.join(ridge_only)}: only with --model ridge")
    missing = [s for s in args.solvers if importlib.util.find_spec(SOLVER_MODULES[s]) is None]
    if missing:
        parser.error(f"not installed: {', '.join(missing)}")
    if "fastsparse" in args.solvers:  # it is the reference of the ratio column: first
        args.solvers = ["fastsparse"] + [s for s in args.solvers if s != "fastsparse"]
    args.target = args.target or default_target(args.preset)


def _describe_problem(args, X, y):
    """Dataset facts for the report."""
    return dict(preset=args.preset, target=args.target, n_samples=X.shape[0],
                n_features=X.shape[1], nnz=int(X.nnz), dtype=str(X.dtype),
                index_dtype=str(X.indices.dtype), x_bytes=matrix_nbytes(X),
                model=args.model, l1_ratio=args.l1_ratio if args.model == "enet" else 1.0,
                fit_intercept=args.fit_intercept, rel_gap=args.rel_gap)


def run_comparison(args):
    """Run every (alpha, solver) comparison and print the report.

    Returns
    -------
    report : dict
        Machine, problem and per-alpha results (what ``--json`` writes).
    """
    l1_ratio = args.l1_ratio if args.model == "enet" else 1.0
    X, y = load_problem(args.preset, args.target, args.cache_dir)  # generates once
    problem = _describe_problem(args, X, y)
    a_max = alpha_max(X, y, l1_ratio, args.fit_intercept)
    del X, y  # the workers load their own copy; do not hold a second one meanwhile

    info = machine_info()
    print(format_machine(info) + "\n")
    x_mib = problem["x_bytes"] / 2**20
    print(f"Data: preset {problem['preset']} ({problem['target']} target), "
          f"{problem['n_samples']} x {problem['n_features']}, nnz {problem['nnz']}, "
          f"{problem['dtype']}/{problem['index_dtype']}, X = {x_mib:.1f} MiB. "
          f"Model {args.model} (l1_ratio {l1_ratio:g}), fit_intercept={args.fit_intercept}, "
          f"alpha_max = {a_max:.6g}, required relative gap {args.rel_gap:g}.\n", flush=True)

    entries = []
    cold_pending = args.cold_compile
    for ratio in args.alpha_ratio:
        alpha = a_max / ratio
        base = dict(model=args.model, alpha=alpha, l1_ratio=l1_ratio,
                    fit_intercept=args.fit_intercept, rel_gap=args.rel_gap,
                    repeat=args.repeat, preset=args.preset, target=args.target,
                    cache_dir=args.cache_dir)
        solvers = {}
        for solver in args.solvers:
            cold = cold_pending and solver == "fastsparse"
            solvers[solver] = compare_solver(solver, base, args, cold)
            cold_pending = cold_pending and not cold  # one cold compile per run is enough
        entries.append(dict(alpha_ratio=ratio, alpha=alpha, solvers=solvers))
        print(f"### alpha = alpha_max / {ratio:g} = {alpha:.6g}\n")
        print(format_table(solvers, x_mib, args.timeout) + "\n", flush=True)

    report = dict(machine=info, problem=problem, alpha_max=a_max, tols=args.tols,
                  timeout=args.timeout, results=entries)
    if args.plot:
        plot_curves(entries, args.rel_gap, args.plot)
        print(f"Plot written to {args.plot}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"JSON written to {args.json}")
    return report


def main(argv=None):
    """Command-line entry point."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.worker is not None:
        spec = json.loads(args.worker)
        if spec.get("mode") == "path":
            run_path_worker(spec)
        elif spec.get("mode") == "cv":
            run_cv_worker(spec)
        elif spec.get("mode") == "ridge":
            run_ridge_worker(spec)
        elif spec.get("mode") == "logistic":
            run_logistic_worker(spec)
        else:
            run_worker(spec)
        return 0
    _check_args(parser, args)
    if args.model == "ridge":
        run_ridge_comparison(args)
    elif args.model == "logistic":
        run_logistic_comparison(args)
    elif args.path:
        run_path_comparison(args)
    elif args.cv:
        run_cv_comparison(args)
    else:
        run_comparison(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
